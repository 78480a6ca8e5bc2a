"""A search's candidates (nested runs) stand under the run that made them, in the run lists the
sidebar and the panel read, never as runs of the notebook of their own; and the panel judges a
metric by the direction its code recorded. Real ``%%track`` cells in a real shell, uploaded to
a real sqlite store."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from conftest import shell_project
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from nbmlops.panel.widget import ComparePanel
from nbmlops.runs import notebook_runs, query
from nbmlops.server.jsonable import jsonable
from nbmlops.sync import worker

EXPERIMENT = "train.ipynb"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return shell_project(tmp_path, monkeypatch, EXPERIMENT)


def run(ip: InteractiveShell, code: str) -> None:
    with capture_output():
        result = ip.run_cell(code)
    assert result.error_in_exec is None and result.error_before_exec is None


def synced(project: Path) -> str:
    assert worker.drain(project.parent / "spool", timeout=120).ok
    return f"sqlite:///{project / 'mlflow.db'}"


@pytest.fixture
def searched(ip: InteractiveShell, project: Path) -> str:
    """Two runs of a search cell (five candidates each) and a run of another cell."""
    run(ip, "from sklearn.datasets import load_iris\n"
            "from sklearn.tree import DecisionTreeClassifier\n"
            "from sklearn.model_selection import GridSearchCV\n"
            "X, y = load_iris(return_X_y=True)")
    for folds in (3, 4):
        run(ip, "%%track train\n"
                f"folds = {folds}\n"
                "search = GridSearchCV(DecisionTreeClassifier(random_state=0),\n"
                "                      {'max_depth': [1, 2, 3, 4, 5, 6]}, cv=folds)\n"
                "search.fit(X, y)")
    run(ip, "%%track report\nacc = float(search.best_estimator_.score(X, y))")
    return synced(project)


def test_the_run_list_holds_the_search_runs_with_their_ranked_candidates(
    searched: str,
) -> None:
    page = query.search_runs(searched, EXPERIMENT)
    assert [r.run_name for r in page.runs] == ["report", "train", "train"]
    for train in page.runs[1:]:
        assert [c.candidate_rank for c in train.candidates] == [1, 2, 3, 4, 5]
        assert {c.candidate_of for c in train.candidates} == {"search"}
        assert all(c.parent_run_id == train.run_id for c in train.candidates)
        scores = [c.metrics["mean_test_score"] for c in train.candidates]
        assert scores == sorted(scores, reverse=True)
        assert train.candidates[0].params["max_depth"] == train.params["search.best.max_depth"]
    assert page.runs[0].candidates == []
    # The newest runs, as the panel reads them: the search runs, no candidate among them,
    # so the only param telling the cell's runs apart is the one the user changed.
    newest = query.last_runs(searched, EXPERIMENT, 10)
    assert [r.run_name for r in newest] == ["report", "train", "train"]
    assert "max_depth" not in query.varying_params(newest)
    assert "folds" in query.varying_params(newest)
    # What the sidebar receives: the candidates in the run's JSON, with their rank.
    sent = jsonable(page)
    assert [c["candidate_rank"] for c in sent["runs"][1]["candidates"]] == [1, 2, 3, 4, 5]


def test_a_notebooks_runs_from_several_places_leave_the_candidates_under_their_run(
    searched: str,
) -> None:
    own, places = notebook_runs.sources(searched, EXPERIMENT, EXPERIMENT)
    assert own is not None
    # The notebook's experiment and its runs found again by name: the merged listing.
    places.append(notebook_runs.Source((own.experiment_id,), "attributes.run_name = 'train'"))
    page = notebook_runs.notebook_runs(searched, places, experiment=own, max_results=3)
    assert page is not None
    assert [r.run_name for r in page.runs] == ["report", "train", "train"]
    assert [len(r.candidates) for r in page.runs] == [0, 5, 5]


def text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", fragment)).replace("\xa0", " ")


def compare(ip: InteractiveShell, line: str = "") -> ComparePanel:
    panel = ip.run_line_magic("mlops", f"compare {line}")
    assert isinstance(panel, ComparePanel)
    return panel


def column(panel: ComparePanel, key: str) -> list[str]:
    cells = re.findall(r'<div class="nbm-cell[^"]*"[^>]*>(.*?)</div>',
                       panel.column_widgets[key].value)
    return [text(c).strip() for c in cells]


def test_the_panel_folds_the_candidates_under_the_search_run(
    ip: InteractiveShell, searched: str
) -> None:
    panel = compare(ip)
    assert [r.run_name for r in panel.runs] == ["report", "train", "train"]
    assert "params.max_depth" not in panel.column_widgets or not any(
        column(panel, "params.max_depth"))
    folded = panel.candidates_view.value
    assert folded.count("<details") == 2  # one fold a search run, closed
    assert "<details open" not in folded
    shown = text(folded)
    assert "search: 5 candidates" in shown
    best = panel.runs[1].candidates[0]
    assert f"max_depth={best.params['max_depth']}" in shown
    assert re.search(r"#1\b", shown) and re.search(r"#5\b", shown)


def test_the_panel_judges_a_metric_by_the_direction_its_code_recorded(
    ip: InteractiveShell, project: Path
) -> None:
    run(ip, "from sklearn.metrics import mean_squared_error\ny = [1.0, 2.0, 3.0]")
    for guess in ("[1.0, 2.0, 3.5]", "[2.0, 3.0, 5.0]", "[1.0, 2.0, 3.1]"):
        run(ip, f"%%track fit\nscore = mean_squared_error(y, {guess})")
    synced(project)
    panel = compare(ip, "--metric score")
    # Lower is better, as mean_squared_error says: the lowest first and in bold.
    values = [r.metrics["score"] for r in panel.runs]
    assert values == sorted(values)
    cells = re.findall(r'<div class="nbm-cell[^"]*"[^>]*>(.*?)</div>',
                       panel.column_widgets["metrics.score"].value)
    assert [i for i, c in enumerate(cells) if "nbm-best" in c] == [0]
    panel.tabs.selected_index = 1  # the plots: the title says which way is better
    assert "lower is better" in panel.metrics_plot.value
