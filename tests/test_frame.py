"""The .cobl frame: corrupt, truncated and hostile input always gives a CobolError."""

import io
import struct

import pytest

import cobol
from cobol.errors import ChecksumError, CobolError, FormatError, LimitError, TruncatedError, UnsupportedError
from cobol.format.frame import encode_metadata_block, MAGIC
from cobol.format.wire import Reader, put_varint

SMALL = b'{"id": 1, "name": "alpha"}\n{"id": 2, "name": "beta"}\n' * 3


def small_frames():
    yield "zstd-sha256", cobol.compress(SMALL, plan="zstd")
    yield "store-xxh3", cobol.compress(SMALL[:40], plan="store", checksum="xxh3")
    yield "auto-crc32", cobol.compress(SMALL, checksum="crc32", block_size=64)
    yield "empty", cobol.compress(b"")


@pytest.mark.parametrize("name,blob", list(small_frames()))
def test_every_bit_flip_is_detected(name, blob):
    original = cobol.decompress(blob)
    for i in range(len(blob)):
        for bit in range(8):
            bad = bytearray(blob)
            bad[i] ^= 1 << bit
            try:
                out = cobol.decompress(bytes(bad))
            except CobolError:
                continue
            assert out == original, f"flip of bit {bit} at byte {i} gave wrong output silently"


@pytest.mark.parametrize("name,blob", list(small_frames()))
def test_every_truncation_is_detected(name, blob):
    for n in range(len(blob)):
        with pytest.raises(CobolError):
            cobol.decompress(blob[:n])


def test_trailing_garbage_is_an_error():
    blob = cobol.compress(SMALL)
    with pytest.raises(FormatError):
        cobol.decompress(blob + b"x")
    with pytest.raises(TruncatedError):
        cobol.decompress(blob + b"CO")


def test_bad_magic_and_version():
    blob = bytearray(cobol.compress(SMALL))
    with pytest.raises(FormatError, match="magic"):
        cobol.decompress(b"XOBL" + bytes(blob[4:]))
    blob[4] = 2
    with pytest.raises(UnsupportedError, match="version 2"):
        cobol.decompress(bytes(blob))


def test_concatenated_frames_decode_as_one():
    a, b = b"first frame\n" * 50, bytes(range(256)) * 10
    assert cobol.decompress(cobol.compress(a) + cobol.compress(b, level=0) + cobol.compress(b"")) == a + b


def test_metadata_blocks_are_skipped():
    blob = cobol.compress(SMALL)
    header_len = cobol.frame_info(blob).block_list[0].offset
    meta = encode_metadata_block(7, b"user metadata: anything at all")
    patched = blob[:header_len] + meta + blob[header_len:]
    assert cobol.decompress(patched) == SMALL
    assert cobol.frame_info(patched).metadata_blocks == 1


def test_max_output_size_stops_bombs():
    bomb = cobol.compress(b"\0" * (4 << 20), block_size=1 << 20)
    assert len(bomb) < 5000
    with pytest.raises(LimitError):
        cobol.decompress(bomb, max_output_size=1 << 20)
    assert len(cobol.decompress(bomb, max_output_size=4 << 20)) == 4 << 20
    with pytest.raises(LimitError):
        with cobol.open(io.BytesIO(bomb), max_output_size=100) as f:
            f.read()


def _forge_block(raw_len_field: int, stream_decoded: int) -> bytes:
    """A syntactically valid frame whose header CRCs match but whose lengths lie."""
    import zlib
    head = bytearray(MAGIC + bytes([1, 1]))
    put_varint(head, 1 << 20)
    head += struct.pack("<I", zlib.crc32(head))
    body = bytearray()
    put_varint(body, 0)
    put_varint(body, raw_len_field)
    body.append(0)
    put_varint(body, 0)
    put_varint(body, 1)
    body.append(1)
    put_varint(body, 0)
    put_varint(body, stream_decoded)
    rec = bytearray([1])
    put_varint(rec, len(body) + 4 + 32)
    rec += body
    rec += struct.pack("<I", zlib.crc32(rec))
    rec += b"\0" * 32
    return bytes(head + rec)


def test_hostile_lengths_are_limit_errors():
    with pytest.raises(LimitError, match="raw length"):
        cobol.decompress(_forge_block(1 << 40, 10))
    with pytest.raises(LimitError, match="decoded length"):
        cobol.decompress(_forge_block(100, 1 << 40))


def test_varint_must_be_minimal_and_bounded():
    with pytest.raises(FormatError):
        Reader(b"\x80\x00").varint()
    with pytest.raises(FormatError):
        Reader(b"\xff" * 11).varint()
    with pytest.raises(TruncatedError):
        Reader(b"\xff\xff").varint()
    assert Reader(b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01").varint() == (1 << 64) - 1
    with pytest.raises(FormatError):
        Reader(b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02").varint()


def test_random_garbage_never_crashes():
    import random
    rng = random.Random(1)
    blob = cobol.compress(SMALL * 20)
    for _ in range(300):
        bad = bytearray(blob)
        for _ in range(rng.randint(1, 8)):
            bad[rng.randrange(len(bad))] = rng.randrange(256)
        try:
            cobol.decompress(bytes(bad))
        except CobolError:
            pass
    for n in range(0, 200):
        junk = MAGIC + bytes(rng.randrange(256) for _ in range(n))
        with pytest.raises(CobolError):
            cobol.decompress(junk)


def test_blocks_over_the_default_decode_limit_need_an_explicit_limit():
    from cobol.format.frame import DEFAULT_DECODE_BLOCK_LIMIT, Limits
    from cobol.errors import EncodeError
    big = Limits(max_block_size=1 << 30)
    data = b"x" * (DEFAULT_DECODE_BLOCK_LIMIT + 10)
    with pytest.raises(EncodeError, match="block size"):
        cobol.CobolEngine(block_size=len(data))
    blob = cobol.CobolEngine(block_size=len(data), limits=big, plan="zstd").compress(data)
    with pytest.raises(LimitError, match="raw length"):
        cobol.decompress(blob)
    assert cobol.CobolEngine(limits=big).decompress(blob) == data
