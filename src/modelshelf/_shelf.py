"""The shelf: one URL (+ fsspec storage_options) holding blobs, runs and the registry.

Which shelf the fluent API uses: the last :func:`set_shelf`, else ``MODELSHELF_URI``, else
``./shelf``.
"""

from __future__ import annotations

import threading
from typing import Any

from modelshelf import _settings
from modelshelf.cas import BlobStore, LocalCache
from modelshelf.storage import Storage, open_storage, redact_url

__all__ = ["Shelf", "get_shelf", "reset_shelf", "set_shelf"]


class Shelf:
    """Everything under one shelf URL: its :class:`Storage` and its :class:`BlobStore`.

    Args:
        url: local path, ``file://``, ``memory://``, ``s3://``, ``gs://``, ``az://`` …, or an
            opened :class:`Storage`; default: the current shelf URL (``MODELSHELF_URI`` or
            ``./shelf``).
        cache_dir: the local verified cache (default ``MODELSHELF_CACHE_DIR`` or
            ``~/.cache/modelshelf``).
        **storage_options: passed to fsspec unchanged.
    """

    def __init__(
        self,
        url: str | Storage | None = None,
        *,
        cache_dir: str | None = None,
        **storage_options: Any,
    ) -> None:
        if isinstance(url, Storage):  # an already opened (or wrapped) storage
            self.storage = url
            self._opened_from = url.url
        else:
            self._opened_from = str(url) if url is not None else _settings.shelf_uri()
            self.storage = open_storage(self._opened_from, **storage_options)
        # What the shelf shows (reprs, messages, records): credentials are never part of it.
        self.url: str = redact_url(self.storage.url)
        self.storage_options = dict(storage_options)
        # Credentials given in the URL (s3://KEY:SECRET@…) are options too: shelves opened
        # with different ones must not share state (the registry keys its replicas by them).
        effective = getattr(getattr(self.storage, "fs", None), "storage_options", None)
        if isinstance(effective, dict):
            for name in ("key", "secret"):
                if name in effective and name not in self.storage_options:
                    self.storage_options[name] = effective[name]
        self.blobs = BlobStore(self.storage, cache=LocalCache(cache_dir) if cache_dir else None)

    def __repr__(self) -> str:
        return f"Shelf({self.url!r})"

    def opened_from(self, url: str) -> bool:
        """Whether this shelf was opened from exactly ``url`` (credentials included)."""
        return self._opened_from == url


_lock = threading.Lock()
_current: Shelf | None = None
_explicit = False  # chosen with set_shelf, rather than taken from the environment


def set_shelf(url: str | Shelf, **storage_options: Any) -> Shelf:
    """Make ``url`` the shelf that the fluent API (``start_run``, ``log_model`` …) uses.

    ``set_tracking_uri`` and ``set_registry_uri`` are aliases for MLflow scripts.
    """
    global _current, _explicit
    shelf = url if isinstance(url, Shelf) else Shelf(url, **storage_options)
    with _lock:
        _current, _explicit = shelf, True
    return shelf


def get_shelf(shelf: str | Shelf | None = None, **storage_options: Any) -> Shelf:
    """Return ``shelf`` opened, or the current shelf when None."""
    global _current
    if isinstance(shelf, Shelf):
        return shelf
    if shelf is not None:
        return Shelf(shelf, **storage_options)
    with _lock:
        if _current is None or (not _explicit and not _current.opened_from(_settings.shelf_uri())):
            _current = Shelf(_settings.shelf_uri())
        return _current


def reset_shelf() -> None:
    """Forget the shelf chosen with :func:`set_shelf` (tests use this)."""
    global _current, _explicit
    with _lock:
        _current, _explicit = None, False
