"""The status state machine (``_core/lifecycle.py``), called directly: which changes the table
allows, the times each change stamps, and how a stale experiment is judged and explained.

The full from/to matrix through ``apply`` is ``tests/api/test_api_experiment.py``'s
``test_state_machine``; here the table is checked as a graph, and everything around it."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from tests.support.query import dead_pid
from yanex._core import lifecycle
from yanex._models import TERMINAL, Status
from yanex._store import layout, store
from yanex._store.clock import iso, to_unix
from yanex._store.schema import Metadata
from yanex.errors import InvalidTransitionError

HOST = socket.gethostname()
T0 = "2026-01-01T00:00:00.000000Z"


def meta(status: str, **facts: object) -> Metadata:
    return Metadata(id="0000abcd", status=status, **facts)  # type: ignore[arg-type]


# --- the table ------------------------------------------------------------------------------


def reachable(start: str) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for new in lifecycle._ALLOWED[todo.pop()]:
            if new not in seen:
                seen.add(new)
                todo.append(new)
    return seen


def test_every_status_is_in_the_table_and_reachable_from_created() -> None:
    assert set(lifecycle._ALLOWED) == set(Status)
    assert reachable(Status.CREATED) == set(Status)


def test_an_ended_experiment_can_only_be_resumed() -> None:
    for status in TERMINAL:
        assert lifecycle._ALLOWED[status] == {Status.RUNNING}


def test_every_unfinished_status_can_fail_or_be_cancelled() -> None:
    for status in set(Status) - TERMINAL:
        assert {Status.FAILED, Status.CANCELLED} <= lifecycle._ALLOWED[status]


def test_nothing_returns_to_created_or_completes_without_running() -> None:
    for status, allowed in lifecycle._ALLOWED.items():
        assert Status.CREATED not in allowed
        assert (Status.COMPLETED in allowed) == (status == Status.RUNNING)


@pytest.mark.parametrize(("current", "new"), [("bogus", "running"), ("running", "bogus")])
def test_unknown_statuses_are_refused(current: str, new: str) -> None:
    with pytest.raises(InvalidTransitionError, match=f"from '{current}' to '{new}'"):
        lifecycle.check(current, new)


# --- what apply stamps ------------------------------------------------------------------------


def test_starting_stamps_the_start_and_this_process() -> None:
    m = meta(Status.CREATED)
    lifecycle.apply(m, Status.RUNNING)
    assert m.status == "running"
    assert m.started_at is not None and m.started_at.endswith("Z")
    assert (m.pid, m.host) == (os.getpid(), HOST)
    assert m.completed_at is None and m.duration is None


def test_ending_stamps_the_end_and_the_duration() -> None:
    m = meta(Status.RUNNING, started_at=iso(to_unix(T0) or 0))
    lifecycle.apply(m, Status.COMPLETED)
    end = to_unix(m.completed_at)
    start = to_unix(T0)
    assert end is not None and start is not None
    assert m.duration == pytest.approx(end - start, abs=1e-5)


def test_ending_without_a_start_has_no_duration() -> None:
    m = meta(Status.CREATED)
    lifecycle.apply(m, Status.CANCELLED)
    assert m.completed_at is not None and m.duration is None


def test_resuming_clears_the_old_ending_but_keeps_the_first_start() -> None:
    m = meta(
        Status.FAILED,
        started_at=T0,
        completed_at="2026-01-01T00:01:00.000000Z",
        error_message="boom",
        error_traceback="Traceback ...",
        cancellation_reason="why",
        exit_code=3,
    )
    lifecycle.apply(m, Status.RUNNING)
    assert m.started_at == T0
    assert (m.completed_at, m.error_message, m.error_traceback) == (None, None, None)
    assert (m.cancellation_reason, m.exit_code) == (None, None)


def test_restarting_a_staged_experiment_takes_a_new_start() -> None:
    m = meta(Status.STAGED, started_at=T0)
    lifecycle.apply(m, Status.RUNNING)
    assert m.started_at != T0


def test_a_refused_change_changes_nothing_and_force_allows_any() -> None:
    m = meta(Status.COMPLETED, started_at=T0, completed_at=T0, duration=0.0)
    before = Metadata(**{f: getattr(m, f) for f in m.__struct_fields__})
    with pytest.raises(InvalidTransitionError):
        lifecycle.apply(m, Status.CANCELLED)
    assert m == before
    lifecycle.apply(m, Status.STAGED, force=True)
    assert m.status == "staged"


# --- stale experiments ------------------------------------------------------------------------


def test_pid_alive() -> None:
    assert lifecycle.pid_alive(os.getpid())
    assert not lifecycle.pid_alive(dead_pid())


@pytest.fixture
def gone(monkeypatch: pytest.MonkeyPatch) -> int:
    """Pid 424242 is a process that no longer exists; every other pid is alive."""
    monkeypatch.setattr(lifecycle, "pid_alive", lambda pid: pid != 424242)
    return 424242


NOW = to_unix("2026-06-01T12:00:00Z") or 0.0


@pytest.mark.parametrize(
    ("facts", "stale"),
    [
        # running here: judged by the pid
        ({"status": "running", "host": HOST, "pid": 424242}, True),
        ({"status": "running", "host": HOST, "pid": 7}, False),
        # running here under Slurm, or elsewhere, or without a pid: judged by the heartbeat
        ({"status": "running", "host": HOST, "pid": 424242, "launcher": "slurm"}, False),
        ({"status": "running", "host": "other", "pid": 424242}, False),
        ({"status": "running", "host": "other", "heartbeat_at": "2026-06-01T11:59:00Z"}, False),
        ({"status": "running", "host": "other", "heartbeat_at": "2026-06-01T11:57:59Z"}, True),
        (
            {
                "status": "running",
                "host": HOST,
                "pid": 7,
                "launcher": "slurm",
                "heartbeat_at": "2026-06-01T11:00:00Z",
            },
            True,
        ),
        # created by a process of this host that has exited; of another host: not judged
        ({"status": "created", "host": HOST, "pid": 424242}, True),
        ({"status": "created", "host": HOST, "pid": 7}, False),
        ({"status": "created", "host": "other", "pid": 424242}, False),
        ({"status": "created", "host": HOST}, False),  # yanex 0.6: no pid
        # nothing else is ever stale
        ({"status": "pending", "host": HOST, "pid": 424242}, False),
        ({"status": "staged", "host": HOST, "pid": 424242}, False),
        ({"status": "completed", "host": HOST, "pid": 424242}, False),
        ({"status": "failed", "host": "other", "heartbeat_at": "2020-01-01T00:00:00Z"}, False),
    ],
)
@pytest.mark.usefixtures("gone")
def test_is_stale(facts: dict[str, object], stale: bool) -> None:
    assert lifecycle.is_stale(Metadata(id="0000abcd", **facts), now=NOW) is stale  # type: ignore[arg-type]


def test_stale_reason_names_the_process_or_the_heartbeat(tmp_path: Path) -> None:
    (tmp_path / layout.ARTIFACTS).mkdir()
    here = meta(Status.RUNNING, host=HOST, pid=424242)
    assert lifecycle.stale_reason(here, tmp_path) == (
        f"supervisor gone (process 424242 on {HOST} no longer exists)"
    )
    away = meta(Status.RUNNING, host="node7", heartbeat_at="2026-06-01T11:00:00Z")
    assert lifecycle.stale_reason(away, tmp_path) == (
        "supervisor gone (no heartbeat from node7 since 2026-06-01T11:00:00Z)"
    )
    unknown = meta(Status.CREATED)
    assert lifecycle.stale_reason(unknown, tmp_path) == (
        "supervisor gone before the experiment started (no heartbeat from its host since None)"
    )


@pytest.mark.parametrize("name", ["stderr.txt", "script_stderr.txt"])
@pytest.mark.parametrize("marker", ["No space left on device", "[Errno 28]"])
def test_stale_reason_adds_a_full_disk_from_the_output(
    tmp_path: Path, name: str, marker: str
) -> None:
    (tmp_path / layout.ARTIFACTS).mkdir()
    (tmp_path / layout.ARTIFACTS / name).write_text("x" * 20_000 + f"\nOSError: {marker}\n")
    reason = lifecycle.stale_reason(meta(Status.RUNNING, host=HOST, pid=424242), tmp_path)
    assert reason.endswith(": no space left on device")


def test_only_the_end_of_the_output_is_read(tmp_path: Path) -> None:
    """The marker in the first bytes of a long stderr is not the reason it stopped."""
    (tmp_path / layout.ARTIFACTS).mkdir()
    stderr = tmp_path / layout.ARTIFACTS / "stderr.txt"
    stderr.write_text("No space left on device (retried)\n" + "x" * 20_000)
    reason = lifecycle.stale_reason(meta(Status.RUNNING, host=HOST, pid=424242), tmp_path)
    assert reason == f"supervisor gone (process 424242 on {HOST} no longer exists)"


# --- recording a stale experiment (needs a stored record) --------------------------------------


def stored(facts: dict[str, object]) -> Path:
    _, exp_dir = store.new_experiment_dir()
    store.write_metadata(exp_dir, Metadata(id=exp_dir.name, **facts))  # type: ignore[arg-type]
    return exp_dir


@pytest.mark.usefixtures("gone")
def test_mark_stale_failed_ends_it_when_last_seen() -> None:
    exp_dir = stored(
        {
            "status": "running",
            "host": HOST,
            "pid": 424242,
            "started_at": T0,
            "heartbeat_at": "2026-01-01T00:00:30.000000Z",
        }
    )
    out = exp_dir / layout.ARTIFACTS / "stdout.txt"
    out.write_text("last words\n")
    seen = (to_unix(T0) or 0) + 90
    os.utime(out, (seen, seen))
    assert lifecycle.mark_stale_failed(exp_dir)
    m = store.read_metadata(exp_dir)
    assert m.status == "failed"
    assert m.error_message == f"supervisor gone (process 424242 on {HOST} no longer exists)"
    assert m.completed_at == iso(seen) and m.duration == 90.0
    assert m.heartbeat_at is None
    assert not lifecycle.mark_stale_failed(exp_dir)  # once failed, no longer stale


@pytest.mark.usefixtures("gone")
def test_mark_stale_failed_leaves_a_live_experiment_alone() -> None:
    exp_dir = stored({"status": "running", "host": HOST, "pid": 7, "started_at": T0})
    before = (exp_dir / layout.METADATA).read_bytes()
    assert not lifecycle.mark_stale_failed(exp_dir)
    assert (exp_dir / layout.METADATA).read_bytes() == before
