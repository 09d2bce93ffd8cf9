"""Any text reaching a commit either round-trips (warm, cold from the log, and through a
checkpoint's Parquet tables) or is refused with a typed modelshelf error."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelshelf.errors import InvalidInputError, InvalidNameError, ModelshelfError
from modelshelf.registry import RegistryClient
from modelshelf.registry._checkpoint import (
    TABLES,
    _from_parquet,
    _to_parquet,
    state_from_tables,
    state_to_tables,
)
from modelshelf.registry._replica import clear_replicas

SURROGATE = "a\ud800b"


def _ready(tmp_path: Path, model_dir: Path) -> RegistryClient:
    client = RegistryClient(str(tmp_path / "shelf"))
    client.create_registered_model("m")
    client.create_model_version("m", str(model_dir))
    return client


# each call puts the text where a commit stores it
FIELDS: dict[str, Callable[[RegistryClient, str], Any]] = {
    "model name": lambda c, t: c.create_registered_model(t),
    "alias": lambda c, t: c.set_registered_model_alias("m", t, 1),
    "tag key": lambda c, t: c.set_registered_model_tag("m", t, "v"),
    "tag value": lambda c, t: c.set_registered_model_tag("m", "k", t),
    "version tag": lambda c, t: c.set_model_version_tag("m", 1, "k", t),
    "description": lambda c, t: c.update_registered_model("m", t),
    "version description": lambda c, t: c.update_model_version("m", 1, t),
    "rename target": lambda c, t: c.rename_registered_model("m", t),
}


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_a_lone_surrogate_is_a_typed_error(tmp_path: Path, model_dir: Path, field: str) -> None:
    client = _ready(tmp_path, model_dir)
    before = sorted(i.key for i in client.shelf.storage.list("registry/log/"))
    call = FIELDS[field]
    if field == "tag key":  # the key charset refuses it before its encoding matters
        with pytest.raises(InvalidNameError):
            call(client, SURROGATE)
        return
    expected = InvalidNameError if field in ("model name", "alias") else InvalidInputError
    with pytest.raises(expected, match="lone surrogate") as e:
        call(client, SURROGATE)
    assert "Pass proper text" in str(e.value)
    assert sorted(i.key for i in client.shelf.storage.list("registry/log/")) == before


def test_a_surrogate_in_other_version_fields_is_a_typed_error(
    tmp_path: Path, model_dir: Path
) -> None:
    client = _ready(tmp_path, model_dir)
    for kwargs in ({"run_link": SURROGATE}, {"model_id": SURROGATE}, {"run_id": SURROGATE}):
        with pytest.raises(InvalidInputError, match="lone surrogate"):
            client.create_model_version("m", str(model_dir), **kwargs)
    with pytest.raises(InvalidInputError, match="lone surrogate"):
        client.create_model_version("m", str(model_dir) + "\udcff")
    assert client.get_registered_model("m").latest_versions[0].version == 1


def test_aliases_with_a_trailing_newline_are_refused(tmp_path: Path, model_dir: Path) -> None:
    client = _ready(tmp_path, model_dir)
    with pytest.raises(InvalidNameError):
        client.set_registered_model_alias("m", "champion\n", 1)


_ANY_CHAR = st.characters(codec=None, exclude_categories=())  # surrogates, NUL, controls too
TEXT = st.one_of(
    st.text(_ANY_CHAR, max_size=12),
    st.text(st.sampled_from("\x00\n\t\x7f\u2028\ud800\udfff .:/-_aé😀"), max_size=8),
    st.builds(lambda c, n: c * n, _ANY_CHAR, st.sampled_from([250, 251, 255, 256, 257, 100_001])),
)


def test_arbitrary_text_round_trips_or_raises_a_typed_error(
    tmp_path: Path, model_dir: Path
) -> None:
    client = _ready(tmp_path, model_dir)
    url = client.shelf.url

    @settings(
        max_examples=120,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(field=st.sampled_from(sorted(FIELDS)), text=TEXT)
    def run(field: str, text: str) -> None:
        nonlocal client
        try:
            FIELDS[field](client, text)
        except ModelshelfError:
            return  # refused, typed: fine (anything else fails the test)
        expected = _read(client, field, text)
        assert expected == text, (field, text)
        clear_replicas()  # cold, from the log
        client = RegistryClient(url)
        assert _read(client, field, text) == text
        state = client._reg_state()  # and through a checkpoint's Parquet tables
        tables = state_to_tables(state)
        again = state_from_tables({n: _from_parquet(_to_parquet(tables[n])) for n in TABLES})
        assert state_to_tables(again)["tags"].equals(tables["tags"])
        assert state_to_tables(again)["models"].equals(tables["models"])
        if field == "rename target" and text != "m":
            client.rename_registered_model(text, "m")

    run()
    assert client.verify().ok


def _read(client: RegistryClient, field: str, text: str) -> Any:
    if field in ("model name", "rename target"):
        return client.get_registered_model(text).name
    model = client.get_registered_model("m")
    if field == "alias":
        return next(a for a, v in model.aliases.items() if a == text and v == 1)
    if field == "tag key":
        return next(k for k in model.tags if k == text)
    if field == "tag value":
        return model.tags["k"]
    if field == "version tag":
        return client.get_model_version("m", 1).tags["k"]
    if field == "description":
        return model.description
    return client.get_model_version("m", 1).description


def test_an_undecodable_actor_is_a_typed_error(
    tmp_path: Path, model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = _ready(tmp_path, model_dir)
    monkeypatch.setenv("MODELSHELF_ACTOR", "ana\udcff@ci")  # undecodable bytes in the env
    with pytest.raises(InvalidInputError, match="actor.*lone surrogate"):
        client.set_registered_model_tag("m", "k", "v")
    monkeypatch.delenv("MODELSHELF_ACTOR")
    client.set_registered_model_tag("m", "k", "v")
