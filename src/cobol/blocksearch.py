"""The searches of :func:`cobol.logsearch.grep` inside log blocks (transform
60, :mod:`cobol.layers.log_numpy`) and l1 blocks (transform 50,
:mod:`cobol.layers.l1_numpy`), with NumPy; see :mod:`cobol.logsearch` for
what is decoded when. Separate from it so that a search of frames without
such blocks never imports NumPy."""

from __future__ import annotations

import re
import sys

import numpy as np

from .errors import CobolError, FormatError
from .format.frame import DataBlock, check_block_checksum
from .layers import l1_numpy, log_format
from .linesearch import BlockLines, text_block
from .logskip import block_delimiters, cannot_match, delimiter_pieces, find_positions, searchable, stream_search, unmatched_log_block

_BlockLines = BlockLines


def _select_lines(text: np.ndarray, idx: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                  m, invert: bool) -> list:
    """(index, bytes) of the lines (given by index and span in ``text``) that match, or with invert do not.

    The block pattern's matches are placed on lines with one searchsorted for
    all of them: a match inside one line's span selects it (a MULTILINE match
    within [start, end] is found by the line's own search too: the bytes
    around it that ``^ $ \\b`` look at are a newline or the text's edge
    either way); only lines that a match runs across are searched on their
    own. (Two scalar searchsorted calls per match were most of a search for
    a string in a fifth of 970,000 lines.)"""
    if idx.size == 0:
        return []
    raw = text.tobytes() if isinstance(text, np.ndarray) else bytes(text)
    spans = [mo.span() for mo in m.block.finditer(raw)]
    hit = np.zeros(idx.size, np.bool_)
    if spans:
        ms, me = np.array(spans, np.int64).T
        a = np.searchsorted(starts, ms, "right") - 1
        b = np.searchsorted(starts, np.maximum(me - 1, ms), "right") - 1
        inside = (a == b) & (a >= 0) & (me <= ends[np.maximum(a, 0)])
        hit[a[inside]] = True
        search = m.block.search
        for i in np.flatnonzero(~inside).tolist():
            for k in range(max(int(a[i]), 0), max(int(b[i]), int(a[i]), 0) + 1):
                if not hit[k] and search(raw, int(starts[k]), int(ends[k])) is not None:
                    hit[k] = True
    keep = np.flatnonzero(~hit if invert else hit)
    return [(k, raw[s:e]) for k, s, e in zip(idx[keep].tolist(), starts[keep].tolist(), ends[keep].tolist())]


#: a fixed string's pieces with digits are looked for in a log block's rendered
#: variables (exact) instead of selecting the lines whose skeletons may hold
#: them (logskip.skeleton_pattern) when those skeletons are more than a
#: RENDER_VARIABLES_SHARE-th of the block's lines: rendering the variables
#: costs about what rendering that share of the lines does
RENDER_VARIABLES_SHARE = 4


def _log_candidates(lb, m, found: tuple | None = None) -> np.ndarray | None:
    """Lines of a log block that may hold one of the fixed strings, or None
    when every line must be looked at. ``found``: the block's
    :func:`cobol.logskip.stream_search`, when already made."""
    strings = m.fixed
    if not searchable(strings):
        return None
    if found is None:
        found = stream_search(lb.streams, m, lb.delimiters)
    in_templates, _, exact, loose, digits_only = found
    n_lines = lb.n_lines
    select = lb.ids == 0
    if in_templates and lb.tmpl_s.size > 1:
        # the templates stream: newline-ended templates, id 1 first
        pos = [mo.start() for mo in m.block.finditer(lb.tbuf.tobytes())]
        if pos:
            whole = np.zeros(lb.tmpl_s.size, np.bool_)
            whole[np.searchsorted(lb.tmpl_s[1:], np.array(pos, np.int64), "right")] = True
            select |= whole[lb.ids]
    pieces = {p for s in strings for p in delimiter_pieces(s, lb.delimiters)}
    if pieces and lb.ss.size:
        hits = [np.searchsorted(lb.ss, np.array(exact, np.int64), "right") - 1]
        if digits_only or len(loose) * RENDER_VARIABLES_SHARE > n_lines:
            # the variables rendered, for the pieces with digits: exact, and cheaper than
            # rendering most lines (a split column of times matches "10:13:07" as \x12:\x12:\x12)
            text, vstart = lb.variables()
            pos = _find_all(text, {p for p in pieces if re.search(rb"[0-9]", p)}, m.ignore_case)
            hits.append(np.searchsorted(vstart, pos, "right") - 1)
        elif loose:
            hits.append(np.searchsorted(lb.ss, np.array(loose, np.int64), "right") - 1)
        v = np.concatenate(hits) if hits else np.zeros(0, np.int64)
        if v.size:
            select[lb.var_lines(v)] = True
    return select


def _find_all(text, pieces, ignore_case: bool) -> np.ndarray:
    """:func:`cobol.logskip.find_positions` on bytes or a uint8 array, as an int64 array."""
    raw = text.tobytes() if isinstance(text, np.ndarray) else bytes(text)
    return np.array(find_positions(raw, pieces, ignore_case), np.int64)


def _log_block(lb, m, invert: bool, found: tuple | None = None) -> _BlockLines:
    n = lb.n_lines
    select = None if invert or m.fixed is None else _log_candidates(lb, m, found)
    if select is None:
        select = np.ones(n, np.bool_)
    hits = []
    if select.any():
        text, starts = lb.render(select)
        idx = np.flatnonzero(select)
        s = starts[idx]
        e = np.append(s[1:] - 1, len(text))
        if idx[-1] < n - 1 or lb.final_newline:
            e[-1] -= 1
        hits = _select_lines(text, idx, s, e, m, invert)

    def line(k: int) -> bytes:
        one = np.zeros(n, np.bool_)
        one[k] = True
        text = lb.render(one)[0].tobytes()
        return text[:-1] if text.endswith(b"\n") else text

    return _BlockLines(n, lb.final_newline, lambda: line(0), lambda: line(n - 1), hits)


def canonical_log_streams(streams: list, rec: DataBlock) -> list:
    """A log block's streams as versions 1-2 have them (version 4's
    move-to-front coded skeletons expanded: :func:`log_format.canonical_streams`),
    errors named by block."""
    try:
        return log_format.canonical_streams(streams, rec.params, rec.raw_len)
    except CobolError as exc:
        raise type(exc)(f"block {rec.seq}: {exc}") from None


class LogLines:
    """A log block to search: read with NumPy (:mod:`cobol.layers.log_numpy`,
    no Numba) when it can, else, or for what the NumPy reader leaves to them
    (int layouts, large selections), with the kernels' LogBlock, imported and
    built on first need. Offers what _log_block and _log_candidates use."""

    def __init__(self, streams: list, rec: DataBlock):
        from .layers import log_numpy  # (its import, ~40 ms, only where a log block is searched)
        self._log_numpy = log_numpy
        self.streams, self._rec = streams, rec
        self.delimiters = block_delimiters(rec)
        self._kernel_block = None
        self.fast = self._guard(lambda: log_numpy.read_log_block(streams, rec.params, rec.raw_len))
        lb = self.fast or self.kernel_block()
        self.n_lines, self.final_newline, self.ids = lb.n_lines, lb.final_newline, lb.ids
        self.tbuf, self.tmpl_s, self.sbuf, self.ss = lb.tbuf, lb.tmpl_s, lb.sbuf, lb.ss

    def _guard(self, read):
        """read(), its errors named by block; an IndexError or the like from
        hostile streams the NumPy reader's checks missed becomes a FormatError
        (as the engine's safety net does for a transform's decoder)."""
        try:
            return read()
        except CobolError as exc:
            raise type(exc)(f"block {self._rec.seq}: {exc}") from None
        except (IndexError, ValueError, TypeError, OverflowError, ArithmeticError) as exc:
            raise FormatError(f"block {self._rec.seq}: corrupt log streams ({type(exc).__name__}: {exc})") from None

    def kernel_block(self):
        if self._kernel_block is None:
            from .layers import l2_log  # its Numba kernels load here, only when the NumPy reader cannot do it
            self._kernel_block = self._guard(lambda: l2_log.LogBlock(self.streams, self._rec.params, self._rec.raw_len))
        return self._kernel_block

    def var_lines(self, v: np.ndarray) -> np.ndarray:
        """The lines of variables ``v``."""
        if self.fast:
            return self._guard(lambda: self.fast.var_lines(v))
        return self.kernel_block().var_lines()[v]

    def variables(self):
        got = self._guard(self.fast.variables) if self.fast else None
        return got if got is not None else self.kernel_block().variables()

    def render(self, select: np.ndarray):
        got = None
        if self.fast and self.fast.render_estimate(select) <= self._log_numpy.MAX_RENDER:
            got = self._guard(lambda: self.fast.render(select))
        return got if got is not None else self.kernel_block().render(select)


def log_line_renderer(streams: list, rec: DataBlock):
    """line(k): line k of a log block without its newline (the block read once, on the first call)."""
    parsed = []

    def line(k: int) -> bytes:
        if not parsed:
            parsed.append(LogLines(streams, rec))
        lb = parsed[0]
        one = np.zeros(lb.n_lines, np.bool_)
        one[k] = True
        text = lb.render(one)[0].tobytes()
        return text[:-1] if text.endswith(b"\n") else text

    return line


#: l1 blocks decoded whole (regular expressions, -v, anchorless strings) go
#: through NumPy up to this many bytes in all (one search), then through the
#: Numba decoder, whose start-up (~0.5 s of CPU) is what NumPy takes for ~5 MB
#: (measured 90 ms per MB)
L1_NUMPY_WHOLE = 4 << 20


def l1_reader(rec: DataBlock, streams: list):
    """The NumPy reader of an l1 block whose streams were checked once (its errors named by block)."""
    try:
        return l1_numpy.L1Block(streams, rec.raw_len)
    except CobolError as exc:
        raise type(exc)(f"block {rec.seq}: {exc}") from None


def _l1_block(rec: DataBlock, header, source, m, invert: bool, streams=None) -> _BlockLines:
    """An l1 block: with a fixed string, only the lines whose code holds one
    of its anchors (:meth:`cobol.layers.l1_numpy.L1Block.candidate_lines`)
    are decoded, by NumPy; otherwise the whole block (checksum verified)."""
    if streams is None:
        streams = source.streams(rec, header, l1_numpy.STREAM_BOUND)
    where = f"block {rec.seq}"
    try:
        if rec.params:
            raise FormatError(f"l1: expects no params, got {len(rec.params)} bytes")
        blk = l1_numpy.L1Block(streams, rec.raw_len)
        select = None
        if not invert and m.fixed is not None and searchable(m.fixed):
            select = blk.candidate_lines(m.fixed, m.ignore_case)
        if select is None:
            spent = getattr(source, "l1_numpy_whole", 0) + rec.raw_len
            if spent > L1_NUMPY_WHOLE or "cobol.layers.l1_semantic" in sys.modules:
                return text_block(source.decode(rec, header), m, invert)
            source.l1_numpy_whole = spent
            raw = blk.render_all().tobytes()
            check_block_checksum(header, rec, raw, where)
            return text_block(raw, m, invert)
        ends_nl = blk.final_newline
        if not select.size and rec.raw_len:  # nothing can match: lines counted only if numbers are asked for
            n_lazy = (lambda: blk.n_lines)
            return _BlockLines(n_lazy, ends_nl, lambda: _l1_line(blk, 0), lambda: _l1_line(blk, blk.n_lines - 1), [],
                               blk.has_newline())
        n = blk.n_lines
        hits = []
        if select.size:
            text = blk.render_lines(select)
            nl = np.flatnonzero(text == 10)
            partial = int(select[-1]) == n - 1 and not ends_nl
            if nl.size != select.size - partial:
                raise FormatError("l1: a line's code decodes to a wrong number of lines")
            e = np.append(nl, text.size) if partial else nl
            s = np.zeros(select.size, np.int64)
            s[1:] = e[:-1] + 1
            hits = _select_lines(text, select, s, e, m, invert)
    except CobolError as exc:
        raise type(exc)(f"{where}: {exc}") from None
    except (IndexError, ValueError, TypeError, OverflowError, ArithmeticError) as exc:
        raise FormatError(f"{where}: corrupt l1 streams ({type(exc).__name__}: {exc})") from None

    return _BlockLines(n, ends_nl, lambda: _l1_line(blk, 0), lambda: _l1_line(blk, n - 1), hits)


def _l1_line(blk, k: int) -> bytes:
    """Line k of an l1 block, without its newline."""
    text = blk.render_lines(np.array([k], np.int64)).tobytes()
    return text[:-1] if text.endswith(b"\n") else text




def search_block(rec: DataBlock, header, source, m, invert: bool, streams=None) -> BlockLines:
    """The lines of a log or l1 block that ``m`` selects. ``source`` gives a
    block's entropy-decoded streams (``streams(rec, header, bound)``) and its
    checked bytes (``decode(rec, header)``); ``streams``: the block's, when
    the caller has decoded them already."""
    if rec.transform == log_format.TRANSFORM_ID:
        if streams is None:
            streams = source.streams(rec, header, log_format.STREAM_BOUND)
        found = None
        if len(streams) in (len(log_format.STREAM_NAMES), len(log_format.STREAM_NAMES_REFS)) and not invert:
            # (a version-4 block's stored skeletons hold every distinct
            # skeleton: ruled out on them, it is ruled out without expanding them)
            found = stream_search(streams, m, block_delimiters(rec))
            if cannot_match(streams, m, found):
                return unmatched_log_block(streams, rec, log_line_renderer(streams, rec))
        canon = canonical_log_streams(streams, rec)
        if canon is not streams and found is not None:
            found = stream_search(canon, m, block_delimiters(rec))
        return search_log_block(canon, rec, m, invert, found)
    return _l1_block(rec, header, source, m, invert, streams)


def search_log_block(streams: list, rec: DataBlock, m, invert: bool, found: tuple | None = None) -> BlockLines:
    """The lines of a log block (its entropy-decoded ``streams``) that ``m``
    selects; ``found``: the block's :func:`cobol.logskip.stream_search`, when
    already made."""
    return _log_block(LogLines(streams, rec), m, invert, found)


TRANSFORMS = (log_format.TRANSFORM_ID, l1_numpy.TRANSFORM_ID)
