"""The rollback trigger: its rule read and judged (pure), and the step that gives the alias
back in a real MLflow registry and alerts a real local HTTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient

from nbmlops import config, store
from nbmlops.exceptions import ConfigError, JobError
from nbmlops.jobs.run import monitoring
from nbmlops.jobs.spec import Job
from nbmlops.models import aliases
from nbmlops.monitor import history
from nbmlops.monitor.rollback import MIN_LABELLED, Verdict, judge, parse_rule


@pytest.mark.parametrize(("text", "metric", "op", "number", "arith", "factor"), [
    ("live_auc < previous_champion * 0.9", "live_auc", "<", None, "*", 0.9),
    ("live_auc<0.9*previous_champion", "live_auc", "<", None, "*", 0.9),
    ("live_accuracy <= previous_champion - 0.05", "live_accuracy", "<=", None, "-", 0.05),
    ("live_rmse > previous_champion", "live_rmse", ">", None, None, None),
    ("live_auc < 0.7", "live_auc", "<", 0.7, None, None),
])
def test_a_rule_reads_as_a_gate_on_the_previous_champion(
    text: str, metric: str, op: str, number: float | None, arith: str | None,
    factor: float | None,
) -> None:
    rule = parse_rule(text)
    assert (rule.metric, rule.op, rule.number, rule.arith, rule.factor) == (
        metric, op, number, arith, factor)


@pytest.mark.parametrize("text", [
    "auc < previous_champion * 0.9",  # not a live metric
    "live_auc < champion * 0.9",  # the champion is the one judged
    "live_auc == previous_champion",
    "live_auc < previous_champion * x",
    "live_auc < previous_champion * 1e999",
    "live_auc",
    0.9,
])
def test_a_bad_rule_is_one_line_when_the_job_loads(text: object) -> None:
    with pytest.raises(ConfigError, match="rollback: bad rule"):
        parse_rule(text)
    with pytest.raises(JobError, match=r"^job score: rollback: "):
        Job.from_dict({"name": "score", "notebook": "s.ipynb", "rollback": text})


def test_a_bad_rule_says_how_to_write_one() -> None:
    with pytest.raises(ConfigError) as bad:
        parse_rule("live_auc < champion")
    assert str(bad.value) == (
        "rollback: bad rule 'live_auc < champion': write LIVE_METRIC OP previous_champion "
        "[* + -] NUMBER or LIVE_METRIC OP NUMBER, OP one of < <= > >= "
        "(e.g. 'live_auc < previous_champion * 0.9')")


def _live(auc: float, labelled: int = 100) -> dict[str, float]:
    return {"live_auc": auc, "live_labelled": float(labelled)}


def test_the_verdict_waits_for_labels_then_rolls_back_below_the_bound() -> None:
    rule = parse_rule("live_auc < previous_champion * 0.9")
    assert judge(rule, "2", _live(0.70), "1", _live(0.80)).rollback  # 0.70 < 0.72
    kept = judge(rule, "2", _live(0.73), "1", _live(0.80))
    assert kept.rollback is False and kept.reason.startswith("live_auc holds: live_auc 0.73 of v2")
    few = judge(rule, "2", _live(0.1, MIN_LABELLED - 1), "1", _live(0.80))
    assert few.rollback is False and few.reason == (
        f"waiting for labels: v2 has {MIN_LABELLED - 1} labelled served predictions with "
        f"live_auc (needs {MIN_LABELLED})")
    assert not judge(rule, "2", _live(0.1), "1", {}).rollback  # v1 never measured served
    assert judge(rule, "2", _live(0.1, MIN_LABELLED), "1", _live(0.8, MIN_LABELLED)).rollback
    assert judge(rule, "2", _live(0.1), None, None) == Verdict(
        False, "v2 has no previous champion to go back to")
    assert judge(rule, "2", {"live_auc": 0.1}, "1", _live(0.8)).reason.startswith(
        "waiting for labels: v2 has 0 labelled")
    absolute = parse_rule("live_auc < 0.7")
    assert judge(absolute, "2", _live(0.69), "1", None).rollback
    assert not judge(absolute, "2", _live(0.70), "1", None).rollback


class _Hook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        _Hook.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def hook() -> Iterator[str]:
    _Hook.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()


def _registry(client: MlflowClient, served: dict[str, float]) -> None:
    """churn v1 served, then v2 promoted over it; each measured live while served."""
    client.create_registered_model("churn")
    for version, auc in served.items():
        client.create_model_version("churn", f"file:///nowhere/{version}")
        aliases.move_alias(client, "churn", "champion", version, how="promoted", by="me")
        for key, value in _live(auc).items():
            client.set_model_version_tag("churn", version, store.LIVE_METRIC_TAG_PREFIX + key,
                                         repr(value))
        client.set_model_version_tag("churn", version, store.LIVE_MEASURED_TAG,
                                     "served on 100 labelled predictions")


def _job_run(client: MlflowClient, exp: str, job: Job, tmp_path: Path, hook: str) -> str:
    parent = client.create_run(exp, tags={store.JOB_TAG: job.name}).info.run_id
    scored = client.create_run(exp, tags={
        store.PARENT_RUN_TAG: parent, store.SCORED_WITH_MODEL_TAG: "churn",
        store.SCORED_WITH_VERSION_TAG: "2", store.SCORED_WITH_ALIAS_TAG: "champion"})
    client.set_terminated(scored.info.run_id)
    said: list[str] = []
    where = config.Destination(tmp_path, client.tracking_uri, "score.ipynb", "score.ipynb")
    monitoring.after_run(job, tmp_path, parent, "FINISHED", where, said.append)
    assert not [s for s in said if "warning" in s], said
    return parent


def test_a_worse_new_champion_gives_the_alias_back_once_and_alerts(
    sqlite_uri: str, tmp_path: Path, hook: str,
) -> None:
    client = MlflowClient(sqlite_uri)
    _registry(client, {"1": 0.80, "2": 0.70})
    exp = client.create_experiment("score.ipynb")
    job = Job.from_dict({"name": "score", "notebook": "score.ipynb",
                         "rollback": "live_auc < previous_champion * 0.9",
                         "alerts": [{"webhook": hook}]})
    first = _job_run(client, exp, job, tmp_path, hook)

    assert str(client.get_model_version_by_alias("churn", "champion").version) == "1"
    tags = client.get_run(first).data.tags
    assert tags[store.ROLLBACK_TAG] == (
        "rolled back churn: champion moved from v2 to v1, champion again as it was from "
        f"{aliases.history(client.get_model_version('churn', '1'), 'champion')[0]['since']}: "
        "live_auc 0.7 of v2 against 0.72 (live_auc < previous_champion * 0.9, v1 had 0.8)")
    [entry] = json.loads(tags[store.ALERTS_TAG])
    assert entry["kind"] == "rollback" and entry["deliveries"][0]["delivered"]
    [sent] = _Hook.received
    assert sent["nbmlops"]["title"] == "churn@champion rolled back from v2 to v1"
    assert sent["nbmlops"]["facts"] == {"model": "churn", "alias": "champion", "from": "2",
                                        "to": "1"}
    reigns = aliases.history(client.get_model_version("churn", "2"), "champion")
    assert reigns[-1]["ended"] == "rolled back"
    assert history.job_runs(client, "score")[-1].rollback == tags[store.ROLLBACK_TAG]

    # The next run: v1 is back by a rollback, not a promotion; nothing moves, no alert.
    second = _job_run(client, exp, job, tmp_path, hook)
    assert client.get_run(second).data.tags[store.ROLLBACK_TAG] == (
        "held: v1 holds champion by rollback, not by a promotion: the rule judges a newly "
        "promoted one")
    assert len(_Hook.received) == 1
    assert str(client.get_model_version_by_alias("churn", "champion").version) == "1"


def test_a_champion_as_good_as_the_last_one_keeps_the_alias(
    sqlite_uri: str, tmp_path: Path, hook: str,
) -> None:
    client = MlflowClient(sqlite_uri)
    _registry(client, {"1": 0.80, "2": 0.78})
    exp = client.create_experiment("score.ipynb")
    job = Job.from_dict({"name": "score", "notebook": "score.ipynb",
                         "rollback": "live_auc < 0.9 * previous_champion",
                         "alerts": [{"webhook": hook}]})
    run = _job_run(client, exp, job, tmp_path, hook)
    assert client.get_run(run).data.tags[store.ROLLBACK_TAG].startswith(
        "held: live_auc holds: live_auc 0.78 of v2 against 0.72")
    assert str(client.get_model_version_by_alias("churn", "champion").version) == "2"
    assert _Hook.received == [] and store.ALERTS_TAG not in client.get_run(run).data.tags
