"""Garbage collection of a shelf's blobs, planned before it destroys anything; and pins.

Blobs are only ever deleted here. :func:`plan_gc` **marks** every blob that something
references and **sweeps** (lists) the rest:

* every registry version's tree: live versions, and versions deleted (tombstoned, or gone with
  their deleted model) less than ``grace`` ago, so an undo window remains;
* every run artifact pointer (a blob or a tree) and every logged model (a tree);
* every pin (``pins/<name>.json``, see :func:`pin`): a blob or a tree kept on purpose.

A tree marks its manifest and every blob it lists. An unreferenced blob is a candidate only
when its mtime is older than ``grace``: a concurrent writer stores blobs *before* it commits
the pointer or version that names them, so its fresh blobs survive until that commit lands.
Keys under ``objects/`` that do not name a blob (temp files, strays) are never touched.

:meth:`GcPlan.execute` deletes, and only deletes blobs of its plan that are still unreferenced:
it re-reads the registry, runs and pins, and lists the blobs again, right before deleting.

The race that remains, and why ``grace`` covers it: between that last re-read and the delete a
writer could *re-use* an old blob without rewriting it (``put`` skips blobs already stored)
and commit a reference to it. That needs the writer to find, upload-check and commit a tree
whose blobs have all been unreferenced for longer than ``grace`` (e.g. re-logging the files of
a version deleted more than ``grace`` ago) inside the few seconds of the sweep. ``execute``
marks once more after deleting and reports any such blob in :attr:`GcResult.conflicts`;
``verify`` names the version, and logging the files again with ``put_tree(repair=True)``
restores them. Writers whose clocks or put-to-commit times exceed ``grace`` are not protected:
keep ``grace`` (default 24 h) far above both.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from modelshelf._shelf import Shelf, get_shelf
from modelshelf.cas import Digest
from modelshelf.cas._gc import LiveSet, close_over_trees, delete_blobs, find_garbage
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
_PIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_RUN_REF = re.compile(r"^runs/[^/]+/(artifacts|models)/[^/]+$")
_READ_CHUNK = 512
DEFAULT_GRACE = timedelta(hours=24)


# =============================================================================== results
@dataclass(frozen=True, slots=True)
class GcResult:
    """What :meth:`GcPlan.execute` did.

    Attributes:
        deleted: the blobs deleted (a subset of the plan's).
        bytes_freed: their total size.
        skipped: planned blobs not deleted because they became referenced or were written
            again since the plan.
        conflicts: deleted blobs that a writer referenced while the sweep ran (the race
            described in :mod:`modelshelf.gc`); empty in practice. Run ``verify`` and log the
            named files again.
    """

    deleted: tuple[Digest, ...]
    bytes_freed: int
    skipped: tuple[Digest, ...] = ()
    conflicts: tuple[Digest, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "deleted": [str(d) for d in self.deleted],
            "bytes_freed": self.bytes_freed,
            "skipped": [str(d) for d in self.skipped],
            "conflicts": [str(d) for d in self.conflicts],
        }


@dataclass(frozen=True, slots=True)
class GcPlan:
    """What garbage collection would delete; nothing is deleted until :meth:`execute`.

    Attributes:
        blobs: the unreferenced blobs older than the grace period, sorted.
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

    def __len__(self) -> int:
        return len(self.blobs)

    def __str__(self) -> str:
        return (
            f"gc plan for {self.shelf_url}: delete {len(self.blobs)} blob(s), "
            f"{self.bytes} bytes; keep {self.kept} ({self.young} unreferenced but newer "
            f"than the {self.grace} grace period)"
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
        }

    def execute(
        self,
        shelf: str | Shelf | None = None,
        *,
        allow_problems: bool = False,
        **storage_options: Any,
    ) -> GcResult:
        """Delete the planned blobs that are still unreferenced and still old.

        Re-reads the registry, runs and pins and lists the blobs again just before deleting,
        deletes tree manifests before blobs, then marks once more to report conflicts.

        Args:
            shelf: the shelf the plan was made on (default: opened from ``shelf_url``).
            allow_problems: delete even though a referenced tree's manifest is missing or
                corrupt. Its blobs cannot be told apart from garbage, so they may go too;
                by default nothing is deleted until the tree is restored or its references
                removed.
            **storage_options: passed to fsspec when ``shelf`` is a URL or None.

        Raises:
            InvalidInputError: ``shelf`` is not the shelf this plan was made on.
            IntegrityError: a referenced tree's manifest is missing or corrupt (see
                ``allow_problems``); nothing was deleted.
            StorageError: the backend failed; blobs deleted so far stay deleted, the rest
                stay (run ``plan_gc`` again).
        """
        opened = get_shelf(shelf if shelf is not None else self.shelf_url, **storage_options)
        if opened.url != self.shelf_url:
            raise InvalidInputError(
                f"this gc plan was made for {self.shelf_url}, not {opened.url}; "
                "plan again on that shelf"
            )
        if not self.blobs:
            return GcResult((), 0)
        cutoff = self.cutoff.timestamp()
        live = _mark(opened, cutoff)
        if live.problems and not allow_problems:
            raise IntegrityError(
                f"gc on {opened.url} deleted nothing: {len(live.problems)} reference(s) "
                f"cannot be followed, e.g. {live.problems[0]}. Run verify() and restore or "
                "delete what it names, or pass allow_problems=True to collect anyway"
            )
        still = {
            c.digest: c for c in find_garbage(opened.blobs, live.digests, cutoff=cutoff).candidates
        }
        todo = [still[d] for d in self.blobs if d in still]
        skipped = tuple(d for d in self.blobs if d not in still)
        done = delete_blobs(opened.blobs, todo)
        after = _mark(opened, cutoff)
        conflicts = tuple(sorted(c.digest for c in done if c.digest in after.digests))
        if conflicts:
            _log.warning(
                "gc on %s deleted %d blob(s) that a writer referenced during the sweep, "
                "e.g. %s; run verify and log those files again",
                opened.url,
                len(conflicts),
                conflicts[0],
            )
        return GcResult(
            deleted=tuple(sorted(c.digest for c in done)),
            bytes_freed=sum(c.size for c in done),
            skipped=skipped,
            conflicts=conflicts,
        )


# ================================================================================ planning
def plan_gc(
    shelf: str | Shelf | None = None,
    *,
    grace: timedelta = DEFAULT_GRACE,
    now: datetime | float | None = None,
    **storage_options: Any,
) -> GcPlan:
    """Plan a garbage collection of ``shelf``: which blobs nothing references, and their bytes.

    Nothing is deleted; call :meth:`GcPlan.execute` on the result for that.

    Args:
        shelf: a shelf URL or :class:`~modelshelf.Shelf`; default: the current shelf.
        grace: keep unreferenced blobs written less than this long ago, and the blobs of
            versions deleted less than this long ago.
        now: the instant to measure ``grace`` from (a datetime, naive = UTC, or epoch
            seconds); default: now. Tests use it; operators should not.
        **storage_options: passed to fsspec when ``shelf`` is a URL.

    Raises:
        InvalidInputError: ``grace`` is not a non-negative timedelta, or ``now`` is not a time.
        StorageError: the backend failed while marking or listing (nothing was deleted).
    """
    if not isinstance(grace, timedelta) or grace < timedelta(0):
        raise InvalidInputError(f"grace must be a timedelta ≥ 0, got {grace!r}")
    opened = get_shelf(shelf, **storage_options)
    cutoff = _epoch(now) - grace.total_seconds()
    live = _mark(opened, cutoff)
    garbage = find_garbage(opened.blobs, live.digests, cutoff=cutoff)
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
    from modelshelf.registry import RegistryClient, _audit
    from modelshelf.registry._entities import RegistryChange

    replica = RegistryClient(shelf)._reg_replica
    state = _audit.state_as_of(replica, cutoff_ms)
    for model in state.models.values():
        for rec in state.live_versions(model):
            roots.tree(rec.digest, f"{model.name!r} version {rec.version}")
    changes: list[RegistryChange] = []
    state = _audit.replay(replica, start=state, changes=changes)
    for change in changes:
        if change.action == "create_version" and change.new:
            roots.tree(str(change.new), f"{change.name!r} version {change.version}")
    for model in state.models.values():
        for rec in model.versions.values():
            if rec.deleted_timestamp is None or rec.deleted_timestamp > cutoff_ms:
                roots.tree(rec.digest, f"{model.name!r} version {rec.version}")


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
        AlreadyExistsError: the pin exists with another digest and ``replace`` is False.
    """
    import json

    opened = get_shelf(shelf)
    key = _pin_key(name)
    parsed = Digest.parse(digest)
    if not opened.storage.exists(parsed.key):
        raise ObjectNotFoundError(
            f"cannot pin {parsed}: it is not on the shelf {opened.url}; store it first"
        )
    data = json.dumps(
        {"digest": str(parsed), "name": name, "created": int(time.time() * 1000)}, sort_keys=True
    ).encode()
    try:
        opened.storage.write(key, data)
        return
    except AlreadyExistsError:
        current = list_pins(opened).get(name)
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
        InvalidNameError: a bad pin name. NotFoundError: no such pin.
    """
    opened = get_shelf(shelf)
    key = _pin_key(name)
    if not opened.storage.exists(key):
        raise NotFoundError(f"no pin {name!r} on the shelf {opened.url}; see list_pins()")
    opened.storage.delete(key)


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
