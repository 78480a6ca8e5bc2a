"""Drift between profiles of real data: shifts are caught, resamples of the same data are not."""

from __future__ import annotations

import math
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbmlops import config
from nbmlops.data import drift
from nbmlops.data.drift import Thresholds, alert_lines, compare, psi, report, summary_text
from nbmlops.data.profiles import profile

SEEDS = st.integers(0, 2**32 - 1)
# Statistical properties: a fixed set of examples (derandomize), so a run of the suite cannot
# draw the one-in-a-thousand resample that the significance level lets through.
PROPERTY = settings(
    max_examples=25, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


def frame(n: int, seed: int, *, shift: float = 0.0, scale: float = 1.0,
          cities: tuple[str, ...] = ("Paris", "Lyon", "Nice"),
          weights: tuple[float, ...] | None = None, nulls: float = 0.0) -> pd.DataFrame:
    """A typical input: a continuous feature, a small integer code, a category, a flag."""
    rng = np.random.default_rng(seed)
    x = rng.normal(50 + shift * 10, 10 * scale, n)
    if nulls:
        x[rng.random(n) < nulls] = np.nan
    return pd.DataFrame({
        "x": x,
        "code": rng.integers(0, 5, n),
        "city": rng.choice(list(cities), n, p=weights),
        "flag": rng.random(n) < 0.3,
    })


def kinds(c: drift.Comparison) -> set[tuple[str, str | None]]:
    return {(f.kind, f.column) for f in c.findings}


@PROPERTY
@given(seed_a=SEEDS, seed_b=SEEDS, n=st.integers(50, 50_000), m_ratio=st.floats(0.7, 1.4))
def test_a_resample_of_the_same_data_is_not_drift(
    seed_a: int, seed_b: int, n: int, m_ratio: float
) -> None:
    before = profile(frame(n, seed_a))
    after = profile(frame(max(50, int(n * m_ratio)), seed_b))
    result = compare(before, after)
    assert result.findings == [], alert_lines([result])


@PROPERTY
@given(seed_a=SEEDS, seed_b=SEEDS, n=st.integers(500, 50_000))
def test_a_shifted_mean_is_caught(seed_a: int, seed_b: int, n: int) -> None:
    before = profile(frame(n, seed_a))
    after = profile(frame(n, seed_b, shift=1.0))  # the mean moves by one standard deviation
    result = compare(before, after)
    assert kinds(result) == {("distribution", "x")}
    [finding] = result.findings
    assert finding.value is not None and finding.value >= 0.2
    [(before_mean, after_mean)] = re.findall(r"mean ([\d.]+) → ([\d.]+)", finding.message)
    before_mean, after_mean = float(before_mean), float(after_mean)
    assert abs(before_mean - 50) < 2.5 and abs(after_mean - 60) < 2.5
    assert result.columns["x"]["ks"] > 0.2


def test_small_samples_raise_no_false_alarm_but_a_big_shift_still_shows() -> None:
    # 30 rows: sampling noise alone gives PSI values above 0.2; the significance guard holds.
    noisy = [compare(profile(frame(30, s)), profile(frame(30, s + 100))) for s in range(20)]
    assert all(not c.findings for c in noisy)
    big = compare(profile(frame(30, 1)), profile(frame(30, 2, shift=5.0)))
    assert ("distribution", "x") in kinds(big)


def test_spread_categories_nulls_rows_and_schema() -> None:
    base = profile(frame(20_000, 1))
    wider = compare(base, profile(frame(20_000, 2, scale=3.0)))
    assert ("distribution", "x") in kinds(wider) and "std" in wider.findings[0].message

    new_city = compare(base, profile(frame(20_000, 3, cities=("Paris", "Lyon", "Nice", "Brest"))))
    [finding] = new_city.findings
    assert finding.column == "city" and "new value 'Brest'" in finding.message

    mix = compare(base, profile(frame(20_000, 4, weights=(0.8, 0.1, 0.1))))
    assert kinds(mix) == {("distribution", "city")}
    assert "share of 'Paris' 33% → 80%" in mix.findings[0].message

    nulls = compare(base, profile(frame(20_000, 5, nulls=0.2)))
    assert ("nulls", "x") in kinds(nulls)
    assert [f.message for f in nulls.findings if f.kind == "nulls"] == ["nulls 0.0% → 20%"]

    rows = compare(base, profile(frame(5_000, 6)))
    assert kinds(rows) == {("rows", None)}
    assert rows.findings[0].message == "rows 20,000 → 5,000 (-75%)"
    assert not compare(base, profile(frame(12_000, 7))).findings  # -40%: under 50%

    changed = frame(1000, 8).drop(columns=["flag"]).assign(code=lambda d: d.code.astype(float),
                                                           extra=1)
    schema = compare(profile(frame(1000, 9)), profile(changed))
    messages = [f.message for f in schema.findings if f.kind == "schema"]
    assert messages == [
        "column 'flag' removed", "column 'code' retyped int64 → float64",
        "column 'extra' added (int64)",
    ]
    assert schema.schema_changed and not schema.drifted
    assert compare(base, profile(np.zeros(3))).findings[0].message == (
        "was a dataframe, now a ndarray"
    )


def test_thresholds_decide() -> None:
    base, shifted = profile(frame(20_000, 1)), profile(frame(20_000, 2, shift=0.3))
    assert not compare(base, shifted).findings  # PSI about 0.09
    strict = compare(base, shifted, Thresholds(psi=0.05))
    assert kinds(strict) == {("distribution", "x")}
    assert compare(base, profile(frame(15_000, 3)), Thresholds(rows=0.2)).findings


def test_psi_values() -> None:
    assert psi([0.5, 0.5], [0.5, 0.5]) == 0
    assert psi([0.5, 0.5], [0.9, 0.1]) == pytest.approx(
        0.4 * math.log(0.9 / 0.5) - 0.4 * math.log(0.1 / 0.5)
    )
    assert math.isfinite(psi([1.0, 0.0], [0.0, 1.0]))  # empty bins are floored


def test_report_alert_and_tags() -> None:
    base = profile(frame(20_000, 1))
    found = compare(base, profile(frame(20_000, 2, shift=1.0)), name="raw")
    written = compare(base, profile(frame(20_000, 2, shift=1.0)), name="raw", context="output")
    lines = alert_lines([found, written])
    assert lines[0].startswith("raw.x: mean ") and lines[1].startswith("raw (written).x:")
    assert summary_text([found], ("distribution",)).startswith("raw.x: mean ")
    assert summary_text([found], ("schema",)) == "none"
    out = report([found], mode="warn", thresholds=Thresholds(), baseline={"run_name": "load"})
    assert out["drift"] and not out["schema_change"]
    assert out["data"][0]["findings"][0]["column"] == "x"
    assert out["data"][0]["columns"]["x"]["psi"] >= 0.2
    many = alert_lines([found] * 10, limit=3)
    assert len(many) == 4 and many[-1].startswith("... and 7 more")
    # Only a name both read and written says which one it means.
    assert alert_lines([written])[0].startswith("raw.x: mean ")


def test_the_report_keeps_its_shape() -> None:
    """``data/drift.json`` is read back by the sidebar and the query module: its keys are a
    contract, not a detail."""
    base = profile(frame(20_000, 1))
    found = compare(base, profile(frame(20_000, 2, shift=1.0)), name="raw")
    out = report([found], mode="fail", thresholds=Thresholds(psi=0.3),
                 baseline={"run_name": "load"})
    assert set(out) == {"version", "mode", "thresholds", "baseline", "drift", "schema_change",
                        "data"}
    assert (out["version"], out["mode"], out["baseline"]) == (1, "fail", {"run_name": "load"})
    assert out["thresholds"] == {"psi": 0.3, "rows": 0.5, "nulls": 0.05, "alpha": 0.001}
    [data] = out["data"]
    assert set(data) == {"name", "context", "unchanged", "rows", "findings", "columns"}
    assert (data["name"], data["context"], data["unchanged"]) == ("raw", "input", False)
    assert data["rows"] == [20_000, 20_000]
    assert {"kind", "message", "column", "value", "threshold"} <= set(data["findings"][0])


def test_the_default_psi_threshold_is_documented_and_decides() -> None:
    base, shifted = profile(frame(20_000, 1)), profile(frame(20_000, 2, shift=0.6))
    # PSI about 0.37: moderate drift, alerted by the default 0.2, not by a lax 0.5.
    assert kinds(compare(base, shifted)) == {("distribution", "x")}
    assert not compare(base, shifted, Thresholds(psi=0.5)).findings


def test_drift_defaults_have_one_home(tmp_path: Path) -> None:
    """The manual's `[tool.nbmlops]` example (docs/configuration.md) shows the defaults;
    config reads them from ``Thresholds``, so a project without settings gets exactly those."""
    readme = (Path(__file__).parent.parent / "docs" / "configuration.md").read_text()
    documented = {
        config.DRIFT_THRESHOLDS[key][0]: float(value)
        for key, value in re.findall(r"^(drift_\w+) = ([\d.]+)", readme, re.MULTILINE)
    }
    assert documented == {"psi": 0.2, "rows": 0.5, "nulls": 0.05, "alpha": 0.001}
    assert asdict(Thresholds()) == documented
    assert config.drift_thresholds(tmp_path) == documented


# -- the words and limits of what a run shows (pure: hand-made findings) ------------------------


def _found(*findings: drift.Finding, name: str = "raw", context: str = "input") -> drift.Comparison:
    return drift.Comparison(name, context, findings=list(findings))


def test_alert_lines_name_the_column_but_not_for_a_schema_change() -> None:
    c = _found(drift.Finding("schema", "column x removed", column="x"),
               drift.Finding("rows", "rows 100 → 10"),
               drift.Finding("nulls", "nulls 1.0% → 20%", column="y"))
    assert alert_lines([c]) == ["raw: column x removed", "raw: rows 100 → 10",
                                "raw.y: nulls 1.0% → 20%"]
    assert summary_text([c], ("schema", "rows", "nulls")) == (
        "raw: column x removed; raw: rows 100 → 10; raw.y: nulls 1.0% → 20%")


def test_alert_lines_and_the_summary_stop_at_their_limits() -> None:
    eight = _found(*[drift.Finding("rows", f"change {i}") for i in range(8)])
    assert len(alert_lines([eight])) == 8  # the default limit: all of them, no "more" line
    nine = _found(*[drift.Finding("rows", f"change {i}") for i in range(9)])
    assert alert_lines([nine])[-1] == "... and 1 more (see data/drift.json)"
    assert len(alert_lines([nine])) == 9
    assert alert_lines([nine], limit=9)[-1] == "raw: change 8"

    def text_of(length: int) -> list[drift.Comparison]:  # "raw: " + message
        return [_found(drift.Finding("rows", "m" * (length - 5)))]

    assert summary_text(text_of(480), ("rows",)) == "raw: " + "m" * 475  # the default limit
    cut = summary_text(text_of(481), ("rows",))
    assert len(cut) == 480 and cut == "raw: " + "m" * 474 + "…"
    assert summary_text(text_of(10), ("rows",), limit=10) == "raw: mmmmm"
    assert summary_text(text_of(11), ("rows",), limit=10) == "raw: mmmm…"


def test_shares_and_numbers_in_messages() -> None:
    assert [drift._pct(s) for s in (0.0123, 0.0999, 0.1, 0.5)] == ["1.2%", "10.0%", "10%", "50%"]
    assert [drift._num(v) for v in (None, 1.23456, 0)] == ["?", "1.23", "0"]


def test_a_comparison_is_named_data_by_default_and_missing_rows_count_zero() -> None:
    empty = {"kind": "dataframe", "columns": []}
    c = compare(empty, empty)
    assert (c.name, c.context, c.rows, c.findings) == ("data", "input", (0, 0), [])


def _pearson(share_old: list[float], share_new: list[float], n: int) -> tuple[float, int]:
    """Pearson's statistic and degrees of freedom of two samples of ``n`` with these shares,
    as scipy computes them (the reference the approximation is checked against)."""
    from scipy.stats import chi2_contingency

    kept = [(a * n, b * n) for a, b in zip(share_old, share_new, strict=True) if a + b]
    statistic, _, dof, _ = chi2_contingency(np.array(kept).T, correction=False)
    return float(statistic), int(dof)


@pytest.mark.parametrize("alpha", [0.05, 0.01])
@pytest.mark.parametrize("buckets", [2, 3, 5, 10])
def test_the_chi_square_guard_agrees_with_the_exact_quantile(alpha: float, buckets: int) -> None:
    """Samples whose statistic is 6% above, then 6% below, the exact chi-square quantile:
    the guard (Wilson-Hilferty, within 3% of it) rejects the first only. A bucket empty in
    both samples counts for no degree of freedom."""
    from scipy.stats import chi2

    e = 0.2 / buckets
    moved = [e if i % 2 == 0 else -e for i in range(buckets)]
    if buckets % 2:
        moved[-1] = 0.0
    share_old = [1 / buckets] * buckets + [0.0]
    share_new = [1 / buckets + m for m in moved] + [0.0]
    per_sample, dof = _pearson(share_old, share_new, 1)
    assert dof == buckets - 1
    exact = chi2.ppf(1 - alpha, dof)
    for factor, rejects in ((1.06, True), (0.94, False)):
        n = round(factor * exact / per_sample)
        statistic, _ = _pearson(share_old, share_new, n)
        assert abs(statistic / exact - factor) < 0.01
        assert drift._chi_square_rejects(
            share_old, share_new, {"count": n}, {"count": n}, alpha) is rejects, (factor, n)
    # No sample on one side: nothing to test, nothing rejected.
    assert not drift._chi_square_rejects([1.0, 0.0], [0.0, 1.0], {"count": 0}, {"count": 9}, alpha)


def _col(name: str, dtype: str = "object", kind: str = "text", **figures: Any) -> dict[str, Any]:
    return {"name": name, "dtype": dtype, "kind": kind, "count": 100, **figures}


def test_schema_findings_name_their_column_and_say_what_changed() -> None:
    before = {"kind": "dataframe", "rows": 100,
              "columns": [_col("a"), _col("b", "int64", "numeric"), _col("c"), _col("d")]}
    after = {"kind": "dataframe", "rows": 100,
             "columns": [_col("b", "float64", "numeric"), _col("d"), _col("c"), _col("e")]}
    c = compare(before, after)
    assert [asdict(f) for f in c.findings] == [
        {"kind": "schema", "message": "column 'a' removed", "column": "a", "value": None,
         "threshold": None},
        {"kind": "schema", "message": "column 'b' retyped int64 → float64", "column": "b",
         "value": None, "threshold": None},
        {"kind": "schema", "message": "column 'e' added (object)", "column": "e", "value": None,
         "threshold": None},
        {"kind": "schema", "message": "columns reordered", "column": None, "value": None,
         "threshold": None},
    ]
    assert c.schema_changed and not c.drifted
    # The retyped column is not compared; the ones after it still are.
    assert sorted(c.columns) == ["c", "d"]
    assert c.columns["c"] == {"null_fraction": [0.0, 0.0]}  # no nulls measured: none

    kinds = compare({"kind": "dataframe"}, {"kind": "series"})
    assert [(f.kind, f.message) for f in kinds.findings] == [
        ("schema", "was a dataframe, now a series")]
    assert compare({"kind": "series", "rows": 3}, {"kind": "series", "rows": 3}).findings == []


def test_row_count_findings_at_and_around_the_threshold() -> None:
    t = Thresholds(rows=0.5)

    def rows(before: int, after: int) -> list[dict[str, Any]]:
        c = compare({"kind": "dataframe", "rows": before}, {"kind": "dataframe", "rows": after},
                    t)
        return [asdict(f) for f in c.findings]

    assert rows(100, 149) == []
    assert rows(100, 150) == [{"kind": "rows", "message": "rows 100 → 150 (+50%)",
                               "column": None, "value": 0.5, "threshold": 0.5}]
    assert rows(2000, 1000) == [{"kind": "rows", "message": "rows 2,000 → 1,000 (-50%)",
                                 "column": None, "value": -0.5, "threshold": 0.5}]
    assert rows(0, 10) == [{"kind": "rows", "message": "rows 0 → 10 (new rows)",
                            "column": None, "value": math.inf, "threshold": 0.5}]


def _numeric_col(
    quantiles: list[float], count: int, mean: float, std: float | None
) -> dict[str, Any]:
    return _col("x", "float64", "numeric", count=count, quantiles=quantiles, mean=mean, std=std)


def test_a_numeric_shift_its_figures_and_words() -> None:
    """Old: uniform on [0, 100]; new: shifted by 30. The old deciles are the bins: the new
    sample puts nothing below 30 and 40% above 90 (checked against psi() of those masses)."""
    old = _numeric_col([float(i) for i in range(101)], 10_000, 50.0, 10.0)
    new = _numeric_col([float(i + 30) for i in range(101)], 10_000, 80.0, 20.0)
    stats, finding = drift._numeric(old, new, Thresholds())
    masses = [0.0, 0.0, 0.0, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.4]
    value = psi([0.1] * 10, masses)
    assert stats == {"psi": drift._r(value), "ks": 0.3, "mean": [50.0, 80.0]}
    assert finding is not None and asdict(finding) == {
        "kind": "distribution", "column": None, "value": drift._r(value), "threshold": 0.2,
        "message": f"mean 50 → 80, std 10 → 20 (PSI {value:.2f}, KS 0.30)"}

    def std_words(s_old: float | None, s_new: float | None) -> bool:
        found = drift._numeric({**old, "std": s_old}, {**new, "std": s_new}, Thresholds())[1]
        assert found is not None
        return ", std " in found.message

    assert std_words(10, 12.5) and std_words(10, 8) and std_words(10, 30)
    assert not std_words(10, 12.4) and not std_words(10, 8.1) and not std_words(None, 10)
    assert not std_words(0, 10) and not std_words(10, None)


@pytest.mark.parametrize(("count", "sample", "found"), [
    (84, None, False), (86, None, True), (0, None, False), (10**6, 84, False), (10**6, 86, True),
])
def test_a_numeric_shift_needs_a_ks_beyond_the_critical_value(
    count: int, sample: int | None, found: bool
) -> None:
    """KS 0.3 against the two-sample critical value sqrt(-ln(alpha/2) / 2 / n_eff) at alpha
    0.001: 0.3008 for 84 values a side (n_eff 42), 0.2973 for 86; none without values. A
    sampled profile counts its sample."""
    old = _numeric_col([float(i) for i in range(101)], count, 50.0, 10.0)
    new = _numeric_col([float(i + 30) for i in range(101)], count, 80.0, 10.0)
    if sample is not None:
        old["sample"] = new["sample"] = sample
    assert (drift._numeric(old, new, Thresholds())[1] is not None) is found


def test_a_column_without_finite_quantiles_on_one_side_is_not_compared() -> None:
    fine = _numeric_col([float(i) for i in range(101)], 100, 50.0, 10.0)
    empty = _numeric_col([math.nan] * 101, 100, 50.0, 10.0)
    assert drift._numeric(fine, empty, Thresholds()) == ({}, None)
    assert drift._numeric(empty, fine, Thresholds()) == ({}, None)


def _cat(top: list[tuple[str, int]], other: int = 0) -> dict[str, Any]:
    return _col("city", "str", "categorical", count=sum(c for _, c in top) + other, top=top,
                other=other)


def test_categorical_changes_in_words_and_figures() -> None:
    t = Thresholds()
    old = _cat([("a", 5000), ("b", 5000)])
    stats, f = drift._categorical(old, _cat([("a", 5000), ("b", 3000), ("c", 2000)]), t)
    assert stats == {"psi": drift._r(psi([0.5, 0.5, 0.0, 0.0], [0.5, 0.3, 0.2, 0.0]))}
    assert f is not None and f.message == f"new value 'c' (20%) (PSI {stats['psi']:.2f})"
    assert (f.kind, f.threshold) == ("distribution", 0.2)

    _, f = drift._categorical(old, _cat([("a", 10000)]), t)
    assert f is not None and f.message.startswith("value 'b' gone (PSI ")
    _, f = drift._categorical(old, _cat([("a", 2000), ("b", 8000)]), t)
    assert f is not None and f.message.startswith("share of 'b' 50% → 80% (PSI ")
    # A value the old profile may have pooled in "other" is not new: it pools there too.
    partial = _cat([("a", 4000), ("b", 4000)], other=2000)
    stats, f = drift._categorical(partial, _cat([("a", 4000), ("b", 4000), ("z", 2000)]), t)
    assert stats == {"psi": 0.0} and f is None
    stats, f = drift._categorical(_cat([("a", 4000), ("b", 4000), ("z", 2000)]), partial, t)
    assert stats == {"psi": 0.0} and f is None
    # Values listed on both sides still compare when a side pools the rest.
    _, f = drift._categorical(partial, _cat([("a", 2000), ("b", 6000)], other=2000), t)
    assert f is not None and f.message.startswith("share of 'a' 40% → 20% (PSI ")


def _with_nulls(count: int, nulls: int, fraction: float) -> dict[str, Any]:
    return _col("x", count=count, nulls=nulls, null_fraction=fraction)


@pytest.mark.parametrize(("count", "found"), [(130, True), (120, False), (0, False)])
def test_more_nulls_must_be_more_than_sampling_noise(count: int, found: bool) -> None:
    """Nulls 2% → 12% of count + 17 nulls a side: the two-proportion z is 3.36 for 147
    values, 3.24 for 137, against 3.29 at alpha 0.001 (two-sided)."""
    old, new = _with_nulls(count, 17, 0.02), _with_nulls(count, 17, 0.12)
    finding = drift._nulls(old, new, Thresholds())
    assert (finding is not None) is found
    if finding is not None:
        assert (finding.kind, finding.message, finding.threshold) == (
            "nulls", "nulls 2.0% → 12%", 0.05)
        assert finding.value == pytest.approx(0.1)
    assert drift._nulls(_with_nulls(10**6, 0, 0.02), _with_nulls(10**6, 0, 0.06),
                        Thresholds()) is None  # under the threshold however sure
    assert drift._nulls(_with_nulls(0, 0, 0.0), _with_nulls(1000, 0, 0.5),
                        Thresholds()) is None  # no values on one side: nothing to compare


def test_which_columns_are_compared_and_with_what_figures() -> None:
    t = Thresholds()
    figures, findings = drift._column(_with_nulls(130, 17, 0.02), _with_nulls(130, 17, 0.12), t)
    assert figures == {"null_fraction": [0.02, 0.12]} and [f.column for f in findings] == ["x"]
    assert drift._column(_col("x"), _col("x"), t)[0] == {"null_fraction": [0.0, 0.0]}
    # A categorical column needs top values on both sides; a numeric one, quantiles.
    cat = _cat([("a", 50), ("b", 50)])
    assert "psi" in drift._column(cat, {**cat, "top": []}, t)[0]
    no_top = {k: v for k, v in cat.items() if k != "top"}
    assert drift._column(cat, no_top, t) == ({"null_fraction": [0.0, 0.0]}, [])
    assert drift._column(no_top, cat, t) == ({"null_fraction": [0.0, 0.0]}, [])
    num = _numeric_col([float(i) for i in range(101)], 100, 50.0, 10.0)
    no_q = {k: v for k, v in num.items() if k != "quantiles"}
    assert drift._column(num, no_q, t) == ({"null_fraction": [0.0, 0.0]}, [])
    assert drift._column(no_q, num, t) == ({"null_fraction": [0.0, 0.0]}, [])
    # A flag is compared as categories.
    flag_old = {**_cat([("True", 5000), ("False", 5000)]), "kind": "bool"}
    flag_new = {**_cat([("True", 8000), ("False", 2000)]), "kind": "bool"}
    figures, [found] = drift._column(flag_old, flag_new, t)
    assert set(figures) == {"null_fraction", "psi"} and found.column == "city"


def test_the_new_value_named_is_the_most_frequent_one() -> None:
    old = _cat([("a", 6000), ("b", 4000)])
    _, f = drift._categorical(old, _cat([("a", 6000), ("b", 1000), ("y", 2000), ("z", 1000)]),
                              Thresholds())
    assert f is not None and f.message.startswith("new value 'y' (20%) and 1 more (PSI ")
    # A value new to a complete profile had no share before: 0, not a count of one.
    stats, _ = drift._categorical(_cat([("a", 50), ("b", 50)]),
                                  _cat([("a", 50), ("b", 30), ("c", 20)]), Thresholds())
    assert stats == {"psi": drift._r(psi([0.5, 0.5, 0.0, 0.0], [0.5, 0.3, 0.2, 0.0]))}


def test_categorical_words_for_several_changes_and_other_values() -> None:
    t = Thresholds()
    old = _cat([("a", 50), ("b", 25), ("c", 25)])
    stats, f = drift._categorical(old, _cat([("a", 100)]), t)
    assert stats == {"psi": drift._r(psi([0.5, 0.25, 0.25, 0.0], [1.0, 0.0, 0.0, 0.0]))}
    assert f is not None and f.message == f"value 'b' gone and 1 more (PSI {stats['psi']:.2f})"
    assert f.value == stats["psi"]
    _, f = drift._categorical(_cat([("a", 500), ("b", 500)]), _cat([("a", 500), ("c", 500)]), t)
    assert f is not None and f.message.startswith("new value 'c' (50%), value 'b' gone (PSI ")
    # Values that are not strings are compared by their repr.
    _, f = drift._categorical(_cat([(1, 5000), (2, 5000)]),  # type: ignore[list-item]
                              _cat([(1, 5000), (2, 3000), (3, 2000)]), t)  # type: ignore[list-item]
    assert f is not None and f.message.startswith("new value '3' (20%) (PSI ")


def test_a_column_whose_kind_changed_is_not_compared() -> None:
    before = {"kind": "dataframe", "columns": [_cat([("a", 500), ("b", 500)])]}
    after = {"kind": "dataframe", "columns": [{**_cat([("a", 900), ("b", 100)]), "kind": "text"}]}
    assert compare(before, after).columns == {}
    assert "city" in compare(before, {**after, "columns": [_cat([("a", 900), ("b", 100)])]}).columns


def test_the_distribution_function_read_off_quantiles() -> None:
    assert [drift._cdf([5.0], x) for x in (4.9, 5.0, 6.0)] == [0.0, 1.0, 1.0]
    assert [drift._cdf([0.0, 10.0], x) for x in (-1, 0, 5, 10)] == [0.0, 0.0, 0.5, 1.0]
    assert [drift._cdf([0.0, 10.0, 20.0], x) for x in (5, 10, 15, 20, 25)] == [
        0.25, 0.5, 0.75, 1.0, 1.0]
    ties = [0.0, 10.0, 10.0, 20.0]  # a spike at 10: F jumps there, right-continuous
    assert drift._cdf(ties, 5.0) == pytest.approx(1 / 6)
    assert drift._cdf(ties, 9.99) < 1 / 3 and drift._cdf(ties, 10.0) == pytest.approx(2 / 3)
