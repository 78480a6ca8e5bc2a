"""What differs between two or more runs: params, metrics (which value is better), data
versions, package versions and the cell's code.

Pure: it takes :class:`nbmlops.runs.entities.RunDetails` already read from MLflow (see
:func:`nbmlops.runs.query.diff_runs`) and returns plain dataclasses. The first run is the
baseline that code diffs are made against.
"""

from __future__ import annotations

import difflib
import fnmatch
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from nbmlops import store
from nbmlops.runs.artifacts import images
from nbmlops.track import direction
from nbmlops.track.direction import Direction

if TYPE_CHECKING:
    from nbmlops.runs.entities import DriftAlert, RunDetails, RunSummary

DataStatus = Literal["same", "changed", "missing"]


def metric_direction(
    name: str, configured: Mapping[str, str] | None = None,
    recorded: Mapping[str, str] | None = None,
) -> Direction | None:
    """``"min"`` when a lower value of metric ``name`` is better, ``"max"`` when higher is,
    None when nothing tells.

    ``configured`` (``[tool.nbmlops] metric_directions``) maps names or shell-style globs to
    ``"min"``/``"max"`` and wins; an exact name wins over a glob. Then ``recorded``: what the
    code that computed the metric said, as the runs recorded it (:func:`recorded_directions`;
    ``score = mean_squared_error(...)`` is ``min``). Then the name
    (:func:`nbmlops.track.direction.of_name`; scikit-learn's ``neg_`` scorers are
    higher-is-better).
    """
    for pattern, value in _configured_order(configured or {}):
        if fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(name.lower(), pattern):
            return _checked(value, pattern)
    said = (recorded or {}).get(name)
    if said in ("min", "max"):
        return said  # type: ignore[return-value]
    return direction.of_name(name)


def recorded_directions(runs: Sequence[RunSummary]) -> dict[str, str]:
    """The direction each metric's code gave it, from the runs' tags; the newest run that
    says wins (its code is the one being compared against)."""
    found: dict[str, str] = {}
    newest_first = sorted(runs, key=lambda r: r.start_time or 0, reverse=True)
    for run in newest_first:
        for key, value in run.tags.items():
            if key.startswith(store.DIRECTION_TAG_PREFIX) and value in ("min", "max"):
                found.setdefault(key[len(store.DIRECTION_TAG_PREFIX):], value)
    return found


def _configured_order(configured: Mapping[str, str]) -> list[tuple[str, str]]:
    exact = [(k, v) for k, v in configured.items() if not any(c in k for c in "*?[")]
    globs = [(k, v) for k, v in configured.items() if any(c in k for c in "*?[")]
    return exact + globs


def _checked(direction: str, pattern: str) -> Direction:
    value = direction.strip().lower()
    if value in ("min", "lower", "minimize"):
        return "min"
    if value in ("max", "higher", "maximize"):
        return "max"
    raise ValueError(f"metric direction for {pattern!r} must be 'min' or 'max', not {direction!r}")


# --- the rows of a diff --------------------------------------------------------------------


@dataclass
class ParamRow:
    name: str
    values: list[str | None]  # one per run; None: the run has no such param
    differs: bool


@dataclass
class MetricRow:
    name: str
    values: list[float | None]
    direction: Direction | None
    best: list[int] = field(default_factory=list)  # indexes of the runs with the better value

    @property
    def differs(self) -> bool:
        return len({_key(v) for v in self.values}) > 1


@dataclass
class DataRow:
    """One dataset, by name and role (``input`` / ``output``), across the runs."""

    name: str
    context: str
    fingerprints: list[str | None]
    status: DataStatus  # same: everywhere, equal; changed: everywhere, not equal; missing
    #: Per run, the data checks' alert lines for this data (drift since that run's baseline).
    drift: list[list[str]] = field(default_factory=list)


@dataclass
class PackageRow:
    name: str  # a distribution, or "python"
    versions: list[str | None]


@dataclass
class CodeDiff:
    """The cell's code of ``run_id`` against the baseline's; ``diff`` is a unified diff,
    empty when the code is the same."""

    run_id: str
    baseline_run_id: str
    same: bool
    diff: str
    missing: bool = False  # one of the two runs has no code/cell.py


@dataclass
class ImageRow:
    """One image (a figure, by its artifact path) across the runs."""

    path: str
    present: list[bool]  # one per run


@dataclass
class RunDiff:
    runs: list[RunSummary]
    params: list[ParamRow]
    metrics: list[MetricRow]
    data: list[DataRow]
    packages: list[PackageRow]  # only packages whose versions differ
    code: list[CodeDiff]  # runs[1:] against runs[0]
    images: list[ImageRow] = field(default_factory=list)

    @property
    def changed_params(self) -> list[ParamRow]:
        return [p for p in self.params if p.differs]


def compare(details: Sequence[RunDetails], directions: Mapping[str, str] | None = None) -> RunDiff:
    """The diff of the runs in ``details`` (two or more), the first one the baseline."""
    runs = [d.run for d in details]
    return RunDiff(
        runs=runs,
        params=param_rows(runs),
        metrics=metric_rows(runs, directions),
        data=data_rows(runs, [d.drift for d in details]),
        packages=package_rows(details),
        code=[code_diff(details[0], d) for d in details[1:]],
        images=image_rows(details),
    )


def image_rows(details: Sequence[RunDetails]) -> list[ImageRow]:
    """Every image artifact of any run, the figures first, with the runs that have it."""
    per_run = [set(d.images) for d in details]
    return [ImageRow(path, [path in found for found in per_run])
            for path in images(set().union(*per_run))]


def param_rows(runs: Sequence[RunSummary]) -> list[ParamRow]:
    """Every param of any run; the ones that differ first, each group by name."""
    names = sorted({k for r in runs for k in r.params})
    rows = []
    for name in names:
        values = [r.params.get(name) for r in runs]
        rows.append(ParamRow(name, values, len(set(values)) > 1))
    return sorted(rows, key=lambda r: (not r.differs, r.name))


def metric_rows(
    runs: Sequence[RunSummary], directions: Mapping[str, str] | None = None
) -> list[MetricRow]:
    """Every metric of any run with the best value(s) marked where the direction is known."""
    rows = []
    recorded = recorded_directions(runs)
    for name in sorted({k for r in runs for k in r.metrics}):
        values = [r.metrics.get(name) for r in runs]
        better = metric_direction(name, directions, recorded)
        rows.append(MetricRow(name, values, better, best_indexes(values, better)))
    return rows


def best_indexes(values: Sequence[float | None], direction: Direction | None) -> list[int]:
    """Indexes of the better value; none when the direction is unknown, fewer than two runs
    have a value, or all values are equal (nothing is better then)."""
    real = [(i, v) for i, v in enumerate(values) if v is not None and not math.isnan(v)]
    if direction is None or len(real) < 2 or len({v for _, v in real}) == 1:
        return []
    target = min(v for _, v in real) if direction == "min" else max(v for _, v in real)
    return [i for i, v in real if v == target]


def data_rows(
    runs: Sequence[RunSummary], drift: Sequence[Sequence[DriftAlert]] = ()
) -> list[DataRow]:
    """Each dataset name and role across the runs: inputs first, then outputs; with the
    drift alerts of each run (``drift``, one list per run) on the data they are about."""
    per_run: list[dict[tuple[str, str], str]] = []
    for run in runs:
        seen: dict[tuple[str, str], str] = {}
        for d in run.datasets:
            role = "input" if "input" in d.contexts else "output"
            seen.setdefault((d.name, role), d.fingerprint)
        per_run.append(seen)
    keys = sorted({k for seen in per_run for k in seen}, key=lambda k: (k[1] != "input", k[0]))
    rows = []
    for name, role in keys:
        prints = [seen.get((name, role)) for seen in per_run]
        status: DataStatus
        if any(p is None for p in prints):
            status = "missing"
        elif len(set(prints)) == 1:
            status = "same"
        else:
            status = "changed"
        alerts = [[a.line for a in found if a.name == name and a.context == role]
                   for found in drift] if drift else []
        rows.append(DataRow(name, role, prints, status,
                            alerts if any(alerts) else []))
    return rows


def package_rows(details: Sequence[RunDetails]) -> list[PackageRow]:
    """Packages (and Python) whose versions differ between runs that both list them. A
    package one cell did not import is no difference of environment."""
    rows = []
    pythons = [d.run.python for d in details]
    if len({p for p in pythons if p}) > 1:
        rows.append(PackageRow("python", pythons))
    names = sorted({n for d in details for n in d.requirements}, key=str.lower)
    for name in names:
        versions = [d.requirements.get(name) for d in details]
        if len({v for v in versions if v}) > 1:
            rows.append(PackageRow(name, versions))
    return rows


def code_diff(baseline: RunDetails, other: RunDetails) -> CodeDiff:
    a, b = baseline.run, other.run
    if a.code_sha and a.code_sha == b.code_sha:
        return CodeDiff(b.run_id, a.run_id, same=True, diff="")
    if baseline.code is None or other.code is None:
        return CodeDiff(b.run_id, a.run_id, same=False, diff="", missing=True)
    lines = difflib.unified_diff(
        baseline.code.splitlines(keepends=True),
        other.code.splitlines(keepends=True),
        fromfile=f"{a.run_name} ({a.run_id[:8]})",
        tofile=f"{b.run_name} ({b.run_id[:8]})",
    )
    text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    return CodeDiff(b.run_id, a.run_id, same=not text, diff=text)


def _key(value: float | None) -> object:
    return "nan" if value is not None and math.isnan(value) else value
