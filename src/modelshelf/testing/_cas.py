"""BlobStoreTests: the content-addressed store's conformance kit, run against every backend.

Subclass it and provide a ``blobstore`` fixture (a :class:`~modelshelf.cas.BlobStore` over the
backend under test, with its own empty cache directory)::

    class TestMyBackend(BlobStoreTests):
        @pytest.fixture
        def blobstore(self, tmp_path):
            return BlobStore(open_storage(URL), cache=LocalCache(tmp_path / "cache"))

Needs pytest.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from modelshelf.cas import BlobStore, Digest, LocalCache, Tree, hash_bytes
from modelshelf.errors import (
    AlreadyExistsError,
    IntegrityError,
    InvalidPathError,
    ObjectNotFoundError,
)

__all__ = ["BlobStoreTests", "make_tree"]


def make_tree(root: Path, files: dict[str, bytes], *, executable: tuple[str, ...] = ()) -> Path:
    """Write ``files`` (relative path -> bytes) below ``root``; mark ``executable`` ones +x."""
    for rel, data in files.items():
        path = root.joinpath(*rel.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if rel in executable:
            path.chmod(0o755)
    return root


SAMPLE = {
    "MLmodel": b"flavors: {}\n",
    "empty.txt": b"",
    "data/weights.bin": bytes(range(256)) * 64,
    "data/nested/deep/x.json": b'{"a": 1}',
    "run.sh": b"#!/bin/sh\necho hi\n",
}


def _read_all(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


class BlobStoreTests:
    """Behaviour every BlobStore must show, whatever the storage under it."""

    def _fresh_reader(self, blobstore: BlobStore, tmp_path: Path) -> BlobStore:
        """The same shelf seen by another machine: an empty cache."""
        return BlobStore(blobstore.storage, cache=LocalCache(tmp_path / "other-cache"))

    # -- blobs -----------------------------------------------------------------------------
    def test_put_bytes_roundtrip(self, blobstore: BlobStore) -> None:
        digest = blobstore.put_bytes(b"hello")
        assert str(digest) == "sha256:" + hash_bytes(b"hello").hex
        assert digest.key == f"objects/sha256/{digest.hex[:2]}/{digest.hex}"
        assert blobstore.exists(digest)
        assert blobstore.get(digest) == b"hello"
        assert blobstore.put_bytes(b"hello") == digest  # idempotent

    def test_empty_blob(self, blobstore: BlobStore) -> None:
        digest = blobstore.put_bytes(b"")
        assert blobstore.get(digest) == b""

    def test_exists_many(self, blobstore: BlobStore) -> None:
        stored = [blobstore.put_bytes(f"blob {i}".encode()) for i in range(6)]
        absent = [hash_bytes(f"absent {i}".encode()) for i in range(3)]
        assert blobstore.exists_many(stored + absent) == set(stored)

    def test_missing_blob(self, blobstore: BlobStore) -> None:
        with pytest.raises(ObjectNotFoundError, match="not on the shelf"):
            blobstore.get(hash_bytes(b"never stored"))

    def test_put_file_and_open(self, blobstore: BlobStore, tmp_path: Path) -> None:
        path = tmp_path / "f.bin"
        path.write_bytes(os.urandom(3 << 20))
        digest = blobstore.put_file(path)
        with blobstore.open(digest) as handle:
            assert handle.read() == path.read_bytes()

    # -- trees -----------------------------------------------------------------------------
    def test_tree_roundtrip(self, blobstore: BlobStore, tmp_path: Path) -> None:
        src = make_tree(tmp_path / "src", SAMPLE, executable=("run.sh",))
        digest = blobstore.put_tree(src)
        reader = self._fresh_reader(blobstore, tmp_path)
        out = reader.get_tree(digest, tmp_path / "out")
        assert _read_all(out) == SAMPLE
        assert os.access(out / "run.sh", os.X_OK)
        assert not os.access(out / "MLmodel", os.X_OK)
        tree = reader.read_tree(digest)
        assert {e.path for e in tree} == set(SAMPLE)
        assert tree.get("run.sh") is not None and tree.get("run.sh").executable  # type: ignore[union-attr]

    def test_tree_digest_is_content_identity(self, blobstore: BlobStore, tmp_path: Path) -> None:
        a = blobstore.put_tree(make_tree(tmp_path / "a", SAMPLE))
        b = blobstore.put_tree(make_tree(tmp_path / "b", SAMPLE))
        assert a == b
        changed = dict(SAMPLE, **{"empty.txt": b"x"})
        assert blobstore.put_tree(make_tree(tmp_path / "c", changed)) != a

    def test_manifest_is_canonical_json(self, blobstore: BlobStore, tmp_path: Path) -> None:
        digest = blobstore.put_tree(make_tree(tmp_path / "src", SAMPLE))
        raw = blobstore.get(digest)
        doc = json.loads(raw)
        assert raw == json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
        assert doc["entries"]["data/weights.bin"]["size"] == len(SAMPLE["data/weights.bin"])

    def test_reput_unchanged_moves_nothing(self, blobstore: BlobStore, tmp_path: Path) -> None:
        src = make_tree(tmp_path / "src", SAMPLE)
        first = blobstore.put_tree(src)
        assert blobstore.last_put.bytes_uploaded == sum(len(v) for v in SAMPLE.values())
        again = blobstore.put_tree(src)
        assert again == first
        assert blobstore.last_put.bytes_uploaded == 0
        assert blobstore.last_put.blobs_uploaded == 0
        assert blobstore.last_put.hashed_files == 0  # the hash memo knew every file

    def test_put_tree_refills_blob_missing_from_shelf(
        self, blobstore: BlobStore, tmp_path: Path
    ) -> None:
        src = make_tree(tmp_path / "src", SAMPLE)
        digest = blobstore.put_tree(src)
        weights = hash_bytes(SAMPLE["data/weights.bin"])
        blobstore.storage.delete(weights.key)
        # A present manifest does not vouch for its blobs (gc may have removed them): one
        # batched check finds the missing blob and puts it back.
        assert blobstore.put_tree(src) == digest
        assert blobstore.exists(weights) and blobstore.verify(digest).ok
        blobstore.storage.delete(weights.key)
        assert blobstore.put_tree(src, repair=True) == digest
        assert blobstore.exists(weights) and blobstore.verify(digest).ok
        blobstore.storage.delete(weights.key)
        blobstore.storage.delete(digest.key)  # as gc leaves an unreferenced tree
        assert blobstore.put_tree(src) == digest
        assert blobstore.exists(weights)

    def test_get_tree_refuses_non_empty_dest(self, blobstore: BlobStore, tmp_path: Path) -> None:
        digest = blobstore.put_tree(make_tree(tmp_path / "src", SAMPLE))
        dest = tmp_path / "dest"
        dest.mkdir()
        (dest / "keep.txt").write_text("mine")
        with pytest.raises(AlreadyExistsError):
            blobstore.get_tree(digest, dest)
        assert (dest / "keep.txt").read_text() == "mine"

    # -- the verified cache ------------------------------------------------------------------
    def test_second_get_tree_reads_nothing_remote(
        self, blobstore: BlobStore, tmp_path: Path
    ) -> None:
        digest = blobstore.put_tree(make_tree(tmp_path / "src", SAMPLE))
        reader = self._fresh_reader(blobstore, tmp_path)
        reader.get_tree(digest, tmp_path / "one")
        for entry in reader.read_tree(digest):
            blobstore.storage.delete(entry.digest.key)
        blobstore.storage.delete(digest.key)  # offline: the shelf has lost everything
        assert _read_all(reader.get_tree(digest, tmp_path / "two")) == SAMPLE

    def test_corrupt_cache_entry_is_fetched_again(
        self, blobstore: BlobStore, tmp_path: Path
    ) -> None:
        digest = blobstore.put_tree(make_tree(tmp_path / "src", SAMPLE))
        reader = self._fresh_reader(blobstore, tmp_path)
        reader.get_tree(digest, tmp_path / "one")
        weights = hash_bytes(SAMPLE["data/weights.bin"])
        cached = reader.cache.path(weights)
        cached.chmod(0o644)
        cached.write_bytes(b"bit rot")
        out = reader.get_tree(digest, tmp_path / "two")
        assert (out / "data/weights.bin").read_bytes() == SAMPLE["data/weights.bin"]

    # -- corruption ------------------------------------------------------------------------
    def test_corrupt_blob_raises_and_writes_nothing(
        self, blobstore: BlobStore, tmp_path: Path
    ) -> None:
        digest = blobstore.put_tree(make_tree(tmp_path / "src", SAMPLE))
        weights = hash_bytes(SAMPLE["data/weights.bin"])
        blobstore.storage.write(weights.key, b"tampered bytes", overwrite=True)
        reader = self._fresh_reader(blobstore, tmp_path)
        dest = tmp_path / "dest"
        with pytest.raises(IntegrityError) as info:
            reader.get_tree(digest, dest)
        assert weights.key in str(info.value) and str(weights) in str(info.value)
        assert not dest.exists()
        assert not any(p.name.startswith(".tmp-") for p in tmp_path.iterdir())
        with pytest.raises(IntegrityError):
            reader.get(weights)

    def test_verify_names_corrupt_and_missing_blobs(
        self, blobstore: BlobStore, tmp_path: Path
    ) -> None:
        digest = blobstore.put_tree(make_tree(tmp_path / "src", SAMPLE))
        assert blobstore.verify(digest, deep=True).ok
        weights = hash_bytes(SAMPLE["data/weights.bin"])
        blobstore.storage.write(weights.key, b"x" * len(SAMPLE["data/weights.bin"]), overwrite=True)
        gone = hash_bytes(SAMPLE["MLmodel"])
        blobstore.storage.delete(gone.key)
        shallow = blobstore.verify(digest)
        assert [p.key for p in shallow.problems] == [gone.key]
        deep = blobstore.verify(digest, deep=True)
        assert {p.key for p in deep.problems} == {gone.key, weights.key}
        assert any("content mismatch" in p.problem for p in deep.problems)

    def test_tampered_manifest(self, blobstore: BlobStore, tmp_path: Path) -> None:
        digest = blobstore.put_tree(make_tree(tmp_path / "src", SAMPLE))
        raw = blobstore.storage.read(digest.key)
        blobstore.storage.write(digest.key, raw.replace(b"run.sh", b"run.sx"), overwrite=True)
        reader = self._fresh_reader(blobstore, tmp_path)
        with pytest.raises(IntegrityError):
            reader.read_tree(digest)
        assert not blobstore.verify(digest).ok

    # -- unsafe manifests and folders --------------------------------------------------------
    @pytest.mark.parametrize(
        "bad", ["../escape", "/etc/passwd", "a/../../b", "a\\b", "nul\x00byte", "a//b", "./a"]
    )
    def test_unsafe_manifest_paths_are_refused(
        self, blobstore: BlobStore, tmp_path: Path, bad: str
    ) -> None:
        blob = blobstore.put_bytes(b"payload")
        doc = {
            "entries": {bad: {"digest": str(blob), "executable": False, "size": 7}},
            "type": "modelshelf.tree",
            "version": 1,
        }
        manifest = blobstore.put_bytes(json.dumps(doc, sort_keys=True).encode())
        with pytest.raises(InvalidPathError):
            blobstore.get_tree(manifest, tmp_path / "out")
        assert not (tmp_path / "out").exists()
        assert not (tmp_path.parent / "escape").exists()

    def test_duplicate_and_clashing_paths_are_refused(self) -> None:
        entry = {"digest": str(hash_bytes(b"")), "executable": False, "size": 0}
        with pytest.raises(InvalidPathError, match="both a file and a folder"):
            Tree.from_bytes(
                json.dumps(
                    {"entries": {"a": entry, "a/b": entry}, "type": "modelshelf.tree", "version": 1}
                ).encode()
            )

    def test_symlink_outside_tree_is_refused(self, blobstore: BlobStore, tmp_path: Path) -> None:
        outside = tmp_path / "secret.txt"
        outside.write_text("secret")
        src = make_tree(tmp_path / "src", {"a.txt": b"a"})
        (src / "link.txt").symlink_to(outside)
        with pytest.raises(InvalidPathError, match="outside the tree"):
            blobstore.put_tree(src)

    def test_symlink_inside_tree_is_stored_as_file(
        self, blobstore: BlobStore, tmp_path: Path
    ) -> None:
        src = make_tree(tmp_path / "src", {"a.txt": b"a"})
        (src / "alias.txt").symlink_to(src / "a.txt")
        digest = blobstore.put_tree(src)
        out = blobstore.get_tree(digest, tmp_path / "out")
        assert (out / "alias.txt").read_bytes() == b"a" and not (out / "alias.txt").is_symlink()

    def test_bad_digest_strings(self, blobstore: BlobStore) -> None:
        from modelshelf.errors import InvalidInputError

        for bad in ["sha256:xyz", "md5:" + "0" * 32, "", "sha256:" + "A" * 64]:
            with pytest.raises(InvalidInputError):
                blobstore.get(bad)
        assert Digest.parse("sha256:" + "a" * 64).hex == "a" * 64
