"""The serverless model registry: a hash-chained commit log plus Parquet checkpoints on the shelf.

>>> from modelshelf.registry import RegistryClient
>>> client = RegistryClient("memory://registry-doc")
>>> client.create_registered_model("churn").name
'churn'

See docs/explanation/registry.md for the layout, the Parquet schema and the concurrency model.
"""

from __future__ import annotations

from modelshelf.registry._api import RegistryClient, parse_models_uri
from modelshelf.registry._audit import RegistryProblem, RegistryVerifyReport
from modelshelf.registry._entities import ModelVersion, PagedList, RegisteredModel, RegistryChange
from modelshelf.registry._repair import RepairPlan, RepairStep
from modelshelf.registry._source import ModelSource, SourceResolver

__all__ = [
    "ModelSource",
    "ModelVersion",
    "PagedList",
    "RegisteredModel",
    "RegistryChange",
    "RegistryClient",
    "RegistryProblem",
    "RegistryVerifyReport",
    "RepairPlan",
    "RepairStep",
    "SourceResolver",
    "parse_models_uri",
]
