"""Real-time scoring: ``modelshelf serve``, speaking MLflow's scoring protocol.

Existing MLflow clients work unchanged (``/ping``, ``/health``, ``/version``,
``/invocations`` with JSON, CSV or Parquet bodies). Started on an alias, the server follows it:
a new version is loaded and checked beside the old one, then swapped in without failing a
request in flight; a version that fails to load is left unserved.

Needs the ``serve`` extra (Starlette and uvicorn); ``import modelshelf`` never imports them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelshelf.serve._app import ServeConfig, create_app
    from modelshelf.serve._follower import ModelFollower, Served
    from modelshelf.serve._run import serve

__all__ = ["ModelFollower", "ServeConfig", "Served", "create_app", "serve"]

_WHERE = {
    "ModelFollower": "modelshelf.serve._follower",
    "Served": "modelshelf.serve._follower",
    "ServeConfig": "modelshelf.serve._app",
    "create_app": "modelshelf.serve._app",
    "serve": "modelshelf.serve._run",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'modelshelf.serve' has no attribute {name!r}")
    if module != "modelshelf.serve._follower":
        _require_extra()
    import importlib

    return getattr(importlib.import_module(module), name)


def _require_extra() -> None:
    import importlib.util

    from modelshelf.errors import MissingDependencyError

    missing = [m for m in ("starlette", "uvicorn") if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingDependencyError(
            f"serving needs {' and '.join(missing)}: install the extra with "
            "`pip install 'modelshelf[serve]'`"
        )
