"""Screenshots of the compare panel for the README, as JupyterLab shows it in a real Chromium.

    pip install -e '.[docs]'            # jupyterlab and playwright (playwright's own browser
    apt-get install -y chromium         # download is never used: CHROMIUM names the binary)
    python docs/make_screenshots.py     # writes docs/panel.png and docs/panel-plots.png

1. A throw-away project gets runs the way a user makes them: ``%%track`` cells of a wine
   classifier run in a real IPython shell, uploaded with ``nbmlops.sync.worker.drain``.
2. ``jupyter lab`` serves that project; Chromium opens its notebook and runs
   ``%mlops compare --metric accuracy``, ticks two runs, and the cell is photographed; then
   the Plots tab.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
NOTEBOOK = "notebooks/wine.ipynb"
TOKEN = "nbmlops-screenshots"

SETUP = """\
import pandas as pd
from sklearn.datasets import load_wine
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, f1_score, log_loss
from sklearn.model_selection import train_test_split
wine = load_wine(as_frame=True).frame
"""

TRAIN = """\
n_estimators = {n}
max_depth = {depth}
test_size = 0.3
X_train, X_test, y_train, y_test = train_test_split(
    wine.drop(columns="target"), wine["target"], test_size=test_size, random_state=7,
    stratify=wine["target"],
)
model = RandomForestClassifier(
    n_estimators=n_estimators, max_depth=max_depth, random_state=7,{extra}
).fit(X_train, y_train)
accuracy = accuracy_score(y_test, model.predict(X_test))
f1 = f1_score(y_test, model.predict(X_test), average="macro")
val_loss = log_loss(y_test, model.predict_proba(X_test))
"""

# (n_estimators, max_depth, extra model argument); an upstream data fix comes after run 4.
# The failing one (max_depth 0) goes first: later, stale variables of earlier runs would
# still be there when it fails.
RUNS = [(200, 0, ""), (20, 1, ""), (50, 2, ""), (100, 4, ""), (100, 4, ""),
        (300, 8, ' class_weight="balanced",')]


def make_runs(project: Path) -> None:
    """The notebook's runs, made by %%track in a real shell and uploaded to the project's
    sqlite store."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    from nbmlops.sync import worker

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "nbmlops")
    with capture_output():
        ip.run_cell(SETUP)
        for i, (n, depth, extra) in enumerate(RUNS):
            if i == 4:  # upstream drops the outliers: the data fingerprint changes
                ip.run_cell("wine = wine[wine.proline < 1500].reset_index(drop=True)")
            ip.run_cell("%%track train\n" + TRAIN.format(n=n, depth=depth, extra=extra))
            time.sleep(1.1)  # start times a second apart, as a person would run them
    report = worker.drain(os.environ["NBMLOPS_SPOOL"])
    if not report.ok:
        raise SystemExit(f"upload failed: {report.errors}")


def write_notebook(path: Path) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext nbmlops"),
        nbformat.v4.new_code_cell("%mlops compare --metric accuracy"),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))


def new_project(scratch: Path) -> Path:
    """An empty project folder (its pyproject.toml makes it the project root)."""
    project = scratch / "wine-project"
    project.mkdir()
    (project / "pyproject.toml").write_text("[project]\nname = 'wine'\n")
    return project


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_lab(project: Path, scratch: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(scratch / "config"),
        "JUPYTERLAB_SETTINGS_DIR": str(scratch / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(scratch / "workspaces"),
        "JUPYTER_RUNTIME_DIR": str(scratch / "runtime"),
    }
    log = open(scratch / "lab.log", "wb")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
         f"--port={port}", f"--ServerApp.root_dir={project}",
         f"--IdentityProvider.token={TOKEN}", "--expose-app-in-browser", "--allow-root",
         "--LabApp.news_url="],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={TOKEN}", timeout=2)
            return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit(f"jupyter lab did not start:\n{(scratch / 'lab.log').read_text()[-2000:]}")


# What each column of the panel's table shows, by header text (as a reader sees it).
COLUMNS_JS = """() => {
  const columns = {};
  for (const box of document.querySelectorAll('.nbm-panel .widget-vbox')) {
    const header = box.querySelector(':scope > button');
    const cells = box.querySelector('.nbm-col');
    if (header && cells) {
      const name = header.textContent.replace(/[▲▼]/g, '').trim();
      columns[name] = Array.from(cells.children).map(c => c.textContent.trim());
    }
  }
  return columns;
}"""


def shoot(port: int, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1360, "height": 2200})
        page.goto(f"http://127.0.0.1:{port}/lab/tree/{NOTEBOOK}?token={TOKEN}")
        page.wait_for_function(
            "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
            " && window.jupyterapp.shell.currentWidget.sessionContext"
            " && window.jupyterapp.shell.currentWidget.sessionContext.session"
            " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
            " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status"
            " === 'idle'",
            timeout=90_000,
        )
        # Room for the panel: no file browser, no status bar.
        for command in ("application:toggle-left-area", "statusbar:toggle"):
            page.evaluate(f"window.jupyterapp.commands.execute('{command}')")
        page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        panel = page.locator(".nbm-panel")
        panel.wait_for(timeout=90_000)
        cell = page.locator(".jp-CodeCell").filter(has=panel)

        # Tick the best run and a depth-4 run on the data before the fix: params, data and
        # code all differ.
        columns = page.evaluate(COLUMNS_JS)
        older = next(
            i for i, (depth, data) in enumerate(
                zip(columns["max_depth"], columns["data"], strict=True)
            )
            if depth == "4" and data.split()[:2] != columns["data"][0].split()[:2]
        )
        checks = panel.locator(".widget-checkbox input")
        checks.nth(0).check()
        checks.nth(older).check()
        panel.locator(".nbm-diff").wait_for(timeout=30_000)
        page.wait_for_timeout(500)
        page.mouse.move(0, 0)
        cell.screenshot(path=str(out / "panel.png"))

        # The plots of every run on the page: untick both first.
        panel.locator("button", has_text="Clear selection").click()
        panel.locator(".lm-TabBar-tab", has_text="Plots").click()
        page.wait_for_function(  # the two inline SVG charts
            "() => document.querySelectorAll('.nbm-panel .widget-html svg').length === 2",
            timeout=30_000,
        )
        page.wait_for_timeout(1500)
        cell.screenshot(path=str(out / "panel-plots.png"))
        browser.close()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="nbmlops-shots-") as tmp:
        scratch = Path(tmp)
        project = new_project(scratch)
        os.environ.update(
            NBMLOPS_SPOOL=str(scratch / "spool"),
            NBMLOPS_NOTEBOOK=str(project / NOTEBOOK),
            NBMLOPS_AUTOSYNC="0",
        )
        os.environ.pop("MLFLOW_TRACKING_URI", None)
        os.environ.pop("NBMLOPS_UI_URL", None)
        home = os.getcwd()
        os.chdir(project)
        try:
            make_runs(project)
        finally:
            os.chdir(home)
        write_notebook(project / NOTEBOOK)
        port = free_port()
        lab = start_lab(project, scratch, port)
        try:
            shoot(port, HERE)
        finally:
            lab.terminate()
            lab.wait(timeout=30)
    print(f"wrote {HERE / 'panel.png'} and {HERE / 'panel-plots.png'}")


if __name__ == "__main__":
    main()
