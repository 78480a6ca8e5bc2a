"""Drift and schema changes between two profiles of the same data (see
:mod:`nbmlops.data.profiles`).

Pure: two profile dicts in, findings out, so the kernel compares a cell's input with the same
input of the cell's previous successful run, and a panel or the sidebar can compare any two
runs' ``data/<name>.json`` artifacts the same way.

What counts as a finding, per input:

- **schema**: columns removed, added, retyped (dtype name changed) or reordered; the kind of
  object changed (a DataFrame became an ndarray);
- **rows**: the row count changed by more than ``Thresholds.rows`` (relative);
- **nulls**: a column's null fraction moved by more than ``Thresholds.nulls`` (absolute);
- **distribution**: a column's population stability index (PSI) is at least
  ``Thresholds.psi``. Numbers are binned at the previous run's deciles and each side's mass
  per bin is read off its 101 stored quantiles; categories (and numbers with few distinct
  values) use their top values plus an "other" bucket. The KS statistic is reported beside
  the PSI for numbers.

A change must also be *significant*: small samples make noisy profiles, and a PSI of 0.3
between two frames of 50 rows means nothing. So a distribution finding also needs the
two-sample KS test (numbers) or Pearson's chi-square test of the shares (categories) to
reject "same distribution" at level ``Thresholds.alpha``, and a null-rate finding a
two-proportion z-test at the same level. Large samples pass these for any real change and
the threshold decides; small ones do not raise false alarms. Sample sizes are those the
figures come from (a profile samples at most 20,000 values of a column).
Datetime columns are compared by schema and nulls only: a new batch of dated rows always
moves their distribution.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from statistics import NormalDist
from typing import Any

from nbmlops.config import DRIFT_THRESHOLDS

__all__ = [
    "Comparison",
    "Finding",
    "Thresholds",
    "alert_lines",
    "compare",
    "psi",
    "report",
    "summary_text",
]

#: Floor of a bin's share in the PSI, so an empty bin does not make it infinite.
_EPS = 1e-4


_DEFAULTS = dict(DRIFT_THRESHOLDS.values())  # field -> default, as [tool.nbmlops] documents


@dataclass(frozen=True)
class Thresholds:
    """When a change is reported (``[tool.nbmlops]`` keys ``drift_psi``, ``drift_rows``,
    ``drift_nulls``, ``drift_alpha``)."""

    # 0.1-0.25 is "moderate" in the credit-scoring practice PSI comes from
    psi: float = _DEFAULTS["psi"]
    rows: float = _DEFAULTS["rows"]  # relative change of the row count
    nulls: float = _DEFAULTS["nulls"]  # absolute change of a column's null fraction
    alpha: float = _DEFAULTS["alpha"]  # significance level of the guards against sampling noise


@dataclass
class Finding:
    """One thing that changed, readable on its own."""

    kind: str  # "schema" | "rows" | "nulls" | "distribution"
    message: str  # "mean 0.012 → 1.03 (PSI 0.83, KS 0.38)"
    column: str | None = None
    value: float | None = None  # the statistic compared with the threshold
    threshold: float | None = None


@dataclass
class Comparison:
    """One input (or output) of a run against the same data of the baseline run."""

    name: str
    context: str
    findings: list[Finding] = field(default_factory=list)
    #: Per column: the figures computed (PSI, KS, null fractions), reported even when small.
    columns: dict[str, dict[str, Any]] = field(default_factory=dict)
    rows: tuple[int, int] = (0, 0)
    unchanged: bool = False  # same fingerprint: nothing to compare

    @property
    def schema_changed(self) -> bool:
        return any(f.kind == "schema" for f in self.findings)

    @property
    def drifted(self) -> bool:
        return any(f.kind != "schema" for f in self.findings)


def compare(
    before: dict[str, Any],
    after: dict[str, Any],
    thresholds: Thresholds | None = None,
    *,
    name: str = "data",
    context: str = "input",
) -> Comparison:
    """What changed from the profile ``before`` to the profile ``after``."""
    t = thresholds or Thresholds()
    out = Comparison(name, context, rows=(int(before.get("rows", 0)), int(after.get("rows", 0))))
    if before.get("kind") != after.get("kind"):
        out.findings.append(
            Finding("schema", f"was a {before.get('kind')}, now a {after.get('kind')}")
        )
        return out
    out.findings.extend(_schema(before, after))
    rows = _rows(out.rows, t)
    if rows is not None:
        out.findings.append(rows)
    cols_before = _by_name(before.get("columns", []))
    for col in after.get("columns", []):
        old = cols_before.get(col["name"])
        if old is None or any(old.get(k) != col.get(k) for k in ("kind", "dtype")):
            continue  # new or retyped: the schema finding says it, values do not compare
        figures, findings = _column(old, col, t)
        out.columns[col["name"]] = figures
        out.findings.extend(findings)
    return out


# -- schema and rows -----------------------------------------------------------------------------


def _by_name(columns: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for col in columns:
        found.setdefault(str(col.get("name")), col)
    return found


def _schema(before: dict[str, Any], after: dict[str, Any]) -> list[Finding]:
    old = [(str(c.get("name")), str(c.get("dtype"))) for c in before.get("columns", [])]
    new = [(str(c.get("name")), str(c.get("dtype"))) for c in after.get("columns", [])]
    old_types, new_types = dict(old), dict(new)
    findings = []
    for name, _ in old:
        if name not in new_types:
            findings.append(Finding("schema", f"column {name!r} removed", column=name))
    for name, dtype in new:
        if name not in old_types:
            findings.append(Finding("schema", f"column {name!r} added ({dtype})", column=name))
        elif old_types[name] != dtype:
            findings.append(
                Finding("schema", f"column {name!r} retyped {old_types[name]} → {dtype}",
                        column=name)
            )
    common_old = [n for n, _ in old if n in new_types]
    common_new = [n for n, _ in new if n in old_types]
    if common_old != common_new:
        findings.append(Finding("schema", "columns reordered"))
    return findings


def _rows(rows: tuple[int, int], t: Thresholds) -> Finding | None:
    before, after = rows
    if before == after:
        return None
    change = (after - before) / before if before else math.inf
    if abs(change) < t.rows:
        return None
    pct = "new rows" if math.isinf(change) else f"{change:+.0%}"
    return Finding("rows", f"rows {before:,} → {after:,} ({pct})", value=change, threshold=t.rows)


# -- one column ----------------------------------------------------------------------------------


def _column(
    old: dict[str, Any], new: dict[str, Any], t: Thresholds
) -> tuple[dict[str, Any], list[Finding]]:
    name = str(new["name"])
    figures: dict[str, Any] = {
        "null_fraction": [old.get("null_fraction", 0.0), new.get("null_fraction", 0.0)]
    }
    findings = []
    nulls = _nulls(old, new, t)
    if nulls is not None:
        nulls.column = name
        findings.append(nulls)
    kind = new.get("kind")
    if kind in ("numeric", "bool", "categorical"):
        if "top" in old and "top" in new:
            shift = _categorical(old, new, t)
        elif kind == "numeric" and old.get("quantiles") and new.get("quantiles"):
            shift = _numeric(old, new, t)
        else:
            shift = None
        if shift is not None:
            stats, finding = shift
            figures.update(stats)
            if finding is not None:
                finding.column = name
                findings.append(finding)
    return figures, findings


def _nulls(old: dict[str, Any], new: dict[str, Any], t: Thresholds) -> Finding | None:
    n1, n2 = _total(old), _total(new)
    f1, f2 = float(old.get("null_fraction", 0.0)), float(new.get("null_fraction", 0.0))
    change = f2 - f1
    if abs(change) < t.nulls or not n1 or not n2:
        return None
    pooled = (f1 * n1 + f2 * n2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    # mutation-equivalent: `se >= 0` (se is 0 only when both fractions are 0 or 1, returned
    # above), `<=` for `<` here and above (a float figure equal to its bound).
    if se > 0 and abs(change) / se < NormalDist().inv_cdf(1 - t.alpha / 2):
        return None
    return Finding(
        "nulls", f"nulls {_pct(f1)} → {_pct(f2)}", value=change, threshold=t.nulls
    )


def _total(col: dict[str, Any]) -> int:
    # mutation-equivalent: the defaults; every column profile has its count and nulls.
    return int(col.get("count", 0)) + int(col.get("nulls", 0))


def _numeric(
    old: dict[str, Any], new: dict[str, Any], t: Thresholds
) -> tuple[dict[str, Any], Finding | None]:
    q_old, q_new = _finite(old["quantiles"]), _finite(new["quantiles"])
    if not q_old or not q_new:
        return {}, None
    # Bins: the previous run's deciles, merged where they tie (a spike of equal values).
    edges = sorted(set(q_old[10:100:10]))
    expected = _masses(q_old, edges)
    actual = _masses(q_new, edges)
    value = psi(expected, actual)
    ks = max(abs(_cdf(q_old, x) - _cdf(q_new, x)) for x in sorted(set(q_old) | set(q_new)))
    stats = {"psi": _r(value), "ks": _r(ks), "mean": [old.get("mean"), new.get("mean")]}
    n = _effective(old, new)
    # Two-sample KS critical value: c(alpha) * sqrt((n1 + n2) / (n1 n2)) = c / sqrt(n_eff).
    critical = math.sqrt(-math.log(t.alpha / 2) / 2 / n) if n else math.inf
    # mutation-equivalent: `<=` / `<` swapped; a float figure equal to its bound.
    if value < t.psi or ks <= critical:
        return stats, None
    message = f"mean {_num(old.get('mean'))} → {_num(new.get('mean'))}"
    s_old, s_new = old.get("std"), new.get("std")
    if s_old and s_new and not 0.8 < s_new / s_old < 1.25:
        message += f", std {_num(s_old)} → {_num(s_new)}"
    message += f" (PSI {value:.2f}, KS {ks:.2f})"
    return stats, Finding("distribution", message, value=_r(value), threshold=t.psi)


def _categorical(
    old: dict[str, Any], new: dict[str, Any], t: Thresholds
) -> tuple[dict[str, Any], Finding | None]:
    # mutation-equivalent: the defaults of "top" and "count", and max(2, ...) for max(1, ...);
    # only profiles with top values come here (see _column), every profile has its count,
    # and the floor only keeps a column of no values from dividing by zero.
    top_old = {_key(v): c for v, c in old.get("top", [])}
    top_new = {_key(v): c for v, c in new.get("top", [])}
    complete_old, complete_new = not old.get("other"), not new.get("other")
    # A value compared on its own must be known on both sides: listed, or absent from a
    # side whose top values are all its values. Everything else pools in "other".
    labels = [
        v for v in dict.fromkeys([*top_old, *top_new])
        if (v in top_old or complete_old) and (v in top_new or complete_new)
    ]
    total_old, total_new = max(1, int(old.get("count", 0))), max(1, int(new.get("count", 0)))
    share_old = [top_old.get(v, 0) / total_old for v in labels]
    share_new = [top_new.get(v, 0) / total_new for v in labels]
    share_old.append(max(0.0, 1 - sum(share_old)))
    share_new.append(max(0.0, 1 - sum(share_new)))
    value = psi(share_old, share_new)
    stats: dict[str, Any] = {"psi": _r(value)}
    # mutation-equivalent: `<=` (a float PSI equal to the threshold).
    if value < t.psi or not _chi_square_rejects(share_old, share_new, old, new, t.alpha):
        return stats, None
    appeared = [v for v in labels if v not in top_old and v in top_new]
    gone = [v for v in labels if v in top_old and v not in top_new]
    parts = []
    if appeared:
        v = max(appeared, key=lambda x: top_new[x])
        more = f" and {len(appeared) - 1} more" if len(appeared) > 1 else ""
        parts.append(f"new value '{v}' ({_pct(top_new[v] / total_new)}){more}")
    if gone:
        parts.append(f"value '{gone[0]}' gone" + (f" and {len(gone) - 1} more" if len(gone) > 1
                                                 else ""))
    if not parts and labels:
        i = max(range(len(labels)), key=lambda j: abs(share_new[j] - share_old[j]))
        parts.append(f"share of '{labels[i]}' {_pct(share_old[i])} → {_pct(share_new[i])}")
    elif not parts:  # pragma: no mutate (unreachable: no labels means PSI 0, returned above)
        parts.append("values changed")  # pragma: no mutate
    message = ", ".join(parts) + f" (PSI {value:.2f})"
    return stats, Finding("distribution", message, value=_r(value), threshold=t.psi)


# -- statistics ----------------------------------------------------------------------------------


def psi(expected: Sequence[float], actual: Sequence[float]) -> float:
    """Population stability index of two distributions over the same bins (shares that sum
    to 1): sum of (a - e) * ln(a / e), each share floored at 1e-4."""
    total = 0.0
    # mutation-equivalent: zip without strict; both lists come from the same bins.
    for e, a in zip(expected, actual, strict=True):
        e, a = max(e, _EPS), max(a, _EPS)
        total += (a - e) * math.log(a / e)
    return total


def _finite(quantiles: Sequence[Any]) -> list[float]:
    """Stored quantiles with the infinities (stored as null) dropped."""
    return [float(q) for q in quantiles if q is not None and math.isfinite(float(q))]


def _cdf(quantiles: Sequence[float], x: float) -> float:
    """F(x) read off evenly spaced quantiles, linear between them, right-continuous at ties."""
    n = len(quantiles)
    if n == 1:
        return 1.0 if x >= quantiles[0] else 0.0
    i = bisect.bisect_right(quantiles, x)  # quantiles[:i] <= x
    if i == 0:
        return 0.0
    if i == n:
        return 1.0
    lo, hi = quantiles[i - 1], quantiles[i]
    # mutation-equivalent: any test or fallback here; bisect_right makes lo <= x < hi.
    frac = (x - lo) / (hi - lo) if hi > lo else 0.0
    return (i - 1 + frac) / (n - 1)


def _masses(quantiles: Sequence[float], edges: Sequence[float]) -> list[float]:
    """Share of values in each bin (-inf, e1], (e1, e2], ..., (ek, inf)."""
    cdf = [_cdf(quantiles, e) for e in edges]
    bounds = [0.0, *cdf, 1.0]
    return [max(0.0, b - a) for a, b in itertools.pairwise(bounds)]


def _sizes(col: dict[str, Any]) -> int:
    """How many values a column's figures come from (its sample, if it was sampled)."""
    # mutation-equivalent: the count's defaults; every column profile has its count.
    return min(int(col.get("count", 0)), int(col.get("sample", col.get("count", 0))))


def _effective(old: dict[str, Any], new: dict[str, Any]) -> float:
    """n1*n2/(n1+n2) of the two profiles' sample sizes."""
    n1, n2 = _sizes(old), _sizes(new)
    # mutation-equivalent: `or` (a zero size gives 0 anyway) and 1.0 for 0.0 (a critical KS
    # over 1, which no KS exceeds, as for infinity).
    return n1 * n2 / (n1 + n2) if n1 and n2 else 0.0


def _chi_square_rejects(
    share_old: Sequence[float], share_new: Sequence[float], old: dict[str, Any],
    new: dict[str, Any], alpha: float,
) -> bool:
    """Pearson's chi-square test of homogeneity of two samples' shares over the same
    buckets: whether it rejects "same distribution" at level ``alpha`` (the chi-square
    quantile by the Wilson-Hilferty approximation)."""
    n1, n2 = _sizes(old), _sizes(new)
    # mutation-equivalent: `and` here; one empty sample makes the statistic 0 below.
    if not n1 or not n2:
        return False
    statistic, buckets = 0.0, 0
    # mutation-equivalent: strict off; both share lists come from the same buckets.
    for a, b in zip(share_old, share_new, strict=True):
        pooled = (n1 * a + n2 * b) / (n1 + n2)
        if pooled > 0:
            statistic += (a - b) ** 2 / pooled
            buckets += 1
    statistic *= n1 * n2 / (n1 + n2)
    k = max(1, buckets - 1)
    z = NormalDist().inv_cdf(1 - alpha)
    # mutation-equivalent: `>=` (a float statistic equal to the quantile), 10 * k for 9 * k
    # (moves the quantile by under 3%, the approximation's own error for one degree).
    return statistic > k * (1 - 2 / (9 * k) + z * math.sqrt(2 / (9 * k))) ** 3


# -- reporting -----------------------------------------------------------------------------------


def report(
    comparisons: Sequence[Comparison],
    *,
    mode: str,
    thresholds: Thresholds,
    baseline: dict[str, Any] | None,
) -> dict[str, Any]:
    """The JSON report stored as the run's ``data/drift.json``."""
    return {
        "version": 1,
        "mode": mode,
        "thresholds": asdict(thresholds),
        "baseline": baseline,
        "drift": any(c.drifted for c in comparisons),
        "schema_change": any(c.schema_changed for c in comparisons),
        "data": [
            {
                "name": c.name,
                "context": c.context,
                "unchanged": c.unchanged,
                "rows": list(c.rows),
                "findings": [asdict(f) for f in c.findings],
                "columns": c.columns,
            }
            for c in comparisons
        ],
    }


def alert_lines(comparisons: Sequence[Comparison], limit: int = 8) -> list[str]:
    """One short line per finding, ``df.x: mean 0.01 → 1.02 (PSI 0.83, KS 0.38)``; at most
    ``limit`` lines, then how many more."""
    lines = []
    # A name read and written by the cell (``df = df.dropna()``) says which one it means.
    # mutation-equivalent: `!= "output"` below, while contexts are only input and output.
    both = {c.name for c in comparisons if c.context == "input"} & {
        c.name for c in comparisons if c.context == "output"
    }
    for c in comparisons:
        label = f"{c.name} (written)" if c.name in both and c.context == "output" else c.name
        for f in c.findings:
            where = f"{label}.{f.column}" if f.column and f.kind != "schema" else label
            lines.append(f"{where}: {f.message}")
    if len(lines) > limit:
        lines = [*lines[:limit], f"... and {len(lines) - limit} more (see data/drift.json)"]
    return lines


def summary_text(comparisons: Sequence[Comparison], kinds: Iterable[str], limit: int = 480) -> str:
    """The findings of the given kinds in one line, for a run tag; "none" when there are none."""
    wanted = set(kinds)
    parts = []
    for c in comparisons:
        for f in c.findings:
            if f.kind in wanted:
                where = f"{c.name}.{f.column}" if f.column and f.kind != "schema" else c.name
                parts.append(f"{where}: {f.message}")
    text = "; ".join(parts) or "none"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _key(value: Any) -> str:
    # mutation-equivalent: keeping a non-str value as its own key; keys only need to match.
    return value if isinstance(value, str) else repr(value)


def _pct(share: float) -> str:
    return f"{share:.1%}" if share < 0.1 else f"{share:.0%}"


def _num(value: Any) -> str:
    return "?" if value is None else f"{float(value):.3g}"


def _r(value: float) -> float:
    return float(f"{value:.4g}")
