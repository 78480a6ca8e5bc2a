"""The rollback trigger: a scoring job gives the alias back when its new champion does worse.

After each run of a job with ``rollback:`` (:mod:`nbmlops.monitor.rollback`), and after its
live metrics were measured (:mod:`nbmlops.jobs.run.live`), the rule is judged on the
version holding the alias the job scores with (``champion``) against the one that held it
before (its reign's ``previous`` in the alias history, :mod:`nbmlops.models.aliases`), each
on its live metrics measured while served. When it holds, the alias moves back with
``nbmlops rollback``'s own move (:func:`nbmlops.models.promotion.rollback`), the job's run
is tagged ``nbmlops.rollback`` with what happened, and an alert of kind ``rollback`` goes
to the job's alert targets (:mod:`nbmlops.jobs.run.alerting`). Otherwise the tag says why
nothing moved.
"""

from __future__ import annotations

from typing import Any

from nbmlops import config, store
from nbmlops.exceptions import ConfigError
from nbmlops.jobs.run import alerting
from nbmlops.jobs.run.after import After
from nbmlops.monitor import alerts, history
from nbmlops.monitor.rollback import Verdict, judge, parse_rule

__all__ = ["roll_back"]

HELD = "held: "


def roll_back(after: After) -> None:
    """The rule judged after the job's run, and the alias moved back when it holds."""
    from nbmlops.models import promotion
    from nbmlops.models.registry import get_model

    if not after.watch.rollback:
        return
    rule = parse_rule(after.watch.rollback)
    runs = history.scoring_runs(after.client, after.job.name, after.watch.model)
    if not runs:
        return
    name = after.watch.model or runs[-1].model
    alias = next((r.alias for r in reversed(runs) if r.model == name), None)
    if alias is None:
        _held(after, f"the job scores {name} by version, not by alias: nothing to roll back")
        return
    model = get_model(after.client, name)
    current = model.version(model.aliases.get(alias, ""))
    if current is None:
        _held(after, f"no version of {name} holds {alias}")
        return
    reigns = current.history.get(alias) or [{}]
    reign = reigns[-1]
    if reign.get("how") != "promoted" or reign.get("until"):
        _held(after, f"v{current.version} holds {alias} by {reign.get('how') or 'no record'}, "
                     "not by a promotion: the rule judges a newly promoted one")
        return
    previous = reign.get("previous")
    before = model.version(str(previous)) if previous else None
    verdict = judge(rule, current.version, _served(current),
                    str(previous) if previous else None, _served(before) if before else None)
    if not verdict.rollback:
        _held(after, verdict.reason)
        return
    done = promotion.rollback(after.client, name, str(previous), alias=alias,
                              by=f"job {after.job.name}")
    line = f"{done.summary()}: {verdict.reason}"
    after.client.set_tag(after.job_run_id, store.ROLLBACK_TAG, line[:store.MAX_TAG_VALUE])
    after.say(f"nbmlops: {line}")
    _alert(after, name, alias, done.from_version, done.to_version, verdict)


def _served(version: Any) -> dict[str, float]:
    """A version's live metrics when they were measured while it served (not in shadow)."""
    if not version.tags.get(store.LIVE_MEASURED_TAG, "").startswith("served"):
        return {}
    return dict(version.live)


def _held(after: After, reason: str) -> None:
    after.client.set_tag(after.job_run_id, store.ROLLBACK_TAG,
                         (HELD + reason)[:store.MAX_TAG_VALUE])


def _alert(after: After, name: str, alias: str, from_version: str, to_version: str,
           verdict: Verdict) -> None:
    run = after.client.get_run(after.job_run_id)
    alert = alerts.Alert(
        f"{name}@{alias} rolled back from v{from_version} to v{to_version}",
        [verdict.reason, f"job {after.job.name}, run {after.job_run_id}"],
        url=config.run_url(after.where.ui_url, run.info.experiment_id, after.job_run_id),
        kind="rollback",
        facts={"model": name, "alias": alias, "from": from_version, "to": to_version},
    )
    try:
        targets = alerting.targets(after.watch, config.project_root(after.folder))
    except ConfigError as e:  # changed since the start: the rollback is recorded all the same
        after.say(f"nbmlops: warning: alerts go nowhere: {e}")
        targets = []
    alerting.send(after, alert, targets)
