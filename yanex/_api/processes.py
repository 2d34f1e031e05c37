"""The Run API calls that wait on processes; coroutines (``yanex`` runs them via ``_portal``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from yanex._models import ExperimentResult, ExperimentSpec

from ._shared import require

# --- processes (coroutines; the blocking face runs them through _portal) -------------------


async def execute_bash_script(
    command: str,
    timeout: float | None = None,
    raise_on_error: bool = False,
    stream_output: bool = True,
    working_dir: Path | str | None = None,
) -> dict[str, Any]:
    """Run the shell ``command`` (with bash) inside the current experiment; wait for it.

    The command gets ``YANEX_EXPERIMENT_ID`` and the parameters as ``YANEX_PARAM_*`` in its
    environment, so a Python script it starts logs into this experiment. It runs in
    ``working_dir`` (default: the experiment directory). Its stdout and stderr are
    appended to the ``script_stdout.txt`` / ``script_stderr.txt`` artifacts, echoed live
    when ``stream_output`` is true, and each call is logged in ``script_runs.json``.

    Returns a dict: exit_code, stdout, stderr, execution_time, command, working_directory.
    Raises ExperimentContextError outside an experiment; ``subprocess.TimeoutExpired``
    after stopping the command's whole process group when it outlives ``timeout``
    seconds; ``subprocess.CalledProcessError`` for a non-zero exit if ``raise_on_error``.
    """
    from yanex._core import scripts

    return await scripts.execute(
        require(),
        command,
        timeout=timeout,
        raise_on_error=raise_on_error,
        stream_output=stream_output,
        working_dir=Path(working_dir) if working_dir is not None else None,
    )


async def run_multiple(
    experiments: Sequence[ExperimentSpec],
    parallel: int | None = None,
    verbose: bool = False,
    launcher: str | None = None,
    launcher_options: Mapping[str, Any] | None = None,
) -> list[ExperimentResult]:
    """Run the script of each ExperimentSpec in ``experiments`` as a tracked experiment of
    its own, and wait for all of them.

    ``parallel``: None runs them one after another, 0 one per CPU, N at most N at a time.
    A failing experiment does not stop the others. ``verbose`` (or a terminal on stderr)
    shows a line per finished experiment and a summary; ``verbose`` also shows the
    children's output, each line tagged with its experiment id.

    Returns one ExperimentResult per spec, in the order of the specs. Raises ValueError
    for an empty list or an invalid spec (before anything runs), and
    ExperimentContextError inside a ``yanex run`` experiment. Interrupting it (Ctrl-C, or
    cancelling the awaiting task) stops the running children and records them cancelled.

    ``launcher="slurm"`` submits them to a Slurm cluster as one job array through submitit
    (``parallel``: the array's parallelism, default all at once), with ``launcher_options``
    as submitit's parameters (``partition``, ``timeout_min``, ``cpus_per_task``, ``mem_gb``,
    ...); an unknown option or a value of the wrong type raises ValueError before anything
    is submitted. Interrupting it cancels every job.
    """
    from yanex._core import batch

    return await batch.run_multiple(
        experiments,
        parallel=parallel,
        verbose=verbose,
        launcher=(launcher, launcher_options),
    )
