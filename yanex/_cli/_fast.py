"""``yanex --help`` (and ``-h``, and bare ``yanex``) answered without importing asyncclick.

Importing asyncclick, and the ``typing`` it needs, takes about twice as long as starting the
interpreter, which alone would put ``yanex --help`` past three times ``import yanex``. So the
text click printed is kept in a small cache file and printed from there. Nothing is written
by hand: the text is click's own (``_root.help_text()``), stored after click has answered
once (``remember``), and used again only while everything it came from is unchanged (see
``_key``): yanex's version, the ``_cli`` sources (size and mtime), the asyncclick files and
that ``sys.path`` still finds those, the interpreter, the terminal size and ``COLUMNS`` that
click's width comes from, and the locale variables gettext reads. Any other argument, or a
cache that cannot be read, goes to click.

The cache lives beside the bytecode (``_cli/__pycache__``), or under ``$XDG_CACHE_HOME/yanex``
(``~/.cache/yanex``) when the package folder cannot be written. This module imports only
``os`` and ``sys``: what a bare interpreter has already loaded.
"""

# os.path, not pathlib: importing pathlib would cost more than the rest of ``yanex --help``.
# ruff: noqa: PTH100, PTH103, PTH105, PTH108, PTH111, PTH113, PTH118, PTH120

from __future__ import annotations

import contextlib
import os
import sys

# argv -> (stream, exit code) of the answers kept: the root group's help, which click prints
# on stdout for --help/-h and on stderr with exit code 2 when no command is given.
ANSWERS: dict[tuple[str, ...], tuple[str, int]] = {
    ("--help",): ("stdout", 0),
    ("-h",): ("stdout", 0),
    (): ("stderr", 2),
}
_NAME = "yanex-cli-help.txt"
_LOCALE_VARS = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")
_HERE = os.path.dirname(os.path.abspath(__file__))


def answer(args: list[str]) -> bool:
    """Print the cached answer to ``args`` and return True; False when click must answer."""
    kept = ANSWERS.get(tuple(args))
    if kept is None:
        return False
    text = _read()
    stream = getattr(sys, kept[0])
    if text is None or stream is None or not _printable(text, stream):
        return False
    try:
        stream.write(text + "\n")  # what click.echo writes for plain text
        stream.flush()
    except BrokenPipeError:  # as _console.run_cli ends a command whose reader has gone
        os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
        raise SystemExit(1) from None
    if kept[1]:
        raise SystemExit(kept[1])
    return True


def remember(args: list[str]) -> None:
    """After click has answered ``args``: keep its text when it is a cacheable answer and the
    cache does not hold it yet. A cache that cannot be written is left alone."""
    if tuple(args) not in ANSWERS or _read() is not None:
        return
    import asyncclick

    from ._root import help_text

    clicks = os.path.dirname(os.path.abspath(asyncclick.__file__))
    content = f"{clicks}\n{_key(clicks)}\n{help_text()}"
    for path in _places():
        tmp = f"{path}.{os.getpid()}.tmp"
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(content)
            os.replace(tmp, path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            continue
        return


def _read() -> str | None:
    """The cached help text, if a cache file holds it for the present ``_key``."""
    for path in _places():
        try:
            with open(path, encoding="utf-8") as fh:
                clicks = fh.readline()[:-1]
                key = fh.readline()[:-1]
                text = fh.read()
        except (OSError, UnicodeDecodeError):
            continue
        if clicks and key == _key(clicks):
            return text
    return None


def _places() -> list[str]:
    """Where the cache may be, in the order it is looked for and written."""
    cache_home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return [os.path.join(_HERE, "__pycache__", _NAME), os.path.join(cache_home, "yanex", _NAME)]


def _key(clicks: str) -> str:
    """Everything click's help text depends on, as one line (``repr`` escapes newlines)."""
    from yanex import __version__

    return repr(
        (
            __version__,
            _HERE,
            sys.version,
            _first_on_path("asyncclick") == clicks,
            _sources(_HERE),
            _sources(clicks),
            [os.environ.get(v) for v in ("COLUMNS", "LINES", *_LOCALE_VARS)],
            _terminal(),
        )
    )


def _first_on_path(package: str) -> str | None:
    """The folder ``import package`` finds on ``sys.path`` (a plain package folder)."""
    for entry in sys.path:
        folder = os.path.join(entry or ".", package)
        if os.path.isfile(os.path.join(folder, "__init__.py")):
            return os.path.abspath(folder)
    return None


def _sources(folder: str) -> list[tuple[str, int, int]] | None:
    """(name, mtime, size) of each ``.py`` file in ``folder``; None when it is gone."""
    try:
        with os.scandir(folder) as entries:
            found = [(e.name, e.stat()) for e in entries if e.name.endswith(".py")]
    except OSError:
        return None
    return sorted((name, st.st_mtime_ns, st.st_size) for name, st in found)


def _terminal() -> tuple[int, int] | None:
    """The size of the terminal on stdout (what click's width comes from), if it is one."""
    try:
        size = os.get_terminal_size(sys.__stdout__.fileno())  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return None
    return (size.columns, size.lines)


def _printable(text: str, stream: object) -> bool:
    """True when writing ``text`` to ``stream`` gives what click.echo gives: no ANSI escape to
    strip, and a stream that takes it as it is."""
    if "\x1b" in text:
        return False
    encoding = str(getattr(stream, "encoding", "") or "").lower().replace("-", "")
    return text.isascii() or encoding == "utf8"
