"""``modelshelf.entities``: MLflow's ``mlflow.entities`` names, for what modelshelf has.

``LoggedModel`` is :class:`~modelshelf.runs.LoggedModelInfo` (a model logged in a run);
``ModelVersion`` and ``RegisteredModel`` are also in :mod:`modelshelf.entities.model_registry`,
as in MLflow.
"""

from __future__ import annotations

from modelshelf.registry import ModelVersion, RegisteredModel
from modelshelf.runs import (
    Experiment,
    FileInfo,
    Metric,
    Param,
    Run,
    RunData,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)
from modelshelf.runs import LoggedModelInfo as LoggedModel

__all__ = [
    "Experiment",
    "FileInfo",
    "LoggedModel",
    "Metric",
    "ModelVersion",
    "Param",
    "RegisteredModel",
    "Run",
    "RunData",
    "RunInfo",
    "RunStatus",
    "RunTag",
    "ViewType",
]
