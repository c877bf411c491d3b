"""Entropy codecs applied to every stream: zstd (python-zstandard) or none.

Streams are coded without zstd's own content size, checksum and dictionary id
fields: the block's stream table already records the decoded length and the
block checksum covers the result, so those bytes would be paid twice.

Codec 2 (``zstd-dict``) is zstd with the frame's shared dictionary
(:mod:`cobol.dictionary`), in zstd's *magicless* format: the 4-byte zstd magic
number says nothing the codec id does not, and on a 1 KB message every byte
counts. It is only valid in a frame that names a dictionary (docs/FORMAT.md).
"""

from __future__ import annotations

import threading

import zstandard

from .errors import DictionaryError, FormatError
from .registry import EntropyCodec, register_codec

NONE = 0
ZSTD = 1
ZSTD_DICT = 2

_local = threading.local()
_CACHE_MAX = 32


def _cache(name: str) -> dict:
    cache = getattr(_local, name, None)
    if cache is None or len(cache) > _CACHE_MAX:
        cache = {}
        setattr(_local, name, cache)
    return cache


def _zstd_dict(dictionary: bytes | None):
    # zstd's rule: a full dictionary starts with its magic number, anything else is raw content
    return zstandard.ZstdCompressionDict(dictionary) if dictionary else None


def _compressor(level: int, dictionary: bytes | None, magicless: bool = False):
    # ZstdCompressor objects are not thread-safe; keep one per thread, level and
    # dictionary. The key holds the dictionary bytes themselves (hashed once per
    # bytes object), not their id(), which a later object could reuse.
    cache = _cache("cctx")
    key = (level, dictionary, magicless)
    c = cache.get(key)
    if c is None:
        zd = _zstd_dict(dictionary)
        if magicless:
            params = zstandard.ZstdCompressionParameters(
                compression_level=level, format=zstandard.FORMAT_ZSTD1_MAGICLESS,
                write_content_size=0, write_checksum=0, write_dict_id=0)
            c = zstandard.ZstdCompressor(dict_data=zd, compression_params=params)
        else:
            params = dict(level=level, write_content_size=False, write_checksum=False, write_dict_id=False)
            c = zstandard.ZstdCompressor(dict_data=zd, **params)
        cache[key] = c
    return c


def thread_compressor(level: int):
    """This thread's plain zstd compressor at ``level``, for layers' trial
    compressions (ZstdCompressor objects must not be shared across threads)."""
    return _compressor(level, None)


def _decompressor(dictionary: bytes | None, magicless: bool = False):
    cache = _cache("dctx")
    key = (dictionary, magicless)
    d = cache.get(key)
    if d is None:
        fmt = zstandard.FORMAT_ZSTD1_MAGICLESS if magicless else zstandard.FORMAT_ZSTD1
        d = cache[key] = zstandard.ZstdDecompressor(dict_data=_zstd_dict(dictionary), format=fmt)
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


@register_codec
class ZstdDictCodec(EntropyCodec):
    """A magicless zstd frame coded with the frame dictionary's zstd dictionary.

    ``dictionary`` is those zstd dictionary bytes (``b""`` when the shared
    dictionary has none); None means the frame names no dictionary, where this
    codec is invalid."""

    id = ZSTD_DICT
    name = "zstd-dict"

    def encode(self, data, level, dictionary=None):
        if dictionary is None:
            raise DictionaryError("codec zstd-dict needs the frame's dictionary")
        return _compressor(level, dictionary, magicless=True).compress(data)

    def decode(self, data, decoded_len, dictionary=None):
        if dictionary is None:
            raise DictionaryError("stream coded with the frame's dictionary (codec zstd-dict), but the frame names none")
        try:
            # as in ZstdCodec.decode: never let a declared content size size the output
            declared = zstandard.get_frame_parameters(data, format=zstandard.FORMAT_ZSTD1_MAGICLESS).content_size
            if declared not in (zstandard.CONTENTSIZE_UNKNOWN, decoded_len):
                raise FormatError(f"zstd frame declares {declared} bytes, table says {decoded_len}")
            out = _decompressor(dictionary, magicless=True).decompress(data, max_output_size=max(decoded_len, 1))
        except zstandard.ZstdError as e:
            raise FormatError(f"zstd-dict stream does not decode: {e}") from None
        if len(out) != decoded_len:
            raise FormatError(f"zstd-dict stream decoded to {len(out)} bytes, table says {decoded_len}")
        return out


def entropy_code(data, level: int, dictionary: bytes | None = None) -> tuple[int, bytes]:
    """Code one stream: zstd at ``level`` unless that does not make it smaller.

    ``dictionary``: the frame dictionary's zstd dictionary bytes (``b""`` for a
    shared dictionary without one), or None when the frame names no dictionary.
    With one, the stream is coded with codec zstd-dict."""
    if level <= 0 or len(data) < (1 if dictionary is not None else 16):
        return NONE, bytes(data)
    if dictionary is not None:
        codec, z = ZSTD_DICT, _compressor(level, dictionary, magicless=True).compress(data)
    else:
        codec, z = ZSTD, _compressor(level, None).compress(data)
    if len(z) < len(data):
        return codec, z
    return NONE, bytes(data)
