"""Shadow evaluation: the served model's predictions beside another version's, on one batch.

With ``monitor.shadow: challenger`` a scoring job also predicts its batch with the version
holding that alias (never served: the cell's predictions stay the served model's). What the
two make of the same rows is compared here: each side's distribution (the share of each
class, or the quantiles of a number or a score) and their **disagreement**, the share of rows
whose classes differ and the mean absolute difference of their scores. Once labels arrive,
both are judged live (:mod:`nbmlops.monitor.labels`): ``live_auc`` and ``shadow_live_auc``.

Pure: predictions in, figures out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from nbmlops import store

__all__ = ["MAX_CLASSES", "disagreement", "distribution", "is_score", "to_classes"]

#: More distinct values than this and predictions are numbers, not classes.
MAX_CLASSES = 20
_QUANTILES = {"p05": 0.05, "p25": 0.25, "p50": 0.5, "p75": 0.75, "p95": 0.95}


def is_score(values: Any) -> bool:
    """A probability: floats within [0, 1] that are not all whole numbers."""
    array = np.asarray(values)
    if array.ndim != 1 or array.dtype.kind != "f":
        return False
    finite = array[np.isfinite(array)]
    return bool(len(finite) and finite.min() >= 0.0 and finite.max() <= 1.0
                and not np.all(finite == np.round(finite)))


def to_classes(score: Any, threshold: float = 0.5) -> np.ndarray:
    """The positive class (1) where the score reaches ``threshold``, else 0."""
    return (np.asarray(score) >= threshold).astype(int)


def distribution(prediction: Any, score: Any | None = None) -> dict[str, float]:
    """What one side predicted: ``share.CLASS`` per class (at most :data:`MAX_CLASSES`), or
    ``mean`` and quantiles of a numeric prediction; and ``score_mean`` and quantiles of the
    score when there is one."""
    out: dict[str, float] = {}
    values = pd.Series(np.asarray(prediction))
    if _is_classes(values):
        shares = pd.Series(_as_text(values)).value_counts(normalize=True)
        out.update({f"share.{store.metric_part(k)[:60]}": float(v)
                    for k, v in sorted(shares.items())})
    else:
        out.update(_summary(values, ""))
    if score is not None:
        out.update(_summary(pd.Series(np.asarray(score)), "score_"))
    return out


def disagreement(served: Any, shadow: Any, served_score: Any | None = None,
                 shadow_score: Any | None = None) -> dict[str, float]:
    """How far the shadow's predictions are from the served ones, row by row: ``disagreement``
    (share of rows whose classes differ) or ``mean_abs_diff`` (numbers), and
    ``score_mean_abs_diff`` when both have scores."""
    a, b = pd.Series(np.asarray(served)), pd.Series(np.asarray(shadow))
    out: dict[str, float] = {}
    if len(a) != len(b) or not len(a):
        return out
    if _is_classes(a) and _is_classes(b):
        out["disagreement"] = float((_as_text(a) != _as_text(b)).mean())
    else:
        # mutation-equivalent: to_numpy's dtype (numbers either way).
        out["mean_abs_diff"] = float(np.nanmean(np.abs(a.to_numpy(float) - b.to_numpy(float))))
    if served_score is not None and shadow_score is not None:
        diff = np.asarray(served_score) - np.asarray(shadow_score)
        out["score_mean_abs_diff"] = float(np.nanmean(np.abs(diff)))
    return out


def _is_classes(values: pd.Series) -> bool:
    if values.dtype.kind == "f":
        finite = values[np.isfinite(values)]
        if not np.all(finite == np.round(finite)):
            return False
    return bool(values.nunique() <= MAX_CLASSES)


def _as_text(values: pd.Series) -> np.ndarray:
    # 1, 1.0 and "1" are one class: a shadow model may answer floats where the served one
    # answers integers.
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.notna().all():  # whole numbers: _is_classes saw to it
        return numbers.astype("int64").astype(str).to_numpy()
    return values.astype(str).to_numpy()


def _summary(values: pd.Series, prefix: str) -> dict[str, float]:
    numbers = pd.to_numeric(values, errors="coerce").dropna()
    if not len(numbers):
        return {}
    out = {f"{prefix}mean": float(numbers.mean())}
    out.update({f"{prefix}{k}": float(numbers.quantile(q)) for k, q in _QUANTILES.items()})
    return out

