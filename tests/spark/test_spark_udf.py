"""spark_udf on a real local[2] Spark, models read from a moto-backed shelf: the same
predictions as pyfunc, row for row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.spark.conftest import SparkShelf

pytestmark = pytest.mark.slow  # one Spark session (≈20 s to start on a busy machine)


def _ordered(rows: list[Any], column: str) -> list[Any]:
    return [row[column] for row in sorted(rows, key=lambda r: r["id"])]


@pytest.mark.parametrize("distribute", ["shelf", "broadcast"])
def test_dataframe_model_matches_pyfunc_row_for_row(
    spark: Any, on_shelf: SparkShelf, distribute: str
) -> None:
    from pyspark.sql.functions import struct

    import modelshelf

    frame = on_shelf.features.copy()
    frame.insert(0, "id", range(len(frame)))
    expected = modelshelf.pyfunc.load_model("models:/frame@champion").predict(on_shelf.features)
    udf = modelshelf.pyfunc.spark_udf(
        spark, "models:/frame@champion", result_type="double", distribute=distribute
    )
    df = spark.createDataFrame(frame).repartition(2)
    out = df.select(
        "id",
        udf().alias("by_signature"),  # no columns: the signature's input names
        udf("a", "b").alias("positional"),
        udf(struct("b", "a")).alias("by_struct"),  # a struct passes its field names
    ).collect()
    for column in ("by_signature", "positional", "by_struct"):
        assert np.allclose(_ordered(out, column), expected), column
    # the executors' own cache (not the driver's) holds the model, fetched the chosen way
    digest = modelshelf.MlflowClient().get_model_version("frame", 1).digest.split(":")[1]
    executor_cache = Path(spark.conf.get("spark.executorEnv.MODELSHELF_CACHE_DIR"))
    where = {"shelf": f"trees/{digest}", "broadcast": f"spark/sha256-{digest}"}[distribute]
    assert (executor_cache / where / "MLmodel").is_file()
    # without result_type, the output signature (one double column) says double
    default = modelshelf.pyfunc.spark_udf(spark, "models:/frame/1", distribute=distribute)
    assert default.metadata.get_output_schema().input_types()[0].name == "double"
    by_default = df.select("id", default().alias("p")).collect()
    assert np.allclose(_ordered(by_default, "p"), expected)


def test_tensor_model_takes_an_array_column(spark: Any, on_shelf: SparkShelf) -> None:
    import pandas as pd

    import modelshelf

    expected = modelshelf.pyfunc.load_model("models:/tensor/1").predict(on_shelf.matrix)
    frame = pd.DataFrame({"id": range(len(on_shelf.matrix)), "x": list(on_shelf.matrix)})
    udf = modelshelf.pyfunc.spark_udf(spark, "models:/tensor/1", result_type="double")
    out = spark.createDataFrame(frame).select("id", udf("x").alias("p")).collect()
    assert np.allclose(_ordered(out, "p"), expected)


def test_struct_result_and_params(spark: Any, on_shelf: SparkShelf) -> None:
    import modelshelf
    from modelshelf.errors import SchemaEnforcementError

    frame = on_shelf.features.copy()
    frame.insert(0, "id", range(len(frame)))
    model = modelshelf.pyfunc.load_model("models:/two/1")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPARK_TEST_PLUS", "pos")
        expected = model.predict(on_shelf.features, params={"bump": 2.0})
    assert "pos" in set(expected["sign"])
    udf = modelshelf.pyfunc.spark_udf(
        spark, "models:/two/1", params={"bump": 2}, extra_env={"SPARK_TEST_PLUS": "pos"}
    )
    assert udf.metadata.get_output_schema().input_names() == ["total", "sign"]
    rows = spark.createDataFrame(frame).select("id", udf("a", "b").alias("r")).collect()
    got = [row["r"] for row in sorted(rows, key=lambda r: r["id"])]
    assert np.allclose([r["total"] for r in got], expected["total"])
    assert [r["sign"] for r in got] == list(expected["sign"])
    with pytest.raises(SchemaEnforcementError, match="bump"):
        modelshelf.pyfunc.spark_udf(spark, "models:/two/1", params={"bump": "high"})
