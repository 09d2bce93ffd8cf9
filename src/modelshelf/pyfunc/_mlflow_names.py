"""``python_model.pkl`` between MLflow and modelshelf: each library resolves the base classes to
its own, so neither needs the other installed (docs/how-to/migrate-from-mlflow.md).

*Reading.* A class the user defined in a notebook or script is pickled by value (cloudpickle),
with MLflow's ``PythonModel`` as a base *named* in the stream, and MLflow's type-hint wrapper
around ``predict`` naming a few more MLflow objects. :class:`ShelfUnpickler` resolves exactly
those names (:data:`MLFLOW_NAMES`, read from MLflow 3.x's source) to the equivalents below; any
other ``mlflow`` name still needs MLflow and fails with a :class:`MissingDependencyError`.

*Writing.* :func:`dumps` pickles modelshelf's base classes as ``pkgutil.resolve_name(
"mlflow.pyfunc.model:PythonModel")`` (a standard-library call): stock MLflow's plain unpickling
then gets MLflow's class, and :class:`ShelfUnpickler` maps the same name to modelshelf's. Only
these stand-ins are renamed; anything else of modelshelf's the model holds (a loaded model, a
client…) stays a reference to modelshelf, and ``requirements.txt`` then lists modelshelf.
"""

from __future__ import annotations

import inspect
import io
import pickle
import pkgutil
import sys
import types
import typing
from typing import Any

from modelshelf.errors import ConfigurationError, MissingDependencyError, TypeHintError
from modelshelf.pyfunc import _type_hints
from modelshelf.pyfunc._model import (
    PythonModel,
    PythonModelContext,
    _FunctionPythonModel,
    _wants_context,
)

__all__ = ["MLFLOW_NAMES", "ShelfUnpickler", "dumps", "loads", "renamed_classes"]

_MODULE = "modelshelf.pyfunc._mlflow_names"


class MlflowPythonModel(PythonModel):
    """``mlflow.pyfunc.model.PythonModel`` as modelshelf unpickles it: MLflow's base behaviour
    (a concrete no-op ``predict``, hints read from ``predict``'s annotations and cached)."""

    def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        """MLflow's base ``predict`` is abstract in name only; subclasses override it."""
        return None

    def predict_stream(
        self, context: Any, model_input: Any, params: dict[str, Any] | None = None
    ) -> Any:
        raise ConfigurationError(
            f"{type(self).__name__} does not implement predict_stream; define it in the model's "
            "class to stream predictions"
        )

    @property
    def predict_type_hints(self) -> _type_hints.TypeHints:
        cached = self.__dict__.get("_predict_type_hints")
        if cached is not None:
            return typing.cast(_type_hints.TypeHints, cached)
        try:
            index = 1 if _wants_context(inspect.signature(self.predict).parameters) else 0
        except (TypeError, ValueError):
            index = 0
        hints = _type_hints.extract_type_hints(self.predict, index)
        self._predict_type_hints = hints
        return hints


class MlflowFunctionPythonModel(MlflowPythonModel):
    """``mlflow.pyfunc.model._FunctionPythonModel``: a function saved as a model; MLflow calls
    it with the input only."""

    def __init__(self, func: Any, signature: Any = None) -> None:
        self.func = func
        self.signature = signature

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:  # type: ignore[override]
        return self.func(model_input)

    @property
    def predict_type_hints(self) -> _type_hints.TypeHints:
        cached = self.__dict__.get("_predict_type_hints")
        if cached is None:
            cached = self._predict_type_hints = _type_hints.extract_type_hints(self.func, 0)
        return typing.cast(_type_hints.TypeHints, cached)


MlflowPythonModel.__module__ = _MODULE
MlflowFunctionPythonModel.__module__ = _MODULE

#: MLflow 3.x names found in ``python_model.pkl`` (mlflow/pyfunc/model.py,
#: mlflow/pyfunc/utils/data_validation.py, mlflow/models/signature.py) → modelshelf's objects.
MLFLOW_NAMES: dict[tuple[str, str], Any] = {
    ("mlflow.pyfunc.model", "PythonModel"): MlflowPythonModel,
    ("mlflow.pyfunc.model", "PythonModelContext"): PythonModelContext,
    ("mlflow.pyfunc.model", "_FunctionPythonModel"): MlflowFunctionPythonModel,
    ("mlflow.models.signature", "_TypeHints"): _type_hints.TypeHints,
    ("mlflow.pyfunc.utils.data_validation", "FuncInfo"): _type_hints.FuncInfo,
    ("mlflow.pyfunc.utils.data_validation", "_validate_model_input"): (
        _type_hints.validate_model_input
    ),
    ("mlflow.exceptions", "MlflowException"): TypeHintError,
    ("mlflow.types.type_hints", "TypeFromExample"): _type_hints.TypeFromExample,
}

# cloudpickle pickles an importable TypeVar as getattr(subimport("<module>"), "<name>"): where
# the module cannot be imported, these stand-ins answer for it.
_STAND_IN_MODULES: dict[str, dict[str, Any]] = {
    "mlflow.types.type_hints": {"TypeFromExample": _type_hints.TypeFromExample},
}

# What dumps() writes for modelshelf's objects; the reverse of MLFLOW_NAMES (plus the public
# base class), so a model loaded from MLflow and saved again names MLflow's classes again.
_WRITE_AS: dict[Any, str] = {
    PythonModel: "mlflow.pyfunc.model:PythonModel",
    MlflowPythonModel: "mlflow.pyfunc.model:PythonModel",
    PythonModelContext: "mlflow.pyfunc.model:PythonModelContext",
    MlflowFunctionPythonModel: "mlflow.pyfunc.model:_FunctionPythonModel",
    _type_hints.TypeHints: "mlflow.models.signature:_TypeHints",
    _type_hints.FuncInfo: "mlflow.pyfunc.utils.data_validation:FuncInfo",
    _type_hints.validate_model_input: "mlflow.pyfunc.utils.data_validation:_validate_model_input",
    TypeHintError: "mlflow.exceptions:MlflowException",
    _type_hints.TypeFromExample: "mlflow.types.type_hints:TypeFromExample",
}


def _subimport(name: str) -> Any:
    """cloudpickle's ``subimport``, with stand-ins for MLflow modules that cannot be imported."""
    try:
        __import__(name)
    except ImportError as exc:
        attrs = _STAND_IN_MODULES.get(name)
        if attrs is None:
            if name.split(".", 1)[0] != "mlflow":
                raise
            raise _needs_mlflow(name, exc) from exc
        module = types.ModuleType(name, "modelshelf's stand-in: only the names pickles refer to")
        module.__dict__.update(attrs)
        return module
    return sys.modules[name]


def _resolve_name(spec: str) -> Any:
    """``pkgutil.resolve_name`` as seen by :class:`ShelfUnpickler`: MLflow's names first."""
    module, _, name = spec.partition(":")
    found = MLFLOW_NAMES.get((module, name))
    return found if found is not None else pkgutil.resolve_name(spec)


def _needs_mlflow(what: str, exc: ImportError) -> MissingDependencyError:
    return MissingDependencyError(
        f"the pickled model refers to {what}, which only MLflow provides ({exc}); install "
        "mlflow (`pip install mlflow`) to load this model."
    )


class ShelfUnpickler(pickle.Unpickler):
    """An unpickler for cloudpickle streams that resolves :data:`MLFLOW_NAMES` to modelshelf."""

    def find_class(self, module: str, name: str) -> Any:
        found = MLFLOW_NAMES.get((module, name))
        if found is not None:
            return found
        if (module, name) == ("pkgutil", "resolve_name"):
            return _resolve_name
        if (module, name) == ("cloudpickle.cloudpickle", "subimport"):
            return _subimport
        try:
            return super().find_class(module, name)
        except ImportError as exc:
            if module.split(".", 1)[0] != "mlflow":
                raise
            raise _needs_mlflow(f"{module}.{name}", exc) from exc


def loads(data: bytes) -> Any:
    """Unpickle a ``python_model.pkl`` stream with :class:`ShelfUnpickler`.

    Raises:
        MissingDependencyError: the pickle needs an MLflow object modelshelf does not map.
    """
    return ShelfUnpickler(io.BytesIO(data)).load()


def _renames_for(obj: Any) -> dict[Any, str]:
    table = dict(_WRITE_AS)
    # modelshelf passes params to a function that declares them, MLflow never does: such a
    # function model keeps modelshelf's class (and needs modelshelf to load).
    func = getattr(obj, "func", None)
    if isinstance(obj, _FunctionPythonModel) and not _takes_params(func):
        table[_FunctionPythonModel] = "mlflow.pyfunc.model:_FunctionPythonModel"
    return table


def _takes_params(func: Any) -> bool:
    try:
        return "params" in inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False


def dumps(obj: Any) -> bytes:
    """cloudpickle ``obj``, naming modelshelf's base classes by MLflow's names (see above)."""
    import cloudpickle

    renames = _renames_for(obj)

    class _Pickler(cloudpickle.Pickler):  # type: ignore[misc]  # cloudpickle is untyped
        def reducer_override(self, value: Any) -> Any:
            if isinstance(value, (type, types.FunctionType, typing.TypeVar)):
                try:
                    spec = renames.get(value)
                except TypeError:  # a metaclass may make its classes unhashable
                    spec = None
                if spec is not None:
                    return pkgutil.resolve_name, (spec,)
            return super().reducer_override(value)

    buf = io.BytesIO()
    _Pickler(buf, protocol=cloudpickle.DEFAULT_PROTOCOL).dump(obj)
    return buf.getvalue()


def renamed_classes(obj: Any) -> set[type]:
    """The classes :func:`dumps` writes under MLflow's names when it pickles ``obj``."""
    return {k for k in _renames_for(obj) if isinstance(k, type)}
