"""Durable receiver progress: checkpoints, and the store of partial outputs.

A receiver writes each transfer into ``OUT/.cobol-partial/<id>.part`` and
keeps its progress in ``<id>.ckpt`` (JSON). A checkpoint is made durable the
careful way -- the data file is fsynced first, then the checkpoint is written
to a temporary file, fsynced, renamed over the old one and the directory
fsynced -- so after a crash the checkpoint never claims bytes that are not on
disk. On resume the data file is cut back to the checkpoint's length, which
throws away whatever was written after it. When the transfer completes, the
file is renamed to its final name in OUT and a small ``<id>.done`` record is
kept, so a sender that lost the final DONE and reconnects is told the transfer
is complete instead of sending it again.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import threading
import time
import unicodedata
from dataclasses import asdict, dataclass

from ..errors import CobolError
from ..format.frame import FrameHeader, encode_end_record, encode_frame_header
from .block import ZERO_CHAIN
from .errors import TransferRefused
from .protocol import ResumePoint, TransferInfo

log = logging.getLogger("cobol.stream")

CHECKPOINT_VERSION = 1
PARTIAL_DIR = ".cobol-partial"
MODES = ("raw", "cobl")
DONE_RECORD_TTL = 7 * 24 * 3600


def fsync_dir(path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # not possible on this platform (Windows): nothing to do
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path, data: bytes, fsync: bool = True) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves the old or the new
    contents, never a mix: temp file, fsync, rename, fsync the directory."""
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=d)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            if fsync:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if fsync:
        fsync_dir(d)


@dataclass
class Checkpoint:
    """A transfer's durable progress (the .ckpt file)."""

    transfer_id: str      # hex
    name: str
    size: int | None
    block_size: int
    checksum_kind: int
    mode: str             # "raw" or "cobl"
    next_seq: int = 0     # blocks [0, next_seq) are in the data file
    raw_offset: int = 0   # raw bytes in those blocks
    out_offset: int = 0   # bytes of the data file that hold them
    chain: str = ZERO_CHAIN.hex()
    updated: float = 0.0
    version: int = CHECKPOINT_VERSION

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> "Checkpoint":
        d = json.loads(data)
        if not isinstance(d, dict) or d.get("version") != CHECKPOINT_VERSION:
            raise ValueError("unknown checkpoint version")
        c = cls(**d)
        for f in ("next_seq", "raw_offset", "out_offset", "block_size", "checksum_kind"):
            if not isinstance(getattr(c, f), int) or getattr(c, f) < 0:
                raise ValueError(f"bad checkpoint field {f}")
        if c.mode not in MODES or len(bytes.fromhex(c.chain)) != 32:
            raise ValueError("bad checkpoint mode or chain")
        return c

    def matches(self, info: TransferInfo, mode: str) -> bool:
        return (self.transfer_id == info.transfer_id.hex() and self.name == info.name and self.size == info.size
                and self.block_size == info.block_size and self.checksum_kind == info.checksum_kind and self.mode == mode)

    def resume_point(self, complete: bool = False) -> ResumePoint:
        return ResumePoint(self.next_seq, self.raw_offset, bytes.fromhex(self.chain), complete)


def load_checkpoint(path) -> Checkpoint | None:
    try:
        with open(path, "rb") as f:
            return Checkpoint.from_json(f.read(1 << 16))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError) as exc:
        log.warning("ignoring unreadable checkpoint %s: %s", path, exc)
        return None


_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]")


def safe_name(name: str) -> str:
    """A base name safe to create in the output directory, or TransferRefused.

    The sender chooses the name: only its last path component is used, control
    and separator characters are replaced, and names that are empty, dots or
    hidden are refused, so nothing is ever written outside OUT or over the
    store's own files. Every character of Unicode category Cc (controls, C1
    included) or Cf (format: bidirectional overrides such as U+202E, zero-width
    joiners, BOM) is replaced by "_" too, so ``ls`` shows the name as stored.
    """
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join("_" if unicodedata.category(c) in ("Cc", "Cf") else c for c in name)
    name = _UNSAFE.sub("_", name).strip()
    if not name or name.startswith(".") or len(name.encode()) > 200:
        raise TransferRefused(f"unusable file name {name!r}")
    return name


class PartialTransfer:
    """The output file of one transfer in progress, and its checkpoint."""

    def __init__(self, store: "TransferStore", info: TransferInfo, ckpt: Checkpoint, f, complete_name: str | None = None):
        self.store = store
        self.info = info
        self.ckpt = ckpt
        self.f = f
        self.complete_name = complete_name  # set when the transfer already finished earlier
        self.resume_point = ckpt.resume_point(complete_name is not None)
        self.out_end = ckpt.out_offset  # end of the last block written whole

    @property
    def path(self) -> str:
        return self.store.part_path(self.info.transfer_id)

    def write(self, delivered) -> None:
        """Append blocks (DeliveredBlock, in order) to the data file."""
        raw = self.store.mode == "raw"
        for d in delivered:
            data = d.raw if raw else d.block.record
            self.f.write(data)
            self.out_end += len(data)
        self.f.flush()  # to the OS now: a reader of the partial output (tail -f) sees each block as it lands

    def checkpoint(self, rp: ResumePoint) -> None:
        self.f.flush()
        if self.store.fsync:
            os.fsync(self.f.fileno())
        c = self.ckpt
        c.next_seq, c.raw_offset, c.out_offset, c.chain = rp.seq, rp.raw_offset, self.out_end, rp.chain.hex()
        c.updated = time.time()
        atomic_write(self.store.ckpt_path(self.info.transfer_id), c.to_json(), self.store.fsync)

    def finalize(self, n_blocks: int, total_raw: int, chain: bytes) -> str:
        """Finish the output file and move it to its final name; return that name."""
        if self.complete_name is not None:
            return self.complete_name
        if self.store.mode == "cobl":
            self.f.write(encode_end_record(n_blocks, total_raw))
        self.f.flush()
        if self.store.fsync:
            os.fsync(self.f.fileno())
        self.f.close()
        final = self.store.place(self.path, self.info.name)
        done = {"name": final, "n_blocks": n_blocks, "total_raw": total_raw, "chain": chain.hex(),
                "transfer_id": self.info.transfer_id.hex(), "finished": time.time()}
        atomic_write(self.store.done_path(self.info.transfer_id), json.dumps(done).encode(), self.store.fsync)
        try:
            os.unlink(self.store.ckpt_path(self.info.transfer_id))
        except FileNotFoundError:
            pass
        self.complete_name = final
        return final

    def close(self) -> None:
        """Stop (connection lost): keep the data and checkpoint for a resume."""
        if not self.f.closed:
            try:
                self.f.flush()
            finally:
                self.f.close()


class TransferStore:
    """Where a receiver keeps transfers: OUT and OUT/.cobol-partial.

    mode "raw" stores the original bytes, "cobl" a .cobl file made of the
    blocks as received (frame header, records, end record).
    """

    def __init__(self, out_dir, mode: str = "raw", fsync: bool = True):
        if mode not in MODES:
            raise CobolError(f"unknown store mode {mode!r}; choose raw or cobl")
        self.out_dir = os.path.abspath(out_dir)
        self.partial_dir = os.path.join(self.out_dir, PARTIAL_DIR)
        os.makedirs(self.partial_dir, exist_ok=True)
        self.mode = mode
        self.fsync = fsync
        self._lock = threading.Lock()
        self._expire_done_records()

    def part_path(self, tid: bytes) -> str:
        return os.path.join(self.partial_dir, tid.hex() + ".part")

    def ckpt_path(self, tid: bytes) -> str:
        return os.path.join(self.partial_dir, tid.hex() + ".ckpt")

    def done_path(self, tid: bytes) -> str:
        return os.path.join(self.partial_dir, tid.hex() + ".done")

    def open(self, info: TransferInfo) -> PartialTransfer:
        """Open (or resume) the partial output of a transfer."""
        name = safe_name(info.name)
        info = TransferInfo(info.transfer_id, name, info.size, info.block_size, info.checksum_kind,
                            info.level, info.fresh)
        tid = info.transfer_id
        if info.fresh:
            self.discard(tid)
        done = self._load_done(tid)
        if done is not None:
            ckpt = Checkpoint(tid.hex(), name, info.size, info.block_size, info.checksum_kind, self.mode,
                              done["n_blocks"], done["total_raw"], 0, done["chain"])
            return PartialTransfer(self, info, ckpt, open(os.devnull, "wb"), complete_name=done["name"])
        ckpt = load_checkpoint(self.ckpt_path(tid))
        part = self.part_path(tid)
        if ckpt is not None and ckpt.matches(info, self.mode) and os.path.exists(part) \
                and os.path.getsize(part) >= ckpt.out_offset:
            f = open(part, "r+b")
            f.truncate(ckpt.out_offset)  # drop what was written after the checkpoint
            f.seek(ckpt.out_offset)
            log.info("resuming transfer %s (%s) at block %d, %d bytes", tid.hex(), name, ckpt.next_seq, ckpt.raw_offset)
            return PartialTransfer(self, info, ckpt, f)
        if ckpt is not None:
            log.info("transfer %s: checkpoint does not match the new parameters; starting over", tid.hex())
        f = open(part, "w+b")
        ckpt = Checkpoint(tid.hex(), name, info.size, info.block_size, info.checksum_kind, self.mode)
        if self.mode == "cobl":
            f.write(encode_frame_header(FrameHeader(checksum=info.checksum_kind, block_size=info.block_size,
                                                         dictionary_id=info.dictionary_id)))
        ckpt.out_offset = f.tell()
        return PartialTransfer(self, info, ckpt, f)

    def discard(self, tid: bytes) -> None:
        for p in (self.part_path(tid), self.ckpt_path(tid), self.done_path(tid)):
            try:
                os.unlink(p)
            except FileNotFoundError:
                pass

    def place(self, part: str, name: str) -> str:
        """Move a finished data file to OUT under ``name`` (``name.1``, ``name.2``,
        ... if taken: an existing file is never replaced). Returns the name used."""
        base = name + (".cobl" if self.mode == "cobl" else "")
        with self._lock:
            for i in range(10000):
                candidate = base if i == 0 else f"{base}.{i}"
                dest = os.path.join(self.out_dir, candidate)
                try:
                    os.link(part, dest)  # fails if dest exists: no race with another transfer
                except FileExistsError:
                    continue
                except OSError:  # no hard links here: fall back to check-then-rename
                    if os.path.exists(dest):
                        continue
                    os.replace(part, dest)
                    break
                os.unlink(part)
                break
            else:
                raise TransferRefused(f"no free name for {name!r} in {self.out_dir}")
        if self.fsync:
            fsync_dir(self.out_dir)
            fsync_dir(self.partial_dir)
        return candidate

    def _load_done(self, tid: bytes):
        try:
            with open(self.done_path(tid), "rb") as f:
                d = json.loads(f.read(1 << 16))
            if all(k in d for k in ("name", "n_blocks", "total_raw", "chain")):
                return d
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable completion record for %s: %s", tid.hex(), exc)
        return None

    def _expire_done_records(self) -> None:
        now = time.time()
        try:
            names = os.listdir(self.partial_dir)
        except OSError:
            return
        for n in names:
            if n.endswith(".done") or n.startswith(".tmp-"):
                p = os.path.join(self.partial_dir, n)
                try:
                    if now - os.path.getmtime(p) > (DONE_RECORD_TTL if n.endswith(".done") else 3600):
                        os.unlink(p)
                except OSError:
                    pass
