"""A local hash cache keyed by (device, inode, size, mtime_ns), as DVC's state does.

Unchanged files are not re-hashed when they are logged again, and verified cache entries are
not re-hashed when they are read again. Any change to a file changes its mtime or size (or its
inode, on replace), which misses the cache and forces a re-hash.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

from modelshelf.cas._digest import Digest

__all__ = ["HashState"]


class HashState:
    """sqlite-backed memo of file digests; every failure degrades to "not cached"."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

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
        stats = list(stats)
        with self._lock:
            conn = self._connect()
            if conn is None:
                return [None] * len(stats)
            out: list[Digest | None] = []
            try:
                for st in stats:
                    dev, ino, size, mtime = self._key(st)
                    row = conn.execute(
                        "SELECT digest FROM state WHERE dev=? AND ino=? AND size=? AND mtime_ns=?",
                        (dev, ino, size, mtime),
                    ).fetchone()
                    out.append(Digest(row[0]) if row else None)
            except sqlite3.Error:
                return [None] * len(stats)
            return out

    def get(self, st: os.stat_result) -> Digest | None:
        return self.get_many([st])[0]

    def put_many(self, items: Iterable[tuple[os.stat_result, Digest]]) -> None:
        rows = [(*self._key(st), digest.hex) for st, digest in items]
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
