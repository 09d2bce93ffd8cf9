"""Keep credentials out of everything modelshelf shows: reprs, messages, logs, records.

One owner for the concept: :func:`redact` is the only function that scrubs text. It removes

* the password of a URL's userinfo (``s3://KEY:SECRET@bucket`` -> ``s3://***@bucket``),
* the values of secret-like query parameters (``?sig=…``, ``X-Amz-Signature=…``, ``token=…``),
* ``AccountKey=…`` / ``SharedAccessSignature=…`` parts of Azure connection strings,
* and every literal secret it is given (the values of secret-like ``storage_options``, the
  password of the shelf URL), wherever they occur.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

__all__ = ["MASK", "is_secret_name", "redact", "redact_url", "secrets_of"]

MASK = "***"

# Option and query-parameter names whose values are credentials (compared case-insensitively,
# with "-" read as "_"). Substring rules catch vendor spellings such as aws_secret_access_key.
_SECRET_NAMES = frozenset(
    {
        "key",
        "secret",
        "token",
        "password",
        "passwd",
        "pwd",
        "sig",
        "signature",
        "credential",
        "credentials",
        "connection_string",
        "account_key",
        "sas_token",
        "client_secret",
        "session_token",
        "security_token",
        "access_token",
        "refresh_token",
        "private_key",
        "api_key",
        "auth",
        "authorization",
        "x_amz_signature",
        "x_amz_credential",
        "x_amz_security_token",
        "x_goog_signature",
        "x_goog_credential",
        "googleaccessid",
    }
)
# In free text, "key=" usually names a storage key, not a credential; known key values are
# still removed as literal secrets.
_NOT_SECRET_IN_TEXT = frozenset({"key"})
_SECRET_PARTS = ("secret", "token", "password", "signature", "credential", "account_key", "sas")

# scheme://user:password@host  ->  scheme://***@host  (the user part may be an access key id).
_USERINFO = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^\s/@?#]*:[^\s/?#]*)@"
)
# name=value in a query string, a connection string or a header-like text.
_PAIR = re.compile(r"(?P<name>[A-Za-z][A-Za-z0-9_\-]*)(?P<eq>=)(?P<value>[^&;\s'\"<>]+)")
_CONN_PARTS = ("accountkey", "sharedaccesssignature")
# Literal secrets shorter than this are not searched for in text (a 1-character "secret"
# would mask every occurrence of that letter); they still never reach a URL or a record.
_MIN_LITERAL = 4


def is_secret_name(name: str) -> bool:
    """Whether an option or query-parameter ``name`` holds a credential."""
    norm = name.strip().lower().replace("-", "_")
    return norm in _SECRET_NAMES or any(part in norm for part in _SECRET_PARTS)


def _mask_pair(match: re.Match[str]) -> str:
    name = match.group("name")
    if (
        is_secret_name(name) and name.lower() not in _NOT_SECRET_IN_TEXT
    ) or name.lower() in _CONN_PARTS:
        return f"{name}={MASK}"
    return match.group(0)


def redact(text: str, secrets: Iterable[str] = (), *, keep: Iterable[str] = ()) -> str:
    """``text`` with every credential replaced by ``***`` (see the module docstring).

    Args:
        text: any text: a URL, an exception message, a log line, a traceback.
        secrets: literal secret values to remove wherever they occur (longest first).
        keep: already redacted texts (a shelf's shown URL) left as they are, so that a short
            access key that happens to equal a bucket name does not mask the URL.
    """
    if not text:
        return text
    kept = sorted({k for k in keep if k}, key=len, reverse=True)
    if kept:
        pattern = "|".join(re.escape(k) for k in kept)
        pieces = re.split(f"({pattern})", text)
        return "".join(
            piece if i % 2 else _redact(piece, secrets) for i, piece in enumerate(pieces)
        )
    return _redact(text, secrets)


def _redact(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        if len(secret) >= _MIN_LITERAL:
            text = text.replace(secret, MASK)
    text = _USERINFO.sub(lambda m: f"{m.group('scheme')}{MASK}@", text)
    return _PAIR.sub(_mask_pair, text)


def redact_url(url: str) -> str:
    """A URL fit to show: userinfo password and secret query values replaced by ``***``."""
    return redact(str(url), secrets_of(str(url)))


def _option_secrets(options: Mapping[str, Any], out: set[str], depth: int = 0) -> None:
    for name, value in options.items():
        if isinstance(value, Mapping) and depth < 4:
            if is_secret_name(str(name)):
                _values(value, out)
            _option_secrets(value, out, depth + 1)
        elif is_secret_name(str(name)):
            _values(value, out)


def _values(value: Any, out: set[str]) -> None:
    if isinstance(value, Mapping):
        for item in value.values():
            _values(item, out)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _values(item, out)
    elif isinstance(value, (str, bytes)):
        text = value.decode(errors="replace") if isinstance(value, bytes) else value
        if not text or text.lower() in ("anon", "none", "true", "false", "google_default", "cloud"):
            return
        out.add(text)
        # A connection string also leaks piecewise: its AccountKey / SAS alone is a secret.
        for part in text.split(";"):
            name, _, secret = part.partition("=")
            if secret and name.strip().lower() in _CONN_PARTS:
                out.add(secret.strip())


def secrets_of(url: str = "", options: Mapping[str, Any] | None = None) -> frozenset[str]:
    """The literal secrets in a shelf URL and its ``storage_options``."""
    out: set[str] = set()
    if url and "://" in url:
        try:
            parts = urlsplit(url)
        except ValueError:
            parts = None
        if parts is not None:
            userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
            if ":" in userinfo:
                out.add(userinfo.partition(":")[2])
            for name, value in parse_qsl(parts.query, keep_blank_values=False):
                if is_secret_name(name) and value:
                    out.add(value)
    if options:
        _option_secrets(options, out)
    return frozenset(out)
