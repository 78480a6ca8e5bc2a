"""Each contract between the package's parts is defined once: the tag-value limit and the
champion alias in :mod:`nbmlops.store`, where runs go without a notebook in
:func:`nbmlops.config.store_uri`. The source is read with ``ast``, so a second definition or a
spelled-out value fails here rather than drifting apart later."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from nbmlops import config, store

PACKAGE = Path(__file__).resolve().parent.parent / "nbmlops"
STORE = PACKAGE / "store.py"


def sources() -> dict[str, ast.Module]:
    return {p.relative_to(PACKAGE.parent).as_posix(): ast.parse(p.read_text(encoding="utf-8"))
            for p in PACKAGE.rglob("*.py") if p != STORE and "labextension" not in p.parts}


def test_the_tag_value_limit_is_defined_in_store_only() -> None:
    found = []
    for name, tree in sources().items():
        for node in ast.walk(tree):
            targets = (node.targets if isinstance(node, ast.Assign)
                       else [node.target] if isinstance(node, ast.AnnAssign) else [])
            if any(isinstance(t, ast.Name) and t.id == "MAX_TAG_VALUE" for t in targets):
                found.append(f"{name}:{node.lineno} defines MAX_TAG_VALUE")
            # a cut spelled as the number: `text[:8000]`
            if (isinstance(node, ast.Slice) and isinstance(node.upper, ast.Constant)
                    and node.upper.value == store.MAX_TAG_VALUE):
                found.append(f"{name}:{node.lineno} cuts at {store.MAX_TAG_VALUE} by number")
    assert found == []


def test_the_tag_value_limit_is_within_what_mlflow_accepts() -> None:
    from mlflow.utils import validation

    assert store.MAX_TAG_VALUE <= validation.MAX_TAG_VAL_LENGTH  # a run's tag
    assert store.MAX_TAG_VALUE <= validation.MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH  # a version's


def test_a_tag_value_at_the_limit_is_stored_whole(sqlite_uri: str) -> None:
    # MLflow cuts a longer run tag without a word; this store keeps one at the limit.
    value = "x" * (store.MAX_TAG_VALUE - 1) + "!"
    client = store.client(sqlite_uri)
    run = client.create_run(client.create_experiment("limits"))
    client.set_tag(run.info.run_id, store.NOTE_TAG, value)
    client.create_registered_model("m")
    version = client.create_model_version("m", f"runs:/{run.info.run_id}/model",
                                          run_id=run.info.run_id,
                                          tags={store.MODEL_GATES_TAG: value})
    assert client.get_run(run.info.run_id).data.tags[store.NOTE_TAG] == value
    assert client.get_model_version("m", version.version).tags[store.MODEL_GATES_TAG] == value


def test_the_champion_alias_is_spelled_in_store_only() -> None:
    found = []
    for name, tree in sources().items():
        # A dict key is a field of an answer ("champion": its value), not the alias.
        keys = {id(k) for d in ast.walk(tree) if isinstance(d, ast.Dict) for k in d.keys if k}
        # The gates' word for the holder of the alias a promotion takes (any alias).
        grammar = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Assign)
                   and name == "nbmlops/models/gates.py"
                   and [getattr(t, "id", None) for t in n.targets] == ["REFERENCE"]}
        found += [f"{name}:{n.lineno}" for n in ast.walk(tree)
                  if isinstance(n, ast.Constant) and n.value == store.CHAMPION
                  and id(n) not in keys | grammar]
    assert found == []


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    (root / "notebooks").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(root / "notebooks")
    return root.resolve()


def test_runs_go_to_the_given_store_as_given(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://elsewhere:5000")
    # relative: MLflow resolves it where the command runs, as it always did
    assert config.store_uri("sqlite:///mine.db") == "sqlite:///mine.db"
    assert config.store_uri("http://team:5000", project) == "http://team:5000"


def test_without_one_runs_go_to_the_projects_store(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    default = f"sqlite:///{project / 'mlflow.db'}"
    assert config.store_uri() == default  # the working directory's project
    assert config.store_uri(None, project) == default
    assert config.store_uri("", project) == default
    elsewhere = tmp_path / "other"
    elsewhere.mkdir()
    assert config.store_uri(root=elsewhere) == f"sqlite:///{elsewhere / 'mlflow.db'}"

    (project / "pyproject.toml").write_text(
        "[project]\nname = 'p'\n[tool.nbmlops]\ntracking_uri = 'sqlite:///db/runs.db'\n")
    assert config.store_uri() == f"sqlite:///{project / 'db' / 'runs.db'}"

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://from-env:5000")
    assert config.store_uri() == "http://from-env:5000"


def test_a_notebook_and_a_command_agree_on_where_runs_go(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notebook = project / "notebooks" / "train.ipynb"
    for env in (None, "http://from-env:5000"):
        if env:
            monkeypatch.setenv("MLFLOW_TRACKING_URI", env)
        assert config.destination(notebook).tracking_uri == config.store_uri()
        assert config.destination(None).tracking_uri == config.store_uri()
        assert config.destination(notebook, uri="http://job:5000").tracking_uri == \
            config.store_uri("http://job:5000")
    # a job's relative sqlite store is the project's, wherever the job runs
    assert config.destination(notebook, uri="sqlite:///job.db").tracking_uri == \
        f"sqlite:///{project / 'job.db'}"
