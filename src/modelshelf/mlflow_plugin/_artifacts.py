"""``ModelshelfArtifactRepository``: MLflow run artifacts and logged models, content-addressed.

A file logged at ``<folder>/<path>`` is stored once as a blob (deduplicated across runs)
and named by a small reference object, ``mlflow-artifacts/<folder>/<path>`` on the shelf,
holding ``{"digest", "size"}``. References are write-once: logging other bytes at a path
that holds a file fails; logging the same bytes again is a no-op. Every download goes
through the shelf's verified cache, so bytes that do not match their digest never reach
the caller. ``modelshelf+<shelf>/-/sha256:<tree>`` names a stored tree (a model version).
"""

from __future__ import annotations

import json
import os
import posixpath
import shutil
from typing import Any

from mlflow.entities import FileInfo
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_ALREADY_EXISTS, RESOURCE_DOES_NOT_EXIST
from mlflow.store.artifact.artifact_repo import ArtifactRepository

from modelshelf._shelf import Shelf
from modelshelf.cas import Digest, Tree, TreeEntry, check_relpath
from modelshelf.errors import AlreadyExistsError, InvalidInputError
from modelshelf.mlflow_plugin._errors import translated
from modelshelf.mlflow_plugin._uris import ARTIFACT_PREFIX, shelf_for_uri, split_artifact_uri

__all__ = ["ModelshelfArtifactRepository", "read_ref", "tree_of"]


def _ref_key(folder: str, path: str) -> str:
    return ARTIFACT_PREFIX + posixpath.join(folder, path) if folder else ARTIFACT_PREFIX + path


def read_ref(data: bytes, key: str) -> TreeEntry:
    """Parse the reference object stored at ``key``."""
    try:
        doc = json.loads(data)
        return TreeEntry(key, Digest.parse(doc["digest"]), int(doc["size"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInputError(f"unreadable artifact reference {key!r}: {exc}") from exc


def _refs(shelf: Shelf, folder: str) -> list[TreeEntry]:
    """Every file below ``folder`` of the artifact area, paths relative to it."""
    base = _ref_key(folder, "")
    keys = [i.key for i in shelf.storage.list(base)]
    found = []
    for key, data in shelf.storage.read_many(keys).items():
        if data is not None:
            entry = read_ref(data, key)
            found.append(TreeEntry(key[len(base) :], entry.digest, entry.size))
    return found


def tree_of(shelf: Shelf, folder: str) -> Tree:
    """The files logged below ``folder`` as a tree (its manifest is not stored here).

    Raises:
        InvalidInputError: nothing was logged there.
    """
    entries = _refs(shelf, folder)
    if not entries:
        raise InvalidInputError(f"no artifacts below {folder!r} on the shelf {shelf.url}")
    return Tree.from_entries(entries)


class ModelshelfArtifactRepository(ArtifactRepository):
    """MLflow's artifact repository for ``modelshelf+<shelf URL>/-/<folder>`` URIs.

    Args:
        artifact_uri: e.g. ``modelshelf+s3://bucket/shelf/-/experiments/churn/<run>/artifacts``.
        tracking_uri: MLflow's tracking URI (unused: artifacts need only the shelf).
        registry_uri: MLflow's registry URI (unused).
    """

    def __init__(
        self, artifact_uri: str, tracking_uri: str | None = None, registry_uri: str | None = None
    ) -> None:
        super().__init__(artifact_uri, tracking_uri=tracking_uri, registry_uri=registry_uri)
        root, self.folder = translated(split_artifact_uri)(artifact_uri)
        self.shelf = translated(shelf_for_uri)(root)
        self.tree: Tree | None = None
        if self.folder.startswith("sha256:"):
            digest, _, sub = self.folder.partition("/")
            self.tree = translated(self.shelf.blobs.read_tree)(digest)
            self.subtree = sub

    # ----------------------------------------------------------------------- writing
    def _read_only(self) -> None:
        if self.tree is not None:
            raise MlflowException(
                f"{self.artifact_uri} names a stored tree by its digest; it cannot change. "
                "Log artifacts to a run instead.",
                error_code=RESOURCE_ALREADY_EXISTS,
            )

    def _publish(self, entries: list[TreeEntry]) -> None:
        docs: dict[str, bytes] = {}
        for e in entries:
            path = check_relpath(e.path, "artifact path")
            self.shelf.blobs.check_before_commit(e.digest, tree=False)
            docs[_ref_key(self.folder, path)] = json.dumps(
                {"digest": str(e.digest), "size": e.size}, sort_keys=True
            ).encode()
        created = self.shelf.storage.write_many(docs)
        for key in sorted(set(docs) - created):
            held = read_ref(self.shelf.storage.read(key), key)
            if held.digest != read_ref(docs[key], key).digest:
                raise AlreadyExistsError(
                    f"the artifact {key[len(ARTIFACT_PREFIX) :]!r} already holds other bytes "
                    f"({held.digest}); artifacts are write-once: log to a new path"
                )

    @translated
    def log_artifact(self, local_file: str, artifact_path: str | None = None) -> None:
        self._read_only()
        name = os.path.basename(local_file)
        path = posixpath.join(artifact_path, name) if artifact_path else name
        digest = self.shelf.blobs.put_file(local_file)
        self._publish([TreeEntry(path, digest, os.path.getsize(local_file))])

    @translated
    def log_artifacts(self, local_dir: str, artifact_path: str | None = None) -> None:
        self._read_only()
        tree = self.shelf.blobs.read_tree(self.shelf.blobs.put_tree(local_dir))
        prefix = (artifact_path or "").strip("/")
        self._publish(
            [
                TreeEntry(posixpath.join(prefix, e.path) if prefix else e.path, e.digest, e.size)
                for e in tree
            ]
        )

    @translated
    def delete_artifacts(self, artifact_path: str | None = None) -> None:
        """Remove the references below ``artifact_path``; gc reclaims unreferenced blobs."""
        self._read_only()
        base = _ref_key(self.folder, (artifact_path or "").strip("/"))
        for info in self.shelf.storage.list(base):
            if info.key == base or info.key.startswith(base.rstrip("/") + "/"):
                self.shelf.storage.delete(info.key)

    # ----------------------------------------------------------------------- reading
    def _entries(self) -> list[TreeEntry]:
        if self.tree is None:
            return _refs(self.shelf, self.folder)
        if not self.subtree:
            return list(self.tree)
        base = self.subtree.rstrip("/") + "/"
        return [
            TreeEntry(e.path[len(base) :], e.digest, e.size)
            for e in self.tree
            if e.path.startswith(base)
        ]

    @translated
    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        base = (path or "").strip("/")
        prefix = base + "/" if base else ""
        seen: dict[str, FileInfo] = {}
        for e in self._entries():
            if not e.path.startswith(prefix):
                continue
            head, sep, _rest = e.path[len(prefix) :].partition("/")
            child = prefix + head
            seen.setdefault(child, FileInfo(child, bool(sep), None if sep else e.size))
        return [seen[k] for k in sorted(seen)]

    @translated
    def _download_file(self, remote_file_path: str, local_path: str) -> None:
        wanted = remote_file_path.strip("/")
        if self.tree is None:  # one reference object, no listing
            key = _ref_key(self.folder, check_relpath(wanted, "artifact path"))
            entry = read_ref(self.shelf.storage.read(key), key)
            shutil.copyfile(self.shelf.blobs.fetch(entry.digest), local_path)
            return
        for e in self._entries():
            if e.path == wanted:
                shutil.copyfile(self.shelf.blobs.fetch(e.digest), local_path)
                return
        raise MlflowException(
            f"no artifact {wanted!r} at {self.artifact_uri}", error_code=RESOURCE_DOES_NOT_EXIST
        )

    def _is_directory(self, artifact_path: Any) -> bool:
        base = (artifact_path or "").strip("/")
        return not base or any(e.path.startswith(base + "/") for e in self._entries())
