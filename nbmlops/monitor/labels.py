"""Delayed labels: the truth arrives after the prediction, and then the model is judged live.

.. code-block:: yaml

    monitor:
      labels:
        path: data/outcomes/*.csv    # files (csv or parquet) where true labels land, a glob
        key: customer_id             # joins a label to its prediction
        label: churned               # the true value
        at: resolved_at              # when the label became known (optional: feedback lag)
      segments: [plan, region]       # live metrics per value of these columns too

A scoring run keeps its predictions with their key and time; later runs join the labels
that have arrived since and compute, overall and per segment: accuracy (and AUC when a
score of the positive class was kept) for classes, RMSE and MAE for numbers; how many
predictions are labelled and still waiting; the **feedback lag** (label time minus
prediction time); and the **offline/online gap**: each live metric minus the same metric
recorded when the model was registered (``val_auc`` and ``test_auc`` count as ``auc``).

Pure apart from :func:`read_labels`: frames in, figures out.
"""

from __future__ import annotations

import glob
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nbmlops.exceptions import ConfigError

__all__ = ["LabelSource", "LiveMetrics", "gap", "live_metrics", "parse_labels", "read_labels"]

#: Prefixes of offline metric names that name the data they were measured on.
_SPLITS = ("val_", "valid_", "validation_", "test_", "eval_", "holdout_")
_KEYS = {"path", "key", "label", "at"}


@dataclass(frozen=True)
class LabelSource:
    path: str
    key: str
    label: str
    at: str | None = None


@dataclass
class LiveMetrics:
    """Live metrics of one scoring window's labelled predictions."""

    metrics: dict[str, float]
    labelled: int
    pending: int
    segments: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    lag_seconds: dict[str, float] = field(default_factory=dict)  # median, p95


def parse_labels(table: Any) -> LabelSource:
    """``monitor.labels``; ConfigError naming what is wrong."""
    if not isinstance(table, Mapping):
        raise ConfigError("monitor: labels must be a table with path, key and label")
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigError(f"monitor: labels has an unknown key {unknown[0]!r}")
    for name in ("path", "key", "label"):
        if not isinstance(table.get(name), str) or not table[name].strip():
            raise ConfigError(f"monitor: labels needs {name}")
    at = table.get("at")
    if at is not None and not isinstance(at, str):
        raise ConfigError("monitor: labels at must name a column")
    return LabelSource(table["path"].strip(), table["key"].strip(), table["label"].strip(), at)


def read_labels(source: LabelSource, root: Path) -> pd.DataFrame:
    """Every label file under ``root`` matching the source's path, concatenated; the last
    label of a key wins (a correction arrives after the first answer)."""
    paths = sorted(glob.glob(str(root / source.path)))
    frames = [pd.read_parquet(p) if p.endswith(".parquet") else pd.read_csv(p) for p in paths]
    wanted = [source.key, source.label, *([source.at] if source.at else [])]
    for path, frame in zip(paths, frames, strict=True):
        missing = [c for c in wanted if c not in frame.columns]
        if missing:
            raise ConfigError(f"labels file {Path(path).name} has no column {missing[0]!r}")
    if not frames:
        return pd.DataFrame(columns=wanted)
    return pd.concat([f[wanted] for f in frames]).drop_duplicates(source.key, keep="last")


def live_metrics(
    predictions: pd.DataFrame,
    labels: pd.DataFrame,
    source: LabelSource,
    *,
    prediction: str = "prediction",
    score: str | None = None,
    predicted_at: str | None = None,
    segments: Sequence[str] = (),
) -> LiveMetrics:
    """Join ``labels`` to ``predictions`` on the key and measure the labelled ones."""
    # A key read from csv on one side and parquet on the other: 7, 7.0 and "7" are one key.
    predictions = predictions.assign(**{source.key: _key_text(predictions[source.key])})
    labels = labels.assign(**{source.key: _key_text(labels[source.key])})
    joined = predictions.merge(labels, on=source.key, how="left", suffixes=("", "_label"))
    truth = source.label if source.label != prediction else f"{source.label}_label"
    labelled = joined[joined[truth].notna()]
    out = LiveMetrics(_metrics(labelled, truth, prediction, score), len(labelled),
                      len(joined) - len(labelled))
    for column in segments:
        out.segments[column] = {
            str(value): {**_metrics(part, truth, prediction, score), "count": float(len(part))}
            for value, part in labelled.groupby(column, sort=True, dropna=False)
        }
    if source.at and predicted_at and len(labelled):
        lag = (pd.to_datetime(labelled[source.at], utc=True)
               - pd.to_datetime(labelled[predicted_at], utc=True)).dt.total_seconds()
        out.lag_seconds = {"median": float(lag.median()), "p95": float(lag.quantile(0.95))}
    return out


def _metrics(rows: pd.DataFrame, truth: str, prediction: str, score: str | None
             ) -> dict[str, float]:
    if not len(rows):
        return {}
    y, p = rows[truth], rows[prediction]
    if _is_regression(y):
        err = y.to_numpy(dtype=float) - p.to_numpy(dtype=float)
        return {"rmse": float(np.sqrt(np.mean(err ** 2))), "mae": float(np.mean(np.abs(err)))}
    out = {"accuracy": float((_classes(y) == _classes(p)).mean())}
    if score is not None:
        auc = _auc(y, rows[score])
        if auc is not None:
            out["auc"] = auc
    return out


def _classes(values: pd.Series) -> np.ndarray:
    """Class labels comparable across sides: 1, 1.0 and "1" are one class (a left join
    turns an integer label column into floats)."""
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.notna().sum() == values.notna().sum():
        return numbers.to_numpy(dtype=float).astype(str)
    return values.astype(str).to_numpy()


def _key_text(values: pd.Series) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce")
    if len(values) and numbers.notna().all() and bool((numbers == numbers.round()).all()):
        return numbers.astype("int64").astype(str)
    return values.astype(str)


def _is_regression(y: pd.Series) -> bool:
    return bool(pd.api.types.is_float_dtype(y.dtype) and y.nunique() > 20)


def _auc(y: pd.Series, score: pd.Series) -> float | None:
    """Area under the ROC curve of a binary label, from ranks (Mann-Whitney U, ties
    averaged); None unless both classes are present."""
    names = _classes(y)
    classes = sorted(set(names))
    if len(classes) != 2:
        return None
    positive = names == _positive(classes)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    ranks = score.rank(method="average").to_numpy()
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _positive(classes: Sequence[str]) -> str:
    # 1 over 0, "True" over "False", "yes" over "no"; otherwise the later in order.
    for pos in ("1.0", "True", "true", "yes"):
        if pos in classes:
            return pos
    return classes[-1]


def gap(live: Mapping[str, float], offline: Mapping[str, float]) -> dict[str, float]:
    """Live minus offline for every metric both have (``val_auc`` counts as ``auc``)."""
    by_name: dict[str, float] = {}
    for name, value in offline.items():
        base = next((name[len(s):] for s in _SPLITS if name.startswith(s)), name)
        if isinstance(value, int | float) and math.isfinite(value):
            by_name.setdefault(base, float(value))
    return {name: value - by_name[name] for name, value in live.items() if name in by_name}
