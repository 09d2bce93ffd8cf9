"""Run value objects, shaped like MLflow's entities so MLflow scripts read them unchanged."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "Experiment",
    "FileInfo",
    "LoggedModelInfo",
    "Metric",
    "Param",
    "Run",
    "RunData",
    "RunInfo",
    "RunStatus",
    "RunTag",
]


class RunStatus:
    """MLflow's run statuses (plain strings, as ``run.info.status`` holds them)."""

    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    ALL = (RUNNING, SCHEDULED, FINISHED, FAILED, KILLED)
    TERMINATED = (FINISHED, FAILED, KILLED)


@dataclass(frozen=True, slots=True)
class Metric:
    """One logged metric value: key, value, timestamp (ms since epoch) and step."""

    key: str
    value: float
    timestamp: int
    step: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Metric:
        return cls(
            str(data["key"]), float(data["value"]), int(data["timestamp"]), int(data["step"])
        )


@dataclass(frozen=True, slots=True)
class Param:
    """A write-once run parameter."""

    key: str
    value: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class RunTag:
    """A run tag (last write wins)."""

    key: str
    value: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class RunInfo:
    """What MLflow's ``run.info`` holds. Times are ms since the epoch."""

    run_id: str
    run_name: str
    experiment_id: str
    experiment_name: str
    status: str
    start_time: int
    end_time: int | None
    user_id: str
    artifact_uri: str
    lifecycle_stage: str = "active"

    @property
    def run_uuid(self) -> str:
        """MLflow's deprecated alias of ``run_id``."""
        return self.run_id

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class RunData:
    """``run.data``: params, the latest value of each metric, and tags."""

    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"params": dict(self.params), "metrics": dict(self.metrics), "tags": dict(self.tags)}


@dataclass(frozen=True, slots=True)
class Run:
    """A run: ``info`` and ``data``, as MLflow's ``Run``."""

    info: RunInfo
    data: RunData

    def to_dict(self) -> dict[str, Any]:
        return {"info": self.info.to_dict(), "data": self.data.to_dict()}


@dataclass(frozen=True, slots=True)
class Experiment:
    """An experiment: runs are grouped by its name. The default one is ``"Default"`` (id ``"0"``)."""

    experiment_id: str
    name: str
    creation_time: int
    artifact_location: str
    tags: dict[str, str] = field(default_factory=dict)
    lifecycle_stage: str = "active"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class FileInfo:
    """One entry of ``list_artifacts``: a path relative to the run root, and its size."""

    path: str
    is_dir: bool
    file_size: int | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class LoggedModelInfo:
    """A model logged in a run: where (artifact path), which bytes (tree digest), its id."""

    model_id: str
    run_id: str
    artifact_path: str
    digest: str
    timestamp: int
    flavors: tuple[str, ...] = ()

    @property
    def model_uri(self) -> str:
        return f"runs:/{self.run_id}/{self.artifact_path}"

    @property
    def name(self) -> str:
        """MLflow's ``LoggedModel.name``: the name the model was logged under."""
        return self.artifact_path

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["flavors"] = list(self.flavors)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoggedModelInfo:
        return cls(
            model_id=str(data["model_id"]),
            run_id=str(data["run_id"]),
            artifact_path=str(data["artifact_path"]),
            digest=str(data["digest"]),
            timestamp=int(data["timestamp"]),
            flavors=tuple(data.get("flavors") or ()),
        )
