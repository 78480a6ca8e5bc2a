"""Moving a registered model's aliases, and keeping who held each one when.

Each version keeps, per alias, the JSON list of its reigns in the tag
``nbmlops.alias_history.<alias>``: since, until, by whom, how it began (registered, promoted,
rollback) and how it ended (replaced, rolled back, promoted to ...). MLflow keeps only the
current holder; with these, "who was champion before, and when" is always answerable, and
``nbmlops rollback`` knows where to go. Registering a version (:mod:`.register`, called by
the sync process) moves ``challenger``; :mod:`.promotion` moves the rest.

MLflow has no compare-and-set on an alias, so every move of a store's aliases (a promotion
from its gates to its write, a rollback, the sync process's challenger) happens inside
:func:`serialised`: a file lock beside a sqlite store, or one per server in the temporary
folder, which every process on this machine shares. Writers on other machines are met by
re-reading the holder just before the write (``expected``) and by each move closing any
reign left open elsewhere, so the history stays one line.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import tempfile
from collections.abc import Iterator
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbmlops import store
from nbmlops.exceptions import ModelError
from nbmlops.redact import strip_credentials

if TYPE_CHECKING:
    import filelock
    from mlflow import MlflowClient

#: Reigns kept per version and alias: a tag must stay readable.
MAX_HISTORY = 100
#: Seconds a move waits for another process's move in the same store.
LOCK_WAIT = 120.0

# MLflow's own rules for an alias (mlflow.utils.validation), checked before anything is
# written; a number is refused too: ``models:/name/3`` would read it as a version.
_ALIAS = re.compile(r"[\w\-]{1,255}")
_RESERVED = re.compile(r"latest|v\d+|\d+", re.IGNORECASE)


def check_alias(alias: str) -> str:
    """``alias`` when MLflow accepts it as an alias name; ModelError saying why not."""
    if not _ALIAS.fullmatch(alias) or _RESERVED.fullmatch(alias):
        shown = alias if len(alias) <= 60 else alias[:57] + "..."
        raise ModelError(f"bad alias {shown!r}: letters, digits, _ and - (at most 255), not "
                         "'latest', a number or v<number>; such as champion")
    return alias


class AliasMoved(ModelError):
    """Another writer moved the alias between the read and the write: judge again."""


def lock_path(client: MlflowClient) -> Path:
    """The lock every alias move in the client's registry takes."""
    uri = str(getattr(client, "_registry_uri", None) or client.tracking_uri)
    db = store.sqlite_path(uri)
    if db is not None:
        return db.with_name(f".{db.name}.aliases.lock")
    digest = hashlib.sha256(strip_credentials(uri).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"nbmlops-aliases-{digest}.lock"


@lru_cache(maxsize=16)
def _lock(path: str) -> filelock.FileLock:
    import filelock

    # One object per file: taken again inside a move (promote, then move_alias) it nests;
    # another thread of the process waits like another process.
    return filelock.FileLock(path)


@contextlib.contextmanager
def serialised(client: MlflowClient) -> Iterator[None]:
    """One alias move at a time in the client's registry, across this machine's processes."""
    import filelock

    lock = _lock(str(lock_path(client)))
    try:
        lock.acquire(timeout=LOCK_WAIT)
    except filelock.Timeout:
        raise ModelError(f"another promotion has held the registry's lock for {LOCK_WAIT:.0f} "
                         f"s ({lock.lock_file}); try again") from None
    try:
        yield
    finally:
        lock.release()


def now_iso() -> str:
    """UTC to the millisecond: reigns are ordered by these strings."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def history(version: Any, alias: str) -> list[dict[str, Any]]:
    """The reigns of ``version`` (a ModelVersion) under ``alias``, oldest first."""
    text = (version.tags or {}).get(store.alias_history_tag(alias))
    try:
        value = json.loads(text) if text else []
    except ValueError:
        return []
    return [r for r in value if isinstance(r, dict)] if isinstance(value, list) else []


def holder(client: MlflowClient, name: str, alias: str) -> Any | None:
    """The version holding ``alias`` (None when none does)."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException as e:
        if e.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None
        raise


def _write_history(client: MlflowClient, name: str, version: Any, alias: str,
                   reigns: list[dict[str, Any]]) -> None:
    client.set_model_version_tag(name, str(version.version), store.alias_history_tag(alias),
                                 json.dumps(reigns[-MAX_HISTORY:]))


#: ``expected`` of :func:`move_alias` when the caller does not care who holds the alias.
ANY = "\0any"


def move_alias(
    client: MlflowClient, name: str, alias: str, version: str, *, how: str, by: str | None,
    ended: str = "replaced", expected: str | None = ANY,
) -> str | None:
    """Give ``alias`` to ``version``; the previous holder's reign ends (``ended`` says how),
    the new one's begins. Returns the previous holder's version (None when none).

    ``expected``: the holder the caller judged against (None: none); :class:`AliasMoved`
    when another one holds it now. A caller whose choice of ``version`` depends on the other
    versions makes it inside :func:`serialised` too.
    """
    with serialised(client):
        at = now_iso()
        previous = holder(client, name, alias)
        was = str(previous.version) if previous is not None else None
        if expected != ANY and was != expected:
            raise AliasMoved(f"{alias} of {name} moved to v{was} meanwhile")
        if was == str(version):
            return was
        client.set_registered_model_alias(name, alias, version)
        _end_reigns(client, name, alias, at, ended, keep=str(version))
        current = client.get_model_version(name, version)
        reigns = history(current, alias)
        reigns.append({"since": at, "until": None, "by": by or "", "how": how,
                       "previous": was})
        _write_history(client, name, current, alias, reigns)
        return was


def drop_alias(client: MlflowClient, name: str, alias: str, *, ended: str) -> None:
    """Take ``alias`` away from its holder, ending its reign."""
    with serialised(client):
        if holder(client, name, alias) is None:
            return
        client.delete_registered_model_alias(name, alias)
        _end_reigns(client, name, alias, now_iso(), ended)


def _end_reigns(client: MlflowClient, name: str, alias: str, at: str, ended: str,
                keep: str | None = None) -> None:
    """End every open reign of ``alias`` but ``keep``'s: the previous holder's, and any a
    writer on another machine left open."""
    from mlflow.exceptions import MlflowException

    model = f"name = '{quote(name)}'"
    column = f"tags.`{store.alias_history_tag(alias)}`"
    try:
        found = list(search_versions(client, f"{model} and {column} LIKE '%\"until\": null%'"))
    except MlflowException:  # a registry that cannot search tags so: read every version
        found = list(search_versions(client, model))
    for version in found:
        if str(version.version) == keep:
            continue
        reigns = history(version, alias)
        for reign in reigns:
            if reign.get("until") is None:
                reign.update(until=at, ended=ended)
        _write_history(client, name, version, alias, reigns)


def search_versions(client: MlflowClient, flt: str) -> Iterator[Any]:
    """Every model version the search filter ``flt`` finds, page by page."""
    token = None
    while True:
        page = client.search_model_versions(flt, max_results=200, page_token=token)
        yield from page
        token = page.token
        if not token:
            return


def quote(text: str) -> str:
    """``text`` inside a search filter's single quotes."""
    return text.replace("'", "\\'")


def ended_ms(version: Any) -> int:
    """When the run of ``version`` (a ModelVersion) ended: its tag, else (a version registered
    before the tag existed) when it was registered, which is never before its run ended."""
    try:
        return int((version.tags or {})[store.MODEL_RUN_ENDED_TAG])
    except (KeyError, ValueError):
        return int(version.creation_timestamp or 0)


def ended_later(client: MlflowClient, name: str, version: str, ended: int) -> str | None:
    """The version of ``name`` whose run ended last, when it ended after ``ended`` (the run of
    ``version``); None when ``version``'s is the newest. Uploads arrive in any order (two
    kernels, two spools, one retried): ``challenger`` follows when the runs ended instead."""
    newest: tuple[int, int] | None = None
    for v in search_versions(client, f"name = '{quote(name)}'"):
        if str(v.version) == str(version):
            continue
        key = (ended_ms(v), int(v.version))
        if key > (ended, int(version)) and (newest is None or key > newest):
            newest = key
    return None if newest is None else str(newest[1])
