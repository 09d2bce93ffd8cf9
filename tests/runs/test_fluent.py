"""The fluent API: active runs, failure handling, experiments, shelf selection."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import modelshelf.runs as runs
from modelshelf._shelf import Shelf, get_shelf
from modelshelf.errors import ConfigurationError, InvalidInputError, InvalidPathError
from modelshelf.runs import RunsClient


def test_exception_inside_block_ends_run_failed(local_shelf: Shelf) -> None:
    with pytest.raises(ZeroDivisionError):
        with runs.start_run() as active:
            runs.log_param("a", 1)
            1 / 0  # noqa: B018
    assert runs.active_run() is None
    assert runs.get_run(active.info.run_id).info.status == "FAILED"


def test_keyboard_interrupt_ends_run_killed(local_shelf: Shelf) -> None:
    with pytest.raises(KeyboardInterrupt):
        with runs.start_run() as active:
            raise KeyboardInterrupt
    assert runs.get_run(active.info.run_id).info.status == "KILLED"


def test_logging_without_a_run_starts_one(local_shelf: Shelf) -> None:
    runs.log_metric("m", 1.0)
    active = runs.active_run()
    assert active is not None and active.info.status == "RUNNING"
    runs.end_run()
    assert runs.active_run() is None
    last = runs.last_active_run()
    assert last is not None and last.info.status == "FINISHED" and last.data.metrics == {"m": 1.0}


def test_nested_runs_and_resume(local_shelf: Shelf) -> None:
    with runs.start_run() as parent:
        with pytest.raises(InvalidInputError, match="already active"):
            runs.start_run()
        with runs.start_run(nested=True) as child:
            assert runs.active_run() is child
        assert runs.active_run() is parent
    assert runs.get_run(child.info.run_id).data.tags["mlflow.parentRunId"] == parent.info.run_id
    with runs.start_run(run_id=parent.info.run_id) as again:
        runs.log_param("later", "x")
    assert again.info.run_id == parent.info.run_id
    resumed = runs.get_run(parent.info.run_id)
    assert resumed.info.status == "FINISHED" and resumed.data.params == {"later": "x"}


def test_experiments(local_shelf: Shelf) -> None:
    exp = runs.set_experiment("churn")
    assert runs.set_experiment("churn") == exp
    assert runs.get_experiment(exp.experiment_id).name == "churn"
    with runs.start_run() as r:
        pass
    assert r.info.experiment_id == exp.experiment_id and r.info.experiment_name == "churn"
    assert runs.get_experiment_by_name("nope") is None
    with pytest.raises(FileExistsError):
        runs.create_experiment("churn")
    other = runs.create_experiment("other")
    runs.set_experiment(experiment_id=other)
    with runs.start_run(run_name="o"):
        pass
    frame = runs.search_runs()
    assert isinstance(frame, pd.DataFrame) and list(frame["tags.mlflow.runName"]) == ["o"]
    assert len(runs.search_runs(search_all_experiments=True, output_format="list")) == 2
    assert len(runs.search_runs(experiment_names=["churn"], output_format="list")) == 1
    default = RunsClient(local_shelf).create_run()
    assert default.info.experiment_id == "0" and default.info.experiment_name == "Default"


def test_log_artifacts_fluent_and_uri(local_shelf: Shelf, tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("hi")
    with runs.start_run() as r:
        runs.log_artifact(str(tmp_path / "f.txt"), "d")
        runs.log_text("t", "t.txt")
        runs.log_dict({"a": 1}, "a.json")
        assert runs.get_artifact_uri("d") == f"runs:/{r.info.run_id}/d"
        assert runs.get_artifact_uri() == f"runs:/{r.info.run_id}"
    names = [f.path for f in RunsClient(local_shelf).list_artifacts(r.info.run_id)]
    assert names == ["a.json", "d", "t.txt"]


@pytest.mark.parametrize("bad", ["../x", "/abs", "a/../../b", "a\\b", "a\x00b", "./a", "a//b"])
def test_escaping_artifact_paths_are_refused(local_shelf: Shelf, tmp_path: Path, bad: str) -> None:
    client = RunsClient(local_shelf)
    run_id = client.create_run().info.run_id
    (tmp_path / "f").write_text("x")
    with pytest.raises(InvalidPathError):
        client.log_text(run_id, "x", bad)
    with pytest.raises(InvalidPathError):
        client.log_artifact(run_id, tmp_path / "f", bad)
    with pytest.raises(InvalidPathError):
        client.list_artifacts(run_id, bad)
    with pytest.raises(InvalidPathError):
        client.download_artifacts(run_id, bad, str(tmp_path / "o"))
    assert client.list_artifacts(run_id) == []


def test_bad_names_and_values(local_shelf: Shelf) -> None:
    from modelshelf.errors import InvalidNameError

    client = RunsClient(local_shelf)
    run_id = client.create_run().info.run_id
    for bad in ["", "../x", "/x", "a\x00", "é?*"]:
        with pytest.raises(InvalidNameError):
            client.log_param(run_id, bad, 1)
    with pytest.raises(InvalidInputError, match="6000"):
        client.log_param(run_id, "long", "x" * 6001)
    client.log_param(run_id, "a/b c:d.e-f", 1)
    assert client.get_run(run_id).data.params == {"a/b c:d.e-f": "1"}


def test_tracking_uri_is_the_shelf(tmp_path: Path) -> None:
    runs.set_tracking_uri(str(tmp_path / "s"))
    assert runs.get_tracking_uri() == str(tmp_path / "s") == get_shelf().url
    runs.set_registry_uri(str(tmp_path / "s"))
    assert runs.get_registry_uri() == str(tmp_path / "s")
    for server in ["http://localhost:5000", "sqlite:///mlflow.db", "databricks"]:
        with pytest.raises(ConfigurationError, match="shelf"):
            runs.set_tracking_uri(server)


def test_env_var_selects_shelf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELSHELF_URI", str(tmp_path / "env-shelf"))
    with runs.start_run() as r:
        runs.log_param("a", 1)
    assert RunsClient(str(tmp_path / "env-shelf")).get_run(r.info.run_id).data.params == {"a": "1"}
