"""Concepts runs and the registry share: one key rule, one "who is acting"."""

from __future__ import annotations

import getpass
import socket
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelshelf._actor import Actor, whoami
from modelshelf._shelf import Shelf
from modelshelf.errors import InvalidNameError
from modelshelf.registry import RegistryClient
from modelshelf.registry._names import check_tag_key
from modelshelf.runs import RunsClient
from modelshelf.runs._records import check_name
from tests.registry._helpers import make_model_dir


def _verdict(check: object, key: object) -> str:
    try:
        return f"ok:{check(key)}"  # type: ignore[operator]
    except InvalidNameError:
        return "invalid"


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(alphabet=st.sampled_from("ab/._- :é\x00?"), max_size=12),
        st.text(max_size=260),
        st.integers(),
        st.none(),
    )
)
def test_runs_and_registry_judge_keys_alike(key: object) -> None:
    assert _verdict(lambda k: check_name(k, "tag"), key) == _verdict(check_tag_key, key)


@pytest.mark.parametrize("key", ["a//b", "a/./b", "a/", "..x", "/x", ".", "x" * 251, "a\x00"])
def test_unnormalised_keys_are_refused_everywhere(key: str) -> None:
    with pytest.raises(InvalidNameError):
        check_name(key, "param")
    with pytest.raises(InvalidNameError):
        check_tag_key(key)


def test_one_actor_two_stored_spellings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MODELSHELF_ACTOR", raising=False)
    shelf = Shelf(str(tmp_path / "shelf"))
    me = whoami()
    assert me == Actor(getpass.getuser(), socket.gethostname())
    run = RunsClient(shelf).create_run()
    assert run.info.user_id == me.user == run.data.tags["mlflow.user"]  # MLflow's form
    registry = RegistryClient(shelf)
    registry.create_registered_model("m")
    version = registry.create_model_version("m", str(make_model_dir(tmp_path / "model")))
    assert version.user_id == f"{me.user}@{me.host}"  # what versions always stored
    assert registry.get_registry_history("m")[-1].actor == str(me)


def test_modelshelf_actor_overrides_both_verbatim(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELSHELF_ACTOR", "ci-bot@pipeline")
    shelf = Shelf(str(tmp_path / "shelf"))
    assert RunsClient(shelf).create_run().info.user_id == "ci-bot@pipeline"
    registry = RegistryClient(shelf)
    registry.create_registered_model("m")
    version = registry.create_model_version("m", str(make_model_dir(tmp_path / "model")))
    assert version.user_id == "ci-bot@pipeline"
