"""Where experiments run: the launcher choice (a name and its options), checked up front.

``local`` (the default) runs each experiment as a child of this process (``_supervise``).
``slurm`` submits them to a Slurm cluster through submitit (``slurm.py``), one job array
per sweep. A launcher is a name, a table of options and one coroutine that runs a list of
created experiments and reports each one's start, output and end (``slurm.run``): small
enough for another engine later (see the README, "Running on a Slurm cluster").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from yanex.errors import ConfigError

NAMES = ("local", "slurm")


@dataclass(frozen=True)
class Choice:
    """A launcher and its options, already checked and converted to submitit's types."""

    name: str = "local"
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def local(self) -> bool:
        return self.name == "local"


def choose(name: str | None, options: Mapping[str, Any] | None, *, text: bool = False) -> Choice:
    """Check ``name`` and ``options`` (``text``: values are strings from a command line,
    converted to each option's type). Raises ConfigError naming the valid choices."""
    name = "local" if name is None else name
    if name not in NAMES:
        raise ConfigError(f"unknown launcher {name!r}: choose one of {', '.join(NAMES)}")
    options = dict(options or {})
    if name == "local":
        if options:
            raise ConfigError(
                "the local launcher takes no options (--launcher-opt is for --launcher slurm)"
            )
        return Choice()
    from .slurm_options import check

    return Choice("slurm", check(options, text=text))


def parse_pairs(pairs: list[str]) -> dict[str, str]:
    """``KEY=VALUE`` items (``--launcher-opt``) as a dict; ConfigError for one without ``=``."""
    out: dict[str, str] = {}
    for item in pairs:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--launcher-opt must be KEY=VALUE, not {item!r}")
        out[key.strip()] = value
    return out


def from_config(section: Any, source: str) -> tuple[str | None, dict[str, Any]]:
    """The ``launcher:`` mapping of a config file's ``yanex:`` section: (name, options)."""
    if not isinstance(section, dict):
        raise ConfigError(f"yanex.launcher in {source} must be a mapping (name: slurm, ...)")
    options = dict(section)
    name = options.pop("name", None)
    if name is not None and not isinstance(name, str):
        raise ConfigError(f"yanex.launcher.name in {source} must be a string")
    return name, options
