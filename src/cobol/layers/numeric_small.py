"""Small numeric blocks: fixed-width numbers to byte planes, in NumPy alone.

The planner's transform for numeric and binary blocks shorter than
``plan.TINY_BLOCK`` (without a dtype hint or a shared dictionary), in place
of the numeric transform (:mod:`.numeric`). That one codes best, but its
first use after an install compiles some 30 Numba kernels (about 10 s of
CPU) and every later process loads them (0.5 s): more than it takes to
compress a 1 KB file many times over. This transform compiles nothing. On
1 KiB slices of the numeric corpus at level 3 it codes 1.5x smaller than
plain zstd, 10% larger than the numeric transform (docs/SPEED.md, Start-up).

The block is read as ``count = raw_len // width`` little-endian numbers of
``width`` bytes (2, 4 or 8); the ``raw_len % width`` bytes after them go to
the tail stream verbatim. Each number becomes an integer v by a method:

INT     the number's bits as an unsigned integer of ``width`` bytes
DIVIDED the number as a signed integer of ``width`` bytes divided by the
        divisor (>= 2) that divides them all (timestamps in whole minutes);
        decoding multiplies back in int64, truncated to ``width`` bytes
SCALED  (width 4 or 8: a float32 / float64) ``v = rint(x * 10**scale)`` as
        int64 (codes of 8 bytes); decoding gives ``float64(v) / 10**scale``
        (one correctly rounded division, then rounded to float32 for width
        4). The encoder keeps it only when that gives every number back bit
        for bit (no NaN, -0.0, inf ...).

then v becomes an unsigned code by a predictor of ``order`` 0 (v itself), 1
(v minus the previous v, the first from 0) or 2 (the first difference minus
the previous first difference), modulo 2**(8 x code bytes), zigzag-mapped
(0, -1, 1, -2 ... -> 0, 1, 2, 3 ...) for orders 1 and 2.

The codes are stored as byte planes: plane j holds byte j (least significant
first) of every code, plane after plane. Only the low ``planes`` planes are
stored; the others are zero. Width, method and order are chosen by trial:
those whose planes zstd codes smallest at the block's level.

Streams: planes (exactly ``planes x count`` bytes), tail (exactly
``raw_len % width`` bytes).
Params: u8 version (1) | u8 method (0 INT, 1 SCALED, 2 DIVIDED) | u8 width
(2, 4, 8; 4 or 8 for SCALED) | u8 scale (0..18; 0 unless SCALED) | u8 order
(0..2) | u8 planes (at most the codes' bytes: 8 for SCALED, width otherwise)
| varint divisor (DIVIDED only; 2 .. 2**63 - 1).

>>> import numpy as np
>>> from cobol.registry import EncodeContext, DecodeContext
>>> data = np.round(np.linspace(10, 20, 100), 2).tobytes()
>>> t = SmallNumericTransform()
>>> enc = t.encode(data, EncodeContext(fmt="numeric"))
>>> t.describe(enc.params)
'numeric-small float64 scaled x10^2, order 1'
>>> t.decode(enc.streams, enc.params, len(data), DecodeContext()) == data
True
"""

from __future__ import annotations

import numpy as np
import zstandard

from ..errors import FormatError
from ..format.wire import Reader, put_varint
from ..registry import Encoded, Transform, register_transform

VERSION = 1
INT, SCALED, DIVIDED = 0, 1, 2
METHOD_NAMES = {INT: "int", SCALED: "scaled", DIVIDED: "divided"}
ORDERS = (0, 1, 2)
WIDTHS = (8, 4, 2)
#: the largest scale (10**scale is exact in float64 up to 10**22; the encoder also
#: requires |x| x 10**scale < 2**62, so that rint(x x 10**scale) fits in int64)
MAX_SCALE = 18

_UINT = {2: np.dtype("<u2"), 4: np.dtype("<u4"), 8: np.dtype("<u8")}
_INT = {2: np.dtype("<i2"), 4: np.dtype("<i4"), 8: np.dtype("<i8")}
_FLOAT = {4: np.dtype("<f4"), 8: np.dtype("<f8")}


def _zigzag(d: np.ndarray, width: int) -> np.ndarray:
    """Signed differences (as unsigned bits of ``width`` bytes) to zigzag codes."""
    s = d.view(_INT[width])
    return ((s << 1) ^ (s >> (8 * width - 1))).view(_UINT[width])


def _unzigzag(z: np.ndarray, width: int) -> np.ndarray:
    ut = _UINT[width].type
    return (z >> ut(1)) ^ (ut(0) - (z & ut(1)))


def _codes(v: np.ndarray, order: int) -> np.ndarray:
    """Unsigned integers ``v`` to the codes of predictor ``order``."""
    for _ in range(order):
        d = v.copy()
        d[1:] -= v[:-1]  # wraps modulo 2**bits, as the decoder's cumsum does
        v = d
    return _zigzag(v, v.dtype.itemsize) if order else v


def _values(codes: np.ndarray, order: int) -> np.ndarray:
    """The inverse of :func:`_codes`."""
    v = _unzigzag(codes, codes.dtype.itemsize) if order else codes
    for _ in range(order):
        v = np.cumsum(v, dtype=v.dtype)
    return v


def _to_planes(codes: np.ndarray, width: int) -> tuple[int, bytes]:
    """(planes, the low planes of ``codes``): the planes above the highest
    non-zero byte are dropped."""
    planes = (int(codes.max()).bit_length() + 7) // 8 if codes.size else 0
    return planes, codes.astype(_UINT[width], copy=False).view(np.uint8).reshape(-1, width)[:, :planes].T.tobytes()


def _from_planes(stream: bytes, planes: int, count: int, width: int) -> np.ndarray:
    if planes > width or len(stream) != planes * count:
        raise FormatError(f"numeric-small: a planes stream of {len(stream)} bytes for {planes} planes of "
                          f"{count} numbers of {width} bytes")
    full = np.zeros((count, width), np.uint8)
    full[:, :planes] = np.frombuffer(stream, np.uint8).reshape(planes, count).T
    return full.view(_UINT[width]).ravel()


def _decode_numbers(method: int, width: int, scale: int, order: int, codes: np.ndarray, divisor: int = 0) -> bytes:
    """The numbers' bytes from their codes (``codes``: unsigned, ``width`` bytes,
    8 for SCALED)."""
    v = _values(codes, order)
    if method == INT:
        return v.tobytes()
    if method == DIVIDED:
        return (v.view(_INT[width]).astype(np.int64) * np.int64(divisor)).astype(_INT[width]).tobytes()
    x = v.view(np.int64).astype(np.float64) / float(10 ** scale)
    return x.astype(_FLOAT[width]).tobytes()


def _scaled_values(body: bytes, width: int) -> tuple[int, np.ndarray] | None:
    """(scale, v as uint64) of the smallest scale that gives every float of
    ``body`` back exactly; None when none does."""
    x = np.frombuffer(body, _FLOAT[width]).astype(np.float64)
    if x.size == 0 or not np.isfinite(x).all() or np.abs(x).max() >= 2.0 ** 62:
        return None
    for scale in range(MAX_SCALE + 1):
        m = float(10 ** scale)
        if np.abs(x).max() * m >= 2.0 ** 62:
            return None
        v = np.rint(x * m).astype(np.int64).view(np.uint64)
        if _decode_numbers(SCALED, width, scale, 0, v) == body:
            return scale, v
    return None


def _divided_values(body: bytes, width: int) -> tuple[int, np.ndarray] | None:
    """(divisor, quotients as unsigned ``width``-byte integers) when the signed
    numbers of ``body`` share a divisor >= 2 that gives them back; else None."""
    s = np.frombuffer(body, _INT[width]).astype(np.int64)
    divisor = int(np.gcd.reduce(s))
    if not 2 <= divisor < 1 << 63:
        return None
    v = (s // divisor).astype(_INT[width]).view(_UINT[width])
    if _decode_numbers(DIVIDED, width, 0, 0, v, divisor) != body:
        return None
    return divisor, v


@register_transform
class SmallNumericTransform(Transform):
    id = 11
    name = "numeric-small"
    #: the planner adds it for small numeric and binary blocks itself (plan.tiny_candidates)
    formats = ()
    max_streams = 2
    expansion = 1
    needs_layers = frozenset({"l3", "l4"})

    def encode(self, data, ctx):
        data = bytes(data)
        zc = zstandard.ZstdCompressor(level=max(1, ctx.level))
        best = None
        with np.errstate(all="ignore"):
            for width in WIDTHS:
                count = len(data) // width
                if count < 2:
                    continue
                body, tail = data[:count * width], data[count * width:]
                ways = [(INT, 0, 0, np.frombuffer(body, _UINT[width]))]
                divided = _divided_values(body, width)
                if divided is not None:
                    ways.append((DIVIDED, 0, *divided))
                if width in _FLOAT:
                    scaled = _scaled_values(body, width)
                    if scaled is not None:
                        ways.append((SCALED, scaled[0], 0, scaled[1]))
                for method, scale, divisor, v in ways:
                    for order in ORDERS:
                        planes, stream = _to_planes(_codes(v, order), v.dtype.itemsize)
                        size = len(zc.compress(stream)) + len(tail)
                        if best is None or size < best[0]:
                            params = bytearray([VERSION, method, width, scale, order, planes])
                            if method == DIVIDED:
                                put_varint(params, divisor)
                            best = (size, bytes(params), stream, tail)
        if best is None:
            return None
        _, params, stream, tail = best
        return Encoded(params=params, streams=[stream, tail], stream_names=["planes", "tail"])

    def _params(self, params: bytes) -> tuple[int, int, int, int, int, int]:
        """(method, width, scale, order, planes, divisor) of valid params; planes unchecked."""
        r = Reader(bytes(params), what="numeric-small params")
        version, method, width, scale, order, planes = (
            r.u8(f) for f in ("version", "method", "width", "scale", "order", "planes"))
        divisor = r.varint("divisor") if method == DIVIDED else 0
        if version != VERSION or r.remaining or method not in METHOD_NAMES or width not in _UINT \
                or scale > MAX_SCALE or order not in ORDERS or (method == SCALED and width not in _FLOAT) \
                or (method != SCALED and scale) or (method == DIVIDED and not 2 <= divisor < 1 << 63):
            raise FormatError(f"numeric-small: bad params {bytes(params).hex()}")
        return method, width, scale, order, planes, divisor

    def decode(self, streams, params, raw_len, ctx):
        method, width, scale, order, planes, divisor = self._params(params)
        if len(streams) != 2:
            raise FormatError(f"numeric-small: {len(streams)} streams, expected 2")
        count = raw_len // width
        if len(streams[1]) != raw_len - count * width:
            raise FormatError(f"numeric-small: tail of {len(streams[1])} bytes for a block of {raw_len}")
        codes = _from_planes(bytes(streams[0]), planes, count, 8 if method == SCALED else width)
        with np.errstate(all="ignore"):  # hostile codes may overflow a float32: no warning, the checksum judges
            return _decode_numbers(method, width, scale, order, codes, divisor) + bytes(streams[1])

    def describe(self, params):
        try:
            method, width, scale, order, _, divisor = self._params(params)
        except FormatError:
            return self.name
        if method == SCALED:
            return f"{self.name} float{8 * width} scaled x10^{scale}, order {order}"
        if method == DIVIDED:
            return f"{self.name} {width}-byte int / {divisor}, order {order}"
        return f"{self.name} {width}-byte int, order {order}"
