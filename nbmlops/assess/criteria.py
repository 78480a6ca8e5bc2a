"""Judging the evidence: each criterion of the maturity levels met or not, the red flags, the
level reached, and the next three steps.

Pure: :class:`~nbmlops.assess.evidence.Evidence` in, :class:`Assessment` out. A criterion is
one function registered with :func:`criterion` in :data:`CRITERIA`, so adding one is one
function and the line that registers it; most checks write their evidence and end in
:func:`_grade` (met, partly or not met, with what is missing and the step to take). The red
flags come from :mod:`~nbmlops.assess.red_flags`. The level reached is the highest level whose
criteria, and those of every level below, are all met: "partly" is not met, and a criterion
that could not be checked (the tracking server down) keeps the level where the evidence
proves it.

The next steps come from the criteria not met, lowest level first, and within a level in the
order the investment should go: versioning, data quality, tracking, automation, registry,
gates, monitoring.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from nbmlops import store
from nbmlops.assess.evidence import Evidence, JobFacts, ModelFacts
from nbmlops.assess.red_flags import RedFlag, red_flags
from nbmlops.assess.wording import plural, some, tally
from nbmlops.redact import strip_credentials

MET, PARTLY, NOT_MET, UNCHECKED = "met", "partly", "not_met", "unchecked"
STATUSES = (MET, PARTLY, NOT_MET, UNCHECKED)

LEVELS = {
    0: "notebooks, manual everything",
    1: "scripted pipelines",
    2: "automated training and experiment tracking",
    3: "CI/CD for ML",
    4: "continuous training",
}
#: Where to invest first: each criterion belongs to one area.
AREAS = ("versioning", "data quality", "tracking", "automation", "registry", "gates",
         "monitoring")
#: Share of the newest runs that must carry something for "every run does".
MOST = 0.9


@dataclass
class Step:
    """A next step: a command to run, or a change to make."""

    title: str
    command: str
    criterion: str = ""
    area: str = ""


@dataclass
class Finding:
    """One criterion judged."""

    id: str
    level: int
    area: str
    title: str
    status: str
    evidence: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    step: Step | None = None


@dataclass
class Assessment:
    evidence: Evidence
    level: int
    findings: list[Finding]
    red_flags: list[RedFlag]
    next_steps: list[Step]
    notes: list[str] = field(default_factory=list)

    @property
    def level_name(self) -> str:
        return LEVELS[self.level]


#: A check fills in the Finding it is given (status "not met" until it says otherwise).
Check = Callable[[Evidence, Finding], None]


@dataclass(frozen=True)
class Criterion:
    id: str
    level: int
    area: str
    title: str
    check: Check


CRITERIA: list[Criterion] = []


def criterion(id: str, level: int, area: str, title: str) -> Callable[[Check], Check]:
    """Register a check: it gets the evidence and a Finding (status not met) to fill in.
    Called after the check's definition, ``criterion(...)(check)``, rather than as its
    decorator: mutation testing (``make mutate``) leaves decorated functions alone."""
    if area not in AREAS or level not in LEVELS:
        raise ValueError(f"criterion {id}: unknown area {area!r} or level {level}")

    def register(check: Check) -> Check:
        CRITERIA.append(Criterion(id, level, area, title, check))
        return check

    return register


def assess(ev: Evidence) -> Assessment:
    """Judge ``ev``: every criterion, the red flags, the level reached, the next steps."""
    findings = []
    for c in CRITERIA:
        f = Finding(c.id, c.level, c.area, c.title, NOT_MET)
        c.check(ev, f)
        if f.step is not None:
            f.step.criterion, f.step.area = c.id, c.area
        findings.append(f)
    level = 0
    for lvl in sorted(LEVELS)[1:]:
        if all(f.status == MET for f in findings if f.level == lvl):
            level = lvl
        else:
            break
    notes = []
    if any(f.status == UNCHECKED for f in findings):
        notes.append("some criteria could not be checked (see \"Not checked\"): the level "
                     "may be higher")
    notes.append("level 4: nbmlops sees lineage, reproduction, drift-triggered retraining and "
                 "shadow scoring; online learning and feature stores are outside what it can "
                 "check")
    return Assessment(ev, level, findings, red_flags(ev), next_steps(findings), notes)


def next_steps(findings: list[Finding], n: int = 3) -> list[Step]:
    """The first ``n`` steps: lowest level first, then the investment order."""
    todo = [f for f in findings if f.status != MET and f.step is not None]
    todo.sort(key=lambda f: (f.level, AREAS.index(f.area)))
    steps: list[Step] = []
    for f in todo:
        assert f.step is not None
        if f.step.command not in {s.command for s in steps}:
            steps.append(f.step)
        if len(steps) == n:
            break
    return steps


# -- helpers --------------------------------------------------------------------------------


def _q(text: str) -> str:
    return shlex.quote(text)


def _grade(f: Finding, met: object, partly: object, missing: str | list[str],
           step: Step | None) -> None:
    """How most checks end: met when ``met`` holds; otherwise partly when ``partly`` holds
    (not met if not), with what is ``missing`` and the ``step`` that would help. The check
    writes its evidence itself."""
    if met:
        f.status = MET
        return
    f.status = PARTLY if partly else NOT_MET
    f.missing += [missing] if isinstance(missing, str) else missing
    f.step = step


def _main_notebook(ev: Evidence) -> str:
    """The notebook a step should name: the most tracked one, else the first."""
    if ev.runs and ev.runs.notebooks:
        on_disk = {nb.path for nb in ev.notebooks}
        for name, _ in sorted(ev.runs.notebooks.items(), key=lambda kv: -kv[1]):
            if name in on_disk:
                return name
    ranked = sorted(ev.notebooks, key=lambda nb: (-nb.tracked_cells, nb.path))
    return ranked[0].path if ranked else "NOTEBOOK.ipynb"


def _model_name(ev: Evidence) -> str:
    return ev.models[0].name if ev.models else "MODEL"


def _unread(ev: Evidence, f: Finding, facts: object) -> bool:
    """Mark ``f`` unchecked when the MLflow ``facts`` it needs (the runs or the models) could
    not be read, that is are None; True then."""
    if facts is not None:
        return False
    f.status = UNCHECKED
    f.missing += [u for u in ev.unchecked if u.startswith("MLflow")] or [
        "MLflow could not be read"]
    f.step = _read_mlflow(ev)
    return True


def _read_mlflow(ev: Evidence) -> Step:
    """What lets the next assessment read MLflow."""
    if ev.mlflow == "offline":
        return Step("Assess with MLflow too", "nbmlops assess (without --offline)")
    if ev.mlflow == "timeout":
        return Step("Give MLflow more time", "nbmlops assess --timeout 120")
    if ev.mlflow == "no uri":  # the settings that name the store could not be read
        return Step("Fix the project's settings so the tracking store is known",
                    "fix [tool.nbmlops] in pyproject.toml (see \"Not checked\"), then "
                    "nbmlops assess")
    uri = strip_credentials(ev.tracking_uri) or "MLFLOW_TRACKING_URI"
    return Step("Make the tracking store reachable, then assess again",
                f"start the MLflow server at {uri} (or set MLFLOW_TRACKING_URI), then "
                "nbmlops assess")


def _scheduled(ev: Evidence) -> list[JobFacts]:
    return [j for j in ev.jobs if j.cron]


def _ms_text(ms: int | None) -> str:
    if not ms:
        return "never"
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


# -- level 1: scripted pipelines ------------------------------------------------------------


def _git(ev: Evidence, f: Finding) -> None:
    git = ev.git
    if git.corrupt:
        f.status = UNCHECKED
        f.missing.append(git.error or f"the git repository at {git.corrupt} is corrupt")
        f.step = Step(f"Repair {git.corrupt}/HEAD: it reads `ref: refs/heads/<branch>` "
                      "(or clone the repository again and copy your changes over)",
                      f"cat {_q(git.corrupt + '/HEAD')}; ls {_q(git.corrupt + '/refs/heads')}")
        return
    if not git.repository and git.error:
        f.status = UNCHECKED
        f.missing.append(f"git refuses to read the repository: {git.error}")
        f.step = Step("Let git read the repository",
                      f"git config --global --add safe.directory {_q(ev.root)}")
        return
    if not git.repository:
        f.missing.append(f"no git repository at or above {ev.root}")
        f.step = Step("Version the notebooks and code in git",
                      "git init && git add . && git commit -m 'Version the project'")
        return
    f.evidence.append(f"git repository {git.repository}: {plural(git.commits, 'commit')}"
                      + (f", head {git.head[:8]}" if git.head else ""))
    if ev.outputs:  # what papermill wrote is an output of a notebook, not one to commit
        f.evidence.append(f"output notebooks, not sources: {some(ev.outputs)}")
    no_commit = git.error or not git.head
    in_git = not no_commit and not git.not_in_git
    if in_git:  # not necessarily committed as they stand: say both without contradiction
        f.evidence.append(f"{plural(len(ev.notebooks), 'notebook')} and the code, all in git"
                          + (f"; {plural(git.uncommitted, 'file')} with uncommitted changes"
                             if git.uncommitted else ", nothing left to commit"))
    _grade(f, in_git, True, "no commit yet" if no_commit else f"not in git: {some(git.not_in_git)}",
           Step("Commit the notebooks and code",
                "git add . && git commit -m 'Version the project'") if no_commit else
           Step("Commit the files git does not have",
                f"git add {' '.join(_q(p) for p in git.not_in_git[:5])} && "
                "git commit -m 'Version the notebooks'"))


criterion("git", 1, "versioning", "Notebooks and code are in git")(_git)


def _tracked_runs(ev: Evidence, f: Finding) -> None:
    tracked_nbs = [nb.path for nb in ev.notebooks if nb.tracked_cells]
    if tracked_nbs:
        f.evidence.append(f"%%track cells in {some(tracked_nbs)}")
    nb = _main_notebook(ev)
    add_track = Step(f"Record the training cell of {nb} as a run",
                     f"add `%load_ext nbmlops` and `%%track train` to the training cell of {nb}")
    if _unread(ev, f, ev.runs):
        return
    assert ev.runs is not None
    runs = ev.runs
    if runs.cells == 0:
        # mutation-equivalent: None for False: neither is met.
        _grade(f, False, tracked_nbs,
               f"no runs in {strip_credentials(ev.tracking_uri) or 'the store'}",
               Step("Upload the records waiting in the spool", "nbmlops sync") if tracked_nbs
               else add_track)
        return
    f.evidence.append(f"{runs.tracked} of the {runs.cells} newest runs "
                      "carry their code "
                      f"(tag {store.CODE_SHA_TAG}), {runs.with_data} their data fingerprints")
    _grade(f, runs.tracked and runs.with_data, True,
           "no run names the data it read" if runs.tracked else
           "runs are logged without the code that made them",
           Step(f"Let the training cell of {nb} read its data where %%track sees it",
                f"%%track train --data PATH_OR_VARIABLE in {nb}") if runs.tracked else add_track)


criterion("tracked-runs", 1, "tracking",
          "Runs are recorded with their code and data")(_tracked_runs)


def _job(ev: Evidence, f: Finding) -> None:
    folders = [j for j in ev.jobs if j.folder]
    good = [j for j in folders if not j.error]
    export = Step("Turn the training notebook into a parameterized job",
                  f"nbmlops export {_q(_main_notebook(ev))}")
    if good:
        f.evidence.append(f"job folders: {some([j.folder for j in good])}")
    _grade(f, good, folders, [f"{j.folder}: {j.error}" for j in folders] if folders else
           "no job folder (jobs/*/job.yaml)", export)


criterion("job", 1, "automation", "Training is a repeatable job")(_job)


# -- level 2: automated training and experiment tracking ------------------------------------


def _data_checks(ev: Evidence, f: Finding) -> None:
    nb = _main_notebook(ev)
    expect = Step("Declare the schema of the training data so a bad input stops the cell",
                  f"%%track load --expect raw=expectations/raw.json in {nb}")
    declared = [nb.path for nb in ev.notebooks if nb.expect_cells]
    if declared:
        f.evidence.append(f"%%track --expect in {some(declared)}")
    if ev.drift_mode == "off":
        f.missing.append("drift checks are off ([tool.nbmlops] drift = \"off\")")
    if _unread(ev, f, ev.runs):
        return
    assert ev.runs is not None
    runs = ev.runs
    drift = ev.drift_mode != "off" and runs.drift_checked > 0
    if runs.drift_checked:
        f.evidence.append(f"{runs.drift_checked} of the {runs.cells} newest runs compared their "
                          "data with the previous run (drift)")
    elif ev.drift_mode != "off":
        f.missing.append("no run compared its data with a previous run (a tracked cell with a "
                         "stable name, run twice)")
    if runs.expectations:
        f.evidence.append(f"{runs.expectations} runs checked a declared schema (expectations)")
    else:
        f.missing.append("no declared schema (expectations) is checked")
    # What is missing is said above; the step turns drift on when only it is lacking.
    _grade(f, drift and runs.expectations, drift or runs.expectations, [],
           expect if drift or not runs.expectations else
           Step("Turn the drift checks on", 'remove drift = "off" from [tool.nbmlops]'))


criterion("data-checks", 2, "data quality",
          "Tracked inputs are checked: schema and drift")(_data_checks)


def _consistent(ev: Evidence, f: Finding) -> None:
    bare = [nb.path for nb in ev.notebooks if nb.code_cells and not nb.tracked_cells]
    if _unread(ev, f, ev.runs):
        return
    assert ev.runs is not None
    runs = ev.runs
    if runs.cells == 0:
        f.missing.append("no runs")
        return
    cells = runs.cells
    share = min(runs.tracked, runs.with_git) / cells
    people = f"; by {some(sorted(runs.users))}" if runs.users else ""
    f.evidence.append(f"{share:.0%} of the {cells} newest runs carry code and git "
                      f"commit{people}")
    if bare:
        f.missing.append(f"notebooks without a tracked cell: {some(bare)}")
    step = Step("Track the rest of the notebooks", f"add `%%track NAME` to the cells that "
                f"train or evaluate in {some(bare or [_main_notebook(ev)], 2)}")
    _grade(f, share >= MOST, runs.tracked,
           f"{cells - min(runs.tracked, runs.with_git)} of the newest runs lack their code or "
           "git commit (logged by hand, or outside git)" if runs.tracked else [], step)


criterion("tracking-consistent", 2, "tracking", "Every run is tracked the same way")(_consistent)


def _scheduled_job(ev: Evidence, f: Finding) -> None:
    jobs = _scheduled(ev)
    if not jobs:
        f.missing.append("no job has a schedule")
        nb = _main_notebook(ev)
        f.step = Step("Retrain on a schedule",
                      f"nbmlops export {_q(nb)} --schedule '0 3 * * 1' && "
                      f"nbmlops schedule jobs/{_job_name(nb)} --install")
        return
    for j in jobs:
        where = f" (installed: {', '.join(j.installed)})" if j.installed else ""
        f.evidence.append(f"job {j.name}: schedule {j.cron} {j.timezone}{where}")
    if _unread(ev, f, ev.runs):
        return
    ok = [j for j in jobs if _ran_in_period(j)]
    for j in jobs:
        last = next((r for r in j.runs if r.status == "FINISHED"), None)
        latest = j.runs[0] if j.runs else None
        f.evidence.append(f"job {j.name}: last successful run "
                          f"{_ms_text(last.start_time if last else None)}"
                          + (f" (run {last.run_id[:8]})" if last else "")
                          + (f", latest {latest.status}" if latest and latest is not last else ""))
    j = jobs[0]
    _grade(f, ok, True, f"no scheduled job ran successfully in its last period ({j.name}: "
           f"since {_ms_text(j.period_start)})",
           Step(f"Make job {j.name} succeed, then watch it",
                f"nbmlops run {_q(j.folder)} && nbmlops jobs") if j.installed else
           Step(f"Install the schedule of job {j.name}",
                f"nbmlops schedule {_q(j.folder)} --install"))


criterion("scheduled", 2, "automation",
          "Training runs on a schedule, and ran in its last period")(_scheduled_job)


def _job_name(notebook: str) -> str:
    from nbmlops.jobs.spec import default_name

    # mutation-equivalent: rsplit's maxsplit (none, or 2): the last part is the same.
    return default_name(notebook.rsplit("/", 1)[-1].removesuffix(".ipynb"))


def _ran_in_period(job: JobFacts) -> bool:
    since = job.period_start or 0
    return any(r.status == "FINISHED" and (r.start_time or 0) >= since for r in job.runs)


def _registry(ev: Evidence, f: Finding) -> None:
    if ev.code.model_files:
        f.evidence.append(f"model files on disk: {some(ev.code.model_files)}")
    register = Step("Register the trained model with its run, code and data",
                    f"%%track train --model model={_model_name(ev)} in {_main_notebook(ev)}")
    if _unread(ev, f, ev.models):
        return
    assert ev.models is not None
    for m in ev.models[:5]:
        newest = m.versions[0] if m.versions else None
        if newest is None:
            f.evidence.append(f"model {m.name}: no version")
            continue
        has = [w for w, ok in (("run", newest.run_id), ("code", newest.code),
                               ("data", newest.data), ("author", newest.user),
                               ("metrics", newest.metrics)) if ok]
        f.evidence.append(f"model {m.name}: {plural(len(m.versions), 'version')}; newest "
                          f"v{newest.version} names {', '.join(has) or 'nothing'}")
    complete = [m for m in ev.models if m.versions and _complete(m)]
    _grade(f, complete, ev.models, "no model's newest version names its run, code, data, "
           "author and metrics" if ev.models else "no registered model", register)


criterion("registry", 2, "registry", "Models are registered with their metadata")(_registry)


def _complete(m: ModelFacts) -> bool:
    v = m.versions[0]
    return bool(v.run_id and v.code and v.data and v.user and v.metrics)


def _promotion(ev: Evidence, f: Finding) -> None:
    if _unread(ev, f, ev.models):
        return
    assert ev.models is not None
    promote = Step("Promote the best version to champion",
                   f"nbmlops promote {_q(_model_name(ev))} --alias {store.CHAMPION}")
    with_champion = [m for m in ev.models if store.CHAMPION in m.aliases]
    for m in ev.models[:5]:
        if m.aliases:
            f.evidence.append(f"model {m.name}: " + ", ".join(
                f"{a} -> v{v}" for a, v in sorted(m.aliases.items())))
    _grade(f, with_champion, ev.models, f"no model has a {store.CHAMPION} alias" if ev.models
           else "no registered model", promote)


criterion("promotion", 2, "registry", "A defined promotion: challenger, then champion")(_promotion)


# -- level 3: CI/CD for ML ------------------------------------------------------------------


def _feature_tests(ev: Evidence, f: Finding) -> None:
    code = ev.code
    if code.test_files:
        f.evidence.append(f"{plural(len(code.test_files), 'test file')}: "
                          f"{some(code.test_files)}")
    tested = [x for x in code.feature_functions if x not in code.untested]
    if tested:
        f.evidence.append(f"tested feature code: {some(tested)}")
    if code.untested:
        where, _, name = code.untested[0].rpartition(":")
        command = (f"move {name}() from {where} into a module, test it in "
                   "tests/test_features.py, run pytest" if where.endswith(".ipynb") else
                   f"test {name}() of {where} in tests/test_features.py, run pytest")
    else:
        command = "add tests/test_features.py for the feature transformations, run pytest"
    met = not code.untested and code.test_files
    if met and not code.feature_functions:
        f.evidence.append("no feature transformation found outside the tests")
    _grade(f, met, code.untested and tested, f"feature code no test names: "
           f"{some(code.untested)}" if code.untested else "no tests",
           Step("Test the feature transformations", command))


criterion("feature-tests", 3, "data quality", "Feature transformations are tested")(_feature_tests)


def _ci(ev: Evidence, f: Finding) -> None:
    code = ev.code
    both = [c for c in code.ci_runs_jobs if c in code.ci_on_change]
    step_nb = _main_notebook(ev)
    cron = next((j.cron for j in _scheduled(ev)), None) or "0 3 * * 1"
    step = Step("Run the training job in CI on every push",
                f"nbmlops export {_q(step_nb)} --schedule {_q(cron)} --target github, copy its "
                "github-workflow.yml to .github/workflows/ and add `push:` to its `on:`")
    if code.ci_files:
        f.evidence.append(f"CI: {some(code.ci_files)}")
    if both:
        f.evidence.append(f"runs a job on each change: {some(both)}")
    _grade(f, both, code.ci_runs_jobs or code.ci_files,
           "CI runs the job on a schedule only, not when the code changes" if code.ci_runs_jobs
           else "CI does not run training or evaluation (`nbmlops run`)" if code.ci_files
           else "no CI configuration (.github/workflows, .gitlab-ci.yml, ...)", step)


criterion("ci", 3, "automation", "Training and evaluation run when the code changes")(_ci)


def _unattended(ev: Evidence, f: Finding) -> None:
    if _unread(ev, f, ev.runs):
        return
    runs = [r for j in ev.jobs for r in j.runs if r.status == "FINISHED"]
    with_metrics = [r for r in runs if r.metrics]
    step = Step("Compute the evaluation metrics inside the scheduled job",
                f"add a `%%track evaluate` cell computing the metrics to {_main_notebook(ev)}, "
                "then nbmlops export it again")
    if with_metrics:
        f.evidence.append(f"{plural(len(with_metrics), 'successful job run')} logged metrics")
    _grade(f, with_metrics, runs, f"{plural(len(runs), 'successful job run')}, none logged a "
           "metric" if runs else "no job has run successfully", step)


criterion("unattended-eval", 3, "automation", "Evaluation runs unattended")(_unattended)


def _gates(ev: Evidence, f: Finding) -> None:
    configured = []
    if ev.gates:
        configured.append(f"[tool.nbmlops] gates: {some(ev.gates)}")
    configured += [f"job {j.name} promotes through gates" for j in ev.jobs if j.promote]
    f.evidence += configured
    step = Step("Agree on the gates a champion must pass",
                f"nbmlops promote {_q(_model_name(ev))} --gate 'auc >= champion', then write "
                "the gates into [tool.nbmlops] gates")
    if _unread(ev, f, ev.models):
        if not configured:
            f.step = step
        return
    assert ev.models is not None
    enforced = [f"{m.name} v{v.version}" for m in ev.models for v in m.versions if v.gate_tags]
    if enforced:
        f.evidence.append(f"gate results recorded on {some(enforced)}")
    _grade(f, configured and enforced, configured or enforced,
           "no model version records a gate result yet" if configured else
           "gates were given by hand; none are agreed in [tool.nbmlops] gates" if enforced else
           "no evaluation gate is configured or has been applied",
           Step("Promote through the gates", f"nbmlops promote {_q(_model_name(ev))} "
                f"--alias {store.CHAMPION}") if configured else step)


criterion("gates", 3, "gates", "Evaluation gates block regressions")(_gates)


def _reports(ev: Evidence, f: Finding) -> None:
    if _unread(ev, f, ev.models):
        return
    assert ev.models is not None
    looked = [(m, v) for m in ev.models for v in m.versions if v.report is not None]
    with_report = [f"{m.name} v{v.version}" for m, v in looked if v.report]
    without = [f"{m.name} v{v.version}" for m, v in looked if not v.report]
    step = Step("Register versions through a promotion that writes the evaluation report",
                f"nbmlops promote {_q(_model_name(ev))} --alias {store.CHALLENGER}")
    if with_report:
        f.evidence.append(f"evaluation reports: {some(with_report)}")
    _grade(f, looked and not without, with_report,
           f"no evaluation report: {some(without)}" if looked else
           "no version's run could be looked at" if any(m.versions for m in ev.models) else
           "no model version to report on", step)


criterion("eval-reports", 3, "gates", "Every model version has an evaluation report")(_reports)


def _rollback(ev: Evidence, f: Finding) -> None:
    if _unread(ev, f, ev.models):
        return
    assert ev.models is not None
    done = [f"{m.name} v{v.version} ({', '.join(v.rollback_tags)})"
            for m in ev.models for v in m.versions if v.rollback_tags]
    if done:
        f.evidence.append(f"rollbacks recorded: {some(done)}")
    # mutation-equivalent: None for False: neither is partly.
    _grade(f, done, False, "no rollback recorded on any model version",
           Step("Practise the rollback once", f"nbmlops rollback {_q(_model_name(ev))}"))


criterion("rollback", 3, "registry", "Rollback has been exercised")(_rollback)


def _drift_fails(ev: Evidence, f: Finding) -> None:
    f.evidence.append(f"drift mode: {ev.drift_mode}")
    warn = ev.drift_mode == "warn"
    _grade(f, ev.drift_mode == "fail", warn, "drift is reported, not enforced: a job keeps "
           "training on drifted data" if warn else "drift checks are off",
           Step("Make drift stop a scheduled job", 'drift = "fail" in [tool.nbmlops] of '
                "pyproject.toml"))


criterion("drift-fails", 3, "monitoring",
          "A scheduled job stops when its data drifts")(_drift_fails)


def _score_step(ev: Evidence) -> Step:
    """What makes a tracked cell a monitored scoring cell."""
    return Step("Score through nbmlops.load_model in a tracked cell, so each batch is compared "
                "with the model's training data",
                f"model = nbmlops.load_model('{_model_name(ev)}@{store.CHAMPION}') in the "
                "%%track cell that predicts, then nbmlops export the scoring notebook")


def _monitoring(ev: Evidence, f: Finding) -> None:
    alerting = [j.name for j in ev.jobs if j.alerts]
    if alerting:
        f.evidence.append(f"alerts: in the job.yaml of {some(alerting)}")
    if _unread(ev, f, ev.scoring):
        return
    assert ev.scoring is not None
    compared = [s for s in ev.scoring if s.compared]
    if compared:
        f.evidence.append("scoring runs that compared their batch with the model's training "
                          f"data: {len(compared)} of the newest {len(ev.scoring)}, "
                          f"{sum(s.drifted for s in compared)} drifted")
    sent = [(j.name, r.alerts) for j in ev.jobs for r in j.runs if r.alerts]
    if sent:
        f.evidence.append(f"{plural(sum(n for _, n in sent), 'alert')} sent by "
                          f"{some(sorted({name for name, _ in sent}))}")
    scoring_job = next((j for j in ev.jobs if j.monitor and j.folder), None)
    where = f"{scoring_job.folder}/job.yaml" if scoring_job else "the scoring job's job.yaml"
    _grade(f, compared and (alerting or sent), compared or alerting or sent,
           [m for m, lacking in (
               ("no scoring run compared its batch with a reference", not compared),
               ("no scoring job sends alerts (alerts: in its job.yaml)", not (alerting or sent)))
            if lacking],
           _score_step(ev) if not compared else
           Step("Send an alert when a batch drifts",
                f"add `alerts: [{{webhook: ${{ALERT_WEBHOOK}}}}]` to {where}"))


criterion("monitoring", 3, "monitoring",
          "Scoring is compared with the training data, and alerts go out")(_monitoring)


# -- level 4 (the part nbmlops can see) -----------------------------------------------------


def _lineage(ev: Evidence, f: Finding) -> None:
    if _unread(ev, f, ev.models):
        return
    assert ev.models is not None
    versions = [(m, v) for m in ev.models for v in m.versions]
    traced = [(m, v) for m, v in versions if v.data and v.run_id]
    if versions:
        f.evidence.append(f"{len(traced)} of {plural(len(versions), 'version')} name the data "
                          "they were trained on")
    _grade(f, versions and len(traced) == len(versions), traced,
           "versions without their data: " + some(
               [f"{m.name} v{v.version}" for m, v in versions if (m, v) not in traced])
           if versions else "no registered model version",
           Step("Register models from tracked cells that read their data",
                f"%%track train --model model={_model_name(ev)}"))


criterion("lineage", 4, "monitoring", "Model versions trace back to their data")(_lineage)


def _reproduced(ev: Evidence, f: Finding) -> None:
    if _unread(ev, f, ev.runs):
        return
    assert ev.runs is not None
    runs = ev.runs
    step = Step("Reproduce the champion's run", "nbmlops reproduce RUN_ID")
    if runs.reproduced:  # met, and what did not reproduce is still said
        f.evidence.append(f"{plural(runs.reproduced, 'run')} reproduced")
        if runs.not_reproduced:
            f.missing.append(f"{plural(runs.not_reproduced, 'run')} did not reproduce")
    _grade(f, runs.reproduced, runs.not_reproduced, f"{plural(runs.not_reproduced, 'reproduction')}"
           ", none gave the run back" if runs.not_reproduced else "no run has been reproduced",
           step)


criterion("reproduced", 4, "tracking", "Runs are reproduced on demand")(_reproduced)


def _retrain(ev: Evidence, f: Finding) -> None:
    configured = [j for j in ev.jobs if j.retrain]
    for j in configured:
        f.evidence.append(f"job {j.name} retrains {j.retrain} when its policy says so")
    if _unread(ev, f, ev.runs):
        return
    decided = [(j, r) for j in ev.jobs for r in j.runs if r.decision]
    if decided:
        f.evidence.append(f"{plural(len(decided), 'scoring job run')} decided: "
                          f"{tally([str(r.decision) for _, r in decided])}")
    started = [f"{r.retrain_run[:8]} ({r.outcome or 'no outcome yet'})"
               for _, r in decided if r.retrain_run]
    if started:
        f.evidence.append(f"retraining runs started: {some(started)}")
    quiet = [j for j in configured if not any(r.decision for r in j.runs)]
    scoring = next((j for j in ev.jobs if j.monitor and j.folder), None)
    _grade(f, configured and not quiet, configured or decided,
           f"no run of {some([j.name for j in quiet])} decided about retraining yet"
           if configured else "no scoring job has retrain: in its job.yaml",
           Step(f"Run the scoring job {quiet[0].name}", f"nbmlops run {_q(quiet[0].folder)}")
           if quiet else
           Step("Let drift retrain the model",
                "add `retrain: {job: jobs/TRAINING_JOB, on: drift, cooldown: 7d}` to "
                + (f"{scoring.folder}/job.yaml" if scoring else "the scoring job's job.yaml")))


criterion("retrain-on-drift", 4, "monitoring", "Drift retrains the model")(_retrain)


def _shadow(ev: Evidence, f: Finding) -> None:
    configured = [j for j in ev.jobs if j.shadow]
    for j in configured:
        f.evidence.append(f"job {j.name} also scores with @{j.shadow}, never served (shadow)")
    if _unread(ev, f, ev.scoring):
        return
    shadowed = [s for s in ev.scoring or [] if s.shadow]
    for s in shadowed[:3]:
        f.evidence.append(f"run {s.run_id[:8]} scored {s.model} v{s.version or '?'} and, in "
                          f"its shadow, @{s.shadow}")
    scoring = next((j for j in ev.jobs if j.monitor and j.folder), None)
    _grade(f, shadowed, configured,
           f"no run of {some([j.name for j in configured])} has scored in shadow yet"
           if configured else
           "no scoring job scores a challenger beside the champion",
           Step(f"Run the scoring job {configured[0].name}",
                f"nbmlops run {_q(configured[0].folder)}") if configured else
           Step("Score the challenger in the shadow of the champion",
                f"add `shadow: {store.CHALLENGER}` under `monitor:` in "
                + (f"{scoring.folder}/job.yaml" if scoring else "the scoring job's job.yaml")))


criterion("shadow", 4, "monitoring",
          "A challenger is scored in the shadow of the champion")(_shadow)


def _prediction_lineage(ev: Evidence, f: Finding) -> None:
    if _unread(ev, f, ev.scoring) or _unread(ev, f, ev.models):
        return
    # mutation-equivalent: `or` for `and`: _unread returned when either is None.
    assert ev.scoring is not None and ev.models is not None
    versions = {(m.name, v.version): v for m in ev.models for v in m.versions}
    named = [s for s in ev.scoring if s.version]
    traced = []  # (the scoring run, its version) where the version names its run and data
    for s in named:
        v = versions.get((s.model, s.version))
        if v is not None and v.run_id and v.data:
            traced.append((s, v))
    if traced:
        s, v = traced[0]
        f.evidence.append(f"scoring run {s.run_id[:8]} -> {s.model} v{s.version} -> training "
                          f"run {str(v.run_id)[:8]} -> its data")
    if named:
        f.evidence.append("scoring runs that trace to the data their model was trained on: "
                          f"{len(traced)} of the newest {len(named)}")
    found = [s for s, _ in traced]
    lost = sorted({f"{s.model} v{s.version}" for s in named if s not in found})
    _grade(f, named and not lost, named,
           f"scored versions without their training data: {some(lost)}" if named else
           "no scoring run names the model version it used",
           Step("Register models from tracked cells that read their data",
                f"%%track train --model model={_model_name(ev)}") if named else _score_step(ev))


criterion("prediction-lineage", 4, "monitoring",
          "A prediction traces back to the data that trained its model")(_prediction_lineage)
