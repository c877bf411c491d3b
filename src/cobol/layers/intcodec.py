"""Self-describing integer-array codec: int64 array in, bytes out, and back.

This is the entry point other layers (JSON, CSV, logs) use for a stream of
integers: ``encode_ints(values) -> bytes`` and ``decode_ints(buf, max_count)``.
The bytes carry the count, so the caller stores nothing else.

Layout (first version): varint count, then the zigzagged first differences as
raw little-endian int64. The real L3 -> L4 pipeline replaces the body; the
signature stays.

>>> import numpy as np
>>> v = np.array([5, 7, 9, -3], dtype=np.int64)
>>> bool((decode_ints(encode_ints(v), 4) == v).all())
True
"""

from __future__ import annotations

import numpy as np

from ..errors import FormatError
from ..format.wire import Reader, put_varint


def encode_ints(values: np.ndarray) -> bytes:
    v = np.ascontiguousarray(values, dtype=np.int64).ravel()
    out = bytearray()
    put_varint(out, v.size)
    if v.size:
        d = np.empty_like(v)
        d[0] = v[0]
        np.subtract(v[1:], v[:-1], out=d[1:])  # int64 wraparound is exact
        z = (d << 1) ^ (d >> 63)
        out += z.astype("<i8").tobytes()
    return bytes(out)


def decode_ints(buf, max_count: int) -> np.ndarray:
    r = Reader(buf, what="int stream")
    n = r.varint("count", limit=max_count)
    body = r.view(8 * n, "values")
    r.expect_end("values")
    z = np.frombuffer(body, dtype="<i8").astype(np.int64)
    d = (z.view(np.uint64) >> np.uint64(1)).view(np.int64) ^ -(z & 1)
    return np.cumsum(d, dtype=np.int64)
