"""Shared fixtures: a spool, a fresh sqlite MLflow store, a real ``mlflow server``, records.

``spool``          a Spool in tmp_path; NBMLOPS_SPOOL points at it; a sync process the test
                   started for it is stopped at teardown.
``sqlite_uri``     ``sqlite:///.../mlflow.db``: a fresh, already migrated store in tmp_path.
``mlflow_server``  a started :class:`tests.mlflow_server.MlflowServer` (``.url``; ``.cut()``
                   and ``.restore()`` for an outage), shared by the whole run, its store
                   emptied for each test.
                   Skipped when it cannot start, except in CI (``CI=true``) where that fails.
``postgres``       a :class:`tests.mlflow_server.PostgresCluster` for the session (Debian's
                   PostgreSQL in a temporary folder); skipped or failed as above.
``postgres_server`` a team's server for the session: ``mlflow server`` on PostgreSQL with
                   ``--artifacts-destination`` on local disk; ``.cut()`` / ``.restore()``
                   as for ``mlflow_server``.
``make_record``    ``make_record(uri, **fields) -> Path``: stages and commits a RunRecord.
``ip``             the IPython shell with nbmlops loaded and a fresh namespace, for a test
                   module that defines a ``project`` fixture (the folder the shell works in,
                   usually made by :func:`shell_project`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from mlflow_server import MlflowServer, PostgresCluster, ServerStartError

from nbmlops.record import DataRecord, Environment, GitState, MetricPoint, Outcome, RunRecord
from nbmlops.sync.spool import Spool

# `make test` runs the suite on two workers (pytest-xdist, `--dist loadfile`): a module runs
# whole on one worker, so its module fixtures are built once. The slowest modules start first,
# so that both workers finish at about the same time.
SLOWEST_FIRST = ("test_pipelines", "test_journey", "test_sidebar", "test_schedulers", "test_jobs",
                 "test_scale", "test_shared_server")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.stem
        return SLOWEST_FIRST.index(name) if name in SLOWEST_FIRST else len(SLOWEST_FIRST)

    items.sort(key=rank)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """On a pytest-xdist worker, save the coverage measured so far: a worker that takes more
    than 10 s to exit (threads and servers winding down) is killed by its controller, and
    would lose it."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        import coverage

        measuring = coverage.Coverage.current()
        if measuring is not None:
            measuring.save()


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session", autouse=True)
def mlflow_plugins_installed(tmp_path_factory: pytest.TempPathFactory) -> None:
    """nbmlops' MLflow plugins (``[project.entry-points]`` of pyproject.toml) as an install
    registers them, in this process and every one it starts: an editable install made before
    an entry point was declared lacks it until ``pip install -e .`` runs again."""
    from importlib.metadata import entry_points

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    declared = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    groups = declared["project"].get("entry-points", {})
    missing = {group: {name: value for name, value in points.items()
                       if not entry_points(group=group, name=name)}
               for group, points in groups.items()}
    missing = {group: points for group, points in missing.items() if points}
    if not missing:
        return
    folder = tmp_path_factory.mktemp("entry-points")
    info = folder / "nbmlops_plugins-0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: nbmlops-plugins\nVersion: 0\n")
    (info / "entry_points.txt").write_text("".join(
        f"[{group}]\n" + "".join(f"{name} = {value}\n" for name, value in points.items())
        for group, points in missing.items()))
    sys.path.append(str(folder))
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (os.environ.get("PYTHONPATH"), str(folder)) if p)
    if "mlflow.store.artifact.artifact_repository_registry" in sys.modules:
        from mlflow.store.artifact import artifact_repository_registry

        artifact_repository_registry._artifact_repository_registry.register_entrypoints()


def framework(name: str) -> None:
    """Skip without ``name`` on a developer's machine; CI installs it (.ci/run)."""
    try:
        __import__(name)
    except ImportError:
        if in_ci():
            pytest.fail(f"{name} is required in CI (.ci/run installs it)")
        pytest.skip(f"{name} is not installed")


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty MLflow sqlite store with every migration applied (that takes 1-2 s, and
    10+ s for a server's first start): tests copy it. Kept per MLflow version beside the
    runs' temporary folders, so later runs copy it too (`make mutate` runs one per mutant)."""
    import mlflow
    from mlflow import MlflowClient

    path = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    kept = tmp_path_factory.getbasetemp().parent / f"nbmlops-mlflow-{mlflow.__version__}.db"
    if kept.is_file():
        shutil.copy(kept, path)
        return path
    MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    with contextlib.suppress(OSError):  # another run may write it at the same moment
        partial = kept.with_name(f".{kept.name}.{os.getpid()}")
        shutil.copy(path, partial)
        os.replace(partial, kept)
    return path


@pytest.fixture(scope="session")
def shared_runs(tmp_path_factory: pytest.TempPathFactory, migrated_db: Path) -> Any:
    """The runs ``%%track`` made of ``tracked_runs.CELLS``, built once, read by the query and
    panel tests; each checks on teardown that it left the store as it found it."""
    from tracked_runs import tracked_store

    return tracked_store(tmp_path_factory.mktemp("tracked-runs"), migrated_db)


@pytest.fixture
def sqlite_uri(tmp_path: Path, migrated_db: Path) -> str:
    db = tmp_path / "store" / "mlflow.db"
    db.parent.mkdir()
    shutil.copy(migrated_db, db)
    return f"sqlite:///{db}"


@pytest.fixture
def job_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_uri: str) -> Path:
    """A project folder to export and run jobs in: the working directory, its own store and
    spool, no background uploads (``nbmlops run`` drains the spool itself)."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'jobs'\n")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", sqlite_uri)
    monkeypatch.setenv("NBMLOPS_SPOOL", str(tmp_path / "spool"))
    monkeypatch.setenv("NBMLOPS_AUTOSYNC", "0")
    monkeypatch.delenv("NBMLOPS_NOTEBOOK", raising=False)
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def nbmlops_run(capsys: pytest.CaptureFixture[str]) -> Callable[..., str]:
    """``nbmlops run FOLDER ARGS...`` by the command's own ``main`` in the test's process (each
    run's papermill and kernel are real processes all the same), so a test of many runs
    imports MLflow once, not once per run; asserts it exits 0 and returns its stderr."""
    from nbmlops.cli import main

    def run(folder: Path, *args: str) -> str:
        code = main(["run", str(folder), *args])
        out, err = capsys.readouterr()
        assert code == 0, out + err
        return err

    return run


def stop_sync_process(spool: Spool) -> None:
    """Stop the sync process serving ``spool`` (its pid is in the spool's state)."""
    from nbmlops.sync import worker

    pid = spool.state().get("pid")
    if not pid or not worker.is_running(spool):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(int(pid), signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and worker.is_running(spool):
        time.sleep(0.05)


def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """``condition()``'s first true value, asked every 20 ms; fails after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.02)


@pytest.fixture
def spool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Spool]:
    root = tmp_path / "spool"
    monkeypatch.setenv("NBMLOPS_SPOOL", str(root))
    s = Spool(root).ensure()
    yield s
    stop_sync_process(s)


def started(server: MlflowServer | PostgresCluster, what: str) -> None:
    """Start ``server``; a test that cannot have it is skipped, except in CI where it fails."""
    try:
        server.start()
    except (ServerStartError, OSError, subprocess.TimeoutExpired) as e:
        server.close()
        if in_ci():
            pytest.fail(f"{what} is required in CI: {e}")
        pytest.skip(f"cannot start {what}: {e}")


@pytest.fixture(scope="session")
def shared_mlflow_server(
    tmp_path_factory: pytest.TempPathFactory, migrated_db: Path
) -> Iterator[MlflowServer]:
    """One ``mlflow server`` for the whole run, started by the first test that asks for it
    (a start costs seconds); outage tests cut its relay rather than restart it."""
    server = MlflowServer(tmp_path_factory.mktemp("mlflow-server"), relay=True)
    shutil.copy(migrated_db, server.db)
    started(server, "a real mlflow server")
    try:
        yield server
    finally:
        server.close()


def empty_store(uri: str) -> None:
    """Leave the store as a fresh one looks to its API: every experiment but the default
    renamed out of the way and deleted (its name free again), every registered model deleted."""
    import uuid

    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    for experiment in client.search_experiments():
        if experiment.experiment_id != "0":
            client.rename_experiment(experiment.experiment_id, f"used-{uuid.uuid4().hex}")
            client.delete_experiment(experiment.experiment_id)
    for model in client.search_registered_models():
        client.delete_registered_model(model.name)


@pytest.fixture
def mlflow_server(shared_mlflow_server: MlflowServer) -> MlflowServer:
    """The shared server, running and reachable (a test may cut it off or stop it; the next
    one finds it restored) and with an empty store, so tests stay independent."""
    server = shared_mlflow_server
    started(server, "a real mlflow server")
    empty_store(server.url)
    return server


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    cluster = PostgresCluster()
    started(cluster, "PostgreSQL")
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture(scope="session")
def postgres_server(
    tmp_path_factory: pytest.TempPathFactory, postgres: PostgresCluster
) -> Iterator[MlflowServer]:
    server = MlflowServer(tmp_path_factory.mktemp("postgres-server"),
                          backend_store_uri=postgres.create_database("mlflow"), relay=True)
    started(server, "an mlflow server on PostgreSQL")
    try:
        yield server
    finally:
        server.close()


def shell_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, notebook: str) -> Path:
    """A project for a shell's tracked cells: ``tmp_path/project`` (the working directory),
    its notebook named ``notebook``, the spool beside it, autosync off so each test reads the
    records its cells spooled, no store or setting inherited from outside."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    monkeypatch.chdir(root)
    monkeypatch.setenv("NBMLOPS_SPOOL", str(tmp_path / "spool"))
    monkeypatch.setenv("NBMLOPS_NOTEBOOK", str(root / notebook))
    monkeypatch.setenv("NBMLOPS_AUTOSYNC", "0")
    for name in ("MLFLOW_TRACKING_URI", "NBMLOPS_DRIFT", "NBMLOPS_EXPERIMENT"):
        monkeypatch.delenv(name, raising=False)
    return root


@pytest.fixture
def ip(project: Path) -> Iterator[Any]:
    """A shell of this test's own, with nbmlops loaded: no namespace, option or magic
    state is carried from one test to the next."""
    from IPython.core.interactiveshell import InteractiveShell

    InteractiveShell.clear_instance()
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "nbmlops")
    shell.run_line_magic("colors", "nocolor")
    try:
        yield shell
    finally:
        shell.history_manager.end_session()
        InteractiveShell.clear_instance()


def build_record(uri: str, **fields: Any) -> RunRecord:
    """A typical record: params, a metric with steps, one dataset, git state, FINISHED."""
    now = int(time.time() * 1000)
    values: dict[str, Any] = {
        "tracking_uri": uri,
        "experiment": "notebooks/train.ipynb",
        "run_name": "train",
        "code_sha": "c0de" * 10,
        "notebook": "notebooks/train.ipynb",
        "project_root": "",
        "cell_id": "cell-1",
        "execution_count": 3,
        "params": {"lr": "0.05", "layers": "[64, 32]"},
        "metrics": [MetricPoint("loss", 1.0 / (s + 1), s, now - 1000 + s) for s in range(4)]
        + [MetricPoint("val_acc", 0.91)],
        "tags": {"team": "vision"},
        "datasets": [
            DataRecord(
                name="df",
                context="input",
                kind="dataframe",
                fingerprint="0f" * 16,
                source="variable:df",
                shape=[100, 2],
                schema=[{"name": "x", "dtype": "float64"}, {"name": "y", "dtype": "int64"}],
                size_bytes=1600,
            ),
        ],
        "environment": Environment("3.11.2", {"numpy": "2.0.0"}, GitState("ab" * 20, "main", True)),
        "outcome": Outcome("FINISHED", now - 2000, now),
    }
    values.update(fields)
    return RunRecord(**values)


def rewrite_entry(
    entry: Path, drop: tuple[str, ...] = (), replace: dict[str, str] | None = None
) -> None:
    """Rewrite a spooled entry in place: leave out ``drop``, change members in ``replace``."""
    import zipfile

    with zipfile.ZipFile(entry) as archive:
        members = {n: archive.read(n) for n in archive.namelist() if n not in drop}
    members.update({n: text.encode() for n, text in (replace or {}).items()})
    with zipfile.ZipFile(entry, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


DEFAULT_FILES = {"code/cell.py": "lr = 0.05\n", "env/requirements.txt": "numpy==2.0.0\n"}


@pytest.fixture
def make_record(spool: Spool) -> Callable[..., Path]:
    """``make_record(uri, files=None, **fields)``: stage and commit a record in ``spool``;
    returns its pending folder. ``files`` maps artifact paths to text or bytes."""

    def make(uri: str, files: dict[str, str | bytes] | None = None, **fields: Any) -> Path:
        staging = spool.stage(build_record(uri, **fields))
        for relpath, content in (DEFAULT_FILES if files is None else files).items():
            if isinstance(content, bytes):
                staging.write_bytes(relpath, content)
            else:
                staging.write_text(relpath, content)
        return staging.commit()

    return make

