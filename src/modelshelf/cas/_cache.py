"""The local verified read cache: blobs by digest under ``~/.cache/modelshelf`` (or
``MODELSHELF_CACHE_DIR``).

Layout (documented in docs/explanation/concepts.md)::

    <cache>/blobs/sha256/<2 hex>/<64 hex>   verified blob, read-only
    <cache>/tmp/                            downloads in flight (same filesystem, for rename)
    <cache>/state.sqlite                    hash memo of files (see _state.py)
    <cache>/named/<shelf-hash>/...          immutable named files (registry checkpoints)

A blob enters the cache only after its bytes hashed to its digest. A cached blob is trusted again
only while its (device, inode, size, mtime) match the memo (its ctime changes whenever it is
hard-linked into a folder, so it is not compared); otherwise it is re-hashed, and dropped if it
no longer matches.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from modelshelf import _settings
from modelshelf.cas._digest import Digest, hash_file
from modelshelf.cas._state import HashState
from modelshelf.errors import IntegrityError

__all__ = ["LocalCache"]


class LocalCache:
    """Verified blobs on local disk, keyed by digest."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else _settings.cache_dir()
        self.blobs = self.root / "blobs" / "sha256"
        self.tmp = self.root / "tmp"
        self.state = HashState(self.root / "state.sqlite")

    def path(self, digest: Digest) -> Path:
        return self.blobs / digest.hex[:2] / digest.hex

    def temp_path(self, hint: str = "") -> Path:
        self.tmp.mkdir(parents=True, exist_ok=True)
        return self.tmp / f"{hint[:16]}{os.getpid()}-{uuid.uuid4().hex}"

    def lookup(self, digest: Digest) -> Path | None:
        """The cached file for ``digest`` if present and intact, else None (corrupt ones removed)."""
        path = self.path(digest)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return None
        if self.state.get(st, check_ctime=False) == digest:
            return path
        actual, _ = hash_file(str(path))
        if actual == digest:
            self.state.put(st, digest)
            return path
        self._discard(path)
        return None

    def lookup_many(self, digests: list[Digest]) -> dict[Digest, Path]:
        """Batched :meth:`lookup` (one memo query per call, re-hash only on a miss)."""
        found: dict[Digest, Path] = {}
        present: list[tuple[Digest, Path, os.stat_result]] = []
        for digest in digests:
            path = self.path(digest)
            try:
                present.append((digest, path, os.stat(path)))
            except FileNotFoundError:
                continue
        memo = self.state.get_many((st for _, _, st in present), check_ctime=False)
        for (digest, path, _st), known in zip(present, memo):
            if known == digest:
                found[digest] = path
            else:
                again = self.lookup(digest)
                if again is not None:
                    found[digest] = again
        return found

    def add_file(self, tmp: Path, digest: Digest, *, key: str, verified: bool = False) -> Path:
        """Move a downloaded file into the cache after checking it hashes to ``digest``.

        Raises:
            IntegrityError: the bytes do not match; the file is deleted, nothing is cached.
        """
        if not verified:
            actual, _ = hash_file(str(tmp))
            if actual != digest:
                self._discard(tmp)
                raise IntegrityError(
                    f"blob {key!r} is corrupt: expected {digest}, its bytes hash to {actual}. "
                    "Nothing was written to the destination; run `verify --deep` on the shelf "
                    "and restore the blob from another copy."
                )
        final = self.path(digest)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(tmp, 0o444)
        # Content-addressed: a concurrent writer of the same digest wrote the same bytes.
        os.replace(tmp, final)
        self.state.put(os.stat(final), digest)
        return final

    def add_bytes(self, data: bytes, digest: Digest, *, key: str) -> Path:
        tmp = self.temp_path("b-")
        with open(tmp, "wb") as handle:
            handle.write(data)
        return self.add_file(tmp, digest, key=key, verified=True)

    @staticmethod
    def _discard(path: Path) -> None:
        try:
            os.chmod(path, 0o644)
            os.unlink(path)
        except FileNotFoundError:
            pass
