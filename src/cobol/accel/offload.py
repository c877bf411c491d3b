"""The accelerator behind the layers' batch-kernel interface.

The layers own the interface (:mod:`cobol.layers.batch_kernels`: choose
orders, delta encode/decode, bit pack/unpack) and run their CPU kernels unless
a provider is installed. :func:`using` installs a :class:`BackendProvider` for
a backend (None, a name or a :class:`~cobol.accel.base.Backend`); the engine
does so around each block, from ``CobolEngine(backend=...)``. None means the
automatic choice (:func:`cobol.accel.get_backend`), made lazily on the first
large batch. Batches under the backend's ``min_batch`` (64 Ki elements or
bytes for the device backends) and every call on the CPU backend go to the
layers' own kernels, without probing any device. All backends give identical
results, so where a batch ran never shows in the output.

The module functions (``choose_orders`` ... ``unpack``) are the layer
operations with an optional ``backend`` argument, for callers outside the
engine; without one they run where the installed provider says (the CPU
kernels when none is installed).
"""

from __future__ import annotations

from contextlib import contextmanager, nullcontext

import numpy as np

from ..layers import batch_kernels
from .device import DeviceBackend
from .factory import get_backend


class BackendProvider:
    """A :class:`~cobol.layers.batch_kernels.BatchKernelProvider` for one backend spec."""

    def __init__(self, backend=None):
        self.backend = backend

    def kernels_for(self, n: int):
        return pick(self.backend, n)

    def __repr__(self) -> str:
        return f"BackendProvider({self.backend!r})"


@contextmanager
def using(backend):
    """Run the layers' batch kernels on ``backend`` (None: the automatic
    choice) in this thread (context) for the duration of the block."""
    with batch_kernels.using(BackendProvider(backend)):
        yield


def pick(backend, n: int):
    """The device backend to run a batch of n items on, or None for the CPU kernels."""
    if n < DeviceBackend.min_batch:
        return None  # never probe devices for small batches
    b = get_backend(backend)
    if b.name == "cpu" or n < b.min_batch:
        return None
    return b


def _scope(backend):
    return nullcontext() if backend is None else using(backend)


def choose_orders(values, chunk: int, backend=None) -> np.ndarray:
    with _scope(backend):
        return batch_kernels.choose_orders(values, chunk)


def delta_encode(values, orders, chunk: int, zigzag0: bool = True, backend=None) -> np.ndarray:
    with _scope(backend):
        return batch_kernels.delta_encode(values, orders, chunk, zigzag0=zigzag0)


def delta_decode(codes, orders, chunk: int, zigzag0: bool = True, backend=None) -> np.ndarray:
    with _scope(backend):
        return batch_kernels.delta_decode(codes, orders, chunk, zigzag0=zigzag0)


def pack(codes, chunk: int, tags=None, allowed: tuple = (0, 1, 2, 3, 4), backend=None) -> bytes:
    with _scope(backend):
        return batch_kernels.pack(codes, chunk, tags=tags, allowed=allowed)


def unpack(buf, max_count: int, what: str = "bitpack", backend=None) -> tuple:
    with _scope(backend):
        return batch_kernels.unpack(buf, max_count, what=what)


def byte_histogram(data, offsets=None, backend=None) -> np.ndarray:
    b = pick(backend, len(memoryview(data).cast("B")) if not isinstance(data, np.ndarray) else data.nbytes)
    return (b or get_backend("cpu")).byte_histogram(data, offsets)


def entropy(data, backend=None) -> float:
    from .base import shannon_entropy
    return shannon_entropy(byte_histogram(data, backend=backend))
