"""Entropy codec 5 (``hex``): runs of hex digits packed two to a byte.

Hashes, digests and ids written in hex (SBOM hashes, commit ids, request
ids) are random 4-bit symbols spelt with 8-bit characters. zstd and brotli at
the default level code them at 4.5-4.6 bits a digit (12-15% over the 4-bit
floor; only zstd -19 / brotli -11 get within 3%), and when they are most of a
stream they are most of its coded bytes (84% of a CycloneDX SBOM's XML). This
codec takes them out of the stream: the rest is coded with zstd or brotli as
before, the digits are stored packed.

Stored bytes (docs/FORMAT.md, codec 5)::

    u8      rest codec: 0 none, 1 zstd, 4 brotli
    varint  rest_len     decoded bytes of the rest (the stream without its runs)
    varint  rest_stored  stored bytes of the rest
    u8      table codec: 0 none, 1 zstd
    varint  table_len    decoded bytes of the run table
    varint  table_stored stored bytes of the run table
    rest payload, table payload
    nibbles              every other byte of the stream: the runs' digits, two
                         per byte, high nibble first; a run of odd length ends
                         with a 0 low nibble

    run table (decoded): per run, varint gap (bytes of the rest between the
    previous run, or the start, and this run), varint (length << 1 | upper):
    length >= 1 digits, upper = 1 for digits A-F, 0 for a-f.

The stream is the rest with each run inserted at its gap; decoded_len must be
rest_len plus the runs' lengths, the nibbles exactly the runs' bytes, and the
table exactly its runs (all checked, so hostile bytes get a FormatError).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .layers.primitives import VARINT_OK, put_varint, read_varint

#: a run is packed from this many digits (shorter ones, as 7-12 digit short
#: commit ids, cost more in the run table than packing saves)
MIN_RUN = 20

_CLASS = np.zeros(256, np.uint8)
_CLASS[ord("0"):ord("9") + 1] = 1
_CLASS[ord("a"):ord("f") + 1] = 2
_CLASS[ord("A"):ord("F") + 1] = 4
_VALUE = np.zeros(256, np.uint8)
_VALUE[ord("0"):ord("9") + 1] = np.arange(10)
_VALUE[ord("a"):ord("f") + 1] = np.arange(10, 16)
_VALUE[ord("A"):ord("F") + 1] = np.arange(10, 16)
_LOWER = np.frombuffer(b"0123456789abcdef", np.uint8).copy()
_UPPER = np.frombuffer(b"0123456789ABCDEF", np.uint8).copy()


@njit(cache=True, nogil=True)
def find_runs(data, cls, min_run):
    """Maximal runs of hex digits of at least ``min_run`` characters holding a
    digit and letters of one case only: (starts, lengths, upper flags)."""
    n = data.size
    cap = n // max(min_run, 1) + 1
    starts = np.empty(cap, np.int64)
    lens = np.empty(cap, np.int64)
    upper = np.empty(cap, np.uint8)
    k = 0
    i = 0
    while i < n:
        c = cls[data[i]]
        if c == 0:
            i += 1
            continue
        j = i
        seen = 0
        while j < n:
            c = cls[data[j]]
            if c == 0:
                break
            seen |= c
            j += 1
        if j - i >= min_run and (seen & 1) and (seen & 6) != 6 and (seen & 6) != 0:
            starts[k] = i
            lens[k] = j - i
            upper[k] = 1 if seen & 4 else 0
            k += 1
        i = j
    return starts[:k], lens[:k], upper[:k]


@njit(cache=True, nogil=True)
def split_runs(data, starts, lens, upper, value):
    """The stream without its runs, the run table and the packed digits."""
    k = starts.size
    hex_bytes = 0
    nib_bytes = 0
    for r in range(k):
        hex_bytes += lens[r]
        nib_bytes += (lens[r] + 1) >> 1
    rest = np.empty(data.size - hex_bytes, np.uint8)
    table = np.empty(k * 20, np.uint8)
    nib = np.empty(nib_bytes, np.uint8)
    rp = 0
    tp = 0
    np_ = 0
    prev = 0
    for r in range(k):
        s = starts[r]
        gap = s - prev
        rest[rp:rp + gap] = data[prev:s]
        rp += gap
        tp = put_varint(table, tp, np.uint64(gap))
        tp = put_varint(table, tp, np.uint64((lens[r] << 1) | upper[r]))
        e = s + lens[r]
        q = s
        while q + 1 < e:
            nib[np_] = (value[data[q]] << 4) | value[data[q + 1]]
            np_ += 1
            q += 2
        if q < e:
            nib[np_] = value[data[q]] << 4
            np_ += 1
        prev = e
    tail = data.size - prev
    rest[rp:rp + tail] = data[prev:]
    return rest, table[:tp], nib


@njit(cache=True, nogil=True)
def _get_varint(buf, pos):
    """(value, next position) of the varint at ``buf[pos:]``; next position -1
    on a truncated or non-minimal varint or one of 2**42 or more (lengths and
    gaps of a stream)."""
    v, p, err = read_varint(buf, pos, buf.size)
    if err != VARINT_OK or v >= np.uint64(1 << 42):
        return np.int64(0), -1
    return np.int64(v), p


@njit(cache=True, nogil=True)
def join_runs(rest, table, nib, out_len, lower_digits, upper_digits):
    """The stream back from its parts: (out, error); error 0 when the parts fit
    together exactly, else a code for :func:`decode`'s message."""
    out = np.empty(out_len, np.uint8)
    op = 0
    rp = 0
    tp = 0
    npos = 0
    while tp < table.size:
        gap, tp = _get_varint(table, tp)
        if tp < 0:
            return out, 1
        lv, tp = _get_varint(table, tp)
        if tp < 0:
            return out, 1
        length = lv >> 1
        digits = upper_digits if lv & 1 else lower_digits
        if length < 1:
            return out, 2
        if gap > rest.size - rp or gap + length > out_len - op:
            return out, 3
        out[op:op + gap] = rest[rp:rp + gap]
        op += gap
        rp += gap
        pairs = length >> 1
        if pairs + (length & 1) > nib.size - npos:
            return out, 4
        for q in range(pairs):
            b = nib[npos + q]
            out[op] = digits[b >> 4]
            out[op + 1] = digits[b & 15]
            op += 2
        npos += pairs
        if length & 1:
            b = nib[npos]
            if b & 15:
                return out, 5
            out[op] = digits[b >> 4]
            op += 1
            npos += 1
    tail = rest.size - rp
    if tail != out_len - op:
        return out, 3
    out[op:] = rest[rp:]
    if npos != nib.size:
        return out, 4
    return out, 0


_ERRORS = {
    1: "a truncated, over-long or non-minimal varint in its run table",
    2: "a run of length 0",
    3: "runs and rest that do not add up to the stream's length",
    4: "packed digits that do not match its runs",
    5: "an odd run whose padding nibble is not 0",
}


def packable(data, min_digits: int = 512, min_share: float = 0.05) -> tuple | None:
    """The runs of ``data`` worth packing (find_runs), or None when their
    digits add up to fewer than ``min_digits`` bytes or ``min_share`` of it
    (the encoder passes entropy.HEX_MIN_DIGITS and HEX_MIN_SHARE)."""
    if len(data) < min_digits:
        return None
    arr = np.frombuffer(data, np.uint8)
    starts, lens, upper = find_runs(arr, _CLASS, MIN_RUN)
    total = int(lens.sum()) if lens.size else 0
    if total < min_digits or total < min_share * len(data):
        return None
    return starts, lens, upper


def run_share(sample: bytes) -> float:
    """The share of ``sample`` in packable runs (:func:`find_runs`; called on
    samples of at most 64 KiB, so its arrays cost little)."""
    if not sample:
        return 0.0
    lens = find_runs(np.frombuffer(sample, np.uint8), _CLASS, MIN_RUN)[1]
    return int(lens.sum()) / len(sample)


def split(data, runs) -> tuple[bytes, bytes, bytes]:
    """(rest, run table, packed digits) of ``data`` for the runs from :func:`packable`."""
    rest, table, nib = split_runs(np.frombuffer(data, np.uint8), *runs, _VALUE)
    return rest.tobytes(), table.tobytes(), nib.tobytes()


def join(rest, table, nib, out_len: int) -> bytes:
    """The stream from its parts; raises ValueError naming what does not fit."""
    out, err = join_runs(np.frombuffer(rest, np.uint8), np.frombuffer(table, np.uint8),
                         np.frombuffer(nib, np.uint8), out_len, _LOWER, _UPPER)
    if err:
        raise ValueError(_ERRORS[err])
    return out.tobytes()
