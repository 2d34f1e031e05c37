"""``yanex get stdout|stderr --follow``: stream a running experiment's output as it grows.

Prints what is there (or its last ``--tail`` lines), then polls the file for new bytes
until the experiment is no longer running (its effective status, so a dead supervisor ends
the follow too) or the user presses Ctrl+C, which ends it normally.
"""

from __future__ import annotations

import codecs
from pathlib import Path

import anyio

from yanex._core import query
from yanex._models import Status
from yanex._store import layout
from yanex.errors import ExperimentNotFoundError, YanexError

from . import _console, _fields, _render

POLL = 0.2  # seconds between looks at the file and the status


def _read_from(path: Path, offset: int) -> tuple[bytes, int]:
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            data = fh.read()
    except FileNotFoundError:
        return b"", offset
    return data, offset + len(data)


def _status(rec: query.Record) -> str:
    try:
        return query.refresh(rec).status
    except ExperimentNotFoundError:
        return "deleted"
    except YanexError:  # unreadable for a moment (another writer): look again later
        return Status.RUNNING


async def follow(rec: query.Record, field: str, tail: int | None) -> None:
    path = rec.dir / layout.ARTIFACTS / f"{field}.txt"
    offset = 0
    if tail is not None:
        offset = path.stat().st_size if path.exists() else 0  # before reading: no gap
        lines = _fields.tail_lines(path, tail, offset) if offset else []
        if lines:
            _console.echo("\n".join(lines))
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")  # chunks split chars
    try:
        while True:
            status = _status(rec)
            data, offset = _read_from(path, offset)
            if data:
                _render.raw(decoder.decode(data))
            if status != Status.RUNNING:
                _console.echo(f"[experiment {status}]", err=True)
                return
            await anyio.sleep(POLL)
    except (KeyboardInterrupt, anyio.get_cancelled_exc_class()):
        _console.echo("[stopped following]", err=True)
