"""The facts ``nbmlops assess`` judges a project by, gathered from disk and from MLflow.

Disk: the notebooks (tracked cells, execution order, feature code), git, job folders and the
crontab, tests, CI files, the ``[tool.nbmlops]`` table. MLflow: the newest runs (one ordered
page at a time, up to a limit), job runs, reproductions, and the model registry (models,
aliases, version tags, the runs versions came from).

Everything here is plain dataclasses (``dataclasses.asdict`` gives JSON); judging is
:mod:`nbmlops.assess.criteria`'s. MLflow is read under its own time limit: what could not be
read in time, or at all (a tracking server that is down), is said in
:attr:`Evidence.unchecked`, and the facts from disk stand on their own.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path, PurePath
from typing import Any, TypeVar

from nbmlops import config, regular_files, store
from nbmlops.assess import walk
from nbmlops.exceptions import AssessError, NbmlopsError
from nbmlops.redact import redact_value, strip_credentials
from nbmlops.track import cells as notebook_cells
from nbmlops.track import environment

MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024
MAX_SOURCE_BYTES = 1024 * 1024
#: Runs read to judge how runs are tracked: the newest, one page at a time.
DEFAULT_MAX_RUNS = 500
PAGE = 500
MAX_MODELS = 50
MAX_VERSIONS = 100  # per model, newest first
MAX_REPORT_CHECKS = 20  # versions whose run artifacts are listed for an evaluation report
MAX_NESTED_CHECKS = 3  # successful runs per job whose nested runs are searched for metrics
MAX_SCORING = 200  # the newest scoring runs read (a tracked cell that scored a batch)
DEFAULT_TIMEOUT = 20.0

#: Names of functions and modules that transform features (tests should cover them).
FEATURE_NAME = re.compile(
    r"feature|transform|preprocess|encod|clean|engineer|impute|normali[sz]|scal(e|ing)\b",
    re.I,
)
#: Values of the reproduction tags (nbmlops reproduce writes them).
SLICE_STALE = "stale"
REPRODUCED_OK = ("yes", "within-tolerance")
CI_FILES = (".gitlab-ci.yml", "Jenkinsfile", "azure-pipelines.yml", ".circleci/config.yml")


# -- the facts ------------------------------------------------------------------------------


@dataclass
class NotebookFacts:
    path: str  # relative to the project root, posix
    code_cells: int = 0
    tracked_cells: int = 0  # %%track cells (nbmlops.track.cells)
    expect_cells: int = 0  # ... whose line declares expectations (--expect)
    out_of_order: list[int] = field(default_factory=list)  # 1-based cells run before an earlier one
    feature_functions: list[str] = field(default_factory=list)
    in_git: bool | None = None  # None: no repository
    output: bool = False  # papermill's output of another notebook (an output, not a source)
    error: str | None = None


@dataclass
class GitFacts:
    repository: str | None = None  # the work tree's top folder; None: not in a repository
    commits: int = 0
    head: str | None = None
    not_in_git: list[str] = field(default_factory=list)  # notebooks and code git could add
    uncommitted: int = 0  # tracked files with changes
    error: str | None = None
    corrupt: str | None = None  # the .git git cannot read (relative to the root), if any


@dataclass
class JobRun:
    run_id: str
    status: str
    start_time: int | None  # ms since the epoch
    metrics: int = 0  # metrics logged by the job's run and its nested runs
    # What a scoring job's run did after its cells (nbmlops.monitor.history reads the same):
    alerts: int = 0  # alerts it raised
    decision: str | None = None  # about retraining: "retrain" | "hold"
    retrain_run: str | None = None  # the training job's run it started
    outcome: str | None = None  # what became of that retraining


@dataclass
class JobFacts:
    folder: str  # relative to the project root
    name: str
    notebook: str = ""
    cron: str | None = None
    timezone: str = "UTC"
    targets: list[str] = field(default_factory=list)
    installed: list[str] = field(default_factory=list)  # "cron", "github" where nbmlops sees it
    promote: bool = False  # job.yaml holds a promote: section (gated promotion after training)
    # A scoring job's job.yaml, as written (nbmlops.monitor.settings):
    monitor: bool = False  # monitor: is set
    alerts: bool = False  # alerts: names where alerts go
    retrain: str | None = None  # retrain: job: the training job drift runs
    shadow: str | None = None  # monitor: shadow: the alias also scored, never served
    error: str | None = None
    runs: list[JobRun] = field(default_factory=list)  # newest first
    period_start: int | None = None  # ms: the start of the schedule's last full period


@dataclass
class CodeFacts:
    test_files: list[str] = field(default_factory=list)
    feature_functions: list[str] = field(default_factory=list)  # "path:function"
    untested: list[str] = field(default_factory=list)  # feature functions no test names
    model_files: list[str] = field(default_factory=list)  # pickles lying in the project
    ci_files: list[str] = field(default_factory=list)
    ci_runs_jobs: list[str] = field(default_factory=list)  # CI files running `nbmlops run`
    ci_on_change: list[str] = field(default_factory=list)  # CI files triggered by pushes / PRs


@dataclass
class RunFacts:
    """What the newest runs of the store show (``read`` of them; ``more``: older ones exist)."""

    experiments: int = 0
    read: int = 0
    more: bool = False
    # Of the runs read, except jobs' parent runs:
    tracked: int = 0  # carry nbmlops' code sha: recorded by %%track (or a job)
    with_data: int = 0  # carry dataset inputs (data fingerprints)
    with_git: int = 0  # carry the git commit
    with_metrics: int = 0
    drift_checked: int = 0  # compared with the previous data (drift tag)
    expectations: int = 0  # checked against a declared schema
    users: dict[str, int] = field(default_factory=dict)
    notebooks: dict[str, int] = field(default_factory=dict)  # source name -> runs
    metric_notebooks: dict[str, int] = field(default_factory=dict)  # ... runs with metrics
    job_parents: int = 0  # parent runs of jobs and steps (counted in ``read`` only)
    candidates: int = 0  # a search's candidates, nested under its run (in ``read`` only)
    from_jobs: int = 0  # runs of a job (its parent run, or nested under one)
    stale: list[str] = field(default_factory=list)  # source names of runs with a stale slice
    reproduced: int = 0
    not_reproduced: int = 0

    @property
    def cells(self) -> int:
        """The runs read that record cells (every run but jobs' parent runs and searches'
        candidates)."""
        return self.read - self.job_parents - self.candidates


@dataclass
class ScoringFacts:
    """A scoring run: a tracked cell that loaded a registered version and predicted."""

    run_id: str
    model: str
    version: str  # "" when the run did not say
    training_run: str | None = None  # the run that trained that version, as the run names it
    compared: bool = False  # its batch was compared with the version's training data
    drifted: bool = False
    shadow: str | None = None  # the alias it also scored with, never served


@dataclass
class VersionFacts:
    version: str
    run_id: str | None = None
    aliases: list[str] = field(default_factory=list)
    user: str | None = None
    notebook: str | None = None
    from_job: bool = False
    code: bool = False  # the run (or the version's tags) names the code
    data: bool = False  # the run read fingerprinted data (or the tags name it)
    metrics: int = 0
    report: bool | None = None  # an evaluation report: None when not looked for
    gate_tags: list[str] = field(default_factory=list)
    rollback_tags: list[str] = field(default_factory=list)


@dataclass
class ModelFacts:
    name: str
    aliases: dict[str, str] = field(default_factory=dict)  # alias -> version
    versions: list[VersionFacts] = field(default_factory=list)  # newest first
    more_versions: bool = False


@dataclass
class Evidence:
    root: str
    generated_at: str
    tracking_uri: str = ""
    config: dict[str, Any] = field(default_factory=dict)  # the [tool.nbmlops] table
    drift_mode: str = "warn"
    gates: list[str] | None = None  # [tool.nbmlops] gates, agreed for every promotion
    notebooks: list[NotebookFacts] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)  # papermill output notebooks: not judged
    git: GitFacts = field(default_factory=GitFacts)
    jobs: list[JobFacts] = field(default_factory=list)
    code: CodeFacts = field(default_factory=CodeFacts)
    runs: RunFacts | None = None  # None: MLflow could not be read
    models: list[ModelFacts] | None = None  # None: the registry could not be read
    scoring: list[ScoringFacts] | None = None  # newest first; None: MLflow could not be read
    more_models: bool = False
    unchecked: list[str] = field(default_factory=list)  # what could not be checked, and why
    #: read | no store (nothing uploaded yet) | offline | timeout | unreachable | no uri
    mlflow: str = "read"
    mlflow_seconds: float = 0.0


# -- gathering ------------------------------------------------------------------------------


def gather(
    path: str | os.PathLike[str] | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_runs: int = DEFAULT_MAX_RUNS,
    mlflow: bool = True,
) -> Evidence:
    """The facts of the project at or above ``path`` (the working directory by default).

    ``timeout`` bounds the time spent reading MLflow (seconds); ``max_runs`` the newest runs
    read to judge how the project tracks. ``mlflow=False`` reads the disk only.
    """
    start = Path(path) if path is not None else Path.cwd()
    if not start.exists():
        raise AssessError(f"no such folder: {start}")
    if timeout <= 0 or max_runs < 1:
        raise AssessError("--timeout must be > 0 and --max-runs >= 1")
    root = config.project_root(start)
    ev = Evidence(root=str(root), generated_at=_now_iso())
    try:
        ev.config = config.project_config(root)
        ev.drift_mode = config.drift_mode(root)
    except NbmlopsError as e:
        ev.unchecked.append(f"settings: {e}")
    ev.gates = _gates(ev.config.get("gates"))
    try:
        ev.tracking_uri = config.tracking_uri(root)
    except NbmlopsError as e:
        ev.unchecked.append(f"MLflow: {e}")

    files = _walk(root, ev)
    # An output notebook repeats its source's cells: judged once, through the source.
    read = [(p, _notebook(root, p)) for p in files.notebooks]
    ev.outputs = [nb.path for _, nb in read if nb.output]
    files.notebooks = [p for p, nb in read if not nb.output]
    ev.notebooks = [nb for _, nb in read if not nb.output]
    ev.git, tracked_in_git = _git(root, files)
    for nb in ev.notebooks:
        nb.in_git = nb.path in tracked_in_git if ev.git.repository else None
    crontab = _cron_folders() if files.jobs else set()
    ev.jobs = [_job(root, folder, crontab) for folder in files.jobs]
    ev.code = _code(root, files, ev.notebooks)
    if mlflow and ev.tracking_uri:
        t = time.perf_counter()
        _mlflow(ev, Deadline(timeout), max_runs)
        ev.mlflow_seconds = round(time.perf_counter() - t, 3)
    elif ev.tracking_uri:
        ev.mlflow = "offline"
        ev.unchecked.append("MLflow: not read (--offline)")
    else:
        ev.mlflow = "no uri"
    return ev


def _gates(table: Any) -> list[str] | None:
    """``[tool.nbmlops] gates``: a list of gates for every model, or a table of model name
    (``"*"``: every model) to lists; as ``"gate"`` or ``"model: gate"`` lines."""
    if isinstance(table, list):
        return [str(g) for g in table] or None
    if isinstance(table, dict):
        found = [f"{model}: {g}" for model, gates in table.items()
                 for g in (gates if isinstance(gates, list) else [gates])]
        return found or None
    return None


def _now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


# -- disk -----------------------------------------------------------------------------------


_Files = walk.ProjectFiles


def _walk(root: Path, ev: Evidence) -> _Files:
    """The project's notebooks, code, tests, job folders and model files, in one walk."""
    found = walk.project_files(root)
    ev.unchecked += [f"files: {note}" for note in found.unwalked]
    return found


def _rel(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _notebook(root: Path, path: Path) -> NotebookFacts:
    facts = NotebookFacts(_rel(root, path))
    try:
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            facts.error = "too large to read"
            return facts
        nb = notebook_cells.read_json(path)
    except (OSError, NbmlopsError):
        facts.error = "unreadable"
        return facts
    facts.output = _is_output(nb, path)
    cells = notebook_cells.cells_of(nb)
    highest = 0
    for cell in cells:
        if cell.cell_type != "code":
            continue
        facts.code_cells += 1
        facts.feature_functions += [
            name for name in re.findall(r"^def\s+([A-Za-z]\w*)", cell.source, re.M)
            if FEATURE_NAME.search(name)
        ]
        count = cell.execution_count
        if count is not None:
            if count < highest:
                facts.out_of_order.append(cell.index + 1)
            highest = max(highest, count)
    tracked = notebook_cells.tracked(cells)
    facts.tracked_cells = len(tracked)
    facts.expect_cells = sum(bool(c.options and c.options.expect) for c in tracked)
    return facts


def _is_output(nb: dict[str, Any], path: Path) -> bool:
    """Whether the notebook is what papermill wrote when it executed another one: its
    metadata names this file as the output of a different input. A file renamed since, or
    executed in place, is a notebook of the project again."""
    run = (nb.get("metadata") or {}).get("papermill")
    if not isinstance(run, dict):
        return False
    made, source = run.get("output_path"), run.get("input_path")
    if not isinstance(made, str) or not isinstance(source, str):
        return False
    return PurePath(made).name == path.name != PurePath(source).name


def _code(root: Path, files: _Files, notebooks: list[NotebookFacts]) -> CodeFacts:
    facts = CodeFacts(test_files=[_rel(root, p) for p in files.tests],
                      model_files=[_rel(root, p) for p in files.models][:20])
    tests = "\n".join(_read_text(p) for p in files.tests)
    for path in files.python:
        module_is_features = bool(FEATURE_NAME.search(path.stem))
        for name in _functions(path):
            if name.startswith("_"):  # a private helper is tested through its caller
                continue
            if module_is_features or FEATURE_NAME.search(name):
                facts.feature_functions.append(f"{_rel(root, path)}:{name}")
    for nb in notebooks:
        facts.feature_functions += [f"{nb.path}:{name}" for name in nb.feature_functions]
    facts.untested = [
        f for f in facts.feature_functions
        if not re.search(rf"\b{re.escape(f.rsplit(':', 1)[1])}\b", tests)
    ]
    for ci in _ci_files(root):
        text = _read_text(ci)
        rel = _rel(root, ci)
        facts.ci_files.append(rel)
        if "nbmlops run" in text:
            facts.ci_runs_jobs.append(rel)
        if re.search(r"\b(push|pull_request|merge_request|merge_requests)\b", text):
            facts.ci_on_change.append(rel)
    return facts


def _ci_files(root: Path) -> Iterator[Path]:
    workflows = root / ".github" / "workflows"
    if workflows.is_dir():
        yield from sorted(p for p in workflows.iterdir() if p.suffix in (".yml", ".yaml"))
    for name in CI_FILES:
        if (root / name).is_file():
            yield root / name


def _read_text(path: Path) -> str:
    try:  # the first MB of a regular file: never a pipe or a device found by the walk
        return regular_files.read_text(path, MAX_SOURCE_BYTES, errors="replace", head=True)
    except OSError:
        return ""


def _functions(path: Path) -> list[str]:
    try:
        tree = ast.parse(_read_text(path))
    except (SyntaxError, ValueError):
        return []
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


# -- git ------------------------------------------------------------------------------------


def _git_lines(root: Path, *args: str) -> list[str]:
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, timeout=20,
                          check=False)
    if done.returncode != 0:
        raise OSError(done.stderr.decode(errors="replace").strip() or "git failed")
    text = done.stdout.decode("utf-8", errors="replace")
    return [line for line in text.split("\0" if "-z" in args else "\n") if line]


def _git(root: Path, files: _Files) -> tuple[GitFacts, set[str]]:
    """What git knows of the project, and the files it tracks (relative to ``root``)."""
    facts = GitFacts()
    tracked: set[str] = set()
    try:
        facts.repository = _git_lines(root, "rev-parse", "--show-toplevel")[0]
    except (OSError, IndexError, subprocess.SubprocessError) as e:
        if "safe.directory" in str(e):  # a repository git refuses to read for this user
            facts.error = " ".join(str(e).split())[:300]
        elif environment.is_corrupt(root):  # git calls it no repository: it is a broken one
            dot = environment.git_folder(root) or ".git"
            facts.corrupt = _rel(root, Path(dot))
            facts.error = (f"the git repository at {facts.corrupt} is corrupt: git cannot read "
                           f"it (look at {facts.corrupt}/HEAD, or clone it again)")
        return facts, tracked  # not a repository, or no git at all: both say "not versioned"
    try:
        tracked = set(_git_lines(root, "ls-files", "-z"))
        # Untracked and not ignored: a file .gitignore names is left out on purpose.
        addable = set(_git_lines(root, "ls-files", "-z", "--others", "--exclude-standard"))
        ours = [*files.notebooks, *files.python, *files.tests]
        facts.not_in_git = [r for r in (_rel(root, p) for p in ours) if r in addable]
        facts.uncommitted = len(_git_lines(root, "status", "--porcelain", "-z",
                                           "--untracked-files=no", "--", "."))
        head = _git_lines(root, "rev-parse", "--verify", "-q", "HEAD")
        facts.head = head[0] if head else None
        facts.commits = int(_git_lines(root, "rev-list", "--count", "HEAD")[0])
    except (OSError, IndexError, ValueError, subprocess.SubprocessError) as e:
        facts.error = " ".join(str(e).split())[:200]  # a repository without commits yet
    return facts, tracked


# -- jobs -----------------------------------------------------------------------------------


def _job(root: Path, folder: Path, crontab: set[Path]) -> JobFacts:
    import yaml

    from nbmlops.jobs import spec

    facts = JobFacts(_rel(root, folder), folder.name)
    try:
        raw = yaml.safe_load(regular_files.read_text(folder / spec.JOB_FILE))
        facts.promote = isinstance(raw, dict) and bool(raw.get("promote"))
        _watched(facts, raw)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        raw = None
    try:
        job = spec.load(folder)
    except NbmlopsError as e:
        facts.error = " ".join(str(e).split())[:300]
        if isinstance(raw, dict):  # what can still be read of a job.yaml this version refuses
            facts.name = str(raw.get("name") or facts.name)
            schedule = raw.get("schedule")
            facts.cron = (schedule.get("cron") if isinstance(schedule, dict) else None) or None
        return facts
    facts.name, facts.notebook = job.name, job.notebook
    facts.cron, facts.timezone = job.schedule.cron, job.schedule.timezone
    facts.targets = list(job.schedule.targets)
    facts.installed = (["cron"] if folder.resolve() in crontab else []) + (
        ["github"] if _in_github(root, folder, job.name) else [])
    facts.period_start = _period_start(facts.cron, facts.timezone)
    return facts


def _watched(facts: JobFacts, raw: Any) -> None:
    """What a job.yaml says about watching its scoring: read as written, so a section this
    version refuses still shows what the team set up."""
    if not isinstance(raw, dict):
        return
    monitor = raw.get("monitor")
    retrain = raw.get("retrain")
    facts.monitor = bool(monitor)
    facts.alerts = bool(raw.get("alerts"))
    job = retrain.get("job") if isinstance(retrain, dict) else None
    facts.retrain = str(job) if job else None
    shadow = monitor.get("shadow") if isinstance(monitor, dict) else None
    facts.shadow = str(shadow) if shadow else None


def _cron_folders() -> set[Path]:
    """The job folders of the user's crontab entries that nbmlops installed and are on."""
    from nbmlops.jobs.targets.cron import cron_entries

    try:
        return {e.folder.resolve() for e in cron_entries() if e.enabled}
    except Exception:  # no crontab command, an unreadable crontab: nothing installed as seen
        return set()


def _in_github(root: Path, folder: Path, name: str) -> bool:
    """Whether a workflow of the repository runs the job (its copied github target file)."""
    workflows = root / ".github" / "workflows"
    if not workflows.is_dir():
        return False
    marks = (f"nbmlops job {name}", f"nbmlops run {_rel(root, folder)}")
    return any(m in _read_text(p) for p in workflows.iterdir()
               if p.suffix in (".yml", ".yaml") for m in marks)


def _period_start(cron: str | None, tz: str) -> int | None:
    """The start of the schedule's last full period (ms): a job that ran successfully since
    then has not missed its last turn (the turn in progress may still be running)."""
    if not cron:
        return None
    try:
        from zoneinfo import ZoneInfo

        from croniter import croniter

        it = croniter(" ".join(cron.split()), datetime.now(ZoneInfo(tz)))
        it.get_prev(datetime)
        return int(it.get_prev(datetime).timestamp() * 1000)
    except Exception:  # an invalid expression: the job says so itself (nbmlops run)
        return None


# -- MLflow ---------------------------------------------------------------------------------


class Deadline:
    """The time left for reading MLflow."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()

    def passed(self) -> bool:
        return self.left() <= 0


class _OutOfTime(Exception):
    pass


T = TypeVar("T")


def _mlflow(ev: Evidence, deadline: Deadline, max_runs: int) -> None:
    uri = ev.tracking_uri
    where = strip_credentials(uri)
    if not store.exists(uri):
        ev.runs, ev.models, ev.scoring = RunFacts(), [], []  # no store: nothing uploaded yet
        ev.mlflow = "no store"
        return
    try:
        with store.fail_fast():
            client = store.client(uri)
            found = _timed(deadline, lambda: client.search_experiments(max_results=1000))
            ids = [e.experiment_id for e in found]
            ev.runs = _runs(client, ids, ev, deadline, max_runs)
            ev.models = _registry(client, ids, ev, deadline)
            ev.scoring = _scoring(client, ids, deadline)
    except _OutOfTime:
        ev.mlflow = "timeout"
        ev.unchecked.append(f"MLflow at {where}: the time limit of {deadline.seconds:g} s ran "
                            "out (raise it with --timeout)")
    except Exception as e:  # a server that is down, a store MLflow refuses
        message = str(getattr(e, "message", None) or e).replace(uri, where)
        message = redact_value(" ".join(message.split()))[:200]
        ev.mlflow = "unreachable"
        ev.unchecked.append(f"MLflow at {where} could not be read: {type(e).__name__}: {message}")


def _timed(deadline: Deadline, call: Callable[[], T]) -> T:
    if deadline.passed():
        raise _OutOfTime
    return call()


def _runs(
    client: Any, ids: list[str], ev: Evidence, deadline: Deadline, max_runs: int
) -> RunFacts:
    facts = RunFacts(experiments=len(ids))
    if not ids:
        return facts
    users: Counter[str] = Counter()
    notebooks: Counter[str] = Counter()
    metric_notebooks: Counter[str] = Counter()
    token = None
    while facts.read < max_runs:
        size = min(PAGE, max_runs - facts.read)
        page = _timed(deadline, partial(
            client.search_runs, ids, max_results=size, order_by=["attributes.start_time DESC"],
            page_token=token))
        for run in page:
            _count_run(facts, run, users, notebooks, metric_notebooks)
        token = page.token
        if not token:
            break
    facts.more = bool(token)
    facts.users, facts.notebooks = dict(users), dict(notebooks)
    facts.metric_notebooks = dict(metric_notebooks)
    _job_runs(client, ev, ids, deadline)
    found = _timed(deadline, lambda: client.search_runs(
        ids, filter_string=f"tags.`{store.SLICE_TAG}` = '{SLICE_STALE}'", max_results=50))
    facts.stale = sorted({r.data.tags.get(store.SOURCE_NAME_TAG, "?") for r in found})
    found = _timed(deadline, lambda: client.search_runs(
        ids, filter_string=f"tags.`{store.REPRODUCED_TAG}` LIKE '%'", max_results=200))
    verdicts = [r.data.tags.get(store.REPRODUCED_TAG, "") for r in found]
    facts.reproduced = sum(v in REPRODUCED_OK for v in verdicts)
    facts.not_reproduced = len(verdicts) - facts.reproduced
    return facts


def _count_run(facts: RunFacts, run: Any, users: Counter[str], notebooks: Counter[str],
               metric_notebooks: Counter[str]) -> None:
    tags = run.data.tags
    facts.read += 1
    if store.JOB_TAG in tags or store.STEP_TAG in tags:
        # A job's parent run (and a pipeline step's) holds no code of its own: its tracked
        # cells are nested under it.
        facts.job_parents += 1
        facts.from_jobs += 1
        return
    if store.CANDIDATE_OF_TAG in tags:
        # A candidate a search tried: its search cell's run holds the code, data and git.
        facts.candidates += 1
        return
    facts.tracked += store.CODE_SHA_TAG in tags
    inputs = getattr(getattr(run, "inputs", None), "dataset_inputs", None)
    facts.with_data += bool(inputs)
    facts.with_git += store.GIT_COMMIT_TAG in tags
    facts.with_metrics += bool(run.data.metrics)
    facts.drift_checked += store.DRIFT_TAG in tags
    facts.expectations += store.EXPECTATIONS_TAG in tags
    facts.from_jobs += store.PARENT_RUN_TAG in tags
    if store.USER_TAG in tags:
        users[tags[store.USER_TAG]] += 1
    source = tags.get(store.SOURCE_NAME_TAG)
    if source and store.JOB_TAG not in tags:
        notebooks[source] += 1
        if run.data.metrics:
            metric_notebooks[source] += 1


def _job_runs(client: Any, ev: Evidence, ids: list[str], deadline: Deadline) -> None:
    """The newest parent runs of each job, and the metrics their nested runs logged."""
    found = _timed(deadline, lambda: client.search_runs(
        ids, filter_string=f"tags.`{store.JOB_TAG}` LIKE '%'", max_results=PAGE,
        order_by=["attributes.start_time DESC"]))
    by_name: dict[str, list[JobRun]] = {}
    for run in found:
        name = run.data.tags.get(store.JOB_TAG, "")
        runs = by_name.setdefault(name, [])
        if len(runs) < 20:
            tags = run.data.tags
            runs.append(JobRun(run.info.run_id, run.info.status, run.info.start_time or None,
                               len(run.data.metrics), _alerts(tags.get(store.ALERTS_TAG)),
                               tags.get(store.RETRAIN_DECISION_TAG),
                               tags.get(store.RETRAIN_RUN_TAG),
                               tags.get(store.RETRAIN_OUTCOME_TAG)))
    # MLflow's filters have no IN for tags: one small query per job's newest successful runs.
    for runs in by_name.values():
        for r in [r for r in runs if r.status == "FINISHED"][:MAX_NESTED_CHECKS]:
            nested = _timed(deadline, partial(
                client.search_runs, ids,
                filter_string=f"tags.`{store.PARENT_RUN_TAG}` = '{r.run_id}'", max_results=100))
            r.metrics += sum(len(n.data.metrics) for n in nested)
    known = {j.name for j in ev.jobs}
    for job in ev.jobs:
        job.runs = by_name.get(job.name, [])
    for name, runs in by_name.items():  # jobs whose folder is elsewhere: runs still count
        if name not in known:
            ev.jobs.append(JobFacts(folder="", name=name, runs=runs,
                                    error="no job folder in this project"))


def _alerts(text: str | None) -> int:
    """How many alerts a job run's :data:`~nbmlops.store.ALERTS_TAG` lists."""
    import json

    try:
        found = json.loads(text or "[]")
    except ValueError:
        return 0
    return len(found) if isinstance(found, list) else 0


def _scoring(client: Any, ids: list[str], deadline: Deadline) -> list[ScoringFacts]:
    """The newest scoring runs: what each scored with, and whether its batch was compared
    with that version's training data."""
    if not ids:
        return []
    found = _timed(deadline, lambda: client.search_runs(
        ids, filter_string=f"tags.`{store.SCORED_WITH_MODEL_TAG}` LIKE '%'",
        max_results=MAX_SCORING, order_by=["attributes.start_time DESC"]))
    facts = []
    for run in found:
        tags = run.data.tags
        name = tags[store.SCORED_WITH_MODEL_TAG]
        drifted = tags.get(store.monitor_drifted_tag(name))
        facts.append(ScoringFacts(run.info.run_id, name,
                                  tags.get(store.SCORED_WITH_VERSION_TAG, ""),
                                  tags.get(store.SCORED_WITH_RUN_TAG), drifted is not None,
                                  drifted == "yes", tags.get(store.SHADOW_ALIAS_TAG)))
    return facts


def _registry(
    client: Any, ids: list[str], ev: Evidence, deadline: Deadline
) -> list[ModelFacts]:
    models: list[ModelFacts] = []
    token = None
    while len(models) < MAX_MODELS:
        page = _timed(deadline, partial(
            client.search_registered_models, max_results=min(100, MAX_MODELS - len(models)),
            page_token=token))
        for rm in page:
            aliases = getattr(rm, "aliases", None) or {}
            if isinstance(aliases, list):  # older clients: alias objects
                aliases = {a.alias: a.version for a in aliases}
            models.append(ModelFacts(rm.name, {str(k): str(v) for k, v in aliases.items()}))
        token = page.token
        if not token:
            break
    ev.more_models = bool(token)
    for model in models:
        _versions(client, ids, model, deadline)
    return models


def _versions(client: Any, ids: list[str], model: ModelFacts, deadline: Deadline) -> None:
    quoted = model.name.replace("'", "\\'")
    found = _timed(deadline, lambda: client.search_model_versions(
        f"name = '{quoted}'", max_results=MAX_VERSIONS, order_by=["version_number DESC"]))
    model.more_versions = bool(getattr(found, "token", None))
    by_run: dict[str, VersionFacts] = {}
    by_version: dict[str, list[str]] = {}
    for alias, version in model.aliases.items():  # versions found by a search omit them
        by_version.setdefault(version, []).append(alias)
    for mv in found:
        tags = dict(mv.tags or {})
        v = VersionFacts(str(mv.version), mv.run_id or None,
                         sorted(set(mv.aliases or []) | set(by_version.get(str(mv.version), []))))
        ours = [k for k in tags if k.startswith("nbmlops.")]
        v.code = any("code" in k for k in ours)
        v.from_job = any("job" in k for k in ours)  # registered by a scheduled run
        v.user = next((tags[k] for k in ours if "author" in k), None)
        v.metrics = sum("metric" in k for k in ours)
        v.data = any("data" in k or "fingerprint" in k for k in ours)
        v.gate_tags = sorted(k for k in tags if "gate" in k.lower())
        v.rollback_tags = sorted(k for k, val in tags.items()
                                 if "rollback" in k.lower() or "rollback" in str(val).lower())
        v.report = any("report" in k.lower() or "eval" in k.lower() for k in tags) or None
        model.versions.append(v)
        if v.run_id:
            by_run[v.run_id] = v
    runs = list(by_run)
    for i in range(0, len(runs), 100):
        clause = ", ".join(f"'{r}'" for r in runs[i:i + 100])
        for run in _timed(deadline, partial(
                client.search_runs, ids, filter_string=f"attributes.run_id IN ({clause})",
                max_results=100)):
            v = by_run[run.info.run_id]
            tags = run.data.tags
            v.user = v.user or tags.get(store.USER_TAG)
            v.notebook = tags.get(store.SOURCE_NAME_TAG)
            v.from_job = v.from_job or store.JOB_TAG in tags or store.PARENT_RUN_TAG in tags
            v.code = v.code or store.CODE_SHA_TAG in tags
            v.data = v.data or bool(getattr(getattr(run, "inputs", None), "dataset_inputs", None))
            v.metrics = max(v.metrics, len(run.data.metrics))
    for v in model.versions[:MAX_REPORT_CHECKS]:
        if v.report is None and v.run_id:
            v.report = _timed(deadline, partial(_has_report, client, v.run_id))


def _has_report(client: Any, run_id: str) -> bool:
    """Whether the run holds an evaluation report: a file or folder named like one at the top
    of its artifacts, or in a folder so named."""
    try:
        top = client.list_artifacts(run_id)
    except Exception:
        return False
    for info in top:
        name = info.path.rsplit("/", 1)[-1].lower()
        if "eval" in name or "report" in name:
            return True
    return False
