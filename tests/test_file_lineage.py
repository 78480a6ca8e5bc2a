"""Files a tracked cell reads and writes, however the code names them, recorded under names
that hold on another machine: in a real IPython shell, then in a real sqlite store through
``nbmlops sync`` and ``nbmlops lineage``."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from conftest import shell_project
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from nbmlops import fingerprint
from nbmlops.cli import main
from nbmlops.data import file_names
from nbmlops.record import DataRecord, RunRecord
from nbmlops.sync.spool import Spool
from nbmlops.track import file_calls

NBMLOPS = str(Path(sys.executable).parent / "nbmlops")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = shell_project(tmp_path, monkeypatch, "prep.ipynb")
    (root / "data").mkdir()
    pd.DataFrame({"x": [1.0, 2.0, 3.0]}).to_csv(root / "data" / "raw.csv", index=False)
    return root


def records(project: Path) -> list[RunRecord]:
    spool = Spool(project.parent / "spool")
    return [spool.load(entry) for entry in spool.entries()]


def files(record: RunRecord, context: str) -> dict[str, str]:
    """``{name: fingerprint}`` of the files the run read (``input``) or wrote (``output``)."""
    return {d.name: d.fingerprint for d in record.datasets
            if d.context == context and d.kind == "file"}


def run(ip: InteractiveShell, source: str) -> None:
    with capture_output():
        result = ip.run_cell(source)
    assert result.success, result.error_in_exec


# -- which call reads and which writes: one rule, resolved through the namespace -----------------


def test_paths_are_resolved_through_the_names_the_notebook_holds() -> None:
    namespace = {"out_path": "data/clean.csv", "base": Path("data"), "name": "model",
                 "n": 3}
    source = (
        "d.to_csv(out_path)\n"
        "d.to_parquet(f'{base}/{name}.parquet')\n"
        "import os\nfrom pathlib import Path\n"
        "np.save(Path(base) / 'arr.npy', a)\n"
        "joblib.dump(m, os.path.join(base, name + '.joblib'))\n"
        "with open(base / 'notes.txt', 'w') as f:\n    f.write('x')\n"
        "raw = pd.read_csv(os.path.join(base, 'raw.csv'))\n"
        "here = 'data/local.csv'\nd.to_csv(here)\n"
        "torch.save(net, f'{base}/net.pt')\n"
        "print(f'{n}.csv')\n"  # named, but neither read nor written
    )
    found = {(f.path, f.mode) for f in file_calls.classify(source, namespace)}
    assert found == {
        ("data/clean.csv", "write"), ("data/model.parquet", "write"),
        ("data/arr.npy", "write"), ("data/model.joblib", "write"),
        ("data/notes.txt", "write"), ("data/raw.csv", "read"), ("data/local.csv", "write"),
        ("data/net.pt", "write"),
    }
    # A name the cell binds to something unknown no longer resolves to the notebook's value.
    assert file_calls.classify("out_path = pick()\nd.to_csv(out_path)", namespace) == []


# -- finding: a file written through a variable is an output, never an input ---------------------


def test_a_file_written_through_a_variable_is_an_output_not_an_input(
    ip: InteractiveShell, project: Path
) -> None:
    run(ip, "out_path = 'data/clean.csv'\nbase = 'data'\nimport pandas as pd\n"
            "from pathlib import Path\nimport os")
    run(ip, "%%track prep\nd = pd.read_csv(os.path.join(base, 'raw.csv'))\nd.to_csv(out_path)")
    clean = project / "data" / "clean.csv"
    first_version = fingerprint(clean)
    run(ip, "%%track prep\nd = pd.read_csv(os.path.join(base, 'raw.csv'))\nd['x'] *= 2\n"
            "d.to_csv(out_path)\nd.to_csv(Path(base) / 'copy.csv')\n"
            "d.to_csv(f'{base}/fstring.csv')")
    second_version = fingerprint(clean)
    first, second = records(project)

    assert files(first, "output") == {"data/clean.csv": first_version}
    assert files(first, "input") == {"data/raw.csv": fingerprint(project / "data" / "raw.csv")}
    # Run 2 wrote a new version: it is its output; the version run 1 left is not its input.
    assert files(second, "output") == {
        "data/clean.csv": second_version,
        "data/copy.csv": fingerprint(project / "data" / "copy.csv"),
        "data/fstring.csv": fingerprint(project / "data" / "fstring.csv"),
    }
    assert set(files(second, "input")) == {"data/raw.csv"}


def test_a_file_read_then_written_is_both(ip: InteractiveShell, project: Path) -> None:
    run(ip, "path = 'data/raw.csv'\nimport pandas as pd")
    before = fingerprint(project / "data" / "raw.csv")
    run(ip, "%%track\nd = pd.read_csv(path)\nd['x'] += 1\nd.to_csv(path, index=False)")
    [record] = records(project)
    assert files(record, "input") == {"data/raw.csv": before}
    assert files(record, "output") == {"data/raw.csv": fingerprint(project / "data" / "raw.csv")}


# -- names that hold on another machine ----------------------------------------------------------


def test_files_are_named_relative_to_the_project_absolute_only_outside(
    ip: InteractiveShell, project: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere.csv"
    outside.write_text("y\n1\n")
    os.chdir(project / "data")  # the kernel's folder is not the project's
    run(ip, f"import pandas as pd\nd = pd.read_csv('raw.csv')\ne = pd.read_csv({str(outside)!r})")
    run(ip, "%%track\nn = len(pd.read_csv('raw.csv')) + len(pd.read_csv("
            f"{str(outside)!r}))\nd.to_csv('../out.csv')")
    [record] = records(project)
    assert set(files(record, "input")) == {"data/raw.csv", outside.as_posix()}
    assert set(files(record, "output")) == {"out.csv"}
    # The source (MLflow's dataset source) names it the same way: no machine's folder in it.
    [raw] = [d for d in record.datasets if d.name == "data/raw.csv"]
    assert raw.source == "data/raw.csv"


def test_names_recorded_before_resolve_under_the_current_root(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    (root / "data").mkdir(parents=True)
    assert file_names.name_of(str(root / "data" / "x.csv"), root) == "data/x.csv"
    assert file_names.name_of("/elsewhere/x.csv", root) == "/elsewhere/x.csv"
    assert file_names.path_of("data/x.csv", root) == str(root / "data" / "x.csv")
    # An old run's absolute name of a file under this root is that file's name now.
    assert file_names.name_of(file_names.path_of(str(root / "data" / "x.csv"), root),
                              root) == "data/x.csv"


def test_reproduce_checks_a_file_by_its_project_relative_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nbmlops.reproduce import checks
    from nbmlops.runs.entities import Dataset

    root = tmp_path / "moved"
    (root / "data").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (root / "data" / "x.csv").write_text("a\n1\n")
    monkeypatch.chdir(root / "data")
    digest = fingerprint(root / "data" / "x.csv")
    # Recorded on another machine, in another folder: named (and sourced) in the project.
    dataset = Dataset(name="data/x.csv", digest=digest, fingerprint=digest, context="input",
                      kind="file", source='{"uri": "data/x.csv"}')
    assert checks.file_path(dataset, root) == str(root / "data" / "x.csv")
    assert checks.changed_files([dataset], root) == []
    (root / "data" / "x.csv").write_text("a\n2\n")
    [change] = checks.changed_files([dataset], root)
    assert change.path == "data/x.csv" and change.now is not None


# -- through the store: `nbmlops lineage` --------------------------------------------------------


def test_lineage_lists_the_step_that_wrote_a_file_named_by_a_variable(
    ip: InteractiveShell, project: Path, sqlite_uri: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", sqlite_uri)
    run(ip, "out_path = 'data/clean.csv'\nimport pandas as pd")
    run(ip, "%%track prep\nd = pd.read_csv('data/raw.csv')\nd.to_csv(out_path)")
    run(ip, "%%track train\nloss = float(pd.read_csv(out_path).x.mean())")
    done = subprocess.run([NBMLOPS, "sync", "--spool", str(project.parent / "spool")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    capsys.readouterr()
    assert main(["lineage", "data/clean.csv", "--tracking-uri", sqlite_uri]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2, lines
    assert "wrote" in lines[0] and "data/clean.csv" in lines[0] and "prep" in lines[0]
    assert "read" in lines[1] and "data/clean.csv" in lines[1] and "train" in lines[1]


@pytest.mark.kernel
def test_a_pipeline_step_writing_through_a_parameter_is_the_writer(
    tmp_path: Path, migrated_db: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from test_pipelines import FINISHED, notebook, own_project
    from test_pipelines import run as run_steps

    from nbmlops.jobs.export.pipeline import export_pipeline
    from nbmlops.jobs.spec import load

    root = own_project(tmp_path, migrated_db, monkeypatch)
    monkeypatch.setenv("NBMLOPS_AUTOSYNC", "0")  # the pipeline uploads what its steps spooled
    prep = notebook(root / "prep.ipynb", [
        "%load_ext nbmlops",
        "%%track prep\nimport pandas as pd\nd = pd.read_csv(raw_path)\nd['x'] *= 2\n"
        "d.to_csv(out_path, index=False)"],
        "raw_path = 'data/raw.csv'\nout_path = 'data/clean.csv'")
    train = notebook(root / "train.ipynb", [
        "%load_ext nbmlops",
        "%%track train\nimport pandas as pd\nloss = float(pd.read_csv(clean_path).x.mean())"],
        "clean_path = 'data/clean.csv'")
    folder = export_pipeline([prep, train], name="weekly").folder
    assert load(folder).step("train").needs == ["prep"]
    assert run_steps(folder) == {"prep": FINISHED, "train": FINISHED}
    # Again, data/clean.csv there: what prep finds before it writes is not what it read.
    assert run_steps(folder, force=("prep", "train")) == {"prep": FINISHED, "train": FINISHED}

    capsys.readouterr()
    assert main(["lineage", "data/clean.csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [(line.split()[2], line.split()[7]) for line in lines] == [
        ("wrote", "prep"), ("read", "train"), ("wrote", "prep"), ("read", "train")], lines
    assert all(line.split()[4] == "data/clean.csv" for line in lines)


def test_runs_recorded_with_absolute_names_still_resolve(
    tmp_path: Path, spool: Spool, sqlite_uri: str, make_record: Callable[..., Path]
) -> None:
    from test_upload import Clients, push

    from nbmlops.reproduce import checks
    from nbmlops.runs import lineage, query

    root = tmp_path / "proj"
    (root / "data").mkdir(parents=True)
    (root / "data" / "x.csv").write_text("a\n1\n")
    digest = fingerprint(root / "data" / "x.csv")
    old_name = str(root / "data" / "x.csv")  # as runs named files before
    old = make_record(sqlite_uri, run_name="old", datasets=[
        DataRecord(old_name, "output", "file", digest, old_name)])
    new = make_record(sqlite_uri, run_name="new", datasets=[
        DataRecord("data/x.csv", "input", "file", digest, "data/x.csv")])
    clients = Clients()
    ids = [push(spool, entry, clients)["run_id"] for entry in (old, new)]

    # The export's wiring: both runs' uses are of one file, here.
    uses = lineage.notebook_files(["notebooks/train.ipynb"], sqlite_uri, root=root)
    assert {(u.path, u.contexts, u.run_id) for u in uses} == {
        (old_name, ("output",), ids[0]), (old_name, ("input",), ids[1])}
    # Lineage by the file: the writer recorded before, the reader recorded now.
    assert [(r.run_name, r.wrote) for r in lineage.runs_using(digest, sqlite_uri)] == [
        ("old", True), ("new", False)]
    # Reproduce finds the file the new run read, under this root.
    datasets = query.get_run(sqlite_uri, ids[1], history=False, artifacts=False).run.datasets
    assert [checks.file_path(d, root) for d in datasets] == [old_name]
