"""Custom models subclassing *modelshelf's* PythonModel, pickled by value (as if defined in a
notebook): the tests register this module with ``cloudpickle.register_pickle_by_value``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from modelshelf.pyfunc import PythonModel


class ArtifactsConfigParams(PythonModel):
    """Reads an artifact and the model config, keeps its context, takes a ``bump`` param."""

    def __init__(self, reg: Any) -> None:
        self.reg = reg

    def load_context(self, context: Any) -> None:
        self.offset = float(Path(context.artifacts["offset"]).read_text())
        self.scale = context.model_config["scale"]
        self.context = context

    def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        bump = (params or {}).get("bump", 0.0)
        base = self.reg.predict(model_input[["a", "b"]].to_numpy())
        return (base + self.offset + bump) * self.scale + len(context.artifacts)


class RowSums(PythonModel):
    def predict(self, model_input: Any) -> Any:
        return np.asarray(model_input, dtype=float).sum(axis=1)


class Shout(PythonModel):
    """A ``list[str]`` hint: both libraries hand it a DataFrame's first string column."""

    def predict(self, model_input: list[str]) -> list[str]:
        return [s.upper() for s in model_input]


class HoldsSignature(PythonModel):
    """Keeps a modelshelf object as an attribute: the pickle then needs modelshelf."""

    def __init__(self, signature: Any) -> None:
        self.signature = signature

    def predict(self, model_input: Any) -> Any:
        return len(self.signature.inputs.inputs)


def triple(model_input: Any) -> Any:
    return np.asarray(model_input, dtype=float) * 3


def with_params(model_input: Any, params: dict[str, Any] | None = None) -> Any:
    return np.asarray(model_input, dtype=float) + (params or {}).get("add", 0.0)
