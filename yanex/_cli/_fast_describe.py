"""How click describes a command, kept for ``_fast`` to parse and run it without click.

``describe`` runs after click has answered (asyncclick is loaded). For the root group and
one command it records each parameter as ``_fast_parse`` reads it (kind, name, option
strings, type, the value it takes when absent) and where the callback and its wrappers are
(``module:name``); anything beyond that parser (a callback on an option, an environment
variable, a prompt, a type other than text, integers and flags, a command that runs in an
event loop or whose callback is in its click module) gives None, and click keeps answering
that command.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any  # click has loaded typing already

if TYPE_CHECKING:
    import asyncclick as click


def describe(name: str) -> dict[str, Any] | None:
    """What running command ``name`` takes, as click describes the root group and it (click
    is loaded: this runs after click has answered); None when ``_fast`` could not run it."""
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
    """One command's parameters and callback; None when any of it is beyond ``_fast_parse``.
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
    """One parameter as ``_fast_parse`` takes it; None when it is beyond it."""
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
    """``argument``, ``option`` or ``flag``: a parameter ``_fast_parse`` reads as click does; None
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
    IntRange, whose checks ``_fast_parse`` does not make)."""
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
