"""Generated schedule files for hostile names: each shell command runs in a sandbox folder,
with a stand-in ``nbmlops`` that records its arguments, and nothing but the job may run.

A notebook (so its job folder) may be named ``a b; touch pwned $(x).ipynb``; a workflow input
may hold ``$(touch pwned)``. Quotes, ``$()``, backticks and ``{{ }}`` must reach ``nbmlops run``
as the characters they are.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import jinja2
import pytest
import yaml

from nbmlops.exceptions import ScheduleError
from nbmlops.jobs.export.folder import export_job
from nbmlops.jobs.targets import cron

NOTEBOOKS = Path(__file__).parent / "notebooks"

HOSTILE = [
    "a b; touch pwned $(touch pwned2)",
    "x`touch pwned`y",
    "it's",
    "{{ 7*7 }}",
    'say "hi" & touch pwned',
    "naïve ünïcode ∑",
    "two\nlines; touch pwned",
]

# Records its arguments, then does nothing: the job itself is not under test here (the same
# stand-in serves for pip).
FAKE_NBMLOPS = """#!/usr/bin/env python3
import json, os, sys
with open(os.environ["ARGS_FILE"], "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\\n")
"""


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "nbmlops"
    fake.write_text(FAKE_NBMLOPS)
    fake.chmod(0o755)
    (bin_dir / "pip").symlink_to(fake)
    return tmp_path


def export_hostile(tmp_path: Path, name: str, targets: tuple[str, ...] = ("airflow", "github"),
                   ) -> Path:
    # The name is the project's folder (every generated path goes through it) and the
    # notebook's (the job takes a safe name from it).
    project = tmp_path / name / "project"
    project.mkdir(parents=True, exist_ok=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    shutil.copy(NOTEBOOKS / "job_parameters.ipynb", project / f"{name}.ipynb")
    return export_job(project / f"{name}.ipynb", cron="0 3 * * 1", targets=list(targets)).folder


def run_shell(script: str, sandbox: Path, env: dict[str, str]) -> list[list[str]]:
    args_file = sandbox / "args.jsonl"
    args_file.unlink(missing_ok=True)
    work = sandbox / "work"
    work.mkdir(exist_ok=True)
    full_env = {**os.environ, **env, "ARGS_FILE": str(args_file),
                "PATH": f"{sandbox / 'bin'}:{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-c", script], cwd=work, env=full_env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert not list(work.iterdir()), "the command made files of its own"
    assert not list(Path.cwd().glob("pwned*"))
    return [json.loads(line) for line in args_file.read_text().splitlines()]


@pytest.mark.parametrize("name", HOSTILE)
def test_github_workflow_runs_only_the_job(tmp_path: Path, sandbox: Path, name: str) -> None:
    folder = export_hostile(tmp_path, name)
    flow = yaml.safe_load((folder / "github-workflow.yml").read_text())
    step = flow["jobs"]["run"]["steps"][-1]
    assert "${{" not in step["run"]  # inputs come through the environment only
    hostile_input = "$(touch pwned3) `touch pwned4` it's"
    env = {key: hostile_input if "inputs.mode" in value else "1"
           for key, value in step["env"].items()}
    [args] = run_shell(step["run"], sandbox, env)
    where = folder.relative_to(tmp_path / name / "project").as_posix()
    assert args[:2] == ["run", where]
    given = f"mode={hostile_input}"  # one word: no value can be read as an option
    assert args[args.index(given) - 1] == "-p"
    install = flow["jobs"]["run"]["steps"][-2]["run"]
    assert run_shell(install, sandbox, {}) == [
        ["install", "nbmlops", "-r", f"{where}/requirements.txt"]]


@pytest.mark.parametrize("name", HOSTILE)
def test_airflow_command_renders_and_runs_only_the_job(
    tmp_path: Path, sandbox: Path, name: str
) -> None:
    folder = export_hostile(tmp_path, name)
    text = (folder / "airflow_dag.py").read_text()
    compile(text, "airflow_dag.py", "exec")
    call = next(n for n in ast.walk(ast.parse(text))
                if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "BashOperator")
    # The DAG file's own expressions, with JOB as the file computes it (its folder).
    [env_node] = [n.value for n in ast.parse(text).body if isinstance(n, ast.Assign)
                  and getattr(n.targets[0], "id", "") == "env"]
    scope = {"JOB": str(folder)}
    fields = {"env": eval(compile(ast.Expression(env_node), "dag", "eval"), scope),
              "bash_command": next(ast.literal_eval(k.value) for k in call.keywords
                                   if k.arg == "bash_command")}
    # What Airflow does with templated fields: render them with the run's context.
    params = {"threshold": 3, "mode": "fast", "use_cache": True}
    render = jinja2.Environment(undefined=jinja2.StrictUndefined).from_string
    command = render(fields["bash_command"]).render(params=params, ds="2026-01-05")
    env = {k: render(v).render(params=params, ds="2026-01-05") for k, v in fields["env"].items()}
    # portable: nothing of this machine (its store, spool, HOME, nbmlops script) is in the DAG
    assert set(env) == {"NBMLOPS_JOB", "NBMLOPS_PARAMS"} and str(tmp_path) not in text
    [args] = run_shell(command, sandbox, env)
    assert args[:2] == ["run", str(folder)]
    assert json.loads(args[args.index("--params-json") + 1]) == params


@pytest.mark.parametrize("name", HOSTILE)
def test_cron_line_runs_only_the_job(tmp_path: Path, sandbox: Path, name: str) -> None:
    if "\n" in name:  # crontab has no quoting for a line break: refused, in one line
        with pytest.raises(ScheduleError, match="a cron entry is one line"):
            export_hostile(tmp_path, name, ("cron",))
        assert not (tmp_path / name / "project" / "jobs").exists()  # nothing half-written
        return
    folder = export_hostile(tmp_path, name, ("cron",))
    (folder / "logs").mkdir()  # `nbmlops schedule --install` makes it
    before = sorted(folder.rglob("*"))
    line = (folder / "crontab.txt").read_text().splitlines()[-1]
    command = re.sub(r"^(\S+\s+){5}", "", line)  # the five schedule fields
    command = command.replace(shlex.quote(cron.nbmlops_executable()),
                              str(sandbox / "bin" / "nbmlops"))
    [args] = run_shell(command, sandbox, {})
    assert args == ["run", str(folder)]
    assert sorted(folder.rglob("*")) == sorted([*before, folder / "logs" / "cron.log"])
