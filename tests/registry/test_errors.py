"""Bad input gets typed, clear errors before anything is written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from modelshelf.errors import (
    InvalidInputError,
    InvalidNameError,
    InvalidURIError,
    ModelNotFoundError,
    NotFoundError,
    ObjectNotFoundError,
    UnsafeBackendError,
    VersionNotFoundError,
)
from modelshelf.registry import RegistryClient
from modelshelf.registry._api import parse_models_uri
from tests.registry._helpers import OverwritingStorage


@pytest.fixture
def ready(client: RegistryClient, model_dir: Path) -> RegistryClient:
    client.create_registered_model("m")
    client.create_model_version("m", str(model_dir))
    return client


@pytest.mark.parametrize("name", ["", "  ", "a/b", "a:b", ".", "..x", "a\x00b", "x" * 300, 3, None])
def test_invalid_model_names(client: RegistryClient, name: Any) -> None:
    with pytest.raises(InvalidNameError):
        client.create_registered_model(name)
    assert client.shelf.storage.list("registry/") == []


@pytest.mark.parametrize("name", ["churn model", "modèle.v2", "a-b_c", "x" * 256])
def test_valid_unusual_model_names(client: RegistryClient, name: str) -> None:
    assert client.create_registered_model(name).name == name


@pytest.mark.parametrize(
    "alias", ["", "latest", "LATEST", "v1", "V12", "a.b", "a b", "a@b", "12", "x" * 256, None]
)
def test_invalid_aliases(ready: RegistryClient, alias: Any) -> None:
    with pytest.raises(InvalidNameError):
        ready.set_registered_model_alias("m", alias, 1)


def test_alias_to_missing_or_deleted_version(ready: RegistryClient, model_dir: Path) -> None:
    with pytest.raises(VersionNotFoundError, match="version 7 .* does not exist"):
        ready.set_registered_model_alias("m", "champion", 7)
    ready.create_model_version("m", str(model_dir))
    ready.delete_model_version("m", 2)
    with pytest.raises(VersionNotFoundError, match="was deleted"):
        ready.set_registered_model_alias("m", "champion", "2")
    with pytest.raises(ModelNotFoundError):
        ready.set_registered_model_alias("nope", "champion", 1)


@pytest.mark.parametrize("version", [0, -1, "abc", "1.5", 1.0, True, None])
def test_invalid_versions(ready: RegistryClient, version: Any) -> None:
    with pytest.raises(InvalidInputError, match="version"):
        ready.get_model_version("m", version)


@pytest.mark.parametrize(
    "key,value",
    [
        ("", "v"),
        ("a*b", "v"),
        ("../x", "v"),
        ("/abs", "v"),
        ("k", None),
        ("k", "x" * 100_001),
        ("x" * 251, "v"),
    ],
)
def test_invalid_tags(ready: RegistryClient, key: str, value: Any) -> None:
    with pytest.raises(InvalidInputError):
        ready.set_registered_model_tag("m", key, value)
    with pytest.raises(InvalidInputError):
        ready.set_model_version_tag("m", 1, key, value)


def test_bad_sources(ready: RegistryClient, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        ready.create_model_version("m", str(tmp_path / "missing"))
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(InvalidInputError, match="is a file"):
        ready.create_model_version("m", str(tmp_path / "file.txt"))
    with pytest.raises(ObjectNotFoundError, match="not on the shelf"):
        ready.create_model_version("m", "sha256:" + "0" * 64)
    blob = ready.shelf.blobs.put_bytes(b"just a blob")
    with pytest.raises(InvalidInputError, match="not a tree"):
        ready.create_model_version("m", str(blob))
    with pytest.raises(InvalidInputError, match="sha256"):
        ready.create_model_version("m", "sha256:nothex")
    with pytest.raises(InvalidURIError, match="runs:/"):
        ready.create_model_version("m", "runs://abc/model")
    assert [v.version for v in ready.search_model_versions("name='m'")] == [1]


@pytest.mark.parametrize(
    "bad",
    [
        "name = ",
        "name == 'x'",
        "foo = 'x'",
        "name = 'x' OR name = 'y'",
        "name = 'x' AND",
        "run_id IN ('a'",
        "name = 'unterminated",
    ],
)
def test_bad_filters(ready: RegistryClient, bad: str) -> None:
    with pytest.raises(InvalidInputError):
        ready.search_model_versions(bad)


def test_bad_search_arguments(ready: RegistryClient) -> None:
    with pytest.raises(InvalidInputError, match="order_by"):
        ready.search_registered_models(order_by=["size DESC"])
    with pytest.raises(InvalidInputError, match="max_results"):
        ready.search_registered_models(max_results=0)
    with pytest.raises(InvalidInputError, match="page_token"):
        ready.search_model_versions(page_token="garbage!")
    with pytest.raises(InvalidInputError, match="run_id"):
        ready.search_registered_models("run_id = 'x'")


def test_bad_stage(ready: RegistryClient) -> None:
    with pytest.raises(InvalidInputError, match="invalid stage"):
        ready.transition_model_version_stage("m", 1, "Prod")


@pytest.mark.parametrize("uri", ["models:/", "models:/m", "models:/m@", "models:/@a", "runs:/x"])
def test_bad_models_uris(uri: str) -> None:
    with pytest.raises(InvalidURIError):
        parse_models_uri(uri)


def test_bad_table_and_interval(ready: RegistryClient, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="unknown registry table"):
        ready.registry_table("runs")
    with pytest.raises(InvalidInputError, match="checkpoint_interval"):
        RegistryClient(str(tmp_path / "s"), checkpoint_interval=-1)


def test_unsafe_backend_refuses_writes(tmp_path: Path, model_dir: Path) -> None:
    client = RegistryClient(str(tmp_path / "shelf"))
    unsafe = OverwritingStorage(client.shelf.storage)
    client.shelf.storage = unsafe
    client.shelf.blobs.storage = unsafe
    with pytest.raises(UnsafeBackendError, match="single_writer=True"):
        client.create_registered_model("m")
    assert client.shelf.storage.list("registry/log/") == []
    # reads still work, and single_writer opts in
    single = RegistryClient(client.shelf, single_writer=True)
    single.create_registered_model("m")
    assert single.create_model_version("m", str(model_dir)).version == 1
    assert RegistryClient(client.shelf).get_model_version("m", 1).version == 1
