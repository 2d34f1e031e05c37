"""``yanex ui``: the web interface, served on this machine until Ctrl-C."""

from __future__ import annotations

import asyncclick as click

from . import _console
from ._filters import FilterArgs

MISSING = "yanex ui needs the web extra: pip install 'yanex[ui]'"


@click.command("ui", short_help="Browse, chart and compare experiments in a web browser.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port (0: any free).")
@click.option("--open", "open_browser", is_flag=True, help="Open the UI in a web browser.")
@click.option("--project", "-p", default=None, help="Project shown first (default: this repo's).")
@click.option("--global", "-g", "global_scope", is_flag=True, help="Show every project first.")
async def command(
    *, host: str, port: int, open_browser: bool, project: str | None, global_scope: bool
) -> None:
    """Start the web UI: the experiments table, each experiment's page with its charts,
    output and artifacts, and a compare page. Listens on 127.0.0.1 unless --host says
    otherwise; the store is $YANEX_EXPERIMENTS_DIR, as for every command."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        _console.fail(MISSING)
    import sniffio

    if sniffio.current_async_library() != "asyncio":
        _console.fail("yanex ui runs on asyncio: unset YANEX_ASYNC_BACKEND=trio for it")
    from yanex._ui import serve

    scope = FilterArgs(project=project, global_scope=global_scope).scope()
    if host in ("0.0.0.0", "::", ""):
        _console.echo(
            f"Warning: --host {host or '0.0.0.0'} makes the UI reachable from other machines; "
            "anyone who can reach it can read and delete your experiments.",
            err=True,
        )
    try:
        sock = serve.bind(host, port)
    except OSError as exc:
        _console.fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")

    def started(url: str) -> None:
        _console.echo("Starting Yanex Web UI...")
        _console.echo(f"Server running at {url}")
        _console.echo("Press Ctrl+C to stop the server", err=False)
        if open_browser:
            import webbrowser

            webbrowser.open(url)

    try:
        await serve.serve(sock, host, scope, started)
    finally:
        sock.close()
    _console.echo("Shutting down Yanex Web UI...")
    _console.echo("Server stopped")
