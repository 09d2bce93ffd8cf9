"""Downloads of resolved URIs through the verified cache, and cache-backed model folders."""

from __future__ import annotations

import os
import posixpath
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

from modelshelf._shelf import Shelf, get_shelf
from modelshelf.cas import Digest, Tree
from modelshelf.errors import (
    AuthenticityError,
    InvalidInputError,
    NotFoundError,
    OfflineFallbackWarning,
    StorageError,
)
from modelshelf.runs import materialise
from modelshelf.uri._cached import Memo, cached_entry, materialise_cached
from modelshelf.uri._parse import parse_uri
from modelshelf.uri._resolve import Resolved, resolve_uri

__all__ = ["download_uri", "local_model_dir"]


def download_uri(
    uri: str | os.PathLike[str],
    dst_path: str | os.PathLike[str] | None = None,
    shelf: str | Shelf | None = None,
    *,
    storage_options: dict[str, Any] | None = None,
) -> Path:
    """Download what ``uri`` names (a folder or one file) under ``dst_path``.

    As MLflow: ``runs:/<id>/<path>`` lands at ``<dst_path>/<path>``; ``models:/…`` and
    ``sha256:`` folders land in ``dst_path`` itself (a sub-path after them at
    ``<dst_path>/<sub-path>``); paths and URLs at ``<dst_path>/<their last name>``.
    ``dst_path`` defaults to a new temporary folder. Shelf bytes come through the verified
    cache: a file named by a sub-path is fetched alone, and a second download reads no blob.

    Raises:
        InvalidURIError: a malformed URI.
        NotFoundError: (a subclass naming) the model, version, alias, run, path or digest
            that does not exist.
        IntegrityError: stored bytes do not match their digest (nothing is written).
    """
    resolved = resolve_uri(uri, shelf, storage_options=storage_options)
    base = Path(dst_path) if dst_path is not None else Path(tempfile.mkdtemp(prefix="modelshelf-"))
    if resolved.scheme in ("local", "fsspec"):
        return _download_plain(resolved, base, storage_options or {})
    assert resolved.digest is not None
    if resolved.path:
        dest = base.joinpath(*resolved.path.split("/"))
    elif resolved.kind == "blob":
        dest = base / resolved.digest.hex
    else:
        dest = base
    return materialise(get_shelf(shelf).blobs, resolved.kind, resolved.digest, resolved.tree, dest)


def _download_plain(resolved: Resolved, base: Path, options: dict[str, Any]) -> Path:
    assert resolved.location is not None
    if resolved.scheme == "local":
        src = Path(resolved.location)
        dest = base / src.name
        base.mkdir(parents=True, exist_ok=True)
        if resolved.kind == "tree":
            shutil.copytree(src, dest, dirs_exist_ok=True)
        else:
            shutil.copy2(src, dest)
        return dest
    import fsspec

    fs, path = fsspec.core.url_to_fs(resolved.location, **options)
    remote = str(path).rstrip("/")
    target = base / posixpath.basename(remote)
    base.mkdir(parents=True, exist_ok=True)
    if resolved.kind == "tree":
        target.mkdir(parents=True, exist_ok=True)
        fs.get(remote + "/", str(target) + "/", recursive=True)
    else:
        fs.get_file(remote, str(target))
    return target


def local_model_dir(uri: str | os.PathLike[str], shelf: str | Shelf | None = None) -> Path:
    """A local, read-only folder (or file) holding what ``uri`` names, for loaders.

    Shelf content is materialised once under the cache (``<cache>/trees/<digest>``, files
    hard-linked to verified blobs), so loading it again reads nothing remote. Each time, the
    cached copy is used only while it is provably the bytes that were verified (every file's
    inode, size, mtime and ctime as recorded when it was hashed, every folder holding exactly
    the manifest's names); a file that changed is re-hashed, and a copy that no longer matches
    is rebuilt from verified blobs. URIs that always name the same bytes (digests, logged
    artifacts, numbered versions) are remembered in a memo authenticated with the cache's
    secret key, so they load offline; a memo that was edited or copied in is ignored. An
    alias, ``latest`` or stage is always re-resolved, and when the shelf cannot be reached, the
    last answer is used with an :class:`OfflineFallbackWarning`. A local path is returned as is.

    Raises:
        InvalidURIError: a malformed URI.
        NotFoundError: (a subclass naming) what does not exist.
        IntegrityError: cached bytes changed while the folder was being built.
    """
    parsed = parse_uri(uri)
    if parsed.scheme == "local":
        plain = resolve_uri(uri)
        assert plain.location is not None
        return Path(plain.location)
    if parsed.scheme == "fsspec":
        return download_uri(uri)
    shelf_obj = get_shelf(shelf)
    cache = shelf_obj.blobs.cache
    memo = Memo(cache, shelf_obj.url, parsed.uri)
    remembered = memo.load()
    if remembered is not None and remembered.get("immutable") is True:
        found = _materialised(shelf_obj, remembered)
        if found is not None:
            return found
    try:
        resolved = resolve_uri(uri, shelf_obj)
    except (NotFoundError, InvalidInputError, AuthenticityError):
        raise  # never fall back to a cached copy around a signature that does not hold
    except (StorageError, OSError) as exc:
        if remembered is None:
            raise
        found = _materialised(shelf_obj, remembered)
        if found is None:
            raise
        warnings.warn(
            f"the shelf {shelf_obj.url} could not be reached ({exc}); using the cached copy "
            f"of {parsed.uri!r} ({remembered['digest']}), which may be stale",
            OfflineFallbackWarning,
            stacklevel=2,
        )
        return found
    assert resolved.digest is not None
    name = posixpath.basename(resolved.path) if resolved.path else resolved.digest.hex
    record = {
        "digest": str(resolved.digest),
        "immutable": resolved.immutable,
        "kind": resolved.kind,
        "name": name,
    }
    path = materialise_cached(
        cache, shelf_obj.blobs, resolved.kind, resolved.digest, resolved.tree, name
    )
    if remembered is None or any(remembered.get(k) != v for k, v in record.items()):
        memo.save(record)
    return path


def _materialised(shelf: Shelf, record: dict[str, Any]) -> Path | None:
    """The verified cached folder/file of a remembered resolution, rebuilt from cached (or
    fetched) blobs if it is missing or was damaged; None if that cannot be done."""
    digest = Digest.parse(record["digest"])
    cache = shelf.blobs.cache
    found = cached_entry(cache, record["kind"], digest, record["name"])
    if found is not None:
        return found
    try:
        tree = None
        if record["kind"] == "tree":
            tree_path = cache.lookup(digest)
            if tree_path is None:
                return None
            tree = Tree.from_bytes(tree_path.read_bytes())
        elif cache.lookup(digest) is None:
            return None
        return materialise_cached(cache, shelf.blobs, record["kind"], digest, tree, record["name"])
    except (OSError, NotFoundError, ValueError):
        return None
