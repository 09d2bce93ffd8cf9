"""Signature inference from example data, following MLflow 3.17 (docs/explanation/mlflow-format.md §4).

* DataFrame → named ColSpecs from the column dtypes (object columns by their values; list
  cells → array, dict cells → object; a column holding None/NaN → ``required: false``; an
  all-None column → ``any``).
* Series → one ColSpec, named after the Series.
* ndarray → one unnamed TensorSpec with dimension 0 variable; dict of ndarrays → named
  TensorSpecs; scipy csr/csc → like a 2-D array.
* dict of scalars / lists / dicts → one named ColSpec per key; list of dicts → the union of
  keys (keys missing or None somewhere → optional); list or scalar → one unnamed ColSpec.

:func:`infer_signature` never fails on odd data: a schema it cannot infer (uint64, mixed
types…) becomes ``[{"type": "any", "required": true}]`` with a warning, as in MLflow.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Mapping
from copy import deepcopy
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from modelshelf.errors import InvalidInputError, ModelshelfWarning
from modelshelf.models._types import AnyType, Array, ColumnType, DataType, Object, Property
from modelshelf.models.signature import (
    ColSpec,
    ModelSignature,
    ParamSchema,
    ParamSpec,
    Schema,
    TensorSpec,
    clean_tensor_type,
)

__all__ = ["InferableData", "infer_signature"]

InferableData: TypeAlias = Any
"""DataFrame, Series, ndarray, dict of ndarrays, csr/csc matrix, list, dict or scalar."""

_MIXED_TYPES = (
    "Expected all values in the list to be of the same type. To describe a list holding "
    "several types, declare the signature by hand with Array(AnyType())."
)


class _CannotInfer(InvalidInputError):
    """The data holds something that has no MLflow type."""


def infer_signature(
    model_input: InferableData | None = None,
    model_output: InferableData | None = None,
    params: Mapping[str, Any] | None = None,
    *,
    output_1d_as_column: bool = False,
) -> ModelSignature:
    """Infer a :class:`ModelSignature` from example input, output and params.

    Args:
        model_input: example input (see the module docstring for what is understood).
        model_output: example output (e.g. the model's predictions on ``model_input``).
        params: example inference params; ``int`` → long, ``float`` → double, ``str`` →
            string, ``bool`` → boolean, datetime → datetime, 1-D list → shape ``[-1]``,
            dict → object.
        output_1d_as_column: the rule MLflow flavors apply when inferring from an input
            example: with a column-based input, a 1-D ndarray output becomes one unnamed
            ColSpec rather than a ``[-1]`` tensor.

    Returns:
        The signature (inputs/outputs None where no data was given).

    Raises:
        InvalidInputError: ``params`` cannot be described (nested lists, bytes, objects…).
        MalformedMetadataError: nothing at all was given.
    """
    schemas: dict[str, Schema | None] = {"inputs": None, "outputs": None}
    for key, data in (("inputs", model_input), ("outputs", model_output)):
        if data is None:
            continue
        if (
            key == "outputs"
            and output_1d_as_column
            and schemas["inputs"] is not None
            and not schemas["inputs"].is_tensor_spec()
            and isinstance(data, np.ndarray)
            and data.ndim == 1
        ):
            data = pd.Series(data)
        try:
            schemas[key] = _infer_schema(data)
        except Exception as exc:  # MLflow also falls back on any failure
            note = (
                " Note that types are not validated at predict time for AnyType."
                if key == "inputs"
                else ""
            )
            warnings.warn(
                f"Failed to infer schema for {key} ({exc}). Setting the schema to "
                f"`Schema([ColSpec(type=AnyType())])`.{note}",
                ModelshelfWarning,
                stacklevel=2,
            )
            schemas[key] = Schema([ColSpec(AnyType())])
    param_schema = _infer_param_schema(params) if params else None
    return ModelSignature(schemas["inputs"], schemas["outputs"], param_schema)


# --- schemas ---------------------------------------------------------------------------------


def _infer_schema(data: InferableData) -> Schema:
    """Infer a :class:`Schema` from one dataset (no fallback: errors propagate).

    Raises:
        InvalidInputError: the data has a type or dtype MLflow cannot describe.
    """
    if isinstance(data, list) and not data:
        return Schema([ColSpec(DataType.string)])  # MLflow < 2.9 compatibility
    if isinstance(data, list) and all(isinstance(v, dict) for v in data):
        columns: dict[Any, list[Any]] = {}
        for row in data:
            for k, v in row.items():
                columns.setdefault(k, []).append(v)
        return Schema(
            [
                ColSpec(
                    _require(_infer_array_datatype(values), values).dtype,
                    name=name,
                    required=all(row.get(name) is not None for row in data),
                )
                for name, values in columns.items()
            ]
        )
    if isinstance(data, dict):
        if all(isinstance(v, np.ndarray) for v in data.values()):
            return Schema(
                [
                    TensorSpec(clean_tensor_type(arr.dtype), _tensor_shape(arr), name=name)
                    for name, arr in data.items()
                ]
            )
        if any(not isinstance(k, str) for k in data):
            raise _CannotInfer("The dictionary keys are not all strings.")
        return Schema(
            [
                ColSpec(_require(_infer_datatype(v), v), name=k, required=_infer_required(v))
                for k, v in data.items()
            ]
        )
    if isinstance(data, pd.Series):
        return Schema(
            [ColSpec(_infer_pandas_column(data), name=data.name, required=_infer_required(data))]
        )
    if isinstance(data, pd.DataFrame):
        return Schema(
            [
                ColSpec(
                    _infer_pandas_column(data[col]), name=col, required=_infer_required(data[col])
                )
                for col in data.columns
            ]
        )
    if isinstance(data, np.ndarray):
        return Schema([TensorSpec(clean_tensor_type(data.dtype), _tensor_shape(data))])
    if _is_sparse(data):
        return Schema([TensorSpec(clean_tensor_type(data.data.dtype), _tensor_shape(data))])
    if isinstance(data, list):
        return Schema([ColSpec(_require(_infer_array_datatype(data), data).dtype)])
    try:
        return Schema([ColSpec(_require(_infer_datatype(data), data))])
    except _CannotInfer as exc:
        raise _CannotInfer(
            "Failed to infer schema. Expected a pandas DataFrame or Series, a numpy array, a "
            "dict of numpy arrays, a scipy csr/csc matrix, a scalar, a list of scalars, a dict "
            f"or a list of dicts, but got {type(data).__name__} {data!r}. Error: {exc}"
        ) from exc


def _require(t: ColumnType | None, data: Any) -> Any:
    if t is None:
        raise _CannotInfer(f"Numpy array must include at least one non-empty item: {data!r}")
    return t


def _is_sparse(x: Any) -> bool:
    if not type(x).__module__.startswith("scipy.sparse"):
        return False  # never import scipy for data that cannot be sparse
    from scipy.sparse import csc_matrix, csr_matrix

    return isinstance(x, (csr_matrix, csc_matrix))


def _tensor_shape(data: Any) -> tuple[int, ...]:
    shape = list(data.shape)
    if shape:
        shape[0] = -1
    else:
        raise _CannotInfer("A 0-d array has no variable dimension; pass at least a 1-D array.")
    return tuple(shape)


def _is_none_or_nan(x: Any) -> bool:
    if isinstance(x, float):
        return bool(np.isnan(x))
    return x is None or x is pd.NA or x is pd.NaT


def _infer_required(col: Any) -> bool:
    if isinstance(col, (list, pd.Series)):
        return not any(_is_none_or_nan(x) for x in col)
    return not _is_none_or_nan(col)


# --- types -----------------------------------------------------------------------------------

_SCALAR_TYPES: dict[type, DataType] = {
    bool: DataType.boolean,
    np.bool_: DataType.boolean,
    int: DataType.long,
    np.int64: DataType.long,
    np.int32: DataType.integer,
    float: DataType.double,
    np.float64: DataType.double,
    np.float32: DataType.float,
    str: DataType.string,
    np.str_: DataType.string,
    object: DataType.string,
    bytes: DataType.binary,
    np.bytes_: DataType.binary,
    bytearray: DataType.binary,
}
_DATETIME_SCALARS = (dt.date, dt.datetime, np.datetime64)


def _infer_datatype(data: Any) -> ColumnType | None:
    """The type of one value; None means "undetermined" (an empty ndarray)."""
    if _is_none_or_nan(data) or (isinstance(data, (list, dict)) and not data):
        return AnyType()
    if isinstance(data, dict):
        props = []
        for k, v in data.items():
            t = _infer_datatype(v)
            if t is None:
                raise _CannotInfer("Dictionary value must not be an empty numpy array.")
            props.append(Property(k, t, required=not isinstance(t, AnyType)))
        return Object(props)
    if isinstance(data, (list, np.ndarray)):
        return _infer_array_datatype(data)
    return _infer_scalar_datatype(data)


def _infer_array_datatype(data: Any) -> Array | None:
    result: Array | None = None
    for item in data:
        t = _infer_datatype(item)
        if t is None:
            continue
        if result is None:
            result = Array(t)
        elif isinstance(result.dtype, DataType):
            if not isinstance(t, AnyType) and t != result.dtype:
                raise _CannotInfer(_MIXED_TYPES)
        else:
            try:
                result = Array(result.dtype._merge(t))
            except (ValueError, InvalidInputError) as exc:
                raise _CannotInfer(_MIXED_TYPES) from exc
    return result


def _infer_scalar_datatype(data: Any) -> DataType:
    found = _SCALAR_TYPES.get(type(data))
    if found is not None:
        return found
    if type(data) in _DATETIME_SCALARS:
        return DataType.datetime
    raise _CannotInfer(f"Data {data!r} is not one of the supported DataType")


def _infer_numpy_dtype(dtype: Any) -> DataType:
    kind, size = dtype.kind, dtype.itemsize
    if kind == "b":
        return DataType.boolean
    if kind in ("i", "u"):
        if size < 4 or (kind == "i" and size == 4):
            return DataType.integer
        if size < 8 or (kind == "i" and size == 8):
            return DataType.long
    elif kind == "f":
        if size <= 4:
            return DataType.float
        if size <= 8:
            return DataType.double
    elif kind == "U":
        return DataType.string
    elif kind == "S":
        return DataType.binary
    elif kind == "M":
        return DataType.datetime
    raise _CannotInfer(f"Unsupported numpy data type '{dtype}', kind '{kind}'")


def _infer_pandas_column(col: pd.Series) -> ColumnType:
    if col.dtype.kind == "O":
        col = col.infer_objects()
    if col.dtype.kind != "O":
        return _infer_numpy_dtype(col.dtype)
    try:
        return _require(_infer_array_datatype(col.to_list()), col).dtype  # type: ignore[no-any-return]
    except _CannotInfer as exc:
        if pd.api.types.is_string_dtype(col):
            return DataType.string  # older MLflow fell back to string here
        raise _CannotInfer(f"Failed to infer schema for column {col.name!r}: {exc}") from exc


# --- params ----------------------------------------------------------------------------------


def _array_depth(value: Any) -> int:
    if isinstance(value, np.ndarray):
        return int(value.ndim)
    if isinstance(value, list):
        return max((_array_depth(v) for v in value), default=0) + 1
    return 0


def _infer_param_type(value: Any) -> tuple[DataType | Object, tuple[int, ...] | None]:
    if isinstance(value, (list, np.ndarray)):
        depth = _array_depth(value)
        if depth != 1:
            raise _CannotInfer(f"Expected parameters to be 1D array or scalar, got {depth}D array")
        if all(DataType.check_type(DataType.datetime, v) for v in value):
            return DataType.datetime, (-1,)
        return _infer_numpy_dtype(np.array(value).dtype), (-1,)
    if DataType.check_type(DataType.datetime, value):
        return DataType.datetime, None
    if np.isscalar(value):
        return _infer_numpy_dtype(np.array(value).dtype), None
    if isinstance(value, dict):
        t = _infer_schema({"value": value}).inputs[0].type
        if not isinstance(t, Object):
            raise _CannotInfer(f"Expected a non-empty dict, got {value!r}")
        return t, None
    raise _CannotInfer(f"Expected parameters to be 1D array or scalar, got {type(value).__name__}")


def _infer_param_schema(params: Mapping[str, Any]) -> ParamSchema:
    """Infer a :class:`ParamSchema` from example params (defaults are the given values).

    Raises:
        InvalidInputError: some values cannot be described; all are listed.
    """
    if not isinstance(params, Mapping):
        raise InvalidInputError(f"Expected parameters to be dict, got {type(params).__name__}")
    specs = []
    invalid = []
    for name, value in params.items():
        try:
            dtype, shape = _infer_param_type(value)
            specs.append(ParamSpec(name, dtype, deepcopy(value), shape))
        except (InvalidInputError, ValueError, TypeError) as exc:
            invalid.append((name, value, str(exc)))
    if invalid:
        raise InvalidInputError(f"Failed to infer schema for parameters: {invalid}")
    return ParamSchema(specs)
