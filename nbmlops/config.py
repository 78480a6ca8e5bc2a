"""Every setting, and where a notebook's runs go.

Resolution order for every setting: environment variable, then ``[tool.nbmlops]`` in the
project's ``pyproject.toml``, then the built-in default. Reading the pyproject file is cached
by its modification time because this runs on every tracked cell.

Every ``NBMLOPS_*`` variable is read here, including those ``nbmlops run`` hands to the kernel
of a job (:func:`job_kernel_env` writes them, :func:`job_context` reads them back), and
:func:`destination` is the one answer to "where do this notebook's runs go?" that the
tracker, the panel, the sidebar's server and ``nbmlops run`` all ask.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from nbmlops import regular_files
from nbmlops.exceptions import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

#: Name fragments of assigned numeric scalars recorded as metrics (``[tool.nbmlops]
#: metric_patterns`` or the ``Track.metric_patterns`` trait replace them). Each is a shell-style
#: glob matched against the whole lower-cased name and against each ``_``-separated part.
DEFAULT_METRIC_PATTERNS = (
    "acc", "accuracy", "auc", "f1", "precision", "recall", "loss",
    "rmse", "mae", "mse", "r2", "score",
)

#: Source and experiment name of runs whose notebook is unknown (plain IPython).
UNKNOWN_NOTEBOOK = "<ipython>"

# What `nbmlops run` (or anyone who knows better) tells a kernel.
ENV_NOTEBOOK = "NBMLOPS_NOTEBOOK"  # the notebook the kernel runs
ENV_EXPERIMENT = "NBMLOPS_EXPERIMENT"  # the experiment its runs go to
ENV_JOB = "NBMLOPS_JOB"  # the job's name
ENV_JOB_PARAMS = "NBMLOPS_JOB_PARAMS"  # names of the parameters injected into the notebook
ENV_PARENT_RUN_ID = "NBMLOPS_PARENT_RUN_ID"  # the job's run: tracked cells nest under it
ENV_PARENT_RUN_FILE = "NBMLOPS_PARENT_RUN_FILE"  # or the file its id arrives in (empty: none)
ENV_SOURCE_NOTEBOOK = "NBMLOPS_SOURCE_NOTEBOOK"  # the notebook the job was exported from
ENV_SPOOL = "NBMLOPS_SPOOL"  # the spool folder (also what a scheduled job is handed)
ENV_RETRAIN = "NBMLOPS_RETRAIN"  # "defer": a scoring job decides, its scheduler retrains

KNOWN_KEYS = {
    "tracking_uri", "experiment", "ui_url", "metric_patterns", "spool", "autosync",
    "metric_directions", "strict",
    # promotion gates of registered models (nbmlops.models)
    "gates",
    # data checks (nbmlops.track.datachecks)
    "drift", "drift_psi", "drift_rows", "drift_nulls", "drift_alpha",
    # where a scoring job's alerts go when its job.yaml has no alerts: (nbmlops.monitor)
    "alerts",
}


def project_root(start: str | os.PathLike[str] | None = None) -> Path:
    """The nearest folder at or above ``start`` holding ``.git`` or ``pyproject.toml``.

    Falls back to ``start`` itself (the working directory by default).
    """
    here = Path(start or os.getcwd()).resolve()
    if here.is_file():
        here = here.parent
    for folder in (here, *here.parents):
        if (folder / ".git").exists() or (folder / "pyproject.toml").is_file():
            return folder
    return here


def project_config(root: Path) -> dict[str, Any]:
    """The ``[tool.nbmlops]`` table of ``root/pyproject.toml`` (empty when there is none)."""
    path = root / "pyproject.toml"
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        return {}
    return _read_tool_table(str(path), mtime)


@lru_cache(maxsize=32)
def _read_tool_table(path: str, mtime_ns: int) -> dict[str, Any]:
    try:
        text = regular_files.read_text(path)  # a pipe named pyproject.toml is refused
        table = tomllib.loads(text).get("tool", {}).get("nbmlops", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        reason = getattr(e, "strerror", None) or e
        raise ConfigError(f"cannot read [tool.nbmlops] from {path}: {reason}") from None
    unknown = set(table) - KNOWN_KEYS
    if unknown:
        raise ConfigError(
            f"unknown key(s) in [tool.nbmlops] of {path}: {', '.join(sorted(unknown))}"
        )
    return dict(table)


def tracking_uri(root: Path) -> str:
    """``MLFLOW_TRACKING_URI``, else ``tracking_uri`` in ``[tool.nbmlops]``, else the embedded
    sqlite store ``<root>/mlflow.db``."""
    uri = os.environ.get("MLFLOW_TRACKING_URI") or project_config(root).get("tracking_uri")
    if uri:
        return _absolute_sqlite(str(uri), root)
    return f"sqlite:///{root / 'mlflow.db'}"


def store_uri(uri: str | None = None, root: Path | None = None) -> str:
    """Where runs go when no notebook says: ``uri`` as given (a ``--tracking-uri``, a job's
    ``tracking_uri``), else :func:`tracking_uri` of ``root`` (None: the working directory's
    project, looked for only then)."""
    return uri or tracking_uri(project_root() if root is None else root)


def _absolute_sqlite(uri: str, root: Path) -> str:
    # A relative sqlite path would resolve against whichever process syncs the record.
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri.startswith(prefix + "/"):
        return prefix + str((root / uri[len(prefix):]).resolve())
    return uri


def ui_url(root: Path, uri: str) -> str | None:
    """Base address of an MLflow UI for links: ``NBMLOPS_UI_URL``, ``ui_url`` in the project's
    config, the tracking server itself when the tracking URI is ``http(s)``, else the
    ``mlflow ui`` the sidebar started for this store, while it runs."""
    url = os.environ.get("NBMLOPS_UI_URL") or project_config(root).get("ui_url")
    if url:
        return str(url).rstrip("/")
    if uri.startswith(("http://", "https://")):
        return uri.rstrip("/")
    return managed_ui_url(root, uri)


#: Written in the spool folder by the server extension when it starts ``mlflow ui`` for a
#: project's store: ``{"tracking_uri", "url", "pid"}``.
MANAGED_UI_FILE = "mlflow-ui.json"


def managed_ui_url(root: Path, uri: str, key: str = "url") -> str | None:
    """The address of the ``mlflow ui`` started for ``uri``, if it still runs (``key="link"``:
    the Jupyter server's lasting route to it, when the server noted one)."""
    try:
        info = json.loads((spool_dir(root) / MANAGED_UI_FILE).read_text())
        if info["tracking_uri"] != uri:
            return None
        os.kill(int(info["pid"]), 0)  # raises when the process is gone
        return str(info[key]) if info.get(key) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def lasting_ui_url(root: Path, uri: str) -> str | None:
    """:func:`ui_url` for links that are kept (status lines saved in notebooks): the managed
    ``mlflow ui`` listens on a port of the day, so they name the Jupyter server's route that
    sends the browser to whichever UI serves the store when the link is followed."""
    url = ui_url(root, uri)
    if url is not None and url == managed_ui_url(root, uri):
        return managed_ui_url(root, uri, "link") or url
    return url


def max_mlflow_uis() -> int:
    """How many ``mlflow ui`` the server extension keeps running at once (each holds a few
    hundred MB): ``NBMLOPS_MAX_UIS``, else 3; the least recently used one stops first."""
    try:
        return max(1, int(os.environ.get("NBMLOPS_MAX_UIS", "3")))
    except ValueError:
        return 3


#: MLflow 3's UI opens on its GenAI view unless a link asks for the model-training one.
UI_TRAINING_VIEW = "workflowType=machine_learning"


def run_url(ui: str | None, experiment_id: str, run_id: str) -> str | None:
    """A run's page in the MLflow UI at ``ui``, in the model-training view."""
    if not ui:
        return None
    return f"{ui}/#/experiments/{experiment_id}/runs/{run_id}?{UI_TRAINING_VIEW}"


def experiment_url(ui: str | None, experiment_id: str) -> str | None:
    """An experiment's runs in the MLflow UI at ``ui``, in the model-training view."""
    return f"{ui}/#/experiments/{experiment_id}/runs?{UI_TRAINING_VIEW}" if ui else None


def metric_patterns(root: Path) -> tuple[str, ...]:
    """Which variable names a tracked cell records as metrics: ``metric_patterns`` in
    ``[tool.nbmlops]`` (globs), else :data:`DEFAULT_METRIC_PATTERNS`."""
    patterns = project_config(root).get("metric_patterns")
    if patterns is None:
        return DEFAULT_METRIC_PATTERNS
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        raise ConfigError("[tool.nbmlops] metric_patterns must be a list of strings")
    return tuple(patterns)


def metric_directions(root: Path) -> dict[str, str]:
    """``[tool.nbmlops] metric_directions``: metric names or globs -> ``"min"`` / ``"max"``,
    for metrics whose name does not tell which value is better (the compare panel)."""
    table = project_config(root).get("metric_directions") or {}
    if not isinstance(table, dict) or not all(
        isinstance(v, str) and v.lower() in ("min", "max") for v in table.values()
    ):
        raise ConfigError(
            '[tool.nbmlops] metric_directions must map metric names to "min" or "max"'
        )
    return {str(k): str(v).lower() for k, v in table.items()}


def gates(root: Path, model: str) -> list[str]:
    """The gates every promotion of ``model`` must pass, as a team agreed them once in
    ``[tool.nbmlops.gates]``: a list applies to every model; a table maps model names (and
    ``"*"``, every model) to lists. ``%mlops promote --gate`` adds to them."""
    table = project_config(root).get("gates")
    if table is None:
        return []
    bad = ConfigError('[tool.nbmlops] gates must be a list of gates ("auc >= champion") or '
                      'a table of model name (or "*") to such lists')
    lists = [table.get("*", []), table.get(model, [])] if isinstance(table, dict) else [table]
    found: list[str] = []
    for item in lists:
        if not isinstance(item, list) or not all(isinstance(g, str) for g in item):
            raise bad
        found.extend(item)
    return found


def spool_dir(root: Path | None = None) -> Path:
    """Where records wait for upload: ``NBMLOPS_SPOOL``, else ``spool`` in the project's
    config, else the user's data folder (outside any repository, so git never sees it)."""
    env = os.environ.get(ENV_SPOOL)
    if env:
        return Path(env).expanduser()
    configured = project_config(root).get("spool") if root else None
    if configured:
        return (root / str(configured)).resolve() if root else Path(str(configured))
    import platformdirs

    return Path(platformdirs.user_data_dir("nbmlops", appauthor=False)) / "spool"


def autosync(root: Path) -> bool:
    """Whether a tracked cell starts the background sync process (``NBMLOPS_AUTOSYNC=0`` or
    ``autosync = false`` keeps records in the spool until ``nbmlops sync``)."""
    env = os.environ.get("NBMLOPS_AUTOSYNC")
    if env is not None:
        return env.strip().lower() not in {"0", "false", "no", "off"}
    return bool(project_config(root).get("autosync", True))


def strict(root: Path) -> bool:
    """Whether a tracked cell whose inputs are stale fails before its code runs
    (``NBMLOPS_STRICT=1`` or ``strict = true`` in ``[tool.nbmlops]``; ``%%track --strict``
    asks it for one cell)."""
    env = os.environ.get("NBMLOPS_STRICT")
    if env is not None:
        return env.strip().lower() in {"1", "true", "yes", "on"}
    value = project_config(root).get("strict", False)
    if not isinstance(value, bool):
        raise ConfigError(f"[tool.nbmlops] strict must be true or false (got {value!r})")
    return value


DRIFT_MODES = ("off", "warn", "fail")
#: ``[tool.nbmlops]`` key -> (field of ``nbmlops.data.drift.Thresholds``, default): the one home
#: of these defaults, which ``Thresholds`` takes too.
DRIFT_THRESHOLDS = {
    "drift_psi": ("psi", 0.2),
    "drift_rows": ("rows", 0.5),
    "drift_nulls": ("nulls", 0.05),
    "drift_alpha": ("alpha", 0.001),
}


def drift_mode(root: Path) -> str:
    """What a tracked cell does when its data drifted from the cell's previous successful
    run: ``NBMLOPS_DRIFT``, else ``drift`` in ``[tool.nbmlops]``, else ``"warn"``
    (``off``: no comparison; ``fail``: the cell fails after its code ran)."""
    mode = os.environ.get("NBMLOPS_DRIFT") or project_config(root).get("drift") or "warn"
    mode = str(mode).strip().lower()
    if mode not in DRIFT_MODES:
        raise ConfigError(f"drift mode must be one of off, warn, fail (got {mode!r})")
    return mode


def drift_thresholds(root: Path) -> dict[str, float]:
    """Thresholds of the drift comparison (``drift_psi``, ``drift_rows``, ``drift_nulls``,
    ``drift_alpha`` in ``[tool.nbmlops]``), by ``Thresholds`` field name."""
    table = project_config(root)
    out = {}
    for key, (name, default) in DRIFT_THRESHOLDS.items():
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ConfigError(f"[tool.nbmlops] {key} must be a number >= 0 (got {value!r})")
        out[name] = float(value)
    return out


def alert_entries(root: Path) -> list[Any]:
    """``[tool.nbmlops.alerts]``: the alert targets of every scoring job whose job.yaml names
    none, as job.yaml's ``alerts:`` list (``nbmlops.monitor.alerts`` reads them). A table
    (``webhook = "..."``, ``email = {...}``) is one target per kind; ``[[tool.nbmlops.alerts]]``
    a list of them."""
    entries = project_config(root).get("alerts")
    if entries is None:
        return []
    if isinstance(entries, dict):
        return [{kind: value} for kind, value in entries.items()]
    if not isinstance(entries, list):
        raise ConfigError("[tool.nbmlops] alerts must be a table of webhook, email and "
                          "command, or a list of such tables")
    return entries


def retrain_mode() -> str:
    """``NBMLOPS_RETRAIN``: ``run`` (the default: a scoring job whose policy fires runs the
    training job itself) or ``defer`` (it records the decision; an orchestrator's DAG starts
    the training)."""
    mode = os.environ.get(ENV_RETRAIN, "").strip().lower() or "run"
    if mode not in ("run", "defer"):
        raise ConfigError(f"{ENV_RETRAIN} must be run or defer (got {mode!r})")
    return mode


# -- where a notebook's runs go ---------------------------------------------------------------


@dataclass(frozen=True)
class Destination:
    """Where the runs of one notebook go."""

    root: Path  # the project root: pyproject.toml and the embedded store live here
    tracking_uri: str
    experiment: str
    source_name: str  # the notebook as runs name it (``mlflow.source.name``)

    @property
    def ui_url(self) -> str | None:
        return ui_url(self.root, self.tracking_uri)


def destination(
    notebook: str | os.PathLike[str] | None,
    experiment: str | None = None,
    *,
    uri: str | None = None,
) -> Destination:
    """Where the runs of ``notebook`` (None: unknown, the working directory's project) go.

    The experiment is the first of: ``experiment`` (``%%track --experiment``, a job's
    ``experiment:``), ``NBMLOPS_EXPERIMENT``, ``experiment`` in ``[tool.nbmlops]``, the
    notebook's path relative to the project root. The store is ``uri`` (a job's), else
    :func:`tracking_uri`.
    """
    path = os.fspath(notebook) if notebook else None
    root = project_root(Path(path).parent if path else None)
    source = source_name(path, root)
    chosen = experiment or chosen_experiment(root) or source
    store = _absolute_sqlite(store_uri(uri, root), root)  # a job's relative sqlite: the project's
    return Destination(root=root, tracking_uri=store, experiment=chosen, source_name=source)


def chosen_experiment(root: Path) -> str | None:
    """The experiment every notebook of the project uses when one is chosen:
    ``NBMLOPS_EXPERIMENT``, else ``experiment`` in ``[tool.nbmlops]``."""
    configured = str(project_config(root).get("experiment") or "")
    return os.environ.get(ENV_EXPERIMENT) or configured or None


def source_name(notebook: str | None, root: Path) -> str:
    """The notebook as runs name it: relative to ``root`` (posix) when inside it, absolute
    otherwise, ``"<ipython>"`` when unknown."""
    if not notebook:
        return UNKNOWN_NOTEBOOK
    path = Path(os.path.normpath(notebook))  # jobs/x/../../a.ipynb is a.ipynb
    try:
        pairs = [(path, root), (path.resolve(), root.resolve())]
    except (OSError, RuntimeError):
        pairs = [(path, root)]
    for candidate, base in pairs:
        try:
            return candidate.relative_to(base).as_posix()
        except ValueError:
            continue
    return path.as_posix()


# -- what a job tells its kernel ----------------------------------------------------------------


def notebook_override() -> str | None:
    """``NBMLOPS_NOTEBOOK``: the notebook the kernel runs, when someone knows better than
    the kernel's own discovery."""
    return os.environ.get(ENV_NOTEBOOK) or None


@dataclass(frozen=True)
class JobContext:
    """What ``nbmlops run`` told this kernel (empty outside a job)."""

    name: str | None = None
    parent_run_id: str | None = None
    params: frozenset[str] = frozenset()
    source_notebook: str | None = None  # project-relative: the notebook's sidebar finds the run


def job_context() -> JobContext:
    names = os.environ.get(ENV_JOB_PARAMS, "")
    handed = os.environ.get(ENV_PARENT_RUN_FILE)
    return JobContext(
        name=os.environ.get(ENV_JOB) or None,
        parent_run_id=(os.environ.get(ENV_PARENT_RUN_ID)
                       or (handed_parent_run(handed) if handed else None)),
        source_notebook=os.environ.get(ENV_SOURCE_NOTEBOOK) or None,
        params=frozenset(n for n in names.split(",") if n),
    )


#: How long a job's kernel waits, when it records a cell, for the job's run to be made.
PARENT_RUN_WAIT_SECONDS = 120.0


@lru_cache(maxsize=4)
def handed_parent_run(path: str) -> str | None:
    """The job's run id from the file ``nbmlops run`` writes once MLflow has made the run;
    the kernel starts meanwhile, and waits here only if its first tracked cell ends before
    that (empty file: the job has no run, its cells upload without one). Read once."""
    deadline = time.monotonic() + PARENT_RUN_WAIT_SECONDS
    while True:
        try:
            return Path(path).read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            if time.monotonic() > deadline:
                return None
            time.sleep(0.02)
        except OSError:
            return None


def job_kernel_env(
    base: dict[str, str],
    where: Destination,
    notebook: str | os.PathLike[str],
    job: str,
    params: Iterable[str],
    parent_run_id: str | None,
    source_notebook: str | None = None,
    parent_run_file: str | None = None,
) -> dict[str, str]:
    """``base`` plus what the kernel of a job needs to record its cells where the job's run
    is: the store, the experiment, the notebook, the parent run (its id, or the file it will
    arrive in) and the injected parameters (hoisted out of the cells, so the cells' literals
    no longer show them)."""
    env = {
        **base,
        "MLFLOW_TRACKING_URI": where.tracking_uri,
        ENV_NOTEBOOK: os.fspath(notebook),
        ENV_JOB: job,
        ENV_JOB_PARAMS: ",".join(params),
        ENV_EXPERIMENT: where.experiment,
    }
    for key, value in ((ENV_PARENT_RUN_ID, parent_run_id),
                       (ENV_PARENT_RUN_FILE, parent_run_file),
                       (ENV_SOURCE_NOTEBOOK, source_notebook)):
        if value:
            env[key] = value
        else:
            env.pop(key, None)
    return env


# -- the sync process and caches ----------------------------------------------------------------


def env_seconds(name: str, default: float) -> float:
    """A duration from the environment (``NBMLOPS_SYNC_IDLE``, ``NBMLOPS_SYNC_MAX_BACKOFF``);
    ``default`` when unset or not a number."""
    try:
        return float(os.environ[name])
    except (KeyError, ValueError):
        return default


def fingerprint_cache_dir() -> str | None:
    """Where file fingerprints are cached: ``NBMLOPS_CACHE``, else the user's cache folder
    (None when neither is known)."""
    folder = os.environ.get("NBMLOPS_CACHE")
    if folder:
        return os.path.expanduser(folder)
    try:
        import platformdirs

        return str(platformdirs.user_cache_dir("nbmlops", appauthor=False))
    except Exception:
        return None
