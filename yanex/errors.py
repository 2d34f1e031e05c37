"""The exception tree of yanex.

::

    YanexError
    ├── ExperimentContextError     no experiment where one is needed, or one where none may be
    ├── ExperimentNotFoundError    an id, prefix or name that matches nothing
    ├── AmbiguousExperimentError   a prefix or name that matches several experiments
    ├── InvalidTransitionError     a status change the lifecycle forbids
    ├── StorageError               the store could not be read or written
    │   └── CorruptFileError       a file in the store is not what its schema says
    ├── ConfigError                a broken config file, --param, sweep or environment value
    ├── InvalidFilterError         a query filter that cannot be understood (time phrase, status)
    ├── ScriptTimeoutError         (also subprocess.TimeoutExpired)
    └── ScriptFailedError          (also subprocess.CalledProcessError)
"""

from __future__ import annotations

import subprocess


class YanexError(Exception):
    """Base of every error yanex raises on purpose."""


class ExperimentContextError(YanexError):
    """No active experiment where one is needed, or one where none is allowed."""


class ExperimentNotFoundError(YanexError):
    """No experiment matches the given id, prefix or name."""


class AmbiguousExperimentError(YanexError):
    """Several experiments match the given id prefix or name."""

    def __init__(self, message: str, candidates: list[str] | None = None) -> None:
        super().__init__(message)
        self.candidates = candidates or []


class InvalidTransitionError(YanexError):
    """The lifecycle forbids this status change."""


class StorageError(YanexError):
    """The experiment store could not be read or written."""


class CorruptFileError(StorageError):
    """A file in the store does not decode as its schema says."""


class ConfigError(YanexError, ValueError):
    """A config file, parameter override or sweep expression is invalid."""


class InvalidFilterError(YanexError, ValueError):
    """A query filter (time phrase, status, limit, ...) that cannot be understood."""


class ScriptTimeoutError(YanexError, subprocess.TimeoutExpired):
    """A command ran longer than its timeout; its whole process group was stopped."""

    def __str__(self) -> str:
        return subprocess.TimeoutExpired.__str__(self)


class ScriptFailedError(YanexError, subprocess.CalledProcessError):
    """A command exited non-zero and the caller asked for an exception."""

    def __str__(self) -> str:
        return subprocess.CalledProcessError.__str__(self)


__all__ = [
    "AmbiguousExperimentError",
    "ConfigError",
    "CorruptFileError",
    "ExperimentContextError",
    "ExperimentNotFoundError",
    "InvalidFilterError",
    "InvalidTransitionError",
    "ScriptFailedError",
    "ScriptTimeoutError",
    "StorageError",
    "YanexError",
]
