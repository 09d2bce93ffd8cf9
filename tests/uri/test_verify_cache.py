"""``verify_cache``: re-hash the whole cache, report what was bad, and repair it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")

from modelshelf._shelf import Shelf  # noqa: E402
from modelshelf.uri import local_model_dir, verify_cache  # noqa: E402
from tests.runs._fixtures import Offline  # noqa: E402
from tests.uri.test_cache_trust import Models, _pickle, edit_in_place  # noqa: E402


@pytest.fixture
def models(local_shelf: Shelf) -> Models:
    return Models(local_shelf)


def _flip(data: bytes) -> bytes:
    return bytes([data[0] ^ 1]) + data[1:]


def test_verify_cache_finds_every_bad_entry_and_repairs_it(models: Models) -> None:
    cache = models.shelf.blobs.cache
    one = local_model_dir("models:/m/1")
    local_model_dir("models:/m/2")
    good = {p.name: p.read_bytes() for p in one.iterdir()}
    clean = verify_cache()
    assert clean.ok and clean.bad == 0 and clean.checked > 10 and clean.bytes_checked > 0

    # 1. A blob in no folder (version 2's manifest), edited in place with its mtime put back.
    manifest = cache.path(models.digest[2])  # type: ignore[arg-type]
    edit_in_place(manifest, _flip(manifest.read_bytes()))
    # 2. A file of a cached folder (and so its blob), likewise.
    edit_in_place(_pickle(one), _flip(_pickle(one).read_bytes()))
    # 3. A memo rewritten to name the other version.
    memo = models.memo_path("models:/m/2")
    record = json.loads(memo.read_text())
    record["digest"] = str(models.digest[1])
    memo.write_text(json.dumps(record))
    # 4. A folder's mode opened to everyone.
    os.chmod(cache.root / "resolved", 0o777)

    report = verify_cache()
    assert not report.ok
    text = str(report)
    assert f"blob {models.digest[2]}" in text and "content changed" in text
    assert f"trees/{models.digest[1].hex}" in text  # type: ignore[union-attr]
    assert "memo not authentic" in text and "readable by others" in text
    assert report.bad == len(report.problems) >= 5
    assert report.repaired + report.removed == report.bad
    assert {p.action for p in report.problems} >= {"refetched", "rebuilt", "removed", "fixed"}

    again = verify_cache()
    assert again.ok and again.bad == 0, str(again)
    assert {p.name: p.read_bytes() for p in local_model_dir("models:/m/1").iterdir()} == good
    np.testing.assert_allclose(models.predict("models:/m/1"), models.a)
    np.testing.assert_allclose(models.predict("models:/m/2"), models.b)


def test_verify_cache_works_offline(models: Models) -> None:
    one = local_model_dir("models:/m/1")
    edit_in_place(_pickle(one), _flip(_pickle(one).read_bytes()))
    offline = Offline(models.shelf)
    try:
        report = verify_cache()
    finally:
        offline.restore()
    # The blob and the folder holding it; a local shelf's blobs are still read from disk.
    assert report.bad == 2 and report.repaired + report.removed == 2, str(report)
    assert any("could not be reached" in n for n in report.notes)
    np.testing.assert_allclose(models.predict("models:/m/1"), models.a)  # fetched again


def test_memo_of_a_recreated_shelf_is_corrected(models: Models, tmp_path: Path) -> None:
    """An authentic memo whose URI now names other bytes (the shelf was re-created) is
    rewritten to the shelf's answer."""
    local_model_dir("models:/m/2")
    memo = models.memo_path("models:/m/2")
    from modelshelf.uri._cached import Memo

    cache = models.shelf.blobs.cache
    Memo(cache, models.shelf.url, "models:/m/2").save(
        {"digest": str(models.digest[1]), "immutable": True, "kind": "tree", "name": "x"}
    )
    report = verify_cache()
    assert report.bad == 1 and report.repaired == 1, str(report)
    assert json.loads(memo.read_text())["digest"] == str(models.digest[2])
