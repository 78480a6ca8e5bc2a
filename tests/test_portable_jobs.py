"""Job folders a team hands to its platform as they are: the image definition, the files of
the portable targets checked by the linters and schemas their platforms use, and the README
that says which files may leave the machine."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from nbmlops.exceptions import ScheduleError
from nbmlops.jobs.export.folder import export_job
from nbmlops.jobs.targets import image, kubernetes, target

NOTEBOOKS = Path(__file__).parent / "notebooks"
BIN = Path(sys.executable).parent


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "team project"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'team'\n")
    shutil.copy(NOTEBOOKS / "job_inferred.ipynb", root / "fit.ipynb")
    return root


def nbmlops(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "nbmlops"), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, check=False)


def test_portable_files_name_nothing_of_this_machine(project: Path) -> None:
    folder = export_job(project / "fit.ipynb", cron="0 3 * * 1",
                        targets=["cron", "airflow", "kubernetes", "github"]).folder
    readme = (folder / "README.md").read_text()
    for name in ("airflow_dag.py", "cronjob.yaml", "github-workflow.yml", "Dockerfile"):
        assert str(project) not in (folder / name).read_text(), name
        assert f"`{name}` (" in readme and "portable" in readme.split(f"`{name}`")[1][:40]
    # the local one says it is local
    assert str(project) in (folder / "crontab.txt").read_text()
    assert "`crontab.txt` (cron, this machine only" in readme


def test_dockerfile_passes_hadolint_and_mirrors_the_project(project: Path) -> None:
    folder = export_job(project / "fit.ipynb", targets=["image"]).folder
    text = (folder / "Dockerfile").read_text()
    done = subprocess.run([str(BIN / "hadolint"), str(folder / "Dockerfile")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"FROM python:{sys.version_info.major}.{sys.version_info.minor}-slim" in text
    assert "COPY jobs/fit/requirements.txt " in text  # relative to the build context
    assert "COPY --chown=10001:10001 jobs/fit /project/jobs/fit" in text
    assert 'CMD ["nbmlops", "run", "/project/jobs/fit"]' in text
    assert "papermill==" in text and "ipykernel==" in text
    # the CronJob and the pod run the job where the image holds it, as the non-root user
    cronjob = yaml.safe_load(target("kubernetes").render(
        export_job(project / "fit.ipynb", cron="0 3 * * 1", targets=["kubernetes"]).job,
        folder))
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["containers"][0]["workingDir"] == "/project/jobs/fit"
    assert pod["securityContext"]["runAsUser"] == image.USER_ID


def test_dockerfile_check_refuses_root_and_unknown_instructions() -> None:
    check = target("image").check
    with pytest.raises(ScheduleError, match="non-root USER"):
        check("FROM python:3.11-slim\nRUN true\n")
    with pytest.raises(ScheduleError, match="non-root USER"):
        check("FROM python:3.11-slim\nUSER 10001\nUSER root\n")
    with pytest.raises(ScheduleError, match="unknown instruction FORM"):
        check("FROM python:3.11-slim\nFORM x\nUSER 1\n")
    with pytest.raises(ScheduleError, match="start with FROM"):
        check("USER 1\n")


def test_github_workflow_validates_against_the_published_schema(project: Path) -> None:
    folder = export_job(project / "fit.ipynb", cron="0 3 * * 1", targets=["github"]).folder
    done = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema",
                           "vendor.github-workflows", str(folder / "github-workflow.yml")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    broken = (folder / "github-workflow.yml").read_text().replace("runs-on:", "run-on:")
    (folder / "broken.yml").write_text(broken)
    done = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema",
                           "vendor.github-workflows", str(folder / "broken.yml")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 1  # the schema would catch a broken workflow


def test_kubernetes_files_validate_in_the_three_newest_releases(project: Path) -> None:
    import kubernetes_validate.utils as kv

    releases = kubernetes.releases()
    minors = [tuple(int(p) for p in r.split(".")[:2]) for r in releases]
    assert len(set(minors)) == 3 and minors == sorted(minors)
    assert minors[-1] == tuple(int(p) for p in kv.latest_version().split(".")[:2])
    folder = export_job(project / "fit.ipynb", cron="0 3 * * 1", targets=["kubernetes"]).folder
    manifest = yaml.safe_load((folder / "cronjob.yaml").read_text())
    kubernetes.validate(manifest, "CronJob")
    # a misspelt field fails strict validation, and the error names the release
    manifest["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0][
        "workingDirectory"] = "/project"
    with pytest.raises(ScheduleError, match=r"Kubernetes \d+\.\d+\.\d+ at .*workingDirectory"):
        kubernetes.validate(manifest, "CronJob")


def test_image_command_prints_the_build_and_writes_a_missing_dockerfile(project: Path) -> None:
    folder = export_job(project / "fit.ipynb").folder
    assert not (folder / "Dockerfile").exists()
    done = nbmlops(project, "image", "jobs/fit", "--print", "--tag", "team/fit:1")
    assert done.returncode == 0, done.stderr
    assert "wrote jobs/fit/Dockerfile" in done.stdout
    assert done.stdout.splitlines()[-1].endswith(
        "build -f jobs/fit/Dockerfile -t team/fit:1 .")
    assert "image" in yaml.safe_load((folder / "job.yaml").read_text())["schedule"]["targets"]
    again = nbmlops(project, "image", "jobs/fit", "--print")
    assert "wrote" not in again.stdout and again.stdout.strip().endswith("-t fit:latest .")


def test_image_builds_where_a_container_engine_runs(project: Path) -> None:
    engine, why_not = image.container_engine()
    folder = export_job(project / "fit.ipynb", targets=["image"]).folder
    if engine is None:
        # no engine here: the command says how to build it elsewhere, and succeeds
        done = nbmlops(project, "image", "jobs/fit")
        assert done.returncode == 0 and "no container engine here" in done.stderr
        assert done.stdout.strip() == "docker build -f jobs/fit/Dockerfile -t fit:latest ."
        pytest.skip(f"the image was not built: no container engine ({why_not})")
    done = nbmlops(project, "image", str(folder), "--tag", "nbmlops-test-fit:latest")
    assert done.returncode == 0, done.stderr[-3000:]
    ran = subprocess.run([engine, "run", "--rm", "nbmlops-test-fit:latest", "id", "-u"],
                         capture_output=True, text=True, check=False)
    assert ran.stdout.strip() == str(image.USER_ID)


def test_export_cli_takes_the_airflow_operator(project: Path) -> None:
    done = nbmlops(project, "export", "fit.ipynb", "--schedule", "0 3 * * 1",
                   "--target", "airflow", "--airflow-operator", "kubernetes")
    assert done.returncode == 0, done.stderr
    folder = project / "jobs" / "fit"
    assert "KubernetesPodOperator" in (folder / "airflow_dag.py").read_text()
    assert (folder / "Dockerfile").is_file()
    bad = nbmlops(project, "export", "fit.ipynb", "--airflow-operator", "ssh")
    assert bad.returncode == 2 and "invalid choice: 'ssh'" in bad.stderr
    (folder / "job.yaml").write_text((folder / "job.yaml").read_text().replace(
        "airflow_operator: kubernetes", "airflow_operator: ssh"))
    bad = nbmlops(project, "export", "fit.ipynb")
    assert bad.returncode == 2 and "unknown Airflow operator 'ssh'" in bad.stderr
    assert os.listdir(folder / "..") == ["fit"]


def test_credentials_in_a_tracking_uri_stay_out_of_every_file(project: Path) -> None:
    folder = export_job(project / "fit.ipynb").folder
    (folder / "job.yaml").write_text((folder / "job.yaml").read_text().replace(
        "tracking_uri: null", "tracking_uri: https://alice:s3cret-token@mlflow.example.com"))
    export_job(project / "fit.ipynb", cron="0 3 * * 1",
               targets=["cron", "airflow", "kubernetes", "github"])
    for path in folder.iterdir():
        if path.is_file() and path.name != "job.yaml":  # job.yaml holds what the user wrote
            assert "s3cret" not in path.read_text(), path.name
    assert "https://mlflow.example.com" in (folder / "airflow_dag.py").read_text()
    assert "https://mlflow.example.com" in (folder / "cronjob.yaml").read_text()
