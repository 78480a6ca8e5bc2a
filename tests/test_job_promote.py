"""A scheduled retraining job with ``promote:``: its run registers the model and promotes it
only when the gates pass; a failing gate fails the run, with the report, champion untouched."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from mlflow import MlflowClient

from nbmlops.exceptions import JobError
from nbmlops.jobs.export.folder import export_job
from nbmlops.jobs.spec import Job
from nbmlops.sync import artifact_scheme

NOTEBOOKS = Path(__file__).parent / "notebooks"
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.kernel


@pytest.fixture
def project(job_project: Path) -> Path:
    return job_project


def run(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "nbmlops"), "run", str(folder), *args],
                          capture_output=True, text=True, timeout=240, check=False)


def test_a_job_promotes_through_its_gates_or_fails(project: Path, sqlite_uri: str) -> None:
    shutil.copy(NOTEBOOKS / "job_model.ipynb", project / "job_model.ipynb")
    folder = export_job(project / "job_model.ipynb").folder
    data = yaml.safe_load((folder / "job.yaml").read_text())
    assert "promote" not in data  # only a job that asks for it has the section
    data["promote"] = {"model": "cancer-job", "gates": ["auc >= champion", "auc >= 0.8"]}
    (folder / "job.yaml").write_text(yaml.safe_dump(data))

    first = run(folder, "-p", "max_depth", "3")
    assert first.returncode == 0, first.stderr
    assert "no champion yet: passes by definition" in first.stderr
    assert "cancer-job v1 is now champion (the first)" in first.stderr
    client = MlflowClient(sqlite_uri)
    assert str(client.get_model_version_by_alias("cancer-job", "champion").version) == "1"

    # A stump scores lower: the run fails with the report; v1 stays champion.
    second = run(folder, "-p", "max_depth", "1")
    assert second.returncode == 1
    assert "gates for cancer-job v2 against champion v1" in second.stderr
    assert "job failed (promotion)" in second.stderr
    assert "failed gate(s) auc >= champion; champion of cancer-job untouched" in second.stderr
    assert str(client.get_model_version_by_alias("cancer-job", "champion").version) == "1"
    assert str(client.get_model_version_by_alias("cancer-job", "challenger").version) == "2"
    parents = client.search_runs(
        [client.get_experiment_by_name("job_model.ipynb").experiment_id],
        "tags.`nbmlops.job` = 'job_model'", order_by=["attributes.start_time DESC"])
    assert parents[0].info.status == "FAILED"
    assert "auc >= champion" in parents[0].data.tags["nbmlops.error"]
    assert parents[1].info.status == "FINISHED"
    # Each version names the job run that registered it.
    v2 = client.get_model_version("cancer-job", "2")
    assert v2.tags["nbmlops.job_run_id"] == parents[0].info.run_id
    # The models' files are in the runs' experiment, beside the store, wherever the job ran;
    # the champion loads from there.
    experiment = client.get_experiment(parents[0].info.experiment_id)
    folder = artifact_scheme.resolve(experiment.artifact_location, sqlite_uri)
    assert len(list(folder.rglob("MLmodel"))) == 2
    assert not list(project.rglob("MLmodel"))
    import mlflow
    from sklearn.datasets import load_breast_cancer

    from nbmlops.models.register import _tracking_uri as tracking_uri

    with tracking_uri(sqlite_uri):
        served = mlflow.pyfunc.load_model("models:/cancer-job@champion")
    X, _ = load_breast_cancer(return_X_y=True, as_frame=True)
    assert set(served.predict(X.head(50))) <= {0, 1}


@pytest.mark.parametrize(("section", "message"), [
    ({"to": "champion"}, "'promote' needs 'model: NAME'"),
    ({"model": "m", "gates": ["auc >> 1"]}, "promote: bad gate 'auc >> 1'"),
    ({"model": "m", "when": "always"}, "promote: unknown key(s) when"),
])
def test_a_bad_promote_section_fails_the_file(section: dict[str, object], message: str) -> None:
    with pytest.raises(JobError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Job.from_dict({"name": "j", "notebook": "j.ipynb", "promote": section})
