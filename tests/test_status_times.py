"""Times in ``nbmlops status`` read sensibly after the clock jumped: a time in the future says
so, a long time reads in days, never as millions of seconds."""

from __future__ import annotations

import time
from typing import Any

import pytest

from nbmlops.sync import worker


def status(**changed: Any) -> str:
    info = {"spool": "/s", "pending": 0, "oldest_pending_age_s": None, "running": False,
            "pid": None, "last_success_at": 0, "failed": 0, "last_error": None,
            "failing": False, "last_error_at": None, "log": "/s/sync.log", "advice": None}
    return worker.format_status({**info, **changed})


def line(text: str, start: str) -> str:
    return next(ln for ln in text.splitlines() if ln.startswith(start))


@pytest.mark.parametrize(("seconds", "said"), [
    (5, "5 s ago"), (119, "119 s ago"), (600, "10 min ago"), (3 * 3600, "3 h ago"),
    (3 * 86400, "3 days ago"), (69_120_001, "800 days ago"),
])
def test_a_past_upload_reads_in_the_unit_that_fits(seconds: int, said: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now)  # 119 s stays 119 s on a stalled machine
    assert line(status(last_success_at=now - seconds), "last upload:").endswith(f"({said})")


def test_a_time_in_the_future_says_the_clock_changed() -> None:
    when = time.time() + 800 * 86400
    text = line(status(last_success_at=when), "last upload:")
    assert text.endswith("(in the future: clock changed?)")
    assert time.strftime("%Y-%m-%d", time.localtime(when)) in text
    text = status(last_error="boom", last_error_at=when)
    assert "in the future: clock changed?" in line(text, "              at")


@pytest.mark.parametrize(("age", "said"), [
    (12.4, "(oldest 12 s)"), (69_120_001, "(oldest 800 days)"),
    (-3600, "(oldest: in the future, clock changed?)"),
])
def test_the_age_of_the_oldest_waiting_record(age: float, said: str) -> None:
    text = status(pending=1, oldest_pending_age_s=age)
    assert line(text, "pending:") == f"pending:      1 {said}"
