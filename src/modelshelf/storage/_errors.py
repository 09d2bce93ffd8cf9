"""Vendor errors translated at the storage edge, in one table."""

from __future__ import annotations

import enum
import errno
from typing import Any

from modelshelf.errors import (
    AlreadyExistsError,
    ModelshelfError,
    ObjectNotFoundError,
    StorageError,
    StoragePermissionError,
)

__all__ = ["WriteOutcome", "classify_create_error", "http_status", "translate"]


class WriteOutcome(enum.Enum):
    """How a failed conditional create should be read."""

    LOST = "lost"  # someone else's object is there (412, EEXIST)
    RETRY = "retry"  # transient conflict (S3 409 ConditionalRequestConflict, 429, 503)
    AMBIGUOUS = "ambiguous"  # we cannot tell whether our write landed: read back and compare
    FAILED = "failed"  # a real error (permissions, missing bucket): raise


# (vendor class name, HTTP status or None, error code or None) -> modelshelf error class.
# Matched against the exception and every exception in its __cause__/__context__ chain.
_NOT_FOUND_CODES = {"NoSuchKey", "NotFound", "404", "BlobNotFound", "ResourceNotFound"}
_EXISTS_CODES = {"PreconditionFailed", "BlobAlreadyExists", "ConditionNotMet", "412"}
_RETRY_CODES = {"ConditionalRequestConflict", "SlowDown", "ServiceUnavailable", "RequestTimeout"}
_EXISTS_CLASSES = {"ResourceExistsError", "PreconditionFailed", "ResourceModifiedError"}
_NOT_FOUND_CLASSES = {"ResourceNotFoundError", "NotFound", "NoSuchKey"}


_DENIED_CODES = {"AccessDenied", "AuthorizationFailure", "AuthenticationFailed", "Forbidden"}
_MISSING_CONTAINER_CODES = {"NoSuchBucket", "ContainerNotFound"}
# Phrases the vendors use for a missing bucket; matched on messages, never on keys or paths
# (a key like "bucket-notes.txt" must not turn a missing object into a missing bucket).
_MISSING_CONTAINER_PHRASES = (
    "bucket does not exist",
    "container does not exist",
    "containernotfound",
    "nosuchbucket",
)


def _says_container_missing(exc: BaseException) -> bool:
    for item in _chain(exc):
        message = str(item).lower()
        if any(phrase in message for phrase in _MISSING_CONTAINER_PHRASES):
            return True
    return False


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 8:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def http_status(exc: BaseException) -> tuple[int | None, str | None]:
    """The HTTP status and vendor error code found anywhere in the exception chain."""
    for item in _chain(exc):
        response: Any = getattr(item, "response", None)
        if isinstance(response, dict):  # botocore ClientError
            meta = response.get("ResponseMetadata", {})
            code = response.get("Error", {}).get("Code")
            status = meta.get("HTTPStatusCode")
            if status or code:
                return (int(status) if status else None), (str(code) if code else None)
        for attr in ("status_code", "code", "status"):
            value = getattr(item, attr, None)
            if isinstance(value, int) and 100 <= value < 600:
                error_code = getattr(item, "error_code", None)
                # Azure may hand back a StorageErrorCode (a str Enum): compare by its value.
                error_code = getattr(error_code, "value", error_code)
                return value, (str(error_code) if error_code else None)
    return None, None


def classify_create_error(exc: BaseException) -> WriteOutcome:
    """Read a failed ``pipe_file(mode="create")``: lost race, retry, ambiguous or failure."""
    status, code = http_status(exc)
    names = {type(item).__name__ for item in _chain(exc)}
    if status == 409 and code != "BlobAlreadyExists" or code in _RETRY_CODES:
        return WriteOutcome.RETRY
    if status in (429, 500, 502, 503, 504):
        return WriteOutcome.AMBIGUOUS
    if isinstance(exc, FileExistsError) or status == 412 or code in _EXISTS_CODES:
        return WriteOutcome.LOST
    if names & _EXISTS_CLASSES or (status == 409 and code == "BlobAlreadyExists"):
        return WriteOutcome.LOST
    # SeaweedFS answers a failed If-None-Match with a bare 412 that s3fs reports as EINVAL.
    if isinstance(exc, OSError) and exc.errno == errno.EINVAL:
        return WriteOutcome.AMBIGUOUS
    if isinstance(exc, (TimeoutError, ConnectionError)) or names & {
        "ReadTimeoutError",
        "ConnectTimeoutError",
        "ServerTimeoutError",
        "ClientOSError",
        "ServerDisconnectedError",
        "EndpointConnectionError",
    }:
        return WriteOutcome.AMBIGUOUS
    return WriteOutcome.FAILED


def translate(exc: BaseException, *, key: str, url: str, op: str) -> ModelshelfError:
    """Map a vendor exception to a typed modelshelf error (the caller chains ``from exc``)."""
    if isinstance(exc, ModelshelfError):
        return exc
    status, code = http_status(exc)
    names = {type(item).__name__ for item in _chain(exc)}
    where = f"{key!r} in {url}"
    if op != "write" and isinstance(exc, (FileExistsError, NotADirectoryError)):
        # Reading below an object: MemoryFileSystem says FileExistsError, the OS ENOTDIR.
        return ObjectNotFoundError(f"no object at {where} (a parent is an object)")
    if (
        isinstance(exc, FileNotFoundError)
        or status == 404
        or code in _NOT_FOUND_CODES
        or names & _NOT_FOUND_CLASSES
    ):
        if code in _MISSING_CONTAINER_CODES or _says_container_missing(exc):
            return StorageError(
                f"cannot {op} {where}: the bucket or container does not exist; create it first"
            )
        return ObjectNotFoundError(f"no object at {where}")
    if isinstance(exc, FileExistsError) or status == 412 or names & _EXISTS_CLASSES:
        return AlreadyExistsError(f"an object already exists at {where}")
    if isinstance(exc, PermissionError) or status in (401, 403) or code in _DENIED_CODES:
        return StoragePermissionError(
            f"permission denied to {op} {where}: check the credentials in storage_options "
            "or the environment"
        )
    detail = f"{type(exc).__name__}: {exc}"
    return StorageError(f"storage failed to {op} {where}: {detail}")
