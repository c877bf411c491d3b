"""The batch kernels the layers hand to an accelerator, behind an interface the layers own.

The layers call the five batch operations below instead of the L3/L4 kernels
where a batch can be large (today: ``intcodec``'s PACKED int layout). By
default they run the layers' own CPU kernels (:mod:`.l3_delta`,
:mod:`.l4_bitpack`), which are the reference. Whoever composes the layers (the
engine) may install a :class:`BatchKernelProvider` for the duration of a block
with :func:`using`; the provider decides per batch whether it runs elsewhere
(``cobol.accel.offload`` installs the chosen accelerator backend this way).
The CPU kernels' modules are imported on a function's first call (Numba, at
import time, is not needed to install a provider). So the layers never import the accelerator package: ``accel`` depends on
``layers``, not the reverse.

The provider travels in a context variable, not in the Encode/DecodeContext:
the int codec is called from deep inside many layers' helpers that never see
a context object, and a context variable follows each of the engine's worker
threads on its own. It is the only channel for the backend.

Every provider must return exactly what the CPU kernels return (the accel
tests hold each backend to that), so where a batch ran never shows in the
output.
"""

from __future__ import annotations

import contextvars
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np


class BatchKernels(Protocol):
    """The operations a provider runs a batch with; same arguments and results
    as the layer functions named in each docstring."""

    def choose_orders(self, values, chunk: int) -> np.ndarray:
        """l3_delta.choose_orders"""

    def delta_encode(self, values, orders, chunk: int, zigzag0: bool = True) -> np.ndarray:
        """l3_delta.delta_encode"""

    def delta_decode(self, codes, orders, chunk: int, zigzag0: bool = True) -> np.ndarray:
        """l3_delta.delta_decode"""

    def bitpack(self, codes, chunk: int, tags=None, allowed: tuple = (0, 1, 2, 3, 4)) -> bytes:
        """l4_bitpack.pack"""

    def bitunpack(self, buf, max_count: int, what: str = "bitpack") -> tuple:
        """l4_bitpack.unpack"""


class BatchKernelProvider(Protocol):
    def kernels_for(self, n: int) -> "BatchKernels | None":
        """The kernels to run a batch of ``n`` items (values, or bytes for
        unpacking) on, or None for the layers' own CPU kernels. Must be cheap
        for small ``n`` (it is asked on every call)."""


_provider: contextvars.ContextVar = contextvars.ContextVar("cobol_batch_kernels", default=None)


@contextmanager
def using(provider: "BatchKernelProvider | None"):
    """Install ``provider`` (None: the CPU kernels) for this thread (context) until the block ends."""
    token = _provider.set(provider)
    try:
        yield
    finally:
        _provider.reset(token)


def install(provider: "BatchKernelProvider | None"):
    """:func:`using` without the context manager (whose generator cost ~1 us of
    every block's decode, 0.15 us this way): install ``provider`` and return the
    token that :func:`restore` takes back, in a ``finally``."""
    return _provider.set(provider)


def restore(token) -> None:
    """Undo the :func:`install` that returned ``token``."""
    _provider.reset(token)


def installed() -> "BatchKernelProvider | None":
    return _provider.get()


def _kernels(n: int) -> "BatchKernels | None":
    p = _provider.get()
    return None if p is None else p.kernels_for(int(n))


def _size(values) -> int:
    """``np.size(values)``; NumPy imported here, not with the module, which the
    engine imports (a tiny block coded raw needs no NumPy)."""
    import numpy as np
    return np.size(values)


def runs_on_cpu(n: int) -> bool:
    """Whether a batch of ``n`` items runs on the layers' own CPU kernels (no
    provider, or the provider declines it): then a layer may fuse several of
    the operations below into one kernel of its own (same kernels, same result)."""
    return _kernels(n) is None


def choose_orders(values, chunk: int) -> np.ndarray:
    from . import l3_delta  # on first call: the CPU kernels' Numba module
    k = _kernels(_size(values))
    return k.choose_orders(values, chunk) if k else l3_delta.choose_orders(values, chunk)


def delta_encode(values, orders, chunk: int, zigzag0: bool = True) -> np.ndarray:
    from . import l3_delta  # on first call: the CPU kernels' Numba module
    k = _kernels(_size(values))
    return k.delta_encode(values, orders, chunk, zigzag0=zigzag0) if k \
        else l3_delta.delta_encode(values, orders, chunk, zigzag0=zigzag0)


def delta_decode(codes, orders, chunk: int, zigzag0: bool = True) -> np.ndarray:
    from . import l3_delta  # on first call: the CPU kernels' Numba module
    k = _kernels(_size(codes))
    return k.delta_decode(codes, orders, chunk, zigzag0=zigzag0) if k \
        else l3_delta.delta_decode(codes, orders, chunk, zigzag0=zigzag0)


def pack(codes, chunk: int, tags=None, allowed: tuple = (0, 1, 2, 3, 4)) -> bytes:
    from . import l4_bitpack  # on first call: the CPU kernels' Numba module
    k = _kernels(_size(codes))
    return k.bitpack(codes, chunk, tags=tags, allowed=allowed) if k \
        else l4_bitpack.pack(codes, chunk, tags=tags, allowed=allowed)


def delta_pack(values, chunk: int, zigzag0: bool = True) -> bytes:
    """``pack(delta_encode(values, orders, chunk, zigzag0), chunk, tags=orders)``
    with ``orders = choose_orders(values, chunk)``: on a provider's kernels as
    those three operations; on the CPU kernels fused into one pass
    (l4_bitpack.pack_deltas, same bytes)."""
    from . import l4_bitpack  # on first call: the CPU kernels' Numba module
    k = _kernels(_size(values))
    if k:
        orders = k.choose_orders(values, chunk)
        return k.bitpack(k.delta_encode(values, orders, chunk, zigzag0=zigzag0), chunk, tags=orders)
    return l4_bitpack.pack_deltas(values, chunk, zigzag0=zigzag0)


def unpack(buf, max_count: int, what: str = "bitpack") -> tuple:
    """l4_bitpack.unpack; the batch size is the buffer length (the count is not known yet)."""
    from . import l4_bitpack  # on first call: the CPU kernels' Numba module
    k = _kernels(len(buf))
    return k.bitunpack(buf, max_count, what=what) if k else l4_bitpack.unpack(buf, max_count, what=what)
