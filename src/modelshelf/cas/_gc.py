"""Sweep mechanics of garbage collection on one BlobStore, given what is live.

Marking (what the registry, runs and pins reference) lives above this layer, in
:mod:`modelshelf.gc`; this module only knows blobs and trees:

* :func:`close_over_trees` turns root digests into the full live set (a tree marks its
  manifest and every blob it lists);
* :func:`find_garbage` lists ``objects/sha256/`` once and returns the blobs that are neither
  live nor younger than a cutoff. Keys that do not name a blob (temp files, strays) are never
  candidates;
* :func:`quarantine_blobs` (phase 1) moves candidates into a gc run's quarantine, tree
  manifests first; :func:`settle` (phase 2) restores what became live and deletes the rest;
* :func:`delete_blobs` deletes candidates outright, tree manifests first (no quarantine: for
  callers that know no writer is running).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from modelshelf.cas._digest import OBJECTS_PREFIX, Digest, key_to_digest
from modelshelf.cas._quarantine import Quarantine, copy_back, drop, move_in, restore_from_quarantine
from modelshelf.cas._store import BlobStore
from modelshelf.cas._tree import Tree
from modelshelf.errors import IntegrityError, MalformedMetadataError, ObjectNotFoundError

__all__ = [
    "Candidate",
    "Garbage",
    "LiveSet",
    "close_over_trees",
    "delete_blobs",
    "find_garbage",
    "quarantine_blobs",
    "settle",
]

# Candidates up to this size are read before deletion to find tree manifests among them
# (deleted first, see delete_blobs); a manifest of this size lists ~10,000 files.
_MANIFEST_PROBE = 1 << 20
_UNKNOWN_PROBE = 64 << 20  # a pinned blob larger than this is taken to be a file, not a tree


@dataclass(slots=True)
class LiveSet:
    """Every digest that must survive, plus roots whose manifest could not be read.

    ``problems`` name trees that are referenced but whose manifest is missing or corrupt: the
    blobs they list are unknown, so they cannot be protected (``verify`` reports those trees
    too). Callers should surface them.
    """

    digests: set[Digest] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)


def close_over_trees(
    blobs: BlobStore,
    *,
    trees: Iterable[Digest] = (),
    files: Iterable[Digest] = (),
    unknown: Iterable[Digest] = (),
    why: dict[Digest, str] | None = None,
) -> LiveSet:
    """The live set of ``trees`` (manifest + every listed blob), ``files`` (the blob itself)
    and ``unknown`` (a tree if its bytes are a manifest, else a blob).

    Manifests are read through the verified cache, concurrently.

    Raises:
        StorageError: the backend failed while reading a manifest (marking must not guess).
    """
    live = LiveSet()
    live.digests.update(files)
    tree_set = set(trees)
    for digest in set(unknown) - tree_set:
        live.digests.add(digest)
        try:
            info = blobs.storage.stat(digest.key)
        except ObjectNotFoundError:
            if not restore_from_quarantine(blobs.storage, {digest}):
                continue
            info = blobs.storage.stat(digest.key)
        if info.size <= _UNKNOWN_PROBE and Tree.looks_like_manifest(blobs.storage.read(digest.key)):
            tree_set.add(digest)
    live.digests.update(tree_set)

    def read(digest: Digest) -> Tree | str:
        try:
            return blobs.read_tree(digest)
        except ObjectNotFoundError:
            return "manifest missing"
        except IntegrityError:
            return "manifest corrupt"
        except MalformedMetadataError:
            return "not a tree manifest"

    ordered = sorted(tree_set)
    workers = max(1, min(len(ordered), blobs.concurrency, (os.cpu_count() or 2) * 4))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for digest, got in zip(ordered, pool.map(read, ordered), strict=True):
            if isinstance(got, Tree):
                live.digests.update(e.digest for e in got)
            elif got != "not a tree manifest":
                who = (why or {}).get(digest, "a reference")
                live.problems.append(f"tree {digest} of {who}: {got}; its blobs are unknown")
    return live


@dataclass(frozen=True, slots=True)
class Candidate:
    """An unreferenced blob old enough to delete: digest, size, mtime (epoch seconds)."""

    digest: Digest
    size: int
    mtime: float


@dataclass(slots=True)
class Garbage:
    """What one listing of ``objects/sha256/`` found.

    Attributes:
        candidates: unreferenced blobs older than the cutoff, sorted by digest.
        live: blobs kept because they are referenced.
        young: unreferenced blobs kept because they are newer than the cutoff (or the
            backend reports no mtime): a writer may be about to commit a reference to them.
        stray: keys under ``objects/`` that do not name a blob (never touched).
    """

    candidates: list[Candidate] = field(default_factory=list)
    live: int = 0
    young: int = 0
    stray: int = 0


def find_garbage(blobs: BlobStore, live: set[Digest], *, cutoff: float) -> Garbage:
    """List every blob once and pick the unreferenced ones last written before ``cutoff``.

    Args:
        live: digests that must survive.
        cutoff: epoch seconds; only blobs with an mtime at or before it are candidates.
    """
    found = Garbage()
    for info in blobs.storage.list(OBJECTS_PREFIX):
        digest = key_to_digest(info.key)
        if digest is None:
            found.stray += 1
        elif digest in live:
            found.live += 1
        elif info.mtime is None or info.mtime > cutoff:
            found.young += 1
        else:
            found.candidates.append(Candidate(digest, info.size, float(info.mtime)))
    found.candidates.sort(key=lambda c: c.digest)
    return found


def _manifests_first(
    blobs: BlobStore, candidates: Sequence[Candidate]
) -> tuple[list[Candidate], list[Candidate]]:
    small = [c for c in candidates if c.size <= _MANIFEST_PROBE]
    manifests: set[Digest] = set()
    for start in range(0, len(small), 256):
        chunk = small[start : start + 256]
        got = blobs.storage.read_many([c.digest.key for c in chunk])
        for c in chunk:
            data = got.get(c.digest.key)
            if data and Tree.looks_like_manifest(data):
                manifests.add(c.digest)
    first = [c for c in candidates if c.digest in manifests]
    rest = [c for c in candidates if c.digest not in manifests]
    return first, rest


def _each(
    blobs: BlobStore, groups: Iterable[list[Candidate]], act: Callable[[Candidate], bool]
) -> list[Candidate]:
    done: list[Candidate] = []
    for group in groups:
        if not group:
            continue
        workers = max(1, min(len(group), blobs.concurrency, 32))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            done.extend(c for c, ok in zip(group, pool.map(act, group)) if ok)
    return done


def delete_blobs(blobs: BlobStore, candidates: Sequence[Candidate]) -> list[Candidate]:
    """Delete the candidates outright, tree manifests first; returns those deleted, in order.

    No quarantine: only for a shelf no writer uses meanwhile (gc itself goes through
    :func:`quarantine_blobs` and :func:`settle`).
    """

    def delete(c: Candidate) -> bool:
        blobs.storage.delete(c.digest.key)
        return True

    return _each(blobs, _manifests_first(blobs, candidates), delete)


def quarantine_blobs(
    blobs: BlobStore, candidates: Sequence[Candidate], run_id: str, *, deadline: float
) -> list[Candidate]:
    """Phase 1: move the candidates into quarantine ``run_id``, tree manifests first.

    Nothing moves after ``deadline`` (epoch s): a quarantine left unsealed by a dead gc is
    taken to have stopped moving by its start + the writer window, so phase 1 must too.
    Returns the candidates moved (those already gone are left out).
    """

    def move(c: Candidate) -> bool:
        if time.time() >= deadline:
            return False
        return move_in(blobs.storage, c.digest, run_id)

    return _each(blobs, _manifests_first(blobs, candidates), move)


@dataclass(slots=True)
class Settled:
    """What phase 2 did to one quarantine."""

    restored: list[Digest] = field(default_factory=list)
    deleted: list[Candidate] = field(default_factory=list)
    kept: list[Digest] = field(default_factory=list)  # live, but could not be put back


def settle(
    blobs: BlobStore, q: Quarantine, live: set[Digest], *, only: set[Digest] | None = None
) -> Settled:
    """Phase 2: put back every quarantined blob of ``q`` in ``live``; delete the others.

    ``live`` must be marked from committed state at least the writer window after ``q``
    stopped moving blobs (see :meth:`Quarantine.due`). With ``only``, blobs outside it are
    left in quarantine (they were not in the plan). A live blob that cannot be put back
    (its quarantined copy is corrupt) stays in quarantine and is reported in ``kept``.
    """
    out = Settled()
    gone: list[Digest] = []
    for digest, size in sorted(q.blobs.items()):
        if only is not None and digest not in only and digest not in live:
            continue
        if digest in live:
            if copy_back(blobs.storage, digest, q.key(digest)):
                out.restored.append(digest)
                gone.append(digest)
            else:
                out.kept.append(digest)
        else:
            out.deleted.append(Candidate(digest, size, 0.0))
            gone.append(digest)
    drop(blobs.storage, q, gone)
    return out
