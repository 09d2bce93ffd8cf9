"""onnx flavor: a graph built with onnx.helper, onnxruntime providers / session options, MLflow."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from modelshelf.errors import InvalidInputError  # noqa: E402
from modelshelf.flavors import onnx as flavor  # noqa: E402
from modelshelf.models import Model, infer_signature  # noqa: E402
from tests.flavors._util import assert_same_as_mlflow, files, load_pyfunc  # noqa: E402

REQS = ["onnx", "onnxruntime"]


def _run(model: object, array: np.ndarray) -> np.ndarray:
    """What onnxruntime computes for the original graph: the exact reference."""
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])  # type: ignore[attr-defined]
    return session.run(["Y"], {"X": array})[0]


@pytest.fixture(scope="module")
def fitted(xy: tuple[pd.DataFrame, np.ndarray]) -> tuple[object, np.ndarray, np.ndarray]:
    """A least-squares linear model, fitted with numpy, as an ONNX graph Y = X @ W + B."""
    X, y = xy
    A = np.c_[X.to_numpy(), np.ones(len(X))]
    coef, *_ = np.linalg.lstsq(A, y.astype(np.float64), rcond=None)
    W = coef[:2].reshape(2, 1).astype(np.float32)
    B = coef[2:].astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["X", "W"], ["XW"]),
            helper.make_node("Add", ["XW", "B"], ["Y"]),
        ],
        "linear",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 2])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [None, 1])],
        initializer=[numpy_helper.from_array(W, "W"), numpy_helper.from_array(B, "B")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model, W, B


def test_round_trip(tmp_path: Path, xy, fitted) -> None:
    X, _ = xy
    model, W, B = fitted
    array = X.to_numpy(np.float32)
    expected = _run(model, array)
    np.testing.assert_allclose(expected, array @ W + B, rtol=1e-5)  # the graph is the model
    path = tmp_path / "m"
    flavor.save_model(
        model,
        path,
        input_example=array[:2],
        onnx_session_options={"intra_op_num_threads": 1, "execution_mode": "sequential"},
    )
    assert "model.onnx" in files(path)
    conf = Model.load(path).flavors
    assert conf["onnx"]["providers"] == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert conf["python_function"]["data"] == "model.onnx"
    assert flavor.load_model(path) == model

    pm = load_pyfunc(path)
    session = pm.get_raw_model().get_raw_model()
    assert session.get_session_options().intra_op_num_threads == 1
    assert session.get_providers() == ["CPUExecutionProvider"]
    np.testing.assert_array_equal(pm.predict(array)["Y"], expected)
    # float64 frames are cast to the graph's float32, as MLflow does
    frame = pm.predict(X)
    assert list(frame.columns) == ["Y"]
    np.testing.assert_array_equal(frame["Y"].to_numpy(), pm.predict(array)["Y"].reshape(-1))


def test_signature_given_and_not_inferred(tmp_path: Path, xy, fitted) -> None:
    X, _ = xy
    model, W, B = fitted
    array = X.to_numpy(np.float32)
    flavor.save_model(model, tmp_path / "plain", input_example=array[:2])
    assert Model.load(tmp_path / "plain").signature is None  # MLflow's onnx flavor infers none
    sig = infer_signature(array, {"Y": array @ W + B})
    flavor.save_model(
        model, tmp_path / "sig", signature=sig, onnx_execution_providers=["CPUExecutionProvider"]
    )
    meta = Model.load(tmp_path / "sig")
    assert meta.signature == sig
    assert meta.flavors["onnx"]["providers"] == ["CPUExecutionProvider"]
    np.testing.assert_array_equal(
        load_pyfunc(tmp_path / "sig").predict(array)["Y"], _run(model, array)
    )


def test_bad_session_options_refused(tmp_path: Path, fitted) -> None:
    model, *_ = fitted
    with pytest.raises(InvalidInputError, match="not an onnxruntime"):
        flavor.save_model(model, tmp_path / "a", onnx_session_options={"warp_speed": 9})
    with pytest.raises(InvalidInputError, match="execution_mode"):
        flavor.save_model(model, tmp_path / "b", onnx_session_options={"execution_mode": "fast"})


@pytest.mark.interop
def test_mlflow_both_ways(tmp_path: Path, xy, fitted) -> None:
    mlflow_onnx = pytest.importorskip("mlflow.onnx")
    import mlflow.pyfunc

    X, _ = xy
    model, W, B = fitted
    array = X.to_numpy(np.float32)
    expected = _run(model, array)
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    kw = {
        "input_example": array[:2],
        "pip_requirements": REQS,
        "onnx_session_options": {"intra_op_num_threads": 1},
    }
    flavor.save_model(model, ours, **kw)
    mlflow_onnx.save_model(model, theirs, **kw)
    assert_same_as_mlflow(ours, theirs)
    np.testing.assert_array_equal(mlflow.pyfunc.load_model(str(ours)).predict(array)["Y"], expected)
    assert mlflow_onnx.load_model(str(ours)) == model
    assert flavor.load_model(theirs) == model
    np.testing.assert_array_equal(load_pyfunc(theirs).predict(array)["Y"], expected)
