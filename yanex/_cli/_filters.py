"""Options shared by the query commands: filters, output format, selection and confirmation.

``filter_options`` adds the documented filter flags and hands the command one
``FilterArgs``; ``FilterArgs.build`` turns them into ``filters.Filters`` (default scope: the
current git repository's project). Bad values end the command with one ``Error:`` line and
exit code 2; an ambiguous id prefix or name lists its candidates and exits 1.

asyncclick is imported only where click itself is needed (declaring the options, asking for
confirmation): what ``yanex list`` and ``yanex get`` run when ``_fast`` parses their
arguments does not import it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

from yanex._core import query
from yanex._core.filters import Filters
from yanex.errors import AmbiguousExperimentError, InvalidFilterError, InvalidReferenceError

from . import _console

F = TypeVar("F", bound=Callable[..., Any])

FORMATS = ("default", "json", "csv", "markdown")
FORMATS_WITH_SWEEP = (*FORMATS, "sweep")


def usage_error(message: str) -> NoReturn:
    _console.fail(message, _console.EXIT_USAGE)


@dataclass
class FilterArgs:
    """The raw filter flags of one command invocation."""

    ids: tuple[str, ...] = ()
    status: tuple[str, ...] = ()
    name: str | None = None
    tags: tuple[str, ...] = ()
    project: str | None = None
    global_scope: bool = False
    script: str | None = None
    started_after: str | None = None
    started_before: str | None = None
    ended_after: str | None = None
    ended_before: str | None = None
    sweep: str | None = None
    archived: bool = False
    limit: int | None = None

    def narrowing(self) -> bool:
        """True when a flag that narrows the selection was given (project scope aside)."""
        times = (self.started_after, self.started_before, self.ended_after, self.ended_before)
        return bool(
            self.ids or self.status or self.tags or self.script or any(t is not None for t in times)
        ) or (self.name is not None or self.sweep is not None)

    def build(self, *, archived: bool | None = None, limit: int | None = None) -> Filters:
        """``filters.Filters`` for these flags; ``archived`` overrides the -a flag's meaning."""
        if _console.verbose():  # describe() asks git for the project: only when it is shown
            _console.note(f"filters: {self.describe()}")
        try:
            return Filters.build(
                ids=list(self.ids) or None,
                status=list(self.status) or None,
                name=self.name,
                tags=list(self.tags) or None,
                project=self.scope(),
                script_pattern=self.script,
                started_after=self.started_after,
                started_before=self.started_before,
                ended_after=self.ended_after,
                ended_before=self.ended_before,
                sweep_id=self.sweep,
                archived=archived if archived is not None else (None if self.archived else False),
                limit=limit if limit is not None else self.limit,
            )
        except InvalidFilterError as exc:
            usage_error(str(exc))

    def describe(self) -> str:
        """The filters in effect, for ``--verbose``."""
        parts = []
        for name in _FILTER_FIELDS:
            value = getattr(self, name)
            if name in ("project", "global_scope") or value in (None, False, ()):
                continue
            shown = ",".join(value) if isinstance(value, tuple) else value
            parts.append(f"{name}={'true' if shown is True else shown}")
        scope = self.scope()
        parts.append("all projects" if scope is None else f"project={scope}")
        return " ".join(parts)

    def scope(self) -> str | None:
        """The project to show: --project, nothing with --global, else the git repository's."""
        if self.global_scope:
            return None
        if self.project is not None:
            return self.project
        from yanex._core import gitinfo

        return gitinfo.project_name()


_FILTER_FIELDS = tuple(FilterArgs.__dataclass_fields__)


def with_filter_args(fn: F) -> F:
    """``fn`` taking the filter flags' values as one ``filters: FilterArgs`` argument: the
    callback ``filter_options`` gives click (and ``_fast`` calls, without click)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        values = {k: kwargs.pop(k) for k in _FILTER_FIELDS if k in kwargs}
        return fn(*args, filters=FilterArgs(**values), **kwargs)

    wrapper.__yanex_wrapper__ = f"{__name__}:with_filter_args"  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def filter_options(*, archived_help: str = "Include archived experiments.") -> Callable[[F], F]:
    """Add the shared filter flags; the command receives them as ``filters: FilterArgs``."""
    import asyncclick as click

    options = [
        click.option("--ids", "-i", "ids", multiple=True, help="Experiment ids, comma-separated."),
        click.option("--status", "-s", multiple=True, help="Status (repeatable: any of them)."),
        click.option("--name", "-n", default=None, help='Name glob; "" matches unnamed ones.'),
        click.option("--tag", "-t", "tags", multiple=True, help="Tag (repeatable: all of them)."),
        click.option("--project", "-p", default=None, help="Project (default: this git repo's)."),
        click.option("--global", "-g", "global_scope", is_flag=True, help="Every project."),
        click.option("--script", "-c", default=None, help="Script name glob (train.py, *prep*)."),
        click.option("--started-after", default=None, help='ISO date or "1 week ago".'),
        click.option("--started-before", default=None, help='ISO date or "yesterday".'),
        click.option("--ended-after", default=None, help="ISO date or phrase."),
        click.option("--ended-before", default=None, help="ISO date or phrase."),
        click.option("--sweep", default=None, metavar="ID", help="The experiments of this sweep."),
        click.option("--archived", "-a", is_flag=True, help=archived_help),
        click.option("--limit", "-l", type=int, default=None, help="At most this many."),
    ]

    def decorate(fn: F) -> F:
        wrapper = with_filter_args(fn)
        for option in reversed(options):
            wrapper = option(wrapper)
        return wrapper

    return decorate


def format_option(*, sweep: bool = False) -> Callable[[F], F]:
    import asyncclick as click

    choices = FORMATS_WITH_SWEEP if sweep else FORMATS
    return click.option(
        "--format",
        "-F",
        "fmt",
        default="default",
        help=f"Output format: {', '.join(choices)}.",
    )


def check_format(fmt: str, *, sweep: bool = False) -> str:
    choices = FORMATS_WITH_SWEEP if sweep else FORMATS
    value = fmt.strip().lower()
    if value not in choices:
        usage_error(f"unknown format '{fmt}' (choose from {', '.join(choices)})")
    return value


# --- selecting experiments ----------------------------------------------------------------


def pick(identifier: str, *, archived: bool | None = None) -> query.Record:
    """The experiment ``identifier`` names; lists the candidates when it is ambiguous."""
    try:
        return query.resolve(identifier, archived=archived)
    except InvalidReferenceError as exc:
        usage_error(str(exc))
    except AmbiguousExperimentError as exc:
        _console.error(str(exc))
        for line in exc.candidates:
            _console.echo(f"  {line}", err=True)
        raise SystemExit(_console.EXIT_ERROR) from None


def report_problems(problems: Sequence[query.Problem]) -> None:
    """Tell the user about experiments that could not be read (they were skipped)."""
    for problem in problems:
        _console.echo(f"Warning: skipped experiment {problem.id}: {problem.message}", err=True)


def select(filters: FilterArgs, *, archived: bool | None = None) -> list[query.Record]:
    found = query.select(filters.build(archived=archived))
    report_problems(found.problems)
    return found.records


def split_ids(identifiers: Sequence[str]) -> list[str]:
    """Identifiers as given, a comma-separated list (``-F sweep`` output) counting as several."""
    return [part.strip() for item in identifiers for part in item.split(",") if part.strip()]


def targets(
    identifiers: Sequence[str],
    filters: FilterArgs,
    *,
    archived: bool | None,
    verb: str,
) -> list[query.Record]:
    """The experiments a management command acts on: named ones, or those the filters select."""
    identifiers = split_ids(identifiers)
    if identifiers and filters.narrowing():
        usage_error(f"give experiment ids or filters to {verb}, not both")
    if identifiers:
        picked = [pick(i, archived=archived) for i in identifiers]
        return list({r.id: r for r in picked}.values())
    if not filters.narrowing():
        usage_error(f"say which experiments to {verb}: give ids or filters (see --help)")
    return select(filters, archived=archived)


def latest(filters: FilterArgs) -> query.Record:
    """The newest experiment the filters select (archived ones too with -a)."""
    records = select(filters, archived=None if filters.archived else False)
    if not records:
        _console.fail("no experiment matches the filters")
    return records[0]


def confirm(question: str) -> bool:
    """Ask on stderr. No answer at all (end of input, as in a script without --force) ends
    the command with exit 1, having done nothing."""
    import asyncclick as click

    try:
        return bool(click.confirm(question, default=False, err=True))
    except click.exceptions.Abort:
        _console.echo(err=True)
        _console.fail("no answer: nothing was done (--force skips the question)")
