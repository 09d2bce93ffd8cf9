"""Loading a model directory as a :class:`PyFuncModel` (docs/explanation/mlflow-format.md §7)."""

from __future__ import annotations

import importlib
import inspect
import json
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import yaml

from modelshelf.errors import (
    ConfigurationError,
    InvalidInputError,
    MalformedMetadataError,
    ModelLoadWarning,
)
from modelshelf.models._mlmodel import PYFUNC_FLAVOR, Model
from modelshelf.pyfunc._loaders import get_loader, import_loader_module
from modelshelf.pyfunc._model import warn_params_ignored

__all__ = ["PyFuncModel", "load_model_from_dir"]

# MLflow's own variable: JSON overrides of the model config, applied before the argument.
_INFERENCE_CONFIG_ENV = "MLFLOW_PYFUNC_INFERENCE_CONFIG"
_UNREAD = object()


class PyFuncModel:
    """A loaded model with MLflow's pyfunc ``predict`` contract.

    Attributes:
        metadata: the :class:`~modelshelf.models.Model` read from ``MLmodel``.
        loader_module: the ``loader_module`` named in MLmodel (an MLflow name, possibly).
        model_path: the local model directory.
    """

    def __init__(
        self,
        metadata: Model,
        model_impl: Any,
        *,
        model_path: str | None = None,
        predict_fn: str = "predict",
    ) -> None:
        if not hasattr(model_impl, predict_fn):
            raise ConfigurationError(
                f"Model implementation is missing required {predict_fn} method."
            )
        self._meta = metadata
        self._impl = model_impl
        self._predict_fn = getattr(model_impl, predict_fn)
        self.model_path = model_path
        self._example: Any = _UNREAD

    @property
    def metadata(self) -> Model:
        return self._meta

    @property
    def loader_module(self) -> str | None:
        conf = self._meta.flavors.get(PYFUNC_FLAVOR) or {}
        value = conf.get("loader_module")
        return str(value) if value is not None else None

    @property
    def model_config(self) -> dict[str, Any] | None:
        ctx = getattr(self._impl, "context", None)
        return getattr(ctx, "model_config", None)

    @property
    def input_example(self) -> Any:
        """The saved input example, or None (also None when it cannot be read)."""
        if self.model_path is None:
            return None
        try:
            return self._meta.load_input_example(self.model_path)
        except Exception:  # noqa: BLE001 - best effort, as MLflow: a bad example never breaks loading
            return None

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        """Predict, enforcing the signature as MLflow does (§7–8); outputs are returned as is.

        Unless the signature came from type hints, ``data`` is checked and converted against
        ``signature.inputs`` and ``params`` against ``signature.params`` (defaults filled in,
        unknown params dropped with a warning). ``params`` reach the model only when its
        ``predict`` declares a ``params`` parameter; otherwise they are dropped with a warning.

        Raises:
            SchemaEnforcementError: the input or the params do not match the signature.
        """
        sig = self._meta.signature
        if sig is not None:
            from modelshelf.models._enforce import enforce_input, enforce_params

            if not self._meta.is_signature_from_type_hint and sig.inputs is not None:
                data = enforce_input(data, sig.inputs)
                if self._meta.type_hint_from_example:
                    data = self._as_example(data)
            params = enforce_params(params, getattr(sig, "params", None))
        elif params:
            from modelshelf.models._enforce import enforce_params

            params = enforce_params(params, None)
        try:
            arg = inspect.signature(self._predict_fn).parameters.get("params")
        except (TypeError, ValueError):
            arg = None
        if arg is not None and arg.kind is not inspect.Parameter.VAR_KEYWORD:
            return self._predict_fn(data, params=params)
        warn_params_ignored(params)
        return self._predict_fn(data)

    def _as_example(self, data: Any) -> Any:
        """A ``TypeFromExample`` model gets its input back in the input example's shape."""
        import pandas as pd

        if not isinstance(data, pd.DataFrame):
            return data
        if self._example is _UNREAD:
            self._example = self.input_example  # read once: predict may be called often
        example = self._example
        if example is None:
            return data
        from modelshelf.pyfunc._type_hints import convert_dataframe_to_example_format

        return convert_dataframe_to_example_format(data, example)

    def predict_stream(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        """Stream predictions from a model saved with ``streamable: true``.

        Raises:
            ConfigurationError: the model is not streamable.
            SchemaEnforcementError: the params do not match the signature.
        """
        conf = self._meta.flavors.get(PYFUNC_FLAVOR) or {}
        fn = getattr(self._impl, str(conf.get("predict_stream_fn") or "predict_stream"), None)
        if not conf.get("streamable") or fn is None:
            raise ConfigurationError(
                "This model does not support predict_stream (streamable is not true)."
            )
        from modelshelf.models._enforce import enforce_params

        sig = self._meta.signature
        params = enforce_params(params, getattr(sig, "params", None) if sig is not None else None)
        if "params" in inspect.signature(fn).parameters:
            return fn(data, params=params)
        warn_params_ignored(params)
        return fn(data)

    def unwrap_python_model(self) -> Any:
        """The user's :class:`PythonModel` instance behind this model.

        Raises:
            ConfigurationError: the model is not a custom PythonModel.
        """
        inner = getattr(self._impl, "python_model", None)
        if inner is None:
            raise ConfigurationError(
                "unwrap_python_model() works only for models saved from a PythonModel "
                f"(loader_module mlflow.pyfunc.model); this one uses {self.loader_module!r}."
            )
        return inner

    def get_raw_model(self) -> Any:
        """The object the loader returned (the flavor's native model, or the wrapper)."""
        return self._impl

    def __repr__(self) -> str:
        return f"PyFuncModel(loader_module={self.loader_module!r}, path={self.model_path!r})"


def _read_config_arg(
    model_config: dict[str, Any] | str | os.PathLike[str] | None,
) -> dict[str, Any] | None:
    if model_config is None or isinstance(model_config, dict):
        return model_config
    path = Path(model_config)
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInputError(f"model_config file '{path}' cannot be read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise InvalidInputError(f"model_config file '{path}' is not valid YAML: {exc}") from exc
    if loaded is not None and not isinstance(loaded, dict):
        raise InvalidInputError(f"model_config file '{path}' must hold a YAML mapping")
    return loaded


def effective_model_config(
    saved: dict[str, Any] | None, model_config: dict[str, Any] | str | os.PathLike[str] | None
) -> dict[str, Any] | None:
    """MLflow's override rule: only keys already in the saved config may be overridden.

    Raises:
        InvalidInputError: the env variable or the config file is not valid JSON/YAML.
    """
    overrides: dict[str, Any] = {}
    if env := os.environ.get(_INFERENCE_CONFIG_ENV):
        try:
            overrides.update(dict(json.loads(env)))
        except (ValueError, TypeError) as exc:
            raise InvalidInputError(
                f"{_INFERENCE_CONFIG_ENV} must be a JSON object: {exc}"
            ) from exc
    overrides.update(_read_config_arg(model_config) or {})
    if not overrides:
        return saved
    if not saved:
        warnings.warn(
            f"model_config keys {sorted(overrides)} were ignored: the model was saved without a "
            "model_config, so it accepts none. Save it with model_config=... to allow them.",
            ModelLoadWarning,
            stacklevel=4,
        )
        return None
    ignored = sorted(set(overrides) - set(saved))
    if ignored:
        warnings.warn(
            f"model_config keys {ignored} were ignored: only keys saved with the model "
            f"({sorted(saved)}) can be overridden.",
            ModelLoadWarning,
            stacklevel=4,
        )
    merged = dict(saved)
    merged.update({k: v for k, v in overrides.items() if k in saved})
    return merged


def _check_python_version(conf: dict[str, Any]) -> None:
    saved = conf.get("python_version")
    if not saved:
        return
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    if ".".join(str(saved).split(".")[:2]) != here:
        warnings.warn(
            f"The model was saved with Python {saved}; this is Python {sys.version.split()[0]}. "
            "Pickled parts may fail to load or behave differently.",
            ModelLoadWarning,
            stacklevel=4,
        )


def _prepend_code_dir(root: Path, code: Any, loader_module: str) -> None:
    code_dir = str((root / str(code)).resolve())
    top = loader_module.split(".", 1)[0]
    cached = sys.modules.get(top)
    if cached is not None:
        origin = getattr(cached, "__file__", None) or ""
        if (
            origin
            and not origin.startswith(code_dir)
            and ((Path(code_dir) / f"{top}.py").exists() or (Path(code_dir) / top).is_dir())
        ):
            # Another model's same-named loader is cached; this model ships its own.
            for name in [n for n in sys.modules if n == top or n.startswith(top + ".")]:
                del sys.modules[name]
    if code_dir in sys.path:
        sys.path.remove(code_dir)
    sys.path.insert(0, code_dir)
    importlib.invalidate_caches()


def load_model_from_dir(
    path: str | os.PathLike[str],
    model_config: dict[str, Any] | str | os.PathLike[str] | None = None,
    *,
    suppress_warnings: bool = False,
) -> PyFuncModel:
    """Load the local model directory ``path`` as a :class:`PyFuncModel` (MLflow's §7 steps).

    Loading runs code (unpickling, loader modules, ``code/``): load only trusted models.

    Args:
        path: the model directory (holding ``MLmodel``).
        model_config: overrides for the saved model config (dict or YAML file path); only keys
            saved with the model apply.
        suppress_warnings: skip the requirements / Python version checks.

    Raises:
        NotFoundError: no MLmodel at ``path``.
        MalformedMetadataError: MLmodel is invalid or has no ``python_function`` flavor.
        MissingDependencyError: the loader module cannot be imported.
        ConfigurationError: the model is stored externally, or its implementation has no
            predict method.
    """
    root = Path(path).resolve()
    meta = Model.load(root)
    mlmodel = root / "MLmodel"
    if isinstance(meta.metadata, dict) and meta.metadata.get("mlflow.model.isExternal") is True:
        raise ConfigurationError(
            f"{mlmodel}: the model is marked as stored externally (mlflow.model.isExternal); "
            "its files are not in this directory, so it cannot be loaded."
        )
    conf = meta.flavors.get(PYFUNC_FLAVOR)
    if conf is None:
        raise MalformedMetadataError(
            f'{mlmodel}: Model does not have the "python_function" flavor (it has '
            f"{sorted(meta.flavors)}); load it with that flavor's own loader."
        )
    loader_module = conf.get("loader_module")
    if not isinstance(loader_module, str) or not loader_module:
        raise MalformedMetadataError(
            f"{mlmodel}: the python_function flavor has no 'loader_module'; re-save the model."
        )
    if not suppress_warnings:
        from modelshelf.models._environment import _warn_mismatched_requirements

        _warn_mismatched_requirements(root)
        _check_python_version(conf)
    if conf.get("code"):
        _prepend_code_dir(root, conf["code"], loader_module)
    # Like MLflow: `data` (if set) else the model root; flavors using `model_path` read it
    # themselves from the root.
    data_rel = conf.get("data")
    data_path = str(root / str(data_rel)) if data_rel else str(root)
    config = effective_model_config(conf.get("config"), model_config)
    loader = get_loader(loader_module) or import_loader_module(loader_module)
    impl = loader(data_path, config, model_root=str(root))
    predict_fn = str(conf.get("predict_fn") or "predict")
    return PyFuncModel(meta, impl, model_path=str(root), predict_fn=predict_fn)
