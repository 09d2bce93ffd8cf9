"""BlobStore: content-addressed blobs and tree manifests over a Storage, read through the cache."""

from __future__ import annotations

import os
import shutil
import sys
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TypeVar

from modelshelf import _settings
from modelshelf.cas._cache import LocalCache
from modelshelf.cas._digest import Digest, hash_bytes, hash_file, hash_stream
from modelshelf.cas._progress import Progress
from modelshelf.cas._quarantine import locate_quarantined, restore_from_quarantine
from modelshelf.cas._tree import LocalFile, Tree, TreeEntry, scan_dir
from modelshelf.errors import (
    AlreadyExistsError,
    IntegrityError,
    ObjectNotFoundError,
    StorageError,
)
from modelshelf.storage import Storage

__all__ = ["BlobStore", "PutStats", "VerifyProblem", "VerifyReport"]

_T = TypeVar("_T")
_R = TypeVar("_R")
_SMALL = 1 << 20  # below this a file is read whole: hashing and copying in one buffer
# Up to this size a blob goes to an object store as one conditional create, without a HEAD
# first: resending a few MiB that turn out to exist costs less than a round trip per blob.
_DIRECT = 8 << 20
_BATCH_BYTES = 128 << 20  # bounds memory of batched small writes; progress granularity
_CHECKED_MAX = 1 << 16  # digests remembered with the time their presence was last seen
_PROBE = 64 << 20  # a blob of unknown kind larger than this is taken to be a file, not a tree
# The writer's clock for the gc window must keep counting while the machine sleeps: gc on
# another machine does not stop. time.monotonic() stands still during a suspend on Linux
# (CLOCK_MONOTONIC) and macOS (mach_absolute_time); these clocks do not, nor are they stepped.
_AWAKE_OR_ASLEEP: int | None = getattr(time, "CLOCK_BOOTTIME", None)
if _AWAKE_OR_ASLEEP is None and sys.platform == "darwin":
    _AWAKE_OR_ASLEEP = time.CLOCK_MONOTONIC


def _elapsed() -> float:
    """Seconds on a clock that counts suspended time and is never stepped."""
    if _AWAKE_OR_ASLEEP is not None:
        return time.clock_gettime(_AWAKE_OR_ASLEEP)
    return time.monotonic()  # Windows: counts sleep already


@dataclass(slots=True)
class PutStats:
    """What the last put moved: files seen, blobs uploaded and their bytes."""

    files: int = 0
    bytes_total: int = 0
    blobs_uploaded: int = 0
    bytes_uploaded: int = 0
    hashed_files: int = 0


@dataclass(frozen=True, slots=True)
class VerifyProblem:
    """One thing ``verify`` found wrong: the key, the digest it should hold, and what is wrong."""

    key: str
    digest: str
    problem: str

    def __str__(self) -> str:
        return f"{self.key}: {self.problem} (expected {self.digest})"


@dataclass(slots=True)
class VerifyReport:
    """Result of :meth:`BlobStore.verify`; truthy when nothing is wrong."""

    checked: int = 0
    bytes_checked: int = 0
    problems: list[VerifyProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def __bool__(self) -> bool:
        return self.ok


class BlobStore:
    """Content-addressed, write-once blobs under ``objects/sha256/`` of a storage.

    Args:
        storage: where blobs live.
        cache: the local verified read cache (default: ``MODELSHELF_CACHE_DIR`` or
            ``~/.cache/modelshelf``).
        concurrency: how many files are hashed/transferred at once.
    """

    def __init__(
        self,
        storage: Storage,
        *,
        cache: LocalCache | None = None,
        concurrency: int | None = None,
    ) -> None:
        self.storage = storage
        self.cache = cache if cache is not None else LocalCache()
        self.concurrency = concurrency or _settings.concurrency()
        self.last_put = PutStats()
        self._dirs: set[str] = set()  # folders known to exist under a local shelf
        # Evidence for the gc protocol: digest -> the time on _elapsed() (taken before the
        # check) at which this process last saw it, and for a tree every blob it lists, on the
        # shelf. Only durations matter to the writer: a stepped wall clock must not shrink them,
        # and a suspended machine must not either (see _elapsed).
        self._checked: OrderedDict[Digest, float] = OrderedDict()
        self._sources: OrderedDict[Digest, str] = OrderedDict()  # tree -> folder it came from

    def _note(self, digests: Iterable[Digest], when: float) -> None:
        for digest in digests:
            self._checked[digest] = when
            self._checked.move_to_end(digest)
        while len(self._checked) > _CHECKED_MAX:
            self._checked.popitem(last=False)

    def checked_at(self, digest: Digest) -> float | None:
        """When this process last saw ``digest`` (and, for a tree, all its blobs) on the shelf."""
        return self._checked.get(digest)

    # ------------------------------------------------------------------------------ writes
    def put_bytes(self, data: bytes) -> Digest:
        """Store ``data`` as a blob (a no-op if it exists) and return its digest."""
        when = _elapsed()
        digest = hash_bytes(data)
        if not self.storage.exists(digest.key):
            try:
                self.storage.write(digest.key, data)
            except AlreadyExistsError:
                pass  # a concurrent writer stored the same bytes
        if not Tree.looks_like_manifest(data):  # a tree is vouched for only with its blobs
            self._note([digest], when)
        return digest

    def put_file(self, path: str | os.PathLike[str]) -> Digest:
        """Store one local file as a blob and return its digest."""
        path = os.fspath(path)
        st = os.stat(path)
        local = LocalFile(os.path.basename(path), path, st.st_size, bool(st.st_mode & 0o111), st)
        return self._put_files([local])[0].digest

    def put_tree(
        self, local_dir: str | os.PathLike[str], *, repair: bool = False, prefix: str = ""
    ) -> Digest:
        """Store a folder: every file as a blob, plus a manifest blob; returns the tree digest.

        Unchanged files are recognised by a local hash memo and not re-read; blobs that are
        already on the shelf are not uploaded. When every file is known to the memo and the
        tree's manifest is already on the shelf, one batched existence check of its blobs is
        all that is sent: a stored manifest does not prove its blobs are still there (gc may
        have quarantined them), so missing ones are uploaded again. ``repair=True`` re-hashes
        nothing differently but skips every shortcut. ``prefix`` is the path the tree will be
        logged under, checked with each file's path against the length limits.

        Raises:
            UnloggableFileError: a symlink dangles, loops or leaves the folder, or an entry is
                a special file (FIFO, socket, device).
            InvalidPathError: a name is unsafe, or a path is too long.
            NotFoundError: ``local_dir`` is not a folder.
        """
        when = _elapsed()
        files = scan_dir(local_dir, prefix=prefix)
        known = self.cache.state.get_many(f.st for f in files)
        if files and not repair and all(d is not None for d in known):
            tree = Tree.from_entries(
                TreeEntry(f.path, d, f.size, f.executable)  # type: ignore[arg-type]
                for f, d in zip(files, known)
            )
            wanted = {e.digest for e in tree}
            present = self.exists_many([tree.digest, *wanted])
            if tree.digest in present and wanted <= present:
                self.last_put = PutStats(files=len(files), bytes_total=tree.size)
                self._note([*wanted, tree.digest], when)
                self._remember_source(tree.digest, local_dir)
                return tree.digest
        entries = self._put_files(files, known, trust_manifest=not repair)
        tree = Tree.from_entries(entries)
        digest = self.put_bytes(tree.to_bytes())
        self._note([e.digest for e in tree], when)
        self._note([digest], when)
        self._remember_source(digest, local_dir)
        return digest

    def _remember_source(self, digest: Digest, local_dir: str | os.PathLike[str]) -> None:
        self._sources[digest] = os.path.abspath(os.fspath(local_dir))
        self._sources.move_to_end(digest)
        while len(self._sources) > 256:
            self._sources.popitem(last=False)

    def put_manifest(self, tree: Tree) -> Digest:
        """Store a tree manifest whose blobs are already stored; returns the tree digest."""
        seen = [self._checked.get(e.digest) for e in tree]
        digest = self.put_bytes(tree.to_bytes())
        if all(t is not None for t in seen):
            self._note([digest], min([t for t in seen if t is not None], default=_elapsed()))
        return digest

    def check_before_commit(
        self, digest: Digest | str, *, tree: bool | None = True, window: float | None = None
    ) -> None:
        """Make sure ``digest`` (a tree: and every blob it lists) is on the shelf right before
        a commit names it (the writer's half of the gc protocol).

        Free when this process saw it all less than ``window / 2`` ago; otherwise one
        existence check of the manifest and one batched check of its blobs. A blob found in a
        gc quarantine is restored; one missing altogether is uploaded again from the folder
        this process stored the tree from, when it knows that folder.

        Args:
            tree: True for a tree, False for a single blob, None to find out.
            window: the gc writer window in seconds (default ``MODELSHELF_GC_WINDOW``).

        Raises:
            ObjectNotFoundError: something is missing and cannot be put back; log it again.
        """
        digest = Digest.parse(digest)
        window = _settings.gc_window() if window is None else window
        seen = self._checked.get(digest)
        if seen is not None and _elapsed() - seen <= window / 2:
            return
        when = _elapsed()
        if not self.storage.exists(digest.key) and not restore_from_quarantine(
            self.storage, {digest}
        ):
            raise ObjectNotFoundError(
                f"{digest} is not on the shelf {self.storage.url}: garbage collection removed "
                "it after it was stored; log or store it again"
            )
        if tree is None:
            size = self.storage.stat(digest.key).size
            tree = size <= _PROBE and Tree.looks_like_manifest(self.get(digest))
        wanted: set[Digest] = set()
        if tree:
            wanted = {e.digest for e in self.read_tree(digest)}
            missing = wanted - self.exists_many(wanted)
            missing -= restore_from_quarantine(self.storage, missing)
            source = self._sources.get(digest)
            if missing and source is not None and os.path.isdir(source):
                self.put_tree(source, repair=True)
                missing -= self.exists_many(missing)
            if missing:
                raise ObjectNotFoundError(
                    f"{len(missing)} blob(s) of tree {digest} are not on the shelf "
                    f"{self.storage.url}, e.g. {sorted(missing)[0]}; log the folder again"
                )
        self._note([*wanted, digest], when)

    def _put_files(
        self,
        files: Sequence[LocalFile],
        known: Sequence[Digest | None] | None = None,
        *,
        trust_manifest: bool = False,
    ) -> list[TreeEntry]:
        if known is None:
            known = self.cache.state.get_many(f.st for f in files)
        when = _elapsed()
        stats = PutStats(files=len(files), bytes_total=sum(f.size for f in files))
        digests: list[Digest | None] = list(known)
        todo = [i for i, d in enumerate(digests) if d is None]
        stats.hashed_files = len(todo)
        local = self.storage.capabilities.local_paths
        with Progress(total=stats.bytes_total, desc="upload", unit="B") as bar:
            if local:
                # Local shelf: hash and copy in one pass, straight into the object folder.
                def ingest(i: int) -> tuple[Digest, bool]:
                    return self._ingest_local(files[i])

                for i, (digest, wrote) in zip(todo, self._map(ingest, todo)):
                    digests[i] = digest
                    if wrote:
                        stats.blobs_uploaded += 1
                        stats.bytes_uploaded += files[i].size
                    bar.update(files[i].size)
            else:

                def hash_one(i: int) -> Digest:
                    return hash_file(files[i].os_path)[0]

                for i, digest in zip(todo, self._map(hash_one, todo)):
                    digests[i] = digest
            done = set(todo) if local else set()
            pending: dict[Digest, LocalFile] = {}
            for i, (f, d) in enumerate(zip(files, digests)):
                if i not in done and d is not None and d not in pending:
                    pending[d] = f
            if (
                trust_manifest
                and pending
                and not local
                and todo
                and self._manifest_exists(files, digests)
            ):
                # The same tree was stored from another machine; its manifest does not prove
                # its blobs are still there (gc), so one batched check decides what to send.
                present = self.exists_many(pending)
                pending = {d: f for d, f in pending.items() if d not in present}
            if pending:
                uploaded = self._upload(pending, bar)
                stats.blobs_uploaded += len(uploaded)
                stats.bytes_uploaded += sum(pending[d].size for d in uploaded)
        self.cache.state.put_many((files[i].st, digests[i]) for i in todo)  # type: ignore[misc]
        self._note([d for d in digests if d is not None], when)
        self.last_put = stats
        return [
            TreeEntry(f.path, d, f.size, f.executable)  # type: ignore[arg-type]
            for f, d in zip(files, digests)
        ]

    def _manifest_exists(
        self, files: Sequence[LocalFile], digests: Sequence[Digest | None]
    ) -> bool:
        tree = Tree.from_entries(
            TreeEntry(f.path, d, f.size, f.executable)  # type: ignore[arg-type]
            for f, d in zip(files, digests)
        )
        return self.storage.exists(tree.digest.key)

    def _upload(self, pending: dict[Digest, LocalFile], bar: Progress) -> list[Digest]:
        """Upload the blobs the shelf lacks; returns the digests actually written.

        Small blobs go as conditional creates straight away (one request each, no existence
        check first); big ones are checked in one batched round and uploaded if missing.
        """
        local = self.storage.capabilities.local_paths
        limit = _SMALL if local else _DIRECT
        small = [(d, f) for d, f in pending.items() if f.size <= limit]
        big = {d: f for d, f in pending.items() if f.size > limit}
        uploaded: list[Digest] = []
        if local:
            for d, f in small:
                if not self._local_blob_ok(d, f.size):
                    self._copy_local(f, d)
                    uploaded.append(d)
        else:
            for batch in _batches(small, lambda item: item[1].size):
                created = self.storage.write_many({d.key: _read_whole(f, d) for d, f in batch})
                uploaded += [d for d, _ in batch if d.key in created]
                bar.update(sum(f.size for _, f in batch))
        if big:
            present = self.exists_many(big)
            missing = [(d, f) for d, f in big.items() if d not in present]
            for batch in _batches(missing, lambda item: item[1].size):
                if local:
                    for d, f in batch:
                        self._copy_local(f, d)
                else:
                    self.storage.upload([(f.os_path, d.key) for d, f in batch])
                for d, f in batch:
                    try:
                        _check_unchanged(f)
                    except StorageError:
                        if not local:  # it may have sent other bytes than it hashed: take
                            self._delete_quietly(d)  # back the blob it created (it was absent)
                        raise
                uploaded += [d for d, _ in batch]
                bar.update(sum(f.size for _, f in batch))
        return uploaded

    def _delete_quietly(self, digest: Digest) -> None:
        try:
            self.storage.delete(digest.key)
        except (StorageError, OSError):
            pass  # no delete permission: `verify --deep` names the blob

    def _ingest_local(self, f: LocalFile) -> tuple[Digest, bool]:
        """Hash ``f`` while copying it into a temp file beside the blobs, then rename it into
        place. Returns the digest and whether a new blob was written."""
        if f.size <= _SMALL:
            data = _read_whole(f)
            digest = hash_bytes(data)
            if self._local_blob_ok(digest, f.size):
                return digest, False
            tmp = self._local_temp(digest)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            return digest, self._publish_local(tmp, digest, f.size)
        tmp = self._local_temp()
        try:
            # Two threads: the kernel copies (copy_file_range/sendfile) while we hash.
            with ThreadPoolExecutor(max_workers=1) as pool:
                copying = pool.submit(shutil.copyfile, f.os_path, tmp)
                digest, _ = hash_file(f.os_path)
                copying.result()
            _check_unchanged(f)
            return digest, self._publish_local(tmp, digest, f.size)
        finally:
            _unlink(Path(tmp))

    def _copy_local(self, f: LocalFile, digest: Digest) -> None:
        tmp = self._local_temp()
        try:
            shutil.copyfile(f.os_path, tmp)
            self._publish_local(tmp, digest, f.size)
        finally:
            _unlink(Path(tmp))

    def _local_temp(self, digest: Digest | None = None) -> str:
        # Beside the final blob when its digest is known: a rename within one folder is cheaper
        # than across folders. Temp names start with ".tmp-", which listings and gc skip.
        name = f".tmp-{os.getpid()}-{uuid.uuid4().hex}"
        key = f"{digest.key.rsplit('/', 1)[0]}/{name}" if digest else f"objects/tmp/{name}"
        path = self.storage.local_path(key)
        assert path is not None
        self._ensure_dir(os.path.dirname(path))
        return path

    def _ensure_dir(self, path: str) -> None:
        if path not in self._dirs:
            os.makedirs(path, exist_ok=True)
            self._dirs.add(path)

    def _local_blob_ok(self, digest: Digest, size: int) -> bool:
        path = self.storage.local_path(digest.key)
        assert path is not None
        try:
            return os.stat(path).st_size == size
        except FileNotFoundError:
            return False

    def _publish_local(self, tmp: str, digest: Digest, size: int) -> bool:
        """Rename ``tmp`` to the blob's key unless a complete blob is already there.

        Renaming over an existing blob is harmless (same bytes) and also replaces one torn by
        a crash. Blobs are not fsynced one by one (like DVC's cache): a torn blob has the wrong
        size, so the next put replaces it, and `verify` reports it; registry commits, which
        name blobs, are fsynced.
        """
        if self._local_blob_ok(digest, size):
            _unlink(Path(tmp))
            return False
        final = self.storage.local_path(digest.key)
        assert final is not None
        self._ensure_dir(os.path.dirname(final))
        os.chmod(tmp, 0o444)
        os.replace(tmp, final)
        return True

    # ------------------------------------------------------------------------------- reads
    def exists(self, digest: Digest | str) -> bool:
        return self.storage.exists(Digest.parse(digest).key)

    def exists_many(self, digests: Iterable[Digest]) -> set[Digest]:
        """The subset of ``digests`` stored on the shelf (one batched round of checks)."""
        by_key = {d.key: d for d in digests}
        return {by_key[k] for k in self.storage.exists_many(by_key)}

    def get(self, digest: Digest | str) -> bytes:
        """The blob's bytes, verified (from the cache when there).

        Raises:
            ObjectNotFoundError: no such blob on the shelf (and none cached).
            IntegrityError: the stored bytes do not hash to ``digest``.
        """
        digest = Digest.parse(digest)
        cached = self.cache.lookup(digest)
        if cached is not None:
            return cached.read_bytes()
        data = self._read_remote(digest)
        actual = hash_bytes(data)
        if actual != digest:
            raise IntegrityError(
                f"blob {digest.key!r} in {self.storage.url} is corrupt: expected {digest}, "
                f"its bytes hash to {actual}; run `verify --deep` and restore it"
            )
        self.cache.add_bytes(data, digest, key=digest.key)
        return data

    def _read_remote(self, digest: Digest) -> bytes:
        try:
            return self.storage.read(digest.key)
        except ObjectNotFoundError:
            pass
        try:
            where = locate_quarantined(self.storage, {digest})
            if digest in where:
                return self.storage.read(where[digest])
            raise ObjectNotFoundError(digest.key)
        except ObjectNotFoundError as exc:
            raise ObjectNotFoundError(
                f"blob {digest} is not on the shelf {self.storage.url} (key {digest.key!r})"
            ) from exc

    def fetch(self, digest: Digest | str) -> Path:
        """Make sure the blob is in the local cache (verified) and return its cached path."""
        digest = Digest.parse(digest)
        return self._fetch_many([(digest, 0)])[digest]

    def open(self, digest: Digest | str) -> BinaryIO:
        """Open a verified copy of the blob for reading (fetched into the cache first)."""
        return open(self.fetch(digest), "rb")

    def read_tree(self, digest: Digest | str) -> Tree:
        """Load and parse the tree manifest ``digest``.

        Raises:
            ObjectNotFoundError: no such blob.
            IntegrityError: the manifest's bytes do not match.
            MalformedMetadataError: the blob is not a tree manifest.
        """
        return Tree.from_bytes(self.get(digest))

    def get_tree(
        self,
        digest: Digest | str,
        dest: str | os.PathLike[str],
        *,
        tree: Tree | None = None,
    ) -> Path:
        """Materialise tree ``digest`` into folder ``dest`` (which must not exist, or be empty).

        Blobs are fetched into the cache and verified first; then the folder is assembled
        beside ``dest`` and renamed into place, so no unverified byte ever reaches ``dest``.
        Files are hard links into the cache (read-only) where possible, else copies.

        Raises:
            AlreadyExistsError: ``dest`` exists and is not an empty folder.
            IntegrityError: a blob's bytes do not match its digest.
        """
        digest = Digest.parse(digest)
        tree = tree if tree is not None else self.read_tree(digest)
        dest = Path(dest).absolute()
        if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
            raise AlreadyExistsError(
                f"cannot download into {str(dest)!r}: it exists and is not empty; "
                "pick a new folder or remove it"
            )
        paths = self._fetch_many([(e.digest, e.size) for e in tree])
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging = dest.parent / f".tmp-{dest.name[:64]}-{uuid.uuid4().hex[:12]}"
        staging.mkdir()
        try:
            for entry in tree:
                target = staging.joinpath(*entry.path.split("/"))
                target.parent.mkdir(parents=True, exist_ok=True)
                _materialise(paths[entry.digest], target, entry.executable)
            if dest.exists():
                dest.rmdir()
            os.rename(staging, dest)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return dest

    def _fetch_many(self, wanted: Sequence[tuple[Digest, int]]) -> dict[Digest, Path]:
        """Ensure every digest is in the cache, verified; return digest -> cached path."""
        sizes: dict[Digest, int] = {}
        for digest, size in wanted:
            sizes[digest] = size
        found = self.cache.lookup_many(list(sizes))
        missing = [d for d in sizes if d not in found]
        if not missing:
            return found
        total = sum(sizes[d] for d in missing)
        with Progress(total=total, desc="download", unit="B") as bar, self.cache.state.deferred():
            if self.storage.capabilities.local_paths:
                for d, path in zip(missing, self._map(self._fetch_local, missing)):
                    found[d] = path
                    bar.update(sizes[d])
                return found
            for batch in _batches(missing, lambda d: sizes[d]):
                temps = {d: self.cache.temp_path("d-") for d in batch}
                try:
                    self._download_or_restore(batch, temps)
                except ObjectNotFoundError as exc:
                    present = self.exists_many(batch)
                    absent = [str(d) for d in batch if d not in present]
                    for tmp in temps.values():
                        _unlink(tmp)
                    raise ObjectNotFoundError(
                        f"{len(absent)} blob(s) missing from the shelf {self.storage.url}, "
                        f"e.g. {absent[:3]}; run `verify` on the shelf"
                    ) from exc

                def check(d: Digest, temps: dict[Digest, Path] = temps) -> Path:
                    return self.cache.add_file(temps[d], d, key=d.key)

                try:
                    for d, path in zip(batch, self._map(check, batch)):
                        found[d] = path
                finally:
                    for tmp in temps.values():
                        _unlink(tmp)
                bar.update(sum(sizes[d] for d in batch))
        return found

    def _download_or_restore(self, batch: list[Digest], temps: dict[Digest, Path]) -> None:
        """Download; a blob missing at its key is looked up in gc quarantines, restored, and
        downloaded again (the reader's half of the gc protocol)."""
        try:
            self.storage.download([(d.key, str(temps[d])) for d in batch])
            return
        except ObjectNotFoundError:
            absent = set(batch) - self.exists_many(batch)
            where = locate_quarantined(self.storage, absent)
            if not absent or not where:
                raise
        self.storage.download([(where.get(d, d.key), str(temps[d])) for d in batch])

    def _fetch_local(self, digest: Digest) -> Path:
        try:
            return self._fetch_local_once(digest)
        except ObjectNotFoundError:
            where = locate_quarantined(self.storage, {digest})
            if digest not in where:
                raise
        return self._fetch_local_once(digest, where[digest])

    def _fetch_local_once(self, digest: Digest, key: str | None = None) -> Path:
        """Copy a blob of a local shelf into the cache, hashing it in the same pass."""
        src = self.storage.local_path(key or digest.key)
        assert src is not None
        tmp = self.cache.temp_path("l-")
        try:
            try:
                size = os.stat(src).st_size
                if size <= _SMALL:
                    with open(src, "rb") as handle:
                        data = handle.read()
                    actual = hash_bytes(data)
                    tmp.write_bytes(data)
                else:
                    # The kernel copies while this thread hashes the same (immutable) blob.
                    with ThreadPoolExecutor(max_workers=1) as pool:
                        copying = pool.submit(shutil.copyfile, src, tmp)
                        actual, _ = hash_file(src)
                        copying.result()
            except FileNotFoundError as exc:
                raise ObjectNotFoundError(
                    f"blob {digest} is not on the shelf {self.storage.url} (key {digest.key!r})"
                ) from exc
            if actual != digest:
                raise IntegrityError(
                    f"blob {digest.key!r} in {self.storage.url} is corrupt: expected {digest}, "
                    f"its bytes hash to {actual}. Nothing was written to the destination; run "
                    "`verify --deep` on the shelf and restore the blob from another copy."
                )
            return self.cache.add_file(tmp, digest, key=digest.key, verified=True)
        finally:
            _unlink(tmp)

    # ------------------------------------------------------------------------------ verify
    def verify(self, digest: Digest | str, *, deep: bool = False) -> VerifyReport:
        """Check that a blob, or a tree and all its blobs, are present (deep: and re-hash them).

        Never raises for a problem in the data: every problem is listed in the report.
        """
        digest = Digest.parse(digest)
        report = VerifyReport()
        try:
            data = self.storage.read(digest.key)
        except ObjectNotFoundError:
            report.problems.append(VerifyProblem(digest.key, str(digest), "missing"))
            return report
        report.checked += 1
        report.bytes_checked += len(data)
        if hash_bytes(data) != digest:
            report.problems.append(VerifyProblem(digest.key, str(digest), "content mismatch"))
            return report
        if not Tree.looks_like_manifest(data):
            return report
        tree = Tree.from_bytes(data)
        self.verify_blobs([(e.digest, e.size) for e in tree], deep=deep, report=report)
        return report

    def verify_blobs(
        self,
        blobs: Iterable[tuple[Digest, int]],
        *,
        deep: bool = False,
        report: VerifyReport | None = None,
    ) -> VerifyReport:
        """Check many blobs: presence and size (batched), and with ``deep`` their hashes."""
        report = report if report is not None else VerifyReport()
        wanted = dict(blobs)
        present = self.exists_many(wanted)
        for d in sorted(set(wanted) - present):
            report.problems.append(VerifyProblem(d.key, str(d), "missing"))

        def check(d: Digest) -> VerifyProblem | None:
            info = self.storage.stat(d.key)
            if info.size != wanted[d] and wanted[d] >= 0:
                return VerifyProblem(d.key, str(d), f"size {info.size}, expected {wanted[d]}")
            if deep:
                with self.storage.open_read(d.key) as handle:
                    actual, _ = hash_stream(handle)
                if actual != d:
                    return VerifyProblem(d.key, str(d), f"content mismatch: hashes to {actual}")
            return None

        for d, problem in zip(sorted(present), self._map(check, sorted(present))):
            report.checked += 1
            report.bytes_checked += wanted[d] if deep else 0
            if problem is not None:
                report.problems.append(problem)
        return report

    # ---------------------------------------------------------------------------- helpers
    def _map(self, fn: Callable[[_T], _R], items: Sequence[_T]) -> list[_R]:
        if len(items) <= 1:
            return [fn(item) for item in items]
        workers = min(len(items), self.concurrency, (os.cpu_count() or 2) * 4)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(fn, items))


def _batches(items: Sequence[_T], size_of: object) -> list[list[_T]]:
    batches: list[list[_T]] = [[]]
    acc = 0
    for item in items:
        if batches[-1] and acc >= _BATCH_BYTES:
            batches.append([])
            acc = 0
        batches[-1].append(item)
        acc += size_of(item)  # type: ignore[operator]
    return [b for b in batches if b]


def _changed(f: LocalFile) -> StorageError:
    return StorageError(
        f"{f.os_path!r} changed while it was being stored; stop writing to it and log again"
    )


def _read_whole(f: LocalFile, digest: Digest | None = None) -> bytes:
    """The bytes of the file that was scanned: the same inode (a symlink or another file
    swapped in since is refused), the same size and, with ``digest``, the same hash."""
    with open(f.os_path, "rb") as handle:
        st = os.fstat(handle.fileno())
        data = handle.read()
    if (st.st_dev, st.st_ino) != (f.st.st_dev, f.st.st_ino) or len(data) != f.size:
        raise _changed(f)
    if digest is not None and hash_bytes(data) != digest:
        raise _changed(f)  # edited in place since it was hashed, size and mtime kept
    return data


def _check_unchanged(f: LocalFile) -> None:
    """After a big file was hashed and copied by path: still the file that was scanned?

    The change time is compared too: an edit can restore the size and mtime, not the ctime.
    """
    st = os.stat(f.os_path)
    now = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    if now != (f.st.st_dev, f.st.st_ino, f.st.st_size, f.st.st_mtime_ns, f.st.st_ctime_ns):
        raise _changed(f)


def _materialise(cached: Path, target: Path, executable: bool) -> None:
    if not executable:
        try:
            os.link(cached, target)
            return
        except OSError:
            pass
    shutil.copyfile(cached, target)
    os.chmod(target, 0o755 if executable else 0o644)


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
