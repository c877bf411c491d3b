"""In-process A/B of the JSON transform's decoder against a base copy of the source, interleaved.

    git -C /work/main archive main src | tar -x -C /tmp/me/base
    PYTHONPATH=src python bench/decode_ab.py /tmp/me/base/src --categories json jsonl --sizes 0 16384 --rounds 40

On a shared machine (load 8-13 on 2 cores) two processes timed one after the other
differed by +-30% on the same code; two decoders timed in one process, round by
round in alternating order, gave a base/new ratio steady to ~2%. So this loads the
base tree's ``layers/intcodec_numpy.py``, ``layers/intcodec.py``,
``layers/l2_json/decode_walk.py`` and ``layers/l2_json/transform.py`` as extra
modules beside this tree's (rebinding the base transform's ``decode_ints``,
``read_predicted_header`` and walk kernels to the base copies; the rest of
``cobol`` is this tree's) and times ``Layer2Decoder.decode_into`` of both on the
same entropy-decoded streams: the JSON blocks of the first ``size`` bytes of each
dev-corpus file of a category (0: whole files), compressed at level 3 by this tree.
CPU time (``time.process_time``); per round each decoder decodes every block ``k``
times (k x the blocks' bytes ~ ``--batch-bytes``); printed: min and median
microseconds per block of each and the median of the per-round base/new ratios
(above 1: this tree is faster). The base's kernels compile on first use (cache
files under the base tree).
"""

from __future__ import annotations

import argparse
import glob
import importlib.util
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

import numpy as np  # noqa: E402

import cobol  # noqa: E402
import cobol.layers.l2_json.transform as new_transform  # noqa: E402
from cobol import registry  # noqa: E402
from cobol.engine import CobolEngine  # noqa: E402
from cobol.format.frame import DataBlock, iter_frame_records  # noqa: E402
from cobol.registry import OUTPUT_SLACK, get_transform  # noqa: E402


def _load(base_src: str, rel: str, name: str):
    spec = importlib.util.spec_from_file_location(name, os.path.join(base_src, "cobol", rel))
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def base_decoder(base_src: str):
    """The base tree's Layer2Decoder, with the base int codec and walk kernels."""
    bnp = _load(base_src, "layers/intcodec_numpy.py", "cobol.layers._ab_intcodec_numpy")
    bic = _load(base_src, "layers/intcodec.py", "cobol.layers._ab_intcodec")
    bic.read_predicted_header = bnp.read_predicted_header
    bdw = _load(base_src, "layers/l2_json/decode_walk.py", "cobol.layers.l2_json._ab_decode_walk")
    saved = dict(registry._TRANSFORMS), dict(registry._TRANSFORMS_BY_NAME)
    registry._TRANSFORMS.clear()  # the base module registers its JsonTransform (id 30) again
    try:
        btr = _load(base_src, "layers/l2_json/transform.py", "cobol.layers.l2_json._ab_transform")
    finally:
        registry._TRANSFORMS.clear()
        registry._TRANSFORMS.update(saved[0])
        registry._TRANSFORMS_BY_NAME.clear()
        registry._TRANSFORMS_BY_NAME.update(saved[1])
    btr.decode_ints = bic.decode_ints
    btr._walk_decode, btr._walk_decode_records = bdw._walk_decode, bdw._walk_decode_records
    btr.top_level_containers = bdw.top_level_containers
    return btr.Layer2Decoder()


def json_blocks(corpus: str, category: str, size: int) -> list:
    eng = CobolEngine(level=3, threads=1)
    jobs = []
    for path in sorted(glob.glob(os.path.join(corpus, category, "*"))):
        data = open(path, "rb").read()
        if size and len(data) < size:
            continue
        frame = cobol.compress(data[:size] if size else data, 3, threads=1)
        for header, rec in iter_frame_records(frame, eng.limits):
            if isinstance(rec, DataBlock) and get_transform(rec.transform).name == "json":
                jobs.append((eng.block_streams(rec, header), rec))
    return jobs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("base_src", help="the base tree's src folder")
    ap.add_argument("--corpus", default="/work/corpus")
    ap.add_argument("--categories", nargs="+", default=["json", "jsonl"])
    ap.add_argument("--sizes", nargs="+", type=int, default=[0, 4096, 16384, 65536])
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--batch-bytes", type=float, default=200_000)
    args = ap.parse_args(argv)
    decoders = (base_decoder(args.base_src), new_transform.Layer2Decoder())
    for cat in args.categories:
        for size in args.sizes:
            jobs = json_blocks(args.corpus, cat, size)
            if not jobs:
                continue
            outs = [np.empty(rec.raw_len + OUTPUT_SLACK, np.uint8) for _, rec in jobs]

            def run(dec):
                for (streams, rec), out in zip(jobs, outs):
                    dec.decode_into(streams, rec.params, rec.raw_len, out)

            for dec in decoders:
                run(dec)  # compile, warm
            k = max(1, int(args.batch_bytes / sum(rec.raw_len for _, rec in jobs)))
            times = ([], [])
            for i in range(args.rounds):
                for j in ((0, 1) if i % 2 == 0 else (1, 0)):
                    t0 = time.process_time()
                    for _ in range(k):
                        run(decoders[j])
                    times[j].append((time.process_time() - t0) / k / len(jobs) * 1e6)
            ratio = statistics.median(a / b for a, b in zip(*times))
            label = f"{cat}/{size // 1024}K" if size else f"{cat}/whole"
            print(f"{label:12s} {len(jobs):3d} blocks  base min {min(times[0]):9.1f} med {statistics.median(times[0]):9.1f}"
                  f" us | new min {min(times[1]):9.1f} med {statistics.median(times[1]):9.1f} us | base/new {ratio:.3f}",
                  flush=True)


if __name__ == "__main__":
    main()
