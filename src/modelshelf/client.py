"""``Client``: MLflow's ``MlflowClient`` surface (runs + registry) on one shelf."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar, overload

from modelshelf._shelf import Shelf, get_shelf
from modelshelf.errors import ConfigurationError
from modelshelf.registry import ModelSource, RegistryClient
from modelshelf.runs import RunsClient
from modelshelf.uri import resolve_source

if TYPE_CHECKING:
    from modelshelf.gc import GcPlan, GcResult
    from modelshelf.registry import ModelVersion, RepairPlan

__all__ = ["Client", "MlflowClient"]

_P = ParamSpec("_P")
_R = TypeVar("_R")
_Part = TypeVar("_Part")


class _Forward(Generic[_Part, _P, _R]):
    """A ``Client`` method that calls the method of the same name on one of its parts.

    Typed from the part's method, so mypy and IDEs see its signature; the docstring is the
    part's. The bound method of the part is looked up per access (a part's subclass counts).
    """

    def __init__(self, part: str, method: Callable[Concatenate[_Part, _P], _R]) -> None:
        self.part = part
        self.name = method.__name__
        self.__doc__ = method.__doc__
        self.__wrapped__ = method

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> _Forward[_Part, _P, _R]: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> Callable[_P, _R]: ...
    def __get__(
        self, obj: object | None, owner: type | None = None
    ) -> _Forward[_Part, _P, _R] | Callable[_P, _R]:
        if obj is None:
            return self
        bound: Callable[_P, _R] = getattr(getattr(obj, self.part), self.name)
        return bound


class Client:
    """Runs, artifacts and the model registry of one shelf, with ``MlflowClient``'s method names.

    A ``Client`` holds a :class:`~modelshelf.runs.RunsClient` (``.runs``) and a
    :class:`~modelshelf.registry.RegistryClient` (``.registry``) on the same shelf and
    forwards MLflow's method names to them; sources of new versions (folders, URLs,
    ``runs:/``, ``models:/``, ``sha256:``) are resolved by :mod:`modelshelf.uri`.

    Args:
        shelf: a shelf URL or :class:`Shelf`; default: the current shelf (``set_shelf``,
            ``MODELSHELF_URI``, else ``./shelf``).
        tracking_uri: MLflow's name for ``shelf`` (a shelf URL).
        registry_uri: MLflow's name for ``shelf`` (a shelf URL).
        single_writer: allow registry writes on a backend that ignores conditional creates
            (your promise that only one process writes).
        checkpoint_interval: write a Parquet checkpoint every this many registry commits.
        signing_key: sign every commit, checkpoint and run record this client writes with
            this private key (a path, PEM bytes or a loaded key; default:
            ``MODELSHELF_SIGNING_KEY``).
        trusted_keys: trust only history signed by these public keys (default:
            ``MODELSHELF_TRUSTED_KEYS``, else the user's trusted-keys folder).
        policy: a signed write policy to pin (default: ``MODELSHELF_POLICY``).
        trust_from: ``SEQ:SHA256`` of the last commit accepted unsigned (a shelf that started
            signing late). See :class:`~modelshelf.registry.RegistryClient`.
        runs: a :class:`~modelshelf.runs.RunsClient` to use instead of a new one (same shelf).
        registry: a :class:`~modelshelf.registry.RegistryClient` to use instead of a new one
            (same shelf).
        **storage_options: passed to fsspec unchanged when ``shelf`` is a URL.

    Raises:
        ConfigurationError: ``shelf``, ``tracking_uri``, ``registry_uri`` or the parts name
            different shelves (runs and their registry live on one shelf; use
            :meth:`copy_model_version` to move a model between shelves).
    """

    # Runs and artifacts: forwarded to ``self.runs``.
    create_experiment = _Forward("runs", RunsClient.create_experiment)
    get_experiment = _Forward("runs", RunsClient.get_experiment)
    get_experiment_by_name = _Forward("runs", RunsClient.get_experiment_by_name)
    search_experiments = _Forward("runs", RunsClient.search_experiments)
    create_run = _Forward("runs", RunsClient.create_run)
    get_run = _Forward("runs", RunsClient.get_run)
    set_terminated = _Forward("runs", RunsClient.set_terminated)
    update_run = _Forward("runs", RunsClient.update_run)
    search_runs = _Forward("runs", RunsClient.search_runs)
    log_param = _Forward("runs", RunsClient.log_param)
    log_metric = _Forward("runs", RunsClient.log_metric)
    set_tag = _Forward("runs", RunsClient.set_tag)
    delete_tag = _Forward("runs", RunsClient.delete_tag)
    log_batch = _Forward("runs", RunsClient.log_batch)
    get_metric_history = _Forward("runs", RunsClient.get_metric_history)
    get_metric_history_table = _Forward("runs", RunsClient.get_metric_history_table)
    log_artifact = _Forward("runs", RunsClient.log_artifact)
    log_artifacts = _Forward("runs", RunsClient.log_artifacts)
    log_text = _Forward("runs", RunsClient.log_text)
    log_dict = _Forward("runs", RunsClient.log_dict)
    list_artifacts = _Forward("runs", RunsClient.list_artifacts)
    download_artifacts = _Forward("runs", RunsClient.download_artifacts)
    locate_artifact = _Forward("runs", RunsClient.locate_artifact)
    record_logged_model = _Forward("runs", RunsClient.record_logged_model)
    list_logged_models = _Forward("runs", RunsClient.list_logged_models)
    search_logged_models = _Forward("runs", RunsClient.search_logged_models)
    get_logged_model = _Forward("runs", RunsClient.get_logged_model)
    # The registry: forwarded to ``self.registry``.
    create_registered_model = _Forward("registry", RegistryClient.create_registered_model)
    get_registered_model = _Forward("registry", RegistryClient.get_registered_model)
    search_registered_models = _Forward("registry", RegistryClient.search_registered_models)
    update_registered_model = _Forward("registry", RegistryClient.update_registered_model)
    rename_registered_model = _Forward("registry", RegistryClient.rename_registered_model)
    delete_registered_model = _Forward("registry", RegistryClient.delete_registered_model)
    set_registered_model_tag = _Forward("registry", RegistryClient.set_registered_model_tag)
    delete_registered_model_tag = _Forward("registry", RegistryClient.delete_registered_model_tag)
    create_model_version = _Forward("registry", RegistryClient.create_model_version)
    get_model_version = _Forward("registry", RegistryClient.get_model_version)
    update_model_version = _Forward("registry", RegistryClient.update_model_version)
    delete_model_version = _Forward("registry", RegistryClient.delete_model_version)
    search_model_versions = _Forward("registry", RegistryClient.search_model_versions)
    get_latest_versions = _Forward("registry", RegistryClient.get_latest_versions)
    transition_model_version_stage = _Forward(
        "registry", RegistryClient.transition_model_version_stage
    )
    get_model_version_download_uri = _Forward(
        "registry", RegistryClient.get_model_version_download_uri
    )
    set_model_version_tag = _Forward("registry", RegistryClient.set_model_version_tag)
    delete_model_version_tag = _Forward("registry", RegistryClient.delete_model_version_tag)
    set_registered_model_alias = _Forward("registry", RegistryClient.set_registered_model_alias)
    delete_registered_model_alias = _Forward(
        "registry", RegistryClient.delete_registered_model_alias
    )
    get_model_version_by_alias = _Forward("registry", RegistryClient.get_model_version_by_alias)
    resolve_version = _Forward("registry", RegistryClient.resolve_version)
    resolve_model_uri = _Forward("registry", RegistryClient.resolve_model_uri)
    get_registry_history = _Forward("registry", RegistryClient.get_registry_history)
    verify = _Forward("registry", RegistryClient.verify)
    registry_head = _Forward("registry", RegistryClient.registry_head)
    registry_table = _Forward("registry", RegistryClient.registry_table)

    def __init__(
        self,
        shelf: str | Shelf | None = None,
        *,
        tracking_uri: str | None = None,
        registry_uri: str | None = None,
        single_writer: bool = False,
        checkpoint_interval: int = 100,
        signing_key: Any = None,
        trusted_keys: Any = None,
        policy: Any = None,
        trust_from: str | None = None,
        runs: RunsClient | None = None,
        registry: RegistryClient | None = None,
        **storage_options: Any,
    ) -> None:
        named = [(what, value) for what, value in (
            ("shelf", shelf), ("tracking_uri", tracking_uri), ("registry_uri", registry_uri),
            ("runs", runs.shelf if runs is not None else None),
            ("registry", registry.shelf if registry is not None else None),
        ) if value is not None]  # fmt: skip
        opened = get_shelf(named[0][1] if named else None, **storage_options)
        for what, value in named[1:]:
            other = value if isinstance(value, Shelf) else get_shelf(value, **storage_options)
            if other.url != opened.url:
                raise ConfigurationError(
                    f"{named[0][0]} is {opened.url!r} but {what} is {other.url!r}: a Client "
                    "keeps runs and the registry on one shelf; pass one URL, or use two "
                    "Clients and copy_model_version to move a model between shelves"
                )
        self.shelf = opened
        self.runs = runs or RunsClient(opened, signing_key=signing_key, trusted_keys=trusted_keys)
        self.registry = registry or RegistryClient(
            opened,
            single_writer=single_writer,
            checkpoint_interval=checkpoint_interval,
            signing_key=signing_key,
            trusted_keys=trusted_keys,
            policy=policy,
            trust_from=trust_from,
            source_resolver=self.resolve_source,
        )

    def plan_repair(
        self,
        source: str | Shelf | None = None,
        *,
        truncate: bool = False,
        **source_options: Any,
    ) -> RepairPlan:
        return self.registry.plan_repair(source, truncate=truncate, **source_options)

    plan_repair.__doc__ = RegistryClient.plan_repair.__doc__

    def resolve_source(self, source: str | os.PathLike[str]) -> ModelSource:
        """Store (if needed) and name the folder ``source`` names, with its lineage.

        ``source`` is a local folder, a folder URL, ``runs:/…``, ``models:/…`` or
        ``sha256:…`` (see :func:`modelshelf.uri.resolve_source`).

        Raises:
            InvalidURIError, InvalidInputError, NotFoundError: see ``resolve_source``.
        """
        return resolve_source(source, self.shelf, runs=self.runs, registry=self.registry)

    def __repr__(self) -> str:
        return f"Client({self.shelf.url!r})"

    def gc(
        self,
        grace: timedelta | None = None,
        execute: bool = False,
        *,
        now: datetime | float | None = None,
    ) -> GcPlan | GcResult:
        """Garbage-collect this shelf's blobs: a plan by default, deletion only if asked.

        Marks every registry version (deleted ones until ``grace`` has passed), run artifact,
        logged model and pin; unreferenced blobs written more than ``grace`` ago are
        collectable. See :mod:`modelshelf.gc` for the safety argument.

        Args:
            grace: how long unreferenced blobs and deleted versions' blobs are kept
                (default ``MODELSHELF_GC_GRACE`` or 24 h).
            execute: run the plan: quarantine new garbage, delete old quarantined garbage
                (default: a dry run that changes nothing).
            now: measure ``grace`` from this instant instead of now (tests).

        Returns:
            The :class:`~modelshelf.gc.GcPlan` (dry run) or the
            :class:`~modelshelf.gc.GcResult` of executing it.

        Raises:
            InvalidInputError: ``grace`` is negative or not a timedelta.
            StorageError: the backend failed (a dry run deleted nothing).
        """
        from modelshelf.gc import plan_gc

        plan = plan_gc(self.shelf, grace=grace, now=now)
        return plan.execute(self.shelf) if execute else plan

    def copy_model_version(
        self,
        src_model_uri: str,
        dst_name: str,
        dst_shelf: str | Shelf | None = None,
        *,
        dst_storage_options: dict[str, Any] | None = None,
        tags: dict[str, Any] | None = None,
        description: str | None = None,
    ) -> ModelVersion:
        """Promote a model from this shelf to ``dst_shelf`` as the next version of ``dst_name``.

        ``src_model_uri`` is resolved on this shelf (``models:/name/3``, ``models:/name@alias``,
        ``runs:/<run_id>/model``, ``sha256:…``). Only blobs the destination lacks are copied
        (copying twice moves no bytes), digests stay the same, the registered model is
        created on the destination if needed, and the new version carries its provenance in
        ``modelshelf.source_shelf``, ``…source_name``, ``…source_version``,
        ``…source_digest`` and ``…source_uri`` tags (and in its description unless one is
        given).

        Args:
            src_model_uri: the model on this shelf (MLflow's name for this argument).
            dst_name: the registered model on the destination.
            dst_shelf: destination shelf URL or :class:`~modelshelf.Shelf` (default: this one).
            dst_storage_options: fsspec options for a ``dst_shelf`` URL (credentials …).
            tags: more version tags (not ``modelshelf.source_*``).
            description: the new version's description.

        Returns:
            The new version on the destination.

        Raises:
            InvalidInputError: ``src_model_uri`` names a file, or ``tags`` use a reserved key.
            ModelNotFoundError, VersionNotFoundError, AliasNotFoundError, RunNotFoundError:
                ``src_model_uri`` does not resolve.
            ObjectNotFoundError, IntegrityError: a source blob is missing or corrupt.
            UnsafeBackendError: the destination cannot take registry writes.
        """
        from modelshelf._promote import copy_model_version

        return copy_model_version(
            self,
            src_model_uri,
            dst_name,
            dst_shelf,
            dst_storage_options=dst_storage_options,
            tags=tags,
            description=description,
        )


MlflowClient = Client
