"""Every built-in flavor's ``log_model`` declares the ModelInfo it returns (mypy sees it)."""

from __future__ import annotations

import importlib
import typing

import pytest

from modelshelf.models import ModelInfo


@pytest.mark.parametrize(
    "flavor", ["sklearn", "xgboost", "lightgbm", "pytorch", "onnx", "transformers"]
)
def test_log_model_returns_model_info(flavor: str) -> None:
    module = importlib.import_module(f"modelshelf.flavors.{flavor}")
    assert typing.get_type_hints(module.log_model)["return"] is ModelInfo
