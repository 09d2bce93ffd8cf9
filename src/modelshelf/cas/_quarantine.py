"""The gc quarantine: where phase 1 of garbage collection moves blobs before phase 2 deletes them.

Layout under the shelf::

    quarantine/<run id>/objects/sha256/<2 hex>/<64 hex>   a blob moved out of objects/
    quarantine/<run id>/_sealed.json                      phase 1 of that run finished

A run id starts with the gc's clock at the start of phase 1 (epoch milliseconds, 15 digits),
so an unsealed quarantine (its gc died) still tells when its moves began. The protocol and
its argument are in :mod:`modelshelf.gc` and the operations docs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass, field

from modelshelf.cas._digest import OBJECTS_PREFIX, Digest, hash_file, key_to_digest
from modelshelf.errors import AlreadyExistsError, ObjectNotFoundError, StorageError
from modelshelf.storage import Storage

__all__ = [
    "QUARANTINE_PREFIX",
    "Quarantine",
    "copy_back",
    "drop",
    "list_quarantines",
    "locate_quarantined",
    "move_in",
    "new_run_id",
    "restore_from_quarantine",
    "seal",
]

QUARANTINE_PREFIX = "quarantine/"
_SEALED = "_sealed.json"
_RUN_ID = re.compile(r"^(\d{15})-[0-9a-f]{12}$")


@dataclass(slots=True)
class Quarantine:
    """One gc run's quarantine: when it started and was sealed (epoch s), and what it holds."""

    run_id: str
    started: float
    sealed: float | None = None
    blobs: dict[Digest, int] = field(default_factory=dict)  # digest -> size

    def key(self, digest: Digest) -> str:
        return quarantine_key(self.run_id, digest)

    def moves_ended(self, window: float) -> float:
        """The instant after which no blob moves in: sealed, or (gc died) start + window."""
        return self.sealed if self.sealed is not None else self.started + window

    def due(self, now: float, window: float, skew: float) -> bool:
        """Phase 2 may run: every writer that saw one of its blobs before it moved has
        committed (``window``), whatever the clocks say (``skew``)."""
        return now >= self.moves_ended(window) + window + skew


def new_run_id(now: float | None = None) -> str:
    """A fresh run id that sorts by start time."""
    ms = int((time.time() if now is None else now) * 1000)
    return f"{ms:015d}-{uuid.uuid4().hex[:12]}"


def quarantine_key(run_id: str, digest: Digest) -> str:
    return f"{QUARANTINE_PREFIX}{run_id}/{digest.key}"


def list_quarantines(storage: Storage) -> list[Quarantine]:
    """Every quarantine on the shelf, oldest first (one listing of ``quarantine/``)."""
    runs: dict[str, Quarantine] = {}
    sealed_keys: list[str] = []
    for info in storage.list(QUARANTINE_PREFIX):
        rest = info.key[len(QUARANTINE_PREFIX) :]
        run_id, _, inner = rest.partition("/")
        match = _RUN_ID.match(run_id)
        if match is None:
            continue  # not ours: never touched
        q = runs.setdefault(run_id, Quarantine(run_id, int(match.group(1)) / 1000))
        if inner == _SEALED:
            sealed_keys.append(info.key)
        elif inner.startswith(OBJECTS_PREFIX):
            digest = key_to_digest(inner)
            if digest is not None:
                q.blobs[digest] = info.size
    for key, data in storage.read_many(sealed_keys).items():
        run_id = key[len(QUARANTINE_PREFIX) :].split("/", 1)[0]
        try:
            runs[run_id].sealed = float(json.loads(data or b"{}")["finished"])
        except (ValueError, KeyError, TypeError):
            pass  # unreadable: treated as unsealed, which only waits longer
    return [runs[k] for k in sorted(runs)]


def move_in(storage: Storage, digest: Digest, run_id: str) -> bool:
    """Move one blob from its key into the run's quarantine; False if it was not there.

    Local disk: one rename. Object stores: copy, then delete the original.
    """
    dest = quarantine_key(run_id, digest)
    src_path, dest_path = storage.local_path(digest.key), storage.local_path(dest)
    if src_path is not None and dest_path is not None:
        os.makedirs(os.path.dirname(dest_path), exist_ok=True)
        try:
            os.rename(src_path, dest_path)
        except FileNotFoundError:
            return False
        return True
    with tempfile.TemporaryDirectory(prefix="modelshelf-gc-") as tmp:
        local = os.path.join(tmp, "blob")
        try:
            storage.download([(digest.key, local)])
        except ObjectNotFoundError:
            return False
        storage.upload([(local, dest)])
    storage.delete(digest.key)
    return True


# What one attempt to put a quarantined copy back did.
_RESTORED, _CORRUPT, _UNWRITABLE, _GONE = "restored", "corrupt", "unwritable", "gone"


def copy_back(storage: Storage, digest: Digest, src_key: str) -> bool:
    """Restore a quarantined blob at its key, verified; True if the blob is now at its key.

    The quarantined copy stays (phase 2 removes it). A copy whose bytes do not hash to the
    digest is not restored.
    """
    return _restore(storage, digest, src_key) == _RESTORED


def _restore(storage: Storage, digest: Digest, src_key: str) -> str:
    if storage.exists(digest.key):
        return _RESTORED
    src_path, final = storage.local_path(src_key), storage.local_path(digest.key)
    if src_path is not None and final is not None:
        return _restore_local(src_path, final, digest)
    with tempfile.TemporaryDirectory(prefix="modelshelf-gc-") as tmp:
        local = os.path.join(tmp, "blob")
        try:
            storage.download([(src_key, local)])
        except (FileNotFoundError, ObjectNotFoundError):
            # a concurrent gc restored and dropped it
            return _RESTORED if storage.exists(digest.key) else _GONE
        if hash_file(local)[0] != digest:
            return _CORRUPT
        try:
            if os.path.getsize(local) <= 8 << 20:
                with open(local, "rb") as handle:
                    storage.write(digest.key, handle.read())
            else:
                storage.upload([(local, digest.key)])
        except AlreadyExistsError:
            pass
        except (StorageError, OSError):
            return _UNWRITABLE  # e.g. read-only credentials: the quarantined copy stays readable
    return _RESTORED


def _restore_local(src: str, final: str, digest: Digest) -> str:
    """Local shelf: copy into a temp file beside the blob (a hard link never crosses
    filesystems, and the system temp folder is often another one), verify, link into place."""
    tmp = os.path.join(os.path.dirname(final), f".tmp-{os.getpid()}-{uuid.uuid4().hex}")
    try:
        try:
            os.makedirs(os.path.dirname(final), exist_ok=True)
            shutil.copyfile(src, tmp)
        except FileNotFoundError:
            if not os.path.exists(src):
                return _RESTORED if os.path.exists(final) else _GONE
            return _UNWRITABLE if hash_file(src)[0] == digest else _CORRUPT
        except OSError:  # a read-only shelf: readers may still read the quarantined copy
            return _UNWRITABLE if hash_file(src)[0] == digest else _CORRUPT
        if hash_file(tmp)[0] != digest:
            return _CORRUPT
        try:
            os.chmod(tmp, 0o444)
            os.link(tmp, final)
        except FileExistsError:
            pass
        except OSError:
            return _UNWRITABLE
        return _RESTORED
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def restore_from_quarantine(storage: Storage, digests: set[Digest]) -> set[Digest]:
    """Put back every digest of ``digests`` found in some quarantine; returns those restored."""
    return {d for d, key in locate_quarantined(storage, digests).items() if key == d.key}


def locate_quarantined(storage: Storage, digests: set[Digest]) -> dict[Digest, str]:
    """Where to read each digest of ``digests`` found in some quarantine: its own key once put
    back, else (this process may not write) a verified quarantined copy's key. Readers verify
    the bytes against the digest either way.

    Quarantines are tried newest first; a copy whose bytes do not hash to its digest (damaged
    or planted) is skipped, so it never hides a good copy in an older quarantine.
    """
    found: dict[Digest, str] = {}
    readable: dict[Digest, str] = {}
    if not digests:
        return found
    for q in reversed(list_quarantines(storage)):
        for digest in digests - set(found):
            if digest in q.blobs:
                outcome = _restore(storage, digest, q.key(digest))
                if outcome == _RESTORED:
                    found[digest] = digest.key
                elif outcome == _UNWRITABLE:
                    readable.setdefault(digest, q.key(digest))
    return {**readable, **found}


def seal(storage: Storage, run_id: str, now: float | None = None) -> None:
    """Record that phase 1 of ``run_id`` moved its last blob (gc's clock)."""
    finished = time.time() if now is None else now
    storage.write(
        f"{QUARANTINE_PREFIX}{run_id}/{_SEALED}",
        json.dumps({"finished": finished, "run_id": run_id}).encode(),
        overwrite=True,
    )


def drop(storage: Storage, q: Quarantine, digests: list[Digest]) -> None:
    """Delete quarantined copies, and the quarantine itself once nothing is left in it."""
    for digest in digests:
        storage.delete(q.key(digest))
        q.blobs.pop(digest, None)
    if not q.blobs:
        storage.delete(f"{QUARANTINE_PREFIX}{q.run_id}/{_SEALED}")
        root = storage.local_path(f"{QUARANTINE_PREFIX}{q.run_id}/x")
        if root is not None:
            shutil.rmtree(os.path.dirname(root), ignore_errors=True)
