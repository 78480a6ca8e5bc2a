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


def wait_for_image(page: Any, image: Any) -> int:
    """The natural width of ``image`` once the browser has decoded it."""
    image.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=image.element_handle())
    return int(image.evaluate("img => img.naturalWidth"))


def contrast(page: Any, selector: str) -> float:
    """WCAG contrast ratio of an element's text against the background it is drawn on (its
    own, else the nearest ancestor's that is not transparent)."""
    return float(page.evaluate("""selector => {
        const el = document.querySelector(selector);
        const rgb = c => c.match(/[\\d.]+/g).map(Number);
        let node = el, bg = null;
        while (node && !bg) {
            const c = rgb(getComputedStyle(node).backgroundColor);
            if (c.length < 4 || c[3] > 0) { bg = c; }
            node = node.parentElement;
        }
        const lum = c => {
            const [r, g, b] = c.slice(0, 3).map(v => {
                v /= 255;
                return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
            });
            return 0.2126 * r + 0.7152 * g + 0.0722 * b;
        };
        const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(bg)];
        return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    }""", selector))


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
    # The figure the cell drew, fetched from MLflow's artifacts, and enlarged on a click.
    figure = details.get_by_label("Figures").locator("img")
    assert wait_for_image(page, figure) > 100
    assert "loss-curve" in details.get_by_label("Figures").inner_text()
    page.screenshot(path=str(screenshots / "run-details.png"))
    details.get_by_label("Enlarge loss-curve").click()
    page.get_by_role("dialog", name="loss-curve").wait_for()
    page.keyboard.press("Escape")
    assert page.get_by_role("dialog", name="loss-curve").count() == 0
    sidebar.get_by_label("Back to runs").click()

    # Three runs selected: a column each, figures side by side.
    boxes = sidebar.locator(".jp-nbmlops-run input[type=checkbox]")
    for i in range(3):
        boxes.nth(i).check()
    compare = sidebar.get_by_label("Compare the 3 selected runs")
    assert compare.is_enabled()
    compare.click()
    diff = sidebar.locator(".jp-nbmlops-diff")
    diff.wait_for()
    assert diff.locator(".jp-nbmlops-title").inner_text() == "Compare 3 runs"
    params = diff.get_by_label("Parameters that differ").inner_text()
    assert "lr" in params and "0.5" in params and "0.1" in params and "0.02" in params
    assert diff.locator(".jp-mod-best").count() >= 1  # the better loss is marked
    assert "+lr = 0.02" in diff.locator(".jp-nbmlops-udiff").last.inner_text()
    images = diff.get_by_label("Figures").locator("img")
    images.nth(2).wait_for()
    assert [wait_for_image(page, images.nth(i)) > 100 for i in range(3)] == [True] * 3
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
    # A ticked row stays readable: WCAG AA asks 4.5:1 for text this size.
    page.locator("#nbmlops-sidebar .jp-nbmlops-run input[type=checkbox]").first.check()
    selected = "#nbmlops-sidebar .jp-nbmlops-run.jp-mod-selected .jp-nbmlops-run-name"
    page.wait_for_selector(selected)
    assert contrast(page, selected) >= 4.5
    page.screenshot(path=str(screenshots / "runs-dark.png"))
    page.locator("#nbmlops-sidebar .jp-nbmlops-run-open").nth(1).click()
    page.locator("#nbmlops-sidebar .jp-nbmlops-details").wait_for()
    assert contrast(page, "#nbmlops-sidebar .jp-nbmlops-title") >= 4.5
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


def papermill_runs(lab: Lab, name: str, cells: list[Any], *values: str) -> None:
    """``notebooks/NAME.ipynb`` of ``cells`` executed by papermill once per value of its
    ``lr`` parameter (or once), its runs uploaded to the project's store."""
    import os
    import subprocess
    import sys

    import nbformat

    notebook = lab.project.root / "notebooks" / f"{name}.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, notebook)
    env = {k: v for k, v in os.environ.items()
           if k not in ("MLFLOW_TRACKING_URI", "NBMLOPS_SPOOL", "NBMLOPS_NOTEBOOK")}
    for lr in values or (None,):
        subprocess.run(
            [sys.executable, "-m", "papermill", notebook,
             notebook.with_name(f"out-{name}-{lr}.ipynb"), *(["-p", "lr", lr] if lr else []),
             "--cwd", notebook.parent, "--log-level", "WARNING"],
            check=True, env={**env, "NBMLOPS_AUTOSYNC": "0"},
        )
    assert worker.drain(lab.project.spool, timeout=90).ok


def test_the_runs_of_one_papermill_execution_are_one_group(
    page: Any, lab: Lab, screenshots: Path
) -> None:
    import nbformat

    parameters = nbformat.v4.new_code_cell("lr = 0.1\nseed = 1")
    parameters.metadata["tags"] = ["parameters"]
    cell = nbformat.v4.new_code_cell
    papermill_runs(lab, "sweep", [cell("%load_ext nbmlops"), parameters,
                                  cell("%%track prepare\nrows = 100 * seed"),
                                  cell("%%track fit\naccuracy = 0.9 + lr / 10")], "0.3", "0.7")

    page.goto(f"{lab.url}/lab/tree/notebooks/sweep.ipynb?token={lab.token}&reset")
    page.wait_for_selector(".jp-Notebook .jp-Cell", state="visible", timeout=60_000)
    page.click('li.lm-TabBar-tab[data-id="nbmlops-sidebar"]')
    widen_left_panel(page, 430)
    groups = page.locator("#nbmlops-sidebar .jp-nbmlops-group")
    groups.nth(1).wait_for()
    assert groups.count() == 2
    newest = groups.nth(0)
    # The execution's own parameter on its heading, its two cells' runs under it.
    assert "lr=0.7" in newest.locator(".jp-nbmlops-group-params").inner_text()
    assert newest.locator(".jp-nbmlops-run-name").all_inner_texts() == ["fit", "prepare"]
    # Each run tells itself apart from the other runs of its cell.
    assert "lr=0.7" in newest.locator(".jp-nbmlops-run-params").first.inner_text()
    assert "lr=0.3" in groups.nth(1).locator(".jp-nbmlops-group-params").inner_text()
    page.screenshot(path=str(screenshots / "groups.png"))


def test_details_and_comparison_read_well_at_the_default_panel_width(
    page: Any, lab: Lab, screenshots: Path
) -> None:
    import nbformat

    data = lab.project.root / "notebooks" / "data"
    data.mkdir(exist_ok=True)
    (data / "wine.csv").write_text("alcohol,target\n13.2,0\n12.1,1\n")
    fit = ("%%track fit\nregularization_strength_of_the_model = {c}\nsolver = 'liblinear'\n"
           "rows = len(open('data/wine.csv').read().splitlines())\naccuracy = 0.8 + {c}\n"
           "import matplotlib.pyplot as plt\nplt.plot([1, {c}])\nplt.title('curve')\nplt.show()")
    papermill_runs(lab, "narrow", [nbformat.v4.new_code_cell("%load_ext nbmlops"),
                                   *(nbformat.v4.new_code_cell(fit.format(c=c))
                                     for c in (0.01, 0.1))])
    page.goto(f"{lab.url}/lab/tree/notebooks/narrow.ipynb?token={lab.token}&reset")
    page.wait_for_selector(".jp-Notebook .jp-Cell", state="visible", timeout=60_000)
    page.click('li.lm-TabBar-tab[data-id="nbmlops-sidebar"]')  # as JupyterLab sizes it
    sidebar = page.locator("#nbmlops-sidebar")
    sidebar.locator(".jp-nbmlops-run").nth(1).wait_for()
    right = sidebar.bounding_box()["x"] + sidebar.bounding_box()["width"]

    def fits(locator: Any) -> bool:  # its text within its own box: not spilling, not cut
        return bool(locator.evaluate(
            "e => e.scrollWidth <= e.clientWidth + 1 && e.scrollHeight <= e.clientHeight + 1"))

    for button in sidebar.locator(".jp-nbmlops-header-actions button").all():
        assert fits(button), button.inner_text()
    sidebar.locator(".jp-nbmlops-run-open").first.click()
    details = sidebar.locator(".jp-nbmlops-details")
    params = details.get_by_label("Parameters")
    params.wait_for()
    # What differs shows; `solver`, the same in both runs, is folded: unfold it to measure.
    assert params.locator("> table th").all_inner_texts() == [
        "regularization_strength_of_the_model"]
    params.locator("summary").click()
    for cell in params.locator("td").all():  # each value on one line, none a letter wide
        box = cell.bounding_box()
        line = cell.evaluate("e => 2 * parseFloat(getComputedStyle(e).fontSize)")
        assert box["height"] < line and box["width"] > 60, (cell.inner_text(), box)
    key = params.locator("th", has_text="regularization")
    assert key.get_attribute("title") == "regularization_strength_of_the_model"
    file = details.get_by_label("Data").locator("tbody th").first
    assert file.inner_text() == "…/wine.csv"
    assert file.get_attribute("title") == "notebooks/data/wine.csv"  # named in the project
    page.screenshot(path=str(screenshots / "run-details-narrow.png"))
    sidebar.get_by_label("Back to runs").click()

    boxes = sidebar.locator(".jp-nbmlops-run input[type=checkbox]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    sidebar.get_by_label("Compare the 2 selected runs").click()
    diff = sidebar.locator(".jp-nbmlops-diff")
    fingerprints = diff.get_by_label("Data").locator("tbody td code")
    fingerprints.nth(1).wait_for()
    first, second = (fingerprints.nth(i).bounding_box() for i in (0, 1))
    # In view, not pushed out by a long path, and apart.
    assert first["x"] + first["width"] <= min(right, second["x"]), (first, second, right)
    assert "…/wine.csv" in diff.get_by_label("Data").inner_text()
    for cell in diff.get_by_label("Figures").locator("td").all():  # each within its column
        image = cell.locator("img")
        wait_for_image(page, image)
        box, inner = cell.bounding_box(), image.bounding_box()
        assert inner["x"] + inner["width"] <= box["x"] + box["width"] + 1, (inner, box)
    page.screenshot(path=str(screenshots / "diff-narrow.png"))


def test_jobs_view_runs_a_job_and_mlflow_opens_at_one_click(
    page: Any, lab: Lab, screenshots: Path
) -> None:
    import shutil

    from nbmlops.jobs.export.folder import export_job

    notebook = lab.project.root / "notebooks" / "daily.ipynb"
    shutil.copy(lab.project.root / lab.project.notebook, notebook)
    export_job(notebook, name="daily", cron="0 6 * * *", force=True)

    page.goto(f"{lab.url}/lab/tree/notebooks/daily.ipynb?token={lab.token}&reset")
    page.wait_for_selector(".jp-Notebook .jp-Cell", state="visible", timeout=60_000)
    page.click('li.lm-TabBar-tab[data-id="nbmlops-sidebar"]')
    widen_left_panel(page, 430)
    sidebar = page.locator("#nbmlops-sidebar")
    # The first request of the server pays MLflow's import: on a busy machine, seconds.
    page.wait_for_function("() => document.querySelector('#nbmlops-sidebar .jp-nbmlops-experiment')"
                           "?.textContent.includes('daily.ipynb')", timeout=120_000)
    sidebar.get_by_label("Jobs of this notebook").click()
    job = sidebar.get_by_label("Job daily")
    job.wait_for()
    assert "At 06:00 AM" in job.inner_text() and "not installed" in job.inner_text()
    assert "Never run." in job.inner_text()

    job.get_by_label("Run daily now").click()
    assert "daily: started" in sidebar.locator(".jp-nbmlops-job-message").inner_text()
    runs = job.get_by_label("Last runs of daily")
    runs.locator("li").first.wait_for(timeout=180_000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('#nbmlops-sidebar .jp-nbmlops-job-runs li')]"
        ".some(li => li.textContent.includes('finished'))", timeout=180_000)
    page.screenshot(path=str(screenshots / "jobs.png"))
    # The output notebook opens in JupyterLab.
    job.get_by_label("Open the output notebook of daily run", exact=False).first.click()
    page.locator(".lm-TabBar-tab", has_text="daily-").first.wait_for()
    # The sidebar follows the output notebook: it shows the job's runs, not "No runs yet".
    page.wait_for_function("() => document.querySelector('#nbmlops-sidebar .jp-nbmlops-notebook')"
                           "?.textContent.startsWith('daily-')")
    sidebar.locator(".jp-nbmlops-group").first.wait_for(timeout=60_000)
    assert "No runs yet" not in sidebar.inner_text()
    assert "job daily" in sidebar.locator(".jp-nbmlops-group-head").first.inner_text()
    assert "runs from notebooks/daily.ipynb" in sidebar.locator(
        ".jp-nbmlops-experiment").inner_text()
    page.screenshot(path=str(screenshots / "job-output-runs.png"))

    # Back to the notebook and its runs: the job's run heads its cells' runs.
    page.locator(".lm-TabBar-tab", has_text="daily.ipynb").first.click()
    page.wait_for_function("() => document.querySelector('#nbmlops-sidebar .jp-nbmlops-notebook')"
                           "?.textContent === 'daily.ipynb'")
    group = sidebar.locator(".jp-nbmlops-group").first
    group.wait_for()
    page.wait_for_function(
        "() => document.querySelector('#nbmlops-sidebar .jp-nbmlops-group')"
        "?.textContent.includes('job daily')", timeout=60_000)
    assert group.locator(".jp-nbmlops-run-name").all_inner_texts() == ["evaluate", "fit"]

    # No MLflow UI configured: the first "Open in MLflow" starts one for the store.
    group.locator(".jp-nbmlops-run-open").nth(1).click()
    details = sidebar.locator(".jp-nbmlops-details")
    details.wait_for()
    run_id = details.locator(".jp-nbmlops-title .jp-nbmlops-id").inner_text()  # 8 characters
    with page.context.expect_page(timeout=120_000) as opened:
        details.get_by_label("Open this run in the MLflow UI").click()
        # The server answers at once; the button says so until MLflow is up.
        details.get_by_text("Starting MLflow…").wait_for(timeout=30_000)
    mlflow = opened.value
    mlflow.wait_for_url("http://127.0.0.1:*/**workflowType=machine_learning*", timeout=120_000)
    try:
        mlflow.get_by_text(run_id).first.wait_for(timeout=60_000)
        # The run page itself, with the job's run as its parent.
        mlflow.get_by_text("Parent run", exact=True).first.wait_for(timeout=60_000)
        assert "daily" in mlflow.locator("main").inner_text()
        mlflow.wait_for_timeout(500)
    finally:
        mlflow.screenshot(path=str(screenshots / "mlflow-managed.png"))
    nav = "\n".join(mlflow.locator("nav").all_inner_texts())
    assert "Models" in nav and "Evaluation runs" not in nav
    mlflow.close()
    # The link is known now: it is a plain link to the managed UI.
    assert details.locator("a[aria-label='Open this run in the MLflow UI']").count() == 0 or (
        "127.0.0.1" in (details.locator("a.jp-nbmlops-link").get_attribute("href") or ""))


def test_jobs_view_draws_a_pipeline_with_each_steps_last_status(
    page: Any, lab: Lab, screenshots: Path
) -> None:
    import os
    import subprocess
    import sys

    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    from nbmlops.jobs.export.pipeline import export_pipeline

    folder = lab.project.root / "pipeline"
    folder.mkdir()
    for name, code in (
        ("prep", "import pandas as pd\n"
                 "pd.DataFrame({'x': [1, 2]}).to_csv('prepared.csv', index=False)"),
        ("report", "import pandas as pd\ntotal = pd.read_csv('prepared.csv').x.sum()"),
    ):
        nb = new_notebook(metadata={"kernelspec": {  # else JupyterLab asks for a kernel
            "name": "python3", "display_name": "Python 3", "language": "python"}})
        nb.cells = [new_code_cell(code)]
        nbformat.write(nb, folder / f"{name}.ipynb")
    job = export_pipeline([folder / "prep.ipynb", folder / "report.ipynb"], name="weekly").folder
    # Run as the lab's own project would: its store and spool from its pyproject.toml.
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "NBMLOPS_SPOOL")}
    done = subprocess.run([str(Path(sys.executable).with_name("nbmlops")), "run", str(job)],
                          cwd=lab.project.root, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]

    page.goto(f"{lab.url}/lab/tree/pipeline/report.ipynb?token={lab.token}&reset")
    page.wait_for_selector(".jp-Notebook .jp-Cell", state="visible", timeout=60_000)
    page.click('li.lm-TabBar-tab[data-id="nbmlops-sidebar"]')
    widen_left_panel(page, 430)
    sidebar = page.locator("#nbmlops-sidebar")
    page.wait_for_function("() => document.querySelector('#nbmlops-sidebar .jp-nbmlops-experiment')"
                           "?.textContent.includes('report.ipynb')", timeout=120_000)
    # The pipeline's runs went to experiment pipeline/jobs/weekly: the notebook lists its step.
    step = sidebar.locator(".jp-nbmlops-group-head", has_text="pipeline step report")
    step.wait_for(timeout=60_000)
    assert "No runs yet" not in sidebar.inner_text()
    sidebar.get_by_label("Jobs of this notebook").click()
    graph = sidebar.get_by_label("Steps of weekly")
    graph.wait_for(timeout=60_000)
    assert graph.locator("rect.jp-nbmlops-pipeline-step").count() == 2
    assert graph.locator("line.jp-nbmlops-pipeline-edge").count() == 1  # prep -> report
    for name in ("prep", "report"):
        graph.locator(f"[aria-label='Step {name}: finished']").wait_for(timeout=60_000)
    # The run says what each step did, with its output notebook.
    steps = sidebar.locator(".jp-nbmlops-job-steps").first
    assert steps.locator(".jp-nbmlops-run-name").all_inner_texts() == ["prep", "report"]
    assert steps.get_by_label("Open the output notebook of weekly step report").count() == 1
    page.screenshot(path=str(screenshots / "pipeline.png"))


def test_models_view_shows_versions_aliases_and_the_champions_run(
    page: Any, lab: Lab, screenshots: Path
) -> None:
    import nbformat
    from tracked_project import run_and_upload

    from nbmlops.models import promotion

    fit = ("%%track fit --model clf=iris\nfrom sklearn.datasets import load_iris\n"
           "from sklearn.linear_model import LogisticRegression\n"
           "X, y = load_iris(return_X_y=True, as_frame=True)\n"
           "clf = LogisticRegression(max_iter={n}).fit(X, y)\naccuracy = clf.score(X, y)")
    path = lab.project.root / "notebooks" / "iris.ipynb"
    cells = [(fit.format(n=n), {}) for n in (5, 500)]
    assert run_and_upload(lab.project.root, path, lab.project.spool, cells) == 2
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(cells[-1][0])]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)
    promotion.promote(store.client(lab.project.tracking_uri), "iris", "2")

    page.goto(f"{lab.url}/lab/tree/notebooks/iris.ipynb?token={lab.token}&reset")
    page.wait_for_selector(".jp-Notebook .jp-Cell", state="visible", timeout=60_000)
    page.click('li.lm-TabBar-tab[data-id="nbmlops-sidebar"]')
    widen_left_panel(page, 430)
    sidebar = page.locator("#nbmlops-sidebar")
    # The run that trained the champion is marked in the list.
    sidebar.locator(".jp-nbmlops-alias.jp-mod-champion").first.wait_for()
    assert sidebar.locator(".jp-nbmlops-run").first.locator(
        ".jp-mod-champion").inner_text() == "★ champion iris v2"
    sidebar.get_by_label("Models of this notebook").click()
    model = sidebar.get_by_label("Model iris")
    model.wait_for()
    assert "2 versions · champion v2" in model.inner_text()
    v2 = model.get_by_label("iris version 2", exact=True)
    assert "★ champion" in v2.inner_text() and "accuracy" in v2.inner_text()
    # Its alias history: registered as challenger, then promoted to champion.
    assert "challenger: registered" in v2.inner_text()
    assert "champion: promoted" in v2.inner_text()
    page.screenshot(path=str(screenshots / "models.png"))
    v2.get_by_label("Show the run of iris version 2").click()
    sidebar.locator(".jp-nbmlops-details").wait_for()


PLOT_PAGE = """<!doctype html><html><body><div id="plot">waiting</div>
<script>document.getElementById('plot').textContent = 'drawn by its script';
try { parent.document.title = 'reached the lab'; } catch (e) {}</script></body></html>"""


def seed_prep_runs(lab: Lab) -> dict[str, str]:
    """``notebooks/prep.ipynb``: two runs of its ``fit`` cell (73 params, one differing; the
    second with an interactive figure), a reproduction of the first, and a pipeline's step
    run of it with its cell's run, in experiment ``jobs/weekly``, tagged as the pipeline
    tags them."""
    import nbformat

    client = MlflowClient(lab.project.tracking_uri)

    def experiment(name: str) -> str:
        found = client.get_experiment_by_name(name)
        return found.experiment_id if found else client.create_experiment(name)

    def run(where: str, name: str, tags: dict[str, str], params: dict[str, str],
            metrics: dict[str, float]) -> str:
        made = client.create_run(experiment(where), run_name=name, tags=tags)
        run_id = str(made.info.run_id)
        for key, value in params.items():
            client.log_param(run_id, key, value)
        for key, value in metrics.items():
            client.log_metric(run_id, key, value)
        client.set_terminated(run_id, "FINISHED")
        return run_id

    own = {store.SOURCE_NAME_TAG: "notebooks/prep.ipynb"}
    same = {f"pipe.pre.num.step{i:02d}": "StandardScaler()" for i in range(72)}
    ids = {"first": run("notebooks/prep.ipynb", "fit", own, {**same, "alpha": "0.1"},
                        {"rmse": 57.2, "r2": 0.41})}
    ids["repro"] = run("notebooks/prep.ipynb", "fit",
                       {**own, store.REPRODUCES_TAG: ids["first"]}, {**same, "alpha": "0.1"},
                       {"rmse": 57.2, "r2": 0.41})
    ids["second"] = run("notebooks/prep.ipynb", "fit", own, {**same, "alpha": "0.5"},
                        {"rmse": 55.8, "r2": 0.44})
    client.log_text(ids["second"], PLOT_PAGE, "figures/scatter.html")
    pipeline = run("jobs/weekly", "weekly 2026-12-06", {
        store.JOB_TAG: "weekly", store.SOURCE_NAME_TAG: "jobs/weekly"}, {}, {})
    job = {store.SOURCE_NAME_TAG: "jobs/weekly/prep.ipynb",
           store.SOURCE_NOTEBOOK_TAG: "notebooks/prep.ipynb"}
    ids["step"] = run("jobs/weekly", "prep", {
        **job, store.PIPELINE_TAG: "weekly", store.STEP_TAG: "prep",
        store.PARENT_RUN_TAG: pipeline}, {}, {})
    ids["step-cell"] = run("jobs/weekly", "fit", {**job, store.PARENT_RUN_TAG: ids["step"]},
                           {**same, "alpha": "0.2"}, {"rmse": 56.0, "r2": 0.43})
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("%load_ext nbmlops"),
                nbformat.v4.new_code_cell("%%track fit\nalpha = 0.5\nrmse = 55.8")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, lab.project.root / "notebooks" / "prep.ipynb")
    return ids


def test_pipeline_steps_reproductions_metrics_first_and_interactive_figures(
    page: Any, lab: Lab, screenshots: Path
) -> None:
    ids = seed_prep_runs(lab)
    page.goto(f"{lab.url}/lab/tree/notebooks/prep.ipynb?token={lab.token}&reset")
    page.wait_for_selector(".jp-Notebook .jp-Cell", state="visible", timeout=60_000)
    page.click('li.lm-TabBar-tab[data-id="nbmlops-sidebar"]')
    widen_left_panel(page, 430)
    sidebar = page.locator("#nbmlops-sidebar")
    sidebar.locator(".jp-nbmlops-run").first.wait_for(timeout=60_000)
    # The pipeline's step run, from experiment jobs/weekly, heads its cell's run.
    step = sidebar.locator(f'.jp-nbmlops-group[data-group="{ids["step"]}"]')
    assert "pipeline step prep" in step.locator(".jp-nbmlops-group-head").inner_text()
    assert step.locator(".jp-nbmlops-run").get_attribute("data-run-id") == ids["step-cell"]
    # The reproduction stands under the run it reproduces, not as a run of its own.
    first = sidebar.locator(f'.jp-nbmlops-run[data-run-id="{ids["first"]}"]')
    nested = first.locator(f'.jp-nbmlops-reproductions [data-run-id="{ids["repro"]}"]')
    assert "reproduction" in nested.inner_text()
    top = sidebar.locator(".jp-nbmlops-run-list > .jp-nbmlops-run")
    assert ids["repro"] not in [top.nth(i).get_attribute("data-run-id")
                                for i in range(top.count())]
    page.screenshot(path=str(screenshots / "pipeline-and-reproduction-runs.png"))

    sidebar.locator(f'.jp-nbmlops-run[data-run-id="{ids["second"]}"] '
                    '> .jp-nbmlops-run-open').click()
    details = sidebar.locator(".jp-nbmlops-details")
    details.locator('section[aria-label="Metrics"]').wait_for()
    titles = details.locator("section").evaluate_all(
        "sections => sections.map(s => s.getAttribute('aria-label'))")
    # What the run measured comes first: metrics, then the parameters, then its figures.
    assert titles.index("Metrics") < titles.index("Parameters") < titles.index("Figures")
    params = details.locator('section[aria-label="Parameters"]')
    # Only what differs from the cell's other runs shows; the 72 others are folded.
    assert params.locator("> table th").all_inner_texts() == ["alpha"]
    fold = params.locator("details.jp-nbmlops-same-params")
    assert "72 more" in fold.locator("summary").inner_text()
    assert not fold.locator("table").is_visible()
    # The interactive figure runs its script in a sandbox that cannot reach the lab.
    frame = details.locator("iframe.jp-nbmlops-figure-page")
    assert frame.get_attribute("sandbox") == "allow-scripts"
    drawn = page.frame_locator("#nbmlops-sidebar iframe.jp-nbmlops-figure-page")
    assert drawn.locator("#plot").inner_text() == "drawn by its script"
    assert page.title() != "reached the lab"
    page.screenshot(path=str(screenshots / "run-details-metrics-first.png"))


def test_a_renamed_notebook_keeps_its_runs(page: Any, lab: Lab, screenshots: Path) -> None:
    import nbformat

    cell = nbformat.v4.new_code_cell
    papermill_runs(lab, "churn", [cell("%load_ext nbmlops"),
                                  cell("%%track fit\naccuracy = 0.91")])
    folder = lab.project.root / "notebooks"
    # The executed notebook, with its status lines, renamed in a shell: `mv`.
    (folder / "out-churn-None.ipynb").rename(folder / "churn_v2.ipynb")
    (folder / "churn.ipynb").unlink()
    page.goto(f"{lab.url}/lab/tree/notebooks/churn_v2.ipynb?token={lab.token}&reset")
    page.wait_for_selector(".jp-Notebook .jp-Cell", state="visible", timeout=60_000)
    page.click('li.lm-TabBar-tab[data-id="nbmlops-sidebar"]')
    widen_left_panel(page, 430)
    sidebar = page.locator("#nbmlops-sidebar")
    sidebar.locator(".jp-nbmlops-run").first.wait_for(timeout=60_000)
    assert sidebar.locator(".jp-nbmlops-run-name").all_inner_texts() == ["fit"]
    header = sidebar.locator(".jp-nbmlops-experiment").inner_text()
    assert "churn_v2.ipynb" in header and "runs from notebooks/churn.ipynb" in header
    page.screenshot(path=str(screenshots / "renamed-notebook.png"))


def seed_search_runs(lab: Lab) -> dict[str, str]:
    """``notebooks/search.ipynb``: two runs of its ``tune`` cell, each a grid search that
    kept its five best candidates as nested runs, tagged as the upload tags them."""
    import nbformat

    client = MlflowClient(lab.project.tracking_uri)
    name = "notebooks/search.ipynb"
    found = client.get_experiment_by_name(name)
    experiment = found.experiment_id if found else client.create_experiment(name)
    own = {store.SOURCE_NAME_TAG: name}
    ids: dict[str, str] = {}
    for folds in (3, 4):
        parent = client.create_run(experiment, run_name="tune", tags=own).info.run_id
        client.log_param(parent, "folds", str(folds))
        client.log_param(parent, "search.best.max_depth", "3")
        client.log_metric(parent, "search.best_score", 0.95 - folds / 100)
        for rank in range(1, 6):
            child = client.create_run(experiment, run_name=f"search rank {rank}", tags={
                **own, store.PARENT_RUN_TAG: parent, store.CANDIDATE_OF_TAG: "search",
                store.CANDIDATE_RANK_TAG: str(rank)}).info.run_id
            client.log_param(child, "max_depth", str(2 + rank))
            client.log_metric(child, "mean_test_score", 0.95 - rank / 50)
            client.set_terminated(child, "FINISHED")
            ids[f"{folds}-{rank}"] = child
        client.set_terminated(parent, "FINISHED")
        ids[f"{folds}"] = parent
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("%load_ext nbmlops"),
                nbformat.v4.new_code_cell("%%track tune\nsearch.fit(X, y)")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, lab.project.root / "notebooks" / "search.ipynb")
    return ids


def test_a_searchs_candidates_fold_under_the_run_that_made_them(
    page: Any, lab: Lab, screenshots: Path
) -> None:
    ids = seed_search_runs(lab)
    page.goto(f"{lab.url}/lab/tree/notebooks/search.ipynb?token={lab.token}&reset")
    page.wait_for_selector(".jp-Notebook .jp-Cell", state="visible", timeout=60_000)
    page.click('li.lm-TabBar-tab[data-id="nbmlops-sidebar"]')
    widen_left_panel(page, 430)
    sidebar = page.locator("#nbmlops-sidebar")
    sidebar.locator(".jp-nbmlops-run").first.wait_for(timeout=60_000)
    # Only the search runs stand in the list; what tells them apart is the user's change.
    runs = sidebar.locator(".jp-nbmlops-run")
    assert [runs.nth(i).get_attribute("data-run-id") for i in range(runs.count())] == [
        ids["4"], ids["3"]]
    assert "folds=4" in runs.first.locator(".jp-nbmlops-run-params").inner_text()
    assert "max_depth" not in runs.first.locator(".jp-nbmlops-run-params").inner_text()
    # Folded under each: its five candidates, best first, with their settings and score.
    fold = runs.first.locator("details.jp-nbmlops-candidates")
    assert "search: 5 best candidates" in fold.locator("summary").inner_text()
    assert not fold.locator(".jp-nbmlops-candidate").first.is_visible()
    fold.locator("summary").click()
    rows = fold.locator(".jp-nbmlops-candidate")
    assert [rows.nth(i).get_attribute("data-run-id") for i in range(5)] == [
        ids[f"4-{rank}"] for rank in range(1, 6)]
    first = rows.first.inner_text()
    assert "#1" in first and "max_depth=3" in first and "mean_test_score" in first
    page.screenshot(path=str(screenshots / "search-candidates.png"))
    # The run's details list them too, open; a candidate opens as a run.
    runs.first.locator("> .jp-nbmlops-run-open").click()
    details = sidebar.locator(".jp-nbmlops-details")
    shown = details.locator('section[aria-label="Search candidates"] .jp-nbmlops-candidate')
    shown.first.wait_for()
    assert shown.count() == 5
    page.screenshot(path=str(screenshots / "search-candidates-details.png"))
    shown.nth(1).locator("button").click()
    details.locator("h2", has_text="search rank 2").wait_for()


SCORE = """%%track score
import nbmlops
from sklearn.datasets import load_iris
batch = load_iris(as_frame=True).frame.drop(columns="target").sample(120, random_state=1)
batch["petal length (cm)"] = batch["petal length (cm)"] + shift
champion = nbmlops.load_model("flowers@champion")
predictions = champion.predict(batch)"""


def test_monitor_view_shows_a_scoring_jobs_drift_alerts_and_retraining(
    page: Any, lab: Lab, screenshots: Path
) -> None:
    """A model trained and promoted in a notebook, a scoring job exported from another and run
    twice by ``nbmlops run`` (real kernels), the second batch shifted: the Monitor view shows
    the champion, each column's drift over the two runs, the alert and the retraining its
    job run carries, and opens a scoring run in MLflow."""
    import json
    import os
    import subprocess
    import sys

    import nbformat
    from tracked_project import run_and_upload

    from nbmlops.jobs.export.folder import export_job
    from nbmlops.models import promotion

    root = lab.project.root
    fit = ("%%track fit --model clf=flowers\nfrom sklearn.datasets import load_iris\n"
           "from sklearn.linear_model import LogisticRegression\n"
           "X, y = load_iris(return_X_y=True, as_frame=True)\n"
           "clf = LogisticRegression(max_iter=500).fit(X, y)\naccuracy = clf.score(X, y)")
    assert run_and_upload(root, root / "notebooks" / "flowers.ipynb", lab.project.spool,
                          [(fit, {})]) == 1
    client = store.client(lab.project.tracking_uri)
    promotion.promote(client, "flowers", "1")

    cell = nbformat.v4.new_code_cell
    parameters = cell("shift = 0.0")
    parameters.metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook()
    nb.cells = [cell("%load_ext nbmlops"), parameters, cell(SCORE)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    notebook = root / "notebooks" / "score_flowers.ipynb"
    nbformat.write(nb, notebook)
    folder = export_job(notebook, name="score-flowers", force=True).folder
    with open(folder / "job.yaml", "a") as spec:
        spec.write("monitor:\n  model: flowers\n")
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "NBMLOPS_SPOOL")}
    for shift in ("0.0", "3.0"):
        done = subprocess.run([str(Path(sys.executable).with_name("nbmlops")), "run", str(folder),
                               "-p", "shift", shift], cwd=root, env=env, capture_output=True,
                              text=True, timeout=600, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
    monitored = subprocess.run([str(Path(sys.executable).with_name("nbmlops")), "monitor",
                                str(folder), "--format", "json"], cwd=root, env=env,
                               capture_output=True, text=True, timeout=300, check=False)
    assert monitored.returncode == 1, monitored.stderr  # the newest batch drifted
    found = json.loads(monitored.stdout)
    assert [r["drifted"] for r in found["runs"]] == [False, True]
    assert found["runs"][1]["drifted_columns"] == ["petal length (cm)"]
    # What the job's monitoring steps write on its run when drift alerts and retrains.
    job_run = found["runs"][1]["job_run_id"]
    client.set_tag(job_run, store.ALERTS_TAG, json.dumps([{
        "kind": "drift", "title": "flowers: petal length (cm) drifted", "deliveries": []}]))
    client.set_tag(job_run, store.RETRAIN_DECISION_TAG, "retrain")
    client.set_tag(job_run, store.RETRAIN_REASON_TAG, "drift on the last run")
    client.set_tag(job_run, store.RETRAIN_OUTCOME_TAG, "promoted flowers v2")

    page.goto(f"{lab.url}/lab/tree/notebooks/score_flowers.ipynb?token={lab.token}&reset")
    page.wait_for_selector(".jp-Notebook .jp-Cell", state="visible", timeout=60_000)
    page.click('li.lm-TabBar-tab[data-id="nbmlops-sidebar"]')
    widen_left_panel(page, 430)
    sidebar = page.locator("#nbmlops-sidebar")
    page.wait_for_function("() => document.querySelector('#nbmlops-sidebar .jp-nbmlops-experiment')"
                           "?.textContent.includes('score_flowers.ipynb')", timeout=120_000)
    sidebar.get_by_label("Monitoring of this notebook's jobs").click()
    job = sidebar.get_by_label("Monitoring of score-flowers")
    job.wait_for(timeout=60_000)
    assert "2 scoring runs · newest drifted · 1 open alert" in job.inner_text()
    assert job.locator(".jp-nbmlops-alias").inner_text() == "★ champion v1"
    alerts = job.get_by_label("Open alerts of score-flowers")
    assert "flowers: petal length (cm) drifted" in alerts.inner_text()
    retraining = job.get_by_label("Last retraining of score-flowers").inner_text()
    assert "drift on the last run" in retraining and "promoted flowers v2" in retraining
    # A line per column of the model's training data, the shifted one red where it drifted.
    drift = job.get_by_label("Drift per column of score-flowers")
    assert drift.locator("svg.jp-nbmlops-drift-line").count() == 4
    shifted = drift.locator("tr.jp-mod-drifted")
    assert shifted.locator("th").inner_text() == "petal length (cm)"
    assert shifted.locator("circle").count() == 1  # drifted in the second run only
    assert drift.locator("circle").count() == 1
    label = shifted.locator("svg").get_attribute("aria-label") or ""
    assert label.startswith("petal length (cm): wasserstein over 2 runs")
    runs = job.get_by_label("Scoring runs of score-flowers").locator("li")
    assert runs.count() == 2
    assert "drifted: petal length (cm)" in runs.first.inner_text()  # newest first
    assert "no drift" in runs.nth(1).inner_text() and "120 rows" in runs.nth(1).inner_text()
    page.screenshot(path=str(screenshots / "monitor.png"))

    # At the panel's narrowest usual width the table still fits: names cut, values shown.
    handle = page.locator("#jp-main-split-panel > .lm-SplitPanel-handle").first.bounding_box()
    page.mouse.move(handle["x"] + 2, handle["y"] + handle["height"] / 2)
    page.mouse.down()
    page.mouse.move(260, handle["y"] + handle["height"] / 2, steps=5)
    page.mouse.up()
    panel = sidebar.bounding_box()
    for value in drift.locator(".jp-nbmlops-drift-value").all():
        box = value.bounding_box()
        assert box["x"] + box["width"] <= panel["x"] + panel["width"] + 1, value.inner_text()

    # A scoring run opens in MLflow's UI, as a run of the Runs view does.
    newest = found["runs"][1]["run_id"]
    with page.context.expect_page(timeout=180_000) as opened:
        job.get_by_label(f"Open scoring run {newest[:8]} of score-flowers in the MLflow UI").click()
    mlflow = opened.value
    mlflow.wait_for_url(f"**/runs/{newest}**", timeout=180_000)
    mlflow.close()
