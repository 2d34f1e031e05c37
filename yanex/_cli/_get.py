"""What ``yanex get FIELD [ID]`` does: one field of one experiment, or of each one the filters
select. Its options are declared in ``get.py``; this module imports no asyncclick (``_fast``
runs it without click)."""

from __future__ import annotations

import json
from typing import Any

from yanex._core import query

from . import _console, _fields, _filters, _render
from ._filters import (
    FilterArgs,
    check_format,
    latest,
    pick,
    select,
    usage_error,
)

FIELDS_HELP = """\b
FIELD is one of:
  id name status description project tags script_path
  created_at started_at completed_at duration error_message
  params            parameter names        params.<key>   a parameter (dot notation)
  metrics           metric names           metrics.<key>  a metric's last value
  <name>            a parameter, else a metric of that name (yanex get lr ID)
  params.<glob> metrics.<glob> <glob>    every matching one (params.lr*); none is an error
  stdout stderr     output (--head/--tail N, --follow)
  artifacts         artifact paths, one per line
  cli-command       the yanex run call as typed
  run-command       the same with resolved values (reproduces the experiment)
  experiment-dir artifacts-dir dependencies
  git.branch git.commit_hash git.dirty   environment.python.version environment.<path>
  upstream downstream lineage            dependency graphs (--depth N)
"""


def _check_options(field: str, kind: str, fmt: str, *, head: Any, tail: Any, follow: bool) -> None:
    streams = field in ("stdout", "stderr")
    if (head is not None or tail is not None or follow) and not streams:
        usage_error(f"--head, --tail and --follow apply to stdout and stderr, not '{field}'")
    for flag, n in (("--head", head), ("--tail", tail)):
        if n is not None and n < 1:
            usage_error(f"{flag} needs a positive number of lines, not {n}")
    if follow and (fmt != "default" or head is not None):
        usage_error("--follow works with the default format and --tail, not --head or -F")
    if kind == "multiline" and fmt in ("csv", "markdown", "sweep"):
        usage_error(f"--format {fmt} does not apply to '{field}' (use default or json)")


async def run(
    *,
    field: str,
    experiment: str | None,
    filters: FilterArgs,
    use_latest: bool,
    fmt: str,
    default: str,
    head: int | None,
    tail: int | None,
    follow: bool,
    depth: int,
) -> None:
    """Print FIELD of experiment EXPERIMENT (id, id prefix or name), or of each one the
    filters select (-F sweep gives a,b,c for shell substitution)."""
    fmt = check_format(fmt, sweep=True)
    kind = _fields.kind(field)
    _check_options(field, kind, fmt, head=head, tail=tail, follow=follow)
    records = _records(experiment, filters, use_latest)
    if follow:
        if len(records) != 1:
            usage_error("--follow needs one experiment (an id, or --latest)")
        from ._follow import follow as follow_stream
        from ._runner import in_loop

        await in_loop(follow_stream, records[0], field, tail)  # get runs loop-free otherwise
        return
    if kind == "lineage":
        from yanex._core import dependencies

        from . import _lineage

        build = getattr(dependencies, field)
        _lineage.emit(build(records, depth), [r.id for r in records], fmt)
        return
    read, problems = query.each_readable(
        records,
        lambda r: _fields.value(_fields.Source(r), field, head, tail),
        strict=experiment is not None or use_latest,  # one experiment named: its error is ours
    )
    _filters.report_problems(problems)  # left out of a selection, one warning line each
    results = [(r.id, found) for r, found in read]
    _check_found(field, kind, results)
    values = [(i, v if found else _missing(default, kind)) for i, (v, found) in results]
    single = experiment is not None or use_latest
    _output(field, kind, fmt, values, single=single, bare=single or len(values) == 1)


def _check_found(field: str, kind: str, results: list[tuple[str, tuple[Any, bool]]]) -> None:
    """A bare name or a wildcard that matches in no experiment is an error, not a default."""
    if not results or any(found for _i, (_v, found) in results):
        return
    if kind == "bare":
        usage_error(_fields.unknown_field(field))
    if kind == "wildcard":
        _console.fail(f"no parameter or metric matches '{field}'")


def _records(experiment: str | None, filters: FilterArgs, use_latest: bool) -> list[query.Record]:
    if experiment is not None and (filters.narrowing() or use_latest):
        usage_error("give an experiment or filters (or --latest), not both")
    if experiment is not None:
        return [pick(experiment, archived=None)]
    if use_latest:
        return [latest(filters)]
    if not filters.narrowing():
        usage_error("give an experiment (id, prefix or name), --latest, or filters such as -s")
    return select(filters, archived=None if filters.archived else False)


def _missing(default: str, kind: str) -> Any:
    return default if kind in ("scalar", "complex", "multiline", "bare") else []


def _csv_cell(value: Any) -> str:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ",".join(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return _render.text(value)


def _display(value: Any) -> str:
    if isinstance(value, dict) and not any(isinstance(v, (dict, list)) for v in value.values()):
        return " ".join(f"{k}={_render.text(v)}" for k, v in value.items())
    if isinstance(value, (dict, list)) and any(isinstance(v, (dict, list)) for v in value):
        return json.dumps(value)
    return _render.text(value)


def _output(
    field: str, kind: str, fmt: str, values: list[tuple[str, Any]], *, single: bool, bare: bool
) -> None:
    """Print the values; ``bare``: one experiment, so the default format prints the value
    alone (``cd "$(yanex get experiment-dir -n x)"`` works with a filter too)."""
    if fmt == "json":
        key = field if kind == "multiline" else "value"
        items = [{"id": i, key: v} for i, v in values]
        _render.json_out(items[0] if single else items)
    elif fmt == "csv":
        _render.csv_out(["ID", field], [(i, _csv_cell(v)) for i, v in values])
    elif fmt == "markdown":
        _render.markdown_out(["ID", field], [(i, _display(v)) for i, v in values])
    elif fmt == "sweep":
        _render.raw(",".join(_csv_cell(v) for _i, v in values))
    elif kind == "multiline":
        _multiline(values, bare)
    else:
        for exp_id, val in values:
            shown = _display(val)
            _console.echo(shown if bare or field == "id" else f"{exp_id}: {shown}")


def _multiline(values: list[tuple[str, Any]], single: bool) -> None:
    for n, (exp_id, val) in enumerate(values):
        if not single:
            _console.echo(("\n" if n else "") + f"── {exp_id} " + "─" * 40)
        if val:
            _console.echo(str(val))
