"""Registry actions: the TypedDicts declare exactly what writers store and replay reads."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import get_args, get_type_hints

from modelshelf.errors import StageDeprecationWarning
from modelshelf.registry import RegistryClient
from modelshelf.registry._actions import ACTION_KINDS, Action
from modelshelf.registry._log import LOG_PREFIX
from modelshelf.registry._state import ACTIONS

_DECLARED = {get_args(get_type_hints(kind)["op"])[0]: kind for kind in get_args(Action)}


def _every_kind_of_action(client: RegistryClient, model_dir: Path) -> None:
    client.create_registered_model("m", tags={"team": "risk"}, description="d")
    client.update_registered_model("m", description="d2")
    client.set_registered_model_tag("m", "k", "v")
    client.delete_registered_model_tag("m", "k")
    client.create_model_version("m", str(model_dir), run_id="r1", tags={"t": "1"})
    client.create_model_version("m", str(model_dir))
    client.update_model_version("m", 1, description="v1")
    client.set_model_version_tag("m", 1, "k", "v")
    client.delete_model_version_tag("m", 1, "k")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StageDeprecationWarning)
        client.transition_model_version_stage("m", 1, "Staging")
    client.set_registered_model_alias("m", "champion", 1)
    client.delete_registered_model_alias("m", "champion")
    client.delete_model_version("m", 2)
    client.rename_registered_model("m", "n")
    client.delete_registered_model("n")


def test_stored_actions_match_their_declarations(client: RegistryClient, model_dir: Path) -> None:
    _every_kind_of_action(client, model_dir)
    storage = client.shelf.storage
    seen: set[str] = set()
    for info in storage.list(LOG_PREFIX):
        for action in json.loads(storage.read(info.key))["actions"]:
            kind = _DECLARED[action["op"]]
            seen.add(action["op"])
            declared = set(get_type_hints(kind))
            required = set(kind.__required_keys__)
            assert required <= set(action) <= declared, (action["op"], set(action) ^ declared)
    assert seen == ACTION_KINDS  # every declared kind is written by some API call


def test_declarations_and_replay_cover_the_same_kinds() -> None:
    assert set(_DECLARED) == ACTION_KINDS == set(ACTIONS)
