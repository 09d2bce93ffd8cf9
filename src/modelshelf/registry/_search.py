"""Registry search: which fields models and versions can be searched and ordered on.

The grammar lives in :mod:`modelshelf._filters` (shared with runs), pages and tokens in
:mod:`modelshelf._paging`. Models: ``name`` and ``tags.<key>``. Versions: ``name``, ``run_id``,
``version_number``, ``source_path``, ``digest``, ``current_stage``, ``user_id`` and
``tags.<key>``; e.g. ``name = 'm' AND version_number > 1 AND tags.k NOT LIKE 'x%'``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from modelshelf._filters import Clause, Fields, parse_filter, parse_order_by
from modelshelf._paging import decode_token, encode_token
from modelshelf.errors import InvalidFilterError

__all__ = [
    "MODEL_FIELDS",
    "VERSION_FIELDS",
    "Clause",
    "decode_token",
    "encode_token",
    "matches",
    "order_key",
    "parse_filter",
    "parse_order_by_fields",
]

# MLflow's model and version searches take ``tag.``/``tags.`` and ``attribute.`` prefixes.
_PREFIXES = {"tag": "tags", "tags": "tags", "attribute": "attributes", "attributes": "attributes"}
_TIMESTAMPS = {
    "timestamp": "last_updated_timestamp",
    "last_updated_timestamp": "last_updated_timestamp",
    "creation_timestamp": "creation_timestamp",
}

MODEL_FIELDS = Fields(
    prefixes=_PREFIXES,
    attributes={"name": "name"},
    orderable={"name": "name", **_TIMESTAMPS},
)
VERSION_FIELDS = Fields(
    prefixes=_PREFIXES,
    attributes={
        "name": "name",
        "run_id": "run_id",
        "version_number": "version",
        "version": "version",
        "source_path": "source",
        "source": "source",
        "digest": "digest",
        "current_stage": "current_stage",
        "user_id": "user_id",
    },
    numeric=frozenset({"version"}),
    integer=frozenset({"version"}),
    orderable={"name": "name", "version_number": "version", "version": "version", **_TIMESTAMPS},
)


def matches(clauses: Sequence[Clause], get: Callable[[str], Any], tags: dict[str, str]) -> bool:
    """Whether an entity (its fields through ``get``, plus its ``tags``) satisfies every clause."""
    return all(c.test(tags.get(c.key) if c.kind == "tags" else get(c.key)) for c in clauses)


def parse_order_by_fields(
    order_by: Any, fields: Fields, default: list[tuple[str, bool]]
) -> list[tuple[str, bool]]:
    """``["name ASC", "version_number DESC"]`` -> ``[(field, descending), …]`` ending in ``default``.

    Raises:
        InvalidFilterError: an unknown column or a malformed clause.
    """
    keys = parse_order_by(order_by or None, fields)
    for k in keys:
        if k.kind != "attributes":
            raise InvalidFilterError(
                f"invalid order_by clause on {k.kind}.{k.key!r}: order by one of "
                f"{', '.join(sorted(fields.orderable or fields.attributes))}"
            )
    out = [(k.key, not k.ascending) for k in keys]
    for tie in default:  # a stable, total order, whatever the user asked
        if all(tie[0] != f for f, _ in out):
            out.append(tie)
    return out


class _Desc:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _Desc) -> bool:
        return bool(other.value < self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and bool(self.value == other.value)


def order_key(
    order: list[tuple[str, bool]], get: Callable[[Any, str], Any]
) -> Callable[[Any], Any]:
    def key(item: Any) -> tuple[Any, ...]:
        parts: list[Any] = []
        for field, desc in order:
            value = get(item, field)
            value = (value is None, value if value is not None else 0)
            parts.append(_Desc(value) if desc else value)
        return tuple(parts)

    return key
