"""L2 structural mapping for XML and HTML (transforms ``xml`` id 40, ``html`` id 41).

A block (a document, a fragment, tag soup, anything) is tokenized by
:mod:`cobol.layers.markup_tokenizer` and split into homogeneous streams:

``sym``
    one varint symbol per token: ``END`` (an end tag the nesting stack
    predicted: ``</`` + the open element's name + ``>``, one byte, which zstd
    turns into about a bit in regular documents), ``TEXT``, ``INDENT`` /
    ``INDENT-1`` (a whitespace-only text node equal to newline + the block's
    indent unit repeated depth or depth - 1 times), ``WS`` (other whitespace),
    ``COMMENT``, ``CDATA``, ``PI``, ``DECL``, ``NUL`` (+ run length), or
    ``16 + skeleton id``.
``skeletons``
    the tag *skeletons*: a start tag with its attribute values cut out (each
    value replaced by a NUL byte), or an end tag the stack did not predict,
    verbatim, as a :class:`StructuralDictionary` ordered by use (the 112 most
    used skeletons cost one symbol byte; end tags that were always predicted
    are left out). So the names, the spacing and the quoting of a tag cost
    nothing after its first use. A ``name="value"`` pair seen at least
    ``fold_min`` times in the block (32 for HTML, 128 for XML) stays *in* the
    skeleton instead of becoming a hole: ``<span class="p">`` of highlighted
    code is then one symbol (measured: +7% on the Sphinx HTML, neutral on
    XML at 128). Tag and attribute names are a second StructuralDictionary
    that both sides *derive* from the skeletons (it is not stored);
    parameters refer to names by id.
``misc``
    whitespace that was not predicted, comment, CDATA and PI contents and
    declarations verbatim (NUL-terminated, five groups).
``text`` streams
    character data, NUL-terminated, in document order or grouped by the parent
    element (chosen by trial); coded by the L1 word layer
    (:mod:`cobol.layers.l1_semantic`) when a trial on a sample says it pays.
``v:<name>`` streams
    attribute values, NUL-terminated, one stream per frequent attribute name
    (the rest share one), so all ``href`` values sit together -- or all
    values in one stream when a trial says the split does not pay (small
    blocks, HTML whose hrefs and ids repeat each other).

Trials run zstd at level min(level, 9) on a sample of the block (the text of
the first 128 KiB of text segments; up to 1 MiB of values): text by parent or
in document order, L1 or not, values split or not. Level 9 and 19 made the
same choices on every dev-corpus file.

Nesting: start tags push (not self-closing ones, and not HTML void elements);
an end tag pops when it matches the top; an end tag that does not (HTML's
optional end tags, broken markup) is a skeleton and pops down to the nearest
open element of its name (ASCII case-insensitive in HTML) within 256 levels,
or nothing. Encoder and decoder run the same rule, so anything round-trips.

>>> doc = b'<a x="1"><b>t</b><b>u</b></a>'
>>> enc = MarkupEncoder(html=False).encode(doc)
>>> MarkupDecoder().decode(enc.streams, enc.params, len(doc)) == doc
True
>>> enc.streams[0]  # <a x=..> (id 1), <b> (id 0, used twice), text, END, <b>, text, END, END
b'\\x11\\x10\\x01\\x00\\x10\\x01\\x00\\x00'
"""

from __future__ import annotations

import numpy as np
import zstandard
from numba import njit

from ..errors import CobolError, FormatError, LimitError
from ..format.wire import Reader, put_bytes, put_varint
from ..registry import DecodeContext, Encoded, EncodeContext, Transform, register_transform
from . import markup_tokenizer as mt
from .l1_semantic import unique_hashes
from .structural_dictionary import MAX_ENTRIES, StructuralDictionary

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

MAX_POP_SEARCH = 256
MAX_VALUE_STREAMS = 48
MIN_VALUE_STREAM_BYTES = 512
MAX_TEXT_STREAMS = 32
MIN_TEXT_STREAM_BYTES = 4096
INDENT_UNITS = (b"  ", b"    ", b"\t", b" ", b"   ", b"        ")
TRIAL_SAMPLE = 1 << 17
TRIAL_LEVEL = 9

F_HTML = 1
F_L1 = 2
F_TEXT_BY_PARENT = 4

_VOID = frozenset(mt.VOID_ELEMENTS)
_WS_BYTES = b" \t\n\r\f"


# ---------------------------------------------------------------- kernels

@njit(cache=True, nogil=True)
def _skeleton_hashes(buf, kinds, starts, attr_lo, a_val_s, a_val_e, out):
    """64-bit FNV-1a hash of each tag token's skeleton (0 for other tokens)."""
    for t in range(kinds.size):
        k = kinds[t]
        if k != mt.START and k != mt.END:
            out[t] = 0
            continue
        h = np.uint64(0xCBF29CE484222325) ^ np.uint64(k)
        p = starts[t]
        e = starts[t + 1]
        for a in range(attr_lo[t], attr_lo[t + 1]):
            vs = a_val_s[a]
            if vs < 0:
                continue
            for j in range(p, vs):
                h = (h ^ np.uint64(buf[j])) * np.uint64(0x100000001B3)
            h = (h ^ np.uint64(0)) * np.uint64(0x100000001B3)
            p = a_val_e[a]
        for j in range(p, e):
            h = (h ^ np.uint64(buf[j])) * np.uint64(0x100000001B3)
        out[t] = h | np.uint64(1)


@njit(cache=True, nogil=True)
def _attribute_hashes(buf, a_name_s, a_name_e, a_val_s, a_val_e, out):
    """64-bit hash of each valued attribute's name=value pair (0 when valueless)."""
    for a in range(a_name_s.size):
        if a_val_s[a] < 0:
            out[a] = 0
            continue
        h = np.uint64(0xCBF29CE484222325)
        for j in range(a_name_s[a], a_name_e[a]):
            h = (h ^ np.uint64(buf[j])) * np.uint64(0x100000001B3)
        h = (h ^ np.uint64(0x100)) * np.uint64(0x100000001B3)
        for j in range(a_val_s[a], a_val_e[a]):
            h = (h ^ np.uint64(buf[j])) * np.uint64(0x100000001B3)
        out[a] = h | np.uint64(1)


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
def _collect_skeletons(buf, starts, attr_lo, a_val_s, a_val_e, reps, offsets, out):
    o = 0
    offsets[0] = 0
    for i in range(reps.size):
        o = _write_skeleton(buf, starts, attr_lo, a_val_s, a_val_e, reps[i], out, o)
        offsets[i + 1] = o


@njit(cache=True, nogil=True)
def _verify_skeletons(buf, starts, attr_lo, a_val_s, a_val_e, tags, tag_sk, sk_data, sk_off, scratch):
    """True when every tag token's skeleton equals the one its hash mapped to."""
    for i in range(tags.size):
        t = tags[i]
        s = tag_sk[i]
        ln = _write_skeleton(buf, starts, attr_lo, a_val_s, a_val_e, t, scratch, 0)
        a = sk_off[s]
        if ln != sk_off[s + 1] - a:
            return False
        for j in range(ln):
            if scratch[j] != sk_data[a + j]:
                return False
    return True


@njit(cache=True, nogil=True)
def _walk(kinds, tok_sk, sk_is_end, sk_push, sk_canon, sk_name, name_fold, tok_code, tok_depth, tok_parent):
    """Run the nesting stack over the tokens.

    tok_code: S_END for predicted end tags, S_SKEL + id for other tags.
    tok_depth / tok_parent: stack depth and top name id (-1 at the root) at
    each token.
    """
    stack = np.empty(kinds.size + 1, np.int32)
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
                f = name_fold[nm]
                lo = max(0, d - MAX_POP_SEARCH)
                j = d - 1
                while j >= lo:
                    if name_fold[stack[j]] == f:
                        d = j
                        break
                    j -= 1


@njit(cache=True, nogil=True)
def _is_ws(buf, a, b):
    for j in range(a, b):
        c = buf[j]
        if c != 32 and c != 9 and c != 10 and c != 13 and c != 12:
            return False
    return True


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
def _indent_stats(buf, kinds, starts, tok_depth, nl_kind, ind_char, ind_len, depth):
    """For whitespace-only text tokens that start with a newline: newline kind
    (1 LF, 2 CRLF), indent byte (-1 if mixed or none), indent length, depth.
    Returns the count."""
    m = 0
    for t in range(kinds.size):
        if kinds[t] != mt.TEXT:
            continue
        a = starts[t]
        b = starts[t + 1]
        if buf[a] == 10:
            nk = 1
            p = a + 1
        elif buf[a] == 13 and a + 1 < b and buf[a + 1] == 10:
            nk = 2
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
        nl_kind[m] = nk
        ind_char[m] = c
        ind_len[m] = b - p
        depth[m] = tok_depth[t]
        m += 1
    return m


@njit(cache=True, nogil=True)
def _put_varint(out, o, v):
    while v >= 0x80:
        out[o] = (v & 0x7F) | 0x80
        v >>= 7
        o += 1
    out[o] = v
    return o + 1


@njit(cache=True, nogil=True)
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
            o = _put_varint(sym, o, c)
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
            o = _put_varint(sym, o, tok_code[t])
        elif k == mt.TEXT:
            d = tok_depth[t]
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
        elif k == mt.COMMENT:
            sym[o] = S_COMMENT
            o += 1
            seg_s[ns] = a + 4
            seg_e[ns] = b - 3
            seg_g[ns] = G_COMMENT
            ns += 1
        elif k == mt.CDATA:
            sym[o] = S_CDATA
            o += 1
            seg_s[ns] = a + 9
            seg_e[ns] = b - 3
            seg_g[ns] = G_CDATA
            ns += 1
        elif k == mt.PI:
            sym[o] = S_PI
            o += 1
            seg_s[ns] = a + 2
            seg_e[ns] = b - 2
            seg_g[ns] = G_PI
            ns += 1
        elif k == mt.DECL:
            sym[o] = S_DECL
            o += 1
            seg_s[ns] = a
            seg_e[ns] = b
            seg_g[ns] = G_DECL
            ns += 1
        else:  # NUL run
            sym[o] = S_NUL
            o += 1
            o = _put_varint(sym, o, b - a)
    return o, ns


@njit(cache=True, nogil=True)
def _group_sizes(seg_s, seg_e, seg_g, ngroups):
    sizes = np.zeros(ngroups, np.int64)
    for i in range(seg_s.size):
        sizes[seg_g[i]] += seg_e[i] - seg_s[i] + 1
    return sizes


@njit(cache=True, nogil=True)
def _gather(buf, seg_s, seg_e, seg_g, offsets, out):
    """Copy each segment + a NUL terminator into its group's region (stable)."""
    pos = offsets[:-1].copy()
    for i in range(seg_s.size):
        g = seg_g[i]
        o = pos[g]
        for j in range(seg_s[i], seg_e[i]):
            out[o] = buf[j]
            o += 1
        out[o] = 0
        pos[g] = o + 1


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

_ERRORS = {
    E_SYMBOL: "unknown symbol",
    E_OVERFLOW: "output exceeds the block length",
    E_STREAM: "a text, value or misc stream ends early (missing terminator)",
    E_STACK: "predicted end tag with no open element",
    E_LEFTOVER: "streams hold bytes the symbols never used",
    E_SHORT: "output is shorter than the block length",
}


@njit(cache=True, nogil=True)
def _copy_until_nul(src, p, end, out, o, cap):
    """Copy src[p:] up to its NUL into out[o:]; returns (new p after the NUL, new o),
    p = -1 when no NUL before end, o = -1 on overflow."""
    while p < end:
        b = src[p]
        if b == 0:
            return p + 1, o
        if o >= cap:
            return p, -1
        out[o] = b
        o += 1
        p += 1
    return -1, o


@njit(cache=True, nogil=True)
def _put_bytes(out, o, cap, src, a, b):
    if o + (b - a) > cap:
        return -1
    for j in range(a, b):
        out[o] = src[j]
        o += 1
    return o


@njit(cache=True, nogil=True)
def _decode_kernel(sym, sk_data, sk_off, sk_is_end, sk_push, sk_name, hole_lo, hole_group,
                   name_data, name_off, name_fold, groups, g_pos, g_end,
                   nl, unit, text_group_of, text_base, out):
    """Rebuild the block into out (its exact length); returns (error code, position)."""
    cap = out.size
    nsk = sk_off.size - 1
    stack = np.empty(sym.size + 1, np.int32)
    d = 0
    o = 0
    i = 0
    n = sym.size
    lt = np.array([60, 47], np.uint8)  # "</"
    gt = np.array([62], np.uint8)
    while i < n:
        # varint symbol
        v = np.int64(0)
        shift = 0
        while True:
            if i >= n or shift > 28:
                return E_SYMBOL, i
            b = sym[i]
            i += 1
            v |= np.int64(b & 0x7F) << shift
            if b < 0x80:
                break
            shift += 7
        if v >= S_SKEL:
            s = v - S_SKEL
            if s >= nsk:
                return E_SYMBOL, i
            h = hole_lo[s]
            a = sk_off[s]
            e = sk_off[s + 1]
            p = a
            for j in range(a, e):
                if sk_data[j] == 0:
                    o = _put_bytes(out, o, cap, sk_data, p, j)
                    if o < 0:
                        return E_OVERFLOW, i
                    g = hole_group[h]
                    h += 1
                    q, o = _copy_until_nul(groups, g_pos[g], g_end[g], out, o, cap)
                    if q < 0:
                        return E_STREAM, i
                    if o < 0:
                        return E_OVERFLOW, i
                    g_pos[g] = q
                    p = j + 1
            o = _put_bytes(out, o, cap, sk_data, p, e)
            if o < 0:
                return E_OVERFLOW, i
            nm = sk_name[s]
            if sk_is_end[s]:
                f = name_fold[nm]
                lo = max(0, d - MAX_POP_SEARCH)
                j = d - 1
                while j >= lo:
                    if name_fold[stack[j]] == f:
                        d = j
                        break
                    j -= 1
            elif sk_push[s]:
                stack[d] = nm
                d += 1
        elif v == S_END:
            if d == 0:
                return E_STACK, i
            d -= 1
            nm = stack[d]
            o = _put_bytes(out, o, cap, lt, 0, 2)
            if o < 0:
                return E_OVERFLOW, i
            o = _put_bytes(out, o, cap, name_data, name_off[nm], name_off[nm + 1])
            if o < 0:
                return E_OVERFLOW, i
            o = _put_bytes(out, o, cap, gt, 0, 1)
            if o < 0:
                return E_OVERFLOW, i
        elif v == S_INDENT or v == S_INDENT_BACK:
            dd = d if v == S_INDENT else d - 1
            if dd < 0 or unit.size == 0:
                return E_SYMBOL, i
            o = _put_bytes(out, o, cap, nl, 0, nl.size)
            if o < 0:
                return E_OVERFLOW, i
            for r in range(dd):
                o = _put_bytes(out, o, cap, unit, 0, unit.size)
                if o < 0:
                    return E_OVERFLOW, i
        elif v == S_NUL:
            ln = np.int64(0)
            shift = 0
            while True:
                if i >= n or shift > 35:
                    return E_SYMBOL, i
                b = sym[i]
                i += 1
                ln |= np.int64(b & 0x7F) << shift
                if b < 0x80:
                    break
                shift += 7
            if ln == 0 or o + ln > cap:
                return E_OVERFLOW, i
            for j in range(ln):
                out[o + j] = 0
            o += ln
        elif v >= S_TEXT and v <= S_DECL:
            if v == S_TEXT:
                g = text_base + text_group_of[(stack[d - 1] if d > 0 else -1) + 1]
            elif v == S_WS:
                g = G_WS
            elif v == S_COMMENT:
                g = G_COMMENT
            elif v == S_CDATA:
                g = G_CDATA
            elif v == S_PI:
                g = G_PI
            else:
                g = G_DECL
            pre = 0
            if v == S_COMMENT:
                pre = 4
                if o + 4 > cap:
                    return E_OVERFLOW, i
                out[o] = 60
                out[o + 1] = 33
                out[o + 2] = 45
                out[o + 3] = 45
            elif v == S_CDATA:
                pre = 9
                if o + 9 > cap:
                    return E_OVERFLOW, i
                out[o] = 60
                out[o + 1] = 33
                out[o + 2] = 91
                out[o + 3] = 67
                out[o + 4] = 68
                out[o + 5] = 65
                out[o + 6] = 84
                out[o + 7] = 65
                out[o + 8] = 91
            elif v == S_PI:
                pre = 2
                if o + 2 > cap:
                    return E_OVERFLOW, i
                out[o] = 60
                out[o + 1] = 63
            o += pre
            q, o = _copy_until_nul(groups, g_pos[g], g_end[g], out, o, cap)
            if q < 0:
                return E_STREAM, i
            if o < 0:
                return E_OVERFLOW, i
            g_pos[g] = q
            if v == S_COMMENT or v == S_CDATA:
                if o + 3 > cap:
                    return E_OVERFLOW, i
                c = 45 if v == S_COMMENT else 93
                out[o] = c
                out[o + 1] = c
                out[o + 2] = 62
                o += 3
            elif v == S_PI:
                if o + 2 > cap:
                    return E_OVERFLOW, i
                out[o] = 63
                out[o + 1] = 62
                o += 2
        else:
            return E_SYMBOL, i
    for g in range(g_pos.size):
        if g_pos[g] != g_end[g]:
            return E_LEFTOVER, i
    if o != cap:
        return E_SHORT, i
    return E_OK, i


# ---------------------------------------------------------------- skeleton info

def _tag_name(sk: bytes, start: int) -> bytes:
    e = start
    n = len(sk)
    while e < n and sk[e] not in b" \t\n\r\f/>\x00":
        e += 1
    return sk[start:e]


def _hole_names(sk: bytes) -> list:
    """The attribute name of each value hole (NUL) in a start-tag skeleton,
    read backwards from the hole: optional quote, spaces, '=', spaces, name."""
    out = []
    pos = sk.find(b"\x00")
    while pos >= 0:
        p = pos - 1
        if p >= 0 and sk[p] in b"\"'":
            p -= 1
        while p >= 0 and sk[p] in _WS_BYTES:
            p -= 1
        if p >= 0 and sk[p] == 61:  # '='
            p -= 1
        while p >= 0 and sk[p] in _WS_BYTES:
            p -= 1
        e = p + 1
        while p >= 0 and sk[p] not in b" \t\n\r\f/<>\"'=\x00":
            p -= 1
        out.append(sk[p + 1:e])
        pos = sk.find(b"\x00", pos + 1)
    return out


class SkeletonTable:
    """What both sides derive from the skeleton dictionary: per skeleton its
    kind, name id, nesting effect and holes, plus the name dictionary."""

    def __init__(self, skeletons: StructuralDictionary, html: bool):
        n = len(skeletons)
        names = StructuralDictionary()
        self.is_end = np.zeros(n, np.bool_)
        self.push = np.zeros(n, np.bool_)
        self.canon = np.zeros(n, np.bool_)
        self.name = np.zeros(n, np.int32)
        hole_lo = np.zeros(n + 1, np.int64)
        hole_names = []
        for s, sk in enumerate(skeletons):
            if sk.startswith(b"</"):
                if b"\x00" in sk:
                    # the decode kernel fills every NUL of a skeleton from a value
                    # group, and end tags have none: a NUL here is hostile input
                    raise FormatError(f"end-tag skeleton {s} holds a value slot")
                nm = _tag_name(sk, 2)
                self.is_end[s] = True
                self.canon[s] = sk == b"</" + nm + b">"
                holes = []
            else:
                nm = _tag_name(sk, 1)
                self_closing = sk.endswith(b"/>")
                void = html and nm.lower() in _VOID
                self.push[s] = not self_closing and not void
                holes = _hole_names(sk)
            self.name[s] = names.add(nm, 1)
            hole_names.extend(names.add(h, 1) for h in holes)
            hole_lo[s + 1] = hole_lo[s] + len(holes)
        if len(names) == 0:
            names.add(b"", 0)
        self.names = names
        self.hole_lo = hole_lo
        self.hole_name = np.asarray(hole_names, np.int64).reshape(-1)
        fold = {}
        self.name_fold = np.asarray(
            [fold.setdefault(nm.lower() if html else nm, len(fold)) for nm in names], np.int32)


# ---------------------------------------------------------------- encoder

_NL = {0: b"", 1: b"\n", 2: b"\r\n"}


def _u8(b: bytes) -> np.ndarray:
    return np.frombuffer(b, np.uint8)


class MarkupEncoder:
    """Bytes -> :class:`Encoded` (params + streams); see the module docstring."""

    def __init__(self, html: bool, level: int = 19, use_l1: bool | None = None, text_by_parent: bool | None = None,
                 split_values: bool | None = None, fold_min: int = 128):
        self.html = html
        self.fold_min = fold_min
        self.level = level
        # None: decide by a trial on a sample of the block
        self.use_l1 = use_l1
        self.text_by_parent = text_by_parent
        self.split_values = split_values

    def encode(self, data) -> Encoded:
        buf = mt.as_u8(data)
        tok = mt.tokenize(buf, self.html)
        kinds, starts = tok.kinds, tok.starts
        val_s, val_e = self._fold_values(buf, tok)
        # skeletons: hash, unique, verify, frequency order
        hashes = np.empty(kinds.size, np.uint64)
        _skeleton_hashes(buf, kinds, starts, tok.attr_lo, val_s, val_e, hashes)
        tags = np.flatnonzero((kinds == mt.START) | (kinds == mt.END))
        inv, first, counts = unique_hashes(hashes[tags])
        if first.size > MAX_ENTRIES:
            raise LimitError(f"markup: {first.size} distinct tag skeletons exceed {MAX_ENTRIES}")
        order = np.lexsort((first, -counts))  # most frequent first, ties by first use
        rank = np.empty(first.size, np.int64)
        rank[order] = np.arange(first.size)
        tag_sk = rank[inv].astype(np.int32)
        reps = tags[first[order]]
        # a skeleton is at most its token plus one hole byte per attribute (empty values)
        tok_len = (starts[1:] - starts[:-1]).astype(np.int64) + np.diff(tok.attr_lo)
        sk_off = np.zeros(reps.size + 1, np.int64)
        sk_buf = np.empty(int(tok_len[reps].sum()), np.uint8)
        _collect_skeletons(buf, starts, tok.attr_lo, val_s, val_e, reps, sk_off, sk_buf)
        sk_data = sk_buf[:sk_off[-1]]
        scratch = np.empty(int(tok_len.max(initial=0)) + 1, np.uint8)
        if not _verify_skeletons(buf, starts, tok.attr_lo, val_s, val_e, tags, tag_sk, sk_data, sk_off, scratch):
            raise CobolError("markup: skeleton hash collision")
        skeletons = StructuralDictionary.from_arrays(sk_data, np.diff(sk_off), counts[order])
        table = SkeletonTable(skeletons, self.html)

        tok_sk = np.zeros(kinds.size, np.int32)
        tok_sk[tags] = tag_sk
        tok_code = np.zeros(kinds.size, np.int64)
        tok_depth = np.zeros(kinds.size, np.int32)
        tok_parent = np.zeros(kinds.size, np.int32)
        _walk(kinds, tok_sk, table.is_end, table.push, table.canon, table.name, table.name_fold,
              tok_code, tok_depth, tok_parent)
        skeletons, table = self._keep_used(skeletons, table, tok_code, tok_parent, tags)
        nnames = len(table.names)

        # indentation: the newline and unit that predict most whitespace nodes
        nl_kind, unit = self._indent_style(buf, kinds, starts, tok_depth)

        # value streams: one per attribute name with enough bytes
        vbytes = _value_bytes(kinds, tok.attr_lo, val_s, val_e, tok_code,
                              table.hole_lo, table.hole_name, nnames)
        vorder = np.argsort(-vbytes, kind="stable")
        vnames = [int(x) for x in vorder[:MAX_VALUE_STREAMS] if vbytes[x] >= MIN_VALUE_STREAM_BYTES]
        value_slot = np.full(nnames, len(vnames), np.int64)  # shared stream last
        for i, x in enumerate(vnames):
            value_slot[x] = i

        # text groups by parent element (used if the trial says so)
        tbytes = _text_bytes(kinds, starts, tok_code, tok_parent, nnames)
        torder = np.argsort(-tbytes[1:], kind="stable")
        tnames = [int(x) for x in torder[:MAX_TEXT_STREAMS - 1] if tbytes[x + 1] >= MIN_TEXT_STREAM_BYTES]

        # emit once with text grouped by parent; document order is a remap
        ntext_p = len(tnames) + 1
        text_group_of = np.zeros(nnames + 1, np.int64)
        for i, x in enumerate(tnames):
            text_group_of[x + 1] = i + 1
        nseg = kinds.size + val_s.size + 1
        sym = np.empty(kinds.size * 11 + 16, np.uint8)
        seg_s = np.empty(nseg, np.int64)
        seg_e = np.empty(nseg, np.int64)
        seg_g = np.empty(nseg, np.int64)
        vbase_p = N_MISC + ntext_p
        hole_group = (vbase_p + value_slot[table.hole_name]) if table.hole_name.size else np.zeros(0, np.int64)
        nsym, ns = _emit(buf, kinds, starts, tok.attr_lo, val_s, val_e, tok_code, tok_depth,
                         tok_parent, _u8(_NL[nl_kind]), _u8(unit), text_group_of, table.hole_lo,
                         hole_group, N_MISC, sym, seg_s, seg_e, seg_g)
        sym = sym[:nsym]
        seg_s, seg_e, seg_g = seg_s[:ns], seg_e[:ns], seg_g[:ns]
        is_text = (seg_g >= N_MISC) & (seg_g < vbase_p)

        def doc_order(g):
            """Group ids with all text in one group (document order)."""
            g = g.copy()
            g[(g >= N_MISC) & (g < vbase_p)] = N_MISC
            g[g >= vbase_p] -= ntext_p - 1
            return g

        def gather(s_, e_, g_, ngroups):
            sizes = _group_sizes(s_, e_, g_, ngroups)
            offsets = np.zeros(ngroups + 1, np.int64)
            np.cumsum(sizes, out=offsets[1:])
            out = np.empty(int(offsets[-1]), np.uint8)
            _gather(buf, s_, e_, g_, offsets, out)
            return [out[offsets[k]:offsets[k + 1]] for k in range(ngroups)]

        # trials on the text of a prefix of the block
        text_idx = np.flatnonzero(is_text)
        cum = np.cumsum(seg_e[text_idx] - seg_s[text_idx] + 1)
        k = int(np.searchsorted(cum, TRIAL_SAMPLE)) + 1
        sample_idx = text_idx[:k]
        by_parent = self.text_by_parent
        if by_parent is None:
            by_parent = False
            if tnames and sample_idx.size:
                ss, se = seg_s[sample_idx], seg_e[sample_idx]
                flat = gather(ss, se, np.zeros(ss.size, np.int64), 1)
                grouped = gather(ss, se, seg_g[sample_idx] - N_MISC, ntext_p)
                by_parent = self._zlen(grouped) < self._zlen(flat)
        ntext = ntext_p if by_parent else 1
        if not by_parent:
            seg_g = doc_order(seg_g)
        # one stream per frequent attribute, or all values in one (small blocks)?
        vbase = N_MISC + ntext
        if vnames and self.split_values is None:
            val_idx = np.flatnonzero(seg_g >= vbase)
            vcum = np.cumsum(seg_e[val_idx] - seg_s[val_idx] + 1)
            # the benefit of separate streams grows with their size: sample a quarter
            want = min(max(TRIAL_SAMPLE, int(vcum[-1]) // 4 if vcum.size else 0), 8 * TRIAL_SAMPLE)
            vs = val_idx[:int(np.searchsorted(vcum, want)) + 1]
            split = gather(seg_s[vs], seg_e[vs], seg_g[vs] - vbase, len(vnames) + 1)
            merged = gather(seg_s[vs], seg_e[vs], np.zeros(vs.size, np.int64), 1)
            if self._zlen(merged) <= self._zlen(split):
                vnames = []
        elif self.split_values is False:
            vnames = []
        if not vnames:
            seg_g[seg_g >= vbase] = vbase
        groups = gather(seg_s, seg_e, seg_g, N_MISC + ntext + len(vnames) + 1)
        text_groups = groups[N_MISC:N_MISC + ntext]
        value_groups = groups[N_MISC + ntext:]

        use_l1 = self.use_l1
        l1_params = b""
        text_streams = [g.tobytes() for g in text_groups]
        text_names = ["text"] + [f"text:{table.names[x].decode('latin-1')}" for x in (tnames if by_parent else [])]
        if use_l1 is None:
            use_l1 = False
            if sample_idx.size and cum[-1] >= 4096:
                use_l1 = self._trial_l1(gather(seg_s[sample_idx], seg_e[sample_idx],
                                               np.zeros(sample_idx.size, np.int64), 1)[0])
        if use_l1:
            from . import l1_semantic
            coder = l1_semantic.WordCoder.train(np.concatenate(text_groups) if text_groups else np.zeros(0, np.uint8))
            l1_params = coder.to_bytes()
            text_streams = [coder.encode(g) for g in text_groups]

        params = bytearray()
        flags = (F_HTML if self.html else 0) | (F_L1 if use_l1 else 0) | (F_TEXT_BY_PARENT if by_parent else 0)
        params.append(flags)
        put_varint(params, nl_kind)
        put_bytes(params, unit)
        for g in range(N_MISC):
            put_varint(params, len(groups[g]))
        put_varint(params, len(tnames) if by_parent else 0)
        for x in (tnames if by_parent else []):
            put_varint(params, x)
        put_varint(params, len(vnames))
        for x in vnames:
            put_varint(params, x)
        if use_l1:
            for g in text_groups:
                put_varint(params, len(g))
        misc = np.concatenate(groups[:N_MISC]).tobytes()
        streams = [sym.tobytes(), skeletons.to_bytes(), misc]
        names = ["sym", "skeletons", "misc"]
        if use_l1:
            streams.append(l1_params)
            names.append("text:l1dict")
        streams += text_streams
        names += text_names
        streams += [g.tobytes() for g in value_groups]
        names += [f"v:{table.names[x].decode('latin-1')}" for x in vnames] + ["v:*"]
        return Encoded(params=bytes(params), streams=streams, stream_names=names)

    def _fold_values(self, buf, tok):
        """Value spans to cut out of the tags. A name=value pair seen at least
        FOLD_MIN times stays in its tag's skeleton (class="p" in highlighted
        code becomes part of the tag's id), the rest become holes."""
        val_s, val_e = tok.a_val_s, tok.a_val_e
        if self.fold_min <= 0 or val_s.size == 0:
            return val_s, val_e
        h = np.empty(val_s.size, np.uint64)
        _attribute_hashes(buf, tok.a_name_s, tok.a_name_e, val_s, val_e, h)
        valued = np.flatnonzero(h != 0)
        ids, first, counts = unique_hashes(h[valued])
        fold = valued[counts[ids] >= self.fold_min]
        if fold.size == 0:
            return val_s, val_e
        val_s = val_s.copy()
        val_e = val_e.copy()
        val_s[fold] = -1
        val_e[fold] = -1
        return val_s, val_e

    def _keep_used(self, skeletons, table, tok_code, tok_parent, tags):
        """Drop the skeletons of end tags that were always predicted and renumber
        the rest by how often they are *emitted*; remap codes and parent names."""
        codes = tok_code[tags]
        used = codes[codes >= S_SKEL] - S_SKEL
        cnt = np.bincount(used, minlength=len(skeletons))
        keep = np.argsort(-cnt, kind="stable")[:int((cnt > 0).sum())]
        new_id = np.full(len(skeletons), -1, np.int64)
        new_id[keep] = np.arange(keep.size)
        sel = tags[codes >= S_SKEL]
        tok_code[sel] = S_SKEL + new_id[tok_code[sel] - S_SKEL]
        reduced = StructuralDictionary([skeletons[i] for i in keep.tolist()], cnt[keep])
        new_table = SkeletonTable(reduced, self.html)
        name_map = np.asarray([-1] + [new_table.names.id_of(nm) if nm in new_table.names else -1
                                      for nm in table.names], np.int32)
        tok_parent[:] = name_map[tok_parent + 1]
        return reduced, new_table

    @staticmethod
    def _indent_style(buf, kinds, starts, tok_depth):
        """The newline and indent unit that predict the most whitespace nodes."""
        nt = int((kinds == mt.TEXT).sum())
        nk, ch, ln, dp = (np.empty(nt, np.int64) for _ in range(4))
        m = _indent_stats(buf, kinds, starts, tok_depth, nk, ch, ln, dp)
        nk, ch, ln, dp = nk[:m], ch[:m], ln[:m], dp[:m]
        best, style = 7, (0, b"")
        for kind in (1, 2):
            sel = nk == kind
            if not sel.any():
                continue
            for u in INDENT_UNITS:
                w = len(u)
                ok = sel & ((ch == u[0]) | (ln == 0))
                hits = int((ok & ((ln == w * dp) | (ln == w * (dp - 1)))).sum())
                if hits > best:
                    best, style = hits, (kind, u)
        return style

    # -- trials ---------------------------------------------------------------
    def _zlen(self, chunks) -> int:
        c = zstandard.ZstdCompressor(level=min(self.level, TRIAL_LEVEL))
        return sum(len(c.compress(bytes(x))) for x in chunks)

    def _trial_l1(self, sample) -> bool:
        from . import l1_semantic
        coder = l1_semantic.WordCoder.train(sample)
        return self._zlen([coder.to_bytes(), coder.encode(sample)]) < self._zlen([sample])


# ---------------------------------------------------------------- decoder

class MarkupDecoder:
    def decode(self, streams, params, raw_len: int) -> bytes:
        r = Reader(params, what="markup params")
        flags = r.u8("flags")
        if flags & ~(F_HTML | F_L1 | F_TEXT_BY_PARENT):
            raise FormatError(f"markup: unknown flags {flags:#x}")
        html = bool(flags & F_HTML)
        nl_kind = r.varint("newline kind", 2)
        unit = r.bytes_field("indent unit", 16)
        misc_sizes = [r.varint("misc group size", raw_len + (1 << 20)) for _ in range(N_MISC)]
        nt = r.varint("text group count", MAX_TEXT_STREAMS)
        tnames = [r.varint("text group name", MAX_ENTRIES) for _ in range(nt)]
        nv = r.varint("value stream count", MAX_VALUE_STREAMS)
        vnames = [r.varint("value stream name", MAX_ENTRIES) for _ in range(nv)]
        ntext = nt + 1
        use_l1 = bool(flags & F_L1)
        text_sizes = [r.varint("text group size", raw_len + (1 << 20)) for _ in range(ntext)] if use_l1 else None
        r.expect_end("markup params")
        want = 3 + (1 if use_l1 else 0) + ntext + nv + 1
        if len(streams) != want:
            raise FormatError(f"markup: {len(streams)} streams, params need {want}")
        sym = np.frombuffer(streams[0], np.uint8)
        skeletons = StructuralDictionary.from_bytes(streams[1])
        table = SkeletonTable(skeletons, html)
        nnames = len(table.names)
        for x in tnames + vnames:
            if x >= nnames:
                raise FormatError(f"markup: name id {x} out of range ({nnames} names)")
        misc = streams[2]
        if sum(misc_sizes) != len(misc):
            raise FormatError(f"markup: misc groups need {sum(misc_sizes)} bytes, stream has {len(misc)}")
        k = 3
        if use_l1 and sum(misc_sizes) + sum(text_sizes) > raw_len + len(sym) + (1 << 20):
            # the texts decode to exactly these sizes: refuse before holding them (a few
            # bytes of word codes can claim a block's length in each of 33 groups)
            raise LimitError(f"markup: text groups claim {sum(text_sizes)} bytes for a {raw_len}-byte block")
        if use_l1:
            from . import l1_semantic
            coder = l1_semantic.WordCoder.from_bytes(streams[3])
            k = 4
            texts = [coder.decode(streams[k + i], text_sizes[i]) for i in range(ntext)]
        else:
            texts = [bytes(streams[k + i]) for i in range(ntext)]
        values = [bytes(s) for s in streams[k + ntext:]]
        parts = [misc] + texts + values
        lens = misc_sizes + [len(t) for t in texts] + [len(v) for v in values]
        total = sum(lens)
        if total > raw_len + len(sym) + (1 << 20):
            raise LimitError(f"markup: streams hold {total} bytes for a {raw_len}-byte block")
        groups = np.frombuffer(b"".join(parts), np.uint8)
        g_end = np.cumsum(np.asarray(lens, np.int64))
        g_pos = g_end - np.asarray(lens, np.int64)

        text_group_of = np.zeros(nnames + 1, np.int64)
        for i, x in enumerate(tnames):
            text_group_of[x + 1] = i + 1
        value_slot = np.full(nnames, nv, np.int64)
        for i, x in enumerate(vnames):
            value_slot[x] = i
        vbase = N_MISC + ntext
        hole_group = (vbase + value_slot[table.hole_name]) if table.hole_name.size else np.zeros(0, np.int64)
        out = np.empty(raw_len, np.uint8)
        err, pos = _decode_kernel(sym, skeletons.data, skeletons.offsets, table.is_end, table.push, table.name,
                                  table.hole_lo, hole_group, table.names.data, table.names.offsets,
                                  table.name_fold, groups, g_pos, g_end, _u8(_NL[nl_kind]),
                                  np.frombuffer(unit, np.uint8), text_group_of, N_MISC, out)
        if err != E_OK:
            raise FormatError(f"markup: {_ERRORS.get(err, 'error')} (symbol byte {pos})")
        return out.tobytes()


class _MarkupTransform(Transform):
    #: symbols, skeletons, misc, l1 words; text groups + the shared one; values; residue
    max_streams = 3 + 1 + (MAX_TEXT_STREAMS + 1) + MAX_VALUE_STREAMS + 1
    expansion = 4
    html: bool = False
    #: name=value pairs seen this often stay in the tag skeleton (measured on the dev corpus)
    fold_min: int = 128
    needs_layers = frozenset({"l2"})
    min_level = 1

    def encode(self, data, ctx: EncodeContext) -> Encoded | None:
        if len(data) < 64:
            return None
        use_l1 = None if "l1" in ctx.layers else False
        for fold_min in (self.fold_min, 0):
            try:
                return MarkupEncoder(self.html, ctx.level, use_l1=use_l1, fold_min=fold_min).encode(data)
            except LimitError:  # over 65,536 distinct tags: folding made it worse, or it is not markup
                continue
        return None

    def decode(self, streams, params, raw_len, ctx: DecodeContext) -> bytes:
        if params and bool(params[0] & F_HTML) != self.html:
            raise FormatError(f"{self.name}: params are for the other markup flavour")
        return MarkupDecoder().decode(streams, params, raw_len)

    def describe(self, params: bytes) -> str:
        if not params:
            return self.name
        f = params[0]
        extra = [w for bit, w in ((F_L1, "l1"), (F_TEXT_BY_PARENT, "text-by-parent")) if f & bit]
        return self.name + (f" ({', '.join(extra)})" if extra else "")


@register_transform
class XmlTransform(_MarkupTransform):
    id = 40
    name = "xml"
    formats = ("xml",)
    html = False
    priority = 0


@register_transform
class HtmlTransform(_MarkupTransform):
    id = 41
    name = "html"
    formats = ("html",)
    html = True
    fold_min = 32
    priority = 1
