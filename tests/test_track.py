"""``%%track`` in a real IPython shell: the cell behaves as untracked; the spool gets the record.

Autosync is off here so each test reads the record the cell spooled; upload is tested in the
sync and notebook tests.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import shell_project
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from nbmlops.record import RunRecord
from nbmlops.sync.spool import RECORD_FILE, Spool


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = shell_project(tmp_path, monkeypatch, "notebooks/train.ipynb")
    return root


def spooled(project: Path) -> list[tuple[RunRecord, Path]]:
    """Each spooled record, with its entry unpacked into a folder to look at."""
    spool = Spool(project.parent / "spool")
    found = []
    for entry in spool.entries():
        folder = project.parent / "unpacked" / entry.stem
        shutil.rmtree(folder, ignore_errors=True)
        # One read of the entry for its record and its files: an amendment may replace it
        # between two reads.
        with zipfile.ZipFile(entry) as archive:
            archive.extractall(folder)
            record = RunRecord.from_json(archive.read(RECORD_FILE).decode("utf-8"))
        found.append((record, folder))
    return found


def track(ip: InteractiveShell, line: str, body: str):  # type: ignore[no-untyped-def]
    with capture_output() as out:
        result = ip.run_cell(f"%%track {line}\n{body}")
    return result, out


def test_load_ext_imports_nothing_heavy() -> None:
    code = (
        "import sys\nfrom IPython.core.interactiveshell import InteractiveShell\n"
        "ip = InteractiveShell.instance()\nip.run_line_magic('load_ext', 'nbmlops')\n"
        "import nbmlops\nnbmlops.load_ipython_extension(ip)\n"
        "heavy = [m for m in ('mlflow', 'pandas', 'matplotlib', 'numpy') if m in sys.modules]\n"
        "print(heavy, 'track' in ip.magics_manager.magics['cell'])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[] True"


def test_cell_runs_as_untracked_and_records(ip: InteractiveShell, project: Path) -> None:
    result, out = track(
        ip, "train --param source=warehouse --tag team=ml",
        "import numpy as np\nlr = 0.05\nlayers = [64, 32]\nopt = 'adam'\nval_loss = 0.25\n"
        "acc = np.float32(0.5)\nprint('hello')\nlr * 2",
    )
    assert result.success and result.result == 0.1
    assert "hello" in out.stdout
    [status] = [o.data["text/plain"] for o in out.outputs]
    assert status.startswith("nbmlops ▸ train · 4 params · 2 metrics · 0 datasets · code ")
    assert ip.user_ns["acc"] == np.float32(0.5)

    [(record, entry)] = spooled(project)
    # Until it is uploaded, the line names the record: `nbmlops lineage RECORD` finds it.
    assert status.endswith(f"waiting to sync · record {record.record_id[:12]}")
    [shown] = out.outputs
    assert shown.metadata["nbmlops"]["record_id"] == record.record_id
    assert record.run_name == "train"
    assert record.experiment == "notebooks/train.ipynb"
    assert record.notebook == "notebooks/train.ipynb"
    assert record.tracking_uri == f"sqlite:///{project / 'mlflow.db'}"
    assert record.params == {
        "lr": "0.05", "layers": "[64, 32]", "opt": "adam", "source": "warehouse",
    }
    assert {m.name: m.value for m in record.metrics} == {"val_loss": 0.25, "acc": 0.5}
    assert record.tags == {"team": "ml", "nbmlops.slice": "clean"}
    assert record.outcome.status == "FINISHED"
    assert record.outcome.end_ms >= record.outcome.start_ms
    assert record.environment.python == sys.version.split()[0]
    assert "numpy" in record.environment.packages
    code = (entry / "code" / "cell.py").read_text()
    assert code.startswith("import numpy as np\nlr = 0.05")
    assert "numpy==" in (entry / "env" / "requirements.txt").read_text()


@pytest.mark.parametrize(
    "body",
    [
        "x = 3\nx;",
        "x = 3\nx",
        "print('a')\nfrom IPython.display import display\ndisplay({'k': 1})\n[1, 2]",
        "import asyncio\nawait asyncio.sleep(0)\n'awaited'",
        "def f(x):\n    return 1 / x\nf(0)",
    ],
)
def test_tracked_cell_behaves_as_untracked(ip: InteractiveShell, body: str) -> None:
    def outputs(source: str) -> tuple[object, str, list[object], str]:
        with capture_output() as out:
            result = ip.run_cell(source)
        shown = [o.data for o in out.outputs if "nbmlops ▸" not in o.data["text/plain"]]
        error = repr(result.error_in_exec)
        return result.result, out.stdout, shown, error

    untracked = outputs("# a first line, as %%track is\n" + body)
    tracked = outputs("%%track\n" + body)
    assert tracked == untracked


def test_user_exception_surfaces_unchanged(ip: InteractiveShell, project: Path) -> None:
    result, out = track(ip, "boom", "a = 1\nb = 0\na / b")
    assert isinstance(result.error_in_exec, ZeroDivisionError)
    # the traceback points at the user's line, numbered as in the cell (%%track is line 1)
    assert "----> 4" in out.stdout and "a / b" in out.stdout
    [(record, entry)] = spooled(project)
    assert record.outcome.status == "FAILED"
    assert record.outcome.error_type == "ZeroDivisionError"
    assert "a / b" in (entry / "error" / "traceback.txt").read_text()
    assert record.params == {"a": "1", "b": "0"}


def test_keyboard_interrupt_is_killed(ip: InteractiveShell, project: Path) -> None:
    result, _ = track(ip, "", "raise KeyboardInterrupt")
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    [(record, _)] = spooled(project)
    assert record.outcome.status == "KILLED"
    assert record.run_name.startswith("cell-")


def test_data_inputs_outputs_and_files(ip: InteractiveShell, project: Path) -> None:
    pd.DataFrame({"x": [1, 2, 3], "y": ["a", "b", "c"]}).to_csv("train.csv", index=False)
    ip.user_ns["raw"] = pd.DataFrame({"v": np.arange(10.0)})
    result, _ = track(
        ip, "",
        "import pandas as pd\ndf = pd.read_csv('train.csv')\nclean = raw[raw.v > 2]\n"
        "clean.to_csv('clean.csv')",
    )
    assert result.success
    [(record, _)] = spooled(project)
    by_name = {(d.name, d.context): d for d in record.datasets}
    raw = by_name[("raw", "input")]
    assert raw.kind == "dataframe" and raw.shape == [10, 1]
    assert raw.schema == [{"name": "v", "dtype": "float64"}]
    assert by_name[("clean", "output")].shape == [7, 1]
    assert by_name[("df", "output")].shape == [3, 2]
    # Files are named relative to the project: the same on every machine.
    train = by_name[("train.csv", "input")]
    assert train.kind == "file" and train.size_bytes == (project / "train.csv").stat().st_size
    assert ("clean.csv", "output") in by_name
    assert len({d.fingerprint for d in record.datasets}) == len(record.datasets)


def test_no_data_and_explicit_data(ip: InteractiveShell, project: Path) -> None:
    Path("extra.bin").write_bytes(b"\x00" * 10)
    ip.user_ns["frame"] = pd.DataFrame({"a": [1]})
    track(ip, "--no-data", "n = len(frame)")
    track(ip, "--data extra.bin", "m = len(frame)")
    (first, _), (second, _) = spooled(project)
    assert first.datasets == []
    assert {d.name for d in second.datasets} == {"frame", "extra.bin"}


def test_log_metric_steps_and_explicit_metric(ip: InteractiveShell, project: Path) -> None:
    result, _ = track(
        ip, "--metric n_trees",
        "import nbmlops\nn_trees = 7\nfor epoch in range(3):\n"
        "    loss = 1.0 / (epoch + 1)\n    nbmlops.log_metric('loss', loss)\n"
        "nbmlops.log_metric('lr', 0.1, step=10)",
    )
    assert result.success
    [(record, _)] = spooled(project)
    points = [(m.name, m.value, m.step) for m in record.metrics]
    assert points == [
        ("loss", 1.0, 0), ("loss", 0.5, 1), ("loss", 1 / 3, 2), ("lr", 0.1, 10), ("n_trees", 7.0, 0)
    ]


def test_secrets_never_recorded(ip: InteractiveShell, project: Path) -> None:
    secret = "AKIA" + "ABCDEFGHIJKLMNOP"
    result, _ = track(
        ip, "--param api_token=abc123 --tag password=hunter2",
        f"db_password = 'hunter2'\nendpoint = 'https://user:pa55word@db.example.com/x'\n"
        f"key_id = '{secret}'\nmax_tokens = 256",
    )
    assert result.success
    [(record, entry)] = spooled(project)
    dumped = (entry / "record.json").read_text() + (entry / "code" / "cell.py").read_text()
    for leaked in ("hunter2", "pa55word", secret, "abc123"):
        assert leaked not in dumped
    assert record.params["max_tokens"] == "256"
    assert ip.user_ns["db_password"] == "hunter2"  # the user's own values are untouched

    track(ip, "", "raise ConnectionError('cannot reach ' + endpoint)")
    _, (failed, files) = spooled(project)
    assert "pa55word" not in str(failed.outcome.error_message)
    assert "user:<redacted>@db.example.com" in str(failed.outcome.error_message)
    assert "pa55word" not in (files / "error" / "traceback.txt").read_text()


def test_figures_become_png_artifacts(ip: InteractiveShell, project: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    result, _ = track(
        ip, "", "import matplotlib.pyplot as plt\nfig = plt.figure()\nplt.plot([1, 2, 3])"
    )
    assert result.success
    [(record, entry)] = spooled(project)
    figures = [a for a in record.artifacts if a.startswith("figures/")]
    assert figures == ["figures/fig.png"]  # named after the variable that holds it
    assert (entry / figures[0]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.pyplot as plt

    plt.close("all")


def test_figures_are_named_by_what_stays_and_titles_are_captions(
    ip: InteractiveShell, project: Path
) -> None:
    """A title holding a value (``rmse=55.8``) would name the same figure differently in every
    run: names come from the variable, else the axes' labels, else the position."""
    import matplotlib

    matplotlib.use("Agg")
    body = ("import matplotlib.pyplot as plt\n"
            "fig, ax = plt.subplots()\nax.set_title(f'Residuals rmse={rmse}')\n"
            "plt.figure()\nplt.plot([1, 2])\nplt.xlabel('epoch')\nplt.ylabel('loss')\n"
            "plt.title(f'rmse={rmse}')\n"
            "plt.figure()\nplt.plot([2, 1])\nplt.title(f'{rmse} again')\n"
            "plt.figure()\nplt.plot([3, 1])\n"
            "roc_curve = plt.figure()\nroc_curve.suptitle(f'ROC rmse={rmse}')")
    names = []
    for rmse in (55.8, 61.2):
        ip.user_ns["rmse"] = rmse
        result, _ = track(ip, "", body)
        assert result.success
        ip.user_ns["plt"].close("all")
    for record, files in spooled(project):
        names.append(sorted(a for a in record.artifacts if a.startswith("figures/")))
        captions = json.loads((files / "figures/captions.json").read_text())
        rmse = captions["fig"].removeprefix("Residuals rmse=")
        assert captions == {"fig": f"Residuals rmse={rmse}", "loss-vs-epoch": f"rmse={rmse}",
                            "figure-1": f"{rmse} again", "roc-curve": f"ROC rmse={rmse}"}
    assert names[0] == names[1] == [
        "figures/captions.json", "figures/fig.png", "figures/figure-1.png",
        "figures/figure-2.png", "figures/loss-vs-epoch.png", "figures/roc-curve.png"]


def test_a_figure_from_before_the_cell_is_not_its_own_and_close_closes_the_current_one(
    ip: InteractiveShell, project: Path
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    ip.run_cell("import matplotlib.pyplot as plt\nold = plt.figure()\nold.suptitle('old')")
    body = ("new = plt.figure()\nnew.suptitle('new')\nloop = plt.figure()\n"
            "loop.suptitle('closed in the loop')\nplt.close(loop)\n"
            "plt.figure(old.number)\nplt.close()\n"  # the current figure: old, not new
            "kept = [plt.fignum_exists(f.number) for f in (old, new)]\nkeep_close = plt.close")
    result, _ = track(ip, "", body)
    assert result.success
    assert ip.user_ns["kept"] == [False, True]
    # pyplot's close again; one the cell kept still closes, after the cell as in it
    assert ip.run_cell("assert plt.close is not keep_close\nkeep_close('all')").success
    assert ip.user_ns["plt"].get_fignums() == []
    [(record, _)] = spooled(project)
    assert sorted(a for a in record.artifacts if a.startswith("figures/")) == [
        "figures/captions.json", "figures/loop.png", "figures/new.png"]
    ip.user_ns["plt"].close("all")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("--param novalue", "--param must look like NAME=VALUE"),
        ("--data missing.csv", "--data missing.csv: no such file or variable"),
        ("--bogus", "unrecognized arguments"),
        ('"unbalanced', "No closing quotation"),
        ("--expect /dev/zero", "a JSON file of at most 1024 KB is needed"),
        ("-e " + "x" * 501, "experiment name of 501 characters: MLflow takes at most 500"),
    ],
)
def test_bad_options_are_one_line_usage_errors(
    ip: InteractiveShell, project: Path, line: str, message: str
) -> None:
    result, _ = track(ip, line, "ran = True")
    assert isinstance(result.error_in_exec, UsageError)
    assert message in str(result.error_in_exec)
    assert "ran" not in ip.user_ns
    assert spooled(project) == []


def test_a_metric_that_cannot_be_read_drops_no_other(
    ip: InteractiveShell, project: Path
) -> None:
    ip.run_cell("class Odd:\n    shape = ()\n    @property\n    def dtype(self):\n"
                "        raise RuntimeError('no dtype')\n")
    result, _ = track(ip, "", "odd_acc = Odd()\nauc = 0.8\nloss = 0.1")
    assert result.success
    [(record, _)] = spooled(project)
    assert {m.name for m in record.metrics} == {"auc", "loss"}


def test_tracking_failure_never_breaks_the_cell(ip: InteractiveShell, project: Path) -> None:
    class Exotic(np.ndarray):
        @property
        def dtype(self):  # type: ignore[no-untyped-def, override]
            raise RuntimeError("exotic array refuses to say its dtype")

    ip.user_ns["weird"] = np.zeros(3).view(Exotic)
    with pytest.warns(UserWarning, match="nbmlops recorded the rest"):
        result, _ = track(ip, "", "size = weird.size\nauc = 0.9")
    assert result.success and ip.user_ns["size"] == 3
    [(record, _)] = spooled(project)
    assert [m.name for m in record.metrics] == ["auc"]
    assert record.warnings


def test_unwritable_spool_warns_and_the_cell_still_runs(
    ip: InteractiveShell, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = project / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("NBMLOPS_SPOOL", str(blocker / "spool"))
    with pytest.warns(UserWarning, match="not recorded"):
        result, _ = track(ip, "", "value = 42\nvalue")
    assert result.success and result.result == 42


def test_pyproject_config_is_used(ip: InteractiveShell, project: Path) -> None:
    (project / "pyproject.toml").write_text(
        "[tool.nbmlops]\ntracking_uri = 'sqlite:///store/runs.db'\nexperiment = 'churn'\n"
        "metric_patterns = ['gain*']\n"
    )
    track(ip, "", "gain_total = 3.5\nacc = 0.9")
    [(record, _)] = spooled(project)
    assert record.tracking_uri == f"sqlite:///{project / 'store' / 'runs.db'}"
    assert record.experiment == "churn"
    assert [m.name for m in record.metrics] == ["gain_total"]


def test_bad_pyproject_config_is_a_usage_error(ip: InteractiveShell, project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.nbmlops]\ntracking_url = 'x'\n")
    result, _ = track(ip, "", "ran = True")
    assert isinstance(result.error_in_exec, UsageError)
    assert "unknown key(s) in [tool.nbmlops]" in str(result.error_in_exec)
    assert "ran" not in ip.user_ns


def test_record_json_is_plain(project: Path, ip: InteractiveShell) -> None:
    track(ip, "", "score = 1")
    [(_, entry)] = spooled(project)
    raw = json.loads((entry / "record.json").read_text())
    assert raw["metrics"][0]["name"] == "score"


def test_extension_loads_from_ipython_config(tmp_path: Path) -> None:
    profile = tmp_path / "ipython" / "profile_default"
    profile.mkdir(parents=True)
    (profile / "ipython_config.py").write_text(
        "c.InteractiveShellApp.extensions = ['nbmlops']\n"
        "c.TrackMagics.metric_patterns = ['gain']\n"
    )
    code = (
        "ip = get_ipython(); m = ip.magics_manager.registry['TrackMagics']; "
        "print('track' in ip.magics_manager.magics['cell'], m.metric_patterns)"
    )
    out = subprocess.run(
        [Path(sys.executable).parent / "ipython", "--no-banner", "-c", code],
        capture_output=True, text=True, check=True,
        env={**os.environ, "IPYTHONDIR": str(tmp_path / "ipython")},
    )
    assert out.stdout.strip().splitlines()[-1] == "True ['gain']"


def test_warnings_and_rich_results_pass_through(ip: InteractiveShell, project: Path) -> None:
    with pytest.warns(RuntimeWarning, match="careful"):
        result, _ = track(
            ip, "",
            "import warnings, pandas as pd\nwarnings.warn('careful', RuntimeWarning)\n"
            "pd.DataFrame({'a': [1, 2]})",
        )
    assert result.success
    assert isinstance(result.result, pd.DataFrame) and list(result.result.a) == [1, 2]


def test_experiment_option_and_git_state(ip: InteractiveShell, project: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=project, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("-c", "user.email=a@b.c", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", "x")
    git("add", "pyproject.toml")
    git("-c", "user.email=a@b.c", "-c", "user.name=t", "commit", "-q", "-m", "y")
    (project / "pyproject.toml").write_text("[project]\nname = 'changed'\n")
    track(ip, "--experiment churn-model", "depth = 3")
    deadline = time.monotonic() + 20
    [(record, files)] = spooled(project)
    while record.environment.git_pending:  # spooled at once, amended when git answers
        assert time.monotonic() < deadline, "the record was never amended with git's answer"
        time.sleep(0.05)
        [(record, files)] = spooled(project)
    assert record.experiment == "churn-model"
    git_state = record.environment.git
    assert git_state is not None and git_state.branch == "main" and git_state.dirty
    assert git_state.commit and len(git_state.commit) == 40
    assert "name = 'changed'" in (files / "env" / "git.diff").read_text()


def test_a_repository_without_a_commit_is_no_commit_and_dirty(
    ip: InteractiveShell, project: Path
) -> None:
    # `git init` and nothing committed: the notebook is untracked, so is every file.
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=project, check=True)
    (project / "notebooks").mkdir()
    (project / "notebooks" / "train.ipynb").write_text("{}")
    track(ip, "", "depth = 3")
    deadline = time.monotonic() + 20
    [(record, files)] = spooled(project)
    while record.environment.git_pending:
        assert time.monotonic() < deadline, "the record was never amended with git's answer"
        time.sleep(0.05)
        [(record, files)] = spooled(project)
    git_state = record.environment.git
    assert git_state is not None and (git_state.commit, git_state.dirty) == (None, True)
    assert "# untracked: notebooks/train.ipynb" in (files / "env" / "git.diff").read_text()


def test_mlops_status_and_sync(ip: InteractiveShell, project: Path) -> None:
    track(ip, "first", "auc = 0.75")
    with capture_output() as out:
        ip.run_line_magic("mlops", "status")
    assert "pending:      1" in out.stdout
    with capture_output() as out:
        ip.run_line_magic("mlops", "sync")
    assert "1 uploaded" in out.stdout
    assert spooled(project) == []
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("notebooks/train.ipynb")
    assert experiment is not None
    [run] = client.search_runs([experiment.experiment_id])
    assert run.info.run_name == "first" and run.data.metrics == {"auc": 0.75}
    with pytest.raises(UsageError, match="unknown %mlops command 'bogus'"):
        ip.run_line_magic("mlops", "bogus")


def test_run_cell_magic_called_from_code(ip: InteractiveShell, project: Path) -> None:
    with capture_output():
        value = ip.run_cell_magic("track", "direct", "rmse = 0.5\nrmse * 2")
    assert value == 1.0
    [(record, _)] = spooled(project)
    assert record.run_name == "direct" and [m.name for m in record.metrics] == ["rmse"]
    with pytest.raises(ZeroDivisionError), capture_output():
        ip.run_cell_magic("track", "direct-fail", "1 / 0")
    assert [r.outcome.status for r, _ in spooled(project)] == ["FINISHED", "FAILED"]


def test_a_failed_cell_records_only_what_it_rebound(ip: InteractiveShell, project: Path) -> None:
    track(ip, "fit", "import pandas as pd\nauc = 0.9\nfrac = 0.25\n"
          "frame = pd.DataFrame({'a': [1]})")
    track(ip, "fit", "frac = 0.5\nraise RuntimeError('diverged')\nauc = 0.1\n"
          "frame = pd.DataFrame({'a': [2]})")
    first, (failed, _) = spooled(project)
    assert first[0].outcome.status == "FINISHED"
    assert [d.name for d in first[0].datasets] == ["frame"]
    assert failed.outcome.status == "FAILED"
    assert failed.metrics == []  # auc still holds the first run's value: not this run's
    assert failed.params == {"frac": "0.5"}
    assert [d.name for d in failed.datasets] == []
