"""Decode speed per category, best of many runs, next to zstd -3 in the same loop.

    PYTHONPATH=src python bench/decode_speed.py --repeat 15 json jsonl xml html text log

``bench/speed_table.py`` times each decode twice right after compressing the
file; this script compresses every file once (level 3, one thread) and then
times ``cobol.decompress(blob, threads=1)`` ``--repeat`` times (CPU time, best
run per file), with ``zstandard``'s one-shot decode of the same bytes at -3
timed in the same loop, so the ``/zstd`` column compares like with like on a
busy machine. MB = 10^6 raw bytes; totals over the category. ``--faults``
also prints the minor page faults per MB decoded (``ru_minflt``).
"""

from __future__ import annotations

import argparse
import glob
import os
import resource
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

import zstandard  # noqa: E402

import cobol  # noqa: E402

SUFFIX_DTYPES = {".i8": "<i1", ".i16": "<i2", ".i32": "<i4", ".i64": "<i8", ".u8": "<u1", ".u16": "<u2",
                 ".u32": "<u4", ".u64": "<u8", ".f32": "<f4", ".f64": "<f8"}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("categories", nargs="*", default=["json", "jsonl", "xml", "html", "text", "log"])
    ap.add_argument("--corpus", default="/work/corpus")
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--faults", action="store_true")
    args = ap.parse_args(argv)
    zc, zd = zstandard.ZstdCompressor(level=3), zstandard.ZstdDecompressor()
    print("| category | MB | decompress MB/s | zstd -3 | /zstd |" + (" faults/MB |" if args.faults else ""))
    print("|---|---:|---:|---:|---:|" + ("---:|" if args.faults else ""))
    for cat in args.categories:
        raw = t_ours = t_zstd = faults = 0
        for path in sorted(p for p in glob.glob(os.path.join(args.corpus, cat, "*")) if os.path.isfile(p)):
            data = open(path, "rb").read()
            dtype = SUFFIX_DTYPES.get(os.path.splitext(path)[1])
            blob = cobol.compress(data, 3, threads=1, **({"dtype": dtype} if dtype else {}))
            z = zc.compress(data)
            if cobol.decompress(blob, threads=1) != data:
                raise SystemExit(f"{path}: round trip failed")
            best = best_z = float("inf")
            f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            for _ in range(args.repeat):
                t0 = time.process_time()
                cobol.decompress(blob, threads=1)
                best = min(best, time.process_time() - t0)
                t0 = time.process_time()
                zd.decompress(z)
                best_z = min(best_z, time.process_time() - t0)
            faults += resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0
            raw += len(data)
            t_ours += best
            t_zstd += best_z
        mb = raw / 1e6
        row = f"| {cat} | {mb:.1f} | {mb / t_ours:.1f} | {mb / t_zstd:.0f} | {t_zstd / t_ours:.3f} |"
        if args.faults:
            row += f" {faults / mb / args.repeat:.0f} |"
        print(row, flush=True)


if __name__ == "__main__":
    main()
