"""Filters of the query layer, exercised through yanex.results (the CLI shares them)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import yanex.results as yr
from tests.support.query import ago, dead_pid, make, mark_running, patch, store_root
from yanex.errors import InvalidFilterError


def ids(experiments) -> list[str]:
    return [e.id for e in experiments]


def test_newest_first_and_limit() -> None:
    """Experiments come newest first (by creation time) and limit keeps the newest."""
    old = make("old", created=ago(days=3))
    new = make("new", created=ago(hours=1))
    mid = make("mid", created=ago(days=1))
    assert ids(yr.get_experiments()) == [new, mid, old]
    assert ids(yr.get_experiments(limit=2)) == [new, mid]


def test_status_single_and_any_of_list() -> None:
    """status takes one status or a list (any of them)."""
    done = make("a")
    failed = make("b", status="failed")
    cancelled = make("c", status="cancelled")
    assert ids(yr.get_experiments(status="failed")) == [failed]
    assert set(ids(yr.get_experiments(status=["failed", "completed"]))) == {done, failed}
    assert cancelled not in ids(yr.get_experiments(status="completed"))


def test_stale_running_experiment_counts_as_failed() -> None:
    """A 'running' experiment whose supervisor died is reported and filtered as failed."""
    exp = make("zombie")
    mark_running(exp, dead_pid())
    assert yr.get_experiment(exp).status == "failed"
    assert ids(yr.get_experiments(status="failed")) == [exp]
    assert yr.get_experiments(status="running") == []


def test_name_glob_case_insensitive_and_empty_for_unnamed() -> None:
    """name is a case-insensitive glob; "" selects the unnamed experiments."""
    a = make("train-resnet")
    b = make("Train-VGG")
    make("eval-resnet")
    unnamed = make(None)
    assert set(ids(yr.get_experiments(name="train-*"))) == {a, b}
    assert ids(yr.get_experiments(name="*vgg")) == [b]
    assert ids(yr.get_experiments(name="")) == [unnamed]


def test_tags_must_all_be_present() -> None:
    """tags uses AND logic."""
    both = make("x", tags=["ml", "baseline"])
    make("y", tags=["ml"])
    assert ids(yr.get_experiments(tags=["ml", "baseline"])) == [both]
    assert len(yr.get_experiments(tags=["ml"])) == 2


def test_ids_full_and_prefixes() -> None:
    """ids accepts full ids and prefixes, any of them."""
    a, b, _c = make("a"), make("b"), make("c")
    assert set(ids(yr.get_experiments(ids=[a, b[:4]]))) == {a, b}
    assert ids(yr.get_experiments(ids=[a], status="failed")) == []


def test_project_and_script_pattern() -> None:
    """project matches exactly; script_pattern globs the script name, .py optional."""
    mine = make("m", project="proj", script="prep_data.py")
    make("o", project="other")
    assert ids(yr.get_experiments(project="proj")) == [mine]
    assert ids(yr.get_experiments(script_pattern="prep*")) == [mine]
    assert ids(yr.get_experiments(script_pattern="prep_data")) == [mine]


def test_started_and_ended_ranges_with_phrases_and_iso() -> None:
    """Time filters take ISO dates, datetimes and phrases such as '1 week ago'."""
    recent = make("recent", started=ago(hours=1), ended=ago(minutes=30))
    older = make("older", started=ago(days=10), ended=ago(days=9))
    assert ids(yr.get_experiments(started_after="1 week ago")) == [recent]
    assert ids(yr.get_experiments(started_before="2 days ago")) == [older]
    assert ids(yr.get_experiments(ended_after="2 hours ago")) == [recent]
    assert ids(yr.get_experiments(ended_before="yesterday")) == [older]
    cutoff = datetime.now(UTC) - timedelta(days=5)
    assert ids(yr.get_experiments(started_after=cutoff)) == [recent]
    assert ids(yr.get_experiments(started_after=cutoff.strftime("%Y-%m-%d %H:%M"))) == [recent]
    assert ids(yr.get_experiments(started_after=cutoff.isoformat())) == [recent]


def test_experiment_without_end_is_excluded_by_end_filters() -> None:
    """ended_* filters leave out experiments that never ended."""
    exp = make("open")
    patch(exp, completed_at=None, status="created")
    assert yr.get_experiments(ended_before="now") == []


@pytest.mark.parametrize(
    "bad",
    [
        {"started_after": "next blue moon"},
        {"ended_before": "3 fortnights ago"},
        {"status": "finished"},
        {"limit": -1},
        {"colour": "red"},
    ],
)
def test_bad_filter_values_raise_invalid_filter_error(bad: dict) -> None:
    """A filter that cannot be understood raises InvalidFilterError (a ValueError)."""
    make("x")
    with pytest.raises(InvalidFilterError) as info:
        yr.get_experiments(**bad)
    assert isinstance(info.value, ValueError)


def test_archived_filter_modes() -> None:
    """archived=False: active only; True: archived only; None (default): both."""
    active = make("active")
    shelved = make("shelved")
    (store_root() / "archived").mkdir()
    (store_root() / shelved).rename(store_root() / "archived" / shelved)
    assert ids(yr.get_experiments(archived=False)) == [active]
    assert ids(yr.get_experiments(archived=True)) == [shelved]
    assert set(ids(yr.get_experiments())) == {active, shelved}
    assert yr.get_experiment(shelved).archived is True


def test_corrupt_metadata_is_skipped(caplog: pytest.LogCaptureFixture) -> None:
    """A corrupt metadata.json is skipped with a logged warning; the others are found."""
    good = make("good")
    bad = make("bad")
    (store_root() / bad / "metadata.json").write_text("{not json")
    from yanex.errors import CorruptExperimentWarning

    with (
        caplog.at_level("WARNING", logger="yanex.results"),
        pytest.warns(CorruptExperimentWarning, match=f"skipped experiment {bad}"),
    ):
        assert ids(yr.get_experiments()) == [good]
    assert f"skipped experiment {bad}" in caplog.text


def test_half_created_directory_is_ignored() -> None:
    """An id folder without metadata yet (being created) is not an experiment, nor an error."""
    good = make("good")
    (store_root() / "0badcafe").mkdir()
    (store_root() / "notes").mkdir()
    assert ids(yr.get_experiments()) == [good]


def test_metadata_is_read_not_rewritten() -> None:
    """Listing leaves metadata.json byte-for-byte as it was."""
    exp = make("x")
    path = Path(store_root() / exp / "metadata.json")
    before = path.read_bytes()
    yr.get_experiments(status="completed")
    assert path.read_bytes() == before
    assert json.loads(before)["name"] == "x"
