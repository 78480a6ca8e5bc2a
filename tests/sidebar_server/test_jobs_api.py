"""The Jobs view's endpoints (``jobs``, ``jobs/run``, ``jobs/schedule``) and "Open in MLflow"
(``mlflow-ui``) against a real server, real job folders, the real crontab and a real
``mlflow ui``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psutil
import pytest
from tornado.httpclient import HTTPClientError
from tracked_project import TrackedProject

from nbmlops import config
from nbmlops.jobs.folder import export_job
from nbmlops.server.routes import PREFIX

Fetch = Callable[..., Awaitable[Any]]


async def call(jp_fetch: Fetch, path: str, body: dict[str, Any] | None = None,
               **params: str) -> tuple[int, Any]:
    try:
        # Starting `mlflow ui` takes seconds, more on a busy machine.
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


async def test_open_in_mlflow_starts_one_mlflow_ui_for_the_store(
    jp_fetch: Fetch, tracked: TrackedProject
) -> None:
    from nbmlops.server import mlflow_ui

    code, answer = await call(jp_fetch, "mlflow-ui", {}, notebook=tracked.notebook)
    try:
        assert code == 200, answer
        url = answer["url"]
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
            assert response.status == 200
        # A UI to read runs: no job runners (MLflow's GenAI scorer jobs) idling beside it.
        ui = psutil.Process(mlflow_ui._managed[tracked.tracking_uri].process.pid)
        started = [ui, *ui.children(recursive=True)]
        assert not [p.cmdline() for p in started if "huey" in " ".join(p.cmdline())]
        # Asked again: the same UI. The kernel's status lines now link there too.
        assert (await call(jp_fetch, "mlflow-ui", {}, notebook=tracked.notebook))[1] == answer
        assert config.ui_url(tracked.root, tracked.tracking_uri) == url
        info = (await call(jp_fetch, "notebook", notebook=tracked.notebook))[1]
        assert info["ui_url"] == url
    finally:
        mlflow_ui.stop_all()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/health", timeout=1)
        except OSError:
            break
        time.sleep(0.2)
    else:
        pytest.fail("mlflow ui still answers after the server stopped it")
    _, alive = psutil.wait_procs(started, timeout=15)
    assert alive == []  # nothing it started is left behind
    assert config.ui_url(tracked.root, tracked.tracking_uri) is None


async def test_open_in_mlflow_with_no_runs_yet_says_so(
    jp_fetch: Fetch, tracked: TrackedProject
) -> None:
    fresh = tracked.root / f"fresh-{uuid.uuid4().hex[:8]}"
    fresh.mkdir()
    (fresh / "pyproject.toml").write_text("[project]\nname = 'fresh'\n")
    (fresh / "a.ipynb").write_text(json.dumps(
        {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    code, answer = await call(jp_fetch, "mlflow-ui", {}, notebook=f"{fresh.name}/a.ipynb")
    assert (code, answer["error"]) == (404, "StoreNotFound")
    assert not (fresh / "mlflow.db").exists()


async def test_a_saved_link_to_a_run_outlives_the_mlflow_uis_port(
    jp_fetch: Fetch, jp_base_url: str, tracked: TrackedProject
) -> None:
    """A status line kept in a notebook links to the server's route for the store, which sends
    the browser to whichever UI serves it when the link is followed, on whatever port."""
    from mlflow import MlflowClient

    from nbmlops.server import mlflow_ui
    from nbmlops.sync.upload import receipt
    from nbmlops.track.status_line import render

    run = MlflowClient(tracked.tracking_uri).search_runs(["1"], max_results=1)[0]
    # What receipt() reads of the run's record.
    record: Any = SimpleNamespace(record_id="r1", tracking_uri=tracked.tracking_uri,
                                  project_root=str(tracked.root), experiment=tracked.notebook)
    try:
        code, answer = await call(jp_fetch, "mlflow-ui", {}, notebook=tracked.notebook)
        assert code == 200, answer
        first = answer["url"]
        # The receipt's link, and so the status line's, names the route, not the port.
        kept = receipt(record, "1", run.info.run_id)
        assert kept["url"].startswith(first)  # the address of the day, for a terminal
        link = kept["link"]
        assert link == (f"{jp_base_url}{PREFIX}/mlflow/mlflow.db/#/experiments/1/runs/"
                        f"{run.info.run_id}?workflowType=machine_learning")
        assert f'href="{link}"' in render(["train"], record.record_id, kept)[1]
        mlflow_ui.stop_all()  # Jupyter restarts: the UI is gone, its port with it

        route = link.split("#", 1)[0]  # a browser never sends the fragment
        page = await jp_fetch(*route.removeprefix(jp_base_url).strip("/").split("/"),
                              request_timeout=180)  # it starts `mlflow ui`: seconds
        body = page.body.decode()
        second = mlflow_ui._managed[tracked.tracking_uri].url  # started by the route
        assert f'location.replace("{second}/" + location.hash)' in body
        with urllib.request.urlopen(f"{second}/health", timeout=5) as response:
            assert response.status == 200
        # The UI reads the run's artifacts, which its store names relative to itself.
        assert run.info.artifact_uri.startswith("nbmlops-store:mlruns/")
        code_url = f"{second}/get-artifact?path=code/cell.py&run_uuid={run.info.run_id}"
        with urllib.request.urlopen(code_url, timeout=10) as response:
            assert response.read().strip()
        # A store outside the server's root, or none, or not a project's, is refused.
        (tracked.root / "other.db").write_bytes(b"")  # a file, not the project's store
        for bad, status in (("../elsewhere/mlflow.db", 403), ("nothing.db", 404),
                            ("other.db", 404)):
            with pytest.raises(HTTPClientError) as refused:
                await jp_fetch(*PREFIX.split("/"), "mlflow", *bad.split("/"))
            assert refused.value.code == status
    finally:
        mlflow_ui.stop_all()
        (tracked.root / "other.db").unlink(missing_ok=True)


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
