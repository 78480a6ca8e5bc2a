"""One ``%%track`` grammar: every line of the table means the same run name, experiment and
options to the magic (a real IPython shell spooling the record), to export and lint, to
the sidebar's server, to reproduce and to assess, which read notebooks without a shell."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import nbformat
import pytest
from conftest import shell_project
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from nbmlops.assess import evidence
from nbmlops.exceptions import ReproduceError, TrackLineError
from nbmlops.jobs.export import lint, parameterize
from nbmlops.reproduce.rerun import tagged
from nbmlops.server import notebook as server_notebook
from nbmlops.sync.spool import Spool
from nbmlops.track import line as track_line

CELL_ID = "c0ffee"
DEFAULT = f"cell-{CELL_ID}"

# (the cell's first line, run name, experiment, what else the options must hold)
GOOD: list[tuple[str, str, str | None, dict[str, Any]]] = [
    ("%%track", DEFAULT, None, {}),
    ("%%track train", "train", None, {}),
    ("%%track\ttrain", "train", None, {}),
    ("%%track train --experiment exp1", "train", "exp1", {}),
    ("%%track --experiment exp1 train", "train", "exp1", {}),
    ("%%track --experiment=exp1 train", "train", "exp1", {}),
    ("%%track -e exp1 train", "train", "exp1", {}),
    ('%%track "my run" --experiment "my exp"', "my run", "my exp", {}),
    ("%%track 'it s' -e=\"quoted exp\"", "it s", "quoted exp", {}),
    ("%%track --drift fail train", "train", None, {"drift": "fail"}),
    ("%%track train --drift=off", "train", None, {"drift": "off"}),
    ("%%track --expect raw=e.json load", "load", None, {"expect": [("raw", "e.json")]}),
    ("%%track --expect e.json load", "load", None, {"expect": [(None, "e.json")]}),
    ('%%track --param "note=a b" fit', "fit", None, {"params": {"note": "a b"}}),
    ('%%track --param note="a b" fit', "fit", None, {"params": {"note": "a b"}}),
    ("%%track --param note=--expect fit", "fit", None, {"params": {"note": "--expect"}}),
    ("%%track fit -p lr=0.1 -t team=ml", "fit", None,
     {"params": {"lr": "0.1"}, "tags": {"team": "ml"}}),
    ("%%track --no-data -m auc fit", "fit", None, {"capture_data": False, "metrics": ["auc"]}),
    ("%%track --model clf fit", "fit", None, {"models": [("clf", "clf")]}),
    ('%%track --model "clf=churn model" --model reg=prices.v2 fit', "fit", None,
     {"models": [("clf", "churn model"), ("reg", "prices.v2")]}),
]

BAD: list[tuple[str, str]] = [
    ('%%track "unbalanced', "No closing quotation"),
    ("%%track --bogus", "unrecognized arguments: --bogus"),
    ("%%track one two", "unrecognized arguments: two"),
    ("%%track --param novalue fit", "--param must look like NAME=VALUE"),
    ("%%track --drift sometimes", "invalid choice: 'sometimes'"),
    ("%%track -e", "expected one argument"),
    ("%%track --model 1clf", "--model needs a variable name"),
    ("%%track --model clf=", "a model name is letters"),
    ("%%track --model clf=a/b", "a model name is letters"),
]

NOT_TRACKED = ["%%tracking fit", "%%trackfit", "# %%track fit", "x = 1"]


def notebook_with(first_line: str, path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(f"{first_line}\nx = 1\n")
    cell["id"] = CELL_ID
    nb.cells = [cell]
    nbformat.write(nb, path)
    return path


# -- the grammar itself -----------------------------------------------------------------------


@pytest.mark.parametrize(("first", "name", "experiment", "more"), GOOD)
def test_the_grammar(first: str, name: str, experiment: str | None, more: dict[str, Any]) -> None:
    options = track_line.options_of_cell(f"{first}\nx = 1")
    assert options is not None
    assert (options.name or track_line.default_run_name(CELL_ID)) == name
    assert options.experiment == experiment
    for key, value in more.items():
        assert getattr(options, key) == value


def test_pairs_split_at_the_first_equals_sign() -> None:
    options = track_line.parse("-p a=1 -p b=x=y -p c= -t team=ml")
    assert options.params == {"a": "1", "b": "x=y", "c": ""}
    assert options.tags == {"team": "ml"}
    with pytest.raises(TrackLineError, match="--tag must look like NAME=VALUE"):
        track_line.parse("--tag novalue")


@pytest.mark.parametrize("line", [
    "%%track s --param api_key=SECRET -p lr=0.1 --tag password=SECRET -t team=ml",
    "%%track s --param=api_key=SECRET --tag=db_pwd=SECRET -p lr=0.1 --tag team=ml",
    "%%track s -papi_key=SECRET -tpassword=SECRET --par lr=0.1 --t team=ml",
    "%%track 's' --pa 'api_key=SECRET' --ta \"password=SECRET\" -p lr=0.1 -t team=ml",
])
def test_a_line_loses_its_secret_params_and_tags(line: str) -> None:
    kept = track_line.redacted(line)
    assert "SECRET" not in kept
    options = track_line.options_of_cell(f"{kept}\nx = 1")
    assert options is not None and options.name == "s"
    assert options.params == {"api_key": "<redacted>", "lr": "0.1"}
    assert options.tags == {"password": "<redacted>", "team": "ml"} or options.tags == {
        "db_pwd": "<redacted>", "team": "ml"}


@pytest.mark.parametrize("line", [
    '%%track "my run" --param "note=a b" --data x.csv --model clf=churn',
    "%%track --param api_key= -t team=ml",  # nothing to hide: an empty value
    "%%track --param 'bad",  # not a line the grammar reads: left as it is
])
def test_a_line_without_secrets_stays_as_written(line: str) -> None:
    assert track_line.redacted(line) == line


@pytest.mark.parametrize(("first", "message"), BAD)
def test_bad_lines_are_one_line_errors(first: str, message: str) -> None:
    with pytest.raises(TrackLineError) as raised:
        track_line.options_of_cell(f"{first}\nx = 1")
    assert message in str(raised.value) and "\n" not in str(raised.value)


@pytest.mark.parametrize("source", NOT_TRACKED)
def test_other_cells_are_not_tracked(source: str) -> None:
    assert track_line.split_cell(f"{source}\nx = 1") is None


# -- the magic in a real shell ----------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = shell_project(tmp_path, monkeypatch, "nb.ipynb")
    (root / "e.json").write_text('{"columns": {}}')
    notebook_with("x = 0", root / "nb.ipynb")
    return root


def spooled(project: Path) -> list[Any]:
    spool = Spool(project.parent / "spool")
    return [spool.load(entry) for entry in spool.entries()]


def run_cell(ip: InteractiveShell, first: str) -> Any:
    # As ipykernel runs a cell JupyterLab sent: with the cell's id.
    with capture_output():
        return ip.run_cell(f"{first}\nx = 1\n", cell_id=CELL_ID)


@pytest.mark.parametrize(("first", "name", "experiment", "more"), GOOD)
def test_the_magic_names_the_run_so(
    ip: InteractiveShell, project: Path, first: str, name: str, experiment: str | None,
    more: dict[str, Any],
) -> None:
    result = run_cell(ip, first)
    assert ip.user_ns["x"] == 1
    # An --expect line names the run too; its check then fails the cell (no frame here).
    assert (result.error_in_exec is None) == ("expect" not in more)
    [record] = spooled(project)
    assert record.run_name == name
    assert record.experiment == (experiment or "nb.ipynb")
    for key in ("params", "tags"):
        for k, v in more.get(key, {}).items():
            assert getattr(record, key)[k] == v


@pytest.mark.parametrize(("first", "message"), BAD)
def test_the_magic_refuses_bad_lines_in_one_line(
    ip: InteractiveShell, project: Path, first: str, message: str
) -> None:
    result = run_cell(ip, first)
    assert isinstance(result.error_in_exec, UsageError)
    assert message in str(result.error_in_exec)
    assert "x" not in ip.user_ns and spooled(project) == []


def test_a_similar_magic_is_not_tracked(ip: InteractiveShell, project: Path) -> None:
    result = run_cell(ip, "%%tracking fit")
    assert isinstance(result.error_in_exec, UsageError)  # IPython: no such cell magic
    assert spooled(project) == []


# -- export, lint, the server -----------------------------------------------------------------


@pytest.mark.parametrize(("first", "name", "experiment", "more"), GOOD)
def test_export_lint_and_server_read_good_lines_alike(
    tmp_path: Path, first: str, name: str, experiment: str | None, more: dict[str, Any]
) -> None:
    path = notebook_with(first, tmp_path / "nb.ipynb")
    nb = nbformat.read(path, as_version=4)
    assert parameterize.is_track_cell(nb.cells[0])
    assert not [f for f in lint.lint(nb) if f.rule == "track-line"]
    [cell] = server_notebook.tracked_cells(path)
    assert (cell.run_name, cell.experiment, cell.problem) == (name, experiment, None)
    facts = evidence._notebook(tmp_path, path)
    assert (facts.tracked_cells, facts.expect_cells) == (1, int(bool(more.get("expect"))))
    # reproduce tags the slice's tracked cell, whatever its line, and keeps what it said
    again = nbformat.reads(tagged(path.read_text(), "r" * 32), as_version=4).cells[0].source
    options = track_line.options_of_cell(again)
    assert options is not None and options.tags["nbmlops.reproduces"] == "r" * 32
    assert (options.name or DEFAULT, options.experiment) == (name, experiment)


@pytest.mark.parametrize(("first", "message"), BAD)
def test_export_lint_and_server_see_bad_lines(tmp_path: Path, first: str, message: str) -> None:
    path = notebook_with(first, tmp_path / "nb.ipynb")
    nb = nbformat.read(path, as_version=4)
    assert parameterize.is_track_cell(nb.cells[0])
    [finding] = [f for f in lint.lint(nb) if f.rule == "track-line"]
    assert finding.severity == "error" and message in finding.message
    [cell] = server_notebook.tracked_cells(path)
    assert cell.run_name == DEFAULT and cell.problem and message in cell.problem


@pytest.mark.parametrize("source", NOT_TRACKED)
def test_export_lint_and_server_skip_other_cells(tmp_path: Path, source: str) -> None:
    path = notebook_with(source, tmp_path / "nb.ipynb")
    nb = nbformat.read(path, as_version=4)
    assert not parameterize.is_track_cell(nb.cells[0])
    assert not lint.is_tracked(nb)
    assert server_notebook.tracked_cells(path) == []
    assert evidence._notebook(tmp_path, path).tracked_cells == 0
    with pytest.raises(ReproduceError, match="has no %%track cell"):
        tagged(path.read_text(), "r" * 32)


def test_a_record_spooled_before_the_move_still_loads(tmp_path: Path) -> None:
    # The record format did not change with the package layout: a v1 entry still loads.
    entry = tmp_path / "1-abc.zip"
    with zipfile.ZipFile(entry, "w") as archive:
        archive.writestr("record.json", '{"tracking_uri": "sqlite:///x.db", "experiment": "e",'
                         ' "run_name": "r", "record_id": "abc", "code_sha": "0"}')
    assert Spool(tmp_path).load(entry).run_name == "r"
