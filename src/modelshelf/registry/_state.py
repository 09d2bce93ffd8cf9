"""The registry state and how one commit's actions change it (replay).

The state is what replaying the log gives: models by name, each with its versions (deleted ones
kept as tombstones, so numbers are never reused), tags and aliases. ``apply`` validates every
action against the state before changing it; a commit is all-or-nothing (an undo journal rolls
back the actions already applied when a later one is rejected).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from modelshelf.errors import (
    InvalidInputError,
    MalformedMetadataError,
    ModelExistsError,
    ModelNotFoundError,
    VersionNotFoundError,
)
from modelshelf.registry._actions import (
    Action,
    CreateModel,
    CreateVersion,
    DeleteAlias,
    DeleteModel,
    DeleteModelTag,
    DeleteVersion,
    DeleteVersionTag,
    RenameModel,
    SetAlias,
    SetModelTag,
    SetStage,
    SetVersionTag,
    UpdateModel,
    UpdateVersion,
)
from modelshelf.registry._entities import ModelVersion, RegisteredModel, RegistryChange
from modelshelf.registry._names import STAGES

__all__ = ["ACTIONS", "ModelRec", "RegistryState", "VersionRec", "gc_paused"]

_Undo = list[Callable[[], None]]


@dataclass(slots=True)
class VersionRec:
    """A version as stored in the state (mutable; the API hands out :class:`ModelVersion`)."""

    version: int
    creation_timestamp: int
    last_updated_timestamp: int
    digest: str
    source: str = ""
    description: str | None = None
    user_id: str | None = None
    current_stage: str = "None"
    run_id: str | None = None
    run_link: str | None = None
    status: str = "READY"
    status_message: str | None = None
    model_id: str | None = None
    lineage: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    deleted_timestamp: int | None = None

    @property
    def deleted(self) -> bool:
        return self.deleted_timestamp is not None


@dataclass(slots=True)
class ModelRec:
    """A registered model in the state; ``versions`` is ordered by version number."""

    name: str
    creation_timestamp: int
    last_updated_timestamp: int
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)
    versions: dict[int, VersionRec] = field(default_factory=dict)
    next_version: int = 1


class RegistryState:
    """Models by name at commit ``seq``; ``head`` is the sha256 hex of commit ``seq``'s bytes."""

    def __init__(self) -> None:
        self.models: dict[str, ModelRec] = {}
        self.seq = 0
        self.head: str | None = None
        self.time_ms = 0  # the time of commit ``seq``
        # (seq, message) of commits that were rejected on replay; verify reports them.
        self.rejected: list[tuple[int, str]] = []

    # ---------------------------------------------------------------------------- lookups
    def model(self, name: str) -> ModelRec:
        """Raises ModelNotFoundError."""
        try:
            return self.models[name]
        except KeyError:
            raise ModelNotFoundError(
                f"registered model {name!r} does not exist; create it with create_registered_model"
            ) from None

    def version(self, name: str, version: int) -> VersionRec:
        """A live version. Raises ModelNotFoundError, VersionNotFoundError."""
        model = self.model(name)
        rec = model.versions.get(version)
        if rec is None or rec.deleted:
            state = "was deleted" if rec is not None else "does not exist"
            raise VersionNotFoundError(
                f"version {version} of registered model {name!r} {state}; "
                f"live versions: {_summarise([v for v, r in model.versions.items() if not r.deleted])}"
            )
        return rec

    def live_versions(self, model: ModelRec) -> Iterator[VersionRec]:
        return (rec for rec in model.versions.values() if not rec.deleted)

    def latest_version(self, model: ModelRec, stage: str | None = None) -> VersionRec | None:
        for rec in reversed(model.versions.values()):
            if not rec.deleted and (stage is None or rec.current_stage == stage):
                return rec
        return None

    # --------------------------------------------------------------------------- entities
    def to_model_version(self, model: ModelRec, rec: VersionRec) -> ModelVersion:
        return ModelVersion(
            name=model.name,
            version=rec.version,
            creation_timestamp=rec.creation_timestamp,
            last_updated_timestamp=rec.last_updated_timestamp,
            digest=rec.digest,
            source=rec.source,
            description=rec.description,
            user_id=rec.user_id,
            current_stage=rec.current_stage,
            run_id=rec.run_id,
            run_link=rec.run_link,
            status=rec.status,
            status_message=rec.status_message,
            tags=dict(rec.tags),
            aliases=sorted(a for a, v in model.aliases.items() if v == rec.version),
            model_id=rec.model_id,
            storage_location=rec.digest,
            lineage=dict(rec.lineage),
        )

    def to_registered_model(self, model: ModelRec) -> RegisteredModel:
        latest = []
        seen: set[str] = set()
        for rec in reversed(model.versions.values()):
            if not rec.deleted and rec.current_stage not in seen:
                seen.add(rec.current_stage)
                latest.append(self.to_model_version(model, rec))
                if len(seen) == len(STAGES):
                    break
        latest.sort(key=lambda mv: mv.version)
        return RegisteredModel(
            name=model.name,
            creation_timestamp=model.creation_timestamp,
            last_updated_timestamp=model.last_updated_timestamp,
            description=model.description,
            tags=dict(model.tags),
            aliases=dict(sorted(model.aliases.items())),
            latest_versions=latest,
        )

    # ------------------------------------------------------------------------------ apply
    @contextmanager
    def tentative(self) -> Iterator[_Undo]:
        """Changes made inside are rolled back if the block raises (or by calling ``undo``)."""
        undo: _Undo = []
        try:
            yield undo
        except BaseException:
            rollback(undo)
            raise

    def apply(
        self,
        actions: Sequence[Action],
        *,
        timestamp: int,
        actor: str,
        seq: int,
        undo: _Undo,
        changes: list[RegistryChange] | None = None,
    ) -> None:
        """Validate and apply one commit's actions, recording inverses in ``undo``.

        Raises:
            InvalidInputError, NotFoundError, AlreadyExistsError: an action is not valid now.
            MalformedMetadataError: an action is not one this version understands.
        """
        ctx = _Ctx(self, timestamp, actor, seq, undo, changes)
        for action in actions:
            op = action.get("op") if isinstance(action, dict) else None
            handler = ACTIONS.get(op) if isinstance(op, str) else None
            if handler is None:
                raise MalformedMetadataError(f"commit {seq} holds an unknown action {action!r}")
            try:
                handler(ctx, action)
            except KeyError as exc:
                raise MalformedMetadataError(
                    f"commit {seq}: action {op!r} lacks the field {exc.args[0]!r}"
                ) from None

    def advance(self, seq: int, head: str, time_ms: int, undo: _Undo) -> None:
        old = (self.seq, self.head, self.time_ms)

        def restore() -> None:
            self.seq, self.head, self.time_ms = old

        undo.append(restore)
        self.seq, self.head, self.time_ms = seq, head, time_ms


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building large states.

    Replaying or loading 100,000 versions allocates millions of objects and none of them are
    garbage; without this, the collector re-scans the growing state again and again.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def rollback(undo: _Undo) -> None:
    """Undo recorded changes, newest first."""
    while undo:
        undo.pop()()


def _summarise(numbers: list[int]) -> str:
    if not numbers:
        return "none"
    if len(numbers) <= 6:
        return ", ".join(map(str, numbers))
    return f"{numbers[0]}…{numbers[-1]} ({len(numbers)} in all)"


@dataclass(slots=True)
class _Ctx:
    state: RegistryState
    ts: int
    actor: str
    seq: int
    undo: _Undo
    changes: list[RegistryChange] | None

    def record(self, action: str, name: str, **fields: Any) -> None:
        if self.changes is not None:
            self.changes.append(
                RegistryChange(
                    seq=self.seq,
                    timestamp=self.ts,
                    actor=self.actor,
                    action=action,
                    name=name,
                    **fields,
                )
            )

    def setattr(self, obj: Any, attr: str, value: Any) -> None:
        old = getattr(obj, attr)
        self.undo.append(lambda: setattr(obj, attr, old))
        setattr(obj, attr, value)

    def setitem(self, mapping: dict[Any, Any], key: Any, value: Any) -> None:
        if key in mapping:
            old = mapping[key]
            self.undo.append(lambda: mapping.__setitem__(key, old))
        else:
            self.undo.append(lambda: mapping.pop(key, None))
        mapping[key] = value

    def delitem(self, mapping: dict[Any, Any], key: Any) -> None:
        if key not in mapping:
            return
        old = mapping.pop(key)
        self.undo.append(lambda: mapping.__setitem__(key, old))

    def touch(self, obj: Any) -> None:
        self.setattr(obj, "last_updated_timestamp", self.ts)


def _text(
    action: CreateModel | UpdateModel | CreateVersion | UpdateVersion, key: str
) -> str | None:
    value: Any = action.get(key)
    if value is not None and not isinstance(value, str):
        raise MalformedMetadataError(f"field {key!r} must be a string, got {value!r}")
    return value


def _create_model(ctx: _Ctx, a: CreateModel) -> None:
    name = a["name"]
    if name in ctx.state.models:
        raise ModelExistsError(
            f"registered model {name!r} already exists; pick another name or use it as is"
        )
    tags = dict(a.get("tags") or {})
    rec = ModelRec(name, ctx.ts, ctx.ts, _text(a, "description"), tags)
    ctx.setitem(ctx.state.models, name, rec)
    ctx.record("create_model", name, new=rec.description)
    for key, value in tags.items():
        ctx.record("set_model_tag", name, key=key, new=value)


def _update_model(ctx: _Ctx, a: UpdateModel) -> None:
    model = ctx.state.model(a["name"])
    old = model.description
    ctx.setattr(model, "description", _text(a, "description"))
    ctx.touch(model)
    ctx.record("update_model", model.name, old=old, new=model.description)


def _rename_model(ctx: _Ctx, a: RenameModel) -> None:
    name, new_name = a["name"], a["new_name"]
    model = ctx.state.model(name)
    if new_name in ctx.state.models:
        raise ModelExistsError(f"cannot rename {name!r} to {new_name!r}: that name is taken")
    ctx.delitem(ctx.state.models, name)
    ctx.setitem(ctx.state.models, new_name, model)
    ctx.setattr(model, "name", new_name)
    ctx.touch(model)
    ctx.record("rename_model", new_name, old=name, new=new_name)


def _delete_model(ctx: _Ctx, a: DeleteModel) -> None:
    model = ctx.state.model(a["name"])
    ctx.delitem(ctx.state.models, model.name)
    ctx.record("delete_model", model.name, old=model.name)


def _set_model_tag(ctx: _Ctx, a: SetModelTag) -> None:
    model = ctx.state.model(a["name"])
    old = model.tags.get(a["key"])
    ctx.setitem(model.tags, a["key"], str(a["value"]))
    ctx.record("set_model_tag", model.name, key=a["key"], old=old, new=a["value"])


def _delete_model_tag(ctx: _Ctx, a: DeleteModelTag) -> None:
    model = ctx.state.model(a["name"])
    old = model.tags.get(a["key"])
    ctx.delitem(model.tags, a["key"])
    ctx.record("delete_model_tag", model.name, key=a["key"], old=old)


def _create_version(ctx: _Ctx, a: CreateVersion) -> None:
    model = ctx.state.model(a["name"])
    number = int(a["version"])
    if number != model.next_version:
        # Writers derive the number from the state they commit on, so this only happens to
        # a commit that was not validated against its predecessor.
        raise InvalidInputError(
            f"version {number} of {model.name!r} is out of sequence (next is {model.next_version})"
        )
    digest = a["digest"]
    if not isinstance(digest, str) or not digest.startswith("sha256:"):
        raise MalformedMetadataError(f"version {number} of {model.name!r}: bad digest {digest!r}")
    rec = VersionRec(
        version=number,
        creation_timestamp=ctx.ts,
        last_updated_timestamp=ctx.ts,
        digest=digest,
        source=a.get("source") or "",
        description=_text(a, "description"),
        user_id=a.get("user_id"),
        current_stage="None",
        run_id=a.get("run_id"),
        run_link=a.get("run_link"),
        status=a.get("status") or "READY",
        status_message=a.get("status_message"),
        model_id=a.get("model_id"),
        lineage=dict(a.get("lineage") or {}),
        tags=dict(a.get("tags") or {}),
    )
    ctx.setitem(model.versions, number, rec)
    ctx.setattr(model, "next_version", number + 1)
    ctx.touch(model)
    ctx.record("create_version", model.name, version=number, new=digest)
    for key, value in rec.tags.items():
        ctx.record("set_version_tag", model.name, version=number, key=key, new=value)


def _version(
    ctx: _Ctx,
    a: UpdateVersion | SetVersionTag | DeleteVersionTag | SetStage | DeleteVersion | SetAlias,
) -> tuple[ModelRec, VersionRec]:
    model = ctx.state.model(a["name"])
    return model, ctx.state.version(model.name, int(a["version"]))


def _update_version(ctx: _Ctx, a: UpdateVersion) -> None:
    model, rec = _version(ctx, a)
    old = rec.description
    ctx.setattr(rec, "description", _text(a, "description"))
    ctx.touch(rec)
    ctx.record("update_version", model.name, version=rec.version, old=old, new=rec.description)


def _set_version_tag(ctx: _Ctx, a: SetVersionTag) -> None:
    model, rec = _version(ctx, a)
    old = rec.tags.get(a["key"])
    ctx.setitem(rec.tags, a["key"], str(a["value"]))
    ctx.record(
        "set_version_tag", model.name, version=rec.version, key=a["key"], old=old, new=a["value"]
    )


def _delete_version_tag(ctx: _Ctx, a: DeleteVersionTag) -> None:
    model, rec = _version(ctx, a)
    old = rec.tags.get(a["key"])
    ctx.delitem(rec.tags, a["key"])
    ctx.record("delete_version_tag", model.name, version=rec.version, key=a["key"], old=old)


def _set_stage(ctx: _Ctx, a: SetStage) -> None:
    model, rec = _version(ctx, a)
    stage = a["stage"]
    if stage not in STAGES:
        raise MalformedMetadataError(f"unknown stage {stage!r}")
    old = rec.current_stage
    ctx.setattr(rec, "current_stage", stage)
    ctx.touch(rec)
    ctx.record("set_stage", model.name, version=rec.version, old=old, new=stage)


def _delete_version(ctx: _Ctx, a: DeleteVersion) -> None:
    model, rec = _version(ctx, a)
    for alias, target in list(model.aliases.items()):
        if target == rec.version:
            ctx.delitem(model.aliases, alias)
            ctx.record("delete_alias", model.name, version=rec.version, key=alias, old=target)
    ctx.setattr(rec, "deleted_timestamp", ctx.ts)
    ctx.touch(model)
    ctx.record("delete_version", model.name, version=rec.version, old=rec.digest)


def _set_alias(ctx: _Ctx, a: SetAlias) -> None:
    model, rec = _version(ctx, a)
    old = model.aliases.get(a["alias"])
    ctx.setitem(model.aliases, a["alias"], rec.version)
    ctx.record(
        "set_alias", model.name, version=rec.version, key=a["alias"], old=old, new=rec.version
    )


def _delete_alias(ctx: _Ctx, a: DeleteAlias) -> None:
    model = ctx.state.model(a["name"])
    old = model.aliases.get(a["alias"])
    ctx.delitem(model.aliases, a["alias"])
    ctx.record("delete_alias", model.name, version=old, key=a["alias"], old=old)


# Replay reads JSON: each handler checks the fields of its own kind as it uses them.
ACTIONS: dict[str, Callable[[_Ctx, Any], None]] = {
    "create_model": _create_model,
    "update_model": _update_model,
    "rename_model": _rename_model,
    "delete_model": _delete_model,
    "set_model_tag": _set_model_tag,
    "delete_model_tag": _delete_model_tag,
    "create_version": _create_version,
    "update_version": _update_version,
    "set_version_tag": _set_version_tag,
    "delete_version_tag": _delete_version_tag,
    "set_stage": _set_stage,
    "delete_version": _delete_version,
    "set_alias": _set_alias,
    "delete_alias": _delete_alias,
}
