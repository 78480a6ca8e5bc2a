"""Alerts a scoring job's monitoring steps send, and the record of them on the job's run.

The targets are job.yaml's ``alerts:``, else the project's ``[tool.nbmlops.alerts]``. Every
alert sent is added to the job run's :data:`nbmlops.store.ALERTS_TAG` (kind, title, when, and
each target's delivery, never a secret), after the alerts other steps recorded.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nbmlops import config, store
from nbmlops.exceptions import ConfigError
from nbmlops.jobs.run.after import After
from nbmlops.monitor import alerts
from nbmlops.monitor.settings import Watch

__all__ = ["send", "targets"]


def targets(watch: Watch, root: Path) -> list[alerts.Target]:
    """The job's ``alerts:``, else the project's ``[tool.nbmlops.alerts]``."""
    if watch.alerts:
        return list(watch.alerts)
    try:
        return alerts.parse_targets(config.alert_entries(root))
    except ConfigError as e:
        raise ConfigError(f"[tool.nbmlops] {e}") from None


def send(after: After, alert: alerts.Alert, targets: Sequence[alerts.Target]) -> None:
    """Send ``alert`` and add it, with each target's delivery, to the job run's alerts."""
    deliveries = alerts.send(alert, targets)
    entry = {"kind": alert.kind, "title": alert.title, "at": after.now.isoformat(
        timespec="seconds"), "deliveries": [vars(d) for d in deliveries]}
    tags = after.client.get_run(after.job_run_id).data.tags
    try:
        recorded = json.loads(tags.get(store.ALERTS_TAG, "[]"))
    except ValueError:
        recorded = []
    recorded = [*(recorded if isinstance(recorded, list) else []), entry]
    after.client.set_tag(after.job_run_id, store.ALERTS_TAG, _fit(recorded))
    delivered = sum(d.delivered for d in deliveries)
    after.say(f"nbmlops: alert ({alert.kind}): {alert.title} -> delivered to {delivered} of "
              f"{len(deliveries)} target(s)")
    for d in deliveries:
        if not d.delivered:
            after.say(f"nbmlops: warning: alert not delivered to {d.target} after "
                      f"{d.attempts} attempt(s): {d.error}")


def _fit(entries: list[Any]) -> str:
    """The alerts as JSON within a tag's size: long errors are cut first, then titles."""
    text = json.dumps(entries)
    for entry in entries:
        if len(text) <= store.MAX_TAG_VALUE:
            break
        entry["title"] = str(entry.get("title", ""))[:200]
        for d in entry.get("deliveries", []):
            d["error"] = str(d.get("error", ""))[:200]
        text = json.dumps(entries)
    return text if len(text) <= store.MAX_TAG_VALUE else json.dumps(entries[-20:])
