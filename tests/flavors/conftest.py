"""Fixtures for the flavor tests: tiny real training data and pyfunc loading of flavor models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="session", autouse=True)
def _flavor_loaders_in_pyfunc() -> None:
    # modelshelf.pyfunc maps MLflow loader modules through register_loader; make sure the
    # flavor mappings are in (idempotent if pyfunc already consults modelshelf.flavors).
    from modelshelf.flavors import register_pyfunc_loaders
    from modelshelf.pyfunc import register_loader

    register_pyfunc_loaders(register_loader)


@pytest.fixture(scope="session")
def xy() -> tuple[pd.DataFrame, np.ndarray]:
    """40 rows, two float features, a binary label that depends on them."""
    rng = np.random.default_rng(7)
    X = pd.DataFrame({"a": rng.normal(size=40), "b": rng.normal(size=40)})
    y = (X["a"] + 0.5 * X["b"] > 0).astype("int64").to_numpy()
    return X, y
