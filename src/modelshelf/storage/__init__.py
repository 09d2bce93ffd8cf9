"""Storage: one URL plus fsspec ``storage_options`` -> a :class:`Storage`.

>>> store = open_storage("memory://docs-example")
>>> store.write("a/b.txt", b"hi")
>>> store.read("a/b.txt")
b'hi'
"""

from __future__ import annotations

import importlib
from typing import Any
from urllib.parse import urlsplit

from modelshelf.errors import MissingDependencyError, UnsupportedBackendError
from modelshelf.storage._base import Capabilities, ObjectInfo, Storage, check_key
from modelshelf.storage._fsspec import FsspecStorage
from modelshelf.storage._local import LocalStorage, atomic_write_file, fsync_dir

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

    Raises:
        MissingDependencyError: the backend's package is not installed (names the extra).
        UnsupportedBackendError: the scheme is not one modelshelf can use.
    """
    if isinstance(url, Storage):
        return url
    url = str(url)
    if "\x00" in url:
        from modelshelf.errors import InvalidPathError

        raise InvalidPathError(f"shelf URL {url!r} contains a NUL byte")
    scheme = urlsplit(url).scheme.lower() if "://" in url else ""
    if scheme in ("", "file", "local"):
        path = url.split("://", 1)[1] if scheme else url
        if scheme == "file" and path.startswith("localhost/"):
            path = path[len("localhost") :]
        return LocalStorage(path, url=url)
    if scheme not in _BACKENDS:
        raise UnsupportedBackendError(
            f"cannot open {url!r}: modelshelf supports local paths, file://, memory://, s3://, "
            f"gs://, gcs://, az://, abfs:// (got scheme {scheme!r})"
        )
    module_name, class_name, extra = _BACKENDS[scheme]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        package = _PACKAGE_OF_EXTRA.get(extra or "", module_name)
        raise MissingDependencyError(
            f"opening {url!r} needs the {package!r} package: pip install 'modelshelf[{extra}]'"
        ) from exc
    cls = getattr(module, class_name)
    options = dict(storage_options)
    if scheme != "memory":
        # Another writer's keys must be visible at once: no listing cache (docs/explanation/backend-facts.md).
        options.setdefault("use_listings_cache", False)
    fs = cls(**options)
    root = fs._strip_protocol(url).rstrip("/")
    if scheme == "memory":
        root = "/" + root.lstrip("/")
        capabilities = Capabilities(atomic_create=True, local_paths=False, shared=False)
    else:
        capabilities = Capabilities(atomic_create=True, local_paths=False, shared=True)
    return FsspecStorage(fs, root, url=url, capabilities=capabilities)
