"""Pages of search results and their opaque page tokens (runs and registry alike)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any, Generic, TypeVar

from modelshelf.errors import InvalidFilterError

__all__ = ["PagedList", "decode_token", "encode_token", "page"]

_T = TypeVar("_T")


class PagedList(list[_T], Generic[_T]):
    """A page of search results; ``token`` fetches the next page (None on the last one)."""

    def __init__(self, items: list[_T], token: str | None) -> None:
        super().__init__(items)
        self.token = token


def _fingerprint(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()[:16]


def encode_token(offset: int, query: str = "") -> str:
    """An opaque token for the page starting at ``offset`` of the search ``query``."""
    payload = {"offset": offset, "q": _fingerprint(query)}
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


def decode_token(token: Any, query: str = "") -> int:
    """The offset a token from :func:`encode_token` stands for (0 for no token).

    Raises:
        InvalidFilterError: a token this module did not make, or one made for another search.
    """
    if token is None or token == "":
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(str(token).encode()))
        offset = int(data["offset"])
        if offset < 0:
            raise ValueError(offset)
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeError) as exc:
        raise InvalidFilterError(
            f"invalid page_token {token!r}; pass the .token of the previous page"
        ) from exc
    if "q" in data and data["q"] != _fingerprint(query):
        raise InvalidFilterError(
            f"page_token {token!r} belongs to another search (other filter, order or scope); "
            "pass the same arguments as for the first page"
        )
    return offset


def page(items: list[_T], offset: int, limit: int, query: str = "") -> PagedList[_T]:
    """``items[offset:offset + limit]`` with the token of the next page, if there is one."""
    token = encode_token(offset + limit, query) if offset + limit < len(items) else None
    return PagedList(items[offset : offset + limit], token)
