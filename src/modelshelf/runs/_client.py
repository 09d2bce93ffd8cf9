"""RunsClient: MLflow's run methods (``create_run``, ``log_param``, ``log_artifacts`` …) on a shelf."""

from __future__ import annotations

import json
import operator
import os
import sys
import tempfile
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from modelshelf._actor import whoami
from modelshelf._paging import PagedList, decode_token, page
from modelshelf._shelf import Shelf, get_shelf
from modelshelf.cas import Digest
from modelshelf.errors import (
    AlreadyExistsError,
    ArtifactExistsError,
    InvalidInputError,
    InvalidNameError,
    NotFoundError,
    ObjectNotFoundError,
)
from modelshelf.runs._artifacts import ArtifactIndex, Located, clean_artifact_path
from modelshelf.runs._download import materialise
from modelshelf.runs._entities import (
    Experiment,
    FileInfo,
    LoggedModelInfo,
    Metric,
    Run,
    RunData,
    RunInfo,
    RunStatus,
)
from modelshelf.runs._layout import (
    DEFAULT_EXPERIMENT,
    check_run_id,
    dumps,
    experiment_id_for,
    loads,
    name_key,
    now_ms,
)
from modelshelf.runs._names import random_run_name
from modelshelf.runs._records import (
    RunRecord,
    RunRecords,
    check_experiment_name,
    check_name,
    check_text,
    make_metric,
)
from modelshelf.runs._search import (
    lifecycle_stages,
    matches,
    parse_filter,
    parse_order_by,
    sort_runs,
)
from modelshelf.runs._uris import runs_uri
from modelshelf.storage import Storage

__all__ = ["MetricHistory", "RunsClient"]

RUN_NAME_TAG = "mlflow.runName"


class MetricHistory(list[Metric]):
    """A metric's values in logging order (a list of :class:`Metric`, as MLflow returns)."""

    def to_arrow(self) -> Any:
        """The history as a ``pyarrow.Table`` (key, value, step, timestamp)."""
        return _metrics_table(self)


class RunsClient:
    """Runs, their records and write-once artifacts on one shelf.

    Args:
        shelf: a shelf URL or :class:`Shelf`; default: the current shelf.
        signing_key: sign every run record with this key (default ``MODELSHELF_SIGNING_KEY``).
        trusted_keys: refuse run records not signed by one of these public keys (default
            ``MODELSHELF_TRUSTED_KEYS``, else the ``trusted_keys`` config folder).
        **storage_options: passed to fsspec when ``shelf`` is a URL.
    """

    def __init__(
        self,
        shelf: str | Shelf | None = None,
        *,
        signing_key: Any = None,
        trusted_keys: Any = None,
        **storage_options: Any,
    ) -> None:
        self.shelf = get_shelf(shelf, **storage_options)
        self._runs_storage = _records_storage(self.shelf.storage, signing_key, trusted_keys)
        self._runs_records = RunRecords(self._runs_storage)
        self._runs_artifacts = ArtifactIndex(self._runs_storage, self.shelf.blobs)

    # -------------------------------------------------------------------------- experiments
    def create_experiment(self, name: str, tags: Mapping[str, Any] | None = None) -> str:
        """Create the experiment ``name`` and return its id.

        Raises:
            AlreadyExistsError: an experiment with that name exists.
            InvalidNameError: a bad experiment or tag name.
            InvalidInputError: a tag value that is not valid Unicode.
        """
        check_experiment_name(name)
        if self._runs_records.get_experiment(experiment_id_for(name)) is not None:
            raise AlreadyExistsError(f"experiment {name!r} already exists on {self.shelf.url}")
        exp = self._runs_records.ensure_experiment(name, tags=dict(tags or {}))
        return exp.experiment_id

    def get_experiment(self, experiment_id: str) -> Experiment:
        """The experiment with that id.

        Raises:
            NotFoundError: no such experiment.
        """
        exp = self._runs_records.get_experiment(str(experiment_id))
        if exp is None:
            raise NotFoundError(f"no experiment with id {experiment_id!r} on {self.shelf.url}")
        return exp

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """The experiment called ``name``, or None (as MLflow).

        Raises:
            InvalidNameError: ``name`` is not a valid experiment name.
        """
        check_experiment_name(name)
        return self._runs_records.get_experiment(experiment_id_for(name))

    def ensure_experiment(self, name: str) -> Experiment:
        """The experiment called ``name``, created if absent (what ``set_experiment`` does).

        Raises:
            InvalidNameError: ``name`` is not a valid experiment name.
        """
        return self._runs_records.ensure_experiment(name)

    def search_experiments(self) -> list[Experiment]:
        """Every experiment on the shelf, oldest first."""
        return self._runs_records.list_experiments()

    # --------------------------------------------------------------------------------- runs
    def create_run(
        self,
        experiment_id: str | None = None,
        start_time: int | None = None,
        tags: Mapping[str, Any] | None = None,
        run_name: str | None = None,
        *,
        experiment_name: str | None = None,
    ) -> Run:
        """Start a new run (status RUNNING) in an experiment (default: ``"Default"``).

        Raises:
            NotFoundError: ``experiment_id`` names no experiment.
            InvalidNameError: a bad tag, run or experiment name.
            InvalidInputError: a tag value or run name that is not valid Unicode.
        """
        if run_name is not None and not isinstance(run_name, str):
            raise InvalidNameError(
                f"run_name must be a string, got {type(run_name).__name__} {repr(run_name)[:60]}"
            )
        if experiment_id is not None and experiment_name is not None:
            raise InvalidInputError("pass experiment_id or experiment_name, not both")
        if experiment_id is not None:
            exp = self.get_experiment(str(experiment_id))
        else:
            exp = self._runs_records.ensure_experiment(experiment_name or DEFAULT_EXPERIMENT)
        all_tags = {
            check_name(k, "tag"): check_text(v, f"tag {k!r}") for k, v in (tags or {}).items()
        }
        if run_name is not None:
            check_text(run_name, "run_name")
        name = run_name or all_tags.get(RUN_NAME_TAG) or random_run_name()
        user = whoami().user
        all_tags.setdefault(RUN_NAME_TAG, name)
        all_tags.setdefault("mlflow.user", user)
        all_tags.setdefault(
            "mlflow.source.name", os.path.basename(sys.argv[0] or "") or "<console>"
        )
        all_tags.setdefault("mlflow.source.type", "LOCAL")
        for key in all_tags:
            check_name(key, "tag")
        run_id = uuid.uuid4().hex
        meta = {
            "experiment_id": exp.experiment_id,
            "experiment_name": exp.name,
            "format": 1,
            "run_id": run_id,
            "run_name": name,
            "start_time": _millis(start_time) if start_time is not None else now_ms(),
            "status": RunStatus.RUNNING,
            "tags": all_tags,
            "user_id": user,
        }
        self._runs_records.create_run(run_id, meta)
        return self._runs_to_run(RunRecord(meta=meta, tags=dict(all_tags)))

    def get_run(self, run_id: str) -> Run:
        """The run's info and data (params, latest metrics, tags).

        Raises:
            RunNotFoundError: no such run.
        """
        return self._runs_to_run(self._runs_records.read_run(run_id))

    def set_terminated(
        self, run_id: str, status: str = RunStatus.FINISHED, end_time: int | None = None
    ) -> None:
        """End the run (FINISHED, FAILED or KILLED); the end record is write-once.

        Raises:
            RunNotFoundError: no such run.
            ImmutableValueError: the run already ended with another status.
        """
        self._runs_records.terminate(run_id, status, end_time)

    def update_run(self, run_id: str, status: str | None = None, name: str | None = None) -> None:
        """Rename the run (a tag) and/or end it (terminal statuses only)."""
        if name is not None:
            self.set_tag(run_id, RUN_NAME_TAG, name)
        if status is not None and status.upper() != RunStatus.RUNNING:
            self.set_terminated(run_id, status)

    def search_runs(
        self,
        experiment_ids: str | Sequence[str] | None = None,
        filter_string: str | None = "",
        run_view_type: int | None = None,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
        *,
        experiment_names: str | Sequence[str] | None = None,
    ) -> PagedList[Run]:
        """Runs of some experiments (all when neither ids nor names are given), filtered.

        ``filter_string`` is MLflow's: comparisons of ``metrics.*``, ``params.*``, ``tags.*``
        and attributes (``status``, ``run_name``, ``start_time`` …) joined by ``and``.
        Results come in a stable order (``order_by``, then newest first, then run id), one
        page of ``max_results`` at a time: pass the page's ``.token`` as ``page_token`` for the
        next one. ``run_view_type`` is MLflow's ``ViewType`` (ACTIVE_ONLY, the default,
        DELETED_ONLY or ALL); runs on a shelf are never deleted, so DELETED_ONLY finds none.

        Raises:
            InvalidInputError: a malformed filter, order_by, run_view_type or page_token.
        """
        _count(max_results, "max_results")
        clauses = parse_filter(filter_string)
        order = parse_order_by(order_by)
        stages = lifecycle_stages(run_view_type)
        ids: list[str] | None = None
        if experiment_ids is not None:
            ids = [experiment_ids] if isinstance(experiment_ids, str) else list(experiment_ids)
            ids = [str(i) for i in ids]
        if experiment_names is not None:
            names = [experiment_names] if isinstance(experiment_names, str) else experiment_names
            ids = (ids or []) + [experiment_id_for(check_experiment_name(n)) for n in names]
        query = repr((sorted(ids) if ids is not None else None, clauses, order, sorted(stages)))
        offset = decode_token(page_token, query)
        limit = max(0, _count(max_results, "max_results"))
        if limit == 0:
            return PagedList([], None)
        records = self._runs_records.read_runs(self._runs_records.run_ids(ids))
        runs = [self._runs_to_run(r) for r in records]
        runs = [r for r in runs if r.info.lifecycle_stage in stages and matches(r, clauses)]
        return page(sort_runs(runs, order), offset, limit, query)

    # ---------------------------------------------------------------- params/metrics/tags
    def log_param(self, run_id: str, key: str, value: Any) -> Any:
        """Log a write-once param; the same value again is fine. Returns ``value``.

        Raises:
            ImmutableValueError: the param already holds another value.
            RunNotFoundError: no such run.
            InvalidNameError: a bad param name.
            InvalidInputError: the value is not valid Unicode or too long.
        """
        self._runs_records.log_params(run_id, {check_name(key, "param"): value})
        return value

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        """Log several write-once params in one record.

        Raises:
            ImmutableValueError: a param already holds another value.
            RunNotFoundError: no such run.
        """
        self._runs_records.log_params(run_id, params)

    def log_metrics(self, run_id: str, metrics: Sequence[Metric]) -> None:
        """Append several :class:`Metric` values in one record (nothing is rewritten).

        Raises:
            RunNotFoundError: no such run.
        """
        self._runs_records.log_metrics(run_id, list(metrics))

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        """Set several tags in one record (the newest value of each wins).

        Raises:
            RunNotFoundError: no such run.
        """
        self._runs_records.set_tags(run_id, tags)

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        timestamp: int | None = None,
        step: int | None = None,
    ) -> None:
        """Append one metric value (a new object; nothing is rewritten).

        Raises:
            InvalidNameError: a bad metric name.
            InvalidInputError: the value is not a number, or the step/timestamp not integers.
        """
        self._runs_records.log_metrics(run_id, [make_metric(key, value, timestamp, step)])

    def set_tag(self, run_id: str, key: str, value: Any) -> None:
        """Set a tag (the newest value wins).

        Raises:
            InvalidNameError: a bad tag name.
            InvalidInputError: the value is not valid Unicode.
        """
        self._runs_records.set_tags(run_id, {check_name(key, "tag"): value})

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a tag (recorded as a newer entry; history stays)."""
        self._runs_records.set_tags(run_id, {}, delete=[check_name(key, "tag")])

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Any] = (),
        params: Sequence[Any] = (),
        tags: Sequence[Any] = (),
    ) -> None:
        """Log MLflow ``Metric``/``Param``/``RunTag`` objects (anything with key and value).

        Raises:
            ImmutableValueError: a param already holds another value.
            InvalidNameError: a bad key.
            InvalidInputError: a bad value (names the key).
        """
        ms = [
            make_metric(m.key, m.value, getattr(m, "timestamp", None), getattr(m, "step", None))
            for m in metrics
        ]
        ps = {check_name(p.key, "param"): p.value for p in params}
        ts = {check_name(t.key, "tag"): t.value for t in tags}
        if ps:
            self._runs_records.log_params(run_id, ps)
        if ms:
            self._runs_records.log_metrics(run_id, ms)
        if ts:
            self._runs_records.set_tags(run_id, ts)

    def get_metric_history(self, run_id: str, key: str) -> MetricHistory:
        """Every logged value of ``key``, oldest first; ``.to_arrow()`` gives a pyarrow table."""
        record = self._runs_records.read_run(run_id)
        return MetricHistory(sorted((m for m in record.metrics if m.key == key), key=_order))

    def get_metric_history_table(self, run_id: str, keys: Iterable[str] | None = None) -> Any:
        """The metric history of the run as a ``pyarrow.Table`` (key, value, step, timestamp).

        Raises:
            RunNotFoundError: no such run.
        """
        record = self._runs_records.read_run(run_id)
        wanted = set(keys) if keys is not None else None
        rows = [m for m in record.metrics if wanted is None or m.key in wanted]
        return _metrics_table(sorted(rows, key=lambda m: (m.key, *_order(m))))

    # ----------------------------------------------------------------------------- artifacts
    def log_artifact(
        self, run_id: str, local_path: str | os.PathLike[str], artifact_path: str | None = None
    ) -> None:
        """Store one file at ``<artifact_path>/<file name>`` in the run (write-once).

        Raises:
            ArtifactExistsError: the path holds other bytes, or nests with another artifact.
            InvalidPathError: ``artifact_path`` is absolute or escapes the run.
            RunNotFoundError: no such run.
        """
        self._runs_records.require_run(run_id)
        self._runs_artifacts.log_file(run_id, _local(local_path), artifact_path)

    def log_artifacts(
        self, run_id: str, local_dir: str | os.PathLike[str], artifact_path: str | None = None
    ) -> None:
        """Store a folder as one tree at ``artifact_path`` (write-once; re-logging the same
        files uploads nothing).

        Raises:
            ArtifactExistsError: the path holds other bytes, or nests with another artifact.
            InvalidPathError: ``artifact_path`` is absolute or escapes the run.
            RunNotFoundError: no such run.
        """
        self._runs_records.require_run(run_id)
        self._runs_artifacts.log_dir(run_id, _local(local_dir), artifact_path)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        """Store ``text`` (UTF-8) as the file ``artifact_file`` of the run.

        Raises:
            InvalidPathError: ``artifact_file`` is empty, absolute, escapes or is too long.
            InvalidInputError: ``text`` is not a string of valid Unicode.
            ArtifactExistsError: the path holds other bytes.
        """
        if not isinstance(text, str):
            raise InvalidInputError(
                f"log_text needs a str, got {type(text).__name__}; use log_dict for objects "
                "or log_artifact for files"
            )
        data = check_text(text, f"the text for {str(artifact_file)[:60]!r}").encode("utf-8")
        self._runs_records.require_run(run_id)
        self._runs_artifacts.log_bytes(run_id, data, artifact_file)

    def log_dict(self, run_id: str, dictionary: Any, artifact_file: str) -> None:
        """Store a dict as JSON, or YAML when ``artifact_file`` ends in .yaml/.yml.

        Raises:
            InvalidPathError: a bad ``artifact_file``.
            InvalidInputError: ``dictionary`` holds values JSON/YAML cannot represent.
        """
        path = clean_artifact_path(artifact_file)
        errors: tuple[type[BaseException], ...] = (TypeError, ValueError, RecursionError)
        try:
            if path.lower().endswith((".yaml", ".yml")):
                import yaml

                errors += (yaml.YAMLError,)
                text = yaml.safe_dump(dictionary, default_flow_style=False, sort_keys=False)
            else:
                text = json.dumps(dictionary, indent=2)
        except errors as exc:
            raise InvalidInputError(
                f"cannot write {path!r} of run {run_id}: {exc}; log_dict takes plain dicts, "
                "lists, strings, numbers, booleans and None"
            ) from None
        self.log_text(run_id, text, artifact_file)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        """The direct children of ``path`` in the run (its root when None), as MLflow lists them.

        Raises:
            RunNotFoundError: no such run.
            InvalidPathError: ``path`` is absolute or escapes the run.
        """
        self._runs_records.require_run(run_id)
        return self._runs_artifacts.list(run_id, path)

    def download_artifacts(self, run_id: str, path: str = "", dst_path: str | None = None) -> str:
        """Download the artifact ``path`` (a file or folder) to ``<dst_path>/<path>``.

        Bytes come through the verified local cache: a second download reads no blob.
        ``dst_path`` defaults to a new temporary folder.

        Raises:
            RunNotFoundError: no such run.
            ArtifactNotFoundError: nothing is logged at ``path`` (names what is).
        """
        path = clean_artifact_path(path)
        located = self.locate_artifact(run_id, path)
        base = (
            Path(dst_path) if dst_path is not None else Path(tempfile.mkdtemp(prefix="modelshelf-"))
        )
        dest = base.joinpath(*path.split("/")) if path else base
        return str(materialise(self.shelf.blobs, located.kind, located.digest, located.tree, dest))

    def locate_artifact(self, run_id: str, path: str | None) -> Located:
        """What ``runs:/<run_id>/<path>`` names (the runs part of :mod:`modelshelf.uri`).

        Raises:
            RunNotFoundError: no such run.
            ArtifactNotFoundError: nothing is logged at ``path``.
        """
        self._runs_records.require_run(run_id)
        return self._runs_artifacts.locate(run_id, path)

    # ------------------------------------------------------------------------------- lineage
    def record_logged_model(
        self,
        run_id: str,
        artifact_path: str,
        digest: Digest | str,
        *,
        flavors: Sequence[str] = (),
        model_id: str | None = None,
    ) -> LoggedModelInfo:
        """Note that a model (tree ``digest``) was logged at ``artifact_path`` of the run.

        Called by the model layer after it logged the model's folder. Write-once: the same
        digest again returns the first record.

        Raises:
            ArtifactExistsError: another model was recorded at that path.
            RunNotFoundError: no such run.
        """
        self._runs_records.require_run(run_id)
        path = clean_artifact_path(artifact_path)
        if not path:
            raise InvalidNameError("a logged model needs a non-empty artifact path")
        info = LoggedModelInfo(
            model_id=model_id or f"m-{uuid.uuid4().hex}",
            run_id=run_id,
            artifact_path=path,
            digest=str(Digest.parse(digest)),
            timestamp=now_ms(),
            flavors=tuple(flavors),
        )
        key = f"runs/{run_id}/models/{name_key(path)}"
        storage = self._runs_storage
        try:
            self.shelf.blobs.check_before_commit(info.digest)
        except ObjectNotFoundError:
            if not storage.exists(key):
                raise  # else the create below fails and compares with what is there
        try:
            storage.write(key, dumps(info.to_dict()))
        except AlreadyExistsError:
            old = LoggedModelInfo.from_dict(loads(storage.read(key)))
            if old.digest != info.digest:
                raise ArtifactExistsError(
                    f"run {run_id} already has the model {old.model_id} ({old.digest}) at "
                    f"{path!r}; log the new model at another artifact path"
                ) from None
            return old
        try:
            storage.write(f"logged_models/{info.model_id}.json", dumps(info.to_dict()))
        except AlreadyExistsError:
            pass
        return info

    def list_logged_models(self, run_id: str) -> list[LoggedModelInfo]:
        """The models logged in the run, by artifact path.

        Raises:
            RunNotFoundError: no such run.
        """
        self._runs_records.require_run(run_id)
        storage = self._runs_storage
        keys = [i.key for i in storage.list(f"runs/{run_id}/models/")]
        found = [LoggedModelInfo.from_dict(loads(v)) for v in storage.read_many(keys).values() if v]
        return sorted(found, key=lambda m: m.artifact_path)

    def get_logged_model(self, model_id: str) -> LoggedModelInfo:
        """The logged model ``m-<32 hex>``.

        Raises:
            NotFoundError: no such logged model.
        """
        if not (
            isinstance(model_id, str) and model_id.startswith("m-") and check_run_id(model_id[2:])
        ):
            raise NotFoundError(f"{model_id!r} is not a logged model id (expected 'm-<32 hex>')")
        data = self._runs_storage.read_many([f"logged_models/{model_id}.json"])
        value = next(iter(data.values()))
        if value is None:
            raise NotFoundError(f"no logged model {model_id!r} on the shelf {self.shelf.url}")
        return LoggedModelInfo.from_dict(loads(value))

    def search_logged_models(
        self, experiment_ids: Sequence[str] | None = None
    ) -> list[LoggedModelInfo]:
        """Every model logged on the shelf (in these experiments), newest first.

        Raises:
            RunNotFoundError: a logged model's run is missing (a damaged shelf).
        """
        storage = self._runs_storage
        keys = [i.key for i in storage.list("logged_models/") if i.key.endswith(".json")]
        found = [LoggedModelInfo.from_dict(loads(v)) for v in storage.read_many(keys).values() if v]
        if experiment_ids is not None:
            wanted = {str(e) for e in experiment_ids}
            run_exp = {
                r: str(self._runs_records.read_run(r).meta["experiment_id"])
                for r in {m.run_id for m in found}
            }
            found = [m for m in found if run_exp[m.run_id] in wanted]
        return sorted(found, key=lambda m: (-m.timestamp, m.model_id))

    # ------------------------------------------------------------------------------ helpers
    def _runs_to_run(self, record: RunRecord) -> Run:
        meta = record.meta
        info = RunInfo(
            run_id=record.run_id,
            run_name=record.tags.get(RUN_NAME_TAG) or str(meta.get("run_name") or ""),
            experiment_id=str(meta["experiment_id"]),
            experiment_name=str(meta.get("experiment_name") or ""),
            status=record.status,
            start_time=int(meta["start_time"]),
            end_time=int(record.end["end_time"]) if record.end else None,
            user_id=str(meta.get("user_id") or ""),
            artifact_uri=runs_uri(record.run_id),
        )
        data = RunData(
            params=dict(sorted(record.params.items())),
            metrics=dict(sorted(record.latest_metrics().items())),
            tags=dict(sorted(record.tags.items())),
        )
        return Run(info, data)


def _records_storage(storage: Storage, signing_key: Any, trusted_keys: Any) -> Storage:
    """The shelf's storage, signing and checking run records when keys are configured."""
    from modelshelf.signing import resolve_signing_key, resolve_trusted_keys

    signer, trusted = resolve_signing_key(signing_key), resolve_trusted_keys(trusted_keys)
    if signer is None and not trusted:
        return storage
    from modelshelf.signing._records import SignedRecords

    return SignedRecords(storage, signer, trusted)


def _count(value: object, what: str) -> int:
    try:
        if isinstance(value, bool):
            raise TypeError
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise InvalidInputError(f"{what} must be an integer, got {repr(value)[:60]}") from None


def _millis(value: object) -> int:
    try:
        if isinstance(value, (str, bytes, bool)):
            raise TypeError
        return int(value)  # type: ignore[call-overload, no-any-return]
    except (TypeError, ValueError, OverflowError):
        raise InvalidInputError(
            f"start_time must be milliseconds since the epoch (a number), got {repr(value)[:60]}"
        ) from None


def _local(path: object) -> str:
    try:
        return os.fspath(path)  # type: ignore[call-overload, no-any-return]
    except TypeError:
        raise InvalidInputError(
            f"the local path to log must be a str or os.PathLike, got {type(path).__name__}"
        ) from None


def _order(m: Metric) -> tuple[int, int]:
    return (m.timestamp, m.step)


def _metrics_table(metrics: Sequence[Metric]) -> Any:
    import pyarrow as pa

    return pa.table(
        {
            "key": pa.array([m.key for m in metrics], pa.string()),
            "value": pa.array([m.value for m in metrics], pa.float64()),
            "step": pa.array([m.step for m in metrics], pa.int64()),
            "timestamp": pa.array([m.timestamp for m in metrics], pa.int64()),
        }
    )
