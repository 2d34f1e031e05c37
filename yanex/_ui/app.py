"""The web UI's ASGI application: pages, the JSON API, file downloads and live streams.

Pages are one small HTML shell each; ``static/app.js`` fetches the JSON API and builds the
page with DOM calls that set text, never HTML, so names, tags, parameters, output and CSV
cells show as typed. Everything is served from the package (uPlot included): no CDN. The
``Guard`` middleware (``guard.py``) checks the Host header and same-origin writes, and
sets a Content-Security-Policy that allows only the package's own scripts.

Writes go through the CLI's functions (``manage.update``, ``archive``, ``unarchive``,
``delete``); delete needs the experiment's id repeated in the request (``confirm``), which
the page sends only after the user confirmed in a dialog.
"""

from __future__ import annotations

import html
import secrets
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import msgspec
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from yanex import __version__
from yanex._core import manage
from yanex._store import layout
from yanex.errors import (
    AmbiguousExperimentError,
    ExperimentNotFoundError,
    InvalidFilterError,
    InvalidReferenceError,
    StorageError,
    YanexError,
)

from . import detail, files, guard, live, table

MAX_COMPARE = 20
_encode = msgspec.json.Encoder().encode


def json(data: Any, status: int = 200) -> Response:
    return Response(_encode(data), status_code=status, media_type="application/json")


def _error_status(exc: Exception) -> int:
    if isinstance(exc, ExperimentNotFoundError):
        return 404
    if isinstance(exc, files.RefusedPath):
        return 403
    if isinstance(exc, AmbiguousExperimentError | StorageError):
        return 409
    return 400


def api(fn: Callable[[Request], Any]) -> Callable[[Request], Response]:
    """A JSON endpoint: its result as JSON, a yanex error as ``{"error": ...}``."""

    def endpoint(request: Request) -> Response:
        try:
            result = fn(request)
        except (YanexError, files.RefusedPath, ValueError) as exc:
            return json({"error": str(exc)}, _error_status(exc))
        return result if isinstance(result, Response) else json(result)

    return endpoint


class UI:
    """The state of one server: its token, the default project scope, its bound address."""

    def __init__(self, *, host: str, port: int, project: str | None) -> None:
        self.host = host
        self.port = port
        self.project = project
        self.token = secrets.token_urlsafe(32)

    # --- pages ------------------------------------------------------------------------

    def shell(self, page: str) -> Callable[[Request], Response]:
        def endpoint(request: Request) -> Response:
            return HTMLResponse(SHELL.format(token=html.escape(self.token), page=page))

        return endpoint

    # --- reading ----------------------------------------------------------------------

    def experiments(self, request: Request) -> Any:
        tq = table.parse(request.query_params, request.query_params.getlist, self.project)
        return table.page(tq)

    def config(self, request: Request) -> Any:
        return {"project": self.project, "version": __version__}

    def experiment(self, request: Request) -> Any:
        return detail.experiment(files.record(request.path_params["ref"]))

    def metrics(self, request: Request) -> Any:
        points = int(request.query_params.get("points", detail.CHART_POINTS))
        rec = files.record(request.path_params["ref"])
        return detail.metrics(rec, max(4, min(points, 20000)))

    def lineage(self, request: Request) -> Any:
        return detail.lineage(files.record(request.path_params["ref"]))

    def log(self, request: Request) -> Any:
        rec = files.record(request.path_params["ref"])
        return files.tail(rec, request.path_params["stream"])

    def preview(self, request: Request) -> Any:
        rec = files.record(request.path_params["ref"])
        return files.preview(rec, request.query_params.get("name", ""))

    def download(self, request: Request) -> Any:
        rec = files.record(request.path_params["ref"])
        name = request.path_params["name"]
        path = files.artifact_path(rec, name)
        inline = request.query_params.get("inline") == "1" and files.kind(name) == "image"
        media = files.IMAGES.get(Path(name).suffix.lower()) if inline else None
        return FileResponse(
            path,
            media_type=media or "application/octet-stream",
            filename=Path(name).name,
            content_disposition_type="inline" if inline else "attachment",
            headers={"Content-Security-Policy": "default-src 'none'; sandbox"},
        )

    def compare(self, request: Request) -> Any:
        ids = [i for part in request.query_params.getlist("ids") for i in part.split(",") if i]
        if ids:
            records = list({r.id: r for r in (files.record(i) for i in ids)}.values())
        else:
            tq = table.parse(request.query_params, request.query_params.getlist, self.project)
            tq.per_page = MAX_COMPARE
            records = [files.record(r["id"]) for r in table.page(tq)["rows"]]
        return detail.compare_runs(records[:MAX_COMPARE])

    # --- live -------------------------------------------------------------------------

    def events(self, request: Request) -> Any:
        rec = files.record(request.path_params["ref"])
        qp = request.query_params
        offsets = {s: int(qp.get(s, "0")) for s in files.STREAMS}
        for stream in files.STREAMS:
            files.log_path(rec, stream)  # a log that links out of the store: refused now
        watch = live.Watch(rec, int(qp.get("count", "0")), offsets)
        return _sse(live.experiment_stream(watch))

    def status_events(self, request: Request) -> Any:
        ids = [i for i in request.query_params.get("ids", "").split(",") if i][:500]
        for exp_id in ids:
            layout.check_id_ref(exp_id)
        return _sse(live.status_stream(ids))

    # --- changing ---------------------------------------------------------------------

    async def change(self, request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return json({"error": "the request body must be JSON"}, 400)
        if not isinstance(body, dict):
            return json({"error": "the request body must be a JSON object"}, 400)
        action = request.path_params["action"]
        ref = request.path_params["ref"]
        act = api(lambda _r: self._act(action, ref, body))
        return await run_in_threadpool(act, request)  # moves and deletes touch the disk

    def _act(self, action: str, ref: str, body: dict[str, Any]) -> Any:
        rec = files.record(ref)
        if action == "update":
            changes = manage.Changes(
                name=_text(body, "name"),
                description=_text(body, "description"),
                add_tags=_tags(body, "add_tags"),
                remove_tags=_tags(body, "remove_tags"),
            )
            changed = manage.update(rec, changes)
            return {"id": rec.id, "changed": sorted(changed)}
        if action in ("archive", "unarchive"):
            (manage.archive if action == "archive" else manage.unarchive)(rec)
            return {"id": rec.id, "done": action}
        if action == "delete":
            if body.get("confirm") != rec.id:
                raise InvalidFilterError("delete needs the experiment's id in 'confirm'")
            manage.sweep_leftovers()
            manage.delete(rec)
            return {"id": rec.id, "done": "delete"}
        raise InvalidReferenceError(f"unknown action {action!r}")


def _text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidFilterError(f"{key} must be text")
    return value


def _tags(body: dict[str, Any], key: str) -> list[str]:
    value = body.get(key) or []
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise InvalidFilterError(f"{key} must be a list of tags")
    return [t.strip() for t in value]


def _sse(stream: Any) -> StreamingResponse:
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream, media_type="text/event-stream", headers=headers)


def _static_dir() -> str:
    return str(resources.files("yanex._ui") / "static")


def create_app(*, host: str = "127.0.0.1", port: int = 8000, project: str | None = None) -> Any:
    """The ASGI app for a server bound to ``host:port``, its table scoped to ``project``."""
    ui = UI(host=host, port=port, project=project)
    a = api
    ref = "/api/experiments/{ref}"
    routes = [
        Route("/", ui.shell("table")),
        Route("/experiments/{ref}", ui.shell("experiment")),
        Route("/compare", ui.shell("compare")),
        Route("/api/config", a(ui.config)),
        Route("/api/experiments", a(ui.experiments)),
        Route("/api/compare", a(ui.compare)),
        Route("/api/events/status", a(ui.status_events)),
        Route(ref, a(ui.experiment)),
        Route(f"{ref}/metrics", a(ui.metrics)),
        Route(f"{ref}/lineage", a(ui.lineage)),
        Route(f"{ref}/log/{{stream}}", a(ui.log)),
        Route(f"{ref}/preview", a(ui.preview)),
        Route(f"{ref}/events", a(ui.events)),
        Route(f"{ref}/{{action}}", ui.change, methods=["POST"]),
        Route("/files/{ref}/{name:path}", a(ui.download)),
        Mount("/static", StaticFiles(directory=_static_dir()), name="static"),
    ]
    app = Starlette(routes=routes)
    app.state.ui = ui
    return guard.Guard(app, bind=host, port=port, token=ui.token)


SHELL = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="yanex-token" content="{token}">
<title>yanex</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/uPlot.min.css">
<link rel="stylesheet" href="/static/app.css">
<script src="/static/uPlot.iife.min.js" defer></script>
<script src="/static/app.js" defer></script>
</head><body data-page="{page}">
<header><a class="brand" href="/">yanex</a><nav><a href="/">Experiments</a>
<a href="/compare" id="nav-compare">Compare</a></nav></header>
<main id="app"><p class="muted">Loading…</p></main>
</body></html>
"""
