"""The package's shape: no import cycle, no stage importing a later one, one home per rule.

Imports are read from the source with ``ast`` (lazy imports inside functions included, since
a cycle through them is a cycle all the same), so nothing here imports the package.
"""

from __future__ import annotations

import ast
import threading
from pathlib import Path

import pytest

from nbmlops import atomic_files, config

PACKAGE = Path(__file__).resolve().parent.parent / "nbmlops"

#: The stages of the flows, each building on those before it: a module may import its own
#: stage and earlier ones only. The registry's rules (registering a version, aliases and their
#: history, gates, promotion) need only MLflow and the record, and the sync process registers
#: versions with them, so models comes before sync. Monitoring's summaries and rules need only
#: data and the gates' grammar, and the kernel will summarise a model's training data when it
#: is registered, so monitor comes before track too. The kernel writes records into the spool
#: that sync owns, so sync comes before track. Modules at the top of the package (config,
#: store, record, redact, exceptions) come before every stage; the server and the CLI after
#: all of them. cli/ defines every command once; magics.py, the notebook's face of them,
#: stands outside the stages (as the package's __init__ does) and reads those definitions
#: from there. jobs is one stage in two halves, export and run, that never meet (JOB_HALVES
#: below).
STAGES = ["data", "models", "monitor", "sync", "track", "runs", "jobs", "reproduce", "assess",
          "panel", "server", "cli"]
BASE = {"config", "store", "record", "redact", "exceptions", "lean_imports", "papermill_cli",
        "regular_files", "atomic_files"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py") if "labextension" not in p.parts}


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The package's modules ``path`` imports (``from nbmlops.x import name`` counts as
    ``nbmlops.x.name`` when that is a module, else ``nbmlops.x``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
            names = [n if n in known else node.module for n in names]
        else:
            continue
        found.update(n for n in names if n in known)
    return found


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imports_of(path, known) - {name} for name, path in mods.items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_cycle_finder_finds_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_inside_the_package() -> None:
    # A package imports its submodules' package first, so "nbmlops.cli -> nbmlops.cli.sync"
    # and back through "nbmlops.cli" would be a cycle; it is not one when the submodule only
    # names siblings.
    assert find_cycle(graph()) is None


def stage_of(module: str) -> int | None:
    parts = module.split(".")
    if len(parts) < 2:
        return None
    if parts[1] in BASE:
        return -1
    return STAGES.index(parts[1]) if parts[1] in STAGES else None


def test_no_stage_imports_a_later_one() -> None:
    wrong = []
    for module, imported in graph().items():
        here = stage_of(module)
        if here is None:
            continue
        for other in imported:
            there = stage_of(other)
            if there is not None and there > here:
                wrong.append(f"{module} -> {other}")
    assert wrong == []


#: The two halves of the jobs stage. Exporting writes a job folder and running runs one: only
#: the folder on disk passes between them, so each imports the shared modules of
#: ``nbmlops.jobs`` (spec, schedule, pipeline graph, targets, overview) and never the other half,
#: and the shared modules import neither half.
JOB_HALVES = ("nbmlops.jobs.export", "nbmlops.jobs.run")


def half_of(module: str) -> str | None:
    return next((h for h in JOB_HALVES if module == h or module.startswith(h + ".")), None)


def crossings(edges: dict[str, set[str]]) -> list[str]:
    """The imports inside ``nbmlops.jobs`` that reach into a half other than their own."""
    wrong = []
    for module, imported in edges.items():
        if not (module == "nbmlops.jobs" or module.startswith("nbmlops.jobs.")):
            continue
        here = half_of(module)
        wrong += [f"{module} -> {other}" for other in sorted(imported)
                  if half_of(other) not in (None, here)]
    return sorted(wrong)


def test_the_crossing_finder_finds_each_kind() -> None:
    edges = {
        "nbmlops.jobs.export.folder": {"nbmlops.jobs.spec", "nbmlops.jobs.run.job"},
        "nbmlops.jobs.run.pipeline": {"nbmlops.jobs.run.job", "nbmlops.jobs.export"},
        "nbmlops.jobs.overview": {"nbmlops.jobs.run.uptodate"},
        "nbmlops.cli.jobs": {"nbmlops.jobs.export", "nbmlops.jobs.run"},
    }
    assert crossings(edges) == [
        "nbmlops.jobs.export.folder -> nbmlops.jobs.run.job",
        "nbmlops.jobs.overview -> nbmlops.jobs.run.uptodate",
        "nbmlops.jobs.run.pipeline -> nbmlops.jobs.export",
    ]


def test_export_and_run_import_only_the_shared_jobs_modules() -> None:
    assert {half_of(m) for m in graph()} >= {None, *JOB_HALVES}
    assert crossings(graph()) == []


def test_the_kernel_side_never_imports_mlflow_at_module_level() -> None:
    for name, path in modules().items():
        if stage_of(name) not in (-1, STAGES.index("data"), STAGES.index("track")):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
        names = {a.name for n in top if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module or "" for n in top if isinstance(n, ast.ImportFrom)}
        assert not {n for n in names if n.split(".")[0] == "mlflow"}, name


@pytest.mark.parametrize(
    ("explicit", "env", "configured", "expected"),
    [
        ("mine", "from-env", "from-pyproject", "mine"),
        (None, "from-env", "from-pyproject", "from-env"),
        (None, None, "from-pyproject", "from-pyproject"),
        (None, None, None, "notebooks/train.ipynb"),
    ],
)
def test_where_runs_go_has_one_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, explicit: str | None, env: str | None,
    configured: str | None, expected: str,
) -> None:
    root = tmp_path / "project"
    (root / "notebooks").mkdir(parents=True)
    table = f'[tool.nbmlops]\nexperiment = "{configured}"\n' if configured else ""
    (root / "pyproject.toml").write_text(f"[project]\nname = 'p'\n{table}")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    if env:
        monkeypatch.setenv(config.ENV_EXPERIMENT, env)
    else:
        monkeypatch.delenv(config.ENV_EXPERIMENT, raising=False)
    where = config.destination(root / "notebooks" / "train.ipynb", explicit)
    assert where.experiment == expected
    assert where.source_name == "notebooks/train.ipynb"
    assert where.root == root.resolve()
    assert where.tracking_uri == f"sqlite:///{root.resolve() / 'mlflow.db'}"


def test_a_job_hands_its_kernel_what_the_kernel_reads_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    where = config.destination(tmp_path / "nb.ipynb", "exp")
    env = config.job_kernel_env({}, where, tmp_path / "nb.ipynb", "nightly", ["lr", "seed"], "r1")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert config.job_context() == config.JobContext("nightly", "r1", frozenset({"lr", "seed"}))
    assert config.destination(tmp_path / "nb.ipynb").experiment == "exp"
    assert config.notebook_override() == str(tmp_path / "nb.ipynb")
    assert env["MLFLOW_TRACKING_URI"] == where.tracking_uri


def test_a_kernel_reads_the_jobs_run_from_the_file_written_once_the_run_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # nbmlops run starts the kernel while MLflow makes the job's run: a cell that ends first
    # waits for the id, which arrives in a file.
    handed = tmp_path / "parent-run"
    where = config.destination(tmp_path / "nb.ipynb", "exp")
    env = config.job_kernel_env({}, where, tmp_path / "nb.ipynb", "nightly", ["lr"], None,
                                parent_run_file=str(handed))
    assert config.ENV_PARENT_RUN_ID not in env
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    later = threading.Timer(0.3, lambda: atomic_files.write_atomic(handed, b"r7\n"))
    later.start()
    try:
        assert config.job_context().parent_run_id == "r7"
    finally:
        later.join()
    handed.write_text("someone else")  # read once: every cell of the kernel nests the same
    assert config.job_context().parent_run_id == "r7"


def test_an_empty_handoff_or_none_in_time_means_no_jobs_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty"
    empty.write_text("")
    assert config.handed_parent_run(str(empty)) is None  # the store could not be reached
    monkeypatch.setattr(config, "PARENT_RUN_WAIT_SECONDS", 0.1)
    assert config.handed_parent_run(str(tmp_path / "never")) is None
