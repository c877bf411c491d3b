"""The TCP shells on loopback (127.0.0.1 only), with a fault-injecting proxy.

Every test runs under asyncio.wait_for, so none can hang; every transfer ends
with the output SHA-256-identical to the input, or with a clear error.
"""

import asyncio
import hashlib
import io
import os
import random
import shutil
import ssl
import subprocess
import threading
import time

import pytest

from cobol.stream import AuthenticationError, StreamingConfig
from cobol.stream import frames as F
from cobol.stream.checkpoint import TransferStore
from cobol.stream.config import READ_SIZE
from cobol.stream.tcp import (
    ConnectionDecoder, StreamServer, TransferFailed, client_ssl_context, parse_hostport, send_stream, server_ssl_context,
)

LOCAL = "127.0.0.1"
TOKEN = b"loopback-test-token"
CFG = StreamingConfig(block_size=4096, plan="zstd", level=1, window=8, max_unacked=16, checkpoint_blocks=4,
                      checkpoint_interval=0.2, ack_timeout=1.0, idle_timeout=2.0, block_timeout=1.0,
                      handshake_timeout=2.0, fsync=False)
FAST_RETRY = dict(retries=40, backoff=0.01, max_backoff=0.1)


def run(coro, timeout=30):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def sample(n=300_000, seed=0) -> bytes:
    rnd = random.Random(seed)
    rows = [b'{"id":%d,"name":"%s","score":%d}\n' % (i, bytes(rnd.choices(b"abcdefghij", k=rnd.randrange(4, 16))),
                                                     rnd.randrange(10**6)) for i in range(n // 30)]
    return b"".join(rows)[:n]


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def stored(tmp_path, name) -> bytes:
    with open(tmp_path / name, "rb") as f:
        return f.read()


class FaultProxy:
    """A TCP proxy that parses frames and misbehaves: drops the connection after a
    random number of frames, corrupts a byte, duplicates, reorders (holds a frame
    back behind the next one) and delays frames, or freezes (stops forwarding,
    keeping the sockets open)."""

    def __init__(self, target_port, seed=0, *, drop_after=None, corrupt=0.0, duplicate=0.0, reorder=0.0,
                 delay=0.0, freeze_first_after=None):
        self.target_port = target_port
        self.rnd = random.Random(seed)
        self.drop_after = drop_after
        self.p = dict(corrupt=corrupt, duplicate=duplicate, reorder=reorder, delay=delay)
        self.freeze_first_after = freeze_first_after
        self.connections = 0
        self.tasks = set()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._handle, LOCAL, 0)
        return self.server.sockets[0].getsockname()[1]

    async def close(self):
        self.server.close()
        for t in list(self.tasks):
            t.cancel()

    async def _handle(self, creader, cwriter):
        self.connections += 1
        self.tasks.add(asyncio.current_task())
        freeze = self.freeze_first_after if self.connections == 1 else None
        try:
            sreader, swriter = await asyncio.open_connection(LOCAL, self.target_port)
        except OSError:
            cwriter.transport.abort()
            return
        budget = {"frames": self.rnd.randrange(*self.drop_after) if self.drop_after else None, "freeze": freeze}
        pumps = [asyncio.create_task(self._pump(creader, swriter, budget)),
                 asyncio.create_task(self._pump(sreader, cwriter, budget))]
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            if budget["freeze"] == 0:
                await asyncio.sleep(30)  # a half-dead path: nothing moves, nothing closes
        except asyncio.CancelledError:
            pass  # the proxy is closing
        finally:
            for p in pumps:
                p.cancel()
            cwriter.transport.abort()
            swriter.transport.abort()
            self.tasks.discard(asyncio.current_task())

    @staticmethod
    async def _read_frame(reader):
        try:
            head = await reader.readexactly(8)
            n = int.from_bytes(head[4:8], "little")
            return head + await reader.readexactly(n + 4)
        except (asyncio.IncompleteReadError, ConnectionError):
            return None

    async def _pump(self, reader, writer, budget):
        held = None
        pending = asyncio.ensure_future(self._read_frame(reader))
        try:
            while True:
                done, _ = await asyncio.wait({pending}, timeout=0.02 if held else None)
                if not done:  # nothing came after the held frame: let it go
                    writer.write(held)
                    held = None
                    continue
                fr = pending.result()
                if fr is None:
                    return
                pending = asyncio.ensure_future(self._read_frame(reader))
                if budget["freeze"] is not None:
                    budget["freeze"] -= 1
                    if budget["freeze"] <= 0:
                        budget["freeze"] = 0
                        return
                if budget["frames"] is not None:
                    budget["frames"] -= 1
                    if budget["frames"] < 0:
                        return
                r = self.rnd.random
                if r() < self.p["delay"]:
                    await asyncio.sleep(self.rnd.uniform(0, 0.01))
                if r() < self.p["corrupt"]:
                    fr = bytearray(fr)
                    fr[self.rnd.randrange(len(fr))] ^= 1 << self.rnd.randrange(8)
                    fr = bytes(fr)
                out = [fr, fr] if r() < self.p["duplicate"] else [fr]
                if held is None and r() < self.p["reorder"]:
                    held = out[0]
                    out = out[1:]
                elif held is not None:
                    out.append(held)
                    held = None
                for o in out:
                    writer.write(o)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            return
        finally:
            pending.cancel()


async def start_server(tmp_path, cfg=CFG, **kw):
    srv = StreamServer(tmp_path, cfg, host=LOCAL, port=0, **kw)
    await srv.start()
    return srv


def check_memory_bounds(res, srv, cfg=CFG):
    st = res.stats
    assert st.max_retained_blocks <= cfg.max_unacked + max(4, 2 * cfg.threads)
    assert srv.totals.max_pending_blocks < cfg.window
    # decoding and reordering together: credit counts from the last block written
    assert srv.totals.max_undelivered_blocks <= cfg.window
    assert srv.totals.max_buffered_bytes <= F.block_payload_limit(cfg.block_size) + 12 + READ_SIZE


# ---------------------------------------------------------------- plain transfers

@pytest.mark.parametrize("mode", ["raw", "cobl"])
def test_roundtrip_over_loopback(tmp_path, mode):
    import cobol
    data = sample()

    async def main():
        srv = await start_server(tmp_path, token=TOKEN, mode=mode)
        try:
            res = await send_stream(io.BytesIO(data), LOCAL, srv.port, CFG, name="rows.jsonl", token=TOKEN)
        finally:
            await srv.close()
        return res, srv

    res, srv = run(main())
    assert res.raw_bytes == len(data) and res.stats.connections == 1
    if mode == "raw":
        assert res.stored_name == "rows.jsonl" and sha(stored(tmp_path, "rows.jsonl")) == sha(data)
    else:
        assert res.stored_name == "rows.jsonl.cobl" and sha(cobol.decompress(stored(tmp_path, "rows.jsonl.cobl"))) == sha(data)
    check_memory_bounds(res, srv)
    assert not [p for p in os.listdir(tmp_path / ".cobol-partial") if not p.endswith(".done")]


def test_default_sender_fits_its_blocks_to_a_receiver_with_a_smaller_limit(tmp_path):
    """The default sender (8 MiB blocks) and a receiver that accepts 64 KiB at most, through the
    asyncio shells: every block it gets is within its limit, and the .cobl it stores is the
    engine's frame for 64 KiB blocks."""
    import cobol
    from cobol.engine import CobolEngine
    data = sample(400_000)
    limit = 64 << 10
    receiver_cfg = CFG.replace(block_size=limit, max_block_size=limit)
    sender_cfg = StreamingConfig(plan="zstd", level=1, fsync=False)  # the defaults' 8 MiB blocks
    assert sender_cfg.block_size > limit

    async def main():
        srv = StreamServer(str(tmp_path), receiver_cfg, port=0, mode="cobl")
        await srv.start()
        try:
            return await send_stream(io.BytesIO(data), LOCAL, srv.port, sender_cfg, name="rows.jsonl")
        finally:
            await srv.close()

    res = run(main())
    out = stored(tmp_path, res.stored_name)
    assert out == CobolEngine(1, block_size=limit, threads=1, plan="zstd", checksum="xxh3").compress(data)
    assert cobol.decompress(out) == data

@pytest.mark.parametrize("threads", [1, 2])
def test_server_decodes_blocks_on_its_pool_while_the_connection_reads(tmp_path, monkeypatch, threads):
    """The decode pipeline: with a decode that takes a while, a server with N decode
    threads has N blocks of one connection decoding at once, and the output is in order."""
    from cobol.engine import CobolEngine
    real = CobolEngine.decode_block
    state = {"now": 0, "most": 0, "threads": set()}
    lock = threading.Lock()

    def slow_decode(self, rec, header):
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
            state["threads"].add(threading.current_thread().name)
        try:
            time.sleep(0.05)  # releases the GIL, like the engine's zstd and Numba kernels
            return real(self, rec, header)
        finally:
            with lock:
                state["now"] -= 1

    monkeypatch.setattr(CobolEngine, "decode_block", slow_decode)
    data = sample(120_000)
    cfg = CFG.replace(threads=threads, ack_timeout=10.0, idle_timeout=10.0, block_timeout=10.0)

    async def main():
        srv = await start_server(tmp_path, cfg)
        try:
            return await send_stream(io.BytesIO(data), LOCAL, srv.port, cfg, name="slow.jsonl"), srv
        finally:
            await srv.close()

    res, srv = run(main(), timeout=60)
    assert sha(stored(tmp_path, "slow.jsonl")) == sha(data) and res.stats.connections == 1
    assert state["most"] == threads  # N at once: decoding overlaps the reads, and never exceeds the pool
    assert all(name.startswith("cobol-decode") for name in state["threads"])
    assert srv.totals.max_undelivered_blocks <= cfg.window


def test_connection_decoders_share_the_pool_fairly_and_wake_their_loop():
    """A bulk connection with many blocks queued does not hold up another connection's block:
    each connection has at most `limit` calls in the shared pool; the rest wait on its side."""
    from concurrent.futures import ThreadPoolExecutor
    order = []
    gate = threading.Event()

    def work(name):
        gate.wait(5)
        order.append(name)
        return name

    loop = asyncio.new_event_loop()
    try:
        with ThreadPoolExecutor(1) as pool:
            bulk = ConnectionDecoder(pool, 1, loop, asyncio.Event())
            line = ConnectionDecoder(pool, 1, loop, asyncio.Event())
            futs = [bulk.submit(work, f"bulk{i}") for i in range(6)]
            cancelled = bulk.submit(work, "bulk-cancelled")
            assert cancelled.cancel()  # still on the connection's side: cancels (its connection closed)
            futs.append(line.submit(work, "line"))
            gate.set()
            assert [f.result(5) for f in futs] == [f"bulk{i}" for i in range(6)] + ["line"]
        assert order[:3] == ["bulk0", "line", "bulk1"]  # not behind all six
        assert "bulk-cancelled" not in order
        assert bulk.event.is_set() is False  # set through the loop, which has not run yet...
        loop.run_until_complete(asyncio.sleep(0))
        assert bulk.event.is_set() and line.event.is_set()  # ...and set once it runs
    finally:
        loop.close()


def test_many_concurrent_senders_and_name_collisions(tmp_path):
    inputs = [sample(60_000, seed=i) for i in range(6)]

    async def main():
        srv = await start_server(tmp_path, token=TOKEN)
        try:
            return await asyncio.gather(*(send_stream(io.BytesIO(d), LOCAL, srv.port, CFG, name="same.txt", token=TOKEN)
                                          for d in inputs))
        finally:
            await srv.close()

    results = run(main())
    names = sorted(r.stored_name for r in results)
    assert names == ["same.txt"] + [f"same.txt.{i}" for i in range(1, 6)]
    assert sorted(sha(stored(tmp_path, r.stored_name)) for r in results) == sorted(sha(d) for d in inputs)


# ---------------------------------------------------------------- faults

SCENARIOS = {
    "drops": dict(drop_after=(10, 60)),
    "corruption": dict(corrupt=0.02),
    "reorder+duplicates": dict(reorder=0.15, duplicate=0.1),
    "delays": dict(delay=0.3),
    "everything": dict(drop_after=(20, 120), corrupt=0.01, reorder=0.1, duplicate=0.05, delay=0.1),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_transfer_survives_a_faulty_path(tmp_path, scenario):
    data = sample(200_000, seed=len(scenario))

    async def main():
        srv = await start_server(tmp_path, token=TOKEN)
        proxy = FaultProxy(srv.port, seed=7, **SCENARIOS[scenario])
        port = await proxy.start()
        try:
            res = await send_stream(io.BytesIO(data), LOCAL, port, CFG, name="f", token=TOKEN, **FAST_RETRY)
        finally:
            await proxy.close()
            await srv.close()
        return res, srv, proxy

    res, srv, proxy = run(main(), timeout=45)
    assert sha(stored(tmp_path, "f")) == sha(data)
    check_memory_bounds(res, srv)
    if scenario in ("drops", "everything", "corruption"):
        assert proxy.connections > 1 and res.stats.connections == proxy.connections
        # a reconnect resends what was not durable yet, never the whole file
        assert res.stats.retransmitted <= (res.stats.connections - 1) * (CFG.max_unacked + CFG.window)
    if scenario == "reorder+duplicates":
        assert srv.totals.duplicates + srv.totals.stale + srv.totals.out_of_order > 0


def test_receiver_killed_and_restarted_mid_transfer(tmp_path):
    data = sample(400_000, seed=3)
    slow = SlowStore(tmp_path, delay=0.004)

    async def main():
        srv = await start_server(tmp_path, token=TOKEN, store=slow)
        port = srv.port
        sending = asyncio.create_task(send_stream(io.BytesIO(data), LOCAL, port, CFG, name="big", token=TOKEN,
                                                  retries=100, backoff=0.05, max_backoff=0.05))
        ckpts = tmp_path / ".cobol-partial"
        while not any(p.endswith(".ckpt") for p in os.listdir(ckpts)):
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
        await srv.close(abort=True)  # as if killed: no goodbye, no final checkpoint
        assert not sending.done()
        srv2 = StreamServer(tmp_path, CFG, host=LOCAL, port=port, token=TOKEN)  # a new process, same folder
        await srv2.start()
        try:
            return await sending
        finally:
            await srv2.close()

    res = run(main(), timeout=45)
    assert sha(stored(tmp_path, "big")) == sha(data)
    assert res.stats.resumes >= 1 and res.stats.resumed_from > 0
    assert res.stats.retransmitted < res.blocks // 2


class SlowStore(TransferStore):
    """A receiver whose disk is slow: every write sleeps."""

    def __init__(self, out_dir, delay=0.02):
        super().__init__(out_dir, fsync=False)
        self.delay = delay

    def open(self, info):
        partial = super().open(info)
        write = partial.write

        def slow_write(blocks):
            time.sleep(self.delay * len(blocks))
            write(blocks)
        partial.write = slow_write
        return partial


def test_slow_reader_bounds_memory_on_both_ends(tmp_path):
    data = sample(200_000, seed=5)

    async def main():
        srv = await start_server(tmp_path, store=SlowStore(tmp_path, delay=0.01))
        try:
            res = await send_stream(io.BytesIO(data), LOCAL, srv.port, CFG, name="slow")
        finally:
            await srv.close()
        return res, srv

    res, srv = run(main(), timeout=45)
    assert sha(stored(tmp_path, "slow")) == sha(data)
    check_memory_bounds(res, srv)
    assert res.stats.credit_stalls > 0  # the sender was held back, not buffering ahead


def test_half_dead_connection_is_taken_over_by_the_reconnect(tmp_path):
    data = sample(200_000, seed=6)

    async def main():
        srv = await start_server(tmp_path, token=TOKEN)
        proxy = FaultProxy(srv.port, freeze_first_after=30)
        port = await proxy.start()
        try:
            res = await send_stream(io.BytesIO(data), LOCAL, port, CFG, name="frozen", token=TOKEN, **FAST_RETRY)
        finally:
            await proxy.close()
            await srv.close()
        return res

    res = run(main(), timeout=30)
    assert sha(stored(tmp_path, "frozen")) == sha(data)
    assert res.stats.connections == 2


# ---------------------------------------------------------------- hostile peers

def test_wrong_token_is_a_clear_error_and_is_not_retried(tmp_path):
    async def main():
        srv = await start_server(tmp_path, token=TOKEN)
        try:
            with pytest.raises(AuthenticationError, match="rejected the authentication"):
                await send_stream(io.BytesIO(b"x" * 1000), LOCAL, srv.port, CFG, token=b"not-the-token", **FAST_RETRY)
            with pytest.raises(AuthenticationError, match="requires a token"):
                await send_stream(io.BytesIO(b"x" * 1000), LOCAL, srv.port, CFG, **FAST_RETRY)
            return await send_stream(io.BytesIO(b"y" * 1000), LOCAL, srv.port, CFG, name="ok", token=TOKEN)
        finally:
            await srv.close()

    res = run(main())
    assert stored(tmp_path, "ok") == b"y" * 1000 and res.stats.connections == 1


async def _raw_exchange(port, payload: bytes, wait=3.0) -> bytes:
    reader, writer = await asyncio.open_connection(LOCAL, port)
    writer.write(payload)
    got = b""
    try:
        while True:
            chunk = await asyncio.wait_for(reader.read(65536), wait)
            if not chunk:
                break
            got += chunk
    except (asyncio.TimeoutError, ConnectionError):
        pass
    writer.transport.abort()
    return got


def test_garbage_closes_only_its_own_connection(tmp_path, caplog):
    data = sample(150_000, seed=8)
    hello = F.frame(F.Hello(nonce=bytes(32)))
    junk = [
        os.urandom(5000),
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"COBL" + (1 << 31).to_bytes(4, "little") + b"\0" * 100,   # a huge length
        hello + b"COBL" + (50).to_bytes(4, "little") + os.urandom(54),  # bad CRC after a good HELLO
        hello + F.encode_frame(b"\x05" + os.urandom(200)),          # a BLOCK before OPEN
        hello + F.encode_frame(b"\x63"),                            # an unknown message type
        b"",                                                        # a silent client (handshake timeout)
    ]

    async def main():
        srv = await start_server(tmp_path, token=TOKEN)
        try:
            good = asyncio.create_task(send_stream(io.BytesIO(data), LOCAL, srv.port, CFG, name="good", token=TOKEN))
            answers = await asyncio.gather(*(_raw_exchange(srv.port, j) for j in junk))
            res = await good
            # the server is still up and serving after all that
            res2 = await send_stream(io.BytesIO(b"after"), LOCAL, srv.port, CFG, name="after", token=TOKEN)
        finally:
            await srv.close()
        return answers, res, res2

    with caplog.at_level("INFO", logger="cobol.stream"):
        answers, res, res2 = run(main(), timeout=30)
    assert sha(stored(tmp_path, "good")) == sha(data) and stored(tmp_path, "after") == b"after"
    for a in answers[:6]:  # each got an ERROR frame naming the problem, then the connection closed
        dec = F.FrameDecoder()
        dec.feed(a)
        msgs = []
        while (p := dec.next_payload()) is not None:
            msgs.append(F.decode_message(p, 1 << 16))
        assert msgs and isinstance(msgs[-1], F.Error), a[:80]
    assert "closing connection" in caplog.text


def test_connection_limit(tmp_path):
    cfg = CFG.replace(max_connections=2, handshake_timeout=0.5)

    async def main():
        srv = await start_server(tmp_path, cfg)
        try:
            idle = [await asyncio.open_connection(LOCAL, srv.port) for _ in range(2)]
            await asyncio.sleep(0.05)
            busy = await _raw_exchange(srv.port, b"", wait=1.0)
            # with retries, a sender gets in once the idle ones time out
            res = await send_stream(io.BytesIO(b"z" * 5000), LOCAL, srv.port, cfg, name="z", **FAST_RETRY)
            for _, w in idle:
                w.transport.abort()
        finally:
            await srv.close()
        return busy, res, srv

    busy, res, srv = run(main())
    dec = F.FrameDecoder()
    dec.feed(busy)
    err = F.decode_message(dec.next_payload(), 1 << 16)
    assert isinstance(err, F.Error) and err.code == F.ErrorCode.BUSY
    assert stored(tmp_path, "z") == b"z" * 5000 and srv.rejected >= 1


def test_unreachable_receiver_gives_up_after_retries():
    async def main():
        s = await asyncio.start_server(lambda r, w: None, LOCAL, 0)
        port = s.sockets[0].getsockname()[1]
        s.close()
        await s.wait_closed()
        with pytest.raises(TransferFailed, match="after 3 failed attempts"):
            await send_stream(io.BytesIO(b"q"), LOCAL, port, CFG, retries=2, backoff=0.01)

    run(main(), timeout=120)  # it gives up (the bound is generous: no speed is asserted)


# ---------------------------------------------------------------- TLS

def _cert_with_openssl(cert, key) -> bool:
    if shutil.which("openssl") is None:
        return False
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                       capture_output=True, timeout=60)
    return r.returncode == 0


def _cert_with_cryptography(cert, key) -> bool:  # pragma: no cover - used where openssl is missing
    try:
        import datetime
        import ipaddress
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        return False
    k = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    c = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(k.public_key())
         .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
         .not_valid_after(now + datetime.timedelta(days=1))
         .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                     x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
         .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
         .sign(k, hashes.SHA256()))
    cert.write_bytes(c.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    return True


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory):
    """A self-signed certificate for localhost: the openssl command if present,
    else the cryptography package if installed, else the TLS tests skip."""
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    if not (_cert_with_openssl(cert, key) or _cert_with_cryptography(cert, key)):
        pytest.skip("no way to make a certificate: neither the openssl command nor the cryptography package works")
    return str(cert), str(key)


def test_tls_transfer_and_plain_client_refused(tmp_path, self_signed):
    cert, key = self_signed
    data = sample(100_000, seed=11)

    async def main():
        srv = await start_server(tmp_path, ssl=server_ssl_context(cert, key), token=TOKEN)
        try:
            res = await send_stream(io.BytesIO(data), LOCAL, srv.port, CFG, name="tls", token=TOKEN,
                                    ssl=client_ssl_context(cert), server_hostname="localhost")
            with pytest.raises(TransferFailed):  # plain TCP to a TLS port: the handshake never completes
                await send_stream(io.BytesIO(b"x"), LOCAL, srv.port, CFG.replace(handshake_timeout=0.5), token=TOKEN,
                                  retries=0)
            with pytest.raises((ssl.SSLError, TransferFailed)):  # an unverified server is refused
                await send_stream(io.BytesIO(b"x"), LOCAL, srv.port, CFG, token=TOKEN, ssl=client_ssl_context(),
                                  server_hostname="localhost", retries=0)
        finally:
            await srv.close()
        return res

    run(main())
    assert sha(stored(tmp_path, "tls")) == sha(data)


def test_parse_hostport():
    assert parse_hostport("10.0.0.1:99") == ("10.0.0.1", 99)
    assert parse_hostport(":99") == ("127.0.0.1", 99)
    assert parse_hostport("[::1]:5") == ("::1", 5)
    assert parse_hostport("host") == ("host", 7433)
    with pytest.raises(ValueError):
        parse_hostport("h:99999")


def test_a_trickling_client_still_meets_the_handshake_timeout(tmp_path):
    # never idle (a byte every 50 ms, idle timeout far away): only the handshake
    # timeout can close the connection while the client trickles (up to 60 s)
    cfg = CFG.replace(handshake_timeout=0.5, idle_timeout=300.0)

    async def main():
        srv = await start_server(tmp_path, cfg)
        reader, writer = await asyncio.open_connection(LOCAL, srv.port)
        hello = F.frame(F.Hello(nonce=bytes(32)))
        t0 = time.monotonic()
        closed_after = None
        try:
            for i in range(1200):  # one byte every 50 ms, a minute at least: never idle, never done
                writer.write(hello[i % len(hello):i % len(hello) + 1])
                await writer.drain()
                await asyncio.sleep(0.05)
                if reader.at_eof():
                    closed_after = time.monotonic() - t0
                    break
                try:
                    if not await asyncio.wait_for(reader.read(4096), 0.001):
                        closed_after = time.monotonic() - t0
                        break
                except asyncio.TimeoutError:
                    pass
        except ConnectionError:
            closed_after = time.monotonic() - t0
        finally:
            writer.transport.abort()
            await srv.close()
        return closed_after

    closed_after = run(main(), timeout=120)
    assert closed_after is not None, "the server never closed the trickling connection"


class FailingStore(TransferStore):
    """A receiver whose disk fills up after a while."""

    def __init__(self, out_dir, fail_after=5):
        super().__init__(out_dir, fsync=False)
        self.left = fail_after

    def open(self, info):
        partial = super().open(info)
        write = partial.write

        def failing_write(blocks):
            self.left -= len(blocks)
            if self.left < 0:
                raise OSError(28, "No space left on device")
            write(blocks)
        partial.write = failing_write
        return partial


def test_a_receiver_side_failure_fails_that_transfer_only(tmp_path, caplog):
    async def main():
        srv = await start_server(tmp_path, store=FailingStore(tmp_path))
        try:
            with pytest.raises(TransferFailed, match="internal"):
                await send_stream(io.BytesIO(sample(100_000)), LOCAL, srv.port, CFG, name="full", retries=2, backoff=0.01)
            srv.store.left = 10**9  # space again: the same server carries on
            return await send_stream(io.BytesIO(b"fine"), LOCAL, srv.port, CFG, name="fine")
        finally:
            await srv.close()

    with caplog.at_level("INFO", logger="cobol.stream"):
        run(main())
    assert stored(tmp_path, "fine") == b"fine"
    assert "No space left on device" in caplog.text
