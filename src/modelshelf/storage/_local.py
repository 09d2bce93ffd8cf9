"""Local-disk storage: plain files, atomic create by temp file + ``os.link``.

fsspec's LocalFileSystem is not used for writes: its ``pipe_file(mode="create")`` is
exists-then-write and ``put_file`` ignores ``mode`` (see docs/explanation/backend-facts.md).
"""

from __future__ import annotations

import errno
import os
import shutil
import uuid
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

from modelshelf import _settings
from modelshelf.errors import AlreadyExistsError, ObjectNotFoundError, StorageError
from modelshelf.storage._base import Capabilities, ObjectInfo, Storage, check_key

__all__ = ["LocalStorage", "atomic_write_file", "fsync_dir"]

_TMP_MARK = ".tmp-"


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """fsync a directory so a new name in it survives a crash (no-op where unsupported)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _temp_name(final: str) -> str:
    head, tail = os.path.split(final)
    return os.path.join(head, f"{_TMP_MARK}{tail}.{os.getpid()}.{uuid.uuid4().hex[:12]}")


def atomic_write_file(final: str, data: bytes, *, overwrite: bool) -> None:
    """Write ``data`` to ``final`` so that readers see nothing or everything.

    Without ``overwrite`` the publish step is ``os.link``, which fails if ``final`` exists,
    so exactly one of many racing writers wins (``os.replace`` would let the last one win).

    Raises:
        FileExistsError: ``final`` exists and ``overwrite`` is false.
    """
    os.makedirs(os.path.dirname(final) or ".", exist_ok=True)
    tmp = _temp_name(final)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if overwrite:
            os.replace(tmp, final)
        else:
            _link_no_replace(tmp, final)
        fsync_dir(os.path.dirname(final) or ".")
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass


def _link_no_replace(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        # Filesystems without hard links: claim the name with O_EXCL, then replace the
        # (empty) claimed file with the complete one. Readers may briefly see it empty.
        fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.close(fd)
        os.replace(src, dst)


class LocalStorage(Storage):
    """Storage on a local directory (``./shelf``, ``/abs/path``, ``file:///abs/path``)."""

    capabilities = Capabilities(atomic_create=True, local_paths=True, shared=True)

    def __init__(self, root: str | os.PathLike[str], *, url: str | None = None) -> None:
        self.root = Path(root).expanduser().absolute()
        self.url = url or str(self.root)

    def _path(self, key: str) -> str:
        return os.path.join(self.root, *check_key(key).split("/"))

    def local_path(self, key: str) -> str:
        return self._path(key)

    def read(self, key: str) -> bytes:
        try:
            with open(self._path(key), "rb") as handle:
                return handle.read()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
            raise ObjectNotFoundError(f"no object at {key!r} in {self.url}") from exc

    def open_read(self, key: str) -> BinaryIO:
        try:
            return open(self._path(key), "rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
            raise ObjectNotFoundError(f"no object at {key!r} in {self.url}") from exc

    def write(self, key: str, data: bytes, *, overwrite: bool = False) -> None:
        path = self._path(key)
        try:
            atomic_write_file(path, bytes(data), overwrite=overwrite)
        except FileExistsError as exc:
            raise AlreadyExistsError(f"an object already exists at {key!r} in {self.url}") from exc
        except NotADirectoryError as exc:
            raise StorageError(f"cannot write {key!r} in {self.url}: a parent is a file") from exc

    def exists(self, key: str) -> bool:
        return os.path.isfile(self._path(key))

    def exists_many(self, keys: Iterable[str]) -> set[str]:
        return {key for key in keys if os.path.isfile(self._path(key))}

    def stat(self, key: str) -> ObjectInfo:
        try:
            st = os.stat(self._path(key))
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise ObjectNotFoundError(f"no object at {key!r} in {self.url}") from exc
        if not os.path.isfile(self._path(key)):
            raise ObjectNotFoundError(f"no object at {key!r} in {self.url} (it is a folder)")
        return ObjectInfo(key=key, size=st.st_size, mtime=st.st_mtime)

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        base = self._path(prefix.rstrip("/")) if prefix.strip("/") else str(self.root)
        out: list[ObjectInfo] = []
        root_len = len(str(self.root)) + 1
        for dirpath, _dirnames, filenames in os.walk(base):
            for name in filenames:
                if name.startswith(_TMP_MARK):
                    continue
                full = os.path.join(dirpath, name)
                try:
                    st = os.stat(full)
                except FileNotFoundError:
                    continue
                key = full[root_len:].replace(os.sep, "/")
                out.append(ObjectInfo(key=key, size=st.st_size, mtime=st.st_mtime))
        out.sort(key=lambda info: info.key)
        return out

    def delete(self, key: str) -> None:
        try:
            os.unlink(self._path(key))
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            pass  # absent, below a file, or a folder: no object to delete

    def upload(self, pairs: Sequence[tuple[str, str]]) -> None:
        targets = [(src, self._path(key)) for src, key in pairs]  # every key checked before I/O

        def one(pair: tuple[str, str]) -> None:
            src, dst = pair
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            tmp = _temp_name(dst)
            try:
                shutil.copyfile(src, tmp)
                os.replace(tmp, dst)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)

        _run_all(one, targets)

    def download(self, pairs: Sequence[tuple[str, str]]) -> None:
        for key, _ in pairs:
            check_key(key)

        def one(pair: tuple[str, str]) -> None:
            key, dst = pair
            src = self._path(key)
            os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
            try:
                shutil.copyfile(src, dst)
            except FileNotFoundError as exc:
                raise ObjectNotFoundError(f"no object at {key!r} in {self.url}") from exc

        _run_all(one, pairs)


def _run_all(fn: object, items: Sequence[tuple[str, str]]) -> None:
    if len(items) <= 1:
        for item in items:
            fn(item)  # type: ignore[operator]
        return
    workers = min(len(items), _settings.concurrency(), 16)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for _ in pool.map(fn, items):  # type: ignore[arg-type]
            pass
