"""``cobol bench``: an lzbench-style comparison of cobol with the anchor compressors.

Every codec runs in this one process on the same bytes: cobol at a few levels,
zstd -3 and -19, xz -9, brotli -11, lz4 (frame, default level) and openzl's
generic graph at its default level when the ``openzl`` package is importable
(skipped with a note otherwise). For each file and codec
the harness records the ratio, the compress and decompress speed (median of
``reps`` timed repetitions, MB = 10**6 bytes) and checks the round trip on every
repetition; a mismatch or a codec error is reported, never hidden.

Repetitions are interleaved: repetition r runs every codec on a file before
repetition r+1 starts, in an order rotated each repetition, so machine noise
(other processes, frequency changes) hits all codecs alike. One untimed warm-up
run per (file, codec) comes first: it loads Numba's cached kernels and gives the
compressed size. Short operations are repeated inside one timing until it spans
at least ``MIN_TIMING_S`` so that timer resolution does not decide the result.

The *category* of a file is the name of its parent folder (the corpus and
samples/ keep one folder per format: json, jsonl, csv, ...); the summary gives
the geometric mean of the ratio per category and codec, and cobol's ratio
relative to zstd -19 (the issues state their targets that way).

Numeric files named ``*.i32``, ``*.f64``, ... (the corpus' convention for raw
little-endian arrays) get the dtype as a hint, for cobol and openzl alike; the
hint only steers modelling, never correctness.

>>> from cobol.bench import BenchInput, run_bench, parse_codecs
>>> r = run_bench([BenchInput("x.csv", "csv", b"a,b\\n1,2\\n" * 500)], parse_codecs("zstd-3,cobol-3"), reps=1)
>>> [(row.codec, row.verified) for row in r.rows]
[('zstd', True), ('cobol', True)]
"""

from __future__ import annotations

import errno
import lzma
import math
import os
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import zstandard

from .engine import CobolEngine

SCHEMA = "cobol-bench/1"
#: a timing shorter than this repeats the operation inside the timer
MIN_TIMING_S = 0.005
#: file names a directory walk skips (documentation and outputs beside the data)
SKIP_NAMES = frozenset({"README", "README.md", "README.txt", "MANIFEST.tsv", "LICENSE", "LICENSE.txt", "NOTICE"})
SKIP_SUFFIXES = (".cobl",)
#: raw little-endian numeric arrays, by the corpus' file name convention
DTYPE_SUFFIXES = {
    ".i8": "int8", ".u8": "uint8", ".i16": "int16", ".u16": "uint16", ".i32": "int32", ".u32": "uint32",
    ".i64": "int64", ".u64": "uint64", ".f16": "float16", ".f32": "float32", ".f64": "float64",
}
DEFAULT_LEVELS = (3, 19)
#: the anchors; cobol's levels come from ``levels``
ANCHORS = ("zstd-3", "zstd-19", "xz-9", "brotli-11", "lz4", "openzl")
REFERENCE = ("zstd", 19)  # cobol's ratio is also reported relative to this one


class BenchError(Exception):
    """A bad benchmark request (unknown codec, unreadable input)."""


# ------------------------------------------------------------------ inputs

@dataclass
class BenchInput:
    name: str  # as shown and written to JSON (the path as given, or relative to the directory)
    category: str
    data: bytes
    dtype: str | None = None


def _truncate(data: bytes, max_bytes: int | None) -> bytes:
    """Cut at ``max_bytes``, at a newline in the second half when there is one
    (so text formats keep whole lines)."""
    if max_bytes is None or len(data) <= max_bytes:
        return data
    cut = data.rfind(b"\n", max_bytes // 2, max_bytes)
    return data[: cut + 1] if cut >= 0 else data[:max_bytes]


def dtype_for(path: Path, size: int) -> str | None:
    import numpy as np
    dtype = DTYPE_SUFFIXES.get(path.suffix.lower())
    if dtype is None or size % np.dtype(dtype).itemsize:
        return None
    return dtype


def collect_inputs(paths, max_bytes: int | None = None, dtype_hints: bool = True) -> list[BenchInput]:
    """Files given, and every file under directories given (sorted, recursive,
    skipping dot files, READMEs and .cobl outputs). ``dtype_hints``: take a
    numeric dtype from the suffix (see DTYPE_SUFFIXES)."""
    files = []  # (path, display name)
    for p in map(Path, paths):
        if p.is_dir():
            found = []
            for root, dirs, names in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for n in sorted(names):
                    if n.startswith(".") or n in SKIP_NAMES or n.endswith(SKIP_SUFFIXES):
                        continue
                    found.append(Path(root) / n)
            if not found:
                raise BenchError(f"{p}: no files found")
            files += [(f, str(f)) for f in found]
        elif p.exists():
            files.append((p, str(p)))
        else:
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(p))
    out = []
    for f, name in files:
        data = _truncate(f.read_bytes(), max_bytes)
        if max_bytes is not None and DTYPE_SUFFIXES.get(f.suffix.lower()):
            import numpy as np
            size = np.dtype(DTYPE_SUFFIXES[f.suffix.lower()]).itemsize
            data = data[: len(data) - len(data) % size]  # keep whole values
        category = f.resolve().parent.name or "."
        out.append(BenchInput(name, category, data, dtype_for(f, len(data)) if dtype_hints else None))
    return out


# ------------------------------------------------------------------ codecs

@dataclass
class Codec:
    """One compressor at one setting: ``compress(data, dtype)`` and
    ``decompress(blob, size, dtype)``, both bytes -> bytes."""

    name: str
    level: int | None
    compress: Callable
    decompress: Callable

    @property
    def label(self) -> str:
        return self.name if self.level is None else f"{self.name} -{self.level}"

    @property
    def key(self) -> tuple:
        return (self.name, self.level)


def _cobol(level: int, threads: int) -> Codec:
    def compress(data, dtype):
        hints = {"dtype": dtype} if dtype else None
        return CobolEngine(level, threads=threads, hints=hints).compress(data)

    def decompress(blob, size, dtype):
        return CobolEngine(threads=threads).decompress(blob, max_output_size=size)

    return Codec("cobol", level, compress, decompress)


def _zstd(level: int) -> Codec:
    # one single-threaded context each, reused, the way lzbench calls libzstd
    cctx = zstandard.ZstdCompressor(level=level)
    dctx = zstandard.ZstdDecompressor()
    return Codec("zstd", level, lambda d, _t: cctx.compress(d),
                 lambda b, size, _t: dctx.decompress(b, max_output_size=size))


def _xz(level: int) -> Codec:
    return Codec("xz", level, lambda d, _t: lzma.compress(d, preset=level),
                 lambda b, _s, _t: lzma.decompress(b))


def _brotli(level: int) -> Codec:
    import brotli
    return Codec("brotli", level, lambda d, _t: brotli.compress(d, quality=level),
                 lambda b, _s, _t: brotli.decompress(b))


def _lz4(level: int | None) -> Codec:
    import lz4.frame
    lv = 0 if level is None else level
    return Codec("lz4", level, lambda d, _t: lz4.frame.compress(d, compression_level=lv),
                 lambda b, _s, _t: lz4.frame.decompress(b))


def _openzl(level: int | None) -> Codec:
    """openzl 0.3's generic graph (``graphs.Compress``): a Serial input for
    bytes, a Numeric input when the dtype is known (that is where OpenZL's
    generic graph models numbers rather than bytes)."""
    import numpy as np
    import openzl.ext as zl

    compressor = zl.Compressor()
    compressor.select_starting_graph(zl.graphs.Compress()(compressor))

    def compress(data, dtype):
        cctx = zl.CCtx()
        cctx.ref_compressor(compressor)
        cctx.set_parameter(zl.CParam.FormatVersion, zl.MAX_FORMAT_VERSION)
        if level is not None:
            cctx.set_parameter(zl.CParam.CompressionLevel, level)
        if dtype and len(data):
            inp = zl.Input(zl.Type.Numeric, np.frombuffer(data, dtype=np.dtype(dtype).newbyteorder("<")))
        else:
            inp = zl.Input(zl.Type.Serial, np.frombuffer(data, dtype=np.uint8))
        return cctx.compress([inp])

    def decompress(blob, _size, _dtype):
        outs = zl.DCtx().decompress(blob)
        return b"".join(o.content.as_bytes() for o in outs)

    return Codec("openzl", level, compress, decompress)


#: name -> (factory(level, threads), default level or None)
FACTORIES = {
    "cobol": (lambda lv, th: _cobol(lv, th), 3),
    "zstd": (lambda lv, th: _zstd(lv), 19),
    "xz": (lambda lv, th: _xz(lv), 9),
    "brotli": (lambda lv, th: _brotli(lv), 11),
    "lz4": (lambda lv, th: _lz4(lv), None),
    "openzl": (lambda lv, th: _openzl(lv), None),
}


def _parse_spec(spec: str) -> tuple[str, int | None, bool]:
    """'zstd-19' / 'zstd:19' / 'zstd' -> (name, level, level given?)."""
    s = spec.strip().lower().replace(":", "-").replace(" ", "")
    name, _, lv = s.partition("-")
    if name not in FACTORIES:
        raise BenchError(f"unknown codec {spec!r}; known: {', '.join(FACTORIES)}")
    if not lv:
        return name, None, False
    try:
        return name, int(lv), True
    except ValueError:
        raise BenchError(f"bad level in codec {spec!r}") from None


def parse_codecs(specs: str | None = None, levels=DEFAULT_LEVELS, threads: int = 1,
                 notes: list | None = None) -> list[Codec]:
    """Codecs from a comma list like ``"cobol,zstd-19,xz"``; ``None`` = the default
    set (cobol at ``levels`` plus ANCHORS). A bare name selects that codec at
    its levels in the default set (cobol: ``levels``). In the default set, a
    codec whose library is missing is skipped with a line in ``notes``; one
    asked for by name is a BenchError."""
    default = [("cobol", lv) for lv in levels] + [_parse_spec(a)[:2] for a in ANCHORS]
    explicit = specs is not None
    if not explicit:
        wanted = default
    else:
        wanted = []
        for spec in filter(str.strip, specs.split(",")):
            name, lv, given = _parse_spec(spec)
            if given:
                wanted.append((name, lv))
            else:
                wanted += [(dn, dl) for dn, dl in default if dn == name] or [(name, FACTORIES[name][1])]
    out, seen = [], set()
    for name, lv in wanted:
        if (name, lv) in seen:
            continue
        seen.add((name, lv))
        try:
            out.append(FACTORIES[name][0](lv, threads))
        except ImportError as e:
            if explicit:
                raise BenchError(f"{name}: not installed (cannot import {e.name or e})") from None
            if notes is not None:
                notes.append(f"{name}: skipped, cannot import {e.name or e}")
        except Exception as e:  # a library that imports but cannot be set up (bad level, ABI)
            if explicit:
                raise BenchError(f"{name}: {e}") from None
            if notes is not None:
                notes.append(f"{name}: skipped ({type(e).__name__}: {e})")
    if not out:
        raise BenchError("no codec to run")
    return out


# ------------------------------------------------------------------ measuring

@dataclass
class BenchRow:
    file: str
    category: str
    size: int
    codec: str
    level: int | None
    compressed_size: int
    ratio: float
    c_mbps: float
    d_mbps: float
    verified: bool
    error: str | None = None

    @property
    def label(self) -> str:
        return self.codec if self.level is None else f"{self.codec} -{self.level}"


@dataclass
class CategorySummary:
    category: str
    codec: str
    level: int | None
    files: int
    geomean_ratio: float
    #: total bytes / total median time over the category's files
    c_mbps: float
    d_mbps: float


@dataclass
class BenchResult:
    rows: list
    categories: list
    #: {"category", "level", "ratio_vs_zstd19"}: cobol's geomean ratio / zstd -19's
    vs_reference: list
    reps: int
    notes: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.verified for r in self.rows)

    def to_json(self) -> dict:
        from . import __version__
        return {
            "schema": SCHEMA,
            "cobol_version": __version__,
            "reps": self.reps,
            "mb": 1_000_000,
            "results": [asdict(r) for r in self.rows],
            "categories": [asdict(c) for c in self.categories],
            "vs_zstd19": self.vs_reference,
            "ok": self.ok,
            "notes": self.notes,
        }


def _time(fn, *args) -> tuple[float, object]:
    """Seconds per call of fn(*args), repeating short calls (see MIN_TIMING_S)."""
    n = 0
    t0 = time.perf_counter()
    while True:
        out = fn(*args)
        n += 1
        dt = time.perf_counter() - t0
        if dt >= MIN_TIMING_S or n >= 1000:
            return dt / n, out


def geomean(xs) -> float:
    xs = [x for x in xs if x > 0]
    return math.exp(sum(map(math.log, xs)) / len(xs)) if xs else 0.0


def run_bench(inputs: list[BenchInput], codecs: list[Codec], reps: int = 3, on_step=None) -> BenchResult:
    """Measure every codec on every input; see the module docstring for the method.
    ``on_step(file, codec_label)`` is called before each measured operation pair
    (for progress bars)."""
    if reps < 1:
        raise BenchError("reps must be >= 1")
    n_codecs = len(codecs)
    # state per (input index, codec index)
    sizes, errors = {}, {}
    ctimes = {k: [] for k in ((i, j) for i in range(len(inputs)) for j in range(n_codecs))}
    dtimes = {k: [] for k in ctimes}

    def one(i, j, timed: bool):
        inp, codec = inputs[i], codecs[j]
        if (i, j) in errors:
            return
        if on_step is not None:
            on_step(inp.name, codec.label)
        try:
            if timed:
                ct, blob = _time(codec.compress, inp.data, inp.dtype)
                dt, back = _time(codec.decompress, blob, len(inp.data), inp.dtype)
                ctimes[i, j].append(ct)
                dtimes[i, j].append(dt)
            else:
                blob = codec.compress(inp.data, inp.dtype)
                back = codec.decompress(blob, len(inp.data), inp.dtype)
        except Exception as e:  # any codec failure is a result to report, not a crash
            errors[i, j] = f"{type(e).__name__}: {e}"
            return
        if back != inp.data:
            errors[i, j] = f"round trip mismatch ({len(back)} bytes back, {len(inp.data)} in)"
        sizes.setdefault((i, j), len(blob))  # the warm-up's output gives the size

    for i in range(len(inputs)):
        for j in range(n_codecs):
            one(i, j, timed=False)
    for r in range(reps):
        for i in range(len(inputs)):
            for k in range(n_codecs):
                one(i, (k + r) % n_codecs, timed=True)

    rows = []
    for i, inp in enumerate(inputs):
        for j, codec in enumerate(codecs):
            err = errors.get((i, j))
            size = len(inp.data)
            csize = sizes.get((i, j), 0)
            ct = statistics.median(ctimes[i, j]) if ctimes[i, j] else 0.0
            dt = statistics.median(dtimes[i, j]) if dtimes[i, j] else 0.0
            rows.append(BenchRow(
                file=inp.name, category=inp.category, size=size, codec=codec.name, level=codec.level,
                compressed_size=csize, ratio=round(size / csize, 4) if csize and not err else 0.0,
                c_mbps=round(size / 1e6 / ct, 2) if ct and not err else 0.0,
                d_mbps=round(size / 1e6 / dt, 2) if dt and not err else 0.0,
                verified=err is None, error=err,
            ))
    categories, vs = summarise(rows, codecs, ctimes, dtimes, inputs)
    return BenchResult(rows, categories, vs, reps)


def summarise(rows, codecs, ctimes, dtimes, inputs):
    cats = sorted({r.category for r in rows})
    out, vs = [], []
    by = {}
    for r in rows:
        by.setdefault((r.category, r.codec, r.level), []).append(r)
    for cat in cats + ["all"]:
        for j, c in enumerate(codecs):
            rs = [r for r in rows if (cat == "all" or r.category == cat) and r.codec == c.name and r.level == c.level]
            if not rs:
                continue
            idx = [i for i, inp in enumerate(inputs) if cat == "all" or inp.category == cat]
            total = sum(len(inputs[i].data) for i in idx)
            ct = sum(statistics.median(ctimes[i, j]) for i in idx if ctimes[i, j])
            dt = sum(statistics.median(dtimes[i, j]) for i in idx if dtimes[i, j])
            ok = all(r.verified for r in rs)
            out.append(CategorySummary(
                cat, c.name, c.level, len(rs),
                round(geomean([r.ratio for r in rs]), 4) if ok else 0.0,
                round(total / 1e6 / ct, 2) if ct and ok else 0.0,
                round(total / 1e6 / dt, 2) if dt and ok else 0.0,
            ))
        ref = next((s for s in out if s.category == cat and (s.codec, s.level) == REFERENCE), None)
        if ref is None or not ref.geomean_ratio:
            continue
        for s in out:
            if s.category == cat and s.codec == "cobol" and s.geomean_ratio:
                vs.append({"category": cat, "level": s.level,
                           "ratio_vs_zstd19": round(s.geomean_ratio / ref.geomean_ratio, 4)})
    return out, vs


# ------------------------------------------------------------------ tables

#: the tables print MiB/s (the command line's one unit system, 2^20 bytes); the JSON keeps
#: its c_mbps / d_mbps in MB/s (10^6 bytes, declared by its "mb" field), as before
_MIB_PER_MB = 1e6 / (1 << 20)


def file_table(result: BenchResult) -> tuple[list, list]:
    """(columns, rows) of the per-file table; columns are (title, align)."""
    cols = [("file", "l"), ("category", "l"), ("size", "r"), ("codec", "l"), ("ratio", "r"),
            ("C MiB/s", "r"), ("D MiB/s", "r"), ("check", "l")]
    rows = []
    for r in result.rows:
        rows.append([r.file, r.category, f"{r.size:,}", r.label,
                     f"{r.ratio:.3f}" if r.verified else "-",
                     f"{r.c_mbps * _MIB_PER_MB:.1f}" if r.verified else "-",
                     f"{r.d_mbps * _MIB_PER_MB:.1f}" if r.verified else "-",
                     "ok" if r.verified else f"FAILED: {r.error}"])
    return cols, rows


def category_table(result: BenchResult) -> tuple[list, list]:
    """(columns, rows): geomean ratio per category (rows) and codec (columns),
    then cobol's ratio relative to zstd -19 per cobol level."""
    labels = []
    for s in result.categories:
        lab = s.codec if s.level is None else f"{s.codec} -{s.level}"
        if lab not in labels:
            labels.append(lab)
    cobol_levels = sorted({v["level"] for v in result.vs_reference})
    cols = [("category", "l"), ("files", "r")] + [(lab, "r") for lab in labels]
    cols += [(f"cobol -{lv} vs zstd -19", "r") for lv in cobol_levels]
    rows = []
    cats = []
    for s in result.categories:
        if s.category not in cats:
            cats.append(s.category)
    for cat in cats:
        ss = {(s.codec if s.level is None else f"{s.codec} -{s.level}"): s for s in result.categories if s.category == cat}
        files = max(s.files for s in ss.values())
        row = [cat, str(files)] + [f"{ss[lab].geomean_ratio:.3f}" if lab in ss and ss[lab].geomean_ratio else "-"
                                   for lab in labels]
        vsd = {v["level"]: v["ratio_vs_zstd19"] for v in result.vs_reference if v["category"] == cat}
        row += [f"{vsd[lv]:.3f}x" if lv in vsd else "-" for lv in cobol_levels]
        rows.append(row)
    return cols, rows


def speed_table(result: BenchResult) -> tuple[list, list]:
    """(columns, rows): compress / decompress MiB/s of each codec over all files."""
    cols = [("codec", "l"), ("ratio (geomean)", "r"), ("C MiB/s", "r"), ("D MiB/s", "r")]
    rows = [[s.codec if s.level is None else f"{s.codec} -{s.level}",
             f"{s.geomean_ratio:.3f}" if s.geomean_ratio else "-",
             f"{s.c_mbps * _MIB_PER_MB:.1f}" if s.c_mbps else "-",
             f"{s.d_mbps * _MIB_PER_MB:.1f}" if s.d_mbps else "-"]
            for s in result.categories if s.category == "all"]
    return cols, rows
