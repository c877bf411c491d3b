"""The sans-IO protocol core: connection state machine, sender and receiver sessions.

Like h11, nothing here touches a socket, a file or a thread: bytes go in with
``receive_data``, protocol events come out of ``next_events``, and what must
be written to the peer accumulates until ``data_to_send`` takes it. The TCP
shells (tcp.py) and the tests (which feed bytes directly) drive the same code.

Layers, bottom up:

* :class:`Connection` frames and parses messages (frames.py) and checks every
  message against the transition table :data:`TRANSITIONS`; a message that is
  illegal in the current state is a ProtocolError naming both.
* :class:`ReceiverSession` (server side) runs the handshake, checks the
  shared-secret proof, reassembles and verifies blocks (StreamDecompressor),
  grants credit and acknowledges what the caller made durable.
* :class:`SenderSession` (client side) runs its half of the handshake, tracks
  credit and acknowledgements, and frames the blocks it is given.

Which blocks to send, where to resume and how to store what arrives is the
business of the endpoints (sender.py, receiver.py).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from enum import Enum

from ..errors import ChecksumError, FormatError, LimitError
from ..format import checksum as ck
from ..engine import MAX_LEVEL
from .block import ZERO_CHAIN, CompressedBlock
from .config import StreamingConfig
from .decompressor import StreamDecompressor
from .errors import (
    AuthenticationError, BlockMissingError, ConnectionTimeout, FlowControlError, ProtocolError, ResumeError,
    StreamError, TransferRefused,
)
from .frames import (
    HANDSHAKE_PAYLOAD_LIMIT, NONCE_SIZE, PROTOCOL_VERSION, Accept, Ack, Block, Challenge, Done, End, Error,
    ERROR_DESCRIPTIONS, ErrorCode, FrameDecoder, Hello, Keepalive, MsgType, Open, block_payload_limit, decode_message, frame,
)
from .stats import StreamingStatistics


class Role(Enum):
    SENDER = "sender"      # the TCP client
    RECEIVER = "receiver"  # the TCP server


class State(Enum):
    AWAIT_HELLO = "await HELLO"
    AWAIT_CHALLENGE = "await CHALLENGE"
    AWAIT_OPEN = "await OPEN"
    AWAIT_ACCEPT = "await ACCEPT"
    STREAMING = "streaming"
    ENDING = "ending"
    DONE = "done"
    CLOSED = "closed"


S, R = Role.SENDER, Role.RECEIVER
#: (state, who sends, message type) -> next state. Anything else is illegal.
#: Both ends apply the same table to the messages they send and receive.
TRANSITIONS = {
    (State.AWAIT_HELLO, S, MsgType.HELLO): State.AWAIT_CHALLENGE,
    (State.AWAIT_CHALLENGE, R, MsgType.CHALLENGE): State.AWAIT_OPEN,
    (State.AWAIT_OPEN, S, MsgType.OPEN): State.AWAIT_ACCEPT,
    (State.AWAIT_ACCEPT, R, MsgType.ACCEPT): State.STREAMING,
    (State.STREAMING, S, MsgType.BLOCK): State.STREAMING,
    (State.STREAMING, S, MsgType.KEEPALIVE): State.STREAMING,
    (State.STREAMING, R, MsgType.ACK): State.STREAMING,
    (State.STREAMING, S, MsgType.END): State.ENDING,
    # a block reordered or duplicated behind END on a faulty path is still a block
    (State.ENDING, S, MsgType.BLOCK): State.ENDING,
    (State.ENDING, S, MsgType.END): State.ENDING,
    (State.ENDING, S, MsgType.KEEPALIVE): State.ENDING,
    (State.ENDING, R, MsgType.ACK): State.ENDING,
    (State.ENDING, R, MsgType.DONE): State.DONE,
    # what was in flight when DONE crossed it
    (State.DONE, R, MsgType.ACK): State.DONE,
    (State.DONE, R, MsgType.DONE): State.DONE,
    (State.DONE, S, MsgType.BLOCK): State.DONE,
    (State.DONE, S, MsgType.END): State.DONE,
    (State.DONE, S, MsgType.KEEPALIVE): State.DONE,
}
del S, R

NEED_DATA = None  # what Connection.next_event returns when a frame is incomplete


class Connection:
    """Frames, parses and sequences the messages of one connection."""

    def __init__(self, our_role: Role, max_block_size: int):
        self.our_role = our_role
        self.their_role = Role.RECEIVER if our_role is Role.SENDER else Role.SENDER
        self.state = State.AWAIT_HELLO
        self.decoder = FrameDecoder(HANDSHAKE_PAYLOAD_LIMIT)
        self.block_size = max_block_size

    def set_block_size(self, block_size: int) -> None:
        """Allow BLOCK frames of a transfer with this block size (after OPEN)."""
        self.block_size = block_size
        self.decoder.limit = block_payload_limit(block_size)

    def receive_data(self, data) -> None:
        self.decoder.feed(data)

    def next_event(self):
        if self.state is State.CLOSED:
            return NEED_DATA
        payload = self.decoder.next_payload()
        if payload is None:
            return NEED_DATA
        try:
            mtype = MsgType(payload[0])
        except ValueError:
            raise ProtocolError(f"unknown message type {payload[0]}") from None
        self._check(self.their_role, mtype)  # before parsing: an illegal frame is not worth parsing
        msg = decode_message(payload, self.block_size)
        self._apply(self.their_role, mtype)
        return msg

    def send(self, msg) -> bytes:
        self._check(self.our_role, msg.type)
        self._apply(self.our_role, msg.type)
        return frame(msg)

    def _check(self, role: Role, mtype: MsgType) -> None:
        if mtype == MsgType.ERROR:
            if self.state is State.CLOSED:
                raise ProtocolError("ERROR on a closed connection")
            return
        if (self.state, role, mtype) not in TRANSITIONS:
            raise ProtocolError(f"the {role.value} may not send {mtype.name} in state '{self.state.value}'")

    def _apply(self, role: Role, mtype: MsgType) -> None:
        self.state = State.CLOSED if mtype == MsgType.ERROR else TRANSITIONS[(self.state, role, mtype)]


# ---------------------------------------------------------------- shared pieces

def client_proof(token: bytes, client_nonce: bytes, server_nonce: bytes) -> bytes:
    """HMAC-SHA256 proof that the sender knows the token; the token never travels."""
    return hmac.new(token, b"cobol-stream-v1 sender\0" + client_nonce + server_nonce, hashlib.sha256).digest()


def server_proof(token: bytes, client_nonce: bytes, server_nonce: bytes) -> bytes:
    """The receiver's proof, over the same nonces with another label (mutual auth)."""
    return hmac.new(token, b"cobol-stream-v1 receiver\0" + client_nonce + server_nonce, hashlib.sha256).digest()


@dataclass(frozen=True)
class TransferInfo:
    """What a sender announces in OPEN."""

    transfer_id: bytes
    name: str
    size: int | None
    block_size: int
    checksum_kind: int
    level: int
    fresh: bool = False
    dictionary_id: int | None = None  # the shared dictionary the blocks are coded with


@dataclass(frozen=True)
class ResumePoint:
    """Where a transfer stands: blocks [0, seq) hold raw_offset bytes, folded into chain."""

    seq: int = 0
    raw_offset: int = 0
    chain: bytes = ZERO_CHAIN
    complete: bool = False


# events handed to the endpoints
@dataclass
class OpenRequested:
    info: TransferInfo


@dataclass
class BlocksDelivered:
    blocks: list  # DeliveredBlock, in order


@dataclass
class TransferComplete:
    n_blocks: int
    total_raw: int
    chain: bytes


@dataclass
class Accepted:
    resume: ResumePoint
    credit: int


@dataclass
class Acked:
    acked: int
    credit: int


@dataclass
class Finished:
    n_blocks: int
    total_raw: int
    chain: bytes
    stored_name: str


def error_code(exc: BaseException) -> ErrorCode:
    if isinstance(exc, AuthenticationError):
        return ErrorCode.AUTH
    if isinstance(exc, ResumeError):
        return ErrorCode.RESUME
    if isinstance(exc, TransferRefused):
        return ErrorCode.REFUSED
    if isinstance(exc, (BlockMissingError, ConnectionTimeout)):
        return ErrorCode.TIMEOUT
    if isinstance(exc, (LimitError, MemoryError)):
        return ErrorCode.LIMIT
    if isinstance(exc, ProtocolError):
        return ErrorCode.PROTOCOL
    if isinstance(exc, (ChecksumError, FormatError)):
        return ErrorCode.DATA
    return ErrorCode.INTERNAL


def error_message(exc: BaseException) -> str:
    """The message an ERROR carries for ``exc``: never empty (a bare
    MemoryError or an internal failure still says what kind of failure it was)."""
    code = error_code(exc)
    text = str(exc)
    if isinstance(exc, MemoryError):
        return f"out of memory{': ' + text if text else ''} ({ERROR_DESCRIPTIONS[code]})"
    if code == ErrorCode.INTERNAL:
        return f"internal error: {type(exc).__name__}{': ' + text if text else ''}"
    return text or ERROR_DESCRIPTIONS[code]


class PeerError(StreamError):
    """The peer reported an error (an ERROR message) and closed the transfer."""

    def __init__(self, code: int, message: str):
        try:
            name = ErrorCode(code).name.lower()
        except ValueError:
            name = f"code {code}"
        super().__init__(f"the peer reported {name}: {message}")
        self.code = code


def exception_for(code: int, message: str) -> StreamError:
    """The exception a received ERROR message raises on this side."""
    if code == ErrorCode.AUTH:
        return AuthenticationError(f"the receiver rejected the authentication: {message}")
    if code == ErrorCode.REFUSED:
        return TransferRefused(f"the receiver refused the transfer: {message}")
    if code == ErrorCode.RESUME:
        return ResumeError(f"the receiver cannot resume this transfer: {message}")
    return PeerError(code, message)


class _Session:
    """What both sessions share: the connection, the outbox, the clock, the stats."""

    role: Role

    def __init__(self, config: StreamingConfig, token: bytes | None, clock, stats, nonce):
        self.config = config
        self.token = token
        self.clock = clock
        self.conn = Connection(self.role, config.max_block_size)
        self.nonce = nonce if nonce is not None else secrets.token_bytes(NONCE_SIZE)
        self.stats = stats if stats is not None else StreamingStatistics(
            "send" if self.role is Role.SENDER else "receive")
        self.created = self.last_heard = clock()
        self._outbox = bytearray()

    @property
    def state(self) -> State:
        return self.conn.state

    @property
    def closed(self) -> bool:
        return self.conn.state is State.CLOSED

    def _send(self, msg) -> None:
        data = self.conn.send(msg)
        self._outbox += data
        self.stats.frames_out += 1
        self.stats.wire_bytes_out += len(data)

    def _defer(self, exc: Exception, events: list) -> list:
        """An error after some events: hand the events out first (blocks that
        were delivered must be written before anything else happens) and
        raise the error on the next call, as h11 does."""
        if not events:
            raise exc
        self._deferred = exc
        return events

    def _raise_deferred(self) -> None:
        exc = getattr(self, "_deferred", None)
        if exc is not None:
            self._deferred = None
            raise exc

    def data_to_send(self) -> bytes:
        out = bytes(self._outbox)
        self._outbox.clear()
        return out

    def receive_data(self, data) -> None:
        if data:
            self.conn.receive_data(data)
            self.stats.wire_bytes_in += len(data)
            self.last_heard = self.clock()
            self.stats.max_buffered_bytes = max(self.stats.max_buffered_bytes, self.conn.decoder.buffered)

    def fail(self, exc: BaseException) -> None:
        """Queue an ERROR for ``exc`` (unless the connection is closed) and close."""
        if self.conn.state is not State.CLOSED:
            self._send(Error(error_code(exc), error_message(exc)))
        self.stats.errors += 1

    def poll(self, now: float | None = None) -> None:
        """Raise ConnectionTimeout when the peer was silent too long or the
        handshake takes too long (the shell calls this on read timeouts)."""
        now = self.clock() if now is None else now
        if self.conn.state is State.CLOSED:
            return
        if self.conn.state not in (State.STREAMING, State.ENDING, State.DONE) and now - self.created > self.config.handshake_timeout:
            raise ConnectionTimeout(f"handshake not complete after {self.config.handshake_timeout:g} s")
        if now - self.last_heard > self.config.idle_timeout:
            raise ConnectionTimeout(f"no frame from the peer for {now - self.last_heard:.1f} s "
                                    f"(idle timeout {self.config.idle_timeout:g} s)")


# ---------------------------------------------------------------- receiver

class ReceiverSession(_Session):
    """The receiving (server) side of one connection.

    Events from ``next_events``: :class:`OpenRequested` (answer with
    ``accept(resume_point)`` or ``reject``; nothing further is processed
    until then), :class:`BlocksDelivered` (write them, in order),
    :class:`TransferComplete` (finish the output, then ``complete(name)``).
    Make progress durable when ``checkpoint_due()`` says so and report it
    with ``durable(resume_point())``: only then is it acknowledged.

    With an ``executor`` (a ``concurrent.futures`` executor the caller owns:
    the session starts no threads) blocks are decoded on it
    (StreamDecompressor's pipeline): a BLOCK is checked and submitted when it
    is parsed, and its BlocksDelivered event comes from a later
    ``next_events`` call, once it and every block before it are decoded.
    ``decoding`` counts the blocks next in order still being decoded; a caller with nothing
    else to do calls ``next_events`` when one finishes (an event loop learns
    that from the executor's futures) or blocks in ``wait_decoded()``.
    Credit counts from the last *delivered* block, so received but
    undelivered blocks never exceed the window.
    """

    role = Role.RECEIVER

    def __init__(self, config: StreamingConfig = StreamingConfig(), token: bytes | None = None, *,
                 clock=time.monotonic, stats: StreamingStatistics | None = None, nonce: bytes | None = None,
                 profile=None, dictionaries=None, decode_budget=None, executor=None):
        super().__init__(config, token, clock, stats, nonce)
        self.profile = profile  # a cobol.profile.StreamingProfile, or None
        #: a concurrent.futures executor (the caller's) that blocks are decoded on, or None
        self.executor = executor
        #: shared dictionaries (cobol.dictionary.Dictionary) by id, for senders that name one in OPEN
        self.dictionaries = {d.dict_id: d for d in (dictionaries or ())}
        #: a DecodeBudget shared by a server's connections, or None (no shared budget)
        self.decode_budget = decode_budget
        self.client_nonce = b""
        self.info: TransferInfo | None = None
        self.decompressor: StreamDecompressor | None = None
        self.acked = 0          # blocks [0, acked) are durable and acknowledged
        self.credit = 0         # the sender may send blocks [0, credit)
        self.raw_offset = 0     # raw bytes in the delivered blocks
        # set by accept() for the transfer's block size (StreamingConfig.window_for and friends)
        self.window = config.window
        self.max_unacked = config.max_unacked
        self.checkpoint_blocks = config.checkpoint_blocks
        self.end: End | None = None
        self._acked_sent = -1
        self._awaiting_accept = False
        self._complete_reported = False
        self._waited: list = []  # blocks wait_decoded() collected, handed out by next_events
        self.last_checkpoint = self.created

    @property
    def next_seq(self) -> int:
        """The next block to be delivered: blocks before it are decoded, verified and handed out."""
        return self.decompressor.next_seq if self.decompressor is not None else 0

    @property
    def decoding(self) -> int:
        """Blocks next in order that are being decoded (``wait_decoded`` waits for the first)."""
        return self.decompressor.decoding if self.decompressor is not None else 0

    def wait_decoded(self) -> None:
        """Block until the oldest block being decoded is done (for callers
        without an event loop); its delivery comes from the next ``next_events``."""
        if self.decompressor is not None and not self._waited:
            self._waited = self.decompressor.wait_oldest()

    def next_events(self) -> list:
        self._raise_deferred()
        events = []
        try:
            if self._waited:
                waited, self._waited = self._waited, []
                events.extend(self._delivered(waited))
            while not self._awaiting_accept:
                if events and isinstance(events[-1], TransferComplete):
                    break
                msg = self.conn.next_event()
                if msg is NEED_DATA:
                    break
                self.stats.frames_in += 1
                ev = self._handle(msg)
                if isinstance(ev, list):
                    events.extend(ev)
                elif ev is not None:
                    events.append(ev)
            if self.decompressor is not None and not (events and isinstance(events[-1], TransferComplete)):
                # blocks whose decoding finished since (pipelined decoding)
                events.extend(self._delivered(self.decompressor.collect()))
        except Exception as exc:
            return self._defer(exc, events)
        self._maybe_ack()
        return events

    def _handle(self, m):
        t = m.type
        if t == MsgType.HELLO:
            if m.version < 1:
                raise ProtocolError(f"protocol version {m.version} is not supported (this receiver speaks {PROTOCOL_VERSION})")
            self.client_nonce = m.nonce
            self._send(Challenge(nonce=self.nonce, auth_required=self.token is not None,
                                 window=self.config.window, max_block_size=self.config.max_block_size))
        elif t == MsgType.OPEN:
            if self.token is not None:
                if not hmac.compare_digest(m.proof, client_proof(self.token, self.client_nonce, self.nonce)):
                    raise AuthenticationError("authentication failed: the sender's proof does not match the token")
            if not 1 <= m.block_size <= self.config.max_block_size:
                raise LimitError(f"block size {m.block_size} is outside 1..{self.config.max_block_size}")
            if m.level > MAX_LEVEL:
                raise TransferRefused(f"level {m.level} is outside 0..{MAX_LEVEL}")
            if m.dictionary_id is not None and m.dictionary_id not in self.dictionaries:
                raise TransferRefused(f"the blocks need dictionary {m.dictionary_id:#010x}, which this receiver "
                                      f"does not have (cobol serve -D FILE)")
            self.info = TransferInfo(m.transfer_id, m.name, m.size, m.block_size, m.checksum_kind, m.level, m.fresh,
                                     m.dictionary_id)
            self._awaiting_accept = True
            return OpenRequested(self.info)
        elif t == MsgType.BLOCK:
            return self._on_block(m.block)
        elif t == MsgType.END:
            if self.end is not None:
                if m != self.end:
                    raise ProtocolError(f"a second END ({m.n_blocks} blocks) contradicts the first ({self.end.n_blocks})")
                return None
            received = self.decompressor.received_seq
            pend = self.decompressor.reassembler.pending
            if m.n_blocks < received or (pend and max(pend) >= m.n_blocks):
                raise ProtocolError(f"END says {m.n_blocks} blocks, but block {max([received - 1, *pend])} arrived")
            self.end = m
            return self._check_complete()
        elif t == MsgType.ERROR:
            raise exception_for(m.code, m.message)
        return None  # KEEPALIVE

    def _on_block(self, block: CompressedBlock):
        if block.seq >= self.credit:
            raise FlowControlError(f"block {block.seq} is beyond the credit granted (blocks < {self.credit})")
        if self.end is not None and block.seq >= self.end.n_blocks:
            raise ProtocolError(f"block {block.seq} after END said {self.end.n_blocks} blocks")
        if self.profile is not None:
            self.profile.on_block_received(block.seq, len(block.record), raw_bytes=block.raw_len)
        return self._delivered(self.decompressor.receive(block))

    def _delivered(self, delivered: list) -> list:
        """The events for blocks the decompressor handed out, in order."""
        if not delivered:
            return []
        for d in delivered:
            self.raw_offset += len(d.raw)
            if self.profile is not None:
                self.profile.on_block_delivered(d.seq)
        events = [BlocksDelivered(delivered)]
        if self.end is not None:
            done = self._check_complete()
            if done is not None:
                events.append(done)
        return events

    def _check_complete(self):
        if self.end is None or self._complete_reported or self.next_seq != self.end.n_blocks:
            return None
        if self.end.total_raw != self.raw_offset or self.end.chain != self.decompressor.chain:
            raise ResumeError(f"the {self.end.n_blocks} blocks received do not match the sender's "
                              f"({self.raw_offset} bytes vs {self.end.total_raw}, or a different chain)")
        self._complete_reported = True
        return TransferComplete(self.end.n_blocks, self.end.total_raw, self.end.chain)

    def accept(self, resume: ResumePoint = ResumePoint()) -> None:
        """Accept the transfer OPEN asked for, resuming at ``resume``."""
        if not self._awaiting_accept:
            raise ProtocolError("accept() without a pending OPEN")
        info = self.info
        cfg = self.config.replace(block_size=info.block_size, checksum=ck.checksum_label(info.checksum_kind),
                                  window=self.config.window_for(info.block_size),
                                  max_block_size=max(self.config.max_block_size, info.block_size))
        self.decompressor = StreamDecompressor(cfg, start_seq=resume.seq, chain=resume.chain, clock=self.clock,
                                               dictionary=self.dictionaries.get(info.dictionary_id),
                                               budget=self.decode_budget, executor=self.executor)
        self.decompressor.stats = self.stats
        self.acked = resume.seq
        self.raw_offset = resume.raw_offset
        # the window, the retransmit bound and the checkpoint cadence in blocks of this transfer's size
        self.window = self.config.window_for(info.block_size)
        self.max_unacked = self.config.max_unacked_for(info.block_size)
        self.checkpoint_blocks = self.config.checkpoint_blocks_for(info.block_size)
        self.credit = resume.seq + min(self.window, self.max_unacked)
        self._acked_sent = self.acked
        proof = server_proof(self.token, self.client_nonce, self.nonce) if self.token is not None else b""
        self._send(Accept(proof=proof, resume_seq=resume.seq, resume_offset=resume.raw_offset,
                          resume_chain=resume.chain, credit=self.credit, complete=resume.complete))
        self.conn.set_block_size(info.block_size)
        if resume.seq:
            self.stats.resumes += 1
            self.stats.resumed_from = resume.seq
        self._awaiting_accept = False
        self.last_checkpoint = self.clock()

    def reject(self, exc: BaseException) -> None:
        self._awaiting_accept = False
        self.fail(exc)

    def checkpoint_due(self, now: float | None = None) -> bool:
        if self.decompressor is None or self.conn.state is State.CLOSED:
            return False
        unsynced = self.next_seq - self.acked
        if unsynced <= 0:
            return False
        now = self.clock() if now is None else now
        return (unsynced >= self.checkpoint_blocks
                or now - self.last_checkpoint >= self.config.checkpoint_interval
                or (self.end is not None and self.next_seq == self.end.n_blocks))

    def resume_point(self) -> ResumePoint:
        return ResumePoint(self.next_seq, self.raw_offset, self.decompressor.chain)

    def durable(self, point: ResumePoint) -> None:
        """The caller made blocks [0, point.seq) durable: acknowledge them."""
        self.acked = max(self.acked, point.seq)
        self.last_checkpoint = self.clock()
        self.stats.checkpoints += 1
        self._maybe_ack()

    def complete(self, stored_name: str) -> None:
        """The output is finished: tell the sender (DONE)."""
        e = self.end
        self.acked = e.n_blocks
        self._send(Done(e.n_blocks, e.total_raw, e.chain, stored_name))
        self.stats.finish()

    def poll(self, now: float | None = None) -> None:
        now = self.clock() if now is None else now
        super().poll(now)  # in DONE too: a sender that never closes is dropped after the idle timeout
        if self.decompressor is not None and self.conn.state in (State.STREAMING, State.ENDING):
            self.decompressor.poll(now)

    def _maybe_ack(self) -> None:
        if self.decompressor is None or self.conn.state not in (State.STREAMING, State.ENDING):
            return
        credit = max(self.credit, min(self.next_seq + self.window, self.acked + self.max_unacked))
        if credit != self.credit or self.acked != self._acked_sent:
            self.credit = credit
            self._acked_sent = self.acked
            self._send(Ack(self.acked, credit))


# ---------------------------------------------------------------- sender

class SenderSession(_Session):
    """The sending (client) side of one connection.

    ``start()`` queues HELLO. Events from ``next_events``: :class:`Accepted`
    (the resume point and first credit), :class:`Acked`, :class:`Finished`.
    ``send_block`` refuses a block beyond the credit; an ERROR from the
    receiver is raised as the matching exception.

    Block size: when ``info.block_size`` exceeds the receiver's
    ``max_block_size`` (CHALLENGE), ``fit_block_size(limit)`` -- the
    endpoint's, which can re-cut a transfer that has cut nothing yet -- is
    asked for the TransferInfo to OPEN with instead; without it, or when it
    raises TransferRefused, the transfer is refused. So a receiver never gets
    a block larger than it accepts, whichever version it is.
    """

    role = Role.SENDER

    def __init__(self, config: StreamingConfig, info: TransferInfo, token: bytes | None = None, *,
                 clock=time.monotonic, stats: StreamingStatistics | None = None, nonce: bytes | None = None,
                 profile=None, dictionaries=None, fit_block_size=None):
        super().__init__(config, token, clock, stats, nonce)
        self.profile = profile  # a cobol.profile.StreamingProfile, or None
        #: callable(limit) -> TransferInfo with block_size <= limit (or raises TransferRefused), or None
        self.fit_block_size = fit_block_size
        #: shared dictionaries (cobol.dictionary.Dictionary) by id, for senders that name one in OPEN
        self.dictionaries = {d.dict_id: d for d in (dictionaries or ())}
        self.info = info
        self.server_nonce = b""
        self.credit = 0
        self.acked = 0
        self.sent_limit = 0  # 1 + the highest sequence number sent on this connection
        self.resume: ResumePoint | None = None
        self.finished: Finished | None = None

    def start(self) -> None:
        self._send(Hello(nonce=self.nonce))

    def next_events(self) -> list:
        self._raise_deferred()
        events = []
        try:
            while True:
                msg = self.conn.next_event()
                if msg is NEED_DATA:
                    return events
                self.stats.frames_in += 1
                ev = self._handle(msg)
                if ev is not None:
                    events.append(ev)
        except Exception as exc:
            return self._defer(exc, events)

    def _handle(self, m):
        t = m.type
        if t == MsgType.CHALLENGE:
            if m.version < 1:
                raise ProtocolError(f"the receiver offers protocol version {m.version}")
            if m.auth_required and self.token is None:
                raise AuthenticationError("the receiver requires a token (--token-file)")
            if self.info.block_size > m.max_block_size:
                if self.fit_block_size is None:
                    raise TransferRefused(f"block size {self.info.block_size} exceeds the receiver's limit "
                                          f"{m.max_block_size}")
                info = self.fit_block_size(m.max_block_size)
                if not 1 <= info.block_size <= m.max_block_size:  # the endpoint's promise, checked
                    raise TransferRefused(f"block size {info.block_size} exceeds the receiver's limit {m.max_block_size}")
                self.info = info
            self.server_nonce = m.nonce
            proof = client_proof(self.token, self.nonce, m.nonce) if self.token is not None else b""
            i = self.info
            self._send(Open(proof=proof, transfer_id=i.transfer_id, name=i.name, size=i.size, block_size=i.block_size,
                            checksum_kind=i.checksum_kind, level=i.level, fresh=i.fresh,
                            dictionary_id=i.dictionary_id))
        elif t == MsgType.ACCEPT:
            if self.token is not None:
                if not hmac.compare_digest(m.proof, server_proof(self.token, self.nonce, self.server_nonce)):
                    raise AuthenticationError("the receiver did not prove it knows the token")
            if m.credit < m.resume_seq:
                raise ProtocolError(f"ACCEPT grants credit {m.credit} below its resume point {m.resume_seq}")
            self.credit = m.credit
            self.acked = m.resume_seq
            self.sent_limit = m.resume_seq
            self.resume = ResumePoint(m.resume_seq, m.resume_offset, m.resume_chain, m.complete)
            return Accepted(self.resume, m.credit)
        elif t == MsgType.ACK:
            if m.acked > max(self.sent_limit, self.acked):
                raise ProtocolError(f"ACK for {m.acked} blocks, only {self.sent_limit} were sent")
            if m.acked <= self.acked and m.credit <= self.credit:
                return None  # duplicate or overtaken
            if self.profile is not None:
                for seq in range(self.acked, m.acked):
                    self.profile.on_block_acked(seq)
            self.acked = max(self.acked, m.acked)
            self.credit = max(self.credit, m.credit)
            return Acked(self.acked, self.credit)
        elif t == MsgType.DONE:
            if self.finished is None:
                self.finished = Finished(m.n_blocks, m.total_raw, m.chain, m.stored_name)
                self.acked = max(self.acked, m.n_blocks)
                self.stats.finish()
                return self.finished
        elif t == MsgType.ERROR:
            raise exception_for(m.code, m.message)
        return None

    @property
    def send_limit(self) -> int:
        """1 + the highest block this sender may send now: the credit, capped at
        ``acked + max_unacked_for(block size)`` (what it must retain stays bounded
        whatever an older receiver grants)."""
        return min(self.credit, self.acked + self.config.max_unacked_for(self.info.block_size))

    def can_send(self, seq: int) -> bool:
        return self.conn.state is State.STREAMING and seq < self.send_limit

    def send_block(self, block: CompressedBlock) -> None:
        if block.seq >= self.credit:
            raise FlowControlError(f"block {block.seq} is beyond the credit (blocks < {self.credit})")
        self._send(Block(block))
        self.sent_limit = max(self.sent_limit, block.seq + 1)
        if self.profile is not None:
            self.profile.on_block_sent(block.seq, len(block.record), raw_bytes=block.raw_len)

    def send_end(self, n_blocks: int, total_raw: int, chain: bytes) -> None:
        self._send(End(n_blocks, total_raw, chain))

    def keepalive(self) -> None:
        if self.conn.state in (State.STREAMING, State.ENDING):
            self._send(Keepalive())


__all__ = [
    "Role", "State", "TRANSITIONS", "Connection", "ReceiverSession", "SenderSession", "TransferInfo",
    "ResumePoint", "OpenRequested", "BlocksDelivered", "TransferComplete", "Accepted", "Acked", "Finished",
    "PeerError", "error_code", "exception_for", "client_proof", "server_proof",
]
