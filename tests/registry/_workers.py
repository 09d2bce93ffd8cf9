"""Functions run in child processes (spawned, so each starts with a clean interpreter)."""

from __future__ import annotations

import os
import random
import signal
import time
from typing import Any

from modelshelf.registry import RegistryClient


def _wait_until(start_at: float) -> None:
    # Pool workers cannot share a Barrier: every writer sleeps until the same instant instead.
    delay = start_at - time.time()
    if delay > 0:
        time.sleep(delay)


def create_versions(
    url: str,
    options: dict[str, Any],
    name: str,
    source: str,
    count: int,
    writer: int,
    start_at: float,
) -> tuple[int, list[int], int]:
    """Create ``count`` versions of ``name``; return the numbers it got and races it lost."""
    client = RegistryClient(url, **options)
    client.get_registered_model(name)  # warm: load the state before the start line
    _wait_until(start_at)
    got = []
    for i in range(count):
        mv = client.create_model_version(name, source, tags={"writer": str(writer), "i": str(i)})
        got.append(mv.version)
    return writer, got, client._reg_replica.conflicts


def move_aliases(
    url: str,
    options: dict[str, Any],
    name: str,
    versions: int,
    moves: int,
    writer: int,
    start_at: float,
) -> tuple[int, list[tuple[str, int]]]:
    """Point ``champion`` (shared) and ``w<writer>`` (own) at random versions."""
    client = RegistryClient(url, **options)
    client.get_registered_model(name)
    rng = random.Random(writer)
    _wait_until(start_at)
    done = []
    for _ in range(moves):
        alias = "champion" if rng.random() < 0.7 else f"w{writer}"
        target = rng.randint(1, versions)
        client.set_registered_model_alias(name, alias, target)
        done.append((alias, target))
    return writer, done


class CrashingClient(RegistryClient):
    """Kills its own process (SIGKILL: no cleanup, no finally) at the n-th ``point``."""

    crash_point = ""
    crash_after = 1

    def _reg_fault(self, point: str) -> None:
        if point == self.crash_point:
            self.crash_after -= 1
            if self.crash_after <= 0:
                os.kill(os.getpid(), signal.SIGKILL)


def crashing_writer(
    url: str,
    options: dict[str, Any],
    name: str,
    source: str,
    point: str,
    after: int,
    interval: int,
    seed: int,
) -> None:
    """Create versions (and move an alias) until the crash point kills the process."""
    client = CrashingClient(url, checkpoint_interval=interval, **options)
    client.crash_point, client.crash_after = point, after
    rng = random.Random(seed)
    for i in range(200):
        mv = client.create_model_version(name, source, tags={"point": point, "i": str(i)})
        if rng.random() < 0.5:
            client.set_registered_model_alias(name, "live", mv.version)
        time.sleep(rng.random() * 0.002)


def cold_writes(
    url: str, options: dict[str, Any], count: int, writer: int, start_at: float
) -> tuple[int, int, int]:
    """Set a tag ``count`` times, loading the registry cold before each write (as a fresh
    process would); return (writer, written, refused because of a hole)."""
    from modelshelf.errors import LogHoleError

    client = RegistryClient(url, checkpoint_interval=0, **options)
    written = refused = 0
    try:  # on a slow machine this child may start after the commit was deleted
        client.get_registered_model("m")
    except LogHoleError:
        refused += 1
    _wait_until(start_at)
    for i in range(count):
        client._reg_forget()
        try:
            client.set_registered_model_tag("m", f"w{writer}", str(i))
            written += 1
        except LogHoleError:
            refused += 1
    return writer, written, refused
