"""Each attack someone with write access to the bucket can make on signed history, on a local
shelf and on S3 (moto): with trusted keys, loading ``models:/m@champion`` fails with a typed
error naming the object, and ``verify`` names it too. Without trusted keys, the same attacks
go unnoticed (the reason this module exists)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelshelf import Client
from modelshelf._shelf import set_shelf
from modelshelf.errors import (
    AuthenticityError,
    PolicyViolationError,
    RollbackError,
    SignatureError,
)
from modelshelf.pyfunc import load_model
from modelshelf.registry import RegistryClient
from modelshelf.registry._checkpoint import CheckpointStore, checkpoint_prefix
from modelshelf.registry._log import CommitLog, encode_commit, log_key, sha256_hex
from modelshelf.registry._replica import clear_replicas
from modelshelf.registry._signing import seal_commit
from modelshelf.signing import load_signing_key, sign_policy
from modelshelf.storage import Storage, open_storage
from modelshelf.uri._resolve import _LINEAGE_CHECKED
from tests._servers import backend_param
from tests.signing.conftest import KeyPair, save


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


def _edit_newest(w: World) -> None:
    body = json.loads(w.storage.read(log_key(w.head)))
    body["actions"][0]["version"] = 1
    w.storage.write(log_key(w.head), json.dumps(body).encode(), overwrite=True)


def test_editing_the_newest_commit(world: World) -> None:
    assert np.allclose(world.untrusted(lambda: (_edit_newest(world), world.load())[1]), world.old)
    with pytest.raises(SignatureError, match=log_key(world.head)):
        world.load()
    world.verify_names(log_key(world.head))


def test_replacing_the_newest_commit(world: World) -> None:
    def attack() -> Any:
        # A well-formed commit in the newest one's place, chained and signed (by the attacker).
        prev = sha256_hex(world.storage.read(log_key(world.head - 1)))
        action = {"op": "set_alias", "name": "m", "alias": "champion", "version": 1}
        data = encode_commit(world.head, prev, [action], time_ms=int(time.time() * 1000), nonce="0")
        data = seal_commit(data, world.head, load_signing_key(world.keys["attacker"].private))
        world.storage.write(log_key(world.head), data, overwrite=True)
        return world.load()

    assert np.allclose(world.untrusted(attack), world.old)
    with pytest.raises(SignatureError, match="does not trust") as err:
        world.load()
    assert log_key(world.head) in str(err.value)
    world.verify_names(log_key(world.head))


def test_deleting_the_newest_commit(world: World) -> None:
    world.storage.delete(log_key(world.head))
    assert np.allclose(world.untrusted(world.load), world.old)  # a silent rollback, untrusted
    with pytest.raises(RollbackError, match=log_key(world.head)):
        world.load()
    world.verify_names(log_key(world.head))


def test_forged_checkpoint_and_hint(world: World) -> None:
    def attack() -> Any:
        state = RegistryClient(world.url, **world.options)._reg_state()
        state.models["m"].aliases["champion"] = 1
        manifest = CheckpointStore(world.storage, None).write(state)
        CommitLog(world.storage).write_hint(state.seq, manifest)
        return world.load()

    assert np.allclose(world.untrusted(attack), world.old)
    manifest_key = checkpoint_prefix(world.head) + "_manifest.json"
    with pytest.raises(SignatureError, match=manifest_key):
        world.load()
    # an honest, trusting writer refuses to commit on top of the forged state
    honest = Client(world.url, signing_key=world.keys["release"].private, **world.options)
    with pytest.raises(SignatureError, match=manifest_key):
        honest.set_registered_model_tag("m", "k", "v")
    world.verify_names(manifest_key)


def test_run_pointer_swap(world: World) -> None:
    key = f"runs/{world.run_id}/artifacts/model"

    def attack() -> None:
        pointer = json.loads(world.storage.read(key))
        v1 = Client(world.url, **world.options).get_model_version("m", 1)
        pointer.update(digest=v1.digest, signature=None)
        world.storage.write(key, json.dumps(pointer).encode(), overwrite=True)

    world.untrusted(attack)
    with pytest.raises(SignatureError, match=key):
        world.load()
    with pytest.raises(SignatureError, match=key):
        load_model(f"runs:/{world.run_id}/model")
    world.verify_names(key)


def test_alias_moved_by_a_key_the_policy_forbids(world: World) -> None:
    ci = world.keys["ci"].private
    with pytest.raises(PolicyViolationError, match="champion"):  # a writer pinning the policy
        Client(world.url, signing_key=ci, **world.options).set_registered_model_alias(
            "m", "champion", 1
        )
    assert np.allclose(world.load(), world.expected)  # nothing was written
    world.untrusted(
        lambda: Client(world.url, signing_key=ci, **world.options).set_registered_model_alias(
            "m", "champion", 1
        )
    )
    with pytest.raises(PolicyViolationError, match=log_key(world.head + 1)):
        world.load()
    world.verify_names(log_key(world.head + 1))


def test_errors_are_typed() -> None:
    for cls in (SignatureError, RollbackError, PolicyViolationError):
        assert issubclass(cls, AuthenticityError) and issubclass(cls, ValueError)
    # not OSError: the offline fallback to a cached copy must never catch them
    assert not issubclass(AuthenticityError, OSError)
