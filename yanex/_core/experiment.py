"""Live experiments: the handle code logs through, and the block that owns one's status.

``ActiveExperiment`` is what ``current()`` returns: an experiment directory plus the
per-process state needed to write into it (the metrics writer, cached parameters). A new
experiment's files are written by ``create_stored``; ``block.ExperimentBlock`` (entering and
leaving a ``with`` block) builds on this module.

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
from yanex._models import Status
from yanex._store import fs, layout, store
from yanex._store.clock import now_iso
from yanex._store.schema import Metadata, encode_pretty, json_decoder
from yanex.errors import ExperimentContextError

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


def git_state() -> gitinfo.GitState:
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

    git = git if git is not None else git_state()
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


def ensure_not_cli(what: str) -> None:
    if _context.under_cli():
        raise ExperimentContextError(
            f"{what} cannot be used inside a 'yanex run' experiment: run the script with "
            "python directly, or drop the call and let 'yanex run' track it"
        )
