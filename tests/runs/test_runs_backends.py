"""Runs, records and write-once artifacts, on every backend."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pyarrow as pa
import pytest

import modelshelf.runs as runs
from modelshelf._shelf import Shelf
from modelshelf.errors import (
    ArtifactExistsError,
    ArtifactNotFoundError,
    ImmutableValueError,
    RunNotFoundError,
)
from modelshelf.runs import FileInfo, Metric, Param, RunsClient, RunTag
from modelshelf.uri import resolve_source
from tests.runs._fixtures import ReadCounter


def _tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def _read_tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_fluent_run_records(shelf_obj: Shelf) -> None:
    with runs.start_run(run_name="first", experiment_name="exp", tags={"team": "a"}) as active:
        assert runs.active_run() is active
        runs.log_param("lr", 0.1)
        runs.log_params({"lr": 0.1, "depth": 3})
        runs.log_metric("loss", 1.0, step=0)
        runs.log_metric("loss", 0.5, step=1)
        runs.log_metrics({"acc": 0.9, "f1": 0.8}, step=1)
        runs.set_tag("stage", "dev")
        runs.set_tags({"stage": "prod", "x": "y"})
        runs.delete_tag("x")
    assert runs.active_run() is None
    run_id = active.info.run_id
    assert len(run_id) == 32 and int(run_id, 16) >= 0
    run = RunsClient(shelf_obj).get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "first"
    assert run.info.experiment_name == "exp"
    assert run.info.end_time is not None and run.info.end_time >= run.info.start_time
    assert run.info.artifact_uri == f"runs:/{run_id}"
    assert run.data.params == {"depth": "3", "lr": "0.1"}
    assert run.data.metrics == {"acc": 0.9, "f1": 0.8, "loss": 0.5}
    assert run.data.tags["team"] == "a"
    assert run.data.tags["stage"] == "prod"
    assert "x" not in run.data.tags
    assert run.data.tags["mlflow.runName"] == "first"


def test_params_are_write_once(client: RunsClient) -> None:
    run_id = client.create_run().info.run_id
    client.log_param(run_id, "alpha", 1)
    client.log_param(run_id, "alpha", "1")  # same value: a no-op
    with pytest.raises(ImmutableValueError, match=rf"param 'alpha' of run {run_id} is already '1'"):
        client.log_param(run_id, "alpha", 2)
    assert client.get_run(run_id).data.params == {"alpha": "1"}


def test_metrics_append_and_history(client: RunsClient) -> None:
    run_id = client.create_run().info.run_id
    for step, value in enumerate([3.0, 2.0, math.nan, 1.0]):
        client.log_metric(run_id, "loss", value, timestamp=1000 + step, step=step)
    client.log_batch(
        run_id,
        metrics=[Metric("acc", 0.7, 2000, 5)],
        params=[Param("p", "v")],
        tags=[RunTag("t", "1")],
    )
    history = client.get_metric_history(run_id, "loss")
    assert [m.step for m in history] == [0, 1, 2, 3]
    assert history[3].value == 1.0
    table = client.get_metric_history_table(run_id)
    assert isinstance(table, pa.Table)
    assert table.column_names == ["key", "value", "step", "timestamp"]
    assert table.num_rows == 5
    assert history.to_arrow().column("step").to_pylist() == [0, 1, 2, 3]
    run = client.get_run(run_id)
    assert run.data.metrics == {"acc": 0.7, "loss": 1.0}
    assert run.data.params == {"p": "v"} and run.data.tags["t"] == "1"


def test_artifacts_roundtrip(client: RunsClient, tmp_path: Path) -> None:
    run_id = client.create_run().info.run_id
    src = _tree(tmp_path / "src", {"a.txt": b"A", "sub/b.bin": b"B" * 1000, "sub/deep/c": b""})
    single = tmp_path / "one.csv"
    single.write_bytes(b"x,y\n1,2\n")
    client.log_artifacts(run_id, src)  # root: each top-level entry is its own artifact
    client.log_artifacts(run_id, src, "model")
    client.log_artifact(run_id, single)
    client.log_artifact(run_id, single, "tables")
    client.log_text(run_id, "hello", "notes/readme.md")
    client.log_dict(run_id, {"k": [1, 2]}, "notes/config.json")
    client.log_dict(run_id, {"k": 1}, "notes/config.yaml")

    assert client.list_artifacts(run_id) == [
        FileInfo("a.txt", False, 1),
        FileInfo("model", True, None),
        FileInfo("notes", True, None),
        FileInfo("one.csv", False, 8),
        FileInfo("sub", True, None),
        FileInfo("tables", True, None),
    ]
    assert client.list_artifacts(run_id, "model") == [
        FileInfo("model/a.txt", False, 1),
        FileInfo("model/sub", True, None),
    ]
    assert client.list_artifacts(run_id, "model/sub/") == [
        FileInfo("model/sub/b.bin", False, 1000),
        FileInfo("model/sub/deep", True, None),
    ]
    assert client.list_artifacts(run_id, "notes") == [
        FileInfo("notes/config.json", False, len('{\n  "k": [\n    1,\n    2\n  ]\n}')),
        FileInfo("notes/config.yaml", False, len("k: 1\n")),
        FileInfo("notes/readme.md", False, 5),
    ]
    assert client.list_artifacts(run_id, "a.txt") == []
    assert client.list_artifacts(run_id, "nothing/here") == []

    out = Path(client.download_artifacts(run_id, "model", str(tmp_path / "dl")))
    assert out == tmp_path / "dl" / "model"
    assert _read_tree(out) == _read_tree(src)
    one = Path(client.download_artifacts(run_id, "model/sub/b.bin", str(tmp_path / "dl2")))
    assert one == tmp_path / "dl2" / "model" / "sub" / "b.bin" and one.read_bytes() == b"B" * 1000
    everything = Path(client.download_artifacts(run_id, "", str(tmp_path / "all")))
    got = _read_tree(everything)
    assert got["sub/deep/c"] == b"" and got["tables/one.csv"] == single.read_bytes()
    assert got["notes/readme.md"] == b"hello"
    virtual = Path(client.download_artifacts(run_id, "notes", str(tmp_path / "n")))
    assert sorted(os.listdir(virtual)) == ["config.json", "config.yaml", "readme.md"]


def test_artifacts_are_write_once(client: RunsClient, tmp_path: Path) -> None:
    run_id = client.create_run().info.run_id
    f = tmp_path / "f.txt"
    f.write_bytes(b"one")
    client.log_artifact(run_id, f, "out")
    client.log_artifact(run_id, f, "out")  # same bytes: a safe retry
    f.write_bytes(b"two")
    with pytest.raises(
        ArtifactExistsError, match=rf"run {run_id} already has the artifact 'out/f.txt'"
    ):
        client.log_artifact(run_id, f, "out")
    with pytest.raises(ArtifactExistsError, match="would go inside the artifact 'out/f.txt'"):
        client.log_text(run_id, "x", "out/f.txt/inner")
    with pytest.raises(ArtifactExistsError, match="already has the artifact 'out/f.txt' inside"):
        client.log_artifacts(run_id, _tree(tmp_path / "d", {"z": b"z"}), "out")
    client.log_artifacts(run_id, tmp_path / "d", "tree")
    client.log_artifacts(run_id, tmp_path / "d", "tree")
    with pytest.raises(ArtifactExistsError, match="inside the artifact 'tree'"):
        client.log_text(run_id, "x", "tree/new.txt")
    (tmp_path / "d" / "z").write_bytes(b"changed")
    with pytest.raises(ArtifactExistsError, match="'tree'"):
        client.log_artifacts(run_id, tmp_path / "d", "tree")
    assert client.download_artifacts(run_id, "out/f.txt", str(tmp_path / "o"))
    assert (tmp_path / "o" / "out" / "f.txt").read_bytes() == b"one"


def test_relogging_unchanged_tree_moves_no_bytes(client: RunsClient, tmp_path: Path) -> None:
    src = _tree(tmp_path / "src", {f"f{i}": os.urandom(2048) for i in range(20)})
    first = client.create_run().info.run_id
    client.log_artifacts(first, src, "data")
    assert client.shelf.blobs.last_put.bytes_uploaded == 20 * 2048
    second = client.create_run().info.run_id
    client.log_artifacts(second, src, "data")
    assert client.shelf.blobs.last_put.bytes_uploaded == 0
    assert (
        client.locate_artifact(first, "data").digest
        == client.locate_artifact(second, "data").digest
    )


def test_second_download_reads_no_blob(client: RunsClient, tmp_path: Path) -> None:
    run_id = client.create_run().info.run_id
    src = _tree(tmp_path / "src", {"w.bin": os.urandom(50_000), "cfg/x.json": b"{}"})
    client.log_artifacts(run_id, src, "model")
    fresh = RunsClient(Shelf(client.shelf.url, **client.shelf.storage_options))
    fresh.download_artifacts(run_id, "model", str(tmp_path / "one"))
    counter = ReadCounter(fresh.shelf)
    try:
        fresh.download_artifacts(run_id, "model", str(tmp_path / "two"))
    finally:
        counter.restore()
    assert counter.blob_reads == []
    assert _read_tree(tmp_path / "two" / "model") == _read_tree(src)


def test_unknown_run(client: RunsClient, tmp_path: Path) -> None:
    missing = "0" * 32
    for call in (
        lambda: client.get_run(missing),
        lambda: client.log_param(missing, "a", 1),
        lambda: client.log_metric(missing, "a", 1.0),
        lambda: client.set_tag(missing, "a", "b"),
        lambda: client.list_artifacts(missing),
        lambda: client.log_text(missing, "x", "a.txt"),
        lambda: client.download_artifacts(missing, "a", str(tmp_path)),
        lambda: client.set_terminated(missing),
    ):
        with pytest.raises(RunNotFoundError, match=f"run '{missing}' not found"):
            call()
    with pytest.raises(RunNotFoundError, match="32 lowercase hex"):
        client.get_run("../../etc")


def test_missing_artifact_names_what_exists(client: RunsClient, tmp_path: Path) -> None:
    run_id = client.create_run().info.run_id
    with pytest.raises(ArtifactNotFoundError, match="nothing has been logged"):
        client.download_artifacts(run_id, "model", str(tmp_path / "x"))
    client.log_text(run_id, "a", "a.txt")
    client.log_artifacts(run_id, _tree(tmp_path / "m", {"MLmodel": b"x"}), "model")
    with pytest.raises(ArtifactNotFoundError, match=r"top-level artifacts are: a\.txt, model"):
        client.download_artifacts(run_id, "modle", str(tmp_path / "x"))
    with pytest.raises(ArtifactNotFoundError, match="the folder 'model' holds: MLmodel"):
        client.download_artifacts(run_id, "model/weights.bin", str(tmp_path / "x"))
    with pytest.raises(ArtifactNotFoundError, match="'a.txt' is a file, not a folder"):
        client.download_artifacts(run_id, "a.txt/x", str(tmp_path / "x"))


def test_search_runs(client: RunsClient) -> None:
    ids = []
    for i, (exp, status) in enumerate([("a", "FINISHED"), ("a", "FAILED"), ("b", "FINISHED")]):
        run = client.create_run(experiment_name=exp, run_name=f"r{i}", start_time=1000 + i)
        client.log_param(run.info.run_id, "i", i)
        client.log_metric(run.info.run_id, "score", i * 10.0)
        client.set_tag(run.info.run_id, "kind", "even" if i % 2 == 0 else "odd")
        client.set_terminated(run.info.run_id, status)
        ids.append(run.info.run_id)
    running = client.create_run(experiment_name="a", start_time=2000).info.run_id

    def found(**kwargs: object) -> list[str]:
        return [r.info.run_id for r in client.search_runs(**kwargs)]  # type: ignore[arg-type]

    assert found(experiment_names=["a"]) == [running, ids[1], ids[0]]
    assert found() == [running, ids[2], ids[1], ids[0]]
    assert found(filter_string="params.i = '2'") == [ids[2]]
    assert found(filter_string="metrics.score >= 10 and tags.kind = 'even'") == [ids[2]]
    assert found(filter_string="status = 'FAILED'") == [ids[1]]
    assert found(filter_string="attributes.status != 'RUNNING' and run_name LIKE 'r%'") == [
        ids[2], ids[1], ids[0]
    ]  # fmt: skip
    assert found(filter_string="tags.kind IN ('odd')") == [ids[1]]
    assert found(order_by=["metrics.score ASC"]) == [ids[0], ids[1], ids[2], running]
    assert found(order_by=["params.i DESC"], max_results=2) == [ids[2], ids[1]]
    a_id = client.get_experiment_by_name("a")
    assert a_id is not None
    assert found(experiment_ids=[a_id.experiment_id], filter_string="status = 'RUNNING'") == [
        running
    ]


def test_end_record_is_write_once(client: RunsClient) -> None:
    run_id = client.create_run().info.run_id
    client.set_terminated(run_id, "FAILED")
    client.set_terminated(run_id, "FAILED")
    with pytest.raises(ImmutableValueError, match="already ended with status FAILED"):
        client.set_terminated(run_id, "FINISHED")
    assert client.get_run(run_id).info.status == "FAILED"


def test_logged_models_lineage(client: RunsClient, tmp_path: Path) -> None:
    run_id = client.create_run().info.run_id
    client.log_artifacts(run_id, _tree(tmp_path / "m", {"MLmodel": b"flavors: {}\n"}), "model")
    digest = client.locate_artifact(run_id, "model").digest
    info = client.record_logged_model(run_id, "model", digest, flavors=["python_function"])
    again = client.record_logged_model(run_id, "model", digest)
    assert again == info
    assert info.model_id.startswith("m-") and info.model_uri == f"runs:/{run_id}/model"
    assert client.list_logged_models(run_id) == [info]
    assert client.get_logged_model(info.model_id) == info
    with pytest.raises(ArtifactExistsError):
        client.record_logged_model(run_id, "model", "sha256:" + "0" * 64)
    source = resolve_source(f"runs:/{run_id}/model", client.shelf, runs=client)
    assert source.digest == digest
    assert source.lineage == {"run_id": run_id, "artifact_path": "model"}
