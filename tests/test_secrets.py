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

from nbmlops import redact
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
