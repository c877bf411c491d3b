"""Per-file level-3 speed of cobol against zstd -3 in the same run (one core, CPU time).

Usage:
    PYTHONPATH=src python bench/bench_log_speed.py --out RUN.json FILES...
    python bench/bench_log_speed.py --compare BEFORE.json [BEFORE2.json ...] -- AFTER.json [AFTER2.json ...]

Each file is compressed with ``cobol.compress(data, level=3, threads=1)`` and
zstd -3 (python-zstandard) in the same loop, best of ``--repeat`` CPU times
(files over 20 MB: one run), then decompressed likewise (one more run) and
checked to round-trip. Per file: frame size, MB/s and the ratio of zstd's time
to ours ("/zstd"; the machine is shared, so compare these rather than MB/s).
``--compare`` reads runs of two versions (several runs each: the best time per
file is taken) and prints sizes before/after and speeds before -> after; the
aggregate line sums the files under 20 MB. MB = 10^6 raw bytes.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

BIG = 20e6


def measure(files: list, repeat: int) -> dict:
    import zstandard

    import cobol
    # load the kernels first so the first file does not pay for them
    cobol.decompress(cobol.compress(b"Dec  5 10:00:01 host a[1]: x 12\n" * 400, level=3))
    out = {}
    for f in files:
        data = open(f, "rb").read()
        runs = 1 if len(data) > BIG else repeat
        cz, dz = zstandard.ZstdCompressor(level=3), zstandard.ZstdDecompressor()
        c = d = zc = zd = math.inf
        for _ in range(runs):
            t = time.process_time()
            blob = cobol.compress(data, level=3, threads=1)
            c = min(c, time.process_time() - t)
            t = time.process_time()
            zb = cz.compress(data)
            zc = min(zc, time.process_time() - t)
        for _ in range(runs + 1):
            t = time.process_time()
            back = cobol.decompress(blob, threads=1)
            d = min(d, time.process_time() - t)
            t = time.process_time()
            dz.decompress(zb)
            zd = min(zd, time.process_time() - t)
        if back != data:
            raise SystemExit(f"{f}: round trip failed")
        n = len(data)
        out[f] = dict(n=n, size=len(blob), c=c, d=d, zc=zc, zd=zd)
        print(f"{f.split('/')[-1][:30]:30s} {n:9d} {len(blob):8d} c {n / c / 1e6:6.1f} MB/s ({zc / c:.3f} /zstd) "
              f"d {n / d / 1e6:6.1f} MB/s ({zd / d:.3f} /zstd)", flush=True)
    return out


def compare(before: list, after: list) -> None:
    def best(runs, f, k):
        return min(r[f][k] for r in runs)

    agg = {k: [0.0] * 4 for k in ("c", "d")}
    total = 0
    print(f"{'file':28s} {'bytes':>9s} {'before':>8s} {'after':>8s} {'size':>8s} | compress MB/s (/zstd) | decompress MB/s (/zstd)")
    for f in before[0]:
        n = before[0][f]["n"]
        sb, sa = before[0][f]["size"], after[0][f]["size"]
        cols = []
        for k, zk in (("c", "zc"), ("d", "zd")):
            tb, ta, zb, za = best(before, f, k), best(after, f, k), best(before, f, zk), best(after, f, zk)
            cols.append(f"{n / tb / 1e6:6.1f} -> {n / ta / 1e6:6.1f} ({zb / tb:.3f} -> {za / ta:.3f})")
            if n <= BIG:
                for i, v in enumerate((tb, ta, zb, za)):
                    agg[k][i] += v
        total += n if n <= BIG else 0
        print(f"{f.split('/')[-1][:28]:28s} {n:9d} {sb:8d} {sa:8d} {sa / sb - 1:+8.3%} | {cols[0]} | {cols[1]}")
    for k, name in (("c", "compress"), ("d", "decompress")):
        tb, ta, zb, za = agg[k]
        if tb and ta:
            print(f"aggregate {name} (files <= 20 MB, {total / 1e6:.2f} MB): {total / tb / 1e6:.1f} -> {total / ta / 1e6:.1f} "
                  f"MB/s, /zstd {zb / tb:.3f} -> {za / ta:.3f}")


def main(argv: list) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="*", metavar="FILE")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", help="write the per-file times here (JSON)")
    ap.add_argument("--compare", nargs="+", metavar="RUN.json",
                    help="runs before, then '--', then runs after (FILE arguments are the after runs)")
    args = ap.parse_args(argv)
    if args.compare:
        before = [json.load(open(p)) for p in args.compare]
        after = [json.load(open(p)) for p in args.files]
        if not after:
            ap.error("--compare needs runs after '--'")
        compare(before, after)
        return 0
    if not args.files:
        ap.error("at least one FILE")
    out = measure(args.files, args.repeat)
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(out, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
