"""modelshelf: models on any bucket, no server.

Content-addressed, write-once artifacts over fsspec; a Parquet model registry shared through
the same bucket; MLflow-format models. ``import modelshelf as mlflow`` runs the covered parts
of an MLflow script unchanged.

Importing this package is cheap: the public names below load their modules on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it (loaded on first attribute access)
_LAZY: dict[str, str] = {
    # shelves
    "Shelf": "modelshelf._shelf",
    "set_shelf": "modelshelf._shelf",
    "get_shelf": "modelshelf._shelf",
    # client
    "Client": "modelshelf.client",
    "MlflowClient": "modelshelf.client",
    "register_model": "modelshelf._register",
    # the fluent run API, as mlflow.<name>
    "active_run": "modelshelf.runs",
    "create_experiment": "modelshelf.runs",
    "delete_tag": "modelshelf.runs",
    "end_run": "modelshelf.runs",
    "get_artifact_uri": "modelshelf.runs",
    "get_experiment": "modelshelf.runs",
    "get_experiment_by_name": "modelshelf.runs",
    "get_registry_uri": "modelshelf.runs",
    "get_run": "modelshelf.runs",
    "get_tracking_uri": "modelshelf.runs",
    "last_active_run": "modelshelf.runs",
    "log_artifact": "modelshelf.runs",
    "log_artifacts": "modelshelf.runs",
    "log_dict": "modelshelf.runs",
    "log_metric": "modelshelf.runs",
    "log_metrics": "modelshelf.runs",
    "log_param": "modelshelf.runs",
    "log_params": "modelshelf.runs",
    "log_text": "modelshelf.runs",
    "search_runs": "modelshelf.runs",
    "set_experiment": "modelshelf.runs",
    "set_registry_uri": "modelshelf.runs",
    "set_tag": "modelshelf.runs",
    "set_tags": "modelshelf.runs",
    "set_tracking_uri": "modelshelf.runs",
    "start_run": "modelshelf.runs",
}

# submodules reachable as attributes (``modelshelf.pyfunc``, ``modelshelf.sklearn`` …)
_SUBMODULES: dict[str, str] = {
    "artifacts": "modelshelf.artifacts",
    "cas": "modelshelf.cas",
    "errors": "modelshelf.errors",
    "flavors": "modelshelf.flavors",
    "gc": "modelshelf.gc",
    "models": "modelshelf.models",
    "pyfunc": "modelshelf.pyfunc",
    "registry": "modelshelf.registry",
    "runs": "modelshelf.runs",
    "storage": "modelshelf.storage",
    "testing": "modelshelf.testing",
    "uri": "modelshelf.uri",
    # flavors, as mlflow.sklearn and friends
    "lightgbm": "modelshelf.flavors.lightgbm",
    "onnx": "modelshelf.flavors.onnx",
    "pytorch": "modelshelf.flavors.pytorch",
    "sklearn": "modelshelf.flavors.sklearn",
    "xgboost": "modelshelf.flavors.xgboost",
}

__all__ = sorted([*_LAZY, *_SUBMODULES, "__version__"])


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is not None:
        value = getattr(importlib.import_module(module_name), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        module = importlib.import_module(_SUBMODULES[name])
        globals()[name] = module
        return module
    raise AttributeError(f"module 'modelshelf' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from modelshelf._register import register_model
    from modelshelf._shelf import Shelf, get_shelf, set_shelf
    from modelshelf.client import Client, MlflowClient
    from modelshelf.runs import (
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
