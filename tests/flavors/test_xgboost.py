"""xgboost flavor: Booster and sklearn-API models in ubj/json, pyfunc, MLflow 3.17 both ways."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

xgb = pytest.importorskip("xgboost")

from modelshelf.errors import InvalidInputError  # noqa: E402
from modelshelf.flavors import xgboost as flavor  # noqa: E402
from modelshelf.models import Model  # noqa: E402
from tests.flavors._util import assert_same_as_mlflow, files, load_pyfunc  # noqa: E402

REQS = ["xgboost"]


@pytest.fixture(scope="module")
def models(xy: tuple[pd.DataFrame, np.ndarray]) -> dict[str, object]:
    X, y = xy
    return {
        "regressor": xgb.XGBRegressor(n_estimators=4, max_depth=2).fit(X, y),
        "classifier": xgb.XGBClassifier(n_estimators=4, max_depth=2).fit(X, y),
        "booster": xgb.train({"max_depth": 2}, xgb.DMatrix(X, label=y), num_boost_round=4),
    }


def _predict(native: object, X: pd.DataFrame) -> np.ndarray:
    if isinstance(native, xgb.Booster):
        return native.predict(xgb.DMatrix(X))
    return native.predict(X)  # type: ignore[attr-defined]


@pytest.mark.parametrize("fmt", ["ubj", "json"])
@pytest.mark.parametrize("kind", ["regressor", "classifier", "booster"])
def test_round_trip(tmp_path: Path, xy, models, kind: str, fmt: str) -> None:
    X, _ = xy
    native = models[kind]
    path = tmp_path / "m"
    model = flavor.save_model(native, path, model_format=fmt, input_example=X.head(3))
    assert f"model.{fmt}" in files(path)
    conf = Model.load(path).flavors
    assert conf["xgboost"]["model_class"] == f"{type(native).__module__}.{type(native).__name__}"
    assert conf["xgboost"]["model_format"] == fmt
    assert conf["python_function"] == {
        **conf["python_function"],
        "loader_module": "mlflow.xgboost",
        "data": f"model.{fmt}",
    }

    loaded = flavor.load_model(path)
    assert type(loaded) is type(native)
    expected = _predict(native, X)
    np.testing.assert_array_equal(_predict(loaded, X), expected)
    np.testing.assert_array_equal(load_pyfunc(path).predict(X), expected)
    assert model.signature is not None
    assert [c.name for c in model.signature.inputs] == ["a", "b"]
    out_type = "long" if kind == "classifier" else "float"
    assert model.signature.outputs.to_dict() == [{"type": out_type, "required": True}]


def test_unknown_format_refused(tmp_path: Path, models) -> None:
    with pytest.raises(InvalidInputError, match="model_format"):
        flavor.save_model(models["booster"], tmp_path / "m", model_format="bin")


def test_requirements(tmp_path: Path, models) -> None:
    flavor.save_model(models["booster"], tmp_path / "m")
    reqs = (tmp_path / "m" / "requirements.txt").read_text().splitlines()
    assert f"xgboost=={xgb.__version__}" in reqs
    assert flavor.get_default_pip_requirements() == [f"xgboost=={xgb.__version__}"]


@pytest.mark.interop
@pytest.mark.parametrize(("kind", "fmt"), [("regressor", "ubj"), ("booster", "json")])
def test_mlflow_both_ways(tmp_path: Path, xy, models, kind: str, fmt: str) -> None:
    mlflow_xgboost = pytest.importorskip("mlflow.xgboost")
    import mlflow.pyfunc

    X, _ = xy
    native = models[kind]
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    flavor.save_model(
        native, ours, model_format=fmt, input_example=X.head(3), pip_requirements=REQS
    )
    mlflow_xgboost.save_model(
        native, theirs, model_format=fmt, input_example=X.head(3), pip_requirements=REQS
    )
    assert_same_as_mlflow(ours, theirs)
    expected = _predict(native, X)
    np.testing.assert_array_equal(mlflow.pyfunc.load_model(str(ours)).predict(X), expected)
    np.testing.assert_array_equal(_predict(mlflow_xgboost.load_model(str(ours)), X), expected)
    np.testing.assert_array_equal(_predict(flavor.load_model(theirs), X), expected)
    np.testing.assert_array_equal(load_pyfunc(theirs).predict(X), expected)
