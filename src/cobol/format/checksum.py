"""Block checksums. The frame header names the kind; every data block carries one.

xxh3-64 is the default (xxhash, ~20 GB/s; zstd's own frames use XXH64): SHA-256
took 24% of decompression time at the default level (issue 15). SHA-256 stays
selectable (``checksum="sha256"``), crc32 is the small one. Ids are part of the
file format; readers accept every kind whatever the default is.
"""

from __future__ import annotations

import zlib

import xxhash

from ..errors import EncodeError, UnsupportedError

SHA256 = 1
XXH3_64 = 2
CRC32 = 3

#: the kind written when the caller names none
DEFAULT = XXH3_64
DEFAULT_NAME = "xxh3"

#: with no kind named, a compact frame of at most this many raw bytes gets
#: CRC32: its 4 bytes (zstd's frame checksum is 4 bytes too) instead of xxh3's
#: 8 are 0.1-2% of a 1-30 KB input's output; past it they are noise, and xxh3
#: hashes ~10x faster than zlib's CRC32
SMALL_FRAME_MAX = 1 << 16
SMALL_DEFAULT = CRC32

_NAMES = {"sha256": SHA256, "xxh3": XXH3_64, "xxh3-64": XXH3_64, "crc32": CRC32}
#: checksum id -> digest bytes
CHECKSUM_SIZES = {SHA256: 32, XXH3_64: 8, CRC32: 4}
_LABELS = {SHA256: "sha256", XXH3_64: "xxh3-64", CRC32: "crc32"}


def checksum_id(kind) -> int:
    if isinstance(kind, int):
        if kind not in CHECKSUM_SIZES:
            raise EncodeError(f"unknown checksum id {kind}")
        return kind
    try:
        return _NAMES[str(kind).lower()]
    except KeyError:
        raise EncodeError(f"unknown checksum {kind!r}; choose one of sha256, xxh3, crc32") from None


def checksum_size(cid: int) -> int:
    try:
        return CHECKSUM_SIZES[cid]
    except KeyError:
        raise UnsupportedError(f"unknown checksum kind {cid} in frame header") from None


def checksum_label(cid: int) -> str:
    return _LABELS.get(cid, f"unknown({cid})")


#: inputs from this size up are hashed by an xxh3_64 object (same digest)
_XXH3_RELEASE_GIL = 1 << 16


def compute(cid: int, data) -> bytes:
    if cid == SHA256:
        import hashlib  # (here: loading OpenSSL costs every reader ~3 ms; xxh3 frames never need it)
        return hashlib.sha256(data).digest()
    if cid == XXH3_64:
        if len(data) >= _XXH3_RELEASE_GIL:
            # the hasher object hashes without the GIL (its update() releases it;
            # the one-shot function does not), so other blocks' threads run meanwhile
            return xxhash.xxh3_64(data).digest()
        return xxhash.xxh3_64_digest(data)
    if cid == CRC32:
        return zlib.crc32(data).to_bytes(4, "little")
    raise UnsupportedError(f"unknown checksum kind {cid}")


def crc32(data) -> int:
    return zlib.crc32(data)
