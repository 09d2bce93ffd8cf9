"""An in-memory replica of one shelf's registry, kept current by reading the log's tail,
and the one optimistic commit loop every write goes through.

Read path: the ``_latest`` hint names a checkpoint; load it (from the local cache when there),
then read commits seq+1, seq+2, … until one is absent. A warm replica only reads the tail, so
an up-to-date reader pays one read of an absent key. The log is never listed on this path.

Write path: refresh (a replica's first write also lists the log once, to confirm that N is
its end: see :meth:`Replica._confirm_end`), plan the actions against the state at N, apply them tentatively (which
validates them), create commit N+1 with create-if-absent. Losing the race rolls back, waits a
jittered backoff and tries again from the new head, so derived values such as the next version
number are recomputed; after a bounded number of attempts: CommitConflictError.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from modelshelf.errors import (
    AlreadyExistsError,
    CommitConflictError,
    IntegrityError,
    LogHoleError,
    ModelshelfError,
    StorageError,
)
from modelshelf.registry._actions import Action
from modelshelf.registry._checkpoint import CheckpointError, CheckpointStore
from modelshelf.registry._log import (
    CommitLog,
    encode_commit,
    hole_error,
    log_key,
    parse_commit,
    sha256_hex,
)
from modelshelf.registry._state import RegistryState, gc_paused, rollback
from modelshelf.storage import Storage

if TYPE_CHECKING:
    from modelshelf.registry._signing import RegistryTrust
    from modelshelf.signing import SigningKey

__all__ = ["Replica", "clear_replicas", "replica_for"]

_log = logging.getLogger("modelshelf.registry")
_R = TypeVar("_R")

Plan = Callable[[RegistryState], list[Action]]
Fault = Callable[[str], None]

MAX_ATTEMPTS = 100
BACKOFF_BASE = 0.002
BACKOFF_CAP = 2.0
AMBIGUOUS_RETRIES = 3


class Replica:
    """The registry state of one shelf, in memory, plus its commit loop.

    Thread-safe: one lock guards the state. Shared by every client of the same shelf in a
    process (see :func:`replica_for`).
    """

    def __init__(
        self, storage: Storage, cache_dir: Path | None, trust: RegistryTrust | None = None
    ) -> None:
        self.storage = storage
        self.log = CommitLog(storage)
        self.checkpoints = CheckpointStore(storage, cache_dir)
        self.trust = trust  # trusted keys: verify signatures, policy and the remembered head
        if trust is not None:
            self.checkpoints.check_manifest = trust.check_manifest
        self.state: RegistryState | None = None
        self.base_seq = 0  # newest checkpoint this replica knows of
        self.lock = threading.RLock()
        self.loaded_from: int | None = None  # the checkpoint the last cold load started from
        self.commits = 0  # commits this process made, and races it lost (for tests and benchmarks)
        self.end_listed = False  # the log was listed once to confirm its end (first write)
        self.conflicts = 0

    # ------------------------------------------------------------------------------ reads
    def current(self, *, probe: bool = False) -> RegistryState:
        """The state, brought up to date with the log (call with ``lock`` held for consistency).

        ``probe`` (writers): also look past the end of the log, so that a deleted commit is
        never taken for the end (see :meth:`CommitLog.read_from`).

        Raises:
            LogHoleError: the log has a hole where this replica reads it.
        """
        with self.lock:
            try:
                if self.state is None:
                    self._load(probe)
                else:
                    try:
                        self._catch_up(first=1, probe=probe)
                    except IntegrityError:
                        # The shelf may have been wiped and re-created since we last read it.
                        self.state = None
                        self._load(probe)
            except LogHoleError:
                self.state = None  # a state that stops at a hole must not serve later reads
                raise
            assert self.state is not None
            return self.state

    def forget(self) -> None:
        """Drop the in-memory state; the next read loads cold (hint, checkpoint, tail)."""
        with self.lock:
            self.state = None

    def _load(self, probe: bool = False) -> None:
        if self.trust is not None:
            self.trust.restart()
        with gc_paused():
            state, base, hint = self._load_checkpoint()
        self.state, self.base_seq, self.loaded_from = state, base, base or None
        try:
            self._catch_up(first=8, probe=probe)
            if base and self.state.seq == base:
                self._check_head(base)
        except LogHoleError:
            raise
        except IntegrityError:
            if base == 0:
                raise
            # The tail does not chain onto the checkpoint: trust the log, not the checkpoint.
            _log.warning("checkpoint %d does not chain onto the log; replaying the log", base)
            self.state, self.base_seq, self.loaded_from = RegistryState(), 0, None
            self._catch_up(first=8, probe=probe)
        self._check_end(hint, base)

    def _confirm_end(self, end: int) -> None:
        """Before this replica's first commit, list the log once: is ``end`` really its end?

        The probe sees every hole of up to 4 commits, and a longer one only when the commits
        after it reach a probe offset; a short log copied in part, or with commits deleted, may
        have neither a checkpoint nor a hint past the hole. A replica that has followed the log
        since is left to the probe (no listing on the hot path).

        Raises:
            LogHoleError: commit ``end + 1`` is missing while a later one exists.
        """
        later = self.log.first_after(end)
        if later is not None and later > end + 1 and self.log.read(end + 1) is None:
            self.state = None  # a state that stops at a hole must not serve later reads
            raise hole_error(end + 1, later)
        self.end_listed = True

    def _check_end(self, hint: int, checkpoint: int) -> None:
        """The hint or a checkpoint names a seq past the log's end: a hole, or a bad hint?

        Only then is the log listed, to tell the two apart and name the gap.
        """
        assert self.state is not None
        end = self.state.seq
        if max(hint, checkpoint) <= end:
            return
        later = self.log.first_after(end)
        if later is not None:
            raise hole_error(end + 1, later)
        if checkpoint > end:
            raise hole_error(
                end + 1,
                None,
                evidence=f"checkpoint {checkpoint} records the state after commit {checkpoint}",
            )
        _log.warning(
            "the registry's _latest hint names checkpoint %d, past the end of the log (commit "
            "%d); ignoring it. Run verify",
            hint,
            end,
        )

    def _load_checkpoint(self) -> tuple[RegistryState, int, int]:
        """``(state, the checkpoint's seq or 0, the hint's seq or 0)``."""
        hint, manifest = self.log.read_hint_detail()
        tried: set[int] = set()
        if hint is not None:
            tried.add(hint)
            try:
                return self.checkpoints.read(hint, manifest), hint, hint
            except CheckpointError as exc:
                _log.warning(
                    "registry checkpoint %d is unusable (%s); trying older ones", hint, exc
                )
        # No hint, or a bad checkpoint: list the checkpoints folder (not the log) once.
        for seq in reversed(self.checkpoints.list()):
            if seq in tried:
                continue
            try:
                return self.checkpoints.read(seq), seq, hint or 0
            except CheckpointError as exc:
                _log.warning("registry checkpoint %d is unusable (%s)", seq, exc)
        return RegistryState(), 0, hint or 0

    def _check_head(self, seq: int) -> None:
        # No commit after the checkpoint vouched for its head hash; the next commit would
        # chain onto it, so compare it with the commit's bytes (one read).
        data = self.log.read(seq)
        assert self.state is not None
        if data is None or sha256_hex(data) != self.state.head:
            raise IntegrityError(f"checkpoint {seq} does not match commit {seq} of the log")

    def _catch_up(self, *, first: int, probe: bool = False) -> None:
        with gc_paused():
            self._catch_up_unpaused(first, probe)
        if self.trust is not None and self.state is not None:
            self.trust.settle(self.state, self.log.read)

    def _catch_up_unpaused(self, first: int, probe: bool) -> None:
        state = self.state
        assert state is not None
        for seq, data in self.log.read_from(state.seq + 1, first=first, probe=probe):
            commit = parse_commit(data, seq)
            if commit.prev != state.head:
                raise IntegrityError(
                    f"registry commit {seq} ({log_key(seq)!r}) does not chain onto commit "
                    f"{seq - 1}: its 'prev' hash differs from the stored commit {seq - 1}. "
                    "History was edited; run verify() to find the damaged commit"
                )
            if self.trust is not None:
                self.trust.follow(seq, data, state, commit.actions)
            undo: list[Callable[[], None]] = []
            try:
                state.apply(
                    commit.actions, timestamp=commit.time_ms, actor=commit.actor, seq=seq, undo=undo
                )
            except (ModelshelfError, ValueError, TypeError) as exc:
                rollback(undo)
                state.rejected.append((seq, str(exc)))
            state.advance(seq, commit.sha256, commit.time_ms, [])

    # ----------------------------------------------------------------------------- writes
    def commit(
        self,
        plan: Plan,
        result: Callable[[RegistryState], _R],
        *,
        checkpoint_interval: int,
        fault: Fault | None = None,
        signer: SigningKey | None = None,
    ) -> _R:
        """Commit the actions ``plan(state)`` returns; return ``result(state)`` right after.

        ``plan`` raises the typed error for an invalid request; an empty plan commits nothing.

        Raises:
            CommitConflictError: lost the race ``MAX_ATTEMPTS`` times in a row.
            StorageError: the backend failed and the outcome could not be settled.
        """
        for attempt in range(MAX_ATTEMPTS):
            started = time.monotonic()
            with self.lock:
                outcome = self._attempt(plan, result, fault, signer)
                if outcome is not _LOST:
                    done, value = outcome
                    if done:
                        self._maybe_checkpoint(checkpoint_interval, fault, signer)
                    return value  # type: ignore[no-any-return]
            # Exponential backoff in units of what an attempt costs on this backend (about
            # 10 ms on a local disk, 50+ ms on an object store): with a fixed small unit, slow
            # backends would keep colliding and waste requests.
            unit = max(BACKOFF_BASE, time.monotonic() - started)
            time.sleep(random.uniform(0.0, 1.0) * min(BACKOFF_CAP, unit * 2 ** min(attempt + 1, 4)))
        raise CommitConflictError(
            f"gave up committing to the registry of {self.storage.url} after {MAX_ATTEMPTS} "
            "attempts: other writers kept taking the next commit. Try again"
        )

    def _attempt(
        self,
        plan: Plan,
        result: Callable[[RegistryState], Any],
        fault: Fault | None,
        signer: SigningKey | None = None,
    ) -> Any:
        state = self.current(probe=True)  # never take a deleted commit for the end
        if not self.end_listed:
            self._confirm_end(state.seq)
        actions = plan(state)
        if not actions:
            return False, result(state)
        seq = state.seq + 1
        if self.trust is not None:  # a writer refuses what the write policy forbids
            self.trust.check_writer(signer)
            self.trust.check_policy(seq, state, actions, signer.key_id if signer else None)
        now = max(int(time.time() * 1000), state.time_ms)  # commit times never go backwards
        undo: list[Callable[[], None]] = []
        try:
            from modelshelf.registry._log import actor

            with gc_paused():
                state.apply(actions, timestamp=now, actor=actor(), seq=seq, undo=undo)
            nonce = self.log.new_nonce()
            data = encode_commit(seq, state.head, actions, time_ms=now, nonce=nonce)
            if signer is not None:
                from modelshelf.registry._signing import seal_commit

                data = seal_commit(data, seq, signer)
            if fault is not None:
                fault("before_commit")
            if not self._create(seq, data, nonce):
                rollback(undo)
                self.conflicts += 1
                return _LOST
            self.commits += 1
            state.advance(seq, sha256_hex(data), now, undo)
            undo.clear()  # committed: nothing below may roll it back
            if fault is not None:
                fault("after_commit")
            return True, result(state)
        except BaseException:
            rollback(undo)
            raise

    def _create(self, seq: int, data: bytes, nonce: str) -> bool:
        """Create commit ``seq``; True if ours is there, False if another writer's is."""
        for tries in range(AMBIGUOUS_RETRIES + 1):
            try:
                self.log.create(seq, data)
                return True
            except AlreadyExistsError:
                # Storage already read the key back after an ambiguous create: not ours.
                return False
            except (StorageError, OSError) as exc:
                # Ambiguous (timeout, 5xx): the commit may or may not have landed; read it back.
                try:
                    found = self.log.read(seq)
                except (StorageError, OSError):
                    found = None
                if found is not None:
                    return _nonce_of(found) == nonce
                if tries == AMBIGUOUS_RETRIES:
                    raise StorageError(
                        f"could not create registry commit {seq} in {self.storage.url}: {exc}"
                    ) from exc
                time.sleep(0.05 * (tries + 1))
        return False

    # ------------------------------------------------------------------------ checkpoints
    def _maybe_checkpoint(
        self, interval: int, fault: Fault | None, signer: SigningKey | None = None
    ) -> None:
        state = self.state
        if state is None or interval <= 0 or state.seq - self.base_seq < interval:
            return
        if self.trust is not None and not self.trust.may_checkpoint(signer):
            return  # readers pinning the policy would ignore it
        hint = self.log.read_hint() or 0
        if hint > self.base_seq:  # someone else checkpointed recently
            self.base_seq = hint
            if state.seq - hint < interval:
                return
        try:
            with gc_paused():
                manifest = self.checkpoints.write(state, fault=fault, seal=_sealer(signer))
            if fault is not None:
                fault("before_hint")
            self.log.write_hint(state.seq, manifest)
            self.base_seq = state.seq
        except (StorageError, OSError) as exc:
            # The commit stands; a missing checkpoint only makes readers read a longer tail.
            _log.warning("could not write registry checkpoint %d: %s", state.seq, exc)

    def write_checkpoint(self, signer: SigningKey | None = None) -> int:
        """Checkpoint the current state now; returns its seq."""
        with self.lock:
            state = self.current(probe=True)
            if state.seq == 0:
                return 0
            with gc_paused():
                manifest = self.checkpoints.write(state, seal=_sealer(signer))
            self.log.write_hint(state.seq, manifest)
            self.base_seq = state.seq
            return state.seq


_LOST = object()


def _sealer(signer: SigningKey | None) -> Callable[[int, dict[str, Any]], bytes] | None:
    if signer is None:
        return None
    from modelshelf.registry._signing import seal_manifest

    return lambda seq, manifest: seal_manifest(seq, manifest, signer)


def _nonce_of(data: bytes) -> str | None:
    import json

    try:
        return str(json.loads(data).get("nonce"))
    except (ValueError, AttributeError):
        return None


_REPLICAS: dict[tuple[str, ...], Replica] = {}
_REPLICAS_LOCK = threading.Lock()


def replica_for(
    storage: Storage,
    key: tuple[str, ...],
    cache_dir: Path | None,
    trust: RegistryTrust | None = None,
) -> Replica:
    """The process-wide replica for a shelf (one per URL + options + storage type + trust)."""
    with _REPLICAS_LOCK:
        replica = _REPLICAS.get(key)
        if replica is None:
            replica = _REPLICAS[key] = Replica(storage, cache_dir, trust)
        return replica


def clear_replicas() -> None:
    """Forget every in-memory replica (tests and benchmarks use this for cold reads)."""
    with _REPLICAS_LOCK:
        _REPLICAS.clear()
