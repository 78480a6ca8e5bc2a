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
