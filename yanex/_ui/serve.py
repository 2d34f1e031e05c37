"""Serving the web UI with uvicorn on the CLI's event loop, until Ctrl-C.

The socket is bound here, before uvicorn starts, so a port already in use is one clear
error (uvicorn would log and exit), and port 0 picks a free port that is then printed.
uvicorn's own signal capture re-raises SIGINT once it has shut down; ours only asks the
server to stop, so Ctrl-C ends ``yanex ui`` cleanly with exit status 0. Live streams of
running experiments never end by themselves, so shutdown gives open requests one second
before it closes them.
"""

from __future__ import annotations

import contextlib
import signal
import socket
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn

from .app import create_app


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, ready: Callable[[], None]) -> None:
        super().__init__(config)
        self.ready = ready

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        def stop(_sig: int, _frame: Any) -> None:
            self.should_exit = True

        old = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        self.ready()  # announced only now: a Ctrl-C from here on stops the server cleanly
        try:
            yield
        finally:
            for sig, handler in old.items():
                signal.signal(sig, handler)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``; OSError when that address cannot be used."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _name, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def url_of(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    shown = f"[{shown}]" if ":" in shown else shown
    return f"http://{shown}:{port}"


async def serve(
    sock: socket.socket, host: str, project: str | None, started: Callable[[str], None]
) -> None:
    """Serve on ``sock`` until SIGINT or SIGTERM; ``started(url)`` once it listens."""
    port = sock.getsockname()[1]
    app = create_app(host=host, port=port, project=project)
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=1
    )
    server = _Server(config, lambda: started(url_of(host, port)))
    await server.serve(sockets=[sock])
