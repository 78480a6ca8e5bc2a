"""One spooled record -> exactly one MLflow run (the "MLflow mapping" of DESIGN.md).

Only the sync process (or a foreground ``nbmlops sync``) imports this module: it imports
mlflow, which the kernel must never pay for. Everything goes through ``MlflowClient``; nothing
writes MLflow's tables directly.

Exactly once: the run is created with the tag ``nbmlops.record_id`` already set (one atomic
``create_run``) and in status RUNNING, and ``set_terminated`` is the last call. So a run with
the tag in a terminal status is a complete upload, and one still RUNNING is what a crash
half-way left behind: it is deleted and the record is uploaded afresh. The caller must hold
the spool's lock so no two uploads of one record run at once.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import math
import os
import posixpath
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbmlops import config, store
from nbmlops.exceptions import ConfigError, RecordRejected
from nbmlops.record import DataRecord, RunRecord
from nbmlops.redact import strip_credentials
from nbmlops.store import MAX_TAG_VALUE
from nbmlops.sync import artifact_scheme, dataset_limits
from nbmlops.sync.figures import make_files

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import DatasetInput, Metric, Param, RunTag

RECORD_ID_TAG = store.RECORD_ID_TAG  # what the exactly-once check searches by
TERMINAL = frozenset({"FINISHED", "FAILED", "KILLED"})

# MLflow's limits (mlflow.utils.validation); repeated here so a value is cut with a visible
# marker instead of MLflow's silent cut or an INVALID_PARAMETER_VALUE that loses the run.
MAX_PARAM_VALUE = 6000
MAX_KEY = 250
MAX_RUN_NAME = 250  # runs.name is String(250)
MAX_PER_BATCH = 1000
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_DATASET_NAME = 500
MAX_DIGEST = 36
MAX_INPUT_TAG_VALUE = 500
TRUNCATED = "...[truncated by nbmlops]"

# Key characters MLflow accepts on POSIX servers (validate_param_and_metric_name).
_BAD_KEY_CHARS = re.compile(r"[^/\w.\- :]")
_RECORD_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")

ClientFactory = Callable[[str], "MlflowClient"]


def upload(
    record: RunRecord,
    files: Path,
    client_for: ClientFactory,
    experiments: dict[tuple[str, str], str] | None = None,
    first_try: bool = False,
) -> dict[str, Any]:
    """Turn one spooled record into one MLflow run; return the receipt.

    ``files`` is the folder holding the record's artifact files (the entry, unpacked).

    ``client_for(uri)`` gives the ``MlflowClient`` for the record's tracking URI (the caller
    caches them). ``experiments`` caches experiment ids by (URI, name) across the records of
    one pass (a round trip less per record); an entry is dropped when its upload fails, so
    the next try checks the experiment afresh. ``first_try``: the spool knows no upload of
    this record was ever begun, so no run of it can exist and none is searched for.
    Raises :class:`RecordRejected` for a record that no retry can fix; any other exception is
    worth retrying later.
    """
    run = prepare(record, files)
    client = client_for(record.tracking_uri)
    cache = {} if experiments is None else experiments
    key = (record.tracking_uri, record.experiment)
    if key not in cache:
        cache[key] = ensure_experiment(client, record.experiment, record.tracking_uri)
    try:
        return _upload_run(record, files, client, cache[key], run, first_try)
    except Exception:
        cache.pop(key, None)  # deleted or renamed meanwhile: ensure_experiment will say
        raise


def _upload_run(
    record: RunRecord, files: Path, client: MlflowClient, experiment_id: str, run: PreparedRun,
    first_try: bool = False,
) -> dict[str, Any]:
    stale = []
    for found in [] if first_try else find_runs(client, experiment_id, record.record_id):
        if found.info.status in TERMINAL:
            return receipt(record, experiment_id, found.info.run_id)
        stale.append(found.info.run_id)
    for run_id in stale:  # a crash left it half-uploaded; the record still has everything
        if record.children:
            delete_children(client, experiment_id, run_id)
        if record.models:
            from nbmlops.models.register import discard_logged_models

            discard_logged_models(client, experiment_id, run_id)
        client.delete_run(run_id)
    run.artifacts += make_files(files, run.artifacts)  # plotly/Altair: HTML pages, PNGs

    # The cell's own tags come with the run when they fit one batch: a commit less per run.
    inline = len(run.tags) <= MAX_PARAMS_TAGS_PER_BATCH
    created = client.create_run(
        experiment_id,
        start_time=record.outcome.start_ms or None,
        # Everything the exactly-once check needs is set by create_run itself, so the run
        # never exists without its record id.
        tags={**({t.key: t.value for t in run.tags} if inline else {}), **run.system_tags},
        run_name=_cut(str(record.run_name), MAX_RUN_NAME),
    )
    run_id = created.info.run_id
    models: list[Any] = []
    try:
        for metrics, params, tags in _batches(run.metrics, run.params,
                                              [] if inline else run.tags):
            client.log_batch(run_id, metrics=metrics, params=params, tags=tags)
        if run.datasets and (problem := dataset_limits.log_inputs(client, run_id, run.datasets)):
            run.warnings.append(problem)
            client.set_tag(run_id, store.WARNINGS_TAG, _cut("\n".join(run.warnings), MAX_TAG_VALUE))
        log_artifacts(client, run_id, files, run.artifacts, created.info.artifact_uri)
        upload_children(client, experiment_id, run_id, record, run.system_tags)
        if record.models:
            from nbmlops.models.register import register_models

            problems: list[str] = []
            models = register_models(client, record, run_id, experiment_id, files,
                                     run.system_tags.get(store.USER_TAG), problems)
            if problems:  # the run's warnings tag was set when it was created
                text = "\n".join([*run.warnings, *problems])
                client.set_tag(run_id, store.WARNINGS_TAG, _cut(text, MAX_TAG_VALUE))
        client.set_terminated(run_id, record.outcome.status, end_time=record.outcome.end_ms or None)
    except BaseException:
        end_half_run(client, experiment_id, run_id, record)
        raise
    done = receipt(record, experiment_id, run_id)
    if models:
        done["models"] = [m.receipt() for m in models]
    return done


def end_half_run(client: MlflowClient, experiment_id: str, run_id: str, record: RunRecord) -> None:
    """End a run whose upload failed part-way: FAILED, then deleted with its nested runs, so
    neither the MLflow UI nor the exactly-once check (active runs only) sees it; the record
    stays in the spool and is uploaded afresh. A store that cannot be reached now keeps the
    run RUNNING, and the next try deletes it (:func:`_upload_run`)."""
    with contextlib.suppress(Exception):
        client.set_terminated(run_id, "FAILED")
    with contextlib.suppress(Exception):
        if record.children:
            delete_children(client, experiment_id, run_id)
        client.delete_run(run_id)


def upload_children(client: MlflowClient, experiment_id: str, run_id: str, record: RunRecord,
                    system_tags: dict[str, str]) -> None:
    """The record's nested runs (a search's best candidates) under ``run_id``. Sent while the
    parent is still RUNNING: a parent in a terminal status has all its children, and a retry
    after a crash deletes a RUNNING parent with the children it had (:func:`delete_children`)."""
    from mlflow.entities import Metric, Param, RunTag

    end = record.outcome.end_ms or None
    shared = {k: system_tags[k] for k in (store.SOURCE_NAME_TAG, store.SOURCE_TYPE_TAG,
                                          store.USER_TAG, store.NOTEBOOK_TAG,
                                          store.SESSION_TAG) if k in system_tags}
    for child in record.children:
        warnings: list[str] = []
        tags = {**{_key(k, warnings): _cut(str(v), MAX_TAG_VALUE) for k, v in child.tags.items()},
                **shared, store.PARENT_RUN_TAG: run_id}
        child_id = client.create_run(experiment_id, start_time=record.outcome.start_ms or None,
                                     tags=tags, run_name=_cut(child.run_name, MAX_RUN_NAME),
                                     ).info.run_id
        params = [Param(k, v) for k, v in _params(child.params, warnings).items()]
        metrics = [Metric(_key(k, warnings), float(v), end or 0, 0)
                   for k, v in child.metrics.items()]
        extra = [RunTag(store.WARNINGS_TAG, "\n".join(warnings))] if warnings else []
        for batch in _batches(metrics, params, extra):
            client.log_batch(child_id, *batch)
        client.set_terminated(child_id, "FINISHED", end_time=end)


def delete_children(client: MlflowClient, experiment_id: str, run_id: str) -> None:
    """Delete the nested runs a half-uploaded run left (its record brings them again)."""
    for child in client.search_runs([experiment_id],
                                    filter_string=f"tags.`{store.PARENT_RUN_TAG}` = '{run_id}'",
                                    max_results=1000):
        client.delete_run(child.info.run_id)


#: Artifact files of one run sent at once: against a server each is a round trip of its own.
ARTIFACT_THREADS = 4


def log_artifacts(client: MlflowClient, run_id: str, files: Path, relpaths: list[str],
                  artifact_uri: str | None = None) -> None:
    """Log the run's artifact files, in parallel when there are several and they go to a
    server. The first error is raised once all are done (the caller then ends the half run).

    With the run's ``artifact_uri`` (what ``create_run`` answered) the files go straight to
    its artifact repository: no ``get_run`` per run, and no entry per run in MLflow's
    process-wide cache of repositories, which would grow with every record of a long pass.
    """
    if artifact_uri is None:
        def send(relpath: str) -> None:
            client.log_artifact(run_id, str(files / relpath), posixpath.dirname(relpath) or None)
        local = False
    else:
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
        from mlflow.store.artifact.local_artifact_repo import LocalArtifactRepository

        repo = get_artifact_repository(artifact_uri, tracking_uri=client.tracking_uri)
        local = isinstance(repo, LocalArtifactRepository)  # a copy each: threads only cost

        def send(relpath: str) -> None:
            repo.log_artifact(str(files / relpath), posixpath.dirname(relpath) or None)

    # mutation-equivalent: where serial ends (< 2, <= 2, < 3) and the pool's size and thread
    # names: every file is logged once either way.
    if local or len(relpaths) < 2:
        for relpath in relpaths:
            send(relpath)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(min(ARTIFACT_THREADS, len(relpaths)), "nbmlops-artifact") as pool:
        for future in [pool.submit(send, relpath) for relpath in relpaths]:
            future.result()


@dataclass
class PreparedRun:
    """A record turned into MLflow entities, before anything is sent."""

    system_tags: dict[str, str]
    tags: list[RunTag]
    params: list[Param]
    metrics: list[Metric]
    datasets: list[DatasetInput]
    artifacts: list[str]
    warnings: list[str] = field(default_factory=list)


def prepare(record: RunRecord, files: Path) -> PreparedRun:
    """Check and convert the record; a record of the wrong shape raises RecordRejected here,
    before any call to MLflow."""
    if not _RECORD_ID.match(str(record.record_id)):
        raise RecordRejected(f"record id {record.record_id!r} is not a plain identifier")
    if record.outcome.status not in TERMINAL:
        raise RecordRejected(f"record status {record.outcome.status!r} is not a run status")
    from mlflow.entities import Metric, Param, RunTag

    warnings = [str(w) for w in record.warnings]
    try:
        # A model's pickle becomes an MLflow model (nbmlops.models.register), not an artifact.
        artifacts = _artifact_files(files, [
            a for a in record.artifacts if not a.startswith(store.MODEL_SPOOL_FOLDER + "/")
        ], warnings)
        params = [Param(k, v) for k, v in _params(record.params, warnings).items()]
        metrics = [Metric(k, v, ts, step) for k, v, ts, step in _metrics(record, warnings)]
        tags = [RunTag(k, v) for k, v in _user_tags(record, warnings).items()]
        datasets = dataset_inputs(record.datasets, record.notebook)
        artifacts += dataset_limits.keep_full_schemas(
            record.datasets, [dataset_schema(d) for d in record.datasets], files, warnings)
        system_tags = _system_tags(record, warnings)  # last: it carries the warnings
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        raise RecordRejected(f"malformed record: {type(e).__name__}: {e}") from e
    return PreparedRun(system_tags, tags, params, metrics, datasets, artifacts, warnings)


def ensure_experiment(client: MlflowClient, name: str, tracking_uri: str) -> str:
    """The id of the active experiment ``name``, created when missing."""
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import RESOURCE_ALREADY_EXISTS, ErrorCode

    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        try:
            return client.create_experiment(
                name, artifact_location=_artifact_location(tracking_uri, name),
                tags={store.EXPERIMENT_KIND_TAG: store.EXPERIMENT_KIND_TRAINING},
            )
        except MlflowException as e:
            # Another process created it between our read and our create.
            if e.error_code != ErrorCode.Name(RESOURCE_ALREADY_EXISTS):
                raise
            experiment = client.get_experiment_by_name(name)
            if experiment is None:
                raise
    if experiment.lifecycle_stage != "active":
        raise RecordRejected(
            f"experiment {name!r} is deleted in MLflow: restore it (`mlflow experiments "
            f"restore --experiment-id {experiment.experiment_id}`), then `nbmlops sync "
            f"--retry-failed`"
        )
    return str(experiment.experiment_id)


def _artifact_location(tracking_uri: str, name: str) -> str | None:
    """Artifacts of a sqlite store go beside the database file, named relative to it so that
    they follow the project when its folder moves (:mod:`nbmlops.sync.artifact_scheme`).

    MLflow's default for a database store is ``./mlruns`` of whichever process creates the
    experiment: for the sync process that is the folder the kernel happened to start in.
    """
    db = store.sqlite_path(tracking_uri)
    if db is None:
        return None  # a server decides itself (mlflow-artifacts:/...)
    slug = re.sub(r"[^\w.-]+", "_", name).strip("._") or "experiment"
    if artifact_scheme.available():
        return artifact_scheme.location(f"mlruns/{slug}")
    return str(db.parent / "mlruns" / slug)


def find_runs(client: MlflowClient, experiment_id: str, record_id: str) -> list[Any]:
    """Active runs of the experiment carrying ``nbmlops.record_id = record_id``."""
    from mlflow.entities import ViewType

    # mutation-equivalent: dropping run_view_type (MLflow's default is ACTIVE_ONLY), another
    # max_results (a record has one run, two after a race: never 50), "asc" (either case).
    return list(
        client.search_runs(
            [experiment_id],
            filter_string=f"tags.`{RECORD_ID_TAG}` = '{record_id}'",
            run_view_type=ViewType.ACTIVE_ONLY,
            max_results=50,
            order_by=["attributes.start_time ASC"],
        )
    )


def receipt(record: RunRecord, experiment_id: str, run_id: str) -> dict[str, Any]:
    """What the spool keeps in ``done/`` once MLflow has the run."""
    try:
        ui = config.ui_url(Path(record.project_root or "."), record.tracking_uri)
        lasting = config.lasting_ui_url(Path(record.project_root or "."), record.tracking_uri)
    except ConfigError:
        # A broken pyproject must not undo a finished upload. (mutation-equivalent: "" for
        # None; run_url makes no link of either.)
        ui = lasting = None
    done = {
        "record_id": record.record_id,
        "run_id": run_id,
        "experiment_id": experiment_id,
        "experiment": record.experiment,
        "tracking_uri": record.tracking_uri,
        "url": config.run_url(ui, experiment_id, run_id),
        "synced_at": time.time(),
    }
    if lasting != ui:  # the link a saved status line keeps (config.lasting_ui_url)
        done["link"] = config.run_url(lasting, experiment_id, run_id)
    return done


def is_permanent(error: BaseException) -> bool:
    """Whether retrying the same record can never succeed.

    Only errors about the record itself count: MLflow refusing a value
    (INVALID_PARAMETER_VALUE), a malformed record. Unreachable servers, 5xx, timeouts, auth
    failures, a locked sqlite database are about the store and are retried.
    """
    if isinstance(error, RecordRejected):
        return True
    try:
        from mlflow.exceptions import MlflowException
    except ImportError:  # pragma: no cover - mlflow is a dependency
        return False  # pragma: no mutate (unreachable: mlflow is a dependency)
    if isinstance(error, MlflowException):
        return error.error_code in {"INVALID_PARAMETER_VALUE", "MALFORMED_REQUEST"}
    return False


#: MLflow's error codes for a server that refused who we are (HTTP 401) or what we may do (403).
_REFUSED = {"UNAUTHENTICATED": 401, "PERMISSION_DENIED": 403}


def credentials_refused(error: BaseException, tracking_uri: str) -> str | None:
    """One line for a server that refused the credentials (or lacked a permission), None for
    any other error. The credentials come from the environment of the process that uploads,
    so retrying in the same process cannot help: the line says which variables to fix."""
    # mutation-equivalent: the default, for errors without a code, is any string but a code.
    status = _REFUSED.get(str(getattr(error, "error_code", "")))
    if status is None:
        return None
    where = f"the tracking server at {strip_credentials(tracking_uri)}"
    user = os.environ.get("MLFLOW_TRACKING_USERNAME")
    if status == 403:
        return (f"{where} denied user {user!r} a permission (HTTP 403): grant it EDIT on the "
                "experiment (or the model), or use another MLFLOW_TRACKING_USERNAME")
    if not user:
        return (f"{where} asks for credentials (HTTP 401): set MLFLOW_TRACKING_USERNAME and "
                "MLFLOW_TRACKING_PASSWORD")
    return (f"{where} refused the credentials of user {user!r} (HTTP 401): check "
            "MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD")


# --- building the pieces -------------------------------------------------------------------


def _cut(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - len(TRUNCATED)] + TRUNCATED


def _key(name: str, warnings: list[str]) -> str:
    """A key MLflow accepts: bad characters become ``_``, no path tricks, at most 250 chars."""
    key = _BAD_KEY_CHARS.sub("_", str(name))
    parts = [p for p in key.split("/") if p not in ("", ".", "..")]
    key = "/".join(parts)[:MAX_KEY] or "_"
    if key != name:
        warnings.append(f"key {name!r} renamed {key!r}")
    return key


def _params(params: dict[str, Any], warnings: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in params.items():
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        if len(text) > MAX_PARAM_VALUE:
            warnings.append(f"param {name!r} cut to {MAX_PARAM_VALUE} characters")
        out[_key(name, warnings)] = _cut(text, MAX_PARAM_VALUE)
    return out


def _metrics(record: RunRecord, warnings: list[str]) -> Iterator[tuple[str, float, int, int]]:
    default_ts = record.outcome.end_ms or record.outcome.start_ms or int(time.time() * 1000)
    keys: dict[str, str] = {}
    for point in record.metrics:
        if point.name not in keys:
            keys[point.name] = _key(point.name, warnings)
        value = float(point.value)
        if math.isinf(value):  # MLflow stores +-inf as +-max float; say so
            warnings.append(f"metric {point.name!r} was infinite")
        yield keys[point.name], value, int(point.timestamp_ms or default_ts), int(point.step)


def _system_tags(record: RunRecord, warnings: list[str]) -> dict[str, str]:
    out = record.outcome
    git = record.environment.git
    if record.environment.git_pending:
        warnings.append("git state missing: the kernel stopped before git answered")
    tags: dict[str, str | None] = {
        store.SOURCE_NAME_TAG: record.notebook,
        store.SOURCE_TYPE_TAG: store.SOURCE_TYPE_NOTEBOOK,
        store.GIT_COMMIT_TAG: git.commit if git else None,
        store.GIT_BRANCH_TAG: git.branch if git else None,
        store.GIT_REPO_TAG: git.remote if git else None,
        store.USER_TAG: record.tags.get(store.USER_TAG) or _user(),
        store.PARENT_RUN_TAG: record.parent_run_id,
        store.RECORD_ID_TAG: record.record_id,
        store.SESSION_TAG: record.session_id,
        store.CODE_SHA_TAG: record.code_sha,
        store.CELL_ID_TAG: record.cell_id,
        store.NOTEBOOK_TAG: record.notebook,
        store.EXECUTION_COUNT_TAG: (
            str(record.execution_count) if record.execution_count is not None else None
        ),
        store.PYTHON_TAG: record.environment.python or None,
        store.GIT_DIRTY_TAG: ("true" if git.dirty else "false") if git else None,
        store.DURATION_TAG: f"{out.duration_s:.3f}" if out.end_ms else None,
        store.ERROR_TYPE_TAG: out.error_type,
        store.ERROR_MESSAGE_TAG: out.error_message,
        # Last: every earlier step may have added a warning.
        store.WARNINGS_TAG: "\n".join(warnings) or None,
    }
    return {k: _cut(str(v), MAX_TAG_VALUE) for k, v in tags.items() if v not in (None, "")}


def _user_tags(record: RunRecord, warnings: list[str]) -> dict[str, str]:
    # System tags win: a user tag must not fake the record id or the source.
    reserved = set(_system_tags(record, [])) | {store.WARNINGS_TAG, store.RUN_NAME_TAG}
    out: dict[str, str] = {}
    for name, value in record.tags.items():
        key = _key(name, warnings)
        if key in reserved:
            if key != store.USER_TAG:
                warnings.append(f"tag {name!r} is set by nbmlops; the cell's value was dropped")
            continue
        out[key] = _cut(str(value), MAX_TAG_VALUE)
    return out


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        return None


def _artifact_files(files: Path, relpaths: Sequence[str], warnings: list[str]) -> list[str]:
    """The listed artifact files that really are inside the record's folder."""
    root = files.resolve()
    found = []
    for relpath in relpaths:
        norm = posixpath.normpath(relpath)
        path = (files / norm).resolve()
        if norm.startswith(("..", "/")) or not path.is_relative_to(root):
            warnings.append(f"artifact {relpath!r} is outside the record; skipped")
        elif not path.is_file():
            warnings.append(f"artifact {relpath!r} is missing from the spool")
        else:
            found.append(norm)
    return found


def _batches(
    metrics: list[Metric], params: list[Param], tags: list[RunTag]
) -> Iterator[tuple[list[Metric], list[Param], list[RunTag]]]:
    """``log_batch`` chunks within MLflow's limits, metrics kept in their logged order."""
    m = p = t = 0
    while m < len(metrics) or p < len(params) or t < len(tags):
        ps = params[p : p + MAX_PARAMS_TAGS_PER_BATCH]
        ts = tags[t : t + MAX_PARAMS_TAGS_PER_BATCH]
        room = min(MAX_METRICS_PER_BATCH, MAX_PER_BATCH - len(ps) - len(ts))
        ms = metrics[m : m + room]
        yield ms, ps, ts
        m, p, t = m + len(ms), p + len(ps), t + len(ts)


# --- datasets ------------------------------------------------------------------------------

# numpy / pandas dtype names -> MLflow DataType names (mlflow.types.schema.DataType), as
# mlflow.types.utils._infer_pandas_column would map them.
_DTYPES = {
    "bool": "boolean",
    "boolean": "boolean",
    "int8": "integer",
    "int16": "integer",
    "int32": "integer",
    "uint8": "integer",
    "uint16": "integer",
    "int64": "long",
    "uint32": "long",
    "uint64": "long",
    "float16": "float",
    "float32": "float",
    "float64": "double",
    "float": "double",
    "double": "double",  # Arrow type names (pyarrow tables, polars frames)
    "halffloat": "float",
    "large_string": "string",
    "int": "long",
    "str": "string",
    "string": "string",
    "object": "string",
    "category": "string",
    "bytes": "binary",
    "binary": "binary",
}


def mlflow_type(dtype: str) -> str:
    """MLflow's column type for a pandas/numpy dtype name (``string`` when unknown)."""
    name = dtype.strip().lower()
    if name.startswith(("datetime64", "datetime", "timestamp", "date")):
        return "datetime"
    name = name.removeprefix("pd.").split("[", 1)[0]
    return _DTYPES.get(name, "string")


def dataset_schema(data: DataRecord) -> str | None:
    """The schema JSON the MLflow UI reads, as ``mlflow.data`` writes it."""
    if not data.schema:
        return None
    if data.kind == "ndarray" and len(data.schema) == 1:
        # mlflow.data.numpy_dataset: a TensorSpec with a variable first dimension.
        spec = {"dtype": data.schema[0].get("dtype", "float64"), "shape": [-1, *data.shape[1:]]}
        features = json.dumps([{"type": "tensor", "tensor-spec": spec}])
        return json.dumps({"mlflow_tensorspec": {"features": features, "targets": None}})
    # mlflow.data.pandas_dataset: {"mlflow_colspec": Schema.to_dict()}.
    cols = [
        {
            "type": mlflow_type(str(col.get("dtype", ""))),
            "name": str(col.get("name", "")),
            "required": True,
        }
        for col in data.schema
    ]
    return json.dumps({"mlflow_colspec": cols})


def dataset_profile(data: DataRecord) -> str:
    profile: dict[str, Any] = {}
    if data.shape:
        profile["num_rows"] = data.shape[0]
        profile["num_elements"] = math.prod(data.shape)
        profile["shape"] = list(data.shape)
    if data.size_bytes:
        profile["size_bytes"] = data.size_bytes
    # nbmlops' summary (null fraction, columns with nulls) and where the full profile is.
    profile.update(data.profile or {})
    return json.dumps(profile)


def dataset_source(data: DataRecord, notebook: str) -> tuple[str, str]:
    """``(source_type, source JSON)`` like MLflow's own dataset sources."""
    src = data.source
    if src.startswith("variable:") or not src:
        # CodeDatasetSource: what mlflow.data.from_pandas records for an in-memory frame.
        tags = {
            store.SOURCE_NAME_TAG: notebook,
            store.SOURCE_TYPE_TAG: store.SOURCE_TYPE_NOTEBOOK,
            store.DATA_VARIABLE_TAG: src.removeprefix("variable:") or data.name,
        }
        return "code", json.dumps({"tags": tags})
    scheme = src.split("://", 1)[0].lower() if "://" in src else ""
    if scheme in ("http", "https"):
        return "http", json.dumps({"url": src})
    if scheme and scheme != "file":
        return scheme, json.dumps({"uri": src})  # s3, gs, ... as ArtifactRepo sources
    return "local", json.dumps({"uri": src})


def dataset_inputs(datasets: Sequence[DataRecord], notebook: str) -> list[DatasetInput]:
    """One ``DatasetInput`` per distinct (name, fingerprint).

    MLflow keeps only the first input of a run with a given name and digest, so data read and
    written unchanged becomes one input whose context says ``input,output``. Data written is
    logged as an input with context ``output``: MLflow 3 run outputs only hold logged models.
    """
    from mlflow.entities import Dataset, DatasetInput, InputTag

    groups: dict[tuple[str, str], list[DataRecord]] = {}
    for data in datasets:
        name = _cut(data.name, MAX_DATASET_NAME)
        groups.setdefault((name, data.fingerprint[:MAX_DIGEST]), []).append(data)
    inputs = []
    for (name, digest), same in groups.items():
        data = same[0]
        contexts = ",".join(dict.fromkeys(d.context for d in same))
        source_type, source = dataset_source(data, notebook)
        tags = [InputTag(store.DATA_CONTEXT_TAG, contexts),
                InputTag(store.DATA_KIND_TAG, data.kind)]
        schema = dataset_schema(data)
        if dataset_limits.too_wide(schema):  # a very wide frame: a summary, all as an artifact
            schema, note = dataset_limits.summarise(str(schema), data)
            tags.append(InputTag(store.DATA_SCHEMA_TAG, note))
        if digest != data.fingerprint:
            tags.append(InputTag(store.DATA_FINGERPRINT_TAG, _cut(data.fingerprint, 500)))
        dataset = Dataset(
            name=name,
            digest=digest,
            source_type=source_type,
            source=source,
            schema=schema,
            profile=dataset_profile(data),
        )
        inputs.append(DatasetInput(dataset, tags=tags))
    return inputs
