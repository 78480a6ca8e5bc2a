"""A model's predictions, watched against what it predicted on its evaluation data.

Inputs are compared with the training data; predictions are compared with the model's own
predictions on the data it was **evaluated** on (the frame of its columns, other than the
training frame, that the registering cell used: ``X_test``), because a model's predictions on
its training data are over-confident. At registration (:func:`build`) the model predicts that
frame once more with ``predict_proba`` and ``predict``, and each method's predictions are
summarised like inputs (:mod:`nbmlops.monitor.reference`) into
``monitor/NAME/predictions.json`` beside the training data's ``reference.json``.

Predictions become a frame of named columns (:func:`frame_of`), the same at registration and
when scoring:

- ``score``: a regression's value, or a binary classifier's probability of its second class
  (``predict_proba(X)[:, 1]``); ``p(LABEL)`` per class of a multi-class probability;
- ``class``: the predicted class (``predict``, or the most probable class of
  ``predict_proba``), whose shares are the class balance;
- a frame of predictions keeps its own columns.

A scoring cell's run then gets (:func:`compare`) the predictions' mean, standard deviation and
quantiles, the class balance, and their drift against the evaluation predictions (the same
rule as inputs: :func:`nbmlops.monitor.drift.compare`). Finding the predictions in a cell
(:func:`find`) reads its code: a name or a frame's column assigned from a ``.predict(...)`` or
``.predict_proba(...)`` call (a subscript such as ``[:, 1]`` allowed), or the name
``monitor.predictions`` gives in job.yaml.
"""

from __future__ import annotations

import ast
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nbmlops.monitor import drift, report
from nbmlops.monitor.reference import Reference
from nbmlops.monitor.reference import build as build_reference
from nbmlops.monitor.sketch import Layout, sketch

__all__ = ["METHODS", "Found", "PredictionsReference", "build", "calls_in", "compare",
           "evaluation_data", "fetch", "find", "flat", "frame_of", "summary"]

VERSION = 1
#: The methods whose predictions are watched, the most informative first.
METHODS = ("predict_proba", "predict")
#: Rows of the evaluation data predicted at registration; a larger frame is sampled.
EVALUATION_ROWS = 200_000
#: Names that say a frame holds held-out data, preferred as the evaluation data.
_HELD_OUT = ("test", "val", "eval", "hold", "oot")


@dataclass(frozen=True)
class PredictionsReference:
    """The model's predictions on its evaluation data, per method."""

    of: str  # the evaluation frame's variable in the registering cell
    rows: int
    methods: Mapping[str, Reference]
    summaries: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    classes: tuple[Any, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"version": VERSION, "of": self.of, "rows": self.rows,
                "classes": None if self.classes is None else [_plain(c) for c in self.classes],
                "methods": {m: r.to_json() for m, r in self.methods.items()},
                "summaries": {m: dict(s) for m, s in self.summaries.items()}}

    def encoded(self) -> bytes:
        return json.dumps(self.to_json(), separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PredictionsReference:
        if data.get("version") != VERSION:
            raise ValueError(f"unknown predictions reference version {data.get('version')!r}")
        classes = data.get("classes")
        return cls(str(data["of"]), int(data["rows"]),
                   {m: Reference.from_json(r) for m, r in data["methods"].items()},
                   dict(data.get("summaries") or {}),
                   None if classes is None else tuple(classes))


# -- predictions as a frame ----------------------------------------------------------------------


def frame_of(value: Any, method: str, classes: Sequence[Any] | None = None
             ) -> pd.DataFrame | None:
    """Predictions as a frame of named columns (see the module's text); None for a value that
    holds no predictions (a scalar, text)."""
    if isinstance(value, pd.DataFrame):
        return value.rename(columns=str).reset_index(drop=True)
    if isinstance(value, pd.Series | list):
        value = np.asarray(value)
    if not isinstance(value, np.ndarray) or value.ndim not in (1, 2) or not len(value):
        return None
    if value.ndim == 2 and value.shape[1] == 1:
        value = value[:, 0]
    known = list(classes) if classes is not None else None
    if value.ndim == 1:
        if method == "predict_proba" and value.dtype.kind == "f":
            out = {"score": value}
            if known is not None and len(known) == 2:
                out["class"] = np.asarray(known, dtype=object)[(value > 0.5).astype(int)]
            return pd.DataFrame(out)
        return pd.DataFrame({"class" if known is not None else "score": value})
    if method == "predict_proba" and value.dtype.kind == "f":
        labels = known if known is not None and len(known) == value.shape[1] else list(
            range(value.shape[1]))
        out = ({"score": value[:, 1]} if value.shape[1] == 2 else
               {f"p({_plain(label)})": value[:, i] for i, label in enumerate(labels)})
        out["class"] = np.asarray(labels, dtype=object)[value.argmax(axis=1)]
        return pd.DataFrame(out)
    return pd.DataFrame({f"output_{i}": value[:, i] for i in range(value.shape[1])})


def summary(frame: pd.DataFrame) -> dict[str, Any]:
    """Per column: mean, standard deviation and quantiles of numbers; each value's share of
    classes (the class balance). Exact, from the values."""
    out: dict[str, Any] = {}
    for name in frame.columns:
        column = frame[name]
        if column.name == "class" or not _numeric(column):
            shares = column.astype(str).value_counts(normalize=True, dropna=False)
            out[str(name)] = {"shares": {str(k): _round(float(v)) for k, v in shares.items()}}
            continue
        values = column.to_numpy(dtype="float64", na_value=np.nan)
        values = values[np.isfinite(values)]
        if not values.size:
            out[str(name)] = {"count": 0}
            continue
        out[str(name)] = {
            "count": int(values.size), "mean": _round(float(values.mean())),
            "std": _round(float(values.std())),
            "quantiles": {f"{q:g}": _round(float(v)) for q, v in zip(
                report.QUANTILES, np.quantile(values, report.QUANTILES), strict=True)}}
    return out


# -- at registration -----------------------------------------------------------------------------


def evaluation_data(model: Any, namespace: Mapping[str, Any], candidates: Iterable[str],
                    training: str) -> tuple[str, pd.DataFrame] | None:
    """``(variable, frame)``: the frame the model was most likely evaluated on, a frame of the
    cell holding the model's ``feature_names_in_`` that is not its training frame ``training``;
    a held-out name (``X_test``, ``valid``...) first, then the largest."""
    columns = getattr(model, "feature_names_in_", None)
    if columns is None:
        return None
    wanted = [str(c) for c in columns]
    trained_on = namespace.get(training)
    fitting: list[tuple[str, pd.DataFrame]] = []
    for name in dict.fromkeys(candidates):
        value = namespace.get(name)
        if name == training or value is trained_on or not isinstance(value, pd.DataFrame):
            continue
        if len(value) and set(wanted) <= {str(c) for c in value.columns}:
            fitting.append((name, value))
    if not fitting:
        return None
    name, frame = max(fitting, key=lambda nf: (any(h in nf[0].lower() for h in _HELD_OUT),
                                               len(nf[1])))
    return name, frame[list(columns)]


def build(model: Any, frame: pd.DataFrame, of: str) -> PredictionsReference | None:
    """The model's predictions on ``frame`` (its evaluation data, named ``of``) summarised per
    method; None when it predicts nothing usable."""
    if len(frame) > EVALUATION_ROWS:
        frame = frame.sample(n=EVALUATION_ROWS, random_state=0)
    classes = getattr(model, "classes_", None)
    known = tuple(classes) if classes is not None else None
    methods: dict[str, Reference] = {}
    summaries: dict[str, dict[str, Any]] = {}
    for method in METHODS:
        if not callable(getattr(model, method, None)):
            continue
        try:
            predictions = frame_of(getattr(model, method)(frame), method, known)
        except Exception:  # a regressor's missing predict_proba, a model that needs more
            continue
        if predictions is None:
            continue
        methods[method] = build_reference(predictions)
        summaries[method] = summary(predictions)
    return PredictionsReference(of, len(frame), methods, summaries, known) if methods else None


def fetch(tracking_uri: str, run_id: str, name: str) -> PredictionsReference | None:
    """The evaluation predictions model ``name`` was registered with by run ``run_id``; None
    when there are none or they cannot be read (scoring never fails for its monitoring)."""
    import tempfile

    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from nbmlops import store

    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = MlflowClient(tracking_uri).download_artifacts(
                run_id, store.monitoring_predictions_artifact(name), tmp)
            return PredictionsReference.from_json(
                json.loads(Path(path).read_text(encoding="utf-8")))
        except (MlflowException, OSError, ValueError, KeyError, TypeError):
            return None


# -- in a scoring cell ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """The predictions of a scoring cell: where they are and which method made them."""

    where: str  # "preds", or "batch['score']"
    method: str
    value: Any


def calls_in(code: str) -> list[tuple[str, str | None, str]]:
    """``(variable, column, method)`` for each assignment of the cell whose value is a
    ``.predict(...)``/``.predict_proba(...)`` call (sliced or not): ``preds = m.predict(X)``
    gives ``("preds", None, "predict")``, ``batch["p"] = m.predict_proba(X)[:, 1]`` gives
    ``("batch", "p", "predict_proba")``. In the order of the code."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return []
    found: list[tuple[tuple[int, int], tuple[str, str | None, str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        method = _predict_call(value)
        if method is None:
            continue
        for target in targets:
            at = (node.lineno, node.col_offset)
            if isinstance(target, ast.Name):
                found.append((at, (target.id, None, method)))
            elif (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name)
                  and isinstance(target.slice, ast.Constant)
                  and isinstance(target.slice.value, str)):
                found.append((at, (target.value.id, target.slice.value, method)))
    return [f for _, f in sorted(found, key=lambda f: f[0])]


def find(namespace: Mapping[str, Any], code: str, rows: int | None,
         named: str | None = None) -> Found | None:
    """The cell's predictions: what ``named`` (``monitor.predictions``) holds, else the last
    value the cell assigned from a predict call that has ``rows`` rows (any when None)."""
    calls = calls_in(code)
    if named is not None:
        method = next((m for v, c, m in calls if named in (v, c)), "predict")
        if named in namespace:
            return Found(named, method, namespace[named])
        for variable, column, _ in calls:  # a column of that name the cell added to a frame
            frame = namespace.get(variable)
            if column == named and isinstance(frame, pd.DataFrame) and named in frame.columns:
                return Found(f"{variable}[{column!r}]", method, frame[named])
        return None
    for variable, column, method in reversed(calls):
        value: Any = namespace.get(variable)
        if column is not None:
            if not (isinstance(value, pd.DataFrame) and column in value.columns):
                continue
            where, value = f"{variable}[{column!r}]", value[column]
        else:
            where = variable
        if rows is None or (hasattr(value, "__len__") and len(value) == rows):
            return Found(where, method, value)
    return None


@dataclass
class Compared:
    """What a scoring run records of its predictions."""

    section: dict[str, Any]  # report.json's "predictions"
    figures: dict[str, float]  # metric names below monitor.NAME.prediction.
    drifted: bool
    layout: Layout
    reference: Any  # the evaluation predictions' Sketch
    batch: Any  # the predictions' Sketch


def compare(found: Found, watched: PredictionsReference) -> Compared | None:
    """The predictions against the evaluation predictions of the same method (the other
    method's when the model was registered without it); None when they share no column."""
    reference = watched.methods.get(found.method) or next(iter(watched.methods.values()))
    method = found.method if found.method in watched.methods else next(iter(watched.methods))
    frame = frame_of(found.value, method, watched.classes)
    if frame is None:
        return None
    common = [c for c in reference.layout.columns if c in frame.columns]
    if not common:
        return None
    layout = Layout({c: reference.layout.columns[c] for c in common})
    ref_sketch = type(reference.sketch)(reference.sketch.rows,
                                        {c: reference.sketch.columns[c] for c in common})
    batch = sketch(frame[common], layout)
    findings = drift.compare(layout, ref_sketch, batch, reference.bands)
    described = summary(frame[common])
    section = report.report(layout, ref_sketch, batch, findings,
                            about={"predictions": found.where, "batch": found.where,
                                   "method": method,
                                   "reference": f"predictions on {watched.of}"})
    section["summary"] = {"batch": described,
                          "reference": {c: watched.summaries.get(method, {}).get(c)
                                        for c in common}}
    figures = {f"{k}": v for k, v in report.figures(section).items()}
    figures["rows"] = float(len(frame))
    for column, figs in described.items():
        for key, value in flat(figs).items():
            figures[f"{column}.{key}"] = value
    for d in findings:
        figures[f"{d.column}.{d.statistic}"] = d.value
        figures[f"{d.column}.psi"] = d.psi
    return Compared(section, {k: v for k, v in figures.items() if math.isfinite(v)},
                    bool(section["drifted"]), layout, ref_sketch, batch)


def flat(figs: Mapping[str, Any]) -> dict[str, float]:
    """A column's :func:`summary` as metric names: mean, std, q0.05..., share.LABEL."""
    out: dict[str, float] = {}
    for key in ("mean", "std"):
        if figs.get(key) is not None:
            out[key] = float(figs[key])
    for q, v in (figs.get("quantiles") or {}).items():
        if v is not None:
            out[f"q{q}"] = float(v)
    for label, share in (figs.get("shares") or {}).items():
        if share is not None:
            out[f"share.{label}"] = float(share)
    return out


def _predict_call(node: ast.expr) -> str | None:
    """The method when ``node`` is a predict call, perhaps sliced or reshaped."""
    while True:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in METHODS:
                return node.func.attr
            node = node.func.value  # m.predict(X).ravel()
        elif isinstance(node, ast.Subscript | ast.Attribute):
            node = node.value  # m.predict_proba(X)[:, 1]
        else:
            return None


def _numeric(column: pd.Series) -> bool:
    return (pd.api.types.is_numeric_dtype(column.dtype)
            and not pd.api.types.is_bool_dtype(column.dtype))


def _plain(value: Any) -> Any:
    """A class label as JSON keeps it."""
    if isinstance(value, np.generic):
        return value.item()
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


def _round(value: float) -> float | None:
    return None if not math.isfinite(value) else float(f"{value:.6g}")
