"""Runs: a namespace of write-once artifacts with lightweight records.

A run has an id (32 hex), a name, an experiment, start/end times, a status, write-once
params, append-only metrics and tags. Logging an artifact at a path is write-once: the same
bytes again are a no-op, other bytes raise :class:`~modelshelf.errors.ArtifactExistsError`.
``runs:/<run_id>/<path>`` names an artifact.
"""

from __future__ import annotations

from modelshelf.runs._artifacts import Located, Pointer, clean_artifact_path
from modelshelf.runs._client import MetricHistory, RunsClient
from modelshelf.runs._download import materialise
from modelshelf.runs._entities import (
    Experiment,
    FileInfo,
    LoggedModelInfo,
    Metric,
    Param,
    Run,
    RunData,
    RunInfo,
    RunStatus,
    RunTag,
)
from modelshelf.runs._fluent import (
    ActiveRun,
    active_run,
    create_experiment,
    delete_tag,
    end_run,
    get_artifact_uri,
    get_experiment,
    get_experiment_by_name,
    get_registry_uri,
    get_run,
    get_tracking_uri,
    last_active_run,
    log_artifact,
    log_artifacts,
    log_dict,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    log_text,
    search_runs,
    set_experiment,
    set_registry_uri,
    set_tag,
    set_tags,
    set_tracking_uri,
    start_run,
)
from modelshelf.runs._layout import check_run_id
from modelshelf.runs._search import ViewType
from modelshelf.runs._uris import parse_runs_uri, runs_uri

__all__ = [
    "ActiveRun",
    "Experiment",
    "FileInfo",
    "Located",
    "LoggedModelInfo",
    "Metric",
    "MetricHistory",
    "Param",
    "Pointer",
    "Run",
    "RunData",
    "RunInfo",
    "RunStatus",
    "RunTag",
    "RunsClient",
    "ViewType",
    "active_run",
    "check_run_id",
    "clean_artifact_path",
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
    "materialise",
    "parse_runs_uri",
    "runs_uri",
    "search_runs",
    "set_experiment",
    "set_registry_uri",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
]
