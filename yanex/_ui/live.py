"""Server-sent events: a running experiment's new metric steps, output and status, as they come.

The server looks at the metric files and the logs every ``TICK`` seconds (a ``stat`` and a
read from the last offset: cheap) and sends only what is new; the browser keeps one
connection open instead of polling, and is told to wait ``RETRY_MS`` before reconnecting
after a drop. When the experiment ends, the stream sends what was still new, an ``end``
event, and closes; the page then stops listening, so a finished experiment never streams.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.to_thread
import msgspec

from yanex._core import query
from yanex._core.filters import Filters
from yanex._store import store
from yanex.errors import YanexError

from . import detail, files

TICK = 0.5
RETRY_MS = 2000
CHUNK = 64 * 1024
HEARTBEAT = 15.0

_encode = msgspec.json.Encoder().encode


def event(name: str, data: Any) -> str:
    return f"event: {name}\ndata: {_encode(data).decode()}\n\n"


class Watch:
    """What one experiment page has already seen: metric entries and log offsets."""

    def __init__(self, rec: query.Record, count: int, offsets: dict[str, int]) -> None:
        self.rec = rec
        self.count = count
        self.offsets = dict(offsets)
        self.stamp: tuple[Any, ...] | None = None

    def metrics(self) -> str | None:
        stamp = detail._stamp(self.rec.dir)
        if stamp == self.stamp:
            return None
        self.stamp = stamp
        entries = store.read_metrics(self.rec.dir)
        if len(entries) <= self.count:
            return None
        new = detail.split(entries, self.count)
        self.count = len(entries)
        return event("metrics", {"count": self.count, "metrics": new})

    def logs(self) -> list[str]:
        out = []
        for stream in files.STREAMS:
            try:
                path = files.log_path(self.rec, stream)
            except files.RefusedPath:  # became a link out of the store: never followed
                continue
            text, offset = files.read_from(path, self.offsets.get(stream, 0), CHUNK)
            self.offsets[stream] = offset
            if text:
                out.append(event("log", {"stream": stream, "text": text, "offset": offset}))
        return out

    def step(self) -> tuple[list[str], bool]:
        """The events of one tick, and whether the experiment has ended."""
        try:
            self.rec = query.refresh(self.rec)
        except YanexError:
            return [event("status", {"status": "deleted"})], True
        done = not detail.running(self.rec)
        out = [e for e in (self.metrics(),) if e] + self.logs()
        if done:
            out.append(event("status", {"status": self.rec.status}))
        return out, done


async def experiment_stream(watch: Watch) -> AsyncIterator[str]:
    yield f"retry: {RETRY_MS}\n\n"
    quiet = 0.0
    while True:
        out, done = await anyio.to_thread.run_sync(watch.step)
        for item in out:
            yield item
        if done:
            yield event("end", {"status": watch.rec.status})
            return
        quiet = 0.0 if out else quiet + TICK
        if quiet >= HEARTBEAT:
            quiet = 0.0
            yield ": still running\n\n"
        await anyio.sleep(TICK)


def _statuses(ids: list[str]) -> dict[str, dict[str, Any]]:
    from . import table

    out = {}
    for rec in query.select(Filters(ids=ids, archived=None)).records:
        out[rec.id] = table.row(rec)
    return out


async def status_stream(ids: list[str]) -> AsyncIterator[str]:
    """Status changes of the table's running experiments, until none of them runs."""
    yield f"retry: {RETRY_MS}\n\n"
    seen: dict[str, str] = {}
    while ids:
        rows = await anyio.to_thread.run_sync(_statuses, ids)
        for exp_id in list(ids):
            row = rows.get(exp_id)
            status = row["status"] if row else "deleted"
            if seen.get(exp_id) != status:
                seen[exp_id] = status
                yield event("row", row or {"id": exp_id, "status": "deleted"})
            if row is None or row["status"] not in detail.LIVE:
                ids.remove(exp_id)
        if ids:
            await anyio.sleep(1.0)
    yield event("end", {})
