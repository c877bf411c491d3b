"""Per-block search index: a bitmap of the block's 3-byte grams, so that
``cobol grep`` can rule a block out without decoding it.

A data block that ``cobol grep`` would otherwise have to entropy-decode and
search (every stream of an 8 MiB log block: ~25 ms, most of a search of a
big frame for a rare string) may be preceded by a *search index* record: a
skippable metadata record (docs/FORMAT.md, kind 0x02, tag
:data:`SEARCH_INDEX_TAG`) that decoders ignore and :mod:`cobol.logsearch`
reads. It holds one bit per slot of a bitmap; every 3-byte gram of the
block's bytes (ASCII letters folded to lower case; grams that hold a LF are
all one gram, ``0A 0A 0A``) sets the bit :func:`gram_bit` names. A fixed
string of at least 3 bytes can occur in the block only if every one of its
(folded) grams has its bit set, so a string with one unset bit is absent: the
filter never rules out a block that holds the string (with ``-i`` or
without), it only fails to rule out some that do not.

Payload (after the record's tag)::

    version   u8      1
    seq       varint  the sequence number of the data block it describes
    raw_len   varint  that block's raw_len (>= 1)
    n_lines   varint  its lines (grep's count: a last line without LF counts), 1..raw_len
    flags     u8      bit 0: the block ends with LF; other bits 0
    n_bytes   varint  bitmap bytes, 8..MAX_BITMAP_BYTES
    bitmap    n_bytes bit i is byte i >> 3, bit i & 7 (LSB first)
    crc       u32     CRC32 of the payload bytes before it, continued over the
                      described block's checksum bytes (as stored in its record)

The record comes right before its data block (nothing between them). A gram
``g0 g1 g2`` (folded bytes) is the integer ``x = g0 | g1 << 8 | g2 << 16``;
its bit is ``((x * 0x9E3779B1 mod 2**32) * n_bits) >> 32`` with
``n_bits = 8 * n_bytes``. The encoder writes an index only where it pays
(:func:`wanted`): file frames (not compact ones, not the stream protocol),
blocks detected as ``log`` or ``text`` of at least :data:`MIN_RAW` bytes, with
a bitmap sized by :func:`sized_bitmap` (about one bit per distinct gram, at
most :data:`MAX_SHARE` of the block's record).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from .errors import FormatError
from .format.wire import Reader, put_u32, put_varint

#: metadata tag of a search index record ("GRAM")
SEARCH_INDEX_TAG = 0x4752414D
VERSION = 1
#: the most the bitmap may take of the described block's stored bytes
MAX_SHARE = 0.02
#: a bitmap with more of its bits set is not written (a string's absent grams each pass with this odds)
MAX_FILL = 0.8
#: the probe pass counts distinct grams on 2**PROBE_BITS slots (1 MiB of bools; a bitmap under MAX_SHARE of a block is smaller)
PROBE_BITS = 20
#: blocks smaller than this get no index: decoding and searching them costs a few ms at most (on the 19
#: logs in 1 MiB blocks the index cut a rare string's search by ~5%, against 1.5% more bytes)
MIN_RAW = 1 << 20
MIN_BITMAP_BYTES = 8
MAX_BITMAP_BYTES = 1 << 20
#: the detected formats whose blocks get an index (the blocks people grep)
FORMATS = ("log", "text")
_MULT = 0x9E3779B1
_LF_GRAM = 0x0A0A0A


@dataclass
class SearchIndex:
    """A parsed search index record (see the module docstring)."""

    seq: int
    raw_len: int
    n_lines: int
    ends_nl: bool
    bitmap: bytes
    crc: int
    signed: bytes  # the payload bytes the CRC covers (before the block's checksum)

    def check_block(self, block) -> None:
        """Raise FormatError unless ``block`` (a DataBlock) is the block this index describes."""
        if block.seq != self.seq or block.raw_len != self.raw_len:
            raise FormatError(f"search index for block {self.seq} ({self.raw_len} bytes) precedes block "
                              f"{block.seq} ({block.raw_len} bytes)")
        if zlib.crc32(bytes(block.checksum), zlib.crc32(self.signed)) != self.crc:
            raise FormatError(f"block {block.seq}: search index CRC mismatch")

    def may_contain(self, piece: bytes) -> bool:
        """False when the block cannot hold ``piece`` (with or without case folding); pieces under 3 bytes
        may always be there."""
        piece = piece.lower()
        n_bits = len(self.bitmap) * 8
        bm = self.bitmap
        for i in range(len(piece) - 2):
            x = piece[i] | piece[i + 1] << 8 | piece[i + 2] << 16
            bit = ((x * _MULT) & 0xFFFFFFFF) * n_bits >> 32
            if not bm[bit >> 3] >> (bit & 7) & 1:
                return False
        return True


def gram_bit(x: int, n_bits: int) -> int:
    """The bitmap slot of the folded gram ``x`` (``g0 | g1 << 8 | g2 << 16``)."""
    return ((x * _MULT) & 0xFFFFFFFF) * n_bits >> 32


def parse(payload: bytes) -> SearchIndex | None:
    """A search index record's payload (after its tag) checked and parsed; FormatError when malformed,
    None for an index of a later version (not used: the block is searched as if it had none)."""
    r = Reader(payload, what="search index")
    version = r.u8("search index version")
    if version != VERSION:
        return None
    seq = r.varint("search index block", (1 << 63) - 1)
    raw_len = r.varint("search index raw_len", (1 << 63) - 1)
    if raw_len < 1:
        raise FormatError("search index of an empty block")
    n_lines = r.varint("search index lines", raw_len)
    if n_lines < 1:
        raise FormatError("search index: a block of at least 1 byte has at least 1 line")
    flags = r.u8("search index flags")
    if flags & ~1:
        raise FormatError(f"search index flags 0x{flags:02x}: unknown bits")
    n_bytes = r.varint("search index bitmap bytes", MAX_BITMAP_BYTES)
    if n_bytes < MIN_BITMAP_BYTES:
        raise FormatError(f"search index bitmap of {n_bytes} bytes (at least {MIN_BITMAP_BYTES})")
    bitmap = r.take(n_bytes, "search index bitmap")
    signed = bytes(payload[:r.pos])
    crc = r.u32("search index crc")
    r.expect_end("search index")
    return SearchIndex(seq, raw_len, n_lines, bool(flags & 1), bitmap, crc, signed)


def wanted(fmt: str, raw_len: int) -> bool:
    """Whether the encoder writes an index for a block of this detected format and size."""
    return fmt in FORMATS and raw_len >= MIN_RAW


def _slots(data: bytes, n_bits: int):
    import numpy as np

    from .layers.gram_kernel import gram_slots
    return gram_slots(np.frombuffer(data, np.uint8), n_bits, _MULT, _LF_GRAM)


def build_bitmap(data: bytes, n_bytes: int) -> bytes:
    """The gram bitmap of ``data`` (one Numba pass: :mod:`cobol.layers.gram_kernel`)."""
    import numpy as np
    return np.packbits(_slots(data, n_bytes * 8), bitorder="little").tobytes()


def sized_bitmap(data: bytes, stored_len: int) -> bytes | None:
    """The bitmap the encoder writes for a block of raw bytes ``data`` whose record is ``stored_len``
    bytes, or None where it would not pay: one pass at 2**PROBE_BITS slots counts the distinct grams
    (linear counting), then slots are OR-ed in runs of 2**k (with a power-of-two size a gram's slot at
    2**p bits is its slot at 2**(p+k) bits shifted right by k) down to the power of two at or above one
    slot per distinct gram (a fill of 39-63%), or smaller while it is over MAX_SHARE of ``stored_len``;
    a bitmap filled over MAX_FILL rules out too little to be worth its bytes."""
    import numpy as np
    slots = _slots(data, 1 << PROBE_BITS)
    free = 1.0 - np.count_nonzero(slots) / slots.size
    distinct = slots.size * -np.log(max(free, 1e-9))
    p = max(6, min(PROBE_BITS, int(np.ceil(np.log2(max(distinct, 1.0))))))
    while p > 6 and (1 << p) // 8 > MAX_SHARE * stored_len:
        p -= 1
    folded = slots.reshape(1 << p, -1).any(axis=1)
    if np.count_nonzero(folded) > MAX_FILL * folded.size:
        return None
    return np.packbits(folded, bitorder="little").tobytes()


def build_bitmap_numpy(data: bytes, n_bytes: int) -> bytes:
    """The gram bitmap of ``data`` with whole-array NumPy (the reference the tests hold the kernel to)."""
    import numpy as np
    n_bits = n_bytes * 8
    a = np.frombuffer(data, np.uint8)
    bits = np.zeros(n_bits, np.bool_)
    if len(a) >= 3:
        fold = np.arange(256, dtype=np.uint32)
        fold[0x41:0x5B] += 0x20
        f = fold[a]
        g = f[:-2] | (f[1:-1] << 8) | (f[2:] << 16)
        nl = np.flatnonzero(a == 0x0A)
        for k in (0, 1, 2):  # every gram holding a LF is one gram (grep's patterns never hold one)
            at = nl - k
            g[at[(at >= 0) & (at < len(g))]] = _LF_GRAM
        h = (g.astype(np.uint64) * np.uint64(_MULT)) & np.uint64(0xFFFFFFFF)
        bits[(h * np.uint64(n_bits)) >> np.uint64(32)] = True
    return np.packbits(bits, bitorder="little").tobytes()


def encode(data: bytes, seq: int, checksum: bytes, bitmap: bytes) -> bytes:
    """The payload of the search index of block ``seq`` holding ``data`` (its raw bytes, at least 1) whose
    record stores ``checksum``, with the gram bitmap ``bitmap`` (of ``data``)."""
    ends_nl = data.endswith(b"\n")
    n_lines = data.count(b"\n") + (0 if ends_nl else 1)
    out = bytearray([VERSION])
    put_varint(out, seq)
    put_varint(out, len(data))
    put_varint(out, n_lines)
    out.append(1 if ends_nl else 0)
    put_varint(out, len(bitmap))
    out += bitmap
    put_u32(out, zlib.crc32(bytes(checksum), zlib.crc32(bytes(out))))
    return bytes(out)


__all__ = ["SEARCH_INDEX_TAG", "SearchIndex", "parse", "encode", "wanted", "sized_bitmap", "build_bitmap",
           "gram_bit"]
