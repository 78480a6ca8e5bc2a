"""Delayed labels joined to predictions: live metrics, per segment, lag and the offline gap."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, mean_absolute_error, roc_auc_score

from nbmlops.exceptions import ConfigError
from nbmlops.monitor import labels

SOURCE = labels.LabelSource("outcomes/*.csv", "customer_id", "churned", "resolved_at")


def _scored(rows: int = 1000, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    truth = rng.random(rows) < 0.3
    score = np.clip(truth * 0.35 + rng.random(rows) * 0.65, 0, 1)
    frame = pd.DataFrame({
        "customer_id": np.arange(rows),
        "plan": rng.choice(["free", "pro"], rows),
        "score": score,
        "prediction": (score > 0.5).astype(int),
        "scored_at": pd.Timestamp("2026-12-01T06:00Z"),
    })
    return frame, pd.Series(truth.astype(int), name="churned")


def _write_labels(root: Path, frame: pd.DataFrame, truth: pd.Series) -> None:
    out = root / "outcomes"
    out.mkdir()
    day2 = pd.DataFrame({"customer_id": frame.customer_id[:400], "churned": truth[:400],
                         "resolved_at": "2026-12-03T06:00Z"})
    day3 = pd.DataFrame({"customer_id": frame.customer_id[400:700], "churned": truth[400:700],
                         "resolved_at": "2026-12-04T18:00Z"})
    day2.to_csv(out / "2026-12-03.csv", index=False)
    day3.to_csv(out / "2026-12-04.csv", index=False)


def test_labels_arriving_late_give_live_metrics_as_sklearn_computes_them(
    tmp_path: Path,
) -> None:
    frame, truth = _scored()
    _write_labels(tmp_path, frame, truth)
    got = labels.read_labels(SOURCE, tmp_path)
    assert len(got) == 700
    live = labels.live_metrics(frame, got, SOURCE, score="score", predicted_at="scored_at",
                               segments=["plan"])
    assert (live.labelled, live.pending) == (700, 300)
    part = slice(0, 700)
    assert live.metrics["accuracy"] == pytest.approx(
        accuracy_score(truth[part], frame.prediction[part]))
    assert live.metrics["auc"] == pytest.approx(roc_auc_score(truth[part], frame.score[part]))
    for plan in ("free", "pro"):
        rows = frame.index[part][frame.plan[part] == plan]
        seg = live.segments["plan"][plan]
        assert seg["count"] == len(rows)
        assert seg["auc"] == pytest.approx(roc_auc_score(truth[rows], frame.score[rows]))
    # 400 labels after 2 days, 300 after 3.5 days.
    assert live.lag_seconds["median"] == 2 * 86400
    assert live.lag_seconds["p95"] == 3.5 * 86400


def test_a_correction_replaces_the_first_answer_and_no_file_means_no_labels(
    tmp_path: Path,
) -> None:
    frame, truth = _scored(10)
    _write_labels(tmp_path, frame, truth)
    pd.DataFrame({"customer_id": [0], "churned": [1 - truth[0]],
                  "resolved_at": "2026-12-05T00:00Z"}).to_csv(
        tmp_path / "outcomes" / "2026-12-05.csv", index=False)
    got = labels.read_labels(SOURCE, tmp_path).set_index("customer_id")
    assert got.loc[0, "churned"] == 1 - truth[0]
    empty = labels.read_labels(SOURCE, tmp_path / "elsewhere")
    live = labels.live_metrics(frame, empty, SOURCE)
    assert (live.metrics, live.labelled, live.pending) == ({}, 0, 10)


def test_a_labels_file_without_the_key_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "outcomes").mkdir()
    pd.DataFrame({"id": [1], "churned": [0]}).to_csv(tmp_path / "outcomes" / "a.csv")
    with pytest.raises(ConfigError, match=r"a\.csv has no column 'customer_id'"):
        labels.read_labels(SOURCE, tmp_path)


def test_numbers_get_regression_metrics() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(100, 10, 500)
    pred = y + rng.normal(0, 3, 500)
    frame = pd.DataFrame({"k": range(500), "prediction": pred})
    got = pd.DataFrame({"k": range(500), "y": y})
    live = labels.live_metrics(frame, got, labels.LabelSource("x", "k", "y"))
    assert live.metrics["mae"] == pytest.approx(mean_absolute_error(y, pred))
    assert live.metrics["rmse"] == pytest.approx(float(np.sqrt(np.mean((y - pred) ** 2))))


def test_the_offline_online_gap_matches_metrics_by_their_base_name() -> None:
    assert labels.gap({"auc": 0.81, "accuracy": 0.7, "rmse": 3.0},
                      {"val_auc": 0.86, "test_accuracy": 0.75, "loss": 0.3,
                       "accuracy_train": 0.9}) == {
        "auc": pytest.approx(-0.05), "accuracy": pytest.approx(-0.05)}
    assert labels.gap({"auc": 0.8}, {"auc": float("nan")}) == {}


@pytest.mark.parametrize(("table", "message"), [
    ("outcomes.csv", "must be a table"),
    ({"path": "x", "key": "k"}, "needs label"),
    ({"path": "x", "key": " ", "label": "y"}, "needs key"),
    ({"path": "x", "key": "k", "label": "y", "when": "t"}, "unknown key 'when'"),
    ({"path": "x", "key": "k", "label": "y", "at": 3}, "at must name a column"),
])
def test_bad_label_settings(table: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        labels.parse_labels(table)
    assert labels.parse_labels({"path": " p ", "key": "k", "label": "y"}) == \
        labels.LabelSource("p", "k", "y")


def test_named_classes_and_integer_classes_read_alike() -> None:
    frame, truth = _scored(300, seed=2)
    named = frame.assign(prediction=np.where(frame.prediction == 1, "yes", "no"))
    got = pd.DataFrame({"customer_id": frame.customer_id,
                        "churned": np.where(truth == 1, "yes", "no")})
    live = labels.live_metrics(named, got, SOURCE, score="score")
    assert live.metrics["accuracy"] == pytest.approx(accuracy_score(truth, frame.prediction))
    assert live.metrics["auc"] == pytest.approx(roc_auc_score(truth, frame.score))


def test_keys_join_whatever_type_each_side_read_them_as() -> None:
    # Predictions kept as parquet (integers), labels read from csv as text or floats.
    predictions = pd.DataFrame({"customer_id": [7, 8, 9], "prediction": [1, 0, 1]})
    for keys in (["7", "8"], [7.0, 8.0]):
        got = pd.DataFrame({"customer_id": keys, "churned": [1, 1]})
        live = labels.live_metrics(predictions, got, SOURCE)
        assert (live.labelled, live.pending, live.metrics) == (2, 1, {"accuracy": 0.5})
    text = pd.DataFrame({"customer_id": ["C-7", "C-8"], "prediction": [1, 0]})
    live = labels.live_metrics(text, pd.DataFrame({"customer_id": ["C-8"], "churned": [0]}),
                               SOURCE)
    assert (live.labelled, live.metrics) == (1, {"accuracy": 1.0})
