"""``runs:/<run_id>/<path>`` URIs: the runs layer writes them; :mod:`modelshelf.uri` parses them."""

from __future__ import annotations

__all__ = ["parse_runs_uri", "runs_uri"]


def runs_uri(run_id: str, path: str = "") -> str:
    """``runs:/<run_id>`` or ``runs:/<run_id>/<path>``."""
    path = path.strip("/")
    return f"runs:/{run_id}/{path}" if path else f"runs:/{run_id}"


def parse_runs_uri(uri: str) -> tuple[str, str]:
    """Deprecated alias of :func:`modelshelf.uri.parse_runs_uri` (the one URI parser).

    Raises:
        InvalidURIError: not a proper ``runs:/`` URI.
    """
    from modelshelf.uri._parse import parse_runs_uri as parse  # compatibility shim, upward

    return parse(uri)
