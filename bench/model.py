"""`make bench`: what ``%%track --model`` adds to a cell that fits a scikit-learn model,
against logging and registering the same model with MLflow directly, measured in one run.

1. The cell tracked with ``%%track`` and with ``%%track --model clf=NAME`` (autosync off: the
   kernel's part only, which is all a user waits for); the difference is what ``--model`` adds.
2. The anchor: inside one MLflow run, ``mlflow.sklearn.log_model`` with an input example, then
   ``mlflow.register_model``: what a user would write instead. Also shown with the
   requirements given (MLflow then skips inferring them, its slowest step).
3. For information, what the sync process then spends on the model (log + register).

Target (not a test): added by --model <= 0.1x the direct MLflow calls.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

REPEATS = 21

SETUP = (
    "from sklearn.datasets import load_breast_cancer\n"
    "from sklearn.ensemble import RandomForestClassifier\n"
    "from sklearn.metrics import roc_auc_score\n"
    "from sklearn.model_selection import train_test_split\n"
    "X, y = load_breast_cancer(return_X_y=True, as_frame=True)\n"
    "X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)\n"
)
CELL = (
    "clf = RandomForestClassifier(n_estimators=50, max_depth=6, random_state=0)\n"
    "clf.fit(X_train, y_train)\n"
    "auc = roc_auc_score(y_test, clf.predict_proba(X_test)[:, 1])\n"
)


def cell_latencies(ip, source: str, n: int) -> list[float]:  # type: ignore[no-untyped-def]
    from IPython.utils.capture import capture_output

    times = []
    with capture_output():
        for _ in range(n):
            t = time.perf_counter()
            ip.run_cell(source)
            times.append(time.perf_counter() - t)
    return times


def mlflow_direct(uri: str, ns: dict[str, object], n: int,
                  requirements: list[str] | None = None) -> list[float]:
    """``log_model`` + ``register_model`` of the fitted model, in a run, as a user would."""
    import mlflow
    import mlflow.sklearn

    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("anchor")
    times = []
    for _ in range(n):
        with mlflow.start_run():
            t = time.perf_counter()
            info = mlflow.sklearn.log_model(
                ns["clf"], name="clf", input_example=ns["X_train"].head(5),  # type: ignore[attr-defined]
                serialization_format="cloudpickle", pip_requirements=requirements,
            )
            mlflow.register_model(info.model_uri, "bench-direct")
            times.append(time.perf_counter() - t)
    return times


def sync_seconds(spool_root: Path) -> tuple[float, int]:
    """Upload the spooled records (each with a model); seconds per record."""
    from nbmlops.sync import worker
    from nbmlops.sync.spool import Spool

    spool = Spool(spool_root)
    count = len(spool.entries())
    t = time.perf_counter()
    report = worker.drain(spool, timeout=600)
    assert report.ok, report.errors
    return (time.perf_counter() - t) / max(count, 1), count


def main() -> None:
    from IPython.core.interactiveshell import InteractiveShell

    home = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "pyproject.toml").write_text("[project]\nname = 'bench'\n")
        os.chdir(root)
        uri = f"sqlite:///{root / 'mlflow.db'}"
        os.environ.update(NBMLOPS_SPOOL=str(root / "spool"),
                          NBMLOPS_NOTEBOOK=str(root / "bench.ipynb"),
                          MLFLOW_TRACKING_URI=uri, NBMLOPS_AUTOSYNC="0")
        ip = InteractiveShell.instance()
        ip.run_line_magic("load_ext", "nbmlops")
        ip.run_cell(SETUP)
        tracked_cell = "%%track fit\n" + CELL
        model_cell = "%%track fit --model clf=bench\n" + CELL
        cell_latencies(ip, tracked_cell, 3)  # warm both paths
        cell_latencies(ip, model_cell, 3)
        # Interleaved, so a busy moment of the machine weighs on both alike.
        pairs = [(cell_latencies(ip, tracked_cell, 1)[0], cell_latencies(ip, model_cell, 1)[0])
                 for _ in range(REPEATS)]
        tracked = statistics.median(t for t, _ in pairs)
        with_model = statistics.median(m for _, m in pairs)
        added = statistics.median(m - t for t, m in pairs)
        per_record, records = sync_seconds(root / "spool")
        anchor = f"sqlite:///{root / 'anchor.db'}"
        direct = statistics.median(mlflow_direct(anchor, ip.user_ns, REPEATS))
        given = statistics.median(mlflow_direct(anchor, ip.user_ns, REPEATS,
                                                ["scikit-learn", "pandas"]))
        os.chdir(home)
    print(f"--model on a cell fitting a 50-tree random forest, median of {REPEATS}")
    print(f"  %%track                       {tracked * 1000:8.1f} ms")
    print(f"  %%track --model clf=bench     {with_model * 1000:8.1f} ms")
    print(f"  added by --model              {added * 1000:8.1f} ms   (median of the pairs)")
    print(f"  log_model + register_model    {direct * 1000:8.1f} ms   (MLflow, directly)")
    print(f"  added / MLflow                {added / direct:8.4f}x   (target <= 0.1x)")
    print(f"  ... requirements given        {given * 1000:8.1f} ms   "
          f"({added / given:.3f}x)")
    print(f"  sync process, per record      {per_record * 1000:8.1f} ms   ({records} records, "
          "run + model + version, off the kernel)")


if __name__ == "__main__":
    main()
