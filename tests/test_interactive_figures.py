"""plotly and Altair figures of a tracked cell: their JSON spooled by a real IPython shell, their
HTML pages and PNGs made by the sync process, uploaded into a real sqlite MLflow store."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from conftest import shell_project
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from mlflow import MlflowClient

from nbmlops.sync import worker
from nbmlops.sync.spool import Spool

pytest.importorskip("plotly")
pytest.importorskip("altair")

SETUP = """\
import pandas as pd
import plotly.io as pio
pio.renderers.default = "plotly_mimetype"  # what JupyterLab shows; a terminal opens a browser
"""
CELL = """\
import altair as alt
import plotly.express as px
rmse = {rmse}
scatter = px.scatter(x=[1, 2, 3], y=[3, 1, 2], labels={{"x": "epoch", "y": "loss"}},
                     title=f"loss rmse={{rmse}}")
px.bar(x=["a", "b"], y=[1, 2], labels={{"x": "group", "y": "count"}}, title="counts").show()
chart = alt.Chart(pd.DataFrame({{"a": [1, 2], "b": [2, 1]}})).mark_point().encode(
    x="a", y="b").properties(title=f"rmse={{rmse}}")
px.line(x=[1, 2], y=[2, 1])
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, migrated_db: Path) -> Path:
    root = shell_project(tmp_path, monkeypatch, "plots.ipynb")
    shutil.copy(migrated_db, root / "mlflow.db")
    return root


def test_plotly_and_altair_figures_become_pages_and_pngs_in_the_store(
    ip: InteractiveShell, project: Path
) -> None:
    with capture_output():
        assert ip.run_cell(SETUP).success
    for rmse in (55.8, 61.2):
        with capture_output() as out:
            result = ip.run_cell("%%track plots\n" + CELL.format(rmse=rmse))
        assert result.success, out.stdout + out.stderr
    # What the user sees is what plotly shows, and the status line: nothing of nbmlops' own.
    assert list(out.outputs[0].data) == ["application/vnd.plotly.v1+json"]
    assert "nbmlops" in out.outputs[-1].data["text/plain"]
    assert out.stderr == ""
    spool = Spool(project.parent / "spool")
    start = time.perf_counter()
    report = worker.drain(spool, timeout=300)
    took = time.perf_counter() - start
    assert report.ok and report.uploaded == 2, report.errors
    client = MlflowClient(f"sqlite:///{project / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("plots.ipynb").experiment_id])
    names = []
    renderer = shutil.which("chromium") or shutil.which("google-chrome")
    for run in runs:
        found = {a.path: a.file_size for a in client.list_artifacts(run.info.run_id, "figures")}
        names.append(sorted(found))
        stems = {"scatter", "count-vs-group", "y-vs-x"}
        for stem in stems:
            assert f"figures/{stem}.plotly.json" in found and f"figures/{stem}.html" in found
            # plotly.js inline: the page works offline (JupyterLab, the MLflow UI)
            assert found[f"figures/{stem}.html"] > 1_000_000
            assert (f"figures/{stem}.png" in found) == bool(renderer)
        assert "figures/chart.vega-lite.json" in found and "figures/chart.html" in found
        assert "figures/chart.png" in found  # vl-convert needs no browser
        here = Path(client.download_artifacts(run.info.run_id, "figures/captions.json",
                                              str(project.parent / run.info.run_id)))
        captions = json.loads(here.read_text())
        rmse = captions["chart"].removeprefix("rmse=")
        assert captions == {"scatter": f"loss rmse={rmse}", "count-vs-group": "counts",
                            "chart": f"rmse={rmse}"}
        page = Path(client.download_artifacts(run.info.run_id, "figures/scatter.html",
                                              str(project.parent / run.info.run_id)))
        text = page.read_text()
        assert 'src="https://' not in text and "loss rmse=" in text
    assert names[0] == names[1]  # the same figures line up, whatever the titles say
    print(f"sync of 2 runs with 3 plotly figures and 1 Altair chart each: {took:.1f} s")


def test_interactive_figures_are_named_by_variable_then_labels_then_position() -> None:
    import altair as alt
    import pandas as pd
    import plotly.graph_objects as go

    from nbmlops.track.figures import render

    named = go.Figure(go.Scatter(x=[1], y=[2]), layout={"title": {"text": "auc=0.91"}})
    labelled = go.Figure(layout={"xaxis": {"title": {"text": "epoch"}},
                                 "yaxis": {"title": {"text": "loss"}}, "title": "loss=0.2"})
    bare = go.Figure()
    chart = alt.Chart(pd.DataFrame({"a": [1]})).mark_bar().encode(
        x=alt.X("a", title="age"), y="count()")
    files = render([], {"roc": named, "part": alt.X("a"), "n": 3},
                   [named, labelled, bare, chart, labelled])
    # A count has no field: the chart is named by its one labelled axis.
    assert sorted(files) == [
        "figures/age.vega-lite.json", "figures/captions.json", "figures/figure-1.plotly.json",
        "figures/loss-vs-epoch.plotly.json", "figures/roc.plotly.json"]
    assert json.loads(files["figures/captions.json"]) == {"roc": "auc=0.91",
                                                           "loss-vs-epoch": "loss=0.2"}
    assert json.loads(files["figures/roc.plotly.json"])["layout"]["title"]["text"] == "auc=0.91"
