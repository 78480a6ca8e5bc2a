"""What a scoring run keeps so its job can judge the model live, once the truth arrives.

In a job whose job.yaml has ``monitor.labels:`` (:mod:`nbmlops.monitor.labels`), a tracked
cell that scored with a registered model keeps its predictions as the artifact
``monitor/NAME/predictions.parquet``: the join key, the prediction, the score of the positive
class when the cell computed one, the ``segments:`` columns and the time it predicted (the
cell's end, on the kernel's clock). Nothing else of the batch: the file stays small. The job's
later runs join the labels that arrived to these (:mod:`nbmlops.jobs.run.live`).

With ``monitor.shadow: ALIAS`` the batch is also scored with the version holding that alias
(:mod:`nbmlops.track.shadow`); its predictions join the same file.

**Which values are the predictions.** What the cell assigned from a ``predict`` or
``predict_proba`` call, as the drift of predictions finds it
(:mod:`nbmlops.monitor.predictions`; ``monitor.predictions`` names it instead). Otherwise,
among the names the cell bound (then those it only read), the arrays and Series with one
value per row of the scored batch: a 2-column array of probabilities gives the score of
class 1; a 1-D float array within [0, 1] is a score; any other 1-D one is the prediction
(one whose name holds ``pred`` first). A column ``pred*``/``score*``/``proba*`` of the
frame holding the key comes last. With a score and no prediction, the prediction is
``score >= 0.5``. **Which frame holds the key**: the one with the key column and as many rows
as the batch, one with every segment column first.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from nbmlops import store
from nbmlops.record import RunRecord
from nbmlops.sync.spool import Staging

if TYPE_CHECKING:
    from nbmlops.monitor.settings import Watch

__all__ = ["add_to", "key_frame", "predictions_of"]

#: The columns of the kept predictions besides the key and the segments.
PREDICTION, SCORE, PREDICTED_AT = "prediction", "score", "predicted_at"
SHADOW_PREDICTION, SHADOW_SCORE, SHADOW_VERSION = (
    "shadow_prediction", "shadow_score", "shadow_version")
_NAMED = ("pred", "score", "proba")


def add_to(record: RunRecord, staging: Staging, namespace: Mapping[str, Any],
           bound: Iterable[str], read: Iterable[str], watched: Any, batch: Any,
           watch: Watch | None, code: str = "") -> None:
    """Keep the predictions of ``batch`` (and score it in shadow) when the job's ``watch``
    asks (``watched``: the :class:`nbmlops.track.scoring.Watched` it was scored with); never
    raises: what cannot be done is said in the record's warnings."""
    if watch is None or (watch.model and watch.model != watched.name):
        return
    if watch.labels is None and watch.shadow is None:
        return
    try:
        _keep(record, staging, namespace, list(bound), list(read), watched, batch, watch, code)
    except Exception as e:  # the scoring and its drift report stand
        record.warnings.append(f"monitor {watched.name}: predictions not kept: "
                               f"{type(e).__name__}: {e}")


def _keep(record: RunRecord, staging: Staging, namespace: Mapping[str, Any], bound: list[str],
          read: list[str], watched: Any, batch: Any, watch: Watch, code: str) -> None:
    import pandas as pd

    from nbmlops.track import shadow

    source = watch.labels
    keyed = None
    if source is not None:
        keyed = key_frame(namespace, bound, read, len(batch), source.key, watch.segments)
        if keyed is None:
            record.warnings.append(
                f"monitor {watched.name}: no frame of the batch's {len(batch)} rows has the "
                f"labels' key {source.key!r}; predictions not kept")
    found = predictions_of(namespace, bound, read, len(batch), watch.predictions,
                           keyed[1] if keyed else None, code)
    if found is None:
        record.warnings.append(
            f"monitor {watched.name}: no predictions of the batch's {len(batch)} rows found "
            "(name them with monitor: predictions: VARIABLE in job.yaml)")
        return
    prediction, score = found
    shadowed = (shadow.score(record, staging, watched, batch, watch.shadow, prediction, score)
                if watch.shadow else None)
    if keyed is None or source is None:
        return
    frame = keyed[1]
    table = pd.DataFrame({source.key: frame[source.key].to_numpy(), PREDICTION: prediction})
    if score is not None:
        table[SCORE] = score
    for column in watch.segments:
        if column in frame.columns and column not in table.columns:
            table[column] = frame[column].to_numpy()
    table[PREDICTED_AT] = pd.Timestamp(time.time(), unit="s", tz="UTC")
    if shadowed is not None:
        table[SHADOW_PREDICTION] = shadowed.prediction
        if shadowed.score is not None:
            table[SHADOW_SCORE] = shadowed.score
        table[SHADOW_VERSION] = shadowed.version
    with staging.stream(store.predictions_artifact(watched.name)) as f:
        table.to_parquet(f, index=False)


def key_frame(namespace: Mapping[str, Any], bound: Sequence[str], read: Sequence[str],
              rows: int, key: str, segments: Sequence[str] = ()) -> tuple[str, Any] | None:
    """``(variable, frame)``: a DataFrame of ``rows`` rows with the column ``key``, one that
    also has every segment column first, among the names bound, then those read."""
    fits: list[tuple[str, Any]] = []
    for name in dict.fromkeys([*bound, *read]):
        value: Any = namespace.get(name)
        if _is_frame(value) and len(value) == rows and key in value.columns:
            fits.append((name, value))
    full = [f for f in fits if all(s in f[1].columns for s in segments)]
    found = full or fits
    return found[0] if found else None


def predictions_of(namespace: Mapping[str, Any], bound: Sequence[str], read: Sequence[str],
                   rows: int, declared: str | None = None, frame: Any = None,
                   code: str = "") -> tuple[Any, Any | None] | None:
    """``(prediction, score or None)`` as arrays of ``rows`` values: what the cell assigned
    from a predict call (:func:`nbmlops.monitor.predictions.find`), else found as the
    module says; None when there are none."""
    from nbmlops.monitor import predictions as called
    from nbmlops.monitor.shadow import is_score, to_classes

    found = called.find(namespace, code, rows, declared) if code else None
    values = called.frame_of(found.value, found.method) if found is not None else None
    if values is not None and len(values) == rows:
        score = values["score"].to_numpy() if "score" in values.columns else None
        if "class" in values.columns:
            return values["class"].to_numpy(), score
        if score is not None:
            return (to_classes(score), score) if is_score(score) else (score, None)

    predictions: list[tuple[str, Any]] = []
    scores: list[tuple[str, Any]] = []
    names = [declared] if declared else list(dict.fromkeys([*bound, *read]))
    for name in names:
        for array in _columns(namespace.get(name), rows):
            (scores if is_score(array) else predictions).append((name, array))
    if not declared and frame is not None and not predictions and not scores:
        for column in frame.columns:
            if str(column).lower().startswith(_NAMED):
                array = frame[column].to_numpy()
                (scores if is_score(array) else predictions).append((str(column), array))
    prediction = _preferred(predictions, ("pred",))
    score = _preferred(scores, ("proba", "score"))
    if prediction is None and score is not None:
        prediction = to_classes(score)
    return None if prediction is None else (prediction, score)


def _columns(value: Any, rows: int) -> list[Any]:
    """The 1-D arrays of ``rows`` values in ``value``: itself, or a probability array's
    class-1 column."""
    import numpy as np

    if value is None or _is_frame(value) or not hasattr(value, "shape"):
        return []
    if not hasattr(value, "dtype") or len(value) != rows or not rows:
        return []
    array = np.asarray(value)
    if array.ndim == 1:
        return [array]
    if array.ndim == 2 and array.shape[1] == 1:
        return [array[:, 0]]
    if array.ndim == 2 and array.shape[1] == 2 and array.dtype.kind == "f":
        return [array[:, 1]]
    return []


def _preferred(found: list[tuple[str, Any]], words: tuple[str, ...]) -> Any | None:
    for name, array in found:
        if any(w in name.lower() for w in words):
            return array
    return found[0][1] if found else None


def _is_frame(value: Any) -> bool:
    return hasattr(value, "columns") and hasattr(value, "iloc")
