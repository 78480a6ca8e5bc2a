"""``POST /nbmlops/api/export``: the sidebar's "Export as job…" writes a real job folder, and
refuses bad schedules and paths outside the server's root without writing anything."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from tornado.httpclient import HTTPClientError
from tracked_project import TrackedProject

from nbmlops.server.routes import PREFIX

Fetch = Callable[..., Awaitable[Any]]


async def post(jp_fetch: Fetch, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    try:
        response = await jp_fetch(*PREFIX.split("/"), "export", method="POST",
                                  body=json.dumps(body))
    except HTTPClientError as e:
        return e.code, json.loads(e.response.body if e.response else b"{}")
    return response.code, json.loads(response.body)


@pytest.fixture
def folder(tracked: TrackedProject) -> Path:
    """A fresh folder under the server root holding a copy of the tracked notebook."""
    where = tracked.root / f"export-{uuid.uuid4().hex[:8]}"
    where.mkdir()
    shutil.copy(tracked.root / tracked.notebook, where / "train.ipynb")
    return where


async def test_export_writes_the_job_folder(
    jp_fetch: Fetch, tracked: TrackedProject, folder: Path
) -> None:
    relative = f"{folder.name}/train.ipynb"
    code, out = await post(jp_fetch, {"notebook": relative, "name": "nightly",
                                      "schedule": "0 3 * * 1", "targets": ["cron", "airflow"]})
    assert code == 200, out
    assert out["folder"] == f"{folder.name}/jobs/nightly"
    job = yaml.safe_load((folder / "jobs" / "nightly" / "job.yaml").read_text())
    assert job["name"] == "nightly"
    assert job["schedule"]["cron"] == "0 3 * * 1"
    assert job["schedule"]["targets"] == ["cron", "airflow"]
    assert (folder / "jobs" / "nightly" / "airflow_dag.py").is_file()
    assert {"job.yaml", "nightly.ipynb", "crontab.txt"} <= set(out["files"])
    assert out["created"] is True and "lr" in out["parameters"]


async def test_the_export_rules_decide_as_for_the_command_line(
    jp_fetch: Fetch, folder: Path
) -> None:
    """An untimed target needs no schedule, and a later export keeps job.yaml's schedule."""
    relative = f"{folder.name}/train.ipynb"
    code, out = await post(jp_fetch, {"notebook": relative, "targets": ["image"]})
    assert code == 200, out
    assert out["schedule"]["targets"] == ["image"] and "Dockerfile" in out["files"]
    code, out = await post(jp_fetch, {"notebook": relative, "schedule": "0 3 * * 1"})
    assert code == 200, out
    code, out = await post(jp_fetch, {"notebook": relative, "targets": ["github"]})
    assert code == 200, out
    assert out["schedule"]["cron"] == "0 3 * * 1"
    assert out["schedule"]["targets"] == ["image", "github"]


@pytest.mark.parametrize(
    ("body", "error", "needle"),
    [
        ({"schedule": "61 3 * * *", "targets": ["cron"]}, "ScheduleError", "cron expression"),
        ({"schedule": "every day"}, "ScheduleError", "cron expression"),
        ({"schedule": "0 3 * * *", "targets": ["slurm"]}, "ScheduleError", "slurm"),
        ({"name": "../escape", "schedule": "0 3 * * *"}, "JobError", "job name"),
        ({"force": "no"}, "ConfigError", "force must be true or false"),
        ({"force": 1}, "ConfigError", "force must be true or false"),
        ({"name": 5}, "ConfigError", "name must be a string"),
        ({"schedule": ["0 3 * * *"]}, "ConfigError", "schedule must be a string"),
        ({"schedule": "0 3 * * *", "targets": [1]}, "ConfigError", "targets must be a list"),
        ({"schedule": "0 3 * * *", "targets": {"cron": 1}}, "ConfigError",
         "targets must be a list"),
        ({"targets": ["cron"]}, "JobError", "schedule targets need a schedule"),
        ({"targets": "cron"}, "JobError", "schedule targets need a schedule"),
        ({"schedule": "0 3 * * *", "timezone": "Mars/Olympus"}, "JobError",
         "unknown timezone 'Mars/Olympus'"),
    ],
)
async def test_bad_requests_are_400_and_write_nothing(
    jp_fetch: Fetch, folder: Path, body: dict[str, Any], error: str, needle: str
) -> None:
    code, out = await post(jp_fetch, {"notebook": f"{folder.name}/train.ipynb", **body})
    assert (code, out["error"]) == (400, error)
    assert needle in out["message"] and "\n" not in out["message"]
    assert not (folder / "jobs").exists()


async def test_paths_outside_the_root_are_403_and_write_nothing(
    jp_fetch: Fetch, tracked: TrackedProject, folder: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    outside = tmp_path_factory.mktemp("outside")
    shutil.copy(tracked.root / tracked.notebook, outside / "train.ipynb")
    (folder / "link.ipynb").symlink_to(outside / "train.ipynb")
    (folder / "linked").symlink_to(outside, target_is_directory=True)
    refused_paths = [
        f"../{outside.name}/train.ipynb",
        "../" * 12 + str(outside / "train.ipynb").lstrip("/"),  # absolute, climbed to
        f"{folder.name}/link.ipynb",  # a symlink to a notebook outside
        f"{folder.name}/linked/train.ipynb",  # through a symlinked folder
    ]
    for path in refused_paths:
        code, out = await post(jp_fetch, {"notebook": path, "schedule": "0 3 * * *"})
        assert (code, out["error"]) == (403, "OutsideRoot"), path
        assert out["message"] and "Traceback" not in out["message"]
    # An absolute path names a file under the root, as JupyterLab's paths do: not there.
    code, out = await post(jp_fetch, {"notebook": str(outside / "train.ipynb")})
    assert (code, out["error"]) == (404, "NotebookNotFound")
    # The notebook is inside but its `jobs` folder is a link leaving the root.
    (folder / "jobs").symlink_to(outside, target_is_directory=True)
    code, out = await post(jp_fetch, {"notebook": f"{folder.name}/train.ipynb"})
    assert (code, out["error"]) == (403, "OutsideRoot")
    assert sorted(p.name for p in outside.iterdir()) == ["train.ipynb"]  # nothing written


async def test_only_a_notebook_is_exported(jp_fetch: Fetch, folder: Path) -> None:
    (folder / "train.py").write_text("lr = 0.1\n")
    for path in (f"{folder.name}/train.py", f"{folder.name}/absent.txt"):
        code, out = await post(jp_fetch, {"notebook": path})
        assert (code, out["error"]) == (400, "ConfigError") and "not a notebook" in out["message"]
    code, out = await post(jp_fetch, {"notebook": 7})
    assert (code, out["error"]) == (400, "ConfigError") and "notebook must be a string" in (
        out["message"])
    assert not (folder / "jobs").exists()


async def test_export_needs_a_notebook(jp_fetch: Fetch, folder: Path) -> None:
    code, out = await post(jp_fetch, {"notebook": f"{folder.name}/missing.ipynb"})
    assert (code, out["error"]) == (404, "NotebookNotFound")
    code, out = await post(jp_fetch, {})
    assert code == 400 and "notebook" in out["message"]


async def test_a_nul_in_the_notebook_path_is_a_400(jp_fetch: Fetch, folder: Path) -> None:
    code, out = await post(jp_fetch, {"notebook": f"{folder.name}/train\x00.ipynb"})
    assert (code, out["error"]) == (400, "ConfigError") and "NUL" in out["message"]
    assert not (folder / "jobs").exists()
