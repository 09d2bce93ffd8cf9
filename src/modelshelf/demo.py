"""The main job, as an MLflow user would write it: ``python -m modelshelf.demo [--shelf URL]``.

Trains a small scikit-learn model on a data set shipped inside scikit-learn (no download),
logs it with a signature and an input example in a run with params and metrics, registers it,
points ``@champion`` at the new version, loads ``models:/…@champion`` and predicts, then prints
the registry history and a verify report. Running it again adds version 2, 3, … and moves the
alias.
"""

from __future__ import annotations

import argparse
import sys
import time

MODEL_NAME = "diabetes-ridge"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--shelf", default=None, help="shelf URL (default: MODELSHELF_URI or ./shelf)"
    )
    args = parser.parse_args(argv)

    import numpy as np
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import train_test_split

    import modelshelf as mlflow

    if args.shelf:
        mlflow.set_shelf(args.shelf)
    started = time.perf_counter()
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)

    client = mlflow.MlflowClient()
    runs_so_far = len(client.search_model_versions(f"name = '{MODEL_NAME}'"))
    alpha = round(0.1 * (1 + runs_so_far % 10), 2)

    mlflow.set_experiment("demo")
    with mlflow.start_run(run_name=f"ridge-alpha-{alpha}") as run:
        model = Ridge(alpha=alpha).fit(X_train, y_train)
        mlflow.log_params({"alpha": alpha, "n_train": len(X_train)})
        mlflow.log_metric("r2_test", float(model.score(X_test, y_test)))
        signature = mlflow.models.infer_signature(X_test, model.predict(X_test))
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=signature,
            input_example=X_test.head(3),
            registered_model_name=MODEL_NAME,
        )
    version = info.registered_model_version
    client.set_registered_model_alias(MODEL_NAME, "champion", version)
    print(f"shelf:       {client.shelf.url}")
    print(f"run:         {run.info.run_id}  (alpha={alpha})")
    print(f"logged:      {info.model_uri}  {info.digest}")
    print(f"registered:  {MODEL_NAME} version {version}, @champion -> {version}")

    loaded = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}@champion")
    predictions = loaded.predict(X_test.head(5))
    expected = model.predict(X_test.head(5))
    assert np.allclose(np.asarray(predictions), expected), "loaded model predicts differently"
    print(f"predictions: {np.round(np.asarray(predictions), 1).tolist()}")

    print("\nregistry history (newest last):")
    for change in client.get_registry_history(MODEL_NAME)[-6:]:
        print("  " + _describe(change))

    report = client.verify(deep=True)
    print(f"\nverify: {report}")
    print(f"done in {time.perf_counter() - started:.2f} s")
    return 0 if getattr(report, "ok", bool(report)) else 1


def _describe(change: object) -> str:
    import datetime as dt

    when = dt.datetime.fromtimestamp(change.timestamp / 1000, tz=dt.UTC)  # type: ignore[attr-defined]
    what = " ".join(
        str(part)
        for part in (
            change.action,  # type: ignore[attr-defined]
            f"v{change.version}" if change.version is not None else "",  # type: ignore[attr-defined]
            f"@{change.key}" if change.key else "",  # type: ignore[attr-defined]
        )
        if part
    )
    old, new = change.old, change.new  # type: ignore[attr-defined]
    if old is None and new is None:
        moved = ""
    else:
        moved = f" -> {new}" if old is None else f" {old} -> {new}"
    return f"#{change.seq} {when:%Y-%m-%d %H:%M:%S} {change.actor}: {what}{moved}"  # type: ignore[attr-defined]


if __name__ == "__main__":
    sys.exit(main())
