"""Answers that need no asyncclick: ``yanex --help``, and commands parsed from their cached
click declarations (``yanex list``, ``yanex get``).

Importing asyncclick, and the ``typing`` it needs, takes about twice as long as starting the
interpreter: more than ``yanex --help`` may take, and a large part of ``yanex get status
ID``. Nothing here is written by hand a second time; what click would do is taken from click
once, kept in a small cache file, and used again only while everything it came from is
unchanged (see ``_key``): yanex's version, the ``_cli`` modules that were loaded when it
was made (size and mtime of each), the asyncclick files and that ``sys.path`` still finds
those, the interpreter, and for the help text the terminal width (up to click's 80 columns) and
``COLUMNS`` that click's width comes from and the locale variables gettext reads.

- ``yanex --help``, ``-h`` and bare ``yanex``: the text click printed (``_root.help_text``).
- A command whose callback lives in a module without click (``_list.run``, ``_get.run``;
  its click declarations are put on it with ``decorated``): the description of its
  parameters as click made them (names, option strings, types, the value each takes when
  absent). A small parser follows click's rules for exactly those (long and short options,
  ``--opt=value``, clustered short flags, repeated options, ``--``, positional arguments)
  and calls the callback with the values click would pass. Anything it does not know
  (``--help`` of a command, ``--version``, an unknown option, a bad number, a missing
  argument: every error message and usage text) goes to click, which then answers it.

The cache lives beside the bytecode (``_cli/__pycache__``), or under ``$XDG_CACHE_HOME/yanex``
(``~/.cache/yanex``) when the package folder cannot be written. It is written after click has
answered once (``remember``). This module imports only ``os`` and ``sys`` (what a bare
interpreter has loaded) until it runs a command.
"""

# os.path, not pathlib: importing pathlib would cost more than the rest of ``yanex --help``.
# ruff: noqa: PTH100, PTH103, PTH105, PTH108, PTH111, PTH113, PTH116, PTH118, PTH120

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not ``from typing``: see yanex/__init__.py

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    import asyncclick as click

# argv -> (stream, exit code) of the answers kept: the root group's help, which click prints
# on stdout for --help/-h and on stderr with exit code 2 when no command is given.
ANSWERS: dict[tuple[str, ...], tuple[str, int]] = {
    ("--help",): ("stdout", 0),
    ("-h",): ("stdout", 0),
    (): ("stderr", 2),
}
_HELP = "help"
_LOCALE_VARS = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")
_HERE = os.path.dirname(os.path.abspath(__file__))
_PACKAGE = __name__.rpartition(".")[0]  # yanex._cli


def answer(args: list[str]) -> bool:
    """Answer ``args`` as click would, without click, and return True; False when click must
    answer (nothing has been done then)."""
    kept = ANSWERS.get(tuple(args))
    if kept is not None:
        return _help(*kept)
    name = _command_name(args)
    if name is None or os.environ.get("_YANEX_COMPLETE") or os.name == "nt":
        return False  # shell completion, Windows wildcard expansion: click's
    spec = _spec(name)
    return spec is not None and _run(name, spec, args)


def remember(args: list[str]) -> None:
    """After click has answered ``args``: keep what it would take to answer them without
    click next time, unless the cache holds it already. A cache that cannot be written is
    left alone."""
    if tuple(args) in ANSWERS:
        from ._root import help_text

        text = help_text() if _read(_HELP) is None else None
        if text is not None:
            _write(_HELP, text)
        return
    name = _command_name(args)
    if name is None or _read(name) == "null" or _spec(name) is not None:
        return  # kept already (null: a command _fast does not run, such as show)
    import json

    _write(name, json.dumps(_describe(name)))


def decorated(fn: Callable[..., Any], *decorators: Callable[[Any], Any]) -> Any:
    """``fn`` with ``decorators`` applied as an ``@`` stack written in this order would apply
    them (the last first): how a command's click declarations are put on a callback that
    lives in a module without click, which ``answer`` can then run without click."""
    for decorator in reversed(decorators):
        fn = decorator(fn)
    return fn


# --- yanex --help --------------------------------------------------------------------------


def _help(stream_name: str, code: int) -> bool:
    text = _read(_HELP)
    stream = getattr(sys, stream_name)
    if text is None or stream is None or not _printable(text, stream):
        return False
    try:
        stream.write(text + "\n")  # what click.echo writes for plain text
        stream.flush()
    except BrokenPipeError:  # as _console.run_cli ends a command whose reader has gone
        os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
        raise SystemExit(1) from None
    if code:
        raise SystemExit(code)
    return True


def _printable(text: str, stream: object) -> bool:
    """True when writing ``text`` to ``stream`` gives what click.echo gives: no ANSI escape to
    strip, and a stream that takes it as it is."""
    if "\x1b" in text:
        return False
    encoding = str(getattr(stream, "encoding", "") or "").lower().replace("-", "")
    return text.isascii() or encoding == "utf8"


# --- commands: described by click once, then parsed and run without it ----------------------


def _command_name(args: list[str]) -> str | None:
    """The command ``args`` name after the root group's flags, if it is one of ours."""
    from . import COMMANDS

    name = next((a for a in args if not a.startswith("-")), None)
    return name if name in COMMANDS else None


def _spec(name: str) -> dict[str, Any] | None:
    """The cached description of command ``name``, if the cache holds a sound one."""
    text = _read(name)
    if text is None:
        return None
    import json

    try:
        spec = json.loads(text)
        targets = [t for part in ("group", "command") for t in _targets(spec[part])]
    except (ValueError, TypeError, KeyError):  # not what _write wrote: click answers it
        return None
    # Only yanex's own CLI functions are ever called from what a cache file names.
    modules = [t.partition(":")[0] for t in targets]
    own = all(m == _PACKAGE or m.startswith(f"{_PACKAGE}.") for m in modules)
    return spec if own else None


def _targets(part: dict[str, Any]) -> list[str]:
    return [str(part["call"]), *(str(w) for w in part["wrappers"])]


def _describe(name: str) -> dict[str, Any] | None:
    """What running command ``name`` takes, as click describes the root group and it (click
    is loaded: this runs after click has answered); None when ``_run`` could not run it."""
    from . import _root, _runner

    if name in _runner.LOOP_COMMANDS:
        return None  # it runs in an event loop: _runner's business
    cli = _root.cli
    ctx = cli.context_class(cli, info_name="yanex", **cli.context_settings)
    command = cli.get_command(ctx, name)
    if command is None:
        return None
    group = _described(cli, ctx, group=True)
    own = _described(command, ctx._make_sub_context(command), group=False)
    if group is None or own is None:
        return None
    return {"group": group, "command": own}


def _described(command: click.Command, ctx: click.Context, *, group: bool) -> dict[str, Any] | None:
    """One command's parameters and callback; None when any of it is beyond ``_parse``.
    ``group``: the root group, whose options end at its command (click's settings for a
    group: no interspersed arguments, extra ones allowed: the command's)."""
    import asyncclick as click

    from ._runner import drive

    settings = {k: v for k, v in command.context_settings.items() if k != "help_option_names"}
    if (
        settings
        or ctx.auto_envvar_prefix is not None
        or ctx.token_normalize_func is not None
        or ctx.ignore_unknown_options
        or ctx.allow_extra_args != group
        or ctx.allow_interspersed_args == group
        or getattr(command, "deprecated", False)
        or command.callback is None
    ):
        return None
    # The value of each parameter when it is not given: what click's own parsing of no
    # arguments gives (resilient: a missing required argument is no error here).
    absent = drive(
        command.make_context(command.name, [], parent=ctx.parent, resilient_parsing=True)
    )
    params = []
    for param in command.params:
        described = _param(param, absent.params, click)
        if described is None:
            return None
        params.append(described)
    call = _callback(command.callback)
    if call is None:
        return None
    return {"params": params, "interspersed": not group, **call}


def _param(param: click.Parameter, absent: dict[str, Any], click: Any) -> dict[str, Any] | None:
    """One parameter as ``_parse`` takes it; None when it is beyond it."""
    opts = [*param.opts, *param.secondary_opts]
    if (
        isinstance(param, click.Option)
        and param.is_eager
        and not param.expose_value
        and getattr(param.callback, "__module__", None) == "asyncclick.decorators"
    ):
        return {"kind": "click", "opts": opts}  # --version: click answers it when given
    kind = _kind(param, click)
    if kind is None or not param.name or param.name not in absent:
        return None
    value = absent[param.name]
    described = {"kind": kind, "name": param.name, "opts": opts, "absent": value}
    if kind == "argument":
        described["required"] = param.required
    if kind in ("argument", "option"):
        described["type"] = _type_name(param, click)
    if kind == "option":
        described["multiple"] = param.multiple
        described["absent"] = list(value) if param.multiple else value
    return described


def _kind(param: click.Parameter, click: Any) -> str | None:
    """``argument``, ``option`` or ``flag``: a parameter ``_parse`` reads as click does; None
    for anything else (a callback, an environment variable, a prompt, a count, a type other
    than text and integers, ...)."""
    simple = (
        param.envvar is None
        and param.callback is None
        and param.expose_value
        and not param.is_eager
        and param.nargs == 1
        and not callable(param.default)
        and not getattr(param, "deprecated", False)
    )
    value_type = _type_name(param, click)
    if simple and isinstance(param, click.Argument) and value_type in ("text", "integer"):
        return "argument"
    if not simple or not isinstance(param, click.Option):
        return None
    if param.secondary_opts or param.prompt is not None or param.count or param.required:
        return None
    if param._flag_needs_value:
        return None
    if not param.is_flag:
        return "option" if value_type in ("text", "integer") else None
    plain = param.is_bool_flag and param.flag_value is True and value_type == "boolean"
    return "flag" if plain and not param.multiple else None


def _type_name(param: click.Parameter, click: Any) -> str | None:
    """``text``, ``integer`` or ``boolean`` for click's plain types (not a subclass such as
    IntRange, whose checks ``_converted`` does not make)."""
    types = click.types
    names = {types.StringParamType: "text", types.IntParamType: "integer"}
    names[types.BoolParamType] = "boolean"
    return names.get(type(param.type))


def _callback(fn: Callable[..., Any]) -> dict[str, Any] | None:
    """Where the callback is, as ``module:name`` of the plain function and of the wrappers
    (``__yanex_wrapper__``: such as ``_filters.with_filter_args``) around it; None when it
    is not a module-level function of a module other than its command's declaration."""
    import importlib

    wrappers = []
    while hasattr(fn, "__yanex_wrapper__"):
        wrappers.append(fn.__yanex_wrapper__)
        fn = fn.__wrapped__  # type: ignore[attr-defined]
    module, name = fn.__module__, fn.__qualname__
    if getattr(importlib.import_module(module), name, None) is not fn:
        return None
    return {"call": f"{module}:{name}", "wrappers": wrappers}


def _resolve(target: str) -> Any:
    import importlib

    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


def _parse(spec: dict[str, Any], args: list[str]) -> tuple[dict[str, Any], list[str]] | None:
    """click's parsing of ``args`` for one command (or, not interspersed, for the group up
    to its command): (keyword arguments of its callback, the arguments left); None for
    anything but a plain, valid command line, which click is left to answer."""
    scanned = _scan(spec, args)
    if scanned is None:
        return None
    given, positional, rest = scanned
    kwargs = _values(spec["params"], given, positional)
    return None if kwargs is None else (kwargs, rest)


def _scan(
    spec: dict[str, Any], args: list[str]
) -> tuple[dict[str, Any], list[str], list[str]] | None:
    """(options given, positional arguments, the arguments after the group's command), as
    click's parser reads ``args``; None when click must read them."""
    by_opt = {opt: p for p in spec["params"] if p["kind"] != "argument" for opt in p["opts"]}
    given: dict[str, Any] = {}
    positional: list[str] = []
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if arg == "--" and spec["interspersed"]:
            return given, positional + rest, []
        if arg[:1] == "-" and len(arg) > 1:
            if not _option(arg, rest, by_opt, given):
                return None
        elif spec["interspersed"]:
            positional.append(arg)
        else:
            return given, positional, [arg, *rest]
    return given, positional, rest


def _values(
    params: list[dict[str, Any]], given: dict[str, Any], positional: list[str]
) -> dict[str, Any] | None:
    """The callback's keyword arguments: each parameter's value as click converts it, or its
    value when absent; None when click would refuse them."""
    if len(positional) > sum(p["kind"] == "argument" for p in params):
        return None  # "unexpected extra argument": click says so
    kwargs: dict[str, Any] = {}
    for p in params:
        if p["kind"] == "click":
            if p["opts"][0] in given:
                return None  # --version: click answers it
            continue
        value: Any = given.get(p["name"], _missing)
        if p["kind"] == "argument":
            value = positional.pop(0) if positional else _missing
            if value is _missing and p["required"]:
                return None
        if value is _missing:
            value = tuple(p["absent"]) if p.get("multiple") else p["absent"]
        elif p["kind"] != "flag":
            value = _converted(p, value)
            if value is _missing:
                return None
        kwargs[p["name"]] = value
    return kwargs


_missing = object()


def _option(arg: str, rest: list[str], by_opt: dict[str, Any], given: dict[str, Any]) -> bool:
    """Take option ``arg`` (and its value from ``rest``) into ``given`` as click's parser
    would; False when click must answer (unknown option, missing value, odd spelling)."""
    name, eq, value = arg.partition("=")
    if name in by_opt and (name.startswith("--") or len(name) != 2):
        return _store(by_opt[name], name, value if eq else None, rest, given)
    if arg.startswith("--") or eq:
        return False  # unknown long option, or "-x=..." (click reads "=..." as the value)
    for i, ch in enumerate(arg[1:], start=2):
        p = by_opt.get("-" + ch)
        if p is None:
            return False
        if p["kind"] != "flag" and p["kind"] != "click":
            return _store(p, "-" + ch, arg[i:] or None, rest, given)
        if not _store(p, "-" + ch, None, rest, given):
            return False
    return True


def _store(
    p: dict[str, Any], opt: str, attached: str | None, rest: list[str], given: dict[str, Any]
) -> bool:
    if p["kind"] == "click":
        given[p["opts"][0]] = True
        return True
    if p["kind"] == "flag":
        if attached is not None:
            return False  # "does not take a value"
        given[p["name"]] = True
        return True
    if attached is None:
        if not rest or (rest[0][:1] == "-" and len(rest[0]) > 1):
            return False  # no value, or one that looks like an option: click decides
        attached = rest.pop(0)
    if p["multiple"]:
        given.setdefault(p["name"], []).append(attached)
    else:
        given[p["name"]] = attached
    return True


def _converted(p: dict[str, Any], value: Any) -> Any:
    """The value click's type gives (``int()`` for INT, the text for STRING); ``_missing``
    when click would refuse it."""
    values = value if p.get("multiple") else [value]
    if p["type"] == "integer":
        try:
            values = [int(v) for v in values]
        except ValueError:
            return _missing
    return tuple(values) if p.get("multiple") else values[0]


def _run(name: str, spec: dict[str, Any], args: list[str]) -> bool:
    """Run the command ``args`` name from its ``spec``, as click's main and
    ``_console.run_cli`` would; False, having done nothing, when click must parse them."""
    parsed = _parsed(name, spec, args)
    if parsed is None:
        return False
    from . import _console

    _console._verbose.clear()  # each invocation starts quiet, as in run_cli
    try:
        _call(spec["group"], parsed[0])
        _call(spec["command"], parsed[1])
    except BaseException as exc:  # noqa: BLE001 (mapped as click and run_cli map it, or re-raised)
        _ended(exc)
    return True


def _parsed(
    name: str, spec: dict[str, Any], args: list[str]
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The keyword arguments of the root group's callback and of command ``name``'s (which
    ``spec`` describes); None when click must parse ``args``."""
    group = _parse(spec["group"], args)
    if group is None or not group[1] or group[1][0] != name:
        return None
    command = _parse(spec["command"], group[1][1:])
    if command is None or command[1]:
        return None
    return group[0], command[0]


def _call(spec: dict[str, Any], kwargs: dict[str, Any]) -> None:
    import types

    fn = _resolve(spec["call"])
    for wrapper in reversed(spec["wrappers"]):
        fn = _resolve(wrapper)(fn)
    result = fn(**kwargs)
    if isinstance(result, types.CoroutineType):
        from ._runner import drive

        drive(result)


def _ended(exc: BaseException) -> None:
    """How click's main and ``_console.run_cli`` end a loop-free command on ``exc``."""
    import errno

    from yanex.errors import YanexError

    from . import _console

    if isinstance(exc, (KeyboardInterrupt, EOFError)):  # click: a newline, then Abort
        _console.echo(err=True)
        _console.fail("aborted", 130)
    if isinstance(exc, OSError) and exc.errno == errno.EPIPE:  # click: quietly, exit 1
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(1) from None
    if isinstance(exc, YanexError):
        _console.fail_for(exc)
    raise exc


# --- the cache -------------------------------------------------------------------------------


def _read(what: str) -> str | None:
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
        if made_from[0] and key == _key(made_from[0], made_from[1:], display=what == _HELP):
            return text
    return None


def _write(what: str, text: str) -> None:
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
    key = _key(clicks, files, display=what == _HELP)
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
