"""Shadow evaluation's figures, and which values of a scoring cell are its predictions and
which frame holds their key (pure)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nbmlops.monitor import shadow
from nbmlops.track.live import key_frame, predictions_of


def test_disagreement_is_the_share_of_differing_classes_and_the_score_distance() -> None:
    served = np.array([0, 1, 1, 0, 1])
    other = np.array([0.0, 1.0, 0.0, 0.0, 0.0])  # floats for the same classes
    got = shadow.disagreement(served, other, [0.1, 0.9, 0.6, 0.2, 0.7], [0.1, 0.8, 0.4, 0.2, 0.3])
    assert got == pytest.approx({"disagreement": 0.4, "score_mean_abs_diff": 0.14})
    numbers = shadow.disagreement(np.linspace(0, 10, 50), np.linspace(0, 10, 50) + 0.5)
    assert numbers == pytest.approx({"mean_abs_diff": 0.5})
    assert shadow.disagreement([1, 2], [1]) == {}


def test_a_distribution_is_class_shares_or_quantiles() -> None:
    got = shadow.distribution(np.array([1, 1, 1, 0]), np.array([0.9, 0.8, 0.7, 0.1]))
    assert got["share.1"] == 0.75 and got["share.0"] == 0.25
    assert got["score_mean"] == pytest.approx(0.625) and got["score_p50"] == pytest.approx(0.75)
    numbers = shadow.distribution(np.arange(101, dtype=float) + 0.5)
    assert "share.0" not in numbers and numbers["p05"] == pytest.approx(5.5)
    assert numbers["mean"] == pytest.approx(50.5)


def test_a_score_is_a_fraction_within_zero_and_one() -> None:
    assert shadow.is_score(np.array([0.2, 0.9, 1.0]))
    assert not shadow.is_score(np.array([0.0, 1.0, 1.0]))  # classes as floats
    assert not shadow.is_score(np.array([0.2, 1.5]))
    assert not shadow.is_score(np.array([0, 1]))
    assert list(shadow.to_classes([0.2, 0.5, 0.7])) == [0, 1, 1]


def _batch(rows: int = 6) -> pd.DataFrame:
    return pd.DataFrame({"a": np.arange(rows, dtype=float), "id": range(rows),
                         "plan": ["free", "pro"] * (rows // 2)})


def test_the_predictions_are_found_by_shape_kind_and_name() -> None:
    batch = _batch()
    proba = np.column_stack([np.linspace(0.9, 0.1, 6), np.linspace(0.1, 0.9, 6)])
    ns = {"batch": batch, "proba": proba, "labels": np.array([1, 0, 1, 0, 1, 0]),
          "preds": np.array([0, 0, 0, 1, 1, 1]), "other": np.zeros(5)}
    found = predictions_of(ns, ["proba", "labels", "preds", "other"], ["batch"], 6)
    assert found is not None and found[1] is not None
    assert list(found[0]) == [0, 0, 0, 1, 1, 1]  # the one named pred first
    assert list(found[1]) == pytest.approx(list(np.linspace(0.1, 0.9, 6)))
    only_score = predictions_of(ns, ["proba"], [], 6)
    assert only_score is not None and list(only_score[0]) == [0, 0, 0, 1, 1, 1]
    declared = predictions_of(ns, ["preds"], [], 6, declared="labels")
    assert declared is not None and list(declared[0]) == [1, 0, 1, 0, 1, 0]
    assert predictions_of(ns, ["other"], [], 6) is None
    in_frame = batch.assign(predicted_churn=[1, 1, 0, 0, 1, 1])
    framed = predictions_of({}, [], [], 6, frame=in_frame)
    assert framed is not None and list(framed[0]) == [1, 1, 0, 0, 1, 1]


def test_the_key_frame_has_the_key_the_rows_and_the_segments_first() -> None:
    batch, narrow = _batch(), _batch()[["a", "id"]]
    ns = {"narrow": narrow, "batch": batch, "short": _batch(4), "X": batch[["a"]]}
    best = key_frame(ns, ["narrow", "X"], ["batch", "short"], 6, "id", ["plan"])
    assert best is not None and best[0] == "batch"
    some = key_frame(ns, ["narrow", "X"], ["short"], 6, "id", ["plan"])
    assert some is not None and some[0] == "narrow"
    assert key_frame(ns, ["X", "short"], [], 6, "id") is None


def test_the_edges_of_classes_scores_and_names() -> None:
    assert shadow.is_score(np.array([0.0, 0.5]))
    assert not shadow.is_score(np.array([[0.2, 0.3]]))  # one column per class
    assert not shadow.is_score(np.array([], dtype=float))
    assert shadow.to_classes(np.array([0.2, 0.7])).dtype.kind == "i"
    assert "share.19" in shadow.distribution(np.arange(20))  # 20 classes at most
    assert "mean" in shadow.distribution(np.arange(21))
    assert "mean" in shadow.distribution(np.array([0.5, 1.5, 0.5, 1.5]))  # numbers, few
    assert shadow.distribution(np.array([f"c{i}" for i in range(30)])) == {}
    named = shadow.distribution(np.array(["e:f", "x" * 70, "e:f", "e:f"]))
    assert named == {"share.e_f": 0.75, f"share.{'x' * 60}": 0.25}
    assert shadow.distribution(np.array([1.0, 2.0, 2.0, 2.0])) == {"share.1": 0.25,
                                                                   "share.2": 0.75}
    mixed = shadow.disagreement(np.array([0, 1]), np.array([0.25, 0.5]), np.array([0.1, 0.9]))
    assert mixed == {"mean_abs_diff": 0.375}  # one side numbers; one side without a score
    text = shadow.disagreement(np.array(["a", "b"]), np.array(["a", "a"]))
    assert text == {"disagreement": 0.5}
