"""An experiment's stored record as plain data: its metadata as a dict, and dotted-key lookup."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from yanex._store import store


def as_dict(exp_dir: Path) -> dict[str, Any]:
    """Every field of ``metadata.json`` (unknown ones too), the known ones normalised to the
    current format (as ``store.read_metadata`` reads them)."""
    import msgspec

    raw = store.read_metadata_raw(exp_dir)
    raw.update(msgspec.to_builtins(store.to_metadata(raw, exp_dir)))
    return raw


def dotted(data: Any, path: str) -> tuple[Any, bool]:
    """``(data["a"]["b"], True)`` for ``"a.b"``, ``(None, False)`` when it is not there; a
    key holding the whole dotted path wins over the nested one."""
    if isinstance(data, dict) and path in data:
        return data[path], True
    for part in path.split("."):
        if not isinstance(data, dict) or part not in data:
            return None, False
        data = data[part]
    return data, True
