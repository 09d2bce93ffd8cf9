"""Checkpoints: bounded read cost at 100,000 versions, fallbacks, the local cache."""

from __future__ import annotations

import hashlib
import json
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

import pytest

from modelshelf._shelf import Shelf
from modelshelf.cas import BlobStore, LocalCache
from modelshelf.registry import RegistryClient
from modelshelf.registry._checkpoint import MANIFEST, checkpoint_prefix
from modelshelf.registry._log import HINT_KEY, log_key
from modelshelf.registry._replica import clear_replicas
from modelshelf.registry._state import RegistryState
from modelshelf.storage import open_storage
from tests.registry._helpers import CountingStorage

BIG = 100_000
PER_COMMIT = 10_000


def _bulk_versions(client: RegistryClient, name: str, digest: str, count: int) -> None:
    """Register ``count`` versions in few commits (each commit holds up to 10,000 actions)."""
    done = 0
    while done < count:
        n = min(PER_COMMIT, count - done)

        def plan(state: RegistryState, n: int = n) -> list[dict[str, Any]]:
            first = state.model(name).next_version
            return [
                {
                    "op": "create_version",
                    "name": name,
                    "version": first + i,
                    "digest": digest,
                    "source": f"bulk/{first + i}",
                    "run_id": f"run-{(first + i) % 97}",
                    "tags": {"i": str(first + i)} if (first + i) % 1000 == 0 else {},
                }
                for i in range(n)
            ]

        client._reg_commit(plan)
        done += n


@pytest.fixture(scope="module")
def big_registry(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A local shelf with 100,000 versions, a checkpoint, and a 3-commit tail."""
    root = tmp_path_factory.mktemp("big")
    url = str(root / "shelf")
    client = RegistryClient(url, checkpoint_interval=0)
    client.create_registered_model("big")
    (root / "m").mkdir()
    (root / "m" / "f").write_text("x")
    digest = str(client.shelf.blobs.put_tree(root / "m"))
    _bulk_versions(client, "big", digest, BIG)
    client._reg_write_checkpoint()
    client.set_registered_model_alias("big", "champion", BIG - 5)
    client.set_registered_model_alias("big", "challenger", BIG)
    client.set_registered_model_alias("big", "champion", BIG - 1)
    clear_replicas()
    return url


def _counting_client(url: str, cache: Path) -> tuple[RegistryClient, CountingStorage]:
    storage = CountingStorage(open_storage(url))
    return RegistryClient(counting_shelf(url, storage, cache)), storage


def counting_shelf(url: str, storage: CountingStorage, cache: Path) -> Shelf:
    shelf = Shelf(url, cache_dir=str(cache))
    shelf.storage = storage
    shelf.blobs = BlobStore(storage, cache=LocalCache(cache))
    return shelf


def test_alias_read_cost_is_bounded_at_100k_versions(big_registry: str, tmp_path: Path) -> None:
    client, storage = _counting_client(big_registry, tmp_path / "cache")
    mv = client.get_model_version_by_alias("big", "champion")
    assert mv.version == BIG - 1
    # cold, empty local cache: the hint, the checkpoint's 5 files, and one batch of the tail
    base = 1 + BIG // PER_COMMIT  # create_model, then the bulk commits; the tail is 3 commits
    ckpt = checkpoint_prefix(base)
    assert storage.lists == []  # the log is never listed
    assert set(storage.reads) >= {HINT_KEY, ckpt + MANIFEST, ckpt + "versions.parquet"}
    tail = [k for k in storage.reads if k.startswith("registry/log/")]
    assert log_key(base + 1) in tail and log_key(base + 4) in tail  # 3 commits + the absent one
    assert all(k.startswith(("registry/_latest", ckpt, "registry/log/")) for k in storage.reads)
    assert storage.total <= 1 + 5 + 8, storage.reads
    # warm: one read, of the next (absent) commit
    storage.reset()
    timings = []
    for _ in range(20):
        t = time.perf_counter()
        assert client.get_model_version_by_alias("big", "champion").version == BIG - 1
        timings.append(time.perf_counter() - t)
    assert storage.total == 20 and set(storage.reads) == {log_key(base + 4)}
    assert statistics.median(timings) < 0.05, timings
    # a new process (cold replica) with the checkpoint in the local cache: hint + tail only
    clear_replicas()
    client, storage = _counting_client(big_registry, tmp_path / "cache")
    assert client.get_model_version_by_alias("big", "challenger").version == BIG
    assert not any(k.startswith(ckpt) for k in storage.reads), storage.reads
    assert storage.total <= 1 + 8


def test_search_and_tables_at_scale(big_registry: str, tmp_path: Path) -> None:
    client = RegistryClient(big_registry)
    page = client.search_model_versions("name = 'big' AND run_id = 'run-3'", max_results=5)
    assert len(page) == 5 and page.token
    assert client.registry_table("versions").num_rows == BIG
    assert client.search_model_versions("tags.i = '5000'")[0].version == 5000


def _registry(tmp_path: Path, commits: int, interval: int) -> tuple[str, RegistryClient]:
    url = str(tmp_path / "shelf")
    client = RegistryClient(url, checkpoint_interval=interval)
    client.create_registered_model("m")
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "src" / "f").write_text("x")
    for _ in range(commits - 1):
        client.create_model_version("m", str(tmp_path / "src"))
    return url, client


def test_checkpoints_every_k_commits(tmp_path: Path) -> None:
    url, client = _registry(tmp_path, 12, 5)
    storage = client.shelf.storage
    seqs = sorted({k.key.split("/")[2] for k in storage.list("registry/checkpoints/")})
    assert [int(s) for s in seqs] == [5, 10]
    hint = json.loads(storage.read(HINT_KEY))
    assert hint["seq"] == 10
    manifest = storage.read(checkpoint_prefix(10) + MANIFEST)
    assert hint["manifest"] == hashlib.sha256(manifest).hexdigest()
    tables = {t: client.registry_table(t) for t in ("models", "versions", "aliases", "tags")}
    assert tables["versions"].num_rows == 11 and tables["models"].num_rows == 1


def test_corrupt_checkpoint_falls_back(tmp_path: Path) -> None:
    url, client = _registry(tmp_path, 12, 5)
    expected = [v.version for v in client.search_model_versions("name='m'")]
    storage = client.shelf.storage
    key = checkpoint_prefix(10) + "versions.parquet"
    data = storage.read(key)
    storage.write(key, data[: len(data) // 2], overwrite=True)  # truncated
    shutil.rmtree(client.shelf.blobs.cache.root / "named", ignore_errors=True)
    clear_replicas()
    again = RegistryClient(url)
    assert [v.version for v in again.search_model_versions("name='m'")] == expected
    assert again._reg_replica.loaded_from == 5  # the older checkpoint
    report = again.verify()
    assert not report.ok
    assert any(p.key == checkpoint_prefix(10) and "corrupt" in p.problem for p in report.problems)
    # every checkpoint damaged, and no hint: replay the log from the start
    storage.delete(checkpoint_prefix(5) + MANIFEST)
    storage.delete(HINT_KEY)
    shutil.rmtree(client.shelf.blobs.cache.root / "named", ignore_errors=True)
    clear_replicas()
    third = RegistryClient(url)
    assert [v.version for v in third.search_model_versions("name='m'")] == expected
    assert third._reg_replica.loaded_from is None


def test_corrupt_cached_checkpoint_is_refetched(tmp_path: Path) -> None:
    url, client = _registry(tmp_path, 6, 5)
    clear_replicas()
    RegistryClient(url).get_registered_model("m")  # fills the local cache
    cached = list((client.shelf.blobs.cache.root / "named").rglob("versions.parquet"))
    assert len(cached) == 1
    cached[0].write_bytes(b"garbage")
    clear_replicas()
    again = RegistryClient(url)
    assert len(again.search_model_versions("name='m'")) == 5
    assert again._reg_replica.loaded_from == 5
    assert cached[0].read_bytes() != b"garbage"


def test_hint_may_lag(tmp_path: Path) -> None:
    url, client = _registry(tmp_path, 12, 5)
    client.shelf.storage.write(HINT_KEY, b'{"seq": 5}', overwrite=True)
    clear_replicas()
    again = RegistryClient(url)
    assert len(again.search_model_versions("name='m'")) == 11
    assert again.verify().ok


def test_recreated_shelf_ignores_stale_cached_checkpoint(tmp_path: Path) -> None:
    url, client = _registry(tmp_path, 6, 5)
    clear_replicas()
    RegistryClient(url).get_registered_model("m")  # caches checkpoint 5 locally
    shutil.rmtree(url)
    clear_replicas()
    fresh = RegistryClient(url, checkpoint_interval=5)
    fresh.create_registered_model("other")
    for _ in range(5):
        fresh.create_model_version("other", str(tmp_path / "src"))
    clear_replicas()
    again = RegistryClient(url)
    assert [m.name for m in again.search_registered_models()] == ["other"]
    assert again._reg_replica.loaded_from == 5
