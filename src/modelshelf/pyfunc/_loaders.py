"""Which code loads a model's ``python_function`` flavor.

MLmodel files name MLflow modules (``loader_module: mlflow.pyfunc.model``, ``mlflow.sklearn``…).
modelshelf maps those names to its own loaders through a small table; the flavors layer adds
its entries with :func:`register_loader`. A name with no entry is imported as a module and its
``_load_pyfunc`` called, as MLflow does — the model's ``code/`` directory is first on
``sys.path`` then, so loaders shipped with the model import.

**Trust model**: loading a model runs code. ``python_model.pkl`` is unpickled (arbitrary code),
loader modules and everything under ``code/`` are imported. Load only models you trust, exactly
as with MLflow.
"""

from __future__ import annotations

import importlib
import inspect
import keyword
from collections.abc import Callable
from typing import Any

from modelshelf.errors import AlreadyExistsError, MalformedMetadataError, MissingDependencyError

__all__ = ["Loader", "get_loader", "register_loader"]

#: ``loader(data_path, model_config, *, model_root) -> impl`` where ``impl.predict(input[, params])``.
Loader = Callable[..., Any]

_BUILTIN: dict[str, str] = {
    "mlflow.pyfunc.model": "modelshelf.pyfunc._model:load_python_model_pyfunc",
}
_REGISTERED: dict[str, Loader] = {}


def register_loader(mlflow_module_name: str, loader: Loader, *, clobber: bool = False) -> None:
    """Load models whose MLmodel says ``loader_module: <mlflow_module_name>`` with ``loader``.

    ``loader`` is called as ``loader(data_path, model_config, model_root=<model dir>)`` and
    returns an object with ``predict(model_input[, params])`` (``data_path`` is the flavor's
    ``data``/``model_path`` resolved, or the model root).

    Raises:
        AlreadyExistsError: a loader is registered for that name and ``clobber`` is False.
    """
    if not clobber and mlflow_module_name in _REGISTERED:
        raise AlreadyExistsError(
            f"a loader is already registered for {mlflow_module_name!r}; pass clobber=True to "
            "replace it"
        )
    _REGISTERED[mlflow_module_name] = loader


def check_loader_module(loader_module: object) -> str:
    """``loader_module`` if it is an absolute dotted module name (``pkg.module``).

    Raises:
        MalformedMetadataError: anything else (relative names such as ``..os``, empty parts,
            keywords, non-strings), which MLmodel files written by MLflow never hold.
    """
    parts = loader_module.split(".") if isinstance(loader_module, str) else [""]
    if not all(p.isidentifier() and not keyword.iskeyword(p) for p in parts):
        shown = repr(loader_module) if isinstance(loader_module, str) else type(loader_module)
        raise MalformedMetadataError(
            f"MLmodel's python_function loader_module {str(shown)[:120]} is not an absolute "
            "module name such as 'mlflow.sklearn'; fix the MLmodel file or re-save the model."
        )
    return loader_module  # type: ignore[return-value]


def get_loader(loader_module: str) -> Loader | None:
    """The modelshelf loader mapped to ``loader_module``, or None when there is none.

    Looked up in order: :func:`register_loader` entries, modelshelf's own PythonModel loader,
    then the flavors registry (``mlflow.sklearn`` → modelshelf's sklearn flavor, plugins…).

    Raises:
        MalformedMetadataError: ``loader_module`` is not a module name.
    """
    check_loader_module(loader_module)
    if loader_module in _REGISTERED:
        return _REGISTERED[loader_module]
    target = _BUILTIN.get(loader_module)
    if target is not None:
        mod, _, attr = target.partition(":")
        fn: Loader = getattr(importlib.import_module(mod), attr)
        return fn
    return _flavor_loader(loader_module)


def _flavor_loader(loader_module: str) -> Loader | None:
    try:
        from modelshelf.flavors import pyfunc_loader
    except ImportError:  # the flavors layer is optional for this one
        return None
    flavor_fn = pyfunc_loader(loader_module)
    if flavor_fn is None:
        return None

    def load(data_path: str, model_config: dict[str, Any] | None = None, **_: Any) -> Any:
        return flavor_fn(data_path, model_config)

    return load


def import_loader_module(loader_module: str) -> Loader:
    """Import an MLflow-style loader module and adapt its ``_load_pyfunc`` to :data:`Loader`.

    Raises:
        MalformedMetadataError: ``loader_module`` is not an absolute module name.
        MissingDependencyError: the module cannot be imported or has no ``_load_pyfunc``.
    """
    check_loader_module(loader_module)
    try:
        module = importlib.import_module(loader_module)
    except ImportError as exc:
        hint = (
            "install mlflow (`pip install mlflow`) or a modelshelf flavor that maps it"
            if loader_module.split(".", 1)[0] == "mlflow"
            else "ship it in the model's code/ directory (code_paths=...) or install the "
            "package that provides it"
        )
        raise MissingDependencyError(
            f"cannot import the model's loader_module {loader_module!r} ({exc}); {hint}."
        ) from exc
    fn = getattr(module, "_load_pyfunc", None)
    if fn is None:
        raise MissingDependencyError(
            f"loader_module {loader_module!r} has no _load_pyfunc(data_path[, model_config]) "
            "function."
        )

    def load(data_path: str, model_config: dict[str, Any] | None = None, **_: Any) -> Any:
        # MLflow passes the config only when it is truthy; loaders may take one argument.
        if model_config:
            return fn(data_path, model_config)
        return fn(data_path)

    load.__wrapped__ = fn  # type: ignore[attr-defined]
    load.__signature__ = inspect.signature(load)  # type: ignore[attr-defined]
    return load
