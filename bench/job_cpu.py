"""`make bench`: the CPU one ``nbmlops run JOB`` costs, against plain papermill, in one run.

A job of two tracked cells (one logs parameters and a metric, one fits and registers a small
scikit-learn model). Measured: the CPU time (user + system) of every process the command
starts, detached sync processes included (they carry a marker in their environment), until
the last of them has ended. The anchor is ``python -m papermill`` running the same notebook
with its records left in the spool (no upload, no job run): what the rest costs is
nbmlops's, mostly importing mlflow and opening the store in each process that uploads.

Targets (not tests): ``nbmlops run`` <= 3x plain papermill's CPU.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPEATS = 2
MARK = "NBMLOPS_BENCH_MARK"

CELLS = [
    "%load_ext nbmlops",
    "n_estimators = 20\nmax_depth = 3",
    "%%track prepare\nfrom sklearn.datasets import load_wine\n"
    "X, y = load_wine(return_X_y=True, as_frame=True)\nrows = len(X)",
    "%%track --model model=bench-wine train\nfrom sklearn.ensemble import RandomForestClassifier\n"
    "model = RandomForestClassifier(n_estimators=n_estimators, max_depth=max_depth, "
    "random_state=0).fit(X, y)\naccuracy = model.score(X, y)",
]


def cpu_seconds(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """CPU seconds of every process marked as started by ``command``, and its wall time."""
    import psutil

    mark = uuid.uuid4().hex
    seen: dict[tuple[int, float], float | None] = {}

    def look() -> None:
        for proc in psutil.process_iter():
            try:
                key = (proc.pid, proc.create_time())
                if key not in seen and proc.environ().get(MARK) != mark:
                    seen[key] = None
                elif seen.get(key, 0.0) is not None:
                    times = proc.cpu_times()
                    seen[key] = times.user + times.system
            except psutil.Error:
                pass

    started = time.monotonic()
    proc = subprocess.Popen(command, env={**env, MARK: mark}, cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while proc.poll() is None:
        look()
        time.sleep(0.05)
    wall = time.monotonic() - started
    while True:  # a sync process it started uploads on, then idles and exits
        look()
        if not any(cpu is not None and psutil.pid_exists(pid) for (pid, _), cpu in seen.items()):
            break
        time.sleep(0.05)
    if proc.returncode:
        raise SystemExit(f"{' '.join(command)} failed ({proc.returncode})")
    return sum(cpu for cpu in seen.values() if cpu is not None), wall


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="nbmlops-bench-job-", dir="/tmp"))
    try:
        run(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def run(base: Path) -> None:
    import nbformat

    root = base / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'bench'\n")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nb.cells[1].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, str(root / "train.ipynb"))
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{base / 'mlflow.db'}",
           "NBMLOPS_SPOOL": str(base / "spool"), "NBMLOPS_SYNC_IDLE": "2"}
    bin_dir = Path(sys.executable).parent
    subprocess.run([str(bin_dir / "nbmlops"), "export", "train.ipynb"], cwd=root, env=env,
                   check=True, capture_output=True)
    ours, plain = [], []
    for _ in range(REPEATS):
        ours.append(cpu_seconds([str(bin_dir / "nbmlops"), "run", "jobs/train"], env, root))
        # The anchor's records stay in the spool: a spool of its own, never synced.
        quiet = {**env, "NBMLOPS_SPOOL": str(base / "plain-spool"), "NBMLOPS_AUTOSYNC": "0"}
        plain.append(cpu_seconds([sys.executable, "-m", "papermill", "train.ipynb",
                                  str(base / "out.ipynb"), "--no-progress-bar"], quiet, root))
    (cpu, wall), (anchor, anchor_wall) = min(ours), min(plain)
    print(f"nbmlops run JOB: {cpu:.1f} CPU-s ({wall:.1f} s wall), best of {REPEATS}")
    print(f"plain papermill, records left in the spool: {anchor:.1f} CPU-s "
          f"({anchor_wall:.1f} s wall)")
    print(f"ratio: {cpu / anchor:.2f}x (target <= 3x)")


if __name__ == "__main__":
    main()
