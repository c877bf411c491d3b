"""Where decode time goes, per file and category: entropy decode per codec,
the transform's decoder, the checksum, and the rest (frame parsing, Python).

    PYTHONPATH=src python bench/decode_breakdown.py /work/corpus/text /work/corpus/log --repeat 5

Each file is compressed once (level 3, one thread; numeric files with the
dtype their suffix names, as bench/speed_table.py does); then, ``--repeat`` times,
``cobol.decompress(blob, threads=1)`` and zstandard's decode of the same file
at -3 are timed whole, and every block's parts are timed on their own (each
stream through its codec, the transform's ``decode_into`` on fresh output,
the checksum). CPU time, best run per part; shares are of the whole
decompress, so what is left to 100% is the per-call path; a part's MB/s in a
category's line is the category's raw MB over that part's time. MB = 10^6 raw bytes.
"""

from __future__ import annotations

import argparse
import collections
import glob
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

import numpy as np  # noqa: E402
import zstandard  # noqa: E402

import cobol  # noqa: E402
from speed_table import SUFFIX_DTYPES  # noqa: E402
from cobol.engine import CobolEngine  # noqa: E402
from cobol.format import checksum as ck  # noqa: E402
from cobol.format.frame import DataBlock, iter_frame_records  # noqa: E402
from cobol.registry import OUTPUT_SLACK, DecodeContext, get_codec, get_transform  # noqa: E402


def parts_of(eng, blocks) -> collections.Counter:
    """CPU seconds of each part of decoding ``blocks`` once."""
    acc = collections.Counter()
    for rec, header in blocks:
        transform = get_transform(rec.transform)
        for entry, payload in zip(rec.streams, rec.payloads):
            codec = get_codec(entry.codec)
            t = time.process_time()
            codec.decode(payload, entry.decoded_len)
            acc["entropy:" + codec.name] += time.process_time() - t
        streams = eng.block_streams(rec, header)
        out = np.empty(rec.raw_len + OUTPUT_SLACK, np.uint8)
        t = time.process_time()
        transform.decode_into(streams, rec.params, rec.raw_len, DecodeContext(), out)
        acc["transform:" + transform.name] += time.process_time() - t
        t = time.process_time()
        ck.compute(header.checksum, out[:rec.raw_len])
        acc["checksum"] += time.process_time() - t
    return acc


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("paths", nargs="+", help="files or folders (each folder is a category)")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    eng = CobolEngine(3, threads=1)
    zc, zd = zstandard.ZstdCompressor(level=3), zstandard.ZstdDecompressor()
    for where in args.paths:
        files = sorted(p for p in glob.glob(os.path.join(where, "*")) if os.path.isfile(p)) \
            if os.path.isdir(where) else [where]
        total, raw = collections.Counter(), 0
        for path in files:
            data = open(path, "rb").read()
            dtype = SUFFIX_DTYPES.get(os.path.splitext(path)[1])  # as speed_table: a typed array's caller
            blob = cobol.compress(data, 3, threads=1, **({"dtype": dtype} if dtype else {}))
            z = zc.compress(data)
            blocks = [(rec, h) for h, rec in iter_frame_records(blob, eng.limits) if isinstance(rec, DataBlock)]
            best = collections.defaultdict(lambda: float("inf"))
            for _ in range(args.repeat):
                t = time.process_time()
                cobol.decompress(blob, threads=1)
                best["whole"] = min(best["whole"], time.process_time() - t)
                t = time.process_time()
                zd.decompress(z)
                best["zstd -3"] = min(best["zstd -3"], time.process_time() - t)
                for k, v in parts_of(eng, blocks).items():
                    best[k] = min(best[k], v)
            raw += len(data)
            total.update(best)
            mb = len(data) / 1e6
            shares = "  ".join(f"{k} {v / best['whole']:.0%}" for k, v in best.items() if k not in ("whole", "zstd -3"))
            print(f"{os.path.basename(path)[:36]:36s} {mb:6.2f} MB  {mb / best['whole']:6.0f} MB/s  "
                  f"/zstd {best['zstd -3'] / best['whole']:.3f} | {shares}")
        mb = raw / 1e6
        parts = "  ".join(f"{k} {v / total['whole']:.0%} ({mb / v:.0f} MB/s)" for k, v in total.items()
                          if k not in ("whole", "zstd -3"))
        print(f"== {where}: {mb:.1f} MB  {mb / total['whole']:.0f} MB/s  zstd -3 {mb / total['zstd -3']:.0f} MB/s  "
              f"/zstd {total['zstd -3'] / total['whole']:.3f} | {parts}\n", flush=True)


if __name__ == "__main__":
    main()
