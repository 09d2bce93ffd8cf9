"""A writer that logs and registers models in a loop while gc runs (``python -m`` target).

Usage: ``python -m tests.gc._writer URL OPTIONS_JSON SECONDS OUT_JSON``. Each round logs a real
pyfunc model in a new run and registers it; some rounds store a tree first and register it a
little later (the "blobs before the commit" window gc's grace period protects), leave an
orphan blob behind (a crashed writer), or delete an earlier directly-registered version.
OUT_JSON receives ``{"versions": {number: factor}, "deleted": [numbers]}``.
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
from modelshelf.pyfunc import PythonModel, save_model

MIN_ROUNDS = 6


class Scale(PythonModel):
    """Multiplies its input by a factor fixed at logging time."""

    def __init__(self, factor: int) -> None:
        self.factor = factor

    def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
        return [float(v) * self.factor for v in list(model_input)]


def main(url: str, options: dict[str, Any], seconds: float, out: str) -> None:
    client = Client(Shelf(url, **options))
    versions: dict[int, int] = {}
    deleted: list[int] = []
    direct: list[int] = []
    deadline = time.time() + seconds
    i = 0
    # At least MIN_ROUNDS, however slow the machine: the test relies on a deletion happening.
    while time.time() < deadline or i < MIN_ROUNDS:
        i += 1
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model")
            save_model(path, python_model=Scale(i))
            with open(os.path.join(path, "payload.bin"), "wb") as handle:
                handle.write(os.urandom(2048))
            if i % 2 == 0:
                # Store first, commit later: the blobs are unreferenced for a while.
                tree = client.shelf.blobs.put_tree(path)
                time.sleep(0.3)
                mv = client.create_model_version("live", f"sha256:{tree.hex}")
                direct.append(int(mv.version))
            else:
                run_id = client.create_run(run_name=f"w{i}").info.run_id
                client.log_artifacts(run_id, path, "model")
                mv = client.create_model_version("live", f"runs:/{run_id}/model")
            versions[int(mv.version)] = i
        if i % 3 == 0:
            client.shelf.blobs.put_bytes(os.urandom(512))  # a crashed writer's leftover
        if len(direct) >= 2:
            victim = direct.pop(0)
            client.delete_model_version("live", victim)
            deleted.append(victim)
    with open(out, "w") as handle:
        json.dump({"versions": versions, "deleted": deleted}, handle)


if __name__ == "__main__":
    main(sys.argv[1], json.loads(sys.argv[2]), float(sys.argv[3]), sys.argv[4])
