"""Output: aligned tables and key/value blocks for people, JSON (``--json``) for scripts."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import PurePath
from typing import Any

import click

from modelshelf.cli._context import State

__all__ = [
    "as_data",
    "details",
    "emit",
    "human_bytes",
    "short_digest",
    "table",
    "timestamp",
    "to_json",
]


def as_data(obj: Any) -> Any:
    """``obj`` as plain JSON-able data: ``to_dict()`` if it has one, dataclass fields,
    numpy/pandas values as Python ones, paths and times as strings."""
    if obj is None or isinstance(obj, bool | int | str):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): as_data(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [as_data(v) for v in obj]
    to_dict = getattr(obj, "to_dict", None)
    if callable(to_dict) and not _is_pandas(obj):
        return as_data(to_dict())
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: as_data(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    if isinstance(obj, timedelta):
        return obj.total_seconds()
    if isinstance(obj, PurePath):
        return str(obj)
    if _is_pandas(obj):
        return as_data(obj.to_dict(orient="records") if hasattr(obj, "columns") else obj.tolist())
    tolist = getattr(obj, "tolist", None)  # numpy arrays and scalars
    if callable(tolist):
        return as_data(tolist())
    return str(obj)


def _is_pandas(obj: Any) -> bool:
    return type(obj).__module__.startswith("pandas.")


def to_json(obj: Any) -> str:
    """Indented JSON of :func:`as_data` (``obj``)."""
    return json.dumps(as_data(obj), indent=2, ensure_ascii=False)


def emit(state: State, data: Any, human: Callable[[], str] | str) -> None:
    """Print ``data`` as JSON with ``--json``, else the text ``human`` makes."""
    if state.json:
        click.echo(to_json(data))
        return
    text = human() if callable(human) else human
    if text:
        click.echo(text)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, empty: str = "") -> str:
    """Left-aligned columns under upper-case headers; ``empty`` when there are no rows."""
    cells = [[_cell(v) for v in row] for row in rows]
    if not cells:
        return empty
    heads = [h.upper() for h in headers]
    widths = [max(len(heads[i]), *(len(r[i]) for r in cells)) for i in range(len(heads))]
    lines = [heads, *cells]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )


def details(pairs: Iterable[tuple[str, Any]]) -> str:
    """``key: value`` lines (aligned); dict values become indented ``k = v`` lines."""
    items = list(pairs)
    width = max((len(k) for k, _ in items), default=0) + 1
    lines: list[str] = []
    for key, value in items:
        if isinstance(value, Mapping):
            lines.append(f"{key}:" if value else f"{key + ':':<{width}} -")
            lines += [f"  {k} = {_cell(v)}" for k, v in value.items()]
        else:
            lines.append(f"{key + ':':<{width}} {_cell(value)}")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "-"
    return " ".join(str(value).split())


def timestamp(ms: int | float | None) -> str:
    """Milliseconds since the epoch as ``YYYY-MM-DD HH:MM:SS`` UTC (``-`` when None)."""
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def short_digest(digest: str | None, length: int = 12) -> str:
    """``sha256:0123456789ab…`` -> ``sha256:0123456789ab``."""
    if not digest:
        return "-"
    algo, _, hexpart = str(digest).partition(":")
    return f"{algo}:{hexpart[:length]}" if hexpart else str(digest)[:length]


def human_bytes(size: int | float | None) -> str:
    """``1536`` -> ``1.5 KiB``."""
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} PiB"  # pragma: no cover
