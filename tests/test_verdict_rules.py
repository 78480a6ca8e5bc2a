"""The reproduction verdict's rule, at each of its edges: hand-built metrics and data in,
the verdict out (no kernel, no store).

``yes``: every metric and data fingerprint the same; ``within-tolerance``: a metric differs
by at most the tolerance (relative to the larger value, or absolute near zero), the data the
same; ``no``: a metric differs by more, is missing from the reproduction, a data set differs
or is on one side only, or the re-run failed.
"""

from __future__ import annotations

import math

import pytest

from nbmlops.reproduce.verdict import NO, SAID, WITHIN, YES, Verdict, compare
from nbmlops.runs.entities import Dataset

X = Dataset("X", "a" * 32, "a" * 32, "input")


def verdict(original: dict[str, float], reproduced: dict[str, float],
            tolerance: float = 0.25) -> Verdict:
    return compare(original, reproduced, [X], [X], tolerance)


def states(v: Verdict) -> dict[str, str]:
    return {m.name: m.state for m in v.metrics}


def test_a_metric_missing_from_the_reproduction_alone_is_not_reproduced() -> None:
    v = verdict({"acc": 0.9, "loss": 1.0}, {"acc": 0.9})
    assert v.verdict == NO and v.said == "not reproduced"
    assert states(v) == {"acc": "same", "loss": "missing"}
    assert v.differences == ["metric loss: 1 -> none (missing)"]
    assert v.causes(["data x.csv changed"]) == ["likely cause: data x.csv changed"]


def test_every_metric_missing_is_not_reproduced() -> None:
    v = verdict({"acc": 0.9}, {})
    assert v.verdict == NO
    assert v.differences == ["metric acc: 0.9 -> none (missing)"]


def test_a_metric_only_in_the_reproduction_is_named_and_does_not_change_the_verdict() -> None:
    v = verdict({"acc": 0.9}, {"acc": 0.9, "f1": 0.5})
    assert v.verdict == YES
    assert states(v) == {"acc": "same", "f1": "new"}
    assert v.differences == ["metric f1: none -> 0.5 (new)"]
    assert v.causes(["anything"]) == []
    assert verdict({"acc": 3.0}, {"acc": 4.0, "f1": 0.5}).verdict == WITHIN


@pytest.mark.parametrize(("original", "reproduced", "tolerance", "state"), [
    (3.0, 4.0, 0.25, "within"),  # relative: |4 - 3| = 0.25 * 4 exactly
    (4.0, 3.0, 0.25, "within"),  # ... relative to the larger, whichever side it is on
    (3.0, math.nextafter(4.0, 5.0), 0.25, "differs"),  # just over
    (math.nextafter(3.0, 2.0), 4.0, 0.25, "differs"),
    (300.0, 400.0, 0.25, "within"),  # far above the absolute bound, within the relative one
    (0.0, 0.25, 0.25, "within"),  # absolute near zero: exactly at it
    (0.0, -0.25, 0.25, "within"),
    (0.0, math.nextafter(0.25, 1.0), 0.25, "differs"),
    (1.0, 1.0, 0.0, "same"),
    (1.0, math.nextafter(1.0, 2.0), 0.0, "differs"),  # tolerance 0: equal or not
    (math.nan, math.nan, 0.25, "same"),  # NaN both times is what the run gave
    (math.nan, 1.0, 0.25, "differs"),
    (1.0, math.nan, 0.25, "differs"),
    (math.nan, 1.0, math.inf, "differs"),  # no tolerance makes a number of a NaN
    (math.inf, math.inf, 0.25, "same"),
    (math.inf, -math.inf, 0.25, "differs"),
    (-0.0, 0.0, 0.0, "same"),
])
def test_the_tolerance_at_its_boundaries(original: float, reproduced: float, tolerance: float,
                                         state: str) -> None:
    v = verdict({"m": original}, {"m": reproduced}, tolerance)
    assert states(v) == {"m": state}
    assert v.verdict == {"same": YES, "within": WITHIN, "differs": NO}[state]


def test_one_metric_over_the_tolerance_outweighs_others_within_it() -> None:
    v = verdict({"a": 3.0, "b": 3.0, "c": 1.0}, {"a": 4.0, "b": 4.5, "c": 1.0})
    assert v.verdict == NO
    assert states(v) == {"a": "within", "b": "differs", "c": "same"}
    # what is wrong first, then what is only within the tolerance
    assert v.differences == ["metric b: 3 -> 4.5 (differs)", "metric a: 3 -> 4 (within)"]
    within = verdict({"a": 3.0, "c": 1.0}, {"a": 4.0, "c": 1.0})
    assert within.verdict == WITHIN and within.said == "reproduced within tolerance"
    assert within.differences == ["metric a: 3 -> 4 (within)"]
    assert within.causes(["x"]) == []
    assert within.headline == "reproduced within tolerance"


def test_numbers_are_said_to_ten_significant_digits() -> None:
    v = verdict({"m": 0.123456789012}, {"m": 2.0})
    assert v.differences == ["metric m: 0.123456789 -> 2 (differs)"]
    assert str(v.metrics[0]) == "metric m: 0.123456789 -> 2 (differs)"


def test_no_metrics_and_the_same_data_is_reproduced() -> None:
    v = compare({}, {}, [X], [X], 0.25)
    assert (v.verdict, v.metrics, v.differences, v.headline) == (YES, [], [], "reproduced")
    assert [str(d) for d in v.data] == ["data X (input): aaaaaaaa -> aaaaaaaa (same)"]
    assert compare({}, {}, [], [], 0.0).verdict == YES


def test_data_that_changed_or_is_on_one_side_only_is_not_reproduced() -> None:
    other = Dataset("X", "b" * 32, "b" * 32, "input")
    changed = compare({"m": 1.0}, {"m": 1.0}, [X], [other], 0.25)
    assert changed.verdict == NO
    assert changed.differences == ["data X (input): aaaaaaaa -> bbbbbbbb (differs)"]
    # the fingerprint decides, not the digest MLflow shows (a cut one may match)
    cut = Dataset("X", "a" * 32, "c" * 64, "input")
    assert compare({}, {}, [X], [cut], 0.25).verdict == NO
    gone = compare({"m": 1.0}, {"m": 1.0}, [X], [], 0.25)
    assert gone.verdict == NO
    assert gone.differences == ["data X (input): aaaaaaaa -> none (differs)"]
    new = compare({"m": 1.0}, {"m": 1.0}, [], [X], 0.25)
    assert new.verdict == NO
    assert new.differences == ["data X (input): none -> aaaaaaaa (differs)"]
    # the same data read as an input and written as an output are two data sets
    written = Dataset("X", "a" * 32, "a" * 32, "output")
    both = compare({}, {}, [X], [written], 0.25)
    assert both.verdict == NO
    assert [(d.name, d.context, d.same) for d in both.data] == [
        ("X", "input", False), ("X", "output", False)]
    # data that differs outweighs metrics within the tolerance
    assert compare({"m": 3.0}, {"m": 4.0}, [X], [other], 0.25).verdict == NO


def test_differences_list_the_failure_then_metrics_then_data() -> None:
    other = Dataset("X", "b" * 32, "b" * 32, "input")
    v = compare({"a": 3.0, "b": 1.0, "d": 1.0}, {"a": 4.0, "b": 2.0, "e": 5.0}, [X], [other],
                0.25, failure="the slice failed")
    assert v.verdict == NO
    assert v.differences == [
        "the slice failed",
        "metric b: 1 -> 2 (differs)",
        "metric d: 1 -> none (missing)",
        "metric e: none -> 5 (new)",
        "metric a: 3 -> 4 (within)",
        "data X (input): aaaaaaaa -> bbbbbbbb (differs)",
    ]


def test_a_failed_re_run_is_not_reproduced_even_with_the_same_results() -> None:
    v = compare({"m": 1.0}, {"m": 1.0}, [X], [X], 0.25, failure="KeyError: 'x'")
    assert v.verdict == NO
    assert v.headline == "not reproduced: KeyError: 'x'"
    assert v.causes(["a", "b"]) == ["possible cause: a", "possible cause: b"]
    assert compare({"m": 1.0}, {"m": 1.0}, [X], [X], 0.25, failure="").verdict == YES


def test_the_three_verdicts_are_said() -> None:
    assert SAID == {"yes": "reproduced", "within-tolerance": "reproduced within tolerance",
                    "no": "not reproduced"}
    assert Verdict(YES).headline == "reproduced"
