"""Experiment parameters: config files, ``--param`` overrides, environment, sweeps, cloning.

Resolution, lowest to highest precedence: the config of ``--clone-from``, the config files
(``--config``, merged left to right; ``./config.yaml`` when none is given), ``YANEX_PARAM_*``
environment variables (``__`` nests), then ``--param KEY=VALUE`` (dots nest). Each config
file may hold a ``yanex:`` section of defaults for the ``yanex run`` flags; it is taken out
of the parameters.

A value written as a sweep (``list(a, b)``, ``a,b,c``, ``range(...)``, ``linspace(...)``,
``logspace(...)``) becomes a ``Sweep``; ``expand()`` yields one concrete parameter dict per
point of the cartesian product of all sweeps, lazily, so a large grid costs no memory until
it runs. Every malformed input raises ``ConfigError`` before anything is written.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yanex._store import layout, store
from yanex.errors import ConfigError, YanexError

ENV_PREFIX = "YANEX_PARAM_"
DEFAULT_CONFIG = "config.yaml"
RUN_DEFAULT_KEYS = ("name", "tag", "description", "project", "dry_run", "stage")

_SWEEP_CALL = re.compile(r"^(list|range|linspace|logspace)\s*\(", re.IGNORECASE)
_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")
_BOOLS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}
_NULLS = ("null", "none", "~")


@dataclass(frozen=True)
class Sweep:
    """A parameter that takes each of ``values`` in turn; ``expr`` is how it was written."""

    values: tuple[Any, ...]
    expr: str


@dataclass
class Resolved:
    """The parameters (possibly holding sweeps) and the ``yanex:`` run defaults."""

    params: dict[str, Any]
    run_defaults: dict[str, Any] = field(default_factory=dict)


# --- values -------------------------------------------------------------------------------


def parse_value(text: str, *, sweeps: bool = True) -> Any:
    """The typed value of a ``--param`` or environment string (a ``Sweep`` for sweep syntax)."""
    s = text.strip()
    if sweeps and _SWEEP_CALL.match(s):
        return _parse_call(s)
    if sweeps and not _is_quoted(s) and not _is_bracketed(s) and len(split_top(s)) > 1:
        return _list_sweep(split_top(s), s)
    return parse_scalar(s)


def parse_scalar(text: str) -> Any:
    """int, float, bool, None, a JSON list/object, a quoted or a plain string."""
    s = text.strip()
    lower = s.lower()
    if lower in _NULLS or lower in _BOOLS:
        return _BOOLS.get(lower)
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


def split_top(s: str) -> list[str]:
    """Split on commas that are not inside brackets, braces, parentheses or quotes."""
    parts: list[str] = []
    depth, quote, start = 0, "", 0
    for i, ch in enumerate(s):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
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
    points = _linspace(numbers[0], numbers[1], count)
    if func == "logspace":
        points = [_clean(10.0**p) for p in points]
    return Sweep(tuple(points), s)


def _balanced(inner: str) -> bool:
    depth, quote = 0, ""
    for ch in inner:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0 and not quote


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


def _range_values(args: list[int | float], expr: str) -> tuple[Any, ...]:
    if not 1 <= len(args) <= 3:
        raise ConfigError(f"bad sweep syntax: range() takes 1 to 3 numbers: {expr}")
    full: list[int | float] = [0, args[0], 1] if len(args) == 1 else [*args, 1][:3]
    start, stop, step = full
    if step == 0:
        raise ConfigError(f"bad sweep syntax: range() step must not be zero: {expr}")
    if all(isinstance(a, int) for a in (start, stop, step)):
        values: tuple[Any, ...] = tuple(range(int(start), int(stop), int(step)))
    else:  # float range: count first, so accumulated rounding cannot add a point
        count = max(0, math.ceil((stop - start) / step - 1e-9))
        values = tuple(_clean(start + i * step) for i in range(count))
    if not values:
        raise ConfigError(f"bad sweep syntax: range() gives no values: {expr}")
    return values


def _linspace(start: float, stop: float, count: int) -> list[float]:
    if count == 1:
        return [float(start)]
    return [_clean(start + (stop - start) * i / (count - 1)) for i in range(count)]


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
    """How many experiments ``params`` expands to."""
    return math.prod(len(s.values) for _, s in sweep_paths(params))


def expand(params: dict[str, Any]) -> Iterator[tuple[dict[str, Any], list[tuple[str, Any]]]]:
    """Each point of the grid: (concrete parameters, [(swept path, value), ...])."""
    found = sweep_paths(params)
    if not found:
        yield params, []
        return
    paths = [p for p, _ in found]
    for combo in itertools.product(*(s.values for _, s in found)):
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


# --- nesting and merging ------------------------------------------------------------------


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


def merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """A deep merge: nested mappings merge, anything else in ``override`` replaces."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def parse_override(item: str) -> tuple[str, Any]:
    """``KEY=VALUE`` of ``--param`` -> (dotted key, typed value or Sweep)."""
    key, sep, value = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"malformed --param {item!r}: expected KEY=VALUE")
    if any(not part.strip() for part in key.split(".")):
        raise ConfigError(f"malformed --param {item!r}: empty part in key {key!r}")
    return key, parse_value(value)


def from_environment(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Parameters of ``YANEX_PARAM_<key>`` variables; ``__`` in the key nests (a__b -> a.b)."""
    environ = os.environ if environ is None else environ
    out: dict[str, Any] = {}
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX) or len(name) == len(ENV_PREFIX):
            continue
        path = name[len(ENV_PREFIX) :].replace("__", ".")
        if any(not part for part in path.split(".")):
            raise ConfigError(f"malformed environment parameter {name}")
        set_path(out, path, parse_value(environ[name]))
    return out


# --- config files -------------------------------------------------------------------------


def load_file(path: Path) -> dict[str, Any]:
    """A config file as a dict: YAML, or JSON/TOML by suffix; sweeps in strings parsed."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    data = _decode(path, raw)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping at the top level")
    return _sweeps_in_strings(data)


def _decode(path: Path, raw: bytes) -> Any:
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            return json.loads(raw) if raw.strip() else None
        if suffix == ".toml":
            import tomllib

            return tomllib.loads(raw.decode())
        import yaml

        return yaml.safe_load(raw)
    except Exception as exc:  # each parser has its own error type; all mean "broken file"
        raise ConfigError(f"cannot parse config file {path}: {_describe(exc)}") from exc


def _describe(exc: Exception) -> str:
    """One line about a parse error, with its position when the parser gives one."""
    problem, mark = getattr(exc, "problem", None), getattr(exc, "problem_mark", None)
    if problem and mark is not None:  # PyYAML
        return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _sweeps_in_strings(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out[key] = _sweeps_in_strings(value)
        elif isinstance(value, str) and _looks_like_sweep(value):
            out[key] = parse_value(value)
        else:
            out[key] = value
    return out


def _looks_like_sweep(value: str) -> bool:
    s = value.strip()
    if _SWEEP_CALL.match(s):
        return True
    return not _is_quoted(s) and not _is_bracketed(s) and len(split_top(s)) > 1


def load_files(paths: list[Path]) -> Resolved:
    """Merge config files left to right, splitting off their ``yanex:`` sections."""
    params: dict[str, Any] = {}
    defaults: dict[str, Any] = {}
    for path in paths:
        data = load_file(path)
        section = data.pop("yanex", None)
        if section is not None and not isinstance(section, dict):
            raise ConfigError(f"the 'yanex' section of {path} must be a mapping")
        params = merge(params, data)
        defaults = merge(defaults, _run_defaults(section or {}, path))
    return Resolved(params, defaults)


def _run_defaults(section: dict[str, Any], path: Path) -> dict[str, Any]:
    out = {k: v for k, v in section.items() if k in RUN_DEFAULT_KEYS}
    for key in ("name", "description", "project"):
        if out.get(key) is not None and not isinstance(out[key], str):
            raise ConfigError(f"yanex.{key} in {path} must be a string")
    for key in ("dry_run", "stage"):
        if key in out and not isinstance(out[key], bool):
            raise ConfigError(f"yanex.{key} in {path} must be true or false")
    tags = out.get("tag")
    if tags is not None:
        tags = [tags] if isinstance(tags, str) else tags
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise ConfigError(f"yanex.tag in {path} must be a string or a list of strings")
        out["tag"] = tags
    return out


def resolve(
    *,
    config_files: list[Path],
    overrides: list[str],
    clone_from: str | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Resolved:
    """All parameter sources merged by precedence: CLI > environment > files > clone."""
    if not config_files:
        default = (cwd or Path.cwd()) / DEFAULT_CONFIG
        config_files = [default] if default.is_file() else []
    files = load_files(config_files)
    cli: dict[str, Any] = {}
    for item in overrides:
        key, value = parse_override(item)
        set_path(cli, key, value)
    params = cloned_config(clone_from) if clone_from else {}
    for layer in (files.params, from_environment(environ), cli):
        params = merge(params, layer)
    return Resolved(params, files.run_defaults)


def cloned_config(ref: str) -> dict[str, Any]:
    """The stored parameters of the experiment ``ref`` (id, unique id prefix or name)."""
    try:
        return store.read_config(_find_experiment(ref))
    except ConfigError:
        raise
    except YanexError as exc:
        raise ConfigError(f"--clone-from {ref}: {exc}") from exc


def _find_experiment(ref: str) -> Path:
    exact = layout.find_experiment_dir(ref) if layout.is_experiment_id(ref) else None
    if exact is not None:
        return exact
    dirs = [*store.iter_experiment_dirs(), *store.iter_experiment_dirs(archived=True)]
    by_prefix = [d for d in dirs if d.name.startswith(ref)] if ref else []
    matches = by_prefix or [d for d in dirs if _name_of(d) == ref]
    if not matches:
        raise ConfigError(f"--clone-from {ref}: no experiment with that id, id prefix or name")
    if len(matches) > 1:
        ids = ", ".join(sorted(d.name for d in matches)[:5])
        raise ConfigError(f"--clone-from {ref}: ambiguous, matches {ids}")
    return matches[0]


def _name_of(exp_dir: Path) -> str | None:
    try:
        return store.read_metadata(exp_dir).name
    except YanexError:  # an unreadable experiment simply does not match
        return None
