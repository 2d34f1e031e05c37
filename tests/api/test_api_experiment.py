"""Explicit experiments through ``import yanex``: create_experiment and create_context outcomes,
completed/fail/cancel, the information functions, the metadata written, git capture, the
status state machine, and the blocking face inside a running event loop."""

from __future__ import annotations

import asyncio
import json
import platform
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest

import yanex
from yanex._core import lifecycle
from yanex._store import store
from yanex._store.schema import Metadata
from yanex.errors import ExperimentContextError, ExperimentNotFoundError, InvalidTransitionError


def _meta(exp_dir: Path) -> dict:
    return json.loads((exp_dir / "metadata.json").read_text())


def _utc(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert value.endswith("Z"), value
    assert parsed.utcoffset() is not None and parsed.utcoffset().total_seconds() == 0
    return parsed


def test_normal_exit_completes(store_dir: Path, work_dir: Path) -> None:
    """A block that ends normally leaves a completed experiment with the documented files."""
    (work_dir / "train.py").write_text("")
    with yanex.create_experiment(
        Path("train.py"), name="sweep", config={"lr": 0.01}, tags=["a", "b"], description="d"
    ) as exp:
        assert yanex.get_status() == "running"
        exp_id = exp.experiment_id
        exp_dir = exp.experiment_dir
        assert exp.id == exp_id and exp.artifacts_dir == exp_dir / "artifacts"
    assert len(exp_id) == 8 and int(exp_id, 16) >= 0
    assert exp_dir == store_dir / exp_id
    assert {"metadata.json", "config.json", "artifacts"} <= {p.name for p in exp_dir.iterdir()}
    meta = _meta(exp_dir)
    assert meta["status"] == "completed"
    assert (meta["id"], meta["name"], meta["tags"], meta["description"]) == (
        exp_id,
        "sweep",
        ["a", "b"],
        "d",
    )
    assert meta["script_path"] == str(work_dir / "train.py")
    assert json.loads((exp_dir / "config.json").read_text()) == {"lr": 0.01}
    assert meta["error_message"] is None


def test_metadata_fields(work_dir: Path) -> None:
    """metadata.json carries ISO 8601 UTC times, duration, python version, platform, format."""
    with yanex.create_experiment(Path("t.py"), name="n") as exp:
        exp_dir, exp_id = exp.experiment_dir, exp.experiment_id
        running = yanex.get_metadata()
    meta = _meta(exp_dir)
    created, started, completed = (
        _utc(meta[k]) for k in ("created_at", "started_at", "completed_at")
    )
    assert created <= started <= completed
    assert meta["duration"] == pytest.approx((completed - started).total_seconds(), abs=1e-3)
    assert meta["python_version"] == platform.python_version()
    assert meta["platform"] == sys.platform
    assert meta["format_version"] == 1
    for key in ("git_commit", "git_branch", "has_uncommitted_changes", "patch_file", "project"):
        assert key in meta
    assert running["status"] == "running" and running["completed_at"] is None
    assert (running["name"], running["id"]) == ("n", exp_id)


def test_information_functions(store_dir: Path) -> None:
    """get_experiment_id/status/metadata/dirs describe the current experiment, as methods too."""
    with yanex.create_experiment(Path("t.py"), name="info", tags=["x"], description="desc") as exp:
        exp_id = yanex.get_experiment_id()
        assert exp_id == exp.experiment_id == exp.get_experiment_id()
        assert yanex.get_status() == exp.get_status() == "running"
        meta = yanex.get_metadata()
        assert (meta["id"], meta["name"], meta["tags"], meta["description"]) == (
            exp_id,
            "info",
            ["x"],
            "desc",
        )
        assert meta == exp.get_metadata()
        exp_dir = yanex.get_experiment_dir()
        assert exp_dir == store_dir / str(exp_id) and exp_dir.is_absolute()
        assert yanex.get_artifacts_dir() == exp_dir / "artifacts" == exp.get_artifacts_dir()
        assert exp.get_experiment_dir() == exp_dir
        (exp_dir / "custom_results.txt").write_text("ok")  # the spec's example
    assert yanex.get_experiment_id() is None and yanex.get_status() is None


def test_relative_store_dir_gives_absolute_paths(monkeypatch, work_dir: Path) -> None:
    """A relative YANEX_EXPERIMENTS_DIR still yields absolute experiment paths."""
    monkeypatch.setenv("YANEX_EXPERIMENTS_DIR", "rel-store")
    with yanex.create_experiment(Path("t.py")):
        exp_dir = yanex.get_experiment_dir()
        assert exp_dir is not None and exp_dir.is_absolute()
        assert exp_dir.parent == work_dir / "rel-store"


def test_exception_fails_with_message_and_traceback() -> None:
    """An exception leaving the block marks the experiment failed with message and traceback."""
    with pytest.raises(RuntimeError, match="boom"), yanex.create_experiment(Path("t.py")) as exp:
        exp_dir = exp.experiment_dir
        raise RuntimeError("boom")
    meta = _meta(exp_dir)
    assert meta["status"] == "failed"
    assert meta["error_message"] == "RuntimeError: boom"
    assert "Traceback (most recent call last)" in meta["error_traceback"]
    assert 'raise RuntimeError("boom")' in meta["error_traceback"]
    assert _utc(meta["completed_at"])


def test_keyboard_interrupt_cancels() -> None:
    """KeyboardInterrupt in the block marks the experiment cancelled and still propagates."""
    with pytest.raises(KeyboardInterrupt), yanex.create_experiment(Path("t.py")) as exp:
        exp_dir = exp.experiment_dir
        raise KeyboardInterrupt
    meta = _meta(exp_dir)
    assert meta["status"] == "cancelled"
    assert "KeyboardInterrupt" in meta["cancellation_reason"]


def test_completed_leaves_block_through_except_exception() -> None:
    """The spec's example: completed() leaves the block; ``except Exception`` does not catch it."""
    reached = []
    with yanex.create_experiment(Path("t.py")) as exp:
        exp_dir = exp.experiment_dir
        try:
            exp.log_metrics({"result": 1})
            yanex.completed()
            reached.append("after completed()")
        except Exception:  # noqa: BLE001  the point: a blind except must not catch it
            reached.append("except Exception")
        reached.append("after try")
    assert reached == []
    assert _meta(exp_dir)["status"] == "completed"


def test_fail_leaves_block_with_message() -> None:
    """fail(message) leaves the block, marks it failed with the message, raises nothing after."""
    reached = []
    with yanex.create_experiment(Path("t.py")) as exp:
        exp_dir = exp.experiment_dir
        try:
            yanex.fail("Data validation failed")
        except Exception:  # noqa: BLE001  the point: a blind except must not catch it
            reached.append("except Exception")
        reached.append("after")
    assert reached == []
    meta = _meta(exp_dir)
    assert (meta["status"], meta["error_message"]) == ("failed", "Data validation failed")


def test_cancel_leaves_block_with_reason() -> None:
    """cancel(message), as in the spec's KeyboardInterrupt handler, marks it cancelled."""
    reached = []
    with yanex.create_experiment(Path("t.py")) as exp:
        exp_dir = exp.experiment_dir
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            try:
                exp.cancel("User interrupted computation")
            except Exception:  # noqa: BLE001  the point: a blind except must not catch it
                reached.append("except Exception")
        reached.append("after")
    assert reached == []
    meta = _meta(exp_dir)
    assert (meta["status"], meta["cancellation_reason"]) == (
        "cancelled",
        "User interrupted computation",
    )


def test_create_experiment_rejects_bad_config() -> None:
    """A config that is not a dict is a TypeError and creates nothing."""
    with pytest.raises(TypeError):
        yanex.create_experiment(Path("t.py"), config=[1, 2])  # type: ignore[arg-type]


def test_context_is_single_use_at_a_time() -> None:
    """Entering the same context twice at once is refused."""
    ctx = yanex.create_experiment(Path("t.py"))
    with ctx, pytest.raises(ExperimentContextError), ctx:
        pass


def test_create_context_resumes_finished_experiment() -> None:
    """create_context(id) resumes a finished experiment: running inside, completed after,
    earlier metrics and artifacts kept and steps continuing."""
    with pytest.raises(ValueError), yanex.create_experiment(Path("t.py"), config={"a": 1}) as exp:
        exp_id, exp_dir = exp.experiment_id, exp.experiment_dir
        yanex.log_metrics({"m": 0})
        yanex.save_artifact("first", "first.txt")
        raise ValueError("first attempt")
    assert _meta(exp_dir)["status"] == "failed"
    with yanex.create_context(exp_id) as again:
        assert again.experiment_id == exp_id == yanex.get_experiment_id()
        assert yanex.get_status() == "running"
        assert yanex.get_params() == {"a": 1}
        assert yanex.load_artifact("first.txt") == "first"
        again.log_metrics({"additional_metric": 0.88})
    meta = _meta(exp_dir)
    assert meta["status"] == "completed"
    assert meta["error_message"] is None and meta["error_traceback"] is None
    metrics = json.loads((exp_dir / "metrics.json").read_text())
    assert [(m["step"], m.get("m"), m.get("additional_metric")) for m in metrics] == [
        (0, 0, None),
        (1, None, 0.88),
    ]


def test_create_context_joins_running_experiment_without_owning_it() -> None:
    """create_context on a running experiment joins it; leaving does not end the experiment."""
    with yanex.create_experiment(Path("t.py")) as exp:
        with yanex.create_context(exp.experiment_id) as joined:
            joined.log_metrics({"from": "joined"})
        assert yanex.get_status() == "running"
        assert yanex.get_experiment_id() == exp.experiment_id
        yanex.log_metrics({"from": "owner"})
        exp_dir = exp.experiment_dir
    assert _meta(exp_dir)["status"] == "completed"
    assert [m["from"] for m in json.loads((exp_dir / "metrics.json").read_text())] == [
        "joined",
        "owner",
    ]


def test_create_context_unknown_id() -> None:
    """create_context on an id that does not exist raises ExperimentNotFoundError."""
    with pytest.raises(ExperimentNotFoundError):
        yanex.create_context("0badf00d")


def test_nested_contexts_restore_outer() -> None:
    """A with-block inside another makes the inner current, then restores the outer."""
    with yanex.create_experiment(Path("a.py")) as outer:
        with yanex.create_experiment(Path("b.py")) as inner:
            assert yanex.get_experiment_id() == inner.experiment_id
        assert yanex.get_experiment_id() == outer.experiment_id


# --- git capture -----------------------------------------------------------------------------


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch) -> Path:
    """A git repository with one committed file, as the working directory."""
    root = tmp_path / "proj"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    (root / "train.py").write_text("print('v1')\n")
    _git(root, "add", "train.py")
    _git(root, "commit", "-q", "-m", "init")
    monkeypatch.chdir(root)
    return root


def test_git_clean_repo(repo: Path) -> None:
    """In a clean repository: commit, branch, project, not dirty, no patch."""
    with yanex.create_experiment(repo / "train.py") as exp:
        exp_dir = exp.experiment_dir
    meta = _meta(exp_dir)
    assert meta["git_commit"] == _git(repo, "rev-parse", "HEAD")
    assert meta["git_branch"] == "main"
    assert meta["has_uncommitted_changes"] is False and meta["patch_file"] is None
    assert meta["project"] == "proj"
    assert not (exp_dir / "artifacts" / "git_diff.patch").exists()
    assert meta["git"]["commit_hash"] == meta["git_commit"]  # the nested form yanex 0.6 reads


def test_git_dirty_repo_writes_patch(repo: Path) -> None:
    """Uncommitted changes to tracked files set the dirty flag and are saved as a patch."""
    (repo / "train.py").write_text("print('v2')\n")
    (repo / "untracked.txt").write_text("not in the patch")
    with yanex.create_experiment(repo / "train.py") as exp:
        exp_dir = exp.experiment_dir
        assert "git_diff.patch" in yanex.list_artifacts()
    meta = _meta(exp_dir)
    assert meta["has_uncommitted_changes"] is True
    assert meta["patch_file"] == "artifacts/git_diff.patch"
    patch = (exp_dir / "artifacts" / "git_diff.patch").read_text()
    assert "-print('v1')" in patch and "+print('v2')" in patch
    assert "untracked" not in patch
    _git(repo, "checkout", "-q", "--", "train.py")  # the patch applies to the commit
    subprocess.run(
        ["git", "apply", str(exp_dir / "artifacts" / "git_diff.patch")], cwd=repo, check=True
    )
    assert (repo / "train.py").read_text() == "print('v2')\n"


def test_git_detached_head(repo: Path) -> None:
    """On a detached HEAD the commit is recorded and the branch is None."""
    _git(repo, "checkout", "-q", "--detach")
    with yanex.create_experiment(repo / "train.py") as exp:
        exp_dir = exp.experiment_dir
    meta = _meta(exp_dir)
    assert meta["git_commit"] == _git(repo, "rev-parse", "HEAD")
    assert meta["git_branch"] is None


def test_git_repo_without_commits(tmp_path: Path, monkeypatch) -> None:
    """In a repository with no commits the experiment works, with no commit recorded."""
    root = tmp_path / "empty"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    monkeypatch.chdir(root)
    with yanex.create_experiment(Path("t.py")) as exp:
        yanex.log_metrics({"a": 1})
        exp_dir = exp.experiment_dir
    meta = _meta(exp_dir)
    assert meta["status"] == "completed"
    assert meta["git_commit"] is None and meta["has_uncommitted_changes"] is False


def test_outside_git_repo(tmp_path: Path, monkeypatch) -> None:
    """Outside any repository the experiment works, with no git facts."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    with yanex.create_experiment(Path("t.py")) as exp:
        exp_dir = exp.experiment_dir
    meta = _meta(exp_dir)
    assert meta["status"] == "completed"
    assert (meta["git_commit"], meta["git_branch"], meta["patch_file"]) == (None, None, None)
    assert meta["has_uncommitted_changes"] is False


# --- the status state machine ---------------------------------------------------------------

STATUSES = ["created", "running", "completed", "failed", "cancelled", "staged", "pending"]
ALLOWED = {
    ("created", "running"),
    ("created", "staged"),
    ("created", "pending"),
    ("staged", "pending"),
    ("pending", "running"),
    ("pending", "failed"),
    ("pending", "cancelled"),
    ("created", "failed"),
    ("created", "cancelled"),
    ("staged", "running"),
    ("staged", "failed"),
    ("staged", "cancelled"),
    ("running", "completed"),
    ("running", "failed"),
    ("running", "cancelled"),
    ("completed", "running"),
    ("failed", "running"),
    ("cancelled", "running"),
}


@pytest.mark.parametrize("old", STATUSES)
@pytest.mark.parametrize("new", STATUSES)
def test_state_machine(old: str, new: str) -> None:
    """Each transition the lifecycle allows is applied; any other raises InvalidTransitionError."""
    meta = Metadata(id="00000000", status=old, started_at="2026-01-01T00:00:00.000000Z")
    if (old, new) in ALLOWED:
        lifecycle.apply(meta, new)
        assert meta.status == new
    else:
        with pytest.raises(InvalidTransitionError, match=f"'{old}' to '{new}'"):
            lifecycle.apply(meta, new)
        assert meta.status == old
    lifecycle.apply(meta, "completed", force=True)  # a manual override may set anything
    assert meta.status == "completed"


def test_illegal_transition_leaves_store_unchanged() -> None:
    """Finishing an experiment twice is refused and its stored status stays as it was."""
    with yanex.create_experiment(Path("t.py")) as exp:
        exp_dir = exp.experiment_dir
    before = (exp_dir / "metadata.json").read_bytes()
    with pytest.raises(InvalidTransitionError):
        lifecycle.finish(exp_dir, yanex.Status.FAILED, message="late")
    assert (exp_dir / "metadata.json").read_bytes() == before
    assert store.read_metadata(exp_dir).status == "completed"


# --- the blocking face with an event loop already running -----------------------------------


def test_blocking_face_inside_asyncio_run() -> None:
    """As in Jupyter: the blocking face works inside a coroutine run by asyncio.run."""

    async def notebook_cell() -> str:
        with yanex.create_experiment(Path("nb.py"), config={"k": 2}) as exp:
            yanex.log_metrics({"a": 1})
            yanex.save_artifact({"b": 2}, "b.json")
            assert yanex.load_artifact("b.json") == {"b": 2}
            assert yanex.get_param("k") == 2 and yanex.get_status() == "running"
            await asyncio.sleep(0)
            yanex.log_metrics({"a": 2})
            return str(exp.experiment_dir)

    exp_dir = Path(asyncio.run(notebook_cell()))  # noqa: TID251 - the test plays the notebook
    assert _meta(exp_dir)["status"] == "completed"
    assert [m["a"] for m in json.loads((exp_dir / "metrics.json").read_text())] == [1, 2]


@pytest.mark.anyio
async def test_blocking_face_inside_any_running_loop() -> None:
    """The blocking face works unchanged inside a running asyncio, uvloop or trio loop."""
    with yanex.create_experiment(Path("t.py")) as exp:
        for i in range(3):
            yanex.log_metrics({"i": i})
            await anyio.lowlevel.checkpoint()
        yanex.save_artifact("x", "x.txt")
        assert yanex.list_artifacts() == ["x.txt"]
        exp_dir = exp.experiment_dir
    assert _meta(exp_dir)["status"] == "completed"
    assert len(json.loads((exp_dir / "metrics.json").read_text())) == 3


def test_experiment_id_and_paths_stay_readable_after_the_block(store_dir: Path) -> None:
    """After `with create_experiment(...) as exp:` ends, exp.experiment_id and its paths
    still name the experiment (for printing or loading results), while logging through
    exp is refused because the experiment is no longer active."""
    with yanex.create_experiment(Path("train.py")) as exp:
        inside = yanex.get_experiment_id()
    assert exp.experiment_id == inside
    assert exp.experiment_dir == store_dir / inside
    assert exp.artifacts_dir == store_dir / inside / "artifacts"
    with pytest.raises(yanex.ExperimentContextError):
        exp.log_metrics({"late": 1})
