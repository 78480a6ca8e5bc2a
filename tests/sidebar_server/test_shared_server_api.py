"""The sidebar's REST API on a project whose ``pyproject.toml`` names a team's tracking server:
``mlflow server`` on PostgreSQL with artifacts served from ``--artifacts-destination``. Runs,
their details, figures (downloaded through the server's artifact proxy), a diff of two runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow_server import MlflowServer
from tracked_project import TrackedProject, make_tracked_project

from nbmlops.server.routes import PREFIX

from .test_api import Fetch, get

pytestmark = [pytest.mark.server, pytest.mark.postgres]


@pytest.fixture(scope="module")
def team(
    tmp_path_factory: pytest.TempPathFactory, migrated_db: Path, postgres_server: MlflowServer
) -> TrackedProject:
    return make_tracked_project(tmp_path_factory.mktemp("team") / "project", migrated_db,
                                tracking_uri=postgres_server.url)


@pytest.fixture
def jp_root_dir(team: TrackedProject) -> Path:
    return team.root


async def test_the_notebook_names_the_teams_server(
    jp_fetch: Fetch, team: TrackedProject, postgres_server: MlflowServer
) -> None:
    info = await get(jp_fetch, "notebook", notebook=team.notebook)
    assert info["tracking_uri"] == postgres_server.url
    assert [c["run_name"] for c in info["cells"]] == ["fit", "evaluate"]
    page = await get(jp_fetch, "runs", notebook=team.notebook)
    assert [r["run_name"] for r in page["runs"]] == ["evaluate", "fit", "fit", "evaluate", "fit"]
    first = await get(jp_fetch, "runs", notebook=team.notebook, page_size="2")
    second = await get(jp_fetch, "runs", notebook=team.notebook, page_size="2",
                       page_token=first["next_page_token"])
    assert [r["run_id"] for r in first["runs"] + second["runs"]] == [
        r["run_id"] for r in page["runs"][:4]]


async def test_a_run_its_figure_and_a_diff_come_through_the_server(
    jp_fetch: Fetch, team: TrackedProject
) -> None:
    fits = (await get(jp_fetch, "runs", notebook=team.notebook, cell="fit"))["runs"]
    details = await get(jp_fetch, "runs", fits[0]["run_id"], notebook=team.notebook)
    assert details["run"]["params"]["lr"] == "0.02"
    assert [p["step"] for p in details["metric_history"]["loss"]] == list(range(6))
    assert details["code"].startswith("lr = 0.02")
    assert details["images"] == ["figures/loss-curve.png"]
    response = await jp_fetch(*PREFIX.split("/"), "runs", fits[0]["run_id"], "image",
                              method="GET", params={"notebook": team.notebook,
                                                    "path": "figures/loss-curve.png"})
    assert response.body.startswith(b"\x89PNG\r\n\x1a\n")
    diff = await get(jp_fetch, "diff", notebook=team.notebook,
                     run=[fits[1]["run_id"], fits[0]["run_id"]])
    lr = next(p for p in diff["params"] if p["name"] == "lr")
    assert lr["values"] == ["0.1", "0.02"] and lr["differs"]
    status = await get(jp_fetch, "spool", notebook=team.notebook)
    assert status["pending"] == 0 and status["failed"] == 0
