"""Timeouts and graceful shutdown of ``modelshelf serve`` (a subprocess, a real client)."""

from __future__ import annotations

import signal
import threading
import time

from tests.serve._http import Answer, invoke
from tests.serve.conftest import ServerFactory, ServeShelf, payload


def _slow_body(shelf: ServeShelf, seconds: float) -> bytes:
    split = shelf.features.head(2).to_dict(orient="split")
    return payload(dataframe_split=split, params={"seconds": seconds})


def test_a_request_past_the_timeout_is_answered_504(
    serve_shelf: ServeShelf, start_server: ServerFactory
) -> None:
    server = start_server("models:/slow/1", "--timeout", "0.5")
    assert invoke(server.base, _slow_body(serve_shelf, 0)).status == 200
    late = invoke(server.base, _slow_body(serve_shelf, 3))
    assert late.status == 504
    assert late.body == b"Request processing time exceeded limit"


def test_sigterm_lets_the_request_in_flight_finish(
    serve_shelf: ServeShelf, start_server: ServerFactory
) -> None:
    server = start_server("models:/slow/1", "--graceful-timeout", "20")
    process = server.process.process
    assert process is not None
    answers: list[Answer | BaseException] = []

    def slow_request() -> None:
        try:
            answers.append(invoke(server.base, _slow_body(serve_shelf, 2)))
        except BaseException as exc:  # noqa: BLE001 - recorded and asserted below
            answers.append(exc)

    thread = threading.Thread(target=slow_request)
    thread.start()
    time.sleep(0.7)  # the request is now sleeping inside the model
    process.send_signal(signal.SIGTERM)
    thread.join(30)
    assert len(answers) == 1 and isinstance(answers[0], Answer), answers
    assert answers[0].status == 200 and answers[0].json()["predictions"] == [1.0, 1.0]
    assert process.wait(30) is not None  # and then it exits
    assert "Shutting down" in server.log()
