"""The shapes of registry actions: one ``TypedDict`` per kind, as stored in commits.

A commit's ``actions`` list holds these dicts verbatim (canonical JSON, sorted keys), so the
types add checking, not bytes: writers (:mod:`modelshelf.registry._api`) build them, replay
(:mod:`modelshelf.registry._state`) reads them, and mypy checks both against one declaration.
Fields typed ``X | None`` are always written (``null`` when unset); ``NotRequired`` ones only
when set. Commits read back from storage are checked at replay, field by field.
"""

# No ``from __future__ import annotations`` here: Python 3.11 only sees ``NotRequired`` in
# evaluated annotations, and the optional keys must be known at run time too.
from typing import Literal, NotRequired, TypedDict, get_args, get_type_hints

__all__ = [
    "ACTION_KINDS",
    "Action",
    "CreateModel",
    "CreateVersion",
    "DeleteAlias",
    "DeleteModel",
    "DeleteModelTag",
    "DeleteVersion",
    "DeleteVersionTag",
    "RenameModel",
    "SetAlias",
    "SetModelTag",
    "SetStage",
    "SetVersionTag",
    "UpdateModel",
    "UpdateVersion",
]


class CreateModel(TypedDict):
    op: Literal["create_model"]
    name: str
    description: str | None
    tags: dict[str, str]


class UpdateModel(TypedDict):
    op: Literal["update_model"]
    name: str
    description: str | None


class RenameModel(TypedDict):
    op: Literal["rename_model"]
    name: str
    new_name: str


class DeleteModel(TypedDict):
    op: Literal["delete_model"]
    name: str


class SetModelTag(TypedDict):
    op: Literal["set_model_tag"]
    name: str
    key: str
    value: str


class DeleteModelTag(TypedDict):
    op: Literal["delete_model_tag"]
    name: str
    key: str


class CreateVersion(TypedDict):
    op: Literal["create_version"]
    name: str
    version: int
    digest: str  # sha256:<hex> of the version's tree
    source: str
    run_id: str | None
    run_link: str | None
    description: str | None
    tags: dict[str, str]
    user_id: str | None
    model_id: str | None
    lineage: NotRequired[dict[str, str]]
    status: NotRequired[str]  # READY unless given (older writers)
    status_message: NotRequired[str | None]


class UpdateVersion(TypedDict):
    op: Literal["update_version"]
    name: str
    version: int
    description: str | None


class SetVersionTag(TypedDict):
    op: Literal["set_version_tag"]
    name: str
    version: int
    key: str
    value: str


class DeleteVersionTag(TypedDict):
    op: Literal["delete_version_tag"]
    name: str
    version: int
    key: str


class SetStage(TypedDict):
    op: Literal["set_stage"]
    name: str
    version: int
    stage: str  # None | Staging | Production | Archived


class DeleteVersion(TypedDict):
    op: Literal["delete_version"]
    name: str
    version: int


class SetAlias(TypedDict):
    op: Literal["set_alias"]
    name: str
    alias: str
    version: int


class DeleteAlias(TypedDict):
    op: Literal["delete_alias"]
    name: str
    alias: str


Action = (
    CreateModel
    | UpdateModel
    | RenameModel
    | DeleteModel
    | SetModelTag
    | DeleteModelTag
    | CreateVersion
    | UpdateVersion
    | SetVersionTag
    | DeleteVersionTag
    | SetStage
    | DeleteVersion
    | SetAlias
    | DeleteAlias
)

# The ``op`` of every kind above, derived from the declarations.
ACTION_KINDS: frozenset[str] = frozenset(
    get_args(get_type_hints(kind)["op"])[0] for kind in get_args(Action)
)
