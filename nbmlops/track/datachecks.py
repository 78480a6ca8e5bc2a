"""The data checks of one tracked cell: profiles, declared expectations, drift.

The tracker calls this at three points of a cell (see :mod:`nbmlops.track.tracker`):

1. :meth:`CellChecks.start`, before the code runs: profile the data the cell reads, as it
   reads it (the same moment its fingerprints are taken);
2. :meth:`CellChecks.fill`, while the record is built: profile the data it wrote, store
   each profile as the artifact ``data/<name>.json`` with a summary on the dataset, check
   ``%%track --expect`` declarations, compare with the cell's previous successful run
   (``data/drift.json``, tags ``nbmlops.drift`` / ``nbmlops.schema_change``) and decide
   whether the run fails;
3. :meth:`CellChecks.after_commit`, once the record is spooled: show the alert under the
   cell and, if the run succeeded, make its profiles the cell's next baseline.

Profiles, drift and expectations are pure modules (:mod:`nbmlops.data.profiles`,
:mod:`nbmlops.data.drift`, :mod:`nbmlops.data.expectations`); this one holds the state and I/O of a
cell. A cell that reads no data pays nothing here. A profile is cached by the data's
fingerprint, so a frame read by ten cells is profiled once.
"""

from __future__ import annotations

import html
import json
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbmlops import config, redact, store
from nbmlops.data import drift, expectations, profiles
from nbmlops.exceptions import NbmlopsError
from nbmlops.record import DataRecord, RunRecord
from nbmlops.sync.spool import Spool, Staging
from nbmlops.track.baselines import Baseline, ProfileStore, data_key

__all__ = ["CellChecks", "DataAlert", "DataCheckError", "profile_store"]

#: Dataset kinds that have a column-wise profile.
PROFILED_KINDS = frozenset(
    {"dataframe", "series", "ndarray", "arrow-table", "arrow-array", "polars-dataframe",
     "polars-series"}
)
_CACHE_SIZE = 64
_cache: OrderedDict[str, dict[str, Any]] = OrderedDict()


class DataCheckError(NbmlopsError):
    """A tracked cell's data failed its checks: drift with ``--drift fail``, or declared
    ``--expect`` expectations not met. Raised (shown) after the cell's code ran; the
    variables the cell set are kept."""

    def _render_traceback_(self) -> list[str]:
        # IPython shows this instead of a traceback: the alert above says what changed,
        # and nbmlops' own frames would only hide it.
        return [f"DataCheckError: {self}"]


def profile_store(spool_root: Path) -> ProfileStore:
    """Where the baselines of a spool's cells live (see :mod:`nbmlops.track.baselines`)."""
    return ProfileStore(Spool(spool_root).profiles)


@dataclass
class CellChecks:
    """The data checks of one tracked cell, from start to spooled record."""

    drift_mode: str | None = None  # the cell's --drift, else the project's setting
    expect: list[tuple[str | None, str]] = field(default_factory=list)  # --expect [NAME=]PATH
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)  # data_key -> profile
    fingerprints: dict[str, str] = field(default_factory=dict)
    results: list[expectations.Result] = field(default_factory=list)  # nbmlops.expect() calls
    declared: list[expectations.Result] = field(default_factory=list)  # --expect files
    comparisons: list[drift.Comparison] = field(default_factory=list)
    baseline: Baseline | None = None
    failure: DataCheckError | None = None
    alert: DataAlert | None = None

    # -- before the code runs ------------------------------------------------------------

    def start(self, inputs: list[DataRecord], ns: Mapping[str, Any]) -> None:
        """Profile the data the cell reads; from now on ``nbmlops.expect`` calls report here."""
        expectations._active.append(self.results)
        self._profile(inputs, ns)

    def close(self) -> None:
        """The cell's code is over: ``nbmlops.expect`` no longer reports here."""
        if self.results in expectations._active:
            expectations._active.remove(self.results)

    # -- while the record is built -------------------------------------------------------

    def fill(
        self,
        record: RunRecord,
        staging: Staging,
        ns: Mapping[str, Any],
        *,
        root: Path,
        spool_root: Path,
        stable_name: bool,
        code_failed: bool,
    ) -> None:
        """Profile the outputs and put every check into the record and its artifacts."""
        self._profile([d for d in record.datasets if d.context == "output"], ns)
        for data in record.datasets:
            key = data_key(data.context, data.name)
            prof = self.profiles.get(key)
            if prof is None:
                continue
            path = profiles.artifact_path(data.name, data.context)
            body = {"name": data.name, "context": data.context,
                    "fingerprint": data.fingerprint, **prof}
            staging.write_text(path, json.dumps(body, indent=1))
            # Only what the data itself says: MLflow keeps one dataset entry per name and
            # digest in an experiment, shared by every run that logs the same data.
            data.profile = profiles.summary(prof)

        if self.expect and not code_failed:
            self._check_declared(record, ns)
        checked = [*self.results, *self.declared]
        if checked:
            staging.write_text(
                store.EXPECTATIONS_ARTIFACT, json.dumps([r.to_dict() for r in checked], indent=1)
            )
            failed = [r for r in checked if not r.ok]
            record.tags[store.EXPECTATIONS_TAG] = _cut(
                "passed" if not failed else "failed: " + "; ".join(r.message() for r in failed)
            )

        mode = self.drift_mode or config.drift_mode(root)
        # A cell known only by its execution count (a plain IPython session) has no
        # previous run to compare with: the same count names another cell next session.
        if mode != "off" and self.profiles and stable_name:
            self._compare(record, staging, mode, root, spool_root)

        reasons = [r.message(limit=3) for r in self.declared if not r.ok]
        found = [c for c in self.comparisons if c.findings]
        if mode == "fail" and found:
            lines = drift.alert_lines(found, limit=3)
            reasons.append("data changed since the last successful run (--drift fail): "
                           + "; ".join(lines))
        if reasons and not code_failed:
            self.failure = DataCheckError(" | ".join(reasons))
            record.outcome.status = "FAILED"
            record.outcome.error_type = "DataCheckError"
            record.outcome.error_message = str(self.failure)
        self.alert = self._alert(mode)

    # -- once the record is spooled ------------------------------------------------------

    def after_commit(self, record: RunRecord, spool_root: Path, *, stable_name: bool) -> None:
        """Show the alert; make this run the cell's baseline when it succeeded."""
        if self.alert is not None:
            self.alert.display()
        if record.outcome.status == "FINISHED" and self.profiles and stable_name:
            profile_store(spool_root).save(
                record.tracking_uri, record.experiment, record.run_name,
                record_id=record.record_id, profiles=self.profiles,
                fingerprints=self.fingerprints,
            )

    # -- pieces --------------------------------------------------------------------------

    def _profile(self, datasets: list[DataRecord], ns: Mapping[str, Any]) -> None:
        for data in datasets:
            if data.kind not in PROFILED_KINDS or not data.source.startswith("variable:"):
                continue
            obj = ns.get(data.name)
            if obj is None or not profiles.is_profilable(obj):
                continue
            key = data_key(data.context, data.name)
            prof = _cache.get(data.fingerprint)
            if prof is None:
                prof = _cache[data.fingerprint] = _scrub(profiles.profile(obj))
                while len(_cache) > _CACHE_SIZE:
                    _cache.popitem(last=False)
            else:
                _cache.move_to_end(data.fingerprint)
            self.profiles[key] = prof
            self.fingerprints[key] = data.fingerprint

    def _check_declared(self, record: RunRecord, ns: Mapping[str, Any]) -> None:
        frames = list(dict.fromkeys(
            d.name for d in reversed(record.datasets)
            if d.kind in ("dataframe", "series") and d.source.startswith("variable:")
        ))
        for name, path in self.expect:
            try:
                spec = expectations.load_spec(path)
                target = name or spec.get("name")
                if target is None:
                    if len(frames) != 1:
                        found = ", ".join(frames) or "none"
                        raise expectations.ExpectationError(
                            f"--expect {path}: which data? the cell has these frames: {found}; "
                            f"say --expect NAME={path} or put \"name\" in the file"
                        )
                    target = frames[0]
                if target not in ns:
                    raise expectations.ExpectationError(
                        f"--expect {path}: no variable {target!r} after the cell ran"
                    )
                self.declared.append(
                    expectations.check(ns[target], spec, name=str(target), source=path)
                )
            except expectations.ExpectationError as e:
                result = expectations.Result(name=str(name or "data"), source=path, rows=0)
                result.failures.append(expectations.Failure(None, str(e), 1))
                self.declared.append(result)

    def _compare(
        self, record: RunRecord, staging: Staging, mode: str, root: Path, spool_root: Path
    ) -> None:
        baseline = profile_store(spool_root).load(
            record.tracking_uri, record.experiment, record.run_name
        )
        if baseline is None:
            return
        self.baseline = baseline
        thresholds = drift.Thresholds(**config.drift_thresholds(root))
        for key, prof in self.profiles.items():
            before = baseline.profiles.get(key)
            if before is None:
                continue
            context, name = key.split(":", 1)
            if baseline.fingerprints.get(key) == self.fingerprints.get(key):
                self.comparisons.append(drift.Comparison(
                    name, context, rows=(prof["rows"], prof["rows"]), unchanged=True
                ))
                continue
            self.comparisons.append(
                drift.compare(before, prof, thresholds, name=name, context=context)
            )
        if not self.comparisons:
            return
        report = drift.report(
            self.comparisons, mode=mode, thresholds=thresholds, baseline=baseline.about()
        )
        staging.write_text(store.DRIFT_ARTIFACT, json.dumps(report, indent=1))
        record.tags[store.DRIFT_TAG] = drift.summary_text(
            self.comparisons, ("rows", "nulls", "distribution")
        )
        record.tags[store.SCHEMA_CHANGE_TAG] = drift.summary_text(self.comparisons, ("schema",))
        record.tags[store.DRIFT_BASELINE_TAG] = baseline.record_id

    def _alert(self, mode: str) -> DataAlert | None:
        sections = []
        found = [c for c in self.comparisons if c.findings]
        if found and self.baseline is not None:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.baseline.created))
            sections.append((
                f"data changed since the last successful run of {self.baseline.run_name} "
                f"({when}, --drift {mode})",
                drift.alert_lines(found),
            ))
        for result in [*self.results, *self.declared]:
            if not result.ok:
                sections.append((
                    f"{result.name} does not meet {result.source}",
                    [str(f) for f in result.failures[:8]],
                ))
        return DataAlert(sections) if sections else None


class DataAlert:
    """The short alert shown under a cell whose data changed or failed its expectations."""

    def __init__(self, sections: list[tuple[str, list[str]]]) -> None:
        self.sections = sections

    def __repr__(self) -> str:
        lines = []
        for title, items in self.sections:
            lines.append(f"nbmlops ⚠ {title}:")
            lines.extend(f"  {item}" for item in items)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        parts = []
        for title, items in self.sections:
            rows = "".join(f"<li>{html.escape(item)}</li>" for item in items)
            parts.append(
                f"<div><b>nbmlops ⚠ {html.escape(title)}</b>"
                f'<ul style="margin: 0.2em 0 0.2em 1.2em; padding: 0">{rows}</ul></div>'
            )
        return (
            '<div class="nbmlops-alert" style="font-family: var(--jp-code-font-family, '
            "monospace); font-size: 0.85em; border-left: 3px solid #e0a000; "
            'padding: 0.2em 0.6em">' + "".join(parts) + "</div>"
        )

    def display(self) -> None:
        from IPython.display import display

        display(self)


def _scrub(prof: dict[str, Any]) -> dict[str, Any]:
    """Keep secrets out of a profile: columns named like secrets keep only counts, and
    top values that look like credentials are redacted."""
    for col in prof.get("columns", []):
        if redact.is_secret_name(str(col.get("name", ""))):
            for key in ("min", "max", "mean", "std", "quantiles", "top", "length"):
                col.pop(key, None)
        elif "top" in col:
            col["top"] = [
                [redact.redact_value(v) if isinstance(v, str) else v, c] for v, c in col["top"]
            ]
    return prof


def _cut(text: str, limit: int = 480) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
