"""`make demo`: the example notebooks, in order, with papermill, in a fresh project folder.

The story runs in ``demo-output/project`` (made again each time): a copy of the notebooks with
its own ``pyproject.toml``, git repository, embedded MLflow store (``mlflow.db``) and spool, so
it never touches the runs of the project you work in. One line per step, then a summary.

``python example_notebooks/run_demo.py [--out FOLDER] [--jobs 1] [--only 03 ...]``: ``--only``
runs the chosen steps (by the notebook's number), for a quick look at one.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = Path(sys.executable).parent
SKIP = {"run_demo.py"}  # the runner itself


@dataclass
class Step:
    notebook: str
    what: str
    parameters: dict[str, Any] = field(default_factory=dict)


STEPS = [
    Step("01_tracked.ipynb", "a level-0 notebook, tracked"),
    Step("01_tracked.ipynb", "run again with other values, compared",
         {"max_depth": 1, "n_estimators": 3}),
    Step("02_data_checks.ipynb", "expectations; an upstream change stopped by drift checks"),
    Step("03_registry_and_gates.ipynb", "registry, gates, a refused regression, rollback"),
    Step("04_jobs_and_pipelines.ipynb", "a job, a pipeline, skipped when up to date"),
    Step("05_reproduce.ipynb", "a run reproduced; stale state named"),
    Step("06_monitor_and_retrain.ipynb", "drift, alert, retraining, new champion"),
]
# The notebooks share nothing but the store (each its own experiment, model and files), so two
# lanes use both cores; each lane keeps its order (the second 01 compares with the first).
LANES = [[6, 5, 2], [0, 1, 3, 4]]


def prepare(project: Path) -> dict[str, str]:
    """A fresh project folder holding the notebooks, and the environment its kernels get."""
    if project.exists():
        shutil.rmtree(project)
    shutil.copytree(HERE, project, ignore=lambda folder, names: [
        n for n in names if n in SKIP or n in {"data", "jobs", "__pycache__"}
        or n.endswith((".csv", ".txt")) or n == ".ipynb_checkpoints"])
    (project / "pyproject.toml").write_text('[project]\nname = "wine-demo"\nversion = "0.1"\n')
    (project / ".gitignore").write_text("mlflow.db\n.spool/\ndata/\n*.csv\nalerts.txt\n"
                                        "reproduced/\noutputs/\nmlruns/\n")
    env = {k: v for k, v in os.environ.items()
           if k not in {"MLFLOW_TRACKING_URI", "NBMLOPS_NOTEBOOK", "NBMLOPS_RETRAIN",
                        "NBMLOPS_UI_URL", "JPY_SESSION_NAME"}}
    env.update({
        "MLFLOW_TRACKING_URI": f"sqlite:///{project / 'mlflow.db'}",
        "NBMLOPS_SPOOL": str(project / ".spool"),
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        "GIT_AUTHOR_NAME": "demo", "GIT_AUTHOR_EMAIL": "demo@example.com",
        "GIT_COMMITTER_NAME": "demo", "GIT_COMMITTER_EMAIL": "demo@example.com",
    })
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "wine"]):
        subprocess.run(["git", *args], cwd=project, env=env, check=True, capture_output=True)
    return env


def run_step(step: Step, project: Path, env: dict[str, str], index: int) -> Path:
    """Execute one notebook with papermill in the project; the executed copy in ``outputs/``."""
    output = project / "outputs" / f"{index:02d}-{step.notebook}"
    output.parent.mkdir(exist_ok=True)
    # An absolute input: the kernel finds its notebook from papermill's command line.
    args = [str(BIN / "papermill"), str(project / step.notebook), str(output),
            "--log-level", "ERROR", "--no-progress-bar"]
    for name, value in step.parameters.items():
        args += ["-p", name, str(value)]
    done = subprocess.run(args, cwd=project, env=env, capture_output=True, text=True,
                          check=False)
    problems = surprises(output) if output.exists() else ["no executed notebook was written"]
    if problems or (done.returncode != 0 and not expected_errors(output)):
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        raise StepFailed(f"{step.notebook} failed (executed copy: {output}):\n"
                         + "\n".join(problems or [tail]))
    return output


def surprises(output: Path) -> list[str]:
    """What went wrong in an executed notebook: an error in a cell not tagged
    ``raises-exception``, or a cell so tagged (the story shows a failure there) that did not
    fail. papermill exits 1 on any error, tagged or not, so the tags are read here."""
    problems = []
    for number, cell in enumerate(json.loads(output.read_text())["cells"], 1):
        if cell["cell_type"] != "code":
            continue
        outputs = cell.get("outputs", [])
        errors = [o for o in outputs if o["output_type"] == "error"]
        expected = "raises-exception" in cell.get("metadata", {}).get("tags", [])
        first = "".join(cell["source"]).splitlines()[0] if cell["source"] else ""
        if errors and not expected:
            problems.append(f"cell {number} ({first}): {errors[0]['ename']}: "
                            f"{errors[0]['evalue']}")
        elif expected and not errors:
            problems.append(f"cell {number} ({first}) should have failed and did not")
    return problems


def expected_errors(output: Path) -> bool:
    return any(o["output_type"] == "error"
               for cell in json.loads(output.read_text())["cells"]
               for o in cell.get("outputs", []))


class StepFailed(Exception):
    pass


def nbmlops(args: Sequence[str], project: Path, env: dict[str, str]) -> str:
    done = subprocess.run([str(BIN / "nbmlops"), *args], cwd=project, env=env,
                          capture_output=True, text=True, check=False)
    return done.stdout


def level(project: Path, env: dict[str, str]) -> str:
    text = nbmlops(["assess", "--format", "json", "--timeout", "60"], project, env)
    try:
        answer = json.loads(text)
    except json.JSONDecodeError:
        return "unknown"
    return f"level {answer['level']} ({answer['level_name']})"


def summary(project: Path, env: dict[str, str], before: str, after: str, seconds: float) -> None:
    os.environ["MLFLOW_TRACKING_URI"] = env["MLFLOW_TRACKING_URI"]
    from mlflow import MlflowClient

    from nbmlops import store

    client = MlflowClient(env["MLFLOW_TRACKING_URI"])
    experiments = client.search_experiments()
    runs = client.search_runs([e.experiment_id for e in experiments], max_results=5000)
    print(f"\n== the story, in {seconds:.0f} s: {len(runs)} MLflow runs in "
          f"{len(experiments)} experiments")
    for model in client.search_registered_models():
        if "champion" not in model.aliases:
            continue
        version = client.get_model_version_by_alias(model.name, "champion")
        print(f"champion {model.name} v{version.version} (run {(version.run_id or '')[:8]}, "
              f"{len(client.search_model_versions(f'name = {model.name!r}'))} versions)")
        gates = version.tags.get(store.MODEL_GATES_TAG)
        if gates:
            print(f"  gates: {gates}")
    print("\n" + nbmlops(["jobs"], project, env).rstrip())
    score_runs = sorted((project / "scoring" / "jobs" / "score" / "runs").glob("*.ipynb"))
    if score_runs:
        print(f"job folder {project / 'scoring/jobs/score'}: last run {score_runs[-1].name}")
    print(f"\nassessment: {before} before, {after} after")
    print(f"\nlook at it all:\n"
          f"  jupyter lab {project}      # the nbmlops sidebar: runs, models, monitor; "
          "'Open in MLflow' starts the managed mlflow ui\n"
          f"  mlflow ui --backend-store-uri {env['MLFLOW_TRACKING_URI']}\n"
          f"  executed notebooks: {project / 'outputs'}")


def story(project: Path, env: dict[str, str], jobs: int = 2,
          only: Sequence[str] | None = None) -> dict[int, float]:
    """Run the chosen steps (all by default) in lanes; each step's seconds, by its index in
    :data:`STEPS`. Raises StepFailed naming every step that failed and why."""
    chosen = [i for i, s in enumerate(STEPS) if only is None or s.notebook[:2] in only]
    lanes = [[i for i in lane if i in chosen] for lane in LANES] if jobs > 1 else [chosen]
    seconds: dict[int, float] = {}
    failures: list[str] = []
    lock = threading.Lock()

    def lane_worker(lane: list[int]) -> None:
        for index in lane:
            step = STEPS[index]
            began = time.monotonic()
            try:
                run_step(step, project, env, index + 1)
                outcome = f"{time.monotonic() - began:.0f} s"
            except StepFailed as e:
                outcome = "FAILED"
                failures.append(str(e))
            with lock:
                seconds[index] = time.monotonic() - began
                print(f"[{len(seconds)}/{len(chosen)}] {step.notebook:<29} {step.what}: "
                      f"{outcome}", flush=True)
            if failures:
                return  # the other lane finishes its step; nothing more starts

    threads = [threading.Thread(target=lane_worker, args=(lane,)) for lane in lanes if lane]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise StepFailed("\n\n".join(failures))
    return seconds


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "demo-output" / "project")
    parser.add_argument("--jobs", type=int, default=2, help="notebooks run at once (1 or 2)")
    parser.add_argument("--only", nargs="*", default=None, help="notebook numbers, e.g. 03")
    options = parser.parse_args(argv)
    project = options.out.resolve()
    started = time.monotonic()
    print(f"a fresh project in {project}", flush=True)
    env = prepare(project)
    before = level(project, env)
    try:
        story(project, env, options.jobs, options.only)
    except StepFailed as e:
        print(e, file=sys.stderr)
        return 1
    nbmlops(["sync"], project, env)
    summary(project, env, before, level(project, env), time.monotonic() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
