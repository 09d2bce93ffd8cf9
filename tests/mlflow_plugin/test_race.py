"""Two MLflow processes register versions of one model at once through the plugin."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest

pytest.importorskip("mlflow")

from modelshelf import Client  # noqa: E402
from tests.mlflow_plugin._workers import register_versions  # noqa: E402

pytestmark = [pytest.mark.interop, pytest.mark.slow]


def test_two_mlflow_processes_get_distinct_gap_free_versions(tmp_path: Path) -> None:
    source = tmp_path / "model"
    source.mkdir()
    (source / "MLmodel").write_text("flavors: {}\n")
    uri = f"modelshelf+file://{tmp_path}/shelf"
    client = Client(str(tmp_path / "shelf"))
    client.create_registered_model("raced")
    count = 4
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        start_at = time.time() + 15  # after both children have imported MLflow
        jobs = [
            pool.apply_async(
                register_versions,
                (f"sqlite:///{tmp_path}/{i}.db", uri, "raced", str(source), count, start_at),
            )
            for i in range(2)
        ]
        got = [job.get(timeout=300) for job in jobs]
    numbers = sorted(n for g in got for n in g)
    assert numbers == list(range(1, 2 * count + 1))
    assert all(g == sorted(g) for g in got)
    assert client.verify(deep=True).ok
    created = [
        c.version for c in client.get_registry_history("raced") if c.action == "create_version"
    ]
    assert sorted(created) == numbers
