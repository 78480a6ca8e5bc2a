"""Promotion and the challenger under concurrency, and the model commands' refusals, on a real
sqlite MLflow store: versions are registered through MLflow's client (no kernel), the races
are run by real processes released together by barrier files."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient
from mlflow_server import free_port

from nbmlops import store
from nbmlops.cli import main
from nbmlops.models import promotion


@pytest.fixture
def uri(tmp_path: Path, migrated_db: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    import shutil

    monkeypatch.chdir(tmp_path)
    shutil.copy(migrated_db, tmp_path / "mlflow.db")
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


def seed(uri: str, name: str, aucs: list[float]) -> MlflowClient:
    """``name`` with one version per AUC (v1 first), each from a finished run of its own."""
    client = MlflowClient(uri)
    db = store.sqlite_path(uri)
    try:
        experiment_id = client.create_experiment(
            "train.ipynb", artifact_location=(db.parent / "mlruns").as_uri() if db else None)
    except Exception:
        experiment_id = client.get_experiment_by_name("train.ipynb").experiment_id
    client.create_registered_model(name)
    for auc in aucs:
        run_id = client.create_run(experiment_id).info.run_id
        client.log_metric(run_id, "auc", auc)
        client.set_terminated(run_id)
        client.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id,
                                    tags={f"{store.MODEL_METRIC_TAG_PREFIX}auc": repr(auc)})
    return client


def run_together(tmp_path: Path, script: str, *argv: str) -> list[subprocess.Popen[bytes]]:
    """Start two processes of ``script`` (argv: the barrier folder, who it is, who the other
    is, then ``argv``); each releases its steps in step with the other through barrier files."""
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    code = textwrap.dedent(BARRIER) + textwrap.dedent(script)
    procs = {}
    for me, other in (("a", "b"), ("b", "a")):
        with open(tmp_path / f"{me}.log", "wb") as log:
            procs[me] = subprocess.Popen(
                [sys.executable, "-c", code, str(barrier), me, other, *argv],
                stdout=subprocess.DEVNULL, stderr=log)
    for me, p in procs.items():
        assert p.wait(timeout=300) == 0, (tmp_path / f"{me}.log").read_text()
    return list(procs.values())


BARRIER = """\
import json, pathlib, sys, time
barrier, me, other = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3]

def together(step):
    (barrier / f"{step}-{me}").touch()
    while not (barrier / f"{step}-{other}").exists():
        time.sleep(0.0005)
"""


def reigns(client: MlflowClient, name: str, alias: str) -> list[tuple[str, dict[str, Any]]]:
    """Every reign of ``alias`` over the versions of ``name``, oldest first."""
    from nbmlops.models.aliases import history

    found = [(str(v.version), r) for v in client.search_model_versions(f"name = '{name}'")
             for r in history(v, alias)]
    return sorted(found, key=lambda vr: str(vr[1]["since"]))


def assert_one_line(client: MlflowClient, name: str, alias: str) -> list[str]:
    """The alias's history is one line: each reign ended before the next began, named its
    predecessor, and only the last (the holder's) is open. The holders, in order."""
    line = reigns(client, name, alias)
    open_ = [v for v, r in line if r["until"] is None]
    holder = str(client.get_model_version_by_alias(name, alias).version)
    assert open_ == [holder], line
    previous = None
    for version, reign in line:
        assert reign["previous"] == previous, line
        previous = version
    return [v for v, _ in line]


PROMOTE = """\
from mlflow import MlflowClient
from nbmlops.cli import main
uri, names = sys.argv[4], json.loads(sys.argv[5])
version = "2" if me == "a" else "3"
MlflowClient(uri).search_registered_models()  # mlflow imported and the store opened first
statuses = []
for name in names:
    together(name)
    statuses.append(main(["promote", name, "--version", version, "--gate", "auc >= champion",
                          "--tracking-uri", uri]))
(barrier / f"statuses-{me}.json").write_text(json.dumps(statuses))
"""


def test_two_promotions_at_once_are_judged_one_after_the_other(uri: str, tmp_path: Path) -> None:
    """v1 (.80) is champion; at the same instant one process promotes v2 (.90), another v3
    (.85), both with ``auc >= champion``. Whichever goes first, the second is judged against
    it: v2 ends as champion, the history is one line, rollback returns to who came before."""
    race(uri, tmp_path)


def test_two_promotions_at_once_through_a_tracking_server(
    mlflow_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    race(mlflow_server.url, tmp_path)


def race(uri: str, tmp_path: Path) -> None:
    names = [f"churn{i}" for i in range(4)]
    for name in names:
        client = seed(uri, name, [0.80, 0.90, 0.85])
        promotion.promote(client, name, "1")
    run_together(tmp_path, PROMOTE, uri, json.dumps(names))
    statuses = zip(*(json.loads((tmp_path / "barrier" / f"statuses-{me}.json").read_text())
                     for me in "ab"), strict=True)
    for name, (two, three) in zip(names, statuses, strict=True):
        assert two == 0, name  # .90 beats both .80 and .85
        holders = assert_one_line(client, name, store.CHAMPION)
        if three == 1:  # v3 came second: refused against v2, and its report says so
            assert holders == ["1", "2"], name
            gates = client.get_model_version(name, "3").tags[store.MODEL_GATES_TAG]
            assert gates.startswith("0/1 passed for champion against v2"), gates
        else:  # v3 came first (.85 over .80), then v2 over v3
            assert three == 0 and holders == ["1", "3", "2"], name
        done = promotion.rollback(client, name)
        assert (done.from_version, done.to_version) == ("2", holders[-2]), name


CLAIM = """\
from mlflow import MlflowClient
from nbmlops import store
from nbmlops.models.register import claim_challenger
uri, rounds = sys.argv[4], int(sys.argv[5])
client = MlflowClient(uri)
client.search_registered_models()
for step in range(rounds):
    # b's run of each round ended after a's: b's version is the challenger whoever is first.
    ended = 1_000_000 + 10 * step + (5 if me == "b" else 0)
    together(step)
    v = client.create_model_version("churn", "runs:/r/model",
                                    tags={store.MODEL_RUN_ENDED_TAG: str(ended)})
    claim_challenger(client, "churn", str(v.version), ended, me)
"""


def test_two_sync_processes_registering_one_model_leave_one_challenger(
    uri: str, tmp_path: Path
) -> None:
    client = seed(uri, "churn", [])
    run_together(tmp_path, CLAIM, uri, "6")
    holders = assert_one_line(client, "churn", store.CHALLENGER)
    versions = {str(v.version): int(v.tags[store.MODEL_RUN_ENDED_TAG])
                for v in client.search_model_versions("name = 'churn'")}
    assert len(versions) == 12
    assert holders[-1] == max(versions, key=versions.__getitem__)  # b's of the last round


# -- refusals: one line, exit 2, nothing written ----------------------------------------------


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("alias", ["a/b", "latest", "v3", "two words", "x" * 256, "3"])
def test_a_bad_alias_is_refused_before_anything_is_written(
    uri: str, capsys: pytest.CaptureFixture[str], alias: str
) -> None:
    client = seed(uri, "churn", [0.8, 0.9])
    status, out, err = cli(capsys, "promote", "churn", "--alias", alias,
                           "--gate", "auc >= champion", "--tracking-uri", uri)
    assert status == 2 and not out, out
    assert err.startswith(f"nbmlops: error: bad alias '{alias[:20]}") and err.count("\n") == 1, err
    v2 = client.get_model_version("churn", "2")
    assert store.MODEL_GATES_TAG not in v2.tags  # no gate report written onto the version
    assert not client.list_artifacts(v2.run_id)
    assert client.get_registered_model("churn").aliases == {}
    status, _, err = cli(capsys, "rollback", "churn", "--alias", alias, "--tracking-uri", uri)
    assert status == 2 and err.startswith(f"nbmlops: error: bad alias '{alias[:20]}"), err


def test_the_model_commands_with_the_server_away_say_so_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    away = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    for argv in (["models"], ["promote", "churn"], ["rollback", "churn"]):
        status, out, err = cli(capsys, *argv, "--tracking-uri", away)
        assert status == 2 and not out, (argv, out)
        assert err == (f"nbmlops: error: cannot reach the MLflow server at {away} "
                       "(connection refused)\n"), (argv, err)


def test_the_alias_rule(uri: str) -> None:
    from nbmlops.exceptions import ModelError
    from nbmlops.models.aliases import check_alias

    for good in ("champion", "challenger", "prod-2", "staging_eu", "x" * 255):
        assert check_alias(good) == good
    for bad in ("", " champion", "a/b", "a.b", "latest", "Latest", "V12", "12", "x" * 256):
        with pytest.raises(ModelError, match="bad alias"):
            check_alias(bad)
