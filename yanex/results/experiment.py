"""The ``Experiment`` class of ``yanex.results``: one stored experiment, read and updated.

Cheap to create: it starts from the summary the store scan already decoded, and reads the
full metadata, parameters and metrics only when asked (then keeps them until
``refresh()``). Setters write through the store's locked read-modify-write, so they are
safe while the experiment runs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from yanex._core import artifacts as _artifacts
from yanex._core import dependencies as _deps
from yanex._core import manage, query
from yanex._core import metadata as _metadata
from yanex._core.warn import warn
from yanex._store import layout, store
from yanex._store.clock import parse as _parse_time
from yanex.errors import CorruptExperimentWarning, StorageError

if TYPE_CHECKING:
    from .graph import ExperimentGraph


class Experiment:
    """One experiment of the store. ``Experiment("abc12345")`` opens it by id."""

    def __init__(self, experiment_id: str) -> None:
        self._set(query.resolve(experiment_id, archived=None))

    @classmethod
    def _from_record(cls, rec: query.Record) -> Experiment:
        exp = cls.__new__(cls)
        exp._set(rec)
        return exp

    def _set(self, rec: query.Record) -> None:
        self._rec = rec
        self._meta: dict[str, Any] | None = None
        self._params: dict[str, Any] | None = None
        self._metrics: list[dict[str, Any]] | None = None

    # --- identity and basic facts -------------------------------------------------------

    @property
    def id(self) -> str:
        return self._rec.id

    @property
    def name(self) -> str | None:
        return self._rec.summary.name

    @property
    def project(self) -> str | None:
        return self._rec.summary.project

    @property
    def description(self) -> str | None:
        return self._rec.summary.description

    @property
    def status(self) -> str:
        """The status; a 'running' experiment whose supervisor died reads 'failed'."""
        return self._rec.status

    @property
    def tags(self) -> list[str]:
        return self._rec.tags

    @property
    def created_at(self) -> datetime | None:
        return _parse_time(self._rec.summary.created_at)

    @property
    def started_at(self) -> datetime | None:
        return _parse_time(self._rec.summary.started_at)

    @property
    def completed_at(self) -> datetime | None:
        return _parse_time(self._rec.summary.completed_at)

    @property
    def duration(self) -> timedelta | None:
        """Run time: as recorded once it has ended, else start to end, or start to now while
        running."""
        seconds = _metadata.run_seconds(self._rec.summary, self.status)
        return timedelta(seconds=seconds) if seconds is not None else None

    @property
    def script_path(self) -> Path | None:
        script = self._rec.summary.script_path
        return Path(script) if script else None

    @property
    def error_message(self) -> str | None:
        return self._rec.summary.error_message

    @property
    def sweep_id(self) -> str | None:
        """The sweep (``yanex run`` or ``run_multiple`` call) that started it."""
        return self._rec.summary.sweep_id

    @property
    def retry_of(self) -> str | None:
        """The id of the failed or interrupted attempt this experiment replaces."""
        return self._rec.summary.retry_of

    @property
    def archived(self) -> bool:
        return self._rec.archived

    @property
    def experiment_dir(self) -> Path:
        return self._rec.dir

    @property
    def artifacts_dir(self) -> Path:
        return self._rec.dir / layout.ARTIFACTS

    @property
    def resources(self) -> dict[str, Any] | None:
        """What its processes used, as the supervisor recorded it: ``peak_rss_mb``,
        ``cpu_seconds`` and ``gpu_mem_peak_mb`` (None without a GPU); so far while it runs,
        None when nothing was recorded (an experiment not run by a yanex supervisor)."""
        usage = self._rec.summary.resources
        return dict(usage) if isinstance(usage, dict) else None

    def get_resource_samples(self) -> list[dict[str, Any]]:
        """The samples of its process tree, oldest first (``resources.jsonl``): ``time``
        (unix seconds), ``cpu_seconds``, ``rss_mb``, ``processes`` and ``gpus`` (index,
        ``mem_mb``, ``util_percent``) where NVML reported them; the last one, ``final``,
        holds the totals (``cpu_seconds``, ``peak_rss_mb``)."""
        samples: list[dict[str, Any]] = store.read_resource_samples(self._rec.dir)
        return samples

    @property
    def metadata(self) -> dict[str, Any]:
        """The full metadata (the file's fields, normalised to the current format)."""
        if self._meta is None:
            self._meta = _metadata.as_dict(self._rec.dir)
        return dict(self._meta)

    # --- dependencies -------------------------------------------------------------------

    @property
    def dependencies(self) -> dict[str, str]:
        """slot -> id of the experiments this one depends on."""
        return _deps.slots_of(self._rec.dir, self._rec.summary.depends_on)

    @property
    def dependency_ids(self) -> list[str]:
        return list(self.dependencies.values())

    @property
    def has_dependencies(self) -> bool:
        return bool(self.dependencies)

    def get_dependencies(
        self, transitive: bool = False, include_self: bool = False
    ) -> list[Experiment]:
        """Dependency experiments, every dependency before its dependents.

        The direct ones (the default) come as a list that also answers by slot
        (``deps["data"]``, ``deps.items()``).
        """
        from . import _dependencies

        if not transitive and not include_self:
            return _dependencies.direct(self._rec.dir, self._rec.summary.depends_on)
        entries = [f"{slot}={ref}" for slot, ref in self.dependencies.items()]
        out = _dependencies.ordered(entries, transitive=transitive)
        return [*out, self] if include_self else out

    def get_dependency(self, slot: str) -> Experiment | None:
        """The experiment in dependency slot ``slot``; None when there is none."""
        from . import _dependencies

        return _dependencies.direct(self._rec.dir, self._rec.summary.depends_on).get(slot)

    def get_graph(self, *, weakly_connected: bool = False) -> ExperimentGraph:
        """The dependency graph around this experiment (see ``yanex.results.get_graph``)."""
        from .graph import get_graph

        return get_graph(self.id, weakly_connected=weakly_connected)

    # --- data -----------------------------------------------------------------------------

    def get_params(self) -> dict[str, Any]:
        """All parameters (nested dicts as stored)."""
        if self._params is None:
            self._params = self._readable("parameters", store.read_config, {})
        return dict(self._params)

    def get_param(self, key: str, default: Any = None) -> Any:
        """One parameter; dot notation reaches nested ones (``"model.layers"``)."""
        value, found = _metadata.dotted(self.get_params(), key)
        return value if found else default

    def _all_metrics(self) -> list[dict[str, Any]]:
        if self._metrics is None:
            self._metrics = self._readable("metrics", store.read_metrics, [])
        return self._metrics

    def _readable(self, what: str, read: Callable[[Path], Any], empty: Any) -> Any:
        """``read(dir)``; an unreadable file warns once and reads as ``empty``, so a loop over
        many experiments goes on past one corrupt file."""
        try:
            return read(self._rec.dir)
        except StorageError as exc:
            warn(f"experiment {self.id}: {what} read as empty: {exc}", CorruptExperimentWarning)
            return empty

    def get_metrics(self, step: int | None = None, as_dataframe: bool = False) -> Any:
        """Every logged step as a list of dicts, or the dict of one ``step`` ({} if absent).

        ``as_dataframe=True`` gives a pandas DataFrame indexed by step instead.
        """
        entries = [dict(e) for e in self._all_metrics()]
        if step is not None:
            entries = [e for e in entries if e.get("step") == step][-1:]
        if as_dataframe:
            from yanex.results._frames import metrics_frame

            return metrics_frame(entries)
        if step is not None:
            return entries[0] if entries else {}
        return entries

    def get_metric(self, name: str) -> Any:
        """A metric's value (one step), its values in step order (several), or None."""
        values = [e[name] for e in self._all_metrics() if name in e and name != "step"]
        if not values:
            return None
        return values[0] if len(values) == 1 else values

    def get_artifacts(self) -> list[Path]:
        """Paths of the artifact files, sorted."""
        return [self.artifacts_dir / name for name in self.list_artifacts()]

    def list_artifacts(self) -> list[str]:
        return _artifacts.list_names(self.artifacts_dir)

    def artifact_exists(self, filename: str) -> bool:
        return _artifacts.exists(self.artifacts_dir, filename)

    def load_artifact(self, filename: str, loader: Callable[[Path], Any] | None = None) -> Any:
        """Load an artifact by its extension (or with ``loader``); None when missing."""
        return _artifacts.load(self.artifacts_dir, filename, loader)

    def get_script_runs(self) -> list[dict[str, Any]]:
        runs: list[dict[str, Any]] = self._readable("script runs", store.read_script_runs, [])
        return runs

    # --- updates --------------------------------------------------------------------------

    def _change(self, **kwargs: Any) -> None:
        manage.update(self._rec, manage.Changes(**kwargs))
        self.refresh()

    def set_name(self, name: str) -> None:
        self._change(name=name)

    def set_description(self, description: str) -> None:
        self._change(description=description)

    def set_project(self, project: str) -> None:
        self._change(project=project)

    def add_tags(self, tags: list[str]) -> None:
        self._change(add_tags=_tag_list(tags))

    def remove_tags(self, tags: list[str]) -> None:
        self._change(remove_tags=_tag_list(tags))

    def set_status(self, status: str) -> None:
        """Set any status by hand (created, running, completed, failed, cancelled, staged)."""
        self._change(status=str(status))

    # --- utilities ------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Everything about the experiment as plain data."""
        duration = self.duration
        return {
            "id": self.id,
            "name": self.name,
            "project": self.project,
            "description": self.description,
            "status": self.status,
            "tags": self.tags,
            "created_at": self._rec.summary.created_at,
            "started_at": self._rec.summary.started_at,
            "completed_at": self._rec.summary.completed_at,
            "duration_seconds": duration.total_seconds() if duration is not None else None,
            "script_path": self._rec.summary.script_path,
            "archived": self.archived,
            "experiment_dir": str(self.experiment_dir),
            "params": self.get_params(),
            "metrics": self.get_metrics(),
            "artifacts": self.list_artifacts(),
            "script_runs": self.get_script_runs(),
            "dependencies": self.dependencies,
            "resources": self.resources,
        }

    def refresh(self) -> None:
        """Forget cached data and re-read the experiment (wherever it now lives)."""
        self._set(query.refresh(self._rec))

    def __repr__(self) -> str:
        return f"Experiment(id={self.id!r}, name={self.name!r}, status={self.status!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Experiment) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)


def _tag_list(tags: list[str] | str) -> list[str]:
    return [tags] if isinstance(tags, str) else list(tags)
