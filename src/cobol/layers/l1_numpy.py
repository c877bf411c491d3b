"""An L1 block (transform 50, docs/transforms/l1.md) read with whole-array NumPy, for ``cobol grep``.

The Numba decoder of :mod:`cobol.layers.l1_semantic` costs ~0.5 s of CPU to
import and first call, more than ``cobol grep`` needs to search most files.
:class:`L1Block` reads the same two streams with NumPy alone: it splits the
``words`` stream into its *lines* (the code of each output line, up to and
including its newline) without decoding it, finds the lines that may hold a
fixed string (:meth:`L1Block.candidate_lines`) with bytes searches, and
decodes any set of lines (:meth:`L1Block.render_lines`) or the whole block.

Tokens. A byte of the ``words`` stream is the *head* of a token unless the
token before it is an ``ESC`` or a two-byte code (lead byte >= 0x80 + n1),
whose second byte it is. Only those two *consumer* bytes take a second
byte, so inside a maximal run of consumer bytes the heads alternate from the
run's first byte (the byte before a run is not a consumer, so the run's
first byte is a head whatever came before), and the byte after the run is a
head when the run's length is even. An output newline is a literal 0x0A
token (a head, or the payload of a head ``ESC``): words never hold one, nor
does the space a code implies. So the stream's lines are cut at those 0x0A
bytes, and since a newline implies no space and sets no flag, a line (or any
run of whole lines) decodes on its own exactly as inside the block.

Search (a fixed string ``s``, no newline in it). Two facts hold for every
stream the L1 encoder writes (docs/transforms/l1.md "Encoder invariants";
``cobol grep`` depends on them): (I1) every maximal run of word bytes of the
output comes from one code (a dictionary word, maybe Capitalised or UPPER)
or from literal tokens only; (I2) ``ESC`` precedes only bytes >= 0x80 and
0x01-0x04. Then for any *anchor* of ``s``:

- a maximal run ``A`` of word bytes of ``s`` lies inside a maximal word run
  of the output, so either ``A`` (ASCII case folded) is inside a dictionary
  word and that word's code is in the stream, or ``A``'s literal coding
  (letters as they are, bytes >= 0x80 after ``ESC``) is in the stream;
- a maximal run of bytes of ``s`` that are neither word bytes nor the space
  comes from literal tokens only (codes write spaces and word bytes), so its
  literal coding (0x01-0x04 after ``ESC``) is in the stream.

A block whose stream holds some anchor of every string in neither form
cannot match; otherwise the lines holding the rarest anchor's codings are
the candidates (found byte-wise, so a hit inside another token only adds a
line that the caller's match then rejects).

Checks: the dictionary's (as ``WordCoder.from_bytes``), every decoded token
(bad code, dangling flag, truncated token) and the decoded length of a whole
block; each failure is a FormatError. Decoding holds ~30 bytes of index
arrays per output byte.

>>> from cobol.layers.l1_semantic import WordTransform
>>> from cobol.registry import EncodeContext
>>> text = b"The failed job was retried. The job then ran.\\n" * 40 + b"Disk quota exceeded on /srv\\n"
>>> enc = WordTransform().encode(text, EncodeContext(fmt="text"))
>>> b = L1Block(enc.streams, len(text))
>>> lines = b.candidate_lines([b"quota"], ignore_case=False)
>>> lines.tolist(), bytes(b.render_lines(lines))
([40], b'Disk quota exceeded on /srv\\n')
>>> bytes(b.render_all()) == text
True
"""

from __future__ import annotations

import re

import numpy as np

from ..errors import FormatError, LimitError
from ..registry import DECODED_SLACK

TRANSFORM_ID = 50
ESC, CAP, UPPER, NOSPACE = 1, 2, 3, 4
MAX_WORD = 64
_VERSION = 1
NEWLINE = 10
#: an anchor held by more dictionary words than this is not used to select lines
MAX_ANCHOR_WORDS = 64
#: an anchor found more often than this in a block's code gives way to the next
FEW_HITS = 1024


def _byte_table(members) -> np.ndarray:
    t = np.zeros(256, np.bool_)
    t[list(members)] = True
    return t


#: the same tables as l1_semantic's (a test compares them)
WORD_BYTE = _byte_table(list(range(65, 91)) + list(range(97, 123)) + list(range(128, 256)))
SPACE_IMPLIED = ~_byte_table(b" \t\n\r\x0c\x00([{\"'/-<=`_@#$*~\\|")
SENTENCE_END = _byte_table(b".!?")
#: what a stored dictionary body may hold: lowercase word bytes and newlines
_DICT_BYTES = bytes(range(97, 123)) + bytes(range(128, 256)) + b"\n"


class StreamBound:
    """The l1 transform's bound on a block's stream table (the values
    :class:`cobol.layers.l1_semantic.WordTransform` declares), for a reader
    that has not imported it."""

    name = "l1"
    max_streams = 2
    expansion = 4

    def decoded_limit(self, params: bytes, raw_len: int) -> int:
        return self.expansion * raw_len + DECODED_SLACK


STREAM_BOUND = StreamBound()


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The indices starts[i] .. starts[i] + lengths[i] - 1, range after range."""
    first = np.zeros(lengths.size, np.int64)
    np.cumsum(lengths[:-1], out=first[1:])
    return np.repeat(starts - first, lengths) + np.arange(int(lengths.sum()), dtype=np.int64)


def _sorted_unique(a: np.ndarray) -> np.ndarray:
    """np.unique without its import of numpy.ma (~50 ms of a search's start-up)."""
    a = np.sort(a)
    keep = np.ones(a.size, np.bool_)
    keep[1:] = a[1:] != a[:-1]
    return a[keep]


def _find_all(hay: bytes, needles: list, limit: int | None) -> list | None:
    """Where the needles occur in ``hay`` (overlapping hits included), or None
    when there are more than ``limit``."""
    out = []
    for c in needles:
        at = hay.find(c)
        while at >= 0:
            out.append(at)
            if limit is not None and len(out) > limit:
                return None
            at = hay.find(c, at + 1)
    return out


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


class L1Block:
    """The streams of one l1 block: ``dict`` parsed and checked, ``words`` kept
    coded until lines of it are rendered."""

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
        # word lengths from the newlines' places: NumPy, as a dictionary holds up to 8,288 words
        cuts = np.flatnonzero(np.frombuffer(body, np.uint8) == NEWLINE)
        bounds = np.concatenate(([-1], cuts, [len(body)])).astype(np.int64) if body else np.zeros(1, np.int64)
        lens = np.diff(bounds) - 1
        if lens.size and (lens.min() < 1 or lens.max() > MAX_WORD):
            raise FormatError("l1: dictionary word empty or too long")
        if len(set(words)) != len(words):
            raise FormatError("l1: duplicate dictionary words")
        if len(words) > n1 + (128 - n1) * 256:
            raise LimitError(f"l1: {len(words)} words exceed the code space of n1={n1}")
        self.n1, self.lead2, self.raw_len = n1, 0x80 + n1, raw_len
        self.words, self.body = words, body
        self.coded = bytes(streams[1])
        self.src = np.frombuffer(self.coded, np.uint8)
        self.word_len = lens
        # each word after a space, back to back: word i's space is at word_at[i]
        self.word_at = bounds[:-1] + 1
        self.spaced = np.frombuffer(b" " + body.replace(b"\n", b" ") if body else b"", np.uint8)
        self.word_last = self.spaced[self.word_at + lens] if lens.size else np.zeros(0, np.uint8)
        self._line_ends = None

    # -- tokens and lines -----------------------------------------------------
    def _consumer(self, b: np.ndarray) -> np.ndarray:
        return (b == ESC) | (b >= self.lead2) if self.lead2 <= 255 else b == ESC

    def _heads(self, src: np.ndarray) -> np.ndarray:
        """Which bytes of ``src`` (a stream, or a run of whole lines of it) are token heads."""
        n = src.size
        cons = self._consumer(src)
        idx = np.arange(n, dtype=np.int64)
        last_other = np.maximum.accumulate(np.where(cons, -1, idx))
        head_cons = cons & (((idx - last_other) & 1) == 1)  # even offset inside its consumer run
        head = np.ones(n, np.bool_)
        head[1:] = ~head_cons[:-1]
        return np.where(cons, head_cons, head)

    def line_ends(self) -> np.ndarray:
        """Stream positions of the output's newlines (each line's code ends there, inclusive)."""
        if self._line_ends is not None:
            return self._line_ends
        src = self.src
        nl = np.flatnonzero(src == NEWLINE)
        if nl.size:
            before = nl[nl > 0] - 1
            check = before[self._consumer(src[before])]
            if check.size:
                # the consumer run ending at each byte before a checked 0x0A: its length's parity
                # says whether that byte is a head (then the 0x0A is its second byte)
                run = np.ones(check.size, np.int64)
                active = np.arange(check.size)
                for _ in range(64):
                    at = check[active] - run[active]
                    more = (at >= 0)
                    more[more] = self._consumer(src[at[more]])
                    active = active[more]
                    if not active.size:
                        break
                    run[active] += 1
                if active.size:  # long consumer runs: the whole stream's heads
                    heads = self._heads(src)
                    run = np.where(heads[check], 1, 2)
                lead_head = (run & 1) == 1  # the byte before the 0x0A is a head
                second = lead_head & (src[check] != ESC)  # a two-byte code's second byte
                keep = np.ones(nl.size, np.bool_)
                keep[np.searchsorted(nl, check[second] + 1)] = False
                nl = nl[keep]
        self._line_ends = nl
        return nl

    def _is_newline(self, i: int) -> bool:
        """Whether the 0x0A at stream position i is an output newline (the
        consumer run before it, walked back; line_ends() past 64 bytes)."""
        run = 0
        while i - 1 - run >= 0 and self._consumer(self.src[i - 1 - run]):
            run += 1
            if run > 64:
                return bool(np.searchsorted(self.line_ends(), i) < self.line_ends().size
                            and self.line_ends()[np.searchsorted(self.line_ends(), i)] == i)
        return run % 2 == 0 or self.src[i - 1] == ESC

    def has_newline(self) -> bool:
        """Whether the output holds a newline (a few 0x0A bytes checked, usually the first)."""
        if self._line_ends is not None:
            return bool(self._line_ends.size)
        at = self.coded.find(b"\n")
        for _ in range(16):
            if at < 0:
                return False
            if self._is_newline(at):
                return True
            at = self.coded.find(b"\n", at + 1)
        return bool(self.line_ends().size)

    @property
    def final_newline(self) -> bool:
        n = self.src.size
        return bool(n) and self.coded[-1] == NEWLINE and self._is_newline(n - 1)

    @property
    def n_lines(self) -> int:
        """Lines of the output (a last line without a newline counts)."""
        ends = self.line_ends()
        return ends.size + (1 if self.src.size and (not ends.size or ends[-1] != self.src.size - 1) else 0)

    # -- search ---------------------------------------------------------------
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
            holding = np.searchsorted(self.word_at, np.array(sorted(found), np.int64), "right") - 1
            for i in sorted(set(holding.tolist())):
                if i < self.n1:
                    codes.append(bytes([0x80 + i]))
                else:
                    k = i - self.n1
                    c = bytes([self.lead2 + (k >> 8), k & 0xFF])
                    codes.append(c.lower() if ignore_case else c)
        return codes

    def candidate_lines(self, strings: list, ignore_case: bool) -> np.ndarray | None:
        """Indices of the lines that may hold one of the fixed ``strings``
        (sorted; empty when none can), or None when every line must be looked
        at (a string of spaces only, or only anchors held by many words).

        Per string, one anchor selects the lines: the longest first, anchors
        coded by a one-byte code (the 96 most frequent words) last, and the
        next one tried while an anchor's codings are found more than
        FEW_HITS times (every anchor holds for every occurrence, so any one
        selects a superset of the matching lines)."""
        hay = self.coded.lower() if ignore_case else self.coded
        positions = []
        for s in strings:
            words, others = anchors(s)
            options = []
            for a, is_word in [(w, True) for w in words] + [(o, False) for o in others]:
                codes = self._codings(a, is_word, ignore_case)
                if codes is not None:
                    options.append((any(len(c) == 1 and c[0] >= 0x80 for c in codes[1:]), -len(a), codes))
            if not options:
                return None
            options.sort(key=lambda o: o[:2])
            best = None
            for _, _, codes in options:
                found = _find_all(hay, codes, FEW_HITS)
                if found is not None:
                    best = found
                    break
            positions += best if best is not None else _find_all(hay, options[0][2], None)
        if not positions:
            return np.zeros(0, np.int64)
        return _sorted_unique(np.searchsorted(self.line_ends(), np.array(positions, np.int64), "left"))

    # -- rendering ------------------------------------------------------------
    def render_lines(self, lines: np.ndarray) -> np.ndarray:
        """The output of the given lines (sorted indices), back to back, each with its newline."""
        ends = self.line_ends()
        starts = np.zeros(ends.size + 1, np.int64)
        starts[1:] = ends + 1
        stops = np.append(ends + 1, self.src.size)
        lines = np.asarray(lines, np.int64)
        if lines.size and (lines[0] < 0 or lines[-1] >= stops.size):
            raise IndexError("line out of range")
        code = self.src[_ranges(starts[lines], stops[lines] - starts[lines])]
        return self._decode(code, None)

    def render_all(self) -> np.ndarray:
        return self._decode(self.src, self.raw_len)

    def _decode(self, src: np.ndarray, expect: int | None) -> np.ndarray:
        """Decode ``src`` (whole lines of the stream, the first starting at a
        token): exactly ``expect`` bytes when given, else at most raw_len."""
        n = src.size
        if n == 0:
            if expect:
                raise FormatError(f"l1: decoded 0 bytes, expected {expect}")
            return np.zeros(0, np.uint8)
        h = np.flatnonzero(self._heads(src))
        b = src[h].astype(np.int64)
        if self._consumer(src[h[-1:]])[0] and h[-1] + 1 >= n:
            raise FormatError("l1: dangling flag" if b[-1] == ESC else "l1: bad word code")
        nxt = src[np.minimum(h + 1, n - 1)].astype(np.int64)
        is_code = b >= 0x80
        is_case = (b == CAP) | (b == UPPER)
        is_nospace = b == NOSPACE
        is_esc = b == ESC
        next_code = np.append(is_code[1:], False)
        next_case = np.append(is_case[1:], False)
        if np.any(is_case & ~next_code) or np.any(is_nospace & ~(next_code | next_case)):
            raise FormatError("l1: dangling flag")
        code = np.where(b >= self.lead2, self.n1 + ((b - self.lead2) << 8) + nxt, b - 0x80)
        if np.any(is_code & (code >= self.word_len.size)):
            raise FormatError("l1: bad word code")
        out_tok = ~(is_case | is_nospace)
        t = np.flatnonzero(out_tok)
        tc = is_code[t]
        cidx = np.where(tc, code[t], 0)
        lit = np.where(is_esc[t], nxt[t], b[t])
        if self.word_len.size:
            last_byte = np.where(tc, self.word_last[cidx], lit)
            wlen = np.where(tc, self.word_len[cidx], 1)
        elif tc.any():
            raise FormatError("l1: bad word code")
        else:
            last_byte, wlen = lit, np.ones(t.size, np.int64)
        # for each output token: the byte before it (its predecessor's last) and its flags
        prev_last = np.zeros(t.size, np.int64)
        prev_last[1:] = last_byte[:-1]
        has_prev = np.ones(t.size, np.bool_)
        has_prev[:1] = False
        f1 = np.where(t >= 1, b[np.maximum(t - 1, 0)], 0)
        f2 = np.where(t >= 2, b[np.maximum(t - 2, 0)], 0)
        nospace = (f1 == NOSPACE) | (((f1 == CAP) | (f1 == UPPER)) & (f2 == NOSPACE))
        case = np.where(f1 == CAP, 1, np.where(f1 == UPPER, 2, 0))
        space = (tc & ~nospace & has_prev & SPACE_IMPLIED[prev_last]).astype(np.int64)
        sentence = (space == 1) & SENTENCE_END[prev_last]
        case = np.where(sentence & (case < 2), 1 - case, case)
        seg_len = np.where(tc, wlen + space, 1)
        base = self.spaced.size
        lit_at = base + h[t] + is_esc[t]
        seg_start = np.where(tc, self.word_at[cidx] + 1 - space if self.word_len.size else 0, lit_at)
        total = int(seg_len.sum())
        if expect is not None and total != expect or total > self.raw_len:
            raise FormatError(f"l1: decoded {total} bytes, expected {expect if expect is not None else self.raw_len}")
        source = np.concatenate([self.spaced, src])
        out = source[_ranges(seg_start, seg_len)]
        if np.any(case) and tc.any():
            off = np.zeros(t.size, np.int64)
            np.cumsum(seg_len[:-1], out=off[1:])
            first = off[case == 1] + space[case == 1]
            x = out[first]
            out[first] = np.where((x >= 97) & (x <= 122), x - 32, x)
            if np.any(case == 2):
                mask = np.repeat(case == 2, seg_len) & (out >= 97) & (out <= 122)
                out[mask] -= 32
        return out
