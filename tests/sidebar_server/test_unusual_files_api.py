"""The sidebar's server facing named pipes and devices named as notebooks: each request is
refused at once, and no worker thread is left waiting on a pipe."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError
from tracked_project import TrackedProject

from nbmlops.server.routes import PREFIX

Fetch = Callable[..., Awaitable[Any]]
pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")


def release(fifo: Path) -> None:
    with contextlib.suppress(OSError):  # nobody waits on it
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


async def answer(jp_fetch: Fetch, route: str, path: str) -> tuple[int, dict[str, Any]]:
    try:
        response = await jp_fetch(*PREFIX.split("/"), route, params={"notebook": path},
                                  method="GET")
    except HTTPClientError as e:
        return e.code, json.loads(e.response.body) if e.response else {}
    return response.code, json.loads(response.body)


async def test_a_named_pipe_named_as_a_notebook_is_refused_at_once(
    jp_fetch: Fetch, tracked: TrackedProject
) -> None:
    folder = tracked.root / "odd"
    folder.mkdir(exist_ok=True)
    fifo = folder / "f.ipynb"
    os.mkfifo(fifo)
    try:
        # More requests than the server has worker threads: none may wait on the pipe.
        routes = ["notebook"] * 4 + ["runs"] * 2
        asked = [answer(jp_fetch, route, "odd/f.ipynb") for route in routes]
        try:
            answers = await asyncio.wait_for(asyncio.gather(*asked), 20)
        except asyncio.TimeoutError:
            pytest.fail("a request waited on a named pipe")
        for status, body in answers:
            assert status == 400, body
            assert body["message"] == "cannot read f.ipynb: a named pipe (FIFO), not a file"
        status, body = await answer(jp_fetch, "notebook", tracked.notebook)
        assert status == 200 and body["cells"]
    finally:
        for _ in range(50):
            release(fifo)
        shutil.rmtree(folder)


async def test_a_store_that_fails_is_a_424_naming_no_absolute_server_path(
    jp_fetch: Fetch, tracked: TrackedProject
) -> None:
    import nbformat

    root = tracked.root / "broken"
    root.mkdir(exist_ok=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'broken'\n")
    (root / "mlflow.db").write_bytes(b"this is no sqlite database" * 100)
    nbformat.write(nbformat.v4.new_notebook(), root / "nb.ipynb")
    try:
        status, body = await answer(jp_fetch, "experiments", "broken/nb.ipynb")
        assert status == 424, body
        assert "'sqlite:///broken/mlflow.db'" in body["message"], body
        assert str(tracked.root) not in body["message"]
        assert str(tracked.root.resolve()) not in body["message"]
    finally:
        shutil.rmtree(root)


@pytest.mark.parametrize(("message", "shown"), [
    ("cannot open the MLflow store 'sqlite:////srv/p/b/mlflow.db': see https://x.org/e/20",
     "cannot open the MLflow store 'sqlite:///b/mlflow.db': see https://x.org/e/20"),
    ("no MLflow store at /srv/p/mlflow.db: nothing yet",
     "no MLflow store at mlflow.db: nothing yet"),
    ("mlflow ui did not start (its log: /elsewhere/spool/ui.log)",
     "mlflow ui did not start (its log: .../ui.log)"),
    ("MLflow at http://host:5000/api/2.0/x: down", "MLflow at http://host:5000/api/2.0/x: down"),
])
def test_a_message_names_server_paths_as_the_browser_may_see_them(message: str,
                                                                  shown: str) -> None:
    from nbmlops.server.notebook import without_server_paths

    assert without_server_paths(message, Path("/srv/p")) == shown


async def test_an_image_whose_name_holds_a_percent_and_a_space_is_served(
    jp_fetch: Fetch, tracked: TrackedProject, tmp_path: Path
) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(tracked.tracking_uri)
    experiment = client.get_experiment_by_name("odd names") or client.create_experiment(
        "odd names", artifact_location=(tracked.root / "odd-artifacts").as_uri())
    experiment_id = experiment if isinstance(experiment, str) else experiment.experiment_id
    run = client.create_run(experiment_id)
    png = b"\x89PNG\r\n\x1a\n" + b"odd" * 100
    (tmp_path / "a b%2e.png").write_bytes(png)
    (tmp_path / "a b..png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"not this one")
    client.log_artifact(run.info.run_id, str(tmp_path / "a b%2e.png"), "figures")
    client.log_artifact(run.info.run_id, str(tmp_path / "a b..png"), "figures")
    client.set_terminated(run.info.run_id)
    response = await jp_fetch(*PREFIX.split("/"), "runs", run.info.run_id, "image",
                              method="GET", params={"notebook": tracked.notebook,
                                                    "path": "figures/a b%2e.png"})
    assert response.code == 200 and response.body == png
