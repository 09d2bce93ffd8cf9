"""Input example files are byte-identical to MLflow's, and each side reads the other's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelshelf.models import Model
from modelshelf.models._input_example import save_input_example
from tests.models.test_input_example import EXAMPLES, _same

mlflow = pytest.importorskip("mlflow")
pytestmark = [
    pytest.mark.interop,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
]

# MLflow 3.17 rejects a Series (we write it as a one-column frame); all others match.
_SAME_FILES = sorted(set(EXAMPLES) - {"series"})


def _both(tmp_path: Path, example: Any) -> tuple[Path, Path, Model, Any]:
    from mlflow.models.utils import _save_example

    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    ours.mkdir()
    theirs.mkdir()
    m = Model()
    save_input_example(m, example, ours)
    mm = mlflow.models.Model()
    _save_example(mm, example, str(theirs))
    return ours, theirs, m, mm


@pytest.mark.parametrize("name", _SAME_FILES)
def test_files_and_info_match_mlflow(tmp_path: Path, name: str) -> None:
    ours, theirs, m, mm = _both(tmp_path, EXAMPLES[name])
    assert m.saved_input_example_info == mm.saved_input_example_info
    for f in ("input_example.json", "serving_input_example.json"):
        assert (ours / f).read_bytes() == (theirs / f).read_bytes(), f


@pytest.mark.parametrize("name", sorted(set(_SAME_FILES) - {"df_bytes_dates"}))
def test_each_side_reads_the_others_example(tmp_path: Path, name: str) -> None:
    from mlflow.models.utils import _read_example

    ours, theirs, _m, mm = _both(tmp_path, EXAMPLES[name])
    theirs_view = _read_example(mm, str(ours))
    if isinstance(theirs_view, np.ndarray) and theirs_view.dtype.kind == "O":  # MLflow keeps null
        theirs_view = theirs_view.astype(float)
    _same(EXAMPLES[name], theirs_view)
    _same(
        EXAMPLES[name],
        Model.from_dict(
            {"flavors": {"f": {}}, "saved_input_example_info": mm.saved_input_example_info}
        ).load_input_example(theirs),
    )
