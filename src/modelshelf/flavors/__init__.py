"""Framework flavors: save a trained model the way its framework does best, in MLflow's format.

Built-in flavors (``modelshelf.flavors.sklearn``, ``xgboost``, ``lightgbm``, ``pytorch``,
``onnx``, ``transformers``) are plain modules with ``save_model``, ``load_model`` and ``_load_pyfunc``; each
imports its framework only when used. Third-party flavors plug in through the
``modelshelf.flavors`` entry-point group or :func:`register_flavor`. Importing this package
imports no framework.

Writing a flavor of your own (see docs/how-to/write-a-flavor.md): a module with ``save_model`` /
``load_model`` / ``_load_pyfunc`` that builds its folder with the toolkit re-exported here —
:func:`staged_model_dir`, :func:`save_example_and_signature`, :func:`add_pyfunc_flavor`,
:func:`write_model`, :func:`local_model_dir`, :func:`flavor_conf` — gets the same layout,
write-once behaviour and environment files as the built-ins.
"""

from __future__ import annotations

from modelshelf.flavors._base import (
    add_pyfunc_flavor,
    flavor_conf,
    local_model_dir,
    save_example_and_signature,
    staged_model_dir,
    write_model,
)
from modelshelf.flavors._registry import (
    BUILTIN_FLAVORS,
    ENTRY_POINT_GROUP,
    MLFLOW_LOADER_MODULES,
    Flavor,
    available_flavors,
    flavor_for_loader_module,
    get_flavor,
    install_hint,
    pyfunc_loader,
    refresh_entry_points,
    register_flavor,
    register_pyfunc_loaders,
    unregister_flavor,
)

__all__ = [
    "BUILTIN_FLAVORS",
    "ENTRY_POINT_GROUP",
    "Flavor",
    "MLFLOW_LOADER_MODULES",
    "add_pyfunc_flavor",
    "available_flavors",
    "flavor_conf",
    "flavor_for_loader_module",
    "get_flavor",
    "install_hint",
    "local_model_dir",
    "pyfunc_loader",
    "refresh_entry_points",
    "register_flavor",
    "register_pyfunc_loaders",
    "save_example_and_signature",
    "staged_model_dir",
    "unregister_flavor",
    "write_model",
]
