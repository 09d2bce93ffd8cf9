"""The ``pytorch`` flavor: ``torch.nn.Module`` models in MLflow 3.17's layout, under ``data/``.

Two formats (``serialization_format``):

- ``pt2`` (default, as in MLflow 3.x): ``torch.export`` traces the model on the input example
  and ``torch.export.save`` writes ``data/model.pt2``. Needs an ndarray/tensor input example
  and a tensor signature (inferred from an ndarray example). Dimensions that are ``-1`` in the
  signature are exported as dynamic (``Dim.AUTO``): give a batch of more than one row to keep
  the batch size free.
- ``pickle``: ``torch.save`` with a cloudpickle-based pickle module writes ``data/model.pth``
  and ``data/pickle_module_info.txt`` (``mlflow.pytorch.pickle_module``). Unpickling runs code:
  load only trusted models.

The loader picks the format by which file exists. The ``python_function`` block names
``mlflow.pytorch`` with ``config: {device: null}``: pass ``model_config={"device": "cuda"}`` to
pyfunc loading to choose the device (default: CUDA if available, else CPU).

torch is imported only when a model is saved or loaded (``pip install 'modelshelf[pytorch]'``).
"""

from __future__ import annotations

import importlib
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

from modelshelf.errors import InvalidInputError, MissingDependencyError
from modelshelf.flavors import _torch_pickle
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
from modelshelf.models._mlmodel import Model

__all__ = [
    "FLAVOR_NAME",
    "LOADER_MODULES",
    "SERIALIZATION_FORMAT_PICKLE",
    "SERIALIZATION_FORMAT_PT2",
    "get_default_pip_requirements",
    "load_model",
    "log_model",
    "save_model",
]

FLAVOR_NAME = "pytorch"
LOADER_MODULE = "mlflow.pytorch"
LOADER_MODULES = (LOADER_MODULE,)
SERIALIZATION_FORMAT_PICKLE = "pickle"
SERIALIZATION_FORMAT_PT2 = "pt2"
DATA_DIR = "data"
PICKLE_FILE = "model.pth"
EXPORTED_FILE = "model.pt2"
PICKLE_MODULE_INFO_FILE = "pickle_module_info.txt"
#: The pickle-module name written for the default module: MLflow's, which is the same format.
DEFAULT_PICKLE_MODULE_NAME = "mlflow.pytorch.pickle_module"


def get_default_pip_requirements() -> list[str]:
    """Pinned requirements every pytorch model gets (torch, cloudpickle)."""
    return [pinned("torch"), pinned("cloudpickle")]


def _tensor(array: Any) -> Any:
    import torch

    # pandas 3 hands out read-only arrays; torch warns on those and may not write to them.
    return torch.from_numpy(array if array.flags.writeable else array.copy())


def _example_tensors(input_example: Any) -> tuple[Any, ...] | None:
    import numpy as np
    import torch

    items = input_example
    if isinstance(items, (np.ndarray, torch.Tensor)):
        items = (items,)
    if not isinstance(items, (tuple, list)) or not items:
        return None
    if not all(isinstance(v, (np.ndarray, torch.Tensor)) for v in items):
        return None
    return tuple(items)


def _export(pytorch_model: Any, tensors: tuple[Any, ...], signature: Any, file: Path) -> None:
    import torch

    inputs = signature.inputs if signature is not None else None
    if inputs is None or len(inputs) < 1 or not inputs.is_tensor_spec():
        raise InvalidInputError(
            "serialization_format='pt2' needs a tensor signature (TensorSpec inputs): pass an "
            "ndarray input_example to infer one, or signature=..., or use "
            "serialization_format='pickle'."
        )
    specs = list(inputs.inputs)
    if len(specs) != len(tensors):
        raise InvalidInputError(
            f"the signature has {len(specs)} inputs but the input example has {len(tensors)}."
        )
    example = tuple(t if isinstance(t, torch.Tensor) else _tensor(t) for t in tensors)
    dim = torch.export.Dim
    dynamic: list[dict[int, Any] | None] = []
    for spec, tensor in zip(specs, example, strict=True):
        dims: dict[int, Any] = {}
        for i, size in enumerate(spec.shape):
            if size != -1:
                continue
            if hasattr(dim, "AUTO"):  # torch >= 2.6: the exporter keeps size-1 dims static
                dims[i] = dim.AUTO
            elif tensor.shape[i] > 1:  # older: a size-1 dim marked dynamic fails to export
                # one name per index: batched inputs share their batch dimension
                dims[i] = dim(f"dim_{i}")
        dynamic.append(dims or None)
    program = torch.export.export(pytorch_model, example, dynamic_shapes=dynamic)
    torch.export.save(program, str(file))


def save_model(
    pytorch_model: Any,
    path: PathLike,
    *,
    serialization_format: str = SERIALIZATION_FORMAT_PT2,
    pickle_module: ModuleType | None = None,
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
    """Save a ``torch.nn.Module`` as an MLflow model directory at ``path``.

    Args:
        pytorch_model: the module (a ``torch.jit.ScriptModule`` needs ``pickle``).
        path: the new model directory (must not exist, or be empty).
        serialization_format: ``pt2`` (default; ``torch.export``) or ``pickle``.
        pickle_module: for ``pickle``: the module ``torch.save`` pickles with (default: a
            cloudpickle-based one, recorded as ``mlflow.pytorch.pickle_module``).
        signature: a ModelSignature; None infers one from ``input_example``; False: none.
        input_example: an ndarray (or DataFrame for ``pickle``); ``pt2`` traces with it.
        pip_requirements: replaces the inferred requirements.
        extra_pip_requirements: added to the inferred requirements.
        conda_env: a conda env dict / YAML path, instead of the two above.
        metadata: free-form ``metadata`` in MLmodel.
        extra_files: local files copied to ``extra_files/`` and listed in the flavor
            section (``extra_files: [{path: ...}]``).
        code_paths: files/folders copied to ``code/``.
        mlflow_model: a pre-filled :class:`~modelshelf.models.Model` to add to (``log_model``).
        **kwargs: passed to ``torch.save`` (``pickle`` only).

    Returns:
        The :class:`~modelshelf.models.Model` written to ``MLmodel``.

    Raises:
        AlreadyExistsError: ``path`` exists and is not empty.
        InvalidInputError: unknown format, ``pt2`` without a usable example/tensor signature,
            a ScriptModule as ``pt2``, bad requirement arguments.
        MissingDependencyError: torch is not installed.
        TypeError: ``pytorch_model`` is not a ``torch.nn.Module``.
    """
    torch = require("torch", FLAVOR_NAME)
    if serialization_format not in (SERIALIZATION_FORMAT_PICKLE, SERIALIZATION_FORMAT_PT2):
        raise InvalidInputError(
            f"serialization_format must be 'pt2' or 'pickle', got {serialization_format!r}."
        )
    if not isinstance(pytorch_model, torch.nn.Module):
        raise TypeError(
            f"pytorch_model must be a torch.nn.Module, got {type(pytorch_model).__name__}."
        )
    is_pt2 = serialization_format == SERIALIZATION_FORMAT_PT2
    if is_pt2 and isinstance(pytorch_model, torch.jit.ScriptModule):
        raise InvalidInputError(
            "serialization_format='pt2' does not support torch.jit.ScriptModule models; use "
            "serialization_format='pickle'."
        )
    tensors = _example_tensors(input_example) if is_pt2 else None
    if is_pt2 and tensors is None:
        raise InvalidInputError(
            "serialization_format='pt2' needs input_example: an ndarray or tensor, or a "
            "tuple/list of them (torch.export traces forward() on it). Use "
            "serialization_format='pickle' for other inputs."
        )
    model = mlflow_model if mlflow_model is not None else Model()
    if metadata is not None:
        model.metadata = metadata
    pickle_mod: Any = pickle_module or _torch_pickle
    pickle_name = DEFAULT_PICKLE_MODULE_NAME if pickle_module is None else pickle_module.__name__
    with staged_model_dir(path) as root:
        wrapper = _PyTorchWrapper(pytorch_model, device="cpu")
        example = input_example
        if isinstance(example, (tuple, list)) or isinstance(example, torch.Tensor):
            example = None  # tensors / several arrays: no JSON example (as MLflow)
        save_example_and_signature(
            model,
            root,
            input_example=example,
            signature=signature,
            predict=lambda data, params: wrapper.predict(data, params=params),
        )
        code = copy_code_paths(code_paths, root)
        data_dir = root / DATA_DIR
        data_dir.mkdir()
        pickles: list[bytes] = []
        if is_pt2:
            assert tensors is not None
            _export(pytorch_model, tensors, model.signature, data_dir / EXPORTED_FILE)
        else:
            (data_dir / PICKLE_MODULE_INFO_FILE).write_text(pickle_name, encoding="utf-8")
            file = data_dir / PICKLE_FILE
            if isinstance(pytorch_model, torch.jit.ScriptModule):
                torch.jit.save(pytorch_model, str(file))
            else:
                torch.save(pytorch_model, str(file), pickle_module=pickle_mod, **kwargs)
                pickles.extend(_archive_pickles(file))
        model.add_flavor(
            FLAVOR_NAME,
            model_data=DATA_DIR,
            pytorch_version=str(torch.__version__),
            code=code,
            **copy_extra_files(extra_files, root),
        )
        # As MLflow: a pt2 model traced on tensors or several inputs gets no pyfunc flavor.
        if not (
            is_pt2
            and tensors is not None
            and (len(tensors) > 1 or any(isinstance(t, torch.Tensor) for t in tensors))
        ):
            add_pyfunc_flavor(
                model,
                LOADER_MODULE,
                data=DATA_DIR,
                code=code,
                model_config={"device": None},
                pickle_module_name=pickle_name,
            )
        write_model(
            model,
            root,
            defaults=["torch", "cloudpickle"],
            modules=["torch", type(pytorch_model).__module__],
            pickles=pickles,
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            conda_env=conda_env,
        )
    return model


def _archive_pickles(file: Path) -> list[bytes]:
    # torch.save writes a zip whose data.pkl names the model's classes: requirement inference
    # reads their modules from it without unpickling.
    try:
        with zipfile.ZipFile(file) as archive:
            return [archive.read(n) for n in archive.namelist() if n.endswith("/data.pkl")]
    except zipfile.BadZipFile:
        return [file.read_bytes()]  # _use_new_zipfile_serialization=False: one pickle stream


def _pickle_module_for(name: str) -> Any:
    if name == DEFAULT_PICKLE_MODULE_NAME or name == _torch_pickle.__name__:
        return _torch_pickle
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise MissingDependencyError(
            f"The model was pickled with the module {name!r}, which cannot be imported ({exc})."
        ) from exc


def _load_from_data_dir(data_dir: Path, device: str | None = None, **kwargs: Any) -> Any:
    torch = require("torch", FLAVOR_NAME)
    pickled = data_dir / PICKLE_FILE
    if data_dir.is_file():
        pickled = data_dir
    if pickled.exists():
        info = pickled.parent / PICKLE_MODULE_INFO_FILE
        name = info.read_text(encoding="utf-8").strip() if info.exists() else "pickle"
        kwargs.setdefault("pickle_module", _pickle_module_for(name))
        kwargs.setdefault("weights_only", False)  # a whole module, not a state dict
        native = torch.load(str(pickled), **kwargs)
        native.eval()
        if device:
            native.to(device=device)
        return native
    exported = data_dir / EXPORTED_FILE
    if not exported.exists():
        raise FileNotFoundError(
            f"No {PICKLE_FILE} or {EXPORTED_FILE} in '{data_dir}': not a pytorch model data folder."
        )
    native = torch.export.load(str(exported)).module()
    if device:
        target = torch.device(device).type
        for tensor in (*native.parameters(), *native.buffers()):
            if tensor.device.type != target:
                raise InvalidInputError(
                    f"The exported model holds weights on '{tensor.device.type}' and cannot be "
                    f"moved to '{target}'; save it with model.to('{target}') instead."
                )
    return native


def load_model(model_uri: PathLike, **kwargs: Any) -> Any:
    """Load the ``torch.nn.Module`` of a model directory (pickle or pt2).

    Args:
        model_uri: the model directory (or ``file://`` URI).
        **kwargs: passed to ``torch.load`` (``pickle`` format), e.g. ``map_location``.

    Raises:
        NotFoundError: no model there.
        MalformedMetadataError: the model has no ``pytorch`` flavor.
        MissingDependencyError: torch (or the recorded pickle module) is not installed.
        InvalidURIError: a URI scheme this layer cannot resolve.
    """
    root, conf = open_flavor(model_uri, FLAVOR_NAME)
    return _load_from_data_dir(root / str(conf.get("model_data") or DATA_DIR), **kwargs)


def _load_pyfunc(path: PathLike, model_config: dict[str, Any] | None = None, **_: Any) -> Any:
    """pyfunc loader for ``loader_module: mlflow.pytorch`` (``path``: the ``data`` folder).

    ``model_config["device"]`` chooses the device; default CUDA when available, else CPU.

    Raises:
        MissingDependencyError: torch is not installed.
    """
    torch = require("torch", FLAVOR_NAME)
    device = (model_config or {}).get("device")
    if not device:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return _PyTorchWrapper(_load_from_data_dir(Path(path), device=device), device=device)


class _PyTorchWrapper:
    """pyfunc implementation: DataFrame → float32 tensor → model → DataFrame (ndarray → ndarray)."""

    def __init__(self, pytorch_model: Any, device: str) -> None:
        self.pytorch_model = pytorch_model
        self.device = device

    def get_raw_model(self) -> Any:
        """The module."""
        return self.pytorch_model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        """Run the module without gradients; ``params`` go to ``forward`` as keywords.

        Raises:
            TypeError: input other than a DataFrame / ndarray, or a non-tensor output.
            ValueError: ``device`` given as a param (it is chosen at load time).
        """
        import numpy as np
        import pandas as pd
        import torch

        if params and "device" in params:
            raise ValueError(
                "'device' is chosen at load time: load_model(..., model_config={'device': "
                "'cuda'}), not passed as a predict param."
            )
        if isinstance(data, pd.DataFrame):
            array = data.to_numpy(dtype=np.float32)
        elif isinstance(data, np.ndarray):
            array = data
        else:
            raise TypeError(
                f"The pytorch flavor predicts on a pandas DataFrame or numpy ndarray, got "
                f"{type(data).__name__}."
            )
        with torch.no_grad():
            preds = self.pytorch_model(_tensor(array).to(self.device), **(params or {}))
            if not isinstance(preds, torch.Tensor):
                raise TypeError(
                    f"Expected the model to return one tensor, got {type(preds).__name__}."
                )
            if self.device != "cpu":
                preds = preds.to("cpu")
            if isinstance(data, pd.DataFrame):
                out = pd.DataFrame(preds.numpy())
                out.index = data.index
                return out
            return preds.numpy()


def log_model(pytorch_model: Any, artifact_path: str | None = None, **kwargs: Any) -> ModelInfo:
    """Log a PyTorch model to the active run as one tree, as ``mlflow.pytorch.log_model``.

    Takes ``name=``, ``registered_model_name=``, ``run_id=``, ``tags=`` and :func:`save_model`'s
    keyword arguments. Returns a :class:`~modelshelf.models.ModelInfo` whose ``model_uri``
    (``runs:/<run_id>/<name>``) loads with :func:`load_model`.

    Raises:
        ArtifactExistsError: another model is already logged at ``name`` in the run.
    """
    from modelshelf.models._logging import log_model as _log_model

    return _log_model(
        save_model, artifact_path=artifact_path, pytorch_model=pytorch_model, **kwargs
    )
