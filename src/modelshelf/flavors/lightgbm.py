"""The ``lightgbm`` flavor: Boosters (``model.lgb``) and sklearn-API models, MLflow 3.17 layout.

A ``lightgbm.Booster`` is written by LightGBM's ``save_model`` (text, no pickle). sklearn-API
models (``LGBMRegressor`` …) are serialized like the sklearn flavor: ``skops`` (default,
``model.skops``, with LightGBM's classes added to ``skops_trusted_types``), ``cloudpickle`` or
``pickle`` (``model.pkl``). The ``python_function`` block names ``mlflow.lightgbm``.

lightgbm is imported only when a model is saved or loaded (``pip install 'modelshelf[lightgbm]'``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelshelf.flavors._base import (
    PathLike,
    Requirements,
    add_pyfunc_flavor,
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
from modelshelf.flavors.sklearn import (
    PICKLE_FILE,
    SERIALIZATION_FORMAT_CLOUDPICKLE,
    SERIALIZATION_FORMAT_SKOPS,
    SKOPS_FILE,
    _check_format,
    dump_estimator,
    load_estimator,
)
from modelshelf.models._logging import ModelInfo
from modelshelf.models._mlmodel import Model

__all__ = [
    "FLAVOR_NAME",
    "LOADER_MODULES",
    "SKOPS_TRUSTED_TYPES",
    "get_default_pip_requirements",
    "load_model",
    "log_model",
    "save_model",
]

FLAVOR_NAME = "lightgbm"
LOADER_MODULE = "mlflow.lightgbm"
LOADER_MODULES = (LOADER_MODULE,)
BOOSTER_FILE = "model.lgb"
BOOSTER_CLASS = "lightgbm.basic.Booster"

#: Always trusted for skops files (MLflow's list); MLflow writes them in set order, we sort.
SKOPS_TRUSTED_TYPES = frozenset(
    {
        "collections.OrderedDict",
        "lightgbm.basic.Booster",
        "lightgbm.sklearn.LGBMClassifier",
        "lightgbm.sklearn.LGBMRegressor",
    }
)


def get_default_pip_requirements(
    serialization_format: str = SERIALIZATION_FORMAT_SKOPS, *, booster: bool = False
) -> list[str]:
    """Pinned requirements a lightgbm model gets (plus skops/cloudpickle for sklearn-API ones)."""
    return [pinned(d) for d in _default_distributions(serialization_format, booster)]


def _default_distributions(serialization_format: str, booster: bool) -> list[str]:
    extra = {
        SERIALIZATION_FORMAT_SKOPS: ["skops"],
        SERIALIZATION_FORMAT_CLOUDPICKLE: ["cloudpickle"],
    }
    return ["lightgbm", *([] if booster else extra.get(serialization_format, []))]


def save_model(
    lgb_model: Any,
    path: PathLike,
    *,
    serialization_format: str = SERIALIZATION_FORMAT_SKOPS,
    skops_trusted_types: list[str] | None = None,
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
    """Save a LightGBM Booster or sklearn-API model as an MLflow model directory at ``path``.

    Args:
        lgb_model: a ``lightgbm.Booster`` or an ``LGBMModel`` subclass instance.
        path: the new model directory (must not exist, or be empty).
        serialization_format: for sklearn-API models: ``skops`` (default), ``cloudpickle`` or
            ``pickle``. Boosters are always ``model.lgb``.
        skops_trusted_types: further type names skops may load.
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
        **kwargs: passed to ``Booster.save_model``.

    Returns:
        The :class:`~modelshelf.models.Model` written to ``MLmodel``.

    Raises:
        AlreadyExistsError: ``path`` exists and is not empty.
        InvalidInputError: unknown format, skops cannot store the model, bad requirement
            arguments, unsupported input example.
        MissingDependencyError: lightgbm (or skops / cloudpickle) is not installed.
    """
    lgb = require("lightgbm", FLAVOR_NAME)
    _check_format(serialization_format)
    is_booster = isinstance(lgb_model, lgb.Booster)
    if serialization_format == SERIALIZATION_FORMAT_SKOPS:
        # Written for Boosters too, as MLflow does.
        skops_trusted_types = sorted(SKOPS_TRUSTED_TYPES.union(skops_trusted_types or ()))
    model = mlflow_model if mlflow_model is not None else Model()
    if metadata is not None:
        model.metadata = metadata
    with staged_model_dir(path) as root:
        code = copy_code_paths(code_paths, root)
        wrapper = _LGBModelWrapper(lgb_model)
        save_example_and_signature(
            model,
            root,
            input_example=input_example,
            signature=signature,
            predict=lambda data, params: wrapper.predict(data, params=params),
        )
        if is_booster:
            data_file = BOOSTER_FILE
            lgb_model.save_model(str(root / data_file), **kwargs)
        else:
            data_file = (
                SKOPS_FILE if serialization_format == SERIALIZATION_FORMAT_SKOPS else PICKLE_FILE
            )
            dump_estimator(
                lgb_model,
                root / data_file,
                serialization_format,
                skops_trusted_types,
                flavor=FLAVOR_NAME,
            )
        add_pyfunc_flavor(model, LOADER_MODULE, data=data_file, code=code)
        model.add_flavor(
            FLAVOR_NAME,
            lgb_version=lgb.__version__,
            data=data_file,
            model_class=fully_qualified_class_name(lgb_model),
            code=code,
            serialization_format=serialization_format,
            skops_trusted_types=skops_trusted_types,
            **copy_extra_files(extra_files, root),
        )
        pickled = not is_booster and serialization_format != SERIALIZATION_FORMAT_SKOPS
        write_model(
            model,
            root,
            defaults=_default_distributions(serialization_format, is_booster),
            modules=["lightgbm", type(lgb_model).__module__],
            pickles=[root / data_file] if pickled else [],
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            conda_env=conda_env,
        )
    return model


def _load_from_dir(root: Path, conf: dict[str, Any]) -> Any:
    lgb = require("lightgbm", FLAVOR_NAME)
    file = root / str(conf["data"])
    if str(conf.get("model_class") or BOOSTER_CLASS) == BOOSTER_CLASS:
        return lgb.Booster(model_file=str(file))
    return load_estimator(
        file,
        str(conf.get("serialization_format") or SERIALIZATION_FORMAT_CLOUDPICKLE),
        conf.get("skops_trusted_types"),
        flavor=FLAVOR_NAME,
    )


def load_model(model_uri: PathLike) -> Any:
    """Load the LightGBM model (Booster or sklearn-API estimator) of a model directory.

    Raises:
        NotFoundError: no model there.
        MalformedMetadataError: the model has no ``lightgbm`` flavor.
        MissingDependencyError: lightgbm (or skops) is not installed.
        InvalidURIError: a URI scheme this layer cannot resolve.
    """
    root, conf = open_flavor(model_uri, FLAVOR_NAME)
    return _load_from_dir(root, conf)


def _load_pyfunc(path: PathLike, model_config: dict[str, Any] | None = None, **_: Any) -> Any:
    """pyfunc loader for ``loader_module: mlflow.lightgbm`` (``path``: the data file or root).

    Raises:
        MissingDependencyError: lightgbm is not installed.
    """
    p = Path(path)
    root = p.parent if p.is_file() else p
    _meta, conf = flavor_conf(root, FLAVOR_NAME)
    return _LGBModelWrapper(_load_from_dir(root, conf))


class _LGBModelWrapper:
    """pyfunc implementation: ``model.predict(data)``."""

    def __init__(self, lgb_model: Any) -> None:
        self.lgb_model = lgb_model

    def get_raw_model(self) -> Any:
        """The LightGBM model."""
        return self.lgb_model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        """``model.predict(data)``; ``params`` are accepted and ignored, as in MLflow."""
        return self.lgb_model.predict(data)


def log_model(lgb_model: Any, artifact_path: str | None = None, **kwargs: Any) -> ModelInfo:
    """Log a LightGBM model to the active run as one tree, as ``mlflow.lightgbm.log_model``.

    Takes ``name=``, ``registered_model_name=``, ``run_id=``, ``tags=`` and :func:`save_model`'s
    keyword arguments. Returns a :class:`~modelshelf.models.ModelInfo` whose ``model_uri``
    (``runs:/<run_id>/<name>``) loads with :func:`load_model`.

    Raises:
        ArtifactExistsError: another model is already logged at ``name`` in the run.
    """
    from modelshelf.models._logging import log_model as _log_model

    return _log_model(save_model, artifact_path=artifact_path, lgb_model=lgb_model, **kwargs)
