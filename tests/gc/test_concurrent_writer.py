"""gc with a writer in another process logging and registering models the whole time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from modelshelf._shelf import Shelf, set_shelf
from modelshelf.client import Client
from modelshelf.gc import plan_gc
from modelshelf.pyfunc import load_model
from tests._servers import ShelfFactory, backend_param

REPO = Path(__file__).resolve().parents[2]
GRACE = timedelta(seconds=2)
WRITER_SECONDS = 4.0


@pytest.mark.parametrize("backend", [backend_param("local"), backend_param("moto")])
def test_gc_while_a_writer_logs_and_registers(
    shelf_factory: ShelfFactory, backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELSHELF_GC_WINDOW", "3")  # the writer inherits it
    monkeypatch.setenv("MODELSHELF_GC_CLOCK_SKEW", "0")
    url, options = shelf_factory(backend)
    client = Client(Shelf(url, **options))
    client.create_registered_model("live")
    for _ in range(3):  # garbage that ages past the grace period while the writer runs
        client.shelf.blobs.put_bytes(os.urandom(256))
    out = tmp_path / "writer.json"
    env = dict(os.environ, MODELSHELF_CACHE_DIR=str(tmp_path / "writer-cache"))
    writer = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.gc._writer",
            url,
            json.dumps(options),
            str(WRITER_SECONDS),
            str(out),
        ],
        cwd=REPO,
        env=env,
    )
    deleted = rounds = 0
    try:
        while writer.poll() is None:
            result = plan_gc(client.shelf, grace=GRACE).execute(client.shelf)
            assert result.conflicts == ()
            deleted += len(result.quarantined)
            rounds += 1
    finally:
        if writer.poll() is None:
            writer.kill()
        writer.wait(timeout=60)
    assert writer.returncode == 0
    assert rounds >= 2
    assert deleted > 0, "gc never found the writer's old garbage while it ran"
    plan_gc(client.shelf, grace=GRACE, window=0, clock_skew=0).execute(client.shelf)  # settle

    done = json.loads(out.read_text())
    versions = {int(k): v for k, v in done["versions"].items()}
    assert len(versions) >= 3 and done["deleted"]
    report = client.verify(deep=True)
    assert report.ok, str(report)

    # Load every live version through an empty cache, so every byte comes from the shelf.
    set_shelf(Shelf(url, cache_dir=str(tmp_path / "fresh-cache"), **options))
    for number, factor in sorted(versions.items()):
        if number in done["deleted"]:
            continue
        model = load_model(f"models:/live/{number}")
        assert model.predict([1.0, 2.0]) == [1.0 * factor, 2.0 * factor]
