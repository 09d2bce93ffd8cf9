"""A writer that re-registers folders whose blobs are already on the shelf (``python -m``).

Usage: ``python -m tests.gc._rewriter URL OPTIONS_JSON SECONDS TAG OUT_JSON``. Round r:

1. logs a fresh model folder F_r and registers it directly (model ``m-TAG``); every third
   round also logs a fresh model in a run and registers it from ``runs:/`` (kept);
2. registers again folder F_(r-3), whose first version was deleted rounds ago: its blobs
   are old and unreferenced, exactly what gc collects, and ``put_tree`` finds them all on the
   shelf and uploads nothing (kept);
3. leaves an orphan blob behind (a crashed writer) and deletes the first version of F_(r-1).

Every model is a real pyfunc model multiplying by a factor. OUT_JSON receives
``{"model": name, "versions": {number: factor}, "deleted": [numbers], "rounds": n}``.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from typing import Any

from modelshelf._shelf import Shelf
from modelshelf.client import Client
from tests.gc._writer import Scale

LAG = 3
PAUSE = 0.5  # seconds between rounds: keeps the number of versions to load afterwards modest


def main(url: str, options: dict[str, Any], seconds: float, tag: str, out: str) -> None:
    from modelshelf.pyfunc import save_model

    client = Client(Shelf(url, **options))
    model = f"m-{tag}"
    client.create_registered_model(model)
    versions: dict[int, int] = {}
    deleted: list[int] = []
    first: dict[int, int] = {}  # round -> its folder's first (direct) version
    deadline = time.time() + seconds
    r = 0
    with tempfile.TemporaryDirectory() as tmp:
        folders: dict[int, str] = {}
        while time.time() < deadline or r < LAG + 2:
            r += 1
            factor = int(tag) * 100_000 + r
            folder = os.path.join(tmp, f"f{r}")
            save_model(folder, python_model=Scale(factor))
            with open(os.path.join(folder, "payload.bin"), "wb") as handle:
                handle.write(os.urandom(4096))
            folders[r] = folder
            mv = client.create_model_version(model, folder)
            versions[int(mv.version)] = factor
            first[r] = int(mv.version)
            if r % 3 == 0:
                run_id = client.create_run(run_name=f"{tag}-{r}").info.run_id
                run_folder = os.path.join(tmp, f"run{r}")
                save_model(run_folder, python_model=Scale(-factor))
                client.log_artifacts(run_id, run_folder, "model")
                mv = client.create_model_version(model, f"runs:/{run_id}/model")
                versions[int(mv.version)] = -factor
            if r - LAG in folders:
                mv = client.create_model_version(model, folders[r - LAG])
                versions[int(mv.version)] = int(tag) * 100_000 + r - LAG
            client.shelf.blobs.put_bytes(os.urandom(512))  # a crashed writer's leftover
            if r - 1 in first:
                victim = first.pop(r - 1)
                client.delete_model_version(model, victim)
                deleted.append(victim)
            time.sleep(PAUSE)
    with open(out, "w") as handle:
        json.dump({"model": model, "versions": versions, "deleted": deleted, "rounds": r}, handle)


if __name__ == "__main__":
    main(sys.argv[1], json.loads(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5])
