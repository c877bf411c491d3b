"""Self-describing integer-array codec: int64 array in, bytes out, and back.

The entry point other layers (JSON, CSV, logs, numeric arrays) use for a stream
of integers::

    encode_ints(values) -> bytes          # the bytes carry the count
    decode_ints(buf, max_count) -> int64 array

The bytes are meant to be entropy-coded by the engine afterwards (zstd), so the
codec picks, by trial on a sample compressed with zstd, the layout that zstd
finishes best. Every layout first takes out a *frame of reference and common
divisor*: ``x = base + gcd * y`` with ``y >= 0`` (timestamps in whole minutes
become minutes). Then one of:

PACKED   L3 delta per chunk (order 0..3, the order travels in the L4 chunk tag)
         and L4 variable bit-packing (:mod:`.l3_delta`, :mod:`.l4_bitpack`).
         Best when residuals are uniform within their width (bits are bits).
PLANES   one predictor for the array (none, previous value, linear, or the mean
         of the last 4 / 16 values), the residuals zigzagged or offset by their
         minimum, then as ``k`` little-endian bytes each, stored either as ``k``
         byte planes (all low bytes, then all next bytes, ...: zstd's Huffman
         stage then models each byte position apart, like Blosc's shuffle) or
         interleaved (keeps repeated multi-byte values visible to zstd's
         matcher). Best when the residuals are skewed (mostly small, some large).
ESCAPE   as PLANES up to the residual codes, then one byte per code: codes
         below 255 as they are, 255 for "255 or more", whose excess goes to a
         nested int stream. One Huffman table sees the whole common range.
NIBBLES  the same with 4-bit codes (escape 15), two a byte: zstd's Huffman then
         codes pairs and wastes less on a skewed small alphabet.
BUCKET   a byte symbol per code (codes below 64 themselves; above, the bit
         length and the two bits under the leading one), then the remaining
         low bits raw, LSB-first: entropy coding for alphabets far above 256.
SPARSE   mostly-zero residuals (order 0 or 1): the zero runs between nonzero
         residuals and the nonzero residuals, each an int stream of its own.
DICT     few distinct values: a dictionary in descending frequency order
         (itself encoded with this codec) and each value's rank (likewise), so
         the common values get the small ranks.

Sections of at least 16 KiB with different statistics (byte planes, bucket
symbols) are followed by a padding section (varint p, then p zeros) that
reaches the next 128 KiB boundary of the stream, so that no zstd block (one
Huffman table each) mixes them.

Layout::

    u8 mode | varint count | body
    PACKED: varint zigzag(base) | varint gcd | L4 bit-pack buffer (its count = count)
    PLANES: u8 predictor | u8 layout | u8 k | varint zigzag(base) | varint gcd
            | [varint zigzag(offset) if layout & 2] | w x varint (warm-up values y[0..w))
            | k * (count - w) bytes, plane by plane (padding between planes) or
            interleaved (layout & 1)          (w = PREDICTOR_WARM[predictor])
    ESCAPE, NIBBLES, BUCKET: u8 predictor | u8 layout (0 or 2) | as PLANES up to
            the warm-up values | m = count - w codes (bytes, nibble pairs, or
            bucket symbols + padding) | nested int stream of the escapes'
            excess (ESCAPE, NIBBLES) or the extra bits (BUCKET)
    DICT:   varint ndict | varint len(ranks) | ranks (this codec) | values (this codec)
    SPARSE: u8 order (0, 1) | varint zigzag(base) | varint gcd | varint len(gaps)
            | gaps (this codec) | nonzero residuals (this codec)

DICT and SPARSE nest only at the top, ESCAPE and NIBBLES down to depth 1, so
decoding recursion is bounded. docs/transforms/intcodec.md has every field.

Decoding validates every field and raises FormatError / LimitError; allocations
are bounded by ``max_count``.

>>> import numpy as np
>>> v = np.array([5, 7, 9, -3], dtype=np.int64)
>>> bool((decode_ints(encode_ints(v), 4) == v).all())
True
"""

from __future__ import annotations

import math
import threading

import numpy as np
import zstandard
from numba import njit

from ..entropy import thread_compressor
from ..errors import FormatError
from ..format.wire import Reader, put_varint, varint_bytes
from . import batch_kernels
from .intcodec_numpy import (  # noqa: F401 (the layout's constants, re-exported)
    ALL_MODES, BUCKET, BUCKET_DIRECT, BUCKET_LEAD, BUCKET_MAX_SYMBOL, BUCKET_WIDTH, DICT, ESCAPE, ESCAPE_BYTE,
    ESCAPE_NIBBLE, LAYOUT_INTERLEAVED, LAYOUT_OFFSET, MODE_NAMES, NIBBLES, PACKED, PAD_MIN_SECTION, PLANES,
    PREDICTOR_WARM, SPARSE, ZSTD_BLOCK, read_planes_body, read_planes_starts, read_predicted_header, read_sparse_header,
    skip_padding as _skip_padding)
from .primitives import bit_length, load_u64, put_varints, table_capacity, table_slot, readonly, unzigzag, unzigzag_int, zigzag, zigzag_int

#: NIBBLES is tried when at most this share of the residuals escape
NIBBLES_MAX_ESCAPES = 0.05

_WARM_K = np.array(PREDICTOR_WARM, np.int64)
#: ESCAPE is tried on a nested int stream (depth 1) of ESCAPE_NESTED_MIN_VALUES
#: or more residuals only when fewer than ESCAPE_NESTED_MAX_SHARE of them
#: escape: where most do, the escaped excess is nearly the whole stream again,
#: and its trial (with one more nested stream of that size) was ~3/4 of the
#: nested trials' time. On the csv and numeric corpus files and
#: /tmp/numspeed3/unseen such ESCAPE layouts won 5 of 90 nested trials (none
#: of the 21 with 50-90% escaping); leaving them out of streams from 4K values
#: cost one CSV file 0.16% (sam-cec; the csv+numeric total 0.02%) and took 9%
#: of the int codec's CPU time on CSV, 15% on numeric arrays (from any size:
#: 14% and 21%, but a JSON file lost 0.4%) (issue 15)
ESCAPE_NESTED_MAX_SHARE = 0.5
ESCAPE_NESTED_MIN_VALUES = 4096
#: SPARSE is tried when at most this share of the residuals are nonzero
SPARSE_MAX_SHARE = 0.25

CHUNK = 512
#: sample size (values) for the trial of layouts
SAMPLE_VALUES = 1 << 15
SAMPLE_SLICES = 4
#: the sample size for int streams nested in a layout (escaped excess,
#: dictionary ranks and values, sparse gaps and values): half as many. At level
#: 3 on 22 numeric arrays (the dev corpus and 16 from outside it) and the csv,
#: json, jsonl and log corpus files every output stayed byte-identical but one
#: (a topojson file, 0.07% smaller), and numeric compression ran ~15% faster;
#: 8K values cost up to 3.8% (issue 15)
NESTED_SAMPLE_VALUES = 1 << 14
#: the predictor and residual map of a larger (sample) array are chosen on
#: this many of its values (_residual_map)
PREDICTOR_SAMPLE_VALUES = 1 << 14
#: zstd level of the trial compressions (sizes only steer the choice)
TRIAL_LEVEL = 3
#: What cheaper choices cost (twelfth session, issue 15; /tmp/csvnum.py set at
#: level 3, 2,604,296 bytes; zstd trials are ~11% of CSV compress CPU, the
#: predictor entropy ~5% on CSV and ~15% on numeric, building the candidates
#: most of the rest): ranking the candidates by a size model of their blobs
#: (order-0 entropy per 128 KiB block; actual/model 0.5-1.1 between the 10th
#: and 90th percentile, zstd's matches) and zstd-trying only the best two or
#: those within 10-20% of the best model: +0.53-0.6%; ranking by zstd -1: 110
#: other winners in 561 trials (+33 KB), by zstd 1: 32 (+3.8 KB) for 25% less
#: trial-compression time; trying whole-array candidates with quick nested
#: streams and re-coding the close nesting ones: same bytes at a 10% margin
#: and no CPU saved; SAMPLE_VALUES 16K: csvnum -25 bytes but the wrapping
#: counter of test_pre_trial_keeps_the_layout... lost BUCKET (+2.2%), 8K
#: +0.5%; PREDICTOR_SAMPLE_VALUES 8K or 4K: usr-lib-file-sizes.i64 +8.2%.
#: a dictionary is tried when the sample has at most this share of distinct values
DICT_MAX_SHARE = 0.25
DICT_MAX_SIZE = 1 << 16
#: a nested int stream of fewer values tries only PACKED and PLANES: its
#: other layouts each cost a trial (ESCAPE and NIBBLES a nested one too) for
#: a few bytes at most (on the csv and numeric corpus files and numeric
#: unseen, 34 bytes of trial sizes over 191 such streams; vega-zipcodes.csv
#: +0.01%, everything else byte-identical), ~4% of the int codec's time on
#: numeric arrays (issue 15). (Up to 256 values at depth 2 had cost
#: pypi-rank.i32 7.5%: csv-speed4, reverted.)
NESTED_SMALL = 64
#: the layouts a dictionary's values (distinct, most frequent first: no order
#: a predictor or a skewed code could use) try: same bytes on the csv,
#: numeric, json, jsonl, log and xml corpus files and numeric unseen as with
#: every layout, ~3% of the int codec's time on CSV (issue 15)
DICT_VALUES_MODES = (PACKED, PLANES)
#: no DICT trial when the frame-of-reference values stay below this: each
#: already fits a nibble, and the dictionary's ranks (a relabelling of at most
#: 16 symbols, without the predictors) code no smaller. Same bytes on the csv,
#: numeric, json, jsonl, log and xml corpus files and /tmp/numspeed3/unseen;
#: 5% of the int codec's CPU time on CSV (issue 15). (Up to 256 with more
#: than 16 distinct values cost tmy3 0.23%: ranks of a skewed alphabet go to
#: NIBBLES with few escapes where the values themselves do not.)
DICT_MIN_TOP = 16
#: no DICT trial (its ranks and values, each an int stream with trials of its
#: own) once a layout tried before it measured at most 1 / DICT_ENTROPY_MARGIN
#: of the values' order-0 entropy (what the ranks code to without runs or
#: repeats for zstd to find), unless there are at most
#: DICT_ENTROPY_MIN_DISTINCT distinct values (short alphabets with runs: tmy3's
#: flags won DICT at 2-7x their entropy). See the thirteenth session's
#: section of docs/SPEED.md for what it measured (issue 15).
DICT_ENTROPY_MARGIN = 1.5
DICT_ENTROPY_MIN_DISTINCT = 16
#: The whole array's dictionary table is first sized for this many times the
#: distinct values of the trial sample (at least DICT_EXPECT_MIN), and at
#: DICT_MAX_SIZE only when that overflows: the full-size table (2 x 64K slots
#: of 16 bytes, filled with -1) was half of the page faults of compressing the
#: numeric corpus, and its random probes missed the cache (distance.i32: 1,079
#: distinct values in 200K; _dictionary 1.7 -> ~0.9 ms). Same dictionary either way.
DICT_EXPECT_FACTOR = 4
DICT_EXPECT_MIN = 1024


# ---------------------------------------------------------------- kernels


@njit(cache=True, nogil=True)
def _gcd(a, b):
    while b != 0:
        a, b = b, a % b
    return a


@njit(cache=True, nogil=True)
def _odd_inverse(a):
    """The inverse of odd ``a`` modulo 2**64 (Newton's iteration: each step
    doubles the bits that are right; a is its own inverse to 3 bits)."""
    two = np.uint64(2)
    v = a
    for _ in range(5):
        v *= two - a * v
    return v


@njit(cache=True, nogil=True)
def _frame_of_reference(x):
    """(base, gcd, y) with x == base + gcd * y (uint64 wraparound), y >= 0
    (:func:`_frame_into` a new array)."""
    y = np.empty(x.size, np.uint64)
    base, g = _frame_into(x, y)
    return base, g, y


@njit(cache=True, nogil=True)
def _frame_into(x, y):
    """(base, gcd) with x == base + gcd * y[:x.size] (uint64 wraparound), y >= 0.

    Dividing by a runtime gcd costs ~25-40 cycles a value (and the gcd's own
    remainders as many): with ``gcd = odd << tz``, a multiple ``d`` of it is
    ``d >> tz`` times ``odd`` exactly, so ``(d >> tz) * inverse(odd)`` (mod
    2**64) is the quotient, and ``d`` is a multiple iff its low ``tz`` bits are
    0 and that product is at most ``(2**64 - 1) // odd`` (Granlund and
    Montgomery): one multiply a value. A remainder is taken only where the
    gcd changes."""
    n = x.size
    lo = x[0]
    for i in range(n):
        lo = min(lo, x[i])
    u = x.view(np.uint64)
    base = np.uint64(lo)
    one = np.uint64(1)
    g = np.uint64(0)
    tz = np.uint64(0)
    inv = np.uint64(0)
    limit = np.uint64(0)
    low = np.uint64(0)
    for i in range(n):
        d = u[i] - base
        if d == 0:
            continue
        if g != 0 and (d & low) == 0 and (d >> tz) * inv <= limit:
            continue  # d is a multiple of g
        g = _gcd(d, g) if g != 0 else d
        if g == 1:
            break
        tz = np.uint64(0)
        while (g >> tz) & one == 0:
            tz += one
        odd = g >> tz
        inv = _odd_inverse(odd)
        limit = np.uint64(0xFFFFFFFFFFFFFFFF) // odd
        low = (one << tz) - one
    if g <= 1:
        g = np.uint64(1)
        for i in range(n):
            y[i] = u[i] - base
    else:
        for i in range(n):
            y[i] = ((u[i] - base) >> tz) * inv
    return base, g


def _frame_of_reference_reference(x):
    """:func:`_frame_of_reference` with Python's integers (for the tests)."""
    u = [int(v) % (1 << 64) for v in x]
    base = min(int(v) for v in x) % (1 << 64)
    g = 0
    for v in u:
        g = math.gcd(g, (v - base) % (1 << 64))
    g = g or 1
    return base, g, np.array([((v - base) % (1 << 64)) // g for v in u], np.uint64)


@njit(cache=True, nogil=True)
def _unframe(y, base, g, out):
    """out[i] = base + g * y[i] (uint64 arithmetic), truncated to out's integer
    type (decoders of narrow arrays hand their output array in)."""
    for i in range(y.size):
        out[i] = base + g * y[i]


@njit(cache=True, nogil=True)
def _deltas(y, order):
    """Signed residuals (as uint64 bits) of y[WARM[order]:] under a predictor:
    0 none, 1 previous value, 2 linear extrapolation, 3 / 4 mean of the last
    4 / 16 values (noisy sensors: the noise is not doubled as by a difference)."""
    n = y.size
    warm = _WARM_K[order]
    if n <= warm:
        return np.empty(0, np.uint64)
    out = np.empty(n - warm, np.uint64)
    if order == 0:
        for i in range(n):  # not out[:] = y: the first array-to-slice assignment compiles for ~2 s
            out[i] = y[i]
    elif order == 1:
        for i in range(1, n):
            out[i - 1] = y[i] - y[i - 1]
    elif order == 2:
        two = np.uint64(2)
        for i in range(2, n):
            out[i - 2] = y[i] - two * y[i - 1] + y[i - 2]
    else:
        sh = np.uint64(2 if order == 3 else 4)
        s = np.uint64(0)
        for i in range(warm):
            s += y[i]
        for i in range(warm, n):
            out[i - warm] = y[i] - (s >> sh)
            s += y[i] - y[i - warm]
    return out


@njit(cache=True, nogil=True)
def _map_residuals(d, offset, use_offset):
    """Signed residuals -> unsigned codes: zigzag, or minus the minimum."""
    out = np.empty(d.size, np.uint64)
    if use_offset:
        for i in range(d.size):
            out[i] = d[i] - offset
    else:
        for i in range(d.size):
            out[i] = zigzag(d[i])
    return out


@njit(cache=True, nogil=True)
def _unpredict(r, warm, order, offset, use_offset, base, g, out):
    """Residual codes -> values in ``out`` (warm.size + r.size of any integer
    type; truncated to it): undo the residual map and the predictor, then the
    frame of reference (the inverse of the PLANES/ESCAPE encoders).
    One loop per predictor (and per residual map for the previous-value
    predictor, the common one): the predictor is chosen once, not per value.
    Without warm-up values (order 0) ``out`` may be ``r`` itself (each code is
    read before its slot is written): one pass over one array instead of two."""
    nw = warm.size
    m = r.size
    two = np.uint64(2)
    p1 = np.uint64(0)
    p2 = np.uint64(0)
    hist = np.zeros(16, np.uint64)  # the window of the mean predictors
    s = np.uint64(0)
    sh = np.uint64(2 if order == 3 else 4)
    for i in range(nw):
        p2 = p1
        p1 = warm[i]
        hist[i] = p1
        s += p1
        out[i] = base + g * p1
    o = out[nw:]
    if order == 0:
        for i in range(m):
            o[i] = base + g * r[i]
    elif order == 1:
        if use_offset:
            for i in range(m):
                p1 = p1 + (r[i] + offset)
                o[i] = base + g * p1
        else:
            for i in range(m):
                p1 = p1 + unzigzag(r[i])
                o[i] = base + g * p1
    elif order == 2:
        for i in range(m):
            d = r[i] + offset if use_offset else unzigzag(r[i])
            y = d + two * p1 - p2
            p2 = p1
            p1 = y
            o[i] = base + g * y
    else:
        slot = 0
        for i in range(m):
            d = r[i] + offset if use_offset else unzigzag(r[i])
            y = d + (s >> sh)
            s += y - hist[slot]
            hist[slot] = y
            slot += 1
            if slot == nw:
                slot = 0
            o[i] = base + g * y


@njit(cache=True, nogil=True)
def _split_escape(r, esc):
    """Residuals -> (min(r, esc) as bytes; r - esc for those >= esc)."""
    prim = np.empty(r.size, np.uint8)
    k = 0
    for i in range(r.size):
        if r[i] >= np.uint64(esc):
            k += 1
    rest = np.empty(k, np.uint64)
    k = 0
    for i in range(r.size):
        v = r[i]
        if v >= np.uint64(esc):
            prim[i] = esc
            rest[k] = v - np.uint64(esc)
            k += 1
        else:
            prim[i] = np.uint8(v)
    return prim, rest


#: codes a run of _merge_escape: each run is written with no branch (a vector
#: loop), and only a run that holds an escape is gone over again
MERGE_ESCAPE_RUN = 32


@njit(cache=True, nogil=True)
def _merge_escape(prim, rest, esc, base, g, out):
    """Inverse of _split_escape, each code then put through the frame of
    reference: out[i] = base + g * code (uint64 arithmetic, truncated to out's
    type; base 0 and g 1 give the codes). Without a predictor the decoder
    writes the values so, in one pass. False when the escapes and the rest
    disagree in number or a code lies above the escape. Escapes are rare
    (the encoder picks the layout so): a run of codes is written as they
    are, its largest code found in the same vector loop, and only a run
    that holds the escape code is gone over again for them (a branch per
    code did not vectorise: 0.5 ns a code). Where escapes are not rare
    (more than one code in 64) most runs would be gone over twice: a
    branch per code then."""
    k = 0
    m = prim.size
    if rest.size * 64 > m:
        for i in range(m):
            b = prim[i]
            if b == esc:
                if k >= rest.size:
                    return False
                out[i] = base + g * (rest[k] + np.uint64(esc))
                k += 1
            elif b > esc:
                return False
            else:
                out[i] = base + g * np.uint64(b)
        return k == rest.size
    for c0 in range(0, m, MERGE_ESCAPE_RUN):
        c1 = min(c0 + MERGE_ESCAPE_RUN, m)
        # (slices indexed from 0 by range(): no negative-index check per code)
        p = prim[c0:c1]
        o = out[c0:c1]
        mx = np.uint8(0)
        for i in range(c1 - c0):
            b = p[i]
            if b > mx:
                mx = b
            o[i] = base + g * np.uint64(b)
        if mx < esc:
            continue
        if mx > esc:
            return False
        for i in range(c1 - c0):
            if p[i] == esc:
                if k >= rest.size:
                    return False
                o[i] = base + g * (rest[k] + np.uint64(esc))
                k += 1
    return k == rest.size


@njit(cache=True, nogil=True)
def _pack_nibbles(p):
    """Codes below 16, two a byte (the first in the low nibble)."""
    out = np.zeros((p.size + 1) // 2, np.uint8)
    for i in range(p.size):
        out[i >> 1] |= p[i] << (4 * (i & 1))
    return out


@njit(cache=True, nogil=True)
def _unpack_nibbles(b, m):
    """Inverse of _pack_nibbles; ok=False when the unused last nibble is not 0."""
    out = np.empty(m, np.uint8)
    for i in range(m):
        out[i] = (b[i >> 1] >> (4 * (i & 1))) & 15
    return out, (m & 1) == 0 or (b[m >> 1] >> 4) == 0


@njit(cache=True, nogil=True)
def _bucket_split(r):
    """Residuals -> (symbol bytes, extra bits LSB-first as uint64 words, bit count);
    ok=False when a residual reaches 2**53."""
    m = r.size
    sym = np.empty(m, np.uint8)
    nbits = 0
    for i in range(m):
        v = r[i]
        if v >= np.uint64(1) << np.uint64(53):
            return sym, np.zeros(1, np.uint64), 0, False
        if v >= np.uint64(BUCKET_DIRECT):
            nbits += bit_length(v) - 3
    # (not zeroed: every word up to the last one used is stored whole below,
    # and only those are read)
    words = np.empty(nbits // 64 + 2, np.uint64)
    # the current word is built in a register and stored once full (OR-ing
    # into memory made each value wait for the store of the one before)
    word = 0
    off = 0
    acc = np.uint64(0)
    for i in range(m):
        v = r[i]
        if v < np.uint64(BUCKET_DIRECT):
            sym[i] = np.uint8(v)
            continue
        e = bit_length(v)
        w = e - 3
        top = (v >> np.uint64(w)) & np.uint64(3)
        sym[i] = np.uint8(BUCKET_DIRECT + (e - 7) * 4 + np.int64(top))
        extra = v & ((np.uint64(1) << np.uint64(w)) - np.uint64(1))
        acc |= extra << np.uint64(off)
        off += w
        if off >= 64:
            words[word] = acc
            word += 1
            off -= 64
            acc = extra >> np.uint64(w - off) if off else np.uint64(0)
    words[word] = acc
    return sym, words, nbits, True


#: module-level arrays: the kernels below read them as constants
_BUCKET_WIDTH, _BUCKET_LEAD = BUCKET_WIDTH, BUCKET_LEAD


@njit(inline="always")
def _load_bits(buf, off):
    """The 8 bytes at buf[off:off+8] as a little-endian uint64; bytes past the
    end of ``buf`` read as 0 (for the last few values of a BUCKET body)."""
    v = np.uint64(0)
    for j in range(max(0, min(8, buf.size - off))):
        v |= np.uint64(buf[off + j]) << np.uint64(8 * j)
    return v


@njit(inline="always")
def _bucket_max_width(sym):
    """The most extra bits a symbol calls for (a width grows with its
    symbol), or -1 when one is above BUCKET_MAX_SYMBOL: a max over the bytes,
    which vectorises (~0.015 ns a symbol; a check per symbol in the decode
    loop cost 12%)."""
    mx = np.uint8(0)
    for i in range(sym.size):
        v = sym[i]
        if v > mx:
            mx = v
    return _BUCKET_WIDTH[mx]


#: values a chunk of the BUCKET decoders: their codes sit in a scratch array that stays in the L1 cache
BUCKET_DECODE_CHUNK = 2048


@njit(inline="always")
def _bucket_codes(sym, extra, i0, n, pos, maxw, codes):
    """codes[:n] = the codes of symbols i0..i0+n of a BUCKET body, whose extra
    bits start at bit ``pos`` of ``extra`` (the bytes as stored: no copy, no
    spare word); returns the bit after the last read. ``maxw``: the body's
    _bucket_max_width (not -1). A value's extra bits (at most 50) and the up
    to 7 bits before them in their first byte fit one unaligned 8-byte load
    at the byte of its first bit (little-endian hosts); a symbol below
    BUCKET_DIRECT reads 0 bits. The loads run unchecked over runs of values
    that cannot read past the end (each reads at most ``maxw`` bits: a run is
    the bits left over maxw values long), the rest one at a time through
    _load_bits; a bounds test per value cost 30%."""
    width = _BUCKET_WIDTH
    lead = _BUCKET_LEAD
    one = np.uint64(1)
    step = max(maxw, 1)
    j = 0
    while j < n:
        room = ((extra.size - 8) * 8 - pos) // step
        if room < 64:
            break
        end = min(n, j + room)
        # (slices indexed from 0 by range(): no negative-index check per value)
        ss = sym[i0 + j:i0 + end]
        cc = codes[j:end]
        for t in range(end - j):
            s = ss[t]
            w = width[s]
            bits = load_u64(extra, pos >> 3) >> np.uint64(pos & 7)
            cc[t] = lead[s] | (bits & ((one << np.uint64(w)) - one))
            pos += w
        j = end
    ss = sym[i0 + j:i0 + n]
    cc = codes[j:n]
    for t in range(n - j):
        s = ss[t]
        w = width[s]
        if w == 0:
            # (a body with few extra bits reads most values here: no load)
            cc[t] = lead[s]
            continue
        bits = _load_bits(extra, pos >> 3) >> np.uint64(pos & 7)
        cc[t] = lead[s] | (bits & ((one << np.uint64(w)) - one))
        pos += w
    return pos


@njit(cache=True, nogil=True)
def _bucket_merge(sym, extra):
    """Inverse of _bucket_split: (residuals, extra bits read; -1 when a
    symbol is above BUCKET_MAX_SYMBOL). ``extra``: the extra bits' bytes as
    stored (_bucket_codes); the caller checks the result (_check_bucket)."""
    r = np.empty(sym.size, np.uint64)
    maxw = _bucket_max_width(sym)
    if maxw < 0:
        return r, -1
    return r, _bucket_codes(sym, extra, 0, sym.size, 0, maxw, r)


@njit(cache=True, nogil=True)
def _signed_min(d):
    lo = np.int64(d[0])
    for i in range(d.size):
        lo = min(lo, np.int64(d[i]))
    return np.uint64(lo)


@njit(cache=True, nogil=True)
def _sparse_split(y, order):
    """SPARSE's two nested streams straight from y: the zero runs before each
    nonzero residual and the nonzero residuals (as int64 bits), where the
    residual of order 0 is y itself and of order 1 y minus the value before
    (0 before the first). Two passes over y, no residual or position arrays
    (each a fresh array of y's size: on a 200K-value array their page faults
    cost more than the passes)."""
    n = y.size
    k = 0
    prev = np.uint64(0)
    for i in range(n):
        v = y[i]
        k += (v - prev if order == 1 else v) != 0
        prev = v
    gaps = np.empty(k, np.int64)
    vals = np.empty(k, np.int64)
    k = 0
    last = -1
    prev = np.uint64(0)
    for i in range(n):
        v = y[i]
        d = v - prev if order == 1 else v
        prev = v
        if d != 0:
            gaps[k] = i - last - 1
            vals[k] = np.int64(d)
            last = i
            k += 1
    return gaps, vals


@njit(cache=True, nogil=True)
def _sparse_nonzeros(y):
    """Nonzero residuals of SPARSE order 0 (y itself) and order 1 (y minus the
    value before, 0 before the first), counted in one pass."""
    n0 = 0
    n1 = 0
    prev = np.uint64(0)
    for i in range(y.size):
        v = y[i]
        n0 += v != 0
        n1 += v != prev
        prev = v
    return n0, n1


@njit(cache=True, nogil=True)
def _sparse_decode(gaps, values, out, order, base, g):
    """(gaps, values) -> the values in ``out`` (any integer type; truncated to
    it): scatter the nonzero residuals, integrate them (order 1) and undo the
    frame of reference, in one pass. False when the gaps run past out.size."""
    n = out.size
    i = 0
    y = np.uint64(0)
    for j in range(gaps.size):
        gap = gaps[j]
        if gap < 0 or gap >= n - i:
            return False
        if order == 0:
            y = np.uint64(0)
        # (a slice fill, cast to out's type once: it runs as a memset-like
        # vector loop, where an index loop checked each index for wraparound)
        fill = out.dtype.type(base + g * y)
        if gap:
            out[i:i + gap] = fill
        i += gap
        v = np.uint64(values[j])
        y = y + v if order == 1 else v
        out[i] = base + g * y
        i += 1
    if order == 0:
        y = np.uint64(0)
    out[i:n] = out.dtype.type(base + g * y)
    return True


@njit(cache=True, nogil=True)
def _sparse_decode_scaled(gaps, values, out, order, base, g, scale):
    """_sparse_decode of int codes that stand for code / scale: each value
    written to the float array ``out`` as float64(int64 code) / scale (one
    correctly rounded division, then the cast to out's type: what
    numeric._scale_decode makes of the codes), a run's value divided once
    (a slice fill). False when the gaps run past out.size."""
    n = out.size
    i = 0
    y = np.uint64(0)
    for j in range(gaps.size):
        gap = gaps[j]
        if gap < 0 or gap >= n - i:
            return False
        if order == 0:
            y = np.uint64(0)
        if gap:
            out[i:i + gap] = out.dtype.type(np.float64(np.int64(base + g * y)) / scale)
        i += gap
        v = np.uint64(values[j])
        y = y + v if order == 1 else v
        out[i] = np.float64(np.int64(base + g * y)) / scale
        i += 1
    if order == 0:
        y = np.uint64(0)
    out[i:n] = out.dtype.type(np.float64(np.int64(base + g * y)) / scale)
    return True


@njit(cache=True, nogil=True)
def _to_bytes(r, k, planes):
    n = r.size
    out = np.empty(n * k, np.uint8)
    if planes:
        for j in range(k):
            sh = np.uint64(8 * j)
            base = j * n
            for i in range(n):
                out[base + i] = np.uint8((r[i] >> sh) & np.uint64(0xFF))
    else:
        for i in range(n):
            v = r[i]
            for j in range(k):
                out[i * k + j] = np.uint8((v >> np.uint64(8 * j)) & np.uint64(0xFF))
    return out


@njit(cache=True, nogil=True)
def _from_bytes(b, n, k, planes):
    out = np.zeros(n, np.uint64)
    if planes:
        for j in range(k):
            sh = np.uint64(8 * j)
            plane = b[j * n:(j + 1) * n]
            for i in range(n):
                out[i] |= np.uint64(plane[i]) << sh
    else:
        for i in range(n):
            v = np.uint64(0)
            for j in range(k):
                v |= np.uint64(b[i * k + j]) << np.uint64(8 * j)
            out[i] = v
    return out


@njit(cache=True, nogil=True, inline="always")
def _warm_values(warm, base, g, out):
    """The warm-up values (stored as they are) to out[:warm.size], the frame
    of reference undone; returns the last one (the order-1 predictor's start)."""
    p1 = np.uint64(0)
    for i in range(warm.size):
        p1 = warm[i]
        out[i] = base + g * p1
    return p1


@njit(cache=True, nogil=True, inline="always")
def _chunk_values(codes, n, o, order, offset, use_offset, base, g, p1):
    """codes[:n] of a fused decoder's chunk to the values o[:n]: the residual
    map and the predictor of order 0 or 1 (``p1``, the value before the
    chunk) undone, then the frame of reference; returns the chunk's last
    predictor value."""
    if order == 0:
        for i in range(n):
            o[i] = base + g * codes[i]
    elif use_offset:
        for i in range(n):
            p1 = p1 + (codes[i] + offset)
            o[i] = base + g * p1
    else:
        for i in range(n):
            p1 = p1 + unzigzag(codes[i])
            o[i] = base + g * p1
    return p1


#: values a chunk of _planes_decode: its codes sit in a scratch array that stays in the L1 cache
PLANES_DECODE_CHUNK = 2048


@njit(cache=True, nogil=True)
def _planes_decode(buf, starts, k, m, warm, order, offset, use_offset, base, g, out):
    """A PLANES body of predictor order 0 or 1 straight to the values in
    ``out`` (warm.size + m of any integer type; truncated to it). The codes
    are read from ``buf`` (byte j of code i at starts[j] + i in byte planes,
    or all k at starts[0] + i * k when ``starts`` holds one offset:
    interleaved) a chunk at a time into a small scratch array, plane by plane
    (one streaming pass each), then the residual map and the predictor are
    undone and the frame of reference applied: no array of all the codes
    (the inverse of _to_bytes then _unpredict)."""
    nw = warm.size
    p1 = _warm_values(warm, base, g, out)
    scratch = np.empty(PLANES_DECODE_CHUNK, np.uint64)
    for c0 in range(0, m, PLANES_DECODE_CHUNK):
        n = min(PLANES_DECODE_CHUNK, m - c0)
        # (slices indexed from 0 by range(): no negative-index check per byte)
        if starts.size == 1:
            b = buf[starts[0] + c0 * k:starts[0] + (c0 + n) * k]
            for i in range(n):
                v = np.uint64(0)
                for j in range(k):
                    v |= np.uint64(b[i * k + j]) << np.uint64(8 * j)
                scratch[i] = v
        else:
            b = buf[starts[0] + c0:starts[0] + c0 + n]
            for i in range(n):
                scratch[i] = b[i]
            for j in range(1, k):
                b = buf[starts[j] + c0:starts[j] + c0 + n]
                sh = np.uint64(8 * j)
                for i in range(n):
                    scratch[i] |= np.uint64(b[i]) << sh
        p1 = _chunk_values(scratch, n, out[nw + c0:nw + c0 + n], order, offset, use_offset, base, g, p1)


@njit(cache=True, nogil=True)
def _bucket_decode(sym, extra, warm, order, offset, use_offset, base, g, out):
    """A BUCKET body of predictor order 0 or 1 straight to the values in
    ``out`` (warm.size + sym.size of any integer type; truncated to it): a
    chunk's codes (_bucket_codes), then the residual map, the predictor and
    the frame of reference undone. Returns the extra bits read, as
    _bucket_merge's."""
    maxw = _bucket_max_width(sym)
    if maxw < 0:
        return -1
    nw = warm.size
    p1 = _warm_values(warm, base, g, out)
    codes = np.empty(BUCKET_DECODE_CHUNK, np.uint64)
    pos = 0
    for c0 in range(0, sym.size, BUCKET_DECODE_CHUNK):
        n = min(BUCKET_DECODE_CHUNK, sym.size - c0)
        pos = _bucket_codes(sym, extra, c0, n, pos, maxw, codes)
        p1 = _chunk_values(codes, n, out[nw + c0:nw + c0 + n], order, offset, use_offset, base, g, p1)
    return pos


@njit(cache=True, nogil=True)
def _bucket_lookup(sym, extra, base, g, values, out):
    """out[i] = values[rank i] (truncated to out's type), the ranks read from
    a BUCKET body without a predictor (rank = base + g * code): a chunk's
    codes (_bucket_codes), then looked up. Returns (bad, rank, extra bits
    read): bad is -1, or the index of the first rank outside ``values`` (its
    signed value in rank); bits read as _bucket_merge's."""
    maxw = _bucket_max_width(sym)
    if maxw < 0:
        return -1, np.int64(0), -1
    nd = np.uint64(values.size)
    codes = np.empty(BUCKET_DECODE_CHUNK, np.uint64)
    pos = 0
    for c0 in range(0, sym.size, BUCKET_DECODE_CHUNK):
        n = min(BUCKET_DECODE_CHUNK, sym.size - c0)
        pos = _bucket_codes(sym, extra, c0, n, pos, maxw, codes)
        # the chunk's ranks checked first (a max, which vectorises), then
        # looked up with no branch: 225 -> ~210 us on 200K ranks (distance.i32)
        top = np.uint64(0)
        for i in range(n):
            codes[i] = base + g * codes[i]
            top = max(top, codes[i])
        if top >= nd:  # (unsigned: a negative rank is huge)
            for i in range(n):
                if codes[i] >= nd:
                    return c0 + i, np.int64(codes[i]), pos
        o = out[c0:c0 + n]
        for i in range(n):
            o[i] = values[codes[i]]
    return -1, np.int64(0), pos


@njit(cache=True, nogil=True)
def _dictionary(x, cap):
    """Distinct values in first-seen order, their counts and each value's index.

    Open addressing on a power-of-two table; returns ndict = -1 once more than
    ``cap`` distinct values turn up.
    """
    size = table_capacity(cap)
    mask = np.uint64(size - 1)
    slot_val = np.empty(size, np.int64)
    slot_idx = np.full(size, -1, np.int64)
    vals = np.empty(cap, np.int64)
    counts = np.zeros(cap, np.int64)
    idx = np.empty(x.size, np.int64)
    nd = 0
    for i in range(x.size):
        v = x[i]
        s = table_slot(np.uint64(v), mask)
        while True:
            j = slot_idx[s]
            if j < 0:
                if nd == cap:
                    return vals, counts, idx, -1
                slot_idx[s] = nd
                slot_val[s] = v
                vals[nd] = v
                counts[nd] = 1
                idx[i] = nd
                nd += 1
                break
            if slot_val[s] == v:
                counts[j] += 1
                idx[i] = j
                break
            s = (s + np.uint64(1)) & mask
    return vals, counts, idx, nd


@njit(cache=True, nogil=True)
def _remap(idx, rank, out):
    """out[i] = rank[idx[i]]; ``out`` may be ``idx`` itself."""
    for i in range(idx.size):
        out[i] = rank[idx[i]]
    return out


@njit(cache=True, nogil=True)
def _lookup(ranks, values, out):
    """out[:] = values[ranks] (truncated to out's integer type); returns the
    index of the first rank out of range, or -1."""
    nd = values.size
    for i in range(ranks.size):
        r = ranks[i]
        if r < 0 or r >= nd:
            return i
        out[i] = values[r]
    return -1


@njit(cache=True, nogil=True)
def _planes_entropy_bits(r):
    """Sum over byte planes of count x order-0 entropy (bits): what zstd's
    Huffman stage would pay for the planes layout, give or take headers."""
    n = r.size
    if n == 0:
        return 0.0
    hi = r[0]
    for i in range(n):
        hi = max(hi, r[i])
    k = 0
    while hi != 0:
        k += 1
        hi >>= np.uint64(8)
    hist = np.zeros(k * 256, np.int64)
    for j in range(k):
        sh = np.uint64(8 * j)
        h = hist[j * 256:(j + 1) * 256]
        for i in range(n):
            h[(r[i] >> sh) & np.uint64(0xFF)] += 1
    total = 0.0
    for c in hist:
        if c:
            total -= c * np.log2(c / n)
    return total


def estimate_size(values: np.ndarray, predictors: bool = True) -> int:
    """A cheap size estimate (bytes) for ``values`` after this codec and zstd:
    the byte-plane entropy of the best delta order, without compressing.
    Without ``predictors``, of the values themselves (order 0: the same
    number where order 0 is the best, about a fifth of the work)."""
    x = np.ascontiguousarray(values, dtype=np.int64).ravel()
    if x.size == 0:
        return 2
    _, _, y = _frame_of_reference(x)
    if not predictors:
        return int(_planes_entropy_bits(y) // 8) + 8
    return int(_best_planes(y)[0] // 8) + 8


@njit(cache=True, nogil=True)
def _predictor_entropy_bits(y):
    """For every predictor order o: ``_planes_entropy_bits`` of its residuals
    (zigzagged for o > 0), in one pass over y without materialising them.

    Per order and byte plane the histogram counts the bytes of each residual
    up to its last nonzero one; the zero bytes above it are added afterwards
    from how many residuals reach each plane. The sums then run over the same
    counts in the same order as ``_planes_entropy_bits``, so the floats agree
    bit for bit (the choice of predictor does not change)."""
    n = y.size
    norders = _WARM_K.size
    # int32 counts (an array holds fewer than 2**31 values): 40 KiB of
    # histograms stay in L1 where 80 KiB did not (same floats: the counts
    # convert to the same doubles)
    hist = np.zeros((norders, 8, 256), np.int32)
    reach = np.zeros((norders, 8), np.int32)  # residuals with a nonzero byte at or above plane j
    s3 = np.uint64(0)
    s4 = np.uint64(0)
    two = np.uint64(2)
    for i in range(n):
        yi = y[i]
        if i < 4:
            s3 += yi
        if i < 16:
            s4 += yi
        for o in range(norders):
            warm = _WARM_K[o]
            if i < warm:
                continue
            if o == 0:
                v = yi
            else:
                if o == 1:
                    d = yi - y[i - 1]
                elif o == 2:
                    d = yi - two * y[i - 1] + y[i - 2]
                elif o == 3:
                    d = yi - (s3 >> np.uint64(2))
                else:
                    d = yi - (s4 >> np.uint64(4))
                v = zigzag(d)
            j = 0
            while v != 0:
                hist[o, j, np.int64(v & np.uint64(0xFF))] += 1
                reach[o, j] += 1
                v >>= np.uint64(8)
                j += 1
        # the running sums of the mean predictors, as _deltas keeps them
        if i >= 4:
            s3 += yi - y[i - 4]
        if i >= 16:
            s4 += yi - y[i - 16]
    out = np.zeros(norders, np.float64)
    for o in range(norders):
        m = n - _WARM_K[o]
        if m <= 0:
            continue
        k = 0
        while k < 8 and reach[o, k] > 0:
            k += 1
        total = 0.0
        for j in range(k):
            hist[o, j, 0] += m - reach[o, j]
            for b in range(256):
                c = hist[o, j, b]
                if c:
                    total -= c * np.log2(c / m)
        out[o] = total
    return out


def _best_planes(y, cache=None):
    """(entropy bits, order, use_offset, offset) of the best PLANES residual map.
    With a ResidualCache of y, the offset-mapped residuals it computes are kept
    there for the candidates (the same codes _residuals would make)."""
    # the predictor under zigzag, then the offset map for the winner only
    bits_by_order = _predictor_entropy_bits(y)
    order = int(np.argmin(bits_by_order))  # the first of equals, as a strict < scan keeps
    bits = float(bits_by_order[order])
    d = _deltas(y, order) if order > 0 and PREDICTOR_WARM[order] <= y.size else None
    if d is not None and d.size:
        offset = np.uint64(_signed_min(d))
        r = _map_residuals(d, offset, True)
        if cache is not None:
            cache.put(y, order, True, (order, True, offset, r))
            cache.put(y, "deltas", order, d)
        obits = _planes_entropy_bits(r)
        if obits < bits:
            return obits, order, True, offset
    return bits, order, False, np.uint64(0)


def _residual_map(y, cache):
    """(order, use_offset) of the PLANES residual map the layouts of ``y``
    code: :func:`_best_planes`'s choice, made on PREDICTOR_SAMPLE_VALUES of
    ``y`` (SAMPLE_SLICES slices) when it holds more. The signed residuals of
    the chosen predictor over all of ``y`` go to ``cache`` (the encoders'
    residuals come from them)."""
    if y.size <= PREDICTOR_SAMPLE_VALUES:
        _, order, use_offset, _ = _best_planes(y, cache)
        return order, use_offset
    _, order, use_offset, _ = _best_planes(_sample(y, PREDICTOR_SAMPLE_VALUES))
    if order > 0:
        cache.put(y, "deltas", order, _deltas(y, order))
    return order, use_offset


# ---------------------------------------------------------------- encoding


_ZERO_BLOCK = memoryview(bytes(ZSTD_BLOCK))


def _pad_section(out: bytearray, section_len: int, at: int) -> None:
    """After a section of at least PAD_MIN_SECTION bytes (in a pre-trial's
    blobs, which are measured and never decoded, PRE_PAD_MIN_SECTION): varint n, then n zeros
    reaching the next ZSTD_BLOCK boundary of the enclosing stream (``at`` = where
    ``out`` starts in it). zstd codes the literals of each 128 KiB block with one
    Huffman table: two sections with different statistics (a plane of low bytes
    and one of high bytes, bucket symbols and raw extra bits) sharing a block
    share a table and both lose (a 32K-value bucket layout: 42.4 kB in one
    block, 39.2 kB apart). The zeros cost a few bytes once compressed; the
    length is stored, so a misjudged ``at`` costs ratio, never correctness."""
    if section_len < _PAD.min_section:
        return
    here = at + len(out)
    if _PAD.marks is not None:
        # a pre-trial's blob: the section ends a zstd block there (_block_size)
        _PAD.marks.append(here)
        return
    for width in (1, 2, 3):
        pad = -(here + width) % ZSTD_BLOCK
        if len(varint_bytes(pad)) == width:
            break
    put_varint(out, pad)
    out += _ZERO_BLOCK[:pad]  # (a view: no zeros made per section)


def _bytes_needed(r: np.ndarray) -> int:
    if r.size == 0:
        return 0
    return (int(r.max()).bit_length() + 7) // 8


def _encode_packed(n, base, g, y) -> bytes:
    # batch_kernels: large batches run where the engine installed (an accelerator), with identical output
    out = bytearray([PACKED])
    put_varint(out, n)
    put_varint(out, zigzag_int(int(base)))
    put_varint(out, int(g))
    out += batch_kernels.delta_pack(y.view(np.int64), CHUNK, zigzag0=False)
    return bytes(out)


class ResidualCache:
    """The residual codes of one array ``y`` by (predictor, map), computed once
    for the candidates that share them (planes, interleaved planes, escape,
    nibbles and bucket all code the same residuals differently), and the
    signed residuals of a predictor under ("deltas", order) (_best_planes makes
    them for the winner); other arrays pass through uncached."""

    def __init__(self, y):
        self.y = y
        self.entries = {}

    def get(self, y, order, use_offset):
        if y is not self.y:
            return None
        return self.entries.get((order, use_offset))

    def put(self, y, order, use_offset, value):
        if y is self.y:
            self.entries[(order, use_offset)] = value


def _warm_bytes(y, order, cache=None) -> bytes:
    """The varints of a predictor's warm-up values y[0..w): the same for every
    layout of y under that predictor, so made once per ResidualCache (the
    Python varint loop was a third of coding a small int stream)."""
    key = ("warm", order)
    if cache is not None and y is cache.y and key in cache.entries:
        return cache.entries[key]
    w = min(PREDICTOR_WARM[order], y.size)
    buf = np.empty(10 * w, np.uint8)
    out = buf[:put_varints(y[:w], buf, 0)].tobytes()
    if cache is not None and y is cache.y:
        cache.entries[key] = out
    return out


def _residuals(y, order, use_offset, cache=None):
    """(order, use_offset, offset, residual codes) as the PLANES / ESCAPE /
    BUCKET encoders code them: a predictor that needs more warm-up values
    than there are falls back to none, the offset map needs residuals."""
    key = (order, use_offset)
    if cache is not None:
        hit = cache.get(y, *key)
        if hit is not None:
            return hit
    if PREDICTOR_WARM[order] > y.size:
        order = 0
    d = cache.get(y, "deltas", order) if cache is not None and order > 0 else None
    if d is None:
        # (order 0: the codes are y itself, not a copy: no encoder writes into them)
        d = y if order == 0 else _deltas(y, order)
    use_offset = use_offset and order > 0 and d.size > 0
    offset = np.uint64(_signed_min(d)) if use_offset else np.uint64(0)
    r = d if order == 0 else _map_residuals(d, offset, use_offset)
    out = (order, use_offset, offset, r)
    if cache is not None:
        cache.put(y, *key, out)
    return out


def _encode_planes(n, base, g, y, order, interleaved, use_offset, at=0, cache=None) -> bytes:
    order, use_offset, offset, r = _residuals(y, order, use_offset, cache)
    k = _bytes_needed(r)
    out = bytearray([PLANES])
    put_varint(out, n)
    out += bytes((order, (LAYOUT_INTERLEAVED if interleaved else 0) | (LAYOUT_OFFSET if use_offset else 0), k))
    put_varint(out, zigzag_int(int(base)))
    put_varint(out, int(g))
    if use_offset:
        put_varint(out, zigzag_int(int(offset)))
    out += _warm_bytes(y, order, cache)
    planes = _to_bytes(r, k, not interleaved)
    if interleaved:
        out += planes.tobytes()
    else:
        m = r.size
        for j in range(k):
            out += memoryview(planes[j * m:(j + 1) * m])  # (the buffer itself, no bytes copy)
            if j < k - 1:
                _pad_section(out, m, at)
    return bytes(out)


def _encode_escape(n, base, g, y, order, use_offset, depth, at=0, nibbles=False, cache=None) -> bytes:
    order, use_offset, offset, r = _residuals(y, order, use_offset, cache)
    primary, rest = _split_escape(r, ESCAPE_NIBBLE if nibbles else ESCAPE_BYTE)
    if nibbles:
        primary = _pack_nibbles(primary)
    out = bytearray([NIBBLES if nibbles else ESCAPE])
    put_varint(out, n)
    out += bytes((order, LAYOUT_OFFSET if use_offset else 0))
    put_varint(out, zigzag_int(int(base)))
    put_varint(out, int(g))
    if use_offset:
        put_varint(out, zigzag_int(int(offset)))
    out += _warm_bytes(y, order, cache)
    out += primary.tobytes()  # not padded: the escaped rest often shares its statistics
    out += encode_ints(rest.view(np.int64), _depth=depth + 1, _offset=at + len(out))
    return bytes(out)


def _encode_bucket(n, base, g, y, order, use_offset, at=0, cache=None) -> bytes | None:
    order, use_offset, offset, r = _residuals(y, order, use_offset, cache)
    sym, words, nbits, ok = _bucket_split(r)
    if not ok:
        return None
    out = bytearray([BUCKET])
    put_varint(out, n)
    out += bytes((order, LAYOUT_OFFSET if use_offset else 0))
    put_varint(out, zigzag_int(int(base)))
    put_varint(out, int(g))
    if use_offset:
        put_varint(out, zigzag_int(int(offset)))
    out += _warm_bytes(y, order, cache)
    out += sym.tobytes()
    _pad_section(out, sym.size, at)
    out += words.view(np.uint8)[: (nbits + 7) // 8].tobytes()
    return bytes(out)


def _encode_sparse(n, base, g, y, order, depth, at=0) -> bytes:
    gaps, vals = _sparse_split(y, order)
    out = bytearray([SPARSE])
    put_varint(out, n)
    out.append(order)
    put_varint(out, zigzag_int(int(base)))
    put_varint(out, int(g))
    # (the first nested stream is aligned as if its length prefix took 3 bytes)
    gaps_blob = encode_ints(gaps, _depth=depth + 1, _offset=at + len(out) + 3)
    put_varint(out, len(gaps_blob))
    out += gaps_blob
    out += encode_ints(vals, _depth=depth + 1, _offset=at + len(out))
    return bytes(out)


def _encode_dict(x, depth, at=0, probed=None, expect=0) -> bytes | None:
    """``probed``: ``_dictionary``'s result for ``x`` at a smaller cap that did
    not overflow (the same dictionary: the cap only decides when to give up).
    ``expect``: how many distinct values a sample of ``x`` had; the table is
    first sized for DICT_EXPECT_FACTOR times that, and made at full size only
    if it overflows (same dictionary)."""
    own = probed is None  # (then idx is this call's own, and the ranks can take its place)
    if own:
        cap = min(DICT_MAX_SIZE, max(1, x.size))
        small = max(DICT_EXPECT_MIN, DICT_EXPECT_FACTOR * expect)
        probed = _dictionary(x, small) if expect and small < cap else (None, None, None, -1)
        if probed[3] < 0:
            probed = _dictionary(x, cap)
    vals, counts, idx, nd = probed
    if nd < 0:
        return None
    order = np.argsort(-counts[:nd], kind="stable")
    rank = np.empty(nd, np.int64)
    rank[order] = np.arange(nd)
    out = bytearray([DICT])
    put_varint(out, x.size)
    put_varint(out, nd)
    # the ranks (the bulk) first, so their sections align as if alone
    ranks = _remap(idx, rank, idx if own else np.empty(idx.size, np.int64))
    ranks_blob = encode_ints(ranks, _depth=depth + 1, _offset=at + len(out) + 3)
    put_varint(out, len(ranks_blob))
    out += ranks_blob
    out += encode_ints(vals[:nd][order], DICT_VALUES_MODES, _depth=depth + 1, _offset=at + len(out))
    return bytes(out)


def trial_compressor(level: int = TRIAL_LEVEL) -> zstandard.ZstdCompressor:
    """This thread's zstd compressor for trial sizes."""
    return thread_compressor(level)


def _trial_size(blob: bytes) -> int:
    return min(len(blob), len(trial_compressor().compress(blob)))


def _sample(x: np.ndarray, values: int = SAMPLE_VALUES) -> np.ndarray:
    if x.size <= values:
        return x
    step = values // SAMPLE_SLICES
    last = x.size - step
    return np.concatenate([x[i * last // (SAMPLE_SLICES - 1):][:step] for i in range(SAMPLE_SLICES)])


def _candidates(x, fr, modes, depth, at=0):
    """(name, encoder, floor) for array x whose frame of reference is fr;
    each encoder (v, fr_of_v) -> bytes | None; a layout whose trial size is at
    most ``floor`` (0: none) rules the candidate out before it is coded. Layouts that nest int streams
    (SPARSE, DICT at the top only; ESCAPE one level down too) are limited by
    ``depth`` so that decoding recursion stays bounded."""
    cands = []
    _, _, y = fr
    cache = ResidualCache(y)
    if PACKED in modes:
        cands.append(("packed", lambda v, f: _encode_packed(v.size, *f), 0))
    if PLANES in modes or ESCAPE in modes or BUCKET in modes or NIBBLES in modes:
        # the predictor and residual map by entropy estimate; the layouts by trial
        order, use_offset = _residual_map(y, cache)
        tag = f"o{order}{' offset' if use_offset else ''}"
    if PLANES in modes:
        # with one byte per residual the two layouts are the same bytes but
        # for the layout flag: the interleaved one is not worth a trial
        one_byte = PREDICTOR_WARM[order] <= y.size and _bytes_needed(_residuals(y, order, use_offset, cache)[3]) <= 1
        for inter in ((False,) if one_byte else (False, True)):
            cands.append((
                f"planes {tag}{' interleaved' if inter else ''}",
                lambda v, f, o=order, i=inter, u=use_offset: _encode_planes(v.size, *f, o, i, u, at, cache), 0,
            ))
    if ESCAPE in modes or BUCKET in modes or NIBBLES in modes:
        if PREDICTOR_WARM[order] <= y.size:  # what the encoders will code
            _, _, _, r = _residuals(y, order, use_offset, cache)
        else:
            r = np.zeros(0, np.uint64)
        wide = r.size and int(r.max()) > 0xFF
    if ESCAPE in modes and wide and (depth == 0 or depth == 1 and (r.size < ESCAPE_NESTED_MIN_VALUES or np.count_nonzero(r >= ESCAPE_BYTE) < ESCAPE_NESTED_MAX_SHARE * r.size)):
        cands.append((f"escape {tag}", lambda v, f, o=order, u=use_offset: _encode_escape(v.size, *f, o, u, depth, at, cache=cache), 0))
    if NIBBLES in modes and depth <= 1 and r.size:
        # small residuals two a byte: zstd's Huffman then codes pairs, and
        # wastes less on a skewed alphabet than one symbol at a time; the map
        # (zigzag or offset) that escapes least
        u = use_offset
        if order > 0:
            escapes = {m: np.count_nonzero(_residuals(y, order, m, cache)[3] >= ESCAPE_NIBBLE)
                       for m in (False, True)}
            u = escapes[True] < escapes[False]
        else:
            escapes = {u: np.count_nonzero(r >= ESCAPE_NIBBLE)}
        if escapes[u] <= NIBBLES_MAX_ESCAPES * r.size:
            cands.append((f"nibbles o{order}{' offset' if u else ''}",
                          lambda v, f, o=order, u=u: _encode_escape(v.size, *f, o, u, depth, at, True, cache), 0))
    if BUCKET in modes and wide:
        cands.append((f"bucket {tag}", lambda v, f, o=order, u=use_offset: _encode_bucket(v.size, *f, o, u, at, cache), 0))
    if SPARSE in modes and depth == 0 and x.size >= 16:
        nonzero = _sparse_nonzeros(y)  # what _encode_sparse's residuals would hold, without making them
        for order in (0, 1):
            if nonzero[order] <= SPARSE_MAX_SHARE * y.size:
                cands.append((f"sparse o{order}", lambda v, f, o=order: _encode_sparse(v.size, *f, o, depth, at), 0))
    top = int(y.max()) if y.size else 0  # (y: the values less their frame of reference)
    if DICT in modes and depth == 0 and x.size >= 16 and top >= DICT_MIN_TOP:
        # cheap cardinality probe before the real attempt
        probe = _dictionary(x, max(1, min(DICT_MAX_SIZE, int(x.size * DICT_MAX_SHARE))))
        if probe[3] >= 0:
            # (the trial on x reuses the probe; the full array makes its own)
            cands.append(("dict", lambda v, f: _encode_dict(v, depth, at, probe if v is x else None, probe[3]),
                          _dict_floor(probe[1][:probe[3]], x.size)))
    return cands


def _dict_floor(counts, n) -> int:
    """The trial size at or under which a layout already measured rules DICT
    out (_trials): its values' order-0 entropy over DICT_ENTROPY_MARGIN, or 0
    (always tried) for at most DICT_ENTROPY_MIN_DISTINCT distinct values."""
    if counts.size <= DICT_ENTROPY_MIN_DISTINCT:
        return 0
    c = counts.astype(np.float64)
    return int(float(c @ np.log2(n / c)) / 8 / DICT_ENTROPY_MARGIN)


def _trials(x, modes, depth, at=0, sizes=True):
    """[(size after zstd, name, encoder, blob)] of the layouts tried on a sample
    of x, best first: every layout, or at the top level on a large enough
    sample those that a pre-trial on fewer values keeps (_pre_trial).

    Without ``sizes`` (encode_ints), a single layout left is not measured:
    [(None, name, encoder, blob)], its blob made only when the sample is x
    (else None: the caller encodes x); the blob of the best layout on x
    whose size was measured is kept for :func:`trial_frame`."""
    s = _sample(x, SAMPLE_VALUES if depth == 0 else NESTED_SAMPLE_VALUES)
    fr = _frame_of_reference(s)
    cands = _candidates(s, fr, tuple(modes), depth, at)
    if depth == 0 and len(cands) > 1 and s.size >= PRE_MIN_FACTOR * PRE_VALUES:
        cands = _pre_trial(s, cands, at)
    if not sizes and len(cands) == 1:
        # nothing to compare: the sample's blob (and its zstd) would be thrown away
        name, enc, _ = cands[0]
        blob = enc(s, fr) if s is x else None
        return s, ([] if s is x and blob is None else [(None, name, enc, blob)])
    out = []
    frames = []
    cctx = trial_compressor()
    # in a pre-trial (_PAD.marks set) each candidate's section ends are its own,
    # and only the winner's join those of the blob it is nested in
    outer = _PAD.marks
    cand_marks = []
    quick = _PAD.quick_nested
    # a top-level sample that is not the whole array: its blobs are only measured
    _PAD.quick_nested = quick or (depth == 0 and s is not x)
    try:
        for name, enc, floor in cands:
            if floor and out and min(o[0] for o in out) <= floor:
                continue  # ruled out by a size already measured (_dict_floor)
            if outer is not None:
                _PAD.marks = marks = []
            blob = enc(s, fr)
            if blob is not None:
                if outer is not None and marks:
                    frame = None
                    size = _block_size(cctx, blob, [m - at for m in marks])
                else:
                    frame = cctx.compress(blob)
                    size = min(len(blob), len(frame))
                out.append((size, name, enc, blob))
                frames.append(frame)
                cand_marks.append(marks if outer is not None else None)
    finally:
        _PAD.marks = outer
        _PAD.quick_nested = quick
    order = sorted(range(len(out)), key=lambda i: out[i][0])  # stable: the first of equal sizes, as before
    if outer is not None and s is x and out:
        outer.extend(cand_marks[order[0]])
    if depth == 0 and s is x and out and frames[order[0]] is not None:
        _LAST_FRAME.blob, _LAST_FRAME.frame = out[order[0]][3], frames[order[0]]
    return s, [out[i] for i in order]


class _TrialFrame(threading.local):
    """This thread's last top-level winner on a whole array and its zstd frame at TRIAL_LEVEL."""
    blob = None
    frame = None


_LAST_FRAME = _TrialFrame()


def trial_frame(blob: bytes) -> bytes | None:
    """The zstd frame at TRIAL_LEVEL (this thread's trial compressor) of a blob
    that encode_ints just returned, when its trial made one (a top-level array
    no larger than the trial sample, with more than one layout to compare),
    else None. The numeric transform hands it to the planner instead of
    compressing the values stream again."""
    if _LAST_FRAME.blob is blob:
        frame = _LAST_FRAME.frame
        _LAST_FRAME.blob = _LAST_FRAME.frame = None
        return frame
    return None


#: The pre-trial of top-level arrays: every layout on PRE_VALUES values
#: first, and only those within PRE_MARGIN (plus PRE_SLACK bytes) of the best
#: there on the whole sample, when the sample holds at least PRE_MIN_FACTOR x
#: PRE_VALUES values. Sections are padded from PRE_PAD_MIN_SECTION bytes on in
#: the pre-trial: at 4K values no plane or bucket section reaches
#: PAD_MIN_SECTION, so their statistics would share one zstd block (one
#: Huffman table), which the whole sample's layout does not do (a wrapping
#: uint32 counter lost its bucket layout: +3.7%). The slack keeps what a few
#: bytes of headers decide on very compressible samples (Unicode combining
#: classes: 90 vs 100 bytes on 4K values, 566 vs 629 on 32K; +19% without
#: it). On the numeric corpus, 38 arrays from outside it, 10 synthetic series,
#: the csv/log/jsonl/json corpus files up to 6 MB and cuts of 4-120 KB every
#: frame stayed byte-identical at margins 0.02-0.05; numeric compression took
#: 4-8% less CPU (issue 15). Pre-trials of nested streams (2K of their 16K)
#: lost up to 2.6% for no measurable gain, so they have none. The margin went
#: from 0.03 to 0.005 in the eleventh session (numeric-speed8): the zipcode
#: coordinates (two layouts 1.3% apart on 4K values, 1.3% on the sample) no
#: longer code both on 32K values (10 -> 6.5 ms each); of 44 numeric arrays
#: one moved (usr-inodes.i32 +0.12%), the csv corpus not at all; 0.01 gave the
#: same bytes, 0 (the slack alone) cost 0.85% (delay.i32 +7%).
#: Pre-trials from 8K values (PRE_MIN_FACTOR 2) gained nothing measurable on
#: the numeric arrays and cost the csv corpus 0.08%.
PRE_VALUES = 4096
PRE_MIN_FACTOR = 4
PRE_MARGIN = 0.005
PRE_SLACK = 64
PRE_PAD_MIN_SECTION = 2048
#: The int streams nested in candidates that a top-level trial only measures
#: (escaped excess, dictionary ranks and values, sparse gaps and values) get no
#: nesting of their own: on a sample that is not the whole array they try only
#: QUICK_NESTED_MODES, in a pre-trial PRE_NESTED_MODES. Their full trial set
#: (every layout, ESCAPE's own nested stream again) was ~20% of numeric
#: compression, and the winner's nested streams get it when the whole array is
#: coded. Same frames on the numeric corpus, /tmp/numspeed3/unseen, /tmp/ns/unseen
#: and /tmp/ns2/unseen (with and without the dtype hint, and cuts of 40, 120 and
#: 400 KB: one of them 4.3% smaller, usr-mtime.f64 at 400 KB), the csv corpus
#: and the json, jsonl and log corpus files. What was measured on the way
#: (issue 15): PLANES alone cost vega-flights-200k.jsonl 7%, PACKED alone a
#: topojson 0.12%; BUCKET on the sample too cost usr-lib-mtime.i64 18% (the
#: sample then chose another top-level layout); without BUCKET in the pre-trial the
#: dictionary ranks of distance.i32 measured as planes there, and two more
#: layouts than before passed it (same bytes, 10% slower on that file).
QUICK_NESTED_MODES = (PACKED, PLANES)
PRE_NESTED_MODES = (PACKED, PLANES, BUCKET)
#: (In the pre-trial a section does not get padding: it ends a zstd block of
#: the trial compression instead, which separates the Huffman tables as the
#: padding does, without compressing its zeros: _block_size. Same bytes on the
#: csv, numeric, json, jsonl, log and xml corpus files and numeric unseen.)


class _PadState(threading.local):
    """The section size from which this thread's encoders pad (_pad_section),
    and in a pre-trial the stream offsets where sections end instead of the
    padding (``marks``)."""
    min_section = PAD_MIN_SECTION
    marks = None
    #: set while a top-level trial codes candidates that are only measured (a
    #: pre-trial's, or a sample's that is not the whole array): the streams
    #: nested in them then take QUICK_NESTED_MODES
    quick_nested = False


def _block_size(cctx, blob, marks) -> int:
    """Bytes of ``blob`` after zstd with a block ended at each offset in
    ``marks`` (into ``blob``): what padding each section to the next block
    boundary measures (every section's literals get their own Huffman table),
    less the padding's few bytes per section, without the padding's zeros
    (up to 128 KiB a section to copy and compress: 8% of the int codec's time
    on numeric arrays, where sections of 4K values each got ~124 KiB)."""
    if any(not 0 < b - a for a, b in zip([0, *marks], [*marks, len(blob) + 1])):
        # (marks out of order or outside the blob: never from the encoders)
        return min(len(blob), len(cctx.compress(blob)))
    c = cctx.compressobj(size=len(blob))
    view = memoryview(blob)
    out = []
    start = 0
    for end in marks:
        out.append(c.compress(view[start:end]))
        out.append(c.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK))
        start = end
    out.append(c.compress(view[start:]))
    out.append(c.flush())
    return sum(len(b) for b in out)


_PAD = _PadState()


def _pre_trial(s, cands, at=0):
    """The candidates (best first) whose size on PRE_VALUES values of the
    sample ``s`` comes within PRE_MARGIN (+ PRE_SLACK bytes) of the best; their blobs there pad
    their sections as if at full size (PRE_PAD_MIN_SECTION), are only
    measured, and never decode."""
    small = _sample(s, PRE_VALUES)
    fr_small = _frame_of_reference(small)
    sized = []
    saved = _PAD.min_section
    _PAD.min_section = PRE_PAD_MIN_SECTION
    quick = _PAD.quick_nested
    _PAD.quick_nested = True
    cctx = trial_compressor()
    try:
        for i, (_, enc, _) in enumerate(cands):
            _PAD.marks = marks = []
            blob = enc(small, fr_small)
            if blob is not None:
                if marks:
                    base = at
                    sized.append((_block_size(cctx, blob, [m - base for m in marks]), i))
                else:
                    sized.append((min(len(blob), len(cctx.compress(blob))), i))
    finally:
        _PAD.min_section = saved
        _PAD.marks = None
        _PAD.quick_nested = quick
    if not sized:
        return cands
    best = min(size for size, _ in sized)
    return [cands[i] for size, i in sorted(sized) if size <= best * (1 + PRE_MARGIN) + PRE_SLACK]


def choose_layout(values: np.ndarray, modes=ALL_MODES, _depth: int = 0) -> list:
    """Trial sizes (after zstd) of each layout on a sample: [(size, name)], best first."""
    x = np.ascontiguousarray(values, dtype=np.int64).ravel()
    if x.size == 0:
        return [(2, "packed")]
    return [(size, name) for size, name, _, _ in _trials(x, modes, _depth)[1]]


class _WholeFrame(threading.local):
    """This thread's array for the frame of reference of a whole top-level
    array (:func:`_whole_frame`), and whether an encode is using it."""
    buf = None
    busy = False


_WHOLE = _WholeFrame()
#: top-level arrays of up to this many values (8 MiB of codes) take their frame
#: of reference in _WHOLE's array, kept from block to block: a new one for each
#: block came from fresh pages (2.4 us a 4 KiB page fault on the machine this
#: was measured on: ~1 ms for a 200K-value array, as long as coding it)
WHOLE_FRAME_MAX = 1 << 20


def _whole_frame(x):
    """(frame of reference of x, whether it is in _WHOLE's array): the caller
    sets _WHOLE.busy False once the codes are no longer read."""
    w = _WHOLE
    if w.busy or x.size > WHOLE_FRAME_MAX:
        return _frame_of_reference(x), False
    if w.buf is None or w.buf.size < x.size:
        w.buf = np.empty(max(x.size, 1 << 16), np.uint64)
    y = w.buf[:x.size]
    base, g = _frame_into(x, y)
    w.busy = True
    return (base, g, y), True


def _encode_whole(enc, x):
    """``enc(x, frame of reference of x)``, the frame in this thread's scratch
    array when it is free (no encoder keeps the codes past its return)."""
    fr, held = _whole_frame(x)
    try:
        return enc(x, fr)
    finally:
        if held:
            _WHOLE.busy = False


def encode_ints(values: np.ndarray, modes=ALL_MODES, *, _depth: int = 0, _offset: int = 0) -> bytes:
    """Encode an integer array (any shape/int dtype; taken as int64) to self-describing bytes.

    ``modes`` restricts the layouts tried (PACKED, PLANES, DICT, SPARSE,
    ESCAPE, BUCKET, NIBBLES), for tests and callers that know their data. ``_offset``
    is where the bytes will sit in the stream the engine compresses (sections
    are aligned to zstd's blocks relative to it; any value decodes the same).
    """
    x = np.ascontiguousarray(values, dtype=np.int64).ravel()
    if x.size == 0:
        return bytes([PACKED, 0])
    if _depth == 0:
        _LAST_FRAME.blob = _LAST_FRAME.frame = None
    elif _PAD.quick_nested:
        modes = PRE_NESTED_MODES if _PAD.marks is not None else QUICK_NESTED_MODES
    elif x.size < NESTED_SMALL:
        modes = tuple(m for m in modes if m in (PACKED, PLANES)) or modes
    s, trials = _trials(x, modes, _depth, _offset, sizes=False)
    if trials and s is not x and trials[0][3] is None:
        # a single layout, not tried on the sample: straight to x
        out = _encode_whole(trials[0][2], x)
        if out is not None:
            return out
        s, trials = _trials(x, modes, _depth, _offset)  # as if it had been tried (it declines the sample too?)
    if not trials:
        raise ValueError(f"no layout among {modes} applies")
    _, _, enc, blob = trials[0]
    if s is x:
        return blob
    out = _encode_whole(enc, x)
    if out is None:  # a dictionary that overflowed on the full array
        return encode_ints(x, tuple(m for m in modes if m != DICT), _depth=_depth, _offset=_offset)
    return out


# ---------------------------------------------------------------- decoding


def _dest(n: int, out: np.ndarray | None) -> np.ndarray:
    """Where a decoder's last kernel writes: the caller's ``out`` or a fresh uint64 array."""
    return np.empty(n, np.uint64) if out is None else out


def _result(dest: np.ndarray, out: np.ndarray | None) -> np.ndarray:
    """What decode_ints returns: the caller's ``out``, or the uint64 values it
    decoded into as int64."""
    return dest.view(np.int64) if out is None else out


def _read_bucket_body(r: Reader, m: int) -> tuple:
    """A BUCKET stream's symbols and extra bits (the rest of ``r``): (m
    symbols, the extra bits' bytes), both uint8 views of the stream, read-only
    (one kernel type whatever the stream's buffer). The BUCKET kernels check
    them as they read; their caller then calls _check_bucket."""
    sym = readonly(np.frombuffer(r.view(m, "bucket symbols"), np.uint8))
    _skip_padding(r, m)
    extra = readonly(np.frombuffer(r.view(r.remaining, "extra bits"), np.uint8))
    return sym, extra


def _check_bucket(nbits: int, extra: np.ndarray) -> None:
    """A BUCKET kernel's read checked: every symbol one (``nbits`` >= 0) and
    the extra bits exactly the bytes the symbols call for (``nbits``)."""
    if nbits < 0:
        raise FormatError(f"int stream: bucket symbol above {BUCKET_MAX_SYMBOL}")
    if extra.size != (nbits + 7) // 8:
        raise FormatError(f"int stream: {extra.size} bytes of extra bits, symbols call for {nbits} bits")


def _bucket_ranks_lookup(ranks_buf, n: int, nd: int, r: Reader, out):
    """A DICT stream's values, when its ranks stream (``ranks_buf``) is BUCKET
    without a predictor (what _encode_dict's ranks mostly become): the
    dictionary (the rest of ``r``) decoded first, then each rank read from
    the bucket codes and looked up in one pass (_bucket_lookup), without an
    int64 array of the ranks. Returns the destination array, or None (``r``
    untouched) for another ranks layout, which decode_ints then decodes."""
    if len(ranks_buf) < 1 or ranks_buf[0] != BUCKET:
        return None
    rr = Reader(ranks_buf, what="int stream")
    rr.u8("mode")
    count = rr.varint("count", limit=n)
    if count != n:
        raise FormatError(f"int stream: {count} ranks for {n} values")
    order, _, _, base_z, g, _, _, warm = read_predicted_header(rr, BUCKET, n)
    if order != 0:
        return None
    sym, extra = _read_bucket_body(rr, n)
    values = decode_ints(r.view(r.remaining, "dictionary"), nd, _depth=1)
    if values.size != nd:
        raise FormatError(f"int stream: dictionary holds {values.size} values, header says {nd}")
    dest = _dest(n, out)
    bad, rank, nbits = _bucket_lookup(sym, extra, np.uint64(unzigzag_int(base_z) & ((1 << 64) - 1)),
                                      np.uint64(g), values, dest)
    if bad >= 0:
        raise FormatError(f"int stream: rank {rank} at {bad} outside the dictionary of {nd}")
    _check_bucket(nbits, extra)
    return dest


def _decode_sparse(r: Reader, n: int, depth: int, dest: np.ndarray, scale: float | None = None) -> None:
    """A SPARSE stream's ``n`` values (``r`` past its count) into ``dest``: as
    integers, or with ``scale`` as float codes / scale (_sparse_decode_scaled)."""
    order, base_z, g, gaps_buf, values_buf = read_sparse_header(r, depth)
    base = unzigzag_int(base_z)
    gaps = decode_ints(gaps_buf, n, _depth=depth + 1)
    values = decode_ints(values_buf, n, _depth=depth + 1)
    if gaps.size != values.size:
        raise FormatError(f"int stream: {gaps.size} gaps but {values.size} values")
    frame = (order, np.uint64(base & ((1 << 64) - 1)), np.uint64(g))
    if scale is None:
        ok = _sparse_decode(gaps, values, dest, *frame)
    else:
        ok = _sparse_decode_scaled(gaps, values, dest, *frame, np.float64(scale))
    if not ok:
        raise FormatError("int stream: sparse gaps run past the end")


def decode_scaled_sparse(buf, max_count: int, scale: int, out: np.ndarray) -> bool:
    """The float values of a SPARSE int stream of codes that stand for code /
    ``scale`` (numeric's SCALED floats), straight into ``out`` (float32 or
    float64, exactly ``out.size`` values): each run's value divided once, no
    array of the codes. False, with nothing read, for another layout (then
    decode_ints and a division of every value)."""
    if len(buf) < 1 or buf[0] != SPARSE:
        return False
    r = Reader(buf, what="int stream")
    r.u8("mode")
    n = r.varint("count", limit=max_count)
    if n != out.size:
        raise FormatError(f"int stream holds {n} values, {out.size} expected")
    _decode_sparse(r, n, 0, out, scale)
    return True


_L4_BITPACK = []


def _l4_bitpack():
    """cobol.layers.l4_bitpack, imported on the first PACKED stream decoded (its
    kernels load with it) and then kept: an import statement per stream was ~1
    us of a small int stream's decode."""
    if not _L4_BITPACK:
        from . import l4_bitpack
        _L4_BITPACK.append(l4_bitpack)
    return _L4_BITPACK[0]


def decode_ints(buf, max_count: int, *, out: np.ndarray | None = None, _depth: int = 0) -> np.ndarray:
    """Inverse of :func:`encode_ints`; at most ``max_count`` values (else LimitError).

    ``out``: a 1-d native integer array the values are written into, each
    truncated to its type (the low bytes of the int64 value), and returned; the
    stream must hold exactly ``out.size`` values (else FormatError). A decoder
    of an int32 column hands its output in, and the values go there straight
    from the last kernel, without an int64 array in between. Without ``out``
    the result is a fresh int64 array."""
    r = Reader(buf, what="int stream")
    mode = r.u8("mode")
    n = r.varint("count", limit=max_count)
    if out is not None and n != out.size:
        raise FormatError(f"int stream holds {n} values, {out.size} expected")
    if mode == PACKED and n == 0:
        r.expect_end("empty int stream")
        return np.zeros(0, np.int64) if out is None else out
    if mode == PACKED:
        base = unzigzag_int(r.varint("base"))
        g = r.varint("gcd")
        if g == 0:
            raise FormatError("int stream: gcd 0")
        if out is None and batch_kernels.runs_on_cpu(max(r.remaining, n)):
            # unpack and delta_decode would both run on the CPU (a provider offloads a batch
            # from a size on: the larger of the two decides): the fused kernel (same kernels,
            # one call); where it finds the stream bad, the steps below raise the error
            dest = np.empty(n, np.uint64)
            if _l4_bitpack().unpack_deltas_into(readonly(np.frombuffer(r.buf, np.uint8)[r.pos:r.end]), n, CHUNK, False,
                                             np.uint64(base & ((1 << 64) - 1)), np.uint64(g), dest):
                return dest.view(np.int64)
        codes, tags = batch_kernels.unpack(r.view(r.remaining, "bit-pack"), n, what="int stream bit-pack")
        if codes.size != n:
            raise FormatError(f"int stream: bit-pack holds {codes.size} values, header says {n}")
        y = batch_kernels.delta_decode(codes, tags, CHUNK, zigzag0=False).view(np.uint64)
        dest = _dest(n, out)
        _unframe(y, np.uint64(base & ((1 << 64) - 1)), np.uint64(g), dest)
        return _result(dest, out)
    if mode in (PLANES, ESCAPE, BUCKET, NIBBLES):
        order, layout, k, base_z, g, use_offset, offset_z, warm = read_predicted_header(r, mode, n)
        base, offset = unzigzag_int(base_z), unzigzag_int(offset_z)
        nwarm = warm.size
        m = n - nwarm
        if mode == PLANES:
            if order <= 1 and k:
                starts = np.array(read_planes_starts(r, m, k, layout), np.int64)
                dest = _dest(n, out)
                _planes_decode(readonly(np.frombuffer(r.buf, np.uint8)), starts, k, m, warm, order,
                               np.uint64(offset & ((1 << 64) - 1)), use_offset,
                               np.uint64(base & ((1 << 64) - 1)), np.uint64(g), dest)
                return _result(dest, out)
            body = read_planes_body(r, m, k, layout)
            res = _from_bytes(body, m, k, not layout & LAYOUT_INTERLEAVED) if k else np.zeros(m, np.uint64)
        elif mode == BUCKET:
            sym, extra = _read_bucket_body(r, m)
            if order <= 1:
                dest = _dest(n, out)
                nbits = _bucket_decode(sym, extra, warm, order, np.uint64(offset & ((1 << 64) - 1)),
                                       use_offset, np.uint64(base & ((1 << 64) - 1)), np.uint64(g), dest)
                _check_bucket(nbits, extra)
                return _result(dest, out)
            res, nbits = _bucket_merge(sym, extra)
            _check_bucket(nbits, extra)
        else:
            if _depth > 1:
                raise FormatError(f"int stream: {MODE_NAMES[mode]} layout nested too deep")
            if mode == NIBBLES:
                packed = np.frombuffer(r.view((m + 1) // 2, "nibbles"), np.uint8)
                prim, ok = _unpack_nibbles(packed, m)
                if not ok:
                    raise FormatError("int stream: unused last nibble is not zero")
                esc = ESCAPE_NIBBLE
            else:
                prim = np.frombuffer(r.view(m, "escape bytes"), np.uint8)
                esc = ESCAPE_BYTE
            rest = decode_ints(r.view(r.remaining, "escaped values"), m, _depth=_depth + 1)
            if order == 0:
                # no predictor: the values straight from the codes, frame of reference and all
                dest = _dest(n, out)
                frame = (np.uint64(base & ((1 << 64) - 1)), np.uint64(g))
            else:
                dest = res = np.empty(m, np.uint64)
                frame = (np.uint64(0), np.uint64(1))
            if not _merge_escape(readonly(prim), readonly(rest.view(np.uint64)), esc, *frame, dest):
                raise FormatError(f"int stream: {rest.size} escaped values do not match the escape codes")
            if order == 0:
                return _result(dest, out)
        if order == 0 and base == 0 and g == 1:
            # no predictor, no frame of reference (dictionary ranks): the codes
            # are the values, and res is a fresh array of this call's own
            if out is None:
                return res.view(np.int64)
            np.copyto(out, res, casting="unsafe")  # C casts: the low bytes
            return out
        # without warm-up values in place: each code is read before its slot is written
        dest = res if out is None and nwarm == 0 else _dest(n, out)
        _unpredict(res, warm, order, np.uint64(offset & ((1 << 64) - 1)), use_offset,
                   np.uint64(base & ((1 << 64) - 1)), np.uint64(g), dest)
        return _result(dest, out)
    if mode == SPARSE:
        dest = _dest(n, out)
        _decode_sparse(r, n, _depth, dest)
        return _result(dest, out)
    if mode == DICT:
        if _depth > 0:
            raise FormatError("int stream: nested dictionary")
        depth = _depth
        nd = r.varint("dictionary size", limit=max(n, 1))
        rlen = r.varint("ranks length", limit=r.remaining)
        ranks_buf = r.view(rlen, "ranks")
        dest = _bucket_ranks_lookup(ranks_buf, n, nd, r, out)
        if dest is not None:
            return _result(dest, out)
        ranks = decode_ints(ranks_buf, n, _depth=depth + 1)
        if ranks.size != n:
            raise FormatError(f"int stream: {ranks.size} ranks for {n} values")
        values = decode_ints(r.view(r.remaining, "dictionary"), nd, _depth=depth + 1)
        if values.size != nd:
            raise FormatError(f"int stream: dictionary holds {values.size} values, header says {nd}")
        dest = _dest(n, out)
        bad = _lookup(ranks, values, dest)
        if bad >= 0:
            raise FormatError(f"int stream: rank {int(ranks[bad])} at {bad} outside the dictionary of {nd}")
        return _result(dest, out)
    raise FormatError(f"int stream: unknown mode {mode}")


__all__ = ["encode_ints", "decode_ints", "decode_scaled_sparse", "estimate_size", "choose_layout", "trial_compressor", "trial_frame", "PACKED", "PLANES", "DICT", "SPARSE", "ESCAPE", "BUCKET", "NIBBLES", "ALL_MODES"]
