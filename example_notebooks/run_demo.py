"""`make demo`: run the example notebook with papermill on the embedded store, then show the runs.

Everything lands in the project's own sqlite store (``mlflow.db`` at the repository root), the
default when no ``MLFLOW_TRACKING_URI`` is set.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NOTEBOOK = HERE / "wine_classifier.ipynb"
OUTPUT = ROOT / "demo-output" / NOTEBOOK.name
BIN = Path(sys.executable).parent


def main() -> int:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    OUTPUT.parent.mkdir(exist_ok=True)
    print(f"running {NOTEBOOK.relative_to(ROOT)} with papermill ...", flush=True)
    subprocess.run(
        [BIN / "papermill", NOTEBOOK, OUTPUT, "--cwd", HERE, "--log-level", "WARNING"],
        check=True, env=env,
    )
    print("uploading the spooled records ...", flush=True)
    subprocess.run([BIN / "nbmlops", "sync"], check=True, env=env, cwd=ROOT)

    from mlflow import MlflowClient

    uri = f"sqlite:///{ROOT / 'mlflow.db'}"
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name(str(NOTEBOOK.relative_to(ROOT)))
    if experiment is None:
        print("no runs were recorded", file=sys.stderr)
        return 1
    runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time DESC"],
                              max_results=10)
    print(f"\nexperiment {experiment.name!r} in {uri}:")
    for run in runs:
        metrics = ", ".join(f"{k}={v:.3f}" for k, v in sorted(run.data.metrics.items()))
        print(f"  {run.info.run_name:<10} {run.info.status:<9} {run.info.run_id[:8]}  {metrics}")
    print(f"\nexecuted notebook: {OUTPUT.relative_to(ROOT)}")
    print(f"open the runs:     mlflow ui --backend-store-uri {uri}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
