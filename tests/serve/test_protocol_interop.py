"""The scoring protocol answers as MLflow's own scoring server does, payload by payload: both
parse the same request bodies for the same model folder (in-process, no HTTP)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.serve.conftest import ServeShelf

pytestmark = [
    pytest.mark.interop,
    # extra columns are dropped with a warning (as MLflow's server logs one); the suite's
    # warnings-as-errors setting must not turn that into a failed prediction here
    pytest.mark.filterwarnings("ignore::modelshelf.errors.ModelshelfWarning"),
]
mlflow = pytest.importorskip("mlflow")


def _ours(model: Any, body: bytes, content_type: str) -> tuple[int, Any]:
    from modelshelf.serve._protocol import ErrorAnswer, parse_request, predict_response

    try:
        data, params = parse_request(body, content_type, model.metadata)
        return 200, json.loads(predict_response(model, data, params))
    except ErrorAnswer as err:
        return err.status, err.body().decode() if err.plain else json.loads(err.body())


def _theirs(model: Any, body: bytes, content_type: str) -> tuple[int, Any]:
    from mlflow.exceptions import MlflowException
    from mlflow.pyfunc import scoring_server

    try:
        answer = scoring_server.invocations(
            body, content_type, model, model.metadata.get_input_schema()
        )
    except MlflowException as exc:
        return exc.get_http_status_code(), json.loads(exc.serialize_as_json())
    if answer.status != 200:
        return answer.status, answer.response
    return 200, json.loads(answer.response)


@pytest.fixture(scope="module")
def lin_models(serve_shelf: ServeShelf) -> tuple[Any, Any]:
    """Version 1 of "lin", loaded by modelshelf and by MLflow from the same folder."""
    import modelshelf
    from modelshelf._shelf import reset_shelf
    from modelshelf.uri import local_model_dir

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODELSHELF_CACHE_DIR", str(serve_shelf.cache))
        modelshelf.set_shelf(serve_shelf.url)
        try:
            folder = local_model_dir("models:/lin/1")
            ours = modelshelf.pyfunc.load_model(str(folder))
        finally:
            reset_shelf()
    return ours, mlflow.pyfunc.load_model(str(folder))


def test_answers_match_mlflows_scoring_server(
    serve_shelf: ServeShelf, lin_models: tuple[Any, Any]
) -> None:
    ours, theirs = lin_models
    frame = serve_shelf.features.head(3)
    split = frame.to_dict(orient="split")
    cases: list[tuple[bytes, str]] = [
        (json.dumps({"dataframe_split": split}).encode(), "application/json"),
        (json.dumps({"dataframe_records": frame.to_dict("records")}).encode(), "application/json"),
        (json.dumps({"instances": frame.to_dict("records")}).encode(), "application/json"),
        (json.dumps({"inputs": frame.to_dict("list")}).encode(), "application/json"),
        (frame.to_csv(index=False).encode(), "text/csv"),
        (frame.to_csv(index=False).encode(), "text/csv; charset=UTF-8"),
        (json.dumps({"dataframe_records": [{"a": 1.0}]}).encode(), "application/json"),
        (json.dumps({"dataframe_split": {"columns": ["a", "b"], "data": [["x", 1]]}}).encode(),
         "application/json"),
        (json.dumps({"dataframe_split": {"data": [[1, 2]], "extra": 1}}).encode(), "application/json"),
        (json.dumps({"dataframe_records": {"a": 1}}).encode(), "application/json"),
        (json.dumps({"inputs": [[1.0, 2.0]]}).encode(), "application/json"),
        (b"{broken", "application/json"),
        (b"[1, 2]", "application/json"),
        (b'"text"', "application/json"),
        (json.dumps({"columns": ["a"]}).encode(), "application/json"),
        (b"a,b\nx,2\n", "text/csv"),
        (b"a,b\n1,2\n", "text/plain"),
        (b"a,b\n1,2\n", "text/csv; charset=latin-1"),
        (b"a,b\n1,2\n", "text/csv; foo=bar"),
    ]  # fmt: skip
    for body, content_type in cases:
        status, answer = _ours(ours, body, content_type)
        mlflow_status, mlflow_answer = _theirs(theirs, body, content_type)
        where = (body[:60], content_type)
        assert status == mlflow_status, (where, answer, mlflow_answer)
        if status == 200:
            assert np.allclose(answer["predictions"], mlflow_answer["predictions"]), where
        elif isinstance(answer, str):
            assert answer == mlflow_answer, where
        else:
            assert set(answer) == set(mlflow_answer), where
            for key in ("error_code", "error_class", "sqlstate"):
                assert answer[key] == mlflow_answer[key], (where, key, answer, mlflow_answer)
            # MLflow prints a set of the four formats, in hash order: compare the rest
            head, theirs_head = answer["message"][:40], mlflow_answer["message"][:40]
            assert head == theirs_head, (where, answer["message"], mlflow_answer["message"])


_cell = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.integers(-(2**40), 2**40),
    st.text(max_size=3),
    st.booleans(),
    st.none(),
)


@st.composite
def _bodies(draw: st.DrawFn) -> bytes:
    """Payloads near the model's signature (columns a and b): right, missing, extra, mistyped."""
    columns = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3, unique=True))
    rows = draw(st.lists(st.lists(_cell, min_size=len(columns), max_size=len(columns)), max_size=4))
    form = draw(st.sampled_from(["dataframe_split", "dataframe_records", "inputs", "instances"]))
    if form == "dataframe_split":
        value: Any = {"columns": columns, "data": rows}
    elif form in ("dataframe_records", "instances"):
        value = [dict(zip(columns, row)) for row in rows]
    else:
        value = {c: [row[i] for row in rows] for i, c in enumerate(columns)}
    return json.dumps({form: value}).encode()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=_bodies())
def test_random_payloads_get_mlflows_status_and_error_class(
    lin_models: tuple[Any, Any], body: bytes
) -> None:
    ours, theirs = lin_models
    status, answer = _ours(ours, body, "application/json")
    mlflow_status, mlflow_answer = _theirs(theirs, body, "application/json")
    assert status == mlflow_status, (body, answer, mlflow_answer)
    if status == 200:
        assert np.allclose(answer["predictions"], mlflow_answer["predictions"], equal_nan=True)
    else:
        assert answer["error_class"] == mlflow_answer["error_class"], (body, answer, mlflow_answer)


def test_tensor_payloads_answer_as_mlflow(serve_shelf: ServeShelf) -> None:
    import modelshelf
    from modelshelf._shelf import reset_shelf
    from modelshelf.uri import local_model_dir

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODELSHELF_CACHE_DIR", str(serve_shelf.cache))
        modelshelf.set_shelf(serve_shelf.url)
        try:
            folder = local_model_dir("models:/tens/1")
            ours = modelshelf.pyfunc.load_model(str(folder))
        finally:
            reset_shelf()
    assert ours.metadata.get_input_schema().is_tensor_spec()
    theirs = mlflow.pyfunc.load_model(str(folder))
    rows = serve_shelf.features.head(3).to_numpy().tolist()
    cases = [
        {"inputs": rows},
        {"instances": rows},
        {"inputs": [[1, 2], [3, 4]]},  # ints: cast to the spec's float64
        {"inputs": [1.0, 2.0]},  # wrong rank
        {"inputs": [[1.0, 2.0, 3.0]]},  # wrong shape
        {"inputs": [["x", "y"]]},
        {"inputs": {"t": rows}},  # a dict for an unnamed tensor
        {"instances": [{"t": [1.0, 2.0]}]},
        {"dataframe_split": {"data": rows}},
        {"dataframe_records": [{"0": 1.0, "1": 2.0}]},
        {"inputs": 3.0},
    ]
    for case in cases:
        body = json.dumps(case).encode()
        status, answer = _ours(ours, body, "application/json")
        mlflow_status, mlflow_answer = _theirs(theirs, body, "application/json")
        assert status == mlflow_status, (case, answer, mlflow_answer)
        if status == 200:
            assert np.allclose(answer["predictions"], mlflow_answer["predictions"]), case
        else:
            assert answer["error_class"] == mlflow_answer["error_class"], (
                case,
                answer,
                mlflow_answer,
            )
            assert answer["message"][:40] == mlflow_answer["message"][:40], (
                case, answer["message"], mlflow_answer["message"],
            )  # fmt: skip
