"""``modelshelf.exceptions``: MLflow's ``mlflow.exceptions`` names.

``MlflowException`` *is* :class:`~modelshelf.errors.ModelshelfError`, the root of every error
modelshelf raises, so ``except MlflowException`` catches whatever MLflow would raise as one
(and also errors MLflow raises as builtins, such as a missing local file). ``error_code``
holds MLflow's code name (``RESOURCE_DOES_NOT_EXIST``, ``INVALID_PARAMETER_VALUE`` …).
"""

from __future__ import annotations

from modelshelf.errors import ModelshelfError

__all__ = ["MlflowException"]

MlflowException = ModelshelfError
