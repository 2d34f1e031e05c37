"""Where a child's output goes: byte sinks for its artifact files, the terminal, and tails."""

from __future__ import annotations

import collections
import os
from collections.abc import Callable
from pathlib import Path

Sink = Callable[[bytes], None]
CHUNK = 64 * 1024
TAIL_LINES = 20


class Tail:
    """The last few lines of a stream, for error messages (bounded memory)."""

    def __init__(self, lines: int = TAIL_LINES) -> None:
        self._lines: collections.deque[bytes] = collections.deque(maxlen=lines)
        self._partial = b""

    def __call__(self, chunk: bytes) -> None:
        data = self._partial + chunk
        parts = data.split(b"\n")
        self._partial = parts.pop()[-4096:]
        self._lines.extend(p[-4096:] for p in parts)

    def text(self) -> str:
        lines = [*self._lines, self._partial] if self._partial else list(self._lines)
        return b"\n".join(lines).decode(errors="replace").rstrip()


class FileSink:
    """Appends a stream to a file as it arrives (unbuffered, so readers can follow it)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # never through a link a script planted in its artifacts (it could point anywhere)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        self._fd = os.open(path, flags, 0o644)
        self.bytes = 0
        self.lines = 0
        self._ends_nl = True

    def __call__(self, chunk: bytes) -> None:
        view = memoryview(chunk)
        while view:
            view = view[os.write(self._fd, view) :]
        self.bytes += len(chunk)
        self.lines += chunk.count(b"\n")
        self._ends_nl = chunk.endswith(b"\n")

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    @property
    def line_count(self) -> int:
        """Lines as a person counts them: a last line without newline counts too."""
        return self.lines + (0 if self._ends_nl or self.bytes == 0 else 1)


class FdSink:
    """Copies a stream to a file descriptor (the terminal); stops quietly if it goes away.

    A closed pipe (``yanex run ... | head``) must not stop the capture to the artifacts.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def __call__(self, chunk: bytes) -> None:
        if self._fd < 0:
            return
        view = memoryview(chunk)
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError:
            self._fd = -1


class LineSink:
    """Passes whole lines, each behind ``prefix``, to ``write``; partial lines wait.

    Used where several children share a terminal, so their lines do not interleave
    mid-line. The wait buffer is bounded: a line longer than ``max_line`` goes out in
    pieces. Call ``flush()`` when the stream has ended.
    """

    def __init__(self, write: Sink, prefix: bytes = b"", max_line: int = CHUNK) -> None:
        self._write = write
        self._prefix = prefix
        self._max = max_line
        self._partial = b""

    def __call__(self, chunk: bytes) -> None:
        data = self._partial + chunk if self._partial else chunk
        end = data.rfind(b"\n") + 1
        lines, self._partial = data[:end], data[end:]
        if lines:
            if self._prefix:
                lines = b"".join(self._prefix + line for line in lines.splitlines(keepends=True))
            self._write(lines)
        while len(self._partial) >= self._max:
            piece, self._partial = self._partial[: self._max], self._partial[self._max :]
            self._write(self._prefix + piece + b"\n")

    def flush(self) -> None:
        if self._partial:
            self._write(self._prefix + self._partial + b"\n")
            self._partial = b""
