"""Alerts and retraining after a scoring job's run: which drift is news, what an alert says,
what a retraining's outcome reads, what fails a run's start, and the decisions recorded on a
real MLflow store (no kernel: the scoring runs are made with MLflow's client, as the sync
process would upload them)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml
from mlflow import MlflowClient

from nbmlops import config, store
from nbmlops.exceptions import JobError, NbmlopsError
from nbmlops.jobs.export.folder import export_job
from nbmlops.jobs.run import alerting, monitoring, retraining
from nbmlops.jobs.run.job import Failure, RunResult
from nbmlops.jobs.spec import load
from nbmlops.monitor import alerts, history, streak
from nbmlops.monitor.history import ScoringRun
from nbmlops.monitor.settings import Watch

BIN = Path(sys.executable).parent
T0 = datetime(2026, 12, 1, 3, 0, tzinfo=timezone.utc)


def _scored(day: int, drifted: bool | None, columns: tuple[str, ...] = (),
            version: str = "1") -> ScoringRun:
    return ScoringRun(f"run{day}", f"job{day}", T0 + timedelta(days=day), "FINISHED", "churn",
                      version, "champion", drifted, columns,
                      {f"{c}.wasserstein": 0.25 * day for c in columns})


# -- which drift is news, and what the alert says -------------------------------------------------


def test_a_drift_alerts_when_it_starts_or_a_column_joins_not_while_it_goes_on() -> None:
    runs = [_scored(1, False), _scored(2, True, ("x0",)), _scored(3, None),
            _scored(4, True, ("x0",)), _scored(5, True, ("x0", "x1")),
            _scored(6, True, ("x1",), version="2")]
    drifted = [r for r in runs if r.drifted]
    assert [streak.is_new_drift(runs, r) for r in drifted] == [True, False, True, True]
    assert [r.run_id for r in streak.streak(runs, runs[4])] == ["run2", "run4", "run5"]
    assert [r.run_id for r in streak.streak(runs, runs[5])] == ["run6"]  # a new version
    assert streak.streak(runs, runs[0]) == []
    # Each column's own streak: x1 joined on day 5, and x0 does not drift in the new version.
    assert streak.column_since(runs, runs[4], "x0").run_id == "run2"
    assert streak.column_since(runs, runs[4], "x1").run_id == "run5"
    assert streak.column_since(runs, runs[5], "x1").run_id == "run6"


def test_the_drift_alert_says_what_by_how_much_since_when_and_where() -> None:
    runs = [_scored(1, False), _scored(2, True, ("x0",)), _scored(3, True, ("x0", "x1"))]
    detail = {"x0": {"statistic": "wasserstein", "value": 2.06, "limit": 0.11,
                     "p_value": 1e-40, "batch": {"mean": 2.03}, "reference": {"mean": 0.01}}}
    alert = retraining.drift_alert("score", runs, [runs[2]], {"run3": detail},
                                   {"run3": "http://ui/#/experiments/1/runs/run3"})
    assert alert.kind == "drift"
    assert alert.title == "score: churn v1: 2 columns drifted (x0, x1)"
    assert alert.lines == [
        "churn v1 scored a batch that drifted from its training data, since "
        "2026-12-03 03:00:00 UTC (run run2):",
        "  x0: wasserstein 2.06 (limit 0.11, p 1e-40), mean 2.03 against 0.01 in training, "
        "since 2026-12-03 03:00:00 UTC",
        # no report for x1: the run's own figures say by how much
        "  x1: wasserstein 0.75, since 2026-12-04 03:00:00 UTC",
        "  the run: http://ui/#/experiments/1/runs/run3"]
    assert alert.url == "http://ui/#/experiments/1/runs/run3"
    [model] = alert.facts["models"]
    assert (model["since_run_id"], model["drifted_columns"]) == ("run2", ["x0", "x1"])


# -- what a retraining came to --------------------------------------------------------------------


class _Version:
    version = "7"
    tags = {store.MODEL_GATES_TAG: "1/2 passed for champion against v6; failed: auc >= 0.8"}
    metrics = {"auc": 0.52}


def test_a_retrainings_outcome_in_one_line() -> None:
    done = RunResult("FINISHED", {})
    assert retraining.outcome(done, "churn", "champion", _Version()) == "promoted churn v7"
    assert retraining.outcome(done, "churn", "staging", _Version()) == (
        "promoted churn v7 to staging")
    gates = RunResult("FAILED", {}, failure=Failure(
        "promotion", "churn v7 not promoted to champion: failed gate(s) auc >= 0.8"))
    assert retraining.outcome(gates, "churn", "champion", _Version()) == (
        "refused: churn v7 not promoted to champion: failed gate(s) auc >= 0.8")
    # A promotion that found no version registered is a failed training, not a refusal.
    assert retraining.outcome(gates, "churn", "champion", None).startswith("failed: job failed")
    crashed = RunResult("FAILED", {}, failure=Failure("error", "ValueError: bad", 3, 2, "x()"))
    assert retraining.outcome(crashed, "churn", "champion", None) == (
        "failed: job failed (error) in cell 3, line 2: x() ValueError: bad")
    assert retraining.outcome(RunResult("SKIPPED", {}), "churn", "champion", None) == (
        "failed: the training job was already running; this retraining was skipped")
    alert = retraining.refused_alert(
        "score", "churn", "champion", "drift on the last run (r1)",
        retraining.outcome(gates, "churn", "champion", _Version()), _Version(), "6", None)
    assert (alert.kind, alert.title) == (
        "retrain_refused", "score: retrained churn v7 refused by its gates; champion stays v6")
    assert alert.lines[2:] == [
        "gates: 1/2 passed for champion against v6; failed: auc >= 0.8",
        "its metrics: auc 0.52", "champion stays v6: the model in service is unchanged"]


# -- bad input at the run's start -----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.server.received.append(  # type: ignore[attr-defined]
            json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hook() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    server.received = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


def _url(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/hook"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project with a scoring job and a training job, exported, never run."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'cli' / 'mlflow.db'}")
    monkeypatch.setenv("NBMLOPS_SPOOL", str(tmp_path / "spool"))
    monkeypatch.delenv("NBMLOPS_RETRAIN", raising=False)
    monkeypatch.chdir(root)
    for name in ("score", "train"):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell("%load_ext nbmlops"),
                    nbformat.v4.new_code_cell("day = 1")]
        nbformat.write(nb, str(root / f"{name}.ipynb"))
        export_job(root / f"{name}.ipynb")
    _edit(root / "jobs" / "train", promote={"model": "churn"})
    return root


def _edit(folder: Path, **sections: Any) -> None:
    data = yaml.safe_load((folder / "job.yaml").read_text())
    data.update(sections)
    (folder / "job.yaml").write_text(yaml.safe_dump(data, sort_keys=False))


def test_an_alert_target_that_does_not_answer_fails_the_start_and_writes_nothing(
    project: Path, tmp_path: Path,
) -> None:
    score = project / "jobs" / "score"
    port = _free_port()
    _edit(score, monitor={"model": "churn"}, alerts=[{"webhook": f"http://127.0.0.1:{port}/x"}])
    done = subprocess.run([str(BIN / "nbmlops"), "run", str(score)], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"nbmlops: error: job score: alerts: webhook 127.0.0.1 cannot be reached at "
        f"127.0.0.1:{port}: connection refused"]
    assert not (score / "runs").exists() and not (tmp_path / "cli").exists()
    assert not (score / ".nbmlops-run.lock").exists()


@pytest.mark.parametrize(("sections", "message"), [
    ({"alerts": [{"email": {"host": "127.0.0.1", "port": "PORT", "from": "a@b",
                            "to": "c@d"}}]},
     "alerts: e-mail via 127.0.0.1 cannot be reached at 127.0.0.1:PORT: connection refused"),
    ({"alerts": [{"command": "no-such-notifier --now"}]},
     "alerts: command no-such-notifier: no-such-notifier is not an executable on PATH"),
    ({"alerts": [{"webhook": "${NO_SUCH_HOOK}"}]},
     "alerts: webhook: the environment has no NO_SUCH_HOOK"),
    ({"alerts": [{"webhook": "http://127.0.0.1:99999/x"}]},
     "alerts: webhook 127.0.0.1: Port out of range 0-65535"),
    ({"retrain": {"job": "jobs/gone"}}, "retrain: job jobs/gone: no job.yaml in"),
    ({"retrain": {"job": "jobs/score"}}, "retrain: job jobs/score is this scoring job itself"),
])
def test_what_a_monitoring_job_needs_is_checked_at_its_start(
    project: Path, sections: dict[str, Any], message: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NO_SUCH_HOOK", raising=False)
    port = _free_port()
    text = json.dumps(sections).replace('"PORT"', str(port))
    score = project / "jobs" / "score"
    _edit(score, monitor={"model": "churn"}, **json.loads(text))
    with pytest.raises(JobError) as caught:
        retraining.check_at_start(load(score), score)
    assert str(caught.value).startswith("job score: ")
    assert message.replace("PORT", str(port)) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_training_job_must_promote_and_the_retrain_mode_must_be_known(
    project: Path, hook: ThreadingHTTPServer, monkeypatch: pytest.MonkeyPatch,
) -> None:
    score, train = project / "jobs" / "score", project / "jobs" / "train"
    _edit(score, retrain={"job": "jobs/train"},
          alerts=[{"webhook": _url(hook)}, {"command": "true"}])
    retraining.check_at_start(load(score), score)  # all there: no error
    monkeypatch.setenv("NBMLOPS_RETRAIN", "later")
    with pytest.raises(NbmlopsError, match="NBMLOPS_RETRAIN must be run or defer"):
        retraining.check_at_start(load(score), score)
    data = yaml.safe_load((train / "job.yaml").read_text())
    del data["promote"]
    (train / "job.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(JobError, match="has no promote: section"):
        retraining.check_at_start(load(score), score)


def test_the_projects_alerts_serve_a_job_that_names_none(project: Path) -> None:
    with (project / "pyproject.toml").open("a") as f:
        f.write('[tool.nbmlops.alerts]\nwebhook = "http://127.0.0.1:9/x"\ncommand = "true"\n')
    score = load(project / "jobs" / "score")
    targets = alerting.targets(score.watch(), project)
    assert [t.kind for t in targets] == ["webhook", "command"]
    own = alerting.targets(
        Watch(alerts=tuple(alerts.parse_targets([{"command": "x"}]))), project)
    assert [t.settings for t in own] == [{"command": "x"}]
    (project / "pyproject.toml").write_text("[[tool.nbmlops.alerts]]\npager = 'x'\n")
    with pytest.raises(NbmlopsError, match=r"\[tool.nbmlops\] alerts: entry 1: unknown kind"):
        alerting.targets(score.watch(), project)


def test_exporting_again_keeps_monitor_alerts_retrain_and_rollback(project: Path) -> None:
    score = project / "jobs" / "score"
    sections = {"monitor": {"model": "churn", "segments": ["plan"]},
                "alerts": [{"webhook": "${TEAM_HOOK}"}],
                "retrain": {"job": "jobs/train", "on": "drift", "runs": 2, "cooldown": "7d"},
                "rollback": "live_auc < previous_champion * 0.9"}
    _edit(score, **sections)
    export_job(project / "score.ipynb", cron="0 3 * * *")
    data = yaml.safe_load((score / "job.yaml").read_text())
    assert {k: data[k] for k in sections} == sections
    assert data["schedule"]["cron"] == "0 3 * * *"


# -- decisions recorded on a real store -----------------------------------------------------------


def _day(client: MlflowClient, experiment: str, day: int, drifted: tuple[str, ...] | None
         ) -> str:
    """A scoring job's run of ``day`` with its scoring cell's run, as they are uploaded."""
    start = int((datetime.now(timezone.utc) - timedelta(minutes=10 - day)).timestamp() * 1000)
    job = client.create_run(experiment, start_time=start, tags={store.JOB_TAG: "score"})
    tags = {store.PARENT_RUN_TAG: job.info.run_id, store.SCORED_WITH_MODEL_TAG: "churn",
            store.SCORED_WITH_VERSION_TAG: "1"}
    if drifted is not None:
        tags[store.monitor_drifted_tag("churn")] = "yes" if drifted else "no"
        tags[store.monitor_columns_tag("churn")] = ", ".join(drifted)
    cell = client.create_run(experiment, start_time=start + 1000, tags=tags)
    for column in drifted or ():
        client.log_metric(cell.info.run_id, f"monitor.churn.{column}.wasserstein", 0.4)
    client.set_terminated(cell.info.run_id)
    return str(job.info.run_id)


def _after(project: Path, uri: str, run_id: str, said: list[str]) -> None:
    score = project / "jobs" / "score"
    where = config.Destination(project, uri, "score.ipynb", "score.ipynb")
    monitoring.after_run(load(score), score, run_id, "FINISHED", where, said.append)


def test_decisions_and_alerts_are_recorded_run_after_run_and_the_cooldown_holds(
    project: Path, sqlite_uri: str, hook: ThreadingHTTPServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NBMLOPS_RETRAIN", "defer")
    monkeypatch.setattr(alerts, "_BACKOFF", 0.01)
    dead = f"http://127.0.0.1:{_free_port()}/gone"  # it answered at the start, not now
    _edit(project / "jobs" / "score", monitor={"model": "churn"},
          alerts=[{"webhook": _url(hook)}, {"webhook": dead}],
          retrain={"job": "jobs/train", "cooldown": "7d"})
    client = MlflowClient(sqlite_uri)
    experiment = client.create_experiment("score.ipynb")
    said: list[str] = []
    days = [(), ("x0",), ("x0",), ("x0", "x1")]
    for day, drifted in enumerate(days, start=1):
        _after(project, sqlite_uri, _day(client, experiment, day, drifted), said)
    runs = history.job_runs(client, "score")
    assert [(r.decision, r.outcome) for r in runs] == [
        ("hold", None),
        ("retrain", "deferred: NBMLOPS_RETRAIN=defer, the scheduler starts jobs/train"),
        ("hold", None), ("hold", None)]
    assert "cooling down until" in (runs[2].reason or "")
    # Two alerts: when the drift started, and when x1 joined it.
    titles = [a["nbmlops"]["title"] for a in hook.received]  # type: ignore[attr-defined]
    assert titles == ["score: churn v1: 1 columns drifted (x0)",
                      "score: churn v1: 2 columns drifted (x0, x1)"]
    [entry] = runs[1].alerts
    assert entry["kind"] == "drift" and entry["title"] == titles[0]
    assert [(d["target"], d["delivered"], d["attempts"]) for d in entry["deliveries"]] == [
        ("webhook 127.0.0.1", True, 1), ("webhook 127.0.0.1", False, 3)]
    assert "refused" in entry["deliveries"][1]["error"].lower()
    assert not runs[2].alerts
    assert any("alert not delivered to webhook 127.0.0.1 after 3 attempt(s)" in s
               for s in said)


def test_a_training_job_gone_since_the_start_is_a_failed_retraining_that_alerts(
    project: Path, sqlite_uri: str, hook: ThreadingHTTPServer,
) -> None:
    _edit(project / "jobs" / "score", alerts=[{"webhook": _url(hook)}],
          retrain={"job": "jobs/train"})
    (project / "jobs" / "train" / "job.yaml").unlink()
    client = MlflowClient(sqlite_uri)
    run_id = _day(client, client.create_experiment("score.ipynb"), 1, ("x0",))
    _after(project, sqlite_uri, run_id, [])
    [run] = history.job_runs(client, "score")
    assert run.decision == "retrain"
    assert (run.outcome or "").startswith("failed: job score: retrain: job jobs/train: no "
                                          "job.yaml in")
    assert [a["kind"] for a in run.alerts] == ["drift", "retrain_refused"]
    refused = hook.received[1]  # type: ignore[attr-defined]
    assert refused["nbmlops"]["title"] == (
        "score: retraining churn failed; no version holds champion")
