"""The highest verified head of each shelf, remembered on this machine (rollback detection).

One small JSON file per shelf, mode 0600, under the local cache folder (never on the shelf):
``{"seq": N, "head": "<sha256 hex of commit N>"}``. It only moves forward, also when
several processes advance it at once (they take a lock on ``<file>.lock`` to read and write).
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

__all__ = ["HeadMemory"]


class HeadMemory:
    """Read and advance the remembered head stored at ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def get(self) -> tuple[int, str] | None:
        try:
            body = json.loads(self.path.read_bytes())
            return int(body["seq"]), str(body["head"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, seq: int, head: str) -> None:
        """Remember ``(seq, head)`` unless a higher seq is already remembered."""
        known = self.get()
        if known is not None and known[0] >= seq:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            with _locked(self.path.with_name(self.path.name + ".lock")):
                # Read again under the lock: another process may have moved it further
                # since, and putting a lower head over it would hide a later rollback.
                known = self.get()
                if known is not None and known[0] >= seq:
                    return
                tmp = self.path.with_name(f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as handle:
                    json.dump({"head": head, "seq": seq}, handle)
                os.replace(tmp, self.path)
        except OSError:
            pass  # an unwritable cache weakens rollback detection; it must not fail reads


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock between processes (and threads) on ``path``; none where the
    platform has no ``fcntl``."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
