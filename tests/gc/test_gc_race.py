"""gc in a loop against four writer processes that re-register folders whose blobs are on the
shelf (their earlier versions deleted) and log fresh models, on three backends."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from modelshelf._shelf import Shelf, set_shelf
from modelshelf.cas import Digest
from modelshelf.cas._quarantine import list_quarantines
from modelshelf.client import Client
from modelshelf.gc import plan_gc
from modelshelf.pyfunc import load_model
from tests._servers import ShelfFactory, backend_param

REPO = Path(__file__).resolve().parents[2]
WRITERS = 4
GRACE = timedelta(seconds=1)
WINDOW = 4.0  # the writer window: short, so that phase 2 runs many times within the test
SKEW = 0.5
# How long gc loops against the writers; the suite runs it for 2 minutes per backend.
SECONDS = float(os.environ.get("MODELSHELF_TEST_GC_RACE_SECONDS", "120"))


@pytest.mark.slow
@pytest.mark.parametrize(
    "backend", [backend_param("local"), backend_param("moto"), backend_param("seaweedfs")]
)
def test_gc_loop_against_writers_reregistering_old_folders(
    shelf_factory: ShelfFactory, backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELSHELF_GC_WINDOW", str(WINDOW))
    monkeypatch.setenv("MODELSHELF_GC_CLOCK_SKEW", str(SKEW))
    url, options = shelf_factory(backend)
    client = Client(Shelf(url, **options))
    writers = []
    for i in range(WRITERS):
        env = dict(os.environ, MODELSHELF_CACHE_DIR=str(tmp_path / f"cache-{i}"))
        args = [url, json.dumps(options), str(SECONDS), str(i + 1), str(tmp_path / f"w{i}.json")]
        writers.append(
            subprocess.Popen([sys.executable, "-m", "tests.gc._rewriter", *args], cwd=REPO, env=env)
        )
    runs = quarantined = restored = deleted = 0
    try:
        while any(w.poll() is None for w in writers):
            result = plan_gc(client.shelf, grace=GRACE).execute(client.shelf)
            assert result.conflicts == ()
            runs += 1
            quarantined += len(result.quarantined)
            restored += len(result.restored)
            deleted += len(result.deleted)
    finally:
        for w in writers:
            if w.poll() is None:
                w.kill()
            w.wait(timeout=60)
    assert [w.returncode for w in writers] == [0] * WRITERS
    assert runs >= 3 and quarantined > 0 and deleted > 0

    live: dict[tuple[str, int], int] = {}
    for i in range(WRITERS):
        done = json.loads((tmp_path / f"w{i}.json").read_text())
        assert done["rounds"] >= 5 and done["deleted"]
        for number, factor in done["versions"].items():
            if int(number) not in done["deleted"]:
                live[(done["model"], int(number))] = factor

    # No live version names a blob that is gone: each is at its key or in a quarantine
    # (where phase 2 or the next read puts it back).
    held = {d for q in list_quarantines(client.shelf.storage) for d in q.blobs}
    pending = 0
    broken = []
    for name, number in sorted(live):
        tree = Digest.parse(client.get_model_version(name, number).digest)
        closure = {tree} | {e.digest for e in client.shelf.blobs.read_tree(tree)}
        absent = closure - client.shelf.blobs.exists_many(closure)
        pending += bool(absent)
        if absent - held:
            broken.append((name, number))
    assert broken == []

    # Every live version loads, through an empty cache (readers restore from quarantine).
    set_shelf(Shelf(url, cache_dir=str(tmp_path / "fresh-cache"), **options))
    for (name, number), factor in sorted(live.items()):
        model = load_model(f"models:/{name}/{number}")
        assert model.predict([1.0, 2.0]) == [1.0 * factor, 2.0 * factor]

    # Settle every quarantine (no writer runs any more: window 0), then a deep verify.
    final = plan_gc(client.shelf, grace=GRACE, window=0, clock_skew=0).execute(client.shelf)
    assert final.conflicts == ()
    restored += len(final.restored)
    deleted += len(final.deleted)
    report = client.verify(deep=True)
    assert report.ok, str(report)
    print(
        f"\n[gc race {backend}] {SECONDS:.0f}s, {WRITERS} writers: {len(live)} live versions, "
        f"{runs} gc runs, {quarantined} blobs quarantined, {restored} restored, {deleted} "
        f"deleted; {pending} versions waiting for a restore at the end, 0 missing blobs"
    )
