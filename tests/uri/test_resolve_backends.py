"""The one resolver and the downloads, on every backend: runs:/, models:/, sha256:, paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from modelshelf import artifacts
from modelshelf._shelf import Shelf
from modelshelf.client import Client
from modelshelf.errors import (
    AliasNotFoundError,
    ArtifactNotFoundError,
    ModelNotFoundError,
    ObjectNotFoundError,
    OfflineFallbackWarning,
    RunNotFoundError,
    StageDeprecationWarning,
    VersionNotFoundError,
)
from modelshelf.runs import RunsClient
from modelshelf.uri import download_uri, local_model_dir, resolve_uri
from tests.runs._fixtures import Offline, ReadCounter


def _tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


MODEL = {"MLmodel": b"flavors: {}\n", "model.pkl": os.urandom(4096), "data/extra.json": b"{}"}


@pytest.fixture
def logged(shelf_obj: Shelf, tmp_path: Path) -> tuple[Client, str, Path]:
    client = Client(shelf_obj)
    run_id = client.create_run(run_name="train").info.run_id
    src = _tree(tmp_path / "model-src", MODEL)
    client.log_artifacts(run_id, src, "model")
    client.log_text(run_id, "notes", "notes.txt")
    return client, run_id, src


def test_runs_uris(logged: tuple[Client, str, Path], tmp_path: Path) -> None:
    client, run_id, src = logged
    whole = resolve_uri(f"runs:/{run_id}/model")
    assert (whole.kind, whole.run_id, whole.artifact_path, whole.immutable) == (
        "tree",
        run_id,
        "model",
        True,
    )
    assert whole.digest == client.shelf.blobs.put_tree(src)
    one = resolve_uri(f"runs:/{run_id}/model/model.pkl")
    assert one.kind == "blob" and one.size == 4096 and one.root == whole.digest
    sub = resolve_uri(f"runs:/{run_id}/model/data")
    assert (
        sub.kind == "tree" and sub.tree is not None and [e.path for e in sub.tree] == ["extra.json"]
    )
    root = resolve_uri(f"runs:/{run_id}")
    assert root.kind == "tree" and not root.immutable and root.tree is not None
    assert sorted(e.path for e in root.tree) == [
        "model/MLmodel",
        "model/data/extra.json",
        "model/model.pkl",
        "notes.txt",
    ]
    out = download_uri(f"runs:/{run_id}/model", tmp_path / "dl")
    assert out == tmp_path / "dl" / "model" and _files(out) == MODEL
    f = download_uri(f"runs:/{run_id}/model/data/extra.json", tmp_path / "dl2")
    assert f == tmp_path / "dl2" / "model" / "data" / "extra.json" and f.read_bytes() == b"{}"
    assert artifacts.load_text(f"runs:/{run_id}/notes.txt") == "notes"
    path = artifacts.download_artifacts(
        run_id=run_id, artifact_path="notes.txt", dst_path=str(tmp_path / "dl3")
    )
    assert Path(path).read_text() == "notes"
    assert [f.path for f in artifacts.list_artifacts(f"runs:/{run_id}/model")] == [
        "model/MLmodel",
        "model/data",
        "model/model.pkl",
    ]


def test_runs_errors(logged: tuple[Client, str, Path]) -> None:
    _, run_id, _ = logged
    with pytest.raises(RunNotFoundError, match=f"run '{'f' * 32}' not found"):
        resolve_uri(f"runs:/{'f' * 32}/model")
    with pytest.raises(ArtifactNotFoundError, match=r"top-level artifacts are: model, notes\.txt"):
        resolve_uri(f"runs:/{run_id}/weights")
    with pytest.raises(ArtifactNotFoundError, match="holds: MLmodel, data, model.pkl"):
        resolve_uri(f"runs:/{run_id}/model/nope.bin")


def test_models_uris(logged: tuple[Client, str, Path], tmp_path: Path) -> None:
    client, run_id, _ = logged
    client.create_registered_model("churn")
    v1 = client.create_model_version("churn", f"runs:/{run_id}/model", run_id=run_id)
    assert v1.lineage == {"run_id": run_id, "artifact_path": "model"}
    assert v1.digest == str(resolve_uri(f"runs:/{run_id}/model").digest)
    other = _tree(tmp_path / "v2", {"MLmodel": b"v2\n"})
    v2 = client.create_model_version("churn", str(other))
    client.set_registered_model_alias("churn", "champion", 1)
    with pytest.warns(StageDeprecationWarning):
        client.transition_model_version_stage("churn", 1, "Production")

    r = resolve_uri("models:/churn/1")
    assert (r.name, r.version, r.run_id, r.artifact_path, r.immutable) == (
        "churn",
        1,
        run_id,
        "model",
        True,
    )
    assert str(r.digest) == v1.digest
    assert resolve_uri("models:/churn@champion").version == 1
    assert resolve_uri("models:/churn/latest").version == 2
    assert resolve_uri("models:/churn@latest").digest == resolve_uri("models:/churn/2").digest
    with pytest.warns(StageDeprecationWarning):
        assert resolve_uri("models:/churn/production").version == 1
    pkl = resolve_uri("models:/churn@champion/model.pkl")
    assert pkl.kind == "blob" and pkl.path == "model.pkl" and pkl.size == 4096

    out = download_uri("models:/churn@champion", tmp_path / "m1")
    assert out == tmp_path / "m1" and _files(out) == MODEL
    single = download_uri("models:/churn/1/data/extra.json", tmp_path / "m2")
    assert single == tmp_path / "m2" / "data" / "extra.json"
    assert _files(download_uri("models:/churn/2", tmp_path / "m3")) == {"MLmodel": b"v2\n"}
    assert v2.version == 2

    copied = client.create_model_version("churn", "models:/churn@champion")
    assert copied.digest == v1.digest and copied.lineage == {
        "run_id": run_id,
        "artifact_path": "model",
    }


def test_models_errors(logged: tuple[Client, str, Path]) -> None:
    client, run_id, _ = logged
    client.create_registered_model("churn")
    client.create_model_version("churn", f"runs:/{run_id}/model")
    client.set_registered_model_alias("churn", "champion", 1)
    with pytest.raises(ModelNotFoundError, match="'nope' does not exist"):
        resolve_uri("models:/nope/1")
    with pytest.raises(VersionNotFoundError, match="live versions: 1"):
        resolve_uri("models:/churn/7")
    with pytest.raises(AliasNotFoundError, match="alias x not found.*aliases: champion"):
        resolve_uri("models:/churn@x")
    with pytest.raises(ArtifactNotFoundError, match="version 1.*holds: MLmodel, data, model.pkl"):
        resolve_uri("models:/churn/1/missing.txt")
    with (
        pytest.warns(StageDeprecationWarning),
        pytest.raises(VersionNotFoundError, match="Staging"),
    ):
        resolve_uri("models:/churn/Staging")


def test_digest_uris(logged: tuple[Client, str, Path], tmp_path: Path) -> None:
    client, run_id, _ = logged
    tree = resolve_uri(f"runs:/{run_id}/model").digest
    blob = resolve_uri(f"runs:/{run_id}/notes.txt").digest
    t = resolve_uri(str(tree))
    assert t.kind == "tree" and t.digest == tree and t.immutable
    b = resolve_uri(str(blob))
    assert b.kind == "blob" and b.size == 5
    inner = resolve_uri(f"{tree}/model.pkl")
    assert inner.kind == "blob" and inner.root == tree
    assert _files(download_uri(str(tree), tmp_path / "t")) == MODEL
    assert download_uri(str(blob), tmp_path / "b").read_bytes() == b"notes"
    with pytest.raises(ObjectNotFoundError, match="no blob or tree sha256:0000"):
        resolve_uri("sha256:" + "0" * 64)
    with pytest.raises(ArtifactNotFoundError, match="is a file, not a folder"):
        resolve_uri(f"{blob}/x")


def test_local_model_dir_is_cached_and_offline(logged: tuple[Client, str, Path]) -> None:
    client, run_id, _ = logged
    client.create_registered_model("churn")
    client.create_model_version("churn", f"runs:/{run_id}/model")
    client.set_registered_model_alias("churn", "champion", 1)
    shelf = client.shelf
    first = local_model_dir(f"runs:/{run_id}/model", shelf)
    assert _files(first) == MODEL
    by_alias = local_model_dir("models:/churn@champion", shelf)
    assert by_alias == first  # same tree digest: the same cached folder
    assert local_model_dir("models:/churn/1", shelf) == first

    counter = ReadCounter(shelf)
    try:
        assert local_model_dir(f"runs:/{run_id}/model", shelf) == first
        assert local_model_dir("models:/churn/1", shelf) == first
    finally:
        counter.restore()
    # runs:/ and numbered versions always mean the same bytes: no read at all the second time.
    assert counter.all_reads == []

    offline = Offline(shelf)
    try:
        assert local_model_dir(f"runs:/{run_id}/model", shelf) == first
        with pytest.warns(OfflineFallbackWarning, match="could not be reached"):
            assert local_model_dir("models:/churn@champion", shelf) == first
    finally:
        offline.restore()


def test_second_download_reads_no_blob_even_if_shelf_blobs_vanish(
    logged: tuple[Client, str, Path], tmp_path: Path
) -> None:
    client, run_id, _ = logged
    download_uri(f"runs:/{run_id}/model", tmp_path / "a")
    located = resolve_uri(f"runs:/{run_id}/model")
    assert located.tree is not None
    for entry in located.tree:  # delete every file blob of the model from the shelf
        client.shelf.storage.delete(entry.digest.key)
    out = download_uri(f"runs:/{run_id}/model", tmp_path / "b")
    assert _files(out) == MODEL


def test_logged_model_uri(logged: tuple[Client, str, Path], tmp_path: Path) -> None:
    client, run_id, _ = logged
    digest = resolve_uri(f"runs:/{run_id}/model").digest
    assert digest is not None
    info = client.record_logged_model(run_id, "model", digest)
    r = resolve_uri(f"models:/{info.model_id}")
    assert (r.digest, r.run_id, r.artifact_path, r.model_id) == (
        digest,
        run_id,
        "model",
        info.model_id,
    )
    assert _files(download_uri(f"models:/{info.model_id}", tmp_path / "lm")) == MODEL
    from modelshelf.errors import NotFoundError

    with pytest.raises(NotFoundError, match="no logged model"):
        resolve_uri(f"models:/m-{'0' * 32}")


def test_racing_writers_of_one_artifact_path(shelf_obj: Shelf) -> None:
    """Eight threads log different bytes at one path: exactly one wins, the rest are refused;
    eight retries of the winner's bytes all succeed."""
    from concurrent.futures import ThreadPoolExecutor

    from modelshelf.errors import ArtifactExistsError

    client = RunsClient(shelf_obj)
    run_id = client.create_run().info.run_id

    def log(i: int) -> str:
        try:
            RunsClient(shelf_obj).log_text(run_id, f"writer {i}", "result.txt")
            return "won"
        except ArtifactExistsError:
            return "refused"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(log, range(8)))
    assert outcomes.count("won") == 1, outcomes
    winner = outcomes.index("won")
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(lambda _: log(winner), range(8))) == ["won"] * 8
    assert client.list_artifacts(run_id)[0].path == "result.txt"


def test_register_sub_folder_and_refuse_a_file(logged: tuple[Client, str, Path]) -> None:
    from modelshelf.errors import InvalidURIError

    client, run_id, _ = logged
    client.create_registered_model("parts")
    mv = client.create_model_version("parts", f"runs:/{run_id}/model/data")
    assert mv.lineage == {"run_id": run_id, "artifact_path": "model/data"}
    # The sub-folder's manifest was stored, so the version's digest is a tree on the shelf.
    assert [e.path for e in client.shelf.blobs.read_tree(mv.digest)] == ["extra.json"]
    with pytest.raises(InvalidURIError, match="single file"):
        client.create_model_version("parts", f"runs:/{run_id}/notes.txt")
    with pytest.raises(InvalidURIError, match="not a run id"):
        client.create_model_version("parts", "runs:/nope/model")
