"""Arrow and polars data: tables, record batches, arrays and chunked arrays, and polars frames
and series by their polars schema and their Arrow buffers.

How a column is split into chunks never shows: each part (lengths, bytes, nulls) of a column
has a hasher of its own across its chunks. Nested types are hashed value by value.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

import xxhash

from nbmlops.data.fingerprints import stream
from nbmlops.data.fingerprints.stream import _NA, _canonical_nans, _Hasher, _Strings, _Summary
from nbmlops.data.fingerprints.values import _encode_value
from nbmlops.exceptions import FingerprintError

# The batch sizes are read from :mod:`.stream` at each call (``stream._BATCH``): one place
# to make them small, so a test can cross batch and block boundaries with small data.


def _add_arrow_strings(out: _Strings, chunks: Iterable[Any], missing_code: int) -> None:
    """Feed Arrow string or binary chunks into ``out``: offsets and data buffers as they are,
    the lengths computed per block so the temporary copy stays small (8 bytes per value of a
    block, not of the column)."""
    np = sys.modules["numpy"]
    pa = sys.modules["pyarrow"]
    import pyarrow.compute as pc  # loaded with pyarrow itself

    for chunk in chunks:
        t = chunk.type
        if pa.types.is_string_view(t) or pa.types.is_binary_view(t):
            t = pa.large_string() if pa.types.is_string_view(t) else pa.large_binary()
            chunk = chunk.cast(t)
        elif not (pa.types.is_large_string(t) or pa.types.is_string(t)
                  or pa.types.is_large_binary(t) or pa.types.is_binary(t)):
            chunk = chunk.cast(pa.large_string())
            t = chunk.type
        missing = None
        if chunk.null_count:
            # A null slot may still point at bytes: fill it so only values reach the stream.
            missing = np.flatnonzero(chunk.is_null().to_numpy(zero_copy_only=False))
            text = pa.types.is_string(t) or pa.types.is_large_string(t)
            chunk = pc.fill_null(chunk, "" if text else b"")
        _, offsets_buf, data_buf = chunk.buffers()[:3]
        width = 8 if pa.types.is_large_string(t) or pa.types.is_large_binary(t) else 4
        offsets = np.frombuffer(
            offsets_buf, dtype=f"<i{width}", count=len(chunk) + 1, offset=chunk.offset * width
        )
        data = memoryview(data_buf) if data_buf is not None else memoryview(b"")
        for i in range(0, len(chunk), stream._BATCH):
            block = offsets[i : i + stream._BATCH + 1]
            missing_at = codes = None
            if missing is not None:
                lo, hi = np.searchsorted(missing, [i, i + len(block) - 1])
                if hi > lo:
                    missing_at = missing[lo:hi] - i
                    codes = np.full(hi - lo, missing_code, np.uint8)
            out.add(np.diff(block), data[block[0] : block[-1]], missing_at, codes)


def _arrow_kind(obj: Any) -> str | None:
    pa = sys.modules.get("pyarrow")
    if pa is None:
        return None
    if isinstance(obj, (pa.Table, pa.RecordBatch)):
        return "arrow-table"
    if isinstance(obj, (pa.Array, pa.ChunkedArray)):
        return "arrow-array"
    return None


def _polars_kind(obj: Any) -> str | None:
    pl = sys.modules.get("polars")
    if pl is None:
        return None
    if isinstance(obj, pl.DataFrame):
        return "polars-dataframe"
    if isinstance(obj, pl.Series):
        return "polars-series"
    return None


def _hash_arrow_object(h: _Hasher, obj: Any, kind: str) -> _Summary:
    h.text(kind)
    if kind == "arrow-table":  # a RecordBatch is a table of one chunk per column
        h.int(obj.num_rows)
        h.int(obj.num_columns)
        schema = [(field.name, str(field.type)) for field in obj.schema]
        for name, _ in schema:
            h.text(name)
        for column in obj.columns:
            _hash_arrow_column(h, column)
        return _Summary(kind, [obj.num_rows, obj.num_columns], schema, int(obj.nbytes))
    _hash_arrow_column(h, obj)
    return _Summary(kind, [len(obj)], [(None, str(obj.type))], int(obj.nbytes))


def _hash_polars_object(h: _Hasher, obj: Any, kind: str) -> _Summary:
    """A polars frame or series: its polars schema, then its values as Arrow buffers
    (``to_arrow`` shares polars' memory for numbers; strings are converted)."""
    h.text(kind)
    try:
        if kind == "polars-dataframe":
            schema = [(name, str(dtype)) for name, dtype in obj.schema.items()]
            h.int(obj.height)
            h.int(obj.width)
            for name, dtype in schema:
                h.text(name)
                h.text(dtype)
            for column in obj.to_arrow().columns:
                _hash_arrow_column(h, column)
            return _Summary(kind, [obj.height, obj.width], schema, int(obj.estimated_size()))
        h.text(obj.name)
        h.text(str(obj.dtype))
        _hash_arrow_column(h, obj.to_arrow())
    except FingerprintError:
        raise
    except Exception as e:  # a dtype Arrow cannot hold (polars Object)
        raise FingerprintError(f"cannot fingerprint this polars data: {e}") from None
    return _Summary(kind, [len(obj)], [(obj.name, str(obj.dtype))], int(obj.estimated_size()))


def _hash_arrow_column(h: _Hasher, column: Any) -> None:
    """An Arrow Array or ChunkedArray: type, length, then values by kind of type."""
    pa = sys.modules["pyarrow"]
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    t = column.type
    h.text(str(t))
    h.int(len(column))
    h.int(column.null_count)
    if pa.types.is_dictionary(t):
        # Codes depend on how each chunk built its dictionary: hash the values they stand for.
        chunks = [chunk.dictionary_decode() for chunk in chunks]
        t = t.value_type
    if (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)
            or pa.types.is_binary(t) or pa.types.is_large_binary(t)
            or pa.types.is_binary_view(t)):
        out = _Strings()
        _add_arrow_strings(out, chunks, _NA)
        out.finish(h)
    elif pa.types.is_boolean(t) or _arrow_width(t):
        _hash_arrow_fixed(h, chunks, t)
    else:  # nested types (list, struct, map, ...): per value, slow but exact
        h.text("objects")
        for chunk in chunks:
            for i in range(0, len(chunk), stream._BATCH):
                h.raw(b"".join(map(_encode_value, chunk.slice(i, stream._BATCH).to_pylist())))


def _arrow_width(t: Any) -> int:
    """Bytes per value of a fixed-width Arrow type whose data buffer can be hashed as it is
    (0 for any other type)."""
    pa = sys.modules["pyarrow"]
    if (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_temporal(t)
            or pa.types.is_decimal(t) or pa.types.is_fixed_size_binary(t)):
        return int(t.bit_width) // 8 if t.bit_width % 8 == 0 else 0
    return 0


def _hash_arrow_fixed(h: _Hasher, chunks: Iterable[Any], t: Any) -> None:
    """Fixed-width values: the data buffers (null slots zeroed: their bytes are arbitrary),
    and the null positions, each in its own hasher so chunk boundaries do not matter."""
    np = sys.modules["numpy"]
    pa = sys.modules["pyarrow"]
    import pyarrow.compute as pc

    values, nulls = xxhash.xxh3_128(), xxhash.xxh3_128()
    width = _arrow_width(t)
    count = 0
    for chunk in chunks:
        n = len(chunk)
        mask = chunk.is_null().to_numpy(zero_copy_only=False) if chunk.null_count else None
        if pa.types.is_boolean(t):  # bit-packed: one byte per value
            data = (pc.fill_null(chunk, False) if mask is not None else chunk).to_numpy(
                zero_copy_only=False
            ).view(np.uint8)
        else:
            buf = chunk.buffers()[1]
            data = np.frombuffer(buf, dtype=np.uint8, count=n * width, offset=chunk.offset * width)
            if mask is not None:
                data = data.reshape(n, width).copy()
                data[mask] = 0
                data = data.reshape(-1)
        if mask is not None:
            nulls.update(np.ascontiguousarray(np.flatnonzero(mask) + count, dtype="<i8"))
        if pa.types.is_floating(t):  # in cache-sized blocks, as _hash_numeric does
            step = max(width, stream._NUMERIC_BLOCK - stream._NUMERIC_BLOCK % width)
            with np.errstate(all="ignore"):
                for i in range(0, len(data), step):
                    block = data[i : i + step].view(f"<f{width}")
                    values.update(_canonical_nans(block).view(np.uint8))
        else:
            values.update(np.ascontiguousarray(data))
        count += n
    h.raw(values.digest())
    h.raw(nulls.digest())
