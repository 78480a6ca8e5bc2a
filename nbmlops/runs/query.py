"""Reading MLflow: experiments, pages of runs, one run in full, a diff of runs.

The compare panel, the JupyterLab sidebar's server extension and the CLI read MLflow through
this module only. Every function takes the tracking URI and returns plain dataclasses
(``dataclasses.asdict`` turns any of them into JSON-ready dicts); nothing here knows about
widgets. mlflow is imported inside the functions, so importing this module is free.

Runs are read the way :mod:`nbmlops.sync.upload` writes them: the cell's code is the artifact
``code/cell.py``, the environment ``env/requirements.txt``, data versions are dataset inputs
whose digest is the full-content fingerprint (context in the input tag
``mlflow.data.context``), and the duration is the tag ``nbmlops.duration_s``.

Paging is MLflow's own: :func:`search_runs` asks for one ordered page and returns the token of
the next, so the first page of an experiment with 10,000 runs costs what one with 10 does.

The public API::

    experiments(uri)                                  -> list[Experiment]
    get_experiment(uri, name_or_id)                   -> Experiment
    search_runs(uri, experiment, filter=, cell=, order_by=, max_results=, page_token=)
                                                      -> RunPage (a search's candidate runs
                                                         hang on its run, not listed)
    attach_candidates(uri, runs)                      -> None (sets each run's candidates)
    last_runs(uri, experiment, n, filter=, cell=)     -> list[RunSummary]
    get_run(uri, run_id)                              -> RunDetails
    diff_runs(uri, run_ids, directions=)              -> RunDiff (see nbmlops.runs.diff)
    column_order(column, descending)                  -> MLflow order_by clause, or None
    sort_runs(runs, column, descending)               -> runs sorted here
    varying_params(runs), common_params(runs)

Errors are :class:`~nbmlops.exceptions.QueryError` subclasses with one-line messages:
:class:`~nbmlops.exceptions.ExperimentNotFound`, :class:`~nbmlops.exceptions.InvalidFilter`.
"""

from __future__ import annotations

import contextlib
import math
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, TypeVar

from nbmlops import regular_files, store
from nbmlops.exceptions import (
    ArtifactNotFound,
    ArtifactTooLarge,
    ExperimentNotFound,
    InvalidFilter,
    InvalidQuery,
    QueryError,
    RunNotFound,
    StoreNotFound,
)
from nbmlops.record import MetricPoint
from nbmlops.redact import strip_credentials
from nbmlops.runs import artifacts, candidates
from nbmlops.runs.entities import (
    Dataset,
    DriftAlert,
    Experiment,
    RunDetails,
    RunPage,
    RunSummary,
)

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from nbmlops.runs.diff import RunDiff

__all__ = [
    "DEFAULT_ORDER",
    "DEFAULT_PAGE_SIZE",
    "Dataset",
    "DriftAlert",
    "Experiment",
    "RunDetails",
    "RunPage",
    "RunSummary",
    "attach_candidates",
    "column_order",
    "common_params",
    "diff_runs",
    "experiments",
    "get_experiment",
    "get_run",
    "last_runs",
    "logged",
    "search_runs",
    "sort_runs",
    "varying_params",
]

DEFAULT_PAGE_SIZE = 25
#: Newest first: what a user looking at a notebook's runs wants to see first.
DEFAULT_ORDER = ("attributes.start_time DESC",)
#: Runs per request when following pages (``last_runs``); MLflow servers allow far more.
_FETCH_SIZE = 1000
_MAX_ARTIFACTS = 1000

#: The data checks' one-line summaries, by the kind of finding they sum up.
DRIFT_TAGS = {store.DRIFT_TAG: "drift", store.SCHEMA_CHANGE_TAG: "schema"}



# --- experiments ---------------------------------------------------------------------------


def experiments(tracking_uri: str, *, max_results: int = 1000) -> list[Experiment]:
    """The active experiments of the store, most recently updated first (none in a store
    nothing was uploaded to yet)."""
    if not store.exists(tracking_uri):
        return []
    client = _client(tracking_uri)
    found = call(
        tracking_uri,
        lambda: client.search_experiments(
            max_results=max_results, order_by=["last_update_time DESC"]
        ),
    )
    return [_experiment(e) for e in found]


def get_experiment(tracking_uri: str, experiment: str | Experiment) -> Experiment:
    """The active experiment named ``experiment`` (or with that id).

    Raises :class:`ExperimentNotFound` naming a few experiments that do exist.
    """
    if isinstance(experiment, Experiment):
        return experiment
    try:
        client = _client(tracking_uri)
    except StoreNotFound as e:
        raise ExperimentNotFound(f"no experiment {experiment!r}: {e}") from None
    found = call(tracking_uri, lambda: client.get_experiment_by_name(experiment))
    if found is None and experiment.isdigit():
        with contextlib.suppress(QueryError):
            found = call(tracking_uri, lambda: client.get_experiment(experiment))
    if found is None or found.lifecycle_stage != "active":
        raise ExperimentNotFound(_not_found_message(tracking_uri, experiment, found))
    return _experiment(found)


def _not_found_message(tracking_uri: str, name: str, found: Any) -> str:
    where = strip_credentials(tracking_uri)
    if found is not None:
        return f"experiment {name!r} is deleted in {where}"
    try:
        names = [e.name for e in experiments(tracking_uri, max_results=6)]
    except QueryError:
        names = []
    known = f"; experiments there: {', '.join(names[:5])}" if names else ""
    if len(names) > 5:
        known += ", ..."
    return f"no experiment {name!r} in {where}{known}"


# --- runs ----------------------------------------------------------------------------------


def search_runs(
    tracking_uri: str,
    experiment: str | Experiment,
    *,
    filter: str = "",
    cell: str | None = None,
    order_by: Sequence[str] | None = None,
    max_results: int = DEFAULT_PAGE_SIZE,
    page_token: str | None = None,
) -> RunPage:
    """One page of the experiment's runs, ordered and filtered by MLflow itself.

    ``filter`` is MLflow's search syntax (``metrics.auc > 0.8 and params.lr = '0.1'``);
    ``cell`` keeps the runs of one tracked cell (its run name); ``order_by`` holds MLflow
    clauses (``metrics.auc DESC``, see :func:`column_order`), newest first by default.
    """
    exp = get_experiment(tracking_uri, experiment)
    where = _combined_filter(filter, cell)
    order = list(order_by or DEFAULT_ORDER)
    client = _client(tracking_uri)

    def search(
        extra: str, limit: int, order: list[str] | None, token: str | None = None
    ) -> tuple[list[Any], str | None]:
        # A search's candidates are no runs of their own (nbmlops.runs.candidates).
        clause = candidates.top_level(" and ".join(p for p in (where, extra) if p))
        found = call(
            tracking_uri,
            lambda: client.search_runs(
                [exp.experiment_id], filter_string=clause, max_results=limit,
                order_by=order, page_token=token,
            ),
            filter=filter,
        )
        return list(found), _text_token(found.token)

    by_metric = _metric_order(order[0])
    offset = _offset_of(page_token)
    narrowed = None
    if by_metric is not None and (page_token is None or offset is not None):
        narrowed = _narrowed_page(search, *by_metric, order, offset or 0, max_results)
    if narrowed is not None:
        rows, token = narrowed
    else:
        rows, token = search("", max_results, order, page_token)
    runs = [summary(r) for r in rows]
    attach_candidates(tracking_uri, runs)
    return RunPage(exp, runs, token, order, where)


# Page tokens of narrowed pages (see nbmlops.runs.narrowing): the offset of the page, ours alone.
_OWN_TOKEN = "nbmlops-offset:"
_METRIC_ORDER = re.compile(r"^\s*metrics\.(?:`([^`]+)`|(\S+))(?:\s+(ASC|DESC))?\s*$", re.I)


def _metric_order(clause: str) -> tuple[str, bool] | None:
    match = _METRIC_ORDER.match(clause)
    if match is None:
        return None
    return match.group(1) or match.group(2), (match.group(3) or "ASC").upper() == "DESC"


def _text_token(token: str | bytes | None) -> str | None:
    # The sqlite store hands out bytes; a token must survive JSON (the sidebar's REST API).
    if isinstance(token, bytes):
        token = token.decode("ascii")
    return token or None


def _offset_of(token: str | None) -> int | None:
    if token and token.startswith(_OWN_TOKEN):
        with contextlib.suppress(ValueError):
            return max(0, int(token[len(_OWN_TOKEN):]))
    return None


def _narrowed_page(
    search: Callable[..., tuple[list[Any], str | None]],
    key: str,
    descending: bool,
    order: list[str],
    offset: int,
    size: int,
) -> tuple[list[Any], str | None] | None:
    """Runs ``offset`` to ``offset + size`` by a metric, MLflow ordering only a narrowed
    set; None when narrowing does not apply and the first page is better asked directly."""
    from nbmlops.runs import narrowing

    need = offset + size
    limit = narrowing.threshold(search, key, descending, need)
    if limit is None:
        if offset == 0:
            return None
        rows, _ = search("", need + 1, order)  # one of our tokens, but no narrowing now
        more = len(rows) > need
    else:
        rows, _ = search(narrowing.beyond(key, limit, descending), need + 1, order)
        # More runs may follow the narrowed set: lower values, NaN, no value at all.
        more = len(rows) > need or len(search("", need + 1, None)[0]) > need
    return rows[offset:need], f"{_OWN_TOKEN}{need}" if more else None


def attach_candidates(tracking_uri: str, runs: Sequence[RunSummary]) -> None:
    """Hang on each run of a search its candidates (nested runs, best first): one query for
    the whole page, none when no run on it searched."""
    parents, where = candidates.searches(runs)
    if parents:
        client = _client(tracking_uri)
        found = call(tracking_uri, lambda: client.search_runs(
            sorted({r.experiment_id for r in parents}), filter_string=where,
            max_results=candidates.MAX_CANDIDATES))
        candidates.hang(parents, [summary(r) for r in found])


def last_runs(
    tracking_uri: str,
    experiment: str | Experiment,
    n: int,
    *,
    filter: str = "",
    cell: str | None = None,
) -> list[RunSummary]:
    """The ``n`` newest runs (``%mlops compare --last N``), following pages as needed."""
    runs: list[RunSummary] = []
    token: str | None = None
    while len(runs) < n:
        page = search_runs(
            tracking_uri, experiment, filter=filter, cell=cell,
            max_results=min(n - len(runs), _FETCH_SIZE), page_token=token,
        )
        runs.extend(page.runs)
        token = page.next_page_token
        if token is None:
            break
    return runs


def _combined_filter(filter: str, cell: str | None) -> str:
    # MLflow's grammar has AND but no parentheses, so the cell condition is simply appended.
    parts = [filter.strip()] if filter and filter.strip() else []
    if cell:
        quote = '"' if "'" in cell else "'"
        parts.append(f"attributes.run_name = {quote}{cell}{quote}")
    return " and ".join(parts)


def get_run(
    tracking_uri: str, run_id: str, *, history: bool = True, artifacts: bool = True
) -> RunDetails:
    """One run in full. ``history`` fetches every point of every metric (one request per
    metric on a server); ``artifacts`` lists the artifact paths."""
    if not store.exists(tracking_uri):
        raise RunNotFound(f"no run {run_id} in {strip_credentials(tracking_uri)}")
    client = _client(tracking_uri)
    found = call(tracking_uri, lambda: client.get_run(run_id), run_id=run_id)
    run = summary(found)
    details = RunDetails(run)
    if history:
        for key in run.metrics:
            points = call(tracking_uri, partial(client.get_metric_history, run_id, key))
            details.metric_history[key] = [
                MetricPoint(key, p.value, p.step, p.timestamp)
                for p in sorted(points, key=lambda p: (p.step, p.timestamp))
            ]
    if artifacts:
        details.artifacts = _list_artifacts(tracking_uri, run_id)
    terminal = run.status in ("FINISHED", "FAILED", "KILLED")
    details.code = artifact_text(tracking_uri, run_id, store.CODE_ARTIFACT, cache=terminal)
    details.requirements = parse_requirements(
        artifact_text(tracking_uri, run_id, store.REQUIREMENTS_ARTIFACT, cache=terminal) or ""
    )
    details.drift = drift_alerts(tracking_uri, run, cache=terminal)
    return details


def drift_alerts(tracking_uri: str, run: RunSummary, *, cache: bool = True) -> list[DriftAlert]:
    """The data checks' findings on ``run``: from its ``data/drift.json``, read only when its
    tags say something changed; from the tags' one-line summaries when the file is missing."""
    summaries = {kind: run.tags.get(tag, "none") for tag, kind in DRIFT_TAGS.items()}
    if all(text in ("", "none") for text in summaries.values()):
        return []
    text = artifact_text(tracking_uri, run.run_id, store.DRIFT_ARTIFACT, cache=cache)
    alerts = parse_drift_report(text) if text else None
    if alerts is not None:
        return alerts
    return [
        DriftAlert(where, "input", kind, None, message.strip())
        for kind, summary in summaries.items() if summary not in ("", "none")
        for where, _, message in (part.partition(": ") for part in summary.split("; "))
    ]


def parse_drift_report(text: str) -> list[DriftAlert] | None:
    """The findings of a ``data/drift.json`` (see :func:`nbmlops.data.drift.report`); None when
    the text is not such a report."""
    import json

    try:
        report = json.loads(text)
        return [
            DriftAlert(str(d["name"]), str(d.get("context", "input")), str(f["kind"]),
                       f.get("column"), str(f["message"]))
            for d in report["data"] for f in d.get("findings", [])
        ]
    except (ValueError, KeyError, TypeError):
        return None


def diff_runs(
    tracking_uri: str, run_ids: Sequence[str], *, directions: Mapping[str, str] | None = None
) -> RunDiff:
    """Compare two or more runs: the first is the baseline the code diffs are made against.

    ``directions`` maps metric names or globs to ``"min"`` / ``"max"`` where the name alone
    does not tell which value is better (see :func:`nbmlops.runs.diff.metric_direction`).
    """
    from nbmlops.runs import diff

    if len(run_ids) < 2:
        raise QueryError("a diff needs two or more runs")
    details = [get_run(tracking_uri, r, history=False) for r in run_ids]
    return diff.compare(details, directions)


# --- artifacts -----------------------------------------------------------------------------

_texts: dict[tuple[str, str, str], str] = {}


def artifact_text(tracking_uri: str, run_id: str, path: str, *, cache: bool = True) -> str | None:
    """The text of one artifact file, None when the run has none there.

    Artifacts of a finished run never change, so their texts are kept (``cache``); a run
    still RUNNING may not have uploaded them yet.
    """
    key = (tracking_uri, run_id, path)
    if key in _texts:
        return _texts[key]
    client = _client(tracking_uri)
    with tempfile.TemporaryDirectory(prefix="nbmlops-artifact-") as tmp, store.fail_fast():
        try:
            local = client.download_artifacts(run_id, path, dst_path=tmp)
            text = Path(local).read_text(encoding="utf-8", errors="replace")
        except Exception:  # missing artifact, unreadable store: the caller shows "no code"
            return None
    if cache:
        if len(_texts) > 512:
            _texts.clear()
        _texts[key] = text
    return text


def artifact_texts(tracking_uri: str, run_id: str, folder: str) -> dict[str, str]:
    """The texts of the files under one artifact folder, by their paths below it (empty when
    the run has no such folder)."""
    client = _client(tracking_uri)
    with tempfile.TemporaryDirectory(prefix="nbmlops-artifact-") as tmp, store.fail_fast():
        try:
            local = Path(client.download_artifacts(run_id, folder, dst_path=tmp))
        except Exception:  # no such folder, an unreadable store: nothing to compare with
            return {}
        return {p.relative_to(local).as_posix(): p.read_text(encoding="utf-8", errors="replace")
                for p in sorted(local.rglob("*")) if p.is_file()}


def _list_artifacts(tracking_uri: str, run_id: str) -> list[str]:
    client = _client(tracking_uri)
    found: list[str] = []
    folders: list[str | None] = [None]
    while folders and len(found) < _MAX_ARTIFACTS:
        folder = folders.pop()
        for info in call(tracking_uri, partial(client.list_artifacts, run_id, folder)):
            (folders if info.is_dir else found).append(info.path)
    return sorted(found)


def read_image(
    tracking_uri: str, run_id: str, path: str, max_bytes: int | None = None
) -> artifacts.Image:
    """The bytes of the image artifact ``path`` of run ``run_id``, at most ``max_bytes``
    (default :data:`nbmlops.runs.artifacts.MAX_IMAGE_BYTES`). Only a path the run lists is
    read, so no path a browser sends can leave the run's artifacts."""
    max_bytes = max_bytes or artifacts.MAX_IMAGE_BYTES
    path = artifacts.checked_path(path)
    kind = artifacts.content_type(path) or artifacts.page_type(path)
    if kind is None:
        known = ", ".join(sorted(artifacts.IMAGE_TYPES))
        raise InvalidQuery(f"{path!r} is not an image ({known})")
    client = store.client(tracking_uri)
    folder = str(PurePosixPath(path).parent)
    listed = call(tracking_uri, partial(client.list_artifacts, run_id,
                                         None if folder == "." else folder), run_id=run_id)
    info = next((i for i in listed if i.path == path and not i.is_dir), None)
    if info is None:
        raise ArtifactNotFound(f"run {run_id} has no artifact {path!r}")
    if info.file_size is not None and info.file_size > max_bytes:
        raise ArtifactTooLarge(f"{path!r} is {info.file_size:,} bytes; the limit is {max_bytes:,}")
    here = _local_artifact(tracking_uri, client, run_id, path, max_bytes)
    if here is not None:
        return artifacts.Image(path, kind, here)
    with tempfile.TemporaryDirectory(prefix="nbmlops-image-") as tmp, store.fail_fast():
        local = Path(call(tracking_uri, partial(client.download_artifacts, run_id, path, tmp)))
        if local.stat().st_size > max_bytes:  # a store that does not report sizes
            raise ArtifactTooLarge(f"{path!r} is larger than {max_bytes:,} bytes")
        return artifacts.Image(path, kind, local.read_bytes())


def _local_artifact(tracking_uri: str, client: Any, run_id: str, path: str,
                    max_bytes: int) -> bytes | None:
    """The bytes of the artifact ``path`` of a run whose artifacts are local files, read as
    named (MLflow's download decodes ``%2e`` in a name, so ``a b%2e.png`` would be looked
    for as ``a b..png``); None when the run's artifacts are not on this disk."""
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
    from mlflow.store.artifact.local_artifact_repo import LocalArtifactRepository

    root = call(tracking_uri, partial(client.get_run, run_id), run_id=run_id).info.artifact_uri
    repository = call(tracking_uri, partial(get_artifact_repository, root, tracking_uri))
    if not isinstance(repository, LocalArtifactRepository):
        return None
    base = Path(repository.artifact_dir).resolve()
    file = (base / path).resolve()
    if base not in file.parents:  # a link leading out of the run's artifacts
        raise ArtifactNotFound(f"run {run_id} has no artifact {path!r}")
    try:
        return regular_files.read_bytes(file, max_bytes)
    except regular_files.FileTooLarge:
        raise ArtifactTooLarge(f"{path!r} is larger than {max_bytes:,} bytes") from None
    except OSError:
        raise ArtifactNotFound(f"run {run_id} has no artifact {path!r}") from None


def parse_requirements(text: str) -> dict[str, str]:
    """``name==version`` lines (as nbmlops writes ``env/requirements.txt``) -> a dict."""
    packages = {}
    for line in text.splitlines():
        name, sep, version = line.strip().partition("==")
        if sep and name and not name.startswith("#"):
            packages[name.strip()] = version.strip()
    return packages


# --- columns, local sorting ----------------------------------------------------------------

_ATTRIBUTE_COLUMNS = {
    "run_name": "attributes.run_name",
    "start_time": "attributes.start_time",
    "end_time": "attributes.end_time",
    "status": "attributes.status",
}


def column_order(column: str, descending: bool) -> str | None:
    """MLflow's ``order_by`` clause for a table column, None when MLflow cannot order by it.

    Columns are ``run_name``, ``start_time``, ``end_time``, ``status``, ``duration``,
    ``data``, ``group``, ``metrics.<key>``, ``params.<key>`` and ``tags.<key>``. Params and
    tags are strings to MLflow and order as such. ``duration``, ``data`` and ``group`` (the
    notebook execution) are not stored as orderable fields: :func:`sort_runs` orders them on
    this side.
    """
    direction = "DESC" if descending else "ASC"
    if column in _ATTRIBUTE_COLUMNS:
        return f"{_ATTRIBUTE_COLUMNS[column]} {direction}"
    kind, _, key = column.partition(".")
    if kind in ("metrics", "params", "tags") and key:
        return f"{kind}.`{key}` {direction}"
    return None


def column_value(run: RunSummary, column: str) -> Any:
    """The value a column shows for ``run`` (None when the run has none)."""
    if column == "duration":
        return run.duration_s
    if column == "data":
        return " ".join(f"{d.name}:{d.short}" for d in run.inputs) or None
    if column == "group":
        return run.group
    if column in _ATTRIBUTE_COLUMNS:
        return getattr(run, column)
    kind, _, key = column.partition(".")
    if kind == "metrics":
        return run.metrics.get(key)
    if kind == "params":
        return run.params.get(key)
    if kind == "tags":
        return run.tags.get(key)
    return None


def sort_runs(runs: Sequence[RunSummary], column: str, descending: bool) -> list[RunSummary]:
    """The runs ordered by a column here, as MLflow would: missing values last either way;
    params that all parse as numbers order as numbers."""
    values = [column_value(r, column) for r in runs]
    present = [v for v in values if v is not None and not _is_nan(v)]
    numeric = all(_as_float(v) is not None for v in present)

    def key(pair: tuple[RunSummary, Any]) -> Any:
        return _as_float(pair[1]) if numeric else str(pair[1])

    with_value = [(r, v) for r, v in zip(runs, values, strict=True)
                  if v is not None and not _is_nan(v)]
    without = [r for r, v in zip(runs, values, strict=True) if v is None or _is_nan(v)]
    ordered = sorted(with_value, key=key, reverse=descending)
    return [r for r, _ in ordered] + without


def varying_params(runs: Sequence[RunSummary]) -> list[str]:
    """Params whose values differ between runs of one cell (missing counts as a value),
    sorted: a ``load`` run lacking ``train``'s params is another cell, not a difference."""
    cells: dict[str, list[RunSummary]] = {}
    for run in runs:
        cells.setdefault(run.run_name, []).append(run)
    return sorted({
        name for cell in cells.values() for name in {k for r in cell for k in r.params}
        if len({r.params.get(name) for r in cell}) > 1
    })


def logged(metric: str) -> str:
    """A search filter keeping only the runs that logged ``metric``."""
    if "`" in metric:
        raise InvalidQuery(f"a metric name cannot hold a backtick: {metric!r}")
    return f"metrics.`{metric}` > -1e308"


def common_params(runs: Sequence[RunSummary]) -> dict[str, str]:
    """Params every run has with the same value."""
    if not runs:
        return {}
    first = runs[0].params
    return {
        k: v for k, v in sorted(first.items()) if all(r.params.get(k) == v for r in runs[1:])
    }


def _as_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


# --- MLflow entities -> dataclasses --------------------------------------------------------


def summary(run: Any) -> RunSummary:
    """A :class:`RunSummary` from an ``mlflow.entities.Run``."""
    info, data = run.info, run.data
    inputs = getattr(getattr(run, "inputs", None), "dataset_inputs", None) or []
    return RunSummary(
        run_id=info.run_id,
        run_name=info.run_name or "",
        experiment_id=str(info.experiment_id),
        status=info.status,
        start_time=info.start_time or None,
        end_time=info.end_time or None,
        params=dict(data.params),
        metrics=dict(data.metrics),
        tags=dict(data.tags),
        datasets=[_dataset(d) for d in inputs],
    )


def _dataset(dataset_input: Any) -> Dataset:
    d = dataset_input.dataset
    tags = {t.key: t.value for t in dataset_input.tags or []}
    return Dataset(
        name=d.name,
        digest=d.digest,
        fingerprint=tags.get(store.DATA_FINGERPRINT_TAG) or d.digest,
        context=tags.get(store.DATA_CONTEXT_TAG, ""),
        kind=tags.get(store.DATA_KIND_TAG, ""),
        source_type=d.source_type or "",
        source=d.source or "",
        schema=d.schema or None,
        profile=d.profile or None,
    )


def _experiment(e: Any) -> Experiment:
    return Experiment(
        experiment_id=str(e.experiment_id),
        name=e.name,
        lifecycle_stage=e.lifecycle_stage,
        artifact_location=e.artifact_location or "",
        creation_time=e.creation_time,
        last_update_time=e.last_update_time,
        tags=dict(e.tags or {}),
    )


# --- calling MLflow ------------------------------------------------------------------------


def _client(tracking_uri: str) -> MlflowClient:
    return store.client(tracking_uri)


T = TypeVar("T")


def call(
    tracking_uri: str, call: Callable[[], T], *, filter: str = "", run_id: str | None = None
) -> T:
    """Run one MLflow call; its errors become one-line QueryErrors."""
    try:
        with store.fail_fast():
            return call()
    except QueryError:
        raise
    except Exception as e:
        raise _translate(e, tracking_uri, filter, run_id) from None


def _translate(
    error: Exception, tracking_uri: str, filter: str, run_id: str | None
) -> QueryError:
    from mlflow.exceptions import MlflowException

    where = strip_credentials(tracking_uri)
    message = _one_line(getattr(error, "message", None) or str(error))
    if isinstance(error, MlflowException):
        code = error.error_code
        if code == "INVALID_PARAMETER_VALUE" and filter and "order" not in message.lower():
            return InvalidFilter(f"MLflow rejected the filter {filter!r}: {message}")
        if code == "INVALID_PARAMETER_VALUE":
            return InvalidQuery(f"MLflow refused the request: {message}")
        if code == "RESOURCE_DOES_NOT_EXIST" and run_id is not None:
            return RunNotFound(f"no run {run_id} in {where}")
        return QueryError(f"MLflow at {where}: {message}")
    return QueryError(f"cannot read MLflow at {where}: {type(error).__name__}: {message}")


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."
