"""The lines of one decoded block that a grep pattern selects, with ``re`` and
bytes methods alone (no NumPy: a search of a frame of raw blocks, brotli or
zstd, then never imports it), and the per-block result that
:func:`cobol.logsearch.grep` joins across blocks."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class BlockLines:
    """A searched block: its line count (a last line without a newline
    counts; an int, or a callable that counts them only if line numbers are
    asked for), whether it ends with a newline, its first and last lines
    (callables: rendered only when a line cut between blocks needs them),
    the selected lines as (index in the block, bytes without the newline),
    and whether it holds a newline at all (None: n_lines says)."""

    n_lines: object
    ends_nl: bool
    first: object
    last: object
    hits: list
    newline: bool | None = None
    #: no line of the block can match on its own (its last line, if cut, is rendered only if joined)
    unmatched: bool = False

    @property
    def empty(self) -> bool:
        return self.newline is None and self.n_lines == 0

    @property
    def has_newline(self) -> bool:
        return self.newline if self.newline is not None else not (self.n_lines == 1 and not self.ends_nl)


def text_block(raw: bytes, m, invert: bool) -> BlockLines:
    """The lines of ``raw`` that the matcher ``m`` selects (with ``invert``,
    those it does not): the block pattern finds where a match may start, the
    line holding that start is then decided on its own span (a match of the
    MULTILINE pattern may run across a newline, e.g. ``\\s``; a line's own
    search may not), and the search goes on from the next line. Only the
    newlines before a selected line are counted, so a rare string costs
    about one pass of ``re``'s literal search."""
    raw = bytes(raw)
    ends_nl = raw.endswith(b"\n")
    n = raw.count(b"\n") + (1 if raw and not ends_nl else 0)
    hits = []
    if invert:
        lines = raw.split(b"\n")
        if ends_nl or not raw:
            lines.pop()
        search = m.line.search
        hits = [(k, ln) for k, ln in enumerate(lines) if search(ln) is None]
    else:
        search = m.block.search
        size = len(raw)
        pos = line = counted = 0
        while pos < size:  # pos: the start of a line
            mo = search(raw, pos)
            if mo is None:
                break
            a = mo.start()
            start = raw.rfind(b"\n", pos, a) + 1 or pos
            end = raw.find(b"\n", a)
            if end < 0:
                end = size
            line += raw.count(b"\n", counted, start)
            counted = start
            if search(raw, start, end) is not None:
                hits.append((line, raw[start:end]))
            pos = end + 1
    first_end = raw.find(b"\n")
    first = raw[:first_end] if first_end >= 0 else raw
    last = raw[raw.rfind(b"\n", 0, len(raw) - 1 if ends_nl else len(raw)) + 1:len(raw) - ends_nl] if raw else b""
    return BlockLines(n, ends_nl, lambda: first, lambda: last, hits)
