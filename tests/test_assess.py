"""``nbmlops assess`` on small projects built here, one per maturity level.

Each project is real: notebooks on disk, a git repository, a sqlite MLflow store filled by
nbmlops' own upload (the runs a ``%%track`` cell becomes) and MLflow's registry API, job
folders written as ``nbmlops export`` writes them. The tests assert the level reached, the
evidence each criterion cites, the red flags and where they are, and the next steps.
"""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import build_record, shell_project

from nbmlops import store
from nbmlops.assess import assess_project
from nbmlops.assess.criteria import MET, NOT_MET, PARTLY, UNCHECKED, Assessment
from nbmlops.assess.report import SCHEMA, html, markdown, terminal
from nbmlops.cli import main
from nbmlops.jobs.spec import Job, Schedule, dump
from nbmlops.record import MetricPoint

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "nbmlops" / "assess" / "schema.json"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MLFLOW_TRACKING_URI", "NBMLOPS_EXPERIMENT", "NBMLOPS_DRIFT", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)


# -- building projects ----------------------------------------------------------------------


def write_notebook(path: Path, cells: list[tuple[str, int | None]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "cells": [{"cell_type": "code", "execution_count": n, "id": f"c{i}", "metadata": {},
                   "outputs": [], "source": src} for i, (src, n) in enumerate(cells)],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
    }))


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=Ada", "-c", "user.email=ada@example.com",
                    "-c", "init.defaultBranch=main", *args], cwd=root, check=True,
                   capture_output=True)


TRAIN_CELLS = [
    ("%load_ext nbmlops", 1),
    ("%%track load --expect raw=expectations/raw.json\nimport pandas as pd\n"
     "raw = pd.read_csv('data.csv')", 2),
    ("%%track train\nmodel = fit(raw)\nauc = 0.91", 3),
]


def base_project(tmp_path: Path, uri: str, *, schedule: str | None = None,
                 extra_config: str = "") -> Path:
    """A git repository holding a notebook with a tracked cell and a job folder."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text(
        f"[project]\nname = 'churn'\n\n[tool.nbmlops]\ntracking_uri = '{uri}'\n{extra_config}")
    write_notebook(root / "train.ipynb", TRAIN_CELLS)
    job = Job(name="train", notebook="train.ipynb", source="../../train.ipynb",
              schedule=Schedule(cron=schedule, targets=["cron"] if schedule else []))
    (root / "jobs" / "train").mkdir(parents=True)
    (root / "jobs" / "train" / "job.yaml").write_text(dump(job, "jobs/train"))
    return root


def commit(root: Path) -> None:
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "Version the project")


def upload_run(uri: str, tmp_path: Path, *, parent: str | None = None,
               tags: dict[str, str] | None = None) -> str:
    """A run as nbmlops uploads a tracked cell's record: code, params, metrics, data, git."""
    from nbmlops.sync import upload

    record = build_record(uri, experiment="train.ipynb", notebook="train.ipynb",
                          parent_run_id=parent, tags={"team": "churn", **(tags or {})},
                          metrics=[MetricPoint("auc", 0.91)])
    files = tmp_path / "files" / record.record_id
    files.mkdir(parents=True)
    return str(upload.upload(record, files, store.client)["run_id"])


def job_run(uri: str, name: str = "train", status: str = "FINISHED") -> str:
    """The parent run ``nbmlops run`` makes for a job (its tracked cells nest under it)."""
    from nbmlops.sync import upload

    client = store.client(uri)
    experiment = upload.ensure_experiment(client, "train.ipynb", uri)
    run_id = client.create_run(experiment, run_name=f"job {name}", tags={
        store.JOB_TAG: name, store.SOURCE_NAME_TAG: "jobs/train/train.ipynb",
        store.SOURCE_TYPE_TAG: store.SOURCE_TYPE_NOTEBOOK,
    }).info.run_id
    client.set_terminated(run_id, status)
    return str(run_id)


def register(uri: str, run_ids: list[str], *, report: bool = False,
             tags: dict[str, str] | None = None) -> None:
    """Versions of model ``churn`` from ``run_ids``; challenger and champion aliases."""
    client = store.client(uri)
    client.create_registered_model("churn")
    for version, run_id in enumerate(run_ids, 1):
        if report:  # where the registry writes a version's evaluation report
            client.log_text(run_id, '{"auc": 0.91}', f"evaluation/churn-v{version}.json")
        client.create_model_version("churn", f"runs:/{run_id}/model", run_id=run_id,
                                    tags=tags or {})
    client.set_registered_model_alias("churn", store.CHAMPION, "1")
    client.set_registered_model_alias("churn", store.CHALLENGER, str(len(run_ids)))


def checked_runs(uri: str, tmp_path: Path, n: int = 2) -> list[str]:
    parent = job_run(uri)
    checks = {store.DRIFT_TAG: "none", store.SCHEMA_CHANGE_TAG: "none",
              store.EXPECTATIONS_TAG: "passed"}
    return [upload_run(uri, tmp_path, parent=parent, tags=checks) for _ in range(n)]


def scoring_job(root: Path, *, alerts: bool = True, retrain: bool = True,
                shadow: bool = True) -> None:
    """A scoring job folder: job.yaml watching model churn, as a team writes it."""
    job = Job(name="score", notebook="score.ipynb", source="../../score.ipynb",
              monitor={"model": "churn", **({"shadow": store.CHALLENGER} if shadow else {})},
              alerts=[{"webhook": "${ALERT_WEBHOOK}"}] if alerts else None,
              retrain={"job": "jobs/train", "on": "drift"} if retrain else None)
    (root / "jobs" / "score").mkdir(parents=True, exist_ok=True)
    (root / "jobs" / "score" / "job.yaml").write_text(dump(job, "jobs/score"))


def scored(uri: str, tmp_path: Path, trained_by: str, *, version: str = "1",
           drifted: str = "yes", decision: str | None = "retrain",
           shadow: str | None = "challenger") -> str:
    """A run of the scoring job: its tracked cell scored churn ``version`` (as
    nbmlops.load_model tags it, and the batch compared with that version's training data);
    the job's run raised an alert and decided about retraining, as its monitoring steps
    record it. The job run's id."""
    client = store.client(uri)
    parent = job_run(uri, "score")
    if decision:
        client.set_tag(parent, store.RETRAIN_DECISION_TAG, decision)
        client.set_tag(parent, store.ALERTS_TAG, json.dumps([
            {"kind": "drift", "title": "churn: 2 columns drifted", "deliveries": []}]))
    if decision == "retrain":
        client.set_tag(parent, store.RETRAIN_RUN_TAG, trained_by)
    tags = {store.SCORED_WITH_MODEL_TAG: "churn", store.SCORED_WITH_VERSION_TAG: version,
            store.SCORED_WITH_RUN_TAG: trained_by, store.monitor_drifted_tag("churn"): drifted}
    if shadow:
        tags[store.SHADOW_ALIAS_TAG] = shadow  # the challenger scored beside it
    upload_run(uri, tmp_path, parent=parent, tags=tags)
    return parent


def by_id(a: Assessment) -> dict[str, Any]:
    return {f.id: f for f in a.findings}


def flags(a: Assessment) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in a.red_flags:
        out.setdefault(r.id, []).append(r.where)
    return out


# -- level 0 --------------------------------------------------------------------------------


def test_a_bare_notebook_folder_is_level_0(tmp_path: Path) -> None:
    root = tmp_path / "bare"
    write_notebook(root / "analysis.ipynb", [
        ("import pandas as pd", 3),
        ("def clean_features(df):\n    return df.dropna()", 1),
        ("X = clean_features(raw)", 2),
    ])
    write_notebook(root / "x|<y>.ipynb", [("b = 2", 2), ("a = 1", 1)])
    a = assess_project(root)
    found = by_id(a)
    assert a.level == 0
    assert a.evidence.root == str(root)
    assert found["git"].status == NOT_MET
    assert any("no git repository" in m for m in found["git"].missing)
    assert found["tracked-runs"].status == NOT_MET
    assert found["job"].status == NOT_MET
    # Reading the store the project would use does not create one.
    assert not (root / "mlflow.db").exists()
    assert flags(a)["out-of-order"] == ["analysis.ipynb", "x|<y>.ipynb"]
    page = html(a)
    assert "<code>x|&lt;y&gt;.ipynb</code>" in page and "<y>" not in page
    assert "cells 2, 3 ran before a cell above" in next(
        r.detail for r in a.red_flags if r.id == "out-of-order")
    assert flags(a)["untested-features"] == ["analysis.ipynb"]
    steps = a.next_steps
    assert len(steps) == 3
    assert steps[0].command.startswith("git init")
    assert "%%track train" in steps[1].command and "analysis.ipynb" in steps[1].command
    assert steps[2].command == "nbmlops export analysis.ipynb"


# -- level 1 --------------------------------------------------------------------------------


def test_a_git_repository_with_tracked_runs_and_a_job_is_level_1(
    tmp_path: Path, sqlite_uri: str
) -> None:
    root = base_project(tmp_path, sqlite_uri)
    commit(root)
    runs = [upload_run(sqlite_uri, tmp_path) for _ in range(3)]

    a = assess_project(root)
    found = by_id(a)
    assert a.level == 1, [(f.id, f.status, f.missing) for f in a.findings]
    assert "1 commit" in found["git"].evidence[0]
    assert found["tracked-runs"].evidence[-1].startswith("3 of the 3 newest runs carry their code")
    assert "3 their data fingerprints" in found["tracked-runs"].evidence[-1]
    assert found["job"].evidence == ["job folders: jobs/train"]
    assert found["data-checks"].status == NOT_MET
    assert found["scheduled"].missing == ["no job has a schedule"]
    assert found["registry"].missing == ["no registered model"]
    # Evaluation only ever ran in one person's notebook session.
    assert flags(a)["manual-evaluation"] == ["train.ipynb"]
    assert flags(a)["one-person"] == ["train.ipynb"]
    # Data quality first: the next step is the level-2 gap the model puts first.
    assert a.next_steps[0].criterion == "data-checks"
    assert "--expect" in a.next_steps[0].command
    assert [s.criterion for s in a.next_steps] == ["data-checks", "scheduled", "registry"]

    # A notebook nobody committed takes the project back to level 0.
    write_notebook(root / "scratch.ipynb", [("x = 1", 1)])
    a = assess_project(root)
    assert a.level == 0
    assert by_id(a)["git"].status == PARTLY
    assert by_id(a)["git"].missing == ["not in git: scratch.ipynb"]
    assert a.next_steps[0].command.startswith("git add scratch.ipynb")

    # A model registered from one person's notebook session, never by a job.
    register(sqlite_uri, runs[:1])
    a = assess_project(root)
    [flag] = [r for r in a.red_flags if r.id == "one-person"]
    assert flag.where == "train.ipynb"
    assert flag.detail.startswith("every version of model churn was trained by ")
    assert flag.detail.endswith(" from train.ipynb, never by a job")

    # Its own time limit: what could not be read in time is said, the disk still judged.
    a = assess_project(root, timeout=1e-9)
    assert any("time limit" in u for u in a.evidence.unchecked)
    assert a.evidence.mlflow == "timeout"
    assert by_id(a)["tracked-runs"].status == UNCHECKED
    assert by_id(a)["git"].status == PARTLY


# -- level 2 --------------------------------------------------------------------------------


def test_a_scheduled_job_and_a_registry_make_level_2(
    tmp_path: Path, sqlite_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    root = base_project(tmp_path, sqlite_uri, schedule="0 3 * * 1")
    commit(root)
    runs = checked_runs(sqlite_uri, tmp_path)
    register(sqlite_uri, runs)

    a = assess_project(root)
    found = by_id(a)
    assert a.level == 2, [(f.id, f.status, f.missing) for f in a.findings if f.status != MET]
    assert found["data-checks"].evidence[0] == "%%track --expect in train.ipynb"
    assert "2 of the 2 newest runs compared their data" in found["data-checks"].evidence[1]
    assert found["scheduled"].evidence[0] == "job train: schedule 0 3 * * 1 UTC"
    assert "last successful run 20" in found["scheduled"].evidence[1]
    assert found["registry"].evidence == [
        "model churn: 2 versions; newest v2 names run, code, data, author, metrics"]
    assert found["promotion"].evidence == ["model churn: challenger -> v2, champion -> v1"]
    assert found["unattended-eval"].status == MET  # the job's nested runs logged metrics
    assert found["gates"].status == NOT_MET
    assert found["rollback"].status == NOT_MET
    assert flags(a)["no-rollback"] == ["model churn"]
    assert "one-person" not in flags(a)  # the versions were trained by a job
    assert "manual-evaluation" not in flags(a)
    assert [s.criterion for s in a.next_steps] == ["feature-tests", "ci", "rollback"]

    # The same through the command line, as JSON that follows the documented schema.
    assert main(["assess", str(root), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    jsonschema.validate(doc, json.loads(SCHEMA_FILE.read_text()))
    assert doc["schema"] == SCHEMA
    assert doc["level"] == 2 and doc["level_name"] == a.level_name
    assert doc["facts"]["models"][0]["aliases"] == {"champion": "1", "challenger": "2"}
    assert {c["id"]: c["status"] for c in doc["criteria"]}["registry"] == MET

    text = terminal(a)
    assert "Reached level 2: automated training and experiment tracking" in text
    assert "⚑ Model versions without a tested rollback · model churn" in text
    assert "nbmlops rollback churn" in text
    md = markdown(a)
    assert md.startswith("# nbmlops assess: level 2")
    assert "| ✓ met | Models are registered with their metadata |" in md


# -- level 3 and the visible part of 4 ------------------------------------------------------


def test_gates_and_an_exercised_rollback_make_level_3(tmp_path: Path, sqlite_uri: str) -> None:
    gates = '\n[tool.nbmlops.gates]\nchurn = ["auc >= champion", "auc >= 0.8"]\n'
    root = base_project(tmp_path, sqlite_uri, schedule="0 3 * * 1",
                        extra_config=f'drift = "fail"\n{gates}')
    (root / "features.py").write_text("def make_features(df):\n    return df\n")
    (root / "tests").mkdir()
    (root / "tests" / "test_features.py").write_text(
        "from features import make_features\n\n\ndef test_make_features():\n"
        "    assert make_features([]) == []\n")
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / ".github" / "workflows" / "train.yml").write_text(
        "on:\n  push:\njobs:\n  train:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: nbmlops run jobs/train\n")
    commit(root)
    runs = checked_runs(sqlite_uri, tmp_path)
    register(sqlite_uri, runs, report=True, tags={"nbmlops.gates": "passed: auc >= champion"})
    # champion went to v2, then was rolled back to v1: the alias history is on the versions,
    # as `nbmlops rollback` records it
    reign = {"since": "2026-11-30T03:00:00Z", "by": "ada"}
    store.client(sqlite_uri).set_model_version_tag("churn", "1", "nbmlops.alias_history.champion",
                                                   json.dumps([{**reign, "how": "rollback"}]))
    # a scoring job watching the champion, alerting, retraining and scoring the challenger
    scoring_job(root)
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "Watch the scoring")
    scored(sqlite_uri, tmp_path, runs[0])

    a = assess_project(root)
    found = by_id(a)
    assert a.level == 3, [(f.id, f.status, f.missing) for f in a.findings if f.status != MET]
    assert found["feature-tests"].evidence[-1] == "tested feature code: features.py:make_features"
    assert found["ci"].evidence[-1] == "runs a job on each change: .github/workflows/train.yml"
    assert found["scheduled"].evidence[0] == "job train: schedule 0 3 * * 1 UTC (installed: github)"
    assert found["gates"].evidence[0] == (
        "[tool.nbmlops] gates: churn: auc >= champion, churn: auc >= 0.8")
    assert found["eval-reports"].evidence == ["evaluation reports: churn v2, churn v1"]
    assert found["rollback"].evidence == [
        "rollbacks recorded: churn v1 (nbmlops.alias_history.champion)"]
    assert found["drift-fails"].status == MET
    assert found["monitoring"].status == MET
    assert found["lineage"].status == MET
    assert found["reproduced"].status == NOT_MET
    assert a.red_flags == []
    assert [s.command for s in a.next_steps] == ["nbmlops reproduce RUN_ID"]

    # A run reproduced (nbmlops reproduce records its verdict on the run): level 4, as far as
    # nbmlops can see it.
    store.client(sqlite_uri).set_tag(runs[0], store.REPRODUCED_TAG, "yes")
    a = assess_project(root)
    assert a.level == 4, [(f.id, f.status, f.missing) for f in a.findings if f.status != MET]
    assert by_id(a)["reproduced"].evidence == ["1 run reproduced"]
    assert a.next_steps == []


def test_monitoring_retraining_shadow_and_prediction_lineage_read_from_a_real_project(
    tmp_path: Path, sqlite_uri: str
) -> None:
    root = base_project(tmp_path, sqlite_uri, schedule="0 3 * * 1")
    commit(root)
    trained = checked_runs(sqlite_uri, tmp_path)
    register(sqlite_uri, trained)
    watched = ("monitoring", "retrain-on-drift", "shadow", "prediction-lineage")

    def told(criterion: str) -> Any:
        return by_id(assess_project(root))[criterion]

    # nothing watched yet
    a = assess_project(root)
    assert {c: by_id(a)[c].status for c in watched} == dict.fromkeys(watched, NOT_MET)
    assert by_id(a)["monitoring"].missing == [
        "no scoring run compared its batch with a reference",
        "no scoring job sends alerts (alerts: in its job.yaml)"]
    assert by_id(a)["prediction-lineage"].step is not None
    assert "nbmlops.load_model('churn@champion')" in by_id(a)["prediction-lineage"].step.command

    # the scoring job's job.yaml, before its first run: what it says it will do
    scoring_job(root)
    a = assess_project(root)
    assert {c: by_id(a)[c].status for c in watched} == {
        "monitoring": PARTLY, "retrain-on-drift": PARTLY, "shadow": PARTLY,
        "prediction-lineage": NOT_MET}
    assert by_id(a)["monitoring"].evidence == ["alerts: in the job.yaml of score"]
    assert by_id(a)["retrain-on-drift"].evidence == [
        "job score retrains jobs/train when its policy says so"]
    assert by_id(a)["retrain-on-drift"].step is not None
    assert by_id(a)["retrain-on-drift"].step.command == "nbmlops run jobs/score"
    assert by_id(a)["shadow"].missing == ["no run of score has scored in shadow yet"]

    # one run: it scored v1 of churn, its batch drifted, it alerted and decided to retrain
    scored(sqlite_uri, tmp_path, trained[0])
    a = assess_project(root)
    assert {c: by_id(a)[c].status for c in watched} == dict.fromkeys(watched, MET)
    assert by_id(a)["monitoring"].evidence == [
        "alerts: in the job.yaml of score",
        "scoring runs that compared their batch with the model's training data: 1 of the "
        "newest 1, 1 drifted",
        "1 alert sent by score"]
    assert by_id(a)["retrain-on-drift"].evidence[1:] == [
        "1 scoring job run decided: 1 retrain",
        f"retraining runs started: {trained[0][:8]} (no outcome yet)"]
    [scoring] = [s for s in a.evidence.scoring or []]
    assert by_id(a)["prediction-lineage"].evidence == [
        f"scoring run {scoring.run_id[:8]} -> churn v1 -> training run {trained[0][:8]} -> "
        "its data",
        "scoring runs that trace to the data their model was trained on: 1 of the newest 1"]

    # a scoring run of a version the registry does not have: the trace breaks there
    scored(sqlite_uri, tmp_path, trained[0], version="9", drifted="no", decision="hold")
    assert told("prediction-lineage").status == PARTLY
    assert told("prediction-lineage").missing == [
        "scored versions without their training data: churn v9"]
    assert told("retrain-on-drift").evidence[1] == "2 scoring job runs decided: 1 hold, 1 retrain"
    assert told("monitoring").evidence[1].endswith(": 2 of the newest 2, 1 drifted")

    # the job.yaml without alerts: the alerts sent still show the job alerts
    scoring_job(root, alerts=False, retrain=False, shadow=False)
    a = assess_project(root)
    assert by_id(a)["monitoring"].status == MET
    assert by_id(a)["monitoring"].evidence[-1] == "2 alerts sent by score"
    assert by_id(a)["retrain-on-drift"].status == PARTLY  # decided, no longer configured
    assert by_id(a)["shadow"].status == MET  # the runs that scored in shadow still show it


# -- the tracking server down; bad input ----------------------------------------------------


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_with_the_tracking_server_down_it_reports_the_disk_and_what_it_could_not_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    root = base_project(tmp_path, url.replace("//", "//ada:s3cret@"), schedule="0 3 * * 1")
    commit(root)
    assert main(["assess", str(root), "--timeout", "30"]) == 0
    out = capsys.readouterr().out
    assert "s3cret" not in out
    assert "✓ met         Notebooks and code are in git" in out
    assert "? not checked Runs are recorded with their code and data" in out
    assert f"MLflow at {url} could not be read" in out
    assert "Not checked" in out

    assert main(["assess", str(root), "--format", "json"]) == 0
    text = capsys.readouterr().out
    assert "s3cret" not in text
    doc = json.loads(text)
    status = {c["id"]: c["status"] for c in doc["criteria"]}
    assert status["git"] == MET and status["job"] == MET
    assert status["tracked-runs"] == status["registry"] == status["scheduled"] == UNCHECKED
    assert doc["level"] == 0  # level 1 cannot be proven without the runs
    assert any(url in u for u in doc["unchecked"])
    assert doc["facts"]["runs"] is None and doc["facts"]["models"] is None
    assert doc["facts"]["mlflow"] == "unreachable"
    # The first step brings MLflow back: the evidence of level 1 is there.
    assert doc["next_steps"][0]["command"] == (
        f"start the MLflow server at {url} (or set MLFLOW_TRACKING_URI), then nbmlops assess")


@pytest.mark.server
def test_a_real_server_is_read_through_its_api_then_stopped(
    tmp_path: Path, mlflow_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    url = mlflow_server.url
    root = base_project(tmp_path, url, schedule="0 3 * * 1")
    commit(root)
    register(url, checked_runs(url, tmp_path), report=True)
    a = assess_project(root)
    assert a.evidence.mlflow == "read"
    assert a.level == 2, [(f.id, f.status, f.missing) for f in a.findings if f.status != MET]
    assert by_id(a)["eval-reports"].evidence == ["evaluation reports: churn v2, churn v1"]

    mlflow_server.cut()
    capsys.readouterr()  # MLflow's own "View run at" lines, from building the store
    assert main(["assess", str(root), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["facts"]["mlflow"] == "unreachable" and doc["level"] == 0
    assert {c["id"]: c["status"] for c in doc["criteria"]}["git"] == MET


def test_bad_input_is_one_line_and_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["assess", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"nbmlops: error: not a folder: {tmp_path / 'nowhere'}"
    assert main(["assess", str(tmp_path), "--fail-under", "7"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    write_notebook(tmp_path / "nb.ipynb", [("x = 1", 1)])
    assert main(["assess", str(tmp_path), "--offline", "--fail-under", "1"]) == 1
    assert "MLflow: not read (--offline)" in capsys.readouterr().out

    # A broken [tool.nbmlops] is reported, not fatal: the disk is still judged.
    (tmp_path / "pyproject.toml").write_text("[tool.nbmlops]\ntracking_url = 'x'\n")
    a = assess_project(tmp_path)
    assert a.evidence.mlflow == "no uri"
    assert any("unknown key(s) in [tool.nbmlops]" in u for u in a.evidence.unchecked)
    assert by_id(a)["tracked-runs"].status == UNCHECKED
    assert by_id(a)["git"].status == NOT_MET
    assert any("fix [tool.nbmlops] in pyproject.toml" in s.command for s in a.next_steps)


# -- %mlops assess --------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = shell_project(tmp_path, monkeypatch, "train.ipynb")
    write_notebook(root / "train.ipynb", TRAIN_CELLS)
    return root


def test_mlops_assess_renders_the_html_report(ip: Any, project: Path) -> None:
    from IPython.core.error import UsageError
    from IPython.display import HTML

    shown = ip.run_line_magic("mlops", "assess")
    assert isinstance(shown, HTML)
    assert "<h2>nbmlops assess: level 0: notebooks, manual everything</h2>" in shown.data
    assert f"{project}" in shown.data
    assert "<code>git init &amp;&amp; git add . &amp;&amp;" in shown.data
    with pytest.raises(UsageError, match="not a folder"):
        ip.run_line_magic("mlops", f"assess {project / 'missing'}")


# -- judging alone ----------------------------------------------------------------------------


def test_a_schedule_that_missed_its_last_period_is_partly_met() -> None:
    import time

    from nbmlops.assess.criteria import assess
    from nbmlops.assess.evidence import Evidence, JobFacts, JobRun, RunFacts, _period_start

    now = int(time.time() * 1000)
    week = 7 * 24 * 3600 * 1000
    since = _period_start("0 3 * * 1", "UTC")
    assert since is not None and now - 2 * week < since <= now - week
    job = JobFacts("jobs/train", "train", cron="0 3 * * 1", installed=["cron"],
                   period_start=since,
                   runs=[JobRun("r2", "FAILED", now - 1000), JobRun("r1", "FINISHED", since - 1)])
    ev = Evidence(root="/p", generated_at="", runs=RunFacts(), models=[], jobs=[job])
    found = by_id(assess(ev))["scheduled"]
    assert found.status == PARTLY
    assert found.evidence[0] == "job train: schedule 0 3 * * 1 UTC (installed: cron)"
    assert found.evidence[1].endswith(", latest FAILED")
    assert found.step is not None
    assert found.step.command == "nbmlops run jobs/train && nbmlops jobs"
    job.runs.insert(0, JobRun("r3", "FINISHED", since + 1))
    assert by_id(assess(ev))["scheduled"].status == MET


def test_a_pipeline_steps_runs_are_parents_not_untracked_runs(
    tmp_path: Path, sqlite_uri: str
) -> None:
    # A pipeline run: its parent, one run per step, the step's tracked cell nested under it.
    # Only the cell's run holds code; the step's run is no more "logged by hand" than the job's.
    root = base_project(tmp_path, sqlite_uri)
    commit(root)
    parent = job_run(sqlite_uri, "weekly")
    client = store.client(sqlite_uri)
    step = client.create_run(client.get_run(parent).info.experiment_id, run_name="train", tags={
        store.PARENT_RUN_TAG: parent, store.PIPELINE_TAG: "weekly", store.STEP_TAG: "train",
    }).info.run_id
    client.set_terminated(step)
    upload_run(sqlite_uri, tmp_path, parent=step)

    found = by_id(assess_project(root))["tracking-consistent"]
    assert found.status == MET, found.missing
    assert found.evidence[0].startswith("100% of the 1 newest runs carry code and git commit")


def test_a_search_s_candidate_runs_are_part_of_its_run_not_untracked_runs(
    tmp_path: Path, sqlite_uri: str
) -> None:
    # A GridSearchCV cell: its run holds the code; its best candidates are nested runs of it.
    from nbmlops.record import ChildRecord
    from nbmlops.sync import upload

    root = base_project(tmp_path, sqlite_uri)
    commit(root)
    record = build_record(sqlite_uri, experiment="train.ipynb", notebook="train.ipynb",
                          metrics=[MetricPoint("auc", 0.91)], children=[ChildRecord(
                              f"search rank {rank}", {"C": str(rank)}, {"mean_test_score": 0.9},
                              {store.CANDIDATE_OF_TAG: "search",
                               store.CANDIDATE_RANK_TAG: str(rank)}) for rank in (1, 2, 3)])
    files = tmp_path / "files" / record.record_id
    files.mkdir(parents=True)
    upload.upload(record, files, store.client)

    found = by_id(assess_project(root))["tracking-consistent"]
    assert found.status == MET, found.missing
    assert found.evidence[0].startswith("100% of the 1 newest runs carry code and git commit")


def test_files_in_git_with_changes_are_not_called_all_committed(
    tmp_path: Path, sqlite_uri: str
) -> None:
    root = base_project(tmp_path, sqlite_uri)
    commit(root)
    (root / "train.ipynb").write_text((root / "train.ipynb").read_text() + "\n")
    found = by_id(assess_project(root))["git"]
    assert found.status == MET
    assert "1 notebook and the code, all in git; 1 file with uncommitted changes" \
        in found.evidence, found.evidence
