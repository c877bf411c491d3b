"""StreamingConfig: every knob of the streaming layer in one frozen object.

Defaults: the file path's 8 MiB blocks (``cobol.engine.DEFAULT_BLOCK_SIZE``:
the same cuts, so the same ratio and the same per-block planning cost as
``cobol -c``; the latency large blocks would add to slow sources is bounded
by ``max_delay`` instead), a reorder window of 32 MiB of blocks (4 blocks of
8 MiB, 16 of 2 MiB) and a 60 s timeout for a missing block. The sender and
receiver each have their own config; the parameters that must agree (block
size, checksum kind) travel in the handshake, the rest are local policy. A
sender whose block size exceeds the receiver's ``max_block_size`` (sent in
CHALLENGE) lowers its block size to that limit before it cuts a block.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..engine import DEFAULT_BLOCK_SIZE, MAX_LEVEL, MIN_LEVEL
from ..errors import EncodeError
from ..format import checksum as ck

DEFAULT_PORT = 7433
KiB = 1024
MiB = 1024 * 1024
#: bytes the TCP shells read at a time (fewer, larger reads: less per-read overhead)
READ_SIZE = 256 * KiB
#: the fewest blocks a receiver's window holds whatever ``window_bytes`` says: one
#: being written, two decoding (a 2-core receiver's pool) and one on the wire
MIN_WINDOW = 4


def max_record_size(block_size: int) -> int:
    """Largest .cobl data record a block of ``block_size`` raw bytes can need.

    The engine always keeps the smaller of its plan and plain zstd (or stored)
    bytes, so a record is the zstd bound of the block (size + size/128 + a
    little) plus the record header, checksum and plan parameters.
    """
    return block_size + block_size // 64 + 16 * KiB


@dataclass(frozen=True)
class StreamingConfig:
    """Parameters of a stream compressor / decompressor and of the TCP protocol.

    block_size: raw bytes per block (the last block of a stream or a flush may be shorter).
    max_delay: seconds a byte read from a source that can stall (a pipe,
        a terminal, a socket: not a regular file) may wait in the sender before
        its block is cut, full or not; bounds an interactive stream's latency.
    level, plan: passed to the engine for every block (see CobolEngine).
    checksum: per-block checksum of the raw bytes: "xxh3" (default), "sha256", "crc32".
    window: reorder window in blocks; the receiver grants at most this many
        blocks beyond the first one it is missing.
    window_bytes: the receiver's window in raw bytes: a transfer with blocks
        of ``b`` bytes gets ``window_for(b) = min(window, max(MIN_WINDOW,
        window_bytes // b))`` blocks, so larger blocks do not multiply the
        memory a connection holds (see ``receiver_memory_bound``).
    block_timeout: seconds a missing block may be waited for while later
        blocks sit in the reorder window.
    idle_timeout: seconds a connection may stay silent before it is closed.
    handshake_timeout: seconds for the whole handshake.
    ack_timeout: seconds a sender waits for an acknowledgement while it has
        unacknowledged blocks before it reconnects.
    max_unacked: blocks a sender may have sent beyond the receiver's last
        durable acknowledgement (bounds the sender's retransmit buffer).
    checkpoint_blocks, checkpoint_interval: the receiver makes its progress
        durable every this many blocks, or after this many seconds with
        un-checkpointed blocks.
    max_block_size: largest block size a receiver accepts from a sender (it
        says so in CHALLENGE; a sender with larger blocks lowers them to it).
    max_connections: concurrent connections a server accepts; more are refused.
    max_decode_memory: bytes all of a server's connections together may hold
        in blocks being decoded (each block reserves its bound from the stream
        table, docs/FORMAT.md "Memory bound", before it is decoded; a block
        over the whole budget is refused, others wait for room).
    threads: worker threads the shell codes blocks on: the sender's encodes
        its blocks ahead of the wire, the server's decodes the blocks of all
        its connections (the shells own the pools; the sans-IO cores only
        submit to them).
    fsync: make checkpoints durable (off only for throwaway tests).
    """

    block_size: int = DEFAULT_BLOCK_SIZE
    level: int = 3
    plan: str = "auto"
    checksum: str = "xxh3"
    window: int = 16
    window_bytes: int = 32 * MiB
    block_timeout: float = 60.0
    idle_timeout: float = 30.0
    handshake_timeout: float = 10.0
    ack_timeout: float = 30.0
    max_unacked: int = 32
    checkpoint_blocks: int = 8
    checkpoint_interval: float = 0.5
    max_block_size: int = DEFAULT_BLOCK_SIZE
    max_connections: int = 64
    max_decode_memory: int = 1024 * MiB
    threads: int = 1
    fsync: bool = True
    max_delay: float = 0.02

    def __post_init__(self):
        def need(ok: bool, what: str):
            if not ok:
                raise EncodeError(f"StreamingConfig: {what}")
        need(isinstance(self.block_size, int) and 1 <= self.block_size <= self.max_block_size,
             f"block_size must be in 1..max_block_size={self.max_block_size}, got {self.block_size!r}")
        need(self.max_block_size <= 1 << 30, f"max_block_size must be <= 1 GiB, got {self.max_block_size}")
        need(isinstance(self.level, int) and MIN_LEVEL <= self.level <= MAX_LEVEL,
             f"level must be in {MIN_LEVEL}..{MAX_LEVEL}, got {self.level!r}")
        ck.checksum_id(self.checksum)  # raises EncodeError naming the choices
        need(isinstance(self.window, int) and 1 <= self.window <= 1 << 16, f"window must be in 1..65536, got {self.window!r}")
        need(isinstance(self.window_bytes, int) and self.window_bytes >= 1,
             f"window_bytes must be >= 1, got {self.window_bytes!r}")
        for name in ("block_timeout", "idle_timeout", "handshake_timeout", "ack_timeout", "checkpoint_interval",
                     "max_delay"):
            v = getattr(self, name)
            need(isinstance(v, (int, float)) and v > 0, f"{name} must be > 0 seconds, got {v!r}")
        need(isinstance(self.max_unacked, int) and self.max_unacked >= 1, f"max_unacked must be >= 1, got {self.max_unacked!r}")
        need(isinstance(self.checkpoint_blocks, int) and 1 <= self.checkpoint_blocks <= self.max_unacked,
             f"checkpoint_blocks must be in 1..max_unacked={self.max_unacked}, got {self.checkpoint_blocks!r}")
        need(isinstance(self.max_connections, int) and self.max_connections >= 1,
             f"max_connections must be >= 1, got {self.max_connections!r}")
        need(isinstance(self.max_decode_memory, int) and self.max_decode_memory >= 1 * MiB,
             f"max_decode_memory must be >= 1 MiB, got {self.max_decode_memory!r}")
        need(isinstance(self.threads, int) and self.threads >= 1, f"threads must be >= 1, got {self.threads!r}")

    @property
    def checksum_id(self) -> int:
        return ck.checksum_id(self.checksum)

    def replace(self, **changes) -> "StreamingConfig":
        return replace(self, **changes)

    def window_for(self, block_size: int | None = None) -> int:
        """The receiver's window, in blocks, for a transfer with blocks of
        ``block_size`` bytes: ``window_bytes`` of them (at least MIN_WINDOW),
        never more than ``window``."""
        bs = self.block_size if block_size is None else block_size
        return min(self.window, max(MIN_WINDOW, self.window_bytes // bs))

    def max_unacked_for(self, block_size: int | None = None) -> int:
        """Blocks a sender may have beyond the receiver's durable point for a
        transfer with blocks of ``block_size`` bytes: twice the window's bytes
        (at least 2 x MIN_WINDOW blocks), never more than ``max_unacked``. Both
        ends apply it: the receiver to the credit it grants, the sender to
        what it sends whatever the credit (so an older receiver, which grants
        up to ``max_unacked`` blocks of any size, cannot make it retain more)."""
        bs = self.block_size if block_size is None else block_size
        return min(self.max_unacked, max(2 * MIN_WINDOW, 2 * self.window_bytes // bs))

    def checkpoint_blocks_for(self, block_size: int | None = None) -> int:
        """How many delivered blocks the receiver lets wait before making them
        durable: ``checkpoint_blocks``, but at most the window, so that what a
        sender must retain (delivered but not yet durable, plus the window)
        scales with the window's bytes, not with the block size."""
        return min(self.checkpoint_blocks, self.window_for(block_size))

    def receiver_memory_bound(self, block_size: int | None = None) -> int:
        """Bytes a receiver holds per connection at most: the window of blocks
        received but not yet written (decoding, decoded or out of order: credit
        counts from the last block written) with their records, plus one frame
        being read and one read. The working memory of blocks being decoded is
        on top: at most ``threads`` of them at once (the server's decode pool),
        each :meth:`receiver_decode_bound`, all of them within ``max_decode_memory``."""
        bs = self.block_size if block_size is None else block_size
        return self.window_for(bs) * (bs + max_record_size(bs)) + 2 * (max_record_size(bs) + READ_SIZE)

    def receiver_decode_bound(self, block_size: int | None = None) -> int:
        """The most one connection's block being decoded may allocate (docs/FORMAT.md
        "Memory bound", the largest transform: 16 x block size + 2 MiB of streams,
        17 x block size + 1 MiB of working memory and output, the record; PPMd
        models, up to 256 MiB, on top). Each block reserves its own bound, from its
        stream table, out of ``max_decode_memory`` before it is decoded."""
        bs = self.block_size if block_size is None else block_size
        return 33 * bs + 3 * MiB + max_record_size(bs)

    def sender_memory_bound(self, block_size: int | None = None) -> int:
        """Bytes of encoded blocks a sender retains at most: those beyond the
        receiver's durable point (for retransmission) and those encoded ahead of
        the wire (2 x threads). The raw blocks being encoded and the encoder's
        working memory are on top (docs/STREAMING.md, "Memory bounds")."""
        bs = self.block_size if block_size is None else block_size
        return (self.max_unacked_for(bs) + self.threads * 2) * max_record_size(bs)
