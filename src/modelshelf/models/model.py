"""``modelshelf.models.model``: MLflow's ``mlflow.models.model`` names."""

from __future__ import annotations

from modelshelf.models._logging import ModelInfo
from modelshelf.models._mlmodel import MLMODEL_FILE_NAME, Model

__all__ = ["MLMODEL_FILE_NAME", "Model", "ModelInfo"]
