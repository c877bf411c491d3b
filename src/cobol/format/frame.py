"""Encoding and parsing of the .cobl frame layout, version 1 (docs/FORMAT.md).

Pure byte layout: no compression here. The engine fills DataBlocks with
entropy-coded streams; this module writes and reads them with every length
bounded and every header covered by a CRC32, so that corrupt input is
reported as the field that is wrong, at its offset.

Two frame layouts share the magic and version:

- the *full* frame: header (with block size and header CRC), records (data
  blocks, metadata), end marker with totals; any number of blocks, writable
  block by block;
- the *compact* frame (flags bit 5): exactly one data block, written right
  after the magic, version, flags and optional dictionary id, with no block
  size, header CRCs, block kind/length/sequence or end marker: 23 bytes less
  per frame, for small messages. The block checksum still covers the data.
  Readers yield it as its data block followed by a synthesized
  :class:`EndRecord` (1 block, its raw length), so callers see the same
  record sequence as for a one-block full frame. With flags bit 6 too (a
  *one-stream* compact frame) the block is the raw transform's one stream and
  its plan is written as raw length, codec and stored length alone: 5 bytes
  less, 0.2-2% of a 3-40 KB file's output (most small markup and prose is
  coded raw, brotli of the whole block).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from ..errors import ChecksumError, CobolError, FormatError, LimitError, TruncatedError, UnsupportedError
from . import checksum as ck
from .wire import Reader, put_bytes, put_u32, put_varint

MAGIC = b"COBL"  # 0x434F424C, big-endian spelling of the bytes
FORMAT_VERSION = 1

FLAG_CHECKSUM_MASK = 0x0F
FLAG_DICTIONARY = 0x10
FLAG_COMPACT = 0x20
#: only with FLAG_COMPACT: the block is the raw transform's one stream (no
#: transform id, params, stream count or decoded length: see _put_one_stream)
FLAG_ONE_STREAM = 0x40
FLAG_RESERVED = 0x80

#: the raw transform's id (registry): the one transform a one-stream compact frame holds
RAW_TRANSFORM = 0

MAX_BLOCK_SIZE = 1 << 30
#: what a decoder accepts unless told otherwise (like zstd's default window limit):
#: decoders hold several times a block in memory, so a tiny hostile frame must not
#: be able to ask for 1 GiB blocks by default
DEFAULT_DECODE_BLOCK_LIMIT = 64 << 20
MAX_PARAMS = 1 << 20
MAX_STREAMS = 4096
MAX_METADATA = 1 << 24


class BlockKind(IntEnum):
    END = 0x00
    DATA = 0x01
    METADATA = 0x02


@dataclass(frozen=True)
class Limits:
    """Bounds a decoder enforces; hostile length fields beyond them are LimitErrors."""

    max_block_size: int = DEFAULT_DECODE_BLOCK_LIMIT
    max_streams: int = MAX_STREAMS
    max_params: int = MAX_PARAMS

    def max_stream_decoded(self, raw_len: int) -> int:
        # transforms may expand (e.g. int8 values widened for L4), never by more than this
        return 16 * raw_len + (1 << 16)

    def max_block_decoded(self, raw_len: int) -> int:
        """The most bytes all decoded streams of one block may hold together,
        whatever its transform (each transform declares a tighter bound, which
        the engine checks; the 2 MiB covers a bundle's inner params)."""
        return 16 * raw_len + (2 << 20)


@dataclass
class FrameHeader:
    checksum: int = ck.DEFAULT
    block_size: int = 8 << 20
    dictionary_id: int | None = None
    size: int = 0  # bytes the header took in the frame (filled when read)
    #: a compact frame: one data block, no block size / header CRC / end marker;
    #: block_size is then the block's raw length (filled when read)
    compact: bool = False
    #: a compact frame whose block is the raw transform's one stream (FLAG_ONE_STREAM)
    one_stream: bool = False


@dataclass
class StreamEntry:
    codec: int
    stored_len: int
    decoded_len: int


@dataclass
class DataBlock:
    seq: int
    raw_len: int
    transform: int
    params: bytes
    streams: list  # list[StreamEntry]
    checksum: bytes
    payloads: list = field(default_factory=list)  # stored bytes, one per stream
    offset: int = 0  # where the block starts in the input (filled when read)
    size: int = 0


def block_where(block: DataBlock) -> str:
    """Where a block sits, as error messages name it."""
    return f"block {block.seq} at offset {block.offset}"


def check_block_checksum(header: FrameHeader, block: DataBlock, raw, where: str | None = None) -> None:
    """Raise ChecksumError unless ``raw`` (the block decoded) has the block's
    stored checksum, of the kind the frame header names; ``where`` names the
    block in the message (default: :func:`block_where`, made only on a mismatch)."""
    if ck.compute(header.checksum, raw) != bytes(block.checksum):
        raise ChecksumError(f"{where or block_where(block)}: {ck.checksum_label(header.checksum)} checksum mismatch")


def check_stream_table(block: DataBlock, transform, where: str | None = None) -> None:
    """The memory bound of docs/FORMAT.md, checked on the stream table before
    any stream is decoded: no more streams than the transform holds, and
    decoded lengths that sum to at most the transform's bound for raw_len.
    ``transform``: anything with the transform's ``name``, ``max_streams``
    and ``decoded_limit``; ``where`` names the block in messages (default:
    :func:`block_where`)."""
    n = len(block.streams)
    if n > transform.max_streams:
        raise FormatError(f"{where or block_where(block)} ({transform.name}): {n} streams, the transform holds "
                          f"at most {transform.max_streams}")
    total = sum(e.decoded_len for e in block.streams)
    limit = transform.decoded_limit(bytes(block.params), block.raw_len)
    if total > limit:
        raise LimitError(f"{where or block_where(block)} ({transform.name}): streams declare {total} decoded "
                         f"bytes, over the transform's {limit} for a {block.raw_len}-byte block")


@dataclass
class MetadataBlock:
    tag: int
    payload: bytes
    offset: int = 0


@dataclass
class EndRecord:
    n_blocks: int
    total_raw: int
    offset: int = 0


# ---------------------------------------------------------------- encoding

def encode_frame_header(h: FrameHeader) -> bytes:
    out = bytearray(MAGIC)
    flags = h.checksum & FLAG_CHECKSUM_MASK
    if h.dictionary_id is not None:
        flags |= FLAG_DICTIONARY
    out.append(FORMAT_VERSION)
    out.append(flags)
    put_varint(out, h.block_size)
    if h.dictionary_id is not None:
        put_u32(out, h.dictionary_id)
    put_u32(out, ck.crc32(out))
    return bytes(out)


def _put_plan(out: bytearray, b: DataBlock) -> None:
    """raw_len, transform, params, stream table: shared by both layouts."""
    put_varint(out, b.raw_len)
    out.append(b.transform)
    put_bytes(out, b.params)
    put_varint(out, len(b.streams))
    for s in b.streams:
        out.append(s.codec)
        put_varint(out, s.stored_len)
        put_varint(out, s.decoded_len)


def is_one_stream(b: DataBlock) -> bool:
    """Whether ``b`` is the raw transform's one stream (no params, decoded to
    the block's raw length): a compact frame then writes it with FLAG_ONE_STREAM."""
    return (b.transform == RAW_TRANSFORM and not b.params and len(b.streams) == 1
            and b.streams[0].decoded_len == b.raw_len)


def _put_one_stream(out: bytearray, b: DataBlock) -> None:
    """The plan of a one-stream block (:func:`is_one_stream`): raw_len, codec,
    stored_len (transform 0, no params, one stream decoded to raw_len)."""
    put_varint(out, b.raw_len)
    out.append(b.streams[0].codec)
    put_varint(out, b.streams[0].stored_len)


def encode_compact_frame(h: FrameHeader, b: DataBlock) -> bytes:
    """A whole compact frame holding the one data block ``b`` (raw_len >= 1);
    a one-stream frame (FLAG_ONE_STREAM) where :func:`is_one_stream`."""
    if b.raw_len < 1 or b.seq != 0:
        raise ValueError("a compact frame holds exactly one non-empty block")
    out = bytearray(MAGIC)
    one = is_one_stream(b)
    flags = (h.checksum & FLAG_CHECKSUM_MASK) | FLAG_COMPACT | (FLAG_ONE_STREAM if one else 0)
    if h.dictionary_id is not None:
        flags |= FLAG_DICTIONARY
    out.append(FORMAT_VERSION)
    out.append(flags)
    if h.dictionary_id is not None:
        put_u32(out, h.dictionary_id)
    if one:
        _put_one_stream(out, b)
    else:
        _put_plan(out, b)
    out += b.checksum
    for p in b.payloads:
        out += p
    return bytes(out)


def encode_data_block(b: DataBlock) -> bytes:
    head = bytearray()
    put_varint(head, b.seq)
    _put_plan(head, b)
    body_len = len(head) + 4 + len(b.checksum) + sum(s.stored_len for s in b.streams)
    out = bytearray([BlockKind.DATA])
    put_varint(out, body_len)
    out += head
    put_u32(out, ck.crc32(out))
    out += b.checksum
    for p in b.payloads:
        out += p
    return bytes(out)


def encode_metadata_block(tag: int, payload: bytes) -> bytes:
    body = bytearray()
    put_varint(body, tag)
    body += payload
    out = bytearray([BlockKind.METADATA])
    put_varint(out, len(body))
    out += body
    return bytes(out)


def encode_end_record(n_blocks: int, total_raw: int) -> bytes:
    out = bytearray([BlockKind.END])
    put_varint(out, n_blocks)
    put_varint(out, total_raw)
    put_u32(out, ck.crc32(out))
    return bytes(out)


# ---------------------------------------------------------------- parsing

def read_frame_header(r: Reader) -> FrameHeader:
    start = r.pos
    magic = r.take(4, "magic")
    if magic != MAGIC:
        raise FormatError(f"not a .cobl frame: bad magic {magic!r} at offset {r.base + start}")
    version = r.u8("version")
    if version != FORMAT_VERSION:
        raise UnsupportedError(f"frame at offset {r.base + start} has format version {version}; this build reads {FORMAT_VERSION}")
    flags = r.u8("flags")
    if flags & FLAG_RESERVED:
        raise FormatError(f"frame header at offset {r.base + start}: reserved flag bits set (0x{flags:02x})")
    cid = flags & FLAG_CHECKSUM_MASK
    ck.checksum_size(cid)  # raises UnsupportedError on unknown kinds
    if flags & FLAG_COMPACT:
        # no block size and no header CRC: the block follows; its checksum covers the data
        dict_id = r.u32("dictionary id") if flags & FLAG_DICTIONARY else None
        return FrameHeader(checksum=cid, block_size=0, dictionary_id=dict_id, size=r.pos - start, compact=True,
                           one_stream=bool(flags & FLAG_ONE_STREAM))
    if flags & FLAG_ONE_STREAM:
        raise FormatError(f"frame header at offset {r.base + start}: one-stream flag (0x40) on a full frame")
    block_size = r.varint("block size", MAX_BLOCK_SIZE)
    if block_size == 0:
        raise FormatError(f"frame header at offset {r.base + start}: block size 0")
    dict_id = r.u32("dictionary id") if flags & FLAG_DICTIONARY else None
    expect = ck.crc32(r.buf[start:r.pos])
    got = r.u32("header crc32")
    if got != expect:
        raise ChecksumError(f"frame header at offset {r.base + start}: header CRC32 mismatch")
    return FrameHeader(checksum=cid, block_size=block_size, dictionary_id=dict_id, size=r.pos - start)


def read_block(r: Reader, header: FrameHeader, limits: Limits = Limits()):
    """Read one record after a frame header: DataBlock, MetadataBlock or EndRecord."""
    start = r.pos
    where = r.base + start
    kind = r.u8("block kind")
    if kind == BlockKind.END:
        n = r.varint("end marker block count")
        total = r.varint("end marker total size")
        expect = ck.crc32(r.buf[start:r.pos])
        if r.u32("end marker crc32") != expect:
            raise ChecksumError(f"end marker at offset {where}: CRC32 mismatch")
        return EndRecord(n_blocks=n, total_raw=total, offset=where)
    if kind == BlockKind.METADATA:
        body_len = r.varint("metadata length", MAX_METADATA)
        if body_len > r.remaining:
            raise TruncatedError(f"metadata block at offset {where}: needs {body_len} bytes, {r.remaining} left")
        sub = Reader(r.buf, r.pos, r.pos + body_len, r.base, "metadata block")
        tag = sub.varint("metadata tag")
        payload = sub.take(sub.remaining, "metadata payload")
        r.pos += body_len
        return MetadataBlock(tag=tag, payload=payload, offset=where)
    if kind != BlockKind.DATA:
        raise FormatError(f"unknown block kind 0x{kind:02x} at offset {where}")

    body_len = r.varint("block length")
    if body_len > r.remaining:
        raise TruncatedError(f"block at offset {where}: body needs {body_len} bytes, {r.remaining} left")
    body_end = r.pos + body_len
    sub = Reader(r.buf, r.pos, body_end, r.base, f"block at offset {where}")
    seq = sub.varint("sequence number")
    raw_len, transform, params, entries = _read_plan(sub, min(header.block_size, limits.max_block_size),
                                                     body_len, limits)
    expect = ck.crc32(r.buf[start:sub.pos])
    if sub.u32("block header crc32") != expect:
        raise ChecksumError(f"block {seq} at offset {where}: header CRC32 mismatch")
    digest = sub.take(ck.checksum_size(header.checksum), "block checksum")
    payloads = [sub.view(e.stored_len, f"stream {i} payload") for i, e in enumerate(entries)]
    sub.expect_end("the last stream")
    r.pos = body_end
    return DataBlock(seq=seq, raw_len=raw_len, transform=transform, params=params,
                     streams=entries, checksum=digest, payloads=payloads,
                     offset=where, size=body_end - start)


def _read_plan(sub: Reader, max_raw: int, max_stored: int, limits: Limits):
    raw_len = sub.varint("raw length", max_raw)
    transform = sub.u8("transform id")
    params = sub.bytes_field("plan parameters", limits.max_params)
    n_streams = sub.varint("stream count", limits.max_streams)
    max_dec = limits.max_stream_decoded(raw_len)
    entries = []
    total = 0
    for i in range(n_streams):
        at = sub.pos
        try:
            codec = sub.u8()
            stored = sub.varint(limit=max_stored)
            decoded = sub.varint(limit=max_dec)
        except CobolError:
            # read the entry again with its fields named, for the message (the
            # names cost more than the reads on a 20-50 KB block's table)
            sub.pos = at
            sub.u8(f"stream {i} codec")
            sub.varint(f"stream {i} stored length", max_stored)
            sub.varint(f"stream {i} decoded length", max_dec)
            raise
        entries.append(StreamEntry(codec, stored, decoded))
        total += decoded
    # the bound on what decoding the block may allocate (docs/FORMAT.md "Memory bound"):
    # checked on the table, before any stream is decoded
    if total > limits.max_block_decoded(raw_len):
        raise LimitError(f"{sub.what}: {n_streams} streams declare {total} decoded bytes in all, "
                         f"over {limits.max_block_decoded(raw_len)} for a {raw_len}-byte block")
    return raw_len, transform, params, entries


#: a bound on one stored stream length of a compact frame (the varint's range)
_COMPACT_MAX_STORED = 1 << 40


def read_compact_block(r: Reader, header: FrameHeader, limits: Limits = Limits()) -> DataBlock:
    """The one data block of a compact frame, right after its header; sets
    ``header.block_size`` to the block's raw length."""
    start = r.pos
    where = r.base + start
    # no record length bounds the stored lengths here: they are checked against
    # the bytes left below, as a truncation (the likeliest cause of a shortfall)
    if header.one_stream:
        raw_len = r.varint("raw length", min(MAX_BLOCK_SIZE, limits.max_block_size))
        codec = r.u8("stream 0 codec")
        stored = r.varint("stream 0 stored length", _COMPACT_MAX_STORED)
        transform, params, entries = RAW_TRANSFORM, b"", [StreamEntry(codec, stored, raw_len)]
    else:
        raw_len, transform, params, entries = _read_plan(r, min(MAX_BLOCK_SIZE, limits.max_block_size),
                                                         _COMPACT_MAX_STORED, limits)
    if raw_len == 0:
        raise FormatError(f"compact frame at offset {where - header.size}: raw length 0 (an empty input "
                          f"is written as a full frame)")
    need = ck.checksum_size(header.checksum) + sum(e.stored_len for e in entries)
    if need > r.remaining:
        raise TruncatedError(f"compact frame at offset {where - header.size}: its checksum and {len(entries)} "
                             f"streams need {need} bytes, {r.remaining} left")
    digest = r.take(ck.checksum_size(header.checksum), "block checksum")
    payloads = [r.view(e.stored_len, f"stream {i} payload") for i, e in enumerate(entries)]
    header.block_size = raw_len
    return DataBlock(seq=0, raw_len=raw_len, transform=transform, params=params, streams=entries,
                     checksum=digest, payloads=payloads, offset=where, size=r.pos - start)


def _varint_at(buf: bytes, pos: int, limit: int) -> tuple[int, int]:
    """(value, position after it) of the minimal varint at ``pos`` of at most
    ``limit``; (-1, pos) for anything else (truncated, non-minimal, over the
    limit or 64 bits): :func:`read_single_compact` then leaves the frame to the
    Reader, which names the fault."""
    try:
        b = buf[pos]
        if b < 0x80:
            return (b, pos + 1) if b <= limit else (-1, pos)
        value = b & 0x7F
        shift = 7
        at = pos + 1
        while True:
            b = buf[at]
            at += 1
            value |= (b & 0x7F) << shift
            if b < 0x80:
                break
            shift += 7
            if shift > 63:
                return -1, pos
    except IndexError:
        return -1, pos
    if b == 0 or value > limit or value >= 1 << 64:
        return -1, pos
    return value, at


def read_single_compact(buf, limits: Limits = Limits()):
    """(FrameHeader, DataBlock) when ``buf`` (bytes) is exactly one compact
    frame that :func:`iter_frame_records` reads without complaint, the same
    objects it makes; None for anything else (a full frame, several frames,
    any fault), which the caller then reads with :func:`iter_frame_records`
    (its errors name the fault). The one-frame case of small inputs in one
    pass over the header bytes, without a Reader or a generator: 2-3 us where
    the general path took 7-8 us of a 4-9 KB frame's 25-40 us decode."""
    if type(buf) is not bytes or buf[:5] != b"COBL\x01" or len(buf) < 8:
        return None
    flags = buf[5]
    if flags & (FLAG_RESERVED | FLAG_COMPACT) != FLAG_COMPACT:
        return None
    cid = flags & FLAG_CHECKSUM_MASK
    csize = ck.CHECKSUM_SIZES.get(cid)
    if csize is None:
        return None
    pos = 6
    dict_id = None
    if flags & FLAG_DICTIONARY:
        if len(buf) < 10:
            return None
        dict_id = int.from_bytes(buf[6:10], "little")
        pos = 10
    start = pos
    raw_len, pos = _varint_at(buf, pos, min(MAX_BLOCK_SIZE, limits.max_block_size))
    if raw_len <= 0:
        return None
    end = len(buf)
    if pos >= end:
        return None
    if flags & FLAG_ONE_STREAM:
        codec = buf[pos]
        stored, pos = _varint_at(buf, pos + 1, _COMPACT_MAX_STORED)
        if stored < 0 or pos + csize + stored != end:
            return None
        header = FrameHeader(checksum=cid, block_size=raw_len, dictionary_id=dict_id, size=start, compact=True,
                             one_stream=True)
        return header, DataBlock(seq=0, raw_len=raw_len, transform=RAW_TRANSFORM, params=b"",
                                 streams=[StreamEntry(codec, stored, raw_len)], checksum=buf[pos:pos + csize],
                                 payloads=[memoryview(buf)[pos + csize:end]], offset=start, size=end - start)
    transform = buf[pos]
    n_params, pos = _varint_at(buf, pos + 1, limits.max_params)
    if n_params < 0 or pos + n_params > end:
        return None
    params = buf[pos:pos + n_params]
    n_streams, pos = _varint_at(buf, pos + n_params, limits.max_streams)
    if n_streams < 0:
        return None
    max_dec = limits.max_stream_decoded(raw_len)
    entries = []
    total = stored_total = 0
    for _ in range(n_streams):
        if pos >= end:
            return None
        codec = buf[pos]
        stored, pos = _varint_at(buf, pos + 1, _COMPACT_MAX_STORED)
        if stored < 0:
            return None
        decoded, pos = _varint_at(buf, pos, max_dec)
        if decoded < 0:
            return None
        entries.append(StreamEntry(codec, stored, decoded))
        total += decoded
        stored_total += stored
    if total > limits.max_block_decoded(raw_len) or pos + csize + stored_total != end:
        return None
    digest = buf[pos:pos + csize]
    pos += csize
    view = memoryview(buf)
    payloads = []
    for e in entries:
        payloads.append(view[pos:pos + e.stored_len])
        pos += e.stored_len
    header = FrameHeader(checksum=cid, block_size=raw_len, dictionary_id=dict_id, size=start, compact=True)
    return header, DataBlock(seq=0, raw_len=raw_len, transform=transform, params=params, streams=entries,
                             checksum=digest, payloads=payloads, offset=start, size=end - start)


def iter_frame_records(buf, limits: Limits = Limits()):
    """Yield (FrameHeader, record) for every record of every concatenated frame.

    Checks block order and the end marker's totals; raises on anything else
    than a clean end after the last frame's end marker. A compact frame yields
    its data block and a synthesized EndRecord (1 block, its raw length).
    """
    r = Reader(buf)
    if r.remaining == 0:
        raise TruncatedError("empty input: no .cobl frame")
    while r.remaining:
        header = read_frame_header(r)
        if header.compact:
            rec = read_compact_block(r, header, limits)
            yield header, rec
            yield header, EndRecord(n_blocks=1, total_raw=rec.raw_len, offset=r.base + r.pos)
            continue
        n = 0
        total = 0
        while True:
            rec = read_block(r, header, limits)
            if isinstance(rec, EndRecord):
                if rec.n_blocks != n or rec.total_raw != total:
                    raise FormatError(
                        f"end marker at offset {rec.offset} says {rec.n_blocks} blocks / {rec.total_raw} bytes, "
                        f"the frame holds {n} blocks / {total} bytes"
                    )
                yield header, rec
                break
            if isinstance(rec, DataBlock):
                if rec.seq != n:
                    raise FormatError(f"block at offset {rec.offset} has sequence number {rec.seq}, expected {n}")
                n += 1
                total += rec.raw_len
            yield header, rec
