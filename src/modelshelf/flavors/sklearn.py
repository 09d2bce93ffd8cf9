"""The ``sklearn`` flavor: scikit-learn estimators in MLflow 3.17's exact layout.

Formats (``serialization_format``): ``skops`` (default, ``model.skops``, loads only trusted
types: scikit-learn's own plus ``skops_trusted_types``), ``cloudpickle`` and ``pickle``
(``model.pkl``; unpickling runs code, load only trusted models). The ``python_function`` block
names ``mlflow.sklearn`` with ``model_path`` and ``predict_fn``, so stock MLflow loads the model.

scikit-learn (and skops / cloudpickle) are imported only when a model is saved or loaded; a
missing one raises :class:`~modelshelf.errors.MissingDependencyError` naming
``pip install 'modelshelf[sklearn]'``.
"""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path
from typing import Any

from modelshelf.errors import InvalidInputError, MalformedMetadataError, ModelshelfWarning
from modelshelf.flavors._base import (
    PathLike,
    Requirements,
    add_pyfunc_flavor,
    copy_code_paths,
    copy_extra_files,
    open_flavor,
    pinned,
    save_example_and_signature,
    staged_model_dir,
    write_model,
)
from modelshelf.flavors._registry import require
from modelshelf.models._logging import ModelInfo
from modelshelf.models._mlmodel import PYFUNC_FLAVOR, Model

__all__ = [
    "FLAVOR_NAME",
    "LOADER_MODULES",
    "SERIALIZATION_FORMAT_CLOUDPICKLE",
    "SERIALIZATION_FORMAT_PICKLE",
    "SERIALIZATION_FORMAT_SKOPS",
    "SUPPORTED_SERIALIZATION_FORMATS",
    "get_default_pip_requirements",
    "load_model",
    "log_model",
    "save_model",
]

FLAVOR_NAME = "sklearn"
LOADER_MODULE = "mlflow.sklearn"
LOADER_MODULES = (LOADER_MODULE,)

SERIALIZATION_FORMAT_SKOPS = "skops"
SERIALIZATION_FORMAT_PICKLE = "pickle"
SERIALIZATION_FORMAT_CLOUDPICKLE = "cloudpickle"
SUPPORTED_SERIALIZATION_FORMATS = (
    SERIALIZATION_FORMAT_SKOPS,
    SERIALIZATION_FORMAT_PICKLE,
    SERIALIZATION_FORMAT_CLOUDPICKLE,
)
SKOPS_FILE = "model.skops"
PICKLE_FILE = "model.pkl"

#: ``pyfunc_predict_fn`` values besides ``predict`` that the pyfunc wrapper exposes.
CUSTOM_PREDICT_FNS = ("predict_proba", "predict_log_proba", "predict_joint_log_proba", "score")


def get_default_pip_requirements(
    serialization_format: str = SERIALIZATION_FORMAT_SKOPS,
) -> list[str]:
    """Pinned requirements every sklearn model gets (scikit-learn, plus skops or cloudpickle)."""
    return [pinned(d) for d in _default_distributions(serialization_format)]


def _default_distributions(serialization_format: str) -> list[str]:
    extra = {
        SERIALIZATION_FORMAT_SKOPS: ["skops"],
        SERIALIZATION_FORMAT_CLOUDPICKLE: ["cloudpickle"],
    }
    return ["scikit-learn", *extra.get(serialization_format, [])]


def _check_format(serialization_format: str) -> None:
    if serialization_format not in SUPPORTED_SERIALIZATION_FORMATS:
        raise InvalidInputError(
            f"Unrecognized serialization format: {serialization_format!r}. Use one of "
            f"{list(SUPPORTED_SERIALIZATION_FORMATS)}."
        )


def dump_estimator(
    model: Any,
    file: Path,
    serialization_format: str,
    skops_trusted_types: list[str] | None,
    *,
    flavor: str = FLAVOR_NAME,
) -> None:
    """Serialize an sklearn-API estimator to ``file`` (shared with the lightgbm flavor).

    A skops file is loaded back once with ``skops_trusted_types`` so a model that could not be
    loaded later is refused now.

    Raises:
        InvalidInputError: unknown format, or skops cannot store / would not trust the model.
        MissingDependencyError: skops or cloudpickle is not installed.
    """
    _check_format(serialization_format)
    if serialization_format == SERIALIZATION_FORMAT_SKOPS:
        sio = require("skops.io", flavor)
        from skops.io.exceptions import UntrustedTypesFoundException

        try:
            sio.dump(model, file)
            sio.load(file, trusted=skops_trusted_types)
        except UntrustedTypesFoundException as exc:
            raise InvalidInputError(
                f"The model references types skops does not trust: {exc}. If loading them is "
                "safe, pass skops_trusted_types=[...] naming them, or use "
                "serialization_format='cloudpickle'."
            ) from exc
        except Exception as exc:
            raise InvalidInputError(
                f"skops cannot serialize this model ({type(exc).__name__}: {exc}); skops stores "
                "only top-level functions and classes. Use serialization_format='cloudpickle' "
                "(unpickling runs code: load only trusted models)."
            ) from exc
        return
    lib: Any = pickle
    if serialization_format == SERIALIZATION_FORMAT_CLOUDPICKLE:
        lib = require("cloudpickle", flavor)
    with open(file, "wb") as f:
        # Python's default protocol, not cloudpickle's highest: older Pythons can read it.
        lib.dump(model, f, protocol=pickle.DEFAULT_PROTOCOL)


def load_estimator(
    file: Path, serialization_format: str, skops_trusted_types: list[str] | None, *, flavor: str
) -> Any:
    """Read what :func:`dump_estimator` wrote (skops with the trusted types, else unpickle).

    Raises:
        InvalidInputError: unknown format.
        MissingDependencyError: skops is not installed.
    """
    _check_format(serialization_format)
    if serialization_format == SERIALIZATION_FORMAT_SKOPS:
        sio = require("skops.io", flavor)
        return sio.load(file, trusted=skops_trusted_types)
    # cloudpickle output is plain pickle: pickle.load reads both.
    with open(file, "rb") as f:
        return pickle.load(f)  # noqa: S301 - documented: load only trusted models


def save_model(
    sk_model: Any,
    path: PathLike,
    *,
    serialization_format: str = SERIALIZATION_FORMAT_SKOPS,
    skops_trusted_types: list[str] | None = None,
    pyfunc_predict_fn: str = "predict",
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: Requirements = None,
    extra_pip_requirements: Requirements = None,
    conda_env: PathLike | dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    code_paths: list[PathLike] | None = None,
    extra_files: list[PathLike] | None = None,
    mlflow_model: Model | None = None,
) -> Model:
    """Save a scikit-learn model as an MLflow model directory at ``path``.

    Args:
        sk_model: a fitted estimator (or pipeline).
        path: the new model directory (must not exist, or be empty).
        serialization_format: ``skops`` (default), ``cloudpickle`` or ``pickle``.
        skops_trusted_types: extra type names skops may load (``["mymod.MyTransformer"]``).
        pyfunc_predict_fn: the method pyfunc ``predict`` calls: ``predict``, ``predict_proba``,
            ``predict_log_proba``, ``predict_joint_log_proba`` or ``score``.
        signature: a ModelSignature; None infers one from ``input_example``; False: none.
        input_example: saved as ``input_example.json`` (+ serving example).
        pip_requirements: replaces the inferred requirements.
        extra_pip_requirements: added to the inferred requirements.
        conda_env: a conda env dict / YAML path, instead of the two above.
        metadata: free-form ``metadata`` in MLmodel.
        extra_files: local files copied to ``extra_files/`` and listed in the flavor
            section (``extra_files: [{path: ...}]``).
        code_paths: files/folders copied to ``code/`` and put on ``sys.path`` at load.
        mlflow_model: a pre-filled :class:`~modelshelf.models.Model` (``run_id`` …) to add to;
            ``log_model`` passes one.

    Returns:
        The :class:`~modelshelf.models.Model` written to ``MLmodel``.

    Raises:
        AlreadyExistsError: ``path`` exists and is not empty.
        InvalidInputError: unknown format or predict function, skops cannot store the model,
            bad requirement arguments, unsupported input example.
        MissingDependencyError: scikit-learn / skops / cloudpickle are not installed.
    """
    sklearn = require("sklearn", FLAVOR_NAME)
    _check_format(serialization_format)
    if pyfunc_predict_fn != "predict" and pyfunc_predict_fn not in CUSTOM_PREDICT_FNS:
        raise InvalidInputError(
            f"pyfunc_predict_fn={pyfunc_predict_fn!r} is not supported; use 'predict' or one of "
            f"{list(CUSTOM_PREDICT_FNS)}."
        )
    model = mlflow_model if mlflow_model is not None else Model()
    if metadata is not None:
        model.metadata = metadata
    with staged_model_dir(path) as root:
        code = copy_code_paths(code_paths, root)
        wrapper = _SklearnModelWrapper(sk_model)
        save_example_and_signature(
            model,
            root,
            input_example=input_example,
            signature=signature,
            predict=lambda data, params: wrapper.predict(data, params=params),
        )
        data_file = (
            SKOPS_FILE if serialization_format == SERIALIZATION_FORMAT_SKOPS else PICKLE_FILE
        )
        dump_estimator(sk_model, root / data_file, serialization_format, skops_trusted_types)
        if hasattr(sk_model, pyfunc_predict_fn):
            add_pyfunc_flavor(
                model, LOADER_MODULE, code=code, model_path=data_file, predict_fn=pyfunc_predict_fn
            )
        else:
            warnings.warn(
                f"The model has no {pyfunc_predict_fn!r} method, so it is saved without the "
                "python_function flavor (load it with modelshelf.flavors.sklearn.load_model).",
                ModelshelfWarning,
                stacklevel=2,
            )
        model.add_flavor(
            FLAVOR_NAME,
            pickled_model=data_file,
            sklearn_version=sklearn.__version__,
            serialization_format=serialization_format,
            code=code,
            skops_trusted_types=skops_trusted_types,
            **copy_extra_files(extra_files, root),
        )
        write_model(
            model,
            root,
            defaults=_default_distributions(serialization_format),
            modules=["sklearn", type(sk_model).__module__],
            pickles=[]
            if serialization_format == SERIALIZATION_FORMAT_SKOPS
            else [root / data_file],
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            conda_env=conda_env,
        )
    return model


def load_model(model_uri: PathLike) -> Any:
    """Load the scikit-learn estimator of a model directory (saved by modelshelf or MLflow).

    Raises:
        NotFoundError: no model there.
        MalformedMetadataError: the model has no ``sklearn`` flavor.
        MissingDependencyError: scikit-learn / skops are not installed.
        InvalidURIError: a URI scheme this layer cannot resolve.
    """
    root, conf = open_flavor(model_uri, FLAVOR_NAME)
    require("sklearn", FLAVOR_NAME)
    return load_estimator(
        root / str(conf["pickled_model"]),
        str(conf.get("serialization_format") or SERIALIZATION_FORMAT_PICKLE),
        conf.get("skops_trusted_types"),
        flavor=FLAVOR_NAME,
    )


def _load_pyfunc(path: PathLike, model_config: dict[str, Any] | None = None, **_: Any) -> Any:
    """pyfunc loader for ``loader_module: mlflow.sklearn``.

    ``path`` is the model root (MLflow 2.x/3.x: no ``data`` key) or the model file itself.

    Raises:
        MissingDependencyError: scikit-learn / skops are not installed.
    """
    p = Path(path)
    root = p.parent if p.is_file() else p
    require("sklearn", FLAVOR_NAME)
    meta = Model.load(root)
    conf = dict(meta.flavors.get(FLAVOR_NAME) or {})  # absent: an old pickle-format model
    if p.is_file():
        file = p
    else:
        rel = meta.flavors.get(PYFUNC_FLAVOR, {}).get("model_path") or conf.get("pickled_model")
        if not rel:
            raise MalformedMetadataError(
                f"{root / 'MLmodel'}: neither python_function.model_path nor "
                "sklearn.pickled_model names the model file; re-save the model."
            )
        file = root / str(rel)
    estimator = load_estimator(
        file,
        str(conf.get("serialization_format") or SERIALIZATION_FORMAT_PICKLE),
        conf.get("skops_trusted_types"),
        flavor=FLAVOR_NAME,
    )
    return _SklearnModelWrapper(estimator)


class _SklearnModelWrapper:
    """pyfunc implementation: ``predict`` plus the estimator's own ``predict_proba`` & co."""

    def __init__(self, sklearn_model: Any) -> None:
        self.sklearn_model = sklearn_model
        for name in CUSTOM_PREDICT_FNS:
            fn = getattr(sklearn_model, name, None)
            if fn is not None:
                setattr(self, name, fn)

    def get_raw_model(self) -> Any:
        """The estimator."""
        return self.sklearn_model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        """``estimator.predict(data)``; ``params`` are accepted and ignored, as in MLflow."""
        return self.sklearn_model.predict(data)


def log_model(sk_model: Any, artifact_path: str | None = None, **kwargs: Any) -> ModelInfo:
    """Log a scikit-learn model to the active run as one tree, as ``mlflow.sklearn.log_model``.

    Takes ``name=``, ``registered_model_name=``, ``run_id=``, ``tags=`` and :func:`save_model`'s
    keyword arguments. Returns a :class:`~modelshelf.models.ModelInfo` whose ``model_uri``
    (``runs:/<run_id>/<name>``) loads with :func:`load_model`.

    Raises:
        ArtifactExistsError: another model is already logged at ``name`` in the run.
    """
    from modelshelf.models._logging import log_model as _log_model

    return _log_model(save_model, artifact_path=artifact_path, sk_model=sk_model, **kwargs)
