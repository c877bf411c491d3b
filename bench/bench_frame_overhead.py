"""What the .cobl frame costs against bare python-zstandard (Foundation issue).

The `zstd` plan (transform raw + codec zstd) against ZstdCompressor at the same
level on the same bytes, with SHA-256 (default) and xxh3 block checksums;
one thread, interleaved repetitions, best of N. Then 1 vs 2 threads on the
auto plan.

    .venv/bin/python bench/bench_frame_overhead.py [FILES or DIRS...] [--reps 3]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import zstandard

import cobol


def _best(fn, reps):
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("paths", nargs="*", default=["/work/corpus"])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--levels", default="3,19")
    args = ap.parse_args()
    files = []
    for p in map(Path, args.paths):
        files += sorted(f for f in p.rglob("*") if f.is_file() and f.suffix != ".tsv") if p.is_dir() else [p]
    data = b"".join(f.read_bytes() for f in files)
    print(f"{len(files)} files concatenated, {len(data) / 1e6:.1f} MB")
    for level in map(int, args.levels.split(",")):
        reps = args.reps if level < 10 else 1
        bare_c = zstandard.ZstdCompressor(level=level)
        tb, zb = _best(lambda: bare_c.compress(data), reps)
        ts, zs = _best(lambda: cobol.compress(data, level=level, plan="zstd", threads=1), reps)
        tx, zx = _best(lambda: cobol.compress(data, level=level, plan="zstd", threads=1, checksum="xxh3"), reps)
        d = zstandard.ZstdDecompressor()
        db, _ = _best(lambda: d.decompress(zb), args.reps)
        ds, _ = _best(lambda: cobol.decompress(zs, threads=1), args.reps)
        dx, _ = _best(lambda: cobol.decompress(zx, threads=1), args.reps)
        print(f"level {level}: bare zstd {len(zb)} B, C {len(data) / 1e6 / tb:.0f} MB/s, D {len(data) / 1e6 / db:.0f} MB/s")
        for name, z, tc, td in (("sha256", zs, ts, ds), ("xxh3", zx, tx, dx)):
            print(f"  zstd plan, {name:6}: size {len(z) / len(zb) - 1:+.2%}, compress time {tc / tb - 1:+.1%}, "
                  f"decompress time {td / db - 1:+.1%}")
    big = data * max(1, int(100e6 // len(data)) + 1)
    big = big[:100_000_000]
    t1, b1 = _best(lambda: cobol.compress(big, threads=1), 1)
    t2, b2 = _best(lambda: cobol.compress(big, threads=2), 1)
    assert b1 == b2
    print(f"auto plan, level 3, 100 MB: 1 thread {100 / t1:.1f} MB/s, 2 threads {100 / t2:.1f} MB/s, "
          f"speedup {t1 / t2:.2f}x, identical output")


if __name__ == "__main__":
    main()
