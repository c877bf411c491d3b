"""L4 variable bit-packing: every strategy x width x chunk edge, bit order, selector, hostile input."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from cobol.errors import CobolError, FormatError, LimitError
from cobol.format.wire import Reader
from cobol.layers import l4_bitpack as l4

CHUNK = 128
STRATEGIES = (l4.CONST, l4.FOR, l4.ZERO_RUN, l4.DELTA, l4.PATCHED)
EDGE_COUNTS = (0, 1, CHUNK - 1, CHUNK, CHUNK + 1)


def values_of_width(w: int, count: int, seed: int) -> np.ndarray:
    """count values below 2**w whose maximum needs exactly w bits (w >= 1), with
    zeros and repeats mixed in so every strategy has something to do."""
    rng = np.random.default_rng(seed)
    if w == 0 or count == 0:
        return np.zeros(count, np.uint64)
    hi = (1 << w) - 1
    v = rng.integers(0, 1 << 62, count, dtype=np.uint64) * np.uint64(4) + rng.integers(0, 4, count, dtype=np.uint64)
    v &= np.uint64(hi)
    v[rng.random(count) < 0.3] = 0
    v[rng.integers(count)] = hi  # the top bit is set somewhere
    return v


def chunk_strategies(buf: bytes) -> list:
    """The strategy byte of each chunk header (to check the forced strategy was used)."""
    r = Reader(buf)
    n = r.varint()
    chunk = r.varint()
    hlen = r.varint()
    headers = r.take(hlen)
    out, p = [], 0
    for _ in range((n + chunk - 1) // chunk):
        s, w = headers[p] & 7, headers[p + 1]
        p += 2
        if s in (l4.FOR, l4.DELTA):
            while headers[p] & 0x80:
                p += 1
            p += 1
        elif s == l4.ZERO_RUN:
            while headers[p] & 0x80:
                p += 1
            p += 2
        elif s == l4.PATCHED:
            p += 1
            while headers[p] & 0x80:
                p += 1
            p += 1
        out.append(s)
    assert p == len(headers)
    return out


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_every_width_every_chunk_edge(strategy):
    for w in range(65):
        for count in EDGE_COUNTS:
            x = values_of_width(w, count, seed=w * 1000 + count)
            buf = l4.pack(x, CHUNK, allowed=(strategy,))
            back, tags = l4.unpack(buf, count)
            assert back.dtype == np.uint64
            assert np.array_equal(back, x), (strategy, w, count)
            assert chunk_strategies(buf) == [strategy] * ((count + CHUNK - 1) // CHUNK)


def test_lsb_first_bit_order():
    # CONST, width 1: values 1,0,1,1 -> bits 1,0,1,1 from the least significant bit
    buf = l4.pack(np.array([1, 0, 1, 1], np.uint64), chunk=4, allowed=(l4.CONST,))
    # count 4 | chunk 4 | header length 2 | header (CONST, w=1) | one byte of bits
    assert buf == bytes([4, 4, 2, l4.CONST, 1, 0b1101])
    # width 12 straddles bytes: 0xABC, 0x123 -> 0xBC, 0x3A, 0x12
    buf = l4.pack(np.array([0xABC, 0x123], np.uint64), chunk=2, allowed=(l4.CONST,))
    assert buf[-3:] == bytes([0xBC, 0x3A, 0x12])


def test_width_64_and_wraparound_deltas():
    top = np.uint64(2**64 - 1)
    x = np.array([top, 0, top, 1, 2**63, 2**63 - 1], np.uint64)
    for s in STRATEGIES:
        back, _ = l4.unpack(l4.pack(x, 4, allowed=(s,)), x.size)
        assert np.array_equal(back, x)


def test_analysis_facts_and_exact_costs():
    x = np.array([5, 9, 5, 7, 100, 6, 5, 8], np.uint64)
    an = l4.analyze(x, chunk=8)
    assert int(an.min[0]) == 5 and int(an.max[0]) == 100 and int(an.range[0]) == 95
    assert int(an.bits[0]) == 7
    # each strategy's cost is exactly what pack() spends on headers + bits
    for s in STRATEGIES:
        buf = l4.pack(x, 8, allowed=(s,), analysis=an)
        prefix = 3  # count, chunk, header length: one byte each here
        assert len(buf) - prefix == (int(an.cost_bits[0, s]) + 7) // 8, l4.STRATEGY_NAMES[s]
    assert an.total_bytes() == len(l4.pack(x, 8)) - 3


def test_selector_picks_the_smallest():
    rng = np.random.default_rng(1)
    cases = {
        l4.CONST: rng.integers(0, 256, 512),
        l4.FOR: rng.integers(10**12, 10**12 + 200, 512),
        l4.ZERO_RUN: np.where(rng.random(512) < 0.02, rng.integers(1, 1000, 512), 0),
        l4.DELTA: np.arange(512) * 7 + 10**9,
        l4.PATCHED: np.where(rng.random(512) < 0.01, 1 << 40, rng.integers(0, 8, 512)),
    }
    for expected, x in cases.items():
        x = x.astype(np.uint64)
        an = l4.analyze(x, 512)
        assert int(an.choice[0]) == expected, (l4.STRATEGY_NAMES[expected], an.cost_bits[0])
        best = len(l4.pack(x, 512))
        assert all(best <= len(l4.pack(x, 512, allowed=(s,))) for s in STRATEGIES)
    assert l4.analyze(cases[l4.DELTA].astype(np.uint64), 512).summary()["delta"] == 1


def test_tags_round_trip_and_are_checked():
    x = np.arange(300, dtype=np.uint64)
    tags = np.array([3, 0, 2], np.uint8)
    back, got = l4.unpack(l4.pack(x, 128, tags=tags), 300)
    assert np.array_equal(back, x) and np.array_equal(got, tags)
    with pytest.raises(ValueError):
        l4.pack(x, 128, tags=np.array([4, 0, 0], np.uint8))


def test_count_limit():
    buf = l4.pack(np.zeros(1000, np.uint64), 128)
    with pytest.raises(LimitError):
        l4.unpack(buf, 999)


def _corpus_of_buffers():
    rng = np.random.default_rng(3)
    out = []
    for s in STRATEGIES:
        x = values_of_width(int(rng.integers(1, 40)), 300, seed=int(s))
        out.append((l4.pack(x, 128, allowed=(s,)), 300))
    out.append((l4.pack(np.arange(1000, dtype=np.uint64) ** 2, 256), 1000))
    return out


def test_every_truncation_is_a_format_error():
    for buf, n in _corpus_of_buffers():
        for cut in range(len(buf)):
            with pytest.raises(CobolError):
                l4.unpack(buf[:cut], n)


def test_corrupted_headers_raise_cobol_errors_only():
    rng = np.random.default_rng(11)
    for buf, n in _corpus_of_buffers():
        r = Reader(buf)
        r.varint(), r.varint()
        hlen = r.varint()
        hstart = r.pos
        for i in range(hstart, hstart + hlen):
            for value in (0, 0xFF, 0x41, 65, int(rng.integers(256))):
                bad = bytearray(buf)
                bad[i] = value
                try:
                    back, _ = l4.unpack(bytes(bad), n)
                except CobolError:
                    continue
                assert back.size == n  # a corruption that still parses yields the right count


def test_specific_header_errors():
    x = np.arange(10, dtype=np.uint64)
    buf = bytearray(l4.pack(x, 16, allowed=(l4.CONST,)))
    hstart = 3
    bad = bytearray(buf)
    bad[hstart] = 7  # unknown strategy
    with pytest.raises(FormatError, match="unknown strategy"):
        l4.unpack(bytes(bad), 10)
    bad = bytearray(buf)
    bad[hstart + 1] = 65  # width above 64
    with pytest.raises(FormatError, match="width"):
        l4.unpack(bytes(bad), 10)
    bad = bytearray(buf)
    bad[hstart] |= 0x80  # reserved bits
    with pytest.raises(FormatError, match="reserved"):
        l4.unpack(bytes(bad), 10)
    with pytest.raises(FormatError, match="unused bytes"):
        l4.unpack(bytes(buf) + b"\x00", 10)


@settings(max_examples=60, deadline=None)
@given(
    x=hnp.arrays(np.uint64, st.integers(0, 700)),
    chunk=st.sampled_from([1, 2, 3, 64, 128, 512, 1024]),
)
def test_hypothesis_round_trip(x, chunk):
    back, _ = l4.unpack(l4.pack(x, chunk), x.size)
    assert np.array_equal(back, x)


@settings(max_examples=60, deadline=None)
@given(buf=st.binary(max_size=200), n=st.integers(0, 5000))
def test_hypothesis_garbage_never_crashes(buf, n):
    try:
        back, _ = l4.unpack(buf, n)
    except CobolError:
        return
    assert back.size <= n


def _unfused(values, chunk, zigzag0):
    from cobol.layers import l3_delta
    orders = l3_delta.choose_orders(values, chunk)
    return l4.pack(l3_delta.delta_encode(values, orders, chunk, zigzag0=zigzag0), chunk, tags=orders)


@pytest.mark.parametrize("zigzag0", [False, True])
def test_fused_delta_pack_is_byte_identical_to_the_three_steps(zigzag0):
    # pack_deltas runs order choice, delta, analysis and packing chunk by chunk
    # in one kernel; its bytes must be those of the separate operations
    rng = np.random.default_rng(4)
    arrays = [
        np.zeros(0, np.int64), np.array([7], np.int64), np.array([-3, 9], np.int64),
        np.cumsum(rng.integers(0, 50, 3000)), np.cumsum(rng.integers(-50, 50, 3000)),
        np.arange(2000) * 1_000_003, rng.integers(-2**63, 2**63 - 1, 1500, dtype=np.int64),
        np.where(rng.random(4000) < 0.9, 0, rng.integers(1, 1 << 40, 4000)),
        np.array([np.iinfo(np.int64).min, np.iinfo(np.int64).max] * 300, np.int64),
        rng.geometric(0.001, 5000).astype(np.int64),
    ]
    for x in arrays:
        for chunk in (1, 3, 128, 512, 1000):
            assert l4.pack_deltas(x, chunk, zigzag0=zigzag0) == _unfused(x, chunk, zigzag0), (x[:5], chunk)


@settings(max_examples=150, deadline=None)
@given(hnp.arrays(np.int64, st.integers(0, 700)), st.integers(1, 300), st.booleans())
def test_hypothesis_fused_delta_pack(x, chunk, zigzag0):
    assert l4.pack_deltas(x, chunk, zigzag0=zigzag0) == _unfused(x, chunk, zigzag0)
