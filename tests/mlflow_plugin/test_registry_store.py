"""Unchanged MLflow scripts against a shelf: registry store and artifact repository plugins."""

from __future__ import annotations

import shutil
import uuid
import warnings
from typing import Any

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from modelshelf import Client, Shelf

mlflow = pytest.importorskip("mlflow")
from mlflow.exceptions import MlflowException  # noqa: E402

pytestmark = [pytest.mark.interop, pytest.mark.filterwarnings("ignore::FutureWarning")]

X = np.array([[0.0, 1.0], [1.0, 0.5], [2.0, 0.1], [3.0, 2.0], [4.0, 1.5], [5.0, 0.2]])
Y = np.array([0, 0, 0, 1, 1, 1])


def _mlflow_script(registry_uri: str) -> tuple[Any, list[str]]:
    """What an MLflow user writes; nothing in it knows about modelshelf but the URIs."""
    mlflow.set_registry_uri(registry_uri)
    exp = mlflow.create_experiment(
        f"exp-{uuid.uuid4().hex[:8]}", artifact_location=f"{registry_uri}/-/experiments/churn"
    )
    models, run_ids = [], []
    for c in (1.0, 0.1):
        model = LogisticRegression(C=c).fit(X, Y)
        with mlflow.start_run(experiment_id=exp) as run:
            mlflow.log_param("C", c)
            mlflow.sklearn.log_model(
                model,
                name="model",
                registered_model_name="churn",
                pip_requirements=["scikit-learn"],
            )
        models.append(model)
        run_ids.append(run.info.run_id)
    client = mlflow.MlflowClient()
    client.set_registered_model_alias("churn", "champion", "2")
    client.set_registered_model_tag("churn", "team", "risk")
    client.set_model_version_tag("churn", "1", "validated", "yes")
    client.update_registered_model("churn", description="churn classifier")
    client.update_model_version("churn", "2", description="smaller C")
    client.transition_model_version_stage("churn", "1", "Staging")
    return models, run_ids


@pytest.mark.parametrize("backend", ["file", "s3"])
def test_unchanged_mlflow_script_keeps_its_registry_on_the_shelf(
    backend: str, request: pytest.FixtureRequest
) -> None:
    uri, shelf = request.getfixturevalue(f"{backend}_shelf")
    models, run_ids = _mlflow_script(uri)
    client = mlflow.MlflowClient()

    loaded = mlflow.pyfunc.load_model("models:/churn@champion")
    np.testing.assert_array_equal(loaded.predict(X), models[1].predict(X))
    first = mlflow.sklearn.load_model("models:/churn/1")
    np.testing.assert_array_equal(first.predict_proba(X), models[0].predict_proba(X))

    rm = client.get_registered_model("churn")
    assert rm.description == "churn classifier" and rm.tags == {"team": "risk"}
    assert rm.aliases == {"champion": "2"}
    found = client.search_model_versions("name = 'churn' and tags.validated = 'yes'")
    assert [v.version for v in found] == ["1"]
    assert [m.name for m in client.search_registered_models("name LIKE 'ch%'")] == ["churn"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        staged = client.get_latest_versions("churn", stages=["Staging"])
    assert [(v.version, v.current_stage) for v in staged] == [("1", "Staging")]
    mv = client.get_model_version_by_alias("churn", "champion")
    assert mv.version == "2" and mv.description == "smaller C"
    assert client.get_model_version_download_uri("churn", "2").startswith(f"{uri}/-/sha256:")
    run_page = client.search_runs([mlflow.get_run(run_ids[0]).info.experiment_id])
    assert {r.info.run_id for r in run_page} == set(run_ids)

    client.delete_model_version_tag("churn", "1", "validated")
    client.delete_registered_model_alias("churn", "champion")
    client.delete_model_version("churn", "1")
    with pytest.raises(MlflowException) as err:
        client.get_model_version("churn", "1")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    client.rename_registered_model("churn", "churn-v2")
    client.create_registered_model("churn-copy")
    copied = client.copy_model_version("models:/churn-v2/2", "churn-copy")
    assert copied.version == "1"
    client.create_model_version("churn-v2", "models:/churn-v2/2")

    ours = Client(shelf)
    assert ours.verify(deep=True).ok
    actions = [c.action for c in ours.get_registry_history()]
    for action in (
        "create_model",
        "create_version",
        "set_alias",
        "set_model_tag",
        "set_version_tag",
        "update_model",
        "update_version",
        "set_stage",
        "delete_version_tag",
        "delete_alias",
        "delete_version",
        "rename_model",
    ):
        assert action in actions, action
    versions = {v.version: v for v in ours.search_model_versions("name = 'churn-v2'")}
    assert sorted(versions) == [2, 3]
    assert versions[3].digest == versions[2].digest  # same bytes, stored once
    assert versions[2].model_id and versions[2].source == f"models:/{versions[2].model_id}"
    assert versions[2].run_id == run_ids[1]  # the logged model's run, as MLflow's stores do
    assert ours.get_model_version("churn-copy", 1).digest == versions[2].digest
    with pytest.raises(MlflowException) as err:
        client.create_webhook("w", "http://127.0.0.1:9/x", events=[])
    assert err.value.error_code == "NOT_IMPLEMENTED"
    ours.delete_registered_model("churn-v2")


def test_a_version_means_its_bytes_even_when_the_logged_files_go(
    file_shelf: tuple[str, str],
) -> None:
    uri, _shelf = file_shelf
    models, _ = _mlflow_script(uri)
    mv = mlflow.MlflowClient().get_model_version("churn", "2")
    logged = mlflow.MlflowClient().get_logged_model(mv.model_id)
    repo = mlflow.store.artifact.artifact_repository_registry.get_artifact_repository(
        logged.artifact_location
    )
    repo.delete_artifacts()
    assert repo.list_artifacts() == []
    loaded = mlflow.pyfunc.load_model("models:/churn/2")
    np.testing.assert_array_equal(loaded.predict(X), models[1].predict(X))


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda c: c.get_registered_model("nope"), "RESOURCE_DOES_NOT_EXIST"),
        (lambda c: c.get_model_version("m", "7"), "RESOURCE_DOES_NOT_EXIST"),
        (lambda c: c.get_model_version_by_alias("m", "gone"), "RESOURCE_DOES_NOT_EXIST"),
        (lambda c: c.create_registered_model("m"), "RESOURCE_ALREADY_EXISTS"),
        (lambda c: c.create_registered_model("bad/name"), "INVALID_PARAMETER_VALUE"),
        (lambda c: c.search_registered_models("name ~ 'x'"), "INVALID_PARAMETER_VALUE"),
        (lambda c: c.create_model_version("m", "/no/such/folder"), "RESOURCE_DOES_NOT_EXIST"),
    ],
)
def test_errors_arrive_as_mlflow_exceptions_with_mlflow_codes(
    file_shelf: tuple[str, str], call: Any, code: str
) -> None:
    uri, _shelf = file_shelf
    client = mlflow.MlflowClient(registry_uri=uri)
    client.create_registered_model("m")
    with pytest.raises(MlflowException) as err:
        call(client)
    assert err.value.error_code == code
    assert str(err.value.message)


def test_registry_uri_without_a_protocol_is_refused_clearly(mlflow_uris: None) -> None:
    with pytest.raises(MlflowException, match="three slashes|modelshelf\\+file:///"):
        mlflow.MlflowClient(
            registry_uri="modelshelf+file://relative/shelf"
        ).search_registered_models()


def test_artifacts_are_deduplicated_write_once_and_verified(
    file_shelf: tuple[str, str], tmp_path: Any
) -> None:
    uri, url = file_shelf
    mlflow.set_registry_uri(uri)
    exp = mlflow.create_experiment(
        f"a-{uuid.uuid4().hex[:8]}", artifact_location=f"{uri}/-/experiments/a"
    )
    payload = tmp_path / "weights.bin"
    payload.write_bytes(b"w" * 5000)
    runs = []
    for _ in range(2):
        with mlflow.start_run(experiment_id=exp) as run:
            mlflow.log_artifact(str(payload), "data")
            mlflow.log_artifact(str(payload), "data")  # the same bytes again: a no-op
        runs.append(run.info.run_id)
    shelf = Shelf(url)
    blobs = [i for i in shelf.storage.list("objects/") if i.size == 5000]
    assert len(blobs) == 1  # two runs, one blob

    payload.write_bytes(b"x" * 5000)
    with mlflow.start_run(run_id=runs[0]), pytest.raises(MlflowException) as err:
        mlflow.log_artifact(str(payload), "data")
    assert err.value.error_code == "RESOURCE_ALREADY_EXISTS"
    assert "write-once" in err.value.message

    blob = tmp_path / "shelf" / blobs[0].key
    blob.chmod(0o644)
    blob.write_bytes(b"z" * 5000)  # bit rot on the shelf
    fresh = mlflow.store.artifact.artifact_repository_registry.get_artifact_repository(
        mlflow.get_run(runs[1]).info.artifact_uri
    )
    shutil.rmtree(fresh.shelf.blobs.cache.blobs, ignore_errors=True)  # a new machine
    dest = tmp_path / "out"
    dest.mkdir()
    with pytest.raises(MlflowException) as err:
        fresh.download_artifacts("data/weights.bin", str(dest))
    assert err.value.error_code == "DATA_LOSS"
    assert not [p for p in dest.rglob("*") if p.is_file() and p.read_bytes() == b"z" * 5000]


def test_models_uri_downloads_are_verified(file_shelf: tuple[str, str], tmp_path: Any) -> None:
    uri, url = file_shelf
    _mlflow_script(uri)
    shelf = Shelf(url)
    digest = Client(shelf).get_model_version("churn", 1).digest
    entry = max(shelf.blobs.read_tree(digest), key=lambda e: e.size)  # model.pkl
    blob = tmp_path / "shelf" / entry.digest.key
    blob.chmod(0o644)
    blob.write_bytes(b"\0" * entry.size)
    repo = mlflow.store.artifact.artifact_repository_registry.get_artifact_repository(
        f"{uri}/-/{digest}"
    )
    shutil.rmtree(repo.shelf.blobs.cache.blobs, ignore_errors=True)
    (tmp_path / "dl").mkdir()
    with pytest.raises(MlflowException) as err:
        mlflow.pyfunc.load_model("models:/churn/1", dst_path=str(tmp_path / "dl"))
    assert entry.digest.hex in err.value.message, err.value.message
    assert not [
        p
        for p in (tmp_path / "dl").rglob("*")
        if p.is_file() and p.stat().st_size == entry.size and p.read_bytes() == b"\0" * entry.size
    ]
