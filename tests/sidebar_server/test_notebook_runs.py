"""A notebook's runs wherever they went: its jobs' and pipeline steps' (in the job's
experiment, tagged with the notebook), a job output's, and a renamed notebook's (named by
its saved status lines). Real handlers over a real sqlite store; the runs are created with
MLflow's client carrying the tags ``nbmlops run`` writes (tests/test_pipelines.py checks
that the pipeline writes them)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest
from tornado.httpclient import HTTPClientError

from nbmlops import store
from nbmlops.server.routes import PREFIX

Fetch = Any
SOURCE_NOTEBOOK_TAG = "nbmlops.source_notebook"  # what `nbmlops run` tags job runs with


async def get(jp_fetch: Fetch, *path: str, **params: Any) -> Any:
    try:
        response = await jp_fetch(*PREFIX.split("/"), *path, params=params, method="GET")
    except HTTPClientError as e:
        body = e.response.body.decode() if e.response else ""
        raise AssertionError(f"{e.code} {body}") from None
    return json.loads(response.body)


@pytest.fixture
def project(tmp_path: Path, migrated_db: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    shutil.copy(migrated_db, root / "mlflow.db")
    return root


@pytest.fixture
def jp_root_dir(project: Path) -> Path:
    return project


class Runs:
    """Runs made in the project's store as nbmlops makes them (tags, experiments)."""

    def __init__(self, root: Path) -> None:
        from mlflow import MlflowClient

        self.client = MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
        self.clock = int(time.time() * 1000) - 100_000

    def experiment(self, name: str) -> str:
        found = self.client.get_experiment_by_name(name)
        return found.experiment_id if found else self.client.create_experiment(name)

    def run(self, experiment: str, name: str, tags: dict[str, str],
            metrics: dict[str, float] | None = None) -> str:
        self.clock += 1000  # each run newer than the one before
        run = self.client.create_run(self.experiment(experiment), start_time=self.clock,
                                     run_name=name, tags=tags)
        for key, value in (metrics or {}).items():
            self.client.log_metric(run.info.run_id, key, value)
        self.client.set_terminated(run.info.run_id, "FINISHED", end_time=self.clock + 500)
        return str(run.info.run_id)


def notebook(path: Path, run_ids: list[str], record_ids: tuple[str, ...] = ()) -> None:
    """A notebook whose tracked cell's saved outputs hold status lines naming ``run_ids``,
    and lines saved before the upload naming only ``record_ids`` (as papermill saves them)."""
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("%%track fit\nscore = 1.0")
    cell.outputs = [nbformat.v4.new_output(
        "display_data", data={"text/plain": f"nbmlops ▸ fit · synced: run {r[:8]}"},
        metadata={"nbmlops": {"record_id": "r" + r[:6], "run_id": r}}) for r in run_ids]
    cell.outputs += [nbformat.v4.new_output(
        "display_data", data={"text/plain": f"nbmlops ▸ fit · waiting to sync · record {r}"},
        metadata={"nbmlops": {"record_id": r}}) for r in record_ids]
    nb.cells = [cell]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))


def pipeline(runs: Runs) -> dict[str, str]:
    """A pipeline run of prep.ipynb and train_ridge.ipynb into ``jobs/weekly``, as
    ``nbmlops run`` records it."""
    parent = runs.run("jobs/weekly", "weekly 2026", {store.JOB_TAG: "weekly",
                                                     store.SOURCE_NAME_TAG: "jobs/weekly"})
    ids = {"pipeline": parent}
    for step in ("prep", "train_ridge"):
        origin = f"{step}.ipynb"
        ids[step] = runs.run("jobs/weekly", step, {
            store.PIPELINE_TAG: "weekly", store.STEP_TAG: step, store.PARENT_RUN_TAG: parent,
            store.SOURCE_NAME_TAG: f"jobs/weekly/{origin}", SOURCE_NOTEBOOK_TAG: origin})
        ids[f"{step}-cell"] = runs.run("jobs/weekly", step, {
            store.PARENT_RUN_TAG: ids[step], store.SOURCE_NAME_TAG: f"jobs/weekly/{origin}",
            SOURCE_NOTEBOOK_TAG: origin}, {"rmse": 55.8})
    return ids


def ids(page: dict[str, Any]) -> list[str]:
    return [r["run_id"] for r in page["runs"]]


async def test_pipeline_runs_are_listed_under_their_source_notebooks(
    jp_fetch: Fetch, project: Path
) -> None:
    runs = Runs(project)
    made = pipeline(runs)
    notebook(project / "prep.ipynb", [])
    notebook(project / "train_ridge.ipynb", [])
    page = await get(jp_fetch, "runs", notebook="prep.ipynb")
    assert ids(page) == [made["prep-cell"], made["prep"]]  # newest first
    assert page["experiment"]["name"] == "jobs/weekly"
    step = page["runs"][1]
    assert step["step"] == "prep" and step["group"] == made["pipeline"]
    page = await get(jp_fetch, "runs", notebook="train_ridge.ipynb")
    assert ids(page) == [made["train_ridge-cell"], made["train_ridge"]]


async def test_job_runs_merge_with_the_notebooks_own_runs_in_order_and_by_page(
    jp_fetch: Fetch, project: Path
) -> None:
    runs = Runs(project)
    notebook(project / "prep.ipynb", [])
    own = lambda n: runs.run("prep.ipynb", "prep", {  # noqa: E731
        store.SOURCE_NAME_TAG: "prep.ipynb"}, {"rmse": n})
    first, made, last = own(60.0), pipeline(runs), own(50.0)
    runs.run("other.ipynb", "x", {store.SOURCE_NAME_TAG: "other.ipynb"})  # not prep's
    expected = [last, made["prep-cell"], made["prep"], first]
    page = await get(jp_fetch, "runs", notebook="prep.ipynb")
    assert ids(page) == expected
    assert page["experiment"]["name"] == "prep.ipynb"
    seen: list[str] = []
    token = None
    for _ in range(5):
        args = {"page_size": "1", **({"page_token": token} if token else {})}
        page = await get(jp_fetch, "runs", notebook="prep.ipynb", **args)
        seen += ids(page)
        token = page["next_page_token"]
        if not token:
            break
    assert seen == expected
    best = await get(jp_fetch, "runs", notebook="prep.ipynb", order_by="metrics.rmse ASC")
    assert ids(best) == [last, made["prep-cell"], first, made["prep"]]  # no rmse: last
    cell = await get(jp_fetch, "runs", notebook="prep.ipynb", filter="metrics.rmse < 56")
    assert ids(cell) == [last, made["prep-cell"]]


async def test_a_job_output_notebook_shows_the_jobs_runs(
    jp_fetch: Fetch, project: Path
) -> None:
    runs = Runs(project)
    made = pipeline(runs)
    output = "jobs/weekly/runs/weekly-20261206T101010Z-prep.ipynb"
    notebook(project / output, [made["prep-cell"]])
    page = await get(jp_fetch, "runs", notebook=output)
    assert made["prep-cell"] in ids(page)
    assert page["experiment"]["name"] == "jobs/weekly"


async def test_an_output_saved_before_the_upload_finds_its_runs_by_record(
    jp_fetch: Fetch, project: Path
) -> None:
    runs = Runs(project)
    made = runs.run("jobs/weekly", "prep", {store.SOURCE_NAME_TAG: "jobs/weekly/prep.ipynb",
                                            store.RECORD_ID_TAG: "rec-1"})
    output = "jobs/weekly/runs/weekly-20261206T101010Z.ipynb"
    notebook(project / output, [], ("rec-1", "rec-never-uploaded"))
    page = await get(jp_fetch, "runs", notebook=output)
    assert ids(page) == [made]


async def test_a_renamed_notebook_keeps_its_runs(jp_fetch: Fetch, project: Path) -> None:
    runs = Runs(project)
    old = [runs.run("train.ipynb", "fit", {store.SOURCE_NAME_TAG: "train.ipynb"})
           for _ in range(2)]
    runs.run("train.ipynb", "x", {store.SOURCE_NAME_TAG: "elsewhere.ipynb"})  # shares it
    notebook(project / "train.ipynb", old[-1:])
    # mv train.ipynb train_v2.ipynb, in a shell or in JupyterLab: the file is the same.
    (project / "train.ipynb").rename(project / "train_v2.ipynb")
    page = await get(jp_fetch, "runs", notebook="train_v2.ipynb")
    assert ids(page) == old[::-1]  # every run of the old name, not only the one named
    # After the rename, new runs go to the new name's experiment: both are listed.
    new = runs.run("train_v2.ipynb", "fit", {store.SOURCE_NAME_TAG: "train_v2.ipynb"})
    page = await get(jp_fetch, "runs", notebook="train_v2.ipynb")
    assert ids(page) == [new, *old[::-1]]
    assert page["experiment"]["name"] == "train_v2.ipynb"


async def test_outputs_naming_runs_that_are_gone_change_nothing(
    jp_fetch: Fetch, project: Path
) -> None:
    notebook(project / "a.ipynb", ["0" * 32, "not an id!"])
    page = await get(jp_fetch, "runs", notebook="a.ipynb")
    assert page["runs"] == [] and page["experiment"] is None
    (project / "broken.ipynb").write_text(json.dumps({"cells": [{"outputs": 3}]}))
    page = await get(jp_fetch, "runs", notebook="broken.ipynb")
    assert page["runs"] == []


async def test_an_interactive_figure_is_served_and_listed_apart_from_images(
    jp_fetch: Fetch, project: Path
) -> None:
    runs = Runs(project)
    notebook(project / "a.ipynb", [])
    run_id = runs.run("a.ipynb", "fit", {store.SOURCE_NAME_TAG: "a.ipynb"})
    page = "<html><body><script>1</script></body></html>"
    runs.client.log_text(run_id, page, "figures/scatter.html")
    runs.client.log_text(run_id, page, "report.html")  # not a figure
    details = await get(jp_fetch, "runs", run_id, notebook="a.ipynb")
    assert details["figure_pages"] == ["figures/scatter.html"] and details["images"] == []
    response = await jp_fetch(*PREFIX.split("/"), "runs", run_id, "image", method="GET",
                              params={"notebook": "a.ipynb", "path": "figures/scatter.html"})
    assert response.body.decode() == page
    assert response.headers["Content-Type"] == "text/html"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    with pytest.raises(HTTPClientError) as refused:
        await jp_fetch(*PREFIX.split("/"), "runs", run_id, "image", method="GET",
                       params={"notebook": "a.ipynb", "path": "report.html"})
    assert refused.value.code == 400
