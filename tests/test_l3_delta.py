"""L3 delta: per-chunk orders, zigzag, exact int64 wraparound, hostile orders."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from cobol.errors import FormatError
from cobol.layers import l3_delta as l3

I64 = np.iinfo(np.int64)
EXTREMES = np.array([I64.min, I64.max, 0, -1, 1, I64.min, I64.min + 1, I64.max, I64.max - 1, I64.min], np.int64)


def test_zigzag_maps_small_magnitudes_to_small_codes():
    x = np.array([0, -1, 1, -2, 2, I64.max, I64.min], np.int64)
    z = l3.zigzag_array(x)
    assert z.tolist() == [0, 1, 2, 3, 4, 2**64 - 2, 2**64 - 1]
    assert np.array_equal(l3.unzigzag_array(z), x)


@pytest.mark.parametrize("order", range(l3.MAX_ORDER + 1))
@pytest.mark.parametrize("zigzag0", [True, False])
def test_every_order_wraps_exactly(order, zigzag0):
    rng = np.random.default_rng(order)
    for x in (EXTREMES, rng.integers(I64.min, I64.max, 1000, dtype=np.int64), np.zeros(0, np.int64)):
        for chunk in (1, 3, 128):
            orders = np.full((x.size + chunk - 1) // chunk, order, np.uint8)
            codes = l3.delta_encode(x, orders, chunk, zigzag0)
            assert codes.dtype == np.uint64
            assert np.array_equal(l3.delta_decode(codes, orders, chunk, zigzag0), x)


def test_chosen_orders_follow_the_data():
    n = 4096
    rng = np.random.default_rng(0)
    steady = 1_700_000_000_000 + np.arange(n) * 1000  # constant step
    accel = np.cumsum(np.cumsum(rng.integers(-3, 4, n)))  # smooth curve
    noise = rng.integers(-1000, 1000, n)
    updown = np.cumsum(rng.integers(-50, 50, n))
    assert set(l3.choose_orders(steady, 512).tolist()) <= {l3.ORDER_1_UP, l3.ORDER_1}
    assert np.bincount(l3.choose_orders(accel, 512), minlength=4)[l3.ORDER_2] >= 6
    assert set(l3.choose_orders(noise, 512).tolist()) == {l3.ORDER_NONE}
    assert set(l3.choose_orders(updown, 512).tolist()) == {l3.ORDER_1}


def test_non_decreasing_chunks_skip_the_sign_bit():
    x = np.cumsum(np.full(512, 5)).astype(np.int64)
    orders = l3.choose_orders(x, 512)
    assert orders.tolist() == [l3.ORDER_1_UP]
    assert l3.delta_encode(x, orders, 512)[1:].tolist() == [5] * 511


def test_mixed_orders_round_trip():
    rng = np.random.default_rng(5)
    x = rng.integers(-(10**6), 10**6, 5000).astype(np.int64)
    x[1000:3000] = np.cumsum(rng.integers(0, 9, 2000))
    x[3000:] = np.arange(2000) ** 2
    orders = l3.choose_orders(x, 128)
    assert len(set(orders.tolist())) >= 3
    assert np.array_equal(l3.delta_decode(l3.delta_encode(x, orders, 128), orders, 128), x)


def test_hostile_orders():
    codes = np.zeros(300, np.uint64)
    with pytest.raises(FormatError, match="unknown order"):
        l3.delta_decode(codes, np.array([0, 4, 0], np.uint8), 128)
    with pytest.raises(FormatError, match="chunk orders"):
        l3.delta_decode(codes, np.array([0, 0], np.uint8), 128)
    with pytest.raises(FormatError):
        l3.delta_decode(codes, np.array([0, 0, 0], np.uint8), 0)


@settings(max_examples=60, deadline=None)
@given(x=hnp.arrays(np.int64, st.integers(0, 600)), chunk=st.sampled_from([1, 2, 7, 128, 1024]))
def test_hypothesis_round_trip(x, chunk):
    orders = l3.choose_orders(x, chunk)
    assert orders.size == (x.size + chunk - 1) // chunk
    assert np.array_equal(l3.delta_decode(l3.delta_encode(x, orders, chunk), orders, chunk), x)
