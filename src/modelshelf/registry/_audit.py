"""Audit: the change history, the state at a past time, and ``verify``.

These read the whole log (batched, from seq 1 or from a checkpoint), unlike the read path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from modelshelf.cas import BlobStore, Digest
from modelshelf.errors import AuthenticityError, MalformedMetadataError, ModelshelfError
from modelshelf.registry._checkpoint import (
    TABLES,
    CheckpointError,
    checkpoint_prefix,
    state_to_tables,
)
from modelshelf.registry._entities import RegistryChange
from modelshelf.registry._log import (
    HINT_KEY,
    LOG_PREFIX,
    log_key,
    parse_commit,
    seq_of_key,
    sha256_hex,
)
from modelshelf.registry._replica import Replica
from modelshelf.registry._state import RegistryState, gc_paused, rollback

__all__ = [
    "RegistryProblem",
    "RegistryVerifyReport",
    "history",
    "replay",
    "state_as_of",
    "verify",
]


@dataclass(frozen=True, slots=True)
class RegistryProblem:
    """One thing ``verify`` found wrong: the object (key), the commit seq if any, and what."""

    key: str
    problem: str
    seq: int | None = None

    def __str__(self) -> str:
        where = f"commit {self.seq} " if self.seq is not None else ""
        return f"{where}({self.key}): {self.problem}"


@dataclass(slots=True)
class RegistryVerifyReport:
    """What :meth:`RegistryClient.verify` checked and found; truthy when nothing is wrong.

    ``notes`` lists harmless findings (e.g. a checkpoint a killed writer left incomplete).
    """

    commits: int = 0
    checkpoints: int = 0
    trees: int = 0
    blobs: int = 0
    problems: list[RegistryProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        head = (
            f"{self.commits} commits, {self.checkpoints} checkpoints, {self.trees} trees, "
            f"{self.blobs} blobs checked: "
        )
        if self.ok:
            return head + "no problems"
        return (
            head
            + f"{len(self.problems)} problem(s):\n"
            + "\n".join(f"  - {p}" for p in self.problems)
        )


def _to_ms(when: datetime | int | float) -> int:
    if isinstance(when, datetime):
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return int(when.timestamp() * 1000)
    return int(when)


def replay(
    replica: Replica,
    *,
    start: RegistryState | None = None,
    stop: Callable[[int, int], bool] | None = None,
    changes: list[RegistryChange] | None = None,
) -> RegistryState:
    """Replay commits onto ``start`` (default: empty) until the end or ``stop(seq, time_ms)``."""
    with gc_paused():
        return _replay(replica, start, stop, changes)


def _replay(
    replica: Replica,
    start: RegistryState | None,
    stop: Callable[[int, int], bool] | None,
    changes: list[RegistryChange] | None,
) -> RegistryState:
    state = start if start is not None else RegistryState()
    trust = replica.trust  # with trusted keys, history and past states are checked as reads are
    for seq, data in replica.log.read_from(state.seq + 1, first=16):
        commit = parse_commit(data, seq)
        if stop is not None and stop(seq, commit.time_ms):
            break
        if trust is not None:
            trust.follow(seq, data, state, commit.actions)
        undo: list[Callable[[], None]] = []
        mark = len(changes) if changes is not None else 0
        try:
            state.apply(
                commit.actions,
                timestamp=commit.time_ms,
                actor=commit.actor,
                seq=seq,
                undo=undo,
                changes=changes,
            )
        except (ModelshelfError, ValueError, TypeError) as exc:
            rollback(undo)
            if changes is not None:
                del changes[mark:]
            state.rejected.append((seq, str(exc)))
        else:
            if changes is not None and b'"signature"' in data:
                _mark_signer(changes, mark, data)
        state.advance(seq, commit.sha256, commit.time_ms, [])
    return state


def _mark_signer(changes: list[RegistryChange], mark: int, data: bytes) -> None:
    from dataclasses import replace

    from modelshelf.signing import signer_of

    signer = signer_of(data)
    for i in range(mark, len(changes)):
        changes[i] = replace(changes[i], signer=signer)


def history(
    replica: Replica, name: str | None = None, since: datetime | int | None = None
) -> list[RegistryChange]:
    """Every change, oldest first; for ``name``, follow the model back through renames."""
    changes: list[RegistryChange] = []
    replay(replica, changes=changes)
    if since is not None:
        if isinstance(since, datetime):
            threshold = _to_ms(since)
            changes = [c for c in changes if c.timestamp >= threshold]
        else:
            changes = [c for c in changes if c.seq > int(since)]
    if name is None:
        return changes
    picked: list[RegistryChange] = []
    current = name
    for change in reversed(changes):
        if change.action == "rename_model" and change.new == current:
            picked.append(change)
            current = str(change.old)
        elif change.name == current:
            picked.append(change)
    picked.reverse()
    return picked


def state_as_of(replica: Replica, when: datetime | int) -> RegistryState:
    """The state after the last commit made at or before ``when``.

    Commit times never go backwards in the log (a writer stamps at least its predecessor's
    time), so the state is that after the longest prefix of commits made by ``when``.
    """
    limit = _to_ms(when)
    start: RegistryState | None = None
    try:
        seqs = replica.checkpoints.list()
    except (ModelshelfError, OSError):
        seqs = []
    for seq in reversed(seqs):
        data = replica.log.read(seq)
        if data is None:
            continue
        try:
            if parse_commit(data, seq).time_ms > limit:
                continue
            start = replica.checkpoints.read(seq)
            break
        except (CheckpointError, MalformedMetadataError):
            continue
    return replay(replica, start=start, stop=lambda _seq, t: t > limit)


def verify(replica: Replica, blobs: BlobStore, *, deep: bool = False) -> RegistryVerifyReport:
    """Check the hash chain, replay, checkpoints, the hint, and every referenced tree/blob."""
    with gc_paused():
        return _verify(replica, blobs, deep)


def _verify(replica: Replica, blobs: BlobStore, deep: bool) -> RegistryVerifyReport:
    report = RegistryVerifyReport()
    storage = replica.storage
    listed = sorted(
        s for s in (seq_of_key(info.key) for info in storage.list(LOG_PREFIX)) if s is not None
    )
    try:
        checkpoint_seqs = set(replica.checkpoints.list())
    except (ModelshelfError, OSError) as exc:
        report.problems.append(RegistryProblem("registry/checkpoints/", f"cannot list: {exc}"))
        checkpoint_seqs = set()
    state = RegistryState()
    prev_hash: str | None = None
    for seq, data in replica.log.read_from(1, first=16):
        report.commits += 1
        key = log_key(seq)
        try:
            commit = parse_commit(data, seq)
        except MalformedMetadataError as exc:
            report.problems.append(RegistryProblem(key, str(exc), seq))
            prev_hash = sha256_hex(data)
            state.advance(seq, prev_hash, state.time_ms, [])
            continue
        if commit.prev != prev_hash:
            if seq == 1:
                report.problems.append(
                    RegistryProblem(
                        key, "the first commit names a predecessor; the log was edited", seq
                    )
                )
            else:
                report.problems.append(
                    RegistryProblem(
                        log_key(seq - 1),
                        f"commit {seq - 1} was edited after it was written: its bytes hash to "
                        f"sha256:{prev_hash}, but commit {seq} recorded sha256:{commit.prev}",
                        seq - 1,
                    )
                )
        undo: list[Callable[[], None]] = []
        try:
            state.apply(
                commit.actions, timestamp=commit.time_ms, actor=commit.actor, seq=seq, undo=undo
            )
        except (ModelshelfError, ValueError, TypeError) as exc:
            rollback(undo)
            report.problems.append(
                RegistryProblem(
                    key,
                    f"commit {seq} is not valid on top of commit {seq - 1} and is ignored by "
                    f"readers: {exc}",
                    seq,
                )
            )
        state.advance(seq, commit.sha256, commit.time_ms, [])
        prev_hash = commit.sha256
        if seq in checkpoint_seqs:
            _check_checkpoint(replica, state, seq, report)
    head = state.seq
    for seq in listed:
        if seq > head:
            report.problems.append(
                RegistryProblem(
                    log_key(seq),
                    f"commit {seq} exists but commit {head + 1} is missing, so "
                    f"readers stop at commit {head}; restore commit {head + 1}",
                    seq,
                )
            )
    for seq in sorted(checkpoint_seqs):
        if seq > head:
            report.problems.append(
                RegistryProblem(
                    checkpoint_prefix(seq), f"checkpoint {seq} is newer than the log's head {head}"
                )
            )
    hint = replica.log.read_hint()
    if hint is not None and hint > head:
        report.problems.append(
            RegistryProblem(
                HINT_KEY, f"the _latest hint names checkpoint {hint}, beyond the log's head {head}"
            )
        )
    elif hint is not None and hint not in checkpoint_seqs:
        report.problems.append(
            RegistryProblem(
                HINT_KEY, f"the _latest hint names checkpoint {hint}, which does not exist"
            )
        )
    _check_blobs(state, blobs, deep, report)
    return report


def _check_checkpoint(
    replica: Replica, state: RegistryState, seq: int, report: RegistryVerifyReport
) -> None:
    prefix = checkpoint_prefix(seq)
    if not replica.checkpoints.exists(seq):
        report.notes.append(
            f"checkpoint {seq} is incomplete (no manifest): a writer stopped while writing it. "
            "Readers ignore it; it is safe to delete"
        )
        return
    report.checkpoints += 1
    try:
        tables = replica.checkpoints.read_tables(seq)
    except CheckpointError as exc:
        report.problems.append(
            RegistryProblem(
                prefix, f"{exc}; readers fall back to an older checkpoint or the log", seq
            )
        )
        return
    except AuthenticityError as exc:
        report.problems.append(RegistryProblem(prefix + "_manifest.json", str(exc), seq))
        return
    expected = state_to_tables(state)
    meta = tables["models"].schema.metadata or {}
    if meta.get(b"modelshelf.head", b"").decode() != (state.head or ""):
        report.problems.append(
            RegistryProblem(
                prefix, f"checkpoint {seq} records another head hash than commit {seq}", seq
            )
        )
    for name in TABLES:
        if not expected[name].equals(tables[name], check_metadata=False):
            report.problems.append(
                RegistryProblem(
                    f"{prefix}{name}.parquet",
                    f"checkpoint {seq} table {name!r} differs from replaying the log to commit {seq}",
                    seq,
                )
            )


def _check_blobs(
    state: RegistryState, blobs: BlobStore, deep: bool, report: RegistryVerifyReport
) -> None:
    users: dict[str, list[str]] = {}
    for model in state.models.values():
        for rec in state.live_versions(model):
            users.setdefault(rec.digest, []).append(f"{model.name!r} version {rec.version}")
    for digest, who in sorted(users.items()):
        report.trees += 1
        try:
            found = blobs.verify(Digest.parse(digest), deep=deep)
        except (ModelshelfError, OSError) as exc:
            report.problems.append(
                RegistryProblem(
                    Digest.parse(digest).key, f"tree of {who[0]} cannot be checked: {exc}"
                )
            )
            continue
        report.blobs += max(0, found.checked - 1)
        for problem in found.problems:
            users_text = ", ".join(who[:3]) + (f" and {len(who) - 3} more" if len(who) > 3 else "")
            kind = "tree manifest" if problem.digest == digest else "blob"
            report.problems.append(
                RegistryProblem(
                    problem.key, f"{kind} {problem.digest} of {users_text}: {problem.problem}"
                )
            )
