"""A scoring run's predictions watched against the champion's predictions on its evaluation
data, and each column's nulls, out-of-range numbers and unseen categories: the rules pure,
then end to end in a real IPython shell with a real sqlite MLflow store."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import shell_project
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from mlflow import MlflowClient

from nbmlops import store
from nbmlops.monitor import predictions, quality, sketch
from nbmlops.sync import worker
from nbmlops.sync.spool import Spool

# -- pure --------------------------------------------------------------------------------------


def test_predict_calls_are_found_with_their_targets_in_code_order() -> None:
    code = ("m = nbmlops.load_model('x@champion')\n"
            "p = m.predict_proba(batch[cols])[:, 1]\n"
            "batch['label'] = m.predict(batch[cols])\n"
            "flat = m.predict(batch).ravel()\n"
            "n = len(batch)\n")
    assert predictions.calls_in(code) == [("p", None, "predict_proba"),
                                          ("batch", "label", "predict"),
                                          ("flat", None, "predict")]
    assert predictions.calls_in("x = (") == []


def test_the_predictions_are_the_last_predicted_value_of_the_batchs_length() -> None:
    batch = pd.DataFrame({"a": range(5)})
    code = "p = m.predict(batch)\nbatch['s'] = m.predict_proba(batch)[:, 1]\nq = m.predict(x)"
    ns: dict[str, Any] = {"batch": batch.assign(s=np.linspace(0, 1, 5)), "p": np.zeros(5),
                          "q": np.zeros(3)}
    found = predictions.find(ns, code, 5)
    assert found is not None and (found.where, found.method) == ("batch['s']", "predict_proba")
    assert list(found.value) == list(np.linspace(0, 1, 5))
    # Named in job.yaml: a variable, or a column the cell added to a frame.
    assert predictions.find(ns, code, 5, "p").where == "p"  # type: ignore[union-attr]
    column = predictions.find(ns, code, 5, "s")
    assert column is not None and (column.where, column.method) == ("batch['s']",
                                                                    "predict_proba")
    assert predictions.find(ns, code, 5, "nowhere") is None
    assert predictions.find(ns, "q = m.predict(x)", 5) is None


def test_predictions_become_named_columns_with_the_class_balance() -> None:
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6]])
    frame = predictions.frame_of(proba, "predict_proba", ["no", "yes"])
    assert list(frame.columns) == ["score", "class"]  # type: ignore[union-attr]
    assert list(frame["class"]) == ["no", "yes", "yes"]  # type: ignore[index]
    one = predictions.frame_of(proba[:, 1], "predict_proba", ["no", "yes"])
    assert list(one["class"]) == ["no", "yes", "yes"]  # type: ignore[index]
    three = predictions.frame_of(np.array([[0.1, 0.2, 0.7]]), "predict_proba", [0, 1, 2])
    assert list(three.columns) == ["p(0)", "p(1)", "p(2)", "class"]  # type: ignore[union-attr]
    assert list(three["class"]) == [2]  # type: ignore[index]
    classes = predictions.frame_of(np.array([1, 0]), "predict", [0, 1])
    assert classes is not None and list(classes.columns) == ["class"]
    values = predictions.frame_of(np.array([1.5, 2.0]), "predict")
    assert values is not None and list(values.columns) == ["score"]
    assert predictions.frame_of("text", "predict") is None
    described = predictions.summary(frame)
    assert described["class"]["shares"] == {"yes": pytest.approx(2 / 3),
                                            "no": pytest.approx(1 / 3)}
    assert described["score"]["mean"] == pytest.approx(0.5)
    assert described["score"]["quantiles"]["0.5"] == pytest.approx(0.6)


def test_each_column_says_its_nulls_out_of_range_numbers_and_unseen_values() -> None:
    ref = pd.DataFrame({"x": np.linspace(0, 10, 100),
                        "plan": ["a", "b"] * 50})
    layout = sketch.layout_of(ref)
    batch = pd.DataFrame({"x": [1.0, 2.0, 11.0, -1.0, None],
                          "plan": ["a", "c", "c", "d", None]})
    found = quality.columns(layout, sketch.sketch(batch, layout), batch)
    assert found["x"] == {"nulls": 1, "null_rate": 0.2, "out_of_range": 0.5}
    assert found["plan"] == {"nulls": 1, "null_rate": 0.2, "unseen": 0.75,
                             "unseen_values": {"c": 2, "d": 1}}
    assert quality.figures(found) == {"x.null_rate": 0.2, "x.out_of_range": 0.5,
                                      "plan.null_rate": 0.2, "plan.unseen": 0.75}
    # The most frequent unseen values are named, ten at most.
    many = pd.DataFrame({"x": np.zeros(40), "plan": [f"v{i // 2:02d}" for i in range(38)]
                         + ["v00", "a"]})
    named = quality.columns(layout, sketch.sketch(many, layout), many)["plan"]
    assert len(named["unseen_values"]) == quality.UNSEEN_SHOWN
    assert next(iter(named["unseen_values"].items())) == ("v00", 3)


def test_evaluation_data_is_a_held_out_frame_of_the_models_columns() -> None:
    class Model:
        feature_names_in_ = np.array(["a", "b"])

    big = pd.DataFrame({"a": range(9), "b": range(9), "c": range(9)})
    ns = {"X_train": big, "X_test": big.head(3), "other": big.head(5), "narrow": big[["a"]]}
    assert predictions.evaluation_data(Model(), ns, list(ns), "X_train")[0] == "X_test"  # type: ignore[index]
    del ns["X_test"]
    found = predictions.evaluation_data(Model(), ns, list(ns), "X_train")
    assert found is not None and found[0] == "other" and list(found[1].columns) == ["a", "b"]
    assert predictions.evaluation_data(Model(), {"X_train": big}, ["X_train"], "X_train") is None


def test_a_jobs_monitor_input_names_the_batch_in_its_kernel(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nbmlops import config
    from nbmlops.track import scored

    (tmp_path / "job.yaml").write_text("name: nightly\nnotebook: score.ipynb\n"
                                       "monitor: {input: batch, predictions: preds}\n")
    monkeypatch.setenv(config.ENV_NOTEBOOK, str(tmp_path / "score.ipynb"))
    monkeypatch.delenv(config.ENV_JOB, raising=False)
    assert scored.job_watch() is None  # not in a job
    monkeypatch.setenv(config.ENV_JOB, "nightly")
    watch = scored.job_watch()
    assert (watch.input, watch.predictions) == ("batch", "preds")
    frame = pd.DataFrame({"a": [1.0], "b": [2.0]})
    ns = {"batch": frame, "narrow": frame[["a"]], "n": 3}
    assert scored.named_batch(ns, ["a", "b"], watch) == ("batch", frame)
    assert scored.named_batch(ns, ["a", "b"], None) is None  # the automatic choice then
    monkeypatch.setenv(config.ENV_JOB, "other")
    assert scored.job_watch() is None
    assert scored.named_batch(ns, ["a", "b"], predictions_watch("narrow")) == (
        "monitor.input 'narrow' lacks the model's column 'b'; nothing compared")
    assert scored.named_batch(ns, ["a", "b"], predictions_watch("n")) == (
        "monitor.input names 'n', which is not a frame after the cell ran")


def predictions_watch(input_name: str) -> Any:
    from nbmlops.monitor.settings import Watch

    return Watch(input=input_name)


def test_a_regressor_is_watched_on_its_values_and_an_old_version_on_figures_only() -> None:
    from sklearn.linear_model import LinearRegression

    from nbmlops.monitor import reference
    from nbmlops.track import scored
    from nbmlops.track.scoring import Watched

    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.normal(0, 1, 600), "b": rng.normal(0, 1, 600)})
    model = LinearRegression().fit(X[:400], (X.a * 3 + X.b)[:400])
    built = predictions.build(model, X[400:], "X_valid")
    assert built is not None and set(built.methods) == {"predict"}  # no predict_proba
    assert list(built.methods["predict"].layout.columns) == ["score"]
    assert built.summaries["predict"]["score"]["mean"] == pytest.approx(
        float(model.predict(X[400:]).mean()), rel=1e-5)
    assert predictions.PredictionsReference.from_json(
        json.loads(built.encoded())).summaries == built.summaries
    batch = X[400:].assign(a=X.a[400:] + 2)
    found = predictions.Found("y", "predict_proba", model.predict(batch))  # as if mislabelled
    compared = predictions.compare(found, built)
    assert compared is not None and compared.section["about"]["method"] == "predict"
    assert compared.drifted and compared.figures["score.mean"] > 5

    ref = reference.build(X[:400])
    counted = sketch.sketch(batch, ref.layout)
    data: dict[str, Any] = {"columns": []}
    old = Watched("m", "1", ref)  # registered before its predictions were kept
    extra = scored.extend(data, old, ref.layout, counted, batch, {"y": model.predict(batch)},
                          "y = m.predict(batch)", None)
    assert extra.figures["prediction.score.mean"] == pytest.approx(
        float(model.predict(batch).mean()), rel=1e-5)
    assert extra.tags == {} and "prediction.drifted_columns" not in extra.figures
    assert data["predictions"]["about"] == {"predictions": "y", "method": "predict"}


# -- end to end --------------------------------------------------------------------------------

SETUP = """\
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.metrics import roc_auc_score
X, y = load_breast_cancer(return_X_y=True, as_frame=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
"""
TRAIN = """\
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.linear_model import LogisticRegression
clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X_train, y_train)
auc = roc_auc_score(y_test, clf.predict_proba(X_test)[:, 1])
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, migrated_db: Path) -> Path:
    root = shell_project(tmp_path, monkeypatch, "train.ipynb")
    shutil.copy(migrated_db, root / "mlflow.db")
    return root


def _track(ip: InteractiveShell, line: str, body: str) -> None:
    with capture_output() as out:
        result = ip.run_cell(f"%%track {line}\n{body}")
    assert result.success, out.stdout + out.stderr


def _sync(project: Path) -> list[dict[str, Any]]:
    spool = Spool(project.parent / "spool")
    ids = [e.name.removesuffix(".zip").split("-", 1)[1] for e in spool.entries()]
    report = worker.drain(spool, timeout=120)
    assert report.ok and report.waiting == 0, report.errors
    return [r for r in (spool.receipt(i) for i in ids) if r is not None]


def test_a_scoring_run_watches_its_predictions_against_the_evaluation_predictions(
        ip: InteractiveShell, project: Path) -> None:
    client = MlflowClient(f"sqlite:///{project / 'mlflow.db'}")
    with capture_output():
        assert ip.run_cell(SETUP).success
    _track(ip, "train --model clf=cancer", TRAIN)
    (trained,) = _sync(project)
    # Registered with its predictions on X_test, the frame it was evaluated on.
    path = client.download_artifacts(trained["run_id"],
                                     store.monitoring_predictions_artifact("cancer"),
                                     str(project.parent / "ref"))
    ref = predictions.PredictionsReference.from_json(json.loads(Path(path).read_text()))
    assert (ref.of, ref.rows, set(ref.methods)) == ("X_test", 171, set(predictions.METHODS))
    assert set(ref.methods["predict_proba"].layout.columns) == {"score", "class"}
    with capture_output():
        ip.run_line_magic("mlops", "promote cancer")

    # Held-out rows scored: the predictions are like the evaluation predictions.
    _track(ip, "score", "import nbmlops\nchamp = nbmlops.load_model('cancer@champion')\n"
           "batch = X_test.copy()\nbatch['p'] = champ.predict_proba(batch)[:, 1]\n")
    (scored,) = _sync(project)
    run = client.get_run(scored["run_id"])
    metrics = run.data.metrics
    assert run.data.tags[store.monitor_prediction_drifted_tag("cancer")] == "no"
    assert metrics["monitor.cancer.prediction.drifted_columns"] == 0
    assert metrics["monitor.cancer.rows"] == 171
    mean = float(np.mean(ip.user_ns["batch"]["p"]))
    assert metrics["monitor.cancer.prediction.score.mean"] == pytest.approx(mean, rel=1e-5)
    assert 0 < metrics["monitor.cancer.prediction.class.share.1"] < 1
    assert "monitor.cancer.prediction.score.q0.5" in metrics
    assert metrics["monitor.cancer.mean radius.out_of_range"] == 0
    assert metrics["monitor.cancer.mean radius.null_rate"] == 0
    folder = Path(client.download_artifacts(scored["run_id"], "monitor/cancer",
                                            str(project.parent / "scored")))
    data = json.loads((folder / "report.json").read_text())
    assert data["predictions"]["about"] == {"predictions": "batch['p']", "batch": "batch['p']",
                                            "method": "predict_proba",
                                            "reference": "predictions on X_test"}
    assert data["predictions"]["summary"]["batch"]["score"]["mean"] == pytest.approx(mean,
                                                                                    rel=1e-5)
    page = (folder / "report.html").read_text()
    assert "Predictions, against the model's predictions on X_test" in page
    assert f"<code>score</code> values: mean {mean:.4g}" in page

    # Every measure grown by half: the model calls far more tumours malignant (class 0).
    _track(ip, "shifted", "champ = nbmlops.load_model('cancer@champion')\n"
           "batch = X_test * 1.5\npreds = champ.predict(batch)\n")
    (shifted,) = _sync(project)
    run = client.get_run(shifted["run_id"])
    assert run.data.tags[store.monitor_prediction_drifted_tag("cancer")] == "yes"
    assert run.data.metrics["monitor.cancer.prediction.class.jensen_shannon"] > 0.1
    assert run.data.metrics["monitor.cancer.prediction.class.share.0"] > 0.8
    assert run.data.metrics["monitor.cancer.mean radius.out_of_range"] > 0
