"""PPMd variant H with 7-Zip's 7z range coder (Ppmd7 + Ppmd7z_RangeDec/Enc),
bit-compatible with 7-Zip and pyppmd, in Numba: the decoder of entropy codec 3.

Modules: :mod:`.heap` (the model's byte heap and unit allocator), :mod:`.model`
(context model updates), :mod:`.decoder` and :mod:`.encoder` (symbol coding).
The hot model functions are inlined into the coders' kernels, and Numba's disk
cache keys a kernel on its own file only: after editing heap.py or model.py,
delete this package's ``__pycache__/*.nbi``/``*.nbc`` (or the kernels keep the
old code).

>>> import pyppmd
>>> enc = pyppmd.Ppmd7Encoder(6, 1 << 20)
>>> stream = enc.encode(b"abracadabra") + enc.flush(endmark=False)
>>> decode(stream, 6, 1 << 20, 11)
b'abracadabra'
"""

from __future__ import annotations

import numpy as np

from ..errors import FormatError
from . import decoder as _dec
from .heap import M_LEN, heap_bytes

MIN_ORDER, MAX_ORDER = 2, 64
#: model sizes this implementation accepts (7-Zip allows 2 KiB .. ~4 GiB; we
#: use 1 MiB << 0..8 and keep offsets well inside 32 bits)
MIN_MEM, MAX_MEM = 1 << 11, 1 << 30

_STATUS = {
    _dec.DATA_ERROR: "range decoder data error",
    _dec.END_MARK: "end mark (escape from the order-0 context) before the last symbol",
    _dec.BAD_START: "stream does not start with the range coder's zero byte",
    _dec.MODEL_ERROR: "inconsistent model",
}


def _check(order: int, mem: int) -> None:
    if not MIN_ORDER <= order <= MAX_ORDER:
        raise FormatError(f"ppmd model order {order} outside {MIN_ORDER}..{MAX_ORDER}")
    if not MIN_MEM <= mem <= MAX_MEM or mem % 4:
        raise FormatError(f"ppmd model memory {mem} is not a multiple of 4 in {MIN_MEM}..{MAX_MEM}")


def _heap(mem: int):
    h8 = np.zeros(heap_bytes(mem), np.uint8)
    return h8, h8.view(np.uint16), h8.view(np.uint32), np.zeros(M_LEN, np.int64)


def decode(stream, order: int, mem: int, decoded_len: int) -> bytes:
    """Decode exactly ``decoded_len`` bytes from ``stream`` (the range coder's
    bytes, no end mark) with an order-``order`` model of ``mem`` bytes.

    Raises FormatError on a data error, an early end mark, a stream that is
    too short (the decoder would read past its end) or one with bytes left
    over (a valid stream is read to its last byte)."""
    _check(order, mem)
    if decoded_len < 0:
        raise FormatError(f"ppmd decoded length {decoded_len} is negative")
    src = np.frombuffer(stream, np.uint8)
    out = np.empty(decoded_len, np.uint8)
    if decoded_len == 0:
        return b""
    h8, h16, h32, m = _heap(mem)
    status, done, read = _dec.decode_kernel(src, out, h8, h16, h32, m, mem, order)
    if status != _dec.OK:
        raise FormatError(f"ppmd stream does not decode: {_STATUS.get(status, status)} after {done} of "
                          f"{decoded_len} bytes")
    if read > len(src):
        raise FormatError(f"ppmd stream is truncated: {decoded_len} bytes need {read} stream bytes, "
                          f"it has {len(src)}")
    if read < len(src):
        raise FormatError(f"ppmd stream has {len(src) - read} bytes after its {decoded_len} symbols")
    return out.tobytes()


def encode(data, order: int, mem: int) -> bytes:
    """The range coder bytes of ``data`` with an order-``order`` model of
    ``mem`` bytes, flushed without an end mark: what pyppmd's
    ``Ppmd7Encoder(order, mem)`` writes for ``encode(data)`` +
    ``flush(endmark=False)``."""
    from . import encoder as _enc
    _check(order, mem)
    src = np.frombuffer(data, np.uint8)
    cap = len(src) + len(src) // 8 + 64
    h8, h16, h32, m = _heap(mem)
    while True:
        out = np.empty(cap, np.uint8)
        status, n = _enc.encode_kernel(src, out, h8, h16, h32, m, mem, order)
        if status == _enc.OK:
            return out[:n].tobytes()
        if status != _enc.OVERFLOW:  # pragma: no cover - an inconsistent model: a bug
            raise RuntimeError("ppmd encoder model error")
        cap = 2 * cap
