"""``yanex update``: change the name, description, project, status or tags of experiments."""

from __future__ import annotations

import asyncclick as click

from yanex._core import manage
from yanex.errors import InvalidUpdateError

from . import _bulk, _console
from ._filters import (
    FilterArgs,
    check_format,
    confirm,
    filter_options,
    format_option,
    targets,
    usage_error,
)


@click.command("update", short_help="Change names, descriptions, projects, statuses, tags.")
@click.argument("experiments", nargs=-1)
@filter_options(archived_help="Include archived experiments.")
@click.option("--set-name", default=None, help='New name ("" clears it).')
@click.option("--set-description", default=None, help='New description ("" clears it).')
@click.option("--set-project", default=None, help="New project.")
@click.option("--set-status", default=None, help="New status (any, set by hand).")
@click.option("--add-tag", multiple=True, help="Tag to add (repeatable).")
@click.option("--remove-tag", multiple=True, help="Tag to remove (repeatable).")
@click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
@click.option("--force", is_flag=True, help="Do not ask before updating several experiments.")
@format_option()
def command(
    *,
    experiments: tuple[str, ...],
    filters: FilterArgs,
    set_name: str | None,
    set_description: str | None,
    set_project: str | None,
    set_status: str | None,
    add_tag: tuple[str, ...],
    remove_tag: tuple[str, ...],
    dry_run: bool,
    force: bool,
    fmt: str,
) -> None:
    """Update experiments given by id, prefix or name, or selected by filters."""
    fmt = check_format(fmt)
    changes = manage.Changes(
        name=set_name,
        description=set_description,
        project=set_project,
        status=set_status,
        add_tags=list(add_tag),
        remove_tags=list(remove_tag),
    )
    if changes.empty():
        usage_error("nothing to change: give --set-name, --set-status, --add-tag, ...")
    try:
        changes.validate()
    except InvalidUpdateError as exc:  # a bad value is a usage error: exit 2
        usage_error(str(exc))
    records = targets(
        experiments, filters, archived=None if filters.archived else False, verb="update"
    )
    if not records:
        _console.echo("No experiments to update.", err=True)
        return
    if dry_run:
        _bulk.report(
            [
                {
                    "id": r.id,
                    "name": r.name,
                    "result": "would update",
                    "detail": manage.preview(r, changes),
                }
                for r in records
            ],
            "would update",
            fmt,
        )
        return
    if len(records) > 1 and not force:
        _bulk.preview(records, "Updating")
        if not confirm(f"Update {len(records)} experiments?"):
            _bulk.declined("updated")
    _bulk.act(records, lambda r: manage.update(r, changes), done="updated", fmt=fmt)
