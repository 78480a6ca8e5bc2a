"""The Jobs view's endpoints (``jobs``, ``jobs/run``, ``jobs/schedule``) against a real server,
real job folders and the real crontab ("Open in MLflow" is in test_mlflow_ui.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError
from tracked_project import TrackedProject

from nbmlops.jobs.export.folder import export_job
from nbmlops.server.routes import PREFIX

Fetch = Callable[..., Awaitable[Any]]


async def call(jp_fetch: Fetch, path: str, body: dict[str, Any] | None = None,
               **params: str) -> tuple[int, Any]:
    try:
        response = await jp_fetch(*PREFIX.split("/"), *path.split("/"), params=params,
                                  method="POST" if body is not None else "GET",
                                  body=json.dumps(body) if body is not None else None,
                                  request_timeout=180)
    except HTTPClientError as e:
        return e.code, json.loads(e.response.body if e.response else b"{}")
    return response.code, json.loads(response.body)


@pytest.fixture
def exported(tracked: TrackedProject) -> tuple[str, Path]:
    """A copy of the tracked notebook in its own folder, exported as job ``weekly`` with a
    schedule; the notebook's path (server-relative) and the job folder."""
    where = tracked.root / f"jobs-{uuid.uuid4().hex[:8]}"
    where.mkdir()
    shutil.copy(tracked.root / tracked.notebook, where / "train.ipynb")
    result = export_job(where / "train.ipynb", name="weekly", cron="0 3 * * 1",
                        targets=["cron", "github"], force=True)
    return f"{where.name}/train.ipynb", result.folder


async def test_the_jobs_of_a_notebook(
    jp_fetch: Fetch, tracked: TrackedProject, exported: tuple[str, Path]
) -> None:
    notebook, folder = exported
    code, jobs = await call(jp_fetch, "jobs", notebook=notebook)
    assert code == 200
    [job] = jobs
    assert job["name"] == "weekly"
    assert job["folder"] == folder.relative_to(tracked.root).as_posix()
    assert job["schedule"]["cron"] == "0 3 * * 1"
    assert job["schedule"]["words"] == "At 03:00 AM, only on Monday"
    assert job["installed"] is False and job["next_run"] is None
    assert job["files"] == ["crontab.txt", "github-workflow.yml"]
    assert job["runs"] == [] and job["running"] is False
    # Another notebook's jobs are not this one's.
    code, jobs = await call(jp_fetch, "jobs", notebook=tracked.notebook)
    assert code == 200 and "weekly" not in [j["name"] for j in jobs]


@pytest.mark.parametrize(("body", "status", "error"), [
    ({"notebook": "../outside.ipynb", "job": "weekly"}, 403, "OutsideRoot"),
    ({"notebook": "NOTEBOOK", "job": "../../x"}, 400, "JobError"),
    ({"notebook": "NOTEBOOK", "job": "nightly"}, 400, "JobError"),
    ({"notebook": "NOTEBOOK", "job": "weekly", "parameters": {"nope": 1}}, 400, "JobError"),
    ({"notebook": "NOTEBOOK", "job": "weekly", "parameters": ["lr"]}, 400, "ConfigError"),
    ({"notebook": "NOTEBOOK"}, 400, "ConfigError"),
])
async def test_run_now_refuses_what_is_not_a_job_of_the_notebook(
    jp_fetch: Fetch, exported: tuple[str, Path], body: dict[str, Any], status: int, error: str
) -> None:
    notebook, folder = exported
    body = {k: (notebook if v == "NOTEBOOK" else v) for k, v in body.items()}
    code, answer = await call(jp_fetch, "jobs/run", body)
    assert (code, answer.get("error")) == (status, error), answer
    assert not (folder / "runs").exists()  # nothing started


async def test_a_jobs_folder_linked_from_outside_the_root_is_not_reached(
    jp_fetch: Fetch, tracked: TrackedProject, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    shutil.copy(tracked.root / tracked.notebook, outside / "train.ipynb")
    export_job(outside / "train.ipynb", name="escape", force=True)
    inside = tracked.root / f"linked-{uuid.uuid4().hex[:8]}"
    inside.mkdir()
    shutil.copy(tracked.root / tracked.notebook, inside / "train.ipynb")
    (inside / "jobs").symlink_to(outside / "jobs")
    notebook = f"{inside.name}/train.ipynb"
    assert (await call(jp_fetch, "jobs", notebook=notebook))[1] == []
    code, answer = await call(jp_fetch, "jobs/run", {"notebook": notebook, "job": "escape"})
    assert (code, answer["error"]) == (400, "JobError")


@pytest.mark.cron
async def test_install_and_remove_the_cron_schedule(
    jp_fetch: Fetch, exported: tuple[str, Path]
) -> None:
    if not shutil.which("crontab"):
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("crontab is required in CI")
        pytest.skip("no crontab")
    notebook, folder = exported
    code, answer = await call(jp_fetch, "jobs/schedule",
                              {"notebook": notebook, "job": "weekly", "install": True})
    try:
        assert code == 200 and "installed in the crontab" in answer["message"]
        assert str(folder) in subprocess.run(["crontab", "-l"], capture_output=True,
                                             text=True, check=True).stdout
        [job] = (await call(jp_fetch, "jobs", notebook=notebook))[1]
        assert job["installed"] is True and job["next_run"]
    finally:
        code, answer = await call(jp_fetch, "jobs/schedule",
                                  {"notebook": notebook, "job": "weekly", "install": False})
    assert code == 200 and "removed 1 crontab entry" in answer["message"]
    code, answer = await call(jp_fetch, "jobs/schedule",
                              {"notebook": notebook, "job": "weekly", "install": "yes"})
    assert (code, answer["error"]) == (400, "ConfigError")


@pytest.fixture
def labelled(tracked: TrackedProject) -> tuple[str, Path]:
    """A tiny job ``label`` with a str parameter, whose notebook writes it to a file."""
    import nbformat

    where = tracked.root / f"label-{uuid.uuid4().hex[:8]}"
    where.mkdir()
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("label = 'a'")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("open('label.txt', 'w').write(label)")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, str(where / "label.ipynb"))
    return f"{where.name}/label.ipynb", export_job(where / "label.ipynb", name="label",
                                                  force=True).folder


@pytest.mark.kernel
async def test_run_now_passes_any_value_and_refuses_what_cannot_run(
    jp_fetch: Fetch, labelled: tuple[str, Path]
) -> None:
    from nbmlops.server import jobs

    notebook, folder = labelled
    for value in ("a\x00b", "x" * 200_000):  # no command line carries them
        code, answer = await call(jp_fetch, "jobs/run", {"notebook": notebook, "job": "label",
                                                         "parameters": {"label": value}})
        assert (code, answer.get("error")) == (400, "JobError"), answer
        assert "\n" not in answer["message"]
    assert not (folder / "runs").exists()  # nothing started
    code, answer = await call(jp_fetch, "jobs/run", {"notebook": notebook, "job": "label",
                                                     "parameters": {"label": "--help"}})
    assert code == 200, answer
    assert jobs._started[folder].wait(timeout=300) == 0, (folder / jobs.RUN_NOW_LOG).read_text()
    assert (folder.parent.parent / "label.txt").read_text() == "--help"


async def test_the_monitoring_of_a_notebooks_jobs(
    jp_fetch: Fetch, tracked: TrackedProject, exported: tuple[str, Path]
) -> None:
    from mlflow import MlflowClient

    from nbmlops import config, store

    notebook, folder = exported
    code, answer = await call(jp_fetch, "monitor", notebook=notebook)
    assert code == 200 and answer["champion"] == store.CHAMPION
    [job] = answer["jobs"]
    assert (job["job"], job["model"], job["runs"], job["attention"]) == ("weekly", None, [], False)
    # A run of the job whose scoring cell drifted, tagged as the kernel and the job tag them.
    client = MlflowClient(tracked.tracking_uri)
    experiment = client.get_experiment_by_name(
        config.destination(tracked.root / notebook).experiment)
    ids = experiment.experiment_id if experiment else client.create_experiment(
        config.destination(tracked.root / notebook).experiment)
    parent = client.create_run(ids, tags={store.JOB_TAG: "weekly"}).info.run_id
    cell = client.create_run(ids, tags={
        store.PARENT_RUN_TAG: parent, store.SCORED_WITH_MODEL_TAG: "churn",
        store.SCORED_WITH_VERSION_TAG: "4", store.monitor_drifted_tag("churn"): "yes",
        store.monitor_columns_tag("churn"): "age"}).info.run_id
    client.log_metric(cell, "monitor.churn.age.wasserstein", 0.7)
    for run in (cell, parent):
        client.set_terminated(run)
    code, answer = await call(jp_fetch, "monitor", notebook=notebook)
    [job] = answer["jobs"]
    assert job["folder"] == folder.relative_to(tracked.root).as_posix()
    assert job["model"] == "churn" and job["champion"] is None  # not registered here
    assert [(r["run_id"], r["drifted"], r["drifted_columns"], r["experiment_id"])
            for r in job["runs"]] == [(cell, True, ["age"], ids)]
    assert job["columns"] == [{"column": "age", "statistic": "wasserstein", "values": [0.7],
                               "drifted": [True]}]
    assert job["attention"] is True
    # Another notebook has no such job; a notebook outside the root is refused.
    assert (await call(jp_fetch, "monitor", notebook=tracked.notebook))[1]["jobs"] == []
    code, refused = await call(jp_fetch, "monitor", notebook="../outside.ipynb")
    assert (code, refused["error"]) == (403, "OutsideRoot")
    code, refused = await call(jp_fetch, "monitor")
    assert (code, refused["error"]) == (400, "ConfigError")
