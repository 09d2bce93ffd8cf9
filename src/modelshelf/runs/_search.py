"""Run search: which fields of a run MLflow's filter grammar can name, and run ordering.

The grammar itself lives in :mod:`modelshelf._filters` (shared with the registry).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from modelshelf._filters import Clause, Fields, OrderKey
from modelshelf._filters import parse_filter as _parse_filter
from modelshelf._filters import parse_order_by as _parse_order_by
from modelshelf.errors import InvalidInputError
from modelshelf.runs._entities import Run

__all__ = [
    "RUN_FIELDS",
    "Clause",
    "OrderKey",
    "ViewType",
    "lifecycle_stages",
    "matches",
    "parse_filter",
    "parse_order_by",
    "sort_runs",
]


class ViewType:
    """MLflow's ``run_view_type`` values (``mlflow.entities.ViewType``)."""

    ACTIVE_ONLY = 1
    DELETED_ONLY = 2
    ALL = 3


_VIEWS = {
    ViewType.ACTIVE_ONLY: frozenset({"active"}),
    ViewType.DELETED_ONLY: frozenset({"deleted"}),
    ViewType.ALL: frozenset({"active", "deleted"}),
}
_VIEW_NAMES = {"ACTIVE_ONLY": 1, "DELETED_ONLY": 2, "ALL": 3}


def lifecycle_stages(run_view_type: Any) -> frozenset[str]:
    """The ``lifecycle_stage`` values a ``run_view_type`` selects (None means ACTIVE_ONLY).

    Raises:
        InvalidInputError: not 1/2/3, ``"ACTIVE_ONLY"``/``"DELETED_ONLY"``/``"ALL"`` or None.
    """
    if run_view_type is None:
        return _VIEWS[ViewType.ACTIVE_ONLY]
    if isinstance(run_view_type, str):
        key: Any = _VIEW_NAMES.get(run_view_type.strip().upper())
    elif isinstance(run_view_type, int) and not isinstance(run_view_type, bool):
        key = run_view_type
    else:
        key = None
    if key not in _VIEWS:
        raise InvalidInputError(
            f"run_view_type must be ViewType.ACTIVE_ONLY (1), DELETED_ONLY (2) or ALL (3), "
            f"got {run_view_type!r}"
        )
    return _VIEWS[key]


_ATTRIBUTES = {
    name: name
    for name in (
        "status", "run_name", "run_id", "user_id", "start_time", "end_time", "artifact_uri",
        "experiment_id", "lifecycle_stage",
    )
} | {"name": "run_name", "run_uuid": "run_id", "created": "start_time"}  # fmt: skip

# MLflow's prefixes for runs (SearchUtils): metric(s), param(s)/parameter(s), tag(s), and
# attribute(s)/attr/run for the run's own fields.
RUN_FIELDS = Fields(
    prefixes={
        "metric": "metrics",
        "metrics": "metrics",
        "param": "params",
        "params": "params",
        "parameter": "params",
        "parameters": "params",
        "tag": "tags",
        "tags": "tags",
        "attribute": "attributes",
        "attributes": "attributes",
        "attr": "attributes",
        "run": "attributes",
    },  # fmt: skip
    attributes=_ATTRIBUTES,
    numeric=frozenset({"metrics", "start_time", "end_time"}),
)


def parse_filter(text: Any) -> list[Clause]:
    """Parse an MLflow run filter (see :mod:`modelshelf._filters`).

    Raises:
        InvalidFilterError: the filter is malformed or names a field runs do not have.
    """
    return _parse_filter(text, RUN_FIELDS)


def parse_order_by(order_by: Any) -> list[OrderKey]:
    """Parse ``["metrics.acc DESC", "start_time"]``.

    Raises:
        InvalidFilterError: an entry is not ``<field> [ASC|DESC]``.
    """
    return _parse_order_by(order_by, RUN_FIELDS)


def _value_of(run: Run, kind: str, key: str) -> Any:
    if kind == "metrics":
        return run.data.metrics.get(key)
    if kind == "params":
        return run.data.params.get(key)
    if kind == "tags":
        return run.data.tags.get(key)
    return getattr(run.info, key, None)


def matches(run: Run, clauses: Sequence[Clause]) -> bool:
    """Whether the run satisfies every clause."""
    return all(c.test(_value_of(run, c.kind, c.key)) for c in clauses)


def sort_runs(runs: list[Run], order: Sequence[OrderKey]) -> list[Run]:
    """Sort by ``order`` (missing values last), then newest first, then run id (a total order)."""
    out = sorted(runs, key=lambda r: r.info.run_id)
    out.sort(key=lambda r: r.info.start_time, reverse=True)
    for spec in reversed(order):
        present = [r for r in out if _value_of(r, spec.kind, spec.key) is not None]
        missing = [r for r in out if _value_of(r, spec.kind, spec.key) is None]
        present.sort(key=lambda r: _value_of(r, spec.kind, spec.key), reverse=not spec.ascending)
        out = present + missing
    return out
