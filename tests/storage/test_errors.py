"""Vendor errors become typed modelshelf errors, in one table (storage/_errors.py)."""

from __future__ import annotations

import errno
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from modelshelf.errors import (
    AlreadyExistsError,
    BackendRequestError,
    BackendUnavailableError,
    InvalidPathError,
    MissingDependencyError,
    ModelshelfError,
    ObjectNotFoundError,
    StorageError,
    StoragePermissionError,
    UnsupportedBackendError,
)
from modelshelf.storage import open_storage
from modelshelf.storage._errors import WriteOutcome, classify_create_error, translate
from tests._servers import SERVER_BACKENDS, backend_param


# -- vendor exceptions, built the way the libraries build them ---------------------------------
def _client_error(status: int, code: str, message: str = "boom", op: str = "PutObject") -> Any:
    from botocore.exceptions import ClientError

    response = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status, "RetryAttempts": 0},
    }
    return ClientError(response, op)


def _s3fs_wrapped(status: int, code: str, message: str = "boom") -> BaseException:
    """What s3fs raises: its own translation of the ClientError, with the ClientError as cause."""
    from s3fs.errors import translate_boto_error

    cause = _client_error(status, code, message)
    error: BaseException = translate_boto_error(cause)
    error.__cause__ = cause
    return error


def _raised_inside(outer: Callable[[], BaseException], inner: BaseException) -> BaseException:
    """``outer()`` raised while handling ``inner``, as adlfs does (``__context__`` is set)."""
    try:
        try:
            raise inner
        except BaseException:
            raise outer()  # noqa: B904 - the implicit context is the point
    except BaseException as exc:  # noqa: BLE001
        return exc


def _azure(cls_name: str, status: int, code: Any) -> BaseException:
    import azure.core.exceptions as azure_errors

    exc: BaseException = getattr(azure_errors, cls_name)(message=f"azure says {code}")
    exc.status_code = status  # type: ignore[attr-defined]
    exc.error_code = code  # type: ignore[attr-defined]
    return exc


def _storage_error_code(name: str) -> Any:
    from azure.storage.blob import StorageErrorCode

    return StorageErrorCode(name)


def _gcs(code: int) -> BaseException:
    from gcsfs.retry import HttpError

    error: BaseException = HttpError({"code": code, "message": "gcs says no"})
    return error


def _param_validation() -> BaseException:
    """What botocore raises for a bucket name it refuses, before any request is sent."""
    import botocore.session

    client = botocore.session.get_session().create_client(
        "s3", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
    )
    try:
        client.head_object(Bucket="KEY:SECRET@bucket", Key="k")
    except Exception as exc:  # noqa: BLE001
        return exc
    raise AssertionError("botocore accepted an invalid bucket name")


def _connection_closed() -> BaseException:
    from botocore.exceptions import ConnectionClosedError

    return ConnectionClosedError(endpoint_url="http://127.0.0.1:1/bucket/k")


# (id, factory, create outcome, translated class)
CASES: list[tuple[str, Callable[[], BaseException], WriteOutcome, type[ModelshelfError]]] = [
    ("s3-412-raw", lambda: _client_error(412, "PreconditionFailed"), WriteOutcome.LOST, AlreadyExistsError),
    ("s3-412-s3fs", lambda: _s3fs_wrapped(412, "PreconditionFailed"), WriteOutcome.LOST, AlreadyExistsError),
    ("s3-412-seaweedfs-einval", lambda: _raised_inside(lambda: OSError(errno.EINVAL, "At least one of the pre-conditions you specified did not hold"), _client_error(412, "PreconditionFailed")), WriteOutcome.LOST, AlreadyExistsError),
    ("s3-409-conflict", lambda: _s3fs_wrapped(409, "ConditionalRequestConflict"), WriteOutcome.RETRY, StorageError),
    ("s3-503-slowdown", lambda: _s3fs_wrapped(503, "SlowDown"), WriteOutcome.RETRY, BackendUnavailableError),
    ("s3-500", lambda: _s3fs_wrapped(500, "InternalError"), WriteOutcome.AMBIGUOUS, BackendUnavailableError),
    ("s3-404-nosuchkey", lambda: _s3fs_wrapped(404, "NoSuchKey"), WriteOutcome.FAILED, ObjectNotFoundError),
    ("s3-404-nosuchbucket", lambda: _s3fs_wrapped(404, "NoSuchBucket", "The specified bucket does not exist"), WriteOutcome.FAILED, StorageError),
    ("s3-403", lambda: _s3fs_wrapped(403, "AccessDenied"), WriteOutcome.FAILED, StoragePermissionError),
    ("azure-403", lambda: _azure("HttpResponseError", 403, "AuthorizationFailure"), WriteOutcome.FAILED, StoragePermissionError),
    ("azure-exists", lambda: _raised_inside(lambda: FileExistsError("c/k"), _azure("ResourceExistsError", 409, "BlobAlreadyExists")), WriteOutcome.LOST, AlreadyExistsError),
    ("azure-exists-raw", lambda: _azure("ResourceExistsError", 409, "BlobAlreadyExists"), WriteOutcome.LOST, AlreadyExistsError),
    ("azure-exists-enum-code", lambda: _azure("ResourceExistsError", 409, _storage_error_code("BlobAlreadyExists")), WriteOutcome.LOST, AlreadyExistsError),
    ("azure-412-modified", lambda: _azure("ResourceModifiedError", 412, "ConditionNotMet"), WriteOutcome.LOST, AlreadyExistsError),
    ("azure-404-blob", lambda: _azure("ResourceNotFoundError", 404, "BlobNotFound"), WriteOutcome.FAILED, ObjectNotFoundError),
    ("azure-404-container", lambda: _azure("ResourceNotFoundError", 404, "ContainerNotFound"), WriteOutcome.FAILED, StorageError),
    ("azure-409-lease", lambda: _azure("ResourceExistsError", 409, "LeaseIdMissing"), WriteOutcome.RETRY, AlreadyExistsError),
    ("gcs-412-gcsfs", lambda: FileExistsError("bucket/key"), WriteOutcome.LOST, AlreadyExistsError),
    ("gcs-412-http", lambda: _gcs(412), WriteOutcome.LOST, AlreadyExistsError),
    ("gcs-404", lambda: _gcs(404), WriteOutcome.FAILED, ObjectNotFoundError),
    ("gcs-401", lambda: _gcs(401), WriteOutcome.FAILED, StoragePermissionError),
    ("gcs-403", lambda: _gcs(403), WriteOutcome.FAILED, StoragePermissionError),
    ("gcs-503", lambda: _gcs(503), WriteOutcome.AMBIGUOUS, BackendUnavailableError),
    ("einval-bare", lambda: OSError(errno.EINVAL, "Invalid argument"), WriteOutcome.AMBIGUOUS, StorageError),
    ("timeout", lambda: TimeoutError("read timed out"), WriteOutcome.AMBIGUOUS, BackendUnavailableError),
    ("permission", lambda: PermissionError(errno.EACCES, "denied"), WriteOutcome.FAILED, StoragePermissionError),
    ("not-found", lambda: FileNotFoundError(errno.ENOENT, "gone", "bucket/notes.txt"), WriteOutcome.FAILED, ObjectNotFoundError),
    ("value-error", lambda: ValueError("weird"), WriteOutcome.FAILED, StorageError),
    ("s3-param-validation", lambda: _param_validation(), WriteOutcome.FAILED, BackendRequestError),
    ("s3-connection-closed", lambda: _connection_closed(), WriteOutcome.AMBIGUOUS, BackendUnavailableError),
    ("s3-429", lambda: _s3fs_wrapped(429, "TooManyRequests"), WriteOutcome.AMBIGUOUS, BackendUnavailableError),
]  # fmt: skip

_BUILTIN_OF = {
    BackendRequestError: ValueError,
    BackendUnavailableError: OSError,
    AlreadyExistsError: FileExistsError,
    ObjectNotFoundError: FileNotFoundError,
    StorageError: OSError,
    StoragePermissionError: PermissionError,
}


@pytest.mark.parametrize(
    ("factory", "outcome", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_vendor_error_table(
    factory: Callable[[], BaseException], outcome: WriteOutcome, expected: type[ModelshelfError]
) -> None:
    exc = factory()
    assert classify_create_error(exc) is outcome
    error = translate(exc, key="some/key", url="s3://bucket/shelf", op="write")
    assert type(error) is expected, f"{type(exc).__name__} became {type(error).__name__}: {error}"
    assert isinstance(error, _BUILTIN_OF[expected])
    assert "some/key" in str(error)


def test_missing_bucket_message_says_so() -> None:
    error = translate(_s3fs_wrapped(404, "NoSuchBucket"), key="k", url="s3://nope/x", op="read")
    assert "bucket or container does not exist" in str(error)


def test_key_words_do_not_fake_a_missing_bucket() -> None:
    # The old check looked for "bucket" and "not" anywhere in the message, paths included.
    exc = FileNotFoundError(errno.ENOENT, "No such file", "my-bucket/shelf/release-notes.txt")
    error = translate(exc, key="release-notes.txt", url="s3://my-bucket/shelf", op="read")
    assert isinstance(error, ObjectNotFoundError)


@pytest.mark.parametrize("exc", [FileExistsError("/shelf/a"), NotADirectoryError(20, "x")])
def test_reading_below_an_object_is_not_found(exc: BaseException) -> None:
    # MemoryFileSystem raises FileExistsError when a parent of the path is a file.
    error = translate(exc, key="a/b", url="memory://shelf", op="read")
    assert isinstance(error, ObjectNotFoundError)


def test_modelshelf_errors_pass_through() -> None:
    original = AlreadyExistsError("already there")
    assert translate(original, key="k", url="u", op="write") is original


# -- real bad inputs -----------------------------------------------------------------------
@pytest.mark.parametrize("url", ["ftp://host/shelf", "hdfs://nn/shelf", "webdav://x/y", "zip://a"])
def test_unknown_scheme_is_unsupported(url: str) -> None:
    with pytest.raises(UnsupportedBackendError) as caught:
        open_storage(url)
    assert isinstance(caught.value, ValueError)
    assert url in str(caught.value)


def test_nul_in_url_is_invalid() -> None:
    with pytest.raises(InvalidPathError):
        open_storage("memory://a\x00b")


@pytest.mark.parametrize(
    ("module", "url", "extra"),
    [
        ("s3fs", "s3://bucket/shelf", "modelshelf[s3]"),
        ("gcsfs", "gs://bucket/shelf", "modelshelf[gcs]"),
        ("adlfs", "az://container/shelf", "modelshelf[azure]"),
    ],
)
def test_missing_extra_names_it(
    monkeypatch: pytest.MonkeyPatch, module: str, url: str, extra: str
) -> None:
    for name in list(sys.modules):
        if name == module or name.startswith(module + "."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, module, None)  # makes `import <module>` raise ImportError
    with pytest.raises(MissingDependencyError) as caught:
        open_storage(url)
    assert isinstance(caught.value, ImportError)
    assert extra in str(caught.value)
    assert module in str(caught.value)


def test_importing_storage_loads_no_cloud_sdk() -> None:
    code = textwrap.dedent(
        """
        import sys
        import modelshelf.storage, modelshelf.errors, modelshelf.testing
        heavy = ("s3fs", "gcsfs", "adlfs", "boto3", "botocore", "aiobotocore", "azure",
                 "google", "aiohttp", "pytest")
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in heavy)
        print(",".join(loaded))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "", f"imported eagerly: {result.stdout.strip()}"


# -- real errors from real servers -------------------------------------------------------------
@pytest.mark.parametrize("server", [backend_param(name) for name in SERVER_BACKENDS])
def test_missing_bucket_is_a_clear_storage_error(shelf_factory: Any, server: str) -> None:
    url, options = shelf_factory(server)
    scheme = url.split("://", 1)[0]
    storage = open_storage(f"{scheme}://no-such-bucket-{uuid.uuid4().hex[:12]}/shelf", **options)
    with pytest.raises(StorageError) as caught:
        storage.write("key", b"data")
    assert not isinstance(caught.value, (AlreadyExistsError, ObjectNotFoundError))
    with pytest.raises(ModelshelfError):
        storage.read("key")
