"""The times of filters (``_core/timespec.py``): ISO dates, phrases, calendar months, the
user's local zone, and the one error for anything else, called directly with a fixed now."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest

from yanex._core import timespec
from yanex.errors import InvalidFilterError

NOW = datetime(2024, 3, 31, 12, 0, tzinfo=UTC)


@pytest.fixture
def zone(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The user's time zone is ``request.param`` (a POSIX TZ string: no zone database)."""
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


local_zone = pytest.mark.parametrize("zone", ["IST-5:30"], indirect=True)  # UTC+05:30
utc_zone = pytest.mark.parametrize("zone", ["UTC0"], indirect=True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        ("  NOW ", NOW),
        ("2 hours ago", NOW - timedelta(hours=2)),
        ("2hours ago", NOW - timedelta(hours=2)),
        ("2  Hours   AGO", NOW - timedelta(hours=2)),
        ("30 s ago", NOW - timedelta(seconds=30)),
        ("45 secs ago", NOW - timedelta(seconds=45)),
        ("5 min ago", NOW - timedelta(minutes=5)),
        ("1 m ago", NOW - timedelta(minutes=1)),  # m is minutes, mo is months
        ("3 hrs ago", NOW - timedelta(hours=3)),
        ("an hour ago", NOW - timedelta(hours=1)),
        ("a day ago", NOW - timedelta(days=1)),
        ("one week ago", NOW - timedelta(weeks=1)),
        ("2 wks ago", NOW - timedelta(weeks=2)),
        ("0 days ago", NOW),
        ("last hour", NOW - timedelta(hours=1)),
        ("last week", NOW - timedelta(weeks=1)),
        ("1 month ago", datetime(2024, 2, 29, 12, 0, tzinfo=UTC)),  # clamped to Feb's end
        ("1 mo ago", datetime(2024, 2, 29, 12, 0, tzinfo=UTC)),
        ("last month", datetime(2024, 2, 29, 12, 0, tzinfo=UTC)),
        ("2 months ago", datetime(2024, 1, 31, 12, 0, tzinfo=UTC)),
        ("3 months ago", datetime(2023, 12, 31, 12, 0, tzinfo=UTC)),  # across a year
        ("13 months ago", datetime(2023, 2, 28, 12, 0, tzinfo=UTC)),  # not a leap year
        ("last year", datetime(2023, 3, 31, 12, 0, tzinfo=UTC)),
        ("3 y ago", datetime(2021, 3, 31, 12, 0, tzinfo=UTC)),
    ],
)
def test_phrases(text: str, expected: datetime) -> None:
    found = timespec.parse(text, now=NOW)
    assert found == expected
    assert found.tzinfo is not None and found.utcoffset() == timedelta(0)


def test_a_year_back_from_a_leap_day() -> None:
    leap = datetime(2024, 2, 29, 8, 0, tzinfo=UTC)
    assert timespec.parse("1 year ago", now=leap) == datetime(2023, 2, 28, 8, 0, tzinfo=UTC)
    assert timespec.parse("4 years ago", now=leap) == datetime(2020, 2, 29, 8, 0, tzinfo=UTC)


@local_zone
@pytest.mark.usefixtures("zone")
def test_days_start_at_the_users_local_midnight() -> None:
    """12:00 UTC is 17:30 in UTC+05:30: today began at 18:30 UTC the day before."""
    assert timespec.parse("today", now=NOW) == datetime(2024, 3, 30, 18, 30, tzinfo=UTC)
    assert timespec.parse("yesterday", now=NOW) == datetime(2024, 3, 29, 18, 30, tzinfo=UTC)
    assert timespec.parse("tomorrow", now=NOW) == datetime(2024, 3, 31, 18, 30, tzinfo=UTC)


@local_zone
@pytest.mark.usefixtures("zone")
def test_an_iso_time_without_a_zone_is_local() -> None:
    assert timespec.parse("2024-01-31") == datetime(2024, 1, 30, 18, 30, tzinfo=UTC)
    assert timespec.parse("2024-01-31 14:30") == datetime(2024, 1, 31, 9, 0, tzinfo=UTC)
    assert timespec.parse(datetime(2024, 1, 31, 14, 30)) == datetime(2024, 1, 31, 9, 0, tzinfo=UTC)


@local_zone
@pytest.mark.usefixtures("zone")
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-31T14:30:00Z", datetime(2024, 1, 31, 14, 30, tzinfo=UTC)),
        ("2024-01-31T14:30:00z", datetime(2024, 1, 31, 14, 30, tzinfo=UTC)),
        ("2024-01-31T14:30:00+02:00", datetime(2024, 1, 31, 12, 30, tzinfo=UTC)),
        ("2024-01-31T14:30:00.250-01:00", datetime(2024, 1, 31, 15, 30, 0, 250000, tzinfo=UTC)),
        ("  2024-01-31T00:00:00Z  ", datetime(2024, 1, 31, tzinfo=UTC)),
    ],
)
def test_an_iso_time_with_a_zone_keeps_it(text: str, expected: datetime) -> None:
    assert timespec.parse(text) == expected


@utc_zone
@pytest.mark.usefixtures("zone")
def test_datetimes_are_returned_in_utc() -> None:
    aware = datetime(2024, 1, 1, tzinfo=timezone(timedelta(hours=5)))
    assert timespec.parse(aware) == datetime(2023, 12, 31, 19, 0, tzinfo=UTC)
    assert timespec.parse(aware).tzinfo is UTC
    assert timespec.parse(datetime(2024, 1, 1)) == datetime(2024, 1, 1, tzinfo=UTC)


def test_now_defaults_to_the_current_time() -> None:
    before = datetime.now(UTC)
    found = timespec.parse("1 hour ago")
    after = datetime.now(UTC)
    assert before - timedelta(hours=1) <= found <= after - timedelta(hours=1)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "soon",
        "last fortnight",  # an unknown unit
        "2 lightyears ago",
        "-2 hours ago",  # negative counts are not phrases
        "1.5 hours ago",
        "1 month",  # "ago" is needed
        "in 2 hours",
        "2024-13-01",  # not a date
        "2024-02-30",
        "31/01/2024",
    ],
)
def test_anything_else_is_one_filter_error(text: str) -> None:
    with pytest.raises(InvalidFilterError, match="cannot read the time") as info:
        timespec.parse(text, now=NOW)
    assert repr(text) in str(info.value)
    assert "2 hours ago" in str(info.value)  # it says what would be understood
