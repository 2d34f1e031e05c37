"""The filters of listings and bulk commands (``_core/filters.py``), called directly: what
``Filters.build`` accepts and refuses, and which records ``matches`` selects."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from yanex._core.filters import SELECTING, STATUSES, Filters
from yanex._records import Record, Summary
from yanex.errors import InvalidFilterError


def record(exp_id: str = "1a2b3c4d", status: str = "completed", **summary: Any) -> Record:
    return Record(
        id=exp_id,
        base="/store",
        archived=False,
        summary=Summary(id=exp_id, status=status, **summary),
        status=status,
        created="",
    )


def selects(rec: Record, **given: Any) -> bool:
    return Filters.build(**given).matches(rec)


# --- build: what is accepted ---------------------------------------------------------------


def test_no_filters_select_everything_active() -> None:
    flt = Filters.build()
    assert flt == Filters()
    assert flt.archived is False and flt.limit is None
    assert flt.matches(record())


def test_every_selecting_filter_is_accepted() -> None:
    """The documented names: each one passes ``build`` (and nothing else does)."""
    values: dict[str, Any] = {
        "ids": "1a2b",
        "status": "failed",
        "name": "x",
        "tags": "t",
        "project": "p",
        "script_pattern": "*.py",
        "started_after": "2024-01-01T00:00:00Z",
        "started_before": "now",
        "ended_after": "2 days ago",
        "ended_before": datetime(2030, 1, 1, tzinfo=UTC),
        "sweep_id": "abcd",
    }
    assert set(values) == SELECTING
    flt = Filters.build(**values, archived=None, limit=3)
    assert flt.archived is None and flt.limit == 3
    assert flt.started_after == datetime(2024, 1, 1, tzinfo=UTC).timestamp()
    assert flt.ended_before == datetime(2030, 1, 1, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("1A2B", ["1a2b"]),
        (" 1a2b , 3c4d ,", ["1a2b", "3c4d"]),  # commas split, blanks are dropped
        (["1a2b,3c4d", "5e6f"], ["1a2b", "3c4d", "5e6f"]),
        (("abc",), ["abc"]),
        ([], []),
        ("my-run", ["my-run"]),  # names pass the reference check too
    ],
)
def test_ids_are_normalised(given: Any, expected: list[str]) -> None:
    assert Filters.build(ids=given).ids == expected


def test_single_strings_become_lists() -> None:
    flt = Filters.build(status="running", tags="gpu")
    assert (flt.status, flt.tags) == (["running"], ["gpu"])
    assert Filters.build(status=("failed", "cancelled")).status == ["failed", "cancelled"]


@pytest.mark.parametrize("value", ["1", "abcdef12", " AB "])
def test_sweep_ids_and_prefixes(value: str) -> None:
    assert Filters.build(sweep_id=value).sweep_id == value.strip().lower()


# --- build: what is refused ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"colour": "red"}, "unknown filter 'colour' \\(known: archived, ended_after"),
        ({"b": 1, "a": 2}, "unknown filter 'a'"),  # the first in sorted order
        ({"status": "done"}, "unknown status 'done' \\(choose from created, running"),
        ({"status": ["running", "Running"]}, "unknown status 'Running'"),
        ({"status": 3}, "status must be a string or a list of strings"),
        ({"tags": ["a", 1]}, "tags must be a string or a list of strings"),
        ({"tags": 5}, "tags must be a string or a list of strings"),
        ({"ids": ["1a2b", None]}, "ids must be a string or a list of strings"),
        ({"ids": "../etc"}, "ids: '../etc' looks like a path"),
        ({"ids": "~root"}, "looks like a path"),
        ({"ids": "a/b"}, "looks like a path"),
        ({"sweep_id": ""}, "sweep_id must be a sweep id"),
        ({"sweep_id": "abcdef123"}, "sweep_id must be a sweep id"),  # longer than 8
        ({"sweep_id": "xyz"}, "sweep_id must be a sweep id"),
        ({"sweep_id": 12}, "sweep_id must be a sweep id"),
        ({"limit": -1}, "limit must be a non-negative integer, not -1"),
        ({"limit": True}, "limit must be a non-negative integer, not True"),
        ({"limit": "5"}, "limit must be a non-negative integer, not '5'"),
        ({"limit": 2.0}, "limit must be a non-negative integer"),
        ({"started_after": "soonish"}, "cannot read the time 'soonish'"),
        ({"ended_before": "2024-02-30"}, "cannot read the time"),
    ],
)
def test_bad_values_are_filter_errors(given: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidFilterError, match=message):
        Filters.build(**given)


def test_a_filter_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        Filters.build(limit=-5)


def test_limit_zero_is_allowed() -> None:
    assert Filters.build(limit=0).limit == 0


# --- matches --------------------------------------------------------------------------------


def test_status_uses_the_effective_status() -> None:
    """A stale 'running' record reads 'failed' (Record.status), and is selected as such."""
    rec = record(status="failed")
    rec.summary = Summary(id=rec.id, status="running")
    assert selects(rec, status="failed")
    assert not selects(rec, status="running")
    assert selects(rec, status=["completed", "failed"])
    assert not selects(rec, status=[])


@pytest.mark.parametrize(
    ("ids", "selected"),
    [("1a2b3c4d", True), ("1a2", True), ("1A2B", True), ("2b3c", False), ("ffff,1a", True)],
)
def test_ids_select_by_prefix(ids: str, selected: bool) -> None:
    assert selects(record("1a2b3c4d"), ids=ids) is selected


def test_an_empty_id_list_selects_nothing() -> None:
    assert not selects(record(), ids=[])


@pytest.mark.parametrize(
    ("tags", "wanted", "selected"),
    [
        (["a", "b", "c"], ["a", "c"], True),  # every wanted tag
        (["a", "b"], ["a", "z"], False),
        (["a"], "a", True),
        (None, ["a"], False),
        (["a"], [], False),  # an empty filter never turns into "everything"
        ([], [], False),
        (["A"], ["a"], False),  # tags are case-sensitive
    ],
)
def test_tags(tags: list[str] | None, wanted: Any, selected: bool) -> None:
    assert selects(record(tags=tags), tags=wanted) is selected


@pytest.mark.parametrize(
    ("name", "pattern", "selected"),
    [
        ("resnet-lr0.1", "resnet*", True),
        ("ResNet-lr0.1", "resnet-*", True),  # case-insensitive
        ("resnet", "RESNET", True),
        ("resnet", "res", False),  # the whole name, not a part of it
        ("resnet", "?esne?", True),
        ("resnet", "[rs]esnet", True),
        (None, "*", False),  # an unnamed experiment has no name to match
        (None, "", True),  # "" selects the unnamed ones
        ("", "", True),
        ("resnet", "", False),
    ],
)
def test_name(name: str | None, pattern: str, selected: bool) -> None:
    assert selects(record(name=name), name=pattern) is selected


@pytest.mark.parametrize(
    ("script", "pattern", "selected"),
    [
        ("/home/u/proj/train.py", "train.py", True),
        ("/home/u/proj/train.py", "train", True),  # the stem too
        ("/home/u/proj/train.py", "TRAIN*", True),
        ("/home/u/proj/train.py", "proj/*", False),  # the base name only
        ("/home/u/proj/train.py", "rain", False),
        ("C:\\work\\Eval.py", "eval", True),  # Windows paths
        ("run.sh", "run", False),  # only .py is dropped for the stem
        ("run.sh", "run.sh", True),
        (None, "*", False),
        ("", "*", False),
    ],
)
def test_script_pattern(script: str | None, pattern: str, selected: bool) -> None:
    assert selects(record(script_path=script), script_pattern=pattern) is selected


def test_project_is_exact() -> None:
    assert selects(record(project="vision"), project="vision")
    assert not selects(record(project="vision"), project="Vision")
    assert not selects(record(project=None), project="vision")


@pytest.mark.parametrize(
    ("sweep", "wanted", "selected"),
    [("abcd1234", "abcd", True), ("abcd1234", "ABCD1234", True), ("abcd1234", "bcd", False)],
)
def test_sweep_id_selects_by_prefix(sweep: str, wanted: str, selected: bool) -> None:
    assert selects(record(sweep_id=sweep), sweep_id=wanted) is selected


def test_no_sweep_is_not_selected_by_a_sweep_id() -> None:
    assert not selects(record(sweep_id=None), sweep_id="a")


START = "2024-01-10T12:00:00.000000Z"
END = "2024-01-10T13:00:00Z"


@pytest.mark.parametrize(
    ("given", "selected"),
    [
        ({"started_after": "2024-01-10T12:00:00Z"}, True),  # the bounds are inclusive
        ({"started_before": "2024-01-10T12:00:00Z"}, True),
        ({"started_after": "2024-01-10T12:00:01Z"}, False),
        ({"started_before": "2024-01-10T11:59:59Z"}, False),
        ({"started_after": "2024-01-10T11:00:00Z", "started_before": "2024-01-10T12:30:00Z"}, True),
        ({"ended_after": "2024-01-10T12:30:00Z"}, True),
        ({"ended_before": "2024-01-10T12:30:00Z"}, False),
        ({"ended_after": "2024-01-10T13:00:00+00:00"}, True),
        ({"started_after": "2024-01-10T14:00:00+02:00"}, True),  # 12:00 UTC
        ({"started_after": "2024-01-10T11:00:00Z", "ended_before": "2024-01-10T12:59:00Z"}, False),
    ],
)
def test_time_windows(given: dict[str, Any], selected: bool) -> None:
    assert selects(record(started_at=START, completed_at=END), **given) is selected


def test_a_time_it_lacks_is_not_selected() -> None:
    """An experiment that never started (or has not ended) is outside any such window."""
    unstarted = record(status="created")
    assert not selects(unstarted, started_after="2000-01-01")
    assert not selects(unstarted, started_before="now")
    running = record(status="running", started_at=START)
    assert not selects(running, ended_after="2000-01-01")
    assert selects(running, started_after="2000-01-01")
    assert selects(unstarted)  # without a time filter, the missing times do not matter


def test_yanex_06_naive_times_are_utc() -> None:
    """yanex 0.6 wrote times without a zone; the store reads them as UTC."""
    rec = record(started_at="2024-01-10T12:00:00.5")
    assert selects(rec, started_after="2024-01-10T12:00:00Z")
    assert not selects(rec, started_after="2024-01-10T12:00:01Z")


def test_every_filter_must_pass() -> None:
    rec = record(name="a", tags=["x"], project="p", script_path="/t/train.py")
    assert selects(rec, name="a", tags="x", project="p", script_pattern="train")
    assert not selects(rec, name="a", tags="x", project="p", script_pattern="eval")
    assert not selects(rec, name="b", tags="x", project="p", script_pattern="train")


def test_statuses_are_the_models() -> None:
    assert STATUSES == (
        "created",
        "running",
        "completed",
        "failed",
        "cancelled",
        "staged",
        "pending",
    )
