"""Data fingerprints: every change shows, equal content agrees, in any process."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import xxhash
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from nbmlops.data.fingerprints import (
    FingerprintError,
    clear_file_cache,
    describe,
    describe_file,
    fingerprint,
    fingerprint_file,
    is_data,
)
from nbmlops.data.fingerprints import files as fpfiles
from nbmlops.data.fingerprints import stream as fpstream
from nbmlops.exceptions import NbmlopsError

# NBMLOPS_HYPOTHESIS_EXAMPLES=2000 for a long search; the default keeps the suite fast.
PROPERTY = settings(
    max_examples=int(os.environ.get("NBMLOPS_HYPOTHESIS_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# -- column kinds: values -> a Series of one fixed dtype -----------------------------------------

_texts = st.text(max_size=6)
_datetimes = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2100, 1, 1))


def _tz(values: list[Any]) -> pd.Series:
    return pd.Series(values, dtype="datetime64[ns]").dt.tz_localize("UTC").dt.tz_convert(
        "Asia/Tokyo"
    )


KINDS: dict[str, tuple[st.SearchStrategy[Any], Callable[[list[Any]], pd.Series]]] = {
    "int64": (st.integers(-(2**63), 2**63 - 1), lambda v: pd.Series(v, dtype="int64")),
    "int8": (st.integers(-128, 127), lambda v: pd.Series(v, dtype="int8")),
    "float64": (st.floats(), lambda v: pd.Series(v, dtype="float64")),
    "bool": (st.booleans(), lambda v: pd.Series(v, dtype="bool")),
    "datetime": (_datetimes, lambda v: pd.Series(v, dtype="datetime64[ns]")),
    "datetime_tz": (_datetimes, _tz),
    "timedelta": (
        st.timedeltas(min_value=dt.timedelta(days=-10**5), max_value=dt.timedelta(days=10**5)),
        lambda v: pd.Series(v, dtype="timedelta64[ns]"),
    ),
    "category": (
        st.sampled_from(["a", "b", "c", None]),
        lambda v: pd.Series(v, dtype=pd.CategoricalDtype(["a", "b", "c"])),
    ),
    "object": (
        st.one_of(st.none(), _texts, st.just(math.nan), st.just("nan"), st.integers(0, 3)),
        lambda v: pd.Series(v, dtype=object),
    ),
    "str": (st.one_of(st.none(), _texts), lambda v: pd.Series(v, dtype="str")),
    "string_python": (st.one_of(st.none(), _texts), lambda v: pd.Series(v, dtype="string[python]")),
    "string_pyarrow": (
        st.one_of(st.none(), _texts),
        lambda v: pd.Series(v, dtype="string[pyarrow]"),
    ),
    "Int64": (st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)),
              lambda v: pd.Series(v, dtype="Int64")),
    "boolean": (st.one_of(st.none(), st.booleans()), lambda v: pd.Series(v, dtype="boolean")),
    "Float64": (st.one_of(st.none(), st.floats(allow_nan=False)),
                lambda v: pd.Series(v, dtype="Float64")),
}


def _same(a: Any, b: Any) -> bool:
    """Whether two drawn values are the same value for the column (None, NaN, "nan" differ)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if a is None or b is None or type(a) is not type(b):
        return a is b
    return bool(a == b)


@st.composite
def frames(draw: st.DrawFn, min_rows: int = 1) -> tuple[pd.DataFrame, dict[str, list[Any]]]:
    """A frame of 1-4 columns of random kinds, and the values it was built from."""
    n = draw(st.integers(min_rows, 6))
    kinds = draw(st.lists(st.sampled_from(sorted(KINDS)), min_size=1, max_size=4))
    values = {
        f"c{i}_{kind}": draw(st.lists(KINDS[kind][0], min_size=n, max_size=n))
        for i, kind in enumerate(kinds)
    }
    return _build(values), values


def _build(values: dict[str, list[Any]]) -> pd.DataFrame:
    return pd.DataFrame({name: KINDS[name.split("_", 1)[1]][1](v) for name, v in values.items()})


# -- any change changes the fingerprint ---------------------------------------------------------


@PROPERTY
@given(frames(), st.data())
def test_changing_any_single_value_changes_the_fingerprint(
    built: tuple[pd.DataFrame, dict[str, list[Any]]], data: st.DataObject
) -> None:
    df, values = built
    name = data.draw(st.sampled_from(sorted(values)))
    row = data.draw(st.integers(0, len(df) - 1))
    strategy = KINDS[name.split("_", 1)[1]][0]
    new = data.draw(strategy.filter(lambda v: not _same(v, values[name][row])))
    changed = {k: list(v) for k, v in values.items()}
    changed[name][row] = new
    other = _build(changed)
    assume(not other.equals(df))  # e.g. None and NaN are one missing value in "str"
    assert list(other.dtypes) == list(df.dtypes)
    assert fingerprint(other) != fingerprint(df)


@PROPERTY
@given(frames())
def test_renaming_reordering_retyping_or_reindexing_changes_it(
    built: tuple[pd.DataFrame, dict[str, list[Any]]],
) -> None:
    df, _ = built
    base = fingerprint(df)
    assert fingerprint(df.rename(columns={df.columns[0]: df.columns[0] + "x"})) != base
    if df.shape[1] > 1:
        assert fingerprint(df[list(reversed(df.columns))]) != base
    assert fingerprint(df.set_axis(df.index + 1)) != base
    assert fingerprint(df.rename_axis("idx")) != base
    assert fingerprint(df.astype(object)) != base or bool(df.dtypes.eq("object").all())
    assert fingerprint(df.iloc[:-1]) != base
    assert fingerprint(df.T) != base  # labels swap places


def test_dtype_changes_with_equal_values() -> None:
    ints = pd.DataFrame({"a": [1, 2, 3]})
    variants = [
        ints,
        ints.astype("int32"),
        ints.astype("float64"),
        ints.astype("Int64"),
        ints.astype(object),
        ints.astype("category"),
        ints.astype("str"),
    ]
    assert len({fingerprint(v) for v in variants}) == len(variants)


def test_parts_are_length_prefixed() -> None:
    assert fingerprint(pd.Series(["ab", "c"])) != fingerprint(pd.Series(["a", "bc"]))
    assert fingerprint(pd.Series(["ab", "c"], dtype=object)) != fingerprint(
        pd.Series(["a", "bc"], dtype=object)
    )
    assert fingerprint(pd.DataFrame({"ab": [1], "c": [2]})) != fingerprint(
        pd.DataFrame({"a": [1], "bc": [2]})
    )
    assert fingerprint(pd.Series([["a", "b"], ["c"]])) != fingerprint(
        pd.Series([["a"], ["b", "c"]])
    )
    assert fingerprint(np.array([1, 2, 3, 4]).reshape(2, 2)) != fingerprint(np.array([1, 2, 3, 4]))


def test_missing_values_of_object_columns_are_told_apart() -> None:
    variants = [None, math.nan, "nan", "None", "", pd.NA, pd.NaT, 0]
    prints = {fingerprint(pd.Series(["x", v], dtype=object)) for v in variants}
    assert len(prints) == len(variants)
    # In string dtypes pandas has one missing value.
    assert fingerprint(pd.Series(["x", None], dtype="str")) == fingerprint(
        pd.Series(["x", math.nan], dtype="str")
    )
    assert fingerprint(pd.Series(["x", None], dtype="str")) != fingerprint(
        pd.Series(["x", "nan"], dtype="str")
    )


def test_object_values_of_different_types_differ() -> None:
    values = [1, 1.0, True, "1", b"1", (1,), [1], {1: 1}, {1}, dt.date(2020, 1, 1),
              dt.datetime(2020, 1, 1), pd.Timestamp("2020-01-01", tz="UTC"),
              dt.timedelta(1), pd.Period("2020-01", freq="M"), pd.Interval(0, 1),
              np.array([1]), 1 + 0j]
    prints = {fingerprint(pd.Series([v], dtype=object)) for v in values}
    assert len(prints) == len(values)


def test_nullable_values_under_the_mask_do_not_matter() -> None:
    a = pd.array([1, 2, 3], dtype="Int64")
    b = pd.array([1, 9, 3], dtype="Int64")
    a[1] = pd.NA
    b[1] = pd.NA
    assert fingerprint(pd.Series(a)) == fingerprint(pd.Series(b))
    assert fingerprint(pd.Series(a)) != fingerprint(pd.Series([1, 0, 3], dtype="Int64"))


# -- equal content, equal fingerprint -----------------------------------------------------------


@PROPERTY
@given(frames(min_rows=2), st.data())
def test_equal_frames_built_differently_agree(
    built: tuple[pd.DataFrame, dict[str, list[Any]]], data: st.DataObject
) -> None:
    df, values = built
    k = data.draw(st.integers(1, len(df) - 1))
    others = [
        df.copy(deep=True),
        _build(dict(reversed(values.items())))[list(df.columns)],
        pd.concat([df.iloc[:k], df.iloc[k:]]),  # arrow columns in two chunks
        df.iloc[::-1].iloc[::-1],
        df.set_axis(pd.Index(list(range(len(df))), dtype="int64")),  # not a RangeIndex
    ]
    for other in others:
        pd.testing.assert_frame_equal(other, df, check_index_type=False)
        assert fingerprint(other) == fingerprint(df)
    for name in df.columns:
        assert fingerprint(df[name]) == fingerprint(df[name].copy())


@PROPERTY
@given(
    st.sampled_from(["<i8", ">i8", "<f4", "<f8", "?", "<M8[ns]", "<m8[s]", "<c16", "<U3", "S2"]),
    st.integers(1, 6),
    st.integers(1, 6),
)
def test_noncontiguous_and_fortran_arrays_agree_with_copies(dtype: str, n: int, m: int) -> None:
    a = (np.arange(n * m * 2) % 7).astype("int64").astype(dtype).reshape(n, 2 * m)
    view = a[:, ::2]
    assert not view.flags.c_contiguous or m == 1
    assert fingerprint(view) == fingerprint(view.copy())
    assert fingerprint(np.asfortranarray(a)) == fingerprint(a)
    assert fingerprint(a.T) == fingerprint(np.ascontiguousarray(a.T))


def test_numeric_frame_from_a_fortran_block_agrees() -> None:
    block = np.arange(60, dtype="float64").reshape(20, 3)
    a = pd.DataFrame(np.asfortranarray(block), columns=["x", "y", "z"])
    b = pd.DataFrame({"x": block[:, 0].copy(), "y": block[:, 1].copy(), "z": block[:, 2].copy()})
    c = pd.DataFrame(np.ascontiguousarray(block), columns=["x", "y", "z"])
    assert fingerprint(a) == fingerprint(b) == fingerprint(c)


def test_all_nans_are_one_value_but_signed_zeros_differ() -> None:
    plain = np.array([1.0, np.nan])
    negative = plain.copy()
    negative[1] = -np.nan
    assert plain.view("u8")[1] != negative.view("u8")[1]
    assert fingerprint(plain) == fingerprint(negative)
    assert fingerprint(pd.Series(plain)) == fingerprint(pd.Series(negative))
    assert fingerprint(np.array([0.0])) != fingerprint(np.array([-0.0]))
    complex_nans = [np.array([complex(np.nan, 1)]), np.array([complex(np.nan, 2)])]
    assert fingerprint(complex_nans[0]) != fingerprint(complex_nans[1])


def test_string_storage_does_not_matter_but_the_dtype_name_does() -> None:
    values = ["a", None, "ü€", ""]
    python = pd.Series(values, dtype="string[python]")
    arrow = pd.Series(values, dtype="string[pyarrow]")
    assert fingerprint(python) == fingerprint(arrow)
    assert fingerprint(pd.Series(values, dtype="str")) != fingerprint(arrow)
    assert fingerprint(pd.Series(values, dtype=object)) != fingerprint(arrow)


def test_index_and_multiindex() -> None:
    assert fingerprint(pd.RangeIndex(5)) == fingerprint(pd.Index(np.arange(5)))
    assert fingerprint(pd.RangeIndex(0, 10, 3)) == fingerprint(pd.Index([0, 3, 6, 9]))
    mi = pd.MultiIndex.from_product([["a", "b", "c"], [1, 2]], names=["k", "n"])
    sliced = mi[2:4]  # keeps the unused levels "a" and "c"
    fresh = pd.MultiIndex.from_tuples(list(sliced), names=["k", "n"])
    assert fingerprint(sliced) == fingerprint(fresh)
    assert fingerprint(mi) != fingerprint(mi.set_names(["k", "m"]))
    s = pd.Series(range(6), index=mi)
    assert fingerprint(s) != fingerprint(s.reset_index(drop=True))
    assert fingerprint(s) != fingerprint(s.swaplevel())


def test_other_extension_dtypes() -> None:
    cases = [
        pd.Series(pd.period_range("2020-01", periods=3, freq="M")),
        pd.Series(pd.interval_range(0, 3)),
        pd.Series(pd.arrays.SparseArray([0.0, 0.0, 1.0])),
        pd.Series([1, None, 3], dtype="int64[pyarrow]"),
        pd.Series(pd.date_range("2020", periods=3, tz="Europe/Paris")),
    ]
    for s in cases:
        assert fingerprint(s) == fingerprint(s.copy())
        assert fingerprint(s) != fingerprint(s.iloc[::-1].reset_index(drop=True))


def test_structured_and_masked_arrays() -> None:
    rec = np.array([(1, 2.0), (3, 4.0)], dtype=[("a", "i4"), ("b", "f8")])
    assert fingerprint(rec) == fingerprint(rec.copy())
    rec2 = rec.copy()
    rec2["b"][1] = 5.0
    assert fingerprint(rec2) != fingerprint(rec)
    m1 = np.ma.masked_array([1, 2, 3], mask=[0, 1, 0])
    assert fingerprint(m1) != fingerprint(np.ma.masked_array([1, 2, 3], mask=[0, 0, 0]))


def test_object_ndarrays() -> None:
    a = np.array([["a", None], [1.5, ("t", 2)]], dtype=object)
    assert fingerprint(a) == fingerprint(a.copy())
    assert fingerprint(a[:, 0]) == fingerprint(a[:, 0].copy())
    b = a.copy()
    b[1, 1] = ("t", 3)
    assert fingerprint(a) != fingerprint(b)


def test_unsupported_objects_raise() -> None:
    assert issubclass(FingerprintError, NbmlopsError)
    for bad in (object(), "a string", 3, [1, 2], {"a": 1}):
        with pytest.raises(FingerprintError):
            fingerprint(bad)
    with pytest.raises(FingerprintError, match="inside the data"):
        fingerprint(pd.Series([object()]))
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(FingerprintError):
        fingerprint(pd.Series([loop], dtype=object))


# -- stable across processes --------------------------------------------------------------------

_FIXTURES = textwrap.dedent("""
    import datetime as dt, json, math
    import numpy as np, pandas as pd
    from nbmlops.data.fingerprints import fingerprint
    objs = [
        pd.DataFrame({"i": [1, 2, 3], "f": [0.5, math.nan, 2.0], "s": ["a", None, "c"],
                      "o": pd.Series([{"k": {1, 2}}, None, math.nan], dtype=object),
                      "c": pd.Categorical(["x", "y", "x"]),
                      "t": pd.date_range("2020", periods=3, tz="UTC"),
                      "n": pd.array([1, None, 3], dtype="Int64")},
                     index=pd.Index(["r1", "r2", "r3"], name="row")),
        pd.Series([frozenset({"a", "b", "c"}), {"z": 1, "y": 2}], dtype=object),
        np.arange(12, dtype="float32").reshape(3, 4)[:, ::2],
        np.array(["x", None, (1, "y")], dtype=object),
        pd.MultiIndex.from_product([["a", "b"], [dt.date(2020, 1, 1)]]),
    ]
    import polars as pl, pyarrow as pa
    objs += [
        pa.table({"i": [1, None], "s": ["a", None], "l": [[1], None],
                  "d": pa.array(["x", "y"]).dictionary_encode()}),
        pl.DataFrame({"i": [1, None], "s": ["a", None],
                      "c": pl.Series(["u", "v"], dtype=pl.Categorical)}),
    ]
    print(json.dumps([fingerprint(o) for o in objs]))
""")


def test_fingerprints_are_equal_across_processes() -> None:
    runs = []
    for seed in ("1", "2"):
        out = subprocess.run(
            [sys.executable, "-c", _FIXTURES],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True, text=True, check=True, timeout=60,
        )
        runs.append(json.loads(out.stdout))
    namespace: dict[str, Any] = {}
    captured: list[str] = []
    namespace["print"] = captured.append
    exec(_FIXTURES, namespace)
    assert runs[0] == runs[1] == json.loads(captured[0])
    assert len(set(runs[0])) == len(runs[0])


# -- files --------------------------------------------------------------------------------------


def _old(path: Path) -> None:
    """Give a file an old mtime, so it is past the racy window and may be cached."""
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))


def test_file_fingerprint_is_xxh3_128_of_the_bytes(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    payload = os.urandom(3 * fpfiles._FILE_CHUNK + 17)
    path.write_bytes(payload)
    assert fingerprint_file(path) == xxhash.xxh3_128(payload).hexdigest()
    assert fingerprint(path) == fingerprint_file(str(path))
    record = describe_file(str(path), "input")
    assert (record.kind, record.size_bytes, record.source) == ("file", len(payload), str(path))


def test_unchanged_files_are_not_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clear_file_cache()
    reads: list[str] = []
    real_open = open

    def counting_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        reads.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(fpfiles, "open", counting_open, raising=False)
    path = tmp_path / "data.bin"
    path.write_bytes(b"one")
    _old(path)
    first = fingerprint_file(path)
    assert fingerprint_file(path) == first
    assert len(reads) == 1

    # Same size, same (restored) mtime: the ctime still tells the content changed.
    path.write_bytes(b"two")
    _old(path)
    second = fingerprint_file(path)
    assert second != first and len(reads) == 2

    # Touching re-reads (the content, and so the fingerprint, is the same).
    os.utime(path, ns=(2_000_000_000, 2_000_000_000))
    assert fingerprint_file(path) == second and len(reads) == 3


def test_freshly_written_files_are_not_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clear_file_cache()
    path = tmp_path / "fresh.bin"
    path.write_bytes(b"aaaa")
    first = fingerprint_file(path)
    stat_before = path.stat()
    path.write_bytes(b"bbbb")  # within the same clock tick, size and mtime may not change
    os.utime(path, ns=(stat_before.st_atime_ns, stat_before.st_mtime_ns))
    assert fingerprint_file(path) != first


def test_directories_hash_their_files(tmp_path: Path) -> None:
    root = tmp_path / "parquet"
    (root / "part=1").mkdir(parents=True)
    (root / "part=1" / "a.bin").write_bytes(b"a")
    (root / "b.bin").write_bytes(b"b")
    first = fingerprint_file(root)
    assert describe_file(root, "input").kind == "directory"
    (root / "part=1" / "a.bin").rename(root / "part=1" / "c.bin")
    assert fingerprint_file(root) != first


def test_missing_files_raise(tmp_path: Path) -> None:
    with pytest.raises(FingerprintError):
        fingerprint_file(tmp_path / "nope.csv")
    with pytest.raises(FingerprintError):
        describe_file(tmp_path / "nope.csv", "input")


# -- describe, is_data, speed -------------------------------------------------------------------


def test_describe_and_is_data() -> None:
    df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    rec = describe("df", df, "output")
    assert (rec.kind, rec.shape, rec.source, rec.context) == (
        "dataframe", [2, 2], "variable:df", "output"
    )
    assert rec.schema == [{"name": "a", "dtype": "int64"}, {"name": "b", "dtype": "str"}]
    assert rec.fingerprint == fingerprint(df) and len(rec.fingerprint) == 32
    assert rec.size_bytes > 0
    s = describe("s", df["a"], "input", source="file:/x")
    assert (s.kind, s.schema, s.source) == ("series", [{"name": "a", "dtype": "int64"}], "file:/x")
    arr = describe("arr", np.zeros((2, 3), dtype="float32"), "input")
    assert (arr.kind, arr.shape, arr.schema, arr.size_bytes) == (
        "ndarray", [2, 3], [{"name": "arr", "dtype": "float32"}], 24
    )
    assert all(is_data(x) for x in (df, df["a"], np.zeros(1)))
    assert not any(is_data(x) for x in (1, "x", [1], df.index, None))


def test_batches_and_chunks_do_not_change_the_result(monkeypatch: pytest.MonkeyPatch) -> None:
    values = ["a", None, "bc", math.nan, "ü", "", None, "d"]
    objects = pd.Series(values, dtype=object)
    mixed = pd.Series([1, "a", None, (2,), 3.5, "b", b"c"], dtype=object)
    arrow = pd.Series(values, dtype="str")
    chunked = pd.concat([arrow.iloc[:3], arrow.iloc[3:5], arrow.iloc[5:]])
    ranged = pd.RangeIndex(2, 40, 3)
    before = [fingerprint(x) for x in (objects, mixed, arrow, ranged)]
    assert fingerprint(chunked) == before[2]
    monkeypatch.setattr(fpstream, "_BATCH", 3)
    monkeypatch.setattr(fpstream, "_NUMERIC_BLOCK", 16)
    assert [fingerprint(x) for x in (objects, mixed, arrow, ranged)] == before
    floats = np.array([1.0, -np.nan, 2.0, np.nan, 3.0])
    assert fingerprint(floats) == fingerprint(np.array([1.0, np.nan, 2.0, np.nan, 3.0]))


# -- Arrow and polars ---------------------------------------------------------------------------

_ARROW_KINDS: dict[str, tuple[st.SearchStrategy[Any], Any]] = {
    "int64": (st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)), "int64"),
    "float64": (st.one_of(st.none(), st.floats()), "float64"),
    "string": (st.one_of(st.none(), _texts), "string"),
    "bool": (st.one_of(st.none(), st.booleans()), "bool"),
    "timestamp": (st.one_of(st.none(), _datetimes), "timestamp[us]"),
    "int8": (st.one_of(st.none(), st.integers(-128, 127)), "int8"),
}


@st.composite
def arrow_tables(draw: st.DrawFn) -> tuple[Any, dict[str, list[Any]]]:
    n = draw(st.integers(1, 6))
    kinds = draw(st.lists(st.sampled_from(sorted(_ARROW_KINDS)), min_size=1, max_size=4))
    values = {
        f"c{i}_{kind}": draw(st.lists(_ARROW_KINDS[kind][0], min_size=n, max_size=n))
        for i, kind in enumerate(kinds)
    }
    return _arrow(values), values


def _arrow(values: dict[str, list[Any]]) -> Any:
    import pyarrow as pa

    return pa.table({
        name: pa.array(v, type=pa.type_for_alias(_ARROW_KINDS[name.split("_", 1)[1]][1]))
        for name, v in values.items()
    })


@PROPERTY
@given(arrow_tables(), st.data())
def test_changing_any_value_of_an_arrow_table_changes_it(
    built: tuple[Any, dict[str, list[Any]]], data: st.DataObject
) -> None:
    import pyarrow as pa

    table, values = built
    before = fingerprint(table)
    name = data.draw(st.sampled_from(sorted(values)))
    row = data.draw(st.integers(0, len(values[name]) - 1))
    new = data.draw(_ARROW_KINDS[name.split("_", 1)[1]][0])
    assume(not _same(new, values[name][row]))
    changed = {**values, name: [*values[name][:row], new, *values[name][row + 1:]]}
    assert fingerprint(_arrow(changed)) != before
    # any chunking of the same table, and a RecordBatch of it, agree
    cut = data.draw(st.integers(0, table.num_rows))
    rechunked = pa.concat_tables([table.slice(0, cut), table.slice(cut)])
    assert fingerprint(rechunked) == before == fingerprint(table.combine_chunks().to_batches()[0])


def test_arrow_types_names_and_dictionaries() -> None:
    import pyarrow as pa

    base = pa.table({"a": [1, 2], "b": ["x", "y"]})
    assert fingerprint(base) != fingerprint(base.rename_columns(["a", "c"]))
    assert fingerprint(base) != fingerprint(base.select(["b", "a"]))
    assert fingerprint(base) != fingerprint(base.cast(pa.schema({"a": pa.int32(),
                                                                 "b": pa.string()})))
    assert fingerprint(base) != fingerprint(base.cast(pa.schema({"a": pa.int64(),
                                                                 "b": pa.large_string()})))
    # the same values under differently built dictionaries
    one = pa.chunked_array([pa.array(["x", "y", "x"]).dictionary_encode()])
    two = pa.chunked_array([pa.array(["x"]).dictionary_encode(),
                            pa.array(["y", "x"]).dictionary_encode()])
    assert fingerprint(one) == fingerprint(two)
    nested = pa.array([[1, 2], None, []])
    assert fingerprint(nested) != fingerprint(pa.array([[1, 2], [], None]))
    assert fingerprint(pa.array([1.0, float("nan")])) != fingerprint(pa.array([1.0, None]))
    assert is_data(base) and is_data(one) and is_data(base.to_batches()[0])
    record = describe("t", base, "input")
    assert (record.kind, record.shape, record.schema) == (
        "arrow-table", [2, 2], [{"name": "a", "dtype": "int64"}, {"name": "b", "dtype": "string"}]
    )


def test_polars_frames_and_series() -> None:
    pl = pytest.importorskip("polars")
    df = pl.DataFrame({"a": [1, None, 3], "s": ["x", None, "z"], "f": [0.5, float("nan"), 1.0]})
    before = fingerprint(df)
    stacked = pl.concat([df.slice(0, 1), df.slice(1)], rechunk=False)
    assert stacked.n_chunks() > 1 and fingerprint(stacked) == before
    assert fingerprint(df.with_columns(pl.col("a").cast(pl.Int32))) != before
    assert fingerprint(df.with_columns(pl.lit(4).alias("a"))) != before
    assert fingerprint(df.rename({"s": "t"})) != before
    assert fingerprint(df["a"]) != fingerprint(df["a"].alias("b"))
    record = describe("df", df, "input")
    assert record.kind == "polars-dataframe" and record.schema[0] == {"name": "a",
                                                                      "dtype": "Int64"}
    assert is_data(df) and is_data(df["a"]) and not is_data(df.lazy())


# -- files: kept on disk across processes -------------------------------------------------------


def test_unchanged_big_files_are_read_once_for_all_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBMLOPS_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "big.parquet"
    path.write_bytes(os.urandom(fpfiles._DISK_CACHE_MIN + 10))
    _old(path)
    code = (
        "import sys\nfrom nbmlops.data.fingerprints import fingerprint_file\n"
        "print(fingerprint_file(sys.argv[1]))"
    )
    first = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                           text=True, check=True, timeout=60).stdout.strip()
    assert (tmp_path / "cache" / "file-fingerprints.sqlite").is_file()

    clear_file_cache()  # this process has never seen the file
    reads: list[str] = []
    real_open = open

    def counting_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        reads.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(fpfiles, "open", counting_open, raising=False)
    assert fingerprint_file(path) == first and reads == []

    # rewritten with the same size and mtime: the ctime tells, the file is read again
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    _old(path)
    clear_file_cache()
    assert fingerprint_file(path) != first and reads == [str(path)]
    clear_file_cache(disk=True)
    clear_file_cache()
    fingerprint_file(path)
    assert len(reads) == 2


def test_an_unusable_disk_cache_only_means_reading_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("NBMLOPS_CACHE", str(blocker / "cache"))
    path = tmp_path / "big.bin"
    path.write_bytes(b"x" * (fpfiles._DISK_CACHE_MIN + 1))
    _old(path)
    clear_file_cache()
    assert fingerprint_file(path) == xxhash.xxh3_128(path.read_bytes()).hexdigest()


def test_the_public_function() -> None:
    import nbmlops
    import nbmlops.data.fingerprints

    df = pd.DataFrame({"a": [1, 2]})
    assert callable(nbmlops.fingerprint)  # the submodule is "fingerprints": no shadowing
    assert nbmlops.fingerprint(df) == nbmlops.data.fingerprints.fingerprint(df) == fingerprint(df)
    assert "32 hex characters" in (nbmlops.fingerprint.__doc__ or "")


def test_the_package_imports_no_data_library_itself(tmp_path: Path) -> None:
    # It runs in the user's kernel on every tracked cell: only what the user imported is looked at.
    path = tmp_path / "data.csv"
    path.write_bytes(b"a\n1\n")
    code = (
        "import sys\nimport nbmlops.data.fingerprints as f\n"
        "f.fingerprint_file(sys.argv[1]); f.is_data(1)\n"
        "print([m for m in ('numpy', 'pandas', 'pyarrow', 'polars', 'mlflow') "
        "if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "[]"


# -- pinned: a changed digest makes every recorded run look changed -----------------------------


def _known_inputs() -> dict[str, Any]:
    """Small inputs that reach every kind of column and value the canonical stream has."""
    import decimal

    import pyarrow as pa

    nested = pd.DataFrame({"x": [1]})
    values = [None, math.nan, pd.NA, pd.NaT, "nan", "s", b"b", 1, 2.5, -0.0, 1 + 2j, True,
              (1, "a"), [2, [3]], {"k": {1, 2}}, frozenset({"z"}), decimal.Decimal("1.10"),
              dt.date(2020, 1, 2), dt.time(3, 4), dt.datetime(2020, 1, 2, 3, 4, 5, 6),
              dt.timedelta(days=1, microseconds=7), pd.Timestamp("2020-01-02 00:00:00.000000001"),
              pd.Timedelta(1, "ns"), np.int64(4), np.float32(0.5), np.bool_(False),
              np.datetime64("2020-01-01", "D"), np.timedelta64(3, "s"), np.uint8(9),
              np.array([1, 2]), nested, pd.Period("2020-01", "M"), pd.Interval(0, 1, "left"),
              np.str_("x")]
    rows = pd.Index(["r1", "r2", "r3"], dtype=object, name="row")
    frame = pd.DataFrame(
        {
            "i": np.array([1, -2, 3], dtype="int64"),
            "f": np.array([0.5, np.nan, -0.0], dtype="float64"),
            "b": np.array([True, False, True]),
            "o": pd.Series(["a", None, math.nan], dtype=object, index=rows),
            "u": pd.Series(["é", "b", "c"], dtype=object, index=rows),
            "c": pd.Categorical(["x", "y", "x"], categories=pd.Index(["y", "x"], dtype=object),
                                ordered=True),
            "t": pd.DatetimeIndex(["2020-01-01", None, "2020-01-03"],
                                  dtype="datetime64[ns]").tz_localize("UTC"),
            "d": np.array([1, 2, 3], dtype="timedelta64[ns]"),
            "n": pd.array([1, None, 3], dtype="Int64"),
            "N": pd.array([1, 2, 3], dtype="Int64"),
            "g": pd.array([0.5, None, 1.5], dtype="Float64"),
            "l": pd.array([True, None, False], dtype="boolean"),
            "sp": pd.array(["a", None, "c"], dtype="string[python]"),
            "sa": pd.array(["a", None, "ç"], dtype="string[pyarrow]"),
            "p": pd.period_range("2020-01", periods=3, freq="M"),
            "v": pd.arrays.IntervalArray.from_breaks([0, 1, 2, 3]),
            "ai": pd.array([1, None, 3], dtype="int64[pyarrow]"),
            "as": pd.array(["a", None, "c"], dtype=pd.ArrowDtype(pa.large_string())),
        },
        index=rows,
    )
    table = pa.table({
        "i": pa.array([1, None, 3], pa.int64()),
        "f": pa.array([1.0, float("nan"), None], pa.float64()),
        "h": pa.array([1.5, None, 2.5], pa.float32()),
        "b": pa.array([True, None, False]),
        "s": pa.array(["a", None, "c"], pa.string()),
        "sv": pa.array(["a", "b", None], pa.string_view()),
        "L": pa.array(["a", "b", None], pa.large_string()),
        "y": pa.array([b"a", None, b"c"], pa.binary()),
        "d": pa.array(["x", "y", "x"]).dictionary_encode(),
        "n": pa.array([[1], None, []], pa.list_(pa.int64())),
        "r": pa.array([{"a": 1}, None, {"a": 2}]),
        "t": pa.array([0, 1, None], pa.timestamp("us", tz="UTC")),
        "m": pa.array([decimal.Decimal("1.5"), None, decimal.Decimal("2.25")],
                      pa.decimal128(5, 2)),
        "z": pa.array([b"ab", b"cd", None], pa.binary(2)),
    })
    inputs: dict[str, Any] = {
        "frame": frame,
        "series": pd.Series([1.5, 2.5], index=pd.RangeIndex(2, 6, 2), name=("a", 1)),
        "index": pd.Index([3, 1, 2], name="k"),
        "multiindex": pd.MultiIndex.from_arrays([["a", "b"], [dt.date(2020, 1, 1), None]],
                                                names=["x", None]),
        "objects": pd.Series(values, dtype=object),
        "ndarray": np.arange(12, dtype="float32").reshape(3, 4)[:, ::2],
        "complex": np.array([1 + 1j, complex(math.nan, 0)]),
        "nans": np.array([1.0, np.nan, -np.nan, np.inf - np.inf], dtype="float32"),
        "infinities": np.array([np.inf, -np.inf, 0.0]),
        "object_missing": pd.Series(["a", None, math.nan, pd.NA, pd.NaT, "nan",
                                     np.datetime64("NaT")], dtype=object),
        "fixed": np.array(["ab", "c"], dtype="U2"),
        "bytes": np.array([b"ab", b"c"], dtype="S2"),
        "datetime64": np.array(["2020-01-01", "NaT"], dtype="datetime64[s]"),
        "masked": np.ma.masked_array([1, 2, 3], mask=[False, True, False]),
        "structured": np.array([(1, 2.0), (3, 4.0)], dtype=[("a", "i1"), ("b", "f8")]),
        "object_ndarray": np.array(["x", None, (1, "y"), np.array([1.0])], dtype=object),
        "arrow_table": table,
        "arrow_batch": table.select(["i", "s"]).combine_chunks().to_batches()[0],
        "arrow_chunked": pa.chunked_array([pa.array([1, 2]), pa.array([None, 4])]),
        "arrow_array": pa.array(["x", None]),
    }
    pl = pytest.importorskip("polars")
    inputs["polars_frame"] = pl.DataFrame({"i": [1, None], "s": ["a", None],
                                           "c": pl.Series(["u", "v"], dtype=pl.Categorical)})
    inputs["polars_series"] = pl.Series("f", [0.5, None, float("nan")])
    return inputs


#: Every run recorded so far holds digests like these: a change here is a new scheme (``_SCHEME``
#: in the stream), never a side effect of rearranging the code. The same on every machine (the
#: stream is little-endian and never uses Python's salted hash); the dtypes are spelled out where
#: pandas would infer one, since a dtype's name is part of the stream.
PINNED: dict[str, str] = {
    "frame": "c7f739afcdb0ceb22308ebc21888eb04",
    "series": "cde81169a25091b1a9bd196d4e0918c1",
    "index": "c965739ef1ef90c928bb3101125200db",
    "multiindex": "855845ce5162ff7de17f7bdef5caf708",
    "objects": "820d88a629884b35549ba067a11abb80",
    "ndarray": "11403dfdd64036864b7c38185744c836",
    "complex": "cd043e42d07e5631fc8454402c867bb3",
    "nans": "f67c45253b887bf0d1ee184433839453",
    "infinities": "882b5eed26cb01775b53cbd8ba8dbb0d",
    "object_missing": "a280b197533e6b0884c1012392918234",
    "fixed": "8c1bc1e25c3a5d9a65d63c2c855d355a",
    "bytes": "e6f0f56822722b53aa57c61d25e7fb4d",
    "datetime64": "5bf0f64b49ae756bd404373266795831",
    "masked": "52650cc23ec3fa227ac09f5172efa667",
    "structured": "56d3e9fddf0854e9e4d0eb1de3513e37",
    "object_ndarray": "0bfd8f4f9831e0e8e7d13faffcd2fa8f",
    "arrow_table": "648312e8d1552ba370291203790fc193",
    "arrow_batch": "9a6251c6c2e26e90a51d3b4839af6699",
    "arrow_chunked": "7f2f5fb4383a0cfc3c2adaaa96e08c0f",
    "arrow_array": "0ef07319d77f6189061ace4b66fdc6d9",
    "polars_frame": "e251b366e06aff57b4aced7b36f944ff",
    "polars_series": "fc1eba9685250198be422810670266e4",
    "file": "92fcd34ad9355cf42d2c2a90515d6184",
    "folder": "d43f9bfaccc91bfdd134fbc4b5fdd27b",
}


def test_known_inputs_keep_their_digests(tmp_path: Path) -> None:
    found = {name: fingerprint(obj) for name, obj in _known_inputs().items()}
    (tmp_path / "folder" / "sub").mkdir(parents=True)
    (tmp_path / "folder" / "a.csv").write_bytes(b"x,y\n1,2\n")
    (tmp_path / "folder" / "sub" / "b.bin").write_bytes(bytes(range(256)))
    found["file"] = fingerprint_file(tmp_path / "folder" / "a.csv")
    found["folder"] = fingerprint_file(tmp_path / "folder")
    assert found == PINNED
