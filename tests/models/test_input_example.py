"""Input examples: files and MLmodel info as MLflow 3.x writes them; lenient reading."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from modelshelf.errors import InvalidInputError, MalformedMetadataError, NotFoundError
from modelshelf.models import Model
from modelshelf.models._input_example import save_input_example

sp = pytest.importorskip("scipy.sparse")

EXAMPLES: dict[str, Any] = {
    "df": pd.DataFrame({"x": [1.0, np.nan], "s": ["a", "b"], "i": [1, 2]}),
    "df_default_cols": pd.DataFrame([[1, 2.0], [3, np.nan]]),
    "df_bytes_dates": pd.DataFrame({"b": [b"hi"], "t": [pd.Timestamp("2020-01-01")]}),
    "series": pd.Series([1.0, 2.0], name="x"),
    "ndarray": np.array([[1.0, np.nan], [2.0, 3.0]]),
    "ndarray_int": np.array([1, 2, 3]),
    "dict_of_arrays": {"a": np.array([1, 2]), "b": np.array([3.0])},
    "dict": {"a": 1, "b": "x", "c": [1, 2]},
    "list_of_str": ["a", "b"],
    "list_of_dicts": [{"a": 1}, {"a": 2, "b": "y"}],
    "scalar": "hello",
    "csr": sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 2.0]])),
    "csc": sp.csc_matrix(np.array([[0.0, 3.0], [4.0, 0.0]])),
    "with_params": (pd.DataFrame({"x": [1.0]}), {"k": 1, "t": "a", "l": [1, 2]}),
    "ndarray_with_params": (np.array([[1.0]]), {"k": 2.5}),
}


def _same(a: Any, b: Any) -> None:
    if isinstance(a, tuple):
        a = a[0]
    if isinstance(a, pd.Series):
        a = a.to_frame()
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a.reset_index(drop=True), b, check_dtype=False)
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict) and a and isinstance(next(iter(a.values())), np.ndarray):
        assert a.keys() == b.keys()
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])
    elif sp.issparse(a):
        assert type(a) is type(b)
        np.testing.assert_array_equal(a.toarray(), b.toarray())
    else:
        assert a == b


@pytest.mark.parametrize("name", sorted(set(EXAMPLES) - {"df_bytes_dates"}))  # needs a signature
def test_round_trip(tmp_path: Path, name: str) -> None:
    example = EXAMPLES[name]
    model = Model()
    info = save_input_example(model, example, tmp_path)
    assert info is model.saved_input_example_info
    assert info["artifact_path"] == "input_example.json"
    assert info["serving_input_path"] == "serving_input_example.json"
    loaded = Model.from_yaml(
        model.to_yaml() if model.flavors else "flavors: {f: {}}\n" + _info_yaml(info)
    )
    _same(example, loaded.load_input_example(tmp_path))
    if isinstance(example, tuple):
        assert info["params"] == "true"
        assert loaded.load_input_example_params(tmp_path) == example[1]
    else:
        assert "params" not in info
        assert loaded.load_input_example_params(tmp_path) is None


def _info_yaml(info: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump({"saved_input_example_info": info})


def test_file_shapes(tmp_path: Path) -> None:
    m = Model()
    save_input_example(m, EXAMPLES["df_default_cols"], tmp_path)
    assert m.saved_input_example_info["pandas_orient"] == "values"
    assert (tmp_path / "input_example.json").read_text() == '{"data": [[1, 2.0], [3, NaN]]}'
    serving = json.loads((tmp_path / "serving_input_example.json").read_text())
    assert list(serving) == ["dataframe_split"]
    save_input_example(m, EXAMPLES["ndarray"], tmp_path)
    assert (tmp_path / "input_example.json").read_text() == "[[1.0, null], [2.0, 3.0]]"
    save_input_example(m, EXAMPLES["df_bytes_dates"], tmp_path)
    assert json.loads((tmp_path / "input_example.json").read_text()) == {
        "columns": ["b", "t"],
        "data": [["aGk=\n", "2020-01-01T00:00:00"]],
    }
    save_input_example(m, EXAMPLES["csr"], tmp_path)
    assert json.loads((tmp_path / "serving_input_example.json").read_text()) == {
        "inputs": [[1.0, 0.0], [0.0, 2.0]]
    }
    save_input_example(m, EXAMPLES["with_params"], tmp_path)
    assert json.loads((tmp_path / "input_example.json").read_text()) == {
        "inputs": {"columns": ["x"], "data": [[1.0]]},
        "params": {"k": 1, "t": "a", "l": [1, 2]},
    }


def test_none_writes_nothing(tmp_path: Path) -> None:
    m = Model()
    assert save_input_example(m, None, tmp_path) is None
    assert m.saved_input_example_info is None and not list(tmp_path.iterdir())


@pytest.mark.parametrize("bad", [object(), {"a": object()}, (np.array([1]), "not params")])
def test_unsupported_examples(tmp_path: Path, bad: Any) -> None:
    with pytest.raises(InvalidInputError):
        save_input_example(Model(), bad, tmp_path)


def _model_with_info(**info: Any) -> Model:
    m = Model()
    m.saved_input_example_info = {"artifact_path": "input_example.json", **info}
    return m


def test_legacy_tf_serving_and_dataframe_shapes(tmp_path: Path) -> None:
    (tmp_path / "input_example.json").write_text('{"inputs": [[1.0, NaN]]}')
    got = _model_with_info(type="ndarray", format="tf-serving").load_input_example(tmp_path)
    np.testing.assert_array_equal(got, np.array([[1.0, np.nan]]))
    (tmp_path / "input_example.json").write_text('{"inputs": {"a": [1, 2]}}')
    got = _model_with_info(type="ndarray", format="tf-serving").load_input_example(tmp_path)
    np.testing.assert_array_equal(got["a"], [1, 2])
    (tmp_path / "input_example.json").write_text(
        '{"columns": ["x"], "index": [5, 6], "data": [[1], [NaN]]}'
    )
    df = _model_with_info(type="dataframe", pandas_orient="split").load_input_example(tmp_path)
    assert list(df.index) == [5, 6] and np.isnan(df["x"].iloc[1])


def test_dataframe_example_is_cast_to_signature_types(tmp_path: Path) -> None:
    from modelshelf.models import ModelSignature

    (tmp_path / "input_example.json").write_text(
        '{"columns": ["i", "t"], "data": [[1, "2020-01-01T00:00:00"]]}'
    )
    m = _model_with_info(type="dataframe", pandas_orient="split")
    m.signature = ModelSignature.from_dict(
        {
            "inputs": '[{"type": "integer", "name": "i", "required": true}, '
            '{"type": "datetime", "name": "t", "required": true}]',
            "outputs": None,
        }
    )
    (tmp_path / "input_example.json").write_text(
        '{"columns": ["i", "t", "b"], "data": [[1, "2020-01-01T00:00:00", "aGk=\\n"]]}'
    )
    m.signature = ModelSignature.from_dict(
        {
            "inputs": '[{"type": "integer", "name": "i", "required": true}, '
            '{"type": "datetime", "name": "t", "required": true}, '
            '{"type": "binary", "name": "b", "required": true}]',
            "outputs": None,
        }
    )
    df = m.load_input_example(tmp_path)
    assert df["b"].iloc[0] == b"hi"
    assert df["i"].dtype == np.int32 and df["t"].iloc[0] == dt.datetime(2020, 1, 1)


def test_read_errors(tmp_path: Path) -> None:
    m = _model_with_info(type="ndarray")
    with pytest.raises(NotFoundError, match="input_example.json"):
        m.load_input_example(tmp_path)
    (tmp_path / "input_example.json").write_text("[1, ")
    with pytest.raises(MalformedMetadataError, match="not valid JSON"):
        m.load_input_example(tmp_path)
    (tmp_path / "input_example.json").write_text("[1]")
    with pytest.raises(MalformedMetadataError, match="unknown type"):
        _model_with_info(type="weird").load_input_example(tmp_path)
    with pytest.raises(MalformedMetadataError, match="sparse_matrix_csr"):
        _model_with_info(type="sparse_matrix_csr").load_input_example(tmp_path)
