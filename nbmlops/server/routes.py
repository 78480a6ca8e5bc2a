"""The sidebar's REST API: every route under ``<base_url>nbmlops/api/``."""

from __future__ import annotations

from typing import Any

from jupyter_server.utils import url_path_join

from nbmlops.server import handlers

PREFIX = handlers.API_PREFIX

#: (pattern relative to PREFIX, handler); the auth test walks this list.
ROUTES: list[tuple[str, type[handlers.NbmlopsHandler]]] = [
    ("notebook", handlers.NotebookHandler),
    ("experiments", handlers.ExperimentsHandler),
    ("runs", handlers.RunsHandler),
    (r"runs/(?P<run_id>[0-9A-Za-z_-]+)", handlers.RunHandler),
    (r"runs/(?P<run_id>[0-9A-Za-z_-]+)/image", handlers.ImageHandler),
    ("diff", handlers.DiffHandler),
    ("spool", handlers.SpoolHandler),
    ("models", handlers.ModelsHandler),
    ("export", handlers.ExportHandler),
    ("mlflow-ui", handlers.MlflowUiHandler),
    (rf"{handlers.MLFLOW_LINK}/(?P<store_path>.+)", handlers.MlflowLinkHandler),
    ("jobs", handlers.JobsHandler),
    ("jobs/run", handlers.JobRunHandler),
    ("jobs/schedule", handlers.JobScheduleHandler),
    ("monitor", handlers.MonitorHandler),
]


def setup_routes(web_app: Any) -> None:
    base = web_app.settings.get("base_url", "/")
    web_app.add_handlers(
        ".*$", [(url_path_join(base, PREFIX, pattern), handler) for pattern, handler in ROUTES]
    )
