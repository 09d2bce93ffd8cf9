"""Tiny real models used by the pyfunc tests (importable, so pickles refer to them by name)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modelshelf.pyfunc import PythonModel


def train_linear() -> Any:
    from sklearn.linear_model import LinearRegression

    x = np.array([[1.0, 2.0], [2.0, 1.0], [3.0, 4.0], [4.0, 3.0], [5.0, 7.0]])
    y = x @ np.array([2.0, -1.0]) + 0.5
    return LinearRegression().fit(x, y)


class LinModel(PythonModel):
    """Wraps a trained LinearRegression; reads an offset from an artifact and the config."""

    def __init__(self) -> None:
        self.reg = train_linear()

    def load_context(self, context: Any) -> None:
        path = (context.artifacts or {}).get("offset")
        self.offset = float(Path(path).read_text()) if path else 0.0
        self.scale = (context.model_config or {}).get("scale", 1.0)

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> Any:
        bump = (params or {}).get("bump", 0.0)
        return (
            self.reg.predict(model_input[["a", "b"]].to_numpy()) + self.offset + bump
        ) * self.scale


class NoContextModel(PythonModel):
    def predict(self, model_input: Any) -> Any:
        return np.asarray(model_input, dtype=float).sum(axis=1)


class CtxNamedModel(PythonModel):
    """Two non-self/params parameters with other names: context is still passed first."""

    def predict(self, ctx: Any, data: Any) -> Any:
        assert ctx.__class__.__name__ == "PythonModelContext"
        return np.asarray(data, dtype=float) * 2


class ParamsOnlyModel(PythonModel):
    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        return {"n": len(model_input), "params": params}


class StreamModel(PythonModel):
    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        return list(model_input)

    def predict_stream(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        for item in model_input:
            yield f"{item}{(params or {}).get('suffix', '')}"
