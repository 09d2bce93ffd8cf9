"""Storage: one URL plus fsspec ``storage_options`` -> a :class:`Storage`.

>>> store = open_storage("memory://docs-example")
>>> store.write("a/b.txt", b"hi")
>>> store.read("a/b.txt")
b'hi'
"""

from __future__ import annotations

import importlib
from typing import Any
from urllib.parse import unquote, urlsplit

from modelshelf.errors import ConfigurationError, MissingDependencyError, UnsupportedBackendError
from modelshelf.storage._base import Capabilities, ObjectInfo, Storage, check_key
from modelshelf.storage._fsspec import FsspecStorage
from modelshelf.storage._local import LocalStorage, atomic_write_file, fsync_dir
from modelshelf.storage._redact import redact, redact_url, secrets_of

__all__ = [
    "Capabilities",
    "FsspecStorage",
    "LocalStorage",
    "ObjectInfo",
    "Storage",
    "atomic_write_file",
    "check_key",
    "fsync_dir",
    "open_storage",
    "redact",
    "redact_url",
    "secrets_of",
]

# scheme -> (module, class, extra to install). Imported only when a URL asks for it.
_BACKENDS: dict[str, tuple[str, str, str | None]] = {
    "s3": ("s3fs", "S3FileSystem", "s3"),
    "s3a": ("s3fs", "S3FileSystem", "s3"),
    "gs": ("gcsfs.core", "GCSFileSystem", "gcs"),
    "gcs": ("gcsfs.core", "GCSFileSystem", "gcs"),
    "az": ("adlfs", "AzureBlobFileSystem", "azure"),
    "abfs": ("adlfs", "AzureBlobFileSystem", "azure"),
    "abfss": ("adlfs", "AzureBlobFileSystem", "azure"),
    "memory": ("fsspec.implementations.memory", "MemoryFileSystem", None),
}
_PACKAGE_OF_EXTRA = {"s3": "s3fs", "gcs": "gcsfs", "azure": "adlfs"}


def open_storage(url: str | Any, **storage_options: Any) -> Storage:
    """Open the storage rooted at ``url``.

    Args:
        url: a local path, ``file://…``, ``memory://…``, ``s3://bucket/prefix``,
            ``gs://``/``gcs://``, ``az://``/``abfs://container/prefix``; or a Storage, returned as is.
        **storage_options: passed to the fsspec filesystem unchanged (``endpoint_url``,
            ``key``/``secret``, ``token``, ``connection_string``, ``anon``, …).

    For ``s3://`` the URL may carry the access key and secret as userinfo
    (``s3://KEY:SECRET@bucket/prefix``, with ``/`` in the secret written ``%2F``); they become
    the ``key``/``secret`` options. Credentials never show: the storage's ``url`` and every
    message carry them as ``***`` (see :func:`redact`).

    Raises:
        MissingDependencyError: the backend's package is not installed (names the extra).
        UnsupportedBackendError: the scheme is not one modelshelf can use.
        ConfigurationError: the URL carries a password the backend cannot use, credentials
            that contradict ``storage_options``, or a query string.
    """
    if isinstance(url, Storage):
        return url
    url = str(url)
    secrets = secrets_of(url, storage_options)
    shown = redact_url(url)
    if "\x00" in url:
        from modelshelf.errors import InvalidPathError

        raise InvalidPathError(f"shelf URL {shown!r} contains a NUL byte")
    try:
        scheme = urlsplit(url).scheme.lower() if "://" in url else ""
    except ValueError as exc:
        raise ConfigurationError(f"cannot parse the shelf URL {shown!r}: {exc}") from None
    if scheme in ("", "file", "local"):
        path = url.split("://", 1)[1] if scheme else url
        if scheme == "file" and path.startswith("localhost/"):
            path = path[len("localhost") :]
        return LocalStorage(path, url=shown)
    if scheme not in _BACKENDS:
        raise UnsupportedBackendError(
            f"cannot open {shown!r}: modelshelf supports local paths, file://, memory://, s3://, "
            f"gs://, gcs://, az://, abfs:// (got scheme {scheme!r})"
        )
    if urlsplit(url).query or urlsplit(url).fragment:
        # fsspec would fold "?…" into the object keys (a SAS token or signature among them).
        raise ConfigurationError(
            f"the shelf URL {shown!r} has a query string or fragment; a shelf URL names a "
            "bucket and prefix only: pass credentials and settings in storage_options"
        )
    url, storage_options = _userinfo_credentials(url, scheme, shown, dict(storage_options))
    module_name, class_name, extra = _BACKENDS[scheme]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        package = _PACKAGE_OF_EXTRA.get(extra or "", module_name)
        raise MissingDependencyError(
            f"opening {shown!r} needs the {package!r} package: pip install 'modelshelf[{extra}]'"
        ) from exc
    cls = getattr(module, class_name)
    options = dict(storage_options)
    if scheme != "memory":
        # Another writer's keys must be visible at once: no listing cache (docs/explanation/backend-facts.md).
        options.setdefault("use_listings_cache", False)
    try:
        fs = cls(**options)
    except Exception as exc:  # noqa: BLE001 - a vendor constructor rejecting its options
        from modelshelf.storage._errors import translate

        raise translate(exc, key="/", url=shown, op="open", secrets=secrets) from None
    root = fs._strip_protocol(url).rstrip("/")
    if scheme == "memory":
        root = "/" + root.lstrip("/")
        capabilities = Capabilities(atomic_create=True, local_paths=False, shared=False)
    else:
        capabilities = Capabilities(atomic_create=True, local_paths=False, shared=True)
    return FsspecStorage(fs, root, url=shown, capabilities=capabilities, secrets=secrets)


def _userinfo_credentials(
    url: str, scheme: str, shown: str, options: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """Move ``KEY:SECRET@`` out of an object-store URL into the options that use it."""
    rest = url.split("://", 1)[1]
    authority = rest.split("/", 1)[0]
    if "@" not in authority:
        return url, options
    userinfo, _, host = authority.rpartition("@")
    if ":" not in userinfo:  # az://container@account... is a location, not a credential
        return url, options
    if scheme not in ("s3", "s3a"):
        raise ConfigurationError(
            f"the shelf URL {shown!r} carries a password, which {scheme}:// cannot use; pass "
            "credentials in storage_options (token=..., connection_string=..., sas_token=...)"
        )
    key, _, secret = (unquote(part) for part in userinfo.partition(":"))
    for name, value in (("key", key), ("secret", secret)):
        if options.get(name) not in (None, value):
            raise ConfigurationError(
                f"the shelf URL {shown!r} and storage_options both give {name!r}, with "
                "different values; pass the credentials in one place"
            )
        options[name] = value
    return f"{url.split('://', 1)[0]}://{host}{rest[len(authority) :]}", options
