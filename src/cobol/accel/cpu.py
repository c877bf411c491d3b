"""The CPU backend: Numba and NumPy, always available, and the reference.

L3/L4 and intcodec operations call the layers' own functions, so the CPU
backend *defines* the bytes every other backend must produce. The other
operations (varints, histograms, pattern matching, dictionary lookup) are
Numba kernels here; inputs larger than an engine block run on a thread pool
over contiguous spans of at least PARALLEL_MIN_SPAN (the kernels are
``nogil``); smaller ones are a single call (the engine's own block threads
already use the cores).
"""

from __future__ import annotations

import os
import platform
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

from ..errors import FormatError, LimitError
from ..layers import batch_kernels, intcodec, l3_delta, l4_bitpack
from ..layers.primitives import (
    byte_histogram, find_hash, find_span, fnv1a64, put_varints, read_varint, varint_len,
)
from .base import (
    ALL_STRATEGIES, Backend, DeviceInfo, DictionaryTable, as_bytes_array,
    as_pattern_set, check_offsets, check_tokens, varint_error,
)

#: spans below this many bytes / elements are not split across threads. The
#: engine already runs its blocks (8 MiB by default) on all cores, so only
#: inputs larger than a block are split here (on a busy 2-core machine smaller
#: splits measured no faster than one thread, docs/ACCEL.md)
PARALLEL_MIN_SPAN = 1 << 23

_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=_threads(), thread_name_prefix="cobol-accel")
        return _pool


def _spans(n: int, threads: int) -> list:
    k = max(1, min(threads, n // PARALLEL_MIN_SPAN))
    edges = [n * i // k for i in range(k + 1)]
    return list(zip(edges[:-1], edges[1:]))


def _map_spans(fn, n: int, threads: int) -> list:
    """fn(a, b) over contiguous spans covering range(n); a pool only when it pays.

    The pool is private to this module and its tasks never wait on it, so a
    caller that is itself a worker of another pool (the engine's) cannot
    deadlock here."""
    spans = _spans(n, threads)
    if len(spans) == 1:
        return [fn(*spans[0])]
    return list(_executor().map(lambda ab: fn(*ab), spans))


def _host(x):
    """A NumPy view of a host array, or a host copy of a foreign device array."""
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "get") and hasattr(x, "dtype"):  # CuPy / PyOpenCL arrays
        return x.get()
    return x


# ---------------------------------------------------------------- varint kernels


@njit(cache=True, nogil=True)
def _varints_total(values):
    total = 0
    for i in range(values.size):
        total += varint_len(values[i])
    return total


@njit(cache=True, nogil=True)
def _varint_decode(buf, a, b, out, o):
    """Decode the varints of buf[a:b] (b is just past a terminator) into out[o:].

    Returns (count, error kind, byte offset of the bad varint); kinds as in
    base.varint_error and primitives.read_varint."""
    p = a
    j = o
    while p < b:
        v, q, err = read_varint(buf, p, b)
        if err:
            return j - o, err, p
        out[j] = v
        j += 1
        p = q
    return j - o, 0, 0


# ---------------------------------------------------------------- histogram kernels


@njit(cache=True, nogil=True)
def _segment_histograms(data, off):
    k = off.size - 1
    out = np.zeros((k, 256), np.uint64)
    for s in range(k):
        for i in range(off[s], off[s + 1]):
            out[s, data[i]] += 1
    return out


# ---------------------------------------------------------------- pattern kernels


@njit(cache=True, nogil=True, inline="always")
def _match_mask(data, i, blob, off, lut, single):
    n = data.size
    cand = lut[data[i]]
    m = cand & single  # one-byte patterns match on the table alone
    cand &= ~single
    j = 0
    while cand:
        if cand & np.uint32(1):
            a = off[j]
            ln = off[j + 1] - a
            if i + ln <= n:
                ok = True
                for k in range(1, ln):
                    if data[i + k] != blob[a + k]:
                        ok = False
                        break
                if ok:
                    m |= np.uint32(1) << np.uint32(j)
        cand >>= np.uint32(1)
        j += 1
    return m


@njit(cache=True, nogil=True)
def _match_count(data, a, b, blob, off, lut, single):
    c = 0
    for i in range(a, b):
        m = _match_mask(data, i, blob, off, lut, single)
        while m:
            c += 1
            m &= m - np.uint32(1)
    return c


@njit(cache=True, nogil=True)
def _match_fill(data, a, b, blob, off, lut, single, pos, ids, o):
    for i in range(a, b):
        m = _match_mask(data, i, blob, off, lut, single)
        j = 0
        while m:
            if m & np.uint32(1):
                pos[o] = i
                ids[o] = j
                o += 1
            m >>= np.uint32(1)
            j += 1
    return o


@njit(cache=True, nogil=True)
def _match_bitmap(data, a, b, blob, off, lut, single, out):
    """a is a multiple of 8, so spans write whole bytes of their own."""
    for i in range(a, b):
        m = _match_mask(data, i, blob, off, lut, single)
        j = 0
        while m:
            if m & np.uint32(1):
                out[j, i >> 3] |= np.uint8(1 << (i & 7))
            m >>= np.uint32(1)
            j += 1


# ---------------------------------------------------------------- dictionary kernels


@njit(cache=True, nogil=True)
def _hash_tokens(buf, starts, ends, a, b, out):
    for i in range(a, b):
        out[i] = fnv1a64(buf, starts[i], ends[i])


@njit(cache=True, nogil=True)
def _lookup_tokens(buf, starts, ends, slot_hash, slot_id, key_data, key_off, mask, a, b, out):
    for i in range(a, b):
        out[i] = find_span(buf, starts[i], ends[i], slot_hash, slot_id, key_data, key_off, mask)


@njit(cache=True, nogil=True)
def _lookup_hashes(hashes, slot_hash, slot_id, mask, a, b, out):
    for i in range(a, b):
        out[i] = find_hash(hashes[i], slot_hash, slot_id, mask)


# ---------------------------------------------------------------- the backend


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


def _memory_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


class CpuBackend(Backend):
    """Numba/NumPy kernels on the host; ``threads`` bounds the span pool."""

    name = "cpu"
    min_batch = 0

    def __init__(self, threads: int | None = None):
        self.threads = threads or _threads()

    def device_info(self) -> DeviceInfo:
        import numba
        return DeviceInfo(name=_cpu_name(), kind="cpu", vendor=platform.machine(),
                          platform=f"numba {numba.__version__}, numpy {np.__version__}",
                          memory_bytes=_memory_bytes(), compute_units=self.threads)

    # ------------------------------------------------------------ memory

    def allocate(self, n: int, dtype) -> np.ndarray:
        return np.empty(int(n), dtype)

    def upload(self, host) -> np.ndarray:
        x = _host(host)
        return np.array(x, copy=True) if isinstance(x, np.ndarray) else as_bytes_array(x).copy()

    def download(self, array) -> np.ndarray:
        return np.array(_host(array), copy=True)

    def synchronize(self) -> None:
        pass

    # ------------------------------------------------------------ varints

    def varint_encode(self, values) -> bytes:
        v = np.ascontiguousarray(_host(values), np.uint64).ravel()
        out = np.empty(_varints_total(v), np.uint8)
        put_varints(v, out, 0)
        return out.tobytes()

    def varint_decode(self, buf, max_count: int) -> np.ndarray:
        b = as_bytes_array(_host(buf))
        if b.size and b[-1] >= 0x80:
            start = int(np.flatnonzero(b < 0x80)[-1]) + 1 if np.any(b < 0x80) else 0
            index = int(np.count_nonzero(b < 0x80))
            if b.size - start > 10:
                raise varint_error(1, index, start)
            raise varint_error(4, index, start)
        ends = np.flatnonzero(b < 0x80)
        count = ends.size
        if count > max_count:
            raise LimitError(f"{count} varints, more than the limit {max_count}")
        out = np.empty(count, np.uint64)
        if count == 0:
            return out
        # spans cut just after a terminator, so each holds whole varints
        spans = _spans(count, self.threads)
        cuts = [0] + [int(ends[j - 1]) + 1 for _, j in spans]
        firsts = [a for a, _ in spans]

        def run(k):
            return _varint_decode(b, cuts[k], cuts[k + 1], out, firsts[k])

        results = list(_executor().map(run, range(len(spans)))) if len(spans) > 1 else [run(0)]
        for k, (got, kind, offset) in enumerate(results):
            if kind:
                raise varint_error(kind, firsts[k] + got, offset)
        return out

    # ------------------------------------------------------------ L3 / L4 / intcodec (the reference)

    def choose_orders(self, values, chunk: int) -> np.ndarray:
        return l3_delta.choose_orders(np.ascontiguousarray(_host(values), np.int64).ravel(), chunk)

    def delta_encode(self, values, orders, chunk: int, zigzag0: bool = True) -> np.ndarray:
        return l3_delta.delta_encode(np.ascontiguousarray(_host(values), np.int64).ravel(),
                                     _host(orders), chunk, zigzag0=zigzag0)

    def delta_decode(self, codes, orders, chunk: int, zigzag0: bool = True) -> np.ndarray:
        return l3_delta.delta_decode(np.ascontiguousarray(_host(codes), np.uint64).ravel(),
                                     _host(orders), chunk, zigzag0=zigzag0)

    def bitpack_analyze(self, codes, chunk: int):
        return l4_bitpack.analyze(np.ascontiguousarray(_host(codes), np.uint64).ravel(), chunk)

    def bitpack(self, codes, chunk: int, tags=None, allowed: tuple = ALL_STRATEGIES) -> bytes:
        return l4_bitpack.pack(np.ascontiguousarray(_host(codes), np.uint64).ravel(), chunk,
                               tags=None if tags is None else _host(tags), allowed=tuple(allowed))

    def bitunpack(self, buf, max_count: int, what: str = "bitpack") -> tuple:
        return l4_bitpack.unpack(_host(buf), max_count, what=what)

    def encode_ints_packed(self, values) -> bytes:
        # the reference: the layers' own kernels, whatever provider a caller installed
        with batch_kernels.using(None):
            return intcodec.encode_ints(np.ascontiguousarray(_host(values), np.int64).ravel(), modes=(intcodec.PACKED,))

    # ------------------------------------------------------------ dictionary lookup

    def _tokens(self, buf, starts, ends):
        b = as_bytes_array(_host(buf))
        s = np.ascontiguousarray(_host(starts), np.uint64).ravel()
        e = np.ascontiguousarray(_host(ends), np.uint64).ravel()
        check_tokens(s, e, b.size)
        return b, s, e

    def hash_tokens(self, buf, starts, ends) -> np.ndarray:
        b, s, e = self._tokens(buf, starts, ends)
        out = np.empty(s.size, np.uint64)
        _map_spans(lambda a, z: _hash_tokens(b, s, e, a, z, out), s.size, self.threads)
        return out

    def dictionary_lookup(self, table: DictionaryTable, buf, starts, ends) -> np.ndarray:
        if not table.has_keys:
            raise ValueError("a table built from hashes has no keys: use hash_lookup")
        b, s, e = self._tokens(buf, starts, ends)
        out = np.empty(s.size, np.int32)
        mask = np.uint64(table.mask)
        _map_spans(lambda a, z: _lookup_tokens(b, s, e, table.slot_hash, table.slot_id, table.key_data,
                                               table.key_off, mask, a, z, out), s.size, self.threads)
        return out

    def hash_lookup(self, table: DictionaryTable, hashes) -> np.ndarray:
        h = np.ascontiguousarray(_host(hashes), np.uint64).ravel()
        out = np.empty(h.size, np.int32)
        mask = np.uint64(table.mask)
        _map_spans(lambda a, z: _lookup_hashes(h, table.slot_hash, table.slot_id, mask, a, z, out),
                   h.size, self.threads)
        return out

    # ------------------------------------------------------------ histogram

    def byte_histogram(self, data, offsets=None) -> np.ndarray:
        d = as_bytes_array(_host(data))
        if offsets is not None:
            return _segment_histograms(d, check_offsets(_host(offsets), d.size))
        parts = _map_spans(lambda a, b: byte_histogram(d[a:b]).view(np.uint64), d.size, self.threads)
        return np.sum(parts, axis=0, dtype=np.uint64) if len(parts) > 1 else parts[0]

    # ------------------------------------------------------------ pattern matching

    def find_patterns(self, data, patterns) -> tuple:
        d = as_bytes_array(_host(data))
        ps = as_pattern_set(patterns)
        tables = (ps.blob, ps.offsets, ps.first_lut, ps.single_mask)
        spans = _spans(d.size, self.threads)
        counts = _map_spans(lambda a, b: _match_count(d, a, b, *tables), d.size, self.threads)
        total = int(sum(counts))
        pos = np.empty(total, np.int64)
        ids = np.empty(total, np.uint8)
        firsts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        jobs = [(a, b, int(o)) for (a, b), o in zip(spans, firsts)]

        def fill(job):
            _match_fill(d, job[0], job[1], *tables, pos, ids, job[2])

        list(_executor().map(fill, jobs)) if len(jobs) > 1 else fill(jobs[0])
        return pos, ids

    def pattern_bitmap(self, data, patterns) -> np.ndarray:
        d = as_bytes_array(_host(data))
        ps = as_pattern_set(patterns)
        tables = (ps.blob, ps.offsets, ps.first_lut, ps.single_mask)
        out = np.zeros((len(ps), (d.size + 7) // 8), np.uint8)
        if d.size == 0:
            return out
        # span starts on whole output bytes, so no two spans write one byte
        edges = sorted({0, d.size, *[(a // 8) * 8 for a, _ in _spans(d.size, self.threads)]})
        jobs = list(zip(edges[:-1], edges[1:]))

        def fill(job):
            _match_bitmap(d, job[0], job[1], *tables, out)

        list(_executor().map(fill, jobs)) if len(jobs) > 1 else fill(jobs[0])
        return out


__all__ = ["CpuBackend", "FormatError"]
