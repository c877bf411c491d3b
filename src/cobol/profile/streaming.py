"""StreamingProfile: timing of blocks on the wire, for the streaming API.

A standalone recorder with no sockets and no threads of its own (the h11
habit): the streaming code calls its ``on_*`` methods as blocks are sent,
received, acknowledged and delivered, passing the sequence number, the size
and optionally the time (default ``time.monotonic()``; pass your own clock
values in tests, and use one clock for both ends when both live in one
process). :meth:`summary` gives per-block latency, jitter, throughput over
time, out-of-order, duplicate and retransmitted blocks and sequence gaps.

Definitions (docs/PROFILE.md "Streaming"):

- latency: receive time - last send time of that block (one-way; needs both
  ends on one clock); rtt: ack time - last send time; delivery delay:
  in-order delivery time - receive time (time spent in the reorder window).
- jitter: RFC 3550 interarrival jitter, J += (|D| - J) / 16 with D the change
  of latency between consecutive arrivals; when send times are unknown, the
  standard deviation of the interarrival times is given instead.
- out of order: a block arriving after a block with a higher sequence number.
- gap: an arrival whose sequence number skips past the next expected one
  (``max_gap`` is the largest skip); ``missing`` lists the sequence numbers
  below the highest received one that never arrived.
- retransmitted: ``on_block_sent`` again for a sequence number already sent,
  or :meth:`on_retransmit`.

Thread-safe (one lock per call); memory is bounded by ``max_blocks`` rows.

>>> sp = StreamingProfile()
>>> for seq, (ts, tr) in enumerate([(0.0, 0.010), (0.001, 0.012), (0.002, 0.011)]):
...     sp.on_block_sent(seq, 1000, t=ts)
...     sp.on_block_received(seq, 1000, t=tr)
>>> s = sp.summary()
>>> s["blocks_received"], s["out_of_order"], round(s["latency_s"]["max"], 3)
(3, 0, 0.011)
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict

_MB = 1e6
MAX_MISSING_LISTED = 100


class _BlockTimes:
    __slots__ = ("seq", "nbytes", "raw_bytes", "first_sent", "last_sent", "sends", "received", "acked",
                 "delivered", "out_of_order", "duplicates")

    def __init__(self, seq: int):
        self.seq = seq
        self.nbytes = self.raw_bytes = None
        self.first_sent = self.last_sent = self.received = self.acked = self.delivered = None
        self.sends = 0
        self.out_of_order = False
        self.duplicates = 0

    def row(self, t0: float) -> dict:
        def rel(t):
            return None if t is None else t - t0
        lat = self.received - self.last_sent if self.received is not None and self.last_sent is not None else None
        rtt = self.acked - self.last_sent if self.acked is not None and self.last_sent is not None else None
        return {"seq": self.seq, "bytes": self.nbytes, "raw_bytes": self.raw_bytes, "sent_s": rel(self.first_sent),
                "received_s": rel(self.received), "latency_s": lat, "rtt_s": rtt,
                "delivery_delay_s": (self.delivered - self.received
                                     if self.delivered is not None and self.received is not None else None),
                "sends": self.sends, "out_of_order": self.out_of_order, "duplicates": self.duplicates}


def _stats(values: list) -> dict | None:
    if not values:
        return None
    v = sorted(values)
    n = len(v)
    mean = sum(v) / n
    var = sum((x - mean) ** 2 for x in v) / n

    def pct(p):
        return v[min(n - 1, max(0, math.ceil(p * n) - 1))]
    return {"count": n, "mean": mean, "min": v[0], "max": v[-1], "p50": pct(0.50), "p95": pct(0.95),
            "p99": pct(0.99), "stdev": math.sqrt(var)}


class StreamingProfile:
    """Records block events of a stream; see the module docstring.

    Parameters
    ----------
    clock: the time source when a call gives no ``t`` (default time.monotonic).
    max_blocks: per-block rows kept (the oldest are dropped past it; counters
        and latency statistics keep counting).
    """

    def __init__(self, *, clock=time.monotonic, max_blocks: int = 100_000):
        self.clock = clock
        self.max_blocks = max_blocks
        self._lock = threading.Lock()
        self._blocks: OrderedDict = OrderedDict()
        self._t0 = None
        self._t_last = None
        self.blocks_sent = self.bytes_sent = 0
        self.blocks_received = self.bytes_received = self.raw_bytes_received = 0
        self.retransmitted = self.duplicates = self.out_of_order = 0
        self.gap_events = self.max_gap = 0
        self.acked = self.delivered = 0
        self._highest = None  # highest sequence number received
        self._lowest = None
        self._received: set = set()  # sequence numbers received (bounded like the rows)
        self._latencies: list = []
        self._rtts: list = []
        self._delays: list = []
        self._arrivals: list = []  # (t, bytes) of first arrivals, for throughput over time
        self._sends: list = []  # (t, bytes) of sends, when nothing is received (sender-side profile)
        self._jitter = 0.0
        self._jitter_n = 0
        self._prev_transit = None
        self._prev_arrival = None
        self._interarrivals: list = []
        self.dropped_rows = 0

    # ------------------------------------------------------------ events

    def _now(self, t):
        t = self.clock() if t is None else float(t)
        if self._t0 is None or t < self._t0:
            self._t0 = t
        if self._t_last is None or t > self._t_last:
            self._t_last = t
        return t

    def _block(self, seq: int) -> _BlockTimes:
        b = self._blocks.get(seq)
        if b is None:
            b = self._blocks[seq] = _BlockTimes(seq)
            if len(self._blocks) > self.max_blocks:
                self._blocks.popitem(last=False)
                self.dropped_rows += 1
        return b

    def on_block_sent(self, seq: int, nbytes: int, t: float | None = None, raw_bytes: int | None = None) -> None:
        """A block (its wire bytes) was written; a second call for one seq counts as a retransmission."""
        with self._lock:
            t = self._now(t)
            b = self._block(seq)
            if b.sends:
                self.retransmitted += 1
            else:
                b.first_sent = t
            b.last_sent = t
            b.sends += 1
            b.nbytes = nbytes
            if raw_bytes is not None:
                b.raw_bytes = raw_bytes
            self.blocks_sent += 1
            self.bytes_sent += nbytes
            if len(self._sends) < 4 * self.max_blocks:
                self._sends.append((t, nbytes))

    def on_retransmit(self, seq: int, nbytes: int, t: float | None = None) -> None:
        """Same as sending the block again (for callers that know it is a retransmission)."""
        self.on_block_sent(seq, nbytes, t)

    def on_block_received(self, seq: int, nbytes: int, t: float | None = None, raw_bytes: int | None = None) -> None:
        """A block arrived (possibly out of order, possibly again)."""
        with self._lock:
            t = self._now(t)
            b = self._block(seq)
            if seq in self._received:
                self.duplicates += 1
                b.duplicates += 1
                return
            self._received.add(seq)
            if len(self._received) > 4 * self.max_blocks:
                # keep the set bounded: forget the oldest (lowest) numbers, which no longer matter for gaps
                for s in sorted(self._received)[: len(self._received) - 2 * self.max_blocks]:
                    self._received.discard(s)
            b.received = t
            b.nbytes = nbytes if b.nbytes is None else b.nbytes
            if raw_bytes is not None:
                b.raw_bytes = raw_bytes
            self.blocks_received += 1
            self.bytes_received += nbytes
            self.raw_bytes_received += raw_bytes or 0
            if self._highest is not None and seq < self._highest:
                self.out_of_order += 1
                b.out_of_order = True
            expected = 0 if self._highest is None else self._highest + 1
            if self._highest is None and self._lowest is None:
                expected = seq  # a stream may start anywhere (a resumed transfer)
            if seq > expected:
                self.gap_events += 1
                self.max_gap = max(self.max_gap, seq - expected)
            self._highest = seq if self._highest is None else max(self._highest, seq)
            self._lowest = seq if self._lowest is None else min(self._lowest, seq)
            if len(self._arrivals) < 4 * self.max_blocks:
                self._arrivals.append((t, nbytes))
            if self._prev_arrival is not None and len(self._interarrivals) < 4 * self.max_blocks:
                self._interarrivals.append(t - self._prev_arrival)
            self._prev_arrival = t
            if b.last_sent is not None:
                transit = t - b.last_sent
                if len(self._latencies) < 4 * self.max_blocks:
                    self._latencies.append(transit)
                if self._prev_transit is not None:
                    self._jitter += (abs(transit - self._prev_transit) - self._jitter) / 16.0
                    self._jitter_n += 1
                self._prev_transit = transit

    def on_block_acked(self, seq: int, t: float | None = None) -> None:
        """The receiver acknowledged the block (sender side): gives the round-trip time."""
        with self._lock:
            t = self._now(t)
            b = self._block(seq)
            if b.acked is None:
                b.acked = t
                self.acked += 1
                if b.last_sent is not None and len(self._rtts) < 4 * self.max_blocks:
                    self._rtts.append(t - b.last_sent)

    def on_block_delivered(self, seq: int, t: float | None = None) -> None:
        """The block left the reorder window, in order, to the application."""
        with self._lock:
            t = self._now(t)
            b = self._block(seq)
            if b.delivered is None:
                b.delivered = t
                self.delivered += 1
                if b.received is not None and len(self._delays) < 4 * self.max_blocks:
                    self._delays.append(t - b.received)

    # ------------------------------------------------------------ results

    def missing(self) -> list:
        """Sequence numbers between the lowest and highest received that never arrived."""
        with self._lock:
            return self._missing()

    def _missing(self) -> list:
        if self._highest is None:
            return []
        lo = max(self._lowest, min(self._received)) if self._received else self._lowest
        return [s for s in range(lo, self._highest + 1) if s not in self._received]

    def throughput_series(self, bin_seconds: float | None = None) -> list:
        """Bytes per time bin from the first event: ``[{t_s, bytes, mb_s}]``; arrivals,
        or sends when nothing was received. Default bin: duration / 50, at least 1 ms."""
        with self._lock:
            return self._series(bin_seconds)[0]

    def _series(self, bin_seconds):
        events = self._arrivals or self._sends
        if not events or self._t0 is None:
            return [], None
        duration = max(self._t_last - self._t0, 1e-9)
        width = bin_seconds or max(duration / 50.0, 1e-3)
        n = int(duration // width) + 1
        bins = [0] * n
        for t, nb in events:
            bins[min(n - 1, int((t - self._t0) // width))] += nb
        return [{"t_s": i * width, "bytes": b, "mb_s": b / width / _MB} for i, b in enumerate(bins)], width

    def summary(self, bin_seconds: float | None = None, block_rows: int = 1000) -> dict:
        """All figures as a JSON-ready dict (the profile's ``streaming`` section)."""
        with self._lock:
            series, width = self._series(bin_seconds)
            duration = (self._t_last - self._t0) if self._t0 is not None else 0.0
            missing = self._missing()
            ia = _stats(self._interarrivals)
            moved = self.bytes_received or self.bytes_sent
            return {
                "blocks_sent": self.blocks_sent, "bytes_sent": self.bytes_sent,
                "blocks_received": self.blocks_received, "bytes_received": self.bytes_received,
                "raw_bytes_received": self.raw_bytes_received,
                "blocks_acked": self.acked, "blocks_delivered": self.delivered,
                "retransmitted": self.retransmitted, "duplicates": self.duplicates,
                "out_of_order": self.out_of_order, "gap_events": self.gap_events, "max_gap": self.max_gap,
                "missing_count": len(missing), "missing": missing[:MAX_MISSING_LISTED],
                "duration_s": duration,
                "throughput_mb_s": moved / duration / _MB if duration > 0 else None,
                "latency_s": _stats(self._latencies),
                "rtt_s": _stats(self._rtts),
                "delivery_delay_s": _stats(self._delays),
                "jitter_s": self._jitter if self._jitter_n else None,
                "interarrival_s": ia,
                "throughput_bin_s": width,
                "throughput_over_time": series,
                "blocks": [b.row(self._t0) for b in list(self._blocks.values())[:block_rows]],
                "dropped_block_rows": self.dropped_rows,
            }

    to_dict = summary
