"""Reading the model registry: registered models, their versions, aliases and the aliases'
history, and the versions trained on a given data version.

Every version a ``%%track --model`` cell registered carries tags (:mod:`nbmlops.models.register`):
its run, the notebook, the cell's code sha, the data it was trained on, the author, its
metrics, and per alias the JSON list of its reigns. mlflow is imported inside the functions.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from nbmlops import store
from nbmlops.exceptions import ModelError, NbmlopsError, QueryError, StoreNotFound
from nbmlops.models import gates
from nbmlops.models.aliases import history as reigns_of
from nbmlops.models.aliases import quote, search_versions
from nbmlops.redact import strip_credentials

if TYPE_CHECKING:
    from mlflow import MlflowClient

__all__ = [
    "ModelInfo", "VersionInfo", "format_models", "get_model", "list_models", "open_client",
    "store_errors", "version_metrics", "versions_of_runs",
]

_PAGE = 200


@dataclass
class VersionInfo:
    """One registered version, as nbmlops shows it."""

    name: str
    version: str
    run_id: str | None
    created: int  # ms since the epoch
    aliases: list[str]
    tags: dict[str, str]
    source: str = ""
    history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # alias -> reigns

    @property
    def notebook(self) -> str | None:
        return self.tags.get(store.NOTEBOOK_TAG)

    @property
    def notebooks(self) -> set[str]:
        """The notebooks whose Models view lists it: the one that registered it, and for a
        job's version the notebook the job was exported from."""
        return {n for n in (self.notebook, self.tags.get(store.SOURCE_NOTEBOOK_TAG)) if n}

    @property
    def metrics(self) -> dict[str, float]:
        """The metrics it was registered with (from its tags)."""
        found = {}
        for key, value in self.tags.items():
            if key.startswith(store.MODEL_METRIC_TAG_PREFIX):
                try:
                    found[key[len(store.MODEL_METRIC_TAG_PREFIX):]] = float(value)
                except ValueError:
                    continue
        return found

    @property
    def live(self) -> dict[str, float]:
        """Its metrics measured live, served or in shadow (``live_auc``, ...: the scoring
        job's labels joined to its predictions, :mod:`nbmlops.jobs.run.live`)."""
        return _numbers(self.tags, store.LIVE_METRIC_TAG_PREFIX)

    @property
    def data(self) -> dict[str, str]:
        """The data it was trained on: name -> fingerprint."""
        pairs = (line.partition("=") for line in self.tags.get(store.MODEL_DATA_TAG, "")
                 .splitlines())
        return {name: fp for name, sep, fp in pairs if sep}

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "version": self.version, "run_id": self.run_id,
            "created": self.created, "aliases": self.aliases, "notebook": self.notebook,
            "metrics": self.metrics, "data": self.data, "history": self.history,
            "code_sha": self.tags.get(store.CODE_SHA_TAG),
            "author": self.tags.get(store.MODEL_AUTHOR_TAG),
            "gates": self.tags.get(store.MODEL_GATES_TAG),
            "report": store.evaluation_artifact(self.name, self.version) if self.run_id else None,
        }


@dataclass
class ModelInfo:
    """A registered model and its versions, newest first."""

    name: str
    versions: list[VersionInfo]
    aliases: dict[str, str]  # alias -> version

    def version(self, version: str) -> VersionInfo | None:
        return next((v for v in self.versions if v.version == str(version)), None)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "aliases": self.aliases,
                "versions": [v.to_dict() for v in self.versions]}


def open_client(tracking_uri: str) -> MlflowClient:
    """The store's client; ModelError when it does not exist yet (nothing registered)."""
    try:
        return store.client(tracking_uri)
    except StoreNotFound:
        raise ModelError(f"no registered models: nothing has been uploaded to "
                         f"{strip_credentials(tracking_uri)} yet") from None


@contextlib.contextmanager
def store_errors(tracking_uri: str) -> Iterator[None]:
    """MLflow failing under a registry command (a server away, a call refused) as one line;
    nbmlops' own errors pass as they are."""
    try:
        yield
    except NbmlopsError:
        raise
    except Exception as e:
        where = strip_credentials(tracking_uri)
        if _unreachable(e):
            raise QueryError(f"cannot reach the MLflow server at {where} "
                             f"({_unreachable(e)})") from None
        message = _one_line(getattr(e, "message", None) or e).replace(tracking_uri, where)
        raise QueryError(f"MLflow at {where}: {type(e).__name__}: {message}") from None


def _unreachable(error: BaseException) -> str | None:
    """Why the server could not be talked to (connection refused, timed out), else None.
    MLflow wraps the HTTP library's error in its own: the cause is in the chain."""
    seen: BaseException | None = error
    while seen is not None:
        text = str(seen)
        if isinstance(seen, ConnectionRefusedError) or "Connection refused" in text:
            return "connection refused"
        if isinstance(seen, TimeoutError) or "timed out" in text.lower():
            return "timed out"
        if "Name or service not known" in text or "NameResolutionError" in text:
            return "unknown host"
        seen = seen.__cause__ or seen.__context__
    return None


def _version(v: Any, aliases: dict[str, str] | None = None) -> VersionInfo:
    """``aliases``: the model's (alias -> version); a search's versions do not carry theirs."""
    tags = dict(v.tags or {})
    history = {}
    for key in tags:
        if key.startswith(store.ALIAS_HISTORY_TAG_PREFIX):
            alias = key[len(store.ALIAS_HISTORY_TAG_PREFIX):]
            history[alias] = reigns_of(v, alias)
    return VersionInfo(
        name=v.name, version=str(v.version), run_id=v.run_id or None,
        created=int(v.creation_timestamp or 0), tags=tags,
        aliases=sorted(v.aliases or []) if aliases is None else sorted(
            a for a, held in aliases.items() if held == str(v.version)),
        source=v.source or "", history=history,
    )


def _versions(client: MlflowClient, name: str, aliases: dict[str, str]) -> list[VersionInfo]:
    found = [_version(v, aliases) for v in search_versions(client, f"name = '{quote(name)}'")]
    return sorted(found, key=lambda v: int(v.version), reverse=True)


def get_model(client: MlflowClient, name: str) -> ModelInfo:
    """A registered model; ModelError naming those that exist when there is none."""
    from mlflow.exceptions import MlflowException

    try:
        model = client.get_registered_model(name)
    except MlflowException as e:
        if e.error_code != "RESOURCE_DOES_NOT_EXIST":
            if _unreachable(e):
                raise  # the store is away, not the model: store_errors says so
            raise ModelError(f"cannot read registered model {name!r}: {_one_line(e)}") from None
        known = [m.name for m in client.search_registered_models(max_results=20)]
        raise ModelError(f"no registered model {name!r}" + (
            f" (registered: {', '.join(known)})" if known else " (none registered yet)"
        )) from None
    aliases = {str(a): str(v) for a, v in (model.aliases or {}).items()}
    return ModelInfo(model.name, _versions(client, model.name, aliases), aliases)


def list_models(
    client: MlflowClient, notebook: str | None = None, names: Iterable[str] | None = None
) -> list[ModelInfo]:
    """Registered models (those named, else all), each with its versions; ``notebook`` keeps
    only the versions that notebook registered, and the models with any."""
    models: list[ModelInfo] = []
    if names is not None:
        models = [get_model(client, n) for n in names]
    else:
        token = None
        while True:
            page = client.search_registered_models(max_results=_PAGE, page_token=token)
            for found in page:
                aliases = {str(a): str(v) for a, v in (found.aliases or {}).items()}
                models.append(ModelInfo(found.name, _versions(client, found.name, aliases),
                                        aliases))
            token = page.token
            if not token:
                break
    if notebook is not None:
        for m in models:
            m.versions = [v for v in m.versions if notebook in v.notebooks]
        models = [m for m in models if m.versions]
    return sorted(models, key=lambda m: m.name)


def version_metrics(client: MlflowClient, version: VersionInfo) -> dict[str, float]:
    """What gates compare: the metrics of the version's run (latest values), over the ones
    it was registered with."""
    metrics = dict(version.metrics)
    if version.run_id:
        # A deleted run: the tags still say what it scored.
        with contextlib.suppress(Exception):
            run = client.get_run(version.run_id)
            metrics.update(run.data.metrics)
            verdict = run.data.tags.get(store.REPRODUCED_TAG)
            if verdict:  # what the gate `reproduced` reads: 1 when the results came back
                metrics[gates.REPRODUCED] = float(
                    verdict in (store.REPRODUCED_YES, store.REPRODUCED_WITHIN))
    metrics.update(version.live)  # `live_auc >= champion`: measured since, it is newest
    return metrics


def _numbers(tags: dict[str, str], prefix: str) -> dict[str, float]:
    found = {}
    for key, value in tags.items():
        if key.startswith(prefix):
            try:
                found[key[len(prefix):]] = float(value)
            except ValueError:
                continue
    return found


def version_of_job_run(client: MlflowClient, name: str, job_run_id: str) -> VersionInfo | None:
    """The newest version of ``name`` registered by a cell of the job run ``job_run_id``."""
    flt = f"name = '{quote(name)}' and tags.`{store.MODEL_JOB_RUN_TAG}` = '{job_run_id}'"
    found = sorted(search_versions(client, flt), key=lambda v: int(v.version))
    return _version(found[-1]) if found else None


def alias_runs(client: MlflowClient, alias: str = store.CHAMPION) -> dict[str, list[str]]:
    """Runs whose model version holds ``alias``: ``{run_id: ["churn v3", ...]}`` (the compare
    panel marks them). One call per registered model holding it."""
    found: dict[str, list[str]] = {}
    token = None
    while True:
        page = client.search_registered_models(max_results=_PAGE, page_token=token)
        for model in page:
            held = (model.aliases or {}).get(alias)
            if held is None:
                continue
            run_id = client.get_model_version(model.name, str(held)).run_id
            if run_id:
                found.setdefault(run_id, []).append(f"{model.name} v{held}")
        token = page.token
        if not token:
            return found


def versions_of_runs(client: MlflowClient, run_ids: Iterable[str]) -> list[VersionInfo]:
    """The registered versions logged by these runs (lineage: a data version's models)."""
    found: list[VersionInfo] = []
    aliases: dict[str, dict[str, str]] = {}
    for run_id in dict.fromkeys(run_ids):
        for v in search_versions(client, f"run_id = '{run_id}'"):
            if v.name not in aliases:
                held = client.get_registered_model(v.name).aliases or {}
                aliases[v.name] = {str(a): str(n) for a, n in held.items()}
            found.append(_version(v, aliases[v.name]))
    return sorted(found, key=lambda v: (v.name, int(v.version)))


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= 300 else text[:299] + "…"


# -- for a person ---------------------------------------------------------------------------------


def when(ms: int | None) -> str:
    if not ms:
        return "?"
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def format_models(models: list[ModelInfo], metrics: int = 4) -> str:
    """Models, versions (newest first), aliases, and each alias's history."""
    if not models:
        return "no registered models"
    lines: list[str] = []
    for m in models:
        held = "  ".join(f"{a}: v{v}" for a, v in sorted(m.aliases.items())) or "no aliases"
        lines.append(f"{m.name}  ({len(m.versions)} version(s))  {held}")
        for v in m.versions:
            shown = " ".join(f"{k}={val:.4g}" for k, val in sorted(v.metrics.items())[:metrics])
            data = " ".join(f"{n}={fp[:8]}" for n, fp in v.data.items())
            alias = f"  [{', '.join(v.aliases)}]" if v.aliases else ""
            run = f"run {v.run_id[:8]}" if v.run_id else "no run"
            lines.append(f"  v{v.version:<3} {when(v.created)}  {run}{alias}  {shown}".rstrip()
                         + (f"  data {data}" if data else ""))
            report = v.tags.get(store.MODEL_GATES_TAG)
            if report:
                lines.append(f"        gates: {report}")
        events = _events(m)
        if events:
            lines.append("  history:")
            lines.extend(f"    {e}" for e in events)
    return "\n".join(lines)


def _events(model: ModelInfo) -> list[str]:
    """Every reign of every alias but ``challenger``, oldest first, one line each."""
    rows = []
    for v in model.versions:
        for alias, reigns in v.history.items():
            if alias == store.CHALLENGER:
                continue
            for r in reigns:
                until = r.get("until")
                end = f"until {until} ({r.get('ended', 'replaced')})" if until else "until now"
                by = f" by {r['by']}" if r.get("by") else ""
                rows.append((str(r.get("since", "")), f"{alias}: v{v.version} from "
                             f"{r.get('since', '?')} {end}, {r.get('how', '?')}{by}"))
    return [text for _, text in sorted(rows)]


def dumps(models: list[ModelInfo]) -> str:
    return json.dumps([m.to_dict() for m in models])
