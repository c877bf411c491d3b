"""What the layers call: the same functions as the layers' own kernels, run on
the accelerator backend when the batch is large enough to pay for the trip.

Each function takes the layer's arguments plus ``backend`` (None, a name or
a :class:`~cobol.accel.base.Backend`). None means the backend of the block
being coded -- the engine sets it around each block with :func:`using`, from
``CobolEngine(backend=...)`` -- and, outside the engine or when that is None
too, the automatic choice (:func:`cobol.accel.get_backend`). Batches under
the backend's ``min_batch`` (64 Ki elements or bytes for the device
backends) and every call on the CPU backend go to the layer's own kernel,
without probing any device. All backends give identical results, so where a
batch ran never shows in the output.

The hook in a layer is a change of module, e.g. in ``intcodec``::

    codes = offload.delta_encode(yi, orders, CHUNK, zigzag0=False)   # was l3_delta.delta_encode
    out += offload.pack(codes, CHUNK, tags=orders)                   # was l4_bitpack.pack
"""

from __future__ import annotations

import contextvars
from contextlib import contextmanager

import numpy as np

from .device import DeviceBackend
from .factory import get_backend

_current = contextvars.ContextVar("cobol_accel_backend", default=None)


@contextmanager
def using(backend):
    """Make ``backend`` (None, a name or a Backend) the default of the offload
    functions in this thread (context) for the duration of the block."""
    token = _current.set(backend)
    try:
        yield
    finally:
        _current.reset(token)


def pick(backend, n: int):
    """The device backend to run a batch of n items on, or None for the CPU kernels."""
    if n < DeviceBackend.min_batch:
        return None  # never probe devices for small batches
    if backend is None:
        backend = _current.get()
    b = get_backend(backend)
    if b.name == "cpu" or n < b.min_batch:
        return None
    return b


def choose_orders(values, chunk: int, backend=None) -> np.ndarray:
    from ..layers import l3_delta
    b = pick(backend, np.size(values))
    return b.choose_orders(values, chunk) if b else l3_delta.choose_orders(values, chunk)


def delta_encode(values, orders, chunk: int, zigzag0: bool = True, backend=None) -> np.ndarray:
    from ..layers import l3_delta
    b = pick(backend, np.size(values))
    if b:
        return b.delta_encode(values, orders, chunk, zigzag0=zigzag0)
    return l3_delta.delta_encode(values, orders, chunk, zigzag0=zigzag0)


def delta_decode(codes, orders, chunk: int, zigzag0: bool = True, backend=None) -> np.ndarray:
    from ..layers import l3_delta
    b = pick(backend, np.size(codes))
    if b:
        return b.delta_decode(codes, orders, chunk, zigzag0=zigzag0)
    return l3_delta.delta_decode(codes, orders, chunk, zigzag0=zigzag0)


def pack(codes, chunk: int, tags=None, allowed: tuple = (0, 1, 2, 3, 4), backend=None) -> bytes:
    from ..layers import l4_bitpack
    b = pick(backend, np.size(codes))
    if b:
        return b.bitpack(codes, chunk, tags=tags, allowed=allowed)
    return l4_bitpack.pack(codes, chunk, tags=tags, allowed=allowed)


def unpack(buf, max_count: int, what: str = "bitpack", backend=None) -> tuple:
    """l4_bitpack.unpack; the size test uses the buffer length (the count is not known yet)."""
    from ..layers import l4_bitpack
    b = pick(backend, len(buf))
    return b.bitunpack(buf, max_count, what=what) if b else l4_bitpack.unpack(buf, max_count, what=what)


def byte_histogram(data, offsets=None, backend=None) -> np.ndarray:
    b = pick(backend, len(memoryview(data).cast("B")) if not isinstance(data, np.ndarray) else data.nbytes)
    return (b or get_backend("cpu")).byte_histogram(data, offsets)


def entropy(data, backend=None) -> float:
    from .base import shannon_entropy
    return shannon_entropy(byte_histogram(data, backend=backend))
