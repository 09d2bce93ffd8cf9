"""``save_model``: write a python_function model directory exactly as MLflow lays it out."""

from __future__ import annotations

import copy
import os
import shutil
import stat
import sys
import uuid
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from modelshelf.cas import scan_dir
from modelshelf.errors import (
    AlreadyExistsError,
    InvalidInputError,
    SchemaEnforcementError,
    SignatureInferenceWarning,
)
from modelshelf.models._mlmodel import MLMODEL_FILE_NAME, PYFUNC_FLAVOR, Model
from modelshelf.pyfunc._mlflow_names import dumps, renamed_classes
from modelshelf.pyfunc._model import (
    PythonModelContext,
    _FunctionPythonModel,
    _PythonModelWrapper,
)

__all__ = ["save_model"]

_PYTHON_MODEL_FILE = "python_model.pkl"
_ENV_FILES = {"conda": "conda.yaml", "virtualenv": "python_env.yaml"}


def _python_version() -> str:
    return ".".join(str(x) for x in sys.version_info[:3])


def _local_source(uri: str | os.PathLike[str], what: str) -> Path:
    s = os.fspath(uri)
    parsed = urlparse(s)
    if parsed.scheme == "file":
        s = unquote(parsed.path)
    elif parsed.scheme and len(parsed.scheme) > 1:
        raise InvalidInputError(
            f"{what} {s!r}: only local paths and file:// URIs can be saved into a model for "
            "now; download it first."
        )
    p = Path(s)
    if not p.exists():
        raise InvalidInputError(f"{what} {s!r} does not exist")
    return p


def _artifact_source(uri: str, what: str) -> Path:
    """A local file or folder holding what ``uri`` names: a path as is; ``runs:/``,
    ``models:/``, ``sha256:`` and folder URLs through :mod:`modelshelf.uri` (shelf bytes via
    the verified cache)."""
    from modelshelf.uri import local_model_dir, parse_uri

    try:
        scheme = parse_uri(uri).scheme
    except InvalidInputError as exc:
        raise InvalidInputError(f"{what}: {exc}") from exc
    if scheme == "local":
        return _local_source(uri, what)
    return local_model_dir(uri)


def _copy_in(src: Path, dst_dir: Path) -> str:
    """Copy a file or directory to ``dst_dir/<basename>``; returns the POSIX path relative to
    ``dst_dir.parent`` (the model root)."""
    dst_dir.mkdir(parents=True, exist_ok=True)
    dst = dst_dir / src.name
    if src.is_dir():
        scan_dir(src)  # refuse bad symlinks and special files with a typed error, as logging does
        shutil.copytree(src, dst)
    else:
        shutil.copy2(src, dst)
    return f"{dst_dir.name}/{src.name}"


def _copy_artifacts(root: Path, artifacts: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Copy artifacts to ``artifacts/<basename>``; like MLflow, every artifact whose basename
    collides with another's goes to ``artifacts/<n>/<basename>`` (n = 0, 1, … skipping names
    in use), and a URI named twice is stored once."""
    sources: dict[str, Path] = {}  # uri -> local source, in first-seen order
    names: dict[str, list[str]] = {}
    for name, uri in artifacts.items():
        if not isinstance(name, str) or not name:
            raise InvalidInputError(f"artifact names must be non-empty strings, got {name!r}")
        key = os.fspath(uri)
        if key not in sources:
            sources[key] = _artifact_source(key, f"artifact {name!r}")
        names.setdefault(key, []).append(name)
    basenames = [src.name for src in sources.values()]
    colliding = {i for i, b in enumerate(basenames) if basenames.count(b) > 1}
    occupied = {b for i, b in enumerate(basenames) if i not in colliding}
    out: dict[str, dict[str, str]] = {}
    namespace = 0
    for i, (uri, src) in enumerate(sources.items()):
        rel = Path(src.name)
        if i in colliding:
            while str(namespace) in occupied:
                namespace += 1
            occupied.add(str(namespace))
            rel = Path(str(namespace), src.name)
            namespace += 1
        dst = root / "artifacts" / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            scan_dir(src)  # refuse bad symlinks and special files with a typed error
            shutil.copytree(src, dst)
        else:
            shutil.copy2(src, dst)
        if not _is_plain_path(uri):
            _make_writable(dst)  # the verified cache's read-only modes must not come along
        for name in names[uri]:
            out[name] = {"path": f"artifacts/{rel.as_posix()}", "uri": uri}
    return out


def _is_plain_path(uri: str) -> bool:
    from modelshelf.uri import parse_uri

    return parse_uri(uri).scheme == "local"


def _make_writable(root: Path) -> None:
    paths = (
        [root] if root.is_file() else [Path(d) / n for d, ds, fs in os.walk(root) for n in ds + fs]
    )
    for p in [root, *paths] if root.is_dir() else paths:
        os.chmod(p, os.stat(p).st_mode | stat.S_IWUSR | stat.S_IRUSR)


def _dir_size(root: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(dirpath, f))
            except OSError:
                pass
    return total


def _check_example_against_signature(signature: Any, example: Any) -> None:
    from modelshelf.models._enforce import enforce_input, enforce_params
    from modelshelf.models._input_example import split_input_and_params

    data, params = split_input_and_params(example)
    try:
        if signature.inputs is not None:
            enforce_input(copy.deepcopy(data), signature.inputs)
        if params is not None and getattr(signature, "params", None) is not None:
            enforce_params(params, signature.params)
    except SchemaEnforcementError as exc:
        raise SchemaEnforcementError(
            f"input_example does not match the model signature: {exc}. Pass an example the "
            "signature accepts, or fix the signature (infer_signature(example, output))."
        ) from exc


def _infer_signature_from_example(wrapper: _PythonModelWrapper, example: Any) -> Any:
    from modelshelf.models._enforce import enforce_input, enforce_params
    from modelshelf.models._infer import infer_signature
    from modelshelf.models._input_example import split_input_and_params

    data, params = split_input_and_params(example)
    probe = infer_signature(data, None, params)
    fed = enforce_input(copy.deepcopy(data), probe.inputs) if probe.inputs is not None else data
    fed_params = enforce_params(params, getattr(probe, "params", None)) if params else params
    prediction = wrapper.predict(fed, params=fed_params)
    return infer_signature(data, prediction, params, output_1d_as_column=True)


def save_model(
    path: str | os.PathLike[str],
    *,
    loader_module: str | None = None,
    data_path: str | os.PathLike[str] | None = None,
    code_paths: Sequence[str | os.PathLike[str]] | None = None,
    python_model: Any = None,
    artifacts: dict[str, Any] | None = None,
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: str | os.PathLike[str] | Sequence[str] | None = None,
    extra_pip_requirements: str | os.PathLike[str] | Sequence[str] | None = None,
    metadata: dict[str, Any] | None = None,
    model_config: dict[str, Any] | str | os.PathLike[str] | None = None,
    conda_env: str | os.PathLike[str] | dict[str, Any] | None = None,
) -> Model:
    """Save a python_function model to the local directory ``path``, in MLflow's layout.

    Give either ``python_model`` (a :class:`PythonModel`, an ``mlflow.pyfunc.PythonModel`` or a
    function of the input) — pickled to ``python_model.pkl`` with ``loader_module:
    mlflow.pyfunc.model``, ``artifacts`` copied to ``artifacts/<basename>`` (each a local
    path or any URI :mod:`modelshelf.uri` resolves — ``runs:/``, ``models:/``, ``sha256:``, a
    folder URL — on the current shelf, fetched through the verified cache) — or
    ``loader_module`` (a module with ``_load_pyfunc(data_path)``) with optional ``data_path``
    (copied to ``data/<basename>``). ``code_paths`` are copied to ``code/<basename>`` and put
    first on ``sys.path`` at load. Requirements are inferred in-process unless given.

    Without a ``signature``, a PythonModel with an ``input_example`` gets one inferred by
    predicting on the example. With both, the example must satisfy the signature.

    The model is built in a temporary sibling folder and renamed into place, so ``path`` never
    holds a partial model.

    Returns:
        The :class:`~modelshelf.models.Model` written to ``MLmodel``.

    Raises:
        AlreadyExistsError: ``path`` exists and is not empty.
        InvalidInputError: bad argument combination, missing source files, an unsupported
            input example, or remote artifact URIs.
        SchemaEnforcementError: ``input_example`` contradicts ``signature``.
    """
    if (python_model is None) == (loader_module is None):
        raise InvalidInputError(
            "pass exactly one of python_model (a PythonModel) or loader_module (a module with "
            "_load_pyfunc)"
        )
    if python_model is not None and data_path is not None:
        raise InvalidInputError(
            "data_path goes with loader_module; use artifacts= with python_model"
        )
    if loader_module is not None and artifacts:
        raise InvalidInputError("artifacts go with python_model; use data_path= with loader_module")
    if metadata is not None and not isinstance(metadata, dict):
        raise InvalidInputError(f"metadata must be a dict, got {type(metadata).__name__}")
    if signature is not None and not callable(getattr(signature, "to_dict", None)):
        raise InvalidInputError(
            f"signature must be a ModelSignature (see infer_signature), got "
            f"{type(signature).__name__}"
        )
    if model_config is not None and not isinstance(model_config, dict):
        from modelshelf.pyfunc._pyfunc import _read_config_arg

        model_config = _read_config_arg(model_config)  # a YAML file path, as MLflow allows
    if python_model is not None and not hasattr(python_model, "predict"):
        if callable(python_model):
            python_model = _FunctionPythonModel(python_model)
        else:
            raise InvalidInputError(
                f"python_model must be a PythonModel (with a predict method) or a function, got "
                f"{type(python_model).__name__}"
            )
    target = Path(path).absolute()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise AlreadyExistsError(f"Path '{target}' already exists and is not empty")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:12]}"
    staging.mkdir()
    try:
        model = _build(
            staging,
            loader_module=loader_module,
            data_path=data_path,
            code_paths=code_paths,
            python_model=python_model,
            artifacts=artifacts,
            signature=signature,
            input_example=input_example,
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            metadata=metadata,
            model_config=model_config,
            conda_env=conda_env,
        )
        try:
            os.rename(staging, target)  # replaces only an empty directory
        except OSError as exc:
            raise AlreadyExistsError(f"Path '{target}' already exists and is not empty") from exc
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return model


def _build(
    root: Path,
    *,
    loader_module: str | None,
    data_path: Any,
    code_paths: Sequence[Any] | None,
    python_model: Any,
    artifacts: dict[str, Any] | None,
    signature: Any,
    input_example: Any,
    pip_requirements: Any,
    extra_pip_requirements: Any,
    metadata: dict[str, Any] | None,
    model_config: dict[str, Any] | None,
    conda_env: Any,
) -> Model:
    from modelshelf.models._environment import infer_pip_requirements, write_environment
    from modelshelf.models._input_example import save_input_example

    model = Model(metadata=metadata)
    if signature is not None and input_example is not None:
        _check_example_against_signature(signature, input_example)
    model.signature = signature
    conf: dict[str, Any] = {}
    pickles: list[bytes] = []
    modules: set[str] = set()
    if python_model is not None:
        import cloudpickle

        blob = dumps(python_model)
        (root / _PYTHON_MODEL_FILE).write_bytes(blob)
        pickles.append(blob)
        modules |= _modules_of_python_model(python_model, blob)
        conf["cloudpickle_version"] = cloudpickle.__version__
        conf["python_model"] = _PYTHON_MODEL_FILE
        if artifacts:
            conf["artifacts"] = _copy_artifacts(root, artifacts)
        conf["streamable"] = callable(getattr(python_model, "predict_stream", None))
        loader = "mlflow.pyfunc.model"
    else:
        assert loader_module is not None
        if data_path is not None:
            conf["data"] = _copy_in(_local_source(data_path, "data_path"), root / "data")
        conf["streamable"] = False
        modules.add(loader_module)
        loader = loader_module
    save_input_example(model, input_example, root)
    if signature is None and input_example is not None and python_model is not None:
        model.signature = _try_infer(python_model, root, conf, model_config, input_example)
    conf.update(
        loader_module=loader,
        python_version=_python_version(),
        env=dict(_ENV_FILES),
    )
    if model_config:
        conf["config"] = model_config
    if size := _dir_size(root):
        model.model_size_bytes = size
    code_rel = None
    if code_paths:
        for src in code_paths:
            _copy_in(_local_source(src, "code path"), root / "code")
        code_rel = "code"
    conf["code"] = code_rel
    model.add_flavor(PYFUNC_FLAVOR, **conf)
    defaults = ["cloudpickle"]
    inferred: list[str] = []
    if pip_requirements is None and conda_env is None:
        inferred = infer_pip_requirements(pickles=pickles, modules=modules, defaults=defaults)
    write_environment(
        root,
        inferred,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        conda_env=conda_env,
    )
    model.save(root / MLMODEL_FILE_NAME)
    return model


def _modules_of_python_model(python_model: Any, blob: bytes) -> set[str]:
    """Modules the pickled model needs where it is loaded. modelshelf's base classes are
    pickled under MLflow's names, so modelshelf counts only when the stream still refers to it,
    or when a class of the model is pickled by reference (its module imports modelshelf)."""
    from modelshelf.models._environment import modules_in_pickle, modules_used_by

    renamed = renamed_classes(python_model)
    modules = modules_used_by(python_model, skip=renamed)
    if isinstance(python_model, _FunctionPythonModel):
        modules |= modules_used_by(python_model.func)
    pickled = modules_in_pickle(blob)
    by_reference = {
        cls.__module__.split(".", 1)[0]
        for cls in type(python_model).__mro__
        if cls not in renamed and cls.__module__ not in ("builtins", "abc")
    } & pickled
    if by_reference or "modelshelf" in pickled:
        modules.add("modelshelf")
    return modules


def _try_infer(
    python_model: Any, root: Path, conf: dict[str, Any], model_config: Any, example: Any
) -> Any:
    artifacts = {
        name: str(root / info["path"]) for name, info in (conf.get("artifacts") or {}).items()
    }
    context = PythonModelContext(artifacts=artifacts, model_config=model_config)
    try:
        python_model.load_context(context=context)
        return _infer_signature_from_example(_PythonModelWrapper(python_model, context), example)
    except Exception as exc:  # noqa: BLE001 - as MLflow: a model that cannot predict the example still saves
        warnings.warn(
            f"Could not infer a signature from the input example ({type(exc).__name__}: {exc}); "
            "the model is saved without one. Pass signature=... to set it.",
            SignatureInferenceWarning,
            stacklevel=4,
        )
        return None
