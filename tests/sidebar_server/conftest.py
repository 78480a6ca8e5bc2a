"""pytest-jupyter's server fixtures (``jp_fetch``, ``jp_serverapp``, ...) for these tests
only; the server runs with the nbmlops extension on a project whose cells have runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_jupyter.jupyter_server import *  # noqa: F403
from tracked_project import TrackedProject, make_tracked_project


@pytest.fixture(scope="session")
def tracked(tmp_path_factory: pytest.TempPathFactory, migrated_db: Path) -> TrackedProject:
    return make_tracked_project(tmp_path_factory.mktemp("server") / "project", migrated_db)


@pytest.fixture
def jp_root_dir(tracked: TrackedProject) -> Path:  # the server's root: the project
    return tracked.root


@pytest.fixture
def jp_server_config() -> dict:  # type: ignore[type-arg]
    return {"ServerApp": {"jpserver_extensions": {"nbmlops.server": True}}}


@pytest.fixture(autouse=True)
def _no_outside_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("NBMLOPS_SPOOL", raising=False)
    monkeypatch.delenv("NBMLOPS_UI_URL", raising=False)


@pytest.fixture(scope="session")
def drift_notebook(tracked: TrackedProject) -> str:
    """``notebooks/etl.ipynb`` beside the tracked notebook: two runs, the second with drift."""
    from tracked_project import add_drift_runs

    return add_drift_runs(tracked)
