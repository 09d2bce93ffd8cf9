"""Audit: the change history, the state at a past time, and ``verify``.

These read the whole log (batched, from seq 1 or from a checkpoint), unlike the read path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from modelshelf.cas import BlobStore, Digest
from modelshelf.errors import AuthenticityError, MalformedMetadataError, ModelshelfError
from modelshelf.registry._checkpoint import (
    MANIFEST,
    TABLES,
    CheckpointError,
    checkpoint_prefix,
    state_to_tables,
)
from modelshelf.registry._entities import RegistryChange
from modelshelf.registry._log import (
    HINT_KEY,
    LOG_PREFIX,
    Commit,
    log_key,
    parse_commit,
    seq_of_key,
    sha256_hex,
)
from modelshelf.registry._replica import Replica
from modelshelf.registry._state import RegistryState, gc_paused, rollback

__all__ = [
    "RegistryProblem",
    "find_holes",
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
    for seq, data in replica.log.read_from(state.seq + 1, first=16, probe=True):
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
    holes = find_holes(listed)
    for start, end in holes:
        report.problems.append(RegistryProblem(log_key(start), _hole_text(start, end), start))
    # Replay only the unbroken prefix: past a hole the state would be wrong, but every later
    # commit is still parsed and chain-checked against its predecessor where that exists.
    prefix_end = holes[0][0] - 1 if holes else (listed[-1] if listed else 0)
    state = RegistryState()
    before: tuple[int, str, int] | None = None  # (seq, sha256, time_ms) of the commit before
    for seq, data in _read_listed(replica, listed):
        report.commits += 1
        key = log_key(seq)
        try:
            commit = parse_commit(data, seq)
        except MalformedMetadataError as exc:
            report.problems.append(RegistryProblem(key, str(exc), seq))
            before = (seq, sha256_hex(data), before[2] if before else 0)
            if seq <= prefix_end:
                state.advance(seq, before[1], state.time_ms, [])
            continue
        adjacent = before is not None and before[0] == seq - 1
        if seq == 1 and commit.prev is not None:
            report.problems.append(
                RegistryProblem(
                    key, "the first commit names a predecessor; the log was edited", seq
                )
            )
        elif adjacent and before is not None and commit.prev != before[1]:
            report.problems.append(_chain_problem(seq, commit, before))
        before = (seq, commit.sha256, commit.time_ms)
        if seq > prefix_end:
            continue
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
        if seq in checkpoint_seqs:
            _check_checkpoint(replica, state, seq, report)
    head = listed[-1] if listed else 0
    states = [state]
    if holes:
        after = _newest_checkpoint_after(replica, holes[-1][1], checkpoint_seqs)
        if after is not None:
            states.append(after)
        report.notes.append(
            f"commits after the first hole (commit {holes[0][0]}) were chain-checked but not "
            "replayed; versions' files were checked as of commit "
            f"{prefix_end if after is None else f'{prefix_end} and checkpoint {after.seq}'}"
        )
    for seq in sorted(checkpoint_seqs):
        if seq > head:
            report.problems.append(
                RegistryProblem(
                    checkpoint_prefix(seq), f"checkpoint {seq} is newer than the log's head {head}"
                )
            )
    _check_hint(replica, head, checkpoint_seqs, report)
    _check_blobs(states, blobs, deep, report)
    return report


def _newest_checkpoint_after(
    replica: Replica, seq: int, checkpoint_seqs: set[int]
) -> RegistryState | None:
    for candidate in sorted((s for s in checkpoint_seqs if s > seq), reverse=True):
        try:
            return replica.checkpoints.read(candidate)
        except CheckpointError:
            continue
    return None


def find_holes(listed: list[int]) -> list[tuple[int, int]]:
    """The ranges ``(first, last)`` of seqs missing below the highest listed one."""
    holes: list[tuple[int, int]] = []
    expected = 1
    for seq in listed:
        if seq > expected:
            holes.append((expected, seq - 1))
        expected = seq + 1
    return holes


def _hole_text(start: int, end: int) -> str:
    which = f"commit {start} is missing" if start == end else f"commits {start}..{end} are missing"
    return (
        f"{which} but commit {end + 1} exists: the log has a hole, and readers and writers "
        f"refuse to go past it. Restore {log_key(start)!r} (and any other missing commit) "
        "from a copy of the shelf with `modelshelf repair --from COPY_URL`; see "
        "'Holes in the log' in the registry documentation"
    )


def _chain_problem(seq: int, commit: Commit, before: tuple[int, str, int]) -> RegistryProblem:
    _, sha, time_ms = before
    if time_ms > commit.time_ms:
        # Commit times never go backwards, so a predecessor younger than its successor was
        # created after the successor: the original was deleted and the seq taken again.
        return RegistryProblem(
            log_key(seq - 1),
            f"history forked at commit {seq - 1}: it was written after commit {seq} (the "
            f"original commit {seq - 1}, which commit {seq} chains onto, was deleted and a "
            f"writer created another one). Restore the original with `modelshelf repair "
            "--from COPY_URL`; see 'Holes in the log' in the registry documentation",
            seq - 1,
        )
    return RegistryProblem(
        log_key(seq - 1),
        f"commit {seq - 1} was edited after it was written: its bytes hash to "
        f"sha256:{sha}, but commit {seq} recorded sha256:{commit.prev}",
        seq - 1,
    )


def _read_listed(replica: Replica, listed: list[int]) -> Iterator[tuple[int, bytes]]:
    for i in range(0, len(listed), 64):
        chunk = listed[i : i + 64]
        got = replica.storage.read_many([log_key(s) for s in chunk])
        for seq in chunk:
            data = got.get(log_key(seq))
            if data is not None:  # deleted since the listing: the next verify will see it
                yield seq, data


def _check_hint(
    replica: Replica, head: int, checkpoint_seqs: set[int], report: RegistryVerifyReport
) -> None:
    hint, manifest, damage = replica.log.hint_status()
    repair = "; `modelshelf repair --execute` rewrites it (readers ignore a bad hint meanwhile)"
    if damage is not None:
        report.problems.append(RegistryProblem(HINT_KEY, damage + repair))
    elif hint is not None and hint > head:
        report.problems.append(
            RegistryProblem(
                HINT_KEY,
                f"the _latest hint names checkpoint {hint}, beyond the log's head {head}" + repair,
            )
        )
    elif hint is not None and hint not in checkpoint_seqs:
        report.problems.append(
            RegistryProblem(
                HINT_KEY,
                f"the _latest hint names checkpoint {hint}, which does not exist" + repair,
            )
        )
    elif hint is not None and manifest is not None:
        try:
            actual = sha256_hex(replica.storage.read(checkpoint_prefix(hint) + MANIFEST))
        except (ModelshelfError, OSError):
            return  # an incomplete checkpoint is reported where checkpoints are checked
        if actual != manifest:
            report.problems.append(
                RegistryProblem(
                    HINT_KEY,
                    f"the _latest hint records another manifest hash than checkpoint {hint} "
                    "has" + repair,
                )
            )


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
    states: list[RegistryState], blobs: BlobStore, deep: bool, report: RegistryVerifyReport
) -> None:
    users: dict[str, list[str]] = {}
    for state in states:
        for model in state.models.values():
            for rec in state.live_versions(model):
                user = f"{model.name!r} version {rec.version}"
                if user not in users.setdefault(rec.digest, []):
                    users[rec.digest].append(user)
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
