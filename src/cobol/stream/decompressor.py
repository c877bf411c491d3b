"""StreamDecompressor: CompressedBlocks in any order in, raw bytes in order out.

Sans-IO like the compressor: ``feed_block`` takes a block (object or
serialized bytes) and returns the raw bytes that became contiguous. Blocks
may arrive out of order within a reorder window (16 blocks by default);
duplicates and already-delivered (stale) blocks are dropped and counted. A
block that is still missing when a block past the window arrives, or after
``block_timeout`` seconds of waiting, is a :class:`BlockMissingError` naming
it. Every block is decoded by the engine and its checksum (SHA-256 by
default) verified before it is accepted; a bad block raises and leaves the
decompressor as it was, so a retransmitted copy can still be fed.

Decoding on several cores without threads in the core: the caller (a shell
such as the TCP server) may pass an ``executor`` (``concurrent.futures``).
``receive`` then checks a block's envelope and sequence number at once,
submits its decoding to the executor (blocks under 1/32 of the block size,
partial blocks of interactive streams, are decoded at once instead) and returns the blocks that are decoded
and next in order, without waiting; ``decoding`` counts the blocks next in
order still being decoded, ``collect()`` hands out those that finished since
and ``wait_oldest()`` waits for the next one. The window counts from the last
block delivered, so blocks held (decoding or reordering) never exceed it.
Output order, checksums and the transfer chain are the same as without an
executor; what differs is *when* a bad block is reported: when its turn to be
delivered comes (from ``receive``, ``collect`` or ``wait_oldest``), and the
decompressor is then unusable (a pipelined stream is a connection's, which
fails as a whole and resumes from its last checkpoint).

>>> from cobol.stream import StreamCompressor, StreamingConfig
>>> cfg = StreamingConfig(block_size=4096)
>>> blocks = StreamCompressor(cfg).feed(b"x" * 10000)
>>> d = StreamDecompressor(cfg)
>>> len(d.feed_block(blocks[1])), len(d.feed_block(blocks[0]))
(0, 8192)
"""

from __future__ import annotations

import threading
import time
from collections import deque
from concurrent.futures import Future, wait
from contextlib import contextmanager
from dataclasses import dataclass

from ..engine import CobolEngine, block_decode_bound
from ..errors import FormatError, LimitError
from ..format.frame import FrameHeader
from .block import ZERO_CHAIN, CompressedBlock, chain_next
from .config import StreamingConfig
from .errors import BlockMissingError
from .stats import StreamingStatistics

FRESH, DUPLICATE, STALE, BEYOND = "fresh", "duplicate", "stale", "beyond"

#: with an executor, blocks under 1/INLINE_DECODE_FRACTION of the transfer's
#: block size (64 KiB of 2 MiB) are still decoded in the calling thread: they
#: are partial blocks cut by the sender's max_delay (interactive sources),
#: decode in about a millisecond, and on a pool they would queue behind other
#: connections' full blocks (tens of ms each) -- the latency they were cut for
INLINE_DECODE_FRACTION = 32


class Reassembler:
    """Orders items by sequence number within a window; no decoding, no I/O.

    ``push(seq, item, size, now)`` returns the items that became deliverable,
    in order. The clock is the caller's (``now`` in seconds, monotonic).
    """

    def __init__(self, window: int = 16, timeout: float = 60.0, start_seq: int = 0):
        self.window = window
        self.timeout = timeout
        self.next_seq = start_seq
        self.pending: dict = {}  # seq -> (item, size)
        self.pending_bytes = 0
        self.gap_since: float | None = None  # when the current gap (missing next_seq) was first seen

    def classify(self, seq: int) -> str:
        if seq < self.next_seq:
            return STALE
        if seq in self.pending:
            return DUPLICATE
        if seq >= self.next_seq + self.window:
            return BEYOND
        return FRESH

    def missing_error(self, seq: int) -> BlockMissingError:
        return BlockMissingError(
            f"block {self.next_seq} is missing: block {seq} arrived {seq - self.next_seq} ahead, "
            f"past the reorder window of {self.window} blocks")

    def push(self, seq: int, item, size: int, now: float) -> list:
        kind = self.classify(seq)
        if kind == BEYOND:
            raise self.missing_error(seq)
        if kind != FRESH:
            return []
        self.check_timeout(now)
        if seq != self.next_seq:
            self.pending[seq] = (item, size)
            self.pending_bytes += size
            if self.gap_since is None:
                self.gap_since = now
            return []
        out = [item]
        self.next_seq += 1
        while self.next_seq in self.pending:
            it, sz = self.pending.pop(self.next_seq)
            self.pending_bytes -= sz
            out.append(it)
            self.next_seq += 1
        # a gap that remains is a new one: its wait starts now
        self.gap_since = now if self.pending else None
        return out

    def check_timeout(self, now: float) -> None:
        if self.gap_since is not None and now - self.gap_since > self.timeout:
            raise BlockMissingError(
                f"block {self.next_seq} is missing: waited {now - self.gap_since:.1f} s "
                f"(timeout {self.timeout:g} s) with {len(self.pending)} later block(s) pending")


@dataclass
class DeliveredBlock:
    """A block whose turn came: its raw bytes and the block it was decoded from."""

    seq: int
    raw: bytes
    block: CompressedBlock
    chain: bytes = b""  # the transfer chain after this block (filled when delivered)


class DecodeBudget:
    """Bytes that blocks being decoded may hold, shared by every connection of a
    server: a block reserves its decode bound (from its stream table) before it
    is decoded and returns it after. A block over the whole budget is a
    LimitError at once; one that does not fit now waits up to ``wait`` seconds."""

    def __init__(self, total: int, wait: float = 30.0):
        self.total = total
        self.wait = wait
        self.in_use = 0
        self.peak = 0
        self._cond = threading.Condition()

    def check(self, nbytes: int, what: str = "block") -> None:
        """Raise LimitError if ``nbytes`` could never fit."""
        if nbytes > self.total:
            raise LimitError(f"{what} needs up to {nbytes} bytes to decode, over the receiver's "
                             f"decode memory budget of {self.total}")

    @contextmanager
    def reserve(self, nbytes: int, what: str = "block"):
        self.check(nbytes, what)
        with self._cond:
            if not self._cond.wait_for(lambda: self.in_use + nbytes <= self.total, self.wait):
                raise LimitError(f"{what}: the receiver's decode memory budget stayed full for {self.wait:g} s")
            self.in_use += nbytes
            self.peak = max(self.peak, self.in_use)
        try:
            yield
        finally:
            with self._cond:
                self.in_use -= nbytes
                self._cond.notify_all()


class StreamDecompressor:
    """Incremental decompressor of :class:`CompressedBlock` streams.

    Parameters
    ----------
    config: block size (the largest raw block accepted), checksum kind,
        window and block_timeout.
    start_seq: the first sequence number expected (a resumed stream).
    clock: monotonic seconds, for the missing-block timeout (tests pass a fake).
    executor: a ``concurrent.futures`` executor owned by the caller to decode
        blocks on (default: none, blocks are decoded in the calling thread).

    ``next_seq`` is the sequence number of the next block to be *delivered*
    (decoded, verified and in order); ``chain`` folds the blocks delivered.
    """

    def __init__(self, config: StreamingConfig = StreamingConfig(), *, start_seq: int = 0,
                 chain: bytes = ZERO_CHAIN, clock=time.monotonic, engine: CobolEngine | None = None,
                 dictionary=None, budget: DecodeBudget | None = None, executor=None):
        self.config = config
        self.budget = budget
        self.clock = clock
        self.engine = engine or CobolEngine(config.level, block_size=config.block_size, threads=1,
                                            checksum=config.checksum, dictionary=dictionary)
        dictionary = self.engine.dictionary
        self.header = FrameHeader(checksum=config.checksum_id, block_size=config.block_size,
                                  dictionary_id=None if dictionary is None else dictionary.dict_id)
        self.reassembler = Reassembler(config.window, config.block_timeout, start_seq)
        self.chain = chain
        self.stats = StreamingStatistics("receive")
        self._executor = executor
        self._next_delivery = start_seq
        #: (block, future of its raw bytes) in sequence order: received, contiguous, not yet delivered
        self._decoding = deque()
        self._decoding_bytes = 0
        self._failed: BaseException | None = None

    @property
    def next_seq(self) -> int:
        """The next block to be delivered (blocks before it were decoded, verified and handed out)."""
        return self._next_delivery

    @property
    def received_seq(self) -> int:
        """The first block not yet received (blocks before it were all received; some may still be decoding)."""
        return self.reassembler.next_seq

    @property
    def pending(self) -> int:
        return len(self.reassembler.pending)

    @property
    def decoding(self) -> int:
        """Blocks next in order that are being decoded (``wait_oldest`` waits for the first)."""
        return len(self._decoding)

    @property
    def undelivered(self) -> int:
        """Blocks received but not yet delivered: being decoded, or waiting in the reorder window
        for an earlier one (at most ``window``)."""
        return len(self._decoding) + len(self.reassembler.pending)

    def receive(self, block) -> list:
        """Accept one block; return the :class:`DeliveredBlock` objects now in order."""
        if self._failed is not None:
            raise self._failed
        if not isinstance(block, CompressedBlock):
            block = CompressedBlock.from_bytes(block, self.config.block_size)
        now = self.clock()
        kind = self.reassembler.classify(block.seq)
        if kind == STALE:
            self.stats.stale += 1
            return self._collect(wait_all=False)
        if kind == DUPLICATE:
            self.stats.duplicates += 1
            return self._collect(wait_all=False)
        if kind == BEYOND:
            raise self.reassembler.missing_error(block.seq)
        if block.seq >= self._next_delivery + self.config.window:
            # only with an executor: the window counts from the last block *delivered*, so
            # blocks held (decoding or waiting) never exceed it (credit ensures it on the wire)
            raise BlockMissingError(
                f"block {block.seq} arrived while block {self._next_delivery} is still being decoded, "
                f"past the window of {self.config.window} blocks (wait for a decode first)")
        self.reassembler.check_timeout(now)
        if block.checksum_kind != self.header.checksum:
            raise FormatError(f"block {block.seq}: checksum kind {block.checksum_kind}, the stream uses {self.header.checksum}")
        rec = block.data_block(self.config.block_size)
        try:
            bound = 0
            if self.budget is not None:  # a block over the whole budget is refused now, not when its turn comes
                bound = block_decode_bound(rec)
                self.budget.check(bound, f"block {block.seq}")
            if self._executor is None:
                item = (block, self._decode(block.seq, rec, bound))
            elif block.raw_len * INLINE_DECODE_FRACTION < self.config.block_size:
                item = (block, self._decode_now(block.seq, rec, bound))
            else:
                item = (block, self._executor.submit(self._decode, block.seq, rec, bound))
        except Exception:
            self.stats.checksum_failures += 1
            raise
        if block.seq != self.reassembler.next_seq:
            self.stats.out_of_order += 1
        ready = self.reassembler.push(block.seq, item, block.raw_len + len(block.record), now)
        for it in ready:
            self._decoding.append(it)
            self._decoding_bytes += it[0].raw_len + len(it[0].record)
        self.stats.note_pending(len(self.reassembler.pending), self.reassembler.pending_bytes)
        self.stats.note_undelivered(self.undelivered, self._decoding_bytes + self.reassembler.pending_bytes)
        return self._collect(wait_all=False)

    def collect(self) -> list:
        """The blocks decoded since the last call, in order (without waiting)."""
        if self._failed is not None:
            raise self._failed
        return self._collect(wait_all=False)

    def wait_oldest(self) -> list:
        """Wait for the oldest block being decoded; return the blocks now in order."""
        if self._failed is not None:
            raise self._failed
        if self._decoding and self._executor is not None:
            wait([self._decoding[0][1]])
        return self._collect(wait_all=False)

    def feed_block(self, block) -> bytes:
        """Accept one block; return the raw bytes that became contiguous."""
        out = self.receive(block)
        if not out:
            return b""
        if len(out) == 1:
            return out[0].raw
        return b"".join(d.raw for d in out)

    def poll(self, now: float | None = None) -> None:
        """Raise BlockMissingError if a missing block has been waited for too long."""
        self.reassembler.check_timeout(self.clock() if now is None else now)

    def finish(self, n_blocks: int | None = None) -> None:
        """Check the stream is complete: nothing pending or still decoding, and
        ``n_blocks`` delivered if given."""
        if self.reassembler.pending:
            first = min(self.reassembler.pending)
            raise BlockMissingError(
                f"stream ended with block {self.received_seq} missing and {self.pending} later block(s) "
                f"pending (first {first})")
        if self._decoding:
            raise BlockMissingError(f"stream ended with {len(self._decoding)} block(s) not collected "
                                    f"(call wait_oldest() until none is decoding)")
        if n_blocks is not None and n_blocks != self.next_seq:
            raise BlockMissingError(f"stream ended after {self.next_seq} blocks, expected {n_blocks}")
        self.stats.finish()

    def close(self) -> None:
        """Drop the blocks still being decoded (waiting for those that started)."""
        if self._executor is not None:
            for _, fut in [*self._decoding, *(item for item, _size in self.reassembler.pending.values())]:
                fut.cancel() or fut.exception()
        self._decoding.clear()
        self._decoding_bytes = 0

    # ------------------------------------------------------------ internals

    def _decode(self, seq: int, rec, bound: int) -> bytes:
        """Decode and verify one record (on the executor when there is one)."""
        if self.budget is None:
            return self.engine.decode_block(rec, self.header)
        with self.budget.reserve(bound, f"block {seq}"):
            return self.engine.decode_block(rec, self.header)

    def _decode_now(self, seq: int, rec, bound: int) -> Future:
        """Decode in the calling thread, the outcome in a done future (reported at the block's turn)."""
        fut = Future()
        try:
            fut.set_result(self._decode(seq, rec, bound))
        except Exception as exc:
            fut.set_exception(exc)
        return fut

    def _collect(self, wait_all: bool) -> list:
        out = []
        while self._decoding:
            block, item = self._decoding[0]
            if self._executor is not None:  # item is the future of the raw bytes
                if not (wait_all or item.done()):
                    break
                try:
                    item = item.result()
                except BaseException as exc:
                    self.stats.checksum_failures += 1
                    self._failed = exc
                    self.close()
                    if out:  # hand out the good blocks first; the failure comes on the next call
                        self._deliver(out)
                        return out
                    raise
            self._decoding.popleft()
            self._decoding_bytes -= block.raw_len + len(block.record)
            out.append(DeliveredBlock(block.seq, item, block))
        self._deliver(out)
        return out

    def _deliver(self, out: list) -> None:
        for d in out:
            self.chain = d.chain = chain_next(self.chain, len(d.raw), d.block.checksum)
            self.stats.blocks += 1
            self.stats.raw_bytes += len(d.raw)
            self.stats.compressed_bytes += len(d.block.record)
        self._next_delivery += len(out)
