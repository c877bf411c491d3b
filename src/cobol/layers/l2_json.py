"""L2 structural mapping for JSON and JSON lines (transform ``json``, id 30).

One block of bytes (a document, JSON lines, or any fragment of them, valid or
not) becomes a handful of homogeneous streams, which the engine then entropy
codes one by one:

``skeleton``
    one symbol per token in order: structural characters, value *types*
    (string, number, true, ...), keys as ids of a frequency-ordered
    :class:`StructuralDictionary` (1 byte for the 128 most frequent keys, 2 or 3
    bytes for the rest; keys seen fewer than 8 times are stored verbatim),
    and ``WS_DEV`` marks. A key's ``:`` is implied. Records of one shape give
    identical skeleton runs, which zstd reduces to almost nothing, so a JSON
    lines record costs little more than its values.
``ws``
    whitespace is *predicted* from the nesting depth and a per-block style
    (pretty or compact, newline, indent unit, ``": "``/``", "`` spacing, the
    depth at which a fragment starts). Only gaps that differ from the
    prediction are stored here (and marked ``WS_DEV`` in the skeleton), so
    pretty-printed input costs almost nothing.
``residue``
    every token that is not JSON (``NaN``, comments, a BOM, binary bytes,
    unterminated quotes) verbatim, so odd bytes cost only themselves.
``keys``
    the key dictionary (:meth:`StructuralDictionary.to_bytes`).
``numflags``
    one scale byte per number of the columns that need it.
``text:...`` (one per text group)
    string values (content between the quotes, escapes verbatim), numbers
    whose spelling does not print back exactly (``1e3``, ``1.5E-7``, ``-0``,
    huge integers) and verbatim keys, each ended by a ``"``. A group is one
    column or several columns whose values repeat each other within a record
    (an id inside a url and a title, a key that is also in a path): those are
    merged, values in document order, when a trial compression of a sample
    says so (from level 6; see :meth:`Layer2Encoder._text_groups`).
``colN:...ints`` (one per numeric column)
    numbers spelled ``-?(0|[1-9]d*)(.d+)?`` with at most 18 digits (not
    ``-0``) as int64 mantissas, scaled to the column's largest number of
    decimals when that fits, coded by :mod:`cobol.layers.intcodec`.
``colN:...dict`` / ``colN:...ids`` (per low-cardinality string column)
    the column's distinct strings (a :class:`StructuralDictionary`, most
    frequent first) and one id per string value (u8, or u16 LE beyond 256
    entries); see :meth:`Layer2Encoder._dictionary_columns`.
``colmap``
    the column of each distinct path, in order of first appearance.

Columns. A value's path is the sequence of keys and array positions from the
root (scalars at array index < 4 keep their index, so ``[lon, lat]`` pairs
split into two columns). Keys can be data (a map of thousands of names), so
the encoder tries full paths and path *shapes* -- suffixes of 1 to 4 keys,
generic array steps skipped -- and keeps the most specific one whose columns
of at least 32 values hold 95% of the values; at most 255 columns get their
own streams, rare paths share column 0. The decoder recomputes every path hash
from the skeleton, so column membership costs one byte per distinct path.

Anything goes: a block may start or end in the middle of a document (the
style records the indent level it starts at, unmatched closers are allowed, a
block cut inside a string stores the string's tail verbatim), and every byte
string round-trips.

Params (all varints unless noted): u8 version (1); u8 pretty, crlf, indent
byte, colon space, pre-colon space, comma space, path mode; indent width; base
depth; string tail length + the tail's bytes; distinct paths; columns; text
groups; per column: u8 flags (bit 0 text, bit 1 ints, bits 2-3 number mode:
0 integers, 1 scaled, 2 mantissa+scale, 3 none; bit 4 string dictionary),
then for number modes 1-2 a u8 scale and the count of scale bytes, then the
text group if bit 0; last, the text group of verbatim keys (= groups when
none). Streams: skeleton, ws, residue, keys, numflags, the text groups, per
column its ints, dict and ids when present, colmap.

>>> from cobol.registry import EncodeContext, DecodeContext
>>> data = b'{"a": 1, "b": [true, "x"]}\\n{"a": 2, "b": []}\\n'
>>> enc = Layer2Encoder().encode(data)
>>> Layer2Decoder().decode(enc.streams, enc.params, len(data)) == data
True
"""

from __future__ import annotations

import functools

import numpy as np
import zstandard
from numba import njit

from ..errors import CobolError, FormatError
from ..format.wire import Reader, put_varint
from ..registry import DecodeContext, Encoded, EncodeContext, Transform, register_transform
from . import json_tokenizer as jt
from .intcodec import decode_ints, encode_ints
from .structural_dictionary import MAX_ENTRIES, StructuralDictionary, decode_varints

PARAMS_VERSION = 1

# ---------------------------------------------------------------- skeleton symbols
S_WS_DEV = 1       # the gap before the next token is stored in the ws stream
S_WS_DEV_KEY = 2   # the gap between the key just emitted and its colon is stored
S_END = 3
S_OBJ_OPEN = 4
S_OBJ_CLOSE = 5
S_ARR_OPEN = 6
S_ARR_CLOSE = 7
S_COLON = 8        # a colon that does not follow a key
S_COMMA = 9
S_STRING = 10
S_NUMBER = 11
S_TRUE = 12
S_FALSE = 13
S_NULL = 14
S_RESIDUE = 15
S_KEY_LITERAL = 16
KEY1_BASE = 0x40   # 0x40..0xBF: key ids 0..127
KEY2_BASE = 0xC0   # 0xC0..0xFE + 1 byte: key ids 128..16255
KEY3 = 0xFF        # + 2 bytes (big endian): key ids 16256..81791
KEY2_FIRST = 128
KEY3_FIRST = 128 + 63 * 256

WS_TERM = 124      # '|' ends each stored gap in the ws stream
RESIDUE_TERM = 10  # residue words never contain LF
TEXT_TERM = 34     # '"' ends each text item (content never holds an unescaped quote)

# pseudo token kinds for the gap predictor
K_START = 14
K_END = 15
K_INVALID = 255


def _symbol_kinds():
    t = np.full(256, K_INVALID, np.uint8)
    for sym, kind in ((S_END, K_END), (S_OBJ_OPEN, jt.OBJ_OPEN), (S_OBJ_CLOSE, jt.OBJ_CLOSE),
                      (S_ARR_OPEN, jt.ARR_OPEN), (S_ARR_CLOSE, jt.ARR_CLOSE), (S_COLON, jt.COLON),
                      (S_COMMA, jt.COMMA), (S_STRING, jt.STRING), (S_NUMBER, jt.NUMBER),
                      (S_TRUE, jt.TRUE), (S_FALSE, jt.FALSE), (S_NULL, jt.NULL),
                      (S_RESIDUE, jt.RESIDUE), (S_KEY_LITERAL, jt.KEY)):
        t[sym] = kind
    t[KEY1_BASE:] = jt.KEY
    return t


#: skeleton symbol -> token kind (K_INVALID for symbols that cannot start a token)
SYMBOL_KIND = _symbol_kinds()

# gap predictions
G_EMPTY = 0
G_NEWLINE = 1      # newline + indent * level
G_COLON = 2
G_COMMA = 3

# style array slots
ST_PRETTY = 0
ST_CRLF = 1
ST_INDENT_CHAR = 2
ST_INDENT_WIDTH = 3
ST_COLON_WS = 4
ST_PRE_COLON_WS = 5
ST_COMMA_WS = 6
ST_BASE_DEPTH = 7
ST_SIZE = 8

# path hashing
MODE_FULL = 0      # column key = full path; 1..4 = suffix of that many keys
N_MODES = 5
POSITIONAL = 4     # scalars at array index < POSITIONAL keep the index in their path
MAX_PATH_DEPTH = 64
C_ROOT = np.int64(0x5EED0001)
C_NOKEY = np.int64(0x5EED0002)
C_ARR = np.int64(0x5EED0010)  # + 1 + index for positional scalars

MIN_DICT_COUNT = 8  # rarer keys are stored verbatim (they are data more than schema)
MIN_COLUMN_VALUES = 32
DICT_MIN_VALUES = 32       # dictionary-coded string columns: at least this many strings
DICT_MIN_REPEAT = 4        # ... and each distinct value seen this often on average
DICT_TRIAL_GAIN = 0.9      # ... and (trial) ids + dictionary under 90% of the text
GROUP_MIN_LEVEL = 6        # text grouping by trial compression from this level up
GROUP_MIN_BYTES = 2048     # smaller text columns are not worth a trial
GROUP_MAX_CANDIDATES = 12
GROUP_SAMPLE_BYTES = 1 << 18
GROUP_TRIAL_LEVEL = 3
GROUP_MIN_GAIN = 0.02
COVERAGE = 0.95
MAX_COLUMNS = 255  # dedicated columns; column 0 is the shared one
MAX_SCALE = 18
FLAG_RAW = 255
NUM_INT = 0        # column number modes
NUM_SCALED = 1
NUM_PLAIN = 2

# decoder error codes -> messages
_ERRORS = {
    -1: "skeleton ends early",
    -2: "output exceeds the block length",
    -3: "ws stream exhausted",
    -4: "residue stream exhausted",
    -5: "key id out of range",
    -6: "literal key stream exhausted",
    -7: "column text stream exhausted",
    -8: "column int stream exhausted",
    -9: "number flag stream exhausted",
    -10: "bad number flag",
    -11: "number out of range",
    -12: "unknown skeleton symbol",
    -13: "more distinct paths than declared",
    -14: "column index out of range",
    -15: "streams not fully consumed",
    -16: "number mantissa not divisible by its scale",
    -17: "nesting deeper than the skeleton allows",
    -18: "column dictionary ids exhausted",
    -19: "column dictionary id out of range",
}


# ================================================================ shared kernels
@njit(cache=True, nogil=True, inline="always")
def _mix(h, c):
    h = (h ^ c) * np.int64(-7046029254386353131)
    return h ^ (h >> 31)


@njit(cache=True, nogil=True)
def _fnv(buf, a, b):
    h = np.int64(-3750763034362895579)
    for i in range(a, b):
        h = (h ^ np.int64(buf[i])) * np.int64(1099511628211)
    return h ^ (h >> 29)


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


@njit(cache=True, nogil=True, inline="always")
def _child_comp(depth, top_kind, top_key, top_count, scalar):
    """Path component of a child of the open container (scalars only: the
    arguments are the top-of-stack fields, so no array crosses a call)."""
    if depth == 0:
        return C_ROOT
    if top_kind == 1:
        return top_key
    if scalar and top_count < POSITIONAL:
        return C_ARR + 1 + top_count
    return C_ARR


@njit(cache=True, nogil=True, inline="always")
def _h32(h):
    """Column hashes are kept as 32 bits (a collision only merges two columns)."""
    return (h ^ (h >> 32)) & np.int64(0xFFFFFFFF)


@njit(cache=True, nogil=True, inline="always")
def _suffix_hash(comp, p0, p1, p2, mode):
    """Column hash of a scalar for suffix mode 1..4: its own component, then the
    parent's three most recent key components (generic array steps skipped)."""
    h = _mix(C_ROOT, comp)
    if mode >= 2:
        h = _mix(h, p0)
    if mode >= 3:
        h = _mix(h, p1)
    if mode >= 4:
        h = _mix(h, p2)
    return h


# ================================================================ encoder kernels
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
def _intern_spans_kernel(buf, a, b, grp, cap):
    """Exact interning of the byte strings buf[a[i]:b[i]] within groups grp[i].

    Returns (id per item, numbered in first-appearance order; per id: count,
    first item, FNV hash of the bytes (= :func:`_fnv`), group; the number of
    ids, -1 when more than cap / 2 turn up)."""
    n = a.size
    ids = np.empty(n, np.int64)
    table = np.full(cap, -1, np.int64)
    mask = cap - 1
    m = cap // 2
    ids_first = np.empty(m, np.int64)
    ids_hash = np.empty(m, np.int64)
    ids_grp = np.empty(m, np.int64)
    ids_count = np.zeros(m, np.int64)
    nid = 0
    for j in range(n):
        x = a[j]
        y = b[j]
        g = grp[j]
        h = np.int64(-3750763034362895579)
        for i in range(x, y):
            h = (h ^ np.int64(buf[i])) * np.int64(1099511628211)
        h = h ^ (h >> 29)
        slot = _mix(h, g) & mask
        found = -1
        for _ in range(cap):
            e = table[slot]
            if e < 0:
                if nid >= m:
                    return ids, ids_count, ids_first, ids_hash, ids_grp, -1
                table[slot] = nid
                ids_first[nid] = j
                ids_hash[nid] = h
                ids_grp[nid] = g
                found = nid
                nid += 1
                break
            if ids_hash[e] == h and ids_grp[e] == g:
                j0 = ids_first[e]
                x0 = a[j0]
                same = (b[j0] - x0) == (y - x)
                if same:
                    for q in range(y - x):
                        if buf[x0 + q] != buf[x + q]:
                            same = False
                            break
                if same:
                    found = e
                    break
            slot = (slot + 1) & mask
        ids[j] = found
        ids_count[found] += 1
    return ids, ids_count[:nid], ids_first[:nid], ids_hash[:nid], ids_grp[:nid], nid


def _intern_spans(buf, a, b, grp):
    """See :func:`_intern_spans_kernel` (retried with bigger tables as needed)."""
    for cap in _table_sizes(a.size):
        ids, count, first, hashes, groups, n = _intern_spans_kernel(buf, a, b, grp, cap)
        if n >= 0:
            return ids, count, first, hashes, groups
    raise AssertionError("unreachable: the last table holds every item")


def _intern_keys(buf, kinds, starts):
    """Key tokens and their exact interning (see :func:`_intern_spans`)."""
    ktok = np.flatnonzero(kinds == jt.KEY)
    a = starts[ktok].astype(np.int64) + 1
    b = starts[ktok + 1].astype(np.int64) - 1
    kid, count, first, khash, _ = _intern_spans(buf, a, b, np.zeros(ktok.size, np.int64))
    return ktok, kid, count, first, khash


@njit(cache=True, nogil=True)
def _walk_encode(buf, kinds, starts, key_code, key_comp, style, gtab, nvalues, max_depth):
    """The encoder's token walk: skeleton symbols, whitespace deviations and the
    per-mode column hashes of every string/number value (in token order).

    (Hot loops call no function that takes an array: numba reference-counts
    array arguments with atomic operations, which cost more than the work.)"""
    ntok = kinds.size
    n = buf.size
    skel = np.empty(4 * ntok + 16, np.uint8)
    sp = 0
    # (arrays are never reallocated inside the loop either)
    dev_a = np.empty(ntok + 1, np.int64)
    dev_b = np.empty(ntok + 1, np.int64)
    ndev = 0
    vh = np.empty((nvalues, N_MODES), np.uint32)  # 32-bit column hashes: memory per value
    nv = 0
    cap = max_depth + 1
    st_kind = np.empty(cap, np.uint8)
    st_hash = np.empty(cap, np.int64)
    st_key = np.empty(cap, np.int64)
    st_count = np.empty(cap, np.int64)
    st_k0 = np.empty(cap, np.int64)  # the three most recent key components on the path
    st_k1 = np.empty(cap, np.int64)
    st_k2 = np.empty(cap, np.int64)
    depth = 0
    extra = style[ST_BASE_DEPTH]
    crlf = style[ST_CRLF]
    width = style[ST_INDENT_WIDTH]
    ichar = style[ST_INDENT_CHAR]
    colon_ws = 1 if style[ST_COLON_WS] else 0
    comma_ws = 1 if style[ST_COMMA_WS] else 0
    pre_colon = 1 if style[ST_PRE_COLON_WS] else 0
    prev = K_START
    ki = 0  # key ordinal
    t = 0
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
        if nk == jt.OBJ_OPEN or nk == jt.ARR_OPEN:
            skel[sp] = S_OBJ_OPEN if nk == jt.OBJ_OPEN else S_ARR_OPEN
            sp += 1
            if depth > 0:
                top = depth - 1
                comp = _child_comp(depth, st_kind[top], st_key[top], st_count[top], False)
                st_count[top] += 1
                parent = st_hash[top]
                p0 = st_k0[top]
                p1 = st_k1[top]
                p2 = st_k2[top]
            else:
                comp = C_ROOT
                parent = C_ROOT
                p0 = C_ROOT
                p1 = C_ROOT
                p2 = C_ROOT
            st_kind[depth] = 1 if nk == jt.OBJ_OPEN else 2
            st_hash[depth] = parent if depth >= MAX_PATH_DEPTH else _mix(parent, comp)
            st_key[depth] = C_NOKEY
            st_count[depth] = 0
            if comp == C_ARR:
                st_k0[depth] = p0
                st_k1[depth] = p1
                st_k2[depth] = p2
            else:
                st_k0[depth] = comp
                st_k1[depth] = p0
                st_k2[depth] = p1
            depth += 1
        elif nk == jt.OBJ_CLOSE or nk == jt.ARR_CLOSE:
            skel[sp] = S_OBJ_CLOSE if nk == jt.OBJ_CLOSE else S_ARR_CLOSE
            sp += 1
            if depth > 0:
                depth -= 1
            elif extra > 0:
                extra -= 1
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
            if depth > 0:
                top = depth - 1
                comp = _child_comp(depth, st_kind[top], st_key[top], st_count[top], True)
                st_count[top] += 1
                parent = st_hash[top]
                p0 = st_k0[top]
                p1 = st_k1[top]
                p2 = st_k2[top]
            else:
                comp = C_ROOT
                parent = C_ROOT
                p0 = C_ROOT
                p1 = C_ROOT
                p2 = C_ROOT
            vh[nv, MODE_FULL] = _h32(parent if depth >= MAX_PATH_DEPTH else _mix(parent, comp))
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


@njit(cache=True, nogil=True)
def _first_appearance_kernel(h, cap):
    """Distinct ids of ``h`` numbered in order of first appearance, and counts;
    ``cap`` (a power of two) sizes the hash table: returns nd = -1 when more
    than cap / 2 distinct values turn up (the caller retries bigger)."""
    n = h.size
    mask = cap - 1
    keys = np.empty(cap, np.int64)
    vals = np.full(cap, -1, np.int64)
    ids = np.empty(n, np.int64)
    counts = np.zeros(cap // 2 + 1, np.int64)
    nd = 0
    for i in range(n):
        x = h[i]
        slot = (x ^ (x >> 17)) & mask
        for _ in range(cap):
            v = vals[slot]
            if v < 0:
                if nd >= cap // 2:
                    return ids, counts, -1
                keys[slot] = x
                vals[slot] = nd
                ids[i] = nd
                nd += 1
                break
            if keys[slot] == x:
                ids[i] = v
                break
            slot = (slot + 1) & mask
        counts[ids[i]] += 1
    return ids, counts[:nd], nd


def _table_sizes(n: int):
    """Hash table sizes to try for n items: small first (few distinct values is
    the common case, and a table sized for n would cost memory per item)."""
    full = 16
    while full < 2 * n + 16:
        full *= 2
    cap = min(1 << 16, full)
    while True:
        yield cap
        if cap >= full:
            return
        cap = min(cap * 16, full)


def _first_appearance(h):
    for cap in _table_sizes(h.size):
        ids, counts, nd = _first_appearance_kernel(h, cap)
        if nd >= 0:
            return ids, counts
    raise AssertionError("unreachable: the last table holds every value")


@njit(cache=True, nogil=True)
def _gather_spans(buf, a, b, term):
    """Concatenate buf[a[i]:b[i]] each followed by ``term``."""
    total = 0
    for i in range(a.size):
        total += b[i] - a[i] + 1
    out = np.empty(total, np.uint8)
    p = 0
    for i in range(a.size):
        for q in range(a[i], b[i]):
            out[p] = buf[q]
            p += 1
        out[p] = term
        p += 1
    return out


@njit(cache=True, nogil=True)
def _scatter_text(buf, a, b, col, ncols):
    """Per-column concatenation (in order) of buf[a[i]:b[i]] + '"'; returns the
    buffer and ncols + 1 column offsets."""
    off = np.zeros(ncols + 1, np.int64)
    for i in range(a.size):
        off[col[i] + 1] += b[i] - a[i] + 1
    for c in range(ncols):
        off[c + 1] += off[c]
    cur = off[:-1].copy()
    out = np.empty(off[ncols], np.uint8)
    for i in range(a.size):
        p = cur[col[i]]
        for q in range(a[i], b[i]):
            out[p] = buf[q]
            p += 1
        out[p] = TEXT_TERM
        cur[col[i]] = p + 1
    return out, off


@njit(cache=True, nogil=True)
def _group_order(col, ncols):
    """Stable counting sort: indices ordering ``col`` by column, and counts."""
    counts = np.zeros(ncols + 1, np.int64)
    for i in range(col.size):
        counts[col[i] + 1] += 1
    for c in range(ncols):
        counts[c + 1] += counts[c]
    cur = counts[:-1].copy()
    order = np.empty(col.size, np.int64)
    for i in range(col.size):
        c = col[i]
        order[cur[c]] = i
        cur[c] += 1
    return order, counts


@njit(cache=True, nogil=True)
def _parse_numbers(buf, starts, toks):
    """Canonical number spellings -> (mantissa, scale, digit count); scale -1 = raw."""
    n = toks.size
    mant = np.zeros(n, np.int64)
    scale = np.full(n, -1, np.int8)
    ndig = np.zeros(n, np.int8)
    for i in range(n):
        t = toks[i]
        p = starts[t]
        b = starts[t + 1]
        neg = False
        if buf[p] == 45:
            neg = True
            p += 1
        if p >= b or not (48 <= buf[p] <= 57):
            continue
        m = np.int64(0)
        digits = 0  # digits appended to m; at most MAX_SCALE so |m| < 10**18
        if buf[p] == 48:
            p += 1
            if p < b and 48 <= buf[p] <= 57:
                continue  # leading zero
        else:
            while p < b and 48 <= buf[p] <= 57 and digits < MAX_SCALE:
                m = m * 10 + (buf[p] - 48)
                digits += 1
                p += 1
            if p < b and 48 <= buf[p] <= 57:
                continue  # too many digits
        s = 0
        if p < b and buf[p] == 46:
            p += 1
            if p >= b or not (48 <= buf[p] <= 57):
                continue
            while p < b and 48 <= buf[p] <= 57 and digits < MAX_SCALE:
                m = m * 10 + (buf[p] - 48)
                digits += 1
                s += 1
                p += 1
        if p != b:
            continue
        if neg and m == 0:
            continue
        mant[i] = -m if neg else m
        scale[i] = s
        # significant digits of |m|
        d = 1
        x = m
        while x >= 10:
            x //= 10
            d += 1
        ndig[i] = d
    return mant, scale, ndig


@njit(cache=True, nogil=True)
def _number_columns(col, scale, ndig, ncols):
    """Per column: max scale, any raw, whether scaling to the max scale fits."""
    smax = np.zeros(ncols, np.int64)
    anyraw = np.zeros(ncols, np.bool_)
    for i in range(col.size):
        c = col[i]
        if scale[i] < 0:
            anyraw[c] = True
        elif scale[i] > smax[c]:
            smax[c] = scale[i]
    fits = np.ones(ncols, np.bool_)
    for i in range(col.size):
        c = col[i]
        if scale[i] >= 0 and ndig[i] + smax[c] - scale[i] > MAX_SCALE:
            fits[c] = False
    return smax, anyraw, fits


@njit(cache=True, nogil=True)
def _number_values(col, mant, scale, mode, smax):
    """Normalized mantissas (raw numbers dropped) and per-number flags."""
    n = col.size
    keep = np.zeros(n, np.bool_)
    vals = np.empty(n, np.int64)
    flags = np.empty(n, np.uint8)
    p10 = np.ones(MAX_SCALE + 1, np.int64)
    for i in range(1, MAX_SCALE + 1):
        p10[i] = p10[i - 1] * 10
    for i in range(n):
        c = col[i]
        s = scale[i]
        if s < 0:
            flags[i] = FLAG_RAW
            continue
        keep[i] = True
        md = mode[c]
        if md == NUM_SCALED:
            f = smax[c] - s
            flags[i] = f
            vals[i] = mant[i] * p10[f]
        else:
            flags[i] = s
            vals[i] = mant[i]
    return keep, vals, flags


# ================================================================ decoder kernel
@njit(cache=True, nogil=True)
def _copy_until(src, sp, send, term, escapes, out, o):
    """Copy src[sp:] up to ``term`` (backslash escapes when ``escapes``) to out[o:].
    Returns (new sp after the terminator, new o); sp = -1 if no terminator,
    o = -2 if the output overflows."""
    osz = out.size
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
def _walk_decode(skel, ws, residue, kdata, koff, kcomp, texts, toff, tgrp, ints, ioff,
                 flags, foff, cmode, cscale, ddata, dents, dbase, dcount, dids, doff,
                 colmap, style, gtab, mode, max_depth, out):
    """Rebuild the block; returns the number of bytes written or an error code < 0.

    (Like the encoder's walk, the loop calls no function that takes an array:
    copies and number printing are written out in place.)"""
    nsk = skel.size
    nout = out.size
    ncols = cmode.size
    nkeys = koff.size - 1
    p10 = np.ones(MAX_SCALE + 1, np.int64)
    for i in range(1, MAX_SCALE + 1):
        p10[i] = p10[i - 1] * 10
    lim = p10[MAX_SCALE]
    tcur = toff[:-1].copy()
    icur = ioff[:-1].copy()
    fcur = foff[:-1].copy()
    dcur = doff[:-1].copy()
    wp = 0
    rp = 0
    # first-appearance table for column hashes
    nd_max = colmap.size
    cap = 16
    while cap < 2 * nd_max + 16:
        cap *= 2
    mask = cap - 1
    tkeys = np.empty(cap, np.int64)
    tvals = np.full(cap, -1, np.int64)
    nd = 0
    stcap = max_depth + 1
    st_kind = np.empty(stcap, np.uint8)
    st_hash = np.empty(stcap, np.int64)
    st_key = np.empty(stcap, np.int64)
    st_count = np.empty(stcap, np.int64)
    st_k0 = np.empty(stcap, np.int64)
    st_k1 = np.empty(stcap, np.int64)
    st_k2 = np.empty(stcap, np.int64)
    depth = 0
    extra = style[ST_BASE_DEPTH]
    crlf = style[ST_CRLF]
    width = style[ST_INDENT_WIDTH]
    ichar = style[ST_INDENT_CHAR]
    colon_ws = 1 if style[ST_COLON_WS] else 0
    comma_ws = 1 if style[ST_COMMA_WS] else 0
    pre_colon = 1 if style[ST_PRE_COLON_WS] else 0
    lit_group = tgrp[ncols]
    prev = K_START
    o = 0
    sp = 0
    ended = False
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
        if dev:
            wp, o = _copy_until(ws, wp, ws.size, WS_TERM, False, out, o)
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
        if nk == jt.OBJ_OPEN or nk == jt.ARR_OPEN:
            if o >= nout:
                return -2
            out[o] = 123 if nk == jt.OBJ_OPEN else 91
            o += 1
            if depth >= stcap:
                return -17
            if depth > 0:
                top = depth - 1
                comp = _child_comp(depth, st_kind[top], st_key[top], st_count[top], False)
                st_count[top] += 1
                parent = st_hash[top]
                p0 = st_k0[top]
                p1 = st_k1[top]
                p2 = st_k2[top]
            else:
                comp = C_ROOT
                parent = C_ROOT
                p0 = C_ROOT
                p1 = C_ROOT
                p2 = C_ROOT
            st_kind[depth] = 1 if nk == jt.OBJ_OPEN else 2
            st_hash[depth] = parent if depth >= MAX_PATH_DEPTH else _mix(parent, comp)
            st_key[depth] = C_NOKEY
            st_count[depth] = 0
            if comp == C_ARR:
                st_k0[depth] = p0
                st_k1[depth] = p1
                st_k2[depth] = p2
            else:
                st_k0[depth] = comp
                st_k1[depth] = p0
                st_k2[depth] = p1
            depth += 1
        elif nk == jt.OBJ_CLOSE or nk == jt.ARR_CLOSE:
            if o >= nout:
                return -2
            out[o] = 125 if nk == jt.OBJ_CLOSE else 93
            o += 1
            if depth > 0:
                depth -= 1
            elif extra > 0:
                extra -= 1
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
                for q in range(a, b):
                    out[o] = kdata[q]
                    o += 1
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
                wp, o = _copy_until(ws, wp, ws.size, WS_TERM, False, out, o)
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
        elif nk == jt.STRING or nk == jt.NUMBER:
            if depth > 0:
                top = depth - 1
                comp = _child_comp(depth, st_kind[top], st_key[top], st_count[top], True)
                st_count[top] += 1
                if mode == MODE_FULL:
                    parent = st_hash[top]
                    h = parent if depth >= MAX_PATH_DEPTH else _mix(parent, comp)
                else:
                    h = _suffix_hash(comp, st_k0[top], st_k1[top], st_k2[top], mode)
            else:
                comp = C_ROOT
                if mode == MODE_FULL:
                    h = _mix(C_ROOT, comp)
                else:
                    h = _suffix_hash(comp, C_ROOT, C_ROOT, C_ROOT, mode)
            h = _h32(h)
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
                    neg = m < 0
                    u = -m if neg else m
                    nd_ = 1
                    while nd_ < MAX_SCALE and u >= p10[nd_]:
                        nd_ += 1
                    ndig = nd_ if sc == 0 else max(nd_, sc + 1)
                    width_ = ndig + (1 if sc > 0 else 0) + (1 if neg else 0)
                    if o + width_ > nout:
                        return -2
                    p = o + width_ - 1
                    for i in range(ndig):
                        if sc > 0 and i == sc:
                            out[p] = 46
                            p -= 1
                        out[p] = 48 + u % 10
                        u //= 10
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
                for q in range(a, b):
                    out[o] = ddata[q]
                    o += 1
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
                tp = tcur[g]
                tend = toff[g + 1]
                closed = False
                while tp < tend:
                    ch = texts[tp]
                    if ch == TEXT_TERM:
                        closed = True
                        tp += 1
                        break
                    if o >= nout:
                        return -2
                    out[o] = ch
                    o += 1
                    tp += 1
                    if ch == 92:
                        if tp >= tend:
                            return -7
                        if o >= nout:
                            return -2
                        out[o] = texts[tp]
                        o += 1
                        tp += 1
                if not closed:
                    return -7
                tcur[g] = tp
                if nk == jt.STRING:
                    if o >= nout:
                        return -2
                    out[o] = 34
                    o += 1
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
            rp, o = _copy_until(residue, rp, residue.size, RESIDUE_TERM, False, out, o)
            if o < 0:
                return -2
            if rp < 0:
                return -4
        prev = nk
    if not ended:
        return -1
    if sp != nsk or wp != ws.size or rp != residue.size:
        return -15
    for g in range(tcur.size):
        if tcur[g] != toff[g + 1]:
            return -15
    for c in range(ncols):
        if icur[c] != ioff[c + 1] or fcur[c] != foff[c + 1] or dcur[c] != doff[c + 1]:
            return -15
    return o


@njit(cache=True, nogil=True)
def _key_hashes(kdata, koff):
    n = koff.size - 1
    out = np.empty(n, np.int64)
    for i in range(n):
        out[i] = _fnv(kdata, koff[i], koff[i + 1])
    return out


# ================================================================ Python side
@njit(cache=True, nogil=True)
def _first_unescaped_quote(buf, limit):
    """Position of the first ``"`` not escaped by a backslash, or -1 (also -1 if
    a LF comes first: strings never hold one, so the block is in sync there)."""
    i = 0
    n = min(buf.size, limit)
    while i < n:
        c = buf[i]
        if c == 34:
            return i
        if c == 10:
            return -1
        i += 2 if c == 92 else 1
    return -1


def _residue_bytes(buf) -> int:
    tok = jt.tokenize(buf)
    return int(np.diff(tok.starts)[tok.kinds == jt.RESIDUE].sum())


def string_tail_length(buf, window: int = 4096) -> int:
    """A block cut in the middle of a string (minified JSON has no newline to
    cut at) would tokenize with strings and the text between them swapped.
    If starting after the first unescaped quote reads as much better JSON
    (far fewer residue bytes in the first ``window`` bytes), return that
    prefix's length: the encoder stores it verbatim. Otherwise 0."""
    q = _first_unescaped_quote(buf, window)
    if q < 0:
        return 0
    head = buf[:window]
    as_is = _residue_bytes(head)
    shifted = _residue_bytes(head[q + 1:])
    return q + 1 if shifted * 2 + 16 < as_is else 0


def _drop_terms(lengths: np.ndarray) -> np.ndarray:
    """Mask that removes the terminator _gather_spans put after each span."""
    keep = np.ones(int(lengths.sum()) + lengths.size, bool)
    keep[np.cumsum(lengths + 1) - 1] = False
    return keep


class NestingLevelTracker:
    """Per nesting level statistics of a tokenized block (for the profiler).

    ``tokens[d]``, ``bytes[d]``, ``containers[d]``, ``values[d]`` count what sits
    at depth ``d`` (containers: openers at that depth; values: strings, numbers,
    literals)."""

    def __init__(self, tok: jt.Tokens):
        d = tok.depths
        size = int(d.max()) + 1 if d.size else 1
        lengths = np.diff(tok.starts).astype(np.int64)
        k = tok.kinds
        self.tokens = np.bincount(d, minlength=size)
        self.bytes = np.bincount(d, weights=lengths, minlength=size).astype(np.int64)
        self.containers = np.bincount(d[(k == jt.OBJ_OPEN) | (k == jt.ARR_OPEN)], minlength=size)
        vals = (k == jt.STRING) | (k == jt.NUMBER) | (k == jt.TRUE) | (k == jt.FALSE) | (k == jt.NULL)
        self.values = np.bincount(d[vals], minlength=size)

    @property
    def max_depth(self) -> int:
        return len(self.tokens) - 1

    def as_dict(self) -> dict:
        """In the profiler's ``nesting`` vocabulary (lists add per depth, max_* keep the max)."""
        return {"max_depth": self.max_depth, "depth_histogram": self.tokens.tolist(),
                "bytes_per_depth": self.bytes.tolist(), "containers_per_depth": self.containers.tolist(),
                "values_per_depth": self.values.tolist()}


def _choose_mode(vh: np.ndarray):
    """Most specific path mode whose big columns cover COVERAGE of the values."""
    best = None
    for mode in range(N_MODES):
        ids, counts = _first_appearance(vh[:, mode].astype(np.int64))
        big = counts >= MIN_COLUMN_VALUES
        covered = counts[big].sum() / max(1, ids.size)
        if best is None or covered > best[0] + 1e-9:
            best = (covered, mode, ids, counts)
        if covered >= COVERAGE:
            return mode, ids, counts
    return best[1], best[2], best[3]


def _column_names(buf, starts, ktok, vtok, col, ncols) -> list:
    """A readable name per column: the key before its first value (stream names)."""
    names = ["shared"] + [""] * (ncols - 1)
    if vtok.size == 0:
        return names
    first = np.full(ncols, -1, np.int64)
    idx = np.arange(col.size)[::-1]
    first[col[::-1]] = idx
    for c in range(1, ncols):
        if first[c] < 0:
            continue
        k = np.searchsorted(ktok, vtok[first[c]]) - 1
        if k >= 0:
            t = ktok[k]
            names[c] = buf[starts[t] + 1:starts[t + 1] - 1][:24].tobytes().decode("utf-8", "replace")
    return names


class Layer2Encoder:
    """JSON / JSON lines block -> (params, streams). See the module docstring.

    ``group_text``: look for text columns that compress better together (row
    order kept) than apart, by trial compression of a sample (slower; the
    transform enables it from level GROUP_MIN_LEVEL)."""

    def __init__(self, profiler=None, group_text: bool = True):
        self.profiler = profiler
        self.group_text = group_text
        self.last_tracker: NestingLevelTracker | None = None
        #: after encode: key dictionary size, keys coded by id, keys stored verbatim
        self.last_keys: tuple[int, int, int] = (0, 0, 0)

    def _dictionary_columns(self, buf, starts, vtok, is_num, col, ncols):
        """Low-cardinality string columns (a rating, a team, a category) cost
        less as ids into a dictionary of their distinct values than as text.

        Returns (set of dictionary columns, {column: (dictionary bytes, ids
        bytes)}, mask over values of the strings they take). A column
        qualifies with at least 32 strings and at most 65,536 distinct ones,
        each seen 4+ times on average; with ``group_text`` a trial
        compression must confirm it (values whose neighbours repeat them can
        do better as text), otherwise 8+ times on average is required."""
        in_dict_col = np.zeros(vtok.size, bool)
        sel = np.flatnonzero(~is_num)
        if sel.size < DICT_MIN_VALUES:
            return set(), {}, in_dict_col
        stok = vtok[sel]
        a = starts[stok].astype(np.int64) + 1
        b = starts[stok + 1].astype(np.int64) - 1
        scol = col[sel]
        sid, count, first, _, sgrp = _intern_spans(buf, a, b, scol)
        nstr = np.bincount(scol, minlength=ncols)
        ndist = np.bincount(sgrp, minlength=ncols)
        need = DICT_MIN_REPEAT if self.group_text else 2 * DICT_MIN_REPEAT
        cands = np.flatnonzero((nstr >= DICT_MIN_VALUES) & (ndist <= MAX_ENTRIES) & (nstr >= need * ndist))
        cctx = zstandard.ZstdCompressor(level=GROUP_TRIAL_LEVEL) if self.group_text else None
        dcols, parts = set(), {}
        for c in cands.tolist():
            mine = scol == c
            ids_c = sid[mine]
            uniq = np.flatnonzero(sgrp == c)  # this column's ids, first-appearance order
            order = uniq[np.argsort(-count[uniq], kind="stable")]  # most frequent first
            remap = np.empty(count.size, np.int64)
            remap[order] = np.arange(order.size)
            new_ids = remap[ids_c]
            ent_a, ent_b = a[first[order]], b[first[order]]
            ddict = StructuralDictionary.from_arrays(_gather_spans(buf, ent_a, ent_b, 0)[_drop_terms(ent_b - ent_a)],
                                                     ent_b - ent_a)
            ids = new_ids.astype(np.uint8 if order.size <= 256 else "<u2").tobytes()
            dbytes = ddict.to_bytes()
            if cctx is not None:
                text = _gather_spans(buf, a[mine], b[mine], TEXT_TERM).tobytes()
                if len(cctx.compress(ids)) + len(cctx.compress(dbytes)) >= DICT_TRIAL_GAIN * len(cctx.compress(text)):
                    continue
            dcols.add(c)
            parts[c] = (dbytes, ids)
            in_dict_col[sel[mine]] = True
        return dcols, parts, in_dict_col

    def _text_groups(self, buf, a, b, tcol, ntext) -> np.ndarray:
        """Text stream (group) of each text column.

        Columns whose values repeat each other within a record (an id inside a
        url and a title, a key that is also in a path) lose those matches when
        split apart; merging such columns into one stream (values interleaved
        in document order) gives them back. Greedy agglomeration: merge the
        pair of groups whose merged sample compresses best below the two
        apart, while that saves at least 2%."""
        sizes = np.bincount(tcol, weights=b - a + 1, minlength=ntext)
        present = np.flatnonzero(sizes > 0)
        group = np.zeros(ntext, np.int64)
        group[present] = np.arange(present.size)
        if not self.group_text or present.size < 2:
            return group
        cand = present[sizes[present] >= GROUP_MIN_BYTES]
        cand = cand[np.argsort(-sizes[cand], kind="stable")][:GROUP_MAX_CANDIDATES]
        if cand.size < 2:
            return group
        is_cand = np.zeros(ntext, bool)
        is_cand[cand] = True
        cum = np.cumsum(np.where(is_cand[tcol], b - a + 1, 0))
        end = int(np.searchsorted(cum, GROUP_SAMPLE_BYTES)) + 1
        sa, sb, sc = a[:end], b[:end], tcol[:end]
        cctx = zstandard.ZstdCompressor(level=GROUP_TRIAL_LEVEL)

        def cost(members):
            member = np.zeros(ntext, bool)
            member[members] = True
            m = member[sc]
            return len(cctx.compress(_gather_spans(buf, sa[m], sb[m], TEXT_TERM).tobytes()))

        groups = [[int(c)] for c in cand]
        costs = [cost(g) for g in groups]
        merged = {}
        for i in range(len(groups)):
            for j in range(i + 1, len(groups)):
                merged[i, j] = cost(groups[i] + groups[j])
        alive = set(range(len(groups)))
        while True:
            best = None
            for (i, j), mc in merged.items():
                gain = costs[i] + costs[j] - mc
                if gain >= max(64, GROUP_MIN_GAIN * (costs[i] + costs[j])) and (best is None or gain > best[0]):
                    best = (gain, i, j)
            if best is None:
                break
            _, i, j = best
            groups[i] += groups[j]
            costs[i] = merged[i, j]
            alive.discard(j)
            merged = {k: v for k, v in merged.items() if j not in k and i not in k}
            for k in alive:
                if k != i:
                    lo, hi = min(i, k), max(i, k)
                    merged[lo, hi] = cost(groups[lo] + groups[hi])
        gid = 0
        group[:] = 0
        done = set()
        for c in present:
            if c in done:
                continue
            members = next((groups[i] for i in alive if c in groups[i]), [c])
            for m in members:
                group[m] = gid
                done.add(m)
            gid += 1
        return group

    def encode(self, data) -> Encoded:
        whole = jt.as_u8(data)
        prefix_len = string_tail_length(whole)
        buf = whole[prefix_len:]
        tok = jt.tokenize(buf)
        if self.profiler is not None:
            self.last_tracker = NestingLevelTracker(tok)
        kinds, starts = tok.kinds, tok.starts
        style = detect_style(tok)

        # keys: seen twice or more -> dictionary (most frequent first), else literal
        ktok, kid, kcount, kfirst, khash = _intern_keys(buf, kinds, starts)
        in_dict = kcount >= MIN_DICT_COUNT
        dict_ids = np.flatnonzero(in_dict)
        if dict_ids.size > MAX_ENTRIES:
            dict_ids = dict_ids[np.argsort(-kcount[dict_ids], kind="stable")[:MAX_ENTRIES]]
            in_dict[:] = False
            in_dict[dict_ids] = True
        order = dict_ids[np.argsort(-kcount[dict_ids], kind="stable")]
        new_id = np.full(kcount.size, -1, np.int64)
        new_id[order] = np.arange(order.size)
        key_code = new_id[kid]
        key_comp = khash[kid]
        first_tok = ktok[kfirst[order]]
        kd_a = starts[first_tok].astype(np.int64) + 1
        kd_b = starts[first_tok + 1].astype(np.int64) - 1
        kd_lengths = kd_b - kd_a
        kdata = _gather_spans(buf, kd_a, kd_b, 0)
        keep = np.ones(kdata.size, bool)
        keep[np.cumsum(kd_lengths + 1) - 1] = False
        keydict = StructuralDictionary.from_arrays(kdata[keep], kd_lengths, kcount[order])
        lit = ktok[key_code < 0]
        self.last_keys = (len(keydict), int(ktok.size - lit.size), int(lit.size))

        vtok = np.flatnonzero((kinds == jt.STRING) | (kinds == jt.NUMBER))
        max_depth = int(tok.depths.max()) + 1 if tok.count else 1
        skel, dev_a, dev_b, vh = _walk_encode(buf, kinds, starts, key_code, key_comp, style, gap_table(style),
                                              vtok.size,
                                              max_depth)
        ws = _gather_spans(buf, dev_a, dev_b, WS_TERM)
        rtok = np.flatnonzero(kinds == jt.RESIDUE)
        residue = _gather_spans(buf, starts[rtok].astype(np.int64), starts[rtok + 1].astype(np.int64),
                                RESIDUE_TERM)

        # columns
        mode, ids, counts = _choose_mode(vh)
        big = np.flatnonzero(counts >= MIN_COLUMN_VALUES)
        if big.size > MAX_COLUMNS:
            big = big[np.argsort(-counts[big], kind="stable")[:MAX_COLUMNS]]
            big.sort()
        colmap = np.zeros(counts.size, np.int64)
        colmap[big] = np.arange(1, big.size + 1)
        ncols = big.size + 1
        col = colmap[ids]

        is_num = kinds[vtok] == jt.NUMBER
        ntok_idx = vtok[is_num]
        ncol = col[is_num]
        mant, scale, ndig = _parse_numbers(buf, starts, ntok_idx)
        smax, anyraw, fits = _number_columns(ncol, scale, ndig, ncols)
        cmode = np.where(fits, np.where((smax == 0) & ~anyraw, NUM_INT, NUM_SCALED), NUM_PLAIN)
        has_num = np.bincount(ncol, minlength=ncols) > 0
        keepv, nvals, nflags = _number_values(ncol, mant, scale, cmode, smax)

        # text items in token order: strings (content), raw numbers (whole
        # spelling) and literal keys (content; text column ``ncols``)
        raw_num = np.zeros(vtok.size, bool)
        raw_num[np.flatnonzero(is_num)[~keepv]] = True
        # low-cardinality string columns: ids into a per-column dictionary
        dcols, dict_parts, in_dict_col = self._dictionary_columns(buf, starts, vtok, is_num, col, ncols)
        text_sel = (~is_num & ~in_dict_col) | raw_num
        s_is = ~is_num[text_sel]
        item_tok = np.concatenate((vtok[text_sel], lit))
        item_a = starts[item_tok].astype(np.int64)
        item_b = starts[item_tok + 1].astype(np.int64)
        quoted = np.concatenate((s_is, np.ones(lit.size, bool)))
        item_a += quoted
        item_b -= quoted
        item_col = np.concatenate((col[text_sel], np.full(lit.size, ncols, np.int64)))
        order = np.argsort(item_tok, kind="stable")  # two sorted runs: a linear merge
        item_a, item_b, item_col = item_a[order], item_b[order], item_col[order]
        tgroup = self._text_groups(buf, item_a, item_b, item_col, ncols + 1)
        ngroups = int(tgroup.max()) + 1 if tgroup.size else 0
        texts, toff = _scatter_text(buf, item_a, item_b, tgroup[item_col], max(ngroups, 1))
        has_text = np.bincount(item_col, minlength=ncols + 1) > 0

        iorder, icounts = _group_order(ncol[keepv], ncols)
        ints_sorted = nvals[keepv][iorder]
        forder, fcounts = _group_order(ncol, ncols)
        flags_sorted = nflags[forder]
        flag_cols = has_num & (cmode != NUM_INT)
        fsel = flag_cols[ncol[forder]]
        numflags = flags_sorted[fsel]

        params = bytearray([PARAMS_VERSION])
        for v in (style[ST_PRETTY], style[ST_CRLF], style[ST_INDENT_CHAR], style[ST_COLON_WS],
                  style[ST_PRE_COLON_WS], style[ST_COMMA_WS], mode):
            params.append(int(v))
        put_varint(params, int(style[ST_INDENT_WIDTH]))
        put_varint(params, int(style[ST_BASE_DEPTH]))
        put_varint(params, prefix_len)
        params += whole[:prefix_len].tobytes()
        put_varint(params, int(counts.size))
        put_varint(params, ncols)
        put_varint(params, ngroups)
        colnames = _column_names(buf, starts, ktok, vtok, col, ncols)
        streams = [skel, ws, residue, keydict.to_bytes(), numflags]
        names = ["skeleton", "ws", "residue", "keys", "numflags"]
        for g in range(ngroups):
            members = [colnames[c] if c < ncols else "keylit" for c in np.flatnonzero(tgroup == g) if has_text[c]]
            streams.append(texts[toff[g]:toff[g + 1]])
            names.append("text:" + "+".join(members)[:60])
        for c in range(ncols + 1):
            if c == ncols:
                put_varint(params, int(tgroup[c]) if has_text[c] else ngroups)
                break
            has_ints = icounts[c + 1] > icounts[c]
            cm = int(cmode[c]) if has_num[c] else 3
            is_dict = c in dcols
            params.append(int(has_text[c]) | int(has_ints) << 1 | cm << 2 | int(is_dict) << 4)
            if has_num[c] and cm != NUM_INT:
                params.append(int(smax[c]))
                put_varint(params, int(fcounts[c + 1] - fcounts[c]))
            if has_text[c]:
                put_varint(params, int(tgroup[c]))
            if has_ints:
                streams.append(encode_ints(ints_sorted[icounts[c]:icounts[c + 1]]))
                names.append(f"col{c}:{colnames[c]}.ints")
            if is_dict:
                entries, ids = dict_parts[c]
                streams += [entries, ids]
                names += [f"col{c}:{colnames[c]}.dict", f"col{c}:{colnames[c]}.ids"]
        cm_bytes = bytearray()
        for v in colmap.tolist():
            put_varint(cm_bytes, v)
        streams.append(bytes(cm_bytes))
        names.append("colmap")
        return Encoded(params=bytes(params), streams=streams, stream_names=names)


class Layer2Decoder:
    """(streams, params) -> the block. Hostile input raises a CobolError."""

    def decode(self, streams, params, raw_len: int, dictionary=None) -> bytes:
        r = Reader(params, what="json params")
        version = r.u8("version")
        if version != PARAMS_VERSION:
            raise FormatError(f"json params: unknown version {version}")
        style = np.zeros(ST_SIZE, np.int64)
        style[ST_PRETTY] = r.u8("pretty")
        style[ST_CRLF] = r.u8("crlf")
        style[ST_INDENT_CHAR] = r.u8("indent char")
        style[ST_COLON_WS] = r.u8("colon ws")
        style[ST_PRE_COLON_WS] = r.u8("pre colon ws")
        style[ST_COMMA_WS] = r.u8("comma ws")
        mode = r.u8("path mode")
        if style[ST_PRETTY] > 1 or style[ST_CRLF] > 1 or style[ST_COLON_WS] > 1 or \
                style[ST_PRE_COLON_WS] > 1 or style[ST_COMMA_WS] > 1 or mode >= N_MODES:
            raise FormatError("json params: bad style or path mode")
        style[ST_INDENT_WIDTH] = r.varint("indent width", limit=max(raw_len, 1))
        style[ST_BASE_DEPTH] = r.varint("base depth", limit=max(raw_len, 1))
        prefix = r.take(r.varint("string tail length", limit=raw_len), "string tail")
        ndistinct = r.varint("distinct paths", limit=raw_len)
        ncols = r.varint("columns", limit=MAX_COLUMNS + 1)
        ngroups = r.varint("text groups", limit=MAX_COLUMNS + 2)
        if ncols < 1:
            raise FormatError("json params: no columns")
        nfixed = 5
        if len(streams) < nfixed + ngroups + 1:
            raise FormatError(f"json: {len(streams)} streams, need at least {nfixed + ngroups + 1}")
        sv = [np.frombuffer(s, np.uint8) if not isinstance(s, np.ndarray) else s.view(np.uint8)
              for s in streams]
        skel, ws, residue, kraw, flags = sv[:nfixed]
        text_parts = sv[nfixed:nfixed + ngroups]
        cmode = np.full(ncols, -1, np.int64)
        cscale = np.zeros(ncols, np.int64)
        nflags = np.zeros(ncols, np.int64)
        tgrp = np.full(ncols + 1, -1, np.int64)
        int_parts, dict_parts = [], []
        si = nfixed + ngroups
        int_budget = raw_len
        for c in range(ncols):
            b = r.u8("column flags")
            has_text, has_ints, cm, is_dict = b & 1, (b >> 1) & 1, (b >> 2) & 3, (b >> 4) & 1
            if b >> 5:
                raise FormatError(f"json params: column {c} has unknown flags {b:#x}")
            cmode[c] = -1 if cm == 3 else cm
            if cm in (NUM_SCALED, NUM_PLAIN):
                cscale[c] = r.u8("column scale")
                if cscale[c] > MAX_SCALE:
                    raise FormatError(f"json params: column {c} scale {cscale[c]} > {MAX_SCALE}")
                nflags[c] = r.varint("flag count", limit=raw_len)
            if has_text:
                tgrp[c] = r.varint("text group", limit=max(ngroups - 1, 0))
                if ngroups == 0:
                    raise FormatError(f"json params: column {c} has text but there are no text streams")
            if has_ints:
                if si >= len(sv) - 1:
                    raise FormatError("json: missing column int stream")
                # every number prints at least one byte: all columns together hold at most
                # raw_len values, so the budget shrinks as columns decode (bounds memory)
                vals = decode_ints(streams[si], int_budget)
                int_budget -= len(vals)
                int_parts.append((c, vals))
                si += 1
            if is_dict:
                if si + 2 > len(sv) - 1:
                    raise FormatError("json: missing column dictionary streams")
                d = StructuralDictionary.from_bytes(sv[si])
                if len(d) == 0:
                    raise FormatError(f"json: column {c} has an empty dictionary")
                raw_ids = sv[si + 1]
                if len(d) <= 256:
                    ids = raw_ids.astype(np.int64)
                else:
                    if raw_ids.size % 2:
                        raise FormatError(f"json: column {c} ids stream has an odd length")
                    ids = raw_ids.view("<u2").astype(np.int64)
                dict_parts.append((c, d, ids))
                si += 2
        lit_group = r.varint("literal key group", limit=ngroups)
        tgrp[ncols] = lit_group if lit_group < ngroups else -1
        r.expect_end("json params")
        if si != len(sv) - 1:
            raise FormatError(f"json: {len(sv)} streams, expected {si + 1}")
        cm_raw = sv[si]
        colmap, end = decode_varints(cm_raw, 0, ndistinct, "json colmap")
        if end != cm_raw.size:
            raise FormatError("json colmap: trailing bytes")
        keydict = StructuralDictionary.from_bytes(kraw)
        kdata, koff = keydict.data, keydict.offsets
        kcomp = _key_hashes(kdata, koff)
        toff = np.zeros(max(ngroups, 1) + 1, np.int64)
        for g, part in enumerate(text_parts):
            toff[g + 1] = part.size
        np.cumsum(toff, out=toff)
        texts = np.concatenate(text_parts) if text_parts else np.zeros(0, np.uint8)
        ioff = np.zeros(ncols + 1, np.int64)
        for c, part in int_parts:
            ioff[c + 1] = part.size
        np.cumsum(ioff, out=ioff)
        ints = np.concatenate([p for _, p in int_parts]) if int_parts else np.zeros(0, np.int64)
        # dictionary columns: all entries in one array; per column its first
        # entry (dbase), entry count (dcount) and ids (doff into dids)
        dbase = np.zeros(ncols, np.int64)
        dcount = np.zeros(ncols, np.int64)
        doff = np.zeros(ncols + 1, np.int64)
        for c, d, ids in dict_parts:
            dcount[c] = len(d)
            doff[c + 1] = ids.size
        np.cumsum(doff, out=doff)
        dbase[1:] = np.cumsum(dcount)[:-1]
        if dict_parts:
            ddata = np.concatenate([d.data for _, d, _ in dict_parts])
            lens = np.concatenate([np.diff(d.offsets) for _, d, _ in dict_parts])
            dids = np.concatenate([ids for _, _, ids in dict_parts])
        else:
            ddata, lens, dids = np.zeros(0, np.uint8), np.zeros(0, np.int64), np.zeros(0, np.int64)
        dents = np.zeros(lens.size + 1, np.int64)
        np.cumsum(lens, out=dents[1:])
        foff = np.zeros(ncols + 1, np.int64)
        foff[1:] = np.cumsum(nflags)
        if foff[-1] != flags.size:
            raise FormatError(f"json: number flags stream has {flags.size} bytes, params say {foff[-1]}")
        # the stack never grows inside the kernel: size it for the deepest nesting
        # the skeleton could express (each opener writes an output byte)
        max_depth = min(int(np.count_nonzero((skel == S_OBJ_OPEN) | (skel == S_ARR_OPEN))), raw_len) + 1
        out = np.empty(raw_len, np.uint8)
        out[:len(prefix)] = np.frombuffer(prefix, np.uint8)
        n = _walk_decode(skel, ws, residue, kdata, koff, kcomp, texts, toff, tgrp,
                         ints.astype(np.int64), ioff, flags, foff, cmode, cscale,
                         ddata, dents, dbase, dcount, dids, doff,
                         colmap, style, gap_table(style), mode, max_depth, out[len(prefix):])
        if n < 0:
            raise FormatError(f"json: {_ERRORS.get(n, 'corrupt streams')}")
        n += len(prefix)
        if n != raw_len:
            raise FormatError(f"json: decoded {n} bytes, block says {raw_len}")
        return out.tobytes()


@register_transform
class JsonTransform(Transform):
    """L2 structural mapping of JSON documents and JSON lines."""

    id = 30
    name = "json"
    #: skeleton, whitespace, residue, keys, flags; text groups; per column an int
    #: stream and a dictionary (2 streams); the column map
    max_streams = 5 + (MAX_COLUMNS + 2) + 3 * (MAX_COLUMNS + 1) + 1
    expansion = 4
    formats = ("json", "jsonl")
    min_level = 1
    needs_layers = frozenset({"l2"})
    priority = 10

    def encode(self, data, ctx: EncodeContext) -> Encoded | None:
        if len(data) == 0:
            return None
        prof = ctx.profiler
        started = prof.start() if prof is not None else None
        enc = Layer2Encoder(profiler=prof, group_text=ctx.level >= GROUP_MIN_LEVEL)
        out = enc.encode(data)
        if prof is not None:
            size, hits, misses = enc.last_keys
            prof.record("l2", transform=self.name, started=started, bytes_in=len(data),
                        bytes_out=sum(len(s) for s in out.streams), dict_size=size, dict_hits=hits,
                        dict_misses=misses, nesting=enc.last_tracker.as_dict())
        return out

    def decode(self, streams, params, raw_len, ctx: DecodeContext) -> bytes:
        try:
            return Layer2Decoder().decode(streams, params, raw_len)
        except CobolError:
            raise
        except (ValueError, IndexError, OverflowError, MemoryError) as e:  # defensive: never a crash
            raise FormatError(f"json: corrupt block ({type(e).__name__}: {e})") from None

    def describe(self, params: bytes) -> str:
        return "json"


from . import json_dict  # noqa: E402,F401  (registers transform 31, json-dict)
