"""The bundle transform (id 1): another transform's params and streams in one stream.

A small block (a 1 KB message) pays for every stream it has: a stream-table
entry, a zstd frame header, and its params stored uncompressed in the block.
For a JSON record with eight streams that is more than the record's values
cost. The bundle packs the inner transform's params, its stream lengths and
its streams into *one* stream, which the engine then entropy codes once --
with the frame's shared dictionary when there is one (codec 2), whose zstd
dictionary has seen the bundles of the training samples, so params, key
dictionaries and skeletons that repeat from message to message cost almost
nothing.

The planner builds a bundle from a candidate's output itself (the transform
is never a candidate on its own) and keeps it when it is smaller than the
candidate's streams coded one by one; see :func:`cobol.plan.choose_plan`.

Params: u8 inner transform id (not 1: bundles do not nest). The one stream::

    inner_params  varint length + bytes
    n_streams     varint (<= 4096)
    lengths       n_streams varints
    payloads      the streams back to back; they end exactly at the stream's end

>>> from cobol.registry import Encoded, DecodeContext
>>> packed = pack(Encoded(params=b"", streams=[b"abc"]))
>>> BundleTransform().decode([packed], bytes([0]), 3, DecodeContext())
b'abc'
"""

from __future__ import annotations

from ..errors import FormatError
from ..format.wire import Reader, put_bytes, put_varint
from ..registry import DECODED_SLACK, Encoded, Transform, get_transform, register_transform

BUNDLE_ID = 1
MAX_PARAMS = 1 << 20
MAX_STREAMS = 4096


def pack(enc: Encoded) -> bytes:
    """The bundle stream of one transform output (before entropy coding)."""
    out = bytearray()
    put_bytes(out, bytes(enc.params))
    put_varint(out, len(enc.streams))
    for s in enc.streams:
        put_varint(out, len(s))
    return bytes(out) + b"".join(bytes(s) for s in enc.streams)


def unpack(stream, max_streams: int = MAX_STREAMS) -> tuple[bytes, list]:
    """(inner params, inner streams) of a bundle stream; hostile input raises
    FormatError/LimitError. ``max_streams``: the inner transform's cap."""
    r = Reader(stream, what="bundle")
    params = r.bytes_field("inner params", MAX_PARAMS)
    n = r.varint("stream count", MAX_STREAMS)
    if n > r.remaining:  # every length takes at least one byte
        raise FormatError(f"bundle: {n} stream lengths cannot fit in {r.remaining} bytes")
    if n > max_streams:
        raise FormatError(f"bundle: {n} streams, the inner transform holds at most {max_streams}")
    lengths = [r.varint("stream length", r.remaining) for _ in range(n)]
    if sum(lengths) != r.remaining:
        raise FormatError(f"bundle: streams need {sum(lengths)} bytes, {r.remaining} present")
    return params, [r.take(k, "stream") for k in lengths]


@register_transform
class BundleTransform(Transform):
    id = BUNDLE_ID
    name = "bundle"
    formats = ()  # built by the planner from another candidate's output
    max_streams = 1

    def decoded_limit(self, params: bytes, raw_len: int) -> int:
        # the one stream holds the inner params, the inner stream lengths and the inner streams
        inner = get_transform(params[0]) if len(params) == 1 and params[0] != BUNDLE_ID else None
        base = inner.decoded_limit(b"", raw_len) if inner is not None else DECODED_SLACK
        return base + MAX_PARAMS + 10 * MAX_STREAMS

    def encode(self, data, ctx):
        return None  # never run directly

    def decode_into(self, streams, params, raw_len, ctx, out):
        if len(params) != 1 or len(streams) != 1:
            raise FormatError(f"bundle plan expects 1 params byte and 1 stream, got {len(params)} / {len(streams)}")
        if params[0] == BUNDLE_ID:
            raise FormatError("bundle plan nests another bundle")
        inner = get_transform(params[0])
        inner_params, inner_streams = unpack(streams[0], inner.max_streams)
        inner.decode_into(inner_streams, inner_params, raw_len, ctx, out)

    def describe(self, params: bytes) -> str:
        if len(params) == 1:
            try:
                return f"bundle({get_transform(params[0]).name})"
            except Exception:
                pass
        return self.name
