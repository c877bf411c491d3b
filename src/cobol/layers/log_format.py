"""The log transform's (id 60) identity and params, without its Numba kernels.

:mod:`cobol.layers.l2_log` is the transform; this module holds what a reader
needs before it renders anything: the id, the stream names, the delimiter
bytes (variables never contain one), the params layout and the bound on a
block's stream table. ``cobol grep`` uses it to rule out log blocks that
cannot hold a fixed string from their entropy-decoded streams alone, without
importing Numba (whose import and first call cost more CPU than searching
megabytes of streams).

Params (docs/transforms/log.md)::

    u8 version (1, 2, 4, 5 or 6) | u8 flags (bit 0: the block ends with a newline;
    versions 5 and 6: bit 1: the skeletons are move-to-front coded)
    [version 2: u8 n_extra (1..3) | versions 4-6: u8 n_extra (0..3)]
    [n_extra bytes: extra delimiters, increasing, from EXTRA_DELIMITERS]
    varint n_lines | varint n_templates | varint n_common | varint n_vars | varint n_numbers
    | varint n_raw [versions 5 and 6: | varint n_messages] [version 6: | varint message_bytes]

Version 2 only adds the extra delimiters: the block's variables contain none
of ``DELIMITERS`` nor of them (what ``cobol grep`` relies on); the streams
and the decoding are version 1's. Version 4 adds a seventh stream, ``refs``:
the skeletons are move-to-front coded (:func:`expand_skeletons` gives back
the skeletons stream of versions 1-2; :mod:`.log_refs` has the encoder and
the decoder's kernel). Version 5 has eight streams, version 4's and
``messages``: a template whose last byte is TAIL (0x13) ends in the line's
*message*, the next newline-ended item of that stream (the refs stream is
empty unless flag bit 1 is set). ``cobol grep`` rules a version-5 block out
from its streams or renders it whole (:func:`has_messages`). Version 6 is
version 5 with the messages stream word coded: in its place two streams, the
L1 word transform's (transform 50) ``dict`` and ``words`` of the
``message_bytes`` bytes of messages (:func:`as_version5` gives back version
5's params and streams, the messages decoded by the caller's L1 decoder).
"""

from __future__ import annotations

from ..errors import FormatError
from ..format.wire import Reader
from ..registry import DECODED_SLACK

TRANSFORM_ID = 60
VERSION = 1
#: params version 2: version 1 plus extra delimiter bytes (the encoder writes
#: version 1 when a block has none, so such frames stay byte-identical)
VERSION_DELIMITERS = 2
#: params version 4: version 2 (any number of extra delimiters, 0 included)
#: plus the ``refs`` stream: skeletons move-to-front coded (version 3 is
#: left to a search index, branch log-grep7)
VERSION_REFS = 4
#: params version 5: version 4 (refs optional, flag bit 1) plus the
#: ``messages`` stream: line tails cut off at a template's final TAIL byte
VERSION_MESSAGES = 5
#: params version 6: version 5 with the messages stream L1 word coded (two
#: streams, ``messages_dict`` and ``messages_words``, for ``messages``)
VERSION_WORDS = 6
#: a template's last byte that stands for the line's message (version 5)
TAIL = 0x13
#: the streams of versions 1 and 2 (what every reader works on: a version-4
#: block's are brought back to these by :func:`canonical_streams`)
STREAM_NAMES = ("templates", "ids", "skeletons", "numbers", "widths", "raw")
#: the streams of version 4
STREAM_NAMES_REFS = STREAM_NAMES + ("refs",)
#: the streams of version 5 (the refs stream empty when flag bit 1 is not set)
STREAM_NAMES_MESSAGES = STREAM_NAMES_REFS + ("messages",)
#: the streams of version 6 (the L1 word transform's dict and words of the messages)
STREAM_NAMES_WORDS = STREAM_NAMES_REFS + ("messages_dict", "messages_words")
TEMPLATES, IDS, SKELETONS, NUMBERS, WIDTHS, RAW, REFS, MESSAGES = range(8)
MESSAGES_DICT, MESSAGES_WORDS = MESSAGES, MESSAGES + 1
#: the longest recency list of version 4's refs (a ref is one byte, 0 = new)
MAX_REF = 255
#: bytes that separate tokens. ``:``, ``.``, ``/`` and ``-`` are not among
#: them, so times, dates, IP addresses, versions and paths stay one variable
#: whose numbers are delta coded per chunk.
DELIMITERS = b" \t\r[](){}<>,;=\"'|"
#: bytes a version-2 block may add to DELIMITERS for its variables (``/``:
#: path segments become template text or variables of their own)
EXTRA_DELIMITERS = b"./:"


def block_delimiters(extra: bytes) -> bytes:
    """The delimiter bytes of a block with these extra delimiters."""
    return DELIMITERS + extra


def parse_params(params: bytes, raw_len: int) -> dict:
    """The params as a dict (final_newline, n_lines, n_templates, n_common,
    n_vars, n_numbers, n_raw, delimiters: the block's delimiter bytes, refs:
    whether the skeletons are move-to-front coded, version 4 and version 5
    with flag bit 1; messages: whether the block has messages, versions 5
    and 6, and then n_messages; words: whether they are word coded, version
    6, and then message_bytes, their decoded size); FormatError when they
    are not valid."""
    r = Reader(params, what="log params")
    version = r.u8("version")
    if version not in (VERSION, VERSION_DELIMITERS, VERSION_REFS, VERSION_MESSAGES, VERSION_WORDS):
        raise FormatError(f"log: unknown version {version}")
    flags = r.u8("flags")
    if flags > (3 if version >= VERSION_MESSAGES else 1):
        raise FormatError(f"log: unknown flags {flags:#x}")
    extra = b""
    if version != VERSION:
        n_extra = r.u8("extra delimiter count")
        if not (version >= VERSION_REFS or n_extra >= 1) or n_extra > len(EXTRA_DELIMITERS):
            raise FormatError(f"log: {n_extra} extra delimiters")
        extra = bytes(r.u8("extra delimiter") for _ in range(n_extra))
        if any(b not in EXTRA_DELIMITERS for b in extra) or any(a >= b for a, b in zip(extra, extra[1:])):
            raise FormatError(f"log: bad extra delimiters {extra!r}")
    n_lines = r.varint("line count", raw_len + 1)
    p = dict(final_newline=bool(flags & 1), n_lines=n_lines, delimiters=block_delimiters(extra),
             refs=version == VERSION_REFS or bool(flags & 2), messages=version >= VERSION_MESSAGES,
             words=version == VERSION_WORDS,
             n_templates=r.varint("template count", n_lines),
             n_common=r.varint("common template count", n_lines),
             n_vars=r.varint("variable count", raw_len),
             n_numbers=r.varint("number count", raw_len),
             n_raw=r.varint("raw line count", n_lines))
    p["n_messages"] = r.varint("message count", n_lines) if p["messages"] else 0
    p["message_bytes"] = r.varint("message bytes", raw_len + n_lines) if p["words"] else 0
    r.expect_end("log params")
    if p["n_common"] > p["n_templates"]:
        raise FormatError("log: more common templates than templates")
    return p


def stream_count(p: dict) -> int:
    """How many streams a block with these (parsed) params has."""
    if p["words"]:
        return len(STREAM_NAMES_WORDS)
    if p["messages"]:
        return len(STREAM_NAMES_MESSAGES)
    return len(STREAM_NAMES_REFS) if p["refs"] else len(STREAM_NAMES)


def has_messages(params: bytes) -> bool:
    """Whether a log block's params are version 5's or 6's (a block with
    messages, which ``cobol grep`` searches in its candidate lines or
    renders whole); bad params are left to the reader that parses them."""
    return bool(params) and params[0] in (VERSION_MESSAGES, VERSION_WORDS)


def words_coded(params: bytes) -> bool:
    """Whether a log block's params are version 6's (messages word coded);
    bad params are left to the reader that parses them."""
    return bool(params) and params[0] == VERSION_WORDS


def as_version5(streams: list, params: bytes, raw_len: int, decode_words) -> tuple[list, bytes]:
    """A version-6 block's (streams, params) as version 5's: the messages
    stream ``decode_words(dict, words, message_bytes)`` (an L1 decoder:
    the Numba one or the NumPy one of ``cobol grep``, each checks that the
    words decode to exactly message_bytes bytes) in place of the two word
    streams, and the params without message_bytes. Other blocks' are
    returned as they are. FormatError when the stream count does not match
    the params."""
    if not words_coded(params):
        return streams, params
    p = parse_params(params, raw_len)
    if len(streams) != stream_count(p):
        raise FormatError(f"log: expects {stream_count(p)} streams, got {len(streams)}")
    messages = decode_words(streams[MESSAGES_DICT], streams[MESSAGES_WORDS], p["message_bytes"])
    if len(messages) != p["message_bytes"]:
        raise FormatError(f"log: messages decode to {len(messages)} bytes, params say {p['message_bytes']}")
    return list(streams[:MESSAGES]) + [messages], version5_params(params)


def version5_params(params: bytes) -> bytes:
    """Valid version-6 params as version 5's: without message_bytes (which
    the caller has read)."""
    # message_bytes is the params' last varint: its last byte is the only one under 0x80
    cut = len(params) - 1
    while params[cut - 1] & 0x80:
        cut -= 1
    return bytes([VERSION_MESSAGES]) + params[1:cut]


def expand_skeletons(stored: bytes, refs: bytes, n_vars: int, raw_len: int) -> bytes:
    """Version 4's skeletons back as versions 1-2 store them (each variable's
    skeleton ended by a newline, in order), in Python: the readers that do
    not load Numba (``cobol grep``) use this; the decoder uses the kernel
    :func:`cobol.layers.log_refs.expand_refs`, which makes the same checks.
    ``stored``: the new skeletons, each ended by a newline; ``refs``: one byte
    per variable (0: the next new one; r: place r of the recency list, which
    keeps the MAX_REF latest). The result is at most ``raw_len + n_vars``
    bytes (a skeleton is never longer than its rendered variable)."""
    if len(refs) != n_vars:
        raise FormatError(f"log: {len(refs)} refs for {n_vars} variables")
    if stored and stored[-1] != 0x0A:
        raise FormatError("log: stored skeletons not ended by a newline")
    items = stored.split(b"\n")[:-1] if stored else []
    if refs.count(0) != len(items):
        raise FormatError(f"log: {refs.count(0)} new skeletons for {len(items)} stored")
    recent: list = []
    out = []
    nxt = iter(items)
    total = 0
    cap = raw_len + n_vars
    for r in refs:
        if r == 0:
            v = next(nxt)
            recent.insert(0, v)
            if len(recent) > MAX_REF:
                recent.pop()
        else:
            if r > len(recent):
                raise FormatError(f"log: ref {r} beyond the {len(recent)} recent skeletons")
            v = recent.pop(r - 1)
            recent.insert(0, v)
        total += len(v) + 1
        if total > cap:
            raise FormatError("log: skeletons longer than the block")
        out.append(v)
    return b"\n".join(out) + b"\n" if out else b""


def canonical_streams(streams: list, params: bytes, raw_len: int) -> list:
    """A log block's streams as versions 1-2 have them (6 streams, the
    skeletons in full): a version-4 block's skeletons expanded in Python
    (:func:`expand_skeletons`), other blocks' streams as they are.
    FormatError when the stream count does not match the params, and for a
    version-5 block (its messages have no place in versions 1-2: such a block
    is decoded whole, :func:`has_messages`)."""
    p = parse_params(params, raw_len)
    if len(streams) != stream_count(p):
        raise FormatError(f"log: expects {stream_count(p)} streams, got {len(streams)}")
    if p["messages"]:
        raise FormatError("log: a version-5 block (with messages) is read whole, not as version 2's streams")
    if not p["refs"]:
        return streams
    skel = expand_skeletons(bytes(streams[SKELETONS]), bytes(streams[REFS]), p["n_vars"], raw_len)
    return list(streams[:SKELETONS]) + [skel] + list(streams[SKELETONS + 1:REFS])


def column_layout(slots: np.ndarray, n_common: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Where each template's variables go: (slot_base, stride, n_cols).

    Slot s of template t (1-based; index 0 unused) is column
    ``slot_base[t] + s * stride[t]``. Templates 1..n_common get a column
    per slot; the rarer ones (stride 0) share the last column, in line order,
    because a column of one or two values keeps none of its neighbours.
    """
    import numpy as np  # (here: the checks ``cobol grep`` makes without NumPy import this module)
    n_t = slots.size - 1
    stride = np.zeros(n_t + 1, np.int64)
    stride[1:n_common + 1] = 1
    own = np.where(stride > 0, slots, 0)
    slot_base = np.zeros(n_t + 1, np.int64)
    slot_base[1:] = np.cumsum(own)[:-1]
    n_own = int(own.sum())
    slot_base[n_common + 1:] = n_own
    n_cols = n_own + (1 if n_common < n_t else 0)
    return slot_base, stride, n_cols


class StreamBound:
    """The log transform's bound on a block's stream table, which a decoder
    checks before it decodes any stream (docs/FORMAT.md "Memory bound"): the
    transform (:class:`cobol.layers.l2_log.LogTransform`) declares these same
    values, so a reader that has not imported it checks the same bound."""

    name = "log"
    max_streams = len(STREAM_NAMES_WORDS)
    expansion = 16

    def decoded_limit(self, params: bytes, raw_len: int) -> int:
        return self.expansion * raw_len + DECODED_SLACK


STREAM_BOUND = StreamBound()
