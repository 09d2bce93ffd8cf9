"""Helpers shared by the flavor tests."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

#: Keys that differ between any two saves of the same model.
VOLATILE = frozenset({"utc_time_created", "model_uuid", "model_size_bytes"})


def _normal(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        # MLflow writes some lists in set order (lightgbm's skops_trusted_types).
        return sorted((_normal(v) for v in value), key=repr)
    return value


def mlmodel(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The parsed MLmodel of a model directory, volatile keys dropped, lists sorted."""
    return _normal(yaml.safe_load((Path(path) / "MLmodel").read_text()))


def files(path: str | os.PathLike[str]) -> list[str]:
    """Every file under a model directory, relative, sorted."""
    root = Path(path)
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def load_pyfunc(path: str | os.PathLike[str], model_config: dict[str, Any] | None = None) -> Any:
    """Load through modelshelf's pyfunc (what users call), checking our flavor code loaded it.

    With MLflow installed, an unmapped ``mlflow.<flavor>`` loader module would import MLflow's
    own loader and the test would prove nothing.
    """
    from modelshelf.pyfunc import load_model_from_dir

    model = load_model_from_dir(path, model_config)
    impl = model.get_raw_model()
    assert not type(impl).__module__.startswith("mlflow"), type(impl)
    return model


def assert_same_as_mlflow(ours: Path, theirs: Path) -> None:
    """Same MLmodel (apart from ids/times/sizes) and the same file names as MLflow wrote."""
    assert mlmodel(ours) == mlmodel(theirs)
    assert files(ours) == files(theirs)
