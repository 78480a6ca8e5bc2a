"""Retraining policies: what they accept, and when they fire."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from nbmlops.exceptions import ConfigError, NbmlopsError
from nbmlops.monitor import policy

T0 = datetime(2026, 12, 1, 6, 0)


def _windows(*drifted: bool, psi: float | None = None) -> list[policy.Window]:
    return [policy.Window(f"r{i}", T0 + timedelta(days=i), d,
                          {} if psi is None else {"psi": psi, "drifted_columns": float(d)})
            for i, d in enumerate(drifted, start=1)]


def test_a_policy_reads_its_table() -> None:
    p = policy.parse_retrain({"job": " jobs/train ", "on": "psi >= 0.25", "runs": 2,
                              "cooldown": "7d"})
    assert (p.job, p.on, p.runs, p.cooldown) == ("jobs/train", "psi >= 0.25", 2,
                                                  timedelta(days=7))
    assert p.condition is not None and p.condition.metric == "psi"
    default = policy.parse_retrain({"job": "train"})
    assert (default.on, default.condition, default.runs, default.cooldown) == (
        "drift", None, 1, timedelta(0))


@pytest.mark.parametrize(("text", "seconds"), [
    ("90s", 90), ("30m", 1800), ("12h", 43200), ("7d", 604800), ("2w", 1209600),
    (" 1.5 h ", 5400),
])
def test_durations(text: str, seconds: float) -> None:
    assert policy.parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize(("table", "message"), [
    ({"on": "drift"}, "needs job"),
    ({"job": "t", "on": "psi >> 1"}, "bad gate"),
    ({"job": "t", "on": "psi >= champion"}, "compare a figure with a number"),
    ({"job": "t", "on": "reproduced"}, "compare a figure with a number"),
    ({"job": "t", "runs": 0}, "runs must be"),
    ({"job": "t", "runs": True}, "runs must be"),
    ({"job": "t", "cooldown": "7 days"}, "bad duration"),
    ({"job": "t", "cooldown": True}, "bad duration"),
    ({"job": "t", "when": "drift"}, "unknown key 'when'"),
    (["job"], "must be a table"),
])
def test_bad_policies_say_what_is_wrong_in_one_line(table: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        policy.parse_retrain(table)  # type: ignore[arg-type]
    assert isinstance(caught.value, NbmlopsError) and "\n" not in str(caught.value)


def test_drift_on_consecutive_runs_fires_once_the_last_runs_all_drifted() -> None:
    p = policy.parse_retrain({"job": "t", "runs": 2})
    now = T0 + timedelta(days=9)
    assert not policy.decide(p, _windows(False, True), None, now).retrain
    assert not policy.decide(p, _windows(True), None, now).retrain  # one run, two needed
    assert not policy.decide(p, _windows(True, True, False), None, now).retrain
    fired = policy.decide(p, _windows(False, True, True), None, now)
    assert fired.retrain and fired.reason == "drift on the last 2 runs (r2, r3)"


def test_a_condition_reads_the_runs_figures_and_waits_for_missing_ones() -> None:
    p = policy.parse_retrain({"job": "t", "on": "psi >= 0.25"})
    now = T0 + timedelta(days=9)
    assert policy.decide(p, _windows(False, psi=0.25), None, now).retrain  # at the bound
    assert not policy.decide(p, _windows(True, psi=0.2499), None, now).retrain
    waiting = policy.decide(p, _windows(True), None, now)  # no psi recorded yet
    assert not waiting.retrain and "does not hold on run r1" in waiting.reason


def test_the_cooldown_holds_back_a_second_retraining() -> None:
    p = policy.parse_retrain({"job": "t", "cooldown": "7d"})
    runs = _windows(True)
    last = T0
    assert not policy.decide(p, runs, last, last + timedelta(days=7, seconds=-1)).retrain
    held = policy.decide(p, runs, last, last + timedelta(days=1))
    assert "cooling down until 2026-12-08T06:00:00" in held.reason
    assert policy.decide(p, runs, last, last + timedelta(days=7)).retrain
    assert policy.decide(p, runs, None, last).retrain
