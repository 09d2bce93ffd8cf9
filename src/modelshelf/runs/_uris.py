"""``runs:/<run_id>/<path>`` URIs (the runs layer owns their syntax)."""

from __future__ import annotations

from modelshelf.errors import InvalidPathError, InvalidURIError
from modelshelf.runs._artifacts import clean_artifact_path
from modelshelf.runs._layout import check_run_id

__all__ = ["parse_runs_uri", "runs_uri"]


def runs_uri(run_id: str, path: str = "") -> str:
    """``runs:/<run_id>`` or ``runs:/<run_id>/<path>``."""
    path = path.strip("/")
    return f"runs:/{run_id}/{path}" if path else f"runs:/{run_id}"


def parse_runs_uri(uri: str) -> tuple[str, str]:
    """Split ``runs:/<run_id>[/<path>]`` into the run id and the artifact path (``""``: root).

    Raises:
        InvalidURIError: not of that form, the id is not 32 hex, or the path escapes the run.
    """
    if not isinstance(uri, str) or not uri.startswith("runs:/"):
        raise InvalidURIError(f"{uri!r} is not a runs:/ URI (expected 'runs:/<run_id>/<path>')")
    rest = uri[len("runs:/") :]
    if rest.startswith("/"):
        rest = rest.lstrip("/")  # runs:///id/path is accepted by MLflow too
    run_id, _, path = rest.partition("/")
    if not run_id:
        raise InvalidURIError(f"{uri!r} names no run (expected 'runs:/<run_id>/<path>')")
    if check_run_id(run_id) is None:
        raise InvalidURIError(
            f"{uri!r}: {run_id!r} is not a run id (run ids are 32 lowercase hex characters)"
        )
    try:
        return run_id, clean_artifact_path(path)
    except InvalidPathError as exc:
        raise InvalidURIError(f"{uri!r}: {exc}") from exc
