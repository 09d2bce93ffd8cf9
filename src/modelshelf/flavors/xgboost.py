"""The ``xgboost`` flavor: Boosters and sklearn-API models (``XGBRegressor`` …), MLflow 3.17 layout.

The model is written by XGBoost's own ``save_model`` to ``model.<model_format>`` (``ubj``
default, ``json``; ``xgb`` is XGBoost's deprecated binary format), with the class recorded as
``model_class`` so loading builds the same type. No pickle is involved. The
``python_function`` block names ``mlflow.xgboost``.

xgboost is imported only when a model is saved or loaded (``pip install 'modelshelf[xgboost]'``).
"""

from __future__ import annotations

import inspect
import warnings
from functools import partial
from pathlib import Path
from typing import Any

from modelshelf.errors import InvalidInputError, ParamsIgnoredWarning
from modelshelf.flavors._base import (
    PathLike,
    Requirements,
    add_pyfunc_flavor,
    class_from_string,
    copy_code_paths,
    copy_extra_files,
    flavor_conf,
    fully_qualified_class_name,
    open_flavor,
    pinned,
    save_example_and_signature,
    staged_model_dir,
    write_model,
)
from modelshelf.flavors._registry import require
from modelshelf.models._logging import ModelInfo
from modelshelf.models._mlmodel import Model

__all__ = [
    "FLAVOR_NAME",
    "LOADER_MODULES",
    "MODEL_FORMATS",
    "get_default_pip_requirements",
    "load_model",
    "log_model",
    "save_model",
]

FLAVOR_NAME = "xgboost"
LOADER_MODULE = "mlflow.xgboost"
LOADER_MODULES = (LOADER_MODULE,)
MODEL_FORMATS = ("ubj", "json", "xgb")
_DEFAULT_CLASS = "xgboost.core.Booster"


def get_default_pip_requirements() -> list[str]:
    """Pinned requirements every xgboost model gets."""
    return [pinned("xgboost")]


def save_model(
    xgb_model: Any,
    path: PathLike,
    *,
    model_format: str = "ubj",
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: Requirements = None,
    extra_pip_requirements: Requirements = None,
    conda_env: PathLike | dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    code_paths: list[PathLike] | None = None,
    extra_files: list[PathLike] | None = None,
    mlflow_model: Model | None = None,
    **kwargs: Any,
) -> Model:
    """Save an XGBoost Booster or sklearn-API model as an MLflow model directory at ``path``.

    Args:
        xgb_model: an ``xgboost.Booster`` or ``xgboost.XGBModel`` subclass instance.
        path: the new model directory (must not exist, or be empty).
        model_format: ``ubj`` (default), ``json`` or ``xgb``: the file written is
            ``model.<model_format>``.
        signature: a ModelSignature; None infers one from ``input_example``; False: none.
        input_example: saved as ``input_example.json`` (+ serving example).
        pip_requirements: replaces the inferred requirements.
        extra_pip_requirements: added to the inferred requirements.
        conda_env: a conda env dict / YAML path, instead of the two above.
        metadata: free-form ``metadata`` in MLmodel.
        extra_files: local files copied to ``extra_files/`` and listed in the flavor
            section (``extra_files: [{path: ...}]``).
        code_paths: files/folders copied to ``code/``.
        mlflow_model: a pre-filled :class:`~modelshelf.models.Model` to add to (``log_model``).
        **kwargs: passed to the model's ``save_model``.

    Returns:
        The :class:`~modelshelf.models.Model` written to ``MLmodel``.

    Raises:
        AlreadyExistsError: ``path`` exists and is not empty.
        InvalidInputError: unknown ``model_format``, bad requirement arguments, unsupported
            input example.
        MissingDependencyError: xgboost is not installed.
    """
    xgb = require("xgboost", FLAVOR_NAME)
    if model_format not in MODEL_FORMATS:
        raise InvalidInputError(
            f"Unrecognized model_format {model_format!r}; use one of {list(MODEL_FORMATS)}."
        )
    model = mlflow_model if mlflow_model is not None else Model()
    if metadata is not None:
        model.metadata = metadata
    with staged_model_dir(path) as root:
        code = copy_code_paths(code_paths, root)
        wrapper = _XGBModelWrapper(xgb_model)
        save_example_and_signature(
            model,
            root,
            input_example=input_example,
            signature=signature,
            predict=lambda data, params: wrapper.predict(data, params=params),
        )
        data_file = f"model.{model_format}"
        xgb_model.save_model(str(root / data_file), **kwargs)
        add_pyfunc_flavor(model, LOADER_MODULE, data=data_file, code=code)
        model.add_flavor(
            FLAVOR_NAME,
            xgb_version=xgb.__version__,
            data=data_file,
            model_class=fully_qualified_class_name(xgb_model),
            model_format=model_format,
            code=code,
            **copy_extra_files(extra_files, root),
        )
        write_model(
            model,
            root,
            defaults=["xgboost"],
            modules=["xgboost", type(xgb_model).__module__],
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            conda_env=conda_env,
        )
    return model


def _load_from_dir(root: Path, conf: dict[str, Any]) -> Any:
    require("xgboost", FLAVOR_NAME)
    cls = class_from_string(str(conf.get("model_class") or _DEFAULT_CLASS))
    native = cls()
    native.load_model(str(root / str(conf["data"])))
    return native


def load_model(model_uri: PathLike) -> Any:
    """Load the XGBoost model (Booster or the saved sklearn-API class) of a model directory.

    Raises:
        NotFoundError: no model there.
        MalformedMetadataError: no ``xgboost`` flavor, or its ``model_class`` cannot be imported.
        MissingDependencyError: xgboost is not installed.
        InvalidURIError: a URI scheme this layer cannot resolve.
    """
    root, conf = open_flavor(model_uri, FLAVOR_NAME)
    return _load_from_dir(root, conf)


def _load_pyfunc(path: PathLike, model_config: dict[str, Any] | None = None, **_: Any) -> Any:
    """pyfunc loader for ``loader_module: mlflow.xgboost`` (``path``: the data file or the root).

    Raises:
        MissingDependencyError: xgboost is not installed.
    """
    p = Path(path)
    root = p.parent if p.is_file() else p
    _meta, conf = flavor_conf(root, FLAVOR_NAME)
    return _XGBModelWrapper(_load_from_dir(root, conf))


def _accepted(fn: Any, params: dict[str, Any]) -> dict[str, Any]:
    try:
        allowed = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return params
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in allowed.values()):
        return params
    dropped = sorted(set(params) - set(allowed))
    if dropped:
        warnings.warn(
            f"Params {dropped} are not accepted by the xgboost model and were ignored.",
            ParamsIgnoredWarning,
            stacklevel=4,
        )
    return {k: v for k, v in params.items() if k in allowed}


class _XGBModelWrapper:
    """pyfunc implementation: Boosters predict on a ``DMatrix`` of the input."""

    def __init__(self, xgb_model: Any) -> None:
        self.xgb_model = xgb_model

    def get_raw_model(self) -> Any:
        """The XGBoost model."""
        return self.xgb_model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        """Predict with feature-name validation; unknown ``params`` are dropped with a warning."""
        import xgboost as xgb

        params = dict(params or {})
        model = self.xgb_model
        if isinstance(model, xgb.Booster):
            return model.predict(
                xgb.DMatrix(data), validate_features=True, **_accepted(model.predict, params)
            )
        if isinstance(model, xgb.XGBModel):
            fn = partial(model.predict, validate_features=True)
            return fn(data, **_accepted(model.predict, params))
        return model.predict(data, **_accepted(model.predict, params))


def log_model(xgb_model: Any, artifact_path: str | None = None, **kwargs: Any) -> ModelInfo:
    """Log a XGBoost model to the active run as one tree, as ``mlflow.xgboost.log_model``.

    Takes ``name=``, ``registered_model_name=``, ``run_id=``, ``tags=`` and :func:`save_model`'s
    keyword arguments. Returns a :class:`~modelshelf.models.ModelInfo` whose ``model_uri``
    (``runs:/<run_id>/<name>``) loads with :func:`load_model`.

    Raises:
        ArtifactExistsError: another model is already logged at ``name`` in the run.
    """
    from modelshelf.models._logging import log_model as _log_model

    return _log_model(save_model, artifact_path=artifact_path, xgb_model=xgb_model, **kwargs)
