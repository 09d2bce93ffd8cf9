"""``modelshelf.tracking``: MLflow's ``mlflow.tracking`` names."""

from __future__ import annotations

from modelshelf.client import MlflowClient
from modelshelf.runs import get_tracking_uri, set_tracking_uri

__all__ = ["MlflowClient", "get_tracking_uri", "set_tracking_uri"]
