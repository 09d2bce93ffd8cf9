"""Object-store storage over fsspec: S3 (s3fs), GCS (gcsfs), Azure (adlfs) and memory.

Create-if-absent is one conditional single-request write per backend (see docs/explanation/backend-facts.md):
S3 PutObject with ``If-None-Match: *``, GCS ``ifGenerationMatch=0``, Azure upload without
overwrite; all reached through ``pipe_file(mode="create")``. ``open(..., "xb")`` is never used
(s3fs truncates an existing key on an empty body; gcsfs uses resumable uploads).
"""

from __future__ import annotations

import asyncio
import errno
import os
import posixpath
import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, BinaryIO, TypeVar

from modelshelf import _settings
from modelshelf.errors import (
    AlreadyExistsError,
    BackendUnavailableError,
    ModelshelfError,
    ObjectNotFoundError,
    StorageError,
)
from modelshelf.storage._base import Capabilities, ObjectInfo, Storage, check_key
from modelshelf.storage._errors import (
    WriteOutcome,
    classify_create_error,
    http_status,
    is_transient,
    leaks,
    translate,
)
from modelshelf.storage._redact import redact_url, secrets_of

__all__ = ["FsspecStorage"]

_T = TypeVar("_T")

_MEMORY_LOCK = threading.Lock()
_BIG = 32 << 20
_CREATE_ATTEMPTS = 6
_UNSURE_ATTEMPTS = 3  # create attempts whose failure left the key absent
_UNSURE_TRANSIENT = 2  # ... when that failure was transient (the SDK retried inside each)
_IDEMPOTENT_ATTEMPTS = 3  # tries of an idempotent request that keeps failing transiently


class FsspecStorage(Storage):
    """Storage on any fsspec filesystem; ``root`` is the path under the filesystem."""

    def __init__(
        self,
        fs: Any,
        root: str,
        *,
        url: str,
        capabilities: Capabilities,
        secrets: frozenset[str] = frozenset(),
    ) -> None:
        self.fs = fs
        self.root = root.rstrip("/")
        self._secrets = secrets | secrets_of(url)
        self.url = redact_url(url)
        self.capabilities = capabilities
        self._memory = getattr(fs, "protocol", None) in ("memory", ("memory",))
        protocols = fs.protocol if isinstance(fs.protocol, (tuple, list)) else (fs.protocol,)
        self._s3 = "s3" in protocols

    def _fail(self, exc: BaseException, key: str, op: str) -> Exception:
        """``exc`` as a typed error, redacted and chained (raise it without ``from``)."""
        return translate(exc, key=key, url=self.url, op=op, secrets=self._secrets)

    def _cause(self, exc: BaseException) -> BaseException | None:
        """What a translated error chains to: ``exc``, unless its text shows a credential."""
        if isinstance(exc, ModelshelfError):  # already ours: keep its own chain
            return exc.__cause__
        return None if leaks(exc, self._secrets) else exc

    def _again(self, call: Callable[[], _T]) -> _T:
        """``call()``, again after a transient failure (5xx, throttling, timeout, reset).

        Only for idempotent requests: reads, listings, deletes and content-addressed uploads
        (every writer of a key writes the same bytes). Not every client retries everything
        itself (gcsfs gives up on a read timeout at once), and a short outage should not fail
        a whole download.
        """
        for attempt in range(_IDEMPOTENT_ATTEMPTS):
            try:
                return call()
            except Exception as exc:
                if attempt + 1 >= _IDEMPOTENT_ATTEMPTS or not is_transient(exc):
                    raise
                self._fresh()
                time.sleep(0.2 * 3**attempt * random.uniform(0.5, 1.5))
        raise AssertionError("unreachable")

    # -- paths ---------------------------------------------------------------------------------
    def _path(self, key: str) -> str:
        return f"{self.root}/{check_key(key)}" if self.root else check_key(key)

    def _key(self, path: str) -> str:
        path = self.fs._strip_protocol(path).lstrip("/") if self._memory else path
        root = self.root.lstrip("/") if self._memory else self.root
        return path[len(root) + 1 :] if root else path

    def _fresh(self, path: str | None = None) -> None:
        # Bypass fsspec's listing caches: another process may have written since (docs/explanation/backend-facts.md).
        try:
            self.fs.invalidate_cache(path)
        except Exception:  # noqa: BLE001 - a cache that cannot be cleared is simply not there
            pass

    # -- reads ---------------------------------------------------------------------------------
    def read(self, key: str) -> bytes:
        path = self._path(key)
        try:
            data: bytes = self._again(lambda: self.fs.cat_file(path, **self._cat_options()))
            return data
        except Exception as exc:  # noqa: BLE001 - translated in one table
            raise self._fail(exc, key, "read") from self._cause(exc)

    def _cat_options(self) -> dict[str, Any]:
        # s3fs (and adlfs) take max_concurrency; above 1, s3fs sends a HEAD before every GET
        # (and a LIST too when the key is absent) to decide on ranged reads. Whole-object
        # reads here are small (metadata, commits): one GET each is enough.
        options = getattr(self, "_cat_opts", None)
        if options is None:
            import inspect

            params: Any
            try:
                params = inspect.signature(self.fs._cat_file).parameters
            except (AttributeError, TypeError, ValueError):
                params = {}
            options = {"max_concurrency": 1} if "max_concurrency" in params else {}
            self._cat_opts = options
        return options

    def open_read(self, key: str) -> BinaryIO:
        path = self._path(key)
        try:
            handle: BinaryIO = self.fs.open(path, "rb", cache_type="readahead", block_size=8 << 20)
        except Exception as exc:  # noqa: BLE001
            raise self._fail(exc, key, "read") from self._cause(exc)
        # Object stores open a "folder" (a common prefix) as an empty file; the details were
        # fetched to learn the size, so checking them costs no request.
        details = getattr(handle, "_details", None) or getattr(handle, "details", None)
        if isinstance(details, dict) and details.get("type") == "directory":
            handle.close()
            raise ObjectNotFoundError(f"no object at {key!r} in {self.url} (it is a folder)")
        return handle

    def read_many(self, keys: Iterable[str]) -> dict[str, bytes | None]:
        keys = list(keys)
        if not keys:
            return {}
        paths = {self._path(key): key for key in keys}
        if getattr(self.fs, "async_impl", False) and not self._memory:
            return self._again(lambda: self._sort_out(paths, self._cat_async(list(paths))))
        try:
            got = self.fs.cat(list(paths), on_error="return", batch_size=_batch())
        except Exception as exc:  # noqa: BLE001
            raise self._fail(exc, keys[0], "read") from self._cause(exc)
        if not isinstance(got, dict):  # a single path comes back as bare bytes
            got = {next(iter(paths)): got}
        return self._sort_out(paths, got)

    def _cat_async(self, paths: list[str]) -> dict[str, Any]:
        # fs.cat() first expands every path (a HEAD, and a LIST for each absent key); a
        # batched read of known keys needs one GET each, absent ones answered by the 404.
        options = self._cat_options()

        async def one(sem: asyncio.Semaphore, path: str) -> Any:
            async with sem:
                return await self.fs._cat_file(path, **options)

        async def run() -> list[Any]:
            sem = asyncio.Semaphore(_batch())
            return await asyncio.gather(*(one(sem, p) for p in paths), return_exceptions=True)

        from fsspec.asyn import sync

        return dict(zip(paths, sync(self.fs.loop, run), strict=True))

    def _sort_out(self, paths: dict[str, str], got: dict[str, Any]) -> dict[str, bytes | None]:
        out: dict[str, bytes | None] = {}
        for path, key in paths.items():
            value = _lookup(got, path, self.fs)
            if isinstance(value, BaseException):
                error = self._fail(value, key, "read")
                if isinstance(error, ObjectNotFoundError):
                    out[key] = None
                    continue
                raise error from self._cause(value)
            out[key] = value
        return out

    def exists(self, key: str) -> bool:
        path = self._path(key)
        self._fresh(path)
        try:
            info = self.fs.info(path)
        except FileNotFoundError:
            return False
        except Exception as exc:  # noqa: BLE001
            error = self._fail(exc, key, "stat")
            if isinstance(error, ObjectNotFoundError):
                return False
            raise error from self._cause(exc)
        return bool(info.get("type", "file") != "directory")

    def exists_many(self, keys: Iterable[str]) -> set[str]:
        keys = list(keys)
        if not keys or not getattr(self.fs, "async_impl", False) or len(keys) < 4:
            return {key for key in keys if self.exists(key)}
        self._fresh()

        async def one(sem: asyncio.Semaphore, key: str) -> str | None:
            async with sem:
                try:
                    info = await self.fs._info(self._path(key))
                except FileNotFoundError:
                    return None
            return key if info.get("type", "file") != "directory" else None

        async def run() -> list[Any]:
            sem = asyncio.Semaphore(_batch())
            return await asyncio.gather(*(one(sem, key) for key in keys), return_exceptions=True)

        from fsspec.asyn import sync

        found: set[str] = set()
        for key, result in zip(keys, sync(self.fs.loop, run)):
            if isinstance(result, BaseException):
                error = self._fail(result, key, "stat")
                if isinstance(error, ObjectNotFoundError):
                    continue
                raise error from self._cause(result)
            if result is not None:
                found.add(result)
        return found

    def stat(self, key: str) -> ObjectInfo:
        path = self._path(key)
        self._fresh(path)
        try:
            info = self._again(lambda: self.fs.info(path))
        except Exception as exc:  # noqa: BLE001
            raise self._fail(exc, key, "stat") from self._cause(exc)
        if info.get("type") == "directory":
            raise ObjectNotFoundError(f"no object at {key!r} in {self.url} (it is a folder)")
        return ObjectInfo(key=key, size=int(info.get("size") or 0), mtime=_mtime(info))

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        base = self._path(prefix.strip("/")) if prefix.strip("/") else self.root
        self._fresh()
        try:
            found = self._again(lambda: self.fs.find(base, detail=True, withdirs=False))
        except FileNotFoundError:
            return []
        except Exception as exc:  # noqa: BLE001
            raise self._fail(exc, prefix or "/", "list") from self._cause(exc)
        if not isinstance(found, dict):  # some filesystems answer a file path with a list
            found = {}
        # A prefix names a folder: find() on a path that is itself an object returns that
        # object, which is not below the prefix (LocalStorage lists nothing there either).
        folder = prefix.strip("/")
        out = []
        for path, info in found.items():
            if info.get("type", "file") == "directory":
                continue
            key = self._key(path)
            if folder and not key.startswith(folder + "/"):
                continue
            out.append(ObjectInfo(key=key, size=int(info.get("size") or 0), mtime=_mtime(info)))
        out.sort(key=lambda info: info.key)
        return out

    # -- writes --------------------------------------------------------------------------------
    def write(self, key: str, data: bytes, *, overwrite: bool = False) -> None:
        path = self._path(key)
        data = bytes(data)
        if self._memory:
            self._write_memory(key, path, data, overwrite=overwrite)
            return
        if overwrite:
            try:
                self._again(lambda: self.fs.pipe_file(path, data))  # same bytes: idempotent
            except Exception as exc:  # noqa: BLE001
                raise self._write_error(exc, key) from self._cause(exc)
            return
        last: BaseException | None = None
        unsure = 0
        for attempt in range(_CREATE_ATTEMPTS):
            if attempt:
                time.sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.5))
            try:
                self.fs.pipe_file(path, data, mode="create")
                return
            except Exception as exc:  # noqa: BLE001
                last = exc
                outcome = classify_create_error(exc)
                if outcome is WriteOutcome.FAILED:
                    raise self._write_error(exc, key) from self._cause(exc)
                if outcome is WriteOutcome.RETRY and not is_transient(exc):
                    continue  # a 409 conflict between concurrent conditional writes
                # LOST or AMBIGUOUS: an SDK retry of our own successful PUT also looks like a
                # lost race (trino#27400), so read the key back and compare with our payload.
                stored = self._read_back(path)
                if stored == data:
                    return
                if stored is not None:
                    raise AlreadyExistsError(
                        f"an object already exists at {key!r} in {self.url}"
                    ) from self._cause(exc)
                # Not there: create again. After a 5xx or SlowDown the SDK (and s3fs) already
                # retried this very request several times, so one more try is enough; more
                # would only multiply a long outage (botocore does not retry a 429, though).
                unsure += 1
                retried_inside = is_transient(exc) and http_status(exc)[0] != 429
                if unsure >= (_UNSURE_TRANSIENT if retried_inside else _UNSURE_ATTEMPTS):
                    break
        # Out of attempts. One last look settles the outcome if the backend answers reads.
        stored, known = self._look(path)
        if stored == data:
            return
        if stored is not None:
            raise AlreadyExistsError(f"an object already exists at {key!r} in {self.url}")
        assert last is not None
        error = self._fail(last, key, "write")
        kind = BackendUnavailableError if is_transient(last) else StorageError
        state = (
            "the key is still absent (nothing was written)"
            if known
            else "the key could not be read back, so a late write may still appear"
        )
        raise kind(
            f"could not create {key!r} in {self.url}: the backend kept failing and {state}; "
            f"last error: {error}"
        ) from self._cause(last)

    def write_many(self, items: dict[str, bytes]) -> set[str]:
        if self._memory or not getattr(self.fs, "async_impl", False) or len(items) < 4:
            return super().write_many(items)
        paths = {key: self._path(key) for key in items}

        async def one(sem: asyncio.Semaphore, key: str) -> bool:
            async with sem:
                await self.fs._pipe_file(paths[key], items[key], mode="create")
            return True

        async def run() -> list[Any]:
            sem = asyncio.Semaphore(_batch())
            return await asyncio.gather(*(one(sem, key) for key in items), return_exceptions=True)

        from fsspec.asyn import sync

        created: set[str] = set()
        unsure: list[str] = []
        for key, result in zip(items, sync(self.fs.loop, run)):
            if result is True:
                created.add(key)
                continue
            outcome = classify_create_error(result)
            if outcome is WriteOutcome.LOST:
                continue
            if outcome is WriteOutcome.FAILED:
                raise self._fail(result, key, "write") from self._cause(result)
            unsure.append(key)
        # Conflicts and ambiguous answers: settle each one with the single-key protocol.
        for key in unsure:
            try:
                self.write(key, items[key])
                created.add(key)
            except AlreadyExistsError:
                pass
        return created

    def _write_error(self, exc: BaseException, key: str) -> Exception:
        error = self._fail(exc, key, "write")
        if isinstance(error, ObjectNotFoundError):
            # A write cannot miss its object; a 404 here means the bucket is gone (gcsfs
            # reports it as a bare FileNotFoundError naming only the upload URL).
            return StorageError(
                f"cannot write {key!r} in {self.url}: the bucket or container does not exist; "
                "create it first"
            )
        return error

    def _read_back(self, path: str) -> bytes | None:
        return self._look(path)[0]

    def _look(self, path: str) -> tuple[bytes | None, bool]:
        """``(bytes or None, whether that answer is known)``: a failed read knows nothing."""
        self._fresh(path)
        try:
            data: bytes = self.fs.cat_file(path)
            return data, True
        except FileNotFoundError:
            return None, True
        except Exception:  # noqa: BLE001 - unknown state: the caller retries or says so
            return None, False

    def _write_memory(self, key: str, path: str, data: bytes, *, overwrite: bool) -> None:
        # MemoryFileSystem shows partial content while a file is open; build the object whole
        # under a lock instead.
        with _MEMORY_LOCK:
            if not overwrite and self.fs.exists(path):
                raise AlreadyExistsError(f"an object already exists at {key!r} in {self.url}")
            self.fs.pipe_file(path, data)

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            self._again(lambda: self.fs.rm_file(path))
        except FileNotFoundError:
            pass
        except Exception as exc:  # noqa: BLE001
            error = self._fail(exc, key, "delete")
            if not isinstance(error, ObjectNotFoundError):
                raise error from self._cause(exc)
        self._fresh(path)

    def upload(self, pairs: Sequence[tuple[str, str]]) -> None:
        if not pairs:
            return
        for _, key in pairs:
            check_key(key)  # every key before any I/O
        # Big files go one at a time with bounded part buffers: s3fs would otherwise hold
        # max_concurrency (10) x 50 MiB parts of every file in flight.
        big = [(src, key) for src, key in pairs if os.path.getsize(src) >= _BIG]
        small = [(src, key) for src, key in pairs if os.path.getsize(src) < _BIG]

        def put() -> None:
            if len(small) == 1:
                self.fs.put_file(small[0][0], self._path(small[0][1]))
            elif small:
                lpaths = [src for src, _ in small]
                rpaths = [self._path(key) for _, key in small]
                self.fs.put(lpaths, rpaths, batch_size=_batch())
            for src, key in big:
                self.fs.put_file(src, self._path(key), **self._big_options(os.path.getsize(src)))

        try:
            self._again(put)
        except Exception as exc:  # noqa: BLE001
            raise self._fail(exc, pairs[0][1], "write") from self._cause(exc)

    def _big_options(self, size: int) -> dict[str, Any]:
        if not self._s3:
            return {}
        # S3 allows 10,000 parts; 16 MiB parts cover 156 GiB, bigger files get bigger parts.
        return {"chunksize": max(16 << 20, -(-size // 9000)), "max_concurrency": 4}

    def download(self, pairs: Sequence[tuple[str, str]]) -> None:
        if not pairs:
            return
        for key, _ in pairs:
            check_key(key)  # every key before any I/O
        # fsspec's get_file does not create the destination folder (LocalStorage does).
        for folder in {os.path.dirname(os.path.abspath(dst)) for _, dst in pairs}:
            os.makedirs(folder, exist_ok=True)

        def get() -> None:
            if len(pairs) == 1:
                key, dst = pairs[0]
                self.fs.get_file(self._path(key), dst, **self._big_options(_BIG))
            else:
                rpaths = [self._path(key) for key, _ in pairs]
                lpaths = [dst for _, dst in pairs]
                # Concurrent ranged parts are only used above the block size; with the
                # options below each big file holds at most 4 x 16 MiB in memory.
                self.fs.get(rpaths, lpaths, batch_size=_batch(), **self._big_options(_BIG))

        try:
            self._again(get)
        except Exception as exc:  # noqa: BLE001
            raise self._fail(exc, pairs[0][0], "read") from self._cause(exc)


def _batch() -> int:
    return min(64, _settings.concurrency())


def _lookup(got: dict[str, Any], path: str, fs: Any) -> Any:
    if path in got:
        return got[path]
    stripped = fs._strip_protocol(path)
    if stripped in got:
        return got[stripped]
    for candidate, value in got.items():
        if posixpath.normpath(fs._strip_protocol(candidate)) == posixpath.normpath(stripped):
            return value
    return FileNotFoundError(errno.ENOENT, "missing from batched read", path)


def _mtime(info: dict[str, Any]) -> float | None:
    for field in ("mtime", "LastModified", "last_modified", "updated", "created"):
        value = info.get(field)
        if value is None:
            continue
        if isinstance(value, (int, float)):
            return float(value)
        if hasattr(value, "timestamp"):
            return float(value.timestamp())
        if isinstance(value, str):
            from datetime import datetime

            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            except ValueError:
                continue
    return None
