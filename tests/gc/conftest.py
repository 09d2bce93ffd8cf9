"""Fixtures for the gc tests: a fresh shelf and Client on memory, local, and (slow) S3."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from modelshelf._shelf import Shelf, reset_shelf
from modelshelf.client import Client
from tests._servers import ShelfFactory, backend_param

GC_BACKENDS = ("memory", "local", "moto", "seaweedfs")


@pytest.fixture(autouse=True)
def _single_writer_gc(monkeypatch: pytest.MonkeyPatch) -> None:
    """No writer runs during these tests unless a test says so: gc may quarantine and delete
    in one execute (window = clock skew = 0). Race tests set their own window."""
    monkeypatch.setenv("MODELSHELF_GC_WINDOW", "0")
    monkeypatch.setenv("MODELSHELF_GC_CLOCK_SKEW", "0")


@pytest.fixture(autouse=True)
def _no_current_shelf() -> Iterator[None]:
    reset_shelf()
    yield
    reset_shelf()


@pytest.fixture(params=[backend_param(name) for name in GC_BACKENDS])
def gc_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def gc_shelf(shelf_factory: ShelfFactory, gc_backend: str) -> tuple[str, dict[str, Any]]:
    return shelf_factory(gc_backend)


@pytest.fixture
def gc_client(gc_shelf: tuple[str, dict[str, Any]]) -> Client:
    url, options = gc_shelf
    return Client(Shelf(url, **options))
