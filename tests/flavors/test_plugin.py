"""A third-party flavor, pip-installed from tests/flavors/plugin_pkg, found by its entry point."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import modelshelf.flavors as flavors
from modelshelf.models import Model
from tests.flavors._util import load_pyfunc

PLUGIN_SRC = Path(__file__).parent / "plugin_pkg"


def _pip_install(src: Path, target: Path) -> None:
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target)]
    # Without build isolation when the installed setuptools can build wheels itself (>= 70.1,
    # no `wheel` package needed): no download. Otherwise pip fetches setuptools in isolation.
    try:
        from setuptools.command import bdist_wheel  # noqa: F401

        cmd.append("--no-build-isolation")
    except ImportError:
        pass
    subprocess.run([*cmd, str(src)], check=True, capture_output=True, text=True)


@pytest.fixture(scope="module")
def plugin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("plugin")
    src = work / "src"
    shutil.copytree(
        PLUGIN_SRC, src
    )  # building writes egg-info/build dirs: keep them out of the repo
    site = work / "site"
    _pip_install(src, site)
    sys.path.insert(0, str(site))
    flavors.refresh_entry_points()
    try:
        yield "modelshelf_toyflavor"
    finally:
        sys.path.remove(str(site))
        for name in [n for n in sys.modules if n.startswith("modelshelf_toyflavor")]:
            del sys.modules[name]
        flavors.refresh_entry_points()


def test_plugin_is_found_through_its_entry_point(plugin: str) -> None:
    assert importlib.util.find_spec(plugin) is not None
    assert "toy" in flavors.available_flavors()
    toy = flavors.get_flavor("toy")
    assert toy.__name__ == plugin
    assert flavors.flavor_for_loader_module(plugin) == "toy"


def test_plugin_saves_loads_and_predicts(plugin: str, tmp_path: Path) -> None:
    toy = flavors.get_flavor("toy")
    model = toy.ToyLinear([2.0, -1.0], 0.5)
    X = pd.DataFrame({"a": [0.0, 1.0, 2.0], "b": [1.0, 1.0, 0.5]})
    expected = model.predict(X)
    meta = toy.save_model(model, tmp_path / "m", input_example=X.head(2))
    assert meta.signature is not None and [c.name for c in meta.signature.inputs] == ["a", "b"]
    saved = Model.load(tmp_path / "m")
    assert saved.flavors["toy"] == {"data": "model.json", "toy_version": "0.1.0"}
    assert saved.flavors["python_function"]["loader_module"] == plugin
    assert "modelshelf-toyflavor==0.1.0" in (tmp_path / "m" / "requirements.txt").read_text()

    np.testing.assert_array_equal(toy.load_model(tmp_path / "m").predict(X), expected)
    np.testing.assert_array_equal(load_pyfunc(tmp_path / "m").predict(X), expected)
    loader = flavors.pyfunc_loader(plugin)
    assert loader is not None
    np.testing.assert_array_equal(loader(str(tmp_path / "m" / "model.json")).predict(X), expected)
