"""Numba kernels behind the XML/HTML layer (:mod:`cobol.layers.l2_markup`), one job each.

Encode side: skeleton and attribute hashes, skeleton verification, the nesting
walk, indentation statistics, the symbol/segment emitter and the per-group
gathering. Decode side: :func:`_decode_kernel` rebuilds a block from hostile
streams and returns an error code (``E_*``) instead of reading or writing out
of bounds. The symbol and misc-group numbers are part of the format (see the
layer's docstring).
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import trailing_zeros

from . import markup_tokenizer as mt
from .l1_semantic import decode_item
from .primitives import (
    COPY_SLACK, FNV64_OFFSET, NO_NRT, build_span_table, copy_chunks, copy_to_nul, fnv1a64_step, hash_span_words,
    load_u64, move_bytes, put_varint, spans_equal, table_capacity, table_slot, zero_byte_mask,
)

# symbols
S_END = 0
S_TEXT = 1
S_INDENT = 2
S_INDENT_BACK = 3
S_WS = 4
S_COMMENT = 5
S_CDATA = 6
S_PI = 7
S_DECL = 8
S_NUL = 9
S_SKEL = 16

# misc groups (in the misc stream, in this order)
G_WS = 0
G_COMMENT = 1
G_CDATA = 2
G_PI = 3
G_DECL = 4
N_MISC = 5
# (symbols S_WS..S_DECL are the misc groups in the same order: symbol = S_WS + group)
assert (S_COMMENT, S_CDATA, S_PI, S_DECL) == (S_WS + G_COMMENT, S_WS + G_CDATA, S_WS + G_PI, S_WS + G_DECL)

#: delimiters around a misc group's content (the stream holds what is between them)
MISC_DELIMITERS = ((b"", b""), (b"<!--", b"-->"), (b"<![CDATA[", b"]]>"), (b"<?", b"?>"), (b"", b""))
#: the same as one byte array: group g opens with [off[2g], off[2g+1]) and closes with [off[2g+1], off[2g+2])
MISC_DELIM_BYTES = np.frombuffer(b"".join(a + b for a, b in MISC_DELIMITERS), np.uint8)
MISC_DELIM_OFF = np.cumsum([0] + [len(x) for pair in MISC_DELIMITERS for x in pair]).astype(np.int64)

#: an end tag that does not close the top element looks this many open elements down for its own
MAX_POP_SEARCH = 256


@njit(cache=True, nogil=True, **NO_NRT)
def _skeleton_hashes(buf, kinds, starts, attr_lo, a_val_s, a_val_e, out):
    """64-bit hash of each tag token's skeleton (0 for other tokens): its spans
    between the value holes (hash_span_words), each hole a step of its own (a
    skeleton's NUL: markup tokens hold no NUL, so the spans of equal skeletons
    are equal). Only equal skeletons are grouped by it: its values are not stored."""
    for t in range(kinds.size):
        k = kinds[t]
        if k != mt.START and k != mt.END:
            out[t] = 0
            continue
        h = FNV64_OFFSET ^ np.uint64(k)
        p = starts[t]
        e = starts[t + 1]
        for a in range(attr_lo[t], attr_lo[t + 1]):
            vs = a_val_s[a]
            if vs < 0:
                continue
            h = hash_span_words(h, buf, p, vs)
            h = fnv1a64_step(h, 0)
            p = a_val_e[a]
        h = hash_span_words(h, buf, p, e)
        out[t] = h | np.uint64(1)


@njit(cache=True, nogil=True, **NO_NRT)
def _attribute_hashes(buf, a_name_s, a_name_e, a_val_s, a_val_e, out):
    """64-bit hash of each valued attribute's name=value pair (0 when valueless)."""
    for a in range(a_name_s.size):
        if a_val_s[a] < 0:
            out[a] = 0
            continue
        h = hash_span_words(FNV64_OFFSET, buf, a_name_s[a], a_name_e[a])
        h = fnv1a64_step(h, 0x100)  # between name and value: no byte has this value
        h = hash_span_words(h, buf, a_val_s[a], a_val_e[a])
        out[a] = h | np.uint64(1)


#: slots (a power of two) of the counting filter of :func:`_frequent_pairs`:
#: 256 KiB of counters, in the L2 cache
FOLD_FILTER_SLOTS = 1 << 16


@njit(cache=True, nogil=True)
def _frequent_pairs(h, min_count):
    """Which entries of ``h`` (attribute pair hashes, 0 = valueless) occur at
    least ``min_count`` times: a bool mask. A first pass counts hashes into
    FOLD_FILTER_SLOTS counters (a slot counts every hash that lands on it, so
    never less than each one's own count); only hashes whose slot reaches
    ``min_count`` are counted exactly, in a table sized for them. Where most
    pairs are rare (ids, coordinates, paths) that is a small fraction, and
    the exact table stays in the cache (unique_hashes over every pair built a
    table of all of them)."""
    n = h.size
    fmask = np.uint64(FOLD_FILTER_SLOTS - 1)
    filt = np.zeros(FOLD_FILTER_SLOTS, np.int64)
    for i in range(n):
        x = h[i]
        if x != 0:
            filt[table_slot(x, fmask)] += 1
    m = 0
    for i in range(n):
        x = h[i]
        if x != 0 and filt[table_slot(x, fmask)] >= min_count:
            m += 1
    out = np.zeros(n, np.bool_)
    if m == 0:
        return out
    size = table_capacity(m)
    mask = np.uint64(size - 1)
    keys = np.zeros(size, np.uint64)
    cnt = np.zeros(size, np.int64)
    for i in range(n):
        x = h[i]
        if x == 0 or filt[table_slot(x, fmask)] < min_count:
            continue
        slot = table_slot(x, mask)
        while keys[slot] != 0 and keys[slot] != x:
            slot = (slot + np.uint64(1)) & mask
        keys[slot] = x
        cnt[slot] += 1
    for i in range(n):
        x = h[i]
        if x == 0 or filt[table_slot(x, fmask)] < min_count:
            continue
        slot = table_slot(x, mask)
        while keys[slot] != x:
            slot = (slot + np.uint64(1)) & mask
        out[i] = cnt[slot] >= min_count
    return out


@njit(cache=True, nogil=True, inline="always")
def _write_skeleton(buf, starts, attr_lo, a_val_s, a_val_e, t, out, o):
    p = starts[t]
    e = starts[t + 1]
    for a in range(attr_lo[t], attr_lo[t + 1]):
        vs = a_val_s[a]
        if vs < 0:
            continue
        for j in range(p, vs):
            out[o] = buf[j]
            o += 1
        out[o] = 0
        o += 1
        p = a_val_e[a]
    for j in range(p, e):
        out[o] = buf[j]
        o += 1
    return o


@njit(cache=True, nogil=True, **NO_NRT)
def _collect_skeletons(buf, starts, attr_lo, a_val_s, a_val_e, reps, offsets, out):
    o = np.int64(0)
    offsets[0] = 0
    for i in range(reps.size):
        o = _write_skeleton(buf, starts, attr_lo, a_val_s, a_val_e, reps[i], out, o)
        offsets[i + 1] = o


@njit(cache=True, nogil=True, **NO_NRT)
def _verify_skeletons(buf, starts, attr_lo, a_val_s, a_val_e, tags, tag_sk, sk_data, sk_off, scratch):
    """True when every tag token's skeleton equals the one its hash mapped to."""
    for i in range(tags.size):
        t = tags[i]
        s = tag_sk[i]
        ln = _write_skeleton(buf, starts, attr_lo, a_val_s, a_val_e, t, scratch, np.int64(0))
        a = sk_off[s]
        if ln != sk_off[s + 1] - a:
            return False
        for j in range(ln):
            if scratch[j] != sk_data[a + j]:
                return False
    return True


@njit(cache=True, nogil=True, inline="always")
def _close_element(stack, d, name_fold, f):
    """An end tag that is not the predicted one closes the nearest open element
    of its (case-folded) name ``f`` within MAX_POP_SEARCH of the top, and every
    element above it; with none, nothing closes. Returns the new depth. (One
    rule for the encoder's walk and the decoder.)"""
    lo = max(0, d - MAX_POP_SEARCH)
    j = d - 1
    while j >= lo:
        if name_fold[stack[j]] == f:
            return j
        j -= 1
    return d


@njit(cache=True, nogil=True, inline="always")
def _read_varint(src, i, n, max_shift):
    """LEB128 varint from src[i:n] with shifts up to ``max_shift`` bits ->
    (value, position after it, ok); not ok when it runs past n or max_shift.
    Not :func:`cobol.layers.primitives.read_varint`: this layer's decoder has
    always accepted non-minimal varints and bounds the width per field, so
    swapping it would change which streams decode."""
    v = np.int64(0)
    shift = 0
    while True:
        if i >= n or shift > max_shift:
            return v, i, False
        b = src[i]
        i += 1
        v |= np.int64(b & 0x7F) << shift
        if b < 0x80:
            return v, i, True
        shift += 7


@njit(cache=True, nogil=True, **NO_NRT)
def _walk(kinds, tok_sk, sk_is_end, sk_push, sk_canon, sk_name, name_fold, tok_code, tok_depth, tok_parent, stack):
    """Run the nesting stack over the tokens.

    tok_code: S_END for predicted end tags, S_SKEL + id for other tags.
    tok_depth / tok_parent: stack depth and top name id (-1 at the root) at
    each token. ``stack``: scratch of ``kinds.size + 1`` int32.
    """
    d = 0
    for t in range(kinds.size):
        tok_depth[t] = d
        tok_parent[t] = stack[d - 1] if d > 0 else -1
        k = kinds[t]
        if k == mt.START:
            s = tok_sk[t]
            tok_code[t] = S_SKEL + s
            if sk_push[s]:
                stack[d] = sk_name[s]
                d += 1
        elif k == mt.END:
            s = tok_sk[t]
            nm = sk_name[s]
            if sk_canon[s] and d > 0 and stack[d - 1] == nm:
                tok_code[t] = S_END
                d -= 1
            else:
                tok_code[t] = S_SKEL + s
                d = _close_element(stack, d, name_fold, name_fold[nm])


@njit(cache=True, nogil=True, inline="always")
def _is_ws(buf, a, b):
    for j in range(a, b):
        c = buf[j]
        if c != 32 and c != 9 and c != 10 and c != 13 and c != 12:
            return False
    return True


@njit(cache=True, nogil=True, inline="always")
def _indent_match(buf, a, b, nl, unit, depth):
    """buf[a:b] == nl + unit * depth ?"""
    ln = nl.size + unit.size * depth
    if depth < 0 or b - a != ln:
        return False
    for j in range(nl.size):
        if buf[a + j] != nl[j]:
            return False
    p = a + nl.size
    u = unit.size
    for j in range(ln - nl.size):
        if buf[p + j] != unit[j % u]:
            return False
    return True


@njit(cache=True, nogil=True, **NO_NRT)
def _indent_hits(buf, kinds, starts, tok_depth, unit_byte, unit_len, hits):
    """For each whitespace-only text token that starts with a newline (LF:
    kind 1, CRLF: kind 2) and then holds spaces or tabs only: for each
    candidate unit u (its byte ``unit_byte[u]``, repeated ``unit_len[u]``
    times), whether the indent is made of that byte (or empty) and is u times
    the token's depth or depth - 1; adds those to ``hits[kind - 1, u]``."""
    for t in range(kinds.size):
        if kinds[t] != mt.TEXT:
            continue
        a = starts[t]
        b = starts[t + 1]
        if buf[a] == 10:
            nk = 0
            p = a + 1
        elif buf[a] == 13 and a + 1 < b and buf[a + 1] == 10:
            nk = 1
            p = a + 2
        else:
            continue
        c = -1
        ok = True
        for j in range(p, b):
            x = buf[j]
            if x != 32 and x != 9:
                ok = False
                break
            if c < 0:
                c = x
            elif x != c:
                c = -2
        if not ok:
            continue
        ln = b - p
        d = np.int64(tok_depth[t])
        for u in range(unit_len.size):
            w = unit_len[u]
            if (c == unit_byte[u] or ln == 0) and (ln == w * d or ln == w * (d - 1)):
                hits[nk, u] += 1


@njit(cache=True, nogil=True, inline="always")
def _misc_group(k):
    """Misc group of a comment, CDATA section, PI or declaration token."""
    if k == mt.COMMENT:
        return G_COMMENT
    if k == mt.CDATA:
        return G_CDATA
    if k == mt.PI:
        return G_PI
    return G_DECL


@njit(cache=True, nogil=True, **NO_NRT)
def _emit(buf, kinds, starts, attr_lo, a_val_s, a_val_e, tok_code, tok_depth, tok_parent,
          nl, unit, text_group_of, hole_lo, hole_group, text_base,
          sym, seg_s, seg_e, seg_g):
    """Write the symbol stream and the list of segments (start, end, group) to
    gather; return (symbol bytes, segment count)."""
    o = 0
    ns = 0
    use_indent = unit.size > 0
    for t in range(kinds.size):
        k = kinds[t]
        a = starts[t]
        b = starts[t + 1]
        if k == mt.START:
            c = tok_code[t]
            o = put_varint(sym, o, np.uint64(c))
            s = c - S_SKEL
            h = hole_lo[s]
            for at in range(attr_lo[t], attr_lo[t + 1]):
                vs = a_val_s[at]
                if vs < 0:
                    continue
                seg_s[ns] = vs
                seg_e[ns] = a_val_e[at]
                seg_g[ns] = hole_group[h]
                h += 1
                ns += 1
        elif k == mt.END:
            o = put_varint(sym, o, np.uint64(tok_code[t]))
        elif k == mt.TEXT:
            d = np.int64(tok_depth[t])  # (int64 as d - 1 below: one specialization of _indent_match)
            if use_indent and _indent_match(buf, a, b, nl, unit, d):
                sym[o] = S_INDENT
                o += 1
            elif use_indent and _indent_match(buf, a, b, nl, unit, d - 1):
                sym[o] = S_INDENT_BACK
                o += 1
            elif _is_ws(buf, a, b):
                sym[o] = S_WS
                o += 1
                seg_s[ns] = a
                seg_e[ns] = b
                seg_g[ns] = G_WS
                ns += 1
            else:
                sym[o] = S_TEXT
                o += 1
                seg_s[ns] = a
                seg_e[ns] = b
                seg_g[ns] = text_base + text_group_of[tok_parent[t] + 1]
                ns += 1
        elif k == mt.COMMENT or k == mt.CDATA or k == mt.PI or k == mt.DECL:
            group = _misc_group(k)
            sym[o] = S_WS + group
            o += 1
            seg_s[ns] = a + (MISC_DELIM_OFF[2 * group + 1] - MISC_DELIM_OFF[2 * group])
            seg_e[ns] = b - (MISC_DELIM_OFF[2 * group + 2] - MISC_DELIM_OFF[2 * group + 1])
            seg_g[ns] = group
            ns += 1
        else:  # NUL run
            sym[o] = S_NUL
            o += 1
            o = put_varint(sym, o, np.uint64(b - a))
    return o, ns


@njit(cache=True, nogil=True)
def _skeleton_use_counts(tags, tok_code, n_skeletons):
    """How often each skeleton is emitted (tag tokens coded S_SKEL + id)."""
    cnt = np.zeros(n_skeletons, np.int64)
    for i in range(tags.size):
        c = tok_code[tags[i]]
        if c >= S_SKEL:
            cnt[c - S_SKEL] += 1
    return cnt


@njit(cache=True, nogil=True, **NO_NRT)
def _renumber(tags, tok_code, new_id, tok_parent, name_map):
    """In place: emitted skeleton codes to their new ids, parent name ids
    (-1 at the root) through name_map (indexed by id + 1)."""
    for i in range(tags.size):
        t = tags[i]
        c = tok_code[t]
        if c >= S_SKEL:
            tok_code[t] = S_SKEL + new_id[c - S_SKEL]
    for t in range(tok_parent.size):
        tok_parent[t] = name_map[tok_parent[t] + 1]


@njit(cache=True, nogil=True)
def _group_sizes(seg_s, seg_e, seg_g, ngroups):
    sizes = np.zeros(ngroups, np.int64)
    for i in range(seg_s.size):
        sizes[seg_g[i]] += seg_e[i] - seg_s[i] + 1
    return sizes


@njit(cache=True, nogil=True, **NO_NRT)
def _gather(buf, seg_s, seg_e, seg_g, pos, out):
    """Copy each segment + a NUL terminator into its group's region (stable);
    ``pos`` holds each group's start (its region's offset) and is advanced.
    Segments from 16 bytes are one memmove each (values, text), shorter ones a
    byte loop (a call would cost more)."""
    for i in range(seg_s.size):
        g = seg_g[i]
        o = pos[g]
        a = seg_s[i]
        ln = seg_e[i] - a
        if ln >= 16:
            move_bytes(out, o, buf, a, ln)
        else:
            for j in range(ln):
                out[o + j] = buf[a + j]
        out[o + ln] = 0
        pos[g] = o + ln + 1


@njit(cache=True, nogil=True)
def _value_bytes(kinds, attr_lo, a_val_s, a_val_e, tok_code, hole_lo, hole_name, nnames):
    """Total value bytes per attribute name id."""
    tot = np.zeros(nnames, np.int64)
    for t in range(kinds.size):
        if kinds[t] != mt.START:
            continue
        h = hole_lo[tok_code[t] - S_SKEL]
        for at in range(attr_lo[t], attr_lo[t + 1]):
            if a_val_s[at] < 0:
                continue
            tot[hole_name[h]] += a_val_e[at] - a_val_s[at] + 1
            h += 1
    return tot


@njit(cache=True, nogil=True)
def _text_bytes(kinds, starts, tok_code, tok_parent, nnames):
    tot = np.zeros(nnames + 1, np.int64)
    for t in range(kinds.size):
        if kinds[t] == mt.TEXT:
            tot[tok_parent[t] + 1] += starts[t + 1] - starts[t] + 1
    return tot


# error codes of the decoder kernel
E_OK = 0
E_SYMBOL = 1
E_OVERFLOW = 2
E_STREAM = 3
E_STACK = 4
E_LEFTOVER = 5
E_SHORT = 6
E_TEXT = 7
E_TEXT_SIZE = 8

_ERRORS = {
    E_SYMBOL: "unknown symbol",
    E_OVERFLOW: "output exceeds the block length",
    E_STREAM: "a text, value or misc stream ends early (missing terminator)",
    E_STACK: "predicted end tag with no open element",
    E_LEFTOVER: "streams hold bytes the symbols never used",
    E_SHORT: "output is shorter than the block length",
    E_TEXT: "a word-coded text item does not decode (bad word code or dangling flag)",
    E_TEXT_SIZE: "a word-coded text group decodes to another length than its params say",
}


@njit(cache=True, nogil=True, inline="always")
def _is_name_stop(b, in_attr):
    """Bytes that end a tag name (``in_attr`` False: white space, / > NUL) or
    an attribute name read backwards (True: also < " ' =)."""
    if b == 32 or b == 9 or b == 10 or b == 13 or b == 12 or b == 47 or b == 62 or b == 0:
        return True
    return in_attr and (b == 60 or b == 34 or b == 39 or b == 61)


@njit(cache=True, nogil=True, inline="always")
def _is_space(b):
    return b == 32 or b == 9 or b == 10 or b == 13 or b == 12


@njit(cache=True, nogil=True)
def _skeleton_parts(sk_data, sk_off):
    """What :class:`cobol.layers.l2_markup.SkeletonTable` reads from each
    skeleton, in one pass: (kind, span_s, span_e, hole_lo, bad).

    kind[s]: 1 end tag ("</"), 2 self-closing start tag ("/>" at the end), 3
    end tag exactly "</name>", 0 otherwise. The spans list, per skeleton in
    order, its tag name and then the attribute name of each value hole (NUL),
    read backwards from the hole past an optional quote, spaces, '=' and
    spaces; skeleton s owns spans hole_lo[s] + s .. hole_lo[s + 1] + s. bad:
    the first end-tag skeleton that holds a NUL (-1: none). hole_pos[h]: where
    hole h (the h-th NUL) sits (all NULs when bad is -1)."""
    n = sk_off.size - 1
    kind = np.zeros(n, np.uint8)
    nh = 0
    for j in range(sk_data.size):
        nh += sk_data[j] == 0
    span_s = np.empty(n + nh, np.int64)
    span_e = np.empty(n + nh, np.int64)
    hole_pos = np.empty(nh, np.int64)
    hole_lo = np.zeros(n + 1, np.int64)
    bad = -1
    k = 0
    for s in range(n):
        a = sk_off[s]
        e = sk_off[s + 1]
        end_tag = e - a >= 2 and sk_data[a] == 60 and sk_data[a + 1] == 47
        q = a + (2 if end_tag else 1)
        if q > e:
            q = e
        ns = q
        while q < e and not _is_name_stop(sk_data[q], False):
            q += 1
        span_s[k] = ns
        span_e[k] = q
        k += 1
        holes = 0
        if end_tag:
            kind[s] = 3 if (q == e - 1 and sk_data[q] == 62) else 1
            for j in range(a, e):
                if sk_data[j] == 0 and bad < 0:
                    bad = s
        else:
            if e - a >= 2 and sk_data[e - 2] == 47 and sk_data[e - 1] == 62:
                kind[s] = 2
            pos = a
            while pos < e:
                # to the next NUL (a hole), 8 bytes a step: skeletons with
                # folded attributes run to hundreds of bytes
                if pos + 8 <= e:
                    z = zero_byte_mask(load_u64(sk_data, pos))
                    if z == 0:
                        pos += 8
                        continue
                    pos += np.int64(trailing_zeros(z) >> 3)  # (the lowest flagged byte is a zero)
                elif sk_data[pos] != 0:
                    pos += 1
                    continue
                p = pos - 1
                if p >= a and (sk_data[p] == 34 or sk_data[p] == 39):
                    p -= 1
                while p >= a and _is_space(sk_data[p]):
                    p -= 1
                if p >= a and sk_data[p] == 61:
                    p -= 1
                while p >= a and _is_space(sk_data[p]):
                    p -= 1
                ee = p + 1
                while p >= a and not _is_name_stop(sk_data[p], True):
                    p -= 1
                span_s[k] = p + 1
                span_e[k] = ee
                hole_pos[hole_lo[s] + holes] = pos
                k += 1
                holes += 1
                pos += 1
        hole_lo[s + 1] = hole_lo[s] + holes
    return kind, span_s[:k], span_e[:k], hole_lo, hole_pos[:hole_lo[n]], bad


#: HTML void elements (lowercase) back to back, for :func:`_skeleton_table`
VOID_DATA = np.frombuffer(b"".join(mt.VOID_ELEMENTS), np.uint8)
VOID_OFF = np.cumsum([0] + [len(v) for v in mt.VOID_ELEMENTS]).astype(np.int64)


@njit(cache=True, nogil=True)
def _skeleton_table(sk_data, sk_off, html, void_data, void_off):
    """All that :class:`cobol.layers.l2_markup.SkeletonTable` derives from the
    skeletons, in one call: (is_end, canon, push, name, hole_lo, hole_name,
    hole_pos, names_data, names_off, name_counts, name_fold, bad);
    ``names_data`` ends in COPY_SLACK zero bytes (the decoder's copy slack).

    From :func:`_skeleton_parts`' spans: the names (a skeleton's tag name and
    its holes' attribute names) numbered by first appearance, grouped by their
    bytes (:func:`build_span_table`, no hash collision can merge two), laid
    back to back in ``names_data``/``names_off`` with their use counts; per
    skeleton whether it is an end tag, an end tag exactly "</name>" (canon),
    one that pushes (a start tag not self-closing, and in HTML not a void
    element: its name ASCII-lowercased is one of ``void_data``/``void_off``),
    its name id; per hole its name id. ``name_fold``: in HTML the names equal
    but for ASCII case share an id (numbered by first appearance of the
    lowercased name in id order), in XML each name is its own. No skeletons:
    one empty name. ``bad`` as in :func:`_skeleton_parts`."""
    kind, span_s, span_e, hole_lo, hole_pos, bad = _skeleton_parts(sk_data, sk_off)
    n = sk_off.size - 1
    ns = span_s.size
    if ns == 0:  # no skeletons: the one empty name (as a dictionary of b"")
        return (np.zeros(0, np.bool_), np.zeros(0, np.bool_), np.zeros(0, np.bool_), np.zeros(0, np.int32),
                hole_lo, np.zeros(0, np.int64), hole_pos, np.zeros(COPY_SLACK, np.uint8), np.zeros(2, np.int64),
                np.zeros(1, np.int64), np.zeros(1, np.int32), bad)
    _, _, ids, first, nd = build_span_table(sk_data, span_s, span_e, table_capacity(ns), ns)
    names_off = np.zeros(nd + 1, np.int64)
    for k in range(nd):
        names_off[k + 1] = names_off[k] + span_e[first[k]] - span_s[first[k]]
    names_data = np.zeros(names_off[nd] + COPY_SLACK, np.uint8)
    lower = np.empty(names_off[nd], np.uint8)
    for k in range(nd):
        a = span_s[first[k]]
        o = names_off[k]
        for j in range(names_off[k + 1] - o):
            b = sk_data[a + j]
            names_data[o + j] = b
            lower[o + j] = b + 32 if 65 <= b <= 90 else b
    counts = np.zeros(nd, np.int64)
    for k in range(ns):
        counts[ids[k]] += 1
    void = np.zeros(nd, np.bool_)
    if html:
        _, _, fold, _, _ = build_span_table(lower, names_off[:-1], names_off[1:], table_capacity(nd), nd)
        name_fold = fold.astype(np.int32)
        for k in range(nd):
            for v in range(void_off.size - 1):
                if spans_equal(lower, names_off[k], names_off[k + 1], void_data, void_off[v], void_off[v + 1]):
                    void[k] = True
                    break
    else:
        name_fold = np.arange(nd).astype(np.int32)
    is_end = np.empty(n, np.bool_)
    canon = np.empty(n, np.bool_)
    push = np.empty(n, np.bool_)
    name = np.empty(n, np.int32)
    hole_name = np.empty(ns - n, np.int64)
    for s in range(n):
        k = kind[s]
        nm = ids[hole_lo[s] + s]  # the skeleton's name span, then its holes'
        name[s] = nm
        is_end[s] = k == 1 or k == 3
        canon[s] = k == 3
        push[s] = not is_end[s] and k != 2 and not void[nm]
        for h in range(hole_lo[s], hole_lo[s + 1]):
            hole_name[h] = ids[h + s + 1]
    return is_end, canon, push, name, hole_lo, hole_name, hole_pos, names_data, names_off, counts, name_fold, bad


@njit(cache=True, nogil=True, inline="always")
def _take_item(out, o, cap, groups, g, g_pos, g_end):
    """Copy the next NUL-terminated item of group ``g`` to out[o:]; returns its
    length, -1 when the group has no terminator left, -2 when out overflows."""
    q, ln = copy_to_nul(out, o, cap, groups, g_pos[g], g_end[g])
    if q < 0:
        return -1
    if ln < 0:
        return -2
    g_pos[g] = q + 1
    return ln


#: indent levels the decoder copies from :func:`indent_template` (deeper ones are written unit by unit)
INDENT_TEMPLATE_LEVELS = 64


def indent_template(nl: bytes, unit: bytes) -> np.ndarray:
    """``nl`` then ``unit`` INDENT_TEMPLATE_LEVELS times, then COPY_SLACK spare
    bytes: an indent of depth d is its first len(nl) + d * len(unit) bytes."""
    body = nl + unit * INDENT_TEMPLATE_LEVELS
    out = np.zeros(len(body) + COPY_SLACK, np.uint8)
    out[:len(body)] = np.frombuffer(body, np.uint8)
    return out


#: bytes per name in :func:`end_tag_slots`: "</" name ">" and its length in the last byte
END_SLOT = 16


@njit(cache=True, nogil=True)
def end_tag_slots(name_data, name_off):
    """The decoder's end tags: END_SLOT bytes per name, "</" + name + ">"
    then its length in the last byte (0 for a name too long for the slot,
    written from ``name_data``). An end tag the stack predicts is then one
    16-byte move (it is a quarter of an HTML page's symbols)."""
    n = name_off.size - 1
    t = np.zeros(END_SLOT * n, np.uint8)
    for k in range(n):
        a = name_off[k]
        ln = name_off[k + 1] - a
        if ln + 3 <= END_SLOT - 1:
            b = END_SLOT * k
            t[b] = 60
            t[b + 1] = 47
            for j in range(ln):
                t[b + 2 + j] = name_data[a + j]
            t[b + 2 + ln] = 62
            t[b + END_SLOT - 1] = ln + 3
    return t


@njit(cache=True, nogil=True, **NO_NRT)
def _decode_kernel(sym, sk_data, sk_off, sk_is_end, sk_push, sk_name, hole_lo, hole_pos, hole_group,
                   name_data, name_off, name_fold, groups, g_pos, g_end,
                   nl, unit, indents, text_group_of, text_base, out, stack,
                   use_l1, tcoded, t_pos, t_end, t_left, n1, ncodes, wdata, woff, wslots, end_tags):
    """Rebuild the block into out[:out.size - COPY_SLACK] (its exact length);
    returns (error code, position).

    ``use_l1``: the text groups are word-coded (cobol.layers.l1_semantic) and
    each text item is decoded from the code straight into ``out``
    (:func:`decode_item`): group g's code is tcoded[t_pos[g]:t_end[g]] and
    t_left[g] its decoded length, NULs included, which it must decode to
    exactly; n1 .. wslots are the word coder's tables. Otherwise the text
    groups are groups text_base.. of ``groups`` (and the l1 arguments unused).
    ``end_tags``: :func:`end_tag_slots` of the names.

    ``sk_data``, ``name_data``, ``groups`` and ``out`` end in COPY_SLACK spare
    bytes (see :func:`cobol.layers.primitives.copy_chunks`); ``hole_pos[h]`` is
    where hole h (the h-th NUL of ``sk_data``) sits; ``indents`` is
    :func:`indent_template` of ``nl`` and ``unit``; ``stack``: scratch of
    ``sym.size + 1`` int32 (the kernel allocates nothing: NO_NRT)."""
    cap = out.size - COPY_SLACK
    nsk = sk_off.size - 1
    d = 0
    o = 0
    i = 0
    n = sym.size
    nll = nl.size
    ul = unit.size
    while i < n:
        v = np.int64(sym[i])
        if v < 0x80:  # a one-byte symbol (all but the rare skeletons past id 111)
            i += 1
        else:
            v, i, ok = _read_varint(sym, i, n, 28)
            if not ok:
                return E_SYMBOL, i
        if v == S_TEXT:  # the commonest symbol after tags: one item of a text group, no delimiters
            tg = text_group_of[(stack[d - 1] if d > 0 else -1) + 1]
            if use_l1:
                q, ln, err = decode_item(tcoded, t_pos[tg], t_end[tg], n1, ncodes, wdata, woff, wslots, out, o, cap)
                if err != 0:
                    return (E_OVERFLOW if err == 1 else E_STREAM if err == 4 else E_TEXT), i
                t_pos[tg] = q
                t_left[tg] -= ln + 1
                o += ln
            else:
                ln = _take_item(out, o, cap, groups, text_base + tg, g_pos, g_end)
                if ln < 0:
                    return E_STREAM if ln == -1 else E_OVERFLOW, i
                o += ln
        elif v >= S_SKEL:
            s = v - S_SKEL
            if s >= nsk:
                return E_SYMBOL, i
            p = sk_off[s]
            e = sk_off[s + 1]
            for h in range(hole_lo[s], hole_lo[s + 1]):
                j = hole_pos[h]
                if o + (j - p) > cap:
                    return E_OVERFLOW, i
                copy_chunks(out, o, sk_data, p, j - p)
                o += j - p
                ln = _take_item(out, o, cap, groups, hole_group[h], g_pos, g_end)
                if ln < 0:
                    return E_STREAM if ln == -1 else E_OVERFLOW, i
                o += ln
                p = j + 1
            if o + (e - p) > cap:
                return E_OVERFLOW, i
            copy_chunks(out, o, sk_data, p, e - p)
            o += e - p
            nm = sk_name[s]
            if sk_is_end[s]:
                d = _close_element(stack, d, name_fold, name_fold[nm])
            elif sk_push[s]:
                stack[d] = nm
                d += 1
        elif v == S_END:
            if d == 0:
                return E_STACK, i
            d -= 1
            nm = stack[d]
            ln = np.int64(end_tags[END_SLOT * nm + END_SLOT - 1])
            if ln != 0:  # "</" name ">" in one move from its slot
                if o + ln > cap:
                    return E_OVERFLOW, i
                move_bytes(out, o, end_tags, END_SLOT * nm, END_SLOT)
                o += ln
                continue
            a = name_off[nm]
            ln = name_off[nm + 1] - a
            if o + ln + 3 > cap:
                return E_OVERFLOW, i
            out[o] = 60  # "</" name ">"
            out[o + 1] = 47
            copy_chunks(out, o + 2, name_data, a, ln)
            o += ln + 2
            out[o] = 62
            o += 1
        elif v == S_INDENT or v == S_INDENT_BACK:
            dd = d if v == S_INDENT else d - 1
            if dd < 0 or ul == 0:
                return E_SYMBOL, i
            ln = nll + dd * ul
            if o + ln > cap:
                return E_OVERFLOW, i
            if ln <= indents.size - COPY_SLACK:
                # the newline and the units from the template, in 16-byte moves
                # (a quarter to a third of XML symbols are indents)
                copy_chunks(out, o, indents, 0, ln)
                o += ln
            else:
                for j in range(nll):
                    out[o + j] = nl[j]
                o += nll
                for r in range(dd):
                    for j in range(ul):
                        out[o + j] = unit[j]
                    o += ul
        elif v == S_NUL:
            ln, i, ok = _read_varint(sym, i, n, 35)  # the run length
            if not ok:
                return E_SYMBOL, i
            if ln == 0 or o + ln > cap:
                return E_OVERFLOW, i
            for j in range(ln):
                out[o + j] = 0
            o += ln
        elif v >= S_WS and v <= S_DECL:
            g = v - S_WS
            m = g
            lo = MISC_DELIM_OFF[2 * m]
            mid = MISC_DELIM_OFF[2 * m + 1]
            hi = MISC_DELIM_OFF[2 * m + 2]
            if o + (mid - lo) > cap:
                return E_OVERFLOW, i
            for j in range(lo, mid):
                out[o] = MISC_DELIM_BYTES[j]
                o += 1
            ln = _take_item(out, o, cap, groups, g, g_pos, g_end)
            if ln < 0:
                return E_STREAM if ln == -1 else E_OVERFLOW, i
            o += ln
            if o + (hi - mid) > cap:
                return E_OVERFLOW, i
            for j in range(mid, hi):
                out[o] = MISC_DELIM_BYTES[j]
                o += 1
        else:
            return E_SYMBOL, i
    for g in range(g_pos.size):
        if g_pos[g] != g_end[g]:
            return E_LEFTOVER, i
    if use_l1:
        for g in range(t_pos.size):
            if t_pos[g] != t_end[g]:
                return E_LEFTOVER, i
            if t_left[g] != 0:
                return E_TEXT_SIZE, i
    if o != cap:
        return E_SHORT, i
    return E_OK, i
