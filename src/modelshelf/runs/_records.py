"""Run records on a storage: experiments, run metadata, params, metrics and tags.

Every write is a create-if-absent of a new object (see :mod:`modelshelf.runs._layout`), so
many processes may log into one run at once and nothing is ever rewritten.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from modelshelf._names import check_key
from modelshelf.errors import (
    AlreadyExistsError,
    ImmutableValueError,
    InvalidInputError,
    InvalidNameError,
    MalformedMetadataError,
    RunNotFoundError,
)
from modelshelf.runs._entities import Experiment, Metric, RunStatus
from modelshelf.runs._layout import (
    check_run_id,
    dumps,
    experiment_id_for,
    loads,
    name_key,
    now_ms,
    sequence_name,
)
from modelshelf.storage import Storage

__all__ = [
    "RunRecord",
    "RunRecords",
    "check_experiment_name",
    "check_name",
    "check_text",
    "make_metric",
]

_MAX_PARAM_VALUE = 6000
_PARALLEL_WRITES = 16


def check_name(name: object, what: str) -> str:
    """Validate a param, metric or tag name (MLflow's rule: :func:`modelshelf._names.check_key`).

    Raises:
        InvalidNameError: empty, too long, odd characters, or a path that could escape.
    """
    return check_key(name, what)


def check_text(value: object, what: str) -> str:
    """``str(value)`` (as MLflow stores param and tag values), refused unless it is valid
    Unicode that can be written as UTF-8.

    Raises:
        InvalidInputError: the text holds a lone surrogate (e.g. ``'\\ud800'``).
    """
    text = value if isinstance(value, str) else str(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInputError(
            f"{what} {text[:60]!r} is not valid Unicode: it holds the lone surrogate "
            f"{text[exc.start]!r} at position {exc.start}; decode the bytes it came from "
            "correctly (or with errors='replace') before logging"
        ) from None
    return text


def check_experiment_name(name: object) -> str:
    """Validate an experiment name: a non-empty string of valid Unicode.

    Raises:
        InvalidNameError: not a string, blank, or not valid Unicode.
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidNameError(
            f"experiment name must be a non-empty string, got {type(name).__name__} "
            f"{repr(name)[:80]}"
        )
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidNameError(
            f"experiment name {name[:60]!r} is not valid Unicode (a lone surrogate); "
            "use a name that can be written as UTF-8"
        ) from None
    return name


def make_metric(key: object, value: object, timestamp: object, step: object) -> Metric:
    """A validated :class:`Metric` (MLflow's rules: a numeric value, integer step and time).

    Raises:
        InvalidNameError: a bad metric name.
        InvalidInputError: the value is not a number, or the step or timestamp not an integer.
    """
    name = check_name(key, "metric")
    number = _convert(float, value, name, "value", "a number (log text with set_tag)")
    when = _convert(int, timestamp or now_ms(), name, "timestamp", "an integer (ms)")
    at = _convert(int, step or 0, name, "step", "an integer")
    return Metric(name, number, when, at)


def _convert(kind: Any, value: object, name: str, label: str, expected: str) -> Any:
    try:
        if isinstance(value, (str, bytes)):
            raise TypeError
        return kind(value)
    except (TypeError, ValueError, OverflowError):
        raise InvalidInputError(
            f"metric {name!r}: the {label} must be {expected}, got {type(value).__name__} "
            f"{repr(value)[:60]}"
        ) from None


@dataclass(slots=True)
class RunRecord:
    """Everything stored about one run (artifacts aside), as read from the shelf."""

    meta: dict[str, Any]
    end: dict[str, Any] | None = None
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: list[Metric] = field(default_factory=list)

    @property
    def run_id(self) -> str:
        return str(self.meta["run_id"])

    @property
    def status(self) -> str:
        return str(self.end["status"]) if self.end else str(self.meta.get("status", "RUNNING"))

    def latest_metrics(self) -> dict[str, float]:
        """MLflow's rule: per key, the value with the highest (step, timestamp, value)."""
        best: dict[str, Metric] = {}
        for m in self.metrics:
            cur = best.get(m.key)
            if cur is None or _metric_order(m) > _metric_order(cur):
                best[m.key] = m
        return {k: m.value for k, m in best.items()}


def _metric_order(m: Metric) -> tuple[int, int, float]:
    value = -math.inf if math.isnan(m.value) else m.value
    return (m.step, m.timestamp, value)


class RunRecords:
    """Reads and writes run records under ``storage`` (the shelf's storage)."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._known_runs: set[str] = set()
        self._known_experiments: dict[str, Experiment] = {}

    # ------------------------------------------------------------------------- experiments
    def ensure_experiment(self, name: str, *, tags: Mapping[str, str] | None = None) -> Experiment:
        """The experiment called ``name``, created if absent (racing creators agree)."""
        check_experiment_name(name)
        tags = {
            check_name(k, "tag"): check_text(v, "experiment tag value")
            for k, v in (tags or {}).items()
        }
        exp_id = experiment_id_for(name)
        known = self._known_experiments.get(exp_id)
        if known is not None:
            return known
        doc = {
            "artifact_location": f"{self.storage.url.rstrip('/')}/runs",
            "creation_time": now_ms(),
            "experiment_id": exp_id,
            "name": name,
            "tags": tags,
        }
        try:
            self.storage.write(f"experiments/{exp_id}.json", dumps(doc))
        except AlreadyExistsError:
            found = self.get_experiment(exp_id)
            if found is None:  # pragma: no cover - deleted between the two calls
                raise
            return found
        exp = _experiment(doc)
        self._known_experiments[exp_id] = exp
        return exp

    def get_experiment(self, experiment_id: str) -> Experiment | None:
        """The experiment with that id, or None."""
        known = self._known_experiments.get(experiment_id)
        if known is not None:
            return known
        if not re.fullmatch(r"[0-9a-f]{1,64}", experiment_id or ""):
            return None
        got = self.storage.read_many([f"experiments/{experiment_id}.json"])
        data = next(iter(got.values()))
        if data is None:
            return None
        exp = _experiment(loads(data))
        self._known_experiments[experiment_id] = exp
        return exp

    def list_experiments(self) -> list[Experiment]:
        keys = [i.key for i in self.storage.list("experiments/") if i.key.endswith(".json")]
        keys = [k for k in keys if k.count("/") == 1]
        out = [_experiment(loads(v)) for v in self.storage.read_many(keys).values() if v]
        return sorted(out, key=lambda e: (e.creation_time, e.name))

    def run_ids(self, experiment_ids: Iterable[str] | None) -> list[str]:
        """Ids of the runs of those experiments (every experiment when None)."""
        if experiment_ids is None:
            infos = self.storage.list("experiments/")
            found = [i.key for i in infos if "/runs/" in i.key]
        else:
            found = []
            for exp_id in experiment_ids:
                found += [i.key for i in self.storage.list(f"experiments/{exp_id}/runs/")]
        return sorted({k.rsplit("/", 1)[-1] for k in found if check_run_id(k.rsplit("/", 1)[-1])})

    # ------------------------------------------------------------------------------- runs
    def create_run(self, run_id: str, meta: dict[str, Any]) -> None:
        self.storage.write(f"runs/{run_id}/meta.json", dumps(meta))
        self.storage.write(f"experiments/{meta['experiment_id']}/runs/{run_id}", b"")
        self._known_runs.add(run_id)

    def require_run(self, run_id: str) -> str:
        """Raise unless the run exists (checked once per client).

        Raises:
            RunNotFoundError: no such run on this shelf.
        """
        valid = check_run_id(run_id)
        if valid is not None and valid in self._known_runs:
            return valid
        if valid is None or not self.storage.exists(f"runs/{valid}/meta.json"):
            raise self.not_found(run_id)
        self._known_runs.add(valid)
        return valid

    def not_found(self, run_id: object) -> RunNotFoundError:
        if check_run_id(run_id) is None:
            return RunNotFoundError(
                f"run {run_id!r} not found: run ids are 32 lowercase hex characters "
                f"(shelf {self.storage.url})"
            )
        return RunNotFoundError(
            f"run {run_id!r} not found on the shelf {self.storage.url}; "
            "search_runs() lists the runs it holds"
        )

    def read_run(self, run_id: str) -> RunRecord:
        """Read all records of a run (one listing, one batched read).

        Raises:
            RunNotFoundError: no such run.
        """
        if check_run_id(run_id) is None:
            raise self.not_found(run_id)
        prefix = f"runs/{run_id}/"
        keys = [
            i.key
            for i in self.storage.list(prefix)
            if i.key.split("/")[2] in ("meta.json", "end.json", "params", "tags", "metrics")
        ]
        if f"{prefix}meta.json" not in keys:
            raise self.not_found(run_id)
        got = self.storage.read_many(keys)
        record = RunRecord(meta=loads(_need(got, f"{prefix}meta.json")))
        end = got.get(f"{prefix}end.json")
        record.end = loads(end) if end else None
        record.tags.update(record.meta.get("tags") or {})
        for key in sorted(got):
            data = got[key]
            if data is None:
                continue
            kind = key.split("/")[2]
            if kind == "params":
                doc = loads(data)
                record.params[str(doc["key"])] = str(doc["value"])
            elif kind == "tags":
                doc = loads(data)
                record.tags.update(doc.get("set") or {})
                for name in doc.get("delete") or ():
                    record.tags.pop(name, None)
            elif kind == "metrics":
                record.metrics += [_metric(row) for row in loads(data)["metrics"]]
        self._known_runs.add(run_id)
        return record

    def read_runs(self, run_ids: Sequence[str], *, workers: int = 16) -> list[RunRecord]:
        if len(run_ids) <= 1:
            return [self.read_run(r) for r in run_ids]
        with ThreadPoolExecutor(max_workers=min(workers, len(run_ids))) as pool:
            return list(pool.map(self.read_run, run_ids))

    def terminate(self, run_id: str, status: str, end_time: int | None) -> None:
        """Write the run's end record once; the same status again is a no-op.

        Raises:
            InvalidInputError: not a terminal status.
            ImmutableValueError: the run already ended with another status.
        """
        self.require_run(run_id)
        status = str(status).upper()
        if status not in RunStatus.TERMINATED:
            raise InvalidInputError(
                f"cannot end run {run_id} with status {status!r}; use one of {RunStatus.TERMINATED}"
            )
        doc = {"end_time": end_time if end_time is not None else now_ms(), "status": status}
        key = f"runs/{run_id}/end.json"
        try:
            self.storage.write(key, dumps(doc))
        except AlreadyExistsError:
            old = loads(self.storage.read(key))
            if old.get("status") != status:
                raise ImmutableValueError(
                    f"run {run_id} already ended with status {old.get('status')}; "
                    f"its end record is write-once and cannot become {status}"
                ) from None

    # ------------------------------------------------------------------ params/metrics/tags
    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        """Write each param once; the same value again is fine.

        Raises:
            InvalidNameError: a bad param name.
            ImmutableValueError: a param already holds another value (names the run and key).
        """
        self.require_run(run_id)
        docs = {}
        for key, value in params.items():
            check_name(key, "param")
            text = check_text(value, f"the value of param {key!r}")
            if len(text) > _MAX_PARAM_VALUE:
                raise InvalidInputError(
                    f"param {key!r} of run {run_id} is {len(text)} characters long; "
                    f"the limit is {_MAX_PARAM_VALUE} (log long values with log_text)"
                )
            docs[f"runs/{run_id}/params/{name_key(key)}"] = (key, text)

        def write(item: tuple[str, tuple[str, str]]) -> None:
            obj_key, (name, text) = item
            try:
                self.storage.write(obj_key, dumps({"key": name, "value": text}))
            except AlreadyExistsError:
                old = str(loads(self.storage.read(obj_key))["value"])
                if old != text:
                    raise ImmutableValueError(
                        f"param {name!r} of run {run_id} is already {old!r}; params are "
                        f"write-once and cannot become {text!r} (log a new param name instead)"
                    ) from None

        _parallel(write, list(docs.items()))

    def log_metrics(self, run_id: str, metrics: Sequence[Metric]) -> None:
        """Append one object holding these metric values."""
        self.require_run(run_id)
        if not metrics:
            return
        for m in metrics:
            check_name(m.key, "metric")
            if not isinstance(m.value, float):
                raise InvalidInputError(f"metric {m.key!r} must be a float, got {m.value!r}")
        rows = [[m.key, float(m.value), int(m.timestamp), int(m.step)] for m in metrics]
        self.storage.write(f"runs/{run_id}/metrics/{sequence_name()}", dumps({"metrics": rows}))

    def set_tags(self, run_id: str, tags: Mapping[str, Any], *, delete: Iterable[str] = ()) -> None:
        """Append one tag entry (sets and deletes); the newest entry wins per key."""
        self.require_run(run_id)
        sets = {check_name(k, "tag"): check_text(v, f"tag {k!r}") for k, v in tags.items()}
        deletes = [check_name(k, "tag") for k in delete]
        if not sets and not deletes:
            return
        doc = {"delete": deletes, "set": sets}
        self.storage.write(f"runs/{run_id}/tags/{sequence_name()}", dumps(doc))


def _need(got: Mapping[str, bytes | None], key: str) -> bytes:
    data = got.get(key)
    if data is None:
        raise MalformedMetadataError(f"run record {key!r} vanished while it was being read")
    return data


def _metric(row: Sequence[Any]) -> Metric:
    key, value, timestamp, step = row
    return Metric(str(key), float(value), int(timestamp), int(step))


def _experiment(doc: Mapping[str, Any]) -> Experiment:
    return Experiment(
        experiment_id=str(doc["experiment_id"]),
        name=str(doc["name"]),
        creation_time=int(doc.get("creation_time") or 0),
        artifact_location=str(doc.get("artifact_location") or ""),
        tags=dict(doc.get("tags") or {}),
    )


def _parallel(fn: Any, items: Sequence[Any]) -> None:
    if len(items) <= 2:
        for item in items:
            fn(item)
        return
    with ThreadPoolExecutor(max_workers=min(_PARALLEL_WRITES, len(items))) as pool:
        for _ in pool.map(fn, items):
            pass
