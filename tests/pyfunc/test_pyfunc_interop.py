"""Parity with real MLflow, both directions: models saved by one load and predict in the other."""

from __future__ import annotations

import importlib.metadata
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from modelshelf.errors import SchemaEnforcementError
from modelshelf.models import Model, infer_signature
from modelshelf.pyfunc import load_model_from_dir, save_model
from tests.pyfunc._models import LinModel, NoContextModel

mlflow = pytest.importorskip("mlflow")
pytestmark = pytest.mark.interop

LOADER_SRC = Path(__file__).parent / "loader_src" / "shelf_test_loader.py"
DF = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [3.0, 4.0, 0.5]})
REQS = [
    f"cloudpickle=={importlib.metadata.version('cloudpickle')}"
]  # skips MLflow's 2.5 s inference subprocess; same on both sides


@pytest.fixture
def offset_file(tmp_path: Path) -> Path:
    p = tmp_path / "offset.txt"
    p.write_text("1.5")
    return p


def _mlflow_save(path: Path, **kw: Any) -> None:
    import mlflow.pyfunc

    mlflow.pyfunc.save_model(str(path), **kw)


# -- modelshelf writes, MLflow reads ---------------------------------------------------------


def test_python_model_saved_here_predicts_identically_in_mlflow(
    tmp_path: Path, offset_file: Path
) -> None:
    path = tmp_path / "m"
    save_model(
        path,
        python_model=LinModel(),
        artifacts={"offset": str(offset_file)},
        input_example=(DF, {"bump": 1.0}),
        model_config={"scale": 2.0},
    )
    ours = load_model_from_dir(path)
    theirs = mlflow.pyfunc.load_model(str(path))
    for params in (None, {"bump": 4}, {"bump": 2.5}):
        np.testing.assert_array_equal(
            ours.predict(DF, params=params), theirs.predict(DF, params=params)
        )
    assert theirs.metadata.signature.to_dict() == ours.metadata.signature.to_dict()
    assert theirs.model_config == ours.model_config == {"scale": 2.0}
    pd.testing.assert_frame_equal(theirs.input_example, ours.input_example)
    assert theirs.metadata.load_input_example_params(str(path)) == {"bump": 1.0}
    # MLflow's Model reads our MLmodel into the same dict
    assert mlflow.models.Model.load(str(path)).to_dict() == yaml.safe_load(
        (path / "MLmodel").read_text()
    )


def test_signature_enforcement_agrees(tmp_path: Path) -> None:
    sig = infer_signature(DF, np.zeros(3), params={"bump": 0.0})
    save_model(tmp_path / "m", python_model=LinModel(), signature=sig)
    ours = load_model_from_dir(tmp_path / "m")
    theirs = mlflow.pyfunc.load_model(str(tmp_path / "m"))
    bad_inputs = [
        DF[["a"]],
        DF.assign(a=[1, 2, 3]),  # int64 -> double is rejected
        DF.assign(b=[True, False, True]),
        DF.assign(a=["1", "2", "3"]),
    ]
    for bad in bad_inputs:
        with pytest.raises(mlflow.exceptions.MlflowException):
            theirs.predict(bad)
        with pytest.raises(SchemaEnforcementError):
            ours.predict(bad)
    with pytest.raises(mlflow.exceptions.MlflowException):
        theirs.predict(DF, params={"bump": "x"})
    with pytest.raises(SchemaEnforcementError):
        ours.predict(DF, params={"bump": "x"})
    ok = DF.astype("float32")  # float32 -> double is a safe widening in both
    np.testing.assert_array_equal(
        ours.predict(ok, params={"bump": 1}), theirs.predict(ok, params={"bump": 1})
    )


def test_loader_module_model_saved_here_loads_in_mlflow(tmp_path: Path) -> None:
    data = tmp_path / "k.json"
    data.write_text('{"k": 3}')
    save_model(
        tmp_path / "m",
        loader_module="shelf_test_loader",
        code_paths=[LOADER_SRC],
        data_path=data,
        pip_requirements=["numpy"],
    )
    x = np.array([1.0, 2.0, 4.0])
    theirs = mlflow.pyfunc.load_model(str(tmp_path / "m"))
    np.testing.assert_array_equal(load_model_from_dir(tmp_path / "m").predict(x), theirs.predict(x))


def test_no_context_model_saved_here_loads_in_mlflow(tmp_path: Path) -> None:
    save_model(tmp_path / "m", python_model=NoContextModel(), input_example=np.array([[1.0, 2.0]]))
    x = np.array([[1.0, 2.0], [3.0, 5.0]])
    np.testing.assert_array_equal(
        load_model_from_dir(tmp_path / "m").predict(x),
        mlflow.pyfunc.load_model(str(tmp_path / "m")).predict(x),
    )


# -- MLflow writes, modelshelf reads ---------------------------------------------------------


def test_mlflow_python_model_predicts_identically_here(tmp_path: Path, offset_file: Path) -> None:
    from tests.pyfunc._mlflow_models import MlflowLinModel

    path = tmp_path / "m"
    _mlflow_save(
        path,
        python_model=MlflowLinModel(),
        artifacts={"offset": str(offset_file)},
        input_example=(DF, {"bump": 1.0}),
        model_config={"scale": 2.0},
        pip_requirements=REQS,
    )
    theirs = mlflow.pyfunc.load_model(str(path))
    ours = load_model_from_dir(path)
    for params in (None, {"bump": 4}):
        np.testing.assert_array_equal(
            ours.predict(DF, params=params), theirs.predict(DF, params=params)
        )
    assert type(ours.unwrap_python_model()).__name__ == "MlflowLinModel"
    assert ours.model_config == {"scale": 2.0}
    pd.testing.assert_frame_equal(ours.input_example, theirs.input_example)
    np.testing.assert_array_equal(
        load_model_from_dir(path, {"scale": 3.0}).predict(DF),
        mlflow.pyfunc.load_model(str(path), model_config={"scale": 3.0}).predict(DF),
    )
    # our Model writes MLflow's file back unchanged
    assert yaml.safe_load(Model.load(path).to_yaml()) == yaml.safe_load(
        (path / "MLmodel").read_text()
    )


def test_mlflow_no_context_model_loads_here(tmp_path: Path) -> None:
    from tests.pyfunc._mlflow_models import MlflowNoContext

    _mlflow_save(tmp_path / "m", python_model=MlflowNoContext(), pip_requirements=REQS)
    x = np.array([[1.0, 2.0], [3.0, 5.0]])
    np.testing.assert_array_equal(
        load_model_from_dir(tmp_path / "m").predict(x),
        mlflow.pyfunc.load_model(str(tmp_path / "m")).predict(x),
    )


def test_mlflow_loader_module_with_code_and_data_loads_here(tmp_path: Path) -> None:
    data = tmp_path / "k.json"
    data.write_text('{"k": 5}')
    _mlflow_save(
        tmp_path / "m",
        loader_module="shelf_test_loader",
        code_paths=[str(LOADER_SRC)],
        data_path=str(data),
        pip_requirements=REQS,
    )
    x = np.array([1.0, 2.0])
    np.testing.assert_array_equal(
        load_model_from_dir(tmp_path / "m").predict(x),
        mlflow.pyfunc.load_model(str(tmp_path / "m")).predict(x),
    )


# -- the files themselves ---------------------------------------------------------------------


def _shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    return type(value).__name__


def test_mlmodel_and_env_files_match_mlflow_for_the_same_model(
    tmp_path: Path, offset_file: Path
) -> None:
    sig = infer_signature(DF, np.zeros(3), params={"bump": 1.0})
    kw: dict[str, Any] = {
        "artifacts": {"offset": str(offset_file)},
        "signature": sig,
        "input_example": (DF, {"bump": 1.0}),
        "model_config": {"scale": 2.0},
        "metadata": {"team": "x"},
        "pip_requirements": REQS,
    }
    save_model(tmp_path / "ours", python_model=LinModel(), **kw)
    kw["signature"] = mlflow.models.ModelSignature.from_dict(sig.to_dict())
    from tests.pyfunc._mlflow_models import MlflowLinModel

    _mlflow_save(tmp_path / "theirs", python_model=MlflowLinModel(), **kw)
    ours = yaml.safe_load((tmp_path / "ours" / "MLmodel").read_text())
    theirs = yaml.safe_load((tmp_path / "theirs" / "MLmodel").read_text())
    assert _shape(ours) == _shape(theirs)
    volatile = {"model_uuid", "utc_time_created", "model_size_bytes"}
    assert {k: v for k, v in ours.items() if k not in volatile} == {
        k: v for k, v in theirs.items() if k not in volatile
    }

    def text(side: str) -> str:
        raw = (tmp_path / side / "MLmodel").read_text()
        raw = re.sub(r"model_uuid: [0-9a-f]{32}", "model_uuid: X", raw)
        raw = re.sub(r"model_size_bytes: \d+", "model_size_bytes: X", raw)
        return re.sub(r"utc_time_created: '[^']*'", "utc_time_created: X", raw)

    assert text("ours") == text("theirs")
    for name in (
        "requirements.txt",
        "conda.yaml",
        "python_env.yaml",
        "input_example.json",
        "serving_input_example.json",
    ):
        assert (tmp_path / "ours" / name).read_bytes() == (
            tmp_path / "theirs" / name
        ).read_bytes(), name
    assert sorted(p.name for p in (tmp_path / "ours").rglob("*")) == sorted(
        p.name for p in (tmp_path / "theirs").rglob("*")
    )


def test_loader_module_mlmodel_matches_mlflow(tmp_path: Path) -> None:
    data = tmp_path / "k.json"
    data.write_text('{"k": 5}')
    kw: dict[str, Any] = {
        "loader_module": "shelf_test_loader",
        "code_paths": [str(LOADER_SRC)],
        "data_path": str(data),
        "pip_requirements": REQS,
    }
    save_model(tmp_path / "ours", **kw)
    _mlflow_save(tmp_path / "theirs", **kw)
    ours = yaml.safe_load((tmp_path / "ours" / "MLmodel").read_text())
    theirs = yaml.safe_load((tmp_path / "theirs" / "MLmodel").read_text())
    volatile = {"model_uuid", "utc_time_created"}
    assert {k: v for k, v in ours.items() if k not in volatile} == {
        k: v for k, v in theirs.items() if k not in volatile
    }

    # byte for byte, once the uuid and the time are blanked
    def text(side: str) -> str:
        raw = (tmp_path / side / "MLmodel").read_text()
        raw = re.sub(r"model_uuid: [0-9a-f]{32}", "model_uuid: X", raw)
        return re.sub(r"utc_time_created: '[^']*'", "utc_time_created: X", raw)

    assert text("ours") == text("theirs")
    for name in ("requirements.txt", "conda.yaml", "python_env.yaml"):
        assert (tmp_path / "ours" / name).read_bytes() == (tmp_path / "theirs" / name).read_bytes()
    assert sorted(
        p.relative_to(tmp_path / "ours").as_posix() for p in (tmp_path / "ours").rglob("*")
    ) == sorted(
        p.relative_to(tmp_path / "theirs").as_posix() for p in (tmp_path / "theirs").rglob("*")
    )


def test_signature_inferred_from_example_matches_mlflow(tmp_path: Path) -> None:
    save_model(tmp_path / "ours", python_model=LinModel(), input_example=(DF, {"bump": 1.0}))
    from tests.pyfunc._mlflow_models import MlflowLinModel

    _mlflow_save(
        tmp_path / "theirs",
        python_model=MlflowLinModel(),
        input_example=(DF, {"bump": 1.0}),
        pip_requirements=REQS,
    )
    ours = yaml.safe_load((tmp_path / "ours" / "MLmodel").read_text())["signature"]
    theirs = yaml.safe_load((tmp_path / "theirs" / "MLmodel").read_text())["signature"]
    assert ours == theirs
    assert json.loads(theirs["outputs"]) == [{"type": "double", "required": True}]


def test_mlflow_sklearn_model_loads_through_mlflows_loader_module(tmp_path: Path) -> None:
    """``mlflow.sklearn`` resolves through the flavors registry (or, without it, MLflow's own
    module); the model root is passed, since sklearn's section has ``model_path``, not ``data``."""
    import mlflow.sklearn

    from tests.pyfunc._models import train_linear

    reg = train_linear()
    mlflow.sklearn.save_model(reg, str(tmp_path / "m"), pip_requirements=REQS)
    x = DF.to_numpy()
    np.testing.assert_array_equal(load_model_from_dir(tmp_path / "m").predict(x), reg.predict(x))


def _triple(x: Any) -> Any:
    return np.asarray(x) * 3


def test_function_model_saved_here_loads_in_mlflow(tmp_path: Path) -> None:
    save_model(tmp_path / "m", python_model=_triple)
    x = np.array([1.0, 2.0])
    np.testing.assert_array_equal(
        mlflow.pyfunc.load_model(str(tmp_path / "m")).predict(x),
        load_model_from_dir(tmp_path / "m").predict(x),
    )
