"""Custom models pickled by value (defined in a notebook or script) without MLflow around:
modelshelf pickles its base classes under MLflow's names and resolves them back."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from modelshelf.errors import MissingDependencyError, SchemaEnforcementError
from modelshelf.pyfunc import load_model_from_dir, save_model
from modelshelf.pyfunc._mlflow_names import dumps, loads
from tests.pyfunc._blocked import assert_same, by_value, outcome, run_child
from tests.pyfunc._models import train_linear

DF = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [3.0, 4.0, 0.5]})


def test_by_value_models_load_in_a_fresh_process_without_mlflow(tmp_path: Path) -> None:
    """In the saving process cloudpickle hands back the original class; a fresh process
    rebuilds it on the base class the pickle names, here with mlflow unimportable."""
    from tests.pyfunc import _by_value_shelf as mods

    offset = tmp_path / "offset.txt"
    offset.write_text("1.5")
    root = tmp_path / "models"
    with by_value(mods):
        save_model(
            root / "artifacts",
            python_model=mods.ArtifactsConfigParams(train_linear()),
            artifacts={"offset": str(offset)},
            model_config={"scale": 2.0},
            input_example=(DF, {"bump": 1.0}),
        )
        save_model(root / "triple", python_model=mods.triple)
        save_model(root / "shout", python_model=mods.Shout())
    art, tri, shout = (str(root / n) for n in ("artifacts", "triple", "shout"))
    cases: list[tuple[str, Any, Any, Any]] = [
        (art, None, DF, {"bump": 4}),
        (art, {"scale": 3.0}, DF, None),
        (art, None, DF.assign(a=["1", "2", "3"]), None),
        (tri, None, np.array([1.0, 2.0]), None),
        (shout, None, pd.DataFrame({"n": [1, 2], "s": ["x", "y"]}), None),
        (shout, None, pd.DataFrame({"n": [1, 2]}), None),
    ]
    expected = [
        outcome(
            lambda p=path, c=config, d=data, q=params: load_model_from_dir(p, c).predict(
                d, params=q
            ),
            SchemaEnforcementError,
        )
        for path, config, data, params in cases
    ]
    assert [e[0] for e in expected] == ["ok", "ok", "rejected", "ok", "ok", "rejected"]
    got = run_child(tmp_path, "mlflow", "modelshelf", cases)
    for case, want, have in zip(cases, expected, got["outcomes"], strict=True):
        assert_same(want, have, case)
    # rebuilt on modelshelf's stand-in for MLflow's base, still a modelshelf PythonModel
    assert got["classes"] == {
        art: ("ArtifactsConfigParams", True),
        tri: ("MlflowFunctionPythonModel", True),
        shout: ("Shout", True),
    }


def test_only_modelshelf_base_classes_are_renamed() -> None:
    from modelshelf.pyfunc import PythonModelContext
    from tests.pyfunc import _by_value_shelf as mods

    ctx = PythonModelContext({"a": "/x"}, {"k": 1})
    with by_value(mods):
        blob = dumps({"model": mods.RowSums(), "context": ctx, "load": load_model_from_dir})
    assert b"mlflow.pyfunc.model:PythonModel" in blob
    assert b"mlflow.pyfunc.model:PythonModelContext" in blob
    assert b"modelshelf.pyfunc._pyfunc" in blob  # a function of modelshelf's stays itself
    back = loads(blob)
    assert back["load"] is load_model_from_dir
    assert isinstance(back["context"], PythonModelContext)
    assert (back["context"].artifacts, back["context"].model_config) == ({"a": "/x"}, {"k": 1})
    np.testing.assert_array_equal(back["model"].predict(np.eye(2)), np.ones(2))


def test_an_mlflow_name_modelshelf_does_not_map_asks_for_mlflow() -> None:
    """A pickle needing an MLflow object beyond the mapped ones fails with a clear error."""
    with pytest.raises(MissingDependencyError, match="install mlflow"):
        loads(b"cmlflow.no_such_module\nThing\n.")
    with pytest.raises(MissingDependencyError, match="install mlflow"):  # a module global
        loads(b"ccloudpickle.cloudpickle\nsubimport\n(Vmlflow.no_such_module\ntR.")
    with pytest.raises(ModuleNotFoundError):  # other modules fail as they always did
        loads(pickle.dumps(None).replace(b"N", b"cno_such_module_here\nX\n"))
