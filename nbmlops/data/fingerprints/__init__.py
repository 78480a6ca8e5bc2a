"""Full-content fingerprints of data: pandas, NumPy, Arrow and polars objects, files and folders.

A fingerprint is an XXH3-128 digest (32 hex characters) of a canonical byte stream of the
object: every value, column name, column order, dtype, shape and the index go in, each part
length-prefixed so that no two different objects share a stream (``["ab", "c"]`` differs from
``["a", "bc"]``). It never uses Python's salted ``hash()``, so equal content gives equal
fingerprints in every process. A file's fingerprint is the plain XXH3-128 of its bytes.

This runs in the user's kernel on every tracked cell, so it is built for speed and never
imports pandas, numpy, pyarrow or polars itself: it only looks at objects whose module is
already imported. Numeric columns hash their raw buffers (no copy when contiguous); strings
are encoded once per column; each kind of column has its own ``_hash_*`` function so one can
be optimised without touching the others.

What counts as equal: two objects are equal when their dtypes, shapes, labels and values are.
All NaNs of a float column are one value (their bit patterns differ between ``np.nan`` and
``0/0``), ``-0.0`` and ``0.0`` are not. ``RangeIndex(3)`` equals ``Index([0, 1, 2])``.
Object columns tell ``None``, ``NaN``, ``pd.NA`` and ``NaT`` apart, and ``"nan"`` from all of
them; string extension columns have one missing value. The storage of a string column
(``python`` or ``pyarrow``) does not matter, its dtype name (``object``, ``str``, ``string``)
does. Values in object columns are encoded by type and value (numpy scalars as the Python
numbers they equal); a value with no stable encoding raises :class:`FingerprintError`.
Arrow tables and polars frames hash their Arrow buffers: how a column is split into chunks
does not matter, its Arrow type (or polars dtype) does.

Files are cached by (path, size, mtime, ctime, inode): in memory, and for files of 1 MiB or
more in a small sqlite file in the user cache folder (``NBMLOPS_CACHE`` overrides it), so an
unchanged 5 GB file is read once, not on every run of every kernel.

This module is the public API and tells the kinds of objects apart; one module a kind holds
the rest: :mod:`.frames` (pandas), :mod:`.arrays` (NumPy), :mod:`.arrow` (Arrow and polars),
:mod:`.values` (single values: object columns, labels, names), :mod:`.files` (files, folders
and their caches), and :mod:`.stream` (the canonical stream and what the kinds share).
"""

from __future__ import annotations

import os
import stat
import sys
from typing import Any

from nbmlops.data.fingerprints import values
from nbmlops.data.fingerprints.arrays import _hash_ndarray
from nbmlops.data.fingerprints.arrow import (
    _arrow_kind,
    _hash_arrow_object,
    _hash_polars_object,
    _polars_kind,
)
from nbmlops.data.fingerprints.files import _walk, clear_file_cache, fingerprint_file
from nbmlops.data.fingerprints.frames import _hash_frame, _hash_index, _hash_series
from nbmlops.data.fingerprints.stream import _SCHEME, _Hasher, _Summary
from nbmlops.data.fingerprints.values import _register_scalar_types
from nbmlops.exceptions import FingerprintError
from nbmlops.record import Context, DataRecord

__all__ = [
    "FingerprintError",
    "clear_file_cache",
    "describe",
    "describe_file",
    "fingerprint",
    "fingerprint_file",
    "is_data",
]


def is_data(obj: object) -> bool:
    """Whether ``obj`` is a DataFrame, Series, ndarray, Arrow table or array, or a polars
    DataFrame or Series (never imports any of those libraries)."""
    np = sys.modules.get("numpy")
    if np is not None and isinstance(obj, np.ndarray):
        return True
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(obj, (pd.DataFrame, pd.Series)):
        return True
    return _arrow_kind(obj) is not None or _polars_kind(obj) is not None


def fingerprint(obj: object) -> str:
    """The full-content fingerprint of data: 32 hex characters (XXH3-128).

    ``obj`` is a pandas DataFrame, Series or Index, a NumPy array, a pyarrow Table,
    RecordBatch, Array or ChunkedArray, a polars DataFrame or Series, or a file or folder
    given as an ``os.PathLike`` (a plain ``str`` is text: use :func:`fingerprint_file`).
    Any change of a value, a column name, the column order, a dtype or the index changes it;
    equal content gives the same fingerprint in every process and on every machine.
    Raises :class:`FingerprintError` for anything else, or for values inside an object column
    that have no stable encoding.
    """
    if isinstance(obj, os.PathLike):
        return fingerprint_file(obj)
    return _fingerprint(obj)[0]


def describe(
    name: str, obj: object, context: Context, *, source: str | None = None
) -> DataRecord:
    """A :class:`DataRecord` of the data ``obj`` bound to ``name``: kind, fingerprint, shape,
    schema and size (of the values and the index, not of the Python objects they point to).
    Paths (``os.PathLike``) are described as files."""
    if isinstance(obj, os.PathLike):
        record = describe_file(obj, context)
        record.name = name
        return record
    digest, summary = _fingerprint(obj)
    return DataRecord(
        name=name,
        context=context,
        kind=summary.kind,
        fingerprint=digest,
        source=source if source is not None else f"variable:{name}",
        shape=summary.shape,
        schema=[{"name": name if n is None else str(n), "dtype": t} for n, t in summary.schema],
        size_bytes=summary.size,
    )


def describe_file(path: str | os.PathLike[str], context: Context) -> DataRecord:
    """A :class:`DataRecord` of a file (or a folder of files, e.g. a partitioned parquet
    data set): its content fingerprint and size. ``name`` is the path as given, ``source``
    the absolute path."""
    absolute = os.path.abspath(os.fspath(path))
    try:
        st = os.stat(absolute)
    except OSError as e:
        raise FingerprintError(f"cannot read {absolute}: {e.strerror or e}") from None
    is_dir = stat.S_ISDIR(st.st_mode)
    size = sum(s.st_size for _, s in _walk(absolute)) if is_dir else st.st_size
    return DataRecord(
        name=os.fspath(path),
        context=context,
        kind="directory" if is_dir else "file",
        fingerprint=fingerprint_file(absolute),
        source=absolute,
        size_bytes=size,
    )


def _fingerprint(obj: Any) -> tuple[str, _Summary]:
    _register_scalar_types()
    h = _Hasher()
    h.text(_SCHEME)
    try:
        summary = _hash_object(h, obj)
    except RecursionError:
        raise FingerprintError("cannot fingerprint a self-referencing value") from None
    return h.h.hexdigest(), summary


def _hash_object(h: _Hasher, obj: Any) -> _Summary:
    np = sys.modules.get("numpy")
    if np is not None and isinstance(obj, np.ndarray):
        h.text("ndarray")
        _hash_ndarray(h, obj)
        return _Summary("ndarray", list(obj.shape), [(None, str(obj.dtype))], int(obj.nbytes))
    pd = sys.modules.get("pandas")
    if pd is not None:
        if isinstance(obj, pd.DataFrame):
            h.text("dataframe")
            columns = _hash_frame(h, obj)
            size = sum(n for _, _, n in columns) + int(obj.index.nbytes)
            return _Summary(
                "dataframe", list(obj.shape), [(c, str(t)) for c, t, _ in columns], size
            )
        if isinstance(obj, pd.Series):
            h.text("series")
            _hash_series(h, obj)
            size = int(obj.array.nbytes) + int(obj.index.nbytes)
            return _Summary("series", list(obj.shape), [(obj.name, str(obj.dtype))], size)
        if isinstance(obj, pd.Index):
            h.text("index")
            _hash_index(h, obj)
            dtypes = obj.dtypes if obj.nlevels > 1 else [obj.dtype]
            schema = [(n, str(t)) for n, t in zip(obj.names, dtypes, strict=True)]
            return _Summary("index", list(obj.shape), schema, int(obj.nbytes))
    arrow = _arrow_kind(obj)
    if arrow is not None:
        return _hash_arrow_object(h, obj, arrow)
    polars = _polars_kind(obj)
    if polars is not None:
        return _hash_polars_object(h, obj, polars)
    raise FingerprintError(f"cannot fingerprint a {type(obj).__module__}.{type(obj).__name__}")


# An array or a frame inside a value is fingerprinted as data: values.py sits below this
# module, so it is handed the function here.
values.nested_fingerprint = fingerprint
