"""Artifact locations that follow the project: ``nbmlops-store:mlruns/<experiment>``.

MLflow keeps an experiment's artifact location, and under it every run's artifact URI and
every logged model's (which a registered version's storage location copies), as an absolute
path: a relative one is resolved against the working directory when the experiment is made.
A project folder that is moved, cloned or checked out elsewhere then points at the old place,
and MLflow has no call that changes a run's artifact URI afterwards.

So the experiments nbmlops makes in an embedded sqlite store name their artifacts relative to
the store, under this scheme, and :func:`repository` (registered with MLflow as an
``mlflow.artifact_repository`` plugin in ``pyproject.toml``) resolves such a location against
the folder of the sqlite database being read, then hands over to MLflow's own local artifact
repository. Plain MLflow code (``mlflow.pyfunc.load_model("models:/name@champion")``,
``mlflow ui``, ``MlflowClient.download_artifacts``) reads them wherever the folder now is, as
long as nbmlops is installed beside it.
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

from nbmlops import store

if TYPE_CHECKING:
    from mlflow.store.artifact.local_artifact_repo import LocalArtifactRepository

SCHEME = "nbmlops-store"
#: The tracking store an ``mlflow server`` / ``mlflow ui`` process serves (MLflow hands it to
#: its workers in this variable); artifact requests there come without a tracking URI.
_SERVER_STORE_ENV = "_MLFLOW_SERVER_FILE_STORE"


def location(relative: str) -> str:
    """The artifact location of ``relative`` (posix, under the store's folder)."""
    return f"{SCHEME}:{relative}"


def available() -> bool:
    """Whether MLflow in this environment knows the scheme (nbmlops' entry point is installed):
    otherwise a location under it could be written but not read, so absolute paths it is."""
    from mlflow.store.artifact.artifact_repository_registry import (
        get_registered_artifact_repositories,
    )

    return SCHEME in get_registered_artifact_repositories()


def resolve(artifact_uri: str, tracking_uri: str | None) -> Path:
    """The local folder of ``artifact_uri`` for the store at ``tracking_uri`` (else the store
    an MLflow server process serves, else MLflow's current tracking URI)."""
    relative = posixpath.normpath(artifact_uri.split(":", 1)[1].lstrip("/"))
    if relative == ".." or relative.startswith("../"):
        raise ValueError(f"{artifact_uri!r} leaves the store's folder")
    folder = _store_folder(tracking_uri)
    return folder / relative if relative != "." else folder


def _store_folder(tracking_uri: str | None) -> Path:
    candidates = [tracking_uri, os.environ.get(_SERVER_STORE_ENV)]
    if not any(candidates):
        import mlflow

        candidates.append(mlflow.get_tracking_uri())
    for uri in candidates:
        if not uri:
            continue
        db = store.sqlite_path(uri)
        if db is None:
            break  # a tracking URI that is not a sqlite store: nothing to resolve against
        if not db.parent.is_dir():
            db = Path(unquote(str(db)))  # MLflow's own default URI is %-quoted
        return db.parent.absolute()
    raise ValueError(
        f"{SCHEME}: locations are relative to a sqlite store's folder, and the tracking URI "
        f"{(tracking_uri or '(none)')!r} is not one: read this store through its sqlite:/// URI"
    )


def repository(artifact_uri: str, tracking_uri: str | None = None,
               registry_uri: str | None = None) -> LocalArtifactRepository:
    """MLflow's local artifact repository of the folder ``artifact_uri`` names (the plugin's
    factory: MLflow calls it with these arguments)."""
    from mlflow.exceptions import MlflowException
    from mlflow.store.artifact.local_artifact_repo import LocalArtifactRepository

    try:
        folder = resolve(artifact_uri, tracking_uri)
    except ValueError as e:
        raise MlflowException(str(e)) from None
    return LocalArtifactRepository(str(folder), tracking_uri=tracking_uri,
                                   registry_uri=registry_uri)
