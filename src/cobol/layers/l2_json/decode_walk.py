"""The decoder's walk: rebuilds a block from its streams in one pass."""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import trailing_zeros

from .. import json_tokenizer as jt
from .symbols import (
    C_NOKEY, FLAG_RAW, G_COLON, G_COMMA, G_EMPTY, KEY1_BASE, KEY2_BASE, KEY2_FIRST, KEY3, KEY3_FIRST, K_END,
    K_INVALID, K_START, MAX_SCALE, MODE_FULL, NUM_INT, NUM_SCALED, RESIDUE_TERM, SYMBOL_KIND, S_ARR_CLOSE, S_ARR_OPEN,
    S_END, S_KEY_LITERAL, S_OBJ_CLOSE, S_OBJ_OPEN, S_REF_ARR, S_REF_OBJ, S_REF_STR, S_RESIDUE, S_WS_DEV, S_WS_DEV_KEY,
    TEXT_TERM, WS_TERM,
)
from .paths import _child_path, _h32, _open_frame, _path_hash, _pop_container, _suffix_hash
from .whitespace import _gap_len, _resolve_gap, _style_fields
from ..primitives import COPY_SLACK, bit_length, copy_chunks, eight_digits, load_u64, store_u64, zero_byte_mask

#: "00" "01" ... "99": numbers print two digits per division
_DIGIT_PAIRS = np.frombuffer(b"".join(b"%02d" % i for i in range(100)), np.uint8)
_U1 = np.uint64(1)
_U10 = np.uint64(10)
_U100 = np.uint64(100)
_QUOTES = np.uint64(0x0101010101010101 * TEXT_TERM)
_BACKSLASHES = np.uint64(0x0101010101010101 * 92)

# Record templates (see the walk's docstring): how many the walk keeps, how many record
# shapes it remembers without values (a shape is recorded as a template when it
# comes again), and the most skeleton bytes and values a template may span.
N_TEMPLATES = 16
N_SEEN = 8
TEMPLATE_MAX_SKEL = 4096
TEMPLATE_MAX_VALUES = 512


@njit(cache=True, nogil=True)
def _unzeroed_stack(cap):
    """Stack arrays like :func:`_new_stack`'s, only slot 0 zeroed: the walk
    writes every other slot when it opens a container, before it reads it.
    ``cap`` is a bound from the skeleton's opener count (the whole block's for a
    JSON lines block): zeroing all of it cost ~10% of such a walk, while
    untouched pages of an empty array cost nothing."""
    kind, hsh, key, count = np.empty(cap, np.uint8), np.empty(cap, np.int64), np.empty(cap, np.int64), \
        np.empty(cap, np.int64)
    k0, k1, k2 = np.empty(cap, np.int64), np.empty(cap, np.int64), np.empty(cap, np.int64)
    kind[0] = 0
    hsh[0] = 0
    key[0] = 0
    count[0] = 0
    k0[0] = 0
    k1[0] = 0
    k2[0] = 0
    return kind, hsh, key, count, k0, k1, k2


@njit(cache=True, nogil=True)
def _copy_text(texts, tp, tend, out, o, cap):
    """Copy texts[tp:] up to its unescaped TEXT_TERM (backslash escapes copied
    as they are) to out[o:], 8 bytes at a time. Returns (tp after the
    terminator, new o): tp = -1 when no terminator comes before ``tend``, o = -2
    when the text would pass out[cap]. Reads up to 15 bytes past ``tend`` and
    writes up to 15 past ``cap`` (both arrays keep COPY_SLACK spare bytes)."""
    while True:
        if tp >= tend:
            return -1, o
        if o > cap:
            return tp, -2
        v = load_u64(texts, tp)
        copy_chunks(out, o, texts, tp, 8)
        z = zero_byte_mask(v ^ _QUOTES) | zero_byte_mask(v ^ _BACKSLASHES)
        if z == 0:
            tp += 8
            o += 8
            continue
        k = np.int64(trailing_zeros(z) >> 3)
        if tp + k >= tend:
            return -1, o
        if o + k > cap:
            return tp, -2
        if texts[tp + k] == TEXT_TERM:
            return tp + k + 1, o + k
        # a backslash: it and the byte it escapes are content
        if tp + k + 1 >= tend:
            return -1, o
        if o + k + 2 > cap:
            return tp, -2
        out[o + k + 1] = texts[tp + k + 1]
        tp += k + 2
        o += k + 2


@njit(cache=True, nogil=True)
def _copy_until(src, sp, send, term, escapes, out, o, osz):
    """Copy src[sp:] up to ``term`` (backslash escapes when ``escapes``) to out[o:osz].
    Returns (new sp after the terminator, new o); sp = -1 if no terminator,
    o = -2 if the output overflows."""
    while sp < send:
        c = src[sp]
        if c == term:
            return sp + 1, o
        if escapes and c == 92:
            if sp + 1 >= send:
                return -1, o
            if o + 2 > osz:
                return sp, -2
            out[o] = c
            out[o + 1] = src[sp + 1]
            o += 2
            sp += 2
            continue
        if o >= osz:
            return sp, -2
        out[o] = c
        o += 1
        sp += 1
    return -1, o


@njit(cache=True, nogil=True)
def _find_shape(skel, s0, c_pos, c_len, c_extra, extra, t_last):
    """The first slot (templates from ``t_last`` on, then seen shapes) whose
    skeleton bytes skel[c_pos:+c_len] (at base depth c_extra) start skel[s0:];
    -1 if none. (A kernel of its own, called once per top-level container,
    so the walk's loop body stays smaller.)"""
    nsk = skel.size
    for i in range(c_len.size):
        ci = (t_last + i) % N_TEMPLATES if i < N_TEMPLATES else i
        ln = c_len[ci]
        if ln == 0 or s0 + ln > nsk or c_extra[ci] != extra:
            continue
        a = c_pos[ci]
        # the last word first: shapes that differ mostly differ there (the rest of
        # a record shifts), while records of one schema share long prefixes
        if ln >= 8 and load_u64(skel, s0 + ln - 8) != load_u64(skel, a + ln - 8):
            continue
        k = 0
        while k + 8 <= ln and load_u64(skel, s0 + k) == load_u64(skel, a + k):
            k += 8
        if k + 8 <= ln:
            continue
        while k < ln and skel[s0 + k] == skel[a + k]:
            k += 1
        if k == ln:
            return ci
    return -1


def _make_walk(records):
    """The decode walk, with record templates (``records``: for blocks of many
    top-level containers, JSON lines) or without: the two compile apart, so a
    JSON document's walk carries none of the template code (with it, the
    walk ran 10-25% slower on documents, which never use it). The template
    code costs the records walk about 10% where few records repeat a shape
    (botocore-ec2-shapes.jsonl: 36% of its records do) and gains 1.6x where
    most do (vega-flights: transform 400 -> 650 MB/s)."""

    @njit(cache=True, nogil=True)
    def walk(skel, ws, residue, kdata, koff, kcomp, texts, toff, tgrp, ints, ioff,
             flags, foff, cmode, cscale, ddata, dents, dbase, dcount, dids, doff,
             colmap, style, gtab, mode, max_depth, def_start, def_len, refs, min_string, str_dists, out):
        """Rebuild the block into out[:out.size - COPY_SLACK]; returns the number of
        bytes written or an error code < 0. ``texts``, ``kdata`` and ``ddata`` end in
        COPY_SLACK spare bytes too (copies move 16-byte chunks).

        ``S_REF_OBJ``/``S_REF_ARR`` copy subtree ``refs[i]`` (bytes
        ``def_start[id]:+def_len[id]`` of the output, which must be written already);
        with ``min_string`` > 0 (params version 3) every string value of at least
        that many bytes written as a token is numbered, and ``S_REF_STR`` copies the
        one ``str_dists[i]`` places before the latest (one child of its container,
        no column value).

        Record templates: a top-level container (a JSON-lines record) decoded
        symbol by symbol with nothing but structure, dictionary keys and values
        (no stored whitespace, literal key, residue or reference) is remembered as
        a template when its skeleton bytes repeat those of a recent record (so
        records of one-off shapes cost no recording): where its skeleton bytes
        are, and for each value its column plus the
        output bytes written since the previous value (gaps, keys, punctuation:
        they are a function of the skeleton bytes and the base depth alone, as is
        every value's column once its path has been seen). A later top-level
        container whose skeleton bytes equal a template's is written from it:
        each literal copied from where the template's record wrote it, each value
        printed from its column, with no gap, stack or path-hash work. The stack
        is left as it was: a container opened at depth 0 rewrites slot 0 before
        anything reads it, and nothing reads the deeper slots before an opener
        writes them.

        (Like the encoder's walk, the loop calls no function that takes an array:
        copies and number printing are written out in place.)"""
        nsk = skel.size
        nout = out.size - COPY_SLACK  # the block's end; COPY_SLACK spare bytes follow
        ncols = cmode.size
        nkeys = koff.size - 1
        p10 = np.ones(MAX_SCALE + 1, np.int64)
        for i in range(1, MAX_SCALE + 1):
            p10[i] = p10[i - 1] * 10
        lim = p10[MAX_SCALE]
        p10u = p10.astype(np.uint64)
        tcur = toff[:-1].copy()
        icur = ioff[:-1].copy()
        fcur = foff[:-1].copy()
        dcur = doff[:-1].copy()
        wp = np.int64(0)
        rp = np.int64(0)
        refp = np.int64(0)
        # first-appearance table for column hashes
        nd_max = colmap.size
        cap = 16
        while cap < 2 * nd_max + 16:
            cap *= 2
        mask = cap - 1
        tkeys = np.empty(cap, np.int64)
        tvals = np.full(cap, -1, np.int64)
        nd = np.int64(0)
        stcap = max_depth + 1
        st_kind, st_hash, st_key, st_count, st_k0, st_k1, st_k2 = _unzeroed_stack(stcap)
        depth = np.int64(0)
        extra, crlf, width, ichar, colon_ws, comma_ws, pre_colon = _style_fields(style)
        lit_group = tgrp[ncols]
        prev = K_START
        o = np.int64(0)
        sp = np.int64(0)
        ended = False
        # the long strings written so far (they are disjoint and each >= min_string bytes)
        ls_cap = nout // min_string + 1 if min_string > 0 else 1
        ls_start = np.empty(ls_cap, np.int64)
        ls_len = np.empty(ls_cap, np.int64)
        nls = np.int64(0)
        sdp = np.int64(0)
        # record templates and seen shapes: slot i < N_TEMPLATES is a template,
        # the N_SEEN slots after them are recent top-level containers; each slot
        # has its skeleton bytes (skel[c_pos:+c_len], c_len 0 when empty) and base
        # depth; a template also its value count, closing kind, the literal after
        # its last value (tail) and per value (v_* at t * TEMPLATE_MAX_VALUES + j)
        # the literal before it (start in out, length), its column and kind
        nslots = N_TEMPLATES + N_SEEN if records else 0
        nvslots = N_TEMPLATES * TEMPLATE_MAX_VALUES if records else 0
        c_pos = np.zeros(nslots, np.int64)
        c_len = np.zeros(nslots, np.int64)
        c_extra = np.zeros(nslots, np.int64)
        t_nvals = np.zeros(N_TEMPLATES if records else 0, np.int64)
        t_close = np.zeros(N_TEMPLATES if records else 0, np.int64)
        t_tail_at = np.zeros(N_TEMPLATES if records else 0, np.int64)
        t_tail_len = np.zeros(N_TEMPLATES if records else 0, np.int64)
        v_lit_at = np.empty(nvslots, np.int64)
        v_lit_len = np.empty(nvslots, np.int64)
        v_col = np.empty(nvslots, np.int64)
        v_kind = np.empty(nvslots, np.uint8)
        t_next = np.int64(0)      # the template slot the next recording takes
        t_last = np.int64(0)      # the template that matched last (tried first)
        s_next = np.int64(0)      # the seen slot the next top-level container takes
        top_sp0 = np.int64(-1)    # skeleton start of the open top-level container (-1: none)
        top_plain = False         # ... which holds nothing that stops a template
        recording = False         # ... which is being recorded into template slot rec_slot
        rec_slot = np.int64(0)
        rec_n = np.int64(0)       # values recorded so far
        rec_lit = np.int64(0)     # where the literal before the next value starts in out
        for _ in range(nsk):
            if sp >= nsk:
                return -1
            s = skel[sp]
            sp += 1
            dev = False
            if s == S_WS_DEV:
                dev = True
                if sp >= nsk:
                    return -1
                s = skel[sp]
                sp += 1
            nk = SYMBOL_KIND[s]  # token kind of the symbol
            if nk == K_INVALID:
                return -12
            if top_plain and (dev or s == S_END or (s >= S_RESIDUE and s < KEY1_BASE)):
                top_plain = recording = False  # stored whitespace, residue, literal key or reference: no template
            if dev:
                wp, o = _copy_until(ws, wp, ws.size, np.uint8(WS_TERM), np.bool_(False), out, o, nout)
                if o < 0:
                    return -2
                if wp < 0:
                    return -3
            else:
                level = depth + extra
                g, lvl = _resolve_gap(gtab[(256 if level == 0 else 0) + (prev << 4) + nk], level)
                if g != G_EMPTY:
                    glen = _gap_len(g, lvl, crlf, width, colon_ws, comma_ws)
                    if o + glen > nout:
                        return -2
                    if g == G_COLON or g == G_COMMA:
                        if glen:
                            out[o] = 32
                            o += 1
                    else:
                        if crlf:
                            out[o] = 13
                            o += 1
                        out[o] = 10
                        o += 1
                        for _ in range(glen - 1 - crlf):
                            out[o] = ichar
                            o += 1
            if nk == K_END:
                ended = True
                break
            tmpl = np.int64(-1)
            if records and depth == 0 and (s == S_OBJ_OPEN or s == S_ARR_OPEN):
                # a top-level container: written from a template whose skeleton bytes it
                # starts with, or recorded as one when it starts with a seen shape's
                s0 = sp - 1
                hit = _find_shape(skel, s0, c_pos, c_len, c_extra, extra, t_last)
                if hit >= 0 and hit < N_TEMPLATES:
                    tmpl = hit
                    t_last = hit
                    sp = s0 + c_len[hit]
                else:
                    top_sp0 = s0
                    top_plain = True
                    if hit >= 0:
                        c_len[hit] = 0  # (recorded now; a shape that cannot be a template is not seen again)
                        recording = True
                        rec_slot = t_next
                        t_next = (t_next + 1) % N_TEMPLATES
                        c_len[rec_slot] = 0
                        rec_n = 0
                        rec_lit = o
            if tmpl >= 0 or ((nk == jt.STRING or nk == jt.NUMBER) and s != S_REF_STR):
                # values: one from the skeleton, or every value of a template
                nvals = t_nvals[tmpl] if tmpl >= 0 else 1
                for j in range(nvals):
                    if tmpl >= 0:
                        q = tmpl * TEMPLATE_MAX_VALUES + j
                        ln = v_lit_len[q]
                        if o + ln > nout:
                            return -2
                        copy_chunks(out, o, out, v_lit_at[q], ln)  # (the template's record is written already)
                        o += ln
                        c = v_col[q]
                        nk = v_kind[q]
                        vstart = o
                    else:
                        vstart = o
                        top = max(depth - 1, 0)  # (slot 0 is read, and left as it was, at depth 0)
                        comp, parent, p0, p1, p2, st_count[top] = _child_path(
                            depth, st_kind[top], st_key[top], st_count[top], st_hash[top], st_k0[top], st_k1[top],
                            st_k2[top], np.bool_(True))
                        if mode == MODE_FULL:
                            h = _h32(_path_hash(depth, parent, comp))
                        else:
                            h = _h32(_suffix_hash(comp, p0, p1, p2, mode))
                        slot = (h ^ (h >> 17)) & mask
                        for _ in range(cap):
                            v = tvals[slot]
                            if v < 0:
                                if nd >= nd_max:
                                    return -13
                                tkeys[slot] = h
                                tvals[slot] = nd
                                v = nd
                                nd += 1
                                break
                            if tkeys[slot] == h:
                                break
                            slot = (slot + 1) & mask
                        c = colmap[v]
                        if c < 0 or c >= ncols:
                            return -14
                        if recording:
                            if rec_n >= TEMPLATE_MAX_VALUES:
                                top_plain = recording = False
                            else:
                                q = rec_slot * TEMPLATE_MAX_VALUES + rec_n
                                v_lit_at[q] = rec_lit
                                v_lit_len[q] = vstart - rec_lit
                                v_col[q] = c
                                v_kind[q] = nk
                                rec_n += 1
                    raw = True
                    if nk == jt.NUMBER and cmode[c] >= 0:
                        f = 0
                        if cmode[c] != NUM_INT:
                            if fcur[c] >= foff[c + 1]:
                                return -9
                            f = np.int64(flags[fcur[c]])
                            fcur[c] += 1
                        if f != FLAG_RAW:
                            raw = False
                            if icur[c] >= ioff[c + 1]:
                                return -8
                            m = ints[icur[c]]
                            icur[c] += 1
                            if m >= lim or m <= -lim:
                                return -11
                            if cmode[c] == NUM_SCALED:
                                if f > cscale[c]:
                                    return -10
                                if f > 0:
                                    # one (slow) division, only for values below the column's scale;
                                    # a hostile remainder only garbles output the checksum rejects
                                    m = m // p10[f]
                                sc = cscale[c] - f
                            else:
                                if f > MAX_SCALE:
                                    return -10
                                sc = f
                            # print m with sc decimals, back to front, straight into out
                            # (unsigned: no floor-division sign fix-ups per digit)
                            neg = m < 0
                            u = np.uint64(-m if neg else m)
                            # decimal digits of u (|m| < 10**MAX_SCALE): log10 from the bit length
                            t = (bit_length(u) * 1233) >> 12
                            nd_ = max(t + 1 if u >= p10u[t] else t, 1)
                            ndig = nd_ if sc == 0 else max(nd_, sc + 1)
                            width_ = ndig + (1 if sc > 0 else 0) + (1 if neg else 0)
                            if o + width_ > nout:
                                return -2
                            if ndig <= 8:
                                # all digits from one division-free conversion, in one or
                                # two 8-byte stores (what they write past the number is
                                # overwritten by what follows, or lands in COPY_SLACK)
                                digits = eight_digits(u)
                                q = o + (1 if neg else 0)
                                out[o] = 45  # (overwritten by the first store when not negative)
                                store_u64(out, q, digits >> np.uint64(8 * (8 - ndig)))
                                if sc > 0:
                                    q += ndig - sc
                                    out[q] = 46
                                    store_u64(out, q + 1, digits >> np.uint64(8 * (8 - sc)))
                            else:
                                p = o + width_ - 1
                                if sc > 0:  # the decimals, then the point
                                    for i in range(sc):
                                        out[p] = np.uint8(u % _U10) + 48
                                        u //= _U10
                                        p -= 1
                                    out[p] = 46
                                    p -= 1
                                while u >= _U100:  # the integer part, two digits a step
                                    r = (u % _U100) << _U1
                                    u //= _U100
                                    out[p] = _DIGIT_PAIRS[r + _U1]
                                    out[p - 1] = _DIGIT_PAIRS[r]
                                    p -= 2
                                if u >= _U10:
                                    out[p] = _DIGIT_PAIRS[(u << _U1) + _U1]
                                    out[p - 1] = _DIGIT_PAIRS[u << _U1]
                                    p -= 2
                                else:
                                    out[p] = np.uint8(u) + 48
                                    p -= 1
                                if neg:
                                    out[p] = 45
                            o += width_
                    if raw and nk == jt.STRING and dcount[c] > 0:
                        raw = False
                        if dcur[c] >= doff[c + 1]:
                            return -18
                        e = dids[dcur[c]]
                        dcur[c] += 1
                        if e >= dcount[c]:
                            return -19
                        e += dbase[c]
                        a = dents[e]
                        b = dents[e + 1]
                        if o + (b - a) + 2 > nout:
                            return -2
                        out[o] = 34
                        o += 1
                        copy_chunks(out, o, ddata, a, b - a)
                        o += b - a
                        out[o] = 34
                        o += 1
                    if raw:
                        g = tgrp[c]
                        if g < 0:
                            return -7
                        if nk == jt.STRING:
                            if o >= nout:
                                return -2
                            out[o] = 34
                            o += 1
                        tp, o = _copy_text(texts, tcur[g], toff[g + 1], out, o, nout)
                        if o < 0:
                            return -2
                        if tp < 0:
                            return -7
                        tcur[g] = tp
                        if nk == jt.STRING:
                            if o >= nout:
                                return -2
                            out[o] = 34
                            o += 1
                    if nk == jt.STRING and min_string > 0 and o - vstart >= min_string:
                        ls_start[nls] = vstart
                        ls_len[nls] = o - vstart
                        nls += 1
                    if recording:
                        rec_lit = o
                if tmpl >= 0:
                    ln = t_tail_len[tmpl]
                    if o + ln > nout:
                        return -2
                    copy_chunks(out, o, out, t_tail_at[tmpl], ln)
                    o += ln
                    nk = t_close[tmpl]
            elif s == S_REF_STR:
                if min_string <= 0:
                    return -22
                if sdp >= str_dists.size:
                    return -23
                d = str_dists[sdp]
                sdp += 1
                if d < 0 or d >= nls:
                    return -24
                a = ls_start[nls - 1 - d]
                ln = ls_len[nls - 1 - d]
                if o + ln > nout:
                    return -2
                copy_chunks(out, o, out, a, ln)  # (a + ln <= o: the string is written already)
                ls_start[nls] = o
                ls_len[nls] = ln
                nls += 1
                o += ln
                if depth > 0:
                    st_count[depth - 1] += 1
                nk = jt.STRING
            elif s == S_REF_OBJ or s == S_REF_ARR:
                if refp >= refs.size:
                    return -20
                e = refs[refp]
                refp += 1
                if e < 0 or e >= def_start.size:
                    return -20
                a = def_start[e]
                b = a + def_len[e]
                if b > o:
                    return -21
                if o + (b - a) > nout:
                    return -2
                copy_chunks(out, o, out, a, b - a)  # (b <= o: the span is written already)
                o += b - a
                if depth > 0:
                    st_count[depth - 1] += 1
                nk = jt.OBJ_CLOSE if out[o - 1] == 125 else jt.ARR_CLOSE
            elif nk == jt.OBJ_OPEN or nk == jt.ARR_OPEN:
                if o >= nout:
                    return -2
                out[o] = 123 if nk == jt.OBJ_OPEN else 91
                o += 1
                if depth >= stcap:
                    return -17
                top = max(depth - 1, 0)  # (slot 0 is read, and left as it was, at depth 0)
                comp, parent, p0, p1, p2, st_count[top] = _child_path(
                    depth, st_kind[top], st_key[top], st_count[top], st_hash[top], st_k0[top], st_k1[top], st_k2[top],
                    np.bool_(False))
                (st_kind[depth], st_hash[depth], st_key[depth], st_count[depth], st_k0[depth], st_k1[depth],
                 st_k2[depth]) = _open_frame(depth, nk == jt.OBJ_OPEN, comp, parent, p0, p1, p2)
                depth += 1
            elif nk == jt.OBJ_CLOSE or nk == jt.ARR_CLOSE:
                if o >= nout:
                    return -2
                out[o] = 125 if nk == jt.OBJ_CLOSE else 93
                o += 1
                depth, extra = _pop_container(depth, extra)
                if depth == 0 and top_sp0 >= 0:
                    # a top-level container closes: a template if it was recorded, else a seen shape
                    ln = sp - top_sp0
                    if top_plain and ln <= TEMPLATE_MAX_SKEL:
                        slot = rec_slot if recording else N_TEMPLATES + s_next
                        if recording:
                            t_nvals[slot] = rec_n
                            t_close[slot] = nk
                            t_tail_at[slot] = rec_lit
                            t_tail_len[slot] = o - rec_lit
                        else:
                            s_next = (s_next + 1) % N_SEEN
                        c_pos[slot] = top_sp0
                        c_extra[slot] = extra
                        c_len[slot] = ln
                    top_sp0 = -1
                    top_plain = recording = False
            elif nk == jt.COMMA:
                if o >= nout:
                    return -2
                out[o] = 44
                o += 1
                if depth > 0:
                    st_key[depth - 1] = C_NOKEY
            elif nk == jt.COLON:
                if o >= nout:
                    return -2
                out[o] = 58
                o += 1
            elif nk == jt.KEY:
                if o >= nout:
                    return -2
                out[o] = 34
                o += 1
                if s == S_KEY_LITERAL:
                    if lit_group < 0:
                        return -6
                    # copy to the unescaped quote, hashing as we go (= _fnv of the key)
                    tp = tcur[lit_group]
                    tend = toff[lit_group + 1]
                    comp = np.int64(-3750763034362895579)
                    closed = False
                    while tp < tend:
                        c = texts[tp]
                        if c == TEXT_TERM:
                            closed = True
                            tp += 1
                            break
                        if o >= nout:
                            return -2
                        out[o] = c
                        o += 1
                        comp = (comp ^ np.int64(c)) * np.int64(1099511628211)
                        tp += 1
                        if c == 92:
                            if tp >= tend:
                                return -6
                            if o >= nout:
                                return -2
                            c = texts[tp]
                            out[o] = c
                            o += 1
                            comp = (comp ^ np.int64(c)) * np.int64(1099511628211)
                            tp += 1
                    if not closed:
                        return -6
                    tcur[lit_group] = tp
                    comp = comp ^ (comp >> 29)
                else:
                    if s < KEY2_BASE:
                        code = np.int64(s - KEY1_BASE)
                    elif s < KEY3:
                        if sp >= nsk:
                            return -1
                        code = KEY2_FIRST + (np.int64(s - KEY2_BASE) << 8) + skel[sp]
                        sp += 1
                    else:
                        if sp + 2 > nsk:
                            return -1
                        code = KEY3_FIRST + (np.int64(skel[sp]) << 8) + skel[sp + 1]
                        sp += 2
                    if code >= nkeys:
                        return -5
                    a = koff[code]
                    b = koff[code + 1]
                    if o + (b - a) > nout:
                        return -2
                    copy_chunks(out, o, kdata, a, b - a)
                    o += b - a
                    comp = kcomp[code]
                if o >= nout:
                    return -2
                out[o] = 34
                o += 1
                if depth > 0 and st_kind[depth - 1] == 1:
                    st_key[depth - 1] = comp
                # key -> colon gap
                if sp < nsk and skel[sp] == S_WS_DEV_KEY:
                    sp += 1
                    top_plain = recording = False
                    wp, o = _copy_until(ws, wp, ws.size, np.uint8(WS_TERM), np.bool_(False), out, o, nout)
                    if o < 0:
                        return -2
                    if wp < 0:
                        return -3
                elif pre_colon:
                    if o >= nout:
                        return -2
                    out[o] = 32
                    o += 1
                if o >= nout:
                    return -2
                out[o] = 58
                o += 1
                nk = jt.COLON
            elif nk == jt.TRUE or nk == jt.FALSE or nk == jt.NULL:
                if nk == jt.TRUE:
                    if o + 4 > nout:
                        return -2
                    out[o] = 116
                    out[o + 1] = 114
                    out[o + 2] = 117
                    out[o + 3] = 101
                    o += 4
                elif nk == jt.NULL:
                    if o + 4 > nout:
                        return -2
                    out[o] = 110
                    out[o + 1] = 117
                    out[o + 2] = 108
                    out[o + 3] = 108
                    o += 4
                else:
                    if o + 5 > nout:
                        return -2
                    out[o] = 102
                    out[o + 1] = 97
                    out[o + 2] = 108
                    out[o + 3] = 115
                    out[o + 4] = 101
                    o += 5
                if depth > 0:
                    st_count[depth - 1] += 1
            else:  # residue
                rp, o = _copy_until(residue, rp, residue.size, np.uint8(RESIDUE_TERM), np.bool_(False), out, o, nout)
                if o < 0:
                    return -2
                if rp < 0:
                    return -4
            prev = nk
        if not ended:
            return -1
        if sp != nsk or wp != ws.size or rp != residue.size or refp != refs.size or sdp != str_dists.size:
            return -15
        for g in range(tcur.size):
            if tcur[g] != toff[g + 1]:
                return -15
        for c in range(ncols):
            if icur[c] != ioff[c + 1] or fcur[c] != foff[c + 1] or dcur[c] != doff[c + 1]:
                return -15
        return o

    return walk


_walk_decode = _make_walk(False)
_walk_decode_records = _make_walk(True)


@njit(cache=True, nogil=True)
def top_level_containers(skel, limit):
    """How many containers open at nesting depth 0 in skel[:limit] (symbols
    stepped over whole: key ids take 2 or 3 bytes); 0 when a closer without
    an opener follows one of them (the block is a piece of one document, cut
    at a block boundary: its depth-0 containers are siblings deeper down).
    Closers before the first, where a block cut inside a record starts, do not count."""
    n = 0
    depth = 0
    p = 0
    end = min(limit, skel.size)
    while p < end:
        s = skel[p]
        p += 1
        if s >= KEY2_BASE:
            p += 1 if s < KEY3 else 2
        elif s == S_OBJ_OPEN or s == S_ARR_OPEN:
            if depth == 0:
                n += 1
            depth += 1
        elif s == S_OBJ_CLOSE or s == S_ARR_CLOSE:
            if depth > 0:
                depth -= 1
            elif n > 0:
                return 0
    return n
