"""L4 variable bit-packing of unsigned 64-bit codes, chunk by chunk.

Input: a uint64 array of *codes* (signed data goes through zigzag first, see
:mod:`cobol.layers.l3_delta`). It is cut into chunks of ``chunk`` values
(128..1024 in practice; any 1..65536 is accepted) and every chunk is packed with
the cheapest of five strategies:

===========  =====================================================================
CONST        every value in ``w`` bits, ``w`` = bits of the chunk's maximum (0..64)
FOR          frame of reference: ``value - base`` in ``w`` bits, ``base`` = minimum
ZERO_RUN     for each nonzero value: the run of zeros before it (``rw`` bits) and
             ``value - 1`` (``w`` bits); trailing zeros are implied by the count
DELTA        ``base`` = first value, then the zigzagged differences in ``w`` bits
PATCHED      PFor: the low ``b`` bits of every value; values wider than ``b``
             (exceptions) add their position and their high ``w - b`` bits
===========  =====================================================================

:func:`analyze` returns a :class:`BitWidthAnalysis` (min, max, range, bits needed
and the exact size in bits each strategy would take per chunk); the selector takes
the smallest, ties to the lower strategy number.

Layout (all varints are LEB128 as in :mod:`cobol.format.wire`)::

    varint count | varint chunk | varint header_len | headers | bit stream

One header per chunk, in order::

    u8 strategy | tag << 3      (strategy 0..4; tag 0..3 is the caller's, e.g. a delta order)
    u8 w                        (0..64)
    FOR, DELTA: varint base     ZERO_RUN: varint k, u8 rw     PATCHED: u8 b, varint e

The bit stream holds every chunk's fields one after another, LSB-first: bit ``i``
of the stream is bit ``i % 8`` of byte ``i // 8``; a value of width ``w`` occupies
the next ``w`` bits, least significant bit first. It ends at the next byte
boundary (zero padding). Headers sit apart from the bits so that an entropy coder
sees the (repetitive) headers together.

Decoding treats the buffer as hostile: every header field, width, count and bit
position is checked (in the kernel, which returns an error code) and a bad one
raises :class:`~cobol.errors.FormatError`; nothing is allocated beyond
``max_count`` values.

>>> import numpy as np
>>> codes = np.array([3, 5, 0, 7, 1000, 2, 4], dtype=np.uint64)
>>> buf = pack(codes, chunk=4)
>>> back, tags = unpack(buf, max_count=7)
>>> back.tolist() == codes.tolist()
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from ..errors import FormatError
from ..format.wire import put_varint
from .l3_delta import _delta_decode, chunk_order, delta_chunk
from .primitives import VARINT_OK, bit_length, put_varint as _put_varint, read_varint, varint_len

CONST = 0
FOR = 1
ZERO_RUN = 2
DELTA = 3
PATCHED = 4
STRATEGY_NAMES = ("const", "for", "zero_run", "delta", "patched")
N_STRATEGIES = 5

DEFAULT_CHUNK = 512
MAX_CHUNK = 1 << 16

#: error codes returned by the decoding kernels, here and on the accelerator (0 = ok)
L4_ERRORS = {
    1: "header truncated",
    2: "unknown strategy",
    3: "reserved header bits set",
    4: "width above 64",
    5: "bit stream too short for the chunk's fields",
    6: "varint too long or not minimal",
    7: "count field larger than the chunk",
    8: "zero runs overflow the chunk",
    9: "patch position out of range or not increasing",
    10: "patch width inconsistent (b >= w with exceptions, or b > w)",
    11: "run width above 64",
    12: "unused bytes after the last chunk header",
    13: "unused bytes after the last chunk's bits",
}

# analysis columns
A_MIN, A_MAX, A_RANGE, A_BITS = 0, 1, 2, 3


@njit(cache=True, nogil=True, inline="always")
def _mask(w):
    if w == 0:
        return np.uint64(0)
    return np.uint64(0xFFFFFFFFFFFFFFFF) >> np.uint64(64 - w)


# The run kernels take the arrays once per run: a helper called per value with an
# array argument costs a reference-count round trip per call (10x slower).


@njit(cache=True, nogil=True)
def _put_run(words, pos, vals, k, w):
    """OR vals[:k] (each < 2**w) into the LSB-first stream from bit ``pos``;
    words pre-zeroed past ``pos``, with a spare word after the last bit.

    The current word is built in a register and stored once full: OR-ing each
    value into memory made every value wait for the store of the one before
    (the same word, a store-to-load round trip a value)."""
    if w == 0 or k == 0:
        return pos
    word = pos >> 6
    off = pos & 63
    acc = words[word]
    for i in range(k):
        v = vals[i]
        acc |= v << np.uint64(off)
        off += w
        if off >= 64:
            words[word] = acc
            word += 1
            off -= 64
            # the bits of v that did not fit (none when it ended on the boundary)
            acc = v >> np.uint64(w - off) if off else np.uint64(0)
    words[word] = acc
    return (word << 6) + off


@njit(cache=True, nogil=True)
def _get_run(words, pos, out, k, w):
    """out[:k] = the next k values of width w from bit ``pos`` (caller checked the bounds)."""
    if w == 0:
        for i in range(k):
            out[i] = 0
        return pos
    mask = np.uint64(0xFFFFFFFFFFFFFFFF) >> np.uint64(64 - w)
    for i in range(k):
        word = pos >> 6
        off = pos & 63
        v = words[word] >> np.uint64(off)
        if off + w > 64:
            v |= words[word + 1] << np.uint64(64 - off)
        out[i] = v & mask
        pos += w
    return pos


# ---------------------------------------------------------------- analysis


@njit(cache=True, nogil=True, inline="always")
def _analyze_chunk(codes, start, stop, row, hist):
    """_analyze's row (13 columns) for the chunk codes[start:stop]; ``hist`` is
    65 counters of scratch."""
    m = stop - start
    lo = codes[start]
    hi = codes[start]
    nz = 0
    run = 0
    max_run = 0
    max_nz = np.uint64(0)
    dmax = np.uint64(0)
    prev = codes[start]
    for t in range(65):
        hist[t] = 0
    for i in range(start, stop):
        v = codes[i]
        lo = min(lo, v)
        hi = max(hi, v)
        hist[bit_length(v)] += 1
        d = v - prev
        dz = (d << np.uint64(1)) ^ (np.uint64(0) - (d >> np.uint64(63)))
        dmax = max(dmax, dz)
        prev = v
        if v != 0:
            nz += 1
            max_run = max(max_run, run)
            run = 0
            max_nz = max(max_nz, v - np.uint64(1))
        else:
            run += 1
    w = bit_length(hi)
    rng = hi - lo
    row[0] = lo
    row[1] = hi
    row[2] = rng
    row[3] = w
    row[4] = 16 + m * w
    row[5] = 16 + 8 * varint_len(lo) + m * bit_length(rng)
    rw = bit_length(np.uint64(max_run))
    nzw = bit_length(max_nz)
    row[6] = 16 + 8 * varint_len(np.uint64(nz)) + 8 + nz * (rw + nzw)
    dw = bit_length(dmax)
    row[7] = 16 + 8 * varint_len(codes[start]) + (m - 1) * dw
    # PFor: exceptions above b cost a position and w - b high bits each
    pw = bit_length(np.uint64(m - 1))
    best = 16 + m * w + 8 + 8  # b = w, e = 0
    best_b = w
    above = 0
    for b in range(w - 1, -1, -1):
        above += hist[b + 1]
        cost = 16 + 8 + 8 * varint_len(np.uint64(above)) + m * b + above * (pw + w - b)
        if cost < best:
            best = cost
            best_b = b
    row[8] = best
    row[9] = best_b
    row[10] = rw
    row[11] = nzw
    row[12] = dw


@njit(cache=True, nogil=True)
def _analyze(codes, chunk):
    """Per chunk: [min, max, range, bits, cost_bits x 5, patch_b, run_width, nz_width, delta_width].

    Costs are exact sizes in bits of header + payload for each strategy.
    """
    n = codes.size
    nchunks = (n + chunk - 1) // chunk
    out = np.zeros((nchunks, 13), np.uint64)
    hist = np.zeros(65, np.int64)
    for c in range(nchunks):
        start = c * chunk
        _analyze_chunk(codes, start, min(start + chunk, n), out[c], hist)
    return out


@dataclass
class BitWidthAnalysis:
    """Bit-width facts of each chunk of a code array (one row per chunk).

    ``cost_bits[c, s]`` is the exact size in bits (header included) chunk ``c``
    takes under strategy ``s``; :attr:`choice` is the cheapest per chunk.
    """

    chunk: int
    min: np.ndarray
    max: np.ndarray
    range: np.ndarray
    bits: np.ndarray
    cost_bits: np.ndarray
    raw: np.ndarray  # the kernel's full table, reused by pack()

    @property
    def choice(self) -> np.ndarray:
        return np.argmin(self.cost_bits, axis=1).astype(np.uint8)

    def total_bytes(self) -> int:
        """Packed size (headers + bit stream) under :attr:`choice`, not counting the prefix."""
        return int((self.cost_bits.min(axis=1).sum() + 7) // 8)

    def summary(self) -> dict:
        """How many chunks pick each strategy."""
        counts = np.bincount(self.choice, minlength=N_STRATEGIES)
        return {name: int(k) for name, k in zip(STRATEGY_NAMES, counts)}


def analyze(codes: np.ndarray, chunk: int = DEFAULT_CHUNK) -> BitWidthAnalysis:
    codes = np.ascontiguousarray(codes, np.uint64)
    _check_chunk(chunk)
    raw = _analyze(codes, chunk)
    return BitWidthAnalysis(
        chunk=chunk,
        min=raw[:, 0],
        max=raw[:, 1],
        range=raw[:, 2],
        bits=raw[:, 3].astype(np.uint8),
        cost_bits=raw[:, 4:9].astype(np.int64),
        raw=raw,
    )


def _check_chunk(chunk: int) -> None:
    if not 1 <= chunk <= MAX_CHUNK:
        raise ValueError(f"chunk must be in 1..{MAX_CHUNK}, got {chunk}")


# ---------------------------------------------------------------- packing


@njit(cache=True, nogil=True, inline="always")
def _pack_chunk(codes, start, stop, row, s, tag, headers, hp, words, pos, tmp, tmp2):
    """Header and fields of the chunk codes[start:stop] under strategy ``s``
    (``row``: its _analyze row); returns the new header and bit positions."""
    m = stop - start
    one = np.uint64(1)
    headers[hp] = np.uint8(s | (tag << 3))
    hp += 1
    if s == CONST:
        w = np.int64(row[3])
        headers[hp] = w
        hp += 1
        pos = _put_run(words, pos, codes[start:stop], m, w)
    elif s == FOR:
        base = row[0]
        w = bit_length(row[2])
        headers[hp] = w
        hp = _put_varint(headers, hp + 1, base)
        for i in range(m):
            tmp[i] = codes[start + i] - base
        pos = _put_run(words, pos, tmp, m, w)
    elif s == ZERO_RUN:
        rw = np.int64(row[10])
        w = np.int64(row[11])
        k = np.int64(0)
        run = 0
        for i in range(start, stop):
            v = codes[i]
            if v != 0:
                tmp[k] = run
                tmp2[k] = v - one
                k += 1
                run = 0
            else:
                run += 1
        headers[hp] = w
        hp = _put_varint(headers, hp + 1, np.uint64(k))
        headers[hp] = rw
        hp += 1
        pos = _put_run(words, pos, tmp, k, rw)
        pos = _put_run(words, pos, tmp2, k, w)
    elif s == DELTA:
        w = np.int64(row[12])
        headers[hp] = w
        hp = _put_varint(headers, hp + 1, codes[start])
        prev = codes[start]
        for i in range(m - 1):
            v = codes[start + 1 + i]
            d = v - prev
            tmp[i] = (d << one) ^ (np.uint64(0) - (d >> np.uint64(63)))
            prev = v
        pos = _put_run(words, pos, tmp, m - 1, w)
    else:  # PATCHED
        w = np.int64(row[3])
        b = np.int64(row[9])
        pw = bit_length(np.uint64(m - 1))
        lowmask = _mask(b)
        e = np.int64(0)
        for i in range(m):
            v = codes[start + i]
            tmp[i] = v & lowmask
            if b < 64 and (v >> np.uint64(b)) != 0:
                tmp2[e] = v >> np.uint64(b)
                e += 1
        headers[hp] = w
        headers[hp + 1] = b
        hp = _put_varint(headers, hp + 2, np.uint64(e))
        pos = _put_run(words, pos, tmp, m, b)
        e = np.int64(0)
        for i in range(m):
            if b < 64 and (codes[start + i] >> np.uint64(b)) != 0:
                tmp[e] = i
                e += 1
        pos = _put_run(words, pos, tmp, e, pw)
        pos = _put_run(words, pos, tmp2, e, w - b)
    return hp, pos


@njit(cache=True, nogil=True)
def _pack(codes, chunk, table, choice, tags):
    n = codes.size
    nchunks = table.shape[0]
    total_bits = 0
    for c in range(nchunks):
        total_bits += table[c, 4 + choice[c]]
    # a header is at most 1 + 1 + 10 (varint) + 1 bytes
    headers = np.zeros(nchunks * 16, np.uint8)
    words = np.zeros(total_bits // 64 + 2, np.uint64)
    tmp = np.empty(chunk, np.uint64)
    tmp2 = np.empty(chunk, np.uint64)
    hp = 0
    pos = np.int64(0)  # np.int64, not 0: a literal 0 compiles _put_run once more per call site
    for c in range(nchunks):
        start = c * chunk
        hp, pos = _pack_chunk(codes, start, min(start + chunk, n), table[c], choice[c], tags[c],
                              headers, hp, words, pos, tmp, tmp2)
    return headers[:hp], words, pos


@njit(cache=True, nogil=True)
def _pack_deltas(u, chunk, zigzag0):
    """pack(delta_encode(u, orders), chunk, tags=orders) with orders from
    choose_orders, all strategies allowed, in one pass: each chunk's order,
    residual codes, analysis, strategy and fields while its values are in
    cache, with no array of codes, orders or analysis rows for the whole
    input. Returns (headers, words, bits) as _pack."""
    n = u.size
    nchunks = (n + chunk - 1) // chunk
    headers = np.zeros(nchunks * 16, np.uint8)
    # a chunk's chosen fields take at most the CONST cost's m * 64 bits
    words = np.zeros(n + 2, np.uint64)
    codes = np.empty(chunk, np.uint64)
    row = np.zeros(13, np.uint64)
    hist = np.zeros(65, np.int64)
    tmp = np.empty(chunk, np.uint64)
    tmp2 = np.empty(chunk, np.uint64)
    hp = 0
    pos = np.int64(0)
    for c in range(nchunks):
        start = c * chunk
        stop = min(start + chunk, n)
        m = stop - start
        order = chunk_order(u, start, stop)
        delta_chunk(u, start, stop, order, zigzag0, codes, 0)
        _analyze_chunk(codes, 0, m, row, hist)
        # the cheapest strategy, ties to the lower number (as np.argmin)
        s = 0
        for t in range(1, N_STRATEGIES):
            if np.int64(row[4 + t]) < np.int64(row[4 + s]):
                s = t
        hp, pos = _pack_chunk(codes, 0, m, row, s, order, headers, hp, words, pos, tmp, tmp2)
    return headers[:hp], words, pos


def _packed_bytes(n: int, chunk: int, headers: np.ndarray, words: np.ndarray, nbits: int) -> bytes:
    """The packed layout: varint count, chunk and header count, the chunk headers, then
    the first ``nbits`` bits of ``words``."""
    out = bytearray()
    put_varint(out, n)
    put_varint(out, chunk)
    put_varint(out, headers.size)
    out += headers.tobytes()
    out += words.view(np.uint8)[: (nbits + 7) // 8].tobytes()
    return bytes(out)


def pack_deltas(values: np.ndarray, chunk: int = DEFAULT_CHUNK, zigzag0: bool = True) -> bytes:
    """The bytes of ``pack(l3_delta.delta_encode(values, orders, chunk, zigzag0),
    chunk, tags=orders)`` with ``orders = l3_delta.choose_orders(values, chunk)``,
    made in one pass over the int64 ``values`` (see _pack_deltas)."""
    _check_chunk(chunk)
    u = np.ascontiguousarray(values, np.int64).view(np.uint64)
    headers, words, nbits = _pack_deltas(u, chunk, zigzag0)
    return _packed_bytes(u.size, chunk, headers, words, nbits)


def pack(
    codes: np.ndarray,
    chunk: int = DEFAULT_CHUNK,
    tags: np.ndarray | None = None,
    analysis: BitWidthAnalysis | None = None,
    allowed: tuple = (CONST, FOR, ZERO_RUN, DELTA, PATCHED),
) -> bytes:
    """Pack uint64 ``codes``; ``tags`` (0..3 per chunk) travel in the chunk headers."""
    codes = np.ascontiguousarray(codes, np.uint64)
    _check_chunk(chunk)
    nchunks = (codes.size + chunk - 1) // chunk
    if tags is None:
        tags = np.zeros(nchunks, np.uint8)
    tags = np.ascontiguousarray(tags, np.uint8)
    if tags.size != nchunks or (tags.size and int(tags.max()) > 3):
        raise ValueError("one tag in 0..3 per chunk expected")
    if analysis is None:
        analysis = analyze(codes, chunk)
    costs = analysis.cost_bits
    if len(allowed) < N_STRATEGIES:
        costs = costs.copy()
        for s in range(N_STRATEGIES):
            if s not in allowed:
                costs[:, s] = np.iinfo(np.int64).max
    choice = np.argmin(costs, axis=1).astype(np.uint8) if nchunks else np.zeros(0, np.uint8)
    headers, words, nbits = _pack(codes, chunk, analysis.raw, choice, tags)
    return _packed_bytes(codes.size, chunk, headers, words, nbits)


# ---------------------------------------------------------------- unpacking


@njit(cache=True, nogil=True)
def read_header_varint(buf, p, end):
    """Returns (value, new_p) or (0, -1) when truncated / too long / not minimal / above 64 bits."""
    v, q, err = read_varint(buf, p, end)
    if err != VARINT_OK:
        return np.uint64(0), -1
    return v, q


@njit(cache=True, nogil=True)
def _unpack(headers, words, total_bits, n, chunk, out, tags):
    """Fills out[:n] and tags; returns (error_code, chunk_index)."""
    nchunks = (n + chunk - 1) // chunk
    hend = headers.size
    tmp = np.empty(chunk, np.uint64)
    tmp2 = np.empty(chunk, np.uint64)
    one = np.uint64(1)
    hp = 0
    pos = np.int64(0)  # np.int64, not 0: see _pack
    for c in range(nchunks):
        start = c * chunk
        stop = min(start + chunk, n)
        m = stop - start
        if hp + 2 > hend:
            return 1, c
        h = headers[hp]
        w = np.int64(headers[hp + 1])
        hp += 2
        s = h & 7
        if h >> 5:
            return 3, c
        tags[c] = (h >> 3) & 3
        if w > 64:
            return 4, c
        if s == CONST:
            if pos + m * w > total_bits:
                return 5, c
            pos = _get_run(words, pos, out[start:stop], m, w)
        elif s == FOR:
            base, hp = read_header_varint(headers, hp, hend)
            if hp < 0:
                return 6, c
            if pos + m * w > total_bits:
                return 5, c
            pos = _get_run(words, pos, tmp, m, w)
            for i in range(m):
                out[start + i] = tmp[i] + base
        elif s == ZERO_RUN:
            k, hp = read_header_varint(headers, hp, hend)
            if hp < 0:
                return 6, c
            if hp >= hend:
                return 1, c
            rw = np.int64(headers[hp])
            hp += 1
            if k > np.uint64(m):
                return 7, c
            if rw > 64:
                return 11, c
            kk = np.int64(k)
            if pos + kk * (rw + w) > total_bits:
                return 5, c
            pos = _get_run(words, pos, tmp, kk, rw)
            pos = _get_run(words, pos, tmp2, kk, w)
            i = start
            for j in range(kk):
                run = tmp[j]
                if run >= np.uint64(stop - i):
                    return 8, c
                for t in range(np.int64(run)):
                    out[i + t] = 0
                i += np.int64(run)
                out[i] = tmp2[j] + one
                i += 1
            for t in range(i, stop):
                out[t] = 0
        elif s == DELTA:
            base, hp = read_header_varint(headers, hp, hend)
            if hp < 0:
                return 6, c
            if pos + (m - 1) * w > total_bits:
                return 5, c
            pos = _get_run(words, pos, tmp, m - 1, w)
            prev = base
            out[start] = base
            for i in range(m - 1):
                z = tmp[i]
                prev += (z >> one) ^ (np.uint64(0) - (z & one))
                out[start + 1 + i] = prev
        elif s == PATCHED:
            if hp >= hend:
                return 1, c
            b = np.int64(headers[hp])
            hp += 1
            e, hp = read_header_varint(headers, hp, hend)
            if hp < 0:
                return 6, c
            if e > np.uint64(m):
                return 7, c
            ee = np.int64(e)
            if b > w or (ee > 0 and b >= w):
                return 10, c
            pw = bit_length(np.uint64(m - 1))
            if pos + m * b + ee * (pw + w - b) > total_bits:
                return 5, c
            pos = _get_run(words, pos, out[start:stop], m, b)
            pos = _get_run(words, pos, tmp, ee, pw)
            pos = _get_run(words, pos, tmp2, ee, w - b)
            last = np.uint64(0)
            for j in range(ee):
                p = tmp[j]
                if (j > 0 and p <= last) or p >= np.uint64(m):
                    return 9, c
                last = p
                out[start + np.int64(p)] |= tmp2[j] << np.uint64(b)
        else:
            return 2, c
    if hp != hend:
        return 12, nchunks
    if (pos + 7) // 8 != total_bits // 8:
        return 13, nchunks
    return 0, 0


@njit(cache=True, nogil=True)
def unpack_deltas_into(buf, n, delta_chunk, zigzag0, base, g, dest):
    """``base + g * delta_decode(*unpack(buf), delta_chunk, zigzag0)`` (uint64
    arithmetic) into dest[:n], for a :func:`pack` stream of exactly ``n``
    values: the int codec's PACKED layout decoded in one kernel call instead of
    a dozen Python and NumPy steps (on the small streams of 1-64 KB blocks
    those steps cost several times the work). The same kernels, so the same
    values. False where any check fails (dest then holds nothing promised): the
    caller takes the step-by-step path, which raises the error it raises."""
    end = buf.size
    count, p, e = read_varint(buf, 0, end)
    if e != VARINT_OK or count != np.uint64(n):
        return False
    chunk_u, p, e = read_varint(buf, p, end)
    if e != VARINT_OK or chunk_u < np.uint64(1) or chunk_u > np.uint64(MAX_CHUNK):
        return False
    hlen_u, p, e = read_varint(buf, p, end)
    if e != VARINT_OK or hlen_u > np.uint64(end - p):
        return False
    chunk = np.int64(chunk_u)
    hlen = np.int64(hlen_u)
    nchunks = (n + chunk - 1) // chunk
    if hlen < 2 * nchunks or nchunks != (n + delta_chunk - 1) // delta_chunk:
        return False
    headers = buf[p:p + hlen]
    body = buf[p + hlen:]
    nbytes = body.size
    words = np.zeros(nbytes // 8 + 2, np.uint64)
    words.view(np.uint8)[:nbytes] = body
    codes = np.empty(n, np.uint64)
    tags = np.zeros(nchunks, np.uint8)
    err, _ = _unpack(headers, words, 8 * nbytes, n, chunk, codes, tags)
    if err:
        return False
    y, bad = _delta_decode(codes, tags, delta_chunk, zigzag0)
    if bad >= 0:
        return False
    for i in range(n):
        dest[i] = base + g * y[i]
    return True


def unpack(buf, max_count: int, what: str = "bitpack") -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`pack`: returns (codes uint64, tags uint8 per chunk)."""
    from ..format.wire import Reader

    r = Reader(buf, what=what)
    n = r.varint("count", limit=max_count)
    chunk = r.varint("chunk size", limit=MAX_CHUNK)
    if chunk < 1:
        raise FormatError(f"{what}: chunk size 0")
    hlen = r.varint("header length", limit=r.remaining)
    headers = np.frombuffer(r.view(hlen, "chunk headers"), np.uint8)
    body = r.view(r.remaining, "bit stream")
    nbytes = len(body)
    words = np.zeros(nbytes // 8 + 2, np.uint64)
    words.view(np.uint8)[:nbytes] = np.frombuffer(body, np.uint8)
    nchunks = (n + chunk - 1) // chunk
    if hlen < 2 * nchunks:
        raise FormatError(f"{what}: {hlen} header bytes cannot describe {nchunks} chunks")
    out = np.empty(n, np.uint64)
    tags = np.zeros(nchunks, np.uint8)
    err, where = _unpack(headers, words, 8 * nbytes, n, chunk, out, tags)
    if err:
        raise FormatError(f"{what}: chunk {where}: {L4_ERRORS.get(err, 'error')}")
    return out, tags
