"""What reading MLflow returns: plain dataclasses, ready for JSON (``dataclasses.asdict``).

Shared by :mod:`nbmlops.runs.query` (which makes them from MLflow's entities), the diff of
runs, the panel and the sidebar's server. Properties read nbmlops' tags by their names in
:mod:`nbmlops.store`, so no reader spells a tag name itself.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from nbmlops import store
from nbmlops.record import MetricPoint
from nbmlops.runs.artifacts import figure_pages, images

__all__ = ["Dataset", "DriftAlert", "Experiment", "RunDetails", "RunPage", "RunSummary"]


@dataclass(frozen=True)
class Experiment:
    """An MLflow experiment (for nbmlops: one notebook)."""

    experiment_id: str
    name: str
    lifecycle_stage: str = "active"
    artifact_location: str = ""
    creation_time: int | None = None  # ms since the epoch
    last_update_time: int | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Dataset:
    """One data version a run read or wrote (an MLflow dataset input)."""

    name: str
    digest: str
    fingerprint: str  # nbmlops' full-content fingerprint (the digest, unless it was cut)
    context: str  # "input", "output" or "input,output"
    kind: str = ""  # "dataframe", "series", "ndarray", "file", ...
    source_type: str = ""
    source: str = ""
    schema: str | None = None  # MLflow's schema JSON
    profile: str | None = None  # MLflow's profile JSON (rows, shape, size)

    @property
    def short(self) -> str:
        """The first 8 hex digits, as the status line shows them."""
        return self.fingerprint[:8]

    @property
    def contexts(self) -> tuple[str, ...]:
        return tuple(c for c in self.context.split(",") if c)


@dataclass
class RunSummary:
    """What a table row needs: the run's attributes, params, latest metrics, tags, data."""

    run_id: str
    run_name: str
    experiment_id: str
    status: str
    start_time: int | None  # ms since the epoch
    end_time: int | None
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)  # the latest value of each
    tags: dict[str, str] = field(default_factory=dict)
    datasets: list[Dataset] = field(default_factory=list)
    #: A search's best candidates, nested runs ranked best first (see nbmlops.runs.candidates).
    candidates: list[RunSummary] = field(default_factory=list)

    @property
    def duration_s(self) -> float | None:
        """Seconds the cell ran: nbmlops' own measure, else MLflow's start and end times."""
        with contextlib.suppress(KeyError, ValueError):
            return float(self.tags[store.DURATION_TAG])
        if self.start_time and self.end_time:
            return (self.end_time - self.start_time) / 1000.0
        return None

    @property
    def code_sha(self) -> str | None:
        return self.tags.get(store.CODE_SHA_TAG)

    @property
    def python(self) -> str | None:
        return self.tags.get(store.PYTHON_TAG)

    @property
    def git_commit(self) -> str | None:
        return self.tags.get(store.GIT_COMMIT_TAG)

    @property
    def git_dirty(self) -> bool:
        """Whether the repository had uncommitted changes when the cell ran."""
        return self.tags.get(store.GIT_DIRTY_TAG) == "true"

    @property
    def error(self) -> str | None:
        """``Type: message`` of a failed cell, None otherwise."""
        message = self.tags.get(store.ERROR_MESSAGE_TAG)
        if message is None:
            return None
        kind = self.tags.get(store.ERROR_TYPE_TAG)
        return f"{kind}: {message}" if kind else message

    @property
    def parent_run_id(self) -> str | None:
        return self.tags.get(store.PARENT_RUN_TAG)

    @property
    def injected_params(self) -> list[str]:
        """The params papermill or ``nbmlops run`` injected into the notebook."""
        return [n for n in self.tags.get(store.PARAMS_INJECTED_TAG, "").split(",") if n]

    @property
    def job(self) -> str | None:
        """The job's name, on the parent run of a job (``nbmlops run``)."""
        return self.tags.get(store.JOB_TAG)

    @property
    def group(self) -> str | None:
        """The notebook execution the run belongs to: a job run and its nested cell runs
        share the job run's id; the cells one kernel ran share its session."""
        if self.parent_run_id:
            return self.parent_run_id
        if self.job:
            return self.run_id
        return self.tags.get(store.SESSION_TAG)

    @property
    def slice_verdict(self) -> str | None:
        """Whether the cell's inputs came from the code as it stands: clean, stale, unsure."""
        return self.tags.get(store.SLICE_TAG)

    @property
    def slice_reasons(self) -> list[str]:
        return self.tags.get(store.SLICE_REASONS_TAG, "").splitlines()

    @property
    def reproduced(self) -> str | None:
        """``nbmlops reproduce``'s verdict: yes, within-tolerance, no; None if never tried."""
        return self.tags.get(store.REPRODUCED_TAG)

    @property
    def reproduces(self) -> str | None:
        """On a run made by ``nbmlops reproduce``: the id of the run it reproduces."""
        return self.tags.get(store.REPRODUCES_TAG)

    @property
    def candidate_rank(self) -> int | None:
        """On a search's candidate run: its rank among the candidates (1 = best)."""
        with contextlib.suppress(KeyError, ValueError):
            return int(self.tags[store.CANDIDATE_RANK_TAG])
        return None

    @property
    def candidate_of(self) -> str | None:
        """On a search's candidate run: the variable that held the search."""
        return self.tags.get(store.CANDIDATE_OF_TAG)

    @property
    def step(self) -> str | None:
        """On a pipeline step's run: the step's name."""
        return self.tags.get(store.STEP_TAG)

    @property
    def inputs(self) -> list[Dataset]:
        return [d for d in self.datasets if "input" in d.contexts]


@dataclass
class RunPage:
    """One page of an experiment's runs; ``next_page_token`` is None on the last page."""

    experiment: Experiment | None  # None: a notebook without runs yet (the sidebar's page)
    runs: list[RunSummary]
    next_page_token: str | None
    order_by: list[str]
    filter: str


@dataclass
class RunDetails:
    """One run in full: history of every metric, artifact paths, the cell's code and the
    ``name -> version`` pairs of its ``env/requirements.txt``."""

    run: RunSummary
    metric_history: dict[str, list[MetricPoint]] = field(default_factory=dict)
    artifacts: list[str] = field(default_factory=list)
    code: str | None = None
    requirements: dict[str, str] = field(default_factory=dict)
    #: What the data checks found changed since the cell's previous run (data/drift.json).
    drift: list[DriftAlert] = field(default_factory=list)

    @property
    def images(self) -> list[str]:
        """The artifacts a browser can show: the cell's figures first."""
        return images(self.artifacts)

    @property
    def figure_pages(self) -> list[str]:
        """Interactive figures recorded as HTML pages (``figures/*.html``)."""
        return figure_pages(self.artifacts)


@dataclass(frozen=True)
class DriftAlert:
    """One finding of the data checks: ``raw.amount: mean 101 → 121 (PSI 0.97, KS 0.39)``."""

    name: str  # the data's name in the cell
    context: str  # "input" or "output"
    kind: str  # "schema" | "rows" | "nulls" | "distribution"
    column: str | None
    message: str

    @property
    def line(self) -> str:
        where = f"{self.name}.{self.column}" if self.column and self.kind != "schema" else (
            self.name)
        return f"{where}: {self.message}"
