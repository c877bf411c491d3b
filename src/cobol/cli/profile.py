"""``cobol profile FILE``: compress and decompress FILE under the profiler and
print the text report; ``--json/--csv/--html OUT`` also write those reports
(``-`` = standard output, then the text report is left out). And the per-layer
breakdown that ``cobol bench --profile`` adds to its tables.

Before the profiled run a warm-up compresses the first MiB once, untimed, so
that Numba's cached kernels are loaded and the profile shows the steady state
(``--no-warmup`` profiles a cold start, compile and cache loading included).
"""

from __future__ import annotations

import argparse
import os
import sys

from ..profile import reporters
from ..profile.profiler import ENCODE_LAYERS, Profiler, profile_roundtrip
from .common import EXIT_OK, emit_table, parse_size, refuse_non_regular

WARMUP_BYTES = 1 << 20


def configure(p: argparse.ArgumentParser):
    """Add ``cobol profile``'s arguments to ``p``; returns run(args) -> exit code."""
    p.description = ("Compress and decompress FILE under the profiler: time, CPU, bytes, ratio, throughput and "
                     "entropy per layer, per stream and per block; memory; bottlenecks with recommendations.")
    p.add_argument("file", metavar="FILE", help="input file (- = standard input)")
    p.add_argument("--json", metavar="OUT", help="write the JSON report (schema cobol-profile/1) to OUT")
    p.add_argument("--csv", metavar="OUT", help="write the CSV report (one row per run, layer, stream, block) to OUT")
    p.add_argument("--html", metavar="OUT", help="write the self-contained HTML report to OUT")
    p.add_argument("-l", "--level", type=int, default=None, metavar="N", help="compression level (default 3)")
    p.add_argument("-T", "--threads", type=int, default=0, metavar="N", help="worker threads (default 0 = all cores)")
    p.add_argument("--checksum", choices=("sha256", "xxh3", "crc32"), default="xxh3")
    p.add_argument("--block-size", type=parse_size, metavar="SIZE", help="bytes per block, e.g. 4M (default 8M)")
    p.add_argument("--plan", default="auto", metavar="PLAN", help="auto, store, zstd or a transform name")
    p.add_argument("--format", metavar="FMT", help="skip detection: treat every block as FMT")
    p.add_argument("--dtype", help="numeric hint for arrays, e.g. int32, float64")
    for layer in ("l1", "l2", "l3", "l4"):
        p.add_argument(f"--no-{layer}", action="store_true", help=f"turn layer {layer.upper()} off")
    p.add_argument("--no-verify", action="store_true", help="skip the round-trip check of each candidate")
    p.add_argument("--entropy", choices=("sample", "exact", "off"), default="sample",
                   help="entropy figures: sampled (default), exact (whole buffers) or off")
    p.add_argument("--no-warmup", action="store_true", help="profile a cold start (no untimed warm-up run)")
    p.add_argument("--title", help="title of the text and HTML reports (default: the file name)")
    return run


def _engine_kwargs(args) -> dict:
    kw = {"threads": args.threads or None, "checksum": args.checksum, "plan": args.plan, "fmt": args.format,
          "verify": not args.no_verify}
    if args.block_size:
        kw["block_size"] = args.block_size
    if args.dtype:
        kw["hints"] = {"dtype": args.dtype}
    off = {layer: False for layer in ("l1", "l2", "l3", "l4") if getattr(args, f"no_{layer}")}
    if off:
        kw["layers"] = off
    return kw


def _write(text: str, out: str) -> None:
    if out == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    with open(out, "w", encoding="utf-8", newline="") as f:
        f.write(text)


def run(args) -> int:
    from ..engine import DEFAULT_LEVEL, CobolEngine
    if args.file == "-":
        data = sys.stdin.buffer.read()
        name = "stdin"
    else:
        refuse_non_regular(args.file)
        with open(args.file, "rb") as f:
            data = f.read()
        name = args.file
    level = DEFAULT_LEVEL if args.level is None else args.level
    # a bad option value raises EncodeError, which the cobol command reports with the usage exit code
    kw = _engine_kwargs(args)
    if not args.no_warmup:
        CobolEngine(level, **kw).compress(data[:WARMUP_BYTES])
    profiler = Profiler(entropy=False if args.entropy == "off" else args.entropy)
    _, prof = profile_roundtrip(data, profiler=profiler, level=level, **kw)
    title = args.title or f"cobol profile: {os.path.basename(name)} ({len(data):,} bytes)"
    to_stdout = "-" in (args.json, args.csv, args.html)
    if args.json:
        _write(reporters.to_json(prof) + "\n", args.json)
    if args.csv:
        _write(reporters.to_csv(prof), args.csv)
    if args.html:
        _write(reporters.to_html(prof, title), args.html)
    if not to_stdout:
        reporters.print_text(prof, sys.stdout, title)
    return EXIT_OK


# ---------------------------------------------------------------- cobol bench --profile

def bench_breakdown(inputs, levels, threads: int = 1) -> list:
    """Profile cobol on each bench input at each level (one untimed warm-up, then
    one profiled compress + decompress): the share of the compress time per layer,
    the ratio and the worst bottleneck. Rows are JSON-ready dicts."""
    from ..engine import CobolEngine
    rows = []
    for inp in inputs:
        hints = {"dtype": inp.dtype} if getattr(inp, "dtype", None) else {}
        for level in levels:
            kw = {"threads": threads or None}
            if hints:
                kw["hints"] = dict(hints)
            CobolEngine(level, **kw).compress(inp.data[:WARMUP_BYTES])
            _, prof = profile_roundtrip(inp.data, level=level, **kw)
            shares = {r["layer"]: r["time_share"] for r in prof.layers
                      if r["op"] == "compress" and r["parent"] is None}
            inner = {r["layer"]: r["time_share"] for r in prof.layers
                     if r["op"] == "compress" and r["parent"] == "transform" and r["stream"] is None}
            worst = next((b for b in prof.bottlenecks if b["severity"] > 0), None)
            comp, dec = prof.run("compress"), prof.run("decompress")
            rows.append({
                "file": inp.name, "category": getattr(inp, "category", None), "level": level,
                "ratio": comp["ratio"], "compress_mb_s": comp["throughput_mb_s"],
                "decompress_mb_s": dec["throughput_mb_s"] if dec else None,
                "time_share": shares, "inner_time_share": inner,
                "worst_bottleneck": None if worst is None else {
                    "severity": worst["severity_name"], "subject": worst["subject"],
                    "recommendation": worst["recommendation"]},
            })
    return rows


def print_bench_breakdown(rows: list, file=None) -> None:
    from ..profile.reporters import numbers as fmt
    layers = [name for name in ENCODE_LAYERS if any((r["time_share"].get(name) or 0) > 0 for r in rows)]
    cols = [("file", "l"), ("level", "r"), ("ratio", "r"), ("MB/s", "r")] + [(name, "r") for name in layers] \
        + [("worst bottleneck", "l")]
    body = []
    for r in rows:
        w = r["worst_bottleneck"]
        body.append([os.path.basename(r["file"]), str(r["level"]), fmt.ratio(r["ratio"]), fmt.rate(r["compress_mb_s"])]
                    + [fmt.pct(r["time_share"].get(name)) for name in layers]
                    + [f"{w['severity']}: {w['subject']}" if w else "-"])
    emit_table(cols, body, title="cobol per-layer breakdown (share of compress time; cobol profile FILE for details)",
               file=file)
