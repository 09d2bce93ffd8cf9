"""Promotion: copy a model version from one shelf to another, keeping its digests.

Only blobs the destination lacks move (one batched existence check there); bytes come out of
the source's verified cache, so a corrupt source blob never reaches the destination. The tree
manifest goes last, after every blob it lists, so a stored manifest still means "all its blobs
are stored" (``put_tree`` relies on it). The new version records where it came from in
``modelshelf.source_*`` tags.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from modelshelf._shelf import Shelf, get_shelf
from modelshelf.cas import BlobStore, Digest, PutStats, Tree
from modelshelf.errors import InvalidInputError, ModelExistsError, ModelNotFoundError
from modelshelf.registry import ModelSource, ModelVersion, RegistryClient

if TYPE_CHECKING:
    from modelshelf.client import Client

__all__ = ["PROVENANCE_PREFIX", "copy_blobs", "copy_model_version"]

PROVENANCE_PREFIX = "modelshelf.source_"


def copy_blobs(src: BlobStore, dst: BlobStore, tree: Tree) -> PutStats:
    """Copy ``tree`` (every blob, then its manifest) to ``dst``, skipping blobs it has.

    Returns what moved; ``dst.last_put`` is set to the same.

    Raises:
        ObjectNotFoundError: a blob is missing from the source shelf.
        IntegrityError: a source blob does not match its digest (nothing of it is copied).
    """
    sizes: dict[Digest, int] = {e.digest: e.size for e in tree}
    manifest = tree.to_bytes()
    root = tree.digest
    present = dst.exists_many([*sizes, root])
    missing = sorted(d for d in sizes if d not in present)
    stats = PutStats(files=len(tree), bytes_total=tree.size)
    if missing:
        workers = max(1, min(len(missing), src.concurrency, (os.cpu_count() or 2) * 4))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            paths = list(pool.map(src.fetch, missing))
        # Content-addressed keys: every writer of a key writes the same bytes, so the
        # overwriting upload is safe even when another copy races this one.
        dst.storage.upload([(str(p), d.key) for p, d in zip(paths, missing, strict=True)])
        stats.blobs_uploaded = len(missing)
        stats.bytes_uploaded = sum(sizes[d] for d in missing)
    if root not in present:
        dst.put_bytes(manifest)
        stats.blobs_uploaded += 1
        stats.bytes_uploaded += len(manifest)
    dst.last_put = stats
    return stats


def copy_model_version(
    src: Client,
    src_uri: str,
    dst_name: str,
    dst_shelf: str | Shelf | None = None,
    *,
    dst_storage_options: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    description: str | None = None,
) -> ModelVersion:
    """Copy the model ``src_uri`` names on ``src``'s shelf into version N of ``dst_name``.

    See :meth:`modelshelf.Client.copy_model_version`.

    Raises:
        InvalidInputError: ``src_uri`` names a file, not a folder; or ``tags`` use the
            reserved ``modelshelf.source_`` prefix.
        ModelNotFoundError, VersionNotFoundError, AliasNotFoundError, RunNotFoundError,
        ArtifactNotFoundError, InvalidURIError: ``src_uri`` does not resolve.
        ObjectNotFoundError, IntegrityError: a source blob is missing or corrupt.
        UnsafeBackendError: the destination cannot take registry writes.
    """
    from modelshelf.uri import resolve_uri

    user_tags = dict(tags or {})
    reserved = sorted(k for k in user_tags if str(k).startswith(PROVENANCE_PREFIX))
    if reserved:
        raise InvalidInputError(
            f"tags {reserved} use the reserved prefix {PROVENANCE_PREFIX!r}: promotion writes "
            "those itself; rename them"
        )
    resolved = resolve_uri(src_uri, src.shelf, runs=src.runs, registry=src.registry)
    if resolved.kind != "tree" or resolved.digest is None:
        raise InvalidInputError(
            f"{src_uri!r} names a single file; a model version is a folder: pass the URI of "
            "the model's folder"
        )
    tree = (
        resolved.tree if resolved.tree is not None else src.shelf.blobs.read_tree(resolved.digest)
    )
    if dst_shelf is None:
        target = src.shelf
    elif isinstance(dst_shelf, Shelf):
        target = dst_shelf
    else:
        target = get_shelf(str(dst_shelf), **(dst_storage_options or {}))
    dst = RegistryClient(target)
    copy_blobs(src.shelf.blobs, target.blobs, tree)
    try:
        dst.get_registered_model(dst_name)
    except ModelNotFoundError:
        try:
            dst.create_registered_model(dst_name)
        except ModelExistsError:
            pass  # a concurrent promotion created it
    provenance = {
        "shelf": _where(src),
        "uri": str(src_uri),
        "digest": str(resolved.digest),
    }
    if resolved.name is not None:
        provenance["name"] = resolved.name
        provenance["version"] = str(resolved.version)
    if resolved.run_id:
        provenance["run_id"] = resolved.run_id
    if resolved.artifact_path:
        provenance["artifact_path"] = resolved.artifact_path
    all_tags = {**user_tags, **{PROVENANCE_PREFIX + k: v for k, v in provenance.items()}}
    if description is None:
        what = (
            f"models:/{resolved.name}/{resolved.version}"
            if resolved.name is not None
            else str(src_uri)
        )
        description = f"Copied from {what} on {_where(src)} ({resolved.digest})"
    return dst.create_model_version(
        dst_name,
        ModelSource(resolved.digest, f"sha256:{resolved.digest.hex}"),
        tags=all_tags,
        description=description,
    )


def _where(client: Any) -> str:
    """The source shelf as another machine can read it: local shelves as absolute paths."""
    root = getattr(client.shelf.storage, "root", None)
    if client.shelf.storage.capabilities.local_paths and root is not None:
        return str(root)
    return str(client.shelf.url)
