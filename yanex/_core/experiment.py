"""Live experiments: the handle code logs through, and the block that owns one's status.

``ActiveExperiment`` is what ``current()`` returns: an experiment directory plus the
per-process state needed to write into it (the metrics writer, cached parameters).
``ExperimentBlock`` opens an experiment (created, resumed or joined), makes it current and
records its final status; the ``ExperimentContext`` pair of ``yanex._contexts`` wraps it for
``with`` and ``async with``.

``completed()``, ``fail()`` and ``cancel()`` raise ``ExperimentExit``, a ``SystemExit``
subclass, so an ``except Exception:`` in user code cannot swallow it. Inside a ``with`` block
the context catches it and records the outcome; in a ``yanex run`` child nothing catches it,
the interpreter exits quietly, and the supervisor reads the outcome the child left in
``.outcome.json``.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from yanex import _context
from yanex._models import TERMINAL, Status
from yanex._store import fs, layout, store
from yanex._store.clock import now_iso
from yanex._store.schema import Metadata, encode_pretty, json_decoder
from yanex.errors import ExperimentContextError

from . import lifecycle

if TYPE_CHECKING:  # imported where used: a yanex run child only logs, it never captures git
    from . import gitinfo

OUTCOME_FILE = ".outcome.json"


class ExperimentExit(SystemExit):
    """Raised by completed()/fail()/cancel() to leave the experiment's block."""

    def __init__(self, status: Status, message: str | None = None) -> None:
        super().__init__({Status.COMPLETED: 0, Status.FAILED: 1}.get(status, 130))
        self.status = status
        self.message = message


class ActiveExperiment:
    """One experiment as seen by the code running inside it."""

    def __init__(self, exp_id: str, exp_dir: Path) -> None:
        self.id = exp_id
        self.dir = exp_dir
        self.artifacts_dir = exp_dir / layout.ARTIFACTS
        self._writer: store.MetricsWriter | None = None
        self._writer_lock = threading.Lock()  # worker threads may log first at the same time
        self._params: dict[str, Any] | None = None

    @classmethod
    def from_environment(cls, exp_id: str) -> ActiveExperiment | None:
        exp_dir = layout.find_experiment_dir(exp_id)
        return cls(exp_id, exp_dir) if exp_dir is not None else None

    def log_metrics(self, data: dict[str, Any], step: int | None) -> int:
        writer = self._writer
        if writer is None:
            with self._writer_lock:
                writer = self._writer
                if writer is None:
                    writer = self._writer = store.MetricsWriter(self.dir)
        return writer.append(data, step)

    def params(self) -> dict[str, Any]:
        if self._params is None:
            self._params = store.read_config(self.dir)
        return self._params

    def metadata(self) -> Metadata:
        return store.read_metadata(self.dir)

    def close(self) -> None:
        with self._writer_lock:
            writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()

    def after_fork(self) -> None:
        """A forked child must not share the parent's descriptor (flock is per description)."""
        self._writer = None
        self._writer_lock = threading.Lock()  # another thread may have held it at fork time


_env_experiment: list[ActiveExperiment] = []  # the handle built from the environment, once


def current() -> ActiveExperiment | None:
    """The experiment the calling code belongs to, or None (standalone): the one entered
    (``_context``), else the one a supervisor named in ``YANEX_EXPERIMENT_ID``."""
    exp = _context.current()
    if isinstance(exp, ActiveExperiment):
        return exp
    if _env_experiment:
        return _env_experiment[0]
    exp_id = os.environ.get(_context.ENV_EXPERIMENT_ID)
    found = ActiveExperiment.from_environment(exp_id) if exp_id else None
    if found is not None:
        _env_experiment.append(found)
    return found


def _after_fork_in_child() -> None:
    for exp in _env_experiment:
        exp.after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def request_outcome(exp: ActiveExperiment, status: Status, message: str | None) -> None:
    """Leave the outcome for the supervisor of a ``yanex run`` child."""
    data = {"status": str(status), "message": message}
    fs.atomic_write(exp.dir / OUTCOME_FILE, encode_pretty(data))


def read_outcome(exp_dir: Path) -> tuple[Status, str | None] | None:
    raw = fs.read_bytes(exp_dir / OUTCOME_FILE)
    if raw is None:
        return None
    try:
        data = json_decoder.decode(raw)
        return Status(data["status"]), data.get("message")
    except (msgspec.DecodeError, KeyError, ValueError, TypeError):
        return None


_git_cache: dict[Path, gitinfo.GitState] = {}


def _git_state() -> gitinfo.GitState:
    """Git facts, captured once per process and working directory.

    The code a process runs was loaded when it started, so later edits to the tree do not
    describe it any better; caching also keeps ``create_experiment`` in a loop cheap.
    """
    from . import gitinfo

    cwd = Path.cwd()
    if cwd not in _git_cache:
        _git_cache[cwd] = gitinfo.capture(cwd)
    return _git_cache[cwd]


def new_metadata(
    exp_id: str,
    *,
    script_path: Path | str | None,
    name: str | None = None,
    tags: list[str] | None = None,
    description: str | None = None,
    project: str | None = None,
    git: gitinfo.GitState | None = None,
) -> Metadata:
    import socket

    from . import environment, gitinfo

    git = git if git is not None else _git_state()
    return Metadata(
        id=exp_id,
        name=name,
        project=project if project is not None else (git.repo_root.name if git.repo_root else None),
        status=Status.CREATED,
        created_at=now_iso(),
        script_path=str(Path(script_path).resolve()) if script_path else None,
        tags=list(tags or []),
        description=description,
        git_commit=git.commit,
        git_branch=git.branch,
        has_uncommitted_changes=git.dirty,
        patch_file=f"{layout.ARTIFACTS}/{gitinfo.PATCH_NAME}" if git.patch else None,
        python_version=environment.python_version(),
        platform=sys.platform,
        host=socket.gethostname(),
        pid=os.getpid(),  # the creator: a 'created' record it leaves behind is stale once it exits
        environment=environment.snapshot(),
        git=_patch_facts(git),
    )


def _patch_facts(git: gitinfo.GitState) -> dict[str, Any] | None:
    """Secret scan and size of the patch, for metadata.json's ``git`` block (None: no patch)."""
    if not git.patch:
        return None
    from . import patchscan

    return patchscan.check(git.patch, layout.experiments_dir()).metadata()


def create_stored(
    meta: Metadata,
    config: dict[str, Any],
    git: gitinfo.GitState | None,
    *,
    legacy_params: bool = True,
    durable: bool = True,
) -> Path:
    """Write a new experiment's files; returns its directory. ``meta.id`` is filled in.

    ``legacy_params=False``: the caller writes params.yaml later (store.write_legacy_params).
    ``durable=False``: metadata.json is not fsynced (a write that follows at once is).
    """
    from . import gitinfo

    exp_id, exp_dir = store.new_experiment_dir()
    meta.id = exp_id
    store.write_config(exp_dir, config, legacy=legacy_params)
    if git is not None and git.patch:
        fs.atomic_write(exp_dir / layout.ARTIFACTS / gitinfo.PATCH_NAME, git.patch, fsync=False)
    if meta.depends_on:  # the file the published yanex reads them from
        from . import dependencies

        dependencies.write_file(exp_dir, meta.depends_on)
    store.write_metadata(exp_dir, meta, fsync=durable)
    return exp_dir


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
        git = _git_state()
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
        git = _git_state()
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


def ensure_not_cli(what: str) -> None:
    if _context.under_cli():
        raise ExperimentContextError(
            f"{what} cannot be used inside a 'yanex run' experiment: run the script with "
            "python directly, or drop the call and let 'yanex run' track it"
        )
