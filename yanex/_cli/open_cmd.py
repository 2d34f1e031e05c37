"""``yanex open``: an experiment's folder in the system's file manager (or its path printed).

Without a graphical session (no ``DISPLAY``/``WAYLAND_DISPLAY`` on Linux) or without an
opener command, the folder's path is printed instead, so ``cd $(yanex open ID)`` works on
a server. On Linux the opener runs in its own session (``setsid -f``) so the file manager
outlives the supervised launcher.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import asyncclick as click

from . import _console
from ._filters import FilterArgs, filter_options, latest, pick, usage_error


def _opener() -> list[str] | None:
    if sys.platform == "darwin":
        return ["open"] if shutil.which("open") else None
    if sys.platform.startswith("linux") or "bsd" in sys.platform:
        gui = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
        if not gui or not shutil.which("xdg-open"):
            return None
        return ["setsid", "-f", "xdg-open"] if shutil.which("setsid") else ["xdg-open"]
    return None


async def _open(path: Path) -> bool:
    if sys.platform == "win32":  # pragma: no cover - not a platform we test on
        os.startfile(path)  # type: ignore[attr-defined]
        return True
    argv = _opener()
    if argv is None:
        return False
    from yanex import _supervise

    launch = _supervise.Caller.now().launch([*argv, str(path)])
    outcome = await _supervise.supervise(launch, timeout=15)
    return outcome.returncode == 0


@click.command("open", short_help="Open an experiment's folder.")
@click.argument("experiments", nargs=-1)
@filter_options()
@click.option("--latest", "use_latest", is_flag=True, help="The newest matching experiment.")
async def command(*, experiments: tuple[str, ...], filters: FilterArgs, use_latest: bool) -> None:
    """Open experiments' folders (by id, prefix or name, or --latest with filters)."""
    if experiments and use_latest:
        usage_error("give experiment ids or --latest, not both")
    if not experiments and not use_latest:
        usage_error("give an experiment id, id prefix or name, or --latest")
    records = [pick(e, archived=None) for e in experiments] if experiments else [latest(filters)]
    for rec in records:
        if not await _open(rec.dir):
            _console.echo("Warning: could not open a file manager; the folder is:", err=True)
            _console.echo(str(rec.dir))
