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
template byte, a variable's text, a raw line, a newline), each a range of one
source array (templates, rendered variables, raw lines, a newline byte laid
end to end); the output is that source indexed by the concatenated ranges.
Variables are rendered the same way from their skeletons and the digit
chunks' decimal digits. Memory is a few int64 arrays per output byte, so
:func:`read_log_block` takes blocks of at most :data:`MAX_BLOCK` bytes, and
the caller renders selections of more than :data:`MAX_RENDER` bytes with the
kernels. The checks are LogBlock's (every failed one a FormatError).

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
#: blocks above this many bytes go to the kernels (their start-up is then a
#: small share of the work, and the gathers here would need GBs)
MAX_BLOCK = 16 << 20
#: selections estimated above this many output bytes are rendered by the kernels
MAX_RENDER = 4 << 20
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


def _count_in_run(flags: np.ndarray, lengths: np.ndarray, run_of: np.ndarray) -> np.ndarray:
    """For each element of runs laid end to end (``lengths``; ``run_of``: each
    element's run), how many flagged elements come before it in its run."""
    before = np.zeros(flags.size + 1, np.int64)
    np.cumsum(flags, out=before[1:])
    return before[:-1] - before[_exclusive_cumsum(lengths)[:-1]][run_of]


def _items(stream, count: int, what: str, marker: int = NEWLINE):
    """(bytes, starts, ends, marker counts) of a stream of ``count`` newline-ended items."""
    buf = np.frombuffer(stream, np.uint8)
    e = np.flatnonzero(buf == NEWLINE)
    if e.size != count or (buf.size and buf[-1] != NEWLINE):
        raise FormatError(f"log: {what} stream does not hold {count} newline-ended items")
    s = np.zeros(count, np.int64)
    s[1:] = e[:-1] + 1
    marks = np.flatnonzero(buf == marker)
    return buf, s, e.astype(np.int64), np.searchsorted(marks, e) - np.searchsorted(marks, s)


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
        self.tbuf, ts, te, slots = _items(streams[log_format.TEMPLATES], n_t, "templates", PLACEHOLDER)
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
        self.sbuf, self.ss, self.se, runs = _items(streams[log_format.SKELETONS], p["n_vars"], "skeletons", NUMBER)
        self.num_start = _exclusive_cumsum(runs)
        n_num = p["n_numbers"]
        if self.num_start[-1] != n_num:
            raise FormatError(f"log: skeletons hold {int(self.num_start[-1])} numbers, params say {n_num}")
        if len(streams[log_format.WIDTHS]) != n_num:
            raise FormatError(f"log: {len(streams[log_format.WIDTHS])} chunk widths for {n_num} numbers")
        self._numbers_stream, self._widths_stream, self._runs = streams[log_format.NUMBERS], streams[log_format.WIDTHS], runs
        self._values = self._widths = None
        self.rbuf, self.rs, self.re, _ = _items(streams[log_format.RAW], p["n_raw"], "raw")
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

    def var_lines(self) -> np.ndarray:
        """The line of each variable (column order)."""
        n_vars = self.ss.size
        col = np.repeat(np.arange(self.per_col.size, dtype=np.int64), self.per_col)
        k = np.arange(n_vars, dtype=np.int64) - self.col_start[col]
        out = np.empty(n_vars, np.int64)
        own = col < self.n_own
        col_t = np.repeat(np.arange(1, self.n_common + 1, dtype=np.int64), self.slots[1:self.n_common + 1])
        out[own] = self._by_template[self._t_first[col_t[col[own]]] + k[own]]
        if not own.all():
            shared = np.flatnonzero(self.ids > self.n_common)
            out[~own] = np.repeat(shared, self.slots[self.ids[shared]])[k[~own]]
        return out

    def _render_vars(self, v: np.ndarray, newline: bool) -> tuple[np.ndarray, np.ndarray] | None:
        """(texts of variables ``v``, each followed by a newline when asked; start of each, one extra at the end)."""
        nums = self.numbers()
        if nums is None:
            return None
        values, widths = nums
        lens = self.se[v] - self.ss[v]
        pos = _ranges(self.ss[v], lens)
        var_of = np.repeat(np.arange(v.size, dtype=np.int64), lens)
        is_num = self.sbuf[pos] == NUMBER
        chunk = (self.num_start[v][var_of] + _count_in_run(is_num, lens, var_of))[is_num]
        w = widths[chunk].astype(np.int64)
        x = values[chunk]
        if w.size and (w.min() < 1 or w.max() > 18 or x.min() < 0
                       or (x.view(np.uint64) >= _POW10[w]).any()):
            raise FormatError("log: a number that does not fit its width")
        digit_first = _exclusive_cumsum(w)
        c_of = np.repeat(np.arange(w.size, dtype=np.int64), w)
        place = w[c_of] - 1 - (np.arange(int(digit_first[-1]), dtype=np.int64) - digit_first[:-1][c_of])
        digits = ((x.view(np.uint64)[c_of] // _POW10[place]) % np.uint64(10) + np.uint64(48)).astype(np.uint8)
        # segments: a literal skeleton byte (1 byte) or a chunk's digits, then the optional newline per variable
        src = np.concatenate((self.sbuf, digits, np.array([NEWLINE], np.uint8)))
        seg_start = pos.copy()
        seg_len = np.ones(pos.size, np.int64)
        seg_start[is_num] = self.sbuf.size + digit_first[:-1]
        seg_len[is_num] = w
        seg_var = var_of
        if newline:
            order = np.argsort(np.concatenate((var_of, np.arange(v.size))), kind="stable")
            seg_start = np.concatenate((seg_start, np.full(v.size, src.size - 1)))[order]
            seg_len = np.concatenate((seg_len, np.ones(v.size, np.int64)))[order]
            seg_var = np.concatenate((var_of, np.arange(v.size)))[order]
        text = src[_ranges(seg_start, seg_len)]
        per_var = np.zeros(v.size, np.int64)
        np.add.at(per_var, seg_var, seg_len)
        return text, _exclusive_cumsum(per_var)

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
        # template lines: their template bytes, each a segment (a placeholder: a variable's text)
        tl = np.flatnonzero(t > 0)
        tlen = self.tmpl_e[t[tl]] - self.tmpl_s[t[tl]]
        tpos = _ranges(self.tmpl_s[t[tl]], tlen)
        tline = np.repeat(tl, tlen)  # index into sel
        is_ph = self.tbuf[tpos] == PLACEHOLDER
        slot = _count_in_run(is_ph, tlen, np.repeat(np.arange(tl.size), tlen))[is_ph]
        li = sel[tline[is_ph]]
        lt = ids[li]
        common = lt <= self.n_common
        var = np.where(common,
                       self.col_start[np.minimum(self.slot_base[lt] + slot, self.per_col.size - 1)] + self._rank[li],
                       self.col_start[min(self.n_own, self.per_col.size)] + self._shared_first[li] + slot)
        if var.size and (var.min() < 0 or var.max() >= self.ss.size):
            raise FormatError("log: inconsistent variables")
        uvar, inverse = np.unique(var, return_inverse=True)
        rendered = self._render_vars(uvar, False)
        if rendered is None:
            return None
        vtext, vstart = rendered
        # raw lines: the k-th raw line of the block is raw item k
        rl = np.flatnonzero(t == 0)
        raw_k = (np.cumsum(ids == 0) - 1)[sel[rl]]
        # sources end to end: templates, variable texts, raw lines, a newline
        v0, r0 = self.tbuf.size, self.tbuf.size + vtext.size
        nl = r0 + self.rbuf.size
        src = np.concatenate((self.tbuf, vtext, self.rbuf, np.array([NEWLINE], np.uint8)))
        t_start = tpos.copy()
        t_len = np.ones(tpos.size, np.int64)
        t_start[is_ph] = v0 + vstart[:-1][inverse]
        t_len[is_ph] = np.diff(vstart)[inverse]
        with_nl = np.flatnonzero((sel < n - 1) | self.final_newline)
        seg_line = np.concatenate((tline, rl, with_nl))
        seg_start = np.concatenate((t_start, r0 + self.rs[raw_k], np.full(with_nl.size, nl)))
        seg_len = np.concatenate((t_len, self.re[raw_k] - self.rs[raw_k], np.ones(with_nl.size, np.int64)))
        # per line: template bytes or the raw line, then the newline (a stable sort keeps each line's order)
        order = np.argsort(seg_line * 2 + np.concatenate((np.zeros(tline.size + rl.size, np.int64),
                                                          np.ones(with_nl.size, np.int64))), kind="stable")
        seg_line, seg_start, seg_len = seg_line[order], seg_start[order], seg_len[order]
        total = int(seg_len.sum())
        if total > self.raw_len or (sel.size == n and total != self.raw_len):
            raise FormatError(f"log: streams decode to an inconsistent block, expected {self.raw_len} bytes")
        text = src[_ranges(seg_start, seg_len)]
        per_line = np.zeros(sel.size, np.int64)
        np.add.at(per_line, seg_line, seg_len)
        starts = np.full(n, -1, np.int64)
        starts[sel] = _exclusive_cumsum(per_line)[:-1]
        return text, starts
