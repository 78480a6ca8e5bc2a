"""Profiles: exact where they say so, bounded in cost, the same for the same data."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from nbmlops.data import profiles
from nbmlops.data.profiles import artifact_path, is_profilable, profile, summary


def _cols(prof: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    return {c["name"]: c for c in prof["columns"]}


def test_every_pandas_kind_is_profiled() -> None:
    df = pd.DataFrame({
        "f": [1.0, np.nan, 3.0, 4.0],
        "i": [1, 2, 2, 3],
        "b": [True, False, True, True],
        "s": pd.array(["a", None, "b", "a"], dtype="str"),
        "o": pd.Series(["x", None, "y", "x"], dtype=object),
        "c": pd.Categorical(["u", "v", None, "u"]),
        "I": pd.array([1, None, 3, 3], dtype="Int64"),
        "t": pd.to_datetime(["2024-01-01", None, "2024-03-01", "2024-02-01"]),
        "tz": pd.to_datetime(["2024-01-01"] * 4).tz_localize("Europe/Paris"),
    })
    prof = profile(df)
    assert prof["rows"] == 4 and prof["kind"] == "dataframe"
    c = _cols(prof)
    assert [x["name"] for x in prof["columns"]] == list(df.columns)
    assert c["f"]["kind"] == "numeric" and c["f"]["nulls"] == 1 and c["f"]["null_fraction"] == 0.25
    assert (c["f"]["min"], c["f"]["max"], c["f"]["mean"]) == (1.0, 4.0, pytest.approx(8 / 3))
    assert c["f"]["std"] == pytest.approx(np.std([1.0, 3.0, 4.0]))
    assert c["f"]["quantiles"][0] == 1.0 and c["f"]["quantiles"][-1] == 4.0
    assert len(c["f"]["quantiles"]) == profiles.QUANTILES
    assert c["i"]["distinct"] == 3 and c["i"]["distinct_exact"]
    assert c["i"]["top"][0] == [2, 2]  # few distinct numbers: top values too
    assert c["b"]["kind"] == "bool" and c["b"]["top"] == [("True", 3), ("False", 1)]
    for name in ("s", "o"):
        assert c[name]["kind"] == "categorical" and c[name]["nulls"] == 1
    assert dict(c["s"]["top"]) == {"a": 2, "b": 1}
    assert c["c"]["kind"] == "categorical" and c["c"]["nulls"] == 1
    assert dict(c["c"]["top"]) == {"u": 2, "v": 1} and c["c"]["distinct_exact"]
    assert c["I"]["kind"] == "numeric" and c["I"]["nulls"] == 1 and c["I"]["max"] == 3
    assert c["t"]["kind"] == "datetime" and c["t"]["nulls"] == 1
    assert c["t"]["min"].startswith("2024-01-01") and c["t"]["max"].startswith("2024-03-01")
    assert c["tz"]["min"].startswith("2023-12-31T23:00") and c["tz"]["min"].endswith("Z")
    json.dumps(prof, allow_nan=False)  # plain JSON, no NaN


def test_numpy_arrow_and_polars() -> None:
    pl = pytest.importorskip("polars")
    arr = np.array([[1.0, 2.0], [3.0, np.inf], [5.0, 6.0]])
    prof = profile(arr)
    assert [c["name"] for c in prof["columns"]] == ["0", "1"] and prof["rows"] == 3
    assert _cols(prof)["1"]["max"] is None  # infinity is not JSON
    table = pa.table({"n": [1, None, 3], "s": ["a", "b", None], "d": pa.array(["x", "x", "y"])
                      .dictionary_encode(), "ts": pa.array([1, 2, None], pa.timestamp("s"))})
    c = _cols(profile(table))
    assert c["n"]["kind"] == "numeric" and c["n"]["nulls"] == 1 and c["n"]["mean"] == 2.0
    assert c["s"]["kind"] == "categorical" and c["s"]["nulls"] == 1
    assert dict(c["d"]["top"]) == {"x": 2, "y": 1}
    assert c["ts"]["kind"] == "datetime" and c["ts"]["nulls"] == 1
    frame = pl.DataFrame({"a": [1, 2, None], "s": ["p", None, "q"]})
    c = _cols(profile(frame))
    assert c["a"]["dtype"] == "Int64" and c["a"]["nulls"] == 1
    assert c["s"]["nulls"] == 1 and profile(frame["a"])["rows"] == 3
    assert not is_profilable(np.zeros((2, 2, 2))) and not is_profilable([1, 2])
    with pytest.raises(TypeError):
        profile({"a": 1})


def test_large_columns_are_sampled_deterministically_and_stay_close() -> None:
    rng = np.random.default_rng(3)
    n = 300_000
    df = pd.DataFrame({
        "x": rng.normal(10, 2, n),
        "k": rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]),
        "id": np.arange(n),
    })
    first, second = profile(df), profile(df.copy())
    assert first == second  # same data, same sample, same profile
    c = _cols(first)
    assert c["x"]["sample"] == profiles.SAMPLE and c["x"]["count"] == n
    assert c["x"]["mean"] == pytest.approx(df.x.mean())  # exact figures are exact
    median = c["x"]["quantiles"][50]
    assert abs(median - df.x.median()) < 0.05  # sampled ones close
    shares = {k: v / n for k, v in c["k"]["top"]}
    assert shares["a"] == pytest.approx(0.5, abs=0.02)
    assert c["id"]["distinct"] == pytest.approx(n, rel=0.1) and not c["id"]["distinct_exact"]
    assert "top" not in c["id"]  # high cardinality: no top values


def test_high_cardinality_strings_keep_no_values() -> None:
    emails = pd.Series([f"user{i}@example.com" for i in range(500)], name="email")
    col = profile(emails)["columns"][0]
    assert col["kind"] == "string" and "top" not in col and col["distinct"] == 500
    assert col["length"]["min"] >= 16


def test_wide_frames_stop_at_max_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(profiles, "MAX_COLUMNS", 3)
    prof = profile(pd.DataFrame(np.zeros((2, 5))))
    assert len(prof["columns"]) == 3 and prof["columns_not_profiled"] == 2


def test_summary_and_artifact_paths() -> None:
    prof = profile(pd.DataFrame({"a": [1.0, None], "b": [1, 2]}))
    assert summary(prof) == {
        "rows": 2, "columns": 2, "null_fraction": 0.25, "columns_with_nulls": ["a"]
    }
    assert artifact_path("df", "input") == "data/df.json"
    assert artifact_path("df", "output") == "data/df.output.json"
    assert artifact_path("../x y", "input") == "data/_x_y.json"


def test_an_exotic_column_does_not_cost_the_others() -> None:
    df = pd.DataFrame({"ok": [1, 2], "lists": pd.Series([[1], [2, 3]], dtype=object)})
    c = _cols(profile(df))
    assert c["ok"]["kind"] == "numeric" and c["lists"]["kind"] == "other"
    assert c["lists"]["distinct"] == 2
    assert not math.isnan(c["ok"]["mean"])


def test_std_keeps_its_digits_when_the_spread_is_tiny() -> None:
    values = 1e9 + np.random.default_rng(0).normal(0, 1e-3, 10_000)
    col = profile(values)["columns"][0]
    assert col["std"] == pytest.approx(values.std(), rel=1e-6)
    assert profile(np.full(5, 7.0))["columns"][0]["std"] == 0.0


def test_the_public_function() -> None:
    import nbmlops
    import nbmlops.data.expectations
    import nbmlops.data.profiles  # the modules are plural: importing them shadows nothing

    assert nbmlops.profile(pd.Series([1.0, 2.0]))["rows"] == 2
    assert callable(nbmlops.expect) and callable(nbmlops.fingerprint)
