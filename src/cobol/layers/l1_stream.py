"""The part of an l1 block (transform 50, docs/transforms/l1.md) that
``cobol grep`` reads without NumPy: the dictionary (parsed and checked), the
*anchors* of a fixed string and their codings, the test that rules a block
out (:meth:`L1Streams.cannot_match`) and the newline checks at given places.
A search for a string that no l1 block can hold then never imports NumPy;
:class:`cobol.layers.l1_numpy.L1Block` adds the line cutting and decoding
(the reasoning behind both is in that module's docstring).

>>> from cobol.layers.l1_semantic import WordTransform
>>> from cobol.registry import EncodeContext
>>> text = b"The failed job was retried. The job then ran.\\n" * 40
>>> enc = WordTransform().encode(text, EncodeContext(fmt="text"))
>>> s = L1Streams(enc.streams, len(text))
>>> s.cannot_match([b"quota"], False), s.cannot_match([b"job then"], False), s.final_newline
(True, False, True)
"""

from __future__ import annotations

import re
from bisect import bisect_right

from ..errors import FormatError, LimitError
from ..registry import DECODED_SLACK

TRANSFORM_ID = 50
ESC, CAP, UPPER, NOSPACE = 1, 2, 3, 4
MAX_WORD = 64
_VERSION = 1
NEWLINE = 10
#: an anchor held by more dictionary words than this is not used to select lines
MAX_ANCHOR_WORDS = 64
#: what a stored dictionary body may hold: lowercase word bytes and newlines
_DICT_BYTES = bytes(range(97, 123)) + bytes(range(128, 256)) + b"\n"


class StreamBound:
    """The l1 transform's bound on a block's stream table, which
    :class:`cobol.layers.l1_semantic.WordTransform` takes from here, for a
    reader that has not imported it."""

    name = "l1"
    max_streams = 2
    expansion = 4

    def decoded_limit(self, params: bytes, raw_len: int) -> int:
        return self.expansion * raw_len + DECODED_SLACK


STREAM_BOUND = StreamBound()


def literal_code(s: bytes) -> bytes:
    """How the L1 encoder writes the bytes of ``s`` as literal tokens (ESC before
    bytes >= 0x80 and 0x01-0x04)."""
    return re.sub(rb"([\x01-\x04\x80-\xff])", b"\x01\\1", s)


def anchors(s: bytes) -> tuple[list, list]:
    """(maximal word-byte runs of ``s``, maximal runs of its bytes that are
    neither word bytes nor the space)."""
    words = re.findall(rb"[A-Za-z\x80-\xff]+", s)
    others = re.findall(rb"[^A-Za-z\x80-\xff ]+", s)
    return words, others


class L1Streams:
    """The streams of one l1 block: ``dict`` parsed and checked (as
    ``WordCoder.from_bytes`` checks it), ``words`` kept coded."""

    def __init__(self, streams: list, raw_len: int):
        if len(streams) != 2:
            raise FormatError(f"l1: expects 2 streams, got {len(streams)}")
        d = bytes(streams[0])
        if len(d) < 2 or d[0] != _VERSION:
            raise FormatError("l1: bad dictionary header")
        n1 = d[1]
        if not 1 <= n1 <= 127:
            raise FormatError(f"l1: one-byte code count {n1} out of range")
        body = d[2:]
        words = body.split(b"\n") if body else []
        if body.translate(None, _DICT_BYTES):
            raise FormatError("l1: dictionary word is not a lowercase word")
        if words and not 1 <= min(map(len, words)) <= max(map(len, words)) <= MAX_WORD:
            raise FormatError("l1: dictionary word empty or too long")
        if len(set(words)) != len(words):
            raise FormatError("l1: duplicate dictionary words")
        if len(words) > n1 + (128 - n1) * 256:
            raise LimitError(f"l1: {len(words)} words exceed the code space of n1={n1}")
        self.n1, self.lead2, self.raw_len = n1, 0x80 + n1, raw_len
        self.words, self.body = words, body
        self.coded = bytes(streams[1])
        self._word_starts = None

    def _word_of(self, at: int) -> int:
        """The index of the dictionary word at body position ``at``."""
        if self._word_starts is None:
            starts, p = [], 0
            for w in self.words:
                starts.append(p)
                p += len(w) + 1
            self._word_starts = starts
        return bisect_right(self._word_starts, at) - 1

    def _codings(self, a: bytes, is_word: bool, ignore_case: bool) -> list | None:
        """The byte strings one of which the (case-folded) stream holds where
        anchor ``a`` occurs: its literal coding and, for a word run, the code of
        every dictionary word holding it; None when more than MAX_ANCHOR_WORDS
        words hold it (an anchor that selects little)."""
        codes = [literal_code(a.lower() if ignore_case else a)]
        if is_word:
            key, body = a.lower(), self.body
            found = set()
            at = body.find(key)
            while at >= 0:
                found.add(at)
                if len(found) > MAX_ANCHOR_WORDS:
                    return None
                at = body.find(key, at + 1)
            for i in sorted({self._word_of(p) for p in found}):
                if i < self.n1:
                    codes.append(bytes([0x80 + i]))
                else:
                    k = i - self.n1
                    c = bytes([self.lead2 + (k >> 8), k & 0xFF])
                    codes.append(c.lower() if ignore_case else c)
        return codes

    def anchor_options(self, s: bytes, ignore_case: bool) -> list:
        """(is a one-byte code, -length, codings) of each usable anchor of ``s``."""
        words, others = anchors(s)
        options = []
        for a, is_word in [(w, True) for w in words] + [(o, False) for o in others]:
            codes = self._codings(a, is_word, ignore_case)
            if codes is not None:
                options.append((any(len(c) == 1 and c[0] >= 0x80 for c in codes[1:]), -len(a), codes))
        options.sort(key=lambda o: o[:2])
        return options

    def cannot_match(self, strings: list, ignore_case: bool) -> bool:
        """True when no line of the block can hold one of the fixed strings:
        every string has an anchor none of whose codings is in the stream."""
        hay = self.coded.lower() if ignore_case else self.coded
        for s in strings:
            if not any(all(c not in hay for c in codes) for _, _, codes in self.anchor_options(s, ignore_case)):
                return False
        return True

    # -- newlines at given places -----------------------------------------------
    def _consumer(self, b: int) -> bool:
        return b == ESC or b >= self.lead2

    def _is_newline(self, i: int) -> bool:
        """Whether the 0x0A at stream position i is an output newline (the
        consumer run before it, walked back; the whole-stream cut past 64
        bytes: NeedsLineCut here)."""
        run = 0
        coded = self.coded
        while i - 1 - run >= 0 and self._consumer(coded[i - 1 - run]):
            run += 1
            if run > 64:
                return i in self._all_line_ends()
        return run % 2 == 0 or coded[i - 1] == ESC

    def has_newline(self) -> bool:
        """Whether the output holds a newline (a few 0x0A bytes checked, usually the first)."""
        at = self.coded.find(b"\n")
        for _ in range(16):
            if at < 0:
                return False
            if self._is_newline(at):
                return True
            at = self.coded.find(b"\n", at + 1)
        return bool(len(self._all_line_ends()))

    @property
    def final_newline(self) -> bool:
        n = len(self.coded)
        return bool(n) and self.coded[-1] == NEWLINE and self._is_newline(n - 1)

    def _all_line_ends(self):
        """Every output newline's stream position: a whole-stream cut, which
        needs NumPy (:class:`cobol.layers.l1_numpy.L1Block` does it)."""
        raise NeedsLineCut("l1: a long run of consumer bytes; the stream's lines need the NumPy cut")


class NeedsLineCut(Exception):
    """The NumPy-free checks cannot decide where a newline is; read the block with L1Block."""
