"""A model for the spark_udf tests (importable, so executors unpickle it by name)."""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

from modelshelf.pyfunc import PythonModel


class TwoOutputs(PythonModel):
    """A frame of two columns (a struct per row) that depends on the ``bump`` param."""

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        bump = float((params or {}).get("bump", 0.0))
        total = model_input["a"] + model_input["b"] + bump
        plus = os.environ.get("SPARK_TEST_PLUS", "+")  # spark_udf(extra_env=…) reaches here
        return pd.DataFrame({"total": total, "sign": [plus if v >= 0 else "-" for v in total]})
