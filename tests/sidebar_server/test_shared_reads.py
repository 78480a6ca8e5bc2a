"""Identical GETs in flight at once are answered by one reading of the store (a real server,
the real sqlite store, the store's own statements counted)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

from tracked_project import TrackedProject

from nbmlops import store
from nbmlops.server.routes import PREFIX

Fetch = Callable[..., Awaitable[Any]]


def count_reads_of_runs(tracking_uri: str) -> Callable[[], int]:
    """How many statements reading the ``runs`` table the store has run since this call."""
    from sqlalchemy import event

    engine = store.client(tracking_uri)._tracking_client.store.engine
    seen = [0]

    def counted(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and " runs" in statement:
            seen[0] += 1

    event.listen(engine, "before_cursor_execute", counted)
    return lambda: seen[0]


async def runs_page(jp_fetch: Fetch, notebook: str) -> list[str]:
    response = await jp_fetch(*PREFIX.split("/"), "runs", params={"notebook": notebook},
                              request_timeout=120)
    return [r["run_id"] for r in json.loads(response.body)["runs"]]


async def test_identical_gets_at_once_are_answered_by_one_read(
    jp_fetch: Fetch, tracked: TrackedProject
) -> None:
    expected = await runs_page(jp_fetch, tracked.notebook)  # warm: the store is open
    reads = count_reads_of_runs(tracked.tracking_uri)
    one = await runs_page(jp_fetch, tracked.notebook)
    per_read = reads()
    assert one == expected and per_read > 0
    # A writer holds the store: the first read waits for it, the other 19 GETs arrive.
    db = store.sqlite_path(tracked.tracking_uri)
    writer = sqlite3.connect(str(db), isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    try:
        asks = [asyncio.ensure_future(runs_page(jp_fetch, tracked.notebook)) for _ in range(20)]
        await asyncio.sleep(1.0)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    pages = await asyncio.gather(*asks)
    assert pages == [expected] * 20  # every one answered, the same
    burst = reads() - per_read
    assert burst <= 2 * per_read  # one read (two if one started early), not 20
    # Once answered, nothing is kept: the next GET reads the store again.
    await runs_page(jp_fetch, tracked.notebook)
    assert reads() - per_read - burst == per_read
