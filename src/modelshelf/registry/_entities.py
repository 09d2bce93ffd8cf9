"""Registry value objects: what the registry API returns."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from modelshelf._paging import PagedList

__all__ = ["ModelVersion", "PagedList", "RegisteredModel", "RegistryChange"]


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """One version of a registered model, with MLflow's fields plus ``digest``.

    ``digest`` (``sha256:…``) is the tree digest of the version's files: the version always
    means these bytes. ``source`` is what was given at registration; ``artifact_path`` and
    ``lineage`` record where the files came from.
    """

    name: str
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
    tags: dict[str, str] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)
    model_id: str | None = None
    storage_location: str | None = None
    lineage: dict[str, str] = field(default_factory=dict)

    __hash__ = None  # type: ignore[assignment]  # holds dicts

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        """``(field, value)`` pairs, so ``dict(entity)`` works as on MLflow's entities."""
        for f in fields(self):
            yield f.name, getattr(self, f.name)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelVersion:
        values = _known(cls, data)
        values["version"] = int(values["version"])
        values["tags"] = dict(values.get("tags") or {})
        values["aliases"] = list(values.get("aliases") or [])
        values["lineage"] = dict(values.get("lineage") or {})
        return cls(**values)


@dataclass(frozen=True, slots=True)
class RegisteredModel:
    """A registered model, with MLflow's fields (``aliases`` maps alias -> version)."""

    name: str
    creation_timestamp: int
    last_updated_timestamp: int
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)
    latest_versions: list[ModelVersion] = field(default_factory=list)

    __hash__ = None  # type: ignore[assignment]

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        """``(field, value)`` pairs, so ``dict(entity)`` works as on MLflow's entities."""
        for f in fields(self):
            yield f.name, getattr(self, f.name)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RegisteredModel:
        values = _known(cls, data)
        values["tags"] = dict(values.get("tags") or {})
        values["aliases"] = {k: int(v) for k, v in (values.get("aliases") or {}).items()}
        values["latest_versions"] = [
            v if isinstance(v, ModelVersion) else ModelVersion.from_dict(v)
            for v in values.get("latest_versions") or []
        ]
        return cls(**values)


@dataclass(frozen=True, slots=True)
class RegistryChange:
    """One change in the registry's history: which commit, when, who, what, old -> new.

    Attributes:
        seq: the commit's sequence number (several changes may share one commit).
        timestamp: commit time, ms since the epoch (UTC).
        actor: ``user@host`` of the writer (or ``MODELSHELF_ACTOR``).
        action: ``create_model``, ``create_version``, ``set_alias``, ``delete_alias``,
            ``set_model_tag``, ``delete_model_tag``, ``set_version_tag``,
            ``delete_version_tag``, ``update_model``, ``update_version``, ``rename_model``,
            ``delete_version``, ``delete_model`` or ``set_stage``.
        name: the model the change applies to (its name at that time).
        version: the version concerned, if any.
        key: the alias or tag key concerned, if any.
        old: the value before (None when there was none).
        new: the value after (None when removed).
        signer: the id of the key that signed the commit (None: unsigned). Only a reader
            with trusted keys has checked it.
    """

    seq: int
    timestamp: int
    actor: str
    action: str
    name: str
    version: int | None = None
    key: str | None = None
    old: Any = None
    new: Any = None
    signer: str | None = None

    __hash__ = None  # type: ignore[assignment]

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp / 1000, tz=UTC)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RegistryChange:
        return cls(**_known(cls, data))
