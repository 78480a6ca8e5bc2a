"""What fitting found, beside the settings it was given.

A search cell's estimator holds an unfitted template's settings; what the search found is
elsewhere. A boosted model asked for 500 rounds may have kept 78. So for each fitted object
a tracked cell fits or binds, the run records:

- a hyperparameter search (scikit-learn's ``GridSearchCV``, ``RandomizedSearchCV``, the halving
  searches; anything with ``cv_results_``): the best candidate's settings as params
  ``NAME.best.*``, its score as the metric ``NAME.best_score``, the whole table of candidates
  as a CSV artifact, and the best :data:`MAX_CANDIDATES` candidates as nested runs with their
  settings and scores;
- an Optuna study: the same, from its trials (``NAME.best_value`` is the best objective);
- a LightGBM or XGBoost model fitted with eval sets: ``NAME.best_iteration`` (early stopping's
  answer, in the library's own counting), the best scores as ``NAME.best.<set>.<metric>`` and
  each eval-set curve as the metric ``NAME.<set>.<metric>`` with one step per round.

Duck-typed and pure: nothing here imports scikit-learn, LightGBM, XGBoost, Optuna or numpy;
an object is read only through the attributes its library documents.
"""

from __future__ import annotations

import ast
import csv
import io
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from nbmlops import redact, store
from nbmlops.record import ChildRecord, MetricPoint, RunRecord
from nbmlops.sync.spool import Staging
from nbmlops.track.capture import metric_value
from nbmlops.track.params import estimator_text

#: Candidates of a search recorded as nested runs, best first.
MAX_CANDIDATES = 5
#: Points of one eval-set curve; a longer one is thinned evenly, its last round kept.
MAX_CURVE_POINTS = 2000
#: Methods whose call on a variable fits it: the cell's own fit of an object made earlier.
_FITTING = ("fit", "fit_transform", "fit_predict", "partial_fit", "optimize")


@dataclass
class Found:
    """What the fitted objects of one cell add to its record."""

    params: dict[str, str] = field(default_factory=dict)
    metrics: list[MetricPoint] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)  # artifact path -> content
    children: list[ChildRecord] = field(default_factory=list)


@lru_cache(maxsize=256)
def fitted_names(source: str) -> frozenset[str]:
    """Names whose fitting method the cell calls: ``search.fit(X, y)``,
    ``study.optimize(objective)``. A cell that only reads a fitted search (to evaluate its
    best model) does not record the search again."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return frozenset()
    return frozenset(
        node.func.value.id for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        and node.func.attr in _FITTING and isinstance(node.func.value, ast.Name))


def found(namespace: Mapping[str, Any], names: Iterable[str], now_ms: int) -> Found:
    """What the objects named ``names`` found when they were fitted (see the module)."""
    out = Found()
    for name in dict.fromkeys(names):
        obj = namespace.get(name)
        if obj is None or isinstance(obj, type) or name.startswith("_"):
            continue
        if isinstance(_attribute(obj, "cv_results_"), Mapping):
            _search(name, obj, out, now_ms)
        elif _top_module(obj) == "optuna" and type(obj).__name__ == "Study":
            _study(name, obj, out, now_ms)
        elif _top_module(obj) in ("lightgbm", "xgboost"):
            _booster(name, obj, out, now_ms)
    return out


# -- hyperparameter searches ------------------------------------------------------------------


def _search(name: str, search: Any, out: Found, now: int) -> None:
    results: Mapping[str, Any] = search.cv_results_
    for key, value in sorted((_attribute(search, "best_params_") or {}).items()):
        out.params[f"{name}.best.{_key(key)}"] = estimator_text(value)
    best = metric_value(_attribute(search, "best_score_"))
    if best is not None:
        out.metrics.append(MetricPoint(f"{name}.best_score", best, 0, now))
        # The score a search maximises: scikit-learn's scorers are all greater-is-better.
        out.tags[store.DIRECTION_TAG_PREFIX + f"{name}.best_score"] = "max"
    columns = {key: _items(values) for key, values in results.items()}
    out.files[store.search_results_artifact(name)] = _csv(columns)
    refit = _attribute(search, "refit")
    rank_key = f"rank_test_{refit}" if isinstance(refit, str) else "rank_test_score"
    if rank_key not in columns:
        rank_key = next((k for k in columns if k.startswith("rank_test_")), "")
    ranks = columns.get(rank_key, [])
    settings = columns.get("params", [])
    # A halving search ranks every round's candidates together, but its best is the best of
    # the last round (on the most resources): later rounds first, then by rank.
    rounds = columns.get("iter") or [0] * len(ranks)
    order = sorted(range(min(len(ranks), len(settings))),
                   key=lambda i: (-rounds[i], ranks[i], i))
    scores = [k for k in columns if k.startswith(("mean_test_", "std_test_", "mean_train_",
                                                  "std_train_", "mean_fit_", "mean_score_"))]
    for place, i in enumerate(order[:MAX_CANDIDATES], start=1):
        child = _candidate(name, place, settings[i] or {})
        for key in scores:
            value = metric_value(columns[key][i])
            if value is not None:
                child.metrics[key] = value
                if key.startswith("mean_test_"):
                    child.tags[store.DIRECTION_TAG_PREFIX + key] = "max"
        for key in ("iter", "n_resources"):  # a halving search's round and its budget
            if key in columns:
                child.params[key] = str(columns[key][i])
        out.children.append(child)


def _candidate(name: str, rank: int, settings: Mapping[str, Any]) -> ChildRecord:
    return ChildRecord(
        run_name=f"{name} rank {rank}",
        params={_key(k): estimator_text(v) for k, v in sorted(settings.items())},
        tags={store.CANDIDATE_OF_TAG: name, store.CANDIDATE_RANK_TAG: str(rank)},
    )


def _study(name: str, study: Any, out: Found, now: int) -> None:
    minimise = _enum_name(_attribute(study, "direction")) == "MINIMIZE"
    trials = [t for t in study.trials
              if _enum_name(t.state) == "COMPLETE" and t.value is not None]
    if not trials:
        return
    best = min(trials, key=lambda t: t.value) if minimise else max(trials, key=lambda t: t.value)
    for key, value in sorted(best.params.items()):
        out.params[f"{name}.best.{_key(key)}"] = estimator_text(value)
    direction = "min" if minimise else "max"
    out.metrics.append(MetricPoint(f"{name}.best_value", float(best.value), 0, now))
    out.tags[store.DIRECTION_TAG_PREFIX + f"{name}.best_value"] = direction
    keys = sorted({k for t in study.trials for k in t.params})
    columns: dict[str, list[Any]] = {
        "number": [t.number for t in study.trials],
        "value": [t.value for t in study.trials],
        "state": [_enum_name(t.state) for t in study.trials],
        **{f"params_{k}": [t.params.get(k) for t in study.trials] for k in keys},
    }
    out.files[store.search_results_artifact(name)] = _csv(columns)
    ranked = sorted(trials, key=lambda t: t.value, reverse=not minimise)
    for rank, trial in enumerate(ranked[:MAX_CANDIDATES], start=1):
        child = _candidate(name, rank, trial.params)
        child.metrics["value"] = float(trial.value)
        child.params["trial"] = str(trial.number)
        child.tags[store.DIRECTION_TAG_PREFIX + "value"] = direction
        out.children.append(child)


# -- boosting with eval sets ------------------------------------------------------------------


def _booster(name: str, model: Any, out: Found, now: int) -> None:
    curves = _attribute(model, "evals_result_")
    if curves is None and callable(getattr(type(model), "evals_result", None)):
        try:  # XGBoost's scikit-learn models; raises when fitted without eval sets
            curves = model.evals_result()
        except Exception:
            curves = None
    curves = curves if isinstance(curves, Mapping) else {}
    for eval_set, by_metric in curves.items():
        for metric, values in (by_metric or {}).items():
            points = list(values)
            for step in _thinned(len(points)):
                value = metric_value(points[step])
                if value is not None:
                    out.metrics.append(MetricPoint(f"{name}.{eval_set}.{metric}", value,
                                                   step, now))
    iteration = _best_iteration(model)
    if iteration is None:
        return  # no early stopping: the rounds it was given are the rounds it kept
    out.metrics.append(MetricPoint(f"{name}.best_iteration", float(iteration), 0, now))
    best = _attribute(model, "best_score_")
    if best is None:
        best = _attribute(model, "best_score")
    if isinstance(best, Mapping):  # LightGBM: {set: {metric: value}}
        for eval_set, by_metric in best.items():
            for metric, value in (by_metric or {}).items():
                number = metric_value(value)
                if number is not None:
                    out.metrics.append(MetricPoint(f"{name}.best.{eval_set}.{metric}",
                                                   number, 0, now))
    elif metric_value(best) is not None and curves:
        # XGBoost stops on the last metric of the last eval set.
        eval_set = list(curves)[-1]
        metric = list(curves[eval_set])[-1] if curves[eval_set] else "score"
        out.metrics.append(MetricPoint(f"{name}.best.{eval_set}.{metric}",
                                       float(metric_value(best) or 0.0), 0, now))
    elif metric_value(best) is not None:
        out.metrics.append(MetricPoint(f"{name}.best_score", float(metric_value(best) or 0.0),
                                       0, now))


def _best_iteration(model: Any) -> int | None:
    """Early stopping's best round, or None when the model was not stopped early (LightGBM
    says 0 then, XGBoost has no such attribute)."""
    for attribute in ("best_iteration_", "best_iteration"):
        value = _attribute(model, attribute)
        if isinstance(value, int) and not isinstance(value, bool):
            if _top_module(model) == "lightgbm" and value <= 0:
                return None
            return value
    return None


def _thinned(count: int) -> list[int]:
    if count <= MAX_CURVE_POINTS:
        return list(range(count))
    stride = math.ceil(count / MAX_CURVE_POINTS)
    return sorted({*range(0, count, stride), count - 1})


# -- helpers ----------------------------------------------------------------------------------


def _attribute(obj: Any, name: str) -> Any:
    """``obj.name``, None when absent or when reading it fails (an unfitted estimator raises
    its own NotFittedError from some properties)."""
    try:
        return getattr(obj, name, None)
    except Exception:
        return None


def _enum_name(value: Any) -> str:
    """An enum member's name (Optuna's ``StudyDirection``, ``TrialState``): their ``str()``
    differs between versions."""
    return str(getattr(value, "name", value))


def _top_module(obj: Any) -> str:
    return type(obj).__module__.split(".")[0]


def _key(key: Any) -> str:
    return str(key).replace("__", ".")


def _items(values: Any) -> list[Any]:
    """A column of ``cv_results_`` as Python values (a masked entry, a parameter the
    candidate does not have, is None)."""
    if callable(getattr(values, "tolist", None)):
        return list(values.tolist())
    return list(values)


def _csv(columns: Mapping[str, list[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    rows = max((len(v) for v in columns.values()), default=0)
    for i in range(rows):
        writer.writerow(["" if i >= len(v) or v[i] is None else _cell(v[i])
                         for v in columns.values()])
    return buffer.getvalue().encode("utf-8")


def _cell(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={estimator_text(v)}" for k, v in value.items())
    return estimator_text(value)


def add_to(record: RunRecord, staging: Staging, namespace: Mapping[str, Any],
           names: Iterable[str]) -> None:
    """Put what the objects named ``names`` found into the cell's record and its entry."""
    now = record.outcome.end_ms or record.outcome.start_ms
    result = found(namespace, names, now)
    record.params.update(redact.redact_mapping(result.params))
    record.metrics.extend(result.metrics)
    record.tags.update(result.tags)
    for relpath, data in result.files.items():
        staging.write_bytes(relpath, data)
    for child in result.children:
        child.params = redact.redact_mapping(child.params)
    record.children.extend(result.children)
