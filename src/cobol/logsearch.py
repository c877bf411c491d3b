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
and only the candidate lines are rendered and checked. Regular expressions and
``invert`` render the whole log block; other blocks are decoded by the engine
and their text searched. Log blocks are read and rendered with NumPy alone
(:mod:`cobol.layers.log_numpy`), so that a search does not pay Numba's
start-up (~0.5 s of CPU, most of a search of a few MB); the kernels'
:class:`~cobol.layers.l2_log.LogBlock` takes over where that reader declines.
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
import sys
from dataclasses import dataclass, field

import numpy as np

from .engine import CobolEngine
from .errors import ChecksumError, CobolError, FormatError
from .format.frame import DataBlock, iter_frame_records
from .format import checksum as ck
from .layers import l1_numpy, log_format

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


@dataclass
class Matcher:
    """A compiled grep pattern: ``line`` decides a line, ``block`` (MULTILINE)
    finds where in a run of lines matches may start; ``fixed`` holds the
    strings of a fixed-string search (None for regular expressions)."""

    line: re.Pattern
    block: re.Pattern
    fixed: list | None = None
    ignore_case: bool = False

    @classmethod
    def compile(cls, pattern, *, fixed: bool = False, extended: bool = False, ignore_case: bool = False):
        if isinstance(pattern, str):
            pattern = os.fsencode(pattern)
        parts = bytes(pattern).split(b"\n")
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
        return cls(line, block, list(parts) if fixed else None, ignore_case)


@dataclass
class GrepResult:
    """The lines grep would print (without their newlines) and their 1-based numbers."""

    lines: list = field(default_factory=list)
    numbers: list = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.lines)


@dataclass
class _BlockLines:
    n_lines: int
    ends_nl: bool
    first: object  # () -> bytes of the first line (rendered only when a cut line needs it)
    last: object   # () -> bytes of the last line
    hits: list  # (index in block, line bytes) of selected lines


def _select_lines(text: np.ndarray, idx: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                  m: Matcher, invert: bool) -> list:
    """(index, bytes) of the lines (given by index and span in ``text``) that match, or with invert do not."""
    if idx.size == 0:
        return []
    raw = text.tobytes() if isinstance(text, np.ndarray) else bytes(text)
    cand = set()
    for mo in m.block.finditer(raw):
        a = int(np.searchsorted(starts, mo.start(), "right")) - 1
        b = int(np.searchsorted(starts, max(mo.end() - 1, mo.start()), "right")) - 1
        cand.update(range(max(a, 0), max(b, a, 0) + 1))
    # MULTILINE: "^" also matches at a line start inside raw (re ignores pos for "^" otherwise)
    hit = {k for k in cand if m.block.search(raw, int(starts[k]), int(ends[k])) is not None}
    if invert:
        return [(int(idx[k]), raw[starts[k]:ends[k]]) for k in range(idx.size) if k not in hit]
    return [(int(idx[k]), raw[starts[k]:ends[k]]) for k in sorted(hit)]


def _text_block(raw: bytes, m: Matcher, invert: bool) -> _BlockLines:
    buf = np.frombuffer(raw, np.uint8)
    nl = np.flatnonzero(buf == 10)
    ends_nl = bool(raw) and raw[-1:] == b"\n"
    ends = nl if ends_nl else np.append(nl, len(raw))
    starts = np.zeros(ends.size, np.int64)
    starts[1:] = ends[:-1] + 1
    n = ends.size
    hits = _select_lines(buf, np.arange(n), starts, ends, m, invert)
    first = raw[:ends[0]] if n else b""
    last = raw[starts[-1]:ends[-1]] if n else b""
    return _BlockLines(n, ends_nl, lambda: first, lambda: last, hits)


def _delimiter_pieces(s: bytes) -> list:
    return [p for p in re.split(b"[" + re.escape(log_format.DELIMITERS) + b"]", s) if p]


def _searchable(strings) -> bool:
    """Whether fixed strings can be looked for in a log block's streams (none
    empty, none holding a newline or a placeholder byte)."""
    return all(s and not any(b in s for b in (10, 0x11, 0x12)) for s in strings)


def _skeleton_runs(pieces) -> tuple[set, bool]:
    """(the longest non-digit run of each piece, whether some piece is all digits).

    A run of non-digits inside a variable's text is also a run of literal bytes
    of its skeleton (digit chunks stand where digits were), so a piece is looked
    for in the skeletons as stored through that run; only all-digit pieces need
    the variables rendered."""
    runs = {max(re.split(rb"[0-9]+", p), key=len) for p in pieces}
    digits_only = b"" in runs
    runs.discard(b"")
    return runs, digits_only


def _cannot_match(streams: list, m: Matcher) -> bool:
    """True when no line of a log block can hold one of the fixed strings,
    decided on the entropy-decoded streams with bytes searches alone (no
    Numba kernel runs, none is imported): neither a template nor a raw line
    holds a string, and no string's delimiter-free pieces can lie in a
    variable (the same reasoning as _log_candidates, which this only
    short-cuts). False means "render and look"."""
    strings = m.fixed
    if strings is None or not _searchable(strings):
        return False
    if m.block.search(streams[log_format.TEMPLATES]) or m.block.search(streams[log_format.RAW]):
        return False
    pieces = {p for s in strings for p in _delimiter_pieces(s)}
    if not pieces:
        return True
    runs, digits_only = _skeleton_runs(pieces)
    return not digits_only and _find_all(streams[log_format.SKELETONS], runs, m.ignore_case).size == 0


def _log_candidates(lb, m: Matcher) -> np.ndarray | None:
    """Lines of a log block that may hold one of the fixed strings, or None
    when every line must be looked at."""
    strings = m.fixed
    if not _searchable(strings):
        return None
    flags = re.IGNORECASE if m.ignore_case else 0
    select = lb.ids == 0
    if lb.tmpl_s.size > 1:
        # the templates stream: newline-ended templates, id 1 first
        pos = [mo.start() for mo in m.block.finditer(lb.tbuf.tobytes())]
        if pos:
            whole = np.zeros(lb.tmpl_s.size, np.bool_)
            whole[np.searchsorted(lb.tmpl_s[1:], np.array(pos, np.int64), "right")] = True
            select |= whole[lb.ids]
    pieces = {p for s in strings for p in _delimiter_pieces(s)}
    if pieces and lb.ss.size:
        runs, digits_only = _skeleton_runs(pieces)
        hits = []
        if runs:
            pos = _find_all(lb.sbuf, runs, m.ignore_case)
            hits.append(np.searchsorted(lb.ss, pos, "right") - 1)
        if digits_only:
            text, vstart = lb.variables()
            pos = _find_all(text, {p for p in pieces if not re.search(rb"[^0-9]", p)}, m.ignore_case)
            hits.append(np.searchsorted(vstart, pos, "right") - 1)
        v = np.concatenate(hits) if hits else np.zeros(0, np.int64)
        if v.size:
            select[lb.var_lines()[v]] = True
    return select


def _find_all(text, pieces, ignore_case: bool) -> np.ndarray:
    """Where any of the (newline-free) pieces occurs in ``text``, at most once
    per newline-ended item: bytes.find (a fast substring search, far faster
    than ``re`` on a literal) from the next item on after each hit."""
    raw = text.tobytes() if isinstance(text, np.ndarray) else bytes(text)
    if ignore_case:
        raw = raw.lower()
        pieces = {p.lower() for p in pieces}
    out = []
    for p in pieces:
        at = raw.find(p)
        while at >= 0:
            out.append(at)
            nl = raw.find(b"\n", at)
            if nl < 0:
                break
            at = raw.find(p, nl + 1)
    return np.array(sorted(set(out)), np.int64)


def _log_block(lb, m: Matcher, invert: bool) -> _BlockLines:
    n = lb.n_lines
    select = None if invert or m.fixed is None else _log_candidates(lb, m)
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


class _LogLines:
    """A log block to search: read with NumPy (:mod:`cobol.layers.log_numpy`,
    no Numba) when it can, else, or for what the NumPy reader leaves to them
    (int layouts, large selections), with the kernels' LogBlock, imported and
    built on first need. Offers what _log_block and _log_candidates use."""

    def __init__(self, streams: list, rec: DataBlock):
        from .layers import log_numpy  # (its import, ~40 ms, only where a log block is searched)
        self._log_numpy = log_numpy
        self._streams, self._rec = streams, rec
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
            self._kernel_block = self._guard(lambda: l2_log.LogBlock(self._streams, self._rec.params, self._rec.raw_len))
        return self._kernel_block

    def var_lines(self) -> np.ndarray:
        return self._guard(self.fast.var_lines) if self.fast else self.kernel_block().var_lines()

    def variables(self):
        got = self._guard(self.fast.variables) if self.fast else None
        return got if got is not None else self.kernel_block().variables()

    def render(self, select: np.ndarray):
        got = None
        if self.fast and self.fast.render_estimate(select) <= self._log_numpy.MAX_RENDER:
            got = self._guard(lambda: self.fast.render(select))
        return got if got is not None else self.kernel_block().render(select)


def _unmatched_log_block(streams: list, rec: DataBlock) -> _BlockLines:
    """A log block none of whose lines is selected; its first and last lines
    are rendered only if a line cut between blocks needs them."""
    try:
        p = log_format.parse_params(rec.params, rec.raw_len)
    except CobolError as exc:
        raise type(exc)(f"block {rec.seq}: {exc}") from None
    n = p["n_lines"]
    parsed = []

    def line(k: int) -> bytes:
        if not parsed:
            parsed.append(_LogLines(streams, rec))
        lb = parsed[0]
        one = np.zeros(lb.n_lines, np.bool_)
        one[k] = True
        text = lb.render(one)[0].tobytes()
        return text[:-1] if text.endswith(b"\n") else text

    return _BlockLines(n, p["final_newline"], lambda: line(0), lambda: line(n - 1), [])


#: l1 blocks decoded whole (regular expressions, -v, anchorless strings) go
#: through NumPy up to this size, else through the Numba decoder, whose start-up
#: (~0.5 s of CPU) is what NumPy takes for ~5 MB (measured 90 ms per MB)
L1_NUMPY_WHOLE = 4 << 20


def _l1_block(rec: DataBlock, header, engine: CobolEngine, m: Matcher, invert: bool) -> _BlockLines:
    """An l1 block: with a fixed string, only the lines whose code holds one
    of its anchors (:meth:`cobol.layers.l1_numpy.L1Block.candidate_lines`)
    are decoded, by NumPy; otherwise the whole block (checksum verified)."""
    streams = engine.block_streams(rec, header, l1_numpy.STREAM_BOUND)
    where = f"block {rec.seq}"
    try:
        if rec.params:
            raise FormatError(f"l1: expects no params, got {len(rec.params)} bytes")
        blk = l1_numpy.L1Block(streams, rec.raw_len)
        select = None
        if not invert and m.fixed is not None and _searchable(m.fixed):
            select = blk.candidate_lines(m.fixed, m.ignore_case)
        if select is None:
            if rec.raw_len > L1_NUMPY_WHOLE or "cobol.layers.l1_semantic" in sys.modules:
                return _text_block(engine.decode_block(rec, header), m, invert)
            raw = blk.render_all().tobytes()
            if ck.compute(header.checksum, raw) != bytes(rec.checksum):
                raise ChecksumError(f"{where}: {ck.checksum_label(header.checksum)} checksum mismatch")
            return _text_block(raw, m, invert)
        n, ends_nl = blk.n_lines, blk.final_newline
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

    def line(k: int) -> bytes:
        text = blk.render_lines(np.array([k], np.int64)).tobytes()
        return text[:-1] if text.endswith(b"\n") else text

    return _BlockLines(n, ends_nl, lambda: line(0), lambda: line(n - 1), hits)


def _blocks(blob, engine: CobolEngine, m: Matcher, invert: bool):
    for header, rec in iter_frame_records(blob, engine.limits):
        if not isinstance(rec, DataBlock):
            continue
        if rec.transform == log_format.TRANSFORM_ID:
            streams = engine.block_streams(rec, header, log_format.STREAM_BOUND)
            if len(streams) == len(log_format.STREAM_NAMES) and not invert and _cannot_match(streams, m):
                yield _unmatched_log_block(streams, rec)
            else:
                yield _log_block(_LogLines(streams, rec), m, invert)
        elif rec.transform == l1_numpy.TRANSFORM_ID:
            yield _l1_block(rec, header, engine, m, invert)
        else:
            yield _text_block(engine.decode_block(rec, header), m, invert)


def grep(pattern, source, *, fixed: bool = False, extended: bool = False, ignore_case: bool = False,
         invert: bool = False, dictionary=None) -> GrepResult:
    """The lines of the decompressed ``source`` (a .cobl frame as bytes, or a
    path) that ``grep`` would select; raises PatternError on a bad pattern and
    CobolError subclasses on a bad frame."""
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as f:
            source = f.read()
    m = Matcher.compile(pattern, fixed=fixed, extended=extended, ignore_case=ignore_case)
    engine = CobolEngine(threads=1, dictionary=dictionary)
    out = GrepResult()
    done = 0          # complete lines before the current block
    carry = None      # the start of a line cut at the end of the previous block

    def emit(line: bytes, number: int) -> None:
        if (m.line.search(line) is not None) != invert:
            out.lines.append(line)
            out.numbers.append(number)

    for bl in _blocks(source, engine, m, invert):
        if bl.n_lines == 0:
            continue
        skip_first = carry is not None
        if skip_first:
            joined = carry + bl.first()
            if bl.n_lines == 1 and not bl.ends_nl:
                carry = joined
                continue
            done += 1
            emit(joined, done)
        complete = bl.n_lines if bl.ends_nl else bl.n_lines - 1
        base = done - (1 if skip_first else 0)
        for k, line in bl.hits:
            if (skip_first and k == 0) or k >= complete:
                continue
            out.lines.append(line)
            out.numbers.append(base + k + 1)
        done = base + complete
        carry = None if bl.ends_nl else bl.last()
    if carry is not None:
        emit(carry, done + 1)
    return out


__all__ = ["grep", "GrepResult", "Matcher", "PatternError", "translate", "FormatError"]
