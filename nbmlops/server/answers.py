"""Every JSON answer of the sidebar's REST API, defined once.

Each route of :mod:`nbmlops.server.routes` that answers JSON names its answer's type in
:data:`ANSWERS`: a dataclass of :mod:`nbmlops.runs` (a run, a page, a diff) or one of the
answers below, which the handlers build. :data:`SENT_PROPERTIES` lists the computed
properties an answer carries besides its fields. The sidebar's TypeScript types are
generated from both (:mod:`nbmlops.server.typescript`), and
:func:`~nbmlops.server.jsonable.jsonable` sends what they name, so a field added here reaches
the browser's types at the next build.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

from nbmlops.record import MetricPoint
from nbmlops.runs.diff import CodeDiff, DataRow, ImageRow, MetricRow, PackageRow, ParamRow, RunDiff
from nbmlops.runs.entities import Dataset, DriftAlert, Experiment, RunDetails, RunPage, RunSummary
from nbmlops.server import mlflow_ui
from nbmlops.server.notebook import NotebookInfo, TrackedCell

if TYPE_CHECKING:  # the jobs' code costs the server's start a fifth of a second
    from nbmlops.jobs import monitor_overview
    from nbmlops.jobs import overview as jobs_overview

__all__ = ["ANSWERS", "ERROR", "SENT_PROPERTIES", "TS_NAMES", "sent_properties"]


@dataclass
class RunAnswer(RunDetails):
    """``GET runs/ID``: the run in full, with its page in the MLflow UI."""

    url: str | None = None


@dataclass
class SpoolStatus:
    """``GET spool``: :func:`nbmlops.sync.worker.status`, its paths as the browser may see
    them (built with ``**status``, so a key the worker adds must be named here)."""

    spool: str
    pending: int
    oldest_pending_age_s: float | None
    running: bool
    pid: int | None
    failing: bool
    last_error: str | None
    last_error_at: float | None
    last_success_at: float | None
    last_run_url: str | None
    uploaded_total: int
    failed: int
    log: str
    advice: str | None
    unreadable: str | None


class Reign(TypedDict, total=False):
    """One time a version held an alias (:mod:`nbmlops.sync.aliases` writes them)."""

    since: int  # ms since the epoch
    until: int | None
    by: str  # who moved the alias
    how: str  # promote, rollback, ...


@dataclass
class ModelVersion:
    """A registered version: :meth:`nbmlops.models.registry.VersionInfo.to_dict`, built with
    ``**to_dict()`` so the two cannot drift apart."""

    name: str
    version: str
    run_id: str | None
    created: int  # ms since the epoch
    aliases: list[str]
    notebook: str | None
    metrics: dict[str, float]
    data: dict[str, str]  # name -> fingerprint of the data it was trained on
    history: dict[str, list[Reign]]  # alias -> its reigns on this version
    code_sha: str | None
    author: str | None
    gates: str | None  # one line: the last gate report's summary
    report: str | None  # the evaluation report's artifact path in the version's run


@dataclass
class RegisteredModel:
    name: str
    aliases: dict[str, str]  # alias -> version
    versions: list[ModelVersion]  # newest first


@dataclass
class NotebookModels:
    """``GET models``: the models the notebook's cells registered."""

    notebook: str | None
    models: list[RegisteredModel]
    champion_runs: dict[str, str]  # model name -> the run of its champion version
    champion: str  # the alias that marks the model in use (store.CHAMPION)


@dataclass
class ExportSchedule:
    cron: str | None
    timezone: str
    targets: list[str]


@dataclass
class ExportResult:
    """``POST export``: the job folder written, relative to the server's root."""

    name: str
    folder: str
    files: list[str]
    created: bool
    schedule: ExportSchedule
    parameters: list[str]
    warnings: list[str]  # lint findings that did not stop the export
    notes: list[str]
    changes: list[str]  # what changed since the folder's previous export


@dataclass
class JobSchedule:
    cron: str | None
    timezone: str
    words: str | None  # the cron expression in words
    targets: list[str]


@dataclass
class JobInfo:
    """``GET jobs``: one job exported from the notebook. Its runs' and steps' output
    notebooks are relative to the server's root (None when gone)."""

    name: str
    folder: str
    schedule: JobSchedule
    installed: bool  # cron runs it on this machine
    files: list[str]
    next_run: str | None  # ISO time, when installed
    running: bool
    parameters: list[jobs_overview.ParamSpec]
    runs: list[jobs_overview.JobRun]
    runs_error: str | None
    steps: list[jobs_overview.StepStatus]  # a pipeline's, in run order


@dataclass
class JobStarted:
    """``POST jobs/run``: the job runs in the background."""

    started: bool
    job: str


@dataclass
class Message:
    """``POST jobs/schedule``: what was done, in words."""

    message: str


@dataclass
class NotebookMonitor:
    """``GET monitor?notebook=PATH``: the monitoring of each job exported from the notebook
    (:mod:`nbmlops.jobs.monitor_overview`), its folder relative to the server's root."""

    notebook: str
    jobs: list[monitor_overview.JobMonitor]
    champion: str  # the alias of the model in use (store.CHAMPION)


@dataclass
class ErrorAnswer:
    """Any refused request (4xx): the message for people and the error's class name."""

    message: str
    error: str


def registered_model(info: Any) -> RegisteredModel:
    """A :class:`nbmlops.models.registry.ModelInfo` as the sidebar gets it."""
    shown = info.to_dict()
    return RegisteredModel(**{**shown, "versions": [ModelVersion(**v) for v in shown["versions"]]})


#: The answer of each JSON route, by its pattern in :data:`nbmlops.server.routes.ROUTES`
#: (the image and the MLflow link answer files and pages, not JSON).
ANSWERS: dict[str, Any] = {
    "notebook": NotebookInfo,
    "experiments": list[Experiment],
    "runs": RunPage,
    r"runs/(?P<run_id>[0-9A-Za-z_-]+)": RunAnswer,
    "diff": RunDiff,
    "spool": SpoolStatus,
    "models": NotebookModels,
    "export": ExportResult,
    "mlflow-ui": mlflow_ui.Answer,
    "jobs": list[JobInfo],
    "jobs/run": JobStarted,
    "jobs/schedule": Message,
    "monitor": NotebookMonitor,
}

#: What every refused request answers.
ERROR = ErrorAnswer

#: Computed properties sent with an answer's fields; the sidebar reads nbmlops' tags through
#: these, never by their names.
SENT_PROPERTIES: dict[type, tuple[str, ...]] = {
    RunSummary: ("duration_s", "code_sha", "python", "git_commit", "git_dirty", "error",
                 "parent_run_id", "job", "group", "injected_params",
                 "slice_verdict", "slice_reasons", "reproduced", "reproduces", "step",
                 "candidate_rank", "candidate_of"),
    RunDetails: ("images", "figure_pages"),
    Dataset: ("short",),
    MetricRow: ("differs",),
    DriftAlert: ("line",),
}

#: TypeScript names, by Python class name, where the Python one would be ambiguous.
TS_NAMES: dict[str, str] = {
    "RunAnswer": "RunDetails",
    "StepRun": "JobStepRun",
    "StepStatus": "JobStep",
    "ParamSpec": "JobParameter",
    "Answer": "MlflowUi",
}


def sent_properties(cls: type) -> tuple[str, ...]:
    """The computed properties sent with ``cls``'s fields (a subclass sends its bases')."""
    return tuple(name for base in reversed(cls.__mro__) for name in SENT_PROPERTIES.get(base, ()))


def known() -> dict[str, Any]:
    """Names the answers' annotations use that their modules import only for type checks."""
    from nbmlops.jobs import monitor_overview
    from nbmlops.jobs import overview as jobs_overview

    modules = {"jobs_overview": jobs_overview, "monitor_overview": monitor_overview}
    return {**modules, **{t.__name__: t for t in (
        TrackedCell, RunSummary, RunDetails, RunPage, Dataset, DriftAlert, Experiment,
        MetricPoint, ParamRow, MetricRow, DataRow, PackageRow, CodeDiff, ImageRow, RunDiff)}}
