"""Git facts captured when an experiment is created: commit, branch, dirty flag and patch.

Runs plain ``git`` commands (one process for the status facts, one for the diff when the
tree is dirty). Outside a repository, in one without commits, or without git installed,
every field is None/False and the experiment is created all the same.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

PATCH_NAME = "git_diff.patch"


@dataclass
class GitState:
    commit: str | None = None
    branch: str | None = None
    dirty: bool = False
    repo_root: Path | None = None
    patch: bytes = b""


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes] | None:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None


def capture(cwd: Path | None = None) -> GitState:
    """The repository state of ``cwd`` (default: the working directory)."""
    cwd = cwd or Path.cwd()
    # --symbolic-full-name applies to every later argument, so it comes last
    res = _git(["rev-parse", "--show-toplevel", "HEAD", "--symbolic-full-name", "HEAD"], cwd)
    if res is None or not res.stdout:
        return GitState()
    lines = res.stdout.decode(errors="replace").splitlines()
    state = GitState(repo_root=Path(lines[0]) if lines else None)
    if res.returncode != 0 or len(lines) < 3:  # a repository with no commits yet
        return state
    state.commit = lines[1]
    ref = lines[2]  # "refs/heads/<branch>", or "HEAD" when detached
    state.branch = ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else None
    diff = _git(["diff", "HEAD", "--binary"], cwd)
    if diff is not None and diff.returncode == 0 and diff.stdout:
        state.dirty = True
        state.patch = diff.stdout
    return state


def project_name(cwd: Path | None = None) -> str | None:
    """The default project: the name of the enclosing git repository's top folder."""
    res = _git(["rev-parse", "--show-toplevel"], cwd or Path.cwd())
    if res is None or res.returncode != 0:
        return None
    return Path(res.stdout.decode().strip()).name or None
