"""Signed run records: a storage wrapper the runs client writes and reads through.

Run records (run metadata, params, metrics, tags, artifact pointers, logged-model records,
experiments) are JSON objects created once. With a signing key, each is written with
``signed_by`` and ``signature`` fields bound to its key; with trusted keys, each one read must
carry a valid signature by one of them, or :class:`~modelshelf.errors.SignatureError` names it.
Empty marker objects carry no data and are not signed.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import BinaryIO

from modelshelf.errors import ConfigurationError, SignatureError
from modelshelf.signing._envelope import (
    SIGNATURE,
    SIGNED_BY,
    canonical,
    is_signed,
    open_signed,
    seal,
)
from modelshelf.signing._keys import SigningKey, TrustedKeys
from modelshelf.storage import ObjectInfo, Storage

__all__ = ["RECORD_PREFIXES", "SignedRecords", "is_record", "record_problems"]

RECORD_PREFIXES = ("runs/", "experiments/", "logged_models/")


def is_record(key: str) -> bool:
    return key.startswith(RECORD_PREFIXES)


def is_marker(key: str) -> bool:
    """The empty objects the runs layout writes (``experiments/<id>/runs/<run>``,
    ``runs/<run>/dirs/<path>``): their key is their content, so they are not signed."""
    parts = key.split("/")
    return len(parts) == 4 and (
        (parts[0] == "experiments" and parts[2] == "runs")
        or (parts[0] == "runs" and parts[2] == "dirs")
    )


def _emptied(key: str) -> str:
    return (
        f"{key!r} is empty, but only marker objects are empty; the signed record there was "
        "replaced by someone without a signing key. Restore it from a copy"
    )


class SignedRecords(Storage):
    """``inner`` with run records signed on write (``signer``) and checked on read (``trusted``)."""

    def __init__(self, inner: Storage, signer: SigningKey | None, trusted: TrustedKeys) -> None:
        self.inner = inner
        self.url = inner.url
        self.capabilities = inner.capabilities
        self.signer = signer
        self.trusted = trusted

    # ------------------------------------------------------------------- the two changes
    def _seal(self, key: str, data: bytes) -> bytes:
        if not data or not is_record(key):
            return data
        if self.signer is None and not self.trusted:
            return data
        if self.signer is None or (self.trusted and self.signer.key_id not in self.trusted):
            raise ConfigurationError(
                f"cannot write the run record {key!r}: this client trusts only signed records "
                "but has no trusted signing key, so it would write what it refuses to read; "
                "set MODELSHELF_SIGNING_KEY to a key whose public half is trusted"
            )
        try:
            doc = json.loads(data)
        except ValueError:
            return data
        return seal(doc, key, self.signer) if isinstance(doc, dict) else data

    def _open(self, key: str, data: bytes) -> bytes:
        if not is_record(key):
            return data
        if not data:
            if self.trusted and not is_marker(key):
                raise SignatureError(_emptied(key))
            return data
        if self.trusted:
            doc, _ = open_signed(data, key, self.trusted)
            doc.pop(SIGNED_BY, None)
            return canonical(doc)
        if is_signed(data):  # a writer without trusted keys: hide the fields, check nothing
            doc = json.loads(data)
            doc.pop(SIGNATURE, None)
            doc.pop(SIGNED_BY, None)
            return canonical(doc)
        return data

    # --------------------------------------------------------------------- the delegation
    def read(self, key: str) -> bytes:
        return self._open(key, self.inner.read(key))

    def open_read(self, key: str) -> BinaryIO:
        if not is_record(key):
            return self.inner.open_read(key)
        return io.BytesIO(self.read(key))

    def read_many(self, keys: Iterable[str]) -> dict[str, bytes | None]:
        got = self.inner.read_many(keys)
        return {k: (None if v is None else self._open(k, v)) for k, v in got.items()}

    def write(self, key: str, data: bytes, *, overwrite: bool = False) -> None:
        self.inner.write(key, self._seal(key, data), overwrite=overwrite)

    def write_many(self, items: dict[str, bytes]) -> set[str]:
        return self.inner.write_many({k: self._seal(k, v) for k, v in items.items()})

    def exists(self, key: str) -> bool:
        return self.inner.exists(key)

    def exists_many(self, keys: Iterable[str]) -> set[str]:
        return self.inner.exists_many(keys)

    def stat(self, key: str) -> ObjectInfo:
        return self.inner.stat(key)

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        return self.inner.list(prefix)

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def upload(self, pairs: Sequence[tuple[str, str]]) -> None:
        self.inner.upload(pairs)

    def download(self, pairs: Sequence[tuple[str, str]]) -> None:
        self.inner.download(pairs)

    def local_path(self, key: str) -> str | None:
        return None if is_record(key) else self.inner.local_path(key)

    def probe(self) -> bool:
        return self.inner.probe()


def record_problems(storage: Storage, trusted: TrustedKeys) -> Iterator[tuple[str, str]]:
    """``(key, problem)`` for every run record that is not signed by a trusted key."""
    keys = [
        info.key
        for prefix in RECORD_PREFIXES
        for info in storage.list(prefix)
        if is_record(info.key)
    ]
    for key, data in storage.read_many(keys).items():
        if not data:
            if not is_marker(key):
                yield key, _emptied(key)
            continue
        try:
            open_signed(data, key, trusted)
        except SignatureError as exc:
            yield key, str(exc)
