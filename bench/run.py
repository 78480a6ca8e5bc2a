"""`make bench`: nbmlops against its anchors, measured in one run, printed as ratios.

1. ``%load_ext nbmlops`` vs ``import mlflow``, each in a fresh interpreter.
2. Added latency of ``%%track`` on a trivial cell (until the prompt returns) vs the same cell
   untracked, compared with a direct MLflow fluent run logging the same params and metrics
   (and, for a cell that draws a figure, the same figure with ``mlflow.log_figure``).

Targets (not tests): load <= 0.15x of import mlflow; added <= 5 ms median and <= 0.25x MLflow.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPEATS = 7
CELLS = 200

CELL = "lr = 0.01\nepochs = 3\nopt = 'adam'\nacc = 0.91\nloss = 0.2\n"
# The commonest real shape: hyperparameters from an earlier cell, an estimator built from them;
# the run records both (the estimator's get_params() as model.*).
SETUP = (
    "from sklearn.ensemble import RandomForestClassifier\n"
    "n_estimators = 100\nmax_depth = 4\ntest_size = 0.25\n"
)
ESTIMATOR_CELL = (
    "model = RandomForestClassifier(n_estimators=n_estimators, max_depth=max_depth)\n"
    "acc = 0.91 * (1 - test_size)\n"
)

# A figure drawn and closed, as `plt.show()` closes it under Jupyter's inline backend.
FIGURE_SETUP = "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
FIGURE_CELL = (
    "fig, ax = plt.subplots(figsize=(4, 3))\nax.plot([0.9, 0.5, 0.3, 0.2])\n"
    "ax.set_title('loss')\nplt.close(fig)\n"
)


def fresh_interpreter_seconds(code: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return float(out.strip().splitlines()[-1])


LOAD_EXT = (
    "from IPython.core.interactiveshell import InteractiveShell\n"
    "import time\nip = InteractiveShell.instance()\nt = time.perf_counter()\n"
    "ip.run_line_magic('load_ext', 'nbmlops')\nprint(time.perf_counter() - t)"
)
IMPORT_MLFLOW = (
    "import time\nt = time.perf_counter()\nimport mlflow\nprint(time.perf_counter() - t)"
)


def bench_load() -> tuple[float, float]:
    load = statistics.median(fresh_interpreter_seconds(LOAD_EXT) for _ in range(REPEATS))
    mlflow = statistics.median(fresh_interpreter_seconds(IMPORT_MLFLOW) for _ in range(REPEATS))
    return load, mlflow


def cell_latencies(ip, source: str, n: int) -> list[float]:  # type: ignore[no-untyped-def]
    from IPython.utils.capture import capture_output

    times = []
    with capture_output():
        for _ in range(n):
            t = time.perf_counter()
            ip.run_cell(source)
            times.append(time.perf_counter() - t)
    return times


def mlflow_fluent_latencies(
    uri: str, n: int, params: dict[str, object], figure: bool = False
) -> list[float]:
    import mlflow

    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("anchor")
    times = []
    for _ in range(n):
        namespace: dict[str, object] = {}
        if figure:  # drawn outside the timing, as the untracked cell draws it too
            exec(FIGURE_SETUP + FIGURE_CELL.replace("plt.close(fig)", ""), namespace)
        t = time.perf_counter()
        with mlflow.start_run():
            mlflow.log_params(params)
            mlflow.log_metrics({"acc": 0.91, "loss": 0.2})
            if figure:
                mlflow.log_figure(namespace["fig"], "figures/loss.png")
        times.append(time.perf_counter() - t)
        if figure:
            namespace["plt"].close("all")  # type: ignore[attr-defined]
    return times


def bench_track(root: Path, cell: str = CELL, setup: str = "") -> dict[str, float]:
    """The cell untracked and tracked, and a direct MLflow run logging as many params."""
    from IPython.core.interactiveshell import InteractiveShell

    from nbmlops.sync.spool import Spool

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "nbmlops")
    ip.run_cell(setup)
    cell_latencies(ip, cell, 20)  # warm both paths before measuring
    cell_latencies(ip, "%%track\n" + cell, 20)
    plain = statistics.median(cell_latencies(ip, cell, CELLS))
    tracked = statistics.median(cell_latencies(ip, "%%track\n" + cell, CELLS))
    spool = Spool(root / "spool")
    params = spool.load(spool.entries()[-1]).params
    anchor = statistics.median(mlflow_fluent_latencies(
        f"sqlite:///{root / 'anchor.db'}", 50, dict(params), figure=cell == FIGURE_CELL))
    return {"plain": plain, "tracked": tracked, "added": tracked - plain, "mlflow": anchor,
            "params": len(params)}


def git_repo(root: Path) -> None:
    """Make ``root`` a repository with one commit and one uncommitted change."""
    for args in (["init", "-q"], ["add", "pyproject.toml"],
                 ["-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q", "-m", "b"]):
        subprocess.run(["git", *args], cwd=root, check=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'bench-dirty'\n")


def report(title: str, r: dict[str, float], figure: bool = False) -> None:
    # A figure is rendered to PNG before the cell returns (the next cell may change it), as
    # mlflow.log_figure renders it: that render is the cost, so the target is MLflow's own.
    added_target, ratio_target = ("", "1x, the figure as log_figure") if figure else (
        "   (target <= 5 ms)", "0.25x")
    print(f"\n{title}, median of {CELLS} ({r['params']:.0f} params a run)")
    print(f"  untracked          {r['plain'] * 1000:8.2f} ms")
    print(f"  %%track            {r['tracked'] * 1000:8.2f} ms")
    print(f"  added by %%track   {r['added'] * 1000:8.2f} ms{added_target}")
    print(f"  direct MLflow run  {r['mlflow'] * 1000:8.2f} ms" + (
        " (with mlflow.log_figure)" if figure else ""))
    print(f"  added / MLflow     {r['added'] / r['mlflow']:8.3f}x   (target <= {ratio_target})")


def main() -> None:
    load, mlflow = bench_load()
    print("load")
    print(f"  %load_ext nbmlops  {load * 1000:8.1f} ms")
    print(f"  import mlflow      {mlflow * 1000:8.1f} ms")
    print(f"  ratio              {load / mlflow:8.3f}x   (target <= 0.15x)")

    home = os.getcwd()
    for title, in_git, cell, setup in (
        ("trivial cell, project outside git", False, CELL, ""),
        ("trivial cell, dirty git repository", True, CELL, ""),
        ("estimator from earlier hyperparameters, outside git", False, ESTIMATOR_CELL, SETUP),
        ("a figure drawn and closed (plt.show() inline), outside git", False, FIGURE_CELL,
         FIGURE_SETUP),
    ):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            (root / "pyproject.toml").write_text("[project]\nname = 'bench'\n")
            if in_git:
                git_repo(root)
            os.chdir(root)
            os.environ.update(
                NBMLOPS_SPOOL=str(root / "spool"),
                NBMLOPS_NOTEBOOK=str(root / "bench.ipynb"),
                MLFLOW_TRACKING_URI=f"sqlite:///{root / 'mlflow.db'}",
                # The background upload would compete for the machine's cores while we time.
                NBMLOPS_AUTOSYNC="0",
            )
            r = bench_track(root, cell, setup)
            os.chdir(home)
        report(title, r, figure=cell == FIGURE_CELL)


if __name__ == "__main__":
    main()
