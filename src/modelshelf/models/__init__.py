"""MLflow-format models: the ``MLmodel`` file, signatures, input examples, environments.

Importing this package is cheap (PyYAML only); the signature layer (numpy/pandas) loads on
first use of one of its names.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from modelshelf.models._mlmodel import (
    MLFLOW_FORMAT_VERSION,
    MLMODEL_FILE_NAME,
    PYFUNC_FLAVOR,
    Model,
)

if TYPE_CHECKING:
    from modelshelf.models._enforce import enforce_input, enforce_params
    from modelshelf.models._infer import infer_signature
    from modelshelf.models.signature import (
        ColSpec,
        ModelSignature,
        ParamSchema,
        ParamSpec,
        Schema,
        TensorSpec,
    )

__all__ = [
    "MLFLOW_FORMAT_VERSION",
    "MLMODEL_FILE_NAME",
    "PYFUNC_FLAVOR",
    "AnyType",
    "Array",
    "ColSpec",
    "DataType",
    "Map",
    "Model",
    "ModelInfo",
    "Object",
    "Property",
    "ModelSignature",
    "ParamSchema",
    "ParamSpec",
    "Schema",
    "TensorSpec",
    "convert_input_example_to_serving_input",
    "enforce_input",
    "enforce_params",
    "get_model_info",
    "infer_signature",
    "set_signature",
    "validate_serving_input",
]

_LAZY = {
    "AnyType": "modelshelf.models.signature",
    "Array": "modelshelf.models.signature",
    "DataType": "modelshelf.models.signature",
    "Map": "modelshelf.models.signature",
    "Object": "modelshelf.models.signature",
    "Property": "modelshelf.models.signature",
    "ModelInfo": "modelshelf.models._logging",
    "ColSpec": "modelshelf.models.signature",
    "ModelSignature": "modelshelf.models.signature",
    "ParamSchema": "modelshelf.models.signature",
    "ParamSpec": "modelshelf.models.signature",
    "Schema": "modelshelf.models.signature",
    "TensorSpec": "modelshelf.models.signature",
    "infer_signature": "modelshelf.models._infer",
    "enforce_input": "modelshelf.models._enforce",
    "enforce_params": "modelshelf.models._enforce",
    "convert_input_example_to_serving_input": "modelshelf.models.utils",
    "get_model_info": "modelshelf.models.utils",
    "set_signature": "modelshelf.models.utils",
    "validate_serving_input": "modelshelf.models.utils",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'modelshelf.models' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
