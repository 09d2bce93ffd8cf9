"""Racing creates: of 8 writers that create the same key at once, exactly one wins.

Writers are OS processes (threads for memory://, whose store lives in one process) that
meet at a barrier before every round and each open their own Storage from (url, options).
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
import time
from typing import Any

from modelshelf.storage import open_storage
from tests.storage import _race_worker
from tests.storage._race_worker import Outcome, race_key

WRITERS = 8
ROUNDS = 50
RESULT_TIMEOUT = 240.0

# Children come from a forkserver: forking pytest itself would copy live event-loop threads
# (fsspec async filesystems are not fork-safe once used) and the in-process moto server.
# The server imports the cloud SDKs once (1-2 s each), so the 8 writers need not; importing
# them starts no threads, so forking from it stays safe.
_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(
    ["modelshelf.storage", "tests.storage._race_worker", "s3fs", "gcsfs.core", "adlfs"]
)


def _race_processes(url: str, options: dict[str, Any]) -> list[Outcome]:
    barrier = _CONTEXT.Barrier(WRITERS)
    results = _CONTEXT.Queue()
    processes = [
        _CONTEXT.Process(
            target=_race_worker.process_main,
            args=(url, options, writer, ROUNDS, barrier, results),
            daemon=True,
        )
        for writer in range(WRITERS)
    ]
    for process in processes:
        process.start()
    outcomes: list[Outcome] = []
    problems: list[str] = []
    try:
        for _ in processes:
            writer, got = results.get(timeout=RESULT_TIMEOUT)
            if isinstance(got, str):
                problems.append(f"writer {writer} {got}")
            else:
                outcomes.extend(got)
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
                process.join()
    assert not problems, problems
    return outcomes


def _race_threads(url: str, options: dict[str, Any]) -> list[Outcome]:
    barrier = threading.Barrier(WRITERS)
    results: queue.Queue[list[Outcome]] = queue.Queue()

    def run(writer: int) -> None:
        def wait() -> None:
            barrier.wait(_race_worker.BARRIER_TIMEOUT)

        results.put(_race_worker.race(url, options, writer, ROUNDS, wait))

    threads = [threading.Thread(target=run, args=(writer,)) for writer in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=RESULT_TIMEOUT)
    assert results.qsize() == WRITERS, "a writer thread died"
    return [outcome for _ in threads for outcome in results.get_nowait()]


def test_exactly_one_writer_wins_each_round(
    backend: str, shelf: tuple[str, dict[str, Any]], record_property: Any
) -> None:
    url, options = shelf
    started = time.monotonic()
    if backend == "memory":
        outcomes = _race_threads(url, options)
    else:
        outcomes = _race_processes(url, options)
    elapsed = time.monotonic() - started

    storage = open_storage(url, **options)
    stored = storage.read_many([race_key(round_no) for round_no in range(ROUNDS)])
    errors = [o for o in outcomes if o[2].startswith("error")]
    assert not errors, errors[:5]
    assert len(outcomes) == WRITERS * ROUNDS
    wins = losses = 0
    for round_no in range(ROUNDS):
        this_round = [o for o in outcomes if o[0] == round_no]
        winners = [o for o in this_round if o[2] == "won"]
        losers = [o for o in this_round if o[2] == "lost"]
        assert len(winners) == 1, f"round {round_no}: {len(winners)} winners: {winners}"
        assert len(losers) == WRITERS - 1, f"round {round_no}: {this_round}"
        assert stored[race_key(round_no)] == winners[0][3], f"round {round_no}: wrong bytes"
        wins += len(winners)
        losses += len(losers)

    kind = "threads" if backend == "memory" else "processes"
    summary = (
        f"race[{backend}]: {ROUNDS} rounds x {WRITERS} {kind}: {wins} winners, "
        f"{losses} AlreadyExistsError, 0 errors, {elapsed:.1f}s"
    )
    print(summary)
    record_property("storage_summary", summary)
