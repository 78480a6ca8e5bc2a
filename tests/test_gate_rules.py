"""The rules that decide what becomes champion, at their edges, with hand-built inputs: each
gate operator exactly at its threshold and just either side of it, the champion scaled,
shifted up and down, ties, a metric missing on either side, no champion yet; and the holder a
rollback returns to among several earlier champions and past rollbacks. Pure (no store) except
the last tests, which promote and roll back on a real sqlite store without a kernel."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from nbmlops import store
from nbmlops.exceptions import GateError, ModelError
from nbmlops.models import promotion
from nbmlops.models.gates import Gate, GateResult, evaluate, format_report, parse, parse_all
from nbmlops.models.registry import ModelInfo, VersionInfo

# Values and factors are binary fractions, so ``champion * k``, ``+ k`` and ``- k`` are exact
# and "at the threshold" means equal, not within rounding.
BELOW, AT, ABOVE = 0.5, 0.75, 1.0

#: operator -> passes (below, at, above) its threshold
OUTCOMES = {
    ">=": (False, True, True), ">": (False, False, True),
    "<=": (True, True, False), "<": (True, False, False),
    "==": (False, True, False), "!=": (True, False, True),
}

#: the right-hand side of a gate, the champion's metric, and the threshold it makes (0.75)
RIGHT_SIDES = [
    ("0.75", None), ("champion", 0.75), ("champion * 1.5", 0.5), ("champion * 0.5", 1.5),
    ("champion + 0.25", 0.5), ("champion - 0.25", 1.0), ("champion-0.25", 1.0),
    ("champion + -0.25", 1.0), ("champion - -0.25", 0.5),
]


@pytest.mark.parametrize("op", list(OUTCOMES))
@pytest.mark.parametrize(("right", "champion"), RIGHT_SIDES)
def test_every_operator_at_its_threshold_and_either_side(
    op: str, right: str, champion: float | None
) -> None:
    gate = parse(f"loss {op} {right}")
    assert gate.threshold(champion) == AT
    for value, expected in zip((BELOW, AT, ABOVE), OUTCOMES[op], strict=True):
        (result,) = evaluate([gate], {"loss": value},
                             None if champion is None else {"loss": champion})
        assert (result.candidate, result.threshold, result.passed) == (value, AT, expected), (
            gate.text, value)
        assert result.champion == champion  # an absolute gate reads no champion
        assert result.note == ""


def test_champion_minus_k_is_harder_to_pass_than_the_champion() -> None:
    """``loss <= champion - 0.01``: a candidate must improve on the champion by 0.01."""
    gate = parse("loss <= champion - 0.01")
    champion = {"loss": 0.30}
    assert gate.threshold(0.30) == pytest.approx(0.29)
    passed = [evaluate([gate], {"loss": v}, champion)[0].passed
              for v in (0.28, 0.2899, 0.2901, 0.30, 0.305, 0.31)]
    assert passed == [True, True, False, False, False, False]
    up = parse("auc >= champion + 0.01")
    passed = [evaluate([up], {"auc": v}, {"auc": 0.9})[0].passed for v in (0.9, 0.9099, 0.9101)]
    assert passed == [False, False, True]


def test_a_tie_with_the_champion() -> None:
    tie = {"auc": 0.875}
    results = evaluate(parse_all(["auc >= champion", "auc > champion", "auc == champion",
                                  "auc <= champion * 1", "auc < champion + 0"]), tie, tie)
    assert [r.passed for r in results] == [True, False, True, True, False]
    assert {(r.candidate, r.champion, r.threshold) for r in results} == {(0.875, 0.875, 0.875)}


def test_the_threshold_of_each_form() -> None:
    assert parse("x >= 2").threshold(None) == 2.0
    assert parse("x >= 2").threshold(5.0) == 2.0  # absolute: the champion does not matter
    assert parse("x >= champion").threshold(None) is None
    assert parse("x >= champion * 3").threshold(None) is None
    assert parse("x >= champion").threshold(4.0) == 4.0
    assert parse("x >= champion * 3").threshold(4.0) == 12.0
    assert parse("x >= champion + 3").threshold(4.0) == 7.0
    assert parse("x >= champion - 3").threshold(4.0) == 1.0
    assert parse("x >= champion * 0").threshold(4.0) == 0.0  # a zero factor is still applied
    assert parse("x >= champion - 0").threshold(4.0) == 4.0
    assert Gate("x >= champion", "x", ">=", arith="*").threshold(4.0) == 4.0  # factor missing
    assert Gate("x >= champion", "x", ">=", factor=3.0).threshold(4.0) == 4.0  # arith missing
    assert parse("x >= champion").relative and not parse("x >= 0").relative


def test_the_parts_of_a_parsed_gate() -> None:
    assert parse("\tloss  <=champion -  0.01 ") == Gate("loss <=champion - 0.01", "loss", "<=",
                                                        None, "-", 0.01)
    assert parse("a.b/c-d_e != .5e1") == Gate("a.b/c-d_e != .5e1", "a.b/c-d_e", "!=", 5.0)
    assert parse("  reproduced\n") == Gate("reproduced", "reproduced", ">=", 1.0)
    assert parse("x>=-1E-2").number == -0.01
    assert parse("x >= +3.").number == 3.0


@pytest.mark.parametrize("text", ["x >= champion * 1e999", "x >= champion - 1e400",
                                  "x >= -1e999"])
def test_an_infinite_number_or_factor_is_refused(text: str) -> None:
    with pytest.raises(GateError, match=r"^bad gate '.*': -?inf is not a finite number$"):
        parse(text)


def test_a_bad_gate_says_what_to_write() -> None:
    with pytest.raises(GateError) as raised:
        parse("auc ~ 1")
    assert str(raised.value) == (
        "bad gate 'auc ~ 1': write METRIC OP VALUE, where OP is one of >= <= > < == != and "
        "VALUE a number or champion [* + -] NUMBER (e.g. \"auc >= champion\", "
        "\"auc >= 0.80\", \"latency_ms <= champion * 1.1\"), or reproduced")
    with pytest.raises(GateError) as raised:
        parse_all(["a ~ 1", "auc >= 1", "b ~ 2"])
    assert str(raised.value).startswith("bad gate 'a ~ 1': write")
    assert "or reproduced; bad gate 'b ~ 2': write" in str(raised.value)


def test_duplicates_keep_the_first_in_order() -> None:
    gates = parse_all(["b >= 1", "a >= champion", "b  >=  1", "a >= champion"])
    assert [g.text for g in gates] == ["b >= 1", "a >= champion"]
    assert parse_all([]) == []


def test_a_metric_missing_on_the_candidate_side() -> None:
    for gate in ("auc >= 0.5", "auc >= champion", "auc >= champion - 0.25"):
        with pytest.raises(GateError) as raised:
            evaluate([parse(gate)], {"f1": 0.5}, {"auc": 0.9})
        assert str(raised.value) == (
            f"gate '{gate}': the candidate has no metric 'auc' (it has f1)")
    # also without a champion: a relative gate passes only for a metric the candidate has
    with pytest.raises(GateError, match="the candidate has no metric 'auc'"):
        evaluate([parse("auc >= champion")], {}, None)


def test_a_metric_missing_on_the_champion_side() -> None:
    with pytest.raises(GateError) as raised:
        evaluate([parse("auc >= champion * 1.5")], {"auc": 0.9}, {"f1": 0.5, "acc": 0.1})
    assert str(raised.value) == (
        "gate 'auc >= champion * 1.5': the champion has no metric 'auc' (it has acc, f1)")
    # an absolute gate never asks the champion
    (result,) = evaluate([parse("auc >= 0.5")], {"auc": 0.9}, {})
    assert result.passed and result.champion is None


def test_what_a_missing_metric_error_names() -> None:
    many = {f"m{i:02d}": 1.0 for i in range(13)}
    with pytest.raises(GateError) as raised:
        evaluate([parse("auc >= 1")], many, None, candidate_name="churn v2")
    assert str(raised.value).endswith(
        "churn v2 has no metric 'auc' (it has " + ", ".join(sorted(many)[:12]) + ", ...)")
    twelve = dict(list(many.items())[:12])
    with pytest.raises(GateError) as raised:
        evaluate([parse("auc >= 1")], twelve, None)
    assert str(raised.value).endswith("(it has " + ", ".join(sorted(twelve)) + ")")
    with pytest.raises(GateError) as raised:
        evaluate([parse("auc >= champion")], {"auc": 1.0}, {}, champion_name="champion v1")
    assert str(raised.value).endswith("champion v1 has no metric 'auc' (it has no metrics)")


def test_no_champion_yet() -> None:
    results = evaluate(parse_all(["auc >= champion", "auc >= champion - 0.25",
                                  "auc >= 0.875", "auc < 0.875"]), {"auc": 0.875}, None)
    assert [(r.candidate, r.champion, r.threshold, r.passed, r.note) for r in results] == [
        (0.875, None, None, True, "no champion yet: passes by definition"),
        (0.875, None, None, True, "no champion yet: passes by definition"),
        (0.875, None, 0.875, True, ""), (0.875, None, 0.875, False, ""),
    ]


def test_a_nan_fails_every_operator_even_not_equal() -> None:
    for op in OUTCOMES:
        (result,) = evaluate([parse(f"loss {op} champion")], {"loss": math.nan}, {"loss": 1.0})
        assert (result.passed, result.note) == (False, "the candidate's value is NaN"), op
    (result,) = evaluate([parse("loss != champion")], {"loss": 0.5}, {"loss": math.nan})
    assert result.passed and result.note == ""  # a NaN champion: the comparison decides


def test_the_reproduced_gate() -> None:
    gate = parse("reproduced")
    (never,) = evaluate([gate], {}, None)
    assert never == GateResult(gate, 0.0, None, 1.0, False,
                               "never reproduced: nbmlops reproduce RUN_ID")
    (yes,) = evaluate([gate], {"reproduced": 1}, {"reproduced": 0.0})
    assert yes == GateResult(gate, 1.0, None, 1.0, True, "")
    # written out, the gate reads the same pseudo-metric, and fails the same without it
    (written,) = evaluate([parse("reproduced >= 1")], {}, None)
    assert (written.passed, written.note) == (False, never.note)


def test_every_gate_is_evaluated_in_order() -> None:
    results = evaluate(parse_all(["reproduced", "b >= 2", "a >= champion"]),
                       {"a": 1.0, "b": 2.0}, {"a": 2.0})
    assert [(r.gate.text, r.passed) for r in results] == [
        ("reproduced", False), ("b >= 2", True), ("a >= champion", False)]
    assert results[1].to_dict() == {"gate": "b >= 2", "candidate": 2.0, "champion": None,
                                    "threshold": 2.0, "passed": True, "note": ""}


def test_the_report_a_person_reads() -> None:
    results = evaluate(parse_all(["auc >= champion", "latency_ms <= champion * 1.1",
                                  "auc >= 0.123456789"]),
                       {"auc": 0.91, "latency_ms": math.nan}, {"auc": 0.9, "latency_ms": 10.0})
    assert format_report(results, "churn v3", "champion v2") == "\n".join([
        "gates for churn v3 against champion v2",
        "  gate                          candidate  champion  threshold  result",
        "  auc >= champion               0.91       0.9       0.9        pass",
        "  latency_ms <= champion * 1.1  nan        10        11         FAIL (the candidate's "
        "value is NaN)",
        "  auc >= 0.123456789            0.91       -         0.123457   pass",
        "  2 of 3 passed; failed: latency_ms <= champion * 1.1",
    ])
    first = evaluate(parse_all(["auc >= champion"]), {"auc": 0.5}, None)
    assert format_report(first, "churn v1", None) == "\n".join([
        "gates for churn v1 against no champion (first promotion)",
        "  gate             candidate  champion  threshold  result",
        "  auc >= champion  0.5        -         -          pass (no champion yet: passes by "
        "definition)",
        "  1 of 1 passed",
    ])
    assert format_report([], "churn v1", "champion v2") == (
        "gates for churn v1 against champion v2\n  no gates: nothing to check")
    two = evaluate(parse_all(["a > 1", "b > 1"]), {"a": 1.0, "b": 1.0}, None)
    assert format_report(two, "m v1", None).endswith("0 of 2 passed; failed: a > 1, b > 1")


# --- promotion: the candidate, the previous holder, what a person reads ---------------------

def version(number: int, *reigns: dict[str, Any], alias: str = store.CHAMPION,
            run_id: str | None = None) -> VersionInfo:
    return VersionInfo("churn", str(number), run_id, number, [], {},
                       history={alias: list(reigns)} if reigns else {})


def reign(since: str, until: str | None, previous: str | None,
          ended: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"since": since, "until": until, "previous": previous}
    if ended is not None:
        found["ended"] = ended
    return found


def model(*versions: VersionInfo, **aliases: str) -> ModelInfo:
    return ModelInfo("churn", sorted(versions, key=lambda v: -int(v.version)), aliases)


def line_of_champions() -> list[VersionInfo]:
    """v1, v2, v3, v4 took the champion in turn (v2 twice, around v3); v5 was promoted after
    v4 and rolled back, which gave it back to v4; v6 never held it."""
    return [
        version(1, reign("t01", "t02", None)),
        version(2, reign("t02", "t03", "1"), reign("t04", "t05", "3")),
        version(3, reign("t03", "t04", "2")),
        version(4, reign("t05", "t06", "2"), reign("t07", None, "5")),
        version(5, reign("t06", "t07", "4", ended=promotion.ROLLED_BACK)),
        version(6),
    ]


def test_rollback_returns_to_the_most_recent_earlier_champion() -> None:
    """v4 holds the champion; the one before it that was not rolled back is v2 (its second
    reign ended last), not the oldest (v1), nor v5 whose reign ended by a rollback."""
    found, since = promotion._previous_holder(model(*line_of_champions(), champion="4"),
                                              store.CHAMPION, "4")
    assert (found.version, since) == ("2", "t04")


class Line:
    """The champion's history as ``aliases.move_alias`` writes it, on hand-built versions."""

    def __init__(self, count: int) -> None:
        self.versions = [version(n) for n in range(1, count + 1)]
        self.holder: str | None = None
        self.clock = 0

    def move(self, to: str, ended: str = "replaced") -> None:
        self.clock += 1
        at = f"t{self.clock:02d}"
        for v in self.versions:
            for r in v.history.get(store.CHAMPION, []):
                if r["until"] is None:
                    r.update(until=at, ended=ended)
        target = self.versions[int(to) - 1]
        target.history.setdefault(store.CHAMPION, []).append(reign(at, None, self.holder))
        self.holder = to

    def previous(self) -> str:
        assert self.holder is not None
        found, _ = promotion._previous_holder(model(*self.versions, champion=self.holder),
                                              store.CHAMPION, self.holder)
        return found.version

    def roll_back(self) -> str:
        to = self.previous()
        self.move(to, ended=promotion.ROLLED_BACK)
        return to


def test_each_rollback_goes_one_holder_further_back() -> None:
    """v1 to v4 promoted in turn; rolling back three times returns to v3, v2, v1, never to a
    version rolled back from, though it had served before; then there is nothing left."""
    line = Line(4)
    for n in "1234":
        line.move(n)
    assert [line.roll_back() for _ in range(3)] == ["3", "2", "1"]
    with pytest.raises(ModelError) as raised:
        line.previous()
    assert str(raised.value) == ("no previous champion of churn to roll back to from v1: "
                                 "v1 is the first champion (give --version VERSION)")


def test_a_version_promoted_again_after_a_rollback_can_be_returned_to() -> None:
    line = Line(3)
    for n in "12":
        line.move(n)
    assert line.roll_back() == "1"  # v2 rolled back ...
    line.move("2")  # ... then promoted again (it passed the gates), and v3 after it
    line.move("3")
    assert [line.roll_back(), line.roll_back()] == ["2", "1"]
    with pytest.raises(ModelError, match="from v1: v1 is the first champion"):
        line.previous()


def test_nothing_to_return_to_when_the_earlier_ones_were_rolled_back() -> None:
    line = Line(3)
    line.move("1")
    line.move("2", ended=promotion.ROLLED_BACK)  # v1 rolled back (rollback --version 2)
    with pytest.raises(ModelError) as raised:
        line.previous()
    assert str(raised.value) == ("no previous champion of churn to roll back to from v2: "
                                 "the earlier ones were rolled back (give --version VERSION)")


def test_reigns_that_ended_together_go_to_the_newer_version() -> None:
    """Two reigns ending at the same instant (written by hand, or clocks at one second):
    the newer version is the later holder, whatever the order versions are listed in."""
    v2 = version(2, reign("t1", "t2", None))
    v10 = version(10, reign("t1", "t2", None))
    v11 = version(11, reign("t2", None, "10"))
    for versions in ([v2, v10, v11], [v11, v10, v2]):
        found, _ = promotion._previous_holder(
            ModelInfo("churn", versions, {"champion": "11"}), store.CHAMPION, "11")
        assert found.version == "10"  # compared as numbers: "10" < "2" as text


def test_only_the_reigns_of_that_alias_count() -> None:
    v1 = version(1, reign("t1", "t2", None), alias="staging")
    v2 = version(2, reign("t0", "t1", None), reign("t2", None, "1"), alias="staging")
    v2.history[store.CHAMPION] = [reign("t5", None, "3")]
    v3 = version(3, reign("t3", "t5", None))
    found, since = promotion._previous_holder(model(v1, v2, v3), "staging", "2")
    assert (found.version, since) == ("1", "t1")
    found, since = promotion._previous_holder(model(v1, v2, v3), store.CHAMPION, "2")
    assert (found.version, since) == ("3", "t3")
    v2.history[store.CHAMPION] = [reign("t5", None, None)]
    with pytest.raises(ModelError) as raised:
        promotion._previous_holder(model(v1, v2), store.CHAMPION, "2")
    assert str(raised.value) == ("no previous champion of churn to roll back to from v2: "
                                 "v2 is the first champion (give --version VERSION)")


def test_the_first_holder_has_no_previous() -> None:
    for current in (version(1, reign("t1", None, None)), version(1)):
        with pytest.raises(ModelError, match="from v1: v1 is the first champion"):
            promotion._previous_holder(model(current, version(2)), store.CHAMPION, "1")
    with pytest.raises(ModelError, match="from v7: v7 is the first champion"):
        promotion._previous_holder(model(version(1)), store.CHAMPION, "7")  # v7 deleted


def test_the_version_to_promote() -> None:
    v1, v2, v3 = version(1), version(2), version(3)
    assert promotion.candidate_of(model(v1, v2, v3), "v2") is v2
    assert promotion.candidate_of(model(v1, v2, v3), "1") is v1
    assert promotion.candidate_of(model(v1, v2, v3, challenger="2"), None) is v2
    assert promotion.candidate_of(model(v1, v2, v3, challenger="9"), None) is v3  # deleted
    assert promotion.candidate_of(model(v1, v2, v3, champion="1"), None) is v3
    with pytest.raises(ModelError) as raised:
        promotion.candidate_of(model(v1, v3), "2")
    assert str(raised.value) == "churn has no version 2 (versions: 3, 1)"
    with pytest.raises(ModelError) as raised:
        promotion.candidate_of(model(), "2")
    assert str(raised.value) == "churn has no version 2 (versions: none)"
    with pytest.raises(ModelError) as raised:
        promotion.candidate_of(model(), None)
    assert str(raised.value) == "churn has no versions to promote"


def test_what_a_promotion_and_a_rollback_say() -> None:
    passed = evaluate(parse_all(["a >= 1"]), {"a": 1.0}, None)
    failed = evaluate(parse_all(["a >= 1", "a >= 2"]), {"a": 1.0}, None)
    assert promotion.Promotion("churn", "3", "champion", "2", passed).passed
    assert not promotion.Promotion("churn", "3", "champion", "2", failed).passed
    assert promotion.Promotion("churn", "3", "champion", None).passed  # no gates
    moved = promotion.Promotion("churn", "3", "champion", "2", moved=True)
    assert moved.summary() == "churn v3 is now champion (was v2)"
    moved.previous = None
    assert moved.summary() == "churn v3 is now champion (the first)"
    assert promotion.Promotion("churn", "3", "champion", "3").summary() == (
        "churn v3 already holds champion: nothing moved")
    assert promotion.Rollback("churn", "champion", "4", "2", "t04").summary() == (
        "rolled back churn: champion moved from v4 to v2, champion again as it was from t04")
    assert promotion.Rollback("churn", "champion", "4", "2", None).summary() == (
        "rolled back churn: champion moved from v4 to v2")


def test_the_user_when_the_system_knows_none(monkeypatch: pytest.MonkeyPatch) -> None:
    import getpass

    monkeypatch.setattr(getpass, "getuser", lambda: "ada")
    assert promotion._user() == "ada"
    for error in (KeyError, OSError):
        def refuse(error: type[Exception] = error) -> str:
            raise error("no user")
        monkeypatch.setattr(getpass, "getuser", refuse)
        assert promotion._user() is None


# --- promotion and rollback on a real sqlite store -------------------------------------------

@pytest.fixture
def client(tmp_path: Path, migrated_db: Path) -> Any:
    import shutil

    from mlflow import MlflowClient

    shutil.copy(migrated_db, tmp_path / "mlflow.db")
    return MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")


def register(client: Any, name: str, aucs: list[float], *, run: bool = True) -> None:
    """``name`` with one version per AUC (v1 first), each from a run of its own (or none)."""
    experiment = client.create_experiment(
        f"{name}.ipynb", artifact_location=(Path(client.tracking_uri[len("sqlite:///"):]).parent
                                            / "mlruns").as_uri())
    client.create_registered_model(name)
    for auc in aucs:
        run_id = None
        if run:
            run_id = client.create_run(experiment).info.run_id
            client.log_metric(run_id, "auc", auc)
            client.log_metric(run_id, "n", auc * 8)  # only in the run, not in the tags
            client.set_terminated(run_id)
        client.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id,
                                    tags={f"{store.MODEL_METRIC_TAG_PREFIX}auc": repr(auc)})


def aliases_of(client: Any, name: str) -> dict[str, str]:
    return {k: str(v) for k, v in client.get_registered_model(name).aliases.items()}


def report_of(client: Any, name: str, number: str) -> dict[str, Any]:
    import json
    import tempfile

    run_id = client.get_model_version(name, number).run_id
    with tempfile.TemporaryDirectory() as folder:
        local = client.download_artifacts(run_id, store.evaluation_artifact(name, number), folder)
        text = Path(local).read_text()
    assert text.startswith('{\n "') and not text.startswith('{\n  ')  # one space, for a person
    return dict(json.loads(text))


def test_promotion_through_the_gates_on_a_store(client: Any, tmp_path: Path) -> None:
    from nbmlops.exceptions import GateFailed

    register(client, "churn", [0.75, 0.875, 0.8125])
    promotion.aliases.move_alias(client, "churn", store.CHALLENGER, "3", how="new", by=None)
    (tmp_path / "pyproject.toml").write_text('[tool.nbmlops.gates]\nchurn = ["auc >= 0.5"]\n')
    first = promotion.promote(client, "churn", "1", gates=["auc >= champion"], root=tmp_path,
                              by="ada")
    assert (first.name, first.version, first.alias, first.previous, first.moved,
            first.passed) == ("churn", "1", "champion", None, True, True)
    assert [r.gate.text for r in first.results] == ["auc >= 0.5", "auc >= champion"]
    assert first.report.startswith("gates for churn v1 against no champion")
    tag = client.get_model_version("churn", "1").tags[store.MODEL_GATES_TAG]
    assert tag.startswith("2/2 passed for champion against no champion at ") and ";" not in tag
    second = promotion.promote(client, "churn", "2", gates=["auc >= champion", "n > champion"])
    assert [r.threshold for r in second.results] == [0.75, 6.0]  # n: the run's metric
    assert (second.previous, second.moved) == ("1", True)
    assert second.report.startswith("gates for churn v2 against champion v1")
    # The challenger (v3) is worse than the champion: refused, and said so everywhere.
    for _ in range(2):
        with pytest.raises(GateFailed) as raised:
            promotion.promote(client, "churn", gates=["auc >= champion", "auc >= 0.5"])
        assert str(raised.value) == ("churn v3 not promoted to champion: failed gate(s) "
                                     "auc >= champion (champion stays v2)")
        assert "1 of 2 passed; failed: auc >= champion" in raised.value.report
    v3 = client.get_model_version("churn", "3")
    assert v3.tags[store.MODEL_GATES_TAG].startswith("1/2 passed for champion against v2 at ")
    assert v3.tags[store.MODEL_GATES_TAG].endswith("; failed: auc >= champion")
    report = report_of(client, "churn", "3")
    assert set(report) == {"model", "version", "run_id", "metrics", "gates"}
    assert set(report["gates"][0]) == {"at", "alias", "against", "passed", "results"}
    assert (report["model"], report["version"], report["run_id"]) == ("churn", "3", v3.run_id)
    assert report["metrics"] == {"auc": 0.8125}
    assert [(g["alias"], g["against"], g["passed"]) for g in report["gates"]] == [
        ("champion", "2", False)] * 2  # the second attempt appended to the first
    assert report["gates"][0]["results"][0] == {
        "gate": "auc >= champion", "candidate": 0.8125, "champion": 0.875,
        "threshold": 0.875, "passed": False, "note": ""}
    assert aliases_of(client, "churn") == {"champion": "2", "challenger": "3"}
    with pytest.raises(GateFailed) as raised:
        promotion.promote(client, "churn", gates=["auc >= champion", "auc >= 0.9"])
    assert str(raised.value) == ("churn v3 not promoted to champion: failed gate(s) "
                                 "auc >= champion; auc >= 0.9 (champion stays v2)")
    v3 = client.get_model_version("churn", "3")
    assert v3.tags[store.MODEL_GATES_TAG].endswith("; failed: auc >= champion; auc >= 0.9")
    # Promoted to any alias, the challenger is no longer one; another version's stays.
    promotion.promote(client, "churn", to="staging")
    assert aliases_of(client, "churn") == {"champion": "2", "staging": "3"}
    challenger = promotion.aliases.history(client.get_model_version("churn", "3"),
                                           store.CHALLENGER)
    assert challenger[-1]["ended"] == "promoted to staging"
    again = promotion.promote(client, "churn", "2")
    assert (again.name, again.version, again.alias, again.previous, again.moved,
            again.results) == ("churn", "2", "champion", "2", False, [])
    client.set_registered_model_alias("churn", store.CHALLENGER, "1")
    promotion.promote(client, "churn", "3")
    assert aliases_of(client, "churn") == {"champion": "3", "staging": "3", "challenger": "1"}
    assert [(r["by"], r["how"]) for r in promotion.aliases.history(
        client.get_model_version("churn", "1"), store.CHAMPION)] == [("ada", "promoted")]


def test_a_version_without_a_run_keeps_its_gates_in_a_tag(client: Any) -> None:
    register(client, "prices", [0.5], run=False)
    promoted = promotion.promote(client, "prices", gates=["auc >= 0.25"])
    assert promoted.moved
    tag = client.get_model_version("prices", "1").tags[store.MODEL_GATES_TAG]
    assert tag.startswith("1/1 passed for champion against no champion at ")


def test_rollback_on_a_store(client: Any) -> None:
    register(client, "churn", [0.5, 0.625, 0.75, 0.875])
    with pytest.raises(ModelError, match=r"^churn has no champion to roll back$"):
        promotion.rollback(client, "churn")
    for number in "1234":
        promotion.aliases.move_alias(client, "churn", store.CHAMPION, number, how="promoted",
                                     by=None)
    sinces = {str(v.version): promotion.aliases.history(v, store.CHAMPION)[0]["since"]
              for v in client.search_model_versions("name = 'churn'")}
    back = [promotion.rollback(client, "churn", by="ada") for _ in range(3)]
    assert {(b.name, b.alias) for b in back} == {("churn", "champion")}
    assert [(b.from_version, b.to_version, b.since) for b in back] == [
        ("4", "3", sinces["3"]), ("3", "2", sinces["2"]), ("2", "1", sinces["1"])]
    v4 = promotion.aliases.history(client.get_model_version("churn", "4"), store.CHAMPION)
    assert v4[-1]["ended"] == promotion.ROLLED_BACK
    v1 = promotion.aliases.history(client.get_model_version("churn", "1"), store.CHAMPION)
    assert (v1[-1]["how"], v1[-1]["by"], v1[-1]["until"]) == ("rollback", "ada", None)
    with pytest.raises(ModelError, match="from v1: v1 is the first champion"):
        promotion.rollback(client, "churn")
    with pytest.raises(ModelError, match=r"^churn has no version 9 \(versions: 4, 3, 2, 1\)$"):
        promotion.rollback(client, "churn", "9")
    with pytest.raises(ModelError, match=r"^churn v1 already holds champion$"):
        promotion.rollback(client, "churn", "v1")
    explicit = promotion.rollback(client, "churn", "v3")
    assert (explicit.from_version, explicit.to_version) == ("1", "3")
    v3 = promotion.aliases.history(client.get_model_version("churn", "3"), store.CHAMPION)
    assert explicit.since == v3[-2]["since"] != sinces["3"]  # its latest reign before
    never = promotion.rollback(client, "churn", "4")
    assert (never.to_version, never.since is not None) == ("4", True)
    client.set_registered_model_alias("churn", "staging", "2")
    to_new = promotion.rollback(client, "churn", "1", alias="staging")
    assert (to_new.to_version, to_new.since) == ("1", None)  # never held staging before
    assert aliases_of(client, "churn") == {"champion": "4", "staging": "1"}


def test_an_evaluation_report_that_is_not_one_is_replaced(client: Any) -> None:
    register(client, "churn", [0.5])
    run_id = client.get_model_version("churn", "1").run_id
    client.log_text(run_id, "[1, 2]", store.evaluation_artifact("churn", "1"))
    promotion.promote(client, "churn", gates=["auc >= 0.25"])
    report = report_of(client, "churn", "1")
    assert (report["version"], len(report["gates"])) == ("1", 1)
    # a report written without gates (by hand, or an older nbmlops) gets them added
    client.log_text(run_id, '{"note": "kept"}', store.evaluation_artifact("churn", "1"))
    promotion.promote(client, "churn", to="staging")
    report = report_of(client, "churn", "1")
    assert (report["note"], len(report["gates"])) == ("kept", 1)


def test_a_metric_missing_from_a_promotion_names_the_version(client: Any) -> None:
    from nbmlops.exceptions import GateFailed

    register(client, "prices", [0.5, 0.75], run=False)
    client.set_model_version_tag("prices", "2", f"{store.MODEL_METRIC_TAG_PREFIX}n", "3")
    with pytest.raises(GateFailed) as raised:
        promotion.promote(client, "prices", "1", gates=["auc >= 0.9"])
    assert str(raised.value) == "prices v1 not promoted to champion: failed gate(s) auc >= 0.9"
    promotion.promote(client, "prices", "1")
    with pytest.raises(GateError) as missing:
        promotion.promote(client, "prices", "2", gates=["f1 >= 1"])
    assert str(missing.value) == "gate 'f1 >= 1': prices v2 has no metric 'f1' (it has auc, n)"
    with pytest.raises(GateError) as missing:
        promotion.promote(client, "prices", "2", gates=["n >= champion"])
    assert str(missing.value) == ("gate 'n >= champion': champion prices v1 has no metric 'n' "
                                  "(it has auc)")


class Meddling:
    """The store as another machine's promotions see it: each time this process reads a run
    (the gates' metrics) or the alias's holder, the next move in ``moves`` lands (None:
    none). A subclass of MlflowClient, built lazily so mlflow is imported by the test."""

    @staticmethod
    def client(uri: str, name: str, alias: str, moves: list[str | None],
               reads: tuple[str, ...]) -> Any:
        from mlflow import MlflowClient

        other = MlflowClient(uri)

        def meddle() -> None:
            if moves:
                to = moves.pop(0)
                if to is not None:
                    other.set_registered_model_alias(name, alias, to)

        class Client(MlflowClient):  # type: ignore[misc]
            def get_run(self, run_id: str) -> Any:
                if "get_run" in reads:
                    meddle()
                return super().get_run(run_id)

            def get_model_version_by_alias(self, name: str, alias: str) -> Any:
                if "get_model_version_by_alias" in reads:
                    meddle()
                return super().get_model_version_by_alias(name, alias)

        return Client(uri)


def test_a_holder_that_moves_while_the_gates_are_judged(client: Any) -> None:
    """Another machine makes v2 champion while v3 is judged against v1: v3 is judged again,
    against v2, and refused; an alias that keeps moving is given up after a few attempts."""
    from nbmlops.exceptions import GateFailed

    register(client, "churn", [0.5, 0.75, 0.625])
    client.set_registered_model_alias("churn", store.CHAMPION, "1")
    uri = client.tracking_uri
    meddling = Meddling.client(uri, "churn", store.CHAMPION, ["2"], ("get_run",))
    with pytest.raises(GateFailed) as raised:
        promotion.promote(meddling, "churn", "3", gates=["auc >= champion"])
    assert str(raised.value) == ("churn v3 not promoted to champion: failed gate(s) "
                                 "auc >= champion (champion stays v2)")
    moves: list[str | None] = ["1", None, "2", None] * promotion.ATTEMPTS
    meddling = Meddling.client(uri, "churn", store.CHAMPION, moves, ("get_run",))
    with pytest.raises(ModelError) as raised:
        promotion.promote(meddling, "churn", "3", gates=["auc >= 0.5"])
    assert str(raised.value) == ("champion of churn kept moving while the gates were "
                                 "evaluated; try again")
    # between the last look and the move: judged again (v3 against v2 this time, and refused)
    client.set_registered_model_alias("churn", store.CHAMPION, "1")
    meddling = Meddling.client(uri, "churn", store.CHAMPION, [None, "2"],
                               ("get_model_version_by_alias",))
    with pytest.raises(GateFailed, match=r"\(champion stays v2\)$"):
        promotion.promote(meddling, "churn", "3", gates=["auc >= champion"])


def test_a_rollback_does_not_undo_a_move_it_did_not_see(client: Any) -> None:
    from nbmlops.models.aliases import AliasMoved

    register(client, "churn", [0.5, 0.75, 0.625])
    for number in "12":
        promotion.aliases.move_alias(client, "churn", store.CHAMPION, number, how="promoted",
                                     by=None)
    meddling = Meddling.client(client.tracking_uri, "churn", store.CHAMPION, ["3"],
                               ("get_model_version_by_alias",))
    with pytest.raises(AliasMoved):
        promotion.rollback(meddling, "churn")
    assert aliases_of(client, "churn")["champion"] == "3"
