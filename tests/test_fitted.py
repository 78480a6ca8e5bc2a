"""What fitting found: a search's best candidate, its candidates table and nested runs; a
boosted model's early stopping and eval-set curves. Pure rules on real fitted objects, the
upload of nested runs to a real MLflow store (retries included), then a real IPython shell."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import framework, shell_project
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from mlflow import MlflowClient
from mlflow.entities import ViewType
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from nbmlops import store
from nbmlops.record import ChildRecord, RunRecord
from nbmlops.sync import worker
from nbmlops.sync.spool import Spool
from nbmlops.sync.upload import upload
from nbmlops.track import fitted

NOW = 1_700_000_000_000


def metrics_of(found: fitted.Found) -> dict[str, list[tuple[int, float]]]:
    out: dict[str, list[tuple[int, float]]] = {}
    for p in found.metrics:
        out.setdefault(p.name, []).append((p.step, p.value))
    return out


def rows(found: fitted.Found, name: str) -> list[dict[str, str]]:
    text = found.files[store.search_results_artifact(name)].decode()
    return list(csv.DictReader(io.StringIO(text)))


# -- searches ---------------------------------------------------------------------------------


def test_a_grid_search_records_what_it_found() -> None:
    X, y = load_iris(return_X_y=True)
    pipe = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(max_iter=500))])
    search = GridSearchCV(pipe, {"clf__C": [0.01, 0.1, 1.0, 10.0], "clf__fit_intercept":
                                 [True, False]}, cv=3)
    assert fitted.found({"search": search}, ["search"], NOW) == fitted.Found()  # unfitted
    search.fit(X, y)
    found = fitted.found({"search": search}, ["search"], NOW)
    assert found.params == {"search.best.clf.C": repr(search.best_params_["clf__C"]),
                            "search.best.clf.fit_intercept":
                                str(search.best_params_["clf__fit_intercept"])}
    assert metrics_of(found)["search.best_score"] == [(0, search.best_score_)]
    assert found.tags[store.DIRECTION_TAG_PREFIX + "search.best_score"] == "max"
    table = rows(found, "search")
    assert len(table) == 8 and {"mean_test_score", "param_clf__C", "rank_test_score"} <= set(
        table[0])
    children = found.children
    assert len(children) == fitted.MAX_CANDIDATES
    ranks = [int(c.tags[store.CANDIDATE_RANK_TAG]) for c in children]
    assert ranks == sorted(ranks) and ranks[0] == 1
    best = children[0]
    assert best.params["clf.C"] == found.params["search.best.clf.C"]
    assert best.metrics["mean_test_score"] == pytest.approx(search.best_score_)
    assert "std_test_score" in best.metrics and best.run_name == "search rank 1"
    scores = [c.metrics["mean_test_score"] for c in children]
    assert scores == sorted(scores, reverse=True)


def test_randomized_and_halving_searches_too() -> None:
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingGridSearchCV

    X, y = load_iris(return_X_y=True)
    tree = DecisionTreeClassifier(random_state=0)
    rnd = RandomizedSearchCV(tree, {"max_depth": [1, 2, 3, 4, 5]}, n_iter=4, cv=3,
                             random_state=0, scoring="neg_log_loss").fit(X, y)
    halving = HalvingGridSearchCV(tree, {"max_depth": [1, 2, 3, 4, 5, 6]}, cv=3, factor=2,
                                  random_state=0).fit(X, y)
    found = fitted.found({"rnd": rnd, "halving": halving}, ["rnd", "halving"], NOW)
    assert found.params["rnd.best.max_depth"] == repr(rnd.best_params_["max_depth"])
    assert found.params["halving.best.max_depth"] == repr(halving.best_params_["max_depth"])
    assert metrics_of(found)["rnd.best_score"][0][1] < 0  # neg_log_loss: higher is better
    assert found.tags[store.DIRECTION_TAG_PREFIX + "rnd.best_score"] == "max"
    top = next(c for c in found.children if c.tags[store.CANDIDATE_OF_TAG] == "halving")
    assert top.params["max_depth"] == repr(halving.best_params_["max_depth"])  # ranked first
    assert {"iter", "n_resources"} <= set(top.params)
    assert len(rows(found, "halving")) == len(halving.cv_results_["params"])


def test_only_what_the_cell_fits_or_binds_is_searched() -> None:
    source = ("search.fit(X, y)\nstudy.optimize(objective, n_trials=3)\n"
              "best = search.best_estimator_")
    assert fitted.fitted_names(source) == {"search", "study"}


def test_an_optuna_study_records_its_best_trial() -> None:
    framework("optuna")
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=0))
    study.optimize(lambda t: (t.suggest_float("x", -3, 3) - 1) ** 2, n_trials=12)
    found = fitted.found({"study": study}, ["study"], NOW)
    assert found.params == {"study.best.x": repr(study.best_params["x"])}
    assert metrics_of(found)["study.best_value"] == [(0, study.best_value)]
    assert found.tags[store.DIRECTION_TAG_PREFIX + "study.best_value"] == "min"
    assert len(rows(found, "study")) == 12
    values = [c.metrics["value"] for c in found.children]
    assert values == sorted(values) and values[0] == study.best_value  # lower is better here
    assert found.children[0].tags[store.DIRECTION_TAG_PREFIX + "value"] == "min"


# -- boosting ---------------------------------------------------------------------------------


def split() -> tuple[Any, Any, Any, Any]:
    X, y = load_breast_cancer(return_X_y=True)
    return X[:400], y[:400], X[400:], y[400:]


def test_lightgbm_early_stopping_records_the_rounds_it_kept() -> None:
    framework("lightgbm")
    import lightgbm as lgb

    X, y, Xv, yv = split()
    model = lgb.LGBMClassifier(n_estimators=500, learning_rate=0.3, verbose=-1)
    model.fit(X, y, eval_set=[(Xv, yv)], callbacks=[lgb.early_stopping(5, verbose=False)])
    assert model.best_iteration_ < 500
    found = metrics_of(fitted.found({"clf": model}, ["clf"], NOW))
    assert found["clf.best_iteration"] == [(0, float(model.best_iteration_))]
    curve = found["clf.valid_0.binary_logloss"]
    assert [s for s, _ in curve] == list(range(len(model.evals_result_["valid_0"][
        "binary_logloss"])))
    assert found["clf.best.valid_0.binary_logloss"][0][1] == pytest.approx(min(v for _, v in curve))
    plain = lgb.LGBMClassifier(n_estimators=5, verbose=-1).fit(X, y)
    assert fitted.found({"clf": plain}, ["clf"], NOW).metrics == []  # nothing was stopped


def test_xgboost_early_stopping_records_the_rounds_it_kept() -> None:
    framework("xgboost")
    import xgboost as xgb

    X, y, Xv, yv = split()
    model = xgb.XGBClassifier(n_estimators=500, learning_rate=0.3, early_stopping_rounds=5,
                              eval_metric="logloss")
    model.fit(X, y, eval_set=[(Xv, yv)], verbose=False)
    found = metrics_of(fitted.found({"clf": model}, ["clf"], NOW))
    assert found["clf.best_iteration"] == [(0, float(model.best_iteration))]
    curve = found["clf.validation_0.logloss"]
    assert len(curve) == len(model.evals_result()["validation_0"]["logloss"]) < 500
    assert found["clf.best.validation_0.logloss"][0][1] == pytest.approx(model.best_score)


# -- nested runs in MLflow --------------------------------------------------------------------


def child_runs(client: MlflowClient, experiment_id: str, parent: str) -> list[Any]:
    return list(client.search_runs([experiment_id],
                                   f"tags.`{store.PARENT_RUN_TAG}` = '{parent}'",
                                   ViewType.ACTIVE_ONLY))


def test_candidates_are_nested_runs_uploaded_once(
    sqlite_uri: str, make_record: Callable[..., Path], spool: Spool,
) -> None:
    children = [ChildRecord(f"search rank {r}", {"C": str(r)}, {"mean_test_score": 1 - r / 10},
                            {store.CANDIDATE_RANK_TAG: str(r)}) for r in (1, 2, 3)]
    entry = make_record(sqlite_uri, children=children)
    client = MlflowClient(sqlite_uri)

    def push() -> dict[str, Any]:
        with spool.unpacked(entry) as files:
            return upload(spool.load(entry), files, lambda uri: client)

    first = push()
    nested = child_runs(client, first["experiment_id"], first["run_id"])
    assert sorted(r.info.run_name for r in nested) == [c.run_name for c in children]
    top = next(r for r in nested if r.info.run_name == "search rank 1")
    assert top.data.params == {"C": "1"} and top.data.metrics == {"mean_test_score": 0.9}
    assert top.info.status == "FINISHED"
    assert top.data.tags[store.SOURCE_NAME_TAG] == "notebooks/train.ipynb"
    # A retry of a finished upload changes nothing.
    assert push()["run_id"] == first["run_id"]
    assert len(child_runs(client, first["experiment_id"], first["run_id"])) == 3
    # A crash half-way (the parent still RUNNING, with its children) is uploaded afresh.
    client.update_run(first["run_id"], status="RUNNING")
    again = push()
    assert again["run_id"] != first["run_id"]
    assert child_runs(client, first["experiment_id"], first["run_id"]) == []
    assert len(child_runs(client, again["experiment_id"], again["run_id"])) == 3


def test_a_record_without_children_reads_back() -> None:
    record = RunRecord("sqlite:///x.db", "e", "r", "c" * 40)
    raw = record.to_json().replace('"children": [],', "")
    assert "children" not in raw and RunRecord.from_json(raw).children == []


# -- a real shell -----------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return shell_project(tmp_path, monkeypatch, "train.ipynb")


def test_a_search_cell_records_what_it_found(ip: InteractiveShell, project: Path) -> None:
    with capture_output():
        ip.run_cell("from sklearn.datasets import load_iris\n"
                    "from sklearn.tree import DecisionTreeClassifier\n"
                    "from sklearn.model_selection import GridSearchCV\n"
                    "X, y = load_iris(return_X_y=True)\n"
                    "search = GridSearchCV(DecisionTreeClassifier(random_state=0),\n"
                    "                      {'max_depth': [1, 2, 3, 4, 5, 6]}, cv=3)")
        result = ip.run_cell("%%track search\nsearch.fit(X, y)\nprint(search.best_score_)")
        ip.run_cell("%%track use\nbest = search.best_estimator_\nacc = best.score(X, y)")
    assert result.error_in_exec is None
    spool = Spool(project.parent / "spool")
    searched, used = (spool.load(e) for e in spool.entries()[-2:])
    best = ip.user_ns["search"].best_params_["max_depth"]
    assert searched.params["search.best.max_depth"] == repr(best)
    assert searched.params["search.estimator.random_state"] == "0"  # the template, as given
    assert "search.best_score" in {m.name for m in searched.metrics}
    assert store.search_results_artifact("search") in searched.artifacts
    assert next(c.tags[store.CANDIDATE_RANK_TAG] for c in searched.children) == "1"
    assert len(searched.children) == fitted.MAX_CANDIDATES
    assert used.children == [] and "search.best.max_depth" not in used.params  # only read
    # Synced: the candidates are nested under the cell's run, where MLflow's UI shows them.
    assert worker.drain(spool, timeout=120).ok
    client = MlflowClient(searched.tracking_uri)
    [run] = client.search_runs([client.get_experiment_by_name(searched.experiment)
                                .experiment_id], f"tags.`{store.RECORD_ID_TAG}` = "
                               f"'{searched.record_id}'")
    nested = child_runs(client, run.info.experiment_id, run.info.run_id)
    assert sorted(r.info.run_name for r in nested) == [f"search rank {i}" for i in range(1, 6)]
    assert run.data.metrics["search.best_score"] == pytest.approx(
        ip.user_ns["search"].best_score_)
    assert run.data.params["search.best.max_depth"] == repr(best)


def test_an_early_stopped_booster_cell_records_what_it_kept(
    ip: InteractiveShell, project: Path
) -> None:
    framework("lightgbm")
    with capture_output():
        ip.run_cell("from sklearn.datasets import load_breast_cancer\n"
                    "X, y = load_breast_cancer(return_X_y=True)\nn_estimators = 500")
        result = ip.run_cell(
            "%%track boost\nimport lightgbm as lgb\n"
            "clf = lgb.LGBMClassifier(n_estimators=n_estimators, learning_rate=0.3, "
            "verbose=-1)\n"
            "clf.fit(X[:400], y[:400], eval_set=[(X[400:], y[400:])],\n"
            "        callbacks=[lgb.early_stopping(5, verbose=False)])")
    assert result.error_in_exec is None
    spool = Spool(project.parent / "spool")
    record = spool.load(spool.entries()[-1])
    kept = ip.user_ns["clf"].best_iteration_
    assert record.params["n_estimators"] == "500"  # what it was given, once
    points = {(p.name, p.step): p.value for p in record.metrics}
    assert points[("clf.best_iteration", 0)] == kept < 500  # what it kept
    steps = sorted(s for n, s in points if n == "clf.valid_0.binary_logloss")
    assert steps == list(range(len(steps))) and len(steps) >= kept
