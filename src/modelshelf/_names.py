"""The one key validator: run param, metric and tag names, and registry tag keys.

MLflow applies one rule to all of them (``mlflow.utils.validation``): at most 250 characters
from ``[/\\w.\\- :]``, and a normalised relative path (no ``/x``, ``a//b``, ``a/./b``, ``..``),
because file-based stores turn keys into paths. A key that works there works here.
"""

from __future__ import annotations

import posixpath
import re

from modelshelf.errors import InvalidNameError

__all__ = ["MAX_KEY", "check_key"]

MAX_KEY = 250
_KEY = re.compile(r"^[/\w.\- :]+$")


def check_key(key: object, what: str = "tag") -> str:
    """Validate a param, metric or tag key (``what`` names it in the message) and return it.

    Raises:
        InvalidNameError: not a non-empty string, longer than 250 characters, a character
            outside ``[/\\w.\\- :]``, or not a normalised relative path.
    """
    if not isinstance(key, str) or not key:
        raise InvalidNameError(f"a {what} key must be a non-empty string, got {key!r}")
    if len(key) > MAX_KEY:
        raise InvalidNameError(f"{what} key {key[:40]!r}… is longer than {MAX_KEY} characters")
    if not _KEY.match(key):
        raise InvalidNameError(
            f"{what} key {key!r} may only hold letters, digits, '_', '-', '.', ' ', ':' and '/'"
        )
    normal = posixpath.normpath(key)
    if normal != key or normal == "." or normal.startswith(("..", "/")):
        raise InvalidNameError(
            f"{what} key {key!r} must be a normalised relative path (no leading '/', "
            "no '..', '.' or empty segments)"
        )
    return key
