"""The ASGI app (Starlette): MLflow's scoring endpoints over a :class:`ModelFollower`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modelshelf.serve._follower import ModelFollower, log_to_stderr
from modelshelf.serve._protocol import ErrorAnswer, parse_request, predict_response

__all__ = ["ServeConfig", "app_from_environment", "create_app"]

CONFIG_ENV = "MODELSHELF_SERVE_CONFIG"
VERSION_HEADER = "x-modelshelf-model-version"
DIGEST_HEADER = "x-modelshelf-model-digest"


@dataclass(frozen=True)
class ServeConfig:
    """What a server (each worker process) needs; JSON-able, so workers get it by environment.

    Attributes:
        model_uri: the model URI to serve (an alias is followed).
        shelf: the shelf URL URIs resolve against (None: the current shelf).
        storage_options: fsspec options for the shelf.
        poll_interval: seconds between two looks at the registry for an alias move.
        max_body_bytes: larger request bodies are refused with 413.
        timeout: seconds a request may take before it is answered 504.
        model_config: passed to the model's loader.
    """

    model_uri: str
    shelf: str | None = None
    storage_options: dict[str, Any] | None = None
    poll_interval: float = 10.0
    max_body_bytes: int = 32 * 1024 * 1024
    timeout: float = 60.0
    model_config: dict[str, Any] | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServeConfig:
        return cls(**json.loads(text))


def app_from_environment() -> Starlette:
    """The app of one worker process, configured by ``MODELSHELF_SERVE_CONFIG`` (uvicorn's
    ``--factory`` target: each worker loads the model and follows the alias itself)."""
    config = ServeConfig.from_json(os.environ[CONFIG_ENV])
    log_to_stderr()
    if config.shelf is not None:
        from modelshelf._shelf import Shelf, set_shelf

        set_shelf(Shelf(config.shelf, **(config.storage_options or {})))
    follower = ModelFollower(
        config.model_uri, poll_interval=config.poll_interval, model_config=config.model_config
    )
    follower.load()
    return create_app(follower, config)


def create_app(follower: ModelFollower, config: ServeConfig) -> Starlette:
    """The scoring app over a loaded ``follower``.

    ``GET /ping`` and ``/health`` answer 200 while a model is loaded (``/health`` with a JSON
    status: ``ok``, or ``degraded`` naming a version that failed to load); ``GET /version``
    names the modelshelf version and the model version and digest answering; ``POST
    /invocations`` scores, with the answering version and digest in response headers.
    """
    from modelshelf import __version__

    async def ping(request: Request) -> Response:
        return Response("\n", status_code=200, media_type="application/json")

    async def health(request: Request) -> Response:
        return Response(json.dumps(follower.status()), media_type="application/json")

    async def version(request: Request) -> Response:
        body = {"modelshelf_version": __version__, **follower.current.describe()}
        return Response(json.dumps(body), media_type="application/json")

    async def invocations(request: Request) -> Response:
        served = follower.current  # this request keeps this model, whatever swaps meanwhile
        headers = {
            VERSION_HEADER: "" if served.version is None else str(served.version),
            DIGEST_HEADER: served.digest or "",
        }
        body = await request.body()

        def score() -> bytes:
            data, params = parse_request(
                body, request.headers.get("content-type"), served.model.metadata
            )
            return predict_response(served.model, data, params)

        try:
            content = await asyncio.wait_for(asyncio.to_thread(score), timeout=config.timeout)
        except ErrorAnswer as err:
            return Response(err.body(), err.status, headers, media_type=err.media_type)
        except TimeoutError:
            return Response(
                "Request processing time exceeded limit", 504, headers, "application/json"
            )
        return Response(content, 200, headers, media_type="application/json")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        stop = threading.Event()
        poller = None
        if follower.follows:
            poller = threading.Thread(
                target=follower.run, args=(stop,), name="modelshelf-alias-follower", daemon=True
            )
            poller.start()
        try:
            yield
        finally:
            stop.set()
            if poller is not None:
                await asyncio.to_thread(poller.join, 30)

    app = Starlette(
        routes=[
            Route("/ping", ping, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
            Route("/version", version, methods=["GET"]),
            Route("/invocations", invocations, methods=["POST"]),
        ],
        lifespan=lifespan,
    )
    app.add_middleware(BodyLimit, max_bytes=config.max_body_bytes)
    return app


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413 before they are buffered.

    A declared ``Content-Length`` over the limit is refused before any of the body is
    buffered; a chunked body as soon as it passes the limit. Either way the rest of the body is
    read and dropped (up to 1 GiB, past which the connection is closed), so a client still
    sending reads the 413 instead of a reset connection.
    """

    _DRAIN_LIMIT = 1 << 30  # past this, closing the connection is cheaper than reading

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = None
        for key, value in scope.get("headers", []):
            if key == b"content-length":
                with contextlib.suppress(ValueError):
                    declared = int(value)
        if declared is not None and declared > self.max_bytes:
            if declared <= self._DRAIN_LIMIT:
                await _drain(receive, declared)
            await self._refuse(send, declared)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited, tracked)
        except _TooLarge:
            if not started:
                await _drain(receive, self._DRAIN_LIMIT - seen)
                await self._refuse(send, seen)

    async def _refuse(self, send: Send, size: int) -> None:
        err = ErrorAnswer(
            f"Request body of {size} bytes exceeds the server's limit of {self.max_bytes} "
            "bytes; send smaller batches or start the server with a larger --max-body-size.",
            status=413,
            error_code="REQUEST_LIMIT_EXCEEDED",
            error_class="REQUEST_LIMIT_EXCEEDED",
        )
        body = err.body()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


async def _drain(receive: Receive, budget: int) -> None:
    """Read and drop the rest of a refused body (up to ``budget`` bytes), so the client, still
    sending, gets the 413 rather than a reset connection."""
    while budget > 0:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return
        budget -= len(message.get("body", b""))
