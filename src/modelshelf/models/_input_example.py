"""Input examples: ``input_example.json``, ``serving_input_example.json`` and their MLmodel info.

File shapes follow MLflow 3.x (docs/explanation/mlflow-format.md §5):

========================  ===========================================  ====================
example                   ``input_example.json``                       ``type``
========================  ===========================================  ====================
DataFrame / Series        ``{"columns": [...], "data": [[...]]}``      ``dataframe``
ndarray                   nested list, NaN as null                     ``ndarray``
dict of ndarrays          ``{"x": [...], ...}``                        ``ndarray``
dict / list / scalar      the JSON value itself                        ``json_object``
scipy csr / csc           ``{"data", "indices", "indptr", "shape"}``   ``sparse_matrix_*``
``(data, params)``        ``{"inputs": <above>, "params": {...}}``     + ``params: 'true'``
========================  ===========================================  ====================

Reading also accepts the 1.x/2.9 ``{"inputs": ...}`` tf-serving shape and bare ``NaN`` tokens.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelshelf.errors import InvalidInputError, MalformedMetadataError, NotFoundError
from modelshelf.models._mlmodel import model_file, read_model_text

if TYPE_CHECKING:
    from modelshelf.models._mlmodel import Model

__all__ = [
    "INPUT_EXAMPLE_FILE_NAME",
    "SERVING_INPUT_FILE_NAME",
    "load_input_example",
    "load_input_example_params",
    "save_input_example",
    "serving_input_json",
    "split_input_and_params",
]

INPUT_EXAMPLE_FILE_NAME = "input_example.json"
SERVING_INPUT_FILE_NAME = "serving_input_example.json"


def split_input_and_params(example: Any) -> tuple[Any, dict[str, Any] | None]:
    """Split an ``(data, params)`` tuple; anything else is data without params.

    Raises:
        InvalidInputError: a 2-tuple whose second item is not a dict of params.
    """
    if isinstance(example, tuple) and len(example) == 2:
        data, params = example
        if params is not None and not isinstance(params, dict):
            raise InvalidInputError(
                "an input example tuple must be (data, params) with params a dict, got params "
                f"of type {type(params).__name__}"
            )
        return data, params
    return example, None


def _is_sparse(x: Any) -> str | None:
    mod = type(x).__module__
    if not mod.startswith("scipy.sparse"):
        return None
    fmt = getattr(x, "format", None)
    return fmt if fmt in ("csr", "csc") else None


def _plain(value: Any, *, nan_to_null: bool) -> Any:
    """Turn numpy / pandas values into JSON-ready Python values."""
    import numpy as np

    if isinstance(value, dict):
        return {str(k): _plain(v, nan_to_null=nan_to_null) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, nan_to_null=nan_to_null) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist(), nan_to_null=nan_to_null)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and nan_to_null and math.isnan(value):
        return None
    if isinstance(value, bytes):
        return base64.encodebytes(value).decode("ascii")
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if value is not None and type(value).__module__.startswith("pandas"):
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return None
        if isinstance(value, pd.Timestamp):
            return value.isoformat()
    return value


def _dataframe_payload(df: Any) -> tuple[dict[str, Any], str]:
    import pandas as pd

    if isinstance(df, pd.Series):
        df = df.to_frame()
    cols = list(df.columns)
    default_cols = isinstance(df.columns, pd.RangeIndex) or cols == list(range(len(cols)))
    # Column-wise so an int column stays int next to a float column (as pandas' JSON writer).
    columns = [
        [_plain(v, nan_to_null=False) for v in df.iloc[:, i].tolist()] for i in range(len(cols))
    ]
    rows = (
        [list(r) for r in zip(*columns, strict=True)] if columns else [[] for _ in range(len(df))]
    )
    payload: dict[str, Any] = (
        {} if default_cols else {"columns": [_plain(c, nan_to_null=False) for c in cols]}
    )
    payload["data"] = rows
    return payload, ("values" if default_cols else "split")


def _describe(data: Any) -> tuple[str, Any, Any, dict[str, Any]]:
    """(type, input_example.json content, serving "inputs"/frame content, extra info)."""
    import numpy as np

    mod = type(data).__module__
    if mod.startswith("pandas") and type(data).__name__ in ("DataFrame", "Series"):
        payload, orient = _dataframe_payload(data)
        return "dataframe", payload, payload, {"pandas_orient": orient}
    if isinstance(data, np.ndarray):
        value = _plain(data, nan_to_null=True)
        return "ndarray", value, value, {}
    if isinstance(data, dict) and data and all(isinstance(v, np.ndarray) for v in data.values()):
        value = {str(k): _plain(v, nan_to_null=True) for k, v in data.items()}
        return "ndarray", value, value, {}
    fmt = _is_sparse(data)
    if fmt:
        content = {
            "data": _plain(data.data, nan_to_null=True),
            "indices": _plain(data.indices, nan_to_null=True),
            "indptr": _plain(data.indptr, nan_to_null=True),
            "shape": list(data.shape),
        }
        return f"sparse_matrix_{fmt}", content, _plain(data.toarray(), nan_to_null=True), {}
    if isinstance(data, (dict, list, str, int, float, bool, np.generic)):
        value = _plain(data, nan_to_null=False)
        try:
            json.dumps(value)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(
                f"input example is not JSON-serializable: {exc}; pass a DataFrame, ndarray, "
                "dict of ndarrays, scipy csr/csc matrix, or plain JSON values"
            ) from exc
        return "json_object", value, value, {}
    raise InvalidInputError(
        f"unsupported input example type {type(data).__name__}; pass a pandas DataFrame/Series, "
        "numpy ndarray, dict of ndarrays, scipy csr/csc matrix, dict/list/scalar JSON value, or "
        "a (data, params) tuple of those"
    )


def _payloads(input_example: Any) -> tuple[str, Any, dict[str, Any], dict[str, Any]]:
    """(kind, input_example.json content, serving payload, extra info) of an example."""
    data, params = split_input_and_params(input_example)
    kind, content, serving, extra = _describe(data)
    if params is not None:
        params = _plain(params, nan_to_null=False)
        content = {"inputs": content, "params": params}
    serving_payload: dict[str, Any] = (
        {"dataframe_split": serving} if kind == "dataframe" else {"inputs": serving}
    )
    if params is not None:
        serving_payload["params"] = params
    return kind, content, serving_payload, extra


def serving_input_json(input_example: Any) -> str | None:
    """The scoring-server payload for ``input_example`` as JSON text (None for None).

    The text ``serving_input_example.json`` holds when the example is logged.

    Raises:
        InvalidInputError: the example's type is not supported or it is not JSON-serializable.
    """
    if input_example is None:
        return None
    return json.dumps(_payloads(input_example)[2], indent=2)


def save_input_example(
    model: Model, input_example: Any, path: str | os.PathLike[str]
) -> dict[str, Any] | None:
    """Write the example files into model dir ``path`` and set ``model.saved_input_example_info``.

    Returns the info mapping, or None when ``input_example`` is None.

    Raises:
        InvalidInputError: the example's type is not supported or it is not JSON-serializable.
    """
    if input_example is None:
        return None
    kind, content, serving_payload, extra = _payloads(input_example)
    root = Path(path)
    (root / INPUT_EXAMPLE_FILE_NAME).write_text(json.dumps(content), encoding="utf-8")
    (root / SERVING_INPUT_FILE_NAME).write_text(
        json.dumps(serving_payload, indent=2), encoding="utf-8"
    )
    info: dict[str, Any] = {
        "artifact_path": INPUT_EXAMPLE_FILE_NAME,
        "type": kind,
        "serving_input_path": SERVING_INPUT_FILE_NAME,
        **extra,
    }
    if "params" in serving_payload:
        info["params"] = "true"  # MLflow writes the *string* 'true'
    model.saved_input_example_info = info
    return info


def _read_content(model: Model, path: str | os.PathLike[str]) -> tuple[dict[str, Any], Any] | None:
    info = model.saved_input_example_info
    if not info:
        return None
    rel = info.get("artifact_path") or INPUT_EXAMPLE_FILE_NAME
    file = model_file(path, rel, "input example")
    try:
        text = read_model_text(file, "input example")
    except NotFoundError:
        raise NotFoundError(
            f"MLmodel names an input example at '{rel}' but {file} does not exist; restore the "
            "file or remove 'saved_input_example_info' from MLmodel."
        ) from None
    try:
        return dict(info), json.loads(text)  # json accepts bare NaN / Infinity tokens
    except json.JSONDecodeError as exc:
        raise MalformedMetadataError(f"{file} is not valid JSON: {exc}") from exc
    except RecursionError:
        raise MalformedMetadataError(
            f"{file} is nested too deeply to be an input example; restore it or re-save the model."
        ) from None


def _has_params(info: Mapping[str, Any], content: Any) -> bool:
    flag = info.get("params")
    return (flag is True or str(flag).lower() == "true") and isinstance(content, dict)


def load_input_example_params(model: Model, path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The params saved with the model's input example, or None.

    Raises:
        NotFoundError: the example file named by MLmodel is missing.
        MalformedMetadataError: the file is not valid JSON.
    """
    read = _read_content(model, path)
    if read is None:
        return None
    info, content = read
    if _has_params(info, content):
        params = content.get("params")
        return dict(params) if isinstance(params, dict) else None
    return None


def load_input_example(model: Model, path: str | os.PathLike[str]) -> Any:
    """The model's input example as a DataFrame / ndarray / dict / sparse matrix / JSON value.

    Returns None when the model has no example.

    Raises:
        NotFoundError: the example file named by MLmodel is missing.
        MalformedMetadataError: the file cannot be parsed as the type MLmodel declares.
    """
    read = _read_content(model, path)
    if read is None:
        return None
    info, content = read
    kind = info.get("type")
    if _has_params(info, content) or info.get("format") == "tf-serving":
        if not isinstance(content, dict) or "inputs" not in content:
            raise MalformedMetadataError(
                f"input example of model at {path} should be {{'inputs': ..., ...}}"
            )
        content = content["inputs"]
    try:
        if kind == "dataframe":
            return _to_dataframe(content, info, model)
        if kind == "ndarray":
            return _to_ndarray(content, model)
        if kind in ("sparse_matrix_csr", "sparse_matrix_csc"):
            return _to_sparse(content, kind)
        if kind == "json_object":
            return content
    except MalformedMetadataError:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        raise MalformedMetadataError(
            f"input example of model at {path} cannot be read as {kind}: {exc}"
        ) from exc
    raise MalformedMetadataError(
        f"input example of model at {path} has unknown type {kind!r}; expected dataframe, "
        "ndarray, json_object, sparse_matrix_csr or sparse_matrix_csc"
    )


def _to_dataframe(content: Any, info: Mapping[str, Any], model: Model) -> Any:
    import pandas as pd

    if isinstance(content, list):  # orient "values" written as a bare list by some writers
        content = {"data": content}
    if not isinstance(content, dict) or "data" not in content:
        raise MalformedMetadataError("a dataframe example must be {'columns'?, 'data': [...]}")
    df = pd.DataFrame(content["data"], columns=content.get("columns"), index=content.get("index"))
    schema = model.get_input_schema()
    if schema is not None and not schema.is_tensor_spec() and schema.has_input_names():
        df = _cast_to_schema(df, schema)
    return df


def _cast_to_schema(df: Any, schema: Any) -> Any:
    """Best effort: give example columns the signature's dtypes (as MLflow does on read)."""
    import pandas as pd

    from modelshelf.models._types import DataType

    for spec in schema.inputs:
        name, t = spec.name, spec.type
        if name not in df.columns or not isinstance(t, DataType) or t is DataType.string:
            continue
        try:
            if t is DataType.binary:
                df[name] = df[name].map(
                    lambda v: base64.decodebytes(v.encode()) if isinstance(v, str) else v
                )
            elif t is DataType.datetime:
                df[name] = pd.to_datetime(df[name])
            else:
                df[name] = df[name].astype(t.to_pandas())
        except (ValueError, TypeError, OverflowError):
            continue  # leave the column as parsed; enforcement will report it
    return df


def _as_array(value: Any, dtype: Any = None) -> Any:
    import numpy as np

    arr = np.array(value, dtype=dtype) if dtype is not None else np.array(value)
    if arr.dtype == object and dtype is None:
        flat = arr.ravel().tolist()
        if flat and all(
            v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in flat
        ):
            arr = np.array(value, dtype=float)  # null was a NaN on write
    return arr


def _to_ndarray(content: Any, model: Model) -> Any:
    schema = model.get_input_schema()
    dtypes: dict[Any, Any] = {}
    if schema is not None and schema.is_tensor_spec():
        for spec in schema.inputs:
            dtypes[spec.name] = spec.type
    if isinstance(content, dict):
        return {k: _as_array(v, dtypes.get(k)) for k, v in content.items()}
    return _as_array(content, dtypes.get(None))


def _to_sparse(content: Any, kind: str) -> Any:
    try:
        import scipy.sparse as sp
    except ImportError as exc:
        from modelshelf.errors import MissingDependencyError

        raise MissingDependencyError(
            "reading a sparse input example needs scipy; `pip install scipy`"
        ) from exc
    cls = sp.csr_matrix if kind == "sparse_matrix_csr" else sp.csc_matrix
    return cls(
        (content["data"], content["indices"], content["indptr"]), shape=tuple(content["shape"])
    )
