"""modelshelf-toyflavor: a complete third-party flavor for a JSON-stored linear model.

Installed, it is found through the ``modelshelf.flavors`` entry point (``toy``). Its models
carry a ``toy`` section and a ``python_function`` section naming this module, so
``modelshelf.pyfunc`` (and MLflow, with this package installed) can predict with them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from modelshelf.flavors import (
    add_pyfunc_flavor,
    flavor_conf,
    local_model_dir,
    save_example_and_signature,
    staged_model_dir,
    write_model,
)
from modelshelf.models import Model

__version__ = "0.1.0"
FLAVOR_NAME = "toy"
LOADER_MODULES = (__name__,)  # python_function.loader_module values this flavor loads
DATA_FILE = "model.json"


class ToyLinear:
    """y = X @ coef + intercept."""

    def __init__(self, coef: list[float], intercept: float) -> None:
        self.coef = [float(c) for c in coef]
        self.intercept = float(intercept)

    def predict(self, X: Any) -> np.ndarray:  # noqa: N803
        return np.asarray(X, dtype=np.float64) @ np.asarray(self.coef) + self.intercept


def get_default_pip_requirements() -> list[str]:
    return [f"modelshelf-toyflavor=={__version__}", "numpy"]


def save_model(
    toy_model: ToyLinear,
    path: Any,
    *,
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: dict[str, Any] | None = None,
    mlflow_model: Model | None = None,
) -> Model:
    """Write ``toy_model`` as a model directory at ``path`` (write-once)."""
    model = mlflow_model if mlflow_model is not None else Model(metadata=metadata)
    with staged_model_dir(path) as root:
        save_example_and_signature(
            model,
            root,
            input_example=input_example,
            signature=signature,
            predict=lambda data, params: toy_model.predict(data),
        )
        payload = {"coef": toy_model.coef, "intercept": toy_model.intercept}
        (root / DATA_FILE).write_text(json.dumps(payload), encoding="utf-8")
        add_pyfunc_flavor(model, __name__, data=DATA_FILE)
        model.add_flavor(FLAVOR_NAME, data=DATA_FILE, toy_version=__version__)
        write_model(
            model,
            root,
            defaults=get_default_pip_requirements(),
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
        )
    return model


def _read(file: Path) -> ToyLinear:
    data = json.loads(file.read_text(encoding="utf-8"))
    return ToyLinear(data["coef"], data["intercept"])


def load_model(model_uri: Any) -> ToyLinear:
    """The ToyLinear saved at ``model_uri``."""
    root = local_model_dir(model_uri)
    _meta, conf = flavor_conf(root, FLAVOR_NAME)
    return _read(root / conf["data"])


class _Wrapper:
    def __init__(self, model: ToyLinear) -> None:
        self.model = model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> np.ndarray:
        return self.model.predict(data)


def _load_pyfunc(path: Any, model_config: dict[str, Any] | None = None, **_: Any) -> _Wrapper:
    """pyfunc entry: ``path`` is the ``data`` file (``model.json``)."""
    return _Wrapper(_read(Path(path)))
