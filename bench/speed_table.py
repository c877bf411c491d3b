"""One-core speed per category next to zstd -3, and 1 vs 2 threads on a large file.

    .venv/bin/python bench/speed_table.py                     # prints the markdown table
    .venv/bin/python bench/speed_table.py --out docs/SPEED.md # writes it (with the command and machine)
    .venv/bin/python bench/speed_table.py --categories csv numeric --no-threads

One core: every file of each category of the corpus (default /work/corpus/<category>/)
goes through ``cobol.compress(data, level=3, threads=1)`` (the public API at the
default level; numeric files get the dtype their suffix names, ``.i32`` -> ``<i4``,
as a caller of a typed array would) and back through ``cobol.decompress``, checked
to round-trip. Times are CPU seconds of this process (``time.process_time``, best of
``--repeat`` runs): the machines this runs on are shared, and wall time would also
measure the neighbours. zstd -3 (python-zstandard, one thread) runs on the same
bytes in the same loop, so the ``/zstd`` columns compare like with like. MB = 10^6
bytes of *raw* input per second, totals over the category (sum of bytes / sum of
seconds).

Threads: corpus files of every category concatenated (repeated) to about
``--large-mb`` MB in a temporary file, compressed and decompressed with
``threads=1`` and ``threads=2`` (default block size, 8 MiB blocks); here the
time is *wall* time (``time.perf_counter``, best of ``--repeat``), since CPU time
would hide the parallelism. On a machine whose cores are busy with other work the
speed-up is capped by what the neighbours leave; the table says how many cores
this process could use.
"""

from __future__ import annotations

import argparse
import glob
import os
import platform
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

import zstandard  # noqa: E402

import cobol  # noqa: E402

CATEGORIES = ("csv", "numeric", "json", "jsonl", "xml", "html", "text", "log")
SUFFIX_DTYPES = {".i8": "<i1", ".i16": "<i2", ".i32": "<i4", ".i64": "<i8", ".u8": "<u1", ".u16": "<u2",
                 ".u32": "<u4", ".u64": "<u8", ".f32": "<f4", ".f64": "<f8"}
LEVEL = 3


def best(fn, repeat: int, clock=time.process_time):
    """(best seconds, result) of ``repeat`` calls of fn."""
    t_best, out = None, None
    for _ in range(repeat):
        t0 = clock()
        out = fn()
        dt = clock() - t0
        t_best = dt if t_best is None else min(t_best, dt)
    return max(t_best, 1e-9), out


def category_row(files: list, repeat: int) -> dict:
    tot = dict(raw=0, ours=0, zstd=0, c=0.0, d=0.0, zc=0.0, zd=0.0)
    zc = zstandard.ZstdCompressor(level=LEVEL)
    zd = zstandard.ZstdDecompressor()
    for path in files:
        data = open(path, "rb").read()
        dtype = SUFFIX_DTYPES.get(os.path.splitext(path)[1])
        kw = {"dtype": dtype} if dtype else {}
        tc, blob = best(lambda: cobol.compress(data, LEVEL, threads=1, **kw), repeat)
        td, back = best(lambda: cobol.decompress(blob, threads=1), repeat)
        if back != data:
            raise SystemExit(f"{path}: round trip failed")
        tzc, z = best(lambda: zc.compress(data), repeat)
        tzd, _ = best(lambda: zd.decompress(z), repeat)
        for k, v in (("raw", len(data)), ("ours", len(blob)), ("zstd", len(z)),
                     ("c", tc), ("d", td), ("zc", tzc), ("zd", tzd)):
            tot[k] += v
    return tot


def large_file(corpus: str, categories, mb: int) -> str:
    files = sorted(p for c in categories for p in glob.glob(os.path.join(corpus, c, "*")) if os.path.isfile(p))
    path = os.path.join("/tmp", f"cobol-speed-large-{mb}mb.bin")
    if os.path.exists(path) and os.path.getsize(path) >= mb * 10**6:
        return path
    target = mb * 10**6
    with open(path, "wb") as f:
        written = 0
        while written < target:
            for p in files:
                b = open(p, "rb").read()
                f.write(b)
                written += len(b)
                if written >= target:
                    break
    return path


def thread_rows(path: str, repeat: int) -> list:
    data = open(path, "rb").read()
    rows = []
    for threads in (1, 2):
        eng = cobol.CobolEngine(LEVEL, threads=threads)
        tc, blob = best(lambda: eng.compress(data), repeat, time.perf_counter)
        td, back = best(lambda: eng.decompress(blob), repeat, time.perf_counter)
        if back != data:
            raise SystemExit("large file: round trip failed")
        rows.append((threads, len(data), len(blob), tc, td))
    return rows


def mbs(n: int, t: float) -> float:
    return n / 1e6 / t


def render(cat_rows: dict, trows: list | None, args) -> str:
    out = ["# Speed", "",
           f"Made by `python bench/speed_table.py{' ' + ' '.join(sys.argv[1:]) if len(sys.argv) > 1 else ''}` "
           f"on {platform.machine()} / Python {platform.python_version()} / "
           f"{len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()} usable cores, "
           f"{time.strftime('%Y-%m-%d', time.gmtime())}. "
           "See the script's docstring for the method: one core, CPU time, level 3 (the default) "
           "against zstd -3 in the same run; MB = 10^6 raw bytes.", "",
           "| category | files | MB | ratio | zstd -3 ratio | compress MB/s | zstd -3 | /zstd | "
           "decompress MB/s | zstd -3 | /zstd |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for cat, (nfiles, t) in cat_rows.items():
        c, d, zc, zd = (mbs(t["raw"], t[k]) for k in ("c", "d", "zc", "zd"))
        out.append(f"| {cat} | {nfiles} | {t['raw'] / 1e6:.1f} | {t['raw'] / t['ours']:.2f} | "
                   f"{t['raw'] / t['zstd']:.2f} | {c:.1f} | {zc:.0f} | {c / zc:.2f} | {d:.1f} | {zd:.0f} | {d / zd:.2f} |")
    if trows:
        one = trows[0]
        out += ["", f"Threads: {one[1] / 1e6:.0f} MB of corpus files concatenated, default block size, "
                    "wall time (best of the runs).", "",
                "| threads | ratio | compress MB/s | speed-up | decompress MB/s | speed-up |",
                "|---:|---:|---:|---:|---:|---:|"]
        for threads, raw, comp, tc, td in trows:
            out.append(f"| {threads} | {raw / comp:.2f} | {mbs(raw, tc):.1f} | {one[3] / tc:.2f}x | "
                       f"{mbs(raw, td):.1f} | {one[4] / td:.2f}x |")
    return "\n".join(out) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", default="/work/corpus")
    ap.add_argument("--categories", nargs="+", default=list(CATEGORIES))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--large-mb", type=int, default=100)
    ap.add_argument("--no-threads", action="store_true", help="skip the 1 vs 2 threads rows")
    ap.add_argument("--out", help="write the markdown here (else stdout)")
    args = ap.parse_args(argv)
    cat_rows = {}
    for cat in args.categories:
        files = sorted(p for p in glob.glob(os.path.join(args.corpus, cat, "*")) if os.path.isfile(p))
        if files:
            cat_rows[cat] = (len(files), category_row(files, args.repeat))
            print(f"{cat}: done", file=sys.stderr, flush=True)
    trows = None if args.no_threads else thread_rows(large_file(args.corpus, args.categories, args.large_mb),
                                                     args.repeat)
    text = render(cat_rows, trows, args)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    print(text, end="")


if __name__ == "__main__":
    main()
