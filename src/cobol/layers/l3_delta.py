"""L3 delta coding of integer streams: per-chunk delta order, zigzag, exact wraparound.

Each chunk of ``chunk`` values picks one *order*:

- 0 (``ORDER_NONE``): the residual is the value itself;
- 1 (``ORDER_1``): the residual is ``x[i] - x[i-1]`` (counters, sorted ids);
- 2 (``ORDER_2``): the residual is ``x[i] - 2*x[i-1] + x[i-2]`` (timestamps at a
  steady rate become zeros);
- 3 (``ORDER_1_UP``): order 1 in a chunk whose differences are all >= 0
  (counters, sorted timestamps): the difference is stored as it is, not
  zigzagged, which saves the sign bit zigzag would spend on every value.

Predictions always use the *previous values of the whole array* (values before
index 0 count as 0, so the first one or two residuals are large whatever the
order), so chunks can switch order freely and decoding is one sequential pass.
Residuals are zigzagged (0, -1, 1, -2, ... -> 0, 1, 2, 3, ...)
so small magnitudes of either sign become small unsigned numbers.

All arithmetic is done on uint64, where wraparound is defined: any int64 array
round-trips exactly, including ``INT64_MIN``/``INT64_MAX`` neighbours whose
differences overflow.

The order of a chunk is chosen by the width a frame-of-reference packer would
pay: the bit length of the residuals' range (max - min) in the chunk. (A sum of
per-residual bit lengths looks cheaper but prefers order 2 on i.i.d. steps,
whose second differences have twice the spread.) Ties go to the lower order.

>>> import numpy as np
>>> x = np.array([100, 110, 120, 130, 140], dtype=np.int64)
>>> orders = choose_orders(x, 128)
>>> zz = delta_encode(x, orders, 128)
>>> int(orders[0]), zz.tolist()
(3, [100, 10, 10, 10, 10])

(Order 1 wins the tie with order 2, and the steps are never negative: order 3.)
>>> bool((delta_decode(zz, orders, 128) == x).all())
True
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..errors import FormatError
from .primitives import bit_length, unzigzag, zigzag  # noqa: F401  (zigzag/unzigzag: this layer's API too)

ORDER_NONE = 0
ORDER_1 = 1
ORDER_2 = 2
ORDER_1_UP = 3
MAX_ORDER = 3


@njit(cache=True, nogil=True)
def zigzag_array(values):
    """int64 array -> uint64 zigzag codes (order 0, no prediction)."""
    u = values.view(np.uint64)
    out = np.empty(u.size, np.uint64)
    for i in range(u.size):
        out[i] = zigzag(u[i])
    return out


@njit(cache=True, nogil=True)
def unzigzag_array(codes):
    out = np.empty(codes.size, np.uint64)
    for i in range(codes.size):
        out[i] = unzigzag(codes[i])
    return out.view(np.int64)


@njit(cache=True, nogil=True, inline="always")
def chunk_order(u, start, stop):
    """The delta order of the chunk u[start:stop] (see the module docstring)."""
    two = np.uint64(2)
    # the first two values of the array predict from zeros in every order:
    # outliers whatever the order, so they do not vote
    first = max(start, 2)
    if first >= stop:
        return np.uint8(0)
    p1 = u[first - 1]
    p2 = u[first - 2]
    lo0 = hi0 = np.int64(u[first])
    lo1 = hi1 = np.int64(u[first] - p1)
    lo2 = hi2 = np.int64(u[first] - two * p1 + p2)
    for i in range(first, stop):
        x = u[i]
        r0 = np.int64(x)
        r1 = np.int64(x - p1)
        r2 = np.int64(x - two * p1 + p2)
        lo0 = min(lo0, r0)
        hi0 = max(hi0, r0)
        lo1 = min(lo1, r1)
        hi1 = max(hi1, r1)
        lo2 = min(lo2, r2)
        hi2 = max(hi2, r2)
        p2 = p1
        p1 = x
    # cost = bits of the residual range (what frame-of-reference packing pays)
    cost0 = bit_length(np.uint64(hi0) - np.uint64(lo0))
    cost1 = bit_length(np.uint64(hi1) - np.uint64(lo1))
    cost2 = bit_length(np.uint64(hi2) - np.uint64(lo2))
    best = 0
    if cost1 < cost0:
        best = 1
        cost0 = cost1
    if cost2 < cost0:
        best = 2
    if best == 1 and lo1 >= 0:
        best = 3  # non-decreasing: no sign to code (any value still round-trips)
    return np.uint8(best)


@njit(cache=True, nogil=True)
def _choose_orders(u, chunk):
    n = u.size
    nchunks = (n + chunk - 1) // chunk
    orders = np.zeros(nchunks, np.uint8)
    for c in range(nchunks):
        orders[c] = chunk_order(u, c * chunk, min(c * chunk + chunk, n))
    return orders


def choose_orders(values: np.ndarray, chunk: int) -> np.ndarray:
    """Per-chunk delta order (uint8 array, one per chunk) for an int64 array."""
    if chunk < 1:
        raise ValueError("chunk must be >= 1")
    return _choose_orders(np.ascontiguousarray(values, np.int64).view(np.uint64), chunk)


@njit(cache=True, nogil=True, inline="always")
def delta_chunk(u, start, stop, order, zigzag0, out, at):
    """The residual codes of u[start:stop] under ``order`` into out[at:at + stop - start]."""
    two = np.uint64(2)
    o = at - start
    if order == 0:
        if zigzag0:
            for i in range(start, stop):
                out[o + i] = zigzag(u[i])
        else:
            # a loop, not out[...] = u[start:stop]: Numba's first
            # array-to-slice assignment in a process costs ~2 s to compile
            for i in range(start, stop):
                out[o + i] = u[i]
    elif order == 1:
        p1 = u[start - 1] if start >= 1 else np.uint64(0)
        for i in range(start, stop):
            out[o + i] = zigzag(u[i] - p1)
            p1 = u[i]
    elif order == 3:
        p1 = u[start - 1] if start >= 1 else np.uint64(0)
        for i in range(start, stop):
            out[o + i] = u[i] - p1
            p1 = u[i]
    else:
        p1 = u[start - 1] if start >= 1 else np.uint64(0)
        p2 = u[start - 2] if start >= 2 else np.uint64(0)
        for i in range(start, stop):
            x = u[i]
            out[o + i] = zigzag(x - two * p1 + p2)
            p2 = p1
            p1 = x


@njit(cache=True, nogil=True)
def _delta_encode(u, orders, chunk, zigzag0):
    n = u.size
    out = np.empty(n, np.uint64)
    for c in range(orders.size):
        start = c * chunk
        delta_chunk(u, start, min(start + chunk, n), orders[c], zigzag0, out, start)
    return out


def delta_encode(values: np.ndarray, orders: np.ndarray, chunk: int, zigzag0: bool = True) -> np.ndarray:
    """int64 values -> uint64 zigzagged residuals under the per-chunk ``orders``.

    ``zigzag0=False`` keeps order-0 values as they are (for callers whose values
    are already non-negative, e.g. after a frame of reference).
    """
    u = np.ascontiguousarray(values, np.int64).view(np.uint64)
    orders = np.ascontiguousarray(orders, np.uint8)
    if orders.size != (u.size + chunk - 1) // chunk:
        raise ValueError("one order per chunk expected")
    return _delta_encode(u, orders, chunk, zigzag0)


@njit(cache=True, nogil=True)
def _delta_decode(z, orders, chunk, zigzag0):
    """Returns (values, bad_order_index or -1)."""
    n = z.size
    out = np.empty(n, np.uint64)
    two = np.uint64(2)
    p1 = np.uint64(0)
    p2 = np.uint64(0)
    for c in range(orders.size):
        start = c * chunk
        stop = min(start + chunk, n)
        order = orders[c]
        if order == 0:
            if zigzag0:
                for i in range(start, stop):
                    out[i] = unzigzag(z[i])
            else:
                for i in range(start, stop):  # not a slice assignment: see _delta_encode
                    out[i] = z[i]
        elif order == 1:
            for i in range(start, stop):
                p1 = p1 + unzigzag(z[i])
                out[i] = p1
        elif order == 3:
            for i in range(start, stop):
                p1 = p1 + z[i]
                out[i] = p1
        elif order == 2:
            for i in range(start, stop):
                x = unzigzag(z[i]) + two * p1 - p2
                out[i] = x
                p2 = p1
                p1 = x
        else:
            return out, c
        # the next chunk predicts from the last two values of the whole array
        if stop >= 1:
            p1 = out[stop - 1]
        if stop >= 2:
            p2 = out[stop - 2]
    return out, -1


def delta_decode(codes: np.ndarray, orders: np.ndarray, chunk: int, zigzag0: bool = True) -> np.ndarray:
    """Inverse of :func:`delta_encode`; hostile ``orders`` raise FormatError."""
    z = np.ascontiguousarray(codes, np.uint64)
    orders = np.ascontiguousarray(orders, np.uint8)
    if chunk < 1 or orders.size != (z.size + chunk - 1) // chunk:
        raise FormatError(f"delta: {orders.size} chunk orders for {z.size} values in chunks of {chunk}")
    out, bad = _delta_decode(z, orders, chunk, zigzag0)
    if bad >= 0:
        raise FormatError(f"delta: chunk {bad} has unknown order {int(orders[bad])}")
    return out.view(np.int64)
