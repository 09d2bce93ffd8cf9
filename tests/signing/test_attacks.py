"""Each attack someone with write access to the bucket can make on signed history, on a local
shelf and on S3 (moto): with trusted keys, loading ``models:/m@champion`` fails with a typed
error naming the object, and ``verify`` names it too. Without trusted keys, the same attacks
go unnoticed (the reason this module exists)."""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
import pytest

from modelshelf import Client
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
from modelshelf.registry._signing import seal_commit
from modelshelf.signing import load_signing_key
from tests.signing.conftest import World


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
