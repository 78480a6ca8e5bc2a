"""Monitoring's summaries: counted into the reference's bins, merged exactly, compared by rule."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from nbmlops.monitor import bands, drift, sketch
from nbmlops.monitor import statistics as st


def _frame(seed: int, rows: int, shift: float = 0.0, share: float = 0.5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "x": rng.normal(shift, 1.0, rows),
        "amount": rng.lognormal(0.0, 0.5, rows),
        "visits": rng.poisson(3, rows),  # few distinct values: counted value by value
        "plan": np.where(rng.random(rows) < share, "pro", "free"),
        "when": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 99, rows), "D"),
    })


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return _frame(0, 50_000)


@pytest.fixture(scope="module")
def layout(reference: pd.DataFrame) -> sketch.Layout:
    return sketch.layout_of(reference)


def test_each_column_gets_the_layout_its_values_call_for(layout: sketch.Layout) -> None:
    kinds = {name: col.kind for name, col in layout.columns.items()}
    assert kinds == {"x": "numeric", "amount": "numeric", "visits": "categorical",
                     "plan": "categorical", "when": "other"}
    x = layout.columns["x"]
    assert len(x.edges) == sketch.EDGES and x.edges[0] == x.low and x.edges[-1] == x.high
    assert list(x.edges) == sorted(set(x.edges))
    assert layout.columns["plan"].categories in (("free", "pro"), ("pro", "free"))


def test_a_batch_split_ten_ways_merges_into_the_whole(
    reference: pd.DataFrame, layout: sketch.Layout
) -> None:
    batch = _frame(1, 30_001, shift=0.2, share=0.6)
    batch.loc[::7, "x"] = np.nan
    batch.loc[::11, "plan"] = None
    whole = sketch.sketch(batch, layout)
    pieces = [sketch.sketch(batch.iloc[rows], layout)
              for rows in np.array_split(np.arange(len(batch)), 10)]
    merged = sketch.merge(pieces)
    assert merged.rows == whole.rows == 30_001
    for name, col in whole.columns.items():
        got = merged.columns[name]
        assert (got.counts, got.nulls, got.outside) == (col.counts, col.nulls, col.outside)
        assert got.total == pytest.approx(col.total, rel=1e-12, abs=1e-9)
        assert got.squares == pytest.approx(col.squares, rel=1e-12)
    ref = sketch.sketch(reference, layout)
    # Every figure comes from counts: the verdicts are the same to the last bit.
    assert [d.to_json() for d in drift.compare(layout, ref, merged)] == [
        d.to_json() for d in drift.compare(layout, ref, whole)]


def test_sketches_of_other_layouts_do_not_merge(layout: sketch.Layout) -> None:
    a = sketch.sketch(_frame(2, 100), layout)
    narrow = _frame(3, 100)[["x", "plan"]]
    b = sketch.sketch(narrow, sketch.layout_of(narrow))
    with pytest.raises(ValueError, match="different layouts"):
        sketch.merge([a, b])
    with pytest.raises(ValueError, match="nothing"):
        sketch.merge([])


def test_edges_nulls_infinities_and_unseen_values_are_counted_where_they_belong() -> None:
    ref = pd.DataFrame({"v": np.arange(100, dtype=float), "c": ["a", "b"] * 50})
    layout = sketch.layout_of(ref)
    col = layout.columns["v"]
    edge = col.edges[5]
    batch = pd.DataFrame({
        "v": [edge, np.nan, -np.inf, np.inf, 1000.0, -5.0],
        "c": ["a", None, "z", "z", "b", "a"],
    })
    s = sketch.sketch(batch, layout)
    v = s.columns["v"]
    assert v.counts[5] == 1  # an edge's value is in the bin the edge closes
    assert v.counts[0] == 2 and v.counts[-1] == 2  # -inf, -5 below; inf, 1000 above
    assert (v.nulls, v.outside, v.values) == (1, 4, 5)
    assert v.total == pytest.approx(edge + 1000.0 - 5.0)  # the infinities stay out of sums
    c = s.columns["c"]
    assert (c.nulls, c.outside, c.counts[-1], c.values) == (1, 2, 2, 5)


def test_one_and_one_point_oh_are_the_same_class() -> None:
    layout = sketch.layout_of(pd.DataFrame({"y": [0, 1, 1, 0]}))
    s = sketch.sketch(pd.DataFrame({"y": [1.0, 0.0, 1.0, 2.0]}), layout)
    assert layout.columns["y"].categories == ("0", "1")
    assert s.columns["y"].counts == [1, 2, 1]


def test_a_batch_missing_or_retyping_a_watched_column_is_refused(layout: sketch.Layout) -> None:
    batch = _frame(4, 10)
    with pytest.raises(KeyError, match="'x'"):
        sketch.sketch(batch.drop(columns="x"), layout)
    with pytest.raises(TypeError, match="no longer numeric"):
        sketch.sketch(batch.assign(x=batch["x"].astype(str)), layout)
    with pytest.raises(KeyError, match="'nope'"):
        sketch.layout_of(batch, ["nope"])


def test_layouts_and_sketches_survive_json(
    reference: pd.DataFrame, layout: sketch.Layout
) -> None:
    s = sketch.sketch(reference, layout)
    layout_back = sketch.Layout.from_json(json.loads(json.dumps(layout.to_json())))
    sketch_back = sketch.Sketch.from_json(json.loads(json.dumps(s.to_json())))
    assert layout_back == layout
    assert sketch_back == s
    band = bands.calibrate(reference, layout)
    assert {n: bands.Band.from_json(json.loads(json.dumps(b.to_json())))
            for n, b in band.items()} == band


def _shapes(rng: np.random.Generator, rows: int) -> dict[str, np.ndarray]:
    """Numbers of the shapes counting takes different ways: even, skewed, heavy-tailed."""
    return {
        "normal": rng.normal(3.0, 2.0, rows),
        "integers": rng.integers(-500, 500, rows).astype(float),
        "zeros_and_normal": np.where(rng.random(rows) < 0.6, 0.0, rng.normal(size=rows)),
        "tiny": rng.normal(size=rows) * 1e-300,
        "exponential": rng.exponential(40.0, rows),
        "lognormal": rng.lognormal(0.0, 2.5, rows),
        "pareto": rng.pareto(1.0, rows),
        "cauchy": rng.standard_cauchy(rows),
        "outliers": np.where(rng.random(rows) < 0.02, 1e6, rng.normal(size=rows)),
    }


def _by_definition(series: pd.Series, col: sketch.ColumnLayout) -> tuple[list[int], int, int]:
    """Counts, nulls and outside of one column, the slow way the layout defines them."""
    if col.kind == "numeric":
        x = series.to_numpy(dtype="float64", na_value=np.nan)
        x = x[~np.isnan(x)]
        # Bin i is (e_i-1, e_i]: a value's bin is the number of edges below it.
        below = np.searchsorted(np.asarray(col.edges), x, side="left")
        counts = np.bincount(below, minlength=col.bins).tolist()
        outside = int(np.count_nonzero(x < col.low) + np.count_nonzero(x > col.high))
        return counts, int(series.isna().sum()), outside
    labels = Counter(str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)
                     for v in series.astype(object) if not pd.isna(v))
    counts = [labels[c] for c in col.categories]
    unseen = labels.total() - sum(counts)
    return [*counts, unseen], len(series) - labels.total(), unseen


@pytest.mark.parametrize("seed", [0, 1])
def test_counts_are_the_layouts_bins_exactly_for_every_shape_and_dtype(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(seed)
    reference = pd.DataFrame(_shapes(rng, 20_000))
    words = np.array(["north", "south", "east", "west", "a", "naïve", ""])
    reference["region"] = rng.choice(words[:5], 20_000)
    reference["grade"] = rng.integers(0, 6, 20_000).astype(float)
    layout = sketch.layout_of(reference)
    # A batch over two blocks (the second one short), with what a batch brings that the
    # reference did not: nulls, infinities, values on the edges and a hair beside them.
    rows = sketch.BLOCK + 4_465
    batch = pd.DataFrame(_shapes(rng, rows))
    for name in batch:
        x = batch[name].to_numpy().copy()
        edges = np.asarray(layout.columns[name].edges)
        picked = rng.integers(0, rows, (5, 2_000))
        x[picked[0]] = rng.choice(edges, 2_000)
        x[picked[1]] = np.nextafter(rng.choice(edges, 2_000), np.inf)
        x[picked[2]] = np.nextafter(rng.choice(edges, 2_000), -np.inf)
        extremes = [np.inf, -np.inf, -0.0] + ([1e308, -1e308] if name != "normal" else [])
        x[picked[3, :50]] = rng.choice(extremes, 50)
        x[picked[4]] = np.nan
        batch[name] = x
    text = pd.Series(rng.choice(words, rows), dtype=object)
    text[rng.random(rows) < 0.05] = None
    grade = pd.Series(rng.integers(0, 8, rows).astype(float))  # 6 and 7 unseen
    grade[rng.random(rows) < 0.05] = np.nan
    batch = batch.assign(region=text, grade=grade)
    columns = {"region": ["object", "str", "string[python]", "string[pyarrow]", "category"],
               "grade": ["float64", "Int64", "category"]}
    for name, dtypes in columns.items():
        values = text if name == "region" else grade
        for dtype in dtypes:
            whole = batch.assign(**{name: values.astype(dtype)})
            got = sketch.sketch(whole, layout)
            for column, col in layout.columns.items():
                counted = got.columns[column]
                assert (counted.counts, counted.nulls, counted.outside) == _by_definition(
                    whole[column], col), (column, dtype)
    # Every way of counting numbers was taken: even cells, cells even in the bit
    # patterns (skewed positive numbers) and sorting (heavy tails of both signs).
    ways = {name: sketch._grid_of(layout.columns[name].edges) for name in _shapes(rng, 1)}
    assert {"linear" if g and not g.in_bits else "bits" if g else "sorted"
            for g in ways.values()} == {"linear", "bits", "sorted"}
    # Counted a column per thread, as a large batch on an idle machine is: the same.
    monkeypatch.setattr(sketch, "PARALLEL_ROWS", 0)
    monkeypatch.setattr(sketch, "_idle_cores", lambda: 2)
    threaded = sketch.sketch(whole, layout)
    for name, counted in got.columns.items():
        other = threaded.columns[name]
        assert (other.counts, other.nulls, other.outside) == (
            counted.counts, counted.nulls, counted.outside)
        assert np.array_equal([other.total, other.squares], [counted.total, counted.squares],
                              equal_nan=True)  # overflowing sums are nan either way
    x = got.columns["normal"]
    finite = batch["normal"][np.isfinite(batch["normal"])]
    assert x.total == pytest.approx(finite.sum(), rel=1e-9)
    assert x.squares == pytest.approx((finite ** 2).sum(), rel=1e-9)


# -- statistics against their textbook values ----------------------------------------------------


def test_binned_ks_is_scipys_within_the_bin_width(
    reference: pd.DataFrame, layout: sketch.Layout
) -> None:
    batch = _frame(5, 20_000, shift=0.1)
    ref, cur = (sketch.sketch(f, layout).columns["x"].counts for f in (reference, batch))
    exact = scipy_stats.ks_2samp(reference["x"], batch["x"])
    binned = st.ks_distance(ref, cur)
    assert exact.statistic - 0.01 <= binned <= exact.statistic + 1e-12
    p = st.ks_pvalue(exact.statistic, len(reference), len(batch))
    assert p == pytest.approx(
        scipy_stats.ks_2samp(reference["x"], batch["x"], method="asymp").pvalue, rel=0.05)


def test_wasserstein_reads_a_mean_shift_in_standard_deviations(
    reference: pd.DataFrame, layout: sketch.Layout
) -> None:
    col = layout.columns["x"]
    ref = sketch.sketch(reference, layout).columns["x"].counts
    for shift in (0.2, 0.5):
        cur = sketch.sketch(_frame(6, 50_000, shift=shift), layout).columns["x"].counts
        assert st.wasserstein(col, ref, cur) == pytest.approx(shift, abs=0.03)
    assert st.wasserstein(sketch.ColumnLayout("numeric", (0.0, 1.0), std=0.0), [1, 1, 1],
                          [3, 0, 0]) == 0.0


def test_jensen_shannon_and_chi_square_match_their_definitions() -> None:
    # 50/50 against 60/40, natural log: sqrt of half the two Kullback-Leibler divergences
    # to the mixture (55/45).
    kl = lambda p, q: sum(a * math.log(a / b) for a, b in zip(p, q, strict=True))  # noqa: E731
    expected = math.sqrt((kl([.5, .5], [.55, .45]) + kl([.6, .4], [.55, .45])) / 2)
    assert st.jensen_shannon([500, 500], [600, 400]) == pytest.approx(expected, rel=1e-12)
    assert st.jensen_shannon([1, 0], [0, 1]) == pytest.approx(math.sqrt(math.log(2)))
    table = np.array([[500, 300, 200], [560, 280, 160]])
    chi2 = scipy_stats.chi2_contingency(table, correction=False)
    assert st.chi_square_pvalue(*table.tolist()) == pytest.approx(chi2.pvalue, rel=1e-9)
    assert st.chi_square_pvalue([5, 0], [7, 0]) == 1.0  # one bucket: nothing to test
    assert st.chi_square_pvalue([0, 0], [1, 2]) == 1.0
    assert st.ks_pvalue(0.5, 0, 10) == 1.0


def test_psi_pools_fine_bins_into_the_references_deciles() -> None:
    col = sketch.ColumnLayout("numeric", tuple(float(e) for e in range(99)), 0.0, 98.0, 1.0)
    ref = [10] * 100
    assert st.psi(col, ref, ref) == 0.0
    moved = [0] * 50 + [20] * 50  # the lower half emptied into the upper half
    assert st._deciles(ref, moved) == ([100] * 10, [0] * 5 + [200] * 5)
    assert st.psi(col, ref, moved) > 1


# -- the rule --------------------------------------------------------------------------------


def test_the_rule_needs_both_the_effect_and_the_test() -> None:
    layout = sketch.Layout({"c": sketch.ColumnLayout("categorical", categories=("a", "b"))})
    ref = sketch.Sketch(2000, {"c": sketch.ColumnSketch([1000, 1000, 0])})

    def verdict(a: int, b: int, policy: drift.Policy) -> drift.ColumnDrift:
        cur = sketch.Sketch(a + b, {"c": sketch.ColumnSketch([a, b, 0])})
        return drift.compare(layout, ref, cur, None, policy)[0]

    big = verdict(650, 350, drift.Policy())
    assert big.drifted and big.limit == drift.Policy().fallback and big.p_value < 1e-6
    # At the limit exactly: not drifted.
    assert not verdict(650, 350, drift.Policy(threshold=big.value)).drifted
    assert verdict(650, 350, drift.Policy(threshold=big.value * 0.999)).drifted
    # A large effect on too few rows: the test holds it back.
    small = verdict(7, 3, drift.Policy(threshold=0.0))
    assert small.value > 0.1 and small.p_value > 0.001 and not small.drifted
    assert not verdict(650, 350, drift.Policy(alpha=big.p_value)).drifted


def test_the_limit_is_the_band_above_the_floor_unless_fixed() -> None:
    band = bands.Band(mean=0.02, std=0.01, chunk_rows=1000, reference_rows=10_000)
    # At a chunk's size against the whole reference: a little under the chunk's own band.
    scale = math.sqrt((1 / 1000 + 1 / 10_000) / (1 / 1000 + 1 / 9000))
    assert band.upper(1000) == pytest.approx(0.05 * scale)
    assert band.upper(4000, sigmas=2) == pytest.approx(
        0.04 * math.sqrt((1 / 4000 + 1 / 10_000) / (1 / 1000 + 1 / 9000)))
    policy = drift.Policy(floor=0.02)
    assert drift.limit_of(band, 1000, policy) == band.upper(1000)
    # However large the batch, the reference's own sampling noise remains: 0.015 here.
    noise = math.sqrt((1e-9 + 1e-4) / (1 / 1000 + 1 / 9000))
    assert band.upper(10**9) == pytest.approx(0.05 * noise)
    assert drift.limit_of(band, 10**9, policy) == 0.02  # the floor
    assert drift.limit_of(band, 1000, drift.Policy(threshold=0.3)) == 0.3
    assert drift.limit_of(None, 1000, drift.Policy()) == 0.1


def test_bands_come_from_reference_chunks(reference: pd.DataFrame, layout: sketch.Layout) -> None:
    found = bands.calibrate(reference, layout)
    assert set(found) == {"x", "amount", "visits", "plan"}
    x = found["x"]
    assert (x.chunk_rows, x.reference_rows) == (5000, 50_000)
    # Chance Wasserstein between 5,000 rows and 45,000 of one normal: about 0.015 sigma.
    assert 0.005 < x.mean < 0.03 and 0 < x.std < x.mean
    # A small reference is cut into fewer chunks of 50 rows or more; under 5, no band.
    small = bands.calibrate(reference.head(499), layout)["x"]
    assert (small.chunk_rows, small.reference_rows) == (55, 499)
    assert bands.calibrate(reference.head(249), layout) == {}
    assert bands.calibrate(reference, layout, chunks=4) == {}


@pytest.mark.parametrize("rows", [10_000, 200_000])
def test_shifts_of_a_fifth_sigma_are_caught_and_clean_columns_are_not(
    reference: pd.DataFrame, layout: sketch.Layout, rows: int
) -> None:
    ref = sketch.sketch(reference, layout)
    band = bands.calibrate(reference, layout)
    batch = _frame(7, rows, shift=0.2, share=0.6)
    found = {d.column: d for d in drift.compare(layout, ref, sketch.sketch(batch, layout), band)}
    assert found["x"].drifted and found["plan"].drifted
    assert not found["amount"].drifted and not found["visits"].drifted
    clean = drift.compare(layout, ref, sketch.sketch(_frame(8, rows), layout), band)
    assert not any(d.drifted for d in clean)


# -- the report ----------------------------------------------------------------------------------


def test_a_batch_is_described_from_its_sketch(
    reference: pd.DataFrame, layout: sketch.Layout
) -> None:
    from nbmlops.monitor import report

    x = report.describe(layout.columns["x"], sketch.sketch(reference, layout).columns["x"])
    assert x["count"] == 50_000
    assert x["mean"] == pytest.approx(reference["x"].mean(), abs=1e-9)
    assert x["std"] == pytest.approx(reference["x"].std(ddof=0), rel=1e-5)  # 6 digits kept
    exact = reference["x"].quantile(list(report.QUANTILES)).to_list()
    # Read off bins of half a percentile: within that much of the reference's mass.
    for q, value in zip(report.QUANTILES, exact, strict=True):
        got = x["quantiles"][f"{q:g}"]
        assert abs((reference["x"] <= got).mean() - q) <= 0.006
        assert got == pytest.approx(value, abs=0.05)
    plan = report.describe(layout.columns["plan"],
                           sketch.sketch(pd.DataFrame({**_frame(9, 4), "plan": [
                               "pro", "pro", "free", "gold"]}), layout).columns["plan"])
    assert plan == {"count": 4, "shares": {"pro": 0.5, "free": 0.25, sketch.UNSEEN: 0.25}}


def test_the_report_says_what_drifted_since_when_in_json_and_html(
    reference: pd.DataFrame, layout: sketch.Layout
) -> None:
    from nbmlops.monitor import report

    ref = sketch.sketch(reference, layout)
    batch = sketch.sketch(_frame(10, 20_000, shift=0.5, share=0.5), layout)
    found = drift.compare(layout, ref, batch, bands.calibrate(reference, layout))
    data = report.report(layout, ref, batch, found, since={"x": "run-3", "plan": "run-1"},
                         about={"model": "churn@champion", "job": "score", "run": "r9"})
    assert json.loads(json.dumps(data)) == data
    assert (data["drifted"], data["drifted_columns"]) == (True, ["x"])
    by_name = {c["column"]: c for c in data["columns"]}
    assert by_name["x"]["since"] == "run-3" and by_name["plan"]["since"] is None
    assert by_name["x"]["batch"]["mean"] > by_name["x"]["reference"]["mean"] + 0.4
    page = report.html(data, layout, ref, batch)
    assert page.startswith("<!doctype html>") and "<script" not in page
    assert "1 of 4 columns drifted" in page and "churn@champion · score · r9" in page
    assert page.count("<svg") == 4 and page.count("<path fill=") == 4 * 2
    assert page.index("<h2 id='x'>") < page.index("<h2 id='amount'>")  # drifted first
    assert "<th>since</th>" in page and "<td>run-3</td>" in page
    # Where nothing says since when (the kernel, which has no history), no empty column.
    assert "<th>since</th>" not in report.html(report.report(layout, ref, batch, found),
                                               layout, ref, batch)
    # A wide frame: every column in the table, the drifted ones charted, a page MLflow's
    # artifact view still previews.
    wide = pd.DataFrame({f"c{i}": np.random.default_rng(i).normal(size=2000) for i in range(90)})
    wide_layout = sketch.layout_of(wide)
    shifted = wide.assign(c89=wide["c89"] + 1)
    wide_ref, wide_batch = sketch.sketch(wide, wide_layout), sketch.sketch(shifted, wide_layout)
    found = drift.compare(wide_layout, wide_ref, wide_batch)
    wide_page = report.html(report.report(wide_layout, wide_ref, wide_batch, found),
                            wide_layout, wide_ref, wide_batch)
    assert wide_page.count("<svg") == report.CHARTS and "<h2 id='c89'>" in wide_page
    assert "50 more columns, none drifted" in wide_page and len(wide_page) < 100_000


def test_a_report_in_a_few_numbers() -> None:
    from nbmlops.monitor import report

    columns = [
        {"column": "a", "statistic": "wasserstein", "value": 0.3, "psi": 0.2, "outside": 0.01,
         "null_rate": [0.0, 0.1], "figures": {"ks": 0.12}},
        {"column": "b", "statistic": "wasserstein", "value": 0.1, "psi": 0.4, "outside": 0.0,
         "null_rate": [0.0, float("nan")], "figures": {"ks": 0.2}},
        {"column": "c", "statistic": "jensen_shannon", "value": 0.07, "psi": 0.05,
         "outside": 0.3, "null_rate": [0.0, 0.0], "figures": {}},
    ]
    assert report.figures({"columns": columns, "drifted_columns": ["a", "c"]}) == {
        "drifted_columns": 2.0, "drift_share": 2 / 3, "wasserstein": 0.3, "psi": 0.4,
        "outside": 0.3, "null_rate": 0.1, "ks": 0.2, "jensen_shannon": 0.07}
    assert report.figures({"columns": [], "drifted_columns": []}) == {
        "drifted_columns": 0.0, "drift_share": 0.0}


def test_a_reference_is_one_small_file_that_reads_back_whole(
    tmp_path: Path, reference: pd.DataFrame
) -> None:
    from nbmlops.monitor import reference as ref_module

    built = ref_module.build(reference, ["x", "plan"])
    path = tmp_path / "monitor" / "reference.json"
    path.parent.mkdir()
    ref_module.save(built, path)
    assert path.stat().st_size < 20_000
    back = ref_module.load(path)
    assert back == built and set(back.bands) == {"x", "plan"}
    batch = sketch.sketch(_frame(11, 5000, shift=0.3), back.layout)
    assert [d.column for d in drift.compare(back.layout, back.sketch, batch, back.bands)
            if d.drifted] == ["x"]
    with pytest.raises(ValueError, match="unknown reference version 9"):
        ref_module.Reference.from_json({**built.to_json(), "version": 9})


def test_identifiers_free_text_and_secrets_leave_no_value_in_the_layout() -> None:
    rows = 500
    frame = pd.DataFrame({
        "email": [f"user{i}@example.com" for i in range(rows)],
        "api_token": ["tok-a", "tok-b"] * (rows // 2),
        "region": ["north", "south", "east", "west"] * (rows // 4),
        "store_id": np.arange(rows) % 120,  # a numeric code: counted value by value
    })
    layout = sketch.layout_of(frame)
    kinds = {n: c.kind for n, c in layout.columns.items()}
    assert kinds == {"email": "other", "api_token": "other", "region": "categorical",
                     "store_id": "numeric"}
    text = json.dumps(layout.to_json())
    assert "example.com" not in text and "tok-" not in text
    nulls = sketch.sketch(frame.assign(email=None), layout).columns["email"]
    assert (nulls.nulls, nulls.counts) == (rows, [])


def test_a_missing_or_unreadable_reference_is_none_never_an_error(
    tmp_path: Path, reference: pd.DataFrame
) -> None:
    from mlflow import MlflowClient

    from nbmlops import store
    from nbmlops.monitor import reference as ref_module

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    run = client.create_run(client.create_experiment("e", str(tmp_path / "art")))
    run_id = run.info.run_id
    assert ref_module.fetch(uri, run_id, "churn") is None  # registered before monitoring
    folder = tmp_path / "churn"
    folder.mkdir()
    (folder / "reference.json").write_text('{"version": 9}')
    client.log_artifact(run_id, str(folder / "reference.json"),
                        str(Path(store.monitoring_reference_artifact("churn")).parent))
    assert ref_module.fetch(uri, run_id, "churn") is None  # written by a later nbmlops
    built = ref_module.build(reference.head(600), ["x"])
    (folder / "reference.json").write_bytes(built.encoded())
    client.log_artifact(run_id, str(folder / "reference.json"),
                        str(Path(store.monitoring_reference_artifact("churn")).parent))
    assert ref_module.fetch(uri, run_id, "churn") == built
