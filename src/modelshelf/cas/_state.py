"""A local hash cache keyed by (device, inode, size, mtime_ns), as DVC's state does.

Unchanged files are not re-hashed when they are logged again, and verified cache entries are
not re-hashed when they are read again. Any change to a file changes its mtime or size (or its
inode, on replace), which misses the cache and forces a re-hash.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from modelshelf.cas._digest import Digest

__all__ = ["HashState"]

_CHUNK = 400  # (dev, ino) pairs per query: well under SQLite's bound-parameter limit


class HashState:
    """sqlite-backed memo of file digests; every failure degrades to "not cached"."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pending: list[tuple[int, int, int, int, str]] | None = None

    def _connect(self) -> sqlite3.Connection | None:
        if self._conn is not None:
            return self._conn
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self._path, timeout=10, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS state (dev INTEGER, ino INTEGER, size INTEGER,"
                " mtime_ns INTEGER, digest TEXT, PRIMARY KEY (dev, ino))"
            )
            self._conn = conn
        except sqlite3.Error:
            self._conn = None
        return self._conn

    @staticmethod
    def _key(st: os.stat_result) -> tuple[int, int, int, int]:
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)

    def get_many(self, stats: Iterable[os.stat_result]) -> list[Digest | None]:
        """Digests memoised for these files (None where unknown or changed), in order."""
        keys = [self._key(st) for st in stats]
        with self._lock:
            conn = self._connect()
            if conn is None:
                return [None] * len(keys)
            found: dict[tuple[int, int], tuple[int, int, str]] = {}
            try:
                for start in range(0, len(keys), _CHUNK):
                    chunk = keys[start : start + _CHUNK]
                    marks = ",".join("(?,?)" for _ in chunk)
                    params = [v for dev, ino, _, _ in chunk for v in (dev, ino)]
                    for dev, ino, size, mtime, digest in conn.execute(
                        "SELECT dev, ino, size, mtime_ns, digest FROM state"
                        f" WHERE (dev, ino) IN (VALUES {marks})",
                        params,
                    ):
                        found[(dev, ino)] = (size, mtime, digest)
            except sqlite3.Error:
                return [None] * len(keys)
        out: list[Digest | None] = []
        for dev, ino, size, mtime in keys:
            row = found.get((dev, ino))
            out.append(Digest(row[2]) if row and row[:2] == (size, mtime) else None)
        return out

    def get(self, st: os.stat_result) -> Digest | None:
        return self.get_many([st])[0]

    def put_many(self, items: Iterable[tuple[os.stat_result, Digest]]) -> None:
        rows = [(*self._key(st), digest.hex) for st, digest in items]
        if not rows:
            return
        with self._lock:
            if self._pending is not None:
                self._pending.extend(rows)
                return
        self._write(rows)

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """Collect memo writes and store them in one transaction at the end (many small files)."""
        with self._lock:
            outer = self._pending is not None
            if not outer:
                self._pending = []
        try:
            yield
        finally:
            if not outer:
                with self._lock:
                    rows, self._pending = self._pending or [], None
                self._write(rows)

    def _write(self, rows: list[tuple[int, int, int, int, str]]) -> None:
        if not rows:
            return
        with self._lock:
            conn = self._connect()
            if conn is None:
                return
            try:
                with conn:
                    conn.executemany(
                        "INSERT OR REPLACE INTO state (dev, ino, size, mtime_ns, digest)"
                        " VALUES (?, ?, ?, ?, ?)",
                        rows,
                    )
            except sqlite3.Error:
                pass

    def put(self, st: os.stat_result, digest: Digest) -> None:
        self.put_many([(st, digest)])
