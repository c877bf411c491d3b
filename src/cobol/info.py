"""Frame facts without decompressing (``cobol --list``, like ``zstd -l``)."""

from __future__ import annotations

import io
import mmap
import os
from collections import Counter
from dataclasses import asdict, dataclass, field

from .format import checksum as ck
from .format.frame import DataBlock, EndRecord, MetadataBlock, iter_frame_records
from .registry import get_codec, get_transform
from .errors import UnsupportedError


@dataclass
class BlockInfo:
    seq: int
    offset: int
    raw_len: int
    stored_len: int
    plan: str
    streams: list  # [{codec, stored, decoded}]
    #: the transform's own summary of its params (Transform.describe), e.g. the log
    #: plan's line, template and variable counts; "" when it says no more than ``plan``
    detail: str = ""


@dataclass
class FrameInfo:
    frames: int = 0
    blocks: int = 0
    metadata_blocks: int = 0
    #: bytes of the metadata records (skipped by decoders; compress-dir records each output's source in one)
    metadata_bytes: int = 0
    #: [{offset, tag, bytes}] of each metadata record
    metadata: list = field(default_factory=list)
    raw_size: int = 0
    compressed_size: int = 0
    checksum: str = ""
    block_size: int = 0
    dictionary_id: int | None = None
    #: blocks per plan: a transform's name, or for the raw transform its coder ("zstd", "brotli", ...; "store")
    plans: dict = field(default_factory=dict)
    block_list: list = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return self.raw_size / self.compressed_size if self.compressed_size else 0.0

    def to_dict(self, blocks: bool = False) -> dict:
        d = asdict(self)
        d["ratio"] = round(self.ratio, 4)
        if not blocks:
            d.pop("block_list")
        return d


def _name(tid: int) -> str:
    try:
        return get_transform(tid).name
    except UnsupportedError:
        return f"transform#{tid}"


def frame_info(source) -> FrameInfo:
    """Walk the frame(s) in ``source`` and summarise them; headers are checked, payloads not decoded.

    ``source``: bytes-like, a path (str / bytes / os.PathLike) or a binary file
    object (read from its current position to its end). Files are memory-mapped
    where they can be, so a large file is not read into memory.
    """
    if isinstance(source, (str, bytes, os.PathLike)) and not isinstance(source, bytes):
        with open(source, "rb") as f:
            return _frame_info_of_file(f)
    if isinstance(source, bytes) or not hasattr(source, "read"):
        return _frame_info(source)
    return _frame_info_of_file(source)


def _frame_info_of_file(f) -> FrameInfo:
    try:
        start = f.tell()
        fd = f.fileno()
        size = os.fstat(fd).st_size - start
    except (AttributeError, OSError, io.UnsupportedOperation):
        return _frame_info(f.read())
    if size <= 0:
        return _frame_info(b"")
    # mmap offsets must be page aligned: map from the page that holds `start`
    base = start - start % mmap.ALLOCATIONGRANULARITY
    with mmap.mmap(fd, size + start - base, access=mmap.ACCESS_READ, offset=base) as m:
        with memoryview(m) as view:
            try:
                return _frame_info(view[start - base:])
            finally:
                del view


def _frame_info(blob) -> FrameInfo:
    info = FrameInfo(compressed_size=len(blob))
    plans = Counter()
    last_header = None
    for header, rec in iter_frame_records(blob):
        if header is not last_header:
            info.frames += 1
            info.checksum = ck.checksum_label(header.checksum)
            info.block_size = header.block_size
            info.dictionary_id = header.dictionary_id
            last_header = header
        if isinstance(rec, DataBlock):
            info.blocks += 1
            info.raw_size += rec.raw_len
            name = _name(rec.transform)
            if rec.transform == 0:
                # the raw transform is named by its coder: "zstd", "brotli", ... ("store" uncoded)
                coded = sorted({_codec(s.codec) for s in rec.streams if s.codec})
                name = "+".join(coded) if coded else "store"
            plans[name] += 1
            info.block_list.append(BlockInfo(
                rec.seq, rec.offset, rec.raw_len, rec.size, name,
                [{"codec": _codec(s.codec), "stored": s.stored_len, "decoded": s.decoded_len} for s in rec.streams],
                _detail(rec, name),
            ))
        elif isinstance(rec, MetadataBlock):
            info.metadata_blocks += 1
            body = _varint_len(rec.tag) + len(rec.payload)
            size = 1 + _varint_len(body) + body
            info.metadata_bytes += size
            info.metadata.append({"offset": rec.offset, "tag": rec.tag, "bytes": size})
    info.plans = dict(plans)
    return info


def _varint_len(n: int) -> int:
    return max(1, (n.bit_length() + 6) // 7)


def _detail(rec: DataBlock, name: str) -> str:
    try:
        text = get_transform(rec.transform).describe(bytes(rec.params))
    except Exception:  # a hostile params field must not stop a listing
        return ""
    return "" if text == name else text


def _codec(cid: int) -> str:
    from . import entropy  # noqa: F401  (registers the built-in codecs: a listing may not have loaded them)
    try:
        return get_codec(cid).name
    except UnsupportedError:
        return f"codec#{cid}"
