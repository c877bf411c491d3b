"""StreamCompressor: bytes in, CompressedBlocks out, as the blocks fill.

Sans-IO: ``feed`` takes whatever bytes the caller has and returns the blocks
that are complete; ``flush`` emits the partial block. No sockets, no files,
no clocks except the timestamp in each block.

Blocks are cut exactly as :func:`cobol.engine.split_blocks` cuts a whole
input (at a newline in the second half of a block when there is one), however
the bytes are fed: without explicit flushes, frame header + the blocks'
records + end record is byte-identical to ``CobolEngine.compress`` with the
same level, plan, checksum and block size. That is also what lets a sender
that lost its memory find a resume point again by re-reading its input.

>>> c = StreamCompressor(StreamingConfig(block_size=4096))
>>> blocks = c.feed(b"a line\\n" * 1000) + c.flush()
>>> [b.seq for b in blocks], sum(b.raw_len for b in blocks)
([0, 1], 7000)
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from ..engine import CobolEngine
from ..format.frame import FrameHeader, encode_end_record, read_block
from ..format.wire import Reader
from .block import ZERO_CHAIN, CompressedBlock, chain_next
from .config import StreamingConfig
from .stats import StreamingStatistics


def next_cut(buf, block_size: int, final: bool) -> int:
    """Length of the block at the start of ``buf``; 0 when more input is needed.

    A block is cut once more than ``block_size`` bytes are known (so the cut
    never depends on where the input was split into feeds), at the last
    newline in its second half, else at ``block_size``.
    """
    n = len(buf)
    if n > block_size:
        cut = buf.rfind(b"\n", block_size // 2, block_size)
        return cut + 1 if cut >= 0 else block_size
    return n if final else 0


def now_us() -> int:
    return time.time_ns() // 1000


class StreamCompressor:
    """Incremental compressor producing :class:`CompressedBlock` objects.

    Parameters
    ----------
    config: block size, level, plan, checksum and threads (StreamingConfig).
    start_seq: sequence number of the first block (a resumed stream starts
        where the receiver stopped).
    engine: a CobolEngine to encode with (default: one built from config).

    ``chain`` is the running transfer chain (see ``block.chain_next``) over
    the blocks emitted so far, ``bytes_in`` the raw bytes they hold.
    """

    def __init__(self, config: StreamingConfig = StreamingConfig(), *, start_seq: int = 0,
                 chain: bytes = ZERO_CHAIN, engine: CobolEngine | None = None):
        self.config = config
        self.engine = engine or CobolEngine(config.level, block_size=config.block_size, threads=1,
                                            checksum=config.checksum, plan=config.plan)
        self.seq = start_seq
        self.chain = chain
        self.bytes_in = 0
        self.stats = StreamingStatistics("send")
        self._buf = bytearray()
        self._pool = None

    # ------------------------------------------------------------ public

    def feed(self, data) -> list:
        """Buffer ``data``; return the blocks it completes (possibly none)."""
        self._buf += data
        return self._emit(final=False)

    def flush(self) -> list:
        """Emit everything buffered, the last block shorter than block_size.

        The stream stays open: more ``feed`` calls continue it.
        """
        return self._emit(final=True)

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def encode(self, seq: int, chunk) -> CompressedBlock:
        """Encode one raw block (at most block_size bytes) as block ``seq``."""
        ts = now_us()
        record, _ = self.engine.encode_block(chunk, seq)
        return CompressedBlock(seq=seq, timestamp_us=ts, raw_len=len(chunk), checksum_kind=self.engine.checksum,
                               checksum=_record_checksum(record, self.engine.checksum, len(chunk)), record=record)

    def frame_header(self) -> bytes:
        """The .cobl frame header that goes before these blocks' records."""
        return self.engine.frame_header()

    def end_record(self) -> bytes:
        """The .cobl end record after the blocks emitted so far (from block 0)."""
        return encode_end_record(self.seq, self.bytes_in)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------ internals

    def _emit(self, final: bool) -> list:
        chunks = []
        bs = self.config.block_size
        while True:
            n = next_cut(self._buf, bs, final)
            if not n:
                break
            chunks.append(bytes(self._buf[:n]))
            del self._buf[:n]  # bytearray deletes from the front in O(1) amortised
        if not chunks:
            return []
        items = [(self.seq + i, c) for i, c in enumerate(chunks)]
        if self.config.threads > 1 and len(items) > 1:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.config.threads, thread_name_prefix="cobol-stream")
            blocks = list(self._pool.map(lambda it: self.encode(*it), items))
        else:
            blocks = [self.encode(*it) for it in items]
        for b in blocks:
            self.chain = chain_next(self.chain, b.raw_len, b.checksum)
            self.bytes_in += b.raw_len
            self.stats.blocks += 1
            self.stats.raw_bytes += b.raw_len
            self.stats.compressed_bytes += len(b.record)
        self.seq += len(chunks)
        return blocks


def _record_checksum(record: bytes, kind: int, raw_len: int) -> bytes:
    """The checksum field of a record we just encoded (a header parse, no second hash)."""
    rec = read_block(Reader(record), FrameHeader(checksum=kind, block_size=max(raw_len, 1)))
    return bytes(rec.checksum)
