"""How values are written as text: exactly where text can be copied, shortened only on screen.

``exact`` is the shortest text that reads back to the same value (``repr`` of a float, so
``0.123456789`` stays whole and NaN/infinities read ``nan``/``inf``/``-inf``); CSV, markdown,
``-F sweep``, ``yanex get`` and exports use it. ``short`` is for terminal tables: a float
longer than a few significant digits is rounded there, and the cell ends with an ellipsis
so the rounding is visible. ``param_text`` writes a value as ``--param KEY=TEXT`` so that
``yanex run`` parses it back to the same value and type.
"""

from __future__ import annotations

import json
import math
from typing import Any

ELLIPSIS = "…"
SHORT_DIGITS = 6


def exact(value: Any) -> str:
    """The value as text that reads back exactly: '' for None, 'a, b' for lists, JSON for
    dicts, ``repr`` for floats."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(exact(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def short(value: Any) -> str:
    """The value for a terminal table: long floats rounded, with an ellipsis saying so."""
    if isinstance(value, float) and not isinstance(value, bool):
        full = repr(value)
        rounded = f"{value:.{SHORT_DIGITS}g}"
        if rounded != full and float(rounded) != value:
            return rounded + ELLIPSIS
        return full
    if isinstance(value, (list, tuple)):
        return ", ".join(short(v) for v in value)
    return exact(value)


def param_text(value: Any) -> str:
    """``value`` as the text of ``--param KEY=TEXT`` that parses back to the same value."""
    from .sweeps import parse_value

    if isinstance(value, str):
        try:
            back = parse_value(value)
        except Exception:  # noqa: BLE001  malformed sweep syntax and the like: quote it
            back = None
        if isinstance(back, str) and back == value and value.isprintable():
            return value  # plain text reads back as itself; anything else goes JSON-quoted
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float):
        return repr(value)
    if value is None or isinstance(value, (bool, int)):
        return exact(value) if value is not None else "null"
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)


def same(a: Any, b: Any) -> bool:
    """Equal in value and type, NaN equal to NaN (a round trip's test)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)
