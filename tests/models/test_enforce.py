"""Predict-time enforcement (docs/explanation/mlflow-format.md §8): conversions, messages, warnings, speed."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import numpy as np
import pandas as pd
import pytest

from modelshelf.errors import (
    InvalidInputError,
    MalformedMetadataError,
    ModelshelfWarning,
    SchemaEnforcementError,
)
from modelshelf.models._enforce import enforce_input, enforce_params
from modelshelf.models.signature import (
    Array,
    ColSpec,
    DataType,
    Map,
    Object,
    ParamSchema,
    ParamSpec,
    Property,
    Schema,
    TensorSpec,
)


def one(t: Any, name: str | None = "a", required: bool = True) -> Schema:
    return Schema([ColSpec(t, name, required)])


def col(dtype: str, values: list[Any] | None = None) -> pd.DataFrame:
    return pd.DataFrame({"a": np.array(values or [1, 0], dtype=dtype)})


# --- columns -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "target", "result"),
    [
        ("int8", DataType.integer, "int32"),
        ("int16", DataType.long, "int64"),
        ("int32", DataType.long, "int64"),
        ("int32", DataType.double, "float64"),
        ("uint8", DataType.integer, "int32"),
        ("uint32", DataType.long, "int64"),
        ("uint32", DataType.double, "float64"),
        ("float16", DataType.float, "float32"),
        ("float32", DataType.double, "float64"),
        ("int64", DataType.long, "int64"),
        ("bool", DataType.boolean, "bool"),
        ("datetime64[s]", DataType.datetime, "datetime64[ns]"),
    ],
)
def test_safe_widening(source: str, target: DataType, result: str) -> None:
    values = [1, 0] if "datetime" not in source else ["2020-01-01", "2021-01-01"]
    out = enforce_input(col(source, values), one(target))
    assert str(out["a"].dtype) == result


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("int64", DataType.integer),
        ("uint32", DataType.integer),
        ("uint64", DataType.long),
        ("float64", DataType.float),
        ("float32", DataType.long),
        ("bool", DataType.double),
        ("int64", DataType.string),
        ("int64", DataType.boolean),
        ("float64", DataType.datetime),
    ],
)
def test_unsafe_conversions_rejected(source: str, target: DataType) -> None:
    with pytest.raises(SchemaEnforcementError, match="Incompatible input types for column a"):
        enforce_input(col(source, [1, 2]), one(target))


def test_int64_to_double_message_and_zero_one_exception() -> None:
    with pytest.raises(SchemaEnforcementError) as info:
        enforce_input(pd.DataFrame({"a": [1, 2]}), one(DataType.double))
    message = str(info.value)
    assert message.startswith("Failed to enforce schema of data '")
    assert "with schema '['a': double (required)]'" in message
    assert message.endswith(
        "Error: Incompatible input types for column a. Can not safely convert int64 to float64."
    )
    out = enforce_input(pd.DataFrame({"a": [1, 0, 1]}), one(DataType.float))
    assert out["a"].dtype == np.float32


def test_missing_values_hint() -> None:
    with pytest.raises(SchemaEnforcementError, match="likely caused by missing values"):
        enforce_input(pd.DataFrame({"a": [1.0, np.nan]}), one(DataType.long))


def test_strings_binary_datetime() -> None:
    strings = pd.DataFrame({"a": ["x", None]})
    assert enforce_input(strings, one(DataType.string))["a"].dtype == strings["a"].dtype
    assert enforce_input(pd.DataFrame({"a": [b"x"]}), one(DataType.binary))["a"].tolist() == [b"x"]
    assert enforce_input(pd.DataFrame({"a": ["x"]}), one(DataType.binary))["a"].tolist() == ["x"]
    dates = pd.DataFrame({"a": [dt.date(2020, 1, 1)]})
    assert enforce_input(dates, one(DataType.datetime))["a"].dtype == "datetime64[ns]"
    with pytest.raises(SchemaEnforcementError, match="Can not safely convert str"):
        enforce_input(pd.DataFrame({"a": ["2020-01-01"]}), one(DataType.datetime))
    aware = pd.DataFrame({"a": pd.to_datetime(["2020-01-01"]).tz_localize("UTC")})
    with pytest.raises(SchemaEnforcementError, match="timezone-naive"):
        enforce_input(aware, one(DataType.datetime))


def test_nan_in_required_column_passes() -> None:
    out = enforce_input(pd.DataFrame({"a": [np.nan]}), one(DataType.double))
    assert out["a"].isna().all()


def test_named_schema_presence_order_and_extras() -> None:
    schema = Schema(
        [ColSpec("long", "a"), ColSpec("double", "b"), ColSpec("string", "c", required=False)]
    )
    df = pd.DataFrame({"z": [0], "b": [1.5], "a": [1]}, index=[7])
    with pytest.warns(ModelshelfWarning, match=r"extra inputs .*\['z'\]"):
        out = enforce_input(df, schema)
    assert list(out.columns) == ["a", "b"]  # schema order; absent optional `c` omitted
    assert list(out.index) == [7]
    with pytest.raises(SchemaEnforcementError, match=r"Model is missing inputs \['b'\]\.$"):
        enforce_input(pd.DataFrame({"a": [1]}), schema)
    with pytest.raises(
        SchemaEnforcementError,
        match=r"Model is missing inputs \['b'\]\. Note that there were extra inputs: \['q'\]\.",
    ):
        enforce_input(pd.DataFrame({"a": [1], "q": [2]}), schema)


def test_unnamed_schema_checks_count_only() -> None:
    schema = Schema([ColSpec("double"), ColSpec("double")])
    out = enforce_input(np.zeros((2, 3)), schema)
    assert out.shape == (2, 2)
    with pytest.raises(SchemaEnforcementError, match="declares 2 inputs"):
        enforce_input(np.zeros((2, 1)), schema)


def test_preconversion_of_dicts_lists_scalars() -> None:
    schema = Schema([ColSpec("string", "q"), ColSpec("long", "k")])
    assert enforce_input({"q": "x", "k": 1}, schema).shape == (1, 2)
    assert enforce_input({"q": ["x", "y"], "k": [1, 2]}, schema).shape == (2, 2)
    assert enforce_input("hi", one(DataType.string, None)).iloc[0, 0] == "hi"
    assert enforce_input([1, 2], one(DataType.long, None)).shape == (2, 1)
    with pytest.raises(
        SchemaEnforcementError, match="Expected input to be DataFrame. Found: NoneType"
    ):
        enforce_input(None, schema)


# --- complex types -------------------------------------------------------------------------


def test_arrays_objects_maps() -> None:
    schema = Schema(
        [
            ColSpec(Array(DataType.string), "tags"),
            ColSpec(Object([Property("x", "long"), Property("y", "double", required=False)]), "o"),
            ColSpec(Map(DataType.long), "m"),
        ]
    )
    row = {"tags": ["a", "b"], "o": {"x": 1}, "m": {"k": 2}}
    out = enforce_input(row, schema)
    assert out["tags"].iloc[0] == ["a", "b"]
    assert out["o"].iloc[0] == {"x": 1}
    assert row["o"] == {"x": 1}  # the caller's data is not mutated
    with pytest.raises(SchemaEnforcementError, match="Missing required properties"):
        enforce_input({**row, "o": {"y": 1.0}}, schema)
    with pytest.raises(SchemaEnforcementError, match="Invalid properties not defined"):
        enforce_input({**row, "o": {"x": 1, "z": 1}}, schema)
    with pytest.raises(SchemaEnforcementError, match="map type data are string type"):
        enforce_input({**row, "m": {1: 2}}, schema)
    with pytest.raises(SchemaEnforcementError, match="Expected data to be list or numpy array"):
        enforce_input({**row, "tags": "a"}, schema)


def test_optional_array_accepts_none_and_any_passes() -> None:
    schema = Schema([ColSpec(Array("long"), "a", required=False), ColSpec("any", "b")])
    out = enforce_input(pd.DataFrame({"a": [None, [1]], "b": [object, 1]}), schema)
    assert out["a"].iloc[0] is None


# --- tensors -------------------------------------------------------------------------------


def test_tensor_rank_shape_dtype() -> None:
    schema = Schema([TensorSpec(np.dtype("float64"), (-1, 4))])
    x = np.zeros((3, 4))
    assert enforce_input(x, schema) is x
    with pytest.raises(
        SchemaEnforcementError,
        match=r"Shape of input \(3, 3\) does not match expected shape \(-1, 4\)\.",
    ):
        enforce_input(np.zeros((3, 3)), schema)
    with pytest.raises(
        SchemaEnforcementError, match="dtype of input float32 does not match expected dtype float64"
    ):
        enforce_input(np.zeros((3, 4), dtype="float32"), schema)
    with pytest.raises(SchemaEnforcementError, match="found"):
        enforce_input([[0.0] * 4], schema)  # plain lists are not tensors


def test_tensor_from_dataframe() -> None:
    schema = Schema([TensorSpec(np.dtype("float32"), (-1, 2))])
    out = enforce_input(pd.DataFrame({"a": [[1, 2], [3, 4]]}), schema)
    assert out.dtype == np.float32 and out.shape == (2, 2)
    wide = Schema([TensorSpec(np.dtype("float64"), (-1, 2))])
    assert enforce_input(pd.DataFrame({"a": [1.0], "b": [2.0]}), wide).shape == (1, 2)
    with pytest.raises(SchemaEnforcementError, match="dtype of input int64"):
        enforce_input(pd.DataFrame({"a": [1], "b": [2]}), wide)


def test_named_tensors() -> None:
    schema = Schema(
        [TensorSpec(np.dtype("float64"), (-1, 2), "x"), TensorSpec(np.dtype("int64"), (-1,), "y")]
    )
    data = {"x": np.zeros((2, 2)), "y": np.array([1, 2])}
    out = enforce_input(data, schema)
    assert set(out) == {"x", "y"}
    with pytest.raises(SchemaEnforcementError, match=r"Model is missing inputs \['y'\]"):
        enforce_input({"x": np.zeros((2, 2))}, schema)
    single = Schema([TensorSpec(np.dtype("float64"), (-1,), "x")])
    assert set(enforce_input(np.zeros(3), single)) == {"x"}


def test_sparse_tensor() -> None:
    sp = pytest.importorskip("scipy.sparse")
    schema = Schema([TensorSpec(np.dtype("float64"), (-1, 3))])
    m = sp.csr_matrix(np.eye(3))
    assert enforce_input(m, schema) is m


# --- params --------------------------------------------------------------------------------


PARAMS = ParamSchema(
    [
        ParamSpec("k", "long", 3),
        ParamSpec("t", "double", 0.5),
        ParamSpec("stops", "string", ["."], shape=(-1,)),
        ParamSpec("when", "datetime", "2020-01-01"),
    ]
)


def test_params_defaults_widening_and_unknown() -> None:
    out = enforce_params({"t": 2, "k": np.int32(4)}, PARAMS)
    assert out == {"t": 2.0, "k": 4, "stops": ["."], "when": dt.date(2020, 1, 1)}
    assert isinstance(out["t"], float) and type(out["k"]) is int
    with pytest.warns(ModelshelfWarning, match=r"Unrecognized params \['zz'\]"):
        assert "zz" not in enforce_params({"zz": 1}, PARAMS)
    assert enforce_params(None, PARAMS) == {
        "k": 3,
        "t": 0.5,
        "stops": ["."],
        "when": dt.date(2020, 1, 1),
    }


def test_params_errors_are_aggregated() -> None:
    with pytest.raises(SchemaEnforcementError) as info:
        enforce_params({"k": True, "t": "x", "stops": "."}, PARAMS)
    message = str(info.value)
    assert message.startswith("Invalid parameters found: {")
    for name in ("'k'", "'t'", "'stops'"):
        assert name in message
    with pytest.raises(SchemaEnforcementError, match="Parameters must be a dictionary"):
        enforce_params([1], PARAMS)  # type: ignore[call-overload]


def test_params_without_schema() -> None:
    assert enforce_params(None, None) is None
    assert enforce_params({}, None) == {}
    with pytest.warns(ModelshelfWarning, match="does not define a params schema"):
        assert enforce_params({"a": 1}, None) == {}


def test_params_non_string_keys_converted() -> None:
    schema = ParamSchema([ParamSpec("1", "long", 0)])
    with pytest.warns(ModelshelfWarning, match="non-string keys"):
        assert enforce_params({1: 5}, schema) == {"1": 5}


def test_object_param_validated_but_unchanged() -> None:
    schema = ParamSchema([ParamSpec("cfg", Object([Property("x", "double")]), {"x": 1.0})])
    value = {"x": 1}
    out = enforce_params({"cfg": value}, schema)
    assert out["cfg"] is value
    with pytest.raises(SchemaEnforcementError, match="cfg"):
        enforce_params({"cfg": {"x": "s"}}, schema)


def test_enforcement_errors_are_input_errors_not_metadata_errors() -> None:
    # Issue 12: bad input data is not bad metadata; callers catch InvalidInputError/ValueError.
    assert issubclass(SchemaEnforcementError, InvalidInputError)
    assert issubclass(SchemaEnforcementError, ValueError)
    assert not issubclass(SchemaEnforcementError, MalformedMetadataError)


# --- speed ---------------------------------------------------------------------------------


def test_10k_rows_enforce_in_a_few_ms() -> None:
    n = 10_000
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "i32": rng.integers(0, 100, n).astype("int32"),
            "i64": rng.integers(0, 100, n),
            "f32": rng.random(n).astype("float32"),
            "f64": rng.random(n),
            "s": rng.choice(["a", "b"], n),
            "b": rng.random(n) > 0.5,
            "t": pd.date_range("2020-01-01", periods=n, freq="s"),
            "flag": rng.integers(0, 2, n),
        }
    )
    schema = Schema(
        [
            ColSpec("double", "i32"),
            ColSpec("long", "i64"),
            ColSpec("double", "f32"),
            ColSpec("double", "f64"),
            ColSpec("string", "s"),
            ColSpec("boolean", "b"),
            ColSpec("datetime", "t"),
            ColSpec("float", "flag"),  # int64 0/1 exception, checked on every value
        ]
    )
    enforce_input(df, schema)  # warm up
    best = min(_timed(lambda: enforce_input(df, schema)) for _ in range(5))
    assert best < 0.05, f"enforcement took {best * 1000:.1f} ms"


def _timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# --- the cached fast path for cells equals the Series-based rules --------------------------

_CELL_VALUES: list[Any] = [
    True, False, 0, 1, 2, -3, 2**62, 1.0, 2.5, float("nan"), "x", "2020-01-01",
    np.bool_(False), np.int64(1), np.int64(5), np.int32(0), np.int32(7),
    np.float64(0.5), np.float32(1.0), np.float32(2.5),
]  # fmt: skip


@pytest.mark.parametrize("t", list(DataType), ids=lambda t: t.name)
def test_cell_fast_path_matches_series_rules(t: DataType) -> None:
    from modelshelf.models import _enforce as e

    for value in _CELL_VALUES:
        try:
            slow: Any = e._enforce_datatype_column("", pd.Series([value]), t).iloc[0]
        except e._Reject:
            slow = "rejected"
        try:
            fast: Any = e._enforce_scalar(value, t, True)
        except e._Reject:
            fast = "rejected"
        assert (type(fast), repr(fast)) == (type(slow), repr(slow)), value
        if isinstance(value, (bool, int, float, str)):
            try:
                slow_list: Any = (
                    e._enforce_datatype_column("", pd.Series([value, value]), t)
                    .to_numpy(dtype=t.to_numpy())
                    .tolist()
                )
            except e._Reject:
                slow_list = "rejected"
            try:
                fast_list: Any = e._enforce_array([value, value], Array(t), True)
            except e._Reject:
                fast_list = "rejected"
            assert repr(fast_list) == repr(slow_list), value


def test_complex_columns_are_fast_enough() -> None:
    n = 10_000
    df = pd.DataFrame({"a": [[1, 2, 3]] * n, "o": [{"x": 1, "y": "s"}] * n})
    schema = Schema(
        [
            ColSpec(Array(DataType.long), "a"),
            ColSpec(Object([Property("x", "long"), Property("y", "string")]), "o"),
        ]
    )
    enforce_input(df.head(), schema)
    best = min(_timed(lambda: enforce_input(df, schema)) for _ in range(2))
    assert best < 1.5, f"{best:.2f}s (MLflow itself needs ~3.5s here)"
