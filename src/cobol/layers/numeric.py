"""Numeric arrays: raw little-endian ints and floats to compressible integer streams.

A block of fixed-width numbers (int8..int64, uint8..uint64, float32, float64)
becomes an integer array that goes through :mod:`.intcodec` (frame of reference
and common divisor, then L3 delta + L4 bit-packing, byte planes or a frequency
dictionary, whichever zstd finishes best).

Integers are sign- or zero-extended to int64 (method INT), or, for 8..32-bit
types whose steps wrap around (a uint32 counter passing 2**32), *unwrapped*:
accumulated from their steps taken modulo 2**bits (method UNWRAP); truncating
to the dtype undoes either.

Floats first get one of three lossless maps to integers, chosen by trial:

SCALED   decimal (or 1/60, 1/3600, 2**-k ...) floats: ``n = rint(x * M)`` where
         ``n / M`` (one correctly rounded IEEE division) gives ``x`` back bit for
         bit; values that do not (NaN, -0.0, more digits) are *exceptions* kept
         verbatim in their own streams, and their slot repeats the previous ``n``.
         This is the idea of ALP (Afroozeh et al., SIGMOD 2023), with the
         multiplier chosen by trial from powers of ten, powers of two and
         sexagesimal steps.
BITS     the IEEE bits mapped to integers that sort like the floats (negative
         values have their magnitude bits flipped), so deltas of a smooth series
         are small.
XOR      each value's bits XOR the previous value's (Gorilla): equal neighbours
         give 0, close neighbours share their high bits.

The dtype comes from ``ctx.hints["dtype"]`` when given (any NumPy spelling of a
little-endian int/uint/float, e.g. "float64", "<i4", "u2"); otherwise it is
found by trial among int8/16/32/64 and float32/64, after a byte-lane test picks
the element phase (a block need not start on an element boundary). Bytes before
the first whole element and after the last go to the residue stream.

Streams: values (intcodec), exception positions (intcodec), exception bits (raw
little-endian), residue (head bytes then tail bytes).
Params: u8 version | u8 dtype code | u8 method | u8 head | u8 flags |
varint count | varint M (SCALED only).

Flag bit 0: the values stream is already a zstd frame, made with a minimum
match length of 7. At levels below 15 zstd's parser takes short matches that
cost more than the Huffman-coded literals they replace on numeric residuals
(a Poisson counter: 16.6x at level 3, 19.8x with min_match 7); when that frame
is smaller by more than 2% than what the engine's zstd at the block's level
would make, the transform hands it over as is (the engine then stores it raw).

>>> import numpy as np
>>> from cobol.registry import EncodeContext, DecodeContext
>>> data = np.round(np.linspace(10, 20, 1000), 2).tobytes()
>>> t = NumericArrayTransform()
>>> enc = t.encode(data, EncodeContext(fmt="numeric", hints={"dtype": "float64"}))
>>> t.decode(enc.streams, enc.params, len(data), DecodeContext()) == data
True
>>> t.describe(enc.params)
'numeric float64 scaled x100, 1000 values'
"""

from __future__ import annotations

import math
import sys
import threading

import numpy as np
import zstandard
from numba import njit

from ..errors import FormatError
from ..format.wire import Reader, put_varint
from ..format.zstd_frame import zstd_frame_size
from ..registry import Encoded, Transform, register_transform
from .intcodec import TRIAL_LEVEL, decode_ints, decode_scaled_sparse, encode_ints, estimate_size, trial_compressor, trial_frame

VERSION = 1

#: dtype code -> little-endian numpy dtype; codes are part of the format
DTYPES = {
    0: np.dtype("<i1"), 1: np.dtype("<i2"), 2: np.dtype("<i4"), 3: np.dtype("<i8"),
    4: np.dtype("<u1"), 5: np.dtype("<u2"), 6: np.dtype("<u4"), 7: np.dtype("<u8"),
    8: np.dtype("<f4"), 9: np.dtype("<f8"),
}
DTYPE_CODES = {dt: code for code, dt in DTYPES.items()}
#: the native unsigned type of each narrow element size: narrow int arrays are
#: decoded into one (the bytes are the same for the signed type)
_UNSIGNED = {1: np.dtype(np.uint8), 2: np.dtype(np.uint16), 4: np.dtype(np.uint32), 8: np.dtype(np.uint64)}

M_INT = 0
M_SCALED = 1
M_BITS = 2
M_XOR = 3
M_UNWRAP = 4
METHOD_NAMES = {M_INT: "int", M_SCALED: "scaled", M_BITS: "bits", M_XOR: "xor", M_UNWRAP: "unwrapped int"}
INT_METHODS = (M_INT, M_UNWRAP)

#: dtypes tried when there is no hint, by element size
_TRIAL_DTYPES = {8: ("<i8", "<f8"), 4: ("<i4", "<f4"), 2: ("<i2",), 1: ("<i1",)}

#: multipliers tried by SCALED, ascending: the smallest one that works wins
SCALES = sorted(
    {10 ** e for e in range(19)}
    | {2 ** k for k in range(1, 31)}
    | {k * 10 ** e for k in (60, 3600, 1440, 86400) for e in range(7)}
)

SAMPLE_BYTES = 1 << 16
SCALE_SAMPLE = 4096
#: SCALED is kept when at most this share of the values are exceptions
MAX_EXCEPTION_SHARE = 0.25
#: the transform declines a block unless it beats zstd on the sample by this factor
MIN_GAIN = 0.97
#: Without a dtype hint each (dtype, phase) is first estimated on a quarter of
#: the sample, and only those within this factor of the best there on all of
#: it: on 44 arrays (the numeric corpus, /tmp/numspeed3/unseen and
#: /tmp/ns*/unseen) the winner's quarter-sample estimate was at most 1.042 x
#: the best one (unicode-combining.i16); most of the 4-9 layouts are 1.3-100 x
#: (issue 15: the estimates were a quarter of compressing without a hint)
DTYPE_PRUNE = 1.25
#: A float sample's methods (SCALED, BITS, XOR) are likewise first estimated
#: on a quarter of it (from QUARTER_MIN_BYTES), and only those within this
#: factor of the best there on all of it: on the 26 float arrays of the numeric
#: corpus, /tmp/numspeed3/unseen and /tmp/ns*/unseen the winner's quarter
#: estimate was at most 1.071 x the best (usr-mtime.f64), and 26 of 66 method
#: estimates were left out (BITS's, of 8 byte planes, cost the most)
METHOD_PRUNE = 1.25
QUARTER_MIN_BYTES = 16 << 10
#: an estimate (byte-plane entropy of the best residuals) below this share of
#: zstd's size of the sample takes the block without a real trial of the
#: transform on the sample (an encode with all its layout trials, ~20% of
#: compressing a numeric array without a dtype hint; issue 15). On the 15
#: arrays of the numeric corpus and /tmp/numspeed3/unseen the trial's size was
#: at most 1/0.857 of the estimate (pypi-rank.i32; mostly the estimate is
#: higher: up to 3.3x on time.f64), so under 0.7 the trial would come out
#: under 0.82 of zstd's size, and MIN_GAIN is 0.97; 5 of the 15 skip it
#: (estimate 0.29-0.66 of zstd's). The planner still weighs the plan against raw.
SURE_GAIN = 0.7
#: below this level the values stream is also tried with long-match-only zstd
LITERAL_ZSTD_BELOW_LEVEL = 15
LITERAL_ZSTD_MIN_MATCH = 7
FLAG_VALUES_ZSTD = 1


def parse_dtype(spec) -> np.dtype | None:
    """A user's dtype hint as one of DTYPES, or None when it is not one we handle
    (big-endian, float16, complex, strings, nonsense: the transform then finds
    the layout itself)."""
    try:
        dt = np.dtype(spec)
    except (TypeError, ValueError):
        return None
    if dt.byteorder == ">" or (dt.byteorder == "=" and sys.byteorder == "big"):
        return None
    if dt.kind not in "iuf":
        return None
    key = np.dtype(f"<{dt.kind}{dt.itemsize}")
    return key if key in DTYPE_CODES else None


# ---------------------------------------------------------------- kernels


@njit(cache=True, nogil=True)
def _scale_encode64(x, scale):
    """float64 -> (n int64, exception positions). Exception slots repeat the previous n.

    Two passes: the first, without a branch on the data (it vectorises but for
    the int64 casts), rounds every value and marks the ones that come back;
    the second, over the marks, gives exception slots the previous n. r is an
    integer below 2**53 in magnitude where it counts, so float64(int64(r)) is
    r and r / scale is the decoder's division."""
    size = x.size
    n = np.empty(size, np.int64)
    ok = np.empty(size, np.uint8)
    lim = 9007199254740992.0  # 2**53: n converts to float64 exactly
    bad = 0
    for i in range(size):
        v = x[i]
        r = np.rint(v * scale)
        inside = (-lim < r) & (r < lim)
        # equal as numbers and not -0.0 (k / scale is never -0.0; NaN never equals)
        good = inside & (r / scale == v) & ((v != 0) | (math.copysign(1.0, v) > 0))
        n[i] = np.int64(r if inside else 0.0)
        ok[i] = good
        bad += 1 - np.int64(good)
    return _fill_exceptions(n, ok, bad)


@njit(cache=True, nogil=True)
def _fill_exceptions(n, ok, bad):
    """(n with each slot not ok repeating the previous n (0 at the start), the
    positions not ok)."""
    exc = np.empty(bad, np.int64)
    if bad == 0:
        return n, exc
    ne = 0
    prev = np.int64(0)
    for i in range(n.size):
        if ok[i]:
            prev = n[i]
        else:
            n[i] = prev
            exc[ne] = i
            ne += 1
    return n, exc


@njit(cache=True, nogil=True)
def _scale_encode32(x, scale):
    """float32 -> (n int64, exception positions), as _scale_encode64."""
    size = x.size
    n = np.empty(size, np.int64)
    ok = np.empty(size, np.uint8)
    lim = 9007199254740992.0
    bad = 0
    for i in range(size):
        v = np.float64(x[i])
        r = np.rint(v * scale)
        inside = (-lim < r) & (r < lim)
        good = inside & (np.float32(r / scale) == x[i]) & ((v != 0) | (math.copysign(1.0, v) > 0))
        n[i] = np.int64(r if inside else 0.0)
        ok[i] = good
        bad += 1 - np.int64(good)
    return _fill_exceptions(n, ok, bad)


#: values per chunk of _scale_decode (its scratch array stays in the L1 cache)
SCALE_DECODE_CHUNK = 1024


@njit(cache=True, nogil=True)
def _scale_decode(n, scale, out):
    """out[i] = n[i] / scale (one correctly rounded float64 division, then the
    cast to out's float type). ``out`` may be ``n``'s own memory viewed as
    float64: each value is read before its slot is written. A chunk at a time
    through a small scratch array: the loop over overlapping ``n`` and
    ``out`` did not vectorise (LLVM's overlap check sent it to the scalar
    loop), the two over disjoint arrays do (float64 in place: 1.1 -> 0.6 ns
    a value)."""
    tmp = np.empty(SCALE_DECODE_CHUNK, np.float64)
    for c0 in range(0, n.size, SCALE_DECODE_CHUNK):
        m = min(SCALE_DECODE_CHUNK, n.size - c0)
        src = n[c0:c0 + m]
        for i in range(m):
            tmp[i] = np.float64(src[i]) / scale
        dst = out[c0:c0 + m]
        for i in range(m):
            dst[i] = tmp[i]


@njit(cache=True, nogil=True)
def _scale_hits(x, scales, need):
    """For each scale, how many of x (float64) come back exactly from rint(x*s)/s,
    as far as _best_scale's choice needs: a scale is left (its count then
    below the truth) once it cannot reach ``need`` hits, and the scales after
    the first that takes every value back are not tried (0): no later one can
    beat it, and the choice is the smallest scale near the best. The values
    go in blocks of 256 without a branch (the loop vectorises), the cut is
    checked between blocks."""
    hits = np.zeros(scales.size, np.int64)
    lim = 9007199254740992.0
    n = x.size
    for j in range(scales.size):
        s = scales[j]
        h = 0
        i0 = 0
        while i0 < n:
            i1 = min(i0 + 256, n)
            for i in range(i0, i1):
                v = x[i]
                r = np.rint(v * s)
                # not -0.0 (r / s is never -0.0; NaN never equals); r in range for the int64 cast
                h += np.int64((-lim < r) & (r < lim) & (r / s == v) & ((v != 0) | (math.copysign(1.0, v) > 0)))
            i0 = i1
            if h + (n - i0) < need:
                break
        hits[j] = h
        if h == n:
            break
    return hits


@njit(cache=True, nogil=True)
def _scale_hits32(x, scales, need):
    hits = np.zeros(scales.size, np.int64)
    lim = 9007199254740992.0
    n = x.size
    for j in range(scales.size):
        s = scales[j]
        h = 0
        i0 = 0
        while i0 < n:
            i1 = min(i0 + 256, n)
            for i in range(i0, i1):
                v = np.float64(x[i])
                r = np.rint(v * s)
                h += np.int64((-lim < r) & (r < lim) & (np.float32(r / s) == x[i])
                              & ((v != 0) | (math.copysign(1.0, v) > 0)))
            i0 = i1
            if h + (n - i0) < need:
                break
        hits[j] = h
        if h == n:
            break
    return hits


@njit(cache=True, nogil=True)
def _patch(out_bits, positions, values):
    """out_bits[positions] = values; returns the index of the first bad position or -1."""
    n = out_bits.size
    last = -1
    for j in range(positions.size):
        p = positions[j]
        if p <= last or p >= n:
            return j
        out_bits[p] = values[j]
        last = p
    return -1


@njit(cache=True, nogil=True)
def _xor_prev(b):
    out = np.empty_like(b)
    prev = b.dtype.type(0)
    for i in range(b.size):
        out[i] = b[i] ^ prev
        prev = b[i]
    return out


@njit(cache=True, nogil=True)
def _unxor_prev(r):
    out = np.empty_like(r)
    prev = r.dtype.type(0)
    for i in range(r.size):
        prev = prev ^ r[i]
        out[i] = prev
    return out


def _ordered(bits: np.ndarray) -> np.ndarray:
    """IEEE bits (int32/int64) -> ints that sort like the floats (negative
    values get their magnitude bits flipped); an involution. Returns int64."""
    return _ordered_kernel(bits, bits.dtype.itemsize * 8 - 1)


@njit(cache=True, nogil=True)
def _ordered_kernel(bits, shift):
    out = np.empty(bits.size, np.int64)
    mag = (np.int64(1) << shift) - 1
    for i in range(bits.size):
        b = np.int64(bits[i])
        out[i] = b ^ ((b >> shift) & mag)
    return out


@njit(cache=True, nogil=True)
def _ordered_into(n, bits, out):
    """_ordered_kernel of int64 codes, each first truncated to ``bits`` (32 or
    64, out's width), into out (which may be n's own memory)."""
    lo = np.int64(64 - bits)
    shift = np.int64(bits - 1)
    mag = (np.int64(1) << shift) - 1
    for i in range(n.size):
        b = (n[i] << lo) >> lo
        out[i] = b ^ ((b >> shift) & mag)


@njit(cache=True, nogil=True)
def _unxor_into(n, out):
    """_unxor_prev of int64 codes into out (int32 or int64, truncated; out may
    be n itself)."""
    prev = np.int64(0)
    for i in range(n.size):
        prev = prev ^ n[i]
        out[i] = prev


# ---------------------------------------------------------------- element phase


_LANE_WORDS = {2: np.uint16, 4: np.uint32, 8: np.uint64}


def element_phase(a: np.ndarray, size: int) -> int:
    """Bytes to skip so elements of ``size`` bytes start on a boundary (a guess).

    Between neighbouring little-endian numbers the low bytes change more often
    than the high ones, so at the right phase the byte lanes' change rates fall
    from the first lane to the last. The phase with the fewest rises wins; ties
    go to the biggest drop from the last lane to the first (the top byte of one
    element next to the bottom byte of the next).
    """
    if size == 1 or a.size < 4 * size:
        return 0
    n = a.size // size * size
    # the changes of every lane at once: XOR of neighbouring elements read as
    # unsigned ints, byte lane j nonzero where lane j changed (counting a
    # (rows, size) comparison along axis 0 took 6x longer: 380 us on 64 KiB)
    words = a[:n].view(_LANE_WORDS[size])
    changed = words[1:] ^ words[:-1]
    counts = [int(np.count_nonzero(changed & changed.dtype.type(0xFF << (8 * j)))) for j in range(size)]
    # change counts are exact integers, so count / rows is the float64 mean
    rows = n // size - 1
    rate = [c / rows for c in counts]
    best, best_key = 0, None
    for p in range(size):
        r = rate[p:] + rate[:p]  # the lanes seen from phase p
        key = (sum(r[j] >= r[j + 1] for j in range(size - 1)), r[0] - r[-1])
        if best_key is None or key > best_key:
            best, best_key = p, key
    return best


# ---------------------------------------------------------------- candidates


def _int_values(arr: np.ndarray) -> np.ndarray:
    """The integers as int64: 8-byte ones as they are (a view of the block, no
    copy: the int codec never writes into its input), narrower ones widened."""
    if arr.dtype.itemsize == 8:
        return arr.view(np.int64)
    return arr.astype(np.int64)


def _plausible_float(arr: np.ndarray) -> bool:
    """Most values zero or of moderate magnitude: ints read as floats are not."""
    with np.errstate(all="ignore"):
        a = np.abs(arr.astype(np.float64))
    ok = (a == 0) | ((a > 1e-30) & (a < 1e30))
    return ok.mean() > 0.9


def _best_scale(arr: np.ndarray) -> int | None:
    step = max(1, arr.size // SCALE_SAMPLE)
    s = np.ascontiguousarray(arr[::step][:SCALE_SAMPLE])
    scales = np.array(SCALES, np.float64)
    tol = max(1, s.size // 1000)
    # a scale below this many hits can neither pass the share test nor come
    # within tol of a best that does, so its count need not be exact
    need = math.ceil((1 - MAX_EXCEPTION_SHARE) * s.size) - tol
    hits = _scale_hits(s, scales, need) if arr.dtype.itemsize == 8 else _scale_hits32(s, scales, need)
    top = int(hits.max())
    if top < (1 - MAX_EXCEPTION_SHARE) * s.size:
        return None
    # the smallest multiplier within 0.1% of the best hit rate: smaller ints
    good = np.nonzero(hits >= top - tol)[0]
    return SCALES[int(good[0])]


def _float_ints(arr: np.ndarray, method: int, scale: int | None):
    """(ints, exception positions) of a float array under a method."""
    ibits = arr.view(np.int64 if arr.dtype.itemsize == 8 else np.int32)
    if method == M_SCALED:
        enc = _scale_encode64 if arr.dtype.itemsize == 8 else _scale_encode32
        return enc(arr, np.float64(scale))
    if method == M_BITS:
        return _ordered(ibits), None
    return _xor_prev(ibits).astype(np.int64), None


def _encode_float(arr: np.ndarray, method: int, scale: int | None) -> list:
    """Streams [values, exception positions, exception bits] for a float array."""
    n, exc = _float_ints(arr, method, scale)
    if exc is None or exc.size == 0:
        return [encode_ints(n), b"", b""]
    ibits = arr.view(np.int64 if arr.dtype.itemsize == 8 else np.int32)
    return [encode_ints(n), encode_ints(exc), ibits[exc].tobytes()]


def _float_methods(arr: np.ndarray) -> list:
    """(method, scale) pairs worth trying on this float array."""
    out = []
    scale = _best_scale(arr)
    if scale is not None:
        out.append((M_SCALED, scale))
    out += [(M_BITS, None), (M_XOR, None)]
    return out


def _encode_array(arr: np.ndarray, method: int, scale: int | None) -> list:
    """Streams [values, exception positions, exception bits] of an array."""
    if method == M_INT:
        return [encode_ints(_int_values(arr)), b"", b""]
    if method == M_UNWRAP:
        return [encode_ints(_unwrap(arr)), b"", b""]
    return _encode_float(arr, method, scale)


def _unwrap(arr: np.ndarray) -> np.ndarray:
    """Narrow ints as int64 whose steps are the wrapped (mod 2**bits) steps: a
    uint32 counter passing 2**32 keeps counting. Truncating gives arr back."""
    return _unwrap_kernel(arr.astype(np.int64), arr.dtype.itemsize * 8)


@njit(cache=True, nogil=True)
def _unwrap_kernel(x, bits):
    out = np.empty(x.size, np.int64)
    if x.size == 0:
        return out
    half = np.int64(1) << (bits - 1)
    mask = (np.int64(1) << bits) - 1
    acc = x[0]
    out[0] = acc
    for i in range(1, x.size):
        d = ((x[i] - x[i - 1] + half) & mask) - half
        acc += d
        out[i] = acc
    return out


def _estimate(arr: np.ndarray, alone: bool = False) -> tuple[int, int, int | None]:
    """(estimated size after zstd, method, scale) of the best method for a sample array.
    ``alone``: nothing else competes with this array's methods, so an array
    with a single method left (every integer array, a float array whose
    quarter-sample estimates leave one) needs no size (0 is returned)."""
    if arr.dtype.kind in "iu":
        plain = _int_values(arr)
        if arr.dtype.itemsize < 8:
            unwrapped = _unwrap(arr)
            if not np.array_equal(unwrapped, plain):  # some step does wrap around
                return min((estimate_size(plain), M_INT, None), (estimate_size(unwrapped), M_UNWRAP, None))
        return (0 if alone else estimate_size(plain)), M_INT, None
    methods = _float_methods(arr)
    if len(methods) > 1 and arr.nbytes >= QUARTER_MIN_BYTES:
        # first on a quarter of the sample: methods over METHOD_PRUNE times
        # the best there are not estimated again
        quarter = np.frombuffer(_sample(arr.view(np.uint8), arr.itemsize, arr.nbytes // 4).tobytes(), arr.dtype)
        small = [_float_estimate(quarter, method, scale) for method, scale in methods]
        methods = [m for m, size in zip(methods, small) if size <= METHOD_PRUNE * min(small)]
    if alone and len(methods) == 1:
        # nothing left to compare: no estimate of it on the whole sample (a
        # fifth to a third of the estimates' time on a float array with a hint)
        return 0, methods[0][0], methods[0][1]
    best = None
    for method, scale in methods:
        size = _float_estimate(arr, method, scale)
        if best is None or size < best[0]:
            best = (size, method, scale)
    return best


def _float_estimate(arr: np.ndarray, method: int, scale: int | None) -> int:
    """estimate_size of a float array's ints under a method, exceptions included."""
    n, exc = _float_ints(arr, method, scale)
    # XOR residuals are differences already: a predictor on them won the
    # estimate on 1 of 27 float arrays (stable-Z1-pd-c4, where SCALED is 4x
    # smaller anyway), so they are estimated as they are
    size = estimate_size(n, predictors=method != M_XOR)
    if exc is not None and exc.size:
        size += exc.size * (arr.dtype.itemsize + 2)
    return size


def _sample(a: np.ndarray, size: int, nbytes: int = SAMPLE_BYTES) -> np.ndarray:
    """Up to ``nbytes`` from a few places, cut on element boundaries."""
    if a.size <= nbytes:
        return a[: a.size // size * size]
    parts = 4
    span = nbytes // parts // size * size
    last = a.size - span
    return np.concatenate([a[(i * last // (parts - 1)) // size * size:][:span] for i in range(parts)])


#: the literal-zstd decision's probe of the values stream: LITERAL_PROBE_PARTS
#: slices of LITERAL_PROBE_SPAN bytes (the stream whole up to their total)
LITERAL_PROBE_PARTS = 8
LITERAL_PROBE_SPAN = 32 << 10
LITERAL_PROBE_MARGIN = 0.98


def _stream_sample(b: bytes, parts: int = LITERAL_PROBE_PARTS, span: int = LITERAL_PROBE_SPAN) -> bytes:
    """Slices from across a stream (every byte plane gets its share)."""
    if len(b) <= parts * span:
        return b
    last = len(b) - span
    return b"".join(b[i * last // (parts - 1):][:span] for i in range(parts))


#: each thread's long-match-only zstd compressors, by level (a new one per
#: block cost 10-20 us: its context's tables came from fresh memory)
_LITERAL_CCTX = threading.local()


def _literal_zstd(b: bytes, level: int) -> bytes:
    level = max(1, level)
    cache = getattr(_LITERAL_CCTX, "by_level", None)
    if cache is None:
        cache = _LITERAL_CCTX.by_level = {}
    cctx = cache.get(level)
    if cctx is None:
        p = zstandard.ZstdCompressionParameters.from_level(level, min_match=LITERAL_ZSTD_MIN_MATCH)
        cctx = cache[level] = zstandard.ZstdCompressor(compression_params=p)
    return cctx.compress(b)


#: each thread's zstd decompressor of the values frames (a ZstdDecompressor must
#: not be shared across threads; making one per block cost ~30 us, 15% of a
#: 200K-value int32 array's decode)
_DCTX = threading.local()


def _literal_unzstd(b: bytes, count: int) -> bytes:
    # an int stream of ``count`` values is at most ~16 bytes a value (dictionary + ranks)
    bound = 17 * count + 1024
    try:
        # a content size in the frame header overrides max_output_size in
        # python-zstandard: bound it first (hostile frames may claim 2**64)
        declared = zstandard.frame_content_size(b)
        if declared > bound:
            raise FormatError(f"numeric: values frame declares {declared} bytes, more than {bound}")
        if zstd_frame_size(b) != len(b):
            # the values stream is one zstd frame and ends with it (docs/transforms/intcodec.md)
            raise FormatError(f"numeric: {len(b) - zstd_frame_size(b)} bytes after the values frame")
        dctx = getattr(_DCTX, "d", None)
        if dctx is None:
            dctx = _DCTX.d = zstandard.ZstdDecompressor()
        return dctx.decompress(b, max_output_size=bound, allow_extra_data=False)
    except zstandard.ZstdError as e:
        raise FormatError(f"numeric: values frame does not decode within {bound} bytes: {e}") from None


# ---------------------------------------------------------------- transform


def _place_residue(out: np.ndarray, residue, head: int, body_len: int) -> None:
    """The residue's first ``head`` bytes before the values' ``body_len``, the rest after them."""
    if residue:
        res = np.frombuffer(residue, np.uint8)
        out[:head] = res[:head]
        out[head + body_len:head + body_len + res.size - head] = res[head:]


@register_transform
class NumericArrayTransform(Transform):
    id = 10
    name = "numeric"
    max_streams = 4
    #: float digits and widened int8 values: the encoder measured up to ~5x
    expansion = 16
    formats = ("numeric", "binary")
    min_level = 1
    needs_layers = frozenset({"l3", "l4"})
    priority = 10

    def encode(self, data, ctx):
        a = np.frombuffer(data, np.uint8)
        if a.size < 16:
            return None
        hint = parse_dtype(ctx.hints.get("dtype")) if ctx.hints.get("dtype") is not None else None
        if hint is not None:
            dtypes = [hint]
        else:
            dtypes = [np.dtype(d) for size in (8, 4, 2, 1) for d in _TRIAL_DTYPES[size]]
        # choose (dtype, phase, method) on a sample, by estimate
        layouts = []  # (dtype, head, sample)
        phases = {}
        for dt in dtypes:
            size = dt.itemsize
            if size not in phases:
                guess = element_phase(a[:SAMPLE_BYTES], size)
                phases[size] = [guess] if guess == 0 else [guess, 0]  # ties go to the guess
            for head in phases[size]:
                body = a[head:]
                if body.size < size:
                    continue
                arr = np.frombuffer(_sample(body, size).tobytes(), dt)
                if dt.kind == "f" and hint is None and not _plausible_float(arr):
                    continue
                layouts.append((dt, head, arr))
        if len(layouts) > 1 and a.size > SAMPLE_BYTES:
            # first on a quarter of the sample: the layouts estimated there
            # over DTYPE_PRUNE times the best's are not estimated again
            small = [_estimate(np.frombuffer(_sample(a[head:], dt.itemsize, SAMPLE_BYTES // 4).tobytes(), dt))[0]
                     for dt, head, _ in layouts]
            layouts = [lay for lay, size_z in zip(layouts, small) if size_z <= DTYPE_PRUNE * min(small)]
        best = None
        for dt, head, arr in layouts:
            size_z, method, scale = _estimate(arr, alone=len(dtypes) == 1 and len(phases[dt.itemsize]) == 1)
            if best is None or size_z < best[0]:
                best = (size_z, dt, head, method, scale)
        if best is None:
            return None

        _, dt, head, method, scale = best
        size = dt.itemsize
        zstd_level = trial_compressor(ctx.level)
        if hint is None:
            # is it worth it at all? (the estimate ignores what zstd's matcher
            # finds): a real trial on the sample, unless the estimate is under
            # SURE_GAIN of zstd's size of the sample
            sample = _sample(a[head:], size)
            plain_size = len(zstd_level.compress(sample.tobytes()))
            if best[0] > SURE_GAIN * plain_size:
                trial = _encode_array(np.frombuffer(sample.tobytes(), dt), method, scale)
                trial_size = sum(len(zstd_level.compress(t)) if len(t) else 0 for t in trial)
                if trial_size > MIN_GAIN * plain_size:
                    return None
        count = (a.size - head) // size
        arr = np.frombuffer(data, dt, count, head)
        if not arr.flags.aligned:
            arr = arr.copy()
        streams = _encode_array(arr, method, scale)
        flags = 0
        frames = None
        if ctx.level < LITERAL_ZSTD_BELOW_LEVEL and len(streams[0]) > 1024:
            # long-match zstd or the engine's: decided on slices of the values
            # stream (all of it up to 256 KiB: then the winner's frame is kept).
            # (Slices of 4 x 16 KiB, two passes over 64 KiB instead of 256 KiB,
            # lost the gain on a price walk in cents, 8% of its 200 KiB stream:
            # on 64 or 128 KiB of it both frames came out the same size)
            probe = _stream_sample(streams[0])
            whole = probe is streams[0]
            literal = _literal_zstd(probe, ctx.level)
            # the layout trial may have compressed this very stream already
            plain = (trial_frame(probe) if whole and ctx.level == TRIAL_LEVEL else None) or zstd_level.compress(probe)
            # (a whole stream's two frames are what would be stored: the
            # smaller wins; a probe's must win by LITERAL_PROBE_MARGIN)
            if len(literal) < (1.0 if whole else LITERAL_PROBE_MARGIN) * len(plain):
                streams[0] = literal if whole else _literal_zstd(streams[0], ctx.level)
                flags |= FLAG_VALUES_ZSTD
            elif whole:
                frames = {0: (ctx.level, plain)}  # the engine's own zstd of the stream
        streams.append(bytes(a[:head]) + bytes(a[head + count * size:]))
        params = bytearray([VERSION, DTYPE_CODES[dt], method, head, flags])
        put_varint(params, count)
        if method == M_SCALED:
            put_varint(params, scale)
        return Encoded(bytes(params), streams, ["values", "exception positions", "exception bits", "residue"],
                       zstd_frames=frames)

    def _params(self, params):
        r = Reader(params, what="numeric params")
        version = r.u8("version")
        if version != VERSION:
            raise FormatError(f"numeric params: unknown version {version}")
        code = r.u8("dtype")
        if code not in DTYPES:
            raise FormatError(f"numeric params: unknown dtype code {code}")
        dt = DTYPES[code]
        method = r.u8("method")
        if method not in METHOD_NAMES or (method in INT_METHODS) != (dt.kind in "iu") or (
            method == M_UNWRAP and dt.itemsize == 8
        ):
            raise FormatError(f"numeric params: method {method} does not fit dtype {dt}")
        head = r.u8("head")
        if head >= dt.itemsize:
            raise FormatError(f"numeric params: head {head} not below the element size {dt.itemsize}")
        flags = r.u8("flags")
        if flags & ~FLAG_VALUES_ZSTD:
            raise FormatError(f"numeric params: unknown flags {flags:#x}")
        count = r.varint("count")
        scale = None
        if method == M_SCALED:
            scale = r.varint("scale")
            if not 1 <= scale <= 1 << 62:
                raise FormatError(f"numeric params: scale {scale} out of range")
        r.expect_end("numeric params")
        return dt, method, head, flags, count, scale

    def decode_into(self, streams, params, raw_len, ctx, out):
        dt, method, head, flags, count, scale = self._params(params)
        if len(streams) != 4:
            raise FormatError(f"numeric: expected 4 streams, got {len(streams)}")
        values, exc_pos, exc_bits, residue = streams
        size = dt.itemsize
        if count * size + len(residue) != raw_len or head > len(residue):
            raise FormatError(
                f"numeric: {count} x {size} bytes + {len(residue)} residue bytes != block length {raw_len}"
            )
        if len(residue) - head >= size:
            raise FormatError("numeric: residue tail holds a whole element")
        if flags & FLAG_VALUES_ZSTD:
            values = _literal_unzstd(values, count)
        if method in INT_METHODS:
            if exc_pos or exc_bits:
                raise FormatError("numeric: exception streams on an integer array")
        elif method != M_SCALED and (exc_pos or exc_bits):
            raise FormatError("numeric: exception streams without the scaled method")
        _place_residue(out, residue, head, count * size)
        span = out[head:head + count * size]
        if sys.byteorder != "little":
            self._decode_values(values, dt, method, scale, count, exc_pos, exc_bits, span, big_endian=True)
            return
        # the last kernel writes the values straight into the block's span of
        # the output (no array per stage, no copy), through an aligned array
        # and one copy where the span is not aligned
        direct = span.ctypes.data % size == 0
        dest = span if direct else np.empty(count * size, np.uint8)
        self._decode_values(values, dt, method, scale, count, exc_pos, exc_bits, dest)
        if not direct:
            span[:] = dest

    @staticmethod
    def _decode_values(values, dt, method, scale, count, exc_pos, exc_bits, dest, big_endian=False):
        """The array's little-endian bytes into ``dest`` (count x itemsize
        bytes, aligned to the item size unless ``big_endian``)."""
        size = dt.itemsize
        if big_endian:
            tmp = np.empty(count * size, np.uint8)
            NumericArrayTransform._decode_values(values, dt, method, scale, count, exc_pos, exc_bits, tmp)
            dest[:] = tmp.view(dt.newbyteorder("=")).byteswap().view(np.uint8)
            return
        floats = dest.view(np.float64 if size == 8 else np.float32) if method == M_SCALED else None
        try:
            if method == M_SCALED and decode_scaled_sparse(values, count, scale, floats):
                # sparse codes (runs of one value): each run divided once, in the same pass
                n = None
            elif method in INT_METHODS or size == 8:
                # ints: the int codec truncates each value to its type (which
                # undoes the unwrapping too); 8-byte floats: their int codes
                # first, mapped to floats in place
                n = decode_ints(values, count, out=dest.view(_UNSIGNED[size]))
            else:
                n = decode_ints(values, count)
        except FormatError as e:
            raise FormatError(f"numeric: values stream: {e}") from None
        if n is not None and n.size != count:
            raise FormatError(f"numeric: values stream holds {n.size} values, params say {count}")
        if method in INT_METHODS:
            return
        ibits_t = np.int64 if size == 8 else np.int32
        bits = dest.view(ibits_t)
        if method == M_SCALED:
            if n is not None:
                _scale_decode(n.view(np.int64), np.float64(scale), floats)
            pos = decode_ints(exc_pos, count) if exc_pos else np.zeros(0, np.int64)
            if len(exc_bits) != pos.size * size:
                raise FormatError(f"numeric: {len(exc_bits)} exception bytes for {pos.size} exceptions")
            bad = _patch(bits, pos, np.frombuffer(exc_bits, dtype="<" + ("i8" if size == 8 else "i4")))
            if bad >= 0:
                raise FormatError(f"numeric: exception position {int(pos[bad])} out of order or range")
        elif method == M_BITS:
            _ordered_into(n.view(np.int64), size * 8, bits)
        else:
            _unxor_into(n.view(np.int64), bits)

    def describe(self, params):
        try:
            dt, method, head, flags, count, scale = self._params(params)
        except FormatError as e:
            return f"numeric (bad params: {e})"
        name = DTYPES[DTYPE_CODES[dt]].name
        how = METHOD_NAMES[method] + (f" x{scale}" if scale else "")
        skip = f", head {head}" if head else ""
        return f"numeric {name} {how}, {count} values{skip}"
