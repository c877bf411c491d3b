"""CSV/TSV at the default level, file by file, against zstd -3 in the same run.

    PYTHONPATH=src .venv/bin/python bench/csv_speed_vs_zstd.py [FILES...] [--repeat 3] [--json OUT]

(default files: /work/corpus/csv/*). Per file: the compressed size of
``cobol.compress(data, 3, threads=1)`` and of zstd -3, and the compress and
decompress speed (MB = 10^6 bytes of raw input per CPU second, best of
``--repeat``), each also as the ratio of zstd -3's CPU time to ours on the same
bytes in the same loop (``c/z``, ``d/z``: 1.0 is zstd's speed). CPU time, not
wall time: the machines this runs on are shared. Totals are over all files
(sum of bytes / sum of seconds). ``--json`` writes the per-file numbers, for
before/after comparisons (sizes are deterministic).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

import zstandard  # noqa: E402

import cobol  # noqa: E402

LEVEL = 3


def best(fn, repeat: int):
    """(best CPU seconds, result) of ``repeat`` calls of fn."""
    t_best, out = None, None
    for _ in range(repeat):
        t0 = time.process_time()
        out = fn()
        dt = time.process_time() - t0
        t_best = dt if t_best is None else min(t_best, dt)
    return max(t_best, 1e-9), out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", help="write the per-file numbers here")
    a = ap.parse_args(argv)
    files = a.files or sorted(glob.glob("/work/corpus/csv/*"))
    if not files:
        print("no input files", file=sys.stderr)
        return 1
    # load the kernels (cache=True) before the first file is timed
    cobol.decompress(cobol.compress(b"a,b,c\n1,2.5,2020-01-01\n3,4.5,2020-01-02\n" * 200, LEVEL))
    zc, zd = zstandard.ZstdCompressor(level=LEVEL), zstandard.ZstdDecompressor()
    rows = {}
    print(f"{'file':36s} {'size':>9s} {'ratio':>7s} {'zstd-3':>7s} {'c MB/s':>7s} {'d MB/s':>7s} {'c/z':>6s} {'d/z':>6s}")
    for path in files:
        data = open(path, "rb").read()
        tc, blob = best(lambda: cobol.compress(data, LEVEL, threads=1), a.repeat)
        td, back = best(lambda: cobol.decompress(blob, threads=1), a.repeat)
        if back != data:
            raise SystemExit(f"{path}: round trip failed")
        tzc, z = best(lambda: zc.compress(data), a.repeat)
        tzd, _ = best(lambda: zd.decompress(z), a.repeat)
        n = len(data)
        rows[path] = dict(raw=n, ours=len(blob), zstd=len(z), c=tc, d=td, zc=tzc, zd=tzd)
        print(f"{os.path.basename(path)[:36]:36s} {n:9d} {n / len(blob):7.3f} {n / len(z):7.3f} {n / tc / 1e6:7.1f} "
              f"{n / td / 1e6:7.1f} {tzc / tc:6.3f} {tzd / td:6.3f}", flush=True)
    t = {k: sum(r[k] for r in rows.values()) for k in next(iter(rows.values()))}
    print(f"total: ratio {t['raw'] / t['ours']:.3f} (zstd -3 {t['raw'] / t['zstd']:.3f}); "
          f"compress {t['raw'] / t['c'] / 1e6:.1f} MB/s = {t['zc'] / t['c']:.3f} x zstd -3 ({t['raw'] / t['zc'] / 1e6:.0f}); "
          f"decompress {t['raw'] / t['d'] / 1e6:.1f} MB/s = {t['zd'] / t['d']:.3f} x zstd -3 ({t['raw'] / t['zd'] / 1e6:.0f})")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
