"""Downloads of resolved URIs through the verified cache, and cache-backed model folders."""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import shutil
import tempfile
import uuid
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
    hard-linked to verified blobs), so loading it again reads nothing remote. URIs that always
    name the same bytes (digests, logged artifacts, numbered versions) are remembered, so
    they load offline; an alias, ``latest`` or stage is re-resolved, and when the shelf cannot
    be reached, the last answer is used with an :class:`OfflineFallbackWarning`.
    A local path is returned as is.

    Raises:
        InvalidURIError: a malformed URI.
        NotFoundError: (a subclass naming) what does not exist.
    """
    parsed = parse_uri(uri)
    if parsed.scheme == "local":
        plain = resolve_uri(uri)
        assert plain.location is not None
        return Path(plain.location)
    if parsed.scheme == "fsspec":
        return download_uri(uri)
    shelf_obj = get_shelf(shelf)
    memo = _Memo(shelf_obj, parsed.uri)
    remembered = memo.load()
    if remembered is not None and remembered.get("immutable"):
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
    path = _materialise_cached(shelf_obj, resolved.kind, resolved.digest, resolved.tree, name)
    if remembered != record:
        memo.save(record)
    return path


def _materialised(shelf: Shelf, record: dict[str, Any]) -> Path | None:
    """The cached folder/file of a remembered resolution, made from cached blobs if needed."""
    digest = Digest.parse(record["digest"])
    path = _cache_target(shelf, record["kind"], digest, record["name"])
    if path.exists():
        return path
    try:
        if record["kind"] == "tree":
            tree_path = shelf.blobs.cache.lookup(digest)
            if tree_path is None:
                return None
            tree = Tree.from_bytes(tree_path.read_bytes())
            return _materialise_cached(shelf, "tree", digest, tree, record["name"])
        if shelf.blobs.cache.lookup(digest) is None:
            return None
        return _materialise_cached(shelf, "blob", digest, None, record["name"])
    except (OSError, NotFoundError):
        return None


def _cache_target(shelf: Shelf, kind: str, digest: Digest, name: str) -> Path:
    root = shelf.blobs.cache.root
    if kind == "tree":
        return root / "trees" / digest.hex
    return root / "files" / digest.hex / name


def _materialise_cached(
    shelf: Shelf, kind: str, digest: Digest, tree: Tree | None, name: str
) -> Path:
    target = _cache_target(shelf, kind, digest, name)
    if target.exists():
        return target
    if kind == "tree":
        assert tree is not None
        staging = target.parent / f".tmp-{digest.hex[:16]}-{uuid.uuid4().hex[:12]}"
        shelf.blobs.get_tree(digest, staging, tree=tree)
        _publish(staging, target)
        return target
    cached = shelf.blobs.fetch(digest)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".tmp-{uuid.uuid4().hex[:12]}"
    try:
        os.link(cached, tmp)
    except OSError:
        shutil.copyfile(cached, tmp)
        os.chmod(tmp, 0o444)
    _publish(tmp, target)
    return target


def _publish(staging: Path, target: Path) -> None:
    """Rename into place; a concurrent loader that got there first wins (same bytes)."""
    try:
        os.rename(staging, target)
    except OSError:
        if not target.exists():
            raise
    finally:
        if staging.is_dir():
            shutil.rmtree(staging, ignore_errors=True)
        elif staging.exists():
            staging.unlink()


class _Memo:
    """The last resolution of a URI on a shelf, kept in the cache folder, one per trust
    (a resolution made without trusted keys never answers for a process that has some)."""

    def __init__(self, shelf: Shelf, uri: str) -> None:
        from modelshelf.signing import trust_fingerprint

        trust = trust_fingerprint()
        text = f"{shelf.url}\n{uri}" + (f"\n{trust}" if trust else "")
        key = hashlib.sha256(text.encode()).hexdigest()
        self.path = shelf.blobs.cache.root / "resolved" / key[:2] / f"{key}.json"

    def load(self) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = json.loads(self.path.read_text())
            Digest.parse(data["digest"])
            return data
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:8]}")
        tmp.write_text(json.dumps(record, sort_keys=True))
        os.replace(tmp, self.path)
