"""The ``onnx`` flavor: ONNX graphs (``model.onnx``) run with onnxruntime, MLflow 3.17 layout.

``load_model`` returns the ``onnx.ModelProto``; pyfunc loading builds an
``onnxruntime.InferenceSession`` with the execution ``providers`` recorded in MLmodel (default
``[CUDAExecutionProvider, CPUExecutionProvider]``; unavailable ones are skipped) and the
recorded ``onnx_session_options`` (``intra_op_num_threads``, ``inter_op_num_threads``,
``execution_mode``, ``graph_optimization_level``, ``extra_session_config``). As in MLflow, no
signature is inferred from the input example (pass ``signature=`` to set one): the pyfunc
wrapper casts float64 input to the float32 the graph wants, which a tensor signature's exact
dtype check would refuse first.

onnx and onnxruntime are imported only when used (``pip install 'modelshelf[onnx]'``).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from modelshelf.errors import InvalidInputError, ModelLoadWarning
from modelshelf.flavors._base import (
    PathLike,
    Requirements,
    add_pyfunc_flavor,
    copy_code_paths,
    copy_extra_files,
    flavor_conf,
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
    "DEFAULT_PROVIDERS",
    "FLAVOR_NAME",
    "LOADER_MODULES",
    "get_default_pip_requirements",
    "load_model",
    "log_model",
    "save_model",
]

FLAVOR_NAME = "onnx"
LOADER_MODULE = "mlflow.onnx"
LOADER_MODULES = (LOADER_MODULE,)
DATA_FILE = "model.onnx"
DEFAULT_PROVIDERS = ("CUDAExecutionProvider", "CPUExecutionProvider")
_CPU = "CPUExecutionProvider"


def get_default_pip_requirements() -> list[str]:
    """Pinned requirements every onnx model gets (onnx, onnxruntime)."""
    return [pinned("onnx"), pinned("onnxruntime")]


def _validate_session_options(options: dict[str, Any] | None) -> None:
    if options is None:
        return
    ort = require("onnxruntime", FLAVOR_NAME)
    if not isinstance(options, dict):
        raise InvalidInputError(
            f"onnx_session_options must be a dict, got {type(options).__name__}."
        )
    for key, value in options.items():
        if key == "extra_session_config":
            if not isinstance(value, dict):
                raise InvalidInputError(
                    "onnx_session_options['extra_session_config'] must be a dict."
                )
        elif not hasattr(ort.SessionOptions, key):
            raise InvalidInputError(
                f"{key!r} in onnx_session_options is not an onnxruntime SessionOptions attribute."
            )
        elif key == "execution_mode" and str(value).upper() not in ("PARALLEL", "SEQUENTIAL"):
            raise InvalidInputError(
                f"onnx_session_options['execution_mode'] must be 'parallel' or 'sequential', "
                f"got {value!r}."
            )
        elif key == "graph_optimization_level" and value not in (0, 1, 2, 99):
            raise InvalidInputError(
                f"onnx_session_options['graph_optimization_level'] must be 0, 1, 2 or 99, got "
                f"{value!r}."
            )
        elif key in ("intra_op_num_threads", "inter_op_num_threads") and value < 0:
            raise InvalidInputError(f"onnx_session_options[{key!r}] must be >= 0, got {value!r}.")


def save_model(
    onnx_model: Any,
    path: PathLike,
    *,
    onnx_execution_providers: list[Any] | None = None,
    onnx_session_options: dict[str, Any] | None = None,
    save_as_external_data: bool = True,
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
    """Save an ``onnx.ModelProto`` as an MLflow model directory at ``path``.

    Args:
        onnx_model: the ONNX model.
        path: the new model directory (must not exist, or be empty).
        onnx_execution_providers: providers to try in order at load (names, or
            ``(name, options)`` pairs); default CUDA then CPU.
        onnx_session_options: onnxruntime ``SessionOptions`` settings applied at load.
        save_as_external_data: let ``onnx.save_model`` put large tensors in a side file.
        signature: a ModelSignature (not inferred: see the module docstring); False: none.
        input_example: saved as ``input_example.json`` (+ serving example).
        pip_requirements: replaces the inferred requirements.
        extra_pip_requirements: added to the inferred requirements.
        conda_env: a conda env dict / YAML path, instead of the two above.
        metadata: free-form ``metadata`` in MLmodel.
        extra_files: local files copied to ``extra_files/`` and listed in the flavor
            section (``extra_files: [{path: ...}]``).
        code_paths: files/folders copied to ``code/``.
        mlflow_model: a pre-filled :class:`~modelshelf.models.Model` to add to (``log_model``).

    Returns:
        The :class:`~modelshelf.models.Model` written to ``MLmodel``.

    Raises:
        AlreadyExistsError: ``path`` exists and is not empty.
        InvalidInputError: invalid session options, bad requirement arguments, unsupported
            input example.
        MissingDependencyError: onnx / onnxruntime are not installed.
    """
    onnx = require("onnx", FLAVOR_NAME)
    providers = list(onnx_execution_providers or DEFAULT_PROVIDERS)
    _validate_session_options(onnx_session_options)
    model = mlflow_model if mlflow_model is not None else Model()
    if metadata is not None:
        model.metadata = metadata
    with staged_model_dir(path) as root:
        code = copy_code_paths(code_paths, root)
        save_example_and_signature(
            model, root, input_example=input_example, signature=signature, predict=None
        )
        onnx.save_model(
            onnx_model, str(root / DATA_FILE), save_as_external_data=save_as_external_data
        )
        add_pyfunc_flavor(model, LOADER_MODULE, data=DATA_FILE, code=code)
        model.add_flavor(
            FLAVOR_NAME,
            onnx_version=onnx.__version__,
            data=DATA_FILE,
            providers=[list(p) if isinstance(p, tuple) else p for p in providers],
            onnx_session_options=onnx_session_options,
            code=code,
            **copy_extra_files(extra_files, root),
        )
        write_model(
            model,
            root,
            defaults=["onnx", "onnxruntime"],
            modules=["onnx", "onnxruntime"],
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            conda_env=conda_env,
        )
    return model


def load_model(model_uri: PathLike) -> Any:
    """Load (and check) the ``onnx.ModelProto`` of a model directory.

    Raises:
        NotFoundError: no model there.
        MalformedMetadataError: the model has no ``onnx`` flavor.
        MissingDependencyError: onnx is not installed.
        InvalidURIError: a URI scheme this layer cannot resolve.
    """
    root, conf = open_flavor(model_uri, FLAVOR_NAME)
    onnx = require("onnx", FLAVOR_NAME)
    file = str(root / str(conf.get("data") or DATA_FILE))
    onnx.checker.check_model(file)
    return onnx.load(file)


def _load_pyfunc(path: PathLike, model_config: dict[str, Any] | None = None, **_: Any) -> Any:
    """pyfunc loader for ``loader_module: mlflow.onnx`` (``path``: the ``model.onnx`` file).

    Raises:
        MissingDependencyError: onnxruntime is not installed.
    """
    file = Path(path)
    root = file.parent if file.is_file() else file
    if not file.is_file():
        file = root / DATA_FILE
    _meta, conf = flavor_conf(root, FLAVOR_NAME)
    return _OnnxModelWrapper(file, conf)


def _provider_name(entry: Any) -> str | None:
    if isinstance(entry, (list, tuple)):
        entry = entry[0] if entry else None
    return entry if isinstance(entry, str) else None


def _session_options(ort: Any, options: dict[str, Any] | None) -> Any:
    so = ort.SessionOptions()
    for key, value in (options or {}).items():
        if key == "execution_mode":
            parallel = str(value).upper() == "PARALLEL"
            so.execution_mode = (
                ort.ExecutionMode.ORT_PARALLEL if parallel else ort.ExecutionMode.ORT_SEQUENTIAL
            )
        elif key == "graph_optimization_level":
            so.graph_optimization_level = ort.GraphOptimizationLevel(value)
        elif key == "extra_session_config":
            for k, v in value.items():
                so.add_session_config_entry(k, v)
        elif value:
            setattr(so, key, value)
    return so


class _OnnxModelWrapper:
    """pyfunc implementation over an ``onnxruntime.InferenceSession``."""

    def __init__(self, file: Path, conf: dict[str, Any]) -> None:
        ort = require("onnxruntime", FLAVOR_NAME)
        providers = conf.get("providers") or list(DEFAULT_PROVIDERS)
        if isinstance(providers, str):
            providers = [providers]
        # (name, options) pairs come back from YAML as lists; onnxruntime wants tuples.
        providers = [tuple(p) if isinstance(p, list) else p for p in providers]
        available = set(ort.get_available_providers())
        usable = [p for p in providers if _provider_name(p) in available]
        if not usable:
            # Only when nothing asked for exists: a missing CUDA before an available CPU is the
            # normal case on CPU machines (MLflow's default list) and not worth a warning.
            warnings.warn(
                f"ONNX model asks for providers {providers}; this onnxruntime has "
                f"{sorted(available)}, so it runs on {_CPU}.",
                ModelLoadWarning,
                stacklevel=3,
            )
            usable = [_CPU]
        options = _session_options(ort, conf.get("onnx_session_options"))
        self.rt = ort.InferenceSession(str(file), providers=usable, sess_options=options)
        self.inputs = [(i.name, i.type) for i in self.rt.get_inputs()]
        self.output_names = [o.name for o in self.rt.get_outputs()]

    def get_raw_model(self) -> Any:
        """The ``onnxruntime.InferenceSession``."""
        return self.rt

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        """Run the session: dict → feeds, ndarray → the single input, DataFrame → columns.

        Returns a DataFrame (one column per output, flattened) for DataFrame input, else a dict
        of output name → ndarray.

        Raises:
            InvalidInputError: an ndarray for a multi-input model.
            TypeError: another input type.
        """
        import numpy as np
        import pandas as pd

        if isinstance(data, dict):
            feeds = dict(data)
        elif isinstance(data, np.ndarray):
            if len(self.inputs) != 1:
                raise InvalidInputError(
                    f"An ndarray feeds only single-input ONNX models; this one has inputs "
                    f"{[n for n, _ in self.inputs]}: pass a dict or a DataFrame."
                )
            feeds = {self.inputs[0][0]: data}
        elif isinstance(data, pd.DataFrame):
            if len(self.inputs) > 1:
                feeds = {name: data[name].values for name, _ in self.inputs}
            else:
                feeds = {self.inputs[0][0]: data.values}
        else:
            raise TypeError(
                f"ONNX models predict on a dict of arrays, an ndarray or a DataFrame, got "
                f"{type(data).__name__}."
            )
        # Serving round trips turn float32 into float64; the graph wants what it declares.
        for name, kind in self.inputs:
            feed = feeds.get(name)
            if kind == "tensor(float)" and feed is not None and feed.dtype == np.float64:
                feeds[name] = feed.astype(np.float32)
        outputs = self.rt.run(self.output_names, feeds)
        if isinstance(data, pd.DataFrame):
            return pd.DataFrame(
                {
                    name: np.asarray(out).reshape(-1)
                    for name, out in zip(self.output_names, outputs, strict=True)
                }
            )
        return dict(zip(self.output_names, outputs, strict=True))


def log_model(onnx_model: Any, artifact_path: str | None = None, **kwargs: Any) -> ModelInfo:
    """Log a ONNX model to the active run as one tree, as ``mlflow.onnx.log_model``.

    Takes ``name=``, ``registered_model_name=``, ``run_id=``, ``tags=`` and :func:`save_model`'s
    keyword arguments. Returns a :class:`~modelshelf.models.ModelInfo` whose ``model_uri``
    (``runs:/<run_id>/<name>``) loads with :func:`load_model`.

    Raises:
        ArtifactExistsError: another model is already logged at ``name`` in the run.
    """
    from modelshelf.models._logging import log_model as _log_model

    return _log_model(save_model, artifact_path=artifact_path, onnx_model=onnx_model, **kwargs)
