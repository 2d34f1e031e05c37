"""The exception tree of yanex, and its warnings (a leaf: imports nothing of yanex).

Each error keeps the stdlib base a caller would already catch (``ValueError``, ``KeyError``,
``OSError``, ``subprocess``'s errors), so ``except ValueError`` code written before the
class existed still works, and ``except YanexError`` catches everything yanex raises on
purpose::

    YanexError
    ├── ExperimentContextError     no experiment where one is needed, or one where none may be
    ├── ExperimentNotFoundError    an id, prefix or name that matches nothing
    ├── InvalidReferenceError      a path (or non-string) given where an experiment id goes  [V]
    ├── AmbiguousExperimentError   a prefix or name that matches several experiments
    ├── InvalidTransitionError     a status change the lifecycle forbids
    ├── StorageError               the store could not be read or written
    │   └── CorruptFileError       a file in the store is not what its schema says
    ├── ConfigError                a broken config file, --param, sweep or environment value  [V]
    ├── InvalidFilterError         a query filter that cannot be understood (time, status)  [V]
    ├── InvalidUpdateError         a metadata change that is not allowed (status, tag)  [V]
    ├── SpecError                  an ExperimentSpec or run_multiple call that cannot run  [V]
    ├── SpawnError                 a child process that could not be started  [OSError]
    ├── AmbiguousArtifactError     an artifact name found in several experiments of a search
    ├── KeyNotFoundError           a parameter or metric found in no experiment  [KeyError]
    ├── AmbiguousKeyError          a key that matches several parameter paths  [V]
    ├── ScriptTimeoutError         a command ran past its timeout  [subprocess.TimeoutExpired]
    └── ScriptFailedError          a command exited non-zero  [subprocess.CalledProcessError]

    [V]: also a ValueError; [X]: also an X.

Warnings are not errors: they are given with ``warnings.warn`` and have their own base,
``YanexWarning``, so they can be filtered by class (``__all__`` lists both trees)::

    YanexWarning (UserWarning)
    ├── CorruptExperimentWarning   an experiment skipped by a store-wide read: unreadable file
    └── UntrustedPickleWarning     a pickle loaded from an experiment outside this run's lineage
"""

from __future__ import annotations

import _thread
import os as _os

TYPE_CHECKING = False  # not ``from typing``: every command imports this module


class YanexError(Exception):
    """Base of every error yanex raises on purpose."""


class ExperimentContextError(YanexError):
    """No active experiment where one is needed, or one where none is allowed."""


class ExperimentNotFoundError(YanexError):
    """No experiment matches the given id, prefix or name."""


class InvalidReferenceError(YanexError, ValueError):
    """Something other than an id, id prefix or name (a path, say) given for an experiment."""


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


class InvalidUpdateError(YanexError, ValueError):
    """A change to an experiment's metadata that is not allowed (unknown status, empty tag)."""


class SpecError(YanexError, ValueError):
    """An ExperimentSpec, or a ``run_multiple``/``as_completed`` call (its list of specs, its
    ``parallel``), that cannot run; raised before anything is created."""


class SpawnError(YanexError, OSError):
    """A child process could not be started (the spawner refused it or is gone)."""


class AmbiguousArtifactError(YanexError):
    """An artifact searched for by name exists in several experiments; say which one."""

    def __init__(self, message: str, experiment_ids: list[str] | None = None) -> None:
        super().__init__(message)
        self.experiment_ids = experiment_ids or []


class KeyNotFoundError(YanexError, KeyError):
    """A parameter or metric key found in none of the experiments searched."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class AmbiguousKeyError(YanexError, ValueError):
    """A shorthand key that matches several parameter or metric paths."""

    def __init__(self, message: str, candidates: list[str] | None = None) -> None:
        super().__init__(message)
        self.candidates = candidates or []


if TYPE_CHECKING:  # what checkers see; at run time both are made on first use (below)
    import subprocess

    class ScriptTimeoutError(YanexError, subprocess.TimeoutExpired):
        detail: str | None

    class ScriptFailedError(YanexError, subprocess.CalledProcessError): ...


_made = _thread.allocate_lock()


def _new_lock_after_fork() -> None:
    """A fork while another thread held ``_made`` must not leave the child's copy held."""
    global _made  # noqa: PLW0603  the thread that held it did not come along
    _made = _thread.allocate_lock()


if hasattr(_os, "register_at_fork"):
    _os.register_at_fork(after_in_child=_new_lock_after_fork)


def _with_subprocess_bases() -> None:
    """Make ScriptTimeoutError and ScriptFailedError, whose bases are subprocess's: importing
    subprocess (with the signal, threading, selectors and locale modules it imports) would
    cost a command such as ``yanex get`` a third of an interpreter's start, so the two are
    made when first looked up (``__getattr__``), once, whichever thread asks first."""
    import subprocess

    class ScriptTimeoutError(YanexError, subprocess.TimeoutExpired):
        """A command ran longer than its timeout; its whole process group was stopped.

        ``detail`` says more when the timeout is not the whole story (the command itself had
        exited, but a background process it started still held its output open).
        """

        __qualname__ = "ScriptTimeoutError"
        detail: str | None = None

        def __str__(self) -> str:
            base = subprocess.TimeoutExpired.__str__(self)
            return f"{base}: {self.detail}" if self.detail else base

    class ScriptFailedError(YanexError, subprocess.CalledProcessError):
        """A command exited non-zero and the caller asked for an exception."""

        __qualname__ = "ScriptFailedError"

        def __str__(self) -> str:
            return subprocess.CalledProcessError.__str__(self)

    globals().update(ScriptTimeoutError=ScriptTimeoutError, ScriptFailedError=ScriptFailedError)


def __getattr__(name: str) -> type[YanexError]:
    if name not in ("ScriptTimeoutError", "ScriptFailedError"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    with _made:
        if name not in globals():
            _with_subprocess_bases()
    made: type[YanexError] = globals()[name]
    return made


class YanexWarning(UserWarning):
    """Base of the warnings yanex gives."""


class CorruptExperimentWarning(YanexWarning):
    """A store-wide read skipped an experiment (or part of it) whose files cannot be read."""


class UntrustedPickleWarning(YanexWarning):
    """A pickle (which can run code) loaded from an experiment outside the current lineage."""


__all__ = [
    "AmbiguousArtifactError",
    "AmbiguousExperimentError",
    "AmbiguousKeyError",
    "ConfigError",
    "CorruptExperimentWarning",
    "CorruptFileError",
    "ExperimentContextError",
    "ExperimentNotFoundError",
    "InvalidFilterError",
    "InvalidReferenceError",
    "InvalidTransitionError",
    "InvalidUpdateError",
    "KeyNotFoundError",
    "ScriptFailedError",
    "ScriptTimeoutError",
    "SpawnError",
    "SpecError",
    "StorageError",
    "UntrustedPickleWarning",
    "YanexError",
    "YanexWarning",
]
