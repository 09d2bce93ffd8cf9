"""``modelshelf serve`` as a subprocess on a loopback port, driven by a real HTTP client."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import numpy as np
import pytest

from tests.serve._http import invoke, request
from tests.serve.conftest import ServerFactory, ServeShelf, payload


def _local_predictions(shelf: ServeShelf, uri: str, data: Any, params: Any = None) -> list[float]:
    import modelshelf
    from modelshelf._shelf import reset_shelf

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODELSHELF_CACHE_DIR", str(shelf.cache))
        modelshelf.set_shelf(shelf.url)
        try:
            out = modelshelf.pyfunc.load_model(uri).predict(data, params=params)
        finally:
            reset_shelf()
    return [float(v) for v in np.asarray(out).reshape(-1)]


def _close(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and bool(np.allclose(a, b))


def test_every_payload_format_and_csv(serve_shelf: ServeShelf, start_server: ServerFactory) -> None:
    server = start_server("models:/lin/1")
    frame = serve_shelf.features.head(5)
    expected = _local_predictions(serve_shelf, "models:/lin/1", frame)
    bodies = {
        "dataframe_split": payload(dataframe_split=frame.to_dict(orient="split")),
        "dataframe_records": payload(dataframe_records=frame.to_dict(orient="records")),
        "instances": payload(instances=frame.to_dict(orient="records")),
        "inputs": payload(inputs=frame.to_dict(orient="list")),
    }
    for name, body in bodies.items():
        answer = invoke(server.base, body)
        assert answer.status == 200, (name, answer.body)
        assert answer.headers["content-type"] == "application/json"
        assert _close(answer.json()["predictions"], expected), name
        assert answer.headers["x-modelshelf-model-version"] == "1"
        assert answer.headers["x-modelshelf-model-digest"] == serve_shelf.digests[1]
    csv = invoke(server.base, frame.to_csv(index=False).encode(), "text/csv")
    assert csv.status == 200 and _close(csv.json()["predictions"], expected)
    charset = invoke(server.base, bodies["inputs"], "application/json; charset=utf-8")
    assert charset.status == 200
    assert request(f"{server.base}/ping").body == b"\n"
    version = request(f"{server.base}/version").json()
    assert (version["model_version"], version["digest"]) == (1, serve_shelf.digests[1])


def test_params_reach_the_model_and_bad_params_are_refused(
    serve_shelf: ServeShelf, start_server: ServerFactory
) -> None:
    server = start_server("models:/bump/1")
    frame = serve_shelf.features.head(4)
    split = frame.to_dict(orient="split")
    plain = invoke(server.base, payload(dataframe_split=split)).json()["predictions"]
    bumped = invoke(server.base, payload(dataframe_split=split, params={"bump": 10}))
    assert bumped.status == 200
    assert _close(bumped.json()["predictions"], [p + 10.0 for p in plain])
    assert _close(
        bumped.json()["predictions"],
        _local_predictions(serve_shelf, "models:/bump/1", frame, {"bump": 10}),
    )
    bad = invoke(server.base, payload(dataframe_split=split, params={"bump": "high"}))
    assert bad.status == 400
    error = bad.json()
    assert error["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "Invalid parameters found" in error["message"] and "bump" in error["message"]


def test_errors_have_mlflows_status_and_shape(
    serve_shelf: ServeShelf, start_server: ServerFactory
) -> None:
    server = start_server("models:/lin/1")
    missing = invoke(server.base, payload(dataframe_records=[{"a": 1.0}]))
    assert missing.status == 400
    body = missing.json()
    assert set(body) == {"error_code", "message", "sqlstate", "error_class"}
    assert body["error_code"] == "INVALID_PARAMETER_VALUE"
    assert body["error_class"] == "SCHEMA_ENFORCEMENT_FAILED"
    assert body["message"].startswith("Failed to predict data")
    assert "Model is missing inputs ['b']" in body["message"]

    uncastable = invoke(
        server.base, payload(dataframe_split={"columns": ["a", "b"], "data": [["x", 1]]})
    )
    assert uncastable.status == 400 and uncastable.json()["error_code"] == "BAD_REQUEST"
    assert "Failed to convert column a" in uncastable.json()["message"]
    for body_bytes, needle in [
        (b"{not json", "Ensure that input is a valid JSON formatted string"),
        (b"[1, 2]", "Received a list"),
        (payload(columns=["a"]), "exactly one of the input fields"),
        (payload(inputs=[[1.0, 2.0]], instances=[[1.0, 2.0]]), "exactly one of the input fields"),
    ]:
        answer = invoke(server.base, body_bytes)
        assert answer.status == 400, body_bytes
        assert answer.json()["error_code"] == "BAD_REQUEST"
        assert needle in answer.json()["message"]
    wrong_type = invoke(server.base, b"a,b\n1,2\n", "text/plain")
    assert (
        wrong_type.status == 415 and b"only supports the following content types" in wrong_type.body
    )
    latin = invoke(server.base, b"a,b\n1,2\n", "text/csv; charset=latin-1")
    assert latin.status == 415 and latin.body == b"The scoring server only supports UTF-8"
    bad_csv = invoke(server.base, b"a,b\nx,2\n", "text/csv")
    assert bad_csv.status == 400 and "stack_trace" in bad_csv.json()


def test_a_50_mb_body_is_refused_and_the_server_keeps_serving(
    serve_shelf: ServeShelf, start_server: ServerFactory
) -> None:
    server = start_server("models:/lin/1")  # the default limit is 32 MB
    big = b'{"inputs": [' + b"1.0, " * (10 * 1024 * 1024) + b"1.0]}"  # ≈ 50 MB
    assert len(big) > 50_000_000
    answer = invoke(server.base, big)
    assert answer.status == 413
    assert answer.json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"
    small = invoke(server.base, payload(dataframe_records=[{"a": 1.0, "b": 2.0}]))
    assert small.status == 200


def test_a_chunked_body_over_the_limit_is_cut_off(
    serve_shelf: ServeShelf, start_server: ServerFactory
) -> None:
    import http.client
    from urllib.parse import urlsplit

    server = start_server("models:/lin/1")
    parts = urlsplit(server.base)
    sent = 0

    def chunks() -> Any:  # no Content-Length: the server counts as the bytes come
        nonlocal sent
        for _ in range(40):
            sent += 1 << 20
            yield b" " * (1 << 20)

    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request(
            "POST", "/invocations", body=chunks(), encode_chunked=True,
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        answer = conn.getresponse()
        assert answer.status == 413
        assert json.loads(answer.read())["error_code"] == "REQUEST_LIMIT_EXCEEDED"
    finally:
        conn.close()
    assert sent == 40 << 20


def test_alias_move_under_load_drops_no_request(
    serve_shelf: ServeShelf, start_server: ServerFactory
) -> None:
    import modelshelf
    from modelshelf._shelf import reset_shelf

    server = start_server("models:/lin@champion", "--poll-interval", "0.2")
    frame = serve_shelf.features.head(8)
    body = payload(dataframe_split=frame.to_dict(orient="split"))
    expected = {str(v): _local_predictions(serve_shelf, f"models:/lin/{v}", frame) for v in (1, 2)}
    answers: list[tuple[int, str, bool]] = []
    failures: list[str] = []
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            try:
                a = invoke(server.base, body)
            except OSError as exc:  # a dropped connection is a failed request
                failures.append(repr(exc))
                continue
            version = a.headers.get("x-modelshelf-model-version", "")
            ok = a.status == 200 and _close(a.json()["predictions"], expected.get(version, []))
            answers.append((a.status, version, ok))

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(1.0)
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("MODELSHELF_CACHE_DIR", str(serve_shelf.cache))
            modelshelf.set_shelf(serve_shelf.url)
            try:
                modelshelf.MlflowClient().set_registered_model_alias("lin", "champion", 2)
            finally:
                reset_shelf()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if request(f"{server.base}/version").json()["model_version"] == 2:
                break
            time.sleep(0.1)
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not failures, failures[:3]
    assert answers and all(ok for _, _, ok in answers), [a for a in answers if not a[2]][:3]
    versions = [v for _, v, _ in answers]
    assert "1" in versions and "2" in versions
    assert versions[-1] == "2"
    version = request(f"{server.base}/version").json()
    assert version["digest"] == serve_shelf.digests[2]
    assert request(f"{server.base}/health").json()["status"] == "ok"


def test_a_broken_new_version_is_left_unserved(
    serve_shelf: ServeShelf, start_server: ServerFactory
) -> None:
    import modelshelf
    from modelshelf._shelf import reset_shelf

    server = start_server("models:/lin@canary", "--poll-interval", "0.2")

    def point(version: int) -> None:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("MODELSHELF_CACHE_DIR", str(serve_shelf.cache))
            modelshelf.set_shelf(serve_shelf.url)
            try:
                modelshelf.MlflowClient().set_registered_model_alias("lin", "canary", version)
            finally:
                reset_shelf()

    point(3)
    deadline = time.monotonic() + 30
    health: dict[str, Any] = {}
    while time.monotonic() < deadline:
        health = request(f"{server.base}/health").json()
        if health["status"] == "degraded":
            break
        time.sleep(0.1)
    assert health["status"] == "degraded", health
    assert health["failed"]["model_version"] == 3
    assert health["failed"]["digest"] == serve_shelf.digests[3]
    assert "broken on purpose" in health["failed"]["error"]
    assert health["model_version"] == 1  # still answering with the version that loaded
    body = payload(dataframe_records=[{"a": 1.0, "b": 2.0}])
    answer = invoke(server.base, body)
    assert answer.status == 200 and answer.headers["x-modelshelf-model-version"] == "1"
    assert "failed to load or check, still serving version 1" in server.log()
    point(1)  # moved back: healthy again
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and health["status"] != "ok":
        health = request(f"{server.base}/health").json()
        time.sleep(0.1)
    assert health["status"] == "ok"
