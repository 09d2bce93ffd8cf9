"""Large files stream: a put/get of a file far bigger than the memory budget stays under it.

SeaweedFS runs in its own process, so tracemalloc sees only our allocations (moto's
in-process server would count the stored object)."""

from __future__ import annotations

import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from modelshelf.cas import BlobStore, LocalCache
from modelshelf.storage import open_storage

SIZE = 320 << 20
BUDGET = 192 << 20  # s3fs holds 4 parts of 16 MiB in flight, plus botocore's copies


def _big_file(path: Path) -> Path:
    chunk = bytes(range(256)) * 4096  # 1 MiB, not all zeros so nothing compresses it away
    with open(path, "wb") as handle:
        for i in range(SIZE // len(chunk)):
            handle.write(chunk[i % 256 :] + chunk[: i % 256])
    return path


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["local", "seaweedfs"])
def test_big_tree_round_trip_in_bounded_memory(
    backend: str, shelf_factory: Any, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    _big_file(src / "weights.bin")
    url, options = shelf_factory(backend)
    store = BlobStore(open_storage(url, **options), cache=LocalCache(tmp_path / "cache"))
    tracemalloc.start()
    try:
        digest = store.put_tree(src)
        _, peak_put = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        reader = BlobStore(store.storage, cache=LocalCache(tmp_path / "cache2"))
        out = reader.get_tree(digest, tmp_path / "out")
        _, peak_get = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (out / "weights.bin").stat().st_size == SIZE
    assert peak_put < BUDGET, f"put peaked at {peak_put >> 20} MiB for a {SIZE >> 20} MiB file"
    assert peak_get < BUDGET, f"get peaked at {peak_get >> 20} MiB for a {SIZE >> 20} MiB file"
