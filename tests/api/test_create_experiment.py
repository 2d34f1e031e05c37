"""create_experiment stores the experiment at once ('created'), so its id is usable before
``with`` and another process can join it; entering the block moves it to running."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import yanex
import yanex.results as yr
from tests.support.cli import run_cli


def test_created_before_with_and_running_inside(store_dir: Path) -> None:
    exp = yanex.create_experiment(Path("train.py"), name="early", config={"lr": 0.1})
    exp_id = exp.experiment_id
    assert (store_dir / exp_id / "metadata.json").is_file()
    assert exp.experiment_dir == store_dir / exp_id
    assert yr.get_experiment(exp_id).status == "created"
    assert yr.get_experiment(exp_id).get_params() == {"lr": 0.1}
    shown = run_cli("get", "status", exp_id, "-g")
    assert shown.returncode == 0 and shown.stdout.strip() == "created"
    with exp:
        assert yanex.get_status() == "running"
        assert yanex.get_experiment_id() == exp_id
        yanex.log_metrics({"acc": 0.5})
    final = yr.get_experiment(exp_id)
    assert final.status == "completed"
    assert final.get_metric("acc") == 0.5


JOINER = """
import sys, yanex
with yanex.create_context(sys.argv[1]) as exp:
    print(yanex.get_status(), flush=True)
    yanex.log_metrics({"from_child": 1})
"""


def test_second_process_joins_a_created_experiment(work_dir: Path) -> None:
    exp = yanex.create_experiment(Path("train.py"), name="shared")
    exp_id = exp.experiment_id
    (work_dir / "joiner.py").write_text(JOINER)
    child = subprocess.run(
        [sys.executable, "joiner.py", exp_id],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == "running"  # the joiner's with moved it from created
    # the joiner owned the run and completed it; our with resumes it
    assert yr.get_experiment(exp_id).status == "completed"
    with exp:
        yanex.log_metrics({"from_parent": 2})
    done = yr.get_experiment(exp_id)
    assert done.status == "completed"
    assert [m.get("from_child") or m.get("from_parent") for m in done.get_metrics()] == [1, 2]


def test_failure_inside_with_is_recorded() -> None:
    exp = yanex.create_experiment(Path("train.py"))
    with pytest.raises(RuntimeError), exp:
        raise RuntimeError("boom")
    assert yr.get_experiment(exp.experiment_id).status == "failed"


def test_get_param_warns_only_without_a_default() -> None:
    with yanex.create_experiment(Path("t.py"), config={"a": {"b": 1}}):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert yanex.get_param("_fold_idx", default=None) is None
            assert yanex.get_param("_fold_idx", None) is None
            assert yanex.get_param("missing", 3) == 3
            assert yanex.get_param("a.b") == 1
        with pytest.warns(UserWarning, match="'dropout' not found and no default"):
            assert yanex.get_param("dropout") is None
    with warnings.catch_warnings():  # standalone: the k-fold orchestrator branch is quiet
        warnings.simplefilter("error")
        assert yanex.get_param("_fold_idx", default=None) is None


@pytest.mark.anyio
async def test_aio_get_param_sentinel(anyio_backend: object) -> None:
    import yanex.aio as ya

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert await ya.get_param("x", default=None) is None
    with pytest.warns(UserWarning):
        assert await ya.get_param("x") is None


def test_copy_artifact_of_a_directory_says_so(work_dir: Path) -> None:
    (work_dir / "folder").mkdir()
    with yanex.create_experiment(Path("t.py")) as exp:
        with pytest.raises(IsADirectoryError, match="is a directory"):
            yanex.copy_artifact(work_dir / "folder")
        assert yanex.list_artifacts() == []
    assert yr.get_experiment(exp.experiment_id).status == "completed"


def test_copy_artifact_directory_in_a_yanex_run_script(work_dir: Path) -> None:
    (work_dir / "folder").mkdir()
    (work_dir / "s.py").write_text("import yanex\nyanex.copy_artifact('folder')\n")
    res = run_cli("run", "s.py")
    assert res.returncode != 0
    assert "is a directory" in res.stderr
    meta = json.loads(run_cli("show", "--latest", "-g", "-F", "json").stdout)
    assert "is a directory" in meta["error_message"]
