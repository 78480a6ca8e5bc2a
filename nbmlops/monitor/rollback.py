"""When a newly promoted champion does worse live than the one it replaced: ``rollback:``.

.. code-block:: yaml

    rollback: live_auc < previous_champion * 0.9     # or: 0.9 * previous_champion,
                                                     #     previous_champion - 0.05, 0.7

The rule is written as a gate is (:mod:`nbmlops.models.gates`) but says when to **roll
back**: a live metric of the champion (``live_auc``, ``live_accuracy``, ``live_rmse``...) on
the left, ``previous_champion`` (the version that held the alias before, optionally scaled
or shifted) or a number on the right. It is judged only on a champion that took the alias
by promotion (never on one a rollback put back, so rollbacks never cascade), and only when
both versions were measured on at least :data:`MIN_LABELLED` labelled predictions each
while served: a handful of early labels rolls nothing back.

Pure: the rule's text in, a :class:`gates.Gate`; two versions' live metrics in, a verdict.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from nbmlops.exceptions import ConfigError
from nbmlops.models import gates

__all__ = ["MIN_LABELLED", "PREVIOUS", "Verdict", "judge", "parse_rule"]

PREVIOUS = "previous_champion"
#: Labelled predictions each version needs before its live metric counts.
MIN_LABELLED = 30
LABELLED = "live_labelled"
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_RULE = re.compile(
    rf"""^\s*(?P<metric>live_[\w./-]+)\s*(?P<op>>=|<=|>|<)\s*
    (?:(?P<lead>{_NUMBER})\s*\*\s*{PREVIOUS}
      |{PREVIOUS}(?:\s*(?P<arith>[*+-])\s*(?P<factor>{_NUMBER}))?
      |(?P<number>{_NUMBER}))\s*$""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Verdict:
    rollback: bool
    reason: str


def parse_rule(text: object) -> gates.Gate:
    """``rollback:``'s rule; ConfigError with the expected form otherwise."""
    match = _RULE.match(text) if isinstance(text, str) else None
    if match is None:
        raise ConfigError(
            f"rollback: bad rule {text!r}: write LIVE_METRIC OP previous_champion [* + -] "
            "NUMBER or LIVE_METRIC OP NUMBER, OP one of < <= > >= "
            "(e.g. 'live_auc < previous_champion * 0.9')")
    number = float(match["number"]) if match["number"] is not None else None
    arith, factor = match["arith"], match["factor"]
    if match["lead"] is not None:
        arith, factor = "*", match["lead"]
    value = float(factor) if factor is not None else None
    for part in (number, value):
        if part is not None and not math.isfinite(part):
            raise ConfigError(f"rollback: bad rule {text!r}: {part} is not a finite number")
    return gates.Gate(" ".join(str(text).split()), match["metric"], match["op"], number,
                      arith, value)


def judge(rule: gates.Gate, champion: str, current: Mapping[str, float],
          previous: str | None, before: Mapping[str, float] | None) -> Verdict:
    """Whether the champion ``champion`` (its live metrics ``current``) should give the
    alias back to ``previous`` (whose live metrics while it served were ``before``)."""
    if previous is None:
        return Verdict(False, f"v{champion} has no previous champion to go back to")
    judged = [(champion, current)] + ([(previous, before or {})] if rule.relative else [])
    for version, metrics in judged:
        labelled = int(metrics.get(LABELLED, 0))
        if rule.metric not in metrics or labelled < MIN_LABELLED:
            return Verdict(False, f"waiting for labels: v{version} has {labelled} labelled "
                                  f"served predictions with {rule.metric} (needs "
                                  f"{MIN_LABELLED})")
    value = float(current[rule.metric])
    reference = float(before[rule.metric]) if before is not None else None
    threshold = rule.threshold(reference)
    assert threshold is not None
    said = (f"{rule.metric} {value:.4g} of v{champion} against {threshold:.4g} "
            f"({rule.text}, v{previous} had {reference:.4g})" if rule.relative else
            f"{rule.metric} {value:.4g} of v{champion} against {threshold:.4g} ({rule.text})")
    if gates.OPERATORS[rule.op](value, threshold):
        return Verdict(True, said)
    return Verdict(False, f"{rule.metric} holds: {said}")
