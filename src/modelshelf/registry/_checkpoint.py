"""Parquet checkpoints of the whole registry state.

Layout (immutable once written; see docs/explanation/registry.md for the schema)::

    registry/checkpoints/<20-digit seq>/models.parquet
    registry/checkpoints/<20-digit seq>/versions.parquet
    registry/checkpoints/<20-digit seq>/aliases.parquet
    registry/checkpoints/<20-digit seq>/tags.parquet
    registry/checkpoints/<20-digit seq>/_manifest.json   written last: sha256 + size per table

A checkpoint is complete only when its manifest exists, and a table is trusted only when its
bytes match the manifest, so a truncated or edited file is noticed (and readers fall back to
an older checkpoint or the log). Verified files are cached locally by name.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from modelshelf.cas import write_private
from modelshelf.errors import CheckpointError
from modelshelf.registry._log import CHECKPOINTS_PREFIX, sha256_hex
from modelshelf.registry._state import ModelRec, RegistryState, VersionRec, gc_paused
from modelshelf.storage import Storage

__all__ = [
    "MANIFEST",
    "TABLES",
    "CheckpointError",
    "CheckpointStore",
    "checkpoint_prefix",
    "state_from_tables",
    "state_to_tables",
]

TABLES = ("models", "versions", "aliases", "tags")
MANIFEST = "_manifest.json"
FORMAT = 1


def checkpoint_prefix(seq: int) -> str:
    return f"{CHECKPOINTS_PREFIX}{seq:020d}/"


def _schemas() -> dict[str, Any]:
    import pyarrow as pa

    s, i, b = pa.string(), pa.int64(), pa.bool_()
    return {
        "models": pa.schema([
            ("name", s), ("creation_timestamp", i), ("last_updated_timestamp", i),
            ("description", s), ("next_version", i),
        ]),
        "versions": pa.schema([
            ("name", s), ("version", i), ("creation_timestamp", i),
            ("last_updated_timestamp", i), ("digest", s), ("source", s), ("description", s),
            ("user_id", s), ("current_stage", s), ("run_id", s), ("run_link", s),
            ("status", s), ("status_message", s), ("model_id", s), ("lineage", s),
            ("deleted", b), ("deleted_timestamp", i),
        ]),
        "aliases": pa.schema([("name", s), ("alias", s), ("version", i)]),
        "tags": pa.schema([("name", s), ("version", i), ("key", s), ("value", s)]),
    }  # fmt: skip


def state_to_tables(state: RegistryState) -> dict[str, Any]:
    """The state as four pyarrow Tables (rows sorted by name, version, key)."""
    import pyarrow as pa

    schemas = _schemas()
    meta = {
        b"modelshelf.format": str(FORMAT).encode(),
        b"modelshelf.seq": str(state.seq).encode(),
        b"modelshelf.head": (state.head or "").encode(),
        b"modelshelf.time_ms": str(state.time_ms).encode(),
    }
    models = [state.models[name] for name in sorted(state.models)]
    recs = [(m.name, r) for m in models for r in m.versions.values()]
    cols: dict[str, dict[str, list[Any]]] = {
        "models": {
            "name": [m.name for m in models],
            "creation_timestamp": [m.creation_timestamp for m in models],
            "last_updated_timestamp": [m.last_updated_timestamp for m in models],
            "description": [m.description for m in models],
            "next_version": [m.next_version for m in models],
        },
        "versions": {
            "name": [n for n, _ in recs],
            "version": [r.version for _, r in recs],
            "creation_timestamp": [r.creation_timestamp for _, r in recs],
            "last_updated_timestamp": [r.last_updated_timestamp for _, r in recs],
            "digest": [r.digest for _, r in recs],
            "source": [r.source for _, r in recs],
            "description": [r.description for _, r in recs],
            "user_id": [r.user_id for _, r in recs],
            "current_stage": [r.current_stage for _, r in recs],
            "run_id": [r.run_id for _, r in recs],
            "run_link": [r.run_link for _, r in recs],
            "status": [r.status for _, r in recs],
            "status_message": [r.status_message for _, r in recs],
            "model_id": [r.model_id for _, r in recs],
            "lineage": [
                json.dumps(r.lineage, sort_keys=True) if r.lineage else None for _, r in recs
            ],
            "deleted": [r.deleted for _, r in recs],
            "deleted_timestamp": [r.deleted_timestamp for _, r in recs],
        },
        "aliases": {"name": [], "alias": [], "version": []},
        "tags": {"name": [], "version": [], "key": [], "value": []},
    }
    for m in models:
        for alias in sorted(m.aliases):
            cols["aliases"]["name"].append(m.name)
            cols["aliases"]["alias"].append(alias)
            cols["aliases"]["version"].append(m.aliases[alias])
        rows: list[tuple[int | None, str, str]] = [(None, k, v) for k, v in sorted(m.tags.items())]
        for r in m.versions.values():
            rows.extend((r.version, k, v) for k, v in sorted(r.tags.items()))
        for version, key, value in rows:
            cols["tags"]["name"].append(m.name)
            cols["tags"]["version"].append(version)
            cols["tags"]["key"].append(key)
            cols["tags"]["value"].append(value)
    return {
        name: pa.Table.from_pydict(cols[name], schema=schemas[name].with_metadata(meta))
        for name in TABLES
    }


def state_from_tables(tables: dict[str, Any]) -> RegistryState:
    """Rebuild a state from the four tables of a checkpoint.

    Raises:
        CheckpointError: the tables disagree with each other or lack metadata.
    """
    meta = tables["models"].schema.metadata or {}
    try:
        seq = int(meta[b"modelshelf.seq"])
        head = meta[b"modelshelf.head"].decode() or None
        time_ms = int(meta.get(b"modelshelf.time_ms", b"0"))
    except (KeyError, ValueError) as exc:
        raise CheckpointError(f"checkpoint tables lack modelshelf metadata ({exc})") from exc
    for name in TABLES:
        other = tables[name].schema.metadata or {}
        if other.get(b"modelshelf.seq") != meta[b"modelshelf.seq"]:
            raise CheckpointError(f"checkpoint table {name!r} belongs to another checkpoint")
    state = RegistryState()
    state.seq, state.head, state.time_ms = seq, head, time_ms
    m = tables["models"].to_pydict()
    for row in zip(
        m["name"],
        m["creation_timestamp"],
        m["last_updated_timestamp"],
        m["description"],
        m["next_version"],
        strict=False,
    ):
        name, created, updated, description, next_version = row
        state.models[name] = ModelRec(
            name, created, updated, description, next_version=next_version
        )
    v = tables["versions"].to_pydict()
    try:
        for i, (name, number) in enumerate(zip(v["name"], v["version"], strict=True)):
            lineage = v["lineage"][i]
            state.models[name].versions[number] = VersionRec(
                version=number,
                creation_timestamp=v["creation_timestamp"][i],
                last_updated_timestamp=v["last_updated_timestamp"][i],
                digest=v["digest"][i],
                source=v["source"][i] or "",
                description=v["description"][i],
                user_id=v["user_id"][i],
                current_stage=v["current_stage"][i],
                run_id=v["run_id"][i],
                run_link=v["run_link"][i],
                status=v["status"][i],
                status_message=v["status_message"][i],
                model_id=v["model_id"][i],
                lineage=json.loads(lineage) if lineage else {},
                deleted_timestamp=v["deleted_timestamp"][i],
            )
        a = tables["aliases"].to_pydict()
        for name, alias, version in zip(a["name"], a["alias"], a["version"], strict=False):
            state.models[name].aliases[alias] = version
        t = tables["tags"].to_pydict()
        for name, version, key, value in zip(
            t["name"], t["version"], t["key"], t["value"], strict=False
        ):
            model = state.models[name]
            target = model.tags if version is None else model.versions[version].tags
            target[key] = value
    except KeyError as exc:
        raise CheckpointError(
            f"checkpoint tables disagree: {exc} is referenced but absent"
        ) from exc
    for model in state.models.values():  # keep versions in number order whatever the row order
        if any(a > b for a, b in zip(model.versions, list(model.versions)[1:], strict=False)):
            model.versions = dict(sorted(model.versions.items()))
    return state


def _to_parquet(table: Any) -> bytes:
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def _from_parquet(data: bytes) -> Any:
    import pyarrow.parquet as pq

    return pq.read_table(io.BytesIO(data))


class CheckpointStore:
    """Reads and writes checkpoints of one shelf, through a local cache of verified files.

    Args:
        storage: the shelf's storage.
        cache_dir: where verified checkpoint files are cached (None: no cache).
    """

    def __init__(self, storage: Storage, cache_dir: Path | None) -> None:
        self.storage = storage
        self.cache_dir = cache_dir
        # With trusted keys: raises SignatureError unless the manifest is signed by one.
        self.check_manifest: Callable[[int, bytes], None] | None = None

    # ------------------------------------------------------------------------------ write
    def write(
        self,
        state: RegistryState,
        *,
        fault: Any = None,
        seal: Callable[[int, dict[str, Any]], bytes] | None = None,
    ) -> str:
        """Write a checkpoint of ``state`` (tables first, the manifest last).

        Returns the sha256 of the manifest's bytes (recorded in the ``_latest`` hint).
        """
        prefix = checkpoint_prefix(state.seq)
        tables = state_to_tables(state)
        files: dict[str, bytes] = {f"{name}.parquet": _to_parquet(tables[name]) for name in TABLES}
        for fname, data in files.items():
            self._create(prefix + fname, data)
            if fault is not None:
                fault("during_checkpoint")
        manifest = {
            "format": FORMAT,
            "seq": state.seq,
            "head": state.head,
            "files": {f: {"sha256": sha256_hex(d), "size": len(d)} for f, d in files.items()},
        }
        data = (
            json.dumps(manifest, sort_keys=True).encode()
            if seal is None
            else seal(state.seq, manifest)
        )
        if not self._create(prefix + MANIFEST, data):
            data = self.storage.read(prefix + MANIFEST)  # another writer's copy came first
        return sha256_hex(data)

    def _create(self, key: str, data: bytes) -> bool:
        from modelshelf.errors import AlreadyExistsError

        try:
            self.storage.write(key, data)
            return True
        except AlreadyExistsError:
            return False  # checkpoints of one seq hold the same state; keep the first one

    # ------------------------------------------------------------------------------- read
    def read(self, seq: int, manifest: str | None = None) -> RegistryState:
        """Load checkpoint ``seq`` (cached files first; the rest in one batched read).

        Raises:
            CheckpointError: missing, incomplete, or a file does not match the manifest.
        """
        with gc_paused():
            return state_from_tables(self.read_tables(seq, manifest))

    def read_tables(self, seq: int, manifest: str | None = None) -> dict[str, Any]:
        """The four tables of checkpoint ``seq``, verified. Raises CheckpointError.

        ``manifest`` (from the hint) is the expected sha256 of the manifest: a cached copy
        that differs (say, of a shelf that was wiped and re-created) is not used.
        """
        try:
            return self._read_tables(seq, use_cache=True, expect=manifest)
        except CheckpointError:
            if self.cache_dir is None:
                raise
            return self._read_tables(seq, use_cache=False)  # a damaged cached copy

    def _read_tables(
        self, seq: int, *, use_cache: bool, expect: str | None = None
    ) -> dict[str, Any]:
        prefix = checkpoint_prefix(seq)
        names = [MANIFEST] + [f"{t}.parquet" for t in TABLES]
        cached = {n: self._cache_get(seq, n) if use_cache else None for n in names}
        cached_manifest = cached[MANIFEST]
        if cached_manifest is not None and expect and sha256_hex(cached_manifest) != expect:
            cached = dict.fromkeys(names)
        wanted = [prefix + n for n in names if cached[n] is None]
        fetched = self.storage.read_many(wanted) if wanted else {}
        raw = {n: cached[n] if cached[n] is not None else fetched.get(prefix + n) for n in names}
        if raw[MANIFEST] is None:
            raise CheckpointError(f"checkpoint {seq} is missing or incomplete (no {MANIFEST})")
        try:
            manifest = json.loads(raw[MANIFEST])  # type: ignore[arg-type]
            files = manifest["files"]
            if int(manifest["seq"]) != seq:
                raise ValueError(f"manifest says seq {manifest['seq']}")
        except (ValueError, TypeError, KeyError) as exc:
            self._cache_drop(seq, MANIFEST)
            raise CheckpointError(f"checkpoint {seq}: damaged manifest ({exc})") from exc
        if self.check_manifest is not None:
            self.check_manifest(seq, raw[MANIFEST])  # type: ignore[arg-type]
        tables: dict[str, Any] = {}
        for table in TABLES:
            fname = f"{table}.parquet"
            data = raw[fname]
            if data is None:
                raise CheckpointError(f"checkpoint {seq}: {prefix + fname} is missing")
            expected = files.get(fname, {}).get("sha256")
            if sha256_hex(data) != expected:
                self._cache_drop(seq, fname)
                raise CheckpointError(
                    f"checkpoint {seq}: {prefix + fname} is corrupt (its sha256 differs from "
                    "the checkpoint manifest)"
                )
            try:
                tables[table] = _from_parquet(data)
            except Exception as exc:  # noqa: BLE001 - any parse failure means "unusable"
                raise CheckpointError(f"checkpoint {seq}: {prefix + fname} is unreadable") from exc
        for name in names:
            if cached[name] is None and raw[name] is not None:
                self._cache_put(seq, name, raw[name])  # type: ignore[arg-type]
        return tables

    def list(self) -> list[int]:
        """Seqs of the checkpoints present (complete or not), ascending. Lists one folder."""
        seqs: set[int] = set()
        for info in self.storage.list(CHECKPOINTS_PREFIX):
            part = info.key[len(CHECKPOINTS_PREFIX) :].split("/", 1)[0]
            if len(part) == 20 and part.isdigit():
                seqs.add(int(part))
        return sorted(seqs)

    def exists(self, seq: int) -> bool:
        return self.storage.exists(checkpoint_prefix(seq) + MANIFEST)

    # ------------------------------------------------------------------------------ cache
    def _cache_path(self, seq: int, name: str) -> Path | None:
        if self.cache_dir is None:
            return None
        return self.cache_dir / "registry" / "checkpoints" / f"{seq:020d}" / name

    def _cache_get(self, seq: int, name: str) -> bytes | None:
        path = self._cache_path(seq, name)
        if path is None:
            return None
        try:
            return path.read_bytes()
        except OSError:
            return None

    def _cache_put(self, seq: int, name: str, data: bytes) -> None:
        path = self._cache_path(seq, name)
        if path is None:
            return
        try:
            write_private(path, data)  # the cache is private to its user, whatever the umask
        except OSError:
            pass  # the cache is an optimisation; a read-only home must not fail reads

    def _cache_drop(self, seq: int, name: str) -> None:
        path = self._cache_path(seq, name)
        if path is not None:
            try:
                path.unlink()
            except OSError:
                pass
