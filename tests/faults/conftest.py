"""A shelf on a real emulator, reached through a fault-injecting proxy (tests/_faults.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from modelshelf._shelf import Shelf, reset_shelf
from modelshelf.client import Client
from tests._faults import FaultProxy
from tests._servers import Endpoint

# Client timeouts short enough that a "delay" fault (a hang) costs about a second, and SDK
# retries few enough that a persistent fault fails in seconds, not minutes.
TIMEOUT = 1.0
HANG = 1.6


@dataclass
class FaultyShelf:
    """A fresh shelf on ``backend``: ``client()`` goes through the proxy, ``direct()`` not."""

    backend: str
    proxy: FaultProxy
    url: str
    faulty_options: dict[str, Any]
    direct_options: dict[str, Any]

    def client(self) -> Client:
        return Client(Shelf(self.url, **self.faulty_options))

    def direct(self) -> Client:
        return Client(Shelf(self.url, **self.direct_options))


def _s3_options(endpoint: Endpoint, http: str) -> dict[str, Any]:
    return {
        **endpoint.options,
        "endpoint_url": http,
        "config_kwargs": {
            "read_timeout": TIMEOUT,
            "connect_timeout": TIMEOUT,
            "retries": {"max_attempts": 2, "mode": "standard"},
        },
    }


def _gcs_options(endpoint: Endpoint, http: str) -> dict[str, Any]:
    return {**endpoint.options, "endpoint_url": http, "requests_timeout": TIMEOUT}


_OPTIONS: dict[str, Callable[[Endpoint, str], dict[str, Any]]] = {
    "moto": _s3_options,
    "fakegcs": _gcs_options,
}
_DIALECT = {"moto": "s3", "fakegcs": "gcs"}


@pytest.fixture
def faulty(request: pytest.FixtureRequest) -> Iterator[FaultyShelf]:
    backend = getattr(request, "param", "moto")
    endpoint: Endpoint = request.getfixturevalue(f"{backend}_endpoint")
    reset_shelf()
    with FaultProxy(endpoint.http, dialect=_DIALECT[backend], seed=7) as proxy:
        url = f"{endpoint.base_url}/faults-{uuid.uuid4().hex}"
        yield FaultyShelf(
            backend,
            proxy,
            url,
            _OPTIONS[backend](endpoint, proxy.url),
            dict(endpoint.options),
        )
    reset_shelf()


@pytest.fixture(scope="session")
def trained() -> LinearRegression:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    return LinearRegression().fit(X, X @ np.array([1.0, -2.0, 0.5]) + 1.0)


@pytest.fixture
def files(tmp_path: Path) -> Path:
    folder = tmp_path / "files"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_bytes(b"alpha\n" * 10)
    (folder / "sub" / "b.bin").write_bytes(bytes(range(256)) * 400)  # 100 KiB
    (folder / "c.json").write_text('{"k": 1}')
    return folder
