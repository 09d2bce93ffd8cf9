"""``log_model``: save a model into a temp folder, store it as a tree in a run, maybe register it.

Every flavor's ``log_model`` (and ``modelshelf.pyfunc.log_model``) is this function with the
flavor's ``save_model``.
"""

from __future__ import annotations

import tempfile
import uuid
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelshelf.errors import InvalidInputError, ModelExistsError, ModelshelfDeprecationWarning
from modelshelf.models._mlmodel import Model

__all__ = ["ModelInfo", "ModelshelfDeprecationWarning", "log_model"]


@dataclass(frozen=True)
class ModelInfo:
    """What ``log_model`` logged (MLflow's ``ModelInfo`` fields, plus ``digest``).

    Attributes:
        model_uri: ``runs:/<run_id>/<name>``, loadable with ``load_model``.
        digest: the tree digest of the model's files (``sha256:…``): its identity.
        registered_model_version: the version created when ``registered_model_name`` was given.
    """

    name: str
    artifact_path: str
    run_id: str
    model_id: str
    model_uri: str
    digest: str
    flavors: dict[str, Any]
    model_uuid: str | None
    utc_time_created: str
    mlflow_version: str | None
    signature: Any = None
    saved_input_example_info: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    registered_model_version: int | None = None
    registered_model_name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def signature_dict(self) -> dict[str, Any] | None:
        return self.signature.to_dict() if self.signature is not None else None


def log_model(
    save_model: Callable[..., Any],
    *,
    name: str | None = None,
    artifact_path: str | None = None,
    registered_model_name: str | None = None,
    run_id: str | None = None,
    shelf: Any = None,
    tags: Mapping[str, Any] | None = None,
    await_registration_for: int | None = None,
    **save_kwargs: Any,
) -> ModelInfo:
    """Save with ``save_model(path=…, mlflow_model=…, **save_kwargs)`` and log the folder.

    The model is stored as one tree at ``name`` in the run (the active run, else a new one
    that stays active, as MLflow does); the run records it as a logged model; with
    ``registered_model_name`` a new version of that registered model is created (the model is
    created first if needed) from ``runs:/<run_id>/<name>``. ``await_registration_for`` is
    accepted for MLflow compatibility: registration here is synchronous.

    Raises:
        InvalidInputError: ``name`` and ``artifact_path`` disagree.
        ArtifactExistsError: another model is already logged at that path in the run.
    """
    from modelshelf.client import Client
    from modelshelf.runs import _fluent, clean_artifact_path

    if name and artifact_path and name != artifact_path:
        raise InvalidInputError(
            f"name={name!r} and artifact_path={artifact_path!r} differ; pass only `name`"
        )
    if artifact_path and not name:
        warnings.warn(
            "`artifact_path` is deprecated in MLflow 3; pass `name` instead",
            ModelshelfDeprecationWarning,
            stacklevel=3,
        )
    path = name or artifact_path or "model"
    clean_artifact_path(path)  # a bad name fails before anything is saved or uploaded
    client = Client(shelf)
    if run_id is None:
        active = _fluent.active_run()
        run_id = active.info.run_id if active is not None else _fluent.start_run().info.run_id
    model_id = f"m-{uuid.uuid4().hex}"
    mlflow_model = Model(artifact_path=path, run_id=run_id, model_id=model_id, model_uuid=model_id)
    with tempfile.TemporaryDirectory(prefix="modelshelf-log-") as tmp:
        local = Path(tmp) / "model"
        save_model(path=str(local), mlflow_model=mlflow_model, **save_kwargs)
        saved = Model.load(local)
        digest = client.shelf.blobs.put_tree(local, prefix=path)
        # The tree is on the shelf now, so this only records the path (no bytes move).
        client.log_artifacts(run_id, str(local), path)
    client.record_logged_model(
        run_id, path, digest, flavors=sorted(saved.flavors), model_id=model_id
    )
    version = None
    if registered_model_name:
        try:
            client.create_registered_model(registered_model_name)
        except ModelExistsError:
            pass
        mv = client.create_model_version(
            registered_model_name,
            f"runs:/{run_id}/{path}",
            run_id=run_id,
            tags=dict(tags) if tags else None,
            model_id=model_id,
        )
        version = int(mv.version)
    return ModelInfo(
        name=path,
        artifact_path=path,
        run_id=run_id,
        model_id=model_id,
        model_uri=f"runs:/{run_id}/{path}",
        digest=str(digest),
        flavors=dict(saved.flavors),
        model_uuid=saved.model_uuid,
        utc_time_created=saved.utc_time_created,
        mlflow_version=saved.mlflow_version,
        signature=saved.signature,
        saved_input_example_info=saved.saved_input_example_info,
        metadata=saved.metadata,
        registered_model_version=version,
        registered_model_name=registered_model_name,
    )
