"""Identical reads in flight at once share one answer.

A sidebar polls, several sidebars ask the same question, and a page of runs costs the store
a few hundred milliseconds (more while a sync process writes into it): answered one by one,
200 identical ``GET runs`` queue for a minute. A request that arrives while the same read is
running waits for that read's answer instead of starting another; nothing is kept once it is
answered, so a request never gets an answer older than the moment it arrived, give or take
the one read it joined.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any


class InFlight:
    """The reads running now, by what they read; used from the server's event loop only."""

    def __init__(self) -> None:
        self._running: dict[Hashable, asyncio.Future[Any]] = {}

    async def share(self, key: Hashable, read: Callable[[], Awaitable[Any]]) -> Any:
        """``read()``'s answer, or that of the identical read already running."""
        running = self._running.get(key)
        if running is None:
            running = asyncio.ensure_future(read())
            self._running[key] = running
            running.add_done_callback(lambda done: self._forget(key, done))
        # One caller going away (a closed connection) does not cancel the others' answer.
        return await asyncio.shield(running)

    def _forget(self, key: Hashable, done: asyncio.Future[Any]) -> None:
        if self._running.get(key) is done:
            del self._running[key]
        if not done.cancelled():
            done.exception()  # retrieved: each waiter gets it, no "never retrieved" warning

    def __len__(self) -> int:
        return len(self._running)
