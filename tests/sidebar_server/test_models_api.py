"""``GET models``: the registered models of a notebook, for the sidebar, from versions that
``%%track --model`` cells in a real shell registered in a real sqlite store."""

from __future__ import annotations

import nbformat
import pytest
from tracked_project import TrackedProject, run_and_upload

from nbmlops import store

from .test_api import Fetch, get, refused

MODEL_NOTEBOOK = "notebooks/iris.ipynb"
FIT = """%%track fit --model clf=iris
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
X, y = load_iris(return_X_y=True, as_frame=True)
clf = LogisticRegression(max_iter={max_iter}).fit(X, y)
accuracy = clf.score(X, y)"""


@pytest.fixture(scope="session")
def model_notebook(tracked: TrackedProject) -> str:
    """Two versions of ``iris`` registered by ``notebooks/iris.ipynb``; v1 promoted."""
    from nbmlops import store
    from nbmlops.models import promotion

    cells = [(FIT.format(max_iter=n), {}) for n in (5, 500)]
    path = tracked.root / MODEL_NOTEBOOK
    assert run_and_upload(tracked.root, path, tracked.spool, cells) == 2
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(cells[-1][0])]
    nbformat.write(nb, path)
    promotion.promote(store.client(tracked.tracking_uri), "iris", "1")
    return MODEL_NOTEBOOK


async def test_a_notebooks_models_versions_aliases_and_champion_run(
    jp_fetch: Fetch, tracked: TrackedProject, model_notebook: str
) -> None:
    found = await get(jp_fetch, "models", notebook=model_notebook)
    assert found["notebook"] == model_notebook
    (model,) = found["models"]
    assert model["name"] == "iris"
    assert model["aliases"] == {"champion": "1", "challenger": "2"}
    v2, v1 = model["versions"]
    assert (v2["version"], v1["version"]) == ("2", "1")
    assert v1["aliases"] == ["champion"] and v2["aliases"] == ["challenger"]
    assert v1["metrics"]["accuracy"] < v2["metrics"]["accuracy"]
    assert v1["gates"].startswith("0/0 passed for champion against no champion")
    assert [r["how"] for r in v1["history"]["champion"]] == ["promoted"]
    assert v1["report"] == "evaluation/iris-v1.json"
    assert set(v1["data"]) == {"X", "y"}
    assert found["champion_runs"] == {"iris": v1["run_id"]}
    assert found["champion"] == store.CHAMPION  # the sidebar's name for the model in use


async def test_other_notebooks_see_their_own_models_only(
    jp_fetch: Fetch, tracked: TrackedProject, model_notebook: str
) -> None:
    mine = await get(jp_fetch, "models", notebook=tracked.notebook)
    assert mine["models"] == [] and mine["champion_runs"] == {}
    assert mine["champion"] == store.CHAMPION
    every = await get(jp_fetch, "models", notebook=tracked.notebook, all="1")
    assert "iris" in [m["name"] for m in every["models"]]


async def test_a_notebook_outside_the_root_is_refused(
    jp_fetch: Fetch, tracked: TrackedProject
) -> None:
    code, body = await refused(jp_fetch, "models", notebook="../elsewhere.ipynb")
    assert code == 403 and body["error"] == "OutsideRoot"
