"""Garbage collection of a shelf's blobs, planned before it destroys anything; and pins.

Blobs are only ever deleted here. :func:`plan_gc` **marks** every blob that something
references and lists the rest:

* every registry version's tree: live versions, and versions deleted (tombstoned, or gone with
  their deleted model) less than ``grace`` ago, so an undo window remains;
* every run artifact pointer (a blob or a tree) and every logged model (a tree);
* every reference MLflow's artifact repository plugin wrote (``mlflow-artifacts/…``, a blob);
* every pin (``pins/<name>.json``, see :func:`pin`): a blob or a tree kept on purpose.

A tree marks its manifest and every blob it lists. An unreferenced blob is a candidate when
its mtime is older than ``grace``. Keys under ``objects/`` that do not name a blob (temp
files, strays) are never touched.

Deletion takes two gc runs (a quarantine), because a writer may rely on a blob that is
already on the shelf without rewriting it, and commit a reference to it at any moment:

* **Phase 1** (:meth:`GcPlan.execute`): mark again, list again, and *move* the planned
  candidates that are still unreferenced to ``quarantine/<run id>/`` (tree manifests first),
  then seal the quarantine. Phase 1 stops moving ``window / 2`` after it started.
* **Phase 2** (a later execute, for quarantines sealed at least ``window`` + ``clock_skew``
  ago): mark from committed state, put back every quarantined blob that is referenced now,
  delete the rest.
* **Writers** (:meth:`BlobStore.check_before_commit`, called by every commit that names a
  blob: a version, an artifact pointer, a logged model, a pin) commit only while less than
  ``window / 2`` has passed since they last saw every blob they name at its key; otherwise
  they check again (one batched existence check), restoring from quarantine or uploading
  what is missing. ``put_tree`` checks a tree's blobs even when its manifest exists.
* **Readers** that miss a blob at its key look in the quarantines, restore it (verified)
  and go on.

Why no interleaving loses a blob that a committed reference names: let a commit C name blob
b, and let b be moved into quarantine Q at instant m. If C's writer last saw b at its key at
t ≥ m, b was back at its key then (re-uploaded or restored) and Q's copy is not that one;
another gc must quarantine it again and the argument repeats for that quarantine. If t < m,
C landed before t + window/2 < m + window ≤ the start of Q's phase 2 (clock skew accounted
for), so phase 2's mark, which reads committed state, sees C and puts b back before
deleting anything. The same holds for a manifest and, through it, its blobs: the mark reads
a quarantined manifest by restoring it. Assumption: a writer is not suspended for more than
``window / 2`` between its last check and its commit landing, and clocks differ by less than
``clock_skew`` (defaults 1 h and 5 min; ``MODELSHELF_GC_WINDOW``,
``MODELSHELF_GC_CLOCK_SKEW``). With ``window`` = ``clock_skew`` = 0 a single execute
quarantines and deletes at once: only for a shelf no one writes to meanwhile.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from modelshelf import _settings
from modelshelf._shelf import Shelf, get_shelf
from modelshelf.cas import Digest
from modelshelf.cas._gc import (
    LiveSet,
    close_over_trees,
    find_garbage,
    quarantine_blobs,
    settle,
)
from modelshelf.cas._quarantine import Quarantine, list_quarantines, new_run_id, seal
from modelshelf.errors import (
    AlreadyExistsError,
    IntegrityError,
    InvalidInputError,
    InvalidNameError,
    MalformedMetadataError,
    NotFoundError,
    ObjectNotFoundError,
)

__all__ = ["GcPlan", "GcResult", "list_pins", "pin", "plan_gc", "unpin"]

_log = logging.getLogger("modelshelf.gc")

PIN_PREFIX = "pins/"
MLFLOW_ARTIFACT_PREFIX = "mlflow-artifacts/"
"""Where the MLflow artifact repository plugin keeps its references (see mlflow_plugin)."""
_PIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_RUN_REF = re.compile(r"^runs/[^/]+/(artifacts|models)/[^/]+$")
_READ_CHUNK = 512
DEFAULT_GRACE = timedelta(hours=24)


# =============================================================================== results
@dataclass(frozen=True, slots=True)
class GcResult:
    """What :meth:`GcPlan.execute` did.

    Attributes:
        deleted: blobs deleted for good (phase 2: quarantined at least the writer window
            ago and still unreferenced).
        bytes_freed: their total size.
        skipped: planned blobs not quarantined because they became referenced or were
            written again since the plan.
        conflicts: deleted blobs that something references and that are on the shelf
            neither at their key nor in a quarantine: a broken protocol assumption (a writer
            suspended longer than half the window, or clocks further apart than the skew).
            Empty in correct runs; ``verify`` names the version.
        quarantined: blobs moved to quarantine by this run (phase 1).
        restored: quarantined blobs put back because something references them again.
        quarantine: the id of this run's quarantine (``quarantine/<id>/``), if it moved any.
    """

    deleted: tuple[Digest, ...]
    bytes_freed: int
    skipped: tuple[Digest, ...] = ()
    conflicts: tuple[Digest, ...] = ()
    quarantined: tuple[Digest, ...] = ()
    restored: tuple[Digest, ...] = ()
    quarantine: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "deleted": [str(d) for d in self.deleted],
            "bytes_freed": self.bytes_freed,
            "skipped": [str(d) for d in self.skipped],
            "conflicts": [str(d) for d in self.conflicts],
            "quarantined": [str(d) for d in self.quarantined],
            "restored": [str(d) for d in self.restored],
            "quarantine": self.quarantine,
        }


@dataclass(frozen=True, slots=True)
class GcPlan:
    """What garbage collection would do; nothing moves or is deleted until :meth:`execute`.

    Attributes:
        blobs: the unreferenced blobs older than the grace period, sorted: phase 1 moves
            them to quarantine.
        bytes: their total size.
        kept: blobs that stay (referenced, or too young to judge).
        grace: the grace period the plan was made with.
        shelf_url: the shelf planned on.
        cutoff: blobs last written after this instant are kept; versions deleted after it
            still protect their blobs.
        young: of ``kept``, unreferenced blobs newer than ``cutoff``.
        stray: keys under ``objects/`` that name no blob (never touched).
        problems: referenced trees whose manifest is missing or corrupt (their blobs could
            not be marked; ``verify`` reports them too).
        quarantines: quarantines old enough for phase 2 (ids).
        final: their blobs nothing references: phase 2 deletes these for good.
        final_bytes: their total size.
        restore: their blobs referenced again: phase 2 puts these back.
        waiting: quarantines not yet old enough for phase 2.
        window: the writer window in seconds (see :mod:`modelshelf.gc`).
        clock_skew: the clock skew allowed for, in seconds.
    """

    blobs: tuple[Digest, ...]
    bytes: int
    kept: int
    grace: timedelta
    shelf_url: str = ""
    cutoff: datetime = field(default_factory=lambda: datetime.now(UTC))
    young: int = 0
    stray: int = 0
    problems: tuple[str, ...] = ()
    sizes: tuple[int, ...] = field(default=(), repr=False)
    quarantines: tuple[str, ...] = ()
    final: tuple[Digest, ...] = ()
    final_bytes: int = 0
    restore: tuple[Digest, ...] = ()
    waiting: int = 0
    window: float = 3600.0
    clock_skew: float = 300.0

    def __len__(self) -> int:
        return len(self.blobs)

    def __str__(self) -> str:
        return (
            f"gc plan for {self.shelf_url}: quarantine {len(self.blobs)} blob(s), "
            f"{self.bytes} bytes; delete {len(self.final)} quarantined blob(s), "
            f"{self.final_bytes} bytes, put back {len(self.restore)}; keep {self.kept} "
            f"({self.young} unreferenced but newer than the {self.grace} grace period)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "shelf": self.shelf_url,
            "blobs": [str(d) for d in self.blobs],
            "count": len(self.blobs),
            "bytes": self.bytes,
            "kept": self.kept,
            "young": self.young,
            "stray": self.stray,
            "grace_seconds": self.grace.total_seconds(),
            "cutoff": self.cutoff.isoformat(),
            "problems": list(self.problems),
            "quarantines": list(self.quarantines),
            "final": [str(d) for d in self.final],
            "final_count": len(self.final),
            "final_bytes": self.final_bytes,
            "restore": [str(d) for d in self.restore],
            "waiting": self.waiting,
            "window_seconds": self.window,
            "clock_skew_seconds": self.clock_skew,
        }

    def execute(
        self,
        shelf: str | Shelf | None = None,
        *,
        allow_problems: bool = False,
        **storage_options: Any,
    ) -> GcResult:
        """Run both phases of the plan: settle old quarantines, quarantine new garbage.

        Marks the registry, runs and pins again first. Phase 2 (quarantines of
        :attr:`quarantines` that are still due): puts back referenced blobs and deletes the
        planned :attr:`final` blobs still unreferenced. Phase 1: moves the planned
        :attr:`blobs` that are still unreferenced and old to a new quarantine, manifests
        first. With ``window`` = ``clock_skew`` = 0, that quarantine is settled at once.

        Args:
            shelf: the shelf the plan was made on (default: opened from ``shelf_url``).
            allow_problems: go ahead even though a referenced tree's manifest is missing or
                corrupt. Its blobs cannot be told apart from garbage, so they may go too;
                by default nothing is touched until the tree is restored or its references
                removed.
            **storage_options: passed to fsspec when ``shelf`` is a URL or None.

        Raises:
            InvalidInputError: ``shelf`` is not the shelf this plan was made on.
            IntegrityError: a referenced tree's manifest is missing or corrupt (see
                ``allow_problems``); nothing was moved or deleted.
            StorageError: the backend failed; what was done stays done, the rest stays
                (run ``plan_gc`` again). A half-finished phase 1 is safe: its quarantine is
                settled later as if sealed ``window`` after it started.
        """
        opened = get_shelf(shelf if shelf is not None else self.shelf_url, **storage_options)
        if opened.url != self.shelf_url:
            raise InvalidInputError(
                f"this gc plan was made for {self.shelf_url}, not {opened.url}; "
                "plan again on that shelf"
            )
        if not self.blobs and not self.quarantines:
            return GcResult((), 0)
        cutoff = self.cutoff.timestamp()
        marked_at = time.time()  # phase 2 may act on quarantines due at this instant
        live = _mark(opened, cutoff)
        if live.problems and not allow_problems:
            raise IntegrityError(
                f"gc on {opened.url} deleted nothing: {len(live.problems)} reference(s) "
                f"cannot be followed, e.g. {live.problems[0]}. Run verify() and restore or "
                "delete what it names, or pass allow_problems=True to collect anyway"
            )
        restored: list[Digest] = []
        deleted: dict[Digest, int] = {}
        if self.quarantines:
            final = set(self.final)
            for q in list_quarantines(opened.storage):
                if q.run_id in self.quarantines and q.due(marked_at, self.window, self.clock_skew):
                    done = settle(opened.blobs, q, live.digests, only=final)
                    restored += done.restored
                    deleted.update((c.digest, c.size) for c in done.deleted)
        moved: list[Digest] = []
        skipped: tuple[Digest, ...] = ()
        run_id = ""
        if self.blobs:
            found = find_garbage(opened.blobs, live.digests, cutoff=cutoff).candidates
            still = {c.digest: c for c in found}
            todo = [still[d] for d in self.blobs if d in still]
            skipped = tuple(d for d in self.blobs if d not in still)
            run_id = new_run_id(marked_at)
            deadline = marked_at + self.window / 2 if self.window > 0 else float("inf")
            went = quarantine_blobs(opened.blobs, todo, run_id, deadline=deadline)
            moved = sorted(c.digest for c in went)
            if went:
                seal(opened.storage, run_id)
                if self.window == 0 and self.clock_skew == 0:
                    q = Quarantine(run_id, marked_at, time.time(), {c.digest: c.size for c in went})
                    done = settle(opened.blobs, q, _mark(opened, cutoff).digests)
                    restored += done.restored
                    deleted.update((c.digest, c.size) for c in done.deleted)
            else:
                run_id = ""
        conflicts = _lost(opened, cutoff, set(deleted))
        if conflicts:
            _log.warning(
                "gc on %s deleted %d blob(s) that a reference names, e.g. %s: a writer broke "
                "the gc window or clocks are further apart than the allowed skew; run verify",
                opened.url,
                len(conflicts),
                conflicts[0],
            )
        return GcResult(
            deleted=tuple(sorted(deleted)),
            bytes_freed=sum(deleted.values()),
            skipped=skipped,
            conflicts=conflicts,
            quarantined=tuple(moved),
            restored=tuple(sorted(restored)),
            quarantine=run_id,
        )


def _lost(shelf: Shelf, cutoff: float, deleted: set[Digest]) -> tuple[Digest, ...]:
    """Deleted blobs that something references now and that are nowhere on the shelf."""
    if not deleted:
        return ()
    after = _mark(shelf, cutoff)
    named = deleted & after.digests
    if not named:
        return ()
    missing = named - shelf.blobs.exists_many(named)
    for q in list_quarantines(shelf.storage):
        missing -= set(q.blobs)
    return tuple(sorted(missing))


# ================================================================================ planning
def plan_gc(
    shelf: str | Shelf | None = None,
    *,
    grace: timedelta | None = None,
    now: datetime | float | None = None,
    window: float | None = None,
    clock_skew: float | None = None,
    **storage_options: Any,
) -> GcPlan:
    """Plan a garbage collection of ``shelf``: what to quarantine, and what to delete for good.

    Nothing is moved or deleted; call :meth:`GcPlan.execute` on the result for that.

    Args:
        shelf: a shelf URL or :class:`~modelshelf.Shelf`; default: the current shelf.
        grace: keep unreferenced blobs written less than this long ago, and the blobs of
            versions deleted less than this long ago (default ``MODELSHELF_GC_GRACE`` or 24 h).
        now: the instant to measure ``grace`` from (a datetime, naive = UTC, or epoch
            seconds); default: now. Tests use it; operators should not.
        window: seconds a writer may rely on a blob it has seen; quarantined blobs are
            deleted only this long (plus ``clock_skew``) after their quarantine was sealed
            (default ``MODELSHELF_GC_WINDOW``, 1 h). Every writer must use the same value.
        clock_skew: the most the clocks of the shelf's machines differ, seconds (default
            ``MODELSHELF_GC_CLOCK_SKEW``, 5 min).
        **storage_options: passed to fsspec when ``shelf`` is a URL.

    Raises:
        InvalidInputError: ``grace`` is not a non-negative timedelta, ``now`` is not a
            time, or ``window`` / ``clock_skew`` is negative.
        StorageError: the backend failed while marking or listing (nothing was deleted).
    """
    if grace is None:
        configured = _settings.gc_grace()
        grace = DEFAULT_GRACE if configured is None else timedelta(seconds=configured)
    if not isinstance(grace, timedelta) or grace < timedelta(0):
        raise InvalidInputError(f"grace must be a timedelta ≥ 0, got {grace!r}")
    window = _settings.gc_window() if window is None else window
    clock_skew = _settings.gc_clock_skew() if clock_skew is None else clock_skew
    for label, value in (("window", window), ("clock_skew", clock_skew)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise InvalidInputError(f"{label} must be seconds ≥ 0, got {value!r}")
    opened = get_shelf(shelf, **storage_options)
    cutoff = _epoch(now) - grace.total_seconds()
    marked_at = time.time()
    live = _mark(opened, cutoff)
    garbage = find_garbage(opened.blobs, live.digests, cutoff=cutoff)
    quarantines = list_quarantines(opened.storage)
    due = [q for q in quarantines if q.due(marked_at, float(window), float(clock_skew))]
    final = {d: n for q in due for d, n in q.blobs.items() if d not in live.digests}
    restore = {d for q in due for d in q.blobs if d in live.digests}
    return GcPlan(
        blobs=tuple(c.digest for c in garbage.candidates),
        bytes=sum(c.size for c in garbage.candidates),
        kept=garbage.live + garbage.young,
        grace=grace,
        shelf_url=opened.url,
        cutoff=datetime.fromtimestamp(cutoff, UTC),
        young=garbage.young,
        stray=garbage.stray,
        problems=tuple(live.problems),
        sizes=tuple(c.size for c in garbage.candidates),
        quarantines=tuple(q.run_id for q in due),
        final=tuple(sorted(final)),
        final_bytes=sum(final.values()),
        restore=tuple(sorted(restore)),
        waiting=len(quarantines) - len(due),
        window=float(window),
        clock_skew=float(clock_skew),
    )


def _epoch(now: datetime | float | None) -> float:
    if now is None:
        return time.time()
    if isinstance(now, datetime):
        return (now if now.tzinfo else now.replace(tzinfo=UTC)).timestamp()
    if isinstance(now, (int, float)) and not isinstance(now, bool):
        return float(now)
    raise InvalidInputError(f"now must be a datetime or epoch seconds, got {now!r}")


@dataclass(slots=True)
class _Roots:
    trees: set[Digest] = field(default_factory=set)
    files: set[Digest] = field(default_factory=set)
    unknown: set[Digest] = field(default_factory=set)
    why: dict[Digest, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def tree(self, digest: str | Digest, why: str) -> None:
        try:
            d = Digest.parse(digest)
        except InvalidInputError:
            self.problems.append(f"{why} names no valid digest ({digest!r})")
            return
        self.trees.add(d)
        self.why.setdefault(d, why)


def _mark(shelf: Shelf, cutoff: float) -> LiveSet:
    """Every digest referenced now, or by a version deleted after ``cutoff`` (epoch s)."""
    roots = _Roots()
    _registry_roots(shelf, int(cutoff * 1000), roots)
    _run_roots(shelf, roots)
    _mlflow_artifact_roots(shelf, roots)
    for name, digest in list_pins(shelf).items():
        roots.unknown.add(digest)
        roots.why.setdefault(digest, f"pin {name!r}")
    live = close_over_trees(
        shelf.blobs, trees=roots.trees, files=roots.files, unknown=roots.unknown, why=roots.why
    )
    live.problems[:0] = roots.problems
    return live


def _registry_roots(shelf: Shelf, cutoff_ms: int, roots: _Roots) -> None:
    """Versions live now, or live at any moment since ``cutoff_ms``.

    Replays from the state at the cutoff (a checkpoint plus a short replay) to the head,
    collecting every version created on the way: that also covers versions of models deleted
    since the cutoff, which leave no tombstone in the state.
    """
    from modelshelf.registry import RegistryClient

    for digest, why in RegistryClient(shelf).live_version_digests(cutoff_ms):
        roots.tree(digest, why)


def _run_roots(shelf: Shelf, roots: _Roots) -> None:
    """Every run artifact pointer and logged model (one listing of ``runs/``)."""
    from modelshelf.runs import LoggedModelInfo, Pointer
    from modelshelf.runs._layout import loads

    storage = shelf.storage
    keys = [i.key for i in storage.list("runs/") if _RUN_REF.match(i.key)]
    keys += [i.key for i in storage.list("logged_models/") if i.key.endswith(".json")]
    for start in range(0, len(keys), _READ_CHUNK):
        for key, data in storage.read_many(keys[start : start + _READ_CHUNK]).items():
            if not data:
                continue
            try:
                doc = loads(data)
                if "/artifacts/" in key:
                    pointer = Pointer.from_dict(doc)
                    if pointer.kind == "tree":
                        roots.tree(pointer.digest, f"artifact {key!r}")
                    else:
                        roots.files.add(pointer.digest)
                else:
                    roots.tree(LoggedModelInfo.from_dict(doc).digest, f"logged model {key!r}")
            except (ValueError, KeyError, TypeError) as exc:
                roots.problems.append(f"{key}: unreadable reference ({exc})")


def _mlflow_artifact_roots(shelf: Shelf, roots: _Roots) -> None:
    """Every ``{"digest", "size"}`` reference under ``mlflow-artifacts/`` (one listing)."""
    keys = [i.key for i in shelf.storage.list(MLFLOW_ARTIFACT_PREFIX)]
    for start in range(0, len(keys), _READ_CHUNK):
        for key, data in shelf.storage.read_many(keys[start : start + _READ_CHUNK]).items():
            if not data:
                continue
            try:
                roots.files.add(Digest.parse(json.loads(data)["digest"]))
            except (ValueError, KeyError, TypeError) as exc:
                roots.problems.append(f"{key}: unreadable reference ({exc})")


# ==================================================================================== pins
def _pin_key(name: str) -> str:
    if not isinstance(name, str) or not _PIN_NAME.match(name):
        raise InvalidNameError(
            f"invalid pin name {name!r}: use 1-128 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return f"{PIN_PREFIX}{name}.json"


def pin(
    shelf: str | Shelf | None, digest: Digest | str, name: str, *, replace: bool = False
) -> None:
    """Keep blob or tree ``digest`` through garbage collection, under ``name``.

    Pinning the same digest under the same name again is a no-op.

    Args:
        shelf: a shelf URL or :class:`~modelshelf.Shelf` (None: the current shelf).
        digest: ``sha256:<hex>`` of a blob or tree on the shelf.
        name: the pin's name.
        replace: let ``name`` point at another digest than it does now.

    Raises:
        InvalidNameError: a bad pin name. InvalidInputError: not a digest.
        ObjectNotFoundError: no such blob on the shelf.
        AlreadyExistsError: the pin exists with another digest and ``replace`` is False, or
            a pin whose name differs only in case exists on a case-insensitive folder.
    """
    import json

    opened = get_shelf(shelf)
    key = _pin_key(name)
    parsed = Digest.parse(digest)
    try:
        opened.blobs.check_before_commit(parsed, tree=None)
    except ObjectNotFoundError as exc:
        raise ObjectNotFoundError(
            f"cannot pin {parsed}: it (or a blob it lists) is not on the shelf {opened.url}; "
            "store it first"
        ) from exc
    data = json.dumps(
        {"digest": str(parsed), "name": name, "created": int(time.time() * 1000)}, sort_keys=True
    ).encode()
    try:
        opened.storage.write(key, data)
        return
    except AlreadyExistsError:
        pins = list_pins(opened)
        _refuse_case_twin(opened, name, pins)
        current = pins.get(name)
        if current == parsed:
            return
        if not replace:
            raise AlreadyExistsError(
                f"pin {name!r} already holds {current}; pass replace=True to point it at "
                f"{parsed}, or pick another name"
            ) from None
    opened.storage.write(key, data, overwrite=True)


def unpin(shelf: str | Shelf | None, name: str) -> None:
    """Remove pin ``name``; its blobs become collectable once nothing else references them.

    Raises:
        InvalidNameError: a bad pin name. NotFoundError: no such pin (also when only a pin
            whose name differs in case exists, on a case-insensitive folder).
    """
    opened = get_shelf(shelf)
    key = _pin_key(name)
    if not opened.storage.exists(key):
        raise NotFoundError(f"no pin {name!r} on the shelf {opened.url}; see list_pins()")
    pins = list_pins(opened)
    if name not in pins:
        _refuse_case_twin(opened, name, pins, error=NotFoundError)
    opened.storage.delete(key)


def _refuse_case_twin(
    shelf: Shelf, name: str, pins: dict[str, Digest], *, error: type[Exception] = AlreadyExistsError
) -> None:
    """On a folder that ignores case (macOS, Windows), ``Prod`` and ``prod`` are one object:
    never let one name move or remove the other's pin."""
    twins = [n for n in pins if n != name and n.casefold() == name.casefold()]
    if twins:
        raise error(
            f"pin {twins[0]!r} exists on {shelf.url}, and names that differ only in case "
            f"are one object on a case-insensitive filesystem: use {twins[0]!r} itself, or "
            f"another name than {name!r}"
        )


def list_pins(shelf: str | Shelf | None = None) -> dict[str, Digest]:
    """Every pin of the shelf: name -> digest, sorted by name.

    Raises:
        MalformedMetadataError: a pin object is not a pin (edit or remove it).
    """
    import json

    opened = get_shelf(shelf)
    keys = [i.key for i in opened.storage.list(PIN_PREFIX) if i.key.endswith(".json")]
    out: dict[str, Digest] = {}
    for key, data in opened.storage.read_many(keys).items():
        if data is None:
            continue  # unpinned since the listing
        try:
            doc = json.loads(data)
            out[key[len(PIN_PREFIX) : -len(".json")]] = Digest.parse(doc["digest"])
        except (ValueError, KeyError, TypeError) as exc:
            raise MalformedMetadataError(
                f"pin {key!r} on {opened.url} is malformed: {exc}"
            ) from exc
    return dict(sorted(out.items()))
