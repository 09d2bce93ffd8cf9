"""modelshelf as MLflow's model registry store and artifact repository (``modelshelf[mlflow]``).

MLflow finds these through its plugin entry points, for URIs of the form
``modelshelf+<fsspec URL of a shelf>``::

    mlflow.set_registry_uri("modelshelf+s3://bucket/shelf")       # the registry
    mlflow.create_experiment("x", artifact_location="modelshelf+s3://bucket/shelf/-/x")

The part after ``/-/`` in an artifact location is a folder of the shelf's MLflow artifact
area. This subpackage is the only place modelshelf imports MLflow.
"""

from __future__ import annotations

from modelshelf.mlflow_plugin._artifacts import ModelshelfArtifactRepository
from modelshelf.mlflow_plugin._registry import ModelshelfRegistryStore
from modelshelf.mlflow_plugin._uris import (
    SCHEME_PREFIX,
    SCHEMES,
    shelf_for_uri,
    split_artifact_uri,
)

__all__ = [
    "SCHEMES",
    "SCHEME_PREFIX",
    "ModelshelfArtifactRepository",
    "ModelshelfRegistryStore",
    "register",
    "shelf_for_uri",
    "split_artifact_uri",
]


def register() -> None:
    """Register the plugin with MLflow in this process, for every scheme in :data:`SCHEMES`.

    Only needed when modelshelf's entry points are not installed (e.g. running from a source
    checkout); an installed ``modelshelf[mlflow]`` is found by MLflow on its own.
    """
    from mlflow.store.artifact.artifact_repository_registry import _artifact_repository_registry
    from mlflow.tracking._model_registry.utils import _get_store_registry

    stores = _get_store_registry()
    for scheme in SCHEMES:
        stores.register(scheme, ModelshelfRegistryStore)
        _artifact_repository_registry.register(scheme, ModelshelfArtifactRepository)
    stores._get_store_with_resolved_uri.cache_clear()
