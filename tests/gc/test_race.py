"""The re-register race, interleaved deterministically: gc runs between a writer's look at the
shelf and its commit, on blobs the writer relies on without rewriting them."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from modelshelf._shelf import Shelf
from modelshelf.cas import Digest, key_to_digest
from modelshelf.client import Client
from modelshelf.gc import GcResult, plan_gc
from modelshelf.registry import RegistryClient
from tests._servers import ShelfFactory

WINDOW = 3.0  # seconds; short so that phase 2 comes within the test
# moto here is fast enough for the default suite (these tests take seconds).
FAST = [pytest.param("local", id="local"), pytest.param("moto", id="moto")]


class HookedRegistry(RegistryClient):
    """A registry that runs ``hook`` once, after a new version's blobs are stored and before
    its commit (the registry's own fault-injection point)."""

    hook: Callable[[], None] | None = None

    def _reg_fault(self, point: str) -> None:
        if point == "after_blobs" and self.hook is not None:
            hook, self.hook = self.hook, None
            hook()


@pytest.fixture(autouse=True)
def _window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELSHELF_GC_WINDOW", str(WINDOW))
    monkeypatch.setenv("MODELSHELF_GC_CLOCK_SKEW", "0")


def _folder(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "MLmodel").write_text("flavors: {}\n")
    (root / "weights.bin").write_bytes(os.urandom(5000))
    (root / "sub").mkdir()
    (root / "sub" / "vocab.txt").write_text("a\nb\n" + os.urandom(8).hex())
    return root


def _closure(client: Client, tree: Digest) -> set[Digest]:
    return {tree} | {e.digest for e in client.shelf.blobs.read_tree(tree)}


def _at_key(client: Client) -> set[Digest]:
    found = (key_to_digest(i.key) for i in client.shelf.storage.list("objects/sha256/"))
    return {d for d in found if d is not None}


def _gc(client: Client, **kwargs: Any) -> GcResult:
    """Plan and execute with every blob written so far older than the grace period."""
    plan = plan_gc(client.shelf, grace=timedelta(0), now=time.time() + 120, **kwargs)
    return plan.execute(client.shelf)


def _download_fresh(url: str, options: dict[str, Any], tree: Digest, tmp: Path) -> set[str]:
    """Materialise ``tree`` through an empty cache: every byte comes from the shelf."""
    fresh = Shelf(url, cache_dir=str(tmp / f"cache-{time.monotonic_ns()}"), **options)
    dest = fresh.blobs.get_tree(tree, tmp / f"out-{time.monotonic_ns()}")
    return {str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file()}


@pytest.mark.parametrize("backend", FAST)
def test_reregistering_a_deleted_versions_folder_while_gc_runs(
    shelf_factory: ShelfFactory, backend: str, tmp_path: Path
) -> None:
    url, options = shelf_factory(backend)
    hooked = HookedRegistry(Shelf(url, **options))
    client = Client(registry=hooked)
    client.create_registered_model("m")
    folder = _folder(tmp_path / "model")
    tree = Digest.parse(client.create_model_version("m", str(folder)).digest)
    client.delete_model_version("m", 1)
    closure = _closure(client, tree)

    # gc runs after the writer found every blob of the folder on the shelf (and stored
    # nothing), and before its commit lands: the blobs are unreferenced and old.
    during: list[set[Digest]] = []

    def gc_now() -> None:
        plan = plan_gc(client.shelf, grace=timedelta(0), now=time.time() + 120)
        during.append(set(plan.blobs))
        plan.execute(client.shelf)

    hooked.hook = gc_now
    v2 = client.create_model_version("m", str(folder))
    assert during and closure <= during[0], "gc did not target the re-registered blobs"
    assert Digest.parse(v2.digest) == tree

    # A reader right away (before phase 2) gets every file, through an empty cache.
    assert _download_fresh(url, options, tree, tmp_path) == {
        "MLmodel",
        "weights.bin",
        "sub/vocab.txt",
    }
    time.sleep(WINDOW + 0.2)
    final = _gc(client)  # phase 2 of the quarantine made during the commit
    assert final.conflicts == ()
    assert not closure & set(final.deleted)
    assert closure <= _at_key(client)
    report = client.verify(deep=True)
    assert report.ok, str(report)
    assert _download_fresh(url, options, tree, tmp_path) == {
        "MLmodel",
        "weights.bin",
        "sub/vocab.txt",
    }


@pytest.mark.parametrize("backend", FAST)
def test_a_present_manifest_does_not_vouch_for_its_blobs(
    shelf_factory: ShelfFactory, backend: str, tmp_path: Path
) -> None:
    """A writer stored a folder and died before committing; later the folder's blobs are old
    but its manifest young, so gc quarantines the blobs and keeps the manifest. Another
    writer logging the same folder must not trust the manifest."""
    url, options = shelf_factory(backend)
    client = Client(Shelf(url, **options))
    client.create_registered_model("m")
    folder = _folder(tmp_path / "model")
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        client.shelf.blobs.put_file(path)  # the blobs, stored first
    time.sleep(1.2)  # object stores keep mtimes to the second
    tree = client.shelf.blobs.put_tree(folder)  # ... then the manifest; no commit
    closure = _closure(client, tree)
    mtimes = {d: client.shelf.storage.stat(d.key).mtime or 0.0 for d in closure}
    leaves = closure - {tree}
    assert max(mtimes[d] for d in leaves) < mtimes[tree]
    cutoff = (max(mtimes[d] for d in leaves) + mtimes[tree]) / 2

    plan = plan_gc(client.shelf, grace=timedelta(0), now=cutoff)
    assert set(plan.blobs) == leaves  # the manifest is young: kept
    plan.execute(client.shelf)
    assert not leaves & _at_key(client) and tree in _at_key(client)

    writer = Client(Shelf(url, **options))  # same hash memo: every file is known
    version = writer.create_model_version("m", str(folder))
    assert Digest.parse(version.digest) == tree
    assert leaves <= _at_key(client)  # put back (uploaded again) before the commit
    time.sleep(WINDOW + 0.2)
    final = _gc(client)
    assert final.conflicts == () and not closure & set(final.deleted)
    report = client.verify(deep=True)
    assert report.ok, str(report)
    assert len(_download_fresh(url, options, tree, tmp_path)) == 3
