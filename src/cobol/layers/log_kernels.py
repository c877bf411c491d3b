"""Numba kernels behind the log transform (:mod:`.l2_log`), one job each.

Encode side: :func:`scan_lines` cuts the block into lines and tokens and
writes each line's *template* (static bytes, variables replaced by
:data:`PLACEHOLDER`); :func:`split_vars` turns each variable into a
*skeleton* (its non-digit bytes, each digit chunk replaced by
:data:`NUMBER`) and the chunks' integer values. Decode side:
:func:`render` writes the lines back. Decode kernels get hostile arrays:
they check every index and return an error code instead of reading or
writing out of bounds.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from .primitives import FNV64_OFFSET, copy_chunks, fnv1a64_step, load_u64

NEWLINE = 10
#: a variable's place in a template (a line holding this byte stays raw)
PLACEHOLDER = 0x11
#: a digit chunk's place in a skeleton (a line holding this byte stays raw)
NUMBER = 0x12
#: a template's last byte standing for the line's message (params version 5)
TAIL = 0x13
DIGIT0 = 48
#: a digit run is cut into chunks of at most this many digits (exact in int64)
MAX_CHUNK_DIGITS = 18



def delimiter_table(chars: bytes) -> np.ndarray:
    """A 256-entry bool table: True for the bytes that separate tokens."""
    t = np.zeros(256, np.bool_)
    t[np.frombuffer(chars, np.uint8)] = True
    return t


#: byte classes of the encoder's tokenizer (:func:`byte_classes`), bits of one
#: table entry, so that :func:`_count_tokens` and :func:`scan_lines` look each
#: byte up once (a bool table each for delimiters and digits, and compares for
#: NEWLINE, PLACEHOLDER and NUMBER, cost two to four tests a byte)
#: ends a token: a delimiter or NEWLINE
CLASS_STOP = 1
#: makes its token a variable (a digit)
CLASS_VAR = 2
#: PLACEHOLDER or NUMBER: its line stays raw
CLASS_MARK = 4
#: NEWLINE
CLASS_LINE_END = 8


def byte_classes(delim: np.ndarray, var_class: np.ndarray) -> np.ndarray:
    """The tokenizer's class table (CLASS_* bits) for the delimiters
    ``delim`` and the variable bytes ``var_class`` (256-entry bool tables):
    a byte that ends a token ends it whatever else it is (a delimiter digit
    would be a delimiter), as the tests of the kernels ran before."""
    cls = np.zeros(256, np.uint8)
    cls[delim] |= CLASS_STOP
    cls[NEWLINE] |= CLASS_STOP | CLASS_LINE_END
    cls[var_class] |= CLASS_VAR
    mark = np.zeros(256, np.bool_)
    mark[[PLACEHOLDER, NUMBER]] = True
    cls[mark & ~var_class] |= CLASS_MARK
    return cls


@njit(cache=True, nogil=True, inline="always")
def _digit_chunk(buf, i, e):
    """The run of ASCII digits at ``buf[i]`` (at most MAX_CHUNK_DIGITS, before
    ``e``): its end and its value. The encoder's and the decoder-side scan
    must cut chunks the same way, so both call this."""
    j = i
    while j < e and j - i < MAX_CHUNK_DIGITS and DIGIT0 <= buf[j] <= DIGIT0 + 9:
        j += 1
    x = 0
    for q in range(i, j):
        x = x * 10 + (buf[q] - DIGIT0)
    return j, x


# ------------------------------------------------------------------ encode --

@njit(cache=True, nogil=True)
def count_lines(buf):
    n = 0
    for i in range(buf.shape[0]):
        if buf[i] == NEWLINE:
            n += 1
    if buf.shape[0] and buf[buf.shape[0] - 1] != NEWLINE:
        n += 1
    return n


@njit(cache=True, nogil=True)
def _home(h, mask):
    """A hash's first slot: FNV's low bits cluster on short ASCII tokens (long
    probe chains), so the high bits are mixed down first."""
    x = (h ^ (h >> np.uint64(29))) * np.uint64(0x9E3779B97F4A7C15)
    return np.int64((x >> np.uint64(32)) & np.uint64(mask))


@njit(cache=True, nogil=True)
def _slot(keys, h):
    """The open-addressing slot of hash h (nonzero) in ``keys``: its own or the empty one to take."""
    mask = keys.shape[0] - 1
    i = _home(h, mask)
    while keys[i] != 0 and keys[i] != h:
        i = (i + 1) & mask
    return i


@njit(cache=True, nogil=True, inline="always")
def _mix_word(h, w):
    """The hash ``h`` extended by a word of up to 8 bytes."""
    h = (h ^ w) * np.uint64(0x9E3779B97F4A7C15)
    return h ^ (h >> np.uint64(31))


@njit(cache=True, nogil=True, inline="always")
def _span_hash(buf, i, j):
    """A hash of buf[i:j]: its whole 8-byte words (unaligned loads, none past
    ``j``), then the last bytes as one word, then the length, each folded in
    by :func:`_mix_word`: a multiply per 8 bytes. FNV-1a per byte (token
    hashes) and a word packed byte by byte as the line was scanned (template
    hashes) cost ~30% of the line scan on gdb's check.log. These hashes only
    group equal tokens and templates inside one block (template ids follow
    first use; collisions are caught by :func:`confirm_templates`), so frames
    do not depend on them."""
    h = FNV64_OFFSET
    k = i
    while k + 8 <= j:
        h = _mix_word(h, load_u64(buf, k))
        k += 8
    w = np.uint64(0)
    while k < j:
        w = (w << np.uint64(8)) | np.uint64(buf[k])
        k += 1
    return _mix_word(_mix_word(h, w), np.uint64(j - i))


@njit(cache=True, nogil=True)
def _token_hash(buf, i, j):
    h = _span_hash(buf, i, j)
    if h == 0:
        h = np.uint64(1)
    return h


@njit(cache=True, nogil=True)
def _grown_counts(keys, counts):
    """The (keys, counts) table rehashed into one four times larger."""
    k2 = np.zeros(keys.shape[0] * 4, np.uint64)
    c2 = np.zeros(keys.shape[0] * 4, np.int32)
    for i in range(keys.shape[0]):
        h = keys[i]
        if h != 0:
            s = _slot(k2, h)
            k2[s] = h
            c2[s] = counts[i]
    return k2, c2


@njit(cache=True, nogil=True)
def _count_tokens(buf, cls, keys, counts, start, used):
    """Count every token from ``start`` on (its hash in an open-addressing table)
    until the table passes half load; returns (where to go on, entries used):
    the end of the buffer when done. Tokens holding a CLASS_VAR byte (``cls``:
    :func:`byte_classes`) are not counted (they are variables whatever their count, so :func:`scan_lines`
    never looks them up). The table is never replaced inside the loop: an
    array rebound in a hot loop cost ~150 ns per token (5x the whole count)."""
    n = buf.shape[0]
    i = start
    while i < n:
        if cls[buf[i]] & CLASS_STOP:
            i += 1
            continue
        j = i
        seen = 0
        while j < n:
            k = cls[buf[j]]
            if k & CLASS_STOP:
                break
            seen |= k
            j += 1
        if not seen & CLASS_VAR:
            h = _token_hash(buf, i, j)
            s = _slot(keys, h)
            if keys[s] == 0:
                keys[s] = h
                used += 1
            counts[s] += 1
            if 2 * used > keys.shape[0]:
                return j, used
        i = j
    return n, used


def token_counts(buf, cls):
    """How often each token without a CLASS_VAR byte (hashed) occurs in the
    block: (keys, counts) of an open-addressing table. It starts small and grows
    (rehashed, four times larger) as it fills, and the count goes on where it
    stopped: a log has far fewer distinct words than bytes, and a small table
    stays in cache (a table sized for the worst case made this 4x slower;
    restarting the count with a larger table at each overflow cost 3 passes on
    7 MB of logs, and counting the tokens with digits too doubled the table)."""
    keys, counts = np.zeros(4096, np.uint64), np.zeros(4096, np.int32)
    pos, used = _count_tokens(buf, cls, keys, counts, np.int64(0), np.int64(0))
    while pos < buf.shape[0]:
        keys, counts = _grown_counts(keys, counts)
        pos, used = _count_tokens(buf, cls, keys, counts, pos, used)
    return keys, counts


@njit(cache=True, nogil=True)
def scan_lines(buf, cls, max_line, n_lines, tmpl, line_ts, line_te, line_raw, line_hash,
               var_s, var_e, var_line, tok_keys, tok_counts, min_static,
               keep, o_tmpl, o_ts, o_te, o_raw, o_hash, o_vs, o_ve, o_vfirst, o_start, o_end):
    """Tokenize every line; returns (lines, variables, template bytes written).

    ``keep`` (a bool per line, or empty): line ``li`` with ``keep[li]`` is
    taken from an earlier scan of a buffer that holds the same line at
    ``o_start[li]:o_end[li]`` (the ``o_`` arrays: that scan's outputs,
    ``o_vfirst`` each line's first variable and one more entry), not
    tokenized again: its template bytes, raw flag and hash copied, its
    variables moved by the line's shift. The same tokens come out where the
    earlier scan used these token counts and the same delimiters for the
    line's bytes (a block with its messages cut off: :mod:`.l2_log`).

    A token is a maximal run of bytes without CLASS_STOP (``cls``:
    :func:`byte_classes`); it is a variable when it holds a CLASS_VAR byte
    (digits) or occurs
    fewer than ``min_static`` times in the block (:func:`token_counts`). A line longer
    than ``max_line`` or holding PLACEHOLDER / NUMBER is raw (no template).
    ``line_hash`` is a hash of the template bytes (equal templates, equal
    hashes; :func:`confirm_templates` catches collisions), of the line's
    template bytes once written (:func:`_span_hash`, 8 bytes a step). One
    pass per line (a first pass looking for PLACEHOLDER / NUMBER made this
    ~2x slower); a line found raw midway has its template and variables
    taken back.
    """
    n = buf.shape[0]
    pos = np.int64(0)  # not 0: see _count_tokens
    li = 0
    nv = 0
    tp = 0
    reuse = keep.shape[0] == n_lines
    while pos < n and li < n_lines:
        tp0 = tp
        nv0 = nv
        line_ts[li] = tp
        if reuse and keep[li]:
            a = o_ts[li]
            for x in range(o_te[li] - a):
                tmpl[tp + x] = o_tmpl[a + x]
            tp += o_te[li] - a
            shift = pos - o_start[li]
            for q in range(o_vfirst[li], o_vfirst[li + 1]):
                var_s[nv] = o_vs[q] + shift
                var_e[nv] = o_ve[q] + shift
                var_line[nv] = li
                nv += 1
            line_raw[li] = o_raw[li]
            line_te[li] = tp
            line_hash[li] = o_hash[li]
            li += 1
            pos += o_end[li - 1] - o_start[li - 1] + 1
            continue
        raw = False
        i = pos
        while i < n:
            c = buf[i]
            kc = cls[c]
            if kc & CLASS_LINE_END:
                break
            if kc & CLASS_STOP:
                tmpl[tp] = c
                tp += 1
                i += 1
                continue
            j = i
            seen = 0
            while j < n:
                kc = cls[buf[j]]
                if kc & CLASS_STOP:
                    break
                seen |= kc
                j += 1
            is_var = (seen & CLASS_VAR) != 0
            if seen & CLASS_MARK:
                raw = True
                break
            if not is_var and min_static > 1:
                is_var = tok_counts[_slot(tok_keys, _token_hash(buf, i, j))] < min_static
            if is_var:
                tmpl[tp] = PLACEHOLDER
                tp += 1
                var_s[nv] = i
                var_e[nv] = j
                var_line[nv] = li
                nv += 1
            else:
                for x in range(i, j):
                    tmpl[tp] = buf[x]
                    tp += 1
            i = j
        e = i
        while e < n and buf[e] != NEWLINE:  # the rest of a line found raw midway
            e += 1
        if raw or e - pos > max_line:
            raw = True
            tp = tp0
            nv = nv0
            h = FNV64_OFFSET
        else:
            h = _span_hash(tmpl, tp0, tp)
        line_raw[li] = raw
        line_te[li] = tp
        line_hash[li] = h
        li += 1
        pos = e + 1
    return li, nv, tp


@njit(cache=True, nogil=True)
def confirm_templates(tmpl, line_ts, line_te, line_tid, rep_line):
    """Lines whose template bytes differ from their template's first line
    (a hash collision) get template id 0 (raw); returns how many."""
    bad = 0
    for li in range(line_tid.shape[0]):
        t = line_tid[li]
        if t <= 0:
            continue
        r = rep_line[t]
        if r == li:
            continue
        a = line_ts[li]
        b = line_ts[r]
        ln = line_te[li] - a
        same = ln == line_te[r] - b
        if same:
            for k in range(ln):
                if tmpl[a + k] != tmpl[b + k]:
                    same = False
                    break
        if not same:
            line_tid[li] = 0
            bad += 1
    return bad


@njit(cache=True, nogil=True)
def var_columns(var_line, line_tid, slot_base, stride):
    """The column (template slot, numbered over all templates) of each
    variable; -1 for variables of raw lines."""
    nv = var_line.shape[0]
    col = np.empty(nv, np.int64)
    slot = 0
    for v in range(nv):
        if v > 0 and var_line[v] == var_line[v - 1]:
            slot += 1
        else:
            slot = 0
        t = line_tid[var_line[v]]
        col[v] = slot_base[t] + slot * stride[t] if t > 0 else -1
    return col


@njit(cache=True, nogil=True)
def column_order(col, n_cols):
    """The variables with a column (``col >= 0``), sorted by column, in their
    own order within a column (a counting sort: what a stable argsort of
    ``col`` over those variables gives, in linear time)."""
    start = np.zeros(n_cols + 1, np.int64)
    for v in range(col.shape[0]):
        c = col[v]
        if c >= 0:
            start[c + 1] += 1
    for c in range(n_cols):
        start[c + 1] += start[c]
    out = np.empty(start[n_cols], np.int64)
    for v in range(col.shape[0]):
        c = col[v]
        if c >= 0:
            out[start[c]] = v
            start[c] += 1
    return out


@njit(cache=True, nogil=True)
def _seen(table, h):
    """Insert hash h into an open-addressing set; True when it was there."""
    mask = table.shape[0] - 1
    if h == 0:
        h = np.uint64(1)
    i = _home(h, mask)
    while True:
        k = table[i]
        if k == h:
            return True
        if k == 0:
            table[i] = h
            return False
        i = (i + 1) & mask


@njit(cache=True, nogil=True)
def _grown_set(table):
    """The hash set of :func:`_seen` rehashed into one four times larger."""
    t2 = np.zeros(table.shape[0] * 4, np.uint64)
    for i in range(table.shape[0]):
        if table[i] != 0:
            _seen(t2, table[i])
    return t2


@njit(cache=True, nogil=True)
def _bits(z):
    b = 0
    while z:
        z >>= np.uint64(1)
        b += 1
    return b


@njit(cache=True, nogil=True)
def _choose_split(buf, var_s, var_e, order, cols, table, cost_text, cost_split, prev, prevw, have,
                  start, used, prev_text, prev_skel):
    """Per column: code its variables as skeleton + numbers (True) or as
    verbatim text (False), whichever a rough model of the coder says is
    cheaper. Text: a repeat of the column's previous value costs 2 bits, a
    repeat from further back 16 (an LZ match), new text 3 bits a byte + 8.
    Split: the skeleton likewise, each number its delta's bit length + 2
    (0 costs 1). Timestamps and counters split; versions, names and
    addresses that repeat stay text.

    Runs from variable ``start`` (in ``order``) until the hash set passes
    half load, adding to the costs; returns (where to go on, used,
    prev_text, prev_skel), where to go on being ``order``'s length when done
    (:func:`choose_split` grows the set between calls: rebinding an array
    inside the loop slowed it down several times)."""
    n = order.shape[0]
    for oi in range(start, n):
        v = order[oi]
        c = cols[oi]
        if oi == 0 or cols[oi - 1] != c:
            have[:] = False
            prev_text = np.uint64(0)
            prev_skel = np.uint64(0)
        salt = np.uint64(c) * np.uint64(0x9E3779B97F4A7C15)
        ht = FNV64_OFFSET ^ salt
        hs = FNV64_OFFSET ^ salt ^ np.uint64(0x5555)
        i = var_s[v]
        e = var_e[v]
        length = e - i
        sk_len = 0
        nums = 0.0
        k = 0
        while i < e:
            ch = buf[i]
            ht = fnv1a64_step(ht, ch)
            if ch < DIGIT0 or ch > DIGIT0 + 9:
                hs = fnv1a64_step(hs, ch)
                sk_len += 1
                i += 1
                continue
            j, x = _digit_chunk(buf, i, e)
            for q in range(i, j):
                ht = fnv1a64_step(ht, buf[q])
            hs = fnv1a64_step(hs, NUMBER)
            sk_len += 1
            if k < 64 and have[k]:
                d = x - prev[k]
            else:
                d = x
            z = np.uint64((d << 1) ^ (d >> 63))
            nums += 1.0 if z == 0 else _bits(z) + 2.0
            if not (k < 64 and have[k] and prevw[k] == j - i):
                nums += 3.0
            if k < 64:
                prev[k] = x
                prevw[k] = j - i
                have[k] = True
            k += 1
            i = j
        if ht == prev_text:
            cost_text[c] += 2.0
        elif _seen(table, ht):
            cost_text[c] += 16.0
        else:
            cost_text[c] += 3.0 * length + 8.0
            used += 1
        if hs == prev_skel:
            cost_split[c] += 1.0 + nums
        elif _seen(table, hs):
            cost_split[c] += 16.0 + nums
        else:
            cost_split[c] += 3.0 * sk_len + 8.0 + nums
            used += 1
        prev_text = ht
        prev_skel = hs
        if 2 * used > table.shape[0]:
            return oi + 1, used, prev_text, prev_skel
    return n, used, prev_text, prev_skel


def choose_split(buf, var_s, var_e, order, cols, n_cols):
    """See :func:`_choose_split`: True per column to split. Its hash set starts
    at about half the variables' count and grows (four times) as it fills."""
    size = 4096
    while size < order.shape[0] // 2:
        size *= 2
    table = np.zeros(size, np.uint64)
    cost_text = np.zeros(n_cols, np.float64)
    cost_split = np.zeros(n_cols, np.float64)
    prev = np.zeros(64, np.int64)
    prevw = np.zeros(64, np.int64)
    have = np.zeros(64, np.bool_)
    pos, used, prev_text, prev_skel = 0, 0, 0, 0
    while True:
        # Numba hands the uint64 hashes back as Python ints: retyped here, or
        # one above 2**63 would not convert to the int64 it would infer
        pos, used, prev_text, prev_skel = _choose_split(
            buf, var_s, var_e, order, cols, table, cost_text, cost_split, prev, prevw, have,
            np.int64(pos), np.int64(used), np.uint64(prev_text), np.uint64(prev_skel))
        if pos >= order.shape[0]:
            return cost_split < cost_text
        table = _grown_set(table)


@njit(cache=True, nogil=True)
def cut_messages(buf, cut, k, heads, msgs, heads_only, cap):
    """Cut each line ``li`` with ``cut[li]`` after its k-th space (params
    version 5): its head (up to and with that space) then TAIL goes to
    ``heads``, the rest and a newline to ``msgs``; other lines, and a line
    with fewer than k spaces, go to ``heads`` whole. Every newline of ``buf``
    follows its line in ``heads``. ``heads_only``: only the cut lines' heads,
    each ended by a newline instead of TAIL (the sample the encoder chooses k
    on), stopping once ``cap`` bytes are written. ``heads`` and ``msgs`` need
    16 bytes of slack after what is written (spans are moved 16 bytes at a
    time). Returns (bytes in heads, bytes in msgs, lines cut)."""
    n = buf.shape[0]
    hp = 0
    mp = 0
    n_cut = 0
    li = 0
    i = 0
    while i < n:
        # the line buf[i:e], e its newline or the end
        e = i
        while e < n and buf[e] != NEWLINE:
            e += 1
        at = -1
        if cut[li]:
            seen = 0
            for q in range(i, e):
                if buf[q] == 0x20:
                    seen += 1
                    if seen == k:
                        at = q + 1
                        break
        if at >= 0:
            n_cut += 1
            _copy(heads, hp, buf, i, at - i)
            hp += at - i
            if heads_only:
                heads[hp] = NEWLINE
                hp += 1
                if hp >= cap:
                    return hp, mp, n_cut
            else:
                heads[hp] = TAIL
                hp += 1
                _copy(msgs, mp, buf, at, e - at)
                mp += e - at
                msgs[mp] = NEWLINE
                mp += 1
        elif not heads_only:
            _copy(heads, hp, buf, i, e - i)
            hp += e - i
        if e < n and not heads_only:
            heads[hp] = NEWLINE
            hp += 1
        i = e + 1
        li += 1
    return hp, mp, n_cut


@njit(cache=True, nogil=True)
def split_vars(buf, var_s, var_e, order, split, skel, values, widths, runs_per_var):
    """Skeletons, digit-chunk values and chunk widths (digit counts, so
    leading zeros come back) of the variables taken in ``order``. A variable whose ``split`` entry is False
    is copied verbatim (digits and all). Each skeleton ends with a newline.
    Returns (skeleton bytes, values).
    """
    sp = 0
    nn = 0
    for oi in range(order.shape[0]):
        v = order[oi]
        i = var_s[v]
        e = var_e[v]
        runs = 0
        if not split[oi]:
            for x in range(i, e):
                skel[sp] = buf[x]
                sp += 1
            i = e
        while i < e:
            c = buf[i]
            if c < DIGIT0 or c > DIGIT0 + 9:
                skel[sp] = c
                sp += 1
                i += 1
                continue
            j, x = _digit_chunk(buf, i, e)
            skel[sp] = NUMBER
            sp += 1
            values[nn] = x
            widths[nn] = j - i
            nn += 1
            runs += 1
            i = j
        skel[sp] = NEWLINE
        sp += 1
        runs_per_var[oi] = runs
    return sp, nn


@njit(cache=True, nogil=True)
def number_keys(col_of_var, runs_per_var, n_numbers):
    """(column, chunk index) of every number, numbers in variable order; -1
    column when the counts disagree (hostile input)."""
    cols = np.empty(n_numbers, np.int64)
    ks = np.empty(n_numbers, np.int64)
    p = 0
    for v in range(col_of_var.shape[0]):
        r = runs_per_var[v]
        if p + r > n_numbers:
            cols[:] = -1
            return cols, ks
        for k in range(r):
            cols[p] = col_of_var[v]
            ks[p] = k
            p += 1
    if p != n_numbers:
        cols[:] = -1
    return cols, ks


@njit(cache=True, nogil=True)
def group_order(cols, ks, n_cols):
    """Counting sort of the numbers by group (column, chunk index): returns
    (perm, gid): number ``perm[j]`` is the j-th in group order, ``gid[i]``
    the group of number i. Columns must be in [0, n_cols)."""
    n = cols.shape[0]
    maxk = np.zeros(n_cols, np.int64)
    for i in range(n):
        if ks[i] + 1 > maxk[cols[i]]:
            maxk[cols[i]] = ks[i] + 1
    gbase = np.empty(n_cols + 1, np.int64)
    gbase[0] = 0
    for c in range(n_cols):
        gbase[c + 1] = gbase[c] + maxk[c]
    ng = gbase[n_cols]
    start = np.zeros(ng + 1, np.int64)
    gid = np.empty(n, np.int64)
    for i in range(n):
        g = gbase[cols[i]] + ks[i]
        gid[i] = g
        start[g + 1] += 1
    for g in range(ng):
        start[g + 1] += start[g]
    perm = np.empty(n, np.int64)
    for i in range(n):
        g = gid[i]
        perm[start[g]] = i
        start[g] += 1
    return perm, gid


@njit(cache=True, nogil=True)
def delta_by_group(values, perm, gid):
    """Residuals in group order: each value minus the one before it in its
    group (a group's first value stays as it is)."""
    n = perm.shape[0]
    out = np.empty(n, np.int64)
    for j in range(n):
        i = perm[j]
        if j > 0 and gid[perm[j - 1]] == gid[i]:
            out[j] = values[i] - values[perm[j - 1]]
        else:
            out[j] = values[i]
    return out


@njit(cache=True, nogil=True)
def undelta_by_group(res, perm, gid):
    """Inverse of :func:`delta_by_group`: the values in number order."""
    n = perm.shape[0]
    out = np.empty(n, np.int64)
    for j in range(n):
        i = perm[j]
        if j > 0 and gid[perm[j - 1]] == gid[i]:
            out[i] = out[perm[j - 1]] + res[j]
        else:
            out[i] = res[j]
    return out


# ------------------------------------------------------------------ decode --

@njit(cache=True, nogil=True)
def index_items(buf, marker):
    """Ends (newline positions) of the newline-ended items in ``buf`` and how
    many ``marker`` bytes each holds; bytes after the last newline are not an
    item (the caller checks that the buffer ends with one)."""
    n = 0
    for i in range(buf.shape[0]):
        n += buf[i] == NEWLINE
    # one pass without branches: each byte stores its position and the marker
    # count so far at the current item (the last store of an item is at its
    # newline), so no store is read back inside the loop; marks are then the
    # differences (skeleton streams of short items: 0.23 -> 0.17 ms on 236 KB)
    ends = np.empty(n + 1, np.int64)
    upto = np.empty(n + 1, np.int64)
    k = 0
    m = 0
    for i in range(buf.shape[0]):
        c = buf[i]
        m += c == marker
        ends[k] = i
        upto[k] = m
        k += c == NEWLINE
    marks = np.empty(n, np.int64)
    before = 0
    for j in range(n):
        marks[j] = upto[j] - before
        before = upto[j]
    return ends[:n], marks


@njit(cache=True, nogil=True)
def column_counts(line_tid, slots, slot_base, stride, n_cols):
    """Variables per column implied by the line template ids."""
    cnt = np.zeros(n_cols, np.int64)
    for li in range(line_tid.shape[0]):
        t = line_tid[li]
        if t > 0:
            b = slot_base[t]
            for s in range(slots[t]):
                cnt[b + s * stride[t]] += 1
    return cnt


#: "00" "01" ... "99": two digits per division in :func:`_put_decimal`
_DIGIT_PAIRS = np.frombuffer("".join(f"{i:02d}" for i in range(100)).encode(), np.uint8).copy()


@njit(cache=True, nogil=True, inline="always")
def _put_decimal(out, op, cap, x, width):
    """Write x >= 0 in decimal, zero-padded to ``width`` digits, at op (below
    ``cap``); returns the new position or -1 (x negative or needing more
    digits, width 0, no room). One pass from the last digit, two digits per (unsigned)
    division; x left over after ``width`` digits means it needed more (a
    first pass counting the digits, then one digit per signed division, took
    ~15% of decoding a log block of many numbers)."""
    if x < 0 or width == 0 or op + width > cap:
        return -1
    u = np.uint64(x)
    k = op + width
    pairs = _DIGIT_PAIRS
    while k - op >= 2 and u >= np.uint64(10):
        q = u // np.uint64(100)
        r = np.int64(u - q * np.uint64(100)) * 2
        out[k - 2] = pairs[r]
        out[k - 1] = pairs[r + 1]
        u = q
        k -= 2
    while k > op:
        q = u // np.uint64(10)
        out[k - 1] = DIGIT0 + np.uint8(u - q * np.uint64(10))
        u = q
        k -= 1
    if u != np.uint64(0):
        return -1
    return op + width


@njit(cache=True, nogil=True)
def next_stops(buf):
    """For each position of ``buf`` (newline-ended templates), where the next
    PLACEHOLDER or NEWLINE is, at or after it (``buf.size`` past the last)."""
    n = buf.shape[0]
    out = np.empty(n + 1, np.int64)
    out[n] = n
    for i in range(n - 1, -1, -1):
        c = buf[i]
        out[i] = i if (c == PLACEHOLDER or c == NEWLINE) else out[i + 1]
    return out


@njit(cache=True, nogil=True)
def render(out, cap, line_tid, slots, tmpl_buf, tmpl_stop, tmpl_s, tmpl_e, slot_base, stride, col_start, skel_buf,
           skel_s, skel_e, num_start, values, widths, raw_buf, raw_s, raw_e, final_newline, select, line_start):
    """Write the selected lines back into out[:cap] (each with its newline,
    the last one's only when ``final_newline``); ``line_start[li]`` gets
    where line li starts in ``out`` (-1 when not selected). Unselected lines
    only move the column cursors. Returns bytes written, or -1 on
    inconsistent input.

    A template's text between placeholders (``tmpl_stop``: :func:`next_stops`
    of ``tmpl_buf``), raw lines and skeletons without digit chunks
    (``num_start[v + 1] == num_start[v]``; ``num_start`` has one entry more
    than the variables) are copied in 16-byte moves: ``out`` keeps 16 bytes
    after ``cap`` and ``tmpl_buf``, ``skel_buf`` and ``raw_buf`` 16 after
    their ends, which the copies may read or overwrite."""
    n_cols = col_start.shape[0] - 1
    cursor = col_start[:-1].copy()
    op = np.int64(0)  # not 0: see _count_tokens
    raw_i = 0
    n_lines = line_tid.shape[0]
    for li in range(n_lines):
        t = line_tid[li]
        if not select[li]:
            line_start[li] = -1
            if t == 0:
                raw_i += 1
            else:
                for slot in range(slots[t]):
                    col = slot_base[t] + slot * stride[t]
                    if col >= n_cols or cursor[col] >= col_start[col + 1]:
                        return -1
                    cursor[col] += 1
            continue
        line_start[li] = op
        if t == 0:
            if raw_i >= raw_s.shape[0]:
                return -1
            a = raw_s[raw_i]
            b = raw_e[raw_i]
            raw_i += 1
            if op + (b - a) > cap:
                return -1
            copy_chunks(out, op, raw_buf, a, b - a)
            op += b - a
        else:
            slot = 0
            i = tmpl_s[t]
            te = tmpl_e[t]
            while True:
                j = min(tmpl_stop[i], te)
                if op + (j - i) > cap:
                    return -1
                copy_chunks(out, op, tmpl_buf, i, j - i)
                op += j - i
                if j >= te:
                    break
                i = j + 1
                col = slot_base[t] + slot * stride[t]
                slot += 1
                if col >= n_cols:
                    return -1
                v = cursor[col]
                cursor[col] += 1
                if v >= col_start[col + 1]:
                    return -1
                a = skel_s[v]
                b = skel_e[v]
                if num_start[v + 1] == num_start[v]:
                    # no digit chunk: the skeleton is the variable's text (skel_buf
                    # keeps COPY_SLACK bytes after its end, as tmpl_buf does)
                    if b < a or op + (b - a) > cap:
                        return -1
                    copy_chunks(out, op, skel_buf, a, b - a)
                    op += b - a
                else:
                    op = _put_var(out, op, cap, skel_buf, a, b, num_start[v], values, widths)
                    if op < 0:
                        return -1
        if li < n_lines - 1 or final_newline:
            if op >= cap:
                return -1
            out[op] = NEWLINE
            op += 1
    if raw_i != raw_s.shape[0]:
        return -1
    return op


@njit(cache=True, nogil=True)
def _put_var(out, op, cap, skel_buf, a, b, nk, values, widths):
    for x in range(a, b):
        c = skel_buf[x]
        if c == NUMBER:
            if nk >= values.shape[0] or values[nk] < 0:
                return -1
            op = _put_decimal(out, op, cap, values[nk], widths[nk])
            nk += 1
            if op < 0:
                return -1
        else:
            if op >= cap:
                return -1
            out[op] = c
            op += 1
    return op


@njit(cache=True, nogil=True)
def render_vars(skel_buf, skel_s, skel_e, num_start, values, widths):
    """Every variable's text, each ended by a newline, in column order:
    (bytes, start of each variable); empty and -1 on inconsistent input."""
    n = skel_s.shape[0]
    size = 0
    for v in range(n):
        for x in range(skel_s[v], skel_e[v]):
            size += 1
        size += 1
    for k in range(num_start[n] if n else 0):
        size += widths[k] - 1
    out = np.empty(max(size, 0), np.uint8)
    starts = np.empty(n + 1, np.int64)
    op = np.int64(0)  # not 0: see _count_tokens
    for v in range(n):
        starts[v] = op
        op = _put_var(out, op, out.shape[0], skel_buf, skel_s[v], skel_e[v], num_start[v], values, widths)
        if op < 0 or op >= out.shape[0]:
            return out[:0], starts[:0]
        out[op] = NEWLINE
        op += 1
    starts[n] = op
    return out[:op], starts


@njit(cache=True, nogil=True)
def var_lines(line_tid, slots, slot_base, stride, col_start):
    """The line of every variable (column order); empty on inconsistent input."""
    n_cols = col_start.shape[0] - 1
    cursor = col_start[:-1].copy()
    out = np.full(col_start[n_cols], -1, np.int64)
    for li in range(line_tid.shape[0]):
        t = line_tid[li]
        if t == 0:
            continue
        for slot in range(slots[t]):
            col = slot_base[t] + slot * stride[t]
            if col >= n_cols or cursor[col] >= col_start[col + 1]:
                return out[:0]
            out[cursor[col]] = li
            cursor[col] += 1
    return out


# ------------------------------------------------------- whole-block decode --

@njit(cache=True, nogil=True, inline="always")
def _copy(out, op, src, a, ln):
    """out[op:op+ln] = src[a:a+ln]: 16-byte moves where both arrays have the
    slack after the span (no padded copies of the streams), else byte by byte."""
    if ln > 64 or (a + ln + 16 <= src.shape[0] and op + ln + 16 <= out.shape[0]):
        copy_chunks(out, op, src, a, ln)
    else:
        for k in range(ln):
            out[op + k] = src[a + k]


#: the bit index of a 64-bit word's lowest set bit, by de Bruijn multiplication
#: (``_DEBRUIJN_INDEX[(low * DEBRUIJN64) >> 58]`` for ``low`` a power of two)
DEBRUIJN64 = 0x03F79D71B4CB0A89
_DEBRUIJN_INDEX = np.zeros(64, np.int64)
for _i in range(64):
    _DEBRUIJN_INDEX[((1 << _i) * DEBRUIJN64 & ((1 << 64) - 1)) >> 58] = _i
del _i


def byte_bits(buf: np.ndarray, byte: int) -> np.ndarray:
    """A bit per byte of ``buf`` (whole 64-byte words only: the tail is left
    out), set where the byte is ``byte``: uint64 words, bit k of word w for
    byte 64 w + k. NumPy's compare and packbits run vectorized; a Numba loop
    over the bytes testing each ran at ~0.5 ns a byte, 4-5x slower."""
    n = buf.shape[0] // 64 * 64
    return np.packbits(buf[:n] == byte, bitorder="little").view(np.uint64)


def byte_bits_counted(buf: np.ndarray, byte: int) -> tuple[np.ndarray, int]:
    """(:func:`byte_bits` of ``buf``, how many bytes of the whole ``buf`` are ``byte``)."""
    hit = buf == byte
    n = buf.shape[0] // 64 * 64
    return np.packbits(hit[:n], bitorder="little").view(np.uint64), int(np.count_nonzero(hit))


@njit(cache=True, nogil=True)
def _index_skeletons(sbuf, newline_bits, number_bits, var_end, var_num0, num_pos):
    """Walk the set bits of :func:`byte_bits` (newlines, NUMBER bytes) of the
    skeletons and the bytes after the last whole word: ``var_end[v]`` gets
    skeleton v's newline, ``var_num0[v + 1]`` the NUMBER bytes up to it,
    ``num_pos`` each NUMBER's position. Returns (skeletons, numbers) found,
    stopping at the arrays' capacity (the caller compares the counts)."""
    cap_v = var_end.shape[0] - 1
    cap_n = num_pos.shape[0] - 1
    v = 0
    nn = 0
    db = _DEBRUIJN_INDEX
    mul = np.uint64(DEBRUIJN64)
    for w in range(newline_bits.shape[0]):
        mn = newline_bits[w]
        m = mn | number_bits[w]
        base = w * 64
        while m:
            low = m & (~m + np.uint64(1))
            pos = base + db[(low * mul) >> np.uint64(58)]
            if low & mn:
                if v >= cap_v:
                    return v + 1, nn
                var_end[v] = pos
                v += 1
                var_num0[v] = nn
            else:
                if nn >= cap_n:
                    return v, nn + 1
                num_pos[nn] = pos
                nn += 1
            m ^= low
    for pos in range(newline_bits.shape[0] * 64, sbuf.shape[0]):
        c = sbuf[pos]
        if c == NEWLINE:
            if v >= cap_v:
                return v + 1, nn
            var_end[v] = pos
            v += 1
            var_num0[v] = nn
        elif c == NUMBER:
            if nn >= cap_n:
                return v, nn + 1
            num_pos[nn] = pos
            nn += 1
    return v, nn


@njit(cache=True, nogil=True)
def _index_templates(tbuf, newline_bits, ph_bits, n_t, tmpl_s, tmpl_e, ph_first, ph_pos):
    """Walk the set bits of :func:`byte_bits` (newlines, PLACEHOLDER bytes) of
    the templates stream and the bytes after the last whole word: template t
    (1..n_t) spans tbuf[tmpl_s[t]:tmpl_e[t]] (its newline at tmpl_e[t]), its
    placeholders are ph_pos[ph_first[t]:ph_first[t + 1]]. Returns (templates
    + 1, placeholders) found, stopping at n_t templates or at ph_pos's
    capacity (the caller compares the counts). A byte loop testing each
    byte (twice: a count, then the index) took ~0.7 ns a byte, 1 ms of
    decoding gdb's check.log (1.35 MB of templates)."""
    cap_ph = ph_pos.shape[0] - 1
    t = 1
    a = 0
    ph = 0
    db = _DEBRUIJN_INDEX
    mul = np.uint64(DEBRUIJN64)
    for w in range(newline_bits.shape[0]):
        mn = newline_bits[w]
        m = mn | ph_bits[w]
        base = w * 64
        while m:
            low = m & (~m + np.uint64(1))
            i = base + db[(low * mul) >> np.uint64(58)]
            if low & mn:
                if t > n_t:
                    return t + 1, ph
                tmpl_s[t] = a
                tmpl_e[t] = i
                t += 1
                a = i + 1
                if t <= n_t:
                    ph_first[t] = ph
            else:
                if ph >= cap_ph:
                    return t, ph + 1
                ph_pos[ph] = i
                ph += 1
            m ^= low
    for i in range(newline_bits.shape[0] * 64, tbuf.shape[0]):
        c = tbuf[i]
        if c == PLACEHOLDER:
            if ph >= cap_ph:
                return t, ph + 1
            ph_pos[ph] = i
            ph += 1
        elif c == NEWLINE:
            if t > n_t:
                return t + 1, ph
            tmpl_s[t] = a
            tmpl_e[t] = i
            t += 1
            a = i + 1
            if t <= n_t:
                ph_first[t] = ph
    return t, ph


@njit(cache=True, nogil=True)
def decode_whole(out, cap, tbuf, n_t, n_common, ids, sbuf, newline_bits, number_bits, n_vars, res, widths, rbuf, n_raw,
                 final_newline, mbuf, mends, tails, t_newline_bits, t_ph_bits, n_ph):
    """Every line of a block written into out[:cap] in one kernel (the decoder's
    path; :func:`render` serves chosen lines): returns the bytes written, or a
    negative code on inconsistent streams (-1 templates, -2 template ids,
    -3 variables, -4 skeletons, -5 numbers, -6 raw lines, -7 output size, -8 messages).

    Where :class:`cobol.layers.l2_log.LogBlock` indexes every skeleton and
    puts the numbers back in variable order (a permutation of them all) before
    rendering, this kernel walks the skeleton stream once, column by column,
    to find where each skeleton ends, whether it holds digit chunks, and how
    many chunks each (column, chunk index) group holds; rendering then undoes
    the groups' delta coding as it goes (one cursor and running value per
    group: a column's variables are rendered in their stored order, which is
    the order inside each of its groups). No stream is copied to pad it: a
    span near an array's end is copied byte by byte.

    ``tails`` (params version 5): a template whose last byte is TAIL ends in
    the line's message, the next newline-ended item of ``mbuf`` (``mends``:
    its newlines' positions, increasing; every item must be used, -8
    otherwise).

    ``t_newline_bits``, ``t_ph_bits``: :func:`byte_bits` of ``tbuf`` for
    NEWLINE and PLACEHOLDER; ``n_ph``: the PLACEHOLDER bytes in ``tbuf``
    (:func:`byte_bits_counted`; a wrong count gives -1)."""
    # templates: where each ends, how many placeholders each holds
    tlen = tbuf.shape[0]
    if n_t > tlen or (tlen and tbuf[tlen - 1] != NEWLINE):
        return -1
    tmpl_s = np.zeros(n_t + 1, np.int64)
    tmpl_e = np.zeros(n_t + 1, np.int64)
    slots = np.zeros(n_t + 1, np.int64)
    ph_first = np.zeros(n_t + 1, np.int64)  # each template's first placeholder in ph_pos
    if n_ph < 0 or n_ph > tlen:
        return -1
    ph_pos = np.empty(n_ph + 1, np.int64)
    t, ph = _index_templates(tbuf, t_newline_bits, t_ph_bits, n_t, tmpl_s, tmpl_e, ph_first, ph_pos)
    if t != n_t + 1 or ph != n_ph:
        return -1
    tail = np.zeros(n_t + 1, np.bool_)
    for t in range(1, n_t + 1):
        nxt = ph_first[t + 1] if t < n_t else n_ph
        slots[t] = nxt - ph_first[t]
        if tails and tmpl_e[t] > tmpl_s[t] and tbuf[tmpl_e[t] - 1] == TAIL:
            tail[t] = True
            tmpl_e[t] -= 1
    # columns: templates 1..n_common a column per slot, the others one shared column
    if n_common > n_t:
        return -1
    slot_base = np.zeros(n_t + 1, np.int64)
    stride = np.zeros(n_t + 1, np.int64)
    n_own = 0
    for t in range(1, n_common + 1):
        slot_base[t] = n_own
        stride[t] = 1
        n_own += slots[t]
    for t in range(n_common + 1, n_t + 1):
        slot_base[t] = n_own
    n_cols = n_own + (1 if n_common < n_t else 0)
    col_start = np.zeros(n_cols + 1, np.int64)
    n_lines = ids.shape[0]
    raw_lines = 0
    for li in range(n_lines):
        t = ids[li]
        if t < 0 or t > n_t:
            return -2
        if t == 0:
            raw_lines += 1
        elif t <= n_common:
            b = slot_base[t]
            for s in range(slots[t]):
                col_start[b + s + 1] += 1
        else:
            col_start[n_own + 1] += slots[t]
    if raw_lines != n_raw:
        return -6
    for c in range(n_cols):
        col_start[c + 1] += col_start[c]
    if col_start[n_cols] != n_vars:
        return -3
    # skeletons: where each ends and where its digit chunks are
    slen = sbuf.shape[0]
    if n_vars > slen or (slen and sbuf[slen - 1] != NEWLINE) or (n_vars == 0 and slen):
        return -4
    var_end = np.empty(n_vars + 1, np.int64)
    var_num0 = np.zeros(n_vars + 2, np.int64)  # numbers before each skeleton (one extra at the end)
    num_pos = np.empty(min(res.shape[0], slen) + 1, np.int64)
    v, nn = _index_skeletons(sbuf, newline_bits, number_bits, var_end, var_num0, num_pos)
    if v != n_vars or nn != res.shape[0]:
        return -4
    max_nums = 0
    for v in range(n_vars):
        m = var_num0[v + 1] - var_num0[v]
        if m > max_nums:
            max_nums = m
    # groups (column, chunk index): their first number in the numbers stream
    n_num = res.shape[0]
    if widths.shape[0] != n_num:
        return -5
    per_k = np.zeros(max_nums + 1, np.int64)
    group_base = np.zeros(n_cols + 1, np.int64)
    group_first = np.zeros(n_num + 1, np.int64)
    g = 0
    first = 0
    for c in range(n_cols):
        group_base[c] = g
        top = 0
        for v in range(col_start[c], col_start[c + 1]):
            m = var_num0[v + 1] - var_num0[v]
            for k in range(m):
                per_k[k] += 1
            if m > top:
                top = m
        for k in range(top):
            group_first[g] = first
            first += per_k[k]
            per_k[k] = 0
            g += 1
    group_base[n_cols] = g
    if first != n_num:
        return -5
    group_first[g] = first
    group_at = group_first[:g].copy()
    group_value = np.zeros(max(g, 1), np.int64)
    # the lines
    cursor = col_start[:n_cols].copy()
    op = np.int64(0)  # not 0: see _count_tokens
    rpos = 0
    rlen = rbuf.shape[0]
    mpos = 0
    mi = 0
    mlen = mbuf.shape[0]
    for li in range(n_lines):
        t = ids[li]
        if t == 0:
            e = rpos
            while e < rlen and rbuf[e] != NEWLINE:
                e += 1
            if e >= rlen or op + (e - rpos) > cap:
                return -6
            _copy(out, op, rbuf, rpos, e - rpos)
            op += e - rpos
            rpos = e + 1
        else:
            i = tmpl_s[t]
            te = tmpl_e[t]
            p0 = ph_first[t]
            for slot in range(slots[t] + 1):
                # the template's text up to its next placeholder (or its end), then that variable
                j = ph_pos[p0 + slot] if slot < slots[t] else te
                if op + (j - i) > cap:
                    return -7
                _copy(out, op, tbuf, i, j - i)
                op += j - i
                if slot == slots[t]:
                    break
                i = j + 1
                col = slot_base[t] + slot * stride[t]
                v = cursor[col]
                cursor[col] += 1
                a = var_end[v - 1] + 1 if v > 0 else 0
                b = var_end[v]
                if op + (b - a) > cap:
                    return -7
                q = var_num0[v]
                q_end = var_num0[v + 1]
                if q == q_end:
                    _copy(out, op, sbuf, a, b - a)
                    op += b - a
                    continue
                gk = group_base[col]
                while True:
                    # the literal run before the next digit chunk (or the skeleton's end)
                    x = num_pos[q] if q < q_end else b
                    if op + (x - a) > cap:
                        return -7
                    _copy(out, op, sbuf, a, x - a)
                    op += x - a
                    if q == q_end:
                        break
                    at = group_at[gk]
                    group_at[gk] = at + 1
                    val = res[at] if at == group_first[gk] else group_value[gk] + res[at]
                    group_value[gk] = val
                    if val < 0:
                        return -5
                    op = _put_decimal(out, op, cap, val, widths[at])
                    if op < 0:
                        return -5
                    gk += 1
                    q += 1
                    a = x + 1
            if tail[t]:
                if mi >= mends.shape[0]:
                    return -8
                e = mends[mi]
                mi += 1
                if e < mpos or e >= mlen:
                    return -8
                if op + (e - mpos) > cap:
                    return -7
                _copy(out, op, mbuf, mpos, e - mpos)
                op += e - mpos
                mpos = e + 1
        if li < n_lines - 1 or final_newline:
            if op >= cap:
                return -7
            out[op] = NEWLINE
            op += 1
    if rpos != rlen:
        return -6
    if mi != mends.shape[0] or mpos != mlen:
        return -8
    return op
