"""The model judged live: a scoring job's labels joined to the predictions it kept.

After each run of a job with ``monitor.labels:``, the labels that have arrived (the files
``labels.path`` names, relative to the folder the job's notebook runs in, as its own paths
are: job.yaml's ``cwd``) are joined to the predictions its scoring runs kept
(``monitor/NAME/predictions.parquet``, :mod:`nbmlops.track.live`) for the version served now
and the one served before it (the last :data:`WINDOW` scoring runs of each). The job's run
gets, for the version served now:

- metrics ``live_accuracy``, ``live_auc`` (or ``live_rmse``, ``live_mae``), per segment
  ``live_auc.COLUMN.VALUE`` and ``live_count.COLUMN.VALUE``; ``live_labelled`` and
  ``live_pending``; the feedback lag ``live_lag_median_s`` and ``live_lag_p95_s`` (label time
  minus prediction time); the offline/online gap ``live_gap_auc`` (live minus the metric
  recorded when the version was registered: ``val_auc`` and ``test_auc`` count as ``auc``);
- with shadow evaluation, ``shadow_live_auc``... of the version scored in shadow;
- the tag ``nbmlops.live`` (one line) and the artifact ``monitor/live.json`` (everything,
  per version and segment).

Where the other parts read them:

- the retraining policy (``on: live_auc < 0.8``) reads a scoring run's ``monitor.NAME.*``
  metrics: the live figures are logged on this run's scoring runs too, as
  ``monitor.NAME.live_auc`` and so on (the model as known live when that run scored);
- gates (``live_auc >= champion``) and the rollback rule read a version's
  ``nbmlops.live_metric.*`` tags, written here for every version measured: the version served
  on its served predictions, a version in shadow on its shadow predictions.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbmlops import store
from nbmlops.monitor import history

if TYPE_CHECKING:
    import pandas as pd

    from nbmlops.monitor.labels import LabelSource, LiveMetrics

__all__ = ["judge_live", "labels_folder"]

#: Served versions whose predictions are read: the one served now and the one before it.
VERSIONS = 2
#: Scoring runs read per version, newest first: live metrics describe the recent past (a
#: quarter of daily runs), and a job's run never reads a year of files.
WINDOW = 90


@dataclass
class Judged:
    """One version's live metrics, served or in shadow, with the gap to its offline ones."""

    version: str
    how: str  # "served" | "shadow"
    live: LiveMetrics
    gap: dict[str, float]
    runs: int

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "how": self.how, "metrics": self.live.metrics,
                "labelled": self.live.labelled, "pending": self.live.pending,
                "lag_seconds": self.live.lag_seconds, "segments": self.live.segments,
                "gap": self.gap, "scoring_runs": self.runs}


def labels_folder(after: Any) -> Path:
    """Where ``labels.path`` is read from: the folder the job's notebook runs in."""
    return (after.folder / after.job.cwd).resolve()


def judge_live(after: Any) -> None:
    """Join the labels that arrived to the kept predictions, and log the live metrics
    (``after``: the job run's :class:`nbmlops.jobs.run.monitoring.After`)."""
    from nbmlops.monitor.labels import read_labels

    source = after.watch.labels
    if source is None:
        return
    runs = history.scoring_runs(after.client, after.job.name, after.watch.model)
    if not runs:
        return
    name = after.watch.model or runs[-1].model
    runs = [r for r in runs if r.model == name]
    served: list[str] = []
    for run in reversed(runs):
        if run.version not in served:
            served.append(run.version)
    served = served[:VERSIONS]
    recent = [r for v in served for r in [r for r in runs if r.version == v][-WINDOW:]]
    kept = _predictions(after.client, name, recent)
    if kept is None:
        after.say(f"nbmlops: live {name}: no scoring run kept its predictions yet")
        return
    labels = read_labels(source, labels_folder(after))
    judged = _judge(after.client, name, kept, labels, source, after.watch.segments, served)
    current = next((j for j in judged if j.how == "served" and j.version == served[0]), None)
    _log(after, name, current, [j for j in judged if j.how == "shadow"], runs, judged, len(labels))
    for j in judged:
        _tag_version(after, name, j)


def _predictions(client: Any, name: str, runs: Sequence[history.ScoringRun]
                 ) -> pd.DataFrame | None:
    """The predictions the runs kept, each row with its run's version; None when none did."""
    import pandas as pd
    from mlflow.exceptions import MlflowException

    frames = []
    with tempfile.TemporaryDirectory(prefix="nbmlops-live-") as folder:
        for i, run in enumerate(runs):
            try:
                path = client.download_artifacts(run.run_id, store.predictions_artifact(name),
                                                 f"{folder}/{i}")
            except (MlflowException, OSError):
                continue  # a run before labels were configured, or one that kept nothing
            frames.append(pd.read_parquet(path).assign(_version=run.version))
    return pd.concat(frames, ignore_index=True) if frames else None


def _judge(client: Any, name: str, kept: pd.DataFrame, labels: pd.DataFrame,
           source: LabelSource, segments: Sequence[str], served: Sequence[str]
           ) -> list[Judged]:
    from nbmlops.monitor.labels import gap, live_metrics
    from nbmlops.track import live as kept_columns

    found = []
    at = kept_columns.PREDICTED_AT
    present = [s for s in segments if s in kept.columns]
    for version in served:
        rows = kept[kept["_version"] == version]
        if not len(rows):
            continue
        score = kept_columns.SCORE if kept_columns.SCORE in rows.columns else None
        live = live_metrics(rows, labels, source, score=score, predicted_at=at,
                            segments=present)
        offline = _offline(client, name, version)
        found.append(Judged(version, "served", live, gap(live.metrics, offline),
                            rows[at].nunique()))
    if kept_columns.SHADOW_VERSION in kept.columns:
        for version, rows in kept[kept[kept_columns.SHADOW_VERSION].notna()].groupby(
                kept_columns.SHADOW_VERSION, sort=True):
            score = (kept_columns.SHADOW_SCORE if rows[kept_columns.SHADOW_SCORE].notna().any()
                     else None) if kept_columns.SHADOW_SCORE in rows.columns else None
            live = live_metrics(rows, labels, source,
                                prediction=kept_columns.SHADOW_PREDICTION, score=score,
                                predicted_at=at, segments=present)
            offline = _offline(client, name, str(version))
            found.append(Judged(str(version), "shadow", live, gap(live.metrics, offline),
                                rows[at].nunique()))
    return found


def _offline(client: Any, name: str, version: str) -> dict[str, float]:
    """What the version was registered with: its metric tags, else its run's metrics."""
    try:
        found = client.get_model_version(name, version)
    except Exception:
        return {}
    prefix = store.MODEL_METRIC_TAG_PREFIX
    metrics = {}
    for key, value in (found.tags or {}).items():
        if key.startswith(prefix):
            try:
                metrics[key[len(prefix):]] = float(value)
            except ValueError:
                continue
    if not metrics and found.run_id:
        try:
            metrics = dict(client.get_run(found.run_id).data.metrics)
        except Exception:
            return {}
    return metrics


def figures(judged: Judged, prefix: str = "live_") -> dict[str, float]:
    """A version's live figures as metric names: ``live_auc``, ``live_labelled``, ..."""
    live = judged.live
    out = {f"{prefix}{k}": v for k, v in live.metrics.items()}
    out[f"{prefix}labelled"] = float(live.labelled)
    out[f"{prefix}pending"] = float(live.pending)
    out.update({f"{prefix}lag_{k}_s": v for k, v in live.lag_seconds.items()})
    out.update({f"{prefix}gap_{k}": v for k, v in judged.gap.items()})
    return {k: v for k, v in out.items() if math.isfinite(v)}


def segment_figures(judged: Judged, prefix: str = "live_") -> dict[str, float]:
    out = {}
    for column, values in judged.live.segments.items():
        for value, metrics in values.items():
            for metric, number in metrics.items():
                label = "count" if metric == "count" else metric
                segment = f"{store.metric_part(column)[:80]}.{store.metric_part(value)[:80]}"
                out[f"{prefix}{label}.{segment}"] = number
    return {k: v for k, v in out.items() if math.isfinite(v)}


def _log(after: Any, name: str, current: Judged | None, shadows: Sequence[Judged],
         runs: Sequence[history.ScoringRun], judged: Sequence[Judged], labels: int) -> None:
    from mlflow.entities import Metric

    at = int(after.now.timestamp() * 1000)
    on_job: dict[str, float] = {}
    on_scoring: dict[str, float] = {}
    if current is not None:
        on_job.update(figures(current))
        on_job.update(segment_figures(current))
        on_scoring.update(figures(current))
    newest = sorted(shadows, key=lambda j: int(j.version) if j.version.isdigit() else 0)
    for judged_shadow in newest[-1:]:  # the newest version in shadow
        on_job.update(figures(judged_shadow, "shadow_live_"))
        on_scoring.update(figures(judged_shadow, "shadow_live_"))
    if on_job:
        after.client.log_batch(after.job_run_id, metrics=[
            Metric(k, v, at, 0) for k, v in sorted(on_job.items())])
    prefix = f"monitor.{store.metric_part(name)[:80]}."
    for run in runs:
        if run.job_run_id == after.job_run_id and on_scoring:
            after.client.log_batch(run.run_id, metrics=[
                Metric(prefix + k, v, at, 0) for k, v in sorted(on_scoring.items())])
    line = _summary(name, current, shadows)
    after.client.set_tag(after.job_run_id, store.LIVE_TAG, line[:store.MAX_TAG_VALUE])
    after.client.log_text(after.job_run_id, json.dumps({
        "model": name, "labels": labels, "versions": [j.to_json() for j in judged]},
        indent=1), store.LIVE_ARTIFACT)
    after.say(f"nbmlops: live {line}")


def _summary(name: str, current: Judged | None, shadows: Sequence[Judged]) -> str:
    if current is None:
        return f"{name}: no predictions of the version served were kept"
    live = current.live
    parts = [f"{name} v{current.version}:"]
    parts += [f"{k} {v:.4g}" for k, v in sorted(live.metrics.items())]
    parts.append(f"on {live.labelled} labelled, {live.pending} pending")
    if current.gap:
        parts.append("gap " + ", ".join(f"{k} {v:+.4g}" for k, v in sorted(current.gap.items())))
    if live.lag_seconds:
        parts.append(f"lag {live.lag_seconds['median'] / 3600:.1f} h median")
    for s in shadows:
        parts.append(f"shadow v{s.version} " + ", ".join(
            f"{k} {v:.4g}" for k, v in sorted(s.live.metrics.items())))
    return " ".join(parts)


def _tag_version(after: Any, name: str, judged: Judged) -> None:
    """The version's live metrics where gates and the rollback rule read them; a served
    measurement is never replaced by a shadow one."""
    if not judged.live.labelled:
        return
    version = after.client.get_model_version(name, judged.version)
    measured = (version.tags or {}).get(store.LIVE_MEASURED_TAG, "")
    if judged.how == "shadow" and measured.startswith("served"):
        return
    for key, value in figures(judged).items():
        if key.startswith(("live_gap_", "live_lag_", "live_pending")):
            continue
        after.client.set_model_version_tag(name, judged.version,
                                           store.LIVE_METRIC_TAG_PREFIX + key, repr(value))
    note = (f"{judged.how} on {judged.live.labelled} labelled predictions of "
            f"{judged.runs} scoring run(s), at {after.now.isoformat(timespec='seconds')}")
    after.client.set_model_version_tag(name, judged.version, store.LIVE_MEASURED_TAG, note)

