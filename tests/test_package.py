"""The package surface: cheap import, curated __all__, layers kept."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

import modelshelf

HEAVY = [
    "s3fs",
    "gcsfs",
    "adlfs",
    "boto3",
    "botocore",
    "sklearn",
    "torch",
    "mlflow",
    "pandas",
    "pyarrow",
    "xgboost",
    "lightgbm",
    "onnxruntime",
]


def test_import_is_cheap_and_imports_no_backend_or_framework() -> None:
    code = (
        "import sys, time, json; t = time.perf_counter(); import modelshelf; "
        "dt = time.perf_counter() - t; "
        f"print(json.dumps([dt, [m for m in {HEAVY!r} if m in sys.modules]]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    seconds, heavy = json.loads(out.stdout)
    assert heavy == []
    assert seconds < 1.0  # the target (150 ms) is measured in benchmarks; CI machines are noisy


def test_all_names_resolve() -> None:
    for name in modelshelf.__all__:
        assert getattr(modelshelf, name) is not None, name


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError):
        modelshelf.no_such_thing  # noqa: B018


def test_layers_are_kept() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    if not lint.exists() and shutil.which("lint-imports") is None:
        pytest.skip("import-linter is not installed (the dev extra)")
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [str(lint) if lint.exists() else "lint-imports"], cwd=root, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-3000:]


def test_ruff_is_clean() -> None:
    ruff = Path(sys.executable).with_name("ruff")
    if not ruff.exists():
        pytest.skip("ruff is not installed (the dev extra)")
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [str(ruff), "check", "src", "tests", "benchmarks"], cwd=root, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-3000:]


def _pyproject() -> dict[str, Any]:
    root = Path(__file__).resolve().parents[1]
    return tomllib.loads((root / "pyproject.toml").read_text())


def test_published_dependencies_are_ranges_never_pins() -> None:
    # Library users are never pinned by us: exact versions live only in requirements/*.lock.
    project = _pyproject()["project"]
    declared = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        declared.extend(extra)
    pinned = [req for req in declared if "==" in req or "===" in req]
    assert pinned == []


def test_plain_install_gives_a_working_cli(tmp_path: Path) -> None:
    # `pip install modelshelf` with no extras must give a `modelshelf` command that runs.
    uv = Path(sys.executable).with_name("uv")
    if not uv.exists():
        pytest.skip("uv is not installed (make install puts it in .venv)")
    root = Path(__file__).resolve().parents[1]
    venv = tmp_path / "plain"
    subprocess.run([str(uv), "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    subprocess.run(
        [str(uv), "pip", "install", "-q", "--python", str(venv / "bin" / "python"), str(root)],
        check=True,
        capture_output=True,
    )
    result = subprocess.run(
        [str(venv / "bin" / "modelshelf"), "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Usage" in result.stdout


def test_every_exception_and_warning_is_declared_in_errors() -> None:
    import importlib
    import pkgutil

    import modelshelf.errors

    # internal control flow, never raised out of the call that raises it
    skipped_private = {"_CannotInfer", "_Reject", "ErrorAnswer", "_TooLarge"}
    strays = []
    for info in pkgutil.walk_packages(modelshelf.__path__, "modelshelf."):
        if info.name == "modelshelf.errors":
            continue
        try:
            module = importlib.import_module(info.name)
        except ImportError:  # an optional extra that is not installed
            continue
        for name, obj in vars(module).items():
            if (
                isinstance(obj, type)
                and issubclass(obj, (Exception, Warning))
                and obj.__module__ == info.name
                and name not in skipped_private
            ):
                strays.append(f"{info.name}.{name}")
    assert strays == []
    for name in modelshelf.errors.__all__:
        assert getattr(modelshelf.errors, name).__module__ == "modelshelf.errors"


def test_old_error_locations_still_import() -> None:
    from modelshelf.errors import CheckpointError, ModelshelfDeprecationWarning
    from modelshelf.models._logging import ModelshelfDeprecationWarning as old_warning
    from modelshelf.registry._checkpoint import CheckpointError as old_checkpoint

    assert old_warning is ModelshelfDeprecationWarning
    assert old_checkpoint is CheckpointError


def test_schema_enforcement_is_bad_input_not_bad_metadata() -> None:
    from modelshelf.errors import InvalidInputError, MalformedMetadataError, SchemaEnforcementError

    assert issubclass(SchemaEnforcementError, InvalidInputError)
    assert issubclass(SchemaEnforcementError, ValueError)
    assert not issubclass(SchemaEnforcementError, MalformedMetadataError)
