"""``yanex show ID``: everything about one experiment on one screen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncclick as click

from yanex._core import compare, dependencies, query
from yanex._store import layout, store

from . import _console, _fields, _problem, _render
from ._filters import FilterArgs, check_format, filter_options, format_option, latest, pick
from ._filters import usage_error as _usage

METRIC_ROWS = 10
OUTPUT_LINES = 10


def _facts(src: _fields.Source) -> list[tuple[str, Any]]:
    meta, rec = src.meta, src.rec
    seconds = _render.run_seconds(rec.summary, rec.status)
    facts: list[tuple[str, Any]] = [
        ("Name", meta.get("name") or "(unnamed)"),
        ("Status", rec.status + (" (archived)" if rec.archived else "")),
        ("Project", meta.get("project")),
        ("Directory", str(rec.dir)),
        ("Script", meta.get("script_path")),
        ("Arguments", " ".join(meta.get("script_args") or []) or None),
        ("Created", _render.when(meta.get("created_at"))),
        ("Started", _render.when(meta.get("started_at"))),
        ("Ended", _render.when(meta.get("completed_at"))),
        ("Duration", _render.duration(seconds, running=rec.status == "running")),
        ("Tags", ", ".join(rec.tags) or None),
        ("Description", meta.get("description")),
        ("Depends on", dependencies.slots_text(src.slots) or None),
        ("Sweep", _sweep(meta)),
        ("Retry of", meta.get("retry_of")),
        ("GPUs", ",".join(str(g) for g in meta.get("gpus") or ()) or None),
    ]
    return [(k, v) for k, v in facts if v not in (None, "")]


def _sweep(meta: dict[str, Any]) -> str | None:
    """``ab12cd34 (member 3)``: the sweep that started it (yanex list --sweep ID lists it)."""
    if not meta.get("sweep_id"):
        return None
    index = meta.get("sweep_index")
    return str(meta["sweep_id"]) + (f" (member {index + 1})" if isinstance(index, int) else "")


def _git_env(meta: dict[str, Any]) -> list[tuple[str, Any]]:
    dirty = meta.get("has_uncommitted_changes")
    patch = meta.get("patch_file")
    env = meta.get("environment") or {}
    host = meta.get("host") or (env.get("system") or {}).get("hostname")
    rows = [
        ("Git branch", meta.get("git_branch")),
        ("Git commit", meta.get("git_commit")),
        ("Uncommitted changes", (f"yes ({patch})" if patch else "yes") if dirty else "no"),
        ("Patch secrets", _patch_secrets(meta.get("git") or {})),
        ("Python", meta.get("python_version")),
        ("Platform", meta.get("platform")),
        ("Host", host),
        ("Launcher", meta.get("launcher")),
        ("Slurm job", _slurm_job(meta.get("slurm") or {})),
    ]
    return [(k, v) for k, v in rows if v not in (None, "")]


def _slurm_job(slurm: dict[str, Any]) -> str | None:
    """``12_3 COMPLETED on node1`` (job id, Slurm's state, node) of a Slurm experiment."""
    if not slurm.get("job_id"):
        return None
    text = " ".join(str(slurm[k]) for k in ("job_id", "state") if slurm.get(k))
    return text + (f" on {slurm['node']}" if slurm.get("node") else "")


def _resources(usage: Any) -> list[tuple[str, Any]]:
    """What the experiment's processes used, as the supervisor recorded it (``resources``)."""
    if not isinstance(usage, dict):
        return []

    def number(key: str, unit: str, digits: int = 1) -> str | None:
        value = usage.get(key)
        return f"{value:,.{digits}f} {unit}" if isinstance(value, int | float) else None

    rows = [
        ("Peak memory (RSS)", number("peak_rss_mb", "MB")),
        ("CPU time", number("cpu_seconds", "s", 2)),
        ("Peak GPU memory", number("gpu_mem_peak_mb", "MB")),
    ]
    return [(k, v) for k, v in rows if v is not None]


def _patch_secrets(git: dict[str, Any]) -> str | None:
    """What the secret scan of the git patch found (run.md: show displays it)."""
    if git.get("patch_has_secrets") is None:
        return None
    count = git.get("patch_secret_count") or 0
    size = git.get("patch_size_bytes")
    found = f"{count} potential secret(s)" if count else "none found"
    return found + (f" (patch: {size} bytes)" if size is not None else "")


def _metric_table(entries: list[dict[str, Any]], only: list[str] | None) -> tuple[list[str], Any]:
    names = only or compare.metric_names(entries)
    shown = [e for e in entries if any(n in e for n in names)][-METRIC_ROWS:]
    headers = ["step", *names]
    return headers, [[e.get("step"), *(e.get(n) for n in names)] for e in shown]


def _section(title: str) -> None:
    _console.echo()
    _console.echo(click.style(title, bold=True) if _console.use_rich() else title)


def _pairs(pairs: list[tuple[str, Any]]) -> None:
    width = max((len(k) for k, _v in pairs), default=0)
    for key, val in pairs:
        _console.echo(f"  {key + ':':<{width + 1}} {_render.text(val)}")


def _default(src: _fields.Source, entries: list[dict[str, Any]], only: list[str] | None) -> None:
    rec = src.rec
    _console.echo(f"Experiment {rec.id}")
    _pairs(_facts(src))
    params = compare.flatten(src.params)
    _section("Parameters")
    if params:
        _pairs(list(params.items()))
    else:
        _console.echo("  (none)")
    headers, rows = _metric_table(entries, only)
    _section(f"Metrics (last {len(rows)} of {len(entries)} steps)" if entries else "Metrics")
    if rows:
        _console.table(headers, [[_render.cell(c) for c in row] for row in rows])
    else:
        _console.echo("  (none)")
    names = _fields.store_artifacts(rec.dir)
    _section("Artifacts")
    for path in names:
        _console.echo(f"  {path.split('/artifacts/', 1)[-1]}  ({_fields.file_size(Path(path))})")
    if not names:
        _console.echo("  (none)")
    _section("Environment")
    _pairs(_git_env(src.meta))
    usage = _resources(src.meta.get("resources"))
    if usage:
        _section("Resources" + (" (so far)" if rec.status == "running" else ""))
        _pairs(usage)
    problem, trace = _problem.rows(src.meta, rec.status)
    if problem or trace:
        _section("Problem")
        _pairs(problem)
        if trace:
            _console.echo("  Traceback:" if problem else "")
            _console.echo("\n".join(_problem.traceback_lines(trace)))
    _output_tail(rec, trace)


def _output_tail(rec: query.Record, trace: str | None = None) -> None:
    for stream in ("stdout", "stderr"):
        text, found = _fields.read_lines(
            rec.dir / layout.ARTIFACTS / f"{stream}.txt", None, OUTPUT_LINES
        )
        if stream == "stderr" and text:
            text = _problem.unshown(text, trace)  # the traceback is shown above, once
        if found and text:
            _section(f"Last lines of {stream}")
            for line in text.split("\n"):
                _console.echo(f"  {line}")


def as_dict(src: _fields.Source, entries: list[dict[str, Any]]) -> dict[str, Any]:
    out = dict(src.meta)
    out.update(
        archived=src.rec.archived,
        experiment_dir=str(src.rec.dir),
        params=src.params,
        metrics=entries,
        last_metrics=compare.last_values(entries),
        artifacts=_fields.store_artifacts(src.rec.dir),
        dependencies=src.slots,
    )
    return out


def _flat_rows(src: _fields.Source, entries: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    keys = ["id", "name", "project", "status", "script_path", "created_at", "started_at"]
    keys += ["completed_at", "duration", "description", "git_branch", "git_commit"]
    rows: list[tuple[str, Any]] = [(k, src.meta.get(k)) for k in keys]
    rows += [("tags", ", ".join(src.rec.tags)), ("experiment_dir", str(src.rec.dir))]
    usage = src.meta.get("resources")
    rows += [(f"resources.{k}", v) for k, v in (usage if isinstance(usage, dict) else {}).items()]
    rows += [(f"params.{k}", v) for k, v in compare.flatten(src.params).items()]
    rows += [(f"metrics.{k}", v) for k, v in compare.last_values(entries).items()]
    return rows


def _pick_shown(experiment: str, archived: bool) -> query.Record:
    """The experiment to show: active ones only unless --archived (as show.md says); one
    found only in the archive is named, with the flag that shows it."""
    if archived:
        return pick(experiment, archived=None)
    from yanex.errors import ExperimentNotFoundError, YanexError

    try:
        return pick(experiment, archived=False)
    except ExperimentNotFoundError:
        try:
            found = query.resolve(experiment, archived=True)
        except YanexError:
            found = None
        if found is None:
            raise
        _console.fail(f"experiment {found.id} is archived; add --archived to show it")


@click.command("show", short_help="Show everything about one experiment.")
@click.argument("experiment", required=False)
@filter_options()
@click.option("--latest", "use_latest", is_flag=True, help="The newest matching experiment.")
@click.option("--show-metric", "show_metric", default=None, help="Metrics to show: a,b,c.")
@format_option()
def command(
    *,
    experiment: str | None,
    filters: FilterArgs,
    use_latest: bool,
    show_metric: str | None,
    fmt: str,
) -> None:
    """Show an experiment (id, unique id prefix or name): metadata, parameters, metrics,
    artifacts, git and environment, errors, and the end of its output."""
    fmt = check_format(fmt)
    if experiment is None and not use_latest:
        _usage("give an experiment id, id prefix or name, or --latest")
    if experiment is not None and (use_latest or filters.narrowing()):
        _usage("give an experiment or --latest with filters, not both")
    rec = _pick_shown(experiment, filters.archived) if experiment is not None else latest(filters)

    src = _fields.Source(rec)
    entries = store.read_metrics(rec.dir)
    only = [m.strip() for m in show_metric.split(",") if m.strip()] if show_metric else None
    if fmt == "json":
        _render.json_out(as_dict(src, entries))
    elif fmt in ("csv", "markdown"):
        _render.emit(fmt, ["field", "value"], _flat_rows(src, entries))
    else:
        _default(src, entries, only)
