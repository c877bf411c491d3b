"""CompressedBlock: one compressed block as it travels on a stream.

The payload is a .cobl data record, byte for byte what a .cobl file holds
(docs/FORMAT.md, kind 0x01): the engine encodes it (``CobolEngine.encode_block``)
and decodes it (``CobolEngine.decode_block``). The envelope repeats the facts a
receiver needs before it decodes anything -- where the block goes (sequence
number), how big it will be, and its checksum -- plus when it was cut.

Wire format (docs/STREAMING.md, "CompressedBlock"), integers as in FORMAT.md::

    seq            varint   0 for the stream's first block, then +1 each
    timestamp_us   varint   microseconds since the Unix epoch when the block was cut
    raw_len        varint   bytes the block decodes to
    checksum_kind  u8       1 sha256, 2 xxh3-64, 3 crc32 (FORMAT.md)
    checksum       N bytes  of the raw bytes (N by kind: 32, 8, 4)
    record_len     varint
    record         the .cobl data record; its seq, raw_len and checksum must
                   equal the envelope's

>>> from cobol.stream import StreamCompressor, StreamingConfig
>>> c = StreamCompressor(StreamingConfig(block_size=1024))
>>> [b] = c.feed(b"x" * 1024) + c.flush()  # a block is cut once more than block_size bytes are buffered
>>> CompressedBlock.from_bytes(b.to_bytes()) == b
True
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from ..errors import FormatError
from ..format import checksum as ck
from ..format.frame import DataBlock, FrameHeader, Limits, MAX_BLOCK_SIZE, read_block
from ..format.wire import Reader, put_bytes, put_varint

ZERO_CHAIN = bytes(32)
_U64 = struct.Struct("<Q")


@dataclass(frozen=True)
class CompressedBlock:
    seq: int
    timestamp_us: int
    raw_len: int
    checksum_kind: int
    checksum: bytes
    record: bytes

    def to_bytes(self) -> bytes:
        out = bytearray()
        put_varint(out, self.seq)
        put_varint(out, self.timestamp_us)
        put_varint(out, self.raw_len)
        out.append(self.checksum_kind)
        out += self.checksum
        put_bytes(out, self.record)
        return bytes(out)

    @classmethod
    def from_bytes(cls, buf, max_block_size: int = MAX_BLOCK_SIZE, *, base: int = 0) -> "CompressedBlock":
        """Parse and validate a serialized block (the whole of ``buf``).

        Raises FormatError / TruncatedError / LimitError / ChecksumError on
        anything malformed, including a record whose header disagrees with
        the envelope. The raw bytes are not decoded here.
        """
        r = Reader(buf, base=base, what="compressed block")
        seq = r.varint("sequence number")
        ts = r.varint("timestamp")
        raw_len = r.varint("raw length", max_block_size)
        kind = r.u8("checksum kind")
        size = ck.checksum_size(kind)
        digest = r.take(size, "checksum")
        from .config import max_record_size
        record = r.bytes_field("record", max_record_size(max_block_size))
        r.expect_end("the record")
        block = cls(seq, ts, raw_len, kind, digest, record)
        block.data_block(max_block_size)  # validates the record against the envelope
        return block

    def data_block(self, block_size: int = MAX_BLOCK_SIZE, limits: Limits = Limits()) -> DataBlock:
        """The parsed .cobl record, checked against the envelope."""
        header = FrameHeader(checksum=self.checksum_kind, block_size=block_size)
        r = Reader(self.record, what=f"record of block {self.seq}")
        rec = read_block(r, header, limits)
        r.expect_end("the data record")
        if not isinstance(rec, DataBlock):
            raise FormatError(f"block {self.seq}: the payload is not a data record")
        if rec.seq != self.seq or rec.raw_len != self.raw_len or bytes(rec.checksum) != self.checksum:
            raise FormatError(
                f"block {self.seq}: record header (seq {rec.seq}, raw_len {rec.raw_len}) "
                f"disagrees with the envelope (seq {self.seq}, raw_len {self.raw_len}) or its checksum")
        return rec

    @property
    def wire_size(self) -> int:
        return len(self.record) + len(self.checksum) + 24


def chain_next(chain: bytes, raw_len: int, checksum: bytes) -> bytes:
    """One step of the transfer chain: SHA-256(chain || u64le raw_len || checksum).

    Both ends fold every block into it in order; equal chains mean equal
    sequences of blocks, so it checks a whole transfer (and a resume point)
    with 32 bytes.
    """
    return hashlib.sha256(chain + _U64.pack(raw_len) + checksum).digest()
