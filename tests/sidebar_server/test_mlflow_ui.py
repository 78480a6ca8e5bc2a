""""Open in MLflow" (``POST mlflow-ui``, ``GET mlflow/STORE``) against a real Jupyter server
and real ``mlflow ui`` processes: answered at once, started beside the requests, capped."""

from __future__ import annotations

import asyncio
import json
import shutil
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
from nbmlops.server.routes import PREFIX

Fetch = Callable[..., Awaitable[Any]]
START_S = 180  # starting `mlflow ui` takes seconds, more on a busy machine


async def call(jp_fetch: Fetch, path: str, body: dict[str, Any] | None = None,
               **params: str) -> tuple[int, Any]:
    try:
        response = await jp_fetch(*PREFIX.split("/"), *path.split("/"), params=params,
                                  method="POST" if body is not None else "GET",
                                  body=json.dumps(body) if body is not None else None,
                                  request_timeout=START_S)
    except HTTPClientError as e:
        return e.code, json.loads(e.response.body if e.response else b"{}")
    return response.code, json.loads(response.body)


async def ready_url(jp_fetch: Fetch, notebook: str) -> str:
    """Ask for the notebook's MLflow UI until it is up, as the sidebar does; its address."""
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        code, answer = await call(jp_fetch, "mlflow-ui", {}, notebook=notebook)
        if code == 200 and answer.get("url"):
            assert answer.get("state", "ready") == "ready", answer
            return str(answer["url"])
        assert (code, answer) == (202, {"state": "starting", "url": None}), answer
        await asyncio.sleep(0.5)
    pytest.fail("mlflow ui did not come up")


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def a_project(tracked: TrackedProject, migrated_db: Path) -> tuple[str, str]:
    """Another project under the server's root with a store of its own: a notebook's
    server-relative path and the store's URI."""
    root = tracked.root / f"other-{uuid.uuid4().hex[:8]}"
    root.mkdir()
    (root / "pyproject.toml").write_text(
        "[project]\nname = 'other'\n\n[tool.nbmlops]\nspool = '.nbmlops/spool'\n")
    shutil.copy(migrated_db, root / "mlflow.db")
    (root / "a.ipynb").write_text(json.dumps(
        {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return f"{root.name}/a.ipynb", f"sqlite:///{root.resolve() / 'mlflow.db'}"


async def test_open_in_mlflow_answers_starting_at_once_then_one_ui_for_the_store(
    jp_fetch: Fetch, tracked: TrackedProject
) -> None:
    from nbmlops.server import mlflow_ui

    try:
        # The first ask does not wait for `mlflow ui`: it says it is starting.
        code, answer = await call(jp_fetch, "mlflow-ui", {}, notebook=tracked.notebook)
        assert (code, answer) == (202, {"state": "starting", "url": None})
        url = await ready_url(jp_fetch, tracked.notebook)
        assert url.startswith("http://127.0.0.1:")
        assert healthy(url)
        # A UI to read runs: no job runners (MLflow's GenAI scorer jobs) idling beside it.
        ui = psutil.Process(mlflow_ui._managed[tracked.tracking_uri].process.pid)
        started = [ui, *ui.children(recursive=True)]
        assert not [p.cmdline() for p in started if "huey" in " ".join(p.cmdline())]
        # Asked again: the same UI. The kernel's status lines now link there too.
        assert await call(jp_fetch, "mlflow-ui", {}, notebook=tracked.notebook) == (
            200, {"state": "ready", "url": url})
        assert config.ui_url(tracked.root, tracked.tracking_uri) == url
        info = (await call(jp_fetch, "notebook", notebook=tracked.notebook))[1]
        assert info["ui_url"] == url
    finally:
        mlflow_ui.stop_all()
    deadline = time.monotonic() + 15
    while healthy(url):
        if time.monotonic() > deadline:
            pytest.fail("mlflow ui still answers after the server stopped it")
        time.sleep(0.2)
    _, alive = psutil.wait_procs(started, timeout=15)
    assert alive == []  # nothing it started is left behind
    assert config.ui_url(tracked.root, tracked.tracking_uri) is None


async def test_uis_starting_do_not_hold_up_the_other_requests(
    jp_fetch: Fetch, tracked: TrackedProject, migrated_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four projects open MLflow at once (more than the server's worker threads): the runs of
    a notebook are still listed while every UI is still coming up."""
    from nbmlops.server import mlflow_ui

    monkeypatch.setenv("NBMLOPS_MAX_UIS", "4")  # none of the four is stopped for another
    projects = [a_project(tracked, migrated_db) for _ in range(4)]
    asks = [asyncio.ensure_future(call(jp_fetch, "mlflow-ui", {}, notebook=notebook))
            for notebook, _ in projects]
    try:
        deadline = time.monotonic() + START_S
        while not all(uri in mlflow_ui._managed for _, uri in projects):  # the asks came first
            assert time.monotonic() < deadline, "the asks never reached the server"
            await asyncio.sleep(0.05)
        code, page = await call(jp_fetch, "runs", notebook=tracked.notebook)
        assert code == 200 and page["runs"]
        up = [uri for _, uri in projects
              if uri in mlflow_ui._managed and healthy(mlflow_ui._managed[uri].url)]
        assert up == [], "the runs waited for an MLflow UI to start"
        answers = await asyncio.gather(*asks)
        assert answers == [(202, {"state": "starting", "url": None})] * 4
    finally:
        await asyncio.gather(*asks, return_exceptions=True)
        mlflow_ui.stop_all()


async def test_the_least_recently_used_ui_stops_beyond_the_cap(
    jp_fetch: Fetch, tracked: TrackedProject, migrated_db: Path,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    from nbmlops.server import mlflow_ui

    monkeypatch.setenv("NBMLOPS_MAX_UIS", "2")
    (a, a_uri), (b, b_uri), (c, c_uri) = (a_project(tracked, migrated_db) for _ in range(3))
    try:
        a_url = await ready_url(jp_fetch, a)
        b_url = await ready_url(jp_fetch, b)
        b_process = psutil.Process(mlflow_ui._managed[b_uri].process.pid)
        b_root = tracked.root / b.split("/")[0]
        assert config.ui_url(b_root, b_uri) == b_url
        assert await ready_url(jp_fetch, a) == a_url  # A used again: B is the older
        c_url = await ready_url(jp_fetch, c)
        # B stopped, with whatever it started, and its address forgotten; A and C serve.
        b_process.wait(30)
        assert not healthy(b_url)
        assert config.ui_url(b_root, b_uri) is None
        assert healthy(a_url) and healthy(c_url)
        assert sorted(mlflow_ui._managed) == sorted([a_uri, c_uri])
        # Asked for again, B starts anew (and A, now the least recently used, stops).
        assert await ready_url(jp_fetch, b) != ""
        assert sorted(mlflow_ui._managed) == sorted([b_uri, c_uri])
    finally:
        mlflow_ui.stop_all()


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
        first = await ready_url(jp_fetch, tracked.notebook)
        # The receipt's link, and so the status line's, names the route, not the port.
        kept = receipt(record, "1", run.info.run_id)
        assert kept["url"].startswith(first)  # the address of the day, for a terminal
        link = kept["link"]
        assert link == (f"{jp_base_url}{PREFIX}/mlflow/mlflow.db/#/experiments/1/runs/"
                        f"{run.info.run_id}?workflowType=machine_learning")
        assert f'href="{link}"' in render(["train"], record.record_id, kept)[1]
        mlflow_ui.stop_all()  # Jupyter restarts: the UI is gone, its port with it

        route = link.split("#", 1)[0]  # a browser never sends the fragment
        path = route.removeprefix(jp_base_url).strip("/").split("/")
        page = await jp_fetch(*path)  # it starts `mlflow ui`, and says so at once
        assert page.code == 202
        body = page.body.decode()
        assert "Starting MLflow" in body and "location.reload()" in body
        deadline = time.monotonic() + START_S
        while page.code == 202 and time.monotonic() < deadline:
            await asyncio.sleep(1)  # as the page's script does
            page = await jp_fetch(*path)
        assert page.code == 200
        second = mlflow_ui._managed[tracked.tracking_uri].url  # started by the route
        assert f'location.replace("{second}/" + location.hash)' in page.body.decode()
        assert healthy(second)
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
