"""Where CSV compress and decompress time goes, stage by stage, next to zstd -3.

    PYTHONPATH=src .venv/bin/python bench/csv_stages.py [FILES...] [--repeat 3]

(default files: /work/corpus/csv/*). Each file is compressed and decompressed
once to load the kernels; then the stages below are wrapped with CPU-time
counters and ``cobol.compress(data, 3, threads=1)`` and ``cobol.decompress``
run ``--repeat`` times per file (zstd -3 of the same bytes in the same loop).
A stage's time is *exclusive*: what its nested stages took is theirs (the int
codec's trials inside a numeric column's emit count as "int codec", not as
"number analysis"), so the stages and the "engine" remainder add up to the
whole call. Times are per pass over all files (the mean of ``--repeat``
passes), in ms and as a share of the call; the counters cost ~1 us a wrapped
call (a few hundred calls a block), so treat shares under 1% as noise.

This is the profile to start from when cutting CSV time: the per-column
Python, the integer codec's layout trials and the round-trip check each show
as a line of their own. Wrapping is done after the warm-up run because a
Numba kernel compiled later would see the wrapper in place of a kernel it
calls.
"""

from __future__ import annotations

import argparse
import collections
import glob
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

import zstandard  # noqa: E402

import cobol  # noqa: E402
from cobol import plan  # noqa: E402
from cobol.layers import csv_columns as cc  # noqa: E402
from cobol.layers import csv_kernels as K  # noqa: E402
from cobol.layers import l2_csv  # noqa: E402

LEVEL = 3

#: (owner, attribute, stage): looked up at call time by their callers
COMPRESS_STAGES = [
    (cobol, "compress", "engine (detect, planner, entropy, frame)"),
    (l2_csv, "encode_csv", "csv encode glue"),
    (l2_csv, "_encode_columns", "csv encode glue"),
    (l2_csv, "tokenize_block", "tokenize"),
    (l2_csv, "_column_major_spans", "column-major spans"),
    (l2_csv, "_row_match_share_sampled", "row matches"),
    (l2_csv, "_row_matches", "row matches"),
    (K, "column_fields", "column fields (quotes, row views)"),
    (cc, "encode_column", "column kind choice glue"),
    (K, "parse_decimals", "decimal parse"),
    (cc.NumPlan, "__init__", "number analysis (scales, float32)"),
    (cc.NumPlan, "emit", "number emit glue"),
    (cc, "choose_references", "column references"),
    (cc, "_find_template", "templates"),
    (cc, "_encode_tpl", "templates"),
    (cc, "_encode_dict", "dictionaries and strings"),
    (K, "dict_encode", "dictionaries and strings"),
    (cc, "_encode_str", "dictionaries and strings"),
    (cc, "_encode_exceptions", "exceptions"),
    (cc, "_intcodec_encode", "int codec (layout trials)"),
    (plan, "_verify", "verify (decode of the candidate)"),
]
DECOMPRESS_STAGES = [
    (cobol, "decompress", "engine (frame, entropy, checksum)"),
    (l2_csv, "decode_csv_into", "csv decode glue"),
    (cc, "decode_column_entries", "column decode glue"),
    (cc, "_intcodec_decode", "int codec"),
    (cc, "_decode_exceptions", "exceptions"),
    (cc, "_decode_num", "number column glue"),
    (cc.NumberColumns, "add", "number column glue"),
    (K, "f32_to_scaled", "float32 decimals"),
    (K, "trailing_zeros10", "scales"),
    (K, "format_decimals_into", "numbers printed into the arena"),
    (K, "format_template_into", "templates"),
    (K, "split_joined_into", "strings split"),
    (K, "row_views", "row views"),
    (l2_csv, "assemble", "row assembly"),
    (l2_csv, "assemble_numbers", "row assembly (numbers printed)"),
]


class StageClock:
    """Exclusive CPU time per stage: a wrapped call's time less its nested
    wrapped calls'."""

    def __init__(self):
        self.spent = collections.Counter()
        self.calls = collections.Counter()
        self.stack = []  # child time of each open call

    def wrap(self, owner, attr, stage):
        fn = getattr(owner, attr)
        clock = self

        def timed(*args, **kwargs):
            clock.stack.append(0.0)
            t0 = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                dt = time.process_time() - t0
                child = clock.stack.pop()
                clock.spent[stage] += dt - child
                clock.calls[stage] += 1
                if clock.stack:
                    clock.stack[-1] += dt

        setattr(owner, attr, timed)
        return fn


def report(title, clock, total, zstd, passes, raw):
    print(f"\n{title}: {total / passes * 1e3:.1f} ms a pass, {raw / total * passes / 1e6:.1f} MB/s "
          f"= {zstd / total:.3f} x zstd -3")
    print(f"{'stage':44s} {'ms/pass':>8s} {'share':>6s} {'calls':>6s}")
    for stage, t in clock.spent.most_common():
        print(f"{stage:44s} {t / passes * 1e3:8.2f} {100 * t / total:5.1f}% {clock.calls[stage] // passes:6d}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args(argv)
    files = a.files or sorted(glob.glob("/work/corpus/csv/*"))
    if not files:
        print("no input files", file=sys.stderr)
        return 1
    datas = [open(f, "rb").read() for f in files]
    blobs = [cobol.compress(d, LEVEL, threads=1) for d in datas]
    for d, b in zip(datas, blobs):
        if cobol.decompress(b, threads=1) != d:
            raise SystemExit("round trip failed")
    zc, zd = zstandard.ZstdCompressor(level=LEVEL), zstandard.ZstdDecompressor()
    zblobs = [zc.compress(d) for d in datas]
    raw = sum(map(len, datas))
    for title, stages, run, anchor in (
            ("compress", COMPRESS_STAGES, lambda i: cobol.compress(datas[i], LEVEL, threads=1),
             lambda i: zc.compress(datas[i])),
            ("decompress", DECOMPRESS_STAGES, lambda i: cobol.decompress(blobs[i], threads=1),
             lambda i: zd.decompress(zblobs[i]))):
        clock = StageClock()
        originals = [(owner, attr, clock.wrap(owner, attr, stage)) for owner, attr, stage in stages]
        total = zstd = 0.0
        try:
            for _ in range(a.repeat):
                for i in range(len(datas)):
                    t0 = time.process_time()
                    run(i)
                    total += time.process_time() - t0
                    t0 = time.process_time()
                    anchor(i)
                    zstd += time.process_time() - t0
        finally:
            for owner, attr, fn in originals:
                setattr(owner, attr, fn)
        report(title, clock, total, zstd, a.repeat, raw)
    return 0


if __name__ == "__main__":
    sys.exit(main())
