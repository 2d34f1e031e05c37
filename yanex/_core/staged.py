"""Which staged experiments ``yanex run`` runs: all, one script's (``SCRIPT --staged``), or
the ones named by ``--id`` (as cluster tools do: stage on one machine, run by id on another).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from yanex._models import Status
from yanex.errors import ConfigError, ExperimentNotFoundError, YanexError

from . import query, runner


def select(script: str | None = None, ids: Sequence[str] = ()) -> list[runner.Job]:
    """The staged jobs to run, oldest first; a bad ``--id`` raises ``ConfigError``."""
    jobs = runner.staged_jobs()
    if ids:
        wanted = [_staged_id(ref) for ref in ids]
        by_id = {job.exp_id: job for job in jobs}
        jobs = [by_id[exp_id] for exp_id in dict.fromkeys(wanted) if exp_id in by_id]
    if script:
        jobs = [job for job in jobs if _same_script(job.script, script)]
    return jobs


def _staged_id(ref: str) -> str:
    try:
        rec = query.resolve(ref, archived=False)
    except ExperimentNotFoundError:
        raise ConfigError(f"--id {ref}: no experiment with that id, id prefix or name") from None
    except YanexError as exc:
        raise ConfigError(f"--id {ref}: {exc}") from None
    if rec.status != Status.STAGED:
        raise ConfigError(
            f"--id {ref}: experiment {rec.id} is {rec.status}, not staged "
            "(yanex run --id runs a staged experiment)"
        )
    return rec.id


def _same_script(staged: Path, given: str) -> bool:
    """The staged experiment's script is ``given`` (a path, or a bare file name)."""
    path = Path(given)
    if path.is_file():
        return staged.resolve() == path.resolve()
    return staged.name == path.name
