"""Moving a registered model's aliases, and keeping who held each one when.

Each version keeps, per alias, the JSON list of its reigns in the tag
``nbmlops.alias_history.<alias>``: since, until, by whom, how it began (registered, promoted,
rollback) and how it ended (replaced, rolled back, promoted to ...). MLflow keeps only the
current holder; with these, "who was champion before, and when" is always answerable, and
``nbmlops rollback`` knows where to go. The sync process moves ``challenger`` when it
registers a version; :mod:`nbmlops.models` moves the rest.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from nbmlops import store

if TYPE_CHECKING:
    from mlflow import MlflowClient

#: Reigns kept per version and alias: a tag must stay readable.
MAX_HISTORY = 100


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


def move_alias(
    client: MlflowClient, name: str, alias: str, version: str, *, how: str, by: str | None,
    ended: str = "replaced",
) -> str | None:
    """Give ``alias`` to ``version``; the previous holder's reign ends (``ended`` says how),
    the new one's begins. Returns the previous holder's version (None when none)."""
    at = now_iso()
    previous = holder(client, name, alias)
    if previous is not None and str(previous.version) == str(version):
        return str(previous.version)
    if previous is not None:
        reigns = history(previous, alias)
        for reign in reversed(reigns):
            if reign.get("until") is None:
                reign.update(until=at, ended=ended)
                break
        _write_history(client, name, previous, alias, reigns)
    client.set_registered_model_alias(name, alias, version)
    current = client.get_model_version(name, version)
    reigns = history(current, alias)
    reigns.append({"since": at, "until": None, "by": by or "", "how": how,
                   "previous": str(previous.version) if previous is not None else None})
    _write_history(client, name, current, alias, reigns)
    return str(previous.version) if previous is not None else None


def drop_alias(client: MlflowClient, name: str, alias: str, *, ended: str) -> None:
    """Take ``alias`` away from its holder, ending its reign."""
    previous = holder(client, name, alias)
    if previous is None:
        return
    reigns = history(previous, alias)
    for reign in reversed(reigns):
        if reign.get("until") is None:
            reign.update(until=now_iso(), ended=ended)
            break
    _write_history(client, name, previous, alias, reigns)
    client.delete_registered_model_alias(name, alias)


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
    token = None
    while True:
        quoted = name.replace("'", "\\'")
        page = client.search_model_versions(f"name = '{quoted}'", max_results=200,
                                            page_token=token)
        for v in page:
            if str(v.version) == str(version):
                continue
            key = (ended_ms(v), int(v.version))
            if key > (ended, int(version)) and (newest is None or key > newest):
                newest = key
        token = page.token
        if not token:
            break
    return None if newest is None else str(newest[1])
