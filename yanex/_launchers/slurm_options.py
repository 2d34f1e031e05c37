"""The Slurm launcher's options: submitit's own parameters, their types, and checking them.

The names are those of ``submitit.AutoExecutor`` without the ``slurm_`` prefix: the shared
ones (``timeout_min``, ``mem_gb``, ``cpus_per_task``, ``gpus_per_node``, ``nodes``,
``tasks_per_node``, ``name``) and every parameter of submitit's Slurm executor
(``partition``, ``account``, ``qos``, ``constraint``, ``setup``, ``additional_parameters``,
...), read from submitit itself so a newer submitit brings its new options. The job array's
parallelism comes from ``-j``/``parallel=``, never from here.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Callable
from typing import Any

from yanex.errors import ConfigError

# AutoExecutor's shared parameters and their types (submitit's _typed_parameters)
SHARED: dict[str, type] = {
    "timeout_min": int,
    "mem_gb": float,
    "nodes": int,
    "cpus_per_task": int,
    "gpus_per_node": int,
    "tasks_per_node": int,
    "name": str,
}
# Slurm parameters that the shared ones (or yanex itself) set: not options of their own
_TAKEN = {
    "command", "folder", "map_count", "array_parallelism", "job_name", "time", "mem",
    "nodes", "cpus_per_task", "gpus_per_node", "ntasks_per_node", "num_gpus",
    "stderr_to_stdout",
}  # fmt: skip

_BOOL_WORDS = {"true": True, "yes": True, "on": True, "1": True}
_BOOL_WORDS.update({"false": False, "no": False, "off": False, "0": False})


def submitit() -> Any:
    """The submitit module, or a ConfigError saying how to install it."""
    try:
        import submitit as module
    except ImportError:
        raise ConfigError("the Slurm launcher needs submitit: pip install 'yanex[slurm]'") from None
    return module


@functools.cache
def table() -> dict[str, str]:
    """Every option's name -> its kind: int, float, bool, str, list, dict or bool|str."""
    submitit()
    from submitit.slurm import slurm

    hints = typing.get_type_hints(slurm._make_sbatch_string)
    kinds = {name: _kind(kind) for name, kind in SHARED.items()}
    for name, hint in hints.items():
        if name not in _TAKEN and name != "return":
            kinds[name] = _kind(hint)
    return kinds


def _kind(hint: Any) -> str:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    origin = typing.get_origin(hint)
    if origin is typing.Union:
        if len(args) == 1:
            return _kind(args[0])
        return "|".join(sorted(_kind(a) for a in args))
    if hint in (int, float, bool, str):
        return str(hint.__name__)
    base = origin or hint
    return "dict" if base in (dict, typing.Dict) else "list"  # noqa: UP006


def valid() -> str:
    return ", ".join(sorted(table()))


def check(options: dict[str, Any], *, text: bool) -> dict[str, Any]:
    """The options converted to submitit's types; ConfigError on an unknown name or a value
    of the wrong type (``text``: every value is a string from the command line)."""
    kinds = table()
    out: dict[str, Any] = {}
    for name, value in options.items():
        kind = kinds.get(name)
        if kind is None:
            raise ConfigError(f"unknown Slurm launcher option {name!r}; valid options: {valid()}")
        convert = _FROM_TEXT[kind] if text and isinstance(value, str) else _CHECK[kind]
        try:
            out[name] = convert(value)
        except (TypeError, ValueError):
            raise ConfigError(
                f"Slurm launcher option {name} must be {_WORDS[kind]}, not {value!r}"
            ) from None
    return out


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(value)
    return value


def _float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(value)
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(value)
    return value


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(value)
    return value


def _list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise TypeError(value)
    return list(value)


def _dict(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise TypeError(value)
    return dict(value)


def _bool_or_str(value: Any) -> bool | str:
    if not isinstance(value, (bool, str)):
        raise TypeError(value)
    return value


def _yaml(value: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(value)
    except yaml.YAMLError as exc:
        raise ValueError(value) from exc


def _text_bool(value: str) -> bool:
    word = value.strip().lower()
    return _BOOL_WORDS[word] if word in _BOOL_WORDS else _bool(value)


_CHECK: dict[str, Callable[[Any], Any]] = {
    "int": _int, "float": _float, "bool": _bool, "str": _str, "list": _list, "dict": _dict,
    "bool|str": _bool_or_str,
}  # fmt: skip
_FROM_TEXT: dict[str, Callable[[str], Any]] = {
    "int": lambda v: int(v.strip()),
    "float": lambda v: float(v.strip()),
    "bool": _text_bool,
    "str": str,
    "list": lambda v: _list(_yaml(v)) if v.lstrip().startswith("[") else [v],
    "dict": lambda v: _dict(_yaml(v)),
    "bool|str": lambda v: _BOOL_WORDS.get(v.strip().lower(), v),
}
_WORDS = {
    "int": "an integer", "float": "a number", "bool": "true or false", "str": "a string",
    "list": "a string or a list of strings", "dict": "a mapping (e.g. {\"key\": \"value\"})",
    "bool|str": "true, false or a string",
}  # fmt: skip
