"""The warning signs an assessment lists beside the criteria: knowledge held by one person,
evaluation a human must remember, versions never rolled back, feature code without tests,
notebooks run out of order. Each names where it was found. Pure: evidence in, flags out.
"""

from __future__ import annotations

from dataclasses import dataclass

from nbmlops import store
from nbmlops.assess.evidence import SLICE_STALE, Evidence, NotebookFacts
from nbmlops.assess.wording import plural, some


@dataclass
class RedFlag:
    id: str
    title: str
    where: str
    detail: str


def red_flags(ev: Evidence) -> list[RedFlag]:
    """The warning signs, each with where it was found."""
    flags: list[RedFlag] = []
    flags += _one_person(ev)  # mutation-equivalent: `=`; flags is empty before.
    flags += _manual_evaluation(ev)
    flags += _no_rollback(ev)
    if ev.code.untested:
        for item in ev.code.untested[:10]:
            path, _, name = item.rpartition(":")
            flags.append(RedFlag("untested-features", "Feature code without tests", path,
                                 f"{name}() transforms features and no test names it"))
    flags += _out_of_order(ev.notebooks)
    if ev.runs and ev.runs.stale:
        for source in ev.runs.stale[:10]:
            flags.append(RedFlag("out-of-order", "Notebook state out of order", source,
                                 f"a run's inputs came from edited or out-of-order cells "
                                 f"(tag {store.SLICE_TAG} = {SLICE_STALE})"))
    return flags


def _one_person(ev: Evidence) -> list[RedFlag]:
    flags = []
    git_has = {nb.path for nb in ev.notebooks if nb.in_git}
    for m in ev.models or []:
        runs = [v for v in m.versions if v.run_id]
        users = {v.user for v in runs if v.user}
        notebooks = {v.notebook for v in runs if v.notebook}
        if runs and len(users) <= 1 and not any(v.from_job for v in runs):
            who = next(iter(users), "one person")
            if len(notebooks) == 1:
                nb = next(iter(notebooks))
                where, source = nb, f" from {nb}" + ("" if nb in git_has else " (not in git)")
            else:
                where, source = f"model {m.name}", ""
            flags.append(RedFlag(
                "one-person", "Knowledge held by one person", where,
                f"every version of model {m.name} was trained by {who}{source}, never by a job"))
    if not ev.models and ev.runs and ev.runs.read and len(ev.runs.users) == 1 \
            and not ev.runs.from_jobs:
        who = next(iter(ev.runs.users))
        nbs = sorted(ev.runs.notebooks)
        outside = [nb for nb in nbs if nb not in git_has]
        flags.append(RedFlag(
            "one-person", "Knowledge held by one person", some(nbs) or ev.root,
            f"all {ev.runs.cells} newest runs are {who}'s, none from a job"
            + (f"; not in git: {some(outside)}" if outside else "")))
    return flags


def _manual_evaluation(ev: Evidence) -> list[RedFlag]:
    if not ev.runs or not ev.runs.with_metrics:
        return []
    if any(r.metrics for j in ev.jobs for r in j.runs if r.status == "FINISHED"):
        return []
    counts = ev.runs.metric_notebooks
    where = sorted(counts, key=lambda k: -counts[k])
    return [RedFlag("manual-evaluation", "Evaluation a human must remember to run",
                    some(where) or ev.root,
                    f"{ev.runs.with_metrics} runs logged metrics, and no job run ever did")]


def _no_rollback(ev: Evidence) -> list[RedFlag]:
    flags = []
    for m in ev.models or []:
        if len(m.versions) >= 2 and not any(v.rollback_tags for v in m.versions):
            champion = m.aliases.get(store.CHAMPION)
            flags.append(RedFlag(
                "no-rollback", "Model versions without a tested rollback", f"model {m.name}",
                f"{plural(len(m.versions), 'version')}"
                + (f", champion v{champion}" if champion else "")
                + "; a rollback has never been exercised"))
    return flags


def _out_of_order(notebooks: list[NotebookFacts]) -> list[RedFlag]:
    return [
        RedFlag("out-of-order", "Notebook executed out of order", nb.path,
                f"cell{'s' if len(nb.out_of_order) > 1 else ''} "
                f"{some([str(i) for i in nb.out_of_order], 5)} ran before a cell above "
                "(execution counts go back)")
        for nb in notebooks if nb.out_of_order
    ]
