"""Fixtures shared by tests/runs and tests/uri: a shelf per backend, clean fluent state,
and a storage wrapper that counts what is read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from modelshelf._shelf import Shelf, reset_shelf, set_shelf
from modelshelf.runs import RunsClient, _fluent


@pytest.fixture(autouse=True)
def _clean_fluent_state() -> Iterator[None]:
    reset_shelf()
    _fluent._reset()
    yield
    _fluent._reset()
    reset_shelf()


@pytest.fixture
def shelf_obj(shelf: tuple[str, dict[str, Any]]) -> Shelf:
    """A fresh Shelf on the current backend, also made the current shelf."""
    url, options = shelf
    opened = Shelf(url, **options)
    set_shelf(opened)
    return opened


@pytest.fixture
def client(shelf_obj: Shelf) -> RunsClient:
    return RunsClient(shelf_obj)


@pytest.fixture
def local_shelf(tmp_path: Path) -> Shelf:
    """A local shelf (for tests that need not run on every backend)."""
    opened = Shelf(str(tmp_path / "shelf"))
    set_shelf(opened)
    return opened


class ReadCounter:
    """Counts reads of blob keys (``objects/…``) and of all keys through a shelf's storage."""

    def __init__(self, shelf: Shelf) -> None:
        self.blob_reads: list[str] = []
        self.all_reads: list[str] = []
        storage = shelf.storage
        self._storage = storage
        self._saved = {
            n: getattr(storage, n)
            for n in (
                "read",
                "read_many",
                "download",
                "open_read",
                "list",
                "exists",
                "exists_many",
                "stat",
            )
        }

        def note(keys: list[str]) -> None:
            self.all_reads += keys
            self.blob_reads += [k for k in keys if k.startswith("objects/")]

        def wrap(name: str, keys_of: Any) -> Any:
            original = self._saved[name]

            def wrapped(*args: Any, **kwargs: Any) -> Any:
                note(keys_of(*args))
                return original(*args, **kwargs)

            return wrapped

        storage.read = wrap("read", lambda key: [key])  # type: ignore[method-assign]
        storage.open_read = wrap("open_read", lambda key: [key])  # type: ignore[method-assign]
        storage.read_many = wrap("read_many", lambda keys: list(keys))  # type: ignore[method-assign]
        storage.download = wrap("download", lambda pairs: [k for k, _ in pairs])  # type: ignore[method-assign]
        storage.list = wrap("list", lambda prefix="": [f"list:{prefix}"])  # type: ignore[method-assign]
        storage.exists = wrap("exists", lambda key: [f"exists:{key}"])  # type: ignore[method-assign]
        storage.exists_many = wrap("exists_many", lambda keys: [f"exists:{k}" for k in keys])  # type: ignore[method-assign]
        storage.stat = wrap("stat", lambda key: [f"stat:{key}"])  # type: ignore[method-assign]

    def restore(self) -> None:
        for name, original in self._saved.items():
            setattr(self._storage, name, original)


class Offline:
    """Makes every storage call of a shelf fail as an unreachable backend would."""

    NAMES = (
        "read",
        "read_many",
        "download",
        "open_read",
        "list",
        "exists",
        "exists_many",
        "stat",
        "write",
        "upload",
    )

    def __init__(self, shelf: Shelf) -> None:
        from modelshelf.errors import StorageError

        self._storage = shelf.storage
        self._saved = {n: getattr(self._storage, n) for n in self.NAMES}

        def fail(*args: Any, **kwargs: Any) -> Any:
            raise StorageError("connection refused (test: the shelf is offline)")

        for name in self.NAMES:
            setattr(self._storage, name, fail)

    def restore(self) -> None:
        for name, original in self._saved.items():
            setattr(self._storage, name, original)
