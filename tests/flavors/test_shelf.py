"""Every built-in flavor on the shelf: save, log to a run, register, load by models:/name@alias.

``log_model`` is wired to runs by the runs layer; until then this does its steps by hand
(save_model → log_artifacts → create_model_version → set alias), which is what it will do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from modelshelf.flavors import get_flavor
from tests.flavors._util import load_pyfunc


def _sklearn(X: pd.DataFrame, y: np.ndarray) -> tuple[Any, dict[str, Any], Any]:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression().fit(X, y), {}, X


def _xgboost(X: pd.DataFrame, y: np.ndarray) -> tuple[Any, dict[str, Any], Any]:
    import xgboost as xgb

    return xgb.XGBClassifier(n_estimators=3, max_depth=2).fit(X, y), {}, X


def _lightgbm(X: pd.DataFrame, y: np.ndarray) -> tuple[Any, dict[str, Any], Any]:
    import lightgbm as lgb

    booster = lgb.train({"verbose": -1, "min_data_in_leaf": 2}, lgb.Dataset(X, label=y), 3)
    return booster, {}, X


def _pytorch(X: pd.DataFrame, y: np.ndarray) -> tuple[Any, dict[str, Any], Any]:
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    array = X.to_numpy(np.float32)
    return net.eval(), {"input_example": array[:4]}, array


def _onnx(X: pd.DataFrame, y: np.ndarray) -> tuple[Any, dict[str, Any], Any]:
    from onnx import TensorProto, helper, numpy_helper

    W = np.array([[0.5], [-0.25]], dtype=np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["X", "W"], ["Y"])],
        "g",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 2])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [None, 1])],
        initializer=[numpy_helper.from_array(W, "W")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model, {}, X.to_numpy(np.float32)


BUILDERS: dict[str, tuple[str, Callable[..., tuple[Any, dict[str, Any], Any]]]] = {
    "sklearn": ("sklearn", _sklearn),
    "xgboost": ("xgboost", _xgboost),
    "lightgbm": ("lightgbm", _lightgbm),
    "pytorch": ("torch", _pytorch),
    "onnx": ("onnxruntime", _onnx),
}


def _native_predict(flavor: str, native: Any, data: Any) -> np.ndarray:
    if flavor == "pytorch":
        import torch

        with torch.no_grad():
            return native(torch.tensor(data)).numpy()
    if flavor == "onnx":
        import onnxruntime as ort

        session = ort.InferenceSession(
            native.SerializeToString(), providers=["CPUExecutionProvider"]
        )
        return session.run(None, {"X": data})[0]
    return np.asarray(native.predict(data))


def _pyfunc_array(flavor: str, out: Any) -> np.ndarray:
    return np.asarray(out["Y"] if flavor == "onnx" else out)


@pytest.fixture
def shelf(tmp_path: Path) -> Iterator[Any]:
    from modelshelf._shelf import reset_shelf, set_shelf

    yield set_shelf(str(tmp_path / "shelf"))
    reset_shelf()


@pytest.mark.parametrize("flavor", sorted(BUILDERS))
def test_log_register_load_by_alias(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shelf: Any, xy, flavor: str
) -> None:
    framework, build = BUILDERS[flavor]
    pytest.importorskip(framework)
    from modelshelf.registry import RegistryClient
    from modelshelf.runs import end_run, log_artifacts, start_run
    from modelshelf.uri import local_model_dir

    monkeypatch.chdir(tmp_path)
    X, y = xy
    native, kwargs, data = build(X, y)
    module = get_flavor(flavor)
    module.save_model(native, tmp_path / "saved", **kwargs)
    run = start_run()
    try:
        log_artifacts(tmp_path / "saved", "model")
    finally:
        end_run()
    client = RegistryClient()
    name = f"{flavor}-model"
    client.create_registered_model(name)
    source = f"runs:/{run.info.run_id}/model"
    mv = client.create_model_version(
        name, source, run_id=run.info.run_id, local_model_path=str(local_model_dir(source))
    )
    client.set_registered_model_alias(name, "champion", mv.version)

    uri = f"models:/{name}@champion"
    expected = _native_predict(flavor, native, data)
    np.testing.assert_array_equal(_native_predict(flavor, module.load_model(uri), data), expected)
    pyfunc_out = load_pyfunc(local_model_dir(uri)).predict(data)
    np.testing.assert_array_equal(
        _pyfunc_array(flavor, pyfunc_out).reshape(expected.shape), expected
    )
