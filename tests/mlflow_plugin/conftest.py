"""Real MLflow with modelshelf as its registry store and artifact repository."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests._servers import Endpoint

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    mlflow = pytest.importorskip("mlflow")

import modelshelf.mlflow_plugin  # noqa: E402


@pytest.fixture(scope="session")
def tracking_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One SQLite tracking store for the session (creating one runs MLflow's migrations)."""
    return f"sqlite:///{tmp_path_factory.mktemp('tracking')}/mlflow.db"


@pytest.fixture
def mlflow_uris(tracking_db: str) -> Iterator[None]:
    """The plugin registered (as the entry points would) and MLflow's URIs restored after."""
    modelshelf.mlflow_plugin.register()
    tracking, registry = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    mlflow.set_tracking_uri(tracking_db)
    yield
    mlflow.set_tracking_uri(tracking)
    mlflow.set_registry_uri(registry)


@pytest.fixture
def file_shelf(tmp_path: Path, mlflow_uris: None) -> tuple[str, str]:
    """``(modelshelf URI, shelf URL)`` of a local shelf."""
    return f"modelshelf+file://{tmp_path}/shelf", str(tmp_path / "shelf")


@pytest.fixture
def s3_shelf(
    moto_endpoint: Endpoint, monkeypatch: pytest.MonkeyPatch, mlflow_uris: None
) -> tuple[str, Any]:
    """A shelf on moto's S3, configured the way MLflow users configure S3: the environment."""
    options = moto_endpoint.options
    monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", options["endpoint_url"])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", options["key"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", options["secret"])
    url = f"{moto_endpoint.base_url}/plugin-{uuid.uuid4().hex[:8]}"
    from modelshelf import Shelf

    return f"modelshelf+{url}", Shelf(url, **options)
