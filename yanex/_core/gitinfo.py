"""Git facts captured when an experiment is created: commit, branch, dirty flag and patch.

Runs plain ``git`` commands (one process for the status facts, one for the diff when the
tree is dirty). Outside a repository, in one without commits, or without git installed,
every field is None/False and the experiment is created all the same.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import subprocess

PATCH_NAME = "git_diff.patch"


@dataclass
class GitState:
    commit: str | None = None
    branch: str | None = None
    dirty: bool = False
    repo_root: Path | None = None
    patch: bytes = b""


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes] | None:
    import subprocess  # here: yanex list finds the project without it (see project_name)

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
    """The default project: the name of the enclosing git repository's top folder.

    Found by looking for ``.git`` upwards, as git does, when that is sure to give git's
    answer (``yanex list`` asks on every run, and starting git takes longer than the rest
    of the lookup); else ``git rev-parse --show-toplevel`` is asked.
    """
    cwd = cwd or Path.cwd()
    sure, top = _toplevel(cwd)
    if sure:
        return top.name or None if top is not None else None
    res = _git(["rev-parse", "--show-toplevel"], cwd)
    if res is None or res.returncode != 0:
        return None
    return Path(res.stdout.decode().strip()).name or None


# GIT_* variables that play no part in finding the repository (credentials, identities,
# transport, editors): any other one (GIT_DIR, GIT_WORK_TREE, GIT_CEILING_DIRECTORIES,
# GIT_CONFIG_*...) leaves the search to git.
_HARMLESS = (
    "GIT_SSL_", "GIT_AUTHOR_", "GIT_COMMITTER_", "GIT_SSH", "GIT_ASKPASS", "GIT_EDITOR",
    "GIT_PAGER", "GIT_TERMINAL_PROMPT", "GIT_HTTP_", "GIT_PROXY_", "GIT_LFS_",
)  # fmt: skip


def _toplevel(cwd: Path) -> tuple[bool, Path | None]:
    """(sure, top): the work tree that ``git rev-parse --show-toplevel`` finds from ``cwd``
    (None: none), with ``sure`` False for anything but plain cases, where git must be asked
    (see ``_plain_search`` and ``_plain_repository``)."""
    if not _plain_search():
        return False, None
    try:
        cwd = cwd.resolve()  # git works from the physical path
        device = cwd.stat().st_dev
        for folder in (cwd, *cwd.parents):
            if folder.name == ".git" or _is_git_dir(folder) or folder.stat().st_dev != device:
                return False, None  # inside a git folder or a bare repository; a mount point
            dotgit = folder / ".git"
            if dotgit.is_symlink() or dotgit.exists():
                return (True, folder) if _plain_repository(folder, dotgit) else (False, None)
    except OSError:
        return False, None
    return True, None


def _plain_search() -> bool:
    """False when the environment changes git's search: ``GIT_*`` variables (but those of
    ``_HARMLESS``), sudo (git checks ownership against its caller), no git on the PATH."""
    if any(k.startswith("GIT_") and not k.startswith(_HARMLESS) for k in os.environ):
        return False
    if "SUDO_UID" in os.environ:
        return False
    return any(os.access(Path(d, "git"), os.X_OK) for d in os.get_exec_path())


def _is_git_dir(path: Path) -> bool:
    """What git takes for a git folder: HEAD, objects/ and refs/ in it."""
    return (path / "HEAD").is_file() and (path / "objects").is_dir() and (path / "refs").is_dir()


def _plain_repository(top: Path, dotgit: Path) -> bool:
    """True for a ``.git`` folder (not a file: worktree, submodule) that git takes for one,
    of the current user (git's safe.directory check), without ``core.worktree`` or ``bare``
    in its config, whose top folder's name git prints unchanged (``project_name`` decodes
    and strips git's output)."""
    try:
        owners = {dotgit.lstat().st_uid, top.stat().st_uid}
        config = (dotgit / "config").read_bytes().lower()
    except OSError:
        return False
    name = top.name
    return (
        not dotgit.is_symlink()
        and _is_git_dir(dotgit)
        and owners == {os.geteuid()}
        and b"worktree" not in config
        and b"bare = true" not in config
        and b"bare=true" not in config
        and name == name.strip()
        and name.isprintable()
        and name.encode("utf-8", "surrogateescape").decode("utf-8", "replace") == name
    )
