"""What a job.yaml, a command line or a schedule target hands to ``nbmlops run``: step names
that stay inside the job folder, GitHub job ids GitHub accepts, parameter values that are
never read as options and that a command line can carry. No kernels."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from nbmlops import cli
from nbmlops.exceptions import JobError
from nbmlops.jobs.export.pipeline import export_pipeline
from nbmlops.jobs.spec import Job, ParamSpec, load, resolve_params

GITHUB_JOB_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def notebook(path: Path, code: str, parameters: str | None = None) -> Path:
    nb = nbformat.v4.new_notebook()
    if parameters is not None:
        cell = nbformat.v4.new_code_cell(parameters)
        cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
    nb.cells.append(nbformat.v4.new_code_cell(code))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, str(path))
    return path


def project(root: Path) -> Path:
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    return root


# -- step names --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../../../../escaped", "a/b", ".hidden", "..", "", "a\x00b"])
def test_a_step_name_leaving_the_job_folder_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    root = project(tmp_path / "p")
    folder = root / "jobs" / "weekly"
    folder.mkdir(parents=True)
    notebook(folder / "a.ipynb", "x = 1")
    (folder / "job.yaml").write_text(yaml.safe_dump(
        {"name": "weekly", "steps": {name: {"notebook": "a.ipynb"}}}))
    with pytest.raises(JobError, match="invalid step name"):
        load(folder)
    assert cli.main(["run", str(folder), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nbmlops: error: ") and "invalid step name" in err
    assert err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p"]  # nothing written outside
    assert sorted(p.name for p in folder.iterdir()) == ["a.ipynb", "job.yaml"]


def test_exported_step_names_are_valid(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    nbs = [notebook(root / "01 load.ipynb", "open('x.csv', 'w').write('a')"),
           notebook(root / ".02.clean.ipynb", "open('y.csv', 'w').write(open('x.csv').read())")]
    job = export_pipeline(nbs, name="w").job
    assert [s.name for s in job.steps] == ["01-load", "02.clean"]
    assert load(root / "jobs" / "w").steps == job.steps


# -- GitHub job ids ----------------------------------------------------------------------------


def test_github_job_ids_are_valid_and_unique_for_any_step_name() -> None:
    from nbmlops.jobs.targets.github import job_ids

    names = ["01_load", "a.b", "a_b", "a_b-2", "-x", "_ok", "Train", "9"]
    ids = job_ids(names)
    assert list(ids) == names
    assert all(GITHUB_JOB_ID.fullmatch(i) for i in ids.values()), ids
    assert len(set(ids.values())) == len(names), ids
    assert ids["_ok"] == "_ok" and ids["Train"] == "Train"  # a valid id stays as it is


def test_the_github_workflow_of_a_pipeline_has_valid_ids_and_needs(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    nbs = [notebook(root / "01_load.ipynb", "open('x.csv', 'w').write('a')"),
           notebook(root / "02.features.ipynb",
                    "open('y.csv', 'w').write(open('x.csv').read())"),
           notebook(root / "train.ipynb", "open('y.csv').read()")]
    folder = export_pipeline(nbs, name="w", cron="0 3 * * 1", targets=["github"]).folder
    done = subprocess.run([str(Path(sys.executable).parent / "check-jsonschema"),
                           "--builtin-schema", "vendor.github-workflows",
                           str(folder / "github-workflow.yml")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr  # GitHub's published schema
    jobs = yaml.safe_load((folder / "github-workflow.yml").read_text())["jobs"]
    assert all(GITHUB_JOB_ID.fullmatch(i) for i in jobs), list(jobs)
    needs = {i: j.get("needs") for i, j in jobs.items()}
    assert needs == {"_01_load": None, "_02_features": ["_01_load"],
                     "train": ["_02_features"]}
    # Each job still runs its own step, by the step's own name.
    assert "--only 02.features" in jobs["_02_features"]["steps"][-1]["run"]


# -- parameter values --------------------------------------------------------------------------


def parsed(*argv: str) -> list[tuple[str, str]]:
    return list(cli.build_parser().parse_args(["run", "jobs/w", *argv]).param)


def test_a_value_starting_with_a_dash_is_passed_as_name_equals_value() -> None:
    assert parsed("-p", "label=-x", "-p", "flags=--all=1", "-p", "n", "3") == [
        ("label", "-x"), ("flags", "--all=1"), ("n", "3")]
    assert parsed("-p", "empty=") == [("empty", "")]
    for bad in (["-p", "label"], ["-p", "a=1", "b"]):
        with pytest.raises(SystemExit):
            parsed(*bad)


def test_the_github_workflow_passes_values_that_look_like_options(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    nb = notebook(root / "fit.ipynb", "print(label)", "label = 'a'\nrun_date = '2024-01-01'")
    folder = export_pipeline([nb, notebook(root / "b.ipynb", "1")], name="w",
                             cron="0 3 * * 1", targets=["github"]).folder
    jobs = yaml.safe_load((folder / "github-workflow.yml").read_text())["jobs"]
    step = jobs["fit"]["steps"][-1]
    echo = f"{sys.executable} -c 'import json, sys; print(json.dumps(sys.argv[1:]))'"
    script = step["run"].replace("nbmlops", echo, 1)
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True,
                          env={"NBMLOPS_PARAM_label": "--help", "PATH": "/usr/bin:/bin"})
    argv = json.loads(done.stdout)
    args = cli.build_parser().parse_args(argv)
    assert args.only == "fit"
    assert dict(args.param)["label"] == "--help"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", dict(args.param)["run_date"])


def test_a_value_no_command_line_can_carry_is_refused_before_a_run() -> None:
    job = Job(name="w", notebook="a.ipynb",
              parameters=[ParamSpec("label", "str", "a"), ParamSpec("conf", "dict", {})])
    assert resolve_params(job, {"label": "-x"}) == {"label": "-x", "conf": {}}
    with pytest.raises(JobError, match="parameter label: a NUL character"):
        resolve_params(job, {"label": "a\x00b"})
    with pytest.raises(JobError, match="parameter conf: a NUL character"):
        resolve_params(job, {"conf": {"k": ["a\x00"]}})
    with pytest.raises(JobError, match="bytes as JSON; a job takes at most"):
        resolve_params(job, {"label": "x" * 200_000})
    with pytest.raises(JobError, match="bytes as JSON"):
        resolve_params(job, {"label": "\u00e9" * 30_000})  # six bytes each as JSON
