"""Numba primitives shared by every layer and accelerator backend, written once.

- **varints**: minimal unsigned LEB128, 7 bits a byte, least significant group
  first, high bit set on every byte but the last; at most 10 bytes (64 bits).
  :func:`varint_len`, :func:`put_varint`, :func:`put_varints` write them;
  :func:`read_varint` reads one and names what is wrong with a bad one (too
  long, not minimal, above 64 bits, truncated).
- **zigzag**: signed 64-bit integers to unsigned codes, 0, -1, 1, -2, ... ->
  0, 1, 2, 3, ...: :func:`zigzag` / :func:`unzigzag` inside kernels (on uint64
  bits), :func:`zigzag_int` / :func:`unzigzag_int` for header integers in
  Python.
- **bit length**: :func:`bit_length`, bits needed for an unsigned value (0 for 0).
- **hashes**: 64-bit FNV-1a (offset 0xCBF29CE484222325, prime 0x100000001B3),
  over a byte span (:func:`fnv1a64`) or one byte at a time
  (:func:`fnv1a64_step`, for callers that hash transformed bytes).
- **histograms**: :func:`byte_histogram` of a byte array and
  :func:`spans_byte_histogram` of many spans.
- **span tables**: open addressing with linear probing over byte spans keyed
  by their FNV-1a 64 hash (:func:`table_slot` spreads the hash), at most half
  full, keys compared byte for byte so a hash collision never merges two
  keys: :func:`build_span_table`, :func:`find_span`; and the same over bare
  64-bit hashes: :func:`build_hash_table`, :func:`find_hash`. The accelerator
  kernels (``accel/kernels/dictionary.cl``) probe the same layout.
- **short copies**: :func:`copy_chunks` copies a byte span in whole 16-byte
  moves, for decoders that rebuild output from many short pieces (words,
  tags, strings): a byte loop (which LLVM cannot vectorize, as it cannot rule
  out that the arrays overlap) cost ~4x as much per piece of 1-15 bytes
  (measured: 9.5 against 2.4 ns). :func:`copy_to_nul` copies up to a NUL
  terminator 16 bytes at a time (the NUL found with the zero-byte test, per 8 bytes,
  ``(v - 0x01..01) & ~v & 0x80..80``). The caller keeps COPY_SLACK spare bytes
  after both arrays.
- **prefetch**: :func:`prefetch` hints the cache line of an array element
  that a loop will read a few iterations on (a field's bytes, found through
  a span table, in a block read column by column).

The small ones are ``inline="always"``: they sit in the hot loops of their
callers, and a call per element would cost more than the work.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from llvmlite import ir
from numba.core import cgutils
from numba.cpython.unsafe.numbers import leading_zeros, trailing_zeros
from numba.extending import intrinsic

from ..registry import OUTPUT_SLACK

_U64_MASK = (1 << 64) - 1

#: njit options of kernels that allocate no arrays: Numba's reference counting
#: (NRT) off. With it on, every array handed to a helper, even an inlined one,
#: costs an atomic incref and decref where Numba cannot prove them redundant
#: (branchy loops); in the markup tokenizer, emitter and decoder that was most
#: of the time per token (tokenizer 1.7x, decoder ~1.3x faster without). Such
#: a kernel cannot allocate (np.empty fails to compile): its callers pass the
#: scratch arrays in. (``_nrt`` is Numba's own option; entropy_ppmd uses it too.)
NO_NRT = {"_nrt": False}

# ---------------------------------------------------------------- varints

#: read_varint's error kinds (0 = ok)
VARINT_OK, VARINT_TOO_LONG, VARINT_NOT_MINIMAL, VARINT_ABOVE_64_BITS, VARINT_TRUNCATED = 0, 1, 2, 3, 4


@njit(cache=True, nogil=True, inline="always")
def varint_len(u):
    """Bytes of the minimal varint of the unsigned value ``u`` (1 to 10)."""
    n = 1
    while u >= np.uint64(0x80):
        u >>= np.uint64(7)
        n += 1
    return n


@njit(cache=True, nogil=True, inline="always")
def put_varint(buf, p, u):
    """Write the minimal varint of ``u`` (uint64) at ``buf[p:]``; returns the position after it."""
    while u >= np.uint64(0x80):
        buf[p] = np.uint8((u & np.uint64(0x7F)) | np.uint64(0x80))
        u >>= np.uint64(7)
        p += 1
    buf[p] = np.uint8(u)
    return p + 1


@njit(cache=True, nogil=True)
def put_varints(values, out, p):
    """Write the varints of a uint64 array at ``out[p:]`` (room for 10 bytes a
    value, or the exact total of :func:`varint_len`); returns the end position."""
    for i in range(values.size):
        p = put_varint(out, p, values[i])
    return p


@njit(cache=True, nogil=True, inline="always")
def read_varint(buf, p, end):
    """Read one varint at ``buf[p:end]``: returns (value uint64, position after
    it, error kind). On an error the value is 0 and the position is the
    varint's start; kinds: VARINT_TOO_LONG (a tenth byte that is not the last), VARINT_NOT_MINIMAL (a last byte of 0 after the first),
    VARINT_ABOVE_64_BITS (a tenth byte above 1), VARINT_TRUNCATED (``end``
    reached before the last byte)."""
    # This loop shape (the tenth-byte test before the accumulate, a while loop)
    # measured 4x faster in callers' loops than a `for k in range(10)` form
    # with the same checks (LLVM keeps it tight after inlining).
    start = p
    v = np.uint64(0)
    shift = np.uint64(0)
    while True:
        if p >= end:
            return np.uint64(0), start, VARINT_TRUNCATED
        b = buf[p]
        p += 1
        if p - start == 10 and b > 1:
            return np.uint64(0), start, VARINT_TOO_LONG if b >= 0x80 else VARINT_ABOVE_64_BITS
        v |= np.uint64(b & 0x7F) << shift
        if b < 0x80:
            if p - start > 1 and b == 0:
                return np.uint64(0), start, VARINT_NOT_MINIMAL
            return v, p, VARINT_OK
        shift += np.uint64(7)


# ---------------------------------------------------------------- zigzag and bit length


@njit(cache=True, nogil=True, inline="always")
def zigzag(d):
    """A signed value (as uint64 bits) -> its unsigned zigzag code."""
    return (d << np.uint64(1)) ^ (np.uint64(0) - (d >> np.uint64(63)))


@njit(cache=True, nogil=True, inline="always")
def unzigzag(z):
    """A zigzag code -> the signed value as uint64 bits."""
    return (z >> np.uint64(1)) ^ (np.uint64(0) - (z & np.uint64(1)))


def zigzag_int(v: int) -> int:
    """:func:`zigzag` for a Python int in the signed or unsigned 64-bit range (header fields)."""
    v &= _U64_MASK
    return ((v << 1) & _U64_MASK) ^ (_U64_MASK if v >> 63 else 0)


def unzigzag_int(z: int) -> int:
    """Inverse of :func:`zigzag_int`: a signed Python int."""
    v = (z >> 1) ^ (-(z & 1) & _U64_MASK)
    return v - (1 << 64) if v >> 63 else v


@njit(cache=True, nogil=True, inline="always")
def bit_length(u):
    """Bits needed for the unsigned 64-bit value ``u`` (0 for 0)."""
    return 64 - leading_zeros(u)


# ---------------------------------------------------------------- FNV-1a 64

FNV64_OFFSET = np.uint64(0xCBF29CE484222325)
FNV64_PRIME = np.uint64(0x100000001B3)


@njit(cache=True, nogil=True, inline="always")
def fnv1a64_step(h, byte):
    """One FNV-1a 64 step: the hash ``h`` extended by ``byte`` (any value below 2**64)."""
    return (h ^ np.uint64(byte)) * FNV64_PRIME


@njit(cache=True, nogil=True, inline="always")
def fnv1a64(buf, s, e):
    """FNV-1a 64 of ``buf[s:e]``."""
    h = FNV64_OFFSET
    for k in range(s, e):
        h = (h ^ np.uint64(buf[k])) * FNV64_PRIME
    return h


# ---------------------------------------------------------------- byte histograms


@njit(cache=True, nogil=True)
def byte_histogram(data):
    """Counts (int64[256]) of each byte value in the uint8 array ``data``
    (callers pass a slice for a part: it measured 20% faster than passing
    bounds, 8 MiB in 3.5 ms against 4.3 ms)."""
    # four sub-histograms break the store-to-load dependency on runs of one byte
    h = np.zeros((4, 256), np.int64)
    n = data.size
    i = 0
    while i + 4 <= n:
        h[0, data[i]] += 1
        h[1, data[i + 1]] += 1
        h[2, data[i + 2]] += 1
        h[3, data[i + 3]] += 1
        i += 4
    while i < n:
        h[0, data[i]] += 1
        i += 1
    out = np.empty(256, np.int64)
    for k in range(256):
        out[k] = h[0, k] + h[1, k] + h[2, k] + h[3, k]
    return out


@njit(cache=True, nogil=True)
def spans_byte_histogram(data, starts, ends):
    """Counts (int64[256]) of each byte value over all spans ``data[starts[i]:ends[i]]``."""
    h = np.zeros(256, np.int64)
    for i in range(starts.shape[0]):
        for x in range(starts[i], ends[i]):
            h[data[x]] += 1
    return h


# ---------------------------------------------------------------- span tables


@njit(cache=True, nogil=True, inline="always")
def table_slot(h, mask):
    """The home slot of hash ``h`` in a table of ``mask + 1`` slots (a power of two)."""
    x = h * np.uint64(0x9E3779B97F4A7C15)
    return (x ^ (x >> np.uint64(32))) & mask


@njit(cache=True, nogil=True, inline="always")
def spans_equal(a, sa, ea, b, sb, eb):
    """``a[sa:ea] == b[sb:eb]``, byte for byte. The four bounds must share one
    integer type (mixing int64 and uint64 makes float indices in Numba)."""
    if ea - sa != eb - sb:
        return False
    for k in range(ea - sa):
        if a[sa + k] != b[sb + k]:
            return False
    return True


@njit(cache=True, nogil=True)
def table_capacity(n):
    """Slots for ``n`` keys: a power of two, at least 16, at most half full."""
    cap = 16
    while cap < 2 * n:
        cap *= 2
    return cap


@njit(cache=True, nogil=True)
def unique_hashes(h):
    """Group equal uint64 hashes in one pass (open addressing).

    Returns (ids, first, counts): ``ids[i]`` numbers the distinct values in
    order of first appearance, ``first[k]`` is where value k first appears and
    ``counts[k]`` how often it does: ``np.unique(h, return_index=True,
    return_inverse=True, return_counts=True)`` less the values and numbered by
    first use instead of by value, without the sort (2-3 ms on the 44,000
    template hashes of a 4 MB log). Zero is a value like any other (the empty
    slot's marker, so it is counted beside the table).

    The table starts small and doubles when half full: a text of a million
    words holds some tens of thousands of distinct ones, and a table sized for
    the million (32 MB) missed the cache on every probe (the kernel took 1.8x
    as long on 8 MB of HTML text)."""
    n = h.size
    size = table_capacity(min(n, 1024))
    mask = np.uint64(size - 1)
    keys = np.zeros(size, np.uint64)
    vals = np.empty(size, np.int64)
    ids = np.empty(n, np.int64)
    first = np.empty(n, np.int64)
    counts = np.zeros(n, np.int64)
    zero_id = -1
    nu = 0
    for i in range(n):
        x = h[i]
        if x == 0:
            if zero_id < 0:
                zero_id = nu
                first[nu] = i
                nu += 1
            v = zero_id
        else:
            slot = table_slot(x, mask)
            while True:
                k = keys[slot]
                if k == x:
                    v = vals[slot]
                    break
                if k == 0:
                    keys[slot] = x
                    vals[slot] = nu
                    first[nu] = i
                    v = nu
                    nu += 1
                    break
                slot = (slot + np.uint64(1)) & mask
        ids[i] = v
        counts[v] += 1
        if 2 * nu > size:
            # rehash into twice the slots (the distinct keys are h[first[:nu]])
            size *= 2
            mask = np.uint64(size - 1)
            keys = np.zeros(size, np.uint64)
            vals = np.empty(size, np.int64)
            for u in range(nu):
                y = h[first[u]]
                if y == 0:
                    continue
                s = table_slot(y, mask)
                while keys[s] != 0:
                    s = (s + np.uint64(1)) & mask
                keys[s] = y
                vals[s] = u
    return ids, first[:nu], counts[:nu]


@njit(cache=True, nogil=True)
def build_span_table(data, starts, ends, cap, max_distinct):
    """Ids of the spans ``data[starts[i]:ends[i]]`` in a table of ``cap`` slots.

    Returns ``(slot_hash, slot_first, ids, first, n_distinct)``: per slot the
    key hash and the index of the first span with that key (-1: empty); per
    span its id, numbered by first appearance; ``first[d]`` the index of the
    first span with id ``d``. ``n_distinct`` is -1 (and the rest unfinished)
    when there are more than ``max_distinct`` distinct keys; ``cap`` must
    exceed ``max_distinct``.
    """
    n = starts.shape[0]
    mask = np.uint64(cap - 1)
    slot_hash = np.zeros(cap, np.uint64)
    slot_first = np.full(cap, -1, np.int64)
    first = np.empty(max_distinct + 1, np.int64)
    ids = np.empty(n, np.int64)
    nd = 0
    for i in range(n):
        if i + 16 < n:
            # (spans of a column are one per row of a block: see prefetch)
            prefetch(data, starts[i + 16])
        s = starts[i]
        e = ends[i]
        h = fnv1a64(data, s, e)
        slot = table_slot(h, mask)
        while True:
            j = slot_first[slot]
            if j < 0:
                if nd >= max_distinct:
                    return slot_hash, slot_first, ids, first, -1
                slot_first[slot] = i
                slot_hash[slot] = h
                first[nd] = i
                ids[i] = nd
                nd += 1
                break
            if slot_hash[slot] == h and spans_equal(data, s, e, data, starts[j], ends[j]):
                ids[i] = ids[j]
                break
            slot = (slot + np.uint64(1)) & mask
    return slot_hash, slot_first, ids, first, nd


@njit(cache=True, nogil=True, inline="always")
def find_span(buf, s, e, slot_hash, slot_key, key_data, key_off, mask):
    """The key index (``slot_key``'s entry) of ``buf[s:e]`` in a span table
    whose key ``j`` is ``key_data[key_off[j]:key_off[j + 1]]``, or -1."""
    h = fnv1a64(buf, s, e)
    slot = table_slot(h, mask)
    for _ in range(np.int64(mask) + 1):
        j = slot_key[slot]
        if j < 0:
            return -1
        if slot_hash[slot] == h and spans_equal(key_data, key_off[j], key_off[j + 1], buf, s, e):
            return j
        slot = (slot + np.uint64(1)) & mask
    return -1


@njit(cache=True, nogil=True)
def build_hash_table(hashes, cap):
    """A table of 64-bit hashes (id = position): returns (slot_hash, slot_id,
    index of the first repeated hash or -1)."""
    mask = np.uint64(cap - 1)
    slot_hash = np.zeros(cap, np.uint64)
    slot_id = np.full(cap, -1, np.int32)
    for i in range(hashes.size):
        h = hashes[i]
        s = table_slot(h, mask)
        while True:
            j = slot_id[s]
            if j < 0:
                slot_id[s] = i
                slot_hash[s] = h
                break
            if slot_hash[s] == h:
                return slot_hash, slot_id, i
            s = (s + np.uint64(1)) & mask
    return slot_hash, slot_id, -1


@njit(cache=True, nogil=True, inline="always")
def find_hash(h, slot_hash, slot_id, mask):
    """The id of hash ``h`` in a :func:`build_hash_table` table, or -1."""
    slot = table_slot(h, mask)
    for _ in range(np.int64(mask) + 1):
        j = slot_id[slot]
        if j < 0:
            return -1
        if slot_hash[slot] == h:
            return j
        slot = (slot + np.uint64(1)) & mask
    return -1


# ---------------------------------------------------------------- short copies

#: spare bytes :func:`copy_chunks` needs after its source and destination spans
#: (the engine's output buffers keep as many: registry.OUTPUT_SLACK)
COPY_SLACK = OUTPUT_SLACK


def _is_byte_array(t) -> bool:
    return isinstance(t, types.Array) and t.dtype == types.uint8 and t.layout == "C"


@intrinsic
def _memmove(typingctx, dst, doff, src, soff, n):
    """memmove(dst + doff, src + soff, n) on C-contiguous uint8 arrays, no
    bounds check; a constant ``n`` compiles to a few vector moves."""
    if not (_is_byte_array(dst) and _is_byte_array(src) and all(isinstance(t, types.Integer)
                                                                for t in (doff, soff, n))):
        return None
    sig = types.void(dst, doff, src, soff, n)

    def codegen(context, builder, signature, args):
        d, do, s, so, k = args
        da = context.make_array(signature.args[0])(context, builder, d)
        sa = context.make_array(signature.args[2])(context, builder, s)
        do = context.cast(builder, do, signature.args[1], types.intp)
        so = context.cast(builder, so, signature.args[3], types.intp)
        k = context.cast(builder, k, signature.args[4], types.intp)
        cgutils.raw_memmove(builder, builder.gep(da.data, [do]), builder.gep(sa.data, [so]), k, 1)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def prefetch(typingctx, arr, off):
    """A hint to bring the cache line of ``arr[off]`` (a C-contiguous 1-D
    array) in for reading; no bounds check is needed (a prefetch never
    faults, whatever the address) and nothing is read. For kernels that visit
    a byte span per element at addresses known ahead (a column's fields, read
    column by column from the row-major block: on an 8 MB block each field
    was a cache miss, and parsing the numbers took 1.7x as long without it)."""
    if not (isinstance(arr, types.Array) and arr.ndim == 1 and arr.layout == "C"
            and isinstance(off, types.Integer)):
        return None
    sig = types.void(arr, off)

    def codegen(context, builder, signature, args):
        a, o = args
        aa = context.make_array(signature.args[0])(context, builder, a)
        o = context.cast(builder, o, signature.args[1], types.intp)
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        # (read, high locality, data cache)
        builder.call(fn, [builder.bitcast(builder.gep(aa.data, [o]), i8p), ir.Constant(i32, 0),
                          ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def load_u64(typingctx, src, off):
    """The 8 bytes at src[off:off+8] as a little-endian uint64 (unaligned, no bounds check)."""
    if not (_is_byte_array(src) and isinstance(off, types.Integer)):
        return None
    sig = types.uint64(src, off)

    def codegen(context, builder, signature, args):
        s, so = args
        sa = context.make_array(signature.args[0])(context, builder, s)
        so = context.cast(builder, so, signature.args[1], types.intp)
        ptr = builder.bitcast(builder.gep(sa.data, [so]), context.get_value_type(types.uint64).as_pointer())
        return builder.load(ptr, align=1)

    return sig, codegen



@intrinsic
def store_u64(typingctx, dst, off, v):
    """Write the uint64 ``v`` little-endian to dst[off:off+8] (unaligned, no bounds check)."""
    if not (_is_byte_array(dst) and isinstance(off, types.Integer) and v == types.uint64):
        return None
    sig = types.void(dst, off, v)

    def codegen(context, builder, signature, args):
        d, do, x = args
        da = context.make_array(signature.args[0])(context, builder, d)
        do = context.cast(builder, do, signature.args[1], types.intp)
        ptr = builder.bitcast(builder.gep(da.data, [do]), context.get_value_type(types.uint64).as_pointer())
        builder.store(x, ptr, align=1)
        return context.get_dummy_value()

    return sig, codegen


_ASCII_ZEROS = np.uint64(0x3030303030303030)


@njit(cache=True, nogil=True, inline="always")
def eight_digits(u):
    """The 8 decimal digits of ``u`` < 10**8 (uint64), zero-padded, as ASCII
    in a uint64 whose lowest byte is the first digit (store it little-endian).
    Division-free: 10,000s, then 100s, then 10s split in parallel lanes with
    multiply-shift reciprocals exact below those bounds."""
    hi = u // np.uint64(10000)
    merged = hi | ((u - hi * np.uint64(10000)) << np.uint64(32))
    top = ((merged * np.uint64(10486)) >> np.uint64(20)) & np.uint64(0x0000007F0000007F)  # lane // 100
    hundreds = ((merged - top * np.uint64(100)) << np.uint64(16)) + top  # [top, rest] per 32-bit lane
    tens = ((hundreds * np.uint64(103)) >> np.uint64(10)) & np.uint64(0x000F000F000F000F)  # lane // 10
    tens += (hundreds - tens * np.uint64(10)) << np.uint64(8)
    return tens + _ASCII_ZEROS


_LOW_BITS = np.uint64(0x0101010101010101)
_HIGH_BITS = np.uint64(0x8080808080808080)


@njit(cache=True, nogil=True, inline="always")
def zero_byte_mask(v):
    """0 when no byte of the uint64 ``v`` is zero; else its lowest set bit is
    the high bit of the lowest zero byte (higher bits may be false alarms)."""
    return (v - _LOW_BITS) & ~v & _HIGH_BITS


#: odd multiplier of :func:`hash_span_words` (2**64 / the golden ratio)
_WORD_MUL = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True, nogil=True, inline="always")
def bytes_equal_words(buf, a, b, ln):
    """buf[a:a+ln] == buf[b:b+ln], eight bytes a compare (reads stay inside
    both spans). :func:`spans_equal` compares a byte at a time, across two
    buffers; this one is for hot lookups (JSON keys and repeated subtrees, CSV
    rows) where the spans are tens of bytes."""
    k = np.int64(0)
    while k + 8 <= ln:
        if load_u64(buf, a + k) != load_u64(buf, b + k):
            return False
        k += 8
    while k < ln:
        if buf[a + k] != buf[b + k]:
            return False
        k += 1
    return True


@njit(cache=True, nogil=True, inline="always")
def hash_span_words(h, buf, s, e):
    """The 64-bit hash ``h`` extended by the bytes ``buf[s:e]``: 8 at a time (an
    xor, a multiply and an xor-shift per word), the last 1-7 as FNV-1a steps;
    reads nothing past ``e``. 4-5x faster than :func:`fnv1a64` on spans of
    tens of bytes (one dependent multiply per word instead of per byte). Not
    FNV: for hashes that only group equal spans within one run and are never
    stored (the markup layer's tag skeletons and attribute pairs); equal spans
    hash equally whatever their position."""
    p = s
    while p + 8 <= e:
        h = (h ^ load_u64(buf, p)) * _WORD_MUL
        h ^= h >> np.uint64(29)
        p += 8
    while p < e:
        h = (h ^ np.uint64(buf[p])) * FNV64_PRIME
        p += 1
    return h


@njit(cache=True, nogil=True, inline="always")
def copy_to_nul(out, o, cap, src, p, end):
    """Copy src[p:] up to its next NUL (not included) to out[o:], 16 bytes at
    a time. Returns (position of the NUL, bytes copied): (-1, 0) when no NUL
    comes before ``end``, (0, -1) when the copy would pass out[cap] (the same
    answer, checked in the same order every 8 bytes, as an 8-byte loop's).
    Reads up to 15 bytes past ``end`` and writes up to 15 past ``cap``: both
    arrays keep COPY_SLACK spare bytes."""
    k = 0
    while True:
        if p + k >= end:
            return -1, 0
        if o + k > cap:
            return 0, -1
        v = load_u64(src, p + k)
        w = load_u64(src, p + k + 8)
        _memmove(out, o + k, src, p + k, 16)
        z = zero_byte_mask(v)
        if z == 0:
            k += 8
            if p + k >= end:
                return -1, 0
            if o + k > cap:
                return 0, -1
            z = zero_byte_mask(w)
        if z != 0:
            q = p + k + (trailing_zeros(z) >> 3)
            if q >= end:
                return -1, 0
            if o + (q - p) > cap:
                return 0, -1
            return q, q - p
        k += 8


@njit(cache=True, nogil=True, inline="always")
def copy_chunks(out, o, src, p, ln):
    """out[o:o+ln] = src[p:p+ln] for spans that do not overlap, in 16-byte
    moves: it reads and writes up to COPY_SLACK - 1 bytes past both spans (the
    caller keeps them; what it writes there is overwritten or cut off later).
    Spans over 64 bytes go to one memmove."""
    if ln > 64:
        _memmove(out, o, src, p, ln)
        return
    k = 0
    while k < ln:
        _memmove(out, o + k, src, p + k, 16)
        k += 16


#: ``move_bytes(dst, doff, src, soff, n)``: memmove between uint8 arrays with no
#: bounds check (a constant ``n`` compiles to a few vector moves); the caller
#: keeps both spans inside their arrays
move_bytes = _memmove


def readonly(a: np.ndarray) -> np.ndarray:
    """A read-only view of ``a`` (no copy). Numba compiles a kernel once per
    array type, and a read-only array (``np.frombuffer`` of bytes) is another
    type than a writable one: callers that get either pass this view, so the
    kernel compiles once."""
    if a.flags.writeable:
        a = a.view()
        a.flags.writeable = False
    return a
