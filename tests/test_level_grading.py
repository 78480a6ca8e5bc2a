"""Where a criterion's grading says nothing beyond its status: a project with neither tests nor
feature code is told it has no tests, not that its tests found no feature code (that evidence
belongs to a met criterion only). From hand-made evidence, as tests/test_level_rules.py.
"""

from __future__ import annotations

from test_level_rules import everything

from nbmlops.assess.criteria import NOT_MET, assess


def test_no_tests_and_no_feature_code_cite_nothing() -> None:
    ev = everything()
    ev.code.test_files = []
    ev.code.feature_functions = []
    [f] = [f for f in assess(ev).findings if f.id == "feature-tests"]
    assert (f.status, f.evidence, f.missing) == (NOT_MET, [], ["no tests"])
    assert f.step is not None and f.step.command == (
        "add tests/test_features.py for the feature transformations, run pytest")
