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
}

# submodules reachable as attributes (``modelshelf.pyfunc``, ``modelshelf.sklearn`` …)
_SUBMODULES: dict[str, str] = {
    "artifacts": "modelshelf.artifacts",
    "cas": "modelshelf.cas",
    "errors": "modelshelf.errors",
    "models": "modelshelf.models",
    "pyfunc": "modelshelf.pyfunc",
    "registry": "modelshelf.registry",
    "runs": "modelshelf.runs",
    "storage": "modelshelf.storage",
    "testing": "modelshelf.testing",
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
    from modelshelf._shelf import Shelf, get_shelf, set_shelf
