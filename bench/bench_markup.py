"""XML / HTML / prose benchmark: the markup transforms (xml 40, html 41) and the L1
word transform (50) against zstd -19, xz -9 and brotli -11, one core.

Usage: PYTHONPATH=src .venv/bin/python bench/bench_markup.py [FILES...] [--level 19] [--repeat 3] [--no-engine]
       [--clock wall|cpu] [--no-ppmd]
(default files: /work/corpus/{xml,html,text}/*; the kind is the parent folder's
name, or detection when it is not xml/html/text).

Columns (ratios are input size / output size; speeds are MB/s of the input, best of --repeat):
  tok       markup tokenizer alone
  tx enc    transform encode as the engine runs it (tokenize, trials on a sample, streams), no zstd
  tx dec    transform decode (streams -> bytes), no zstd
  streams   ratio of the transform's streams on the WHOLE file, each stream coded as the engine codes it
            (entropy.entropy_code: zstd at --level, or ppmd at levels >= 19 where it is 3% smaller) (+ params)
  engine    ratio of cobol.compress(data, level) (8 MiB blocks, framing, plain zstd kept when smaller)
  eng enc / eng dec   cobol.compress / cobol.decompress speed, one thread
  --no-ppmd  the same without codec ppmd (streams: zstd only; engine: layers={"ppmd": False})
  zstd, xz -9, br -11   whole-file ratios of zstd at --level, xz preset 9, brotli quality 11
  vs zstd / vs xz / vs br   streams ratio over each anchor's ratio
Geometric means of the "vs" columns (streams and engine) per kind close the table.
"""

from __future__ import annotations

import argparse
import glob
import lzma
import math
import os
import sys
import time

import brotli
import numpy as np
import zstandard

import cobol
from cobol import detect
from cobol.entropy import entropy_code
from cobol.layers import markup_tokenizer as mt
from cobol.layers.l1_semantic import WordTransform
from cobol.layers.l2_markup import HtmlTransform, XmlTransform
from cobol.registry import DecodeContext, EncodeContext


CLOCK = time.perf_counter


def best_time(fn, repeat):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = CLOCK()
        out = fn()
        best = min(best, CLOCK() - t)
    return best, out


def kind_of(path, data):
    k = os.path.basename(os.path.dirname(path))
    return k if k in ("xml", "html", "text") else detect.detect(data)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*")
    ap.add_argument("--level", type=int, default=19)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-engine", action="store_true", help="skip the whole-engine column (faster)")
    ap.add_argument("--no-ppmd", action="store_true", help="code streams with zstd only (the engine without ppmd)")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="cpu: time.process_time (this process's CPU time; steadier on a shared machine)")
    a = ap.parse_args(argv)
    global CLOCK
    CLOCK = time.process_time if a.clock == "cpu" else time.perf_counter
    files = a.files or sorted(f for k in ("xml", "html", "text") for f in glob.glob(f"/work/corpus/{k}/*"))
    if not files:
        print("no input files", file=sys.stderr)
        return 1
    # warm the numba kernels so no file is charged for loading them
    warm = b'<r a="1">\n  <b>text words words</b>\n</r>\n' * 200
    for t in (XmlTransform(), HtmlTransform(), WordTransform()):
        e = t.encode(warm, EncodeContext(level=a.level))
        t.decode(e.streams, e.params, len(warm), DecodeContext())
    zc = zstandard.ZstdCompressor(level=a.level)
    hdr = (f"{'file':36s} {'kind':4s} {'size':>9s} {'tok':>6s} {'tx enc':>6s} {'tx dec':>6s} {'streams':>7s} "
           f"{'engine':>6s} {'eng enc':>7s} {'eng dec':>7s} {'zstd':>6s} {'xz -9':>6s} {'br -11':>6s} "
           f"{'vs zstd':>7s} {'vs xz':>6s} {'vs br':>6s} {'eng/zstd':>8s}")
    print(hdr)
    print("-" * len(hdr))
    gains = {}
    for path in files:
        data = open(path, "rb").read()
        kind = kind_of(path, data)
        mb = len(data) / 1e6
        if kind in ("xml", "html"):
            t = HtmlTransform() if kind == "html" else XmlTransform()
            tt, _ = best_time(lambda: mt.tokenize(data, kind == "html"), a.repeat)
            tok = f"{mb / tt:6.0f}"
        else:
            t = WordTransform()
            tok = f"{'-':>6s}"
        ctx = EncodeContext(level=a.level, fmt=kind)
        te, enc = best_time(lambda: t.encode(data, ctx), a.repeat)
        td, back = best_time(lambda: t.decode([bytes(s) for s in enc.streams], enc.params, len(data),
                                              DecodeContext()), a.repeat)
        assert back == data, path
        ours = len(enc.params) + sum(len(entropy_code(bytes(s), a.level, ppmd=not a.no_ppmd)[1]) for s in enc.streams)
        rz = len(data) / len(zc.compress(data))
        rx = len(data) / len(lzma.compress(data, preset=9))
        rb = len(data) / len(brotli.compress(data, quality=11))
        ro = len(data) / ours
        if a.no_engine:
            eng, eng_speed, re_ = f"{'-':>6s}", f"{'-':>7s} {'-':>7s}", float("nan")
        else:
            layers = {"ppmd": False} if a.no_ppmd else None
            tce, blob = best_time(lambda: cobol.compress(data, level=a.level, threads=1, layers=layers), a.repeat)
            tcd, back = best_time(lambda: cobol.decompress(blob), a.repeat)
            assert back == data, path
            re_ = len(data) / len(blob)
            eng, eng_speed = f"{re_:6.2f}", f"{mb / tce:7.1f} {mb / tcd:7.1f}"
        g = gains.setdefault(kind, [])
        g.append((ro / rz, ro / rx, ro / rb, re_ / rz))
        print(f"{os.path.basename(path)[:36]:36s} {kind:4s} {len(data):9d} {tok} {mb / te:6.1f} {mb / td:6.0f} "
              f"{ro:7.2f} {eng} {eng_speed} {rz:6.2f} {rx:6.2f} {rb:6.2f} {ro / rz:7.3f} {ro / rx:6.3f} {ro / rb:6.3f} "
              f"{re_ / rz:8.3f}", flush=True)
    print("-" * len(hdr))
    for kind, g in gains.items():
        gm = [math.exp(np.mean([math.log(x[i]) for x in g])) for i in range(4)]
        print(f"geomean {kind:5s} ({len(g)} files): streams vs zstd -{a.level} {gm[0]:.3f}   vs xz -9 {gm[1]:.3f}   "
              f"vs brotli -11 {gm[2]:.3f}   engine vs zstd -{a.level} {gm[3]:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
