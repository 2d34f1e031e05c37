"""Parameters, CLI arguments and context detection through ``import yanex``, standalone, in a
``create_experiment`` block, and in a child started with the YANEX_* environment protocol."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import yanex
from yanex._core.child import ChildPlan, create_record
from yanex._core.experiment import read_outcome
from yanex._store import store
from yanex.errors import ExperimentContextError


def test_standalone_defaults(store_dir: Path) -> None:
    """Without an experiment every query returns its documented standalone value."""
    assert yanex.is_standalone() is True
    assert yanex.has_context() is False
    assert yanex.get_params() == {}
    assert yanex.get_cli_args() == {}
    assert yanex.get_experiment_id() is None
    assert yanex.get_status() is None
    assert yanex.get_metadata() == {}
    assert yanex.get_experiment_dir() is None
    assert yanex.get_artifacts_dir() is None
    assert yanex.get_param("lr", 0.5) == 0.5
    assert not store_dir.exists()


def test_params_inside_experiment() -> None:
    """get_params returns the config and get_param follows dot notation into nested dicts."""
    config = {"lr": 0.01, "model": {"layers": 12, "head": {"dim": 64}}, "flag": False}
    with yanex.create_experiment(Path("train.py"), config=config):
        assert yanex.is_standalone() is False
        assert yanex.has_context() is True
        assert yanex.get_params() == config
        assert yanex.get_param("lr") == 0.01
        assert yanex.get_param("model.layers") == 12
        assert yanex.get_param("model.head.dim") == 64
        assert yanex.get_param("model.head") == {"dim": 64}
        assert yanex.get_param("flag", True) is False  # a stored falsy value beats the default
        assert yanex.get_param("model.missing", 3) == 3
        assert yanex.get_param("lr.deeper", "d") == "d"  # dotting into a scalar is "missing"


def test_get_params_returns_a_copy() -> None:
    """Mutating the returned dict does not change the experiment's parameters."""
    with yanex.create_experiment(Path("train.py"), config={"a": 1}):
        yanex.get_params()["a"] = 2
        assert yanex.get_param("a") == 1


def test_get_param_warns_when_missing_without_default() -> None:
    """A missing key with no default warns, naming the key, at the caller's line."""
    with yanex.create_experiment(Path("train.py"), config={"a": 1}):
        with pytest.warns(UserWarning, match="dropout") as record:
            assert yanex.get_param("dropout") is None
        assert record[0].filename == __file__
        with pytest.warns(UserWarning, match=r"model\.depth"):
            assert yanex.get_param("model.depth") is None


def test_get_param_silent_with_default_or_present_key() -> None:
    """No warning when the key exists or a default is given."""
    with yanex.create_experiment(Path("train.py"), config={"a": 1}), warnings.catch_warnings():
        warnings.simplefilter("error")
        assert yanex.get_param("a") == 1
        assert yanex.get_param("b", 2) == 2


def test_get_param_warns_standalone() -> None:
    """Standalone, a missing parameter without default also warns and returns None."""
    with pytest.warns(UserWarning, match="epochs"):
        assert yanex.get_param("epochs") is None


def test_experiment_bound_param_methods() -> None:
    """``exp.get_params()`` and ``exp.get_param()`` read the experiment the context owns."""
    with yanex.create_experiment(Path("t.py"), config={"m": {"d": 0.1}}) as exp:
        assert exp.get_params() == {"m": {"d": 0.1}}
        assert exp.get_param("m.d") == 0.1


def test_cli_args_empty_in_create_experiment() -> None:
    """An explicitly created experiment was not started by yanex run: no CLI args."""
    with yanex.create_experiment(Path("t.py")):
        assert yanex.get_cli_args() == {}


CHILD = """
import json, sys
import yanex
from yanex.errors import ExperimentContextError

out = {
    "id": yanex.get_experiment_id(),
    "standalone": yanex.is_standalone(),
    "has_context": yanex.has_context(),
    "params": yanex.get_params(),
    "layers": yanex.get_param("model.layers"),
    "cli": yanex.get_cli_args(),
    "status": yanex.get_status(),
    "dir": str(yanex.get_experiment_dir()),
    "argv": sys.argv[1:],
}
try:
    yanex.create_experiment("other.py")
except ExperimentContextError as exc:
    out["nested"] = str(exc)
yanex.log_metrics({"loss": 0.5})
yanex.log_metrics({"loss": 0.25})
yanex.save_artifact("done", "note.txt")
print(json.dumps(out))
if "--fail" in sys.argv:
    try:
        yanex.fail("bad input")
    except Exception:
        print("except Exception swallowed fail()")
    print("still running after fail()")
"""


def _child_env(exp_id: str, store_dir: Path, cli_args: dict[str, object]) -> dict[str, str]:
    """The environment documented in yanex/_context.py, built by hand."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("YANEX_")}
    env.update(
        YANEX_EXPERIMENT_ID=exp_id,
        YANEX_EXPERIMENTS_DIR=str(store_dir),
        YANEX_CLI_ACTIVE="1",
        YANEX_CLI_ARGS=json.dumps(cli_args),
    )
    return env


def _start_child(store_dir: Path, work_dir: Path, *args: str) -> tuple[str, Path, object]:
    script = work_dir / "child.py"
    script.write_text(CHILD)
    cli = {"script": "child.py", "parallel": 3, "tag": ["ml"], "param": ["model.layers=4"]}
    exp_id, exp_dir = create_record(
        ChildPlan(script=script, config={"model": {"layers": 4}, "lr": 0.1}, cli_args=cli)
    )
    res = subprocess.run(
        [sys.executable, str(script), *args],
        env=_child_env(exp_id, store_dir, cli),
        cwd=work_dir,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return exp_id, exp_dir, res


def test_child_protocol_finds_experiment(store_dir: Path, work_dir: Path) -> None:
    """A script started with the YANEX_* environment finds its id, params, CLI args and store."""
    exp_id, exp_dir, res = _start_child(store_dir, work_dir, "--x", "1")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.splitlines()[0])
    assert out["id"] == exp_id
    assert out["standalone"] is False and out["has_context"] is True
    assert out["params"] == {"model": {"layers": 4}, "lr": 0.1}
    assert out["layers"] == 4
    assert out["cli"] == {
        "script": "child.py",
        "parallel": 3,
        "tag": ["ml"],
        "param": ["model.layers=4"],
    }
    assert out["status"] == "created"
    assert out["dir"] == str(exp_dir)
    assert out["argv"] == ["--x", "1"]
    assert "yanex run" in out["nested"]  # create_experiment refuses inside a yanex run child
    assert [m["loss"] for m in store.read_metrics(exp_dir)] == [0.5, 0.25]
    assert (exp_dir / "artifacts" / "note.txt").read_text() == "done"


def test_child_fail_leaves_outcome_for_supervisor(store_dir: Path, work_dir: Path) -> None:
    """fail() in a yanex run child exits through ``except Exception`` and records the outcome."""
    _, exp_dir, res = _start_child(store_dir, work_dir, "--fail")
    assert res.returncode == 1, res.stderr
    assert "swallowed" not in res.stdout and "still running" not in res.stdout
    assert "Traceback" not in res.stderr
    outcome = read_outcome(exp_dir)
    assert outcome is not None
    assert (str(outcome[0]), outcome[1]) == ("failed", "bad input")


def test_bad_cli_args_env_is_ignored(store_dir: Path, work_dir: Path, monkeypatch) -> None:
    """Malformed YANEX_CLI_ARGS (not a JSON object) reads as no CLI args instead of crashing."""
    monkeypatch.setenv("YANEX_CLI_ARGS", "[1, 2")
    assert yanex.get_cli_args() == {}
    monkeypatch.setenv("YANEX_CLI_ARGS", "[1, 2]")
    assert yanex.get_cli_args() == {}


def test_end_calls_need_an_experiment() -> None:
    """completed(), fail() and cancel() outside any experiment raise ExperimentContextError."""
    for call in (yanex.completed, lambda: yanex.fail("x"), lambda: yanex.cancel("x")):
        with pytest.raises(ExperimentContextError):
            call()
