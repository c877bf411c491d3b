"""Log blocks (transform 60) ruled out for fixed strings without NumPy.

When no template, raw line or variable skeleton of a log block can hold one
of the strings, the block selects no line; deciding that needs only bytes
searches on its entropy-decoded streams, so a search for an absent or rare
string skips NumPy's import (~40-90 ms of CPU) for such blocks.
:mod:`cobol.blocksearch` searches the blocks this cannot rule out.
"""

from __future__ import annotations

import re

from .errors import CobolError
from .format.frame import DataBlock
from .layers import log_format
from .linesearch import BlockLines


def delimiter_pieces(s: bytes, delimiters: bytes = log_format.DELIMITERS) -> list:
    """The pieces of ``s`` between a log block's variable delimiters (its
    params' ``delimiters``: version 2 adds some to log_format.DELIMITERS)."""
    return [p for p in re.split(b"[" + re.escape(delimiters) + b"]", s) if p]


def block_delimiters(rec: DataBlock) -> bytes:
    """The delimiters of a log block, from its params (FormatError when they are bad)."""
    try:
        return log_format.parse_params(rec.params, rec.raw_len)["delimiters"]
    except CobolError as exc:
        raise type(exc)(f"block {rec.seq}: {exc}") from None


def searchable(strings) -> bool:
    """Whether fixed strings can be looked for in a log block's streams (none
    empty, none holding a newline or a placeholder byte)."""
    return all(s and not any(b in s for b in (10, 0x11, 0x12)) for s in strings)


def skeleton_runs(pieces) -> tuple[set, bool]:
    """(the longest non-digit run of each piece, whether some piece is all digits).

    A run of non-digits inside a variable's text is also a run of literal bytes
    of its skeleton (digit chunks stand where digits were), so a piece is looked
    for in the skeletons as stored through that run; only all-digit pieces need
    the variables rendered."""
    runs = {max(re.split(rb"[0-9]+", p), key=len) for p in pieces}
    digits_only = b"" in runs
    runs.discard(b"")
    return runs, digits_only


def find_positions(raw: bytes, pieces, ignore_case: bool) -> list:
    """Sorted offsets where any of the (newline-free) pieces occurs in ``raw``,
    at most once per newline-ended item: bytes.find (a fast substring search,
    far faster than ``re`` on a literal) from the next item on after each hit."""
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
    return sorted(set(out))


def cannot_match(streams: list, m, delimiters: bytes = log_format.DELIMITERS) -> bool:
    """True when no line of a log block can hold one of the fixed strings,
    decided on the entropy-decoded streams with bytes searches alone (no
    Numba kernel runs, none is imported): neither a template nor a raw line
    holds a string, and no string's delimiter-free pieces can lie in a
    variable (the same reasoning as blocksearch's candidate lines, which this
    only short-cuts). False means "render and look"."""
    strings = m.fixed
    if strings is None or not searchable(strings):
        return False
    if m.block.search(streams[log_format.TEMPLATES]) or m.block.search(streams[log_format.RAW]):
        return False
    pieces = {p for s in strings for p in delimiter_pieces(s, delimiters)}
    if not pieces:
        return True
    runs, digits_only = skeleton_runs(pieces)
    return not digits_only and not find_positions(bytes(streams[log_format.SKELETONS]), runs, m.ignore_case)


def unmatched_log_block(streams: list, rec: DataBlock, line) -> BlockLines:
    """A log block none of whose lines is selected; ``line(k)`` renders its
    line k (with NumPy, :func:`cobol.blocksearch.log_line_renderer`), called
    for the first and last lines only if a line cut between blocks needs them."""
    try:
        p = log_format.parse_params(rec.params, rec.raw_len)
    except CobolError as exc:
        raise type(exc)(f"block {rec.seq}: {exc}") from None
    n = p["n_lines"]
    return BlockLines(n, p["final_newline"], lambda: line(0), lambda: line(n - 1), [])
