"""Helpers for the registry tests: a read-counting storage, a storage that ignores
create-if-absent, and small model folders."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import BinaryIO

from modelshelf.errors import ObjectNotFoundError
from modelshelf.storage import ObjectInfo, Storage


class WrappedStorage(Storage):
    """Delegates to ``inner``; subclasses change one behaviour."""

    def __init__(self, inner: Storage) -> None:
        self.inner = inner
        self.url = inner.url
        self.capabilities = inner.capabilities

    def read(self, key: str) -> bytes:
        return self.inner.read(key)

    def open_read(self, key: str) -> BinaryIO:
        return self.inner.open_read(key)

    def write(self, key: str, data: bytes, *, overwrite: bool = False) -> None:
        self.inner.write(key, data, overwrite=overwrite)

    def exists(self, key: str) -> bool:
        return self.inner.exists(key)

    def exists_many(self, keys: Iterable[str]) -> set[str]:
        return self.inner.exists_many(keys)

    def read_many(self, keys: Iterable[str]) -> dict[str, bytes | None]:
        return self.inner.read_many(keys)

    def stat(self, key: str) -> ObjectInfo:
        return self.inner.stat(key)

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        return self.inner.list(prefix)

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def upload(self, pairs: Sequence[tuple[str, str]]) -> None:
        self.inner.upload(pairs)

    def download(self, pairs: Sequence[tuple[str, str]]) -> None:
        self.inner.download(pairs)

    def local_path(self, key: str) -> str | None:
        return self.inner.local_path(key)


class CountingStorage(WrappedStorage):
    """Counts every object read (each key of a batched read counts once) and every list."""

    def __init__(self, inner: Storage) -> None:
        super().__init__(inner)
        self.reads: Counter[str] = Counter()
        self.lists: list[str] = []
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.reads.clear()
            self.lists.clear()

    @property
    def total(self) -> int:
        return sum(self.reads.values())

    def _count(self, keys: Iterable[str]) -> None:
        with self._lock:
            self.reads.update(keys)

    def read(self, key: str) -> bytes:
        self._count([key])
        return self.inner.read(key)

    def open_read(self, key: str) -> BinaryIO:
        self._count([key])
        return self.inner.open_read(key)

    def read_many(self, keys: Iterable[str]) -> dict[str, bytes | None]:
        keys = list(keys)
        self._count(keys)
        return self.inner.read_many(keys)

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        with self._lock:
            self.lists.append(prefix)
        return self.inner.list(prefix)


class OverwritingStorage(WrappedStorage):
    """A backend that silently ignores create-if-absent (like s3rver or old S3 clones)."""

    def write(self, key: str, data: bytes, *, overwrite: bool = False) -> None:
        self.inner.write(key, data, overwrite=True)


def make_model_dir(root: Path, content: str = "weights") -> Path:
    """A tiny model folder with two files."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "MLmodel").write_text("flavors: {}\n")
    (root / "model.bin").write_text(content)
    return root


def read_or_none(storage: Storage, key: str) -> bytes | None:
    try:
        return storage.read(key)
    except ObjectNotFoundError:
        return None


__all__ = ["CountingStorage", "OverwritingStorage", "WrappedStorage", "make_model_dir"]
