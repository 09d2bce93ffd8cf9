"""RegistryClient: MLflow's ``MlflowClient`` registry methods over the shelf's commit log."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import warnings
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from modelshelf._actor import whoami
from modelshelf._shelf import Shelf, get_shelf
from modelshelf.errors import (
    AliasNotFoundError,
    InvalidInputError,
    InvalidURIError,
    ModelExistsError,
    StageDeprecationWarning,
    UnsafeBackendError,
    VersionNotFoundError,
)
from modelshelf.registry import _audit, _search
from modelshelf.registry._actions import Action, CreateVersion
from modelshelf.registry._checkpoint import state_to_tables
from modelshelf.registry._entities import ModelVersion, PagedList, RegisteredModel, RegistryChange
from modelshelf.registry._names import (
    check_alias,
    check_model_name,
    check_stage,
    check_tag,
    check_tag_key,
    check_tags,
    check_text,
    check_unicode,
    check_version,
)
from modelshelf.registry._repair import RepairPlan, plan_repair
from modelshelf.registry._replica import Replica, replica_for
from modelshelf.registry._source import ModelSource, SourceResolver
from modelshelf.registry._state import ModelRec, RegistryState, VersionRec
from modelshelf.storage import redact_url

__all__ = ["RegistryClient", "parse_models_uri"]

_T = TypeVar("_T")

_STAGE_WARNING = (
    "Model registry stages will be removed in a future major release (as in MLflow); "
    "use aliases instead: set_registered_model_alias / get_model_version_by_alias"
)
_MAX_RESULTS = 200_000

_PROBES: dict[str, bool] = {}
_PROBES_LOCK = threading.Lock()


def _stage_warning() -> None:
    warnings.warn(_STAGE_WARNING, StageDeprecationWarning, stacklevel=3)


def parse_models_uri(uri: str) -> tuple[str, str, str, str]:
    """Deprecated alias of :func:`modelshelf.uri.parse_uri` for ``models:/`` URIs.

    Returns:
        ``(name, kind, selector, subpath)`` with kind ``version``, ``alias``, ``latest`` or
        ``stage`` (selector: the version number, alias or canonical stage).

    Raises:
        InvalidURIError: not a proper ``models:/`` URI for a registered model.
    """
    from modelshelf.uri._parse import parse_uri  # compatibility shim: the uri layer parses

    parsed = parse_uri(uri)
    if parsed.scheme != "models" or parsed.name is None:
        raise InvalidURIError(f"not a models:/ URI for a registered model: {uri!r}")
    kind = parsed.selector or ""
    selector = {
        "version": str(parsed.version),
        "alias": parsed.alias,
        "stage": parsed.stage,
        "latest": "latest",
    }[kind]
    return parsed.name, kind, selector or "", parsed.path


class RegistryClient:
    """The model registry of a shelf, with MLflow's ``MlflowClient`` method names.

    The registry lives under ``registry/`` on the shelf: an append-only, hash-chained commit
    log plus Parquet checkpoints (see docs/explanation/registry.md). Reads cost the log's tail only;
    every write is one atomic create of the next commit, so any number of processes on any
    number of machines may write at once.

    Args:
        shelf: a shelf URL, a :class:`~modelshelf.Shelf`, or None for the current shelf.
        single_writer: allow writes on a backend that does not enforce create-if-absent. Only
            safe if no two processes ever write this registry at the same time: concurrent
            commits would silently overwrite each other.
        checkpoint_interval: write a Parquet checkpoint every this many commits (0: never).
        signing_key: sign every commit and checkpoint with this ECDSA P-256 key (a PEM path
            or a :class:`~modelshelf.signing.SigningKey`); default ``MODELSHELF_SIGNING_KEY``.
        trusted_keys: public keys (paths, folders, PEM bytes) to trust; with any, reads fail
            closed on unsigned or badly signed history and on a rollback. Default
            ``MODELSHELF_TRUSTED_KEYS``, else the ``~/.config/modelshelf/trusted_keys`` folder.
        policy: a signed write-policy file (default ``MODELSHELF_POLICY``); needs trusted keys.
        trust_from: ``SEQ:SHA256`` of a commit recorded before signing was turned on (default
            ``MODELSHELF_TRUST_FROM``): commits up to it are accepted unsigned when the log
            still holds exactly that commit; every later one must be signed.
        source_resolver: turns a ``create_model_version`` source (folder, URL, URI) into a
            :class:`ModelSource` on this shelf; default :func:`modelshelf.uri.resolve_source`.
        **storage_options: passed to fsspec when ``shelf`` is a URL.
    """

    def __init__(
        self,
        shelf: str | Shelf | None = None,
        *,
        single_writer: bool = False,
        checkpoint_interval: int = 100,
        signing_key: Any = None,
        trusted_keys: Any = None,
        policy: Any = None,
        trust_from: str | None = None,
        source_resolver: SourceResolver | None = None,
        **storage_options: Any,
    ) -> None:
        if (
            isinstance(checkpoint_interval, bool)
            or not isinstance(checkpoint_interval, int)
            or checkpoint_interval < 0
        ):
            raise InvalidInputError(
                f"checkpoint_interval must be a whole number ≥ 0, got {checkpoint_interval!r}"
            )
        self.shelf = get_shelf(shelf, **storage_options)
        self._reg_resolver = source_resolver
        self._reg_single_writer = bool(single_writer)
        self._reg_checkpoint_interval = checkpoint_interval
        url = self.shelf.url
        options = json.dumps(
            getattr(self.shelf, "storage_options", {}), sort_keys=True, default=str
        )
        storage = self.shelf.storage
        named = (
            Path(self.shelf.blobs.cache.root)
            / "named"
            / hashlib.sha256(url.encode()).hexdigest()[:16]
        )
        key: tuple[str, ...] = (
            url,
            options,
            type(storage).__module__ + "." + type(storage).__qualname__,
        )
        from modelshelf.registry._signing import trust_for

        self._reg_signer, trust = trust_for(
            url, named, signing_key, trusted_keys, policy, trust_from
        )
        if trust is not None:
            key += (trust.fingerprint(),)
        self._reg_replica: Replica = replica_for(storage, key, named, trust)

    # =================================================================== internal helpers
    def _reg_fault(self, point: str) -> None:
        """Called at named points of a write (tests override it to simulate crashes)."""

    def _reg_state(self) -> RegistryState:
        return self._reg_replica.current()

    def _reg_check_writable(self) -> None:
        if self._reg_replica.trust is not None:  # before any upload: it could not be committed
            self._reg_replica.trust.check_writer(self._reg_signer)
        if self._reg_single_writer:
            return
        url = self.shelf.url
        with _PROBES_LOCK:
            safe = _PROBES.get(url)
        if safe is None:
            safe = self.shelf.storage.probe()
            with _PROBES_LOCK:
                _PROBES[url] = safe
        if not safe:
            raise UnsafeBackendError(
                f"the backend at {url} does not enforce create-if-absent (conditional writes), "
                "so two registry writers could overwrite each other's commits. Use a backend "
                "that enforces it, or pass single_writer=True if only one process ever writes "
                "to this registry"
            )

    def _reg_commit(
        self,
        plan: Callable[[RegistryState], list[Action]],
        result: Callable[[RegistryState], _T] = lambda _state: None,  # type: ignore[assignment,return-value]
    ) -> _T:
        self._reg_check_writable()
        return self._reg_replica.commit(
            plan,
            result,
            checkpoint_interval=self._reg_checkpoint_interval,
            fault=self._reg_fault,
            signer=self._reg_signer,
        )

    def _reg_read(self, fn: Callable[[RegistryState], _T]) -> _T:
        with self._reg_replica.lock:
            return fn(self._reg_state())

    def _reg_forget(self) -> None:
        """Drop the in-memory state: the next read loads cold (hint, checkpoint, tail)."""
        self._reg_replica.forget()

    def _reg_write_checkpoint(self) -> int:
        """Write a checkpoint of the current head now; returns its seq."""
        self._reg_check_writable()
        return self._reg_replica.write_checkpoint(self._reg_signer)

    @staticmethod
    def _reg_mv(state: RegistryState, name: str, version: int) -> ModelVersion:
        rec = state.version(name, version)
        return state.to_model_version(state.models[name], rec)

    # ======================================================================= models
    def create_registered_model(
        self,
        name: str,
        tags: dict[str, Any] | None = None,
        description: str | None = None,
        deployment_job_id: str | None = None,
    ) -> RegisteredModel:
        """Create a registered model.

        Raises:
            InvalidNameError: the name or a tag key breaks the naming rules.
            ModelExistsError: a model with this name exists.
        """
        name = check_model_name(name)
        tag_map = check_tags(tags)
        description = check_text(description, "description")

        def plan(state: RegistryState) -> list[Action]:
            if name in state.models:
                raise ModelExistsError(
                    f"registered model {name!r} already exists; pick another name, or use "
                    "create_model_version to add a version to it"
                )
            return [
                {"op": "create_model", "name": name, "description": description, "tags": tag_map}
            ]

        return self._reg_commit(plan, lambda s: s.to_registered_model(s.model(name)))

    def get_registered_model(self, name: str) -> RegisteredModel:
        """Raises ModelNotFoundError."""
        name = check_model_name(name)
        return self._reg_read(lambda s: s.to_registered_model(s.model(name)))

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        """Search models: ``name = / != / LIKE / ILIKE`` and ``tags.<key>`` clauses, AND-ed.

        Raises:
            InvalidInputError: a malformed filter, order_by, max_results or page_token.
        """
        clauses = _search.parse_filter(filter_string, _search.MODEL_FIELDS)
        order = _search.parse_order_by_fields(order_by, _search.MODEL_FIELDS, [("name", False)])
        limit = _check_max_results(max_results)
        query = repr(("models", clauses, order))
        offset = _search.decode_token(page_token, query)

        def run(state: RegistryState) -> list[ModelRec]:
            return [
                m
                for m in state.models.values()
                if _search.matches(clauses, partial(getattr, m), m.tags)
            ]

        with self._reg_replica.lock:
            state = self._reg_state()
            found = run(state)
            found.sort(key=_search.order_key(order, getattr))
            page = found[offset : offset + limit]
            items = [state.to_registered_model(m) for m in page]
        more = offset + limit < len(found)
        return PagedList(items, _search.encode_token(offset + limit, query) if more else None)

    def update_registered_model(
        self, name: str, description: str | None = None, deployment_job_id: str | None = None
    ) -> RegisteredModel:
        """Set the model's description.

        Raises:
            ModelNotFoundError: no such model.
        """
        name = check_model_name(name)
        description = check_text(description, "description")

        def plan(state: RegistryState) -> list[Action]:
            state.model(name)
            return [{"op": "update_model", "name": name, "description": description}]

        return self._reg_commit(plan, lambda s: s.to_registered_model(s.model(name)))

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Rename a model; its versions, tags and aliases move with it.

        Raises:
            ModelNotFoundError: no model ``name``.
            ModelExistsError: ``new_name`` is taken.
            InvalidNameError: ``new_name`` breaks the naming rules.
        """
        name = check_model_name(name)
        new_name = check_model_name(new_name)

        def plan(state: RegistryState) -> list[Action]:
            state.model(name)
            if new_name == name:
                return []
            if new_name in state.models:
                raise ModelExistsError(
                    f"cannot rename {name!r} to {new_name!r}: a model with that name exists"
                )
            return [{"op": "rename_model", "name": name, "new_name": new_name}]

        return self._reg_commit(plan, lambda s: s.to_registered_model(s.model(new_name)))

    def delete_registered_model(self, name: str) -> None:
        """Delete a model and all its versions (history keeps them).

        Raises:
            ModelNotFoundError: no such model.
        """
        name = check_model_name(name)

        def plan(state: RegistryState) -> list[Action]:
            state.model(name)
            return [{"op": "delete_model", "name": name}]

        self._reg_commit(plan)

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        """Raises ModelNotFoundError, InvalidNameError, InvalidInputError."""
        name = check_model_name(name)
        key, text = check_tag(key, value)

        def plan(state: RegistryState) -> list[Action]:
            state.model(name)
            return [{"op": "set_model_tag", "name": name, "key": key, "value": text}]

        self._reg_commit(plan)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Remove a tag (a no-op if absent). Raises ModelNotFoundError."""
        name = check_model_name(name)
        key = check_tag_key(key)

        def plan(state: RegistryState) -> list[Action]:
            if key not in state.model(name).tags:
                return []
            return [{"op": "delete_model_tag", "name": name, "key": key}]

        self._reg_commit(plan)

    # ===================================================================== versions
    def _reg_source(self, source: str | os.PathLike[str] | ModelSource) -> ModelSource:
        if isinstance(source, ModelSource):
            return source
        if self._reg_resolver is None:
            # The resolver lives above the registry (modelshelf.uri); a RegistryClient made
            # by hand borrows the default one, bound to this shelf.
            from modelshelf.uri._source import resolve_source

            self._reg_resolver = partial(resolve_source, shelf=self.shelf, registry=self)
        return self._reg_resolver(source)

    def create_model_version(
        self,
        name: str,
        source: str | os.PathLike[str] | ModelSource,
        run_id: str | None = None,
        tags: dict[str, Any] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        await_creation_for: int = 300,
        local_model_path: str | None = None,
        model_id: str | None = None,
    ) -> ModelVersion:
        """Register the files at ``source`` as the next version of model ``name``.

        The files are stored content-addressed first; the version is bound to their tree
        digest, so ``models:/name/<n>`` always means the same bytes. Version numbers are
        ``1 + the highest ever used`` (never reused, even after a delete).

        Args:
            source: a local folder, an fsspec URL of a folder, ``sha256:<tree digest>``,
                ``runs:/<run_id>/<path>``, ``models:/…``, or a :class:`ModelSource` the
                caller resolved.
            local_model_path: if given, files are read from here while ``source`` is recorded.

        Raises:
            ModelNotFoundError: the registered model does not exist.
            NotFoundError: the source does not exist.
            InvalidNameError / InvalidInputError: bad name, tags or description.
        """
        name = check_model_name(name)
        tag_map = check_tags(tags)
        description = check_text(description, "description")
        if run_id is not None and not isinstance(run_id, str):
            raise InvalidInputError(f"run_id must be a string, got {run_id!r}")
        for text, what in ((run_id, "run_id"), (run_link, "run_link"), (model_id, "model_id")):
            check_text(text, what)
        if isinstance(source, str):
            check_unicode(source, "source")
        self._reg_check_writable()
        known = self._reg_replica.state
        if known is None or name not in known.models:  # fail before uploading anything
            self._reg_read(lambda s: s.model(name))
        resolved = self._reg_source(local_model_path or source)
        digest, lineage = resolved.digest, resolved.lineage
        recorded = source.uri if isinstance(source, ModelSource) else str(source)
        if run_id is None and lineage.get("run_id"):
            run_id = lineage["run_id"]  # registered from runs:/…: the version names its run
        self._reg_fault("after_blobs")
        created: list[int] = []

        def plan(state: RegistryState) -> list[Action]:
            model = state.model(name)
            # Right before each attempt to commit: the blobs are still there (gc protocol).
            self.shelf.blobs.check_before_commit(digest)
            created[:] = [model.next_version]
            action: CreateVersion = {
                "op": "create_version",
                "name": name,
                "version": model.next_version,
                "digest": str(digest),
                "source": redact_url(recorded),
                "run_id": run_id,
                "run_link": redact_url(run_link) if run_link else run_link,
                "description": description,
                "tags": tag_map,
                "user_id": _user(),
                "model_id": model_id,
            }
            if lineage:
                action["lineage"] = dict(lineage)
            return [action]

        return self._reg_commit(plan, lambda s: self._reg_mv(s, name, created[0]))

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        """Raises ModelNotFoundError, VersionNotFoundError (also for a deleted version)."""
        name, number = check_model_name(name), check_version(version)
        return self._reg_read(lambda s: self._reg_mv(s, name, number))

    def update_model_version(
        self, name: str, version: int | str, description: str | None = None
    ) -> ModelVersion:
        """Set a version's description. Raises ModelNotFoundError, VersionNotFoundError."""
        name, number = check_model_name(name), check_version(version)
        description = check_text(description, "description")

        def plan(state: RegistryState) -> list[Action]:
            state.version(name, number)
            return [
                {
                    "op": "update_version",
                    "name": name,
                    "version": number,
                    "description": description,
                }
            ]

        return self._reg_commit(plan, lambda s: self._reg_mv(s, name, number))

    def delete_model_version(self, name: str, version: int | str) -> None:
        """Tombstone a version: it disappears from reads, its aliases are removed, and its
        number is never reused.

        Raises:
            ModelNotFoundError: no registered model has this name.
            VersionNotFoundError: the model has no such live version.
        """
        name, number = check_model_name(name), check_version(version)

        def plan(state: RegistryState) -> list[Action]:
            state.version(name, number)
            return [{"op": "delete_version", "name": name, "version": number}]

        self._reg_commit(plan)

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 10_000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        """Search live versions: ``name``, ``run_id`` (``=``/``IN``), ``version_number``,
        ``source_path``, ``digest`` and ``tags.<key>`` clauses, AND-ed.

        Raises:
            InvalidInputError: a malformed filter, order_by, max_results or page_token.
        """
        clauses = _search.parse_filter(filter_string, _search.VERSION_FIELDS)
        order = _search.parse_order_by_fields(
            order_by, _search.VERSION_FIELDS, [("name", False), ("version", True)]
        )
        limit = _check_max_results(max_results)
        query = repr(("versions", clauses, order))
        offset = _search.decode_token(page_token, query)
        names = [
            c.value for c in clauses if c.kind == "attributes" and c.key == "name" and c.op == "="
        ]

        def field(item: tuple[ModelRec, VersionRec], attr: str) -> Any:
            return item[0].name if attr == "name" else getattr(item[1], attr)

        with self._reg_replica.lock:
            state = self._reg_state()
            models = (
                [state.models[n] for n in names[:1] if n in state.models]
                if names
                else list(state.models.values())
            )
            found = [
                (m, r)
                for m in models
                for r in state.live_versions(m)
                if _search.matches(clauses, partial(field, (m, r)), r.tags)
            ]
            found.sort(key=_search.order_key(order, field))
            page = found[offset : offset + limit]
            items = [state.to_model_version(m, r) for m, r in page]
        more = offset + limit < len(found)
        return PagedList(items, _search.encode_token(offset + limit, query) if more else None)

    def get_latest_versions(
        self, name: str, stages: Sequence[str] | None = None
    ) -> list[ModelVersion]:
        """The newest live version in each stage (all stages when ``stages`` is None).

        Deprecated with stages (warns StageDeprecationWarning, a FutureWarning).

        Raises:
            ModelNotFoundError: no such model.
        """
        name = check_model_name(name)
        _stage_warning()
        wanted = [check_stage(s) for s in stages] if stages else None

        def run(state: RegistryState) -> list[ModelVersion]:
            model = state.model(name)
            latest = state.to_registered_model(model).latest_versions
            return [mv for mv in latest if wanted is None or mv.current_stage in wanted]

        return self._reg_read(run)

    def transition_model_version_stage(
        self,
        name: str,
        version: int | str,
        stage: str,
        archive_existing_versions: bool = False,
    ) -> ModelVersion:
        """Move a version to a stage (deprecated, as in MLflow; warns StageDeprecationWarning).

        With ``archive_existing_versions`` (Staging/Production only) the other versions in
        that stage move to Archived in the same commit.

        Raises:
            InvalidInputError: unknown stage, or archiving asked for another stage.
            ModelNotFoundError: no registered model has this name.
            VersionNotFoundError: the model has no such live version.
        """
        name, number = check_model_name(name), check_version(version)
        canonical = check_stage(stage)
        _stage_warning()
        if archive_existing_versions and canonical not in ("Staging", "Production"):
            raise InvalidInputError(
                f"archive_existing_versions=True is only allowed when moving to Staging or "
                f"Production, not {canonical!r}"
            )

        def plan(state: RegistryState) -> list[Action]:
            state.version(name, number)
            actions: list[Action] = [
                {"op": "set_stage", "name": name, "version": number, "stage": canonical}
            ]
            if archive_existing_versions:
                for rec in state.live_versions(state.model(name)):
                    if rec.version != number and rec.current_stage == canonical:
                        actions.append(
                            {
                                "op": "set_stage",
                                "name": name,
                                "version": rec.version,
                                "stage": "Archived",
                            }
                        )
            return actions

        return self._reg_commit(plan, lambda s: self._reg_mv(s, name, number))

    def get_model_version_download_uri(self, name: str, version: int | str) -> str:
        """Where the version's files are: their tree digest ``sha256:<hex>`` on this shelf.

        Raises:
            ModelNotFoundError: no registered model has this name.
            VersionNotFoundError: the model has no such live version.
        """
        return self.get_model_version(name, version).digest

    def set_model_version_tag(
        self,
        name: str,
        version: int | str | None = None,
        key: str | None = None,
        value: Any = None,
        stage: str | None = None,
    ) -> None:
        """Raises ModelNotFoundError, VersionNotFoundError, InvalidNameError, InvalidInputError."""
        name = check_model_name(name)
        number = self._reg_version_or_stage(name, version, stage)
        key, text = check_tag(key, value)

        def plan(state: RegistryState) -> list[Action]:
            state.version(name, number)
            return [
                {
                    "op": "set_version_tag",
                    "name": name,
                    "version": number,
                    "key": key,
                    "value": text,
                }
            ]

        self._reg_commit(plan)

    def delete_model_version_tag(
        self,
        name: str,
        version: int | str | None = None,
        key: str | None = None,
        stage: str | None = None,
    ) -> None:
        """Remove a version tag (a no-op if absent). Raises ModelNotFoundError,
        VersionNotFoundError."""
        name = check_model_name(name)
        number = self._reg_version_or_stage(name, version, stage)
        key = check_tag_key(key)

        def plan(state: RegistryState) -> list[Action]:
            if key not in state.version(name, number).tags:
                return []
            return [{"op": "delete_version_tag", "name": name, "version": number, "key": key}]

        self._reg_commit(plan)

    def _reg_version_or_stage(self, name: str, version: Any, stage: str | None) -> int:
        if version is not None and stage is not None:
            raise InvalidInputError("pass either version or stage, not both")
        if version is not None:
            return check_version(version)
        if stage is None:
            raise InvalidInputError("pass the version (or, deprecated, a stage)")
        canonical = check_stage(stage)
        _stage_warning()
        found = self._reg_read(lambda s: s.latest_version(s.model(name), canonical))
        if found is None:
            raise VersionNotFoundError(f"registered model {name!r} has no version in {canonical}")
        return int(found.version)

    # ====================================================================== aliases
    def set_registered_model_alias(self, name: str, alias: str, version: int | str) -> None:
        """Point ``alias`` at a live version (re-pointing it if it exists).

        Raises:
            InvalidNameError: the alias breaks the rules (``latest`` and ``v<N>`` are reserved).
            ModelNotFoundError, VersionNotFoundError: the target does not exist (or is deleted).
        """
        name, number, alias = check_model_name(name), check_version(version), check_alias(alias)

        def plan(state: RegistryState) -> list[Action]:
            state.version(name, number)
            if state.models[name].aliases.get(alias) == number:
                return []
            return [{"op": "set_alias", "name": name, "alias": alias, "version": number}]

        self._reg_commit(plan)

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        """Remove an alias (a no-op if absent). Raises ModelNotFoundError, InvalidNameError."""
        name, alias = check_model_name(name), check_alias(alias)

        def plan(state: RegistryState) -> list[Action]:
            if alias not in state.model(name).aliases:
                return []
            return [{"op": "delete_alias", "name": name, "alias": alias}]

        self._reg_commit(plan)

    def get_model_version_by_alias(
        self, name: str, alias: str, as_of: datetime | None = None
    ) -> ModelVersion:
        """The version ``alias`` points at now, or at time ``as_of`` (a datetime; naive = UTC).

        Raises:
            AliasNotFoundError: the alias does not exist (at that time).
            ModelNotFoundError: the model does not exist (at that time).
        """
        name, alias = check_model_name(name), check_alias(alias)
        if as_of is not None:
            if not isinstance(as_of, datetime):
                raise InvalidInputError(f"as_of must be a datetime, got {as_of!r}")
            return self._reg_alias(
                _audit.state_as_of(self._reg_replica, as_of),
                name,
                alias,
                f" at {as_of.isoformat()}",
            )
        return self._reg_read(lambda s: self._reg_alias(s, name, alias, ""))

    def _reg_alias(self, state: RegistryState, name: str, alias: str, when: str) -> ModelVersion:
        model = state.model(name)
        number = model.aliases.get(alias)
        if number is None:
            known = ", ".join(sorted(model.aliases)) or "none"
            raise AliasNotFoundError(
                f"Registered model alias {alias} not found{when}: model {name!r} has the "
                f"aliases: {known}"
            )
        return state.to_model_version(model, model.versions[number])

    def resolve_version(
        self,
        name: str,
        *,
        version: int | str | None = None,
        alias: str | None = None,
        stage: str | None = None,
    ) -> ModelVersion:
        """The version a ``models:/`` URI selects: by number, by alias, the newest in a stage
        (deprecated, warns StageDeprecationWarning), or the newest of all (none given).

        Raises:
            InvalidInputError: more than one of ``version``, ``alias`` and ``stage``, or an
                unknown stage.
            ModelNotFoundError, VersionNotFoundError, AliasNotFoundError: nothing matches.
        """
        if sum(x is not None for x in (version, alias, stage)) > 1:
            raise InvalidInputError("pass at most one of version, alias and stage")
        name = check_model_name(name)
        if version is not None:
            return self.get_model_version(name, version)
        if alias is not None:
            return self.get_model_version_by_alias(name, alias)
        canonical = None
        if stage is not None:
            canonical = check_stage(stage)
            _stage_warning()

        def run(state: RegistryState) -> ModelVersion:
            model = state.model(name)
            rec = state.latest_version(model, canonical)
            if rec is None:
                where = f" in stage {canonical}" if canonical else ""
                raise VersionNotFoundError(f"registered model {name!r} has no version{where}")
            return state.to_model_version(model, rec)

        return self._reg_read(run)

    def resolve_model_uri(self, uri: str) -> tuple[ModelVersion, str]:
        """Resolve ``models:/name/3``, ``name@alias``, ``name/latest``, ``name/<stage>``
        (parsed by :func:`modelshelf.uri.parse_uri`).

        Returns:
            The version and the sub-path after the selector ('' if none).

        Raises:
            InvalidURIError: malformed URI. ModelNotFoundError, VersionNotFoundError,
            AliasNotFoundError: nothing matches.
        """
        from modelshelf.uri._parse import parse_uri  # compatibility shim: the uri layer parses

        parsed = parse_uri(uri)
        if parsed.scheme != "models" or parsed.name is None:
            raise InvalidURIError(f"not a models:/ URI for a registered model: {uri!r}")
        mv = self.resolve_version(
            parsed.name, version=parsed.version, alias=parsed.alias, stage=parsed.stage
        )
        return mv, parsed.path

    def live_version_digests(self, since_ms: int) -> list[tuple[str, str]]:
        """Every version live now or at any moment since ``since_ms`` (ms since the epoch),
        as ``(tree digest, "'name' version N")``: what garbage collection must keep.

        Replays from the state at ``since_ms`` (a checkpoint plus a short replay) to the
        head, collecting every version created on the way: that also covers versions of
        models deleted since, which leave no tombstone in the state.
        """
        replica = self._reg_replica
        found: list[tuple[str, str]] = []
        state = _audit.state_as_of(replica, since_ms)
        for model in state.models.values():
            for rec in state.live_versions(model):
                found.append((rec.digest, f"{model.name!r} version {rec.version}"))
        changes: list[RegistryChange] = []
        state = _audit.replay(replica, start=state, changes=changes)
        for change in changes:
            if change.action == "create_version" and change.new:
                found.append((str(change.new), f"{change.name!r} version {change.version}"))
        for model in state.models.values():
            for rec in model.versions.values():
                if rec.deleted_timestamp is None or rec.deleted_timestamp > since_ms:
                    found.append((rec.digest, f"{model.name!r} version {rec.version}"))
        return found

    # ======================================================================== audit
    def get_registry_history(
        self, name: str | None = None, since: datetime | int | None = None
    ) -> list[RegistryChange]:
        """Every change, oldest first: seq, time, actor, action, old -> new.

        Args:
            name: only this model's changes (followed back through renames).
            since: a datetime (changes at or after it; naive = UTC) or a commit seq
                (changes in later commits).
        """
        if name is not None:
            name = check_model_name(name)
        return _audit.history(self._reg_replica, name, since)

    def verify(
        self, deep: bool = False, *, expect_head: str | None = None
    ) -> _audit.RegistryVerifyReport:
        """Check the registry: hash chain, holes (each missing commit named by seq and key),
        every commit replays, checkpoints match the log, the hint, and every referenced tree
        and blob exists (``deep``: re-hash them).

        With trusted keys it also checks every signature, the write policy, the run records
        and the head this machine remembers; ``expect_head`` (``SEQ:SHA256``, recorded
        elsewhere) must be a commit of the log.

        Never raises for a problem in the data; each one is named in the report. Lists the
        log. :meth:`plan_repair` fixes holes and a bad hint.
        """
        from modelshelf.registry._signing import verify_trust

        report = _audit.verify(self._reg_replica, self.shelf.blobs, deep=deep)
        verify_trust(self._reg_replica, report, expect_head)
        return report

    def registry_head(self) -> str:
        """The newest commit as ``SEQ:SHA256`` (record it elsewhere; ``verify(expect_head=…)``
        checks a later log still holds it). ``0:`` for an empty registry."""
        return self._reg_read(lambda s: f"{s.seq}:{s.head or ''}")

    def plan_repair(
        self,
        source: str | Shelf | None = None,
        *,
        truncate: bool = False,
        **source_options: Any,
    ) -> RepairPlan:
        """Plan how to repair holes in the log and a bad ``_latest`` hint; nothing changes
        until ``plan.execute()``.

        A missing commit is restored from ``source`` (another copy of this shelf: a backup,
        a restored bucket version) only if its bytes hash to what the next commit recorded.
        A hole no copy fills stays in ``plan.unresolved`` unless ``truncate`` is given: then
        the commits and checkpoints from the hole on are moved to ``registry/quarantine/``
        (with a record of who, when and why), dropping their changes from the registry.

        Args:
            source: a URL or :class:`~modelshelf.Shelf` of a copy of this shelf.
            truncate: plan the quarantine of everything from the first unfillable hole on.
            **source_options: fsspec options for ``source`` when it is a URL.

        Raises:
            UnsafeBackendError: the backend does not enforce create-if-absent.
        """
        self._reg_check_writable()
        copy = None
        if source is not None:
            copy = (
                source if isinstance(source, Shelf) else Shelf(source, **source_options)
            ).storage
        return plan_repair(self._reg_replica, source=copy, truncate=bool(truncate))

    def registry_table(self, name: str) -> Any:
        """The current state as a pyarrow Table: ``models``, ``versions`` (tombstones have
        ``deleted = true``), ``aliases`` or ``tags``; the schema is in docs/explanation/registry.md.

        Raises:
            InvalidInputError: an unknown table name.
        """
        if name not in ("models", "versions", "aliases", "tags"):
            raise InvalidInputError(
                f"unknown registry table {name!r}; use models, versions, aliases or tags"
            )
        return self._reg_read(lambda s: state_to_tables(s)[name])


def _check_max_results(max_results: Any) -> int:
    if (
        isinstance(max_results, bool)
        or not isinstance(max_results, int)
        or not (1 <= max_results <= _MAX_RESULTS)
    ):
        raise InvalidInputError(
            f"max_results must be a whole number from 1 to {_MAX_RESULTS}, got {max_results!r}"
        )
    return max_results


def _user() -> str:
    return str(whoami())
