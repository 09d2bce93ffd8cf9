"""Entities behave like MLflow's; the fluent searches and copy_model_version take MLflow's
names."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

import modelshelf
from modelshelf import _fluent
from modelshelf._shelf import Shelf
from modelshelf.errors import InvalidInputError, NotFoundError
from modelshelf.tracking import MlflowClient

# fields MLflow's entities have and modelshelf's do not (documented in mlflow-compatibility.md)
MV_ONLY_MLFLOW = {"deployment_job_state", "metrics", "params", "workspace"}
RM_ONLY_MLFLOW = {"deployment_job_id", "deployment_job_state", "workspace"}


def _log(clf: Any, X: pd.DataFrame, name: str = "model", **kwargs: Any) -> Any:
    with modelshelf.start_run():
        return modelshelf.sklearn.log_model(clf, name=name, input_example=X.head(3), **kwargs)


@pytest.fixture
def registered(shelf: Shelf, clf: Any, xy: tuple[pd.DataFrame, Any]) -> Any:
    X, _ = xy
    return _log(clf, X, registered_model_name="clf")


def test_dict_of_entities(registered: Any) -> None:
    client = MlflowClient()
    mv = client.get_model_version("clf", 1)
    client.set_registered_model_alias("clf", "champion", 1)
    rm = client.get_registered_model("clf")
    as_dict = dict(mv)
    assert as_dict == mv.to_dict()
    assert as_dict["run_id"] == registered.run_id and as_dict["version"] == 1
    assert dict(rm)["aliases"] == {"champion": 1}
    assert set(dict(rm)) == set(rm.to_dict())


@pytest.mark.interop
def test_dict_keys_match_mlflows(registered: Any) -> None:
    entities = pytest.importorskip("mlflow.entities.model_registry")
    client = MlflowClient()
    mine_mv = set(dict(client.get_model_version("clf", 1)))
    mine_rm = set(dict(client.get_registered_model("clf")))
    theirs_mv = set(dict(entities.ModelVersion("clf", "1", 1, 1)))
    theirs_rm = set(dict(entities.RegisteredModel("clf", 1, 1)))
    assert theirs_mv - mine_mv == MV_ONLY_MLFLOW
    assert theirs_rm - mine_rm == RM_ONLY_MLFLOW


def test_copy_model_version_takes_mlflows_keyword(registered: Any, tmp_path: Any) -> None:
    dst = str(tmp_path / "other")
    mv = MlflowClient().copy_model_version(
        src_model_uri="models:/clf/1", dst_name="copied", dst_shelf=dst
    )
    src = MlflowClient().get_model_version("clf", 1)
    assert mv.digest == src.digest and mv.version == 1
    assert MlflowClient(dst).get_model_version("copied", 1).digest == src.digest


def test_fluent_searches_return_every_page(
    shelf: Shelf, clf: Any, xy: tuple[pd.DataFrame, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    X, _ = xy
    monkeypatch.setattr(_fluent, "_PAGE", 2)  # several pages from five models
    client = MlflowClient()
    info = _log(clf, X)
    for i in range(5):
        client.create_registered_model(f"m{i}", tags={"team": "a" if i % 2 else "b"})
        client.create_model_version(f"m{i}", info.model_uri)
    models = modelshelf.search_registered_models()
    assert isinstance(models, list) and [m.name for m in models] == [f"m{i}" for i in range(5)]
    assert [m.name for m in modelshelf.search_registered_models(max_results=3)] == [
        "m0", "m1", "m2",
    ]  # fmt: skip
    assert [m.name for m in modelshelf.search_registered_models(filter_string="tags.team = 'a'")] == [
        "m1", "m3",
    ]  # fmt: skip
    desc = modelshelf.search_registered_models(order_by=["name DESC"])
    assert [m.name for m in desc] == [f"m{i}" for i in reversed(range(5))]
    versions = modelshelf.search_model_versions(filter_string=f"run_id = '{info.run_id}'")
    assert sorted(v.name for v in versions) == [f"m{i}" for i in range(5)]
    assert len(modelshelf.search_model_versions(max_results=4)) == 4
    with pytest.raises(InvalidInputError):
        modelshelf.search_model_versions(max_results=0)


def test_logged_models(shelf: Shelf, clf: Any, xy: tuple[pd.DataFrame, Any]) -> None:
    X, _ = xy
    modelshelf.set_experiment("one")
    first = _log(clf, X, name="first")
    modelshelf.set_experiment("two")
    second = _log(clf, X, name="second")
    got = modelshelf.get_logged_model(first.model_id)
    assert (got.model_id, got.run_id, got.name, got.digest) == (
        first.model_id, first.run_id, "first", first.digest,
    )  # fmt: skip
    with pytest.raises(NotFoundError):
        modelshelf.get_logged_model("m-" + "0" * 32)
    every = modelshelf.search_logged_models(output_format="list")
    assert {m.model_id for m in every} == {first.model_id, second.model_id}
    two = modelshelf.get_experiment_by_name("two").experiment_id
    only = modelshelf.search_logged_models(experiment_ids=[two], output_format="list")
    assert [m.model_id for m in only] == [second.model_id]
    frame = modelshelf.search_logged_models(order_by=[{"field_name": "name", "ascending": True}])
    assert isinstance(frame, pd.DataFrame)
    assert list(frame["name"]) == ["first", "second"]
    assert list(frame["model_id"]) == [first.model_id, second.model_id]
    with pytest.raises(InvalidInputError, match="filter"):
        modelshelf.search_logged_models(filter_string="name = 'first'")
    with pytest.raises(InvalidInputError, match="order_by"):
        modelshelf.search_logged_models(order_by=[{"field_name": "metrics.acc"}])
