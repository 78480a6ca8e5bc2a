"""When drift retrains: a job's ``retrain:`` policy, read and decided.

.. code-block:: yaml

    retrain:
      job: jobs/train            # the training job to run
      on: drift                  # the drift rule's verdict, or a condition on a figure:
                                 #   "psi >= 0.25", "drifted_columns >= 3", "live_auc < 0.8"
      runs: 2                    # ... holding on this many consecutive scoring runs (1)
      cooldown: 7d               # no second retraining sooner (s, m, h, d, w; none by default)

A condition is written as a gate is (``FIGURE OP NUMBER``, :mod:`nbmlops.models.gates`), and
reads a scoring run's figures (:func:`nbmlops.monitor.report.figures`): the largest of each
drift figure over the columns, the count and share of drifted columns, and live metrics
once labels have arrived. A run without the figure does not count as holding it: a policy
on ``live_auc`` waits for labels rather than retraining blind.

Pure: a policy and the scoring runs' figures in, a decision with its reason out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from nbmlops.exceptions import ConfigError, GateError
from nbmlops.models import gates

__all__ = ["Decision", "RetrainPolicy", "Window", "decide", "parse_duration", "parse_retrain"]

DRIFT = "drift"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_KEYS = {"job", "on", "runs", "cooldown"}


@dataclass(frozen=True)
class RetrainPolicy:
    job: str
    on: str  # "drift", or a condition's text
    condition: gates.Gate | None  # None: the drift rule's verdict
    runs: int = 1
    cooldown: timedelta = timedelta(0)


@dataclass(frozen=True)
class Window:
    """One scoring run, as a policy sees it."""

    run_id: str
    when: datetime
    drifted: bool
    figures: Mapping[str, float]


@dataclass(frozen=True)
class Decision:
    retrain: bool
    reason: str


def parse_duration(text: Any) -> timedelta:
    """``"7d"``, ``"12h"``, ``"30m"``, ``"90s"``, ``"2w"``; ConfigError otherwise."""
    match = _DURATION.match(str(text))
    if match is None or isinstance(text, bool):
        raise ConfigError(f"bad duration {text!r}: write a number and one of s m h d w, "
                          "e.g. 7d or 12h")
    return timedelta(seconds=float(match[1]) * _UNITS[match[2]])


def parse_retrain(table: Mapping[str, Any]) -> RetrainPolicy:
    """A ``retrain:`` table; ConfigError naming the first thing wrong with it."""
    if not isinstance(table, Mapping):
        raise ConfigError("retrain: must be a table with job, on, runs and cooldown")
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigError(f"retrain: unknown key {unknown[0]!r} (known: "
                          f"{', '.join(sorted(_KEYS))})")
    job = table.get("job")
    if not isinstance(job, str) or not job.strip():
        raise ConfigError("retrain: needs job: the training job to run, e.g. jobs/train")
    on = str(table.get("on", DRIFT)).strip()
    condition = None
    if on != DRIFT:
        try:
            condition = gates.parse(on)
        except GateError as e:
            raise ConfigError(f"retrain: on: {e}; or write drift") from None
        if condition.relative or condition.metric == gates.REPRODUCED:
            raise ConfigError(f"retrain: on: {on!r} must compare a figure with a number")
    runs = table.get("runs", 1)
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
        raise ConfigError(f"retrain: runs must be a whole number >= 1 (got {runs!r})")
    cooldown = parse_duration(table["cooldown"]) if "cooldown" in table else timedelta(0)
    return RetrainPolicy(job.strip(), on, condition, runs, cooldown)


def decide(
    policy: RetrainPolicy,
    windows: Sequence[Window],
    last_retrain: datetime | None,
    now: datetime,
) -> Decision:
    """Whether the scoring runs ``windows`` (oldest first) call for retraining now."""
    recent = list(windows)[-policy.runs:]
    if len(recent) < policy.runs:
        return Decision(False, f"{len(recent)} scoring run(s), the policy needs "
                               f"{policy.runs} in a row")
    failing = [w for w in recent if not _holds(policy, w)]
    if failing:
        return Decision(False, f"{policy.on} does not hold on run {failing[-1].run_id}")
    if last_retrain is not None and now - last_retrain < policy.cooldown:
        until = (last_retrain + policy.cooldown).isoformat(timespec="seconds")
        return Decision(False, f"{policy.on} held, but the last retraining was at "
                               f"{last_retrain.isoformat(timespec='seconds')}: cooling down "
                               f"until {until}")
    runs = "the last run" if policy.runs == 1 else f"the last {policy.runs} runs"
    return Decision(True, f"{policy.on} on {runs} ({', '.join(w.run_id for w in recent)})")


def _holds(policy: RetrainPolicy, window: Window) -> bool:
    gate = policy.condition
    if gate is None:
        return window.drifted
    value = window.figures.get(gate.metric)
    if value is None or gate.number is None:
        return False
    return gates.OPERATORS[gate.op](value, gate.number)
