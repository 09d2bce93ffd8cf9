"""Models the serving tests register (importable, so the server process unpickles them)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from modelshelf.pyfunc import PythonModel


class BumpModel(PythonModel):
    """a + b, plus the ``bump`` param: shows params reach the model through the server."""

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> Any:
        bump = float((params or {}).get("bump", 0.0))
        return (model_input["a"] + model_input["b"]).to_numpy() + bump


class BrokenModel(PythonModel):
    """Saves fine, fails to load: a version the server must leave unserved."""

    def load_context(self, context: Any) -> None:
        if context.artifacts is not None and "fail" in context.artifacts:
            raise RuntimeError("this version is broken on purpose")

    def predict(self, context: Any, model_input: Any) -> Any:
        return np.zeros(len(model_input))


class SlowModel(PythonModel):
    """Sleeps ``seconds`` (a param) before answering: a request that is still in flight."""

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> Any:
        import time

        time.sleep(float((params or {}).get("seconds", 0.0)))
        return np.ones(len(model_input))
