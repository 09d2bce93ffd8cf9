"""Digests: ``sha256:<64 hex>`` strings and the blob keys they name."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import BinaryIO

from modelshelf.errors import InvalidInputError

__all__ = ["CHUNK", "Digest", "blob_key", "hash_bytes", "hash_file", "hash_stream"]

CHUNK = 4 << 20  # large enough that hashlib releases the GIL and syscalls amortise
_HEX = re.compile(r"^[0-9a-f]{64}$")
OBJECTS_PREFIX = "objects/sha256/"


@dataclass(frozen=True, slots=True, order=True)
class Digest:
    """A sha256 content digest. ``str(d)`` is ``sha256:<hex>``; ``d.key`` the blob's storage key."""

    hex: str

    def __post_init__(self) -> None:
        if not _HEX.match(self.hex):
            raise InvalidInputError(
                f"not a sha256 digest: {self.hex!r} (expected 64 lowercase hex)"
            )

    @classmethod
    def parse(cls, value: str | Digest) -> Digest:
        """Parse ``sha256:<hex>`` (or a bare 64-hex string).

        Raises:
            InvalidInputError: the value is not a sha256 digest.
        """
        if isinstance(value, Digest):
            return value
        if not isinstance(value, str):
            raise InvalidInputError(f"not a digest: {value!r}")
        text = value.strip()
        if text.startswith("sha256:"):
            text = text[len("sha256:") :]
        if not _HEX.match(text):
            raise InvalidInputError(f"not a sha256 digest: {value!r} (expected 'sha256:<64 hex>')")
        return cls(text)

    @property
    def key(self) -> str:
        return blob_key(self.hex)

    def __str__(self) -> str:
        return f"sha256:{self.hex}"

    def __repr__(self) -> str:
        return f"Digest('sha256:{self.hex}')"

    def to_dict(self) -> dict[str, str]:
        return {"digest": str(self)}

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> Digest:
        return cls.parse(data["digest"])


def blob_key(hex_digest: str) -> str:
    """``objects/sha256/<first 2 hex>/<64 hex>``."""
    return f"{OBJECTS_PREFIX}{hex_digest[:2]}/{hex_digest}"


def key_to_digest(key: str) -> Digest | None:
    """The digest a blob key names, or None for stray keys (which never poison listing or gc)."""
    if not key.startswith(OBJECTS_PREFIX):
        return None
    rest = key[len(OBJECTS_PREFIX) :]
    shard, _, name = rest.partition("/")
    if len(shard) != 2 or not _HEX.match(name) or name[:2] != shard:
        return None
    return Digest(name)


def hash_bytes(data: bytes) -> Digest:
    return Digest(hashlib.sha256(data).hexdigest())


def hash_stream(handle: BinaryIO) -> tuple[Digest, int]:
    """Hash a stream in bounded memory; returns the digest and the byte count."""
    h = hashlib.sha256()
    size = 0
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    readinto = getattr(handle, "readinto", None)
    while True:
        if readinto is not None:
            n = readinto(view)
            if not n:
                break
            h.update(view[:n])
        else:
            chunk = handle.read(CHUNK)
            if not chunk:
                break
            n = len(chunk)
            h.update(chunk)
        size += n
    return Digest(h.hexdigest()), size


def hash_file(path: str) -> tuple[Digest, int]:
    with open(path, "rb", buffering=0) as handle:
        return hash_stream(handle)
