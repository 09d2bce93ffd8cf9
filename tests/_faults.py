"""A fault-injecting HTTP proxy on loopback, between a storage client and a real emulator.

Point the client's ``endpoint_url`` at :attr:`FaultProxy.url`; every request is forwarded to
the emulator unless a :class:`Rule` of the schedule fires on it. A fault either replaces the
request (the emulator never sees it) or hits after the emulator applied it (the response is
lost: the ambiguous case a client must settle by reading back)::

    with FaultProxy(endpoint.http, dialect="s3") as proxy:
        proxy.add(Rule(Fault("status", status=503, code="SlowDown"), method="PUT", times=2))
        ...                                   # the first two PUTs get 503 SlowDown
        assert proxy.fired() == 2

Faults:
    status         answer ``status`` (with the dialect's error body) without forwarding
    status_after   forward (the write lands), then answer ``status`` instead of the response
    reset          close the connection with a TCP reset, nothing forwarded
    drop_after     forward, then reset without answering (a response lost on the way back)
    reset_body     forward, send the headers and ``after_bytes`` of the body, then reset
    delay          sleep ``delay`` seconds (beyond the client's timeout), then forward

Rules match on a method regex, a path regex and optionally a body regex, fire on the ``nth`` matching request onward
(1-based), at most ``times`` times (None: always), and with probability ``fraction`` from a
seeded RNG. The proxy keeps a log of every request and what happened to it.
"""

from __future__ import annotations

import http.client
import random
import re
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

__all__ = ["Fault", "FaultProxy", "Rule"]

_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
        "upgrade", "expect", "content-length"}  # fmt: skip
_ACTIONS = ("status", "status_after", "reset", "drop_after", "reset_body", "delay")


@dataclass(frozen=True)
class Fault:
    """What to do to a request (see the module docstring)."""

    action: str
    status: int = 503
    code: str = "ServiceUnavailable"
    after_bytes: int = 0
    delay: float = 0.0

    def __post_init__(self) -> None:
        if self.action not in _ACTIONS:
            raise ValueError(f"unknown fault {self.action!r}; one of {_ACTIONS}")


@dataclass
class Rule:
    """When a fault fires: method/path regexes, from the ``nth`` match, ``times``, ``fraction``."""

    fault: Fault
    method: str = ".*"
    path: str = ".*"
    body: str | None = None  # regex searched in the request body (GCS names objects there)
    nth: int = 1
    times: int | None = 1
    fraction: float = 1.0
    seen: int = field(default=0, init=False)
    fired: int = field(default=0, init=False)

    def decide(self, method: str, path: str, body: bytes, rng: random.Random) -> bool:
        if not re.fullmatch(self.method, method) or not re.search(self.path, path):
            return False
        if self.body is not None and not re.search(self.body.encode(), body[:65536]):
            return False
        self.seen += 1
        if self.seen < self.nth or (self.times is not None and self.fired >= self.times):
            return False
        if self.fraction < 1.0 and rng.random() >= self.fraction:
            return False
        self.fired += 1
        return True


def _error_body(dialect: str, status: int, code: str) -> tuple[bytes, str]:
    if dialect == "gcs":
        body = f'{{"error": {{"code": {status}, "message": "injected {code}", "errors": []}}}}'
        return body.encode(), "application/json"
    if dialect == "azure":
        body = (
            '<?xml version="1.0" encoding="utf-8"?><Error><Code>'
            f"{code}</Code><Message>injected {code}</Message></Error>"
        )
        return body.encode(), "application/xml"
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><Error><Code>'
        f"{code}</Code><Message>injected {code}</Message><RequestId>fault</RequestId></Error>"
    )
    return body.encode(), "application/xml"


class FaultProxy:
    """A threaded HTTP/1.1 reverse proxy to ``upstream`` with a programmable fault schedule."""

    def __init__(self, upstream: str, *, dialect: str = "s3", seed: int = 0) -> None:
        parts = urlsplit(upstream)
        assert parts.hostname == "127.0.0.1", "faults are injected on loopback only"
        self.upstream = (parts.hostname, parts.port or 80)
        self.dialect = dialect
        self.rules: list[Rule] = []
        self.log: list[tuple[str, str, str]] = []  # (method, path, "forwarded" | fault action)
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        proxy = self

        class Handler(_Handler):
            owner = proxy

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the schedule -----------------------------------------------------------------------
    def add(self, *rules: Rule) -> FaultProxy:
        with self._lock:
            self.rules.extend(rules)
        return self

    def clear(self) -> None:
        """Stop injecting (the log is kept)."""
        with self._lock:
            self.rules.clear()

    def fired(self) -> int:
        with self._lock:
            return sum(1 for _, _, what in self.log if what != "forwarded")

    def requests(self) -> int:
        with self._lock:
            return len(self.log)

    def _choose(self, method: str, path: str, body: bytes) -> Fault | None:
        with self._lock:
            for rule in self.rules:
                if rule.decide(method, path, body, self._rng):
                    self.log.append((method, path, rule.fault.action))
                    return rule.fault
            self.log.append((method, path, "forwarded"))
            return None


class _Handler(BaseHTTPRequestHandler):
    owner: FaultProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base class name
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _forward(self, body: bytes) -> tuple[int, str, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(*self.owner.upstream, timeout=60)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
            if body or self.command in ("PUT", "POST", "PATCH"):
                headers["Content-Length"] = str(len(body))
            conn.request(self.command, self.path, body=body or None, headers=headers)
            response = conn.getresponse()
            data = b"" if self.command == "HEAD" else response.read()
            return response.status, response.reason, response.getheaders(), data
        finally:
            conn.close()

    def _reset(self) -> None:
        try:
            self.wfile.flush()
        except OSError:
            pass
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True

    def _send(self, status: int, reason: str, headers: list[tuple[str, str]], data: bytes,
              *, cut: int | None = None) -> None:  # fmt: skip
        self.send_response_only(status, reason)
        length = None
        for name, value in headers:
            if name.lower() in _HOP:
                if name.lower() == "content-length" and self.command == "HEAD":
                    length = value
                continue
            self.send_header(name, value)
        self.send_header("Content-Length", length if length is not None else str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data if cut is None else data[:cut])
        if cut is not None:
            self._reset()

    def handle_one(self) -> None:
        body = self._body()
        fault = self.owner._choose(self.command, self.path, body)
        if fault is None:
            self._send(*self._forward(body))
            return
        action = fault.action
        if action == "delay":
            time.sleep(fault.delay)
            try:
                self._send(*self._forward(body))
            except OSError:  # the client gave up meanwhile
                self.close_connection = True
            return
        if action == "reset":
            self._reset()
            return
        if action in ("status", "status_after"):
            if action == "status_after":
                self._forward(body)
            data, kind = _error_body(self.owner.dialect, fault.status, fault.code)
            headers = [("Content-Type", kind), ("x-ms-error-code", fault.code)]
            if fault.status in (429, 503):
                headers.append(("Retry-After", "0"))
            self._send(fault.status, "Injected", headers, data)
            return
        status, reason, headers, data = self._forward(body)
        if action == "drop_after":
            self._reset()
            return
        self._send(status, reason, headers, data, cut=fault.after_bytes)  # reset_body

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):
            return self.handle_one
        raise AttributeError(name)
