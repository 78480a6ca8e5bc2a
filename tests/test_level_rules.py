"""The maturity level's rule, from hand-made evidence (no disk, no MLflow): a level counts
only when its criteria, and those of every level below it, are all met; "partly" and "not
checked" are not met. Each criterion is then taken just past its threshold, alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from nbmlops import store
from nbmlops.assess.criteria import (
    AREAS,
    CRITERIA,
    LEVELS,
    MET,
    NOT_MET,
    PARTLY,
    UNCHECKED,
    Assessment,
    Criterion,
    Finding,
    Step,
    _ms_text,
    assess,
    criterion,
    next_steps,
    red_flags,
)
from nbmlops.assess.evidence import (
    CodeFacts,
    Evidence,
    GitFacts,
    JobFacts,
    JobRun,
    ModelFacts,
    RunFacts,
    ScoringFacts,
    VersionFacts,
)

PERIOD = 1_000_000  # ms: the start of the schedule's last period


def everything() -> Evidence:
    """A project that meets every criterion nbmlops checks (level 4)."""
    version = VersionFacts("2", run_id="r2", user="ada", notebook="train.ipynb", code=True,
                           data=True, metrics=2, report=True, gate_tags=["gate.auc"],
                           rollback_tags=["rolled back from v3"])
    job = JobFacts("jobs/train", "train", notebook="train.ipynb", cron="0 3 * * 1",
                   installed=["cron"], promote=True, period_start=PERIOD,
                   runs=[JobRun("j1", "FINISHED", PERIOD + 1, metrics=2)])
    # a scoring job: watched against the training data, alerting, retraining, shadowing
    scoring = JobFacts("jobs/score", "score", notebook="score.ipynb", monitor=True,
                       alerts=True, retrain="jobs/train", shadow=store.CHALLENGER,
                       runs=[JobRun("s1", "FINISHED", PERIOD + 2, alerts=1,
                                     decision="retrain", retrain_run="j1abcdef99",
                                     outcome="promoted model v2")])
    return Evidence(
        root="/p", generated_at="", tracking_uri="sqlite:///mlflow.db", drift_mode="fail",
        gates=["auc >= champion"],
        git=GitFacts(repository="/p", commits=3, head="0123456789abcdef"),
        jobs=[job, scoring],
        code=CodeFacts(test_files=["tests/test_features.py"],
                       feature_functions=["features.py:clean"],
                       ci_files=[".github/workflows/train.yml"],
                       ci_runs_jobs=[".github/workflows/train.yml"],
                       ci_on_change=[".github/workflows/train.yml"]),
        runs=RunFacts(experiments=1, read=10, tracked=10, with_data=10, with_git=10,
                      with_metrics=10, drift_checked=5, expectations=5, users={"ada": 10},
                      reproduced=1),
        models=[ModelFacts("model", aliases={store.CHAMPION: "2"}, versions=[version])],
        scoring=[ScoringFacts("p1", "model", "2", training_run="r2", compared=True,
                              drifted=True, shadow=store.CHALLENGER)],
    )


def statuses(a: Assessment) -> dict[str, str]:
    return {f.id: f.status for f in a.findings}


def not_met(a: Assessment) -> dict[str, str]:
    return {f.id: f.status for f in a.findings if f.status != MET}


def test_a_project_meeting_every_criterion_is_level_4() -> None:
    ev = everything()
    a = assess(ev)
    assert not_met(a) == {}
    assert a.level == 4 and a.level_name == LEVELS[4] == "continuous training"
    assert a.next_steps == []
    assert [(f.id, f.level, f.area, f.title) for f in a.findings] == [
        (c.id, c.level, c.area, c.title) for c in CRITERIA]
    assert a.evidence is ev and a.red_flags == red_flags(ev) != []
    assert a.notes == ["level 4: nbmlops sees lineage, reproduction, drift-triggered "
                       "retraining and shadow scoring; online learning and feature stores are "
                       "outside what it can check"]


def test_level_3_met_without_level_2_is_level_1() -> None:
    ev = everything()
    assert ev.models is not None
    ev.models[0].aliases = {store.CHALLENGER: "2"}  # level 2's promotion: partly
    a = assess(ev)
    assert not_met(a) == {"promotion": PARTLY}
    assert all(f.status == MET for f in a.findings if f.level >= 3)
    assert a.level == 1


def test_level_1_not_met_is_level_0_whatever_is_above() -> None:
    ev = everything()
    ev.git.not_in_git = ["train.ipynb"]
    a = assess(ev)
    assert not_met(a) == {"git": PARTLY}
    assert a.level == 0 and a.level_name == "notebooks, manual everything"


def _set(obj: object, **values: object) -> None:
    for name, value in values.items():
        setattr(obj, name, value)


def _runs(ev: Evidence) -> RunFacts:
    assert ev.runs is not None
    return ev.runs


def _model(ev: Evidence) -> ModelFacts:
    assert ev.models is not None
    return ev.models[0]


def _set_job(job: JobFacts, **values: object) -> JobFacts:
    _set(job, **values)
    return job


def _scoring(ev: Evidence) -> ScoringFacts:
    assert ev.scoring is not None
    return ev.scoring[0]


def _older_version_without_data(ev: Evidence) -> None:
    _model(ev).versions.append(VersionFacts("1", run_id="r1", user="ada", code=True,
                                            data=False, metrics=2, report=True))


# criterion -> how to take it (alone) just past its threshold, and the status it gets
PAST: dict[str, tuple[Callable[[Evidence], None], str]] = {
    "git": (lambda ev: _set(ev.git, not_in_git=["train.ipynb"]), PARTLY),
    "tracked-runs": (lambda ev: _set(_runs(ev), with_data=0), PARTLY),
    "job": (lambda ev: [_set(j, error="job.yaml: not a mapping") for j in ev.jobs], PARTLY),
    "data-checks": (lambda ev: _set(_runs(ev), expectations=0), PARTLY),
    "tracking-consistent": (lambda ev: _set(_runs(ev), with_git=8), PARTLY),
    "scheduled": (lambda ev: _set(ev.jobs[0].runs[0], start_time=PERIOD - 1), PARTLY),
    "registry": (lambda ev: _set(_model(ev).versions[0], user=None), PARTLY),
    "promotion": (lambda ev: _set(_model(ev), aliases={store.CHALLENGER: "2"}), PARTLY),
    "feature-tests": (lambda ev: _set(ev.code, untested=["features.py:clean"]), NOT_MET),
    "ci": (lambda ev: _set(ev.code, ci_on_change=[]), PARTLY),
    "unattended-eval": (lambda ev: _set(ev.jobs[0].runs[0], metrics=0), PARTLY),
    "gates": (lambda ev: _set(ev, gates=None, jobs=[_set_job(ev.jobs[0], promote=False),
                                                     *ev.jobs[1:]]), PARTLY),
    "eval-reports": (lambda ev: _set(_model(ev).versions[0], report=False), NOT_MET),
    "rollback": (lambda ev: _set(_model(ev).versions[0], rollback_tags=[]), NOT_MET),
    "drift-fails": (lambda ev: _set(ev, drift_mode="warn"), PARTLY),
    "lineage": (_older_version_without_data, PARTLY),
    "reproduced": (lambda ev: _set(_runs(ev), reproduced=0, not_reproduced=1), PARTLY),
    "monitoring": (lambda ev: _set(_scoring(ev), compared=False), PARTLY),
    "retrain-on-drift": (lambda ev: _set(ev.jobs[1].runs[0], decision=None), PARTLY),
    "shadow": (lambda ev: _set(_scoring(ev), shadow=None), PARTLY),
    "prediction-lineage": (lambda ev: _set(_scoring(ev), version="7"), PARTLY),
}


def test_every_criterion_is_taken_past_its_threshold_below() -> None:
    assert sorted(PAST) == sorted(c.id for c in CRITERIA)


@pytest.mark.parametrize("cid", sorted(PAST))
def test_one_criterion_not_met_stops_the_level_below_it(cid: str) -> None:
    ev = everything()
    change, status = PAST[cid]
    change(ev)
    a = assess(ev)
    assert not_met(a) == {cid: status}
    level = next(c.level for c in CRITERIA if c.id == cid)
    assert a.level == level - 1
    found = next(f for f in a.findings if f.id == cid)
    assert found.step is not None and found.step.criterion == cid
    assert found.step.area == found.area
    assert a.next_steps == [found.step]


def test_the_share_of_runs_tracked_the_same_way_at_its_threshold() -> None:
    ev = everything()
    _set(_runs(ev), with_git=9)  # 9 of 10: exactly 0.9
    assert statuses(assess(ev))["tracking-consistent"] == MET
    _set(_runs(ev), with_git=10, tracked=9)
    assert statuses(assess(ev))["tracking-consistent"] == MET
    _set(_runs(ev), tracked=8)
    assert statuses(assess(ev))["tracking-consistent"] == PARTLY
    _set(_runs(ev), tracked=0, with_git=0)
    found = next(f for f in assess(ev).findings if f.id == "tracking-consistent")
    assert found.status == NOT_MET and found.step is not None


def test_a_run_at_the_start_of_the_schedule_s_period_ran_in_it() -> None:
    ev = everything()
    _set(ev.jobs[0].runs[0], start_time=PERIOD)
    assert statuses(assess(ev))["scheduled"] == MET
    _set(ev.jobs[0].runs[0], status="FAILED")
    assert statuses(assess(ev))["scheduled"] == PARTLY


def test_a_criterion_that_could_not_be_checked_is_not_met_and_said() -> None:
    ev = everything()
    ev.models = None  # the registry could not be read
    ev.mlflow = "timeout"
    a = assess(ev)
    assert not_met(a) == {c: UNCHECKED for c in (
        "registry", "promotion", "gates", "eval-reports", "rollback", "lineage",
        "prediction-lineage")}
    assert a.level == 1
    assert a.notes[0] == ("some criteria could not be checked (see \"Not checked\"): the "
                          "level may be higher")
    assert [s.command for s in a.next_steps] == ["nbmlops assess --timeout 120"]


def test_runs_that_could_not_be_read_leave_the_level_to_the_disk() -> None:
    ev = everything()
    ev.runs = None
    ev.mlflow = "offline"
    a = assess(ev)
    assert {c for c, s in not_met(a).items()} == {
        "tracked-runs", "data-checks", "tracking-consistent", "scheduled",
        "unattended-eval", "reproduced", "retrain-on-drift"}  # shadow reads the scoring runs
    assert set(not_met(a).values()) == {UNCHECKED}
    assert a.level == 0


def _finding(id: str, level: int, area: str, status: str, command: str) -> Finding:
    return Finding(id, level, area, id, status, step=Step(id, command, id, area))


def test_next_steps_lowest_level_first_then_in_investment_order_once_each() -> None:
    findings = [
        _finding("a", 3, "versioning", NOT_MET, "cmd-a"),
        _finding("b", 2, "monitoring", PARTLY, "cmd-b"),
        _finding("c", 2, "versioning", UNCHECKED, "cmd-c"),
        _finding("d", 1, "gates", MET, "cmd-d"),  # met: no step
        _finding("e", 2, "tracking", NOT_MET, "cmd-c"),  # the same command as c
        _finding("f", 3, "registry", NOT_MET, "cmd-f"),
        Finding("g", 1, "versioning", "g", NOT_MET),  # no step to give
    ]
    assert [s.command for s in next_steps(findings)] == ["cmd-c", "cmd-b", "cmd-a"]
    assert [s.command for s in next_steps(findings, 5)] == ["cmd-c", "cmd-b", "cmd-a", "cmd-f"]
    assert [s.command for s in next_steps(findings, 1)] == ["cmd-c"]
    assert AREAS.index("versioning") < AREAS.index("tracking") < AREAS.index("monitoring")


def test_a_criterion_of_an_unknown_area_or_level_is_refused() -> None:
    with pytest.raises(ValueError, match="criterion x: unknown area 'nowhere' or level 1"):
        criterion("x", 1, "nowhere", "X")
    with pytest.raises(ValueError, match="criterion x: unknown area 'gates' or level 5"):
        criterion("x", 5, "gates", "X")
    count = len(CRITERIA)
    register = criterion("x", 4, "gates", "X")  # registers only once given its check
    assert len(CRITERIA) == count

    def check(ev: Evidence, f: Finding) -> None:
        f.status = MET

    try:
        assert register(check) is check
        assert CRITERIA[count:] == [Criterion("x", 4, "gates", "X", check)]
    finally:
        del CRITERIA[count:]


def test_times_are_said_in_utc_wherever_the_machine_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert _ms_text(PERIOD) == "1970-01-01 00:16 UTC"
        assert _ms_text(1_700_000_000_000) == "2023-11-14 22:13 UTC"
        assert (_ms_text(0), _ms_text(None)) == ("never", "never")
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_tally_says_the_most_frequent_first_then_by_name() -> None:
    from nbmlops.assess.wording import tally

    assert tally(["retrain", "hold", "retrain"]) == "2 retrain, 1 hold"
    assert tally(["retrain", "hold"]) == "1 hold, 1 retrain"
    assert tally([]) == ""
