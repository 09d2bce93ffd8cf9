"""The write-once artifact index of a run: one create-if-absent pointer per logged path.

A pointer names a blob (``kind="file"``) or a tree manifest (``kind="tree"``). The same bytes
at the same path again is a no-op; other bytes, or a path inside or over an existing
artifact, are refused.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from modelshelf.cas import BlobStore, Digest, Tree, TreeEntry, check_relpath
from modelshelf.errors import (
    AlreadyExistsError,
    ArtifactExistsError,
    ArtifactNotFoundError,
    InvalidPathError,
    NotFoundError,
)
from modelshelf.runs._entities import FileInfo
from modelshelf.runs._layout import dumps, loads, name_key
from modelshelf.storage import Storage

__all__ = ["ArtifactIndex", "Located", "Pointer", "clean_artifact_path"]

Kind = Literal["file", "tree"]


def clean_artifact_path(path: str | None) -> str:
    """``None``/``""``/``"/"`` -> ``""`` (the run root); otherwise a checked relative path.

    Paths are at most 1,024 bytes of UTF-8, and 255 bytes per part (see
    :func:`modelshelf.cas.check_relpath`), so every logged path can be downloaded to a POSIX
    file system and stored as an object-store key.

    Raises:
        InvalidPathError: absolute, ``..``, NUL, backslash, empty parts, not valid Unicode,
            or too long.
    """
    if path is None:
        return ""
    if not isinstance(path, str):
        raise InvalidPathError(
            f"artifact path must be a string, got {type(path).__name__} {repr(path)[:80]}"
        )
    if path.startswith("/"):
        raise InvalidPathError(
            f"artifact path {path[:120]!r} is absolute; artifact paths are relative to the run"
        )
    stripped = path.rstrip("/")
    return check_relpath(stripped, "artifact path") if stripped else ""


@dataclass(frozen=True, slots=True)
class Pointer:
    """One logged artifact: its path in the run, what it is, and which bytes."""

    path: str
    digest: Digest
    kind: Kind
    size: int

    def to_dict(self) -> dict[str, Any]:
        return {"digest": str(self.digest), "kind": self.kind, "path": self.path, "size": self.size}

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Pointer:
        kind = doc["kind"]
        if kind not in ("file", "tree"):
            raise ValueError(f"unknown artifact kind {kind!r}")
        return cls(str(doc["path"]), Digest.parse(doc["digest"]), kind, int(doc["size"]))

    def describe(self) -> str:
        what = "a file" if self.kind == "file" else "a folder"
        return f"{what} {self.digest} of {self.size} bytes"


@dataclass(frozen=True, slots=True)
class Located:
    """What a path of a run names.

    Attributes:
        kind: ``"blob"`` (one file) or ``"tree"`` (a folder).
        digest: the blob's digest, or the folder's tree digest.
        tree: the folder's manifest (None for a blob); it may not be stored on the shelf when
            the folder is part of a logged tree or spans several pointers.
        size: bytes in the file or folder.
        pointer: the logged path the answer came through (None when it spans several).
        root: the digest that pointer holds (the stored blob or tree the answer is inside).
    """

    kind: Literal["blob", "tree"]
    digest: Digest
    tree: Tree | None
    size: int
    pointer: str | None
    root: Digest | None = None


class ArtifactIndex:
    """Logs and finds the artifacts of runs on one shelf."""

    def __init__(self, storage: Storage, blobs: BlobStore) -> None:
        self.storage = storage
        self.blobs = blobs
        self._known_dirs: set[str] = set()

    # ------------------------------------------------------------------------------ writes
    def log_file(self, run_id: str, local_path: str, artifact_path: str | None) -> Pointer:
        """Store one local file at ``<artifact_path>/<its name>``.

        Raises:
            NotFoundError: ``local_path`` is not a file.
            ArtifactExistsError: that path holds other bytes, or nests with another artifact.
        """
        local_path = os.fspath(local_path)
        if not os.path.isfile(local_path):
            raise NotFoundError(f"cannot log {local_path!r} to run {run_id}: it is not a file")
        base = clean_artifact_path(artifact_path)
        dest = clean_artifact_path(posixpath.join(base, os.path.basename(local_path)))
        digest = self.blobs.put_file(local_path)
        return self.put(run_id, Pointer(dest, digest, "file", os.path.getsize(local_path)))

    def log_bytes(self, run_id: str, data: bytes, artifact_file: str) -> Pointer:
        """Store bytes as the file ``artifact_file`` of the run.

        Raises:
            InvalidPathError: ``artifact_file`` is empty, absolute, escapes or is too long.
        """
        dest = clean_artifact_path(artifact_file)
        if not dest:
            raise InvalidPathError("artifact_file must name a file, got an empty path")
        digest = self.blobs.put_bytes(data)
        return self.put(run_id, Pointer(dest, digest, "file", len(data)))

    def log_dir(self, run_id: str, local_dir: str, artifact_path: str | None) -> list[Pointer]:
        """Store a local folder as one tree at ``artifact_path``.

        At the run root (``artifact_path`` None), each top-level file and folder becomes its
        own artifact, so later ``log_artifact`` calls can still add files beside them.

        Raises:
            NotFoundError: ``local_dir`` is not a folder.
            ArtifactExistsError: a path holds other bytes, or nests with another artifact.
            UnloggableFileError: a symlink dangles, loops or escapes the folder, or an entry is
                a special file (FIFO, socket, device); nothing is logged.
            InvalidPathError: a name is unsafe or a path too long.
        """
        local_dir = os.fspath(local_dir)
        if not os.path.isdir(local_dir):
            raise NotFoundError(f"cannot log {local_dir!r} to run {run_id}: it is not a folder")
        base = clean_artifact_path(artifact_path)
        digest = self.blobs.put_tree(local_dir, prefix=base)
        if base:
            size = self.blobs.last_put.bytes_total
            return [self.put(run_id, Pointer(base, digest, "tree", size))]
        tree = self.blobs.read_tree(digest)
        pointers = []
        for name in sorted({e.path.split("/", 1)[0] for e in tree}):
            entry = tree.get(name)
            if entry is not None:
                pointer = Pointer(name, entry.digest, "file", entry.size)
            else:
                sub = tree.subtree(name)
                pointer = Pointer(name, self.blobs.put_manifest(sub), "tree", sub.size)
            pointers.append(self.put(run_id, pointer))
        return pointers

    def put(self, run_id: str, pointer: Pointer) -> Pointer:
        """Create the pointer once. Same bytes again: a no-op.

        One batched read checks the path itself, its ancestors (a file there would contain
        the new path) and the folder marker of the path (artifacts below it); then the
        ancestors' folder markers and the pointer are created. The check and the create are
        separate steps: two writers racing to log ``a`` and ``a/b`` may both succeed. The
        create itself is atomic, so one path never holds two different artifacts.

        Raises:
            ArtifactExistsError: the path holds other bytes, or nests with another artifact.
        """
        path = pointer.path
        ancestors = [path[:i] for i, c in enumerate(path) if c == "/"]
        own, marker = self._key(run_id, path), self._dir_key(run_id, path)
        got = self.storage.read_many([own, marker, *(self._key(run_id, a) for a in ancestors)])
        if got.get(own):
            return self._same_or_raise(run_id, Pointer.from_dict(loads(got[own] or b"")), pointer)
        for ancestor in ancestors:
            data = got.get(self._key(run_id, ancestor))
            if data:
                other = Pointer.from_dict(loads(data))
                raise ArtifactExistsError(
                    f"cannot log {path!r} in run {run_id}: it would go inside the "
                    f"artifact {ancestor!r} ({other.describe()}), and artifacts are write-once; "
                    "log it at another path"
                )
        if got.get(marker) is not None:
            inside = [p for p in self.pointers(run_id) if p.startswith(path + "/")]
            example = f" {inside[0]!r}" if inside else "s"
            raise ArtifactExistsError(
                f"cannot log {path!r} in run {run_id}: the run already has the artifact"
                f"{example} inside that path, and artifacts are write-once; "
                "log it at another path"
            )
        for ancestor in ancestors:
            dir_key = self._dir_key(run_id, ancestor)
            if dir_key not in self._known_dirs:
                try:
                    self.storage.write(dir_key, b"")
                except AlreadyExistsError:
                    pass
                self._known_dirs.add(dir_key)
        self.blobs.check_before_commit(pointer.digest, tree=pointer.kind == "tree")
        try:
            self.storage.write(own, dumps(pointer.to_dict()))
        except AlreadyExistsError:
            return self._same_or_raise(
                run_id, Pointer.from_dict(loads(self.storage.read(own))), pointer
            )
        return pointer

    @staticmethod
    def _same_or_raise(run_id: str, old: Pointer, new: Pointer) -> Pointer:
        if old.digest == new.digest and old.kind == new.kind:
            return old
        raise ArtifactExistsError(
            f"run {run_id} already has the artifact {new.path!r} ({old.describe()}); "
            f"artifacts are write-once, so {new.describe()} cannot replace it: log it at "
            "another path or in a new run"
        )

    # ------------------------------------------------------------------------------- reads
    def pointers(self, run_id: str) -> dict[str, Pointer]:
        """Every logged artifact of the run, by path (one listing, one batched read)."""
        keys = [i.key for i in self.storage.list(f"runs/{run_id}/artifacts/")]
        out: dict[str, Pointer] = {}
        for data in self.storage.read_many(keys).values():
            if data:
                pointer = Pointer.from_dict(loads(data))
                out[pointer.path] = pointer
        return dict(sorted(out.items()))

    def list(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        """The direct children of ``path`` (the run root when None), like MLflow.

        A file path, or a path with nothing under it, lists as empty.
        """
        path = clean_artifact_path(path)
        pointers = self.pointers(run_id)
        children: dict[str, FileInfo] = {}
        prefix = path + "/" if path else ""
        for ptr_path, ptr in pointers.items():
            if path and ptr_path == path:
                if ptr.kind == "tree":
                    self._list_tree(ptr, "", path, children)
            elif ptr_path.startswith(prefix):
                rest = ptr_path[len(prefix) :]
                head = rest.split("/", 1)[0]
                full = prefix + head
                if "/" in rest or ptr.kind == "tree":
                    children[full] = FileInfo(full, True, None)
                else:
                    children[full] = FileInfo(full, False, ptr.size)
            elif path.startswith(ptr_path + "/") and ptr.kind == "tree":
                self._list_tree(ptr, path[len(ptr_path) + 1 :], path, children)
        return [children[k] for k in sorted(children)]

    def _list_tree(self, ptr: Pointer, within: str, shown: str, out: dict[str, FileInfo]) -> None:
        tree = self.blobs.read_tree(ptr.digest)
        prefix = within + "/" if within else ""
        for entry in tree:
            if not entry.path.startswith(prefix):
                continue
            rest = entry.path[len(prefix) :]
            head = rest.split("/", 1)[0]
            full = f"{shown}/{head}"
            if "/" in rest:
                out[full] = FileInfo(full, True, None)
            else:
                out[full] = FileInfo(full, False, entry.size)

    def locate(self, run_id: str, path: str | None) -> Located:
        """What ``path`` names in the run: one file, or a folder as a tree.

        One batched read when ``path`` or a folder above it was logged; otherwise (a folder
        spanning several artifacts, or nothing) one listing of the run's index.

        Raises:
            ArtifactNotFoundError: nothing is logged at or under ``path`` (names what is).
            InvalidPathError: the path is absolute or escapes the run.
        """
        path = clean_artifact_path(path)
        if path:
            # One batched read: the path itself and every ancestor that could hold it.
            candidates = [path] + [path[:i] for i, c in enumerate(path) if c == "/"]
            got = self.storage.read_many([self._key(run_id, p) for p in candidates])
            for candidate in candidates:
                data = got.get(self._key(run_id, candidate))
                if not data:
                    continue
                ptr = Pointer.from_dict(loads(data))
                if candidate == path:
                    return self._located(ptr)
                return self._inside(run_id, ptr, path[len(candidate) + 1 :], path)
        pointers = self.pointers(run_id)
        prefix = path + "/" if path else ""
        below = [p for p in pointers.values() if p.path.startswith(prefix)]
        if not below:
            raise self._missing(run_id, path, pointers)
        entries: list[TreeEntry] = []
        for ptr in below:
            rel = ptr.path[len(prefix) :]
            if ptr.kind == "file":
                entries.append(TreeEntry(rel, ptr.digest, ptr.size))
            else:
                for e in self.blobs.read_tree(ptr.digest):
                    entries.append(TreeEntry(f"{rel}/{e.path}", e.digest, e.size, e.executable))
        tree = Tree.from_entries(entries)
        return Located("tree", tree.digest, tree, tree.size, None)

    def _located(self, ptr: Pointer) -> Located:
        if ptr.kind == "file":
            return Located("blob", ptr.digest, None, ptr.size, ptr.path, ptr.digest)
        tree = self.blobs.read_tree(ptr.digest)
        return Located("tree", ptr.digest, tree, ptr.size, ptr.path, ptr.digest)

    def _inside(self, run_id: str, ptr: Pointer, within: str, path: str) -> Located:
        if ptr.kind == "file":
            raise ArtifactNotFoundError(
                f"run {run_id} has no artifact {path!r}: {ptr.path!r} is a file, not a folder"
            )
        tree = self.blobs.read_tree(ptr.digest)
        entry = tree.get(within)
        if entry is not None:
            return Located("blob", entry.digest, None, entry.size, ptr.path, ptr.digest)
        sub = tree.subtree(within)
        if not len(sub):
            names = sorted({e.path.split("/", 1)[0] for e in tree})
            raise ArtifactNotFoundError(
                f"run {run_id} has no artifact {path!r}; the folder {ptr.path!r} holds: "
                f"{_few(names)}"
            )
        return Located("tree", sub.digest, sub, sub.size, ptr.path, ptr.digest)

    @staticmethod
    def _missing(run_id: str, path: str, pointers: Mapping[str, Pointer]) -> ArtifactNotFoundError:
        if not pointers:
            return ArtifactNotFoundError(
                f"run {run_id} has no artifact {path!r}: nothing has been logged in it"
            )
        top = sorted({p.split("/", 1)[0] for p in pointers})
        return ArtifactNotFoundError(
            f"run {run_id} has no artifact {path!r}; its top-level artifacts are: {_few(top)}"
        )

    @staticmethod
    def _key(run_id: str, path: str) -> str:
        return f"runs/{run_id}/artifacts/{name_key(path)}"

    @staticmethod
    def _dir_key(run_id: str, path: str) -> str:
        return f"runs/{run_id}/dirs/{name_key(path)}"


def _few(names: list[str], limit: int = 20) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", … ({len(names) - limit} more)" if len(names) > limit else "")
