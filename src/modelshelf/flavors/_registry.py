"""The lazy flavor registry: built-in flavors, ``modelshelf.flavors`` entry points, explicit ones.

Three sources, looked up in this order:

1. flavors passed to :func:`register_flavor` (a module, any object, or a dotted path to import
   on first use);
2. the built-in table :data:`BUILTIN_FLAVORS` (dotted module paths plus the extra that installs
   the framework; nothing is imported until a flavor is asked for);
3. entry points in the group ``modelshelf.flavors`` of installed distributions, read once and
   cached (:func:`refresh_entry_points` re-reads them after an install in the same process).

A built-in name cannot be taken by an entry point: a plugin that wants ``sklearn`` must say so
with ``register_flavor("sklearn", obj, clobber=True)``.

MLflow's loader modules (``python_function.loader_module`` in an MLmodel written by MLflow or by
us) map to flavors through :data:`MLFLOW_LOADER_MODULES`; plugin flavors add their own names with
a ``LOADER_MODULES`` attribute. :func:`pyfunc_loader` turns a loader-module name into the
``_load_pyfunc`` callable of the flavor that handles it, without importing the module named in
the file (importing runs code).
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from modelshelf.errors import (
    AlreadyExistsError,
    InvalidNameError,
    MissingDependencyError,
    NotFoundError,
)

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

__all__ = [
    "BUILTIN_FLAVORS",
    "ENTRY_POINT_GROUP",
    "MLFLOW_LOADER_MODULES",
    "BuiltinFlavor",
    "Flavor",
    "available_flavors",
    "flavor_for_loader_module",
    "get_flavor",
    "install_hint",
    "pyfunc_loader",
    "refresh_entry_points",
    "register_flavor",
    "register_pyfunc_loaders",
    "require",
    "unregister_flavor",
]

ENTRY_POINT_GROUP = "modelshelf.flavors"


@runtime_checkable
class Flavor(Protocol):
    """What a flavor provides (a module or any object with these attributes).

    Optional extras a flavor may also define: ``FLAVOR_NAME`` (the key of its section in
    ``MLmodel``), ``LOADER_MODULES`` (the ``python_function.loader_module`` names it loads, e.g.
    ``("mlflow.catboost",)``), ``_load_pyfunc(path, model_config=None)`` (returns an object with
    ``predict(data, params=None)``) and ``get_default_pip_requirements()``.
    """

    def save_model(self, model: Any, path: Any, **kwargs: Any) -> Any:
        """Write ``model`` as an MLflow-format model directory at ``path``."""
        ...

    def load_model(self, model_uri: Any, **kwargs: Any) -> Any:
        """Load the native object back."""
        ...


@dataclass(frozen=True, slots=True)
class BuiltinFlavor:
    """A flavor shipped with modelshelf: where it lives and what installs its framework."""

    module: str
    extra: str
    packages: tuple[str, ...]

    @property
    def hint(self) -> str:
        """The install command that makes this flavor usable."""
        return f"pip install 'modelshelf[{self.extra}]'"


#: Sorted by name. Importing a flavor module never imports its framework.
BUILTIN_FLAVORS: dict[str, BuiltinFlavor] = {
    "lightgbm": BuiltinFlavor("modelshelf.flavors.lightgbm", "lightgbm", ("lightgbm",)),
    "onnx": BuiltinFlavor("modelshelf.flavors.onnx", "onnx", ("onnx", "onnxruntime")),
    "pytorch": BuiltinFlavor("modelshelf.flavors.pytorch", "pytorch", ("torch",)),
    "sklearn": BuiltinFlavor("modelshelf.flavors.sklearn", "sklearn", ("sklearn", "skops")),
    "transformers": BuiltinFlavor(
        "modelshelf.flavors.transformers", "transformers", ("transformers", "torch")
    ),
    "xgboost": BuiltinFlavor("modelshelf.flavors.xgboost", "xgboost", ("xgboost",)),
}

#: ``python_function.loader_module`` values MLflow writes → the built-in flavor that loads them.
MLFLOW_LOADER_MODULES: dict[str, str] = {
    "mlflow.lightgbm": "lightgbm",
    "mlflow.onnx": "onnx",
    "mlflow.pytorch": "pytorch",
    "mlflow.sklearn": "sklearn",
    "mlflow.transformers": "transformers",
    "mlflow.xgboost": "xgboost",
}

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")

_lock = threading.RLock()
_explicit: dict[str, Any] = {}  # name -> object or dotted path (str) not yet imported
_entry_points: dict[str, EntryPoint] | None = None
_loaded_entry_points: dict[str, Any] = {}


def _validate_name(name: str) -> None:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise InvalidNameError(
            f"Invalid flavor name {name!r}: use letters, digits, '_', '-' or '.', starting with "
            "a letter or '_' (it becomes a key under 'flavors' in MLmodel)."
        )


def _discover() -> dict[str, EntryPoint]:
    global _entry_points
    with _lock:
        if _entry_points is None:
            from importlib import metadata  # ~10 ms: only when a non-built-in name is asked for

            found: dict[str, EntryPoint] = {}
            for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
                # First distribution on sys.path wins, as for imports.
                found.setdefault(ep.name, ep)
            _entry_points = found
        return _entry_points


def refresh_entry_points() -> None:
    """Forget the cached ``modelshelf.flavors`` entry points; the next lookup re-reads them.

    Call this after installing a flavor plugin into a running interpreter.
    """
    global _entry_points
    with _lock:
        _entry_points = None
        _loaded_entry_points.clear()
        importlib.invalidate_caches()


def register_flavor(name: str, obj: Any, *, clobber: bool = False) -> None:
    """Make ``obj`` the flavor called ``name``.

    Args:
        name: the flavor's name (its key under ``flavors`` in MLmodel, by convention).
        obj: a module, an object with ``save_model`` / ``load_model``, or the dotted path of a
            module to import on first use.
        clobber: replace a flavor of that name (built-in, entry point or registered) instead of
            refusing.

    Raises:
        InvalidNameError: ``name`` is not a valid flavor name.
        AlreadyExistsError: a flavor called ``name`` exists and ``clobber`` is False.
        TypeError: ``obj`` is neither a dotted path nor something with ``save_model`` and
            ``load_model``.
    """
    _validate_name(name)
    if not isinstance(obj, str) and not isinstance(obj, Flavor):
        raise TypeError(
            f"flavor {name!r} must be a module/object with save_model and load_model, or a "
            f"dotted module path; got {type(obj).__name__}"
        )
    with _lock:
        if not clobber and (name in _explicit or name in BUILTIN_FLAVORS or name in _discover()):
            raise AlreadyExistsError(
                f"A flavor named {name!r} is already registered; pass clobber=True to replace it."
            )
        _explicit[name] = obj


def unregister_flavor(name: str) -> None:
    """Drop a flavor added with :func:`register_flavor` (built-ins and entry points come back).

    Raises:
        NotFoundError: no flavor of that name was registered explicitly.
    """
    with _lock:
        if _explicit.pop(name, None) is None:
            raise NotFoundError(f"No flavor named {name!r} was added with register_flavor().")


def available_flavors() -> list[str]:
    """Names of every known flavor (registered, built-in, entry points), sorted; imports none."""
    with _lock:
        return sorted({*_explicit, *BUILTIN_FLAVORS, *_discover()})


def install_hint(name: str) -> str | None:
    """The ``pip install`` command for a built-in flavor's framework, or None."""
    builtin = BUILTIN_FLAVORS.get(name)
    return builtin.hint if builtin else None


def _import(path: str, name: str) -> Any:
    module_name, _, attr = path.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise MissingDependencyError(
            f"Flavor {name!r} is registered as {path!r}, which cannot be imported ({exc}); "
            "install the package that provides it."
        ) from exc
    for part in filter(None, attr.split(".")):
        obj = getattr(obj, part)
    return obj


def get_flavor(name: str) -> Any:
    """The flavor called ``name`` (module or object), imported now if it was not yet.

    Importing a built-in flavor module does not import its framework; calling its functions
    does, and raises :class:`~modelshelf.errors.MissingDependencyError` if it is absent.

    Raises:
        NotFoundError: no flavor has that name.
        MissingDependencyError: the module a registered or entry-point flavor points to cannot
            be imported.
    """
    with _lock:
        if name in _explicit:
            obj = _explicit[name]
            if isinstance(obj, str):
                obj = _import(obj, name)
                _explicit[name] = obj
            return obj
        builtin = BUILTIN_FLAVORS.get(name)
        if builtin is not None:
            return importlib.import_module(builtin.module)
        if name in _loaded_entry_points:
            return _loaded_entry_points[name]
        ep = _discover().get(name)
        if ep is None:
            raise NotFoundError(
                f"No flavor named {name!r}. Known flavors: {', '.join(available_flavors())}. "
                f"Third-party flavors register through the {ENTRY_POINT_GROUP!r} entry-point "
                "group or register_flavor()."
            )
        try:
            obj = ep.load()
        except ImportError as exc:
            raise MissingDependencyError(
                f"Flavor {name!r} comes from the entry point {ep.value!r}, which cannot be "
                f"imported ({exc}); reinstall the package that provides it."
            ) from exc
        _loaded_entry_points[name] = obj
        return obj


def _loader_modules_of(obj: Any) -> Iterable[str]:
    names = getattr(obj, "LOADER_MODULES", ())
    return (names,) if isinstance(names, str) else tuple(names or ())


def flavor_for_loader_module(loader_module: str) -> str | None:
    """The flavor that loads MLmodels whose ``python_function.loader_module`` is this, or None.

    MLflow's names map to built-ins; a registered or entry-point flavor claims further names
    with ``LOADER_MODULES`` (those flavors are imported to read it; entry points are code the
    user installed, unlike a loader module named inside a model file).
    """
    with _lock:
        for name in list(_explicit):
            if loader_module in _loader_modules_of(get_flavor(name)):
                return name
        builtin = MLFLOW_LOADER_MODULES.get(loader_module)
        if builtin is not None and builtin not in _explicit:
            return builtin
        for flavor, builtin_flavor in BUILTIN_FLAVORS.items():
            if loader_module == builtin_flavor.module and flavor not in _explicit:
                return flavor
        for name in _discover():
            if name in _explicit or name in BUILTIN_FLAVORS:
                continue
            try:
                obj = get_flavor(name)
            except MissingDependencyError:
                continue
            if loader_module in _loader_modules_of(obj):
                return name
    return None


def pyfunc_loader(loader_module: str) -> Callable[..., Any] | None:
    """The ``_load_pyfunc(path, model_config=None)`` for a loader-module name, or None if unknown.

    Nothing named in a model file is imported: only flavors modelshelf knows (built-in,
    registered, installed entry points) are consulted.
    """
    name = flavor_for_loader_module(loader_module)
    if name is None:
        return None
    obj = get_flavor(name)
    loader = getattr(obj, "_load_pyfunc", None) or getattr(obj, "load_pyfunc", None)
    return loader if callable(loader) else None


def register_pyfunc_loaders(register_loader: Callable[[str, Callable[..., Any]], Any]) -> None:
    """Hand every MLflow loader-module mapping to a ``register_loader(name, fn)`` hook.

    The callables are lazy: the flavor (and its framework) are imported when a model is loaded,
    not now.
    """
    for module_name in MLFLOW_LOADER_MODULES:
        try:
            register_loader(module_name, _LazyPyfuncLoader(module_name))
        except AlreadyExistsError:
            continue  # registered before: keep the first (idempotent)


class _LazyPyfuncLoader:
    """``_load_pyfunc`` of the flavor handling ``loader_module``, resolved at call time."""

    __slots__ = ("loader_module",)

    def __init__(self, loader_module: str) -> None:
        self.loader_module = loader_module

    def __call__(self, path: Any, model_config: Any = None, **_: Any) -> Any:
        loader = pyfunc_loader(self.loader_module)
        if loader is None:  # pragma: no cover - the table and the flavors agree
            raise NotFoundError(f"No flavor loads {self.loader_module!r}.")
        return loader(path, model_config)

    def __repr__(self) -> str:
        return f"_LazyPyfuncLoader({self.loader_module!r})"


def require(module: str, flavor: str) -> ModuleType:
    """Import a built-in flavor's framework module, or say which extra installs it.

    Raises:
        MissingDependencyError: the module is not installed (the message names the extra).
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        builtin = BUILTIN_FLAVORS.get(flavor)
        hint = builtin.hint if builtin else f"pip install {module.split('.')[0]}"
        raise MissingDependencyError(
            f"The {flavor} flavor needs the '{module}' package, which is not installed "
            f"({exc}). Install it with: {hint}"
        ) from exc
