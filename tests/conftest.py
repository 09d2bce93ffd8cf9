"""Shared fixtures: every test gets its own MODELSHELF_* settings and cache directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["tests._servers"]


@pytest.fixture(autouse=True)
def _isolated_settings(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """No test sees the user's MODELSHELF_* variables or writes to ~/.cache/modelshelf."""
    for name in list(os.environ):
        if name.startswith("MODELSHELF_"):
            monkeypatch.delenv(name, raising=False)
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("MODELSHELF_CACHE_DIR", str(cache))
    monkeypatch.setenv("MODELSHELF_PROGRESS", "0")
    return cache
