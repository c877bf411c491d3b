"""CSV/TSV text <-> fields: dialect sniffing, the tokenizer and the row assembler.

The tokenizer cuts a block into rows and fields and records, per field, the byte
span ``[start, end)`` of its *raw* text (quotes included) and, per row, its field
count and its terminator (LF, CRLF or none at the end of the block). Decoding
never re-tokenizes: it glues fields back with the delimiter and the recorded
terminators, so *any* cut the tokenizer makes is lossless; quoting only decides
how good the cut is.

Grammar (RFC 4180, tolerant):

- a row ends at LF; a CR right before that LF belongs to the terminator (CRLF);
  a lone CR is an ordinary byte;
- a field that starts with the quote byte is quoted: it runs to the next quote
  that is not doubled (``""`` is an escaped quote); bytes after that closing quote
  up to the next delimiter or LF stay in the field (malformed, kept verbatim);
  a quote left open runs to the end of the block;
- any other field runs to the next delimiter or LF.

Row terminators: ``TERM_LF``, ``TERM_CRLF``, ``TERM_NONE`` (the block ends
without a newline; only the last row can have it).
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import trailing_zeros

from .csv_kernels import decimal_layout, put_decimal
from .primitives import COPY_SLACK, copy_chunks, load_u64, zero_byte_mask

TERM_LF = 0
#: :func:`assemble` takes blocks of ASSEMBLE_TILE_ROWS rows of a table of at
#: least ASSEMBLE_TILE_MIN_COLUMNS columns column by column first (each slot's
#: span into a small row-major tile), then row by row: a row-by-row walk
#: reads three arrays of every column at once (its entries, their offsets,
#: their bytes), more streams than the cache's prefetchers follow. On the
#: 26-column sam-cec table (every column through an entry table) the kernel
#: ran in ~60% of the time; on 6 columns (zipcodes) it was slower, on 14
#: (birdstrikes) the same (issue 15)
ASSEMBLE_TILE_MIN_COLUMNS = 16
ASSEMBLE_TILE_ROWS = 64
TERM_CRLF = 1
TERM_NONE = 2

LF = 10
CR = 13
QUOTE = 34

#: delimiters we sniff for, best guess first on ties
DELIMITERS = (ord(","), ord("\t"), ord(";"), ord("|"))


@njit(cache=True, nogil=True)
def tokenize(data, delim, quote, max_fields, max_rows):
    """Cut ``data`` (uint8) into fields.

    Returns ``(starts, ends, row_nfields, row_term, n_fields, n_rows)``; the
    arrays are over-allocated to ``max_fields``/``max_rows`` (upper bounds the
    caller computes from byte counts) and only their first ``n_*`` entries are
    meaningful. ``quote < 0`` switches quoting off. (:func:`tokenize_block`
    hands :func:`tokenize_into` arrays NumPy allocated instead.)
    """
    starts = np.empty(max_fields, np.int64)
    ends = np.empty(max_fields, np.int64)
    row_nfields = np.empty(max_rows, np.int64)
    row_term = np.empty(max_rows, np.uint8)
    nf, nr = tokenize_into(data, delim, quote, starts, ends, row_nfields, row_term)
    return starts, ends, row_nfields, row_term, nf, nr


@njit(cache=True, nogil=True)
def tokenize_into(data, delim, quote, starts, ends, row_nfields, row_term):
    """:func:`tokenize` into the caller's arrays (``starts``/``ends`` of at
    least the block's LF and delimiter count + 1 entries, the row arrays of
    its LF count + 1); returns ``(n_fields, n_rows)``."""
    n = data.shape[0]
    ones = np.uint64(0x0101010101010101)
    dpat = np.uint64(delim & 0xFF) * ones
    lfpat = np.uint64(LF) * ones
    nf = 0
    nr = 0
    i = 0
    while i < n:
        first = nf
        term = TERM_NONE
        while True:
            s = i
            j = i
            if quote >= 0 and j < n and data[j] == quote:
                j += 1
                while j < n:
                    if data[j] == quote:
                        if j + 1 < n and data[j + 1] == quote:
                            j += 2
                            continue
                        j += 1
                        break
                    j += 1
            # unquoted part (or the tail after a closing quote): 8 bytes at a
            # time while 8 are left (the lowest flagged byte is exact), then
            # byte by byte. Fields of 9-50 bytes: tokenizing 1.3-1.6x faster;
            # a table of 3-byte fields (tmy3) ~15% slower
            while j + 8 <= n:
                v = load_u64(data, j)
                z = zero_byte_mask(v ^ dpat) | zero_byte_mask(v ^ lfpat)
                if z != 0:
                    j += np.int64(trailing_zeros(z) >> 3)
                    break
                j += 8
            while j < n and data[j] != delim and data[j] != LF:
                j += 1
            if j >= n:
                starts[nf] = s
                ends[nf] = n
                nf += 1
                i = n
                term = TERM_NONE
                break
            if data[j] == delim:
                starts[nf] = s
                ends[nf] = j
                nf += 1
                i = j + 1
                if i >= n:
                    # trailing delimiter at the end of the block: one empty field
                    starts[nf] = n
                    ends[nf] = n
                    nf += 1
                    term = TERM_NONE
                    break
                continue
            # LF
            e = j
            term = TERM_LF
            if j > s and data[j - 1] == CR:
                e = j - 1
                term = TERM_CRLF
            starts[nf] = s
            ends[nf] = e
            nf += 1
            i = j + 1
            break
        row_nfields[nr] = nf - first
        row_term[nr] = term
        nr += 1
    return nf, nr


def tokenize_block(arr: np.ndarray, delim: int, quote: int):
    """Tokenize ``arr`` (uint8). Returns starts, ends, row_nfields, row_term (trimmed).

    The arrays are NumPy's (a large one gets transparent huge pages where
    the system gives them on request): allocated in the kernel they took a
    page fault per 4 KiB written."""
    n_lf = int(np.count_nonzero(arr == LF))
    n_delim = int(np.count_nonzero(arr == delim))
    max_rows = n_lf + 1
    max_fields = n_lf + n_delim + 1
    starts = np.empty(max_fields, np.int64)
    ends = np.empty(max_fields, np.int64)
    row_nf = np.empty(max_rows, np.int64)
    row_term = np.empty(max_rows, np.uint8)
    nf, nr = tokenize_into(arr, delim, quote, starts, ends, row_nf, row_term)
    return starts[:nf], ends[:nf], row_nf[:nr], row_term[:nr]


@njit(cache=True, nogil=True)
def _line_delim_counts(data, delims, max_lines, limit):
    """Per record (up to max_lines within data[:limit]) count each candidate
    delimiter outside quoted fields (a quote opens one only at the start of a
    line or right after a candidate delimiter, as in the tokenizer)."""
    k = delims.shape[0]
    counts = np.zeros((max_lines, k), np.int64)
    line = 0
    quoted = False
    n = min(data.shape[0], limit)
    i = -1
    while i + 1 < n:
        i += 1
        c = data[i]
        if quoted:
            if c == QUOTE:
                if i + 1 < n and data[i + 1] == QUOTE:
                    i += 1
                else:
                    quoted = False
            continue
        if c == QUOTE:
            prev = data[i - 1] if i > 0 else LF
            opens = prev == LF
            for d in range(k):
                if prev == delims[d]:
                    opens = True
            if opens:
                quoted = True
            continue
        if c == LF:
            line += 1
            if line >= max_lines:
                break
            continue
        for d in range(k):
            if c == delims[d]:
                counts[line, d] += 1
    return counts[:line], line


def sniff_delimiter(arr: np.ndarray, prefer_tab: bool = False, sample: int = 1 << 16) -> int | None:
    """Pick the delimiter whose per-line count is most consistent over a sample.

    Returns the delimiter byte, or None when no candidate splits the lines
    into at least two fields consistently. Counting ignores quoting: a quoted
    field with a delimiter inside only lowers the score of a few lines.
    """
    cands = np.array(DELIMITERS, dtype=np.uint8)
    counts, nlines = _line_delim_counts(arr, cands, 4096, sample)
    if nlines < 2:
        return None
    best, best_score = None, 0.0
    for d in range(len(DELIMITERS)):
        col = counts[:, d]
        if not col.any():
            continue
        vals, freq = np.unique(col, return_counts=True)
        mode_i = int(np.argmax(freq * (vals > 0)))
        if vals[mode_i] == 0:
            continue
        score = freq[mode_i] / nlines * min(1.0, 0.5 + 0.1 * float(vals[mode_i]))
        if prefer_tab and DELIMITERS[d] == 9:
            score *= 1.2
        if score > best_score:
            best, best_score = DELIMITERS[d], score
    if best is None or best_score < 0.5:
        return None
    return best


#: ``assemble`` wants this many spare bytes past the logical end of its output
#: and of its value buffer: values are copied in 16-byte moves
#: (primitives.copy_chunks; what spills past a value is overwritten by the
#: bytes written after it). Byte loops cost 36-56 ns a field on the TSV files
#: with 20-54 byte fields, the moves 2-3x less
ASSEMBLE_SLACK = COPY_SLACK


#: ``assemble``'s per-column modes: slots read their entry from the entry
#: table (else the column's entries in order from its first); slots are quoted
#: by their flag; every slot is quoted
COL_ENTRIES = 1
COL_QFLAGS = 2
COL_QUOTED = 4
#: the column is a numeric column printed here (``assemble``'s ``num_cols``)
COL_NUMBERS = 8

#: the fields of a row of ``assemble``'s ``num_cols``: where the column's
#: values start in ``nums`` and how many; where its scales start in
#: ``nscales`` (-1: every value has the column's largest scale); where its
#: exception positions start in ``num_epos`` and how many; the pad width and
#: the largest scale
NUM_VSTART, NUM_VCOUNT, NUM_SSTART, NUM_ESTART, NUM_ECOUNT, NUM_WIDTH, NUM_MAX_SCALE = range(7)
NUM_FIELDS = 7


@njit(cache=True, nogil=True)
def assemble(out, buf, offs, entry, col_start, col_first, col_mode, qflag, row_nfields, row_term, delim, quote):
    """Glue fields back into CSV text (decode side), in one pass into ``out``.

    The columns' values are entries of one buffer: entry ``e`` is
    ``buf[offs[e]:offs[e+1]]``. Column ``c`` owns the slots
    ``col_start[c]:col_start[c+1]`` (its fields top to bottom). With
    ``COL_ENTRIES`` in ``col_mode[c]`` slot ``g`` shows entry ``col_first[c] +
    entry[g]`` (a dictionary column or a repeated row points many slots at one
    of the column's entries, so neither is expanded before this; the table
    counts from the column's first entry, so the decoder writes a
    dictionary's ids or a row view into it as they are); otherwise the
    column's values are its entries in order, slot ``g`` showing
    ``col_first[c] + g - col_start[c]``
    (no table is written or read: one memory stream less per column). A slot
    is wrapped in quotes when ``qflag[g]`` (``COL_QFLAGS``) or always
    (``COL_QUOTED``). Field ``t`` of a row belongs to column
    ``min(t, ncols - 1)``, the next unused slot of that column. Blocks with
    numeric columns to print go to :func:`assemble_numbers` (this loop
    without their branch is 7-13% faster on tables of text).

    ``out`` and ``buf`` carry ASSEMBLE_SLACK spare bytes past their logical
    ends. Returns the length written, or -1 if anything would run out of
    bounds or a slot would be left unused (hostile input).
    """
    n_out = out.shape[0] - ASSEMBLE_SLACK
    nbuf = buf.shape[0] - ASSEMBLE_SLACK
    ne = offs.shape[0] - 1
    ng = col_start[col_start.shape[0] - 1] if col_start.shape[0] else 0
    ncols = col_start.shape[0] - 1
    nrows = row_nfields.shape[0]
    if (n_out < 0 or nbuf < 0 or ncols < 1 or col_start[0] != 0 or col_first.shape[0] != ncols
            or col_mode.shape[0] != ncols or entry.shape[0] < ng or qflag.shape[0] < ng):
        return -1
    cur = np.empty(ncols, np.int64)
    shift = np.empty(ncols, np.int64)  # entry of slot g in an in-order column: g + shift
    for c in range(ncols):
        if col_start[c + 1] < col_start[c]:
            return -1
        cur[c] = col_start[c]
        shift[c] = col_first[c] - col_start[c]
    p = 0
    tiled = ncols >= ASSEMBLE_TILE_MIN_COLUMNS
    nt = ASSEMBLE_TILE_ROWS * ncols if tiled else 0
    tile_a = np.empty(nt, np.int64)
    tile_l = np.empty(nt, np.int64)
    tile_q = np.empty(nt, np.int64)
    for r0 in range(0, nrows, ASSEMBLE_TILE_ROWS):
        r1 = min(r0 + ASSEMBLE_TILE_ROWS, nrows)
        full = tiled
        if tiled:
            for r in range(r0, r1):
                if row_nfields[r] != ncols:
                    full = False
                    break
        if full:
            # every row of the block has one field per column: each column's
            # slots for the block are looked up first, column by column (a
            # few sequential streams at a time), into row-major tiles that
            # the rows then read in order
            nb = r1 - r0
            for c in range(ncols):
                g0 = cur[c]
                if g0 + nb > col_start[c + 1]:
                    return -1
                mode = col_mode[c]
                for i in range(nb):
                    g = g0 + i
                    e = col_first[c] + entry[g] if mode & COL_ENTRIES else g + shift[c]
                    if e < 0 or e >= ne:
                        return -1
                    a = offs[e]
                    b = offs[e + 1]
                    if a < 0 or b < a or b > nbuf:
                        return -1
                    tile_a[i * ncols + c] = a
                    tile_l[i * ncols + c] = b - a
                    tile_q[i * ncols + c] = np.int64(qflag[g]) if mode & COL_QFLAGS else np.int64((mode >> 2) & 1)
                cur[c] = g0 + nb
            for i in range(nb):
                for c in range(ncols):
                    a = tile_a[i * ncols + c]
                    ln = tile_l[i * ncols + c]
                    qf = tile_q[i * ncols + c]
                    if p + ln + 2 * qf > n_out:
                        return -1
                    out[p] = quote
                    p += qf
                    copy_chunks(out, p, buf, a, ln)
                    p += ln
                    out[p] = quote
                    p += qf
                    out[p] = delim
                    p += 1
                p -= 1
                term = row_term[r0 + i]
                if term == TERM_LF:
                    if p + 1 > n_out:
                        return -1
                    out[p] = LF
                    p += 1
                elif term == TERM_CRLF:
                    if p + 2 > n_out:
                        return -1
                    out[p] = CR
                    out[p + 1] = LF
                    p += 2
                elif term != TERM_NONE:
                    return -1
            continue
        for r in range(r0, r1):
            k = row_nfields[r]
            if k < 1:
                return -1
            for t in range(k):
                c = min(t, ncols - 1)
                g = cur[c]
                if g >= col_start[c + 1]:
                    return -1
                cur[c] = g + 1
                mode = col_mode[c]
                e = col_first[c] + entry[g] if mode & COL_ENTRIES else g + shift[c]
                qf = np.int64(qflag[g]) if mode & COL_QFLAGS else np.int64((mode >> 2) & 1)
                if e < 0 or e >= ne:
                    return -1
                a = offs[e]
                b = offs[e + 1]
                if a < 0 or b < a or b > nbuf:
                    return -1
                ln = b - a
                if p + ln + 2 * qf > n_out:
                    return -1
                # quote, value, quote, delimiter: an unwanted quote is written and
                # then overwritten (p does not move), and every field is followed
                # by a delimiter that the row's last one turns into the terminator
                out[p] = quote
                p += qf
                copy_chunks(out, p, buf, a, ln)
                p += ln
                out[p] = quote
                p += qf
                out[p] = delim
                p += 1
            p -= 1
            term = row_term[r]
            if term == TERM_LF:
                if p + 1 > n_out:
                    return -1
                out[p] = LF
                p += 1
            elif term == TERM_CRLF:
                if p + 2 > n_out:
                    return -1
                out[p] = CR
                out[p + 1] = LF
                p += 2
            elif term != TERM_NONE:
                return -1
    for c in range(ncols):
        if cur[c] != col_start[c + 1]:
            return -1
    return p


@njit(cache=True, nogil=True)
def assemble_numbers(out, buf, offs, entry, col_start, col_first, col_mode, qflag, row_nfields, row_term, delim,
                     quote, nums, nscales, num_epos, num_cols):
    """:func:`assemble` for a block with numeric columns to print.

    A column with ``COL_NUMBERS`` (never with ``COL_ENTRIES``) is printed
    here from its numbers (row ``c`` of ``num_cols``, see NUM_FIELDS)
    instead of read from ``buf``: its slots are its values in order
    (``nums``, normalized decimals as
    :func:`csv_kernels.format_decimals_into` prints them, scales from
    ``nscales``) but for its exceptions, whose positions in the column are
    ``num_epos`` (increasing) and whose texts are the entries from
    ``col_first[c]`` on. The digits go straight to ``out``: printing them
    into ``buf`` first and copying them here cost a fifth more on a table of
    numbers (tmy3). Returns as :func:`assemble`, -1 also when a value would
    not print or a value or exception is left unused.

    The field and row-terminator writes repeat :func:`assemble`'s on purpose:
    shared as ``inline="always"`` helpers they halved CSV decode (corpus,
    271 -> 131 MB/s in one run).
    """
    n_out = out.shape[0] - ASSEMBLE_SLACK
    nbuf = buf.shape[0] - ASSEMBLE_SLACK
    ne = offs.shape[0] - 1
    ng = col_start[col_start.shape[0] - 1] if col_start.shape[0] else 0
    ncols = col_start.shape[0] - 1
    nrows = row_nfields.shape[0]
    if (n_out < 0 or nbuf < 0 or ncols < 1 or col_start[0] != 0 or col_first.shape[0] != ncols
            or col_mode.shape[0] != ncols or entry.shape[0] < ng or qflag.shape[0] < ng
            or num_cols.shape[0] != ncols or num_cols.shape[1] != NUM_FIELDS):
        return -1
    cur = np.empty(ncols, np.int64)
    shift = np.empty(ncols, np.int64)  # entry of slot g in an in-order column: g + shift
    for c in range(ncols):
        if col_start[c + 1] < col_start[c]:
            return -1
        cur[c] = col_start[c]
        shift[c] = col_first[c] - col_start[c]
    # a number column's next value (vcur, in nums) and exception (xcur, in
    # num_epos), and the slot of that exception (xslot, -1: none left)
    vcur = np.zeros(ncols, np.int64)
    xcur = np.zeros(ncols, np.int64)
    xslot = np.full(ncols, -1, np.int64)
    for c in range(ncols):
        if not col_mode[c] & COL_NUMBERS:
            continue
        v0 = num_cols[c, NUM_VSTART]
        nv = num_cols[c, NUM_VCOUNT]
        s0 = num_cols[c, NUM_SSTART]
        x0 = num_cols[c, NUM_ESTART]
        nx = num_cols[c, NUM_ECOUNT]
        if (col_mode[c] & COL_ENTRIES or v0 < 0 or nv < 0 or v0 + nv > nums.shape[0] or s0 < -1
                or (s0 >= 0 and s0 + nv > nscales.shape[0]) or x0 < 0 or nx < 0 or x0 + nx > num_epos.shape[0]
                or num_cols[c, NUM_WIDTH] < 1 or num_cols[c, NUM_WIDTH] > 19
                or num_cols[c, NUM_MAX_SCALE] < 0 or num_cols[c, NUM_MAX_SCALE] > 18):
            return -1
        vcur[c] = v0
        xcur[c] = x0
        if nx:
            xslot[c] = col_start[c] + num_epos[x0]
    p = 0
    for r in range(nrows):
        k = row_nfields[r]
        if k < 1:
            return -1
        for t in range(k):
            c = min(t, ncols - 1)
            g = cur[c]
            if g >= col_start[c + 1]:
                return -1
            cur[c] = g + 1
            mode = col_mode[c]
            qf = np.int64(qflag[g]) if mode & COL_QFLAGS else np.int64((mode >> 2) & 1)
            if not mode & COL_NUMBERS:
                e = col_first[c] + entry[g] if mode & COL_ENTRIES else g + shift[c]
            elif g == xslot[c]:
                # an exception: its text is an entry
                xk = xcur[c]
                e = col_first[c] + xk - num_cols[c, NUM_ESTART]
                xcur[c] = xk + 1
                xslot[c] = -1
                if xk + 1 < num_cols[c, NUM_ESTART] + num_cols[c, NUM_ECOUNT]:
                    xslot[c] = col_start[c] + num_epos[xk + 1]
            else:
                iv = vcur[c]
                if iv >= num_cols[c, NUM_VSTART] + num_cols[c, NUM_VCOUNT]:
                    return -1
                vcur[c] = iv + 1
                v = nums[iv]
                ms = num_cols[c, NUM_MAX_SCALE]
                ss = num_cols[c, NUM_SSTART]
                sc = ms if ss < 0 else nscales[ss + iv - num_cols[c, NUM_VSTART]]
                dig, ln = decimal_layout(v, sc, ms, num_cols[c, NUM_WIDTH])
                if ln < 0 or p + ln + 2 * qf > n_out:
                    return -1
                out[p] = quote
                p += qf
                put_decimal(out, p, p + ln, dig, sc, v < 0)
                p += ln
                out[p] = quote
                p += qf
                out[p] = delim
                p += 1
                continue
            if e < 0 or e >= ne:
                return -1
            a = offs[e]
            b = offs[e + 1]
            if a < 0 or b < a or b > nbuf:
                return -1
            ln = b - a
            if p + ln + 2 * qf > n_out:
                return -1
            # quote, value, quote, delimiter: an unwanted quote is written and
            # then overwritten (p does not move), and every field is followed
            # by a delimiter that the row's last one turns into the terminator
            out[p] = quote
            p += qf
            copy_chunks(out, p, buf, a, ln)
            p += ln
            out[p] = quote
            p += qf
            out[p] = delim
            p += 1
        p -= 1
        term = row_term[r]
        if term == TERM_LF:
            if p + 1 > n_out:
                return -1
            out[p] = LF
            p += 1
        elif term == TERM_CRLF:
            if p + 2 > n_out:
                return -1
            out[p] = CR
            out[p + 1] = LF
            p += 2
        elif term != TERM_NONE:
            return -1
    for c in range(ncols):
        if cur[c] != col_start[c + 1]:
            return -1
        if col_mode[c] & COL_NUMBERS and (vcur[c] != num_cols[c, NUM_VSTART] + num_cols[c, NUM_VCOUNT]
                                          or xcur[c] != num_cols[c, NUM_ESTART] + num_cols[c, NUM_ECOUNT]):
            return -1
    return p
