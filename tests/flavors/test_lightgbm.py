"""lightgbm flavor: Booster (model.lgb) and sklearn-API models, pyfunc, MLflow 3.17 both ways."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

lgb = pytest.importorskip("lightgbm")

from modelshelf.flavors import lightgbm as flavor  # noqa: E402
from modelshelf.models import Model  # noqa: E402
from tests.flavors._util import assert_same_as_mlflow, files, load_pyfunc  # noqa: E402

REQS = ["lightgbm"]
PARAMS = {"n_estimators": 4, "min_child_samples": 2, "verbose": -1}


@pytest.fixture(scope="module")
def models(xy: tuple[pd.DataFrame, np.ndarray]) -> dict[str, object]:
    X, y = xy
    return {
        "regressor": lgb.LGBMRegressor(**PARAMS).fit(X, y),
        "classifier": lgb.LGBMClassifier(**PARAMS).fit(X, y),
        "booster": lgb.train(
            {"verbose": -1, "min_data_in_leaf": 2}, lgb.Dataset(X, label=y), num_boost_round=4
        ),
    }


@pytest.mark.parametrize(
    ("kind", "fmt", "data_file"),
    [
        ("booster", "skops", "model.lgb"),
        ("regressor", "skops", "model.skops"),
        ("classifier", "skops", "model.skops"),
        ("classifier", "cloudpickle", "model.pkl"),
        ("regressor", "pickle", "model.pkl"),
    ],
)
def test_round_trip(tmp_path: Path, xy, models, kind: str, fmt: str, data_file: str) -> None:
    X, _ = xy
    native = models[kind]
    path = tmp_path / "m"
    model = flavor.save_model(native, path, serialization_format=fmt, input_example=X.head(3))
    assert data_file in files(path)
    conf = Model.load(path).flavors
    assert conf["lightgbm"]["data"] == conf["python_function"]["data"] == data_file
    assert conf["lightgbm"]["serialization_format"] == fmt
    assert conf["python_function"]["loader_module"] == "mlflow.lightgbm"

    loaded = flavor.load_model(path)
    assert type(loaded) is type(native)
    expected = native.predict(X)  # type: ignore[attr-defined]
    np.testing.assert_array_equal(loaded.predict(X), expected)
    np.testing.assert_array_equal(load_pyfunc(path).predict(X), expected)
    assert model.signature is not None
    assert [c.name for c in model.signature.inputs] == ["a", "b"]


def test_requirements(tmp_path: Path, models) -> None:
    flavor.save_model(models["booster"], tmp_path / "b")
    flavor.save_model(models["regressor"], tmp_path / "r")
    booster_reqs = (tmp_path / "b" / "requirements.txt").read_text().splitlines()
    sk_reqs = (tmp_path / "r" / "requirements.txt").read_text().splitlines()
    assert f"lightgbm=={lgb.__version__}" in booster_reqs
    assert not any(r.startswith("skops") for r in booster_reqs)
    assert any(r.startswith("skops==") for r in sk_reqs)


@pytest.mark.interop
@pytest.mark.parametrize(
    ("kind", "fmt"), [("booster", "skops"), ("regressor", "skops"), ("classifier", "cloudpickle")]
)
def test_mlflow_both_ways(tmp_path: Path, xy, models, kind: str, fmt: str) -> None:
    mlflow_lightgbm = pytest.importorskip("mlflow.lightgbm")
    import mlflow.pyfunc

    X, _ = xy
    native = models[kind]
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    kw = {"serialization_format": fmt, "input_example": X.head(3), "pip_requirements": REQS}
    flavor.save_model(native, ours, **kw)
    mlflow_lightgbm.save_model(native, theirs, **kw)
    assert_same_as_mlflow(ours, theirs)
    expected = native.predict(X)  # type: ignore[attr-defined]
    np.testing.assert_array_equal(mlflow.pyfunc.load_model(str(ours)).predict(X), expected)
    np.testing.assert_array_equal(mlflow_lightgbm.load_model(str(ours)).predict(X), expected)
    np.testing.assert_array_equal(flavor.load_model(theirs).predict(X), expected)
    np.testing.assert_array_equal(load_pyfunc(theirs).predict(X), expected)
