"""The Jupyter server extension behind the JupyterLab sidebar: REST endpoints under
``/nbmlops/api/`` (see :mod:`nbmlops.server.routes`).

Enabled on install by ``jupyter-config/server-config/nbmlops.json``; by hand with
``jupyter server extension enable nbmlops.server``. Importing it costs nothing: mlflow is
imported by the first request that reads runs, in a worker thread.
"""

from __future__ import annotations

from typing import Any

__all__ = ["_jupyter_server_extension_points", "_load_jupyter_server_extension"]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "nbmlops.server"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    from nbmlops.server.routes import setup_routes

    setup_routes(server_app.web_app)
    server_app.log.info("nbmlops: sidebar API at %s", server_app.web_app.settings.get(
        "base_url", "/") + "nbmlops/api/")
