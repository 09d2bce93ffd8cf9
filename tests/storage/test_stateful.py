"""A Hypothesis state machine: LocalStorage and memory:// behave like a dict of bytes."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from modelshelf.errors import AlreadyExistsError, ObjectNotFoundError
from modelshelf.storage import Storage, open_storage

# No key is a folder of another: a local file cannot also be a directory.
KEYS = st.sampled_from(["a", "b/c", "b/d", "e/f/g", "h i/ünï.json", "b/cc"])
DATA = st.binary(max_size=64)


class StorageMachine(RuleBasedStateMachine):
    """Random writes, overwrites, deletes and reads, checked against a plain dict."""

    url: str = ""

    def __init__(self) -> None:
        super().__init__()
        self.storage: Storage = open_storage(f"{self.url}/{uuid.uuid4().hex}")
        self.model: dict[str, bytes] = {}

    @rule(key=KEYS, data=DATA)
    def create(self, key: str, data: bytes) -> None:
        if key in self.model:
            with pytest.raises(AlreadyExistsError):
                self.storage.write(key, data)
        else:
            self.storage.write(key, data)
            self.model[key] = data

    @rule(key=KEYS, data=DATA)
    def overwrite(self, key: str, data: bytes) -> None:
        self.storage.write(key, data, overwrite=True)
        self.model[key] = data

    @rule(key=KEYS)
    def delete(self, key: str) -> None:
        self.storage.delete(key)
        self.model.pop(key, None)

    @rule(key=KEYS)
    def read(self, key: str) -> None:
        if key in self.model:
            assert self.storage.read(key) == self.model[key]
            assert self.storage.stat(key).size == len(self.model[key])
        else:
            with pytest.raises(ObjectNotFoundError):
                self.storage.read(key)

    @rule(prefix=st.sampled_from(["", "b", "b/", "e/f", "x"]))
    def list_prefix(self, prefix: str) -> None:
        folder = prefix.rstrip("/")
        expected = sorted(k for k in self.model if not folder or k.startswith(folder + "/"))
        assert [info.key for info in self.storage.list(prefix)] == expected

    @invariant()
    def matches_model(self) -> None:
        listed = {info.key: info.size for info in self.storage.list()}
        assert listed == {key: len(data) for key, data in self.model.items()}
        every = ["a", "b/c", "b/d", "e/f/g", "h i/ünï.json", "b/cc"]
        assert self.storage.exists_many(every) == set(self.model)
        assert self.storage.read_many(every) == {key: self.model.get(key) for key in every}


@pytest.mark.parametrize("kind", ["memory", "local"])
def test_storage_behaves_like_a_dict(kind: str, tmp_path: Any) -> None:
    url = f"memory://machine-{uuid.uuid4().hex}" if kind == "memory" else str(tmp_path)
    machine = type(f"{kind.title()}Machine", (StorageMachine,), {"url": url})
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=15,
            stateful_step_count=50,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
