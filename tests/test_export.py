"""``nbmlops export``: the pure transform, lint rules, job folders and schedule files.

Fast: no kernel. Real notebooks from tests/notebooks/ in, real job folders out.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from nbformat.v4 import new_code_cell, new_notebook

from nbmlops import cli, config
from nbmlops.exceptions import JobError, ScheduleError
from nbmlops.jobs import schedule, targets
from nbmlops.jobs.export import lint, parameterize
from nbmlops.jobs.export.folder import export_job
from nbmlops.jobs.spec import Job, ParamSpec, coerce, load, resolve_params
from nbmlops.track import capture

NOTEBOOKS = Path(__file__).parent / "notebooks"


def read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(str(NOTEBOOKS / name), as_version=4)


def notebook(*sources: str, counts: list[int | None] | None = None,
             params_cell: int | None = None) -> nbformat.NotebookNode:
    cells = [new_code_cell(s) for s in sources]
    for cell, count in zip(cells, counts or [], strict=False):
        cell.execution_count = count
    if params_cell is not None:
        cells[params_cell].metadata["tags"] = ["parameters"]
    return new_notebook(cells=cells)


# -- the transform -------------------------------------------------------------------------------


def test_inferred_parameters_are_hoisted_and_removed() -> None:
    original = read("job_inferred.ipynb")
    result = parameterize.to_job_notebook(original)
    assert result.inferred
    assert [(p.name, p.type, p.default, p.help) for p in result.params] == [
        ("n_points", "int", 20, "how many points to fit"),
        ("label", "str", "demo", ""),
        ("alpha", "float", 0.5, "scale of the fit"),
        ("layers", "list", [8, 4], ""),
    ]
    cells = result.notebook.cells
    assert cells[0].metadata["tags"] == ["parameters"]
    assert cells[0].source.splitlines()[0] == "n_points: int = 20  # how many points to fit"
    track = cells[5].source
    assert track.startswith("%%track fit\n")  # the magic line stays first
    assert "alpha" not in track.splitlines()[1].split(":")[0] and "alpha = " not in track
    assert "moved to the parameters cell: alpha, layers" in track
    assert len(original.cells) == 5  # the input is not changed


def test_parameters_cell_is_used_as_is() -> None:
    result = parameterize.to_job_notebook(read("job_parameters.ipynb"))
    assert not result.inferred
    assert [(p.name, p.type, p.default) for p in result.params] == [
        ("threshold", "int", 3), ("mode", "str", "fast"), ("use_cache", "bool", True),
    ]
    assert result.params[0].help == "values above this fail the run"
    narrowed = parameterize.to_job_notebook(read("job_parameters.ipynb"), ["mode"])
    assert [p.name for p in narrowed.params] == ["mode"]
    with pytest.raises(JobError, match="not in the parameters cell"):
        parameterize.to_job_notebook(read("job_parameters.ipynb"), ["nope"])


def test_param_option_narrows_and_extends() -> None:
    nb = notebook("lr = 0.1", "data = load()\nseed = 7", "%%track t\nepochs = 3\nfit(lr, epochs)")
    assert [p.name for p in parameterize.to_job_notebook(nb).params] == ["lr", "epochs"]
    assert [p.name for p in parameterize.to_job_notebook(nb, ["epochs"]).params] == ["epochs"]
    extended = parameterize.to_job_notebook(nb, ["lr", "seed"])
    assert [p.name for p in extended.params] == ["lr", "seed"]
    assert "seed = 7" not in extended.notebook.cells[2].source
    with pytest.raises(JobError, match="no literal"):
        parameterize.to_job_notebook(nb, ["data"])


def test_conflicting_and_shared_line_assignments_stay() -> None:
    nb = notebook("%%track a\nk = 1\nx = k", "%%track b\nk = 2; y = 3\nz = 4")
    result = parameterize.to_job_notebook(nb)
    assert [p.name for p in result.params] == ["z"]
    assert any("different values" in n for n in result.notes)
    assert any("shares a line" in n for n in result.notes)


def test_a_literal_named_like_a_metric_is_a_metric_in_the_job_too(tmp_path: Path) -> None:
    body = "lr = 0.1\nbaseline_acc = 0.8\nthreshold = 3\nprint(lr)"
    nb = notebook(f"%%track t --metric threshold\n{body}")
    result = parameterize.to_job_notebook(nb)
    # The job's parameters are what the run records as params (one rule for both).
    recorded = capture.literal_params(capture.analyze(body).params,
                                      config.DEFAULT_METRIC_PATTERNS, ["threshold"])
    assert [p.name for p in result.params] == list(recorded) == ["lr"]
    cell = result.notebook.cells[1].source
    assert "baseline_acc = 0.8" in cell and "threshold = 3" in cell  # metrics stay put
    assert any("baseline_acc is recorded as a metric" in n for n in result.notes)
    chosen = parameterize.to_job_notebook(nb, ["baseline_acc"])  # unless asked for
    assert [p.name for p in chosen.params] == ["baseline_acc"]
    # The project's own metric patterns decide, as they do in the kernel.
    (tmp_path / "pyproject.toml").write_text('[tool.nbmlops]\nmetric_patterns = ["lr"]\n')
    nbformat.write(nb, tmp_path / "train.ipynb")
    job = export_job(tmp_path / "train.ipynb")
    assert [p.name for p in job.job.parameters] == ["baseline_acc"]


def test_papermill_help_notebook_lists_the_parameters(tmp_path: Path) -> None:
    result = parameterize.to_job_notebook(read("job_inferred.ipynb"))
    path = tmp_path / "job.ipynb"
    nbformat.write(result.notebook, str(path))
    done = subprocess.run([sys.executable, "-m", "papermill", "--help-notebook", str(path)],
                          capture_output=True, text=True, check=True)
    assert "n_points: int (default 20)" in done.stdout
    assert "how many points to fit" in done.stdout
    assert "alpha: float (default 0.5)" in done.stdout


def test_parameter_values_are_checked_and_cast(tmp_path: Path) -> None:
    job = export_job(NOTEBOOKS / "job_parameters.ipynb", tmp_path / "job").job
    assert resolve_params(job, {"threshold": "4", "use_cache": "false"}) == {
        "threshold": 4, "mode": "fast", "use_cache": False,
    }
    assert coerce(ParamSpec("lr", "float", 0.5), "0.1") == 0.1
    assert coerce(ParamSpec("xs", "list", []), "[1, 2]") == [1, 2]
    with pytest.raises(JobError, match=r"expected int, got '4\.5'"):
        resolve_params(job, {"threshold": "4.5"})
    with pytest.raises(JobError, match="unknown parameter"):
        resolve_params(job, {"thresh": 1})


def test_required_and_unknown_parameters_say_what_to_do() -> None:
    job = Job(name="nightly", notebook="n.ipynb", parameters=[
        ParamSpec("rows", "int", None), ParamSpec("anything", "any", None),
        ParamSpec("lr", "float", 0.1),
    ])
    assert resolve_params(job, {"rows": "5"}) == {"rows": 5, "anything": None, "lr": 0.1}
    with pytest.raises(JobError) as info:
        resolve_params(job, {})
    assert str(info.value) == "parameter rows (int) is required: pass -p rows VALUE"
    with pytest.raises(JobError) as info:
        resolve_params(job, {"rows": 1, "depth": 3, "seed": 1})
    assert str(info.value) == (
        "unknown parameter(s) depth, seed for job nightly (known: rows, anything, lr)")
    with pytest.raises(JobError) as info:
        resolve_params(Job(name="bare", notebook="n.ipynb"), {"x": 1})
    assert str(info.value) == "unknown parameter(s) x for job bare (known: none)"


@pytest.mark.parametrize(("kind", "value", "cast"), [
    ("any", "3", 3), ("any", "abc", "abc"), ("any", [1], [1]), ("any", "[1, 2]", [1, 2]),
    ("any", b"[1]", b"[1]"),  # only text is parsed (YAML's !!binary gives bytes)
    ("str", "3", "3"), ("str", "true", "true"),
    ("bool", "true", True), ("bool", "True", True), ("bool", "TRUE", True), ("bool", "yes", True),
    ("bool", "YES", True), ("bool", "1", True), ("bool", True, True),
    ("bool", "false", False), ("bool", "FALSE", False), ("bool", "no", False),
    ("bool", "NO", False), ("bool", "0", False), ("bool", False, False),
    ("int", "4", 4), ("int", 4, 4), ("int", "-2", -2),
    ("float", "0.1", 0.1), ("float", 3, 3.0), ("float", "2", 2.0),
    ("list", "[1, 2]", [1, 2]), ("list", (1, 2), [1, 2]), ("list", "(1, 2)", [1, 2]),
    ("dict", '{"a": 1}', {"a": 1}), ("dict", "{'a': 1}", {"a": 1}),
])
def test_a_value_is_cast_to_its_parameter_type(kind: str, value: object, cast: object) -> None:
    got = coerce(ParamSpec("p", kind, None), value)
    assert got == cast and type(got) is type(cast)


@pytest.mark.parametrize(("kind", "value"), [
    ("int", "true"), ("int", "True"), ("int", "false"), ("int", True), ("int", "1.0"),
    ("float", "true"), ("float", False), ("float", "nan"), ("list", "[1,"), ("dict", "[1]"),
    ("str", 3), ("str", None), ("bool", "maybe"), ("bool", 2), ("bool", "2"), ("int", "abc"),
    ("list", '{"a": 1}'), ("list", "3"), ("dict", "3"), ("float", "1e999"), ("int", b"3"),
])
def test_a_value_of_another_type_is_refused(kind: str, value: object) -> None:
    # bool is an int in Python: `-p threshold true` must not pass as threshold = 1.
    with pytest.raises(JobError, match=re.escape(f"expected {kind}, got {value!r}")):
        coerce(ParamSpec("p", kind, None), value)


# -- lint: each rule has a notebook that triggers it and one that does not ----------------------

LINT_CASES = {
    "out-of-order": (notebook("a = 1", "b = a", counts=[2, 1]),
                     notebook("a = 1", "b = a", counts=[1, 2])),
    "undefined-name": (notebook("y = x + 1", "x = 1"),
                       notebook("x = 1", "y = [x + i for i in range(3)]")),
    "home-path": (notebook("df = open('/home/ana/data.csv')"),
                  notebook("df = open('data/data.csv')")),
    "interactive": (notebook("name = input('who? ')"), notebook("name = 'ana'")),
    "shell-install": (notebook("!pip install pandas\nimport pandas"),
                      notebook("!ls\nimport pandas")),
    "dependent-default": (notebook("a = 1\nb = a * 2", params_cell=0),
                          notebook("a = 1\nb = 2", params_cell=0)),
    "magic-in-parameters": (notebook("%matplotlib inline\na = 1", params_cell=0),
                            notebook("%matplotlib inline", "a = 1", params_cell=1)),
    "track-line": (notebook('%%track "my run\na = 1'), notebook('%%track "my run"\na = 1')),
    "secret-literal": (notebook("import os\napi_key = 'sk-live-4f9a8b7c6d5e4f3a'"),
                       notebook("import os\napi_key = os.environ['API_KEY']")),
}


@pytest.mark.parametrize("rule", sorted(LINT_CASES))
def test_lint_rule(rule: str) -> None:
    bad, good = LINT_CASES[rule]
    [finding] = [f for f in lint.lint(bad) if f.rule == rule]
    assert finding.cell >= 1 and finding.fix
    assert rule in str(finding) and f"cell {finding.cell}" in str(finding)
    assert [f for f in lint.lint(good) if f.rule == rule] == []


@pytest.mark.parametrize(("source", "named"), [
    ("name = input('who? ')", "input()"),
    ("import getpass\npw = getpass.getpass()", "getpass()"),
    ("from getpass import getpass\npw = getpass('pw: ')", "getpass()"),
    ("import pdb\npdb.set_trace()", "set_trace()"),
    ("breakpoint()", "breakpoint()"),
    ("from ipywidgets import interact\ninteract(print, x=1)", "interact()"),
    ("%debug", "%debug"),
    ("%pdb on", "%pdb"),
])
def test_every_way_to_wait_for_a_person_is_named(source: str, named: str) -> None:
    [finding] = [f for f in lint.lint(notebook(source)) if f.rule == "interactive"]
    assert f"{named} waits for a person" in str(finding)


def test_names_that_only_look_interactive_are_not_flagged() -> None:
    quiet = notebook("user_input = 3\nprint(user_input)", "getpass_ok = True")
    assert [f for f in lint.lint(quiet) if f.rule == "interactive"] == []


@pytest.mark.parametrize(("source", "lines"), [
    ("token = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789'\nn = 3", [1]),
    ("engine = connect('postgresql://ana:pa55word@db.example.com/sales')", [1]),
    ("client = Client(\n    password='hunter2-hunter2',\n)", [2]),
    ("password = f'hunter2-hunter2'", [1]),
    ('n = 1\napi_key = """line one\nline two"""', [2, 3]),
    ("x = (\nurl = 'postgresql://ana:pa55word@db/x'", [2]),  # no Python: its lines still read
    ("headers = {'Authorization': f'Bearer {token}'}", []),  # names put together, no secret
    ("password = os.environ['DB_PASSWORD']", []),
    ("password = getenv('DB_PASSWORD', '')", []),
])
def test_a_secret_typed_into_a_cell_is_found_on_its_line(source: str, lines: list[int]) -> None:
    found = [f for f in lint.lint(notebook(source)) if f.rule == "secret-literal"]
    assert [str(f).split("(line ")[1].split(")")[0] for f in found] == (
        [", ".join(map(str, lines))] if lines else [])


def test_a_secret_parameter_stops_the_export_and_is_never_printed(tmp_path: Path) -> None:
    path = tmp_path / "keyed.ipynb"
    token = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"
    nbformat.write(notebook(f"api_token = '{token}'\nn = 3", params_cell=0), str(path))
    code, out, err = run_cli("export", str(path))
    assert code == 2 and "secret-literal" in err and token not in out + err
    assert not (tmp_path / "jobs").exists()
    code, out, err = run_cli("export", str(path), "--force")  # the user's call
    assert code == 0 and "param api_token: str = '<redacted>'" in out
    assert token not in out + err


def test_every_rule_has_a_case() -> None:
    assert set(lint.RULES) == set(LINT_CASES)


def test_lint_errors_stop_the_export(tmp_path: Path) -> None:
    path = tmp_path / "asks.ipynb"
    nbformat.write(notebook("name = input('who?')"), str(path))
    code, _, err = run_cli("export", str(path))
    assert code == 2 and "interactive" in err and "cell 1" in err
    assert not (tmp_path / "jobs").exists()
    assert run_cli("export", str(path), "--force")[0] == 0


# -- job folders ----------------------------------------------------------------------------------


def run_cli(*args: str) -> tuple[int, str, str]:
    done = subprocess.run([sys.executable, "-m", "nbmlops.cli", *args], capture_output=True,
                          text=True, check=False)
    return done.returncode, done.stdout, done.stderr


def test_the_job_folder_ignores_what_its_runs_leave_and_keeps_the_user_s_lines(
    tmp_path: Path,
) -> None:
    nb_path = tmp_path / "fit.ipynb"
    shutil.copy(NOTEBOOKS / "job_inferred.ipynb", nb_path)
    folder = export_job(nb_path).folder
    ignored = (folder / ".gitignore").read_text().splitlines()
    assert ignored[1:] == ["runs/", "logs/", ".nbmlops-state/", ".nbmlops-run*.lock"]
    (folder / ".gitignore").write_text("runs/\n*.parquet\n")  # the user's own
    export_job(nb_path, cron="0 3 * * 1")
    assert (folder / ".gitignore").read_text() == (
        "runs/\n*.parquet\nlogs/\n.nbmlops-state/\n.nbmlops-run*.lock\n")


def test_job_folder_and_re_export(tmp_path: Path) -> None:
    nb_path = tmp_path / "fit.ipynb"
    shutil.copy(NOTEBOOKS / "job_inferred.ipynb", nb_path)
    result = export_job(nb_path, cron="0 3 * * 1",
                        targets=["cron", "airflow", "kubernetes", "github"])
    folder = tmp_path / "jobs" / "fit"
    assert result.folder == folder and result.created
    files = {p.name for p in folder.iterdir()}
    assert {"job.yaml", "fit.ipynb", "requirements.txt", "crontab.txt", "airflow_dag.py",
            "cronjob.yaml", "github-workflow.yml"} <= files
    assert not [n for n in files if n.endswith(".tmp")]
    job = yaml.safe_load((folder / "job.yaml").read_text())
    assert job["parameters"]["alpha"] == {"type": "float", "default": 0.5,
                                          "help": "scale of the fit"}
    assert job["schedule"] == {"cron": "0 3 * * 1", "timezone": "UTC", "airflow_operator": "bash",
                               "targets": ["cron", "airflow", "kubernetes", "image", "github"]}
    assert job["cwd"] == "../.."  # relative paths of the notebook keep working
    assert (folder / "requirements.txt").read_text() == ""  # json is stdlib, nothing pinned

    # The user edits job.yaml; the notebook changes; exporting again keeps the edits.
    job["retries"] = 2
    (folder / "job.yaml").write_text(yaml.safe_dump(job))
    nb = nbformat.read(str(nb_path), as_version=4)
    nb.cells[4].source = nb.cells[4].source.replace("layers = [8, 4]\n", "")
    nb.cells.append(new_code_cell("import numpy\nprint(loss)"))
    nbformat.write(nb, str(nb_path))
    code, out, err = run_cli("export", str(nb_path))
    assert code == 0, err
    assert "updated job fit" in out
    assert "parameters removed: layers" in out and "cells " in out
    again = load(folder)
    assert again.retries == 2 and again.schedule.cron == "0 3 * * 1"
    assert (folder / "requirements.txt").read_text().startswith("numpy==")


def test_requirements_are_pinned_to_installed_versions(tmp_path: Path) -> None:
    import numpy

    path = tmp_path / "np.ipynb"
    nbformat.write(notebook("import numpy as np\nimport os\nfrom nbmlops import log_metric"),
                   str(path))
    folder = export_job(path).folder
    lines = (folder / "requirements.txt").read_text().splitlines()
    assert f"numpy=={numpy.__version__}" in lines
    assert not [line for line in lines if line.startswith("os")]


@pytest.mark.parametrize(("args", "message"), [
    (["--schedule", "61 * * * *"], "invalid cron expression '61 * * * *'"),
    (["--schedule", "* * *"], "five fields"),
    (["--schedule", "0 3 * * *", "--target", "slurm"], "unknown schedule target 'slurm'"),
    (["--out", "/proc/nbmlops-job"], "cannot write the job folder /proc/nbmlops-job"),
    (["--target", "cron"], "need a schedule"),
])
def test_export_errors_are_one_line(args: list[str], message: str) -> None:
    code, out, err = run_cli("export", str(NOTEBOOKS / "job_parameters.ipynb"), *args)
    assert code == 2 and out == ""
    [line] = err.splitlines()
    assert line.startswith("nbmlops: error: ") and message in line


def test_missing_job_is_one_line(tmp_path: Path) -> None:
    code, _, err = run_cli("run", str(tmp_path))
    assert code == 2 and "create it with `nbmlops export NOTEBOOK`" in err


# -- schedule targets -----------------------------------------------------------------------------


@pytest.fixture
def scheduled(tmp_path: Path) -> Path:
    shutil.copy(NOTEBOOKS / "job_parameters.ipynb", tmp_path / "check.ipynb")
    return export_job(tmp_path / "check.ipynb", cron="*/15 6-18 * * 1-5", timezone="Europe/Paris",
                      targets=list(targets.TARGETS)).folder


def test_registry_holds_one_class_per_target() -> None:
    assert set(targets.TARGETS) == {"cron", "airflow", "kubernetes", "github", "image"}
    with pytest.raises(ScheduleError, match="unknown schedule target"):
        targets.target("slurm")


def test_kubernetes_cronjob_is_valid(scheduled: Path) -> None:
    manifest = yaml.safe_load((scheduled / "cronjob.yaml").read_text())
    spec = manifest["spec"]
    assert (manifest["kind"], spec["schedule"], spec["concurrencyPolicy"], spec["timeZone"]) == (
        "CronJob", "*/15 6-18 * * 1-5", "Forbid", "Europe/Paris")
    container = spec["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["nbmlops", "run", "/project/jobs/check"]
    assert container["workingDir"] == "/project/jobs/check"
    assert container["env"][0]["name"] == "MLFLOW_TRACKING_URI"
    target = targets.target("kubernetes")
    target.check((scheduled / "cronjob.yaml").read_text())  # kubernetes-validate, strict
    spec["backofLimit"] = 3  # a typo: strict validation rejects unknown fields
    with pytest.raises(ScheduleError, match="backofLimit"):
        target.check(yaml.safe_dump(manifest))


def test_github_workflow(scheduled: Path) -> None:
    text = (scheduled / "github-workflow.yml").read_text()
    flow = yaml.safe_load(text)
    on = flow.get("on", flow.get(True))
    assert on["schedule"] == [{"cron": "*/15 6-18 * * 1-5"}]
    assert set(on["workflow_dispatch"]["inputs"]) == {"threshold", "mode", "use_cache"}
    assert on["workflow_dispatch"]["inputs"]["use_cache"]["type"] == "boolean"
    run = flow["jobs"]["run"]["steps"][-1]["run"]
    assert run.startswith("nbmlops run ") and '-p "threshold=$NBMLOPS_PARAM_threshold"' in run
    assert "Europe/Paris is not applied" in text


def test_airflow_dag_uses_nbmlops_run(scheduled: Path) -> None:
    text = (scheduled / "airflow_dag.py").read_text()
    compile(text, "airflow_dag.py", "exec")
    assert "BashOperator" in text and "schedule='*/15 6-18 * * 1-5'" in text
    assert "tz='Europe/Paris'" in text and "--params-json" in text


def test_cron_line_and_next_run(scheduled: Path) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    line = (scheduled / "crontab.txt").read_text().splitlines()[-1]
    assert line.startswith("*/15 6-18 * * 1-5 cd ") and line.endswith(f"# nbmlops:{scheduled}")
    assert " run " in line and "logs/cron.log 2>&1" in line
    monday = datetime(2026, 1, 5, 5, 0, tzinfo=ZoneInfo("Europe/Paris"))
    assert schedule.next_run("*/15 6-18 * * 1-5", "Europe/Paris", monday) == monday.replace(
        hour=6)
    assert "every 15 minutes" in schedule.describe("*/15 6-18 * * 1-5").lower()


def test_cli_lists_job_commands() -> None:
    assert {"export", "run", "schedule", "jobs"} <= set(cli.COMMANDS)


def test_bad_input_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    shutil.copy(NOTEBOOKS / "job_parameters.ipynb", tmp_path / "nb.ipynb")
    raw = json.loads((tmp_path / "nb.ipynb").read_text())
    raw["cells"][0]["source"] = 42
    (tmp_path / "int.ipynb").write_text(json.dumps(raw))
    cases = [
        (("export", str(tmp_path / "nb.ipynb"), "--name", "../../escape"), "invalid job name"),
        (("export", str(tmp_path / "nb.ipynb"), "--schedule", "0 3 * * *", "--timezone",
          "Mars/Olympus"), "unknown timezone 'Mars/Olympus'"),
        (("export", str(tmp_path / "int.ipynb")), "cell 1 has no text source"),
    ]
    for args, message in cases:
        code, _, err = run_cli(*args)
        assert code == 2 and err.count("\n") == 1 and message in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["int.ipynb", "nb.ipynb"]
    assert not (tmp_path.parent.parent / "escape").exists()


def test_an_infinite_float_parameter_is_refused() -> None:
    spec = ParamSpec("alpha", "float", 0.5)
    with pytest.raises(JobError, match="expected float, got '1e999'"):
        coerce(spec, "1e999")
    assert coerce(spec, "1e-3") == 0.001


def test_status_into_a_closed_pipe_says_nothing_more(tmp_path: Path) -> None:
    # `true` leaves without reading: every write of the command meets a closed pipe.
    done = subprocess.run(
        f"{shlex.quote(sys.executable)} -m nbmlops.cli status --spool {tmp_path} | true",
        shell=True, capture_output=True, text=True, check=False)
    assert done.stderr == ""


def test_a_huge_literal_is_data_not_a_parameter(tmp_path: Path) -> None:
    blob = "x" * 5_000_000
    nb = new_notebook(cells=[new_code_cell(f"lr = 0.1\nblob = {blob!r}"),
                             new_code_cell("%%track fit\nloss = lr * len(blob)")])
    nbformat.write(nb, tmp_path / "big.ipynb")
    code, out, err = run_cli("export", str(tmp_path / "big.ipynb"))
    assert code == 0, err
    assert len(out) < 2000 and "param lr: float = 0.1" in out and "blob" not in out
    job = load(tmp_path / "jobs" / "big")
    assert [p.name for p in job.parameters] == ["lr"]
    assert (tmp_path / "jobs" / "big" / "job.yaml").stat().st_size < 5000
