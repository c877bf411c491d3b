"""What a dictionary-aware JSON layer would buy on 1 KB messages: an ESTIMATE, not cobol output.

Superseded: the json-dict transform (31) and compact frames now exist;
bench/bench_dictionary.py measures them. Kept as the record of the estimate
that motivated them (it models zstd-dict over varint columns, not json-dict's
range coder, and estimated 1.2-1.45x at level 3; json-dict measures more).

Usage: PYTHONPATH=src .venv/bin/python bench/estimate_dictionary_json.py [--size 16K] [--levels 3,19]

bench/bench_dictionary.py measures what cobol does today: at 1 KB the json
transform has too few values per column to form columns (everything lands in
the shared column, most keys are stored verbatim), so its bundle codes no
smaller than zstd on the raw record, and the frame's fixed bytes (about 47
with crc32) make cobol lose to zstd with a trained dictionary.

This script prototypes, in plain Python (json.loads per record; a real layer
would do it with the tokenizer's kernels), the model a JSON layer could
build from a dictionary section trained on the samples:

- record templates (the key sequence of a flat record) -> one byte per record;
- per key: a value dictionary of the strings seen at least twice in training
  (ids as varints; other strings verbatim);
- integers as zigzag varints, other numbers as text, per key one column;

packed like a bundle and zstd-coded with a zstd dictionary trained on such
packings (its size plus the value dictionaries' serialized size <= --size).
It prints the payload bytes per message and the ratio to zstd-with-dictionary
for two frame overheads: today's (--overhead, default 47 = header 18 + block
header 17 + crc32 4 + end marker 8) and a compact single-block frame
(--compact-overhead, default 23: magic, version, flags, dictionary id, raw
length, plan, one stream entry, crc32; no block size, header CRCs, sequence
number or end marker).
"""

from __future__ import annotations

import argparse
import collections
import glob
import json
import os
import sys

import zstandard

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src"))
sys.path.insert(0, HERE)

from bench_dictionary import messages  # noqa: E402
from cobol.cli.common import parse_size  # noqa: E402


def uvarint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def build_model(train):
    templates = collections.Counter()
    strings = collections.defaultdict(collections.Counter)
    for m in train:
        for line in m.splitlines():
            o = json.loads(line)
            templates[tuple(o)] += 1
            for k, v in o.items():
                if isinstance(v, str):
                    strings[k][v] += 1
    tmpl = {t: i for i, (t, _) in enumerate(templates.most_common(255))}
    values = {k: {v: i for i, (v, c) in enumerate(cnt.most_common(4096)) if c >= 2} for k, cnt in strings.items()}
    # what the section would cost: every template's keys and every dictionary string
    section = b"".join(b"\x00".join(k.encode() for k in t) + b"\x01" for t in tmpl) + b"".join(
        k.encode() + b"\x00" + b"\x00".join(v.encode() for v in vs) + b"\x01" for k, vs in values.items())
    return tmpl, values, len(zstandard.ZstdCompressor(level=19).compress(section))


def pack(m, tmpl, values) -> bytes:
    cols = collections.defaultdict(bytearray)
    tids = bytearray()
    for line in m.splitlines():
        o = json.loads(line)
        tids.append(tmpl.get(tuple(o), 255))
        for k, v in o.items():
            c = cols[k]
            if isinstance(v, str):
                i = values.get(k, {}).get(v)
                c += uvarint(i + 1) if i is not None else b"\x00" + v.encode() + b"\x00"
            elif v is None or isinstance(v, bool):
                c.append({None: 0, True: 1, False: 2}[v])
            elif isinstance(v, int):
                c += uvarint(2 * v if v >= 0 else -2 * v - 1)
            else:
                c += repr(v).encode() + b","
    return bytes(tids) + b"".join(uvarint(len(c)) + bytes(c) for _, c in sorted(cols.items()))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="*")
    ap.add_argument("--size", type=parse_size, default=16384)
    ap.add_argument("--levels", default="3,19")
    ap.add_argument("--overhead", type=float, default=47)
    ap.add_argument("--compact-overhead", type=float, default=23)
    args = ap.parse_args(argv)
    files = args.files or sorted(glob.glob("/work/corpus/jsonl/*.jsonl")) or sorted(
        glob.glob(os.path.join(HERE, "..", "samples", "jsonl", "*.jsonl")))
    print(f"ESTIMATE; dictionary {args.size} B; bytes per ~1 KB message; x = zstd-with-dictionary / ours")
    print(f"{'file':<24} {'lvl':>3} {'payload':>8} {'zstd':>7} {'x today':>8} {'x compact':>9}")
    for path in files:
        with open(path, "rb") as f:
            msgs = messages(f.read(), 1024)
        n_train = min(2000, int(len(msgs) * 0.8))
        train, test = msgs[:n_train], msgs[n_train:][-300:]
        tmpl, values, section_bytes = build_model(train)
        packed_train = [pack(m, tmpl, values) for m in train]
        for level in (int(x) for x in args.levels.split(",")):
            zd = zstandard.train_dictionary(max(1024, args.size - section_bytes), packed_train, level=level)
            params = zstandard.ZstdCompressionParameters(
                compression_level=level, format=zstandard.FORMAT_ZSTD1_MAGICLESS,
                write_content_size=0, write_dict_id=0, write_checksum=0)
            ours = zstandard.ZstdCompressor(compression_params=params, dict_data=zd)
            zraw = zstandard.ZstdCompressor(level=level, dict_data=zstandard.train_dictionary(args.size, train, level=level))
            payload = sum(min(len(ours.compress(p)), len(p) + 1) for p in map(lambda m: pack(m, tmpl, values), test)) / len(test)
            z = sum(len(zraw.compress(m)) for m in test) / len(test)
            print(f"{os.path.basename(path)[:24]:<24} {level:>3} {payload:>8.1f} {z:>7.1f} "
                  f"{z / (payload + args.overhead):>8.3f} {z / (payload + args.compact_overhead):>9.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
