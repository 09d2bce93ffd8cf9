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

__all__ = ["MANIFEST_TYPE", "Tree", "TreeEntry", "check_relpath", "scan_dir"]

MANIFEST_TYPE = "modelshelf.tree"
MANIFEST_VERSION = 1


def check_relpath(path: str) -> str:
    """Validate a manifest path: relative POSIX, no ``..``/``.``/empty parts, NUL or backslash.

    Raises:
        InvalidPathError: the path is absolute, escapes the tree, or is not canonical.
    """
    if not isinstance(path, str) or not path:
        raise InvalidPathError(f"tree path must be a non-empty string, got {path!r}")
    if "\x00" in path:
        raise InvalidPathError(f"tree path {path!r} contains a NUL byte")
    if "\\" in path:
        raise InvalidPathError(f"tree path {path!r} contains a backslash; use '/' separators")
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        raise InvalidPathError(f"tree path {path!r} is absolute; paths are relative to the tree")
    for part in path.split("/"):
        if part in ("", ".", ".."):
            raise InvalidPathError(
                f"tree path {path!r} has an empty, '.' or '..' part; it could escape the tree"
            )
    return path


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


def scan_dir(root: str | os.PathLike[str]) -> list[LocalFile]:
    """List the regular files below ``root`` as tree paths.

    Symlinks are followed only while they stay inside ``root``.

    Raises:
        InvalidPathError: a symlink points outside the tree, or a name holds a backslash.
        NotFoundError: ``root`` is not a folder.
    """
    from modelshelf.errors import ObjectNotFoundError

    base = os.path.realpath(root)
    if not os.path.isdir(base):
        raise ObjectNotFoundError(f"{os.fspath(root)!r} is not a folder")
    out: list[LocalFile] = []
    visited: set[tuple[int, int]] = set()

    def walk(real_dir: str, rel: str) -> None:
        st_dir = os.stat(real_dir)
        if (st_dir.st_dev, st_dir.st_ino) in visited:
            return
        visited.add((st_dir.st_dev, st_dir.st_ino))
        with os.scandir(real_dir) as it:
            items = sorted(it, key=lambda d: d.name)
        for item in items:
            rel_path = f"{rel}/{item.name}" if rel else item.name
            full = item.path
            if item.is_symlink():
                target = os.path.realpath(full)
                if os.path.commonpath([base, target]) != base:
                    raise InvalidPathError(
                        f"symlink {rel_path!r} points outside the tree ({target}); "
                        "copy the file in instead"
                    )
                full = target
            st = os.stat(full)
            if stat_mod.S_ISDIR(st.st_mode):
                walk(full, rel_path)
            elif stat_mod.S_ISREG(st.st_mode):
                check_relpath(rel_path)
                out.append(LocalFile(rel_path, full, st.st_size, bool(st.st_mode & 0o111), st))

    walk(base, "")
    return out
