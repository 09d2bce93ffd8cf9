"""Vendor errors translated at the storage edge, in one table."""

from __future__ import annotations

import enum
import errno
from collections.abc import Iterable
from typing import Any

from modelshelf.errors import (
    AlreadyExistsError,
    BackendRequestError,
    BackendUnavailableError,
    ModelshelfError,
    ObjectNotFoundError,
    StorageError,
    StoragePermissionError,
)
from modelshelf.storage._redact import redact, redact_url

__all__ = ["WriteOutcome", "classify_create_error", "http_status", "leaks", "translate"]


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
# Answers that say "not now" (a 409 ConditionalRequestConflict is a race, not an outage).
_TRANSIENT_CODES = {
    "SlowDown",
    "ServiceUnavailable",
    "RequestTimeout",
    "InternalError",
    "Throttling",
    "ThrottlingException",
    "TooManyRequests",
    "RequestLimitExceeded",
    "ServerBusy",
    "OperationTimedOut",
}
# Requests the vendor's client refused before sending them: a bad bucket/container name or an
# invalid parameter. Retrying cannot help; the URL or the options must change.
_CLIENT_VALIDATION_CLASSES = {
    "ParamValidationError",
    "InvalidRegionError",
    "InvalidS3AddressingStyleError",
    "InvalidEndpointConfigurationError",
    "InvalidBucketNameError",
}
_TRANSIENT_CLASSES = {
    "ReadTimeoutError",
    "ConnectTimeoutError",
    "ServerTimeoutError",
    "ClientOSError",
    "ServerDisconnectedError",
    "EndpointConnectionError",
    "ConnectionClosedError",
    "ClientPayloadError",
    "ResponseStreamingError",
    "IncompleteReadError",
    "ServiceRequestError",
    "ServiceResponseError",
    "IncompleteRead",
    "ProtocolError",
    "TimeoutError",
}

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
    if isinstance(exc, (TimeoutError, ConnectionError)) or names & _TRANSIENT_CLASSES:
        return WriteOutcome.AMBIGUOUS
    return WriteOutcome.FAILED


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is a failure worth retrying: 5xx, throttling, timeout, dropped connection."""
    if any(isinstance(item, BackendUnavailableError) for item in _chain(exc)):
        return True
    status, code = http_status(exc)
    if status in (408, 429, 500, 502, 503, 504) or code in _TRANSIENT_CODES:
        return True
    names = {type(item).__name__ for item in _chain(exc)}
    if names & _TRANSIENT_CLASSES:
        return True
    return any(isinstance(item, (TimeoutError, ConnectionError)) for item in _chain(exc))


def leaks(exc: BaseException, secrets: Iterable[str] = ()) -> bool:
    """Whether the text of ``exc`` or of anything chained to it shows a credential."""
    secrets = tuple(secrets)
    for item in _chain(exc):
        try:
            text = f"{item} {item.args!r}"
        except Exception:  # noqa: BLE001 - a vendor __str__ that fails shows nothing
            continue
        if redact(text, secrets) != text:
            return True
    return False


def translate(
    exc: BaseException, *, key: str, url: str, op: str, secrets: Iterable[str] = ()
) -> ModelshelfError:
    """Map a vendor exception to a typed modelshelf error, chained to ``exc``.

    The error is returned with ``__cause__`` set to ``exc`` (raise it without ``from``),
    unless the vendor's text shows a credential: then the chain is cut and only the
    redacted vendor message is kept in the error's own message.
    """
    if isinstance(exc, ModelshelfError):
        return exc
    secrets = tuple(secrets)
    error = _translate(exc, key=key, url=redact_url(url), op=op, secrets=secrets)
    error.__cause__ = None if leaks(exc, secrets) else exc
    error.__suppress_context__ = True
    return error


def _translate(
    exc: BaseException, *, key: str, url: str, op: str, secrets: tuple[str, ...]
) -> ModelshelfError:
    status, code = http_status(exc)
    names = {type(item).__name__ for item in _chain(exc)}
    where = f"{redact(repr(key), secrets)} in {url}"
    if names & _CLIENT_VALIDATION_CLASSES:
        vendor = next(i for i in _chain(exc) if type(i).__name__ in _CLIENT_VALIDATION_CLASSES)
        detail = redact(" ".join(str(vendor).split()), secrets)
        return BackendRequestError(
            f"the storage client refused to {op} {where} before sending it: "
            f"{type(vendor).__name__}: {detail}; check the bucket or container name in the "
            "shelf URL and the storage_options"
        )
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
    detail = redact(f"{type(exc).__name__}: {exc}", secrets)
    if is_transient(exc):
        return BackendUnavailableError(
            f"storage failed to {op} {where} after retries (the backend was unavailable, "
            f"throttled or timed out: {detail}); try again"
        )
    return StorageError(f"storage failed to {op} {where}: {detail}")
