"""The body of one racing writer, importable by spawned/forkserver children.

Kept free of pytest and of the test modules so a child process imports little.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from typing import Any

from modelshelf.errors import AlreadyExistsError
from modelshelf.storage import open_storage

BARRIER_TIMEOUT = 120.0

Outcome = tuple[int, int, str, bytes]  # (round, writer, "won" | "lost" | "error: ...", payload)


def race_key(round_no: int) -> str:
    """The key every writer tries to create in round ``round_no``."""
    return f"race/{round_no:04d}"


def race(
    url: str,
    options: dict[str, Any],
    writer: int,
    rounds: int,
    wait: Callable[[], Any],
) -> list[Outcome]:
    """Open a Storage of our own, then per round wait for everyone and create the round's key."""
    storage = open_storage(url, **options)
    storage.exists("race/warm-up")  # connect before the first round, not during it
    outcomes: list[Outcome] = []
    for round_no in range(rounds):
        payload = f"writer={writer} pid={os.getpid()} round={round_no} {uuid.uuid4().hex}".encode()
        wait()
        try:
            storage.write(race_key(round_no), payload)
            outcome = "won"
        except AlreadyExistsError:
            outcome = "lost"
        except Exception as exc:  # noqa: BLE001 - recorded and asserted on by the parent
            outcome = f"error: {type(exc).__name__}: {exc}"
        outcomes.append((round_no, writer, outcome, payload))
    return outcomes


def process_main(
    url: str,
    options: dict[str, Any],
    writer: int,
    rounds: int,
    barrier: Any,
    results: Any,
) -> None:
    """A writer process: race, then put the outcomes (or the crash) on ``results``."""
    try:
        outcomes = race(url, options, writer, rounds, lambda: barrier.wait(BARRIER_TIMEOUT))
    except BaseException as exc:  # noqa: BLE001 - the parent must hear about any failure
        barrier.abort()
        results.put((writer, f"crashed: {type(exc).__name__}: {exc}"))
        return
    results.put((writer, outcomes))
