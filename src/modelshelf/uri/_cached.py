"""Cache-backed model folders that cannot lie, the memos of URI resolutions, and the cache check.

Layout under the cache root (besides the blobs, see :mod:`modelshelf.cas._cache`)::

    trees/<64 hex>/...            a tree, its files hard links to verified blobs (0400/0500)
    files/<64 hex>/<name>         one blob under the name its URI gave it
    resolved/<2 hex>/<64>.json    memo: which digest a URI named last, authenticated

A cached folder is used only while every file in it is provably the bytes that were verified:
each file's (device, inode, size, mtime, ctime) must match the hash memo, recorded by hashing
it after it was linked into the folder, and each folder must hold exactly the names of the
manifest (itself a verified blob). A file that fails is re-hashed; if its bytes differ the
folder is removed and rebuilt from verified blobs (fetched again when needed).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import stat
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelshelf._shelf import Shelf, get_shelf
from modelshelf.cas import Digest, LocalCache, Tree, hash_file, make_private_dirs, write_private
from modelshelf.errors import IntegrityError, NotFoundError, StorageError
from modelshelf.uri._resolve import resolve_uri

__all__ = [
    "CacheProblem",
    "CacheReport",
    "Memo",
    "cached_entry",
    "materialise_cached",
    "verify_cache",
]

_Entry = tuple[str, Digest, bool]  # relative path, digest, executable


def _mode(executable: bool) -> int:
    return 0o500 if executable else 0o400


def cache_target(cache: LocalCache, kind: str, digest: Digest, name: str) -> Path:
    if kind == "tree":
        return cache.root / "trees" / digest.hex
    return cache.root / "files" / digest.hex / name


def _entries(kind: str, digest: Digest, tree: Tree | None, name: str) -> list[_Entry]:
    if kind == "tree":
        assert tree is not None
        return [(e.path, e.digest, e.executable) for e in tree]
    return [(name, digest, False)]


def _cached_tree(cache: LocalCache, digest: Digest) -> Tree | None:
    """The manifest of a tree, from the cache only (verified by the blob memo)."""
    path = cache.lookup(digest)
    if path is None:
        return None
    try:
        return Tree.from_bytes(path.read_bytes())
    except (OSError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class _Plan:
    """What an intact entry looks like, derived once per process from its verified manifest."""

    files: list[tuple[str, str, Digest, int]]  # relative path, absolute path, digest, mode
    folders: dict[str, dict[str, bool]]  # absolute folder path -> {name: is a folder}


_PLANS: OrderedDict[tuple[str, str, str], _Plan] = OrderedDict()
_PLANS_MAX = 256
_PLANS_LOCK = threading.Lock()


def _plan(root: Path, entries: list[_Entry], *, listing: bool) -> _Plan:
    base = str(root)
    files = [
        (rel, os.path.join(base, *rel.split("/")), digest, _mode(executable))
        for rel, digest, executable in entries
    ]
    folders: dict[str, dict[str, bool]] = {}
    if listing:
        folders[base] = {}
        for rel, _, _ in entries:
            parts = rel.split("/")
            for i in range(len(parts)):
                parent = os.path.join(base, *parts[:i])
                is_dir = i < len(parts) - 1
                folders.setdefault(parent, {})[parts[i]] = is_dir
                if is_dir:
                    folders.setdefault(os.path.join(base, *parts[: i + 1]), {})
    return _Plan(files, folders)


def _plan_for(cache: LocalCache, kind: str, digest: Digest, name: str) -> _Plan | None:
    target = cache_target(cache, kind, digest, name)
    key = (str(target), kind, digest.hex)
    with _PLANS_LOCK:
        found = _PLANS.get(key)
        if found is not None:
            _PLANS.move_to_end(key)
            return found
    tree = _cached_tree(cache, digest) if kind == "tree" else None
    if kind == "tree" and tree is None:
        return None
    root = target if kind == "tree" else target.parent
    plan = _plan(root, _entries(kind, digest, tree, name), listing=kind == "tree")
    with _PLANS_LOCK:
        _PLANS[key] = plan
        while len(_PLANS) > _PLANS_MAX:
            _PLANS.popitem(last=False)
    return plan


def cached_entry(cache: LocalCache, kind: str, digest: Digest, name: str) -> Path | None:
    """The cached folder (or file) for ``digest`` if it is provably intact, else None.

    A file whose stat no longer matches the memo is re-hashed; an entry that fails is removed
    (the caller builds it again from verified blobs).
    """
    target = cache_target(cache, kind, digest, name)
    root = target if kind == "tree" else target.parent
    try:
        os.lstat(target)
    except FileNotFoundError:
        return None
    plan = _plan_for(cache, kind, digest, name)
    if plan is None:
        _remove(root)  # its manifest is gone: nothing to check it against
        return None
    if _problems(cache, plan):
        _remove(root if kind == "tree" else target)
        return None
    return target


def _problems(cache: LocalCache, plan: _Plan, *, rehash: bool = False) -> list[str]:
    """What is wrong with an entry (empty: intact). With ``rehash`` every file is hashed
    again; otherwise only those whose stat does not match the memo."""
    problems = _listing_problems(plan)
    if problems:
        return problems
    stats: list[os.stat_result | None] = []
    for _, path, _, _ in plan.files:
        try:
            stats.append(os.lstat(path))
        except FileNotFoundError:
            stats.append(None)
    known = (
        [None] * len(stats)
        if rehash
        else cache.state.get_many(st for st in stats if st is not None)
    )
    it = iter(known)
    for (rel, path, digest, mode), st in zip(plan.files, stats):
        if st is None:
            problems.append(f"{rel}: missing")
            continue
        memo = None if rehash else next(it)
        if memo == digest and stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == mode:
            continue
        if not cache.recheck(Path(path), digest, mode=mode):
            problems.append(f"{rel}: content changed (not {digest})")
    return problems


def _listing_problems(plan: _Plan) -> list[str]:
    """Every folder holds exactly the manifest's names (no extra file, no symlink), 0700."""
    problems: list[str] = []
    for path, expected in plan.folders.items():
        try:
            st = os.lstat(path)
            if not stat.S_ISDIR(st.st_mode):
                problems.append(f"{path}: not a folder")
                continue
            if stat.S_IMODE(st.st_mode) != 0o700:
                problems.append(f"{path}: mode {stat.S_IMODE(st.st_mode):o}, not 700")
            with os.scandir(path) as it:
                found = {e.name: e.is_dir(follow_symlinks=False) for e in it}
        except FileNotFoundError:
            problems.append(f"{path}: missing")
            continue
        if found != expected:
            extra = sorted(set(found) - set(expected))
            odd = sorted(n for n in expected if n in found and found[n] != expected[n])
            missing = sorted(set(expected) - set(found))
            problems.append(
                f"{path}: holds {extra} that the manifest does not name"
                if extra
                else f"{path}: {odd or missing} differ from the manifest"
            )
    return problems


def materialise_cached(
    cache: LocalCache,
    blobs: Any,
    kind: str,
    digest: Digest,
    tree: Tree | None,
    name: str,
) -> Path:
    """The verified cached folder/file for ``digest``: the intact one, or a new one.

    Raises:
        IntegrityError: a blob's bytes changed while the entry was being built.
        NotFoundError: a blob is missing from the shelf and the cache.
    """
    found = cached_entry(cache, kind, digest, name)
    if found is not None:
        return found
    target = cache_target(cache, kind, digest, name)
    make_private_dirs(target.parent)
    staging = target.parent / f".tmp-{digest.hex[:16]}-{uuid.uuid4().hex[:12]}"
    entries = _entries(kind, digest, tree, name)
    try:
        if kind == "tree":
            blobs.get_tree(digest, staging, tree=tree)
        else:
            make_private_dirs(staging)
            _link_or_copy(blobs.fetch(digest), staging / name)
        _seal(cache, staging, entries)
        if kind == "tree":
            _publish(staging, target)
        else:
            _publish(staging / name, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _link_or_copy(cached: Path, target: Path) -> None:
    try:
        os.link(cached, target)
    except OSError:
        shutil.copyfile(cached, target)


def _seal(cache: LocalCache, root: Path, entries: list[_Entry]) -> None:
    """Make a freshly built entry private and read-only, then hash every file and record its
    stat: linking a blob changed its ctime, so only a hash taken now proves the bytes."""
    folders = {root}
    for rel, _, _ in entries:
        parts = rel.split("/")
        folders.update(root.joinpath(*parts[:i]) for i in range(1, len(parts)))
    for folder in folders:
        os.chmod(folder, 0o700)
    for rel, _, executable in entries:
        path = root.joinpath(*rel.split("/"))
        if stat.S_IMODE(os.lstat(path).st_mode) != _mode(executable):
            os.chmod(path, _mode(executable))

    def check(entry: _Entry) -> str | None:
        rel, digest, _ = entry
        path = root.joinpath(*rel.split("/"))
        before = os.lstat(path)
        actual, _ = hash_file(str(path))
        after = os.lstat(path)
        if actual != digest:
            return f"{rel}: hashes to {actual}, expected {digest}"
        if _same(before, after):
            cache.state.put(before, digest)
        return None

    with cache.state.deferred():
        if len(entries) > 1:
            with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 2)) as pool:
                bad = [p for p in pool.map(check, entries) if p]
        else:
            bad = [p for p in map(check, entries) if p]
    if bad:
        raise IntegrityError(
            f"cached bytes changed while a model folder was being built ({bad[0]}); they were "
            "not used: run `modelshelf verify --cache` and load again"
        )


def _same(a: os.stat_result, b: os.stat_result) -> bool:
    keys = ("st_dev", "st_ino", "st_size", "st_mtime_ns", "st_ctime_ns")
    return all(getattr(a, k) == getattr(b, k) for k in keys)


def _publish(staging: Path, target: Path) -> None:
    """Rename into place; a concurrent loader that got there first wins (same bytes)."""
    try:
        os.rename(staging, target)
    except OSError:
        if not target.exists():
            raise


def _remove(path: Path) -> None:
    """Take a bad entry out of use at once (rename), then delete it."""
    trash = path.parent / f".bad-{path.name[:16]}-{uuid.uuid4().hex[:12]}"
    try:
        os.rename(path, trash)
    except FileNotFoundError:
        return
    if trash.is_dir() and not trash.is_symlink():
        _make_deletable(trash)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        trash.unlink(missing_ok=True)


def _make_deletable(root: Path) -> None:
    for folder, dirs, _ in os.walk(root):
        for d in dirs:
            try:
                os.chmod(os.path.join(folder, d), 0o700, follow_symlinks=False)
            except (OSError, NotImplementedError):
                pass


# ---------------------------------------------------------------------------------- memos
class Memo:
    """The last resolution of a URI on a shelf, authenticated with the cache's secret key.

    A memo is only a hint: it is used without asking the shelf only if its HMAC checks and it
    names this very shelf and URI, so a rewritten, swapped or copied-in memo is ignored.
    """

    def __init__(self, cache: LocalCache, shelf_url: str, uri: str) -> None:
        from modelshelf.signing import trust_fingerprint

        self.cache = cache
        self.shelf_url = shelf_url
        self.uri = uri
        # One memo per trust: a resolution made without trusted keys never answers for a
        # process that has some.
        self.trust = trust_fingerprint() or ""
        self.path = memo_path(cache, shelf_url, uri, self.trust)

    def load(self) -> dict[str, Any] | None:
        """The remembered record, or None if absent, malformed or not authentic."""
        try:
            data: dict[str, Any] = json.loads(self.path.read_bytes())
        except (OSError, ValueError):
            return None
        record = _authentic(self.cache, data)
        if record is None or (
            record.get("shelf"),
            record.get("uri"),
            record.get("trust", ""),
        ) != (self.shelf_url, self.uri, self.trust):
            return None
        return record

    def save(self, record: dict[str, Any]) -> None:
        body = {**record, "shelf": self.shelf_url, "uri": self.uri}
        if self.trust:
            body["trust"] = self.trust
        body["mac"] = _mac(self.cache, body)
        write_private(self.path, json.dumps(body, sort_keys=True).encode())


def memo_path(cache: LocalCache, shelf_url: str, uri: str, trust: str = "") -> Path:
    """Where the memo of ``uri`` on ``shelf_url`` under this trust configuration lives."""
    text = f"{shelf_url}\n{uri}" + (f"\n{trust}" if trust else "")
    key = hashlib.sha256(text.encode()).hexdigest()
    return cache.root / "resolved" / key[:2] / f"{key}.json"


def _mac(cache: LocalCache, body: dict[str, Any]) -> str:
    message = json.dumps({k: v for k, v in body.items() if k != "mac"}, sort_keys=True)
    return hmac.new(cache.secret(), message.encode(), hashlib.sha256).hexdigest()


def _authentic(cache: LocalCache, data: Any) -> dict[str, Any] | None:
    if not isinstance(data, dict) or not isinstance(data.get("mac"), str):
        return None
    try:
        if not hmac.compare_digest(data["mac"], _mac(cache, data)):
            return None
        Digest.parse(data["digest"])
        if data["kind"] not in ("tree", "blob") or not isinstance(data["name"], str):
            return None
    except (KeyError, ValueError, TypeError):
        return None
    return data


# ---------------------------------------------------------------------------- cache check
@dataclass(frozen=True, slots=True)
class CacheProblem:
    """One bad cache entry: what it is, what was wrong, and what was done about it."""

    entry: str
    problem: str
    action: str

    def __str__(self) -> str:
        return f"{self.entry}: {self.problem} ({self.action})"


@dataclass(slots=True)
class CacheReport:
    """Result of :func:`modelshelf.uri.verify_cache`; truthy when nothing was bad.

    Attributes:
        checked: entries checked (blobs, folders, files, memos).
        bad: entries that were not the bytes they claim (or not private).
        repaired: bad entries fixed in place, fetched again or rebuilt from verified blobs.
        removed: bad entries deleted (fetched again the next time they are needed).
        bytes_checked: bytes re-hashed.
        problems: one line per bad entry.
        notes: what could not be checked (say, memos while the shelf is unreachable).
    """

    cache: str = ""
    checked: int = 0
    bad: int = 0
    repaired: int = 0
    removed: int = 0
    bytes_checked: int = 0
    problems: list[CacheProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.bad == 0

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        head = (
            f"cache {self.cache}: {self.checked} entries checked, {self.bad} bad, "
            f"{self.repaired} repaired, {self.removed} removed"
        )
        return "\n".join([head, *(f"  {p}" for p in self.problems)])

    def add(self, entry: str, problem: str, action: str) -> None:
        self.bad += 1
        if action in ("refetched", "rebuilt", "fixed"):
            self.repaired += 1
        elif action == "removed":
            self.removed += 1
        self.problems.append(CacheProblem(entry, problem, action))


def check_entries(
    cache: LocalCache, blobs: Any, report: CacheReport, *, repair: bool
) -> list[tuple[str, Digest, str]]:
    """Re-hash every cached folder and file; rebuild bad ones from verified blobs.

    Returns the entries that are intact at the end (kind, digest, name).
    """
    intact: list[tuple[str, Digest, str]] = []
    for kind, digest, name, path in _cached_entries(cache):
        if digest is None:
            report.checked += 1
            _remove(path)
            report.add(str(path), "not a cache entry", "removed")
            continue
        report.checked += 1
        tree = _cached_tree(cache, digest) if kind == "tree" else None
        if kind == "tree" and tree is None and blobs is not None:
            try:
                tree = blobs.read_tree(digest)
            except (NotFoundError, OSError, ValueError):
                tree = None
        if kind == "tree" and tree is None:
            _remove(path)
            report.add(str(path), "its manifest is neither cached nor on the shelf", "removed")
            continue
        entries = _entries(kind, digest, tree, name)
        root = path if kind == "tree" else path.parent
        report.bytes_checked += sum(_size(root.joinpath(*rel.split("/"))) for rel, _, _ in entries)
        problems = _problems(cache, _plan(root, entries, listing=kind == "tree"), rehash=True)
        if not problems:
            intact.append((kind, digest, name))
            continue
        _remove(path)
        action = "removed"
        if repair and blobs is not None:
            try:
                materialise_cached(cache, blobs, kind, digest, tree, name)
                action = "rebuilt"
                intact.append((kind, digest, name))
            except (NotFoundError, IntegrityError, OSError):
                action = "removed"
        report.add(str(path), "; ".join(problems[:3]), action)
    return intact


def _size(path: Path) -> int:
    try:
        return os.lstat(path).st_size
    except FileNotFoundError:
        return 0


def _cached_entries(cache: LocalCache) -> Iterable[tuple[str, Digest | None, str, Path]]:
    trees = cache.root / "trees"
    for entry in _scan(trees):
        if entry.name.startswith((".tmp-", ".bad-")):
            continue
        yield "tree", _hex(entry.name), "", Path(entry.path)
    for folder in _scan(cache.root / "files"):
        digest = _hex(folder.name)
        if digest is None or not folder.is_dir(follow_symlinks=False):
            if not folder.name.startswith((".tmp-", ".bad-")):
                yield "blob", None, "", Path(folder.path)
            continue
        for file in _scan(Path(folder.path)):
            if not file.name.startswith((".tmp-", ".bad-")):
                yield "blob", digest, file.name, Path(file.path)


def _scan(path: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(path) as it:
            return sorted(it, key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return []


def _hex(name: str) -> Digest | None:
    try:
        return Digest.parse(f"sha256:{name}")
    except ValueError:
        return None


def check_memos(cache: LocalCache, report: CacheReport) -> list[tuple[Path, dict[str, Any]]]:
    """Drop every memo that is malformed or not authentic; return the authentic ones."""
    kept: list[tuple[Path, dict[str, Any]]] = []
    for shard in _scan(cache.root / "resolved"):
        for file in _scan(Path(shard.path)):
            path = Path(file.path)
            report.checked += 1
            try:
                record = _authentic(cache, json.loads(path.read_bytes()))
            except (OSError, ValueError):
                record = None
            expected = None
            if record is not None:
                expected = memo_path(
                    cache, record["shelf"], record["uri"], str(record.get("trust", ""))
                )
            if record is None or expected != path:
                path.unlink(missing_ok=True)
                report.add(str(path), "memo not authentic (edited, copied or damaged)", "removed")
                continue
            kept.append((path, record))
    return kept


def check_private(cache: LocalCache, report: CacheReport) -> None:
    """Every folder 0700 and every file without group or other bits; fix what is not."""
    for folder, dirs, files in os.walk(cache.root):
        for name in [*dirs, *files]:
            path = os.path.join(folder, name)
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                continue
            mode = stat.S_IMODE(st.st_mode)
            if stat.S_ISLNK(st.st_mode) or not mode & 0o077:
                continue
            fixed = 0o700 if stat.S_ISDIR(st.st_mode) else mode & 0o700
            os.chmod(path, fixed)
            report.checked += 1
            report.add(path, f"readable by others (mode {mode:o})", "fixed")


def verify_cache(shelf: str | Shelf | None = None, *, repair: bool = True) -> CacheReport:
    """Re-hash the local cache and repair it; returns what was checked, bad and repaired.

    Every cached blob is hashed again (whatever the memo of stats says); a bad one is removed
    and, with ``repair``, fetched again from ``shelf``. Every cached model folder and file is
    hashed again against its manifest (and must hold exactly its names); a bad one is rebuilt
    from verified blobs. A memo that is not authentic is removed; an authentic memo of an
    immutable URI on ``shelf`` is checked against the shelf when it can be reached, and
    rewritten if the shelf answers another digest. Folders and files readable by other users
    are made private. Works offline (what needs the shelf is skipped, and said in ``notes``).

    Args:
        shelf: the shelf whose cache to check, and to fetch repairs from (default: the
            current shelf).
        repair: fetch or rebuild bad entries (False: only remove them).
    """
    shelf_obj = get_shelf(shelf)
    cache = shelf_obj.blobs.cache
    cache.prepare()
    report = CacheReport(cache=str(cache.root))
    check_private(cache, report)
    blobs = cache.verify_blobs()
    report.checked += blobs.checked
    report.bytes_checked += blobs.bytes_checked
    for digest, problem in blobs.bad:
        action = "removed"
        if repair and cache.lookup(digest) is None:
            try:
                shelf_obj.blobs.fetch(digest)
                action = "refetched"
            except (NotFoundError, IntegrityError, StorageError, OSError):
                action = "removed"
        elif cache.lookup(digest) is not None:
            action = "fixed"
        report.add(f"blob {digest}", problem, action)
    check_entries(cache, shelf_obj.blobs if repair else None, report, repair=repair)
    unreachable = False
    for path, record in check_memos(cache, report):
        if record["shelf"] != shelf_obj.url or record.get("immutable") is not True:
            continue
        if unreachable:
            continue
        try:
            resolved = resolve_uri(record["uri"], shelf_obj)
        except NotFoundError:
            path.unlink(missing_ok=True)
            report.add(str(path), f"{record['uri']} no longer resolves on the shelf", "removed")
            continue
        except (StorageError, OSError) as exc:
            unreachable = True
            report.notes.append(
                f"the shelf {shelf_obj.url} could not be reached ({exc}); memos were checked "
                "for authenticity only"
            )
            continue
        if str(resolved.digest) != record["digest"] or resolved.kind != record["kind"]:
            fixed = {k: record[k] for k in ("immutable", "kind", "name")}
            fixed.update(digest=str(resolved.digest), kind=resolved.kind)
            Memo(cache, shelf_obj.url, record["uri"]).save(fixed)
            report.add(
                str(path),
                f"{record['uri']} remembered as {record['digest']}, the shelf says "
                f"{resolved.digest}",
                "fixed",
            )
    return report
