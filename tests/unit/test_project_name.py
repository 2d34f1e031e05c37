"""The default project (gitinfo.project_name): found without git where that gives git's
answer, by git otherwise; the same answer either way."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from yanex._core import gitinfo

GIT = ["git", "-c", "user.email=t@t", "-c", "user.name=t", "-c", "init.defaultBranch=main"]


def _git(cwd: Path, *args: str) -> None:
    subprocess.run([*GIT, *args], cwd=cwd, check=True, capture_output=True)


def _by_git(cwd: Path) -> str | None:
    res = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"], cwd=cwd, capture_output=True, check=False
    )
    return Path(res.stdout.decode().strip()).name or None if res.returncode == 0 else None


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "sub" / "deeper").mkdir(parents=True)
    _git(root, "init", "-q")
    (root / "f.txt").write_text("x")
    _git(root, "add", ".")
    _git(root, "commit", "-qm", "one")
    return root


@pytest.mark.parametrize("where", [".", "sub", "sub/deeper"])
def test_a_plain_repository_is_found_without_git(repo: Path, where: str) -> None:
    cwd = repo / where
    assert gitinfo._toplevel(cwd) == (True, repo.resolve())
    assert gitinfo.project_name(cwd) == _by_git(cwd) == "proj"


def test_outside_any_repository_there_is_no_project(tmp_path: Path) -> None:
    assert _by_git(tmp_path) is None  # nothing above the test's folder is a repository
    assert gitinfo._toplevel(tmp_path) == (True, None)
    assert gitinfo.project_name(tmp_path) is None


def _worktree(repo: Path) -> Path:
    _git(repo, "worktree", "add", "-q", str(repo.parent / "wt"))
    return repo.parent / "wt"


def _inside_git_folder(repo: Path) -> Path:
    return repo / ".git" / "refs"


def _bare(repo: Path) -> Path:
    _git(repo.parent, "clone", "-q", "--bare", str(repo), "bare.git")
    return repo.parent / "bare.git"


def _core_worktree(repo: Path) -> Path:
    _git(repo, "config", "core.worktree", str(repo / "sub"))
    return repo / "sub" / "deeper"


def _invalid_dotgit(repo: Path) -> Path:
    inner = repo / "sub"
    (inner / ".git").mkdir()  # not a git folder: git looks further up
    return inner / "deeper"


def _odd_name(repo: Path) -> Path:
    odd = repo.parent / "odd "
    _git(repo.parent, "clone", "-q", str(repo), "odd ")
    return odd


@pytest.mark.parametrize(
    "case",
    [_worktree, _inside_git_folder, _bare, _core_worktree, _invalid_dotgit, _odd_name],
    ids=lambda f: f.__name__.strip("_"),
)
def test_anything_but_a_plain_repository_is_left_to_git(repo: Path, case: object) -> None:
    cwd = case(repo)  # type: ignore[operator]
    assert gitinfo._toplevel(cwd)[0] is False
    assert gitinfo.project_name(cwd) == _by_git(cwd)


def test_git_variables_leave_it_to_git(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_DIR", str(repo / ".git"))
    assert gitinfo._toplevel(repo / "sub")[0] is False
    assert gitinfo.project_name(repo / "sub") == _by_git(repo / "sub")
