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


def find_positions(raw: bytes, pieces, ignore_case: bool, start: int = 0, end: int | None = None) -> list:
    """Sorted offsets where any of the (newline-free) pieces occurs in
    ``raw[start:end]``, at most once per newline-ended item: bytes.find (a
    fast substring search, far faster than ``re`` on a literal) from the next
    item on after each hit."""
    end = len(raw) if end is None else end
    if ignore_case:
        raw = raw.lower()
        pieces = {p.lower() for p in pieces}
    out = []
    for p in pieces:
        at = raw.find(p, start, end)
        while at >= 0:
            out.append(at)
            nl = raw.find(b"\n", at, end)
            if nl < 0:
                break
            at = raw.find(p, nl + 1, end)
    return sorted(set(out))


_DIGIT_RUN = re.compile(rb"[0-9]+")


def skeleton_pattern(piece: bytes, ignore_case: bool) -> re.Pattern:
    """What a variable holding ``piece`` holds in its stored skeleton: the
    piece's non-digit bytes as they are, each run of its digits as digits
    (a column kept verbatim) or digit-chunk bytes 0x12 (a split column): a
    superset of the skeletons whose rendered text holds the piece."""
    parts = [re.escape(p) for p in _DIGIT_RUN.split(piece)]
    return re.compile(b"[0-9\\x12]+".join(parts), re.IGNORECASE if ignore_case else 0)


def skeleton_positions(skel: bytes, pieces, ignore_case: bool) -> tuple[list, list, bool]:
    """Where in the ``skeletons`` stream a variable may hold one of the
    (delimiter-free) pieces: (offsets where it is as it is, offsets of
    skeletons that :func:`skeleton_pattern` matches, whether all-digit pieces
    must still be looked for in the rendered variables), each offset at most
    once per skeleton.

    A skeleton without a digit-chunk byte 0x12 is its variable's text, so the
    pieces are looked for as they are (bytes.find) outside the items from the
    first to the last 0x12 of the stream (everywhere when a block keeps all
    its columns verbatim: the first list is then exact); inside them a piece
    with digits and other bytes is matched with :func:`skeleton_pattern`, and
    an all-digit piece is left to the rendered variables. Digit-free pieces
    are literal in any skeleton. (Before, a piece with digits was looked for
    by its longest non-digit run alone: ``:`` for ``04:45:48``, which
    selected most lines of a block for rendering.)"""
    lo = skel.find(b"\x12")
    if lo < 0:
        lo = hi = len(skel)
    else:
        lo = skel.rfind(b"\n", 0, lo) + 1
        hi = skel.find(b"\n", skel.rfind(b"\x12")) + 1 or len(skel)
    pieces = set(pieces)
    plain = {p for p in pieces if not _DIGIT_RUN.search(p)}
    exact = find_positions(skel, plain, ignore_case) if plain else []
    loose = []
    digits_only = False
    rest = pieces - plain
    if rest:
        exact += find_positions(skel, rest, ignore_case, 0, lo) + find_positions(skel, rest, ignore_case, hi)
        for p in rest:
            if hi <= lo:
                continue
            if _DIGIT_RUN.fullmatch(p):
                digits_only = True
            else:
                loose += [mo.start() for mo in skeleton_pattern(p, ignore_case).finditer(skel, lo, hi)]
    return exact, loose, digits_only


def stream_search(streams: list, m, delimiters: bytes = log_format.DELIMITERS) -> tuple | None:
    """What a fixed-string search finds in a log block's entropy-decoded
    streams with bytes searches alone: None when the strings cannot be looked
    for this way (a regular expression, or see :func:`searchable`), else
    (whether a template holds one, whether a raw line does, and
    :func:`skeleton_positions` of the strings' delimiter-free pieces). Done
    once per block: :func:`cannot_match` decides on it, and
    :func:`cobol.blocksearch.search_log_block` picks its candidate lines
    from it."""
    strings = m.fixed
    if strings is None or not searchable(strings):
        return None
    in_templates = m.block.search(streams[log_format.TEMPLATES]) is not None
    in_raw = m.block.search(streams[log_format.RAW]) is not None
    pieces = {p for s in strings for p in delimiter_pieces(s, delimiters)}
    found = skeleton_positions(bytes(streams[log_format.SKELETONS]), pieces, m.ignore_case) if pieces \
        else ([], [], False)
    return (in_templates, in_raw) + found


def cannot_match(streams: list, m, found: tuple | None = None, delimiters: bytes = log_format.DELIMITERS) -> bool:
    """True when no line of a log block can hold one of the fixed strings,
    decided on the entropy-decoded streams with bytes searches alone (no
    Numba kernel runs, none is imported): neither a template nor a raw line
    holds a string, and no string's delimiter-free pieces can lie in a
    variable (the same reasoning as blocksearch's candidate lines, which this
    only short-cuts). False means "render and look". ``found``: the block's
    :func:`stream_search`, when already made; ``delimiters``: the block's
    (:func:`block_delimiters`), for a search made here."""
    found = stream_search(streams, m, delimiters) if found is None else found
    return found is not None and not any(found[:2]) and not (found[2] or found[3] or found[4])


def tails_after_space(templates: bytes) -> bool:
    """Whether every tail template (last byte TAIL, params version 5) of a
    log block's templates stream has a literal space before its TAIL, as
    the encoder writes them (it cuts a line after a space)."""
    tail_end = bytes((log_format.TAIL, 10))
    return templates.count(tail_end) == templates.count(b" " + tail_end) and not templates.startswith(tail_end)


def message_suffixes(strings, any_suffix: bool) -> set:
    """The ends of the strings that an occurrence reaching from a line's
    header into its message (params version 5) puts at the start of that
    message: the parts after each space (the header ends with the space the
    line was cut after, :func:`tails_after_space`), or with ``any_suffix``
    every proper non-empty suffix."""
    out = set()
    for s in strings:
        for i in range(1, len(s)):
            if any_suffix or s[i - 1] == 0x20:
                out.add(s[i:])
    return out


def messages_may_match(messages: bytes, strings, ignore_case: bool, any_suffix: bool) -> bool:
    """Whether a version-5 block's messages stream may put one of the fixed
    strings on a line: a message holds a string, or starts with one of its
    :func:`message_suffixes` (an occurrence from the header on). Bytes
    searches alone."""
    if ignore_case:
        messages = messages.lower()
        strings = [s.lower() for s in strings]
    if any(s in messages for s in strings):
        return True
    starts = message_suffixes(strings, any_suffix)
    return any(messages.startswith(x) or b"\n" + x in messages for x in starts)


def word_messages_may_match(dict_stream, words_stream, message_bytes: int, strings, ignore_case: bool,
                            any_suffix: bool) -> bool:
    """:func:`messages_may_match` of a version-6 block, on its messages' L1
    word streams without decoding them (:meth:`cobol.layers.l1_stream.L1Streams.cannot_match`,
    no NumPy): False only when no line of the messages can hold a string nor
    one of its :func:`message_suffixes` (a suffix that starts a message is in
    that message's line). True where the word streams do not parse (the
    decoding path reports them)."""
    from .layers.l1_stream import L1Streams
    wanted = list(strings) + sorted(message_suffixes(strings, any_suffix))
    try:
        return not L1Streams([dict_stream, words_stream], message_bytes).cannot_match(wanted, ignore_case)
    except CobolError:
        return True


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
