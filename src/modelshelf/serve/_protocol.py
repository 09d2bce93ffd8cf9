"""MLflow's scoring protocol: request bodies to model input, predictions and errors to JSON.

The payload forms, status codes and error bodies are those of MLflow 3.x's scoring server, so
its clients work unchanged: ``application/json`` with exactly one of ``dataframe_split``,
``dataframe_records``, ``instances`` or ``inputs`` (plus ``params``), ``text/csv`` and
``application/vnd.apache.parquet``. Errors are ``{"error_code", "message", "sqlstate",
"error_class"}`` (plus ``stack_trace`` where MLflow adds one), unsupported content types are
answered 415 in plain text.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import traceback
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CONTENT_TYPES",
    "ErrorAnswer",
    "parse_request",
    "predict_response",
    "predictions_to_json",
]

CONTENT_TYPE_CSV = "text/csv"
CONTENT_TYPE_JSON = "application/json"
CONTENT_TYPE_PARQUET = "application/vnd.apache.parquet"
CONTENT_TYPES = [CONTENT_TYPE_CSV, CONTENT_TYPE_JSON, CONTENT_TYPE_PARQUET]

_FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
_REQUIRED_FORMAT = (
    "The input must be a JSON dictionary with exactly one of the input fields "
    "{'dataframe_split', 'dataframe_records', 'instances', 'inputs'}"
)
# MLflow appends this to "wrong shape" errors; clients and their logs grep for it.
_PROTOCOL_CHANGE_INFO = (
    "IMPORTANT: The MLflow Model scoring protocol has changed in MLflow version 2.0. If you are"
    " seeing this error, you are likely using an outdated scoring request format. To resolve the"
    " error, either update your request format or adjust your MLflow Model's requirements file to"
    " specify an older version of MLflow (for example, change the 'mlflow' requirement specifier"
    " to 'mlflow==1.30.0'). If you are making a request using the MLflow client"
    " (e.g. via `mlflow.pyfunc.spark_udf()`), upgrade your MLflow client to a version >= 2.0 in"
    " order to use the new request format. For more information about the updated MLflow"
    " Model scoring protocol in MLflow 2.0, see"
    " https://mlflow.org/docs/latest/models.html#deploy-mlflow-models."
)
_ECHO_LIMIT = 1000  # MLflow echoes the whole body on a JSON error; a 30 MB echo helps nobody


@dataclass
class ErrorAnswer(Exception):
    """An error answer, shaped as MLflow's ``MlflowException.serialize_as_json``.

    ``plain`` answers (415s) are text, as MLflow sends them.
    """

    message: str
    status: int = 400
    error_code: str = "BAD_REQUEST"
    error_class: str = "INVALID_PARAMETER_VALUE"
    sqlstate: str = "KAM00"
    stack_trace: str | None = None
    plain: bool = False

    def __str__(self) -> str:
        return self.message

    def body(self) -> bytes:
        if self.plain:
            return self.message.encode("utf-8")
        out: dict[str, Any] = {
            "error_code": self.error_code,
            "message": self.message,
            "sqlstate": self.sqlstate,
            "error_class": self.error_class,
        }
        if self.stack_trace is not None:
            out["stack_trace"] = self.stack_trace
        return json.dumps(out).encode("utf-8")

    @property
    def media_type(self) -> str:
        return "text/plain" if self.plain else "application/json"


def _invalid(message: str, *, trace: bool = False) -> ErrorAnswer:
    """MLflow's ``MlflowInvalidInputException``: BAD_REQUEST, ``Invalid input.`` prefix."""
    return ErrorAnswer(
        f"Invalid input. {message}", stack_trace=traceback.format_exc() if trace else None
    )


def parse_request(
    body: bytes, content_type: str | None, metadata: Any
) -> tuple[Any, dict[str, Any] | None]:
    """A request body -> (model input, params), as MLflow's scoring server parses it.

    Args:
        body: the raw request body.
        content_type: the ``Content-Type`` header (parameters allowed: ``charset=utf-8``).
        metadata: the model's :class:`~modelshelf.models.Model` (its signature guides parsing).

    Raises:
        ErrorAnswer: the body cannot be parsed (400) or the content type is not served (415).
    """
    mime, _, rest = (content_type or "").partition(";")
    mime = mime.strip()
    parameters = {
        k.strip(): v.strip() for k, _, v in (p.partition("=") for p in rest.split(";") if p.strip())
    }
    if parameters.get("charset", "utf-8").lower() != "utf-8":
        raise ErrorAnswer("The scoring server only supports UTF-8", status=415, plain=True)
    if unexpected := set(parameters) - {"charset"}:
        raise ErrorAnswer(
            f"Unrecognized content type parameters: {', '.join(sorted(unexpected))}. "
            f"{_PROTOCOL_CHANGE_INFO}",
            status=415,
            plain=True,
        )
    schema = metadata.get_input_schema()
    if mime == CONTENT_TYPE_JSON:
        return _parse_json(body, metadata, schema)
    if mime == CONTENT_TYPE_CSV:
        return _parse_csv(body, schema), None
    if mime == CONTENT_TYPE_PARQUET:
        return _parse_parquet(body), None
    raise ErrorAnswer(
        f"This predictor only supports the following content types: Types: {CONTENT_TYPES}."
        f" Got '{content_type}'.",
        status=415,
        plain=True,
    )


def _parse_json(body: bytes, metadata: Any, schema: Any) -> tuple[Any, dict[str, Any] | None]:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        text = body[:_ECHO_LIMIT].decode("utf-8", errors="replace")
        raise _invalid(
            f"Ensure that input is a valid JSON formatted string. Error: '{exc!r}'\n"
            f"Input: \n{text}\n"
        ) from exc
    if isinstance(payload, list):
        raise _invalid(f"{_REQUIRED_FORMAT}. Received a list.")
    if not isinstance(payload, dict):
        raise _invalid(f"{_REQUIRED_FORMAT}. Received unexpected input type '{type(payload)}.")
    params = payload.get("params")
    data = {k: v for k, v in payload.items() if k in _FORMATS}
    if getattr(metadata, "is_signature_from_type_hint", False):
        if "inputs" not in data:
            raise ErrorAnswer(
                "Request payload must be a dictionary with 'inputs' key when the model contains "
                f"a valid type hint. Found keys in payload: {data.keys()}.",
                error_code="INVALID_PARAMETER_VALUE",
            )
        return data["inputs"], params
    if len(data) != 1:
        raise ErrorAnswer(
            f"{_REQUIRED_FORMAT}. Received dictionary with input fields: {list(data)}. "
            f"{_PROTOCOL_CHANGE_INFO}"
        )
    (key, value), = data.items()  # fmt: skip
    if key in ("instances", "inputs"):
        try:
            return _tf_serving(key, value, schema), params
        except ErrorAnswer:
            raise
        except Exception as exc:  # noqa: BLE001 - MLflow turns every parse failure into a 400
            raise _invalid(
                f"Ensure that the input is a valid JSON-formatted string.\nError: {exc!r}"
            ) from exc
    return _dataframe(key, value, schema), params


def _dataframe(key: str, value: Any, schema: Any) -> Any:
    import pandas as pd

    if key == "dataframe_records":
        if not isinstance(value, list):
            what = "dictionary" if isinstance(value, dict) else f"type {type(value)}"
            raise _invalid(f"Dataframe records format must be a list of records. Got {what}.")
        try:
            frame = pd.DataFrame(data=value)
        except Exception as exc:  # noqa: BLE001 - pandas raises many kinds here
            raise _invalid(
                "Provided dataframe_records field is not a valid dataframe representation in "
                f"'records' format. Error: '{exc}'"
            ) from exc
    else:
        if not isinstance(value, dict):
            what = "list" if isinstance(value, list) else f"type {type(value)}"
            raise _invalid(f"Dataframe split format must be a dictionary. Got {what}.")
        keys = set(value)
        if "data" not in keys or keys - {"columns", "data", "index"}:
            raise _invalid(
                "Dataframe split format must have 'data' field and optionally 'columns' "
                f"and 'index' fields. Got {keys}.'"
            )
        try:
            frame = pd.DataFrame(
                index=value.get("index"), columns=value.get("columns"), data=value["data"]
            )
        except Exception as exc:  # noqa: BLE001
            raise _invalid(
                "Provided dataframe_split field is not a valid dataframe representation in "
                f"'split' format. Error: '{exc}'"
            ) from exc
    return frame if schema is None else _cast_columns(frame, schema)


def _cast_columns(frame: Any, schema: Any) -> Any:
    """JSON gives ints and floats and strings: cast each column to the signature's type
    (base64 for binary), so a column of JSON numbers meets a ``float`` column."""
    import numpy as np
    import pandas as pd

    from modelshelf.models import DataType

    columns = list(frame.columns)
    if schema.has_input_names():
        pairs = list(zip(schema.input_names(), schema.input_types()))
    elif schema.is_tensor_spec() and len(schema.inputs) == 1:
        pairs = [(c, schema.input_types()[0]) for c in columns]
    else:
        n = min(len(schema.inputs), len(columns))
        pairs = list(zip(columns[:n], schema.input_types()[:n]))
    for name, spec_type in pairs:
        if name not in columns:
            continue
        target = spec_type.to_pandas() if isinstance(spec_type, DataType) else spec_type
        try:
            if spec_type == DataType.binary:
                frame[name] = frame[name].map(lambda x: base64.decodebytes(bytes(x, "utf8")))
            elif isinstance(target, np.dtype) and target == np.dtype(bytes):
                frame[name] = frame[name].map(lambda x: bytes(x, "utf8"))
            elif schema.is_tensor_spec() and len(frame) and isinstance(frame[name].iloc[0], list):
                pass  # multidimensional cells: pyfunc's enforcement stacks and reshapes them
            elif not isinstance(spec_type, DataType) and not isinstance(target, np.dtype):
                pass  # array / object / map / any: enforced element by element at predict
            elif spec_type == DataType.datetime:
                parsed = pd.to_datetime(frame[name])
                if getattr(parsed.dt, "unit", "ns") != "ns":
                    parsed = parsed.dt.as_unit("ns")
                frame[name] = parsed
            elif (
                target is object or (isinstance(target, np.dtype) and target.kind in "OU")
            ) and isinstance(frame[name].dtype, pd.StringDtype):
                continue  # pandas 3 strings are compatible; casting would downgrade them
            else:
                frame[name] = frame[name].astype(target)
        except Exception as exc:  # noqa: BLE001 - every failed cast is the client's data
            raise _invalid(
                "Data is not compatible with model signature. "
                f"Failed to convert column {name} to type '{target}'. Error: '{exc!r}'"
            ) from exc
    return frame


def _convert(value: Any, spec: Any) -> Any:
    """One ``inputs`` / ``instances`` value to the array its signature entry describes."""
    import numpy as np

    from modelshelf.models import ColSpec, DataType, TensorSpec

    try:
        if spec is None:
            return np.array(value)
        if isinstance(spec, TensorSpec):
            return np.array(value, dtype=spec.type)
        if isinstance(spec, ColSpec) and isinstance(spec.type, DataType):
            dtype = spec.type.to_numpy()
            if isinstance(value, (list, np.ndarray)):
                return np.array(value, dtype)
            return np.array([value], dtype)[0]
        return value  # complex column types: enforced element by element at predict
    except Exception as exc:  # noqa: BLE001
        raise _invalid(f"{exc}") from exc


def _tf_serving(key: str, value: Any, schema: Any) -> Any:
    import numpy as np

    names = schema.input_dict() if schema is not None and schema.has_input_names() else {}
    if key == "instances" and isinstance(value, list) and value and isinstance(value[0], dict):
        columns: dict[str, list[Any]] = defaultdict(list)
        for item in value:
            for col, v in item.items():
                columns[col].append(_convert(v, names.get(col)))
        data: Any = {col: np.array(v) for col, v in columns.items()}
    else:
        data = _cast_schema_type(value, schema, names)
    if key == "instances" and isinstance(data, dict):
        from modelshelf.models import Array, ColSpec

        sized = {k: v for k, v in data.items() if isinstance(v, (list, np.ndarray))}
        if names:
            check = [
                c
                for c in schema.required_input_names()
                if c in sized
                and not (isinstance(names[c], ColSpec) and isinstance(names[c].type, Array))
            ]
        else:
            check = list(sized)
        if len({len(sized[c]) for c in check}) > 1:
            raise _invalid("The length of values for each input/column name are not the same")
    return data


def _cast_schema_type(value: Any, schema: Any, names: dict[Any, Any]) -> Any:
    import numpy as np

    if schema is not None:
        if (
            len(names) == 1
            and isinstance(value, list)
            and not any(isinstance(x, dict) for x in value)
        ):
            value = {next(iter(names)): value}
        elif not schema.has_input_names() and not (isinstance(value, list) or np.isscalar(value)):
            raise _invalid(
                "Failed to parse input data. This model contains an un-named  model signature "
                "which expects a single n-dimensional array or a single value as input, however, "
                f"an input of type {type(value)} was found."
            )
    first = schema.inputs[0] if schema is not None else None
    if isinstance(value, dict):
        return {col: _convert(v, names.get(col)) for col, v in value.items()}
    if isinstance(value, list) and value and all(isinstance(x, dict) for x in value):
        return [{c: _convert(v, names.get(c)) for c, v in row.items()} for row in value]
    return _convert(value, first)


def _parse_csv(body: bytes, schema: Any) -> Any:
    import pandas as pd

    from modelshelf.models import ColSpec, DataType

    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _invalid(
            f"Ensure that input is a valid UTF-8 encoded string. Error: '{exc!r}'"
        ) from exc
    dtypes = None
    if schema is not None and schema.has_input_names() and not schema.is_tensor_spec():
        dtypes = {
            spec.name: spec.type.to_pandas()
            for spec in schema.inputs
            if isinstance(spec, ColSpec)
            and isinstance(spec.type, DataType)
            and spec.type not in (DataType.datetime, DataType.binary)
        }
    try:
        return pd.read_csv(io.StringIO(text), dtype=dtypes)
    except Exception as exc:  # noqa: BLE001
        raise ErrorAnswer(
            "Failed to parse input as a Pandas DataFrame. Ensure that the input is a valid "
            "CSV-formatted Pandas DataFrame produced using the `pandas.DataFrame.to_csv()` "
            f"method. Error: '{exc}'",
            stack_trace=traceback.format_exc(),
        ) from exc


def _parse_parquet(body: bytes) -> Any:
    import pandas as pd

    try:
        return pd.read_parquet(io.BytesIO(body))
    except Exception as exc:  # noqa: BLE001
        raise ErrorAnswer(
            "Failed to parse input as a Pandas DataFrame. Ensure that the input is a valid "
            "Parquet Pandas DataFrame produced using the `pandas.DataFrame.to_parquet()` "
            f"method. Error: '{exc}'",
            stack_trace=traceback.format_exc(),
        ) from exc


def predict_response(model: Any, data: Any, params: dict[str, Any] | None) -> bytes:
    """Predict and serialise ``{"predictions": …}``; failures become MLflow's error answers.

    Raises:
        ErrorAnswer: the input or params violate the signature (``INVALID_PARAMETER_VALUE``;
            ``SCHEMA_ENFORCEMENT_FAILED`` for the input) or the model raised (``BAD_REQUEST``
            with the stack trace).
    """
    from modelshelf.errors import InvalidInputError

    try:
        predictions = model.predict(data, params=params)
    except InvalidInputError as exc:
        schema_failure = "Failed to enforce schema" in str(exc)
        raise ErrorAnswer(
            f"Failed to predict data '{data}'. \nError: {exc}",
            error_code="INVALID_PARAMETER_VALUE",
            error_class="SCHEMA_ENFORCEMENT_FAILED"
            if schema_failure
            else "INVALID_PARAMETER_VALUE",
            sqlstate="KAM01" if schema_failure else "KAM00",
        ) from exc
    except Exception as exc:  # noqa: BLE001 - the model's own failure, reported to the client
        raise ErrorAnswer(
            "Encountered an unexpected error while evaluating the model. Verify that the "
            "serialized input Dataframe is compatible with the model for inference.",
            stack_trace=traceback.format_exc(),
        ) from exc
    return predictions_to_json(predictions)


def predictions_to_json(predictions: Any) -> bytes:
    """``{"predictions": …}``: frames as records, arrays as lists, bytes as base64."""
    return json.dumps({"predictions": _jsonable(predictions)}, default=_encode).encode("utf-8")


def _jsonable(data: Any) -> Any:
    import numpy as np
    import pandas as pd

    if isinstance(data, np.ndarray):
        return data.tolist()
    if isinstance(data, pd.DataFrame):
        return data.to_dict(orient="records")
    if isinstance(data, pd.Series):
        return pd.DataFrame(data).to_dict(orient="records")
    return data


def _encode(obj: Any) -> Any:
    import numpy as np
    import pandas as pd

    if isinstance(obj, np.ndarray):
        if obj.dtype == object:
            return [_encode(x) if not _plain(x) else x for x in obj.tolist()]
        if obj.dtype.kind == "S":
            return [base64.encodebytes(x).decode("ascii") for x in obj.tolist()]
        return obj.tolist()
    if isinstance(obj, np.datetime64):
        return str(np.datetime_as_string(obj))
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (bytes, bytearray)):
        return base64.encodebytes(obj).decode("ascii")
    if isinstance(obj, (pd.Timestamp, dt.date, dt.datetime, dt.time)):
        return obj.isoformat()
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def _plain(x: Any) -> bool:
    return x is None or isinstance(x, (str, int, float, bool, list, dict))
