"""Request handlers of the sidebar's REST API; each reads through :mod:`nbmlops.runs.query`.

Every verb is ``@tornado.web.authenticated``. MLflow is only called in worker threads, so a
slow or unreachable tracking server never blocks Jupyter's event loop. An
:class:`~nbmlops.exceptions.NbmlopsError` becomes a 4xx reply ``{"message", "error"}``.
"""

from __future__ import annotations

import asyncio
import html
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields, replace
from pathlib import Path
from typing import Any, TypeVar

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from nbmlops import config, store
from nbmlops.exceptions import (
    ArtifactTooLarge,
    ConfigError,
    ExperimentNotFound,
    GateError,
    InvalidQuery,
    JobError,
    ModelError,
    NbmlopsError,
    NotebookNotFound,
    OutsideRoot,
    QueryError,
    RunNotFound,
    StoreNotFound,
)
from nbmlops.redact import strip_credentials
from nbmlops.runs.entities import RunPage
from nbmlops.server import answers, notebook
from nbmlops.server.jsonable import jsonable
from nbmlops.server.shared import InFlight

T = TypeVar("T")

#: Where every route of the sidebar's API lives, under the server's base URL.
API_PREFIX = "nbmlops/api"
MLFLOW_LINK = "mlflow"  # the lasting route to a store's MLflow UI (MlflowLinkHandler)

MAX_PAGE_SIZE = 200
# MLflow calls block (sqlite, HTTP); a few threads keep one slow call from queueing the rest.
# Identical GETs in flight at once are answered by one read (nbmlops.server.shared).
_executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="nbmlops-api")
_reads = InFlight()


#: The HTTP status of each kind of error, most specific first; anything else is a 400.
STATUS_OF: tuple[tuple[type[NbmlopsError], int], ...] = (
    (OutsideRoot, 403),
    (NotebookNotFound, 404),
    (ExperimentNotFound, 404),
    (RunNotFound, 404),  # and ArtifactNotFound
    (ArtifactTooLarge, 413),
    (StoreNotFound, 404),
    (GateError, 400),
    (ModelError, 404),  # no such registered model or version
    (InvalidQuery, 400),  # a bad filter, order, page token or run id
    (QueryError, 424),  # the tracking store failed: the request itself may be fine
    (ConfigError, 400),
    (JobError, 400),  # a job that is not there, or a parameter it does not take
)


def status_of(error: NbmlopsError) -> int:
    """The HTTP status telling what went wrong (always 4xx), by the error's class."""
    return next((status for kind, status in STATUS_OF if isinstance(error, kind)), 400)


class NbmlopsHandler(APIHandler):
    """Shared parts: the notebook a request is about, worker threads, errors as JSON."""

    @property
    def server_root(self) -> Path:
        root = self.settings.get("server_root_dir") or self.contents_manager.root_dir
        return Path(root).expanduser()

    def where(self) -> notebook.Where:
        return notebook.resolve(self.server_root, self.get_argument("notebook", None))

    def lasting_link(self, tracking_uri: str) -> str | None:
        """This server's route to the UI of a sqlite store inside its root (None else)."""
        db = store.sqlite_path(tracking_uri)
        try:
            path = db.resolve().relative_to(self.server_root.resolve()) if db else None
        except ValueError:
            return None
        return url_path_join(self.base_url, API_PREFIX, MLFLOW_LINK, path.as_posix()) if path \
            else None

    async def blocking(self, call: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(_executor, call, *args)

    async def reply(self, call: Callable[[], Any]) -> None:
        """Run ``call`` in a worker thread and send its result, or its error, as JSON; a GET
        asked again while the same one runs gets that one's answer."""
        def answer() -> str:  # serialised in the worker too: shared answers are sent as is
            return json.dumps(jsonable(call()))

        try:
            if self.request.method == "GET":
                key = (type(self).__name__, str(self.server_root), self.request.uri)
                body = await _reads.share(key, lambda: self.blocking(answer))
            else:
                body = await self.blocking(answer)
        except NbmlopsError as e:
            self.fail(e)
            return
        self.finish(body)

    def fail(self, error: NbmlopsError) -> None:
        self.set_status(status_of(error))
        self.set_header("Content-Type", "application/json")
        message = notebook.without_server_paths(str(error), self.server_root)
        self.finish(json.dumps(jsonable(answers.ErrorAnswer(message, type(error).__name__))))

    def json_body(self) -> dict[str, Any]:
        try:
            body = self.get_json_body() or {}
        except tornado.web.HTTPError:
            raise tornado.web.HTTPError(400, "the body must be a JSON object") from None
        if not isinstance(body, dict):
            raise tornado.web.HTTPError(400, "the body must be a JSON object")
        return body

    def int_argument(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.get_argument(name, None)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise tornado.web.HTTPError(400, f"{name} must be an integer") from None
        return max(low, min(high, value))


class NotebookHandler(NbmlopsHandler):
    """``GET notebook?notebook=PATH``: the notebook's experiment, store, UI and tracked cells."""

    @tornado.web.authenticated
    async def get(self) -> None:
        await self.reply(lambda: self.where().public(self.server_root))


class ExperimentsHandler(NbmlopsHandler):
    """``GET experiments[?notebook=PATH]``: the store's experiments, latest updated first."""

    @tornado.web.authenticated
    async def get(self) -> None:
        from nbmlops.runs import query

        def found() -> list[Any]:
            return [replace(e, artifact_location=_shown_location(e.artifact_location,
                                                                 self.server_root))
                    for e in query.experiments(self.where().tracking_uri)]

        await self.reply(found)


class RunsHandler(NbmlopsHandler):
    """``GET runs?notebook=PATH[&experiment=][&cell=][&filter=][&order_by=...][&page_size=]
    [&page_token=]``: one page of runs, newest first unless ordered otherwise.

    Without ``experiment`` it is the notebook's; when that has no runs yet the page is empty
    (``experiment`` null) rather than an error.
    """

    @tornado.web.authenticated
    async def get(self) -> None:
        from nbmlops.runs import query

        experiment = self.get_argument("experiment", None)
        cell = self.get_argument("cell", None) or None
        filter_ = self.get_argument("filter", "")
        order_by = self.get_arguments("order_by") or None
        size = self.int_argument("page_size", query.DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
        token = self.get_argument("page_token", None) or None

        def page() -> Any:
            where = self.where()
            if experiment:
                return query.search_runs(
                    where.tracking_uri, experiment, filter=filter_,
                    cell=cell, order_by=order_by, max_results=size, page_token=token,
                )
            return notebook_page(self.server_root, where, filter_, cell, order_by, size, token)

        await self.reply(page)


class RunHandler(NbmlopsHandler):
    """``GET runs/RUN_ID[?notebook=PATH]``: one run in full, with its MLflow UI link."""

    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        from nbmlops import config
        from nbmlops.runs import query

        def details() -> answers.RunAnswer:
            where = self.where()
            found = query.get_run(where.tracking_uri, run_id)
            query.attach_candidates(where.tracking_uri, [found.run])
            return answers.RunAnswer(
                **{f.name: getattr(found, f.name) for f in fields(found)},
                url=config.run_url(where.ui_url, found.run.experiment_id, run_id))

        await self.reply(details)


class ImageHandler(NbmlopsHandler):
    """``GET runs/RUN_ID/image?path=figures/x.png[&notebook=PATH]``: one image artifact of
    the run, with its type; only paths the run lists, at most 10 MB."""

    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        from nbmlops.runs import query

        path = self.get_argument("path", "")
        try:
            image = await self.blocking(query.read_image, self.where().tracking_uri, run_id, path)
        except NbmlopsError as e:
            self.fail(e)
            return
        self.set_header("Content-Type", image.content_type)
        self.set_header("X-Content-Type-Options", "nosniff")
        # An SVG could carry script: shown as an image it cannot run; opened alone, the
        # sandbox keeps it from the page's origin.
        self.set_header("Content-Security-Policy", "sandbox; default-src 'none'; "
                        "style-src 'unsafe-inline'; img-src data:")
        # A run's artifacts never change once it has ended.
        self.set_header("Cache-Control", "private, max-age=86400")
        self.finish(image.data)

    def finish(self, *args: Any, **kwargs: Any) -> Any:
        # APIHandler.finish would label the image JSON; errors set their own type in fail().
        return super(APIHandler, self).finish(*args, **kwargs)


class DiffHandler(NbmlopsHandler):
    """``GET diff?run=A&run=B[&notebook=PATH]``: what differs between runs (A the baseline)."""

    @tornado.web.authenticated
    async def get(self) -> None:
        from nbmlops.runs import query

        runs = self.get_arguments("run")
        if len(runs) < 2:
            raise tornado.web.HTTPError(400, "give two or more run=RUN_ID")
        await self.reply(lambda: query.diff_runs(self.where().tracking_uri, runs))


class ModelsHandler(NbmlopsHandler):
    """``GET models?notebook=PATH[&all=1]``: the registered models this notebook's cells
    registered (every model of the store with ``all``), their versions newest first, aliases,
    alias history, gate summaries and evaluation reports; ``champion_runs`` maps each model
    to the run of its champion, for the compare panel to mark."""

    @tornado.web.authenticated
    async def get(self) -> None:
        from nbmlops import config, store
        from nbmlops.models import registry

        every = self.get_argument("all", "") in ("1", "true", "yes")

        def found() -> answers.NotebookModels:
            where = self.where()
            source = (config.source_name(str(self.server_root / where.path), where.project_root)
                      if where.path else None)
            if not store.exists(where.tracking_uri):
                return answers.NotebookModels(source, [], {}, store.CHAMPION)
            with store.fail_fast():
                client = store.client(where.tracking_uri)
                models = registry.list_models(client, None if every else source)
            champions = {}
            for m in models:
                held = m.aliases.get(store.CHAMPION)
                version = m.version(held) if held else None
                if version is not None and version.run_id:
                    champions[m.name] = version.run_id
            return answers.NotebookModels(source, [answers.registered_model(m) for m in models],
                                          champions, store.CHAMPION)

        await self.reply(found)


class SpoolHandler(NbmlopsHandler):
    """``GET spool[?notebook=PATH]``: records waiting to sync, and the last sync error."""

    @tornado.web.authenticated
    async def get(self) -> None:
        from nbmlops import config
        from nbmlops.sync import worker

        def status() -> answers.SpoolStatus:
            info = worker.status(config.spool_dir(self.where().project_root))
            return answers.SpoolStatus(**{
                **info, "spool": notebook.shown(info["spool"], self.server_root),
                "log": notebook.shown(info["log"], self.server_root)})

        await self.reply(status)


class ExportHandler(NbmlopsHandler):
    """``POST export`` with ``{"notebook": PATH, "name"?, "schedule"?: CRON, "timezone"?,
    "targets"?: [...], "force"?: bool}``: the notebook exported as a job folder
    (``jobs/NAME/`` beside it, see :func:`nbmlops.jobs.export.export_job`).

    The notebook and the folder written must both be inside the server's root (403 else);
    an invalid cron expression, target or name, or lint errors without ``force``, are a 400
    and nothing is written.
    """

    @tornado.web.authenticated
    async def post(self) -> None:
        body = self.json_body()
        await self.reply(lambda: export_notebook(self.server_root, body))


class MlflowUiHandler(NbmlopsHandler):
    """``POST mlflow-ui?notebook=PATH``: ``{"state": "ready", "url"}``, the MLflow UI's address
    for the notebook's store; for a local store, ``mlflow ui`` is started here the first time
    and the answer is at once ``202 {"state": "starting", "url": null}`` until it is up: ask
    again (see :mod:`nbmlops.server.mlflow_ui`)."""

    @tornado.web.authenticated
    async def post(self) -> None:
        from nbmlops.server import mlflow_ui

        def start() -> mlflow_ui.Answer:
            where = self.where()
            return mlflow_ui.ui_for(where.project_root, where.tracking_uri, where.ui_url,
                                    self.lasting_link(where.tracking_uri))

        try:
            answer = await self.blocking(start)
        except NbmlopsError as e:
            self.fail(e)
            return
        if answer.state == mlflow_ui.STARTING:
            self.set_status(202)
        self.finish(json.dumps(jsonable(answer)))


class MlflowLinkHandler(NbmlopsHandler):
    """``GET mlflow/STORE#/experiments/…``: the browser sent on to the MLflow UI of the sqlite
    store at STORE (relative to the server's root), started when none runs.

    Status lines saved in notebooks link here rather than to the UI's address: the UI gets a
    free port each time it starts, this route stays. The part after ``#`` (MLflow's page) never
    reaches a server, so the answer is a small page whose script adds it to the UI's address;
    while the UI starts, a page saying so that asks again every second.
    """

    @tornado.web.authenticated
    async def get(self, store_path: str) -> None:
        from nbmlops.server import mlflow_ui

        def start() -> mlflow_ui.Answer:
            db = notebook.inside(self.server_root, store_path)
            uri = f"sqlite:///{db}"
            root = config.project_root(db.parent)
            # Only a project's own store: `mlflow ui` would add its tables to any other file.
            if not db.is_file() or config.tracking_uri(root) != uri:
                raise StoreNotFound(f"no project's MLflow store at {store_path!r}")
            return mlflow_ui.ui_for(root, uri, config.ui_url(root, uri), self.lasting_link(uri))

        try:
            answer = await self.blocking(start)
        except NbmlopsError as e:
            self.fail(e)
            return
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        if answer.url is None:
            self.set_status(202)
            self.finish("<!doctype html><title>Starting MLflow…</title>"
                        "<script>setTimeout(() => location.reload(), 1000)</script>"
                        "<p>Starting MLflow…</p>")
            return
        url = answer.url
        target = json.dumps(url.rstrip("/") + "/").replace("<", "\\u003c")
        self.finish(
            "<!doctype html><title>MLflow</title>"
            f"<script>location.replace({target} + location.hash)</script>"
            f'<a href="{html.escape(url)}">MLflow</a>')


class JobsHandler(NbmlopsHandler):
    """``GET jobs?notebook=PATH``: the jobs exported from the notebook (see
    :mod:`nbmlops.server.jobs`)."""

    @tornado.web.authenticated
    async def get(self) -> None:
        from nbmlops.server import jobs

        path = self.get_argument("notebook", "")
        await self.reply(lambda: jobs.jobs_of(self.server_root, path))


class JobRunHandler(NbmlopsHandler):
    """``POST jobs/run`` with ``{"notebook", "job", "parameters"?}``: run the job now, in
    the background."""

    @tornado.web.authenticated
    async def post(self) -> None:
        from nbmlops.server import jobs

        body = self.json_body()
        await self.reply(lambda: jobs.run_now(self.server_root, body))


class JobScheduleHandler(NbmlopsHandler):
    """``POST jobs/schedule`` with ``{"notebook", "job", "install": bool}``: install or
    remove the job's cron entry."""

    @tornado.web.authenticated
    async def post(self) -> None:
        from nbmlops.server import jobs

        body = self.json_body()
        await self.reply(lambda: jobs.set_schedule(self.server_root, body))


class MonitorHandler(NbmlopsHandler):
    """``GET monitor?notebook=PATH``: the monitoring of the jobs exported from the notebook:
    champion, scoring runs, drift per column over time, open alerts, last retraining."""

    @tornado.web.authenticated
    async def get(self) -> None:
        from nbmlops.server import jobs

        path = self.get_argument("notebook", "")
        await self.reply(lambda: jobs.monitors_of(self.server_root, path))


def notebook_page(server_root: Path, where: notebook.Where, filter_: str, cell: str | None,
                  order_by: list[str] | None, size: int, token: str | None) -> Any:
    """One page of every run of the notebook: its experiment's, its jobs' and pipeline
    steps' (tagged with it), and those its saved outputs name (a renamed notebook's, a job
    output's); empty (``experiment`` null) when there are none yet."""
    from nbmlops.runs import notebook_runs, query

    referenced = notebook.referenced_runs(server_root, where.path)
    own, places = notebook_runs.sources(where.tracking_uri, where.experiment,
                                        where.source_name, referenced)
    page = notebook_runs.notebook_runs(
        where.tracking_uri, places, experiment=own, filter=filter_, cell=cell,
        order_by=order_by, max_results=size, page_token=token) if places else None
    if page is None:
        return RunPage(None, [], None, list(order_by or query.DEFAULT_ORDER), filter_)
    return page


def export_notebook(server_root: Path, body: dict[str, Any]) -> answers.ExportResult:
    """Write the job folder the request ``body`` asks for; what the sidebar shows of it.

    The name, schedule, timezone and targets are checked by the export itself, as for
    ``nbmlops export``: a job.yaml's schedule stays when none is sent, a target that needs
    no schedule (the image) needs none here either.
    """
    from nbmlops.jobs.export import export_job
    from nbmlops.jobs.spec import check_name, default_name

    path = _text(body, "notebook")
    if not path:
        raise ConfigError("give the notebook to export: {\"notebook\": PATH}")
    nb_path = notebook.inside(server_root, path)
    if nb_path.suffix != ".ipynb":
        raise ConfigError(f"{path!r} is not a notebook (.ipynb)")
    if not nb_path.is_file():
        raise NotebookNotFound(f"no notebook {path!r}")
    asked = _text(body, "name")
    targets = body.get("targets") or []
    if isinstance(targets, str):
        targets = [targets]
    if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
        raise ConfigError("targets must be a list of names")
    root = Path(server_root).resolve()
    # The folder the export would use (its name checked by the export's rule), checked to be
    # inside the root: a `jobs` symlink leaving it is refused before anything is written.
    name = check_name(asked) if asked else default_name(nb_path.stem)
    folder = notebook.inside(root, (nb_path.parent / "jobs" / name).relative_to(root).as_posix())
    # mutation-equivalent: out=None; export_job picks the same folder, checked above.
    result = export_job(
        nb_path, out=folder, name=name, cron=_text(body, "schedule") or None,
        timezone=_text(body, "timezone") or None, targets=targets,
        force=_flag(body, "force"),
    )
    schedule = result.job.schedule
    return answers.ExportResult(
        name=result.job.name,
        folder=result.folder.relative_to(root).as_posix(),
        files=result.files,
        created=result.created,
        schedule=answers.ExportSchedule(schedule.cron, schedule.timezone, list(schedule.targets)),
        parameters=[p.name for p in result.job.parameters],
        warnings=[str(f) for f in result.findings if f.severity != "error"],
        notes=result.notes,
        changes=result.changes,
    )


def _shown_location(location: str, server_root: Path) -> str:
    # An artifact location is a path, a file: URI or a remote URI (s3://, mlflow-artifacts:)
    if location.startswith("file://"):
        return "file://" + notebook.shown(location[len("file://"):], server_root)
    if location.startswith("/"):
        return notebook.shown(location, server_root)
    return strip_credentials(location)


def _flag(body: dict[str, Any], key: str) -> bool:
    value = body.get(key, False)
    if not isinstance(value, bool):  # "no" must not mean yes
        raise ConfigError(f"{key} must be true or false")
    return value


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ConfigError(f"{key} must be a string")
    return value.strip()
