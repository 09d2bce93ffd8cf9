"""Column types of an MLflow signature: :class:`DataType` and the complex types.

The JSON shapes follow MLflow exactly (see docs/explanation/mlflow-format.md §4)::

    {"type": "long"}
    {"type": "array", "items": {"type": "string"}}
    {"type": "object", "properties": {"a": {"type": "double", "required": true}}}
    {"type": "map", "values": {"type": "long"}}
    {"type": "any"}
    {"type": "sparkml_vector"}

Everything here is a small immutable value object with ``to_dict`` and a parser,
:func:`type_from_dict`, that raises :class:`~modelshelf.errors.MalformedMetadataError`
with a message naming what was wrong.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from typing import Any, TypeAlias

import numpy as np

from modelshelf.errors import MalformedMetadataError

__all__ = [
    "ANY_TYPE",
    "ARRAY_TYPE",
    "MAP_TYPE",
    "OBJECT_TYPE",
    "SPARKML_VECTOR_TYPE",
    "AnyType",
    "Array",
    "ColumnType",
    "DataType",
    "Map",
    "Object",
    "Property",
    "SparkMLVector",
    "type_from_dict",
    "type_to_dict",
]

ARRAY_TYPE = "array"
OBJECT_TYPE = "object"
MAP_TYPE = "map"
ANY_TYPE = "any"
SPARKML_VECTOR_TYPE = "sparkml_vector"
_COMPLEX_NAMES = (ARRAY_TYPE, OBJECT_TYPE, MAP_TYPE, ANY_TYPE, SPARKML_VECTOR_TYPE)


class DataType(enum.Enum):
    """A primitive column type, named and numbered as in MLflow.

    Each member knows its numpy dtype (:meth:`to_numpy`), the dtype a pandas column of it
    has (:meth:`to_pandas`; ``object`` for string and binary) and the Python type a scalar
    of it converts to (:meth:`to_python`).
    """

    boolean = 1
    integer = 2
    long = 3
    float = 4
    double = 5
    string = 6
    binary = 7
    datetime = 8

    def __repr__(self) -> str:
        return self.name

    def to_numpy(self) -> np.dtype[Any]:
        """The numpy dtype of this type (``<U0`` / ``|S0`` for string / binary)."""
        return _NUMPY[self]

    def to_pandas(self) -> Any:
        """The dtype a pandas column of this type has (``object`` for string and binary)."""
        return _PANDAS[self]

    def to_python(self) -> type:
        """The Python type scalars of this type convert to (``datetime.date`` for datetime)."""
        return _PYTHON[self]

    @classmethod
    def all_types(cls) -> list[DataType]:
        """Every member, in MLflow's order."""
        return list(cls)

    @classmethod
    def from_numpy_type(cls, np_type: Any) -> DataType | None:
        """The member whose numpy dtype equals ``np_type``, or None."""
        for member in cls:
            if member.to_numpy() == np_type:
                return member
        return None

    @classmethod
    def check_type(cls, data_type: DataType, value: Any) -> bool:
        """Whether ``type(value)`` is exactly one of the types ``data_type`` stands for.

        Mirrors MLflow: the comparison is by exact type (``np.int64`` is a long, ``bool`` is
        not), against the numpy dtype, the pandas dtype and the Python type.
        """
        candidates: list[Any] = [data_type.to_numpy(), data_type.to_pandas(), data_type.to_python()]
        if data_type is DataType.datetime:
            candidates += [np.datetime64, dt.datetime]
        elif data_type is DataType.binary:
            candidates.append(bytearray)
        kind = type(value)
        # `==` (not `is`): numpy dtypes compare equal to the scalar types they hold.
        return any(_safe_eq(kind, c) for c in candidates)


def _safe_eq(kind: type, candidate: Any) -> bool:
    try:
        return bool(kind == candidate)
    except TypeError:
        return False


_NUMPY: dict[DataType, np.dtype[Any]] = {
    DataType.boolean: np.dtype("bool"),
    DataType.integer: np.dtype("int32"),
    DataType.long: np.dtype("int64"),
    DataType.float: np.dtype("float32"),
    DataType.double: np.dtype("float64"),
    DataType.string: np.dtype("str"),
    DataType.binary: np.dtype("bytes"),
    DataType.datetime: np.dtype("datetime64[ns]"),
}
_PANDAS: dict[DataType, Any] = {
    **_NUMPY,
    DataType.string: object,
    DataType.binary: object,
}
_PYTHON: dict[DataType, type] = {
    DataType.boolean: bool,
    DataType.integer: int,
    DataType.long: int,
    DataType.float: float,
    DataType.double: float,
    DataType.string: str,
    DataType.binary: bytes,
    DataType.datetime: dt.date,
}


class AnyType:
    """A value of any JSON-able type, including None; never validated."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AnyType)

    def __hash__(self) -> int:
        return hash(ANY_TYPE)

    def __repr__(self) -> str:
        return "Any"

    def to_dict(self) -> dict[str, Any]:
        """``{"type": "any"}``."""
        return {"type": ANY_TYPE}

    def _merge(self, other: ColumnType) -> ColumnType:
        if isinstance(other, AnyType):
            return AnyType()
        if isinstance(other, DataType):
            return other
        # Merging with "unknown" makes the other side's inner fields optional.
        return other._merge(self)


class Array:
    """A list whose items all have one type (``dtype``)."""

    __slots__ = ("_dtype",)

    def __init__(self, dtype: ColumnType | str) -> None:
        self._dtype = _coerce_type(dtype, "Array item")

    @property
    def dtype(self) -> ColumnType:
        """The item type."""
        return self._dtype

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Array) and type(other) is type(self) and self.dtype == other.dtype

    def __hash__(self) -> int:
        return hash((ARRAY_TYPE, self._dtype))

    def __repr__(self) -> str:
        return f"Array({self.dtype!r})"

    def to_dict(self) -> dict[str, Any]:
        """``{"type": "array", "items": {...}}``."""
        return {"type": ARRAY_TYPE, "items": type_to_dict(self.dtype)}

    def _merge(self, other: ColumnType) -> Array:
        if isinstance(other, AnyType) or self == other:
            return self
        if not isinstance(other, Array) or isinstance(self, SparkMLVector):
            raise ValueError(f"Can't merge {self!r} with {other!r}")
        return Array(_merge_types(self.dtype, other.dtype))


class SparkMLVector(Array):
    """Spark ML's dense/sparse vector column (an array of doubles)."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(DataType.double)

    def __repr__(self) -> str:
        return "SparkML vector"

    def __hash__(self) -> int:
        return hash(SPARKML_VECTOR_TYPE)

    def to_dict(self) -> dict[str, Any]:
        """``{"type": "sparkml_vector"}``."""
        return {"type": SPARKML_VECTOR_TYPE}


class Map:
    """A dict with string keys whose values all have one type (``value_type``)."""

    __slots__ = ("_value_type",)

    def __init__(self, value_type: ColumnType | str) -> None:
        self._value_type = _coerce_type(value_type, "Map value")

    @property
    def value_type(self) -> ColumnType:
        """The value type."""
        return self._value_type

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Map) and self.value_type == other.value_type

    def __hash__(self) -> int:
        return hash((MAP_TYPE, self._value_type))

    def __repr__(self) -> str:
        return f"Map(str -> {self.value_type})"

    def to_dict(self) -> dict[str, Any]:
        """``{"type": "map", "values": {...}}``."""
        return {"type": MAP_TYPE, "values": type_to_dict(self.value_type)}

    def _merge(self, other: ColumnType) -> Map:
        if isinstance(other, AnyType) or self == other:
            return self
        if not isinstance(other, Map):
            raise ValueError(f"Can't merge {self!r} with {other!r}")
        return Map(_merge_types(self.value_type, other.value_type))


class Property:
    """One named field of an :class:`Object`."""

    __slots__ = ("_dtype", "_name", "_required")

    def __init__(self, name: str, dtype: ColumnType | str, required: bool = True) -> None:
        if not isinstance(name, str):
            raise MalformedMetadataError(
                f"Property name must be a string, got {type(name).__name__} {name!r}"
            )
        self._name = name
        self._dtype = _coerce_type(dtype, f"Property {name!r}")
        self._required = bool(required)

    @property
    def name(self) -> str:
        """The property name."""
        return self._name

    @property
    def dtype(self) -> ColumnType:
        """The property type."""
        return self._dtype

    @property
    def required(self) -> bool:
        """Whether objects must contain this property."""
        return self._required

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Property)
            and self.name == other.name
            and self.dtype == other.dtype
            and self.required == other.required
        )

    def __hash__(self) -> int:
        return hash((self._name, self._dtype, self._required))

    def __lt__(self, other: Property) -> bool:
        return self.name < other.name

    def __repr__(self) -> str:
        return f"{self.name}: {self.dtype!r} ({'required' if self.required else 'optional'})"

    def to_dict(self) -> dict[str, Any]:
        """``{name: {<type>, "required": bool}}``."""
        body = type_to_dict(self.dtype)
        body["required"] = self.required
        return {self.name: body}

    def _merge(self, other: Property | AnyType) -> Property:
        if isinstance(other, AnyType):
            return Property(self.name, self.dtype, required=False)
        if self.name != other.name:
            raise ValueError("Can't merge properties with different names")
        return Property(
            self.name, _merge_types(self.dtype, other.dtype), self.required and other.required
        )


class Object:
    """A dict with a fixed set of named, typed :class:`Property` fields (sorted by name)."""

    __slots__ = ("_properties",)

    def __init__(self, properties: Iterable[Property]) -> None:
        props = list(properties)
        if not props:
            raise MalformedMetadataError("An Object type needs at least one property.")
        if not all(isinstance(p, Property) for p in props):
            raise MalformedMetadataError("Object properties must all be Property instances.")
        names = [p.name for p in props]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise MalformedMetadataError(f"Found duplicated property names: {dupes}")
        self._properties = tuple(sorted(props))

    @property
    def properties(self) -> list[Property]:
        """The properties, sorted by name."""
        return list(self._properties)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Object) and self._properties == other._properties

    def __hash__(self) -> int:
        return hash(self._properties)

    def __repr__(self) -> str:
        return "{" + ", ".join(map(repr, self._properties)) + "}"

    def to_dict(self) -> dict[str, Any]:
        """``{"type": "object", "properties": {name: {...}, ...}}``."""
        merged: dict[str, Any] = {}
        for prop in self._properties:
            merged.update(prop.to_dict())
        return {"type": OBJECT_TYPE, "properties": merged}

    def _merge(self, other: ColumnType) -> Object:
        if isinstance(other, AnyType):
            return Object(Property(p.name, p.dtype, False) for p in self._properties)
        if not isinstance(other, Object):
            raise ValueError(f"Can't merge {self!r} with {other!r}")
        if self == other:
            return self
        mine = {p.name: p for p in self._properties}
        theirs = {p.name: p for p in other._properties}
        merged = [
            mine[k]._merge(theirs[k])
            if k in mine and k in theirs
            else Property(k, (mine.get(k) or theirs[k]).dtype, required=False)
            for k in mine.keys() | theirs.keys()
        ]
        return Object(merged)


ColumnType: TypeAlias = DataType | Array | Object | Map | AnyType


def _merge_types(left: ColumnType, right: ColumnType) -> ColumnType:
    """Combine two types seen for one field; raise ValueError if they conflict."""
    if isinstance(left, DataType):
        if left == right or isinstance(right, AnyType):
            return left
        raise ValueError(f"Types are incompatible: {left!r} and {right!r}")
    return left._merge(right)


def _coerce_type(value: ColumnType | str, what: str) -> ColumnType:
    if isinstance(value, str):
        try:
            return DataType[value]
        except KeyError:
            raise MalformedMetadataError(
                f"{what}: unsupported type {value!r}; expected one of "
                f"{[t.name for t in DataType]} or a complex type "
                f"({', '.join(_COMPLEX_NAMES)})"
            ) from None
    if not isinstance(value, (DataType, Array, Object, Map, AnyType)):
        raise MalformedMetadataError(
            f"{what}: expected a DataType, Array, Object, Map, AnyType or a type name, "
            f"got {type(value).__name__}"
        )
    return value


def type_to_dict(t: ColumnType) -> dict[str, Any]:
    """The JSON dict of a column type (``{"type": "long"}`` for a primitive)."""
    if isinstance(t, DataType):
        return {"type": t.name}
    return t.to_dict()


def type_from_dict(d: Mapping[str, Any], *, where: str = "type") -> ColumnType:
    """Parse a type dict (``{"type": ..., "items"|"properties"|"values": ...}``).

    Extra keys (``name``, ``required``…) are ignored; the caller reads those.

    Raises:
        MalformedMetadataError: unknown type name or a missing / ill-typed detail key.
    """
    if not isinstance(d, Mapping):
        raise MalformedMetadataError(f"{where}: expected a JSON object, got {type(d).__name__}")
    if "type" not in d:
        raise MalformedMetadataError(f"{where}: missing key 'type' in {dict(d)!r}")
    name = d["type"]
    if name == ARRAY_TYPE:
        items = d.get("items")
        if not isinstance(items, Mapping):
            raise MalformedMetadataError(
                f"{where}: an array type needs an 'items' object, got {items!r}"
            )
        return Array(type_from_dict(items, where=f"{where}.items"))
    if name == MAP_TYPE:
        values = d.get("values")
        if not isinstance(values, Mapping):
            raise MalformedMetadataError(
                f"{where}: a map type needs a 'values' object, got {values!r}"
            )
        return Map(type_from_dict(values, where=f"{where}.values"))
    if name == OBJECT_TYPE:
        props = d.get("properties")
        if not isinstance(props, Mapping) or not props:
            raise MalformedMetadataError(
                f"{where}: an object type needs a non-empty 'properties' object, got {props!r}"
            )
        parsed = []
        for pname, pbody in props.items():
            ptype = type_from_dict(pbody, where=f"{where}.properties[{pname!r}]")
            required = pbody.get("required", True)
            if "optional" in pbody:
                required = not pbody["optional"]
            parsed.append(Property(pname, ptype, required=_as_bool(required, where)))
        return Object(parsed)
    if name == ANY_TYPE:
        return AnyType()
    if name == SPARKML_VECTOR_TYPE:
        return SparkMLVector()
    if not isinstance(name, str):
        raise MalformedMetadataError(f"{where}: type must be a string, got {name!r}")
    return _coerce_type(name, where)


def _as_bool(value: Any, where: str) -> bool:
    if value is None:  # MLflow 3 may write `required: null` for complex columns it read bare
        return True
    if not isinstance(value, bool):
        raise MalformedMetadataError(f"{where}: 'required' must be true or false, got {value!r}")
    return value
