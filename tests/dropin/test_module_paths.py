"""MLflow's module paths exist under modelshelf and hold the names scripts import."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from typing import Any

import pandas as pd
import pytest

import modelshelf
from modelshelf import errors
from modelshelf._shelf import Shelf

PATHS = {
    "modelshelf.types": ["ColSpec", "DataType", "ParamSchema", "ParamSpec", "Schema", "TensorSpec"],
    "modelshelf.types.schema": ["ColSpec", "DataType", "Schema", "TensorSpec", "Array", "Object"],
    "modelshelf.entities": [
        "ViewType", "Run", "RunInfo", "RunData", "Experiment", "ModelVersion",
        "RegisteredModel", "LoggedModel", "Metric", "Param", "RunTag", "FileInfo", "RunStatus",
    ],
    "modelshelf.entities.model_registry": ["ModelVersion", "RegisteredModel"],
    "modelshelf.tracking": ["MlflowClient"],
    "modelshelf.exceptions": ["MlflowException"],
    "modelshelf.models.utils": [
        "get_model_info", "set_signature", "validate_serving_input",
        "convert_input_example_to_serving_input",
    ],
    "modelshelf.models.model": ["Model", "ModelInfo"],
}  # fmt: skip

# where each name already lives: the facade must hand out the very same object
HOMES = {
    "ColSpec": "modelshelf.models.signature",
    "Schema": "modelshelf.models.signature",
    "ModelVersion": "modelshelf.registry",
    "Run": "modelshelf.runs",
    "ViewType": "modelshelf.runs",
    "MlflowClient": "modelshelf.client",
    "Model": "modelshelf.models",
}


@pytest.mark.parametrize("path", sorted(PATHS))
def test_module_path_gives_the_names(path: str) -> None:
    module = importlib.import_module(path)
    for name in PATHS[path]:
        value = getattr(module, name)
        assert name in module.__all__
        if name in HOMES:
            assert value is getattr(importlib.import_module(HOMES[name]), name), (path, name)


@pytest.mark.parametrize(
    "flavor", ["sklearn", "xgboost", "lightgbm", "pytorch", "onnx", "transformers"]
)
def test_flavor_submodule_is_the_flavor_module(flavor: str) -> None:
    module = importlib.import_module(f"modelshelf.{flavor}")
    assert module is importlib.import_module(f"modelshelf.flavors.{flavor}")
    assert getattr(modelshelf, flavor) is module
    assert callable(module.log_model) and callable(module.load_model)


def test_submodule_imports_stay_cheap_and_never_touch_mlflow() -> None:
    code = (
        "import sys, json; import modelshelf.sklearn, modelshelf.types, modelshelf.entities, "
        "modelshelf.tracking, modelshelf.exceptions, modelshelf.models.utils; "
        "print(json.dumps([m for m in ('mlflow', 'sklearn', 'torch') if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_a_script_with_mlflow_style_submodule_imports(
    shelf: Shelf, clf: Any, xy: tuple[pd.DataFrame, Any]
) -> None:
    import modelshelf as mlflow
    import modelshelf.sklearn  # what `import mlflow.sklearn` becomes
    from modelshelf.models import infer_signature
    from modelshelf.tracking import MlflowClient

    X, _ = xy
    mlflow.set_experiment("dropin")
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            clf, name="model", signature=infer_signature(X, clf.predict(X)),
            registered_model_name="dropin-clf",
        )  # fmt: skip
    loaded = modelshelf.sklearn.load_model("models:/dropin-clf/1")
    assert (loaded.predict(X) == clf.predict(X)).all()
    assert MlflowClient().get_model_version("dropin-clf", 1).run_id == info.run_id


# ------------------------------------------------------------------------- MlflowException


def test_mlflow_exception_catches_modelshelf_errors(shelf: Shelf) -> None:
    from modelshelf.exceptions import MlflowException
    from modelshelf.tracking import MlflowClient

    with pytest.raises(MlflowException) as caught:
        MlflowClient().get_registered_model("missing")
    assert isinstance(caught.value, errors.ModelNotFoundError)
    assert caught.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as bad:
        MlflowClient().create_registered_model("bad/name")
    assert bad.value.error_code == "INVALID_PARAMETER_VALUE"
    MlflowClient().create_registered_model("twice")
    with pytest.raises(MlflowException) as twice:
        MlflowClient().create_registered_model("twice")
    assert twice.value.error_code == "RESOURCE_ALREADY_EXISTS"


def _error_classes() -> list[type[errors.ModelshelfError]]:
    return [
        c
        for c in vars(errors).values()
        if isinstance(c, type) and issubclass(c, errors.ModelshelfError)
    ]


@pytest.mark.interop
def test_every_error_code_is_one_of_mlflows() -> None:
    databricks_pb2 = pytest.importorskip("mlflow.protos.databricks_pb2")
    for cls in _error_classes():
        databricks_pb2.ErrorCode.Value(cls.error_code)  # raises on an unknown name
