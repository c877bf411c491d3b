"""L1 semantic mapping: words of text to frequency-ordered dictionary codes.

:class:`WordCoder` is the API other layers call on their text streams (markup
text, JSON strings): ``WordCoder.train(text)`` builds a dictionary from a
sample, ``encode``/``decode`` map bytes to codes and back (any byte string
round-trips, NULs included, so NUL-separated streams stay NUL-separated), and
``to_bytes``/``from_bytes`` carry the dictionary in a stream. The transform
``l1`` (id 50) applies it to whole prose and log blocks.

Why it is shaped for zstd: the coded stream stays one byte stream in which
every code is a whole number of bytes, so zstd still finds repeated phrases
(as repeated code sequences) while its literal coder sees one symbol per word
instead of one per letter.

Coding (the "words" are maximal runs of ASCII letters and bytes >= 0x80):

- a word's *key* is its ASCII-lowercased form; the dictionary holds the keys
  seen at least ``min_count`` (5) times, most frequent first, at most 8,288;
- codes are bytes >= 0x80: the ``n1`` (96) most frequent keys get one byte,
  the rest two (a lead byte >= 0x80 + n1, then any byte) in alphabetical
  order, which makes the stored dictionary compress better than frequency
  order at about no cost to the code (measured);
- case: a word equal to its key costs nothing; ``Capitalised`` and ``UPPER``
  forms share the key's code after a one-byte flag (``CAP``, ``UPPER``);
  any other mix of cases is spelled out literally;
- spacing: a code stands for " " + word after most bytes, because nearly every
  word follows a space, and for the bare word at the start of the stream and
  after whitespace, NUL, brackets, quotes, ``/``, ``-`` and a few more
  (:data:`SPACE_IMPLIED`), where words follow with no space; only the
  exceptions cost a ``NOSPACE`` flag. (Measured: this removes most flags at
  line starts and gains about 1% on prose over an always-implied space.)
- every other byte is itself, except bytes >= 0x80 and the four flag bytes
  0x01-0x04, which are escaped with ``ESC`` (0x01).

So the stream stays ASCII outside codes and ordinary punctuation, digits and
line breaks pass through untouched.

>>> c = WordCoder.train(b"the cat and the dog and the bird " * 4)
>>> coded = c.encode(b"The cat, the DOG.")
>>> c.decode(coded, 17)
b'The cat, the DOG.'
"""

from __future__ import annotations

import numpy as np
import zstandard
from numba import njit
from numba.cpython.unsafe.numbers import trailing_zeros

from ..errors import FormatError, LimitError
from ..format.wire import Reader, put_varint
from ..registry import DecodeContext, Encoded, EncodeContext, Transform, register_transform
from .primitives import (COPY_SLACK, FNV64_OFFSET, copy_chunks, fnv1a64_step, load_u64, move_bytes, readonly,
                         spans_equal, store_u64, table_capacity, table_slot, unique_hashes)
# the wire's control bytes, word bound and dictionary version live in the
# NumPy-free reader that `cobol grep` uses
from .l1_stream import _VERSION, CAP, ESC, MAX_WORD, NOSPACE, STREAM_BOUND, TRANSFORM_ID, UPPER  # noqa: F401

DEFAULT_ONE_BYTE = 96
MAX_DICT = DEFAULT_ONE_BYTE + (128 - DEFAULT_ONE_BYTE) * 256
TRIAL_SAMPLE = 1 << 18


def _word_table():
    t = np.zeros(256, np.uint8)
    for b in range(256):
        if 65 <= b <= 90 or 97 <= b <= 122 or b >= 0x80:
            t[b] = 1
    return t


WORD_BYTE = _word_table()


def _space_table():
    """Where a word code implies a space before its word: after most bytes
    (words follow them after a space), but not at the start of a stream nor
    after the bytes listed here (line starts, brackets, quotes, paths,
    hyphens), where words follow with no space; so neither case needs a flag."""
    t = np.ones(256, np.bool_)
    for b in b" \t\n\r\x0c\x00([{\"'/-<=`_@#$*~\\|":
        t[b] = False
    return t


SPACE_IMPLIED = _space_table()
#: after these bytes (+ the implied space) a word is Capitalised unless flagged
SENTENCE_END = np.zeros(256, np.bool_)
SENTENCE_END[[ord("."), ord("!"), ord("?")]] = True
#: the decoder's view of the byte before a word code: bit 0 SPACE_IMPLIED, bit 1 SENTENCE_END
BEFORE_WORD = (SPACE_IMPLIED.astype(np.uint8) | (SENTENCE_END & SPACE_IMPLIED).astype(np.uint8) << 1)


@njit(cache=True, nogil=True)
def _lower(b):
    if 65 <= b <= 90:
        return b + 32
    return b


@njit(cache=True, nogil=True)
def lookup_hashes(keys_in, h):
    """Index of each h in keys_in (distinct non-zero uint64), or -1."""
    m = keys_in.size
    size = table_capacity(m)
    mask = np.uint64(size - 1)
    keys = np.zeros(size, np.uint64)
    vals = np.empty(size, np.int64)
    for i in range(m):
        x = keys_in[i]
        slot = table_slot(x, mask)
        while keys[slot] != 0 and keys[slot] != x:
            slot = (slot + np.uint64(1)) & mask
        keys[slot] = x
        vals[slot] = i
    out = np.empty(h.size, np.int64)
    for i in range(h.size):
        x = h[i]
        slot = table_slot(x, mask)
        r = -1
        while True:
            k = keys[slot]
            if k == x:
                r = vals[slot]
                break
            if k == 0:
                break
            slot = (slot + np.uint64(1)) & mask
        out[i] = r
    return out


#: per byte: 0 not a word byte, 1 a-z, 2 A-Z, 3 a byte >= 0x80 (WORD_BYTE split by case)
WORD_CLASS = np.where(WORD_BYTE != 0, 3, 0).astype(np.uint8)
WORD_CLASS[ord("a"):ord("z") + 1] = 1
WORD_CLASS[ord("A"):ord("Z") + 1] = 2
_HIGH_BIT = np.uint64(0x8080808080808080)
_KEY_MUL = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True, nogil=True, inline="always")
def _key_word(x):
    """8 bytes of a word, ASCII letters lowercased: a byte under 0x80 (a letter
    here) gets bit 0x20 (its high bit, clear, moved down two places), bytes >=
    0x80 stay as they are."""
    return x | ((~x & _HIGH_BIT) >> np.uint64(2))


_ONES = np.uint64(0x0101010101010101)
_CASE_BIT = np.uint64(0x2020202020202020)
_TO_A = np.uint64(0x1F1F1F1F1F1F1F1F)  # 0x80 - ord("a"): lifts "a".."\x7f" to 0x80 and up
_TO_PAST_Z = np.uint64(0x0505050505050505)  # 0x80 - ord("{")


@njit(cache=True, nogil=True, inline="always")
def _letter_bits(x):
    """(word bytes, uppercase letters, lowercase letters) of the 8 bytes ``x``,
    each as the high bit of its byte: a word byte is an ASCII letter or a byte
    >= 0x80 (WORD_BYTE). A byte under 0x80 with bit 0x20 set is a letter when
    it lies in "a".."z"; no sum carries into the next byte (7-bit values)."""
    high = x & _HIGH_BIT
    y = (x | _CASE_BIT) & _LOW7
    letter = ((y + _TO_A) & ~(y + _TO_PAST_Z)) & _HIGH_BIT & ~high
    lower = letter & ((x & _CASE_BIT) << np.uint64(2))
    return letter | high, letter & ~lower, lower


@njit(cache=True, nogil=True, inline="always")
def _high_count(m):
    """How many bytes of ``m`` have their high bit set (no other bits set)."""
    return np.int64(((m >> np.uint64(7)) * _ONES) >> np.uint64(56))


@njit(cache=True, nogil=True)
def _find_words(buf, ws, we, wh, wc):
    """Word spans, key hashes and case classes (0 lower, 1 Capitalised,
    2 UPPER, 3 other). Words longer than MAX_WORD get class 3. Returns the count.

    Bytes are classified 8 at a time (:func:`_letter_bits`): a word's end and
    its counts of upper- and lowercase letters come from one or two 8-byte
    steps instead of a branch per byte; the last 7 bytes of the buffer go
    byte by byte (WORD_CLASS). The key hash only groups equal keys within one
    run (it is never stored): the word's length, then its lowercased bytes 8
    at a time (an xor, a multiply and an xor-shift per 8 bytes; the last 1-7
    bytes zero-padded). Keys of up to 8 bytes never collide: for one length
    the steps are a bijection, and keys of different lengths differ in a byte
    the length's xor does not touch (a word byte is never zero)."""
    n = buf.size
    table = WORD_CLASS
    nw = 0
    i = 0
    while i < n:
        # the next word byte
        if i + 8 <= n:
            w = _letter_bits(load_u64(buf, i))[0]
            if w == 0:
                i += 8
                continue
            i += np.int64(trailing_zeros(w) >> 3)
        elif table[buf[i]] == 0:
            i += 1
            continue
        first_up = table[buf[i]] == 2
        n_up = 0
        n_low = 0
        j = i
        while True:
            if j + 8 <= n:
                w, up, low = _letter_bits(load_u64(buf, j))
                stop = ~w & _HIGH_BIT
                if stop != 0:
                    keep = (stop & (~stop + np.uint64(1))) - np.uint64(1)  # the bytes below the first non-word byte
                    n_up += _high_count(up & keep)
                    n_low += _high_count(low & keep)
                    j += np.int64(trailing_zeros(stop) >> 3)
                    break
                n_up += _high_count(up)
                n_low += _high_count(low)
                j += 8
                continue
            if j == n:
                break
            c = table[buf[j]]
            if c == 0:
                break
            if c == 2:
                n_up += 1
            elif c == 1:
                n_low += 1
            j += 1
        h = FNV64_OFFSET ^ np.uint64(j - i)
        p = i
        while p + 8 <= j:
            h = (h ^ _key_word(load_u64(buf, p))) * _KEY_MUL
            h ^= h >> np.uint64(29)
            p += 8
        if p < j:
            r = j - p
            if p + 8 <= n:
                x = load_u64(buf, p)
            else:
                x = np.uint64(0)
                for k in range(r):
                    x |= np.uint64(buf[p + k]) << np.uint64(8 * k)
            x = _key_word(x) & ((np.uint64(1) << np.uint64(8 * r)) - np.uint64(1))
            h = (h ^ x) * _KEY_MUL
            h ^= h >> np.uint64(29)
        ws[nw] = i
        we[nw] = j
        wh[nw] = h | np.uint64(1)
        if j - i > MAX_WORD:
            c = 3
        elif n_up == 0:
            c = 0
        elif first_up and n_up == 1:
            c = 1
        elif n_low == 0 and n_up >= 2:
            c = 2
        else:
            c = 3
        wc[nw] = c
        nw += 1
        i = j
    return nw


@njit(cache=True, nogil=True)
def _same_key(buf, a0, a1, b0, b1):
    if a1 - a0 != b1 - b0:
        return False
    for k in range(a1 - a0):
        if _lower(buf[a0 + k]) != _lower(buf[b0 + k]):
            return False
    return True


@njit(cache=True, nogil=True)
def _verify_keys(buf, ws, we, rep_of):
    for i in range(ws.size):
        r = rep_of[i]
        if not _same_key(buf, ws[i], we[i], ws[r], we[r]):
            return False
    return True


@njit(cache=True, nogil=True)
def _encode_kernel(buf, ws, we, wc, wcode, n1, out):
    """wcode[i]: dictionary index of word i or -1. Returns bytes written."""
    n = buf.size
    implied = SPACE_IMPLIED
    ends = SENTENCE_END
    o = 0
    p = 0
    for i in range(ws.size):
        a = ws[i]
        code = wcode[i]
        c = wc[i]
        if code < 0 or c == 3:
            continue
        # literal bytes before the word, except a single space right before it
        # when the byte before that space implies one (see SPACE_IMPLIED)
        end = a
        flag = False
        sentence = False
        if a > p and buf[a - 1] == 32:
            if a >= 2 and implied[buf[a - 2]]:
                end = a - 1
                sentence = ends[buf[a - 2]]
        elif a > 0 and implied[buf[a - 1]]:
            flag = True
        o = _copy_literals(buf, p, end, out, o)
        if flag:
            out[o] = NOSPACE
            o += 1
        if sentence:  # Capitalised by default: CAP marks a lowercase word
            if c == 0 and 97 <= buf[a] <= 122:
                out[o] = CAP
                o += 1
        elif c == 1:
            out[o] = CAP
            o += 1
        if c == 2:
            out[o] = UPPER
            o += 1
        if code < n1:
            out[o] = 0x80 + code
            o += 1
        else:
            k = code - n1
            out[o] = 0x80 + n1 + (k >> 8)
            out[o + 1] = k & 0xFF
            o += 2
        p = we[i]
    return _copy_literals(buf, p, n, out, o)


@njit(cache=True, nogil=True, inline="always")
def _copy_literals(buf, p, end, out, o):
    """buf[p:end] as literal bytes at out[o:], ESC before bytes >= 0x80 and the
    flag bytes 0x01-0x04; returns the new ``o``. Eight bytes at a time while
    none of them needs an ESC (the text between coded words: digits,
    punctuation, words not in the dictionary); ``out`` has room for 8 bytes
    past any literal (it is sized for the worst case)."""
    while p + 8 <= end:
        x = load_u64(buf, p)
        if _code_or_flag_bytes(x) != 0:
            break
        store_u64(out, o, x)
        p += 8
        o += 8
    for j in range(p, end):
        b = buf[j]
        if b >= 0x80 or (b >= 1 and b <= 4):
            out[o] = ESC
            o += 1
        out[o] = b
        o += 1
    return o


#: a word slot: up to SLOT_WORD bytes of the word, then its length (0: a longer word)
SLOT = 16
SLOT_WORD = SLOT - 1
_HIGH_BITS = np.uint64(0x8080808080808080)
_LOW7 = np.uint64(0x7F7F7F7F7F7F7F7F)
_PAST4 = np.uint64(0x7B7B7B7B7B7B7B7B)


@njit(cache=True, nogil=True, inline="always")
def _code_or_flag_bytes(v):
    """The high bit of each byte of ``v`` that is a code byte (>= 0x80) or a
    flag (0x01-0x04), exactly (no borrow between bytes): NUL, the separator of
    the markup layer's text items, stays a literal."""
    y = v & _LOW7
    return (((y + _LOW7) & ~(y + _PAST4)) | v) & _HIGH_BITS


@njit(cache=True, nogil=True)
def _word_slots(wdata, woff):
    """The decoder's table of the dictionary: SLOT bytes per code, the word's
    bytes (a word of up to SLOT_WORD bytes) and its length in the last byte (0
    for a longer word, which the decoder reads from ``wdata``). One aligned
    16-byte load gives a word, its length and its last byte, where ``woff``
    and ``wdata`` took two or three cache misses."""
    n = woff.size - 1
    t = np.zeros(SLOT * n, np.uint8)
    for c in range(n):
        a = woff[c]
        ln = woff[c + 1] - a
        if 0 < ln <= SLOT_WORD:
            for k in range(ln):
                t[SLOT * c + k] = wdata[a + k]
            t[SLOT * c + SLOT_WORD] = ln
    return t


@njit(cache=True, nogil=True)
def _decode_kernel(src, n1, ncodes, wdata, woff, wslots, out, o0, cap):
    """Decode ``src`` into out[o0:cap]; ``wdata`` and ``out`` keep COPY_SLACK
    spare bytes after their spans (words are copied in 16-byte moves, so up to
    15 bytes past ``cap`` may be written); ``wslots`` is :func:`_word_slots`
    of ``wdata``/``woff``. Returns (bytes written, error code): 0 ok, 1
    overflow, 2 bad code, 3 dangling flag."""
    word_ctx = BEFORE_WORD
    o = o0
    i = 0
    n = src.size
    flag_case = 0
    keep = np.int64(3)  # 0 after a NOSPACE flag
    pending = False
    last = 0  # the byte before out[o]; at the start NUL, after which no space is implied
    lead2 = 0x80 + n1
    while i < n:
        b = np.int64(src[i])
        i += 1
        if (b > NOSPACE or b == 0) and b < 0x80:  # the common case first: a literal byte
            if pending:
                return o - o0, 3
            if i + 7 <= n and o + 8 <= cap:
                # a run of literal bytes, up to 8 at once: the first code or
                # flag byte ends it
                v = load_u64(src, i - 1)
                m = _code_or_flag_bytes(v)
                k = np.int64(8) if m == 0 else np.int64(trailing_zeros(m) >> 3)
                move_bytes(out, o, src, i - 1, 8)
                last = np.int64(src[i - 2 + k])
                o += k
                i += k - 1
                continue
            if o >= cap:
                return o - o0, 1
            out[o] = b
            last = b
            o += 1
            continue
        if b >= 0x80:
            # one- or two-byte code, without a branch on which (a mix the
            # predictor cannot learn): the second byte is read either way
            two = np.int64(b >= lead2)
            if i + two > n:  # (no branch on `two` itself)
                return o - o0, 2
            b2 = np.int64(src[min(i, n - 1)])
            code = (b - 0x80) + two * (n1 + ((b - lead2) << 8) + b2 - (b - 0x80))
            i += two
            if code >= ncodes:
                return o - o0, 2
            slot = code * SLOT
            ln = np.int64(wslots[slot + SLOT_WORD])
            long_word = ln == 0
            a = 0
            if long_word:
                a = woff[code]
                ln = woff[code + 1] - a
            # bit 0: a space is implied, bit 1: a sentence starts (Capitalised
            # by default: a CAP flag then means lowercase); none after NOSPACE
            c = np.int64(word_ctx[last]) & keep
            flag_case ^= (c >> 1) & np.int64(flag_case < 2)
            sp = c & 1
            if o + sp + ln > cap:
                return o - o0, 1
            out[o] = 32
            o += sp
            if long_word:
                copy_chunks(out, o, wdata, a, ln)
            else:
                move_bytes(out, o, wslots, slot, SLOT)
            if flag_case == 1:
                x = out[o]
                if 97 <= x <= 122:
                    out[o] = x - 32
            elif flag_case == 2:
                for j in range(o, o + ln):
                    x = out[j]
                    if 97 <= x <= 122:
                        out[j] = x - 32
            o += ln
            # a word ends in a word byte (dictionary words are not empty): a
            # space is implied after it and no sentence ends, as after "a"
            last = 97
            flag_case = 0
            keep = 3
            pending = False
            if i + 8 <= n and o + 8 <= cap:
                # the literal run after a word (often none, or a few bytes of
                # punctuation), without a branch on its length
                v = load_u64(src, i)
                m = _code_or_flag_bytes(v)
                k = np.int64(8) if m == 0 else np.int64(trailing_zeros(m) >> 3)
                move_bytes(out, o, src, i, 8)
                before = np.int64(src[i + k - 1])  # (src[i - 1], the code, when k = 0)
                last = before if k > 0 else last
                o += k
                i += k
        elif b == ESC:
            if pending or i >= n:
                return o - o0, 3
            if o >= cap:
                return o - o0, 1
            last = np.int64(src[i])
            out[o] = last
            i += 1
            o += 1
        elif b == CAP or b == UPPER:
            if flag_case != 0:
                return o - o0, 3
            flag_case = 1 if b == CAP else 2
            pending = True
        elif b == NOSPACE:
            if pending:
                return o - o0, 3
            keep = 0
            pending = True
        else:
            if pending:
                return o - o0, 3
            if o >= cap:
                return o - o0, 1
            out[o] = b
            last = b
            o += 1
    if pending:
        return o - o0, 3
    return o - o0, 0


@njit(cache=True, nogil=True, inline="always")
def _stop_bytes(v):
    """The high bit of each byte of ``v`` that ends a literal run of a text
    item: a code byte (>= 0x80), a flag (0x01-0x04) or the item's NUL,
    exactly (no borrow between bytes)."""
    y = v & _LOW7
    return (~((y + _LOW7) & (y + _PAST4)) | v) & _HIGH_BITS


@njit(cache=True, nogil=True, inline="always")
def decode_item(src, i, n, n1, ncodes, wdata, woff, wslots, out, o, cap):
    """Decode one NUL-terminated item of a coded text group, src[i:] (the
    group ends at ``n``), into out[o:cap]: the markup decoder takes its text
    nodes straight from the code this way (no decoded copy of the group to
    copy them from). The decoding is :func:`_decode_kernel`'s, from the state
    it has after a NUL (which resets it: no space implied, no flag waiting),
    up to the next decoded NUL, which is consumed and not written. Returns
    (position after the NUL, bytes written, error): 0 ok, 1 overflow, 2 bad
    code, 3 dangling flag, 4 the group ends before a NUL. ``out`` keeps
    COPY_SLACK spare bytes after ``cap``.

    The word branch repeats :func:`_decode_kernel`'s on purpose: one shared
    ``_put_word`` kernel (inline="always", returning (i, o, error)) made prose
    decode 2.4x slower (216 -> 88 MB/s, bench/speed_table.py), and a plain
    njit call 2.6x slower with HTML -20%."""
    word_ctx = BEFORE_WORD
    o0 = o
    flag_case = 0
    keep = np.int64(3)
    pending = False
    last = np.int64(0)
    lead2 = 0x80 + n1
    while i < n:
        b = np.int64(src[i])
        i += 1
        if b > NOSPACE and b < 0x80:  # a literal byte (not NUL): the run it starts
            if pending:
                return i, o - o0, 3
            if i + 7 <= n and o + 8 <= cap:
                v = load_u64(src, i - 1)
                k = np.int64(trailing_zeros(_stop_bytes(v))) >> 3
                move_bytes(out, o, src, i - 1, 8)
                last = np.int64(src[i - 2 + k])
                o += k
                i += k - 1
                continue
            if o >= cap:
                return i, o - o0, 1
            out[o] = b
            last = b
            o += 1
            continue
        if b >= 0x80:
            two = np.int64(b >= lead2)
            if i + two > n:
                return i, o - o0, 2
            b2 = np.int64(src[min(i, n - 1)])
            code = (b - 0x80) + two * (n1 + ((b - lead2) << 8) + b2 - (b - 0x80))
            i += two
            if code >= ncodes:
                return i, o - o0, 2
            slot = code * SLOT
            ln = np.int64(wslots[slot + SLOT_WORD])
            long_word = ln == 0
            a = 0
            if long_word:
                a = woff[code]
                ln = woff[code + 1] - a
            c = np.int64(word_ctx[last]) & keep
            flag_case ^= (c >> 1) & np.int64(flag_case < 2)
            sp = c & 1
            if o + sp + ln > cap:
                return i, o - o0, 1
            out[o] = 32
            o += sp
            if long_word:
                copy_chunks(out, o, wdata, a, ln)
            else:
                move_bytes(out, o, wslots, slot, SLOT)
            if flag_case == 1:
                x = out[o]
                if 97 <= x <= 122:
                    out[o] = x - 32
            elif flag_case == 2:
                for j in range(o, o + ln):
                    x = out[j]
                    if 97 <= x <= 122:
                        out[j] = x - 32
            o += ln
            last = 97
            flag_case = 0
            keep = 3
            pending = False
            if i + 8 <= n and o + 8 <= cap:
                v = load_u64(src, i)
                k = np.int64(trailing_zeros(_stop_bytes(v))) >> 3
                move_bytes(out, o, src, i, 8)
                before = np.int64(src[i + k - 1])
                last = before if k > 0 else last
                o += k
                i += k
        elif b == 0:  # the item's end
            if pending:
                return i, o - o0, 3
            return i, o - o0, 0
        elif b == ESC:
            if pending or i >= n:
                return i, o - o0, 3
            last = np.int64(src[i])
            i += 1
            if last == 0:  # an escaped NUL ends the item as a plain one does
                return i, o - o0, 0
            if o >= cap:
                return i, o - o0, 1
            out[o] = last
            o += 1
        elif b == CAP or b == UPPER:
            if flag_case != 0:
                return i, o - o0, 3
            flag_case = 1 if b == CAP else 2
            pending = True
        else:  # NOSPACE
            if pending:
                return i, o - o0, 3
            keep = 0
            pending = True
    return i, o - o0, 4


@njit(cache=True, nogil=True)
def _parse_words(body):
    """A stored dictionary body (words joined by newlines) in one pass: (the
    words back to back, where each starts (and the end), error): error 1 a
    word is empty or longer than MAX_WORD, 2 a byte is not a lowercase word
    byte, 3 two words are equal. Equal words are found by a table of FNV-1a
    hashes (sized for the count) and settled on their bytes."""
    n = body.size
    if n == 0:  # no words
        return np.empty(0, np.uint8), np.zeros(1, np.int64), 0
    count = 1
    for i in range(n):
        if body[i] == 10:
            count += 1
    letters = np.empty(n - count + 1, np.uint8)
    offsets = np.zeros(count + 1, np.int64)
    size = table_capacity(count)
    mask = np.uint64(size - 1)
    keys = np.zeros(size, np.uint64)
    vals = np.empty(size, np.int64)
    table = WORD_BYTE
    o = 0
    k = 0
    h = FNV64_OFFSET
    for i in range(n + 1):
        if i < n and body[i] != 10:
            c = body[i]
            if table[c] == 0 or 65 <= c <= 90:
                return letters[:0], offsets[:1], 2
            letters[o] = c
            o += 1
            h = fnv1a64_step(h, c)
            continue
        ln = o - offsets[k]
        if ln < 1 or ln > MAX_WORD:
            return letters[:0], offsets[:1], 1
        x = h | np.uint64(1)
        slot = table_slot(x, mask)
        while keys[slot] != 0:
            j = vals[slot]
            if keys[slot] == x and spans_equal(letters, offsets[j], offsets[j + 1], letters, offsets[k], o):
                return letters[:0], offsets[:1], 3
            slot = (slot + np.uint64(1)) & mask
        keys[slot] = x
        vals[slot] = k
        k += 1
        offsets[k] = o
        h = FNV64_OFFSET
    return letters[:o], offsets, 0


def _word_offsets(words: list) -> np.ndarray:
    """Where each word starts in the words laid back to back (and the end),
    with NumPy: a word list is thousands of words."""
    n = len(words)
    off = np.zeros(n + 1, np.int64)
    if n:
        arr = np.frombuffer(b"\n".join(words), np.uint8)
        seps = np.flatnonzero(arr == 10)
        if seps.size == n - 1:  # no word holds a newline (as train and from_bytes make them)
            off[1:n] = seps - np.arange(n - 1)
            off[n] = arr.size - (n - 1)
        else:
            np.cumsum(np.fromiter((len(w) for w in words), np.int64, n), out=off[1:])
    return off


def _as_u8(data) -> np.ndarray:
    """``data`` as a uint8 array, read-only either way: the text transform
    passes bytes, the markup transform its gathered (writable) text, and a
    writable array would load (or, after an install, compile) a second copy of
    every kernel it reaches (:func:`readonly`)."""
    if isinstance(data, np.ndarray):
        return readonly(np.ascontiguousarray(data).view(np.uint8).ravel())
    return np.frombuffer(data, np.uint8)


class WordCoder:
    """A word dictionary and the code over it (see the module docstring)."""

    def __init__(self, words, n1: int = DEFAULT_ONE_BYTE, _packed=None):
        """``words``: the dictionary, lowercase words; ``_packed`` (from
        :meth:`from_bytes`, with ``words`` None): (its newline-joined body, the
        words back to back, their offsets); the word list is then only split
        out when asked for (decoding never is)."""
        if not 1 <= n1 <= 127:
            raise FormatError(f"l1: one-byte code count {n1} out of range")
        if _packed is None:
            self._words, self._body = list(words), None
            letters, self.offsets = None, _word_offsets(self._words)
        else:
            self._words = None
            self._body, letters, self.offsets = _packed
        count = self.offsets.size - 1
        if count > n1 + (128 - n1) * 256:
            raise LimitError(f"l1: {count} words exceed the code space of n1={n1}")
        self.n1 = n1
        # the words back to back, then the decoder's copy slack
        self.data = np.zeros(int(self.offsets[-1]) + COPY_SLACK, np.uint8)
        self.data[:self.offsets[-1]] = np.frombuffer(b"".join(self._words), np.uint8) if letters is None \
            else letters
        self._index = None
        self._slots = None

    @property
    def slots(self) -> np.ndarray:
        """The decoder's word table (:func:`_word_slots`), built on first use."""
        if self._slots is None:
            self._slots = _word_slots(self.data, self.offsets)
        return self._slots

    @property
    def words(self) -> list:
        if self._words is None:
            self._words = self._body.split(b"\n") if self._body else []
        return self._words

    @property
    def count(self) -> int:
        """How many words the dictionary holds."""
        return self.offsets.size - 1

    # -- building -----------------------------------------------------------
    @classmethod
    def train(cls, text, min_count: int = 5, n1: int = DEFAULT_ONE_BYTE) -> "WordCoder":
        return cls._train(_as_u8(text), min_count, n1)[0]

    @classmethod
    def _train(cls, buf, min_count: int, n1: int, check_keys: bool = True):
        """(coder, ws, we, wc, codes): the dictionary of ``buf`` and, for each
        word of ``buf`` (spans ws..we, case classes wc), its dictionary index
        or -1 -- what :meth:`_codes` would look up, taken from the training
        itself (a kept key's index is its group's), so coding the text the
        dictionary was trained on needs no second word scan nor hash lookup.
        ``check_keys`` False skips comparing every word with its hash's first
        word (see train_encode)."""
        ws, we, wh, wc = _words(buf)
        if ws.size == 0:
            return cls([], n1), ws, we, wc, np.full(0, -1, np.int64)
        inv, first, counts = unique_hashes(wh)
        if check_keys and not _verify_keys(buf, ws, we, first[inv]):
            # a 64-bit hash collision: code nothing
            return cls([], n1), ws, we, wc, np.full(ws.size, -1, np.int64)
        lens = we[first] - ws[first]
        # a word pays when its uses save more than it costs in the dictionary
        keep = (counts >= min_count) & (lens <= MAX_WORD) & ((lens >= 2) | (counts >= 16))
        idx = np.flatnonzero(keep)
        idx = idx[np.lexsort((first[idx], -counts[idx]))][:n1 + (128 - n1) * 256]
        words = _lowered_words(buf, ws[first[idx]], we[first[idx]])
        # the one-byte codes by frequency, the rest alphabetically (see the module docstring)
        order = list(range(min(n1, len(words)))) + sorted(range(n1, len(words)), key=words.__getitem__)
        index_of = np.full(first.size, -1, np.int64)
        index_of[idx[order]] = np.arange(len(order))
        return cls([words[k] for k in order], n1), ws, we, wc, index_of[inv]

    @classmethod
    def train_encode(cls, text, cuts=None, min_count: int = 5, n1: int = DEFAULT_ONE_BYTE,
                     check_keys: bool = True) -> tuple["WordCoder", list]:
        """``train(text)`` and the coding of ``text`` with it, in one pass:
        (coder, [coded bytes]). With ``cuts`` (increasing positions inside
        ``text``) the parts text[0:cuts[0]], text[cuts[0]:cuts[1]], ...,
        text[cuts[-1]:] are coded each on its own, byte for byte what
        ``coder.encode(part)`` gives: a part is coded from the words found in
        the whole text, which are the part's own when the byte before each cut
        is one after which no space is implied (NUL, whitespace, brackets:
        :data:`SPACE_IMPLIED`), as the NUL-terminated text groups of the markup
        transform are; otherwise each part is coded by ``encode``.

        ``check_keys`` False: words are grouped by their 64-bit key hash alone,
        without comparing each with the first of its hash; two different keys
        sharing a hash (never seen; ~n^2 / 2^65 for n distinct keys) then get
        one code and the text does not decode back. Only for callers that
        round-trip what they store (EncodeContext.verified), where that costs
        the block its transform, not data."""
        buf = _as_u8(text)
        coder, ws, we, wc, codes = cls._train(buf, min_count, n1, check_keys)
        bounds = [0] + [int(c) for c in (cuts if cuts is not None else ())] + [buf.size]
        if any(0 < c < buf.size and SPACE_IMPLIED[buf[c - 1]] for c in bounds[1:-1]):
            return coder, [coder.encode(buf[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
        first_word = np.searchsorted(ws, np.asarray(bounds, np.int64))
        out = []
        for k in range(len(bounds) - 1):
            a, b = bounds[k], bounds[k + 1]
            i, j = first_word[k], first_word[k + 1]
            out.append(coder._encode_words(buf[a:b], ws[i:j] - a, we[i:j] - a, wc[i:j], codes[i:j]))
        return coder, out

    def to_bytes(self) -> bytes:
        out = bytearray([_VERSION, self.n1])
        out += b"\n".join(self.words)
        return bytes(out)

    @classmethod
    def from_bytes(cls, buf) -> "WordCoder":
        buf = bytes(buf)
        if len(buf) < 2 or buf[0] != _VERSION:
            raise FormatError("l1: bad dictionary header")
        n1 = buf[1]
        body = buf[2:]
        letters, offsets, err = _parse_words(np.frombuffer(body, np.uint8))
        if err:
            raise FormatError("l1: " + ("dictionary word empty or too long", "dictionary word is not a lowercase word",
                                        "duplicate dictionary words")[err - 1])
        return cls(None, n1, (body, letters, offsets))

    # -- coding ---------------------------------------------------------------
    def _codes(self, buf, ws, we, wh):
        """Dictionary index of each word (-1 when not in the dictionary)."""
        if not self.words:
            return np.full(ws.size, -1, np.int64)
        if self._index is None:
            self._index = _words(self.data_with_sep())[2]
        codes = lookup_hashes(self._index, wh)
        # confirm hits byte by byte (a hash match of a different word is a miss)
        _confirm(buf, ws, we, codes, self.data, self.offsets)
        return codes

    def data_with_sep(self) -> np.ndarray:
        return np.frombuffer(b" ".join(self.words), np.uint8)

    def encode(self, text) -> bytes:
        buf = _as_u8(text)
        ws, we, wh, wc = _words(buf)
        return self._encode_words(buf, ws, we, wc, self._codes(buf, ws, we, wh))

    def _encode_words(self, buf, ws, we, wc, codes) -> bytes:
        # worst case: a separator byte escaped (2) + a one-letter word as
        # NOSPACE + case flag + two-byte code (4): 6 bytes out for 2 in
        out = np.empty(3 * buf.size + 16, np.uint8)
        n = _encode_kernel(buf, ws, we, wc, codes, self.n1, out)
        return out[:n].tobytes()

    def decode(self, coded, raw_len: int) -> bytes:
        out = np.empty(raw_len + COPY_SLACK, np.uint8)
        self.decode_into(coded, out, 0, raw_len)
        return out[:raw_len].tobytes()

    def decode_into(self, coded, out: np.ndarray, start: int, end: int) -> None:
        """Decode into out[start:end] (exactly the decoded length); ``out``
        keeps COPY_SLACK bytes after ``end`` that the decoder may overwrite."""
        if out.size < end + COPY_SLACK:
            raise ValueError("l1: the output needs COPY_SLACK spare bytes after the span")
        src = _as_u8(coded)
        o, err = _decode_kernel(src, self.n1, self.count, self.data, self.offsets, self.slots, out, start, end)
        if err:
            raise FormatError(f"l1: {('', 'output exceeds its length', 'bad word code', 'dangling flag')[err]}"
                              f" at output byte {o}")
        if o != end - start:
            raise FormatError(f"l1: decoded {o} bytes, expected {end - start}")


@njit(cache=True, nogil=True)
def _confirm(buf, ws, we, codes, wdata, woff):
    for i in range(ws.size):
        c = codes[i]
        if c < 0:
            continue
        a = woff[c]
        e = woff[c + 1]
        if e - a != we[i] - ws[i]:
            codes[i] = -1
            continue
        for k in range(e - a):
            if _lower(buf[ws[i] + k]) != wdata[a + k]:
                codes[i] = -1
                break


@njit(cache=True, nogil=True)
def _gather_lower(buf, starts, ends, out):
    o = 0
    for i in range(starts.size):
        for j in range(starts[i], ends[i]):
            out[o] = _lower(buf[j])
            o += 1


def _lowered_words(buf, starts, ends) -> list:
    """The spans buf[starts[i]:ends[i]], ASCII-lowercased, as bytes objects
    (one gather and one copy out of NumPy, then slices of one bytes object)."""
    lens = ends - starts
    off = np.zeros(lens.size + 1, np.int64)
    np.cumsum(lens, out=off[1:])
    out = np.empty(int(off[-1]), np.uint8)
    _gather_lower(buf, starts, ends, out)
    raw = out.tobytes()
    return [raw[a:b] for a, b in zip(off[:-1].tolist(), off[1:].tolist())]


def _words(buf):
    cap = buf.size // 2 + 1
    ws = np.empty(cap, np.int64)
    we = np.empty(cap, np.int64)
    wh = np.empty(cap, np.uint64)
    wc = np.empty(cap, np.uint8)
    n = _find_words(readonly(buf), ws, we, wh, wc)
    return ws[:n], we[:n], wh[:n], wc[:n]


def worth_it(text, level: int = 19, sample: int = TRIAL_SAMPLE) -> bool:
    """Trial on a sample: does the word code beat plain zstd on this text?"""
    buf = _as_u8(text)[:sample]
    if buf.size < 4096:
        return False
    coder = WordCoder.train(buf)
    c = zstandard.ZstdCompressor(level=min(level, 19))
    coded = coder.encode(buf)
    return len(c.compress(coder.to_bytes())) + len(c.compress(coded)) < len(c.compress(buf.tobytes()))


@register_transform
class WordTransform(Transform):
    """Prose and logs: streams ``dict`` (the word list) and ``words`` (the code)."""

    id = TRANSFORM_ID
    name = STREAM_BOUND.name
    max_streams = STREAM_BOUND.max_streams
    expansion = STREAM_BOUND.expansion
    formats = ("text", "log")
    needs_layers = frozenset({"l1"})
    min_level = 1

    def encode(self, data, ctx: EncodeContext) -> Encoded | None:
        if len(data) < 256:
            return None
        coder, (coded,) = WordCoder.train_encode(data, check_keys=not ctx.verified)
        if not coder.words:
            return None
        return Encoded(params=b"", streams=[coder.to_bytes(), coded], stream_names=["dict", "words"])

    def decode_into(self, streams, params, raw_len, ctx: DecodeContext, out) -> None:
        if params or len(streams) != 2:
            raise FormatError(f"l1: expects no params and 2 streams, got {len(params)} bytes / {len(streams)}")
        WordCoder.from_bytes(streams[0]).decode_into(streams[1], out, 0, raw_len)
