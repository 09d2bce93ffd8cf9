"""``ModelshelfRegistryStore``: MLflow's model registry store on a shelf's registry."""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Sequence
from typing import Any

from mlflow.entities.model_registry import ModelVersion as MlflowModelVersion
from mlflow.entities.model_registry import ModelVersionTag, RegisteredModelAlias, RegisteredModelTag
from mlflow.entities.model_registry import RegisteredModel as MlflowRegisteredModel
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import NOT_IMPLEMENTED
from mlflow.store.entities.paged_list import PagedList
from mlflow.store.model_registry.abstract_store import AbstractStore

from modelshelf.errors import StageDeprecationWarning
from modelshelf.mlflow_plugin._artifacts import tree_of
from modelshelf.mlflow_plugin._errors import translated
from modelshelf.mlflow_plugin._uris import SCHEME_PREFIX, shelf_for_uri, split_artifact_uri
from modelshelf.registry import ModelSource, ModelVersion, RegisteredModel, RegistryClient
from modelshelf.uri import resolve_source

__all__ = ["ModelshelfRegistryStore"]

_PROMPT_TAG = "mlflow.prompt.is_prompt"
_NOT_PROMPT = f"tag.`{_PROMPT_TAG}` != 'true'"


def _mv(mv: ModelVersion) -> MlflowModelVersion:
    return MlflowModelVersion(
        name=mv.name,
        version=str(mv.version),
        creation_timestamp=mv.creation_timestamp,
        last_updated_timestamp=mv.last_updated_timestamp,
        description=mv.description,
        user_id=mv.user_id,
        current_stage=mv.current_stage,
        source=mv.source,
        run_id=mv.run_id,
        status=mv.status,
        status_message=mv.status_message,
        tags=[ModelVersionTag(k, v) for k, v in mv.tags.items()],
        run_link=mv.run_link,
        aliases=list(mv.aliases),
        model_id=mv.model_id,
    )


def _rm(rm: RegisteredModel) -> MlflowRegisteredModel:
    return MlflowRegisteredModel(
        name=rm.name,
        creation_timestamp=rm.creation_timestamp,
        last_updated_timestamp=rm.last_updated_timestamp,
        description=rm.description,
        latest_versions=[_mv(v) for v in rm.latest_versions],
        tags=[RegisteredModelTag(k, v) for k, v in rm.tags.items()],
        aliases=[RegisteredModelAlias(a, str(v)) for a, v in rm.aliases.items()],
    )


def _tags(tags: Any) -> dict[str, Any] | None:
    if tags is None or isinstance(tags, dict):
        return tags
    return {t.key: t.value for t in tags}


class ModelshelfRegistryStore(AbstractStore):
    """MLflow's registry store for ``modelshelf+<shelf URL>`` registry URIs.

    Every change is one commit of the shelf's registry (same log, history and ``verify`` as
    :class:`~modelshelf.registry.RegistryClient`); a new version's source is stored
    content-addressed and bound to its tree digest when the version is created. modelshelf
    errors reach MLflow as ``MlflowException`` with the matching error code.

    Args:
        store_uri: ``modelshelf+s3://bucket/shelf``, ``modelshelf+file:///abs/path`` …
        tracking_uri: MLflow's tracking URI (reads logged models named by a source).
    """

    def __init__(self, store_uri: str, tracking_uri: str | None = None) -> None:
        super().__init__(store_uri, tracking_uri)
        self.tracking_uri = tracking_uri
        self.store_uri = store_uri.rstrip("/")
        self.shelf = translated(shelf_for_uri)(self.store_uri)
        self.registry = RegistryClient(self.shelf)

    # ------------------------------------------------------------------ registered models
    @translated
    def create_registered_model(
        self,
        name: str,
        tags: Any = None,
        description: str | None = None,
        deployment_job_id: str | None = None,
    ) -> MlflowRegisteredModel:
        return _rm(
            self.registry.create_registered_model(name, _tags(tags), description, deployment_job_id)
        )

    @translated
    def update_registered_model(
        self, name: str, description: str | None, deployment_job_id: str | None = None
    ) -> MlflowRegisteredModel:
        return _rm(self.registry.update_registered_model(name, description, deployment_job_id))

    @translated
    def rename_registered_model(self, name: str, new_name: str) -> MlflowRegisteredModel:
        return _rm(self.registry.rename_registered_model(name, new_name))

    @translated
    def delete_registered_model(self, name: str) -> None:
        self.registry.delete_registered_model(name)

    @translated
    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:  # type: ignore[type-arg]
        # MLflow's client AND-s "not a prompt" to every search; an absent tag must match it
        # (the shelf's grammar, like SQL, needs the tag to exist for "!="), so it is applied here.
        prompts = False
        for clause in (f" AND {_NOT_PROMPT}", _NOT_PROMPT):
            if filter_string and clause in filter_string:
                filter_string, prompts = filter_string.replace(clause, "", 1) or None, True
                break
        page = self.registry.search_registered_models(
            filter_string, 100 if max_results is None else max_results, order_by, page_token
        )
        kept = [m for m in page if not (prompts and m.tags.get(_PROMPT_TAG) == "true")]
        return PagedList([_rm(m) for m in kept], page.token)

    @translated
    def get_registered_model(self, name: str) -> MlflowRegisteredModel:
        return _rm(self.registry.get_registered_model(name))

    @translated
    def get_latest_versions(
        self, name: str, stages: Sequence[str] | None = None
    ) -> list[MlflowModelVersion]:
        with warnings.catch_warnings():  # MLflow's client already warned about stages
            warnings.simplefilter("ignore", StageDeprecationWarning)
            return [_mv(v) for v in self.registry.get_latest_versions(name, stages)]

    @translated
    def set_registered_model_tag(self, name: str, tag: RegisteredModelTag) -> None:
        self.registry.set_registered_model_tag(name, tag.key, tag.value)

    @translated
    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self.registry.delete_registered_model_tag(name, key)

    # ------------------------------------------------------------------ model versions
    @translated
    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: Any = None,
        run_link: str | None = None,
        description: str | None = None,
        local_model_path: str | None = None,
        model_id: str | None = None,
    ) -> MlflowModelVersion:
        self.registry.get_registered_model(name)  # fail before copying any file
        if self._is_logged_model(source) or (model_id and not run_id):
            # as MLflow's own stores do: a logged model names its run and its id
            logged = self._logged_model(
                _logged_model_id(source) if self._is_logged_model(source) else str(model_id)
            )
            run_id = run_id or logged.source_run_id
            model_id = model_id or logged.model_id
        resolved = self._resolve(source, local_model_path)
        return _mv(
            self.registry.create_model_version(
                name,
                resolved,
                run_id=run_id,
                tags=_tags(tags),
                run_link=run_link,
                description=description,
                model_id=model_id,
            )
        )

    def _logged_model(self, model_id: str) -> Any:
        from mlflow.tracking import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri).get_logged_model(model_id)

    def _resolve(self, source: str, local_model_path: str | None) -> ModelSource:
        """The tree digest of ``source`` on this shelf (stored first when it is elsewhere)."""
        if local_model_path:
            return ModelSource(resolve_source(local_model_path, self.shelf).digest, source)
        if source.startswith(("models:/", "sha256:")) and not self._is_logged_model(source):
            # a version of this registry (copy_model_version) or a stored tree
            return resolve_source(source, self.shelf, registry=self.registry)
        underlying = self._underlying(source)
        if underlying.startswith(SCHEME_PREFIX):
            root, folder = split_artifact_uri(underlying)
            if shelf_for_uri(root) is self.shelf:
                if folder.startswith("sha256:"):
                    return ModelSource(resolve_source(folder, self.shelf).digest, source)
                return ModelSource(
                    self.shelf.blobs.put_manifest(tree_of(self.shelf, folder)), source
                )
        from mlflow.artifacts import download_artifacts

        with tempfile.TemporaryDirectory(prefix="modelshelf-mlflow-") as tmp:
            local = download_artifacts(artifact_uri=underlying, dst_path=tmp)
            return ModelSource(resolve_source(local, self.shelf).digest, source)

    @staticmethod
    def _is_logged_model(source: str) -> bool:
        from mlflow.store.artifact.models_artifact_repo import ModelsArtifactRepository

        return bool(ModelsArtifactRepository._is_logged_model_uri(source))

    def _underlying(self, source: str) -> str:
        """Where MLflow keeps the files a ``runs:/`` or ``models:/`` source names."""
        scheme = _scheme(source)
        if scheme == "runs":
            from mlflow.store.artifact.runs_artifact_repo import RunsArtifactRepository

            return str(RunsArtifactRepository.get_underlying_uri(source))
        if scheme == "models" and self._is_logged_model(source):
            return str(self._logged_model(_logged_model_id(source)).artifact_location)
        return source

    @translated
    def update_model_version(
        self, name: str, version: str | int, description: str | None
    ) -> MlflowModelVersion:
        return _mv(self.registry.update_model_version(name, version, description))

    @translated
    def transition_model_version_stage(
        self, name: str, version: str | int, stage: str, archive_existing_versions: bool
    ) -> MlflowModelVersion:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StageDeprecationWarning)
            return _mv(
                self.registry.transition_model_version_stage(
                    name, version, stage, archive_existing_versions
                )
            )

    @translated
    def delete_model_version(self, name: str, version: str | int) -> None:
        self.registry.delete_model_version(name, version)

    @translated
    def get_model_version(self, name: str, version: str | int) -> MlflowModelVersion:
        return _mv(self.registry.get_model_version(name, version))

    @translated
    def get_model_version_download_uri(self, name: str, version: str | int) -> str:
        """``modelshelf+<shelf>/-/sha256:<tree>``: the version's bytes, by digest."""
        return f"{self.store_uri}/-/{self.registry.get_model_version(name, version).digest}"

    @translated
    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:  # type: ignore[type-arg]
        page = self.registry.search_model_versions(
            filter_string, 10_000 if max_results is None else max_results, order_by, page_token
        )
        return PagedList([_mv(v) for v in page], page.token)

    @translated
    def set_model_version_tag(self, name: str, version: str | int, tag: ModelVersionTag) -> None:
        self.registry.set_model_version_tag(name, version, tag.key, tag.value)

    @translated
    def delete_model_version_tag(self, name: str, version: str | int, key: str) -> None:
        self.registry.delete_model_version_tag(name, version, key)

    @translated
    def set_registered_model_alias(self, name: str, alias: str, version: str | int) -> None:
        self.registry.set_registered_model_alias(name, alias, version)

    @translated
    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        self.registry.delete_registered_model_alias(name, alias)

    # ------------------------------------------------------------------ not on a shelf
    def _no_webhooks(self, *args: Any, **kwargs: Any) -> Any:
        raise MlflowException(
            "webhooks are not kept on a modelshelf registry: the shelf has no server to call "
            "them from; watch the registry's history (modelshelf history) instead",
            error_code=NOT_IMPLEMENTED,
        )

    create_webhook = get_webhook = list_webhooks = list_webhooks_by_event = _no_webhooks
    update_webhook = delete_webhook = test_webhook = _no_webhooks

    @translated
    def get_model_version_by_alias(self, name: str, alias: str) -> MlflowModelVersion:
        return _mv(self.registry.get_model_version_by_alias(name, alias))


def _scheme(source: str) -> str | None:
    """``runs``/``models``/… as the one URI parser reads ``source`` (None if it cannot)."""
    from modelshelf.errors import InvalidURIError
    from modelshelf.uri import parse_uri

    try:
        return parse_uri(source).scheme
    except InvalidURIError:
        return None


def _logged_model_id(source: str) -> str:
    """The ``m-…`` id of a ``models:/m-…`` source."""
    from modelshelf.errors import InvalidInputError, InvalidURIError
    from modelshelf.uri import parse_uri

    try:
        model_id = parse_uri(source).model_id
    except InvalidURIError:
        model_id = None
    if model_id is None:
        raise InvalidInputError(
            f"{source!r} is not a logged-model URI modelshelf knows: logged model ids look like "
            "models:/m-<32 hex digits>"
        )
    return model_id
