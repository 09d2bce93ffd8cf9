"""MLflow's fluent registry and logged-model searches, on the current shelf."""

from __future__ import annotations

from collections.abc import Mapping
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Literal

from modelshelf.errors import InvalidInputError

if TYPE_CHECKING:
    from modelshelf.registry import ModelVersion, RegisteredModel
    from modelshelf.runs import LoggedModelInfo

__all__ = [
    "get_logged_model",
    "search_logged_models",
    "search_model_versions",
    "search_registered_models",
]

_PAGE = 1000
_LOGGED_MODEL_ORDER = {"creation_timestamp": "timestamp", "model_id": "model_id", "name": "name"}


def _client(shelf: Any) -> Any:
    from modelshelf.client import Client

    return Client(shelf)


def _all_pages(search: Any, max_results: int | None, **kwargs: Any) -> list[Any]:
    if max_results is not None and (
        isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1
    ):
        raise InvalidInputError(f"max_results must be a positive integer, not {max_results!r}")
    found: list[Any] = []
    token: str | None = None
    while max_results is None or len(found) < max_results:
        want = _PAGE if max_results is None else min(_PAGE, max_results - len(found))
        page = search(max_results=want, page_token=token, **kwargs)
        found.extend(page)
        token = page.token
        if not token:
            break
    return found


def search_registered_models(
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: list[str] | None = None,
    *,
    shelf: Any = None,
) -> list[RegisteredModel]:
    """Every registered model matching ``filter_string`` (all pages), as ``mlflow.…``.

    Args:
        max_results: at most this many (default: all).
        filter_string: ``name = / != / LIKE / ILIKE`` and ``tags.<key>`` clauses, AND-ed.
        order_by: e.g. ``["name DESC"]`` (default: by name).
        shelf: the shelf (default: the current one).

    Raises:
        InvalidInputError: a malformed filter, order_by or max_results.
    """
    search = _client(shelf).search_registered_models
    return _all_pages(search, max_results, filter_string=filter_string, order_by=order_by)


def search_model_versions(
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: list[str] | None = None,
    *,
    shelf: Any = None,
) -> list[ModelVersion]:
    """Every live model version matching ``filter_string`` (all pages), as ``mlflow.…``.

    Args:
        max_results: at most this many (default: all).
        filter_string: ``name``, ``run_id``, ``version_number``, ``source_path``, ``digest``
            and ``tags.<key>`` clauses, AND-ed.
        order_by: e.g. ``["version_number DESC"]`` (default: name, then newest version).
        shelf: the shelf (default: the current one).

    Raises:
        InvalidInputError: a malformed filter, order_by or max_results.
    """
    search = _client(shelf).search_model_versions
    return _all_pages(search, max_results, filter_string=filter_string, order_by=order_by)


def get_logged_model(model_id: str, *, shelf: Any = None) -> LoggedModelInfo:
    """The logged model ``m-<32 hex>`` (``ModelInfo.model_id``).

    Raises:
        NotFoundError: no such logged model.
    """
    info: LoggedModelInfo = _client(shelf).get_logged_model(model_id)
    return info


def search_logged_models(
    experiment_ids: list[str] | None = None,
    filter_string: str | None = None,
    datasets: list[dict[str, str]] | None = None,
    max_results: int | None = None,
    order_by: list[dict[str, Any]] | None = None,
    output_format: Literal["pandas", "list"] = "pandas",
    *,
    shelf: Any = None,
) -> Any:
    """The models logged on the shelf, newest first, as a DataFrame or a list.

    Args:
        experiment_ids: only models logged in runs of these experiments (default: all; MLflow
            defaults to the active experiment).
        filter_string: not supported (must be None): filter the returned list instead.
        datasets: not supported (must be None): modelshelf records no datasets.
        max_results: at most this many.
        order_by: ``[{"field_name": "creation_timestamp" | "model_id" | "name",
            "ascending": bool}]`` (default: newest first).
        output_format: ``"pandas"`` (a DataFrame, one row per model) or ``"list"``.
        shelf: the shelf (default: the current one).

    Raises:
        InvalidInputError: ``filter_string`` or ``datasets`` given, an unknown ``order_by``
            field, a bad ``max_results`` or ``output_format``.
    """
    if filter_string:
        raise InvalidInputError(
            "search_logged_models does not take filter_string on modelshelf; filter the "
            'returned list (output_format="list") instead'
        )
    if datasets:
        raise InvalidInputError("search_logged_models: modelshelf records no datasets")
    if output_format not in ("pandas", "list"):
        raise InvalidInputError(f'output_format must be "pandas" or "list", not {output_format!r}')
    if max_results is not None and (
        isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1
    ):
        raise InvalidInputError(f"max_results must be a positive integer, not {max_results!r}")
    if isinstance(experiment_ids, str):
        experiment_ids = [experiment_ids]
    found: list[LoggedModelInfo] = _client(shelf).search_logged_models(experiment_ids)
    for spec in reversed(list(order_by or [])):
        field = spec.get("field_name") if isinstance(spec, Mapping) else None
        if field not in _LOGGED_MODEL_ORDER:
            raise InvalidInputError(
                f"order_by entry {spec!r}: use {{'field_name': one of "
                f"{sorted(_LOGGED_MODEL_ORDER)}, 'ascending': bool}}"
            )
        found.sort(
            key=attrgetter(_LOGGED_MODEL_ORDER[field]), reverse=not spec.get("ascending", True)
        )
    found = found[:max_results] if max_results is not None else found
    if output_format == "list":
        return found
    import pandas as pd

    return pd.DataFrame([_row(m) for m in found], columns=_COLUMNS)


_COLUMNS = ["model_id", "name", "creation_timestamp", "run_id", "model_uri", "digest", "flavors"]


def _row(m: LoggedModelInfo) -> dict[str, Any]:
    return {
        "model_id": m.model_id,
        "name": m.name,
        "creation_timestamp": m.timestamp,
        "run_id": m.run_id,
        "model_uri": m.model_uri,
        "digest": m.digest,
        "flavors": list(m.flavors),
    }
