"""Cache benchmark: what a warm ``load_model`` costs, including the check that the cached copy
is still the bytes that were verified.

Two models on a local shelf: a small scikit-learn model, and the same model with 200 extra
files of 512 KiB (~100 MiB). For each: the first load (fills the cache), then the median of
warm loads in the same process, and the time of the cache check alone (``local_model_dir``).

Usage::

    .venv/bin/python benchmarks/bench_cache.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

WARM_N = 30


def _median_ms(fn: object, n: int = WARM_N) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as tmp:
        os.environ["MODELSHELF_CACHE_DIR"] = f"{tmp}/cache"
        os.environ["MODELSHELF_PROGRESS"] = "0"
        import numpy as np
        from sklearn.linear_model import LinearRegression

        import modelshelf as mlflow
        from modelshelf.uri import local_model_dir

        mlflow.set_shelf(f"{tmp}/shelf")
        x = np.arange(20, dtype=float).reshape(10, 2)
        model = LinearRegression().fit(x, x.sum(axis=1))
        with mlflow.start_run():
            mlflow.sklearn.log_model(model, name="small", registered_model_name="small")
            mlflow.sklearn.log_model(model, name="big", registered_model_name="big")
        client = mlflow.MlflowClient()
        big_run = client.get_model_version("big", "1").run_id
        # The big model: the same sklearn model plus 200 files, as a new version of "big".
        big_dir = Path(tmp) / "big-model"
        mlflow.sklearn.save_model(model, str(big_dir))
        (big_dir / "extra").mkdir()
        for i in range(200):
            (big_dir / "extra" / f"part-{i:03d}.bin").write_bytes(os.urandom(512 << 10))
        client.log_artifacts(big_run, str(big_dir), "big-data")
        client.create_model_version("big", f"runs:/{big_run}/big-data")
        rows = []
        for name, uri in (
            ("small sklearn", "models:/small/1"),
            ("200 files, 100 MiB", "models:/big/2"),
        ):
            t = time.perf_counter()
            loaded = mlflow.pyfunc.load_model(uri)
            first = (time.perf_counter() - t) * 1000
            loaded.predict(x)
            warm = _median_ms(lambda uri=uri: mlflow.pyfunc.load_model(uri))
            check = _median_ms(lambda uri=uri: local_model_dir(uri))
            rows.append((name, first, warm, check))
        print(f"{'model':<22}{'first load':>12}{'warm load':>12}{'cache check':>13}  (ms, median)")
        for name, first, warm, check in rows:
            print(f"{name:<22}{first:>12.1f}{warm:>12.2f}{check:>13.2f}")


if __name__ == "__main__":
    main()
