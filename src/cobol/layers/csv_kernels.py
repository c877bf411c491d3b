"""Numba kernels behind the CSV column codecs (one job each).

All kernels take the block as ``data`` (uint8) and a column as parallel
``starts``/``ends`` arrays of its field contents (quotes already stripped).
Decode-side kernels get hostile arrays and return an error flag instead of
reading or writing out of bounds.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import trailing_zeros

from .primitives import (
    COPY_SLACK,
    FNV64_OFFSET,
    VARINT_OK,
    bit_length,
    build_span_table,
    bytes_equal_words,
    copy_chunks,
    fnv1a64_step,
    load_u64,
    prefetch,
    put_varint,
    read_varint,
    table_capacity,
    table_slot,
    unzigzag,
    zero_byte_mask,
    zigzag,
)

DIGIT0 = 48
#: unsigned constants of the digit printers
C10 = np.uint64(10)
C100 = np.uint64(100)
MINUS = 45
DOT = 46
#: most decimal digits a value may have to stay exact in int64
MAX_DIGITS = 18
#: encode kernels that read a column's fields (spans of the row-major block,
#: one per row) prefetch the field this many ahead: read column by column, a
#: block larger than the cache missed on every field (number parsing of an
#: 8 MB block 28 -> 16 ms; tmy3's 1.7 MB 4.4 -> 3.8 ms)
SPAN_PREFETCH = 16
#: most digit runs a template value may have
MAX_RUNS = 8

POW10 = np.array([10 ** i for i in range(19)], dtype=np.int64)
#: "00" "01" ... "99": the two digits of 0..99 at 2 * value
DIGIT_PAIRS = np.frombuffer("".join(f"{i:02d}" for i in range(100)).encode(), dtype=np.uint8).copy()



# --------------------------------------------------------------- gathering --

@njit(cache=True, nogil=True)
def span_total(starts, ends):
    t = 0
    for i in range(starts.shape[0]):
        t += ends[i] - starts[i]
    return t


@njit(cache=True, nogil=True)
def gather_joined(data, starts, ends, sep):
    """Concatenate spans, each followed by ``sep`` (``sep < 0``: no separator).

    Spans are copied in 16-byte moves (copy_chunks) where the block has
    COPY_SLACK bytes after them, byte by byte near its end; the result is a
    view of a buffer with that much slack."""
    n = starts.shape[0]
    extra = n if sep >= 0 else 0
    total = span_total(starts, ends) + extra
    out = np.empty(total + COPY_SLACK, np.uint8)
    safe = data.shape[0] - COPY_SLACK
    p = 0
    for i in range(n):
        if i + SPAN_PREFETCH < n:
            prefetch(data, starts[i + SPAN_PREFETCH])
        a = starts[i]
        ln = ends[i] - a
        if ends[i] <= safe:
            copy_chunks(out, p, data, a, ln)
        else:
            for x in range(ln):
                out[p + x] = data[a + x]
        p += ln
        if sep >= 0:
            out[p] = sep
            p += 1
    return out[:total]


@njit(cache=True, nogil=True)
def split_joined(joined, sep, n):
    """The inverse of :func:`gather_joined` (decode side): ``n`` values each
    followed by ``sep`` -> ``(buf, offs, err)``, the values back to back and
    their offsets; err 1 when ``joined`` does not hold exactly ``n`` values
    (the last byte must be a separator). See :func:`split_joined_into`."""
    buf = np.empty(joined.shape[0] + COPY_SLACK, np.uint8)
    offs = np.empty(n + 1, np.int64)
    p, err = split_joined_into(joined, sep, n, buf, offs, 0, 0)
    if err:
        return buf[:0], offs, err
    return buf[:p], offs, 0


@njit(cache=True, nogil=True)
def split_joined_into(joined, sep, n, buf, offs, at, k0):
    """:func:`split_joined` into a shared buffer: the values go to ``buf``
    from ``at`` on, their offsets (positions in ``buf``) to
    ``offs[k0:k0 + n + 1]``. Returns ``(end, err)``: where the values end;
    err 1 as split_joined, 2 when ``buf`` (which must keep COPY_SLACK spare
    bytes) or ``offs`` has no room. One pass: 8 bytes at a time to the next
    separator, then byte by byte, where each byte is copied and the copy of a
    separator is overwritten by the next byte."""
    m = joined.shape[0]
    if at < 0 or k0 < 0 or at + m + COPY_SLACK > buf.shape[0] or k0 + n + 1 > offs.shape[0]:
        return at, 2
    offs[k0] = at
    k = 0
    p = at
    i = 0
    # 8 bytes at a time while 16 are left to read: up to the next separator
    # (the lowest flagged byte is exact), copied by one 16-byte move
    spat = np.uint64(sep & 0xFF) * np.uint64(0x0101010101010101)
    while i + 16 <= m:
        z = zero_byte_mask(load_u64(joined, i) ^ spat)
        if z == 0:
            copy_chunks(buf, p, joined, i, 8)
            p += 8
            i += 8
            continue
        t = np.int64(trailing_zeros(z) >> 3)
        copy_chunks(buf, p, joined, i, t)
        p += t
        i += t + 1
        if k >= n:
            return at, 1
        k += 1
        offs[k0 + k] = p
    while i < m:
        c = joined[i]
        buf[p] = c
        if c == sep:
            if k >= n:
                return at, 1
            k += 1
            offs[k0 + k] = p
        else:
            p += 1
        i += 1
    if k != n or (m and joined[m - 1] != sep):
        return at, 1
    return p, 0


# ---------------------------------------------------------------- varints --

@njit(cache=True, nogil=True)
def zigzag_varints(values):
    """Signed int64 values as zigzag varints (uint8 array), in one pass."""
    out = np.empty(values.shape[0] * 10, np.uint8)
    p = 0
    for i in range(values.shape[0]):
        p = put_varint(out, p, zigzag(np.uint64(values[i])))
    return out[:p]


@njit(cache=True, nogil=True)
def read_varints(buf, pos, count, limit, signed):
    """``count`` varints at ``buf[pos:]`` (zigzag-decoded when ``signed``) ->
    ``(values int64, end, err)``; err 1 on a bad or truncated varint
    (primitives.read_varint's rules), 2 on an unsigned value above ``limit``."""
    out = np.empty(count, np.int64)
    n = buf.shape[0]
    for i in range(count):
        v, q, e = read_varint(buf, pos, n)
        if e != VARINT_OK:
            return out, pos, 1
        if signed:
            out[i] = np.int64(unzigzag(v))
        else:
            if v > np.uint64(limit):
                return out, pos, 2
            out[i] = np.int64(v)
        pos = q
    return out, pos, 0


# -------------------------------------------------------------- dictionary --

@njit(cache=True, nogil=True)
def dict_encode(data, starts, ends, max_distinct):
    """Ids in first-appearance order with exact byte comparison.

    Returns ``(ids, first, n_distinct)``; ``first[d]`` is the index of the first
    value with id ``d``. ``n_distinct == -1`` when there are more than
    ``max_distinct`` distinct values (the caller then stores strings).
    """
    cap = 16
    while cap < 2 * max_distinct + 2:
        cap <<= 1
    _, _, ids, first, nd = build_span_table(data, starts, ends, cap, max_distinct)
    return ids, first, nd


# ---------------------------------------------------------------- decimals --

@njit(cache=True, nogil=True)
def parse_decimals(data, starts, ends):
    """Parse ``-?digits(.digits)?`` spellings.

    Returns ``mant`` (the digits as one int64, signed), ``scale`` (fraction
    digits), ``intlen`` (integer digits as written), ``natlen`` (integer digits
    without leading zeros, at least 1) and ``ok``. Not ok: anything else, more
    than MAX_DIGITS digits, ``-0``/``-0.0``, ``1.``, ``.5``, ``+1``, ``1e3``.
    """
    n = starts.shape[0]
    mant = np.zeros(n, np.int64)
    scale = np.zeros(n, np.int64)
    intlen = np.zeros(n, np.int64)
    natlen = np.zeros(n, np.int64)
    ok = np.zeros(n, np.bool_)
    for i in range(n):
        if i + SPAN_PREFETCH < n:
            prefetch(data, starts[i + SPAN_PREFETCH])
        s = starts[i]
        e = ends[i]
        p = s
        neg = False
        if p < e and data[p] == MINUS:
            neg = True
            p += 1
        q = p
        m = 0
        while q < e and data[q] >= 48 and data[q] <= 57 and q - p <= MAX_DIGITS:
            m = m * 10 + (data[q] - DIGIT0)
            q += 1
        il = q - p
        if il == 0 or il > MAX_DIGITS:
            continue
        z = p
        while z < q - 1 and data[z] == DIGIT0:
            z += 1
        nl = q - z
        sc = 0
        if q < e:
            if data[q] != DOT:
                continue
            q += 1
            f = q
            while q < e and data[q] >= 48 and data[q] <= 57 and q - f + il <= MAX_DIGITS:
                m = m * 10 + (data[q] - DIGIT0)
                q += 1
            sc = q - f
            if sc == 0 or q != e or il + sc > MAX_DIGITS:
                continue
        if neg and m == 0:
            continue
        ok[i] = True
        mant[i] = -m if neg else m
        scale[i] = sc
        intlen[i] = il
        natlen[i] = nl
    return mant, scale, intlen, natlen, ok


@njit(cache=True, nogil=True)
def normalize_decimals(mant, scale, intlen, natlen, ok):
    """Encode side of a NUM column, from :func:`parse_decimals`' arrays in
    three passes (the NumPy masks and gathers they replace were half of the
    column analysis). Returns ``(width, ok, max_scale, vals)``:

    - ``width``: the zero-pad width, the most common written integer length
      among values written with leading zeros (the smallest of equals), else 1;
    - ``ok``: the values kept as numbers: parsed, their integer part written
      in exactly ``max(natlen, width)`` digits, and normalizable
      (``natlen + max_scale <= MAX_DIGITS``, ``max_scale`` taken over the
      values that pass the width test);
    - ``max_scale``: the most fraction digits among the kept values (0 if none);
    - ``vals``: the kept values times ``10**max_scale``, in order.
    """
    n = mant.shape[0]
    hist = np.zeros(MAX_DIGITS + 2, np.int64)
    padded = False
    for i in range(n):
        if ok[i] and intlen[i] > natlen[i]:
            hist[min(intlen[i], MAX_DIGITS + 1)] += 1
            padded = True
    width = 1
    if padded:
        width = 0
        for w in range(hist.shape[0]):
            if hist[w] > hist[width]:
                width = w
    keep = np.empty(n, np.bool_)
    ms = 0
    for i in range(n):
        k = ok[i] and intlen[i] == max(natlen[i], width)
        keep[i] = k
        if k and scale[i] > ms:
            ms = scale[i]
    max_scale = 0
    cnt = 0
    for i in range(n):
        if keep[i]:
            if natlen[i] + ms > MAX_DIGITS:
                keep[i] = False
            else:
                cnt += 1
                if scale[i] > max_scale:
                    max_scale = scale[i]
    vals = np.empty(cnt, np.int64)
    k = 0
    for i in range(n):
        if keep[i]:
            vals[k] = mant[i] * POW10[max_scale - scale[i]]
            k += 1
    return width, keep, max_scale, vals


@njit(cache=True, nogil=True)
def trailing_zeros10(vals, cap):
    """Per value, how many trailing decimal zeros (at most ``cap``; 0 counts as cap)."""
    n = vals.shape[0]
    out = np.empty(n, np.int64)
    for i in range(n):
        v = vals[i]
        if v == 0:
            out[i] = cap
            continue
        t = 0
        while t < cap and v % 10 == 0:
            v //= 10
            t += 1
        out[i] = t
    return out


@njit(cache=True, nogil=True, inline="always")
def _ndigits(a):
    """Decimal digits of a >= 0 (1 for 0 and for negatives; 19 from 10**18
    on): from the bit length, ``floor(log10(2**b))`` is ``b * 1233 >> 12``
    for b < 64, one compare with a power of ten then settles it (a 64-bit
    division per digit was the cost of printing numbers back, then a compare
    per digit)."""
    if a < 10:
        return 1
    t = (bit_length(np.uint64(a)) * 1233) >> 12
    return t + 1 - (1 if a < POW10[t] else 0)


@njit(cache=True, nogil=True, inline="always")
def decimal_layout(v, sc, max_scale, width):
    """How a normalized decimal prints (see :func:`format_decimals_into`):
    ``(a, length)``, ``a`` the digits to print (``|v|`` without the
    ``max_scale - sc`` zeros it carries) and the bytes it takes; length -1
    when the value cannot be printed that way (hostile input): a scale
    outside ``0..max_scale``, ``|v| >= 10**18``, or zeros it does not carry."""
    lim = POW10[18]
    if sc < 0 or sc > max_scale or v <= -lim or v >= lim:
        return np.uint64(0), -1
    a = np.uint64(-v if v < 0 else v)
    sh = max_scale - sc
    if sh:
        # unsigned: one division, without a signed one's sign fixes
        div = np.uint64(POW10[sh])
        quo = a // div
        if quo * div != a:
            return np.uint64(0), -1
        a = quo
    il = max(_ndigits(np.int64(a)) - sc, 1)  # digits of the integer part
    return a, (1 if v < 0 else 0) + max(il, width) + (sc + 1 if sc > 0 else 0)


@njit(cache=True, nogil=True, inline="always")
def put_decimal(buf, start, q, a, sc, neg):
    """Print ``a`` with ``sc`` fraction digits into ``buf[start:q]`` (the span
    :func:`decimal_layout` measured, a minus first when ``neg``), the integer
    part zero-padded to fill it: backwards, two digits per division by 100
    (a constant: a multiply), then the odd one."""
    pairs = DIGIT_PAIRS
    lo = start + (1 if neg else 0)
    if sc > 0:
        kk = sc
        while kk >= 2:
            r = 2 * np.int64(a % C100)
            a //= C100
            buf[q - 1] = pairs[r + 1]
            buf[q - 2] = pairs[r]
            q -= 2
            kk -= 2
        if kk:
            q -= 1
            buf[q] = DIGIT0 + np.int64(a % C10)
            a //= C10
        q -= 1
        buf[q] = DOT
    while q - lo >= 2:  # the integer part, zero-padded to the width
        r = 2 * np.int64(a % C100)
        a //= C100
        buf[q - 1] = pairs[r + 1]
        buf[q - 2] = pairs[r]
        q -= 2
    if q > lo:
        q -= 1
        buf[q] = DIGIT0 + np.int64(a % C10)
    if neg:
        buf[start] = MINUS


#: the most bytes one normalized decimal prints: a sign, 19 integer digits
#: (or the width, at most 19), a dot and 18 fraction digits
DECIMAL_MAX_PRINT = 40


@njit(cache=True, nogil=True)
def format_decimals(vals, scales, max_scale, width, limit, ebuf, eoffs, epos):
    """Print normalized decimals back (decode side), exceptions spliced in:
    :func:`format_decimals_into` a buffer of its own. Returns ``(buf, offs,
    err)``; err 2 when the text would pass ``limit`` bytes (a value may
    print 40 bytes from a few bits of its int stream: the buffer is the
    smaller of that bound and ``limit``, uninitialised, so only the printed
    bytes are touched)."""
    ne = epos.shape[0]
    offs = np.empty(vals.shape[0] + ne + 1, np.int64)
    exc_bytes = max(eoffs[ne] - eoffs[0], 0) if eoffs.shape[0] == ne + 1 else 0
    room = min(vals.shape[0] * DECIMAL_MAX_PRINT + exc_bytes, max(limit, 0))
    buf = np.empty(room + COPY_SLACK, np.uint8)
    end, err = format_decimals_into(vals, scales, max_scale, width, ebuf, eoffs, epos, buf, offs, 0, 0)
    return buf[:end], offs, err


@njit(cache=True, nogil=True)
def format_decimals_into(vals, scales, max_scale, width, ebuf, eoffs, epos, buf, offs, at, k0):
    """Print normalized decimals back (decode side) into a shared buffer.

    ``vals[i]`` holds the value times ``10**max_scale``; it is printed with
    ``scales[i]`` fraction digits (``max_scale`` for every value when
    ``scales`` is empty: a column of one scale needs no array of it) and the
    integer part zero-padded to ``width``. The column has ``vals.size + epos.size`` entries: exception
    ``k`` (``ebuf[eoffs[k]:eoffs[k+1]]``, verbatim text) is entry ``epos[k]``,
    the values fill the others in order (the caller has checked that ``epos``
    increases inside the column). Printing around the exceptions in one pass
    spares a second copy of the column's text to splice them in (most numeric
    columns have one: their header). The text goes to ``buf`` from ``at`` on
    and the entries' offsets (positions in ``buf``) to ``offs[k0:]``.
    Returns ``(end, err)``: where the text ends; err 1 on hostile input, 2
    when ``buf`` (which keeps COPY_SLACK spare bytes past the text) or
    ``offs`` has no room. One pass: each value is measured, checked against
    the room left and printed before the next is read (a measuring pass and
    a printing pass read every value twice and wrote and re-read the
    offsets; on an error the bytes printed so far are garbage the caller
    drops with the block).
    """
    if at < 0 or k0 < 0 or k0 + vals.shape[0] + epos.shape[0] + 1 > offs.shape[0]:
        return at, 2
    nv = vals.shape[0]
    ne = epos.shape[0]
    n = nv + ne
    limit = buf.shape[0] - COPY_SLACK
    if max_scale < 0 or max_scale > 18 or width < 1 or width > 19 or eoffs.shape[0] != ne + 1:
        return at, 1
    const_scale = scales.shape[0] == 0
    if not const_scale and scales.shape[0] != nv:
        return at, 1
    offs[k0] = at
    total = at
    k = 0
    iv = 0
    next_exc = epos[0] if ne else n
    for i in range(n):
        if i == next_exc:
            ea = eoffs[k]
            ln = eoffs[k + 1] - ea
            if ln < 0 or total + ln > limit:
                return at, 2 if ln >= 0 else 1
            for t in range(ln):
                buf[total + t] = ebuf[ea + t]
            total += ln
            k += 1
            next_exc = epos[k] if k < ne else n
            offs[k0 + i + 1] = total
            continue
        v = vals[iv]
        sc = max_scale if const_scale else scales[iv]
        iv += 1
        a, ln = decimal_layout(v, sc, max_scale, width)
        if ln < 0:
            return at, 1
        q = total + ln
        if q > limit:
            return at, 2
        put_decimal(buf, total, q, a, sc, v < 0)
        total = q
        offs[k0 + i + 1] = q
    if iv != nv or k != ne:
        return at, 1
    return total, 0


# --------------------------------------------------------------- templates --

@njit(cache=True, nogil=True)
def skeleton_hashes(data, starts, ends):
    """Hash of each value's non-digit skeleton (digit runs collapsed to one mark).

    Values with more than MAX_RUNS digit runs, or with a run longer than
    MAX_DIGITS, hash to 0 (never a template).
    """
    n = starts.shape[0]
    out = np.empty(n, np.uint64)
    for i in range(n):
        if i + SPAN_PREFETCH < n:
            prefetch(data, starts[i + SPAN_PREFETCH])
        h = FNV64_OFFSET
        runs = 0
        x = starts[i]
        e = ends[i]
        bad = False
        while x < e:
            c = data[x]
            if c >= 48 and c <= 57:
                y = x
                while y < e and data[y] >= 48 and data[y] <= 57:
                    y += 1
                if y - x > MAX_DIGITS:
                    bad = True
                    break
                runs += 1
                h = fnv1a64_step(h, 0x1FF)  # one mark per digit run
                x = y
            else:
                h = fnv1a64_step(h, c)
                x += 1
        if bad or runs > MAX_RUNS or runs == 0:
            out[i] = 0
        else:
            out[i] = h | np.uint64(1)
    return out


@njit(cache=True, nogil=True)
def modal_hash(h):
    """The most common nonzero value of ``h`` (ties: the smallest, as a sort
    by value finds it), the index of its first occurrence and its count;
    ``(0, -1, 0)`` when every value is 0. One pass over an open-addressing table instead of
    sorting the column (``np.unique`` was a fifth of CSV encoding on text
    tables)."""
    n = h.shape[0]
    size = table_capacity(n)
    mask = np.uint64(size - 1)
    keys = np.zeros(size, np.uint64)
    counts = np.zeros(size, np.int64)
    firsts = np.zeros(size, np.int64)
    best_h = np.uint64(0)
    best_c = 0
    best_i = -1
    for i in range(n):
        v = h[i]
        if v == 0:
            continue
        slot = table_slot(v, mask)
        while keys[slot] != 0 and keys[slot] != v:
            slot = (slot + np.uint64(1)) & mask
        if keys[slot] == 0:
            keys[slot] = v
            firsts[slot] = i
        counts[slot] += 1
        c = counts[slot]
        if c > best_c or (c == best_c and v < best_h):
            best_c = c
            best_h = v
            best_i = firsts[slot]
    return best_h, best_i, best_c


@njit(cache=True, nogil=True)
def template_extract(data, starts, ends, lits, lit_offs):
    """Match each value against literal pieces ``lits[lit_offs[j]:lit_offs[j+1]]``
    (k+1 pieces around k digit runs); extract the runs.

    Returns ``vals (n,k)``, ``lens (n,k)`` (digits as written), ``natl (n,k)``
    (without leading zeros, at least 1) and ``ok (n)``.
    """
    n = starts.shape[0]
    k = lit_offs.shape[0] - 2
    vals = np.zeros((n, k), np.int64)
    lens = np.zeros((n, k), np.int64)
    natl = np.zeros((n, k), np.int64)
    ok = np.zeros(n, np.bool_)
    for i in range(n):
        if i + SPAN_PREFETCH < n:
            prefetch(data, starts[i + SPAN_PREFETCH])
        x = starts[i]
        e = ends[i]
        good = True
        for j in range(k + 1):
            a = lit_offs[j]
            b = lit_offs[j + 1]
            if x + (b - a) > e:
                good = False
                break
            for t in range(b - a):
                if data[x + t] != lits[a + t]:
                    good = False
                    break
            if not good:
                break
            x += b - a
            if j == k:
                break
            y = x
            m = 0
            while y < e and data[y] >= 48 and data[y] <= 57 and y - x < MAX_DIGITS:
                m = m * 10 + (data[y] - DIGIT0)
                y += 1
            if y == x or (y < e and data[y] >= 48 and data[y] <= 57):
                good = False
                break
            z = x
            while z < y - 1 and data[z] == DIGIT0:
                z += 1
            vals[i, j] = m
            lens[i, j] = y - x
            natl[i, j] = y - z
            x = y
        if good and x == e:
            ok[i] = True
    return vals, lens, natl, ok


@njit(cache=True, nogil=True)
def format_template(vals, widths, lits, lit_offs, limit):
    """Print template values back (decode side); returns ``(buf, offs, err)``,
    err 1 on a value out of range, 2 when the text would pass ``limit`` bytes
    (checked before the buffer is allocated)."""
    n = vals.shape[0]
    k = vals.shape[1]
    offs = np.empty(n + 1, np.int64)
    offs[0] = 0
    lim = POW10[18]
    litlen = lit_offs[k + 1] - lit_offs[0]
    total = 0
    for i in range(n):
        ln = litlen
        for j in range(k):
            v = vals[i, j]
            if v < 0 or v >= lim:
                return np.empty(0, np.uint8), offs, 1
            ln += max(_ndigits(v), widths[j])
        total += ln
        if total > limit:
            return np.empty(0, np.uint8), offs, 2
        offs[i + 1] = total
    buf = np.empty(total, np.uint8)
    for i in range(n):
        p = offs[i]
        for j in range(k + 1):
            for t in range(lit_offs[j], lit_offs[j + 1]):
                buf[p] = lits[t]
                p += 1
            if j == k:
                break
            v = vals[i, j]
            w = max(_ndigits(v), widths[j])
            u = np.uint64(v)  # checked 0 <= v above; unsigned division by 10 is a multiply
            for t in range(w - 1, -1, -1):
                buf[p + t] = DIGIT0 + np.int64(u % C10)
                u //= C10
            p += w
    return buf, offs, 0


@njit(cache=True, nogil=True)
def format_template_into(vals, widths, lits, lit_offs, ebuf, eoffs, epos, buf, offs, at, k0):
    """:func:`format_template` into a shared buffer, its exceptions spliced
    in (as :func:`format_decimals_into` does for numbers): the column has
    ``vals.shape[0] + epos.size`` entries, exception ``x``
    (``ebuf[eoffs[x]:eoffs[x+1]]``) being entry ``epos[x]`` (the caller has
    checked that ``epos`` increases inside the column). The text goes to
    ``buf`` from ``at`` on, the entries' offsets to ``offs[k0:]``; printing a
    column into a buffer of its own, splicing its header in and copying it
    to the shared one wrote its text three times. Returns ``(end, err)``:
    err 1 on a value out of range or bad arguments, 2 when ``buf`` (which
    keeps COPY_SLACK spare bytes) or ``offs`` has no room."""
    nv = vals.shape[0]
    k = vals.shape[1]
    ne = epos.shape[0]
    n = nv + ne
    if at < 0 or k0 < 0 or k0 + n + 1 > offs.shape[0]:
        return at, 2
    if eoffs.shape[0] != ne + 1 or widths.shape[0] != k or lit_offs.shape[0] != k + 2:
        return at, 1
    limit = buf.shape[0] - COPY_SLACK
    lim = POW10[18]
    litlen = lit_offs[k + 1] - lit_offs[0]
    offs[k0] = at
    total = at
    x = 0
    iv = 0
    next_exc = epos[0] if ne else n
    for i in range(n):
        if i == next_exc:
            ea = eoffs[x]
            ln = eoffs[x + 1] - ea
            if ln < 0:
                return at, 1
            if total + ln > limit:
                return at, 2
            for t in range(ln):
                buf[total + t] = ebuf[ea + t]
            total += ln
            x += 1
            next_exc = epos[x] if x < ne else n
            offs[k0 + i + 1] = total
            continue
        if iv >= nv:
            return at, 1
        ln = litlen
        for j in range(k):
            v = vals[iv, j]
            if v < 0 or v >= lim:
                return at, 1
            ln += max(_ndigits(v), widths[j])
        if total + ln > limit:
            return at, 2
        p = total
        for j in range(k + 1):
            for t in range(lit_offs[j], lit_offs[j + 1]):
                buf[p] = lits[t]
                p += 1
            if j == k:
                break
            v = vals[iv, j]
            w = max(_ndigits(v), widths[j])
            u = np.uint64(v)  # checked 0 <= v above; unsigned division by 10 is a multiply
            for t in range(w - 1, -1, -1):
                buf[p + t] = DIGIT0 + np.int64(u % C10)
                u //= C10
            p += w
        total = p
        iv += 1
        offs[k0 + i + 1] = total
    if iv != nv or x != ne:
        return at, 1
    return total, 0


# ------------------------------------------------------------ decode glue --

@njit(cache=True, nogil=True)
def gather_entries(ebuf, eoffs, ids):
    """Dictionary decode: concatenate entries ``ids`` (validated by the caller)."""
    n = ids.shape[0]
    offs = np.empty(n + 1, np.int64)
    offs[0] = 0
    for i in range(n):
        d = ids[i]
        offs[i + 1] = offs[i] + eoffs[d + 1] - eoffs[d]
    buf = np.empty(offs[n], np.uint8)
    for i in range(n):
        d = ids[i]
        a = eoffs[d]
        p = offs[i]
        for t in range(eoffs[d + 1] - a):
            buf[p + t] = ebuf[a + t]
    return buf, offs


@njit(cache=True, nogil=True)
def drop_positions(a, pos):
    """``a`` without its items at ``pos`` (increasing, inside ``a``: checked
    by the caller), in order: a numeric column's values without its
    exceptions, in one pass (no boolean mask to make, invert and apply)."""
    n = a.shape[0]
    m = pos.shape[0]
    out = np.empty(n - m, a.dtype)
    k = 0
    j = 0
    for i in range(n):
        if k < m and pos[k] == i:
            k += 1
            continue
        out[j] = a[i]
        j += 1
    return out


@njit(cache=True, nogil=True)
def spread_around(vals, pos, n):
    """``n`` int64 items: 0 at ``pos`` (increasing, inside ``n``: checked by
    the caller), ``vals`` in order at the others (``vals.size == n -
    pos.size``): a numeric column's values in their rows around its
    exceptions."""
    out = np.empty(n, np.int64)
    m = pos.shape[0]
    k = 0
    j = 0
    for i in range(n):
        if k < m and pos[k] == i:
            out[i] = 0
            k += 1
        else:
            out[i] = vals[j]
            j += 1
    return out


@njit(cache=True, nogil=True)
def splice_entries(buf, offs, ebuf, eoffs, pos):
    """Values and exceptions as one column in order (decode side): exception
    ``k`` (``ebuf[eoffs[k]:eoffs[k+1]]``) goes to position ``pos[k]``, the
    values fill the other positions in order. Returns ``(buf, offs)``. The
    values between two exceptions are copied as one run, so a column whose
    only exception is its header row costs one copy of its text; the column
    then needs no entry table in the row assembler.

    The caller has checked ``pos`` (increasing, inside the column) and that
    the counts add up; ``offs`` and ``eoffs`` start at 0 and do not decrease.
    """
    na = offs.shape[0] - 1
    ne = eoffs.shape[0] - 1
    n = na + ne
    out = np.empty(offs[na] + eoffs[ne], np.uint8)
    o = np.empty(n + 1, np.int64)
    p = 0
    ia = 0
    i = 0
    for k in range(ne + 1):
        stop = pos[k] if k < ne else n
        cnt = stop - i
        a = offs[ia]
        b = offs[ia + cnt]
        shift = p - a
        for t in range(cnt):
            o[i + t] = offs[ia + t] + shift
        out[p:p + (b - a)] = buf[a:b]
        p += b - a
        ia += cnt
        i = stop
        if k < ne:
            o[i] = p
            ea = eoffs[k]
            eb = eoffs[k + 1]
            out[p:p + (eb - ea)] = ebuf[ea:eb]
            p += eb - ea
            i += 1
    o[n] = p
    return out, o


# ------------------------------------------------------- float32 decimals --
# Tables written by C's printf("%.6f", (float)x) (and numpy.savetxt of float32
# arrays) carry float32 noise in their last digits: 1438.359985 is float32(1438.36).
# Such a value is stored as the shortest decimal that rounds to the same float32
# (143836 with 2 decimals) and printed back through float32 -> %.Nf rounding.
# Only exact paths are used: a float32 times 10**s (s <= 12) is exact in float64,
# so rint() rounds the exact binary value, as printf does.

F32_MAX_P = 12
TWO53 = 2.0 ** 53
POW10F = np.array([10.0 ** i for i in range(23)], dtype=np.float64)


@njit(cache=True, nogil=True)
def f32_shortest(mant, scale, ok):
    """Per value: the shortest decimal ``d / 10**p`` with the same float32 as the text.

    Returns ``(d, p, fok)``; ``fok`` is False where the value is not a float32
    printed with its scale (or is out of the exact range).
    """
    n = mant.shape[0]
    d_out = np.zeros(n, np.int64)
    p_out = np.zeros(n, np.int64)
    fok = np.zeros(n, np.bool_)
    for i in range(n):
        if not ok[i]:
            continue
        m = mant[i]
        s = scale[i]
        if s > F32_MAX_P or abs(m) >= TWO53:
            continue
        f = np.float32(m / POW10F[s])
        ff = np.float64(f)
        if not np.isfinite(ff) or abs(ff) * POW10F[s] >= 1e18:
            continue
        if np.rint(ff * POW10F[s]) != m:
            continue
        for p in range(F32_MAX_P + 1):
            d = np.rint(ff * POW10F[p])
            if abs(d) >= TWO53:
                break
            if np.float32(d / POW10F[p]) == f:
                d_out[i] = np.int64(d)
                p_out[i] = p
                fok[i] = True
                break
    return d_out, p_out, fok


@njit(cache=True, nogil=True)
def f32_to_scaled(dn, big_p, scales, max_scale):
    """Decode side: shortest decimals normalized to ``big_p`` decimals -> the printed
    values normalized to ``max_scale`` (as format_decimals wants). Returns ``(vals, err)``.
    """
    n = dn.shape[0]
    out = np.zeros(n, np.int64)
    if big_p > F32_MAX_P or max_scale > F32_MAX_P:
        return out, 1
    for i in range(n):
        v = dn[i]
        s = scales[i]
        if s < 0 or s > max_scale or abs(v) >= np.int64(TWO53):
            return out, 1
        tz = 0
        if v == 0:
            tz = big_p
        else:
            while tz < big_p and v % 10 == 0:
                v //= 10
                tz += 1
        p = big_p - tz
        f = np.float32(np.float64(v) / POW10F[p])
        y = np.float64(f) * POW10F[max_scale]
        if not np.isfinite(y) or abs(y) >= 1e18:
            return out, 1
        m = np.int64(np.rint(np.float64(f) * POW10F[s]))
        out[i] = m * POW10[max_scale - s]
    return out, 0


@njit(cache=True, nogil=True)
def f32_screen(mant, scale, ok, max_scale, slices, k):
    """The float32 test of csv_columns.NumPlan on ``slices`` runs of ``k``
    fields spread over a column (a sample; ``slices`` >= 2, ``k`` <= the
    column's length), in one call. Returns ``(kept, float32s, float32 bits,
    decimal bits)``: the kept values (``ok``) in the sample, those that are
    float32s printed with their scale, the delta bits (log2(1 + |step|)
    summed, as NumPlan's _delta_bits) of the float32s that print back to the
    same text (each run's shortest decimals at the run's largest precision)
    and of the kept values normalized to ``max_scale``."""
    n = mant.shape[0]
    n_ok = 0
    n_fok = 0
    fbits = 0.0
    dbits = 0.0
    for i in range(slices):
        a = i * (n - k) // (slices - 1)
        m_s = mant[a:a + k]
        s_s = scale[a:a + k]
        o_s = ok[a:a + k]
        d, p, fok = f32_shortest(m_s, s_s, o_s)
        big_p = 0
        nf = 0
        have = False
        prev = np.int64(0)
        for j in range(k):
            if o_s[j]:
                n_ok += 1
                v = m_s[j] * POW10[max_scale - s_s[j]]
                if have:
                    dbits += np.log2(1.0 + abs(np.float64(v - prev)))
                prev = v
                have = True
            if fok[j]:
                nf += 1
                if p[j] > big_p:
                    big_p = p[j]
        n_fok += nf
        if nf == 0:
            continue
        dn = np.empty(nf, np.int64)
        sc = np.empty(nf, np.int64)
        mm = np.empty(nf, np.int64)
        f = 0
        for j in range(k):
            if fok[j]:
                dn[f] = d[j] * POW10[big_p - p[j]]
                sc[f] = s_s[j]
                mm[f] = m_s[j]
                f += 1
        back, err = f32_to_scaled(dn, big_p, sc, max_scale)
        if err:
            continue
        have = False
        for f in range(nf):
            if back[f] == mm[f] * POW10[max_scale - sc[f]]:
                if have:
                    fbits += np.log2(1.0 + abs(np.float64(dn[f] - prev)))
                prev = dn[f]
                have = True
    return n_ok, n_fok, fbits, dbits


# ------------------------------------------------------------ row matches --

#: multiplier of span_hashes' word mixing (the 64-bit golden ratio)
_WORD_MIX = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True, nogil=True)
def span_hashes(data, starts, ends):
    """A 64-bit hash of each span, 8 bytes per step (unaligned loads where 8
    bytes are left in ``data``, else byte by byte) and the length mixed in.
    Row matches compare fields by these hashes alone, so any good mix does;
    FNV-1a's multiply per byte was half of the row match search."""
    n = starts.shape[0]
    size = data.shape[0]
    out = np.empty(n, np.uint64)
    for i in range(n):
        s = starts[i]
        e = ends[i]
        h = np.uint64(e - s) * _WORD_MIX
        p = s
        while p + 8 <= e:
            h = (h ^ load_u64(data, p)) * _WORD_MIX
            h ^= h >> np.uint64(29)
            p += 8
        if p < e:
            k = e - p
            if p + 8 <= size:
                w = load_u64(data, p) & ((np.uint64(1) << np.uint64(8 * k)) - np.uint64(1))
            else:
                w = np.uint64(0)
                for x in range(k):
                    w |= np.uint64(data[p + x]) << np.uint64(8 * x)
            h = (h ^ w) * _WORD_MIX
            h ^= h >> np.uint64(29)
        out[i] = h
    return out


#: rows per tile of :func:`row_matches`: a tile's hashes and the window
#: before it, column by column (26 columns: ~216 KB), and its counts stay in
#: L2 while every column adds to them
ROW_MATCH_TILE = 1024


@njit(cache=True, nogil=True)
def row_matches(data, starts, ends, hashes, nrows, ncols, window, min_equal):
    """For a regular table (field ``r * ncols + c``), pick per row the earlier row
    within ``window`` that has the most fields byte-equal to it (ties: the nearest).

    Returns ``ref`` (distance back, 0 = none) and ``eq`` (nrows x ncols): field
    equal to the same field of the referenced row. Rows with fewer than
    ``min_equal`` equal fields get no reference.

    The search counts by the 64-bit hashes alone (a collision can only pick
    another row; ``eq`` compares the bytes). It goes a tile of rows at a
    time: the tile's hashes (and the window's before it) transposed to
    columns, then for each column and distance ``k`` one pass adding
    ``hash[r] == hash[r - k]`` to the count of every row of the tile
    (contiguous, unsigned indices: SIMD compares; a row-by-row scan of its
    ``window`` rows, as before, was 1.5-2x slower on 6-26 columns), then
    each row takes the nearest ``k`` with the largest count.
    """
    ref = np.zeros(nrows, np.uint8)
    eq = np.zeros((nrows, ncols), np.bool_)
    tile = ROW_MATCH_TILE
    span = tile + window
    th = np.empty(ncols * span, np.uint64)  # column c's rows h0.. at c * span
    cnt = np.empty((window + 1) * tile, np.int32)  # distance k's counts at k * tile
    for r0 in range(1, nrows, tile):
        r1 = min(r0 + tile, nrows)
        h0 = max(r0 - window, 0)
        for r in range(h0, r1):
            for c in range(ncols):
                th[c * span + r - h0] = hashes[r * ncols + c]
        cnt[:] = 0
        for c in range(ncols):
            for k in range(1, window + 1):
                lo = max(r0, k)
                # (unsigned indices: no wraparound test per access, so the loop vectorizes)
                ci = np.uint64(k * tile + lo - r0)
                ai = np.uint64(c * span + lo - h0)
                bi = np.uint64(c * span + lo - h0 - k)
                for i in range(np.uint64(r1 - lo)):
                    cnt[ci + i] += np.int32(th[ai + i] == th[bi + i])
        for r in range(r0, r1):
            # a row below min_equal is never taken; ties keep the nearest
            best = min_equal - 1
            best_k = 0
            for k in range(1, min(window, r) + 1):
                v = cnt[k * tile + r - r0]
                if v > best:
                    best = v
                    best_k = k
            if best >= min_equal:
                ref[r] = best_k
                a = r * ncols
                b = (r - best_k) * ncols
                for c in range(ncols):
                    if hashes[a + c] == hashes[b + c] and _spans_equal_words(
                            data, starts[a + c], ends[a + c], starts[b + c], ends[b + c]):
                        eq[r, c] = True
    return ref, eq


@njit(cache=True, nogil=True, inline="always")
def _spans_equal_words(data, sa, ea, sb, eb):
    """``data[sa:ea] == data[sb:eb]``, 8 bytes a compare inside the spans."""
    n = ea - sa
    return n == eb - sb and bytes_equal_words(data, sa, sb, n)


@njit(cache=True, nogil=True)
def column_fields(data, starts, ends, keep, ref, col, quote):
    """Encode side, one column's fields in one pass: the fields its rows keep
    (all rows when ``keep`` has no rows; else ``keep[r, col]``, the others
    repeating row ``r - ref[r]``), with their quotes stripped where they are
    wrapped in ``quote`` (``quote < 0``: no quoting).

    Returns ``(s, e, q, nq, opens, kept, rowsrc)``: the kept fields' content
    spans, which were quoted and how many, whether any field opens with the
    quote byte (only such a field can hold an LF), and with ``keep`` the rows
    kept and for every row the kept field it shows (see row_views).
    """
    n = starts.shape[0]
    use_keep = keep.shape[0] > 0
    m = n
    if use_keep:
        m = 0
        for r in range(n):
            if keep[r, col]:
                m += 1
    s = np.empty(m, np.int64)
    e = np.empty(m, np.int64)
    q = np.zeros(m, np.bool_)
    kept = np.empty(m if use_keep else 0, np.int64)
    rowsrc = np.empty(n if use_keep else 0, np.int64)
    last = data.shape[0] - 1
    nq = 0
    opens = False
    k = 0
    for r in range(n):
        if use_keep:
            if not keep[r, col]:
                rowsrc[r] = rowsrc[r - np.int64(ref[r])]
                continue
            rowsrc[r] = k
            kept[k] = r
        if r + SPAN_PREFETCH < n:
            prefetch(data, starts[r + SPAN_PREFETCH])
        a = starts[r]
        b = ends[r]
        if quote >= 0 and last >= 0 and data[min(a, last)] == quote:
            opens = True
            if b - a >= 2 and data[b - 1] == quote:
                q[k] = True
                nq += 1
                a += 1
                b -= 1
        s[k] = a
        e[k] = b
        k += 1
    return s, e, q, nq, opens, kept, rowsrc


@njit(cache=True, nogil=True)
def row_views(ref, packed, width, src, kept):
    """Decode side of row matches, every column at once: row ``r`` with
    ``ref[r] != 0`` repeats from row ``r - ref[r]`` the fields whose bits are
    set in its ``width`` bytes of ``packed`` (LSB first, one row after the
    other). Fills ``src[c, r]`` (the stored value of column ``c`` that row
    ``r`` shows) and ``kept[c, :count[c]]`` (the rows that store a value).
    Returns ``(count, err)``; err 1 on a reference out of range or a packed
    stream of the wrong length."""
    ncols, nrows = src.shape
    count = np.zeros(ncols, np.int64)
    j = 0
    for r in range(nrows):
        d = np.int64(ref[r])
        if d != 0:
            if d > r or (j + 1) * width > packed.shape[0]:
                return count, 1
            base = j * width
            j += 1
            for c in range(ncols):
                if (packed[base + (c >> 3)] >> (c & 7)) & 1:
                    src[c, r] = src[c, r - d]
                else:
                    k = count[c]
                    src[c, r] = k
                    kept[c, k] = r
                    count[c] = k + 1
        else:
            for c in range(ncols):
                k = count[c]
                src[c, r] = k
                kept[c, k] = r
                count[c] = k + 1
    return count, 0 if j * width == packed.shape[0] else 1


# ----------------------------------------------------------- front coding --

@njit(cache=True, nogil=True)
def common_prefixes(data, starts, ends):
    """Bytes each value shares with the previous one (at most 255)."""
    n = starts.shape[0]
    out = np.zeros(n, np.int64)
    for i in range(1, n):
        a = starts[i]
        b = starts[i - 1]
        m = min(ends[i] - a, ends[i - 1] - b, 255)
        k = 0
        while k < m and data[a + k] == data[b + k]:
            k += 1
        out[i] = k
    return out


@njit(cache=True, nogil=True)
def front_decode(lcp, sbuf, soffs, limit):
    """Rebuild front-coded values; returns ``(buf, offs, err)`` (err on hostile input)."""
    n = lcp.shape[0]
    offs = np.zeros(n + 1, np.int64)
    prev_len = 0
    for i in range(n):
        k = np.int64(lcp[i])
        if k > prev_len:
            return np.empty(0, np.uint8), offs, 1
        ln = k + soffs[i + 1] - soffs[i]
        offs[i + 1] = offs[i] + ln
        if offs[i + 1] > limit:
            return np.empty(0, np.uint8), offs, 1
        prev_len = ln
    buf = np.empty(offs[n], np.uint8)
    for i in range(n):
        p = offs[i]
        k = np.int64(lcp[i])
        if i > 0:
            q = offs[i - 1]
            for t in range(k):
                buf[p + t] = buf[q + t]
        p += k
        for t in range(soffs[i], soffs[i + 1]):
            buf[p] = sbuf[t]
            p += 1
    return buf, offs, 0


@njit(cache=True, nogil=True)
def copy_residual_bits(vals, at, src):
    """``residual_bits`` of ``vals`` minus a copy of another column, at lag 0
    (``src[at]``) and lag 1 (the row before: ``src[at - 1]``, 0 for row 0),
    in one call: the reference search scores these two for every nearby
    column (int64 arithmetic wraps, as NumPy's does there)."""
    m = vals.shape[0]
    r0 = np.empty(m, np.int64)
    r1 = np.empty(m, np.int64)
    for i in range(m):
        a = at[i]
        r0[i] = vals[i] - src[a]
        r1[i] = vals[i] - (src[a - 1] if a >= 1 else 0)
    return residual_bits(r0), residual_bits(r1)


@njit(cache=True, nogil=True)
def residual_bits(r):
    """Estimated bits of an integer stream: min over coding it as is and as deltas
    (sum of log2(1 + |x|)); steers the choice of column references."""
    plain = 0
    delta = 0
    prev = np.uint64(0)
    for i in range(r.shape[0]):
        x = np.uint64(r[i])
        d = x - prev  # wraps: the sign is folded below
        prev = x
        if x >> np.uint64(63):
            x = np.uint64(0) - x
        if d >> np.uint64(63):
            d = np.uint64(0) - d
        if x:
            plain += bit_length(x)
        if d:
            delta += bit_length(d)
    return float(min(plain, delta))


@njit(cache=True, nogil=True)
def pair_screen(cols, scales, tscale, at, target, min_count):
    """Derived-column screen: which (op, a, b) reproduce ``target`` exactly on a sample.

    ``cols`` (k x m): candidate columns over the sample rows, ``scales`` their
    decimals; ``at``: the rows of the ``target`` values. ops: 0 a+b, 1 a-b,
    2 a*b rescaled to ``tscale`` decimals (the same arithmetic as the column
    codec's prediction). Returns an (n, 3) array of (op, a, b) indices.
    """
    k = cols.shape[0]
    out = np.empty((3 * k * k, 3), np.int64)
    n = 0
    nt = target.shape[0]
    for a in range(k):
        for b in range(a, k):
            for op in range(3):
                if op < 2 and (scales[a] != tscale or scales[b] != tscale):
                    continue
                shift = tscale - scales[a] - scales[b]
                if op == 2 and (shift > 18 or shift < -18):
                    continue
                cnt = 0
                for i in range(nt):
                    u = cols[a, at[i]]
                    w = cols[b, at[i]]
                    if op == 0:
                        p = u + w
                    elif op == 1:
                        p = u - w
                    elif shift >= 0:
                        p = u * w * POW10[shift]
                    else:
                        p = (u * w) // POW10[-shift]
                    if p == target[i]:
                        cnt += 1
                if cnt >= min_count:
                    out[n, 0] = op
                    out[n, 1] = a
                    out[n, 2] = b
                    n += 1
    return out[:n]


@njit(cache=True, nogil=True, inline="always")
def _column_counts(row_nf, ncols):
    """Fields per column (field ``t`` of a row in column ``min(t, ncols - 1)``),
    each column's first position in column-major order, and the field count."""
    counts = np.zeros(ncols, np.int64)
    nf = 0
    for r in range(row_nf.shape[0]):
        k = row_nf[r]
        for t in range(k):
            counts[min(t, ncols - 1)] += 1
        nf += k
    start = np.empty(ncols, np.int64)
    s = 0
    for c in range(ncols):
        start[c] = s
        s += counts[c]
    return counts, start, nf


#: rows per tile of :func:`column_major_spans_into` (71 columns: ~36 KB of spans)
SPAN_TILE_ROWS = 32


@njit(cache=True, nogil=True)
def column_major_spans_into(starts, ends, row_nf, ncols, cs, ce):
    """The field spans ``starts``/``ends`` (row-major) listed column by column
    into ``cs``/``ce`` (one slot a field), and the per-column counts:
    :func:`column_major_fields`' order applied in the same pass. Rows of
    ``ncols`` fields go a tile of SPAN_TILE_ROWS at a time, column by column
    (the tile's spans stay in cache, each column's run is written in order;
    unsigned indices spare a wraparound test per access), other rows field by
    field. The caller allocates ``cs``/``ce`` with NumPy: arrays this kernel
    allocated took a page fault per 4 KiB, most of its time (tmy3: 5.4 ->
    1.8 ms). Returns the counts, or an empty array when ``cs``/``ce`` are
    too small."""
    counts, start, nf = _column_counts(row_nf, ncols)
    if cs.shape[0] < nf or ce.shape[0] < nf:
        return counts[:0]
    nrows = row_nf.shape[0]
    step = np.uint64(ncols)
    f = 0
    r = 0
    while r < nrows:
        r1 = r
        while r1 < nrows and r1 - r < SPAN_TILE_ROWS and row_nf[r1] == ncols:
            r1 += 1
        m = r1 - r
        if m:
            for c in range(ncols):
                j = np.uint64(start[c])
                i = np.uint64(f + c)
                for q in range(np.uint64(m)):
                    cs[j + q] = starts[i]
                    ce[j + q] = ends[i]
                    i += step
                start[c] += m
            f += m * ncols
            r = r1
            continue
        for t in range(row_nf[r]):
            c = min(t, ncols - 1)
            j = start[c]
            cs[j] = starts[f]
            ce[j] = ends[f]
            start[c] = j + 1
            f += 1
        r += 1
    return counts


@njit(cache=True, nogil=True)
def column_major_spans(starts, ends, row_nf, ncols):
    """:func:`column_major_spans_into` arrays of its own: ``(cs, ce, counts)``."""
    nf = 0
    for r in range(row_nf.shape[0]):
        nf += row_nf[r]
    cs = np.empty(nf, np.int64)
    ce = np.empty(nf, np.int64)
    counts = column_major_spans_into(starts, ends, row_nf, ncols, cs, ce)
    return cs, ce, counts


@njit(cache=True, nogil=True)
def column_major_fields(row_nf, ncols):
    """Row-major field ids listed column by column, and the per-column counts,
    for rows of ``row_nf[r]`` fields where field ``t`` of a row belongs to
    column ``min(t, ncols - 1)``. A counting sort: the same order as a stable
    argsort of the fields' columns, in two linear passes."""
    counts, start, nf = _column_counts(row_nf, ncols)
    order = np.empty(nf, np.int64)
    f = 0
    for r in range(row_nf.shape[0]):
        k = row_nf[r]
        for t in range(k):
            c = min(t, ncols - 1)
            order[start[c]] = f
            start[c] += 1
            f += 1
    return order, counts
