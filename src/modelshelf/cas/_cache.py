"""The local verified read cache: blobs by digest under ``~/.cache/modelshelf`` (or
``MODELSHELF_CACHE_DIR``).

Layout (documented in docs/explanation/concepts.md)::

    <cache>/blobs/sha256/<2 hex>/<64 hex>   verified blob, read-only (0400)
    <cache>/tmp/                            downloads in flight (same filesystem, for rename)
    <cache>/state.sqlite                    hash memo of files (see _state.py)
    <cache>/key                             this cache's secret, authenticates memos (0400)

A blob enters the cache only after its bytes hashed to its digest. A cached blob is trusted
again only while its (device, inode, size, mtime, ctime) match the memo recorded when it was
hashed; otherwise it is re-hashed, and dropped if it no longer matches. The change time is what
makes this a proof: an in-place edit, a chmod, or a utime that puts the mtime back all set it to
the current time, and users cannot set it back.

The cache is private to its user whatever the umask: folders 0700, files 0600 or 0400.
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from modelshelf import _settings
from modelshelf.cas._digest import Digest, hash_file
from modelshelf.cas._state import HashState
from modelshelf.errors import ConfigurationError, IntegrityError

__all__ = ["BlobCheck", "LocalCache", "make_private_dirs", "write_private"]

_KEY_BYTES = 32


@dataclass(slots=True)
class BlobCheck:
    """What :meth:`LocalCache.verify_blobs` found: blobs re-hashed, and the bad ones dropped."""

    checked: int = 0
    bytes_checked: int = 0
    bad: list[tuple[Digest, str]] = field(default_factory=list)


class LocalCache:
    """Verified blobs on local disk, keyed by digest."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else _settings.cache_dir()
        self.blobs = self.root / "blobs" / "sha256"
        self.tmp = self.root / "tmp"
        self.state = HashState(self.root / "state.sqlite", prepare=self.prepare)
        self._prepared = False

    # ------------------------------------------------------------------------- privacy
    def prepare(self) -> None:
        """Create the cache folder private to this user (0700), or make it so.

        Raises:
            ConfigurationError: the folder belongs to another user (its bytes cannot be
                trusted, nor kept private).
        """
        if self._prepared:
            return
        make_private_dirs(self.root)
        st = os.lstat(self.root)
        if not stat.S_ISDIR(st.st_mode):
            raise ConfigurationError(
                f"the modelshelf cache {str(self.root)!r} is not a folder; set "
                "MODELSHELF_CACHE_DIR to a folder of yours"
            )
        if st.st_uid != os.geteuid():
            raise ConfigurationError(
                f"the modelshelf cache {str(self.root)!r} belongs to user id {st.st_uid}, not "
                "to you; a cache is private to one user: set MODELSHELF_CACHE_DIR to a folder "
                "of yours"
            )
        if stat.S_IMODE(st.st_mode) != 0o700:
            os.chmod(self.root, 0o700)
        self._prepared = True

    def secret(self) -> bytes:
        """This cache's secret key (created on first use, readable only by its user)."""
        self.prepare()
        path = self.root / "key"
        for _ in range(2):
            try:
                data = path.read_bytes()
                if len(data) == _KEY_BYTES:
                    return data
                os.unlink(path)  # truncated or foreign: memos made with it are dropped
            except FileNotFoundError:
                pass
            try:
                write_private(path, secrets.token_bytes(_KEY_BYTES), mode=0o400, replace=False)
            except FileExistsError:
                pass  # a concurrent process made it first: read theirs
        return path.read_bytes()

    # ------------------------------------------------------------------------- blobs
    def path(self, digest: Digest) -> Path:
        return self.blobs / digest.hex[:2] / digest.hex

    def temp_path(self, hint: str = "") -> Path:
        self.prepare()
        make_private_dirs(self.tmp)
        path = self.tmp / f"{hint[:16]}{os.getpid()}-{uuid.uuid4().hex}"
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        return path

    def lookup(self, digest: Digest) -> Path | None:
        """The cached file for ``digest`` if present and intact, else None (corrupt ones removed)."""
        self.prepare()
        path = self.path(digest)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return None
        if stat.S_ISREG(st.st_mode) and self.state.get(st) == digest:
            return path
        return path if self.recheck(path, digest) else None

    def recheck(self, path: Path, digest: Digest, *, mode: int = 0o400) -> bool:
        """Re-hash a cache file whose stat no longer matches the memo; record it if intact.

        A file that is not a plain file, or whose bytes differ, is removed. The stat is taken
        before and after hashing: the memo records it only if nothing changed in between.
        """
        try:
            st = os.lstat(path)
            if not stat.S_ISREG(st.st_mode):
                self._discard(path)
                return False
            if stat.S_IMODE(st.st_mode) != mode:
                os.chmod(path, mode)
                st = os.lstat(path)
            actual, _ = hash_file(str(path))
            after = os.lstat(path)
        except FileNotFoundError:
            return False
        if actual != digest:
            self._discard(path)
            return False
        if _same_file(st, after):
            self.state.put(st, digest)
        return True

    def lookup_many(self, digests: list[Digest]) -> dict[Digest, Path]:
        """Batched :meth:`lookup` (one memo query per call, re-hash only on a miss)."""
        self.prepare()
        found: dict[Digest, Path] = {}
        present: list[tuple[Digest, Path, os.stat_result]] = []
        for digest in digests:
            path = self.path(digest)
            try:
                present.append((digest, path, os.lstat(path)))
            except FileNotFoundError:
                continue
        memo = self.state.get_many(st for _, _, st in present)
        for (digest, path, st), known in zip(present, memo):
            if known == digest and stat.S_ISREG(st.st_mode):
                found[digest] = path
            elif self.recheck(path, digest):
                found[digest] = path
        return found

    def add_file(self, tmp: Path, digest: Digest, *, key: str, verified: bool = False) -> Path:
        """Move a downloaded file into the cache after checking it hashes to ``digest``.

        Raises:
            IntegrityError: the bytes do not match; the file is deleted, nothing is cached.
        """
        self.prepare()
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
        make_private_dirs(final.parent)
        os.chmod(tmp, 0o400)
        # Content-addressed: a concurrent writer of the same digest wrote the same bytes.
        os.replace(tmp, final)
        self.state.put(os.lstat(final), digest)
        return final

    def add_bytes(self, data: bytes, digest: Digest, *, key: str) -> Path:
        tmp = self.temp_path("b-")
        with open(tmp, "wb") as handle:
            handle.write(data)
        return self.add_file(tmp, digest, key=key, verified=True)

    def cached_digests(self) -> list[Digest]:
        """Every blob in the cache, by its file name (stray names are skipped)."""
        out: list[Digest] = []
        try:
            shards = sorted(os.scandir(self.blobs), key=lambda e: e.name)
        except FileNotFoundError:
            return out
        for shard in shards:
            if len(shard.name) != 2 or not shard.is_dir(follow_symlinks=False):
                continue
            for entry in sorted(os.scandir(shard.path), key=lambda e: e.name):
                try:
                    digest = Digest.parse(f"sha256:{entry.name}")
                except ValueError:
                    continue
                if digest.hex[:2] == shard.name:
                    out.append(digest)
        return out

    def verify_blobs(self) -> BlobCheck:
        """Re-hash every cached blob (whatever the memo says); drop those that do not match."""
        self.prepare()
        report = BlobCheck()
        for digest in self.cached_digests():
            path = self.path(digest)
            try:
                st = os.lstat(path)
                report.checked += 1
                if not stat.S_ISREG(st.st_mode):
                    report.bad.append((digest, "not a plain file"))
                    self._discard(path)
                    continue
                if stat.S_IMODE(st.st_mode) != 0o400:
                    report.bad.append((digest, f"mode {stat.S_IMODE(st.st_mode):o}, not 400"))
                    os.chmod(path, 0o400)
                    st = os.lstat(path)
                actual, _ = hash_file(str(path))
                after = os.lstat(path)
            except FileNotFoundError:
                continue
            report.bytes_checked += st.st_size
            if actual != digest:
                report.bad.append((digest, f"content changed: hashes to {actual}"))
                self._discard(path)
            elif _same_file(st, after):
                self.state.put(st, digest)
        return report

    @staticmethod
    def _discard(path: Path) -> None:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except IsADirectoryError:  # a folder put where a blob belongs
            shutil.rmtree(path, ignore_errors=True)


def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino, a.st_size, a.st_mtime_ns, a.st_ctime_ns) == (
        b.st_dev,
        b.st_ino,
        b.st_size,
        b.st_mtime_ns,
        b.st_ctime_ns,
    )


def make_private_dirs(path: Path) -> None:
    """``mkdir -p`` where every folder created is 0700, whatever the umask."""
    missing: list[Path] = []
    p = path
    while not p.exists():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            continue
        if stat.S_IMODE(os.lstat(folder).st_mode) != 0o700:
            os.chmod(folder, 0o700)  # a umask that strips owner bits


def write_private(path: Path, data: bytes, *, mode: int = 0o600, replace: bool = True) -> None:
    """Write ``data`` at ``path`` atomically, readable only by this user (``mode``).

    ``replace=False`` creates only if absent (raises FileExistsError otherwise).
    """
    make_private_dirs(path.parent)
    tmp = path.with_name(f".tmp-{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode)
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
