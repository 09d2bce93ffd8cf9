"""``modelshelf.entities.model_registry``: MLflow's registry entity names."""

from __future__ import annotations

from modelshelf.registry import ModelVersion, RegisteredModel

__all__ = ["ModelVersion", "RegisteredModel"]
