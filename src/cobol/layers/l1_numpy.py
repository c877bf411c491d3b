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

import numpy as np

from ..errors import FormatError
from .l1_stream import (  # noqa: F401  (TRANSFORM_ID, STREAM_BOUND: the names callers use from here)
    CAP, ESC, NEWLINE, NOSPACE, STREAM_BOUND, TRANSFORM_ID, UPPER, L1Streams, anchors, literal_code,
)

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


class L1Block(L1Streams):
    """The streams of one l1 block (:class:`~cobol.layers.l1_stream.L1Streams`)
    with the arrays to cut its lines and decode them."""

    def __init__(self, streams: list, raw_len: int):
        super().__init__(streams, raw_len)
        body = self.body
        # word lengths from the newlines' places: NumPy, as a dictionary holds up to 8,288 words
        cuts = np.flatnonzero(np.frombuffer(body, np.uint8) == NEWLINE)
        bounds = np.concatenate(([-1], cuts, [len(body)])).astype(np.int64) if body else np.zeros(1, np.int64)
        lens = np.diff(bounds) - 1
        self.src = np.frombuffer(self.coded, np.uint8)
        self.word_len = lens
        # each word after a space, back to back: word i's space is at word_at[i]
        self.word_at = bounds[:-1] + 1
        self.spaced = np.frombuffer(b" " + body.replace(b"\n", b" ") if body else b"", np.uint8)
        self.word_last = self.spaced[self.word_at + lens] if lens.size else np.zeros(0, np.uint8)
        self._line_ends = None

    # -- tokens and lines -----------------------------------------------------
    def _consumers(self, b: np.ndarray) -> np.ndarray:
        return (b == ESC) | (b >= self.lead2) if self.lead2 <= 255 else b == ESC

    def _heads(self, src: np.ndarray) -> np.ndarray:
        """Which bytes of ``src`` (a stream, or a run of whole lines of it) are token heads."""
        n = src.size
        cons = self._consumers(src)
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
            check = before[self._consumers(src[before])]
            if check.size:
                # the consumer run ending at each byte before a checked 0x0A: its length's parity
                # says whether that byte is a head (then the 0x0A is its second byte)
                run = np.ones(check.size, np.int64)
                active = np.arange(check.size)
                for _ in range(64):
                    at = check[active] - run[active]
                    more = (at >= 0)
                    more[more] = self._consumers(src[at[more]])
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

    def _all_line_ends(self):
        return set(self.line_ends().tolist())

    @property
    def n_lines(self) -> int:
        """Lines of the output (a last line without a newline counts)."""
        ends = self.line_ends()
        return ends.size + (1 if self.src.size and (not ends.size or ends[-1] != self.src.size - 1) else 0)

    # -- search ---------------------------------------------------------------
    def candidate_lines(self, strings: list, ignore_case: bool, limit: int | None = None) -> np.ndarray | None:
        """Indices of the lines that may hold one of the fixed ``strings``
        (sorted; empty when none can), or None when every line must be looked
        at (a string of spaces only, or only anchors held by many words).

        Per string, one anchor selects the lines: the longest first, anchors
        coded by a one-byte code (the 96 most frequent words) last, and the
        next one tried while an anchor's codings are found more than
        FEW_HITS times (every anchor holds for every occurrence, so any one
        selects a superset of the matching lines). ``limit``: None as well
        once the anchors are found more than ``limit`` times in all (the
        search stops there)."""
        hay = self.coded.lower() if ignore_case else self.coded
        positions = []
        for s in strings:
            options = self.anchor_options(s, ignore_case)
            if not options:
                return None
            best = None
            for _, _, codes in options:
                found = _find_all(hay, codes, FEW_HITS)
                if found is not None:
                    best = found
                    break
            if best is None:
                best = _find_all(hay, options[0][2], None if limit is None else limit - len(positions))
                if best is None:
                    return None
            positions += best
            if limit is not None and len(positions) > limit:
                return None
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
        if self._consumers(src[h[-1:]])[0] and h[-1] + 1 >= n:
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
