"""The value syntax of parameters: typed scalars, and sweeps with their cartesian product.

``parse_value`` turns the text of a ``--param`` value or ``YANEX_PARAM_*`` variable into an
int, float, bool, None, JSON list/object or string, or a ``Sweep`` for the sweep syntax:
``list(a, b)``, ``a,b,c``, ``range(stop)``, ``range(start, stop[, step])``,
``linspace(start, stop, n)``, ``logspace(start, stop, n)``. A sweep's values are computed on
demand (``range(1e9)`` holds three numbers), so ``count()`` is cheap for any grid and
``check_limit`` can refuse a huge one before anything is made; ``expand()`` yields one
concrete parameter dict per point of the product of all sweeps, lazily, so a large grid
costs no memory until it runs. ``nan``, ``inf`` and ``-inf`` (also YAML's ``.nan``,
``.inf``) are floats. Malformed syntax raises ``ConfigError``.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from yanex.errors import ConfigError

_SWEEP_CALL = re.compile(r"^(list|range|linspace|logspace)\s*\(", re.IGNORECASE)
_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")
_BOOLS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}
_NULLS = ("null", "none", "~")
_NONFINITE = {
    **dict.fromkeys(("nan", ".nan", "+nan", "-nan"), math.nan),
    **dict.fromkeys(("inf", "+inf", "infinity", "+infinity", ".inf", "+.inf"), math.inf),
    **dict.fromkeys(("-inf", "-infinity", "-.inf"), -math.inf),
}
MAX_EXPERIMENTS = 10_000  # a bigger sweep needs --max-experiments N


@dataclass(frozen=True)
class Sweep:
    """A parameter that takes each of ``values`` in turn; ``expr`` is how it was written."""

    values: Sequence[Any]
    expr: str


class _Points(Sequence[Any]):
    """``count`` values computed from their index on demand (a float range, linspace...)."""

    def __init__(self, count: int, point: Callable[[int], Any]) -> None:
        self._count = count
        self._point = point

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._count))]
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError(index)
        return self._point(index)

    def __iter__(self) -> Iterator[Any]:
        return (self._point(i) for i in range(self._count))


# --- values -------------------------------------------------------------------------------


def parse_value(text: str, *, sweeps: bool = True) -> Any:
    """The typed value of a ``--param`` or environment string (a ``Sweep`` for sweep syntax)."""
    s = text.strip()
    if sweeps and looks_like_sweep(s):
        return _parse_call(s) if _SWEEP_CALL.match(s) else _list_sweep(split_top(s), s)
    return parse_scalar(s)


def looks_like_sweep(value: str) -> bool:
    """A sweep call, or a comma list that is neither quoted nor a JSON list/object."""
    s = value.strip()
    if _SWEEP_CALL.match(s):
        return True
    return not _is_quoted(s) and not _is_bracketed(s) and len(split_top(s)) > 1


def parse_scalar(text: str) -> Any:
    """int, float, bool, None, a JSON list/object, a quoted or a plain string."""
    s = text.strip()
    lower = s.lower()
    if lower in _NULLS or lower in _BOOLS:
        return _BOOLS.get(lower)
    if lower in _NONFINITE:
        return _NONFINITE[lower]
    if _INT.match(s) or _FLOAT.match(s):
        return int(s) if _INT.match(s) else float(s)
    if _is_quoted(s):
        return _unquote(s)
    return _parse_bracketed(s) if _is_bracketed(s) else s


def _is_quoted(s: str) -> bool:
    return len(s) >= 2 and s[0] == s[-1] and s[0] in "\"'"


def _unquote(s: str) -> str:
    if s[0] == '"':
        try:
            value = json.loads(s)
        except ValueError:
            return s[1:-1]
        return value if isinstance(value, str) else s[1:-1]
    return s[1:-1]


def _is_bracketed(s: str) -> bool:
    return (s.startswith("[") and s.endswith("]")) or (s.startswith("{") and s.endswith("}"))


def _parse_bracketed(s: str) -> Any:
    try:
        return json.loads(s)
    except ValueError:
        pass
    if s.startswith("{"):
        raise ConfigError(f"malformed JSON object: {s}")
    inner = s[1:-1].strip()  # [a, b]: a list of plain values, as yanex 0.6 accepted
    return [parse_scalar(item) for item in split_top(inner) if item.strip()] if inner else []


def _depths(s: str) -> Iterator[tuple[int, str, int, bool]]:
    """(index, character, bracket depth after it, inside quotes?) for each character."""
    depth, quote = 0, ""
    for i, ch in enumerate(s):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        yield i, ch, depth, bool(quote)


def split_top(s: str) -> list[str]:
    """Split on commas that are not inside brackets, braces, parentheses or quotes."""
    parts: list[str] = []
    start = 0
    for i, ch, depth, quoted in _depths(s):
        if ch == "," and depth == 0 and not quoted:
            parts.append(s[start:i])
            start = i + 1
    parts.append(s[start:])
    return parts


# --- sweeps -------------------------------------------------------------------------------


def _parse_call(s: str) -> Sweep:
    match = _SWEEP_CALL.match(s)
    assert match is not None
    func = match.group(1).lower()
    if not s.endswith(")") or not _balanced(s[match.end() : -1]):
        raise ConfigError(f"bad sweep syntax (unbalanced parentheses): {s}")
    args = split_top(s[match.end() : -1])
    if func == "list":
        return _list_sweep(args, s)
    numbers = [_number(a, s) for a in args]
    if func == "range":
        return Sweep(_range_values(numbers, s), s)
    if len(numbers) != 3:
        raise ConfigError(f"bad sweep syntax: {func}() takes (start, stop, count): {s}")
    count = numbers[2]
    if not isinstance(count, int) or count <= 0:
        raise ConfigError(f"bad sweep syntax: {func}() count must be a positive integer: {s}")
    if not all(math.isfinite(n) for n in numbers):
        raise ConfigError(f"bad sweep syntax: {func}() needs finite numbers: {s}")
    points = _linspace(numbers[0], numbers[1], count, log=func == "logspace")
    try:  # the ends are the extremes: if they compute, every point does
        points[0], points[-1]
    except OverflowError:
        raise ConfigError(f"bad sweep syntax: {func}() values overflow: {s}") from None
    return Sweep(points, s)


def _balanced(inner: str) -> bool:
    state = (0, False)  # (depth, inside quotes) after the last character
    for _i, _ch, depth, quoted in _depths(inner):
        if depth < 0:
            return False
        state = (depth, quoted)
    return state == (0, False)


def _list_sweep(items: list[str], expr: str) -> Sweep:
    values = tuple(parse_scalar(item) for item in items if item.strip())
    if not values:
        raise ConfigError(f"bad sweep syntax: empty list: {expr}")
    return Sweep(values, expr)


def _number(arg: str, expr: str) -> int | float:
    value = parse_scalar(arg)
    if isinstance(value, bool) or not isinstance(value, int | float):
        shown = arg.strip() or "an empty argument"
        raise ConfigError(f"bad sweep syntax: {shown} is not a number: {expr}")
    return value


def _range_values(args: list[int | float], expr: str) -> Sequence[Any]:
    if not 1 <= len(args) <= 3:
        raise ConfigError(f"bad sweep syntax: range() takes 1 to 3 numbers: {expr}")
    full: list[int | float] = [0, args[0], 1] if len(args) == 1 else [*args, 1][:3]
    start, stop, step = full
    if step == 0:
        raise ConfigError(f"bad sweep syntax: range() step must not be zero: {expr}")
    if not all(math.isfinite(a) for a in full):
        raise ConfigError(f"bad sweep syntax: range() needs finite numbers: {expr}")
    values: Sequence[Any]
    if all(isinstance(a, int) for a in (start, stop, step)):
        values = range(int(start), int(stop), int(step))
    else:  # float range: count first, so accumulated rounding cannot add a point
        count = max(0, math.ceil((stop - start) / step - 1e-9))
        values = _Points(count, lambda i: _clean(start + i * step))
    if not values:
        raise ConfigError(f"bad sweep syntax: range() gives no values: {expr}")
    return values


def _linspace(start: float, stop: float, count: int, *, log: bool) -> Sequence[float]:
    def point(i: int) -> float:
        x = float(start) if count == 1 else start + (stop - start) * i / (count - 1)
        return _clean(10.0**x) if log else _clean(x)

    return _Points(count, point)


def _clean(x: float) -> float:
    """Drop binary noise (0.30000000000000004 -> 0.3) so names and params read as written."""
    return float(f"{x:.12g}")


def sweep_paths(params: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Sweep]]:
    """(dotted path, sweep) of every sweep in ``params``, in order of appearance."""
    found: list[tuple[str, Sweep]] = []
    for key, value in params.items():
        path = f"{prefix}{key}"
        if isinstance(value, Sweep):
            found.append((path, value))
        elif isinstance(value, Mapping):
            found.extend(sweep_paths(value, f"{path}."))
    return found


def count(params: Mapping[str, Any]) -> int:
    """How many experiments ``params`` expands to (without computing any of them)."""
    return math.prod(len(s.values) for _, s in sweep_paths(params))


def check_limit(total: int, limit: int | None) -> None:
    """Refuse a plan of more than ``limit`` (default ``MAX_EXPERIMENTS``) experiments."""
    limit = MAX_EXPERIMENTS if limit is None else limit
    if total > limit:
        raise ConfigError(
            f"the sweep expands to {total:,} experiments, more than the limit of {limit:,}; "
            "narrow it, or raise the limit with --max-experiments N"
        )


def _product(seqs: list[Sequence[Any]]) -> Iterator[tuple[Any, ...]]:
    """``itertools.product`` without first copying every sequence into a tuple."""
    if not seqs:
        yield ()
        return
    for head in seqs[0]:
        for rest in _product(seqs[1:]):
            yield (head, *rest)


def expand(params: dict[str, Any]) -> Iterator[tuple[dict[str, Any], list[tuple[str, Any]]]]:
    """Each point of the grid: (concrete parameters, [(swept path, value), ...])."""
    found = sweep_paths(params)
    if not found:
        yield params, []
        return
    paths = [p for p, _ in found]
    for combo in _product([s.values for _, s in found]):
        point = copy.deepcopy(params)
        for path, value in zip(paths, combo, strict=True):
            set_path(point, path, value)
        yield point, list(zip(paths, combo, strict=True))


def point_name(base: str | None, point: list[tuple[str, Any]]) -> str | None:
    """The name of one sweep experiment: its base name (if any) and its swept values."""
    if not point:
        return base
    values = "-".join(f"{path}={_short(value)}" for path, value in point)
    return f"{base}-{values}" if base else values


def _short(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def set_path(target: dict[str, Any], path: str, value: Any) -> None:
    """``target[a][b][c] = value`` for ``path`` ``a.b.c`` (intermediate values become dicts)."""
    keys = path.split(".")
    node = target
    for key in keys[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    node[keys[-1]] = value
