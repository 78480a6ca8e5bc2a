"""A scoring job's runs over time: each window against the ones before it, and the figures of
every window on one MLflow run, step by step, so MLflow draws them over time.

After a run of a monitored job, for each model its scoring cells scored with:

- **row count** against the previous windows only (:mod:`nbmlops.monitor.windows`): metric
  ``monitor.NAME.rows_ratio`` and tag ``nbmlops.monitor.NAME.rows`` (``low``/``high``/
  ``usual``) on the scoring run, the tag on the job's run too, and a ``windows`` section in its
  report;
- **drift against the previous window** (the previous scoring run's ``batch.json`` against
  this one's, by the same rule as against the training data): ``monitor.NAME.previous.*``
  metrics and the ``windows.previous`` section of the report;
- a **series run**, ``monitor: JOB/NAME`` in the job's experiment (tag
  :data:`nbmlops.store.MONITOR_SERIES_TAG` = ``JOB/NAME``), found again by its tag, on which
  every scoring run's ``monitor.NAME.*`` figures are logged without the prefix at step = the
  scoring run's index (0 for the first) and its start time as timestamp. In the MLflow UI:
  the job's experiment, run ``monitor: JOB/NAME``, tab *Model metrics*: one chart per figure
  with the scoring runs along the x axis (step; switch it to time for dates).
"""

from __future__ import annotations

import html
import json
import tempfile
from pathlib import Path
from typing import Any

from nbmlops import store
from nbmlops.monitor import history
from nbmlops.monitor.history import ScoringRun
from nbmlops.monitor.streak import column_since
from nbmlops.monitor.windows import rows_verdict

__all__ = ["series_name", "windows"]

_BATCH = 1000  # metrics per log_batch call, MLflow's limit


def series_name(job: str, model: str) -> str:
    return f"monitor: {job}/{model}"


def windows(after: Any) -> None:
    """The step (given a :class:`nbmlops.jobs.run.monitoring.After`, which lists it): every
    model this run scored with, against its previous windows."""
    client = after.client
    experiment = client.get_run(after.job_run_id).info.experiment_id
    runs = history.scoring_runs(client, after.job.name, experiment_ids=[experiment])
    for model in dict.fromkeys(r.model for r in runs):
        series = [r for r in runs if r.model == model]
        added: dict[str, dict[str, float]] = {}
        for i, run in enumerate(series):
            if run.job_run_id == after.job_run_id:
                added[run.run_id] = _window(after, model, run, series[:i])
        _log_series(client, experiment, after.job.name, model, series, added)


def _window(after: Any, model: str, run: ScoringRun, previous: list[ScoringRun]
            ) -> dict[str, float]:
    """Row count and drift against the previous window, logged on ``run``; its new figures."""
    from mlflow.entities import Metric

    client = after.client
    figures: dict[str, float] = {}
    section: dict[str, Any] = {}
    rows = run.figures.get("rows")
    if rows is not None:
        verdict = rows_verdict(int(rows), [r.figures["rows"] for r in previous
                                           if "rows" in r.figures])
        if verdict is not None:
            section["rows"] = verdict.to_json()
            if verdict.ratio != float("inf"):
                figures["rows_ratio"] = verdict.ratio
            client.set_tag(run.run_id, store.monitor_rows_tag(model), verdict.flag)
            client.set_tag(after.job_run_id, store.monitor_rows_tag(model), verdict.flag)
            if verdict.flag != "usual":
                after.say(f"nbmlops: {model}: {verdict.rows:,} rows, {verdict.ratio:.2g}x the "
                          f"median of the last {verdict.windows} windows ({verdict.flag})")
    if previous:
        compared = _against_previous(client, model, run, previous[-1])
        section["previous"] = compared.pop("section")
        figures.update(compared)
    if run.drifted_columns:
        section["since"] = {column: _since(column_since([*previous, run], run, column))
                            for column in run.drifted_columns}
    when = int(run.when.timestamp() * 1000)
    prefix = f"monitor.{store.metric_part(model)}"
    metrics = [Metric(f"{prefix}.{k}", v, when, 0) for k, v in figures.items()]
    for start in range(0, len(metrics), _BATCH):
        client.log_batch(run.run_id, metrics=metrics[start:start + _BATCH])
    if section:
        _add_to_report(client, model, run.run_id, section)
    return figures


def _against_previous(client: Any, model: str, run: ScoringRun, before: ScoringRun
                      ) -> dict[str, Any]:
    """``previous.*`` figures of ``run``'s batch against ``before``'s, and the report's
    section (under ``section``)."""
    from nbmlops.monitor import drift, report
    from nbmlops.monitor.reference import fetch
    from nbmlops.monitor.sketch import Sketch

    about = {"run": before.run_id, "when": before.when.strftime("%Y-%m-%d %H:%M"),
             "version": before.version}
    if before.version != run.version:
        return {"section": {**about, "compared": False,
                            "why": f"the previous window scored with v{before.version}"}}
    trained_by = client.get_run(run.run_id).data.tags.get(store.SCORED_WITH_RUN_TAG)
    ref = fetch(client.tracking_uri, trained_by, model) if trained_by else None
    with tempfile.TemporaryDirectory() as tmp:
        sketches = []
        for r in (before, run):
            try:
                path = client.download_artifacts(r.run_id, f"monitor/{model}/batch.json", tmp
                                                 + "/" + r.run_id)
            except Exception:
                path = None
            sketches.append(Sketch.from_json(json.loads(Path(path).read_text()))
                            if path else None)
    previous, current = sketches
    if ref is None or previous is None or current is None:
        return {"section": {**about, "compared": False, "why": "a window has no batch.json"}}
    findings = drift.compare(ref.layout, previous, current, ref.bands)
    data = report.report(ref.layout, previous, current, findings)
    out: dict[str, Any] = {f"previous.{k}": v for k, v in report.figures(data).items()}
    out.update({f"previous.{store.metric_part(d.column)}.{d.statistic}": d.value
                for d in findings})
    out["section"] = {**about, "compared": True, "rows": current.rows,
                      "previous_rows": previous.rows,
                      "drifted_columns": data["drifted_columns"],
                      "columns": [{"column": d.column, "statistic": d.statistic,
                                   "value": d.value, "p_value": d.p_value,
                                   "drifted": d.drifted} for d in findings]}
    return out


def _since(first: ScoringRun) -> dict[str, str]:
    return {"when": first.when.strftime("%Y-%m-%d %H:%M UTC"), "run_id": first.run_id}


def _add_to_report(client: Any, model: str, run_id: str, section: dict[str, Any]) -> None:
    """The ``windows`` section into the run's report.json, and a few lines into its page."""
    folder = f"monitor/{model}"
    with tempfile.TemporaryDirectory() as tmp:
        try:
            local = Path(client.download_artifacts(run_id, folder, tmp))
            data = json.loads((local / "report.json").read_text(encoding="utf-8"))
        except Exception:  # a run without its report (its upload lost): the figures stand
            return
        data["windows"] = section
        for column in data.get("columns", []):
            if column.get("column") in section.get("since", {}):
                column["since"] = section["since"][column["column"]]["when"]
        client.log_text(run_id, json.dumps(data, indent=1), f"{folder}/report.json")
        page = local / "report.html"
        if page.is_file():
            client.log_text(run_id, page.read_text(encoding="utf-8").replace(
                "</body>", _section_html(section) + "</body>", 1), f"{folder}/report.html")


def _section_html(section: dict[str, Any]) -> str:
    lines = ["<h2 id='windows'>Against the previous windows</h2>"]
    rows = section.get("rows")
    if rows:
        ratio = "" if rows["ratio"] is None else f"{rows['ratio']:.2f}x "
        lines.append(f"<p class='{'ok' if rows['flag'] == 'usual' else 'drifted'}'>"
                     f"{rows['rows']:,} rows: {rows['flag']} ({ratio}the median "
                     f"{rows['median']:,.0f} of the last {rows['windows']} windows; "
                     f"flagged {html.escape(rows['rule'])})</p>")
    since = section.get("since")
    if since:
        lines.append("<p class='drifted'>drifting since: " + ", ".join(
            f"{html.escape(column)} since {first['when']} (run {first['run_id'][:8]})"
            for column, first in since.items()) + "</p>")
    previous = section.get("previous")
    if previous:
        if not previous["compared"]:
            lines.append(f"<p class='meta'>previous window {previous['when']}: not compared, "
                         f"{html.escape(previous['why'])}</p>")
        else:
            drifted = previous["drifted_columns"]
            lines.append(f"<p class='{'drifted' if drifted else 'ok'}'>against the previous "
                         f"window ({previous['when']}, {previous['previous_rows']:,} rows): "
                         + (html.escape(", ".join(drifted)) + " drifted" if drifted
                            else "no drift") + "</p>")
    return "\n".join(lines)


def _log_series(client: Any, experiment: str, job: str, model: str,
                series: list[ScoringRun], added: dict[str, dict[str, float]]) -> None:
    """Every scoring run not yet on the series run, at its index."""
    from mlflow.entities import Metric, RunStatus

    key = f"{job}/{model}"
    found = client.search_runs([experiment], filter_string=(
        f"tags.`{store.MONITOR_SERIES_TAG}` = '{key.replace(chr(39), chr(92) + chr(39))}'"),
        max_results=1)
    if found:
        run_id = found[0].info.run_id
        done = int(found[0].data.tags.get(store.MONITOR_SERIES_STEP_TAG, "-1"))
    else:
        run_id = client.create_run(experiment, run_name=series_name(job, model), tags={
            store.MONITOR_SERIES_TAG: key}).info.run_id
        done = -1
    metrics = []
    for step, run in enumerate(series):
        if step <= done:
            continue
        when = int(run.when.timestamp() * 1000)
        figures = {**run.figures, **added.get(run.run_id, {})}
        metrics += [Metric(k, float(v), when, step) for k, v in figures.items()]
    for start in range(0, len(metrics), _BATCH):
        client.log_batch(run_id, metrics=metrics[start:start + _BATCH])
    client.set_tag(run_id, store.MONITOR_SERIES_STEP_TAG, str(len(series) - 1))
    client.set_terminated(run_id, RunStatus.to_string(RunStatus.FINISHED))
