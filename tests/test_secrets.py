"""Nothing a user types may leak: secrets planted every way a notebook holds them, then the
whole MLflow store, its artifacts and the spool are searched for each value."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import shell_project
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from nbmlops import redact
from nbmlops.sync import worker
from nbmlops.sync.spool import Spool

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
