"""StreamingStatistics: counters kept by both ends of a stream.

One class serves the sending side (compressor, TCP sender) and the receiving
side (decompressor, TCP receiver); each counter says which side fills it. The
counters are plain integers so a snapshot is cheap (``to_dict``), and the
``max_*`` fields are how tests check that memory stays bounded.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field


#: block latencies kept per statistics object (the first ones; enough for percentiles)
MAX_LATENCY_SAMPLES = 100_000


@dataclass
class StreamingStatistics:
    direction: str = "send"  # "send" or "receive"
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None

    blocks: int = 0             # blocks produced (send) or delivered in order (receive)
    raw_bytes: int = 0          # raw bytes in those blocks
    compressed_bytes: int = 0   # bytes of their .cobl records
    wire_bytes_out: int = 0     # bytes written to the transport (frames, handshake included)
    wire_bytes_in: int = 0      # bytes read from the transport
    frames_out: int = 0
    frames_in: int = 0

    # receive side
    duplicates: int = 0         # blocks dropped because the same sequence number was pending
    stale: int = 0              # blocks dropped because they were already delivered
    out_of_order: int = 0       # blocks that arrived ahead of a missing one
    checksum_failures: int = 0  # blocks whose decoded bytes did not match their checksum
    checkpoints: int = 0        # durable checkpoints written
    max_pending_blocks: int = 0  # most blocks held in the reorder window at once
    max_pending_bytes: int = 0   # most bytes held in the reorder window at once
    max_buffered_bytes: int = 0  # most bytes of undecoded frames held at once
    max_undelivered_blocks: int = 0  # most blocks received but not yet delivered (decoding or reordering)
    max_undelivered_bytes: int = 0   # their raw + record bytes at most (bounds the receiver's block memory)

    # send side
    retransmitted: int = 0      # blocks sent again after a reconnect
    max_retained_blocks: int = 0  # most blocks kept for retransmission at once
    max_retained_bytes: int = 0
    credit_stalls: int = 0      # times the sender had data but no credit

    # receive side: block latency, from the moment the sender cut the block (its
    # timestamp) to its delivery here, in microseconds (sender and receiver on
    # one clock for this to mean something: loopback, or synchronised hosts)
    latencies_us: list = field(default_factory=list, repr=False)

    # both
    connections: int = 0        # connections made (send) or accepted (receive)
    resumes: int = 0            # connections that resumed a transfer past block 0
    resumed_from: int = 0       # sequence number of the latest resume point
    errors: int = 0

    def finish(self) -> None:
        self.finished = time.monotonic()

    @property
    def elapsed(self) -> float:
        end = self.finished if self.finished is not None else time.monotonic()
        return max(end - self.started, 1e-9)

    @property
    def ratio(self) -> float:
        return self.raw_bytes / self.compressed_bytes if self.compressed_bytes else 0.0

    @property
    def throughput(self) -> float:
        """Raw bytes per second since the statistics started."""
        return self.raw_bytes / self.elapsed

    def note_pending(self, blocks: int, nbytes: int) -> None:
        self.max_pending_blocks = max(self.max_pending_blocks, blocks)
        self.max_pending_bytes = max(self.max_pending_bytes, nbytes)

    def note_undelivered(self, blocks: int, nbytes: int) -> None:
        self.max_undelivered_blocks = max(self.max_undelivered_blocks, blocks)
        self.max_undelivered_bytes = max(self.max_undelivered_bytes, nbytes)

    def note_retained(self, blocks: int, nbytes: int) -> None:
        self.max_retained_blocks = max(self.max_retained_blocks, blocks)
        self.max_retained_bytes = max(self.max_retained_bytes, nbytes)

    def note_latency(self, microseconds: int) -> None:
        if len(self.latencies_us) < MAX_LATENCY_SAMPLES:
            self.latencies_us.append(max(0, microseconds))

    def latency_percentile(self, q: float) -> float | None:
        """The q-quantile (0..1) of the block latencies in seconds; None without samples."""
        if not self.latencies_us:
            return None
        xs = sorted(self.latencies_us)
        return xs[min(len(xs) - 1, int(q * len(xs)))] / 1e6

    def to_dict(self) -> dict:
        d = asdict(self)
        del d["latencies_us"]
        d.update(elapsed=round(self.elapsed, 6), ratio=round(self.ratio, 4), throughput=round(self.throughput, 1),
                 latency_p50_s=self.latency_percentile(0.5), latency_p99_s=self.latency_percentile(0.99))
        return d

    def summary(self) -> str:
        return (f"{self.blocks} blocks, {self.raw_bytes} bytes raw, {self.compressed_bytes} compressed "
                f"(ratio {self.ratio:.2f}), {self.throughput / 1e6:.2f} MB/s, "
                f"{self.connections} connection(s), {self.retransmitted} retransmitted")
