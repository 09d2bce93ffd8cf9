"""Run models in a subprocess where one library cannot be imported (shared by the tests of
custom models moving between MLflow and modelshelf)."""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# Loads each model with one library while the other is blocked, predicts every case and
# pickles the outcomes: ("ok", output), ("rejected", message) for the library's typed input
# error, ("error", repr) for anything else.
_CHILD = r"""
import importlib.abc, pickle, sys, warnings

blocked, loader, cases_file, out_file = sys.argv[1:5]

class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == blocked or name.startswith(blocked + "."):
            raise ImportError(f"No module named {name!r} (blocked by the test)")
        return None

sys.meta_path.insert(0, Blocker())
warnings.simplefilter("ignore")
if loader == "modelshelf":
    from modelshelf.errors import SchemaEnforcementError as InputError
    from modelshelf.pyfunc import PythonModel, load_model_from_dir as load
else:
    from mlflow.exceptions import MlflowException as InputError
    from mlflow.pyfunc import PythonModel, load_model as load

with open(cases_file, "rb") as f:
    cases, resave = pickle.load(f)
outcomes, classes, models = [], {}, {}
for path, config, data, params in cases:
    key = (path, repr(config))
    if key not in models:
        try:
            models[key] = load(path, model_config=config) if config else load(path)
        except Exception as exc:
            models[key] = exc
        try:
            inner = models[key].unwrap_python_model()
            classes[path] = (type(inner).__name__, isinstance(inner, PythonModel))
        except Exception:
            pass  # not a custom model
    model = models[key]
    if isinstance(model, Exception):
        outcomes.append(("load failed", repr(model)))
        continue
    try:
        outcomes.append(("ok", model.predict(data, params=params)))
    except InputError as exc:
        outcomes.append(("rejected", str(exc)))
    except Exception as exc:
        outcomes.append(("error", repr(exc)))
for src, dst in resave:  # load with modelshelf, save again with modelshelf
    from modelshelf.pyfunc import save_model
    save_model(dst, python_model=load(src).unwrap_python_model())
with open(out_file, "wb") as f:
    pickle.dump({"outcomes": outcomes, "classes": classes, "blocked": blocked in sys.modules}, f)
"""


def run_child(
    tmp_path: Path,
    blocked: str,
    loader: str,
    cases: list[Any],
    resave: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    cases_file, out_file = tmp_path / "cases.pkl", tmp_path / "out.pkl"
    cases_file.write_bytes(pickle.dumps((cases, resave or [])))
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, blocked, loader, str(cases_file), str(out_file)],
        cwd=tmp_path,  # nothing of this repository's tests importable by accident
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result: dict[str, Any] = pickle.loads(out_file.read_bytes())
    assert result["blocked"] is False, f"{blocked} was imported"
    return result


def outcome(fn: Any, input_error: type[BaseException]) -> tuple[str, Any]:
    try:
        return ("ok", fn())
    except input_error as exc:
        return ("rejected", str(exc))


def assert_same(expected: tuple[str, Any], got: tuple[str, Any], case: Any) -> None:
    assert got[0] == expected[0], f"{case}: expected {expected}, got {got}"
    if expected[0] != "ok":
        return
    want, have = expected[1], got[1]
    assert type(have) is type(want), case
    if isinstance(want, pd.DataFrame):
        pd.testing.assert_frame_equal(have, want)
    elif isinstance(want, np.ndarray):
        np.testing.assert_array_equal(have, want)
    else:
        assert have == want, case


@contextlib.contextmanager
def by_value(module: types.ModuleType) -> Iterator[None]:
    import cloudpickle

    cloudpickle.register_pickle_by_value(module)
    try:
        yield
    finally:
        cloudpickle.unregister_pickle_by_value(module)
