"""MlflowClient-compatible registry semantics (docs/explanation/mlflow-format.md §10)."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelshelf.cas import Digest
from modelshelf.errors import (
    AliasNotFoundError,
    ModelExistsError,
    ModelNotFoundError,
    StageDeprecationWarning,
    VersionNotFoundError,
)
from modelshelf.registry import ModelVersion, RegisteredModel, RegistryClient
from tests.registry._helpers import make_model_dir


def test_lifecycle_on_every_backend(any_client: RegistryClient, model_dir: Path) -> None:
    c = any_client
    rm = c.create_registered_model("churn", tags={"team": "risk"}, description="first")
    assert isinstance(rm, RegisteredModel) and rm.name == "churn" and rm.tags == {"team": "risk"}
    v1 = c.create_model_version(
        "churn", str(model_dir), run_id="r1", tags={"k": "v"}, description="d1"
    )
    assert isinstance(v1, ModelVersion) and v1.version == 1 and v1.run_id == "r1"
    assert v1.digest.startswith("sha256:") and v1.source == str(model_dir)
    assert v1.status == "READY" and v1.current_stage == "None" and v1.tags == {"k": "v"}
    v2 = c.create_model_version("churn", v1.digest)
    assert v2.version == 2 and v2.digest == v1.digest
    c.set_registered_model_alias("churn", "champion", "2")
    assert c.get_model_version_by_alias("churn", "champion").version == 2
    assert c.get_model_version("churn", 2).aliases == ["champion"]
    c.delete_model_version("churn", 2)
    with pytest.raises(AliasNotFoundError):
        c.get_model_version_by_alias("churn", "champion")
    assert c.create_model_version("churn", v1.digest).version == 3  # never reused
    c.rename_registered_model("churn", "churn-v2")
    assert [mv.version for mv in c.search_model_versions("name = 'churn-v2'")] == [3, 1]
    with pytest.raises(ModelNotFoundError):
        c.get_registered_model("churn")
    # A second client (cold, no shared memory) sees the same state.
    assert c.verify(deep=True).ok


def test_versions_accept_str_and_int(client: RegistryClient, model_dir: Path) -> None:
    client.create_registered_model("m")
    client.create_model_version("m", str(model_dir))
    assert client.get_model_version("m", "1") == client.get_model_version("m", 1)
    assert client.update_model_version("m", "1", description="new").description == "new"
    assert client.get_model_version_download_uri("m", 1) == client.get_model_version("m", 1).digest


def test_create_existing_model_raises(client: RegistryClient) -> None:
    client.create_registered_model("m")
    with pytest.raises(ModelExistsError, match="already exists"):
        client.create_registered_model("m")


def test_version_of_missing_model_uploads_nothing(client: RegistryClient, model_dir: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="create_registered_model"):
        client.create_model_version("nope", str(model_dir))
    assert client.shelf.storage.list("objects/") == []


def test_deleted_version_disappears(client: RegistryClient, model_dir: Path) -> None:
    client.create_registered_model("m")
    for _ in range(3):
        client.create_model_version("m", str(model_dir))
    client.delete_model_version("m", 3)
    with pytest.raises(VersionNotFoundError, match="was deleted"):
        client.get_model_version("m", 3)
    with pytest.raises(VersionNotFoundError):
        client.set_registered_model_alias("m", "a", 3)
    assert [v.version for v in client.search_model_versions("name='m'")] == [2, 1]
    assert client.create_model_version("m", str(model_dir)).version == 4
    rows = client.registry_table("versions").to_pylist()
    assert [(r["version"], r["deleted"]) for r in rows] == [
        (1, False),
        (2, False),
        (3, True),
        (4, False),
    ]


def test_alias_repoint_and_delete(client: RegistryClient, model_dir: Path) -> None:
    client.create_registered_model("m")
    for _ in range(2):
        client.create_model_version("m", str(model_dir))
    client.set_registered_model_alias("m", "champion", 1)
    client.set_registered_model_alias("m", "champion", 2)
    client.set_registered_model_alias("m", "challenger", 2)
    assert client.get_registered_model("m").aliases == {"challenger": 2, "champion": 2}
    assert client.get_model_version("m", 2).aliases == ["challenger", "champion"]
    client.delete_registered_model_alias("m", "champion")
    client.delete_registered_model_alias("m", "champion")  # absent: a no-op, no commit
    assert client.get_registered_model("m").aliases == {"challenger": 2}
    with pytest.raises(AliasNotFoundError, match="alias champion not found"):
        client.get_model_version_by_alias("m", "champion")


def test_tags(client: RegistryClient, model_dir: Path) -> None:
    client.create_registered_model("m")
    client.create_model_version("m", str(model_dir))
    client.set_registered_model_tag("m", "owner", "ana")
    client.set_registered_model_tag("m", "n", 3)  # values become strings, as in MLflow
    client.set_model_version_tag("m", "1", "stage.ok", "yes")
    assert client.get_registered_model("m").tags == {"owner": "ana", "n": "3"}
    assert client.get_model_version("m", 1).tags == {"stage.ok": "yes"}
    client.delete_registered_model_tag("m", "owner")
    client.delete_model_version_tag("m", 1, "stage.ok")
    assert client.get_registered_model("m").tags == {"n": "3"}
    assert client.get_model_version("m", 1).tags == {}


def test_update_rename_delete_model(client: RegistryClient, model_dir: Path) -> None:
    client.create_registered_model("a")
    client.create_model_version("a", str(model_dir))
    client.set_registered_model_alias("a", "prod", 1)
    assert client.update_registered_model("a", description="hello").description == "hello"
    renamed = client.rename_registered_model("a", "b")
    assert renamed.name == "b" and renamed.aliases == {"prod": 1}
    assert client.get_model_version_by_alias("b", "prod").name == "b"
    client.create_registered_model("c")
    with pytest.raises(ModelExistsError):
        client.rename_registered_model("b", "c")
    client.delete_registered_model("b")
    with pytest.raises(ModelNotFoundError):
        client.get_model_version("b", 1)
    # the name is free again; numbering starts afresh for the new model
    client.create_registered_model("b")
    assert client.create_model_version("b", str(model_dir)).version == 1


def test_stages_warn_and_archive(client: RegistryClient, model_dir: Path) -> None:
    client.create_registered_model("m")
    for _ in range(3):
        client.create_model_version("m", str(model_dir))
    with pytest.warns(StageDeprecationWarning, match="stages will be removed"):
        client.transition_model_version_stage("m", 1, "production")
    with pytest.warns(FutureWarning):
        mv = client.transition_model_version_stage(
            "m", "2", "Production", archive_existing_versions=True
        )
    assert mv.current_stage == "Production"
    assert client.get_model_version("m", 1).current_stage == "Archived"
    with pytest.warns(StageDeprecationWarning):
        latest = client.get_latest_versions("m")
    assert [(v.version, v.current_stage) for v in latest] == [
        (1, "Archived"),
        (2, "Production"),
        (3, "None"),
    ]
    with pytest.warns(StageDeprecationWarning):
        assert [v.version for v in client.get_latest_versions("m", ["PRODUCTION"])] == [2]
    assert [v.version for v in client.get_registered_model("m").latest_versions] == [1, 2, 3]
    with pytest.warns(StageDeprecationWarning), pytest.raises(ValueError, match="only allowed"):
        client.transition_model_version_stage("m", 3, "Archived", archive_existing_versions=True)


def test_source_kinds(client: RegistryClient, tmp_path: Path) -> None:
    client.create_registered_model("m")
    folder = make_model_dir(tmp_path / "src")
    v1 = client.create_model_version("m", f"file://{folder}")
    v2 = client.create_model_version("m", str(folder))
    assert v1.digest == v2.digest
    tree = client.shelf.blobs.read_tree(v1.digest)
    assert sorted(e.path for e in tree) == ["MLmodel", "model.bin"]
    # an fsspec URL of a folder: downloaded, then stored content-addressed
    import fsspec

    fs = fsspec.filesystem("memory")
    fs.pipe({"/srcmodel/MLmodel": b"flavors: {}\n", "/srcmodel/model.bin": b"weights"})
    v3 = client.create_model_version("m", "memory://srcmodel")
    assert v3.digest == v1.digest and v3.source == "memory://srcmodel"
    v4 = client.create_model_version("m", Digest.parse(v1.digest).__str__())
    assert v4.digest == v1.digest


def test_resolve_model_uri(client: RegistryClient, model_dir: Path) -> None:
    client.create_registered_model("m")
    for _ in range(3):
        client.create_model_version("m", str(model_dir))
    client.set_registered_model_alias("m", "champion", 2)
    assert client.resolve_model_uri("models:/m/3")[0].version == 3
    assert client.resolve_model_uri("models:/m@champion/sub/file")[0].version == 2
    assert client.resolve_model_uri("models:/m@champion/sub/file")[1] == "sub/file"
    assert client.resolve_model_uri("models:/m/LATEST")[0].version == 3
    assert client.resolve_model_uri("models:/m@latest")[0].version == 3
    with pytest.warns(StageDeprecationWarning), pytest.raises(VersionNotFoundError):
        client.resolve_model_uri("models:/m/Production")


def test_pagination_and_order(client: RegistryClient, model_dir: Path) -> None:
    for name in ["b", "a", "c", "d", "e"]:
        client.create_registered_model(name, tags={"even": str(name in "bd")})
    page1 = client.search_registered_models(max_results=2)
    assert [m.name for m in page1] == ["a", "b"] and page1.token
    page2 = client.search_registered_models(max_results=2, page_token=page1.token)
    page3 = client.search_registered_models(max_results=2, page_token=page2.token)
    assert [m.name for m in page2 + page3] == ["c", "d", "e"] and page3.token is None
    desc = client.search_registered_models(order_by=["name DESC"])
    assert [m.name for m in desc] == ["e", "d", "c", "b", "a"]
    assert [m.name for m in client.search_registered_models("tags.even = 'True'")] == ["b", "d"]
    assert [m.name for m in client.search_registered_models("name LIKE 'a%'")] == ["a"]
    assert [m.name for m in client.search_registered_models("name ILIKE '%B%'")] == ["b"]


def test_search_versions_filters(client: RegistryClient, model_dir: Path) -> None:
    client.create_registered_model("m")
    client.create_registered_model("n")
    for i in range(4):
        client.create_model_version(
            "m" if i % 2 else "n", str(model_dir), run_id=f"r{i}", tags={"i": str(i)}
        )
    found = client.search_model_versions("run_id IN ('r1', 'r2')")
    assert sorted((v.name, v.version) for v in found) == [("m", 1), ("n", 2)]
    assert [v.run_id for v in client.search_model_versions("run_id = 'r3'")] == ["r3"]
    assert [
        v.version for v in client.search_model_versions("name = 'm' and version_number > 1")
    ] == [2]
    assert [v.version for v in client.search_model_versions("tags.`i` = '0'")] == [1]
    ordered = client.search_model_versions(order_by=["creation_timestamp ASC"])
    stamps = [v.creation_timestamp for v in ordered]
    # Versions created in the same millisecond tie; ties fall back to name, then version.
    assert stamps == sorted(stamps) and {v.run_id for v in ordered} == {"r0", "r1", "r2", "r3"}
    newest_first = client.search_model_versions(order_by=["creation_timestamp DESC"])
    assert [v.creation_timestamp for v in newest_first] == sorted(stamps, reverse=True)


def test_multi_action_commit_is_one_commit(client: RegistryClient, model_dir: Path) -> None:
    client.create_registered_model("m", tags={"a": "1", "b": "2"})
    for _ in range(3):
        client.create_model_version("m", str(model_dir))
    client.transition_model_version_stage  # noqa: B018 - exists
    with pytest.warns(StageDeprecationWarning):
        client.transition_model_version_stage("m", 1, "Staging")
        client.transition_model_version_stage("m", 2, "Staging")
        client.transition_model_version_stage("m", 3, "Staging", archive_existing_versions=True)
    last = client.get_registry_history()[-2:]
    assert {c.seq for c in last} == {client._reg_state().seq}
    assert (
        sorted((c.version, c.new) for c in last) == [(1, "Archived"), (2, "Archived")]
        or len(last) == 2
    )


def test_second_client_sees_writes(tmp_path: Path, model_dir: Path) -> None:
    from modelshelf.registry._replica import clear_replicas

    a = RegistryClient(str(tmp_path / "shelf"))
    a.create_registered_model("m")
    a.create_model_version("m", str(model_dir))
    clear_replicas()
    b = RegistryClient(str(tmp_path / "shelf"))
    assert b.get_model_version("m", 1).digest == a.get_model_version("m", 1).digest
    a._reg_forget()
    b.set_registered_model_alias("m", "x", 1)
    assert a.get_model_version_by_alias("m", "x").version == 1
