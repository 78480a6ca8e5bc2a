"""The sidebar's REST API against real handlers, a real sqlite MLflow store and runs made by
``%%track`` in a real IPython shell (see tests/tracked_project.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError
from tracked_project import TrackedProject

from nbmlops.server.routes import PREFIX, ROUTES

Fetch = Callable[..., Awaitable[Any]]


def pairs(params: dict[str, Any]) -> list[tuple[str, str]]:
    """Query pairs; a list value repeats its key (jp_fetch's urlencode would not)."""
    return [(k, str(v)) for k, vs in params.items() for v in (vs if isinstance(vs, list) else [vs])]


async def get(jp_fetch: Fetch, *path: str, **params: Any) -> Any:
    try:
        response = await jp_fetch(*PREFIX.split("/"), *path, params=pairs(params), method="GET")
    except HTTPClientError as e:
        body = e.response.body.decode() if e.response else ""
        raise AssertionError(f"{e.code} {body}") from None
    assert response.code == 200
    return json.loads(response.body)


async def refused(jp_fetch: Fetch, *path: str, **params: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(HTTPClientError) as raised:
        await jp_fetch(*PREFIX.split("/"), *path, params=pairs(params), method="GET")
    body = raised.value.response.body if raised.value.response else b"{}"
    return raised.value.code, json.loads(body)


async def test_notebook_tells_experiment_and_tracked_cells(
    jp_fetch: Fetch, tracked: TrackedProject
) -> None:
    info = await get(jp_fetch, "notebook", notebook=tracked.notebook)
    assert info["experiment"] == tracked.notebook
    assert info["path"] == tracked.notebook
    assert [c["run_name"] for c in info["cells"]] == ["fit", "evaluate"]
    assert info["cells"][0]["first_line"] == "lr = 0.02"
    assert info["tracking_uri"].endswith("mlflow.db")
    assert info["ui_url"] is None


async def test_experiments(jp_fetch: Fetch, tracked: TrackedProject) -> None:
    found = await get(jp_fetch, "experiments", notebook=tracked.notebook)
    assert tracked.notebook in [e["name"] for e in found]


async def test_runs_newest_first_paged_and_filtered(
    jp_fetch: Fetch, tracked: TrackedProject
) -> None:
    page = await get(jp_fetch, "runs", notebook=tracked.notebook)
    names = [r["run_name"] for r in page["runs"]]
    assert names == ["evaluate", "fit", "fit", "evaluate", "fit"]  # newest first
    assert [r["params"]["lr"] for r in page["runs"] if r["run_name"] == "fit"] == [
        "0.02", "0.1", "0.5"
    ]
    assert page["next_page_token"] is None
    fit = page["runs"][1]
    assert fit["status"] == "FINISHED" and fit["code_sha"] and fit["duration_s"] is not None
    assert {"loss", "accuracy"} <= set(fit["metrics"])

    first = await get(jp_fetch, "runs", notebook=tracked.notebook, page_size="2")
    assert len(first["runs"]) == 2 and first["next_page_token"]
    second = await get(jp_fetch, "runs", notebook=tracked.notebook, page_size="2",
                       page_token=first["next_page_token"])
    ids = [r["run_id"] for r in first["runs"] + second["runs"]]
    assert ids == [r["run_id"] for r in page["runs"][:4]]

    cell = await get(jp_fetch, "runs", notebook=tracked.notebook, cell="evaluate")
    assert [r["run_name"] for r in cell["runs"]] == ["evaluate", "evaluate"]
    best = await get(jp_fetch, "runs", notebook=tracked.notebook, cell="fit",
                     order_by="params.lr ASC")
    assert [r["params"]["lr"] for r in best["runs"]] == ["0.02", "0.1", "0.5"]
    small = await get(jp_fetch, "runs", notebook=tracked.notebook, filter="params.lr = '0.1'")
    assert [r["params"]["lr"] for r in small["runs"]] == ["0.1"]


async def test_one_run_in_full(jp_fetch: Fetch, tracked: TrackedProject) -> None:
    page = await get(jp_fetch, "runs", notebook=tracked.notebook, cell="fit")
    run_id = page["runs"][0]["run_id"]
    details = await get(jp_fetch, "runs", run_id, notebook=tracked.notebook)
    run = details["run"]
    assert run["run_id"] == run_id and run["params"]["lr"] == "0.02"
    assert [p["step"] for p in details["metric_history"]["loss"]] == list(range(6))
    assert details["code"].startswith("lr = 0.02")
    assert "code/cell.py" in details["artifacts"]
    assert "numpy" in details["requirements"]
    inputs = {d["name"]: d for d in run["datasets"] if "input" in d["context"]}
    assert {"X", "y"} <= set(inputs)
    assert len(inputs["X"]["fingerprint"]) >= 16 and inputs["X"]["short"] == (
        inputs["X"]["fingerprint"][:8]
    )
    assert details["url"] is None  # no MLflow UI configured


async def test_run_links_to_the_configured_ui(
    jp_fetch: Fetch, tracked: TrackedProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBMLOPS_UI_URL", "http://127.0.0.1:5999/")
    page = await get(jp_fetch, "runs", notebook=tracked.notebook)
    run = page["runs"][0]
    details = await get(jp_fetch, "runs", run["run_id"], notebook=tracked.notebook)
    assert details["url"] == (
        f"http://127.0.0.1:5999/#/experiments/{run['experiment_id']}/runs/{run['run_id']}"
        "?workflowType=machine_learning"
    )


async def test_diff_of_two_runs(jp_fetch: Fetch, tracked: TrackedProject) -> None:
    page = await get(jp_fetch, "runs", notebook=tracked.notebook, cell="fit")
    new, old = page["runs"][0]["run_id"], page["runs"][1]["run_id"]
    diff = await get(jp_fetch, "diff", notebook=tracked.notebook, run=[old, new])
    assert [r["run_id"] for r in diff["runs"]] == [old, new]
    lr = next(p for p in diff["params"] if p["name"] == "lr")
    assert lr["values"] == ["0.1", "0.02"] and lr["differs"]
    loss = next(m for m in diff["metrics"] if m["name"] == "loss")
    assert loss["direction"] == "min" and loss["differs"]
    assert diff["code"][0]["same"] is False and "+lr = 0.02" in diff["code"][0]["diff"]


async def test_spool_status(jp_fetch: Fetch, tracked: TrackedProject) -> None:
    status = await get(jp_fetch, "spool", notebook=tracked.notebook)
    assert status["pending"] == 0 and status["failed"] == 0
    assert status["spool"] == tracked.spool.relative_to(tracked.root).as_posix() or (
        status["spool"].startswith(("~/", ".../")))


async def test_spool_status_counts_waiting_records(
    jp_fetch: Fetch, tracked: TrackedProject, make_record: Callable[..., Any], sqlite_uri: str
) -> None:
    make_record(sqlite_uri)  # NBMLOPS_SPOOL now names the fixture's spool
    status = await get(jp_fetch, "spool", notebook=tracked.notebook)
    assert status["pending"] == 1


@pytest.mark.parametrize(
    ("path", "params", "code", "error"),
    [
        (("runs", "0" * 32), {}, 404, "RunNotFound"),
        (("runs",), {"experiment": "no-such-experiment"}, 404, "ExperimentNotFound"),
        (("runs",), {"filter": "params.lr >>> 1"}, 400, "InvalidFilter"),
        (("notebook",), {"notebook": "../outside.ipynb"}, 403, "OutsideRoot"),
        (("runs",), {"notebook": "../../etc/passwd"}, 403, "OutsideRoot"),
        (("notebook",), {"notebook": "missing.ipynb"}, 404, "NotebookNotFound"),
        # The caller's mistakes are 400s, not the store failing (424).
        (("runs",), {"page_token": "not-a-token"}, 400, "InvalidQuery"),
        (("runs",), {"order_by": "metrics.`loss` SIDEWAYS"}, 400, "InvalidQuery"),
    ],
)
async def test_errors_are_4xx_with_a_message(
    jp_fetch: Fetch, tracked: TrackedProject, path: tuple[str, ...],
    params: dict[str, str], code: int, error: str,
) -> None:
    status, body = await refused(jp_fetch, *path, **{"notebook": tracked.notebook, **params})
    assert (status, body["error"]) == (code, error)
    assert body["message"] and "Traceback" not in body["message"]


async def test_diff_needs_two_runs(jp_fetch: Fetch, tracked: TrackedProject) -> None:
    status, body = await refused(jp_fetch, "diff", run="abc")
    assert status == 400 and "two" in body["message"]


async def test_runs_of_a_notebook_without_runs_are_an_empty_page(
    jp_fetch: Fetch, tracked: TrackedProject
) -> None:
    (tracked.root / "notebooks" / "fresh.ipynb").write_text('{"cells": []}')
    page = await get(jp_fetch, "runs", notebook="notebooks/fresh.ipynb")
    assert page["runs"] == [] and page["experiment"] is None


def _example_path(pattern: str) -> str:
    return re.sub(r"\(\?P<\w+>[^)]*\)", "0123abcd", pattern)


async def test_every_route_refuses_unauthenticated_requests(
    jp_serverapp: Any, http_server_client: Any, jp_base_url: str
) -> None:
    # Every nbmlops handler the running app routes to, not just the ROUTES list.
    routed = set()
    rules = list(jp_serverapp.web_app.default_router.rules)
    while rules:
        rule = rules.pop()
        rules.extend(getattr(rule.target, "rules", []))  # host rules hold routers
        regex = getattr(rule.matcher, "regex", None)
        if regex is not None and f"/{PREFIX}/" in regex.pattern:
            routed.add(rule.target)
    assert routed == {handler for _, handler in ROUTES}

    for pattern, handler in ROUTES:
        url = f"{jp_base_url}{PREFIX}/{_example_path(pattern)}"
        verbs = [v for v in ("get", "post", "put", "patch", "delete")
                 if getattr(handler, v) is not getattr(handler.__mro__[-2], v, None)
                 and v in handler.__dict__]
        assert verbs, handler
        for verb in verbs:
            body = "{}" if verb in ("post", "put", "patch") else None
            # A valid XSRF cookie and header, so a POST is refused for want of a login,
            # not stopped earlier by the XSRF check.
            response = await http_server_client.fetch(
                url, method=verb.upper(), body=body, raise_error=False,
                headers={"Cookie": "_xsrf=nbmlops-test", "X-XSRFToken": "nbmlops-test"},
            )
            assert response.code == 403, (verb, url, response.code)
            assert b"xsrf" not in response.body.lower(), (verb, url, response.body[:200])


async def test_run_details_carry_the_drift_alerts(
    jp_fetch: Fetch, tracked: TrackedProject, drift_notebook: str
) -> None:
    page = await get(jp_fetch, "runs", notebook=drift_notebook)
    newest, first = page["runs"]
    drifted = await get(jp_fetch, "runs", newest["run_id"], notebook=drift_notebook)
    lines = [a["line"] for a in drifted["drift"]]
    assert any(line.startswith("raw.amount: mean") for line in lines), lines
    alert = next(a for a in drifted["drift"] if a["column"] == "amount")
    assert (alert["name"], alert["context"], alert["kind"]) == ("raw", "input", "distribution")
    baseline = await get(jp_fetch, "runs", first["run_id"], notebook=drift_notebook)
    assert baseline["drift"] == []  # the first run had nothing to compare with


def fresh_project(tracked: TrackedProject) -> str:
    """A project of its own inside the server's root, where nothing was uploaded yet: its
    notebook has a tracked cell but its store does not exist."""
    import nbformat

    root = tracked.root / "fresh"
    root.mkdir(exist_ok=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'fresh'\n")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("%%track --drift fail train\nacc = 0.9")]
    nbformat.write(nb, root / "start.ipynb")
    return "fresh/start.ipynb"


async def test_a_project_with_no_store_yet_gets_empty_answers(
    jp_fetch: Fetch, tracked: TrackedProject
) -> None:
    notebook = fresh_project(tracked)
    info = await get(jp_fetch, "notebook", notebook=notebook)
    assert [c["run_name"] for c in info["cells"]] == ["train"]
    assert info["cells"][0]["options"]["drift"] == "fail"
    assert await get(jp_fetch, "experiments", notebook=notebook) == []
    page = await get(jp_fetch, "runs", notebook=notebook)
    assert page["runs"] == [] and page["experiment"] is None
    for path, params in ((("runs", "0" * 32), {}), (("diff",), {"run": ["a" * 32, "b" * 32]})):
        status, body = await refused(jp_fetch, *path, notebook=notebook, **params)
        assert (status, body["error"]) == (404, "RunNotFound")
    assert not (tracked.root / "fresh" / "mlflow.db").exists()


async def test_the_experiment_chosen_for_the_kernel_is_the_servers_too(
    jp_fetch: Fetch, tracked: TrackedProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBMLOPS_EXPERIMENT", "team-experiment")
    info = await get(jp_fetch, "notebook", notebook=tracked.notebook)
    assert info["experiment"] == "team-experiment"


async def test_a_run_id_of_5000_characters_is_a_missing_run(
    jp_fetch: Fetch, tracked: TrackedProject
) -> None:
    status, body = await refused(jp_fetch, "runs", "a" * 5000, notebook=tracked.notebook)
    assert status in (400, 404) and body["error"] in ("RunNotFound", "InvalidQuery")


async def test_no_answer_shows_an_absolute_server_path(
    jp_fetch: Fetch, tracked: TrackedProject
) -> None:
    answers = [
        await get(jp_fetch, "notebook", notebook=tracked.notebook),
        await get(jp_fetch, "experiments", notebook=tracked.notebook),
        await get(jp_fetch, "spool", notebook=tracked.notebook),
    ]
    text = json.dumps(answers)
    assert str(tracked.root) not in text and str(Path.home()) not in text
    assert answers[0]["tracking_uri"] == "sqlite:///mlflow.db"  # relative to the server root


async def _fit_runs(jp_fetch: Fetch, tracked: TrackedProject) -> list[dict[str, Any]]:
    page = await get(jp_fetch, "runs", notebook=tracked.notebook, cell="fit")
    return page["runs"]


async def test_a_runs_figure_is_served_as_an_image(
    jp_fetch: Fetch, tracked: TrackedProject
) -> None:
    run = (await _fit_runs(jp_fetch, tracked))[0]
    details = await get(jp_fetch, "runs", run["run_id"], notebook=tracked.notebook)
    assert details["images"] == ["figures/loss-curve.png"]
    response = await jp_fetch(*PREFIX.split("/"), "runs", run["run_id"], "image", method="GET",
                              params={"notebook": tracked.notebook,
                                      "path": "figures/loss-curve.png"})
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.body.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(response.body) > 1000


@pytest.mark.parametrize(("path", "status", "error"), [
    ("../../mlflow.db", 400, "InvalidQuery"),
    ("figures/../code/cell.py", 400, "InvalidQuery"),
    ("/etc/passwd", 400, "InvalidQuery"),
    ("figures\\..\\..\\x.png", 400, "InvalidQuery"),
    ("code/cell.py", 400, "InvalidQuery"),  # there, but not an image
    ("figures/absent.png", 404, "ArtifactNotFound"),
    ("", 400, "InvalidQuery"),
])
async def test_images_outside_the_runs_artifacts_are_refused(
    jp_fetch: Fetch, tracked: TrackedProject, path: str, status: int, error: str
) -> None:
    run = (await _fit_runs(jp_fetch, tracked))[0]
    code, body = await refused(jp_fetch, "runs", run["run_id"], "image",
                               notebook=tracked.notebook, path=path)
    assert (code, body["error"]) == (status, error)


async def test_an_image_over_the_limit_is_refused_before_download(
    jp_fetch: Fetch, tracked: TrackedProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nbmlops.runs import artifacts

    monkeypatch.setattr(artifacts, "MAX_IMAGE_BYTES", 100)
    run = (await _fit_runs(jp_fetch, tracked))[0]
    code, body = await refused(jp_fetch, "runs", run["run_id"], "image",
                               notebook=tracked.notebook, path="figures/loss-curve.png")
    assert (code, body["error"]) == (413, "ArtifactTooLarge")


async def test_the_diff_lists_each_runs_figures(
    jp_fetch: Fetch, tracked: TrackedProject
) -> None:
    fits = await _fit_runs(jp_fetch, tracked)
    evaluate = (await get(jp_fetch, "runs", notebook=tracked.notebook, cell="evaluate"))["runs"]
    diff = await get(jp_fetch, "diff", notebook=tracked.notebook,
                     run=[fits[0]["run_id"], fits[1]["run_id"], evaluate[0]["run_id"]])
    assert diff["images"] == [{"path": "figures/loss-curve.png", "present": [True, True, False]}]


async def test_runs_of_one_kernel_share_a_group(jp_fetch: Fetch, tracked: TrackedProject) -> None:
    runs = (await get(jp_fetch, "runs", notebook=tracked.notebook))["runs"]
    groups = {r["group"] for r in runs}
    assert len(groups) == 1 and None not in groups  # one shell ran all five cells
    assert all(r["parent_run_id"] is None and r["job"] is None for r in runs)


@pytest.mark.parametrize("route", ["export", "jobs/run", "jobs/schedule"])
@pytest.mark.parametrize("body", ["{not json", "[1, 2]", '"export"'])
async def test_a_body_that_is_no_json_object_is_a_400(
    jp_fetch: Fetch, tracked: TrackedProject, route: str, body: str
) -> None:
    with pytest.raises(HTTPClientError) as raised:
        await jp_fetch(*PREFIX.split("/"), *route.split("/"), method="POST", body=body)
    assert raised.value.code == 400
    assert raised.value.response is not None
    assert "the body must be a JSON object" in raised.value.response.body.decode()


async def test_a_page_size_must_be_an_integer_and_is_clamped(
    jp_fetch: Fetch, tracked: TrackedProject
) -> None:
    status, body = await refused(jp_fetch, "runs", notebook=tracked.notebook, page_size="ten")
    assert status == 400 and "page_size must be an integer" in body["message"]
    one = await get(jp_fetch, "runs", notebook=tracked.notebook, page_size=0)  # at least 1
    assert len(one["runs"]) == 1 and one["next_page_token"]
