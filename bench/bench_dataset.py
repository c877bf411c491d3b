"""Dataset scale-out benchmark (issue 9).

Builds N shard files of SIZE MB each from a source file (default: a JSON lines
file of the dev corpus, repeated with varying content), then compresses the
folder with 1 local worker, 2 local workers and a 2-worker Dask LocalCluster,
checks that all outputs are identical, and prints wall times and speedups.

    .venv/bin/python bench/bench_dataset.py --files 20 --size-mb 20 [--source FILE]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path


def make_shards(src: Path, out: Path, files: int, size: int) -> None:
    data = src.read_bytes()
    out.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        # rotate the source so shards differ, and cut at a line end
        k = (i * 7919) % max(1, len(data) // 2)
        rot = data[k:] + data[:k]
        reps = size // len(rot) + 1
        shard = (rot * reps)[:size]
        cut = shard.rfind(b"\n")
        (out / f"shard-{i:03d}.jsonl").write_bytes(shard[:cut + 1] if cut > 0 else shard)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=20)
    ap.add_argument("--size-mb", type=float, default=20)
    ap.add_argument("--source", default="/work/corpus/jsonl/vega-flights-200k.jsonl")
    ap.add_argument("--level", type=int, default=3)
    args = ap.parse_args()
    from cobol.dataset import compress_files

    tmp = Path(tempfile.mkdtemp(prefix="cobol-ds-"))
    try:
        src = tmp / "in"
        make_shards(Path(args.source), src, args.files, int(args.size_mb * 1e6))
        total = sum(p.stat().st_size for p in src.iterdir())
        # warm the Numba cache once so no run pays the compile
        compress_files([str(next(src.iterdir()))], str(tmp / "warm"), workers=1, level=args.level)
        times = {}
        for name, kw in (("pool-1", {"workers": 1}), ("pool-2", {"workers": 2})):
            t = time.perf_counter()
            rep = compress_files([str(src)], str(tmp / name), level=args.level, resume=False, **kw)
            times[name] = time.perf_counter() - t
            assert not rep.failed, rep.failed
        import dask
        from distributed import Client, LocalCluster
        # distributed's nanny sets MALLOC_TRIM_THRESHOLD_=65536 in its workers, which makes
        # glibc hand our block-sized buffers back to the kernel after every block and fault
        # them in again: measured 2x slower per file. Workers started without it run as fast
        # as the pool's (start your own cluster's workers the same way).
        dask.config.set({"distributed.nanny.pre-spawn-environ": {}})
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                          silence_logs=40) as cluster, Client(cluster) as client:
            client.run(lambda: __import__("cobol"))  # import cost out of the timing, as the pool's warm-up
            t = time.perf_counter()
            rep = compress_files([str(src)], str(tmp / "dask-2"), scheduler=client, level=args.level, resume=False)
            times["dask-2"] = time.perf_counter() - t
            assert not rep.failed, rep.failed
        for p in sorted((tmp / "pool-1").iterdir()):
            for other in ("pool-2", "dask-2"):
                assert (tmp / other / p.name).read_bytes() == p.read_bytes(), f"{other}/{p.name} differs"
        mb = total / 1e6
        print(f"{args.files} files x {args.size_mb} MB = {mb:.0f} MB, level {args.level}, {os.cpu_count()} cores")
        for name, t in times.items():
            print(f"  {name:<7} {t:7.2f} s  {mb / t:7.1f} MB/s")
        print(f"  speedup 2 workers vs 1: {times['pool-1'] / times['pool-2']:.2f}x")
        print(f"  dask-2 over pool-2: {(times['dask-2'] / times['pool-2'] - 1) * 100:+.1f}%")
        print("  outputs identical across pool-1, pool-2 and dask-2")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
