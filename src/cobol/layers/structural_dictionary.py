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
from .primitives import (FNV64_OFFSET, VARINT_OK, hash_span_words, put_varints, read_varint, readonly, table_capacity,
                         table_slot)

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


@njit(cache=True, nogil=True)
def _first_duplicate(data, offsets):
    """Index of the first entry data[offsets[i]:offsets[i + 1]] equal to an
    earlier one, or -1 (span hashes in an open-addressing table; a hash match
    is settled on the bytes). The hash takes 8 bytes a step
    (:func:`hash_span_words`): tag skeletons run to hundreds of bytes, and
    FNV-1a's byte steps made this check half of reading a 130 KB skeleton table."""
    n = offsets.size - 1
    size = table_capacity(n)
    mask = np.uint64(size - 1)
    keys = np.zeros(size, np.uint64)
    ids = np.full(size, -1, np.int64)
    for i in range(n):
        a = offsets[i]
        b = offsets[i + 1]
        h = hash_span_words(FNV64_OFFSET, data, a, b)
        slot = table_slot(h, mask)
        while ids[slot] >= 0:
            if keys[slot] == h:
                j = ids[slot]
                c = offsets[j]
                if offsets[j + 1] - c == b - a:
                    same = True
                    for k in range(b - a):
                        if data[c + k] != data[a + k]:
                            same = False
                            break
                    if same:
                        return i
            slot = (slot + np.uint64(1)) & mask
        keys[slot] = h
        ids[slot] = i
    return -1


@njit(cache=True, nogil=True)
def _read_entries(buf, max_entries, slack):
    """:meth:`StructuralDictionary.from_bytes`' reading and checks in one call:
    (error, detail, entries back to back + ``slack`` zero bytes, offsets).
    Errors: 1 no count byte, 2 bad count varint, 3 too many entries (detail:
    the count), 4 the lengths cannot fit (detail: the count), 5 bad length
    varint, 6 the entries' total differs from the bytes left (detail: the
    total), 7 duplicate entries."""
    empty = np.zeros(0, np.uint8)
    no_offsets = np.zeros(1, np.int64)
    if buf.size < 1:
        return 1, 0, empty, no_offsets
    head = np.empty(1, np.int64)
    pos = _get_varints(buf, 0, 1, head)
    if pos < 0:
        return 2, 0, empty, no_offsets
    n = head[0]
    if n > max_entries:
        return 3, n, empty, no_offsets
    if n > buf.size - pos:
        return 4, n, empty, no_offsets
    offsets = np.zeros(n + 1, np.int64)
    lengths = np.empty(n, np.int64)
    pos = _get_varints(buf, pos, n, lengths)
    if pos < 0:
        return 5, 0, empty, no_offsets
    for i in range(n):
        offsets[i + 1] = offsets[i] + lengths[i]
    if offsets[n] != buf.size - pos:
        return 6, offsets[n], empty, no_offsets
    data = np.zeros(offsets[n] + slack, np.uint8)
    data[:offsets[n]] = buf[pos:]
    if _first_duplicate(data, offsets) >= 0:
        return 7, 0, empty, no_offsets
    return 0, 0, data, offsets


def read_entries(buf, slack: int = 0, max_entries: int = MAX_ENTRIES) -> tuple[np.ndarray, np.ndarray]:
    """The entries of a serialized dictionary (:meth:`StructuralDictionary.to_bytes`)
    as (their bytes back to back followed by ``slack`` zero bytes, offsets),
    with :meth:`StructuralDictionary.from_bytes`' checks and errors but no
    dictionary object: a decoder that only indexes entries (the markup layer's
    skeletons) reads its stream in one kernel call."""
    arr = np.frombuffer(buf, np.uint8) if not isinstance(buf, np.ndarray) else buf
    limit = min(max_entries, MAX_ENTRIES)
    err, detail, data, offsets = _read_entries(arr, limit, slack)
    if err == 0:
        return data, offsets
    if err == 3:
        raise LimitError(f"structural dictionary: {detail} entries exceed the limit {limit}")
    if err == 6:
        raise FormatError(f"structural dictionary: entries need {detail} bytes, fewer or more are present")
    raise FormatError({
        1: "structural dictionary count: 1 varints cannot fit in 0 bytes",
        2: "structural dictionary count: bad or truncated varint",
        4: f"structural dictionary lengths: {detail} varints cannot fit in the bytes left",
        5: "structural dictionary lengths: bad or truncated varint",
        7: "structural dictionary: duplicate entries"}[err])


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
    """Byte patterns <-> dense ids (at most 65,536), with frequency counts.

    A dictionary read by :meth:`from_bytes` / :meth:`from_arrays` keeps only
    its flat arrays until an entry is asked for by value (``d[i]``, ``id_of``,
    iteration): the decoders use :attr:`data` and :attr:`offsets` alone, and
    building a bytes object and an index entry per pattern was most of the
    Python time of decoding a markup block."""

    __slots__ = ("_entries_list", "_index_dict", "_counts", "_arrays")

    def __init__(self, entries=(), counts=None):
        # built whole rather than by add() per entry: the markup transform
        # makes dictionaries of thousands of skeletons and names per block
        self._entries_list: list[bytes] = [bytes(e) for e in entries]
        self._index_dict: dict[bytes, int] = {e: i for i, e in enumerate(self._entries_list)}
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

    @property
    def _entries(self) -> list:
        if self._entries_list is None:
            data, offsets = self._arrays
            raw = data.tobytes()
            self._entries_list = [raw[a:b] for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist())]
        return self._entries_list

    @property
    def _index(self) -> dict:
        if self._index_dict is None:
            self._index_dict = {e: i for i, e in enumerate(self._entries)}
        return self._index_dict

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
            self._arrays = None  # (the entries list exists now: _entries built it)
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
        if self._entries_list is None:
            return self._arrays[1].size - 1
        return len(self._entries_list)

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
        # read-only, as np.frombuffer of bytes is: kernels then see one array type
        data = readonly(np.ascontiguousarray(data, np.uint8))
        if _first_duplicate(data, offsets) >= 0:
            raise FormatError("structural dictionary: duplicate entries")
        return cls._of_arrays(data, offsets, [1] * (offsets.size - 1) if counts is None else [int(c) for c in counts])

    @classmethod
    def of_distinct(cls, entries: list, counts, lengths=None) -> "StructuralDictionary":
        """A dictionary of ``entries`` the caller knows to be distinct (no check,
        no per-entry add); ``lengths``: their lengths, when the caller has them."""
        if lengths is None:
            lengths = np.fromiter((len(e) for e in entries), np.int64, len(entries))
        offsets = np.zeros(len(entries) + 1, np.int64)
        np.cumsum(lengths, out=offsets[1:])
        d = cls._of_arrays(np.frombuffer(b"".join(entries), np.uint8), offsets, [int(c) for c in counts])
        d._entries_list = list(entries)
        return d

    @classmethod
    def of_distinct_arrays(cls, data: np.ndarray, offsets: np.ndarray, counts) -> "StructuralDictionary":
        """A dictionary of the entries data[offsets[i]:offsets[i + 1]], which the
        caller knows to be distinct (no check; the entry list is made when asked for)."""
        return cls._of_arrays(readonly(np.ascontiguousarray(data, np.uint8)), offsets, np.asarray(counts).tolist())

    @classmethod
    def _of_arrays(cls, data: np.ndarray, offsets: np.ndarray, counts: list) -> "StructuralDictionary":
        d = cls.__new__(cls)
        d._entries_list = None
        d._index_dict = None
        d._counts = counts
        d._arrays = (data, offsets)
        return d

    def __repr__(self) -> str:
        return f"StructuralDictionary({len(self)} entries)"
