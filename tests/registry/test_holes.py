"""The log never forks: a writer never creates a commit into a hole, readers name the hole,
and ``verify`` names the missing commit, a damaged hint and a fork made by an older writer."""

from __future__ import annotations

import json
import multiprocessing as mp
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from modelshelf._shelf import Shelf
from modelshelf.cas import BlobStore, LocalCache
from modelshelf.errors import IntegrityError, LogHoleError
from modelshelf.gc import plan_gc
from modelshelf.registry import RegistryClient
from modelshelf.registry._log import HINT_KEY, PROBE, encode_commit, log_key, sha256_hex
from modelshelf.registry._replica import clear_replicas
from modelshelf.storage import Storage, open_storage
from tests._servers import ShelfFactory, backend_param
from tests.registry._helpers import CountingStorage, WrappedStorage, make_model_dir

HOLE_BACKENDS = [backend_param("local"), backend_param("moto")]


def _log_keys(storage: Storage) -> list[str]:
    return sorted(info.key for info in storage.list("registry/log/"))


def _filled(
    url: str, options: dict[str, Any], model_dir: Path, versions: int, **kwargs: Any
) -> RegistryClient:
    """A registry whose log holds ``1 + versions`` commits (create_model, then versions)."""
    client = RegistryClient(url, **options, **kwargs)
    client.create_registered_model("m")
    for _ in range(versions):
        client.create_model_version("m", str(model_dir))
    return client


@pytest.mark.parametrize("backend", HOLE_BACKENDS)
def test_a_cold_writer_refuses_to_write_into_a_hole(
    backend: str, shelf_factory: ShelfFactory, model_dir: Path
) -> None:
    url, options = shelf_factory(backend)
    client = _filled(url, options, model_dir, 4)  # commits 1..5
    storage = client.shelf.storage
    storage.delete(log_key(3))
    before = _log_keys(storage)
    clear_replicas()  # a new process: hint (none yet), then commits 1, 2, and 3 is absent
    writer = RegistryClient(url, **options)
    with pytest.raises(LogHoleError, match=r"commit 3 .*00000000000000000003\.json.* missing") as e:
        writer.create_model_version("m", str(model_dir))
    assert (e.value.missing, e.value.next_present) == (3, 4)
    assert isinstance(e.value, IntegrityError) and isinstance(e.value, ValueError)
    assert "modelshelf repair" in str(e.value)
    assert _log_keys(storage) == before  # no second commit 3, nothing else either
    with pytest.raises(LogHoleError, match="commit 3"):  # readers say so too, not "chain"
        writer.get_registered_model("m")


@pytest.mark.parametrize("backend", HOLE_BACKENDS)
def test_a_warm_writer_does_not_take_a_deleted_commit_for_the_end(
    backend: str, shelf_factory: ShelfFactory, model_dir: Path
) -> None:
    url, options = shelf_factory(backend)
    warm = _filled(url, options, model_dir, 1)  # commits 1..2, this replica is at 2
    clear_replicas()
    other = RegistryClient(url, **options)  # another replica, as in another process
    for _ in range(3):  # commits 3..5 by "another process"
        other.set_registered_model_tag("m", "k", str(time.time_ns()))
    storage = warm.shelf.storage
    storage.delete(log_key(3))
    before = _log_keys(storage)
    with pytest.raises(LogHoleError, match="commit 3"):
        warm.set_registered_model_alias("m", "champion", 1)
    assert _log_keys(storage) == before


def test_every_hole_within_the_probe_is_seen(tmp_path: Path, model_dir: Path) -> None:
    """Holes of several lengths, each followed by a tail at least as long."""
    url = str(tmp_path / "shelf")
    client = _filled(url, {}, model_dir, 0, checkpoint_interval=0)
    for i in range(2 * 33 + 2):
        client.set_registered_model_tag("m", "k", str(i))
    storage = client.shelf.storage
    head = len(_log_keys(storage))
    for length in (1, 2, 4, 5, 9, 33):
        start = head - 2 * length + 1  # a hole of `length`, then `length` commits after it
        raw = {s: storage.read(log_key(s)) for s in range(start, start + length)}
        for s in raw:
            storage.delete(log_key(s))
        clear_replicas()
        with pytest.raises(LogHoleError) as e:
            RegistryClient(url).set_registered_model_tag("m", "k", "x")
        assert e.value.missing == start, length
        assert len(_log_keys(storage)) == head - length
        for s, data in raw.items():
            storage.write(log_key(s), data)
    clear_replicas()
    RegistryClient(url).set_registered_model_tag("m", "k", "after")  # whole again: writes work


def test_a_checkpoint_past_the_end_proves_a_hole(tmp_path: Path, model_dir: Path) -> None:
    url = str(tmp_path / "shelf")
    client = _filled(url, {}, model_dir, 3)  # commits 1..4
    assert client._reg_write_checkpoint() == 4  # the hint names checkpoint 4
    storage = client.shelf.storage
    storage.delete(log_key(4))  # the newest commit: nothing after it in the log
    clear_replicas()
    with pytest.raises(LogHoleError, match="checkpoint 4") as e:
        RegistryClient(url).create_model_version("m", str(model_dir))
    assert (e.value.missing, e.value.next_present) == (4, None)
    assert _log_keys(storage) == [log_key(s) for s in (1, 2, 3)]


def test_a_leading_hint_alone_is_not_a_hole(tmp_path: Path, model_dir: Path) -> None:
    url = str(tmp_path / "shelf")
    client = _filled(url, {}, model_dir, 1)
    storage = client.shelf.storage
    storage.write(HINT_KEY, json.dumps({"seq": 90}).encode(), overwrite=True)
    clear_replicas()
    writer = RegistryClient(url)
    assert writer.create_model_version("m", str(model_dir)).version == 2  # the log decides
    report = writer.verify()
    assert [p.key for p in report.problems] == [HINT_KEY]
    assert "beyond the log's head 3" in str(report)


def test_the_hot_path_never_lists_and_probes_in_one_round(tmp_path: Path, model_dir: Path) -> None:
    url = str(tmp_path / "shelf")
    _filled(url, {}, model_dir, 1)
    clear_replicas()
    storage = CountingStorage(open_storage(url))
    client = RegistryClient(_shelf_on(url, storage, tmp_path / "cache"))
    client.set_registered_model_tag("m", "k", "0")  # cold
    storage.reset()
    client.set_registered_model_tag("m", "k", "1")  # warm: the next seq and the probe
    assert storage.lists == []
    assert set(storage.reads) == {log_key(4)} | {log_key(4 + d) for d in PROBE}
    storage.reset()
    client.get_registered_model("m")  # warm reads pay one read, as before
    assert storage.total == 1 and storage.lists == []


class _RacyStorage(WrappedStorage):
    """Answers one batched read as if commit ``seq`` were created just after it was read."""

    def __init__(self, inner: Storage, key: str) -> None:
        super().__init__(inner)
        self.key: str | None = key

    def read_many(self, keys: Any) -> dict[str, bytes | None]:
        got = self.inner.read_many(keys)
        if self.key in got:
            got[self.key], self.key = None, None
        return got


def test_a_commit_created_during_the_probe_is_not_a_hole(tmp_path: Path, model_dir: Path) -> None:
    url = str(tmp_path / "shelf")
    _filled(url, {}, model_dir, 3)
    clear_replicas()
    racy = _RacyStorage(open_storage(url), log_key(2))
    client = RegistryClient(_shelf_on(url, racy, tmp_path / "cache"))
    assert racy.key is not None
    assert client.create_model_version("m", str(model_dir)).version == 4
    assert racy.key is None  # the race was seen, and resolved by reading commit 2 again


def test_verify_names_the_missing_commits_and_a_damaged_hint(
    tmp_path: Path, model_dir: Path
) -> None:
    url = str(tmp_path / "shelf")
    client = _filled(url, {}, model_dir, 6)  # commits 1..7
    client._reg_write_checkpoint()
    storage = client.shelf.storage
    for seq in (2, 5, 6):
        storage.delete(log_key(seq))
    storage.write(HINT_KEY, b"{not json", overwrite=True)
    report = client.verify()
    assert [(p.seq, p.key) for p in report.problems] == [
        (2, log_key(2)),
        (5, log_key(5)),
        (None, HINT_KEY),
    ]
    text = str(report)
    assert "commit 2 is missing but commit 3 exists" in text
    assert "commits 5..6 are missing but commit 7 exists" in text
    assert "the _latest hint is damaged" in text


def test_verify_names_a_fork_an_older_writer_made(tmp_path: Path, model_dir: Path) -> None:
    url = str(tmp_path / "shelf")
    client = _filled(url, {}, model_dir, 4)  # commits 1..5
    storage = client.shelf.storage
    actions = json.loads(storage.read(log_key(3)))["actions"]
    storage.delete(log_key(3))
    # what modelshelf did before holes were checked: a second "version 2", onto commit 2
    prev = sha256_hex(storage.read(log_key(2)))
    later = int(time.time() * 1000) + 1000
    storage.write(log_key(3), encode_commit(3, prev, actions, time_ms=later, nonce="f" * 32))
    report = client.verify()
    assert [(p.seq, p.key) for p in report.problems] == [(3, log_key(3))]
    assert "history forked at commit 3" in str(report)


def _shelf_on(url: str, storage: Storage, cache: Path) -> Shelf:
    shelf = Shelf(url, cache_dir=str(cache))
    shelf.storage = storage
    shelf.blobs = BlobStore(storage, cache=LocalCache(cache))
    return shelf


def test_history_and_gc_refuse_a_hole(tmp_path: Path) -> None:
    """Marking from a state that stops at a hole would sweep the files of later versions."""
    url = str(tmp_path / "shelf")
    client = RegistryClient(url)
    client.create_registered_model("m")
    for i in range(4):  # commits 2..5, each version with its own bytes
        client.create_model_version("m", str(make_model_dir(tmp_path / f"v{i}", f"w{i}")))
    client.shelf.storage.delete(log_key(3))
    with pytest.raises(LogHoleError, match="commit 3"):
        client.get_registry_history("m")
    with pytest.raises(LogHoleError, match="commit 3"):
        plan_gc(client.shelf, grace=timedelta(0))


def test_processes_writing_while_a_commit_is_deleted_never_fork(tmp_path: Path) -> None:
    """Four processes load cold and write in a loop while a commit in the middle is deleted:
    none re-creates it, and the log keeps one chain with exactly that hole."""
    from tests.registry import _workers

    url = str(tmp_path / "shelf")
    RegistryClient(url, checkpoint_interval=0).create_registered_model("m")
    clear_replicas()
    victim = 6
    with mp.get_context("spawn").Pool(4) as pool:
        start_at = time.time() + 3.0  # after the children imported modelshelf
        jobs = [
            pool.apply_async(_workers.cold_writes, (url, {}, 40, w, start_at)) for w in range(4)
        ]
        storage = open_storage(url)
        deadline = time.monotonic() + 60
        while not storage.exists(log_key(victim + 4)) and time.monotonic() < deadline:
            time.sleep(0.005)
        storage.delete(log_key(victim))
        results = [job.get(timeout=120) for job in jobs]
    assert sum(refused for _, _, refused in results) > 0
    assert not storage.exists(log_key(victim))
    clear_replicas()
    report = RegistryClient(url).verify()
    assert [(p.seq, p.key) for p in report.problems] == [(victim, log_key(victim))], str(report)


@pytest.mark.parametrize("backend", HOLE_BACKENDS)
def test_a_cold_writer_sees_a_long_hole_whose_tail_misses_the_probe(
    backend: str, shelf_factory: ShelfFactory, model_dir: Path
) -> None:
    """A hole longer than 4 commits followed by a tail that reaches no probe offset, on a log
    too short for a checkpoint or a hint (a partial copy): a new writer must not fork."""
    url, options = shelf_factory(backend)
    client = _filled(url, options, model_dir, 0, checkpoint_interval=0)
    for i in range(11):  # commits 2..12
        client.set_registered_model_tag("m", "k", str(i))
    storage = client.shelf.storage
    for start, length in ((6, 5), (6, 6), (5, 6)):
        kept = range(start + length, 13)  # commits start..start+length-1 go, these stay
        # neither the cold load's first batch (1..8, then 9, 17, …) nor the probe sees them
        assert not any(start + d in kept for d in PROBE) and 9 not in kept
        raw = {s: storage.read(log_key(s)) for s in range(start, start + length)}
        for s in raw:
            storage.delete(log_key(s))
        assert not storage.exists(HINT_KEY)
        before = _log_keys(storage)
        clear_replicas()  # a new process
        with pytest.raises(LogHoleError) as e:
            RegistryClient(url, **options).set_registered_model_tag("m", "k", "fork")
        assert (e.value.missing, e.value.next_present) == (start, start + length), length
        assert _log_keys(storage) == before  # nothing created into the hole
        for s, data in raw.items():
            storage.write(log_key(s), data)
    clear_replicas()
    RegistryClient(url, **options).set_registered_model_tag("m", "k", "after")
