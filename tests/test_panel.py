"""``%mlops compare`` and ``nbmlops.compare``: the real widgets over a real MLflow store whose
runs were made by ``%%track`` (see ``tracked_runs``). Tests tick checkboxes, click header
buttons, page and refresh as a user does in the browser, and read what the widgets show."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from tracked_runs import (
    TrackedStore,
    contents,
    environment,
    own_copy,
    shell,
    track,
    upload,
)

import nbmlops
from nbmlops.panel.widget import ComparePanel


@pytest.fixture
def store(shared_runs: TrackedStore) -> Iterator[TrackedStore]:
    before = contents(shared_runs)
    with environment(shared_runs):
        yield shared_runs
    assert contents(shared_runs) == before, "a test changed the shared store"


@pytest.fixture
def ip(store: TrackedStore) -> InteractiveShell:
    return shell()


def compare(ip: InteractiveShell, line: str = "") -> ComparePanel:
    panel = ip.run_line_magic("mlops", f"compare {line}")
    assert isinstance(panel, ComparePanel)
    return panel


def text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).replace("\xa0", " ").strip()


def table(panel: ComparePanel) -> dict[str, list[str]]:
    """What each column of the table shows, by column key, top row first."""
    return {
        key: [text(c) for c in re.findall(r'<div class="nbm-cell[^"]*"[^>]*>(.*?)</div>', w.value)]
        for key, w in panel.column_widgets.items()
        if w in [box.children[1] for box in panel.table.children[1:]]  # type: ignore[attr-defined]
    }


def names(panel: ComparePanel) -> list[str]:
    return [re.sub(r"[0-9a-f]{8}$", "", n) for n in table(panel)["run_name"]]


def tick(panel: ComparePanel, *run_ids: str) -> None:
    for row in panel.rows:
        if row.run.run_id in run_ids:
            row.checkbox.value = True


# --- the table -----------------------------------------------------------------------------


def test_compare_shows_the_notebooks_runs(ip: InteractiveShell, store: TrackedStore) -> None:
    panel = compare(ip)
    shown = table(panel)
    assert store.experiment in text(panel.title.value)
    # newest first: fail, eval, deep, lower, base
    assert names(panel) == ["train", "evaluate", "train", "train", "train"]
    assert shown["status"] == ["● failed"] + ["● finished"] * 4
    assert shown["metrics.acc"] == ["0.5", "", "0.9", "0.86", "0.81"]
    assert shown["metrics.val_loss"] == ["", "", "0.3", "0.35", "0.42"]
    assert shown["metrics.loss"] == ["", "", "0.3333", "", ""]  # the last of the logged steps
    # params that differ between runs of one cell, and only those: the one evaluate run
    # lacks lr and depth, and its threshold has nothing to differ from
    assert shown["params.lr"] == ["0.2", "", "0.05", "0.05", "0.1"]
    assert shown["params.depth"] == ["3", "", "5", "3", "3"]
    assert "params.threshold" not in shown
    # short data fingerprints: the data changed between "lower" and "deep"
    data = shown["data"]
    assert data[0] == data[1] == ""
    assert re.fullmatch(r"raw [0-9a-f]{8}", data[2]) and data[3] == data[4] != data[2]
    assert all(d.endswith(("ms", " s")) for d in shown["duration"])
    # One shell ran every cell: one notebook execution, named by its session.
    assert len(set(shown["group"])) == 1 and shown["group"][0].startswith("session ")
    assert "tick two or more runs" in panel.caption.value
    assert panel.page_label.value and "page 1" in text(panel.page_label.value)
    assert panel.next_button.disabled and panel.prev_button.disabled
    assert "href" not in panel.column_widgets["run_name"].value  # no UI address configured


def test_best_value_on_the_page_is_bold(ip: InteractiveShell) -> None:
    panel = compare(ip)
    acc = re.findall(r"<div[^>]*>(.*?)</div>", panel.column_widgets["metrics.acc"].value)
    assert [i for i, cell in enumerate(acc) if "nbm-best" in cell] == [2]  # 0.9
    loss = re.findall(r"<div[^>]*>(.*?)</div>", panel.column_widgets["metrics.val_loss"].value)
    assert [i for i, cell in enumerate(loss) if "nbm-best" in cell] == [2]  # 0.3, lower wins


def test_sort_by_clicking_headers(ip: InteractiveShell) -> None:
    panel = compare(ip)
    panel.header_buttons["metrics.acc"].click()
    assert table(panel)["metrics.acc"] == ["0.9", "0.86", "0.81", "0.5", ""]  # best first
    assert panel.header_buttons["metrics.acc"].description == "acc ▼"
    panel.header_buttons["metrics.acc"].click()
    assert table(panel)["metrics.acc"] == ["0.5", "0.81", "0.86", "0.9", ""]  # missing last
    assert panel.header_buttons["metrics.acc"].description == "acc ▲"
    assert panel.header_buttons["start_time"].description == "started"

    panel.header_buttons["metrics.val_loss"].click()  # lower is better: ascending first
    assert table(panel)["metrics.val_loss"][:3] == ["0.3", "0.35", "0.42"]
    panel.header_buttons["run_name"].click()
    assert names(panel) == ["evaluate", "train", "train", "train", "train"]
    panel.header_buttons["params.lr"].click()
    assert table(panel)["params.lr"] == ["0.05", "0.05", "0.1", "0.2", ""]

    panel.header_buttons["duration"].click()  # MLflow cannot order by it: ordered here
    durations = [r.duration_s for r in panel.runs]
    assert durations == sorted(durations, reverse=True)
    assert "within this page" not in panel.caption.value  # one page: the order is exact


def test_pages_are_ordered_by_mlflow(ip: InteractiveShell, store: TrackedStore) -> None:
    panel = nbmlops.compare(page_size=2, metric="acc")
    assert isinstance(panel, ComparePanel)
    assert list(table(panel))[5] == "metrics.acc"  # the chosen metric comes first
    seen = [table(panel)["metrics.acc"]]
    assert not panel.next_button.disabled and panel.prev_button.disabled
    panel.next_button.click()
    seen.append(table(panel)["metrics.acc"])
    assert "page 2 · runs 3 to 4" in text(panel.page_label.value)
    # The evaluate run never logged acc: opened for acc, the panel leaves it out.
    assert seen == [["0.9", "0.86"], ["0.81", "0.5"]]
    assert panel.next_button.disabled
    panel.previous_page()
    assert table(panel)["metrics.acc"] == ["0.9", "0.86"]
    assert len(panel.rows) == 2 and len(panel.table.children[0].children) == 3  # type: ignore[attr-defined]


def test_cell_last_filter_and_metric_options(ip: InteractiveShell) -> None:
    assert names(compare(ip, "--cell evaluate")) == ["evaluate"]
    assert "cell <b>evaluate</b>" in compare(ip, "--cell evaluate").title.value
    assert names(compare(ip, "--last 2")) == ["train", "evaluate"]
    # Opened for a metric: the runs of the cells that logged it, best first.
    assert "evaluate" not in names(compare(ip, "--metric acc"))
    last = compare(ip, "--last 3 --metric acc")  # the 3 newest with acc, ordered by it
    assert table(last)["metrics.acc"] == ["0.9", "0.86", "0.5"]
    filtered = compare(ip, '--filter "metrics.acc > 0.85" --cell train')
    assert table(filtered)["metrics.acc"] == ["0.9", "0.86"]
    assert compare(ip, '--filter "params.depth = \'5\'"').runs[0].params["lr"] == "0.05"


# --- selecting runs: the side-by-side diff -------------------------------------------------


def test_ticking_two_runs_shows_them_side_by_side(
    ip: InteractiveShell, store: TrackedStore
) -> None:
    panel = compare(ip)
    assert "Tick two or more runs" in panel.diff_view.value
    tick(panel, store.run_ids["base"])
    assert "(1 ticked)" in panel.diff_view.value
    tick(panel, store.run_ids["deep"])
    diff = panel.diff_view.value
    # the selected rows are highlighted in the table
    assert panel.column_widgets["status"].value.count("background") == 2
    # params: the differing ones highlighted, the baseline (older run) first
    rows = re.findall(r"<tr([^>]*)><th[^>]*>(.*?)</th>(.*?)</tr>", diff)
    params = {text(name): (attrs, [text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", cells)])
              for attrs, name, cells in rows}
    assert params["lr"] == (' style="background: rgba(255, 183, 0, 0.22)"', ["0.1", "0.05"])
    assert params["depth"][1] == ["3", "5"] and "background" in params["depth"][0]
    # metrics: the better value marked, by the metric's name
    assert params["acc ↑"][1] == ["0.81", "0.9 ★"]
    assert params["val_loss ↓"][1] == ["0.42", "0.3 ★"]
    assert params["loss ↓"][1] == ["—", "0.3333"]  # only one run has it: nothing to compare
    # data: same name, other fingerprint
    raw = next(k for k in params if k.startswith("raw"))
    assert "changed" in raw and len(set(params[raw][1])) == 2
    assert "same Python and package versions" in diff
    # the code: a highlighted unified diff
    assert "-lr = 0.1" in text(diff) and "+lr = 0.05" in text(diff)
    assert re.search(r'<div style="background: rgba\(46, 160, 67, 0.18\)">\+# deeper trees', diff)

    panel.clear_button.click()
    assert not panel.selected and "Tick two or more runs" in panel.diff_view.value
    assert all(not r.checkbox.value for r in panel.rows)


def test_selection_survives_paging_and_sorting(ip: InteractiveShell, store: TrackedStore) -> None:
    panel = nbmlops.compare(page_size=2)
    tick(panel, store.run_ids["fail"])
    panel.next_button.click()
    tick(panel, store.run_ids["deep"])
    panel.next_button.click()
    tick(panel, store.run_ids["base"])
    assert len(panel.selected) == 3
    assert text(panel.diff_view.value).count("same code") == 0
    assert panel.diff_view.value.count("<th>train") >= 3  # three runs side by side
    panel.header_buttons["metrics.acc"].click()  # back to page 1, ticks kept
    assert [r.checkbox.value for r in panel.rows] == [True, False]  # 0.9 (deep), 0.86
    row = next(r for r in panel.rows if r.checkbox.value)
    row.checkbox.value = False  # unticking from the table
    assert store.run_ids["deep"] not in panel.selected


def test_plots_are_drawn_when_the_tab_opens(ip: InteractiveShell, store: TrackedStore) -> None:
    panel = compare(ip, "--metric acc")
    assert panel.metrics_plot.value == ""  # nothing drawn before the tab is opened
    panel.tabs.selected_index = 1
    svg = panel.metrics_plot.value
    assert svg.startswith("<svg")
    # In the theme's colours on a transparent ground: it reads in light and dark themes.
    assert "var(--jp-ui-font-color1" in svg and "#ffffff" not in svg.lower()
    labels = re.findall(r"<text[^>]*>([^<]*)</text>", svg) or re.findall(r"<!-- (.*?) -->", svg)
    # The runs in the table's order (acc, best first), on an axis scaled to the values.
    order = [f"train {r.run_id[:6]}" for r in panel.runs]
    assert [t for t in labels if t in order][: len(order)] == order
    assert "0.0" not in labels and "0.00" not in labels
    assert panel.plot_metric.options[:1] == ("acc",) and "lr" in panel.plot_param.options
    assert "The 4 runs shown" in panel.plots_note.value
    panel.plot_param.value = "lr"
    by_lr = panel.scatter_plot.value
    panel.plot_param.value = "depth"
    by_depth = panel.scatter_plot.value
    assert by_lr.startswith("<svg") and by_depth.startswith("<svg") and by_depth != by_lr
    tick(panel, store.run_ids["base"], store.run_ids["lower"])
    assert "The 2 runs ticked" in panel.plots_note.value


def test_links_to_the_mlflow_ui(
    ip: InteractiveShell, store: TrackedStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBMLOPS_UI_URL", "http://127.0.0.1:5999/")
    panel = compare(ip)
    experiment_id = panel.experiment.experiment_id
    run_id = store.run_ids["fail"]
    view = "?workflowType=machine_learning"  # MLflow's model-training view, not GenAI
    run_link = f'href="http://127.0.0.1:5999/#/experiments/{experiment_id}/runs/{run_id}{view}"'
    assert run_link in panel.column_widgets["run_name"].value
    assert f'http://127.0.0.1:5999/#/experiments/{experiment_id}/runs{view}"' in panel.title.value


def test_refresh_shows_new_runs(tmp_path: Path, shared_runs: TrackedStore) -> None:
    store = own_copy(shared_runs, tmp_path)  # it adds runs
    with environment(store):
        refresh_shows_new_runs(shell(), store)


def refresh_shows_new_runs(ip: InteractiveShell, store: TrackedStore) -> None:
    track(ip, "first", "auc = 0.7\nseed = 1", experiment="refresh-test")
    upload(store)
    panel = compare(ip, "refresh-test")
    assert names(panel) == ["first"]
    tick(panel, panel.runs[0].run_id)
    track(ip, "first", "auc = 0.8\nseed = 2", experiment="refresh-test")
    upload(store)
    assert names(panel) == ["first"]  # nothing moves by itself
    panel.refresh_button.click()
    assert names(panel) == ["first", "first"]
    assert table(panel)["params.seed"] == ["2", "1"]  # a param that now differs
    assert [r.checkbox.value for r in panel.rows] == [False, True]  # the tick stayed
    tick(panel, panel.runs[0].run_id)
    assert "0.8 ★" in text(panel.diff_view.value)


def test_directions_from_pyproject(ip: InteractiveShell, store: TrackedStore) -> None:
    pyproject = store.root / "pyproject.toml"
    before = pyproject.read_text()
    pyproject.write_text(before + "\n[tool.nbmlops]\nmetric_directions = { acc = 'min' }\n")
    try:
        panel = compare(ip, "--metric acc")
    finally:
        pyproject.write_text(before)
    assert table(panel)["metrics.acc"][:2] == ["0.5", "0.81"]  # "best" first: lowest


# --- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("no-such-notebook.ipynb", "no experiment 'no-such-notebook.ipynb' in sqlite:///"),
        ('--filter "metrics.acc >>> 1"', "MLflow rejected the filter 'metrics.acc >>> 1'"),
        ('--filter "colour = 1"', "MLflow rejected the filter 'colour = 1'"),
        ("--last 0", "--last must be a positive number of runs"),
        ("--bogus", "unrecognized arguments: --bogus"),
    ],
)
def test_errors_are_one_line_usage_errors(ip: InteractiveShell, line: str, message: str) -> None:
    with pytest.raises(UsageError) as raised:
        compare(ip, line)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_unknown_experiment_names_the_ones_there(ip: InteractiveShell, store: TrackedStore) -> None:
    with pytest.raises(UsageError, match=r"experiments there: .*notebooks/compare\.ipynb"):
        compare(ip, "nope")


def test_a_filter_typed_into_the_panel(ip: InteractiveShell) -> None:
    panel = compare(ip)
    panel.filter_text.value = "params.lr = "
    assert "MLflow rejected the filter" in panel.message.value
    assert len(panel.runs) == 5 and panel.filter == ""  # the table stays as it was
    panel.filter_text.value = "params.lr = '0.05'"
    assert panel.message.value == ""
    assert table(panel)["params.depth"] == ["5", "3"]


def test_notebook_without_uploaded_runs(
    ip: InteractiveShell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'empty'\n")
    monkeypatch.setenv("NBMLOPS_NOTEBOOK", str(tmp_path / "fresh.ipynb"))
    with pytest.raises(UsageError, match=r"no experiment 'fresh\.ipynb': no MLflow store at"):
        compare(ip)
    assert not (tmp_path / "mlflow.db").exists()  # looking never creates a store


def test_load_ext_stays_light_and_compare_is_public() -> None:
    code = (
        "import sys\nfrom IPython.core.interactiveshell import InteractiveShell\n"
        "ip = InteractiveShell.instance()\nip.run_line_magic('load_ext', 'nbmlops')\n"
        "import nbmlops\nassert callable(nbmlops.compare) and 'compare' in nbmlops.__all__\n"
        "heavy = ('mlflow', 'pandas', 'matplotlib', 'ipywidgets', 'nbmlops.runs.query')\n"
        "print([m for m in heavy if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_help(ip: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    assert ip.run_line_magic("mlops", "compare -h") is None
    out = capsys.readouterr().out
    assert "%mlops compare [--cell NAME] [--metric NAME] [--last N]" in out
    assert "metrics.auc > 0.8" in out


def test_data_diff_shows_the_drift_alerts(
    tmp_path: Path, migrated_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from tracked_project import TrackedProject, add_drift_runs

    root = tmp_path / "project"
    (root / "notebooks").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        "[project]\nname = 'etl'\n\n[tool.nbmlops]\nspool = '.nbmlops/spool'\n"
    )
    shutil.copy(migrated_db, root / "mlflow.db")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    notebook = add_drift_runs(TrackedProject(root, "", root / ".nbmlops" / "spool", uri))
    panel = nbmlops.compare(notebook, tracking_uri=uri)
    tick(panel, *(row.run.run_id for row in panel.rows))
    diff = panel.diff_view.value
    drift = re.search(r"<tr><th[^>]*>data drift</th>(.*?)</tr>", diff)
    assert drift, diff
    older, newer = re.findall(r"<td[^>]*>(.*?)</td>", drift.group(1))
    assert older == "" and "⚠ raw.amount: mean" in text(newer)
    assert 'role="alert"' in drift.group(1)


def test_a_jobs_runs_are_one_execution_in_the_panel() -> None:
    from nbmlops import store
    from nbmlops.panel.widget import _execution
    from nbmlops.runs.entities import RunSummary

    job = RunSummary("j" * 32, "weekly 2026", "1", "FINISHED", 1, 2,
                     tags={store.JOB_TAG: "weekly"})
    cell = RunSummary("c" * 32, "train", "1", "FINISHED", 1, 2, tags={
        store.PARENT_RUN_TAG: "j" * 32, store.SESSION_TAG: "s" * 32})
    assert (_execution(job), _execution(cell)) == ("job weekly", "job run jjjjjjjj")
    assert job.group == cell.group == "j" * 32  # ordered by execution, they stand together


def _run(run_id: str, params: dict[str, str], metrics: dict[str, float],
         tags: dict[str, str] | None = None, start: int = 1) -> Any:
    from nbmlops.runs.entities import RunSummary

    return RunSummary(run_id * 32, "train", "1", "FINISHED", start, start + 1, params=params,
                      metrics=metrics, tags=tags or {})


def test_the_diff_shows_metrics_first_and_folds_the_params_that_agree() -> None:
    from nbmlops.panel.render import diff_html
    from nbmlops.runs.diff import compare as compare_runs
    from nbmlops.runs.entities import RunDetails

    same = {f"pre.step{i}": "x" for i in range(70)}
    a = _run("a", {**same, "lr": "0.1"}, {"rmse": 55.8})
    b = _run("b", {**same, "lr": "0.5"}, {"rmse": 54.1})
    page = diff_html(compare_runs([RunDetails(a), RunDetails(b)]), lambda r: None)
    assert page.index("<h4>Metrics") < page.index("<h4>Parameters")
    assert "(1 differs)" in text(page) or "(1 differ)" in text(page)
    fold = page.index("<details")
    assert page.index(">lr<") < fold < page.index(">pre.step0<")
    assert "70 the same in every run" in text(page[fold:])


def test_a_reproduction_stands_under_the_run_it_reproduces() -> None:
    from nbmlops import store
    from nbmlops.panel.widget import nested_reproductions

    original = _run("o", {}, {}, start=1)
    other = _run("x", {}, {}, start=2)
    again = _run("r", {}, {}, {store.REPRODUCES_TAG: "o" * 32}, start=3)
    orphan = _run("q", {}, {}, {store.REPRODUCES_TAG: "gone"}, start=4)
    runs = [orphan, again, other, original]  # newest first
    assert [r.run_id[0] for r in nested_reproductions(runs)] == ["q", "x", "o", "r"]
