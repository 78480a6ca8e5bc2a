"""The canonical stream every fingerprint is the digest of, and the parts all kinds share.

:class:`_Hasher` feeds an XXH3-128 state with length-prefixed parts, after ``_SCHEME``. Also
here: the batch and block sizes, the codes of missing values, the stream of one string column
(:class:`_Strings`, fed alike by object, pandas and Arrow string columns), the NaN
canonicalisation of float buffers (NumPy and Arrow), and the :class:`_Summary` of an object
that :func:`~nbmlops.data.fingerprints.describe` reports besides its fingerprint.
"""

from __future__ import annotations

import struct
import sys
from typing import Any, NamedTuple

import xxhash

#: Changing the canonical stream changes every fingerprint: bump this when it happens.
_SCHEME = "nbmlops-fingerprint-1"
_I64 = struct.Struct("<q")
_F64 = struct.Struct("<d")
#: Elements of an object or string column encoded per batch: bounds the temporary copies
#: (about 50 bytes per element: a few percent of what the column itself holds).
_BATCH = 1 << 18
#: Bytes of a float column checked for NaNs and hashed at a time (fits in the L2 cache).
_NUMERIC_BLOCK = 1 << 20

# Codes of the missing values of object and string columns (0 is "a value").
_NONE, _NAN, _NA, _NAT, _OTHER_MISSING = 1, 2, 3, 4, 5


class _Hasher:
    """An XXH3-128 state fed with length-prefixed, self-delimiting parts."""

    __slots__ = ("h",)

    def __init__(self) -> None:
        self.h = xxhash.xxh3_128()

    def int(self, n: int) -> None:
        self.h.update(_I64.pack(n))

    def text(self, s: str) -> None:
        b = s.encode("utf-8", "surrogatepass")
        self.h.update(_I64.pack(len(b)))
        self.h.update(b)

    def raw(self, b: Any) -> None:
        """Bytes or a contiguous buffer whose length is already in the stream (or that is
        self-delimiting, like a digest or a tagged value encoding)."""
        self.h.update(b)


class _Summary(NamedTuple):
    """What :func:`describe` reports besides the fingerprint, gathered in the same pass."""

    kind: str
    shape: list[int]
    schema: list[tuple[Any, str]]  # (label, dtype); a None label becomes the variable name
    size: int


def _canonical_nans(a: Any) -> Any:
    """A 1-d float array with every NaN the standard quiet NaN (a copy only when needed).

    ``np.nan`` and the NaN of ``0/0`` differ in their sign bit on x86; both are "missing".
    """
    np = sys.modules["numpy"]
    if not np.isnan(np.add.reduce(a)):
        return a  # fast: a NaN anywhere makes the sum NaN (and so does inf - inf)
    mask = np.isnan(a)
    if not mask.any():
        return a
    if a.dtype.itemsize in (2, 4, 8):  # usually every NaN is already np.nan: no copy
        bits = a.view(f"u{a.dtype.itemsize}")
        if (bits[mask] == np.array(np.nan, dtype=a.dtype).view(bits.dtype)).all():
            return a
    a = a.copy()
    a[mask] = np.nan
    return a


class _Strings:
    """Canonical stream of a string column: UTF-8 byte lengths, the concatenated UTF-8 bytes,
    the positions and the codes of the missing values, each in its own hasher so the batches
    (or arrow chunks) a column is fed in do not change the result."""

    __slots__ = ("codes", "count", "data", "lengths", "missing", "n_missing")

    def __init__(self) -> None:
        self.count = 0
        self.n_missing = 0
        self.lengths = xxhash.xxh3_128()
        self.data = xxhash.xxh3_128()
        self.missing = xxhash.xxh3_128()
        self.codes = xxhash.xxh3_128()

    def add(self, lengths: Any, data: Any, missing_at: Any = None, codes: Any = None) -> None:
        np = sys.modules["numpy"]
        self.lengths.update(np.ascontiguousarray(lengths, dtype="<i8"))
        self.data.update(data)
        if missing_at is not None and len(missing_at):
            self.missing.update(np.ascontiguousarray(missing_at + self.count, dtype="<i8"))
            self.codes.update(np.ascontiguousarray(codes, dtype=np.uint8))
            self.n_missing += len(missing_at)
        self.count += len(lengths)

    def finish(self, h: _Hasher) -> None:
        h.text("strings")
        h.int(self.count)
        h.int(self.n_missing)
        h.raw(self.lengths.digest())
        h.raw(self.data.digest())
        h.raw(self.missing.digest())
        h.raw(self.codes.digest())


def _missing_code(value: Any) -> int:
    if value is None:
        return _NONE
    if isinstance(value, float) and value != value:
        return _NAN
    name = type(value).__name__
    if name == "NAType":
        return _NA
    if name == "NaTType":
        return _NAT
    return _OTHER_MISSING
