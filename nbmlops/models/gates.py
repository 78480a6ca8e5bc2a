"""Evaluation gates: ``auc >= champion``, ``auc >= 0.80``, ``latency_ms <= champion * 1.1``.

A gate compares one metric of the candidate version with a number, or with the same metric of
the version holding the alias it is to take (the champion), optionally scaled or shifted. Pure:
parsing and evaluating take plain dicts of metrics, so the notebook, the CLI and a job's
``promote:`` read gates the same way. A relative gate passes when there is no champion yet:
the first version to be promoted has nothing to regress from, and the report says so.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from nbmlops.exceptions import GateError

__all__ = ["Gate", "GateResult", "evaluate", "format_report", "parse", "parse_all"]

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt,
    "==": operator.eq, "!=": operator.ne,
}
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
#: The gates' word for the version holding the alias a promotion is to take. It reads as the
#: usual alias but is a word of the grammar, not the alias: a gate of ``--alias staging`` compares
#: with the holder of ``staging``.
REFERENCE = "champion"
_GATE = re.compile(
    rf"""^\s*(?P<metric>[A-Za-z_][\w./-]*)\s*
    (?P<op>>=|<=|==|!=|>|<)\s*
    (?:(?P<number>{_NUMBER})
      |(?P<ref>{REFERENCE})(?:\s*(?P<arith>[*+-])\s*(?P<factor>{_NUMBER}))?)\s*$""",
    re.VERBOSE,
)
#: The gate ``reproduced``: the candidate's run was re-run by ``nbmlops reproduce`` and gave its
#: results back (exactly or within tolerance). It reads the pseudo-metric of that name, 1 or 0.
REPRODUCED = "reproduced"


@dataclass(frozen=True)
class Gate:
    """One parsed gate: ``metric op number``, or ``metric op champion [*+-] factor``."""

    text: str
    metric: str
    op: str
    number: float | None = None  # an absolute threshold
    arith: str | None = None  # relative: "*", "+" or "-" applied to the champion's value
    factor: float | None = None

    @property
    def relative(self) -> bool:
        return self.number is None

    def threshold(self, champion: float | None) -> float | None:
        """The value the candidate's metric is compared with (None: no champion)."""
        if not self.relative:
            return self.number
        if champion is None:
            return None
        if self.arith is None or self.factor is None:
            return champion
        return {"*": champion * self.factor, "+": champion + self.factor,
                "-": champion - self.factor}[self.arith]


def parse(text: str) -> Gate:
    """A gate from its text; GateError with the expected form when it does not parse."""
    if str(text).strip() == REPRODUCED:
        return Gate(REPRODUCED, REPRODUCED, ">=", 1.0)
    match = _GATE.match(str(text))
    if match is None:
        raise GateError(
            f"bad gate {text!r}: write METRIC OP VALUE, where OP is one of "
            f"{' '.join(OPERATORS)} and VALUE a number or champion [* + -] NUMBER "
            "(e.g. \"auc >= champion\", \"auc >= 0.80\", \"latency_ms <= champion * 1.1\"), "
            "or reproduced"
        )
    number = match["number"]
    value = float(number) if number is not None else None
    factor = float(match["factor"]) if match["factor"] is not None else None
    for part in (value, factor):
        if part is not None and not math.isfinite(part):
            raise GateError(f"bad gate {text!r}: {part} is not a finite number")
    return Gate(" ".join(str(text).split()), match["metric"], match["op"], value,
                match["arith"], factor)


def parse_all(texts: Iterable[str]) -> list[Gate]:
    """Gates from their texts, duplicates dropped, every bad one named in one error."""
    gates: dict[str, Gate] = {}
    errors = []
    for text in texts:
        try:
            gate = parse(text)
        except GateError as e:
            errors.append(str(e))
            continue
        gates.setdefault(gate.text, gate)
    if errors:
        raise GateError("; ".join(errors))
    return list(gates.values())


@dataclass(frozen=True)
class GateResult:
    """A gate evaluated: both values, and whether it passed (and why, when not obvious)."""

    gate: Gate
    candidate: float
    champion: float | None  # the champion's value of the metric, None without a champion
    threshold: float | None
    passed: bool
    note: str = ""

    def to_dict(self) -> dict[str, object]:
        return {"gate": self.gate.text, "candidate": self.candidate,
                "champion": self.champion, "threshold": self.threshold,
                "passed": self.passed, "note": self.note}


def evaluate(
    gates: Iterable[Gate],
    candidate: Mapping[str, float],
    champion: Mapping[str, float] | None,
    *,
    candidate_name: str = "the candidate",
    champion_name: str = "the champion",
) -> list[GateResult]:
    """Evaluate each gate on the candidate's metrics and (for relative gates) the champion's;
    ``champion`` None: there is no champion yet. A metric the candidate lacks, or that a
    relative gate needs from the champion and it lacks, is a GateError naming what exists."""
    results = []
    for gate in gates:
        if gate.metric == REPRODUCED and REPRODUCED not in candidate:
            results.append(GateResult(gate, 0.0, None, 1.0, False,
                                      "never reproduced: nbmlops reproduce RUN_ID"))
            continue
        if gate.metric not in candidate:
            raise GateError(f"gate {gate.text!r}: {candidate_name} has no metric "
                            f"{gate.metric!r} ({_known(candidate)})")
        value = float(candidate[gate.metric])
        if gate.relative and champion is None:
            results.append(GateResult(gate, value, None, None, True,
                                      "no champion yet: passes by definition"))
            continue
        reference = None
        if gate.relative:
            assert champion is not None
            if gate.metric not in champion:
                raise GateError(f"gate {gate.text!r}: {champion_name} has no metric "
                                f"{gate.metric!r} ({_known(champion)})")
            reference = float(champion[gate.metric])
        threshold = gate.threshold(reference)
        assert threshold is not None
        passed = (not math.isnan(value)) and OPERATORS[gate.op](value, threshold)
        note = "" if passed or not math.isnan(value) else "the candidate's value is NaN"
        results.append(GateResult(gate, value, reference, threshold, passed, note))
    return results


def _known(metrics: Mapping[str, float]) -> str:
    names = sorted(metrics)
    if not names:
        return "it has no metrics"
    shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    return f"it has {shown}"


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def format_report(results: list[GateResult], candidate: str, champion: str | None) -> str:
    """The gate report a person reads: each gate, both values, pass or fail."""
    head = f"gates for {candidate} against " + (champion or "no champion (first promotion)")
    if not results:
        return f"{head}\n  no gates: nothing to check"
    rows = [("gate", "candidate", REFERENCE, "threshold", "result")]  # what the word stood for
    for r in results:
        verdict = "pass" if r.passed else "FAIL"
        rows.append((r.gate.text, _fmt(r.candidate), _fmt(r.champion), _fmt(r.threshold),
                     verdict + (f" ({r.note})" if r.note else "")))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [head]
    for row in rows:
        # mutation-equivalent: zip's strict (row[:4] and widths both have 4 items).
        cells = "  ".join(c.ljust(w) for c, w in zip(row[:4], widths, strict=True))
        lines.append(f"  {cells}  {row[4]}")
    failed = [r for r in results if not r.passed]
    lines.append(f"  {len(results) - len(failed)} of {len(results)} passed"
                 + (f"; failed: {', '.join(r.gate.text for r in failed)}" if failed else ""))
    return "\n".join(lines)
