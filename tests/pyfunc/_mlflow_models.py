"""Models written with real MLflow classes (imported only by interop tests)."""

from __future__ import annotations

from pathlib import Path

import mlflow.pyfunc
import numpy as np

from tests.pyfunc._models import train_linear


class MlflowLinModel(mlflow.pyfunc.PythonModel):
    def __init__(self) -> None:
        self.reg = train_linear()

    def load_context(self, context):  # type: ignore[no-untyped-def]
        path = (context.artifacts or {}).get("offset")
        self.offset = float(Path(path).read_text()) if path else 0.0
        self.scale = (context.model_config or {}).get("scale", 1.0)

    # No annotations: MLflow would try to derive a signature from them and warn.
    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
        bump = (params or {}).get("bump", 0.0)
        return (
            self.reg.predict(model_input[["a", "b"]].to_numpy()) + self.offset + bump
        ) * self.scale


class MlflowNoContext(mlflow.pyfunc.PythonModel):
    def predict(self, model_input):  # type: ignore[no-untyped-def]
        return np.asarray(model_input, dtype=float).sum(axis=1)
