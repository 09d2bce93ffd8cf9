"""Attacks on the quarantine: where restores run and which quarantined copy they trust."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest

from modelshelf._shelf import Shelf
from modelshelf.cas._quarantine import move_in, new_run_id, quarantine_key
from modelshelf.client import Client
from tests._servers import ShelfFactory


@pytest.fixture(params=["local", "memory"])
def client(request: pytest.FixtureRequest, shelf_factory: ShelfFactory) -> Client:
    url, options = shelf_factory(str(request.param))
    return Client(Shelf(url, **options))


def _folder(root: Path) -> Path:
    root.mkdir()
    (root / "a.bin").write_bytes(os.urandom(300))
    (root / "b.txt").write_text("b" + os.urandom(4).hex())
    return root


def test_restore_works_when_temp_files_live_on_another_filesystem(
    shelf_factory: ShelfFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/tmp is often a tmpfs: a restore must not hard-link across filesystems (EXDEV)."""
    other_fs = Path("/dev/shm")
    if not other_fs.is_dir() or other_fs.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("needs a temp folder on another filesystem than the shelf")
    temp = Path(tempfile.mkdtemp(dir=other_fs, prefix="modelshelf-test-"))
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    try:
        url, options = shelf_factory("local")
        client = Client(Shelf(url, cache_dir=str(tmp_path / "cache"), **options))
        tree = client.shelf.blobs.put_tree(_folder(tmp_path / "m"))
        leaves = {e.digest for e in client.shelf.blobs.read_tree(tree)}
        run_id = new_run_id(time.time() - 60)
        for digest in {tree, *leaves}:
            assert move_in(client.shelf.storage, digest, run_id)
        client.create_registered_model("m")
        fresh = Client(Shelf(url, cache_dir=str(tmp_path / "c2"), **options))
        assert fresh.create_model_version("m", str(tree)).digest == str(tree)
        assert client.shelf.blobs.exists_many({tree, *leaves}) == {tree, *leaves}
    finally:
        for leftover in temp.rglob("*"):
            if leftover.is_file():
                leftover.unlink()
        for leftover in sorted(temp.rglob("*"), reverse=True):
            leftover.rmdir()
        temp.rmdir()


def test_a_corrupt_newer_quarantined_copy_does_not_hide_a_good_older_one(
    client: Client, tmp_path: Path
) -> None:
    """Someone writes other bytes under a digest's name in a newer quarantine: readers and
    writers must skip that copy (never restore it) and restore the good one."""
    storage = client.shelf.storage
    data = os.urandom(200)
    blob = client.shelf.blobs.put_bytes(data)
    assert move_in(storage, blob, new_run_id(time.time() - 120))  # the good copy, older
    storage.write(quarantine_key(new_run_id(time.time() - 60), blob), b"forged" + data)

    reader = Shelf(client.shelf.url, cache_dir=str(tmp_path / "r"), **client.shelf.storage_options)
    assert reader.blobs.get(blob) == data
    assert storage.read(blob.key) == data  # restored from the good copy, not the forged one

    assert move_in(storage, blob, new_run_id(time.time() - 120))
    writer = Shelf(client.shelf.url, cache_dir=str(tmp_path / "w"), **client.shelf.storage_options)
    writer.blobs.check_before_commit(blob, tree=False, window=0)
    assert storage.read(blob.key) == data


@pytest.mark.skipif(not hasattr(time, "CLOCK_BOOTTIME"), reason="Linux: suspend-aware clock")
def test_a_writer_that_slept_through_gc_checks_again(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A machine suspended between storing a blob and committing a reference to it: the
    monotonic clock stood still, but gc (on another machine) did not. The writer must count
    the time asleep and check again, which puts the quarantined blob back.

    A real suspend cannot run in a test: it is injected as what it does to the clocks
    (CLOCK_BOOTTIME advances, CLOCK_MONOTONIC does not)."""
    window = 60.0
    blob = client.shelf.blobs.put_bytes(os.urandom(64))  # seen now: a commit would be free
    assert move_in(client.shelf.storage, blob, new_run_id())  # gc's phase 1, while asleep
    real = time.clock_gettime

    def after_sleep(clock: int) -> float:
        return real(clock) + (window if clock == time.CLOCK_BOOTTIME else 0.0)

    monkeypatch.setattr(time, "clock_gettime", after_sleep)
    client.shelf.blobs.check_before_commit(blob, tree=False, window=window)
    assert client.shelf.storage.exists(blob.key)  # checked again and put back
