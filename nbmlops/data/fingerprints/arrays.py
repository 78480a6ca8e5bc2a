"""NumPy arrays: numbers, booleans, datetimes and fixed-width bytes and text by their raw
buffers (NaNs made one value), object arrays by a fast path for strings or else value by value,
structured arrays field by field, masked arrays with their mask.
"""

from __future__ import annotations

import sys
from typing import Any

from nbmlops.data.fingerprints import stream
from nbmlops.data.fingerprints.stream import _canonical_nans, _Hasher, _missing_code, _Strings
from nbmlops.data.fingerprints.values import _encode_value

# The batch sizes are read from :mod:`.stream` at each call (``stream._BATCH``): one place
# to make them small, so a test can cross batch and block boundaries with small data.


def _hash_ndarray(h: _Hasher, arr: Any) -> None:
    np = sys.modules["numpy"]
    h.text(str(arr.dtype))
    h.int(arr.ndim)
    for n in arr.shape:
        h.int(n)
    if isinstance(arr, np.ma.MaskedArray):
        h.text("masked")
        _hash_ndarray_values(h, np.ma.getmaskarray(arr))
        arr = np.ma.getdata(arr)
    _hash_ndarray_values(h, arr)


def _hash_ndarray_values(h: _Hasher, arr: Any) -> None:
    """Values of a numpy array in C order (the dtype and shape are hashed by the caller)."""
    dtype = arr.dtype
    if dtype.fields is not None:
        # Padding bytes of structured arrays are arbitrary: hash field by field.
        for field in dtype.names:
            _hash_ndarray_values(h, arr[field])
    elif dtype.hasobject:
        _hash_objects(h, arr.reshape(-1))
    else:
        _hash_numeric(h, arr)


def _hash_numeric(h: _Hasher, arr: Any) -> None:
    """Fixed-width values (numbers, bool, datetime64, bytes, unicode): the raw buffer."""
    np = sys.modules["numpy"]
    a = np.ascontiguousarray(arr).reshape(-1)  # no copy when already C-contiguous
    kind = a.dtype.kind
    if kind in "mM":
        a = a.view(np.int64)  # NaT is one bit pattern; a buffer cannot export "M"
    h.int(a.nbytes)
    if kind not in "fc":
        h.raw(a.view(np.uint8))
        return
    if kind == "c":
        a = a.view(a.real.dtype)  # real and imaginary parts, each canonical on its own
    # In cache-sized blocks: the NaN check and the hash then read memory once.
    step = max(1, stream._NUMERIC_BLOCK // a.dtype.itemsize)
    with np.errstate(all="ignore"):  # the NaN probe's sum may overflow: not the user's business
        for i in range(0, len(a), step):
            h.raw(_canonical_nans(a[i : i + step]).view(np.uint8))


def _hash_objects(h: _Hasher, arr: Any) -> None:
    """A 1-d object array: a fast path for strings (with missing values), else per value."""
    pd = sys.modules.get("pandas")
    n = len(arr)
    if pd is not None:
        from pandas.api.types import infer_dtype

        if infer_dtype(arr, skipna=False) == "string":
            _hash_str_objects(h, arr, None)
            return
        mask = pd.isna(arr)
        if mask.any() and not mask.all() and infer_dtype(arr[~mask], skipna=False) == "string":
            _hash_str_objects(h, arr, mask)
            return
    elif n and all(type(x) is str for x in arr):
        _hash_str_objects(h, arr, None)
        return
    h.text("objects")
    h.int(n)
    for i in range(0, n, stream._BATCH):
        # Each encoding is self-delimiting: batches join into one unambiguous stream.
        h.raw(b"".join(map(_encode_value, arr[i : i + stream._BATCH].tolist())))


def _hash_str_objects(h: _Hasher, arr: Any, mask: Any) -> None:
    """Python ``str`` values, some missing where ``mask`` is set."""
    np = sys.modules["numpy"]
    out = _Strings()
    for i in range(0, len(arr), stream._BATCH):
        batch = arr[i : i + stream._BATCH]
        missing_at = codes = None
        if mask is not None and mask[i : i + stream._BATCH].any():
            missing_at = np.flatnonzero(mask[i : i + stream._BATCH])
            codes = np.array([_missing_code(batch[j]) for j in missing_at], dtype=np.uint8)
            batch = batch.copy()
            batch[missing_at] = ""
        values = batch.tolist()
        joined = "".join(values)
        data = joined.encode("utf-8", "surrogatepass")
        if joined.isascii():  # O(1): then characters are bytes
            lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
        else:
            lengths = np.fromiter(
                (len(v.encode("utf-8", "surrogatepass")) for v in values),
                dtype=np.int64,
                count=len(values),
            )
        out.add(lengths, data, missing_at, codes)
    out.finish(h)
