"""The entry points MLflow discovers: declared in pyproject.toml, importable, and used."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

pytest.importorskip("mlflow")

from modelshelf.mlflow_plugin import SCHEMES  # noqa: E402

pytestmark = pytest.mark.interop
ROOT = Path(__file__).resolve().parents[2]
GROUPS = {
    "mlflow.model_registry_store": "modelshelf.mlflow_plugin:ModelshelfRegistryStore",
    "mlflow.artifact_repository": "modelshelf.mlflow_plugin:ModelshelfArtifactRepository",
}

# Run by a fresh interpreter that sees the declared entry points as an installed distribution:
# MLflow's own discovery must route every scheme to the plugin.
PROBE = """
import json, sys
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
from mlflow.tracking._model_registry.utils import _get_store_registry
shelf = sys.argv[1]
out = {}
for scheme in sys.argv[2:]:
    store = _get_store_registry().get_store_builder(scheme + "://bucket/shelf")
    out[scheme] = [store.__module__ + ":" + store.__qualname__]
store = _get_store_registry().get_store("modelshelf+file://" + shelf)
repo = get_artifact_repository("modelshelf+file://" + shelf + "/-/exp")
out["built"] = [type(store).__name__, type(repo).__name__]
print(json.dumps(out))
"""


def test_entry_points_are_declared_importable_and_found_by_mlflow(tmp_path: Path) -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    for group, target in GROUPS.items():
        assert declared[group] == dict.fromkeys(SCHEMES, target), group
    assert set(SCHEMES) >= {"modelshelf+file", "modelshelf+s3", "modelshelf+gs", "modelshelf+az"}

    dist = tmp_path / "site" / "modelshelf_entry_points-0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: modelshelf-entry-points\n")
    (dist / "entry_points.txt").write_text(
        "".join(
            f"[{group}]\n" + "".join(f"{s} = {target}\n" for s in SCHEMES) + "\n"
            for group, target in GROUPS.items()
        )
    )
    env = dict(os.environ, PYTHONPATH=f"{dist.parent}{os.pathsep}{ROOT / 'src'}")
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", PROBE, str(tmp_path / "shelf"), *SCHEMES],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    for scheme in SCHEMES:
        assert found[scheme] == ["modelshelf.mlflow_plugin._registry:ModelshelfRegistryStore"], (
            scheme
        )
    assert found["built"] == ["ModelshelfRegistryStore", "ModelshelfArtifactRepository"]


def test_only_the_plugin_imports_mlflow() -> None:
    code = (
        "import sys, modelshelf, modelshelf.client, modelshelf.gc, modelshelf.pyfunc, "
        "modelshelf.cli, modelshelf.uri, modelshelf.registry, modelshelf.runs; "
        "print('mlflow' in sys.modules)"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.strip() == "False", out.stderr[-2000:]
