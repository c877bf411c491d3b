"""Entropy codecs applied to every stream: zstd (python-zstandard) or none.

Streams are coded without zstd's own content size, checksum and dictionary id
fields: the block's stream table already records the decoded length and the
block checksum covers the result, so those bytes would be paid twice.
"""

from __future__ import annotations

import threading

import zstandard

from .errors import FormatError
from .registry import EntropyCodec, register_codec

NONE = 0
ZSTD = 1

_local = threading.local()


def _compressor(level: int, dictionary: bytes | None):
    # ZstdCompressor objects are not thread-safe; keep one per thread and level.
    cache = getattr(_local, "cctx", None)
    if cache is None:
        cache = _local.cctx = {}
    key = (level, id(dictionary) if dictionary is not None else None)
    c = cache.get(key)
    if c is None:
        zd = zstandard.ZstdCompressionDict(dictionary) if dictionary is not None else None
        params = dict(level=level, write_content_size=False, write_checksum=False, write_dict_id=False)
        c = cache[key] = zstandard.ZstdCompressor(dict_data=zd, **params)
    return c


def _decompressor(dictionary: bytes | None):
    cache = getattr(_local, "dctx", None)
    if cache is None:
        cache = _local.dctx = {}
    key = id(dictionary) if dictionary is not None else None
    d = cache.get(key)
    if d is None:
        zd = zstandard.ZstdCompressionDict(dictionary) if dictionary is not None else None
        d = cache[key] = zstandard.ZstdDecompressor(dict_data=zd)
    return d


@register_codec
class NoneCodec(EntropyCodec):
    id = NONE
    name = "none"

    def encode(self, data, level, dictionary=None):
        return bytes(data)

    def decode(self, data, decoded_len, dictionary=None):
        if len(data) != decoded_len:
            raise FormatError(f"stored stream is {len(data)} bytes, table says {decoded_len}")
        return bytes(data)


@register_codec
class ZstdCodec(EntropyCodec):
    id = ZSTD
    name = "zstd"

    def encode(self, data, level, dictionary=None):
        return _compressor(level, dictionary).compress(data)

    def decode(self, data, decoded_len, dictionary=None):
        try:
            # python-zstandard sizes its output from a content size in the frame
            # header and ignores max_output_size then: a 20-byte hostile frame
            # could ask for 2**64 bytes. Our frames carry none (-1); accept at
            # most one that agrees with the stream table.
            declared = zstandard.frame_content_size(data)
            if declared not in (-1, decoded_len):
                raise FormatError(f"zstd frame declares {declared} bytes, table says {decoded_len}")
            out = _decompressor(dictionary).decompress(data, max_output_size=max(decoded_len, 1))
        except zstandard.ZstdError as e:
            raise FormatError(f"zstd stream does not decode: {e}") from None
        if len(out) != decoded_len:
            raise FormatError(f"zstd stream decoded to {len(out)} bytes, table says {decoded_len}")
        return out


def entropy_code(data, level: int, dictionary: bytes | None = None) -> tuple[int, bytes]:
    """Code one stream: zstd at ``level`` unless that does not make it smaller."""
    if level <= 0 or len(data) < 16:
        return NONE, bytes(data)
    z = _compressor(level, dictionary).compress(data)
    if len(z) < len(data):
        return ZSTD, z
    return NONE, bytes(data)
