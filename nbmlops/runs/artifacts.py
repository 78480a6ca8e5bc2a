"""Which of a run's artifacts a browser can show, and what an artifact path may be. Pure:
:func:`nbmlops.runs.query.read_image` reads the bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from nbmlops import store
from nbmlops.exceptions import InvalidQuery

#: The image types a browser shows, by suffix.
IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
}
MAX_IMAGE_BYTES = 10 * 1024 * 1024
#: Interactive figures (plotly, Altair) are recorded as HTML pages; the sidebar shows them in
#: a sandboxed frame.
PAGE_TYPES = {".html": "text/html", ".htm": "text/html"}


@dataclass(frozen=True)
class Image:
    path: str
    content_type: str
    data: bytes


def content_type(path: str) -> str | None:
    """The image type of ``path`` by its suffix; None when it is not an image."""
    return IMAGE_TYPES.get(PurePosixPath(path).suffix.lower())


def images(paths: Iterable[str]) -> list[str]:
    """The image paths among ``paths``: the cell's figures first, then the others, by name."""
    found = [p for p in paths if content_type(p)]
    figures = f"{store.FIGURES_FOLDER}/"
    return sorted(found, key=lambda p: (not p.startswith(figures), p))


def page_type(path: str) -> str | None:
    """The type of an interactive figure's page under ``figures/``; None for anything else."""
    if not path.startswith(f"{store.FIGURES_FOLDER}/"):
        return None
    return PAGE_TYPES.get(PurePosixPath(path).suffix.lower())


def figure_pages(paths: Iterable[str]) -> list[str]:
    """The interactive figures among ``paths``, by name."""
    return sorted(p for p in paths if page_type(p))


def checked_path(path: str) -> str:
    """``path`` as a relative artifact path; :class:`InvalidQuery` for anything that could
    name a file outside the run's artifacts."""
    parts = path.split("/")
    # mutation-equivalent: weakening `not path` or the leading "/" test; an empty or
    # absolute path also has an empty part, refused by the last test. Each is said plainly.
    if not path or path.startswith("/") or "\\" in path or any(p in ("", ".", "..") for p in parts):
        raise InvalidQuery(f"not an artifact path: {path!r}")
    return path
