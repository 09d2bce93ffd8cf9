"""Fixtures for the registry tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from modelshelf.registry import RegistryClient
from modelshelf.registry._replica import clear_replicas
from tests.registry._helpers import make_model_dir


@pytest.fixture(autouse=True)
def _fresh_replicas() -> Iterator[None]:
    """No test sees another's in-memory registry state."""
    clear_replicas()
    yield
    clear_replicas()


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    return make_model_dir(tmp_path / "model")


@pytest.fixture
def client(tmp_path: Path) -> RegistryClient:
    """A registry on a fresh local shelf."""
    return RegistryClient(str(tmp_path / "shelf"))


@pytest.fixture
def any_client(shelf: tuple[str, dict[str, Any]]) -> RegistryClient:
    """A registry on a fresh shelf of every backend in turn."""
    url, options = shelf
    return RegistryClient(url, **options)
