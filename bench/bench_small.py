"""Per-call cost on small inputs: cobol level 3 next to brotli and zstd -3, same run.

    PYTHONPATH=src .venv/bin/python bench/bench_small.py                  # fresh3 categories + corpus slices
    PYTHONPATH=src .venv/bin/python bench/bench_small.py --sets /tmp/s10/fresh --sizes 1024,4096
    PYTHONPATH=src .venv/bin/python bench/bench_small.py --digest          # SHA-256 of frames, levels 1, 3, 9

Small real files (4-50 KB) are where MB/s is set by what every call costs, not
by the bytes: a 4-9 KB frame decodes in tens of microseconds, most of it glue
around the entropy decoder. Groups of inputs:

- every category directory of each ``--sets`` root (default /tmp/s11/fresh3:
  json, xml, html, text), one file one input (files over ``--max-size`` skipped);
- ``--sizes`` slices (default 1, 4, 16 and 64 KB) of the corpus files of
  ``--slice-categories``: the first S bytes of each file at least S long.

Each input goes through ``cobol.compress(data, level=3, threads=1)`` and
``cobol.decompress(frame, threads=1)`` (checked to round-trip), ``brotli``
at ``--brotli-quality`` (default ``plan.SMALL_BROTLI_QUALITY``, 10: the quality
level 3 codes a small block's kept streams with, which is most of its compress
time) and zstd -3 (python-zstandard,
one reusable context each way, as a caller would keep). Time is CPU time of this
process (``time.process_time``): per input, ``k`` calls in a row (k such that
k x size is about ``--batch-kb``), best of ``--repeat`` rounds, divided by k.
Per group: mean microseconds per call and MB/s = bytes / seconds over the
group (MB = 10^6 B), and cobol's time as a multiple of the anchors'.

``--digest``: SHA-256 over the frames of every file of the sets (fresh3 and
/tmp/s10/fresh by default) at levels 1, 3 and 9, one line per level: a
per-call change must leave them identical.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

import brotli  # noqa: E402
import zstandard  # noqa: E402

import cobol  # noqa: E402
from cobol import plan  # noqa: E402

LEVEL = 3


def per_call(fn, k: int, repeat: int) -> float:
    """Best-of-``repeat`` CPU seconds of one call, from ``k`` calls in a row."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        for _ in range(k):
            fn()
        best = min(best, time.process_time() - t0)
    return best / k


def groups(args) -> list:
    out = []
    for root in args.sets:
        for cat in sorted(os.listdir(root)):
            if args.categories and cat not in args.categories:
                continue
            files = sorted(p for p in glob.glob(os.path.join(root, cat, "*")) if os.path.isfile(p))
            datas = [d for d in (open(p, "rb").read() for p in files) if 0 < len(d) <= args.max_size]
            if datas:
                out.append((f"{os.path.basename(root.rstrip('/'))}/{cat}", datas))
    for size in args.sizes:
        for cat in args.slice_categories:
            files = sorted(p for p in glob.glob(os.path.join(args.corpus, cat, "*")) if os.path.isfile(p))
            datas = []
            for p in files:
                with open(p, "rb") as f:
                    d = f.read(size)
                if len(d) == size:
                    datas.append(d)
            if datas:
                out.append((f"{cat} {size // 1024}K", datas))
    return out


def measure(name: str, datas: list, args) -> dict:
    zc = zstandard.ZstdCompressor(level=3)
    zd = zstandard.ZstdDecompressor()
    t = dict(n=0, raw=0, ours=0, br=0, zs=0, c=0.0, d=0.0, bc=0.0, bd=0.0, zc=0.0, zd=0.0)
    for data in datas:
        k = max(1, min(args.max_k, args.batch_kb * 1024 // len(data)))
        frame = cobol.compress(data, LEVEL, threads=1)
        if cobol.decompress(frame, threads=1) != data:
            raise SystemExit(f"{name}: round trip failed on a {len(data)}-byte input")
        q = args.brotli_quality
        b = brotli.compress(data, quality=q)
        z = zc.compress(data)
        t["c"] += per_call(lambda: cobol.compress(data, LEVEL, threads=1), max(1, k // 8), args.repeat)
        t["d"] += per_call(lambda: cobol.decompress(frame, threads=1), k, args.repeat)
        t["bc"] += per_call(lambda: brotli.compress(data, quality=q), max(1, k // 8), args.repeat)
        t["bd"] += per_call(lambda: brotli.decompress(b), k, args.repeat)
        t["zc"] += per_call(lambda: zc.compress(data), k, args.repeat)
        t["zd"] += per_call(lambda: zd.decompress(z), k, args.repeat)
        t["n"] += 1
        t["raw"] += len(data)
        t["ours"] += len(frame)
        t["br"] += len(b)
        t["zs"] += len(z)
    return t


def row(name: str, t: dict) -> str:
    n, raw = t["n"], t["raw"]

    def us(k):
        return t[k] / n * 1e6

    def mbs(k):
        return raw / t[k] / 1e6

    return (f"| {name} | {n} | {raw / n / 1024:.1f} | {raw / t['ours']:.3f} | {raw / t['br']:.3f} | {raw / t['zs']:.3f} "
            f"| {us('c'):.0f} | {us('bc'):.0f} | {us('zc'):.0f} | {mbs('c'):.1f} | {t['bc'] / t['c']:.2f} | {t['zc'] / t['c']:.3f} "
            f"| {us('d'):.1f} | {us('bd'):.1f} | {us('zd'):.1f} | {mbs('d'):.0f} | {t['bd'] / t['d']:.2f} | {t['zd'] / t['d']:.3f} |")


def digest(args) -> None:
    files = sorted(p for root in args.digest_sets for p in glob.glob(os.path.join(root, "*", "*")) if os.path.isfile(p))
    for level in (1, 3, 9):
        h = hashlib.sha256()
        for p in files:
            h.update(cobol.compress(open(p, "rb").read(), level, threads=1))
        print(f"level {level}: {len(files)} files, frames sha256 {h.hexdigest()}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sets", nargs="*", default=["/tmp/s11/fresh3"])
    ap.add_argument("--categories", nargs="*", default=["json", "xml", "html", "text"])
    ap.add_argument("--max-size", type=int, default=100_000, help="skip set files larger than this")
    ap.add_argument("--corpus", default="/work/corpus")
    ap.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",") if x], default=[1024, 4096, 16384, 65536])
    ap.add_argument("--slice-categories", nargs="*", default=["json", "xml", "html", "text"])
    ap.add_argument("--brotli-quality", type=int, default=plan.SMALL_BROTLI_QUALITY)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--batch-kb", type=int, default=256, help="calls per timing: about this many KB")
    ap.add_argument("--max-k", type=int, default=64)
    ap.add_argument("--digest", action="store_true")
    ap.add_argument("--digest-sets", nargs="*", default=["/tmp/s11/fresh3", "/tmp/s10/fresh"])
    args = ap.parse_args()
    if args.digest:
        digest(args)
        return
    print(f"cobol level {LEVEL}, one thread, CPU time (process_time), best of {args.repeat}; "
          f"brotli -q {args.brotli_quality}, zstd -3; x = anchor time / cobol time")
    print("| group | files | mean KB | ratio cobol | brotli | zstd | C us cobol | brotli | zstd | C MB/s cobol "
          "| x brotli | x zstd | D us cobol | brotli | zstd | D MB/s cobol | x brotli | x zstd |")
    print("|" + "---|" * 18)
    tot = None
    for name, datas in groups(args):
        t = measure(name, datas, args)
        print(row(name, t), flush=True)
        tot = t if tot is None else {k: tot[k] + t[k] for k in t}
    if tot is not None:
        print(row("all", tot))


if __name__ == "__main__":
    main()
