"""THE on-disk format: one msgspec Struct per stored file, and the encoders reused for them.

Compatibility rules: every field has a default so older files decode; nothing is renamed or
retyped without a step in ``migrate.py``; unknown fields are tolerated on read and preserved
on rewrite (metadata is updated as a dict merge, see ``store.py``). ``FORMAT_VERSION`` is
written into every metadata.json.
"""

from __future__ import annotations

import math
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
    script_arg: str | None = None  # the script as the user named it: a staged run's argv[0]
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
    launcher: str | None = None  # where it ran: None or "local" here, "slurm" on a cluster
    slurm: dict[str, Any] | None = None  # job_id, array_job_id, array_index, node, state...
    sweep_id: str | None = None  # the yanex run / run_multiple call that started it
    sweep_index: int | None = None  # which member of that sweep (its place in the plan)
    retry_of: str | None = None  # the failed or interrupted attempt this one replaces
    script_sha256: str | None = None  # of the script file when the experiment was created
    gpus: list[int] | None = None  # the GPU slots it was given (its CUDA_VISIBLE_DEVICES)
    resources: dict[str, Any] | None = None  # peak_rss_mb, cpu_seconds, gpu_mem_peak_mb
    format_version: int = FORMAT_VERSION


class SweepMember(msgspec.Struct, kw_only=True):
    """One member of a sweep as planned: what each of its attempts runs."""

    script: str  # absolute path
    script_arg: str | None = None  # as the caller named it
    script_args: list[str] = []
    config: dict[str, Any] = {}
    name: str | None = None
    tags: list[str] = []
    description: str | None = None
    project: str | None = None
    depends_on: list[str] = []
    cli_args: dict[str, Any] = {}


class Sweep(msgspec.Struct, kw_only=True):
    """``<store>/.sweeps/<id>.json``: one ``yanex run`` or ``run_multiple`` call's members and
    how they ran, written once before the first member starts (what ``--resume`` reruns)."""

    id: str
    created_at: str
    kind: str = "run"  # "run" (yanex run) or "batch" (run_multiple / as_completed)
    members: list[SweepMember] = []
    script_sha256: dict[str, str] = {}  # script path -> hash of the file at the sweep's start
    parallel: int | None = None
    timeout: float | None = None
    launcher: str | None = None
    launcher_options: dict[str, Any] = {}
    cwd: str | None = None
    gpus: list[int] | None = None  # the GPU slots the sweep shared (--gpus), reused on resume
    gpus_per_run: int | None = None
    format_version: int = FORMAT_VERSION


class MetricsLogEntry(msgspec.Struct, array_like=True):
    """One line of ``metrics.log.jsonl``: ``[step, unix_time, data]``, one per log_metrics call."""

    step: int
    time: float
    data: dict[str, Any]


class GpuSample(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One GPU in a ``ResourceSample``: its index, the memory the experiment's processes use
    on it, and the device's utilisation."""

    index: int
    mem_mb: float | None = None
    util_percent: float | None = None


class ResourceSample(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One line of ``resources.jsonl``: the experiment's process tree at one moment.

    ``cpu_seconds`` is the tree's user+system time so far; ``rss_mb`` the sum of the
    resident sets of its processes. The ``final`` line is written once the child has been
    reaped, with the totals (the kernel's account of the child, wait4, where it is larger
    than what was sampled): ``cpu_seconds`` and ``peak_rss_mb``, no ``rss_mb``.
    """

    time: float
    cpu_seconds: float
    rss_mb: float | None = None
    peak_rss_mb: float | None = None
    processes: int = 0
    gpus: list[GpuSample] = []
    final: bool = False


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


_NONFINITE = {"nan": msgspec.Raw(b"NaN"), "inf": msgspec.Raw(b"Infinity")}
_NONFINITE["-inf"] = msgspec.Raw(b"-Infinity")
_TOKENS = (b"NaN", b"Infinity")


def _tokens(obj: Any) -> Any:
    """``obj`` (builtins only) with NaN and infinities as the tokens Python's json writes."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else _NONFINITE[repr(obj)]
    if isinstance(obj, dict):
        return {k: _tokens(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_tokens(v) for v in obj]
    return obj


def _escaped(obj: Any) -> Any:
    """``obj`` with every string that holds undecodable bytes (lone surrogates, as Python
    decodes them from argv, paths and the environment) spelled with ``\\xNN`` escapes, which
    JSON can store; the text stays readable and the rest is untouched."""
    if isinstance(obj, str):
        try:
            obj.encode()
        except UnicodeEncodeError:
            return obj.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        return obj
    if isinstance(obj, dict):
        return {_escaped(k): _escaped(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_escaped(v) for v in obj]
    return obj


class JSONEncoder:
    """msgspec's encoder, except that NaN, Infinity and -Infinity are written as those tokens
    (what ``json.dumps`` writes and ``json.loads`` and yanex 0.6 read) instead of ``null``.

    msgspec writes a non-finite float as ``null``, so only an output holding ``null`` is
    looked at again: the common case costs one byte search.
    """

    def __init__(self) -> None:
        self._enc = msgspec.json.Encoder(enc_hook=_enc_hook)

    def encode(self, obj: Any) -> bytes:
        try:
            out = self._enc.encode(obj)
        except UnicodeEncodeError:  # undecodable bytes (an argument, a path) kept as \\xNN
            obj = _escaped(msgspec.to_builtins(obj, enc_hook=_enc_hook))
            out = self._enc.encode(obj)
        if b"null" not in out:
            return out
        plain = msgspec.to_builtins(obj, enc_hook=_enc_hook)
        marked = _tokens(plain)
        return out if marked == plain else self._enc.encode(marked)


class JSONDecoder:
    """msgspec's decoder (of ``type``), falling back to ``json.loads`` for the NaN and
    Infinity tokens that msgspec rejects; anything else malformed raises msgspec's error."""

    def __init__(self, type: Any = Any) -> None:
        self._type = type
        self._dec = msgspec.json.Decoder(type)

    def decode(self, data: bytes) -> Any:
        try:
            return self._dec.decode(data)
        except msgspec.DecodeError:
            if not any(token in data for token in _TOKENS):
                raise
            import json

            try:
                value = json.loads(data)
            except ValueError:
                raise msgspec.DecodeError("JSON is malformed") from None
            return value if self._type is Any else msgspec.convert(value, self._type)


json_encoder = JSONEncoder()
json_decoder = JSONDecoder()
metrics_entry_decoder = JSONDecoder(MetricsLogEntry)


def encode_pretty(obj: Any) -> bytes:
    """JSON with 2-space indentation, as the documented layout promises."""
    raw = json_encoder.encode(obj)
    if not any(token in raw for token in _TOKENS):
        return msgspec.json.format(raw, indent=2)
    import json  # msgspec's formatter rejects the NaN/Infinity tokens; Python's json keeps them

    return json.dumps(json.loads(raw), indent=2, ensure_ascii=False).encode()


def yaml_block(value: Any) -> str:
    """``value`` (JSON types) as block-style YAML that PyYAML's ``safe_load`` reads back
    exactly: NaN and infinities as ``.nan``/``.inf``, control characters escaped in
    double-quoted strings. PyYAML is imported here, when a file is written."""
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text: str = yaml.dump(
        value, Dumper=dumper, default_flow_style=False, sort_keys=False, allow_unicode=True
    )
    return text
