"""python_function models: save, load and predict exactly as MLflow's ``mlflow.pyfunc``.

Importing this package is cheap: it never imports mlflow, sklearn or torch, and loads
cloudpickle / numpy / pandas only when a model is saved, loaded or predicted with.

Loading a model runs code (``python_model.pkl`` is unpickled, loader modules and the model's
``code/`` are imported): load only models you trust.
"""

from __future__ import annotations

import os
from typing import Any

from modelshelf.pyfunc._loaders import register_loader
from modelshelf.pyfunc._model import PythonModel, PythonModelContext
from modelshelf.pyfunc._model import _FunctionPythonModel as _FunctionPythonModel  # pickles name it
from modelshelf.pyfunc._pyfunc import PyFuncModel, load_model_from_dir
from modelshelf.pyfunc._save import save_model
from modelshelf.pyfunc._spark import spark_udf  # imports pyspark only when called

__all__ = [
    "PyFuncModel",
    "PythonModel",
    "PythonModelContext",
    "load_model",
    "load_model_from_dir",
    "log_model",
    "register_loader",
    "save_model",
    "spark_udf",
]


def load_model(
    model_uri: str | os.PathLike[str],
    model_config: dict[str, Any] | str | os.PathLike[str] | None = None,
    *,
    suppress_warnings: bool = False,
    dst_path: str | os.PathLike[str] | None = None,
) -> PyFuncModel:
    """Load a python_function model from any model URI, as ``mlflow.pyfunc.load_model``.

    ``model_uri`` may be ``models:/name/3``, ``models:/name@alias``, ``models:/name/latest``,
    ``runs:/<run_id>/model``, ``sha256:<tree digest>``, a local folder, ``file://`` or an
    fsspec folder URL. Shelf content is fetched into the verified local cache (every byte
    checked against its digest), so a second load reads nothing remote.

    Raises:
        InvalidURIError: a malformed URI.
        NotFoundError: the model, version, alias, run or path does not exist.
        IntegrityError: stored bytes do not match their digest.
        MalformedMetadataError, MissingDependencyError: see :func:`load_model_from_dir`.
    """
    from modelshelf.uri import download_uri, local_model_dir

    if dst_path is not None:
        local = download_uri(model_uri, dst_path=str(dst_path))
    else:
        local = local_model_dir(model_uri)
    return load_model_from_dir(local, model_config, suppress_warnings=suppress_warnings)


def log_model(artifact_path: str | None = None, **kwargs: Any) -> Any:
    """Log a python_function model to the active run as one tree, as ``mlflow.pyfunc.log_model``.

    Takes ``name=``, ``registered_model_name=``, ``run_id=``, ``tags=`` and :func:`save_model`'s
    keyword arguments (``python_model``, ``artifacts``, ``loader_module`` + ``data_path``,
    ``code_paths``, ``signature``, ``input_example`` …). Returns a
    :class:`~modelshelf.models.ModelInfo`.

    Raises:
        ArtifactExistsError: another model is already logged at ``name`` in the run.
    """
    from modelshelf.models._logging import log_model as _log_model

    return _log_model(_save_for_log, artifact_path=artifact_path, **kwargs)


def _save_for_log(path: str, *, mlflow_model: Any, **kwargs: Any) -> None:
    from modelshelf.models import Model

    save_model(path, **kwargs)
    saved = Model.load(path)
    saved.run_id = mlflow_model.run_id
    saved.artifact_path = mlflow_model.artifact_path
    saved.model_id = mlflow_model.model_id
    saved.model_uuid = mlflow_model.model_uuid
    saved.save(os.path.join(path, "MLmodel"))
