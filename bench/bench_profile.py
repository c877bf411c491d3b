"""What the profiler costs: compress time with a Profiler attached against
without one, and (profiling off) the engine with its hooks against the engine
from before the hooks existed.

Usage: PYTHONPATH=src .venv/bin/python bench/bench_profile.py [FILES...]
           [--reps 11] [--level 3] [--max-bytes 16M] [--entropy sample|exact|off] [--baseline-rev REV]
(default files: a few of /work/corpus, else samples/).

Method: one thread, default block size, one untimed warm-up per file; then
``--reps`` rounds, each timing plain ``CobolEngine.compress`` and profiled
``CobolEngine(profiler=Profiler()).compress`` back to back (order alternating
by round), so machine noise hits both alike. The figure is the ratio of the
medians (and of the minimums); building the report afterwards
(``Profiler.profile()``) is timed separately and is not compress time.

Profiling off: the engine and planner of ``--baseline-rev`` (default: the
commit before the hooks were added) are loaded from git beside the current
ones and timed the same way with no profiler. When that revision cannot be
loaded (no git, or the old code no longer fits the current modules) the
section says so and is skipped.
"""

from __future__ import annotations

import argparse
import glob
import os
import statistics
import subprocess
import sys
import time
import types

from cobol.engine import CobolEngine
from cobol.profile import Profiler

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_FILES = [
    "/work/corpus/jsonl/vega-flights-200k.jsonl", "/work/corpus/csv/vega-zipcodes.csv",
    "/work/corpus/text/debian-policy.txt", "/work/corpus/log/local-dpkg.log",
    "/work/corpus/xml/cldr41-main-ru.xml", "/work/corpus/numeric/vega-flights-200k-time.f64",
]
#: the commit before "profiler hooks" (a213ab5) touched engine.py and plan.py
HOOKS_PARENT = "a213ab5^"


def parse_size(text: str) -> int:
    units = {"k": 10, "m": 20, "g": 30}
    t = text.strip().lower().rstrip("ib")
    return int(t[:-1]) << units[t[-1]] if t and t[-1] in units else int(t)


def load_baseline_engine(rev: str):
    """CobolEngine class from ``rev``'s engine.py + plan.py, importing everything else from today's package."""
    def source(path):
        return subprocess.run(["git", "show", f"{rev}:{path}"], cwd=REPO, capture_output=True, check=True).stdout

    plan = types.ModuleType("cobol._baseline_plan")
    plan.__package__ = "cobol"
    sys.modules[plan.__name__] = plan
    exec(compile(source("src/cobol/plan.py"), f"{rev}:plan.py", "exec"), plan.__dict__)
    engine_src = source("src/cobol/engine.py").replace(b"from .plan import", b"from ._baseline_plan import")
    engine = types.ModuleType("cobol._baseline_engine")
    engine.__package__ = "cobol"
    sys.modules[engine.__name__] = engine
    exec(compile(engine_src, f"{rev}:engine.py", "exec"), engine.__dict__)
    return engine.CobolEngine


def paired(fn_a, fn_b, reps: int):
    """Median and min seconds of fn_a and fn_b, timed back to back, order alternating."""
    ta, tb = [], []
    for r in range(reps):
        order = ((fn_a, ta), (fn_b, tb)) if r % 2 == 0 else ((fn_b, tb), (fn_a, ta))
        for fn, out in order:
            t = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t)
    return statistics.median(ta), min(ta), statistics.median(tb), min(tb)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*")
    ap.add_argument("--reps", type=int, default=11)
    ap.add_argument("--level", type=int, default=3)
    ap.add_argument("--max-bytes", type=parse_size, default=16 << 20)
    ap.add_argument("--entropy", choices=("sample", "exact", "off"), default="sample")
    ap.add_argument("--baseline-rev", default=HOOKS_PARENT)
    a = ap.parse_args(argv)
    files = a.files or [f for f in DEFAULT_FILES if os.path.exists(f)] or sorted(glob.glob(os.path.join(REPO, "samples", "*", "*")))
    files = [f for f in files if os.path.isfile(f) and not f.endswith(".md")]
    if not files:
        print("no input files", file=sys.stderr)
        return 1
    entropy = False if a.entropy == "off" else a.entropy
    try:
        baseline_cls = load_baseline_engine(a.baseline_rev)
    except Exception as e:  # noqa: BLE001 - any failure only skips the comparison
        baseline_cls = None
        baseline_note = f"baseline engine of {a.baseline_rev} not loaded ({type(e).__name__}: {e})"
    else:
        baseline_note = f"baseline: engine.py and plan.py of {a.baseline_rev}"

    print(f"profiler overhead, level {a.level}, 1 thread, {a.reps} paired rounds, entropy={a.entropy}; "
          f"medians (min in brackets); MB = 10^6 bytes")
    print(f"{'file':40s} {'MB':>6s} {'plain ms':>16s} {'profiled ms':>16s} {'on: +%':>15s} "
          f"{'report ms':>9s} {'pre-hooks ms':>16s} {'off: +%':>15s}")
    on_all, off_all = [], []
    for path in files:
        data = open(path, "rb").read()[: a.max_bytes]
        hints = {}
        ext = path.rsplit(".", 1)[-1]
        if ext in ("i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "f32", "f64"):
            hints = {"dtype": {"i": "int", "u": "uint", "f": "float"}[ext[0]] + ext[1:]}
        plain = CobolEngine(a.level, threads=1, hints=hints)
        plain.compress(data)  # warm-up: Numba caches, zstd contexts

        def profiled():
            CobolEngine(a.level, threads=1, hints=hints, profiler=Profiler(entropy=entropy)).compress(data)
        profiled()
        pm, pmin, qm, qmin = paired(lambda: plain.compress(data), profiled, a.reps)
        p = Profiler(entropy=entropy)
        CobolEngine(a.level, threads=1, hints=hints, profiler=p).compress(data)
        t = time.perf_counter()
        p.profile()
        report_ms = (time.perf_counter() - t) * 1e3
        on = qm / pm - 1
        on_all.append(on)
        row = (f"{os.path.basename(path)[:40]:40s} {len(data) / 1e6:6.2f} {pm * 1e3:8.2f} ({pmin * 1e3:6.2f}) "
               f"{qm * 1e3:8.2f} ({qmin * 1e3:6.2f}) {100 * on:+6.2f}% ({100 * (qmin / pmin - 1):+5.1f}%) "
               f"{report_ms:9.2f}")
        if baseline_cls is not None:
            try:
                base = baseline_cls(a.level, threads=1, hints=hints)
                assert base.compress(data) == plain.compress(data), "baseline output differs"
                bm, bmin, cm, cmin = paired(lambda: base.compress(data), lambda: plain.compress(data), a.reps)
                off = cm / bm - 1
                off_all.append(off)
                row += (f" {bm * 1e3:8.2f} ({bmin * 1e3:6.2f}) {100 * off:+6.2f}% ({100 * (cmin / bmin - 1):+5.1f}%)")
            except Exception as e:  # noqa: BLE001
                row += f"  baseline failed: {type(e).__name__}: {e}"
        print(row, flush=True)
    print(f"profiling on: median overhead over files {100 * statistics.median(on_all):+.2f}% "
          f"(range {100 * min(on_all):+.2f}% .. {100 * max(on_all):+.2f}%)")
    if off_all:
        print(f"profiling off vs pre-hooks engine: median {100 * statistics.median(off_all):+.2f}% "
              f"(range {100 * min(off_all):+.2f}% .. {100 * max(off_all):+.2f}%)")
    print(f"note: {baseline_note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
