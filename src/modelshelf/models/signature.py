"""Model signatures in MLflow's format: schemas of inputs and outputs, and inference params.

A signature is stored in ``MLmodel`` as three JSON *strings* (docs/explanation/mlflow-format.md §4)::

    signature:
      inputs: '[{"type": "double", "name": "x", "required": true}]'
      outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1]}}]'
      params: '[{"name": "k", "default": 3, "shape": null, "type": "long"}]'

:meth:`ModelSignature.to_dict` writes exactly what MLflow writes; :meth:`ModelSignature.from_dict`
reads what MLflow 1.x (no ``required``), 2.9 (``optional``) and 3.x wrote. Anything that breaks
the schema rules raises :class:`~modelshelf.errors.MalformedMetadataError`.

This module imports only numpy (pandas is imported by inference and enforcement, lazily).
"""

from __future__ import annotations

import json
import string
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from modelshelf.errors import MalformedMetadataError, SchemaEnforcementError
from modelshelf.models._types import (
    AnyType,
    Array,
    ColumnType,
    DataType,
    Map,
    Object,
    Property,
    SparkMLVector,
    type_from_dict,
    type_to_dict,
)

if TYPE_CHECKING:
    from modelshelf.models._infer import InferableData

__all__ = [
    "AnyType",
    "Array",
    "ColSpec",
    "DataType",
    "Map",
    "ModelSignature",
    "Object",
    "ParamSchema",
    "ParamSpec",
    "Property",
    "Schema",
    "SparkMLVector",
    "TensorSpec",
    "clean_tensor_type",
    "infer_signature",
]

ColumnName = str | int  # DataFrames built from arrays have integer column names


class ColSpec:
    """One column of a column-based schema: a type, an optional name and requiredness.

    Args:
        type: a :class:`DataType`, a complex type, or a type name such as ``"double"``.
        name: the column name; None for an unnamed (positional) column.
        required: whether the column must be present at predict time.

    Raises:
        MalformedMetadataError: the type is unknown.
    """

    __slots__ = ("_name", "_required", "_type")

    def __init__(
        self, type: ColumnType | str, name: ColumnName | None = None, required: bool = True
    ) -> None:
        self._type = _column_type(type, f"column {name!r}")
        self._name = name
        self._required = bool(required)

    @property
    def type(self) -> ColumnType:
        """The column type."""
        return self._type

    @property
    def name(self) -> ColumnName | None:
        """The column name, or None if the column is unnamed."""
        return self._name

    @property
    def required(self) -> bool:
        """Whether the column must be present."""
        return self._required

    def to_dict(self) -> dict[str, Any]:
        """JSON dict in MLflow's key order: type (and its details), name, required."""
        d = type_to_dict(self._type)
        if self._name is not None:
            d["name"] = self._name
        d["required"] = self._required
        return d

    @classmethod
    def from_json_dict(cls, **kwargs: Any) -> ColSpec:
        """Parse one ColSpec JSON dict (``required`` absent ⇒ true; 2.9's ``optional`` honoured)."""
        name = kwargs.get("name")
        where = f"column {name!r}" if name is not None else "unnamed column"
        if name is not None and (not isinstance(name, (str, int)) or isinstance(name, bool)):
            raise MalformedMetadataError(f"{where}: 'name' must be a string, got {name!r}")
        required = _required_flag(kwargs, where)
        return cls(type_from_dict(kwargs, where=where), name=name, required=required)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ColSpec)
            and self._name == other._name
            and self._type == other._type
            and self._required == other._required
        )

    def __hash__(self) -> int:
        return hash((self._name, self._type, self._required))

    def __repr__(self) -> str:
        req = "required" if self._required else "optional"
        if self._name is None:
            return f"{self._type!r} ({req})"
        return f"{self._name!r}: {self._type!r} ({req})"


def _required_flag(d: Mapping[str, Any], where: str) -> bool:
    if "optional" in d:  # MLflow 2.9 wrote `"optional": true` instead of `required`
        flag = d["optional"]
        if not isinstance(flag, bool):
            raise MalformedMetadataError(f"{where}: 'optional' must be true or false, got {flag!r}")
        return not flag
    flag = d.get("required", True)
    if flag is None:  # MLflow 3 writes null when it read a bare complex column
        return True
    if not isinstance(flag, bool):
        raise MalformedMetadataError(f"{where}: 'required' must be true or false, got {flag!r}")
    return flag


def _column_type(value: Any, where: str) -> ColumnType:
    if isinstance(value, str):
        return type_from_dict({"type": value}, where=where)
    if isinstance(value, (DataType, Array, Object, Map, AnyType)):
        return value
    raise MalformedMetadataError(
        f"{where}: expected a DataType, Array, Object, Map, AnyType or a type name, "
        f"got {type(value).__name__}"
    )


def clean_tensor_type(dtype: np.dtype[Any]) -> np.dtype[Any]:
    """Strip the size from flexible dtypes (``<U5`` → ``str``, ``|S3`` → ``bytes``)."""
    if not isinstance(dtype, np.dtype):
        raise TypeError(f"Expected a numpy dtype, got {type(dtype).__name__}")
    if dtype.char == "U":
        return np.dtype("str")
    if dtype.char == "S":
        return np.dtype("bytes")
    return dtype


class TensorSpec:
    """One tensor of a tensor-based schema: numpy dtype, shape (``-1`` = any size), name.

    Args:
        type: numpy dtype (or a name numpy understands); flexible types must be size-less
            (``str``/``bytes``, not ``<U5``).
        shape: the dimensions; ``-1`` marks a variable dimension.
        name: the tensor name; None for a single unnamed tensor.

    Raises:
        MalformedMetadataError: the dtype is unknown or sized, or the shape is not a list of ints.
    """

    __slots__ = ("_dtype", "_name", "_shape")

    def __init__(
        self, type: np.dtype[Any] | str, shape: Sequence[int], name: str | None = None
    ) -> None:
        where = f"tensor {name!r}" if name is not None else "unnamed tensor"
        try:
            dtype = np.dtype(type)
        except TypeError as exc:
            raise MalformedMetadataError(f"{where}: unknown numpy dtype {type!r}") from exc
        if dtype.char in ("U", "S") and not dtype.name.isalpha():
            raise MalformedMetadataError(
                f"{where}: flexible dtypes must not carry a size; use "
                f'np.dtype("{dtype.name.rstrip(string.digits)}") instead of {dtype.name!r}'
            )
        if not isinstance(shape, (tuple, list)) or not all(
            isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in shape
        ):
            raise MalformedMetadataError(f"{where}: shape must be a list of ints, got {shape!r}")
        self._dtype = dtype
        self._shape = tuple(int(d) for d in shape)
        self._name = name

    @property
    def type(self) -> np.dtype[Any]:
        """The numpy dtype."""
        return self._dtype

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape; ``-1`` marks a variable dimension."""
        return self._shape

    @property
    def name(self) -> str | None:
        """The tensor name, or None if unnamed."""
        return self._name

    @property
    def required(self) -> bool:
        """Tensors are always required."""
        return True

    def to_dict(self) -> dict[str, Any]:
        """JSON dict in MLflow's key order: name (if any), type, tensor-spec."""
        spec = {"dtype": self._dtype.name, "shape": list(self._shape)}
        if self._name is None:
            return {"type": "tensor", "tensor-spec": spec}
        return {"name": self._name, "type": "tensor", "tensor-spec": spec}

    @classmethod
    def from_json_dict(cls, **kwargs: Any) -> TensorSpec:
        """Parse one TensorSpec JSON dict."""
        name = kwargs.get("name")
        where = f"tensor {name!r}" if name is not None else "unnamed tensor"
        spec = kwargs.get("tensor-spec")
        if not isinstance(spec, Mapping) or not {"dtype", "shape"} <= spec.keys():
            raise MalformedMetadataError(
                f"{where}: expected 'tensor-spec' with keys 'dtype' and 'shape', got {spec!r}"
            )
        if name is not None and not isinstance(name, str):
            raise MalformedMetadataError(f"{where}: 'name' must be a string, got {name!r}")
        if not isinstance(spec["dtype"], str):
            raise MalformedMetadataError(f"{where}: dtype must be a string, got {spec['dtype']!r}")
        return cls(spec["dtype"], spec["shape"], name)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, TensorSpec)
            and self._name == other._name
            and self._dtype == other._dtype
            and self._shape == other._shape
        )

    def __hash__(self) -> int:
        return hash((self._name, self._dtype, self._shape))

    def __repr__(self) -> str:
        info = f"Tensor({self._dtype.name!r}, {self._shape!r})"
        return info if self._name is None else f"{self._name!r}: {info}"


class Schema:
    """The columns (:class:`ColSpec`) or tensors (:class:`TensorSpec`) of a dataset.

    Rules (docs/explanation/mlflow-format.md §4): non-empty; all ColSpec or all TensorSpec; all named or all
    unnamed; several tensors must be named; unnamed inputs cannot be optional.

    Raises:
        MalformedMetadataError: a rule is broken.
    """

    __slots__ = ("_inputs",)

    def __init__(self, inputs: Iterable[ColSpec | TensorSpec]) -> None:
        if isinstance(inputs, (str, bytes, Mapping)):
            raise MalformedMetadataError(
                f"Schema inputs must be a list of ColSpec or TensorSpec, got {type(inputs).__name__}"
            )
        items = list(inputs)
        if not items:
            raise MalformedMetadataError("A schema needs at least one input; got an empty list.")
        if not all(isinstance(x, (ColSpec, TensorSpec)) for x in items):
            bad = next(x for x in items if not isinstance(x, (ColSpec, TensorSpec)))
            raise MalformedMetadataError(
                f"Schema inputs must be ColSpec or TensorSpec, got {type(bad).__name__}"
            )
        is_tensor = [isinstance(x, TensorSpec) for x in items]
        if any(is_tensor) and not all(is_tensor):
            raise MalformedMetadataError(
                "A schema cannot mix ColSpec and TensorSpec inputs; use one kind."
            )
        named = [x.name is not None for x in items]
        if any(named) and not all(named):
            raise MalformedMetadataError(
                "A schema cannot mix named and unnamed inputs; got input names "
                f"{[x.name for x in items]}"
            )
        if all(is_tensor) and len(items) > 1 and not all(named):
            raise MalformedMetadataError(
                "A schema with several TensorSpecs must name every tensor."
            )
        if not any(named) and not all(x.required for x in items):
            raise MalformedMetadataError(
                "Unnamed inputs cannot be optional; name the inputs or make them required."
            )
        self._inputs: tuple[ColSpec | TensorSpec, ...] = tuple(items)

    @property
    def inputs(self) -> list[ColSpec | TensorSpec]:
        """The column or tensor specs, in order."""
        return list(self._inputs)

    def __len__(self) -> int:
        return len(self._inputs)

    def __iter__(self) -> Iterator[ColSpec | TensorSpec]:
        return iter(self._inputs)

    def is_tensor_spec(self) -> bool:
        """Whether the schema is made of TensorSpecs."""
        return isinstance(self._inputs[0], TensorSpec)

    def has_input_names(self) -> bool:
        """Whether the inputs are named."""
        return self._inputs[0].name is not None

    def input_names(self) -> list[ColumnName]:
        """Names of the inputs, or their positions when unnamed."""
        return [x.name if x.name is not None else i for i, x in enumerate(self._inputs)]

    def required_input_names(self) -> list[ColumnName]:
        """Names (or positions) of the required inputs."""
        return [n for n, x in zip(self.input_names(), self._inputs, strict=True) if x.required]

    def optional_input_names(self) -> list[ColumnName]:
        """Names (or positions) of the optional inputs."""
        return [n for n, x in zip(self.input_names(), self._inputs, strict=True) if not x.required]

    def input_types(self) -> list[ColumnType | np.dtype[Any]]:
        """The type of every input (numpy dtypes for tensors)."""
        return [x.type for x in self._inputs]

    def input_types_dict(self) -> dict[ColumnName, ColumnType | np.dtype[Any]]:
        """Name → type; only for named schemas.

        Raises:
            MalformedMetadataError: the schema is unnamed.
        """
        return {name: spec.type for name, spec in self.input_dict().items()}

    def input_dict(self) -> dict[ColumnName, ColSpec | TensorSpec]:
        """Name → spec; only for named schemas.

        Raises:
            MalformedMetadataError: the schema is unnamed.
        """
        if not self.has_input_names():
            raise MalformedMetadataError("This schema has no input names.")
        return {x.name: x for x in self._inputs}  # type: ignore[misc]

    def numpy_types(self) -> list[np.dtype[Any]]:
        """The numpy dtype of every input.

        Raises:
            MalformedMetadataError: some column has a complex type.
        """
        if self.is_tensor_spec():
            return [x.type for x in self._inputs]  # type: ignore[misc]
        types = self.input_types()
        if not all(isinstance(t, DataType) for t in types):
            raise MalformedMetadataError(
                "Cannot give numpy types: some inputs have complex (non-DataType) types."
            )
        return [t.to_numpy() for t in types]  # type: ignore[union-attr]

    def pandas_types(self) -> list[Any]:
        """The pandas dtype of every column (column schemas only).

        Raises:
            MalformedMetadataError: a tensor schema, or some column has a complex type.
        """
        if self.is_tensor_spec():
            raise MalformedMetadataError("Tensor schemas have numpy types only; use numpy_types().")
        types = self.input_types()
        if not all(isinstance(t, DataType) for t in types):
            raise MalformedMetadataError(
                "Cannot give pandas types: some inputs have complex (non-DataType) types."
            )
        return [t.to_pandas() for t in types]  # type: ignore[union-attr]

    def to_dict(self) -> list[dict[str, Any]]:
        """The JSON-able list of spec dicts."""
        return [x.to_dict() for x in self._inputs]

    def to_json(self) -> str:
        """JSON text exactly as MLflow writes it (``json.dumps`` default separators)."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, json_str: str | bytes) -> Schema:
        """Parse schema JSON written by any MLflow version.

        Raises:
            MalformedMetadataError: not JSON, not a non-empty list of specs, or a rule is broken.
        """
        return cls.from_dict(_load_json_list(json_str, "schema"))

    @classmethod
    def from_dict(cls, items: Sequence[Mapping[str, Any]]) -> Schema:
        """Parse an already-decoded list of spec dicts (see :meth:`from_json`)."""
        if not isinstance(items, list):
            raise MalformedMetadataError(
                f"A schema must be a JSON list of specs, got {type(items).__name__}"
            )
        specs: list[ColSpec | TensorSpec] = []
        for i, item in enumerate(items):
            if not isinstance(item, Mapping):
                raise MalformedMetadataError(
                    f"Schema entry {i} must be a JSON object, got {item!r}"
                )
            _check_keys(item, f"Schema entry {i}")
            if "type" not in item:
                raise MalformedMetadataError(f"Schema entry {i} has no 'type': {dict(item)!r}")
            if item["type"] == "tensor":
                specs.append(TensorSpec.from_json_dict(**item))
            else:
                specs.append(ColSpec.from_json_dict(**item))
        return cls(specs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Schema) and self._inputs == other._inputs

    def __hash__(self) -> int:
        return hash(self._inputs)

    def __repr__(self) -> str:
        return repr(list(self._inputs))


def _check_keys(item: Mapping[Any, Any], where: str) -> None:
    odd = [k for k in item if not isinstance(k, str)]
    if odd:
        raise MalformedMetadataError(f"{where} has a key that is not a string: {odd[0]!r}")


def _load_json_list(text: str | bytes | list[Any], what: str) -> Any:
    if isinstance(text, list):  # already decoded (e.g. a YAML map written by another tool)
        return text
    if not isinstance(text, (str, bytes, bytearray)):
        raise MalformedMetadataError(f"The {what} must be JSON text, got {type(text).__name__}")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise MalformedMetadataError(
            f"The {what} is not valid JSON: {exc}: {text[:200]!r}"
        ) from exc
    except RecursionError:
        raise MalformedMetadataError(
            f"The {what} is nested too deeply to be a schema: {text[:80]!r}…"
        ) from None


class ParamSpec:
    """One inference parameter: name, type, default and shape (None = scalar, ``(-1,)`` = list).

    The default is validated (and converted, e.g. ISO text → datetime) like a value passed at
    predict time.

    Raises:
        MalformedMetadataError: unknown/binary type, bad shape, or a default of the wrong type.
    """

    __slots__ = ("_default", "_dtype", "_name", "_shape")

    def __init__(
        self,
        name: str,
        dtype: DataType | Object | str,
        default: Any,
        shape: Sequence[int] | None = None,
    ) -> None:
        self._name = str(name)
        if isinstance(dtype, str):
            try:
                dtype = DataType[dtype]
            except KeyError:
                raise MalformedMetadataError(
                    f"Param {self._name!r}: unsupported type {dtype!r}; expected one of "
                    f"{[t.name for t in DataType if t is not DataType.binary]} or 'object'"
                ) from None
        if not isinstance(dtype, (DataType, Object)):
            raise MalformedMetadataError(
                f"Param {self._name!r}: type must be a DataType, Object or type name, "
                f"got {type(dtype).__name__}"
            )
        if dtype is DataType.binary:
            raise MalformedMetadataError(
                f"Param {self._name!r}: binary is not supported for parameters"
            )
        self._dtype: DataType | Object = dtype
        if shape is not None and (not isinstance(shape, (list, tuple)) or tuple(shape) != (-1,)):
            raise MalformedMetadataError(
                f"Param {self._name!r}: shape must be null (scalar) or [-1] (1-D list), "
                f"got {shape!r}"
            )
        self._shape = None if shape is None else (-1,)
        self._default = default
        from modelshelf.models._enforce import validate_param_value

        try:
            self._default = validate_param_value(default, self)
        except SchemaEnforcementError as exc:
            raise MalformedMetadataError(f"Param {self._name!r}: invalid default: {exc}") from exc

    @property
    def name(self) -> str:
        """The parameter name."""
        return self._name

    @property
    def dtype(self) -> DataType | Object:
        """The parameter type."""
        return self._dtype

    @property
    def type(self) -> DataType | Object:
        """Alias of :attr:`dtype` (the JSON key is ``type``)."""
        return self._dtype

    @property
    def default(self) -> Any:
        """The default value, already converted to its Python type."""
        return self._default

    @property
    def shape(self) -> tuple[int, ...] | None:
        """None for a scalar, ``(-1,)`` for a 1-D list."""
        return self._shape

    def to_dict(self) -> dict[str, Any]:
        """JSON dict in MLflow's key order: name, default, shape, type (+ properties)."""
        default = self._default
        if self._dtype is DataType.datetime and default is not None:
            default = [v.isoformat() for v in default] if self._shape else default.isoformat()
        d: dict[str, Any] = {
            "name": self._name,
            "default": default,
            "shape": list(self._shape) if self._shape else None,
        }
        d.update(type_to_dict(self._dtype))
        return d

    @classmethod
    def from_json_dict(cls, **kwargs: Any) -> ParamSpec:
        """Parse one ParamSpec JSON dict (``type``, or the older ``dtype`` key)."""
        name = kwargs.get("name")
        type_name = kwargs.get("type", kwargs.get("dtype"))
        if name is None or type_name is None or "default" not in kwargs:
            raise MalformedMetadataError(
                "A param spec needs keys 'name', 'type' (or 'dtype') and 'default'; "
                f"got keys {sorted(kwargs)}"
            )
        dtype: DataType | Object | str
        if type_name == "object":
            obj = type_from_dict({**kwargs, "type": "object"}, where=f"param {name!r}")
            assert isinstance(obj, Object)
            dtype = obj
        elif isinstance(type_name, str):
            dtype = type_name
        else:
            raise MalformedMetadataError(
                f"Param {name!r}: type must be a string, got {type_name!r}"
            )
        return cls(str(name), dtype, kwargs["default"], kwargs.get("shape"))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ParamSpec)
            and self._name == other._name
            and self._dtype == other._dtype
            and self._shape == other._shape
            and _same_default(self._default, other._default)
        )

    def __hash__(self) -> int:
        return hash((self._name, self._dtype, self._shape))

    def __repr__(self) -> str:
        shape = f" (shape: {self._shape})" if self._shape is not None else ""
        return f"{self._name!r}: {self._dtype!r} (default: {self._default}){shape}"


def _same_default(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except ValueError:  # numpy arrays compare element-wise
        return bool(np.array_equal(a, b))


class ParamSchema:
    """The inference parameters a model accepts: a list of uniquely named :class:`ParamSpec`.

    Raises:
        MalformedMetadataError: a non-ParamSpec entry or a repeated name.
    """

    __slots__ = ("_params",)

    def __init__(self, params: Iterable[ParamSpec]) -> None:
        items = list(params)
        if not all(isinstance(p, ParamSpec) for p in items):
            raise MalformedMetadataError("ParamSchema entries must all be ParamSpec instances.")
        names = [p.name for p in items]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise MalformedMetadataError(f"Duplicated parameters found in schema: {dupes}")
        self._params = tuple(items)

    @property
    def params(self) -> list[ParamSpec]:
        """The parameter specs, in order."""
        return list(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def __iter__(self) -> Iterator[ParamSpec]:
        return iter(self._params)

    def to_dict(self) -> list[dict[str, Any]]:
        """The JSON-able list of param dicts."""
        return [p.to_dict() for p in self._params]

    def to_json(self) -> str:
        """JSON text exactly as MLflow writes it."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, json_str: str | bytes) -> ParamSchema:
        """Parse params JSON.

        Raises:
            MalformedMetadataError: not JSON, not a list of param dicts, or invalid specs.
        """
        items = _load_json_list(json_str, "params schema")
        if not isinstance(items, list):
            raise MalformedMetadataError(
                f"A params schema must be a JSON list, got {type(items).__name__}"
            )
        specs = []
        for i, item in enumerate(items):
            if not isinstance(item, Mapping):
                raise MalformedMetadataError(f"Param entry {i} must be a JSON object, got {item!r}")
            _check_keys(item, f"Param entry {i}")
            specs.append(ParamSpec.from_json_dict(**item))
        return cls(specs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ParamSchema) and self._params == other._params

    def __hash__(self) -> int:
        return hash(self._params)

    def __repr__(self) -> str:
        return repr(list(self._params))


class ModelSignature:
    """Schemas of a model's inputs and outputs, and of its inference params.

    Args:
        inputs: the input :class:`Schema`, or None.
        outputs: the output :class:`Schema`, or None.
        params: the :class:`ParamSchema`, or None.

    Raises:
        MalformedMetadataError: all three are None, or one has the wrong type.
    """

    __slots__ = ("inputs", "outputs", "params")

    def __init__(
        self,
        inputs: Schema | None = None,
        outputs: Schema | None = None,
        params: ParamSchema | None = None,
    ) -> None:
        for label, value, kind in (
            ("inputs", inputs, Schema),
            ("outputs", outputs, Schema),
            ("params", params, ParamSchema),
        ):
            if value is not None and not isinstance(value, kind):
                raise MalformedMetadataError(
                    f"Signature {label} must be a {kind.__name__} or None, "
                    f"got {type(value).__name__}"
                )
        if inputs is None and outputs is None and params is None:
            raise MalformedMetadataError(
                "A signature needs at least one of inputs, outputs or params."
            )
        self.inputs = inputs
        self.outputs = outputs
        self.params = params

    def to_dict(self) -> dict[str, str | None]:
        """``{"inputs": json|None, "outputs": json|None, "params": json|None}`` as MLflow writes."""
        return {
            "inputs": self.inputs.to_json() if self.inputs else None,
            "outputs": self.outputs.to_json() if self.outputs else None,
            "params": self.params.to_json() if self.params else None,
        }

    @classmethod
    def from_dict(cls, signature_dict: Mapping[str, Any]) -> ModelSignature:
        """Read the ``signature`` map of an MLmodel written by MLflow 1.x, 2.x or 3.x.

        Raises:
            MalformedMetadataError: not a map, bad JSON, or invalid schemas.
        """
        if not isinstance(signature_dict, Mapping):
            raise MalformedMetadataError(
                f"The signature must be a map of JSON strings, got {type(signature_dict).__name__}"
            )
        parts: dict[str, Any] = {}
        for key in ("inputs", "outputs"):
            raw = signature_dict.get(key)
            try:
                parts[key] = Schema.from_json(raw) if raw else None
            except MalformedMetadataError as exc:
                raise MalformedMetadataError(f"signature.{key}: {exc}") from exc
        raw = signature_dict.get("params")
        try:
            parts["params"] = ParamSchema.from_json(raw) if raw else None
        except MalformedMetadataError as exc:
            raise MalformedMetadataError(f"signature.params: {exc}") from exc
        return cls(**parts)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ModelSignature)
            and self.inputs == other.inputs
            and self.outputs == other.outputs
            and self.params == other.params
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, like MLflow's

    def __repr__(self) -> str:
        return (
            f"inputs: \n  {self.inputs!r}\noutputs: \n  {self.outputs!r}\n"
            f"params: \n  {self.params!r}\n"
        )


def infer_signature(
    model_input: InferableData | None = None,
    model_output: InferableData | None = None,
    params: Mapping[str, Any] | None = None,
    *,
    output_1d_as_column: bool = False,
) -> ModelSignature:
    """Infer a signature from example input, output and params, as MLflow does.

    See :func:`modelshelf.models._infer.infer_signature` for the rules and arguments.
    """
    from modelshelf.models._infer import infer_signature as _infer_signature

    return _infer_signature(
        model_input, model_output, params, output_1d_as_column=output_1d_as_column
    )
