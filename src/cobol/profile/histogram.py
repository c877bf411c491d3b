"""Byte histograms and order-0 Shannon entropy of buffers.

The profiler reports the entropy of every stream before and after the entropy
coder. ``np.bincount`` widens uint8 to intp first and ran at ~0.1 GB/s on an
8 MiB buffer here (75 ms); the Numba kernel below counts into four interleaved
sub-histograms (no store-to-load stall on runs of one byte value) and runs at
~4 GB/s (2 ms), which keeps the profiler within its overhead budget.
Histograms are additive, so per-stream histograms are summed to get the
entropy of a whole layer's output.

>>> h = byte_histogram(b"aab")
>>> int(h[ord("a")]), int(h[ord("b")])
(2, 1)
>>> round(entropy_bits(h), 4)
0.9183
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..layers.primitives import byte_histogram as _byte_histogram_kernel


@njit(cache=True, nogil=True)
def _sampled_histogram_kernel(a, n_slices, slice_len):
    """Histogram of ``n_slices`` slices of ``slice_len`` bytes spread evenly
    over ``a`` (the first starts at 0, the last ends at the end)."""
    out = np.zeros(256, np.int64)
    span = a.size - slice_len
    for k in range(n_slices):
        i = (span * k) // (n_slices - 1) if n_slices > 1 else 0
        out += _byte_histogram_kernel(a[i:i + slice_len])
    return out


def _as_u8(buf) -> np.ndarray:
    if isinstance(buf, np.ndarray):
        return np.ascontiguousarray(buf).reshape(-1).view(np.uint8)
    return np.frombuffer(memoryview(buf).cast("B"), dtype=np.uint8)


def byte_histogram(buf) -> np.ndarray:
    """Counts of each byte value 0..255 in any bytes-like object (int64[256])."""
    a = _as_u8(buf)
    if a.size == 0:
        return np.zeros(256, np.int64)
    return _byte_histogram_kernel(a)


#: a sampled histogram reads this many slices of SAMPLE_SLICE bytes
SAMPLE_SLICES = 128
SAMPLE_SLICE = 512


def sampled_histogram(buf, max_bytes: int = SAMPLE_SLICES * SAMPLE_SLICE) -> tuple[np.ndarray, bool]:
    """Histogram of the whole buffer when it is at most ``max_bytes``, else of
    evenly spread slices totalling ``max_bytes`` (scaled to the buffer's length,
    so sums over buffers stay weighted by size). Returns (histogram, sampled?).

    Order-0 entropy is a property of the byte frequencies, which 128 slices of
    512 bytes estimate within 0.08 bit (mean 0.014) on the dev corpus; the cost is then
    bounded (~20 us) whatever the buffer size.
    """
    a = _as_u8(buf)
    n = a.size
    if n <= max_bytes:
        return (_byte_histogram_kernel(a) if n else np.zeros(256, np.int64)), False
    slices = max(2, max_bytes // SAMPLE_SLICE)
    h = _sampled_histogram_kernel(a, slices, SAMPLE_SLICE)
    return np.rint(h * (n / (slices * SAMPLE_SLICE))).astype(np.int64), True


def entropy_bits(hist) -> float | None:
    """Order-0 Shannon entropy in bits per byte (0..8) of a byte histogram; None when empty."""
    h = np.asarray(hist, dtype=np.float64)
    total = h.sum()
    if total <= 0:
        return None
    p = h[h > 0] / total
    return float(max(0.0, -(p * np.log2(p)).sum()))
