"""A log block (transform 60) read with whole-array NumPy, for ``cobol grep``.

:class:`cobol.layers.l2_log.LogBlock` parses, validates and renders a log
block with Numba kernels; the first Numba call of a process costs ~0.5 s of
CPU, which is most of what ``cobol grep`` spends on a file of a few MB when
the string it looks for is present (a few candidate lines to render). This
class reads the same streams (docs/transforms/log.md) with NumPy alone and
offers the part of LogBlock's interface that :mod:`cobol.logsearch` uses:
``ids``, ``tbuf`` / ``tmpl_s`` (templates), ``sbuf`` / ``ss`` (skeletons),
``var_lines()``, ``variables()`` and ``render(select)``.

Rendering is a gather: every selected line is a run of *segments* (a literal
run of its template, a variable's text, a raw line, a newline), each a range
of one source array (templates, rendered variables, raw lines and a newline
byte laid end to end); the output is that source indexed by the concatenated
ranges. Variables are rendered the same way from their skeletons' literal
runs and their digit chunks' decimal digits. The checks are LogBlock's (every
failed one a FormatError); memory bounds: :data:`MAX_BLOCK`, :data:`MAX_RENDER`.

>>> from cobol.layers.l2_log import LogTransform
>>> from cobol.registry import EncodeContext
>>> text = b"2026-12-05 19:36:22 job 17 done\\n2026-12-05 19:36:23 job 18 failed\\n" * 4
>>> enc = LogTransform().encode(text, EncodeContext(fmt="log"))
>>> lb = read_log_block(enc.streams, enc.params, len(text))
>>> bytes(lb.render(lb.ids == lb.ids[1])[0])
b'2026-12-05 19:36:23 job 18 failed\\n2026-12-05 19:36:23 job 18 failed\\n2026-12-05 19:36:23 job 18 failed\\n2026-12-05 19:36:23 job 18 failed\\n'
"""

from __future__ import annotations

import numpy as np

from ..errors import FormatError
from . import log_format
from .intcodec_numpy import decode_ints_numpy

NEWLINE, PLACEHOLDER, NUMBER = 10, 0x11, 0x12
#: blocks above this many bytes (the engine's default block size) go to the
#: kernels: the gathers here hold ~40 bytes of index arrays per output byte
MAX_BLOCK = 8 << 20
#: selections estimated above this many output bytes are rendered by the
#: kernels. Rendering a whole 2.2 MB block (35,008 lines of dev and OpenJDK
#: logs) took 60-80 ms of CPU here against ~450 ms for LogBlock's first
#: render in a process (Numba's start-up) and 9 ms for later ones
MAX_RENDER = 8 << 20
_POW10 = 10 ** np.arange(19, dtype=np.uint64)


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The indices starts[i] .. starts[i] + lengths[i] - 1, range after range."""
    lengths = lengths.astype(np.int64)
    total = int(lengths.sum())
    first = np.zeros(lengths.size, np.int64)
    np.cumsum(lengths[:-1], out=first[1:])
    return np.repeat(starts.astype(np.int64) - first, lengths) + np.arange(total, dtype=np.int64)


def _exclusive_cumsum(x: np.ndarray) -> np.ndarray:
    out = np.zeros(x.size + 1, np.int64)
    np.cumsum(x, out=out[1:])
    return out


class _Pieces:
    """Items [s, e) of a buffer cut at its marker bytes (sorted positions
    ``marks``): item i holds k[i] markers and k[i] + 1 literal runs (maybe
    empty), laid out as segments lit, marker, lit, ..., lit from ``base[i]``
    on (segment 2j: literal j, 2j + 1: marker j). ``lit_*`` and ``mark_*`` list
    the literals and markers item after item; ``*_seg`` is each one's segment."""

    def __init__(self, s: np.ndarray, e: np.ndarray, marks: np.ndarray):
        a = np.searchsorted(marks, s)
        self.k = k = np.searchsorted(marks, e) - a
        self.base = _exclusive_cumsum(2 * k + 1)
        n_lit = k + 1
        lit_item = np.repeat(np.arange(s.size, dtype=np.int64), n_lit)
        j = np.arange(int(n_lit.sum()), dtype=np.int64) - _exclusive_cumsum(n_lit)[:-1][lit_item]
        padded = np.append(marks, 0).astype(np.int64)  # a[i] + j - 1 is -1 only where j == 0, unused there
        start = np.where(j == 0, s[lit_item], padded[np.maximum(a[lit_item] + j - 1, 0)] + 1)
        end = np.where(j == k[lit_item], e[lit_item], padded[np.minimum(a[lit_item] + j, marks.size)])
        self.lit_start, self.lit_len, self.lit_seg = start, end - start, self.base[:-1][lit_item] + 2 * j
        self.mark_item = np.repeat(np.arange(s.size, dtype=np.int64), k)
        self.mark_rank = np.arange(int(k.sum()), dtype=np.int64) - _exclusive_cumsum(k)[:-1][self.mark_item]
        self.mark_seg = self.base[:-1][self.mark_item] + 2 * self.mark_rank + 1


def _gather(src: np.ndarray, seg_start: np.ndarray, seg_len: np.ndarray, item_first_seg: np.ndarray):
    """(src at the segments laid end to end, where each item starts; one extra at the end)."""
    text = src[_ranges(seg_start, seg_len)]
    return text, _exclusive_cumsum(seg_len)[item_first_seg]


def _items(stream, count: int, what: str, marker: int = NEWLINE):
    """(bytes, starts, ends, marker counts, marker positions) of a stream of ``count`` newline-ended items."""
    buf = np.frombuffer(stream, np.uint8)
    e = np.flatnonzero(buf == NEWLINE)
    if e.size != count or (buf.size and buf[-1] != NEWLINE):
        raise FormatError(f"log: {what} stream does not hold {count} newline-ended items")
    s = np.zeros(count, np.int64)
    s[1:] = e[:-1] + 1
    if marker == NEWLINE:
        marks = e
    elif isinstance(stream, (bytes, bytearray)) and bytes((marker,)) not in stream:
        # (memchr: a block whose columns are all verbatim has no digit chunk in its
        # skeletons; the compare, nonzero and searchsorted passes cost ~5 ms per 4 MB)
        return buf, s, e.astype(np.int64), np.zeros(count, np.int64), np.zeros(0, np.int64)
    else:
        marks = np.flatnonzero(buf == marker)
    return buf, s, e.astype(np.int64), np.searchsorted(marks, e) - np.searchsorted(marks, s), marks


def _ints(stream, n: int, what: str) -> np.ndarray | None:
    v = decode_ints_numpy(stream, n)
    if v is not None and v.size != n:
        raise FormatError(f"log: {v.size} {what}, params say {n}")
    return v


def read_log_block(streams: list, params: bytes, raw_len: int):
    """A :class:`NumpyLogBlock`, or None when the block is above MAX_BLOCK or
    its template ids are coded in a layout the NumPy int decoder leaves to the
    kernels (then :class:`cobol.layers.l2_log.LogBlock` reads it)."""
    if raw_len > MAX_BLOCK:
        return None
    lb = NumpyLogBlock(streams, params, raw_len)
    return lb if lb.ids is not None else None


class NumpyLogBlock:
    """A log block's streams parsed and validated with NumPy (see the module)."""

    def __init__(self, streams: list, params: bytes, raw_len: int):
        if len(streams) == len(log_format.STREAM_NAMES_REFS):
            streams = log_format.canonical_streams(streams, params, raw_len)
        if len(streams) != len(log_format.STREAM_NAMES):
            raise FormatError(f"log: expects {len(log_format.STREAM_NAMES)} streams, got {len(streams)}")
        p = log_format.parse_params(params, raw_len)
        self.raw_len = raw_len
        self.final_newline = p["final_newline"]
        n_lines, n_t, n_common = p["n_lines"], p["n_templates"], p["n_common"]
        self.n_lines, self.n_common = n_lines, n_common
        self.ids = ids = _ints(streams[log_format.IDS], n_lines, "template ids")
        if ids is None:
            return
        if ids.size and (ids.min() < 0 or ids.max() > n_t):
            raise FormatError(f"log: template id outside 0..{n_t}")
        self.tbuf, ts, te, slots, self._slot_marks = _items(streams[log_format.TEMPLATES], n_t, "templates", PLACEHOLDER)
        self.tmpl_s = np.concatenate(([0], ts)).astype(np.int64)
        self.tmpl_e = np.concatenate(([0], te)).astype(np.int64)
        self.slots = np.zeros(n_t + 1, np.int64)
        self.slots[1:] = slots
        self.slot_base, _, n_cols = log_format.column_layout(self.slots, n_common)
        self.n_own = n_own = int(self.slots[1:n_common + 1].sum())
        lines_per_t = np.bincount(ids, minlength=n_t + 1)
        per_col = np.zeros(n_cols, np.int64)
        per_col[:n_own] = np.repeat(lines_per_t[1:n_common + 1], self.slots[1:n_common + 1])
        if n_common < n_t:
            per_col[n_own] = int((lines_per_t[n_common + 1:] * self.slots[n_common + 1:]).sum())
        self.col_start = _exclusive_cumsum(per_col)
        if self.col_start[-1] != p["n_vars"]:
            raise FormatError(f"log: templates call for {int(self.col_start[-1])} variables, params say {p['n_vars']}")
        self.per_col = per_col
        self.sbuf, self.ss, self.se, runs, self._num_marks = _items(streams[log_format.SKELETONS], p["n_vars"], "skeletons", NUMBER)
        self.num_start = _exclusive_cumsum(runs)
        n_num = p["n_numbers"]
        if self.num_start[-1] != n_num:
            raise FormatError(f"log: skeletons hold {int(self.num_start[-1])} numbers, params say {n_num}")
        if len(streams[log_format.WIDTHS]) != n_num:
            raise FormatError(f"log: {len(streams[log_format.WIDTHS])} chunk widths for {n_num} numbers")
        self._numbers_stream, self._widths_stream, self._runs = streams[log_format.NUMBERS], streams[log_format.WIDTHS], runs
        self._values = self._widths = None
        self.rbuf, self.rs, self.re, _, _ = _items(streams[log_format.RAW], p["n_raw"], "raw")
        if int(lines_per_t[0]) != p["n_raw"]:
            raise FormatError(f"log: {int(lines_per_t[0])} raw lines, params say {p['n_raw']}")
        # lines by template (stable: in line order inside a template), and each line's rank among its template's
        self._by_template = np.argsort(ids, kind="stable")
        self._t_first = _exclusive_cumsum(lines_per_t)
        self._rank = np.empty(n_lines, np.int64)
        self._rank[self._by_template] = np.arange(n_lines) - self._t_first[ids[self._by_template]]
        # the shared column: each line's first variable in it
        shared_slots = np.where(ids > n_common, self.slots[ids], 0)
        self._shared_first = _exclusive_cumsum(shared_slots)[:-1]

    def numbers(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(values, widths) of the digit chunks in variable order, or None when
        the numbers stream needs the kernels."""
        if self._values is None:
            n_num = int(self.num_start[-1])
            res = _ints(self._numbers_stream, n_num, "numbers")
            if res is None:
                return None
            n_cols = self.per_col.size
            var_col = np.repeat(np.arange(n_cols, dtype=np.int64), self.per_col)
            var_of = np.repeat(np.arange(self._runs.size, dtype=np.int64), self._runs)
            cols = var_col[var_of]
            ks = np.arange(n_num, dtype=np.int64) - self.num_start[var_of]
            perm = np.lexsort((ks, cols))  # group order: by (column, chunk index), variable order inside
            gc, gk = cols[perm], ks[perm]
            first = np.ones(n_num, np.bool_)
            first[1:] = (gc[1:] != gc[:-1]) | (gk[1:] != gk[:-1])
            # per-group running sums (int64 wrap-around, as the kernel's): the running sum minus its value before the group
            run = np.cumsum(res.view(np.uint64), dtype=np.uint64)
            head = np.maximum.accumulate(np.where(first, np.arange(n_num), 0))
            before = run[head] - res.view(np.uint64)[head]
            values = np.empty(n_num, np.int64)
            values[perm] = (run - before).view(np.int64)
            widths = np.empty(n_num, np.uint8)
            widths[perm] = np.frombuffer(self._widths_stream, np.uint8)
            self._values, self._widths = values, widths
        return self._values, self._widths

    def var_lines(self, v: np.ndarray | None = None) -> np.ndarray:
        """The line of each variable (column order), or of variables ``v``
        only (a search for a rare string asks for a few of a block's
        hundreds of thousands)."""
        if v is None:
            v = np.arange(self.ss.size, dtype=np.int64)
            col = np.repeat(np.arange(self.per_col.size, dtype=np.int64), self.per_col)
        else:
            v = np.asarray(v, np.int64)
            if v.size and (v.min() < 0 or v.max() >= self.ss.size):
                raise FormatError("log: a variable outside the block")
            col = np.searchsorted(self.col_start, v, "right") - 1
        k = v - self.col_start[col]
        out = np.empty(v.size, np.int64)
        own = col < self.n_own
        col_t = np.repeat(np.arange(1, self.n_common + 1, dtype=np.int64), self.slots[1:self.n_common + 1])
        out[own] = self._by_template[self._t_first[col_t[col[own]]] + k[own]]
        if not own.all():
            # the shared column's variables, line after line: the line whose first variable is the last at or before k
            shared = np.flatnonzero(self.ids > self.n_common)
            first = _exclusive_cumsum(self.slots[self.ids[shared]])
            out[~own] = shared[np.searchsorted(first, k[~own], "right") - 1]
        return out

    def _render_vars(self, v: np.ndarray, newline: bool) -> tuple[np.ndarray, np.ndarray] | None:
        """(texts of variables ``v``, each followed by a newline when asked; start of each, one extra at the end)."""
        nums = self.numbers()
        if nums is None:
            return None
        values, widths = nums
        pc = _Pieces(self.ss[v], self.se[v], self._num_marks)
        chunk = self.num_start[v][pc.mark_item] + pc.mark_rank
        w = widths[chunk].astype(np.int64)
        x = values[chunk]
        if w.size and (w.min() < 1 or w.max() > 18 or x.min() < 0
                       or (x.view(np.uint64) >= _POW10[w]).any()):
            raise FormatError("log: a number that does not fit its width")
        digit_first = _exclusive_cumsum(w)
        c_of = np.repeat(np.arange(w.size, dtype=np.int64), w)
        place = w[c_of] - 1 - (np.arange(int(digit_first[-1]), dtype=np.int64) - digit_first[:-1][c_of])
        digits = ((x.view(np.uint64)[c_of] // _POW10[place]) % np.uint64(10) + np.uint64(48)).astype(np.uint8)
        lit_item = np.repeat(np.arange(v.size), pc.k + 1)
        lit_start, skel = pc.lit_start, self.sbuf
        size = self.se[v] - self.ss[v]
        if int(size.sum()) * 8 < skel.size:
            # a few variables (a rare string's): their skeletons gathered first, so that the
            # source below is not a copy of the whole stream (4 MB in an 8 MiB block of big.log)
            skel = skel[_ranges(self.ss[v], size)]
            lit_start = lit_start + (_exclusive_cumsum(size)[:-1] - self.ss[v])[lit_item]
        # segments per variable: its pieces (literal runs, chunks' digits), then the newline if asked
        src = np.concatenate((skel, digits, np.array([NEWLINE], np.uint8)))
        per = pc.base[1:] - pc.base[:-1] + (1 if newline else 0)
        first = _exclusive_cumsum(per)
        n_seg = int(first[-1])
        seg_start = np.full(n_seg, src.size - 1, np.int64)  # the newline, where asked
        seg_len = np.ones(n_seg, np.int64)
        shift = first[:-1] - pc.base[:-1]  # segments of item i move from base[i] to first[i]
        at = pc.lit_seg + shift[lit_item]
        seg_start[at], seg_len[at] = lit_start, pc.lit_len
        at = pc.mark_seg + shift[pc.mark_item]
        seg_start[at], seg_len[at] = skel.size + digit_first[:-1], w
        return _gather(src, seg_start, seg_len, first)

    def variables(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(texts each ended by a newline, start offsets (one extra at the end)), column order;
        None when the numbers need the kernels."""
        return self._render_vars(np.arange(self.ss.size, dtype=np.int64), True)

    def render_estimate(self, select: np.ndarray) -> int:
        """About how many bytes rendering ``select`` writes (the block's mean line length per line)."""
        return int(select.sum()) * (self.raw_len // max(self.n_lines, 1) + 1)

    def render(self, select: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """(bytes, start of each line or -1) of the selected lines, each with its
        newline (the last line's only when the block ends with one), as
        LogBlock.render; None when the numbers need the kernels."""
        ids, n = self.ids, self.n_lines
        sel = np.flatnonzero(select)
        t = ids[sel]
        tl = np.flatnonzero(t > 0)  # template lines (index into sel): literal runs and variables
        pc = _Pieces(self.tmpl_s[t[tl]], self.tmpl_e[t[tl]], self._slot_marks)
        li = sel[tl[pc.mark_item]]
        slot = pc.mark_rank
        lt = ids[li]
        var = np.where(lt <= self.n_common,
                       self.col_start[np.minimum(self.slot_base[lt] + slot, self.per_col.size - 1)] + self._rank[li],
                       self.col_start[min(self.n_own, self.per_col.size)] + self._shared_first[li] + slot)
        if var.size and (var.min() < 0 or var.max() >= self.ss.size):
            raise FormatError("log: inconsistent variables")
        uvar, inverse = np.unique(var, return_inverse=True)
        rendered = self._render_vars(uvar, False)
        if rendered is None:
            return None
        vtext, vstart = rendered
        rl = np.flatnonzero(t == 0)  # raw lines: the k-th raw line of the block is raw item k
        raw_k = (np.cumsum(ids == 0) - 1)[sel[rl]]
        # sources end to end: templates, variable texts, raw lines, a newline
        v0, r0 = self.tbuf.size, self.tbuf.size + vtext.size
        src = np.concatenate((self.tbuf, vtext, self.rbuf, np.array([NEWLINE], np.uint8)))
        # segments per line: its template's (2k + 1) or its raw line (1), then its newline (all but maybe the last)
        per = np.ones(sel.size, np.int64)
        per[tl] = pc.base[1:] - pc.base[:-1]
        with_nl = (sel < n - 1) | self.final_newline
        first = _exclusive_cumsum(per + with_nl)
        n_seg = int(first[-1])
        seg_start = np.full(n_seg, src.size - 1, np.int64)
        seg_len = np.ones(n_seg, np.int64)
        shift = first[:-1][tl] - pc.base[:-1]
        at = pc.lit_seg + shift[np.repeat(np.arange(tl.size), pc.k + 1)]
        seg_start[at], seg_len[at] = pc.lit_start, pc.lit_len
        at = pc.mark_seg + shift[pc.mark_item]
        seg_start[at], seg_len[at] = v0 + vstart[:-1][inverse], np.diff(vstart)[inverse]
        at = first[:-1][rl]
        seg_start[at], seg_len[at] = r0 + self.rs[raw_k], self.re[raw_k] - self.rs[raw_k]
        total = int(seg_len.sum())
        if total > self.raw_len or (sel.size == n and total != self.raw_len):
            raise FormatError(f"log: streams decode to an inconsistent block, expected {self.raw_len} bytes")
        text, line_first = _gather(src, seg_start, seg_len, first)
        starts = np.full(n, -1, np.int64)
        starts[sel] = line_first[:-1]
        return text, starts


def render_messages_block(streams: list, params: bytes, raw_len: int) -> bytes | None:
    """A params-version-5 block (messages cut off its lines) rendered whole
    with NumPy, for ``cobol grep`` (no Numba kernel is loaded): its first six
    streams (the skeletons expanded in Python when flag bit 1 is set) read as
    a block of the lines with their tail templates' TAIL still in place, then
    each such TAIL replaced by the line's message. The decoder's checks:
    every message used once, the block exactly ``raw_len`` bytes (FormatError
    otherwise). None where :func:`read_log_block` declines."""
    p = log_format.parse_params(params, raw_len)
    if not p["messages"] or len(streams) != log_format.stream_count(p):
        raise FormatError(f"log: expects a version-5 block's {len(log_format.STREAM_NAMES_MESSAGES)} streams")
    base = list(streams[:log_format.REFS])
    if p["refs"]:
        base[log_format.SKELETONS] = log_format.expand_skeletons(
            bytes(streams[log_format.SKELETONS]), bytes(streams[log_format.REFS]), p["n_vars"], raw_len)
    elif len(streams[log_format.REFS]):
        raise FormatError("log: a refs stream without flag bit 1")
    mbuf = np.frombuffer(streams[log_format.MESSAGES], np.uint8)
    m_end = np.flatnonzero(mbuf == NEWLINE)
    n_msg = p["n_messages"]
    if m_end.size != n_msg or (mbuf.size and mbuf[-1] != NEWLINE):
        raise FormatError(f"log: messages stream does not hold {n_msg} newline-ended items")
    # the lines as they are with TAIL in place of each message
    headed_len = raw_len - mbuf.size + 2 * n_msg
    if headed_len < 0 or headed_len > MAX_BLOCK:
        return None if headed_len > MAX_BLOCK else _bad_size(raw_len)
    lb = NumpyLogBlock(base, params, headed_len)
    if lb.ids is None:
        return None
    rendered = lb.render(np.ones(lb.n_lines, np.bool_))
    if rendered is None:
        return None
    text, starts = rendered
    n = lb.n_lines
    tmpl_len = lb.tmpl_e - lb.tmpl_s
    tail_t = np.zeros(lb.tmpl_s.size, np.bool_)
    has = np.flatnonzero(tmpl_len > 0)
    tail_t[has] = lb.tbuf[lb.tmpl_e[has] - 1] == log_format.TAIL
    tail_t[0] = False
    tails = np.flatnonzero(tail_t[lb.ids])
    if tails.size != n_msg:
        raise FormatError(f"log: {tails.size} lines end in a message, params say {n_msg}")
    next_start = np.append(starts[1:], text.size)
    with_nl = (np.arange(n) < n - 1) | lb.final_newline
    tail_at = (next_start - with_nl)[tails] - 1
    # text pieces between the TAILs, each followed by its message
    m_start = np.zeros(n_msg, np.int64)
    if n_msg:
        m_start[1:] = m_end[:-1] + 1
    seg_start = np.empty(2 * n_msg + 1, np.int64)
    seg_len = np.empty(2 * n_msg + 1, np.int64)
    piece_start = np.concatenate(([0], tail_at + 1))
    piece_end = np.concatenate((tail_at, [text.size]))
    seg_start[0::2], seg_len[0::2] = piece_start, piece_end - piece_start
    seg_start[1::2], seg_len[1::2] = text.size + m_start, m_end - m_start
    if int(seg_len.sum()) != raw_len:
        return _bad_size(raw_len)
    src = np.concatenate((text, mbuf))
    return src[_ranges(seg_start, seg_len)].tobytes()


def _bad_size(raw_len: int):
    raise FormatError(f"log: streams decode to an inconsistent block, expected {raw_len} bytes")
