"""The commit log: ``registry/log/<20-digit seq>.json``, each created with create-if-absent.

A commit is canonical JSON::

    {"actions": [...], "actor": "ana@host", "client": "modelshelf 0.1.0", "format": 1,
     "nonce": "<32 hex>", "prev": "sha256:<hex of commit seq-1's bytes>" | null,
     "seq": 7, "time": "2026-11-22T10:58:07.123Z", "time_ms": 1795345087123}

``prev`` chains every commit to the bytes of the one before, so editing any commit breaks the
chain at the next one. The nonce tells a writer, after an ambiguous outcome (timeout, 5xx),
whether the commit it finds at its seq is its own.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from modelshelf._actor import whoami
from modelshelf.errors import (
    InvalidInputError,
    LogHoleError,
    MalformedMetadataError,
    ObjectNotFoundError,
)
from modelshelf.registry._actions import Action
from modelshelf.storage import Storage

__all__ = [
    "CHECKPOINTS_PREFIX",
    "Commit",
    "CommitLog",
    "HINT_KEY",
    "LOG_PREFIX",
    "PROBE",
    "actor",
    "client_version",
    "encode_commit",
    "hole_error",
    "log_key",
    "parse_commit",
    "seq_of_key",
    "sha256_hex",
]

FORMAT = 1
LOG_PREFIX = "registry/log/"
CHECKPOINTS_PREFIX = "registry/checkpoints/"
HINT_KEY = "registry/_latest"
READ_BATCH = 16
# Where a writer looks past the end of the log before it takes the end for real: a hole of
# up to 4 missing commits is always seen, and a longer one whenever the commits after it
# reach one of the farther offsets (a tail at least about as long as the hole).
PROBE = (1, 2, 3, 4, 8, 16, 32, 64)
REPAIR_HINT = (
    "run `modelshelf verify` to see every missing commit, then `modelshelf repair` "
    "(see 'Holes in the log' in the registry documentation)"
)


def hole_error(missing: int, next_present: int | None, *, evidence: str = "") -> LogHoleError:
    """The error for a log whose commit ``missing`` is absent while later history exists."""
    if next_present is not None:
        later = f"commit {next_present} ({log_key(next_present)!r}) exists"
    else:
        later = evidence or "later commits were written"
    return LogHoleError(
        f"the registry log has a hole: commit {missing} ({log_key(missing)!r}) is missing but "
        f"{later}. Writing now would fork history, so modelshelf refuses to read or write "
        f"past it; {REPAIR_HINT}",
        missing=missing,
        next_present=next_present,
    )


def log_key(seq: int) -> str:
    return f"{LOG_PREFIX}{seq:020d}.json"


def seq_of_key(key: str) -> int | None:
    """The seq a log key names, or None for stray keys."""
    name = key.rsplit("/", 1)[-1]
    stem, dot, ext = name.partition(".")
    if dot and ext == "json" and len(stem) == 20 and stem.isdigit():
        return int(stem)
    return None


def actor() -> str:
    """Who commits: ``user@host`` or ``MODELSHELF_ACTOR`` (:func:`modelshelf._actor.whoami`)."""
    return str(whoami())


_VERSION: str | None = None


def client_version() -> str:
    global _VERSION
    if _VERSION is None:
        try:
            _VERSION = f"modelshelf {metadata.version('modelshelf')}"
        except metadata.PackageNotFoundError:
            _VERSION = "modelshelf (unknown version)"
    return _VERSION


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class Commit:
    """A parsed commit; ``sha256`` is the hash of its exact bytes."""

    seq: int
    prev: str | None
    time_ms: int
    actor: str
    client: str
    nonce: str
    actions: list[Action]
    sha256: str

    __hash__ = None  # type: ignore[assignment]


def encode_commit(
    seq: int, prev: str | None, actions: list[Action], *, time_ms: int, nonce: str
) -> bytes:
    when = datetime.fromtimestamp(time_ms / 1000, tz=UTC)
    body = {
        "format": FORMAT,
        "seq": seq,
        "prev": f"sha256:{prev}" if prev else None,
        "time": when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{time_ms % 1000:03d}Z",
        "time_ms": time_ms,
        "actor": actor(),
        "client": client_version(),
        "nonce": nonce,
        "actions": actions,
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    try:
        return text.encode()
    except UnicodeEncodeError as exc:
        # The API checks every string it is given; this guards the fields it does not own.
        raise InvalidInputError(
            f"registry commit {seq} holds {text[exc.start : exc.end]!r} (near "
            f"{text[max(0, exc.start - 40) : exc.start]!r}), a lone surrogate: not valid Unicode, "
            "so it cannot be stored. Pass proper text (decode bytes with their real encoding)"
        ) from None


def parse_commit(data: bytes, seq: int) -> Commit:
    """Parse and check the shape of commit ``seq``.

    Raises:
        MalformedMetadataError: not JSON, a missing field, or the seq inside differs.
    """
    try:
        body = json.loads(data)
        if not isinstance(body, dict):
            raise TypeError("not an object")
        prev = body["prev"]
        commit = Commit(
            seq=int(body["seq"]),
            prev=prev[len("sha256:") :] if isinstance(prev, str) else None,
            time_ms=int(body["time_ms"]),
            actor=str(body["actor"]),
            client=str(body.get("client", "")),
            nonce=str(body["nonce"]),
            actions=list(body["actions"]),
            sha256=sha256_hex(data),
        )
    except (ValueError, TypeError, KeyError) as exc:
        raise MalformedMetadataError(
            f"registry commit {log_key(seq)!r} is not a valid commit ({exc}); "
            "run verify() and restore it from a copy"
        ) from exc
    if commit.seq != seq:
        raise MalformedMetadataError(
            f"registry commit {log_key(seq)!r} says it is seq {commit.seq}; it was moved or edited"
        )
    if int(body.get("format", 1)) > FORMAT:
        raise MalformedMetadataError(
            f"registry commit {log_key(seq)!r} has format {body.get('format')}, newer than this "
            "modelshelf understands; upgrade modelshelf"
        )
    return commit


class CommitLog:
    """Byte-level access to the log and the ``_latest`` hint of one shelf."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def read_from(
        self, start: int, *, first: int = 1, probe: bool = False
    ) -> Iterator[tuple[int, bytes]]:
        """Commits ``start``, ``start+1``, … until the first absent one.

        Never lists the log: the first absent seq is the end, unless a later commit exists,
        which makes it a hole (:class:`LogHoleError`). Reads are batched, ``first`` keys at
        first, then growing up to 16 per round, so an up-to-date reader pays one read and a
        reader far behind pays one round trip per 16 commits. Commits past the end that a
        batch read anyway are checked for free; ``probe`` (writers) also reads the seqs at
        :data:`PROBE` offsets past the end, in the same round trip when the reader was up to
        date, so a writer never takes a deleted seq for the end.

        Raises:
            LogHoleError: a commit is missing while a later one exists.
        """
        seq, batch = start, max(1, first)
        while True:
            seqs = list(range(seq, seq + batch))
            # probe along with the first round only: past it, the reader was behind anyway
            extra = [seq + d for d in PROBE if d >= batch] if probe and seq == start else []
            got = self._read_seqs(seqs + extra)
            for at in seqs:
                data = got.get(at)
                if data is None:
                    data = self._end_or_hole(at, got, probe)
                    if data is None:
                        return
                yield at, data
                seq = at + 1
            # 1, 1, 2, 4, … : a writer that lost a race usually finds exactly one new commit
            batch = min(batch * 2, READ_BATCH) if seq - start > 1 else batch

    def _read_seqs(self, seqs: list[int]) -> dict[int, bytes | None]:
        if len(seqs) == 1:
            return {seqs[0]: self.read(seqs[0])}
        got = self.storage.read_many([log_key(s) for s in seqs])
        return {s: got.get(log_key(s)) for s in seqs}

    def _end_or_hole(self, absent: int, got: dict[int, bytes | None], probe: bool) -> bytes | None:
        """``absent`` was not there: None if it is the end, its bytes if it appeared since."""
        later = [s for s, data in got.items() if s > absent and data is not None]
        if not later and probe:
            wanted = [absent + d for d in PROBE if absent + d not in got]
            if wanted:
                later = [s for s, data in self._read_seqs(wanted).items() if data is not None]
        if not later:
            return None
        # The keys of one batch are read in no set order: a commit may have been created at
        # `absent` after we looked and its successor before. Look again, now that the later
        # one is known to exist (its writer read `absent` before creating it).
        again = self.read(absent)
        if again is not None:
            return again
        raise hole_error(absent, min(later))

    def first_after(self, seq: int) -> int | None:
        """The lowest seq above ``seq`` that exists, by listing the log (audit/error paths only)."""
        found = [s for s in (seq_of_key(i.key) for i in self.storage.list(LOG_PREFIX)) if s]
        later = [s for s in found if s > seq]
        return min(later) if later else None

    def read(self, seq: int) -> bytes | None:
        try:
            return self.storage.read(log_key(seq))
        except ObjectNotFoundError:
            return None

    def create(self, seq: int, data: bytes) -> None:
        """Create commit ``seq``. Raises AlreadyExistsError when another writer has it."""
        self.storage.write(log_key(seq), data)

    def read_hint(self) -> int | None:
        """The checkpoint seq the ``_latest`` hint names (None if absent or damaged)."""
        return self.read_hint_detail()[0]

    def read_hint_detail(self) -> tuple[int | None, str | None]:
        """``(seq, sha256 of that checkpoint's manifest)``; the hash lets a reader trust a
        locally cached copy of the checkpoint without fetching it again."""
        try:
            body = json.loads(self.storage.read(HINT_KEY))
            seq = int(body["seq"])
            manifest = body.get("manifest")
            return (seq if seq > 0 else None), (manifest if isinstance(manifest, str) else None)
        except ObjectNotFoundError:
            return None, None
        except (ValueError, TypeError, KeyError, AttributeError):
            return None, None  # a damaged hint is only a hint: fall back to listing checkpoints

    def hint_status(self) -> tuple[int | None, str | None, str | None]:
        """``(seq, manifest sha256, damage)``: ``damage`` says what is wrong with a hint that
        exists but cannot be used (None when it is absent or fine). For ``verify``."""
        try:
            raw = self.storage.read(HINT_KEY)
        except ObjectNotFoundError:
            return None, None, None
        try:
            body = json.loads(raw)
            seq = int(body["seq"])
            manifest = body.get("manifest")
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            return None, None, f"the _latest hint is damaged ({type(exc).__name__}: {exc})"
        if seq <= 0:
            return None, None, f"the _latest hint names checkpoint {seq}, which cannot exist"
        if manifest is not None and not isinstance(manifest, str):
            return seq, None, "the _latest hint has a manifest hash that is not a string"
        return seq, manifest, None

    def write_hint(self, seq: int, manifest: str | None = None) -> None:
        body: dict[str, Any] = {"seq": seq}
        if manifest:
            body["manifest"] = manifest
        self.storage.write(HINT_KEY, json.dumps(body, sort_keys=True).encode(), overwrite=True)

    def new_nonce(self) -> str:
        return uuid.uuid4().hex
