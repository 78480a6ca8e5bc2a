"""The code slice in a real IPython shell: the code that really ran, stale inputs named when the
cell runs, ``--strict`` refusing before the code runs, ``%mlops slice``."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import shell_project
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from nbmlops import store
from nbmlops.record import RunRecord
from nbmlops.sync.spool import Spool
from nbmlops.track.slice import History


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return shell_project(tmp_path, monkeypatch, "notebooks/train.ipynb")


@pytest.fixture
def shell(ip: InteractiveShell) -> InteractiveShell:
    # One shell serves the whole test session; `ip` resets its namespace, and with it the
    # history (a test below shows it).
    return ip


def cell(ip: InteractiveShell, source: str, cell_id: str | None = None) -> tuple[Any, str]:
    """Run a cell as a notebook does (counted, with its id); its result and what it showed."""
    with capture_output() as out:
        result = ip.run_cell(source, store_history=True, cell_id=cell_id)
    shown = [o.data.get("text/plain", "") for o in out.outputs]
    return result, "\n".join([out.stdout, *shown])


def records(project: Path) -> list[tuple[RunRecord, dict[str, str]]]:
    """Each spooled record with its text artifacts, oldest first."""
    spool = Spool(project.parent / "spool")
    found = []
    for entry in sorted(spool.entries(), key=lambda e: spool.load(e).created):
        with zipfile.ZipFile(entry) as archive:
            files = {n: archive.read(n).decode() for n in archive.namelist()
                     if n.startswith("code/")}
        found.append((spool.load(entry), files))
    return found


def save_notebook(project: Path, cell_ids: list[str]) -> None:
    """The notebook as saved now: its cells, in this order."""
    path = project / "notebooks" / "train.ipynb"
    path.parent.mkdir(exist_ok=True)
    cells = [{"cell_type": "code", "id": i, "metadata": {}, "source": "", "outputs": [],
              "execution_count": None} for i in cell_ids]
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4,
                                "nbformat_minor": 5}))


def test_out_of_order_with_an_edited_cell_slices_the_code_that_ran(
    shell: InteractiveShell, project: Path
) -> None:
    cell(shell, "import numpy as np\nn = 50", "load")
    cell(shell, "X = np.arange(n)\nprint('unrelated')", "features")
    cell(shell, "import numpy as np\nn = 10", "load")  # edited and run again; features not
    result, shown = cell(shell, "%%track fit\nacc = float(X.mean())", "fit")
    assert result.success
    assert shell.user_ns["acc"] == 24.5

    [(record, files)] = records(project)
    script = files[store.SLICE_ARTIFACT]
    # The code that produced X, not the notebook's current text.
    assert "n = 50" in script and "n = 10" not in script
    assert script.index("n = 50") < script.index("X = np.arange(n)") < script.index("acc = ")
    assert "print('unrelated')" not in script
    reasons = record.tags[store.SLICE_REASONS_TAG]
    assert record.tags[store.SLICE_TAG] == "stale"
    assert "`X` comes from cell [1] as it was before your last edit" in reasons
    assert "`X` comes from cell [2], run before cell [3] made `n` again" in reasons
    # Said under the cell when it ran.
    assert "⚠ stale: `X` comes from cell [1] as it was before your last edit" in shown

    # Running the slice gives the same value.
    namespace: dict[str, Any] = {}
    exec(compile(script, "slice.py", "exec"), namespace)
    assert namespace["acc"] == 24.5


def test_hidden_state_is_in_the_slice(shell: InteractiveShell, project: Path) -> None:
    cell(shell, "import numpy as np\nimport pandas as pd", "imports")
    cell(shell, "offset = 3", "scratch")  # deleted from the notebook afterwards
    cell(shell, "def score(v):\n    return v\n", "helpers")
    cell(shell, "def score(v):\n    return v + offset\n", "helpers2")
    cell(shell, "df = pd.DataFrame({'a': [1.0, 2.0, None]})\nnp.random.seed(7)", "data")
    cell(shell, "df.dropna(inplace=True)\ndf['b'] = df['a'] * 2\ndf.head()", "clean")
    cell(shell, "print(df.shape)", "look")
    save_notebook(project, ["imports", "helpers", "helpers2", "data", "clean", "look", "fit"])
    body = "noise = float(np.random.rand())\nacc = score(float(df['b'].sum())) + noise"
    cell(shell, f"%%track fit --param lr=0.5\n{body}", "fit")

    [(record, files)] = records(project)
    script = files[store.SLICE_ARTIFACT]
    assert "offset = 3" in script  # from a cell deleted since
    assert script.count("def score") == 1 and "return v + offset" in script
    assert "df.dropna(inplace=True)" in script and "df['b'] = df['a'] * 2" in script
    assert "np.random.seed(7)" in script
    assert "print(df.shape)" not in script and "df.head()" not in script
    assert "`score` comes from cell [2], deleted since" in record.tags[store.SLICE_REASONS_TAG]

    namespace: dict[str, Any] = {}
    exec(compile(script, "slice.py", "exec"), namespace)
    assert namespace["acc"] == shell.user_ns["acc"]

    notebook = json.loads(files[store.SLICE_NOTEBOOK_ARTIFACT])
    parameters = [c for c in notebook["cells"] if "parameters" in c["metadata"].get("tags", [])]
    assert [c["source"] for c in parameters] == ["lr = 0.5"]
    last = notebook["cells"][-1]["source"]
    assert last.startswith("%%track fit --param lr=0.5\n") and last.endswith(body)


def test_a_clean_top_to_bottom_run_warns_of_nothing(
    shell: InteractiveShell, project: Path
) -> None:
    save_notebook(project, ["a", "b", "c", "d"])
    cell(shell, "import pandas as pd\nframe = pd.DataFrame({'x': [1, 2, 3]})", "a")
    cell(shell, "frame['y'] = frame['x'] ** 2\nscale = 2", "b")
    cell(shell, "frame = frame[frame['y'] > 1]", "c")
    _, shown = cell(shell, "%%track\nacc = float(frame['y'].mean()) * scale", "d")
    [(record, files)] = records(project)
    assert record.tags[store.SLICE_TAG] == "clean"
    assert store.SLICE_REASONS_TAG not in record.tags
    assert "stale" not in shown
    assert "# nbmlops.slice: clean" in files[store.SLICE_ARTIFACT]


def test_running_a_training_cell_again_is_not_stale(
    shell: InteractiveShell, project: Path
) -> None:
    # The commonest thing a user does: fit a freshly made estimator, then run the cell again.
    cell(shell, "from sklearn.datasets import load_iris\n"
                "from sklearn.tree import DecisionTreeClassifier\n"
                "X, y = load_iris(return_X_y=True)", "data")
    track = ("%%track fit\nclf = DecisionTreeClassifier(max_depth=2).fit(X, y)\n"
             "acc = clf.score(X, y)")
    _, first = cell(shell, track, "fit")
    _, again = cell(shell, track, "fit")
    assert "stale" not in first and "stale" not in again
    assert [r.tags[store.SLICE_TAG] for r, _ in records(project)] == ["clean", "clean"]


def test_a_frame_changed_in_place_after_the_cell_ran_is_named(
    shell: InteractiveShell, project: Path
) -> None:
    save_notebook(project, ["make", "model", "below"])
    cell(shell, "import pandas as pd\ndf = pd.DataFrame({'x': [1, 2, 3]})", "make")
    track = "%%track model\nacc = float(df['x'].mean())"
    _, first = cell(shell, track, "model")
    cell(shell, "df['x'] = df['x'] * 10", "below")  # a cell below, changing the frame
    _, again = cell(shell, track, "model")
    assert "stale" not in first
    assert ("⚠ stale: `df` comes from cell [3], below this one; `df` comes from cell [1], "
            "changed in place since by cell [3] (run after this cell)") in again


def test_a_cell_reading_what_its_own_last_run_left_is_stale(
    shell: InteractiveShell, project: Path
) -> None:
    cell(shell, "total = 0", "init")
    track = "%%track\ntotal = total + 1\nacc = total / 10"
    _, first = cell(shell, track, "fit")
    _, again = cell(shell, track, "fit")
    assert "stale" not in first
    assert "⚠ stale: `total` comes from an earlier run of this cell ([2])" in again


def test_a_cell_that_runs_twice_into_its_input_is_stale(
    shell: InteractiveShell, project: Path
) -> None:
    cell(shell, "total = 0", "init")
    cell(shell, "total += 5", "add")
    cell(shell, "total += 5", "add")  # the same cell run again
    _, shown = cell(shell, "%%track\nacc = total / 100", "fit")
    assert "`total` comes from cell [2] run again as [3]" in shown


def test_strict_fails_before_the_code_runs(shell: InteractiveShell, project: Path) -> None:
    cell(shell, "n = 5", "a")
    cell(shell, "m = n * 2", "b")
    cell(shell, "n = 6", "a")  # edited; b not run again
    result, shown = cell(shell, "%%track --strict\nran = True\nacc = m / 10", "c")
    assert not result.success and result.error_before_exec is not None
    assert "ran" not in shell.user_ns
    assert shown.count("\n") <= 2  # one line, no traceback
    assert "StaleStateError: %%track --strict: the cell did not run, an input is stale: " \
        "`m` comes from cell [1] as it was before your last edit" in shown
    assert records(project) == []

    # strict = true in [tool.nbmlops] does the same for every tracked cell.
    (project / "pyproject.toml").write_text("[project]\nname = 'demo'\n"
                                            "[tool.nbmlops]\nstrict = true\n")
    result, _ = cell(shell, "%%track\nran = True\nacc = m / 10", "c")
    assert result.error_before_exec is not None and "ran" not in shell.user_ns
    # A clean cell runs as usual.
    result, _ = cell(shell, "%%track\nran = True\nacc = n / 10", "d")
    assert result.success and shell.user_ns["ran"] is True
    # A setting that is not a boolean is said at once, in one line.
    (project / "pyproject.toml").write_text("[project]\nname = 'demo'\n"
                                            "[tool.nbmlops]\nstrict = 'yes'\n")
    with pytest.raises(UsageError, match="strict must be true or false"):
        shell.run_cell_magic("track", "", "acc = n / 10")


def test_a_name_static_analysis_cannot_trace_is_unsure(
    shell: InteractiveShell, project: Path
) -> None:
    cell(shell, "exec('hidden = 4')", "a")
    cell(shell, "%%track\nacc = hidden / 8", "b")
    [(record, files)] = records(project)
    assert record.tags[store.SLICE_TAG] == "unsure"
    assert "`hidden` has no definition" in record.tags[store.SLICE_REASONS_TAG]
    assert "exec('hidden = 4')" in files[store.SLICE_ARTIFACT]  # kept: it may bind it


def test_mlops_slice_shows_the_latest_slice(shell: InteractiveShell, project: Path) -> None:
    cell(shell, "k = 3", "a")
    cell(shell, "%%track fit\nacc = k / 4", "b")
    _, shown = cell(shell, "%mlops slice fit")
    assert "# cell [1]\nk = 3" in shown and "acc = k / 4" in shown
    _, latest = cell(shell, "%mlops slice")
    assert latest == shown
    with pytest.raises(UsageError, match="no tracked run 'nope'"):
        shell.run_line_magic("mlops", "slice nope")


def test_a_long_history_slices_to_what_the_cell_needs() -> None:
    # Slicing looks at the statements it keeps, whatever came before them.
    history = History()
    for i in range(2000):
        history.add(f"v{i} = {i}\nw = v{i} + 1", execution_count=i + 1)
    history.add("base = 1", execution_count=2001)
    cut = history.slice("acc = base + w", run_name="fit")
    assert [label for label, _ in cut.cells] == ["[2000]", "[2001]"]
    assert cut.cells[0][1] == "v1999 = 1999\nw = v1999 + 1\n"
    assert cut.verdict == "clean"


def test_cells_run_before_the_extension_was_loaded_are_in_the_history(
    project: Path,
) -> None:
    code = (
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "ip = InteractiveShell.instance()\n"
        "ip.run_cell('base = 40', store_history=True)\n"
        "ip.run_cell('%load_ext nbmlops', store_history=True)\n"
        "ip.run_cell('%%track fit\\nacc = base + 2', store_history=True)\n"
        "magics = ip.magics_manager.registry['TrackMagics']\n"
        "print(repr(magics.tracker.history.latest['fit']))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    script = eval(done.stdout.strip().splitlines()[-1])
    assert "# nbmlops.slice: clean" in script
    assert "# cell [1]\nbase = 40\n" in script


def test_strict_stops_a_real_kernel_before_the_code_runs(project: Path) -> None:
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in (
        "%load_ext nbmlops", "df = {}", "%%track t\ny = len(df)", "df['a'] = 1",
        "%%track t --strict\nprint('ran')\ny = len(df)", "print('after')",
    )]
    path = project / "strict.ipynb"
    nbformat.write(nb, str(path))
    with pytest.raises(PapermillExecutionError, match="StaleStateError"):
        papermill.execute_notebook(str(path), str(project / "out.ipynb"), kernel_name="python3",
                                   progress_bar=False, cwd=str(project))
    out = nbformat.read(str(project / "out.ipynb"), as_version=4)
    texts = [o.get("text", "") for c in out.cells for o in c.get("outputs", [])]
    errors = [o for c in out.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert [e.ename for e in errors] == ["StaleStateError"]
    assert errors[0].traceback == [
        "StaleStateError: %%track --strict: the cell did not run, an input is stale: `df` "
        "comes from cell [2], changed in place since by cell [4] (run after this cell) (run "
        "the cells it needs again, in order)"
    ]
    assert "ran\n" not in texts and "after\n" not in texts
    assert len(records(project)) == 1  # the first run of t only


def test_what_the_analysis_follows_beyond_assignments() -> None:
    history = History()
    history.add("counter = 0\nunused = 1")
    history.add("def bump():\n    global counter\n    counter += 1\n")
    history.add("bump()\nprint('x')")
    history.add("get_ipython().run_cell_magic('time', '', 'scale = 5\\n')")  # %%time
    history.add("if scale > 1:\n    scale = 2")  # may rebind: the earlier binding is kept
    history.add("items = []\nfor i in range(3):\n    items.append(i)")
    history.add("same = items\nsame.append(10)")  # changes `items` through another name
    history.add("sns.histplot(items)\nprint(items)\nitems.copy()")  # looks, changes nothing
    cut = history.slice("acc = counter * scale + len(items)", run_name="t")
    code = "".join(code for _, code in cut.cells)
    assert code == (
        "counter = 0\ndef bump():\n    global counter\n    counter += 1\nbump()\n"
        "scale = 5\nif scale > 1:\n    scale = 2\n"
        "items = []\nfor i in range(3):\n    items.append(i)\n"
        "same = items\nsame.append(10)\n"
    )
    namespace: dict[str, Any] = {}
    exec(cut.script(), namespace)
    assert namespace["acc"] == 6


def test_a_reset_namespace_starts_the_history_afresh(
    shell: InteractiveShell, project: Path
) -> None:
    cell(shell, "gone = 1", "a")
    cell(shell, "%reset -f", "b")
    cell(shell, "kept = 2", "c")
    cell(shell, "%%track\nacc = kept + (gone if 'gone' in dir() else 0)", "d")
    [(record, files)] = records(project)
    assert "gone = 1" not in files[store.SLICE_ARTIFACT]
    assert "kept = 2" in files[store.SLICE_ARTIFACT]
    assert "`gone` has no definition" in record.tags[store.SLICE_REASONS_TAG]
    assert "_nbmlops" not in cell(shell, "%who", "e")[1]  # the marker is hidden


def test_the_slice_is_redacted_like_the_cell(shell: InteractiveShell, project: Path) -> None:
    secret = "sk-live-8f3a9c2d7e6b5a41"
    cell(shell, f"api_key = {secret!r}\nurl = 'https://user:hunter22@db.example.com/x'", "a")
    cell(shell, "%%track\nacc = len(api_key) + len(url)", "b")
    [(_, files)] = records(project)
    for name in (store.SLICE_ARTIFACT, store.SLICE_NOTEBOOK_ARTIFACT):
        assert secret not in files[name] and "hunter22" not in files[name]
    assert 'api_key = "<redacted>"' in files[store.SLICE_ARTIFACT]


def test_a_cell_that_failed_part_way_makes_the_slice_unsure() -> None:
    history = History()
    history.add("y = 1")
    history.add("x = 1\nraise ValueError\ny = 2", failed=True)  # y = 2 never ran
    cut = history.slice("acc = y", run_name="t")
    assert "".join(code for _, code in cut.cells) == "y = 1\ny = 2\n"  # both kept
    assert cut.verdict == "unsure"
    assert cut.unsure == ["cell #2 failed part-way: which of its statements ran is unsure"]


def test_a_failed_cell_counts_up_to_the_line_it_stopped_at(
    shell: InteractiveShell, project: Path
) -> None:
    cell(shell, "y = 1", "a")
    cell(shell, "x = 5\nz = x + y\nraise ValueError('stop')\ny = 2", "b")
    assert shell.user_ns["y"] == 1
    cell(shell, "%%track\nacc = z + y", "c")
    [(record, files)] = records(project)
    script = files[store.SLICE_ARTIFACT]
    assert "# cell [1]\ny = 1\n\n# cell [2]\nx = 5\nz = x + y\n\n# the tracked cell" in script
    assert "y = 2" not in script  # never ran
    assert record.tags[store.SLICE_TAG] == "clean", record.tags  # what it needs ran whole


# -- the commonest workflows are not stale; state carried across them still is -------------------

NUMPY_CELLS = [
    ("imports", "import numpy as np"),
    ("data", "x = np.arange(10)"),
    ("score", "%%track score\nscore = float(np.mean(x))"),
]


def run_all(shell: InteractiveShell, cells: list[tuple[str, str]]) -> list[tuple[Any, str]]:
    """JupyterLab's Run All: every cell in order, each with its stable id."""
    return [cell(shell, source, cell_id) for cell_id, source in cells]


def test_run_all_twice_and_restart_run_all_are_not_stale(
    shell: InteractiveShell, project: Path
) -> None:
    save_notebook(project, [cell_id for cell_id, _ in NUMPY_CELLS])
    shown = [run_all(shell, NUMPY_CELLS)[-1][1], run_all(shell, NUMPY_CELLS)[-1][1]]
    # --strict runs the cell: nothing is stale.
    strict = [*NUMPY_CELLS[:2], ("score", "%%track score --strict\nran = True\n"
                                          "score = float(np.mean(x))")]
    result, strict_shown = run_all(shell, strict)[-1]
    assert result.success and shell.user_ns["ran"] is True
    cell(shell, "%reset -f")  # Restart & Run All: a fresh namespace
    shown += [strict_shown, run_all(shell, NUMPY_CELLS)[-1][1]]
    assert not [s for s in shown if "stale" in s]
    assert [r.tags[store.SLICE_TAG] for r, _ in records(project)] == ["clean"] * 4


def test_seeds_set_again_in_order_are_not_stale(shell: InteractiveShell, project: Path) -> None:
    cells = [
        ("imports", "import random\nimport numpy as np\nnp.random.seed(0)\nrandom.seed(0)"),
        ("data", "x = np.random.rand(5)"),
        ("fit", "%%track fit\nnp.random.seed(1)\nnoise = np.random.rand()\n"
                "score = float(x.sum()) + noise + random.random()"),
    ]
    save_notebook(project, [cell_id for cell_id, _ in cells])
    run_all(shell, cells)
    run_all(shell, cells)
    cell(shell, cells[-1][1], "fit")  # the tracked cell again: it seeds itself first
    assert [r.tags[store.SLICE_TAG] for r, _ in records(project)] == ["clean"] * 3


def test_a_training_cell_run_again_and_a_sweep_are_not_stale(
    shell: InteractiveShell, project: Path
) -> None:
    cell(shell, "from sklearn.datasets import load_iris\n"
                "from sklearn.linear_model import LogisticRegression\n"
                "X, y = load_iris(return_X_y=True)", "data")
    cell(shell, "C = 1.0", "hyper")
    train = ("%%track fit\nclf2 = LogisticRegression(C=C, max_iter=500)\nclf2.fit(X, y)\n"
             "acc = clf2.score(X, y)")
    shown = [cell(shell, train, "fit")[1], cell(shell, train, "fit")[1]]
    for c in [0.01 * 2 ** i for i in range(15)]:  # a sweep: the hyperparameter edited each time
        cell(shell, f"C = {c}", "hyper")
        shown.append(cell(shell, train, "fit")[1])
    assert not [s for s in shown if "stale" in s]
    assert [r.tags[store.SLICE_TAG] for r, _ in records(project)] == ["clean"] * 17


def test_a_cell_run_again_unchanged_is_not_stale_edited_it_is(
    shell: InteractiveShell, project: Path
) -> None:
    cell(shell, "import numpy as np\nn = 10", "load")
    cell(shell, "X = np.arange(n)", "features")
    cell(shell, "import numpy as np\nn = 10", "load")  # run again as it was: same n
    _, same = cell(shell, "%%track fit\nacc = float(X.mean())", "fit")
    cell(shell, "import numpy as np\nn = 20", "load")  # edited: X is from the old n
    _, edited = cell(shell, "%%track fit\nacc = float(X.mean())", "fit")
    assert "stale" not in same
    assert "⚠ stale: `X` comes from cell [1] as it was before your last edit" in edited
    assert "`X` comes from cell [2], run before cell [5] made `n` again" in edited


def test_state_a_second_run_all_carries_over_is_stale(
    shell: InteractiveShell, project: Path
) -> None:
    # A module lives on across imports: the second Run All counts from the first one's count.
    cells = [
        ("imports", "import types"),
        ("count", "types.counter = getattr(types, 'counter', 0) + 1"),
        ("t", "%%track\nacc = types.counter / 10"),
    ]
    first = run_all(shell, cells)[-1][1]
    second = run_all(shell, cells)[-1][1]
    cell(shell, "del types.counter")
    assert "stale" not in first
    assert "⚠ stale: `types` comes from cell [2] run again as [5]" in second


def test_a_loop_that_trains_on_what_its_last_run_left_says_so_once() -> None:
    # A PyTorch-style loop in the tracked cell run three times: the model keeps training.
    history = History()
    history.add("model = Net()\nopt = Opt(model)", cell_id="build", execution_count=1)
    body = "model.train()\nopt.step()\nloss = 0.5"
    for count in (2, 3, 4):
        history.add(body, cell_id="fit", tracked="fit", execution_count=count)
    cut = history.slice(body, run_name="fit", cell_id="fit")
    assert cut.stale == ["`model` comes from an earlier run of this cell ([4])",
                         "`opt` comes from an earlier run of this cell ([4])"]
    # Its arguments are not changed by a fit: re-running `clf.fit(X, y)` leaves X as it was.
    history.add("X = load()", cell_id="data", execution_count=5)
    fit = "clf = Model()\nclf.fit(X, y)\nacc = clf.score(X, y)"
    history.add(fit, cell_id="clf", tracked="clf", execution_count=6)
    assert history.slice(fit, run_name="clf", cell_id="clf").stale == []


@pytest.mark.kernel
def test_a_cell_run_again_under_papermill_makes_what_came_after_it_stale(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # nbclient sends no cell ids: the untracked cells are known by their source in the
    # notebook papermill runs, so a cell run again is the same cell, as in JupyterLab.
    import nbformat

    monkeypatch.delenv("NBMLOPS_NOTEBOOK")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in (
        "%load_ext nbmlops", "base = 1", "n = base", "m = n * 10", "base = 2",
        'get_ipython().run_cell("n = base");',  # the cell above `m` run again, `m` not
        "%%track use\nresult = m + 1",
    )]
    path = project / "again.ipynb"
    nbformat.write(nb, str(path))
    done = subprocess.run(
        [str(Path(sys.executable).parent / "papermill"), str(path), str(project / "out.ipynb"),
         "-k", "python3", "--no-progress-bar"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    [(record, _)] = records(project)
    assert record.notebook == "again.ipynb"
    assert record.tags[store.SLICE_TAG] == "stale"
    assert "`m` comes from cell" in record.tags[store.SLICE_REASONS_TAG]
    out = nbformat.read(str(project / "out.ipynb"), as_version=4)
    assert "⚠ stale: `m` comes from cell" in out.cells[-1].outputs[0]["data"]["text/plain"]
