"""The storage interface every backend implements, and the checks on keys."""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from modelshelf.errors import AlreadyExistsError, InvalidPathError

__all__ = ["Capabilities", "ObjectInfo", "Storage", "check_key"]


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """One stored object: its key relative to the storage root, size in bytes, mtime (epoch s)."""

    key: str
    size: int
    mtime: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "size": self.size, "mtime": self.mtime}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ObjectInfo:
        return cls(key=data["key"], size=int(data["size"]), mtime=data.get("mtime"))


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a backend promises.

    Attributes:
        atomic_create: the backend claims an atomic create-if-absent (``probe()`` checks it).
        local_paths: objects are plain files on this machine (``local_path`` returns paths).
        shared: other processes/machines can see the same objects (not true of ``memory://``).
    """

    atomic_create: bool = True
    local_paths: bool = False
    shared: bool = True


def check_key(key: str) -> str:
    """Validate a storage key: a relative POSIX path with no empty, ``.`` or ``..`` parts.

    Raises:
        InvalidPathError: the key could escape the storage root or is not canonical.
    """
    if not isinstance(key, str) or not key:
        raise InvalidPathError(f"storage key must be a non-empty string, got {key!r}")
    if "\x00" in key or "\\" in key:
        raise InvalidPathError(f"storage key {key!r} holds a NUL or a backslash")
    if key.startswith("/"):
        raise InvalidPathError(f"storage key {key!r} is absolute; keys are relative to the shelf")
    parts = key.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise InvalidPathError(f"storage key {key!r} has an empty, '.' or '..' part")
    return key


class Storage(ABC):
    """Byte storage under one root URL: the only layer that talks to fsspec or the OS.

    Keys are relative POSIX paths under the root. ``write`` is create-if-absent unless
    ``overwrite=True`` is asked for by name; readers never see a partial object.
    """

    url: str
    capabilities: Capabilities

    # -- the small core every backend implements -------------------------------------------
    @abstractmethod
    def read(self, key: str) -> bytes:
        """Return the object's bytes. Raises ObjectNotFoundError when absent."""

    @abstractmethod
    def open_read(self, key: str) -> BinaryIO:
        """Open the object for streaming reads. Raises ObjectNotFoundError when absent."""

    @abstractmethod
    def write(self, key: str, data: bytes, *, overwrite: bool = False) -> None:
        """Store ``data`` at ``key``.

        With ``overwrite=False`` (the default) this is an atomic create-if-absent: of many
        racing writers exactly one succeeds and the others get AlreadyExistsError. On object
        stores a writer that finds its *own bytes* stored after an ambiguous answer is told it
        succeeded (an SDK retry of a PUT that landed looks like a lost race), so payloads that
        must have a single winner carry a unique nonce, as registry commits do.
        """

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Whether an object is at ``key`` (never answered from a stale listing cache)."""

    @abstractmethod
    def stat(self, key: str) -> ObjectInfo:
        """Size and mtime of the object. Raises ObjectNotFoundError when absent."""

    @abstractmethod
    def list(self, prefix: str = "") -> list[ObjectInfo]:
        """Every object below ``prefix`` (recursive), sorted by key, bypassing caches."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object; absent keys are ignored."""

    @abstractmethod
    def upload(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Copy local files to keys, overwriting, concurrently: ``[(local_path, key), ...]``.

        Meant for content-addressed blobs, where every writer of a key writes the same bytes.
        """

    @abstractmethod
    def download(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Copy keys to local files, concurrently: ``[(key, local_path), ...]``."""

    # -- batched helpers with simple defaults; backends override them for speed ------------
    def exists_many(self, keys: Iterable[str]) -> set[str]:
        """Return the subset of ``keys`` that exist (one batched round of requests)."""
        return {key for key in keys if self.exists(key)}

    def read_many(self, keys: Iterable[str]) -> dict[str, bytes | None]:
        """Read several objects at once; absent ones map to None."""
        out: dict[str, bytes | None] = {}
        from modelshelf.errors import ObjectNotFoundError

        for key in keys:
            try:
                out[key] = self.read(key)
            except ObjectNotFoundError:
                out[key] = None
        return out

    def write_many(self, items: dict[str, bytes]) -> set[str]:
        """Create-if-absent for many small objects at once; returns the keys this call created.

        Keys that already exist are left alone (meant for content-addressed blobs, where an
        existing key holds the same bytes). One request per key, no existence checks first.
        """
        created: set[str] = set()
        for key, data in items.items():
            try:
                self.write(key, data)
                created.add(key)
            except AlreadyExistsError:
                pass
        return created

    def local_path(self, key: str) -> str | None:
        """The file path of ``key`` on this machine, for backends with ``local_paths``."""
        return None

    def probe(self) -> bool:
        """Whether the backend really enforces create-if-absent.

        Creates one unique probe key twice; the second create must fail. The probe key is
        deleted afterwards. A backend that silently overwrites (some emulators, old S3
        clones) answers False, and the registry then refuses multi-writer use.
        """
        key = f"_probe/{uuid.uuid4().hex}"
        self.write(key, b"first")
        try:
            try:
                self.write(key, b"second")
            except AlreadyExistsError:
                return True
            return False
        finally:
            try:
                self.delete(key)
            except OSError:
                pass

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"
