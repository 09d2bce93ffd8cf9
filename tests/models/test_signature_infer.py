"""infer_signature rules (docs/explanation/mlflow-format.md §4), checked against literal expected JSON."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from typing import Any

import numpy as np
import pandas as pd
import pytest

from modelshelf.errors import InvalidInputError, ModelshelfWarning
from modelshelf.models._infer import _infer_schema
from modelshelf.models.signature import (
    ColSpec,
    DataType,
    ModelSignature,
    Schema,
    TensorSpec,
    infer_signature,
)


def inputs_json(data: Any) -> list[dict[str, Any]]:
    sig = infer_signature(data)
    assert sig.inputs is not None
    loaded: list[dict[str, Any]] = json.loads(sig.to_dict()["inputs"] or "")
    return loaded


def test_dataframe_dtypes() -> None:
    df = pd.DataFrame(
        {
            "b": [True, False],
            "i8": np.array([1, 2], dtype="int8"),
            "i32": np.array([1, 2], dtype="int32"),
            "u16": np.array([1, 2], dtype="uint16"),
            "i64": [1, 2],
            "u32": np.array([1, 2], dtype="uint32"),
            "f16": np.array([1, 2], dtype="float16"),
            "f32": np.array([1, 2], dtype="float32"),
            "f64": [1.0, 2.0],
            "s": ["x", "y"],
            "o": pd.Series(["x", "y"], dtype=object),
            "by": [b"x", b"y"],
            "t": pd.to_datetime(["2020-01-01", "2020-01-02"]),
            "tz": pd.to_datetime(["2020-01-01", "2020-01-02"]).tz_localize("UTC"),
        }
    )
    got = {c["name"]: c["type"] for c in inputs_json(df)}
    assert got == {
        "b": "boolean",
        "i8": "integer",
        "i32": "integer",
        "u16": "integer",
        "i64": "long",
        "u32": "long",
        "f16": "float",
        "f32": "float",
        "f64": "double",
        "s": "string",
        "o": "string",
        "by": "binary",
        "t": "datetime",
        "tz": "datetime",
    }


def test_missing_values_make_columns_optional_and_all_none_any() -> None:
    df = pd.DataFrame({"a": [1.0, np.nan], "b": ["x", None], "c": [None, None], "d": [1, 2]})
    assert inputs_json(df) == [
        {"type": "double", "name": "a", "required": False},
        {"type": "string", "name": "b", "required": False},
        {"type": "any", "name": "c", "required": False},
        {"type": "long", "name": "d", "required": True},
    ]


def test_list_and_dict_cells() -> None:
    df = pd.DataFrame({"l": [[1, 2], [3]], "d": [{"x": 1, "y": "s"}, {"x": 2}]})
    assert inputs_json(df) == [
        {"type": "array", "items": {"type": "long"}, "name": "l", "required": True},
        {
            "type": "object",
            "properties": {
                "x": {"type": "long", "required": True},
                "y": {"type": "string", "required": False},
            },
            "name": "d",
            "required": True,
        },
    ]


@pytest.mark.parametrize(
    "df",
    [
        pd.DataFrame({"a": np.array([1, 2], dtype="uint64"), "b": [1.0, 2.0]}),
        pd.DataFrame({"a": [1, "x"]}),
        pd.DataFrame({"a": pd.to_timedelta([1], unit="s")}),
    ],
    ids=["uint64", "mixed", "timedelta"],
)
def test_whole_schema_falls_back_to_any_with_warning(df: pd.DataFrame) -> None:
    with pytest.warns(ModelshelfWarning, match="Failed to infer schema for inputs"):
        sig = infer_signature(df)
    assert sig.to_dict()["inputs"] == '[{"type": "any", "required": true}]'


def test_series_ndarray_dict_of_arrays() -> None:
    assert inputs_json(pd.Series([1.5], name="s")) == [
        {"type": "double", "name": "s", "required": True}
    ]
    with pytest.warns(ModelshelfWarning, match="cannot be optional"):
        # an unnamed optional column breaks the schema rules, so MLflow falls back to any
        assert inputs_json(pd.Series([1, None])) == [{"type": "any", "required": True}]
    assert inputs_json(np.zeros((3, 4))) == [
        {"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 4]}}
    ]
    assert inputs_json(np.array(["ab", "c"])) == [
        {"type": "tensor", "tensor-spec": {"dtype": "str", "shape": [-1]}}
    ]
    assert inputs_json({"x": np.zeros((2, 3), dtype="float32"), "y": np.array([1])}) == [
        {"name": "x", "type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 3]}},
        {"name": "y", "type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}},
    ]


def test_json_like_inputs() -> None:
    assert inputs_json({"a": 1, "b": ["x"], "c": {"k": 1.5}, "d": None}) == [
        {"type": "long", "name": "a", "required": True},
        {"type": "array", "items": {"type": "string"}, "name": "b", "required": True},
        {
            "type": "object",
            "properties": {"k": {"type": "double", "required": True}},
            "name": "c",
            "required": True,
        },
        {"type": "any", "name": "d", "required": False},
    ]
    assert inputs_json([{"a": 1, "b": "x"}, {"a": 2}, {"a": 3, "b": None}]) == [
        {"type": "long", "name": "a", "required": True},
        {"type": "string", "name": "b", "required": False},
    ]
    assert inputs_json(["a", "b"]) == [{"type": "string", "required": True}]
    assert inputs_json([[1, 2], [3]]) == [
        {"type": "array", "items": {"type": "long"}, "required": True}
    ]
    assert inputs_json([]) == [{"type": "string", "required": True}]
    assert inputs_json("hi") == [{"type": "string", "required": True}]
    assert inputs_json(3) == [{"type": "long", "required": True}]
    assert inputs_json(dt.datetime(2020, 1, 1)) == [{"type": "datetime", "required": True}]


def test_mixed_list_falls_back_with_warning() -> None:
    with pytest.warns(ModelshelfWarning, match="Failed to infer schema for inputs"):
        assert inputs_json([1, "a"]) == [{"type": "any", "required": True}]


def test_sparse_inputs() -> None:
    sp = pytest.importorskip("scipy.sparse")
    for cls in (sp.csr_matrix, sp.csc_matrix):
        assert inputs_json(cls(np.eye(3, dtype="float32"))) == [
            {"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 3]}}
        ]


def test_output_and_1d_column_rule() -> None:
    df = pd.DataFrame({"x": [1.0, 2.0]})
    pred = np.array([0.5, 0.7])
    plain = infer_signature(df, pred)
    assert plain.to_dict()["outputs"] == (
        '[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1]}}]'
    )
    flavored = infer_signature(df, pred, output_1d_as_column=True)
    assert flavored.to_dict()["outputs"] == '[{"type": "double", "required": true}]'
    # tensor inputs keep the tensor output
    tensor = infer_signature(np.zeros((2, 1)), pred, output_1d_as_column=True)
    assert tensor.outputs == Schema([TensorSpec(np.dtype("float64"), (-1,))])


def test_params_inference() -> None:
    sig = infer_signature(
        params={
            "n": 3,
            "t": 0.5,
            "s": "x",
            "b": True,
            "when": dt.datetime(2020, 1, 1, 12, 30),
            "stops": ["a", "b"],
            "cfg": {"k": 1},
        }
    )
    assert sig.inputs is None and sig.outputs is None
    assert json.loads(sig.to_dict()["params"] or "") == [
        {"name": "n", "default": 3, "shape": None, "type": "long"},
        {"name": "t", "default": 0.5, "shape": None, "type": "double"},
        {"name": "s", "default": "x", "shape": None, "type": "string"},
        {"name": "b", "default": True, "shape": None, "type": "boolean"},
        {"name": "when", "default": "2020-01-01T12:30:00", "shape": None, "type": "datetime"},
        {"name": "stops", "default": ["a", "b"], "shape": [-1], "type": "string"},
        {
            "name": "cfg",
            "default": {"k": 1},
            "shape": None,
            "type": "object",
            "properties": {"k": {"type": "long", "required": True}},
        },
    ]


@pytest.mark.parametrize("bad", [{"a": [[1]]}, {"a": b"x"}, {"a": None}, {"a": object()}])
def test_params_inference_errors(bad: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError, match="Failed to infer schema for parameters"):
        infer_signature(params=bad)


def test_infer_schema_raises_without_fallback() -> None:
    with pytest.raises(InvalidInputError):
        _infer_schema([1, "a"])
    assert _infer_schema(pd.Series([1], name="z")) == Schema([ColSpec(DataType.long, "z")])


def test_round_trip_through_dict() -> None:
    sig = infer_signature(
        pd.DataFrame({"a": [1, 2], "b": [[1.0], [2.0]]}), np.array([1, 2]), {"k": [1, 2]}
    )
    assert ModelSignature.from_dict(sig.to_dict()) == sig


def test_inference_and_enforcement_do_not_import_scipy_for_plain_data() -> None:
    code = (
        "import sys, numpy as np, pandas as pd\n"
        "from modelshelf.models.signature import infer_signature\n"
        "from modelshelf.models._enforce import enforce_input\n"
        "sig = infer_signature(pd.DataFrame({'a': [1]}), np.array([1]))\n"
        "enforce_input(pd.DataFrame({'a': [2]}), sig.inputs)\n"
        "enforce_input(np.array([2]), sig.outputs)\n"
        "assert 'scipy' not in sys.modules and 'mlflow' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
