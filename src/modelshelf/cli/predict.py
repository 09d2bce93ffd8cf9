"""``modelshelf predict -m URI -i input [-o output]``: batch predictions from a file.

Inputs: ``.csv``, ``.parquet``, or ``.json`` holding an MLflow serving payload
(``dataframe_split``, ``dataframe_records``, ``inputs`` or ``instances``, plus optional
``params``), pandas "split" JSON (a logged ``input_example.json``), a plain list of records,
or ``-`` for such JSON on stdin. Outputs: ``.json``
(``{"predictions": …}`` as MLflow's scoring server answers), ``.csv`` or ``.parquet``; stdout
(JSON) without ``-o``.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import click

from modelshelf.cli._context import State, global_options, parse_key_values, pass_state
from modelshelf.cli._output import as_data, emit, to_json

__all__ = ["parse_payload", "predict", "read_input", "write_output"]

_PAYLOAD_KEYS = ("dataframe_split", "dataframe_records", "inputs", "instances")
_INPUT_FORMATS = (".json", ".csv", ".parquet", ".pq")


@click.command()
@click.option(
    "--model-uri",
    "-m",
    "model_uri",
    required=True,
    metavar="URI",
    help="models:/NAME@ALIAS, models:/NAME/VERSION, runs:/RUN_ID/model, a folder …",
)
@click.option(
    "--input-path",
    "-i",
    "input_path",
    required=True,
    metavar="PATH",
    help="Input: .json (MLflow serving payload), .csv, .parquet, or - for JSON on stdin.",
)
@click.option(
    "--output-path",
    "-o",
    "output_path",
    metavar="PATH",
    help="Write predictions to .json, .csv or .parquet (default: JSON on stdout).",
)
@click.option(
    "--param",
    "params",
    metavar="KEY=VALUE",
    multiple=True,
    help="An inference param passed to predict (repeatable; JSON values parsed).",
)
@global_options
@pass_state
def predict(
    state: State,
    model_uri: str,
    input_path: str,
    output_path: str | None,
    params: tuple[str, ...],
) -> None:
    """Load a python_function model and predict on a file.

    Loading a model runs its code (unpickling): predict only with models you trust.
    """
    data, payload_params = read_input(input_path)
    if output_path is not None:
        _check_format(output_path, (".json", ".csv", ".parquet", ".pq"), "output")
    merged = {**(payload_params or {}), **parse_key_values(params, "--param")}

    from modelshelf.pyfunc import load_model

    state.shelf()  # model URIs resolve against the current shelf, which this sets
    model = load_model(model_uri)
    predictions = model.predict(data, params=merged or None)
    if output_path is None:
        click.echo(to_json({"predictions": predictions}))
        return
    rows = write_output(predictions, output_path)
    emit(
        state,
        {"output_path": output_path, "rows": rows},
        f"wrote {rows} predictions to {output_path}",
    )


def read_input(path: str) -> tuple[Any, dict[str, Any] | None]:
    """Read ``path`` (by its suffix; ``-`` is JSON on stdin) as model input.

    Returns:
        The input (DataFrame, array or dict of arrays) and the payload's ``params`` if any.

    Raises:
        InvalidInputError: an unknown suffix, unreadable JSON or an unknown payload shape.
        NotFoundError: no such file.
    """
    from modelshelf.errors import InvalidInputError, NotFoundError

    if path == "-":
        return parse_payload(_load_json(sys.stdin.read(), "stdin"))
    suffix = _check_format(path, _INPUT_FORMATS, "input")
    file = Path(path)
    if not file.is_file():
        raise NotFoundError(f"input file {path!r} does not exist")
    if suffix == ".json":
        return parse_payload(_load_json(file.read_text(encoding="utf-8"), path))
    import pandas as pd

    try:
        if suffix == ".csv":
            return pd.read_csv(file), None
        return pd.read_parquet(file), None
    except (ValueError, OSError, ImportError) as exc:
        raise InvalidInputError(f"cannot read {path!r} as {suffix[1:]}: {exc}") from exc


def parse_payload(payload: Any) -> tuple[Any, dict[str, Any] | None]:
    """An MLflow serving payload (or a plain list of records) -> (model input, params).

    Raises:
        InvalidInputError: not one of the accepted shapes.
    """
    import numpy as np
    import pandas as pd

    from modelshelf.errors import InvalidInputError

    if isinstance(payload, list):
        return _records_or_array(payload), None
    if not isinstance(payload, dict):
        raise InvalidInputError(
            f"JSON input must be an object with one of {', '.join(_PAYLOAD_KEYS)} (or a list "
            f"of records), got {type(payload).__name__}"
        )
    if "data" in payload and not any(k in payload for k in _PAYLOAD_KEYS):
        payload = {"dataframe_split": payload}  # pandas "split" JSON, as input_example.json
    present = [k for k in _PAYLOAD_KEYS if k in payload]
    if len(present) != 1:
        raise InvalidInputError(
            f"JSON input must have exactly one of {', '.join(_PAYLOAD_KEYS)} "
            f"(got keys: {', '.join(sorted(payload)) or 'none'})"
        )
    params = payload.get("params")
    if params is not None and not isinstance(params, dict):
        raise InvalidInputError(f"'params' must be an object, got {type(params).__name__}")
    key = present[0]
    value = payload[key]
    try:
        if key == "dataframe_split":
            if not isinstance(value, dict) or "data" not in value:
                raise InvalidInputError(
                    "'dataframe_split' must be an object with 'data' (and 'columns', 'index')"
                )
            frame = pd.DataFrame(
                data=value["data"], columns=value.get("columns"), index=value.get("index")
            )
            return frame, params
        if key == "dataframe_records":
            if not isinstance(value, list):
                raise InvalidInputError("'dataframe_records' must be a list of records")
            return pd.DataFrame.from_records(value), params
        # inputs / instances: MLflow's tensor forms
        if isinstance(value, dict):
            arrays = {k: np.asarray(v) for k, v in value.items()}
            lengths = {a.shape[0] if a.ndim else -1 for a in arrays.values()}
            if len(lengths) == 1 and all(a.ndim == 1 for a in arrays.values()):
                return pd.DataFrame(arrays), params  # columns of equal length: a table
            return arrays, params
        if isinstance(value, list):
            return _records_or_array(value), params
        return np.asarray(value), params
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(f"cannot build model input from {key!r}: {exc}") from exc


def _records_or_array(items: list[Any]) -> Any:
    import numpy as np
    import pandas as pd

    if items and all(isinstance(item, dict) for item in items):
        return pd.DataFrame.from_records(items)
    return np.asarray(items)


def write_output(predictions: Any, path: str) -> int:
    """Write ``predictions`` to ``path`` (.json, .csv or .parquet) without ever leaving a
    partial file; returns the number of rows."""
    suffix = _check_format(path, (".json", ".csv", ".parquet", ".pq"), "output")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        if suffix == ".json":
            staging.write_text(to_json({"predictions": predictions}) + "\n", encoding="utf-8")
            rows = _rows(predictions)
        else:
            frame = _frame(predictions)
            if suffix == ".csv":
                frame.to_csv(staging, index=False)
            else:
                frame.to_parquet(staging, index=False)
            rows = len(frame)
        os.replace(staging, target)
    finally:
        staging.unlink(missing_ok=True)
    return rows


def _frame(predictions: Any) -> Any:
    import numpy as np
    import pandas as pd

    if isinstance(predictions, pd.DataFrame):
        frame = predictions
    elif isinstance(predictions, pd.Series):
        frame = predictions.to_frame(name=str(predictions.name or "prediction"))
    elif isinstance(predictions, dict):
        frame = pd.DataFrame({k: np.asarray(v).tolist() for k, v in predictions.items()})
    else:
        array = np.asarray(predictions)
        if array.ndim <= 1:
            frame = pd.DataFrame({"prediction": array.reshape(-1)})
        else:
            frame = pd.DataFrame(array.reshape(array.shape[0], -1))
    frame = frame.copy()
    frame.columns = [str(c) for c in frame.columns]  # parquet wants string column names
    return frame


def _rows(predictions: Any) -> int:
    data = as_data(predictions)
    if isinstance(data, dict):
        return len(next(iter(data.values()), []))
    return len(data) if isinstance(data, list) else 1


def _check_format(path: str, allowed: tuple[str, ...], what: str) -> str:
    from modelshelf.errors import InvalidInputError

    suffix = Path(path).suffix.lower()
    if suffix not in allowed:
        raise InvalidInputError(
            f"unknown {what} format {suffix or '(no suffix)'!r} for {path!r}; "
            f"use {', '.join(a for a in allowed if a != '.pq')}"
        )
    return suffix


def _load_json(text: str, where: str) -> Any:
    from modelshelf.errors import InvalidInputError

    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidInputError(f"{where}: not valid JSON ({exc})") from exc
