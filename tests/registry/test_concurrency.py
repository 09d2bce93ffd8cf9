"""Many OS processes writing one registry at once, readers polling, writers killed mid-way.

Every backend with a shared store runs these (memory:// is per process, so it cannot).
Children are spawned (not forked): fsspec's async event loops do not survive a fork.
"""

from __future__ import annotations

import multiprocessing as mp
import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from modelshelf.registry import RegistryClient
from modelshelf.registry._replica import clear_replicas
from tests._servers import SERVER_BACKENDS
from tests.registry import _workers
from tests.registry._helpers import make_model_dir

WRITERS = 8
PER_WRITER = 25
SHARED = [pytest.param("local", id="local")] + [
    pytest.param(b, id=b, marks=[pytest.mark.slow, pytest.mark.xdist_group(b)])
    for b in SERVER_BACKENDS
]
_CTX = mp.get_context("spawn")


@pytest.fixture(scope="module")
def pool() -> Iterator[Any]:
    """Eight spawned worker processes, reused by the tests of this module (spawning is slow)."""
    with _CTX.Pool(WRITERS) as workers:
        yield workers


def _summary(request: pytest.FixtureRequest, text: str) -> None:
    request.node.user_properties.append(("storage_summary", text))


def _fresh(url: str, options: dict[str, Any]) -> RegistryClient:
    clear_replicas()
    return RegistryClient(url, **options)


def _run(procs: list[Any], *, timeout: float, start: bool = True) -> None:
    if start:
        for p in procs:
            p.start()
    deadline = time.monotonic() + timeout
    for p in procs:
        p.join(max(0.1, deadline - time.monotonic()))
    alive = [p for p in procs if p.is_alive()]
    for p in alive:
        p.kill()
        p.join()
    assert not alive, f"{len(alive)} writer(s) hung"


@pytest.mark.parametrize("backend_name", SHARED)
def test_concurrent_version_creation(
    backend_name: str,
    shelf_factory: Any,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    pool: Any,
) -> None:
    url, options = shelf_factory(backend_name)
    client = RegistryClient(url, **options)
    client.create_registered_model("race")
    digest = client.shelf.blobs.put_tree(make_model_dir(tmp_path / "m"))
    start_at = time.time() + 1.0
    pending = pool.starmap_async(
        _workers.create_versions,
        [(url, options, "race", str(digest), PER_WRITER, w, start_at) for w in range(WRITERS)],
    )
    started = time.monotonic()
    # Poll as a reader while the writers run: no error, and nothing ever goes backwards.
    reader = RegistryClient(url, **options)
    seen_seq, seen_count, polls = 0, 0, 0
    while not pending.ready() and time.monotonic() - started < 240:
        versions = reader.search_model_versions("name = 'race'")
        seq = reader._reg_state().seq
        assert seq >= seen_seq and len(versions) >= seen_count
        assert [v.version for v in versions] == list(range(len(versions), 0, -1))
        seen_seq, seen_count, polls = seq, len(versions), polls + 1
        time.sleep(0.1)  # leave the CPUs (and an in-process moto) to the writers
    reports = pending.get(timeout=60)
    elapsed = time.monotonic() - started - 1.0
    got = {w: ns for w, ns, _ in reports}
    conflicts = sum(c for _, _, c in reports)
    numbers = sorted(n for ns in got.values() for n in ns)
    assert numbers == list(range(1, WRITERS * PER_WRITER + 1))  # none lost, none duplicated
    for ns in got.values():
        assert ns == sorted(ns)
    fresh = _fresh(url, options)
    versions = fresh.search_model_versions("name = 'race'", max_results=1000)
    assert sorted(v.version for v in versions) == numbers
    by_writer = {v.version: v.tags["writer"] for v in versions}
    assert all(by_writer[n] == str(w) for w, ns in got.items() for n in ns)
    report = fresh.verify()
    assert report.ok, str(report)
    assert report.commits == 1 + WRITERS * PER_WRITER
    _summary(
        request,
        f"registry race [{backend_name}]: {WRITERS} processes x {PER_WRITER} "
        f"create_model_version -> versions 1..{len(numbers)}, 0 lost, 0 duplicated, "
        f"chain valid; {conflicts} lost races retried; reader polled {polls}x, never "
        f"backwards; {elapsed:.1f}s",
    )


@pytest.mark.parametrize("backend_name", SHARED)
def test_concurrent_alias_moves(
    backend_name: str,
    shelf_factory: Any,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    pool: Any,
) -> None:
    url, options = shelf_factory(backend_name)
    client = RegistryClient(url, **options)
    client.create_registered_model("m")
    source = str(make_model_dir(tmp_path / "m"))
    for _ in range(5):
        client.create_model_version("m", source)
    writers, moves = WRITERS, 10
    start_at = time.time() + 0.5
    done = dict(
        pool.starmap(
            _workers.move_aliases,
            [(url, options, "m", 5, moves, w, start_at) for w in range(writers)],
        )
    )
    fresh = _fresh(url, options)
    history = [c for c in fresh.get_registry_history("m") if c.action == "set_alias"]
    # The final state is what the log says: the last set of each alias wins.
    expected: dict[str, int] = {}
    for change in history:
        assert change.key is not None
        expected[change.key] = int(change.new)
    assert fresh.get_registered_model("m").aliases == expected
    # Every acknowledged move is in the log, unless it was a no-op (already pointing there).
    logged = sum(1 for c in history)
    assert logged <= writers * moves
    for w, own in done.items():
        mine = [t for a, t in own if a == f"w{w}"]
        if mine:
            assert expected[f"w{w}"] == mine[-1]
    old_values = {}
    for change in history:  # old -> new chains without gaps
        assert change.old == old_values.get(change.key)
        old_values[change.key] = change.new
    assert fresh.verify().ok
    _summary(
        request,
        f"registry aliases [{backend_name}]: {writers} processes x {moves} moves "
        f"-> {logged} logged, final state = log",
    )


@pytest.mark.parametrize("backend_name", SHARED)
def test_sigkill_writers_leave_a_readable_registry(
    backend_name: str, shelf_factory: Any, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url, options = shelf_factory(backend_name)
    client = RegistryClient(url, **options)
    client.create_registered_model("m")
    source = str(make_model_dir(tmp_path / "m"))
    points = ["after_blobs", "before_commit", "after_commit", "during_checkpoint", "before_hint"]
    rng = random.Random(7)
    procs = [
        _CTX.Process(
            target=_workers.crashing_writer,
            args=(url, options, "m", source, point, rng.randint(2, 6), 2, i),
        )
        for i, point in enumerate(points)
    ]
    # One more writer that never crashes by itself: killed from outside at a random moment.
    victim = _CTX.Process(
        target=_workers.crashing_writer, args=(url, options, "m", source, "never", 1, 2, 99)
    )
    for p in procs + [victim]:
        p.start()
    time.sleep(rng.uniform(1.5, 3.0) + (2.0 if backend_name != "local" else 0.0))
    victim.kill()
    _run(procs, timeout=120, start=False)
    victim.join()
    assert all(p.exitcode == -signal.SIGKILL for p in procs), [p.exitcode for p in procs]
    fresh = _fresh(url, options)
    versions = fresh.search_model_versions("name = 'm'", max_results=1000)
    numbers = sorted(v.version for v in versions)
    assert numbers == list(range(1, len(numbers) + 1))
    report = fresh.verify(deep=True)
    assert report.ok, str(report)
    nxt = fresh.create_model_version("m", source)
    assert nxt.version == len(numbers) + 1
    live = fresh.get_registered_model("m").aliases.get("live")
    assert live is None or 1 <= live <= len(numbers)
    _summary(
        request,
        f"registry SIGKILL [{backend_name}]: 6 writers killed at {points} + random "
        f"-> {len(numbers)} versions, verify ok ({len(report.notes)} note(s))",
    )
