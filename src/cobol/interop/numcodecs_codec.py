"""A numcodecs codec, so Zarr arrays (and anything numcodecs) can use cobol.

Numeric chunks go through the numeric path (the dtype is passed as a hint, so
L3 delta and L4 bit-packing see whole values), then zstd. Other dtypes are
compressed as bytes.

>>> import numpy as np
>>> from cobol.interop.numcodecs_codec import Cobol
>>> codec = Cobol(level=3)
>>> a = np.arange(1000, dtype="int32")
>>> bool((codec.decode(codec.encode(a)).view("int32") == a).all())
True
"""

from __future__ import annotations

import numpy as np
from numcodecs.abc import Codec
from numcodecs.compat import ensure_contiguous_ndarray, ndarray_copy

from ..engine import CobolEngine

_NUMERIC_KINDS = "iuf"


class Cobol(Codec):
    """cobol as a numcodecs codec.

    Parameters
    ----------
    level: compression level (0..22, default 3).
    checksum: per-block checksum ("xxh3" default here: chunks are small and
        Zarr has its own integrity story; "sha256" and "crc32" also work).
    """

    codec_id = "cobol"

    def __init__(self, level: int = 3, checksum: str = "xxh3"):
        self.level = level
        self.checksum = checksum

    def encode(self, buf):
        arr = ensure_contiguous_ndarray(buf)
        hints = {}
        # the numeric layer reads little-endian values; big-endian chunks go as plain bytes
        if arr.dtype.kind in _NUMERIC_KINDS and arr.dtype.byteorder in "<=|":
            hints["dtype"] = arr.dtype.name
        engine = CobolEngine(self.level, threads=1, checksum=self.checksum, hints=hints)
        return engine.compress(arr.reshape(-1).view(np.uint8))

    def decode(self, buf, out=None):
        raw = CobolEngine(threads=1).decompress(ensure_contiguous_ndarray(buf).view(np.uint8))
        dec = np.frombuffer(raw, dtype=np.uint8)
        return ndarray_copy(dec, out)

    def get_config(self):
        return {"id": self.codec_id, "level": self.level, "checksum": self.checksum}

    def __repr__(self):
        return f"Cobol(level={self.level}, checksum={self.checksum!r})"


def register() -> None:
    from numcodecs.registry import register_codec
    register_codec(Cobol)
