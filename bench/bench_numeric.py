"""Numeric arrays: COBOL vs zstd -19, Blosc2, OpenZL and pcodec, plus L3/L4 kernel speeds.

    .venv/bin/python bench/bench_numeric.py                 # corpus + synthetic, level 3 and 19
    .venv/bin/python bench/bench_numeric.py --quick         # smaller synthetic arrays
    .venv/bin/python bench/bench_numeric.py --kernels-only  # just the L3/L4 micro-benchmark

Every number comes from this run on this machine. Ratios are raw size / compressed
size (higher is better), each with two decimals. "ours" is ``cobol.compress(data, level=L, dtype=...)``
through the whole engine (one thread, checksums and the engine's own round-trip
verification included) and is checked to decompress to the input; speeds are the
best of a few runs, in MB/s of raw input, timed in CPU seconds of this process
(``time.process_time``; everything runs on one thread, and on a shared machine
wall time would also measure the neighbours). "c/d MB/s" are the whole engine
(transform, zstd of every stream, the planner's plain-zstd candidate, SHA-256,
verification); "T-enc/T-dec" are the numeric transform alone at level 3.
"/zstd19" is our best ratio (over the levels run) divided by zstd -19's; "/best"
divided by the best of Blosc2 and OpenZL (above 1: we are smaller). The pcodec
columns are pcodec's ratio at its default level (8), its compress and decompress
MB/s timed like ours (one thread, CPU time, best of a few), and "/pco": our
level-3 ratio over pcodec's (the issue's target: at least 1.2), next to our
level-3 c/d MB/s. The Blosc2 column is the best over
shuffle / bitshuffle / shuffle+bytedelta filters with zstd at clevel 1..9; the
OpenZL column is the best of its generic ``Compress`` graph and
``DeltaInt -> Bitpack`` (integers only) at its default compression level and at
levels 9 and 19, each checked to round-trip.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

import blosc2  # noqa: E402
import openzl.ext as zl  # noqa: E402
import pcodec  # noqa: E402
from pcodec import standalone as pco  # noqa: E402
import zstandard  # noqa: E402

import cobol  # noqa: E402
from cobol.layers import l3_delta, l4_bitpack  # noqa: E402

CORPUS = "/work/corpus/numeric"
SUFFIX_DTYPES = {".i8": "<i1", ".i16": "<i2", ".i32": "<i4", ".i64": "<i8", ".u32": "<u4",
                 ".u64": "<u8", ".f32": "<f4", ".f64": "<f8"}


def synthetic(n: int) -> list:
    """(name, array) pairs of typical machine-made series, fixed seeds."""
    rng = np.random.default_rng(42)
    t = np.arange(n)
    out = []
    ts = 1_700_000_000_000 + t * 1000 + rng.integers(-3, 4, n)
    ts[rng.random(n) < 0.001] += 60_000
    out.append(("timestamps-ms-jitter.i64", np.sort(ts).astype("<i8")))
    out.append(("counter-poisson.i64", np.cumsum(rng.poisson(5, n)).astype("<i8")))
    out.append(("counter-u32-wrap.u32", (np.cumsum(rng.integers(0, 40_000, n)) % (1 << 32)).astype("<u4")))
    temp = 20 + 5 * np.sin(t / 5000) + rng.normal(0, 0.3, n)
    out.append(("sensor-temp-2dec.f64", np.round(temp, 2).astype("<f8")))
    out.append(("sensor-1dec.f32", np.round(temp, 1).astype("<f4")))
    out.append(("price-walk-2dec.f64", np.round(100 + np.cumsum(rng.normal(0, 0.05, n)), 2).astype("<f8")))
    out.append(("random-walk.f64", np.cumsum(rng.normal(0, 1, n)).astype("<f8")))
    out.append(("random-walk.f32", np.cumsum(rng.normal(0, 1, n)).astype("<f4")))
    out.append(("random-walk.i32", np.cumsum(rng.integers(-100, 101, n)).astype("<i4")))
    out.append(("sparse-events.i32", np.where(rng.random(n) < 0.02, rng.integers(1, 1000, n), 0).astype("<i4")))
    return out


def corpus() -> list:
    out = []
    for path in sorted(glob.glob(os.path.join(CORPUS, "*"))):
        dt = SUFFIX_DTYPES.get(os.path.splitext(path)[1])
        if dt:
            out.append((os.path.basename(path), np.fromfile(path, dt)))
    return out


def best_time(fn, repeat: int = 3) -> tuple:
    best = None
    result = None
    for _ in range(repeat):
        t0 = time.process_time()
        result = fn()
        dt = time.process_time() - t0
        best = dt if best is None else min(best, dt)
    return best, result


def zstd19(raw: bytes) -> int:
    return len(zstandard.ZstdCompressor(level=19).compress(raw))


def blosc_best(a: np.ndarray) -> tuple:
    best = (1 << 62, "")
    raw = a.tobytes()
    for name, filters in (("shuffle", [blosc2.Filter.SHUFFLE]), ("bitshuffle", [blosc2.Filter.BITSHUFFLE]),
                          ("bytedelta", [blosc2.Filter.SHUFFLE, blosc2.Filter.BYTEDELTA])):
        for clevel in range(1, 10):
            c = blosc2.compress2(raw, typesize=a.itemsize, clevel=clevel, codec=blosc2.Codec.ZSTD,
                                 filters=filters, filters_meta=[0] * len(filters))
            best = min(best, (len(c), f"{name} l{clevel}"))
    return best


def _openzl(a: np.ndarray, graph, level: int | None = None) -> int:
    c = zl.Compressor()
    g = graph(c)
    c.select_starting_graph(g)
    cctx = zl.CCtx()
    cctx.ref_compressor(c)
    cctx.set_parameter(zl.CParam.FormatVersion, zl.MAX_FORMAT_VERSION)
    if level is not None:
        cctx.set_parameter(zl.CParam.CompressionLevel, level)
    out = cctx.compress([zl.Input(zl.Type.Numeric, np.ascontiguousarray(a))])
    back = zl.DCtx().decompress(out)[0].content.as_nparray()
    assert back.tobytes() == a.tobytes(), "openzl round trip failed"
    return len(out)


def openzl_best(a: np.ndarray) -> tuple:
    results = []
    for level in (None, 9, 19):
        tag = "" if level is None else f" l{level}"
        results.append((_openzl(a, lambda c: zl.graphs.Compress()(c), level), "generic" + tag))
        if a.dtype.kind in "iu":
            results.append((_openzl(a, lambda c: zl.nodes.DeltaInt()(c, zl.graphs.Bitpack()), level),
                            "delta-bitpack" + tag))
    return min(results)


def pcodec_run(a: np.ndarray) -> tuple:
    """(compressed size, compress s, decompress s) of pcodec at its default level."""
    a = np.ascontiguousarray(a)
    if a.dtype.kind not in "iuf" or a.dtype.itemsize < 2:
        return None  # pcodec codes 16..64-bit numbers only
    t_c, blob = best_time(lambda: pco.simple_compress(a, pcodec.ChunkConfig()))
    t_d, back = best_time(lambda: pco.simple_decompress(blob))
    assert back.tobytes() == a.tobytes(), "pcodec round trip failed"
    return len(blob), t_c, t_d


def ours(raw: bytes, dtype: str | None, level: int) -> tuple:
    kw = {"dtype": dtype} if dtype else {}
    t_c, blob = best_time(lambda: cobol.compress(raw, level=level, threads=1, **kw))
    t_d, back = best_time(lambda: cobol.decompress(blob, threads=1))
    assert back == raw, "cobol round trip failed"
    plan = ",".join(sorted(cobol.frame_info(blob).plans))
    return len(blob), t_c, t_d, plan


def transform_speed(raw: bytes, dtype: str | None) -> tuple:
    """MB/s of the numeric transform alone (level 3, no entropy stage, no engine)."""
    from cobol.layers.numeric import NumericArrayTransform
    from cobol.registry import DecodeContext, EncodeContext

    t = NumericArrayTransform()
    ctx = EncodeContext(level=3, fmt="numeric", hints={"dtype": dtype} if dtype else {})
    t_e, enc = best_time(lambda: t.encode(raw, ctx))
    if enc is None:
        return float("nan"), float("nan")
    streams = [bytes(x) for x in enc.streams]
    t_d, back = best_time(lambda: t.decode(streams, bytes(enc.params), len(raw), DecodeContext()))
    assert back == raw
    mb = len(raw) / 1e6
    return mb / t_e, mb / t_d


def table(rows: list, levels: list, hint: bool) -> None:
    hdr = f"{'file':30s} {'MB':>5s} {'zstd19':>7s} {'blosc2':>7s} {'openzl':>7s}"
    for lv in levels:
        hdr += f" {'ours-l' + str(lv):>8s} {'c MB/s':>6s} {'d MB/s':>6s}"
    hdr += f" {'T-enc':>6s} {'T-dec':>6s} {'/zstd19':>7s} {'/best':>6s}"
    hdr += f" {'pcodec':>7s} {'c MB/s':>6s} {'d MB/s':>6s} {'/pco':>5s}"
    print(hdr + "  plan / best blosc2 config / best openzl config")
    for name, a in rows:
        raw = a.tobytes()
        mb = len(raw) / 1e6
        z = zstd19(raw)
        bsize, bname = blosc_best(a)
        osize, oname = openzl_best(a)
        line = f"{name:30s} {mb:5.2f} {len(raw) / z:7.2f} {len(raw) / bsize:7.2f} {len(raw) / osize:7.2f}"
        plan = ""
        best_ours = None
        level3 = None
        for lv in levels:
            size, tc, td, plan = ours(raw, a.dtype.str if hint else None, lv)
            best_ours = size if best_ours is None else min(best_ours, size)
            if lv == 3:
                level3 = size
            line += f" {len(raw) / size:8.2f} {mb / tc:6.0f} {mb / td:6.0f}"
        te, tdec = transform_speed(raw, a.dtype.str if hint else None)
        # our best ratio over zstd -19's, and over the best of Blosc2 and OpenZL
        line += f" {te:6.0f} {tdec:6.0f} {z / best_ours:7.2f} {min(bsize, osize) / best_ours:6.3f}"
        pc = pcodec_run(a)
        if pc is None:
            line += f" {'-':>7s} {'-':>6s} {'-':>6s} {'-':>5s}"
        else:
            psize, pt_c, pt_d = pc
            vs = f"{psize / level3:5.2f}" if level3 else f"{'-':>5s}"
            line += f" {len(raw) / psize:7.2f} {mb / pt_c:6.0f} {mb / pt_d:6.0f} {vs}"
        print(line + f"  {plan} / {bname} / {oname}", flush=True)


def kernels(n: int) -> None:
    """L3/L4 throughput, MB/s of int32-equivalent input (4 bytes per value) unless noted."""
    rng = np.random.default_rng(7)
    cases = {
        "uniform 10-bit": rng.integers(0, 1024, n),
        "sparse 5%": (rng.random(n) < 0.05) * rng.integers(1, 1000, n),
        "outliers 1%": np.where(rng.random(n) < 0.01, rng.integers(0, 1 << 20, n), rng.integers(0, 16, n)),
        "ramp": np.arange(n) * 3 + 7,
    }
    mb32 = n * 4 / 1e6
    mb64 = n * 8 / 1e6
    print(f"\nL4 bit-packing, {n} values (MB/s of int32 input):")
    print(f"{'case':16s} {'analyze':>8s} {'pack':>8s} {'an+pack':>8s} {'unpack':>8s}  strategies")
    for name, x in cases.items():
        x = x.astype(np.uint64)
        t_a, an = best_time(lambda: l4_bitpack.analyze(x, 512))
        t_p, buf = best_time(lambda: l4_bitpack.pack(x, 512, analysis=an))
        t_u, (back, _) = best_time(lambda: l4_bitpack.unpack(buf, n))
        assert (back == x).all()
        print(f"{name:16s} {mb32 / t_a:8.0f} {mb32 / t_p:8.0f} {mb32 / (t_a + t_p):8.0f} {mb32 / t_u:8.0f}  {an.summary()}")
    print(f"\nL3 delta, {n} int64 values (MB/s of int64 input / of int32-equivalent):")
    x = np.cumsum(rng.integers(-50, 60, n)).astype(np.int64)
    t_o, orders = best_time(lambda: l3_delta.choose_orders(x, 512))
    t_e, codes = best_time(lambda: l3_delta.delta_encode(x, orders, 512))
    t_d, back = best_time(lambda: l3_delta.delta_decode(codes, orders, 512))
    assert (back == x).all()
    for label, t in (("choose orders", t_o), ("encode", t_e), ("decode", t_d)):
        print(f"  {label:14s} {mb64 / t:8.0f} / {mb32 / t:8.0f}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="200k-value synthetic arrays instead of 1M")
    ap.add_argument("--kernels-only", action="store_true")
    ap.add_argument("--levels", default="3,19", help="cobol levels to run (default 3,19)")
    ap.add_argument("--no-hint", action="store_true", help="let the transform find the dtype itself")
    args = ap.parse_args(argv)
    n = 200_000 if args.quick else 1_000_000
    if not args.kernels_only:
        levels = [int(v) for v in args.levels.split(",")]
        rows = corpus() + synthetic(n)
        print(f"numeric arrays (hint={'no' if args.no_hint else 'dtype'}); ratios raw/compressed; ours through cobol.compress")
        table(rows, levels, not args.no_hint)
    kernels(4_000_000 if not args.quick else 1_000_000)


if __name__ == "__main__":
    main()
