"""Fixtures for the signing tests: key pairs, a trained model, and a signed shelf (``world``,
on a local shelf and on S3 through moto) that the attack tests tamper with."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelshelf import Client
from modelshelf._shelf import reset_shelf, set_shelf
from modelshelf.pyfunc import load_model
from modelshelf.registry._replica import clear_replicas
from modelshelf.signing import generate_key_pair, load_signing_key, sign_policy
from modelshelf.storage import Storage, open_storage
from modelshelf.uri._resolve import _LINEAGE_CHECKED
from tests._servers import backend_param


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


@dataclass
class World:
    url: str
    options: dict[str, Any]
    storage: Storage
    run_id: str
    head: int  # the newest commit: it moved @champion from version 1 to version 2
    keys: dict[str, KeyPair]
    monkeypatch: pytest.MonkeyPatch
    expected: Any  # predictions of version 2
    old: Any  # predictions of version 1
    X: Any

    def untrusted(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` as a client that trusts nothing (an attacker, or today's modelshelf)."""
        with self.monkeypatch.context() as m:
            m.delenv("MODELSHELF_TRUSTED_KEYS")
            m.delenv("MODELSHELF_POLICY")
            clear_replicas()
            try:
                return fn()
            finally:
                clear_replicas()

    def load(self) -> Any:
        # a new process: only the cache folder (and its remembered head) stays
        clear_replicas()
        _LINEAGE_CHECKED.clear()
        return load_model("models:/m@champion").predict(self.X)

    def verify_names(self, key: str) -> None:
        report = Client(self.url, **self.options).verify()
        assert not report.ok
        assert key in {p.key for p in report.problems}, str(report)


@pytest.fixture(params=[backend_param("local"), backend_param("moto")])
def world(
    request: pytest.FixtureRequest,
    shelf_factory: Any,
    keys: dict[str, KeyPair],
    trained: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> World:
    url, options = shelf_factory(request.param)
    a, b, X = trained
    writer = Client(url, signing_key=keys["release"].private, **options)
    run_id = writer.create_run(run_name="train").info.run_id
    writer.log_artifacts(run_id, save(b, tmp_path / "b"), "model")
    writer.create_registered_model("m")
    writer.create_model_version("m", str(save(a, tmp_path / "a")))
    writer.create_model_version("m", f"runs:/{run_id}/model")
    writer.set_registered_model_alias("m", "champion", 1)
    writer.set_registered_model_alias("m", "champion", 2)
    head = writer.registry._reg_state().seq
    policy = {
        "keys": {"release": keys["release"].key_id, "ci": keys["ci"].key_id},
        "default": ["release", "ci"],
        "aliases": {"*@champion": ["release"]},
    }
    policy_file = tmp_path / "policy.json"
    policy_file.write_bytes(sign_policy(policy, load_signing_key(keys["release"].private)))
    trusted = os.pathsep.join(str(keys[n].public) for n in ("release", "ci"))
    monkeypatch.setenv("MODELSHELF_TRUSTED_KEYS", trusted)
    monkeypatch.setenv("MODELSHELF_POLICY", str(policy_file))
    set_shelf(url, **options)
    w = World(
        url, options, open_storage(url, **options), run_id, head, keys, monkeypatch,
        b.predict(X), a.predict(X), X,
    )  # fmt: skip
    assert np.allclose(w.load(), w.expected)  # verified once: this machine remembers the head
    assert Client(url, **options).verify().ok
    return w
