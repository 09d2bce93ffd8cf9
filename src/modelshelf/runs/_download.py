"""Put a blob or a tree from the verified cache at a local path (the one download routine)."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from modelshelf.cas import BlobStore, Digest, Tree
from modelshelf.errors import AlreadyExistsError

__all__ = ["materialise"]


def materialise(
    blobs: BlobStore, kind: str, digest: Digest, tree: Tree | None, dest: str | os.PathLike[str]
) -> Path:
    """Write the file (``kind="blob"``) or folder (``kind="tree"``) at ``dest``.

    Bytes come through the verified cache, fetched only when missing, so a second download
    reads nothing remote. Files are hard links into the cache (read-only) where possible.
    An existing ``dest`` is replaced file by file, as MLflow's downloads do.

    Raises:
        ObjectNotFoundError: a blob is missing from the shelf and the cache.
        IntegrityError: stored bytes do not match their digest (nothing is written).
        AlreadyExistsError: a symlink in an existing ``dest`` stands where the download puts
            a file or folder (nothing is written).
    """
    dest = Path(dest).absolute()
    if kind == "blob":
        _place_file(blobs.fetch(digest), dest)
        return dest
    assert tree is not None
    if not dest.exists() or (dest.is_dir() and not any(dest.iterdir())):
        return blobs.get_tree(digest, dest, tree=tree)
    if dest.is_dir():
        _refuse_links(dest, tree)
    staging = dest.parent / f".tmp-{dest.name[:64]}-{uuid.uuid4().hex[:12]}"
    blobs.get_tree(digest, staging, tree=tree)
    try:
        if not dest.is_dir():
            dest.unlink()
            os.rename(staging, dest)
            return dest
        for entry in tree:
            target = dest.joinpath(*entry.path.split("/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_dir():
                shutil.rmtree(target)
            os.replace(staging.joinpath(*entry.path.split("/")), target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dest


def _refuse_links(dest: Path, tree: Tree) -> None:
    """A symlink below ``dest`` where a download puts a file or folder would carry the write
    (or the removal of a folder being replaced) outside ``dest``: refuse before any change."""
    seen: set[tuple[str, ...]] = set()
    for entry in tree:
        parts = tuple(entry.path.split("/"))
        for i in range(1, len(parts) + 1):
            if parts[:i] in seen:
                continue
            seen.add(parts[:i])
            if dest.joinpath(*parts[:i]).is_symlink():
                raise AlreadyExistsError(
                    f"cannot download into {str(dest)!r}: {'/'.join(parts[:i])!r} there is a "
                    "symlink, and a download never writes through a link; remove the link or "
                    "download into a new folder"
                )


def _place_file(cached: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_dir():
        shutil.rmtree(dest)
    tmp = dest.parent / f".tmp-{dest.name[:64]}-{uuid.uuid4().hex[:12]}"
    try:
        try:
            os.link(cached, tmp)
        except OSError:
            shutil.copyfile(cached, tmp)
            os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()
