"""The BlobStore conformance kit on every backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from modelshelf.cas import BlobStore, LocalCache
from modelshelf.storage import open_storage
from modelshelf.testing import BlobStoreTests


class TestBlobStore(BlobStoreTests):
    @pytest.fixture
    def blobstore(self, backend: str, shelf_factory: Any, tmp_path: Path) -> BlobStore:
        url, options = shelf_factory(backend)
        return BlobStore(open_storage(url, **options), cache=LocalCache(tmp_path / "cache"))
