"""Alert bands calibrated on the reference: how far a batch of clean data strays by chance.

A fixed threshold on an effect size is either deaf on large batches or noisy on small ones:
a Wasserstein distance of 0.1 sigma is a real shift at 1,000,000 rows and chance at 200.
So the reference (shuffled with a fixed seed, since training data is often sorted by time)
is cut into :data:`CHUNKS` chunks; each chunk is compared with the rest of the reference,
and the mean and spread of those distances give the band, as NannyML calibrates its
thresholds on reference chunks (mean + 3 standard deviations).

A batch rarely has a chunk's size, so the band is carried to the batch's size by the rate
at which sampling noise in these distances falls: with ``1/n + 1/N`` (the two sample sizes),
its square root. Chunks and rest are counted into the reference's own layout, so the band
is computed from counts alone, once, when the reference is recorded.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from nbmlops.monitor import statistics as stats
from nbmlops.monitor.sketch import Layout, sketch

__all__ = ["CHUNKS", "MIN_CHUNK", "MIN_CHUNKS", "Band", "calibrate"]

#: Chunks the reference is cut into, at most.
CHUNKS = 10
#: Rows a chunk has at least: a smaller reference is cut into fewer chunks ...
MIN_CHUNK = 50
#: ... and with fewer chunks than this, it gets no band: its columns fall back to a fixed
#: limit (a spread measured on four values says little).
MIN_CHUNKS = 5
_SEED = 20240601


@dataclass(frozen=True)
class Band:
    """The spread of a column's effect size between reference chunks and the rest."""

    mean: float
    std: float
    chunk_rows: int
    reference_rows: int

    def upper(self, rows: int, sigmas: float = 3.0) -> float:
        """The largest effect a clean batch of ``rows`` rows shows against the whole
        reference, at ``sigmas`` standard deviations."""
        chunk = 1 / self.chunk_rows + 1 / (self.reference_rows - self.chunk_rows)
        batch = 1 / max(rows, 1) + 1 / self.reference_rows
        return (self.mean + sigmas * self.std) * math.sqrt(batch / chunk)

    def to_json(self) -> dict[str, Any]:
        return {"mean": self.mean, "std": self.std, "chunk_rows": self.chunk_rows,
                "reference_rows": self.reference_rows}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Band:
        return cls(float(data["mean"]), float(data["std"]), int(data["chunk_rows"]),
                   int(data["reference_rows"]))


def calibrate(frame: pd.DataFrame, layout: Layout, chunks: int = CHUNKS) -> dict[str, Band]:
    """The band of each numeric and categorical column of ``layout`` on the reference
    ``frame`` (none when the reference is too small to cut into chunks)."""
    rows = len(frame)
    chunks = min(chunks, rows // MIN_CHUNK)
    if chunks < MIN_CHUNKS:
        return {}
    size = rows // chunks
    order = np.random.default_rng(_SEED).permutation(rows)
    whole = sketch(frame, layout)
    parts = [sketch(frame.iloc[order[i * size:(i + 1) * size]], layout) for i in range(chunks)]
    bands = {}
    for name, col in layout.columns.items():
        if col.kind not in ("numeric", "categorical"):
            continue
        total = whole.columns[name].counts
        values = []
        for part in parts:
            counts = part.columns[name].counts
            rest = [t - c for t, c in zip(total, counts, strict=True)]
            values.append(stats.effect(col, rest, counts))
        bands[name] = Band(statistics.fmean(values), statistics.stdev(values), size, rows)
    return bands
