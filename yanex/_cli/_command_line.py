"""The ``yanex run`` call that made an experiment: ``yanex get cli-command`` (as it was typed)
and ``run-command`` (with every value resolved, so that it runs this very experiment again).

Loaded only for those two fields.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

from yanex._core import metadata

if TYPE_CHECKING:
    from ._fields import Source


def command_line(src: Source, *, resolved: bool) -> tuple[str | None, bool]:
    """The ``yanex run`` call that made the experiment, as typed or with values resolved.

    Resolved, each ``--param`` carries the experiment's value written so that ``yanex run``
    parses it back to the same value and type (``"007"`` stays a string); the script's own
    arguments follow ``--``, so none of them is taken for a yanex option.
    """
    cli = src.meta.get("cli_args") or {}
    script = cli.get("script")
    if not script:
        return None, False
    parts = ["yanex", "run", str(script)]
    if cli.get("clone_from"):
        parts += ["--clone-from", str(cli["clone_from"])]
    for cfg in cli.get("config") or []:
        parts += ["-c", str(cfg)]
    deps = [f"{s}={i}" for s, i in src.slots.items()] if resolved else cli.get("depends_on") or []
    for dep in deps:
        parts += ["-D", str(dep)]
    parts += _param_args(src, cli.get("param") or [], resolved=resolved)
    if resolved:
        parts += _pinned_params(src, cli.get("config") or [], cli.get("param") or [])
    name = src.meta.get("name") if resolved else cli.get("name")
    if name:
        parts += ["-n", str(name)]
    if cli.get("description"):
        parts += ["-d", str(cli["description"])]
    for tag in src.rec.tags if resolved else cli.get("tag") or []:
        parts += ["-t", str(tag)]
    if cli.get("project"):
        parts += ["--project", str(cli["project"])]
    parts += _launcher_args(cli)
    if not resolved and cli.get("stage"):
        parts.append("--stage")
    if not resolved and cli.get("parallel") is not None:
        parts += ["-j", str(cli["parallel"])]
    script_args = [str(a) for a in src.meta.get("script_args") or []]
    if script_args:
        parts += ["--", *script_args]
    return shlex.join(parts), True


def _launcher_args(cli: dict[str, Any]) -> list[str]:
    """``--launcher NAME`` and each ``--launcher-opt`` as given (Slurm runs)."""
    out = ["--launcher", str(cli["launcher"])] if cli.get("launcher") else []
    for opt in cli.get("launcher_opt") or []:
        out += ["--launcher-opt", str(opt)]
    return out


def _pinned_params(src: Source, files: list[Any], given: list[Any]) -> list[str]:
    """``-p`` for each parameter set by a ``YANEX_PARAM_*`` variable or swept in a config
    file (as it reads now; ./config.yaml when no -c was given), so the command runs this
    very point, without the variables and not the whole sweep."""
    from yanex._core import params, sweeps, values
    from yanex.errors import YanexError

    paths = [Path(str(f)) for f in files] or [Path(params.DEFAULT_CONFIG)]
    typed = {str(p).split("=", 1)[0].strip() for p in given}
    out: list[str] = []
    keys = [str(k) for k in src.meta.get("cli_args", {}).get("env_param") or []]
    for path in paths:
        try:
            swept = sweeps.sweep_paths(params.load_file(path)) if path.is_file() else []
        except YanexError:
            continue
        keys += [key for key, _sweep in swept]
    for key in keys:
        current, found = metadata.dotted(src.params, key)
        if found and key not in typed:
            typed.add(key)
            out += ["-p", f"{key}={values.param_text(current)}"]
    return out


def _param_args(src: Source, given: list[Any], *, resolved: bool) -> list[str]:
    from yanex._core import values

    out: list[str] = []
    for param in given:
        key = str(param).split("=", 1)[0].strip()
        current, found = metadata.dotted(src.params, key)
        text = f"{key}={values.param_text(current)}" if resolved and found else str(param)
        out += ["-p", text]
    return out
