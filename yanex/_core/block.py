"""An experiment entered as a block: opened (created, resumed or joined), made current, and
given its final status when the block ends. The faces' ``ExperimentContext`` /
``AsyncExperimentContext`` (``yanex._contexts``) drive it, blocking or in a worker thread.

``completed()``, ``fail()`` and ``cancel()`` raise ``ExperimentExit``; ``finish`` records it
(and swallows it), as it records a normal end, an exception, or an interruption.
"""

from __future__ import annotations

from typing import Any

from yanex import _context
from yanex._models import TERMINAL, Status
from yanex._store import store
from yanex.errors import ExperimentContextError

from . import lifecycle
from .experiment import (
    ActiveExperiment,
    ExperimentExit,
    create_stored,
    git_state,
    new_metadata,
    request_outcome,
)


class ExperimentBlock:
    """One experiment entered as a block: opened, made current, and given its final status
    when the block ends (the faces' ExperimentContext pair drives it)."""

    def __init__(
        self,
        *,
        exp_id: str | None = None,
        create: dict[str, Any] | None = None,
        created: ActiveExperiment | None = None,
    ):
        self._exp_id = created.id if created is not None else exp_id
        self._create = create
        self._created = created  # made by create_experiment, before any ``with``
        self._exp: ActiveExperiment | None = None
        self._ended: ActiveExperiment | None = None
        self._token: Any = None
        self._owns_status = False

    # -- entering and leaving --------------------------------------------------------------

    def open(self) -> ActiveExperiment:
        """Store, resume or join the experiment (blocking: it may run git)."""
        if self._exp is not None:
            raise ExperimentContextError("this experiment context is already active")
        return self._open_new() if self._create is not None else self._open_existing()

    def _open_new(self) -> ActiveExperiment:
        assert self._create is not None
        opts = dict(self._create)
        config = opts.pop("config", None) or {}
        git = git_state()
        meta = new_metadata("", git=git, **opts)
        lifecycle.apply(meta, Status.RUNNING)
        exp_dir = create_stored(meta, config, git)
        self._owns_status = True
        return ActiveExperiment(meta.id, exp_dir)

    @classmethod
    def create_now(cls, opts: dict[str, Any]) -> ExperimentBlock:
        """A block on an experiment stored at once with status ``created``: its id is
        readable before ``with``, and another process may ``create_context(id)`` into it.
        Entering the ``with`` moves it to running."""
        opts = dict(opts)
        config = opts.pop("config", None) or {}
        git = git_state()
        meta = new_metadata("", git=git, **opts)
        # not fsynced: entering the with-block rewrites it durably (a 'created' record lost
        # to a power cut only loses an experiment that never ran)
        exp_dir = create_stored(meta, config, git, durable=False)
        return cls(created=ActiveExperiment(meta.id, exp_dir))

    def _open_existing(self) -> ActiveExperiment:
        assert self._exp_id is not None
        exp_dir = store.require_dir(self._exp_id)
        with store.editing_metadata(exp_dir) as meta:
            if lifecycle.is_stale(meta):
                meta.status = Status.FAILED
            if meta.status != Status.RUNNING:  # resume; a running one is joined as it is
                lifecycle.apply(meta, Status.RUNNING)
                self._owns_status = True
        return ActiveExperiment(meta.id, exp_dir)

    def finish(self, exp: ActiveExperiment, exc: BaseException | None) -> bool:
        """Record how the block ended; True when ``exc`` is ours to swallow (blocking)."""
        exp.close()
        status, message, trace, swallow = _outcome_of(exc)
        if self._owns_status and store.read_metadata(exp.dir).status not in TERMINAL:
            lifecycle.finish(exp.dir, status, message=message, traceback=trace)
        else:  # joined someone else's run, or ended meanwhile (update --set-status)
            store.compact_metrics(exp.dir)
            if swallow and status != Status.COMPLETED:
                request_outcome(exp, status, message)  # for the supervisor, if there is one
        return swallow

    def activate(self, exp: ActiveExperiment) -> None:
        self._exp = exp
        self._token = _context.push(exp)

    def deactivate(self) -> ActiveExperiment:
        exp = self.active
        _context.pop(exp, self._token)
        self._exp = self._token = None
        self._ended = exp  # its id and paths stay readable after the block
        return exp

    # -- the experiment ----------------------------------------------------------------------

    @property
    def active(self) -> ActiveExperiment:
        if self._exp is None:
            raise ExperimentContextError("the experiment context is not active")
        return self._exp

    @property
    def known(self) -> ActiveExperiment:
        """The experiment while active, or the one this block ran once it has ended."""
        if self._exp is not None:
            return self._exp
        return self._ended or self._created or self.active


def _outcome_of(exc: BaseException | None) -> tuple[Status, str | None, str | None, bool]:
    """(status, message, traceback, swallow?) for how a block ended."""
    if exc is None:
        return Status.COMPLETED, None, None, False
    if isinstance(exc, ExperimentExit):
        return exc.status, exc.message, None, True
    if isinstance(exc, KeyboardInterrupt):
        return Status.CANCELLED, "interrupted (KeyboardInterrupt)", None, False
    if type(exc).__name__ in ("CancelledError", "Cancelled"):  # asyncio / trio cancellation
        return Status.CANCELLED, "cancelled", None, False
    import traceback

    trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return Status.FAILED, message, trace, False
