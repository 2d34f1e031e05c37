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
    *,
    retries: int = 0,
    fail_fast: bool = False,
    gpus: Sequence[int] | None = None,
    gpus_per_run: int | None = None,
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

    The call is one sweep: every experiment records its ``sweep_id`` (also on each result;
    ``yanex list --sweep ID``, ``yanex.results.get_experiments(sweep_id=ID)``).
    ``retries=N`` runs a failed experiment again, up to N times, as a new experiment whose
    ``retry_of`` names the failed one; the result is the last attempt's (a cancelled one is
    not retried). ``fail_fast=True`` stops at the first experiment that fails for good: the
    running ones are cancelled and no other starts; nothing is raised, and the specs it
    stopped get a ``cancelled`` result (with an empty ``experiment_id`` for the ones that
    never started). ``gpus=[0, 1, ...]`` with ``gpus_per_run=K`` (default 1) gives each
    running experiment ``CUDA_VISIBLE_DEVICES`` of K slots no other running one holds;
    ``parallel`` then defaults to ``len(gpus) // K``, and a larger one raises ValueError,
    as do a duplicate or negative slot.

    ``launcher="slurm"`` submits them to a Slurm cluster as one job array through submitit
    (``parallel``: the array's parallelism, default all at once), with ``launcher_options``
    as submitit's parameters (``partition``, ``timeout_min``, ``cpus_per_task``, ``mem_gb``,
    ``gpus_per_node``...; Slurm assigns GPUs there, so ``gpus`` raises ValueError); an
    unknown option or a value of the wrong type raises ValueError before anything is
    submitted. Interrupting it cancels every job.
    """
    from yanex._core import batch

    return await batch.run_multiple(
        experiments,
        parallel=parallel,
        verbose=verbose,
        launcher=(launcher, launcher_options),
        options=batch.Options(retries, fail_fast, gpus, gpus_per_run),
    )
