"""Fixtures for the drop-in tests: a local current shelf, clean fluent state, a tiny model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from modelshelf._shelf import Shelf, reset_shelf, set_shelf
from modelshelf.runs import _fluent


@pytest.fixture(autouse=True)
def _clean_fluent_state() -> Iterator[None]:
    reset_shelf()
    _fluent._reset()
    yield
    _fluent._reset()
    reset_shelf()


@pytest.fixture
def shelf(tmp_path: Path) -> Shelf:
    """A fresh local shelf, made the current one."""
    opened = Shelf(str(tmp_path / "shelf"))
    set_shelf(opened)
    return opened


@pytest.fixture(scope="session")
def xy() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"a": rng.normal(size=30), "b": rng.normal(size=30)})
    y = (X["a"] - X["b"] > 0).astype("int64").to_numpy()
    return X, y


@pytest.fixture(scope="session")
def clf(xy: tuple[pd.DataFrame, np.ndarray]) -> Any:
    from sklearn.linear_model import LogisticRegression

    X, y = xy
    return LogisticRegression().fit(X, y)
