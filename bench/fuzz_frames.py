"""Hostile-input campaign against whole frames (issue 19), run as a benchmark, not in CI.

Valid frames of every category are built once: the first KiBs of every file in
``samples/`` at levels 3 and 19 (one block and several blocks), dictionary
frames (compact, json-dict and zstd-dict streams) and stream-protocol BLOCK
frames. Each *case* takes one of them, applies 1-3 seeded mutations and runs the
result through every decoder that reads it:

- ``cobol.decompress`` (peak allocation measured with tracemalloc),
- ``CobolEngine.decompress_stream`` from a file object,
- ``cobol.open(...).read()``,
- the wire decoder (``FrameDecoder`` -> ``decode_message`` -> ``StreamDecompressor.receive``)
  for the BLOCK frames.

Mutations are of two kinds: *bytes* (bit flips, random bytes, truncation,
insertion, deletion, duplication, 0xFF runs that read as huge varints, splices
from another frame), which the CRCs mostly catch, and *structure* (a parsed
block's fields changed and the block re-encoded with valid CRCs: stream table
lengths and codecs, params bytes, payload bytes, raw length, streams dropped,
duplicated or swapped, transform id), which reach the stream and transform
decoders.

Outcomes per case and path:

ok          a CobolError (or a decode: either the original output, or a
            mutation that changed nothing the checksum covers)
exception   anything else escaped (reported with its traceback)    -> FAIL
corrupt     decoded without error to bytes other than the original -> FAIL
over-bound  tracemalloc's peak passed the documented bound           -> FAIL
crash       the worker process died                                  -> FAIL
hang        a case ran past --case-timeout seconds                   -> FAIL

The documented bound (docs/FORMAT.md "Memory bound") for ``decompress`` with
one thread: the input, the output (the raw lengths of the blocks the parser
got to), and one block's :func:`cobol.engine.block_decode_bound`, plus 4 MiB
for the interpreter's own bookkeeping.

Usage::

    PYTHONPATH=src python bench/fuzz_frames.py --cases 20000 --workers 2 [--seed 1]
    PYTHONPATH=src python bench/fuzz_frames.py --repro SEED:INDEX
"""

from __future__ import annotations

import argparse
import glob
import io
import json
import os
import random
import select
import subprocess
import sys
import time
import traceback
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SLACK = 4 << 20
PATHS = ("decompress", "stream", "open", "wire")


# ---------------------------------------------------------------- inputs

def build_inputs() -> list:
    """(name, kind, blob, original, dictionary or None) for every valid input."""
    import cobol
    from cobol.dictionary import train
    from cobol.engine import CobolEngine
    from cobol.format.frame import DataBlock, iter_frame_records
    from cobol.stream import StreamingConfig, StreamCompressor
    from cobol.stream import frames as F

    hints = {".i32": "int32", ".i64": "int64", ".f64": "float64"}
    out = []
    for path in sorted(glob.glob(str(ROOT / "samples" / "*" / "*"))):
        if path.endswith(".md"):
            continue
        data = open(path, "rb").read()[:24_000]
        name = os.path.basename(path)
        h = {"dtype": hints[path[-4:]]} if path[-4:] in hints else None
        for level in (3, 19):
            out.append((f"{name}@{level}", "frame", CobolEngine(level, threads=1, hints=h).compress(data), data, None))
        out.append((f"{name}@3x3", "frame", CobolEngine(3, threads=1, hints=h, block_size=8192).compress(data),
                    data, None))
    lines = [m + b"\n" for m in (ROOT / "samples/jsonl/vega-football.jsonl").read_bytes()[:300_000].split(b"\n")[1:-1]]
    d = train(lines[::2][:400], size=8192, level=3)
    for i in (1, 3, 5, 7):
        msg = b"".join(lines[i:i + 1 + i // 2])
        out.append((f"dict-msg{i}", "frame", CobolEngine(3, threads=1, dictionary=d).compress(msg), msg, d))
    for level in (1, 9):
        cfg = StreamingConfig(block_size=4096, level=level, fsync=False)
        data = (ROOT / "samples/json/iso-codes-639-3.json").read_bytes()[:12_000]
        blocks = StreamCompressor(cfg).feed(data)
        for b in blocks[:2]:
            raw = data[sum(x.raw_len for x in blocks[:b.seq]):][:b.raw_len]
            out.append((f"wire-L{level}-{b.seq}", "wire", F.frame(F.Block(b)), raw, cfg))
    # keep the wire inputs' order stable but check the frames decode
    for name, kind, blob, data, extra in out:
        if kind == "frame":
            assert CobolEngine(threads=1, dictionary=extra).decompress(blob) == data, name
            assert any(isinstance(r, DataBlock) for _, r in iter_frame_records(blob))
    return out


# ---------------------------------------------------------------- mutations

def _byte_mutation(rnd: random.Random, b: bytearray, other: bytes) -> str:
    n = len(b)
    k = rnd.randrange(8)
    if n == 0:
        b += bytes([rnd.randrange(256)])
        return "grow"
    i = rnd.randrange(n)
    if k == 0:
        b[i] ^= 1 << rnd.randrange(8)
        return "flip"
    if k == 1:
        b[i] = rnd.randrange(256)
        return "byte"
    if k == 2:
        del b[rnd.randrange(n):]
        return "truncate"
    if k == 3:
        b[i:i] = os.urandom(rnd.randrange(1, 64)) if rnd.random() < 0.5 else bytes(rnd.randrange(1, 64))
        return "insert"
    if k == 4:
        del b[i:i + rnd.randrange(1, 64)]
        return "delete"
    if k == 5:
        j = rnd.randrange(n)
        b[i:i] = b[j:j + rnd.randrange(1, 256)]
        return "duplicate"
    if k == 6:
        b[i:i + 5] = b"\xff" * rnd.randrange(1, 10)
        return "varint"
    j = rnd.randrange(len(other)) if other else 0
    b[i:] = other[j:j + rnd.randrange(1, 4096)]
    return "splice"


def _structure_mutation(rnd: random.Random, blob: bytes) -> tuple[bytes, str]:
    """Change one parsed block's fields and re-encode it with valid CRCs."""
    from cobol.format.frame import (DataBlock, EndRecord, FrameHeader, StreamEntry, encode_compact_frame,
                                    encode_data_block, encode_end_record, encode_frame_header, iter_frame_records)
    recs = list(iter_frame_records(blob))
    header = recs[0][0]
    blocks = [r for _, r in recs if isinstance(r, DataBlock)]
    b = rnd.choice(blocks)
    streams = [StreamEntry(e.codec, e.stored_len, e.decoded_len) for e in b.streams]
    payloads = [bytes(p) for p in b.payloads]
    params = bytearray(b.params)
    what = rnd.randrange(10)
    if what == 0 and streams:
        i = rnd.randrange(len(streams))
        streams[i].decoded_len = rnd.choice([0, 1, streams[i].decoded_len + rnd.randrange(-8, 9) % (1 << 20),
                                             16 * b.raw_len + 65536, rnd.randrange(1 << 20)])
        streams[i].decoded_len = max(0, min(streams[i].decoded_len, 16 * b.raw_len + 65536))
        tag = "decoded_len"
    elif what == 1 and streams:
        i = rnd.randrange(len(streams))
        streams[i].codec = rnd.choice([0, 1, 2, 3, rnd.randrange(256)])
        tag = "codec"
    elif what == 2 and params:
        m = bytearray(params)
        for _ in range(rnd.randrange(1, 4)):
            m[rnd.randrange(len(m))] = rnd.randrange(256)
        params = m
        tag = "params"
    elif what == 3 and payloads:
        i = rnd.randrange(len(payloads))
        p = bytearray(payloads[i])
        _byte_mutation(rnd, p, payloads[rnd.randrange(len(payloads))])
        payloads[i] = bytes(p)
        streams[i].stored_len = len(p)
        tag = "payload"
    elif what == 4:
        b.raw_len = max(0, b.raw_len + rnd.choice([-1, 1, -b.raw_len // 2, b.raw_len]))
        tag = "raw_len"
    elif what == 5 and len(streams) > 1:
        i, j = rnd.sample(range(len(streams)), 2)
        streams[i], streams[j] = streams[j], streams[i]
        payloads[i], payloads[j] = payloads[j], payloads[i]
        tag = "swap"
    elif what == 6 and streams:
        i = rnd.randrange(len(streams))
        if rnd.random() < 0.5:
            del streams[i], payloads[i]
        else:
            streams.insert(i, StreamEntry(streams[i].codec, streams[i].stored_len, streams[i].decoded_len))
            payloads.insert(i, payloads[i])
        tag = "drop/dup stream"
    elif what == 7:
        b.transform = rnd.choice([0, 1, 10, 20, 30, 31, 40, 41, 50, rnd.randrange(256)])
        tag = "transform"
    elif what == 8 and payloads:
        # a stream decoded, changed and re-coded with its codec: reaches the transform's own checks
        from cobol.registry import get_codec
        i = rnd.randrange(len(payloads))
        try:
            zd = None
            dec = bytearray(get_codec(streams[i].codec).decode(payloads[i], streams[i].decoded_len, zd))
        except Exception:
            return blob, "recode (skipped)"
        _byte_mutation(rnd, dec, bytes(dec))
        payloads[i] = bytes(dec)
        streams[i] = StreamEntry(0, len(dec), len(dec))
        tag = "recoded stream"
    else:
        payloads = [p + bytes([rnd.randrange(256)]) if rnd.random() < 0.3 else p for p in payloads]
        streams = [StreamEntry(e.codec, len(p), e.decoded_len) for e, p in zip(streams, payloads)]
        tag = "trailing bytes"
    nb = DataBlock(seq=b.seq, raw_len=b.raw_len, transform=b.transform, params=bytes(params), streams=streams,
                   checksum=bytes(b.checksum), payloads=payloads)
    try:
        if header.compact:
            if nb.raw_len < 1:
                return blob, tag + " (skipped)"
            return encode_compact_frame(header, nb), tag
        parts = [encode_frame_header(FrameHeader(header.checksum, header.block_size, header.dictionary_id))]
        for r in blocks:
            parts.append(encode_data_block(nb if r is b else DataBlock(
                r.seq, r.raw_len, r.transform, bytes(r.params), r.streams, bytes(r.checksum),
                [bytes(p) for p in r.payloads])))
        parts.append(encode_end_record(len(blocks), sum((nb if r is b else r).raw_len for r in blocks)))
        return b"".join(parts), tag
    except (ValueError, OverflowError):
        return blob, tag + " (unencodable)"


def mutate(rnd: random.Random, blob: bytes, other: bytes, kind: str) -> tuple[bytes, list]:
    tags = []
    if kind == "frame" and rnd.random() < 0.5:
        try:
            blob, tag = _structure_mutation(rnd, blob)
            tags.append(tag)
        except Exception as e:  # the original parses; a failure here is the harness's
            tags.append(f"structure failed: {e!r}")
        if rnd.random() < 0.7:
            return blob, tags
    b = bytearray(blob)
    for _ in range(rnd.randrange(1, 4)):
        tags.append(_byte_mutation(rnd, b, other))
    return bytes(b), tags


# ---------------------------------------------------------------- one case

def documented_bound(blob) -> int:
    """Input + output + one block's decode bound, over the records the parser gets to."""
    from cobol.engine import block_decode_bound
    from cobol.format.frame import DataBlock, iter_frame_records
    out = worst = 0
    try:
        for _, rec in iter_frame_records(blob):
            if isinstance(rec, DataBlock):
                out += rec.raw_len
                worst = max(worst, block_decode_bound(rec))
    except Exception:
        pass
    return len(blob) + out + worst + SLACK


def _concatenated_copies(mutated: bytes, blob: bytes, got: bytes, original: bytes) -> bool:
    """A mutation that made k whole copies of the frame (a "duplicate" of all of
    it) is a valid input: concatenated frames decode to k copies of the data."""
    k = len(mutated) // len(blob) if blob else 0
    return k > 1 and mutated == blob * k and got == original * k


def run_case(inputs, seed: int, index: int) -> list:
    """[(path, outcome, detail, peak, bound)] for one case."""
    import cobol
    from cobol.engine import CobolEngine
    from cobol.errors import CobolError
    from cobol.stream import StreamDecompressor
    from cobol.stream import frames as F

    rnd = random.Random(seed * 1_000_003 + index)
    name, kind, blob, original, extra = inputs[rnd.randrange(len(inputs))]
    other = inputs[rnd.randrange(len(inputs))][2]
    mutated, tags = mutate(rnd, blob, other, kind)
    results = []

    def check(path, fn, measure=False):
        bound = documented_bound(mutated) if measure else 0
        peak = 0
        if measure:
            tracemalloc.start()
        try:
            got = fn()
        except CobolError:
            got = None
        except Exception as e:  # noqa: BLE001 - the thing under test
            results.append((path, "exception", f"{name} {tags}: {type(e).__name__}: {e}\n"
                            + "".join(traceback.format_exc(limit=-4)), 0, bound))
            return
        finally:
            if measure:
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
        if got is not None and got != original and not _concatenated_copies(mutated, blob, got, original):
            results.append((path, "corrupt", f"{name} {tags}: decoded {len(got)} bytes, not the original", peak, bound))
        elif measure and peak > bound:
            results.append((path, "over-bound", f"{name} {tags}: peak {peak} > bound {bound}", peak, bound))
        else:
            results.append((path, "ok", "", peak, bound))

    if kind == "frame":
        dictionary = extra
        check("decompress", lambda: cobol.decompress(mutated, threads=1, dictionary=dictionary), measure=True)

        def stream():
            sink = io.BytesIO()
            CobolEngine(threads=1, dictionary=dictionary).decompress_stream(io.BytesIO(mutated), sink)
            return sink.getvalue()
        check("stream", stream)
        check("open", lambda: cobol.open(io.BytesIO(mutated), "rb", dictionary=dictionary).read())
    else:
        cfg = extra

        def wire():
            dec = F.FrameDecoder()
            dec.feed(mutated)
            got = None
            while (p := dec.next_payload()) is not None:
                m = F.decode_message(p, cfg.max_block_size)
                if isinstance(m, F.Block):
                    sd = StreamDecompressor(cfg, start_seq=m.block.seq)
                    got = sd.feed_block(m.block)
            return got
        check("wire", wire)
    return results


# ---------------------------------------------------------------- worker / driver

def worker(seed: int, start: int, stop: int) -> None:
    inputs = build_inputs()
    run_case(inputs, seed, start)  # warm (Numba caches) before the first timed case
    print("READY", flush=True)
    for i in range(start, stop):
        res = run_case(inputs, seed, i)
        fails = [r for r in res if r[1] != "ok"]
        peak = max((r[3] for r in res), default=0)
        bound = max((r[4] for r in res), default=0)
        line = {"i": i, "n": len(res), "fails": fails, "peak": peak, "bound": bound}
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()


def drive(args) -> dict:
    per = -(-args.cases // args.workers)
    todo = [[args.seed, w * per, min(args.cases, (w + 1) * per)] for w in range(args.workers)]
    stats = {"cases": 0, "decodes": 0, "ok": 0, "exception": 0, "corrupt": 0, "over-bound": 0, "crash": 0,
             "hang": 0, "max_peak": 0, "max_peak_over_bound": 0.0}
    failures = []
    procs = {}
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t0 = time.time()
    cpu0 = os.times()

    def start(slot):
        seed, a, b = todo[slot]
        if a >= b:
            return
        p = subprocess.Popen([sys.executable, __file__, "--worker", str(seed), str(a), str(b)], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, env=env, text=True, bufsize=1)
        ready = p.stdout.readline()
        if not ready.startswith("READY"):
            raise RuntimeError(f"worker did not start: {ready!r}")
        procs[p.stdout.fileno()] = (p, slot, time.time())

    for w in range(args.workers):
        start(w)
    deadline = t0 + args.seconds if args.seconds else None
    while procs:
        if deadline and time.time() > deadline:
            for p, _, _ in procs.values():
                p.kill()
                p.wait()  # reaped, so their CPU time is counted
            break
        ready, _, _ = select.select(list(procs), [], [], 1.0)
        now = time.time()
        for fd in list(procs):
            p, slot, last = procs[fd]
            if fd in ready:
                line = p.stdout.readline()
                if line:
                    rec = json.loads(line)
                    todo[slot][1] = rec["i"] + 1
                    stats["cases"] += 1
                    stats["decodes"] += rec["n"]
                    stats["max_peak"] = max(stats["max_peak"], rec["peak"])
                    if rec["bound"]:
                        stats["max_peak_over_bound"] = max(stats["max_peak_over_bound"], rec["peak"] / rec["bound"])
                    for path, kind, detail, peak, bound in rec["fails"]:
                        stats[kind] += 1
                        failures.append({"case": f"{args.seed}:{rec['i']}", "path": path, "kind": kind,
                                         "detail": detail[:3000]})
                    stats["ok"] += rec["n"] - len(rec["fails"])
                    procs[fd] = (p, slot, now)
                    continue
                # EOF: finished or died
                rc = p.wait()
                del procs[fd]
                if rc != 0 and todo[slot][1] < todo[slot][2]:
                    stats["crash"] += 1
                    failures.append({"case": f"{args.seed}:{todo[slot][1]}", "path": "*", "kind": "crash",
                                     "detail": f"worker exit {rc}"})
                    stats["cases"] += 1
                    todo[slot][1] += 1
                    start(slot)
            elif now - last > args.case_timeout:
                p.kill()
                p.wait()
                del procs[fd]
                stats["hang"] += 1
                stats["cases"] += 1
                failures.append({"case": f"{args.seed}:{todo[slot][1]}", "path": "*", "kind": "hang",
                                 "detail": f"no result for {args.case_timeout} s"})
                todo[slot][1] += 1
                start(slot)
    wall = time.time() - t0
    cpu1 = os.times()
    stats["wall_s"] = round(wall, 1)
    stats["children_cpu_s"] = round(cpu1.children_user + cpu1.children_system - cpu0.children_user - cpu0.children_system, 1)
    stats["cases_per_s"] = round(stats["cases"] / wall, 1) if wall else 0
    stats["failures"] = failures[:200]
    return stats


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--seconds", type=float, default=0, help="stop after this long (0: run all cases)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--case-timeout", type=float, default=30.0)
    ap.add_argument("--json", help="write the summary here")
    ap.add_argument("--repro", help="SEED:INDEX: run one case here and print its outcomes")
    ap.add_argument("--worker", nargs=3, type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker(*args.worker)
        return 0
    if args.repro:
        seed, index = map(int, args.repro.split(":"))
        for r in run_case(build_inputs(), seed, index):
            print(r[0], r[1], r[3], r[4], r[2])
        return 0
    stats = drive(args)
    text = json.dumps(stats, indent=1)
    if args.json:
        Path(args.json).write_text(text)
    summary = {k: v for k, v in stats.items() if k != "failures"}
    print(json.dumps(summary))
    for f in stats["failures"][:20]:
        print(f["case"], f["path"], f["kind"], f["detail"][:600])
    bad = sum(stats[k] for k in ("exception", "corrupt", "over-bound", "crash", "hang"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
