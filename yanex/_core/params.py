"""Experiment parameters: config files, ``--param`` overrides, environment, cloning.

Resolution, lowest to highest precedence: the config of ``--clone-from``, the config files
(``--config``, merged left to right; ``./config.yaml`` when none is given), ``YANEX_PARAM_*``
environment variables (``__`` nests), then ``--param KEY=VALUE`` (dots nest). Each config
file may hold a ``yanex:`` section of defaults for the ``yanex run`` flags; it is taken out
of the parameters. Values may be sweeps (see ``sweeps.py``); a string in a config file is
one when it is written in sweep syntax. Every malformed input raises ``ConfigError`` before
anything is written.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yanex import _context
from yanex._store import store
from yanex.errors import ConfigError, YanexError

from . import query, sweeps

ENV_PREFIX = _context.ENV_PARAM_PREFIX
DEFAULT_CONFIG = "config.yaml"
RUN_DEFAULT_KEYS = ("name", "tag", "description", "project", "dry_run", "stage", "launcher")


@dataclass
class Resolved:
    """The parameters (possibly holding sweeps) and the ``yanex:`` run defaults."""

    params: dict[str, Any]
    run_defaults: dict[str, Any] = field(default_factory=dict)


# --- nesting and merging ------------------------------------------------------------------


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
    return key, sweeps.parse_value(value)


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
        sweeps.set_path(out, path, sweeps.parse_value(environ[name]))
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
        elif isinstance(value, str) and sweeps.looks_like_sweep(value):
            out[key] = sweeps.parse_value(value)
        else:
            out[key] = value
    return out


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
    if "launcher" in out:  # yanex.launcher: {name: slurm, partition: ..., ...}
        from yanex._launchers import from_config

        name, options = from_config(out["launcher"], str(path))
        out["launcher"] = {"name": name, **options} if name is not None else options
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
        sweeps.set_path(cli, key, value)
    params = cloned_config(clone_from) if clone_from else {}
    for layer in (files.params, from_environment(environ), cli):
        params = merge(params, layer)
    return Resolved(params, files.run_defaults)


def cloned_config(ref: str) -> dict[str, Any]:
    """The stored parameters of the experiment ``ref`` (``query.resolve``: id, unique id
    prefix or name, active or archived)."""
    exp_dir = query.resolve_option("--clone-from", ref).dir
    try:
        return store.read_config(exp_dir)
    except YanexError as exc:
        raise ConfigError(f"--clone-from {ref}: {exc}") from exc
