"""Repairing the log: fill holes from a copy, or (asked for by name) truncate to before them.

Planned first, executed on request, like ``gc``:

* **restore**: a missing commit is copied from another copy of the shelf (a backup, a
  versioned bucket restored elsewhere) only if its bytes hash to what the commit after it
  recorded as ``prev``, so only the original commit can fill the hole; it is created with
  create-if-absent.
* **quarantine** (``truncate=True`` only): when a hole cannot be filled, every commit and
  checkpoint from the first unfillable seq on is moved under ``registry/quarantine/<stamp>/``
  (copied, then deleted, newest first) with a ``record.json`` saying who, when and why, so the
  log ends before the hole and writers can go on. Nothing is deleted that was not copied.
* **hint**: a damaged, leading or dangling ``_latest`` hint is rewritten to the newest complete
  checkpoint at or below the log's head (or removed when there is none).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from modelshelf.errors import AlreadyExistsError, MalformedMetadataError, ModelshelfError
from modelshelf.registry._audit import find_holes
from modelshelf.registry._checkpoint import MANIFEST, checkpoint_prefix
from modelshelf.registry._log import (
    HINT_KEY,
    LOG_PREFIX,
    actor,
    log_key,
    parse_commit,
    seq_of_key,
    sha256_hex,
)
from modelshelf.registry._replica import Replica
from modelshelf.storage import Storage

__all__ = ["QUARANTINE_PREFIX", "RepairPlan", "RepairStep", "plan_repair"]

QUARANTINE_PREFIX = "registry/quarantine/"


@dataclass(frozen=True, slots=True)
class RepairStep:
    """One planned change: ``restore`` a commit, ``quarantine`` a key, or rewrite the ``hint``."""

    kind: str
    key: str
    detail: str
    target: str = ""  # where a quarantined key goes

    def __str__(self) -> str:
        return f"{self.kind} {self.key}: {self.detail}"


@dataclass(slots=True)
class RepairPlan:
    """What :meth:`RegistryClient.plan_repair` would do; nothing changes until :meth:`execute`.

    ``unresolved`` names what the plan cannot fix (a hole no copy fills, without
    ``truncate``); ``executed`` is True once the steps were carried out.
    """

    replica: Replica = field(repr=False)
    holes: list[tuple[int, int]] = field(default_factory=list)
    steps: list[RepairStep] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    executed: bool = False
    _data: dict[str, bytes] = field(default_factory=dict, repr=False)
    _record: dict[str, object] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        """True when the steps leave no known hole behind."""
        return not self.unresolved

    def __str__(self) -> str:
        lines = [f"{len(self.holes)} hole(s) in the log; {len(self.steps)} step(s):"]
        lines += [f"  - {step}" for step in self.steps]
        lines += [f"  ! {text}" for text in self.unresolved]
        if not self.steps and not self.unresolved:
            lines = ["nothing to repair"]
        return "\n".join(lines)

    def execute(self) -> RepairPlan:
        """Carry out the steps (restores first, then the quarantine, newest first, then the
        hint). Safe to run again: every step re-checks what it finds.

        Raises:
            IntegrityError: a restore target holds other bytes than the verified copy.
            StorageError: the backend failed; nothing already copied is lost.
        """
        storage = self.replica.storage
        if self._record:
            storage.write(str(self._record["record"]), json.dumps(self._record, indent=1).encode())
        for step in self.steps:
            if step.kind == "restore":
                _create_same(storage, step.key, self._data[step.key])
        moves = [s for s in self.steps if s.kind == "quarantine"]
        for step in sorted(moves, key=lambda s: s.key, reverse=True):
            data = _read(storage, step.key)
            if data is None:
                continue  # gone already (a rerun)
            _create_same(storage, step.target, data)
            storage.delete(step.key)
        for step in self.steps:
            if step.kind == "hint":
                if step.key in self._data:
                    storage.write(HINT_KEY, self._data[step.key], overwrite=True)
                elif _read(storage, HINT_KEY) is not None:
                    storage.delete(HINT_KEY)
        self.replica.forget()
        self.executed = True
        return self


def plan_repair(
    replica: Replica, *, source: Storage | None = None, truncate: bool = False
) -> RepairPlan:
    """Plan the repair of ``replica``'s log (see the module docstring). Lists the log."""
    storage = replica.storage
    plan = RepairPlan(replica)
    listed = sorted(s for s in (seq_of_key(i.key) for i in storage.list(LOG_PREFIX)) if s)
    head = listed[-1] if listed else 0
    try:
        checkpoints = replica.checkpoints.list()
    except (ModelshelfError, OSError):
        checkpoints = []
    # what a hole's last commit must hash to: what its successor chains onto, or for missing
    # commits at the end, the head a complete checkpoint past the end recorded
    gaps = [(a, b, _prev_of(_read(storage, log_key(b + 1)), b + 1)) for a, b in find_holes(listed)]
    beyond = [c for c in checkpoints if c > head and replica.checkpoints.exists(c)]
    if beyond:
        gaps.append((head + 1, max(beyond), _checkpoint_head(storage, max(beyond))))
    plan.holes = [(a, b) for a, b, _ in gaps]
    cut: int | None = None
    for start, end, expected in gaps:
        failed = _fill(storage, source, start, end, expected, plan)
        if failed is not None:
            plan.unresolved.append(failed[1])
            cut = failed[0] if cut is None else cut
    present = set(listed) | {seq_of_key(s.key) or 0 for s in plan.steps if s.kind == "restore"}
    if cut is not None and truncate:
        plan.unresolved.clear()
        plan.steps = [s for s in plan.steps if (seq_of_key(s.key) or 0) < cut]  # the rest goes
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + f"-{time.time_ns() % 10**9:09d}"
        base = f"{QUARANTINE_PREFIX}{stamp}/"
        moved = [log_key(s) for s in listed if s >= cut]
        for seq in checkpoints:
            if seq >= cut:
                moved += [i.key for i in storage.list(checkpoint_prefix(seq))]
        for key in moved:
            plan.steps.append(RepairStep("quarantine", key, f"move to {base}{key}", base + key))
        plan._record = {
            "record": f"{base}record.json",
            "actor": actor(),
            "time_ms": int(time.time() * 1000),
            "reason": f"commit {cut} is missing and no copy could restore it; the log was "
            f"truncated to end at commit {cut - 1}",
            "moved": moved,
        }
        present = {s for s in present if s < cut}
    elif cut is not None:
        plan.unresolved.append(
            "pass a copy of the shelf to restore from (--from URL), or truncate the log to "
            f"before commit {cut} (--truncate: moves commits {cut}.. and their checkpoints "
            "to registry/quarantine/, which drops their changes from the registry)"
        )
    _plan_hint(replica, plan, max(present) if present else 0, cut if truncate else None)
    return plan


def _fill(
    storage: Storage,
    source: Storage | None,
    start: int,
    end: int,
    expected: str | None,
    plan: RepairPlan,
) -> tuple[int, str] | None:
    """Plan restores for the hole ``start..end``, newest first; (seq, why) if one fails."""
    restored: list[RepairStep] = []
    for seq in range(end, start - 1, -1):
        data = _read(source, log_key(seq))
        if source is None or data is None or expected is None or sha256_hex(data) != expected:
            why = (
                "no copy was given"
                if source is None
                else "the copy lacks it"
                if data is None
                else "the copy's bytes are not the ones the next commit chains onto"
            )
            return seq, f"commit {seq} ({log_key(seq)}) cannot be restored: {why}"
        plan._data[log_key(seq)] = data
        restored.append(RepairStep("restore", log_key(seq), f"from {source.url}, sha256 checked"))
        expected = _prev_of(data, seq)
    before = _read(storage, log_key(start - 1)) if start > 1 else None
    if (sha256_hex(before) if before is not None else None) != expected:
        return start, f"commit {start} from the copy does not chain onto commit {start - 1} here"
    plan.steps.extend(reversed(restored))
    return None


def _checkpoint_head(storage: Storage, seq: int) -> str | None:
    try:
        head = json.loads(_read(storage, checkpoint_prefix(seq) + MANIFEST) or b"{}").get("head")
    except (ValueError, AttributeError):
        return None
    return head if isinstance(head, str) else None


def _plan_hint(replica: Replica, plan: RepairPlan, head: int, cut: int | None) -> None:
    hint, manifest, damage = replica.log.hint_status()
    try:
        listed = replica.checkpoints.list()
    except (ModelshelfError, OSError):
        listed = []
    complete = [s for s in listed if s <= head and replica.checkpoints.exists(s)]
    if cut is not None:
        complete = [s for s in complete if s < cut]
    target = max(complete) if complete else None
    raw = _read(replica.storage, HINT_KEY)
    actual = None
    if target is not None:
        body = _read(replica.storage, checkpoint_prefix(target) + MANIFEST)
        actual = sha256_hex(body) if body is not None else None
    fine = damage is None and hint == target and (manifest is None or manifest == actual)
    if raw is None or fine:
        return
    if target is None:
        plan.steps.append(RepairStep("hint", HINT_KEY, "remove it: no complete checkpoint remains"))
        return
    hint_body = {"seq": target, **({"manifest": actual} if actual else {})}
    plan._data[HINT_KEY] = json.dumps(hint_body, sort_keys=True).encode()
    plan.steps.append(RepairStep("hint", HINT_KEY, f"point it at checkpoint {target}"))


def _prev_of(data: bytes | None, seq: int) -> str | None:
    if data is None:
        return None
    try:
        return parse_commit(data, seq).prev
    except MalformedMetadataError:
        return None


def _read(storage: Storage | None, key: str) -> bytes | None:
    if storage is None:
        return None
    from modelshelf.errors import ObjectNotFoundError

    try:
        return storage.read(key)
    except ObjectNotFoundError:
        return None


def _create_same(storage: Storage, key: str, data: bytes) -> None:
    from modelshelf.errors import IntegrityError

    try:
        storage.write(key, data)
    except AlreadyExistsError:
        if _read(storage, key) != data:
            raise IntegrityError(
                f"{key} appeared with other bytes while repairing; run verify again"
            ) from None
