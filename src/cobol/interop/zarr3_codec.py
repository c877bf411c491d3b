"""A Zarr format 3 codec (bytes to bytes), so Zarr 3 arrays can use cobol.

Zarr 3 codecs are not numcodecs codecs: a chunk passes an array-to-bytes codec
(``BytesCodec``, little-endian by default) and then bytes-to-bytes codecs like
this one. The chunk's data type is known from the array spec, so numeric chunks
get it as a hint (the numeric path then sees whole values, as with the
numcodecs codec of :mod:`cobol.interop.numcodecs_codec`).

>>> import numpy as np, zarr
>>> from cobol.interop.zarr3_codec import CobolCodec
>>> z = zarr.create_array(store={}, shape=(1000,), dtype="int32", compressors=[CobolCodec(level=3)])
>>> z[:] = np.arange(1000, dtype="int32")
>>> bool((z[:] == np.arange(1000)).all())
True

In array metadata it is ``{"name": "cobol", "configuration": {"level": 3,
"checksum": "xxh3"}}``; the ``zarr.codecs`` entry point registers the name.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import numpy as np
from zarr.abc.codec import BytesBytesCodec
from zarr.core.common import parse_named_configuration

from ..engine import CobolEngine
from ..format.checksum import checksum_id
from ..errors import CobolError

CODEC_NAME = "cobol"
_NUMERIC_KINDS = "iuf"


def _native_dtype(chunk_spec):
    dtype = chunk_spec.dtype
    to_native = getattr(dtype, "to_native_dtype", None)  # zarr >= 3.1 wraps numpy dtypes
    try:
        return np.dtype(to_native() if to_native is not None else dtype)
    except TypeError:
        return None


@dataclass(frozen=True)
class CobolCodec(BytesBytesCodec):
    """cobol as a Zarr 3 bytes-to-bytes codec (level 0..22, per-block checksum)."""

    is_fixed_size = False
    level: int = 3
    checksum: str = "xxh3"

    def __init__(self, *, level: int = 3, checksum: str = "xxh3") -> None:
        if not isinstance(level, int) or not 0 <= level <= 22:
            raise ValueError(f"cobol level must be an int in 0..22, got {level!r}")
        try:
            checksum_id(checksum)
        except CobolError as e:
            raise ValueError(str(e)) from None
        object.__setattr__(self, "level", level)
        object.__setattr__(self, "checksum", checksum)

    @classmethod
    def from_dict(cls, data):
        _, configuration = parse_named_configuration(data, CODEC_NAME)
        return cls(**(configuration or {}))

    def to_dict(self):
        return {"name": CODEC_NAME, "configuration": {"level": self.level, "checksum": self.checksum}}

    def _encode_sync(self, chunk_bytes, chunk_spec):
        hints = {}
        dtype = _native_dtype(chunk_spec)
        # the array-to-bytes codec before this one writes little-endian by default;
        # a wrong hint would only cost ratio (the planner verifies and falls back)
        if dtype is not None and dtype.kind in _NUMERIC_KINDS and dtype.itemsize > 1:
            hints["dtype"] = dtype.newbyteorder("<").name
        engine = CobolEngine(self.level, threads=1, checksum=self.checksum, hints=hints)
        raw = chunk_bytes.as_numpy_array().view(np.uint8).reshape(-1)
        return chunk_spec.prototype.buffer.from_bytes(engine.compress(raw))

    def _decode_sync(self, chunk_bytes, chunk_spec):
        raw = CobolEngine(threads=1).decompress(chunk_bytes.as_numpy_array().view(np.uint8).reshape(-1))
        return chunk_spec.prototype.buffer.from_bytes(raw)

    async def _encode_single(self, chunk_bytes, chunk_spec):
        return await asyncio.to_thread(self._encode_sync, chunk_bytes, chunk_spec)

    async def _decode_single(self, chunk_bytes, chunk_spec):
        return await asyncio.to_thread(self._decode_sync, chunk_bytes, chunk_spec)

    def compute_encoded_size(self, _input_byte_length, _chunk_spec):
        raise NotImplementedError


def register() -> None:
    """Register the codec name with zarr (the entry point does it for installed packages)."""
    from zarr.registry import register_codec
    register_codec(CODEC_NAME, CobolCodec)
