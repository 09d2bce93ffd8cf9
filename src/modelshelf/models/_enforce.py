"""Predict-time enforcement of a signature, with MLflow 3.17's rules (docs/explanation/mlflow-format.md §8).

:func:`enforce_input` checks and converts model input against ``signature.inputs``;
:func:`enforce_params` validates params against ``signature.params`` and fills defaults.
Both raise :class:`~modelshelf.errors.SchemaEnforcementError`; dropped columns or params are
reported with a :class:`~modelshelf.errors.ModelshelfWarning`.

Only safe conversions happen: widening within a kind (int32 → long, float32 → double),
small unsigned → signed, (u)int of ≤ 6 bytes → double, an int64 column of only 0/1 → float,
any datetime64 unit → ``datetime64[ns]``. Tensors are never cast.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, overload

import numpy as np
import pandas as pd

from modelshelf.errors import ModelshelfWarning, SchemaEnforcementError
from modelshelf.models._types import AnyType, Array, ColumnType, DataType, Map, Object, Property
from modelshelf.models.signature import (
    ColSpec,
    ParamSchema,
    ParamSpec,
    Schema,
    TensorSpec,
    clean_tensor_type,
)

if TYPE_CHECKING:
    from modelshelf.models.signature import ColumnName

__all__ = ["enforce_input", "enforce_params", "validate_param_value"]


class _Reject(Exception):
    """Internal: one detail of an enforcement failure (wrapped before it reaches users)."""


# ---------------------------------------------------------------------------------------------
# Input
# ---------------------------------------------------------------------------------------------


def enforce_input(data: Any, schema: Schema) -> Any:
    """Check ``data`` against an input schema and return it converted, as MLflow's pyfunc does.

    Column schemas return a :class:`pandas.DataFrame` (columns in schema order, extra columns
    dropped, absent optional columns omitted); tensor schemas return an ndarray (or sparse
    matrix) for unnamed schemas and a dict of ndarrays for named ones.

    Args:
        data: a DataFrame, Series, ndarray, csr/csc matrix, dict, list or scalar.
        schema: the model's input :class:`Schema`.

    Returns:
        The converted input.

    Raises:
        SchemaEnforcementError: the input does not match; the message is MLflow's
            ``Failed to enforce schema of data '…' with schema '…'. Error: <detail>``.
    """
    if not isinstance(schema, Schema):
        raise TypeError(f"schema must be a Schema, got {type(schema).__name__}")
    try:
        return _enforce_schema(data, schema)
    # ValueError & co: numpy / pandas refused a conversion that MLflow attempts as well
    except (_Reject, ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        detail = str(exc)
    raise SchemaEnforcementError(
        f"Failed to enforce schema of data '{_short(data)}' with schema '{schema}'. Error: {detail}"
    )


def _short(data: Any, limit: int = 500) -> str:
    text = str(data)
    return text if len(text) <= limit else text[:limit] + "…"


def _is_scalar(x: Any) -> bool:
    return bool(np.isscalar(x)) or x is None


def _to_frame(data: Any, schema: Schema) -> pd.DataFrame:
    """MLflow's pre-conversion of column-schema input to a DataFrame."""
    if np.isscalar(data):
        return pd.DataFrame([data])
    if isinstance(data, dict):
        one_row = any(isinstance(c.type, (Array, Object)) for c in schema) or all(
            _is_scalar(v) or (isinstance(v, list) and all(isinstance(i, str) for i in v))
            for v in data.values()
        )
        try:
            if one_row:
                return pd.DataFrame([data])
            values = list(data.values())
            if values and all(
                isinstance(v, np.ndarray) and v.dtype.type is np.str_ and v.shape == ()
                for v in values
            ):
                return pd.DataFrame([data])
            # pandas cannot hold >1-D arrays in a column; lists let enforcement fail cleanly
            return pd.DataFrame(
                {
                    k: v.tolist() if isinstance(v, np.ndarray) and v.ndim > 1 else v
                    for k, v in data.items()
                }
            )
        except (ValueError, TypeError) as exc:
            raise _Reject(
                "This model contains a column-based signature, which suggests a DataFrame "
                f"input. There was an error casting the input data to a DataFrame: {exc}"
            ) from exc
    if isinstance(data, (list, np.ndarray, pd.Series)):
        return pd.DataFrame(data)
    if isinstance(data, pd.DataFrame):
        return data
    raise _Reject(f"Expected input to be DataFrame. Found: {type(data).__name__}")


def _enforce_schema(data: Any, schema: Schema) -> Any:
    if isinstance(data, pd.Series):
        data = data.to_frame()
    if not schema.is_tensor_spec():
        data = _to_frame(data, schema)

    if schema.has_input_names():
        required = schema.required_input_names()
        optional = set(schema.optional_input_names())
        present: set[Any] = set()
        if len(required) == 1 and isinstance(data, np.ndarray):
            data = {required[0]: data}  # a single named tensor may be passed bare
            present = set(required)
        elif isinstance(data, pd.DataFrame):
            present = set(data.columns)
        elif isinstance(data, dict):
            present = set(data.keys())
        missing = [n for n in required if n not in present]
        extra = [c for c in _ordered_keys(data) if c not in set(required) and c not in optional]
        if missing:
            message = f"Model is missing inputs {missing}."
            if extra:
                message += f" Note that there were extra inputs: {extra}."
            raise _Reject(message)
        if extra:
            warnings.warn(
                f"Found extra inputs in the model input that are not defined in the model "
                f"signature: {extra}. These inputs will be ignored.",
                ModelshelfWarning,
                stacklevel=3,  # the caller of enforce_input
            )
    elif not schema.is_tensor_spec():
        if len(data.columns) < len(schema):
            raise _Reject(
                f"Model inference is missing inputs. The model signature declares {len(schema)} "
                f"inputs but the provided value only has {len(data.columns)} inputs. Note: the "
                "inputs were not named in the signature so we can only verify their count."
            )

    if schema.is_tensor_spec():
        return _enforce_tensor_schema(data, schema)
    if schema.has_input_names():
        return _enforce_named_columns(data, schema)
    return _enforce_unnamed_columns(data, schema)


def _ordered_keys(data: Any) -> list[Any]:
    if isinstance(data, pd.DataFrame):
        return list(data.columns)
    if isinstance(data, dict):
        return list(data.keys())
    return []


def _enforce_named_columns(df: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    out: dict[Any, pd.Series] = {}
    for spec in schema:
        assert isinstance(spec, ColSpec)
        if spec.name not in df:
            continue  # optional and absent (required ones were checked already)
        out[spec.name] = _enforce_column(spec.name, df[spec.name], spec.type, spec.required)
    # building from aligned Series keeps the caller's index
    return pd.DataFrame(out)


def _enforce_unnamed_columns(df: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    out: dict[Any, pd.Series] = {}
    for col, spec in zip(df.columns[: len(schema)], schema, strict=True):
        assert isinstance(spec, ColSpec)
        out[col] = _enforce_column(col, df[col], spec.type, True)
    return pd.DataFrame(out)


def _enforce_column(name: Any, values: pd.Series, t: ColumnType, required: bool) -> pd.Series:
    if isinstance(t, DataType):
        return _enforce_datatype_column(name, values, t)
    return pd.Series(
        [_enforce_value(v, t, required) for v in values], index=values.index, name=name
    )


def _enforce_datatype_column(name: Any, values: pd.Series, t: DataType) -> pd.Series:
    """Check one column against a primitive type and widen it if that is safe."""
    if values.dtype == _OBJECT and t not in (DataType.binary, DataType.string):
        values = values.infer_objects()
    dtype = values.dtype
    is_string_dtype = isinstance(dtype, pd.StringDtype)
    is_object = dtype == _OBJECT

    if t is DataType.string and (is_object or is_string_dtype):
        return values  # cells are not checked, as in MLflow
    if t is DataType.binary and is_string_dtype:
        return values
    if dtype == t.to_pandas() or dtype == t.to_numpy():
        return values
    if t is DataType.binary and dtype.kind == "S":
        return values  # bytes width is irrelevant
    if t is DataType.datetime and dtype.kind == "M":
        try:
            return values.astype("datetime64[ns]")
        except TypeError as exc:
            raise _Reject(
                "Please ensure that the input data of datetime column only contains "
                f"timezone-naive datetime objects. Error: {exc}"
            ) from exc
    if t is DataType.datetime and is_object:
        # a TypeError (a cell of a non-date type) surfaces as is, as in MLflow
        try:
            return values.astype("datetime64[ns]", errors="raise")
        except ValueError as exc:
            raise _Reject(f"Failed to convert column {name} from type {dtype} to {t}.") from exc
    if t is DataType.boolean and is_object:
        return values  # casting would turn None into False
    if t is DataType.double and is_object:
        # object columns (e.g. Spark decimals) become floats, possibly losing precision;
        # MLflow spells this `dtype == decimal.Decimal`, which numpy holds for every object dtype
        try:
            return pd.to_numeric(values, errors="raise")
        except ValueError as exc:
            raise _Reject(f"Failed to convert column {name} from type {dtype} to {t}.") from exc

    target = t.to_numpy()
    kind, size = dtype.kind, getattr(dtype, "itemsize", None)
    if size is None:  # pandas string / categorical dtypes: nothing converts safely
        widening = False
    elif kind == target.kind:
        widening = size <= target.itemsize
    elif kind == "u" and target.kind == "i":
        widening = size < target.itemsize
    elif kind in ("i", "u") and target == np.float64:
        widening = size <= 6  # float64 holds every int of up to 48 bits exactly
    else:
        widening = False
    if widening:
        return values.astype(target, errors="raise")
    if dtype == np.int64 and target.kind == "f" and _all_zero_or_one(values):
        return values.astype(target, errors="raise")

    hint = ""
    if dtype == np.float64 and target.kind in ("i", "u") and values.hasnans and _all_ints(values):
        hint = (
            " Hint: the type mismatch is likely caused by missing values. Integer columns "
            "cannot represent missing values and are therefore encoded as floats. Infer the "
            "schema from data that includes missing values, or declare such columns as double."
        )
    raise _Reject(
        f"Incompatible input types for column {name}. "
        f"Can not safely convert {dtype} to {target}.{hint}"
    )


_OBJECT = np.dtype("O")


def _all_zero_or_one(values: pd.Series) -> bool:
    return bool((values.isna() | values.isin((0, 1))).all())


def _all_ints(values: pd.Series) -> bool:
    present = values.dropna()
    return bool((present == np.floor(present)).all())


def _is_none_or_nan(x: Any) -> bool:
    if isinstance(x, float):
        return bool(np.isnan(x))
    return x is None or x is pd.NA or x is pd.NaT


def _enforce_value(data: Any, t: ColumnType, required: bool = True) -> Any:
    """Element-wise enforcement of one cell against a (possibly complex) type."""
    if isinstance(t, DataType):
        return _enforce_scalar(data, t, required)
    if isinstance(t, Array):
        return _enforce_array(data, t, required)
    if isinstance(t, Object):
        return _enforce_object(data, t, required)
    if isinstance(t, Map):
        return _enforce_map(data, t, required)
    return data  # AnyType


def _enforce_scalar(data: Any, t: DataType, required: bool) -> Any:
    if not required and _is_none_or_nan(data):
        return None
    if not np.isscalar(data):
        raise _Reject(f"Expected data to be scalar, got {type(data).__name__}")
    plan = _plan_for(type(data), t) if _fast_ok(data) else None
    if plan is not None:
        outcome, scalar_type = plan
        if outcome == "zero_one" and data in (0, 1):
            outcome = "keep"
        if outcome == "keep":
            return data if scalar_type is None else scalar_type(data)
        raise _Reject(f"Failed to enforce schema of data `{data!s}` with dtype `{t.name}`")
    try:
        converted = _enforce_datatype_column("", pd.Series([data]), t)
    except _Reject as exc:
        raise _Reject(f"Failed to enforce schema of data `{data!s}` with dtype `{t.name}`") from exc
    return converted.iloc[0]


# --- fast path for cells of complex columns ---------------------------------------------------
# Enforcing a cell means building a one-element Series and running the column rules on it,
# which costs ~100 µs. For the common Python/numpy scalar types the outcome depends only on
# (type, target), so it is computed once, by running the column rules on a sample, and cached.

_FAST_TYPES: dict[type, Any] = {
    bool: True,
    np.bool_: np.bool_(True),
    int: 2,
    np.int64: np.int64(2),
    np.int32: np.int32(2),
    float: 2.5,
    np.float64: np.float64(2.5),
    np.float32: np.float32(2.5),
    str: "x",
}
_PLANS: dict[tuple[type, DataType], tuple[str, Any]] = {}


def _fast_ok(value: Any) -> bool:
    kind = type(value)
    if kind not in _FAST_TYPES:
        return False
    # ints beyond int64 make pandas pick uint64/object; leave those to the slow path
    return kind is not int or -(2**63) <= value < 2**63


def _plan_for(kind: type, t: DataType) -> tuple[str, Any]:
    """("keep" | "reject" | "zero_one", type to convert the scalar with, or None)."""
    key = (kind, t)
    plan = _PLANS.get(key)
    if plan is None:
        sample = pd.Series([_FAST_TYPES[kind]])
        try:
            result = _enforce_datatype_column("", sample, t)
        except _Reject:
            if sample.dtype == np.int64 and t.to_numpy().kind == "f":
                plan = ("zero_one", t.to_numpy().type)
            else:
                plan = ("reject", None)
        else:
            rdtype = result.dtype
            plan = ("keep", rdtype.type if isinstance(rdtype, np.dtype) else None)
        _PLANS[key] = plan
    return plan


def _fast_array(data: list[Any], t: DataType) -> Any:
    """Enforce a homogeneous list of fast-path scalars, or return None to use the slow path."""
    kind = type(data[0])
    if kind not in _FAST_TYPES or any(type(x) is not kind for x in data):
        return None
    if kind is int and not all(-(2**63) <= x < 2**63 for x in data):
        return None
    outcome, _ = _plan_for(kind, t)
    if outcome == "zero_one" and all(x in (0, 1) for x in data):
        outcome = "keep"
    if outcome != "keep":
        raise _Reject(
            f"Incompatible input types for column . "
            f"Can not safely convert {pd.Series(data[:1]).dtype} to {t.to_numpy()}."
        )
    return np.array(data, dtype=t.to_numpy()).tolist()


def _enforce_array(data: Any, t: Array, required: bool) -> Any:
    if (not required or isinstance(t.dtype, AnyType)) and (
        data is None or (isinstance(data, (list, np.ndarray)) and len(data) == 0)
    ):
        return data
    if not isinstance(data, (list, np.ndarray)):
        raise _Reject(f"Expected data to be list or numpy array, got {type(data).__name__}")
    if isinstance(t.dtype, DataType):
        if len(data) == 0:
            return data
        if isinstance(data, list):
            fast = _fast_array(data, t.dtype)
            if fast is not None:
                return fast
        enforced: Any = _enforce_datatype_column("", pd.Series(data), t.dtype).to_numpy(
            dtype=t.dtype.to_numpy()
        )
    else:
        enforced = [_enforce_value(x, t.dtype, required) for x in data]
    if isinstance(data, list) and isinstance(enforced, np.ndarray):
        return enforced.tolist()
    if isinstance(data, np.ndarray) and isinstance(enforced, list):
        return np.array(enforced)
    return enforced


def _enforce_object(data: Any, t: Object, required: bool) -> Any:
    if not required and (data is None or (isinstance(data, dict) and not data)):
        return data
    if not isinstance(data, dict):
        raise _Reject(
            f"Failed to enforce schema of '{data}' with type '{t}'. "
            f"Expected data to be dictionary, got {type(data).__name__}"
        )
    props: dict[str, Property] = {p.name: p for p in t.properties}
    missing = {k for k, p in props.items() if p.required} - data.keys()
    if missing:
        raise _Reject(f"Missing required properties: {_as_set(missing)}")
    unknown = data.keys() - props.keys()
    if unknown:
        raise _Reject(f"Invalid properties not defined in the schema found: {_as_set(unknown)}")
    out = {}
    for key, value in data.items():
        prop = props[key]
        try:
            out[key] = _enforce_value(value, prop.dtype, prop.required)
        except _Reject as exc:
            raise _Reject(
                f"Failed to enforce schema for key `{key}`. Expected type "
                f"{prop.to_dict()[key]['type']}, received type {type(value).__name__}"
            ) from exc
    return out


def _as_set(names: set[str]) -> str:
    """Set notation, MLflow's wording, but in a stable (sorted) order."""
    return "{" + ", ".join(repr(n) for n in sorted(names)) + "}"


def _enforce_map(data: Any, t: Map, required: bool) -> Any:
    if (not required or isinstance(t.value_type, AnyType)) and (
        data is None or (isinstance(data, dict) and not data)
    ):
        return data
    if not isinstance(data, dict):
        raise _Reject(f"Expected data to be a dict, got {type(data).__name__}")
    if not all(isinstance(k, str) for k in data):
        raise _Reject("Expected all keys in the map type data are string type.")
    return {k: _enforce_value(v, t.value_type, required) for k, v in data.items()}


# --- tensors ---------------------------------------------------------------------------------


def _is_sparse(x: Any) -> bool:
    # scipy is never imported here: a sparse matrix can only exist if scipy already is
    module = type(x).__module__
    if not module.startswith("scipy.sparse"):
        return False
    from scipy.sparse import csc_matrix, csr_matrix

    return isinstance(x, (csr_matrix, csc_matrix))


def _enforce_tensor(values: Any, spec: TensorSpec) -> Any:
    expected_shape, expected_type = spec.shape, spec.type
    actual_shape = values.shape
    actual_type = values.dtype if isinstance(values, np.ndarray) else values.data.dtype
    if expected_shape == (-1,) and expected_type == np.dtype("O"):
        return values  # an object vector accepts anything
    if (
        len(expected_shape) > 1
        and -1 in expected_shape[1:]
        and len(actual_shape) == 1
        and actual_type == np.dtype("O")
    ):
        return values  # a ragged array against a spec with inner variable dimensions
    if len(expected_shape) != len(actual_shape) or any(
        e != -1 and e != a for e, a in zip(expected_shape, actual_shape, strict=True)
    ):
        raise _Reject(
            f"Shape of input {actual_shape} does not match expected shape {expected_shape}."
        )
    if clean_tensor_type(actual_type) != expected_type:
        raise _Reject(f"dtype of input {actual_type} does not match expected dtype {expected_type}")
    return values


def _column_to_tensor(name: ColumnName | None, column: pd.Series, spec: TensorSpec) -> Any:
    if spec.shape[0] != -1 or -1 in spec.shape[1:]:
        which = f"input {name}" if name else "the unnamed input"
        raise _Reject(
            "For pandas dataframe input, the first dimension of shape must be a variable "
            "dimension and other dimensions must be fixed, but in model signature the shape "
            f"of {which} is {spec.shape}."
        )
    first = column.iloc[0]
    if np.isscalar(first):
        if spec.shape in ((-1,), (-1, 1)):
            cast: np.ndarray = np.array(column, dtype=spec.type).reshape(spec.shape)
            return _enforce_tensor(cast, spec)
        raise _Reject(
            f"The input pandas dataframe column '{name}' contains scalar values, which requires "
            f"the shape to be (-1,) or (-1, 1), but got tensor spec shape of {spec.shape}."
        )
    if isinstance(first, list) and first and np.isscalar(first[0]):
        # list cells carry no dtype, so they are cast to the spec's
        try:
            arr = np.vstack(column.tolist()).reshape(spec.shape).astype(spec.type)
        except ValueError:
            arr = None
        if arr is None or len(arr) != len(column):
            raise _Reject(
                f"The value in the Input DataFrame column '{name}' could not be converted to the "
                f"expected shape of: '{spec.shape}'. Ensure that each of the input list elements "
                f"are of uniform length and that the data can be coerced to the tensor type "
                f"'{spec.type}'"
            )
        return arr
    if isinstance(first, np.ndarray):
        try:
            arr = np.vstack(column.tolist()).reshape(spec.shape)
        except ValueError:
            arr = None
        if arr is None or len(arr) != len(column):
            raise _Reject(
                f"The value in the Input DataFrame column '{name}' could not be converted to the "
                f"expected shape of: '{spec.shape}'. Ensure that each of the input numpy array "
                "elements are of uniform length and can be reshaped to above expected shape."
            )
        return arr
    raise _Reject(
        "Because the model signature requires tensor spec input, the input pandas dataframe "
        "values should be either scalar value, python list containing scalar values or numpy "
        "array containing scalar values, other types are not supported."
    )


def _enforce_tensor_schema(data: Any, schema: Schema) -> Any:
    specs = [s for s in schema if isinstance(s, TensorSpec)]
    if schema.has_input_names():
        if isinstance(data, dict):
            out = {}
            for spec in specs:
                value = data[spec.name]
                if not isinstance(value, np.ndarray):
                    raise _Reject(
                        "This model contains a tensor-based model signature with input names, "
                        "which suggests a dictionary input mapping input name to a numpy array, "
                        f"but a dict with value type {type(value)} was found."
                    )
                out[spec.name] = _enforce_tensor(value, spec)
            return out
        if isinstance(data, pd.DataFrame):
            return {
                spec.name: _column_to_tensor(spec.name, data[spec.name], spec) for spec in specs
            }
        raise _Reject(
            "This model contains a tensor-based model signature with input names, which suggests "
            "a dictionary input mapping input name to tensor, or a pandas DataFrame input "
            "containing columns mapping input name to flattened list value from tensor, but an "
            f"input of type {type(data)} was found."
        )
    spec = specs[0]
    if isinstance(data, pd.DataFrame):
        if data.empty:
            raise _Reject("Input DataFrame is empty.")
        if len(data.columns) == 1:
            return _column_to_tensor(None, data[data.columns[0]], spec)
        if spec.shape != (-1, len(data.columns)):
            raise _Reject(
                "This model contains a model signature with an unnamed input. Since the input "
                "data is a pandas DataFrame containing multiple columns, the input shape must be "
                f"of the structure (-1, number_of_dataframe_columns). Instead, the input "
                f"DataFrame passed had {len(data.columns)} columns and an input shape of "
                f"{spec.shape} with all values within the DataFrame of scalar type. Please "
                "adjust the passed in DataFrame to match the expected structure"
            )
        return _enforce_tensor(data.to_numpy(), spec)
    if isinstance(data, np.ndarray) or _is_sparse(data):
        return _enforce_tensor(data, spec)
    raise _Reject(
        "This model contains a tensor-based model signature with no input names, which suggests "
        "a numpy array input or a pandas dataframe input with proper column values, but an input "
        f"of type {type(data)} was found."
    )


# ---------------------------------------------------------------------------------------------
# Params
# ---------------------------------------------------------------------------------------------

# target type -> narrower types a value may have and still be accepted (then converted)
_PARAM_WIDENING: dict[DataType, tuple[DataType, ...]] = {
    DataType.long: (DataType.integer,),
    DataType.float: (DataType.integer, DataType.long),
    DataType.double: (DataType.integer, DataType.long, DataType.float),
}


@overload
def enforce_params(
    params: Mapping[Any, Any] | None, param_schema: ParamSchema
) -> dict[str, Any]: ...


@overload
def enforce_params(
    params: Mapping[Any, Any] | None, param_schema: ParamSchema | None
) -> dict[str, Any] | None: ...


def enforce_params(
    params: Mapping[Any, Any] | None, param_schema: ParamSchema | None
) -> dict[str, Any] | None:
    """Validate inference params and fill in defaults, as MLflow's pyfunc does.

    Without a schema, params are dropped (with a warning if any were given) and ``{}`` is
    returned (``None``/``{}`` in ⇒ the same out). With a schema, unknown params are dropped with
    a warning, every declared param missing from ``params`` gets its default, and values are
    validated and converted to Python types (``2`` → ``2.0`` for a double).

    Args:
        params: the params passed to predict, or None.
        param_schema: the model's :class:`ParamSchema`, or None.

    Returns:
        The params the model should see.

    Raises:
        SchemaEnforcementError: params is not a mapping, or some values are invalid
            (all problems are reported at once: ``Invalid parameters found: {...}``).
    """
    if param_schema is None:
        if params is None or (isinstance(params, Mapping) and not params):
            return None if params is None else {}
        what = (
            f"Ignoring provided params: {list(params.keys())}"
            if isinstance(params, Mapping)
            else "Ignoring invalid params (not a dictionary)."
        )
        warnings.warn(
            "`params` can only be specified at inference time if the model signature defines a "
            f"params schema. This model does not define a params schema. {what}",
            ModelshelfWarning,
            stacklevel=2,
        )
        return {}
    if not isinstance(param_schema, ParamSchema):
        raise TypeError(f"param_schema must be a ParamSchema, got {type(param_schema).__name__}")
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise SchemaEnforcementError(
            f"Parameters must be a dictionary. Got type '{type(params).__name__}'."
        )
    if any(not isinstance(k, str) for k in params):
        warnings.warn(
            "Keys in parameters should be of type `str`, but received non-string keys. "
            "Converting all keys to string...",
            ModelshelfWarning,
            stacklevel=2,
        )
    given = {str(k): v for k, v in params.items()}
    allowed = [p.name for p in param_schema]
    ignored = [k for k in given if k not in allowed]
    if ignored:
        warnings.warn(
            f"Unrecognized params {ignored} are ignored for inference. Supported params are: "
            f"{allowed}. To enable them, add them to the model signature's params schema.",
            ModelshelfWarning,
            stacklevel=2,
        )
    out: dict[str, Any] = {}
    invalid: list[tuple[str, str]] = []
    for spec in param_schema:
        if spec.name in given:
            try:
                out[spec.name] = validate_param_value(given[spec.name], spec)
            except SchemaEnforcementError as exc:
                invalid.append((spec.name, str(exc)))
        else:
            out[spec.name] = spec.default
    if invalid:
        raise SchemaEnforcementError(f"Invalid parameters found: {set(invalid)!r}")
    # MLflow keeps the caller's order for given params, then appends defaults
    order = [k for k in given if k in out] + [k for k in out if k not in given]
    return {k: out[k] for k in order}


def validate_param_value(value: Any, spec: ParamSpec) -> Any:
    """Validate one param value against its spec and return it converted.

    Raises:
        SchemaEnforcementError: wrong type or shape.
    """
    if spec.shape == (-1,):
        ndim = _ndim(value)
        if not isinstance(value, (list, np.ndarray)) or ndim != 1:
            raise SchemaEnforcementError(
                f"Value must be a 1D array with shape (-1,) for param {spec!r}, "
                f"received {type(value).__name__} with ndim {ndim}"
            )
    try:
        if spec.shape is None:
            if isinstance(spec.dtype, Object):
                _enforce_object(copy.deepcopy(value), spec.dtype, True)
                return value  # validated, but handed to the model unchanged
            return _enforce_param_scalar(value, spec.dtype)
        return [_enforce_param_scalar(v, spec.dtype) for v in value]
    except (_Reject, ValueError, TypeError, OverflowError) as exc:
        raise SchemaEnforcementError(
            f"Failed to validate type and shape for {spec!r}, error: {exc}"
        ) from exc


def _ndim(value: Any) -> int | str:
    try:
        return int(np.array(value).ndim)
    except ValueError:
        return "ragged"


def _enforce_param_scalar(value: Any, dtype: DataType | Object) -> Any:
    if value is None:
        return None
    if not isinstance(dtype, DataType):
        raise _Reject(f"Value must be a scalar for type `{dtype}`, got `{value}`")
    if dtype is DataType.datetime:
        try:
            converted = np.datetime64(value).item()
        except ValueError as exc:
            raise _Reject(
                f"Failed to convert value `{value}` from type `{type(value)}` to `{dtype!r}`"
            ) from exc
        if isinstance(converted, int):  # nanosecond values have no Python datetime
            raise _Reject(
                f"Failed to convert value to `{dtype!r}`. It must be convertible to "
                f"datetime.date/datetime, got `{value}`"
            )
        return converted
    if not np.isscalar(value):
        raise _Reject(f"Value must be a scalar for type `{dtype!r}`, got `{value}`")
    if DataType.check_type(dtype, value) or any(
        DataType.check_type(narrow, value) for narrow in _PARAM_WIDENING.get(dtype, ())
    ):
        try:
            return dtype.to_python()(value)
        except ValueError as exc:
            raise _Reject(
                f"Failed to convert value `{value!s}` from type `{type(value)}` to `{dtype!r}`"
            ) from exc
    raise _Reject(f"Can not safely convert `{type(value)}` to `{dtype!r}` for value `{value!s}`")
