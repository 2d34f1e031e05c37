"""THE on-disk format: one msgspec Struct per stored file, and the encoders reused for them.

Compatibility rules: every field has a default so older files decode; nothing is renamed or
retyped without a step in ``migrate.py``; unknown fields are tolerated on read and preserved
on rewrite (metadata is updated as a dict merge, see ``store.py``). ``FORMAT_VERSION`` is
written into every metadata.json.
"""

from __future__ import annotations

from typing import Any

import msgspec

FORMAT_VERSION = 1


class Metadata(msgspec.Struct, kw_only=True):
    """``metadata.json``: who, what, when and where of one experiment."""

    id: str
    name: str | None = None
    project: str | None = None
    status: str = "created"
    created_at: str | None = None
    started_at: str | None = None
    completed_at: str | None = None  # end time of any terminal status, as in yanex 0.6
    duration: float | None = None
    script_path: str | None = None
    script_args: list[str] = []
    tags: list[str] = []
    description: str | None = None
    git_commit: str | None = None
    git_branch: str | None = None
    has_uncommitted_changes: bool = False
    patch_file: str | None = None
    python_version: str | None = None
    platform: str | None = None
    error_message: str | None = None
    error_traceback: str | None = None
    cancellation_reason: str | None = None
    exit_code: int | None = None
    depends_on: list[str] = []
    cli_args: dict[str, Any] = {}
    pid: int | None = None
    host: str | None = None
    heartbeat_at: str | None = None
    git: dict[str, Any] | None = None  # yanex 0.6 nests git facts here; kept for its readers
    environment: dict[str, Any] | None = None
    format_version: int = FORMAT_VERSION


class MetricsLogEntry(msgspec.Struct, array_like=True):
    """One line of ``metrics.log.jsonl``: ``[step, unix_time, data]``, one per log_metrics call."""

    step: int
    time: float
    data: dict[str, Any]


class ScriptRun(msgspec.Struct, kw_only=True):
    """One entry of ``script_runs.json``: a call of execute_bash_script."""

    command: str
    exit_code: int | None
    execution_time: float
    stdout_lines: int = 0
    stderr_lines: int = 0
    working_directory: str = ""
    timestamp: str = ""
    recorded_at: str = ""
    timed_out: bool = False
    error: str | None = None  # why it did not finish normally (timeout, cancelled)


def _enc_hook(obj: Any) -> Any:
    """Make numpy/torch scalars and arrays, paths and other objects JSON-encodable."""
    item = getattr(obj, "item", None)
    if callable(item) and getattr(obj, "ndim", 0) == 0:
        return item()
    tolist = getattr(obj, "tolist", None)
    if callable(tolist):
        return tolist()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    return str(obj)


json_encoder = msgspec.json.Encoder(enc_hook=_enc_hook)
json_decoder = msgspec.json.Decoder()
metrics_entry_decoder = msgspec.json.Decoder(MetricsLogEntry)


def yaml_flow(value: Any) -> str:
    """``value`` (JSON types only) as YAML in flow style, which any YAML loader reads back.

    JSON is nearly YAML already; floats need care: YAML 1.1 loaders (PyYAML) read ``1e-05``
    as a string, so an exponent always gets a mantissa with a dot (``1.0e-05``).
    """
    if isinstance(value, dict):
        items = (f"{yaml_flow(str(k))}: {yaml_flow(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(yaml_flow(v) for v in value) + "]"
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    if isinstance(value, float):
        mantissa, e, exponent = repr(value).partition("e")  # repr signs the exponent
        if e and "." not in mantissa:
            mantissa += ".0"
        return mantissa + e + exponent
    if isinstance(value, int):
        return str(value)
    return json_encoder.encode(str(value)).decode()


def encode_pretty(obj: Any) -> bytes:
    """JSON with 2-space indentation, as the documented layout promises."""
    return msgspec.json.format(json_encoder.encode(obj), indent=2)
