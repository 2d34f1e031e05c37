"""A reader settling Slurm experiments (``_core/accounting.py``), with Slurm's accounting
replaced by a table: which experiments ask, what is recorded, and that the members of one
job array share one ``sacct`` answer for ``SEEN_FOR`` seconds."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from yanex._core import accounting
from yanex._launchers import slurm
from yanex._launchers.slurm import JobState
from yanex._store import store
from yanex._store.schema import Metadata

ENDED = JobState("TIMEOUT", "TIMEOUT", "TimeLimit", "n3", "0:15")
RUNNING = JobState("RUNNING", "RUNNING", "None", "n3", "0:0")


class Sacct:
    """Slurm's accounting as a table of job id -> state, counting the calls."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.states: dict[str, JobState] | None = {}
        self.calls: list[list[str]] = []
        monkeypatch.setattr(slurm, "accounting", self)
        monkeypatch.setattr(accounting, "_SEEN", {})

    def __call__(self, job_ids: Sequence[str]) -> dict[str, JobState] | None:
        self.calls.append(list(job_ids))
        return None if self.states is None else dict(self.states)


@pytest.fixture
def sacct(monkeypatch: pytest.MonkeyPatch) -> Sacct:
    return Sacct(monkeypatch)


def stored(status: str, **facts: object) -> tuple[Path, Metadata]:
    _, exp_dir = store.new_experiment_dir()
    meta = Metadata(id=exp_dir.name, status=status, **facts)  # type: ignore[arg-type]
    store.write_metadata(exp_dir, meta)
    return exp_dir, store.read_metadata(exp_dir)


def running_job(job_id: str) -> tuple[Path, Metadata]:
    return stored(
        "running",
        launcher="slurm",
        started_at="2026-01-01T00:00:00.000000Z",
        slurm={"job_id": job_id},
    )


def test_an_ended_job_is_settled_with_slurms_words(sacct: Sacct) -> None:
    exp_dir, meta = running_job("41_2")
    sacct.states = {"41_2": ENDED}
    assert accounting.settle_from_accounting(exp_dir, meta)
    after = store.read_metadata(exp_dir)
    assert after.status == "failed"
    assert after.error_message == "Slurm job 41_2 TIMEOUT (reason: TimeLimit)"
    assert after.slurm == {
        "job_id": "41_2",
        "state": "TIMEOUT",
        "reason": "TimeLimit",
        "exit_code": "0:15",
        "node": "n3",
    }
    assert after.completed_at is not None and after.heartbeat_at is None


@pytest.mark.parametrize("states", [{"41_2": RUNNING}, {}, None])
def test_a_job_that_has_not_ended_or_is_unknown_is_left_alone(
    sacct: Sacct, states: dict[str, JobState] | None
) -> None:
    exp_dir, meta = running_job("41_2")
    before = (exp_dir / "metadata.json").read_bytes()
    sacct.states = states
    assert not accounting.settle_from_accounting(exp_dir, meta)
    assert (exp_dir / "metadata.json").read_bytes() == before


@pytest.mark.parametrize(
    ("status", "slurm_facts"),
    [("completed", {"job_id": "41_2"}), ("running", None), ("running", {"state": "RUNNING"})],
)
def test_only_an_unfinished_experiment_with_a_job_asks(
    sacct: Sacct, status: str, slurm_facts: dict[str, str] | None
) -> None:
    exp_dir, meta = stored(status, slurm=slurm_facts)
    sacct.states = {"41_2": ENDED}
    assert not accounting.settle_from_accounting(exp_dir, meta)
    assert sacct.calls == []


def test_members_of_one_array_share_one_answer(
    sacct: Sacct, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A listing of a job array's experiments asks sacct once, not once per member; once the
    answer is older than ``SEEN_FOR`` seconds the next reader asks again; another array asks
    for itself."""
    monkeypatch.setattr(accounting, "SEEN_FOR", 3600.0)  # every answer here is fresh
    members = [running_job(f"50_{i}") for i in range(3)]
    sacct.states = {"50_0": ENDED, "50_1": RUNNING, "50_2": ENDED}
    assert [accounting.settle_from_accounting(d, m) for d, m in members] == [True, False, True]
    assert sacct.calls == [["50_0"]]
    other_dir, other = running_job("60")
    assert not accounting.settle_from_accounting(other_dir, other)
    assert sacct.calls == [["50_0"], ["60"]]

    sacct.states = {"50_1": ENDED}
    assert not accounting.settle_from_accounting(*members[1])  # the answer is still fresh
    assert len(sacct.calls) == 2
    monkeypatch.setattr(accounting, "SEEN_FOR", -1.0)  # every answer here is old
    assert accounting.settle_from_accounting(*members[1])
    assert sacct.calls[-1] == ["50_1"] and len(sacct.calls) == 3
    assert [store.read_metadata(d).status for d, _ in members] == ["failed"] * 3


def test_mark_pending_records_the_array_member(sacct: Sacct) -> None:
    exp_dir, _ = stored("created")
    accounting.mark_pending(exp_dir, "77_12")
    meta = store.read_metadata(exp_dir)
    assert (meta.status, meta.launcher) == ("pending", "slurm")
    assert meta.slurm == {
        "job_id": "77_12",
        "array_job_id": "77",
        "array_index": 12,
        "state": "PENDING",
    }
    plain_dir, _ = stored("running")  # its job already started it: only the ids are added
    accounting.mark_pending(plain_dir, "78")
    plain = store.read_metadata(plain_dir)
    assert (plain.status, plain.slurm) == ("running", {"job_id": "78"})
