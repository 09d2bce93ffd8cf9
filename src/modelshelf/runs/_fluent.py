"""MLflow's fluent run API (``start_run``, ``log_param``, ``log_artifact`` …) on the current shelf."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

from modelshelf._shelf import Shelf, get_shelf, set_shelf
from modelshelf.errors import ConfigurationError, ImmutableValueError, InvalidInputError
from modelshelf.runs._client import RunsClient
from modelshelf.runs._entities import Experiment, Run, RunData, RunInfo, RunStatus
from modelshelf.runs._layout import DEFAULT_EXPERIMENT, now_ms
from modelshelf.runs._records import make_metric
from modelshelf.runs._uris import runs_uri

__all__ = [
    "ActiveRun",
    "active_run",
    "create_experiment",
    "delete_tag",
    "end_run",
    "get_artifact_uri",
    "get_experiment",
    "get_experiment_by_name",
    "get_registry_uri",
    "get_run",
    "get_tracking_uri",
    "last_active_run",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_text",
    "search_runs",
    "set_experiment",
    "set_registry_uri",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
]

_local = threading.local()
_state_lock = threading.Lock()
_active_experiment: str | None = None
_last_run_id: str | None = None
_client_cache: tuple[Shelf, RunsClient] | None = None


class ActiveRun:
    """The run ``start_run`` returned: use it as a context manager.

    Leaving the block normally ends the run FINISHED; an exception ends it FAILED (and
    KeyboardInterrupt KILLED), and the exception propagates.
    """

    def __init__(self, run: Run, *, resumed: bool = False) -> None:
        self._run = run
        self._resumed = resumed

    @property
    def info(self) -> RunInfo:
        return self._run.info

    @property
    def data(self) -> RunData:
        return self._run.data

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            status = RunStatus.FINISHED
        elif issubclass(exc_type, KeyboardInterrupt):
            status = RunStatus.KILLED
        else:
            status = RunStatus.FAILED
        if any(r.info.run_id == self.info.run_id for r in _stack()):
            end_run(status)

    def __repr__(self) -> str:
        return f"<ActiveRun: run_id={self.info.run_id!r}, run_name={self.info.run_name!r}>"


def _stack() -> list[ActiveRun]:
    stack: list[ActiveRun] | None = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def _client() -> RunsClient:
    global _client_cache
    shelf = get_shelf()
    with _state_lock:
        if _client_cache is None or _client_cache[0] is not shelf:
            _client_cache = (shelf, RunsClient(shelf))
        return _client_cache[1]


def _experiment_name() -> str:
    return _active_experiment or os.environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT


# -------------------------------------------------------------------------------- shelves
def set_tracking_uri(uri: str | os.PathLike[str], **storage_options: Any) -> None:
    """MLflow's name for :func:`modelshelf.set_shelf`: ``uri`` is a shelf URL (folder or bucket).

    Raises:
        ConfigurationError: a tracking-server or database URI; modelshelf needs no server.
    """
    text = os.fspath(uri)
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme in ("http", "https", "databricks", "sqlite", "postgresql", "mysql", "mssql") or (
        text == "databricks" or scheme.startswith(("postgresql+", "mysql+"))
    ):
        raise ConfigurationError(
            f"{text!r} is a tracking server or database; modelshelf keeps everything on a "
            "shelf instead: pass a folder or bucket URL such as './shelf' or 's3://bucket/shelf'"
        )
    set_shelf(text, **storage_options)


def set_registry_uri(uri: str | os.PathLike[str], **storage_options: Any) -> None:
    """MLflow's registry setter: runs and the registry share one shelf, so this sets it."""
    set_tracking_uri(uri, **storage_options)


def get_tracking_uri() -> str:
    """The current shelf URL."""
    return get_shelf().url


def get_registry_uri() -> str:
    """The current shelf URL (the registry lives on it)."""
    return get_shelf().url


# ---------------------------------------------------------------------------- experiments
def set_experiment(
    experiment_name: str | None = None, experiment_id: str | None = None
) -> Experiment:
    """Make runs start in this experiment (created if absent when given by name).

    Raises:
        InvalidInputError: neither or both of name and id.
        NotFoundError: ``experiment_id`` names no experiment.
    """
    global _active_experiment
    if (experiment_name is None) == (experiment_id is None):
        raise InvalidInputError("pass exactly one of experiment_name and experiment_id")
    client = _client()
    if experiment_id is not None:
        exp = client.get_experiment(str(experiment_id))
    else:
        exp = client.ensure_experiment(experiment_name)  # type: ignore[arg-type]
    _active_experiment = exp.name
    return exp


def create_experiment(name: str, tags: Mapping[str, Any] | None = None) -> str:
    """Create an experiment; returns its id.

    Raises:
        AlreadyExistsError: it exists already.
    """
    return _client().create_experiment(name, tags)


def get_experiment(experiment_id: str) -> Experiment:
    """The experiment with that id.

    Raises:
        NotFoundError: no such experiment.
    """
    return _client().get_experiment(experiment_id)


def get_experiment_by_name(name: str) -> Experiment | None:
    """The experiment called ``name``, or None."""
    return _client().get_experiment_by_name(name)


# ----------------------------------------------------------------------------------- runs
def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    parent_run_id: str | None = None,
    tags: Mapping[str, Any] | None = None,
    description: str | None = None,
    *,
    experiment_name: str | None = None,
    **_ignored: Any,
) -> ActiveRun:
    """Start (or, with ``run_id``, resume) a run and make it the active one.

    Use it as ``with start_run(): ...``: the run ends FINISHED, or FAILED on an exception.

    Raises:
        InvalidInputError: a run is active already and ``nested`` is False.
        RunNotFoundError: ``run_id`` names no run.
    """
    stack = _stack()
    if stack and not nested:
        raise InvalidInputError(
            f"run {stack[-1].info.run_id} is already active; end it with end_run() first, "
            "or pass nested=True to start a child run"
        )
    client = _client()
    if run_id is not None:
        run = client.get_run(run_id)
    else:
        all_tags = {k: str(v) for k, v in (tags or {}).items()}
        parent = parent_run_id or (stack[-1].info.run_id if stack and nested else None)
        if parent:
            all_tags["mlflow.parentRunId"] = parent
        if description:
            all_tags["mlflow.note.content"] = description
        if experiment_id is None and experiment_name is None:
            experiment_name = _experiment_name()
        run = client.create_run(
            experiment_id=experiment_id,
            tags=all_tags,
            run_name=run_name,
            experiment_name=experiment_name,
        )
    active = ActiveRun(run, resumed=run_id is not None)
    stack.append(active)
    return active


def end_run(status: str = RunStatus.FINISHED) -> None:
    """End the active run (if any) with ``status``."""
    global _last_run_id
    stack = _stack()
    if not stack:
        return
    run = stack.pop()
    _last_run_id = run.info.run_id
    try:
        _client().set_terminated(run.info.run_id, status, now_ms())
    except ImmutableValueError:
        if not run._resumed:
            raise
        # A resumed run that had ended keeps its first end record (write-once).


def active_run() -> ActiveRun | None:
    """The active run of this thread, or None."""
    stack = _stack()
    return stack[-1] if stack else None


def last_active_run() -> Run | None:
    """The active run, else the last run ended in this process."""
    current = active_run()
    run_id = current.info.run_id if current else _last_run_id
    return _client().get_run(run_id) if run_id else None


def _run_id() -> str:
    current = active_run()
    if current is None:
        current = start_run()
    return current.info.run_id


def get_run(run_id: str) -> Run:
    """The run with that id.

    Raises:
        RunNotFoundError: no such run.
    """
    return _client().get_run(run_id)


def log_param(key: str, value: Any) -> Any:
    """Log a write-once param on the active run (starting one if none); returns ``value``.

    Raises:
        ImmutableValueError: the param already holds another value.
    """
    return _client().log_param(_run_id(), key, value)


def log_params(params: Mapping[str, Any]) -> None:
    """Log several write-once params on the active run.

    Raises:
        ImmutableValueError: a param already holds another value.
    """
    _client().log_params(_run_id(), params)


def log_metric(
    key: str, value: float, step: int | None = None, timestamp: int | None = None, **_ignored: Any
) -> None:
    """Append a metric value to the active run."""
    _client().log_metric(_run_id(), key, value, timestamp, step)


def log_metrics(
    metrics: Mapping[str, float],
    step: int | None = None,
    timestamp: int | None = None,
    **_ignored: Any,
) -> None:
    """Append several metric values to the active run (one object)."""
    ts = timestamp or now_ms()
    batch = [make_metric(k, v, ts, step) for k, v in metrics.items()]
    _client().log_metrics(_run_id(), batch)


def set_tag(key: str, value: Any) -> None:
    """Set a tag on the active run."""
    _client().set_tag(_run_id(), key, value)


def set_tags(tags: Mapping[str, Any]) -> None:
    """Set several tags on the active run."""
    _client().set_tags(_run_id(), tags)


def delete_tag(key: str) -> None:
    """Remove a tag from the active run."""
    _client().delete_tag(_run_id(), key)


def log_artifact(
    local_path: str | os.PathLike[str], artifact_path: str | None = None, run_id: str | None = None
) -> None:
    """Store a file in the active run (or ``run_id``), write-once.

    Raises:
        ArtifactExistsError: the path holds other bytes, or nests with another artifact.
    """
    _client().log_artifact(run_id or _run_id(), local_path, artifact_path)


def log_artifacts(
    local_dir: str | os.PathLike[str], artifact_path: str | None = None, run_id: str | None = None
) -> None:
    """Store a folder in the active run (or ``run_id``), write-once.

    Raises:
        ArtifactExistsError: a path holds other bytes, or nests with another artifact.
    """
    _client().log_artifacts(run_id or _run_id(), local_dir, artifact_path)


def log_text(text: str, artifact_file: str, run_id: str | None = None) -> None:
    """Store text as a file of the active run."""
    _client().log_text(run_id or _run_id(), text, artifact_file)


def log_dict(dictionary: Any, artifact_file: str, run_id: str | None = None) -> None:
    """Store a dict as JSON (or YAML for .yaml/.yml) in the active run."""
    _client().log_dict(run_id or _run_id(), dictionary, artifact_file)


def get_artifact_uri(artifact_path: str | None = None) -> str:
    """``runs:/<active run id>/<artifact_path>`` (a URI every modelshelf loader resolves)."""
    return runs_uri(_run_id(), artifact_path or "")


def search_runs(
    experiment_ids: str | Sequence[str] | None = None,
    filter_string: str = "",
    run_view_type: int | None = None,
    max_results: int = 100000,
    order_by: Sequence[str] | None = None,
    output_format: str = "pandas",
    search_all_experiments: bool = False,
    experiment_names: str | Sequence[str] | None = None,
) -> Any:
    """Runs of the current experiment (or the ones named), as a pandas DataFrame like
    MLflow's, or a list of :class:`Run` with ``output_format="list"``.

    Raises:
        InvalidInputError: a malformed filter, order_by or output_format.
    """
    if output_format not in ("pandas", "list"):
        raise InvalidInputError(f"output_format must be 'pandas' or 'list', got {output_format!r}")
    client = _client()
    if experiment_ids is None and experiment_names is None and not search_all_experiments:
        exp = client.get_experiment_by_name(_experiment_name())
        if exp is None:
            runs: list[Run] = []
        else:
            experiment_ids = [exp.experiment_id]
    if experiment_ids is not None or experiment_names is not None or search_all_experiments:
        runs = client.search_runs(
            experiment_ids,
            filter_string,
            run_view_type=run_view_type,
            max_results=max_results,
            order_by=order_by,
            experiment_names=experiment_names,
        )
    if output_format == "list":
        return runs
    return _runs_frame(runs)


def _runs_frame(runs: Sequence[Run]) -> Any:
    import pandas as pd

    rows = []
    for run in runs:
        row: dict[str, Any] = {
            "run_id": run.info.run_id,
            "experiment_id": run.info.experiment_id,
            "status": run.info.status,
            "artifact_uri": run.info.artifact_uri,
            "start_time": pd.to_datetime(run.info.start_time, unit="ms", utc=True),
            "end_time": (
                pd.to_datetime(run.info.end_time, unit="ms", utc=True)
                if run.info.end_time is not None
                else pd.NaT
            ),
        }
        row.update({f"metrics.{k}": v for k, v in run.data.metrics.items()})
        row.update({f"params.{k}": v for k, v in run.data.params.items()})
        row.update({f"tags.{k}": v for k, v in run.data.tags.items()})
        rows.append(row)
    base = ["run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time"]
    return pd.DataFrame(rows, columns=None if rows else base)


def _reset() -> None:
    """Forget active runs and the active experiment (tests use this)."""
    global _active_experiment, _last_run_id, _client_cache
    _local.stack = []
    _active_experiment = None
    _last_run_id = None
    _client_cache = None
