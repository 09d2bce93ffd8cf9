"""Tree manifests: canonical JSON of ``path -> {digest, size, executable}``.

The manifest is stored as a blob; its digest is the tree's identity, so two trees with the
same files (same paths, bytes and executable bits) have the same digest wherever they live.
"""

from __future__ import annotations

import json
import os
import stat as stat_mod
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from modelshelf.cas._digest import Digest, hash_bytes
from modelshelf.errors import InvalidPathError, MalformedMetadataError

__all__ = [
    "MANIFEST_TYPE",
    "MAX_PATH_BYTES",
    "MAX_PATH_PART_BYTES",
    "Tree",
    "TreeEntry",
    "check_relpath",
    "scan_dir",
]

MANIFEST_TYPE = "modelshelf.tree"
MANIFEST_VERSION = 1


#: Longest part of a path (bytes of UTF-8): NAME_MAX of Linux and macOS file systems.
MAX_PATH_PART_BYTES = 255
#: Longest path (bytes of UTF-8): the S3 key limit, well under PATH_MAX (4096) on POSIX.
MAX_PATH_BYTES = 1024


def check_relpath(path: str, what: str = "tree path") -> str:
    """Validate a manifest path: relative POSIX, no ``..``/``.``/empty parts, NUL or backslash,
    valid Unicode, at most :data:`MAX_PATH_PART_BYTES` per part and :data:`MAX_PATH_BYTES` in all.

    Raises:
        InvalidPathError: the path is absolute, escapes the tree, is not canonical, or is too
            long to be a file on a POSIX file system or a key in an object store.
    """
    if not isinstance(path, str) or not path:
        raise InvalidPathError(f"{what} must be a non-empty string, got {_short(path)}")
    if "\x00" in path:
        raise InvalidPathError(f"{what} {_short(path)} contains a NUL byte")
    if "\\" in path:
        raise InvalidPathError(f"{what} {_short(path)} contains a backslash; use '/' separators")
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        raise InvalidPathError(f"{what} {_short(path)} is absolute; paths are relative to the tree")
    try:
        size = len(path.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidPathError(
            f"{what} {_short(path)} is not valid Unicode (it holds a lone surrogate, e.g. a "
            "file name that is not UTF-8); rename it"
        ) from None
    if size > MAX_PATH_BYTES:
        raise InvalidPathError(
            f"{what} {_short(path)} is {size} bytes long (UTF-8); the limit is "
            f"{MAX_PATH_BYTES} bytes, as for S3 keys: use a shorter path"
        )
    for part in path.split("/"):
        if part in ("", ".", ".."):
            raise InvalidPathError(
                f"{what} {_short(path)} has an empty, '.' or '..' part; it could escape the tree"
            )
        if len(part.encode("utf-8")) > MAX_PATH_PART_BYTES:
            raise InvalidPathError(
                f"{what} {_short(path)} has a part of {len(part.encode())} bytes (UTF-8); "
                f"file systems allow {MAX_PATH_PART_BYTES}: use a shorter name"
            )
    return path


def _short(value: object, limit: int = 120) -> str:
    """``repr`` of ``value``, cut to ``limit`` characters (paths in messages may be huge)."""
    text = repr(value)
    if len(text) <= limit:
        return text
    half = (limit - 20) // 2
    return f"{text[:half]}…{text[-half:]} ({len(text) - 2} characters)"


@dataclass(frozen=True, slots=True)
class TreeEntry:
    """One file of a tree."""

    path: str
    digest: Digest
    size: int
    executable: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"digest": str(self.digest), "executable": self.executable, "size": self.size}

    @classmethod
    def from_dict(cls, path: str, data: Mapping[str, Any]) -> TreeEntry:
        try:
            return cls(
                path=check_relpath(path),
                digest=Digest.parse(data["digest"]),
                size=int(data["size"]),
                executable=bool(data.get("executable", False)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, InvalidPathError):
                raise
            raise MalformedMetadataError(f"bad tree entry for {path!r}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Tree:
    """A directory as an immutable mapping of relative path -> :class:`TreeEntry`."""

    entries: tuple[TreeEntry, ...]

    @classmethod
    def from_entries(cls, entries: Iterable[TreeEntry]) -> Tree:
        """Build a tree, refusing duplicate paths and a file that is also a folder."""
        ordered = sorted(entries, key=lambda e: e.path)
        seen: set[str] = set()
        for entry in ordered:
            check_relpath(entry.path)
            if entry.path in seen:
                raise InvalidPathError(f"tree path {entry.path!r} appears twice")
            seen.add(entry.path)
        dirs = {p.rsplit("/", 1)[0] for p in seen if "/" in p}
        prefixes = {d[:i] for d in dirs for i in range(len(d) + 1) if i == len(d) or d[i] == "/"}
        clash = seen & prefixes
        if clash:
            raise InvalidPathError(f"tree path {sorted(clash)[0]!r} is both a file and a folder")
        return cls(tuple(ordered))

    def to_bytes(self) -> bytes:
        """Canonical JSON: sorted keys, no insignificant whitespace, UTF-8."""
        doc = {
            "entries": {e.path: e.to_dict() for e in self.entries},
            "type": MANIFEST_TYPE,
            "version": MANIFEST_VERSION,
        }
        return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    @property
    def digest(self) -> Digest:
        return hash_bytes(self.to_bytes())

    @classmethod
    def from_bytes(cls, data: bytes) -> Tree:
        """Parse a manifest blob.

        Raises:
            MalformedMetadataError: not a modelshelf tree manifest.
            InvalidPathError: a path in it is unsafe.
        """
        try:
            doc = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise MalformedMetadataError(f"not a tree manifest (invalid JSON): {exc}") from exc
        except RecursionError:
            raise MalformedMetadataError("not a tree manifest (JSON nested too deeply)") from None
        if not isinstance(doc, dict) or doc.get("type") != MANIFEST_TYPE:
            raise MalformedMetadataError("not a tree manifest (missing type 'modelshelf.tree')")
        if doc.get("version") != MANIFEST_VERSION:
            raise MalformedMetadataError(
                f"tree manifest version {doc.get('version')!r} is not supported; upgrade modelshelf"
            )
        raw = doc.get("entries")
        if not isinstance(raw, dict):
            raise MalformedMetadataError("tree manifest has no 'entries' mapping")
        return cls.from_entries(TreeEntry.from_dict(path, value) for path, value in raw.items())

    @staticmethod
    def looks_like_manifest(data: bytes) -> bool:
        return data[:1] == b"{" and b'"type":"modelshelf.tree"' in data

    def __iter__(self) -> Iterator[TreeEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, path: str) -> TreeEntry | None:
        for entry in self.entries:
            if entry.path == path:
                return entry
        return None

    def subtree(self, prefix: str) -> Tree:
        """The entries below folder ``prefix``, with the prefix removed."""
        prefix = check_relpath(prefix.strip("/")) + "/"
        return Tree.from_entries(
            TreeEntry(e.path[len(prefix) :], e.digest, e.size, e.executable)
            for e in self.entries
            if e.path.startswith(prefix)
        )

    @property
    def size(self) -> int:
        return sum(e.size for e in self.entries)

    def to_dict(self) -> dict[str, Any]:
        return {e.path: e.to_dict() for e in self.entries}


@dataclass(frozen=True, slots=True)
class LocalFile:
    """A file found by :func:`scan_dir`: its tree path, OS path and stat facts."""

    path: str
    os_path: str
    size: int
    executable: bool
    st: os.stat_result


def scan_dir(root: str | os.PathLike[str], *, prefix: str = "") -> list[LocalFile]:
    """List the files below ``root`` as tree paths; nothing is left out silently.

    Symlinks are followed as MLflow's copies follow them: a link to a file or folder inside
    ``root`` is stored as that content, under the link's name. A link that dangles, loops,
    or points outside ``root``, and a special file (FIFO, socket, device) are refused.

    Args:
        root: the folder.
        prefix: the path the tree will be logged under; only used to check the length of
            the full paths (``<prefix>/<tree path>``) and in messages.

    Raises:
        UnloggableFileError: a symlink dangles, loops or leaves ``root``, or an entry is a
            special file.
        InvalidPathError: a name holds a backslash, is not valid UTF-8, or a path is too long.
        NotFoundError: ``root`` is not a folder.
    """
    from modelshelf.errors import ObjectNotFoundError, UnloggableFileError

    shown = os.fspath(root)
    base = os.path.realpath(root)
    if not os.path.isdir(base):
        raise ObjectNotFoundError(f"{shown!r} is not a folder")
    out: list[LocalFile] = []

    def refuse(rel_path: str, why: str) -> UnloggableFileError:
        return UnloggableFileError(
            f"cannot log the folder {shown!r}: {rel_path!r} {why}; nothing was logged"
        )

    def walk(real_dir: str, rel: str, ancestors: frozenset[tuple[int, int]]) -> None:
        with os.scandir(real_dir) as it:
            items = sorted(it, key=lambda d: d.name)
        for item in items:
            rel_path = f"{rel}/{item.name}" if rel else item.name
            full = item.path
            if item.is_symlink():
                try:
                    target = os.path.realpath(full, strict=True)
                except FileNotFoundError:
                    raise refuse(
                        rel_path,
                        f"is a symlink to {os.readlink(full)!r}, which does not exist "
                        "(a dangling link); remove it or copy the file in",
                    ) from None
                except OSError as exc:  # ELOOP: the link resolves through itself
                    raise refuse(
                        rel_path, f"is a symlink loop ({exc.strerror}); remove the link"
                    ) from None
                if os.path.commonpath([base, target]) != base:
                    raise refuse(
                        rel_path,
                        f"is a symlink to {target!r}, outside the tree being logged; copy the file or "
                        "folder in instead",
                    )
                full = target
            st = os.stat(full)
            if stat_mod.S_ISDIR(st.st_mode):
                ident = (st.st_dev, st.st_ino)
                if ident in ancestors:
                    raise refuse(
                        rel_path,
                        "is a symlink to a folder that contains it (a loop); remove the link",
                    )
                walk(full, rel_path, ancestors | {ident})
            elif stat_mod.S_ISREG(st.st_mode):
                try:
                    check_relpath(f"{prefix}/{rel_path}" if prefix else rel_path, "path")
                except InvalidPathError as exc:
                    raise InvalidPathError(
                        f"cannot log the folder {shown!r}: its file {_short(rel_path)} "
                        f"cannot be stored: {exc}"
                    ) from None
                out.append(LocalFile(rel_path, full, st.st_size, bool(st.st_mode & 0o111), st))
            else:
                raise refuse(
                    rel_path,
                    f"is a {_kind(st.st_mode)}, not a regular file or folder; only files "
                    "and folders can be logged: move it out of the folder",
                )

    st_root = os.stat(base)
    walk(base, "", frozenset({(st_root.st_dev, st_root.st_ino)}))
    return out


def _kind(mode: int) -> str:
    for test, name in (
        (stat_mod.S_ISFIFO, "FIFO (named pipe)"),
        (stat_mod.S_ISSOCK, "socket"),
        (stat_mod.S_ISCHR, "character device"),
        (stat_mod.S_ISBLK, "block device"),
    ):
        if test(mode):
            return name
    return f"special file (mode {oct(mode)})"
