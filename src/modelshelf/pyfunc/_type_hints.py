"""Type-hint validation of ``predict`` inputs, with MLflow 3.x's rules and messages.

MLflow wraps the ``predict`` of every ``PythonModel`` subclass at class creation; the wrapper
converts and validates the input against the ``model_input`` annotation (``list[str]``,
``list[dict[str, float]]``, ``list[<pydantic model>]``, ``Any``, ``Optional``/``Union``…) and
is pickled *with* the class into ``python_model.pkl``. It calls :func:`validate_model_input`
here when modelshelf loads such a model, so MLflow-written models accept and reject the same
inputs without MLflow. pydantic is used only when a hint is a pydantic model (the model's own
code imported it then).
"""

from __future__ import annotations

import inspect
import sys
import typing
from datetime import datetime
from types import UnionType
from typing import Any, NamedTuple

from modelshelf.errors import TypeHintError

__all__ = [
    "FuncInfo",
    "TypeFromExample",
    "TypeHints",
    "convert_dataframe_to_example_format",
    "extract_type_hints",
    "validate_model_input",
]

#: MLflow's ``TypeFromExample`` hint: the input is converted back to the input example's shape.
TypeFromExample = typing.TypeVar("TypeFromExample")

_PRIMITIVES = (int, str, bool, float, bytes, datetime)
_UNIONS = (typing.Union, UnionType)
_NONE = type(None)
# MLflow's wording, so messages nested in "invalid elements" lists match it exactly.
_SUPPORTED_MSG = (
    "Type hints must be a list[...] where collection element type is one of these types: "
    f"{list((int, str, bool, float, bytes, datetime))}, pydantic BaseModel subclasses, "
    "lists and dictionaries of primitive types, or typing.Any. Check "
    "https://mlflow.org/docs/latest/model/python_model.html#supported-type-hints for more details."
)


class FuncInfo(NamedTuple):
    """What MLflow's wrapper remembers about ``predict`` (``FuncInfo`` in the pickle)."""

    input_type_hint: Any
    input_param_name: str


class TypeHints:
    """Input and output hints of ``predict`` (MLflow's ``_TypeHints``, same attributes)."""

    def __init__(self, input_: Any = None, output: Any = None) -> None:
        self.input = input_
        self.output = output

    def __repr__(self) -> str:
        return f"<input: {self.input}, output: {self.output}>"


def extract_type_hints(func: Any, input_arg_index: int) -> TypeHints:
    """The hints of ``func``'s model-input parameter and return value (empty if unreadable)."""
    annotations = getattr(func, "__annotations__", None)
    if annotations is None and callable(func):
        annotations = getattr(func.__call__, "__annotations__", None)
        func = func.__call__
    if not annotations:
        return TypeHints()
    try:
        names = [n for n in inspect.signature(func).parameters if n != "self"]
        hints = typing.get_type_hints(func)
    except Exception:  # noqa: BLE001 - as MLflow: unreadable hints mean no hints
        return TypeHints()
    arg = names[input_arg_index] if len(names) > input_arg_index else None
    return TypeHints(hints.get(arg) if arg else None, hints.get("return"))


def _pydantic_base() -> Any:
    module = sys.modules.get("pydantic")  # a pydantic hint means the model imported pydantic
    return getattr(module, "BaseModel", None)


def _is_pydantic(hint: Any) -> bool:
    base = _pydantic_base()
    try:
        return base is not None and isinstance(hint, type) and issubclass(hint, base)
    except TypeError:
        return False


def _repr(hint: Any) -> str:
    return hint.__name__ if _is_pydantic(hint) or type(hint) is type else str(hint)


def _origin(hint: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin in _UNIONS:
        args = typing.get_args(hint)
        if _NONE in args and len(args) == 2:
            return _origin(next(a for a in args if a is not _NONE))
        return Any
    return origin


def _list_element(hint: Any) -> Any:
    args = typing.get_args(hint)
    if _NONE in args:
        raise TypeHintError.invalid_parameter_value(
            "Input cannot be Optional type. Fix this by removing the Optional wrapper from the "
            "type hint."
        )
    if len(args) != 1:
        raise TypeHintError.invalid_parameter_value(
            f"Type hint `{_repr(hint)}` must have exactly one collection element type."
        )
    return args[0]


def _sanitize(data: Any) -> Any:
    import numpy as np

    if isinstance(data, np.ndarray):
        data = data.tolist()
    if isinstance(data, list):
        data = [_sanitize(x) for x in data]
    if isinstance(data, dict):
        data = {k: _sanitize(v) for k, v in data.items()}
    if isinstance(data, float) and np.isnan(data):
        data = None
    return data


def convert_data_to_type_hint(data: Any, hint: Any) -> Any:
    """A pandas DataFrame becomes a list for ``list[...]`` hints (one column, or records for
    ``list[dict]`` / ``list[<pydantic model>]``), as MLflow does for spark_udf / evaluate."""
    pd = sys.modules.get("pandas")
    if pd is None or not isinstance(data, pd.DataFrame) or hint is pd.DataFrame:
        return data
    if _origin(hint) is not list:
        raise TypeHintError(
            "Only `list[...]` type hint supports pandas DataFrame input with a single column. "
            f"But got {_repr(hint)}."
        )
    element = _list_element(hint)
    if element is dict or _is_pydantic(element):
        result = (
            data.iloc[:, 0].tolist()
            if list(data.columns) == [0]
            else data.to_dict(orient="records")
        )
    else:
        result = data.iloc[:, 0].tolist()
    return _sanitize(result)


def _check(data: Any, hint: Any) -> tuple[Any, str | None]:
    try:
        return validate_data_against_type_hint(data, hint), None
    except TypeHintError as exc:
        return None, exc.message


def _validate_list(element: Any, data: Any) -> list[Any]:
    if not isinstance(data, list):
        raise TypeHintError.invalid_parameter_value(f"Expected list, but got {type(data).__name__}")
    invalid: list[tuple[str, str]] = []
    out: list[Any] = []
    for elem in data:
        value, error = _check(elem, element)
        if error:
            invalid.append((str(elem), error))
        else:
            out.append(value)
    if invalid:
        shown = f"{invalid[:5]} ... (truncated)" if len(invalid) > 5 else invalid
        raise TypeHintError.invalid_parameter_value(
            f"Failed to validate data against type hint `list[{_repr(element)}]`, "
            f"invalid elements: {shown}"
        )
    return out


def _validate_dict(element: Any, data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise TypeHintError.invalid_parameter_value(f"Expected dict, but got {type(data).__name__}")
    invalid: dict[str, str] = {}
    out: dict[str, Any] = {}
    for key, value in data.items():
        if not isinstance(key, str):
            invalid[str(key)] = f"Key must be a string, got {type(key).__name__}"
            continue
        checked, error = _check(value, element)
        if error:
            invalid[key] = error
        else:
            out[key] = checked
    if invalid:
        raise TypeHintError.invalid_parameter_value(
            f"Failed to validate data against type hint `dict[str, {_repr(element)}]`, "
            f"invalid elements: {invalid}"
        )
    return out


def _validate_pydantic(data: Any, hint: Any) -> Any:
    import pydantic

    if isinstance(data, pydantic.BaseModel):
        values = data.model_dump()
    elif isinstance(data, dict):
        values = data
    else:
        raise TypeHintError.invalid_parameter_value(
            "Expecting example to be a dictionary or pydantic model instance for Pydantic type "
            f"hint, got {type(data)}"
        )
    try:
        hint.model_validate(values, strict=True)
    except pydantic.ValidationError as exc:
        raise TypeHintError.invalid_parameter_value(
            f"Data doesn't match type hint, error: {exc}. Expected fields in the type hint: "
            f"{hint.model_fields}; passed data: {values}. Check "
            "https://mlflow.org/docs/latest/model/python_model.html"
            "#pydantic-model-type-hints-data-conversion for more details."
        ) from exc
    return hint(**values) if isinstance(data, dict) else data


def validate_data_against_type_hint(data: Any, hint: Any) -> Any:
    """``data`` checked against ``hint`` (pydantic dicts become model instances).

    Raises:
        TypeHintError: the data does not match, or the hint is not supported.
    """
    if _is_pydantic(hint):
        return _validate_pydantic(data, hint)
    if hint is Any:
        return data
    if hint in _PRIMITIVES:
        if isinstance(data, hint):
            return data
        raise TypeHintError.invalid_parameter_value(
            f"Expected type {_repr(hint)}, but got {type(data).__name__}"
        )
    origin = typing.get_origin(hint)
    if origin is not None:
        args = typing.get_args(hint)
        if origin is list:
            return _validate_list(args[0], data)
        if origin is dict:
            return _validate_dict(args[1], data)
        if origin in _UNIONS:
            if _NONE in args:
                if data is None:
                    return data
                if len(args) == 2:
                    inner = next(a for a in args if a is not _NONE)
                    return validate_data_against_type_hint(data, inner)
            return data  # a union of valid types matches anything, as MLflow's AnyType
    raise TypeHintError.invalid_parameter_value(
        f"Unsupported type hint `{_repr(hint)}`. {_SUPPORTED_MSG}"
    )


def validate_model_input(
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    model_input_index_in_sig: int,
    type_hint: Any,
    model_input_param_name: str,
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """MLflow's ``_validate_model_input``: convert and validate the model input among
    ``predict``'s arguments (by keyword, else by position).

    Raises:
        TypeHintError: the input does not match the hint.
    """
    if model_input_param_name in kwargs:
        data = convert_data_to_type_hint(kwargs[model_input_param_name], type_hint)
        kwargs[model_input_param_name] = validate_data_against_type_hint(data, type_hint)
    elif len(args) >= model_input_index_in_sig + 1:
        data = convert_data_to_type_hint(args[model_input_index_in_sig], type_hint)
        data = validate_data_against_type_hint(data, type_hint)
        args = args[:model_input_index_in_sig] + (data,) + args[model_input_index_in_sig + 1 :]
    return args, kwargs


def is_list_str(hint: Any) -> bool:
    return hint in (list[str], typing.List[str])  # noqa: UP006 - both spellings occur


def is_list_dict_str(hint: Any) -> bool:
    return hint in (
        list[dict[str, str]],
        typing.List[typing.Dict[str, str]],  # noqa: UP006
        list[typing.Dict[str, str]],  # noqa: UP006
        typing.List[dict[str, str]],  # noqa: UP006
    )


def convert_dataframe_to_example_format(data: Any, input_example: Any) -> Any:
    """MLflow's conversion for ``TypeFromExample`` models: an enforced DataFrame goes back to
    the shape of the saved input example (Series, scalar, dict, list of scalars or records)."""
    import numpy as np
    import pandas as pd

    if not isinstance(data, pd.DataFrame) or isinstance(input_example, pd.DataFrame):
        return data
    if isinstance(input_example, pd.Series):
        series = data.iloc[:, 0]
        series.name = input_example.name
        return series
    if np.isscalar(input_example):
        return data.iloc[0, 0]
    if isinstance(input_example, dict):
        return data.to_dict(orient="records")[0] if len(data) == 1 else data
    if isinstance(input_example, list):
        if len(data.columns) == 1 and all(np.isscalar(x) for x in input_example):
            return data.iloc[:, 0].tolist()
        return data.to_dict(orient="records")
    return data
