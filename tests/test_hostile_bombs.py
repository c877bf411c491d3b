"""Decompression bombs made of stream tables (issue 19): a small block whose
streams each decode to the per-stream maximum must be refused on its stream
table, before any stream is decoded, within a small, measured peak."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tracemalloc

import pytest
import zstandard

import cobol
from cobol.engine import CobolEngine
from cobol.errors import FormatError, LimitError
from cobol.format import checksum as ck
from cobol.format.frame import (DataBlock, FrameHeader, Limits, StreamEntry, encode_data_block, encode_end_record,
                                encode_frame_header)
from cobol.registry import all_transforms, get_codec, get_transform, transform_by_name

RAW_LEN = 4096


def bomb_block(n_streams: int, transform: str = "json", raw_len: int = RAW_LEN, each: int | None = None) -> DataBlock:
    """A block of ``n_streams`` zstd streams, each really decoding to ``each``
    bytes (default: the per-stream maximum, 16 x raw_len + 64 KiB)."""
    each = Limits().max_stream_decoded(raw_len) if each is None else each
    payload = zstandard.ZstdCompressor(level=19, write_content_size=False).compress(b"\0" * each)
    return DataBlock(seq=0, raw_len=raw_len, transform=transform_by_name(transform).id, params=b"",
                     streams=[StreamEntry(1, len(payload), each)] * n_streams,
                     checksum=ck.compute(ck.SHA256, b"\0" * raw_len), payloads=[payload] * n_streams)


def bomb_frame(n_streams: int, **kw) -> bytes:
    b = bomb_block(n_streams, **kw)
    return encode_frame_header(FrameHeader()) + encode_data_block(b) + encode_end_record(1, b.raw_len)


@pytest.mark.parametrize("n_streams", [64, 400])
def test_stream_table_bomb_is_refused_before_any_stream_is_decoded(n_streams, monkeypatch):
    blob = bomb_frame(n_streams)
    decoded = []
    codec = get_codec(1)
    monkeypatch.setattr(type(codec), "decode", lambda self, *a: decoded.append(a) or b"")
    tracemalloc.start()
    try:
        with pytest.raises((LimitError, FormatError)) as info:
            cobol.decompress(blob)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert decoded == []
    assert "decoded bytes" in str(info.value)
    assert peak < 4 * len(blob) + (4 << 20), peak


@pytest.mark.parametrize("name", [t.name for t in all_transforms()])
def test_engine_checks_each_transforms_bound_on_the_table(name, monkeypatch):
    """The frame reader's cap (16 x raw_len) is transform-blind; decode_block
    then applies the transform's own: stream count and decoded total."""
    t = transform_by_name(name)
    params = bytes([0]) if name == "bundle" else b""
    decoded = []
    monkeypatch.setattr(type(get_codec(1)), "decode", lambda self, *a: decoded.append(a) or b"")
    engine = CobolEngine(threads=1)
    over = t.decoded_limit(params, RAW_LEN) + 1
    n = min(t.max_streams, 8)
    block = bomb_block(n, name, each=-(-over // n))
    block.params = params
    with pytest.raises(LimitError, match="decoded bytes"):
        engine.decode_block(block, FrameHeader())
    if t.max_streams < 4096:
        block = bomb_block(t.max_streams + 1, name, each=1)
        block.params = params
        with pytest.raises(FormatError, match="streams"):
            engine.decode_block(block, FrameHeader())
    assert decoded == []


def test_valid_blocks_stay_within_their_transforms_bound():
    """The planner drops a candidate over its bound, so whatever it writes decodes."""
    import glob
    from cobol.format.frame import iter_frame_records
    for path in sorted(glob.glob("samples/*/*"))[::2]:
        if path.endswith(".md"):
            continue
        data = open(path, "rb").read()[:300_000]
        blob = cobol.compress(data, level=3, threads=1)
        for _, rec in iter_frame_records(blob):
            if isinstance(rec, DataBlock):
                t = get_transform(rec.transform)
                assert len(rec.streams) <= t.max_streams
                assert sum(e.decoded_len for e in rec.streams) <= t.decoded_limit(bytes(rec.params), rec.raw_len)
        assert cobol.decompress(blob) == data


CHILD = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
import cobol
from cobol.errors import CobolError
blob = open(sys.argv[1], "rb").read()
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    cobol.decompress(blob)
except CobolError as e:
    print("COBOL-ERROR", type(e).__name__)
print("PEAK-KIB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base)
"""


def test_bomb_under_an_address_space_limit(tmp_path):
    """The issue's reproduction: 400 streams under a 3 GiB address-space cap
    once ended in a bare MemoryError at ~6.5 GB asked for; now a CobolError
    with a peak RSS growth well under 200 MB."""
    path = tmp_path / "bomb.cobl"
    path.write_bytes(bomb_frame(400))
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(CHILD), str(path)], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "COBOL-ERROR" in r.stdout, r.stdout + r.stderr[-2000:]
    peak_kib = int(r.stdout.split("PEAK-KIB")[1])
    assert peak_kib < 200 << 10, peak_kib


def test_a_seeded_slice_of_the_frame_fuzzer():
    """A few cases of bench/fuzz_frames.py in this process (the campaign itself
    is a benchmark): no exception, no corruption, peak within the documented bound."""
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "bench" / "fuzz_frames.py"
    spec = importlib.util.spec_from_file_location("fuzz_frames", path)
    fz = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fz)
    inputs = fz.build_inputs()
    outcomes = [r for i in range(40) for r in fz.run_case(inputs, 20261205, i)]
    bad = [r for r in outcomes if r[1] != "ok"]
    assert not bad, bad[:3]
    measured = [r for r in outcomes if r[0] == "decompress"]
    assert measured and all(0 < r[3] <= r[4] for r in measured)
