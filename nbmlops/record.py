"""The RunRecord: one tracked cell execution as plain data.

Capture builds it in the kernel, the spool stores it as ``record.json`` beside its artifact
files, and the sync process turns it into one MLflow run. It never holds live objects, only
JSON-serialisable values, so a record written by one process is read back by another.
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["FINISHED", "FAILED", "KILLED"]
Context = Literal["input", "output"]

SCHEMA_VERSION = 1


@dataclass
class MetricPoint:
    name: str
    value: float
    step: int = 0
    timestamp_ms: int = 0


@dataclass
class DataRecord:
    """A data version the cell read or wrote."""

    name: str  # variable name, or the path of a file
    context: Context
    kind: str  # "dataframe", "series", "ndarray", "file", ...
    fingerprint: str  # full-content xxh3-128, hex
    source: str  # "variable:<name>" or an absolute file path
    shape: list[int] = field(default_factory=list)
    schema: list[dict[str, str]] = field(default_factory=list)  # [{"name":..., "dtype":...}]
    size_bytes: int = 0
    #: A few figures of the data's profile (``nbmlops.data.profiles.summary``; all of it is the
    #: artifact ``nbmlops.data.profiles.artifact_path(name, context)``); empty if not profiled.
    profile: dict[str, Any] = field(default_factory=dict)


@dataclass
class ModelRecord:
    """A model object a ``%%track --model VAR[=NAME]`` cell left behind, pickled into the
    spool entry; the sync process logs it with its MLflow flavour and registers it."""

    variable: str
    name: str  # the registered model's name
    file: str  # path of the pickle inside the entry
    module: str  # the object's class: module and name, to choose the MLflow flavour
    class_name: str
    example: str | None = None  # path of a pickled input example (a few training rows)
    example_of: str | None = None  # the variable the example was cut from
    reference: str | None = None  # path of its training data's monitoring reference (JSON)


@dataclass
class GitState:
    commit: str | None = None
    branch: str | None = None
    dirty: bool = False
    remote: str | None = None


@dataclass
class Environment:
    python: str = ""
    packages: dict[str, str] = field(default_factory=dict)  # distribution -> version
    git: GitState | None = None
    # True while git was still answering when the cell ended: the kernel amends the spooled
    # record once it has the answer, and the sync process waits a little for that.
    git_pending: bool = False


@dataclass
class Outcome:
    status: Status = "FINISHED"
    start_ms: int = 0
    end_ms: int = 0
    error_type: str | None = None
    error_message: str | None = None

    @property
    def duration_s(self) -> float:
        return (self.end_ms - self.start_ms) / 1000.0


@dataclass
class ChildRecord:
    """A run nested under the cell's run (MLflow's ``mlflow.parentRunId``): a candidate a
    hyperparameter search tried, with its settings and scores."""

    run_name: str
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class RunRecord:
    """Everything one ``%%track`` execution produced, ready to become an MLflow run.

    Artifacts are files below the record's own folder in the spool; ``artifacts`` lists their
    paths relative to that folder (``code/cell.py``, ``figures/figure-1.png``, ...), which are
    also their artifact paths in MLflow.
    """

    tracking_uri: str
    experiment: str
    run_name: str
    code_sha: str
    record_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created: float = field(default_factory=time.time)
    notebook: str = "<ipython>"  # relative to the project root when inside it
    project_root: str = ""
    cell_id: str | None = None
    execution_count: int | None = None
    parent_run_id: str | None = None
    #: One id per kernel process: the runs of one notebook execution share it.
    session_id: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    metrics: list[MetricPoint] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    datasets: list[DataRecord] = field(default_factory=list)
    environment: Environment = field(default_factory=Environment)
    outcome: Outcome = field(default_factory=Outcome)
    artifacts: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # what nbmlops could not capture
    models: list[ModelRecord] = field(default_factory=list)
    #: Nested runs uploaded with this one (a search's best candidates); absent in older records.
    children: list[ChildRecord] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> RunRecord:
        raw: dict[str, Any] = json.loads(text)
        env = raw.pop("environment", {}) or {}
        git = env.pop("git", None)
        return cls(
            metrics=[MetricPoint(**m) for m in raw.pop("metrics", [])],
            datasets=[DataRecord(**d) for d in raw.pop("datasets", [])],
            models=[ModelRecord(**m) for m in raw.pop("models", None) or []],
            children=[ChildRecord(**c) for c in raw.pop("children", None) or []],
            environment=Environment(**env, git=GitState(**git) if git else None),
            outcome=Outcome(**raw.pop("outcome", {})),
            **raw,
        )
