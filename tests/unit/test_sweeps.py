"""The parameter value syntax (``_core/sweeps.py``): scalars, every sweep form, the product of
sweeps, the experiment limit and the errors of malformed syntax, called directly."""

from __future__ import annotations

import math
from typing import Any

import pytest

from yanex._core import sweeps
from yanex._core.sweeps import Sweep, parse_value
from yanex.errors import ConfigError


def values(text: str) -> list[Any]:
    """The values of the sweep ``text`` is (fails when it is not a sweep)."""
    parsed = parse_value(text)
    assert isinstance(parsed, Sweep), f"{text!r} parsed as {parsed!r}, not a sweep"
    assert parsed.expr == text.strip()
    return list(parsed.values)


# --- scalars --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 1),
        ("-2", -2),
        ("+3", 3),
        ("  42  ", 42),
        ("1.5", 1.5),
        (".5", 0.5),
        ("2.", 2.0),
        ("1e3", 1000.0),
        ("1E-2", 0.01),
        ("true", True),
        ("Yes", True),
        ("ON", True),
        ("false", False),
        ("no", False),
        ("off", False),
        ("null", None),
        ("None", None),
        ("~", None),
        ("'a,b'", "a,b"),  # quoted: a string, not a sweep
        ('"x\\ty"', "x\ty"),  # double quotes: JSON escapes apply
        ("'x\\ty'", "x\\ty"),  # single quotes: taken as written
        ('"a"b"', 'a"b'),  # not valid JSON: the quotes are just removed
        ("[1, 2]", [1, 2]),
        ('["a", 1.5, null]', ["a", 1.5, None]),
        ("[a, b]", ["a", "b"]),  # yanex 0.6's bare list items
        ("[a, [1, 2]]", ["a", [1, 2]]),
        ("[]", []),
        ('{"a": {"b": 1}}', {"a": {"b": 1}}),
        ("hello world", "hello world"),
        ("0x10", "0x10"),  # not a decimal number: a string
        ("1_000", "1_000"),
        ("{bad", "{bad"),  # not bracketed at both ends: a string
        ("", ""),
    ],
)
def test_scalars(text: str, expected: Any) -> None:
    value = parse_value(text)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nan", math.nan),
        ("NaN", math.nan),
        (".nan", math.nan),
        ("inf", math.inf),
        ("Infinity", math.inf),
        (".inf", math.inf),
        ("+.inf", math.inf),
        ("-inf", -math.inf),
        ("-Infinity", -math.inf),
        ("-.inf", -math.inf),
    ],
)
def test_nonfinite_floats(text: str, expected: float) -> None:
    value = parse_value(text)
    assert isinstance(value, float)
    if math.isnan(expected):
        assert math.isnan(value)
    else:
        assert value == expected


def test_malformed_json_object_is_an_error() -> None:
    with pytest.raises(ConfigError, match="malformed JSON object"):
        parse_value("{a: 1}")


def test_sweeps_off_reads_sweep_syntax_as_scalars() -> None:
    """``sweeps=False`` (a value that must not fan out) keeps the text as a string."""
    assert parse_value("a,b", sweeps=False) == "a,b"
    assert parse_value("range(3)", sweeps=False) == "range(3)"
    assert parse_value("7", sweeps=False) == 7


# --- sweep forms ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a,b,c", ["a", "b", "c"]),
        ("1, 2.5, x, true", [1, 2.5, "x", True]),
        ("a,,b", ["a", "b"]),  # empty items are dropped
        ("list(1, 2)", [1, 2]),
        ("LIST(a)", ["a"]),  # a one-value sweep, case-insensitive name
        ("list ( x , y )", ["x", "y"]),
        ('list("a,b", c)', ["a,b", "c"]),  # a quoted comma is not a separator
        ("list([1,2],[3])", [[1, 2], [3]]),  # a bracketed comma is not either
        ('list({"a": 1}, {"a": 2})', [{"a": 1}, {"a": 2}]),
        ("range(3)", [0, 1, 2]),
        ("range( 3 )", [0, 1, 2]),
        ("range(2, 5)", [2, 3, 4]),
        ("range(1, 7, 2)", [1, 3, 5]),
        ("range(5, 0, -2)", [5, 3, 1]),
        ("range(0, 1, 0.25)", [0.0, 0.25, 0.5, 0.75]),
        ("range(1, 0, -0.5)", [1.0, 0.5]),
        ("range(0, 0.3, 0.1)", [0.0, 0.1, 0.2]),  # no extra point from rounding
        ("linspace(0, 1, 5)", [0.0, 0.25, 0.5, 0.75, 1.0]),
        ("linspace(0, 0.3, 4)", [0.0, 0.1, 0.2, 0.3]),  # 0.1, not 0.10000000000000002
        ("linspace(2, 5, 1)", [2.0]),
        ("linspace(1, 0, 3)", [1.0, 0.5, 0.0]),
        ("logspace(0, 3, 4)", [1.0, 10.0, 100.0, 1000.0]),
        ("logspace(-2, -1, 2)", [0.01, 0.1]),
    ],
)
def test_sweep_forms(text: str, expected: list[Any]) -> None:
    assert values(text) == expected


def test_integer_range_is_a_range_and_float_values_are_floats() -> None:
    int_sweep = parse_value("range(0, 10, 3)")
    assert isinstance(int_sweep, Sweep) and isinstance(int_sweep.values, range)
    assert all(isinstance(v, float) for v in values("range(0, 2, 0.5)"))
    assert all(isinstance(v, float) for v in values("linspace(0, 2, 3)"))


def test_large_sweeps_are_computed_on_demand() -> None:
    """``range(1e9)`` holds its bounds, not a billion values; indexing computes one."""
    sweep = parse_value("range(0, 1e9)")
    assert isinstance(sweep, Sweep)
    assert len(sweep.values) == 1_000_000_000
    assert sweep.values[0] == 0.0
    assert sweep.values[-1] == 999_999_999.0
    assert sweep.values[123_456_789] == 123_456_789.0
    grid = parse_value("linspace(0, 1, 1000001)")
    assert isinstance(grid, Sweep)
    assert grid.values[500_000] == 0.5


def test_lazy_values_index_like_a_sequence() -> None:
    sweep = parse_value("linspace(0, 1, 5)")
    assert isinstance(sweep, Sweep)
    seq = sweep.values
    assert seq[-1] == 1.0 and seq[-5] == 0.0
    assert seq[1:3] == [0.25, 0.5]
    assert seq[::-2] == [1.0, 0.5, 0.0]
    for bad in (5, -6):
        with pytest.raises(IndexError):
            seq[bad]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("list()", "empty list"),
        ("list(,)", "empty list"),
        ("range()", "an empty argument is not a number"),
        ("range(1,)", "an empty argument is not a number"),
        ("range(a)", "a is not a number"),
        ("range(true)", "true is not a number"),  # a bool is not a number here
        ("range(1, 2, 3, 4)", r"range\(\) takes 1 to 3 numbers"),
        ("range(0)", "gives no values"),
        ("range(5, 1)", "gives no values"),
        ("range(0, 1, -0.5)", "gives no values"),
        ("range(1, 2, 0)", "step must not be zero"),
        ("range(0, inf)", "needs finite numbers"),
        ("range(nan)", "needs finite numbers"),
        ("linspace(0, 1)", r"takes \(start, stop, count\)"),
        ("logspace(0, 1, 2, 3)", r"takes \(start, stop, count\)"),
        ("linspace(0, 1, 0)", "count must be a positive integer"),
        ("linspace(0, 1, -3)", "count must be a positive integer"),
        ("linspace(0, 1, 2.5)", "count must be a positive integer"),
        ("linspace(0, inf, 3)", "needs finite numbers"),
        ("logspace(0, x, 3)", "x is not a number"),
        ("logspace(0, 400, 2)", "values overflow"),
        ("range(1, 2", "unbalanced parentheses"),
        ("list(1, 2))", "unbalanced parentheses"),
        ("list((1, 2)", "unbalanced parentheses"),
        ("list(')', 1", "unbalanced parentheses"),
    ],
)
def test_malformed_sweeps(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        parse_value(text)
    assert text in str(info.value)  # the error quotes what was written


@pytest.mark.parametrize(
    ("text", "is_sweep"),
    [
        ("a,b", True),
        ("range(2)", True),
        ("  linspace(0,1,2)", True),
        ("'a,b'", False),
        ('"a,b"', False),
        ("[1,2]", False),
        ('{"a":1,"b":2}', False),
        ("abc", False),
        ("f(1,2)", False),  # the comma is inside parentheses: one value
        ("f(1),2", True),
    ],
)
def test_looks_like_sweep(text: str, is_sweep: bool) -> None:
    assert sweeps.looks_like_sweep(text) is is_sweep


def test_split_top_respects_brackets_and_quotes() -> None:
    assert sweeps.split_top("a,[b,c],{d:e,f:g},(h,i),'j,k',\"l,m\"") == [
        "a",
        "[b,c]",
        "{d:e,f:g}",
        "(h,i)",
        "'j,k'",
        '"l,m"',
    ]
    assert sweeps.split_top("") == [""]
    assert sweeps.split_top(",") == ["", ""]


# --- products, names, limits ---------------------------------------------------------------


def test_expand_is_the_product_with_the_first_sweep_outermost() -> None:
    params = {"lr": parse_value("0.1,0.01"), "model": {"depth": parse_value("range(1, 4)")}}
    points = list(sweeps.expand(params))
    assert [p["lr"] for p, _ in points] == [0.1, 0.1, 0.1, 0.01, 0.01, 0.01]
    assert [p["model"]["depth"] for p, _ in points] == [1, 2, 3, 1, 2, 3]
    assert points[4][1] == [("lr", 0.01), ("model.depth", 2)]
    assert sweeps.count(params) == 6


def test_expand_copies_each_point_and_keeps_fixed_values() -> None:
    shared = {"list": [1, 2]}
    params: dict[str, Any] = {"seed": parse_value("1,2"), "fixed": shared, "name": "x"}
    points = [p for p, _ in sweeps.expand(params)]
    points[0]["fixed"]["list"].append(3)
    assert points[1]["fixed"] == {"list": [1, 2]}  # each point is its own deep copy
    assert shared == {"list": [1, 2]}
    assert all(p["name"] == "x" for p in points)
    assert isinstance(params["seed"], Sweep)  # the input is not modified


def test_expand_without_sweeps_is_one_point() -> None:
    params = {"a": 1, "b": {"c": [1, 2]}}
    assert list(sweeps.expand(params)) == [(params, [])]
    assert sweeps.count(params) == 1
    assert sweeps.count({}) == 1


def test_expand_is_lazy() -> None:
    """A ten-billion-point grid yields its first points without computing the rest."""
    params = {"a": parse_value("range(100000)"), "b": parse_value("range(100000)")}
    assert sweeps.count(params) == 10_000_000_000
    first = sweeps.expand(params)
    assert next(first)[1] == [("a", 0), ("b", 0)]
    assert next(first)[1] == [("a", 0), ("b", 1)]


def test_sweep_paths_in_order_of_appearance() -> None:
    params = {"z": parse_value("1,2"), "m": {"y": 1, "x": {"w": parse_value("range(3)")}}}
    assert [path for path, _ in sweeps.sweep_paths(params)] == ["z", "m.x.w"]
    assert sweeps.count(params) == 6


def test_set_path_makes_intermediate_dicts() -> None:
    target: dict[str, Any] = {"a": 5, "keep": 1}
    sweeps.set_path(target, "a.b.c", 7)  # a scalar on the way is replaced by a dict
    sweeps.set_path(target, "top", "v")
    assert target == {"a": {"b": {"c": 7}}, "keep": 1, "top": "v"}


@pytest.mark.parametrize(
    ("base", "point", "expected"),
    [
        ("run", [], "run"),
        (None, [], None),
        (None, [("lr", 0.1)], "lr=0.1"),
        ("run", [("lr", 0.1), ("model.depth", 3)], "run-lr=0.1-model.depth=3"),
        ("run", [("opt", "adam"), ("on", True), ("x", None)], "run-opt=adam-on=true-x=null"),
        ("run", [("shape", [1, 2])], "run-shape=[1,2]"),
    ],
)
def test_point_name(base: str | None, point: list[tuple[str, Any]], expected: str | None) -> None:
    assert sweeps.point_name(base, point) == expected


def test_check_limit() -> None:
    sweeps.check_limit(sweeps.MAX_EXPERIMENTS, None)  # at the limit: allowed
    with pytest.raises(ConfigError, match="10,001 experiments, more than the limit of 10,000"):
        sweeps.check_limit(sweeps.MAX_EXPERIMENTS + 1, None)
    sweeps.check_limit(50, 50)
    with pytest.raises(ConfigError, match="--max-experiments N"):
        sweeps.check_limit(51, 50)
    with pytest.raises(ConfigError):
        sweeps.check_limit(1, 0)


def test_limit_is_checked_from_the_count_alone() -> None:
    """A huge grid is refused from its count, before anything is expanded."""
    params = {"a": parse_value("range(1e6)"), "b": parse_value("linspace(0, 1, 1000000)")}
    with pytest.raises(ConfigError, match="1,000,000,000,000 experiments"):
        sweeps.check_limit(sweeps.count(params), None)
