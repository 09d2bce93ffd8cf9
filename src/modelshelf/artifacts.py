"""MLflow's ``mlflow.artifacts`` functions: download, list and read artifacts by URI.

>>> # modelshelf.artifacts.download_artifacts("runs:/<run_id>/model", dst_path="out")
"""

from __future__ import annotations

import json
import os
import posixpath
from typing import Any

from modelshelf._shelf import Shelf, get_shelf
from modelshelf.errors import InvalidInputError, InvalidURIError
from modelshelf.runs import FileInfo, RunsClient, runs_uri
from modelshelf.uri import download_uri, parse_uri, resolve_uri

__all__ = ["download_artifacts", "list_artifacts", "load_dict", "load_text"]


def _uri_of(artifact_uri: str | None, run_id: str | None, artifact_path: str | None) -> str:
    if artifact_uri is not None and (run_id is not None or artifact_path is not None):
        raise InvalidInputError("pass artifact_uri, or run_id (with artifact_path), not both")
    if artifact_uri is None and run_id is None:
        raise InvalidInputError("pass artifact_uri or run_id")
    if artifact_uri is not None:
        return os.fspath(artifact_uri)
    assert run_id is not None
    return runs_uri(run_id, artifact_path or "")


def _shelf(tracking_uri: str | Shelf | None) -> Shelf:
    return get_shelf(tracking_uri)


def download_artifacts(
    artifact_uri: str | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    dst_path: str | os.PathLike[str] | None = None,
    tracking_uri: str | Shelf | None = None,
) -> str:
    """Download an artifact (file or folder) and return its local path, as MLflow does.

    ``runs:/<id>/<path>`` lands at ``<dst_path>/<path>``; ``models:/…`` folders in
    ``dst_path``. ``dst_path`` defaults to a new temporary folder; ``tracking_uri`` is a
    shelf URL (default: the current shelf). Bytes come through the verified cache.

    Raises:
        InvalidInputError: both or neither of ``artifact_uri`` and ``run_id``.
        InvalidURIError: a malformed URI.
        NotFoundError: (a subclass naming) the run, path, model, version or alias missing.
    """
    uri = _uri_of(artifact_uri, run_id, artifact_path)
    return str(download_uri(uri, dst_path, _shelf(tracking_uri)))


def list_artifacts(
    artifact_uri: str | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    tracking_uri: str | Shelf | None = None,
) -> list[FileInfo]:
    """The direct children of an artifact folder (empty for a file or a missing path).

    Paths are relative to the run root for ``runs:/``, to the version's folder for
    ``models:/``, to the tree for ``sha256:``, and to the folder for paths and URLs.

    Raises:
        InvalidURIError: a malformed URI.
        RunNotFoundError: the run does not exist.
    """
    uri = _uri_of(artifact_uri, run_id, artifact_path)
    parsed = parse_uri(uri)
    shelf = _shelf(tracking_uri)
    if parsed.scheme == "runs":
        assert parsed.run_id is not None
        return RunsClient(shelf).list_artifacts(parsed.run_id, parsed.path or None)
    if parsed.scheme in ("local", "fsspec"):
        return _list_plain(parsed.location or uri)
    resolved = resolve_uri(uri, shelf)
    if resolved.kind != "tree" or resolved.tree is None:
        return []
    prefix = resolved.path + "/" if resolved.path else ""
    out: dict[str, FileInfo] = {}
    for entry in resolved.tree:
        head, _, rest = entry.path.partition("/")
        full = prefix + head
        out[full] = FileInfo(full, True, None) if rest else FileInfo(full, False, entry.size)
    return [out[k] for k in sorted(out)]


def _list_plain(location: str) -> list[FileInfo]:
    import fsspec

    fs, path = fsspec.core.url_to_fs(location)
    if not fs.isdir(path):
        return []
    base = path.rstrip("/")
    out = []
    for info in fs.ls(base, detail=True):
        name = posixpath.basename(str(info["name"]).rstrip("/"))
        is_dir = info.get("type") == "directory"
        out.append(FileInfo(name, is_dir, None if is_dir else int(info.get("size") or 0)))
    return sorted(out, key=lambda f: f.path)


def load_text(artifact_uri: str) -> str:
    """The UTF-8 text of one artifact file (read through the verified cache).

    Raises:
        InvalidURIError: the URI names a folder, or is malformed.
        NotFoundError: (a subclass naming) what does not exist.
    """
    return _read_bytes(artifact_uri).decode("utf-8")


def load_dict(artifact_uri: str) -> dict[str, Any]:
    """One JSON artifact file, parsed (as ``mlflow.artifacts.load_dict``).

    Raises:
        InvalidInputError: the file is not a JSON object.
        NotFoundError: (a subclass naming) what does not exist.
    """
    text = load_text(artifact_uri)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{artifact_uri!r} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidInputError(f"{artifact_uri!r} holds JSON {type(data).__name__}, not an object")
    return data


def _read_bytes(artifact_uri: str) -> bytes:
    resolved = resolve_uri(artifact_uri)
    if resolved.kind != "blob":
        raise InvalidURIError(f"{artifact_uri!r} names a folder; name one file inside it")
    if resolved.scheme in ("local", "fsspec"):
        import fsspec

        assert resolved.location is not None
        with fsspec.open(resolved.location, "rb") as handle:
            data: bytes = handle.read()
            return data
    assert resolved.digest is not None
    return get_shelf().blobs.get(resolved.digest)
