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
from .logskip import (block_delimiters, cannot_match, delimiter_pieces, find_positions, message_suffixes, searchable,
                      stream_search, tails_after_space, unmatched_log_block)

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


#: a version-5 block whose candidate lines are more than this share of its
#: lines is rendered whole instead (one gather, then the checksum is checked)
MESSAGE_CANDIDATE_SHARE = 0.25


#: a version-6 block whose messages' word codes may hold a string in more
#: than this share of its messages has all its messages decoded and searched
#: (as before branch log-ratio11) instead of the candidates alone
MESSAGE_WORDS_DECODE_SHARE = 0.25


def _message_hits(messages: bytes, strings, suffixes, ignore_case: bool, starts: np.ndarray | None = None) -> np.ndarray:
    """Indices of the newline-ended messages that hold one of ``strings`` or
    start with one of ``suffixes`` (``starts``: each message's offset, when known)."""
    if starts is None:
        ends = np.flatnonzero(np.frombuffer(messages, np.uint8) == 10)
        starts = np.zeros(ends.size, np.int64)
        starts[1:] = ends[:-1] + 1
    pos = find_positions(messages, set(strings), ignore_case)
    starts_with = {b"\n" + x for x in suffixes}
    first = []
    if starts_with:
        pos += [q + 1 for q in find_positions(messages, starts_with, ignore_case)]
        head = messages[:max(map(len, starts_with))]
        head = head.lower() if ignore_case else head
        first = [0] if any(head.startswith((x.lower() if ignore_case else x)[1:]) for x in starts_with) else []
    return np.searchsorted(starts, np.array(pos + first, np.int64), "right") - 1


class _Declined(Exception):
    """The NumPy reader leaves this version-5 block to the whole-block path."""


class _HeadedLines(LogLines):
    """The lines of a version-5 block with each message replaced by its
    template's TAIL (the block :func:`cobol.layers.log_numpy.render_messages_block`
    renders before it puts the messages in), read with NumPy only: where the
    NumPy reader would hand over to the kernels (whose LogBlock refuses
    version 5) the search declines to the whole-block path."""

    def __init__(self, lb, streams: list, rec: DataBlock):
        from .layers import log_numpy
        self._log_numpy = log_numpy
        self.streams, self._rec = streams, rec
        self.delimiters = block_delimiters(rec)
        self._kernel_block = None
        self.fast = lb
        self.n_lines, self.final_newline, self.ids = lb.n_lines, lb.final_newline, lb.ids
        self.tbuf, self.tmpl_s, self.sbuf, self.ss = lb.tbuf, lb.tmpl_s, lb.sbuf, lb.ss

    def kernel_block(self):
        raise _Declined


def search_message_block(streams: list, rec: DataBlock, m, decode_whole) -> BlockLines | None:
    """The lines of a params-version-5 or 6 log block (messages cut off its
    lines) that the fixed strings of ``m`` select, rendering only the lines
    that may hold one; None where the whole-block path must do it (a
    regular expression, a string holding LF, 0x11, 0x12 or TAIL, a block the
    NumPy reader leaves to the kernels, or candidates above
    MESSAGE_CANDIDATE_SHARE of the lines).

    An occurrence lies (1) in a line's header (the line with TAIL in place
    of its message): the candidates of a version-2 block's search on the
    header streams (templates, variables, raw lines); (2) in the message: the
    messages stream holds the string there; or (3) across both: the header
    ends with the space the line was cut after, so the message starts with
    the part of the string after one of its spaces (:func:`cobol.logskip.message_suffixes`).
    The candidates are rendered (headers by the NumPy gather, then each TAIL
    replaced by the message) and matched line by line. As for other log
    blocks searched in part, the block is not checked against its checksum.
    ``decode_whole()``: the block's bytes, checksum checked, for a first or
    last line (cut between blocks) the NumPy reader cannot render alone.

    Version 6 (messages word coded): the messages whose word codes may hold
    a string or one of those ends (:meth:`cobol.layers.l1_numpy.L1Block.candidate_lines`,
    a superset found without decoding) are decoded (``render_lines``) and
    looked at as version 5's messages are (more than MESSAGE_WORDS_DECODE_SHARE
    of them, or a string no anchor selects: every message decoded and searched);
    a selected line's message is decoded the same way.
    Before (branch log-ratio10) every message of the block was decoded first:
    ~70 ms of NumPy for gdb's check.log (950 KB of messages)."""
    from .layers import log_numpy
    strings = m.fixed
    if strings is None or not searchable(strings) or any(log_format.TAIL in s for s in strings):
        return None
    try:
        p = log_format.parse_params(rec.params, rec.raw_len)
        if not p["messages"] or len(streams) != log_format.stream_count(p):
            raise FormatError(f"log: expects a version-5 block's {len(log_format.STREAM_NAMES_MESSAGES)} streams")
        base = list(streams[:log_format.REFS])
        if p["refs"]:
            base[log_format.SKELETONS] = log_format.expand_skeletons(
                bytes(streams[log_format.SKELETONS]), bytes(streams[log_format.REFS]), p["n_vars"], rec.raw_len)
        elif len(streams[log_format.REFS]):
            raise FormatError("log: a refs stream without flag bit 1")
        n_msg = p["n_messages"]
        params = rec.params
        if p["words"]:
            # version 6: the messages stay word coded; only those a selected line needs are decoded
            words = l1_numpy.L1Block([bytes(streams[log_format.MESSAGES_DICT]),
                                      bytes(streams[log_format.MESSAGES_WORDS])], p["message_bytes"])
            w_ends = words.line_ends()
            if w_ends.size != n_msg or (words.src.size and w_ends[-1] != words.src.size - 1) \
                    or (n_msg and not words.src.size):
                raise FormatError(f"log: messages words do not hold {n_msg} newline-ended items")
            message_bytes = p["message_bytes"]
            params = log_format.version5_params(params)
            messages = mbuf = m_start = m_end = None
        else:
            words = None
            messages = bytes(streams[log_format.MESSAGES])
            mbuf = np.frombuffer(messages, np.uint8)
            m_end = np.flatnonzero(mbuf == 10)
            if m_end.size != n_msg or (mbuf.size and mbuf[-1] != 10):
                raise FormatError(f"log: messages stream does not hold {n_msg} newline-ended items")
            message_bytes = mbuf.size
        headed_len = rec.raw_len - message_bytes + 2 * n_msg
        if headed_len < 0:
            raise FormatError(f"log: streams decode to an inconsistent block, expected {rec.raw_len} bytes")
        if headed_len > log_numpy.MAX_BLOCK:
            return None
        lb = log_numpy.read_log_block(base, params, headed_len)
    except CobolError as exc:
        raise type(exc)(f"block {rec.seq}: {exc}") from None
    except (IndexError, ValueError, TypeError, OverflowError, ArithmeticError) as exc:
        raise FormatError(f"block {rec.seq}: corrupt log streams ({type(exc).__name__}: {exc})") from None
    if lb is None:
        return None
    headed = _HeadedLines(lb, base, rec)
    # the tail templates (last byte TAIL) and each line's message
    tmpl_len = lb.tmpl_e - lb.tmpl_s
    tail_t = np.zeros(lb.tmpl_s.size, np.bool_)
    has = np.flatnonzero(tmpl_len > 0)
    tail_t[has] = lb.tbuf[lb.tmpl_e[has] - 1] == log_format.TAIL
    tail_t[0] = False
    tail_line = tail_t[lb.ids]
    n = lb.n_lines
    if int(np.count_nonzero(tail_line)) != n_msg:
        raise FormatError(f"block {rec.seq}: log: {int(np.count_nonzero(tail_line))} lines end in a message, "
                          f"params say {n_msg}")
    try:
        select = _log_candidates(headed, m, stream_search(base, m, headed.delimiters))
        # messages holding a string, or starting with the end of one
        suffixes = message_suffixes(strings, not tails_after_space(bytes(base[log_format.TEMPLATES])))
        msg = None
        if words is not None:
            # version 6: the messages whose word codes may hold a string or one of those
            # ends (a superset, found without decoding), decoded and looked at as version 5's
            cap = int(MESSAGE_WORDS_DECODE_SHARE * n_msg)
            maybe = words.candidate_lines(list(strings) + sorted(suffixes), m.ignore_case, cap)
            if maybe is not None and maybe.size <= cap:
                maybe = maybe[maybe < n_msg]
                msg = np.zeros(0, np.int64)
                if maybe.size:
                    got = words.render_lines(maybe)
                    if int(np.count_nonzero(got == 10)) != maybe.size or got[-1] != 10:
                        raise FormatError("log: a word-coded message does not decode to one line")
                    msg = maybe[_message_hits(got.tobytes(), strings, suffixes, m.ignore_case)]
            else:
                # too many candidates (short strings, common words): every message
                # decoded, then searched as version 5's
                messages = words.render_all().tobytes()
                words = None
                mbuf = np.frombuffer(messages, np.uint8)
                m_end = np.flatnonzero(mbuf == 10)
                if m_end.size != n_msg or (mbuf.size and mbuf[-1] != 10):
                    raise FormatError(f"log: messages do not hold {n_msg} newline-ended items")
        if words is None:
            m_start = np.zeros(n_msg, np.int64)
            if n_msg:
                m_start[1:] = m_end[:-1] + 1
            msg = _message_hits(messages, strings, suffixes, m.ignore_case, m_start)
        if msg.size:
            select[np.flatnonzero(tail_line)[msg]] = True
        if np.count_nonzero(select) > MESSAGE_CANDIDATE_SHARE * n:
            return None
        msg_of_line = np.cumsum(tail_line) - 1

        def message_spans(k: np.ndarray):
            """(bytes, start, length) of messages ``k`` (increasing indices)."""
            if words is None:
                return mbuf, m_start[k], m_end[k] - m_start[k]
            got = words.render_lines(k)
            ends = np.flatnonzero(got == 10)
            if ends.size != k.size or (got.size and got[-1] != 10):
                raise FormatError("log: a word-coded message does not decode to one line")
            starts = np.zeros(k.size, np.int64)
            starts[1:] = ends[:-1] + 1
            return got, starts, ends - starts

        def lines(sel_mask: np.ndarray):
            """(text, line indices, starts, ends) of the selected lines with their messages in place."""
            text, starts = headed.render(sel_mask)
            idx = np.flatnonzero(sel_mask)
            s = starts[idx]
            e = np.append(s[1:] - 1, len(text))
            if idx.size and (idx[-1] < n - 1 or lb.final_newline):
                e[-1] -= 1
            tl = tail_line[idx]
            if not tl.any():
                return text, idx, s, e
            if (text[e[tl] - 1] != log_format.TAIL).any():
                raise FormatError("log: a tail template's line does not end in TAIL")
            k = msg_of_line[idx[tl]]
            mbytes, k_start, k_len = message_spans(k)
            # segments per line: its header (without the TAIL), its message (tail lines), its newline
            # (every line gets a newline here, the last one too: the ends exclude it)
            head_len = e - s - tl.astype(np.int64)
            seg_start = np.stack((s, np.zeros(idx.size, np.int64), np.full(idx.size, text.size + mbytes.size)), 1)
            seg_len = np.stack((head_len, np.zeros(idx.size, np.int64), np.ones(idx.size, np.int64)), 1)
            seg_start[tl, 1] = text.size + k_start
            seg_len[tl, 1] = k_len
            src = np.concatenate((text, mbytes, np.array([10], np.uint8)))
            out = src[log_numpy._ranges(seg_start.ravel(), seg_len.ravel())]
            line_len = seg_len.sum(1)
            new_s = np.zeros(idx.size, np.int64)
            np.cumsum(line_len[:-1], out=new_s[1:])
            return out, idx, new_s, new_s + line_len - 1

        hits = []
        if select.any():
            text, idx, s, e = lines(select)
            hits = _select_lines(text, idx, s, e, m, False)
    except _Declined:
        return None
    except CobolError as exc:
        raise type(exc)(f"block {rec.seq}: {exc}") from None
    except (IndexError, ValueError, TypeError, OverflowError, ArithmeticError) as exc:
        raise FormatError(f"block {rec.seq}: corrupt log streams ({type(exc).__name__}: {exc})") from None

    def line(k: int) -> bytes:
        one = np.zeros(n, np.bool_)
        one[k] = True
        try:
            text, _, s, e = lines(one)
        except _Declined:  # (the numbers need the kernels: the block decoded whole)
            whole = decode_whole().split(b"\n")
            return whole[k]
        return text[int(s[0]):int(e[0])].tobytes()

    return BlockLines(n, lb.final_newline, lambda: line(0), lambda: line(n - 1), hits)
