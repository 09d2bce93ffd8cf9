"""The hash memo never hands a new file an old file's digest."""

from __future__ import annotations

import os
from pathlib import Path

from modelshelf.cas import BlobStore, LocalCache
from modelshelf.storage import open_storage


def test_recreated_file_with_same_inode_size_and_mtime_is_rehashed(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    f = src / "weights.bin"
    blobs = BlobStore(open_storage(str(tmp_path / "shelf")), cache=LocalCache(tmp_path / "c"))
    f.write_bytes(b"A" * 4096)
    os.utime(f, ns=(10**9, 10**9))
    first = blobs.put_tree(src)
    inode = f.stat().st_ino
    f.unlink()
    f.write_bytes(b"B" * 4096)  # same size; usually the same inode again
    os.utime(f, ns=(10**9, 10**9))  # same mtime, as `cp -p` or an archive would leave it
    second = blobs.put_tree(src)
    assert second != first, f"inode reused: {f.stat().st_ino == inode}"
    out = blobs.get_tree(second, tmp_path / "out")
    assert (out / "weights.bin").read_bytes() == b"B" * 4096


def test_unchanged_files_are_not_rehashed(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.bin").write_bytes(b"a" * 100)
    blobs = BlobStore(open_storage(str(tmp_path / "shelf")), cache=LocalCache(tmp_path / "c"))
    blobs.put_tree(src)
    blobs.put_tree(src, repair=True)  # skips the manifest shortcut, so the memo is consulted
    assert blobs.last_put.hashed_files == 0
