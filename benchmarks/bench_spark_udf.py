"""Batch scoring: ``modelshelf.pyfunc.spark_udf`` vs ``mlflow.pyfunc.spark_udf``, same model.

A scikit-learn LinearRegression on 8 double columns, logged with modelshelf on an S3 shelf
(moto in its own process). One ``local[2]`` Spark session scores a cached DataFrame of
``--rows`` rows: modelshelf with ``distribute="shelf"`` (each Python worker reads the tree
from the shelf into its verified cache, once) and ``distribute="broadcast"`` (the driver
ships the folder; workers check every file's sha256), and MLflow with ``env_manager="local"``
on the same model folder. "create" is the ``spark_udf`` call (resolving, fetching, and for
broadcast packing the folder); "first" is the first full pass (Python workers load the
model; the first UDF made also pays for starting them); rows/s is the median of ``--repeat``
later passes, run in rotating order. Each pass is
``df.select(udf(*cols)).agg(sum)``, so Spark runs the UDF on every row.

    .venv/bin/python benchmarks/bench_spark_udf.py [--rows 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import moto_server, print_table  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    opts = parser.parse_args()

    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    src = Path(__file__).resolve().parents[1] / "src"
    os.environ["PYTHONPATH"] = os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")])
    with (
        tempfile.TemporaryDirectory(prefix="bench-spark-") as tmp,
        moto_server() as (
            endpoint,
            options,
        ),
    ):
        work = Path(tmp)
        os.environ["MODELSHELF_CACHE_DIR"] = str(work / "driver-cache")
        os.environ["MODELSHELF_PROGRESS"] = "0"
        import fsspec

        fsspec.filesystem("s3", **options).mkdir("bench")
        import modelshelf
        from modelshelf.uri import local_model_dir

        modelshelf.set_shelf("s3://bench/shelf", **options)
        rng = np.random.default_rng(0)
        cols = [f"x{i}" for i in range(8)]
        train = pd.DataFrame(rng.normal(size=(500, 8)), columns=cols)
        with modelshelf.start_run():
            modelshelf.sklearn.log_model(
                LinearRegression().fit(train, train.to_numpy() @ rng.normal(size=8)),
                name="model",
                registered_model_name="bench",
                input_example=train.head(3),
                pip_requirements=["scikit-learn"],
            )
        folder = str(local_model_dir("models:/bench/1"))

        from pyspark.sql import SparkSession
        from pyspark.sql import functions as F

        spark = (
            SparkSession.builder.master("local[2]")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.driver.memory", "2g")
            .config("spark.executorEnv.MODELSHELF_CACHE_DIR", str(work / "executor-cache"))
            .getOrCreate()
        )
        spark.sparkContext.setLogLevel("ERROR")
        df = spark.range(opts.rows).select(
            *[(F.rand(seed=i) * 2 - 1).alias(c) for i, c in enumerate(cols)]
        )
        df = df.repartition(2).cache()
        df.count()

        import mlflow.pyfunc

        makers: dict[str, Any] = {
            "modelshelf shelf": lambda: modelshelf.pyfunc.spark_udf(
                spark, "models:/bench/1", result_type="double", distribute="shelf"
            ),
            "modelshelf broadcast": lambda: modelshelf.pyfunc.spark_udf(
                spark, "models:/bench/1", result_type="double", distribute="broadcast"
            ),
            "mlflow": lambda: mlflow.pyfunc.spark_udf(
                spark, folder, result_type="double", env_manager="local"
            ),
        }
        udfs: dict[str, Any] = {}
        created: dict[str, float] = {}
        firsts: dict[str, float] = {}
        passes: dict[str, list[float]] = {name: [] for name in makers}

        def run(udf: Any) -> float:
            t = time.perf_counter()
            df.select(udf(*cols).alias("p")).agg(F.sum("p")).collect()
            return time.perf_counter() - t

        for name, make in makers.items():
            t0 = time.perf_counter()
            udfs[name] = make()
            created[name] = time.perf_counter() - t0
            firsts[name] = run(udfs[name])
        names = list(makers)
        for round_ in range(opts.repeat):  # rotate the order: no side always runs warmest
            for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
                passes[name].append(run(udfs[name]))
        rows = []
        for name in names:
            rate = opts.rows / statistics.median(passes[name])
            rows.append([name, f"{created[name]:.2f}", f"{firsts[name]:.2f}", f"{rate:,.0f}"])
        spark.stop()
    ours = float(rows[0][3].replace(",", ""))
    theirs = float(rows[2][3].replace(",", ""))
    print_table(["spark_udf", "create s", "first pass s", "rows/s"], rows)
    print(f"\nrows/s, modelshelf (shelf) / MLflow: {ours / theirs:.2f} ({opts.rows:,} rows)")


if __name__ == "__main__":
    main()
