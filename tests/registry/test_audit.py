"""Audit: history, alias as_of, and verify naming each problem."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from modelshelf.cas import Digest
from modelshelf.errors import AliasNotFoundError, IntegrityError
from modelshelf.registry import RegistryClient
from modelshelf.registry._log import log_key
from modelshelf.registry._replica import clear_replicas


def _pause() -> datetime:
    time.sleep(0.01)
    moment = datetime.now(UTC)
    time.sleep(0.01)
    return moment


def test_history_records_who_what_old_new(
    client: RegistryClient, model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELSHELF_ACTOR", "ana@ci")
    client.create_registered_model("m")
    client.create_model_version("m", str(model_dir))
    client.create_model_version("m", str(model_dir))
    client.set_registered_model_alias("m", "champion", 1)
    monkeypatch.setenv("MODELSHELF_ACTOR", "bo@laptop")
    client.set_registered_model_alias("m", "champion", 2)
    client.rename_registered_model("m", "m2")
    client.delete_model_version("m2", 2)
    history = client.get_registry_history("m2")
    assert [(c.action, c.key, c.old, c.new) for c in history if "alias" in c.action] == [
        ("set_alias", "champion", None, 1),
        ("set_alias", "champion", 1, 2),
        ("delete_alias", "champion", 2, None),
    ]
    assert history[0].action == "create_model" and history[0].name == "m"
    assert {c.actor for c in history} == {"ana@ci", "bo@laptop"}
    assert [c.seq for c in history] == sorted(c.seq for c in history)
    assert history[-1].action == "delete_version" and history[-1].version == 2
    assert all(c.time.tzinfo is not None for c in history)
    later = client.get_registry_history(since=history[-1].seq - 1)
    assert [c.action for c in later] == ["delete_alias", "delete_version"]
    # The commit file carries the same facts.
    raw = json.loads(client.shelf.storage.read(log_key(5)))
    assert raw["actor"] == "bo@laptop" and raw["time"].endswith("Z") and len(raw["nonce"]) == 32
    assert raw["prev"].startswith("sha256:") and raw["client"].startswith("modelshelf")


def test_alias_as_of(client: RegistryClient, model_dir: Path) -> None:
    client.create_registered_model("m")
    for _ in range(3):
        client.create_model_version("m", str(model_dir))
    before = _pause()
    client.set_registered_model_alias("m", "champion", 1)
    t1 = _pause()
    client.set_registered_model_alias("m", "champion", 3)
    t2 = _pause()
    client.delete_registered_model_alias("m", "champion")
    with pytest.raises(AliasNotFoundError, match="not found at"):
        client.get_model_version_by_alias("m", "champion", as_of=before)
    assert client.get_model_version_by_alias("m", "champion", as_of=t1).version == 1
    assert client.get_model_version_by_alias("m", "champion", as_of=t2).version == 3
    naive = t2.replace(tzinfo=None)  # naive datetimes are UTC
    assert client.get_model_version_by_alias("m", "champion", as_of=naive).version == 3
    with pytest.raises(AliasNotFoundError):
        client.get_model_version_by_alias("m", "champion")


def test_as_of_uses_checkpoints(tmp_path: Path, model_dir: Path) -> None:
    client = RegistryClient(str(tmp_path / "shelf"), checkpoint_interval=3)
    client.create_registered_model("m")
    moments = []
    for i in range(8):
        client.create_model_version("m", str(model_dir))
        client.set_registered_model_alias("m", "a", i + 1)
        moments.append(_pause())
    for i, moment in enumerate(moments):
        assert client.get_model_version_by_alias("m", "a", as_of=moment).version == i + 1
    assert (
        client.get_model_version_by_alias(
            "m", "a", as_of=datetime.now(UTC) + timedelta(days=1)
        ).version
        == 8
    )


def test_verify_names_a_tampered_commit(client: RegistryClient, model_dir: Path) -> None:
    client.create_registered_model("m")
    for _ in range(4):
        client.create_model_version("m", str(model_dir))
    storage = client.shelf.storage
    body = json.loads(storage.read(log_key(3)))
    body["actions"][0]["source"] = "/somewhere/else"
    storage.write(log_key(3), json.dumps(body).encode(), overwrite=True)
    report = client.verify()
    assert not report.ok
    assert [(p.seq, p.key) for p in report.problems] == [(3, log_key(3))]
    assert "commit 3 was edited" in str(report.problems[0])
    clear_replicas()  # a cold reader refuses history that does not chain
    with pytest.raises(IntegrityError, match="commit 4"):
        RegistryClient(client.shelf.url).get_registered_model("m")


def test_verify_reports_missing_and_corrupt_blobs(client: RegistryClient, model_dir: Path) -> None:
    client.create_registered_model("m")
    mv = client.create_model_version("m", str(model_dir))
    assert client.verify(deep=True).ok
    tree = client.shelf.blobs.read_tree(mv.digest)
    entries = sorted(tree, key=lambda e: e.path)
    storage = client.shelf.storage
    storage.delete(entries[0].digest.key)
    path = storage.local_path(entries[1].digest.key)
    assert path is not None
    Path(path).chmod(0o644)
    Path(path).write_bytes(b"x" * entries[1].size)  # same size, other bytes
    shallow = client.verify()
    assert [p.key for p in shallow.problems] == [entries[0].digest.key]
    assert (
        "missing" in shallow.problems[0].problem and "'m' version 1" in shallow.problems[0].problem
    )
    deep = client.verify(deep=True)
    assert sorted(p.key for p in deep.problems) == sorted(e.digest.key for e in entries)
    assert any("content mismatch" in p.problem for p in deep.problems)


def test_verify_reports_a_gap_and_a_missing_tree(client: RegistryClient, model_dir: Path) -> None:
    client.create_registered_model("m")
    for _ in range(3):
        client.create_model_version("m", str(model_dir))
    storage = client.shelf.storage
    digest = Digest.parse(client.get_model_version("m", 3).digest)
    client._reg_write_checkpoint()  # lets verify check the files of versions past the hole
    storage.delete(log_key(2))
    report = client.verify()
    # the missing commit itself is named, once, not the commits after it
    assert [(p.seq, p.key) for p in report.problems] == [(2, log_key(2))]
    assert "commit 2 is missing" in str(report)
    storage.delete(digest.key)
    report = client.verify()
    assert [p.key for p in report.problems] == [log_key(2), digest.key]


def test_verify_clean_registry(client: RegistryClient, model_dir: Path) -> None:
    client.create_registered_model("m")
    client.create_model_version("m", str(model_dir))
    report = client.verify(deep=True)
    assert report.ok and bool(report) and report.commits == 2 and report.trees == 1
    assert "no problems" in str(report)
