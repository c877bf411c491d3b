"""Where a zstd frame ends (RFC 8878, section 3.1.1), without decoding it.

Stream decoders use it to refuse bytes after a stream's zstd frame:
python-zstandard's ``decompress(..., allow_extra_data=False)`` notices them
only when the output buffer ends exactly with the frame. Only block headers
are read (one per 128 KiB block at most), so plain Python is fine.
"""

from __future__ import annotations

from ..errors import FormatError

_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def zstd_frame_size(data, magicless: bool = False) -> int:
    """The byte length of the zstd frame at the start of ``data`` (RFC 8878 3.1.1),
    walking the block headers only: the frame ends at its last block (and its
    4-byte checksum when the header says so). Lets the codecs refuse bytes after
    the frame, which python-zstandard's ``decompress`` does not always notice.
    Raises FormatError when the frame runs past the data."""
    mv = memoryview(data).cast("B")
    n = len(mv)
    pos = 0 if magicless else 4
    if not magicless and bytes(mv[:4]) != _ZSTD_MAGIC:
        raise FormatError("zstd stream does not start with the zstd magic number")
    if pos >= n:
        raise FormatError("zstd frame header is truncated")
    fhd = mv[pos]
    fcs_flag, single_segment, has_checksum, did_flag = fhd >> 6, (fhd >> 5) & 1, (fhd >> 2) & 1, fhd & 3
    pos += 1 + (0 if single_segment else 1) + (0, 1, 2, 4)[did_flag] + ((1 if single_segment else 0), 2, 4, 8)[fcs_flag]
    while True:
        if pos + 3 > n:
            raise FormatError("zstd frame is truncated inside a block header")
        bh = mv[pos] | (mv[pos + 1] << 8) | (mv[pos + 2] << 16)
        last, btype, bsize = bh & 1, (bh >> 1) & 3, bh >> 3
        pos += 3 + (1 if btype == 1 else bsize)  # an RLE block stores its one byte
        if btype == 3:
            raise FormatError("zstd frame has a reserved block type")
        if last:
            break
    pos += 4 if has_checksum else 0
    if pos > n:
        raise FormatError("zstd frame is truncated")
    return pos
