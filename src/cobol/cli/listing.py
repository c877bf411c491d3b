"""``cobol --list FILE...``: frame facts (frames, blocks, sizes, ratio, checksum,
plans; every block with ``-v``), read from the headers only (the file is mapped,
not read)."""

from __future__ import annotations

import json
import mmap
import os
import sys

from ..dataset.run import SOURCE_TAG
from ..info import frame_info
from .common import emit_table, human_size


def list_one(name: str):
    """The :class:`cobol.info.FrameInfo` of file ``name`` (``-`` = standard input)."""
    if name == "-":
        return frame_info(sys.stdin.buffer.read())
    with open(name, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            return frame_info(b"")
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)  # headers only are touched
        try:
            return frame_info(mm)
        finally:
            try:
                mm.close()
            except BufferError:  # a view still alive; the mapping closes when it is collected
                pass


def print_list(results: list, verbose: bool) -> None:
    """The table of ``(name, FrameInfo)`` pairs; with ``verbose``, one table of blocks per file."""
    cols = [("Frames", "r"), ("Blocks", "r"), ("Compressed", "r"), ("Uncompressed", "r"), ("Ratio", "r"),
            ("Check", "l"), ("Dictionary", "l"), ("Plans", "l"), ("Filename", "l")]
    rows = []
    for name, info in results:
        plans = " ".join(f"{k}:{v}" for k, v in sorted(info.plans.items())) or "-"
        rows.append([str(info.frames), str(info.blocks), human_size(info.compressed_size), human_size(info.raw_size),
                     f"{info.ratio:.3f}", info.checksum or "-",
                     f"{info.dictionary_id:#010x}" if info.dictionary_id is not None else "-", plans, name])
    if len(results) > 1:
        c = sum(i.compressed_size for _, i in results)
        r = sum(i.raw_size for _, i in results)
        rows.append([str(sum(i.frames for _, i in results)), str(sum(i.blocks for _, i in results)), human_size(c),
                     human_size(r), f"{r / c:.3f}" if c else "-", "", "", "", f"{len(results)} files"])
    emit_table(cols, rows)
    if not verbose:
        return
    for name, info in results:
        bcols = [("block", "r"), ("offset", "r"), ("raw", "r"), ("stored", "r"), ("ratio", "r"), ("plan", "l"),
                 ("streams (codec stored/decoded)", "l")]
        brows = []
        for b in info.block_list:
            streams = ", ".join(f"{s['codec']} {s['stored']}/{s['decoded']}" for s in b.streams)
            brows.append([str(b.seq), str(b.offset), str(b.raw_len), str(b.stored_len),
                          f"{b.raw_len / b.stored_len:.3f}" if b.stored_len else "-", b.detail or b.plan,
                          streams or "-"])
        emit_table(bcols, brows, title=f"{name}: block size {human_size(info.block_size)}, checksum {info.checksum}"
                   + (f", dictionary {info.dictionary_id:#010x}" if info.dictionary_id is not None else ""))
        for m in info.metadata:
            print(f"{name}: metadata record at offset {m['offset']}: {m['bytes']} bytes, tag {_tag(m['tag'])}"
                  + (" (compress-dir's record of the source: name, size, mtime, SHA-256; lets a rerun skip "
                     "finished outputs; decoders skip it)" if m["tag"] == SOURCE_TAG else " (decoders skip it)"))
        if info.metadata:
            print()


def _tag(tag: int) -> str:
    raw = tag.to_bytes(4, "big") if tag < 1 << 32 else b""
    return raw.decode("ascii") if raw and all(32 < c < 127 for c in raw) else f"{tag:#x}"



def print_json(results: list, failures: list, blocks: bool) -> None:
    """``--list --json``: one object per listed file (its blocks too with ``blocks``),
    then the failure summaries."""
    json.dump([{"file": n, **i.to_dict(blocks=blocks)} for n, i in results] + failures, sys.stdout, indent=1,
              default=_json_default)
    print()


def _json_default(o):
    from dataclasses import asdict, is_dataclass
    if is_dataclass(o):
        return asdict(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


