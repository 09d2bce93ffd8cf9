"""Pins on a shelf whose folder ignores case (macOS, Windows): ``Prod`` and ``prod`` are one
key there, so pinning or unpinning one must never move or remove the other."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pytest

from modelshelf._shelf import Shelf
from modelshelf.cas import BlobStore, LocalCache
from modelshelf.errors import AlreadyExistsError, NotFoundError
from modelshelf.gc import list_pins, pin, unpin
from modelshelf.storage import Storage, open_storage
from tests.registry._helpers import WrappedStorage


class _CaseInsensitivePins(WrappedStorage):
    """A local shelf as a case-insensitive filesystem shows it, for ``pins/``: a key names the
    object whose key differs only in case, which keeps the case it was created with."""

    def _actual(self, key: str) -> str:
        if key.startswith("pins/"):
            for info in self.inner.list("pins/"):
                if info.key.casefold() == key.casefold():
                    return info.key
        return key

    def read(self, key: str) -> bytes:
        return self.inner.read(self._actual(key))

    def write(self, key: str, data: bytes, *, overwrite: bool = False) -> None:
        self.inner.write(self._actual(key), data, overwrite=overwrite)

    def exists(self, key: str) -> bool:
        return self.inner.exists(self._actual(key))

    def exists_many(self, keys: Iterable[str]) -> set[str]:
        return {k for k in keys if self.exists(k)}

    def read_many(self, keys: Iterable[str]) -> dict[str, bytes | None]:
        wanted = list(keys)
        got = self.inner.read_many([self._actual(k) for k in wanted])
        return {k: got.get(self._actual(k)) for k in wanted}

    def delete(self, key: str) -> None:
        self.inner.delete(self._actual(key))


def _shelf(tmp_path: Path) -> tuple[Shelf, Storage]:
    url = str(tmp_path / "shelf")
    storage = _CaseInsensitivePins(open_storage(url))
    shelf = Shelf(url, cache_dir=str(tmp_path / "cache"))
    shelf.storage = storage
    shelf.blobs = BlobStore(storage, cache=LocalCache(tmp_path / "cache"))
    return shelf, storage


def test_pins_differing_only_in_case_never_replace_each_other(tmp_path: Path) -> None:
    shelf, _ = _shelf(tmp_path)
    kept = shelf.blobs.put_bytes(os.urandom(64))
    other = shelf.blobs.put_bytes(os.urandom(64))
    pin(shelf, kept, "Prod")
    for replace in (False, True):
        with pytest.raises(AlreadyExistsError, match="'Prod'.*differ only in case"):
            pin(shelf, other, "prod", replace=replace)
    with pytest.raises(NotFoundError, match="'Prod'"):
        unpin(shelf, "prod")
    assert list_pins(shelf) == {"Prod": kept}
    unpin(shelf, "Prod")
    assert list_pins(shelf) == {}
