"""What every built-in flavor does around its framework: the model folder, example, signature,
environment files and the ``python_function`` block, laid out as MLflow 3.17 lays them out.

A flavor's ``save_model`` is ``with staged_model_dir(path) as root: ...write files...;
finish(...)``: the model is built in a hidden sibling folder and renamed into place, so ``path``
never holds half a model, and an existing non-empty ``path`` is refused (write-once).
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import os
import shutil
import sys
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from modelshelf.errors import (
    AlreadyExistsError,
    InvalidInputError,
    InvalidURIError,
    MalformedMetadataError,
    NotFoundError,
    SignatureInferenceWarning,
)
from modelshelf.models._mlmodel import MLMODEL_FILE_NAME, PYFUNC_FLAVOR, Model

__all__ = [
    "open_flavor",
    "PathLike",
    "Requirements",
    "add_code_to_sys_path",
    "add_pyfunc_flavor",
    "class_from_string",
    "copy_code_paths",
    "copy_extra_files",
    "flavor_conf",
    "fully_qualified_class_name",
    "local_model_dir",
    "pinned",
    "save_example_and_signature",
    "staged_model_dir",
    "write_model",
]

PathLike = str | os.PathLike[str]
Requirements = PathLike | Sequence[str] | None

_CONDA_ENV = "conda.yaml"
_PYTHON_ENV = "python_env.yaml"
CODE_DIR = "code"
EXTRA_FILES_DIR = "extra_files"


@contextlib.contextmanager
def staged_model_dir(path: PathLike) -> Iterator[Path]:
    """Yield an empty staging folder that becomes ``path`` when the block ends without error.

    Raises:
        AlreadyExistsError: ``path`` exists and is not an empty directory (checked before and,
            race-free, at the final rename).
    """
    target = Path(path).absolute()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise AlreadyExistsError(
            f"Path '{target}' already exists and is not empty; models are write-once, so save "
            "to a new path (or delete this one first)."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:12]}"
    staging.mkdir()
    try:
        yield staging
        try:
            os.rename(staging, target)  # replaces only an empty directory
        except OSError as exc:
            raise AlreadyExistsError(
                f"Path '{target}' was filled by someone else while the model was being saved."
            ) from exc
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def copy_code_paths(code_paths: Sequence[PathLike] | None, root: Path) -> str | None:
    """Copy each file/folder of ``code_paths`` to ``<root>/code/<basename>``; ``"code"`` or None.

    Raises:
        InvalidInputError: ``code_paths`` is not a list of existing local paths, or two entries
            share a basename.
    """
    if code_paths is None:
        return None
    if isinstance(code_paths, (str, os.PathLike)):
        raise InvalidInputError(
            f"code_paths must be a list of paths, got the single path {os.fspath(code_paths)!r}; "
            "wrap it in a list."
        )
    dest = root / CODE_DIR
    dest.mkdir(exist_ok=True)
    for item in code_paths:
        src = Path(item)
        if not src.exists():
            raise InvalidInputError(f"code path '{src}' does not exist.")
        target = dest / src.absolute().name
        if target.exists():
            raise InvalidInputError(
                f"two code paths share the name '{target.name}'; rename one of them."
            )
        if src.is_dir():
            shutil.copytree(src, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, target)
    return CODE_DIR


def copy_extra_files(extra_files: Sequence[PathLike] | None, root: Path) -> dict[str, Any]:
    """Copy local files to ``<root>/extra_files/<basename>``; the flavor-section entry for them.

    Returns ``{}`` or ``{"extra_files": [{"path": "extra_files/<name>"}, ...]}`` (MLflow's key).

    Raises:
        InvalidInputError: not a list, a missing file, or two files with one basename.
    """
    if not extra_files:
        return {}
    if not isinstance(extra_files, list):
        raise InvalidInputError("extra_files must be a list of file paths.")
    dest = root / EXTRA_FILES_DIR
    dest.mkdir()
    entries = []
    for item in extra_files:
        src = Path(item)
        if not src.is_file():
            raise InvalidInputError(
                f"extra file '{src}' is not a local file (download remote files first)."
            )
        if (dest / src.name).exists():
            raise InvalidInputError(f"two extra files share the name '{src.name}'.")
        shutil.copy(src, dest / src.name)
        entries.append({"path": f"{EXTRA_FILES_DIR}/{src.name}"})
    return {EXTRA_FILES_DIR: entries}


def add_pyfunc_flavor(
    model: Model,
    loader_module: str,
    *,
    data: str | None = None,
    code: str | None = None,
    model_config: dict[str, Any] | None = None,
    **extra: Any,
) -> None:
    """Write the ``python_function`` block as MLflow's ``pyfunc.add_to_model`` does."""
    conf: dict[str, Any] = dict(extra)
    conf["loader_module"] = loader_module
    conf["python_version"] = ".".join(str(x) for x in sys.version_info[:3])
    if code:
        conf["code"] = code
    if data:
        conf["data"] = data
    conf["env"] = {"conda": _CONDA_ENV, "virtualenv": _PYTHON_ENV}
    if model_config:
        conf["config"] = model_config
    model.add_flavor(PYFUNC_FLAVOR, **conf)


def save_example_and_signature(
    model: Model,
    root: Path,
    *,
    input_example: Any,
    signature: Any,
    predict: Callable[[Any, dict[str, Any] | None], Any] | None,
) -> None:
    """Save the input example and set ``model.signature`` (inferring it by predicting on the example).

    ``signature=False`` means "no signature, do not infer". Inference mirrors MLflow's flavors:
    the input schema comes from the example, the example is enforced against it, ``predict``
    runs on it, and a 1-D ndarray output of a column-based input becomes one unnamed column.
    A model that cannot predict on its example is still saved, without a signature, with a
    :class:`~modelshelf.errors.SignatureInferenceWarning`.

    Raises:
        InvalidInputError: the example's type is not supported.
    """
    from modelshelf.models._input_example import save_input_example

    save_input_example(model, input_example, root)
    if signature is False:
        model.signature = None
        return
    if signature is None and input_example is not None and predict is not None:
        signature = _infer_from_example(input_example, predict)
    model.signature = signature


def _infer_from_example(example: Any, predict: Callable[[Any, dict[str, Any] | None], Any]) -> Any:
    from modelshelf.models._enforce import enforce_input, enforce_params
    from modelshelf.models._infer import infer_signature
    from modelshelf.models._input_example import split_input_and_params

    data, params = split_input_and_params(example)
    try:
        probe = infer_signature(data, None, params)
        fed = enforce_input(copy.deepcopy(data), probe.inputs) if probe.inputs is not None else data
        fed_params = enforce_params(params, probe.params) if params else params
        prediction = predict(fed, fed_params)
        return infer_signature(data, prediction, params, output_1d_as_column=True)
    except Exception as exc:  # as MLflow: a model that cannot predict its example still saves
        warnings.warn(
            f"Could not infer a signature from the input example ({type(exc).__name__}: {exc}); "
            "the model is saved without one. Pass signature=... to set it.",
            SignatureInferenceWarning,
            stacklevel=4,
        )
        return None


def pinned(distribution: str) -> str:
    """``name==version`` for an installed distribution (local ``+label`` dropped), else the name."""
    from modelshelf.models._environment import installed_version

    version = installed_version(distribution)
    return f"{distribution}=={version.split('+', 1)[0]}" if version else distribution


def write_model(
    model: Model,
    root: Path,
    *,
    defaults: Sequence[str],
    modules: Iterable[str] = (),
    pickles: Iterable[bytes | PathLike] = (),
    pip_requirements: Requirements = None,
    extra_pip_requirements: Requirements = None,
    conda_env: PathLike | dict[str, Any] | None = None,
) -> Model:
    """Record ``model_size_bytes``, write ``MLmodel`` and the environment files; return ``model``.

    Requirements are inferred in-process (the modules the pickles refer to plus ``modules``,
    union ``defaults``) unless the caller gave ``pip_requirements`` or ``conda_env``.

    Raises:
        InvalidInputError: conflicting or unreadable requirement arguments.
    """
    from modelshelf.models._environment import infer_pip_requirements, write_environment

    size = 0
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            size += os.path.getsize(os.path.join(dirpath, f))
    if size:
        model.model_size_bytes = size
    inferred: list[str] = list(defaults)
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


def local_model_dir(model_uri: PathLike) -> Path:
    """The local model directory a URI names.

    Local paths and ``file://`` URIs are used in place; ``runs:/``, ``models:/`` (versions,
    ``@alias``, ``latest``), ``sha256:`` and remote folder URLs go through the one resolver,
    :func:`modelshelf.uri.local_model_dir`, which materialises them in the verified cache.

    Raises:
        InvalidURIError: a malformed URI.
        NotFoundError: nothing at that path / URI.
    """
    s = os.fspath(model_uri)
    parsed = urlparse(s)
    if parsed.scheme == "file":
        s = unquote(parsed.path)
    elif parsed.scheme and len(parsed.scheme) > 1:  # one letter: a Windows drive
        try:
            from modelshelf.uri import local_model_dir as resolve
        except ImportError as exc:  # pragma: no cover - the uri layer ships with modelshelf
            raise InvalidURIError(f"cannot resolve {s!r}: {exc}") from exc
        return Path(resolve(s))
    root = Path(s)
    if not root.is_dir():
        raise NotFoundError(f"No model directory at '{root}'.")
    return root


def flavor_conf(root: Path, flavor: str) -> tuple[Model, dict[str, Any]]:
    """Read ``MLmodel`` under ``root`` and return it with its ``flavor`` section.

    Raises:
        NotFoundError: no MLmodel.
        MalformedMetadataError: the MLmodel is invalid or has no such flavor.
    """
    meta = Model.load(root)
    conf = meta.flavors.get(flavor)
    if conf is None:
        raise MalformedMetadataError(
            f'Model does not have the "{flavor}" flavor (it has {sorted(meta.flavors)}); '
            f"load it with the loader of one of those."
        )
    return meta, dict(conf)


def open_flavor(model_uri: PathLike, flavor: str) -> tuple[Path, dict[str, Any]]:
    """What every flavor's ``load_model`` starts with: the local model folder for ``model_uri``,
    its ``flavor`` block, and its ``code/`` put on ``sys.path``.

    Raises:
        NotFoundError: nothing at ``model_uri``.
        MalformedMetadataError: the model has no ``flavor`` block.
    """
    root = local_model_dir(model_uri)
    _meta, conf = flavor_conf(root, flavor)
    add_code_to_sys_path(root, conf)
    return root, conf


def add_code_to_sys_path(root: Path, conf: dict[str, Any]) -> None:
    """Put the model's ``code/`` folder first on ``sys.path`` when the flavor names one."""
    code = conf.get("code")
    if not code:
        return
    code_dir = str((root / str(code)).resolve())
    if code_dir in sys.path:
        sys.path.remove(code_dir)
    sys.path.insert(0, code_dir)
    importlib.invalidate_caches()


def fully_qualified_class_name(obj: Any) -> str:
    """``module.Class`` of ``obj``, as MLflow records ``model_class``."""
    cls = type(obj)
    return f"{cls.__module__}.{cls.__name__}"


def class_from_string(path: str) -> Any:
    """Import ``module.Class``.

    Raises:
        MalformedMetadataError: the class cannot be found.
    """
    module_name, _, name = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise MalformedMetadataError(
            f"model_class {path!r} cannot be imported ({exc}); install the library version the "
            "model was saved with."
        ) from exc
