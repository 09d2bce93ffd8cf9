"""A local hash memo keyed by (device, inode, size, mtime_ns, ctime_ns).

Unchanged files are not re-hashed when they are logged again, and verified cache entries are
not re-hashed when they are read again. DVC keys its state on (inode, size, mtime) alone, but
mtimes can be set (``cp -p``, archive extraction, reproducible builds), and a deleted file's
inode is reused: a new file with the same inode, size and mtime would inherit the old digest.
The change time (ctime) cannot be set by users and changes on every write, chmod and utime,
so every file is matched on it too: files being logged, and the cache's own blobs and folders
(a new hard link to a blob also changes its ctime; that costs one re-hash, never a wrong answer).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from modelshelf.cas._digest import Digest

__all__ = ["HashState"]

_CHUNK = 400  # (dev, ino) pairs per query: well under SQLite's bound-parameter limit
_Row = tuple[int, int, int, int, int, str]


class HashState:
    """sqlite-backed memo of file digests; every failure degrades to "not cached"."""

    def __init__(self, path: Path, *, prepare: Callable[[], None] | None = None) -> None:
        self._path = path
        self._prepare = prepare
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pending: list[_Row] | None = None

    def _connect(self) -> sqlite3.Connection | None:
        if self._conn is not None:
            return self._conn
        try:
            if self._prepare is not None:
                self._prepare()
            else:
                self._path.parent.mkdir(parents=True, exist_ok=True)
            # Created 0600 here: SQLite gives its -wal and -shm files the database's mode.
            os.close(os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600))
            conn = sqlite3.connect(self._path, timeout=10, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS files (dev INTEGER, ino INTEGER, size INTEGER,"
                " mtime_ns INTEGER, ctime_ns INTEGER, digest TEXT, PRIMARY KEY (dev, ino))"
            )
            self._conn = conn
        except (sqlite3.Error, OSError):
            self._conn = None
        return self._conn

    def get_many(
        self, stats: Iterable[os.stat_result], *, check_ctime: bool = True
    ) -> list[Digest | None]:
        """Digests memoised for these files (None where unknown or changed), in order.

        ``check_ctime=False`` trusts a file whose mtime was put back after an edit: only for
        callers that re-check the bytes some other way.
        """
        stats = list(stats)
        with self._lock:
            conn = self._connect()
            if conn is None:
                return [None] * len(stats)
            found: dict[tuple[int, int], tuple[int, int, int, str]] = {}
            try:
                for start in range(0, len(stats), _CHUNK):
                    chunk = stats[start : start + _CHUNK]
                    marks = ",".join("(?,?)" for _ in chunk)
                    params = [v for st in chunk for v in (st.st_dev, st.st_ino)]
                    for dev, ino, size, mtime, ctime, digest in conn.execute(
                        "SELECT dev, ino, size, mtime_ns, ctime_ns, digest FROM files"
                        f" WHERE (dev, ino) IN (VALUES {marks})",
                        params,
                    ):
                        found[(dev, ino)] = (size, mtime, ctime, digest)
            except sqlite3.Error:
                return [None] * len(stats)
        out: list[Digest | None] = []
        for st in stats:
            row = found.get((st.st_dev, st.st_ino))
            same = row is not None and row[:2] == (st.st_size, st.st_mtime_ns)
            if same and check_ctime:
                same = row is not None and row[2] == st.st_ctime_ns
            out.append(Digest(row[3]) if same and row is not None else None)
        return out

    def get(self, st: os.stat_result, *, check_ctime: bool = True) -> Digest | None:
        return self.get_many([st], check_ctime=check_ctime)[0]

    def put_many(self, items: Iterable[tuple[os.stat_result, Digest]]) -> None:
        rows = [
            (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, digest.hex)
            for st, digest in items
        ]
        if not rows:
            return
        with self._lock:
            if self._pending is not None:
                self._pending.extend(rows)
                return
        self._write(rows)

    def put(self, st: os.stat_result, digest: Digest) -> None:
        self.put_many([(st, digest)])

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

    def _write(self, rows: list[_Row]) -> None:
        if not rows:
            return
        with self._lock:
            conn = self._connect()
            if conn is None:
                return
            try:
                with conn:
                    conn.executemany(
                        "INSERT OR REPLACE INTO files"
                        " (dev, ino, size, mtime_ns, ctime_ns, digest) VALUES (?, ?, ?, ?, ?, ?)",
                        rows,
                    )
            except sqlite3.Error:
                pass
