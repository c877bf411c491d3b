"""Interactive sources: a pipe that stalls must not hold its bytes back until a
block fills. The sender cuts a partial block once the oldest byte waited
``max_delay``; regular files are cut by size alone. No wall-clock assertions:
the fake-source tests use a fake clock, the pipe test waits for an event with a
generous bound."""

import asyncio
import glob
import os
import threading
import time

from cobol.stream import StreamingConfig
from cobol.stream.sender import IDLE_WAIT, OutgoingTransfer
from cobol.stream.sources import StallingSource, can_stall
from cobol.stream.tcp import StreamServer, send_stream

CFG = StreamingConfig(block_size=1 << 20, plan="zstd", level=1, fsync=False, max_delay=0.05)


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


class ScriptedSource:
    """A stalling source driven by a script of (data or None, seconds it takes)."""

    def __init__(self, script, clock):
        self.script = list(script)
        self.clock = clock
        self.timeouts = []

    def read_timeout(self, n, timeout):
        self.timeouts.append(timeout)
        if not self.script:
            return b""
        data, took = self.script[0]
        if data is None or (timeout is not None and took > timeout):  # nothing arrives in time
            self.clock.t += timeout
            if data is not None:
                self.script[0] = (data, took - timeout)
            else:
                self.script.pop(0)
            return None
        self.clock.t += took
        self.script.pop(0)
        return data


def test_a_stalled_source_gets_its_partial_block_cut_after_max_delay():
    clock = FakeClock()
    src = ScriptedSource([(b"line one\n", 0.001), (b"line two\n", 10.0), (b"", 0)], clock)
    t = OutgoingTransfer(src, CFG, clock=clock)
    assert t.produce(1) == 1  # the first line, cut when the second did not come within max_delay
    b = t.block(0)
    assert b.raw_len == len(b"line one\n")
    assert src.timeouts[0] == IDLE_WAIT  # nothing buffered: wait, but come back for acks and keepalives
    assert 0 < src.timeouts[1] <= CFG.max_delay
    assert clock.t <= 0.001 + CFG.max_delay + 1e-9
    idle = 0
    while not t.produce(1):  # the second line takes 10 s: the pump comes back every IDLE_WAIT meanwhile
        idle += 1
        assert idle < 100
    assert idle >= 10 and t.block(1).raw_len == len(b"line two\n")
    assert t.produce(1) == 0 and t.eof


def test_a_steady_trickle_is_cut_when_the_oldest_byte_waited_max_delay():
    clock = FakeClock()
    lines = [(b"%04d\n" % i, 0.01) for i in range(20)]  # a line every 10 ms never stalls for 50 ms
    src = ScriptedSource(lines + [(b"", 0)], clock)
    t = OutgoingTransfer(src, CFG, clock=clock)
    sizes = []
    while t.produce(1):
        sizes.append(t.block(len(sizes)).raw_len)
    assert sum(sizes) == 100 and len(sizes) >= 3
    assert max(sizes) <= 6 * 5  # at most max_delay / 10 ms + 1 lines per block


def test_an_idle_source_hands_control_back_without_a_block():
    clock = FakeClock()
    src = ScriptedSource([(None, 0), (b"late\n", 0.001), (b"", 0)], clock)
    t = OutgoingTransfer(src, CFG, clock=clock)
    assert t.produce(1) == 0 and not t.eof  # nothing came within IDLE_WAIT: back to the shell
    assert clock.t == IDLE_WAIT
    assert t.produce(1) == 1 and t.block(0).raw_len == 5


def test_regular_files_are_cut_by_size_alone(tmp_path):
    p = tmp_path / "f.bin"
    p.write_bytes(b"x" * 10)
    with open(p, "rb") as f:
        assert not can_stall(f)
    r, w = os.pipe()
    try:
        with os.fdopen(r, "rb", buffering=0) as rf:
            assert can_stall(rf)
    finally:
        os.close(w)


def test_a_line_written_into_a_pipe_reaches_the_receiver_before_the_writer_closes(tmp_path):
    r, w = os.pipe()
    cfg = CFG.replace(block_size=StreamingConfig.block_size, max_delay=0.02)  # the default: the file path's 8 MiB
    seen = threading.Event()

    def watch():  # the receiver's partial output holds the line while the writer still has the pipe open
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for part in glob.glob(str(tmp_path / ".*" / "*.part")):
                with open(part, "rb") as f:
                    if b"hello from a pipe\n" in f.read():
                        seen.set()
                        return
            time.sleep(0.01)

    async def main():
        srv = StreamServer(str(tmp_path), cfg, port=0)
        await srv.start()
        try:
            with os.fdopen(r, "rb") as src:
                os.write(w, b"hello from a pipe\n")
                watcher = threading.Thread(target=watch, daemon=True)
                watcher.start()
                sending = asyncio.create_task(send_stream(src, "127.0.0.1", srv.port, cfg, name="pipe"))
                await asyncio.get_running_loop().run_in_executor(None, watcher.join)
                arrived_while_open = seen.is_set()
                os.write(w, b"and a last one\n")
                os.close(w)
                res = await sending
        finally:
            await srv.close()
        return arrived_while_open, res

    arrived_while_open, res = asyncio.run(asyncio.wait_for(main(), 120))
    assert arrived_while_open
    assert (tmp_path / res.stored_name).read_bytes() == b"hello from a pipe\nand a last one\n"
    assert res.blocks == 2


def test_stalling_source_reads_what_has_arrived():
    r, w = os.pipe()
    src = StallingSource(os.fdopen(r, "rb"))
    assert src.read_timeout(100, 0.01) is None  # nothing yet
    os.write(w, b"abc")
    got = b""
    while len(got) < 3:
        got += src.read_timeout(100, 30) or b""
    assert got == b"abc"
    os.write(w, b"0123456789")
    os.close(w)
    assert src.read_timeout(4, 30) == b"0123"
    rest = b""
    while True:
        b = src.read_timeout(100, 30)
        if not b:
            break
        rest += b
    assert rest == b"456789" and src.read_timeout(10, 0) == b""


# ---------------------------------------------------------------- shared dictionaries on a stream

def _messages(n=400, seed=3):
    import random
    rnd = random.Random(seed)
    return [b'{"event":"login","user":"u%d","ok":%s,"ms":%d}\n' % (rnd.randrange(999), b"true" if rnd.random() < .9
            else b"false", rnd.randrange(2000)) for _ in range(n)]


def test_a_stream_with_a_shared_dictionary_is_smaller_and_round_trips(tmp_path):
    import cobol.dictionary as dictionary
    from cobol.stream.receiver import MemoryStore, ReceiverEndpoint
    from cobol.stream.sender import SenderEndpoint
    msgs = _messages()
    d = dictionary.train(msgs[:300], level=3)
    data = b"".join(msgs[300:])
    cfg = StreamingConfig(block_size=256, level=3, fsync=False)  # small messages: one or two per block

    def transfer(dic, dictionaries=()):
        import io
        store = MemoryStore("cobl")
        s = SenderEndpoint(OutgoingTransfer(io.BytesIO(data), cfg, name="m", dictionary=dic))
        r = ReceiverEndpoint(store, cfg, dictionaries=dictionaries)
        s.connection_made()
        while not s.done:
            out = s.data_to_send()
            if out and r.receive_data(out) is not None:
                r.open_transfer()
            back = r.data_to_send()
            if back:
                s.receive_data(back)
            if s.wants_pump:
                s.pump()
        return store.files["m"], s.stats

    plain, st_plain = transfer(None)
    with_dict, st_dict = transfer(d, [d])
    import cobol
    assert cobol.decompress(plain) == data
    assert cobol.decompress(with_dict, dictionary=d) == data  # the stored .cobl frame names the dictionary
    assert st_dict.compressed_bytes < 0.8 * st_plain.compressed_bytes


def test_a_receiver_without_the_dictionary_refuses_the_transfer():
    import io
    import pytest
    import cobol.dictionary as dictionary
    from cobol.stream import TransferRefused
    from cobol.stream.receiver import MemoryStore, ReceiverEndpoint
    from cobol.stream.sender import SenderEndpoint
    d = dictionary.train(_messages()[:300], level=3)
    cfg = StreamingConfig(block_size=256, level=3, fsync=False)
    s = SenderEndpoint(OutgoingTransfer(io.BytesIO(b"x" * 1000), cfg, name="m", dictionary=d))
    r = ReceiverEndpoint(MemoryStore(), cfg)
    s.connection_made()
    with pytest.raises(TransferRefused, match=f"{d.dict_id:#010x}"):
        for _ in range(4):
            r.receive_data(s.data_to_send())
            s.receive_data(r.data_to_send())
