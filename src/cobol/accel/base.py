"""The accelerator interface: one :class:`Backend` per kind of device.

A backend offers device memory (allocate/free, upload/download, synchronize)
and the batch operations the layers spend their time in:

==================  ==============================================================
varint              LEB128 encode / decode of a uint64 batch (cobol.format.wire)
delta               L3 per-chunk delta orders, encode, decode (cobol.layers.l3_delta)
bit packing         L4 analysis, pack, unpack: const, FOR, zero run, delta,
                    patched (cobol.layers.l4_bitpack)
int frame           intcodec's PACKED layout end to end (frame of reference,
                    L3, L4), also from data already on the device
dictionary lookup   tokens (byte ranges) or token hashes to dense ids
histogram           byte histograms (one or per segment) and Shannon entropy
pattern matching    every occurrence of up to 32 byte patterns, as positions or
                    as one bitmap per pattern
==================  ==============================================================

**Every backend returns exactly the same bytes and arrays** for the same
input; the CPU backend *is* the reference (it calls the layers' own kernels),
and the tests hold every other backend to it. So a file compressed with a GPU
decompresses on a CPU and the reverse.

Inputs are NumPy arrays, bytes-like objects or the backend's own device arrays
(a CuPy array for CUDA, a ``pyopencl.array.Array`` for OpenCL); outputs are
NumPy arrays or ``bytes`` on the host. Decoders treat their input as hostile
and raise :class:`~cobol.errors.FormatError` / :class:`~cobol.errors.LimitError`,
like the layers they mirror.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import ClassVar, Sequence

import numpy as np

from ..errors import FormatError
from ..layers.primitives import build_hash_table, build_span_table, find_span, fnv1a64, table_capacity

#: L4 strategies, in the numbering of cobol.layers.l4_bitpack
ALL_STRATEGIES = (0, 1, 2, 3, 4)
#: at most this many patterns per pattern-matching call (one bit each in a u32 mask)
MAX_PATTERNS = 32


@dataclass(frozen=True)
class DeviceInfo:
    """What ``cobol info`` shows about a backend's device."""

    name: str
    #: "cpu", "gpu" or "accelerator"
    kind: str
    vendor: str = ""
    #: the software stack: "numba 0.61", "OpenCL 3.0 PoCL 6.0", "CUDA 12.4"
    platform: str = ""
    memory_bytes: int = 0
    compute_units: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def as_bytes_array(data) -> np.ndarray:
    """Any bytes-like object (or uint8 array) as a contiguous uint8 array, without a copy when possible."""
    if isinstance(data, np.ndarray):
        return np.ascontiguousarray(data.reshape(-1).view(np.uint8) if data.dtype != np.uint8 else data.reshape(-1))
    return np.frombuffer(memoryview(data).cast("B"), np.uint8)


def shannon_entropy(hist: np.ndarray) -> float:
    """Order-0 entropy in bits per symbol of a histogram (0.0 when empty).

    All backends compute it with this one function from their (identical)
    integer histograms, so the float is identical too.
    """
    h = np.asarray(hist, dtype=np.float64).ravel()
    total = h.sum()
    if total <= 0:
        return 0.0
    p = h[h > 0] / total
    return float(-(p * np.log2(p)).sum())


# ---------------------------------------------------------------- dictionary table


class DictionaryTable:
    """A read-only dictionary of byte-string keys (or of 64-bit token hashes)
    to dense ids ``0 .. n-1``, laid out for device lookup: an open-addressing
    table (linear probing, at most half full) keyed by the FNV-1a 64 hash of
    each key (:func:`token_hash`; the layout of
    :func:`cobol.layers.primitives.build_span_table`), plus the keys themselves so that a lookup
    compares bytes and never trusts a hash alone.

    Build it once per dictionary (e.g. from a
    :class:`~cobol.layers.structural_dictionary.StructuralDictionary`'s
    ``data``/``offsets``); backends upload it once and keep it.

    >>> t = DictionaryTable([b"id", b"name"])
    >>> len(t), t.id_of(b"name"), t.id_of(b"x")
    (2, 1, -1)
    """

    def __init__(self, keys: Sequence[bytes] = ()):
        keys = [bytes(k) for k in keys]
        off = np.zeros(len(keys) + 1, np.uint64)
        if keys:
            off[1:] = np.cumsum([len(k) for k in keys], dtype=np.uint64)
        self._init(np.frombuffer(b"".join(keys), np.uint8).copy(), off, None)

    @classmethod
    def from_arrays(cls, data: np.ndarray, offsets: np.ndarray) -> "DictionaryTable":
        """Keys as concatenated bytes plus ``n + 1`` offsets (StructuralDictionary's layout)."""
        t = cls.__new__(cls)
        offsets = np.ascontiguousarray(offsets, np.uint64)
        data = np.ascontiguousarray(data, np.uint8)
        if offsets.size < 1 or offsets[0] != 0 or np.any(np.diff(offsets.astype(np.int64)) < 0) \
                or int(offsets[-1]) > data.size:
            raise ValueError("offsets must start at 0, not decrease and stay within data")
        t._init(data, offsets, None)
        return t

    @classmethod
    def from_hashes(cls, hashes: np.ndarray) -> "DictionaryTable":
        """A table of token hashes (id = position); only :meth:`Backend.hash_lookup` uses it."""
        t = cls.__new__(cls)
        t._init(None, None, np.ascontiguousarray(hashes, np.uint64))
        return t

    def _init(self, key_data, key_off, hashes):
        n = (key_off.size - 1) if hashes is None else hashes.size
        if n >= 1 << 31:
            raise ValueError("at most 2**31 - 1 keys")
        cap = table_capacity(n)
        self.size = n
        self.key_data = key_data if key_data is not None else np.zeros(0, np.uint8)
        self.key_off = key_off if key_off is not None else np.zeros(1, np.uint64)
        self.has_keys = hashes is None
        if hashes is None:
            # slot_id: the index of the first of equal keys, int32 for the device kernels
            self.slot_hash, first, _, _, _ = build_span_table(self.key_data, self.key_off[:-1], self.key_off[1:],
                                                              cap, n)
            self.slot_id = first.astype(np.int32)
        else:
            self.slot_hash, self.slot_id, dup = build_hash_table(hashes, cap)
            if dup >= 0:
                raise ValueError(f"hash {int(hashes[dup]):#x} repeats at index {dup}")
        self.mask = cap - 1
        #: device copies, one per backend instance (filled by the backends)
        self.device_cache: dict = {}

    def __len__(self) -> int:
        return self.size

    def id_of(self, key: bytes) -> int:
        if not self.has_keys:
            raise ValueError("a table built from hashes has no keys")
        buf = np.frombuffer(bytes(key), np.uint8)
        return int(find_span(buf, np.uint64(0), np.uint64(buf.size), self.slot_hash, self.slot_id, self.key_data, self.key_off,
                             np.uint64(self.mask)))


def token_hash(token: bytes) -> int:
    """The 64-bit FNV-1a hash the dictionary tables use."""
    b = np.frombuffer(bytes(token), np.uint8)
    return int(fnv1a64(b, 0, b.size))


# ---------------------------------------------------------------- pattern sets


class PatternSet:
    """Up to 32 non-empty byte patterns, prepared for matching: the
    concatenated bytes, ``n + 1`` offsets and a 256-entry table whose entry
    ``b`` has bit ``j`` set when pattern ``j`` starts with byte ``b``."""

    def __init__(self, patterns: Sequence[bytes]):
        pats = [bytes(p) for p in patterns]
        if not 1 <= len(pats) <= MAX_PATTERNS:
            raise ValueError(f"1 to {MAX_PATTERNS} patterns expected, got {len(pats)}")
        if any(len(p) == 0 for p in pats):
            raise ValueError("empty pattern")
        self.patterns = pats
        self.blob = np.frombuffer(b"".join(pats), np.uint8).copy()
        self.offsets = np.zeros(len(pats) + 1, np.uint32)
        self.offsets[1:] = np.cumsum([len(p) for p in pats])
        self.first_lut = np.zeros(256, np.uint32)
        for j, p in enumerate(pats):
            self.first_lut[p[0]] |= np.uint32(1 << j)
        #: bits of the one-byte patterns: a table hit is already a match
        self.single_mask = np.uint32(sum(1 << j for j, p in enumerate(pats) if len(p) == 1))
        self.device_cache: dict = {}

    def __len__(self) -> int:
        return len(self.patterns)


def as_pattern_set(patterns) -> PatternSet:
    return patterns if isinstance(patterns, PatternSet) else PatternSet(patterns)


# ---------------------------------------------------------------- the interface


class Backend(ABC):
    """One device and the batch operations on it (see the module docstring).

    Subclasses: :class:`cobol.accel.cpu.CpuBackend` (the reference),
    :class:`cobol.accel.opencl.OpenCLBackend`, :class:`cobol.accel.cuda.CudaBackend`.
    Get one through :func:`cobol.accel.get_backend`.
    """

    name: ClassVar[str]
    #: below this many elements (or bytes) a call is not worth a device round
    #: trip; :mod:`cobol.accel.offload` keeps such batches on the CPU kernels
    min_batch: ClassVar[int] = 0

    # ------------------------------------------------------------ device and memory

    @abstractmethod
    def device_info(self) -> DeviceInfo: ...

    @property
    def is_gpu(self) -> bool:
        return self.device_info().kind != "cpu"

    @abstractmethod
    def allocate(self, n: int, dtype) -> object:
        """An uninitialised device array of ``n`` elements."""

    def free(self, array) -> None:
        """Release a device array now rather than when it is collected."""

    @abstractmethod
    def upload(self, host) -> object:
        """A device copy of a NumPy array (or bytes-like object, as uint8)."""

    @abstractmethod
    def download(self, array) -> np.ndarray:
        """A host copy of a device array."""

    @abstractmethod
    def synchronize(self) -> None:
        """Wait until the work queued on the device is done."""

    def is_device_array(self, x) -> bool:
        return False

    # ------------------------------------------------------------ varints

    @abstractmethod
    def varint_encode(self, values) -> bytes:
        """uint64 values -> concatenated minimal LEB128 varints."""

    @abstractmethod
    def varint_decode(self, buf, max_count: int) -> np.ndarray:
        """Concatenated varints -> uint64 values. The whole buffer must be
        varints (FormatError otherwise: truncated, longer than 10 bytes, not
        minimal, above 64 bits); more than ``max_count`` is a LimitError."""

    # ------------------------------------------------------------ L3 delta

    @abstractmethod
    def choose_orders(self, values, chunk: int) -> np.ndarray:
        """l3_delta.choose_orders: the delta order (uint8) of each chunk of int64 values."""

    @abstractmethod
    def delta_encode(self, values, orders, chunk: int, zigzag0: bool = True) -> np.ndarray:
        """l3_delta.delta_encode: int64 values -> uint64 residual codes."""

    @abstractmethod
    def delta_decode(self, codes, orders, chunk: int, zigzag0: bool = True) -> np.ndarray:
        """l3_delta.delta_decode: uint64 codes -> int64 values (FormatError on a bad order)."""

    # ------------------------------------------------------------ L4 bit packing

    @abstractmethod
    def bitpack_analyze(self, codes, chunk: int):
        """l4_bitpack.analyze: a BitWidthAnalysis of uint64 codes."""

    @abstractmethod
    def bitpack(self, codes, chunk: int, tags=None, allowed: tuple = ALL_STRATEGIES) -> bytes:
        """l4_bitpack.pack, byte for byte."""

    @abstractmethod
    def bitunpack(self, buf, max_count: int, what: str = "bitpack") -> tuple:
        """l4_bitpack.unpack: (codes uint64, tags uint8); accepts and rejects the same buffers."""

    # ------------------------------------------------------------ intcodec

    @abstractmethod
    def encode_ints_packed(self, values) -> bytes:
        """intcodec.encode_ints(values, modes=(PACKED,)), byte for byte: frame of
        reference, L3 and L4 on the device when ``values`` already live there."""

    # ------------------------------------------------------------ dictionary lookup

    @abstractmethod
    def hash_tokens(self, buf, starts, ends) -> np.ndarray:
        """FNV-1a 64 of each token ``buf[starts[i]:ends[i]]`` (uint64)."""

    @abstractmethod
    def dictionary_lookup(self, table: DictionaryTable, buf, starts, ends) -> np.ndarray:
        """The id (int32) of each token ``buf[starts[i]:ends[i]]`` in ``table``, -1 if absent."""

    @abstractmethod
    def hash_lookup(self, table: DictionaryTable, hashes) -> np.ndarray:
        """The id (int32) of each 64-bit token hash in a hash table, -1 if absent."""

    # ------------------------------------------------------------ histogram and entropy

    @abstractmethod
    def byte_histogram(self, data, offsets=None) -> np.ndarray:
        """Counts of each byte value: shape (256,), or (k, 256) for the k
        segments ``data[offsets[i]:offsets[i+1]]`` when ``offsets`` is given."""

    def entropy(self, data) -> float:
        """Order-0 Shannon entropy of ``data`` in bits per byte."""
        return shannon_entropy(self.byte_histogram(data))

    def segment_entropy(self, data, offsets) -> np.ndarray:
        """Entropy (bits per byte) of each segment ``data[offsets[i]:offsets[i+1]]``."""
        hists = self.byte_histogram(data, offsets)
        return np.array([shannon_entropy(h) for h in hists], dtype=np.float64)

    # ------------------------------------------------------------ pattern matching

    @abstractmethod
    def find_patterns(self, data, patterns) -> tuple:
        """Every occurrence (overlapping ones too) of each pattern: (positions
        int64, pattern indices uint8), ordered by position, then pattern index."""

    @abstractmethod
    def pattern_bitmap(self, data, patterns) -> np.ndarray:
        """uint8 array (len(patterns), ceil(len(data) / 8)): bit ``i % 8`` of byte
        ``i // 8`` of row ``j`` is set when pattern ``j`` occurs at position ``i``."""

    # ------------------------------------------------------------ description

    def describe(self) -> dict:
        return {"backend": self.name, **self.device_info().to_dict()}

    def __repr__(self) -> str:
        info = self.device_info()
        return f"<{type(self).__name__} {info.name!r} ({info.kind})>"


# ---------------------------------------------------------------- shared checks


def check_chunk(chunk: int, limit: int) -> int:
    chunk = int(chunk)
    if not 1 <= chunk <= limit:
        raise ValueError(f"chunk must be in 1..{limit}, got {chunk}")
    return chunk


def check_tokens(starts: np.ndarray, ends: np.ndarray, nbuf: int) -> None:
    if starts.shape != ends.shape:
        raise ValueError("starts and ends differ in length")
    if starts.size and (np.any(starts > ends) or int(ends.max()) > nbuf):
        bad = int(np.flatnonzero((starts > ends) | (ends > nbuf))[0])
        raise ValueError(f"token {bad} [{int(starts[bad])}:{int(ends[bad])}] outside the buffer of {nbuf} bytes")


def check_offsets(offsets, n: int) -> np.ndarray:
    off = np.ascontiguousarray(offsets, np.int64).ravel()
    if off.size < 1 or off[0] < 0 or off[-1] > n or np.any(np.diff(off) < 0):
        raise ValueError("offsets must be non-decreasing within the data")
    return off


def varint_error(kind: int, index: int, offset: int) -> FormatError:
    what = {1: "is longer than 10 bytes", 2: "is not minimal", 3: "exceeds 64 bits", 4: "is truncated"}[kind]
    return FormatError(f"varint {index} at offset {offset} {what}")


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def log2_ceil(x: int) -> int:
    return max(0, math.ceil(math.log2(x))) if x > 0 else 0
