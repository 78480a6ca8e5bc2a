"""After a scoring job's run: an alert when its batch drifted, and retraining through the gates.

The last of :data:`nbmlops.jobs.run.monitoring.STEPS`. It reads the job's history
(:mod:`nbmlops.monitor.history`) and leaves on the job's run what it did:

- **Alerts** (:data:`nbmlops.store.ALERTS_TAG`, a JSON list: kind, title, when, and each
  target's delivery). A drifted scoring run alerts when its drift is new: the model version's
  previous scoring run did not drift, or a column joined the drifted ones. A drift that goes
  on alerts once, not every day. The alert says which columns drifted, by how much (each
  column's statistic against its limit, the batch's mean against the training data's), since
  when (the first run of the unbroken drifted streak), and links the scoring run in the MLflow
  UI. The targets are job.yaml's ``alerts:``, else ``[tool.nbmlops.alerts]``.
- **Retraining** (job.yaml's ``retrain:``, :mod:`nbmlops.monitor.policy`): the decision and its
  reason are recorded on every run. When it fires, the training job runs here, through
  ``nbmlops run``'s own machinery, its run tagged with the scoring run it is for; its
  ``promote:`` gates decide whether the new version serves. ``retrain: job:`` is the
  training job's folder relative to the project root (``jobs/train``). The training job gets
  the scoring run's values of the parameters it shares by name with the scoring job (a
  ``date`` retrains on the data up to the day that drifted), its defaults for the rest. A
  retrained model its gates refuse, or a training run that fails, leaves the champion
  serving and raises an alert of kind ``retrain_refused``. The cooldown counts from the last
  run that decided to retrain, in real time. With ``NBMLOPS_RETRAIN=defer`` nothing trains
  here: the decision is recorded and an orchestrator's DAG starts the training job.

:func:`check_at_start` runs before any kernel: an alert target that cannot be reached, or a
training job that is not there, fails the run's start in one line.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from nbmlops import config, store
from nbmlops.exceptions import ConfigError, JobError, NbmlopsError
from nbmlops.jobs.run import alerting
from nbmlops.jobs.run.after import After
from nbmlops.jobs.spec import JOB_FILE, Job, load
from nbmlops.jobs.trigger import shared_params
from nbmlops.monitor import alerts, history, policy
from nbmlops.monitor.history import ScoringRun
from nbmlops.monitor.streak import column_since, is_new_drift, same_version, streak

__all__ = ["alert_and_retrain", "check_at_start", "drift_alert", "outcome", "training_job"]

#: Drifted columns an alert details one by one; the rest are named only.
DETAILED = 8


# -- before the run -----------------------------------------------------------------------------


def check_at_start(job: Job, folder: Path) -> None:
    """JobError in one line when a monitoring job cannot do what its job.yaml asks: an alert
    target that does not answer, a training job that is not there. Nothing when the job does
    not monitor."""
    watch = job.watch()
    if not watch.configured:
        return
    root = config.project_root(folder)
    try:
        targets = alerting.targets(watch, root)
    except ConfigError as e:
        raise JobError(f"job {job.name}: {e}") from None
    for target in targets:
        problem = alerts.unreachable(target)
        if problem:
            raise JobError(f"job {job.name}: alerts: {problem}")
    if watch.retrain is not None:
        training_job(job, folder, watch.retrain)
        config.retrain_mode()


def training_job(job: Job, folder: Path, retrain: policy.RetrainPolicy) -> tuple[Path, Job]:
    """The folder and job.yaml of ``retrain: job:``, a job folder relative to the project
    root; JobError when it is not one that can retrain (missing, a pipeline, no ``promote:``:
    a retrained model serves only through its gates)."""
    root = config.project_root(folder)
    path = (root / retrain.job).resolve()
    where = f"job {job.name}: retrain: job {retrain.job}"
    if not (path / JOB_FILE).is_file():
        raise JobError(f"{where}: no {JOB_FILE} in {path} (a job folder, relative to the "
                       f"project root {root})")
    if path == folder.resolve():
        raise JobError(f"{where} is this scoring job itself")
    try:
        train = load(path)
    except JobError as e:
        raise JobError(f"{where}: {e}") from None
    if train.is_pipeline:
        raise JobError(f"{where} is a pipeline: retraining runs a one-notebook job")
    if train.promote is None:
        raise JobError(f"{where} has no promote: section, so a retrained model would never "
                       "pass gates to serve")
    return path, train


# -- the step -----------------------------------------------------------------------------------


def alert_and_retrain(after: After) -> None:
    """Alert on this run's new drift, then decide on retraining and carry it out."""
    runs = history.scoring_runs(after.client, after.job.name)
    mine = [r for r in runs if r.job_run_id == after.job_run_id
            and (after.watch.model is None or r.model == after.watch.model)]
    try:
        targets = alerting.targets(after.watch, config.project_root(after.folder))
    except ConfigError as e:  # changed since the start: alerts are recorded, retraining goes on
        after.say(f"nbmlops: warning: alerts go nowhere: {e}")
        targets = []
    newest = _newest_per_model(mine)
    drifted = [r for r in newest if r.drifted and is_new_drift(runs, r)]
    if drifted:
        details = {r.run_id: _report_columns(after.client, r) for r in drifted}
        links = {r.run_id: _run_url(after, r.run_id) for r in drifted}
        alerting.send(after, drift_alert(after.job.name, runs, drifted, details, links), targets)
    if after.watch.retrain is not None:
        _retrain(after, runs, newest, targets)


def _newest_per_model(runs: Sequence[ScoringRun]) -> list[ScoringRun]:
    newest: dict[str, ScoringRun] = {}
    for r in runs:  # oldest first: the last one stays
        newest[r.model] = r
    return list(newest.values())


def drift_alert(
    job: str,
    runs: Sequence[ScoringRun],
    drifted: Sequence[ScoringRun],
    details: Mapping[str, Mapping[str, Mapping[str, Any]]],
    links: Mapping[str, str | None],
) -> alerts.Alert:
    """The alert for the drifted scoring runs ``drifted`` of one job run (one per model):
    what drifted, by how much (``details``: per run, its report's columns by name; empty
    when the report could not be read, then the run's figures say it), since when, and the
    link (``links``: per run, its page in the MLflow UI, or None)."""
    lines: list[str] = []
    titles = []
    facts: dict[str, Any] = {"job": job, "models": []}
    for current in drifted:
        first = streak(runs, current)[0]
        columns = details.get(current.run_id, {})
        # "of N" from a whole report only (one that lacks a drifted column is not one)
        of = f" of {len(columns)}" if set(current.drifted_columns) <= set(columns) else ""
        titles.append(f"{current.model} v{current.version}: {len(current.drifted_columns)}"
                      f"{of} columns drifted ({', '.join(current.drifted_columns[:3])}"
                      f"{', ...' if len(current.drifted_columns) > 3 else ''})")
        lines.append(f"{current.model} v{current.version} scored a batch that drifted from its "
                     f"training data, since {_when(first.when)} (run {first.run_id}):")
        for column in current.drifted_columns[:DETAILED]:
            since = column_since(runs, current, column)
            lines.append(f"  {column}: {_by_how_much(column, columns.get(column), current)}"
                         f", since {_when(since.when)}")
        if len(current.drifted_columns) > DETAILED:
            lines.append(f"  and {len(current.drifted_columns) - DETAILED} more: "
                         f"{', '.join(current.drifted_columns[DETAILED:])}")
        link = links.get(current.run_id)
        lines.append(f"  the run: {link or current.run_id}")
        facts["models"].append({
            "model": current.model, "version": current.version, "run_id": current.run_id,
            "job_run_id": current.job_run_id, "drifted_columns": list(current.drifted_columns),
            "since": first.when.isoformat(timespec="seconds"), "since_run_id": first.run_id,
            "url": link})
    url = links.get(drifted[0].run_id) if len(drifted) == 1 else None
    return alerts.Alert(f"{job}: {'; '.join(titles)}", lines, url=url, kind="drift",
                        facts=facts)


def _by_how_much(column: str, detail: Mapping[str, Any] | None, run: ScoringRun) -> str:
    """``x0: wasserstein 2.1 (limit 0.11, p 1e-40), mean 2.03 against 0.01 in training``."""
    if not detail:  # the run's metrics only: monitor.MODEL.COLUMN.STATISTIC
        found = [(k.split(".")[-1], v) for k, v in run.figures.items()
                 if k.rsplit(".", 1)[0] == column]
        return ", ".join(f"{name.replace('_', '-')} {v:.3g}" for name, v in found) or "drifted"
    text = (f"{str(detail.get('statistic', '')).replace('_', '-')} "
            f"{_number(detail.get('value'))} (limit {_number(detail.get('limit'))}, "
            f"p {_number(detail.get('p_value'), '.1g')})")
    batch, reference = detail.get("batch") or {}, detail.get("reference") or {}
    if batch.get("mean") is not None and reference.get("mean") is not None:
        text += (f", mean {_number(batch['mean'])} against {_number(reference['mean'])} "
                 "in training")
    return text


def _number(value: Any, spec: str = ".3g") -> str:
    return format(value, spec) if isinstance(value, int | float) else "?"


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _report_columns(client: Any, run: ScoringRun) -> dict[str, dict[str, Any]]:
    """The scoring run's report.json, its columns by name; empty when it cannot be read."""
    with tempfile.TemporaryDirectory(prefix="nbmlops-") as folder:
        try:
            with store.quiet_downloads():
                path = client.download_artifacts(run.run_id, f"monitor/{run.model}/report.json",
                                                 folder)
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            return {str(c["column"]): c for c in data["columns"]}
        except Exception:  # the run's metrics still say by how much
            return {}


def _run_url(after: After, run_id: str) -> str | None:
    try:
        experiment = after.client.get_run(run_id).info.experiment_id
    except Exception:
        return None
    return config.run_url(after.where.ui_url, experiment, run_id)


# -- retraining ---------------------------------------------------------------------------------


def _retrain(after: After, runs: Sequence[ScoringRun], newest: Sequence[ScoringRun],
             targets: Sequence[alerts.Target]) -> None:
    rule = after.watch.retrain
    assert rule is not None
    current = newest[-1] if newest else None

    def tag(key: str, value: str) -> None:
        after.client.set_tag(after.job_run_id, key, value[:store.MAX_TAG_VALUE])

    if current is None:
        decision = policy.Decision(False, "this run scored no batch with a registered model")
    else:
        windows = [r.window() for r in same_version(runs, current)]
        decision = policy.decide(rule, windows, last_retraining(after), after.now)
    tag(store.RETRAIN_DECISION_TAG, "retrain" if decision.retrain else "hold")
    tag(store.RETRAIN_REASON_TAG, decision.reason)
    if not decision.retrain or current is None:
        after.say(f"nbmlops: retraining: hold ({decision.reason})")
        return
    if config.retrain_mode() == "defer":
        tag(store.RETRAIN_OUTCOME_TAG, f"deferred: {config.ENV_RETRAIN}=defer, the scheduler "
                                       f"starts {rule.job}")
        after.say(f"nbmlops: retraining: {decision.reason}; deferred to the scheduler "
                  f"({config.ENV_RETRAIN}=defer)")
        return
    after.say(f"nbmlops: retraining: {decision.reason}; running {rule.job}")
    result: Any = None  # a nbmlops.jobs.run.RunResult
    model, to = current.model, store.CHAMPION
    version: Any = None
    champion: str | None = None
    try:
        folder, train = training_job(after.job, after.folder, rule)
        assert train.promote is not None  # training_job refuses a job without
        model, to = train.promote.model, train.promote.to
        if after.run_job is None:
            raise JobError("no job runner was handed to the monitoring steps")
        result = after.run_job(folder, shared_params(after.client, after.job_run_id, train),
                               say=after.say, tags={store.RETRAINED_FOR_TAG: after.job_run_id})
        if result.parent_run_id:
            tag(store.RETRAIN_RUN_TAG, result.parent_run_id)
        version, champion = _versions(train.destination(folder).tracking_uri, model, to,
                                      result.parent_run_id)
        said = outcome(result, model, to, version)
    except NbmlopsError as e:
        said = f"failed: {e}"
    except Exception as e:  # the store or the training's machinery: said, never raised
        said = f"failed: {type(e).__name__}: {' '.join(str(e).split())[:300]}"
    tag(store.RETRAIN_OUTCOME_TAG, said)
    after.say(f"nbmlops: retraining: {said}")
    if not said.startswith("promoted"):
        link = (_run_url(after, result.parent_run_id)
                if result is not None and result.parent_run_id else None)
        alerting.send(after, refused_alert(after.job.name, model, to, decision.reason, said,
                                           version, champion, link), targets)


def last_retraining(after: After) -> datetime | None:
    """When an earlier run of the job last decided to retrain (whether it trained here or
    left it to the scheduler): the cooldown counts from there."""
    earlier = [j.when for j in history.job_runs(after.client, after.job.name)
               if j.run_id != after.job_run_id and j.decision == "retrain"]
    return max(earlier, default=None)


def _versions(uri: str, model: str, to: str, run_id: str | None
              ) -> tuple[Any | None, str | None]:
    """The version the training run registered (None: none) and the one holding ``to``."""
    from nbmlops.models import registry

    client = store.client(uri)
    version = registry.version_of_job_run(client, model, run_id) if run_id else None
    try:
        champion = str(client.get_model_version_by_alias(model, to).version)
    except Exception:  # no version holds it (yet)
        champion = None
    return version, champion


def outcome(result: Any, model: str, to: str, version: Any | None) -> str:
    """What became of a retraining, in one line: ``promoted NAME vN``, ``refused: ...`` (its
    gates said no), ``failed: ...`` (the training did not end with a version to judge)."""
    if result.status == "FINISHED":
        shown = f"promoted {model} v{version.version}" if version is not None else \
            f"promoted {model}"
        return shown + ("" if to == store.CHAMPION else f" to {to}")
    failure = result.failure
    if result.status == "SKIPPED":
        return "failed: the training job was already running; this retraining was skipped"
    if failure is not None and failure.kind == "promotion" and version is not None:
        return f"refused: {failure.message}"
    text = " ".join(str(failure).split()) if failure is not None else result.status
    return f"failed: {text}"


def refused_alert(job: str, model: str, to: str, reason: str, said: str, version: Any | None,
                  champion: str | None, url: str | None) -> alerts.Alert:
    """The alert when a retraining did not promote: why, and which version still serves."""
    stays = f"{to} stays v{champion}" if champion else f"no version holds {to}"
    what = (f"retrained {model} v{version.version} refused by its gates" if
            said.startswith("refused") and version is not None else f"retraining {model} failed")
    lines = [f"retraining started: {reason}", said.split(": ", 1)[-1]]
    gates = version.tags.get(store.MODEL_GATES_TAG) if version is not None else None
    if gates:
        lines.append(f"gates: {gates}")
    metrics = version.metrics if version is not None else {}
    if metrics:
        lines.append("its metrics: " + ", ".join(f"{k} {v:.4g}" for k, v in
                                                  sorted(metrics.items())))
    lines.append(f"{stays}: the model in service is unchanged")
    return alerts.Alert(f"{job}: {what}; {stays}", lines, url=url, kind="retrain_refused",
                        facts={"job": job, "model": model, "outcome": said, "serving": champion,
                               "version": version.version if version is not None else None})
