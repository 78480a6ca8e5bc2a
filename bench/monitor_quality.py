"""Detection quality of the monitor's drift rule on generated data (not a timing).

20 columns against a 100,000-row reference: 7 shifted in the batch (mean shifts of 0.1,
0.2, 0.3 and 0.5 sigma, a scale change of x1.3, one class's share moved 5 and 10 points
out of 50/50) and 13 unshifted (10 numeric of several shapes, 3 categorical). For each
batch size and seed: which columns the rule flags. Prints the detection rate per shift
and size and the false-alarm rate over the unshifted columns.

``BENCH_SEEDS`` (default 20) and ``BENCH_SIZES`` (default 1000,10000,100000,1000000) make
it shorter.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import pandas as pd

from nbmlops.monitor import bands, drift, sketch

REFERENCE_ROWS = 100_000
SHIFTED = {
    "mean+0.1sd": ("normal", 0.1, 1.0),
    "mean+0.2sd": ("normal", 0.2, 1.0),
    "mean+0.3sd": ("normal", 0.3, 1.0),
    "mean+0.5sd": ("normal", 0.5, 1.0),
    "scale x1.3": ("normal", 0.0, 1.3),
    "class +5pt": ("binary", 0.05, 0.0),
    "class +10pt": ("binary", 0.10, 0.0),
}
UNSHIFTED = {
    **{f"normal_{i}": ("normal", 0.0, 1.0) for i in range(4)},
    **{f"lognormal_{i}": ("lognormal", 0.0, 1.0) for i in range(3)},
    **{f"integer_{i}": ("poisson", 0.0, 1.0) for i in range(3)},
    **{f"class_{i}": ("three", 0.0, 0.0) for i in range(3)},
}


def column(rng: np.random.Generator, kind: str, shift: float, scale: float, n: int) -> object:
    if kind == "normal":
        return rng.normal(shift, scale, n)
    if kind == "lognormal":
        return rng.lognormal(0.0, 0.5, n)
    if kind == "poisson":
        return rng.poisson(40, n)
    if kind == "binary":
        return np.where(rng.random(n) < 0.5 + shift, "yes", "no")
    return rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])


def frame(rng: np.random.Generator, n: int, shifted: bool) -> pd.DataFrame:
    cols = {name: column(rng, k, s if shifted else 0.0, c if shifted else 1.0, n)
            for name, (k, s, c) in SHIFTED.items()}
    cols.update({name: column(rng, k, s, c, n) for name, (k, s, c) in UNSHIFTED.items()})
    return pd.DataFrame(cols)


def main() -> int:
    seeds = int(os.environ.get("BENCH_SEEDS", "20"))
    sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "1000,10000,100000,1000000").split(",")]
    print(f"monitor drift rule: reference {REFERENCE_ROWS:,} rows, {seeds} seeds per size")
    header = f"{'column':<14}" + "".join(f"{n:>11,}" for n in sizes)
    print(header)
    hits = {name: [0] * len(sizes) for name in SHIFTED}
    alarms = [0] * len(sizes)
    seconds = [0.0] * len(sizes)
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        ref = frame(rng, REFERENCE_ROWS, shifted=False)
        layout = sketch.layout_of(ref)
        ref_sketch = sketch.sketch(ref, layout)
        band = bands.calibrate(ref, layout)
        for i, n in enumerate(sizes):
            batch = frame(rng, n, shifted=True)
            t = time.perf_counter()
            found = drift.compare(layout, ref_sketch, sketch.sketch(batch, layout), band)
            seconds[i] += time.perf_counter() - t
            for d in found:
                if d.column in hits:
                    hits[d.column][i] += d.drifted
                else:
                    alarms[i] += d.drifted
    for name, row in hits.items():
        print(f"{name:<14}" + "".join(f"{h / seeds:>11.0%}" for h in row))
    print(f"{'false alarms':<14}" + "".join(f"{a / seeds / len(UNSHIFTED):>11.2%}"
                                          for a in alarms))
    print(f"{'seconds/batch':<14}" + "".join(f"{s / seeds:>11.3f}" for s in seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
