"""Gate expressions: parsing, evaluation against a champion or none, the report, and the
gates a project agrees on once in ``[tool.nbmlops.gates]``."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from nbmlops import config
from nbmlops.exceptions import ConfigError, GateError
from nbmlops.models.gates import evaluate, format_report, parse, parse_all


@pytest.mark.parametrize(("text", "metric", "op", "number", "arith", "factor"), [
    ("auc >= champion", "auc", ">=", None, None, None),
    ("auc >= 0.80", "auc", ">=", 0.8, None, None),
    ("latency_ms <= champion * 1.1", "latency_ms", "<=", None, "*", 1.1),
    ("  loss<champion-0.01 ", "loss", "<", None, "-", 0.01),
    ("val/f1 > 1e-3", "val/f1", ">", 0.001, None, None),
    ("rmse != -2", "rmse", "!=", -2.0, None, None),
])
def test_the_forms_of_a_gate(text: str, metric: str, op: str, number: float | None,
                             arith: str | None, factor: float | None) -> None:
    gate = parse(text)
    assert (gate.metric, gate.op, gate.number, gate.arith, gate.factor) == (
        metric, op, number, arith, factor)
    assert gate.relative is (number is None)


@pytest.mark.parametrize("text", [
    "", "auc", "auc >=", ">= 0.8", "auc => 0.8", "auc >> 1", "auc >= champion * x",
    "auc >= challenger", "auc >= 0.8 and f1 > 0.5", "auc >= nan", "1auc >= 0.8",
    "auc >= 1e999",
])
def test_a_bad_gate_is_a_clear_one_line_error(text: str) -> None:
    with pytest.raises(GateError) as raised:
        parse(text)
    message = str(raised.value)
    assert "\n" not in message and repr(text) in message
    assert "auc >= champion" in message or "finite" in message


def test_several_bad_gates_are_named_together_and_duplicates_dropped() -> None:
    with pytest.raises(GateError, match=r"'a >> 1'.*'b ~ 2'"):
        parse_all(["auc >= 0.8", "a >> 1", "b ~ 2"])
    assert [g.text for g in parse_all(["auc >= 0.8", "auc  >=  0.8"])] == ["auc >= 0.8"]


def test_gates_against_the_champion() -> None:
    gates = parse_all(["auc >= champion", "auc >= 0.80", "latency_ms <= champion * 1.1"])
    results = evaluate(gates, {"auc": 0.91, "latency_ms": 12.0},
                       {"auc": 0.93, "latency_ms": 11.5})
    assert [(r.candidate, r.champion, r.threshold, r.passed) for r in results] == [
        (0.91, 0.93, 0.93, False), (0.91, None, 0.8, True),
        (12.0, 11.5, pytest.approx(12.65), True),
    ]
    report = format_report(results, "churn v3", "champion v2")
    lines = report.splitlines()
    assert lines[0] == "gates for churn v3 against champion v2"
    assert lines[2].split() == ["auc", ">=", "champion", "0.91", "0.93", "0.93", "FAIL"]
    assert lines[-1] == "  2 of 3 passed; failed: auc >= champion"


def test_without_a_champion_relative_gates_pass_by_definition_and_say_so() -> None:
    gates = parse_all(["auc >= champion", "auc >= 0.95"])
    results = evaluate(gates, {"auc": 0.9}, None)
    assert [r.passed for r in results] == [True, False]
    assert results[0].note == "no champion yet: passes by definition"
    report = format_report(results, "churn v1", None)
    assert "against no champion (first promotion)" in report
    assert "pass (no champion yet: passes by definition)" in report


def test_unknown_metrics_name_what_there_is() -> None:
    with pytest.raises(GateError, match=r"churn v2 has no metric 'auc' \(it has acc, f1\)"):
        evaluate([parse("auc >= 0.8")], {"f1": 0.5, "acc": 0.7}, None,
                 candidate_name="churn v2")
    with pytest.raises(GateError, match="champion churn v1 has no metric 'auc' "
                       r"\(it has no metrics\)"):
        evaluate([parse("auc >= champion")], {"auc": 0.9}, {},
                 champion_name="champion churn v1")


def test_a_nan_metric_fails_every_gate() -> None:
    (result,) = evaluate([parse("loss <= 1")], {"loss": math.nan}, None)
    assert not result.passed and result.note == "the candidate's value is NaN"


def test_the_project_agrees_on_gates_once(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.nbmlops.gates]\n"*" = ["auc >= champion"]\nchurn = ["auc >= 0.8"]\n')
    assert config.gates(tmp_path, "churn") == ["auc >= champion", "auc >= 0.8"]
    assert config.gates(tmp_path, "prices") == ["auc >= champion"]
    (tmp_path / "pyproject.toml").write_text('[tool.nbmlops]\ngates = ["rmse <= champion"]\n')
    assert config.gates(tmp_path, "any") == ["rmse <= champion"]
    (tmp_path / "pyproject.toml").write_text('[tool.nbmlops]\ngates = "auc >= 0.8"\n')
    with pytest.raises(ConfigError, match="gates must be a list of gates"):
        config.gates(tmp_path, "churn")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert config.gates(tmp_path, "churn") == []


def test_the_reproduced_gate_asks_for_a_reproduction_that_gave_the_results_back() -> None:
    [gate] = parse_all(["reproduced"])
    assert (gate.metric, gate.op, gate.number) == ("reproduced", ">=", 1.0)
    [never] = evaluate([gate], {"auc": 0.9}, None)
    assert not never.passed and "nbmlops reproduce" in never.note
    [failed] = evaluate([gate], {"auc": 0.9, "reproduced": 0.0}, None)
    [passed] = evaluate([gate], {"auc": 0.9, "reproduced": 1.0}, {"auc": 0.8})
    assert (failed.passed, passed.passed) == (False, True)
