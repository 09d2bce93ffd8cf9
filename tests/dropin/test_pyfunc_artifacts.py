"""pyfunc ``artifacts=`` take runs:/, models:/ and sha256: URIs, fetched through the cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import modelshelf
from modelshelf._shelf import Shelf
from modelshelf.errors import InvalidInputError, NotFoundError
from modelshelf.pyfunc import PythonModel


class Wrapped(PythonModel):
    """Predicts with the sklearn model logged elsewhere, passed in as an artifact."""

    def load_context(self, context: Any) -> None:
        import modelshelf.sklearn

        self.inner = modelshelf.sklearn.load_model(context.artifacts["inner"])
        self.offset = int(Path(context.artifacts["offset"]).read_text())

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> Any:
        return self.inner.predict(model_input) + self.offset


def test_artifacts_from_runs_and_models_uris(
    shelf: Shelf, clf: Any, xy: tuple[pd.DataFrame, Any], tmp_path: Path
) -> None:
    X, _ = xy
    with modelshelf.start_run() as run:
        inner = modelshelf.sklearn.log_model(clf, name="inner", registered_model_name="inner")
        modelshelf.log_text("7", "conf/offset.txt")
    expected = list(clf.predict(X) + 7)
    sources = [
        {"inner": "models:/inner/1", "offset": f"runs:/{run.info.run_id}/conf/offset.txt"},
        {"inner": inner.model_uri, "offset": f"runs:/{run.info.run_id}/conf/offset.txt"},
        {"inner": inner.digest, "offset": f"runs:/{run.info.run_id}/conf/offset.txt"},
    ]
    for i, artifacts in enumerate(sources):
        with modelshelf.start_run():
            info = modelshelf.pyfunc.log_model(
                name="wrapped", python_model=Wrapped(), artifacts=artifacts
            )
        loaded = modelshelf.pyfunc.load_model(info.model_uri)
        assert list(loaded.predict(X)) == expected, artifacts
        saved = tmp_path / f"saved{i}"  # save_model too, and the copy is writable
        modelshelf.pyfunc.save_model(saved, python_model=Wrapped(), artifacts=artifacts)
        assert (saved / "artifacts" / "offset.txt").read_text() == "7"
        for p in (saved / "artifacts").rglob("*"):
            assert p.stat().st_mode & 0o200, p
        conf = modelshelf.models.Model.load(saved).flavors["python_function"]["artifacts"]
        assert conf["inner"]["uri"] == artifacts["inner"]


def test_artifact_uris_that_name_nothing_are_refused(shelf: Shelf, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        modelshelf.pyfunc.save_model(
            tmp_path / "x", python_model=Wrapped(), artifacts={"inner": "models:/none/1"}
        )
    with pytest.raises(InvalidInputError, match="artifact 'inner'"):
        modelshelf.pyfunc.save_model(
            tmp_path / "y", python_model=Wrapped(), artifacts={"inner": "models:/a/0"}
        )
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_artifact_from_a_folder_url(shelf: Shelf, tmp_path: Path) -> None:
    import fsspec

    fs = fsspec.filesystem("memory")
    fs.pipe("/dropin-artifacts/conf/offset.txt", b"5")
    saved = tmp_path / "m"
    modelshelf.pyfunc.save_model(
        saved,
        python_model=Wrapped(),
        artifacts={"offset": "memory://dropin-artifacts/conf/offset.txt"},
    )
    assert (saved / "artifacts" / "offset.txt").read_text() == "5"
