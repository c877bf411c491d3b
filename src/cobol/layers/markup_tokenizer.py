"""Lossless XML/HTML tokenizer: any byte string -> a tiling of typed tokens.

Like the JSON tokenizer, this one never fails and never drops a byte: token
``t`` spans ``starts[t]:starts[t + 1]`` and the tokens tile the input exactly,
whatever it is (valid XML, tag soup, a fragment cut mid-tag, binary junk).
Markup that does not parse (a stray ``<``, a tag cut by the end of the input,
an unterminated comment) simply stays part of the surrounding ``TEXT`` token,
so the decoder never has to re-tokenize anything: it only concatenates.

Token kinds:

- ``TEXT``: character data (entity and character references are kept verbatim);
  never contains a NUL byte;
- ``START``: ``<name attrs... >`` or ``<name attrs... />`` (self-closing). The
  name is ``name_s:name_e``; its attributes are ``attr_lo[t]:attr_lo[t + 1]``
  in the attribute arrays: name span, value span (``a_val_s == -1`` for a
  valueless attribute; the span excludes the quotes; unquoted values are
  allowed, as in HTML). Attribute names follow HTML: anything up to whitespace,
  ``/``, ``>`` or ``=`` (a leading ``=`` belongs to the name);
- ``END``: ``</name ...>`` (whatever sits between the name and ``>`` is kept);
- ``COMMENT``: ``<!-- ... -->``;
- ``CDATA``: ``<![CDATA[ ... ]]>``;
- ``PI``: ``<? ... ?>``;
- ``DECL``: ``<!DOCTYPE ...>`` with its internal subset (brackets, quoted
  strings and comments inside it are skipped), and any other ``<! ... >``
  (HTML's bogus comments, ``<?...>`` without ``?>``, ``</ ...>``);
- ``NUL``: a run of zero bytes (kept out of every other token so that the
  encoder can use NUL as a terminator in its streams).

No markup token contains a NUL byte. HTML mode (``html=True``) adds the
raw-text elements: after ``<script>``, ``<style>``, ``<textarea>``, ``<title>``,
``<xmp>``, ``<iframe>``, ``<noembed>``, ``<noframes>`` everything up to the
matching ``</name`` (ASCII case-insensitive) is one ``TEXT`` token even if it
holds ``<``; and ``<plaintext>`` makes the rest of the input text. Names are
compared case-insensitively in HTML mode; void elements are the encoder's
business (they only matter for nesting).

Failed attempts are bounded: once the bytes scanned by attempts that failed
exceed twice the input, later attempts give up after 256 bytes, so hostile
input such as ``<a <a <a ...`` stays linear.

>>> tok = tokenize(b'<p class="x">Hi<br/></p>', html=True)
>>> [KIND_NAMES[k] for k in tok.kinds]
['start', 'text', 'start', 'end']
>>> tok.span(0), tok.attr_value(0)
(b'<p class="x">', b'x')
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import trailing_zeros

from .primitives import NO_NRT, load_u64, zero_byte_mask

TEXT = 0
START = 1
END = 2
COMMENT = 3
CDATA = 4
PI = 5
DECL = 6
NUL = 7

KIND_NAMES = ("text", "start", "end", "comment", "cdata", "pi", "decl", "nul")

#: raw-text elements of HTML (lowercase); "plaintext" runs to the end of the input
RAW_TEXT_ELEMENTS = (b"script", b"style", b"textarea", b"title", b"xmp", b"iframe",
                     b"noembed", b"noframes", b"plaintext")
#: void elements of HTML (lowercase): no end tag, so they do not nest
VOID_ELEMENTS = (b"area", b"base", b"br", b"col", b"embed", b"hr", b"img", b"input",
                 b"link", b"meta", b"param", b"source", b"track", b"wbr", b"keygen",
                 b"command", b"basefont", b"bgsound", b"frame", b"image", b"isindex")

_SLOW_CAP = 256
_ONES = np.uint64(0x0101010101010101)

# The kernels run without Numba's reference counting (primitives.NO_NRT): with
# it, each call of a helper given arrays cost atomic increfs and decrefs, most
# of the time per token. The helpers of every tag (_scan_tag, _raw_text_index,
# _scan_to) are inlined; those of end tags, comments, declarations and raw
# text stay calls (NO_NRT too): inlining them as well doubled the kernel's
# compile time (first run after an install) for ~4% of its speed.


def _make_tables():
    ws = np.zeros(256, np.uint8)
    for b in b" \t\n\r\f":
        ws[b] = 1
    # name start: ASCII letters everywhere; XML adds _ : and non-ASCII
    name_start_html = np.zeros(256, np.uint8)
    for b in range(256):
        if 65 <= b <= 90 or 97 <= b <= 122:
            name_start_html[b] = 1
    name_start_xml = name_start_html.copy()
    for b in b"_:":
        name_start_xml[b] = 1
    name_start_xml[0x80:] = 1
    # bytes that end a tag or attribute name
    name_stop = ws.copy()
    for b in b"/>\x00":
        name_stop[b] = 1
    raw_names = np.zeros((len(RAW_TEXT_ELEMENTS), 16), np.uint8)
    raw_lens = np.zeros(len(RAW_TEXT_ELEMENTS), np.int64)
    for i, nm in enumerate(RAW_TEXT_ELEMENTS):
        raw_names[i, :len(nm)] = np.frombuffer(nm, np.uint8)
        raw_lens[i] = len(nm)
    return ws, name_start_html, name_start_xml, name_stop, raw_names, raw_lens


WS, NAME_START_HTML, NAME_START_XML, NAME_STOP, RAW_NAMES, RAW_LENS = _make_tables()


@njit(cache=True, nogil=True, inline="always")
def _lower(b):
    if 65 <= b <= 90:
        return b + 32
    return b


@njit(cache=True, nogil=True, inline="always")
def _scan_to(buf, j, stop, x):
    """First index in [j, stop) whose byte is ``x`` or NUL; ``stop`` when none.
    Eight bytes at a time (the zero-byte test on the word and on the word
    xor x) while they lie before ``stop``: text and quoted values are most of
    the bytes the tokenizer passes over."""
    xm = np.uint64(x) * _ONES
    while j + 8 <= stop:
        v = load_u64(buf, j)
        m = zero_byte_mask(v) | zero_byte_mask(v ^ xm)
        if m != 0:
            return j + np.int64(trailing_zeros(m) >> 3)
        j += 8
    while j < stop:
        b = buf[j]
        if b == x or b == 0:
            return j
        j += 1
    return stop


@njit(cache=True, nogil=True, **NO_NRT)
def _find(buf, i, pat0, pat1, pat2, plen, cap):
    """First index >= i where the 1-3 byte pattern starts, stopping at a NUL or
    after ``cap`` bytes; -1 if not found."""
    n = buf.size
    stop = n if n - i <= cap else i + cap
    j = i
    while j < stop:
        b = buf[j]
        if b == 0:
            return -1
        if b == pat0:
            if plen == 1:
                return j
            if j + 1 < n and buf[j + 1] == pat1:
                if plen == 2:
                    return j
                if j + 2 < n and buf[j + 2] == pat2:
                    return j
        j += 1
    return -1


@njit(cache=True, nogil=True, **NO_NRT)
def _scan_doctype(buf, i, cap, ws):
    """``<!`` at i: end (exclusive) of a declaration with an internal subset
    (brackets, quotes and comments inside it skipped), or -1."""
    n = buf.size
    stop = n if n - i <= cap else i + cap
    depth = 0
    j = i + 2
    dash, gt, three = np.int64(45), np.int64(62), np.int64(3)  # not literals: see tokenize_kernel
    while j < stop:
        b = buf[j]
        if b == 0:
            return -1
        if b == 34 or b == 39:  # quoted string
            k = j + 1
            while k < stop and buf[k] != b and buf[k] != 0:
                k += 1
            if k >= stop or buf[k] == 0:
                return -1
            j = k + 1
            continue
        if depth > 0 and b == 60 and j + 3 < n and buf[j + 1] == 33 and buf[j + 2] == 45 and buf[j + 3] == 45:
            k = _find(buf, j + 4, dash, dash, gt, three, stop - (j + 4))
            if k < 0:
                return -1
            j = k + 3
            continue
        if b == 91:  # [
            depth += 1
        elif b == 93:  # ]
            if depth > 0:
                depth -= 1
        elif b == 62 and depth == 0:  # >
            return j + 1
        j += 1
    return -1


@njit(cache=True, nogil=True, inline="always")
def _scan_tag(buf, i, cap, ws, name_start, a_name_s, a_name_e, a_val_s, a_val_e, na, acap):
    """``<`` at i followed by a name start byte: parse a start tag.

    Returns (end, name_end, attribute count after, ok); attributes are written
    at ``na`` onward. ok is 0 on failure, -1 when the attribute arrays are full.
    """
    n = buf.size
    stop = n if n - i <= cap else i + cap
    p = i + 1
    while p < stop and buf[p] != 0 and buf[p] != 62 and buf[p] != 47 and ws[buf[p]] == 0:
        p += 1
    name_e = p
    while True:
        while p < stop and ws[buf[p]] != 0:
            p += 1
        if p >= stop:
            return p, name_e, na, 0
        c = buf[p]
        if c == 62:  # >
            return p + 1, name_e, na, 1
        if c == 0:
            return p, name_e, na, 0
        if c == 47:  # /
            if p + 1 < stop and buf[p + 1] == 62:
                return p + 2, name_e, na, 1
            p += 1
            continue
        # attribute name: a leading '=' belongs to it (HTML)
        q = p + 1
        while q < stop:
            b = buf[q]
            if b == 0 or b == 62 or b == 47 or b == 61 or ws[b] != 0:
                break
            q += 1
        if q >= stop:
            return q, name_e, na, 0
        if na >= acap:
            return q, name_e, na, -1
        a_name_s[na] = p
        a_name_e[na] = q
        a_val_s[na] = -1
        a_val_e[na] = -1
        r = q
        while r < stop and ws[buf[r]] != 0:
            r += 1
        if r < stop and buf[r] == 61:  # =
            r += 1
            while r < stop and ws[buf[r]] != 0:
                r += 1
            if r >= stop:
                return r, name_e, na, 0
            c = buf[r]
            if c == 34 or c == 39:
                k = _scan_to(buf, r + 1, stop, c)
                if k >= stop or buf[k] == 0:
                    return k, name_e, na, 0
                a_val_s[na] = r + 1
                a_val_e[na] = k
                p = k + 1
            else:
                k = r
                while k < stop:
                    b = buf[k]
                    if b == 0 or b == 62 or ws[b] != 0:
                        break
                    k += 1
                a_val_s[na] = r
                a_val_e[na] = k
                p = k
        else:
            p = q
        na += 1


@njit(cache=True, nogil=True, inline="always")
def _raw_text_index(buf, s, e, raw_names, raw_lens):
    """Index of the raw-text element named buf[s:e] (ASCII case-insensitive), or -1."""
    ln = e - s
    for k in range(raw_lens.size):
        if raw_lens[k] != ln:
            continue
        same = True
        for j in range(ln):
            if _lower(buf[s + j]) != raw_names[k, j]:
                same = False
                break
        if same:
            return k
    return -1


@njit(cache=True, nogil=True, **NO_NRT)
def _find_raw_end(buf, i, s, ln, ws):
    """First ``</name`` (case-insensitive, followed by whitespace, / or >) at or
    after i, where name is buf[s:s+ln]; returns its index or the position of
    the first NUL, or len(buf)."""
    n = buf.size
    j = i
    while j < n:
        j = _scan_to(buf, j, n, 60)
        if j >= n:
            return n
        if buf[j] == 0:
            return j
        if j + 1 < n and buf[j + 1] == 47 and j + 2 + ln < n:
            same = True
            for k in range(ln):
                if _lower(buf[j + 2 + k]) != _lower(buf[s + k]):
                    same = False
                    break
            if same:
                c = buf[j + 2 + ln]
                if c == 62 or c == 47 or ws[c] != 0:
                    return j
        j += 1
    return n


@njit(cache=True, nogil=True, **NO_NRT)
def tokenize_kernel(buf, html, kinds, starts, name_s, name_e, attr_lo,
                    a_name_s, a_name_e, a_val_s, a_val_e):
    """Fill the token and attribute arrays; return (token count, attribute count),
    or (-1, -1) when a capacity ran out (the caller retries with more room).

    ``starts[count]`` is set to ``len(buf)`` and ``attr_lo[count]`` to the
    attribute count.
    """
    n = buf.size
    tcap = kinds.size - 1
    acap = a_name_s.size
    ws = WS
    name_start = NAME_START_HTML if html else NAME_START_XML
    raw_names = RAW_NAMES
    raw_lens = RAW_LENS
    big = np.int64(1) << 40
    waste = np.int64(0)
    budget = 2 * np.int64(n) + 65536
    # np.int64 values, not literals, for what the helpers take: a literal
    # argument compiles the helper once more per value (issue 15, first run)
    lt, gt, dash, rbr, qm, nul = np.int64(60), np.int64(62), np.int64(45), np.int64(93), np.int64(63), np.int64(0)
    one, two, three = np.int64(1), np.int64(2), np.int64(3)
    t = 0
    na = np.int64(0)
    i = np.int64(0)
    raw_s = np.int64(-1)  # name span of the open raw-text element (HTML), or -1
    raw_len = np.int64(0)
    while i < n:
        if t >= tcap:
            return -1, -1
        b = buf[i]
        if b == 0:
            j = i + 1
            while j < n and buf[j] == 0:
                j += 1
            kinds[t] = NUL
            starts[t] = i
            attr_lo[t] = na
            t += 1
            i = j
            continue
        if raw_s >= 0:
            if raw_len < 0:  # plaintext: all the rest is text (NULs apart)
                j = i
                while j < n and buf[j] != 0:
                    j += 1
            else:
                j = _find_raw_end(buf, i, raw_s, raw_len, ws)
            if j > i:
                kinds[t] = TEXT
                starts[t] = i
                attr_lo[t] = na
                t += 1
                i = j
            if i < n and buf[i] != 0:
                raw_s = -1  # at the end tag
            continue
        cap = big if waste < budget else _SLOW_CAP
        kind = -1
        end = -1
        if b == 60 and i + 1 < n:  # <
            c = buf[i + 1]
            if name_start[c] != 0:
                e, ne, na2, ok = _scan_tag(buf, i, cap, ws, name_start, a_name_s, a_name_e, a_val_s, a_val_e, na, acap)
                if ok < 0:
                    return -1, -1
                if ok > 0:
                    kind = START
                    end = e
                    name_s[t] = i + 1
                    name_e[t] = ne
                    attr_lo[t] = na
                    na = na2
                    if html:
                        k = _raw_text_index(buf, i + 1, ne, raw_names, raw_lens)
                        if k >= 0:  # HTML ignores a self-closing slash here
                            raw_s = i + 1
                            raw_len = ne - (i + 1)
                            if k == raw_lens.size - 1:
                                raw_len = -1
                else:
                    waste += e - i
            elif c == 47:  # </
                if i + 2 < n and name_start[buf[i + 2]] != 0:
                    e = _find(buf, i + 2, gt, nul, nul, one, cap)
                    if e >= 0:
                        kind = END
                        end = e + 1
                        p = i + 2
                        while p < e and buf[p] != 47 and ws[buf[p]] == 0:
                            p += 1
                        name_s[t] = i + 2
                        name_e[t] = p
                    else:
                        waste += min(cap, n - i)
                else:
                    e = _find(buf, i + 2, gt, nul, nul, one, cap)
                    if e >= 0:
                        kind = DECL
                        end = e + 1
                    else:
                        waste += min(cap, n - i)
            elif c == 33:  # <!
                if i + 3 < n and buf[i + 2] == 45 and buf[i + 3] == 45:
                    e = _find(buf, i + 4, dash, dash, gt, three, cap)
                    if e >= 0:
                        kind = COMMENT
                        end = e + 3
                    else:
                        waste += min(cap, n - i)
                elif (i + 8 < n and buf[i + 2] == 91 and buf[i + 3] == 67 and buf[i + 4] == 68
                      and buf[i + 5] == 65 and buf[i + 6] == 84 and buf[i + 7] == 65 and buf[i + 8] == 91):
                    e = _find(buf, i + 9, rbr, rbr, gt, three, cap)
                    if e >= 0:
                        kind = CDATA
                        end = e + 3
                    else:
                        waste += min(cap, n - i)
                if kind < 0:
                    e = _scan_doctype(buf, i, cap, ws)
                    if e < 0:
                        waste += min(cap, n - i)
                        e2 = _find(buf, i + 2, gt, nul, nul, one, cap)
                        if e2 >= 0:
                            e = e2 + 1
                    if e >= 0:
                        kind = DECL
                        end = e
                    else:
                        waste += min(cap, n - i)
            elif c == 63:  # <?
                e = _find(buf, i + 2, qm, gt, nul, two, cap)
                if e >= 0:
                    kind = PI
                    end = e + 2
                else:
                    e = _find(buf, i + 2, gt, nul, nul, one, cap)
                    if e >= 0:
                        kind = DECL
                        end = e + 1
                    else:
                        waste += min(cap, n - i)
        if kind >= 0:
            kinds[t] = kind
            starts[t] = i
            if kind != START:
                attr_lo[t] = na
            t += 1
            i = end
            continue
        # text up to the next '<' or NUL; a '<' that failed to parse is text too
        j = _scan_to(buf, i + 1, n, lt)
        if t > 0 and kinds[t - 1] == TEXT:
            i = j  # extend the previous text token
            continue
        kinds[t] = TEXT
        starts[t] = i
        attr_lo[t] = na
        t += 1
        i = j
    starts[t] = n
    attr_lo[t] = na
    return t, na


@dataclass
class Tokens:
    """The token tiling of one buffer (token arrays are views of length ``count``)."""

    buf: np.ndarray
    html: bool
    kinds: np.ndarray
    #: ``count + 1`` entries; the last is ``len(buf)``
    starts: np.ndarray
    #: name span of START and END tokens (undefined for other kinds)
    name_s: np.ndarray
    name_e: np.ndarray
    #: ``count + 1`` entries: token t's attributes are attr_lo[t]:attr_lo[t + 1]
    attr_lo: np.ndarray
    a_name_s: np.ndarray
    a_name_e: np.ndarray
    a_val_s: np.ndarray
    a_val_e: np.ndarray

    @property
    def count(self) -> int:
        return self.kinds.size

    def span(self, t: int) -> bytes:
        return self.buf[self.starts[t]:self.starts[t + 1]].tobytes()

    def name(self, t: int) -> bytes:
        return self.buf[self.name_s[t]:self.name_e[t]].tobytes()

    def attrs(self, t: int) -> list:
        """[(name, value or None)] of token t."""
        out = []
        for a in range(self.attr_lo[t], self.attr_lo[t + 1]):
            nm = self.buf[self.a_name_s[a]:self.a_name_e[a]].tobytes()
            v = None if self.a_val_s[a] < 0 else self.buf[self.a_val_s[a]:self.a_val_e[a]].tobytes()
            out.append((nm, v))
        return out

    def attr_value(self, t: int, k: int = 0):
        return self.attrs(t)[k][1]


def as_u8(data) -> np.ndarray:
    if isinstance(data, np.ndarray):
        return np.ascontiguousarray(data).view(np.uint8).ravel()
    return np.frombuffer(data, dtype=np.uint8)


def tokenize(data, html: bool = False) -> Tokens:
    """Tokenize bytes-like ``data`` (under 2 GiB: offsets are int32)."""
    buf = as_u8(data)
    n = buf.size
    if n >= 1 << 31:
        raise ValueError("markup tokenizer: input over 2 GiB; cut it into blocks")
    tcap = n // 6 + 64
    acap = n // 12 + 64
    while True:
        kinds = np.empty(tcap + 1, np.uint8)
        starts = np.empty(tcap + 1, np.int32)
        name_s = np.zeros(tcap + 1, np.int32)
        name_e = np.zeros(tcap + 1, np.int32)
        attr_lo = np.empty(tcap + 1, np.int32)
        a_name_s = np.empty(acap, np.int32)
        a_name_e = np.empty(acap, np.int32)
        a_val_s = np.empty(acap, np.int32)
        a_val_e = np.empty(acap, np.int32)
        t, na = tokenize_kernel(buf, bool(html), kinds, starts, name_s, name_e, attr_lo,
                                a_name_s, a_name_e, a_val_s, a_val_e)
        if t >= 0:
            return Tokens(buf, bool(html), kinds[:t], starts[:t + 1], name_s[:t], name_e[:t], attr_lo[:t + 1],
                          a_name_s[:na], a_name_e[:na], a_val_s[:na], a_val_e[:na])
        tcap = min(2 * tcap, n + 1)
        acap = min(2 * acap, n // 2 + 64)
