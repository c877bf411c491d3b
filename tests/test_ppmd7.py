"""cobol.entropy_ppmd (PPMd var.H with the 7z range coder, in Numba) against
pyppmd, which runs 7-Zip's Ppmd7 C code: its encoder's streams must decode
byte-exact with our decoder, and our encoder must write the same bytes.

Covered: orders 2..64, model memory 1..256 MiB, inputs from one byte to
multi-MB, inputs far over the model memory (the model fills and restarts:
RestartModel and the free-block gluer run), samples/ files, random and
run-length data, hypothesis round trips; hostile streams (truncated, flipped,
extended, random) must raise FormatError or give exactly decoded_len bytes.

pyppmd 1.3's encoder drops one output byte when its output buffer ends at a
32 KiB boundary (found with these tests); such a stream is invalid PPMd and
is recognised by :func:`_pyppmd_stream`, which then checks ours is that
stream with the byte in place.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pyppmd
import pytest
from hypothesis import given, settings, strategies as st

from cobol.entropy_ppmd import decode, encode
from cobol.errors import FormatError

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
MiB = 1 << 20


def _pyppmd(data: bytes, order: int, mem: int) -> bytes:
    enc = pyppmd.Ppmd7Encoder(order, mem)
    return enc.encode(data) + enc.flush(endmark=False)


def _pyppmd_stream(data: bytes, order: int, mem: int) -> bytes | None:
    """pyppmd's stream of ``data``, checked against our encoder: the same
    bytes, or (pyppmd's buffer bug) ours with one byte more at a multiple of
    32 KiB, in which case None (pyppmd's stream does not decode anywhere)."""
    theirs, ours = _pyppmd(data, order, mem), encode(data, order, mem)
    if theirs == ours:
        return theirs
    i = next(i for i in range(len(theirs)) if theirs[i] != ours[i]) if theirs != ours[:len(theirs)] else len(theirs)
    assert len(ours) == len(theirs) + 1 and i % 32768 == 0 and ours[:i] + ours[i + 1:] == theirs, \
        f"our encoder differs from pyppmd at byte {i} (order {order}, {mem >> 20} MiB, {len(data)} bytes)"
    return None


def _text() -> bytes:
    return (SAMPLES / "text" / "debian-policy.txt").read_bytes()


def _check(data: bytes, order: int, mem: int) -> None:
    stream = _pyppmd_stream(data, order, mem)
    if stream is not None:
        assert decode(stream, order, mem, len(data)) == data
    assert decode(encode(data, order, mem), order, mem, len(data)) == data


# ------------------------------------------------------------------ oracle


@pytest.mark.parametrize("order", [2, 6, 8, 16, 32, 64])
def test_small_and_synthetic_inputs_match_pyppmd(order):
    rng = random.Random(order)
    records = [{"id": i, "name": f"item-{i}", "tags": ["a", "b"][: i % 3], "v": i * 0.5} for i in range(300)]
    inputs = [b"a", b"\x00", b"\xff" * 2, b"abracadabra", rng.randbytes(5000), b"x" * 20000,
              bytes(range(256)) * 8, json.dumps(records).encode(), _text()[:30000]]
    for data in inputs:
        _check(data, order, MiB)


@pytest.mark.parametrize("folder", ["csv", "html", "json", "jsonl", "log", "numeric", "text", "xml"])
def test_sample_files_match_pyppmd(folder):
    path = sorted((SAMPLES / folder).iterdir())[0]
    data = path.read_bytes()[:400_000]
    _check(data, 16, 16 * MiB)


def _all_samples() -> bytes:
    return b"".join(p.read_bytes() for d in sorted(SAMPLES.iterdir()) if d.is_dir() for p in sorted(d.iterdir()))


def _model_stats(stream: bytes, order: int, mem: int, n: int) -> tuple[int, int]:
    """(restarts, free-block gluings) of the decoder's model over the stream."""
    import numpy as np
    from cobol.entropy_ppmd import _heap, decoder
    from cobol.entropy_ppmd.heap import GLUES, RESTARTS
    h8, h16, h32, m = _heap(mem)
    status, done, _ = decoder.decode_kernel(np.frombuffer(stream, np.uint8), np.empty(n, np.uint8), h8, h16, h32,
                                            m, mem, order)
    assert (status, done) == (decoder.OK, n)
    return int(m[RESTARTS]), int(m[GLUES])


@pytest.mark.parametrize("order,mem", [(16, 1 * MiB), (6, 1 * MiB), (64, 2 * MiB), (2, 64 << 10)])
def test_input_far_over_the_model_memory_restarts_the_model_like_7zip(order, mem):
    # ~32 bytes of model per input byte at high orders: 1 MiB fills after ~40 KB
    # of text; the allocator glues free blocks, then the model restarts
    data = _all_samples()
    _check(data, order, mem)
    restarts, glues = _model_stats(encode(data, order, mem), order, mem, len(data))
    assert restarts >= 1 and glues >= 1


@pytest.mark.parametrize("code", [0, 3, 8])
def test_memory_sizes_up_to_256_mib(code):
    data = _text()[:100_000] + bytes(50_000) + random.Random(code).randbytes(20_000)
    _check(data, 16, MiB << code)


def test_long_runs_of_one_byte():
    for order in (2, 16, 64):
        _check(b"\x00" * 300_000 + b"\x01" + b"\x00" * 1000, order, MiB)


@settings(max_examples=40, deadline=None)
@given(st.binary(min_size=1, max_size=4000), st.sampled_from([2, 3, 6, 16, 64]))
def test_round_trips_and_matches_pyppmd(data, order):
    stream = encode(data, order, MiB)
    assert stream == _pyppmd(data, order, MiB)
    assert decode(stream, order, MiB, len(data)) == data


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from([b"<a>", b"</a>", b"the ", b"\n", b"\x00", b"9", b"\xc3\xa9"]), min_size=1,
                max_size=2000))
def test_round_trips_structured_text(parts):
    data = b"".join(parts)
    assert decode(encode(data, 16, MiB), 16, MiB, len(data)) == data


def test_empty_output_and_parameters():
    assert decode(b"", 6, MiB, 0) == b""
    with pytest.raises(FormatError, match="order"):
        decode(b"\x00" * 8, 1, MiB, 1)
    with pytest.raises(FormatError, match="order"):
        decode(b"\x00" * 8, 65, MiB, 1)
    with pytest.raises(FormatError, match="memory"):
        decode(b"\x00" * 8, 6, MiB + 2, 1)
    with pytest.raises(FormatError, match="negative"):
        decode(b"\x00" * 8, 6, MiB, -1)


# ------------------------------------------------------------------ hostile


def test_truncated_extended_and_bad_start_streams_are_format_errors():
    data = _text()[:20000]
    stream = encode(data, 16, MiB)
    with pytest.raises(FormatError, match="truncated|does not decode"):
        decode(stream[:-1], 16, MiB, len(data))
    with pytest.raises(FormatError, match="truncated|does not decode"):
        decode(stream[: len(stream) // 2], 16, MiB, len(data))
    with pytest.raises(FormatError, match="after its"):
        decode(stream + b"\x00", 16, MiB, len(data))
    with pytest.raises(FormatError, match="zero byte"):
        decode(b"\x01" + stream[1:], 16, MiB, len(data))
    with pytest.raises(FormatError):
        decode(stream, 16, MiB, len(data) + 5000)  # more symbols than coded


def test_flipped_and_random_streams_fail_cleanly():
    data = _text()[:30000]
    stream = encode(data, 16, MiB)
    rng = random.Random(7)
    outcomes = {"error": 0, "decoded": 0}
    for i in range(120):
        if i % 3 == 0:
            b = bytearray(stream)
            for _ in range(rng.randrange(1, 4)):
                b[rng.randrange(1, len(b))] ^= 1 << rng.randrange(8)
            s, n = bytes(b), len(data)
        elif i % 3 == 1:
            s, n = stream[: rng.randrange(0, len(stream))], len(data)
        else:
            s, n = b"\x00" + rng.randbytes(rng.randrange(0, 3000)), rng.choice([1, 100, 30000, 200000])
        try:
            out = decode(s, rng.choice([2, 6, 16, 64]) if i % 3 == 2 else 16, MiB, n)
        except FormatError:
            outcomes["error"] += 1
            continue
        assert len(out) == n
        outcomes["decoded"] += 1
    assert outcomes["error"] > 60  # nearly every corrupt stream is caught by the stream itself
