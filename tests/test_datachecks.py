"""Data checks of ``%%track`` cells in a real IPython shell: profiles, drift, expectations.

Autosync is off: each test reads the records its cells spooled. The profile store (the
baselines) lives in the test's own spool.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import shell_project
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from nbmlops.record import RunRecord
from nbmlops.sync.spool import Spool
from nbmlops.track.datachecks import DataCheckError


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = shell_project(tmp_path, monkeypatch, "etl.ipynb")
    return root


def records(project: Path) -> list[tuple[RunRecord, dict[str, bytes]]]:
    """Each spooled record, oldest first, with its artifact files."""
    spool = Spool(project.parent / "spool")
    found = []
    for entry in spool.entries():
        with zipfile.ZipFile(entry) as archive:
            files = {n: archive.read(n) for n in archive.namelist()}
        found.append((spool.load(entry), files))
    return found


def run(ip: InteractiveShell, line: str, body: str) -> tuple[Any, Any]:
    with capture_output() as out:
        result = ip.run_cell(f"%%track {line}\n{body}")
    return result, out


def shown(out: Any) -> str:
    return "\n".join(o.data["text/plain"] for o in out.outputs)


def sales(n: int, seed: int, shift: float = 0.0, cities: tuple[str, ...] = ("Paris", "Lyon"),
          ) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "amount": rng.normal(100 + 20 * shift, 20, n),
        "city": rng.choice(list(cities), n),
    })


LOAD = "clean = raw.dropna()\nrows = len(clean)\nrows"


def test_inputs_and_outputs_are_profiled(ip: InteractiveShell, project: Path) -> None:
    ip.user_ns["raw"] = sales(1000, 1).assign(note=[None] * 999 + ["x"])
    result, _ = run(ip, "load", "clean = raw[raw.amount > 0]\nrows = len(clean)\nrows")
    assert result.success and result.result == 1000
    [(record, files)] = records(project)
    raw = json.loads(files["data/raw.json"])
    assert raw["context"] == "input" and raw["rows"] == 1000
    assert raw["fingerprint"] == next(d.fingerprint for d in record.datasets if d.name == "raw")
    assert {c["name"]: c["kind"] for c in raw["columns"]} == {
        "amount": "numeric", "city": "categorical", "note": "categorical",
    }
    assert "data/clean.output.json" in files
    [raw_record] = [d for d in record.datasets if d.name == "raw"]
    assert raw_record.profile == {
        "rows": 1000, "columns": 3, "null_fraction": pytest.approx(999 / 3000, abs=1e-6),
        "columns_with_nulls": ["note"],
    }
    assert "data/drift.json" not in files and "nbmlops.drift" not in record.tags


def test_drift_warns_under_the_cell_and_is_recorded(ip: InteractiveShell, project: Path) -> None:
    ip.user_ns["raw"] = sales(5000, 1)
    run(ip, "load", LOAD)
    ip.user_ns["raw"] = sales(5000, 2)  # a fresh sample of the same data
    quiet, out = run(ip, "load", LOAD)
    assert quiet.success and "nbmlops ⚠" not in shown(out)
    ip.user_ns["raw"] = sales(5000, 3, shift=1.0, cities=("Paris", "Lyon", "Brest"))
    result, out = run(ip, "load", LOAD)
    assert result.success and result.result == 5000  # warn: the cell is not failed
    alert = shown(out).split("nbmlops ⚠ ", 1)[1]
    assert alert.startswith("data changed since the last successful run of load (")
    assert "raw.amount: mean 1" in alert and "(PSI" in alert
    assert "raw.city: new value 'Brest'" in alert

    (_, first), (second, _), (third, files) = records(project)
    assert "data/drift.json" not in first  # no baseline yet
    assert second.tags["nbmlops.drift"] == "none"
    assert second.tags["nbmlops.schema_change"] == "none"
    assert third.outcome.status == "FINISHED"
    assert third.tags["nbmlops.drift"].startswith("raw.amount: mean")
    assert third.tags["nbmlops.drift_baseline"] == second.record_id
    report = json.loads(files["data/drift.json"])
    assert report["drift"] and report["mode"] == "warn"
    assert report["baseline"]["record_id"] == second.record_id
    raw = next(d for d in report["data"] if d["name"] == "raw" and d["context"] == "input")
    assert {f["column"] for f in raw["findings"]} == {"amount", "city"}


def test_drift_fail_fails_the_cell_after_it_ran(ip: InteractiveShell, project: Path) -> None:
    ip.user_ns["raw"] = sales(5000, 1)
    run(ip, "load --drift fail", LOAD)
    ip.user_ns["raw"] = sales(5000, 2, shift=1.0).assign(extra=1)
    result, out = run(ip, "load --drift fail", LOAD + "\nafter = 'set by the cell'")
    assert not result.success
    assert isinstance(result.error_in_exec, DataCheckError)
    message = str(result.error_in_exec)
    assert message.startswith("data changed since the last successful run (--drift fail)")
    assert "raw.amount: mean" in message and "column 'extra' added" in message
    # the code ran to the end, and its variables are as it left them
    assert ip.user_ns["after"] == "set by the cell" and ip.user_ns["rows"] == 5000
    assert "DataCheckError: data changed" in out.stdout  # shown as the cell's error
    assert "Traceback" not in out.stdout
    (_, _), (record, _) = records(project)
    assert record.outcome.status == "FAILED"
    assert record.outcome.error_type == "DataCheckError"
    assert record.tags["nbmlops.schema_change"] == (
        "raw: column 'extra' added (int64); clean: column 'extra' added (int64)"
    )

    # A failed run is not the new baseline: the same change fails again...
    again, _ = run(ip, "load --drift fail", LOAD)
    assert isinstance(again.error_in_exec, DataCheckError)
    # ...until a run in warn mode accepts it.
    run(ip, "load --drift warn", LOAD)
    accepted, _ = run(ip, "load --drift fail", LOAD)
    assert accepted.success


def test_failing_drift_keeps_the_displayed_result(ip: InteractiveShell, project: Path) -> None:
    ip.user_ns["raw"] = sales(2000, 1)
    run(ip, "load --drift fail", LOAD)
    ip.user_ns["raw"] = sales(500, 2)  # rows -75%
    result, _ = run(ip, "load --drift fail", LOAD)
    assert result.result == 500  # displayed as Out[...] before the error, like a normal cell
    assert "rows 2,000 → 500 (-75%)" in str(result.error_in_exec)


def test_run_cell_magic_from_code_raises_the_failure(ip: InteractiveShell, project: Path) -> None:
    ip.user_ns["raw"] = sales(2000, 1)
    with capture_output():
        assert ip.run_cell_magic("track", "direct --drift fail", LOAD) == 2000
    ip.user_ns["raw"] = sales(2000, 2, shift=2.0)
    with capture_output(), pytest.raises(DataCheckError, match=r"raw\.amount"):
        ip.run_cell_magic("track", "direct --drift fail", LOAD)
    assert ip.user_ns["rows"] == 2000


def test_drift_settings_from_pyproject_and_environment(
    ip: InteractiveShell, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "pyproject.toml").write_text(
        "[tool.nbmlops]\ndrift = 'fail'\ndrift_rows = 0.1\n"
    )
    ip.user_ns["raw"] = sales(1000, 1)
    run(ip, "load", LOAD)
    ip.user_ns["raw"] = sales(850, 2)  # -15%: over drift_rows
    result, _ = run(ip, "load", LOAD)
    assert isinstance(result.error_in_exec, DataCheckError) and "rows 1,000 → 850" in str(
        result.error_in_exec
    )
    monkeypatch.setenv("NBMLOPS_DRIFT", "off")
    assert run(ip, "load", LOAD)[0].success
    (project / "pyproject.toml").write_text("[tool.nbmlops]\ndrift_psi = 'high'\n")
    result, _ = run(ip, "load", LOAD)
    assert isinstance(result.error_in_exec, UsageError)
    assert "drift_psi must be a number" in str(result.error_in_exec)


def test_unnamed_cells_are_not_compared(ip: InteractiveShell, project: Path) -> None:
    # A plain IPython session has no cell ids: "cell-3" names another cell next session.
    ip.user_ns["raw"] = sales(2000, 1)
    run(ip, "--drift fail", LOAD)
    ip.user_ns["raw"] = sales(200, 2, shift=3.0)
    assert run(ip, "--drift fail", LOAD)[0].success
    assert not (project.parent / "spool" / "profiles").exists()


def test_declared_expectations(ip: InteractiveShell, project: Path) -> None:
    (project / "sales.json").write_text(json.dumps({
        "columns": {
            "amount": {"dtype": "float64", "min": 0},
            "city": {"in": ["Paris", "Lyon"], "nullable": False},
        },
        "rows": {"min": 10},
    }))
    ip.user_ns["raw"] = sales(100, 1)
    ok, _ = run(ip, "load --expect raw=sales.json", LOAD)
    assert ok.success
    ip.user_ns["raw"] = sales(100, 1).assign(
        amount=lambda d: d.amount.where(d.index != 5, -1.0),
        city=lambda d: d.city.where(d.index != 7, "Rome"),
    )
    bad, out = run(ip, "load --expect raw=sales.json", LOAD)
    assert isinstance(bad.error_in_exec, DataCheckError)
    assert ip.user_ns["rows"] == 100  # the code ran
    message = str(bad.error_in_exec)
    assert message.startswith("raw does not meet sales.json: ")
    assert "amount: >= 0 failed for 1 value(s) (e.g. -1.0)" in message
    assert "city: in [\"Paris\", \"Lyon\"] failed for 1 value(s) (e.g. Rome)" in message
    assert "nbmlops ⚠ raw does not meet sales.json:" in shown(out)
    (first, _), (second, files) = records(project)
    assert first.tags["nbmlops.expectations"] == "passed"
    assert second.outcome.status == "FAILED"
    assert second.tags["nbmlops.expectations"].startswith("failed: raw does not meet")
    [result] = json.loads(files["data/expectations.json"])
    assert not result["ok"] and {f["column"] for f in result["failures"]} == {"amount", "city"}


def test_expect_finds_its_frame_or_says_which(ip: InteractiveShell, project: Path) -> None:
    (project / "any.json").write_text(json.dumps({"columns": {"amount": {"min": 0}}}))
    (project / "named.json").write_text(json.dumps({"name": "clean", "rows": {"max": 5}}))
    ip.user_ns["raw"] = sales(50, 1)
    only, _ = run(ip, "one --expect any.json", "total = raw.amount.sum()")
    assert only.success  # the cell's only frame
    two, _ = run(ip, "two --expect any.json", LOAD)
    assert "which data? the cell has these frames: clean, raw" in str(two.error_in_exec)
    named, _ = run(ip, "three --expect named.json", LOAD)
    assert "clean does not meet named.json: 0 <= rows <= 5 (got 50)" in str(named.error_in_exec)


def test_bad_expect_files_are_usage_errors(ip: InteractiveShell, project: Path) -> None:
    (project / "typo.json").write_text(json.dumps({"columns": {"a": {"maxx": 1}}}))
    for line, message in [
        ("--expect missing.json", "cannot read missing.json"),
        ("--expect typo.json", "column 'a': unknown key(s) maxx"),
    ]:
        result, _ = run(ip, line, "ran = True")
        assert isinstance(result.error_in_exec, UsageError)
        assert message in str(result.error_in_exec)
        assert "ran" not in ip.user_ns


def test_expect_in_code_is_recorded(ip: InteractiveShell, project: Path) -> None:
    ip.user_ns["raw"] = sales(20, 1)
    result, _ = run(
        ip, "check",
        "import nbmlops\nnbmlops.expect(raw, columns={'amount': {'max': 1}}, name='raw')",
    )
    assert type(result.error_in_exec).__name__ == "ExpectationError"
    [(record, files)] = records(project)
    assert record.outcome.status == "FAILED" and record.outcome.error_type == "ExpectationError"
    assert record.tags["nbmlops.expectations"].startswith("failed: raw does not meet")
    assert json.loads(files["data/expectations.json"])[0]["name"] == "raw"


def test_secret_columns_keep_only_counts(ip: InteractiveShell, project: Path) -> None:
    ip.user_ns["users"] = pd.DataFrame({"password": ["hunter2", "hunter2"], "age": [30, 40]})
    run(ip, "users", "n = len(users)")
    [(_, files)] = records(project)
    text = files["data/users.json"].decode()
    assert "hunter2" not in text
    assert json.loads(text)["columns"][0]["nulls"] == 0


def test_cells_without_data_do_no_data_checks(ip: InteractiveShell, project: Path) -> None:
    result, _ = run(ip, "plain --drift fail", "x = 1")
    assert result.success
    [(record, files)] = records(project)
    assert not [f for f in files if f.startswith("data/")]
    assert "nbmlops.drift" not in record.tags


@pytest.mark.kernel
def test_drift_fail_stops_a_papermill_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import papermill

    root = tmp_path / "job"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'job'\n")
    monkeypatch.setenv("NBMLOPS_SPOOL", str(tmp_path / "spool"))
    monkeypatch.setenv("NBMLOPS_AUTOSYNC", "0")
    monkeypatch.setenv("NBMLOPS_NOTEBOOK", str(root / "drift_fail.ipynb"))
    monkeypatch.delenv("NBMLOPS_DRIFT", raising=False)
    notebook = str(Path(__file__).parent / "notebooks" / "drift_fail.ipynb")

    def execute(shift: float) -> Any:
        return papermill.execute_notebook(
            notebook, str(tmp_path / f"out-{shift}.ipynb"), parameters={"shift": shift},
            cwd=str(root), progress_bar=False,
        )

    first = execute(0.0)
    assert "after the checks" in first.cells[-1].outputs[0]["text"]
    with pytest.raises(papermill.PapermillExecutionError) as err:
        execute(1.0)
    assert err.value.ename == "DataCheckError"
    assert "raw.amount: mean" in err.value.evalue
    out = papermill.iorw.load_notebook_node(str(tmp_path / "out-1.0.ipynb"))
    assert out.cells[-1].outputs == []  # the job stopped at the tracked cell
    assert any("nbmlops ⚠" in str(o) for o in out.cells[-2].outputs)


@pytest.mark.parametrize(
    "body",
    [
        "total = float(raw.amount.sum())\nround(total, 3)",
        "raw.head(2)",
        "len(raw);",
        "def f(x):\n    return 1 / x\nf(len(raw) * 0)",
    ],
)
def test_checked_cells_show_what_untracked_cells_show(ip: InteractiveShell, body: str) -> None:
    def outputs(source: str) -> tuple[object, str, list[object], str]:
        with capture_output() as out:
            result = ip.run_cell(source)
        shown = [o.data for o in out.outputs if "nbmlops " not in o.data["text/plain"]]
        return repr(result.result), out.stdout, shown, repr(result.error_in_exec)

    ip.user_ns["raw"] = sales(1000, 1)
    outputs("%%track same --drift fail\n" + body)  # the baseline
    ip.user_ns["raw"] = sales(1000, 2)  # another sample: compared, nothing found
    tracked = outputs("%%track same --drift fail\n" + body)
    untracked = outputs("# a first line, as %%track is\n" + body)
    assert tracked == untracked
