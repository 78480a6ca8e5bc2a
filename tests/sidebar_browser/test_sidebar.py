"""The MLOps sidebar in a real JupyterLab and a real Chromium: runs of the open notebook,
a run's details, a diff of two selected runs; screenshots in docs/screenshots/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient

from nbmlops import store
from nbmlops.sync import worker
from nbmlops.track.status_line import StatusLine

pytestmark = pytest.mark.browser

Lab = Any  # tests/browser/conftest.py's Lab: url, token, project (the names clash)


def open_notebook_with_sidebar(page: Any, lab: Lab) -> None:
    page.goto(f"{lab.url}/lab/tree/{lab.project.notebook}?token={lab.token}&reset")
    page.wait_for_selector(".jp-Notebook .jp-Cell", state="visible", timeout=60_000)
    page.click('li.lm-TabBar-tab[data-id="nbmlops-sidebar"]')
    page.wait_for_selector(".jp-nbmlops-run", state="visible")
    widen_left_panel(page, 430)


def widen_left_panel(page: Any, width: int) -> None:
    """Drag the splitter right of the left panel, as a user gives a side panel room."""
    handle = page.locator("#jp-main-split-panel > .lm-SplitPanel-handle").first
    box = handle.bounding_box()
    if box is None:
        return
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(box["x"] + width - 250, y, steps=5)
    page.mouse.up()


def test_sidebar_shows_runs_details_and_diff(page: Any, lab: Lab, screenshots: Path) -> None:
    open_notebook_with_sidebar(page, lab)
    sidebar = page.locator("#nbmlops-sidebar")
    assert sidebar.get_attribute("aria-label") == "MLOps runs of the active notebook"
    assert "train.ipynb" in sidebar.locator(".jp-nbmlops-notebook").inner_text()
    assert lab.project.notebook in sidebar.locator(".jp-nbmlops-experiment").inner_text()
    names = sidebar.locator(".jp-nbmlops-run-name").all_inner_texts()
    assert names == ["evaluate", "fit", "fit", "evaluate", "fit"]  # newest first
    assert "accuracy" in sidebar.locator(".jp-nbmlops-run").nth(1).inner_text()
    page.screenshot(path=str(screenshots / "runs.png"))

    # One tracked cell's runs.
    sidebar.get_by_label("Show the runs of one tracked cell").select_option("fit")
    page.wait_for_function(
        "document.querySelectorAll('#nbmlops-sidebar .jp-nbmlops-run').length === 3"
    )

    # A run's details: params, metrics with a sparkline, data fingerprints, code.
    sidebar.locator(".jp-nbmlops-run-open").first.click()
    details = sidebar.locator(".jp-nbmlops-details")
    details.wait_for()
    assert "lr" in details.get_by_label("Parameters").inner_text()
    assert "0.02" in details.get_by_label("Parameters").inner_text()
    sparkline = details.locator("svg.jp-nbmlops-sparkline")
    assert sparkline.count() == 1
    assert "loss: 6 steps" in (sparkline.get_attribute("aria-label") or "")
    data = details.get_by_label("Data").inner_text()
    assert "X" in data and "y" in data
    assert details.locator(".jp-nbmlops-data code").first.inner_text().isalnum()
    environment = details.get_by_label("Environment")
    assert "imported packages" in environment.inner_text()
    environment.locator("summary").click()
    assert "numpy" in environment.inner_text()
    environment.locator("summary").click()
    assert "lr = 0.02" in details.get_by_label("The cell's code").inner_text()
    page.screenshot(path=str(screenshots / "run-details.png"))
    sidebar.get_by_label("Back to runs").click()

    # Two runs selected: their diff.
    boxes = sidebar.locator(".jp-nbmlops-run input[type=checkbox]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    compare = sidebar.get_by_label("Compare the two selected runs")
    assert compare.is_enabled()
    compare.click()
    diff = sidebar.locator(".jp-nbmlops-diff")
    diff.wait_for()
    params = diff.get_by_label("Parameters that differ").inner_text()
    assert "lr" in params and "0.1" in params and "0.02" in params
    assert diff.locator(".jp-mod-best").count() >= 1  # the better loss is marked
    assert "+lr = 0.02" in diff.locator(".jp-nbmlops-udiff").inner_text()
    page.screenshot(path=str(screenshots / "diff.png"))


def test_palette_commands_and_dark_theme(page: Any, lab: Lab, screenshots: Path) -> None:
    open_notebook_with_sidebar(page, lab)
    for command in ("nbmlops:open-sidebar", "nbmlops:refresh", "nbmlops:compare-selected",
                    "nbmlops:spool-status", "nbmlops:export-job"):
        assert page.evaluate(f"window.jupyterapp.commands.hasCommand('{command}')"), command
    page.evaluate(
        "window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})"
    )
    page.wait_for_function("document.body.dataset.jpThemeLight === 'false'")
    page.locator("#nbmlops-sidebar .jp-nbmlops-run-open").nth(1).click()
    page.locator("#nbmlops-sidebar .jp-nbmlops-details").wait_for()
    # Readable: the run name's colour differs clearly from the panel's background.
    colors = page.evaluate("""() => {
        const panel = getComputedStyle(document.querySelector('#nbmlops-sidebar'));
        const title = getComputedStyle(document.querySelector('.jp-nbmlops-title'));
        return [panel.backgroundColor, title.color];
    }""")
    assert colors[0] != colors[1]
    page.wait_for_timeout(300)
    page.screenshot(path=str(screenshots / "run-details-dark.png"))
    page.evaluate(
        "window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})"
    )


def test_export_notebook_as_job_through_the_dialog(page: Any, lab: Lab) -> None:
    open_notebook_with_sidebar(page, lab)
    page.locator("#nbmlops-sidebar").get_by_label(
        "Export this notebook as a scheduled job").click()
    dialog = page.locator(".jp-Dialog")
    dialog.get_by_label("Job name").fill("../nightly")  # the server refuses it
    schedule = dialog.get_by_label("Schedule (cron)")
    schedule.fill("0 3 * * 1")
    assert dialog.locator(".jp-nbmlops-export-preview").inner_text() == (
        "At 03:00, only on Monday")
    dialog.get_by_label("Target").select_option("airflow")
    dialog.get_by_role("button", name="Export", exact=True).click()
    error = page.locator(".jp-Dialog .jp-nbmlops-export-error")
    assert "job name" in error.inner_text()  # shown in the dialog, opened again as typed
    assert dialog.get_by_label("Schedule (cron)").input_value() == "0 3 * * 1"
    dialog.get_by_label("Job name").fill("nightly")
    dialog.get_by_role("button", name="Export", exact=True).click()
    done = page.locator(".jp-nbmlops-export-done")
    assert "Job folder written: notebooks/jobs/nightly/" in done.inner_text()
    folder = lab.project.root / "notebooks" / "jobs" / "nightly"
    job = (folder / "job.yaml").read_text()
    assert "0 3 * * 1" in job and "airflow" in job
    assert (folder / "airflow_dag.py").is_file()
    page.locator(".jp-Dialog").get_by_role("button", name="Ok").click()


def test_sidebar_in_notebook_7(page: Any, lab: Lab, screenshots: Path) -> None:
    """Notebook 7 runs the same prebuilt extension: View → Left Sidebar shows the panel."""
    page.goto(f"{lab.url}/notebooks/{lab.project.notebook}?token={lab.token}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", state="visible", timeout=60_000)
    page.locator(".lm-MenuBar-itemLabel", has_text="View").click()
    page.locator(".lm-Menu-itemLabel", has_text="Left Sidebar").hover()
    page.locator(".lm-Menu-itemLabel", has_text="Show MLOps").click()
    sidebar = page.locator("#nbmlops-sidebar")
    sidebar.locator(".jp-nbmlops-run").first.wait_for()
    assert lab.project.notebook in sidebar.locator(".jp-nbmlops-experiment").inner_text()
    names = sidebar.locator(".jp-nbmlops-run-name").all_inner_texts()
    assert sorted(set(names)) == ["evaluate", "fit"]
    sidebar.locator(".jp-nbmlops-run-open").first.click()  # the newest run: evaluate
    params = sidebar.locator(".jp-nbmlops-details").get_by_label("Parameters")
    assert "threshold" in params.inner_text()
    page.screenshot(path=str(screenshots / "notebook7.png"))


def test_a_fresh_project_says_how_to_start(page: Any, lab: Lab, screenshots: Path) -> None:
    import nbformat

    root = lab.project.root / "fresh"
    root.mkdir(exist_ok=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'fresh'\n")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("%load_ext nbmlops"),
                nbformat.v4.new_code_cell("%%track train\naccuracy = 0.9")]
    # With its kernel named, JupyterLab opens it without asking which kernel to start.
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, root / "start.ipynb")

    page.goto(f"{lab.url}/lab/tree/fresh/start.ipynb?token={lab.token}&reset")
    page.wait_for_selector(".jp-Notebook .jp-Cell", state="visible", timeout=60_000)
    page.click('li.lm-TabBar-tab[data-id="nbmlops-sidebar"]')
    sidebar = page.locator("#nbmlops-sidebar")
    empty = sidebar.locator(".jp-nbmlops-empty")
    empty.wait_for()
    assert "%%track" in empty.inner_text() and "%load_ext nbmlops" in empty.inner_text()
    assert sidebar.locator(".jp-nbmlops-error").count() == 0
    # fresh/ is a project of its own: the experiment is named from its root
    assert sidebar.locator(".jp-nbmlops-experiment").inner_text().endswith(" start.ipynb")
    page.screenshot(path=str(screenshots / "fresh-project.png"))
    assert not (root / "mlflow.db").exists()


def test_a_status_line_link_opens_mlflow_on_the_run_in_model_training(
    chromium: Any, spool: Any, make_record: Any, mlflow_server: Any, screenshots: Path
) -> None:
    entry = make_record(mlflow_server.url, run_name="train-forest")
    record = spool.load(entry)
    assert worker.drain(spool, timeout=60).uploaded == 1
    line = StatusLine(record)
    line.receipt = spool.receipt(record.record_id)
    url = repr(line).rsplit(" ", 1)[-1]  # the link the status line shows
    assert url.endswith("?workflowType=machine_learning")
    experiment = MlflowClient(mlflow_server.url).get_experiment(line.receipt["experiment_id"])
    assert experiment.tags[store.EXPERIMENT_KIND_TAG] == store.EXPERIMENT_KIND_TRAINING

    def navigation(link: str, screenshot: str | None = None) -> list[str]:
        context = chromium.new_context(viewport={"width": 1440, "height": 900})
        try:
            page = context.new_page()
            page.goto(link)
            page.get_by_text("train-forest").first.wait_for(timeout=60_000)
            page.wait_for_timeout(1000)
            if screenshot:
                page.screenshot(path=str(screenshots / screenshot))
            return "\n".join(page.locator("nav").all_inner_texts()).splitlines()
        finally:
            context.close()

    # The model-training navigation (runs, models), not the GenAI one (traces, evaluation).
    nav = navigation(url, "mlflow-run.png")
    assert "Models" in nav and "Evaluation runs" not in nav
    # Without the view in the link, MLflow 3 opens the same run in its GenAI navigation.
    assert "Evaluation runs" in navigation(url.split("?")[0])
