"""The test servers themselves: fail loudly when an emulator is missing, never skip."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import _servers


def test_missing_azurite_fails_with_install_hint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(_servers, "REPO_ROOT", tmp_path)
    with pytest.raises(RuntimeError, match="make install"):
        _servers._azurite_binary()


def test_shelf_factory_gives_fresh_picklable_locations(
    shelf_factory: _servers.ShelfFactory,
) -> None:
    import pickle

    first, second = shelf_factory("memory"), shelf_factory("memory")
    assert first != second
    assert pickle.loads(pickle.dumps(first)) == first
    local_url, local_options = shelf_factory("local")
    assert not Path(local_url).exists() and local_options == {}
    with pytest.raises(ValueError, match="unknown test backend"):
        shelf_factory("ftp")
