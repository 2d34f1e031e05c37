"""The cache of ``_fast``: click's help text and its descriptions of commands, in small files
kept only while everything they came from is unchanged.

Each file's first line names what its text was made from (the asyncclick folder and the
``_cli`` modules that were loaded, tab-separated), its second line is the key (``_key``):
yanex's version, those modules (size and mtime of each), the asyncclick files and that
``sys.path`` still finds those, the interpreter, and for the help text the terminal width (up
to click's 80 columns) and ``COLUMNS`` that click's width comes from and the locale variables
gettext reads. The rest is the text. A file whose key differs is not read.

The files live beside the bytecode (``_cli/__pycache__``), or under ``$XDG_CACHE_HOME/yanex``
(``~/.cache/yanex``) when the package folder cannot be written. Imports only ``os`` and
``sys`` (what a bare interpreter has loaded) until it reads a command's description.
"""

# os.path, not pathlib: importing pathlib would cost more than the rest of ``yanex --help``.
# ruff: noqa: PTH100, PTH103, PTH105, PTH108, PTH111, PTH113, PTH116, PTH118, PTH120

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not ``from typing``: see yanex/__init__.py

if TYPE_CHECKING:
    from typing import Any

HELP = "help"  # the cache of the root group's help text; other entries are command names
_LOCALE_VARS = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")
_HERE = os.path.dirname(os.path.abspath(__file__))
_PACKAGE = __name__.rpartition(".")[0]  # yanex._cli


def read(what: str) -> str | None:
    """The cached text for ``what`` (help, or a command's name), if a cache file holds it
    for the present ``_key``. Its first line names what it was made from: the asyncclick
    folder and the ``_cli`` modules that were loaded (tab-separated)."""
    for path in _places(what):
        try:
            with open(path, encoding="utf-8") as fh:
                made_from = fh.readline()[:-1].split("\t")
                key = fh.readline()[:-1]
                text = fh.read()
        except (OSError, UnicodeDecodeError):
            continue
        if made_from[0] and key == _key(made_from[0], made_from[1:], display=what == HELP):
            return text
    return None


def write(what: str, text: str) -> None:
    """Keep ``text`` for ``what``, keyed on the ``_cli`` modules loaded now and asyncclick's
    (click has answered: it is loaded); where no place can be written, nothing is kept."""
    import asyncclick

    clicks = os.path.dirname(os.path.abspath(asyncclick.__file__))
    files = sorted(
        str(m.__file__)
        for name, m in list(sys.modules.items())
        if name.startswith(_PACKAGE) and getattr(m, "__file__", None)
    )
    made_from = [clicks, *files]
    if any("\t" in f or "\n" in f for f in made_from):
        return  # a path the first line could not hold
    key = _key(clicks, files, display=what == HELP)
    content = "\t".join(made_from) + f"\n{key}\n{text}"
    for path in _places(what):
        tmp = f"{path}.{os.getpid()}.tmp"
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(content)
            os.replace(tmp, path)
        except OSError:
            import contextlib  # here: importing it costs --help a tenth of its time

            with contextlib.suppress(OSError):
                os.unlink(tmp)
            continue
        return


def _places(what: str) -> list[str]:
    """Where the cache of ``what`` may be, in the order it is looked for and written."""
    name = f"yanex-cli-{what}.txt"
    cache_home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return [os.path.join(_HERE, "__pycache__", name), os.path.join(cache_home, "yanex", name)]


def _key(clicks: str, files: list[str], *, display: bool) -> str:
    """Everything the cached text depends on, as one line (``repr`` escapes newlines): the
    ``_cli`` modules ``files`` that were loaded when it was made, and asyncclick's, as they
    are now; ``display``: also what click's help formatting depends on."""
    from yanex import __version__

    parts: list[Any] = [
        __version__,
        _HERE,
        sys.version,
        _first_on_path("asyncclick") == clicks,
        [_stat(f) for f in files],
        _sources(clicks),
    ]
    if display:
        parts += [[os.environ.get(v) for v in ("COLUMNS", *_LOCALE_VARS)], _terminal_width()]
    return repr(parts)


def _stat(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


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


def _terminal_width() -> int | None:
    """The width of the terminal on stdout as click's help uses it: click wraps at the
    terminal's width up to its default ``max_width`` of 80 columns (``_root.help_text``
    makes sure no other maximum is set), so wider terminals share one text."""
    try:
        columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return None
    return min(columns, _MAX_WIDTH)


_MAX_WIDTH = 80


def spec(name: str) -> dict[str, Any] | None:
    """The cached description of command ``name`` (``_fast_describe``), if the cache holds a
    sound one."""
    text = read(name)
    if text is None:
        return None
    import json

    try:
        described = json.loads(text)
        targets = [t for part in ("group", "command") for t in _targets(described[part])]
    except (ValueError, TypeError, KeyError):  # not what write wrote: click answers it
        return None
    # Only yanex's own CLI functions are ever called from what a cache file names.
    modules = [t.partition(":")[0] for t in targets]
    own = all(m == _PACKAGE or m.startswith(f"{_PACKAGE}.") for m in modules)
    return described if own else None


def _targets(part: dict[str, Any]) -> list[str]:
    return [str(part["call"]), *(str(w) for w in part["wrappers"])]
