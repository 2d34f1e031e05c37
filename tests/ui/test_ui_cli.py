"""``yanex ui`` as a command: it prints its URL, serves the store, stops cleanly on Ctrl-C,
binds 127.0.0.1 by default, warns for 0.0.0.0, and says what to install when it cannot run."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request

import pytest

from tests.support import ui as ui_helpers
from tests.support.cli import run_cli
from tests.support.query import assert_error, make

pytest.importorskip("uvicorn", reason="the ui extra is not installed")


def test_serves_the_store_and_stops_on_ctrl_c() -> None:
    """It prints the URL, answers there with the store's experiments, and Ctrl-C stops it
    with exit code 0 and a goodbye."""
    exp = make("served")
    server = ui_helpers.start("--global")
    assert server.url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(f"{server.url}/api/experiments") as res:
        rows = json.loads(res.read())["rows"]
    assert [r["id"] for r in rows] == [exp]
    code, out, err = server.stop()
    assert code == 0, err
    assert server.banner[-1] == "Press Ctrl+C to stop the server"
    assert "Server stopped" in out and "Traceback" not in err


def test_ctrl_c_does_not_wait_for_open_streams() -> None:
    """Ctrl-C stops the server at once even while a page follows a running experiment."""
    import time
    from pathlib import Path

    import yanex

    with yanex.create_experiment(Path("live.py"), name="live"):
        exp = yanex.get_experiment_id()
        server = ui_helpers.start("--global")
        stream = urllib.request.urlopen(f"{server.url}/api/experiments/{exp}/events")
        assert stream.readline().startswith(b"retry:")  # the stream is open
        start = time.monotonic()
        code, out, err = server.stop()
        stream.close()
        assert code == 0 and "Server stopped" in out, err
        assert time.monotonic() - start < 5


def test_binds_loopback_only_by_default() -> None:
    """The default address is 127.0.0.1: the server is not reachable on other addresses."""
    with ui_helpers.running() as server:
        port = int(server.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
        addresses = {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None)}
        outside = [a for a in addresses if not a.startswith("127.") and ":" not in a]
        for address in outside:
            with pytest.raises(OSError):
                socket.create_connection((address, port), timeout=2).close()


def test_wildcard_host_prints_a_warning() -> None:
    """--host 0.0.0.0 works and warns that anyone who reaches it can delete experiments."""
    server = ui_helpers.start("--host", "0.0.0.0")
    code, _out, err = server.stop()
    assert code == 0
    warning = [line for line in err.splitlines() if line.startswith("Warning:")]
    assert len(warning) == 1 and "0.0.0.0" in warning[0] and "delete" in warning[0]


@pytest.mark.parametrize("backend", ["asyncio", "uvloop"])  # trio is refused (below)
def test_port_in_use_is_one_error_line(backend: str) -> None:
    """A port that is taken ends the command with one Error line, no traceback."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        res = run_cli("ui", "--port", str(port), env={"YANEX_ASYNC_BACKEND": backend})
    assert_error(res, 1, "cannot listen", str(port))


def test_missing_extra_says_what_to_install() -> None:
    """Without the web extra the command says, in one line, how to install it."""
    code = (
        "import sys; sys.modules['uvicorn'] = None; sys.argv = ['yanex', 'ui']\n"
        "from yanex._cli import main; main()"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=30, check=False)  # fmt: skip
    assert_error(res, 1, "pip install 'yanex[ui]'")


def test_trio_backend_is_refused_clearly() -> None:
    """The web server runs on asyncio; with the trio backend the command says so."""
    res = run_cli("ui", env={"YANEX_ASYNC_BACKEND": "trio"}, timeout=30)
    assert_error(res, 1, "asyncio")
