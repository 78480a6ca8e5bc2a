"""Lineage against a real sqlite store: runs made by %%track, uploaded by `nbmlops sync`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from nbmlops import fingerprint
from nbmlops.cli import main
from nbmlops.runs import lineage
from nbmlops.sync.spool import Spool

NBMLOPS = str(Path(sys.executable).parent / "nbmlops")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, migrated_db: Path) -> Iterator[Store]:
    """Three tracked runs in two experiments, uploaded by `nbmlops sync`: made once for the
    module (a sync and a store cost seconds)."""
    tmp = tmp_path_factory.mktemp("lineage")
    db = tmp / "mlflow.db"
    shutil.copy(migrated_db, db)
    uri = f"sqlite:///{db}"
    root = tmp / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'lineage'\n")
    spool = Spool(tmp / "spool")
    patch = pytest.MonkeyPatch()
    patch.chdir(root)
    patch.setenv("MLFLOW_TRACKING_URI", uri)
    patch.setenv("NBMLOPS_SPOOL", str(spool.root))
    patch.setenv("NBMLOPS_NOTEBOOK", str(root / "pipeline.ipynb"))
    patch.setenv("NBMLOPS_AUTOSYNC", "0")
    try:
        pd.DataFrame({"x": np.arange(100.0)}).to_csv("raw.csv", index=False)
        InteractiveShell.clear_instance()  # a shell of this module's own, left to no one
        ip = InteractiveShell.instance()
        ip.run_line_magic("load_ext", "nbmlops")
        with capture_output():
            for line, body in [
                ("prep", "import pandas as pd\nclean = pd.read_csv('raw.csv')\n"
                 "clean = clean[clean.x > 9]"),
                ("train", "rmse = float(clean.x.mean())"),
                ("audit --experiment audits", "n = len(clean)"),
            ]:
                assert ip.run_cell(f"%%track {line}\n{body}").success
        done = subprocess.run([NBMLOPS, "sync", "--spool", str(spool.root)],
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        assert spool.entries() == []
        yield Store(uri, fingerprint(ip.user_ns["clean"]), root)
    finally:
        patch.undo()
        InteractiveShell.clear_instance()


@dataclass
class Store:
    uri: str
    clean: str  # the fingerprint of the frame prep wrote, train and audit read
    root: Path


def test_runs_that_read_or_wrote_a_fingerprint(store: Store) -> None:
    clean, uri = store.clean, store.uri
    runs = lineage.runs_using(clean, uri)
    assert [(r.run_name, r.read, r.wrote) for r in runs] == [
        ("prep", False, True), ("train", True, False), ("audit", True, False),
    ]
    assert {r.experiment for r in runs} == {"pipeline.ipynb", "audits"}
    assert all(r.digest == clean and r.dataset == "clean" for r in runs)
    assert runs[0].notebook == "pipeline.ipynb" and runs[0].status == "FINISHED"
    # the status line's 8 characters are enough; an experiment narrows the search
    assert [r.run_name for r in lineage.runs_using(clean[:8], uri)] == ["prep", "train", "audit"]
    assert [r.run_name for r in lineage.runs_using(clean, uri, experiments=["audits"])] == [
        "audit"
    ]
    assert lineage.runs_using("0" * 32, uri) == []
    # and the other way round: what a run read and wrote
    data = lineage.run_data(runs[0].run_id, uri)
    assert {(d.name, d.contexts) for d in data} >= {("clean", ("output",))}
    assert any(d.name.endswith("raw.csv") and d.contexts == ("input",) for d in data)


def test_profiles_reach_mlflow(store: Store) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(store.uri)
    prep, train, _ = lineage.runs_using(store.clean, store.uri)
    assert [a.path for a in client.list_artifacts(prep.run_id, "data")] == [
        "data/clean.output.json"
    ]
    [clean] = [d for d in client.get_run(train.run_id).inputs.dataset_inputs
               if d.dataset.name == "clean"]
    summary = json.loads(clean.dataset.profile)
    assert summary["num_rows"] == 90 and summary["null_fraction"] == 0.0
    assert "artifact" not in summary  # the entry is shared by prep's output and train's input
    path = client.download_artifacts(train.run_id, "data/clean.json", str(store.root))
    assert json.loads(Path(path).read_text())["columns"][0]["min"] == 10.0


def test_lineage_command(
    store: Store, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(store.root)

    def cli(*args: str) -> tuple[int, str, str]:
        status = main(["lineage", *args, "--tracking-uri", store.uri])
        out = capsys.readouterr()
        return status, out.out, out.err

    status, out, _ = cli(store.clean[:8])
    assert status == 0
    lines = out.splitlines()
    assert len(lines) == 3
    assert "wrote" in lines[0] and "prep (FINISHED)" in lines[0] and "clean" in lines[0]
    assert "read" in lines[1] and "train" in lines[1] and "in pipeline.ipynb" in lines[1]
    status, out, _ = cli(store.clean, "--json")
    as_json = json.loads(out)
    assert [r["run_name"] for r in as_json] == ["prep", "train", "audit"]
    assert as_json[0]["contexts"] == ["output"]

    status, out, _ = cli("raw.csv")  # a file is fingerprinted as it is now
    assert status == 0 and "read" in out and "prep" in out

    status, out, _ = cli("0123456789abcdef")
    assert status == 1 and out.startswith("no run read or wrote")
    status, _, err = cli("12ab")
    assert status == 2 and err == (
        "nbmlops: error: '12ab' is not a fingerprint: give 8 to 32 hex characters (the status "
        "line shows the first 8), or the path of a file\n"
    )

    # the installed command, as a shell runs it
    real = subprocess.run([NBMLOPS, "lineage", "xyz"], capture_output=True, text=True,
                          check=False)
    assert real.returncode == 2 and real.stderr.count("\n") == 1
    assert real.stderr.startswith("nbmlops: error: 'xyz' is not a fingerprint")
    real = subprocess.run([NBMLOPS, "lineage", store.clean, "--tracking-uri", store.uri],
                          capture_output=True, text=True, check=False)
    assert real.returncode == 0 and len(real.stdout.splitlines()) == 3


def test_a_store_that_does_not_exist_yet_has_no_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["lineage", "0123abcd", "--tracking-uri", f"sqlite:///{tmp_path}/none.db"])
    assert status == 1
    out = capsys.readouterr()
    assert out.out == "no run read or wrote data 0123abcd\n" and out.err == ""
    assert not (tmp_path / "none.db").exists()


@pytest.mark.parametrize("uri", ["garbage://x", "http://127.0.0.1:1"])
def test_a_store_that_cannot_be_read_is_one_line_within_seconds(uri: str) -> None:
    # MLflow's own retries against a dead server take minutes: this one fails on the first.
    done = subprocess.run([NBMLOPS, "lineage", "0123abcd", "--tracking-uri", uri],
                          capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("nbmlops: error: ")
