"""A shelf with a really trained linear model (versions 1 and 2), a params model and a
version that fails to load; and a helper that runs ``modelshelf serve`` as a subprocess."""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("sklearn")
pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from modelshelf._shelf import reset_shelf  # noqa: E402
from modelshelf.runs import _fluent  # noqa: E402
from tests._servers import ServerProcess, free_port  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class ServeShelf:
    url: str
    cache: Path
    features: Any  # DataFrame the models take
    digests: dict[int, str]  # version of "lin" -> tree digest

    def env(self) -> dict[str, str]:
        path = os.pathsep.join([str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")])
        return {
            "MODELSHELF_CACHE_DIR": str(self.cache),
            "MODELSHELF_PROGRESS": "0",
            "PYTHONPATH": path,
        }


@pytest.fixture(scope="session")
def serve_shelf(tmp_path_factory: pytest.TempPathFactory) -> ServeShelf:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    import modelshelf
    from modelshelf.models import infer_signature
    from tests.serve._models import BrokenModel, BumpModel, SlowModel

    root = tmp_path_factory.mktemp("serve")
    url, cache = str(root / "shelf"), root / "cache"
    rng = np.random.default_rng(7)
    X = pd.DataFrame({"a": rng.normal(size=40), "b": rng.normal(size=40)})
    digests: dict[int, str] = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODELSHELF_CACHE_DIR", str(cache))
        reset_shelf()
        _fluent._reset()
        try:
            modelshelf.set_shelf(url)
            client = modelshelf.MlflowClient()
            for slope in (2.0, -3.0):  # versions 1 and 2 of "lin" answer differently
                y = slope * X["a"] + X["b"]
                with modelshelf.start_run():
                    modelshelf.sklearn.log_model(
                        LinearRegression().fit(X, y), name="model",
                        registered_model_name="lin", input_example=X.head(3),
                    )  # fmt: skip
            flag = root / "fail.txt"
            flag.write_text("1")
            with modelshelf.start_run():  # version 3: fails to load
                modelshelf.pyfunc.log_model(
                    name="model", python_model=BrokenModel(), artifacts={"fail": str(flag)},
                    registered_model_name="lin",
                )  # fmt: skip
            with modelshelf.start_run():  # a tensor signature: float64, shape (-1, 2)
                modelshelf.sklearn.log_model(
                    LinearRegression().fit(X.to_numpy(), X["a"] - X["b"]), name="model",
                    registered_model_name="tens", input_example=X.to_numpy()[:2],
                )  # fmt: skip
            for v in (1, 2, 3):
                digests[v] = client.get_model_version("lin", v).digest
            client.set_registered_model_alias("lin", "champion", 1)
            client.set_registered_model_alias("lin", "canary", 1)
            signature = infer_signature(X, np.zeros(len(X)), params={"bump": 0.0})
            with modelshelf.start_run():
                modelshelf.pyfunc.log_model(
                    name="model", python_model=BumpModel(), signature=signature,
                    registered_model_name="bump",
                )  # fmt: skip
                modelshelf.pyfunc.log_model(
                    name="slow", python_model=SlowModel(),
                    signature=infer_signature(X, np.zeros(len(X)), params={"seconds": 0.0}),
                    registered_model_name="slow",
                )  # fmt: skip
        finally:
            _fluent._reset()
            reset_shelf()
    return ServeShelf(url, cache, X, digests)


@dataclass
class Server:
    process: ServerProcess
    base: str

    def log(self) -> str:
        return self.process.log_path.read_text(errors="replace")


ServerFactory = Callable[..., Server]


@pytest.fixture(scope="module")
def start_server(
    serve_shelf: ServeShelf, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerFactory]:
    """``start(model_uri, *extra_args) -> Server``: ``modelshelf serve`` on a free port; the
    same arguments in one module share one server (tests of one module must not move the
    alias another one follows)."""
    from tests.serve._http import status

    started: list[ServerProcess] = []
    servers: dict[tuple[str, ...], Server] = {}

    def start(model_uri: str, *extra: str) -> Server:
        key = (model_uri, *extra)
        if key in servers and servers[key].process.process is not None:
            return servers[key]
        port = free_port()
        process = ServerProcess(
            f"serve-{uuid.uuid4().hex[:8]}",
            [
                sys.executable, "-m", "modelshelf.cli", "serve", "-m", model_uri,
                "--shelf", serve_shelf.url, "--port", str(port), *extra,
            ],
            tmp_path_factory.mktemp("serve-log"),
            env=serve_shelf.env(),
        )  # fmt: skip
        process.start()
        started.append(process)
        base = f"http://127.0.0.1:{port}"
        process.wait_until(lambda: status(f"{base}/ping") == 200, timeout=60)
        servers[key] = Server(process, base)
        return servers[key]

    yield start
    for process in started:
        process.stop()


def payload(**body: Any) -> bytes:
    return json.dumps(body).encode()
