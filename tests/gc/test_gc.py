"""Garbage collection: exact plans, exact deletion, what survives, grace for tombstones, pins."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from modelshelf._shelf import Shelf
from modelshelf.cas import Digest, key_to_digest
from modelshelf.client import Client
from modelshelf.errors import (
    AlreadyExistsError,
    IntegrityError,
    InvalidInputError,
    InvalidNameError,
    NotFoundError,
    ObjectNotFoundError,
)
from modelshelf.gc import GcPlan, GcResult, list_pins, pin, plan_gc, unpin
from modelshelf.uri import download_uri

HOUR = timedelta(hours=1)


def _later(seconds: float = 120.0) -> float:
    """A ``now`` far enough ahead that every blob written so far is older than grace=0."""
    return time.time() + seconds


def _folder(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def _blobs(client: Client) -> set[Digest]:
    found = (key_to_digest(i.key) for i in client.shelf.storage.list("objects/sha256/"))
    return {d for d in found if d is not None}


def _closure(client: Client, tree: Digest | str) -> set[Digest]:
    digest = Digest.parse(tree)
    return {digest} | {e.digest for e in client.shelf.blobs.read_tree(digest)}


def _size(client: Client, digests: set[Digest]) -> int:
    return sum(client.shelf.storage.stat(d.key).size for d in digests)


def _age_local_blobs(client: Client, seconds: float) -> None:
    """Backdate every blob of a local shelf (object stores cannot set mtimes)."""
    when = time.time() - seconds
    for info in client.shelf.storage.list("objects/sha256/"):
        path = client.shelf.storage.local_path(info.key)
        assert path is not None
        os.utime(path, (when, when))


@dataclass
class World:
    run_id: str
    referenced: set[Digest]
    orphans: set[Digest]
    pinned: Digest
    v2_tree: set[Digest]


def _populate(client: Client, tmp_path: Path) -> World:
    """A run with a tree and a file, two versions, a pinned blob, and orphans (no reference)."""
    run_id = client.create_run(run_name="train").info.run_id
    model = _folder(tmp_path / "model", {"MLmodel": b"flavors: {}\n", "w.bin": os.urandom(3000)})
    client.log_artifacts(run_id, str(model), "model")
    client.log_text(run_id, "notes " + os.urandom(8).hex(), "notes.txt")
    client.create_registered_model("m")
    v1 = client.create_model_version("m", f"runs:/{run_id}/model")
    other = _folder(tmp_path / "v2", {"MLmodel": b"x: 1\n", "w2.bin": os.urandom(2000)})
    v2 = client.create_model_version("m", str(other))
    pinned = client.shelf.blobs.put_bytes(os.urandom(700))
    pin(client.shelf, pinned, "keep-me")
    referenced = _closure(client, v1.digest) | _closure(client, v2.digest) | {pinned}
    referenced |= {p.digest for p in client.runs._runs_artifacts.pointers(run_id).values()}
    orphans = {client.shelf.blobs.put_bytes(os.urandom(n)) for n in (10, 1000, 5000)}
    lost_tree = _folder(tmp_path / "lost", {"a.bin": os.urandom(1500), "b/c.txt": os.urandom(40)})
    orphans |= _closure(client, client.shelf.blobs.put_tree(str(lost_tree)))
    assert not orphans & referenced
    return World(run_id, referenced, orphans, pinned, _closure(client, v2.digest))


def test_dry_run_plan_is_exact_and_deletes_nothing(gc_client: Client, tmp_path: Path) -> None:
    world = _populate(gc_client, tmp_path)
    before = _blobs(gc_client)
    assert before == world.referenced | world.orphans

    plan = plan_gc(gc_client.shelf, grace=timedelta(0), now=_later())
    assert set(plan.blobs) == world.orphans
    assert list(plan.blobs) == sorted(plan.blobs)
    assert plan.bytes == _size(gc_client, world.orphans)
    assert plan.kept == len(world.referenced) and plan.young == 0
    assert not plan.problems
    assert json.loads(json.dumps(plan.to_dict()))["count"] == len(world.orphans)
    assert _blobs(gc_client) == before  # a plan deletes nothing

    # With the default 24 h grace, every unreferenced blob is too young to judge.
    young = gc_client.gc()
    assert isinstance(young, GcPlan)
    assert young.blobs == () and young.bytes == 0
    assert young.young == len(world.orphans) and young.kept == len(before)
    assert _blobs(gc_client) == before


def test_execute_deletes_exactly_the_plan(gc_client: Client, tmp_path: Path) -> None:
    world = _populate(gc_client, tmp_path)
    before = _blobs(gc_client)
    plan = plan_gc(gc_client.shelf, grace=timedelta(0), now=_later())
    result = plan.execute(gc_client.shelf)
    assert isinstance(result, GcResult)
    assert result.deleted == plan.blobs and result.bytes_freed == plan.bytes
    assert result.skipped == () and result.conflicts == ()
    assert _blobs(gc_client) == before - set(plan.blobs) == world.referenced

    # Everything referenced still reads, and the registry verifies deep.
    report = gc_client.verify(deep=True)
    assert report.ok, str(report)
    got = download_uri("models:/m/1", tmp_path / "dl", gc_client.shelf)
    assert (got / "w.bin").read_bytes() == (tmp_path / "model" / "w.bin").read_bytes()
    assert gc_client.shelf.blobs.get(world.pinned)
    again = plan_gc(gc_client.shelf, grace=timedelta(0), now=_later())
    assert again.blobs == ()


def test_client_gc_execute(gc_client: Client, tmp_path: Path) -> None:
    world = _populate(gc_client, tmp_path)
    result = gc_client.gc(grace=timedelta(0), execute=True, now=_later())
    assert isinstance(result, GcResult)
    assert set(result.deleted) == world.orphans
    assert _blobs(gc_client) == world.referenced


def test_tombstones_go_once_past_grace(gc_client: Client, tmp_path: Path) -> None:
    world = _populate(gc_client, tmp_path)
    gc_client.delete_model_version("m", 2)
    # grace=0 and a later now: the deletion is past the grace period, so v2's blobs go.
    plan = plan_gc(gc_client.shelf, grace=timedelta(0), now=_later())
    assert set(plan.blobs) == world.orphans | world.v2_tree
    plan.execute(gc_client.shelf)
    assert _blobs(gc_client) == world.referenced - world.v2_tree
    report = gc_client.verify(deep=True)  # verify checks live versions only
    assert report.ok, str(report)


def test_tombstones_survive_within_grace(tmp_path: Path) -> None:
    """Local shelf: blobs backdated by 2 h, so only the tombstone's age decides."""
    client = Client(Shelf(str(tmp_path / "shelf")))
    world = _populate(client, tmp_path)
    client.delete_model_version("m", 2)
    _age_local_blobs(client, 2 * 3600)

    within = plan_gc(client.shelf, grace=HOUR)  # deleted seconds ago: inside the hour
    assert set(within.blobs) == world.orphans
    within.execute(client.shelf)
    assert world.v2_tree <= _blobs(client)

    past = plan_gc(client.shelf, grace=HOUR, now=time.time() + 2 * 3600)
    assert set(past.blobs) == world.v2_tree
    past.execute(client.shelf)
    assert _blobs(client) == world.referenced - world.v2_tree


def test_deleted_model_survives_within_grace(tmp_path: Path) -> None:
    """A deleted model leaves no tombstone in the state; the log since the cutoff covers it."""
    client = Client(Shelf(str(tmp_path / "shelf")))
    src = _folder(tmp_path / "solo", {"MLmodel": b"solo\n", "s.bin": os.urandom(900)})
    client.create_registered_model("solo")
    tree = _closure(client, client.create_model_version("solo", str(src)).digest)
    client.delete_registered_model("solo")
    _age_local_blobs(client, 2 * 3600)
    assert plan_gc(client.shelf, grace=HOUR).blobs == ()
    assert set(plan_gc(client.shelf, grace=HOUR, now=time.time() + 2 * 3600).blobs) == tree


def test_young_orphans_survive(tmp_path: Path) -> None:
    """An unreferenced blob newer than the grace period is a writer's, not garbage."""
    client = Client(Shelf(str(tmp_path / "shelf")))
    old = client.shelf.blobs.put_bytes(b"old orphan")
    _age_local_blobs(client, 3600)
    fresh = client.shelf.blobs.put_bytes(b"fresh orphan")
    plan = plan_gc(client.shelf, grace=timedelta(minutes=10))
    assert plan.blobs == (old,) and plan.young == 1
    plan.execute(client.shelf)
    assert _blobs(client) == {fresh}


def test_run_artifacts_and_logged_models_survive(gc_client: Client, tmp_path: Path) -> None:
    run_id = gc_client.create_run().info.run_id
    gc_client.log_artifact(run_id, str(_folder(tmp_path / "f", {"one.txt": b"one"}) / "one.txt"))
    gc_client.log_artifacts(run_id, str(_folder(tmp_path / "d", {"x": b"x", "y/z": b"z"})), "dir")
    logged = gc_client.shelf.blobs.put_tree(str(_folder(tmp_path / "lm", {"MLmodel": b"lm"})))
    gc_client.record_logged_model(run_id, "model", logged)
    before = _blobs(gc_client)
    assert plan_gc(gc_client.shelf, grace=timedelta(0), now=_later()).blobs == ()
    gc_client.gc(grace=timedelta(0), execute=True, now=_later())
    assert _blobs(gc_client) == before
    assert download_uri(f"runs:/{run_id}/dir", tmp_path / "out", gc_client.shelf).is_dir()


def test_pins(gc_client: Client, tmp_path: Path) -> None:
    shelf = gc_client.shelf
    tree = shelf.blobs.put_tree(str(_folder(tmp_path / "p", {"a": b"pinned a", "b": b"pinned b"})))
    blob = shelf.blobs.put_bytes(b"pinned blob")
    pin(shelf, tree, "tree")
    pin(shelf, blob, "blob")
    pin(shelf, blob, "blob")  # same digest again: a no-op
    assert list_pins(shelf) == {"blob": blob, "tree": tree}
    assert plan_gc(shelf, grace=timedelta(0), now=_later()).blobs == ()

    with pytest.raises(AlreadyExistsError):
        pin(shelf, tree, "blob")
    with pytest.raises(InvalidNameError):
        pin(shelf, blob, "../escape")
    with pytest.raises(ObjectNotFoundError):
        pin(shelf, Digest("0" * 64), "nothing")
    pin(shelf, tree, "blob", replace=True)
    assert list_pins(shelf)["blob"] == tree
    assert set(plan_gc(shelf, grace=timedelta(0), now=_later()).blobs) == {blob}

    unpin(shelf, "blob")
    unpin(shelf, "tree")
    with pytest.raises(NotFoundError):
        unpin(shelf, "tree")
    assert list_pins(shelf) == {}
    plan = plan_gc(shelf, grace=timedelta(0), now=_later())
    assert set(plan.blobs) == _closure(gc_client, tree) | {blob}


def test_stray_keys_are_never_touched(gc_client: Client) -> None:
    storage = gc_client.shelf.storage
    strays = [
        "objects/sha256/zz/not-a-digest",
        "objects/sha256/ab/" + "cd" * 32,
        "objects/tmp/123-partial",
        "objects/readme.txt",
    ]
    for key in strays:
        storage.write(key, b"stray")
    orphan = gc_client.shelf.blobs.put_bytes(b"orphan")
    plan = plan_gc(gc_client.shelf, grace=timedelta(0), now=_later())
    assert plan.blobs == (orphan,) and plan.stray == 2  # the two under objects/sha256/
    plan.execute(gc_client.shelf)
    assert all(storage.exists(key) for key in strays)


def test_execute_skips_blobs_referenced_after_the_plan(gc_client: Client, tmp_path: Path) -> None:
    folder = _folder(tmp_path / "late", {"MLmodel": b"late\n", "w": os.urandom(1234)})
    tree = gc_client.shelf.blobs.put_tree(str(folder))
    extra = gc_client.shelf.blobs.put_bytes(b"really garbage")
    plan = plan_gc(gc_client.shelf, grace=timedelta(0), now=_later())
    assert set(plan.blobs) == _closure(gc_client, tree) | {extra}
    # A writer registers the tree between the plan and its execution.
    gc_client.create_registered_model("late")
    gc_client.create_model_version("late", f"sha256:{tree.hex}")
    result = plan.execute(gc_client.shelf)
    assert result.deleted == (extra,)
    assert set(result.skipped) == _closure(gc_client, tree)
    assert gc_client.verify(deep=True).ok


def test_bad_arguments(gc_client: Client, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError):
        plan_gc(gc_client.shelf, grace=timedelta(seconds=-1))
    with pytest.raises(InvalidInputError):
        plan_gc(gc_client.shelf, grace=3600)  # type: ignore[arg-type]
    gc_client.shelf.blobs.put_bytes(b"x")
    plan = plan_gc(gc_client.shelf, grace=timedelta(0), now=_later())
    with pytest.raises(InvalidInputError):
        plan.execute(Shelf(str(tmp_path / "elsewhere")))


def test_missing_manifest_is_reported(tmp_path: Path) -> None:
    client = Client(Shelf(str(tmp_path / "shelf")))
    src = _folder(tmp_path / "m", {"MLmodel": b"m\n", "w": b"weights"})
    client.create_registered_model("m")
    digest = Digest.parse(client.create_model_version("m", str(src)).digest)
    client.shelf.storage.delete(digest.key)
    orphan = client.shelf.blobs.put_bytes(b"orphan")
    shelf = Shelf(str(tmp_path / "shelf"), cache_dir=str(tmp_path / "c2"))  # cold cache
    plan = plan_gc(shelf, grace=timedelta(0), now=_later())
    assert any("manifest missing" in p and "'m' version 1" in p for p in plan.problems)
    with pytest.raises(IntegrityError, match="deleted nothing"):
        plan.execute(shelf)
    assert client.shelf.storage.exists(orphan.key)
    result = plan.execute(shelf, allow_problems=True)
    assert orphan in result.deleted
