"""What each criterion tells the user, branch by branch, from hand-made evidence: its status,
the evidence it cites, what it misses, and the step it proposes; then the red flags and where
they are. Each case starts from a project that meets everything
(:func:`test_level_rules.everything`) and changes one thing.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from test_level_rules import PERIOD, everything

from nbmlops.assess.criteria import assess, red_flags
from nbmlops.assess.evidence import (
    Evidence,
    JobFacts,
    JobRun,
    ModelFacts,
    NotebookFacts,
    VersionFacts,
)


def runs(ev: Evidence, **values: Any) -> None:
    assert ev.runs is not None
    for name, value in values.items():
        setattr(ev.runs, name, value)


def models(ev: Evidence) -> list[ModelFacts]:
    assert ev.models is not None
    return ev.models


def newest(ev: Evidence, **values: Any) -> None:
    for name, value in values.items():
        setattr(models(ev)[0].versions[0], name, value)


def without(ev: Evidence, what: str, value: Any) -> None:
    newest(ev, **{what: value})


def code(ev: Evidence, **values: Any) -> None:
    for name, value in values.items():
        setattr(ev.code, name, value)


def git(ev: Evidence, **values: Any) -> None:
    for name, value in values.items():
        setattr(ev.git, name, value)


def job(ev: Evidence, **values: Any) -> None:
    for name, value in values.items():
        setattr(ev.jobs[0], name, value)


def every_job(ev: Evidence, **values: Any) -> None:
    for facts in ev.jobs:
        for name, value in values.items():
            setattr(facts, name, value)


def scoring_job(ev: Evidence, **values: Any) -> None:
    for name, value in values.items():
        setattr(ev.jobs[1], name, value)


def scoring_run(ev: Evidence, **values: Any) -> None:
    for name, value in values.items():
        setattr(ev.jobs[1].runs[0], name, value)


def scored(ev: Evidence, **values: Any) -> None:
    assert ev.scoring is not None
    for name, value in values.items():
        setattr(ev.scoring[0], name, value)


def no_scoring(ev: Evidence) -> None:
    ev.jobs, ev.scoring = ev.jobs[:1], []


def notebooks(ev: Evidence) -> None:
    ev.notebooks = [NotebookFacts("train.ipynb", code_cells=3, tracked_cells=2, expect_cells=1),
                    NotebookFacts("explore.ipynb", code_cells=4)]


def no_jobs(ev: Evidence) -> None:
    ev.jobs = []


def both(*changes: Callable[[Evidence], None]) -> Callable[[Evidence], None]:
    def change(ev: Evidence) -> None:
        for c in changes:
            c(ev)
    return change


def unread(ev: Evidence) -> None:
    ev.runs, ev.models, ev.scoring, ev.mlflow = None, None, None, "unreachable"
    ev.unchecked = ["MLflow at sqlite:///mlflow.db: connection refused", "something else"]


def six_models(ev: Evidence) -> None:
    models(ev).extend(ModelFacts(f"m{i}", aliases={"challenger": "1"}) for i in range(5))


def unread_as(ev: Evidence, how: str) -> None:
    unread(ev)
    ev.mlflow = how if how in ("offline", "timeout", "no uri") else "unreachable"
    if how != "offline":
        ev.unchecked = ["the settings"] + ([] if how == "unsaid" else ["MLflow timed out"])
    ev.tracking_uri = {"no store uri": "", "secret uri": "http://ada:pw@host:5000"}.get(
        how, ev.tracking_uri)


# case -> (criterion, the change to a project meeting everything)
CASES: dict[str, tuple[str, Callable[[Evidence], None]]] = {
    "git met": ("git", lambda ev: git(ev, uncommitted=2)),
    "git met clean": ("git", both(notebooks, lambda ev: setattr(ev, "outputs", ["out.ipynb"]))),
    "git corrupt": ("git", lambda ev: git(ev, corrupt="sub/.git", error=None)),
    "git corrupt said": ("git", lambda ev: git(ev, corrupt="sub/.git", error="bad HEAD")),
    "git three not in git": ("git", lambda ev: git(ev, not_in_git=["a.py", "b.py", "c.py"])),
    "git refused": ("git", lambda ev: git(ev, repository=None, error="dubious ownership")),
    "git none": ("git", lambda ev: git(ev, repository=None)),
    "git no head": ("git", lambda ev: git(ev, head=None)),
    "git error": ("git", lambda ev: git(ev, error="cannot list files")),
    "git not in git": ("git", lambda ev: git(ev, not_in_git=[f"n{i}.ipynb" for i in range(6)])),
    "tracked met": ("tracked-runs", notebooks),
    "tracked unread": ("tracked-runs", unread),
    "tracked no runs spooled": ("tracked-runs", both(notebooks, lambda ev: runs(ev, read=0))),
    "tracked no runs": ("tracked-runs", lambda ev: runs(ev, read=0)),
    "tracked no code": ("tracked-runs", lambda ev: runs(ev, tracked=0)),
    "tracked no code most run": ("tracked-runs", lambda ev: (runs(
        ev, tracked=0, notebooks={"gone.ipynb": 9, "b.ipynb": 5, "a.ipynb": 3}), setattr(
        ev, "notebooks", [NotebookFacts("a.ipynb"), NotebookFacts("b.ipynb")]))),
    "tracked no code most cells": ("tracked-runs", lambda ev: (runs(ev, tracked=0), setattr(
        ev, "notebooks", [NotebookFacts("z.ipynb", tracked_cells=2),
                          NotebookFacts("a.ipynb", tracked_cells=1),
                          NotebookFacts("b.ipynb", tracked_cells=2)]))),
    "tracked no runs nowhere": ("tracked-runs", lambda ev: (runs(ev, read=0), setattr(
        ev, "tracking_uri", ""))),
    "tracked no data": ("tracked-runs", lambda ev: runs(ev, with_data=0)),
    "job met": ("job", lambda ev: job(ev)),
    "job errors": ("job", lambda ev: every_job(ev, error="bad yaml")),
    "job none": ("job", no_jobs),
    "job no folder": ("job", lambda ev: every_job(ev, folder="")),
    "checks met": ("data-checks", notebooks),
    "checks off": ("data-checks", lambda ev: setattr(ev, "drift_mode", "off")),
    "checks off unread": ("data-checks", both(lambda ev: setattr(ev, "drift_mode", "off"),
                                              unread)),
    "checks one drift": ("data-checks", lambda ev: runs(ev, drift_checked=1)),
    "checks off none": ("data-checks", lambda ev: (runs(ev, drift_checked=0), setattr(
        ev, "drift_mode", "off"))),
    "checks no drift": ("data-checks", lambda ev: runs(ev, drift_checked=0)),
    "checks no schema": ("data-checks", lambda ev: runs(ev, expectations=0)),
    "checks none": ("data-checks", lambda ev: runs(ev, expectations=0, drift_checked=0)),
    "consistent met": ("tracking-consistent", notebooks),
    "consistent unread": ("tracking-consistent", unread),
    "consistent no runs": ("tracking-consistent", lambda ev: runs(ev, read=0)),
    "consistent partly": ("tracking-consistent", both(notebooks, lambda ev: runs(
        ev, with_git=7, users={}))),
    "consistent bare": ("tracking-consistent", lambda ev: (runs(ev, tracked=5), setattr(
        ev, "notebooks", [NotebookFacts(f"n{i}.ipynb", code_cells=1) for i in range(3)]))),
    "consistent none": ("tracking-consistent", lambda ev: runs(ev, tracked=0)),
    "consistent parents": ("tracking-consistent", lambda ev: runs(
        ev, read=12, job_parents=1, candidates=1, tracked=9, with_git=9)),
    "scheduled met": ("scheduled", lambda ev: job(ev, installed=[])),
    "scheduled twice installed": ("scheduled", lambda ev: job(
        ev, installed=["cron", "github"], runs=[JobRun("0123456789ab", "FINISHED", PERIOD + 1)])),
    "scheduled none": ("scheduled", lambda ev: job(ev, cron=None)),
    "scheduled none named": ("scheduled", both(no_jobs, notebooks)),
    "scheduled unread": ("scheduled", unread),
    "scheduled late": ("scheduled", lambda ev: job(ev, installed=[], runs=[
        JobRun("j2", "FAILED", PERIOD + 5), JobRun("j1", "FINISHED", PERIOD - 1)])),
    "scheduled never": ("scheduled", lambda ev: job(ev, runs=[], period_start=None)),
    "scheduled of two": ("scheduled", lambda ev: ev.jobs.insert(0, JobFacts(
        "jobs/eval", "eval", cron="0 4 * * *", timezone="Europe/Paris", period_start=PERIOD,
        runs=[JobRun("e1", "FINISHED", PERIOD - 1)]))),
    "scheduled started when": ("scheduled", lambda ev: job(ev, period_start=1, runs=[
        JobRun("j1", "FINISHED", None)])),
    "scheduled none in a folder": ("scheduled", both(no_jobs, lambda ev: setattr(
        ev, "notebooks", [NotebookFacts("notebooks/a/my train.ipynb", tracked_cells=1)]))),
    "scheduled no start": ("scheduled", lambda ev: job(ev, period_start=None, runs=[
        JobRun("j1", "FINISHED", None)])),
    "registry met": ("registry", lambda ev: code(ev, model_files=["model.pkl"])),
    "registry unread": ("registry", unread),
    "registry none": ("registry", lambda ev: setattr(ev, "models", [])),
    "registry bare": ("registry", lambda ev: models(ev).insert(0, ModelFacts("bare"))),
    "registry incomplete": ("registry", lambda ev: newest(ev, run_id=None, code=False,
                                                          data=False, user=None, metrics=0)),
    **{f"registry without {w}": ("registry", partial(without, what=w, value=v))
       for w, v in (("run_id", None), ("code", False), ("data", False), ("user", None),
                    ("metrics", 0))},
    "registry six models": ("registry", six_models),
    "promotion six models": ("promotion", six_models),
    "registry versionless": ("registry", lambda ev: setattr(ev, "models", [ModelFacts("m")])),
    "promotion met": ("promotion", lambda ev: models(ev)[0].aliases.update(challenger="3")),
    "promotion unread": ("promotion", unread),
    "promotion partly": ("promotion", lambda ev: setattr(models(ev)[0], "aliases", {})),
    "promotion none": ("promotion", lambda ev: setattr(ev, "models", [])),
    "features met": ("feature-tests", lambda ev: code(ev, feature_functions=[])),
    "features notebook": ("feature-tests", lambda ev: code(
        ev, feature_functions=["a.py:clean", "train.ipynb:encode"],
        untested=["train.ipynb:encode"])),
    "features module": ("feature-tests", lambda ev: code(ev, untested=["features.py:clean"])),
    "features odd name": ("feature-tests", lambda ev: code(ev, untested=["a:b.py:clean"])),
    "features no tests": ("feature-tests", lambda ev: code(ev, test_files=[])),
    "ci met": ("ci", lambda ev: job(ev)),
    "ci schedule only": ("ci", lambda ev: code(ev, ci_on_change=[])),
    "ci no job": ("ci", both(lambda ev: code(ev, ci_runs_jobs=[]), no_jobs)),
    "ci none": ("ci", lambda ev: code(ev, ci_files=[], ci_runs_jobs=[], ci_on_change=[])),
    "eval met": ("unattended-eval", lambda ev: job(ev)),
    "eval unread": ("unattended-eval", unread),
    "eval no metrics": ("unattended-eval", lambda ev: every_job(ev, runs=[
        JobRun("j1", "FINISHED", 1, metrics=0), JobRun("j0", "FAILED", 0, metrics=3)])),
    "eval no runs": ("unattended-eval", lambda ev: every_job(ev, runs=[
        JobRun("j0", "FAILED", 0, metrics=3)])),
    "gates met": ("gates", lambda ev: job(ev)),
    "gates unread": ("gates", unread),
    "gates unread none": ("gates", both(unread, lambda ev: setattr(ev, "gates", None),
                                        lambda ev: job(ev, promote=False))),
    "gates configured": ("gates", lambda ev: newest(ev, gate_tags=[])),
    "gates by hand": ("gates", both(lambda ev: setattr(ev, "gates", None),
                                    lambda ev: job(ev, promote=False))),
    "gates in a job": ("gates", lambda ev: setattr(ev, "gates", None)),
    "gates none": ("gates", both(lambda ev: setattr(ev, "gates", []),
                                 lambda ev: job(ev, promote=False),
                                 lambda ev: newest(ev, gate_tags=[]))),
    "reports met": ("eval-reports", lambda ev: job(ev)),
    "reports unread": ("eval-reports", unread),
    "reports no version": ("eval-reports", lambda ev: setattr(ev, "models", [ModelFacts("m")])),
    "reports not looked": ("eval-reports", lambda ev: newest(ev, report=None)),
    "reports none": ("eval-reports", lambda ev: newest(ev, report=False)),
    "reports partly": ("eval-reports", lambda ev: models(ev)[0].versions.append(
        VersionFacts("1", report=False))),
    "rollback met": ("rollback", lambda ev: job(ev)),
    "rollback unread": ("rollback", unread),
    "rollback twice": ("rollback", lambda ev: newest(ev, rollback_tags=["from v3", "from v4"])),
    "rollback none": ("rollback", lambda ev: newest(ev, rollback_tags=[])),
    "drift met": ("drift-fails", lambda ev: job(ev)),
    "drift warn": ("drift-fails", lambda ev: setattr(ev, "drift_mode", "warn")),
    "drift off": ("drift-fails", lambda ev: setattr(ev, "drift_mode", "off")),
    "lineage met": ("lineage", lambda ev: job(ev)),
    "lineage unread": ("lineage", unread),
    "lineage partly": ("lineage", lambda ev: models(ev)[0].versions.append(
        VersionFacts("1", run_id="r1", data=False))),
    "lineage no run": ("lineage", lambda ev: newest(ev, run_id=None)),
    "lineage none": ("lineage", lambda ev: newest(ev, data=False)),
    "lineage no version": ("lineage", lambda ev: setattr(ev, "models", [ModelFacts("m")])),
    "reproduced met": ("reproduced", lambda ev: runs(ev, reproduced=2, not_reproduced=1)),
    "reproduced unread": ("reproduced", unread),
    "reproduced partly": ("reproduced", lambda ev: runs(ev, reproduced=0, not_reproduced=2)),
    "reproduced none": ("reproduced", lambda ev: runs(ev, reproduced=0)),
    **{f"reproduced {how}": ("reproduced", partial(unread_as, how=how))
       for how in ("offline", "timeout", "no uri", "unsaid", "no store uri", "secret uri")},
    "monitoring met": ("monitoring", lambda ev: job(ev)),
    "monitoring unread": ("monitoring", both(unread, lambda ev: setattr(ev, "scoring", None))),
    "monitoring alerts configured only": ("monitoring", lambda ev: scoring_run(ev, alerts=0)),
    "monitoring alerts sent only": ("monitoring", lambda ev: scoring_job(ev, alerts=False)),
    "monitoring no alerts": ("monitoring", both(lambda ev: scoring_job(ev, alerts=False),
                                                lambda ev: scoring_run(ev, alerts=0))),
    "monitoring no alerts elsewhere": ("monitoring", both(
        lambda ev: scoring_job(ev, alerts=False, monitor=False),
        lambda ev: scoring_run(ev, alerts=0))),
    "monitoring not compared": ("monitoring", lambda ev: scored(ev, compared=False,
                                                                drifted=False)),
    "monitoring none": ("monitoring", no_scoring),
    "monitoring alerts to come": ("monitoring", both(
        lambda ev: scored(ev, compared=False, drifted=False),
        lambda ev: scoring_run(ev, alerts=0))),
    "retrain met": ("retrain-on-drift", lambda ev: job(ev)),
    "retrain unread": ("retrain-on-drift", unread),
    "retrain held": ("retrain-on-drift", lambda ev: scoring_job(ev, runs=[
        JobRun("s2", "FINISHED", PERIOD + 3, decision="hold"),
        JobRun("s1", "FINISHED", PERIOD + 2, decision="retrain", retrain_run="t1"),
        JobRun("s0", "FINISHED", PERIOD + 1, decision="hold")])),
    "retrain mostly retrain": ("retrain-on-drift", lambda ev: scoring_job(ev, runs=[
        JobRun("s2", "FINISHED", PERIOD + 3, decision="retrain", retrain_run="t2"),
        JobRun("s1", "FINISHED", PERIOD + 2, decision="hold"),
        JobRun("s0", "FINISHED", PERIOD + 1, decision="retrain", retrain_run="t1",
               outcome="refused: auc 0.7 < champion 0.8")])),
    "retrain no decision": ("retrain-on-drift", lambda ev: scoring_run(ev, decision=None)),
    "retrain not configured": ("retrain-on-drift", lambda ev: scoring_job(ev, retrain=None)),
    "retrain not configured elsewhere": ("retrain-on-drift", lambda ev: scoring_job(
        ev, retrain=None, monitor=False)),
    "retrain none": ("retrain-on-drift", no_scoring),
    "shadow met": ("shadow", lambda ev: job(ev)),
    "shadow unread": ("shadow", unread),
    "shadow never ran": ("shadow", lambda ev: scored(ev, shadow=None)),
    "shadow none": ("shadow", no_scoring),
    "shadow not configured": ("shadow", both(lambda ev: scoring_job(ev, shadow=None),
                                             lambda ev: scored(ev, shadow=None))),
    "shadow by hand": ("shadow", lambda ev: scoring_job(ev, shadow=None)),
    "shadow none elsewhere": ("shadow", both(
        lambda ev: scoring_job(ev, shadow=None, monitor=False),
        lambda ev: scored(ev, shadow=None))),
    "prediction met": ("prediction-lineage", lambda ev: job(ev)),
    "prediction unread": ("prediction-lineage", unread),
    "prediction models unread": ("prediction-lineage", lambda ev: setattr(ev, "models", None)),
    "prediction no data": ("prediction-lineage", lambda ev: newest(ev, data=False)),
    "prediction no run": ("prediction-lineage", lambda ev: newest(ev, run_id=None)),
    "prediction unknown version": ("prediction-lineage", lambda ev: scored(ev, version="9")),
    "prediction unknown model": ("prediction-lineage", lambda ev: scored(ev, model="other")),
    "prediction unnamed": ("prediction-lineage", lambda ev: scored(ev, version="")),
    "prediction none": ("prediction-lineage", no_scoring),
    "prediction long ids": ("prediction-lineage", both(
        lambda ev: scored(ev, run_id="0123456789abcdef"),
        lambda ev: newest(ev, run_id="fedcba9876543210"))),
}


def told(case: str) -> dict[str, Any]:
    cid, change = CASES[case]
    ev = everything()
    change(ev)
    found = next(f for f in assess(ev).findings if f.id == cid)
    return {"status": found.status, "evidence": found.evidence, "missing": found.missing,
            "step": (found.step.title, found.step.command) if found.step else None}


@pytest.mark.parametrize("case", sorted(CASES))
def test_what_a_criterion_tells(case: str) -> None:
    assert told(case) == TOLD[case]


def test_every_case_is_expected() -> None:
    assert sorted(CASES) == sorted(TOLD)


def ada_alone(ev: Evidence) -> None:
    ev.models = []
    runs(ev, users={"ada": 10}, notebooks={"train.ipynb": 6, "explore.ipynb": 4})
    ev.notebooks = [NotebookFacts("train.ipynb", in_git=True)]


# case -> a change to a project meeting everything; its red flags are in FLAGS
FLAG_CASES: dict[str, Callable[[Evidence], None]] = {
    "everything": lambda ev: None,
    "a job's version": lambda ev: newest(ev, from_job=True),
    "two people": lambda ev: models(ev)[0].versions.append(VersionFacts("1", run_id="r1",
                                                                        user="bob")),
    "no author": lambda ev: newest(ev, user=None),
    "no run": lambda ev: newest(ev, run_id=None),
    "two notebooks": lambda ev: models(ev)[0].versions.append(VersionFacts(
        "1", run_id="r1", user="ada", notebook="old.ipynb", rollback_tags=["x"])),
    "no notebook": lambda ev: newest(ev, notebook=None),
    "in git": lambda ev: setattr(ev, "notebooks", [NotebookFacts("train.ipynb", in_git=True)]),
    "ada alone": ada_alone,
    "ada alone in a job": both(ada_alone, lambda ev: runs(ev, from_jobs=1)),
    "ada and bob": both(ada_alone, lambda ev: runs(ev, users={"ada": 5, "bob": 5})),
    "ada alone unread": both(ada_alone, lambda ev: runs(ev, read=0, users={"ada": 1})),
    "ada alone anywhere": both(ada_alone, lambda ev: runs(ev, notebooks={})),
    "manual evaluation": both(lambda ev: job(ev, runs=[
        JobRun("j1", "FINISHED", 1, metrics=0), JobRun("j0", "FAILED", 0, metrics=2)]),
        lambda ev: runs(ev, metric_notebooks={"a.ipynb": 1, "b.ipynb": 3})),
    "manual evaluation anywhere": lambda ev: job(ev, runs=[]),
    "no metrics": both(lambda ev: job(ev, runs=[]), lambda ev: runs(ev, with_metrics=0)),
    "no rollback": both(lambda ev: models(ev)[0].versions.append(VersionFacts("1")),
                        lambda ev: newest(ev, rollback_tags=[])),
    "no rollback nor champion": both(
        lambda ev: models(ev)[0].versions.append(VersionFacts("1")),
        lambda ev: newest(ev, rollback_tags=[]), lambda ev: setattr(models(ev)[0], "aliases", {})),
    "one version without rollback": lambda ev: newest(ev, rollback_tags=[]),
    "untested": lambda ev: code(ev, untested=[f"f{i}.py:clean{i}" for i in range(12)]),
    "untested odd name": lambda ev: code(ev, untested=["a:b.py:clean"]),
    "out of order": lambda ev: setattr(ev, "notebooks", [
        NotebookFacts("a.ipynb", out_of_order=[3]), NotebookFacts("b.ipynb"),
        NotebookFacts("c.ipynb", out_of_order=[2, 5, 6, 7, 8, 9, 10])]),
    "out of order twice": lambda ev: setattr(ev, "notebooks", [
        NotebookFacts("a.ipynb", out_of_order=[2, 4])]),
    "stale": lambda ev: runs(ev, stale=[f"n{i}.ipynb" for i in range(11)]),
    "unread": unread,
}


def flagged(case: str) -> list[tuple[str, str, str, str]]:
    ev = everything()
    FLAG_CASES[case](ev)
    return [(f.id, f.title, f.where, f.detail) for f in red_flags(ev)]


@pytest.mark.parametrize("case", sorted(FLAG_CASES))
def test_the_red_flags_and_where_they_are(case: str) -> None:
    assert flagged(case) == FLAGS[case]


def test_every_flag_case_is_expected() -> None:
    assert sorted(FLAG_CASES) == sorted(FLAGS)


# What each case tells (each line read, and checked against the code, by hand)
TOLD: dict[str, dict[str, Any]] = {'checks met': {'status': 'met',
                    'evidence': ['%%track --expect in train.ipynb',
                                 '5 of the 10 newest runs compared their data with the previous '
                                 'run (drift)',
                                 '5 runs checked a declared schema (expectations)'],
                    'missing': [],
                    'step': None},
     'checks no drift': {'status': 'partly',
                         'evidence': ['5 runs checked a declared schema (expectations)'],
                         'missing': ['no run compared its data with a previous run (a tracked '
                                     'cell with a stable name, run twice)'],
                         'step': ('Turn the drift checks on',
                                  'remove drift = "off" from [tool.nbmlops]')},
     'checks no schema': {'status': 'partly',
                          'evidence': ['5 of the 10 newest runs compared their data with the '
                                       'previous run (drift)'],
                          'missing': ['no declared schema (expectations) is checked'],
                          'step': ('Declare the schema of the training data so a bad input stops '
                                   'the cell',
                                   '%%track load --expect raw=expectations/raw.json in '
                                   'NOTEBOOK.ipynb')},
     'checks none': {'status': 'not_met',
                     'evidence': [],
                     'missing': ['no run compared its data with a previous run (a tracked cell '
                                 'with a stable name, run twice)',
                                 'no declared schema (expectations) is checked'],
                     'step': ('Declare the schema of the training data so a bad input stops the '
                              'cell',
                              '%%track load --expect raw=expectations/raw.json in '
                              'NOTEBOOK.ipynb')},
     'checks off': {'status': 'partly',
                    'evidence': ['5 of the 10 newest runs compared their data with the previous '
                                 'run (drift)',
                                 '5 runs checked a declared schema (expectations)'],
                    'missing': ['drift checks are off ([tool.nbmlops] drift = "off")'],
                    'step': ('Turn the drift checks on',
                             'remove drift = "off" from [tool.nbmlops]')},
     'checks off none': {'status': 'partly',
                         'evidence': ['5 runs checked a declared schema (expectations)'],
                         'missing': ['drift checks are off ([tool.nbmlops] drift = "off")'],
                         'step': ('Turn the drift checks on',
                                  'remove drift = "off" from [tool.nbmlops]')},
     'checks off unread': {'status': 'unchecked',
                           'evidence': [],
                           'missing': ['drift checks are off ([tool.nbmlops] drift = "off")',
                                       'MLflow at sqlite:///mlflow.db: connection refused'],
                           'step': ('Make the tracking store reachable, then assess again',
                                    'start the MLflow server at sqlite:///mlflow.db (or set '
                                    'MLFLOW_TRACKING_URI), then nbmlops assess')},
     'checks one drift': {'status': 'met',
                          'evidence': ['1 of the 10 newest runs compared their data with the '
                                       'previous run (drift)',
                                       '5 runs checked a declared schema (expectations)'],
                          'missing': [],
                          'step': None},
     'ci met': {'status': 'met',
                'evidence': ['CI: .github/workflows/train.yml',
                             'runs a job on each change: .github/workflows/train.yml'],
                'missing': [],
                'step': None},
     'ci no job': {'status': 'partly',
                   'evidence': ['CI: .github/workflows/train.yml'],
                   'missing': ['CI does not run training or evaluation (`nbmlops run`)'],
                   'step': ('Run the training job in CI on every push',
                            "nbmlops export NOTEBOOK.ipynb --schedule '0 3 * * 1' --target "
                            'github, copy its github-workflow.yml to .github/workflows/ and add '
                            '`push:` to its `on:`')},
     'ci none': {'status': 'not_met',
                 'evidence': [],
                 'missing': ['no CI configuration (.github/workflows, .gitlab-ci.yml, ...)'],
                 'step': ('Run the training job in CI on every push',
                          "nbmlops export NOTEBOOK.ipynb --schedule '0 3 * * 1' --target github, "
                          'copy its github-workflow.yml to .github/workflows/ and add `push:` to '
                          'its `on:`')},
     'ci schedule only': {'status': 'partly',
                          'evidence': ['CI: .github/workflows/train.yml'],
                          'missing': ['CI runs the job on a schedule only, not when the code '
                                      'changes'],
                          'step': ('Run the training job in CI on every push',
                                   "nbmlops export NOTEBOOK.ipynb --schedule '0 3 * * 1' --target "
                                   'github, copy its github-workflow.yml to .github/workflows/ '
                                   'and add `push:` to its `on:`')},
     'consistent bare': {'status': 'partly',
                         'evidence': ['50% of the 10 newest runs carry code and git commit; by '
                                      'ada'],
                         'missing': ['notebooks without a tracked cell: n0.ipynb, n1.ipynb, '
                                     'n2.ipynb',
                                     '5 of the newest runs lack their code or git commit (logged '
                                     'by hand, or outside git)'],
                         'step': ('Track the rest of the notebooks',
                                  'add `%%track NAME` to the cells that train or evaluate in '
                                  'n0.ipynb, n1.ipynb and 1 more')},
     'consistent met': {'status': 'met',
                        'evidence': ['100% of the 10 newest runs carry code and git commit; by '
                                     'ada'],
                        'missing': ['notebooks without a tracked cell: explore.ipynb'],
                        'step': None},
     'consistent no runs': {'status': 'not_met',
                            'evidence': [],
                            'missing': ['no runs'],
                            'step': None},
     'consistent none': {'status': 'not_met',
                         'evidence': ['0% of the 10 newest runs carry code and git commit; by '
                                      'ada'],
                         'missing': [],
                         'step': ('Track the rest of the notebooks',
                                  'add `%%track NAME` to the cells that train or evaluate in '
                                  'NOTEBOOK.ipynb')},
     'consistent parents': {'status': 'met',
                            'evidence': ['90% of the 10 newest runs carry code and git commit; by '
                                         'ada'],
                            'missing': [],
                            'step': None},
     'consistent partly': {'status': 'partly',
                           'evidence': ['70% of the 10 newest runs carry code and git commit'],
                           'missing': ['notebooks without a tracked cell: explore.ipynb',
                                       '3 of the newest runs lack their code or git commit '
                                       '(logged by hand, or outside git)'],
                           'step': ('Track the rest of the notebooks',
                                    'add `%%track NAME` to the cells that train or evaluate in '
                                    'explore.ipynb')},
     'consistent unread': {'status': 'unchecked',
                           'evidence': [],
                           'missing': ['MLflow at sqlite:///mlflow.db: connection refused'],
                           'step': ('Make the tracking store reachable, then assess again',
                                    'start the MLflow server at sqlite:///mlflow.db (or set '
                                    'MLFLOW_TRACKING_URI), then nbmlops assess')},
     'drift met': {'status': 'met', 'evidence': ['drift mode: fail'], 'missing': [], 'step': None},
     'drift off': {'status': 'not_met',
                   'evidence': ['drift mode: off'],
                   'missing': ['drift checks are off'],
                   'step': ('Make drift stop a scheduled job',
                            'drift = "fail" in [tool.nbmlops] of pyproject.toml')},
     'drift warn': {'status': 'partly',
                    'evidence': ['drift mode: warn'],
                    'missing': ['drift is reported, not enforced: a job keeps training on drifted '
                                'data'],
                    'step': ('Make drift stop a scheduled job',
                             'drift = "fail" in [tool.nbmlops] of pyproject.toml')},
     'eval met': {'status': 'met',
                  'evidence': ['1 successful job run logged metrics'],
                  'missing': [],
                  'step': None},
     'eval no metrics': {'status': 'partly',
                         'evidence': [],
                         'missing': ['2 successful job runs, none logged a metric'],
                         'step': ('Compute the evaluation metrics inside the scheduled job',
                                  'add a `%%track evaluate` cell computing the metrics to '
                                  'NOTEBOOK.ipynb, then nbmlops export it again')},
     'eval no runs': {'status': 'not_met',
                      'evidence': [],
                      'missing': ['no job has run successfully'],
                      'step': ('Compute the evaluation metrics inside the scheduled job',
                               'add a `%%track evaluate` cell computing the metrics to '
                               'NOTEBOOK.ipynb, then nbmlops export it again')},
     'eval unread': {'status': 'unchecked',
                     'evidence': [],
                     'missing': ['MLflow at sqlite:///mlflow.db: connection refused'],
                     'step': ('Make the tracking store reachable, then assess again',
                              'start the MLflow server at sqlite:///mlflow.db (or set '
                              'MLFLOW_TRACKING_URI), then nbmlops assess')},
     'features met': {'status': 'met',
                      'evidence': ['1 test file: tests/test_features.py',
                                   'no feature transformation found outside the tests'],
                      'missing': [],
                      'step': None},
     'features module': {'status': 'not_met',
                         'evidence': ['1 test file: tests/test_features.py'],
                         'missing': ['feature code no test names: features.py:clean'],
                         'step': ('Test the feature transformations',
                                  'test clean() of features.py in tests/test_features.py, run '
                                  'pytest')},
     'features no tests': {'status': 'not_met',
                           'evidence': ['tested feature code: features.py:clean'],
                           'missing': ['no tests'],
                           'step': ('Test the feature transformations',
                                    'add tests/test_features.py for the feature transformations, '
                                    'run pytest')},
     'features notebook': {'status': 'partly',
                           'evidence': ['1 test file: tests/test_features.py',
                                        'tested feature code: a.py:clean'],
                           'missing': ['feature code no test names: train.ipynb:encode'],
                           'step': ('Test the feature transformations',
                                    'move encode() from train.ipynb into a module, test it in '
                                    'tests/test_features.py, run pytest')},
     'features odd name': {'status': 'partly',
                           'evidence': ['1 test file: tests/test_features.py',
                                        'tested feature code: features.py:clean'],
                           'missing': ['feature code no test names: a:b.py:clean'],
                           'step': ('Test the feature transformations',
                                    'test clean() of a:b.py in tests/test_features.py, run '
                                    'pytest')},
     'gates by hand': {'status': 'partly',
                       'evidence': ['gate results recorded on model v2'],
                       'missing': ['gates were given by hand; none are agreed in [tool.nbmlops] '
                                   'gates'],
                       'step': ('Agree on the gates a champion must pass',
                                "nbmlops promote model --gate 'auc >= champion', then write the "
                                'gates into [tool.nbmlops] gates')},
     'gates configured': {'status': 'partly',
                          'evidence': ['[tool.nbmlops] gates: auc >= champion',
                                       'job train promotes through gates'],
                          'missing': ['no model version records a gate result yet'],
                          'step': ('Promote through the gates',
                                   'nbmlops promote model --alias champion')},
     'gates in a job': {'status': 'met',
                        'evidence': ['job train promotes through gates',
                                     'gate results recorded on model v2'],
                        'missing': [],
                        'step': None},
     'gates met': {'status': 'met',
                   'evidence': ['[tool.nbmlops] gates: auc >= champion',
                                'job train promotes through gates',
                                'gate results recorded on model v2'],
                   'missing': [],
                   'step': None},
     'gates none': {'status': 'not_met',
                    'evidence': [],
                    'missing': ['no evaluation gate is configured or has been applied'],
                    'step': ('Agree on the gates a champion must pass',
                             "nbmlops promote model --gate 'auc >= champion', then write the "
                             'gates into [tool.nbmlops] gates')},
     'gates unread': {'status': 'unchecked',
                      'evidence': ['[tool.nbmlops] gates: auc >= champion',
                                   'job train promotes through gates'],
                      'missing': ['MLflow at sqlite:///mlflow.db: connection refused'],
                      'step': ('Make the tracking store reachable, then assess again',
                               'start the MLflow server at sqlite:///mlflow.db (or set '
                               'MLFLOW_TRACKING_URI), then nbmlops assess')},
     'gates unread none': {'status': 'unchecked',
                           'evidence': [],
                           'missing': ['MLflow at sqlite:///mlflow.db: connection refused'],
                           'step': ('Agree on the gates a champion must pass',
                                    "nbmlops promote MODEL --gate 'auc >= champion', then write "
                                    'the gates into [tool.nbmlops] gates')},
     'git corrupt': {'status': 'unchecked',
                     'evidence': [],
                     'missing': ['the git repository at sub/.git is corrupt'],
                     'step': ('Repair sub/.git/HEAD: it reads `ref: refs/heads/<branch>` (or '
                              'clone the repository again and copy your changes over)',
                              'cat sub/.git/HEAD; ls sub/.git/refs/heads')},
     'git corrupt said': {'status': 'unchecked',
                          'evidence': [],
                          'missing': ['bad HEAD'],
                          'step': ('Repair sub/.git/HEAD: it reads `ref: refs/heads/<branch>` (or '
                                   'clone the repository again and copy your changes over)',
                                   'cat sub/.git/HEAD; ls sub/.git/refs/heads')},
     'git error': {'status': 'partly',
                   'evidence': ['git repository /p: 3 commits, head 01234567'],
                   'missing': ['no commit yet'],
                   'step': ('Commit the notebooks and code',
                            "git add . && git commit -m 'Version the project'")},
     'git met': {'status': 'met',
                 'evidence': ['git repository /p: 3 commits, head 01234567',
                              '0 notebooks and the code, all in git; 2 files with uncommitted '
                              'changes'],
                 'missing': [],
                 'step': None},
     'git met clean': {'status': 'met',
                       'evidence': ['git repository /p: 3 commits, head 01234567',
                                    'output notebooks, not sources: out.ipynb',
                                    '2 notebooks and the code, all in git, nothing left to '
                                    'commit'],
                       'missing': [],
                       'step': None},
     'git no head': {'status': 'partly',
                     'evidence': ['git repository /p: 3 commits'],
                     'missing': ['no commit yet'],
                     'step': ('Commit the notebooks and code',
                              "git add . && git commit -m 'Version the project'")},
     'git none': {'status': 'not_met',
                  'evidence': [],
                  'missing': ['no git repository at or above /p'],
                  'step': ('Version the notebooks and code in git',
                           "git init && git add . && git commit -m 'Version the project'")},
     'git not in git': {'status': 'partly',
                        'evidence': ['git repository /p: 3 commits, head 01234567'],
                        'missing': ['not in git: n0.ipynb, n1.ipynb, n2.ipynb and 3 more'],
                        'step': ('Commit the files git does not have',
                                 'git add n0.ipynb n1.ipynb n2.ipynb n3.ipynb n4.ipynb && git '
                                 "commit -m 'Version the notebooks'")},
     'git refused': {'status': 'unchecked',
                     'evidence': [],
                     'missing': ['git refuses to read the repository: dubious ownership'],
                     'step': ('Let git read the repository',
                              'git config --global --add safe.directory /p')},
     'git three not in git': {'status': 'partly',
                              'evidence': ['git repository /p: 3 commits, head 01234567'],
                              'missing': ['not in git: a.py, b.py, c.py'],
                              'step': ('Commit the files git does not have',
                                       "git add a.py b.py c.py && git commit -m 'Version the "
                                       "notebooks'")},
     'job errors': {'status': 'partly',
                    'evidence': [],
                    'missing': ['jobs/train: bad yaml', 'jobs/score: bad yaml'],
                    'step': ('Turn the training notebook into a parameterized job',
                             'nbmlops export NOTEBOOK.ipynb')},
     'job met': {'status': 'met',
                 'evidence': ['job folders: jobs/train, jobs/score'],
                 'missing': [],
                 'step': None},
     'job no folder': {'status': 'not_met',
                       'evidence': [],
                       'missing': ['no job folder (jobs/*/job.yaml)'],
                       'step': ('Turn the training notebook into a parameterized job',
                                'nbmlops export NOTEBOOK.ipynb')},
     'job none': {'status': 'not_met',
                  'evidence': [],
                  'missing': ['no job folder (jobs/*/job.yaml)'],
                  'step': ('Turn the training notebook into a parameterized job',
                           'nbmlops export NOTEBOOK.ipynb')},
     'lineage met': {'status': 'met',
                     'evidence': ['1 of 1 version name the data they were trained on'],
                     'missing': [],
                     'step': None},
     'lineage no run': {'status': 'not_met',
                        'evidence': ['0 of 1 version name the data they were trained on'],
                        'missing': ['versions without their data: model v2'],
                        'step': ('Register models from tracked cells that read their data',
                                 '%%track train --model model=model')},
     'lineage no version': {'status': 'not_met',
                            'evidence': [],
                            'missing': ['no registered model version'],
                            'step': ('Register models from tracked cells that read their data',
                                     '%%track train --model model=m')},
     'lineage none': {'status': 'not_met',
                      'evidence': ['0 of 1 version name the data they were trained on'],
                      'missing': ['versions without their data: model v2'],
                      'step': ('Register models from tracked cells that read their data',
                               '%%track train --model model=model')},
     'lineage partly': {'status': 'partly',
                        'evidence': ['1 of 2 versions name the data they were trained on'],
                        'missing': ['versions without their data: model v1'],
                        'step': ('Register models from tracked cells that read their data',
                                 '%%track train --model model=model')},
     'lineage unread': {'status': 'unchecked',
                        'evidence': [],
                        'missing': ['MLflow at sqlite:///mlflow.db: connection refused'],
                        'step': ('Make the tracking store reachable, then assess again',
                                 'start the MLflow server at sqlite:///mlflow.db (or set '
                                 'MLFLOW_TRACKING_URI), then nbmlops assess')},
     'monitoring alerts configured only': {'status': 'met',
                                           'evidence': ['alerts: in the job.yaml of score',
                                                        'scoring runs that compared their batch '
                                                        "with the model's training data: 1 of the "
                                                        'newest 1, 1 drifted'],
                                           'missing': [],
                                           'step': None},
     'monitoring alerts sent only': {'status': 'met',
                                     'evidence': ['scoring runs that compared their batch with '
                                                  "the model's training data: 1 of the newest 1, "
                                                  '1 drifted',
                                                  '1 alert sent by score'],
                                     'missing': [],
                                     'step': None},
     'monitoring alerts to come': {'status': 'partly',
                                   'evidence': ['alerts: in the job.yaml of score'],
                                   'missing': ['no scoring run compared its batch with a '
                                               'reference'],
                                   'step': ('Score through nbmlops.load_model in a tracked cell, '
                                            "so each batch is compared with the model's training "
                                            'data',
                                            "model = nbmlops.load_model('model@champion') in the "
                                            '%%track cell that predicts, then nbmlops export the '
                                            'scoring notebook')},
     'monitoring met': {'status': 'met',
                        'evidence': ['alerts: in the job.yaml of score',
                                     "scoring runs that compared their batch with the model's "
                                     'training data: 1 of the newest 1, 1 drifted',
                                     '1 alert sent by score'],
                        'missing': [],
                        'step': None},
     'monitoring no alerts': {'status': 'partly',
                              'evidence': ['scoring runs that compared their batch with the '
                                           "model's training data: 1 of the newest 1, 1 drifted"],
                              'missing': ['no scoring job sends alerts (alerts: in its job.yaml)'],
                              'step': ('Send an alert when a batch drifts',
                                       'add `alerts: [{webhook: ${ALERT_WEBHOOK}}]` to '
                                       'jobs/score/job.yaml')},
     'monitoring no alerts elsewhere': {'status': 'partly',
                                        'evidence': ['scoring runs that compared their batch with '
                                                     "the model's training data: 1 of the newest "
                                                     '1, 1 drifted'],
                                        'missing': ['no scoring job sends alerts (alerts: in its '
                                                    'job.yaml)'],
                                        'step': ('Send an alert when a batch drifts',
                                                 'add `alerts: [{webhook: ${ALERT_WEBHOOK}}]` to '
                                                 "the scoring job's job.yaml")},
     'monitoring none': {'status': 'not_met',
                         'evidence': [],
                         'missing': ['no scoring run compared its batch with a reference',
                                     'no scoring job sends alerts (alerts: in its job.yaml)'],
                         'step': ('Score through nbmlops.load_model in a tracked cell, so each '
                                  "batch is compared with the model's training data",
                                  "model = nbmlops.load_model('model@champion') in the %%track "
                                  'cell that predicts, then nbmlops export the scoring notebook')},
     'monitoring not compared': {'status': 'partly',
                                 'evidence': ['alerts: in the job.yaml of score',
                                              '1 alert sent by score'],
                                 'missing': ['no scoring run compared its batch with a reference'],
                                 'step': ('Score through nbmlops.load_model in a tracked cell, so '
                                          "each batch is compared with the model's training data",
                                          "model = nbmlops.load_model('model@champion') in the "
                                          '%%track cell that predicts, then nbmlops export the '
                                          'scoring notebook')},
     'monitoring unread': {'status': 'unchecked',
                           'evidence': ['alerts: in the job.yaml of score'],
                           'missing': ['MLflow at sqlite:///mlflow.db: connection refused'],
                           'step': ('Make the tracking store reachable, then assess again',
                                    'start the MLflow server at sqlite:///mlflow.db (or set '
                                    'MLFLOW_TRACKING_URI), then nbmlops assess')},
     'prediction long ids': {'status': 'met',
                             'evidence': ['scoring run 01234567 -> model v2 -> training run '
                                          'fedcba98 -> its data',
                                          'scoring runs that trace to the data their model was '
                                          'trained on: 1 of the newest 1'],
                             'missing': [],
                             'step': None},
     'prediction met': {'status': 'met',
                        'evidence': ['scoring run p1 -> model v2 -> training run r2 -> its data',
                                     'scoring runs that trace to the data their model was trained '
                                     'on: 1 of the newest 1'],
                        'missing': [],
                        'step': None},
     'prediction models unread': {'status': 'unchecked',
                                  'evidence': [],
                                  'missing': ['MLflow could not be read'],
                                  'step': ('Make the tracking store reachable, then assess again',
                                           'start the MLflow server at sqlite:///mlflow.db (or '
                                           'set MLFLOW_TRACKING_URI), then nbmlops assess')},
     'prediction no data': {'status': 'partly',
                            'evidence': ['scoring runs that trace to the data their model was '
                                         'trained on: 0 of the newest 1'],
                            'missing': ['scored versions without their training data: model v2'],
                            'step': ('Register models from tracked cells that read their data',
                                     '%%track train --model model=model')},
     'prediction no run': {'status': 'partly',
                           'evidence': ['scoring runs that trace to the data their model was '
                                        'trained on: 0 of the newest 1'],
                           'missing': ['scored versions without their training data: model v2'],
                           'step': ('Register models from tracked cells that read their data',
                                    '%%track train --model model=model')},
     'prediction none': {'status': 'not_met',
                         'evidence': [],
                         'missing': ['no scoring run names the model version it used'],
                         'step': ('Score through nbmlops.load_model in a tracked cell, so each '
                                  "batch is compared with the model's training data",
                                  "model = nbmlops.load_model('model@champion') in the %%track "
                                  'cell that predicts, then nbmlops export the scoring notebook')},
     'prediction unknown model': {'status': 'partly',
                                  'evidence': ['scoring runs that trace to the data their model '
                                               'was trained on: 0 of the newest 1'],
                                  'missing': ['scored versions without their training data: other '
                                              'v2'],
                                  'step': ('Register models from tracked cells that read their '
                                           'data',
                                           '%%track train --model model=model')},
     'prediction unknown version': {'status': 'partly',
                                    'evidence': ['scoring runs that trace to the data their model '
                                                 'was trained on: 0 of the newest 1'],
                                    'missing': ['scored versions without their training data: '
                                                'model v9'],
                                    'step': ('Register models from tracked cells that read their '
                                             'data',
                                             '%%track train --model model=model')},
     'prediction unnamed': {'status': 'not_met',
                            'evidence': [],
                            'missing': ['no scoring run names the model version it used'],
                            'step': ('Score through nbmlops.load_model in a tracked cell, so each '
                                     "batch is compared with the model's training data",
                                     "model = nbmlops.load_model('model@champion') in the %%track "
                                     'cell that predicts, then nbmlops export the scoring '
                                     'notebook')},
     'prediction unread': {'status': 'unchecked',
                           'evidence': [],
                           'missing': ['MLflow at sqlite:///mlflow.db: connection refused'],
                           'step': ('Make the tracking store reachable, then assess again',
                                    'start the MLflow server at sqlite:///mlflow.db (or set '
                                    'MLFLOW_TRACKING_URI), then nbmlops assess')},
     'promotion met': {'status': 'met',
                       'evidence': ['model model: challenger -> v3, champion -> v2'],
                       'missing': [],
                       'step': None},
     'promotion none': {'status': 'not_met',
                        'evidence': [],
                        'missing': ['no registered model'],
                        'step': ('Promote the best version to champion',
                                 'nbmlops promote MODEL --alias champion')},
     'promotion partly': {'status': 'partly',
                          'evidence': [],
                          'missing': ['no model has a champion alias'],
                          'step': ('Promote the best version to champion',
                                   'nbmlops promote model --alias champion')},
     'promotion six models': {'status': 'met',
                              'evidence': ['model model: champion -> v2',
                                           'model m0: challenger -> v1',
                                           'model m1: challenger -> v1',
                                           'model m2: challenger -> v1',
                                           'model m3: challenger -> v1'],
                              'missing': [],
                              'step': None},
     'promotion unread': {'status': 'unchecked',
                          'evidence': [],
                          'missing': ['MLflow at sqlite:///mlflow.db: connection refused'],
                          'step': ('Make the tracking store reachable, then assess again',
                                   'start the MLflow server at sqlite:///mlflow.db (or set '
                                   'MLFLOW_TRACKING_URI), then nbmlops assess')},
     'registry bare': {'status': 'met',
                       'evidence': ['model bare: no version',
                                    'model model: 1 version; newest v2 names run, code, data, '
                                    'author, metrics'],
                       'missing': [],
                       'step': None},
     'registry incomplete': {'status': 'partly',
                             'evidence': ['model model: 1 version; newest v2 names nothing'],
                             'missing': ["no model's newest version names its run, code, data, "
                                         'author and metrics'],
                             'step': ('Register the trained model with its run, code and data',
                                      '%%track train --model model=model in NOTEBOOK.ipynb')},
     'registry met': {'status': 'met',
                      'evidence': ['model files on disk: model.pkl',
                                   'model model: 1 version; newest v2 names run, code, data, '
                                   'author, metrics'],
                      'missing': [],
                      'step': None},
     'registry none': {'status': 'not_met',
                       'evidence': [],
                       'missing': ['no registered model'],
                       'step': ('Register the trained model with its run, code and data',
                                '%%track train --model model=MODEL in NOTEBOOK.ipynb')},
     'registry six models': {'status': 'met',
                             'evidence': ['model model: 1 version; newest v2 names run, code, '
                                          'data, author, metrics',
                                          'model m0: no version',
                                          'model m1: no version',
                                          'model m2: no version',
                                          'model m3: no version'],
                             'missing': [],
                             'step': None},
     'registry unread': {'status': 'unchecked',
                         'evidence': [],
                         'missing': ['MLflow at sqlite:///mlflow.db: connection refused'],
                         'step': ('Make the tracking store reachable, then assess again',
                                  'start the MLflow server at sqlite:///mlflow.db (or set '
                                  'MLFLOW_TRACKING_URI), then nbmlops assess')},
     'registry versionless': {'status': 'partly',
                              'evidence': ['model m: no version'],
                              'missing': ["no model's newest version names its run, code, data, "
                                          'author and metrics'],
                              'step': ('Register the trained model with its run, code and data',
                                       '%%track train --model model=m in NOTEBOOK.ipynb')},
     'registry without code': {'status': 'partly',
                               'evidence': ['model model: 1 version; newest v2 names run, data, '
                                            'author, metrics'],
                               'missing': ["no model's newest version names its run, code, data, "
                                           'author and metrics'],
                               'step': ('Register the trained model with its run, code and data',
                                        '%%track train --model model=model in NOTEBOOK.ipynb')},
     'registry without data': {'status': 'partly',
                               'evidence': ['model model: 1 version; newest v2 names run, code, '
                                            'author, metrics'],
                               'missing': ["no model's newest version names its run, code, data, "
                                           'author and metrics'],
                               'step': ('Register the trained model with its run, code and data',
                                        '%%track train --model model=model in NOTEBOOK.ipynb')},
     'registry without metrics': {'status': 'partly',
                                  'evidence': ['model model: 1 version; newest v2 names run, '
                                               'code, data, author'],
                                  'missing': ["no model's newest version names its run, code, "
                                              'data, author and metrics'],
                                  'step': ('Register the trained model with its run, code and '
                                           'data',
                                           '%%track train --model model=model in NOTEBOOK.ipynb')},
     'registry without run_id': {'status': 'partly',
                                 'evidence': ['model model: 1 version; newest v2 names code, '
                                              'data, author, metrics'],
                                 'missing': ["no model's newest version names its run, code, "
                                             'data, author and metrics'],
                                 'step': ('Register the trained model with its run, code and data',
                                          '%%track train --model model=model in NOTEBOOK.ipynb')},
     'registry without user': {'status': 'partly',
                               'evidence': ['model model: 1 version; newest v2 names run, code, '
                                            'data, metrics'],
                               'missing': ["no model's newest version names its run, code, data, "
                                           'author and metrics'],
                               'step': ('Register the trained model with its run, code and data',
                                        '%%track train --model model=model in NOTEBOOK.ipynb')},
     'reports met': {'status': 'met',
                     'evidence': ['evaluation reports: model v2'],
                     'missing': [],
                     'step': None},
     'reports no version': {'status': 'not_met',
                            'evidence': [],
                            'missing': ['no model version to report on'],
                            'step': ('Register versions through a promotion that writes the '
                                     'evaluation report',
                                     'nbmlops promote m --alias challenger')},
     'reports none': {'status': 'not_met',
                      'evidence': [],
                      'missing': ['no evaluation report: model v2'],
                      'step': ('Register versions through a promotion that writes the evaluation '
                               'report',
                               'nbmlops promote model --alias challenger')},
     'reports not looked': {'status': 'not_met',
                            'evidence': [],
                            'missing': ["no version's run could be looked at"],
                            'step': ('Register versions through a promotion that writes the '
                                     'evaluation report',
                                     'nbmlops promote model --alias challenger')},
     'reports partly': {'status': 'partly',
                        'evidence': ['evaluation reports: model v2'],
                        'missing': ['no evaluation report: model v1'],
                        'step': ('Register versions through a promotion that writes the '
                                 'evaluation report',
                                 'nbmlops promote model --alias challenger')},
     'reports unread': {'status': 'unchecked',
                        'evidence': [],
                        'missing': ['MLflow at sqlite:///mlflow.db: connection refused'],
                        'step': ('Make the tracking store reachable, then assess again',
                                 'start the MLflow server at sqlite:///mlflow.db (or set '
                                 'MLFLOW_TRACKING_URI), then nbmlops assess')},
     'reproduced met': {'status': 'met',
                        'evidence': ['2 runs reproduced'],
                        'missing': ['1 run did not reproduce'],
                        'step': None},
     'reproduced no store uri': {'status': 'unchecked',
                                 'evidence': [],
                                 'missing': ['MLflow timed out'],
                                 'step': ('Make the tracking store reachable, then assess again',
                                          'start the MLflow server at MLFLOW_TRACKING_URI (or set '
                                          'MLFLOW_TRACKING_URI), then nbmlops assess')},
     'reproduced no uri': {'status': 'unchecked',
                           'evidence': [],
                           'missing': ['MLflow timed out'],
                           'step': ("Fix the project's settings so the tracking store is known",
                                    'fix [tool.nbmlops] in pyproject.toml (see "Not checked"), '
                                    'then nbmlops assess')},
     'reproduced none': {'status': 'not_met',
                         'evidence': [],
                         'missing': ['no run has been reproduced'],
                         'step': ("Reproduce the champion's run", 'nbmlops reproduce RUN_ID')},
     'reproduced offline': {'status': 'unchecked',
                            'evidence': [],
                            'missing': ['MLflow at sqlite:///mlflow.db: connection refused'],
                            'step': ('Assess with MLflow too',
                                     'nbmlops assess (without --offline)')},
     'reproduced partly': {'status': 'partly',
                           'evidence': [],
                           'missing': ['2 reproductions, none gave the run back'],
                           'step': ("Reproduce the champion's run", 'nbmlops reproduce RUN_ID')},
     'reproduced secret uri': {'status': 'unchecked',
                               'evidence': [],
                               'missing': ['MLflow timed out'],
                               'step': ('Make the tracking store reachable, then assess again',
                                        'start the MLflow server at http://host:5000 (or set '
                                        'MLFLOW_TRACKING_URI), then nbmlops assess')},
     'reproduced timeout': {'status': 'unchecked',
                            'evidence': [],
                            'missing': ['MLflow timed out'],
                            'step': ('Give MLflow more time', 'nbmlops assess --timeout 120')},
     'reproduced unread': {'status': 'unchecked',
                           'evidence': [],
                           'missing': ['MLflow at sqlite:///mlflow.db: connection refused'],
                           'step': ('Make the tracking store reachable, then assess again',
                                    'start the MLflow server at sqlite:///mlflow.db (or set '
                                    'MLFLOW_TRACKING_URI), then nbmlops assess')},
     'reproduced unsaid': {'status': 'unchecked',
                           'evidence': [],
                           'missing': ['MLflow could not be read'],
                           'step': ('Make the tracking store reachable, then assess again',
                                    'start the MLflow server at sqlite:///mlflow.db (or set '
                                    'MLFLOW_TRACKING_URI), then nbmlops assess')},
     'retrain held': {'status': 'met',
                      'evidence': ['job score retrains jobs/train when its policy says so',
                                   '3 scoring job runs decided: 2 hold, 1 retrain',
                                   'retraining runs started: t1 (no outcome yet)'],
                      'missing': [],
                      'step': None},
     'retrain met': {'status': 'met',
                     'evidence': ['job score retrains jobs/train when its policy says so',
                                  '1 scoring job run decided: 1 retrain',
                                  'retraining runs started: j1abcdef (promoted model v2)'],
                     'missing': [],
                     'step': None},
     'retrain mostly retrain': {'status': 'met',
                                'evidence': ['job score retrains jobs/train when its policy says '
                                             'so',
                                             '3 scoring job runs decided: 2 retrain, 1 hold',
                                             'retraining runs started: t2 (no outcome yet), t1 '
                                             '(refused: auc 0.7 < champion 0.8)'],
                                'missing': [],
                                'step': None},
     'retrain no decision': {'status': 'partly',
                             'evidence': ['job score retrains jobs/train when its policy says so'],
                             'missing': ['no run of score decided about retraining yet'],
                             'step': ('Run the scoring job score', 'nbmlops run jobs/score')},
     'retrain none': {'status': 'not_met',
                      'evidence': [],
                      'missing': ['no scoring job has retrain: in its job.yaml'],
                      'step': ('Let drift retrain the model',
                               'add `retrain: {job: jobs/TRAINING_JOB, on: drift, cooldown: 7d}` '
                               "to the scoring job's job.yaml")},
     'retrain not configured': {'status': 'partly',
                                'evidence': ['1 scoring job run decided: 1 retrain',
                                             'retraining runs started: j1abcdef (promoted model '
                                             'v2)'],
                                'missing': ['no scoring job has retrain: in its job.yaml'],
                                'step': ('Let drift retrain the model',
                                         'add `retrain: {job: jobs/TRAINING_JOB, on: drift, '
                                         'cooldown: 7d}` to jobs/score/job.yaml')},
     'retrain not configured elsewhere': {'status': 'partly',
                                          'evidence': ['1 scoring job run decided: 1 retrain',
                                                       'retraining runs started: j1abcdef '
                                                       '(promoted model v2)'],
                                          'missing': ['no scoring job has retrain: in its '
                                                      'job.yaml'],
                                          'step': ('Let drift retrain the model',
                                                   'add `retrain: {job: jobs/TRAINING_JOB, on: '
                                                   "drift, cooldown: 7d}` to the scoring job's "
                                                   'job.yaml')},
     'retrain unread': {'status': 'unchecked',
                        'evidence': ['job score retrains jobs/train when its policy says so'],
                        'missing': ['MLflow at sqlite:///mlflow.db: connection refused'],
                        'step': ('Make the tracking store reachable, then assess again',
                                 'start the MLflow server at sqlite:///mlflow.db (or set '
                                 'MLFLOW_TRACKING_URI), then nbmlops assess')},
     'rollback met': {'status': 'met',
                      'evidence': ['rollbacks recorded: model v2 (rolled back from v3)'],
                      'missing': [],
                      'step': None},
     'rollback none': {'status': 'not_met',
                       'evidence': [],
                       'missing': ['no rollback recorded on any model version'],
                       'step': ('Practise the rollback once', 'nbmlops rollback model')},
     'rollback twice': {'status': 'met',
                        'evidence': ['rollbacks recorded: model v2 (from v3, from v4)'],
                        'missing': [],
                        'step': None},
     'rollback unread': {'status': 'unchecked',
                         'evidence': [],
                         'missing': ['MLflow at sqlite:///mlflow.db: connection refused'],
                         'step': ('Make the tracking store reachable, then assess again',
                                  'start the MLflow server at sqlite:///mlflow.db (or set '
                                  'MLFLOW_TRACKING_URI), then nbmlops assess')},
     'scheduled late': {'status': 'partly',
                        'evidence': ['job train: schedule 0 3 * * 1 UTC',
                                     'job train: last successful run 1970-01-01 00:16 UTC (run '
                                     'j1), latest FAILED'],
                        'missing': ['no scheduled job ran successfully in its last period (train: '
                                    'since 1970-01-01 00:16 UTC)'],
                        'step': ('Install the schedule of job train',
                                 'nbmlops schedule jobs/train --install')},
     'scheduled met': {'status': 'met',
                       'evidence': ['job train: schedule 0 3 * * 1 UTC',
                                    'job train: last successful run 1970-01-01 00:16 UTC (run '
                                    'j1)'],
                       'missing': [],
                       'step': None},
     'scheduled never': {'status': 'partly',
                         'evidence': ['job train: schedule 0 3 * * 1 UTC (installed: cron)',
                                      'job train: last successful run never'],
                         'missing': ['no scheduled job ran successfully in its last period '
                                     '(train: since never)'],
                         'step': ('Make job train succeed, then watch it',
                                  'nbmlops run jobs/train && nbmlops jobs')},
     'scheduled no start': {'status': 'met',
                            'evidence': ['job train: schedule 0 3 * * 1 UTC (installed: cron)',
                                         'job train: last successful run never (run j1)'],
                            'missing': [],
                            'step': None},
     'scheduled none': {'status': 'not_met',
                        'evidence': [],
                        'missing': ['no job has a schedule'],
                        'step': ('Retrain on a schedule',
                                 "nbmlops export NOTEBOOK.ipynb --schedule '0 3 * * 1' && nbmlops "
                                 'schedule jobs/NOTEBOOK --install')},
     'scheduled none in a folder': {'status': 'not_met',
                                    'evidence': [],
                                    'missing': ['no job has a schedule'],
                                    'step': ('Retrain on a schedule',
                                             "nbmlops export 'notebooks/a/my train.ipynb' "
                                             "--schedule '0 3 * * 1' && nbmlops schedule "
                                             'jobs/my-train --install')},
     'scheduled none named': {'status': 'not_met',
                              'evidence': [],
                              'missing': ['no job has a schedule'],
                              'step': ('Retrain on a schedule',
                                       "nbmlops export train.ipynb --schedule '0 3 * * 1' && "
                                       'nbmlops schedule jobs/train --install')},
     'scheduled of two': {'status': 'met',
                          'evidence': ['job eval: schedule 0 4 * * * Europe/Paris',
                                       'job train: schedule 0 3 * * 1 UTC (installed: cron)',
                                       'job eval: last successful run 1970-01-01 00:16 UTC (run '
                                       'e1)',
                                       'job train: last successful run 1970-01-01 00:16 UTC (run '
                                       'j1)'],
                          'missing': [],
                          'step': None},
     'scheduled started when': {'status': 'partly',
                                'evidence': ['job train: schedule 0 3 * * 1 UTC (installed: cron)',
                                             'job train: last successful run never (run j1)'],
                                'missing': ['no scheduled job ran successfully in its last period '
                                            '(train: since 1970-01-01 00:00 UTC)'],
                                'step': ('Make job train succeed, then watch it',
                                         'nbmlops run jobs/train && nbmlops jobs')},
     'scheduled twice installed': {'status': 'met',
                                   'evidence': ['job train: schedule 0 3 * * 1 UTC (installed: '
                                                'cron, github)',
                                                'job train: last successful run 1970-01-01 00:16 '
                                                'UTC (run 01234567)'],
                                   'missing': [],
                                   'step': None},
     'scheduled unread': {'status': 'unchecked',
                          'evidence': ['job train: schedule 0 3 * * 1 UTC (installed: cron)'],
                          'missing': ['MLflow at sqlite:///mlflow.db: connection refused'],
                          'step': ('Make the tracking store reachable, then assess again',
                                   'start the MLflow server at sqlite:///mlflow.db (or set '
                                   'MLFLOW_TRACKING_URI), then nbmlops assess')},
     'shadow by hand': {'status': 'met',
                        'evidence': ['run p1 scored model v2 and, in its shadow, @challenger'],
                        'missing': [],
                        'step': None},
     'shadow met': {'status': 'met',
                    'evidence': ['job score also scores with @challenger, never served (shadow)',
                                 'run p1 scored model v2 and, in its shadow, @challenger'],
                    'missing': [],
                    'step': None},
     'shadow never ran': {'status': 'partly',
                          'evidence': ['job score also scores with @challenger, never served '
                                       '(shadow)'],
                          'missing': ['no run of score has scored in shadow yet'],
                          'step': ('Run the scoring job score', 'nbmlops run jobs/score')},
     'shadow none': {'status': 'not_met',
                     'evidence': [],
                     'missing': ['no scoring job scores a challenger beside the champion'],
                     'step': ('Score the challenger in the shadow of the champion',
                              "add `shadow: challenger` under `monitor:` in the scoring job's "
                              'job.yaml')},
     'shadow none elsewhere': {'status': 'not_met',
                               'evidence': [],
                               'missing': ['no scoring job scores a challenger beside the '
                                           'champion'],
                               'step': ('Score the challenger in the shadow of the champion',
                                        'add `shadow: challenger` under `monitor:` in the scoring '
                                        "job's job.yaml")},
     'shadow not configured': {'status': 'not_met',
                               'evidence': [],
                               'missing': ['no scoring job scores a challenger beside the '
                                           'champion'],
                               'step': ('Score the challenger in the shadow of the champion',
                                        'add `shadow: challenger` under `monitor:` in '
                                        'jobs/score/job.yaml')},
     'shadow unread': {'status': 'unchecked',
                       'evidence': ['job score also scores with @challenger, never served '
                                    '(shadow)'],
                       'missing': ['MLflow at sqlite:///mlflow.db: connection refused'],
                       'step': ('Make the tracking store reachable, then assess again',
                                'start the MLflow server at sqlite:///mlflow.db (or set '
                                'MLFLOW_TRACKING_URI), then nbmlops assess')},
     'tracked met': {'status': 'met',
                     'evidence': ['%%track cells in train.ipynb',
                                  '10 of the 10 newest runs carry their code (tag '
                                  'nbmlops.code_sha), 10 their data fingerprints'],
                     'missing': [],
                     'step': None},
     'tracked no code': {'status': 'partly',
                         'evidence': ['0 of the 10 newest runs carry their code (tag '
                                      'nbmlops.code_sha), 10 their data fingerprints'],
                         'missing': ['runs are logged without the code that made them'],
                         'step': ('Record the training cell of NOTEBOOK.ipynb as a run',
                                  'add `%load_ext nbmlops` and `%%track train` to the training '
                                  'cell of NOTEBOOK.ipynb')},
     'tracked no code most cells': {'status': 'partly',
                                    'evidence': ['%%track cells in z.ipynb, a.ipynb, b.ipynb',
                                                 '0 of the 10 newest runs carry their code (tag '
                                                 'nbmlops.code_sha), 10 their data fingerprints'],
                                    'missing': ['runs are logged without the code that made them'],
                                    'step': ('Record the training cell of b.ipynb as a run',
                                             'add `%load_ext nbmlops` and `%%track train` to the '
                                             'training cell of b.ipynb')},
     'tracked no code most run': {'status': 'partly',
                                  'evidence': ['0 of the 10 newest runs carry their code (tag '
                                               'nbmlops.code_sha), 10 their data fingerprints'],
                                  'missing': ['runs are logged without the code that made them'],
                                  'step': ('Record the training cell of b.ipynb as a run',
                                           'add `%load_ext nbmlops` and `%%track train` to the '
                                           'training cell of b.ipynb')},
     'tracked no data': {'status': 'partly',
                         'evidence': ['10 of the 10 newest runs carry their code (tag '
                                      'nbmlops.code_sha), 0 their data fingerprints'],
                         'missing': ['no run names the data it read'],
                         'step': ('Let the training cell of NOTEBOOK.ipynb read its data where '
                                  '%%track sees it',
                                  '%%track train --data PATH_OR_VARIABLE in NOTEBOOK.ipynb')},
     'tracked no runs': {'status': 'not_met',
                         'evidence': [],
                         'missing': ['no runs in sqlite:///mlflow.db'],
                         'step': ('Record the training cell of NOTEBOOK.ipynb as a run',
                                  'add `%load_ext nbmlops` and `%%track train` to the training '
                                  'cell of NOTEBOOK.ipynb')},
     'tracked no runs nowhere': {'status': 'not_met',
                                 'evidence': [],
                                 'missing': ['no runs in the store'],
                                 'step': ('Record the training cell of NOTEBOOK.ipynb as a run',
                                          'add `%load_ext nbmlops` and `%%track train` to the '
                                          'training cell of NOTEBOOK.ipynb')},
     'tracked no runs spooled': {'status': 'partly',
                                 'evidence': ['%%track cells in train.ipynb'],
                                 'missing': ['no runs in sqlite:///mlflow.db'],
                                 'step': ('Upload the records waiting in the spool',
                                          'nbmlops sync')},
     'tracked unread': {'status': 'unchecked',
                        'evidence': [],
                        'missing': ['MLflow at sqlite:///mlflow.db: connection refused'],
                        'step': ('Make the tracking store reachable, then assess again',
                                 'start the MLflow server at sqlite:///mlflow.db (or set '
                                 'MLFLOW_TRACKING_URI), then nbmlops assess')}}


# The red flags of each case (read and checked by hand as well)
FLAGS: dict[str, list[tuple[str, str, str, str]]] = {"a job's version": [],
     'ada alone': [('one-person',
                    'Knowledge held by one person',
                    'explore.ipynb, train.ipynb',
                    "all 10 newest runs are ada's, none from a job; not in git: explore.ipynb")],
     'ada alone anywhere': [('one-person',
                             'Knowledge held by one person',
                             '/p',
                             "all 10 newest runs are ada's, none from a job")],
     'ada alone in a job': [],
     'ada alone unread': [],
     'ada and bob': [],
     'everything': [('one-person',
                     'Knowledge held by one person',
                     'train.ipynb',
                     'every version of model model was trained by ada from train.ipynb (not in '
                     'git), never by a job')],
     'in git': [('one-person',
                 'Knowledge held by one person',
                 'train.ipynb',
                 'every version of model model was trained by ada from train.ipynb, never by a '
                 'job')],
     'manual evaluation': [('one-person',
                            'Knowledge held by one person',
                            'train.ipynb',
                            'every version of model model was trained by ada from train.ipynb '
                            '(not in git), never by a job'),
                           ('manual-evaluation',
                            'Evaluation a human must remember to run',
                            'b.ipynb, a.ipynb',
                            '10 runs logged metrics, and no job run ever did')],
     'manual evaluation anywhere': [('one-person',
                                     'Knowledge held by one person',
                                     'train.ipynb',
                                     'every version of model model was trained by ada from '
                                     'train.ipynb (not in git), never by a job'),
                                    ('manual-evaluation',
                                     'Evaluation a human must remember to run',
                                     '/p',
                                     '10 runs logged metrics, and no job run ever did')],
     'no author': [('one-person',
                    'Knowledge held by one person',
                    'train.ipynb',
                    'every version of model model was trained by one person from train.ipynb (not '
                    'in git), never by a job')],
     'no metrics': [('one-person',
                     'Knowledge held by one person',
                     'train.ipynb',
                     'every version of model model was trained by ada from train.ipynb (not in '
                     'git), never by a job')],
     'no notebook': [('one-person',
                      'Knowledge held by one person',
                      'model model',
                      'every version of model model was trained by ada, never by a job')],
     'no rollback': [('one-person',
                      'Knowledge held by one person',
                      'train.ipynb',
                      'every version of model model was trained by ada from train.ipynb (not in '
                      'git), never by a job'),
                     ('no-rollback',
                      'Model versions without a tested rollback',
                      'model model',
                      '2 versions, champion v2; a rollback has never been exercised')],
     'no rollback nor champion': [('one-person',
                                   'Knowledge held by one person',
                                   'train.ipynb',
                                   'every version of model model was trained by ada from '
                                   'train.ipynb (not in git), never by a job'),
                                  ('no-rollback',
                                   'Model versions without a tested rollback',
                                   'model model',
                                   '2 versions; a rollback has never been exercised')],
     'no run': [],
     'one version without rollback': [('one-person',
                                       'Knowledge held by one person',
                                       'train.ipynb',
                                       'every version of model model was trained by ada from '
                                       'train.ipynb (not in git), never by a job')],
     'out of order': [('one-person',
                       'Knowledge held by one person',
                       'train.ipynb',
                       'every version of model model was trained by ada from train.ipynb (not in '
                       'git), never by a job'),
                      ('out-of-order',
                       'Notebook executed out of order',
                       'a.ipynb',
                       'cell 3 ran before a cell above (execution counts go back)'),
                      ('out-of-order',
                       'Notebook executed out of order',
                       'c.ipynb',
                       'cells 2, 5, 6, 7, 8 and 2 more ran before a cell above (execution counts '
                       'go back)')],
     'out of order twice': [('one-person',
                             'Knowledge held by one person',
                             'train.ipynb',
                             'every version of model model was trained by ada from train.ipynb '
                             '(not in git), never by a job'),
                            ('out-of-order',
                             'Notebook executed out of order',
                             'a.ipynb',
                             'cells 2, 4 ran before a cell above (execution counts go back)')],
     'stale': [('one-person',
                'Knowledge held by one person',
                'train.ipynb',
                'every version of model model was trained by ada from train.ipynb (not in git), '
                'never by a job'),
               ('out-of-order',
                'Notebook state out of order',
                'n0.ipynb',
                "a run's inputs came from edited or out-of-order cells (tag nbmlops.slice = "
                'stale)'),
               ('out-of-order',
                'Notebook state out of order',
                'n1.ipynb',
                "a run's inputs came from edited or out-of-order cells (tag nbmlops.slice = "
                'stale)'),
               ('out-of-order',
                'Notebook state out of order',
                'n2.ipynb',
                "a run's inputs came from edited or out-of-order cells (tag nbmlops.slice = "
                'stale)'),
               ('out-of-order',
                'Notebook state out of order',
                'n3.ipynb',
                "a run's inputs came from edited or out-of-order cells (tag nbmlops.slice = "
                'stale)'),
               ('out-of-order',
                'Notebook state out of order',
                'n4.ipynb',
                "a run's inputs came from edited or out-of-order cells (tag nbmlops.slice = "
                'stale)'),
               ('out-of-order',
                'Notebook state out of order',
                'n5.ipynb',
                "a run's inputs came from edited or out-of-order cells (tag nbmlops.slice = "
                'stale)'),
               ('out-of-order',
                'Notebook state out of order',
                'n6.ipynb',
                "a run's inputs came from edited or out-of-order cells (tag nbmlops.slice = "
                'stale)'),
               ('out-of-order',
                'Notebook state out of order',
                'n7.ipynb',
                "a run's inputs came from edited or out-of-order cells (tag nbmlops.slice = "
                'stale)'),
               ('out-of-order',
                'Notebook state out of order',
                'n8.ipynb',
                "a run's inputs came from edited or out-of-order cells (tag nbmlops.slice = "
                'stale)'),
               ('out-of-order',
                'Notebook state out of order',
                'n9.ipynb',
                "a run's inputs came from edited or out-of-order cells (tag nbmlops.slice = "
                'stale)')],
     'two notebooks': [('one-person',
                        'Knowledge held by one person',
                        'model model',
                        'every version of model model was trained by ada, never by a job')],
     'two people': [],
     'unread': [],
     'untested': [('one-person',
                   'Knowledge held by one person',
                   'train.ipynb',
                   'every version of model model was trained by ada from train.ipynb (not in '
                   'git), never by a job'),
                  ('untested-features',
                   'Feature code without tests',
                   'f0.py',
                   'clean0() transforms features and no test names it'),
                  ('untested-features',
                   'Feature code without tests',
                   'f1.py',
                   'clean1() transforms features and no test names it'),
                  ('untested-features',
                   'Feature code without tests',
                   'f2.py',
                   'clean2() transforms features and no test names it'),
                  ('untested-features',
                   'Feature code without tests',
                   'f3.py',
                   'clean3() transforms features and no test names it'),
                  ('untested-features',
                   'Feature code without tests',
                   'f4.py',
                   'clean4() transforms features and no test names it'),
                  ('untested-features',
                   'Feature code without tests',
                   'f5.py',
                   'clean5() transforms features and no test names it'),
                  ('untested-features',
                   'Feature code without tests',
                   'f6.py',
                   'clean6() transforms features and no test names it'),
                  ('untested-features',
                   'Feature code without tests',
                   'f7.py',
                   'clean7() transforms features and no test names it'),
                  ('untested-features',
                   'Feature code without tests',
                   'f8.py',
                   'clean8() transforms features and no test names it'),
                  ('untested-features',
                   'Feature code without tests',
                   'f9.py',
                   'clean9() transforms features and no test names it')],
     'untested odd name': [('one-person',
                            'Knowledge held by one person',
                            'train.ipynb',
                            'every version of model model was trained by ada from train.ipynb '
                            '(not in git), never by a job'),
                           ('untested-features',
                            'Feature code without tests',
                            'a:b.py',
                            'clean() transforms features and no test names it')]}
