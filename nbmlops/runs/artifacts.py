"""A run's image artifacts, read for the browser: which paths are images, and their bytes.

A path is only read when it is one the run lists, so no path the browser sends can leave the
run's artifacts; an image above :data:`MAX_IMAGE_BYTES` is refused before it is downloaded.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath

from nbmlops import store
from nbmlops.exceptions import ArtifactNotFound, ArtifactTooLarge, InvalidQuery

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


def checked_path(path: str) -> str:
    """``path`` as a relative artifact path; :class:`InvalidQuery` for anything that could
    name a file outside the run's artifacts."""
    parts = path.split("/")
    if not path or path.startswith("/") or "\\" in path or any(p in ("", ".", "..") for p in parts):
        raise InvalidQuery(f"not an artifact path: {path!r}")
    return path


def read_image(tracking_uri: str, run_id: str, path: str, max_bytes: int | None = None) -> Image:
    """The bytes of the image artifact ``path`` of run ``run_id``, at most ``max_bytes``
    (default :data:`MAX_IMAGE_BYTES`)."""
    max_bytes = max_bytes or MAX_IMAGE_BYTES
    from nbmlops.runs.query import call

    path = checked_path(path)
    kind = content_type(path)
    if kind is None:
        raise InvalidQuery(f"{path!r} is not an image ({', '.join(sorted(IMAGE_TYPES))})")
    client = store.client(tracking_uri)
    folder = str(PurePosixPath(path).parent)
    listed = call(tracking_uri, partial(client.list_artifacts, run_id,
                                         None if folder == "." else folder), run_id=run_id)
    info = next((i for i in listed if i.path == path and not i.is_dir), None)
    if info is None:
        raise ArtifactNotFound(f"run {run_id} has no artifact {path!r}")
    if info.file_size is not None and info.file_size > max_bytes:
        raise ArtifactTooLarge(f"{path!r} is {info.file_size:,} bytes; the limit is {max_bytes:,}")
    with tempfile.TemporaryDirectory(prefix="nbmlops-image-") as tmp, store.fail_fast():
        local = Path(call(tracking_uri, partial(client.download_artifacts, run_id, path, tmp)))
        if local.stat().st_size > max_bytes:  # a store that does not report sizes
            raise ArtifactTooLarge(f"{path!r} is larger than {max_bytes:,} bytes")
        return Image(path, kind, local.read_bytes())
