"""A small real HTTP client for the serving tests (stdlib http.client, loopback only)."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def request(
    url: str,
    *,
    method: str = "GET",
    body: bytes | None = None,
    content_type: str | None = "application/json",
    timeout: float = 30,
) -> Answer:
    parts = urlsplit(url)
    assert parts.hostname == "127.0.0.1", url
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        headers = {"Content-Type": content_type} if content_type and body is not None else {}
        conn.request(method, parts.path, body=body, headers=headers)
        response = conn.getresponse()
        return Answer(
            response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        )
    finally:
        conn.close()


def status(url: str) -> int | None:
    try:
        return request(url, timeout=2).status
    except OSError:
        return None


def invoke(base: str, body: bytes, content_type: str = "application/json") -> Answer:
    return request(f"{base}/invocations", method="POST", body=body, content_type=content_type)
