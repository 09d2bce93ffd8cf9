"""The two phases of gc: what the quarantine holds, when phase 2 may act, and who restores."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest

from modelshelf._shelf import Shelf
from modelshelf.cas import Digest
from modelshelf.cas._quarantine import list_quarantines, move_in, new_run_id
from modelshelf.client import Client
from modelshelf.errors import InvalidInputError, ObjectNotFoundError
from modelshelf.gc import plan_gc
from tests._servers import ShelfFactory

WINDOW = 1.5


@pytest.fixture(params=["local", "memory"])
def client(request: pytest.FixtureRequest, shelf_factory: ShelfFactory) -> Client:
    url, options = shelf_factory(str(request.param))
    return Client(Shelf(url, **options))


def _run(client: Client, **kwargs: float) -> tuple[list[Digest], list[Digest], list[Digest]]:
    plan = plan_gc(client.shelf, grace=timedelta(0), now=time.time() + 120, **kwargs)
    done = plan.execute(client.shelf)
    assert done.conflicts == ()
    return list(done.quarantined), list(done.deleted), list(done.restored)


def _folder(root: Path) -> Path:
    root.mkdir()
    (root / "a.bin").write_bytes(os.urandom(300))
    (root / "b.txt").write_text("b" + os.urandom(4).hex())
    return root


def test_phase_two_waits_for_the_writer_window(client: Client) -> None:
    orphan = client.shelf.blobs.put_bytes(os.urandom(64))
    moved, deleted, _ = _run(client, window=WINDOW, clock_skew=0)
    assert moved == [orphan] and deleted == []
    assert not client.shelf.storage.exists(orphan.key)
    [q] = list_quarantines(client.shelf.storage)
    assert orphan in q.blobs and q.sealed is not None
    assert _run(client, window=WINDOW, clock_skew=0)[1] == []  # too early: nothing deleted
    time.sleep(WINDOW + 0.1)
    plan = plan_gc(client.shelf, grace=timedelta(0), window=WINDOW, clock_skew=0)
    assert plan.final == (orphan,) and plan.quarantines == (q.run_id,)
    assert "delete 1 quarantined blob(s)" in str(plan)
    assert plan.execute(client.shelf).deleted == (orphan,)
    assert list_quarantines(client.shelf.storage) == []
    with pytest.raises(InvalidInputError):
        plan_gc(client.shelf, window=-1)


def test_clock_skew_delays_phase_two(client: Client) -> None:
    client.shelf.blobs.put_bytes(os.urandom(64))
    _run(client, window=0, clock_skew=WINDOW)
    assert list_quarantines(client.shelf.storage)  # quarantined, not deleted (skew > 0)
    time.sleep(WINDOW + 0.1)
    _run(client, window=0, clock_skew=WINDOW)
    assert list_quarantines(client.shelf.storage) == []


def test_an_unsealed_quarantine_is_settled_a_window_after_its_start(client: Client) -> None:
    """A gc that died in phase 1 leaves no seal: its moves count as ended at start + window."""
    blob = client.shelf.blobs.put_bytes(os.urandom(64))
    recent = new_run_id(time.time() - 1.5 * WINDOW)  # needs start + 2 windows: not yet
    assert move_in(client.shelf.storage, blob, recent)
    plan = plan_gc(client.shelf, grace=timedelta(0), window=WINDOW, clock_skew=0)
    assert plan.quarantines == () and plan.waiting == 1
    old = new_run_id(time.time() - 2.5 * WINDOW)
    other = client.shelf.blobs.put_bytes(os.urandom(64))
    assert move_in(client.shelf.storage, other, old)
    plan = plan_gc(client.shelf, grace=timedelta(0), window=WINDOW, clock_skew=0)
    assert plan.quarantines == (old,) and plan.final == (other,)
    assert plan.execute(client.shelf).deleted == (other,)


def test_a_referenced_blob_in_quarantine_is_put_back(client: Client, tmp_path: Path) -> None:
    """Phase 2 restores what a commit made since names; readers and writers restore too."""
    blobs = client.shelf.blobs
    tree = blobs.put_tree(_folder(tmp_path / "m"))
    leaves = {e.digest for e in blobs.read_tree(tree)}
    run_id = new_run_id(time.time() - 10 * WINDOW)
    for digest in {tree, *leaves}:
        assert move_in(client.shelf.storage, digest, run_id)
    client.create_registered_model("m")
    # A commit by a process that did not store the tree checks it, restoring from quarantine.
    fresh = Client(Shelf(client.shelf.url, **client.shelf.storage_options))
    assert fresh.create_model_version("m", str(tree)).digest == str(tree)
    assert blobs.exists_many({tree, *leaves}) == {tree, *leaves}
    plan = plan_gc(client.shelf, grace=timedelta(0), window=WINDOW, clock_skew=0)
    assert set(plan.restore) == {tree, *leaves} and plan.final == ()
    result = plan.execute(client.shelf)
    assert set(result.restored) == {tree, *leaves} and result.deleted == ()
    assert list_quarantines(client.shelf.storage) == []
    assert client.verify(deep=True).ok

    # A reader missing a blob at its key finds it in quarantine.
    one = sorted(leaves)[0]
    assert move_in(client.shelf.storage, one, new_run_id())
    reader = Shelf(client.shelf.url, cache_dir=str(tmp_path / "c2"), **client.shelf.storage_options)
    assert reader.blobs.get(one) and client.shelf.storage.exists(one.key)


def test_a_commit_refuses_a_tree_whose_blobs_are_gone(client: Client, tmp_path: Path) -> None:
    blobs = client.shelf.blobs
    tree = blobs.put_tree(_folder(tmp_path / "m"))
    gone = sorted(e.digest for e in blobs.read_tree(tree))[0]
    client.shelf.storage.delete(gone.key)
    client.create_registered_model("m")
    other = Client(Shelf(client.shelf.url, **client.shelf.storage_options))
    with pytest.raises(ObjectNotFoundError, match="log the folder again"):
        other.create_model_version("m", str(tree))
    # The process that stored the folder still has it: with the window over (0 here), it
    # checks again and uploads the blob again.
    assert client.create_model_version("m", str(tree)).digest == str(tree)
    assert client.shelf.storage.exists(gone.key)
