"""Parity with real MLflow: signature inference, JSON writing and JSON reading."""

from __future__ import annotations

import datetime as dt
import decimal
import importlib
import json
import logging
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelshelf.errors import InvalidInputError, MalformedMetadataError, ModelshelfWarning
from modelshelf.models.signature import ModelSignature, ParamSchema, Schema, infer_signature

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # importing mlflow.pyfunc warns about MLflow's own classes
    mlflow = pytest.importorskip("mlflow")
    importlib.import_module("mlflow.pyfunc")
from mlflow.models import infer_signature as ml_infer_signature  # noqa: E402
from mlflow.models.signature import ModelSignature as MlModelSignature  # noqa: E402
from mlflow.types.schema import ParamSchema as MlParamSchema  # noqa: E402
from mlflow.types.schema import Schema as MlSchema  # noqa: E402

pytestmark = [
    pytest.mark.interop,
    pytest.mark.filterwarnings("ignore:Add type hints to the `predict` method:UserWarning"),
]


def _sparse() -> dict[str, Any]:
    try:
        import scipy.sparse as sp
    except ImportError:
        return {}
    return {
        "csr": sp.csr_matrix(np.eye(3)),
        "csc_f32": sp.csc_matrix(np.eye(3, dtype="float32")),
    }


def _frame(**cols: Any) -> pd.DataFrame:
    return pd.DataFrame(cols)


DATA: dict[str, Any] = {
    "df_basic": _frame(a=[1, 2], b=[1.0, 2.0], c=["x", "y"], d=[True, False]),
    "df_ints": pd.DataFrame(
        {
            k: np.array([1, 2], dtype=k)
            for k in ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32"]
        }
    ),
    "df_floats": pd.DataFrame(
        {k: np.array([1, 2], dtype=k) for k in ["float16", "float32", "float64"]}
    ),
    "df_uint64": _frame(a=np.array([1, 2], dtype="uint64")),
    "df_nan": _frame(a=[1.0, np.nan], b=["x", None], c=[None, None]),
    "df_bytes": _frame(a=[b"x", b"y"]),
    "df_datetime": _frame(a=pd.to_datetime(["2020-01-01", "2021-01-01"])),
    "df_datetime_tz": _frame(a=pd.to_datetime(["2020-01-01"]).tz_localize("UTC")),
    "df_datetime_s": _frame(a=np.array(["2020-01-01"], dtype="datetime64[s]")),
    "df_list_cells": _frame(a=[[1, 2], [3]], b=[["x"], []]),
    "df_dict_cells": _frame(a=[{"x": 1, "y": "s"}, {"x": 2}]),
    "df_mixed_object": _frame(a=[1, "x"]),
    "df_int_colnames": pd.DataFrame([[1, 2], [3, 4]]),
    "df_nullable": _frame(
        a=pd.array([1, None], dtype="Int64"), b=pd.array([True, None], dtype="boolean")
    ),
    "df_nullable_full": _frame(
        a=pd.array([1, 2], dtype="Int32"), b=pd.array([1.5, 2.5], dtype="Float64")
    ),
    "df_string_ext": _frame(a=pd.array(["x", None], dtype="string")),
    "df_categorical": _frame(a=pd.Categorical(["x", "y"])),
    "df_timedelta": _frame(a=pd.to_timedelta([1, 2], unit="s")),
    "df_decimal": _frame(a=[decimal.Decimal("1.5")]),
    "df_date_objects": _frame(a=[dt.date(2020, 1, 1)]),
    "df_datetime_objects": _frame(a=[dt.datetime(2020, 1, 1), None]),
    "df_nested": _frame(a=[[[1, 2]], [[3]]], b=[[{"k": 1}], [{"k": 2, "j": "x"}]]),
    "df_object_none": pd.DataFrame({"a": [None, None]}, dtype=object),
    "df_ndarray_cells": _frame(a=[np.array([1, 2]), np.array([3, 4])]),
    "df_list_with_none": _frame(a=[[1, None], None]),
    "df_empty_rows": pd.DataFrame({"a": pd.Series([], dtype="float64")}),
    "df_bool_object": _frame(a=[True, None]),
    "series_named": pd.Series([1, 2], name="s"),
    "series_unnamed": pd.Series([1.5, 2.5]),
    "series_optional_unnamed": pd.Series([1.0, None]),
    "series_str_named_nan": pd.Series(["a", None], name="t"),
    "nd_2d": np.zeros((3, 4)),
    "nd_1d_int": np.array([1, 2, 3]),
    "nd_3d_f32": np.zeros((2, 3, 4), dtype="float32"),
    "nd_str": np.array(["ab", "c"]),
    "nd_bytes": np.array([b"ab"]),
    "nd_object": np.array(["a", 1], dtype=object),
    "nd_bool": np.array([True]),
    "nd_uint64": np.array([1], dtype="uint64"),
    "nd_0d": np.array(5),
    "nd_datetime": np.array(["2020-01-01"], dtype="datetime64[D]"),
    "dict_arrays": {"x": np.zeros((2, 3)), "y": np.array([1, 2])},
    "dict_scalars": {"a": 1, "b": "x", "c": 1.5, "d": True},
    "dict_lists": {"a": [1, 2], "b": ["x"], "c": []},
    "dict_nested": {"a": {"x": 1, "y": [1.0]}, "b": None},
    "dict_array_and_str": {"a": np.array([1, 2]), "b": "x"},
    "dict_int_key": {1: "x"},
    "dict_empty": {},
    "dict_messages": {"messages": [{"role": "user", "content": "x"}], "temperature": 0.1},
    "list_dicts": [{"a": 1, "b": "x"}, {"a": 2, "c": [1]}, {"a": None, "b": "y"}],
    "list_dicts_nested": [{"a": {"x": 1}}, {"a": {"y": "s"}}],
    "list_dicts_list": [{"a": [1, None]}, {"a": []}],
    "list_dicts_conflict": [{"a": 1}, {"a": "x"}],
    "list_str": ["a", "b"],
    "list_int": [1, 2, 3],
    "list_float_none": [1.0, None],
    "list_mixed": [1, "a"],
    "list_lists": [[1, 2], [3]],
    "list_lists_mixed": [[1], ["a"]],
    "list_empty": [],
    "list_none": [None],
    "list_ndarrays": [np.array([1, 2]), np.array([3])],
    "list_bytes": [b"x", bytearray(b"y")],
    "list_datetimes": [dt.datetime(2020, 1, 1), dt.date(2020, 1, 2)],
    "scalar_str": "hello",
    "scalar_int": 5,
    "scalar_float": 1.5,
    "scalar_nan": float("nan"),
    "scalar_bool": True,
    "scalar_bytes": b"x",
    "scalar_datetime": dt.datetime(2020, 1, 1),
    "scalar_date": dt.date(2020, 1, 1),
    "scalar_np_datetime": np.datetime64("2020-01-01"),
    "scalar_np_f32": np.float32(1.0),
    "scalar_np_i32": np.int32(1),
    "scalar_np_i16": np.int16(1),
    "scalar_timestamp": pd.Timestamp("2020-01-01"),
    "scalar_object": object(),
    **_sparse(),
}

PARAMS: dict[str, Any] = {
    "basic": {"a": 1, "b": 1.5, "c": "x", "d": True},
    "lists": {"a": [1, 2], "b": ["x"], "c": [1.5], "e": [], "f": [True, False]},
    "datetimes": {
        "a": dt.datetime(2020, 1, 1, 12),
        "b": dt.date(2020, 1, 1),
        "c": [dt.datetime(2020, 1, 1)],
    },
    "numpy": {"a": np.int32(1), "b": np.float32(1.5), "c": np.array([1, 2]), "d": np.bool_(True)},
    "np_datetime": {"a": np.datetime64("2020-01-01T10:00")},
    "object": {"a": {"x": 1, "y": "s", "z": [1.0]}},
    "object_nested": {"a": {"x": {"y": 1}}},
    "none": {"a": None},
    "bytes": {"a": b"x"},
    "nested_list": {"a": [[1]]},
    "mixed_list": {"a": [1, "x"]},
    "empty_dict": {"a": {}},
    "tuple": {"a": (1, 2)},
    "non_str_key": {1: 2},
}


class _Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def mlflow_log() -> Iterator[_Captured]:
    handler = _Captured()
    logger = logging.getLogger("mlflow.models.signature")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def _outcome(fn: Callable[..., Any], *args: Any) -> tuple[str, Any]:
    try:
        return "ok", fn(*args).to_dict()
    except Exception:  # only accept/reject is compared for failures
        return "error", None


@pytest.mark.parametrize("role", ["input", "output"])
@pytest.mark.parametrize("key", sorted(DATA))
def test_infer_signature_matches_mlflow(key: str, role: str, mlflow_log: _Captured) -> None:
    args = (DATA[key],) if role == "input" else (None, DATA[key])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLflow's integer-column hint
        theirs = _outcome(ml_infer_signature, *args)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ours = _outcome(infer_signature, *args)
    assert ours == theirs
    # we warn (as a Python warning) exactly when MLflow logged its fallback warning
    fell_back = any("Failed to infer schema" in m for m in mlflow_log.messages)
    warned = any(
        issubclass(w.category, ModelshelfWarning) and "Failed to infer schema" in str(w.message)
        for w in caught
    )
    assert warned == fell_back


@pytest.mark.parametrize("key", sorted(PARAMS))
def test_infer_params_matches_mlflow(key: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = _outcome(ml_infer_signature, None, None, PARAMS[key])
    ours = _outcome(infer_signature, None, None, PARAMS[key])
    assert ours == theirs
    if theirs[0] == "error":
        with pytest.raises(InvalidInputError):
            infer_signature(params=PARAMS[key])


with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # MLflow suggests type hints at class creation

    class _RowCount(mlflow.pyfunc.PythonModel):  # type: ignore[misc,name-defined]
        """Returns a 1-D float array, one value per row (no type hints: MLflow would use them)."""

        def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
            return np.arange(len(model_input), dtype="float64")


@pytest.mark.parametrize(
    "key",
    ["df_basic", "df_nan", "df_list_cells", "dict_scalars", "dict_lists", "list_str", "nd_2d"],
)
def test_1d_output_rule_matches_mlflow_flavor_inference(key: str, tmp_path: Any) -> None:
    """MLflow applies the rule when it infers from an input example at save time."""
    data = DATA[key]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlflow.pyfunc.save_model(
            tmp_path / "m",
            python_model=_RowCount(),
            input_example=data,
            pip_requirements=["mlflow"],  # skip the slow requirement inference
        )
        theirs = mlflow.models.Model.load(str(tmp_path / "m")).signature
        from mlflow.models.utils import _enforce_schema

        example = _enforce_schema(data, theirs.inputs)
        ours = infer_signature(
            data, np.arange(len(example), dtype="float64"), output_1d_as_column=True
        )
    assert ours.to_dict() == theirs.to_dict()


# --- JSON written by one side, read by the other ------------------------------------------

SIGNATURES: list[dict[str, Any]] = [
    {"inputs": '[{"name": "a", "type": "double"}]', "outputs": '[{"type": "long"}]'},  # 1.x
    {
        "inputs": '[{"type": "string", "name": "t"}, {"type": "long", "name": "k", "optional": true}]'
    },
    {
        "inputs": '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 28, 28]}}]',
        "outputs": '[{"name": "p", "type": "tensor", "tensor-spec": {"dtype": "object", "shape": [-1]}}]',
    },
    {"params": '[{"name": "n", "dtype": "long", "default": 3}]'},  # old ParamSpec key
    {"params": '[{"name": "n", "type": "integer", "default": [3], "shape": [-1]}]'},
    {
        "inputs": '[{"type": "object", "properties": {"z": {"type": "long"}, "a": {"type": "map", '
        '"values": {"type": "any"}, "required": false}}, "name": "o", "required": true}]',
    },
    {"inputs": '[{"type": "sparkml_vector", "name": "v", "required": true}]'},
    {
        "outputs": '[{"type": "array", "items": {"type": "array", "items": {"type": "binary"}}, "required": true}]'
    },
    {
        "params": '[{"name": "d", "default": ["2020-01-01", "2021-02-03T04:05:06"], "shape": [-1], "type": "datetime"}]'
    },
    {"params": '[{"name": "f", "default": 1, "shape": null, "type": "float"}]'},
]


@pytest.mark.parametrize("raw", SIGNATURES, ids=range(len(SIGNATURES)))
def test_read_and_rewrite_like_mlflow(raw: dict[str, Any]) -> None:
    ours = ModelSignature.from_dict(raw)
    if any('"optional"' in (v or "") for v in raw.values()):
        # 2.9's `optional` key: MLflow 3 cannot parse it, we must; compare on the rewritten form
        theirs = MlModelSignature.from_dict(ours.to_dict())
    else:
        theirs = MlModelSignature.from_dict(raw)
    assert ours.to_dict() == theirs.to_dict()
    assert MlModelSignature.from_dict(ours.to_dict()) == theirs


def test_mlflow_cannot_read_29_optional_but_we_can() -> None:
    raw = SIGNATURES[1]
    with pytest.raises(Exception, match="optional"):
        MlModelSignature.from_dict(raw)
    assert ModelSignature.from_dict(raw).inputs is not None


MALFORMED: list[str] = [
    "[]",
    '[{"type": "long", "name": "a"}, {"type": "long"}]',
    '[{"type": "long", "name": "a"}, {"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]',
    '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}, '
    '{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]',
    '[{"type": "long", "required": false}]',
    '[{"type": "int64", "name": "a"}]',
    '[{"type": "tensor", "tensor-spec": {"dtype": "<U5", "shape": [-1]}}]',
    '[{"type": "object", "properties": {}, "name": "a"}]',
    '[{"type": "array", "name": "a"}]',
    '[{"type": "map", "values": {"type": "nope"}, "name": "a"}]',
    "[{not json",
]


@pytest.mark.parametrize("text", MALFORMED)
def test_malformed_schema_rejected_by_both(text: str) -> None:
    with pytest.raises(Exception):  # noqa: B017  (MLflow raises several types)
        MlSchema.from_json(text)
    with pytest.raises(MalformedMetadataError):
        Schema.from_json(text)


MALFORMED_PARAMS: list[str] = [
    '[{"name": "a", "type": "binary", "default": "x"}]',
    '[{"name": "a", "type": "long", "default": "x"}]',
    '[{"name": "a", "type": "long", "default": true}]',
    '[{"name": "a", "type": "long", "default": 1, "shape": [-1]}]',
    '[{"name": "a", "type": "long", "default": [1], "shape": [2]}]',
    '[{"name": "a", "type": "long"}]',
    '[{"name": "a", "type": "long", "default": 1}, {"name": "a", "type": "long", "default": 1}]',
    '[{"name": "a", "type": "datetime", "default": "not a date"}]',
    '[{"name": "a", "type": "object", "properties": {"x": {"type": "long"}}, "default": {"y": 1}}]',
]


@pytest.mark.parametrize("text", MALFORMED_PARAMS)
def test_malformed_params_rejected_by_both(text: str) -> None:
    with pytest.raises(Exception):  # noqa: B017  (MLflow raises several types)
        MlParamSchema.from_json(text)
    with pytest.raises(MalformedMetadataError):
        ParamSchema.from_json(text)


# --- property test: random schemas serialize identically ---------------------------------

_PRIMS = ["boolean", "integer", "long", "float", "double", "string", "binary", "datetime"]
_names = st.text(alphabet="abcdefgh_ é0", min_size=1, max_size=6)


def _types(depth: int = 2) -> st.SearchStrategy[dict[str, Any]]:
    leaf = st.sampled_from(_PRIMS).map(lambda t: {"type": t}) | st.just({"type": "any"})
    if depth == 0:
        return leaf
    inner = _types(depth - 1)
    return st.one_of(
        leaf,
        inner.map(lambda t: {"type": "array", "items": t}),
        inner.map(lambda t: {"type": "map", "values": t}),
        st.dictionaries(_names, st.tuples(inner, st.booleans()), min_size=1, max_size=3).map(
            lambda d: {
                "type": "object",
                "properties": {k: {**t, "required": r} for k, (t, r) in d.items()},
            }
        ),
    )


@st.composite
def _schemas(draw: st.DrawFn) -> list[dict[str, Any]]:
    if draw(st.booleans()):
        names = draw(st.lists(_names, min_size=1, max_size=4, unique=True))
        return [
            {
                "name": n,
                "type": "tensor",
                "tensor-spec": {
                    "dtype": draw(
                        st.sampled_from(
                            ["float32", "float64", "int64", "bool", "object", "str", "bytes"]
                        )
                    ),
                    "shape": draw(st.lists(st.integers(-1, 5), min_size=1, max_size=3)),
                },
            }
            for n in names
        ]
    named = draw(st.booleans())
    n = draw(st.integers(1, 4))
    names = draw(st.lists(_names, min_size=n, max_size=n, unique=True))
    cols = []
    for i in range(n):
        col = dict(draw(_types()))
        if named:
            col["name"] = names[i]
        col["required"] = draw(st.booleans()) if named else True
        cols.append(col)
    return cols


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_schemas())
def test_random_schemas_serialize_like_mlflow(spec: list[dict[str, Any]]) -> None:
    text = json.dumps(spec)
    theirs = MlSchema.from_json(text)
    ours = Schema.from_json(text)
    assert ours.to_json() == theirs.to_json()
    assert MlSchema.from_json(ours.to_json()) == theirs
    assert ours.input_names() == theirs.input_names()
    assert ours.has_input_names() == bool(theirs.has_input_names())
    assert ours.is_tensor_spec() == bool(theirs.is_tensor_spec())
