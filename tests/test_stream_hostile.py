"""A hostile sender against a real server process (issue 19): a BLOCK whose
stream table is a decompression bomb gets a LIMIT error with a message, and
the server's RSS stays near its baseline. Received names lose control and
bidirectional formatting characters."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
import textwrap
import time

import psutil
import pytest
import zstandard

from cobol.format import checksum as ck
from cobol.format.frame import DataBlock, Limits, StreamEntry, encode_data_block
from cobol.registry import transform_by_name
from cobol.stream import StreamingConfig
from cobol.stream import frames as F
from cobol.stream.block import CompressedBlock
from cobol.stream.checkpoint import safe_name
from cobol.stream.errors import TransferRefused
from cobol.stream.protocol import PeerError, error_code, error_message
from cobol.stream.sender import OutgoingTransfer
from cobol.stream.tcp import TransferFailed, send_stream

LOCAL = "127.0.0.1"
CFG = StreamingConfig(block_size=64 << 10, level=1, plan="zstd", checksum="sha256", idle_timeout=5.0, handshake_timeout=5.0,
                      ack_timeout=2.0, fsync=False)

# The server loads the json transform (the bomb's) before it serves: transforms are
# imported on first use (issue 15), and that one-time load (Numba, ~60 MiB) is not
# what the RSS check measures.
SERVER = """
import asyncio, sys
from cobol.registry import transform_by_name
from cobol.stream import StreamingConfig
from cobol.stream.tcp import StreamServer
transform_by_name("json")
cfg = StreamingConfig(block_size=64 << 10, level=1, plan="zstd", checksum="sha256", idle_timeout=5.0, handshake_timeout=5.0,
                      ack_timeout=2.0, fsync=False)
async def main():
    srv = StreamServer(sys.argv[1], cfg, host="127.0.0.1", port=0)
    await srv.start()
    print(srv.port, flush=True)
    await srv.serve_forever()
asyncio.run(main())
"""


def bomb_record(n_streams: int = 40, raw_len: int = 64 << 10, each: int | None = None) -> CompressedBlock:
    """The issue's BLOCK: ~40 zstd streams, each decoding to the per-stream maximum
    (or to ``each`` bytes: under the frame's cap, over the transform's)."""
    each = Limits().max_stream_decoded(raw_len) if each is None else each
    payload = zstandard.ZstdCompressor(level=19, write_content_size=False).compress(os.urandom(64) * (each // 64))
    raw = bytes(raw_len)
    digest = ck.compute(ck.SHA256, raw)
    b = DataBlock(seq=0, raw_len=raw_len, transform=transform_by_name("json").id, params=b"",
                  streams=[StreamEntry(1, len(payload), each)] * n_streams, checksum=digest,
                  payloads=[payload] * n_streams)
    return CompressedBlock(0, 0, raw_len, ck.SHA256, digest, encode_data_block(b))


@pytest.fixture
def server(tmp_path):
    p = subprocess.Popen([sys.executable, "-c", SERVER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        port = int(p.stdout.readline())
        yield port, psutil.Process(p.pid)
    finally:
        p.terminate()
        p.wait(10)


def _rss_mib(proc) -> float:
    return proc.memory_info().rss / 2**20


@pytest.mark.parametrize("each", [None, 70 << 10], ids=["frame-cap", "transform-bound"])
def test_bomb_block_gets_a_limit_error_and_rss_returns_to_baseline(server, monkeypatch, each):
    port, proc = server
    asyncio.run(send_stream(io.BytesIO(os.urandom(300_000)), LOCAL, port, CFG, name="warm"))
    time.sleep(0.5)
    baseline = _rss_mib(proc)
    bomb = bomb_record(each=each)
    assert len(bomb.record) < 100_000
    monkeypatch.setattr(OutgoingTransfer, "block", lambda self, seq: bomb)
    for i in range(3):
        with pytest.raises(TransferFailed) as info:
            asyncio.run(send_stream(io.BytesIO(bytes(64 << 10)), LOCAL, port, CFG, name=f"bomb{i}", retries=0))
        cause = info.value.__cause__
        assert isinstance(cause, PeerError) and cause.code == F.ErrorCode.LIMIT, repr(cause)
        assert "decoded bytes" in str(cause), str(cause)
    time.sleep(0.5)
    after = _rss_mib(proc)
    print(f"server RSS {baseline:.0f} MiB before, {after:.0f} MiB after 3 bomb connections")
    assert after - baseline < 50, (baseline, after)


def test_every_error_has_a_message():
    for exc in (MemoryError(), RuntimeError(), KeyError("x"), OSError(28, "No space left on device"), ValueError()):
        msg = error_message(exc)
        assert msg and (type(exc).__name__ in msg or "memory" in msg), (exc, msg)
    assert error_code(MemoryError()) == F.ErrorCode.LIMIT
    assert set(F.ERROR_DESCRIPTIONS) == set(F.ErrorCode)


@pytest.mark.parametrize("name, want", [
    ("evil\u202etxt.exe", "evil_txt.exe"),
    ("a\u200bb\ufeffc", "a_b_c"),
    ("tab\there", "tab_here"),
    ("c1\u0085x", "c1_x"),
    ("plain-é.json", "plain-é.json"),
])
def test_received_names_lose_control_and_format_characters(name, want):
    assert safe_name(name) == want


def test_a_name_of_only_format_characters_is_still_a_name_or_refused():
    try:
        got = safe_name("\u202e\u202d")
    except TransferRefused:
        return
    assert all(c == "_" for c in got)


def test_decode_budget_refuses_a_block_over_it_and_waits_for_room():
    import threading
    from cobol.errors import LimitError
    from cobol.stream.decompressor import DecodeBudget
    budget = DecodeBudget(100, wait=0.2)
    with pytest.raises(LimitError, match="over the receiver's decode memory budget"):
        with budget.reserve(101):
            pass
    with budget.reserve(60):
        with pytest.raises(LimitError, match="stayed full"):
            with budget.reserve(50):
                pass
        done = []

        def later():
            with budget.reserve(50):  # waits until the 60 above are returned
                done.append(budget.in_use)
        budget.wait = 5.0
        t = threading.Thread(target=later)
        t.start()
    t.join(5)
    assert done == [50] and budget.in_use == 0 and budget.peak <= 100
