"""The identity transform: one stream, the block itself.

With the zstd codec on its stream this is the ``zstd`` plan; with codec none
it is the ``store`` plan. Every block can use it, so it is the planner's
baseline: a block never ends up larger than plain zstd of the same bytes.
"""

from __future__ import annotations

from ..errors import FormatError
from ..registry import Encoded, Transform, register_transform


@register_transform
class RawTransform(Transform):
    id = 0
    name = "raw"
    max_streams = 1
    expansion = 1
    formats = ()  # the planner adds it to every block itself

    def encode(self, data, ctx):
        return Encoded(params=b"", streams=[data], stream_names=["raw"])

    def decode(self, streams, params, raw_len, ctx):
        self._check(streams, params, raw_len)
        return bytes(streams[0])

    def decode_into(self, streams, params, raw_len, ctx, out):
        self._check(streams, params, raw_len)
        out[:raw_len] = memoryview(streams[0]).cast("B")

    @staticmethod
    def _check(streams, params, raw_len):
        if params or len(streams) != 1:
            raise FormatError(f"raw plan expects no parameters and 1 stream, got {len(params)} bytes / {len(streams)} streams")
        if len(streams[0]) != raw_len:
            raise FormatError(f"raw stream is {len(streams[0])} bytes, block says {raw_len}")
