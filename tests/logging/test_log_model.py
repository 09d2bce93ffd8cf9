"""log_model end to end: save, store as a tree in the run, register, load back by URI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

import modelshelf as mlflow
from modelshelf._shelf import reset_shelf
from modelshelf.errors import ArtifactExistsError
from modelshelf.models import Model
from modelshelf.models._logging import ModelshelfDeprecationWarning


@pytest.fixture
def data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(40, 3)), columns=["a", "b", "c"])
    y = X.to_numpy() @ np.array([1.5, -2.0, 0.5]) + 3.0
    return X, y


@pytest.fixture
def on_shelf(shelf_factory: Any, request: pytest.FixtureRequest) -> Any:
    backend = getattr(request, "param", "local")
    url, options = shelf_factory(backend)
    shelf = mlflow.set_shelf(url, **options)
    yield shelf
    mlflow.end_run()
    reset_shelf()


def test_sklearn_log_register_load(on_shelf: Any, data: Any) -> None:
    X, y = data
    model = LinearRegression().fit(X, y)
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(
            model, name="model", input_example=X.head(2), registered_model_name="lr"
        )
    assert info.run_id == run.info.run_id
    assert info.model_uri == f"runs:/{run.info.run_id}/model"
    assert info.registered_model_version == 1
    assert info.digest.startswith("sha256:") and info.model_id.startswith("m-")
    assert info.signature is not None  # inferred from the input example

    client = mlflow.MlflowClient()
    version = client.get_model_version("lr", 1)
    assert version.digest == info.digest and version.run_id == run.info.run_id
    assert version.model_id == info.model_id
    [logged] = client.list_logged_models(run.info.run_id)
    assert (logged.artifact_path, logged.digest) == ("model", info.digest)

    client.set_registered_model_alias("lr", "champion", 1)
    expected = model.predict(X.head(5))
    for uri in ("models:/lr@champion", "models:/lr/1", "models:/lr/latest", info.model_uri):
        assert np.allclose(mlflow.pyfunc.load_model(uri).predict(X.head(5)), expected), uri
    native = mlflow.sklearn.load_model("models:/lr@champion")
    assert np.allclose(native.predict(X.head(5)), expected)

    local = mlflow.artifacts.download_artifacts(info.model_uri)
    mlmodel = Model.load(Path(local))
    assert (mlmodel.run_id, mlmodel.artifact_path) == (run.info.run_id, "model")
    assert mlmodel.model_id == info.model_id


def test_relogging_a_different_model_at_the_same_path_is_refused(on_shelf: Any, data: Any) -> None:
    X, y = data
    with mlflow.start_run():
        mlflow.sklearn.log_model(LinearRegression().fit(X, y), name="model")
        with pytest.raises(ArtifactExistsError):
            mlflow.sklearn.log_model(LinearRegression().fit(X, y * 2), name="model")


def test_log_model_without_active_run_starts_one(on_shelf: Any, data: Any) -> None:
    X, y = data
    info = mlflow.sklearn.log_model(LinearRegression().fit(X, y), name="m")
    active = mlflow.active_run()
    assert active is not None and active.info.run_id == info.run_id


def test_artifact_path_is_accepted_with_mlflows_deprecation(on_shelf: Any, data: Any) -> None:
    X, y = data
    with mlflow.start_run(), pytest.warns(ModelshelfDeprecationWarning, match="name"):
        info = mlflow.sklearn.log_model(LinearRegression().fit(X, y), "legacy")
    assert info.name == "legacy"


class AddN(mlflow.pyfunc.PythonModel):
    def __init__(self, n: float) -> None:
        self.n = n

    def predict(self, context: Any, model_input: pd.DataFrame) -> pd.DataFrame:
        return model_input + self.n


def test_pyfunc_log_model_and_register_versions(on_shelf: Any) -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    with mlflow.start_run():
        first = mlflow.pyfunc.log_model(
            name="add", python_model=AddN(1.0), input_example=frame, registered_model_name="adder"
        )
        second = mlflow.pyfunc.log_model(
            name="add2", python_model=AddN(2.0), registered_model_name="adder"
        )
    assert (first.registered_model_version, second.registered_model_version) == (1, 2)
    assert mlflow.pyfunc.load_model("models:/adder/2").predict(frame)["x"].tolist() == [3.0, 4.0]
    assert mlflow.MlflowClient().verify(deep=True).ok


@pytest.mark.slow
@pytest.mark.parametrize("on_shelf", ["moto"], indirect=True)
def test_log_and_load_on_s3(on_shelf: Any, data: Any) -> None:
    X, y = data
    model = LinearRegression().fit(X, y)
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(model, name="model", registered_model_name="s3lr")
    loaded = mlflow.pyfunc.load_model(f"models:/s3lr/{info.registered_model_version}")
    assert np.allclose(loaded.predict(X.head(3)), model.predict(X.head(3)))
