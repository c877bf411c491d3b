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

Encoding on several cores without threads in the core: the caller (a shell
such as the TCP sender) may pass an ``executor`` (``concurrent.futures``); cut
blocks are then submitted to it and ``feed`` returns the blocks that are done,
in order, without waiting (``in_flight`` counts the others; ``wait_oldest``
and ``flush`` wait). The caller bounds ``in_flight`` by how much it feeds.

>>> c = StreamCompressor(StreamingConfig(block_size=4096))
>>> blocks = c.feed(b"a line\\n" * 1000) + c.flush()
>>> [b.seq for b in blocks], sum(b.raw_len for b in blocks)
([0, 1], 7000)
"""

from __future__ import annotations

import time
from collections import deque

from ..detect import SAMPLE, detect
from ..engine import TABLE_MIN_SHARE, CobolEngine, table_cut
from ..format.frame import FrameHeader, encode_end_record, read_block
from ..format.wire import Reader
from .block import ZERO_CHAIN, CompressedBlock, chain_next
from .config import StreamingConfig
from .stats import StreamingStatistics


def next_cut(buf, block_size: int, final: bool) -> int:
    """Length of the block at the start of ``buf``; 0 when more input is needed.

    A block is cut once more than ``block_size`` bytes are known (so the cut
    never depends on where the input was split into feeds), at the last
    newline in its second half, else at ``block_size``; a CSV/TSV block (the
    last one too) ends early at a table boundary, as
    :func:`cobol.engine.split_blocks` cuts it.
    """
    n = len(buf)
    if (n > block_size or final) and min(n, block_size) >= 2 * (block_size // TABLE_MIN_SHARE):
        kind = detect(bytes(buf[:SAMPLE]))
        cut = table_cut(bytes(buf[:block_size]), block_size, kind) if kind in ("csv", "tsv") else 0
        if cut:
            return cut
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
    executor: a ``concurrent.futures`` executor owned by the caller to encode
        blocks on (default: none, blocks are encoded in the calling thread).

    ``seq`` is the sequence number of the next block to be *emitted*;
    ``chain`` is the running transfer chain (see ``block.chain_next``) over
    the blocks emitted so far, ``bytes_in`` the raw bytes they hold.
    """

    def __init__(self, config: StreamingConfig = StreamingConfig(), *, start_seq: int = 0,
                 chain: bytes = ZERO_CHAIN, engine: CobolEngine | None = None, executor=None):
        self.config = config
        self.engine = engine or CobolEngine(config.level, block_size=config.block_size, threads=1,
                                            checksum=config.checksum, plan=config.plan)
        self.seq = start_seq
        self.chain = chain
        self.bytes_in = 0
        self.stats = StreamingStatistics("send")
        self._buf = bytearray()
        self._executor = executor
        self._next_cut = start_seq  # sequence number of the next block to be cut
        self._ready = deque()       # encoded blocks, or futures of them, in sequence order

    # ------------------------------------------------------------ public

    def feed(self, data) -> list:
        """Buffer ``data``; return the blocks it completes (possibly none).
        With an executor: the blocks that are done, without waiting."""
        self._buf += data
        self._cut(final=False)
        return self._collect(wait_all=False)

    def flush(self) -> list:
        """Emit everything buffered, the last block shorter than block_size
        (waiting for blocks still being encoded).

        The stream stays open: more ``feed`` calls continue it.
        """
        self._cut(final=True)
        return self._collect(wait_all=True)

    def wait_oldest(self) -> list:
        """Wait for the oldest block still being encoded; return the done blocks."""
        if self._ready and not isinstance(self._ready[0], CompressedBlock):
            self._ready[0].result()
        return self._collect(wait_all=False)

    @property
    def buffered(self) -> int:
        """Raw bytes fed but not yet cut into a block."""
        return len(self._buf)

    @property
    def in_flight(self) -> int:
        """Blocks cut but not yet emitted (being encoded, or done behind one that is not)."""
        return len(self._ready)

    def encode(self, seq: int, chunk, ts: int | None = None) -> CompressedBlock:
        """Encode one raw block (at most block_size bytes) as block ``seq``;
        ``ts``: when it was cut (default: now)."""
        ts = now_us() if ts is None else ts
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
        """Wait for blocks still being encoded (their results are dropped)."""
        for item in self._ready:
            if not isinstance(item, CompressedBlock):
                item.cancel() or item.exception()
        self._ready.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------ internals

    def _cut(self, final: bool) -> None:
        bs = self.config.block_size
        while True:
            n = next_cut(self._buf, bs, final)
            if not n:
                return
            chunk = bytes(self._buf[:n])
            del self._buf[:n]  # bytearray deletes from the front in O(1) amortised
            seq, ts = self._next_cut, now_us()
            self._next_cut += 1
            if self._executor is None:
                self._ready.append(self.encode(seq, chunk, ts))
            else:
                self._ready.append(self._executor.submit(self.encode, seq, chunk, ts))

    def _collect(self, wait_all: bool) -> list:
        out = []
        while self._ready:
            item = self._ready[0]
            if not isinstance(item, CompressedBlock):
                if not (wait_all or item.done()):
                    break
                item = item.result()
            self._ready.popleft()
            out.append(item)
        for b in out:
            self.chain = chain_next(self.chain, b.raw_len, b.checksum)
            self.bytes_in += b.raw_len
            self.stats.blocks += 1
            self.stats.raw_bytes += b.raw_len
            self.stats.compressed_bytes += len(b.record)
        self.seq += len(out)
        return out


def _record_checksum(record: bytes, kind: int, raw_len: int) -> bytes:
    """The checksum field of a record we just encoded (a header parse, no second hash)."""
    rec = read_block(Reader(record), FrameHeader(checksum=kind, block_size=max(raw_len, 1)))
    return bytes(rec.checksum)
