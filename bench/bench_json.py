"""JSON / JSON lines benchmark: the json transform through the engine against
zstd -19, xz -9, brotli -11 (and openzl's generic compressor when installed).

Usage: PYTHONPATH=src .venv/bin/python bench/bench_json.py [FILES...] [--level 19] [--no-slow]
(default files: /work/corpus/json/* and /work/corpus/jsonl/*).

Every size is a whole-file size: ``ours`` is the real ``cobol.compress(data,
level, plan=--plan)`` frame (auto by default: the json transform or plain coding of the block, the smaller) (8 MiB blocks cut at newlines, the engine's framing,
stream tables and checksums included); the anchors compress the whole file in
one piece. Ratios are raw / compressed; ``x zstd`` etc. are ours relative to the
anchor (> 1 = ours smaller). Anchor sizes are cached in .bench/json_anchors.json.

Speeds (MB/s of raw input, one thread, best of --repeat, on this thread's CPU
clock: the dev machines are shared, and wall time there measures the neighbours):
  tx enc / tx dec   the json transform alone (tokenize -> streams, streams -> bytes)
  eng c / eng d     the engine at its default level (detect, plan, transform, zstd,
                    verify, checksum) and decompression; level 19 compression
                    is dominated by zstd -19 itself and is not a speed figure.
"""

from __future__ import annotations

import argparse
import glob
import json
import lzma
import math
import os
import sys
import time

import zstandard

import cobol
from cobol.engine import DEFAULT_BLOCK_SIZE, split_blocks
from cobol.layers.l2_json import Layer2Decoder, Layer2Encoder

CACHE = os.path.join(os.path.dirname(__file__), "..", ".bench", "json_anchors.json")


def best_time(fn, repeat):
    best = float("inf")
    out = None
    for _ in range(repeat):
        t = time.thread_time()
        out = fn()
        best = min(best, time.thread_time() - t)
    return best, out


def anchors(path: str, data: bytes, slow: bool) -> dict:
    try:
        cache = json.load(open(CACHE))
    except (OSError, ValueError):
        cache = {}
    key = f"{os.path.abspath(path)}:{len(data)}:{hash(data[:4096])}"
    got = cache.get(key, {})
    if "zstd19" not in got:
        got["zstd19"] = len(zstandard.ZstdCompressor(level=19).compress(data))
    if slow and "xz9" not in got:
        got["xz9"] = len(lzma.compress(data, preset=9 | lzma.PRESET_EXTREME))
    if slow and "brotli11" not in got:
        try:
            import brotli
            got["brotli11"] = len(brotli.compress(data, quality=11))
        except ImportError:
            pass
    if slow and "openzl" not in got:
        try:
            import openzl.ext as zl  # noqa: F401
            got["openzl"] = _openzl_size(data)
        except Exception:
            got["openzl"] = None
    cache[key] = got
    os.makedirs(os.path.dirname(CACHE), exist_ok=True)
    json.dump(cache, open(CACHE, "w"), indent=1)
    return got


def _openzl_size(data: bytes):
    """openzl's generic graph (zl.graphs.Compress) on the file as one serial input."""
    import openzl.ext as zl
    c = zl.Compressor()
    c.select_starting_graph(zl.graphs.Compress()(c))
    cctx = zl.CCtx()
    cctx.ref_compressor(c)
    cctx.set_parameter(zl.CParam.FormatVersion, zl.MAX_FORMAT_VERSION)
    try:
        cctx.set_parameter(zl.CParam.CompressionLevel, 19)
    except Exception:
        pass
    out = cctx.compress([zl.Input(zl.Type.Serial, data)])
    assert zl.DCtx().decompress(out)[0].content.as_bytes() == data
    return len(out)


def transform_speed(data: bytes, repeat: int):
    spans = split_blocks(data, DEFAULT_BLOCK_SIZE)
    blocks = [data[a:b] for a, b in spans]
    te, encs = best_time(lambda: [Layer2Encoder().encode(b) for b in blocks], repeat)
    streams = [[bytes(s) for s in e.streams] for e in encs]
    td, outs = best_time(lambda: [Layer2Decoder().decode(s, bytes(e.params), len(b))
                                  for s, e, b in zip(streams, encs, blocks)], repeat)
    assert b"".join(outs) == data
    return te, td


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*")
    ap.add_argument("--level", type=int, default=19)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--plan", default="auto",
                    help="engine plan: auto (what users get: json vs plain zstd/ppmd per block) or json (forced)")
    ap.add_argument("--no-slow", action="store_true", help="skip xz/brotli/openzl anchors and engine speeds")
    a = ap.parse_args(argv)
    files = a.files or sorted(glob.glob("/work/corpus/json/*") + glob.glob("/work/corpus/jsonl/*"))
    if not files:
        print("no input files", file=sys.stderr)
        return 1
    hdr = (f"{'file':34s} {'MB':>6s} {'ours':>7s} {'zstd19':>7s} {'xz9':>7s} {'br11':>7s} {'ozl':>7s} "
           f"{'x zstd':>7s} {'x xz':>6s} {'x br':>6s} {'x ozl':>6s} {'tx enc':>7s} {'tx dec':>7s} "
           f"{'eng c':>6s} {'eng d':>6s}")
    print(hdr)
    groups: dict[str, dict[str, list]] = {}
    for path in files:
        data = open(path, "rb").read()
        n = len(data)
        blob = cobol.compress(data, level=a.level, plan=a.plan, threads=1)
        assert cobol.decompress(blob, threads=1) == data
        ours = len(blob)
        anc = anchors(path, data, not a.no_slow)
        te, td = transform_speed(data, a.repeat)
        ec = ed = float("nan")
        if not a.no_slow:
            ec, blob3 = best_time(lambda: cobol.compress(data, threads=1), a.repeat)
            ed, _ = best_time(lambda: cobol.decompress(blob3, threads=1), a.repeat)
        g = groups.setdefault(os.path.basename(os.path.dirname(path)), {})
        rel = {}
        for name in ("zstd19", "xz9", "brotli11", "openzl"):
            v = anc.get(name)
            rel[name] = v / ours if v else float("nan")
            g.setdefault(name, []).append(rel[name])

        def r(name):
            v = anc.get(name)
            return f"{n / v:7.2f}" if v else f"{'-':>7s}"
        print(f"{os.path.basename(path)[:34]:34s} {n / 1e6:6.2f} {n / ours:7.2f} {r('zstd19')} {r('xz9')} "
              f"{r('brotli11')} {r('openzl')} {rel['zstd19']:7.3f} {rel['xz9']:6.3f} {rel['brotli11']:6.3f} "
              f"{rel['openzl']:6.3f} {n / te / 1e6:7.1f} {n / td / 1e6:7.1f} {n / ec / 1e6:6.1f} "
              f"{n / ed / 1e6:6.1f}", flush=True)
    for group, rels in groups.items():
        def gm(v):
            v = [x for x in v if x == x]
            return math.exp(sum(math.log(x) for x in v) / len(v)) if v else float("nan")
        print(f"geometric mean, {group}: ours vs zstd -19 {gm(rels['zstd19']):.3f}x, vs xz -9 {gm(rels['xz9']):.3f}x, "
              f"vs brotli -11 {gm(rels['brotli11']):.3f}x, vs openzl {gm(rels['openzl']):.3f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
