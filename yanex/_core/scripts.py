"""execute_bash_script: one shell command run inside an experiment and recorded in it.

The command runs under ``_supervise`` (own process group, spawner lifeline, SIGINT -> SIGTERM ->
SIGKILL on timeout or cancellation) with ``YANEX_EXPERIMENT_ID`` and ``YANEX_PARAM_*`` in
its environment, so a Python script it starts logs into the same experiment. Its output is
appended to ``artifacts/script_stdout.txt`` / ``script_stderr.txt`` chunk by chunk (files
created only when there is output), optionally copied to our terminal, and kept once in a
growing buffer for the returned strings: memory is the size of the output, not a multiple.
Every call, also one that timed out or was cancelled, adds an entry to ``script_runs.json``.

Parameters reach the environment as yanex 0.6 put them: ``YANEX_PARAM_<key>`` per top-level
key (``str()`` of scalars, JSON of lists and dicts), plus one variable per nested leaf with
the keys joined by ``_`` (``model.lr`` -> ``YANEX_PARAM_model_lr``); a top-level key wins
over a flattened name that collides with it.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from yanex import _context, _supervise
from yanex._store import layout, store
from yanex._store.clock import now_iso
from yanex._store.schema import ScriptRun
from yanex.errors import ScriptFailedError, ScriptTimeoutError

from . import trust
from .echo import TerminalSink
from .experiment import ActiveExperiment

STDOUT_ARTIFACT = "script_stdout.txt"
STDERR_ARTIFACT = "script_stderr.txt"


class _Artifact:
    """Appends a stream to an artifact file, created on the first byte (none if silent).

    A file that the command has meanwhile replaced by a link out of the artifacts directory
    is not written through: the stream is dropped and ``refused`` says why (raised once the
    command has ended)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: _supervise.FileSink | None = None
        self.refused: ValueError | None = None

    def __call__(self, chunk: bytes) -> None:
        if self._file is None:
            if self.refused is not None:
                return
            try:
                trust.confined(self.path.parent, self.path.name, "write")
            except ValueError as exc:
                self.refused = exc
                return
            self._file = _supervise.FileSink(self.path)
        self._file(chunk)

    @property
    def lines(self) -> int:
        return self._file.line_count if self._file is not None else 0

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


class _Capture:
    """Keeps a stream for the returned string: one buffer, decoded once at the end."""

    def __init__(self) -> None:
        self._data = bytearray()

    def __call__(self, chunk: bytes) -> None:
        self._data += chunk

    def text(self) -> str:
        text = self._data.decode(errors="replace")
        self._data = bytearray()  # free the bytes before the caller gets the string
        return text


def _env_value(value: Any) -> str:
    return json.dumps(value, default=str) if isinstance(value, (dict, list)) else str(value)


def _leaves(prefix: str, value: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    for key, item in value.items():
        name = f"{prefix}_{key}"
        yield name, item
        if isinstance(item, dict):
            yield from _leaves(name, item)


def param_env(params: dict[str, Any]) -> dict[str, str]:
    """``YANEX_PARAM_*`` variables for ``params`` (see the module docstring)."""
    env: dict[str, str] = {}
    for key, value in params.items():
        env[f"{_context.ENV_PARAM_PREFIX}{key}"] = _env_value(value)
    for key, value in params.items():
        if isinstance(value, dict):
            for name, item in _leaves(str(key), value):
                env.setdefault(f"{_context.ENV_PARAM_PREFIX}{name}", _env_value(item))
    return {k: v for k, v in env.items() if "=" not in k and "\0" not in k + v}


def script_env(exp: ActiveExperiment) -> dict[str, str]:
    """Our environment, with the experiment's id, store and parameters for the command."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_context.ENV_PARAM_PREFIX)}
    env.update(param_env(exp.params()))
    env[_context.ENV_EXPERIMENT_ID] = exp.id
    env[_context.ENV_EXPERIMENTS_DIR] = str(layout.experiments_dir())
    return env


def _shell() -> str:
    return shutil.which("bash") or "/bin/sh"


def _working_dir(exp: ActiveExperiment, working_dir: Path | None) -> Path:
    cwd = exp.dir if working_dir is None else Path(working_dir).expanduser().resolve()
    if not cwd.is_dir():
        raise FileNotFoundError(f"working directory not found: {cwd}")
    return cwd


async def execute(
    exp: ActiveExperiment,
    command: str,
    *,
    timeout: float | None,
    raise_on_error: bool,
    stream_output: bool,
    working_dir: Path | None,
) -> dict[str, Any]:
    """Run ``command`` with bash in ``exp``; the documented result dict (see ``_api``)."""
    if not isinstance(command, str) or not command.strip():
        raise ValueError("command must be a non-empty string")
    cwd = _working_dir(exp, working_dir)
    arts = (
        _Artifact(exp.artifacts_dir / STDOUT_ARTIFACT),
        _Artifact(exp.artifacts_dir / STDERR_ARTIFACT),
    )
    caps = (_Capture(), _Capture())
    echoes = (TerminalSink("stdout"), TerminalSink("stderr")) if stream_output else None
    started_at, started = now_iso(), time.monotonic()
    outcome: _supervise.Outcome | None = None
    try:
        caller = _supervise.Caller.now()
        launch = caller.launch([_shell(), "-c", command], script_env(exp))
        launch.cwd = str(cwd)
        outcome = await _supervise.supervise(
            launch,
            stdout=[arts[0], caps[0], *([echoes[0]] if echoes else [])],
            stderr=[arts[1], caps[1], *([echoes[1]] if echoes else [])],
            timeout=timeout,
            grace=_supervise.default_grace(),
        )
    finally:
        for art in arts:
            art.close()
        run = _record(
            command, cwd, outcome, arts, started_at=started_at,
            elapsed=time.monotonic() - started, timeout=timeout,
        )  # fmt: skip
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(store.append_script_run, exp.dir, run)
    for art in arts:
        if art.refused is not None:
            raise art.refused
    return _result(command, cwd, outcome, caps, raise_on_error=raise_on_error, timeout=timeout)


def held_output(outcome: _supervise.Outcome) -> str | None:
    """Why a timeout is not the command's own fault, when it is not: the command had exited
    before the timeout (no signal had to be sent to it), but a background process it
    started still held its stdout/stderr open, so its output had not ended."""
    if not outcome.timed_out or outcome.signals_sent or outcome.returncode is None:
        return None
    return (
        f"the command itself had exited (code {outcome.returncode}), but a background "
        "process it started still held its stdout/stderr open, so its output never ended; "
        "redirect that process's output (cmd > file 2>&1 &) to let the command end without it"
    )


def _record(
    command: str,
    cwd: Path,
    outcome: _supervise.Outcome | None,
    arts: tuple[_Artifact, _Artifact],
    *,
    started_at: str,
    elapsed: float,
    timeout: float | None,
) -> ScriptRun:
    error = None
    if outcome is None:
        error = "cancelled: the command's process group was stopped"
    elif outcome.timed_out:
        error = f"Command timed out after {timeout} seconds (process group stopped)"
        held = held_output(outcome)
        error = f"{error}: {held}" if held else error
    return ScriptRun(
        command=command,
        exit_code=outcome.returncode if outcome is not None else None,
        execution_time=outcome.duration if outcome is not None else elapsed,
        stdout_lines=arts[0].lines,
        stderr_lines=arts[1].lines,
        working_directory=str(cwd),
        timestamp=started_at,
        recorded_at=now_iso(),
        timed_out=bool(outcome and outcome.timed_out),
        error=error,
    )


def _result(
    command: str,
    cwd: Path,
    outcome: _supervise.Outcome,
    caps: tuple[_Capture, _Capture],
    *,
    raise_on_error: bool,
    timeout: float | None,
) -> dict[str, Any]:
    stdout, stderr = caps[0].text(), caps[1].text()
    if outcome.timed_out:
        exc = ScriptTimeoutError(command, timeout or 0.0, output=stdout, stderr=stderr)
        exc.detail = held_output(outcome)
        raise exc
    code = outcome.returncode if outcome.returncode is not None else -1
    if raise_on_error and code != 0:
        raise ScriptFailedError(code, command, output=stdout, stderr=stderr)
    return {
        "exit_code": code,
        "stdout": stdout,
        "stderr": stderr,
        "execution_time": outcome.duration,
        "command": command,
        "working_directory": str(cwd),
    }
