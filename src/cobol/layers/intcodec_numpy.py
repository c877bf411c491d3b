"""The int codec's layout constants and a NumPy decoder that needs no Numba.

:mod:`cobol.layers.intcodec` is the codec (docs/transforms/intcodec.md); its
decoder runs Numba kernels, and the first Numba call of a process costs
~0.5 s of CPU (numba's typing registries, then ~20 ms a cached kernel). A
reader that decodes a few small int streams once (``cobol grep`` reading a
log block's template ids and numbers) pays that for milliseconds of work.
:func:`decode_ints_numpy` decodes the same bytes with whole-array NumPy, with
the same checks and errors, except for the layouts whose inverse is
sequential:

- PACKED with values (L3 delta and L4 bit-packing: the batch kernels);
- the mean-of-the-last-4/16 predictors (3 and 4) over more than
  :data:`MEAN_PREDICTOR_LOOP_MAX` values: each value's prediction depends on
  the values just decoded, which NumPy cannot express, so they run as a
  Python loop over at most that many values (~5 ms; the Numba kernel's
  start-up would cost 100x more) and above it the decoder gives up.

For those it returns None and the caller uses :func:`intcodec.decode_ints`.
Nothing here imports Numba.

>>> from cobol.layers.intcodec import encode_ints
>>> v = np.array([5, 7, 9, -3] * 50, dtype=np.int64)
>>> bool((decode_ints_numpy(encode_ints(v), 200) == v).all())
True
"""

from __future__ import annotations

import numpy as np

from ..errors import FormatError
from ..format.wire import Reader

PACKED = 1
PLANES = 2
DICT = 3
SPARSE = 4
ESCAPE = 5
BUCKET = 6
NIBBLES = 7
MODE_NAMES = {PACKED: "packed", PLANES: "planes", DICT: "dict", SPARSE: "sparse", ESCAPE: "escape",
              BUCKET: "bucket", NIBBLES: "nibbles"}
ALL_MODES = (PACKED, PLANES, DICT, SPARSE, ESCAPE, BUCKET, NIBBLES)
#: zstd's block size (ZSTD_BLOCKSIZE_MAX) and the smallest section worth aligning to it
ZSTD_BLOCK = 128 << 10
PAD_MIN_SECTION = 16 << 10
#: BUCKET symbols: residuals below 64 are their own symbol; above, the bit length
#: and the two bits after the leading one (4 buckets an octave), up to 2**53
BUCKET_DIRECT = 64
BUCKET_MAX_SYMBOL = BUCKET_DIRECT + (53 - 7) * 4 + 3
#: the escape code of ESCAPE (a byte) and NIBBLES (a nibble): the residual is at
#: least this and continues, minus it, in the nested stream
ESCAPE_BYTE = 0xFF
ESCAPE_NIBBLE = 0xF
#: warm-up values (stored as varints) of each PLANES predictor
PREDICTOR_WARM = (0, 1, 2, 4, 16)
#: PLANES layout byte: bit 0 = interleaved (else byte planes), bit 1 = offset map (else zigzag)
LAYOUT_INTERLEAVED = 1
LAYOUT_OFFSET = 2
#: the mean predictors are undone by a Python loop up to this many values
#: (~1 us a value), else :func:`decode_ints_numpy` leaves them to the kernels
MEAN_PREDICTOR_LOOP_MAX = 1 << 14

_U64 = (1 << 64) - 1


def bucket_tables() -> tuple[np.ndarray, np.ndarray]:
    """Per bucket symbol: its extra bits (-1: not a symbol) and the value bits
    it fixes (the leading one and the two bits under it; symbols below
    BUCKET_DIRECT are their value)."""
    width = np.full(256, -1, np.int64)
    lead = np.zeros(256, np.uint64)
    for s in range(BUCKET_MAX_SYMBOL + 1):
        if s < BUCKET_DIRECT:
            width[s], lead[s] = 0, s
        else:
            e = ((s - BUCKET_DIRECT) >> 2) + 7
            w = e - 3
            width[s] = w
            lead[s] = (1 << (e - 1)) | (((s - BUCKET_DIRECT) & 3) << w)
    return width, lead


BUCKET_WIDTH, BUCKET_LEAD = bucket_tables()


def skip_padding(r: Reader, section_len: int) -> None:
    """Skip the padding after a section of ``section_len`` bytes (present from PAD_MIN_SECTION on)."""
    if section_len >= PAD_MIN_SECTION:
        pad = r.varint("padding length", limit=ZSTD_BLOCK)
        if np.frombuffer(r.view(pad, "section padding"), np.uint8).any():
            raise FormatError("int stream: nonzero section padding")


#: the warm-up values of a predictor without any (order 0): one shared empty
#: array (the same array type as a fresh one, so the kernels compile once)
_NO_WARM = np.zeros(0, np.uint64)


def read_predicted_header(r: Reader, mode: int, n: int) -> tuple:
    """The header of a PLANES, ESCAPE, BUCKET or NIBBLES stream of ``n`` values,
    checked: (predictor order, layout, bytes per value, base's zigzag code, gcd,
    whether an offset is used, the offset's zigzag code or 0, the warm-up values
    as uint64). The Numba and NumPy decoders share it, each unzigzags its own way."""
    order = r.u8("predictor")
    layout = r.u8("layout")
    k = r.u8("bytes per value") if mode == PLANES else 0
    if (order >= len(PREDICTOR_WARM) or k > 8 or (order == 0 and layout & LAYOUT_OFFSET)
            or layout > (3 if mode == PLANES else LAYOUT_OFFSET)):
        raise FormatError(f"int stream: bad {MODE_NAMES[mode]} header (predictor {order}, layout {layout}, k {k})")
    nwarm = PREDICTOR_WARM[order]
    if nwarm > n:
        raise FormatError(f"int stream: predictor {order} needs {nwarm} values, stream has {n}")
    base_z = r.varint("base")
    g = r.varint("gcd")
    if g == 0:
        raise FormatError("int stream: gcd 0")
    use_offset = bool(layout & LAYOUT_OFFSET)
    offset_z = r.varint("offset") if use_offset else 0
    warm = np.array([r.varint("warm-up value") for _ in range(nwarm)], dtype=np.uint64) if nwarm else _NO_WARM
    return order, layout, k, base_z, g, use_offset, offset_z, warm


def read_planes_starts(r: Reader, m: int, k: int, layout: int) -> list:
    """The rest of a PLANES stream, checked (padding zero, nothing after):
    where in ``r.buf`` its ``m`` values of ``k`` bytes start: one offset when
    interleaved (or k <= 1), else one per byte plane."""
    if layout & LAYOUT_INTERLEAVED or k <= 1:
        starts = [r.pos]
        r.view(m * k, "payload")
    else:
        starts = []
        for j in range(k):
            starts.append(r.pos)
            r.view(m, f"byte plane {j}")
            if j < k - 1:
                skip_padding(r, m)
    if r.remaining:
        raise FormatError(f"int stream: {r.remaining} bytes after {k} byte planes of {m}")
    return starts


def read_planes_body(r: Reader, m: int, k: int, layout: int) -> np.ndarray:
    """The rest of a PLANES stream: ``m`` values of ``k`` bytes, interleaved or
    as byte planes with padding between them, as one uint8 array; nothing may follow."""
    starts = read_planes_starts(r, m, k, layout)
    if len(starts) == 1:
        return np.frombuffer(r.buf[starts[0]:starts[0] + m * k], np.uint8)
    return np.frombuffer(b"".join(r.buf[p:p + m] for p in starts), np.uint8)


def read_sparse_header(r: Reader, depth: int) -> tuple:
    """A SPARSE stream's header, checked, and the rest cut into its two nested
    int streams: (order, base's zigzag code, gcd, gaps bytes, values bytes).
    ``depth``: how deep this stream is nested (sparse never nests)."""
    if depth > 0:
        raise FormatError("int stream: nested sparse layout")
    order = r.u8("order")
    if order > 1:
        raise FormatError(f"int stream: sparse order {order}")
    base_z = r.varint("base")
    g = r.varint("gcd")
    if g == 0:
        raise FormatError("int stream: gcd 0")
    glen = r.varint("gaps length", limit=r.remaining)
    return order, base_z, g, r.view(glen, "gaps"), r.view(r.remaining, "values")


class NeedsKernels(Exception):
    """The stream uses a layout :func:`decode_ints_numpy` leaves to the Numba kernels."""


def _unzigzag(z: np.ndarray) -> np.ndarray:
    return (z >> np.uint64(1)) ^ (np.uint64(0) - (z & np.uint64(1)))


def _affine(y: np.ndarray, base: int, g: int) -> np.ndarray:
    """base + g * y in uint64 arithmetic (wraps as the kernels do)."""
    return y * np.uint64(g) + np.uint64(base & _U64)


def _unpredict(res: np.ndarray, warm: np.ndarray, order: int, offset: int, use_offset: bool) -> np.ndarray:
    """Residual codes and warm-up values -> the values before the frame of
    reference (uint64), as intcodec's ``_unpredict`` computes them."""
    if order == 0:
        return res
    d = res + np.uint64(offset & _U64) if use_offset else _unzigzag(res)
    y = np.empty(warm.size + d.size, np.uint64)
    y[:warm.size] = warm
    if order == 1:
        y[1:] = np.cumsum(d, dtype=np.uint64) + warm[0:1]
    elif order == 2:  # arrays, not scalars: NumPy warns when uint64 scalars wrap
        step = np.cumsum(d, dtype=np.uint64) + (warm[1:2] - warm[0:1])
        y[2:] = np.cumsum(step, dtype=np.uint64) + warm[1:2]
    else:
        if d.size > MEAN_PREDICTOR_LOOP_MAX:
            raise NeedsKernels
        nw = warm.size
        sh = 2 if order == 3 else 4
        hist = [int(x) for x in warm]
        s = sum(hist) & _U64
        out = []
        slot = 0
        for di in d.tolist():
            v = (di + (s >> sh)) & _U64
            s = (s + v - hist[slot]) & _U64
            hist[slot] = v
            slot = slot + 1 if slot + 1 < nw else 0
            out.append(v)
        y[nw:] = out
    return y


def _from_bytes(body: np.ndarray, m: int, k: int, planes: bool) -> np.ndarray:
    b = body.reshape(k, m).T if planes else body.reshape(m, k)
    out = np.zeros(m, np.uint64)
    for j in range(k):  # k <= 8 byte positions, each a whole-array step
        out |= b[:, j].astype(np.uint64) << np.uint64(8 * j)
    return out


def _bucket_merge(sym: np.ndarray, extra: memoryview) -> np.ndarray:
    """intcodec's ``_bucket_merge`` (the caller checked symbols and the bit count)."""
    w = BUCKET_WIDTH[sym]
    pos = np.zeros(sym.size, np.int64)
    np.cumsum(w[:-1], out=pos[1:])
    buf = np.zeros(len(extra) + 16, np.uint8)
    buf[:len(extra)] = np.frombuffer(extra, np.uint8)
    window = buf[(pos >> 3)[:, None] + np.arange(8)]
    bits = np.ascontiguousarray(window).view("<u8").ravel() >> (pos & 7).astype(np.uint64)
    mask = (np.uint64(1) << w.astype(np.uint64)) - np.uint64(1)
    return BUCKET_LEAD[sym] | (bits & mask)


# L4 bit-packing (docs: cobol.layers.l4_bitpack) and L3 deltas (cobol.layers.l3_delta), the PACKED layout's body
_L4_CONST, _L4_FOR, _L4_ZERO_RUN, _L4_DELTA, _L4_PATCHED = range(5)
_L4_MAX_CHUNK = 1 << 16
#: the L3 chunk of the PACKED layout (intcodec.CHUNK)
PACKED_CHUNK = 512


class _BitReader:
    """Fields of the L4 bit stream (LSB-first), whole runs at a time."""

    def __init__(self, body: memoryview, what: str):
        self.words = np.zeros(len(body) // 8 + 2, np.uint64)
        self.words.view(np.uint8)[:len(body)] = np.frombuffer(body, np.uint8)
        self.total, self.pos, self.what = 8 * len(body), 0, what

    def run(self, k: int, w: int, chunk: int) -> np.ndarray:
        """The next k values of w bits."""
        if self.pos + k * w > self.total:
            raise FormatError(f"{self.what}: chunk {chunk}: bit stream too short for the chunk's fields")
        if w == 0:
            return np.zeros(k, np.uint64)
        p = self.pos + w * np.arange(k, dtype=np.int64)
        self.pos += k * w
        word, off = p >> 6, (p & 63).astype(np.uint64)
        v = self.words[word] >> off
        spill = (off + np.uint64(w)) > np.uint64(64)
        v[spill] |= self.words[word[spill] + 1] << (np.uint64(64) - off[spill])
        return v & (np.uint64(_U64) >> np.uint64(64 - w))


def _l4_unpack(buf, max_count: int, what: str) -> tuple[np.ndarray, np.ndarray]:
    """l4_bitpack.unpack: (codes uint64, tags per chunk); a Python loop over
    chunks (of up to 64 Ki values), whole-array NumPy inside each."""
    r = Reader(buf, what=what)
    n = r.varint("count", limit=max_count)
    chunk = r.varint("chunk size", limit=_L4_MAX_CHUNK)
    if chunk < 1:
        raise FormatError(f"{what}: chunk size 0")
    hlen = r.varint("header length", limit=r.remaining)
    h = Reader(r.view(hlen, "chunk headers"), what=f"{what} chunk headers")
    bits = _BitReader(r.view(r.remaining, "bit stream"), what)
    nchunks = (n + chunk - 1) // chunk
    if hlen < 2 * nchunks:
        raise FormatError(f"{what}: {hlen} header bytes cannot describe {nchunks} chunks")
    out = np.empty(n, np.uint64)
    tags = np.zeros(nchunks, np.uint8)
    for c in range(nchunks):
        start = c * chunk
        m = min(start + chunk, n) - start
        head, w = h.u8("strategy"), h.u8("width")
        s = head & 7
        if head >> 5:
            raise FormatError(f"{what}: chunk {c}: reserved header bits set")
        tags[c] = (head >> 3) & 3
        if w > 64:
            raise FormatError(f"{what}: chunk {c}: width above 64")
        if s == _L4_CONST:
            out[start:start + m] = bits.run(m, w, c)
        elif s == _L4_FOR:
            base = h.varint("base")
            out[start:start + m] = bits.run(m, w, c) + np.uint64(base)
        elif s == _L4_ZERO_RUN:
            k = h.varint("count")
            rw = h.u8("run width")
            if k > m:
                raise FormatError(f"{what}: chunk {c}: count field larger than the chunk")
            if rw > 64:
                raise FormatError(f"{what}: chunk {c}: run width above 64")
            if bits.pos + k * (rw + w) > bits.total:
                raise FormatError(f"{what}: chunk {c}: bit stream too short for the chunk's fields")
            runs, vals = bits.run(k, rw, c), bits.run(k, w, c)
            if k and runs.max() >= np.uint64(m):
                raise FormatError(f"{what}: chunk {c}: zero runs overflow the chunk")
            at = np.cumsum(runs.astype(np.int64)) + np.arange(k)
            if k and at[-1] >= m:
                raise FormatError(f"{what}: chunk {c}: zero runs overflow the chunk")
            part = np.zeros(m, np.uint64)
            part[at] = vals + np.uint64(1)
            out[start:start + m] = part
        elif s == _L4_DELTA:
            base = h.varint("base")
            z = bits.run(m - 1, w, c)
            part = np.empty(m, np.uint64)
            part[0] = base
            part[1:] = np.cumsum(_unzigzag(z), dtype=np.uint64) + part[0:1]
            out[start:start + m] = part
        elif s == _L4_PATCHED:
            b = h.u8("patch width")
            e = h.varint("exceptions")
            if e > m:
                raise FormatError(f"{what}: chunk {c}: count field larger than the chunk")
            if b > w or (e > 0 and b >= w):
                raise FormatError(f"{what}: chunk {c}: patch width inconsistent")
            pw = (m - 1).bit_length()
            if bits.pos + m * b + e * (pw + w - b) > bits.total:
                raise FormatError(f"{what}: chunk {c}: bit stream too short for the chunk's fields")
            part = bits.run(m, b, c)
            at, high = bits.run(e, pw, c), bits.run(e, w - b, c)
            if e and (at.max() >= np.uint64(m) or (np.diff(at.astype(np.int64)) <= 0).any()):
                raise FormatError(f"{what}: chunk {c}: patch position out of range or not increasing")
            part[at.astype(np.int64)] |= high << np.uint64(b)
            out[start:start + m] = part
        else:
            raise FormatError(f"{what}: chunk {c}: unknown strategy")
    if h.remaining:
        raise FormatError(f"{what}: chunk {nchunks}: unused bytes after the last chunk header")
    if (bits.pos + 7) // 8 != bits.total // 8:
        raise FormatError(f"{what}: chunk {nchunks}: unused bytes after the last chunk's bits")
    return out, tags


def _l3_undelta(z: np.ndarray, orders: np.ndarray, chunk: int) -> np.ndarray:
    """l3_delta.delta_decode with zigzag0=False (uint64): a Python loop over chunks."""
    n = z.size
    if orders.size != (n + chunk - 1) // chunk:
        raise FormatError(f"delta: {orders.size} chunk orders for {n} values in chunks of {chunk}")
    out = np.empty(n, np.uint64)
    p = np.zeros(2, np.uint64)  # the last two values before the chunk: p[1] the last, p[0] the one before
    for c in range(orders.size):
        start, stop = c * chunk, min(c * chunk + chunk, n)
        order, zc = int(orders[c]), z[start:stop]
        if order == 0:
            out[start:stop] = zc
        elif order in (1, 3):
            out[start:stop] = np.cumsum(_unzigzag(zc) if order == 1 else zc, dtype=np.uint64) + p[1:2]
        elif order == 2:
            step = np.cumsum(_unzigzag(zc), dtype=np.uint64) + (p[1:2] - p[0:1])
            out[start:stop] = np.cumsum(step, dtype=np.uint64) + p[1:2]
        else:
            raise FormatError(f"delta: chunk {c} has unknown order {order}")
        if stop >= 1:
            p[1] = out[stop - 1]
        if stop >= 2:
            p[0] = out[stop - 2]
    return out


def decode_ints_numpy(buf, max_count: int, _depth: int = 0) -> np.ndarray | None:
    """:func:`cobol.layers.intcodec.decode_ints` (int64 values) with NumPy
    alone, or None when the stream needs the kernels (see the module)."""
    try:
        return _decode(buf, max_count, _depth)
    except NeedsKernels:
        return None


def _decode(buf, max_count: int, _depth: int) -> np.ndarray:
    r = Reader(buf, what="int stream")
    mode = r.u8("mode")
    n = r.varint("count", limit=max_count)
    if mode == PACKED and n == 0:
        r.expect_end("empty int stream")
        return np.zeros(0, np.int64)
    if mode == PACKED:
        base = _unzigzag_int(r.varint("base"))
        g = r.varint("gcd")
        if g == 0:
            raise FormatError("int stream: gcd 0")
        codes, tags = _l4_unpack(r.view(r.remaining, "bit-pack"), n, "int stream bit-pack")
        if codes.size != n:
            raise FormatError(f"int stream: bit-pack holds {codes.size} values, header says {n}")
        return _affine(_l3_undelta(codes, tags, PACKED_CHUNK), base, g).view(np.int64)
    if mode in (PLANES, ESCAPE, BUCKET, NIBBLES):
        order, layout, k, base_z, g, use_offset, offset_z, warm = read_predicted_header(r, mode, n)
        base, offset = _unzigzag_int(base_z), _unzigzag_int(offset_z)
        nwarm = warm.size
        m = n - nwarm
        if order >= 3 and m > MEAN_PREDICTOR_LOOP_MAX:
            raise NeedsKernels  # before the payload is read: the kernels will read it
        if mode == PLANES:
            body = read_planes_body(r, m, k, layout)
            res = _from_bytes(body, m, k, not layout & LAYOUT_INTERLEAVED) if k else np.zeros(m, np.uint64)
        elif mode == BUCKET:
            sym = np.frombuffer(r.view(m, "bucket symbols"), np.uint8)
            skip_padding(r, m)
            widths = BUCKET_WIDTH[sym]
            if widths.size and widths.min() < 0:
                raise FormatError(f"int stream: bucket symbol above {BUCKET_MAX_SYMBOL}")
            nbits = int(widths.sum())
            if r.remaining != (nbits + 7) // 8:
                raise FormatError(f"int stream: {r.remaining} bytes of extra bits, symbols call for {nbits} bits")
            res = _bucket_merge(sym, r.view(r.remaining, "extra bits"))
        else:
            if _depth > 1:
                raise FormatError(f"int stream: {MODE_NAMES[mode]} layout nested too deep")
            if mode == NIBBLES:
                packed = np.frombuffer(r.view((m + 1) // 2, "nibbles"), np.uint8)
                prim = np.empty(m, np.uint8)
                prim[0::2] = packed[:(m + 1) // 2] & 15
                prim[1::2] = packed[:m // 2] >> 4
                if m & 1 and packed[m >> 1] >> 4:
                    raise FormatError("int stream: unused last nibble is not zero")
                esc = ESCAPE_NIBBLE
            else:
                prim = np.frombuffer(r.view(m, "escape bytes"), np.uint8)
                esc = ESCAPE_BYTE
            rest = _decode(r.view(r.remaining, "escaped values"), m, _depth + 1)
            at = np.flatnonzero(prim == esc)
            if at.size != rest.size or (prim.size and int(prim.max()) > esc):
                raise FormatError(f"int stream: {rest.size} escaped values do not match the escape codes")
            res = prim.astype(np.uint64)
            res[at] = rest.view(np.uint64) + np.uint64(esc)
        return _affine(_unpredict(res, warm, order, offset, use_offset), base, g).view(np.int64)
    if mode == SPARSE:
        order, base_z, g, gaps_buf, values_buf = read_sparse_header(r, _depth)
        base = _unzigzag_int(base_z)
        gaps = _decode(gaps_buf, n, _depth + 1)
        values = _decode(values_buf, n, _depth + 1)
        if gaps.size != values.size:
            raise FormatError(f"int stream: {gaps.size} gaps but {values.size} values")
        # value j sits at sum(gaps[:j+1]) + j; every gap >= 0 and the last position inside the array
        if gaps.size and (gaps.min() < 0 or gaps.max() >= n):
            raise FormatError("int stream: sparse gaps run past the end")
        at = np.cumsum(gaps) + np.arange(gaps.size)
        if at.size and at[-1] >= n:
            raise FormatError("int stream: sparse gaps run past the end")
        y = np.zeros(n, np.uint64)
        y[at] = values.view(np.uint64)
        if order == 1:
            y = np.cumsum(y, dtype=np.uint64)
        return _affine(y, base, g).view(np.int64)
    if mode == DICT:
        if _depth > 0:
            raise FormatError("int stream: nested dictionary")
        nd = r.varint("dictionary size", limit=max(n, 1))
        rlen = r.varint("ranks length", limit=r.remaining)
        ranks = _decode(r.view(rlen, "ranks"), n, _depth + 1)
        if ranks.size != n:
            raise FormatError(f"int stream: {ranks.size} ranks for {n} values")
        values = _decode(r.view(r.remaining, "dictionary"), nd, _depth + 1)
        if values.size != nd:
            raise FormatError(f"int stream: dictionary holds {values.size} values, header says {nd}")
        bad = np.flatnonzero((ranks < 0) | (ranks >= nd))
        if bad.size:
            raise FormatError(f"int stream: rank {int(ranks[bad[0]])} at {int(bad[0])} outside the dictionary of {nd}")
        return values[ranks]
    raise FormatError(f"int stream: unknown mode {mode}")


def _unzigzag_int(z: int) -> int:
    """A zigzag code (Python int) -> the signed value's uint64 bits as a Python int."""
    return ((z >> 1) ^ -(z & 1)) & _U64


__all__ = ["decode_ints_numpy", "MEAN_PREDICTOR_LOOP_MAX"]
