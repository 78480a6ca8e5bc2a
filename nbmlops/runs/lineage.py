"""Lineage: which runs read or wrote a version of some data, found by its fingerprint.

Every tracked run logs the data it read and wrote as MLflow dataset inputs whose digest is
the full-content fingerprint (context ``input``, ``output`` or both, in the input tag
``mlflow.data.context``). MLflow's run search filters on them (``datasets.digest``, with
``=`` or ``LIKE``), so finding the runs that used a data version is one search per batch of
experiments; the status line's 8-character prefix is enough. The reverse, what one run read
and wrote, is :func:`run_data`.

Used by ``nbmlops lineage``, and by the compare panel and the sidebar. mlflow is imported
inside the functions, so importing this module costs nothing.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbmlops import config, store
from nbmlops.data import file_names
from nbmlops.exceptions import LineageError, RunNotFound
from nbmlops.redact import strip_credentials

if TYPE_CHECKING:
    from mlflow import MlflowClient

__all__ = [
    "DataVersion", "FileUse", "LineageError", "LineageRun", "RecordRun", "file_path", "full_run_id",
    "normalize", "notebook_files", "run_data", "run_of_record", "runs_using", "source_path",
]

#: A fingerprint or a prefix of one: the status line shows 8 of its 32 hex characters.
_HEX = re.compile(r"^[0-9a-f]{8,64}$")
#: Experiments per search call (the filter is the same; MLflow takes a list of ids).
_BATCH = 100
_PAGE = 1000


@dataclass(frozen=True)
class LineageRun:
    """A run that read (``input``) or wrote (``output``) the data version asked about."""

    run_id: str
    run_name: str
    experiment_id: str
    experiment: str
    status: str
    start_time: int | None  # ms since the epoch
    dataset: str  # the data's name in the run: a variable, or a file path
    digest: str  # the full fingerprint
    contexts: tuple[str, ...]
    notebook: str | None = None

    @property
    def read(self) -> bool:
        return "input" in self.contexts

    @property
    def wrote(self) -> bool:
        return "output" in self.contexts


@dataclass(frozen=True)
class DataVersion:
    """One data version a run read or wrote."""

    name: str
    digest: str
    contexts: tuple[str, ...]
    kind: str | None = None


@dataclass(frozen=True)
class RecordRun:
    """The run a spooled record became."""

    record_id: str
    run_id: str
    run_name: str
    experiment_id: str
    experiment: str
    status: str
    start_time: int | None


def run_of_record(record_id: str, tracking_uri: str | None = None) -> RecordRun | None:
    """The run of a record (its id, or the first 8+ characters a status line shows); None
    when no run of the store came from such a record (yet)."""
    prefix = record_id.strip().lower()
    uri = config.store_uri(tracking_uri)
    if not _HEX.match(prefix) or len(prefix) > 32 or not store.exists(uri):
        return None
    client = store.client(uri)
    names = {e.experiment_id: e.name for e in _experiments(client)}
    clause = f"tags.`{store.RECORD_ID_TAG}` LIKE '{prefix}%'"
    for run in _search(client, list(names), clause, 1) if names else ():
        info = run.info
        return RecordRun(run.data.tags[store.RECORD_ID_TAG], info.run_id, info.run_name or "",
                         str(info.experiment_id), names.get(str(info.experiment_id), ""),
                         info.status, info.start_time or None)
    return None


def full_run_id(run_id: str, tracking_uri: str) -> str:
    """The run id that ``run_id`` starts (the 8 characters a status line and the sidebar
    show are enough); ``run_id`` itself when it is a whole id, is not hex, or starts none.
    RunNotFound when it starts more than one."""
    prefix = run_id.strip().lower()
    if not _HEX.match(prefix) or len(prefix) >= 32 or not store.exists(tracking_uri):
        return run_id
    client = store.client(tracking_uri)
    ids = [e.experiment_id for e in _experiments(client)]
    found = [r.info.run_id for r in _search(
        client, ids, f"attributes.run_id LIKE '{prefix}%'", 2)] if ids else []
    if len(found) > 1:
        raise RunNotFound(f"run id {run_id} starts more than one run "
                          f"({', '.join(found)}): give more of its characters")
    return found[0] if found else run_id


def normalize(fingerprint: str) -> str:
    """A fingerprint (or a prefix of 8 or more hex characters) in lower case; LineageError
    with a one-line reason otherwise."""
    text = fingerprint.strip().lower()
    if not _HEX.match(text):
        raise LineageError(
            f"{fingerprint!r} is not a fingerprint: give 8 to 32 hex characters "
            "(the status line shows the first 8), or the path of a file"
        )
    return text


def runs_using(
    fingerprint: str,
    tracking_uri: str | None = None,
    *,
    experiments: Sequence[str] | None = None,
    max_results: int = 10_000,
) -> list[LineageRun]:
    """The runs that read or wrote the data whose fingerprint is (or starts with)
    ``fingerprint``, oldest first. ``experiments`` (names or ids) narrows the search; by
    default every active experiment of the store is searched."""
    prefix = normalize(fingerprint)
    uri = config.store_uri(tracking_uri)
    if not store.exists(uri):
        return []  # nothing was uploaded there yet
    client = store.client(uri)
    ids = _experiment_ids(client, experiments)
    if not ids:
        return []
    names = {e.experiment_id: e.name for e in _experiments(client)}
    # Digests are lower-case hex, so LIKE's case rules and wildcards cannot misfire.
    clause = f"= '{prefix}'" if len(prefix) >= 32 else f"LIKE '{prefix}%'"
    found: list[LineageRun] = []
    for batch in (ids[i : i + _BATCH] for i in range(0, len(ids), _BATCH)):
        for run in _search(client, batch, f"datasets.digest {clause}", max_results):
            found.extend(_uses(run, prefix, names))
            if len(found) >= max_results:
                break
    found.sort(key=lambda r: (r.start_time or 0, r.run_id))
    return found[:max_results]


def run_data(run_id: str, tracking_uri: str | None = None) -> list[DataVersion]:
    """The data versions (fingerprints) a run read and wrote."""
    uri = config.store_uri(tracking_uri)
    if not store.exists(uri):
        raise RunNotFound(f"no run {run_id} in {strip_credentials(uri)}")
    try:
        run = store.client(uri).get_run(run_id)
    except Exception as e:
        raise RunNotFound(f"no run {run_id} in {strip_credentials(uri)}: {_one_line(e)}") from None
    inputs = run.inputs.dataset_inputs if run.inputs is not None else []
    return [
        DataVersion(d.dataset.name, d.dataset.digest, _contexts(d), _tag(d, store.DATA_KIND_TAG))
        for d in inputs
    ]


@dataclass(frozen=True)
class FileUse:
    """A file (or folder) a notebook's tracked run read or wrote."""

    path: str  # absolute, here
    digest: str
    contexts: tuple[str, ...]
    run_id: str


def notebook_files(source_names: Sequence[str], tracking_uri: str,
                   max_runs: int = 200, root: Path | None = None) -> list[FileUse]:
    """The files the latest ``max_runs`` tracked runs of the notebooks named
    ``source_names`` (``mlflow.source.name``) read and wrote, newest run first. Runs name
    files relative to the project (``root``, the current one by default), or absolute."""
    if not source_names or not store.exists(tracking_uri):
        return []
    root = root or config.project_root()
    client = store.client(tracking_uri)
    ids = _experiment_ids(client, None)
    if not ids:
        return []
    found: list[FileUse] = []
    for name in dict.fromkeys(source_names):  # MLflow's search has no IN for tags
        quoted = "'" + name.replace("'", "\\'") + "'"
        for batch in (ids[i : i + _BATCH] for i in range(0, len(ids), _BATCH)):
            try:
                runs = client.search_runs(
                    batch, filter_string=f"tags.`{store.SOURCE_NAME_TAG}` = {quoted}",
                    max_results=max_runs, order_by=["attributes.start_time DESC"])
            except Exception as e:
                raise LineageError(f"cannot search runs: {_one_line(e)}") from None
            for run in runs:
                for d in run.inputs.dataset_inputs if run.inputs is not None else []:
                    path = file_path(d, root)
                    if path is not None:
                        found.append(FileUse(path, d.dataset.digest, _contexts(d),
                                             run.info.run_id))
    return found


def file_path(dataset_input: Any, root: Path) -> str | None:
    """Where the file or folder an MLflow dataset input names is here; None for data that
    is not a local file (see :func:`source_path`)."""
    return source_path(_tag(dataset_input, store.DATA_KIND_TAG),
                       dataset_input.dataset.source, root)


def source_path(kind: str | None, source: str | None, root: Path) -> str | None:
    """Where a recorded file or folder is here, from its kind and its MLflow dataset source
    (JSON with a ``uri``): a project-relative name is under ``root``; an absolute one (runs
    recorded before, files outside the project) is taken as it is. None for other data."""
    if kind not in ("file", "directory"):
        return None
    try:
        parsed = json.loads(source or "{}")
    except ValueError:
        return None
    uri = parsed.get("uri") if isinstance(parsed, dict) else None
    if not isinstance(uri, str) or not uri or ("://" in uri and not uri.startswith("file://")):
        return None
    return file_names.path_of(uri.removeprefix("file://"), root)


# -- MLflow --------------------------------------------------------------------------------------


def _experiments(client: MlflowClient) -> Iterator[Any]:
    token = None
    while True:
        try:
            page = client.search_experiments(max_results=_PAGE, page_token=token)
        except Exception as e:
            raise LineageError(f"cannot search the MLflow store: {_one_line(e)}") from None
        yield from page
        token = page.token
        if not token:
            return


def _experiment_ids(client: MlflowClient, wanted: Sequence[str] | None) -> list[str]:
    every = list(_experiments(client))
    if wanted is None:
        return [e.experiment_id for e in every]
    ids: list[str] = []
    for item in wanted:
        match = [e for e in every if item in (e.name, e.experiment_id)]
        if not match:
            raise LineageError(f"no experiment {item!r} in the MLflow store")
        ids.extend(e.experiment_id for e in match)
    return ids


def _search(client: MlflowClient, ids: list[str], filter_string: str, limit: int) -> Iterator[Any]:
    token = None
    seen = 0
    while seen < limit:
        try:
            page = client.search_runs(
                ids, filter_string=filter_string, max_results=min(_PAGE, limit - seen),
                page_token=token, order_by=["attributes.start_time ASC"],
            )
        except Exception as e:
            raise LineageError(f"cannot search runs: {_one_line(e)}") from None
        yield from page
        seen += len(page)
        token = page.token
        if not token:
            return


def _uses(run: Any, prefix: str, names: dict[str, str]) -> Iterator[LineageRun]:
    for d in run.inputs.dataset_inputs if run.inputs is not None else []:
        if d.dataset.digest.startswith(prefix):
            yield LineageRun(
                run_id=run.info.run_id,
                run_name=run.info.run_name or "",
                experiment_id=run.info.experiment_id,
                experiment=names.get(run.info.experiment_id, run.info.experiment_id),
                status=run.info.status,
                start_time=run.info.start_time,
                dataset=d.dataset.name,
                digest=d.dataset.digest,
                contexts=_contexts(d),
                notebook=run.data.tags.get(store.SOURCE_NAME_TAG),
            )


def _contexts(dataset_input: Any) -> tuple[str, ...]:
    value = _tag(dataset_input, store.DATA_CONTEXT_TAG) or ""
    return tuple(c for c in value.split(",") if c)


def _tag(dataset_input: Any, key: str) -> str | None:
    return next((t.value for t in dataset_input.tags if t.key == key), None)


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= 300 else text[:299] + "…"


def fingerprint_argument(text: str) -> str:
    """What ``nbmlops lineage`` was given, as a fingerprint: the path of an existing file or
    folder is fingerprinted (the runs that used it as it is now), anything else must be a
    fingerprint or a prefix of one."""
    if os.path.exists(text):
        from nbmlops.data.fingerprints import FingerprintError, fingerprint_file

        try:
            return fingerprint_file(text)
        except FingerprintError as e:
            raise LineageError(str(e)) from None
    return normalize(text)
