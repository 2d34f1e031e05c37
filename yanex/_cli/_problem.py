"""The "Problem" part of ``yanex show``: why a run failed or was cancelled, its traceback once.

A successful run has no such section (an exit code of 0 is no problem). A failure's first
line is the error; the traceback (the recorded one, else the stderr tail the error message
carries) follows once, indented; ``unshown`` then drops its lines from the stderr tail.
"""

from __future__ import annotations

from typing import Any

INDENT = "    "


def rows(meta: dict[str, Any], status: str) -> tuple[list[tuple[str, Any]], str | None]:
    """(key/value rows, traceback text or None) of the problem; no rows when there is none."""
    if status == "completed":
        return [], None
    message = str(meta.get("error_message") or "").strip()
    first, _, rest = message.partition("\n")
    trace = str(meta.get("error_traceback") or "").strip() or rest.strip() or None
    out: list[tuple[str, Any]] = [
        ("Error", first or None),
        ("Cancellation", meta.get("cancellation_reason") if status == "cancelled" else None),
        ("Exit code", meta.get("exit_code")),
    ]
    if status == "cancelled" and out[0][1] == out[1][1]:
        out[0] = ("Error", None)  # a cancellation's reason is its message too: say it once
    kept = [(k, v) for k, v in out if v is not None]
    return kept, (trace if kept or trace else None)


def traceback_lines(trace: str) -> list[str]:
    """The traceback, indented under the problem's rows."""
    return [f"{INDENT}{line}".rstrip() for line in trace.splitlines()]


def unshown(stderr_tail: str, trace: str | None) -> str:
    """The stderr tail without the lines of the traceback already shown ('' when that is
    all it holds), so the traceback appears once."""
    if not trace:
        return stderr_tail
    shown = {line.strip() for line in trace.splitlines() if line.strip()}
    rest = [line for line in stderr_tail.splitlines() if line.strip() not in shown]
    return "\n".join(rest) if any(line.strip() for line in rest) else ""
