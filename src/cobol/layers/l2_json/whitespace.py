"""Whitespace prediction: the gap rules between token kinds, their lookup table,
and detection of a block's style (pretty or compact, newline, indent unit,
spacing around ``:`` and ``,``, base depth)."""

from __future__ import annotations

import functools

import numpy as np
from numba import njit

from .. import json_tokenizer as jt
from .symbols import (
    G_COLON, G_COMMA, G_EMPTY, G_NEWLINE, K_END, K_START, ST_BASE_DEPTH, ST_COLON_WS, ST_COMMA_WS, ST_CRLF,
    ST_INDENT_CHAR, ST_INDENT_WIDTH, ST_PRETTY, ST_PRE_COLON_WS, ST_SIZE,
)


@njit(cache=True, nogil=True, inline="always")
def _is_open(k):
    return k == jt.OBJ_OPEN or k == jt.ARR_OPEN


@njit(cache=True, nogil=True, inline="always")
def _is_close(k):
    return k == jt.OBJ_CLOSE or k == jt.ARR_CLOSE


G_LEVEL = 4        # table codes resolved to G_NEWLINE at the current level
G_LEVEL_M1 = 5     # ... at the current level - 1 (before a closer)


def _gap_rule(prev: int, nxt: int, top: bool, style) -> int:
    """The whitespace expected between token kinds ``prev`` and ``nxt``
    (``top``: at nesting level 0). One rule set for encoder and decoder."""
    is_open = prev in (jt.OBJ_OPEN, jt.ARR_OPEN)
    closes = nxt in (jt.OBJ_CLOSE, jt.ARR_CLOSE)
    if prev == K_START:
        return G_EMPTY
    if nxt == K_END:
        return G_NEWLINE
    if prev == jt.COLON:
        return G_COLON
    if style[ST_PRETTY]:
        if is_open:
            return G_EMPTY if closes else G_LEVEL
        if prev == jt.COMMA:
            return G_LEVEL
        if closes:
            return G_LEVEL_M1
    else:
        if prev == jt.COMMA:
            return G_COMMA
        if is_open or closes:
            return G_EMPTY
    if nxt in (jt.COMMA, jt.COLON):
        return G_EMPTY
    return G_NEWLINE if top else G_EMPTY


def gap_table(style) -> np.ndarray:
    """``table[top * 256 + prev * 16 + nxt]`` = the gap rule, precomputed so the
    kernels do one lookup per token instead of a cascade of branches."""
    return _gap_table(bool(style[ST_PRETTY]))


@functools.lru_cache(maxsize=4)
def _gap_table(pretty: bool) -> np.ndarray:
    style = np.zeros(ST_SIZE, np.int64)
    style[ST_PRETTY] = pretty
    t = np.zeros(512, np.uint8)
    for top in (0, 1):
        for prev in range(16):
            for nxt in range(16):
                t[top * 256 + prev * 16 + nxt] = _gap_rule(prev, nxt, bool(top), style)
    t.flags.writeable = False
    return t


@njit(cache=True, nogil=True, inline="always")
def _resolve_gap(g, level):
    """A gap table code -> (G_EMPTY/G_NEWLINE/G_COLON/G_COMMA, indent level)."""
    if g == G_LEVEL:
        return G_NEWLINE, level
    if g == G_LEVEL_M1:
        return G_NEWLINE, max(level - 1, 0)
    return g, 0


@njit(cache=True, nogil=True, inline="always")
def _gap_len(g, level, crlf, width, colon_ws, comma_ws):
    if g == G_EMPTY:
        return 0
    if g == G_COLON:
        return colon_ws
    if g == G_COMMA:
        return comma_ws
    return 1 + crlf + level * width


@njit(cache=True, nogil=True)
def _style_stats(buf, kinds, starts, limit_tokens):
    """Counters and indentation samples for style detection.

    counts: [after_open_nl, after_open_flat, colon_sp, colon_none, pre_colon_sp,
             pre_colon_none, comma_sp, comma_none, crlf, lf]
    samples: (indent width, level relative to block start, indent byte)
    """
    counts = np.zeros(10, np.int64)
    nsamp = 0
    cap = 4096
    widths = np.empty(cap, np.int64)
    rels = np.empty(cap, np.int64)
    chars = np.empty(cap, np.int64)
    ntok = min(kinds.size, limit_tokens)
    rel = 0
    for t in range(ntok):
        k = kinds[t]
        if _is_open(k):
            rel += 1
        elif _is_close(k):
            rel -= 1
        if k != jt.WS:
            continue
        a = starts[t]
        b = starts[t + 1]
        prev = kinds[t - 1] if t > 0 else K_START
        nxt = kinds[t + 1] if t + 1 < kinds.size else K_END
        nl = -1
        for p in range(a, b):
            if buf[p] == 10:
                nl = p
                if p > a and buf[p - 1] == 13:
                    counts[8] += 1
                else:
                    counts[9] += 1
        if _is_open(prev) and not _is_close(nxt):
            if nl >= 0:
                counts[0] += 1
            else:
                counts[1] += 1
        if prev == jt.COLON and nl < 0:
            if b - a == 1 and buf[a] == 32:
                counts[2] += 1
        if prev == jt.KEY:
            if b - a == 1 and buf[a] == 32:
                counts[4] += 1
        if prev == jt.COMMA and nl < 0 and b - a == 1 and buf[a] == 32:
            counts[6] += 1
        if nl >= 0 and nxt != K_END and nsamp < cap:
            w = b - nl - 1
            ch = buf[nl + 1] if w > 0 else 32
            uniform = True
            for p in range(nl + 1, b):
                if buf[p] != ch:
                    uniform = False
                    break
            if uniform:
                widths[nsamp] = w
                rels[nsamp] = rel - 1 if _is_close(nxt) else rel
                chars[nsamp] = ch
                nsamp += 1
    # gaps that are absent are "none" cases: count tokens
    for t in range(ntok):
        k = kinds[t]
        nk = kinds[t + 1] if t + 1 < kinds.size else K_END
        if k == jt.COLON and nk != jt.WS:
            counts[3] += 1
        if k == jt.KEY and nk != jt.WS:
            counts[5] += 1
        if k == jt.COMMA and nk != jt.WS:
            counts[7] += 1
    return counts, widths[:nsamp], rels[:nsamp], chars[:nsamp]


def detect_style(tok: jt.Tokens, sample_tokens: int = 1 << 16) -> np.ndarray:
    """Whitespace style of a block (an int64 array indexed by ST_*)."""
    counts, widths, rels, chars = _style_stats(tok.buf, tok.kinds, tok.starts, sample_tokens)
    style = np.zeros(ST_SIZE, np.int64)
    style[ST_PRETTY] = 1 if counts[0] > counts[1] else 0
    style[ST_CRLF] = 1 if counts[8] > counts[9] else 0
    style[ST_COLON_WS] = 1 if counts[2] > counts[3] else 0
    style[ST_PRE_COLON_WS] = 1 if counts[4] > counts[5] else 0
    style[ST_COMMA_WS] = 1 if counts[6] > counts[7] else 0
    style[ST_INDENT_CHAR] = 32
    if style[ST_PRETTY] and widths.size:
        pos = widths > 0
        if pos.any():
            ch_vals, ch_counts = np.unique(chars[pos], return_counts=True)
            ch = int(ch_vals[np.argmax(ch_counts)])
            sel = pos & (chars == ch)
            unit = int(np.gcd.reduce(widths[sel]))
            style[ST_INDENT_CHAR] = ch
            style[ST_INDENT_WIDTH] = unit
            if unit:
                lvl = widths[sel | (widths == 0)] // unit - rels[sel | (widths == 0)]
                lvl = lvl[(lvl >= 0) & (lvl < 1 << 16)]
                if lvl.size:
                    style[ST_BASE_DEPTH] = int(np.bincount(lvl).argmax())
    return style


@njit(cache=True, nogil=True)
def _style_fields(style):
    """The style slots both walks read once: (base depth, crlf, indent width,
    indent byte, colon space, comma space, pre-colon space), spaces as 0/1."""
    return (style[ST_BASE_DEPTH], style[ST_CRLF], style[ST_INDENT_WIDTH], style[ST_INDENT_CHAR],
            1 if style[ST_COLON_WS] else 0, 1 if style[ST_COMMA_WS] else 0,
            1 if style[ST_PRE_COLON_WS] else 0)
