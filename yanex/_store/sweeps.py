"""Sweep records: ``<store>/.sweeps/<id>.json``, one per ``yanex run`` / ``run_multiple`` call.

A sweep id is 8 hex digits like an experiment's, reserved by creating its file exclusively
(so two calls never share one). The record is written once, atomically, before the first
member starts; the experiments themselves carry ``sweep_id`` and ``sweep_index``. The
folder's name starts with a dot, so listings (which look for 8-hex folder names) skip it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import msgspec

from yanex.errors import CorruptFileError

from . import fs, layout
from .schema import JSONDecoder, Sweep, encode_pretty

SWEEPS = ".sweeps"
SWEEP_ID_RE = re.compile(r"^[0-9a-f]{1,8}$")


def sweeps_dir(root: Path | None = None) -> Path:
    return (root or layout.experiments_dir()) / SWEEPS


def new_sweep_id(root: Path | None = None) -> str:
    """A fresh sweep id, reserved by an exclusive create of its (empty) record file."""
    folder = sweeps_dir(root)
    folder.mkdir(parents=True, exist_ok=True)
    for _ in range(100):
        sweep_id = os.urandom(4).hex()  # not `secrets`: its import costs ~5 ms
        try:
            os.close(os.open(folder / f"{sweep_id}.json", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            continue
        return sweep_id
    raise CorruptFileError(f"could not reserve a new sweep id in {folder}")


def write(sweep: Sweep, root: Path | None = None) -> None:
    fs.atomic_write(sweeps_dir(root) / f"{sweep.id}.json", encode_pretty(sweep))


_decoder = JSONDecoder(Sweep)


def read(sweep_id: str, root: Path | None = None) -> Sweep | None:
    """The sweep ``sweep_id`` (a full id); None when there is no such record (or only its
    reservation, left by a call that died before writing it)."""
    if not SWEEP_ID_RE.match(sweep_id):
        return None
    raw = fs.read_bytes(sweeps_dir(root) / f"{sweep_id}.json")
    if not raw:
        return None
    try:
        sweep: Sweep = _decoder.decode(raw)
        return sweep
    except msgspec.DecodeError as exc:
        raise CorruptFileError(f"sweep record {sweep_id} is unreadable: {exc}") from exc


def ids(root: Path | None = None) -> list[str]:
    """Every sweep id with a record file."""
    try:
        names = [path.name for path in sweeps_dir(root).iterdir()]
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(n[:-5] for n in names if n.endswith(".json") and SWEEP_ID_RE.match(n[:-5]))
