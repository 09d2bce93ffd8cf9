"""Signature types, schema rules and MLmodel JSON (docs/explanation/mlflow-format.md §4), without MLflow."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

from modelshelf.errors import InvalidInputError, MalformedMetadataError
from modelshelf.models._types import type_from_dict
from modelshelf.models.signature import (
    AnyType,
    Array,
    ColSpec,
    DataType,
    Map,
    ModelSignature,
    Object,
    ParamSchema,
    ParamSpec,
    Property,
    Schema,
    SparkMLVector,
    TensorSpec,
)

# --- DataType ------------------------------------------------------------------------------


def test_datatype_names_and_numbers_match_mlflow() -> None:
    assert [(t.name, t.value) for t in DataType] == [
        ("boolean", 1),
        ("integer", 2),
        ("long", 3),
        ("float", 4),
        ("double", 5),
        ("string", 6),
        ("binary", 7),
        ("datetime", 8),
    ]


@pytest.mark.parametrize(
    ("t", "numpy", "pandas"),
    [
        (DataType.boolean, "bool", "bool"),
        (DataType.integer, "int32", "int32"),
        (DataType.long, "int64", "int64"),
        (DataType.float, "float32", "float32"),
        (DataType.double, "float64", "float64"),
        (DataType.string, "<U0", "object"),
        (DataType.binary, "|S0", "object"),
        (DataType.datetime, "datetime64[ns]", "datetime64[ns]"),
    ],
)
def test_datatype_numpy_and_pandas_types(t: DataType, numpy: str, pandas: str) -> None:
    assert t.to_numpy() == np.dtype(numpy)
    assert np.dtype(t.to_pandas()) == np.dtype(pandas)
    assert DataType.from_numpy_type(np.dtype(numpy)) in (t, None)


def test_check_type_is_exact() -> None:
    assert DataType.check_type(DataType.long, 1)
    assert DataType.check_type(DataType.long, np.int64(1))
    assert not DataType.check_type(DataType.long, True)
    assert not DataType.check_type(DataType.long, np.int32(1))
    assert DataType.check_type(DataType.integer, np.int32(1))
    assert DataType.check_type(DataType.binary, bytearray(b"x"))
    assert DataType.check_type(DataType.datetime, np.datetime64("2020-01-01"))


# --- ColSpec / TensorSpec JSON -------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (ColSpec("double", "x"), {"type": "double", "name": "x", "required": True}),
        (ColSpec(DataType.long), {"type": "long", "required": True}),
        (
            ColSpec("string", "s", required=False),
            {"type": "string", "name": "s", "required": False},
        ),
        (
            ColSpec(Array(DataType.long), "a"),
            {"type": "array", "items": {"type": "long"}, "name": "a", "required": True},
        ),
        (
            ColSpec(Map(Array("string")), "m"),
            {
                "type": "map",
                "values": {"type": "array", "items": {"type": "string"}},
                "name": "m",
                "required": True,
            },
        ),
        (ColSpec(AnyType(), "z", False), {"type": "any", "name": "z", "required": False}),
        (ColSpec(SparkMLVector(), "v"), {"type": "sparkml_vector", "name": "v", "required": True}),
        (
            TensorSpec(np.dtype("float32"), (-1, 28, 28), "img"),
            {
                "name": "img",
                "type": "tensor",
                "tensor-spec": {"dtype": "float32", "shape": [-1, 28, 28]},
            },
        ),
        (
            TensorSpec(np.dtype("str"), [-1]),
            {"type": "tensor", "tensor-spec": {"dtype": "str", "shape": [-1]}},
        ),
    ],
)
def test_spec_to_dict_key_order(spec: ColSpec | TensorSpec, expected: dict[str, Any]) -> None:
    assert spec.to_dict() == expected
    assert list(spec.to_dict()) == list(expected)  # key order is part of the format
    assert Schema.from_dict([spec.to_dict()]).inputs == [spec]


def test_object_properties_sorted_with_required() -> None:
    obj = Object([Property("b", "string", required=False), Property("a", Array("double"))])
    assert json.dumps(obj.to_dict()) == (
        '{"type": "object", "properties": {"a": {"type": "array", "items": {"type": "double"}, '
        '"required": true}, "b": {"type": "string", "required": false}}}'
    )
    assert type_from_dict(obj.to_dict()) == obj


def test_schema_to_json_uses_default_separators() -> None:
    s = Schema([ColSpec("long", "a"), ColSpec("string", "b", required=False)])
    assert s.to_json() == (
        '[{"type": "long", "name": "a", "required": true}, '
        '{"type": "string", "name": "b", "required": false}]'
    )
    assert Schema.from_json(s.to_json()) == s


# --- schema rules --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("inputs", "match"),
    [
        ([], "at least one input"),
        ([ColSpec("long", "a"), ColSpec("long")], "mix named and unnamed"),
        (
            [ColSpec("long", "a"), TensorSpec(np.dtype("int64"), [-1], "b")],
            "mix ColSpec and TensorSpec",
        ),
        (
            [TensorSpec(np.dtype("int64"), [-1]), TensorSpec(np.dtype("int64"), [-1])],
            "name every tensor",
        ),
        ([ColSpec("long", required=False)], "cannot be optional"),
        (["long"], "ColSpec or TensorSpec"),
    ],
)
def test_schema_rules(inputs: list[Any], match: str) -> None:
    with pytest.raises(MalformedMetadataError, match=match):
        Schema(inputs)


def test_schema_helpers() -> None:
    s = Schema([ColSpec("long", "a"), ColSpec("double", "b", required=False)])
    assert s.input_names() == ["a", "b"]
    assert s.required_input_names() == ["a"]
    assert s.optional_input_names() == ["b"]
    assert s.has_input_names() and not s.is_tensor_spec()
    assert s.numpy_types() == [np.dtype("int64"), np.dtype("float64")]
    assert s.pandas_types() == [np.dtype("int64"), np.dtype("float64")]
    assert s.input_types_dict() == {"a": DataType.long, "b": DataType.double}
    assert len(s) == 2 and [c.name for c in s] == ["a", "b"]

    unnamed = Schema([ColSpec("long"), ColSpec("string")])
    assert unnamed.input_names() == [0, 1]
    assert not unnamed.has_input_names()
    with pytest.raises(MalformedMetadataError, match="no input names"):
        unnamed.input_dict()

    t = Schema([TensorSpec(np.dtype("float32"), [-1, 2])])
    assert t.is_tensor_spec() and t.numpy_types() == [np.dtype("float32")]
    with pytest.raises(MalformedMetadataError, match="numpy_types"):
        t.pandas_types()
    with pytest.raises(MalformedMetadataError, match="complex"):
        Schema([ColSpec(Array("long"), "a")]).numpy_types()


def test_tensor_spec_rejects_sized_flexible_dtype() -> None:
    with pytest.raises(MalformedMetadataError, match="must not carry a size"):
        TensorSpec(np.dtype("<U5"), [-1])
    with pytest.raises(MalformedMetadataError, match="shape must be a list of ints"):
        TensorSpec(np.dtype("int64"), [-1, "x"])  # type: ignore[list-item]


def test_object_rules() -> None:
    with pytest.raises(MalformedMetadataError, match="at least one property"):
        Object([])
    with pytest.raises(MalformedMetadataError, match="duplicated property names"):
        Object([Property("a", "long"), Property("a", "string")])


# --- reading what MLflow wrote -------------------------------------------------------------

MLFLOW_1X = {  # 1.30: no `required`, no params
    "inputs": '[{"name": "sepal length (cm)", "type": "double"}, {"name": "n", "type": "long"}]',
    "outputs": '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]',
}
MLFLOW_29 = {  # 2.9: `optional: true` only on optional columns
    "inputs": '[{"type": "string", "name": "text"}, {"type": "long", "name": "k", "optional": true}]',
    "outputs": '[{"type": "string"}]',
    "params": '[{"name": "temperature", "dtype": "double", "default": 0.5, "shape": null}]',
}
MLFLOW_3X = {
    "inputs": (
        '[{"type": "array", "items": {"type": "object", "properties": {"content": {"type": '
        '"string", "required": true}, "role": {"type": "string", "required": true}}}, "name": '
        '"messages", "required": true}, {"type": "map", "values": {"type": "double"}, "name": '
        '"extra", "required": false}]'
    ),
    "outputs": '[{"type": "any", "required": true}]',
    "params": (
        '[{"name": "max_tokens", "default": 16, "shape": null, "type": "long"}, '
        '{"name": "stop", "default": ["\\n"], "shape": [-1], "type": "string"}, '
        '{"name": "when", "default": "2024-01-02T03:04:05", "shape": null, "type": "datetime"}, '
        '{"name": "cfg", "default": {"a": 1}, "shape": null, "type": "object", '
        '"properties": {"a": {"type": "long", "required": true}}}]'
    ),
}


def test_read_mlflow_1x_signature() -> None:
    sig = ModelSignature.from_dict(MLFLOW_1X)
    assert sig.inputs == Schema([ColSpec("double", "sepal length (cm)"), ColSpec("long", "n")])
    assert sig.outputs == Schema([TensorSpec(np.dtype("int64"), (-1,))])
    assert sig.params is None
    # rewritten in today's form: `required` everywhere, params null
    assert sig.to_dict() == {
        "inputs": '[{"type": "double", "name": "sepal length (cm)", "required": true}, '
        '{"type": "long", "name": "n", "required": true}]',
        "outputs": MLFLOW_1X["outputs"],
        "params": None,
    }


def test_read_mlflow_29_signature() -> None:
    sig = ModelSignature.from_dict(MLFLOW_29)
    assert sig.inputs is not None
    assert [c.required for c in sig.inputs] == [True, False]
    assert sig.params == ParamSchema([ParamSpec("temperature", "double", 0.5)])
    assert json.loads(sig.to_dict()["params"] or "") == [
        {"name": "temperature", "default": 0.5, "shape": None, "type": "double"}
    ]


def test_read_mlflow_3x_signature_round_trips_byte_for_byte() -> None:
    sig = ModelSignature.from_dict(MLFLOW_3X)
    assert sig.to_dict() == MLFLOW_3X
    when = sig.params.params[2] if sig.params else None
    assert when is not None and when.default.isoformat() == "2024-01-02T03:04:05"


def test_signature_params_only_and_empty() -> None:
    sig = ModelSignature(params=ParamSchema([ParamSpec("k", DataType.long, 3)]))
    assert sig.to_dict()["inputs"] is None and sig.to_dict()["outputs"] is None
    assert ModelSignature.from_dict(sig.to_dict()) == sig
    with pytest.raises(MalformedMetadataError, match="at least one of"):
        ModelSignature()
    with pytest.raises(MalformedMetadataError, match="at least one of"):
        ModelSignature.from_dict({"inputs": None, "outputs": None, "params": None})


@pytest.mark.parametrize(
    ("signature", "match"),
    [
        ({"inputs": "[{not json"}, r"signature\.inputs: .*not valid JSON"),
        ({"inputs": '{"type": "long"}'}, "must be a JSON list"),
        ({"inputs": "[]"}, "at least one input"),
        ({"inputs": '[{"type": "long", "name": "a"}, {"type": "long"}]'}, "mix named and unnamed"),
        ({"inputs": '[{"type": "int64", "name": "a"}]'}, "unsupported type 'int64'"),
        ({"inputs": '[{"name": "a"}]'}, "has no 'type'"),
        ({"inputs": '[{"type": "array", "name": "a"}]'}, "needs an 'items' object"),
        (
            {"inputs": '[{"type": "object", "properties": {}, "name": "a"}]'},
            "non-empty 'properties'",
        ),
        ({"inputs": '[{"type": "map", "values": "long", "name": "a"}]'}, "needs a 'values' object"),
        ({"inputs": '[{"type": "long", "name": "a", "required": "yes"}]'}, "'required' must be"),
        ({"inputs": '[{"type": "long", "required": false}]'}, "cannot be optional"),
        (
            {"outputs": '[{"type": "tensor", "tensor-spec": {"dtype": "<U5", "shape": [-1]}}]'},
            "size",
        ),
        (
            {"outputs": '[{"type": "tensor", "tensor-spec": {"dtype": "nope", "shape": [-1]}}]'},
            "unknown numpy dtype",
        ),
        ({"outputs": '[{"type": "tensor"}]'}, "tensor-spec"),
        (
            {"params": '[{"name": "a", "type": "binary", "default": "eA=="}]'},
            "binary is not supported",
        ),
        ({"params": '[{"name": "a", "type": "blob", "default": 1}]'}, "unsupported type 'blob'"),
        ({"params": '[{"name": "a", "type": "long"}]'}, "needs keys"),
        ({"params": '[{"name": "a", "type": "long", "default": "x"}]'}, "invalid default"),
        (
            {"params": '[{"name": "a", "type": "long", "default": [1], "shape": [2]}]'},
            "shape must be",
        ),
        (
            {
                "params": '[{"name": "a", "type": "long", "default": 1}, {"name": "a", "type": "long", "default": 2}]'
            },
            "Duplicated parameters",
        ),
        ({"params": '[{"name": "a", "type": "long", "default": 1, "shape": [-1]}]'}, "1D array"),
        (["inputs"], "must be a map"),
        ({"inputs": 5}, "must be JSON text"),
    ],
)
def test_malformed_signatures(signature: object, match: str) -> None:
    with pytest.raises(MalformedMetadataError, match=match):
        ModelSignature.from_dict(signature)  # type: ignore[arg-type]


def test_unknown_extra_keys_are_tolerated_on_read() -> None:
    s = Schema.from_json('[{"type": "long", "name": "a", "required": true, "doc": "x"}]')
    assert s == Schema([ColSpec("long", "a")])


def test_complex_column_with_null_required_reads_as_required() -> None:
    # MLflow 3 reads a bare complex column as required=None and writes it back as null
    s = Schema.from_json(
        '[{"type": "array", "items": {"type": "long"}, "name": "a", "required": null}]'
    )
    assert s.inputs[0].required is True


# --- ParamSpec -----------------------------------------------------------------------------


def test_param_spec_json_and_defaults() -> None:
    specs = ParamSchema(
        [
            ParamSpec("a", "long", 1),
            ParamSpec("b", DataType.double, 2),  # int default widened to 2.0
            ParamSpec("c", "string", ["x", "y"], shape=(-1,)),
            ParamSpec("d", "datetime", "2020-01-01"),
            ParamSpec("e", Object([Property("k", "string")]), {"k": "v"}),
            ParamSpec("f", "boolean", None),
        ]
    )
    assert specs.params[1].default == 2.0 and isinstance(specs.params[1].default, float)
    assert specs.to_json() == (
        '[{"name": "a", "default": 1, "shape": null, "type": "long"}, '
        '{"name": "b", "default": 2.0, "shape": null, "type": "double"}, '
        '{"name": "c", "default": ["x", "y"], "shape": [-1], "type": "string"}, '
        '{"name": "d", "default": "2020-01-01", "shape": null, "type": "datetime"}, '
        '{"name": "e", "default": {"k": "v"}, "shape": null, "type": "object", '
        '"properties": {"k": {"type": "string", "required": true}}}, '
        '{"name": "f", "default": null, "shape": null, "type": "boolean"}]'
    )
    assert ParamSchema.from_json(specs.to_json()) == specs


def test_param_spec_rejects_bool_for_long_and_float64_for_float() -> None:
    with pytest.raises(MalformedMetadataError, match="invalid default"):
        ParamSpec("a", "long", True)
    with pytest.raises(MalformedMetadataError, match="invalid default"):
        ParamSpec("a", "float", np.float64(1.0))
    assert ParamSpec("a", "float", np.float32(1.5)).default == 1.5


# --- import hygiene ------------------------------------------------------------------------


def test_import_does_not_pull_heavy_dependencies() -> None:
    code = (
        "import sys, modelshelf.models.signature as s\n"
        's.Schema.from_json(\'[{"type": "long"}]\')\n'
        "bad = [m for m in ('mlflow', 'sklearn', 'scipy', 'pandas') if m in sys.modules]\n"
        "assert not bad, bad\n"
        "import modelshelf.models._enforce, modelshelf.models._infer\n"
        "bad = [m for m in ('mlflow', 'sklearn', 'scipy') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_errors_are_value_errors() -> None:
    assert issubclass(MalformedMetadataError, ValueError)
    assert issubclass(MalformedMetadataError, InvalidInputError)
