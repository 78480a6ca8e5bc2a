"""Nothing a user types may leak: secrets planted every way a notebook holds them, then the
whole MLflow store, its artifacts and the spool are searched for each value."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import shell_project
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from nbmlops import redact, store
from nbmlops.sync import worker
from nbmlops.sync.spool import Spool
from nbmlops.track import environment

SECRETS = {
    "literal": "ghp_" + "L1teral" * 5,  # a token-shaped literal bound to a secret name
    "name": "plain-looking-but-named-password",  # any value, named as a secret
    "dict": "d1ct-passwd-value-77",  # a secret key inside a dict parameter
    "earlier": "earlier-cell-api-key-4242",  # read from an earlier cell
    "env": "hf_envvalue" + "9" * 20,  # a secret-named environment variable's value
    "diff_new": "d1ff-new-token-value-1",  # in the git diff, added
    "diff_old": "d1ff-old-token-value-0",  # in the git diff, removed
    "diff_json": "d1ff-json-secret-555",  # a JSON key in a changed file
}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = shell_project(tmp_path, monkeypatch, "secrets.ipynb")
    monkeypatch.setenv("HF_TOKEN", SECRETS["env"])
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")

    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=root,
                       check=True, capture_output=True)

    (root / ".env").write_text(f"API_TOKEN={SECRETS['diff_old']}\n")
    (root / "settings.json").write_text('{"lr": 0.1}\n')
    git("init", "-q")
    git("add", ".env", "settings.json", "pyproject.toml")
    git("commit", "-q", "-m", "start")
    (root / ".env").write_text(f"API_TOKEN={SECRETS['diff_new']}\n")
    (root / "settings.json").write_text(f'{{"lr": 0.1, "api_key": "{SECRETS["diff_json"]}"}}\n')
    return root


def run(ip: InteractiveShell, source: str) -> Any:
    with capture_output():
        return ip.run_cell(source)


def test_no_secret_reaches_the_store_its_artifacts_or_the_spool(
    ip: InteractiveShell, project: Path
) -> None:
    assert redact.is_secret_name("HF_TOKEN")
    run(ip, f"api_key = {SECRETS['earlier']!r}\nimport os, pandas as pd")
    run(ip, "%%track fit\n"
            f"token = {SECRETS['literal']!r}\n"
            f"db_password = {SECRETS['name']!r}\n"
            f"cfg = {{'passwd': {SECRETS['dict']!r}, 'lr': 0.1}}\n"
            "key_len = len(api_key)\n"
            "users = pd.DataFrame({'who': [os.environ['HF_TOKEN']] * 3 + ['ana']})\n"
            "accuracy = 0.9")
    failed = run(ip, "%%track fail\nraise RuntimeError('login refused for ' "
                     "+ os.environ['HF_TOKEN'])")
    assert failed.error_in_exec is not None  # the user's own error surfaces unchanged
    assert SECRETS["env"] in str(failed.error_in_exec)

    spool = Spool(project.parent / "spool")
    records = [spool.load(e) for e in spool.entries()]
    assert {r.run_name for r in records} == {"fit", "fail"}
    assert worker.drain(spool, timeout=120).uploaded == 2

    places = [p for p in (*project.rglob("*"), *(project.parent / "spool").rglob("*"))
              if p.is_file() and ".git" not in p.parts and p.name not in (".env",
                                                                           "settings.json")]
    assert any(p.name == "git.diff" for p in places)  # the diff was uploaded, redacted
    for kind, value in SECRETS.items():
        hits = [p for p in places if value.encode() in p.read_bytes()]
        assert hits == [], f"{kind} secret found in {hits}"


def test_a_diff_that_arrives_after_the_cell_is_redacted_too(
    ip: InteractiveShell, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """git answers only once the cell has ended: the record is spooled without its git state
    and amended later, through another path than above; that one must redact as well."""
    real = shutil.which("git")
    assert real is not None
    gate, bin_dir = tmp_path / "gate", tmp_path / "slow-git"
    bin_dir.mkdir()
    wrapper = bin_dir / "git"
    wrapper.write_text(f"#!/bin/sh\nwhile [ ! -e {gate} ]; do sleep 0.02; done\n"
                       f'exec {real} "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setattr(environment, "_git_executable", lambda: str(wrapper))

    run(ip, "%%track fit\naccuracy = 0.9")
    spool = Spool(project.parent / "spool")
    [entry] = spool.entries()
    assert spool.load(entry).environment.git_pending  # the cell did not wait for git
    gate.touch()
    deadline = time.monotonic() + 30
    while spool.load(entry).environment.git_pending:
        assert time.monotonic() < deadline, "the record was never amended with git's answer"
        time.sleep(0.05)
    with spool.unpacked(entry) as files:
        diff = (files / "env" / "git.diff").read_text()
    assert "API_TOKEN=" in diff and "api_key" in diff  # the diff is there, its values are not
    for kind in ("diff_new", "diff_old", "diff_json"):
        assert SECRETS[kind] not in diff, kind


# A frame a model is fitted on, with a secret-named column, a column that only looks like
# credentials, and a column of secrets named as such.
USERS = """\
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
X_train = pd.DataFrame({
    "password": [f"hunter2-pw-{i:03d}" for i in range(40)],
    "email": [f"user{i}@example.com" for i in range(40)],
    "api_token": [f"tok-{i:03d}-" + "q" * 12 for i in range(40)],
    "note": ["ghp_" + "N0te" * 9] * 40,
    "age": [20 + i for i in range(40)],
    "visits": [float(i % 7) for i in range(40)],
})
y_train = [i % 2 for i in range(40)]
"""
FIT = """\
clf = make_pipeline(
    ColumnTransformer([("ids", "drop", ["password", "email", "api_token", "note"])],
                      remainder="passthrough"),
    LogisticRegression(),
).fit(X_train, y_train)
"""


def test_a_registered_model_s_input_example_holds_no_secret(
    ip: InteractiveShell, project: Path
) -> None:
    """The example keeps a few training rows: their secret columns and secret-looking values
    are redacted, in the spooled pickle and in what MLflow stores, and the signature keeps
    every column with its type."""
    from mlflow import MlflowClient
    from mlflow.models import get_model_info

    run(ip, USERS)
    frame = ip.user_ns["X_train"]
    secrets = [*frame["password"].head(), *frame["api_token"].head(), frame["note"][0]]
    assert run(ip, "%%track fit --model clf=churn\n" + FIT).success
    spool = Spool(project.parent / "spool")
    [entry] = spool.entries()
    with spool.unpacked(entry) as files:
        spooled = (files / store.model_spool_path("clf", "input_example.pkl")).read_bytes()
    assert b"user0@example.com" in spooled  # the example is there, not a secret in it
    assert [s for s in secrets if s.encode() in spooled] == []
    assert worker.drain(spool, timeout=120).uploaded == 1

    client = MlflowClient(f"sqlite:///{project / 'mlflow.db'}")
    version = client.get_model_version("churn", "1")
    signature = get_model_info(version.source).signature
    assert signature is not None
    assert {c["name"]: c["type"] for c in signature.inputs.to_dict()} == {
        "password": "string", "email": "string", "api_token": "string", "note": "string",
        "age": "long", "visits": "double"}
    examples = [p for p in project.rglob("*input_example.json")]
    assert {p.name for p in examples} == {"input_example.json", "serving_input_example.json"}
    for path in examples:
        text = path.read_text()
        assert "user0@example.com" in text and redact.PLACEHOLDER in text
        assert [s for s in secrets if s in text] == [], path.name
    assert frame["password"][0] == "hunter2-pw-000"  # the user's frame is untouched


def test_a_secret_variable_in_an_error_message_is_redacted(
    ip: InteractiveShell, project: Path
) -> None:
    """The error text nbmlops records leaves out the values of the notebook's secret-named
    variables; the error the user sees is their own, unchanged."""
    db_password = "s3cr3t-DB-pw-9931"
    run(ip, f"db_password = {db_password!r}\n"
            "settings = {'host': 'db', 'client_secret': 'cl13nt-s3cr3t-77'}")
    failed = run(ip, "%%track login\n"
                     "raise RuntimeError(f'login failed with {db_password} on {settings}')")
    assert failed.error_in_exec is not None
    assert str(failed.error_in_exec) == (
        "login failed with s3cr3t-DB-pw-9931 on "
        "{'host': 'db', 'client_secret': 'cl13nt-s3cr3t-77'}")
    spool = Spool(project.parent / "spool")
    [entry] = spool.entries()
    record = spool.load(entry)
    with spool.unpacked(entry) as files:
        traceback = (files / "error" / "traceback.txt").read_text()
    assert record.outcome.error_message == (
        f"login failed with {redact.PLACEHOLDER} on "
        f"{{'host': 'db', 'client_secret': '{redact.PLACEHOLDER}'}}")
    assert "RuntimeError: login failed with <redacted>" in traceback
    for value in (db_password, "cl13nt-s3cr3t-77"):
        assert value not in traceback
    assert worker.drain(spool, timeout=120).uploaded == 1
    from mlflow import MlflowClient

    [found] = MlflowClient(f"sqlite:///{project / 'mlflow.db'}").search_runs(
        [MlflowClient(f"sqlite:///{project / 'mlflow.db'}").get_experiment_by_name(
            "secrets.ipynb").experiment_id])
    assert db_password not in found.data.tags["nbmlops.error_message"]


def test_the_slice_s_track_line_keeps_no_secret_param_or_tag(
    ip: InteractiveShell, project: Path
) -> None:
    run(ip, "n = 3")
    assert run(ip, "%%track s --param api_key=k3y-value-123 -p lr=0.1 --tag password=pw-value-456"
                   " --tag=team=ml\nacc = n / 4").success
    spool = Spool(project.parent / "spool")
    [entry] = spool.entries()
    record = spool.load(entry)
    assert record.params["api_key"] == redact.PLACEHOLDER and record.params["lr"] == "0.1"
    with spool.unpacked(entry) as files:
        notebook = (files / "code" / "slice.ipynb").read_text()
    assert "k3y-value-123" not in notebook and "pw-value-456" not in notebook
    import json

    line = json.loads(notebook)["cells"][-1]["source"].splitlines()[0]
    from nbmlops.track import line as track_line

    options = track_line.parse(track_line.split_cell(line + "\n")[0])  # type: ignore[index]
    assert options.name == "s"
    assert options.params == {"api_key": redact.PLACEHOLDER, "lr": "0.1"}
    assert options.tags == {"password": redact.PLACEHOLDER, "team": "ml"}
