"""The sending endpoint: a source, a compressor and a SenderSession per connection.

:class:`OutgoingTransfer` is what a sender remembers across connections: the
blocks sent but not yet acknowledged as durable (kept for retransmission,
bounded by the receiver's credit), the running chain, and where the source
stands. :class:`SenderEndpoint` drives one transfer over as many connections
as it takes; it reads the source and compresses, but never touches a socket:
the TCP client (tcp.py) and the in-memory tests move its bytes.

Resuming (docs/STREAMING.md, "Resume"): the receiver's ACCEPT names the block
it has durably up to and the chain over those blocks. If the sender still
holds that block it resends from there; otherwise, with a seekable source, it
re-cuts and re-hashes the prefix (no compression) to check the chain, then
seeks and continues. A mismatch is a ResumeError, and the sender starts over
with a fresh transfer.
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import time

from ..format import checksum as ck
from .block import ZERO_CHAIN, CompressedBlock, chain_next
from .compressor import StreamCompressor, next_cut
from .config import StreamingConfig
from .errors import ConnectionTimeout, ResumeError, TransferRefused
from .protocol import Accepted, Acked, Finished, ResumePoint, SenderSession, State, TransferInfo
from .stats import StreamingStatistics

#: a quiet sender (slow source) says KEEPALIVE at least this often, so that a
#: receiver with a shorter idle timeout than the sender's does not drop it
KEEPALIVE_INTERVAL = 5.0
#: how long one wait for a stalling source with nothing buffered lasts before
#: the pump returns (so the shell can read acks and send keepalives meanwhile)
IDLE_WAIT = 0.5


def transfer_id_for_file(path, config: StreamingConfig, dictionary_id: int | None = None) -> bytes:
    """A transfer id that is the same for the same file (path, size, mtime) and
    parameters, so a sender restarted later still resumes its transfer."""
    st = os.stat(path)
    key = f"{os.path.abspath(path)}\0{st.st_size}\0{st.st_mtime_ns}\0{config.block_size}\0{config.checksum}"
    if dictionary_id is not None:  # the same file sent with a dictionary is another transfer
        key += f"\0dictionary {dictionary_id:08x}"
    return hashlib.sha256(b"cobol-transfer-v1\0" + key.encode("utf-8", "surrogateescape")).digest()[:16]


def scan_prefix(source, config: StreamingConfig, n_blocks: int) -> tuple[int, bytes]:
    """(raw offset, chain) after the first ``n_blocks`` blocks of a seekable
    source, cut and checksummed exactly as the compressor does, without
    compressing. Raises ResumeError if the source has fewer blocks."""
    source.seek(0)
    kind = config.checksum_id
    bs = config.block_size
    buf = bytearray()
    chain = ZERO_CHAIN
    offset = 0
    done = 0
    eof = False
    while done < n_blocks:
        if len(buf) <= bs and not eof:
            more = source.read(bs)  # a block at a time: memory ~2 blocks, whatever the block size
            eof = not more
            buf += more
            continue
        n = next_cut(buf, bs, eof)
        if not n:
            raise ResumeError(f"the source holds {done} blocks ({offset} bytes); the receiver has {n_blocks}")
        chain = chain_next(chain, n, ck.compute(kind, memoryview(buf)[:n]))
        offset += n
        del buf[:n]
        done += 1
    return offset, chain


class OutgoingTransfer:
    """One file or stream on its way to a receiver, across reconnections.

    source: a binary file object (seekable or not), or a source with
        ``read(n, timeout)`` that returns None when nothing arrived in time
        (:class:`~cobol.stream.sources.StallingSource`, for pipes): then a
        partial block is cut once its oldest byte has waited
        ``config.max_delay`` seconds.
    name: the name the receiver stores it under (a base name).
    size: total bytes if known (shown by the receiver; not trusted).
    transfer_id: 16 bytes that identify the transfer to the receiver across
        connections (default: random; see ``transfer_id_for_file``).
    executor: a ``concurrent.futures`` executor (owned by the caller) to encode
        blocks on; up to ``max_in_flight`` blocks are encoded ahead of the wire.
    """

    def __init__(self, source, config: StreamingConfig = StreamingConfig(), *, name: str = "stream",
                 size: int | None = None, transfer_id: bytes | None = None, executor=None,
                 max_in_flight: int | None = None, clock=time.monotonic, dictionary=None):
        self.source = source
        self.dictionary = dictionary  # a shared cobol.dictionary.Dictionary the blocks are coded with
        self.executor = executor
        self.max_in_flight = max_in_flight or (2 * config.threads if executor is not None else 1)
        self.clock = clock
        self._timed = hasattr(source, "read_timeout")
        self.config = config
        self.name = name
        self.size = size
        self.transfer_id = transfer_id or secrets.token_bytes(16)
        self.fresh = False  # ask the receiver to drop any partial data (after a ResumeError)
        self.stats = StreamingStatistics("send")
        self._reset(0, 0, ZERO_CHAIN)
        self.max_sent = 0  # 1 + the highest sequence number ever sent (to count retransmissions)

    def _reset(self, seq: int, raw_offset: int, chain: bytes) -> None:
        old = getattr(self, "compressor", None)
        if old is not None:
            old.close()  # blocks still being encoded for the old position
        self._oldest = None  # clock() when the oldest byte now buffered in the compressor arrived
        engine = None
        if self.dictionary is not None:
            from ..engine import CobolEngine
            c = self.config
            engine = CobolEngine(c.level, block_size=c.block_size, threads=1, checksum=c.checksum, plan=c.plan,
                                 dictionary=self.dictionary)
        self.compressor = StreamCompressor(self.config, start_seq=seq, chain=chain, executor=self.executor,
                                           engine=engine)
        self.produced = seq          # blocks [0, produced) have been cut and encoded
        self.raw_produced = raw_offset
        self.chain = chain           # chain over blocks [0, produced)
        self.retained: dict = {}     # seq -> (block, chain before it, raw offset before it)
        self.retained_from = seq
        self.retained_bytes = 0
        self.acked_raw = raw_offset  # raw bytes the receiver holds durably (progress)
        self.eof = False

    def info(self) -> TransferInfo:
        return TransferInfo(self.transfer_id, self.name, self.size, self.config.block_size,
                            self.config.checksum_id, self.config.level, self.fresh,
                            None if self.dictionary is None else self.dictionary.dict_id)

    def fit_block_size(self, limit: int) -> TransferInfo:
        """The transfer's TransferInfo with a block size of at most ``limit``
        (the receiver's max_block_size, from CHALLENGE). A transfer that has
        cut no block yet lowers its block size to ``limit``; one that has (its
        blocks, its resume point and its transfer chain are in the larger
        size) is refused rather than re-cut."""
        bs = self.config.block_size
        if bs <= limit:
            return self.info()
        c = self.compressor
        if self.produced or self.max_sent or c.buffered or c.in_flight:
            raise TransferRefused(f"block size {bs} exceeds the receiver's limit {limit}, and this transfer "
                                  f"already cut blocks of {bs} bytes")
        self.config = self.config.replace(block_size=limit)
        self._reset(0, 0, ZERO_CHAIN)
        return self.info()

    def _read(self, n: int):
        """Up to ``n`` bytes; b"" at the end; None when a stalling source gave
        nothing before the oldest buffered byte reached max_delay."""
        c = self.compressor
        if not self._timed:
            return self.source.read(n)
        if not (c.buffered or c.in_flight):  # nothing waits: come back now and then (acks, keepalives)
            return self.source.read_timeout(n, IDLE_WAIT)
        wait = self.config.max_delay if self._oldest is None else self._oldest + self.config.max_delay - self.clock()
        return self.source.read_timeout(n, max(0.0, wait))

    def produce(self, want: int) -> int:
        """Read and compress until at least one new block exists (or EOF).
        With an executor, reading runs ahead while up to ``max_in_flight``
        blocks are being encoded."""
        bs = self.config.block_size
        c = self.compressor
        new = []
        while not new:
            if not self.eof and c.in_flight < self.max_in_flight:
                data = self._read(bs * max(1, min(want, self.max_in_flight - c.in_flight)))
                if data is None:  # a stalled source: cut what waited long enough
                    self._oldest = None
                    new = c.flush()
                    if not new:
                        break  # an idle source: nothing to send for now
                elif data:
                    now = self.clock()
                    before = c.buffered + len(data)
                    new = c.feed(data)
                    if self._timed:
                        if c.buffered < before or self._oldest is None:  # a cut: what is left came last
                            self._oldest = now if c.buffered else None
                        if self._oldest is not None and now - self._oldest >= self.config.max_delay:
                            self._oldest = None
                            new += c.flush()
                else:
                    self.eof = True
                    new = c.flush()
            elif c.in_flight:
                new = c.wait_oldest()
            else:
                break
        for b in new:
            self.retained[b.seq] = (b, self.chain, self.raw_produced)
            self.retained_bytes += len(b.record)
            self.chain = chain_next(self.chain, b.raw_len, b.checksum)
            self.raw_produced += b.raw_len
            self.stats.blocks += 1
            self.stats.raw_bytes += b.raw_len
            self.stats.compressed_bytes += len(b.record)
        self.produced = self.compressor.seq
        self.stats.note_retained(len(self.retained), self.retained_bytes)
        return len(new)

    @property
    def stalls(self) -> bool:
        """Whether the source can stall (reads wait with a timeout)."""
        return self._timed

    def block(self, seq: int) -> CompressedBlock:
        return self.retained[seq][0]

    def ack(self, acked: int) -> None:
        """The receiver holds blocks [0, acked) durably: forget them."""
        while self.retained_from < acked and self.retained_from in self.retained:
            b, _, raw_before = self.retained.pop(self.retained_from)
            self.retained_bytes -= len(b.record)
            self.acked_raw = raw_before + b.raw_len
            self.retained_from += 1
        self.retained_from = max(self.retained_from, min(acked, self.produced))

    def resume(self, rp: ResumePoint) -> int:
        """Position at the receiver's resume point; return the next block to send."""
        if rp.seq == self.produced and rp.raw_offset == self.raw_produced and rp.chain == self.chain:
            self.ack(rp.seq)
            self.acked_raw = rp.raw_offset
            return rp.seq
        held = self.retained.get(rp.seq)
        if held is not None:
            _, chain, raw = held
            if chain != rp.chain or raw != rp.raw_offset:
                raise ResumeError(f"the receiver's data up to block {rp.seq} differs from this source")
            self.ack(rp.seq)
            return rp.seq
        seekable = getattr(self.source, "seekable", lambda: False)()
        if not seekable:
            raise ResumeError(f"cannot resume at block {rp.seq}: the source is not seekable and "
                              f"holds blocks {self.retained_from}..{self.produced - 1} only")
        here = self.source.tell()
        try:
            offset, chain = scan_prefix(self.source, self.config, rp.seq)
            if offset != rp.raw_offset or chain != rp.chain:
                raise ResumeError(f"the receiver's data up to block {rp.seq} differs from this source")
        except BaseException:
            self.source.seek(here)  # the transfer stays where it was
            raise
        self.source.seek(offset)
        self._reset(rp.seq, offset, chain)
        return rp.seq


class SenderEndpoint:
    """Sends one OutgoingTransfer; call ``connection_made`` for each new connection.

    The shell's loop: write ``data_to_send()``; while ``wants_pump`` call
    ``pump()`` (reads and compresses: run it on a thread); otherwise read from
    the connection and ``receive_data`` it, calling ``poll()`` when a read times
    out. ``done`` once the receiver confirmed the whole transfer (``result``).
    """

    def __init__(self, transfer: OutgoingTransfer, token: bytes | None = None, *, clock=time.monotonic,
                 profile=None):
        self.transfer = transfer
        self.token = token
        self.clock = clock
        self.profile = profile  # a cobol.profile.StreamingProfile: per-block send / ack times
        self.session: SenderSession | None = None
        self.result: Finished | None = None
        self.next_send: int | None = None
        self.end_sent = False
        self.receiver_had_all = False  # the receiver had finished this transfer before (a lost DONE)
        self._stalled = False
        self.last_sent = clock()

    @property
    def stats(self) -> StreamingStatistics:
        return self.transfer.stats

    @property
    def done(self) -> bool:
        return self.result is not None

    def connection_made(self) -> None:
        self.session = SenderSession(self.transfer.config, self.transfer.info(), self.token,
                                     clock=self.clock, stats=self.transfer.stats, profile=self.profile,
                                     fit_block_size=self.transfer.fit_block_size)
        self.session.start()
        self.next_send = None
        self.end_sent = False
        self.stats.connections += 1

    def receive_data(self, data) -> None:
        self.session.receive_data(data)
        while True:
            events = self.session.next_events()  # an error after events comes on the next call
            if not events:
                return
            self._handle(events)

    def _handle(self, events) -> None:
        for ev in events:
            if isinstance(ev, Accepted):
                self.receiver_had_all = ev.resume.complete
                self.next_send = self.transfer.resume(ev.resume)
                self.transfer.fresh = False
                if ev.resume.seq:
                    self.stats.resumes += 1
                    self.stats.resumed_from = ev.resume.seq
            elif isinstance(ev, Acked):
                self.transfer.ack(ev.acked)
            elif isinstance(ev, Finished):
                t = self.transfer
                if not (t.eof and ev.n_blocks == t.produced and ev.total_raw == t.raw_produced and ev.chain == t.chain):
                    raise ResumeError(f"the receiver finished with {ev.n_blocks} blocks / {ev.total_raw} bytes, "
                                      f"this sender has {t.produced} / {t.raw_produced}")
                t.ack(ev.n_blocks)
                t.acked_raw = t.raw_produced
                self.result = ev

    @property
    def wants_pump(self) -> bool:
        s = self.session
        if s is None or self.next_send is None or self.end_sent or self.result is not None or s.state is not State.STREAMING:
            return False
        t = self.transfer
        if self.next_send < s.send_limit and (self.next_send < t.produced or not t.eof):
            return True
        return t.eof and self.next_send == t.produced  # END is due

    def pump(self, max_blocks: int = 8) -> int:
        """Send up to ``max_blocks`` blocks the credit allows (compressing as
        needed), and END once everything is sent. Returns blocks sent."""
        s, t = self.session, self.transfer
        n = 0
        while n < max_blocks and s.can_send(self.next_send):
            if self.next_send < t.produced:
                if self.next_send < t.max_sent:
                    self.stats.retransmitted += 1
                s.send_block(t.block(self.next_send))
                self.next_send += 1
                t.max_sent = max(t.max_sent, self.next_send)
                n += 1
            elif t.eof or (n and t.stalls):  # a stalling source: send what is ready before waiting for more
                break
            elif not t.produce(min(max_blocks - n, s.send_limit - self.next_send)) and t.stalls:
                break  # idle: back to the shell
        if t.eof and self.next_send == t.produced and not self.end_sent and s.state is State.STREAMING:
            s.send_end(t.produced, t.raw_produced, t.chain)
            self.end_sent = True
        stalled = not self.end_sent and not s.can_send(self.next_send)
        if stalled and not self._stalled:
            self.stats.credit_stalls += 1
        self._stalled = stalled
        if n or self.end_sent:
            self.last_sent = self.clock()
        return n

    def data_to_send(self) -> bytes:
        return self.session.data_to_send() if self.session is not None else b""

    def poll(self, now: float | None = None) -> None:
        """Timeouts: the handshake, and an acknowledgement that does not come
        while blocks (or END) are outstanding. Queues a KEEPALIVE when the
        sender itself has been quiet (a slow source) for 5 s or idle_timeout/3."""
        s = self.session
        now = self.clock() if now is None else now
        if s is None or s.state in (State.DONE, State.CLOSED):
            return
        if s.state not in (State.STREAMING, State.ENDING):
            if now - s.created > s.config.handshake_timeout:
                raise ConnectionTimeout(f"handshake not complete after {s.config.handshake_timeout:g} s")
            return
        waiting = self.end_sent or (self.next_send is not None and self.next_send > s.acked)
        if waiting and now - s.last_heard > s.config.ack_timeout:
            raise ConnectionTimeout(f"no acknowledgement for {now - s.last_heard:.1f} s "
                                    f"(ack timeout {s.config.ack_timeout:g} s)")
        if now - self.last_sent > min(s.config.idle_timeout / 3, KEEPALIVE_INTERVAL):
            s.keepalive()
            self.last_sent = now

    def fail(self, exc: BaseException) -> None:
        if self.session is not None:
            self.session.fail(exc)


def open_source(path) -> tuple:
    """(file object, name, size) for a path, or for '-' (stdin)."""
    if path == "-":
        import sys
        return sys.stdin.buffer, "stdin", None
    f = io.open(path, "rb")
    return f, os.path.basename(path), os.fstat(f.fileno()).st_size
