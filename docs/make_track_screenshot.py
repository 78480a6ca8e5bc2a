"""The screenshot of a tracked cell for the README, as JupyterLab shows it in a real Chromium.

    python docs/make_track_screenshot.py   # writes docs/track.png (see make_screenshots.py)

A fresh project's notebook runs a ``%%track train`` cell, changes its data upstream, and runs
the cell again: the second run's status line links to its synced run and the drift alert says
what changed. Everything runs for real: the kernel, the spool, the sync process, the store.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import nbformat
from make_screenshots import (
    CHROMIUM,
    CHROMIUM_ARGS,
    NOTEBOOK,
    SETUP,
    TOKEN,
    TRAIN,
    free_port,
    new_project,
    start_lab,
)

HERE = Path(__file__).resolve().parent
TRACKED = "%%track train\n" + TRAIN.format(n=50, depth=3, extra="")
UPSTREAM_CHANGE = "wine = wine[wine.proline < 1200].assign(alcohol=lambda d: d.alcohol + 1)"
KERNEL_IDLE = (
    "() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
    " const k = w && w.sessionContext && w.sessionContext.session"
    " && w.sessionContext.session.kernel; return !!k && k.status === 'idle'; }"
)


def write_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    cells = ["%load_ext nbmlops", SETUP, TRACKED, UPSTREAM_CHANGE, TRACKED]
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))


def shoot(port: int, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 1400})
        page.goto(f"http://127.0.0.1:{port}/lab/tree/{NOTEBOOK}?token={TOKEN}")
        page.wait_for_function(KERNEL_IDLE, timeout=90_000)
        page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        last = page.locator(".jp-CodeCell").last
        # The status line turns into a link once the sync process has uploaded the run.
        last.locator(".nbmlops-status a").wait_for(timeout=90_000)
        page.mouse.move(0, 0)
        last.screenshot(path=str(out / "track.png"))
        browser.close()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="nbmlops-track-") as tmp:
        scratch = Path(tmp)
        project = new_project(scratch)
        os.environ.update(NBMLOPS_SPOOL=str(scratch / "spool"),
                          NBMLOPS_UI_URL="http://127.0.0.1:5000")
        for name in ("NBMLOPS_NOTEBOOK", "NBMLOPS_AUTOSYNC", "MLFLOW_TRACKING_URI"):
            os.environ.pop(name, None)
        write_notebook(project / NOTEBOOK)
        port = free_port()
        lab = start_lab(project, scratch, port)
        try:
            shoot(port, HERE)
        finally:
            lab.terminate()


if __name__ == "__main__":
    main()
