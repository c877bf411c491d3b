"""CobolEngine: detect -> plan -> layers -> entropy -> blocks, and back.

The engine only composes: detection (``detect``), the planner (``plan``), the
transforms and codecs in ``registry``, and the byte layout in ``format``.
Blocks are independent, so they are encoded and decoded on a thread pool;
zstandard and the ``nogil`` Numba kernels release the GIL. Each block's bytes
depend only on its input and the settings, so the output is identical for
every thread count.
"""

from __future__ import annotations

import functools
import itertools
import os
import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from . import detect as _detect
from . import searchindex
from .errors import CobolError, DictionaryError, EncodeError, FormatError, LimitError
from .format import checksum as ck
from .format.frame import (
    DataBlock, EndRecord, FLAG_COMPACT, FLAG_DICTIONARY, FrameHeader, Limits, MetadataBlock,
    MAX_BLOCK_SIZE, block_where, check_block_checksum, check_stream_table, encode_compact_frame, encode_data_block, encode_end_record,
    encode_frame_header, encode_metadata_block, iter_frame_records, read_single_compact,
)
from .entropy import decode_streams
from .layers import batch_kernels as _batch_kernels
from .levels import DEFAULT_LEVEL, MAX_LEVEL, MIN_LEVEL  # noqa: F401  (re-exported)
from .layers.raw import RawTransform as _raw_transform
from .plan import FIXED_PLANS, BlockPlan, choose_plan
from .registry import LAYER_NAMES, OUTPUT_SLACK, DecodeContext, EncodeContext, get_codec, get_transform, transform_by_name

DEFAULT_BLOCK_SIZE = 8 << 20
_NO_ITEM = object()  # the end of an iterator of items


class _AcceleratorOnDemand:
    """The accelerator's batch-kernel provider for ``backend`` (what
    ``cobol.accel.offload.using`` installs), with ``cobol.accel`` imported on
    the first batch a layer hands over instead of with the engine: blocks whose
    transform runs no batch kernels (raw, tiny blocks, most formats) then never
    load the accelerator package and its Numba kernels. Same choices, same
    output: it delegates every call to ``offload.BackendProvider`` (which holds
    the backend spec only). One per engine, made with it, so the import and
    the provider are made once, not per block (5-10 us of a small JSON block's
    decode)."""

    def __init__(self, backend):
        self.backend = backend
        self._provider = None

    def kernels_for(self, n: int):
        if self._provider is None:
            from .accel.offload import BackendProvider
            self._provider = BackendProvider(self.backend)
        return self._provider.kernels_for(n)




@functools.lru_cache(maxsize=1)
def default_threads() -> int:
    """The cores this process may run on, read once: the system call is 3-5 us
    of every ``cobol.decompress`` call, a tenth of a 10 KB frame's decode."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass
class BlockReport:
    """What happened to one block; handed to the profiler and to ``--list -v``."""

    seq: int
    fmt: str
    plan: str
    raw_len: int
    stored_len: int
    streams: list  # (name, codec name, decoded_len, stored_len)
    trials: list = field(default_factory=list)
    seconds: float = 0.0
    #: {phase: (wall seconds, CPU seconds)}; filled only when a profiler is attached
    phases: dict = field(default_factory=dict)


class PhaseClock:
    """Wall and thread-CPU seconds per phase of one block; made only when profiling."""

    __slots__ = ("laps", "_wall", "_cpu")

    def __init__(self):
        self.laps = {}
        self._wall, self._cpu = time.perf_counter(), time.thread_time()

    def lap(self, phase: str) -> None:
        wall, cpu = time.perf_counter(), time.thread_time()
        w, c = self.laps.get(phase, (0.0, 0.0))
        self.laps[phase] = (w + wall - self._wall, c + cpu - self._cpu)
        self._wall, self._cpu = wall, cpu


# Table boundaries are looked for in probes: 1 / TABLE_PROBE_SHARE of every
# block_size // TABLE_MIN_SHARE bytes (1/8 of the bytes); two probes whose lines
# mostly have different delimiter counts bracket a boundary, found exactly in
# the bytes between them. A table between two probes of the same width is
# missed (it stays in its neighbour's block, as before).
TABLE_MIN_SHARE = 32  # a block cut at a table holds at least block_size // 32 bytes
TABLE_PROBE_SHARE = 8  # a probe is 1/8 of the probe spacing
TABLE_MODE_SHARE = 0.6  # a probe has a width when this share of its lines agrees
TABLE_RUN_LINES = 8  # the new table's first run of lines of its width, at least


def _delimiter_counts(arr, delim: int, first_line: bool):
    """(line end offsets, delimiter count per line) of the complete lines of
    ``arr``; the first line is skipped unless ``first_line`` (it may start
    before ``arr``)."""
    import numpy as np

    nl = np.flatnonzero(arr == 10)
    per_line = np.diff(np.searchsorted(np.flatnonzero(arr == delim), nl), prepend=0)
    if not first_line:
        nl, per_line = nl[1:], per_line[1:]
    return nl, per_line


def table_cut(window, block_size: int, kind: str) -> int:
    """Length of the block at the start of ``window`` (the next at most
    ``block_size`` bytes of a CSV/TSV input, ``kind`` as detected) when it holds
    the end of one table and the start of a table of another width
    (concatenated CSV files: a block that mixes them is coded as one ragged
    table whose columns mix unrelated fields; 13% of the ratio on 6 copies of
    the CSV corpus concatenated, at 8 MiB blocks). The cut is after the last
    line of the first table's width before the second table's first run of
    TABLE_RUN_LINES lines; 0 when there is no boundary at least
    ``block_size // TABLE_MIN_SHARE`` bytes in. Depends on nothing but the
    window, so streaming cuts match whole-input cuts."""
    import numpy as np

    spacing = block_size // TABLE_MIN_SHARE
    probe = spacing // TABLE_PROBE_SHARE
    if len(window) < 2 * spacing or probe < 1024:
        return 0  # no room for a cut with a table after it
    arr = np.frombuffer(window, np.uint8, count=min(len(window), block_size))
    if kind == "tsv":
        delim = 9
    else:
        # the delimiter detect found: the most frequent of , ; | in the sample
        head = bytes(arr[:_detect.SAMPLE])
        delim = max(b",;|", key=head.count)
    prev_at, prev_width = None, None
    # probes every spacing bytes, and one on the window's last bytes (a table
    # that starts there is found now rather than left in this block)
    last = arr.shape[0] - probe
    for at in [*range(0, last, spacing), last]:
        _, per_line = _delimiter_counts(arr[at:at + probe], delim, at == 0)
        if per_line.shape[0] < 4:
            continue  # lines too long for a probe to say
        hist = np.bincount(per_line)
        width = int(hist.argmax())
        if hist[width] < TABLE_MODE_SHARE * per_line.shape[0]:
            continue  # no common width: a ragged stretch says nothing
        if prev_width is not None and width != prev_width:
            cut = _refine_cut(arr, prev_at, at + probe, prev_width, width, delim)
            if cut >= spacing:
                return cut
        prev_at, prev_width = at, width
    return 0


def _refine_cut(arr, lo: int, hi: int, old_width: int, new_width: int, delim: int) -> int:
    """The table boundary in ``arr[lo:hi]`` (see :func:`table_cut`) as an offset
    into ``arr``; 0 when there is none."""
    import numpy as np

    nl, per_line = _delimiter_counts(arr[lo:hi], delim, lo == 0)
    is_new = per_line == new_width
    if is_new.shape[0] < TABLE_RUN_LINES:
        return 0
    # the first line that starts TABLE_RUN_LINES lines of the new width
    run = np.convolve(is_new.astype(np.int32), np.ones(TABLE_RUN_LINES, np.int32), "valid")
    first = np.flatnonzero(run == TABLE_RUN_LINES)
    if first.shape[0] == 0:
        return 0
    old = np.flatnonzero(per_line[:first[0]] == old_width)
    if old.shape[0] == 0:
        return 0
    return lo + int(nl[old[-1]]) + 1


def split_blocks(data: bytes, block_size: int) -> list:
    """Cut ``data`` into (start, end) spans of at most ``block_size`` bytes. A
    text block ends at a newline in its second half when there is one, so
    line-oriented formats (JSON lines, CSV, logs) never have a record split
    between blocks; numeric and binary blocks are cut at exactly block_size.
    A CSV/TSV block ends early at a table boundary (see :func:`table_cut`),
    the last one too, so an input of one block_size can be cut."""
    n = len(data)
    out = []
    start = 0
    view = memoryview(data)
    while start < n:
        end = min(start + block_size, n)
        if end == n and end - start < 2 * (block_size // TABLE_MIN_SHARE):
            kind, cut = None, 0  # a last block too short to cut at a table: not even detected
        else:
            kind = _detect.detect(data[start:start + _detect.SAMPLE])
            cut = table_cut(view[start:end], block_size, kind) if kind in ("csv", "tsv") else 0
        if cut:
            end = start + cut
        elif end < n:
            if kind not in ("numeric", "binary"):
                # binary blocks keep the full size, so fixed-width values stay aligned
                cut = data.rfind(b"\n", start + block_size // 2, end)
                if cut >= 0:
                    end = cut + 1
        out.append((start, end))
        start = end
    return out


class CobolEngine:
    """Compressor and decompressor of .cobl frames.

    Parameters
    ----------
    level: 0 stores, 1..22 compress (zstd's scale; the level also picks which
        transforms the planner tries, see docs/FORMAT.md "Levels").
    block_size: bytes per independent block (default 8 MiB).
    threads: worker threads (default: all cores; 1 = no pool; more than the
        usable cores run on that many, at least 2; the output is the same for any).
    checksum: "xxh3" (xxh3-64), "sha256" or "crc32" per block. None (default):
        xxh3, except crc32 in a compact frame of at most 64 KiB (4 bytes less,
        like zstd's 4-byte frame checksum).
    layers: switches, e.g. ``{"l1": False}``; all on by default.
    plan: "auto" (default), "store", "zstd", or a transform name to force.
    fmt: skip detection and treat every block as this format.
    hints: e.g. ``{"dtype": "float64"}`` for numeric arrays.
    profiler: a ``cobol.profile.Profiler``: any object with ``on_block(report)``,
        ``start()`` and ``record(...)`` (``on_block_decoded`` optional); see docs/PROFILE.md.
    verify: decode every non-trivial transform's output before storing it.
    dictionary: a shared :class:`cobol.dictionary.Dictionary` (or its serialized
        bytes) from ``cobol.dictionary.train``: frames name it by id and need it
        to decode; made for small messages (docs/DICTIONARY.md).
    compact: write an input of one block (1..block_size bytes) as a *compact*
        frame (docs/FORMAT.md: no block size, header CRCs, end marker; 23 bytes
        less: 0.05-0.3% of a 50-400 KB text file's output, 0.5-2% of a 10-30 KB
        log's). None (default) and True: yes; False: always the full layout.
        Readers accept both layouts whatever this says.
    search_index: precede each big ``log``/``text`` block of a file frame with a
        search index record (:mod:`cobol.searchindex`: a gram bitmap of about
        0.5% of the block's bytes that lets ``cobol grep`` rule the block out
        undecoded; decoders skip it). True by default; never in compact frames
        or the stream protocol's blocks.
    """

    def __init__(self, level: int = DEFAULT_LEVEL, *, block_size: int | None = None,
                 threads: int | None = None, checksum=None, layers: dict | None = None,
                 plan: str = "auto", fmt: str | None = None, hints: dict | None = None,
                 profiler=None, backend=None, dictionary=None, verify: bool = True,
                 limits: Limits = Limits(), compact: bool | None = None, search_index: bool = True):
        if not isinstance(level, int) or not MIN_LEVEL <= level <= MAX_LEVEL:
            raise EncodeError(f"level must be an integer in {MIN_LEVEL}..{MAX_LEVEL}, got {level!r}")
        self.level = level
        self.block_size = DEFAULT_BLOCK_SIZE if block_size is None else int(block_size)
        if not 1 <= self.block_size <= min(MAX_BLOCK_SIZE, limits.max_block_size):
            # never write blocks that a decoder with the same limits refuses
            raise EncodeError(f"block size must be in 1..{min(MAX_BLOCK_SIZE, limits.max_block_size)}, got "
                              f"{self.block_size} (larger blocks need limits=Limits(max_block_size=...) on both sides)")
        self.threads = default_threads() if not threads else int(threads)
        if self.threads < 1:
            raise EncodeError(f"threads must be >= 1, got {threads}")
        self.checksum = ck.checksum_id(ck.DEFAULT_NAME if checksum is None else checksum)
        self._small_checksum = ck.SMALL_DEFAULT if checksum is None else self.checksum
        enabled = set(LAYER_NAMES)
        for name, on in (layers or {}).items():
            if name not in LAYER_NAMES:
                raise EncodeError(f"unknown layer switch {name!r}; known: {', '.join(LAYER_NAMES)}")
            (enabled.add if on else enabled.discard)(name)
        self.layers = frozenset(enabled)
        if plan not in FIXED_PLANS:
            transform_by_name(plan)  # raises UnsupportedError naming the known plans
        self.plan = plan
        if fmt is not None and fmt not in _detect.FORMATS:
            raise EncodeError(f"unknown format {fmt!r}; known: {', '.join(_detect.FORMATS)}")
        self.fmt = fmt
        self.hints = dict(hints or {})
        #: a dtype hint declares typed arrays: their blocks are numeric without
        #: detection (its byte-lane histograms were 2-7% of compressing a
        #: numeric array with its dtype at level 3; issue 15)
        self._block_fmt = fmt if fmt is not None or self.hints.get("dtype") is None else "numeric"
        self.profiler = profiler
        # None = the automatic choice, made lazily by cobol.accel on the first large batch
        self.backend = None
        if backend is not None:
            from .accel.factory import get_backend
            self.backend = get_backend(backend)
        # where the blocks' batch kernels run (installed per block: _batch_kernels.using)
        self._kernels = _AcceleratorOnDemand(self.backend)
        if isinstance(dictionary, (bytes, bytearray, memoryview)):
            from .dictionary.model import Dictionary  # a serialized shared dictionary
            dictionary = Dictionary.from_bytes(dictionary)
        self.dictionary = dictionary
        self.compact = True if compact is None else bool(compact)
        self.search_index = bool(search_index)
        self.verify = verify
        self.limits = limits

    # ------------------------------------------------------------ encoding

    def _header(self, checksum: int | None = None) -> FrameHeader:
        dict_id = getattr(self.dictionary, "dict_id", None) if self.dictionary is not None else None
        return FrameHeader(self.checksum if checksum is None else checksum, self.block_size, dict_id)

    def frame_header(self) -> bytes:
        return encode_frame_header(self._header())

    def _context(self, fmt: str) -> EncodeContext:
        return EncodeContext(level=self.level, layers=self.layers, fmt=fmt, hints=self.hints,
                             dictionary=self.dictionary, profiler=self.profiler)

    def encode_block(self, chunk, seq: int, compact: bool = False, index: bool = False) -> tuple[bytes, BlockReport]:
        """One raw block (at most block_size bytes) to its encoded record; with
        ``compact``, to a whole compact frame instead (seq 0, 1 byte at least);
        with ``index`` (file frames), preceded by its search index record where
        :func:`cobol.searchindex.wanted` says so."""
        t0 = time.perf_counter()
        clock = PhaseClock() if self.profiler is not None else None
        chunk = bytes(chunk)
        if len(chunk) > self.block_size:
            raise EncodeError(f"block of {len(chunk)} bytes exceeds the block size {self.block_size}")
        fmt = _detect.detect(chunk, self._block_fmt)
        if clock is not None:
            clock.lap("detect")
        with _batch_kernels.using(self._kernels):
            p: BlockPlan = choose_plan(chunk, self._context(fmt), self.plan, self.verify)
        if clock is not None:
            clock.lap("plan")
        kind = self._small_checksum if compact and len(chunk) <= ck.SMALL_FRAME_MAX else self.checksum
        digest = ck.compute(kind, chunk)
        if clock is not None:
            clock.lap("checksum")
        block = p.data_block(seq, len(chunk), digest)
        out = encode_compact_frame(self._header(kind), block) if compact else encode_data_block(block)
        if index and not compact and searchindex.wanted(fmt, len(chunk)):
            bitmap = searchindex.sized_bitmap(chunk, len(out))
            if bitmap is not None:
                payload = searchindex.encode(chunk, seq, digest, bitmap)
                out = encode_metadata_block(searchindex.SEARCH_INDEX_TAG, payload) + out
        if clock is not None:
            clock.lap("frame")
        report = BlockReport(seq, fmt, p.transform.name, len(chunk), len(out),
                             [(s.name, get_codec(s.codec).name, s.decoded_len, len(s.data)) for s in p.streams],
                             p.trials, time.perf_counter() - t0, {} if clock is None else clock.laps)
        if self.profiler is not None:
            self.profiler.on_block(report)
        return out, report

    def _workers(self) -> int:
        """Threads to run: ``threads``, but no more than the usable cores (at
        least 2 when two or more were asked for). More threads than cores
        only cost: on 2 cores 4 threads compressed 0-17% and decoded 0-16%
        slower than 2 (docs/SPEED.md "threads8"), and the output is the same
        for any number."""
        return min(self.threads, max(2, default_threads()))

    def _map(self, fn, items, count: int):
        """``[fn(*it) for it in items]`` on the pool; ``items`` (``count`` of
        them) may be a generator: each is submitted as it is made, so the
        threads start on the first while the rest are still being made."""
        workers = self._workers()
        if workers == 1 or count <= 1:
            return [fn(*it) for it in items]
        with ThreadPoolExecutor(workers) as pool:
            return list(pool.map(lambda it: fn(*it), items))

    #: results an in-order map may hold, finished or not, per thread (see ``_imap``)
    IMAP_AHEAD_PER_THREAD = 4

    def _imap(self, fn, items):
        """``fn(*it)`` for each item of the iterable ``items``, yielded in order.

        Items are pulled lazily and handed to one pool so that every thread
        has a call to run and one more waits in the queue, while the results
        not yet yielded (finished or not) stay under IMAP_AHEAD_PER_THREAD x
        threads: a slow call at the head no longer idles the other threads
        once a fixed window of 2 x threads calls is used up (an 8 MiB log
        block decodes in ~85 ms, other 8 MiB blocks in 13-28 ms), and memory
        stays bounded on long inputs: at most threads + 1 calls are queued or
        running, the rest are finished results waiting for their turn."""
        workers = self._workers()
        if workers == 1:
            for it in items:
                yield fn(*it)
            return
        items = iter(items)
        head = list(itertools.islice(items, 2))
        if len(head) < 2:
            # one item (a one-block frame: most files) runs here: a pool's thread
            # start and hand-off cost ~0.5 ms, more than decoding a 20 KB block
            for it in head:
                yield fn(*it)
            return
        items = itertools.chain(head, items)
        cap = self.IMAP_AHEAD_PER_THREAD * workers
        pending = deque()  # futures in item order
        running = set()  # the futures of ``pending`` not yet done
        pool = ThreadPoolExecutor(workers)
        try:
            exhausted = False
            while True:
                while pending and pending[0].done():
                    running.discard(pending[0])
                    yield pending.popleft().result()
                running = {f for f in running if not f.done()}
                if not exhausted and len(running) <= workers and len(pending) < cap:
                    it = next(items, _NO_ITEM)
                    if it is _NO_ITEM:
                        exhausted = True
                    else:
                        f = pool.submit(fn, *it)
                        pending.append(f)
                        running.add(f)
                    continue
                if not pending:
                    return
                # wait for the head when the results are at their cap (or no
                # items are left), else for any call, which frees a thread
                wait([pending[0]] if exhausted or len(pending) >= cap else running, return_when=FIRST_COMPLETED)
        finally:
            for f in pending:
                f.cancel()
            pool.shutdown(wait=True)

    def compress(self, data) -> bytes:
        if not isinstance(data, bytes):
            data = memoryview(data).cast("B").tobytes()
        spans = split_blocks(data, self.block_size)
        if self.compact and len(spans) == 1:
            return self.encode_block(data, 0, compact=True)[0]
        # the blocks are sliced as they are handed to the pool (a generator): slicing
        # 112 MB up front was ~85 ms of one thread before any block started
        results = self._map(self.encode_block,
                            ((data[a:b], i, False, self.search_index) for i, (a, b) in enumerate(spans)),
                            len(spans))
        parts = [self.frame_header()]
        parts += [r[0] for r in results]
        parts.append(encode_end_record(len(spans), len(data)))
        return b"".join(parts)

    def compress_stream(self, src, dst, progress=None, writer: FrameWriter | None = None) -> tuple[int, int]:
        """Compress file object ``src`` into ``dst`` in bounded memory (about
        threads x 2 blocks in flight). The output is byte-identical to
        ``compress(src.read())``. Returns (bytes in, bytes out).
        ``writer``: a FrameWriter already started on the destination (then ``dst`` is unused)."""
        window = max(1, self.threads) * 2
        carry = b""
        eof = False
        if writer is None and self.compact:
            # one block in all: a compact frame, as compress() writes it
            carry = _read_full(src, self.block_size + 1)
            if 0 < len(carry) <= self.block_size and len(split_blocks(carry, self.block_size)) == 1:
                out = self.encode_block(carry, 0, compact=True)[0]
                write_all(dst, out)
                if progress is not None:
                    progress(len(carry))
                return len(carry), len(out)
            eof = len(carry) == 0
        writer = writer or FrameWriter(self, dst)
        while not eof or carry:
            more = _read_full(src, window * self.block_size - len(carry)) if not eof else b""
            eof = eof or len(carry) + len(more) < window * self.block_size
            buf = carry + more
            spans = split_blocks(buf, self.block_size)
            # a cut is final once a whole block_size of bytes after its start is known
            ready = [sp for sp in spans if eof or sp[0] + self.block_size <= len(buf)]
            if not ready:
                carry = buf
                continue
            writer.write_blocks([buf[a:b] for a, b in ready], progress)
            carry = buf[ready[-1][1]:]
        writer.close()
        return writer.bytes_in, writer.bytes_out

    # ------------------------------------------------------------ decoding

    def block_streams(self, block: DataBlock, header: FrameHeader, bound=None) -> list:
        """A parsed data block's streams, entropy decoded (not yet through its
        transform). ``bound``: an object with the transform's ``name``,
        ``max_streams`` and ``decoded_limit`` (default: the registered transform,
        whose module is imported on first use; cobol grep passes the log
        transform's without loading its kernels)."""
        # the memory bound: stream count and declared sizes checked before anything is decoded
        check_stream_table(block, bound or get_transform(block.transform))
        # codec zstd-dict uses the dictionary's zstd part; None = the frame names no dictionary
        zdict = None if header.dictionary_id is None else bytes(getattr(self.dictionary, "zstd", b"") or b"")
        return decode_streams(block, zdict)

    def decode_block(self, block: DataBlock, header: FrameHeader) -> bytes:
        """One parsed data block back to its raw bytes, checksum verified."""
        if block.transform == _raw_transform.id and self.profiler is None:
            # the stream is the output (no buffer, no NumPy: a small file decoded by the CLI)
            return self._raw_block_bytes(block, header)
        from .outbuf import build
        return build(block.raw_len, OUTPUT_SLACK, lambda out: self.decode_block_into(block, header, out))

    def _check_dictionary(self, block: DataBlock, header: FrameHeader) -> None:
        if header.dictionary_id is not None:
            where = block_where(block)
            have = getattr(self.dictionary, "dict_id", None)
            if have is None:
                raise DictionaryError(f"{where}: the frame needs dictionary {header.dictionary_id:#010x}, none was given")
            if have != header.dictionary_id:
                raise DictionaryError(f"{where}: the frame needs dictionary {header.dictionary_id:#010x}, got {have:#010x}")

    def _raw_block_bytes(self, block: DataBlock, header: FrameHeader) -> bytes:
        """A raw-plan block's bytes: its one decoded stream is the output,
        checked as ``decode_block_into`` checks it, without an output buffer,
        the transform's copy or the batch-kernel scope. Small files (4-40 KB)
        are mostly raw blocks, and there that per-block glue was a third of
        the decode time next to brotli's own."""
        self._check_dictionary(block, header)
        streams = self.block_streams(block, header)
        try:
            data = get_transform(block.transform).decode(streams, block.params, block.raw_len, None)
        except CobolError as exc:
            raise type(exc)(f"{block_where(block)} (raw): {exc}") from None
        check_block_checksum(header, block, data)
        return data

    def decode_block_into(self, block: DataBlock, header: FrameHeader, out) -> None:
        """One parsed data block decoded into ``out[:raw_len]`` and its checksum
        verified: ``out`` is a writable uint8 NumPy array of raw_len +
        OUTPUT_SLACK bytes (the slack may be overwritten; see
        ``Transform.decode_into``)."""
        self._check_dictionary(block, header)
        # the messages' block position and the profiler's clocks are made only when needed:
        # on a 20-50 KB block the whole decode takes 0.2-0.4 ms
        t0 = time.perf_counter() if self.profiler is not None else 0.0
        clock = PhaseClock() if self.profiler is not None else None
        transform = get_transform(block.transform)
        streams = self.block_streams(block, header)
        if clock is not None:
            clock.lap("entropy")
        ctx = DecodeContext(dictionary=self.dictionary, profiler=self.profiler)
        raw_len = block.raw_len
        if out.size != raw_len + OUTPUT_SLACK:
            raise ValueError(f"output buffer of {out.size} bytes for a {raw_len}-byte block")
        token = _batch_kernels.install(self._kernels)
        try:
            transform.decode_into(streams, block.params, raw_len, ctx, out)
        except CobolError as exc:
            raise type(exc)(f"{block_where(block)} ({transform.name}): {exc}") from None
        except MemoryError:
            raise LimitError(f"{block_where(block)} ({transform.name}): out of memory decoding a {raw_len}-byte "
                             f"block") from None
        except (IndexError, ValueError, KeyError, TypeError, OverflowError, ArithmeticError) as exc:
            # a transform decoder must validate its input; this is the safety net if one missed a case
            raise FormatError(f"{block_where(block)} ({transform.name}): corrupt plan data "
                              f"({type(exc).__name__}: {exc})") from None
        finally:
            _batch_kernels.restore(token)
        del streams
        if clock is not None:
            clock.lap("transform")
        check_block_checksum(header, block, out[:raw_len])
        if clock is not None:
            clock.lap("checksum")
            on_decoded = getattr(self.profiler, "on_block_decoded", None)
            if on_decoded is not None:
                on_decoded(BlockReport(block.seq, "", transform.name, raw_len, block.size,
                                       [(f"s{i}", get_codec(e.codec).name, e.decoded_len, e.stored_len)
                                        for i, e in enumerate(block.streams)],
                                       [], time.perf_counter() - t0, clock.laps))

    def iter_decompress(self, blob, max_output_size: int | None = None):
        """Yield the raw bytes of each block in order (threads decode ahead)."""
        try:
            yield from self._iter_decompress(blob, max_output_size)
        except MemoryError:
            raise LimitError("out of memory while decoding the frame") from None

    def _data_blocks(self, blob, max_output_size: int | None):
        """(DataBlock, FrameHeader) of every data block of ``blob``, in order,
        with the running total checked against ``max_output_size``."""
        total = 0
        for header, rec in iter_frame_records(blob, self.limits):
            if isinstance(rec, DataBlock):
                total += rec.raw_len
                if max_output_size is not None and total > max_output_size:
                    raise LimitError(f"output would exceed max_output_size={max_output_size} at block {rec.seq}")
                yield rec, header

    def _iter_decompress(self, blob, max_output_size: int | None):
        yield from self._imap(self.decode_block, self._data_blocks(blob, max_output_size))

    def decompress(self, blob, max_output_size: int | None = None) -> bytes:
        """The raw bytes of every frame in ``blob``.

        The block table is read first (headers only), then one output buffer of
        the total length is allocated and every block is decoded straight into
        its span of it (``decode_block_into``): no per-block ``bytes``, no join,
        and on CPython the buffer is the returned ``bytes`` object itself
        (:mod:`cobol.outbuf`). The peak is the output plus the streams of the
        blocks in flight. A hostile frame whose blocks claim more output
        than they hold fails on its first such block; its declared total is
        reserved (not written) until then."""
        try:
            one = read_single_compact(blob, self.limits)
            if one is not None and (max_output_size is None or one[1].raw_len <= max_output_size):
                items = [(one[1], one[0])]  # the one-block frame of a small input, read in one pass
            else:
                items = list(self._data_blocks(blob, max_output_size))
            if len(items) == 1 and items[0][0].transform == _raw_transform.id and self.profiler is None:
                return self._raw_block_bytes(*items[0])
            from .outbuf import build
            starts = [0]
            for rec, _ in items:
                starts.append(starts[-1] + rec.raw_len)
            return build(starts[-1], OUTPUT_SLACK, lambda out: self._decode_all_into(items, starts, out))
        except MemoryError:
            raise LimitError("out of memory while decoding the frame (the output does not fit)") from None

    def _decode_all_into(self, items: list, starts: list, out) -> None:
        """Decode block i of ``items`` into out[starts[i]:starts[i + 1]].

        A block's kernels may write up to OUTPUT_SLACK - 1 bytes of garbage
        past its end, into the first bytes of the next block's span. One
        thread: every block in place, in order, so each block overwrites the
        slack of the one before it. Several threads: :func:`decode_in_place`
        (largest first; in place too unless a neighbour is decoding in place,
        then via the thread's scratch buffer and a copy; first bytes repaired).
        The error raised is the first failing block's in frame order: the
        blocks before it still run, those after it that have not started do not."""
        def decode(i, buf):
            rec, header = items[i]
            self.decode_block_into(rec, header, buf)

        workers = self._workers()
        if workers == 1 or len(items) <= 1:
            for i in range(len(items)):
                decode(i, out[starts[i]:starts[i + 1] + OUTPUT_SLACK])
        else:
            decode_in_place(starts, OUTPUT_SLACK, workers, decode, out)

    def decompress_stream(self, src, dst, progress=None, max_output_size: int | None = None) -> tuple[int, int]:
        try:
            return self._decompress_stream(src, dst, progress, max_output_size)
        except MemoryError:
            raise LimitError("out of memory while decoding the frame") from None

    def _decompress_stream(self, src, dst, progress=None, max_output_size: int | None = None) -> tuple[int, int]:
        reader = FrameReader(src, self.limits)
        total_out = 0

        def blocks():
            total = 0
            for header, rec in reader:
                if isinstance(rec, DataBlock):
                    total += rec.raw_len
                    if max_output_size is not None and total > max_output_size:
                        raise LimitError(f"output would exceed max_output_size={max_output_size} at block {rec.seq}")
                    yield rec, header

        for raw in self._imap(self.decode_block, blocks()):
            write_all(dst, raw)
            total_out += len(raw)
            if progress is not None:
                progress(len(raw))
        return reader.bytes_read, total_out


#: the transform's working memory per raw byte, and its fixed part (docs/FORMAT.md
#: "Memory bound"; measured at most ~9 x raw_len + 64 KiB on the samples)
WORKING_SET_PER_BYTE = 16
WORKING_SET_FIXED = 1 << 20


def block_decode_bound(block: DataBlock) -> int:
    """The most bytes decoding ``block`` may allocate (docs/FORMAT.md "Memory
    bound"), from its stream table alone: the stored payloads, the decoded
    streams, one PPMd model, the transform's working memory and the output."""
    from .entropy import PPMD, PPMD_MEM_PER_BYTE
    decoded = sum(e.decoded_len for e in block.streams)
    ppmd = max((min(256 << 20, max(1 << 20, PPMD_MEM_PER_BYTE * e.decoded_len))
                for e in block.streams if e.codec == PPMD), default=0)
    return (sum(e.stored_len for e in block.streams) + decoded + ppmd
            + (WORKING_SET_PER_BYTE + 1) * block.raw_len + WORKING_SET_FIXED)


def write_all(f, data) -> None:
    """Write every byte: raw files and non-blocking buffered writers may accept
    only part of a write and say so in the return value, not with an error."""
    mv = memoryview(data).cast("B")
    while len(mv):
        n = f.write(mv)
        if n is None:  # a non-blocking raw stream that could take nothing now
            raise BlockingIOError("output not ready for writing")
        mv = mv[n:]


def _read_full(f, n: int) -> bytes:
    """Read up to n bytes, looping over short reads (pipes, sockets)."""
    parts = []
    got = 0
    while got < n:
        # bounded reads: a hostile length must not make read() preallocate it
        b = f.read(min(n - got, 1 << 22))
        if not b:
            break
        parts.append(b)
        got += len(b)
    return b"".join(parts)


class _InPlaceSchedule:
    """Which block a decoding thread takes next, and where it decodes it, when
    the blocks of a frame decode into one output buffer on several threads
    (:func:`decode_in_place`).

    Block i owns out[starts[i]:starts[i + 1]], but its kernels may also write
    ``slack`` - 1 bytes of garbage past the end of what they are given
    (16-byte moves). In place, that garbage lands in the first bytes of the
    next block(s): harmless before such a block starts (it overwrites them), a
    race while it runs in place too (it may read back its own first bytes),
    and damage after it finished. So:

    - blocks are taken largest first (longest-processing-time order, as
      before: never a thread idle while a block is left), except that one
      at least NEAR_SIZE of the largest's size that can decode in place goes
      before a largest that cannot;
    - a block decodes in place unless a block whose span the slack joins to
      its own ("neighbours": j > i with starts[j] < starts[i + 1] + slack,
      normally only i + 1) is running in place; then it decodes into its
      thread's scratch buffer and is copied into its span (the old way for
      every block; with two threads and equal blocks a few per frame);
    - a finished block keeps a copy of its first ``slack`` bytes; when a left
      neighbour that ran in place finishes after it, the copy is put back,
      and a block copied from scratch writes its first bytes again when it
      finishes (a left neighbour's garbage may have landed after its copy).

    ``done`` and ``take`` hold one lock; the copies are 16 bytes."""

    WAITING, IN_PLACE, SCRATCH, DONE = 0, 1, 2, 3

    def __init__(self, starts: list, slack: int):
        n = len(starts) - 1
        self.starts = starts
        self.slack = slack
        self.state = [self.WAITING] * n
        self.order = deque(sorted(range(n), key=lambda i: (starts[i] - starts[i + 1], i)))  # largest first
        self.right = []  # block i -> the blocks its slack reaches
        for i in range(n):
            j = i + 1
            reach = []
            while j < n and starts[j] < starts[i + 1] + slack:
                reach.append(j)
                j += 1
            self.right.append(reach)
        self.left = [[] for _ in range(n)]
        for i, reach in enumerate(self.right):
            for j in reach:
                self.left[j].append(i)
        self.heads = {}  # block -> its first bytes, kept when it finished
        self.error = None  # (block, exception) of the first failing block in frame order
        self.lock = threading.Lock()
        self.stopped = False

    #: a block may be taken before a larger one if it is at least this share of
    #: its size and can decode in place while the larger one cannot
    NEAR_SIZE = 0.875

    def _in_place_ok(self, i: int) -> bool:
        return all(self.state[j] != self.IN_PLACE for j in self.left[i]) and \
            all(self.state[j] != self.IN_PLACE for j in self.right[i])

    def take(self):
        """(block, in place?) to decode next, or None when none is left: the
        largest block left, or one nearly as large that can decode in place
        when the largest cannot (8 MiB blocks of equal size would otherwise
        go in frame order, every second one next to a running one)."""
        with self.lock:
            if self.stopped:
                return None
            limit = len(self.state) if self.error is None else self.error[0]
            while self.order and self.order[0] >= limit:
                self.order.popleft()  # after a failed block: not started
            if not self.order:
                return None
            pick = self.order[0]
            in_place = self._in_place_ok(pick)
            if not in_place:
                near = (self.starts[pick + 1] - self.starts[pick]) * self.NEAR_SIZE
                for i in self.order:
                    if self.starts[i + 1] - self.starts[i] < near:
                        break
                    if i < limit and self._in_place_ok(i):
                        pick, in_place = i, True
                        break
            self.order.remove(pick)
            self.state[pick] = self.IN_PLACE if in_place else self.SCRATCH
            return pick, in_place

    def done(self, i: int, decoded, out) -> None:
        """Block i decoded (``decoded``: its bytes, in ``out`` or in scratch)
        and, from scratch, copied into ``out``: keep its first bytes, write
        them again after a copy, put back those of the finished blocks its
        in-place slack reached."""
        with self.lock:
            was = self.state[i]
            self.state[i] = self.DONE
            a, b = self.starts[i], self.starts[i + 1]
            head = decoded[:min(b - a, self.slack)]
            if any(self.state[j] != self.DONE for j in self.left[i]):
                self.heads[i] = head.copy()
            if was == self.SCRATCH:
                out[a:a + head.size] = head
            else:
                for j in self.right[i]:
                    kept = self.heads.get(j) if self.state[j] == self.DONE else None
                    if kept is not None:  # None: j failed, and its error is raised
                        out[self.starts[j]:self.starts[j] + kept.size] = kept

    def failed(self, i: int, exc: BaseException) -> None:
        with self.lock:
            self.state[i] = self.DONE
            if self.error is None or i < self.error[0]:
                self.error = (i, exc)

    def stop(self) -> None:
        with self.lock:
            self.stopped = True


def decode_in_place(starts: list, slack: int, threads: int, decode, out) -> None:
    """``decode(i, buf)`` for every block i of out[starts[i]:starts[i + 1]] on
    ``threads`` threads, ``buf`` a writable uint8 array of the block's length
    plus ``slack`` bytes that ``decode`` may write ``slack`` - 1 bytes past:
    the block's span of ``out`` or, as :class:`_InPlaceSchedule` decides, the
    thread's scratch buffer (then copied into the span). Raises the first
    failing block's error in frame order; the blocks after it that have not
    started do not run."""
    import numpy as np
    n = len(starts) - 1
    schedule = _InPlaceSchedule(starts, slack)
    scratch = threading.local()

    def worker():
        while True:
            taken = schedule.take()
            if taken is None:
                return
            i, in_place = taken
            a, b = starts[i], starts[i + 1]
            try:
                if in_place:
                    buf = out[a:b + slack]
                    decode(i, buf)
                else:
                    buf = getattr(scratch, "buf", None)
                    if buf is None or buf.size < b - a + slack:
                        buf = scratch.buf = np.empty(b - a + slack, np.uint8)
                    buf = buf[:b - a + slack]
                    decode(i, buf)
                    out[a:b] = buf[:b - a]  # NumPy copies without the GIL
            except BaseException as exc:
                schedule.failed(i, exc)
            else:
                schedule.done(i, buf, out)

    with ThreadPoolExecutor(min(threads, n)) as pool:
        workers = [pool.submit(worker) for _ in range(min(threads, n))]
        try:
            for f in workers:
                f.result()
        except BaseException:  # Ctrl-C: no block starts after this
            schedule.stop()
            raise
    if schedule.error is not None:
        raise schedule.error[1]


class FrameWriter:
    """Writes one frame to a binary file object, block by block."""

    def __init__(self, engine: CobolEngine, dst, preamble: bytes = b""):
        """``preamble``: records (e.g. a metadata block) written right after the header."""
        self.engine = engine
        self.dst = dst
        self.seq = 0
        self.bytes_in = 0
        self.bytes_out = 0
        self.reports = []
        self._write(engine.frame_header() + preamble)

    def _write(self, b: bytes) -> None:
        write_all(self.dst, b)
        self.bytes_out += len(b)

    def write_blocks(self, chunks, progress=None) -> None:
        items = [(c, self.seq + i, False, self.engine.search_index) for i, c in enumerate(chunks)]
        # in order, each block as soon as it is done: progress moves block by block
        for (rec, report), c in zip(self.engine._imap(self.engine.encode_block, items), chunks):
            self._write(rec)
            self.reports.append(report)
            self.bytes_in += len(c)
            if progress is not None:
                progress(len(c))
        self.seq += len(chunks)

    def close(self) -> None:
        self._write(encode_end_record(self.seq, self.bytes_in))


class FrameReader:
    """Iterates (FrameHeader, record) over concatenated frames read from a file
    object, one record in memory at a time."""

    def __init__(self, src, limits: Limits = Limits()):
        self.src = src
        self.limits = limits
        self.bytes_read = 0

    def _read(self, n: int) -> bytes:
        b = _read_full(self.src, n)
        self.bytes_read += len(b)
        return b

    def _varint_bytes(self, what: str) -> bytes:
        out = bytearray()
        while True:
            b = self._read(1)
            if not b:
                from .errors import TruncatedError
                raise TruncatedError(f"truncated {what} at offset {self.bytes_read}")
            out += b
            if not b[0] & 0x80 or len(out) >= 10:
                return bytes(out)

    def _compact_frame(self, head: bytes, start: int):
        """Read a compact frame whose first 6 bytes are ``head``: the fields one
        by one, each length bounded before it is read, then parse them whole."""
        from .format import checksum as _ck
        from .format.frame import read_compact_block, read_frame_header
        from .format.wire import Reader
        flags = head[5]
        buf = head + self._read(4 if flags & FLAG_DICTIONARY else 0)
        r = Reader(buf, base=start)
        header = read_frame_header(r)  # checks the flags and checksum kind
        lim = self.limits

        def varint(what: str, limit: int) -> int:
            nonlocal buf
            b = self._varint_bytes(what)
            buf += b
            return Reader(b, base=start + len(buf) - len(b)).varint(what, limit)

        raw_len = varint("raw length", min(MAX_BLOCK_SIZE, lim.max_block_size))
        max_stored = 17 * min(MAX_BLOCK_SIZE, lim.max_block_size) + (1 << 20)
        if header.one_stream:
            buf += self._read(1)  # codec
            stored = varint("stream stored length", max_stored)
        else:
            buf += self._read(1)  # transform
            n_params = varint("plan parameters", lim.max_params)
            buf += self._read(n_params)
            n_streams = varint("stream count", lim.max_streams)
            stored = 0
            for _ in range(n_streams):
                buf += self._read(1)  # codec
                stored += varint("stream stored length", max_stored)
                varint("stream decoded length", lim.max_stream_decoded(raw_len))
        buf += self._read(_ck.checksum_size(header.checksum))
        buf += self._read(stored)
        r = Reader(buf, base=start)
        header = read_frame_header(r)
        rec = read_compact_block(r, header, lim)
        r.expect_end("the compact frame")
        return header, rec

    def __iter__(self):
        from .errors import TruncatedError
        from .format.frame import BlockKind, read_block, read_frame_header
        from .format.wire import Reader
        first = True
        while True:
            start = self.bytes_read
            head = self._read(6)
            if not head and not first:
                return
            if len(head) < 6:
                raise TruncatedError(f"truncated frame header at offset {start}" if head or not first else "empty input: no .cobl frame")
            first = False
            flags = head[5]
            if flags & FLAG_COMPACT and head[:5] == b"COBL\x01":
                header, rec = self._compact_frame(head, start)
                yield header, rec
                yield header, EndRecord(n_blocks=1, total_raw=rec.raw_len, offset=self.bytes_read)
                continue
            head += self._varint_bytes("block size")
            head += self._read(4 + (4 if flags & 0x10 else 0))
            header = read_frame_header(Reader(head, base=start))
            n = total = 0
            while True:
                rstart = self.bytes_read
                kind = self._read(1)
                if not kind:
                    raise TruncatedError(f"frame ends at offset {rstart} without its end marker")
                if kind[0] == BlockKind.END:
                    rec_bytes = kind + self._varint_bytes("end marker") + self._varint_bytes("end marker")
                    rec_bytes += self._read(4)
                else:
                    lb = self._varint_bytes("block length")
                    body_len = Reader(lb, base=rstart + 1).varint(
                        "block length", 17 * min(header.block_size, self.limits.max_block_size) + (1 << 20))
                    rec_bytes = kind + lb + self._read(body_len)
                rec = read_block(Reader(rec_bytes, base=rstart), header, self.limits)
                if isinstance(rec, EndRecord):
                    if rec.n_blocks != n or rec.total_raw != total:
                        raise FormatError(f"end marker at offset {rstart} says {rec.n_blocks} blocks / {rec.total_raw} bytes, the frame holds {n} / {total}")
                    yield header, rec
                    break
                if isinstance(rec, DataBlock):
                    if rec.seq != n:
                        raise FormatError(f"block at offset {rstart} has sequence number {rec.seq}, expected {n}")
                    n += 1
                    total += rec.raw_len
                yield header, rec
