"""Search inside .cobl frames the way ``grep`` searches the decompressed text.

:func:`grep` selects the lines of the decompressed text that match (or, with
``invert``, do not match) a pattern, with grep's pattern syntax: basic
regular expressions by default, extended with ``extended=True``, fixed
strings with ``fixed=True``; several patterns separated by newlines match
when any does. Results are the lines grep prints, in order, with their line
numbers, identical to ``LC_ALL=C grep`` on the decompressed bytes (bytes are
bytes: ``-i`` folds ASCII letters only, ``.`` matches one byte).

On blocks the log transform wrote (:mod:`cobol.layers.l2_log`) a fixed-string
search decodes only what can match, as CLP does: the entropy-decoded streams
are searched first, templates (a template whose static text holds the string
selects all its lines without looking at their variables) and variable texts
(every occurrence that overlaps a variable holds a delimiter-free piece of the
string inside that variable, because variables never contain delimiter bytes;
the piece's longest run of non-digits is then a run of the variable's stored
skeleton),
and only the candidate lines are rendered and checked. On blocks of the L1
word transform (:mod:`cobol.layers.l1_numpy`) a fixed string's *anchors*
(its runs of letters, looked up in the block's word dictionary, and its runs
of other non-space bytes) are looked for in the coded stream, and only the
lines whose code holds one are decoded. Regular expressions and ``invert``
render the whole log or l1 block. Log and l1 blocks are read and rendered
with NumPy alone (:mod:`cobol.blocksearch`), so that a search does not pay
Numba's start-up (~0.5 s of CPU, most of a search of a few MB); the kernels
take over where those readers decline (and for whole l1 blocks over
:data:`cobol.blocksearch.L1_NUMPY_WHOLE`). Other blocks (raw: zstd, brotli)
are entropy-decoded and searched with ``re`` and bytes methods
(:mod:`cobol.linesearch`); a frame holding only such blocks (and no shared
dictionary) is searched without importing NumPy or the engine.
Lines cut between blocks are joined before they are matched.

Blocks that are searched without being fully rendered are not checked against
their checksum (``cobol -t`` does that); fully decoded blocks are.

>>> import cobol
>>> blob = cobol.compress(b"2026-12-05 10:00:01 start job 7\\n2026-12-05 10:00:02 job 7 failed\\n" * 40)
>>> r = grep(b"failed", blob, fixed=True)
>>> r.count, r.lines[0], r.numbers[:2]
(40, b'2026-12-05 10:00:02 job 7 failed', [2, 4])
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace

from .errors import CobolError, FormatError
from .format.frame import DataBlock, Limits, MetadataBlock, check_block_checksum, check_stream_table, iter_frame_records
from .layers.l1_stream import TRANSFORM_ID as _L1_TRANSFORM
from .layers import log_format as _log_format
from .layers.log_format import TRANSFORM_ID as _LOG_TRANSFORM
from .layers.raw import RawTransform
from .linesearch import BlockLines, text_block
from .searchindex import SEARCH_INDEX_TAG
from .searchindex import parse as _parse_index

_POSIX_CLASSES = {
    b"alpha": rb"a-zA-Z", b"digit": rb"0-9", b"alnum": rb"a-zA-Z0-9", b"upper": rb"A-Z", b"lower": rb"a-z",
    b"space": rb" \t\n\r\f\v", b"blank": rb" \t", b"punct": rb"!-/:-@\[-`{-~", b"print": rb" -~",
    b"graph": rb"!-~", b"cntrl": rb"\x00-\x1f\x7f", b"xdigit": rb"0-9A-Fa-f",
}


class PatternError(CobolError, ValueError):
    """A pattern grep would reject (exit status 2)."""


def _bracket(p: bytes, i: int) -> tuple[bytes, int]:
    """A POSIX bracket expression starting at p[i] == '[' as a Python class; returns (class, next index)."""
    j = i + 1
    out = bytearray(b"[")
    if j < len(p) and p[j:j + 1] == b"^":
        out += b"^"
        j += 1
    first = True
    while j < len(p):
        c = p[j:j + 1]
        if c == b"]" and not first:
            out += b"]"
            return bytes(out), j + 1
        first = False
        if p.startswith(b"[:", j):
            end = p.find(b":]", j + 2)
            name = p[j + 2:end] if end >= 0 else b""
            if name not in _POSIX_CLASSES:
                raise PatternError(f"invalid character class {name!r}")
            out += _POSIX_CLASSES[name]
            j = end + 2
            continue
        if p.startswith(b"[=", j) or p.startswith(b"[.", j):
            close = p[j + 1:j + 2] + b"]"
            end = p.find(close, j + 2)
            if end < 0:
                raise PatternError("unterminated equivalence class")
            out += re.escape(p[j + 2:end])
            j = end + 2
            continue
        if c == b"-":
            out += b"-"
        else:
            out += re.escape(c)
        j += 1
    raise PatternError("unmatched [")


def translate(pattern: bytes, extended: bool) -> bytes:
    """A grep basic (BRE) or extended (ERE) regular expression as a Python ``re`` pattern (GNU extensions
    ``\\w \\W \\s \\S \\b \\B \\< \\>`` and BRE ``\\+ \\? \\|`` included)."""
    out = bytearray()
    i = 0
    n = len(pattern)
    depth = 0
    while i < n:
        c = pattern[i:i + 1]
        at_start = not out or out.endswith(b"(") or out.endswith(b"|") or out == b"^"
        if c == b"\\":
            if i + 1 >= n:
                raise PatternError("trailing backslash")
            d = pattern[i + 1:i + 2]
            i += 2
            if d in b"wWsSbB" or d.isdigit() and d != b"0":
                out += b"\\" + d
            elif d == b"<":
                out += rb"\b(?=\w)"
            elif d == b">":
                out += rb"\b(?<=\w)"
            elif not extended and d in (b"(", b")", b"{", b"}", b"|", b"+", b"?"):
                if d == b"(":
                    depth += 1
                elif d == b")":
                    if depth == 0:
                        raise PatternError("unmatched \\)")
                    depth -= 1
                out += d
            else:
                out += re.escape(d)
            continue
        if c == b"[":
            cls, i = _bracket(pattern, i)
            out += cls
            continue
        i += 1
        if extended:
            if c == b"(":
                depth += 1
                out += c
            elif c == b")":
                if depth == 0:
                    out += b"\\)"  # GNU grep -E takes an unmatched ) literally
                else:
                    depth -= 1
                    out += c
            elif c in (b"*", b"+", b"?") and at_start:
                out += b"\\" + c
            elif c == b"{" and (at_start or not re.match(rb"\d*(,\d*)?\}", pattern[i:])):
                out += b"\\{"
            elif c in b"^$.|{}*+?":
                out += c
            else:
                out += re.escape(c)
        else:
            if c == b"*" and at_start:
                out += b"\\*"
            elif c == b"^" and not at_start:
                out += b"\\^"
            elif c == b"$" and not (i == n or pattern.startswith(b"\\)", i) or pattern.startswith(b"\\|", i)):
                out += b"\\$"
            elif c in b"^$.*":
                out += c
            else:
                out += re.escape(c)
    if depth:
        raise PatternError("unmatched ( or \\(")
    return bytes(out)


#: bytes that may be special in a basic / extended regular expression (a pattern
#: without any is a fixed string: the fixed-string paths then search it)
_BRE_SPECIAL = frozenset(b"\\.[]*^$")
_ERE_SPECIAL = frozenset(b"\\.[]*^$+?(){}|")


_QUANTIFIERS = frozenset(b"*?+{")


def required_literals(pattern: bytes, extended: bool) -> list:
    """Runs of ``pattern`` (a grep BRE or ERE, one line) that every line it
    matches holds as they are (up to ASCII case with ``-i``): the literal runs
    of a pattern that is a plain sequence, cut at every byte that may be
    special, without the byte before a quantifier. An empty list when the
    pattern has alternation or groups (or nothing literal): then nothing is
    known. Conservative by construction: a byte whose role is unsure only
    ends a run."""
    if b"\\|" in pattern or b"\\(" in pattern or (extended and (b"|" in pattern or b"(" in pattern)):
        return []
    special = _ERE_SPECIAL if extended else _BRE_SPECIAL
    runs, run = [], bytearray()
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c not in special:
            run.append(c)
            i += 1
            continue
        if c in _QUANTIFIERS or (c == 0x5C and i + 1 < n and pattern[i + 1] in _QUANTIFIERS):
            run = run[:-1]  # the byte before a quantifier may be absent (or repeated)
        runs.append(bytes(run))
        run = bytearray()
        if c == 0x5B:  # a bracket expression: skip to its closing ] (one byte of the line, unknown)
            j = i + 1
            if j < n and pattern[j] == 0x5E:
                j += 1
            j += 1  # a ] first is a member
            while j < n and pattern[j] != 0x5D:
                j += pattern.startswith(b"[:", j) and pattern.find(b":]", j + 2) + 2 - j or 1
            i = j + 1  # (a quantifier after it then ends an empty run)
            continue
        brace = c == 0x7B or (c == 0x5C and i + 1 < n and pattern[i + 1] == 0x7B)
        i += 2 if c == 0x5C else 1
        if brace:  # an interval's bounds are no bytes of the line: skip to its end (or the pattern's)
            close = pattern.find(b"}", i)
            i = n if close < 0 else close + 1
    runs.append(bytes(run))
    return [r for r in runs if r]


@dataclass
class Matcher:
    """A compiled grep pattern: ``line`` decides a line, ``block`` (MULTILINE)
    finds where in a run of lines matches may start; ``fixed`` holds the
    strings of a fixed-string search (None for regular expressions)."""

    line: re.Pattern
    block: re.Pattern
    fixed: list | None = None
    ignore_case: bool = False
    #: per pattern, strings every line it matches holds (regular expressions: :func:`required_literals`)
    required: list | None = None

    @classmethod
    def compile(cls, pattern, *, fixed: bool = False, extended: bool = False, ignore_case: bool = False):
        if isinstance(pattern, str):
            pattern = os.fsencode(pattern)
        parts = bytes(pattern).split(b"\n")
        special = _ERE_SPECIAL if extended else _BRE_SPECIAL
        if not fixed and not any(c in special for p in parts for c in p):
            fixed = True  # no byte that is special in the syntax: the same lines as a fixed string, found faster
        if fixed:
            src = b"|".join(re.escape(p) for p in parts)
        else:
            src = b"|".join(b"(?:" + translate(p, extended) + b")" for p in parts) if len(parts) > 1 \
                else translate(parts[0], extended)
        flags = re.IGNORECASE if ignore_case else 0
        try:
            line = re.compile(src, flags)
            block = re.compile(src, flags | re.MULTILINE)
        except re.error as e:
            raise PatternError(f"invalid pattern: {e}") from None
        required = [[p] for p in parts] if fixed else [required_literals(p, extended) for p in parts]
        return cls(line, block, list(parts) if fixed else None, ignore_case, required)


class GrepResult:
    """The lines grep would print (without their newlines) and their 1-based
    numbers (counted on first use: blocks in which nothing matched count
    their lines only then)."""

    def __init__(self, lines=None, numbers=None):
        self.lines = [] if lines is None else list(lines)
        self._numbers = None if numbers is None else list(numbers)
        self._refs = []    # per line: (how many blocks' complete-line counts precede it, offset)
        self._parts = []   # per block: its complete lines, an int or a callable

    @property
    def numbers(self) -> list:
        if self._numbers is None:
            before = [0]  # (only the blocks before the last selected line are counted)
            for part in self._parts[:max((i for i, _ in self._refs), default=0)]:
                before.append(before[-1] + (part() if callable(part) else part))
            self._numbers = [before[i] + off for i, off in self._refs]
        return self._numbers

    @property
    def count(self) -> int:
        return len(self.lines)


#: transform ids whose blocks :mod:`cobol.blocksearch` searches (log, l1)
_SEARCHED_TRANSFORMS = (_LOG_TRANSFORM, _L1_TRANSFORM)
_RAW = RawTransform()  # raw blocks are read here, without the engine


class _Source:
    """A frame's blocks for the searches: entropy-decoded streams and checked
    raw bytes. Frames without a shared dictionary are read with the codecs
    and checksums alone (raw blocks then need neither the engine nor NumPy,
    ~0.1 s of a search's start-up); the engine serves the rest."""

    def __init__(self, dictionary):
        self.dictionary = dictionary
        self._engine = None
        self.l1_numpy_whole = 0  # bytes of l1 blocks decoded whole by NumPy so far (cobol.blocksearch)

    def engine(self):
        if self._engine is None:
            from .engine import CobolEngine
            self._engine = CobolEngine(threads=1, dictionary=self.dictionary)
        return self._engine

    def streams(self, rec: DataBlock, header, bound) -> list:
        """The block's streams, entropy decoded, after the stream table's
        memory bound (docs/FORMAT.md) is checked as the engine checks it."""
        if header.dictionary_id is not None:
            return self.engine().block_streams(rec, header, bound)
        from .entropy import decode_streams
        check_stream_table(rec, bound)
        return decode_streams(rec)

    def decode(self, rec: DataBlock, header) -> bytes:
        """The block's bytes, checksum verified: raw blocks here, others by the engine."""
        if rec.transform != _RAW.id or header.dictionary_id is not None:
            return self.engine().decode_block(rec, header)
        try:
            raw = _RAW.decode(self.streams(rec, header, _RAW), rec.params, rec.raw_len, None)
        except FormatError as exc:
            raise FormatError(f"block {rec.seq} (raw): {exc}") from None
        check_block_checksum(header, rec, raw, f"block {rec.seq}")
        return raw


def _l1_block(rec: DataBlock, header, source: _Source, m: Matcher):
    """An l1 block searched for fixed strings: ruled out without NumPy when
    no line can hold one (:meth:`cobol.layers.l1_stream.L1Streams.cannot_match`;
    its lines are then counted only if numbers are asked for), else searched
    by :mod:`cobol.blocksearch` on the same decoded streams."""
    from .layers import l1_stream
    streams = source.streams(rec, header, l1_stream.STREAM_BOUND)
    try:
        if rec.params:
            raise FormatError(f"l1: expects no params, got {len(rec.params)} bytes")
        st = l1_stream.L1Streams(streams, rec.raw_len)
        try:
            ruled_out = rec.raw_len > 0 and st.cannot_match(m.fixed, m.ignore_case)
            if ruled_out:
                ends_nl, newline = st.final_newline, st.has_newline()
        except l1_stream.NeedsLineCut:
            ruled_out = False
        if not ruled_out:
            from .blocksearch import search_block
            return search_block(rec, header, source, m, False, streams)
    except CobolError as exc:
        raise type(exc)(f"block {rec.seq}: {exc}") from None
    blk = []

    def block():  # NumPy, only for line numbers or a line cut between blocks
        if not blk:
            from .blocksearch import l1_reader
            blk.append(l1_reader(rec, streams))
        return blk[0]

    def line(k):
        from .blocksearch import _l1_line
        b = block()
        return _l1_line(b, b.n_lines - 1 if k < 0 else k)

    return BlockLines(lambda: block().n_lines, ends_nl, lambda: line(0), lambda: line(-1), [], newline, True)


def _log_block(rec: DataBlock, header, source: _Source, m: Matcher):
    """A log block searched for fixed strings: ruled out without NumPy when
    no line can hold one (:func:`cobol.logskip.cannot_match`), else searched
    by :mod:`cobol.blocksearch` on the same decoded streams."""
    from . import logskip
    from .layers import log_format
    streams = source.streams(rec, header, log_format.STREAM_BOUND)
    # (a version-4 block's stored skeletons hold every distinct skeleton: a
    # block ruled out on them is ruled out without expanding them)
    found = logskip.stream_search(streams, m, logskip.block_delimiters(rec)) \
        if len(streams) in (len(log_format.STREAM_NAMES), len(log_format.STREAM_NAMES_REFS)) else None
    if found is not None and logskip.cannot_match(streams, m, found):
        renderer = []

        def line(k: int) -> bytes:  # NumPy, only for a line cut between blocks
            from .blocksearch import log_line_renderer
            if not renderer:
                renderer.append(log_line_renderer(streams, rec))
            return renderer[0](k)
        return logskip.unmatched_log_block(streams, rec, line)
    try:  # version 4: the move-to-front coded skeletons expanded (in Python)
        canon = log_format.canonical_streams(streams, rec.params, rec.raw_len)
    except CobolError as exc:
        raise type(exc)(f"block {rec.seq}: {exc}") from None
    if canon is not streams and found is not None:
        found = logskip.stream_search(canon, m, logskip.block_delimiters(rec))
    from .blocksearch import search_log_block  # NumPy loads here
    return search_log_block(canon, rec, m, False, found)


def _ruled_out(index, m: Matcher, invert: bool) -> bool:
    """Whether a block's search index shows that no line of it can match (not
    inverted): for each pattern, a string that every line it matches holds
    (the fixed string; a regular expression's :func:`required_literals`) cannot be in it."""
    return not invert and m.required is not None and all(
        any(not index.may_contain(lit) for lit in lits) for lits in m.required)


def _indexed_block(rec: DataBlock, header, source: _Source, index) -> BlockLines:
    """A block its search index ruled out: its lines counted from the index, its
    first and last lines decoded only if a line cut between blocks needs them."""
    raw = []

    def block() -> bytes:
        if not raw:
            raw.append(source.decode(rec, header))
        return raw[0]

    def first() -> bytes:
        b = block()
        end = b.find(b"\n")
        return b if end < 0 else b[:end]

    def last() -> bytes:
        b = block()
        end = len(b) - 1 if b.endswith(b"\n") else len(b)
        return b[b.rfind(b"\n", 0, end) + 1:end]

    return BlockLines(index.n_lines, index.ends_nl, first, last, [], None, True)


def _as_version5(rec: DataBlock, streams: list) -> tuple[DataBlock, list]:
    """A params-version-6 block's record and entropy-decoded streams as
    version 5's (:func:`cobol.layers.log_format.as_version5`: its messages
    decoded from their L1 word streams with NumPy,
    :class:`cobol.layers.l1_numpy.L1Block`); other blocks' as they are. The
    record returned serves the search only: its params no longer match its
    stream table, so decoding goes on with the frame's own record."""
    if not _log_format.words_coded(rec.params):
        return rec, streams
    from .layers import l1_numpy  # NumPy loads here

    def words(dict_stream, words_stream, message_bytes: int) -> bytes:
        return l1_numpy.L1Block([dict_stream, words_stream], message_bytes).render_all().tobytes()
    try:
        streams, params = _log_format.as_version5(streams, rec.params, rec.raw_len, words)
    except CobolError as exc:
        raise type(exc)(f"block {rec.seq}: {exc}") from None
    except (IndexError, ValueError, TypeError, OverflowError, ArithmeticError) as exc:
        raise FormatError(f"block {rec.seq}: corrupt log messages ({type(exc).__name__}: {exc})") from None
    return replace(rec, params=params), streams


def _message_block(rec: DataBlock, header, source: _Source, m: Matcher, invert: bool):
    """A log block of params version 5 or 6 (messages cut off its lines;
    version 6's messages stay word coded for the candidate-line search, which
    decodes only the candidate messages, and are decoded whole,
    :func:`_as_version5`, for the whole-block path): ruled
    out from its entropy-decoded streams when no line can hold a fixed
    string, else searched in its candidate lines only
    (:func:`cobol.blocksearch.search_message_block`), else (regular
    expressions, -v, many candidates, blocks the NumPy reader leaves to the
    kernels) rendered whole (with NumPy, :func:`cobol.layers.log_numpy.render_messages_block`;
    the engine's kernel where that declines), checked against its checksum
    and its lines searched.
    Ruled out when :func:`cobol.logskip.cannot_match` says so of the
    templates, raw lines and skeletons, and
    :func:`cobol.logskip.messages_may_match` says no string is in a message
    nor starts one with its part after a space: an occurrence that reaches a
    message from the line's header holds the space the header ends with
    (the encoder cuts after a space; a block whose tail templates do not
    end in one has every suffix of the string looked for); one that does
    not reach a message lies in the header, which that rule covers as in any
    block. (Before, the pieces between delimiters were looked for in the
    messages instead of the parts after a space: a string whose part in the
    message was delimiters only, ``<eve> (`` before ``(sigh)``, ruled out
    lines that held it. Version 6: the same rule on the messages' word
    streams, undecoded (:func:`cobol.logskip.word_messages_may_match`, no
    NumPy): the strings and their suffixes after a space are looked for
    in the messages' lines.)"""
    from . import logskip
    streams = None
    block = rec  # the frame's record (rec: version 5's params once streams are read)
    if m.fixed is not None and not invert:
        streams = source.streams(block, header, _log_format.STREAM_BOUND)
        # (the first seven streams are the same in versions 5 and 6)
        found = logskip.stream_search(streams, m, logskip.block_delimiters(block))
        if found is not None and logskip.cannot_match(streams, m, found) \
                and len(streams) > _log_format.MESSAGES:
            any_suffix = not logskip.tails_after_space(bytes(streams[_log_format.TEMPLATES]))
            if _log_format.words_coded(block.params):
                may = len(streams) <= _log_format.MESSAGES_WORDS or logskip.word_messages_may_match(
                    bytes(streams[_log_format.MESSAGES_DICT]), bytes(streams[_log_format.MESSAGES_WORDS]),
                    _log_format.parse_params(block.params, block.raw_len)["message_bytes"], m.fixed,
                    m.ignore_case, any_suffix)
            else:
                may = logskip.messages_may_match(bytes(streams[_log_format.MESSAGES]), m.fixed, m.ignore_case,
                                                 any_suffix)
            if not may:
                decoded = []

                def line(k: int) -> bytes:  # only for a line cut between blocks
                    if not decoded:
                        decoded.append(source.decode(block, header))
                    lines = decoded[0].split(b"\n")
                    if decoded[0].endswith(b"\n"):
                        lines.pop()
                    return lines[k]
                p = _log_format.parse_params(block.params, block.raw_len)
                n = p["n_lines"]
                # (unmatched: a last line without its newline is decoded only if the next block continues it)
                return BlockLines(n, p["final_newline"], lambda: line(0), lambda: line(n - 1), [], unmatched=True)
    if streams is None:
        streams = source.streams(block, header, _log_format.STREAM_BOUND)
    if m.fixed is not None and not invert:
        # (version 6 too: only the messages of candidate lines are decoded from their words)
        from .blocksearch import search_message_block  # NumPy loads here
        found = search_message_block(streams, block, m, lambda: source.decode(block, header))
        if found is not None:
            return found
    rec, streams = _as_version5(block, streams)
    from .layers import log_numpy  # NumPy loads here; the kernels only where it declines
    try:
        raw = log_numpy.render_messages_block(streams, rec.params, rec.raw_len)
    except CobolError as exc:
        raise type(exc)(f"block {rec.seq}: {exc}") from None
    if raw is None:
        raw = source.decode(block, header)
    else:
        check_block_checksum(header, block, raw, f"block {rec.seq}")
    return text_block(raw, m, invert)


def _blocks(blob, source: _Source, m: Matcher, invert: bool):
    index = None  # the search index of the next data block (cobol.searchindex), if it has one
    for header, rec in iter_frame_records(blob, Limits()):
        if index is not None:
            if not isinstance(rec, DataBlock):
                raise FormatError(f"search index of block {index.seq} is not followed by its block")
            index.check_block(rec)
        if isinstance(rec, MetadataBlock) and rec.tag == SEARCH_INDEX_TAG:
            index = _parse_index(rec.payload)
            continue
        if not isinstance(rec, DataBlock):
            continue
        ruled_out = index is not None and _ruled_out(index, m, invert)
        if ruled_out:
            yield _indexed_block(rec, header, source, index)
            index = None
            continue
        index = None
        if rec.transform == _LOG_TRANSFORM and _log_format.has_messages(rec.params):
            yield _message_block(rec, header, source, m, invert)
        elif rec.transform == _L1_TRANSFORM and m.fixed is not None and all(m.fixed) and not invert:
            yield _l1_block(rec, header, source, m)
        elif rec.transform == _LOG_TRANSFORM and m.fixed is not None and not invert:
            yield _log_block(rec, header, source, m)
        elif rec.transform in _SEARCHED_TRANSFORMS:
            from .blocksearch import search_block  # NumPy loads here, for the first log or l1 block
            yield search_block(rec, header, source, m, invert)
        else:
            yield text_block(source.decode(rec, header), m, invert)


def grep(pattern, source, *, fixed: bool = False, extended: bool = False, ignore_case: bool = False,
         invert: bool = False, dictionary=None) -> GrepResult:
    """The lines of the decompressed ``source`` (a .cobl frame as bytes, or a
    path) that ``grep`` would select; raises PatternError on a bad pattern and
    CobolError subclasses on a bad frame."""
    source_blob = source
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as f:
            source_blob = f.read()
    m = Matcher.compile(pattern, fixed=fixed, extended=extended, ignore_case=ignore_case)
    source = _Source(dictionary)
    out = GrepResult()
    # line numbers are (block index, offset): complete lines of the first `index` blocks + offset
    offset = 0        # lines past the counted blocks' complete lines, before the current block
    carry = None      # the start of a line cut at the end of the previous block (bytes, or a callable)

    def emit(line: bytes, ref: tuple) -> None:
        if (m.line.search(line) is not None) != invert:
            out.lines.append(line)
            out._refs.append(ref)

    for bl in _blocks(source_blob, source, m, invert):
        if bl.empty:
            continue
        skip_first = carry is not None
        if skip_first:
            joined = (carry() if callable(carry) else carry) + bl.first()
            if not bl.has_newline:
                carry = joined
                continue
            offset += 1
            emit(joined, (len(out._parts), offset))
        base = offset - (1 if skip_first else 0)
        n = bl.n_lines  # a callable only for blocks without hits (counted if numbers are asked for)
        if callable(n):
            out._parts.append(lambda n=n, e=bl.ends_nl: n() - (0 if e else 1))
        else:
            complete = n if bl.ends_nl else n - 1
            for k, line in bl.hits:
                if (skip_first and k == 0) or k >= complete:
                    continue
                out.lines.append(line)
                out._refs.append((len(out._parts), base + k + 1))
            out._parts.append(complete)
        offset = base
        carry = None if bl.ends_nl else bl.last if bl.unmatched else bl.last()
    if carry is not None and not callable(carry):  # (a callable: the cut line of an unmatched block)
        emit(carry, (len(out._parts), offset + 1))
    return out


__all__ = ["grep", "GrepResult", "Matcher", "PatternError", "translate", "FormatError"]
