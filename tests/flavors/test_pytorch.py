"""pytorch flavor: pt2 (torch.export) and pickle formats, device config, MLflow 3.17 both ways."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from modelshelf.errors import InvalidInputError  # noqa: E402
from modelshelf.flavors import pytorch as flavor  # noqa: E402
from modelshelf.models import Model  # noqa: E402
from tests.flavors._util import assert_same_as_mlflow, files, load_pyfunc  # noqa: E402

REQS = ["torch", "cloudpickle"]


class TinyNet(torch.nn.Module):
    """A custom module class: pickled by reference, imported back at load."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = torch.nn.Linear(2, 4)
        self.out = torch.nn.Linear(4, 1)

    def forward(self, x):  # noqa: ANN001, ANN201
        return self.out(torch.relu(self.hidden(x)))


@pytest.fixture(scope="module")
def net(xy: tuple[pd.DataFrame, np.ndarray]) -> TinyNet:
    X, y = xy
    torch.manual_seed(0)
    model = TinyNet()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    inputs = torch.tensor(X.to_numpy(np.float32))
    target = torch.tensor(y.astype(np.float32)).reshape(-1, 1)
    for _ in range(20):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(inputs), target).backward()
        opt.step()
    return model.eval()


def _expected(net: TinyNet, array: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return net(torch.tensor(array)).numpy()


def test_pt2_round_trip(tmp_path: Path, xy, net) -> None:
    X, _ = xy
    array = X.to_numpy(np.float32)
    path = tmp_path / "m"
    model = flavor.save_model(net, path, input_example=array[:5])
    assert "data/model.pt2" in files(path)
    assert "data/model.pth" not in files(path)
    meta = Model.load(path)
    assert meta.flavors["pytorch"]["model_data"] == "data"
    assert meta.flavors["python_function"]["config"] == {"device": None}
    assert meta.flavors["python_function"]["pickle_module_name"] == "mlflow.pytorch.pickle_module"
    assert model.signature is not None
    assert model.signature.inputs.to_dict() == [
        {"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 2]}}
    ]
    expected = _expected(net, array)
    loaded = flavor.load_model(path)  # a GraphModule with a dynamic batch dimension
    np.testing.assert_array_equal(loaded(torch.tensor(array)).detach().numpy(), expected)
    np.testing.assert_array_equal(load_pyfunc(path).predict(array), expected)
    np.testing.assert_array_equal(load_pyfunc(path, {"device": "cpu"}).predict(array), expected)


def test_pickle_round_trip(tmp_path: Path, xy, net) -> None:
    X, _ = xy
    frame = X.astype("float32")
    path = tmp_path / "m"
    model = flavor.save_model(net, path, serialization_format="pickle", input_example=frame.head(3))
    assert {"data/model.pth", "data/pickle_module_info.txt"} <= set(files(path))
    assert (path / "data" / "pickle_module_info.txt").read_text() == "mlflow.pytorch.pickle_module"
    expected = _expected(net, frame.to_numpy())
    loaded = flavor.load_model(path)
    assert type(loaded) is TinyNet and not loaded.training
    with torch.no_grad():
        np.testing.assert_array_equal(loaded(torch.tensor(frame.to_numpy())).numpy(), expected)
    out = load_pyfunc(path, {"device": "cpu"}).predict(frame)
    assert isinstance(out, pd.DataFrame)
    np.testing.assert_array_equal(out.to_numpy(), expected)
    assert model.signature is not None
    assert [c.name for c in model.signature.inputs] == ["a", "b"]


def test_pt2_needs_an_array_example(tmp_path: Path, xy, net) -> None:
    X, _ = xy
    with pytest.raises(InvalidInputError, match="input_example"):
        flavor.save_model(net, tmp_path / "a")
    with pytest.raises(InvalidInputError, match="input_example"):
        flavor.save_model(net, tmp_path / "b", input_example=X.head(2))
    assert list(tmp_path.iterdir()) == []


def test_device_is_not_a_predict_param(tmp_path: Path, xy, net) -> None:
    X, _ = xy
    flavor.save_model(net, tmp_path / "m", input_example=X.to_numpy(np.float32)[:4])
    impl = flavor._load_pyfunc(tmp_path / "m" / "data", {"device": "cpu"})
    with pytest.raises(ValueError, match="load time"):
        impl.predict(X.to_numpy(np.float32), params={"device": "cpu"})


@pytest.mark.interop
@pytest.mark.parametrize("fmt", ["pt2", "pickle"])
def test_mlflow_both_ways(tmp_path: Path, xy, net, fmt: str) -> None:
    mlflow_pytorch = pytest.importorskip("mlflow.pytorch")
    import mlflow.pyfunc

    X, _ = xy
    array = X.to_numpy(np.float32)
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    kw = {"serialization_format": fmt, "input_example": array[:5], "pip_requirements": REQS}
    flavor.save_model(net, ours, **kw)
    mlflow_pytorch.save_model(net, theirs, **kw)
    assert_same_as_mlflow(ours, theirs)
    expected = _expected(net, array)
    np.testing.assert_array_equal(mlflow.pyfunc.load_model(str(ours)).predict(array), expected)
    their_native = mlflow_pytorch.load_model(str(ours))
    np.testing.assert_array_equal(their_native(torch.tensor(array)).detach().numpy(), expected)
    np.testing.assert_array_equal(load_pyfunc(theirs).predict(array), expected)
    native = flavor.load_model(theirs)
    np.testing.assert_array_equal(native(torch.tensor(array)).detach().numpy(), expected)
