"""A scoring cell's batch, scored again with a version that is not served.

With ``monitor.shadow: challenger`` in its job.yaml, after a tracked cell scored with
``nbmlops.load_model("NAME@champion")``, the version holding ``challenger`` is loaded and
predicts the same rows (the model's own ``feature_names_in_``, else the served model's
training columns). The cell's predictions stay the served model's: this happens after the
cell, on nbmlops' side. The run gets:

- tags ``nbmlops.shadow.model``, ``.version`` and ``.alias``: shadow evaluation happened;
- metrics ``monitor.NAME.shadow.disagreement`` (share of rows whose classes differ) or
  ``monitor.NAME.shadow.mean_abs_diff`` (numbers), ``monitor.NAME.shadow.score_mean_abs_diff``,
  and each side's distribution as ``monitor.NAME.shadow.served.*`` and
  ``monitor.NAME.shadow.candidate.*`` (:mod:`nbmlops.monitor.shadow`);
- the artifact ``monitor/NAME/shadow.json`` with all of it.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from nbmlops import store
from nbmlops.record import MetricPoint, RunRecord
from nbmlops.sync.spool import Staging

__all__ = ["Shadowed", "score"]


@dataclass(frozen=True)
class Shadowed:
    version: str
    prediction: Any
    score: Any | None


def score(record: RunRecord, staging: Staging, watched: Any, batch: Any, alias: str,
          served: Any, served_score: Any | None) -> Shadowed | None:
    """Score ``batch`` (``watched``: the :class:`nbmlops.track.scoring.Watched` it was
    scored with) with ``NAME@alias`` and record how it compares with ``served``; None
    (and a warning) when no other version holds the alias or it cannot predict the batch."""
    from nbmlops.exceptions import ModelError
    from nbmlops.models.loading import load
    from nbmlops.monitor import shadow

    name = watched.name
    try:
        with _quiet():
            model, version = load(f"{name}@{alias}")
    except ModelError as e:
        record.warnings.append(f"monitor {name}: no shadow evaluation: {e}")
        return None
    if version.version == watched.version:
        record.warnings.append(f"monitor {name}: no shadow evaluation: {alias} is v"
                               f"{version.version}, the version served")
        return None
    columns = getattr(model, "feature_names_in_", None)
    features = [str(c) for c in (columns if columns is not None
                                 else watched.reference.layout.columns)]
    rows = batch[features]
    predicted = model.predict(rows)
    proba = None
    if served_score is not None and hasattr(model, "predict_proba"):
        found = model.predict_proba(rows)
        if getattr(found, "ndim", 0) == 2 and found.shape[1] == 2:
            proba = found[:, 1]
    served_side = shadow.distribution(served, served_score)
    shadow_side = shadow.distribution(predicted, proba)
    apart = shadow.disagreement(served, predicted, served_score, proba)
    figures = {**apart, **{f"served.{k}": v for k, v in served_side.items()},
               **{f"candidate.{k}": v for k, v in shadow_side.items()}}
    now = int(time.time() * 1000)
    prefix = f"monitor.{store.metric_part(name)}.shadow"
    record.metrics.extend(MetricPoint(f"{prefix}.{k}", float(v), 0, now)
                          for k, v in figures.items())
    record.tags.update({store.SHADOW_MODEL_TAG: name, store.SHADOW_VERSION_TAG: version.version,
                        store.SHADOW_ALIAS_TAG: alias})
    staging.write_text(f"monitor/{name}/shadow.json", json.dumps({
        "served": {"version": watched.version, "distribution": served_side},
        "shadow": {"version": version.version, "alias": alias, "distribution": shadow_side},
        "disagreement": apart, "rows": len(rows)}, indent=1))
    return Shadowed(version.version, predicted, proba)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Loading a model says things (progress bars, MLflow's warnings); only the status line
    speaks in a cell."""
    logger = logging.getLogger("mlflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with store.quiet_downloads(), contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        logger.setLevel(level)

