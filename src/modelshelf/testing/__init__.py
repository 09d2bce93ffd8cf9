"""Conformance kits shipped with modelshelf, for anyone writing a backend.

Subclass a kit in a pytest test module and supply the fixture it names::

    import pytest
    from modelshelf.storage import open_storage
    from modelshelf.testing import StorageTests

    class TestMyBackend(StorageTests):
        @pytest.fixture
        def storage(self, tmp_path):
            return open_storage(f"mybackend://{tmp_path.name}")

The kits are plain classes: importing this package does not import pytest, but running
the tests needs pytest (they are collected and driven by it).
"""

from __future__ import annotations

from typing import Any

from modelshelf.testing._storage import StorageTests

__all__ = ["BlobStoreTests", "StorageTests"]


def __getattr__(name: str) -> Any:
    # BlobStoreTests uses pytest fixtures at class level, so it loads (with pytest) on demand.
    if name == "BlobStoreTests":
        from modelshelf.testing._cas import BlobStoreTests

        return BlobStoreTests
    raise AttributeError(f"module 'modelshelf.testing' has no attribute {name!r}")
