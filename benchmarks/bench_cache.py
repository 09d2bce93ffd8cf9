"""Cache benchmark: what a warm ``load_model`` costs, including the check that the cached copy
is still the bytes that were verified, and what the other ways of proving it would cost.

Two models on a local shelf: a small scikit-learn model, and the same model with 200 extra
files of 512 KiB (100 MiB). For each it prints, in ms (min / median of repeated runs):

* ``warm load``: ``pyfunc.load_model`` of a numbered version already in the cache;
* ``check``: ``local_model_dir`` alone (the memo, and the cached folder's check);
* ``rehash``: hashing every file of the folder instead (what checking by content costs);
* ``first link`` / ``first copy``: the first ``load_model`` into an empty cache (blobs fetched
  and hashed, the folder built), with hard links (chosen) or with read-only copies.

Usage::

    .venv/bin/python benchmarks/bench_cache.py          # this checkout's src/
    PYTHONPATH=<other>/src .venv/bin/python benchmarks/bench_cache.py   # another version
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if not os.environ.get("PYTHONPATH"):
    sys.path.insert(0, str(ROOT / "src"))

WARM_N = 40
BUILD_N = 5


def _times(fn: Callable[[], Any], n: int, before: Callable[[], Any] | None = None) -> str:
    times = []
    for _ in range(n):
        if before is not None:
            before()
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return f"{min(times):.2f} / {statistics.median(times):.2f}"


def _first_load(mlflow: Any, uri: str, tmp: str, *, copies: bool = False) -> str:
    """``load_model`` into a new, empty cache (blobs copied from the local shelf, hashed, and
    the folder built), with hard links or, ``copies``, read-only copies."""
    from modelshelf import _shelf
    from modelshelf.cas import _store

    real = _store._materialise

    def copy(cached: Path, target: Path, executable: bool) -> None:
        shutil.copyfile(cached, target)

    url = _shelf.get_shelf().url
    n = [0]

    def fresh() -> None:
        n[0] += 1
        os.environ["MODELSHELF_CACHE_DIR"] = f"{tmp}/cache-{'c' if copies else 'l'}{n[0]}"
        mlflow.set_shelf(url)

    if copies:
        _store._materialise = copy  # type: ignore[assignment]
    try:
        return _times(lambda: mlflow.pyfunc.load_model(uri), BUILD_N, fresh)
    finally:
        _store._materialise = real
        os.environ["MODELSHELF_CACHE_DIR"] = f"{tmp}/cache"
        mlflow.set_shelf(url)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as tmp:
        os.environ["MODELSHELF_CACHE_DIR"] = f"{tmp}/cache"
        os.environ["MODELSHELF_PROGRESS"] = "0"
        import numpy as np
        from sklearn.linear_model import LinearRegression

        import modelshelf as mlflow
        from modelshelf.cas import hash_file
        from modelshelf.uri import local_model_dir

        mlflow.set_shelf(f"{tmp}/shelf")
        x = np.arange(20, dtype=float).reshape(10, 2)
        model = LinearRegression().fit(x, x.sum(axis=1))
        with mlflow.start_run() as run:
            mlflow.sklearn.log_model(model, name="small", registered_model_name="small")
        big_dir = Path(tmp) / "big-model"
        mlflow.sklearn.save_model(model, str(big_dir))
        (big_dir / "extra").mkdir()
        for i in range(200):
            (big_dir / "extra" / f"part-{i:03d}.bin").write_bytes(os.urandom(512 << 10))
        client = mlflow.MlflowClient()
        client.log_artifacts(run.info.run_id, str(big_dir), "big")
        client.create_registered_model("big")
        client.create_model_version("big", f"runs:/{run.info.run_id}/big")
        print(
            f"{'model':<20}{'warm load':>16}{'check':>16}{'rehash':>16}"
            f"{'first link':>16}{'first copy':>16}   (ms, min / median)"
        )
        for name, uri in (
            ("small sklearn", "models:/small/1"),
            ("200 files, 100 MiB", "models:/big/1"),
        ):
            mlflow.pyfunc.load_model(uri).predict(x)
            warm = _times(lambda uri=uri: mlflow.pyfunc.load_model(uri), WARM_N)
            check = _times(lambda uri=uri: local_model_dir(uri), WARM_N)
            folder = local_model_dir(uri)
            files = [p for p in folder.rglob("*") if p.is_file()]
            rehash = _times(lambda files=files: [hash_file(str(p)) for p in files], BUILD_N)

            link = _first_load(mlflow, uri, tmp)
            copy = _first_load(mlflow, uri, tmp, copies=True)
            print(f"{name:<20}{warm:>16}{check:>16}{rehash:>16}{link:>16}{copy:>16}")


if __name__ == "__main__":
    main()
