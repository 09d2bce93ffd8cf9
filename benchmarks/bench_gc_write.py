"""What the gc protocol costs a writer: registering a small model, re-logging an unchanged tree.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_gc_write.py [--repeat 15] [--backends local,moto]

Run it once on a checkout before the two-phase gc and once after, and compare. Medians of
``--repeat`` runs, milliseconds:

* ``register small``: save a fresh tiny pyfunc model and ``create_model_version`` its folder;
* ``put_tree 200 unchanged``: ``put_tree`` again on an unchanged 200-file tree (1 KiB files);
* ``register 200 unchanged``: ``create_model_version`` of that unchanged folder.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import moto_server, print_table  # noqa: E402


def _model_class() -> Any:
    from modelshelf.pyfunc import PythonModel

    class Twice(PythonModel):  # type: ignore[misc]
        def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
            return [2 * v for v in model_input]

    return Twice


def _median_ms(fn: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def run(label: str, url: str, options: dict[str, Any], work: Path, repeat: int) -> list[list[str]]:
    from modelshelf._shelf import Shelf
    from modelshelf.client import Client
    from modelshelf.pyfunc import save_model

    client = Client(Shelf(url, cache_dir=str(work / f"cache-{label}"), **options))
    client.create_registered_model("bench")
    model = _model_class()

    def register_small() -> None:
        folder = work / f"m-{uuid.uuid4().hex}"
        save_model(str(folder), python_model=model())
        client.create_model_version("bench", str(folder))

    tree = work / f"tree-{label}"
    for i in range(200):
        path = tree / f"d{i % 10}" / f"f{i}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(1024))
    client.shelf.blobs.put_tree(tree)
    client.create_model_version("bench", str(tree))
    register_small()  # warm imports and connections
    rows = [
        [label, "register small", f"{_median_ms(register_small, repeat):.1f}"],
        [
            label,
            "put_tree 200 unchanged",
            f"{_median_ms(lambda: client.shelf.blobs.put_tree(tree), repeat):.1f}",
        ],
        [
            label,
            "register 200 unchanged",
            f"{_median_ms(lambda: client.create_model_version('bench', str(tree)), repeat):.1f}",
        ],
    ]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="local,moto")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    backends = args.backends.split(",")
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if "local" in backends:
            rows += run("local", str(work / "shelf"), {}, work, args.repeat)
        if "moto" in backends:
            import s3fs

            with moto_server() as (_endpoint, options):
                s3fs.S3FileSystem(**options).mkdir("bench")
                rows += run("moto", "s3://bench/shelf", options, work, args.repeat)
    print_table(["backend", "write", "median ms"], rows)


if __name__ == "__main__":
    main()
