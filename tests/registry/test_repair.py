"""Repairing holes: restore only the original bytes from a copy, or truncate into a quarantine
that keeps every moved byte and a record; plan first, change nothing until execute."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from modelshelf.errors import LogHoleError
from modelshelf.registry import RegistryClient
from modelshelf.registry._checkpoint import checkpoint_prefix
from modelshelf.registry._log import HINT_KEY, log_key
from modelshelf.registry._replica import clear_replicas
from modelshelf.storage import Storage
from tests._servers import ShelfFactory, backend_param


def _keys(storage: Storage, prefix: str = "registry/") -> dict[str, bytes]:
    return {i.key: storage.read(i.key) for i in storage.list(prefix)}


def _filled(url: str, model_dir: Path, versions: int, **options: object) -> RegistryClient:
    client = RegistryClient(url, **options)  # type: ignore[arg-type]
    client.create_registered_model("m")
    for _ in range(versions):
        client.create_model_version("m", str(model_dir))
    return client


def test_a_hole_is_restored_from_a_copy_of_the_shelf(tmp_path: Path, model_dir: Path) -> None:
    url = str(tmp_path / "shelf")
    client = _filled(url, model_dir, 4)  # commits 1..5
    backup = tmp_path / "backup"
    shutil.copytree(url, backup)
    storage = client.shelf.storage
    original = storage.read(log_key(3))
    storage.delete(log_key(3))
    storage.delete(log_key(4))
    assert not client.verify().ok
    before = _keys(storage)
    plan = client.plan_repair(str(backup))
    assert plan.holes == [(3, 4)] and plan.ok
    assert [(s.kind, s.key) for s in plan.steps] == [
        ("restore", log_key(3)),
        ("restore", log_key(4)),
    ]
    assert _keys(storage) == before  # a plan changes nothing
    plan.execute()
    assert storage.read(log_key(3)) == original
    assert client.verify().ok
    clear_replicas()
    assert RegistryClient(url).create_model_version("m", str(model_dir)).version == 5


def test_a_copy_with_other_history_restores_nothing(tmp_path: Path, model_dir: Path) -> None:
    url = str(tmp_path / "shelf")
    client = _filled(url, model_dir, 4)
    clear_replicas()
    other = _filled(str(tmp_path / "other"), model_dir, 4)  # same shape, other bytes
    client.shelf.storage.delete(log_key(3))
    before = _keys(client.shelf.storage)
    plan = client.plan_repair(other.shelf)
    assert not plan.ok and plan.steps == []
    assert "commit 3" in plan.unresolved[0] and "not the ones" in plan.unresolved[0]
    assert "--truncate" in plan.unresolved[-1]
    plan.execute()  # nothing to do: still nothing changes
    assert _keys(client.shelf.storage) == before


@pytest.mark.parametrize("backend", [backend_param("local"), backend_param("moto")])
def test_truncate_moves_everything_after_the_hole_into_a_quarantine(
    backend: str, shelf_factory: ShelfFactory, model_dir: Path
) -> None:
    url, options = shelf_factory(backend)
    client = _filled(url, model_dir, 5, checkpoint_interval=4, **options)  # commits 1..6
    storage = client.shelf.storage
    assert storage.exists(checkpoint_prefix(4) + "_manifest.json")
    storage.delete(log_key(3))
    moved = {k: v for k, v in _keys(storage).items() if k >= log_key(4) and "/log/" in k}
    moved |= _keys(storage, checkpoint_prefix(4))
    plan = client.plan_repair(truncate=True)
    assert plan.ok and {s.key for s in plan.steps if s.kind == "quarantine"} == set(moved)
    assert [s.kind for s in plan.steps if s.kind == "hint"] == ["hint"]  # it named checkpoint 4
    plan.execute()
    quarantined = _keys(storage, "registry/quarantine/")
    record = next(json.loads(v) for k, v in quarantined.items() if k.endswith("record.json"))
    assert sorted(record["moved"]) == sorted(moved) and "commit 3 is missing" in record["reason"]
    for key, data in moved.items():  # every moved byte is kept
        assert quarantined[record["record"].rsplit("/", 1)[0] + "/" + key] == data
        assert not storage.exists(key)
    assert not storage.exists(HINT_KEY)  # no checkpoint remains below the hole
    clear_replicas()
    writer = RegistryClient(url, **options)
    assert writer.create_model_version("m", str(model_dir)).version == 2  # commit 3, anew
    assert writer.verify().ok


def test_a_missing_head_is_restored_against_the_checkpoints_record(
    tmp_path: Path, model_dir: Path
) -> None:
    url = str(tmp_path / "shelf")
    client = _filled(url, model_dir, 3)
    client._reg_write_checkpoint()  # checkpoint 4 records commit 4's hash
    backup = tmp_path / "backup"
    shutil.copytree(url, backup)
    client.shelf.storage.delete(log_key(4))
    clear_replicas()
    with pytest.raises(LogHoleError):
        RegistryClient(url).get_registered_model("m")
    plan = RegistryClient(url).plan_repair(str(backup))
    assert plan.holes == [(4, 4)] and [s.key for s in plan.steps] == [log_key(4)]
    plan.execute()
    assert RegistryClient(url).get_registered_model("m").name == "m"


def test_a_damaged_hint_is_rewritten(tmp_path: Path, model_dir: Path) -> None:
    url = str(tmp_path / "shelf")
    client = _filled(url, model_dir, 2)
    client._reg_write_checkpoint()
    good = client.shelf.storage.read(HINT_KEY)
    client.shelf.storage.write(HINT_KEY, b"\xff garbage", overwrite=True)
    assert [p.key for p in client.verify().problems] == [HINT_KEY]
    plan = client.plan_repair()
    assert [(s.kind, s.key) for s in plan.steps] == [("hint", HINT_KEY)]
    plan.execute()
    assert client.shelf.storage.read(HINT_KEY) == good
    assert client.verify().ok and client.plan_repair().steps == []
