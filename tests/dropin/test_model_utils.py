"""MLflow's model utilities (mlflow.models.<name>) and Model.load of model URIs."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import modelshelf
from modelshelf._shelf import Shelf
from modelshelf.errors import ImmutableValueError, InvalidInputError
from modelshelf.exceptions import MlflowException
from modelshelf.models import Model, ModelSignature, infer_signature
from modelshelf.models import utils as mutils


@pytest.fixture
def logged(shelf: Shelf, clf: Any, xy: tuple[pd.DataFrame, Any]) -> Any:
    X, _ = xy
    with modelshelf.start_run():
        return modelshelf.sklearn.log_model(
            clf, name="model", input_example=X.head(3), registered_model_name="clf"
        )


def test_model_load_reads_shelf_uris(logged: Any) -> None:
    local = modelshelf.artifacts.download_artifacts(logged.model_uri)
    expected = Model.load(local)
    for uri in (logged.model_uri, "models:/clf/1", f"models:/{logged.model_id}", logged.digest):
        assert Model.load(uri) == expected, uri
    assert Model.load(f"{logged.model_uri}/MLmodel") == expected


def test_get_model_info(logged: Any) -> None:
    for uri in (logged.model_uri, "models:/clf/1"):
        info = modelshelf.models.get_model_info(uri)
        assert info.model_uri == uri
        assert (info.digest, info.run_id, info.model_id) == (
            logged.digest, logged.run_id, logged.model_id,
        )  # fmt: skip
        assert info.flavors == logged.flavors and info.signature == logged.signature
        assert info.saved_input_example_info == logged.saved_input_example_info
        assert info.model_uuid == logged.model_uuid
    local = modelshelf.artifacts.download_artifacts(logged.model_uri)
    assert mutils.get_model_info(local).digest == logged.digest  # same bytes, same digest


def test_set_signature_on_a_local_folder(logged: Any, xy: tuple[pd.DataFrame, Any]) -> None:
    X, _ = xy
    local = modelshelf.artifacts.download_artifacts(logged.model_uri, dst_path=None)
    sig = infer_signature(X[["a"]], np.zeros(len(X)))
    mutils.set_signature(local, sig)
    assert Model.load(local).signature == sig
    assert Model.load(logged.model_uri).signature == logged.signature  # shelf copy unchanged
    with pytest.raises(ImmutableValueError, match="write-once"):
        mutils.set_signature(logged.model_uri, sig)
    with pytest.raises(InvalidInputError, match="registered versions are read-only"):
        mutils.set_signature("models:/clf/1", sig)
    with pytest.raises(InvalidInputError, match="ModelSignature"):
        mutils.set_signature(local, {"inputs": []})  # type: ignore[arg-type]
    assert isinstance(sig, ModelSignature)


def test_convert_input_example_matches_the_logged_serving_input(
    logged: Any, xy: tuple[pd.DataFrame, Any]
) -> None:
    X, _ = xy
    local = Path(modelshelf.artifacts.download_artifacts(logged.model_uri))
    logged_text = (local / "serving_input_example.json").read_text()
    assert mutils.convert_input_example_to_serving_input(X.head(3)) == logged_text
    assert mutils.convert_input_example_to_serving_input(None) is None
    with_params = json.loads(
        mutils.convert_input_example_to_serving_input((X.head(1), {"k": 2})) or ""
    )
    assert with_params["params"] == {"k": 2} and "dataframe_split" in with_params


def test_validate_serving_input_predicts_as_the_server(
    logged: Any, clf: Any, xy: tuple[pd.DataFrame, Any]
) -> None:
    X, _ = xy
    payload = mutils.convert_input_example_to_serving_input(X.head(5))
    assert payload is not None
    for given in (payload, json.loads(payload)):
        got = modelshelf.models.validate_serving_input("models:/clf/1", given)
        assert list(np.asarray(got)) == list(clf.predict(X.head(5)))
    records = {"dataframe_records": X.head(2).to_dict(orient="records")}
    assert list(np.asarray(mutils.validate_serving_input(logged.model_uri, records))) == list(
        clf.predict(X.head(2))
    )
    with pytest.raises(MlflowException) as bad:
        mutils.validate_serving_input(logged.model_uri, {"nonsense": 1})
    assert isinstance(bad.value, InvalidInputError)
    with pytest.raises(InvalidInputError):
        mutils.validate_serving_input(logged.model_uri, 42)  # type: ignore[arg-type]


@pytest.mark.interop
@pytest.mark.parametrize("kind", ["frame", "frame_params", "array", "dict"])
def test_convert_input_example_matches_mlflow(kind: str, xy: tuple[pd.DataFrame, Any]) -> None:
    mlflow_models = pytest.importorskip("mlflow.models")
    X, _ = xy
    example: Any = {
        "frame": X.head(3),
        "frame_params": (X.head(2), {"temperature": 0.5}),
        "array": X.head(3).to_numpy(),
        "dict": {"a": [1.0, 2.0], "b": [3.0, 4.0]},
    }[kind]
    mine = mutils.convert_input_example_to_serving_input(example)
    theirs = mlflow_models.convert_input_example_to_serving_input(example)
    assert mine is not None and theirs is not None
    assert json.loads(mine) == json.loads(theirs)


@pytest.mark.interop
def test_model_utils_agree_with_mlflow_on_a_local_folder(
    logged: Any,
    clf: Any,
    xy: tuple[pd.DataFrame, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mlflow_models = pytest.importorskip("mlflow.models")
    # MLflow opens a tracking store (a sqlite file in the working directory by default)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)
    X, _ = xy
    local = modelshelf.artifacts.download_artifacts(logged.model_uri)
    # MLflow's get_model_info looks the model id up on its tracking server; its fields are
    # those of the MLmodel file as MLflow's Model.load reads it
    mine, theirs = mutils.get_model_info(local), mlflow_models.Model.load(local)
    for field in (
        "artifact_path", "flavors", "model_uuid", "run_id", "saved_input_example_info",
        "utc_time_created", "metadata",
    ):  # fmt: skip
        assert getattr(mine, field) == getattr(theirs, field), field
    assert mine.signature.to_dict() == theirs.signature.to_dict()
    payload = mutils.convert_input_example_to_serving_input(X.head(4))
    assert payload is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLflow deprecates its public wrapper
        expected = mlflow_models.validate_serving_input(local, payload)
    got = mutils.validate_serving_input(local, payload)
    assert list(np.asarray(got)) == list(np.asarray(expected)) == list(clf.predict(X.head(4)))
