"""The one source resolver: what a new model version is made from, as a tree on the shelf."""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import TYPE_CHECKING

from modelshelf._shelf import Shelf
from modelshelf.cas import Digest
from modelshelf.errors import (
    InvalidInputError,
    InvalidURIError,
    MalformedMetadataError,
    NotFoundError,
    ObjectNotFoundError,
)
from modelshelf.registry import ModelSource
from modelshelf.storage import redact, redact_url
from modelshelf.uri._parse import ParsedURI, parse_uri
from modelshelf.uri._resolve import resolve_uri

if TYPE_CHECKING:
    from modelshelf.registry import RegistryClient
    from modelshelf.runs import RunsClient

__all__ = ["resolve_source"]


def resolve_source(
    source: str | os.PathLike[str] | Digest,
    shelf: Shelf,
    *,
    runs: RunsClient | None = None,
    registry: RegistryClient | None = None,
) -> ModelSource:
    """Store (if needed) and name the folder a model version is made from.

    Args:
        source: a local folder (``file://`` too), an fsspec folder URL (downloaded, then
            stored; the shelf's ``storage_options`` apply when it uses the same scheme),
            ``sha256:<tree>[/<path>]``, ``runs:/<run_id>/<path>`` or ``models:/…``.
        shelf: the shelf the version's files must be on.
        runs: the client that reads ``runs:/`` (default: a new one on ``shelf``).
        registry: the client that reads ``models:/`` (default: a new one on ``shelf``).

    Returns:
        The tree digest, the source as given, and the run and path it was logged at.

    Raises:
        InvalidURIError: a malformed URI, or one that names a file.
        InvalidInputError: the source is a file or a blob, not a folder or tree.
        NotFoundError: nothing is at ``source`` (ObjectNotFoundError for a digest).
    """
    if isinstance(source, Digest):
        source = str(source)
    if not isinstance(source, (str, os.PathLike)):
        raise InvalidInputError(f"source must be a folder path, URL or digest, got {source!r}")
    text = os.fspath(source)
    parsed = parse_uri(text)
    if parsed.scheme == "local":
        return ModelSource(_put_local(parsed, shelf), text)
    if parsed.scheme == "fsspec":
        return ModelSource(_put_remote(parsed, shelf), text)
    if parsed.scheme == "sha256" and not parsed.path:
        assert parsed.digest is not None
        return ModelSource(_check_tree(parsed.digest, shelf), text)
    resolved = resolve_uri(text, shelf, runs=runs, registry=registry)
    if resolved.kind != "tree" or resolved.digest is None:
        raise InvalidURIError(
            f"{text!r} names a single file; a model version's source must be a folder"
        )
    if resolved.tree is not None and resolved.root != resolved.digest:
        if not shelf.blobs.exists(resolved.digest):  # a sub-folder: store its manifest
            shelf.blobs.put_manifest(resolved.tree)
    return ModelSource(
        resolved.digest, text, run_id=resolved.run_id, artifact_path=resolved.artifact_path
    )


def _check_tree(digest: Digest, shelf: Shelf) -> Digest:
    try:
        shelf.blobs.read_tree(digest)
    except ObjectNotFoundError:
        raise ObjectNotFoundError(
            f"tree {digest} is not on the shelf {shelf.url}; store the folder first "
            "(or pass the folder itself as source)"
        ) from None
    except MalformedMetadataError:
        raise InvalidInputError(
            f"{digest} is a blob, not a tree manifest; a version's source must be a folder"
        ) from None
    return digest


def _put_local(parsed: ParsedURI, shelf: Shelf) -> Digest:
    assert parsed.location is not None
    path = parsed.location
    if not os.path.exists(path):
        raise NotFoundError(f"model source {parsed.uri!r} does not exist")
    if not os.path.isdir(path):
        raise InvalidInputError(f"model source {parsed.uri!r} is a file; register a folder")
    return shelf.blobs.put_tree(path)


def _put_remote(parsed: ParsedURI, shelf: Shelf) -> Digest:
    import fsspec

    url = parsed.location
    assert url is not None
    scheme = url.split("://", 1)[0].lower()
    shelf_scheme = shelf.url.split("://", 1)[0].lower() if "://" in shelf.url else ""
    options = dict(getattr(shelf, "storage_options", {})) if scheme == shelf_scheme else {}
    shown = redact_url(url)
    try:
        fs, path = fsspec.core.url_to_fs(url, **options)
    except (ImportError, ValueError) as exc:
        raise InvalidURIError(f"cannot open model source {shown!r}: {redact(str(exc))}") from None
    if not fs.isdir(path):
        if fs.exists(path):
            raise InvalidInputError(f"model source {shown!r} is a file; register a folder")
        raise NotFoundError(f"model source {shown!r} does not exist")
    tmp = tempfile.mkdtemp(prefix="modelshelf-source-")
    try:
        fs.get(path.rstrip("/") + "/", tmp + "/", recursive=True)
        return shelf.blobs.put_tree(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
