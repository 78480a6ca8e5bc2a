"""A scoring job's monitoring at a glance, as ``nbmlops monitor``, ``%mlops monitor`` and the
sidebar's Monitor view show it: the model and its champion, the scoring runs oldest first with
what drifted, each column's drift over time, the alerts still open and the last retraining.

Everything is read back from MLflow through :mod:`nbmlops.monitor.history` and the registry;
:func:`build` is pure over what was read, :func:`describe` turns an overview into text for a
terminal (a line of bars per column).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbmlops import config, store
from nbmlops.exceptions import JobError
from nbmlops.jobs.spec import JOB_FILE, Job, folder_of, load
from nbmlops.monitor.history import JobRun, ScoringRun

__all__ = ["ColumnSeries", "JobMonitor", "MonitorAlert", "Retraining", "ScoredRun",
           "build", "describe", "job_folder", "monitor_job", "project_monitors", "sparkline"]

#: The per-column statistics the scoring cell logs (``monitor.MODEL.COLUMN.STATISTIC``).
STATISTICS = ("wasserstein", "jensen_shannon")
LAST_RUNS = 10  # the scoring runs the text lists (the chart and the JSON keep them all)


@dataclass
class ScoredRun:
    """One scoring run: the version it scored with and what drifted."""

    run_id: str
    experiment_id: str
    when: str  # ISO time, UTC
    status: str
    version: str
    compared: bool  # False: the batch could not be compared (no reference, no frame)
    drifted: bool  # against the training data of the version it scored with
    drifted_columns: list[str]
    drift_share: float | None
    rows: int | None
    job_run_id: str | None


@dataclass
class ColumnSeries:
    """One column's drift statistic over the scoring runs, oldest first (None: not measured
    in that run)."""

    column: str
    statistic: str
    values: list[float | None]
    drifted: list[bool]


@dataclass
class MonitorAlert:
    """An alert of the newest run of the job: open until a later run raises none."""

    kind: str
    title: str
    job_run_id: str
    when: str
    deliveries: list[str]  # "webhook 127.0.0.1: delivered", "e-mail via host: failed (...)"


@dataclass
class Retraining:
    """The last time drift started the training job, and what became of it."""

    job_run_id: str
    when: str
    decision: str
    reason: str | None
    training_run_id: str | None
    outcome: str | None


@dataclass
class JobMonitor:
    """A scoring job's monitoring overview."""

    job: str
    folder: str
    model: str | None
    champion: str | None  # the champion's version
    champion_run_id: str | None  # the run that trained it
    experiment_id: str | None
    runs: list[ScoredRun] = field(default_factory=list)  # oldest first
    columns: list[ColumnSeries] = field(default_factory=list)
    alerts: list[MonitorAlert] = field(default_factory=list)
    retraining: Retraining | None = None
    error: str | None = None  # MLflow could not be read
    attention: bool = False  # the newest scoring run drifted, or an alert is open


# -- reading --------------------------------------------------------------------------------


def project_monitors(root: Path, *, tracking_uri: str | None = None) -> list[JobMonitor]:
    """The overviews of the project's jobs that monitor: a ``monitor:`` (or another
    monitoring section) in their job.yaml, or scoring runs."""
    from nbmlops.jobs.overview import project_job_folders

    found = []
    for folder in project_job_folders(root):
        try:
            job = load(folder)
        except JobError:
            continue
        if job.is_pipeline:
            continue
        overview = monitor_job(folder, root=root, tracking_uri=tracking_uri)
        if job.watch().configured or overview.runs:
            found.append(overview)
    return found


def job_folder(path: str | Path) -> Path:
    """The job folder ``path`` names (a folder or its job.yaml); JobError when it holds no
    job."""
    folder = folder_of(path)
    if not (folder / JOB_FILE).is_file():
        raise JobError(f"no job at {path}: {folder / JOB_FILE} is missing")
    return folder


def monitor_job(folder: Path, *, root: Path | None = None,
                tracking_uri: str | None = None) -> JobMonitor:
    """The overview of the job in ``folder``, read from the store its runs go to (or
    ``tracking_uri``); an unreadable store is said in ``error``, never raised."""
    job = load(folder)
    where = _destination(job, folder, tracking_uri)
    shown = os.path.relpath(folder, root) if root else str(folder)
    empty = JobMonitor(job.name, Path(shown).as_posix(), job.watch().model, None, None, None)
    if not store.exists(where.tracking_uri):
        return empty
    try:
        with store.fail_fast():
            return _read(store.client(where.tracking_uri), where.tracking_uri, job,
                         where.experiment, empty)
    except Exception as e:  # the view shows the job even when MLflow is away
        empty.error = " ".join(f"{type(e).__name__}: {e}".split())[:300]
        return empty


def _destination(job: Job, folder: Path, tracking_uri: str | None) -> config.Destination:
    source = folder / job.source if job.source else folder / job.notebook
    return config.destination(source, job.experiment, uri=tracking_uri or job.tracking_uri)


def _read(client: Any, uri: str, job: Job, experiment: str, empty: JobMonitor) -> JobMonitor:
    from nbmlops.monitor import history

    found = client.get_experiment_by_name(experiment)
    if found is None:
        return empty
    ids = [found.experiment_id]
    scoring = history.scoring_runs(client, job.name, empty.model, ids)
    model = empty.model or (scoring[-1].model if scoring else None)
    scoring = [r for r in scoring if r.model == model]
    champion = _champion(client, model) if model else None
    names = _columns(uri, champion[1], model) if model and champion and champion[1] else ()
    return build(job.name, empty.folder, model, scoring, history.job_runs(client, job.name, ids),
                 champion, found.experiment_id, names)


def _champion(client: Any, model: str) -> tuple[str, str | None] | None:
    from nbmlops.models import registry

    try:
        info = registry.get_model(client, model)
    except Exception:  # not registered (any more): the runs still show
        return None
    held = info.aliases.get(store.CHAMPION)
    version = info.version(held) if held else None
    return (version.version, version.run_id) if version else None


def _columns(uri: str, run_id: str, model: str) -> list[str]:
    """The columns the champion watches, by their own names (its reference's)."""
    from nbmlops.monitor import reference

    found = reference.fetch(uri, run_id, model)
    return list(found.layout.columns) if found else []


# -- building -------------------------------------------------------------------------------


def build(job: str, folder: str, model: str | None, scoring: Sequence[ScoringRun],
          job_runs: Sequence[JobRun], champion: tuple[str, str | None] | None,
          experiment_id: str | None, columns: Sequence[str] = ()) -> JobMonitor:
    """The overview from what was read: ``scoring`` and ``job_runs`` oldest first,
    ``champion`` (version, its training run), ``columns`` the names of the columns it
    watches."""
    runs = [_scored(r, experiment_id) for r in scoring]
    alerts = open_alerts(job_runs)
    return JobMonitor(
        job=job, folder=folder, model=model,
        champion=champion[0] if champion else None,
        champion_run_id=champion[1] if champion else None,
        experiment_id=experiment_id, runs=runs, columns=series(scoring, columns),
        alerts=alerts, retraining=last_retraining(job_runs),
        attention=bool(alerts) or bool(runs and runs[-1].drifted),
    )


def _scored(run: ScoringRun, experiment_id: str | None) -> ScoredRun:
    share = run.figures.get("drift_share")
    rows = run.figures.get("rows")
    return ScoredRun(
        run_id=run.run_id, experiment_id=experiment_id or "", when=run.when.isoformat(),
        status=run.status, version=run.version, compared=run.drifted is not None,
        drifted=bool(run.drifted), drifted_columns=list(run.drifted_columns),
        drift_share=share, rows=int(rows) if rows is not None else None,
        job_run_id=run.job_run_id,
    )


#: Figures of the same shape that are not a column's: the batch against the previous window
#: (per column, and its summary ``previous.STATISTIC``), the predictions, the shadow's (unless
#: the reference has a column of that name).
_NOT_COLUMNS = ("previous.", "prediction.", "shadow.")


def column_figures(figures: Mapping[str, float]) -> dict[tuple[str, str], float]:
    """``{(column, statistic): value}`` of a run's figures (``COLUMN.STATISTIC``; a column's
    name may hold dots, the statistic never does)."""
    out = {}
    for key, value in figures.items():
        column, dot, statistic = key.rpartition(".")
        if dot and column and statistic in STATISTICS:
            out[(column, statistic)] = value
    return out


def series(scoring: Sequence[ScoringRun], columns: Sequence[str] = ()) -> list[ColumnSeries]:
    """Each column's statistic over the runs, oldest first; the columns in their first
    appearance's order. A metric's name has a column's odd characters replaced
    (:func:`~nbmlops.store.metric_part`): a column is shown by its own name, found
    in ``columns`` (the reference's) or in a run's drifted columns."""
    watched = {store.metric_part(c) for c in columns}
    per_run = [{k: v for k, v in column_figures(r.figures).items()
                if k[0] in watched or not f"{k[0]}.".startswith(_NOT_COLUMNS)}
               for r in scoring]
    keys: dict[tuple[str, str], None] = {}
    for found in per_run:
        keys.update(dict.fromkeys(found))
    named = {store.metric_part(c): c for c in [*columns, *(c for r in scoring
                                                     for c in r.drifted_columns)]}
    drifted = [{store.metric_part(c) for c in r.drifted_columns} for r in scoring]
    return [ColumnSeries(named.get(column, column), statistic,
                         [found.get((column, statistic)) for found in per_run],
                         [column in these for these in drifted])
            for column, statistic in keys]


def open_alerts(job_runs: Sequence[JobRun]) -> list[MonitorAlert]:
    """The alerts of the newest finished run of the job: a later run that raises none
    closes them (a failed run did not watch, so it closes nothing)."""
    finished = [r for r in job_runs if r.status == "FINISHED"]
    if not finished:
        return []
    last = finished[-1]
    return [MonitorAlert(str(a.get("kind", "")), str(a.get("title", "")), last.run_id,
                         last.when.isoformat(), _deliveries(a.get("deliveries")))
            for a in last.alerts if isinstance(a, Mapping)]


def _deliveries(found: Any) -> list[str]:
    out = []
    for d in found if isinstance(found, list) else []:
        if isinstance(d, Mapping):
            state = "delivered" if d.get("delivered") else f"failed ({d.get('error') or '?'})"
            out.append(f"{d.get('target', '?')}: {state}")
    return out


def last_retraining(job_runs: Sequence[JobRun]) -> Retraining | None:
    """The newest run of the job that decided to retrain."""
    for run in reversed(job_runs):
        if run.decision == "retrain":
            return Retraining(run.run_id, run.when.isoformat(), run.decision, run.reason,
                              run.retrain_run_id, run.outcome)
    return None


# -- text -----------------------------------------------------------------------------------

_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float | None], top: float | None = None) -> str:
    """One character per value, its height against ``top`` (the largest value by default);
    a space where a value is missing."""
    known = [v for v in values if v is not None and math.isfinite(v)]
    top = top if top is not None else max(known, default=0.0)
    out = []
    for v in values:
        if v is None or not math.isfinite(v):
            out.append(" ")
        elif top <= 0:
            out.append(_BARS[0])
        else:
            share = min(max(v / top, 0.0), 1.0)
            out.append(_BARS[min(len(_BARS) - 1, int(share * len(_BARS)))])
    return "".join(out)


def describe(found: JobMonitor, chart: bool = True) -> str:
    """The overview as text for a terminal (``chart``: with a line of bars per column; the
    notebook draws them instead)."""
    lines = [f"{found.job}  {found.folder}"]
    if found.model is None:
        lines.append("  no scoring run yet: a tracked cell that calls "
                     "nbmlops.load_model('NAME@champion') and predicts is one")
    else:
        champion = (f"champion v{found.champion}" + (
            f" (trained by run {found.champion_run_id[:8]})" if found.champion_run_id else "")
            if found.champion else "no champion")
        lines.append(f"  model {found.model}: {champion}")
    if found.error:
        lines.append(f"  runs: unknown ({found.error})")
    if found.runs:
        shown = found.runs[-LAST_RUNS:]
        more = len(found.runs) - len(shown)
        lines.append(f"  last scoring runs (oldest first{f'; {more} before' if more else ''}):")
        for run in shown:
            lines.append("    " + _run_line(run))
    elif found.model is not None:
        lines.append("  no scoring run yet")
    if found.columns and chart:
        width = max(len(s.column) for s in found.columns)
        lines.append("  drift per column over the runs (▁ none … █ the largest; * drifted "
                     "in the newest run):")
        top = max((v for s in found.columns for v in s.values if v is not None), default=0.0)
        for s in found.columns:
            last = next((v for v in reversed(s.values) if v is not None), None)
            mark = "*" if s.drifted and s.drifted[-1] else " "
            shown_last = f"{last:.3g}" if last is not None else "-"
            lines.append(f"   {mark}{s.column:<{width}}  {sparkline(s.values, top)}  "
                         f"{s.statistic} {shown_last}")
    if found.alerts:
        lines.append(f"  open alerts ({len(found.alerts)}):")
        for alert in found.alerts:
            sent = f"  [{'; '.join(alert.deliveries)}]" if alert.deliveries else ""
            lines.append(f"    {alert.kind}: {alert.title}{sent}")
    else:
        lines.append("  no open alert")
    r = found.retraining
    if r is None:
        lines.append("  never retrained")
    else:
        lines.append(f"  last retraining {r.when[:16].replace('T', ' ')}: "
                     f"{r.reason or 'drift'} -> {r.outcome or 'no outcome yet'}"
                     + (f" (training run {r.training_run_id[:8]})" if r.training_run_id else ""))
    return "\n".join(lines)


def _run_line(run: ScoredRun) -> str:
    when = run.when[:16].replace("T", " ")
    if not run.compared:
        verdict = "not compared"
    elif run.drifted:
        verdict = "DRIFTED: " + ", ".join(run.drifted_columns)
    else:
        verdict = "no drift"
    rows = f"  {run.rows:,} rows" if run.rows is not None else ""
    return f"{when}  {run.run_id[:8]}  v{run.version or '?'}  {verdict}{rows}"
