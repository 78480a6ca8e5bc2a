"""The upstream source the example notebooks read: the wine data set bundled with scikit-learn.

It plays a table another team writes into ``data/``. ``write_raw(changed=True)`` is the day the
upstream changed: the alcohol column arrives in another unit (per mille, x10), a ``vintage``
column was added, and a few colour intensities are missing.
``batch(day)`` is a day of rows to score: from ``shift_day`` on, the upstream change reaches
the scoring job too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_wine

RAW = Path("data/wine.csv")


def frame() -> pd.DataFrame:
    """The 178 wines, 13 measured columns and ``target`` (the cultivar)."""
    return load_wine(as_frame=True).frame


def changed(wine: pd.DataFrame) -> pd.DataFrame:
    """The same wines as the upstream sends them after its change."""
    wine = wine.copy()
    wine["alcohol"] = wine["alcohol"] * 10
    wine["vintage"] = 2024
    wine.loc[wine.index[::7], "color_intensity"] = np.nan
    return wine


def write_raw(changed_upstream: bool = False, path: Path = RAW) -> Path:
    """Write the raw table as the upstream job would."""
    path.parent.mkdir(parents=True, exist_ok=True)
    wine = frame()
    (changed(wine) if changed_upstream else wine).to_csv(path, index=False)
    return path


def batch(day: int, shift_day: int = 2, rows: int = 400) -> pd.DataFrame:
    """One day of wines to score (no label): resampled with a little noise, the same every time.

    From ``shift_day`` on, the alcohol column moves up by two points, as after a change upstream.
    """
    wine = frame().drop(columns="target")
    rng = np.random.default_rng(day)
    picked = wine.sample(rows, replace=True, random_state=day).reset_index(drop=True)
    noisy = picked * (1 + rng.normal(0, 0.02, picked.shape))
    if day >= shift_day:
        noisy["alcohol"] += 2.0
    return noisy


def labelled(day: int, shift_day: int = 2) -> pd.DataFrame:
    """The wines of a day with their cultivar, as the lab labels them later."""
    wine = frame()
    rng = np.random.default_rng(100 + day)
    picked = wine.sample(len(wine), replace=True, random_state=100 + day).reset_index(drop=True)
    features = picked.drop(columns="target")
    features = features * (1 + rng.normal(0, 0.02, features.shape))
    if day >= shift_day:
        features["alcohol"] += 2.0
    return features.assign(target=picked["target"])
