"""sklearn flavor: skops / cloudpickle / pickle round trips, pyfunc, and MLflow 3.17 both ways."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("skops")

from sklearn.base import BaseEstimator, TransformerMixin  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

from modelshelf.errors import AlreadyExistsError, InvalidInputError  # noqa: E402
from modelshelf.flavors import sklearn as flavor  # noqa: E402
from modelshelf.models import Model  # noqa: E402
from tests.flavors._util import assert_same_as_mlflow, files, load_pyfunc  # noqa: E402

FORMATS = ["skops", "cloudpickle", "pickle"]
REQS = ["scikit-learn", "skops"]


class Doubler(BaseEstimator, TransformerMixin):  # type: ignore[misc]
    """A custom top-level transformer: skops must be told to trust it."""

    def fit(self, X, y=None):  # noqa: ANN001, ANN201, N803
        return self

    def transform(self, X):  # noqa: ANN001, ANN201, N803
        return X * 2


@pytest.fixture(scope="module")
def clf(xy: tuple[pd.DataFrame, np.ndarray]) -> LogisticRegression:
    X, y = xy
    return LogisticRegression().fit(X, y)


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip(tmp_path: Path, xy, clf, fmt: str) -> None:
    X, _ = xy
    path = tmp_path / "m"
    model = flavor.save_model(clf, path, serialization_format=fmt, input_example=X.head(3))
    data_file = "model.skops" if fmt == "skops" else "model.pkl"
    assert data_file in files(path)
    conf = Model.load(path).flavors
    assert conf["sklearn"]["serialization_format"] == fmt
    assert conf["python_function"]["loader_module"] == "mlflow.sklearn"
    assert conf["python_function"]["model_path"] == data_file

    native = flavor.load_model(path)
    assert type(native) is LogisticRegression
    np.testing.assert_array_equal(native.predict(X), clf.predict(X))
    np.testing.assert_array_equal(load_pyfunc(path).predict(X), clf.predict(X))

    sig = model.signature
    assert sig is not None
    assert [c.name for c in sig.inputs] == ["a", "b"]
    assert sig.inputs.to_dict() == [
        {"type": "double", "name": "a", "required": True},
        {"type": "double", "name": "b", "required": True},
    ]
    assert sig.outputs.to_dict() == [{"type": "long", "required": True}]


def test_requirements_pinned_to_installed(tmp_path: Path, clf) -> None:
    import sklearn
    import skops

    flavor.save_model(clf, tmp_path / "m")
    reqs = (tmp_path / "m" / "requirements.txt").read_text().splitlines()
    assert reqs[0].startswith("mlflow==")
    assert f"scikit-learn=={sklearn.__version__}" in reqs
    assert f"skops=={skops.__version__}" in reqs
    flavor.save_model(clf, tmp_path / "p", serialization_format="cloudpickle")
    assert any(
        r.startswith("cloudpickle==")
        for r in (tmp_path / "p" / "requirements.txt").read_text().splitlines()
    )


def test_predict_proba_through_pyfunc(tmp_path: Path, xy, clf) -> None:
    X, _ = xy
    flavor.save_model(clf, tmp_path / "m", pyfunc_predict_fn="predict_proba")
    np.testing.assert_array_equal(load_pyfunc(tmp_path / "m").predict(X), clf.predict_proba(X))


def test_unknown_predict_fn_and_format_refused(tmp_path: Path, clf) -> None:
    with pytest.raises(InvalidInputError, match="pyfunc_predict_fn"):
        flavor.save_model(clf, tmp_path / "a", pyfunc_predict_fn="explode")
    with pytest.raises(InvalidInputError, match="serialization format"):
        flavor.save_model(clf, tmp_path / "b", serialization_format="joblib")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_skops_trusted_types(tmp_path: Path, xy) -> None:
    X, y = xy
    pipe = make_pipeline(Doubler(), LogisticRegression()).fit(X, y)
    with pytest.raises(InvalidInputError, match="skops_trusted_types"):
        flavor.save_model(pipe, tmp_path / "refused")
    assert list(tmp_path.iterdir()) == []  # nothing half-written left behind
    trusted = [f"{Doubler.__module__}.Doubler"]
    flavor.save_model(pipe, tmp_path / "m", skops_trusted_types=trusted)
    assert Model.load(tmp_path / "m").flavors["sklearn"]["skops_trusted_types"] == trusted
    np.testing.assert_array_equal(flavor.load_model(tmp_path / "m").predict(X), pipe.predict(X))


def test_write_once(tmp_path: Path, clf) -> None:
    flavor.save_model(clf, tmp_path / "m")
    with pytest.raises(AlreadyExistsError):
        flavor.save_model(clf, tmp_path / "m")
    (tmp_path / "empty").mkdir()
    flavor.save_model(clf, tmp_path / "empty")  # an empty directory is fine, as in MLflow
    assert (tmp_path / "empty" / "MLmodel").exists()


def test_code_paths_and_metadata(tmp_path: Path, clf) -> None:
    helper = tmp_path / "helper_mod.py"
    helper.write_text("VALUE = 1\n")
    flavor.save_model(clf, tmp_path / "m", code_paths=[helper], metadata={"team": "ml"})
    meta = Model.load(tmp_path / "m")
    assert meta.flavors["sklearn"]["code"] == "code"
    assert meta.flavors["python_function"]["code"] == "code"
    assert meta.metadata == {"team": "ml"}
    assert (tmp_path / "m" / "code" / "helper_mod.py").read_text() == "VALUE = 1\n"


def test_mlflow_model_prefilled_for_log_model(tmp_path: Path, clf) -> None:
    pre = Model(run_id="a" * 32, artifact_path="model")
    out = flavor.save_model(clf, tmp_path / "m", mlflow_model=pre)
    assert out is pre
    assert Model.load(tmp_path / "m").run_id == "a" * 32


@pytest.mark.interop
@pytest.mark.parametrize("fmt", FORMATS)
def test_mlflow_both_ways(tmp_path: Path, xy, clf, fmt: str) -> None:
    mlflow_sklearn = pytest.importorskip("mlflow.sklearn")
    import mlflow.pyfunc

    X, _ = xy
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    flavor.save_model(
        clf, ours, serialization_format=fmt, input_example=X.head(3), pip_requirements=REQS
    )
    mlflow_sklearn.save_model(
        clf, theirs, serialization_format=fmt, input_example=X.head(3), pip_requirements=REQS
    )
    assert_same_as_mlflow(ours, theirs)
    expected = clf.predict(X)
    # MLflow loads what modelshelf wrote...
    np.testing.assert_array_equal(mlflow.pyfunc.load_model(str(ours)).predict(X), expected)
    np.testing.assert_array_equal(mlflow_sklearn.load_model(str(ours)).predict(X), expected)
    # ...and modelshelf loads what MLflow wrote.
    np.testing.assert_array_equal(flavor.load_model(theirs).predict(X), expected)
    np.testing.assert_array_equal(load_pyfunc(theirs).predict(X), expected)


@pytest.mark.interop
def test_extra_files_like_mlflow(tmp_path: Path, clf) -> None:
    mlflow_sklearn = pytest.importorskip("mlflow.sklearn")
    notes = tmp_path / "notes.txt"
    notes.write_text("trained on 40 rows\n")
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    flavor.save_model(clf, ours, extra_files=[notes], code_paths=[notes], pip_requirements=REQS)
    mlflow_sklearn.save_model(
        clf, str(theirs), extra_files=[str(notes)], code_paths=[str(notes)], pip_requirements=REQS
    )
    assert_same_as_mlflow(ours, theirs)
    assert (ours / "extra_files" / "notes.txt").read_text() == "trained on 40 rows\n"
