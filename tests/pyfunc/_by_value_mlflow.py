"""Custom models subclassing *MLflow's* PythonModel, pickled by value (as if defined in a
notebook): the tests register this module with ``cloudpickle.register_pickle_by_value``, so
the pickle carries the classes' code and names only MLflow's base classes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow.pyfunc
import numpy as np
import pydantic
from mlflow.types.type_hints import TypeFromExample


class ArtifactsConfigParams(mlflow.pyfunc.PythonModel):
    """Reads an artifact and the model config, keeps its context, takes a ``bump`` param."""

    def __init__(self, reg: Any) -> None:
        self.reg = reg

    def load_context(self, context):  # type: ignore[no-untyped-def]
        self.offset = float(Path(context.artifacts["offset"]).read_text())
        self.scale = context.model_config["scale"]
        self.context = context  # a PythonModelContext ends up in the pickle

    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
        bump = (params or {}).get("bump", 0.0)
        base = self.reg.predict(model_input[["a", "b"]].to_numpy())
        return (base + self.offset + bump) * self.scale + len(context.artifacts)


class Upper(mlflow.pyfunc.PythonModel):
    def predict(self, model_input: list[str], params: dict[str, Any] | None = None) -> list[str]:
        suffix = (params or {}).get("suffix", "")
        return [s.upper() + suffix for s in model_input]


class SumRows(mlflow.pyfunc.PythonModel):
    def predict(self, model_input: list[dict[str, float]]) -> list[float]:
        return [float(np.sum(list(row.values()))) for row in model_input]


class Item(pydantic.BaseModel):
    name: str
    n: int = 1


class Repeat(mlflow.pyfunc.PythonModel):
    def predict(self, model_input: list[Item]) -> list[str]:
        return [item.name * item.n for item in model_input]


class Echo(mlflow.pyfunc.PythonModel):
    """Gets its input back in the input example's shape (MLflow's ``TypeFromExample``)."""

    def predict(self, model_input: TypeFromExample) -> Any:
        return {"type": type(model_input).__name__, "value": model_input}


def double(model_input: list[int]) -> list[int]:
    return [2 * x for x in model_input]
