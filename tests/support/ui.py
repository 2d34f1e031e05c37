"""Helpers for the web UI tests: a real ``yanex ui`` server process on a free port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class Server:
    def __init__(self, proc: subprocess.Popen[str], url: str, banner: list[str]) -> None:
        self.proc = proc
        self.url = url
        self.banner = banner

    def stop(self) -> tuple[int, str, str]:
        """Ctrl-C, as a person stops it; (exit code, rest of stdout, stderr)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        out, err = self.proc.communicate(timeout=15)
        return self.proc.returncode, out, err


def start(*args: str, cwd: Path | None = None) -> Server:
    """``yanex ui --port 0 ARGS``, once it has printed its URL (``banner``: its lines)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "yanex", "ui", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd or Path.cwd(),
        env=dict(os.environ),
    )
    assert proc.stdout is not None
    banner = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            _, err = proc.communicate(timeout=5)
            raise AssertionError(f"yanex ui exited: {proc.returncode}\n{err}")
        banner.append(line.rstrip("\n"))
        if line.startswith("Press Ctrl+C"):  # the banner's last line: read it all here
            url = next(b for b in banner if b.startswith("Server running at "))
            return Server(proc, url.split(" at ", 1)[1].strip(), banner)
    proc.kill()
    raise AssertionError("yanex ui printed no URL within 30 s")


@contextmanager
def running(*args: str) -> Iterator[Server]:
    server = start(*args)
    try:
        yield server
    finally:
        if server.proc.poll() is None:
            server.stop()
