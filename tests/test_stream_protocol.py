"""The sans-IO protocol, driven with bytes only (no sockets), like h11's tests.

A small simulator moves frames between a SenderEndpoint and ReceiverEndpoints
with a fake clock, and injects the faults a network and a crashing receiver
produce: dropped connections, corrupted, reordered, duplicated and lost
frames, receiver restarts. Every run must end with the exact input stored.
"""

import hashlib
import io
import random
import struct
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import cobol
from cobol.engine import CobolEngine
from cobol.errors import CobolError
from cobol.stream import (
    AuthenticationError, ConnectionTimeout, FlowControlError, ProtocolError, ResumeError, StreamCompressor,
    StreamingConfig,
)
from cobol.stream import frames as F
from cobol.stream.block import ZERO_CHAIN, CompressedBlock as CompressedBlockType
from cobol.stream.protocol import (
    TRANSITIONS, Connection, ReceiverSession, ResumePoint, Role, SenderSession, State, TransferInfo,
)
from cobol.stream.receiver import MemoryStore, ReceiverEndpoint
from cobol.stream.sender import OutgoingTransfer, SenderEndpoint

TOKEN = b"a-shared-secret-token"
CFG = StreamingConfig(block_size=2048, plan="zstd", level=1, window=8, max_unacked=16, checkpoint_blocks=4,
                      ack_timeout=5, idle_timeout=10, block_timeout=5, handshake_timeout=5, fsync=False)


def sample(n=60_000, seed=0) -> bytes:
    rnd = random.Random(seed)
    return b"".join(b"%d,%s,%d\n" % (i, bytes(rnd.choices(b"abcxyz", k=rnd.randrange(12))), rnd.randrange(999))
                    for i in range(n // 12))[:n]


def split_frames(buf: bytes) -> list:
    out, i = [], 0
    while i < len(buf):
        (n,) = struct.unpack_from("<I", buf, i + 4)
        out.append(buf[i:i + 12 + n])
        i += 12 + n
    assert i == len(buf)
    return out


def _open(r, s) -> None:
    """Start sender session ``s`` and run the handshake with receiver session ``r`` until the
    transfer is accepted (fresh) and the first credit has reached the sender."""
    s.start()
    for _ in range(3):
        r.receive_data(s.data_to_send())
        for _ev in r.next_events():
            r.accept(ResumePoint())
        s.receive_data(r.data_to_send())
        s.next_events()


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


class Sim:
    """One sender, a store, and as many connections (and receiver restarts) as it takes."""

    def __init__(self, data, cfg=CFG, *, seed=0, store=None, corrupt=0.0, duplicate=0.0, reorder=0.0, lose=0.0,
                 drop_every=None, crash=None, sender_token=TOKEN, receiver_token=TOKEN, transfer=None, profile=None,
                 decoders=None):
        self.rnd = random.Random(seed)
        self.clock = Clock()
        self.cfg = cfg
        self.data = data
        self.store = store if store is not None else MemoryStore()
        self.transfer = transfer or OutgoingTransfer(io.BytesIO(data), cfg, name="data.csv", size=len(data))
        self.sender = SenderEndpoint(self.transfer, sender_token, clock=self.clock, profile=profile)
        self.profile = profile
        self.decoders = decoders  # an executor the receiver decodes blocks on (its pipeline), or None
        self.receiver_token = receiver_token
        self.p = dict(corrupt=corrupt, duplicate=duplicate, reorder=reorder, lose=lose)
        self.drop_every = drop_every
        self.crash = crash  # (lo, hi): the receiver crashes after lo..hi steps, on the first 3 connections
        self.crashes = 0
        self.connections = 0
        self.max_pending = 0
        self.max_undelivered = 0
        self.errors = []

    def faulty(self, data: bytes) -> list:
        frames = split_frames(data)
        out = []
        for fr in frames:
            r = self.rnd.random
            if r() < self.p["lose"]:
                continue
            if r() < self.p["corrupt"]:
                fr = bytearray(fr)
                fr[self.rnd.randrange(len(fr))] ^= 1 << self.rnd.randrange(8)
                fr = bytes(fr)
            out.append(fr)
            if r() < self.p["duplicate"]:
                out.append(fr)
        for i in range(len(out) - 1):
            if self.rnd.random() < self.p["reorder"]:
                out[i], out[i + 1] = out[i + 1], out[i]
        return out

    def segments(self, data: bytes) -> list:
        """Cut a byte stream at random points, as TCP does: a read may end
        mid-frame or hold several frames."""
        cuts = sorted(self.rnd.sample(range(1, len(data)), min(len(data) - 1, self.rnd.randrange(4)))) if len(data) > 1 else []
        return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)])] if data else []

    def run(self, max_connections=200):
        while not self.sender.done:
            self.connections += 1
            assert self.connections <= max_connections, f"no end after {max_connections} connections: {self.errors[-5:]}"
            self.one_connection()
        return self.store.files[self.sender.result.stored_name]

    def one_connection(self):
        s = self.sender
        r = ReceiverEndpoint(self.store, self.cfg, self.receiver_token, clock=self.clock, profile=self.profile,
                             executor=self.decoders)
        s.connection_made()
        budget = self.rnd.randrange(*self.drop_every) if self.drop_every else None
        crashed = False
        crash_at = self.rnd.randrange(*self.crash) if self.crash and self.crashes < 3 else None
        try:
            for step in range(100_000):
                progressed = False
                out = s.data_to_send()
                if out:
                    progressed = True
                    frames = self.faulty(out)
                    if budget is not None:
                        budget -= len(frames)
                        if budget < 0:  # the connection breaks part-way through this batch
                            frames = frames[:max(0, len(frames) + budget)]
                    for chunk in self.segments(b"".join(frames)):
                        self.on_receiver(r, lambda: r.receive_data(chunk) is not None and r.open_transfer())
                if budget is not None and budget < 0:
                    raise ConnectionResetError("dropped by the simulated network")
                back = r.data_to_send()
                if back:
                    progressed = True
                    for fr in self.faulty(back):
                        s.receive_data(fr)
                if s.done:
                    return
                if s.wants_pump:
                    s.pump(4)
                    progressed = True
                if not progressed and r.decoding:  # the receiver's pipeline: blocks still decoding
                    self.on_receiver(r, r.wait_decoded)
                    progressed = True
                if not progressed:
                    self.clock.t += 1.0  # nothing moves: let time pass so the timeouts can fire
                    r.poll()
                    s.poll()
                if r.session.decompressor is not None:
                    self.max_pending = max(self.max_pending, r.stats.max_pending_blocks)
                    self.max_undelivered = max(self.max_undelivered, r.stats.max_undelivered_blocks)
                if step == crash_at:
                    crashed = True
                    self.crashes += 1
                    raise ConnectionResetError("receiver crashed")
            raise AssertionError("connection did not finish or fail")
        except (CobolError, ConnectionResetError) as exc:
            self.errors.append(exc)
            if isinstance(exc, AuthenticationError):
                raise
            if isinstance(exc, ResumeError):
                self.transfer.fresh = True
        finally:
            r.close(checkpoint=not crashed)
            if crashed:
                self.store.crash()

    def on_receiver(self, r, call):
        try:
            call()
        except CobolError as exc:
            r.fail(exc)
            self.sender.receive_data(r.data_to_send())  # the ERROR reaches the sender, which raises...
            # ...unless a corrupted length field earlier made it wait for bytes that never come
            raise ConnectionResetError("the receiver closed the connection after an error")


# ---------------------------------------------------------------- frames

MESSAGES = [
    F.Hello(nonce=bytes(32)),
    F.Challenge(nonce=bytes(range(32)), auth_required=True, window=16, max_block_size=1 << 22),
    F.Open(proof=bytes(32), transfer_id=bytes(16), name="naïve.txt", size=None, block_size=65536, checksum_kind=1,
           level=3, fresh=True),
    F.Open(proof=b"", transfer_id=b"\1" * 16, name="x", size=0, block_size=1, checksum_kind=2, level=0),
    F.Accept(proof=b"", resume_seq=7, resume_offset=12345, resume_chain=b"\2" * 32, credit=23, complete=False),
    F.Ack(acked=3, credit=19),
    F.End(n_blocks=9, total_raw=1 << 40, chain=b"\3" * 32),
    F.Done(n_blocks=9, total_raw=10, chain=b"\4" * 32, stored_name="x.1"),
    F.Error(code=F.ErrorCode.AUTH, message="nope"),
    F.Keepalive(),
]


@pytest.mark.parametrize("msg", MESSAGES, ids=lambda m: type(m).__name__)
def test_every_message_roundtrips_through_a_frame(msg):
    wire = F.frame(msg)
    assert wire[:4] == b"COBL" and struct.unpack_from("<I", wire, 4)[0] == len(wire) - 12
    dec = F.FrameDecoder(limit=1 << 20)
    for i in range(len(wire)):  # byte by byte: nothing comes out before the frame is whole
        dec.feed(wire[i:i + 1])
        got = dec.next_payload()
        assert (got is None) == (i < len(wire) - 1)
    assert F.decode_message(got, 1 << 20) == msg


def test_block_message_roundtrip():
    [b] = StreamCompressor(CFG).feed(b"z" * 3000)
    payload = F.encode_message(F.Block(b))
    assert F.decode_message(payload, CFG.block_size) == F.Block(b)


@pytest.mark.parametrize("wire,match", [
    (b"HTTP/1.1 200 OK\r\n", "bad frame magic"),
    (b"CO", None),  # a prefix of the magic: wait for more
    (b"COBL" + struct.pack("<I", 0) + b"\0" * 4, "empty frame"),
    (b"COBL" + struct.pack("<I", 1 << 30), "exceeds the limit"),
    (F.frame(F.Keepalive())[:-1] + b"\0", "CRC32 mismatch"),
])
def test_bad_frames_are_named(wire, match):
    dec = F.FrameDecoder(limit=4096)
    dec.feed(wire)
    if match is None:
        assert dec.next_payload() is None
    else:
        with pytest.raises(ProtocolError, match=match):
            dec.next_payload()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600), st.booleans())
def test_garbage_never_escapes_as_anything_but_a_protocol_error(junk, valid_prefix):
    sess = ReceiverSession(CFG, TOKEN)
    wire = (F.frame(F.Hello(nonce=bytes(32))) if valid_prefix else b"") + junk
    try:
        sess.receive_data(wire)
        sess.next_events()
    except CobolError:
        pass
    # and a payload that passes the CRC but is garbage inside
    try:
        F.decode_message(junk or b"\0", CFG.block_size)
    except CobolError:
        pass


# ---------------------------------------------------------------- state machine

def test_transition_table_names_illegal_messages():
    c = Connection(Role.RECEIVER, 1 << 20)
    c.receive_data(F.frame(F.Ack(0, 1)))
    with pytest.raises(ProtocolError, match="sender may not send ACK in state 'await HELLO'"):
        c.next_event()
    c = Connection(Role.SENDER, 1 << 20)
    with pytest.raises(ProtocolError, match="may not send BLOCK in state 'await HELLO'"):
        [b] = StreamCompressor(CFG).feed(b"z" * 3000)
        c.send(F.Block(b))


def test_every_state_is_reachable_and_error_closes():
    states = {State.AWAIT_HELLO} | set(TRANSITIONS.values())
    assert states == set(State) - {State.CLOSED}
    c = Connection(Role.SENDER, 1 << 20)
    c.send(F.Error(F.ErrorCode.INTERNAL, "bye"))
    assert c.state is State.CLOSED
    with pytest.raises(ProtocolError):
        c.send(F.Error(F.ErrorCode.INTERNAL, "again"))


def test_blocks_before_accept_are_refused_unparsed():
    s = ReceiverSession(CFG)
    [b] = StreamCompressor(CFG).feed(b"z" * 3000)
    s.receive_data(F.frame(F.Hello(nonce=bytes(32))) + F.encode_frame(F.encode_message(F.Block(b))))
    with pytest.raises(ProtocolError):
        s.next_events()


# ---------------------------------------------------------------- transfers

@pytest.mark.parametrize("mode", ["raw", "cobl"])
def test_clean_transfer(mode):
    data = sample()
    sim = Sim(data, store=MemoryStore(mode))
    out = sim.run()
    if mode == "raw":
        assert out == data
    else:  # the receiver's .cobl file is exactly what the engine writes for the same settings
        assert out == CobolEngine(1, block_size=CFG.block_size, threads=1, plan="zstd",
                                  checksum=CFG.checksum).compress(data)
        assert cobol.decompress(out) == data
    assert sim.connections == 1 and sim.transfer.stats.retransmitted == 0
    assert sim.transfer.stats.max_retained_blocks <= CFG.max_unacked + 4
    assert sim.max_pending == 0


def test_empty_stream():
    sim = Sim(b"")
    assert sim.run() == b""
    assert sim.sender.result.n_blocks == 0


def test_the_token_never_travels_and_a_wrong_one_fails_cleanly():
    data = sample(5000)
    wire = bytearray()
    sim = Sim(data)
    orig = sim.faulty
    sim.faulty = lambda b: (wire.extend(b), orig(b))[1]
    assert sim.run() == data
    assert TOKEN not in wire and b"shared-secret" not in wire
    with pytest.raises(AuthenticationError, match="rejected the authentication"):
        Sim(data, sender_token=b"wrong-token-wrong").run()
    with pytest.raises(AuthenticationError, match="requires a token"):
        Sim(data, sender_token=None).run()
    with pytest.raises(AuthenticationError, match="did not prove"):
        Sim(data, receiver_token=None).run()  # a receiver that does not know the token is not trusted
    assert Sim(data, sender_token=None, receiver_token=None).run() == data


def test_sender_respects_credit_and_receiver_enforces_it():
    r = ReceiverSession(CFG)
    s = SenderSession(CFG, TransferInfo(bytes(16), "x", None, CFG.block_size, CFG.checksum_id, 1))
    _open(r, s)
    assert s.credit == CFG.window
    blocks = StreamCompressor(CFG).feed(bytes(CFG.block_size * (CFG.window + 2)))
    with pytest.raises(FlowControlError):
        s.send_block(blocks[CFG.window])
    rogue = F.encode_frame(F.encode_message(F.Block(blocks[CFG.window])))
    r.receive_data(rogue)
    with pytest.raises(FlowControlError, match="beyond the credit"):
        r.next_events()


def test_timeouts_fire_on_the_fake_clock():
    clock = Clock()
    r = ReceiverSession(CFG, clock=clock)
    clock.t += CFG.handshake_timeout + 1
    with pytest.raises(ConnectionTimeout, match="handshake"):
        r.poll()


@pytest.mark.parametrize("seed", range(6))
def test_faulty_network(seed):
    """Corruption, duplicates, reordering, lost frames and dropped connections."""
    data = sample(80_000, seed)
    sim = Sim(data, seed=seed, corrupt=0.01, duplicate=0.05, reorder=0.1, lose=0.01, drop_every=(5, 120))
    assert sim.run() == data
    st = sim.transfer.stats
    n_blocks = sim.sender.result.n_blocks
    assert sim.connections > 1
    # a reconnect resends at most what was not yet durable: never everything again
    assert st.retransmitted <= (sim.connections - 1) * (CFG.max_unacked + CFG.window)
    assert st.max_retained_blocks <= CFG.max_unacked + 4
    assert sim.max_pending < CFG.window
    assert n_blocks * 2 > st.blocks  # blocks were not recompressed from scratch


@pytest.mark.parametrize("seed", range(4))
def test_receiver_crashes_and_restarts(seed):
    data = sample(60_000, seed)
    sim = Sim(data, seed=seed, crash=(1, 8))
    assert sim.run() == data
    assert sim.crashes >= 1 and sim.connections == sim.crashes + 1


@pytest.mark.parametrize("mode", ["raw", "cobl"])
def test_pipelined_receiver_clean_transfer(mode):
    """Blocks decoded on a pool (the receiver's pipeline): same output, in order."""
    data = sample()
    with ThreadPoolExecutor(2) as pool:
        out = Sim(data, store=MemoryStore(mode), decoders=pool).run()
    if mode == "raw":
        assert out == data
    else:
        assert out == CobolEngine(1, block_size=CFG.block_size, threads=1, plan="zstd",
                                  checksum=CFG.checksum).compress(data)


@pytest.mark.parametrize("seed", range(3))
def test_pipelined_receiver_over_a_faulty_network_and_crashes(seed):
    data = sample(80_000, seed)
    with ThreadPoolExecutor(2) as pool:
        # the pool's timing decides how frames batch, and so which random draws each connection gets: a budget
        # below the ~45 frames a transfer of 40 blocks needs makes sure the first connection breaks whatever the timing
        sim = Sim(data, seed=seed, corrupt=0.01, duplicate=0.05, reorder=0.1, lose=0.01, drop_every=(5, 40),
                  decoders=pool)
        assert sim.run() == data
        assert sim.connections > 1
        # credit counts from the last block delivered: received but unwritten blocks stay within the window
        assert 0 < sim.max_undelivered <= CFG.window
        crashing = Sim(data, seed=seed, crash=(1, 8), decoders=pool)
        assert crashing.run() == data
        assert crashing.crashes >= 1


def test_pipelined_session_delivers_only_once_decoded():
    """ReceiverSession with an executor: BLOCK frames are parsed and submitted at once, their
    BlocksDelivered events come from later next_events calls, in order."""
    held = []

    class Held:
        def submit(self, fn, *args):
            fut = Future()
            held.append((fut, fn, args))
            return fut

    r = ReceiverSession(CFG, executor=Held())
    s = SenderSession(CFG, TransferInfo(bytes(16), "x", None, CFG.block_size, CFG.checksum_id, 1))
    _open(r, s)
    data = sample(3 * CFG.block_size)
    c = StreamCompressor(CFG)
    blocks = c.feed(data) + c.flush()
    for b in blocks:
        s.send_block(b)
    s.send_end(len(blocks), len(data), c.chain)
    r.receive_data(s.data_to_send())
    assert r.next_events() == [] and r.decoding == len(blocks)
    assert r.checkpoint_due() is False  # nothing delivered, nothing to make durable
    for fut, fn, args in reversed(held):  # the last block finishes first
        fut.set_result(fn(*args))
    events = r.next_events()
    assert [type(e).__name__ for e in events] == ["BlocksDelivered", "TransferComplete"]
    assert b"".join(d.raw for d in events[0].blocks) == data


def test_reordered_end_and_duplicate_done_are_harmless():
    data = sample(20_000)
    sim = Sim(data, seed=3, reorder=0.5, duplicate=0.3)
    assert sim.run() == data


def test_a_fresh_sender_resumes_by_rescanning_its_file():
    data = sample(60_000)
    store = MemoryStore()
    sim = Sim(data, store=store, seed=1, drop_every=(20, 21))
    sim.one_connection()  # dropped part-way
    tid = sim.transfer.transfer_id
    done_before = store.partials[tid].durable[0].seq
    assert 0 < done_before
    # a new sender process: same transfer id, nothing in memory
    t2 = OutgoingTransfer(io.BytesIO(data), CFG, name="data.csv", size=len(data), transfer_id=tid)
    sim2 = Sim(data, store=store, transfer=t2)
    assert sim2.run() == data
    assert t2.stats.resumed_from == done_before
    assert t2.stats.blocks < sim2.sender.result.n_blocks  # only the rest was compressed


def test_a_different_file_under_the_same_id_starts_over():
    data = sample(60_000)
    store = MemoryStore()
    sim = Sim(data, store=store, seed=1, drop_every=(20, 21))
    sim.one_connection()
    other = sample(60_000, seed=9)
    t2 = OutgoingTransfer(io.BytesIO(other), CFG, name="data.csv", size=len(other), transfer_id=sim.transfer.transfer_id)
    sim2 = Sim(other, store=store, transfer=t2)
    assert sim2.run() == other
    assert any(isinstance(e, ResumeError) for e in sim2.errors)


class Unseekable(io.RawIOBase):
    def __init__(self, data):
        self._f = io.BytesIO(data)

    def readable(self):
        return True

    def read(self, n=-1):
        return self._f.read(n)


def test_unseekable_source_resumes_from_its_retained_blocks():
    data = sample(80_000)
    t = OutgoingTransfer(Unseekable(data), CFG, name="pipe")
    sim = Sim(data, transfer=t, seed=4, drop_every=(10, 60))
    assert sim.run() == data
    assert sim.connections > 1


def test_completed_transfer_is_not_sent_again_after_a_lost_done():
    data = sample(30_000)
    store = MemoryStore()
    assert Sim(data, store=store).run() == data
    first = store.files["data.csv"]
    tid = next(iter(store.done))
    t2 = OutgoingTransfer(io.BytesIO(data), CFG, name="data.csv", size=len(data), transfer_id=tid)
    sim = Sim(data, store=store, transfer=t2)
    sim.run()
    assert sim.sender.receiver_had_all and t2.stats.blocks == 0 and store.files["data.csv"] is first


def test_end_that_disagrees_with_the_blocks_is_an_error():
    r = ReceiverSession(CFG)
    s = SenderSession(CFG, TransferInfo(bytes(16), "x", None, CFG.block_size, CFG.checksum_id, 1))
    _open(r, s)
    c = StreamCompressor(CFG)
    [b] = c.feed(b"q" * 100) + c.flush()
    s.send_block(b)
    s.send_end(1, 100, ZERO_CHAIN)  # wrong chain
    r.receive_data(s.data_to_send())
    assert [type(e).__name__ for e in r.next_events()] == ["BlocksDelivered"]  # first what arrived...
    with pytest.raises(ResumeError, match="do not match"):  # ...then the error, on the next call
        r.next_events()


def test_sha256_of_output_matches_for_corpus_like_data():
    data = b"".join(b'{"user": %d, "event": "click", "ts": %d}\n' % (i % 97, 1_700_000_000 + i) for i in range(8000))
    sim = Sim(data, StreamingConfig(block_size=8192, window=16, checkpoint_blocks=8, fsync=False), seed=2,
              reorder=0.1, duplicate=0.1, drop_every=(20, 80))
    assert hashlib.sha256(sim.run()).digest() == hashlib.sha256(data).digest()


def test_a_different_file_under_the_id_of_a_completed_transfer_starts_over():
    data, other = sample(30_000), sample(30_000, seed=9)
    store = MemoryStore()
    first = Sim(data, store=store)
    assert first.run() == data
    t2 = OutgoingTransfer(io.BytesIO(other), CFG, name="data.csv", size=len(other),
                          transfer_id=first.transfer.transfer_id)
    sim = Sim(other, store=store, transfer=t2)
    assert sim.run() == other  # a failed resume scan must leave the source where it was
    assert any(isinstance(e, ResumeError) for e in sim.errors)


def test_streaming_profile_hooks_on_both_ends():
    from cobol.profile import StreamingProfile
    data = sample(40_000)
    clock = Clock()
    prof = StreamingProfile(clock=clock)
    sim = Sim(data, seed=5, reorder=0.3, duplicate=0.2, profile=prof)
    sim.clock = sim.sender.clock = clock
    assert sim.run() == data
    s = prof.summary()
    assert s["blocks_received"] == sim.sender.result.n_blocks and s["duplicates"] > 0 and s["out_of_order"] > 0


# ---------------------------------------------------------------- block size and window negotiation

def _receiver_cfg(**kw):
    return CFG.replace(**kw)


def test_sender_lowers_its_block_size_to_the_receivers_limit():
    """A receiver that accepts smaller blocks than the sender's gets blocks of its limit (the
    sender re-cuts before it cut anything), and the .cobl it stores is the engine's for that size."""
    data = sample(40_000)
    sender_cfg = CFG.replace(block_size=8192, max_block_size=8192)
    transfer = OutgoingTransfer(io.BytesIO(data), sender_cfg, name="data.csv", size=len(data))
    sim = Sim(data, _receiver_cfg(max_block_size=2048, block_size=2048), transfer=transfer, store=MemoryStore("cobl"))
    out = sim.run()
    assert sim.errors == [] and sim.connections == 1
    assert transfer.config.block_size == 2048 and sim.sender.session.info.block_size == 2048
    assert out == CobolEngine(1, block_size=2048, threads=1, plan="zstd", checksum=CFG.checksum).compress(data)


def test_an_older_receiver_never_gets_a_block_larger_than_it_accepts():
    """A receiver of the previous version: max_block_size 4 MiB (scaled here to 4096), a window
    and retransmit credit counted in blocks whatever their size (no window_bytes)."""
    data = sample(60_000)
    old = _receiver_cfg(block_size=4096, max_block_size=4096, window=16, max_unacked=32, checkpoint_blocks=8,
                        window_bytes=1 << 30)
    sender_cfg = CFG.replace(block_size=8192, max_block_size=8192, window_bytes=4 * 8192)
    transfer = OutgoingTransfer(io.BytesIO(data), sender_cfg, name="data.csv", size=len(data))
    received = []
    sim = Sim(data, old, transfer=transfer)
    orig = sim.faulty

    def watch(b):
        for fr in split_frames(b):
            if fr[8] == F.MsgType.BLOCK:
                received.append(CompressedBlockType.from_bytes(fr[9:-4]).raw_len)
        return orig(b)
    sim.faulty = watch
    assert sim.run() == data
    assert sim.errors == [] and max(received) == 4096
    # the old receiver grants credit up to acked + 32 blocks; the sender keeps to its own bound
    cap = sender_cfg.max_unacked_for(4096)
    assert cap == 16 and transfer.stats.max_retained_blocks <= cap + 2


def test_sender_bounds_what_it_retains_whatever_the_receiver_grants():
    data = sample(60_000)
    # a receiver that grants credit far beyond its durable point (checkpoints rarely)
    generous = _receiver_cfg(window=16, max_unacked=32, checkpoint_blocks=24, checkpoint_interval=1000,
                             window_bytes=1 << 30)
    frugal = CFG.replace(window_bytes=4 * CFG.block_size)  # max_unacked_for(2048) = 8 blocks
    bounded = OutgoingTransfer(io.BytesIO(data), frugal, name="data.csv", size=len(data))
    free = OutgoingTransfer(io.BytesIO(data), CFG.replace(max_unacked=32, checkpoint_blocks=8, window=16),
                            name="data.csv", size=len(data))
    assert Sim(data, generous, transfer=bounded).run() == data
    assert Sim(data, generous, transfer=free).run() == data
    assert bounded.stats.max_retained_blocks <= 8 + 2 < free.stats.max_retained_blocks


def test_a_sender_without_fitting_is_refused_by_a_smaller_limit():
    """The previous sender's behaviour (no fit_block_size): a block size over the limit is refused."""
    from cobol.stream import TransferRefused
    r = ReceiverSession(_receiver_cfg(max_block_size=1024, block_size=1024))
    s = SenderSession(CFG, TransferInfo(bytes(16), "x", None, 2048, CFG.checksum_id, 1))
    s.start()
    r.receive_data(s.data_to_send())
    r.next_events()
    s.receive_data(r.data_to_send())
    with pytest.raises(TransferRefused, match="exceeds the receiver's limit 1024"):
        s.next_events()


def test_a_transfer_that_cut_blocks_is_refused_rather_than_recut():
    from cobol.stream import TransferRefused
    data = sample(20_000)
    t = OutgoingTransfer(io.BytesIO(data), CFG.replace(block_size=8192, max_block_size=8192), name="d")
    assert t.fit_block_size(8192).block_size == 8192  # within the limit: unchanged
    t.produce(1)
    with pytest.raises(TransferRefused, match="already cut blocks of 8192 bytes"):
        t.fit_block_size(2048)
    fresh = OutgoingTransfer(io.BytesIO(data), CFG.replace(block_size=8192, max_block_size=8192), name="d")
    assert fresh.fit_block_size(2048).block_size == 2048 and fresh.config.block_size == 2048


@pytest.mark.parametrize("block_size, window", [(8192, 4), (2048, 8), (1024, 8), (32768, 4)])
def test_the_receivers_window_is_counted_in_bytes(block_size, window):
    """window_bytes / block size blocks, at least MIN_WINDOW, at most ``window``: the first credit
    says it, and the receiver never holds more."""
    cfg = _receiver_cfg(window=8, window_bytes=4 * 8192, max_block_size=32768)
    assert cfg.window_for(block_size) == window
    r = ReceiverSession(cfg)
    s = SenderSession(CFG.replace(block_size=block_size, max_block_size=32768),
                      TransferInfo(bytes(16), "x", None, block_size, CFG.checksum_id, 1))
    _open(r, s)
    assert s.credit == window
    data = sample(12 * block_size)
    transfer = OutgoingTransfer(io.BytesIO(data), CFG.replace(block_size=block_size, max_block_size=32768), name="d")
    sim = Sim(data, cfg, transfer=transfer)
    assert sim.run() == data
    assert sim.max_undelivered <= window
