"""What a scoring job watches and what it does about it: ``monitor:``, ``alerts:``,
``retrain:`` and ``rollback:`` in its job.yaml.

.. code-block:: yaml

    monitor:
      model: churn               # the registered model it scores with (default: the one the
                                 #   tracked cell loads with nbmlops.load_model)
      input: batch               # the frame it scores (default: found, see track/scoring.py)
      predictions: preds         # what predict returned (default: found)
      labels: {...}              # true labels arriving later (nbmlops.monitor.labels)
      segments: [plan, region]   # live metrics per value of these columns too
      shadow: challenger         # also score the batch with this alias, never served
    alerts: [...]                # where alerts go (nbmlops.monitor.alerts)
    retrain: {...}               # when drift retrains (nbmlops.monitor.policy)
    rollback: live_auc < previous_champion * 0.9

job.yaml keeps these tables as written (``${SECRET}`` stays a name until an alert is sent);
:func:`parse` reads them into :class:`Watch`, failing on the first thing wrong, so a typo
fails the export or the run's start, never a run half done. Pure: tables in, settings out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbmlops.exceptions import ConfigError
from nbmlops.monitor.alerts import Target, parse_targets
from nbmlops.monitor.policy import RetrainPolicy, parse_retrain
from nbmlops.monitor.rollback import parse_rule

if TYPE_CHECKING:  # labels brings pandas: read only when a job has labels:
    from nbmlops.monitor.labels import LabelSource

__all__ = ["SECTIONS", "Watch", "of_job_notebook", "parse"]

#: The job.yaml keys this module reads.
SECTIONS = ("monitor", "alerts", "retrain", "rollback")
_MONITOR_KEYS = {"model", "input", "predictions", "labels", "segments", "shadow"}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Watch:
    """A scoring job's monitoring settings, parsed."""

    model: str | None = None
    input: str | None = None  # a variable of the scoring cell
    predictions: str | None = None  # a variable of the scoring cell
    labels: LabelSource | None = None
    segments: Sequence[str] = ()
    shadow: str | None = None  # an alias
    alerts: Sequence[Target] = ()
    retrain: RetrainPolicy | None = None
    rollback: str | None = None  # the rule's text
    raw: Mapping[str, Any] = field(default_factory=dict)  # the tables as job.yaml has them

    @property
    def configured(self) -> bool:
        return bool(self.raw)


def parse(tables: Mapping[str, Any]) -> Watch:
    """``{"monitor": ..., "alerts": ..., "retrain": ..., "rollback": ...}`` (absent or None
    where a job does not use one) into a :class:`Watch`; ConfigError naming the first thing
    wrong."""
    raw = {k: tables[k] for k in SECTIONS if tables.get(k) is not None}
    table = raw.get("monitor") or {}
    if not isinstance(table, Mapping):
        raise ConfigError("monitor: must be a table (model, input, predictions, labels, "
                          "segments, shadow)")
    unknown = sorted(set(table) - _MONITOR_KEYS)
    if unknown:
        raise ConfigError(f"monitor: unknown key {unknown[0]!r} (known: "
                          f"{', '.join(sorted(_MONITOR_KEYS))})")
    for key in ("input", "predictions"):
        value = table.get(key)
        if value is not None and not (isinstance(value, str) and _NAME.fullmatch(value)):
            raise ConfigError(f"monitor: {key} must name a variable of the scoring cell "
                              f"(got {value!r})")
    for key in ("model", "shadow"):
        value = table.get(key)
        if value is not None and not (isinstance(value, str) and value.strip()):
            raise ConfigError(f"monitor: {key} must be a name (got {value!r})")
    segments = table.get("segments") or []
    if isinstance(segments, str):
        segments = [segments]
    if not isinstance(segments, list) or not all(isinstance(s, str) for s in segments):
        raise ConfigError("monitor: segments must be a list of column names")
    rollback = raw.get("rollback")
    if rollback is not None and not (isinstance(rollback, str) and rollback.strip()):
        raise ConfigError("rollback: must be a rule such as "
                          "'live_auc < previous_champion * 0.9'")
    if rollback is not None:
        parse_rule(rollback)  # a bad rule fails the export or the run's start
    source = None
    if table.get("labels"):
        from nbmlops.monitor.labels import parse_labels

        source = parse_labels(table["labels"])
    return Watch(
        model=table.get("model"),
        input=table.get("input"),
        predictions=table.get("predictions"),
        labels=source,
        segments=tuple(segments),
        shadow=table.get("shadow"),
        alerts=tuple(parse_targets(raw.get("alerts"))),
        retrain=parse_retrain(raw["retrain"]) if "retrain" in raw else None,
        rollback=rollback.strip() if isinstance(rollback, str) else None,
        raw=raw,
    )


def of_job_notebook(notebook: str | Path, job: str) -> Watch | None:
    """In a job's kernel: the settings of job ``job`` whose ``notebook`` runs (its job.yaml is
    in the notebook's folder or one above it); None when there is none or it does not read
    (``nbmlops run`` checked it before the kernel started)."""
    import yaml

    for folder in list(Path(notebook).resolve().parents)[:3]:
        path = folder / "job.yaml"
        if not path.is_file():
            continue
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            if isinstance(data, Mapping) and data.get("name") == job:
                return parse(data)
        except (OSError, ValueError, yaml.YAMLError, ConfigError):
            return None
    return None
