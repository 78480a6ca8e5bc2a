"""Which project a run is reproduced in: the one it was made in, or none.

A run names its notebook and its data files relative to its project, so a slice re-run in
another project reads that project's files and gives a verdict about nothing. The run's
project is this one (the default); or, when the store is a file inside another project (its
``mlflow.db``), that project if it holds the run's notebook. Then it must be that project:
a run made in a repository with another git remote, or from a notebook the project does not
have, is refused.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlparse

from nbmlops import config, store
from nbmlops.exceptions import ReproduceError
from nbmlops.runs.entities import RunSummary
from nbmlops.track import environment


def home_of(run: RunSummary, tracking_uri: str, here: Path) -> Path:
    """The project to re-run ``run`` in (``here`` unless the store lies in another project
    that holds the run's notebook); raises when the run cannot be from it."""
    notebook = recorded_notebook(run)
    root = here
    owner = store_project(tracking_uri)
    if owner is not None and owner != here and notebook and (owner / notebook).is_file():
        root = owner
    remote, recorded = environment.git_remote(root), run.tags.get(store.GIT_REPO_TAG)
    if remote and recorded and repository_key(remote) != repository_key(recorded):
        raise ReproduceError(
            f"run {run.run_id[:8]} was made in the repository {recorded}, and this project "
            f"({root}) is {remote}: reproduce it in a clone of its own repository")
    if notebook and not (root / notebook).is_file():
        raise ReproduceError(
            f"run {run.run_id[:8]} was made from {notebook}, which this project ({root}) "
            "does not have: reproduce it in its own project")
    return root


def recorded_notebook(run: RunSummary) -> str | None:
    """The notebook the run names, relative to its project (None for a shell's cell)."""
    source = run.tags.get(store.SOURCE_NAME_TAG, "")
    return source if source and not source.startswith("<") else None


def store_project(tracking_uri: str) -> Path | None:
    """The project a local store file lies in (a folder with ``.git`` or ``pyproject.toml``
    at or above it), None for a server or a store outside any project."""
    parsed = urlparse(tracking_uri)
    if parsed.scheme not in ("sqlite", "file"):
        return None
    path = Path(unquote(parsed.path))
    if not path.exists():
        return None
    root = config.project_root(path.parent)
    marked = (root / ".git").exists() or (root / "pyproject.toml").is_file()
    return root.resolve() if marked else None


def repository_key(url: str) -> str:
    """One spelling of a repository's address: ``git@host:a/b.git``, ``https://host/a/b``
    and ``ssh://git@host/a/b/`` are the same repository."""
    url = url.strip().rstrip("/")
    url = re.sub(r"\.git$", "", url)
    scp = re.fullmatch(r"(?:[^@/]+@)?([^:/]+):(?!//)(.+)", url)
    if scp:
        host, path = scp.groups()
    else:
        parsed = urlparse(url)
        host, path = parsed.hostname or "", parsed.path
    return f"{host.lower()}/{path.strip('/')}"
