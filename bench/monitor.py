"""`make bench`: the monitoring step on a 1,000,000-row x 20-column batch, against its anchors.

The step is what a scoring run adds: count the batch into the reference's bins and decide
drift per column (the reference's sketch and bands are made once, when the model is
registered, and are timed apart). Anchors in the same run:

(a) the same statistics computed directly with numpy/scipy on the full data (``ks_2samp``
    and ``wasserstein_distance`` per numeric column, a chi-square test per categorical one);
(b) predicting the batch with a scikit-learn random forest (100 trees, depth 8): the scoring
    the monitoring rides along with;
(c) Evidently's ``DataDriftPreset`` on the same data, when ``EVIDENTLY_PYTHON`` names a
    Python with Evidently 0.7 installed (it does not import with pandas 3, so it lives in a
    virtual environment of its own).

The step is also timed in parts (numeric columns, text columns, drift from the counts) next
to one read of the numeric columns (a sum each): counting takes about a dozen such passes over
the data, hashing a text column in Arrow about as long as counting two numeric ones.

Targets (not tests): <= 0.1x predicting the batch, <= 0.005x Evidently.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
REFERENCE_ROWS = 100_000
NUMERIC, CATEGORICAL = 15, 5


def frame(rows: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cols: dict[str, Any] = {f"n{i}": rng.normal(shift * (i % 3), 1.0, rows) for i in range(NUMERIC)}
    for i in range(CATEGORICAL):
        cols[f"c{i}"] = rng.choice(["a", "b", "c", "d"], rows, p=[0.4, 0.3, 0.2, 0.1])
    return pd.DataFrame(cols)


def seconds(fn: Callable[[], Any], repeats: int = 3) -> tuple[float, float]:
    """Best wall and CPU seconds (CPU time is what a shared machine cannot inflate)."""
    wall = cpu = float("inf")
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    return wall, cpu


def direct(reference: pd.DataFrame, batch: pd.DataFrame) -> list[float]:
    from scipy import stats

    out = []
    for name in reference.columns:
        if name.startswith("n"):
            out.append(stats.ks_2samp(reference[name], batch[name]).pvalue)
            out.append(stats.wasserstein_distance(reference[name], batch[name]))
        else:
            table = pd.concat([reference[name].value_counts(), batch[name].value_counts()],
                              axis=1).fillna(0)
            out.append(stats.chi2_contingency(table.to_numpy().T).pvalue)
    return out


EVIDENTLY = """
import sys, time, pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset
ref, cur = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2])
start, cpu = time.perf_counter(), time.process_time()
Report([DataDriftPreset()]).run(reference_data=ref, current_data=cur)
print(time.perf_counter() - start, time.process_time() - cpu)
"""


def evidently(reference: pd.DataFrame, batch: pd.DataFrame) -> tuple[float, float] | None:
    python = os.environ.get("EVIDENTLY_PYTHON")
    if not python:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        paths = [Path(tmp) / "ref.parquet", Path(tmp) / "cur.parquet"]
        reference.to_parquet(paths[0])
        batch.to_parquet(paths[1])
        out = subprocess.run([python, "-c", EVIDENTLY, *map(str, paths)], capture_output=True,
                             text=True, check=True)
    wall, cpu = out.stdout.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


def layout_for(layout: Any, names: list[str]) -> Any:
    from nbmlops.monitor.sketch import Layout

    return Layout({n: layout.columns[n] for n in names})


def _pair(times: tuple[float, float]) -> str:
    return f"{times[0]:7.3f} s wall {times[1]:7.3f} s CPU"


def main() -> int:
    from sklearn.ensemble import RandomForestClassifier

    from nbmlops.monitor import bands, drift, sketch

    reference = frame(REFERENCE_ROWS, 0)
    batch = frame(ROWS, 1, shift=0.05)
    start = time.perf_counter()
    layout = sketch.layout_of(reference)
    ref_sketch = sketch.sketch(reference, layout)
    band = bands.calibrate(reference, layout)
    registration = time.perf_counter() - start

    def step() -> list[drift.ColumnDrift]:
        return drift.compare(layout, ref_sketch, sketch.sketch(batch, layout), band)

    found = step()
    ours = seconds(step, repeats=7)
    # Where the time goes, and a floor: one read of every number (a sum per column).
    numbers = [n for n, c in layout.columns.items() if c.kind == "numeric"]
    texts = [n for n, c in layout.columns.items() if c.kind == "categorical"]
    numeric_part = seconds(lambda: sketch.sketch(batch[numbers], layout_for(layout, numbers)), 5)
    text_part = seconds(lambda: sketch.sketch(batch[texts], layout_for(layout, texts)), 5)
    counted = sketch.sketch(batch, layout)
    compare_part = seconds(lambda: drift.compare(layout, ref_sketch, counted, band), 5)
    one_read = seconds(lambda: [batch[n].to_numpy().sum() for n in numbers], 5)
    scipy_direct = seconds(lambda: direct(reference, batch), repeats=1)
    model = RandomForestClassifier(n_estimators=100, max_depth=8, n_jobs=1, random_state=0)
    features = reference.filter(like="n")
    model.fit(features.head(10_000), features.head(10_000).sum(axis=1) > 0)
    predict = seconds(lambda: model.predict_proba(batch[features.columns]), repeats=1)
    other = evidently(reference, batch)

    print(f"monitoring a {ROWS:,} x {NUMERIC + CATEGORICAL} batch against a "
          f"{REFERENCE_ROWS:,}-row reference (wall and CPU seconds; ratios of CPU)")
    print(f"  reference sketch and bands (once, at registration): {registration:.2f} s")
    print(f"  nbmlops step (sketch + drift):  {_pair(ours)}   "
          f"drifted: {sum(d.drifted for d in found)} of {len(found)} columns")
    print(f"    {len(numbers)} numeric columns counted:   {_pair(numeric_part)}   "
          f"(one read of them, a sum each: {one_read[1]:.3f} s CPU)")
    print(f"    {len(texts)} text columns counted:      {_pair(text_part)}")
    print(f"    drift from the counts:        {_pair(compare_part)}")
    print(f"  (a) numpy/scipy on full data:   {_pair(scipy_direct)}   "
          f"nbmlops/direct = {ours[1] / scipy_direct[1]:.3f}x")
    print(f"  (b) forest predict_proba:       {_pair(predict)}   "
          f"nbmlops/predict = {ours[1] / predict[1]:.3f}x (target <= 0.1x)")
    if other is None:
        print("  (c) Evidently DataDriftPreset:  not measured (set EVIDENTLY_PYTHON)")
    else:
        print(f"  (c) Evidently DataDriftPreset:  {_pair(other)}   "
              f"nbmlops/Evidently = {ours[1] / other[1]:.4f}x (target <= 0.005x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
