"""The flavor registry: lazy built-ins, register_flavor, MLflow loader-module mapping, extras."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest

import modelshelf.flavors as flavors
from modelshelf.errors import (
    AlreadyExistsError,
    InvalidNameError,
    MissingDependencyError,
    NotFoundError,
)
from modelshelf.flavors import _registry

FRAMEWORKS = ("sklearn", "skops", "xgboost", "lightgbm", "torch", "onnx", "onnxruntime")


def test_importing_flavors_imports_no_framework() -> None:
    code = (
        "import sys\n"
        "import modelshelf.flavors\n"
        "from modelshelf.flavors import sklearn, xgboost, lightgbm, pytorch, onnx\n"
        "modelshelf.flavors.available_flavors()\n"
        f"print([m for m in {FRAMEWORKS!r} if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_builtin_table_is_sorted_and_lazy() -> None:
    assert list(flavors.BUILTIN_FLAVORS) == sorted(flavors.BUILTIN_FLAVORS)
    assert {"sklearn", "xgboost", "lightgbm", "pytorch", "onnx"} <= set(flavors.available_flavors())
    assert flavors.install_hint("xgboost") == "pip install 'modelshelf[xgboost]'"
    assert flavors.get_flavor("sklearn").__name__ == "modelshelf.flavors.sklearn"


@pytest.mark.parametrize(
    ("loader_module", "flavor"),
    [
        ("mlflow.sklearn", "sklearn"),
        ("mlflow.xgboost", "xgboost"),
        ("mlflow.lightgbm", "lightgbm"),
        ("mlflow.pytorch", "pytorch"),
        ("mlflow.onnx", "onnx"),
        ("modelshelf.flavors.onnx", "onnx"),
    ],
)
def test_mlflow_loader_modules_map_to_builtins(loader_module: str, flavor: str) -> None:
    assert flavors.flavor_for_loader_module(loader_module) == flavor
    loader = flavors.pyfunc_loader(loader_module)
    assert loader is flavors.get_flavor(flavor)._load_pyfunc


def test_unknown_loader_module_is_not_imported() -> None:
    # `this` prints the Zen of Python when imported: a loader name read from a model file must
    # never be imported by the registry.
    assert "this" not in sys.modules
    assert flavors.pyfunc_loader("this") is None
    assert flavors.flavor_for_loader_module("this") is None
    assert "this" not in sys.modules


def test_entry_points_cannot_shadow_builtins(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib.metadata import EntryPoint

    fake = {
        "sklearn": EntryPoint("sklearn", "modelshelf.flavors.onnx", flavors.ENTRY_POINT_GROUP),
        "extra_one": EntryPoint("extra_one", "modelshelf.flavors.onnx", flavors.ENTRY_POINT_GROUP),
    }
    monkeypatch.setattr(_registry, "_entry_points", fake)
    monkeypatch.setattr(_registry, "_loaded_entry_points", {})
    assert flavors.get_flavor("sklearn").__name__ == "modelshelf.flavors.sklearn"
    assert flavors.get_flavor("extra_one").__name__ == "modelshelf.flavors.onnx"
    assert flavors.available_flavors().count("sklearn") == 1
    with pytest.raises(AlreadyExistsError):
        flavors.register_flavor("extra_one", _toy())


@pytest.mark.parametrize(
    ("flavor", "module"),
    [
        ("sklearn", "sklearn"),
        ("xgboost", "xgboost"),
        ("lightgbm", "lightgbm"),
        ("pytorch", "torch"),
        ("onnx", "onnx"),
    ],
)
def test_missing_framework_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flavor: str, module: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` raise ImportError
    mod = flavors.get_flavor(flavor)
    with pytest.raises(MissingDependencyError, match=rf"modelshelf\[{flavor}\]") as info:
        mod.save_model(object(), tmp_path / "m")
    assert isinstance(info.value, ImportError)
    assert not (tmp_path / "m").exists()


@pytest.fixture
def clean_registry():
    yield
    _registry._explicit.clear()


def _toy(name: str = "toy") -> types.SimpleNamespace:
    return types.SimpleNamespace(
        FLAVOR_NAME=name,
        LOADER_MODULES=("acme.toy_loader",),
        save_model=lambda model, path, **kw: None,
        load_model=lambda uri, **kw: "native",
        _load_pyfunc=lambda path, model_config=None, **kw: "impl",
    )


def test_register_flavor(clean_registry) -> None:
    toy = _toy()
    flavors.register_flavor("toy", toy)
    assert flavors.get_flavor("toy") is toy
    assert "toy" in flavors.available_flavors()
    assert flavors.flavor_for_loader_module("acme.toy_loader") == "toy"
    assert flavors.pyfunc_loader("acme.toy_loader")("p") == "impl"
    with pytest.raises(AlreadyExistsError):
        flavors.register_flavor("toy", _toy())
    other = _toy()
    flavors.register_flavor("toy", other, clobber=True)
    assert flavors.get_flavor("toy") is other
    flavors.unregister_flavor("toy")
    with pytest.raises(NotFoundError, match="Known flavors"):
        flavors.get_flavor("toy")


def test_builtins_need_clobber(clean_registry) -> None:
    with pytest.raises(AlreadyExistsError, match="clobber"):
        flavors.register_flavor("sklearn", _toy("sklearn"))
    mine = _toy("sklearn")
    mine.LOADER_MODULES = ("mlflow.sklearn",)
    flavors.register_flavor("sklearn", mine, clobber=True)
    assert flavors.get_flavor("sklearn") is mine
    assert flavors.pyfunc_loader("mlflow.sklearn")("p") == "impl"
    flavors.unregister_flavor("sklearn")
    assert flavors.get_flavor("sklearn").__name__ == "modelshelf.flavors.sklearn"


def test_register_by_dotted_path_is_lazy(clean_registry) -> None:
    flavors.register_flavor("lazy", "modelshelf.flavors.onnx")
    assert flavors.get_flavor("lazy").__name__ == "modelshelf.flavors.onnx"
    flavors.register_flavor("broken", "no_such_package_xyz.flavor")
    with pytest.raises(MissingDependencyError, match="no_such_package_xyz"):
        flavors.get_flavor("broken")


@pytest.mark.parametrize("bad", ["", "1abc", "a b", "a/b"])
def test_invalid_names(bad: str) -> None:
    with pytest.raises(InvalidNameError):
        flavors.register_flavor(bad, _toy())


def test_not_a_flavor() -> None:
    with pytest.raises(TypeError, match="save_model"):
        flavors.register_flavor("nope", 42)


def test_register_pyfunc_loaders_is_idempotent() -> None:
    seen: dict[str, object] = {}

    def register(name: str, fn: object) -> None:
        if name in seen:
            raise AlreadyExistsError(name)
        seen[name] = fn

    flavors.register_pyfunc_loaders(register)
    flavors.register_pyfunc_loaders(register)
    assert sorted(seen) == sorted(flavors.MLFLOW_LOADER_MODULES)


def test_public_surface() -> None:
    assert flavors.__all__ == sorted(flavors.__all__)
    for name in flavors.__all__:
        assert getattr(flavors, name) is not None
    for name in flavors.BUILTIN_FLAVORS:
        module = flavors.get_flavor(name)
        assert {"save_model", "load_model", "get_default_pip_requirements"} <= set(module.__all__)
        assert callable(module._load_pyfunc)
        assert module.FLAVOR_NAME == name
