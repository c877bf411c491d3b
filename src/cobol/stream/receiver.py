"""The receiving endpoint: a ReceiverSession plus a store for what arrives.

:class:`ReceiverEndpoint` turns session events into store calls: delivered
blocks are written in order, progress is checkpointed when the session says
it is due (and only then acknowledged), and a complete transfer is finalized
before DONE goes out. It never touches a socket; the TCP server (tcp.py) and
the in-memory tests move its bytes.

A store has ``open(info) -> partial`` where the partial has ``resume_point``,
``write(blocks)``, ``checkpoint(resume_point)``, ``finalize(n, total, chain)
-> name`` and ``close()``: :class:`~cobol.stream.checkpoint.TransferStore`
keeps files on disk, :class:`MemoryStore` keeps bytes in memory.
"""

from __future__ import annotations

import time

from ..format.frame import FrameHeader, encode_end_record, encode_frame_header
from .block import ZERO_CHAIN
from .compressor import now_us
from .config import StreamingConfig
from .errors import ProtocolError
from .protocol import BlocksDelivered, OpenRequested, ReceiverSession, ResumePoint, TransferComplete, TransferInfo


class ReceiverEndpoint:
    """One incoming connection.

    ``receive_data(data)`` returns a TransferInfo when an OPEN arrived: the
    caller may then coordinate (one connection per transfer) and must call
    ``open_transfer()`` (or ``fail``). Call ``poll()`` when a read times out.

    ``executor``: a ``concurrent.futures`` executor owned by the caller that
    blocks are decoded on (ReceiverSession's pipeline). Blocks are then
    written when their decoding finishes: while ``decoding`` is non-zero the
    caller calls ``collect()`` once a decode is done (or ``wait_decoded()``,
    which blocks), and what was decoded is written, checkpointed and
    acknowledged as it would have been from ``receive_data``.
    """

    def __init__(self, store, config: StreamingConfig = StreamingConfig(), token: bytes | None = None, *,
                 clock=time.monotonic, stats=None, profile=None, dictionaries=None, decode_budget=None,
                 executor=None):
        self.store = store
        self.session = ReceiverSession(config, token, clock=clock, stats=stats, profile=profile,
                                       dictionaries=dictionaries, decode_budget=decode_budget, executor=executor)
        self.partial = None
        self.pending_open: TransferInfo | None = None
        self.stored_name: str | None = None
        self.written = ResumePoint()  # blocks [0, written.seq) are in the partial output

    @property
    def stats(self):
        return self.session.stats

    @property
    def info(self) -> TransferInfo | None:
        return self.session.info

    def receive_data(self, data) -> TransferInfo | None:
        self.session.receive_data(data)
        info = self._process()
        # a peer that trickles bytes must still meet the handshake and block timeouts
        self.session.poll()
        return info

    @property
    def decoding(self) -> int:
        """Blocks next in order still being decoded (``collect`` or ``wait_decoded`` writes them once done)."""
        return self.session.decoding

    def collect(self) -> None:
        """Write the blocks whose decoding finished (pipelined decoding); never blocks on a decode."""
        self._process()
        self.session.poll()

    def wait_decoded(self) -> None:
        """Block until the oldest block being decoded is done, then write what is ready."""
        self.session.wait_decoded()
        self.collect()

    def open_transfer(self) -> TransferInfo | None:
        if self.pending_open is None:
            raise ProtocolError("open_transfer() without a pending OPEN")
        info, self.pending_open = self.pending_open, None
        self.partial = self.store.open(info)
        self.written = self.partial.resume_point
        self.session.accept(self.partial.resume_point)
        return self._process()

    def _process(self) -> TransferInfo | None:
        while True:
            events = self.session.next_events()
            for ev in events:
                if isinstance(ev, OpenRequested):
                    self.pending_open = ev.info
                    return ev.info
                if isinstance(ev, BlocksDelivered):
                    self.partial.write(ev.blocks)
                    now = now_us()
                    for d in ev.blocks:
                        self.stats.note_latency(now - d.block.timestamp_us)
                    last = ev.blocks[-1]
                    self.written = ResumePoint(last.seq + 1, self.written.raw_offset + sum(len(d.raw) for d in ev.blocks),
                                               last.chain)
                elif isinstance(ev, TransferComplete):
                    self.stored_name = self.partial.finalize(ev.n_blocks, ev.total_raw, ev.chain)
                    self.session.complete(self.stored_name)
            if self.session.checkpoint_due():
                self.checkpoint()
            if not events:
                return None

    def checkpoint(self) -> None:
        # what was *written* is what a checkpoint may claim (never more than the
        # session delivered, and less when a write or the connection failed)
        rp = self.written
        self.partial.checkpoint(rp)
        self.session.durable(rp)

    def poll(self, now: float | None = None) -> None:
        if self.session.checkpoint_due(now):
            self.checkpoint()
        self.session.poll(now)

    def data_to_send(self) -> bytes:
        return self.session.data_to_send()

    def fail(self, exc: BaseException) -> None:
        self.session.fail(exc)

    def close(self, checkpoint: bool = True) -> None:
        """The connection is gone. The blocks delivered so far were verified, so
        they are checkpointed (unless ``checkpoint`` is False, as in a crash):
        a sender that reconnects resumes after them instead of resending."""
        s = self.session
        if s.decompressor is not None:
            s.decompressor.close()  # blocks still decoding are dropped: the checkpoint covers what was written
        if self.partial is None:
            return
        try:
            if checkpoint and self.stored_name is None and s.decompressor is not None and self.written.seq > s.acked:
                self.checkpoint()
        finally:
            self.partial.close()


class _MemoryPartial:
    def __init__(self, store, info, rp, data, durable, complete_name=None):
        self.store, self.info = store, info
        self.resume_point = rp
        self.data = data            # bytearray written so far
        self.durable = durable      # (resume point, len(data)) at the last checkpoint
        self.complete_name = complete_name

    def write(self, delivered) -> None:
        for d in delivered:
            self.data += d.raw if self.store.mode == "raw" else d.block.record

    def checkpoint(self, rp: ResumePoint) -> None:
        self.durable = (rp, len(self.data))

    def finalize(self, n_blocks, total_raw, chain) -> str:
        if self.complete_name is None:
            self.complete_name = self.info.name
            if self.store.mode == "cobl":
                self.data += encode_end_record(n_blocks, total_raw)
            self.store.files[self.info.name] = bytes(self.data)
            self.store.done[self.info.transfer_id] = (self.complete_name, ResumePoint(n_blocks, total_raw, chain, True))
            self.store.partials.pop(self.info.transfer_id, None)
        return self.complete_name

    def close(self) -> None:
        pass


class MemoryStore:
    """A store in memory (tests, embedding). ``files`` maps names to contents.

    ``crash()`` simulates a receiver restart: every partial loses what was
    written after its last checkpoint.
    """

    def __init__(self, mode: str = "raw"):
        self.mode = mode
        self.files: dict = {}
        self.partials: dict = {}
        self.done: dict = {}

    def open(self, info: TransferInfo):
        tid = info.transfer_id
        if info.fresh:
            self.partials.pop(tid, None)
            self.done.pop(tid, None)
        if tid in self.done:
            name, rp = self.done[tid]
            return _MemoryPartial(self, info, rp, bytearray(), (rp, 0), complete_name=name)
        p = self.partials.get(tid)
        if p is not None:
            rp, n = p.durable
            del p.data[n:]
            p.resume_point = rp
            return p
        head = b""
        if self.mode == "cobl":
            head = encode_frame_header(FrameHeader(checksum=info.checksum_kind, block_size=info.block_size,
                                                         dictionary_id=info.dictionary_id))
        p = _MemoryPartial(self, info, ResumePoint(0, 0, ZERO_CHAIN), bytearray(head), (ResumePoint(), len(head)))
        self.partials[tid] = p
        return p

    def crash(self) -> None:
        for p in self.partials.values():
            rp, n = p.durable
            del p.data[n:]
