"""Every backend passes the shipped conformance kit unchanged."""

from __future__ import annotations

from modelshelf.testing import StorageTests


class TestStorageConformance(StorageTests):
    """:class:`StorageTests` on every backend, via the ``storage`` fixture (tests/_servers.py)."""
