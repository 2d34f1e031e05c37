"""All terminal output of the CLI: error lines, tables, colours, and the CLI's run loop.

Rich is used only when stdout is a terminal (and ``NO_COLOR`` is unset); otherwise output is
plain text that scripts can parse. Every yanex error becomes one line ``Error: ...`` on
stderr with a non-zero exit code, never a traceback. Printing needs no asyncclick (``echo``),
so a command that does not parse its arguments with click (``_fast``) never imports it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    import asyncclick as click

    from yanex.errors import YanexError

EXIT_ERROR = 1
EXIT_USAGE = 2
_verbose: list[bool] = []


def set_verbose() -> None:
    """``yanex --verbose``: ``note()`` prints from now on."""
    _verbose.append(True)


def verbose() -> bool:
    """Whether ``yanex --verbose`` was given."""
    return bool(_verbose)


def note(text: str) -> None:
    """A ``--verbose`` line on stderr (nothing without --verbose)."""
    if _verbose:
        echo(f"[yanex] {text}", err=True)


def is_tty() -> bool:
    return sys.stdout.isatty()


def use_rich() -> bool:
    return is_tty() and "NO_COLOR" not in os.environ


def error(message: str) -> None:
    """One line on stderr."""
    first = str(message).strip().splitlines()[0] if str(message).strip() else "unknown error"
    echo(f"Error: {first}", err=True)


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """Print one error line and exit with ``code``."""
    error(message)
    raise SystemExit(code)


def fail_for(exc: YanexError) -> NoReturn:
    """The error line and exit code of a yanex error: 2 for bad input (ConfigError), else 1."""
    from yanex.errors import ConfigError

    fail(str(exc), EXIT_USAGE if isinstance(exc, ConfigError) else EXIT_ERROR)


def echo(text: str = "", *, err: bool = False, nl: bool = True) -> None:
    """``click.echo(text)``: the text and a newline, flushed. Written here without click when
    click would write it unchanged (no ANSI escape to strip, a UTF-8 stream); else by click."""
    stream = sys.stderr if err else sys.stdout
    if stream is None:
        return  # as click.echo: no stream, nothing written
    encoding = str(getattr(stream, "encoding", "") or "").lower().replace("-", "")
    if "\x1b" in text or encoding != "utf8":
        import asyncclick as click

        click.echo(text, err=err, nl=nl)
        return
    stream.write(text + "\n" if nl else text)
    stream.flush()


def table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], *, title: str | None = None
) -> None:
    """A rich table on a terminal, tab-free aligned plain text otherwise."""
    cells = [["" if c is None else str(c) for c in row] for row in rows]
    if use_rich():
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        tbl = Table(title=title)
        for h in headers:
            tbl.add_column(escape(h))
        for row in cells:
            tbl.add_row(*(escape(c) for c in row))  # user data is text, never markup
        Console().print(tbl)
        return
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    if title:
        echo(title)
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for row in cells:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    echo("\n".join(lines))  # one write: 10,000-row listings stay fast


def _usage_line(exc: click.exceptions.UsageError) -> str:
    """Click's usage error as one line, pointing at the command's --help."""
    message = " ".join(exc.format_message().split())
    path = exc.ctx.command_path if exc.ctx is not None else "yanex"
    return f"{message} (see '{path} --help')"


def run_cli(cli: click.Group, argv: list[str] | None) -> None:
    """Run the CLI (with or without an event loop, see ``_runner``); map errors to one line
    and an exit code."""
    import asyncclick as click

    from yanex.errors import YanexError

    from . import _runner

    _verbose.clear()  # each invocation starts quiet (the CLI may be called in one process twice)
    try:
        _runner.run(cli, sys.argv[1:] if argv is None else argv)
    except click.exceptions.Abort:
        fail("aborted", 130)
    except click.exceptions.NoArgsIsHelpError as exc:  # bare `yanex`: the help, as click does
        exc.show()
        raise SystemExit(EXIT_USAGE) from None
    except click.exceptions.UsageError as exc:
        fail(_usage_line(exc), EXIT_USAGE)
    except click.exceptions.ClickException as exc:
        fail(exc.format_message(), exc.exit_code)
    except click.exceptions.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except YanexError as exc:
        fail_for(exc)
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(EXIT_ERROR) from None
