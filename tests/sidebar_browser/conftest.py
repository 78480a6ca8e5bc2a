"""A real JupyterLab on 127.0.0.1 serving a project whose tracked cells have runs, and a real
Chromium (Debian's ``/usr/bin/chromium``) driven by Playwright. Without a browser the tests
are skipped on a developer's machine and fail in CI (``CI=true``)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tracked_project import TrackedProject, make_tracked_project

CHROMIUM = os.environ.get("NBMLOPS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
TOKEN = "nbmlops-browser-test"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Lab:
    url: str
    token: str
    project: TrackedProject
    log: Path


@pytest.fixture(scope="session")
def browser_project(tmp_path_factory: pytest.TempPathFactory, migrated_db: Path) -> TrackedProject:
    return make_tracked_project(tmp_path_factory.mktemp("browser") / "project", migrated_db)


@pytest.fixture(scope="session")
def lab(
    browser_project: TrackedProject, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Lab]:
    with running_lab(browser_project, tmp_path_factory.mktemp("lab-home")) as started:
        yield started


@contextmanager
def running_lab(project: TrackedProject, home: Path) -> Iterator[Lab]:
    """JupyterLab serving ``project`` on a free port (its settings in ``home``), stopped on
    exit; a test of another module starts its own."""
    config = home / "config"
    (config / "labconfig").mkdir(parents=True)
    # No "receive Jupyter news?" toast over the screenshots.
    (config / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}
    ))
    port = _free_port()
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config), "HOME": str(home),
           "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces")}
    for name in ("MLFLOW_TRACKING_URI", "NBMLOPS_SPOOL", "NBMLOPS_UI_URL"):
        env.pop(name, None)
    log = home / "lab.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
             f"--port={port}", f"--IdentityProvider.token={TOKEN}",
             f"--ServerApp.root_dir={project.root}",
             "--LabApp.expose_app_in_browser=True", "--ServerApp.port_retries=0",
             "--allow-root", "--LabApp.extension_manager=readonly"],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=project.root,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.3)
        yield Lab(url, TOKEN, project, log)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# Module scope, not session: Playwright's sync API keeps an event loop running in this thread
# while it is open, which breaks every later test that runs an asyncio loop of its own.
@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not (os.path.exists(CHROMIUM) and shutil.which(CHROMIUM)):
        message = f"no Chromium at {CHROMIUM} (apt-get install -y chromium)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as e:  # pragma: no cover - playwright is a test dependency
        if in_ci():
            pytest.fail(f"playwright is missing: {e}")
        pytest.skip(f"playwright is missing: {e}")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium: Any, lab: Lab) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        yield page
    finally:
        context.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
