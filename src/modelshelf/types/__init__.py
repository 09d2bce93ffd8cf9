"""``modelshelf.types``: MLflow's ``mlflow.types`` names (schemas of signatures)."""

from __future__ import annotations

from modelshelf.models.signature import (
    ColSpec,
    DataType,
    ParamSchema,
    ParamSpec,
    Schema,
    TensorSpec,
)

__all__ = ["ColSpec", "DataType", "ParamSchema", "ParamSpec", "Schema", "TensorSpec"]
