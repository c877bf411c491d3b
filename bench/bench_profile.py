"""What the profiler costs: compress time with a Profiler attached against
without one, and (profiling off) the engine with its hooks against the engine
from before the hooks existed.

Usage: PYTHONPATH=src .venv/bin/python bench/bench_profile.py [FILES...]
           [--reps 11] [--level 3] [--max-bytes 16M] [--entropy sample|exact|off] [--baseline-rev REV]
(default files: a few of /work/corpus, else samples/).

Method: one thread, default block size, one untimed warm-up per file; then
``--reps`` rounds, each compressing the file with every variant back to back
(the order rotating by round): no profiler, a no-op profiler (``NullProfiler``:
the engine's hooks plus whatever the layers compute for a profiler), the real
``Profiler``, and the pre-hooks engine. Times are CPU seconds of the process
(``time.process_time``; the engine runs one thread), which other processes on a
shared machine disturb far less than wall time. Figures are ratios of medians.
Building the report afterwards (``Profiler.profile()``) is timed separately and
is not compress time.

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


class NullProfiler:
    """Accepts every hook and keeps nothing: what the engine's hooks and the layers'
    own profiling work cost, without this package's bookkeeping."""

    @staticmethod
    def start():
        return Profiler.start()

    def record(self, layer, stream=None, **kw):
        pass

    def on_block(self, report):
        pass

    def on_block_decoded(self, report):
        pass


class InstrumentedProfiler(Profiler):
    """A Profiler that adds up the CPU time spent in its own hooks (one thread):
    a direct measure of its cost that the machine's noise does not blur."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.hook_cpu_s = 0.0

    def record(self, *args, **kw):
        c = time.thread_time()
        super().record(*args, **kw)
        self.hook_cpu_s += time.thread_time() - c

    def on_block(self, report):
        c = time.thread_time()
        super().on_block(report)
        self.hook_cpu_s += time.thread_time() - c


def interleaved(fns: dict, reps: int) -> dict:
    """CPU seconds (process_time; one thread, so insensitive to other processes
    taking the cores) of each fn per round; the order rotates every round."""
    names = list(fns)
    out = {n: [] for n in names}
    for r in range(reps):
        k = r % len(names)
        for n in names[k:] + names[:k]:
            c = time.process_time()
            fns[n]()
            out[n].append(time.process_time() - c)
    return out


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
        baseline_note = f"pre-hooks = engine.py and plan.py of {a.baseline_rev}"
    except Exception as e:  # noqa: BLE001 - any failure only skips the comparison
        baseline_cls = None
        baseline_note = f"pre-hooks engine of {a.baseline_rev} not loaded ({type(e).__name__}: {e})"

    print(f"profiler cost, level {a.level}, 1 thread, {a.reps} interleaved rounds, entropy={a.entropy}; "
          f"CPU ms per compress (median); MB = 10^6 bytes")
    print("  on    = Profiler attached vs none        own  = Profiler vs a no-op profiler (this package's bookkeeping)")
    print("  in hooks = CPU time inside the Profiler's record/on_block calls / plain time (measured directly; an upper\n"
          "             bound: it includes freeing the losing candidates' buffers, which the engine frees anyway)")
    print("  hooks = no-op profiler vs none (engine hooks + the layers' own profiling work)")
    print("  off   = no profiler vs the pre-hooks engine")
    print(f"{'file':36s} {'MB':>5s} {'plain':>8s} {'on':>8s} {'own':>8s} {'in hooks':>8s} {'hooks':>8s} {'off':>8s} "
          f"{'report':>8s}")
    summary = {"on": [], "own": [], "in hooks": [], "hooks": [], "off": []}
    for path in files:
        data = open(path, "rb").read()[: a.max_bytes]
        hints = {}
        ext = path.rsplit(".", 1)[-1]
        if ext in ("i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "f32", "f64"):
            hints = {"dtype": {"i": "int", "u": "uint", "f": "float"}[ext[0]] + ext[1:]}
        plain = CobolEngine(a.level, threads=1, hints=hints)
        ref = plain.compress(data)  # warm-up: Numba caches, zstd contexts
        fns = {
            "plain": lambda: plain.compress(data),
            "null": lambda: CobolEngine(a.level, threads=1, hints=hints, profiler=NullProfiler()).compress(data),
            "full": lambda: CobolEngine(a.level, threads=1, hints=hints,
                                        profiler=Profiler(entropy=entropy)).compress(data),
        }
        if baseline_cls is not None:
            try:
                base = baseline_cls(a.level, threads=1, hints=hints)
                if base.compress(data) != ref:
                    raise ValueError("output differs from today's engine")
                fns["base"] = lambda: base.compress(data)
            except Exception as e:  # noqa: BLE001
                baseline_note += f"; {os.path.basename(path)}: {type(e).__name__}: {e}"
        fns["full"]()
        t = interleaved(fns, a.reps)
        med = {k: statistics.median(v) for k, v in t.items()}
        hook_s = []
        for _ in range(3):
            p = InstrumentedProfiler(entropy=entropy)
            CobolEngine(a.level, threads=1, hints=hints, profiler=p).compress(data)
            hook_s.append(p.hook_cpu_s)
        c = time.process_time()
        p.profile()
        report_ms = (time.process_time() - c) * 1e3
        figs = {"on": med["full"] / med["plain"] - 1, "own": med["full"] / med["null"] - 1,
                "in hooks": min(hook_s) / med["plain"], "hooks": med["null"] / med["plain"] - 1}
        if "base" in med:
            figs["off"] = med["plain"] / med["base"] - 1
        for k, v in figs.items():
            summary[k].append(v)
        cells = " ".join(f"{100 * figs[k]:+7.2f}%" if k in figs else f"{'-':>8s}"
                         for k in ("on", "own", "in hooks", "hooks", "off"))
        print(f"{os.path.basename(path)[:36]:36s} {len(data) / 1e6:5.2f} {med['plain'] * 1e3:8.2f} {cells} "
              f"{report_ms:8.2f}", flush=True)
    for k, v in summary.items():
        if v:
            print(f"{k:8s}: median over files {100 * statistics.median(v):+.2f}% "
                  f"(range {100 * min(v):+.2f}% .. {100 * max(v):+.2f}%)")
    print(f"note: {baseline_note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
