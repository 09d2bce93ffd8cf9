"""modelshelf's typed errors as MLflow's ``MlflowException`` with the matching error code."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import (
    DATA_LOSS,
    INTERNAL_ERROR,
    INVALID_PARAMETER_VALUE,
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_DOES_NOT_EXIST,
)

from modelshelf.errors import IntegrityError, ModelshelfError

__all__ = ["as_mlflow_error", "translated"]

_F = TypeVar("_F", bound=Callable[..., Any])


def as_mlflow_error(exc: ModelshelfError) -> MlflowException:
    """The ``MlflowException`` MLflow's client and server expect for ``exc`` (same message)."""
    if isinstance(exc, IntegrityError):
        code = DATA_LOSS
    elif isinstance(exc, FileNotFoundError | LookupError):
        code = RESOURCE_DOES_NOT_EXIST
    elif isinstance(exc, FileExistsError):
        code = RESOURCE_ALREADY_EXISTS
    elif isinstance(exc, ValueError | TypeError):
        code = INVALID_PARAMETER_VALUE
    else:
        code = INTERNAL_ERROR
    return MlflowException(str(exc), error_code=code)


def translated(fn: _F) -> _F:
    """Run ``fn``; a modelshelf error leaves it as the matching ``MlflowException``."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ModelshelfError as exc:
            raise as_mlflow_error(exc) from exc

    return cast(_F, wrapper)
