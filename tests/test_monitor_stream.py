"""End to end on a generated stream: a training job, a scoring job run once a day through
``nbmlops run``, drift from day 4, one alert to a real HTTP and a real SMTP server, one
retraining through the gates, and the drift gone the day after; then a stream whose retrained
model is worse: the champion stays and an alert says why.

Days are a job parameter: the stream is generated (scikit-learn's ``make_classification``,
500 rows a day, the same every time) and ``x0`` moves by two from day 4 on. The training job
trains on the labelled rows of the day it is given, so a retraining on day 4 learns the moved
data and its reference is the moved data. Eleven job runs in all, each a real kernel, run by
``nbmlops run``'s own ``main`` in the test's process (the ``nbmlops_run`` fixture), so MLflow
is imported once: about 5 minutes on a busy 2-core machine (3.3 and 1.8).
"""

from __future__ import annotations

import json
import socket
import textwrap
import threading
from collections.abc import Callable, Iterator
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml
from aiosmtpd.controller import Controller
from mlflow import MlflowClient

from nbmlops import store
from nbmlops.jobs.export.folder import export_job
from nbmlops.monitor import history

UI = "http://127.0.0.1:5999"  # links only: nothing listens there
pytestmark = pytest.mark.kernel

STREAM = '''
"""A stream of daily batches, the same every time; from day 4 on, x0 moved by two."""
import numpy as np
import pandas as pd
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

ROWS, DAYS, SHIFT_DAY = 500, 10, 4
COLUMNS = ["x0", "x1", "x2", "x3"]


def _day(day):
    X, y = make_classification(n_samples=ROWS * DAYS, n_features=4, n_informative=3,
                               n_redundant=0, class_sep=2.0, random_state=0)
    rows = slice(day * ROWS, (day + 1) * ROWS)
    frame = pd.DataFrame(X[rows], columns=COLUMNS)
    if day >= SHIFT_DAY:
        frame["x0"] += 2.0
    return frame, pd.Series(y[rows], name="label")


def batch(day):
    return _day(day)[0]


def labelled(day, corrupt=False):
    X, y = _day(day)
    if corrupt:  # the labels feed broke: labels no longer belong to their rows
        y = pd.Series(np.random.default_rng(day).permutation(y.to_numpy()), name="label")
    return train_test_split(X, y, test_size=0.3, random_state=0)
'''

TRAIN = ["%load_ext nbmlops",
         "day = 0\ncorrupt_from = 99",
         "import stream\n"
         "X_train, X_test, y_train, y_test = stream.labelled(day, corrupt=day >= corrupt_from)",
         "%%track fit --model clf=stream\n"
         "from sklearn.linear_model import LogisticRegression\n"
         "from sklearn.metrics import roc_auc_score\n"
         "clf = LogisticRegression().fit(X_train, y_train)\n"
         "auc = roc_auc_score(y_test, clf.predict_proba(X_test)[:, 1])"]

SCORE = ["%load_ext nbmlops",
         "day = 1",
         "%%track score\n"
         "import nbmlops\n"
         "import pandas as pd\n"
         "import stream\n"
         "batch = stream.batch(day)\n"
         "model = nbmlops.load_model('stream@champion')\n"
         "predictions = pd.DataFrame({'score': model.predict_proba(batch)[:, 1]})\n"
         "predictions.to_csv(f'predictions-day{day}.csv', index=False)"]


# -- the alert receivers: a real HTTP server and a real SMTP server -----------------------------


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        failing = self.path.startswith("/broken")
        if not failing:
            self.server.received.append(json.loads(body))  # type: ignore[attr-defined]
        self.send_response(500 if failing else 200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def receivers() -> Iterator[tuple[ThreadingHTTPServer, _Inbox, Controller]]:
    hook = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    hook.received = []  # type: ignore[attr-defined]
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    inbox = _Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    smtp.start()
    yield hook, inbox, smtp
    smtp.stop()
    hook.shutdown()


# -- the project --------------------------------------------------------------------------------


def _notebook(path: Path, cells: list[str]) -> None:
    nb = nbformat.v4.new_notebook(metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}})
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nb.cells[1].metadata["tags"] = ["parameters"]
    nbformat.write(nb, str(path))


def _edit(folder: Path, **sections: Any) -> None:
    path = folder / "job.yaml"
    data = yaml.safe_load(path.read_text())
    data.update(sections)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _project(root: Path, pyproject: str = "") -> tuple[Path, Path]:
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'stream'\n" + pyproject)
    (root / "stream.py").write_text(STREAM)
    _notebook(root / "train.ipynb", TRAIN)
    _notebook(root / "score.ipynb", SCORE)
    train = export_job(root / "train.ipynb").folder
    score = export_job(root / "score.ipynb").folder
    assert [p.name for p in export_job(root / "score.ipynb").job.parameters] == ["day"]
    _edit(train, promote={"model": "stream", "gates": ["auc >= 0.8", "auc >= champion * 0.9"]})
    _edit(score, monitor={"model": "stream"},
          retrain={"job": "jobs/train", "on": "drift", "cooldown": "7d"})
    return train, score


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_uri: str) -> str:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", sqlite_uri)
    monkeypatch.setenv("NBMLOPS_SPOOL", str(tmp_path / "spool"))
    monkeypatch.setenv("NBMLOPS_AUTOSYNC", "0")
    monkeypatch.setenv("NBMLOPS_UI_URL", UI)
    monkeypatch.delenv("NBMLOPS_NOTEBOOK", raising=False)
    monkeypatch.delenv("NBMLOPS_RETRAIN", raising=False)
    monkeypatch.chdir(tmp_path)
    return sqlite_uri


def _job_runs(client: MlflowClient, job: str) -> list[history.JobRun]:
    return history.job_runs(client, job)


def _alerts(hook: ThreadingHTTPServer) -> list[dict[str, Any]]:
    return list(hook.received)  # type: ignore[attr-defined]


# -- the streams --------------------------------------------------------------------------------


def test_drift_on_day_4_alerts_once_retrains_once_and_is_gone_the_day_after(
    tmp_path: Path, env: str, receivers: tuple[ThreadingHTTPServer, _Inbox, Controller],
    nbmlops_run: Callable[..., str],
) -> None:
    hook, inbox, smtp = receivers
    train, score = _project(tmp_path / "project")
    _edit(score, alerts=[
        {"webhook": f"http://127.0.0.1:{hook.server_address[1]}/hooks/team"},
        {"email": {"host": "127.0.0.1", "port": smtp.port, "from": "mlops@example.com",
                   "to": ["team@example.com"]}}])
    said = {0: nbmlops_run(train)}
    assert "stream v1 is now champion (the first)" in said[0]
    for day in range(1, 6):
        said[day] = nbmlops_run(score, "-p", f"day={day}")
    client = MlflowClient(env)

    scored = history.scoring_runs(client, "score")
    assert [(r.version, r.drifted) for r in scored] == [
        ("1", False), ("1", False), ("1", False), ("1", True), ("2", False)], said
    assert scored[3].drifted_columns == ("x0",)

    # One alert, received by both servers, saying what, by how much, since when, and where.
    [posted] = _alerts(hook)
    [mail] = inbox.messages
    text = posted["text"]
    assert posted["nbmlops"]["kind"] == "drift"
    assert mail["Subject"] == f"[nbmlops] {posted['nbmlops']['title']}"
    assert mail.get_payload(decode=True).decode().splitlines() == text.splitlines()
    assert "score: stream v1: 1 of 4 columns drifted (x0)" in text
    assert "x0: wasserstein" in text and "limit" in text and "in training" in text
    assert f"(run {scored[3].run_id})" in text  # since: the first drifted run
    link = f"{UI}/#/experiments/"
    assert f"/runs/{scored[3].run_id}?workflowType=machine_learning" in posted["nbmlops"]["url"]
    assert posted["nbmlops"]["url"].startswith(link)

    # Retraining: decided once, on day 4; the training run names the run it was for; the new
    # version passed its gates and serves.
    runs = _job_runs(client, "score")
    assert [r.decision for r in runs] == ["hold"] * 3 + ["retrain", "hold"]
    day4 = runs[3]
    assert day4.outcome == "promoted stream v2"
    assert json.loads(day4.tags[store.ALERTS_TAG])[0]["deliveries"] == [
        {"target": "webhook 127.0.0.1", "delivered": True, "attempts": 1, "error": ""},
        {"target": "e-mail via 127.0.0.1", "delivered": True, "attempts": 1, "error": ""}]
    training = client.get_run(day4.retrain_run_id or "")
    assert training.data.tags[store.RETRAINED_FOR_TAG] == day4.run_id
    assert training.data.tags[store.JOB_TAG] == "train"
    assert training.data.params["day"] == "4"  # the parameter both jobs declare
    v2 = client.get_model_version_by_alias("stream", store.CHAMPION)
    assert (str(v2.version), v2.tags[store.MODEL_JOB_RUN_TAG]) == ("2", training.info.run_id)
    assert "2/2 passed" in v2.tags[store.MODEL_GATES_TAG]
    assert "drift does not hold" in (runs[4].reason or "")
    assert store.ALERTS_TAG not in runs[4].tags and store.ALERTS_TAG not in runs[2].tags


def test_a_worse_retrained_model_is_refused_the_champion_stays_and_an_alert_says_why(
    tmp_path: Path, env: str, receivers: tuple[ThreadingHTTPServer, _Inbox, Controller],
    nbmlops_run: Callable[..., str],
) -> None:
    hook, inbox, smtp = receivers
    port = hook.server_address[1]
    # The project's alert targets this time, one of which answers every post with an error.
    train, score = _project(tmp_path / "project", textwrap.dedent(f"""
        [[tool.nbmlops.alerts]]
        webhook = "http://127.0.0.1:{port}/hooks/team"
        [[tool.nbmlops.alerts]]
        webhook = "http://127.0.0.1:{port}/broken"
        [[tool.nbmlops.alerts]]
        [tool.nbmlops.alerts.email]
        host = "127.0.0.1"
        port = {smtp.port}
        from = "m@example.com"
        to = "t@example.com"
        """))
    # The labels of the days the training job retrains on are garbage.
    data = yaml.safe_load((train / "job.yaml").read_text())
    data["parameters"]["corrupt_from"]["default"] = 4
    (train / "job.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    nbmlops_run(train)
    said = {day: nbmlops_run(score, "-p", f"day={day}") for day in (4, 5)}
    client = MlflowClient(env)

    assert [(r.version, r.drifted) for r in history.scoring_runs(client, "score")] == [
        ("1", True), ("1", True)], said
    runs = _job_runs(client, "score")
    assert [r.decision for r in runs] == ["retrain", "hold"]
    day4, day5 = runs
    assert (day4.outcome or "").startswith("refused: stream v2 not promoted to champion: "
                                           "failed gate(s) auc >= 0.8; auc >= champion * 0.9")
    assert "cooling down until" in (day5.reason or "")  # drift goes on, no second retraining
    assert day5.retrain_run_id is None
    assert str(client.get_model_version_by_alias("stream", store.CHAMPION).version) == "1"

    # Two alerts on day 4 (the drift, the refusal), none on day 5: the drift goes on.
    kinds = [a["nbmlops"]["kind"] for a in _alerts(hook)]
    assert kinds == ["drift", "retrain_refused"]
    assert len(inbox.messages) == 2
    refused = _alerts(hook)[1]
    assert refused["nbmlops"]["title"] == (
        "score: retrained stream v2 refused by its gates; champion stays v1")
    assert "gates: 0/2 passed for champion against v1" in refused["text"]
    assert "its metrics: auc 0." in refused["text"]
    assert refused["nbmlops"]["url"].endswith(
        f"/runs/{day4.retrain_run_id}?workflowType=machine_learning")
    # The target that fails was tried, and said so; the scoring run finished all the same.
    recorded = json.loads(day4.tags[store.ALERTS_TAG])
    assert [a["kind"] for a in recorded] == ["drift", "retrain_refused"]
    broken = recorded[0]["deliveries"][1]
    assert (broken["delivered"], broken["attempts"]) == (False, 3)
    assert "500" in broken["error"]
    assert "alert not delivered to webhook 127.0.0.1 after 3 attempt(s)" in said[4]
    assert day4.status == "FINISHED"
    assert store.ALERTS_TAG not in day5.tags

