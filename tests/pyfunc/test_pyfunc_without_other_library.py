"""Custom models move between environments that have only one of the two libraries.

MLflow writes, modelshelf loads in a process where ``import mlflow`` fails; modelshelf writes,
MLflow loads in a process where ``import modelshelf`` fails. Expected outputs come from the
writing library in this process; the loading side runs in a subprocess whose meta-path
blocker makes the other library unimportable.
"""

from __future__ import annotations

import importlib.metadata
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from modelshelf.models import infer_signature
from modelshelf.pyfunc import load_model_from_dir, save_model
from tests.pyfunc._blocked import assert_same, by_value, outcome, run_child
from tests.pyfunc._models import train_linear

mlflow = pytest.importorskip("mlflow")
pytestmark = pytest.mark.interop

DF = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [3.0, 4.0, 0.5]})
REQS = [f"cloudpickle=={importlib.metadata.version('cloudpickle')}"]

LOADER_SRC = Path(__file__).parent / "loader_src" / "shelf_test_loader.py"
X = DF.to_numpy()


def _framework_and_loader_cases(root: Path, writer: Any) -> list[tuple[str, Any, Any, Any]]:
    """Save an sklearn, an xgboost and a loader_module model with ``writer`` (mlflow or
    modelshelf); returns their prediction cases."""
    from xgboost import XGBRegressor

    k_file = root.parent / "k.json"
    k_file.write_text('{"k": 3}')
    writer.sklearn.save_model(train_linear(), str(root / "sklearn"), pip_requirements=REQS)
    xgb = XGBRegressor(n_estimators=3, max_depth=2).fit(X, [1.0, 2.0, 3.0])
    writer.xgboost.save_model(xgb, str(root / "xgboost"), pip_requirements=REQS)
    writer.pyfunc.save_model(
        str(root / "loader"),
        loader_module="shelf_test_loader",
        code_paths=[str(LOADER_SRC)],
        data_path=str(k_file),
        pip_requirements=REQS,
    )
    return [
        (str(root / "sklearn"), None, X, None),
        (str(root / "xgboost"), None, X, None),
        (str(root / "loader"), None, np.array([1.0, 2.0]), None),
    ]


def _quiet_mlflow_save(path: Path, **kw: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLflow's hints about type hints and pickles
        mlflow.pyfunc.save_model(str(path), pip_requirements=REQS, **kw)


# -- MLflow writes, modelshelf loads without mlflow --------------------------------------------


def test_mlflow_custom_models_load_without_mlflow(tmp_path: Path) -> None:
    from tests.pyfunc import _by_value_mlflow as mods

    offset = tmp_path / "offset.txt"
    offset.write_text("1.5")
    root = tmp_path / "models"
    with by_value(mods):
        _quiet_mlflow_save(
            root / "artifacts",
            python_model=mods.ArtifactsConfigParams(train_linear()),
            artifacts={"offset": str(offset)},
            model_config={"scale": 2.0},
            input_example=(DF, {"bump": 1.0}),
        )
        _quiet_mlflow_save(
            root / "upper", python_model=mods.Upper(), input_example=(["a", "b"], {"suffix": "!"})
        )
        _quiet_mlflow_save(
            root / "sum_rows", python_model=mods.SumRows(), input_example=[{"x": 1.0}]
        )
        _quiet_mlflow_save(
            root / "repeat", python_model=mods.Repeat(), input_example=[{"name": "a", "n": 2}]
        )
        _quiet_mlflow_save(root / "double", python_model=mods.double, input_example=[1, 2])
        _quiet_mlflow_save(root / "echo", python_model=mods.Echo(), input_example=["a", "b"])
    for name in ("artifacts", "upper", "sum_rows", "repeat", "double", "echo"):
        assert b"mlflow.pyfunc.model" in (root / name / "python_model.pkl").read_bytes()

    art = str(root / "artifacts")
    cases = _framework_and_loader_cases(root, mlflow)
    cases += [
        (art, None, DF, None),
        (art, None, DF, {"bump": 4}),  # int param widened to double
        (art, None, DF.astype("float32"), {"bump": 2.5}),
        (art, {"scale": 3.0}, DF, None),
        (art, None, DF[["a"]], None),  # missing column
        (art, None, DF.assign(a=[1, 2, 3]), None),  # int64 -> double rejected
        (art, None, DF.assign(a=["1", "2", "3"]), None),
        (art, None, DF, {"bump": "x"}),
    ]
    upper = str(root / "upper")
    cases += [
        (upper, None, ["a", "bc"], None),
        (upper, None, ["a"], {"suffix": "?"}),
        (upper, None, [1, 2], None),
        (upper, None, "abc", None),
        (upper, None, pd.DataFrame({"n": [1, 2], "s": ["x", "y"]}), None),  # first str column
        (upper, None, pd.DataFrame({"n": [1, 2]}), None),
    ]
    sum_rows = str(root / "sum_rows")
    cases += [
        (sum_rows, None, [{"x": 1.0, "y": 2.5}, {"z": 0.5}], None),
        (sum_rows, None, [{"x": 1}], None),  # int is not float
        (sum_rows, None, [{"x": "a"}], None),
        (sum_rows, None, [{1: 2.0}], None),
        (sum_rows, None, {"x": 1.0}, None),
        (sum_rows, None, pd.DataFrame({"x": [1.0, 2.0], "y": [3.0, 4.0]}), None),
    ]
    repeat = str(root / "repeat")
    cases += [
        (repeat, None, [{"name": "ab", "n": 2}, {"name": "c"}], None),
        (repeat, None, [{"name": 1}], None),
        (repeat, None, [{"n": 2}], None),
        (repeat, None, ["ab"], None),
    ]
    dbl = str(root / "double")
    cases += [
        (dbl, None, [1, 2, 3], None),
        (dbl, None, [1.5], None),
        (dbl, None, ["a"], None),
        (dbl, None, pd.DataFrame({"x": [4, 5]}), None),
    ]
    echo = str(root / "echo")
    cases += [
        (echo, None, ["x", "y"], None),
        (echo, None, pd.DataFrame({"c": ["x", "z"]}), None),
        (echo, None, [1], None),
    ]
    expected = []
    for path, config, data, params in cases:
        model = mlflow.pyfunc.load_model(path, model_config=config)
        expected.append(
            outcome(
                lambda m=model, d=data, p=params: m.predict(d, params=p),
                mlflow.exceptions.MlflowException,
            )
        )
    assert [e[0] for e in expected].count("rejected") == 18  # both kinds of decision occur

    again = tmp_path / "again"
    resave = [(p, str(again / Path(p).name)) for p in (upper, repeat, dbl, echo)]
    got = run_child(tmp_path, "mlflow", "modelshelf", cases, resave)
    for case, want, have in zip(cases, expected, got["outcomes"], strict=True):
        assert_same(want, have, case)

    # Saved again by modelshelf, the pickles name MLflow's objects (type-hint wrapper
    # included) and nothing of modelshelf's: MLflow without modelshelf validates as before.
    for _, dst in resave:
        assert b"modelshelf" not in (Path(dst) / "python_model.pkl").read_bytes()
        assert "modelshelf" not in (Path(dst) / "requirements.txt").read_text()
    u, r, d, e = (dst for _, dst in resave)
    cases_again: list[tuple[str, Any, Any, Any]] = [
        (u, None, ["a", "b"], None),
        (u, None, [1], None),
        (u, None, pd.DataFrame({"n": [1, 2], "s": ["x", "y"]}), None),
        (r, None, [{"name": "ab", "n": 2}], None),
        (r, None, [{"name": 1}], None),
        (d, None, [1, 2], None),
        (d, None, ["x"], None),
        (e, None, ["x"], None),
    ]
    # this process still has the original classes, so MLflow here behaves as MLflow always did
    expected_again = [
        outcome(
            lambda p=path, d=data: mlflow.pyfunc.load_model(p).predict(d),
            mlflow.exceptions.MlflowException,
        )
        for path, _, data, _ in cases_again
    ]
    assert [x[0] for x in expected_again].count("rejected") == 3
    got_again = run_child(tmp_path, "modelshelf", "mlflow", cases_again)
    for case, want, have in zip(cases_again, expected_again, got_again["outcomes"], strict=True):
        assert_same(want, have, case)
    # the user's classes now derive from modelshelf's PythonModel
    assert got["classes"] == {
        art: ("ArtifactsConfigParams", True),
        upper: ("Upper", True),
        sum_rows: ("SumRows", True),
        repeat: ("Repeat", True),
        dbl: ("MlflowFunctionPythonModel", True),
        echo: ("Echo", True),
    }


# -- modelshelf writes, MLflow loads without modelshelf ----------------------------------------


def test_modelshelf_custom_models_load_in_mlflow_without_modelshelf(tmp_path: Path) -> None:
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
        save_model(root / "row_sums", python_model=mods.RowSums(), input_example=np.eye(2))
        save_model(root / "triple", python_model=mods.triple)
        save_model(root / "shout", python_model=mods.Shout())
    for name in ("artifacts", "row_sums", "triple", "shout"):
        assert b"modelshelf" not in (root / name / "python_model.pkl").read_bytes()
        reqs = (root / name / "requirements.txt").read_text().split("\n")
        assert not any(line.startswith("modelshelf") for line in reqs), reqs
    art_reqs = (root / "artifacts" / "requirements.txt").read_text().split("\n")
    assert any(line.startswith("scikit-learn==") for line in art_reqs)

    art, rows, tri, shout = (str(root / n) for n in ("artifacts", "row_sums", "triple", "shout"))
    import modelshelf

    cases = _framework_and_loader_cases(root, modelshelf)
    for name in ("sklearn", "xgboost", "loader"):
        reqs = (root / name / "requirements.txt").read_text()
        assert (
            "modelshelf" not in reqs and "modelshelf" not in (root / name / "MLmodel").read_text()
        )
    cases += [
        (art, None, DF, None),
        (art, None, DF, {"bump": 4}),
        (art, {"scale": 3.0}, DF, None),
        (art, None, DF.assign(a=[1, 2, 3]), None),
        (art, None, DF, {"bump": "x"}),
        (rows, None, np.array([[1.0, 2.0], [3.0, 5.0]]), None),
        (rows, None, np.array([[1.0, 2.0, 3.0]]), None),  # shape (-1, 2) rejected
        (tri, None, np.array([1.0, 2.0]), None),
        (tri, None, [4.0], None),
        (shout, None, ["a", "b"], None),
        (shout, None, pd.DataFrame({"n": [1, 2], "s": ["x", "y"]}), None),
        (shout, None, pd.DataFrame({"n": [1, 2]}), None),
    ]
    from modelshelf.errors import SchemaEnforcementError

    expected = [
        outcome(
            lambda p=path, c=config, d=data, q=params: load_model_from_dir(p, c).predict(
                d, params=q
            ),
            SchemaEnforcementError,
        )
        for path, config, data, params in cases
    ]
    assert [e[0] for e in expected].count("rejected") == 4

    got = run_child(tmp_path, "modelshelf", "mlflow", cases)
    for case, want, have in zip(cases, expected, got["outcomes"], strict=True):
        assert_same(want, have, case)
    assert got["classes"] == {
        art: ("ArtifactsConfigParams", True),
        rows: ("RowSums", True),
        tri: ("_FunctionPythonModel", True),
        shout: ("Shout", True),
    }


def test_modelshelf_objects_beyond_the_base_classes_keep_modelshelf(tmp_path: Path) -> None:
    """Only the base classes are renamed: a model holding a modelshelf object, a function that
    takes params (MLflow would drop them) or a class importable only with modelshelf still
    names modelshelf, and requirements.txt lists it."""
    from tests.pyfunc import _by_value_shelf as mods
    from tests.pyfunc._models import NoContextModel

    sig = infer_signature(DF, np.zeros(3))
    with by_value(mods):
        save_model(tmp_path / "holds", python_model=mods.HoldsSignature(sig))
        save_model(tmp_path / "params", python_model=mods.with_params)
        save_model(tmp_path / "by_ref", python_model=NoContextModel())
        save_model(tmp_path / "plain", python_model=mods.RowSums())
    for name in ("holds", "params", "by_ref"):
        reqs = (tmp_path / name / "requirements.txt").read_text().split("\n")
        assert any(line.startswith("modelshelf==") for line in reqs), (name, reqs)
    plain = (tmp_path / "plain" / "requirements.txt").read_text().split("\n")
    assert not any(line.startswith("modelshelf") for line in plain)
    # and each still loads and predicts in modelshelf
    assert load_model_from_dir(tmp_path / "holds").predict(DF) == 2
    np.testing.assert_array_equal(
        load_model_from_dir(tmp_path / "params").predict(np.ones(2)), np.ones(2)
    )
