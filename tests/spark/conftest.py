"""One local[2] Spark session for the module, and models on a moto-backed shelf."""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pyspark")
pytest.importorskip("sklearn")

from modelshelf._shelf import reset_shelf  # noqa: E402
from modelshelf.runs import _fluent  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """``local[2]``; the Python workers run this interpreter (with pandas) and import this
    checkout's modelshelf and test models."""
    from pyspark.sql import SparkSession

    saved = {
        k: os.environ.get(k) for k in ("PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON", "PYTHONPATH")
    }
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "src"), str(ROOT), saved["PYTHONPATH"] or ""]
    )
    executor_cache = tmp_path_factory.mktemp("spark-executor-cache")
    session = (
        SparkSession.builder.master("local[2]")
        .appName("modelshelf-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.executorEnv.MODELSHELF_CACHE_DIR", str(executor_cache))
        .config("spark.executorEnv.MODELSHELF_PROGRESS", "0")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@dataclass
class SparkShelf:
    url: str
    options: dict[str, Any]
    features: Any  # DataFrame with columns a, b
    matrix: Any  # the same numbers as an (n, 2) float64 array


@pytest.fixture(scope="session")
def s3_models(moto_endpoint: Any, tmp_path_factory: pytest.TempPathFactory) -> SparkShelf:
    """On S3 (moto): "frame" (DataFrame signature), "tensor" (ndarray signature), "two"
    (struct output with a params schema)."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    import modelshelf
    from modelshelf.models import infer_signature
    from tests.spark._models import TwoOutputs

    url = f"{moto_endpoint.base_url}/spark-{uuid.uuid4().hex}"
    options = json.loads(json.dumps(moto_endpoint.options))
    rng = np.random.default_rng(11)
    matrix = rng.normal(size=(50, 2))
    frame = pd.DataFrame(matrix, columns=["a", "b"])
    y = 3.0 * frame["a"] - frame["b"] + 0.25
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODELSHELF_CACHE_DIR", str(tmp_path_factory.mktemp("spark-driver-cache")))
        reset_shelf()
        _fluent._reset()
        try:
            modelshelf.set_shelf(url, **options)
            with modelshelf.start_run():
                modelshelf.sklearn.log_model(
                    LinearRegression().fit(frame, y), name="frame",
                    registered_model_name="frame", input_example=frame.head(3),
                )  # fmt: skip
                modelshelf.sklearn.log_model(
                    LinearRegression().fit(matrix, y), name="tensor",
                    registered_model_name="tensor", input_example=matrix[:3],
                )  # fmt: skip
                two = TwoOutputs()
                signature = infer_signature(
                    frame, two.predict(None, frame.head(3)), params={"bump": 0.0}
                )
                modelshelf.pyfunc.log_model(
                    name="two", python_model=two, signature=signature,
                    registered_model_name="two",
                )  # fmt: skip
            client = modelshelf.MlflowClient()
            client.set_registered_model_alias("frame", "champion", 1)
        finally:
            _fluent._reset()
            reset_shelf()
    return SparkShelf(url, options, frame, matrix)


@pytest.fixture
def on_shelf(s3_models: SparkShelf) -> Iterator[SparkShelf]:
    """Make the S3 shelf current in the driver for one test."""
    import modelshelf

    modelshelf.set_shelf(s3_models.url, **s3_models.options)
    try:
        yield s3_models
    finally:
        reset_shelf()
