"""Custom Python models: :class:`PythonModel`, its context, and the loader for ``python_model.pkl``.

A modelshelf ``PythonModel`` is saved exactly like MLflow's (cloudpickle, ``loader_module:
mlflow.pyfunc.model``). The pickle names modelshelf's base classes by MLflow's names and each
library resolves them to its own (``_mlflow_names``), so stock MLflow loads a model whose class
was pickled by value (defined in a notebook or script) without modelshelf, and modelshelf loads
MLflow-written custom models, type-hinted ones included, without MLflow.
"""

from __future__ import annotations

import bz2
import gzip
import inspect
import lzma
import os
import sys
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any

from modelshelf.errors import (
    MalformedMetadataError,
    ModelLoadWarning,
    ParamsIgnoredWarning,
    TypeHintError,
)
from modelshelf.pyfunc._type_hints import (
    TypeHints,
    extract_type_hints,
    is_list_dict_str,
    is_list_str,
)

__all__ = ["PythonModel", "PythonModelContext"]

_DECOMPRESS: dict[str, Callable[[bytes], bytes]] = {
    "lzma": lzma.decompress,
    "bzip2": bz2.decompress,
    "gzip": gzip.decompress,
}


# Pickles of user models refer to these classes by module path: pin it to the public one so
# saved models keep loading whatever happens to this private module.
class PythonModelContext:
    """What a :class:`PythonModel` gets at load time: artifact paths and the model config.

    Attributes:
        artifacts: ``{name: absolute local path}`` of the artifacts saved with the model.
        model_config: the effective model config (MLmodel ``config`` plus overrides), or None.
    """

    def __init__(
        self, artifacts: dict[str, str] | None, model_config: dict[str, Any] | None
    ) -> None:
        self._artifacts = dict(artifacts or {})
        self._model_config = model_config

    @property
    def artifacts(self) -> dict[str, str]:
        return self._artifacts

    @property
    def model_config(self) -> dict[str, Any] | None:
        return self._model_config

    def __repr__(self) -> str:
        return f"PythonModelContext(artifacts={self._artifacts!r}, model_config={self._model_config!r})"


class PythonModel(ABC):
    """Base class for custom models: override :meth:`predict` (and optionally ``load_context``).

    ``predict`` may be written ``predict(self, context, model_input, params=None)`` or
    ``predict(self, model_input, params=None)``: the context is passed when a parameter is
    literally named ``context``, or when there are exactly two parameters besides ``self`` and
    ``params`` (MLflow's rule). ``params`` is passed only when ``predict`` declares it.
    """

    def load_context(self, context: PythonModelContext) -> None:  # noqa: B027 - optional hook
        """Load artifacts named in ``context.artifacts``; called once when the model loads."""

    @abstractmethod
    def predict(
        self, context: PythonModelContext, model_input: Any, params: dict[str, Any] | None = None
    ) -> Any:
        """Compute predictions for ``model_input`` (abstract, as in MLflow)."""

    @property
    def predict_type_hints(self) -> TypeHints:
        """The type hints of ``predict``'s model input and result, as MLflow reads them.

        A ``list[str]`` or ``list[dict[str, str]]`` input hint makes the loaded model turn a
        DataFrame input into a list (MLflow's rule, so both libraries pass the same value).
        """
        try:
            index = 1 if _wants_context(inspect.signature(self.predict).parameters) else 0
        except (TypeError, ValueError):
            return TypeHints()
        return extract_type_hints(self.predict, index)


def _wants_context(parameters: Any) -> bool:
    return (
        "context" in parameters or len([p for p in parameters if p not in ("self", "params")]) == 2
    )


def _takes_params(func: Callable[..., Any]) -> bool:
    try:
        param = inspect.signature(func).parameters.get("params")
    except (TypeError, ValueError):
        return False
    return param is not None and param.kind is not inspect.Parameter.VAR_KEYWORD


def warn_params_ignored(params: dict[str, Any] | None) -> None:
    if params:
        warnings.warn(
            f"The model's predict does not accept `params`; {params} will be ignored.",
            ParamsIgnoredWarning,
            stacklevel=4,
        )


def _first_string_column(frame: Any) -> Any:
    return next((col for col, val in frame.iloc[0].items() if isinstance(val, str)), None)


class _PythonModelWrapper:
    """The pyfunc implementation of a loaded :class:`PythonModel` (context rule applied)."""

    def __init__(
        self, python_model: Any, context: PythonModelContext, signature: Any = None
    ) -> None:
        self.python_model = python_model
        self.context = context
        self.signature = signature

    def _convert_input(self, model_input: Any) -> Any:
        """MLflow's conversion of a DataFrame for ``list[str]`` / ``list[dict[str, str]]`` hints."""
        pd = sys.modules.get("pandas")
        if pd is None or not isinstance(model_input, pd.DataFrame):
            return model_input
        hints = getattr(self.python_model, "predict_type_hints", None)
        hint = getattr(hints, "input", None)
        if is_list_str(hint):
            column = _first_string_column(model_input)
            if column is None:
                raise TypeHintError.invalid_parameter_value(
                    "Expected model input to contain at least one string column"
                )
            return model_input[column].tolist()
        if is_list_dict_str(hint):
            inputs = getattr(self.signature, "inputs", None)
            if inputs is not None and len(inputs) == 1 and next(iter(inputs)).name is None:
                if column := _first_string_column(model_input):
                    return model_input[[column]].to_dict(orient="records")
                if len(model_input.columns) == 1:
                    return model_input.to_dict("list")[0]
            return model_input.to_dict(orient="records")
        return model_input

    def _call(
        self, method: Callable[..., Any], model_input: Any, params: dict[str, Any] | None
    ) -> Any:
        parameters = inspect.signature(method).parameters
        kwargs: dict[str, Any] = {}
        if "params" in parameters:
            kwargs["params"] = params
        else:
            warn_params_ignored(params)
        if _wants_context(parameters):
            return method(self.context, self._convert_input(model_input), **kwargs)
        return method(self._convert_input(model_input), **kwargs)

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        return self._call(self.python_model.predict, model_input, params)

    def predict_stream(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        return self._call(self.python_model.predict_stream, model_input, params)


def _load_python_model(model_root: Path, conf: dict[str, Any]) -> Any:
    import cloudpickle

    rel = conf.get("python_model")
    if not rel:
        raise MalformedMetadataError(
            f"{model_root / 'MLmodel'}: the python_function flavor names loader "
            "'mlflow.pyfunc.model' but no 'python_model' file; re-save the model."
        )
    saved_cp = conf.get("cloudpickle_version")
    if saved_cp is not None and str(saved_cp) != cloudpickle.__version__:
        warnings.warn(
            f"The model was pickled with cloudpickle {saved_cp} but {cloudpickle.__version__} "
            "is installed; loading may fail or behave differently.",
            ModelLoadWarning,
            stacklevel=4,
        )
    data = (model_root / rel).read_bytes()
    compression = conf.get("python_model_compression")
    if compression:
        try:
            data = _DECOMPRESS[str(compression)](data)
        except KeyError:
            raise MalformedMetadataError(
                f"unknown python_model_compression {compression!r}; expected lzma, bzip2 or gzip"
            ) from None
    from modelshelf.pyfunc._mlflow_names import loads

    return loads(data)


def load_python_model_pyfunc(
    data_path: str, model_config: dict[str, Any] | None = None, *, model_root: str | None = None
) -> _PythonModelWrapper:
    """modelshelf's loader for ``loader_module: mlflow.pyfunc.model``.

    Raises:
        MalformedMetadataError: MLmodel does not name the pickled model.
        ModelshelfError: models-from-code (``model_code_path``) is not supported yet.
    """
    from modelshelf.models._mlmodel import PYFUNC_FLAVOR, Model

    root = Path(model_root or data_path)
    meta = Model.load(root)
    conf = meta.flavors[PYFUNC_FLAVOR]
    if conf.get("model_code_path"):
        from modelshelf.errors import ConfigurationError

        raise ConfigurationError(
            f"{root}: models-from-code (model_code_path) is not supported by modelshelf yet; "
            "load it with mlflow.pyfunc.load_model."
        )
    python_model = _load_python_model(root, conf)
    artifacts = {
        name: os.path.join(str(root), info["path"])
        for name, info in (conf.get("artifacts") or {}).items()
    }
    context = PythonModelContext(artifacts=artifacts, model_config=model_config)
    python_model.load_context(context=context)
    return _PythonModelWrapper(python_model, context, meta.signature)


class _FunctionPythonModel(PythonModel):
    """A plain function saved as a model: ``func(model_input[, params=...])``."""

    def __init__(self, func: Callable[..., Any]) -> None:
        self.func = func

    @property
    def predict_type_hints(self) -> TypeHints:
        return extract_type_hints(self.func, 0)

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:  # type: ignore[override]
        try:
            takes = "params" in inspect.signature(self.func).parameters
        except (TypeError, ValueError):
            takes = False
        return self.func(model_input, params=params) if takes else self.func(model_input)


PythonModel.__module__ = "modelshelf.pyfunc"
PythonModelContext.__module__ = "modelshelf.pyfunc"
_FunctionPythonModel.__module__ = "modelshelf.pyfunc"
