"""click's parsing of a plain command line, for the parameters ``_fast_describe`` recorded.

It follows click's rules for exactly those parameters (long and short options,
``--opt=value``, clustered short flags, repeated options, ``--``, positional arguments) and
gives the values click would pass the callbacks. Anything it does not know (``--help`` of a
command, ``--version``, an unknown option, a bad number, a missing argument: every error
message and usage text) gives None, and click answers it. It imports nothing.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not ``from typing``: see yanex/__init__.py

if TYPE_CHECKING:
    from typing import Any


def parsed(
    name: str, spec: dict[str, Any], args: list[str]
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The keyword arguments of the root group's callback and of command ``name``'s (which
    ``spec`` describes); None when click must parse ``args``."""
    group = parse(spec["group"], args)
    if group is None or not group[1] or group[1][0] != name:
        return None
    command = parse(spec["command"], group[1][1:])
    if command is None or command[1]:
        return None
    return group[0], command[0]


def parse(spec: dict[str, Any], args: list[str]) -> tuple[dict[str, Any], list[str]] | None:
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
