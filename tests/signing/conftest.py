"""Fixtures for the signing tests: key pairs, a trained model, and a signed shelf."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from modelshelf._shelf import reset_shelf
from modelshelf.registry._replica import clear_replicas
from modelshelf.signing import generate_key_pair


@dataclass(frozen=True)
class KeyPair:
    private: Path
    public: Path
    key_id: str


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    clear_replicas()
    reset_shelf()
    yield
    clear_replicas()
    reset_shelf()


@pytest.fixture
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, KeyPair]:
    """``release``, ``ci`` (both trusted) and ``attacker`` (trusted by nobody)."""
    folder = tmp_path_factory.mktemp("keys")
    made = {}
    for name in ("release", "ci", "attacker"):
        made[name] = KeyPair(*generate_key_pair(folder / f"{name}.pem"))
    return made


@pytest.fixture(scope="session")
def trained() -> Any:
    """Two really trained tiny regressors that predict differently."""
    import numpy as np
    from sklearn.linear_model import LinearRegression

    X = np.arange(20, dtype=float).reshape(10, 2)
    return (
        LinearRegression().fit(X, X[:, 0] * 2.0),
        LinearRegression().fit(X, X[:, 1] * -3.0),
        X,
    )


def save(model: Any, path: Path) -> Path:
    from modelshelf.flavors import sklearn as flavor

    flavor.save_model(model, path, serialization_format="cloudpickle", pip_requirements=[])
    return path
