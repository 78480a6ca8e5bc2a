"""Single values: what an object column holds, and the labels and names of frames and series.

Each value gets a self-delimiting, type-tagged encoding that is the same in every process
(the parts of sets and dicts are sorted by their encoding, never by a salted hash); numpy and
pandas scalars get exact-type encoders once their modules are loaded. A value with no stable
encoding raises :class:`FingerprintError`.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import sys
from collections.abc import Callable, Iterable
from typing import Any

from nbmlops.data.fingerprints.stream import _F64, _I64
from nbmlops.exceptions import FingerprintError


def _not_set(obj: Any) -> str:
    raise NotImplementedError("nbmlops.data.fingerprints sets nested_fingerprint")


#: The fingerprint of data held in a value (an array or a frame inside an object column): the
#: package's ``fingerprint``, which encodes values with this module, so the package sets it as
#: it is imported (this module cannot import the package above it).
nested_fingerprint: Callable[[Any], str] = _not_set


def _encode_value(x: Any) -> bytes:
    """A self-delimiting, type-tagged, process-independent encoding of one value."""
    encoder = _ENCODERS.get(type(x))
    if encoder is not None:
        return encoder(x)
    for base, enc in _BASE_ENCODERS:
        if isinstance(x, base):
            return enc(x)
    return _encode_other(x)


def _len(tag: bytes, payload: bytes) -> bytes:
    return tag + _I64.pack(len(payload)) + payload


def _enc_str(x: str) -> bytes:
    return _len(b"s", x.encode("utf-8", "surrogatepass"))


def _enc_bytes(x: bytes | bytearray | memoryview) -> bytes:
    return _len(b"y", bytes(x))


def _enc_int(x: int) -> bytes:
    return _len(b"i", str(int(x)).encode())


def _enc_float(x: float) -> bytes:
    x = float(x)
    return b"n" if x != x else b"f" + _F64.pack(x)


def _enc_complex(x: complex) -> bytes:
    x = complex(x)
    return b"c" + _enc_float(x.real) + _enc_float(x.imag)


def _enc_bool(x: Any) -> bytes:
    return b"?1" if x else b"?0"


def _enc_seq(tag: bytes) -> Callable[[Iterable[Any]], bytes]:
    def enc(xs: Iterable[Any]) -> bytes:
        parts = [_encode_value(x) for x in xs]
        return tag + _I64.pack(len(parts)) + b"".join(parts)

    return enc


def _enc_unordered(tag: bytes) -> Callable[[Iterable[Any]], bytes]:
    def enc(xs: Iterable[Any]) -> bytes:
        parts = sorted(_encode_value(x) for x in xs)  # set order depends on salted hashes
        return tag + _I64.pack(len(parts)) + b"".join(parts)

    return enc


def _enc_dict(d: dict[Any, Any]) -> bytes:
    parts = sorted(_encode_value(k) + _encode_value(v) for k, v in d.items())
    return b"{" + _I64.pack(len(parts)) + b"".join(parts)


def _enc_datetime(x: _dt.datetime) -> bytes:
    # pandas.Timestamp is a datetime; its isoformat() keeps nanoseconds.
    return _len(b"t", x.isoformat().encode())


def _enc_timedelta(x: _dt.timedelta) -> bytes:
    if hasattr(x, "isoformat"):  # pandas.Timedelta, with nanoseconds
        return _len(b"e", x.isoformat().encode())
    us = (x.days * 86_400 + x.seconds) * 1_000_000 + x.microseconds
    return _len(b"u", str(us).encode())


def _encode_other(x: Any) -> bytes:
    name = type(x).__name__
    np = sys.modules.get("numpy")
    if np is not None:
        if isinstance(x, np.ndarray):
            return _len(b"a", bytes.fromhex(nested_fingerprint(x)))
        if isinstance(x, (np.datetime64, np.timedelta64)):
            return _len(b"M", str(x.dtype).encode() + b":" + str(x.astype(np.int64)).encode())
        if isinstance(x, np.generic):  # np.str_, np.bytes_ are str / bytes subclasses
            return _len(b"g", str(x.dtype).encode() + b":" + x.tobytes())
    if name == "NAType":
        return b"A"
    if name == "NaTType":
        return b"T"
    pd = sys.modules.get("pandas")
    if pd is not None:
        if isinstance(x, (pd.DataFrame, pd.Series, pd.Index)):
            return _len(b"p", bytes.fromhex(nested_fingerprint(x)))
        if isinstance(x, pd.Period):
            return _len(b"P", f"{x.freqstr}:{x}".encode())
        if isinstance(x, pd.Interval):
            return b"I" + _enc_str(x.closed) + _encode_value(x.left) + _encode_value(x.right)
    raise FingerprintError(
        f"cannot fingerprint a value of type {type(x).__module__}.{name} inside the data"
    )


_ENCODERS: dict[type, Callable[[Any], bytes]] = {
    str: _enc_str,
    int: _enc_int,
    float: _enc_float,
    bool: _enc_bool,
    type(None): lambda _: b"N",
    bytes: _enc_bytes,
    bytearray: _enc_bytes,
    complex: _enc_complex,
    tuple: _enc_seq(b"("),
    list: _enc_seq(b"["),
    dict: _enc_dict,
    set: _enc_unordered(b"<"),
    frozenset: _enc_unordered(b"<"),
    decimal.Decimal: lambda x: _len(b"D", str(x).encode()),
    _dt.datetime: _enc_datetime,
    _dt.date: lambda x: _len(b"d", x.isoformat().encode()),
    _dt.time: lambda x: _len(b"h", x.isoformat().encode()),
    _dt.timedelta: _enc_timedelta,
}

# Checked in order for subclasses (numpy scalars, pandas.Timestamp, enums of str, ...);
# bool before int and datetime before date because each is a subclass of the next.
_BASE_ENCODERS: tuple[tuple[type, Callable[[Any], bytes]], ...] = (
    (bool, _enc_bool),
    (str, _enc_str),
    (bytes, _enc_bytes),
    (int, _enc_int),
    (float, _enc_float),
    (complex, _enc_complex),
    (_dt.datetime, _enc_datetime),
    (_dt.date, _ENCODERS[_dt.date]),
    (_dt.time, _ENCODERS[_dt.time]),
    (_dt.timedelta, _enc_timedelta),
    (decimal.Decimal, _ENCODERS[decimal.Decimal]),
    (tuple, _ENCODERS[tuple]),
    (list, _ENCODERS[list]),
    (dict, _enc_dict),
)


def _register_scalar_types() -> None:
    """Exact-type encoders for numpy and pandas scalars, once their modules are loaded.

    numpy bools and numbers encode as the Python values they equal (``np.int64(1)`` as ``1``),
    so a column read back through another library keeps its fingerprint. ``NaT`` must not
    reach the ``datetime`` encoder it would match by subclass.
    """
    np = sys.modules.get("numpy")
    if np is not None and np.bool_ not in _ENCODERS:
        _ENCODERS[np.bool_] = _enc_bool
        for t in (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
                  np.uint64):
            _ENCODERS[t] = _enc_int
        for t in (np.float16, np.float32, np.float64):
            _ENCODERS[t] = _enc_float
        for t in (np.complex64, np.complex128):
            _ENCODERS[t] = _enc_complex
    pd = sys.modules.get("pandas")
    if pd is not None and type(pd.NaT) not in _ENCODERS:
        _ENCODERS[type(pd.NA)] = lambda _: b"A"
        _ENCODERS[type(pd.NaT)] = lambda _: b"T"
        _ENCODERS[pd.Timestamp] = _enc_datetime
        _ENCODERS[pd.Timedelta] = _enc_timedelta
