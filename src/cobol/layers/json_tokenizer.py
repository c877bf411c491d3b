"""Lossless JSON tokenizer: any byte string -> a tiling of typed tokens.

The tokenizer never fails and never drops a byte: the tokens tile the input
exactly (token ``t`` spans ``starts[t]:starts[t + 1]``), so the concatenation of
all token spans *is* the input, whatever it is (valid JSON, JSON lines, a
fragment cut in the middle of a document, comments, NaN, binary junk).

Token kinds:

- ``WS``: a maximal run of space, tab, CR, LF;
- ``OBJ_OPEN``/``OBJ_CLOSE``/``ARR_OPEN``/``ARR_CLOSE``/``COLON``/``COMMA``: one byte;
- ``KEY``: a string (quotes included) whose next non-whitespace byte is ``:``;
- ``STRING``: any other string. A string runs from ``"`` to the next unescaped
  ``"`` on the same line; a backslash escapes the next byte (``\\u`` sequences
  are just ``\\`` + ``u``, so lone surrogates and bad escapes pass through
  verbatim). A quote with no closing quote before the end of the line or the
  input is *unterminated*: the quote alone becomes a ``RESIDUE`` token and
  tokenizing resumes after it, so one broken line cannot swallow the next;
- ``NUMBER``: a word made of ``[0-9.eE+-]`` that starts with ``-`` or a digit
  (spelling not checked here: ``1.2.3`` is a NUMBER; the encoder decides which
  spellings print back exactly);
- ``TRUE``/``FALSE``/``NULL``: exactly those words;
- ``RESIDUE``: any other *word* (a maximal run of bytes that are not whitespace,
  structural characters or quotes: ``NaN``, ``//``, a UTF-8 BOM, binary bytes)
  and unterminated quotes.

Nesting is tracked with a counter (no recursion anywhere), so a million nested
brackets tokenize like any other input; ``depths[t]`` is the number of
containers open *around* token ``t`` (an opener and its closer share a depth;
an unmatched closer stays at depth 0).

>>> import numpy as np
>>> tok = tokenize(b'{"a": [1, true]}')
>>> [KIND_NAMES[k] for k in tok.kinds]
['{', 'key', ':', 'ws', '[', 'number', ',', 'ws', 'true', ']', '}']
>>> tok.span(1)
b'"a"'
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import trailing_zeros

from .primitives import load_u64, zero_byte_mask

WS = 0
OBJ_OPEN = 1
OBJ_CLOSE = 2
ARR_OPEN = 3
ARR_CLOSE = 4
COLON = 5
COMMA = 6
KEY = 7
STRING = 8
NUMBER = 9
TRUE = 10
FALSE = 11
NULL = 12
RESIDUE = 13

KIND_NAMES = ("ws", "{", "}", "[", "]", ":", ",", "key", "string", "number",
              "true", "false", "null", "residue")

# byte classes
_C_WORD = 0
_C_WS = 1
_C_STRUCT = 2
_C_QUOTE = 3


def _make_tables():
    cls = np.zeros(256, np.uint8)
    for b in b" \t\r\n":
        cls[b] = _C_WS
    for b in b"{}[]:,":
        cls[b] = _C_STRUCT
    cls[ord('"')] = _C_QUOTE
    struct_kind = np.zeros(256, np.uint8)
    for ch, k in zip(b"{}[]:,", (OBJ_OPEN, OBJ_CLOSE, ARR_OPEN, ARR_CLOSE, COLON, COMMA)):
        struct_kind[ch] = k
    numchar = np.zeros(256, np.uint8)
    for b in b"0123456789.eE+-":
        numchar[b] = 1
    return cls, struct_kind, numchar


BYTE_CLASS, STRUCT_KIND, NUMBER_CHAR = _make_tables()
_QUOTES = np.uint64(0x0101010101010101 * 34)
_BACKSLASHES = np.uint64(0x0101010101010101 * 92)
_LFS = np.uint64(0x0101010101010101 * 10)


@njit(cache=True, nogil=True)
def tokenize_kernel(buf, kinds, starts):
    """Fill kinds/starts (capacity >= len(buf) + 1); return (the token count,
    the largest token depth, 0 when none).

    ``starts[count]`` is set to ``len(buf)`` so that every token's end is the
    next token's start. Depths are not written (:func:`token_depths` makes
    them from the kinds when asked for: the encoder needs only the largest,
    and writing 4 bytes per token cost it as much as the kinds and starts).
    """
    n = buf.size
    cls = BYTE_CLASS
    skind = STRUCT_KIND
    numchar = NUMBER_CHAR
    i = 0
    t = 0
    depth = 0
    max_depth = 0
    while i < n:
        b = buf[i]
        c = cls[b]
        starts[t] = i
        if c == _C_WS:
            j = i + 1
            while j < n and cls[buf[j]] == _C_WS:
                j += 1
            kinds[t] = WS
            max_depth = max(max_depth, depth)
            i = j
        elif c == _C_STRUCT:
            k = skind[b]
            if k == OBJ_CLOSE or k == ARR_CLOSE:
                if depth > 0:
                    depth -= 1
            max_depth = max(max_depth, depth)  # (the token's depth; only an opener raises it, after)
            if k == OBJ_OPEN or k == ARR_OPEN:
                depth += 1
            kinds[t] = k
            i += 1
        elif c == _C_QUOTE:
            j = i + 1
            closed = False
            while j < n:
                if j + 8 <= n:
                    # eight bytes at a time to the next quote, backslash or LF
                    v = load_u64(buf, j)
                    z = zero_byte_mask(v ^ _QUOTES) | zero_byte_mask(v ^ _BACKSLASHES) | zero_byte_mask(v ^ _LFS)
                    if z == 0:
                        j += 8
                        continue
                    j += np.int64(trailing_zeros(z) >> 3)
                bj = buf[j]
                if bj == 34:  # "
                    closed = True
                    break
                if bj == 10:  # raw LF: unterminated
                    break
                if bj == 92:  # backslash escapes the next byte, except a LF
                    if j + 1 < n and buf[j + 1] != 10:
                        j += 2
                        continue
                    break
                j += 1
            max_depth = max(max_depth, depth)
            if closed:
                end = j + 1
                k = end
                while k < n and cls[buf[k]] == _C_WS:
                    k += 1
                if k < n and buf[k] == 58:  # :
                    kinds[t] = KEY
                else:
                    kinds[t] = STRING
                i = end
            else:
                kinds[t] = RESIDUE
                i += 1
        else:
            j = i + 1
            numeric = np.uint8(1)  # (every byte after the first a number character; one pass)
            while j < n:
                bj = buf[j]
                if cls[bj] != _C_WORD:
                    break
                numeric &= numchar[bj]
                j += 1
            length = j - i
            kind = RESIDUE
            if b == 45 or (48 <= b <= 57):  # - or digit
                if numeric:
                    kind = NUMBER
            elif length == 4 and b == 116 and buf[i + 1] == 114 and buf[i + 2] == 117 and buf[i + 3] == 101:
                kind = TRUE
            elif length == 4 and b == 110 and buf[i + 1] == 117 and buf[i + 2] == 108 and buf[i + 3] == 108:
                kind = NULL
            elif (length == 5 and b == 102 and buf[i + 1] == 97 and buf[i + 2] == 108
                  and buf[i + 3] == 115 and buf[i + 4] == 101):
                kind = FALSE
            kinds[t] = kind
            max_depth = max(max_depth, depth)
            i = j
        t += 1
    starts[t] = n
    return t, max_depth


@njit(cache=True, nogil=True)
def token_depths(kinds):
    """``depths[t]``: how many containers are open around token ``t`` (an
    opener and its closer share a depth; an unmatched closer stays at 0)."""
    depths = np.empty(kinds.size, np.int32)
    depth = 0
    for t in range(kinds.size):
        k = kinds[t]
        if k == OBJ_CLOSE or k == ARR_CLOSE:
            if depth > 0:
                depth -= 1
        depths[t] = depth
        if k == OBJ_OPEN or k == ARR_OPEN:
            depth += 1
    return depths


@dataclass
class Tokens:
    """The token tiling of one buffer (arrays are views of length ``count``)."""

    buf: np.ndarray
    kinds: np.ndarray
    #: ``count + 1`` entries; the last is ``len(buf)``
    starts: np.ndarray
    #: the largest of ``depths`` (0 without tokens)
    max_depth: int = 0
    _depths: np.ndarray | None = None

    @property
    def depths(self) -> np.ndarray:
        """Containers open around each token (made on first use)."""
        if self._depths is None:
            self._depths = token_depths(self.kinds)
        return self._depths

    @property
    def count(self) -> int:
        return self.kinds.size

    def span(self, t: int) -> bytes:
        return self.buf[self.starts[t]:self.starts[t + 1]].tobytes()


def as_u8(data) -> np.ndarray:
    if isinstance(data, np.ndarray):
        return np.ascontiguousarray(data).view(np.uint8).ravel()
    return np.frombuffer(data, dtype=np.uint8)


def tokenize(data) -> Tokens:
    """Tokenize bytes-like ``data`` (at most 2 GiB: token offsets are int32)."""
    buf = as_u8(data)
    n = buf.size
    if n >= 1 << 31:
        raise ValueError("json tokenizer: input over 2 GiB; cut it into blocks")
    kinds = np.empty(n + 1, np.uint8)
    starts = np.empty(n + 1, np.int32)
    count, max_depth = tokenize_kernel(buf, kinds, starts)
    return Tokens(buf, kinds[:count], starts[:count + 1], int(max_depth))
