"""A file that changes between being hashed and being stored never lands under the old
digest: not through an edit that keeps its size and mtime, nor through a symlink swapped in
(which would also copy a file from outside the logged folder onto the shelf)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

import pytest

from modelshelf.cas import BlobStore, LocalCache
from modelshelf.cas._digest import OBJECTS_PREFIX
from modelshelf.cas._tree import scan_dir
from modelshelf.errors import StorageError
from modelshelf.storage import Storage, open_storage
from tests._servers import ShelfFactory
from tests.registry._helpers import WrappedStorage


def _every_blob_matches_its_key(storage: Storage) -> None:
    for info in storage.list(OBJECTS_PREFIX):
        data = storage.read(info.key)
        assert hashlib.sha256(data).hexdigest() == info.key.rsplit("/", 1)[1], info.key


def _rewrite_same_size_and_mtime(path: Path) -> None:
    st = path.stat()
    path.write_bytes(b"B" * st.st_size)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


class _EditsOnFirstCheck(WrappedStorage):
    """Another process edits the file right after modelshelf hashed it (at its first check)."""

    def __init__(self, inner: Storage, victim: Path) -> None:
        super().__init__(inner)
        self.victim: Path | None = victim

    def _edit(self) -> None:
        if self.victim is not None:
            _rewrite_same_size_and_mtime(self.victim)
            self.victim = None

    def exists(self, key: str) -> bool:
        self._edit()
        return self.inner.exists(key)

    def exists_many(self, keys: Iterable[str]) -> set[str]:
        self._edit()
        return self.inner.exists_many(keys)


@pytest.mark.parametrize("size", [100, (1 << 20) + 100, (8 << 20) + 100])
def test_an_edit_between_hash_and_upload_is_refused(
    shelf_factory: ShelfFactory, tmp_path: Path, size: int
) -> None:
    url, options = shelf_factory("memory")
    folder = tmp_path / "m"
    folder.mkdir()
    victim = folder / "weights.bin"
    victim.write_bytes(b"A" * size)
    storage = _EditsOnFirstCheck(open_storage(url, **options), victim)
    blobs = BlobStore(storage, cache=LocalCache(tmp_path / "cache"))
    with pytest.raises(StorageError, match="changed while it was being stored"):
        blobs.put_tree(folder)
    _every_blob_matches_its_key(storage)


@pytest.mark.parametrize("backend", ["local", "memory"])
def test_a_symlink_swapped_in_after_the_scan_is_not_followed(
    shelf_factory: ShelfFactory, tmp_path: Path, backend: str
) -> None:
    url, options = shelf_factory(backend)
    storage = open_storage(url, **options)
    blobs = BlobStore(storage, cache=LocalCache(tmp_path / "cache"))
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"S" * 64)  # outside the folder, same size as the file it replaces
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "a.txt").write_bytes(b"a" * 64)
    files = scan_dir(folder)
    (folder / "a.txt").unlink()
    (folder / "a.txt").symlink_to(secret)  # between the scan and the read
    with pytest.raises(StorageError, match="changed while it was being stored"):
        blobs._put_files(files)
    assert not storage.exists(OBJECTS_PREFIX + _sha_key(b"S" * 64))
    _every_blob_matches_its_key(storage)


def _sha_key(data: bytes) -> str:
    hexd = hashlib.sha256(data).hexdigest()
    return f"{hexd[:2]}/{hexd}"
