"""The model registry end to end: ``%%track --model`` cells in a real IPython shell, uploaded
by the sync process into a real sqlite MLflow store, promoted through gates, rolled back, and
the champion loaded with ``mlflow.pyfunc.load_model``."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import shell_project
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from mlflow import MlflowClient
from sklearn.tree import DecisionTreeClassifier

from nbmlops import store
from nbmlops.cli import main
from nbmlops.magics import PromotionRefused
from nbmlops.models import registry
from nbmlops.models.register import _tracking_uri as tracking_uri
from nbmlops.record import ModelRecord, RunRecord
from nbmlops.sync import artifact_scheme, worker
from nbmlops.sync.spool import Spool

SETUP = """\
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.metrics import roc_auc_score
X, y = load_breast_cancer(return_X_y=True, as_frame=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
"""
# Three candidates of one model: a stump, a scaled logistic regression (better), a constant.
STUMP = """\
from sklearn.tree import DecisionTreeClassifier
clf = DecisionTreeClassifier(max_depth=1, random_state=0).fit(X_train, y_train)
auc = roc_auc_score(y_test, clf.predict_proba(X_test)[:, 1])
"""
LOGREG = """\
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.linear_model import LogisticRegression
clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X_train, y_train)
auc = roc_auc_score(y_test, clf.predict_proba(X_test)[:, 1])
"""
CONSTANT = """\
from sklearn.dummy import DummyClassifier
clf = DummyClassifier(strategy="prior").fit(X_train, y_train)
auc = roc_auc_score(y_test, clf.predict_proba(X_test)[:, 1])
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, migrated_db: Path) -> Path:
    root = shell_project(tmp_path, monkeypatch, "train.ipynb")
    shutil.copy(migrated_db, root / "mlflow.db")  # the project's default store, migrated
    return root


def track(ip: InteractiveShell, line: str, body: str) -> Any:
    with capture_output() as out:
        result = ip.run_cell(f"%%track {line}\n{body}")
    assert result.success, out.stdout + out.stderr
    return out


def sync(project: Path) -> list[dict[str, Any]]:
    """Upload what the cells spooled; the receipts of the records."""
    spool = Spool(project.parent / "spool")
    ids = [e.name.removesuffix(".zip").split("-", 1)[1] for e in spool.entries()]
    report = worker.drain(spool, timeout=120)
    assert report.ok and report.waiting == 0, report.errors
    return [r for r in (spool.receipt(i) for i in ids) if r is not None]


def magic(ip: InteractiveShell, line: str) -> str:
    with capture_output() as out:
        ip.run_line_magic("mlops", line)
    return out.stdout


def test_register_promote_refuse_roll_back_and_serve(ip: InteractiveShell, project: Path) -> None:
    uri = f"sqlite:///{project / 'mlflow.db'}"
    with capture_output():
        assert ip.run_cell(SETUP).success
    out = track(ip, "stump --model clf=cancer", STUMP)
    [status] = [o.data["text/plain"] for o in out.outputs]
    assert "· model cancer · waiting to sync" in status
    (first,) = sync(project)
    assert first["models"] == [{"name": "cancer", "version": "1"}]
    from nbmlops.track.status_line import facts_of, render

    record = RunRecord(tracking_uri=uri, experiment="e", run_name="stump", code_sha="0" * 8,
                       models=[ModelRecord("clf", "cancer", "m.pkl", "sklearn.tree", "T")])
    line, _ = render(facts_of(record), record.record_id, first)
    assert line.endswith(f"· model cancer · synced: run {first['run_id'][:8]} in train.ipynb"
                         " · cancer v1 challenger")
    client = MlflowClient(uri)

    # The version names its run, code, data, author and metrics; it is the challenger.
    v1 = client.get_model_version("cancer", "1")
    run = client.get_run(first["run_id"])
    assert v1.run_id == run.info.run_id and v1.aliases == ["challenger"]
    assert v1.tags[store.CODE_SHA_TAG] == run.data.tags[store.CODE_SHA_TAG]
    assert v1.tags[store.MODEL_AUTHOR_TAG] == run.data.tags[store.USER_TAG]
    assert float(v1.tags["nbmlops.metric.auc"]) == pytest.approx(run.data.metrics["auc"])
    trained_on = dict(line.split("=") for line in v1.tags[store.MODEL_DATA_TAG].splitlines())
    inputs = {d.dataset.name: d.dataset.digest for d in run.inputs.dataset_inputs}
    assert trained_on["X_train"].startswith(inputs["X_train"])
    # Logged with the scikit-learn flavour, a signature inferred from the training columns.
    from mlflow.models import get_model_info

    info = get_model_info(v1.source)
    assert "sklearn" in info.flavors
    assert info.signature is not None
    assert "mean radius" in info.signature.inputs.input_names()
    # Its training data, summarised for monitoring: every feature, none of the values.
    from nbmlops.monitor import reference

    ref = reference.load(Path(client.download_artifacts(
        v1.run_id, store.monitoring_reference_artifact("cancer"), str(project.parent))))
    assert list(ref.layout.columns) == list(info.signature.inputs.input_names())
    assert ref.sketch.rows == 398 and set(ref.bands) == set(ref.layout.columns)
    assert ref.bands["mean radius"].chunk_rows == 56  # 398 rows: 7 chunks
    # The pickle went into a model, not into the run's plain artifacts.
    assert store.MODEL_SPOOL_FOLDER not in {a.path for a in client.list_artifacts(v1.run_id)}
    report = evaluation_report(client, v1, project.parent / "v1")
    assert report["metrics"]["auc"] == pytest.approx(run.data.metrics["auc"])
    assert {d["name"] for d in report["data"]} >= {"X_train", "y_train"}

    # First promotion: there is no champion, the relative gate passes by definition.
    out = magic(ip, 'promote cancer --gate "auc >= champion" --gate "auc >= 0.5"')
    assert "no champion yet: passes by definition" in out
    assert "cancer v1 is now champion (the first)" in out
    assert holder(client, "cancer", "champion") == "1"
    assert "challenger" not in client.get_model_version("cancer", "1").aliases

    # A better model: registered as challenger, promoted through the same gates.
    track(ip, "logreg --model clf=cancer", LOGREG)
    sync(project)
    out = magic(ip, 'promote cancer --gate "auc >= champion"')
    assert "cancer v2 is now champion (was v1)" in out
    assert "pass" in out and "FAIL" not in out

    # A worse one is refused with the report; the champion stays.
    track(ip, "constant --model clf=cancer", CONSTANT)
    sync(project)
    # An outcome, not a usage error: a real exception, so papermill and "Run All" record it.
    with capture_output() as out, pytest.raises(PromotionRefused) as refused:
        ip.run_line_magic("mlops", 'promote cancer --gate "auc >= champion" --gate "auc >= 0.5"')
    assert "cancer v3 not promoted to champion: failed gate(s) auc >= champion" in str(
        refused.value)
    assert "(champion stays v2)" in str(refused.value)
    table = out.stdout
    assert "gates for cancer v3 against champion v2" in table
    assert "auc >= champion" in table and "FAIL" in table and "1 of 2 passed" in table
    assert holder(client, "cancer", "champion") == "2"
    assert holder(client, "cancer", "challenger") == "3"
    v3 = client.get_model_version("cancer", "3")
    assert v3.tags[store.MODEL_GATES_TAG].startswith("1/2 passed for champion against v2")
    gates = evaluation_report(client, v3, project.parent / "v3")["gates"]
    assert gates[-1]["passed"] is False and gates[-1]["against"] == "2"
    assert [r["passed"] for r in gates[-1]["results"]] == [False, True]

    # Roll back: the champion goes back to the previous holder, and says so.
    out = magic(ip, "rollback cancer")
    assert "rolled back cancer: champion moved from v2 to v1" in out
    assert holder(client, "cancer", "champion") == "1"
    # Who was champion before, and when, stays answerable.
    (model,) = registry.list_models(client, names=["cancer"])
    reigns = model.version("2").history["champion"]  # type: ignore[union-attr]
    assert [r["how"] for r in reigns] == ["promoted"] and reigns[0]["ended"] == "rolled back"
    listing = magic(ip, "models cancer")
    assert "champion: v1" in listing and "challenger: v3" in listing
    assert "champion: v2 from" in listing and "(rolled back)" in listing
    # --notebook alone: the versions this notebook registered; another notebook has none.
    assert magic(ip, "models --notebook") == listing
    assert magic(ip, "models --notebook elsewhere.ipynb").strip() == "no registered models"
    # A second rollback has no earlier champion than v1 to go to.
    with pytest.raises(UsageError, match="no previous champion of cancer to roll back to from "
                       "v1: v1 is the first champion"):
        ip.run_line_magic("mlops", "rollback cancer")

    # The compare panel marks the champion's run, and no other.
    with capture_output():
        panel = ip.run_line_magic("mlops", "compare")
    cells = re.findall(r"<div[^>]*>(.*?)</div>", panel.column_widgets["run_name"].value)
    marked = [c for c in cells if "champion" in c]
    assert len(cells) == 3 and len(marked) == 1
    assert "★ champion cancer v1" in marked[0] and first["run_id"][:8] in marked[0]

    # Serve the champion as MLflow users do: it is the stump again.
    import mlflow

    with tracking_uri(uri):
        served = mlflow.pyfunc.load_model("models:/cancer@champion")
    ns = ip.user_ns
    rows = ns["X_test"].head(40)
    stump = DecisionTreeClassifier(max_depth=1, random_state=0).fit(ns["X_train"], ns["y_train"])
    assert list(served.predict(rows)) == list(stump.predict(rows))

    # A scoring cell loads the champion by name, with no tracking URI set, as the estimator
    # it was; its run names the version it scored with and the run that trained it.
    track(ip, "score", "import nbmlops\nchamp = nbmlops.load_model('cancer@champion')\n"
          "scores = champ.predict_proba(X_test)[:, 1]\n")
    assert isinstance(ns["champ"], DecisionTreeClassifier)
    (scored,) = sync(project)
    tags = client.get_run(scored["run_id"]).data.tags
    assert (tags[store.SCORED_WITH_MODEL_TAG], tags[store.SCORED_WITH_VERSION_TAG],
            tags[store.SCORED_WITH_ALIAS_TAG], tags[store.SCORED_WITH_RUN_TAG]) == (
        "cancer", "1", "champion", first["run_id"])
    # The batch it scored was compared with the champion's training data: held-out rows of
    # the same data have not drifted.
    scored_run = client.get_run(scored["run_id"])
    assert tags[store.monitor_drifted_tag("cancer")] == "no", scored_run.data.metrics
    assert scored_run.data.metrics["monitor.cancer.drifted_columns"] == 0
    assert "monitor.cancer.mean radius.wasserstein" in scored_run.data.metrics
    # A batch whose radii grew by half has.
    track(ip, "shifted", "champ = nbmlops.load_model('cancer@champion')\n"
          "batch = X_test.assign(**{'mean radius': X_test['mean radius'] * 1.5})\n"
          "scores = champ.predict_proba(batch)[:, 1]\n")
    (shifted,) = sync(project)
    shifted_run = client.get_run(shifted["run_id"])
    assert shifted_run.data.tags[store.monitor_drifted_tag("cancer")] == "yes"
    assert "mean radius" in shifted_run.data.tags[store.monitor_columns_tag("cancer")]
    assert shifted_run.data.metrics["monitor.cancer.drifted_columns"] >= 1
    page = Path(client.download_artifacts(shifted["run_id"], "monitor/cancer/report.html",
                                          str(project.parent / "report")))
    text = page.read_text()
    assert "Monitoring: cancer v1 · shifted" in text and "171 rows of <code>batch</code>" in text
    import nbmlops
    from nbmlops.exceptions import ModelError

    assert type(nbmlops.load_model("models:/cancer/2")).__name__ == "Pipeline"
    with pytest.raises(ModelError, match="no version of cancer holds nightly in sqlite:"):
        nbmlops.load_model("cancer@nightly")
    with pytest.raises(ModelError, match="cancer has no version 9 in"):
        nbmlops.load_model("cancer/9")
    with pytest.raises(ModelError, match="bad model reference 'cancer@'"):
        nbmlops.load_model("cancer@")


def evaluation_report(client: MlflowClient, version: Any, dest: Path) -> dict[str, Any]:
    path = client.download_artifacts(
        version.run_id, store.evaluation_artifact(version.name, version.version), str(dest))
    return dict(json.loads(Path(path).read_text()))


def holder(client: MlflowClient, name: str, alias: str) -> str:
    return str(client.get_model_version_by_alias(name, alias).version)


THRESHOLD = """\
class Threshold:
    '''A rule no MLflow flavour knows: served through pyfunc around its pickle.'''
    def __init__(self, column, cut):
        self.column, self.cut = column, cut
    def predict(self, frame):
        return (frame[self.column] < self.cut).astype(int)
rule = Threshold("mean radius", 14.0)
accuracy = float((rule.predict(X_test) == y_test).mean())
"""


def test_a_model_without_a_flavour_is_a_pyfunc_around_its_pickle(
    ip: InteractiveShell, project: Path, monkeypatch: pytest.MonkeyPatch, sqlite_uri: str
) -> None:
    # A store named by MLFLOW_TRACKING_URI, not the project's: registering must not lose it.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", sqlite_uri)
    with capture_output():
        assert ip.run_cell(SETUP).success
    track(ip, "rule --model rule=radius-rule", THRESHOLD)
    (receipt,) = sync(project)
    (registered,) = receipt.get("models") or [None]
    assert registered is not None, warnings_of(receipt)
    assert (registered["name"], registered["version"]) == ("radius-rule", "1")
    # A rule that does not say its input width finds no example: no signature, and it says so.
    assert registered["no_signature"].startswith("no input example")
    from nbmlops.track.status_line import render

    line, _ = render(["rule"], "r", receipt)
    assert "radius-rule v1 challenger · ⚠ no signature: no input example" in line
    assert os.environ["MLFLOW_TRACKING_URI"] == sqlite_uri
    assert not (project / "mlflow.db").with_suffix(".db-journal").exists()
    client = MlflowClient(sqlite_uri)
    version = client.get_model_version("radius-rule", "1")
    assert version.tags[store.MODEL_VARIABLE_TAG] == "rule"
    assert version.tags[store.MODEL_SIGNATURE_TAG] == registered["no_signature"]
    import mlflow

    with tracking_uri(sqlite_uri):
        served = mlflow.pyfunc.load_model("models:/radius-rule@challenger")
    assert served.metadata.flavors.keys() == {"python_function"}
    rows = ip.user_ns["X_test"].head(30)
    assert list(served.predict(rows)) == list(ip.user_ns["rule"].predict(rows))
    # nbmlops.load_model hands back the object the notebook pickled, not the wrapper.
    import nbmlops

    rule = nbmlops.load_model("radius-rule@challenger")
    assert type(rule).__name__ == "Threshold" and rule.cut == 14.0


def test_a_pyfunc_version_registered_under_the_wrappers_first_path_still_loads() -> None:
    # MLflow pickles the wrapper by reference: a version registered before it moved to
    # nbmlops.models names nbmlops.sync.pickled_model, and must find the class there.
    import pickle

    from nbmlops.models.pickled_model import PickledModel

    assert pickle.loads(b"cnbmlops.sync.pickled_model\nPickledModel\n.") is PickledModel


def test_loading_a_model_shows_none_of_mlflows_type_hint_advice() -> None:
    # The wrapper's predict has no type hints on purpose; MLflow's advice about them, given
    # when the class is defined, would land in the cell of whoever loads a model.
    import subprocess
    import sys

    code = ("import warnings\n"
            "with warnings.catch_warnings(record=True) as seen:\n"
            "    warnings.simplefilter('always')\n"
            "    import nbmlops.models.pickled_model\n"
            "print([str(w.message) for w in seen if 'type hints' in str(w.message)])\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"


def test_a_model_that_cannot_be_pickled_is_one_warning_and_the_run_is_kept(
    ip: InteractiveShell, project: Path
) -> None:
    with capture_output(), pytest.warns(UserWarning) as caught:
        result = ip.run_cell("%%track odd --model gen --model nothing\n"
                             "gen = (i for i in range(3))\nscore = 0.5")
    assert result.success
    (warning,) = [str(w.message) for w in caught if "nbmlops" in str(w.message)]
    assert warning.startswith("nbmlops recorded the rest of this run")
    assert "--model gen: cannot serialise generator" in warning
    assert "--model nothing: no such variable after the cell ran" in warning
    with capture_output(), pytest.warns(UserWarning, match="--model clf: not registered, "
                                        "the cell failed"):
        result = ip.run_cell("%%track broken --model clf\nclf = object()\n1 / 0")
    assert not result.success
    # Nor is a model fitted on data that fails its declared expectations.
    (project / "cancer.json").write_text(json.dumps({"rows": {"min": 1000}}))
    with capture_output():
        assert ip.run_cell(SETUP).success
    with capture_output(), pytest.warns(UserWarning, match="--model clf: not registered, its "
                                        "data failed the checks"):
        result = ip.run_cell(f"%%track checked --model clf --expect X_train=cancer.json\n{STUMP}")
    assert not result.success
    receipts = sync(project)
    assert len(receipts) == 3 and all("models" not in r for r in receipts)
    client = MlflowClient(f"sqlite:///{project / 'mlflow.db'}")
    run = client.get_run(receipts[0]["run_id"])
    assert run.data.metrics["score"] == 0.5
    assert "cannot serialise generator" in run.data.tags[store.WARNINGS_TAG]
    assert client.search_registered_models() == []


def warnings_of(receipt: dict[str, Any]) -> str | None:
    client = MlflowClient(receipt["tracking_uri"])
    return client.get_run(receipt["run_id"]).data.tags.get(store.WARNINGS_TAG)


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_the_command_line_with_the_projects_gates(
    ip: InteractiveShell, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "pyproject.toml").write_text(
        "[project]\nname = 'demo'\n\n[tool.nbmlops.gates]\n"
        '"*" = ["auc >= champion"]\ncancer = ["auc >= 0.6"]\n')
    with capture_output():
        assert ip.run_cell(SETUP).success
    track(ip, "stump --model clf=cancer", STUMP)
    track(ip, "constant --model clf=cancer", CONSTANT)
    sync(project)
    capsys.readouterr()

    status, out, _ = cli(capsys, "promote", "cancer", "--version", "1")
    assert status == 0
    assert "auc >= champion" in out and "auc >= 0.6" in out  # both of the project's gates
    assert "cancer v1 is now champion (the first)" in out
    # The challenger (v2, a constant) fails both; the report goes to stdout, exit 1.
    status, out, err = cli(capsys, "promote", "cancer")
    assert status == 1
    assert "gates for cancer v2 against champion v1" in out and "0 of 2 passed" in out
    assert err.startswith("nbmlops: promotion refused: cancer v2 not promoted to champion")
    # Bad input: one line, exit 2.
    for argv, message in [
        (["promote", "cancer", "--gate", "auc >> 1"], "bad gate 'auc >> 1'"),
        (["promote", "cancer", "--gate", "f1 >= 0.5"], "cancer v2 has no metric 'f1' (it has"),
        (["promote", "nosuch"], "no registered model 'nosuch' (registered: cancer)"),
        (["promote", "cancer", "--version", "9"], "cancer has no version 9 (versions: 2, 1)"),
        (["rollback", "cancer"], "from v1: v1 is the first champion"),
    ]:
        status, _, err = cli(capsys, *argv)
        assert status == 2 and err.startswith("nbmlops: error: ") and message in err, err
        assert err.count("\n") == 1
    assert holder(MlflowClient(f"sqlite:///{project / 'mlflow.db'}"), "cancer", "champion") == "1"

    # An explicit rollback target needs no gates; rolling back then returns to v1.
    status, out, err = cli(capsys, "rollback", "cancer", "--version", "2")
    assert status == 0 and not err and "champion moved from v1 to v2" in out
    # v1 was rolled back: a plain rollback does not return to it, an explicit one does.
    status, _, err = cli(capsys, "rollback", "cancer")
    assert status == 2 and "from v2: the earlier ones were rolled back (give --version" in err
    # --to, the old spelling of --version, still works.
    status, out, _ = cli(capsys, "rollback", "cancer", "--to", "1")
    assert status == 0 and "champion moved from v2 to v1, champion again as it was from" in out
    status, out, _ = cli(capsys, "models", "--json")
    (model,) = json.loads(out)
    assert model["aliases"] == {"champion": "1", "challenger": "2"}
    hows = sorted((v["version"], r["how"], r.get("ended")) for v in model["versions"]
                  for r in v["history"].get("champion", []))
    assert hows == [("1", "promoted", "rolled back"), ("1", "rollback", None),
                    ("2", "rollback", "rolled back")]

    # Lineage reaches the models: the data they were trained on names them.
    fingerprint = model["versions"][-1]["data"]["X_train"]
    status, out, _ = cli(capsys, "lineage", fingerprint[:12])
    assert status == 0
    assert "model versions trained on it:" in out
    assert "cancer/1 [champion]" in out and "cancer/2 [challenger]" in out


def test_a_retried_upload_registers_the_model_once(ip: InteractiveShell, project: Path) -> None:
    from nbmlops.models.register import register_models
    from nbmlops.sync.upload import ensure_experiment

    uri = f"sqlite:///{project / 'mlflow.db'}"
    with capture_output():
        assert ip.run_cell(SETUP).success
    track(ip, "stump --model clf=cancer", STUMP)
    # What a sync process killed half-way leaves: a RUNNING run with the record's id, and a
    # version registered from it.
    spool = Spool(project.parent / "spool")
    (entry,) = spool.entries()
    record = spool.load(entry)
    client = MlflowClient(uri)
    experiment_id = ensure_experiment(client, record.experiment, uri)
    stale = client.create_run(experiment_id, tags={store.RECORD_ID_TAG: record.record_id})
    with spool.unpacked(entry) as files:
        (first,) = register_models(client, record, stale.info.run_id, experiment_id, files,
                                   "someone", [])
    assert first.version == "1"
    spool.set_state(tried=[record.record_id])  # noted by the killed pass before it began

    (receipt,) = sync(project)
    assert receipt["models"] == [{"name": "cancer", "version": "2"}]
    (version,) = client.search_model_versions("name = 'cancer'")
    assert (str(version.version), version.run_id) == ("2", receipt["run_id"])
    assert holder(client, "cancer", "challenger") == "2"
    assert client.get_run(stale.info.run_id).info.lifecycle_stage == "deleted"
    # The model's files are beside the store, in the run's experiment, not in the sync
    # process's working folder.
    assert not (project / "mlruns" / "0").exists()
    location = artifact_scheme.resolve(client.get_experiment(experiment_id).artifact_location,
                                       uri)
    assert location.parent == project / "mlruns"  # nbmlops' place beside the store
    model_id = version.source.removeprefix("models:/")
    assert client.get_logged_model(model_id).experiment_id == experiment_id
    assert any(model_id in path.parts for path in location.rglob("MLmodel"))


def test_register_a_model_fitted_in_an_untracked_cell(ip: InteractiveShell, project: Path) -> None:
    with capture_output():
        assert ip.run_cell(SETUP + STUMP).success
    with pytest.raises(UsageError, match="no variable 'missing'"):
        magic(ip, "register missing")
    with capture_output():
        ip.run_line_magic("mlops", "register clf --name stump --metric auc --data X_train")
    (receipt,) = sync(project)
    assert receipt["models"] == [{"name": "stump", "version": "1"}]
    client = MlflowClient(f"sqlite:///{project / 'mlflow.db'}")
    version = client.get_model_version("stump", "1")
    run = client.get_run(version.run_id)
    assert run.info.run_name == "register-stump"
    assert float(version.tags["nbmlops.metric.auc"]) == pytest.approx(ip.user_ns["auc"])
    assert "X_train=" in version.tags[store.MODEL_DATA_TAG]
    from mlflow.models import get_model_info

    signature = get_model_info(version.source).signature
    assert signature is not None and len(signature.inputs.input_names()) == 30


def test_the_model_commands_explain_themselves(ip: InteractiveShell, project: Path) -> None:
    assert "mlops promote" in magic(ip, "promote -h") and "--gate GATE" in magic(ip, "promote -h")
    assert magic(ip, "models").strip() == "no registered models"
    with pytest.raises(UsageError, match="the following arguments are required: name"):
        magic(ip, "promote")
    with pytest.raises(UsageError, match="no registered model 'churn' \\(none registered yet\\)"):
        magic(ip, "promote churn")
    with pytest.raises(UsageError, match="bad gate 'auc'"):
        magic(ip, "promote churn --gate auc")
    (project / "mlflow.db").unlink()
    with pytest.raises(UsageError, match="no registered models: nothing has been uploaded"):
        magic(ip, "models")


def test_the_reproduced_gate_reads_the_runs_reproduction(
    ip: InteractiveShell, project: Path
) -> None:
    with capture_output():
        assert ip.run_cell(SETUP).success
    track(ip, "train --model clf=stump", STUMP)
    sync(project)
    client = MlflowClient(f"sqlite:///{project / 'mlflow.db'}")
    with pytest.raises(PromotionRefused, match=r"failed gate.*reproduced"):
        magic(ip, 'promote stump --gate reproduced')
    run_id = client.get_model_version("stump", "1").run_id
    client.set_tag(run_id, store.REPRODUCED_TAG, store.REPRODUCED_NO)
    with pytest.raises(PromotionRefused, match=r"failed gate.*reproduced"):
        magic(ip, 'promote stump --gate reproduced')
    client.set_tag(run_id, store.REPRODUCED_TAG, store.REPRODUCED_WITHIN)
    assert "reproduced" in magic(ip, 'promote stump --gate reproduced')
    assert str(client.get_model_version_by_alias("stump", "champion").version) == "1"


def test_a_reproduction_logs_its_model_and_registers_no_version(
    ip: InteractiveShell, project: Path
) -> None:
    """``nbmlops reproduce`` re-runs a ``--model`` cell tagged as a reproduction: its model is
    logged to compare, but no version is registered, so the challenger stays the original."""
    with capture_output():
        assert ip.run_cell(SETUP).success
    track(ip, "train --model clf=cancer", STUMP)
    (original,) = sync(project)
    track(ip, f"train --model clf=cancer --tag {store.REPRODUCES_TAG}={original['run_id']}",
          STUMP)
    (again,) = sync(project)
    assert again.get("models", []) == []
    client = MlflowClient(f"sqlite:///{project / 'mlflow.db'}")
    assert [str(v.version) for v in client.search_model_versions("name = 'cancer'")] == ["1"]
    assert holder(client, "cancer", "challenger") == "1"
    assert client.get_run(again["run_id"]).outputs.model_outputs  # logged all the same


def test_the_challenger_is_the_version_whose_run_ended_last_whatever_the_sync_order(
    ip: InteractiveShell, project: Path
) -> None:
    """Two kernels training one model: the run that ended later synced first. The version of
    the later run stays the challenger; the one uploaded after it is registered beside it."""
    uri = f"sqlite:///{project / 'mlflow.db'}"
    with capture_output():
        assert ip.run_cell(SETUP).success
    track(ip, "stump --model clf=cancer", STUMP)
    track(ip, "logreg --model clf=cancer", LOGREG)
    spool = Spool(project.parent / "spool")
    earlier, later = spool.entries()  # oldest first: the stump ended first
    assert spool.load(earlier).outcome.end_ms < spool.load(later).outcome.end_ms
    aside = project.parent / earlier.name
    earlier.rename(aside)  # the stump's kernel syncs late
    (first,) = sync(project)
    aside.rename(earlier)
    (second,) = sync(project)
    assert first["models"][0]["version"] == "1" and second["models"][0]["version"] == "2"
    client = MlflowClient(uri)
    assert client.get_model_version("cancer", "1").run_id == first["run_id"]
    assert holder(client, "cancer", "challenger") == "1"  # the logistic regression's
    # Said where the late version is shown: on its status line, not as a challenger.
    assert second["models"][0]["challenger_stays"] == "1"
    v2 = client.get_model_version("cancer", "2")
    assert int(v2.tags[store.MODEL_RUN_ENDED_TAG]) < int(
        client.get_model_version("cancer", "1").tags[store.MODEL_RUN_ENDED_TAG])
    assert evaluation_report(client, v2, project.parent / "v2")["challenger_stays"] == "1"
    from nbmlops.track.status_line import render

    line, _ = render(["stump"], "r", second)
    assert "cancer v2 (challenger stays v1: its run ended later)" in line
    assert "v2 challenger" not in line


CATEGORIES = """\
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
X, y = load_diabetes(return_X_y=True, as_frame=True)
X["sex"] = X["sex"].gt(0).map({True: "m", False: "f"}).astype("category")
X["age_band"] = pd.cut(X["age"], 3, labels=False).astype("category")
X_train = X
"""
CATEGORY_FIT = """\
pipe = make_pipeline(
    make_column_transformer((OneHotEncoder(handle_unknown="ignore"), ["sex", "age_band"]),
                            remainder="passthrough"),
    Ridge(),
).fit(X_train, y)
"""


def test_a_pipeline_over_category_columns_gets_a_signature(
    ip: InteractiveShell, project: Path
) -> None:
    """MLflow's own inference fails on ``category`` columns (it cannot enforce them on the
    example) and left the version without a signature, silently."""
    from mlflow.models import get_model_info

    uri = f"sqlite:///{project / 'mlflow.db'}"
    with capture_output():
        assert ip.run_cell(CATEGORIES).success
    track(ip, "ridge --model pipe=diabetes", CATEGORY_FIT)
    (receipt,) = sync(project)
    assert receipt["models"] == [{"name": "diabetes", "version": "1"}], warnings_of(receipt)
    client = MlflowClient(uri)
    version = client.get_model_version("diabetes", "1")
    signature = get_model_info(version.source).signature
    assert signature is not None
    inputs = {c["name"]: c["type"] for c in signature.inputs.to_dict()}
    assert inputs["sex"] == "string" and inputs["age_band"] == "long"
    assert inputs["bmi"] == "double" and signature.outputs is not None
    assert store.MODEL_SIGNATURE_TAG not in version.tags
    report = evaluation_report(client, version, project.parent / "v1")
    assert report["no_signature"] is None and report["signature"]["inputs"]
    # What MLflow serves from it takes the example's plain columns.
    import mlflow

    with tracking_uri(uri):
        served = mlflow.pyfunc.load_model("models:/diabetes@challenger")
    rows = ip.user_ns["X_train"].head(10)
    plain = rows.astype({"sex": str, "age_band": "int64"})
    assert list(served.predict(plain)) == pytest.approx(list(ip.user_ns["pipe"].predict(rows)))


def test_a_job_s_version_is_listed_with_the_notebook_the_job_came_from(
    ip: InteractiveShell, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As `nbmlops run jobs/train` runs the job's copy of train.ipynb.
    monkeypatch.setenv("NBMLOPS_NOTEBOOK", str(project / "jobs" / "train" / "train.ipynb"))
    monkeypatch.setenv("NBMLOPS_SOURCE_NOTEBOOK", "train.ipynb")
    with capture_output():
        assert ip.run_cell(SETUP).success
    track(ip, "stump --model clf=cancer", STUMP)
    sync(project)
    client = MlflowClient(f"sqlite:///{project / 'mlflow.db'}")
    # The Models view of train.ipynb, and of the job's copy, list it; another notebook's not.
    for notebook in ("train.ipynb", "jobs/train/train.ipynb"):
        (model,) = registry.list_models(client, notebook)
        assert [v.version for v in model.versions] == ["1"]
    assert registry.list_models(client, "score.ipynb") == []


def test_the_input_example_keeps_every_column_s_type_and_no_secret() -> None:
    import numpy as np
    import pandas as pd

    from nbmlops.track.models import redacted_example

    token = "ghp_" + "Ex4mple" * 6
    rows = pd.DataFrame({
        "password": ["pw-1", "pw-2"], "api_key": [1234, 5678], "auth": [True, False],
        "signing_key": pd.to_datetime(["2024-05-01", "2024-06-01"], utc=True),
        "client_secret": pd.Series(["s-1", "s-2"], dtype="category"),
        "note": [f"use {token}", "plain"], "kind": pd.Series([token, "b"], dtype="category"),
        "email": ["a@example.com", "b@example.com"], "age": [31, 42],
    })
    before = rows.dtypes.astype(str).to_dict()
    kept = redacted_example(rows.copy())
    assert kept.dtypes.astype(str).drop("client_secret").to_dict() == {
        k: v for k, v in before.items() if k != "client_secret"}
    assert kept["client_secret"].dtype == rows["client_secret"].cat.categories.dtype
    assert kept.to_dict("list") == {
        "password": ["<redacted>"] * 2, "api_key": [0, 0], "auth": [False, False],
        "signing_key": [pd.Timestamp(0, tz="UTC")] * 2, "client_secret": ["<redacted>"] * 2,
        "note": ["use <redacted>", "plain"], "kind": ["<redacted>", "b"],
        "email": ["a@example.com", "b@example.com"], "age": [31, 42],
    }
    assert rows["password"][0] == "pw-1"  # the caller's frame is another copy
    twice = pd.DataFrame([["pw-1", token, 3]], columns=["password", "password", "n"])
    assert redacted_example(twice).values.tolist() == [["<redacted>", "<redacted>", 3]]
    array = np.array([[token, "x"], ["pwd=abc", "y"]])
    assert redacted_example(array).tolist() == [["<redacted>", "x"], ["pwd=<redacted>", "y"]]
    numbers = np.arange(4.0).reshape(2, 2)
    assert redacted_example(numbers) is numbers


def test_the_model_magics_with_the_server_away_say_so_in_one_line(
    ip: InteractiveShell, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow_server import free_port

    away = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    monkeypatch.setenv("MLFLOW_TRACKING_URI", away)
    for line in ("models", "promote cancer", "rollback cancer"):
        with pytest.raises(UsageError) as refused:
            magic(ip, line)
        assert str(refused.value) == (f"cannot reach the MLflow server at {away} "
                                      "(connection refused)"), line


HANGS = """\
import os, pathlib, time
class Hangs:
    # In a sync process given HANG_FLAG, every prediction after the first never returns: the
    # first is nbmlops inferring the signature, the next MLflow checking the input example
    # inside Model.log, while the logged model is PENDING.
    def fit(self, X, y):
        self.feature_names_in_ = X.columns.to_numpy()
        self.n_features_in_ = X.shape[1]
        return self
    def predict(self, X):
        flag = os.environ.get("HANG_FLAG")
        if flag:
            flag = pathlib.Path(flag)
            if flag.exists():
                flag.with_suffix(".hanging").touch()
                time.sleep(600)
            flag.touch()
        return [0] * len(X)
model = Hangs().fit(X_train, y_train)
"""


def test_a_killed_upload_leaves_no_pending_logged_model(
    ip: InteractiveShell, project: Path
) -> None:
    """A sync process killed inside MLflow's Model.log leaves a RUNNING run and a PENDING
    logged model; the next sync deletes the run and finalizes and deletes its model, so the
    experiment's logged models are the new run's, READY, and none PENDING."""
    import signal
    import subprocess
    import sys

    from conftest import wait_until

    uri = f"sqlite:///{project / 'mlflow.db'}"
    with capture_output():
        assert ip.run_cell(SETUP).success
    track(ip, "hangs --model model=hangs", HANGS)
    flag = project.parent / "predicted"
    env = {**os.environ, "HANG_FLAG": str(flag)}
    with open(project.parent / "sync.log", "wb") as log:
        killed = subprocess.Popen([sys.executable, "-m", "nbmlops.cli", "sync"], env=env,
                                  stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: flag.with_suffix(".hanging").exists() or killed.poll() is not None,
                   120, "the sync process to hang inside Model.log")
        assert killed.poll() is None, (project.parent / "sync.log").read_text()
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait()
    client = MlflowClient(uri)
    (experiment,) = [e for e in client.search_experiments() if e.name == "train.ipynb"]
    (left,) = client.search_logged_models([experiment.experiment_id])
    assert str(left.status) == "PENDING"  # what the kill left, on a RUNNING run
    assert client.get_run(left.source_run_id).info.status == "RUNNING"

    (receipt,) = sync(project)
    assert receipt["models"][0]["name"] == "hangs"
    assert client.get_run(left.source_run_id).info.lifecycle_stage == "deleted"
    found = client.search_logged_models([experiment.experiment_id])
    assert [(m.source_run_id, str(m.status)) for m in found] == [(receipt["run_id"], "READY")]
