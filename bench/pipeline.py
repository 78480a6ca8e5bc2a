"""`make bench`: a pipeline's up-to-date check and its fixed cost per step, in one run.

A 10-step pipeline, each step reading a 100 MB input (1 GB in all, generated in a temporary
folder) and writing a small output.

1. The up-to-date check of every step (code, parameters, input and output fingerprints), as a
   new ``nbmlops run`` process makes it (the in-memory fingerprint cache empty, the on-disk one
   as the previous run left it), against running those steps (``nbmlops run --force``).
   Also shown: the same check with no cache at all (every byte hashed).
2. The fixed cost per step of ``nbmlops run`` (its start, MLflow runs, state, locks, the
   scheduling of steps) over plain papermill executing the same notebooks: the wall time of
   ``nbmlops run --force`` less the time its papermill processes took, per step (the plain
   runs are shown beside it, but the machine's load moves kernel start-up by seconds between
   runs).
3. A step's papermill process as nbmlops starts it (``python -m nbmlops.papermill_cli``,
   papermill's CLI without jsonschema's slow optional import) against ``python -m papermill``
   on the same notebooks.

Targets (not tests): check <= 0.02x of running; fixed cost <= 0.5 s per step.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

STEPS = 10
INPUT_BYTES = 100 * 1024 * 1024
REPEATS = 2


def notebook(path: Path, i: int) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        f"data = open('data/in_{i}.bin', 'rb').read()\n"
        f"with open('data/out_{i}.txt', 'w') as f:\n"
        "    f.write(str(len(data)))")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, str(path))


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="nbmlops-bench-pipeline-", dir="/tmp"))
    try:
        run(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def run(base: Path) -> None:
    root = base / "project"
    (root / "data").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'bench'\n")
    os.environ.update({
        "MLFLOW_TRACKING_URI": f"sqlite:///{base / 'mlflow.db'}",
        "NBMLOPS_SPOOL": str(base / "spool"),
        "NBMLOPS_CACHE": str(base / "cache"),
        "NBMLOPS_AUTOSYNC": "0",
    })
    os.chdir(root)
    block = os.urandom(1 << 20)
    for i in range(STEPS):
        with open(root / "data" / f"in_{i}.bin", "wb") as f:
            for n in range(INPUT_BYTES >> 20):
                f.write(block[:-1] + bytes([n % 256]))  # not one repeated block
        notebook(root / f"step_{i}.ipynb", i)
    time.sleep(2.1)  # past the fingerprint cache's racy window: the inputs are cacheable

    from nbmlops.jobs.export.pipeline import export_pipeline
    from nbmlops.jobs.spec import load

    folder = export_pipeline([root / f"step_{i}.ipynb" for i in range(STEPS)],
                             name="bench").folder
    text = (folder / "job.yaml").read_text()
    (folder / "job.yaml").write_text(text.replace("max_parallel: null", "max_parallel: 1"))
    job = load(folder)

    def pipeline_seconds() -> tuple[float, float, float]:
        """Wall time of a forced run in a fresh interpreter, as ``nbmlops run`` is, the time
        its papermill processes took (the same command plain papermill is), and the part of
        the rest spent before the first step's papermill and after the last one's."""
        start = time.time()
        done = subprocess.run([sys.executable, __file__, "--inner", str(folder)],
                              capture_output=True, text=True, check=False)
        end = time.time()
        if done.returncode:
            raise SystemExit(f"the pipeline failed:\n{done.stderr}")
        executing, first, last = map(float, done.stdout.strip().splitlines()[-1].split())
        return end - start, executing, (first - start) + (end - last)

    def papermill_seconds() -> float:
        t = time.perf_counter()
        for i in range(STEPS):
            subprocess.run([sys.executable, "-m", "papermill", f"step_{i}.ipynb",
                            str(base / f"plain_{i}.ipynb"), "--no-progress-bar"],
                           capture_output=True, check=True)
        return time.perf_counter() - t

    # Interleaved, best of REPEATS each: the machine's load moves kernel start-up times.
    runs, plain = [], []
    for _ in range(REPEATS):
        runs.append(pipeline_seconds())
        plain.append(papermill_seconds())
    running, executing, once = min(runs)
    papermill = min(plain)
    fixed = (running - executing) / STEPS
    between = (running - executing - once) / STEPS

    from nbmlops.data import fingerprints
    from nbmlops.jobs.run import uptodate

    def check_all() -> float:
        t = time.perf_counter()
        verdicts = [uptodate.check(folder, job, step, {}) for step in job.steps]
        elapsed = time.perf_counter() - t
        assert all(v.current for v in verdicts), [v.reason for v in verdicts]
        return elapsed

    checks = []
    for _ in range(3):
        fingerprints.clear_file_cache()  # as a new process: the on-disk cache only
        checks.append(check_all())
    warm = min(checks)
    fingerprints.clear_file_cache(disk=True)
    cold = check_all()

    size = sum((root / "data" / f"in_{i}.bin").stat().st_size for i in range(STEPS)) / 1e9
    print(f"pipeline of {STEPS} steps, inputs {size:.2f} GB")
    print(f"running the steps (nbmlops run --force, best of {REPEATS}): {running:.1f} s")
    print(f"up-to-date check, as a new run makes it: {warm * 1000:.1f} ms = "
          f"{warm / running:.6f}x of running (target <= 0.02x)")
    print(f"up-to-date check with no cache (every byte hashed): {cold:.2f} s = "
          f"{cold / running:.3f}x of running")
    print(f"plain papermill, the same notebooks one after the other (best of {REPEATS}): "
          f"{papermill:.1f} s; inside the pipeline run: {executing:.1f} s")
    print(f"a step's papermill process as nbmlops starts it: {executing / STEPS:.2f} s, plain "
          f"`python -m papermill`: {papermill / STEPS:.2f} s = {executing / papermill:.2f}x")
    print(f"fixed cost per step over plain papermill: {fixed:.2f} s (target <= 0.5 s): the "
          "run's wall time less its papermill processes, per step")
    print(f"  of which once per run (start, imports, the pipeline's run; naming and uploading "
          f"at the end): {once:.1f} s; per step between its papermill runs: {between:.3f} s")


def inner(folder: str) -> None:
    """``nbmlops run FOLDER --force`` in this process, printing how long its papermill
    processes took in all."""
    from nbmlops.cli import main as cli
    from nbmlops.jobs.run import pipeline as pipeline_run

    spent, first, last = [0.0], [0.0], [0.0]
    execute = pipeline_run._execute

    def timed(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        first[0] = first[0] or time.time()
        try:
            return execute(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - t
            last[0] = time.time()

    pipeline_run._execute = timed  # type: ignore[assignment]
    status = cli(["run", folder, "--force"])
    print(spent[0], first[0], last[0])
    sys.exit(status)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--inner"]:
        inner(sys.argv[2])
    else:
        main()
