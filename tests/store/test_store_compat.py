"""The store against the outside world: experiments written by the published yanex 0.6.1
(tests/data/yanex061_store) keep opening and can be resumed, and corrupt files give a clear
yanex error without losing anything else."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

import yanex
from yanex._store import store
from yanex._store.clock import parse
from yanex.errors import CorruptFileError, StorageError, YanexError

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "yanex061_store"
GOOD, FAILED = "27a219f5", "170aea7b"
COMMIT = "e95fdf981b8049521c0731ab89cafb4064eda1c0"


@pytest.fixture
def old_store(store_dir: Path) -> Path:
    """A copy of the store yanex 0.6.1 wrote, as the test's store."""
    shutil.copytree(FIXTURE, store_dir)
    return store_dir


def _digest(root: Path) -> dict[str, str]:
    """Hashes of every file but the empty ``.lock`` files that locking creates."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


def test_fixture_metadata_opens(old_store: Path) -> None:
    """0.6.1 metadata reads with its nested git facts, naive timestamps taken as UTC."""
    meta = store.read_metadata(old_store / GOOD)
    assert (meta.id, meta.name, meta.status, meta.project) == (
        GOOD,
        "fixture-run",
        "completed",
        "fx",
    )
    assert (meta.git_commit, meta.git_branch) == (COMMIT, "master")
    assert meta.has_uncommitted_changes is True
    assert meta.patch_file == "artifacts/git_diff.patch"
    assert (meta.tags, meta.description, meta.script_path) == (["t1"], "desc", "/tmp/fx/train.py")
    assert meta.python_version == "3.11.7"
    assert parse(meta.created_at) == datetime(2026, 11, 27, 15, 48, 59, 280465, tzinfo=UTC)
    assert meta.duration == pytest.approx(0.264055)
    failed = store.read_metadata(old_store / FAILED)
    assert (failed.status, failed.error_message) == ("failed", "Script exited with code 3")


def test_fixture_params_and_metrics_open(old_store: Path) -> None:
    """0.6.1 params.yaml is read as the config and metrics.json as the steps."""
    assert store.read_config(old_store / GOOD) == {"lr": 0.01, "model": {"layers": 3}}
    metrics = store.read_metrics(old_store / GOOD)
    assert [(m["step"], m["acc"]) for m in metrics] == [(0, 0.5), (1, 0.6), (2, 0.7)]
    assert metrics[1]["extra"] == 1 and "last_updated" in metrics[1]


def test_reading_fixture_changes_nothing(old_store: Path) -> None:
    """Reading an old experiment (metadata, config, metrics, artifacts) leaves it byte-identical."""
    before = _digest(old_store)
    for exp_id in (GOOD, FAILED):
        store.read_metadata(old_store / exp_id)
        store.read_config(old_store / exp_id)
        store.read_metrics(old_store / exp_id)
    assert yanex.load_artifact("result.json", from_experiment=GOOD) == {"a": 1}
    assert yanex.list_artifacts(from_experiment=GOOD) == [
        "git_diff.patch",
        "result.json",
        "stderr.txt",
        "stdout.txt",
    ]
    assert _digest(old_store) == before


def test_fixture_through_create_context(old_store: Path) -> None:
    """create_context on a 0.6.1 experiment exposes its params and metadata via the Run API."""
    with yanex.create_context(GOOD) as exp:
        assert exp.experiment_id == GOOD
        assert yanex.get_params() == {"lr": 0.01, "model": {"layers": 3}}
        assert yanex.get_param("model.layers") == 3
        meta = yanex.get_metadata()
        assert (meta["name"], meta["status"], meta["git_commit"], meta["git_branch"]) == (
            "fixture-run",
            "running",
            COMMIT,
            "master",
        )
        assert meta["git"]["author"] == "t"  # 0.6.1's own nested fields are kept
        assert meta["cli_args"]["param"] == ["lr=0.01", "model.layers=3"]
        assert yanex.load_artifact("result.json") == {"a": 1}


def test_resume_fixture_keeps_old_steps(old_store: Path) -> None:
    """Logging into a resumed 0.6.1 experiment keeps every old step and continues after them."""
    old = json.loads((old_store / GOOD / "metrics.json").read_text())
    with yanex.create_context(GOOD):
        yanex.log_metrics({"new": 1})
        yanex.log_metrics({"acc": 0.9}, step=1)
    metrics = json.loads((old_store / GOOD / "metrics.json").read_text())
    assert metrics[0] == old[0] and metrics[2] == old[2]
    assert metrics[1] == {**old[1], "acc": 0.9, "last_updated": metrics[1]["last_updated"]}
    assert metrics[1]["timestamp"] == old[1]["timestamp"]
    assert (metrics[3]["step"], metrics[3]["new"]) == (3, 1)
    meta = json.loads((old_store / GOOD / "metadata.json").read_text())
    assert meta["status"] == "completed"
    assert meta["git"]["commit_hash"] == COMMIT and meta["git"]["message"] == "init"
    assert meta["environment"]["git"]["commit"]["commit_hash"] == COMMIT
    assert meta["cli_args"]["script"] == "train.py"


def test_our_experiment_has_fields_060_reads(store_dir: Path) -> None:
    """Our metadata also carries 0.6.1's nested git block and process_id, and params.yaml."""
    with yanex.create_experiment(Path("t.py"), config={"lr": 0.1}) as exp:
        exp_dir = exp.experiment_dir
    meta = json.loads((exp_dir / "metadata.json").read_text())
    assert set(meta["git"]) >= {"commit_hash", "branch", "has_uncommitted_changes", "patch_file"}
    assert meta["process_id"] == meta["pid"]
    import yaml

    assert yaml.safe_load((exp_dir / "params.yaml").read_text()) == {"lr": 0.1}


# --- corrupt files ---------------------------------------------------------------------------


def test_corrupt_metadata(old_store: Path) -> None:
    """Corrupt metadata.json gives CorruptFileError naming the file; nothing is rewritten and
    the other experiments still open."""
    path = old_store / GOOD / "metadata.json"
    path.write_text('{"id": "27a2')
    before = _digest(old_store)
    ctx = yanex.create_context(GOOD)
    with pytest.raises(CorruptFileError, match=r"metadata\.json") as info, ctx:
        pass
    assert isinstance(info.value, StorageError) and isinstance(info.value, YanexError)
    with pytest.raises(CorruptFileError):
        store.read_metadata(old_store / GOOD)
    assert _digest(old_store) == before
    assert store.read_metadata(old_store / FAILED).status == "failed"
    with yanex.create_context(FAILED):
        yanex.log_metrics({"ok": 1})
    assert store.read_metadata(old_store / FAILED).status == "completed"


def test_metadata_of_wrong_shape(old_store: Path) -> None:
    """metadata.json that is valid JSON of the wrong shape is also a CorruptFileError."""
    for text in ("[1, 2]", '{"status": 5, "tags": "x"}'):
        (old_store / GOOD / "metadata.json").write_text(text)
        with pytest.raises(CorruptFileError):
            store.read_metadata(old_store / GOOD)


def test_corrupt_config(store_dir: Path) -> None:
    """A corrupt config.json makes get_params raise CorruptFileError; the file stays as it was."""
    with yanex.create_experiment(Path("t.py"), config={"a": 1}) as exp:
        exp_id, exp_dir = exp.experiment_id, exp.experiment_dir
    (exp_dir / "config.json").write_text("{not json")
    with yanex.create_context(exp_id), pytest.raises(CorruptFileError, match=r"config\.json"):
        yanex.get_params()
    assert (exp_dir / "config.json").read_text() == "{not json"


def test_corrupt_metrics_json(old_store: Path) -> None:
    """A corrupt metrics.json raises CorruptFileError when read or resumed, and is not lost."""
    path = old_store / FAILED / "metrics.json"
    path.write_text('[{"x":')
    with pytest.raises(CorruptFileError, match=r"metrics\.json"):
        store.read_metrics(old_store / FAILED)
    with pytest.raises(CorruptFileError), yanex.create_context(FAILED):
        yanex.log_metrics({"new": 1})
    assert path.read_text() == '[{"x":'
    meta = store.read_metadata(old_store / FAILED)
    assert meta.status == "failed" and "CorruptFileError" in (meta.error_message or "")
    assert store.read_metrics(old_store / GOOD)[0]["acc"] == 0.5


def test_torn_metrics_log_line_is_skipped(store_dir: Path) -> None:
    """A torn last record in the metrics log (a killed writer) is skipped, not fatal, and the
    next writer continues cleanly after it."""
    with yanex.create_experiment(Path("t.py")) as exp:
        yanex.log_metrics({"a": 0})
        yanex.log_metrics({"a": 1})
        exp_id, exp_dir = exp.experiment_id, exp.experiment_dir
    (exp_dir / "metrics.json").unlink()  # as if the experiment was killed before compaction
    with (exp_dir / "metrics.log.jsonl").open("ab") as fh:
        fh.write(b'[2,1700000000.0,{"a":')
    assert [m["a"] for m in store.read_metrics(exp_dir)] == [0, 1]
    with yanex.create_context(exp_id):
        yanex.log_metrics({"a": 2})
    assert [(m["step"], m["a"]) for m in store.read_metrics(exp_dir)] == [(0, 0), (1, 1), (2, 2)]
    assert json.loads((exp_dir / "metrics.json").read_text())[-1]["a"] == 2


def test_params_yaml_reads_back_with_pyyaml_for_every_json_type(store_dir: Path) -> None:
    """params.yaml (written without PyYAML, for yanex 0.6's readers) loads with
    yaml.safe_load to exactly the experiment's parameters, exponent floats included."""
    import yaml

    config = {
        "lr": 1e-05, "big": 1e20, "neg": -2.5e-7, "x": 0.1, "n": -3, "flag": True,
        "none": None, "text": 'colon: "quoted" \\ é\nnext', "looks_numeric": "0.1",
        "yes_word": "yes", "items": [1, 2.5, "a", {"k": [False]}], "empty": {},
        "model": {"layers": {"n": 12}},
    }
    with yanex.create_experiment(Path("train.py"), config=config):
        exp_dir = yanex.get_experiment_dir()
    assert exp_dir is not None
    assert yaml.safe_load((exp_dir / "params.yaml").read_text()) == config
