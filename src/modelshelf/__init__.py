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
    "get_logged_model": "modelshelf._fluent",
    "search_logged_models": "modelshelf._fluent",
    "search_model_versions": "modelshelf._fluent",
    "search_registered_models": "modelshelf._fluent",
    "export_model_version": "modelshelf._model_signing",
    "register_signed_model": "modelshelf._model_signing",
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
    "entities": "modelshelf.entities",
    "exceptions": "modelshelf.exceptions",
    "tracking": "modelshelf.tracking",
    "types": "modelshelf.types",
    "cas": "modelshelf.cas",
    "errors": "modelshelf.errors",
    "flavors": "modelshelf.flavors",
    "gc": "modelshelf.gc",
    "models": "modelshelf.models",
    "pyfunc": "modelshelf.pyfunc",
    "registry": "modelshelf.registry",
    "runs": "modelshelf.runs",
    "signing": "modelshelf.signing",
    "storage": "modelshelf.storage",
    "testing": "modelshelf.testing",
    "uri": "modelshelf.uri",
    # flavors, as mlflow.sklearn and friends
    "lightgbm": "modelshelf.lightgbm",
    "onnx": "modelshelf.onnx",
    "pytorch": "modelshelf.pytorch",
    "sklearn": "modelshelf.sklearn",
    "transformers": "modelshelf.transformers",
    "xgboost": "modelshelf.xgboost",
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
    from modelshelf._fluent import (
        get_logged_model as get_logged_model,
    )
    from modelshelf._fluent import (
        search_logged_models as search_logged_models,
    )
    from modelshelf._fluent import (
        search_model_versions as search_model_versions,
    )
    from modelshelf._fluent import (
        search_registered_models as search_registered_models,
    )
    from modelshelf._register import (
        register_model as register_model,
    )
    from modelshelf._shelf import (
        Shelf as Shelf,
    )
    from modelshelf._shelf import (
        get_shelf as get_shelf,
    )
    from modelshelf._shelf import (
        set_shelf as set_shelf,
    )
    from modelshelf.client import (
        Client as Client,
    )
    from modelshelf.client import (
        MlflowClient as MlflowClient,
    )
    from modelshelf.runs import (
        active_run as active_run,
    )
    from modelshelf.runs import (
        create_experiment as create_experiment,
    )
    from modelshelf.runs import (
        delete_tag as delete_tag,
    )
    from modelshelf.runs import (
        end_run as end_run,
    )
    from modelshelf.runs import (
        get_artifact_uri as get_artifact_uri,
    )
    from modelshelf.runs import (
        get_experiment as get_experiment,
    )
    from modelshelf.runs import (
        get_experiment_by_name as get_experiment_by_name,
    )
    from modelshelf.runs import (
        get_registry_uri as get_registry_uri,
    )
    from modelshelf.runs import (
        get_run as get_run,
    )
    from modelshelf.runs import (
        get_tracking_uri as get_tracking_uri,
    )
    from modelshelf.runs import (
        last_active_run as last_active_run,
    )
    from modelshelf.runs import (
        log_artifact as log_artifact,
    )
    from modelshelf.runs import (
        log_artifacts as log_artifacts,
    )
    from modelshelf.runs import (
        log_dict as log_dict,
    )
    from modelshelf.runs import (
        log_metric as log_metric,
    )
    from modelshelf.runs import (
        log_metrics as log_metrics,
    )
    from modelshelf.runs import (
        log_param as log_param,
    )
    from modelshelf.runs import (
        log_params as log_params,
    )
    from modelshelf.runs import (
        log_text as log_text,
    )
    from modelshelf.runs import (
        search_runs as search_runs,
    )
    from modelshelf.runs import (
        set_experiment as set_experiment,
    )
    from modelshelf.runs import (
        set_registry_uri as set_registry_uri,
    )
    from modelshelf.runs import (
        set_tag as set_tag,
    )
    from modelshelf.runs import (
        set_tags as set_tags,
    )
    from modelshelf.runs import (
        set_tracking_uri as set_tracking_uri,
    )
    from modelshelf.runs import (
        start_run as start_run,
    )
