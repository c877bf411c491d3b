"""Profiler: where the time and the bytes of a compress/decompress run go.

Give one to the engine (``CobolEngine(profiler=Profiler())``) or use
:func:`profile_compress` / :func:`profile_roundtrip`, then call
:meth:`Profiler.profile` for a :class:`~cobol.profile.model.Profile`.

How figures reach it (docs/PROFILE.md has the whole contract):

- the engine times each block's phases (detect, plan, checksum, frame; on
  decode: entropy, transform, checksum) with a ``PhaseClock`` and hands a
  ``BlockReport`` to :meth:`on_block` / :meth:`on_block_decoded`;
- the planner calls :meth:`record` for every candidate's transform, verify and
  per-stream entropy coding (``layer="transform"|"verify"|"entropy"``);
- transforms may call :meth:`record` for their inner layers (L1..L4) through
  ``ctx.profiler``, guarded by ``if ctx.profiler is not None``.

Records are kept in a per-thread list until that thread's block reports, so
blocks encoded in parallel never mix their figures, and no lock is taken on the
hot path. A record made inside a transform is credited to the transform whose
own record follows it. Only the winning candidate's figures count as
transform/entropy; the losers' time is the ``plan`` layer (candidate trials).

Profiling off costs the engine one ``is not None`` test per hook.
"""

from __future__ import annotations

import os
import platform
import resource
import sys
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone

import numpy as np

from . import gpu as _gpu
from .histogram import byte_histogram, entropy_bits, sampled_histogram
from .model import SCHEMA, Profile, clean_tree

#: top-level layers of an encoded block, in pipeline order
ENCODE_LAYERS = ("detect", "plan", "transform", "verify", "entropy", "checksum", "frame", "other")
#: top-level layers of a decoded block
DECODE_LAYERS = ("entropy", "transform", "checksum", "other")
#: record layers the planner itself reports (everything else is a transform's inner layer)
PLANNER_RECORDS = ("transform", "verify", "entropy")

_MB = 1e6
#: captured blocks are folded into the tables in batches of this many (bounds the memory they hold)
FOLD_EVERY = 256
NO_PHASES_NOTE = "blocks without phase timings: the engine did not time its phases"


_statm_fd = None


def _rss_now() -> int | None:
    """Resident set size of this process now (Linux /proc, ~1 us with a kept descriptor), else None."""
    global _statm_fd
    try:
        if _statm_fd is None:
            _statm_fd = os.open("/proc/self/statm", os.O_RDONLY)
        return int(os.pread(_statm_fd, 128, 0).split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def _rss_peak() -> int:
    """Peak resident set size of this process so far (getrusage; KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


class LayerRecord:
    """One :meth:`Profiler.record` call."""

    __slots__ = ("layer", "stream", "transform", "wall_s", "cpu_s", "t_start", "t_end", "bytes_in", "bytes_out",
                 "data_in", "data_out", "dict_size", "dict_hits", "dict_misses", "nesting", "saved_bytes",
                 "extra")


class _Acc:
    """Running sums for one row (a layer, a stream, a layer on a stream)."""

    __slots__ = ("calls", "wall_s", "cpu_s", "bytes_in", "bytes_out", "hist_in", "hist_out",
                 "dict_size", "dict_hits", "dict_misses", "nesting", "saved_bytes", "extra")

    def __init__(self):
        self.calls = 0
        self.wall_s = 0.0
        self.cpu_s = None
        self.bytes_in = self.bytes_out = None
        self.hist_in = self.hist_out = None
        self.dict_size = self.dict_hits = self.dict_misses = None
        self.nesting = None
        self.saved_bytes = None
        self.extra = None

    def add(self, wall_s=0.0, cpu_s=None, bytes_in=None, bytes_out=None, hist_in=None, hist_out=None,
            saved_bytes=None, calls=1):
        self.calls += calls
        self.wall_s += wall_s
        if cpu_s is not None:
            self.cpu_s = (self.cpu_s or 0.0) + cpu_s
        if bytes_in is not None:
            self.bytes_in = (self.bytes_in or 0) + int(bytes_in)
        if bytes_out is not None:
            self.bytes_out = (self.bytes_out or 0) + int(bytes_out)
        if hist_in is not None:
            self.hist_in = hist_in.copy() if self.hist_in is None else self.hist_in + hist_in
        if hist_out is not None:
            self.hist_out = hist_out.copy() if self.hist_out is None else self.hist_out + hist_out
        if saved_bytes is not None:
            self.saved_bytes = (self.saved_bytes or 0) + int(saved_bytes)

    def add_record(self, r: LayerRecord, hist_in=None, hist_out=None, saved_bytes=None):
        self.add(r.wall_s, r.cpu_s, r.bytes_in, r.bytes_out, hist_in, hist_out, saved_bytes)
        if r.dict_size is not None:
            self.dict_size = max(self.dict_size or 0, int(r.dict_size))
        if r.dict_hits is not None:
            self.dict_hits = (self.dict_hits or 0) + int(r.dict_hits)
        if r.dict_misses is not None:
            self.dict_misses = (self.dict_misses or 0) + int(r.dict_misses)
        if r.nesting:
            self.nesting = _merge_nesting(self.nesting, r.nesting)
        if r.extra:
            self.extra = _merge_numbers(self.extra, r.extra)

    def row(self) -> dict:
        ratio = (self.bytes_in / self.bytes_out) if self.bytes_in is not None and self.bytes_out else None
        thr = (self.bytes_in / self.wall_s / _MB) if self.bytes_in and self.wall_s > 0 else None
        hits, misses = self.dict_hits, self.dict_misses
        hit_rate = hits / (hits + misses) if hits is not None and misses is not None and hits + misses else None
        return {
            "calls": self.calls,
            "wall_s": self.wall_s,
            "cpu_s": self.cpu_s,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "ratio": ratio,
            "throughput_mb_s": thr,
            "entropy_in_bits": entropy_bits(self.hist_in) if self.hist_in is not None else None,
            "entropy_out_bits": entropy_bits(self.hist_out) if self.hist_out is not None else None,
            "saved_bytes": self.saved_bytes,
            "dict_size": self.dict_size,
            "dict_hits": hits,
            "dict_misses": misses,
            "dict_hit_rate": hit_rate,
            "nesting": self.nesting,
            "extra": self.extra,
        }


def _merge_numbers(acc: dict | None, new: dict) -> dict:
    out = dict(acc or {})
    for k, v in new.items():
        if isinstance(v, (int, float)) and not isinstance(v, bool) and isinstance(out.get(k, 0), (int, float)):
            out[k] = max(out[k], v) if k.startswith("max") and k in out else out.get(k, 0) + v
        else:
            out[k] = v
    return out


def _merge_nesting(acc: dict | None, new: dict) -> dict:
    """Nesting statistics from L2: ``max_*`` keys keep the maximum, lists (per-depth
    counts such as ``depth_histogram``) add element-wise, ``mean_*`` keys are averaged
    over records, other numbers add; ``records`` counts the records merged."""
    out = dict(acc or {})
    n = out.get("records", 0)
    for k, v in new.items():
        if isinstance(v, (list, tuple, np.ndarray)):  # per-depth counts, e.g. depth_histogram
            old = list(out.get(k) or [])
            v = [x.item() if hasattr(x, "item") else x for x in v]
            if len(old) < len(v):
                old += [0] * (len(v) - len(old))
            out[k] = [a + (v[i] if i < len(v) else 0) for i, a in enumerate(old)]
        elif k.startswith("max") and isinstance(v, (int, float)):
            out[k] = max(out.get(k, v), v)
        elif k.startswith("mean") and isinstance(v, (int, float)):
            out[k] = (out.get(k, 0.0) * n + v) / (n + 1)
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out[k] = out.get(k, 0) + v
        else:
            out[k] = v
    out["records"] = n + 1
    return out


class RunFigures:
    """Whole-run figures of one compress or decompress call (see :meth:`Profiler.run`)."""

    def __init__(self, op: str, bytes_in: int | None):
        self.op = op
        self.bytes_in = bytes_in
        self.bytes_out: int | None = None
        self.wall_s = self.cpu_s = 0.0
        self.blocks = 0
        self.rss_start = self.rss_end = None
        self.rss_peak_before = self.rss_peak_after = 0
        self.gpu_before = self.gpu_after = None

    def row(self) -> dict:
        ratio = None
        if self.bytes_in is not None and self.bytes_out:
            ratio = (self.bytes_in / self.bytes_out) if self.op == "compress" else (self.bytes_out / self.bytes_in)
        raw = self.bytes_in if self.op == "compress" else self.bytes_out
        return {
            "op": self.op,
            "wall_s": self.wall_s,
            "cpu_s": self.cpu_s,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "ratio": ratio,
            "throughput_mb_s": raw / self.wall_s / _MB if raw and self.wall_s > 0 else None,
            "blocks": self.blocks,
            "rss_start_bytes": self.rss_start,
            "rss_end_bytes": self.rss_end,
            "rss_peak_bytes": self.rss_peak_after,
            "rss_peak_growth_bytes": self.rss_peak_after - self.rss_peak_before,
        }


class Profiler:
    """Collects per-layer, per-stream and per-block figures from the engine.

    Parameters
    ----------
    entropy: byte histograms (Shannon entropy before/after) of the block and
        of the winning plan's streams: "sample" (default: buffers over 64 KiB
        are estimated from 128 evenly spread 512-byte slices, so the cost per
        buffer is bounded), "exact" (whole buffers, ~4 GB/s), or False (none).
    keep_blocks: at most this many per-block rows are kept (per operation);
        the layer and stream tables always cover every block.
    """

    def __init__(self, *, entropy="sample", keep_blocks: int = 100_000):
        if entropy is True:
            entropy = "sample"
        if entropy not in ("sample", "exact", False, None):
            raise ValueError(f"entropy must be 'sample', 'exact' or False, got {entropy!r}")
        self.entropy = entropy or False
        self._entropy_sampled = False
        self._events: list = []  # captured blocks not yet folded into the tables
        self.keep_blocks = keep_blocks
        self._lock = threading.Lock()
        self._local = threading.local()
        self._pending_lists = []  # every thread's pending list, for records no block claimed
        self._t0 = time.perf_counter()
        self._created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self._engine = None
        self._backend = None
        self._runs: list[RunFigures] = []
        self._active_runs: list[RunFigures] = []
        self._layers: dict = {}  # (op, layer, parent, stream) -> _Acc
        self._streams: dict = {}  # (transform, name) -> dict(acc=_Acc, codecs=Counter-like dict, layers={})
        self._trials: dict = {}  # transform -> dict
        self._blocks = {"compress": [], "decompress": []}
        self._block_counts = {"compress": 0, "decompress": 0}
        self._totals = {"raw_bytes": 0, "record_bytes": 0, "stream_stored_bytes": 0, "stream_decoded_bytes": 0,
                        "baseline_zstd_bytes": 0, "baseline_blocks": 0}
        self._largest = {"block_raw": 0, "block_record": 0, "block_streams_decoded": 0, "stream_decoded": 0,
                         "block_trial_streams": 0}
        self._block_hist_total = None
        self._streaming = None
        self._notes: list[str] = []

    # ------------------------------------------------------------ API for the engine and transforms

    @staticmethod
    def start():
        """A timing token for :meth:`record` (wall and this thread's CPU clock)."""
        return time.perf_counter(), time.thread_time()

    def record(self, layer: str, stream: str | None = None, *, transform: str | None = None, started=None,
               seconds: float | None = None, cpu_seconds: float | None = None,
               bytes_in: int | None = None, bytes_out: int | None = None, data_in=None, data_out=None,
               dict_size: int | None = None, dict_hits: int | None = None, dict_misses: int | None = None,
               nesting: dict | None = None, saved_bytes: int | None = None, **extra) -> None:
        """Report one piece of work: a layer (``"l1"``, ``"l3"``...) on a stream or a whole block.

        Time comes from ``started`` (a :meth:`start` token) or from ``seconds``
        (and optionally ``cpu_seconds``). ``data_in``/``data_out`` are the
        buffers themselves (kept by reference until the block reports, then
        histogrammed if the record belongs to the winning plan). Extra keyword
        numbers are summed per row under ``extra``.
        """
        now = time.perf_counter()
        r = LayerRecord()
        r.t_end = now
        r.layer = layer
        r.stream = stream
        r.transform = transform
        if started is not None:
            r.wall_s = now - started[0]
            r.cpu_s = time.thread_time() - started[1]
            r.t_start = started[0]
        else:
            r.wall_s = float(seconds or 0.0)
            r.cpu_s = cpu_seconds
            r.t_start = now - r.wall_s
        r.bytes_in, r.bytes_out = bytes_in, bytes_out
        r.data_in, r.data_out = data_in, data_out
        r.dict_size, r.dict_hits, r.dict_misses = dict_size, dict_hits, dict_misses
        r.nesting = nesting
        r.saved_bytes = saved_bytes
        r.extra = extra or None
        pending = self._pending()
        if layer == "transform" and transform is not None:
            # inner-layer records made while this transform ran belong to it
            for p in reversed(pending):
                if p.t_end < r.t_start:
                    break
                if p.transform is None:
                    p.transform = transform
        pending.append(r)

    def on_block(self, report) -> None:
        """The engine's hook after each encoded block (``BlockReport``)."""
        event = self._capture_encoded(report, self._take_pending())
        with self._lock:
            self._events.append(event)
            self._count_run_block("compress")
            if len(self._events) >= FOLD_EVERY:
                self._fold_events()

    def on_block_decoded(self, report) -> None:
        """The engine's hook after each decoded block (``BlockReport`` with decode phases)."""
        event = self._capture_decoded(report, self._take_pending())
        with self._lock:
            self._events.append(event)
            self._count_run_block("decompress")
            if len(self._events) >= FOLD_EVERY:
                self._fold_events()

    # ------------------------------------------------------------ runs

    def attach(self, engine) -> "Profiler":
        """Remember an engine's settings for the profile's ``engine`` section."""
        self._engine = {
            "level": engine.level,
            "block_size": engine.block_size,
            "threads": engine.threads,
            "checksum": _checksum_label(engine.checksum),
            "plan": engine.plan,
            "fmt": engine.fmt,
            "layers": sorted(engine.layers),
            "verify": engine.verify,
            "backend": _gpu.backend_name(engine.backend),
        }
        self._backend = engine.backend
        return self

    @contextmanager
    def run(self, op: str, bytes_in: int | None = None):
        """Time one whole operation: ``with p.run("compress", len(data)) as r: ...; r.bytes_out = n``."""
        fig = RunFigures(op, bytes_in)
        gpu = _gpu.is_gpu_backend(self._backend)
        fig.gpu_before = _gpu.nvml_sample() if gpu else None
        fig.rss_start = _rss_now()
        fig.rss_peak_before = _rss_peak()
        with self._lock:
            self._active_runs.append(fig)
        w0, c0 = time.perf_counter(), time.process_time()
        try:
            yield fig
        finally:
            fig.wall_s = time.perf_counter() - w0
            fig.cpu_s = time.process_time() - c0
            fig.rss_end = _rss_now()
            fig.rss_peak_after = _rss_peak()
            fig.gpu_after = _gpu.nvml_sample() if gpu else None
            with self._lock:
                self._active_runs.remove(fig)
                self._runs.append(fig)

    def attach_streaming(self, streaming_profile) -> None:
        """Include a :class:`~cobol.profile.streaming.StreamingProfile` in the profile."""
        self._streaming = streaming_profile

    # ------------------------------------------------------------ internals

    def _pending(self) -> list:
        p = getattr(self._local, "pending", None)
        if p is None:
            p = self._local.pending = []
            with self._lock:
                self._pending_lists.append(p)
        return p

    def _take_pending(self) -> list:
        p = self._pending()
        out = p[:]
        p.clear()
        return out

    def _hist(self, buf):
        if not self.entropy or buf is None:
            return None
        try:
            if self.entropy == "exact":
                return byte_histogram(buf)
            h, sampled = sampled_histogram(buf)
            if sampled:
                self._entropy_sampled = True
            return h
        except (TypeError, ValueError, BufferError):
            return None

    def _layer(self, op, layer, parent=None, stream=None) -> _Acc:
        key = (op, layer, parent, stream)
        acc = self._layers.get(key)
        if acc is None:
            acc = self._layers[key] = _Acc()
        return acc

    def _count_run_block(self, op):
        for fig in self._active_runs:
            if fig.op == op:
                fig.blocks += 1

    # Capture runs on the engine's thread for every block, so it only keeps what
    # cannot wait (times, sizes, histograms while the buffers are alive); the
    # tables are built from the captured events in profile().

    def _capture_encoded(self, report, pending: list) -> tuple:
        winner = report.plan
        entropy_recs = [r for r in pending if r.layer == "entropy" and r.transform == winner]
        raw_rec = None
        for r in pending:
            if r.layer == "entropy" and r.transform == "raw" and r.stream == "raw":
                raw_rec = r
                break
        block_hist = self._hist(raw_rec.data_in) if raw_rec is not None else None
        streams = []
        # a stream may have several entropy records (zstd, then a brotli trial on the winner's
        # streams): its time is theirs together, its figures those of the coding that was kept
        by_name = {}
        for r in entropy_recs:
            by_name.setdefault(r.stream, []).append(r)
        if len(by_name) == len(report.streams) and all(name in by_name for name, *_ in report.streams):
            for name, codec, dec, sto in report.streams:
                recs = by_name[name]
                r = next((x for x in reversed(recs) if x.bytes_out == sto), recs[-1])
                h_in = block_hist if r is raw_rec else self._hist(r.data_in)
                h_out = h_in if codec == "none" else self._hist(r.data_out)  # stored as is: same bytes
                cpu = None if any(x.cpu_s is None for x in recs) else sum(x.cpu_s for x in recs)
                streams.append((name, codec, dec, sto, sum(x.wall_s for x in recs), cpu, h_in, h_out))
        else:  # the planner did not report (a profiler-less plan.py): sizes only
            streams = [(name, codec, dec, sto, 0.0, None, None, None) for name, codec, dec, sto in report.streams]
        transform = verify = None
        inner = []
        trial_bytes = 0
        for r in pending:
            if r.layer == "transform":
                trial_bytes += r.bytes_out or 0
                if r.transform == winner:
                    transform = r
            elif r.layer == "verify":
                verify = (verify or []) + [r]
            elif r.layer != "entropy" and r.transform == winner:
                inner.append((r, self._hist(r.data_in), self._hist(r.data_out)))
        for r in pending:  # let go of the buffers now
            r.data_in = r.data_out = None
        return ("compress", report, streams, transform, verify or [], inner, block_hist, trial_bytes,
                _rss_now(), time.perf_counter() - self._t0)

    def _capture_decoded(self, report, pending: list) -> tuple:
        inner = [(r, None, None) for r in pending if r.layer not in PLANNER_RECORDS]
        for r in pending:
            r.data_in = r.data_out = None
        return ("decompress", report, inner, _rss_now(), time.perf_counter() - self._t0)

    def _fold_events(self) -> None:
        """Fold captured blocks into the tables (under the lock)."""
        events, self._events = self._events, []
        for ev in events:
            if ev[0] == "compress":
                self._fold_encoded(*ev[1:])
            else:
                self._fold_decoded(*ev[1:])

    def _fold_encoded(self, report, stream_figs, transform_rec, verify_recs, inner, block_hist, trial_bytes,
                      rss, t_end) -> None:
        winner = report.plan
        phases = report.phases or {}
        if not phases and NO_PHASES_NOTE not in self._notes:
            self._notes.append(NO_PHASES_NOTE)

        # sizes and the savings attribution (docs/PROFILE.md "Savings")
        dec_total = sum(s[2] for s in stream_figs)
        sto_total = sum(s[3] for s in stream_figs)
        trial_sizes = {name: size for name, size, _ in report.trials}
        baseline = trial_sizes.get("raw")
        winner_size = trial_sizes.get(winner)
        if winner_size is None:
            winner_size = sto_total
        if baseline is not None:
            entropy_saved = report.raw_len - baseline
            transform_saved = max(0, baseline - winner_size) if winner != "raw" else 0
        else:
            entropy_saved = dec_total - sto_total
            transform_saved = 0

        wall = {k: v[0] for k, v in phases.items()}
        cpu = {k: v[1] for k, v in phases.items()}
        t_wall = transform_rec.wall_s if transform_rec else 0.0
        t_cpu = transform_rec.cpu_s if transform_rec else None
        v_wall = sum(r.wall_s for r in verify_recs)
        v_cpu = sum(r.cpu_s or 0.0 for r in verify_recs)
        e_wall = sum(s[4] for s in stream_figs)
        e_cpu = sum(s[5] or 0.0 for s in stream_figs)
        plan_wall = max(0.0, wall.get("plan", 0.0) - t_wall - v_wall - e_wall)
        plan_cpu = max(0.0, cpu.get("plan", 0.0) - (t_cpu or 0.0) - v_cpu - e_cpu) if "plan" in cpu else None
        other_wall = max(0.0, report.seconds - sum(wall.values())) if phases else 0.0
        layer_wall = {"detect": wall.get("detect", 0.0), "plan": plan_wall, "transform": t_wall, "verify": v_wall,
                      "entropy": e_wall, "checksum": wall.get("checksum", 0.0), "frame": wall.get("frame", 0.0),
                      "other": other_wall}
        streams_hist_in = _sum_hists(s[6] for s in stream_figs)
        streams_hist_out = _sum_hists(s[7] for s in stream_figs)

        op = "compress"
        L = self._layer
        L(op, "detect").add(layer_wall["detect"], cpu.get("detect"), report.raw_len, None, block_hist)
        L(op, "plan").add(plan_wall, plan_cpu, report.raw_len, None, block_hist,
                          calls=max(0, len(report.trials) - 1))
        L(op, "transform").add(t_wall, t_cpu, report.raw_len, dec_total, block_hist, streams_hist_in,
                               saved_bytes=transform_saved)
        L(op, "verify").add(v_wall, v_cpu if verify_recs else None,
                            sum(r.bytes_in or 0 for r in verify_recs) or None, None, calls=len(verify_recs))
        L(op, "entropy").add(e_wall, e_cpu if stream_figs else None, dec_total, sto_total, streams_hist_in,
                             streams_hist_out, saved_bytes=entropy_saved, calls=len(stream_figs))
        L(op, "checksum").add(layer_wall["checksum"], cpu.get("checksum"), report.raw_len, None)
        L(op, "frame").add(layer_wall["frame"], cpu.get("frame"), sto_total, report.stored_len,
                           saved_bytes=sto_total - report.stored_len)
        L(op, "other").add(other_wall, None)
        for r, h_in, h_out in inner:
            saved = _inner_saved(r, h_in, h_out)
            L(op, r.layer, "transform").add_record(r, h_in, h_out, saved)
            if r.stream is not None:
                L(op, r.layer, "transform", r.stream).add_record(r, h_in, h_out, saved)
        for name, codec, dec, sto, w, c, h_in, h_out in stream_figs:
            st = self._streams.get((winner, name))
            if st is None:
                st = self._streams[(winner, name)] = {"acc": _Acc(), "codecs": {}, "layers": {}}
            st["acc"].add(w, c, dec, sto, h_in, h_out, saved_bytes=dec - sto)
            st["codecs"][codec] = st["codecs"].get(codec, 0) + 1
        for r, _, _ in inner:
            if r.stream is not None and (winner, r.stream) in self._streams:
                lay = self._streams[(winner, r.stream)]["layers"]
                lay[r.layer] = lay.get(r.layer, 0.0) + r.wall_s
        for name, size, secs in report.trials:
            t = self._trials.setdefault(name, {"tried": 0, "declined": 0, "won": 0, "wall_s": 0.0,
                                               "stored_bytes": 0, "raw_bytes": 0})
            t["tried"] += 1
            t["wall_s"] += secs
            if size is None:
                t["declined"] += 1
            else:
                t["stored_bytes"] += size
                t["raw_bytes"] += report.raw_len
            if name == winner:
                t["won"] += 1
        tot = self._totals
        tot["raw_bytes"] += report.raw_len
        tot["record_bytes"] += report.stored_len
        tot["stream_stored_bytes"] += sto_total
        tot["stream_decoded_bytes"] += dec_total
        if baseline is not None:
            tot["baseline_zstd_bytes"] += baseline
            tot["baseline_blocks"] += 1
        if block_hist is not None:
            self._block_hist_total = block_hist if self._block_hist_total is None else self._block_hist_total + block_hist
        lg = self._largest
        lg["block_raw"] = max(lg["block_raw"], report.raw_len)
        lg["block_record"] = max(lg["block_record"], report.stored_len)
        lg["block_streams_decoded"] = max(lg["block_streams_decoded"], dec_total)
        lg["stream_decoded"] = max([lg["stream_decoded"]] + [s[2] for s in stream_figs])
        lg["block_trial_streams"] = max(lg["block_trial_streams"], trial_bytes)
        self._block_counts[op] += 1
        if len(self._blocks[op]) < self.keep_blocks:
            self._blocks[op].append({
                "op": op, "seq": report.seq, "fmt": report.fmt, "plan": winner,
                "raw_bytes": report.raw_len, "stored_bytes": report.stored_len,
                "ratio": report.raw_len / report.stored_len if report.stored_len else None,
                "wall_s": report.seconds, "cpu_s": sum(cpu.values()) if cpu else None,
                "throughput_mb_s": report.raw_len / report.seconds / _MB if report.seconds > 0 else None,
                "layers_wall_s": layer_wall,
                "streams": len(stream_figs),
                "entropy_in_bits": entropy_bits(block_hist) if block_hist is not None else None,
                "entropy_out_bits": entropy_bits(streams_hist_out) if streams_hist_out is not None else None,
                "baseline_zstd_bytes": baseline,
                "trials": [{"transform": n, "stored_bytes": sz, "wall_s": w} for n, sz, w in report.trials],
                "rss_bytes": rss,
                "t_end_s": t_end,
            })

    def _fold_decoded(self, report, inner, rss, t_end) -> None:
        phases = report.phases or {}
        wall = {k: v[0] for k, v in phases.items()}
        cpu = {k: v[1] for k, v in phases.items()}
        dec_total = sum(s[2] for s in report.streams)
        sto_total = sum(s[3] for s in report.streams)
        other_wall = max(0.0, report.seconds - sum(wall.values()))
        op = "decompress"
        L = self._layer
        L(op, "entropy").add(wall.get("entropy", 0.0), cpu.get("entropy"), sto_total, dec_total,
                             calls=len(report.streams))
        L(op, "transform").add(wall.get("transform", 0.0), cpu.get("transform"), dec_total, report.raw_len)
        L(op, "checksum").add(wall.get("checksum", 0.0), cpu.get("checksum"), report.raw_len, None)
        L(op, "other").add(other_wall, None)
        for r, _, _ in inner:
            L(op, r.layer, "transform").add_record(r)
            if r.stream is not None:
                L(op, r.layer, "transform", r.stream).add_record(r)
        self._block_counts[op] += 1
        if len(self._blocks[op]) < self.keep_blocks:
            self._blocks[op].append({
                "op": op, "seq": report.seq, "fmt": None, "plan": report.plan,
                "raw_bytes": report.raw_len, "stored_bytes": report.stored_len,
                "ratio": report.raw_len / report.stored_len if report.stored_len else None,
                "wall_s": report.seconds, "cpu_s": sum(cpu.values()) if cpu else None,
                "throughput_mb_s": report.raw_len / report.seconds / _MB if report.seconds > 0 else None,
                "layers_wall_s": {"entropy": wall.get("entropy", 0.0), "transform": wall.get("transform", 0.0),
                                  "checksum": wall.get("checksum", 0.0), "other": other_wall},
                "streams": len(report.streams),
                "entropy_in_bits": None, "entropy_out_bits": None, "baseline_zstd_bytes": None,
                "trials": [], "rss_bytes": rss, "t_end_s": t_end,
            })

    # ------------------------------------------------------------ the profile

    def profile(self) -> Profile:
        """Everything measured so far, as a :class:`Profile` (JSON schema in docs/PROFILE.md)."""
        from .bottleneck import find_bottlenecks  # bottleneck reads the dict built here
        with self._lock:
            self._fold_events()
            unclaimed = sum(len(p) for p in self._pending_lists)
            layers = self._layer_rows()
            streams = self._stream_rows()
            trials = [{"transform": n, **t, "ratio": (t["raw_bytes"] / t["stored_bytes"]) if t["stored_bytes"] else None}
                      for n, t in sorted(self._trials.items())]
            blocks = sorted(self._blocks["compress"], key=lambda b: b["seq"]) + \
                sorted(self._blocks["decompress"], key=lambda b: b["seq"])
            runs = [f.row() for f in self._runs]
            totals = self._totals_row(runs)
            memory = self._memory_row(runs)
            notes = list(self._notes)
            for op, n in self._block_counts.items():
                if n > len(self._blocks[op]):
                    notes.append(f"{op}: {n} blocks, the first {len(self._blocks[op])} kept as rows")
        if unclaimed:
            notes.append(f"{unclaimed} records were made outside any block and are not in the tables")
        if not self.entropy:
            notes.append("entropy figures off (Profiler(entropy=False))")
        elif self._entropy_sampled:
            notes.append("entropy of buffers over 64 KiB estimated from 128 evenly spread 512-byte slices "
                         "(Profiler(entropy='exact') reads them whole)")
        gpu_fig = None
        if self._runs:
            last = self._runs[-1]
            gpu_fig = _gpu.gpu_figures(self._backend, self._runs[0].gpu_before, last.gpu_after)
        data = {
            "schema": SCHEMA,
            "created": self._created,
            "tool": _tool_info(),
            "engine": self._engine,
            "runs": runs,
            "totals": totals,
            "layers": layers,
            "streams": streams,
            "trials": trials,
            "blocks": blocks,
            "memory": memory,
            "gpu": gpu_fig,
            "streaming": self._streaming.summary() if self._streaming is not None else None,
            "bottlenecks": [],
            "notes": notes,
        }
        data = clean_tree(data)
        data["bottlenecks"] = clean_tree(find_bottlenecks(data))
        return Profile(data)

    def _layer_rows(self) -> list:
        rows = []
        order = {("compress", n): i for i, n in enumerate(ENCODE_LAYERS)}
        order.update({("decompress", n): i for i, n in enumerate(DECODE_LAYERS)})
        for op in ("compress", "decompress"):
            keys = [k for k in self._layers if k[0] == op]
            total_wall = sum(self._layers[k].wall_s for k in keys if k[2] is None)
            saved_total = self._totals["raw_bytes"] - self._totals["record_bytes"] if op == "compress" else 0

            def sort_key(k):
                top = k[1] if k[2] is None else k[2]
                return (order.get((op, top), 99), k[2] is not None, k[1], k[3] or "")
            for key in sorted(keys, key=sort_key):
                _, layer, parent, stream = key
                row = {"op": op, "layer": layer, "parent": parent, "stream": stream}
                row.update(self._layers[key].row())
                row["time_share"] = row["wall_s"] / total_wall if total_wall > 0 else None
                saved = row["saved_bytes"]
                row["savings_share"] = (min(1.0, max(0, saved) / saved_total)
                                        if saved is not None and saved_total > 0 else (0.0 if op == "compress" else None))
                rows.append(row)
        return rows

    def _stream_rows(self) -> list:
        total_wall = sum(a.wall_s for k, a in self._layers.items() if k[0] == "compress" and k[2] is None)
        saved_total = self._totals["raw_bytes"] - self._totals["record_bytes"]
        stored_total = self._totals["stream_stored_bytes"]
        rows = []
        for (transform, name), st in sorted(self._streams.items(), key=lambda kv: -(kv[1]["acc"].bytes_out or 0)):
            acc = st["acc"]
            row = {"transform": transform, "name": name,
                   "codec": max(st["codecs"], key=st["codecs"].get) if st["codecs"] else None,
                   "codecs": st["codecs"], "blocks": acc.calls}
            r = acc.row()
            for k in ("calls", "dict_size", "dict_hits", "dict_misses", "dict_hit_rate", "nesting", "extra"):
                r.pop(k)  # per-stream dictionary and nesting figures are in the layer rows with this stream
            row.update(r)
            inner_wall = sum(st["layers"].values())
            row["layers_wall_s"] = {"entropy": acc.wall_s, **st["layers"]}
            row["total_wall_s"] = acc.wall_s + inner_wall
            row["time_share"] = row["total_wall_s"] / total_wall if total_wall > 0 else None
            row["savings_share"] = min(1.0, max(0, acc.saved_bytes or 0) / saved_total) if saved_total > 0 else 0.0
            row["output_share"] = (acc.bytes_out or 0) / stored_total if stored_total else None
            rows.append(row)
        return rows

    def _totals_row(self, runs: list) -> dict:
        t = dict(self._totals)
        outs = [r["bytes_out"] for r in runs if r["op"] == "compress"]
        # several compress runs on one profiler: their frames together
        frame_bytes = sum(outs) if outs and None not in outs else None
        t["frame_bytes"] = frame_bytes
        t["block_overhead_bytes"] = t["record_bytes"] - t["stream_stored_bytes"]
        t["frame_overhead_bytes"] = frame_bytes - t["record_bytes"] if frame_bytes is not None else None
        t["ratio"] = t["raw_bytes"] / frame_bytes if frame_bytes else (
            t["raw_bytes"] / t["record_bytes"] if t["record_bytes"] else None)
        t["saved_bytes"] = t["raw_bytes"] - (frame_bytes if frame_bytes is not None else t["record_bytes"])
        t["vs_zstd_baseline"] = (t["baseline_zstd_bytes"] / t["record_bytes"]
                                 if t["baseline_blocks"] and t["record_bytes"] else None)
        t["entropy_in_bits"] = entropy_bits(self._block_hist_total) if self._block_hist_total is not None else None
        t["blocks_compressed"] = self._block_counts["compress"]
        t["blocks_decompressed"] = self._block_counts["decompress"]
        return t

    def _memory_row(self, runs: list) -> dict:
        comp = next((r for r in runs if r["op"] == "compress"), None)
        dec = next((r for r in runs if r["op"] == "decompress"), None)
        buffers = [
            {"what": "input", "bytes": comp["bytes_in"] if comp else None},
            {"what": "output frame", "bytes": comp["bytes_out"] if comp else None},
            {"what": "largest block (raw)", "bytes": self._largest["block_raw"]},
            {"what": "largest block's transform streams (before entropy)", "bytes": self._largest["block_streams_decoded"]},
            {"what": "largest block's streams over all candidates", "bytes": self._largest["block_trial_streams"]},
            {"what": "largest single stream", "bytes": self._largest["stream_decoded"]},
            {"what": "largest encoded block", "bytes": self._largest["block_record"]},
        ]
        if dec:
            buffers.append({"what": "decompressed output", "bytes": dec["bytes_out"]})
        threads = (self._engine or {}).get("threads") or 1
        in_flight = threads * (self._largest["block_raw"] + self._largest["block_trial_streams"]
                               + self._largest["block_record"])
        return {
            "rss_peak_bytes": _rss_peak(),
            "rss_now_bytes": _rss_now(),
            "runs": {r["op"]: {"rss_start_bytes": r["rss_start_bytes"], "rss_end_bytes": r["rss_end_bytes"],
                               "rss_peak_growth_bytes": r["rss_peak_growth_bytes"]} for r in runs},
            "largest_buffers": [b for b in buffers if b["bytes"] is not None],
            "blocks_in_flight_estimate_bytes": in_flight,
        }


def _sum_hists(hists):
    out = None
    for h in hists:
        if h is None:
            return None  # partial sums would misstate the entropy
        out = h.copy() if out is None else out + h
    return out


def _inner_saved(r: LayerRecord, h_in, h_out) -> int | None:
    """Bytes an inner layer saved: its own figure, else the drop in order-0 entropy size, else bytes in - out."""
    if r.saved_bytes is not None:
        return int(r.saved_bytes)
    if h_in is not None and h_out is not None:
        e_in, e_out = entropy_bits(h_in), entropy_bits(h_out)
        if e_in is not None and e_out is not None:
            return int(h_in.sum() * e_in / 8 - h_out.sum() * e_out / 8)
    if r.bytes_in is not None and r.bytes_out is not None:
        return int(r.bytes_in) - int(r.bytes_out)
    return None


def _checksum_label(cid) -> str:
    from ..format import checksum as ck
    try:
        return ck.checksum_label(cid)
    except Exception:
        return str(cid)


def _tool_info() -> dict:
    try:
        from .. import __version__ as version
    except ImportError:
        version = None
    return {"cobol": version, "python": platform.python_version(), "numpy": np.__version__,
            "platform": platform.platform(), "cpus": os.cpu_count()}


# ---------------------------------------------------------------- one-call helpers

def profile_compress(data, *, profiler: Profiler | None = None, level: int | None = None, **engine_kwargs):
    """Compress ``data`` under a profiler: returns ``(blob, Profile)``.

    ``engine_kwargs`` go to :class:`~cobol.CobolEngine` (threads, block_size, plan, ...).

    >>> blob, prof = profile_compress(b'{"a": 1}\\n' * 1000)
    >>> prof.totals["frame_bytes"] == len(blob)
    True
    """
    from ..engine import DEFAULT_LEVEL, CobolEngine
    p = profiler or Profiler()
    engine = CobolEngine(DEFAULT_LEVEL if level is None else level, profiler=p, **engine_kwargs)
    p.attach(engine)
    if not isinstance(data, bytes):
        data = memoryview(data).cast("B").tobytes()
    with p.run("compress", len(data)) as run:
        blob = engine.compress(data)
        run.bytes_out = len(blob)
    return blob, p.profile()


def profile_roundtrip(data, *, profiler: Profiler | None = None, level: int | None = None, **engine_kwargs):
    """Compress then decompress ``data`` under one profiler; checks the round trip.

    Returns ``(blob, Profile)`` with both a ``compress`` and a ``decompress`` run.
    """
    from ..engine import DEFAULT_LEVEL, CobolEngine
    from ..errors import CobolError
    p = profiler or Profiler()
    engine = CobolEngine(DEFAULT_LEVEL if level is None else level, profiler=p, **engine_kwargs)
    p.attach(engine)
    if not isinstance(data, bytes):
        data = memoryview(data).cast("B").tobytes()
    with p.run("compress", len(data)) as run:
        blob = engine.compress(data)
        run.bytes_out = len(blob)
    with p.run("decompress", len(blob)) as run:
        back = engine.decompress(blob)
        run.bytes_out = len(back)
    if back != data:
        raise CobolError("profiled round trip did not give the input back")
    return blob, p.profile()
