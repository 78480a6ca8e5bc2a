"""The MLflow contract, and the one way nbmlops opens MLflow.

The names below are what a run written by :mod:`nbmlops.sync.upload` (or by ``nbmlops run``)
holds and what :mod:`nbmlops.runs` and the sidebar read back: one constant each, so writer and
readers cannot drift apart. A person who knows MLflow finds everything where MLflow puts it:
the notebook in ``mlflow.source.name``, data versions as dataset inputs, the code as an
artifact.

:func:`client` opens a tracking store. A ``sqlite:///`` store that does not exist yet is not
created by reading it (MLflow would create and migrate an empty one): :func:`exists` tells, and
:func:`client` raises :class:`~nbmlops.exceptions.StoreNotFound` unless asked to create it;
then it is built whole or not at all.
mlflow is imported only when a client is made.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from nbmlops.exceptions import QueryError, StoreNotFound
from nbmlops.redact import strip_credentials

if TYPE_CHECKING:
    from mlflow import MlflowClient

# -- run tags: MLflow's own -----------------------------------------------------------------
SOURCE_NAME_TAG = "mlflow.source.name"
SOURCE_TYPE_TAG = "mlflow.source.type"
SOURCE_TYPE_NOTEBOOK = "NOTEBOOK"
GIT_COMMIT_TAG = "mlflow.source.git.commit"
GIT_BRANCH_TAG = "mlflow.source.git.branch"
GIT_REPO_TAG = "mlflow.source.git.repoURL"
USER_TAG = "mlflow.user"
PARENT_RUN_TAG = "mlflow.parentRunId"
RUN_NAME_TAG = "mlflow.runName"

#: MLflow refuses longer experiment names (mlflow.utils.validation): a cell must be told
#: before it runs, not its record refused later.
MAX_EXPERIMENT_NAME = 500
#: The longest tag value nbmlops writes, on a run or a model version: MLflow's limit for a run
#: tag (``MAX_TAG_VAL_LENGTH``, the ``tags.value`` column). A model version's may hold more
#: (100,000; a TEXT column in every MLflow 3 we support), so one cut fits both.
MAX_TAG_VALUE = 8000

# -- experiment tags --------------------------------------------------------------------------
#: What an experiment holds; MLflow's UI reads it to choose between its GenAI and its
#: model-training views (the links nbmlops prints also ask for the latter, see config.run_url).
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND_TRAINING = "custom_model_development"

# -- run tags: nbmlops' ---------------------------------------------------------------------
SESSION_TAG = "nbmlops.session"  # the kernel session: the runs of one notebook execution
RECORD_ID_TAG = "nbmlops.record_id"  # the spooled record a run came from: exactly-once uploads
CODE_SHA_TAG = "nbmlops.code_sha"
CELL_ID_TAG = "nbmlops.cell_id"
NOTEBOOK_TAG = "nbmlops.notebook"
EXECUTION_COUNT_TAG = "nbmlops.execution_count"
PYTHON_TAG = "nbmlops.python"
GIT_DIRTY_TAG = "nbmlops.git.dirty"
DURATION_TAG = "nbmlops.duration_s"
ERROR_TYPE_TAG = "nbmlops.error_type"
ERROR_MESSAGE_TAG = "nbmlops.error_message"
WARNINGS_TAG = "nbmlops.warnings"  # what nbmlops could not capture of the run
DRIFT_TAG = "nbmlops.drift"  # one-line summary of the data checks' findings, "none" if none
SCHEMA_CHANGE_TAG = "nbmlops.schema_change"
DRIFT_BASELINE_TAG = "nbmlops.drift_baseline"
EXPECTATIONS_TAG = "nbmlops.expectations"
# where the parameters came from (comma-separated names), and what did not fit
PARAMS_INJECTED_TAG = "nbmlops.params.injected"  # papermill or `nbmlops run` injected them
PARAMS_EARLIER_TAG = "nbmlops.params.earlier"  # set by earlier cells, read by this one
PARAMS_CHANGED_TAG = "nbmlops.params.changed"  # read, then rebound: the value it ended with
PARAMS_OMITTED_TAG = "nbmlops.params.omitted"  # how many estimator parameters were left out
#: ``nbmlops.direction.<metric>`` = min | max: which value is better, as the code that computed
#: the metric says (``score = mean_squared_error(...)``: min); absent when only the name tells.
DIRECTION_TAG_PREFIX = "nbmlops.direction."
# the code slice and reproductions (nbmlops.track.slice, nbmlops.reproduce)
SLICE_TAG = "nbmlops.slice"  # clean | stale | unsure
SLICE_REASONS_TAG = "nbmlops.slice.reasons"  # why stale or unsure, one reason a line
REPRODUCES_TAG = "nbmlops.reproduces"  # on a reproduction: the run it reproduces
REPRODUCED_TAG = "nbmlops.reproduced"  # on the original: yes | within-tolerance | no
REPRODUCED_YES, REPRODUCED_WITHIN, REPRODUCED_NO = "yes", "within-tolerance", "no"
REPRODUCED_RUN_TAG = "nbmlops.reproduced.run"  # on the original: the reproduction's run id
REPRODUCED_DIFF_TAG = "nbmlops.reproduced.differences"  # what differed, one a line
# a job's parent run
JOB_TAG = "nbmlops.job"
JOB_ERROR_TAG = "nbmlops.error"
JOB_ATTEMPTS_TAG = "nbmlops.attempts"
JOB_OUTPUT_TAG = "nbmlops.job.output"  # the output notebook, relative to the job folder
PIPELINE_TAG = "nbmlops.pipeline"  # a pipeline step's run: the pipeline (job) it is part of
STEP_TAG = "nbmlops.step"  # ... and the step's name; its tracked cells nest under it
STEP_SKIPPED_TAG = "nbmlops.step.skipped"  # "up to date" when the step did not run
STEP_REUSES_TAG = "nbmlops.step.reuses"  # the run whose results a skipped step reuses
# On job, step and job-cell runs: the notebook they were exported from (project-relative), so
# that notebook finds them whatever experiment they went to.
SOURCE_NOTEBOOK_TAG = "nbmlops.source_notebook"
NOTE_TAG = "mlflow.note.content"  # the run's description in the MLflow UI

# -- dataset inputs -------------------------------------------------------------------------
DATA_CONTEXT_TAG = "mlflow.data.context"  # "input", "output" or "input,output"
DATA_KIND_TAG = "nbmlops.kind"  # dataframe, series, ndarray, file, ...
DATA_FINGERPRINT_TAG = "nbmlops.fingerprint"  # the whole fingerprint when the digest is cut
DATA_VARIABLE_TAG = "nbmlops.variable"  # the dataset's source tag: the variable's name
DATA_SCHEMA_TAG = "nbmlops.schema"  # a schema too long for the entry: what it holds, where all is
INPUT = "input"
OUTPUT = "output"

# -- artifacts ------------------------------------------------------------------------------
CODE_ARTIFACT = "code/cell.py"
SLICE_ARTIFACT = "code/slice.py"  # the statements the cell's inputs came from, then the cell
SLICE_NOTEBOOK_ARTIFACT = "code/slice.ipynb"  # the same, with a papermill parameters cell
SCRIPTS_FOLDER = "code/scripts"  # files run with %run, by their project-relative names
REQUIREMENTS_ARTIFACT = "env/requirements.txt"
GIT_DIFF_ARTIFACT = "env/git.diff"
TRACEBACK_ARTIFACT = "error/traceback.txt"
DRIFT_ARTIFACT = "data/drift.json"
EXPECTATIONS_ARTIFACT = "data/expectations.json"
FIGURES_FOLDER = "figures"
JOB_OUTPUT_FOLDER = "output"  # a job's executed notebook

MODEL_SUMMARY_FOLDER = "model"  # a Keras model's layer summary, beside the run's figures


def model_summary_artifact(name: str) -> str:
    """Where a Keras model's layer summary is kept: ``model/<variable>-summary.txt``."""
    return f"{MODEL_SUMMARY_FOLDER}/{name}-summary.txt"


#: What each figure's title said (``{name: title}``): a title that holds a value (``rmse=55.8``)
#: is a caption, never a name, so the same figure lines up across runs.
FIGURE_CAPTIONS_ARTIFACT = f"{FIGURES_FOLDER}/captions.json"
#: An interactive figure's own description, kept by the kernel (fast); the sync process makes
#: its HTML page and, where a renderer is installed, its PNG beside it.
PLOTLY_SUFFIX = ".plotly.json"
VEGA_LITE_SUFFIX = ".vega-lite.json"


def figure_artifact(name: str, suffix: str = ".png") -> str:
    return f"{FIGURES_FOLDER}/{name}{suffix}"


def search_results_artifact(name: str) -> str:
    """Where a hyperparameter search's table of candidates (``cv_results_``) is kept."""
    return f"search/{name}-cv_results.csv"


CANDIDATE_RANK_TAG = "nbmlops.candidate.rank"  # a search's candidate run: its rank (1 = best)
CANDIDATE_OF_TAG = "nbmlops.candidate.of"  # ... and the search's variable


# -- models (nbmlops.models.register writes them, the rest of nbmlops.models reads them) -----
CHAMPION = "champion"  # the alias of the model in service
CHALLENGER = "challenger"  # the alias of the version whose run ended last
#: Where a record keeps a ``%%track --model`` object in the spool: never uploaded as a plain
#: artifact; the sync process logs it as an MLflow model instead.
MODEL_SPOOL_FOLDER = "nbmlops-models"
EVALUATION_FOLDER = "evaluation"
# model version tags (the run, code sha and user are also MLflow's own fields of a version)
MODEL_RUN_TAG = "nbmlops.run_id"
MODEL_VARIABLE_TAG = "nbmlops.variable"
MODEL_DATA_TAG = "nbmlops.data"  # "name=fingerprint" per line: what it was trained on
MODEL_JOB_RUN_TAG = "nbmlops.job_run_id"  # the job run whose cell registered it
MODEL_AUTHOR_TAG = "nbmlops.author"
# run tags: the registered version a run scored with (nbmlops.load_model in a tracked cell)
SCORED_WITH_MODEL_TAG = "nbmlops.scored_with.model"
SCORED_WITH_VERSION_TAG = "nbmlops.scored_with.version"
SCORED_WITH_ALIAS_TAG = "nbmlops.scored_with.alias"
SCORED_WITH_RUN_TAG = "nbmlops.scored_with.run_id"
MODEL_METRIC_TAG_PREFIX = "nbmlops.metric."
MODEL_GATES_TAG = "nbmlops.gates"  # the last gate report's one-line summary
MODEL_RUN_ENDED_TAG = "nbmlops.run_ended"  # ms: which version is newest, whatever the sync order
MODEL_SIGNATURE_TAG = "nbmlops.signature"  # why a version has no signature (absent: it has one)
#: JSON list of the version's reigns under an alias: since, until, by, how, ended.
ALIAS_HISTORY_TAG_PREFIX = "nbmlops.alias_history."


def model_spool_path(variable: str, file: str) -> str:
    return f"{MODEL_SPOOL_FOLDER}/{variable}/{file}"


def alias_history_tag(alias: str) -> str:
    return f"{ALIAS_HISTORY_TAG_PREFIX}{alias}"


def monitoring_reference_artifact(name: str) -> str:
    """The training data's summary that scoring runs of model ``name`` are watched against,
    in the artifacts of the run that registered it (one version of a model per run)."""
    return f"monitor/{name}/reference.json"


def monitoring_predictions_artifact(name: str) -> str:
    """The model's predictions on its evaluation data, summarised beside its reference."""
    return f"monitor/{name}/predictions.json"


def monitor_prediction_drifted_tag(name: str) -> str:
    """Run tag: whether the predictions a run made with model ``name`` drifted from the
    model's predictions on its evaluation data (yes / no)."""
    return f"nbmlops.monitor.{name}.prediction_drifted"


def metric_part(text: object) -> str:
    """``text`` as a part of a metric's name: MLflow takes letters, digits, ``_ - . /`` and
    spaces there, and its UI groups charts by ``/``, so anything else (``/`` too) becomes
    ``_``. Every ``monitor.MODEL.COLUMN...`` name is made with it."""
    return re.sub(r"[^\w\-. ]", "_", str(text))


def monitor_rows_tag(name: str) -> str:
    """Run tag: the batch's row count against the previous windows' (low / high / usual)."""
    return f"nbmlops.monitor.{name}.rows"


#: On the run that draws a scoring job's figures over time: ``JOB/MODEL``.
MONITOR_SERIES_TAG = "nbmlops.monitor.series"
#: ... and the index of the last scoring run logged on it.
MONITOR_SERIES_STEP_TAG = "nbmlops.monitor.series.last_step"


def monitor_drifted_tag(name: str) -> str:
    """Run tag: whether the batch a run scored with model ``name`` drifted (yes / no)."""
    return f"nbmlops.monitor.{name}.drifted"


def monitor_columns_tag(name: str) -> str:
    """Run tag: the columns of that batch that drifted."""
    return f"nbmlops.monitor.{name}.drifted_columns"


# A scoring job's own run (the parent of its tracked cells' runs): what monitoring did.
#: JSON list of the alerts the run raised: kind, title, and each target's delivery.
ALERTS_TAG = "nbmlops.alerts"
RETRAIN_DECISION_TAG = "nbmlops.retrain.decision"  # "retrain" or "hold"
RETRAIN_REASON_TAG = "nbmlops.retrain.reason"  # why, in one line
RETRAIN_RUN_TAG = "nbmlops.retrain.run_id"  # the training job's run it started
RETRAIN_OUTCOME_TAG = "nbmlops.retrain.outcome"  # "promoted NAME vN", "refused: ...", "failed: ..."
#: On the training job's run: the scoring job's run whose drift started it.
RETRAINED_FOR_TAG = "nbmlops.retrain.triggered_by"
ROLLBACK_TAG = "nbmlops.rollback"  # on the scoring job's run: what the rollback rule did
#: On the scoring job's run: the served version's live metrics in one line (labels joined).
LIVE_TAG = "nbmlops.live"
LIVE_ARTIFACT = "monitor/live.json"  # ... and all of them, per version and segment
#: On a version: its metrics measured live (served, or in shadow), as gates read them.
LIVE_METRIC_TAG_PREFIX = "nbmlops.live_metric."
LIVE_MEASURED_TAG = "nbmlops.live_measured"  # ... how, on how many labels, and when
# On a scoring run that also scored its batch with another version, never served.
SHADOW_MODEL_TAG = "nbmlops.shadow.model"
SHADOW_VERSION_TAG = "nbmlops.shadow.version"
SHADOW_ALIAS_TAG = "nbmlops.shadow.alias"


def predictions_artifact(name: str) -> str:
    """A scoring run's predictions of model ``name`` with their join key, segments and time
    (kept when its job waits for labels)."""
    return f"monitor/{name}/predictions.parquet"


def evaluation_artifact(name: str, version: str | int) -> str:
    """The evaluation report of one registered version, in its run's artifacts."""
    return f"{EVALUATION_FOLDER}/{name}-v{version}.json"


# -- opening MLflow -------------------------------------------------------------------------

#: MLflow retries a failing HTTP call 7 times with backoff over minutes; nbmlops has its own
#: retries (the sync process) or a user waiting (panel, sidebar, CLI), so it fails within
#: seconds. Nor may it print progress bars or "View run at" lines into a user's output.
FAIL_FAST_ENV = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
}

_SQLITE = "sqlite:///"


def sqlite_path(tracking_uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (None for other stores and ``:memory:``)."""
    if not tracking_uri.startswith(_SQLITE):
        return None
    path = tracking_uri[len(_SQLITE):].split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


def exists(tracking_uri: str) -> bool:
    """Whether there is a store to read: False only for a ``sqlite:///`` file not made yet
    (nothing was uploaded there); a server is taken to exist until a call says otherwise."""
    db = sqlite_path(tracking_uri)
    return db is None or db.is_file()


def client(tracking_uri: str, *, create: bool = False) -> MlflowClient:
    """The client of a tracking store, one per URI and process.

    Raises :class:`StoreNotFound` for a ``sqlite:///`` store that does not exist yet, unless
    ``create`` (only writers create stores). Use it inside :func:`fail_fast`, or in a process
    that applied :data:`FAIL_FAST_ENV` for good.
    """
    if not exists(tracking_uri):
        db = sqlite_path(tracking_uri)
        if not create or db is None:
            raise StoreNotFound(f"no MLflow store at {db}: nothing has been uploaded there yet")
        _create_sqlite(db)
    try:
        return _client(tracking_uri)
    except Exception as e:  # an unknown scheme, a malformed URI: MLflow's own long message
        safe = strip_credentials(tracking_uri)
        first = " ".join(str(e).replace(tracking_uri, safe).split())[:200]
        raise QueryError(f"cannot open the MLflow store {safe!r}: {first}") from None


def _create_sqlite(db: Path) -> None:
    """Make a new sqlite store at ``db`` so that a crash or a race cannot leave half of one.

    MLflow builds a store by running its migrations, which are not atomic on SQLite: a process
    killed meanwhile, or two processes building the same file, leave a store every later call
    rejects. So one process at a time (a lock beside the file) builds it under another name
    and renames it into place, complete.
    """
    import filelock

    db.parent.mkdir(parents=True, exist_ok=True)
    lock = db.with_name(f".{db.name}.lock")
    with filelock.FileLock(str(lock), timeout=300):
        if not db.is_file():  # else another process made it while we waited
            _build_aside(db)
        # Once the store exists the lock guards nothing (whoever takes it next finds the store
        # and returns), so it does not stay beside the user's store.
        lock.unlink(missing_ok=True)


def _build_aside(db: Path) -> None:
    for stale in db.parent.glob(f".{db.name}.*.creating*"):
        stale.unlink(missing_ok=True)  # a killed builder's file, and its sqlite journal
    aside = db.with_name(f".{db.name}.{os.getpid()}.creating")
    # MLflow says "Creating initial MLflow database tables..." on stderr, which lands in the
    # output of the cell or job that happened to upload first; making the store is no news.
    said = logging.getLogger("mlflow.store.db.utils")
    level = said.level
    said.setLevel(logging.WARNING)
    try:
        from mlflow import MlflowClient

        MlflowClient(tracking_uri=f"sqlite:///{aside}").search_experiments(max_results=1)
        os.replace(aside, db)
    finally:
        said.setLevel(level)
        aside.unlink(missing_ok=True)


@lru_cache(maxsize=16)
def _client(tracking_uri: str) -> MlflowClient:
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri)


@contextlib.contextmanager
def quiet_downloads() -> Iterator[None]:
    """No MLflow download progress bars while nbmlops fetches for a notebook cell (only the
    status line speaks in a cell), unless the user asked for them."""
    key = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"
    if key in os.environ:
        yield
        return
    os.environ[key] = "false"
    try:
        yield
    finally:
        os.environ.pop(key, None)


_env_lock = threading.Lock()
_env_users = 0
_env_added: list[str] = []


@contextlib.contextmanager
def fail_fast() -> Iterator[None]:
    """:data:`FAIL_FAST_ENV` while MLflow is called, where the user has not chosen otherwise.

    Reentrant and thread-safe (the server extension calls MLflow from several threads): the
    first caller in sets the variables, the last one out takes them away again.
    """
    global _env_users
    with _env_lock:
        if _env_users == 0:
            _env_added[:] = [k for k in FAIL_FAST_ENV if k not in os.environ]
            os.environ.update({k: FAIL_FAST_ENV[k] for k in _env_added})
        _env_users += 1
    try:
        yield
    finally:
        with _env_lock:
            _env_users -= 1
            if _env_users == 0:
                for key in _env_added:
                    os.environ.pop(key, None)


def apply_fail_fast() -> None:
    """:data:`FAIL_FAST_ENV` for the rest of this process (the sync process, ``nbmlops run``)
    where the user has not chosen otherwise."""
    for key, value in FAIL_FAST_ENV.items():
        os.environ.setdefault(key, value)
