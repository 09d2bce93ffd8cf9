"""A Hypothesis state machine: the registry against a plain-Python model of MLflow's rules.

Two clients share one shelf; after every step a cold reader (fresh replica: hint, checkpoint,
tail) must agree with the warm ones, and checkpoints are written every 3 commits so loads
from checkpoints are exercised too.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from modelshelf.cas import Tree, TreeEntry
from modelshelf.errors import (
    AliasNotFoundError,
    ModelExistsError,
    ModelNotFoundError,
    VersionNotFoundError,
)
from modelshelf.registry import RegistryClient
from modelshelf.registry._replica import clear_replicas

NAMES = st.sampled_from(["a", "b", "c"])
ALIASES = st.sampled_from(["champion", "challenger"])
VERSIONS = st.integers(min_value=1, max_value=6)


@dataclass
class _Model:
    next_version: int = 1
    live: set[int] = field(default_factory=set)
    aliases: dict[str, int] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


class RegistryMachine(RuleBasedStateMachine):
    digest: str

    @initialize()
    def setup(self) -> None:
        clear_replicas()
        self.url = f"memory://registry-sm-{uuid.uuid4().hex}"
        self.clients = [RegistryClient(self.url, checkpoint_interval=3) for _ in range(2)]
        blobs = self.clients[0].shelf.blobs
        entry = TreeEntry("f", blobs.put_bytes(b"x"), 1)
        self.digest = str(blobs.put_manifest(Tree.from_entries([entry])))
        self.model: dict[str, _Model] = {}

    def _client(self, which: int) -> RegistryClient:
        return self.clients[which % 2]

    @rule(which=st.integers(0, 1), name=NAMES)
    def create_model(self, which: int, name: str) -> None:
        if name in self.model:
            with pytest.raises(ModelExistsError):
                self._client(which).create_registered_model(name)
        else:
            self._client(which).create_registered_model(name)
            self.model[name] = _Model()

    @rule(which=st.integers(0, 1), name=NAMES)
    def create_version(self, which: int, name: str) -> None:
        if name not in self.model:
            with pytest.raises(ModelNotFoundError):
                self._client(which).create_model_version(name, self.digest)
            return
        mv = self._client(which).create_model_version(name, self.digest)
        m = self.model[name]
        assert mv.version == m.next_version
        m.live.add(m.next_version)
        m.next_version += 1

    @rule(which=st.integers(0, 1), name=NAMES, version=VERSIONS)
    def delete_version(self, which: int, name: str, version: int) -> None:
        m = self.model.get(name)
        if m is None or version not in m.live:
            with pytest.raises((ModelNotFoundError, VersionNotFoundError)):
                self._client(which).delete_model_version(name, version)
            return
        self._client(which).delete_model_version(name, str(version))
        m.live.discard(version)
        m.aliases = {a: v for a, v in m.aliases.items() if v != version}

    @rule(which=st.integers(0, 1), name=NAMES, alias=ALIASES, version=VERSIONS)
    def set_alias(self, which: int, name: str, alias: str, version: int) -> None:
        m = self.model.get(name)
        if m is None or version not in m.live:
            with pytest.raises((ModelNotFoundError, VersionNotFoundError)):
                self._client(which).set_registered_model_alias(name, alias, version)
            return
        self._client(which).set_registered_model_alias(name, alias, version)
        m.aliases[alias] = version

    @rule(which=st.integers(0, 1), name=NAMES, alias=ALIASES)
    def delete_alias(self, which: int, name: str, alias: str) -> None:
        m = self.model.get(name)
        if m is None:
            with pytest.raises(ModelNotFoundError):
                self._client(which).delete_registered_model_alias(name, alias)
            return
        self._client(which).delete_registered_model_alias(name, alias)
        m.aliases.pop(alias, None)

    @rule(which=st.integers(0, 1), name=NAMES, value=st.text(max_size=5))
    def set_tag(self, which: int, name: str, value: str) -> None:
        if name not in self.model:
            with pytest.raises(ModelNotFoundError):
                self._client(which).set_registered_model_tag(name, "k", value)
            return
        self._client(which).set_registered_model_tag(name, "k", value)
        self.model[name].tags["k"] = value

    @rule(which=st.integers(0, 1), name=NAMES, new=NAMES)
    def rename(self, which: int, name: str, new: str) -> None:
        if name not in self.model:
            with pytest.raises(ModelNotFoundError):
                self._client(which).rename_registered_model(name, new)
        elif new != name and new in self.model:
            with pytest.raises(ModelExistsError):
                self._client(which).rename_registered_model(name, new)
        else:
            self._client(which).rename_registered_model(name, new)
            self.model[new] = self.model.pop(name)

    @rule(which=st.integers(0, 1), name=NAMES)
    def delete_model(self, which: int, name: str) -> None:
        if name not in self.model:
            with pytest.raises(ModelNotFoundError):
                self._client(which).delete_registered_model(name)
            return
        self._client(which).delete_registered_model(name)
        del self.model[name]

    def _check(self, client: RegistryClient) -> None:
        found = {m.name for m in client.search_registered_models(max_results=100)}
        assert found == set(self.model)
        for name, m in self.model.items():
            rm = client.get_registered_model(name)
            assert rm.aliases == m.aliases and rm.tags == m.tags
            live = {v.version for v in client.search_model_versions(f"name = '{name}'")}
            assert live == m.live
            for alias, version in m.aliases.items():
                assert client.get_model_version_by_alias(name, alias).version == version
            for alias in {"champion", "challenger"} - set(m.aliases):
                with pytest.raises(AliasNotFoundError):
                    client.get_model_version_by_alias(name, alias)

    @invariant()
    def agrees(self) -> None:
        if not hasattr(self, "clients"):
            return
        self._check(self.clients[1])
        clear_replicas()  # a cold reader: hint, checkpoint, tail
        self._check(RegistryClient(self.url))


TestRegistryMachine = RegistryMachine.TestCase
TestRegistryMachine.settings = settings(
    max_examples=15,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
