"""Models MLflow wrote load and predict in modelshelf in a process where MLflow cannot be imported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SCRIPT = """
import sys
sys.modules["mlflow"] = None  # any `import mlflow...` now raises ImportError
import numpy as np, pandas as pd
from modelshelf.flavors import register_pyfunc_loaders
from modelshelf.pyfunc import load_model_from_dir, register_loader
register_pyfunc_loaders(register_loader)
X = pd.read_pickle(sys.argv[1])
for path in sys.argv[2:]:
    np.save(path + ".npy", np.asarray(load_model_from_dir(path).predict(X)))
"""


@pytest.mark.interop
def test_mlflow_written_models_load_without_mlflow(tmp_path: Path, xy) -> None:
    pytest.importorskip("mlflow")
    import lightgbm as lgb
    import mlflow.lightgbm
    import mlflow.sklearn
    from sklearn.linear_model import LogisticRegression

    X, y = xy
    clf = LogisticRegression().fit(X, y)
    booster = lgb.train({"verbose": -1, "min_data_in_leaf": 2}, lgb.Dataset(X, label=y), 3)
    sk, lg = tmp_path / "sk", tmp_path / "lgb"
    mlflow.sklearn.save_model(clf, sk, pip_requirements=["scikit-learn"])
    mlflow.lightgbm.save_model(booster, lg, pip_requirements=["lightgbm"])
    X.to_pickle(tmp_path / "X.pkl")
    subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "X.pkl"), str(sk), str(lg)],
        check=True,
        capture_output=True,
        text=True,
    )
    np.testing.assert_array_equal(np.load(f"{sk}.npy"), clf.predict(X))
    np.testing.assert_array_equal(np.load(f"{lg}.npy"), booster.predict(X))
    assert isinstance(X, pd.DataFrame)
