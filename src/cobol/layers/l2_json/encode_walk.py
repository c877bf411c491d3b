"""The encoder's token walk (skeleton, whitespace deviations, column hashes)."""

from __future__ import annotations

import numpy as np
from numba import njit

from .. import json_tokenizer as jt
from .symbols import (
    C_NOKEY, C_ROOT, G_COLON, G_COMMA, G_EMPTY, KEY1_BASE, KEY2_BASE, KEY2_FIRST, KEY3, KEY3_FIRST, K_END,
    K_START, MODE_FULL, N_MODES, S_ARR_CLOSE, S_ARR_OPEN, S_COLON, S_COMMA, S_END, S_KEY_LITERAL, S_NUMBER,
    S_OBJ_CLOSE, S_OBJ_OPEN, S_REF_ARR, S_REF_OBJ, S_REF_STR, S_RESIDUE, S_STRING, S_TRUE, S_WS_DEV, S_WS_DEV_KEY,
)
from .. import pages
from .paths import _child_path, _h32, _mix, _new_stack, _open_frame, _path_hash, _pop_container
from .whitespace import _gap_len, _resolve_gap, _style_fields


@njit(cache=True, nogil=True)
def _walk_encode(buf, kinds, starts, ref_close, key_code, key_comp, style, gtab, skel, vh, max_depth):
    """The encoder's token walk: skeleton symbols, whitespace deviations and the
    per-mode column hashes of every string/number value (in token order).

    ``ref_close[t]`` > 0 marks an opener that stands for a whole repeated
    subtree (:mod:`.subtrees`): it becomes ``S_REF_OBJ``/``S_REF_ARR``, counts as
    one child of its container, and the next gap follows that closer kind. On a
    string value token it marks a repeated string: ``S_REF_STR``, one child, no
    column hash (the value is not in ``nvalues``).

    ``skel`` (4 * the token count + 16 bytes) and ``vh`` (values x N_MODES
    32-bit column hashes) come from the caller (:func:`skeleton_space`: large
    arrays advised as huge pages, which Numba's allocator does not do).

    (Hot loops call no function that takes an array: numba reference-counts
    array arguments with atomic operations, which cost more than the work.)"""
    ntok = kinds.size
    n = buf.size
    sp = np.int64(0)
    # (arrays are never reallocated inside the loop either)
    dev_a = np.empty(ntok + 1, np.int64)
    dev_b = np.empty(ntok + 1, np.int64)
    ndev = np.int64(0)
    nv = np.int64(0)
    st_kind, st_hash, st_key, st_count, st_k0, st_k1, st_k2 = _new_stack(max_depth + 1)
    depth = np.int64(0)
    extra, crlf, width, ichar, colon_ws, comma_ws, pre_colon = _style_fields(style)
    prev = K_START
    ki = 0  # key ordinal
    t = np.int64(0)
    for _ in range(ntok + 2):  # (a `while True` loop here trips a numba typing bug)
        # ---- the gap before the next token
        if t < ntok and kinds[t] == jt.WS:
            ga = starts[t]
            gb = starts[t + 1]
            t += 1
        else:
            ga = starts[t] if t < ntok else n
            gb = ga
        nk = kinds[t] if t < ntok else K_END
        level = depth + extra
        g, lvl = _resolve_gap(gtab[(256 if level == 0 else 0) + (prev << 4) + nk], level)
        if ga == gb and g == G_EMPTY:
            pass  # the common case, decided without looking at bytes
        else:
            ok = gb - ga == _gap_len(g, lvl, crlf, width, colon_ws, comma_ws)
            if ok and gb > ga:
                if g == G_COLON or g == G_COMMA:
                    ok = buf[ga] == 32
                else:
                    p = ga
                    if crlf:
                        ok = buf[p] == 13
                        p += 1
                    ok = ok and buf[p] == 10
                    p += 1
                    while ok and p < gb:
                        ok = buf[p] == ichar
                        p += 1
            if not ok:
                skel[sp] = S_WS_DEV
                sp += 1
                dev_a[ndev] = ga
                dev_b[ndev] = gb
                ndev += 1
        if t >= ntok:
            skel[sp] = S_END
            sp += 1
            break
        # ---- the token
        if (nk == jt.OBJ_OPEN or nk == jt.ARR_OPEN) and ref_close[t] > 0:
            skel[sp] = S_REF_OBJ if nk == jt.OBJ_OPEN else S_REF_ARR
            sp += 1
            if depth > 0:
                st_count[depth - 1] += 1
            nk = ref_close[t]
        elif nk == jt.STRING and ref_close[t] > 0:
            skel[sp] = S_REF_STR
            sp += 1
            if depth > 0:
                st_count[depth - 1] += 1
        elif nk == jt.OBJ_OPEN or nk == jt.ARR_OPEN:
            skel[sp] = S_OBJ_OPEN if nk == jt.OBJ_OPEN else S_ARR_OPEN
            sp += 1
            top = max(depth - 1, 0)  # (slot 0 is read, and left as it was, at depth 0)
            comp, parent, p0, p1, p2, st_count[top] = _child_path(
                depth, st_kind[top], st_key[top], st_count[top], st_hash[top], st_k0[top], st_k1[top], st_k2[top],
                np.bool_(False))
            (st_kind[depth], st_hash[depth], st_key[depth], st_count[depth], st_k0[depth], st_k1[depth],
             st_k2[depth]) = _open_frame(depth, nk == jt.OBJ_OPEN, comp, parent, p0, p1, p2)
            depth += 1
        elif nk == jt.OBJ_CLOSE or nk == jt.ARR_CLOSE:
            skel[sp] = S_OBJ_CLOSE if nk == jt.OBJ_CLOSE else S_ARR_CLOSE
            sp += 1
            depth, extra = _pop_container(depth, extra)
        elif nk == jt.COMMA:
            skel[sp] = S_COMMA
            sp += 1
            if depth > 0:
                st_key[depth - 1] = C_NOKEY
        elif nk == jt.COLON:
            skel[sp] = S_COLON
            sp += 1
        elif nk == jt.KEY:
            code = key_code[ki]
            if code < 0:
                skel[sp] = S_KEY_LITERAL
                sp += 1
            elif code < KEY2_FIRST:
                skel[sp] = KEY1_BASE + code
                sp += 1
            elif code < KEY3_FIRST:
                c2 = code - KEY2_FIRST
                skel[sp] = KEY2_BASE + (c2 >> 8)
                skel[sp + 1] = c2 & 0xFF
                sp += 2
            else:
                c3 = code - KEY3_FIRST
                skel[sp] = KEY3
                skel[sp + 1] = c3 >> 8
                skel[sp + 2] = c3 & 0xFF
                sp += 3
            if depth > 0 and st_kind[depth - 1] == 1:
                st_key[depth - 1] = key_comp[ki]
            ki += 1
            # the gap between the key and its colon, then the colon itself
            if kinds[t + 1] == jt.WS:
                ga = starts[t + 1]
                gb = starts[t + 2]
                t += 1
            else:
                ga = starts[t + 1]
                gb = ga
            if not (gb - ga == pre_colon and (pre_colon == 0 or buf[ga] == 32)):
                skel[sp] = S_WS_DEV_KEY
                sp += 1
                dev_a[ndev] = ga
                dev_b[ndev] = gb
                ndev += 1
            t += 1  # the colon
            nk = jt.COLON
        elif nk == jt.STRING or nk == jt.NUMBER:
            skel[sp] = S_STRING if nk == jt.STRING else S_NUMBER
            sp += 1
            top = max(depth - 1, 0)  # (slot 0 is read, and left as it was, at depth 0)
            comp, parent, p0, p1, p2, st_count[top] = _child_path(
                depth, st_kind[top], st_key[top], st_count[top], st_hash[top], st_k0[top], st_k1[top], st_k2[top],
                np.bool_(True))
            vh[nv, MODE_FULL] = _h32(_path_hash(depth, parent, comp))
            # modes 1..4 = :func:`_suffix_hash`, computed incrementally
            h = _mix(C_ROOT, comp)
            vh[nv, 1] = _h32(h)
            h = _mix(h, p0)
            vh[nv, 2] = _h32(h)
            h = _mix(h, p1)
            vh[nv, 3] = _h32(h)
            vh[nv, 4] = _h32(_mix(h, p2))
            nv += 1
        elif nk == jt.TRUE or nk == jt.FALSE or nk == jt.NULL:
            skel[sp] = S_TRUE + (nk - jt.TRUE)
            sp += 1
            if depth > 0:
                st_count[depth - 1] += 1
        else:
            skel[sp] = S_RESIDUE
            sp += 1
        prev = nk
        t += 1
    return skel[:sp], dev_a[:ndev], dev_b[:ndev], vh


def skeleton_space(ntok: int, nvalues: int):
    """The skeleton and column-hash arrays :func:`_walk_encode` fills."""
    return pages.empty(4 * ntok + 16, np.uint8), pages.empty((nvalues, N_MODES), np.uint32)
