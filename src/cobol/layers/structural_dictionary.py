"""StructuralDictionary: byte patterns <-> 2-byte ids, with frequencies.

Structural layers (JSON keys and record skeletons, later XML tag and attribute
names) replace recurring byte patterns by small integer ids. This class is the
bidirectional mapping they share:

- ids are dense, ``0 .. len - 1``, at most :data:`MAX_ENTRIES` (65,536), so an
  id always fits in two bytes;
- each entry carries a frequency count (how often the encoder saw it), and
  :meth:`by_frequency` renumbers the entries most-frequent-first, so that a
  variable-length id code gives the common patterns the short codes;
- it serializes to a compact byte string (:meth:`to_bytes` /
  :meth:`from_bytes`) that a block carries in one of its streams (and that a
  shared dictionary can carry later);
- the entries are also available as flat NumPy arrays (concatenated bytes plus
  offsets) for Numba kernels: :attr:`data`, :attr:`offsets`.

Serialized layout: varint entry count ``n``; ``n`` varint entry lengths; the
concatenated entry bytes. Counts are encoder-side knowledge and are not stored.

>>> d = StructuralDictionary()
>>> d.add(b"id"), d.add(b"name"), d.add(b"id")
(0, 1, 0)
>>> d.counts.tolist()
[2, 1]
>>> e = StructuralDictionary.from_bytes(d.to_bytes())
>>> e[1], e.id_of(b"id"), len(e)
(b'name', 0, 2)
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..errors import FormatError, LimitError
from .primitives import VARINT_OK, put_varints, read_varint

MAX_ENTRIES = 1 << 16


@njit(cache=True, nogil=True)
def _get_varints(buf, pos, count, out):
    """Decode ``count`` minimal varints of at most 5 bytes (< 2**35) at ``pos``;
    return the end or -1. The 5-byte bound is this format's: a longer varint
    is rejected even where a wider one would be valid elsewhere."""
    n = buf.size
    for i in range(count):
        v, q, err = read_varint(buf, pos, n)
        if err != VARINT_OK or q - pos > 5:
            return -1
        out[i] = np.int64(v)
        pos = q
    return pos


def encode_varints(values: np.ndarray) -> bytes:
    v = np.ascontiguousarray(values, dtype=np.int64)
    if v.size and int(v.min()) < 0:
        raise ValueError("varints must be non-negative")
    out = np.empty(v.size * 10, np.uint8)
    return out[:put_varints(v.view(np.uint64), out, 0)].tobytes()


def decode_varints(buf, pos: int, count: int, what: str) -> tuple[np.ndarray, int]:
    """Decode ``count`` varints (each < 2**32) from ``buf`` at ``pos`` -> (values, end)."""
    arr = np.frombuffer(buf, np.uint8) if not isinstance(buf, np.ndarray) else buf
    if count < 0 or count > arr.size - pos:
        raise FormatError(f"{what}: {count} varints cannot fit in {arr.size - pos} bytes")
    out = np.empty(count, np.int64)
    end = _get_varints(arr, pos, count, out)
    if end < 0:
        raise FormatError(f"{what}: bad or truncated varint")
    return out, end


class StructuralDictionary:
    """Byte patterns <-> dense ids (at most 65,536), with frequency counts."""

    __slots__ = ("_entries", "_index", "_counts", "_arrays")

    def __init__(self, entries=(), counts=None):
        # built whole rather than by add() per entry: the markup transform
        # makes dictionaries of thousands of skeletons and names per block
        self._entries: list[bytes] = [bytes(e) for e in entries]
        self._index: dict[bytes, int] = {e: i for i, e in enumerate(self._entries)}
        self._arrays = None
        if len(self._index) != len(self._entries):
            seen = set()
            for e in self._entries:
                if e in seen:
                    raise ValueError(f"duplicate dictionary entry {e!r}")
                seen.add(e)
        if len(self._entries) > MAX_ENTRIES:
            raise LimitError(f"structural dictionary full ({MAX_ENTRIES} entries)")
        self._counts: list[int] = [0] * len(self._entries)
        if counts is not None:
            counts = [int(c) for c in counts]
            if len(counts) != len(self._entries):
                raise ValueError("counts must match entries")
            self._counts = counts
        elif entries:
            self._counts = [1] * len(self._entries)

    # -- building -----------------------------------------------------------
    def add(self, pattern: bytes, count: int = 1) -> int:
        """Return the id of ``pattern``, adding it if new; add ``count`` to its frequency."""
        pid = self._index.get(pattern)
        if pid is None:
            if len(self._entries) >= MAX_ENTRIES:
                raise LimitError(f"structural dictionary full ({MAX_ENTRIES} entries)")
            pid = len(self._entries)
            self._entries.append(pattern)
            self._index[pattern] = pid
            self._counts.append(0)
            self._arrays = None
        self._counts[pid] += count
        return pid

    observe = add

    def by_frequency(self) -> tuple["StructuralDictionary", np.ndarray]:
        """A renumbered copy, most frequent first (ties: first added first), and
        ``old_to_new`` (int64 array) mapping old ids to new ones."""
        counts = np.asarray(self._counts, np.int64)
        order = np.argsort(-counts, kind="stable")
        new = StructuralDictionary([self._entries[i] for i in order], counts[order])
        old_to_new = np.empty(len(order), np.int64)
        old_to_new[order] = np.arange(len(order))
        return new, old_to_new

    # -- lookups ------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, pid: int) -> bytes:
        return self._entries[pid]

    def __contains__(self, pattern) -> bool:
        return bytes(pattern) in self._index

    def __iter__(self):
        return iter(self._entries)

    def id_of(self, pattern) -> int | None:
        return self._index.get(bytes(pattern))

    def count(self, pid: int) -> int:
        return self._counts[pid]

    @property
    def counts(self) -> np.ndarray:
        return np.asarray(self._counts, np.int64)

    def _flat(self):
        if self._arrays is None:
            lengths = np.fromiter((len(e) for e in self._entries), np.int64, len(self._entries))
            offsets = np.zeros(len(self._entries) + 1, np.int64)
            np.cumsum(lengths, out=offsets[1:])
            data = np.frombuffer(b"".join(self._entries), np.uint8)
            self._arrays = (data, offsets)
        return self._arrays

    @property
    def data(self) -> np.ndarray:
        """All entries concatenated (uint8)."""
        return self._flat()[0]

    @property
    def offsets(self) -> np.ndarray:
        """``len + 1`` int64 offsets into :attr:`data`; entry i is ``data[offsets[i]:offsets[i+1]]``."""
        return self._flat()[1]

    # -- serialization ------------------------------------------------------
    def to_bytes(self) -> bytes:
        data, offsets = self._flat()
        head = encode_varints(np.concatenate(([len(self._entries)], np.diff(offsets))))
        return head + data.tobytes()

    @classmethod
    def from_bytes(cls, buf, max_entries: int = MAX_ENTRIES) -> "StructuralDictionary":
        """Parse :meth:`to_bytes` output; hostile input raises FormatError/LimitError."""
        arr = np.frombuffer(buf, np.uint8) if not isinstance(buf, np.ndarray) else buf
        head, pos = decode_varints(arr, 0, 1, "structural dictionary count")
        n = int(head[0])
        if n > min(max_entries, MAX_ENTRIES):
            raise LimitError(f"structural dictionary: {n} entries exceed the limit {min(max_entries, MAX_ENTRIES)}")
        lengths, pos = decode_varints(arr, pos, n, "structural dictionary lengths")
        total = int(lengths.sum())
        if total != arr.size - pos:
            raise FormatError(
                f"structural dictionary: entries need {total} bytes, {arr.size - pos} present")
        return cls.from_arrays(arr[pos:], lengths)

    @classmethod
    def from_arrays(cls, data: np.ndarray, lengths: np.ndarray, counts=None) -> "StructuralDictionary":
        """Entries given as concatenated bytes and their lengths (must be distinct)."""
        offsets = np.zeros(len(lengths) + 1, np.int64)
        np.cumsum(lengths, out=offsets[1:])
        raw = np.ascontiguousarray(data, np.uint8).tobytes()
        entries = [raw[a:b] for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist())]
        d = cls.__new__(cls)
        d._entries = entries
        d._index = {e: i for i, e in enumerate(entries)}
        if len(d._index) != len(entries):
            raise FormatError("structural dictionary: duplicate entries")
        d._counts = [1] * len(entries) if counts is None else [int(c) for c in counts]
        d._arrays = (np.frombuffer(raw, np.uint8), offsets)
        return d

    def __repr__(self) -> str:
        return f"StructuralDictionary({len(self)} entries)"
