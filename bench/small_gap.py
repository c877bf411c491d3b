"""Where cobol's bytes go against brotli -11 on small files (issue 13), one core, CPU time.

For every file of DIR/<category>/ (or the files given): cobol at ``--level``
(``cobol.compress(data, level, threads=1)``, best of ``--repeat`` CPU times),
brotli -10 and -11 and zstd -19 of the whole file, and the frame's own bytes
(the output less its stream payloads: magic, flags, lengths, stream table,
checksum). Per category, geometric means of the per-file ratios:

- ``b11/cobol``: the issue's target (>= 1 wanted);
- ``frame``: (cobol - frame bytes) / cobol, the share the frame costs;
- ``b11/b10``: what brotli's quality 11 parse gains over quality 10 on the whole
  file (level 3 codes a small raw block at quality 10, plan.SMALL_BROTLI_QUALITY);
- ``plan``: brotli -10 of the file over the payload cobol stored (< 1: the plan
  kept codes larger than quality 10 of the whole file, > 1: its transform pays);

so that ``b11/cobol = frame x plan x b11/b10``. A per-file table with ``-v``.

    PYTHONPATH=src .venv/bin/python bench/small_gap.py /tmp/s11/tune --level 3 [-v]
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import brotli
import zstandard

import cobol
from cobol.info import frame_info


def _cpu(fn, repeat: int):
    best = float("inf")
    for _ in range(repeat):
        t = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t)
    return best, out


def _geo(values) -> float:
    values = list(values)
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("paths", nargs="+", help="directories of category folders, category folders or files")
    ap.add_argument("--level", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    files = []
    for p in map(Path, a.paths):
        if p.is_file():
            files.append(p)
        elif any(q.is_file() and q.suffix != ".tsv" for q in p.iterdir()):
            files += sorted(q for q in p.iterdir() if q.is_file() and q.suffix != ".tsv")
        else:
            files += sorted(q for d in sorted(p.iterdir()) if d.is_dir() for q in d.iterdir() if q.is_file())
    for f in {f.parent: f for f in files}.values():
        cobol.compress(f.read_bytes(), level=a.level, threads=1)  # load each category's kernels untimed
    rows: dict[str, list] = {}
    for f in files:
        data = f.read_bytes()
        if not data:
            continue
        t, out = _cpu(lambda: cobol.compress(data, level=a.level, threads=1), a.repeat)
        assert cobol.decompress(out) == data, f
        info = frame_info(out)
        payload = sum(s["stored"] for b in info.block_list for s in b.streams)
        plans = "+".join(sorted(info.plans))
        b10 = len(brotli.compress(data, quality=10))
        b11 = len(brotli.compress(data, quality=11))
        z19 = len(zstandard.ZstdCompressor(level=19).compress(data))
        r = dict(name=f.name, n=len(data), out=len(out), frame=len(out) - payload, payload=payload,
                 plan=plans, b10=b10, b11=b11, z19=z19, cpu=t)
        rows.setdefault(f.parent.name, []).append(r)
        if a.verbose:
            print(f"{f.parent.name:6} {f.name[:36]:36} {len(data):8} -> {len(out):7} (frame {r['frame']:3}, "
                  f"{plans:8}) b11/cobol {b11 / len(out):.3f} b10/cobol {b10 / len(out):.3f} "
                  f"{t * 1e3:7.2f} ms")
    print(f"level {a.level}: category files | b11/cobol = frame x plan x b11/b10 | z19/cobol | cobol MB/s (CPU)")
    for cat, rs in rows.items():
        mbs = sum(r["n"] for r in rs) / 1e6 / max(sum(r["cpu"] for r in rs), 1e-9)
        print(f"{cat:6} {len(rs):3} | {_geo(r['b11'] / r['out'] for r in rs):.4f} = "
              f"{_geo(r['payload'] / r['out'] for r in rs):.4f} x {_geo(r['b10'] / r['payload'] for r in rs):.4f} x "
              f"{_geo(r['b11'] / r['b10'] for r in rs):.4f} | {_geo(r['z19'] / r['out'] for r in rs):.4f} | {mbs:.2f}")


if __name__ == "__main__":
    main()
