"""Parity with real MLflow 3.x enforcement: same accept/reject, same converted dtypes/values.

Two levels: MLflow's internal ``_enforce_schema`` / ``_enforce_params_schema`` on a large table,
and a real ``mlflow.pyfunc`` model (saved to tmp_path) that reports what it was handed.
"""

from __future__ import annotations

import copy
import datetime as dt
import decimal
import importlib
import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from modelshelf.models._enforce import enforce_input, enforce_params
from modelshelf.models.signature import ModelSignature, ParamSchema, Schema

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # importing mlflow.pyfunc warns about MLflow's own classes
    mlflow = pytest.importorskip("mlflow")
    importlib.import_module("mlflow.pyfunc")
from mlflow.models.utils import _enforce_params_schema, _enforce_schema  # noqa: E402
from mlflow.pyfunc import _validate_prediction_input  # noqa: E402
from mlflow.types.schema import ParamSchema as MlParamSchema  # noqa: E402
from mlflow.types.schema import Schema as MlSchema  # noqa: E402

pytestmark = [
    pytest.mark.interop,
    pytest.mark.filterwarnings("ignore:Add type hints to the `predict` method:UserWarning"),
]

# --- the table -----------------------------------------------------------------------------


def col(
    t: str | dict[str, Any], name: str | int | None = "a", required: bool = True
) -> dict[str, Any]:
    d: dict[str, Any] = {"type": t} if isinstance(t, str) else dict(t)
    if name is not None:
        d["name"] = name
    d["required"] = required
    return d


def ten(dtype: str, shape: list[int], name: str | None = None) -> dict[str, Any]:
    d: dict[str, Any] = {"type": "tensor", "tensor-spec": {"dtype": dtype, "shape": shape}}
    if name:
        d["name"] = name
    return d


def arr(items: str | dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": {"type": items} if isinstance(items, str) else items}


def obj(**props: str | dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            k: {"type": v, "required": True} if isinstance(v, str) else v for k, v in props.items()
        },
    }


def mapping(values: str) -> dict[str, Any]:
    return {"type": "map", "values": {"type": values}}


def _ints(dtype: str) -> pd.DataFrame:
    return pd.DataFrame({"a": np.array([1, 2], dtype=dtype)})


COLUMN_INPUTS: dict[str, Any] = {
    **{
        k: _ints(k)
        for k in ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
    },
    **{k: _ints(k) for k in ["float16", "float32", "float64"]},
    "bool": pd.DataFrame({"a": [True, False]}),
    "int64_01": pd.DataFrame({"a": [0, 1]}),
    "int64_01_nan": pd.DataFrame({"a": [0.0, np.nan]}).astype("Int64"),
    "str": pd.DataFrame({"a": ["x", "y"]}),
    "str_object": pd.DataFrame({"a": ["x", "y"]}, dtype=object),
    "str_ext": pd.DataFrame({"a": pd.array(["x", None], dtype="string")}),
    "bytes": pd.DataFrame({"a": [b"x", b"y"]}),
    "bytes_numpy": pd.DataFrame({"a": np.array([b"x", b"yy"])}),
    "datetime_ns": pd.DataFrame({"a": pd.to_datetime(["2020-01-01"])}),
    "datetime_s": pd.DataFrame({"a": np.array(["2020-01-01"], dtype="datetime64[s]")}),
    "datetime_tz": pd.DataFrame({"a": pd.to_datetime(["2020-01-01"]).tz_localize("UTC")}),
    "date_objects": pd.DataFrame({"a": [dt.date(2020, 1, 1)]}),
    "datetime_objects": pd.DataFrame({"a": [dt.datetime(2020, 1, 1)]}, dtype=object),
    "datetime_text": pd.DataFrame({"a": ["2020-01-01"]}),
    "datetime_text_object": pd.DataFrame({"a": ["2020-01-01"]}, dtype=object),
    "float_nan": pd.DataFrame({"a": [1.0, np.nan]}),
    "float32_nan": pd.DataFrame({"a": np.array([1, np.nan], dtype="float32")}),
    "none_object": pd.DataFrame({"a": [None, None]}, dtype=object),
    "bool_none": pd.DataFrame({"a": [True, None]}),
    "decimal": pd.DataFrame({"a": [decimal.Decimal("1.5")]}),
    "Int64": pd.DataFrame({"a": pd.array([1, 2], dtype="Int64")}),
    "Int64_na": pd.DataFrame({"a": pd.array([1, None], dtype="Int64")}),
    "Int8": pd.DataFrame({"a": pd.array([1, 2], dtype="Int8")}),
    "Float64": pd.DataFrame({"a": pd.array([1.5, 2.5], dtype="Float64")}),
    "boolean_ext": pd.DataFrame({"a": pd.array([True, False], dtype="boolean")}),
    "categorical": pd.DataFrame({"a": pd.Categorical(["x", "y"])}),
    "mixed_object": pd.DataFrame({"a": [1, "x"]}),
    "int64_big": pd.DataFrame({"a": [2, 3]}),
    "int_object": pd.DataFrame({"a": [1, 2]}, dtype=object),
    "timedelta": pd.DataFrame({"a": pd.to_timedelta([1], unit="s")}),
}
PRIMITIVES = ["boolean", "integer", "long", "float", "double", "string", "binary", "datetime"]

BASE = pd.DataFrame({"a": [1, 2], "b": [1.0, 2.0], "c": ["x", "y"]})
THREE = [col("long", "a"), col("double", "b"), col("string", "c")]

CASES: list[tuple[str, list[dict[str, Any]], Any]] = [
    (f"{t}<-{k}", [col(t)], v) for t in PRIMITIVES for k, v in COLUMN_INPUTS.items()
]
CASES += [
    ("all_present", THREE, BASE),
    ("reordered", THREE, BASE[["c", "a", "b"]]),
    ("missing_c", THREE, BASE[["a", "b"]]),
    ("missing_c_with_extra", THREE, BASE[["a", "b"]].assign(z=1)),
    ("extra", THREE, BASE.assign(z=1)),
    ("optional_absent", [col("long", "a"), col("double", "b", False)], BASE[["a"]]),
    ("optional_wrong_type", [col("long", "a"), col("long", "b", False)], BASE[["a", "b"]]),
    ("nan_in_required", [col("double", "b")], pd.DataFrame({"b": [np.nan]})),
    ("dict_one_row", THREE, {"a": 1, "b": 2.0, "c": "x"}),
    ("dict_columns", THREE, {"a": [1, 2], "b": [1.0, 2.0], "c": ["x", "y"]}),
    (
        "dict_ndarrays",
        THREE,
        {"a": np.array([1, 2]), "b": np.array([1.0, 2.0]), "c": np.array(["x", "y"])},
    ),
    ("dict_2d_ndarray", THREE, {"a": np.zeros((2, 2)), "b": np.array([1.0, 2.0]), "c": ["x", "y"]}),
    ("dict_0d_str", [col("string", "q")], {"q": np.array("hi")}),
    ("dict_ragged", THREE, {"a": [1, 2], "b": [1.0], "c": "x"}),
    ("dict_list_of_str", [col("string", "a"), col("string", "b")], {"a": ["x", "y"], "b": "z"}),
    ("series_unnamed", [col("long", None)], pd.Series([1, 2])),
    ("series_named", [col("long", "s")], pd.Series([1, 2], name="s")),
    ("series_named_wrong", [col("long", "s")], pd.Series([1, 2], name="t")),
    ("scalar_str", [col("string", None)], "hi"),
    ("scalar_int", [col("long", None)], 5),
    ("scalar_float_to_long", [col("long", None)], 5.0),
    ("scalar_bool_to_long", [col("long", None)], True),
    ("scalar_np_f32", [col("float", None)], np.float32(1.0)),
    ("list_str", [col("string", None)], ["a", "b"]),
    ("list_int", [col("long", None)], [1, 2]),
    ("list_int_to_double", [col("double", None)], [1, 2]),
    ("list_01_to_double", [col("double", None)], [0, 1]),
    ("ndarray_columns", [col("double", None), col("double", None)], np.zeros((2, 2))),
    ("ndarray_too_few", [col("double", None), col("double", None)], np.zeros((2, 1))),
    ("ndarray_more", [col("double", None)], np.zeros((2, 3))),
    ("ndarray_1d", [col("long", None)], np.array([1, 2])),
    ("none", THREE, None),
    ("int_column_names", [col("long", 0), col("long", 1)], pd.DataFrame([[1, 2]])),
    ("list_of_dicts", [col("long", "a")], [{"a": 1}, {"a": 2}]),
    ("empty_frame", [col("long", "a")], pd.DataFrame({"a": pd.Series([], dtype="int64")})),
    (
        "custom_index",
        [col("double", "a")],
        pd.DataFrame({"a": [1, 2]}, dtype="int32", index=[5, 9]),
    ),
    # complex types
    ("arr_long", [col(arr("long"))], pd.DataFrame({"a": [[1, 2], [3]]})),
    (
        "arr_long_ndarray_cells",
        [col(arr("long"))],
        pd.DataFrame({"a": [np.array([1, 2]), np.array([3])]}),
    ),
    ("arr_integer", [col(arr("integer"))], pd.DataFrame({"a": [[1, 2], [3]]})),
    ("arr_double_of_ints", [col(arr("double"))], pd.DataFrame({"a": [[1, 2], [3]]})),
    ("arr_double_of_01", [col(arr("double"))], pd.DataFrame({"a": [[1, 0], [1]]})),
    ("arr_double", [col(arr("double"))], pd.DataFrame({"a": [[1.5], [3.0]]})),
    ("arr_float_of_doubles", [col(arr("float"))], pd.DataFrame({"a": [[1.5], [3.0]]})),
    ("arr_string", [col(arr("string"))], pd.DataFrame({"a": [["x"], ["y", "z"]]})),
    ("arr_string_of_ints", [col(arr("string"))], pd.DataFrame({"a": [[1], [2]]})),
    ("arr_boolean", [col(arr("boolean"))], pd.DataFrame({"a": [[True], [False, True]]})),
    ("arr_datetime", [col(arr("datetime"))], pd.DataFrame({"a": [[dt.datetime(2020, 1, 1)]]})),
    ("arr_empty_cell", [col(arr("string"))], pd.DataFrame({"a": [[], ["x"]]})),
    ("arr_none_required", [col(arr("string"))], pd.DataFrame({"a": [None, ["x"]]})),
    ("arr_none_optional", [col(arr("string"), "a", False)], pd.DataFrame({"a": [None, ["x"]]})),
    ("arr_not_a_list", [col(arr("string"))], pd.DataFrame({"a": ["x"]})),
    ("arr_any", [col(arr("any"))], pd.DataFrame({"a": [[1, "x"], []]})),
    ("arr_of_arr", [col(arr(arr("long")))], pd.DataFrame({"a": [[[1], [2, 3]]]})),
    ("arr_of_arr_bad", [col(arr(arr("long")))], pd.DataFrame({"a": [[1, 2]]})),
    ("arr_of_obj", [col(arr(obj(x="string")))], pd.DataFrame({"a": [[{"x": "a"}, {"x": "b"}]]})),
    ("arr_with_none_item", [col(arr("double"))], pd.DataFrame({"a": [[1.0, None]]})),
    ("arr_binary_of_str", [col(arr("binary"))], pd.DataFrame({"a": [["x", "y"]]})),
    ("arr_binary_of_bytes", [col(arr("binary"))], pd.DataFrame({"a": [[b"x"]]})),
    ("arr_boolean_of_ints", [col(arr("boolean"))], pd.DataFrame({"a": [[1, 0]]})),
    ("arr_long_of_bools", [col(arr("long"))], pd.DataFrame({"a": [[True]]})),
    ("arr_long_huge", [col(arr("long"))], pd.DataFrame({"a": [[2**63, 1]]})),
    ("arr_long_mixed_num", [col(arr("long"))], pd.DataFrame({"a": [[1, 2.0]]})),
    ("arr_double_mixed_num", [col(arr("double"))], pd.DataFrame({"a": [[1, 2.5]]})),
    ("arr_float_of_np32", [col(arr("float"))], pd.DataFrame({"a": [[np.float32(1.5)]]})),
    ("arr_integer_of_np32", [col(arr("integer"))], pd.DataFrame({"a": [[np.int32(1)]]})),
    ("arr_double_nan", [col(arr("double"))], pd.DataFrame({"a": [[float("nan")]]})),
    ("arr_string_of_np_str", [col(arr("string"))], pd.DataFrame({"a": [[np.str_("x")]]})),
    ("arr_datetime_of_str", [col(arr("datetime"))], pd.DataFrame({"a": [["2020-01-01"]]})),
    (
        "arr_ndarray_float32",
        [col(arr("double"))],
        pd.DataFrame({"a": [np.array([1.5], "float32")]}),
    ),
    (
        "obj_scalar_kinds",
        [col(obj(b="boolean", i="integer", f="float", d="double", s="string"))],
        pd.DataFrame({"a": [{"b": True, "i": 1, "f": 1.5, "d": 2, "s": "x"}]}),
    ),
    (
        "obj_np_kinds",
        [col(obj(b="boolean", i="integer", f="float", d="double", l="long"))],
        pd.DataFrame(
            {
                "a": [
                    {
                        "b": np.bool_(1),
                        "i": np.int32(1),
                        "f": np.float32(1),
                        "d": np.float32(2),
                        "l": np.int64(3),
                    }
                ]
            }
        ),
    ),
    ("obj_01_to_float", [col(obj(x="float"))], pd.DataFrame({"a": [{"x": 0}]})),
    ("obj_int_to_integer", [col(obj(x="integer"))], pd.DataFrame({"a": [{"x": 7}]})),
    ("obj_huge_int", [col(obj(x="long"))], pd.DataFrame({"a": [{"x": 2**64}]})),
    ("obj_bool_to_double", [col(obj(x="double"))], pd.DataFrame({"a": [{"x": True}]})),
    ("obj_str_to_binary", [col(obj(x="binary"))], pd.DataFrame({"a": [{"x": "s"}]})),
    ("obj_str_to_datetime", [col(obj(x="datetime"))], pd.DataFrame({"a": [{"x": "2020-01-01"}]})),
    ("obj_nan_required", [col(obj(x="double"))], pd.DataFrame({"a": [{"x": float("nan")}]})),
    ("map_of_floats", [col(mapping("float"))], pd.DataFrame({"a": [{"k": 1.5}]})),
    ("obj", [col(obj(x="long", y="string"))], pd.DataFrame({"a": [{"x": 1, "y": "s"}]})),
    ("obj_missing_prop", [col(obj(x="long", y="string"))], pd.DataFrame({"a": [{"x": 1}]})),
    ("obj_extra_prop", [col(obj(x="long"))], pd.DataFrame({"a": [{"x": 1, "z": 2}]})),
    (
        "obj_optional_prop",
        [col(obj(x="long", y={"type": "string", "required": False}))],
        pd.DataFrame({"a": [{"x": 1}]}),
    ),
    (
        "obj_optional_prop_none",
        [col(obj(x="long", y={"type": "string", "required": False}))],
        pd.DataFrame({"a": [{"x": 1, "y": None}]}),
    ),
    ("obj_required_prop_none", [col(obj(x="long"))], pd.DataFrame({"a": [{"x": None}]})),
    ("obj_wrong_prop_type", [col(obj(x="long"))], pd.DataFrame({"a": [{"x": "s"}]})),
    ("obj_int_to_double", [col(obj(x="double"))], pd.DataFrame({"a": [{"x": 5}]})),
    ("obj_01_to_double", [col(obj(x="double"))], pd.DataFrame({"a": [{"x": 1}]})),
    ("obj_float_to_long", [col(obj(x="long"))], pd.DataFrame({"a": [{"x": 1.0}]})),
    ("obj_nested", [col(obj(x=obj(y=arr("long"))))], pd.DataFrame({"a": [{"x": {"y": [1, 2]}}]})),
    ("obj_in_dict_row", [col(obj(x="long"), "a"), col("string", "b")], {"a": {"x": 1}, "b": "s"}),
    ("obj_not_a_dict", [col(obj(x="long"))], pd.DataFrame({"a": ["s"]})),
    ("obj_optional_none", [col(obj(x="long"), "a", False)], pd.DataFrame({"a": [None, {"x": 1}]})),
    ("map_long", [col(mapping("long"))], pd.DataFrame({"a": [{"k": 1, "j": 2}]})),
    ("map_bad_value", [col(mapping("long"))], pd.DataFrame({"a": [{"k": "s"}]})),
    ("map_int_key", [col(mapping("long"))], pd.DataFrame({"a": [{1: 1}]})),
    ("map_empty_required", [col(mapping("long"))], pd.DataFrame({"a": [{}]})),
    ("map_any_none", [col(mapping("any"))], pd.DataFrame({"a": [None]})),
    ("any_column", [col("any")], pd.DataFrame({"a": [1, "x", None]})),
    (
        "messages_chat",
        [col(arr(obj(role="string", content="string")), "messages")],
        {"messages": [{"role": "user", "content": "hi"}]},
    ),
    # tensors
    ("t_exact", [ten("float64", [-1, 4])], np.zeros((3, 4))),
    ("t_wrong_dim", [ten("float64", [-1, 4])], np.zeros((3, 3))),
    ("t_wrong_rank", [ten("float64", [-1, 4])], np.zeros((3, 4, 1))),
    ("t_fixed_first_dim", [ten("float64", [3, 4])], np.zeros((2, 4))),
    ("t_dtype_narrower", [ten("float64", [-1, 4])], np.zeros((3, 4), dtype="float32")),
    ("t_int_for_float", [ten("float64", [-1, 2])], np.zeros((3, 2), dtype="int64")),
    ("t_str", [ten("str", [-1])], np.array(["ab", "c"])),
    ("t_bytes", [ten("bytes", [-1])], np.array([b"ab", b"c"])),
    ("t_object_accepts_all", [ten("object", [-1])], np.array([1, "x"], dtype=object)),
    ("t_object_accepts_floats", [ten("object", [-1])], np.zeros(3)),
    ("t_ragged", [ten("float64", [-1, -1])], np.array([np.zeros(2), np.zeros(3)], dtype=object)),
    ("t_df_multi", [ten("float64", [-1, 2])], pd.DataFrame({"a": [1.0], "b": [2.0]})),
    ("t_df_multi_int", [ten("float64", [-1, 2])], pd.DataFrame({"a": [1], "b": [2]})),
    ("t_df_multi_wrong_shape", [ten("float64", [-1, 3])], pd.DataFrame({"a": [1.0], "b": [2.0]})),
    ("t_df_one_scalar", [ten("float64", [-1])], pd.DataFrame({"a": [1, 2]})),
    ("t_df_one_scalar_col", [ten("float32", [-1, 1])], pd.DataFrame({"a": [1, 2]})),
    ("t_df_one_scalar_bad_shape", [ten("float64", [-1, 2])], pd.DataFrame({"a": [1, 2]})),
    ("t_df_one_str_to_float", [ten("float64", [-1])], pd.DataFrame({"a": ["x"]})),
    ("t_df_one_lists", [ten("float32", [-1, 2])], pd.DataFrame({"a": [[1, 2], [3, 4]]})),
    ("t_df_one_lists_bad", [ten("float32", [-1, 3])], pd.DataFrame({"a": [[1, 2], [3, 4]]})),
    (
        "t_df_one_ndarrays",
        [ten("float32", [-1, 2])],
        pd.DataFrame({"a": [np.array([1, 2]), np.array([3, 4])]}),
    ),
    ("t_df_one_dicts", [ten("float32", [-1, 2])], pd.DataFrame({"a": [{"x": 1}]})),
    ("t_df_empty", [ten("float64", [-1])], pd.DataFrame({"a": []})),
    ("t_plain_list", [ten("float64", [-1])], [1.0, 2.0]),
    ("t_series", [ten("float64", [-1])], pd.Series([1.0])),
    ("t_scalar", [ten("float64", [-1])], 5.0),
    (
        "t_named",
        [ten("float64", [-1, 2], "x"), ten("int64", [-1], "y")],
        {"x": np.zeros((2, 2)), "y": np.array([1, 2])},
    ),
    (
        "t_named_missing",
        [ten("float64", [-1, 2], "x"), ten("int64", [-1], "y")],
        {"x": np.zeros((2, 2))},
    ),
    ("t_named_extra", [ten("float64", [-1, 2], "x")], {"x": np.zeros((2, 2)), "z": np.zeros(1)}),
    ("t_named_list_value", [ten("float64", [-1, 2], "x")], {"x": [[1.0, 2.0]]}),
    ("t_named_bare_array", [ten("float64", [-1, 2], "x")], np.zeros((2, 2))),
    (
        "t_named_frame",
        [ten("float64", [-1], "x"), ten("float32", [-1, 2], "y")],
        pd.DataFrame({"x": [1.0, 2.0], "y": [[1, 2], [3, 4]]}),
    ),
    (
        "t_named_frame_inner_var",
        [ten("float64", [-1, -1], "x")],
        pd.DataFrame({"x": [[1.0], [2.0]]}),
    ),
    ("t_named_wrong_dtype", [ten("float64", [-1], "x")], {"x": np.array([1, 2])}),
    ("t_named_series", [ten("float64", [-1], "x")], pd.Series([1.0], name="x")),
]


def _sparse_cases() -> list[tuple[str, list[dict[str, Any]], Any]]:
    try:
        import scipy.sparse as sp
    except ImportError:
        return []
    return [
        ("t_csr", [ten("float64", [-1, 3])], sp.csr_matrix(np.eye(3))),
        ("t_csc", [ten("float64", [-1, 3])], sp.csc_matrix(np.eye(3))),
        ("t_csr_wrong_dtype", [ten("float32", [-1, 3])], sp.csr_matrix(np.eye(3))),
        ("t_csr_wrong_shape", [ten("float64", [-1, 4])], sp.csr_matrix(np.eye(3))),
    ]


CASES += _sparse_cases()
assert len({name for name, _, _ in CASES}) == len(CASES)


def describe(out: Any) -> Any:
    """A comparable summary of converted data: dtypes, shapes and the values themselves."""
    if isinstance(out, pd.DataFrame):
        return (
            "frame",
            [str(c) for c in out.columns],
            [str(t) for t in out.dtypes],
            list(out.index),
            [[_value(v) for v in out[c]] for c in out.columns],
        )
    if isinstance(out, np.ndarray):
        return ("ndarray", str(out.dtype), out.shape, _value(out))
    if isinstance(out, dict):
        return ("dict", {k: describe(v) for k, v in out.items()})
    return (type(out).__name__, getattr(out, "shape", None))


def _value(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return ("nd", str(v.dtype), [_value(x) for x in v.tolist()])
    if isinstance(v, list):
        return [_value(x) for x in v]
    if isinstance(v, dict):
        return {k: _value(x) for k, x in v.items()}
    if isinstance(v, float) and np.isnan(v):
        return "nan"
    if v is None or v is pd.NA or v is pd.NaT:
        return repr(v)
    return (type(v).__name__, repr(v))


def _run(fn: Callable[[Any, Any], Any], data: Any, schema: Any) -> tuple[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return "ok", describe(fn(copy.deepcopy(data), schema))
        except Exception:
            return "rejected", None


@pytest.mark.parametrize(("name", "spec", "data"), CASES, ids=[c[0] for c in CASES])
def test_enforce_input_matches_mlflow(name: str, spec: list[dict[str, Any]], data: Any) -> None:
    text = json.dumps(spec)
    theirs = _run(_enforce_schema, data, MlSchema.from_json(text))
    ours = _run(enforce_input, data, Schema.from_json(text))
    assert ours == theirs


# Where our detail text differs on purpose: a shorter missing-values hint in our own words,
# and no doubled space in the column-count message.
_MESSAGE_DIVERGENCES = {"integer<-float_nan", "long<-float_nan", "ndarray_too_few"}


@pytest.mark.parametrize(("name", "spec", "data"), CASES, ids=[c[0] for c in CASES])
def test_rejection_messages_match_pyfunc(name: str, spec: list[dict[str, Any]], data: Any) -> None:
    """The full message pyfunc raises ("Failed to enforce schema of data ...") is ours too."""
    text = json.dumps(spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. pandas formatting float16 frames
        try:
            _validate_prediction_input(copy.deepcopy(data), None, MlSchema.from_json(text), None)
            theirs = None
        except Exception as exc:
            theirs = str(exc)
        try:
            enforce_input(copy.deepcopy(data), Schema.from_json(text))
            ours = None
        except Exception as exc:
            ours = str(exc)
    assert (ours is None) == (theirs is None)
    if ours is None or theirs is None:
        return
    head = "Failed to enforce schema of data '"
    assert ours.startswith(head) and theirs.startswith(head)
    if name in _MESSAGE_DIVERGENCES:
        assert ours.split(". Error: ")[0] == theirs.split(". Error: ")[0]
    else:
        assert ours == theirs


# --- params --------------------------------------------------------------------------------


def p(name: str, t: str, default: Any, shape: list[int] | None = None) -> dict[str, Any]:
    return {"name": name, "default": default, "shape": shape, "type": t}


PARAM_SCHEMAS: dict[str, list[dict[str, Any]]] = {
    "long": [p("a", "long", 1)],
    "integer": [p("a", "integer", 1)],
    "float": [p("a", "float", 1.0)],
    "double": [p("a", "double", 1.0)],
    "boolean": [p("a", "boolean", True)],
    "string": [p("a", "string", "x")],
    "datetime": [p("a", "datetime", "2020-01-01T00:00:00")],
    "long_list": [p("a", "long", [1], [-1])],
    "double_list": [p("a", "double", [1.0], [-1])],
    "string_list": [p("a", "string", ["x"], [-1])],
    "datetime_list": [p("a", "datetime", ["2020-01-01"], [-1])],
    "object": [
        {
            "name": "a",
            "default": {"x": 1},
            "shape": None,
            **obj(x="long", y={"type": "string", "required": False}),
        }
    ],
    "two": [p("a", "long", 1), p("b", "string", "z")],
    "none_default": [p("a", "long", None)],
}
PARAM_VALUES: list[Any] = [
    1,
    2,
    0,
    -5,
    10**20,
    True,
    False,
    1.5,
    2.0,
    float("nan"),
    np.float32(1.5),
    np.int32(3),
    np.int64(3),
    np.float64(2.5),
    np.bool_(True),
    np.str_("s"),
    "x",
    "",
    "2020-01-01",
    "2020-01-01T10:00:00",
    "nope",
    dt.datetime(2020, 1, 1),
    dt.date(2020, 1, 1),
    np.datetime64("2020-01-01"),
    np.datetime64("2020-01-01T00:00:00.000000001"),
    [1, 2],
    [1.5],
    ["a"],
    [True],
    [],
    [[1]],
    [1, "a"],
    [None],
    np.array([1, 2]),
    np.array([[1]]),
    {"x": 1},
    {"x": "s"},
    {"y": "s"},
    {"x": 1, "z": 2},
    {},
    None,
    b"x",
    (1, 2),
]


def _run_params(fn: Callable[[Any, Any], Any], params: Any, schema: Any) -> tuple[str, str | None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return "ok", repr(fn(copy.deepcopy(params), schema))  # repr: types and values
        except Exception:
            return "rejected", None


@pytest.mark.parametrize("schema", sorted(PARAM_SCHEMAS))
def test_enforce_params_matches_mlflow(schema: str) -> None:
    """Every value of PARAM_VALUES, alone and next to an unknown param (one test per schema)."""
    text = json.dumps(PARAM_SCHEMAS[schema])
    mismatches = []
    for value in PARAM_VALUES:
        for params in ({"a": value}, {"a": value, "zz": 1}):
            theirs = _run_params(_enforce_params_schema, params, MlParamSchema.from_json(text))
            ours = _run_params(enforce_params, params, ParamSchema.from_json(text))
            if ours != theirs:
                mismatches.append((params, theirs, ours))
    assert not mismatches


@pytest.mark.parametrize("params", [None, {}, [1], {1: 2}, {"b": "q"}], ids=repr)
@pytest.mark.parametrize("schema", [None, "two"])
def test_enforce_params_edges_match_mlflow(params: Any, schema: str | None) -> None:
    text = json.dumps(PARAM_SCHEMAS[schema]) if schema else None
    theirs = _run_params(
        _enforce_params_schema, params, MlParamSchema.from_json(text) if text else None
    )
    ours = _run_params(enforce_params, params, ParamSchema.from_json(text) if text else None)
    assert ours == theirs


# --- end to end through a real mlflow.pyfunc model -----------------------------------------

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # MLflow suggests type hints at class creation

    class _Echo(mlflow.pyfunc.PythonModel):  # type: ignore[misc,name-defined]
        """Reports what pyfunc handed it (no type hints, so the signature is enforced)."""

        def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
            return {"input": describe(model_input), "params": repr(params)}


_PYFUNC_CASES = [
    c
    for c in CASES
    if c[0].split("<-")[0] in ("long", "double", "string", "datetime")
    or c[0].split("<-")[0] not in PRIMITIVES
]


@pytest.fixture(scope="module")
def pyfunc_models(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, str | None], Any]:
    cache: dict[tuple[str, str | None], Any] = {}

    def load(inputs: str, params: str | None = None) -> Any:
        key = (inputs, params)
        if key not in cache:
            ours = ModelSignature.from_dict({"inputs": inputs, "outputs": None, "params": params})
            # the signature MLflow reads is the one *we* wrote
            signature = mlflow.models.ModelSignature.from_dict(ours.to_dict())
            path = tmp_path_factory.mktemp("pyfunc") / "model"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                mlflow.pyfunc.save_model(
                    str(path),
                    python_model=_Echo(),
                    signature=signature,
                    pip_requirements=["mlflow"],  # skip the slow requirement inference
                )
                cache[key] = mlflow.pyfunc.load_model(str(path))
        return cache[key]

    return load


@pytest.mark.parametrize(("name", "spec", "data"), _PYFUNC_CASES, ids=[c[0] for c in _PYFUNC_CASES])
def test_pyfunc_predict_sees_what_we_produce(
    name: str, spec: list[dict[str, Any]], data: Any, pyfunc_models: Callable[..., Any]
) -> None:
    model = pyfunc_models(json.dumps(spec))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            theirs: Any = model.predict(copy.deepcopy(data))["input"]
        except mlflow.exceptions.MlflowException:
            theirs = "rejected"
    ours = _run(enforce_input, data, Schema.from_json(json.dumps(spec)))
    assert (ours[1] if ours[0] == "ok" else "rejected") == theirs


@pytest.mark.parametrize("schema", ["long", "double", "datetime", "long_list", "object", "two"])
@pytest.mark.parametrize(
    "value", [1, 2.5, True, "2020-01-01", [1, 2], {"x": 1}, None, np.int32(3)], ids=repr
)
def test_pyfunc_params_match(schema: str, value: Any, pyfunc_models: Callable[..., Any]) -> None:
    model = pyfunc_models('[{"type": "long", "required": true}]', json.dumps(PARAM_SCHEMAS[schema]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            theirs = model.predict([1], params={"a": value, "zz": 0})["params"]
        except mlflow.exceptions.MlflowException:
            theirs = "rejected"
    ours = _run_params(
        enforce_params,
        {"a": value, "zz": 0},
        ParamSchema.from_json(json.dumps(PARAM_SCHEMAS[schema])),
    )
    assert (ours[1] if ours[0] == "ok" else "rejected") == theirs


def test_model_written_signature_loads_in_mlflow(tmp_path: Path) -> None:
    """A signature built by modelshelf, written to MLmodel by MLflow, reads back identically."""
    from modelshelf.models.signature import infer_signature

    df = pd.DataFrame({"a": [1, 2], "b": [[1.0], [2.0]], "c": [{"k": "v"}, {"k": "w"}]})
    ours = infer_signature(df, np.array([1.0, 2.0]), {"n": 3, "when": dt.datetime(2020, 1, 1)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlflow.pyfunc.save_model(
            str(tmp_path / "m"),
            python_model=_Echo(),
            signature=mlflow.models.ModelSignature.from_dict(ours.to_dict()),
            pip_requirements=["mlflow"],
        )
    loaded = mlflow.models.Model.load(str(tmp_path / "m"))
    assert loaded.signature.to_dict() == ours.to_dict()
    assert ModelSignature.from_dict(loaded.signature.to_dict()) == ours
