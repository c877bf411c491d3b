"""The .cobl frame: corrupt, truncated and hostile input always gives a CobolError."""

import io
import struct

import pytest

import cobol
from cobol.errors import ChecksumError, CobolError, FormatError, LimitError, TruncatedError, UnsupportedError
from cobol.format.frame import encode_metadata_block, MAGIC
from cobol.format.wire import Reader, put_varint
from support import structured_samples

SMALL = b'{"id": 1, "name": "alpha"}\n{"id": 2, "name": "beta"}\n' * 3


def small_frames():
    yield "zstd-sha256", cobol.compress(SMALL, plan="zstd")
    yield "store-xxh3", cobol.compress(SMALL[:40], plan="store", checksum="xxh3")
    yield "auto-crc32", cobol.compress(SMALL, checksum="crc32", block_size=64)
    yield "empty", cobol.compress(b"")


# frames are made inside the tests, not at collection: an encoder failure
# (strict planning, tests/conftest.py) then fails those tests, not the module

SMALL_FRAME_NAMES = ["zstd-sha256", "store-xxh3", "auto-crc32", "empty"]
COMPACT_FRAME_NAMES = ["compact-zstd-crc32", "compact-auto-xxh3", "compact-store-sha256", "compact-dict-crc32"]


def small_frame(name):
    return dict(small_frames())[name]


def compact_frame(name):
    return {n: (blob, d) for n, blob, d in compact_frames()}[name]


@pytest.mark.parametrize("name", SMALL_FRAME_NAMES)
def test_every_bit_flip_is_detected(name):
    blob = small_frame(name)
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


@pytest.mark.parametrize("name", SMALL_FRAME_NAMES)
def test_every_truncation_is_detected(name):
    blob = small_frame(name)
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
    blob = cobol.compress(SMALL, compact=False)  # metadata blocks live in full frames
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


# ---------------------------------------------------------------- compact frames

#: full-layout frames written by the build before compact frames existed (crc32;
#: plain zstd, and zstd-dict with FULL_LAYOUT_DICT): they must keep decoding
FULL_LAYOUT_RECORD = b'{"id": 1, "name": "alpha"}\n'
FULL_LAYOUT_ZSTD = bytes.fromhex(
    "434f424c010380808004029a41c3012b001b000001001b1b11b2daf2d9ee03957b226964223a20312c20226e616d65"
    "223a2022616c706861227d0a00011bbf213f6c")
FULL_LAYOUT_DICT_FRAME = bytes.fromhex(
    "434f424c01138080800475928844742e9b1c011c001b000001020c1bf24f8dbed9ee039500003d0000080a01006d4f"
    "2000011bbf213f6c")
FULL_LAYOUT_DICT = bytes.fromhex(
    "43424c440175928844033272617720636f6e74656e742064696374696f6e6172793a207b226964223a20312c20226e"
    "616d65223a2022616c706861227d00")


def compact_frames():
    from cobol.dictionary import Dictionary
    d = Dictionary.from_bytes(FULL_LAYOUT_DICT)
    yield "compact-zstd-crc32", cobol.compress(SMALL, plan="zstd", checksum="crc32", compact=True), None
    yield "compact-auto-xxh3", cobol.compress(SMALL, checksum="xxh3", compact=True), None
    yield "compact-store-sha256", cobol.compress(SMALL[:30], level=0, compact=True), None
    yield "compact-dict-crc32", cobol.compress(SMALL, checksum="crc32", dictionary=d), d


def test_full_layout_frames_still_decode():
    from cobol.dictionary import Dictionary
    d = Dictionary.from_bytes(FULL_LAYOUT_DICT)
    assert cobol.decompress(FULL_LAYOUT_ZSTD) == FULL_LAYOUT_RECORD
    assert cobol.decompress(FULL_LAYOUT_DICT_FRAME, dictionary=d) == FULL_LAYOUT_RECORD
    # and the encoder still writes that layout when asked (or by default for inputs
    # of several blocks): the same header and frame facts, a frame that decodes, and
    # a size near the fixture's; not the same bytes, which depend on libzstd's version
    for new, old, kw in ((cobol.compress(FULL_LAYOUT_RECORD, plan="zstd", checksum="crc32", compact=False),
                          FULL_LAYOUT_ZSTD, {}),
                         (cobol.compress(FULL_LAYOUT_RECORD, plan="zstd", checksum="crc32", dictionary=d,
                                         compact=False), FULL_LAYOUT_DICT_FRAME, {"dictionary": d})):
        assert new[:6] == old[:6]  # magic, version, flags (layout, checksum kind)
        a, b = cobol.frame_info(new), cobol.frame_info(old)
        assert (a.blocks, a.raw_size, a.checksum, a.block_size, a.dictionary_id, a.plans) == \
            (b.blocks, b.raw_size, b.checksum, b.block_size, b.dictionary_id, b.plans)
        assert cobol.decompress(new, **kw) == FULL_LAYOUT_RECORD
        assert abs(len(new) - len(old)) <= 16


#: a compact frame as the build before one-stream compact frames wrote it (plain
#: zstd of SMALL, crc32: transform, params, stream count and decoded length written
#: out): it must keep decoding
COMPACT_LAYOUT_ZSTD = bytes.fromhex(
    "434f424c01239f0100000101399f017f30fa1628b52ffd000085010004027b226964223a20312c20226e616d65223a2022"
    "616c706861227d0a3262657431050084d504606e4f33c0dc3d9b63")


def test_compact_frames_of_the_earlier_layout_still_decode():
    from cobol.format.frame import read_single_compact
    assert cobol.decompress(COMPACT_LAYOUT_ZSTD) == SMALL
    assert _stream_decode(COMPACT_LAYOUT_ZSTD) == SMALL
    assert cobol.decompress(COMPACT_LAYOUT_ZSTD + COMPACT_LAYOUT_ZSTD) == SMALL * 2
    header, block = read_single_compact(COMPACT_LAYOUT_ZSTD)
    assert not header.one_stream and block.streams[0].decoded_len == len(SMALL)
    # the same block today: the one-stream layout, 5 bytes less (transform, params
    # length, stream count, 2-byte decoded length), the same stream and checksum
    blob = cobol.compress(SMALL, plan="zstd", checksum="crc32")
    assert len(COMPACT_LAYOUT_ZSTD) - len(blob) == 5 and blob[-60:] == COMPACT_LAYOUT_ZSTD[-60:]


def test_compact_frame_layout():
    from cobol.format.frame import FLAG_COMPACT, FLAG_ONE_STREAM, FrameHeader, iter_frame_records, EndRecord, DataBlock
    full = cobol.compress(SMALL, plan="zstd", checksum="crc32", compact=False)
    blob = cobol.compress(SMALL, plan="zstd", checksum="crc32")  # one block: compact by default
    assert blob[:5] == MAGIC + b"\x01" and blob[5] == FLAG_COMPACT | FLAG_ONE_STREAM | 3
    # block size 4, header CRC 4, kind/len/seq 3, block CRC 4, end 8; and the one-stream
    # plan: transform 1, params length 1, stream count 1, decoded length 2
    assert len(full) - len(blob) == 23 + 5
    records = b"".join(b'{"id": %d, "name": "n%d", "v": %d}\n' % (i, i * 7, i * i % 1000) for i in range(400))
    several = cobol.compress(records, checksum="crc32")  # the JSON transform: several streams
    assert several[5] == FLAG_COMPACT | 3 and len(cobol.frame_info(several).block_list[0].streams) > 1
    assert cobol.decompress(several) == records and _stream_decode(several) == records
    recs = list(iter_frame_records(blob))
    assert [type(r) for _, r in recs] == [DataBlock, EndRecord]
    h, block = recs[0]
    assert h.compact and h.size == 6 and h.block_size == len(SMALL) and isinstance(h, FrameHeader)
    assert block.size == len(blob) - 6 and recs[1][1].total_raw == len(SMALL)
    info = cobol.frame_info(blob)
    assert (info.frames, info.blocks, info.raw_size, info.checksum) == (1, 1, len(SMALL), "crc32")


@pytest.mark.parametrize("name", COMPACT_FRAME_NAMES)
def test_compact_every_bit_flip_is_detected(name):
    blob, d = compact_frame(name)
    original = cobol.decompress(blob, dictionary=d)
    assert original.startswith(SMALL[:30])
    for i in range(len(blob)):
        for bit in range(8):
            bad = bytearray(blob)
            bad[i] ^= 1 << bit
            for decode in (lambda b: cobol.decompress(b, dictionary=d), lambda b: _stream_decode(b, d)):
                try:
                    out = decode(bytes(bad))
                except CobolError:
                    continue
                assert out == original, f"flip of bit {bit} at byte {i} gave wrong output silently"


def _stream_decode(blob, d=None):
    out = io.BytesIO()
    cobol.CobolEngine(dictionary=d, threads=1).decompress_stream(io.BytesIO(blob), out)
    return out.getvalue()


@pytest.mark.parametrize("name", COMPACT_FRAME_NAMES)
def test_compact_every_truncation_is_detected(name):
    blob, d = compact_frame(name)
    for n in range(len(blob)):
        with pytest.raises(CobolError):
            cobol.decompress(blob[:n], dictionary=d)
        with pytest.raises(CobolError):
            _stream_decode(blob[:n], d)


def test_compact_frames_concatenate_and_stream():
    a = cobol.compress(SMALL, compact=True, checksum="crc32")
    b = cobol.compress(SMALL * 3, block_size=64)  # full layout, several blocks
    c = cobol.compress(b"")  # empty input: always the full layout
    assert c[5] & 0x20 == 0
    blob = a + b + c + a
    want = SMALL + SMALL * 3 + SMALL
    assert cobol.decompress(blob) == want
    assert _stream_decode(blob) == want
    with cobol.open(io.BytesIO(blob)) as f:
        assert f.read() == want
    assert cobol.frame_info(blob).frames == 4
    with pytest.raises(FormatError):
        cobol.decompress(a + b"x")
    with pytest.raises(TruncatedError):
        cobol.decompress(a + b"CO")


def test_compact_stream_writer_matches_compress():
    eng = cobol.CobolEngine(threads=1, compact=True, checksum="crc32")
    for data in (b"", SMALL, SMALL * 5):
        out = io.BytesIO()
        eng.compress_stream(io.BytesIO(data), out)
        assert out.getvalue() == eng.compress(data)
    small_blocks = cobol.CobolEngine(threads=1, compact=True, block_size=64)
    out = io.BytesIO()
    small_blocks.compress_stream(io.BytesIO(SMALL * 3), out)
    assert out.getvalue() == small_blocks.compress(SMALL * 3) and out.getvalue()[5] & 0x20 == 0


def test_hostile_compact_frames():
    from cobol.format.frame import DataBlock, FrameHeader, StreamEntry, encode_compact_frame
    from cobol.format import checksum as ck

    def forge(raw_len, decoded, stored=None, payload=b"x", params=b"", transform=0, n=1):
        block = DataBlock(0, max(raw_len, 1), transform, params,
                          [StreamEntry(0, len(payload) if stored is None else stored, decoded)] * n,
                          ck.compute(ck.CRC32, b"x"), [payload] * n)
        blob = bytearray(encode_compact_frame(FrameHeader(ck.CRC32), block))
        if raw_len == 0:
            blob[6] = 0
        return bytes(blob)

    assert cobol.decompress(forge(1, 1)) == b"x"
    with pytest.raises(LimitError, match="raw length"):
        cobol.decompress(forge(1 << 40, 1))
    with pytest.raises(LimitError, match="decoded length"):
        cobol.decompress(forge(1, 1 << 40))
    with pytest.raises(FormatError, match="raw length 0"):
        cobol.decompress(forge(0, 1))
    with pytest.raises((LimitError, TruncatedError)):
        cobol.decompress(forge(1, 1, stored=1 << 40))
    with pytest.raises(CobolError):
        _stream_decode(forge(1, 1, stored=1 << 40))
    with pytest.raises(LimitError, match="stream count"):
        cobol.decompress(forge(1, 1, n=5000))
    with pytest.raises(CobolError):
        cobol.decompress(forge(1, 1, transform=250))
    with pytest.raises(UnsupportedError):
        cobol.decompress(bytes(forge(1, 1)[:5]) + b"\x2f" + forge(1, 1)[6:])  # checksum kind 15
    with pytest.raises(FormatError, match="reserved"):
        cobol.decompress(bytes(forge(1, 1)[:5]) + b"\xa3" + forge(1, 1)[6:])
    # a raw one-stream block takes the one-stream layout; a forged stored length
    # over the bytes left, and the one-stream flag on a full frame, are errors
    assert forge(1, 1)[5] == 0x63 and len(forge(1, 1)) == len(forge(1, 1, n=2)) - 3 - 1 - 4  # an entry, a payload; 4 bytes of plan
    for decode in (cobol.decompress, _stream_decode):
        with pytest.raises((LimitError, TruncatedError)):
            decode(forge(1, 1, stored=1 << 40))
        with pytest.raises(TruncatedError):
            decode(forge(1, 1, stored=2))
    full = bytearray(cobol.compress(b"x", compact=False))
    full[5] |= 0x40
    with pytest.raises(FormatError, match="one-stream"):
        cobol.decompress(bytes(full))
    rng = __import__("random").Random(2)
    for _ in range(300):
        junk = MAGIC + b"\x01" + bytes([rng.choice((0x20, 0x60)) | rng.choice((1, 2, 3))]) + bytes(rng.randrange(256) for _ in range(rng.randrange(40)))
        for decode in (cobol.decompress, _stream_decode):
            try:
                decode(junk)
            except CobolError:
                pass


# ------------------------------------------------------------ structured samples

@pytest.mark.parametrize("data,hints", structured_samples(12 << 10))
def test_structured_frames_in_both_layouts_decode_and_detect_corruption(data, hints):
    """Frames of every format (a format transform's blocks), full and compact
    layout: they decode, and a flipped byte in the middle is an error, never wrong data."""
    for kw in (dict(block_size=4096), dict(block_size=len(data), compact=True)):
        blob = cobol.compress(data, checksum="crc32", hints=hints, **kw)
        assert cobol.decompress(blob) == data
        info = cobol.frame_info(blob)
        assert info.raw_size == len(data) and sum(b.raw_len for b in info.block_list) == len(data)
        bad = bytearray(blob)
        bad[len(bad) // 2] ^= 0x10
        with pytest.raises(CobolError):
            cobol.decompress(bytes(bad))


def test_the_frame_lists_name_every_frame():
    assert [n for n, _ in small_frames()] == SMALL_FRAME_NAMES
    assert [n for n, _, _ in compact_frames()] == COMPACT_FRAME_NAMES


@pytest.mark.parametrize("name", COMPACT_FRAME_NAMES)
def test_one_pass_compact_reader_accepts_only_what_the_general_reader_reads_the_same(name):
    """read_single_compact (the decoders' one-frame path) returns either None,
    leaving the input to iter_frame_records and its errors, or exactly the
    header and block that iter_frame_records reads from a lone compact frame:
    on the frame itself, every truncation, every bit flip, and with a byte or
    a second frame appended."""
    from cobol.format.frame import DataBlock, EndRecord, Limits, iter_frame_records, read_single_compact
    blob, _ = compact_frame(name)
    variants = [blob, blob + b"\x00", blob + blob] + [blob[:n] for n in range(len(blob))]
    for i in range(len(blob)):
        for bit in range(8):
            bad = bytearray(blob)
            bad[i] ^= 1 << bit
            variants.append(bytes(bad))
    accepted = 0
    for limits in (Limits(), Limits(max_block_size=len(SMALL) - 1, max_streams=1, max_params=1)):
        for v in variants:
            fast = read_single_compact(v, limits)
            if fast is None:
                continue
            accepted += 1
            recs = list(iter_frame_records(v, limits))  # raises if the general reader refuses it
            assert [type(r) for _, r in recs] == [DataBlock, EndRecord]
            assert fast == recs[0], f"the one-pass reader read {len(v)} bytes differently"
    assert accepted >= 1  # the frame itself at least
    assert read_single_compact(bytearray(blob)) is None  # only bytes take the one-pass path
