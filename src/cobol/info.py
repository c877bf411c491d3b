"""Frame facts without decompressing (``cobol --list``, like ``zstd -l``)."""

from __future__ import annotations

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


@dataclass
class FrameInfo:
    frames: int = 0
    blocks: int = 0
    metadata_blocks: int = 0
    raw_size: int = 0
    compressed_size: int = 0
    checksum: str = ""
    block_size: int = 0
    dictionary_id: int | None = None
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


def frame_info(blob) -> FrameInfo:
    """Walk the frame(s) in ``blob`` and summarise them; headers are checked, payloads not decoded."""
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
                name = "zstd" if any(s.codec for s in rec.streams) else "store"
            plans[name] += 1
            info.block_list.append(BlockInfo(
                rec.seq, rec.offset, rec.raw_len, rec.size, name,
                [{"codec": _codec(s.codec), "stored": s.stored_len, "decoded": s.decoded_len} for s in rec.streams],
            ))
        elif isinstance(rec, MetadataBlock):
            info.metadata_blocks += 1
    info.plans = dict(plans)
    return info


def _codec(cid: int) -> str:
    try:
        return get_codec(cid).name
    except UnsupportedError:
        return f"codec#{cid}"
