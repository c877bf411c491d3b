"""Fuzz the decoders with corrupt, truncated and hostile input.

The rule under test (docs/FORMAT.md, cobol/errors.py): whatever bytes a
decoder is given, it raises a :class:`~cobol.errors.CobolError` subclass or
returns; never another exception, never a crash (a Numba kernel writing out of
bounds), never a hang, never an allocation out of proportion to the input.

How: every *target* (a registered transform, the int codec, the bit packer,
the accelerator backends' decoders, entropy codec 3 (ppmd), whole frames through the
public API, level-19 frames with ppmd streams) gets
a few valid inputs, made by the target's own encoder from small synthetic data
and from ``samples/``. Each *case* takes one input, applies 1-3 random
mutations (bit flips, byte substitutions, truncations, extensions, spliced or
swapped or dropped streams, huge or zeroed varints, a different block length)
and decodes the result. A case is named ``target|input|seed|index`` and is
reproducible from that name alone (``--repro NAME``).

Cases run in child processes (a segfault must not take the driver with it),
each with a soft address-space limit set per case to the child's current size
plus a budget proportional to the case (raw length and stream bytes), so an
allocation from an untrusted count shows up as MemoryError. The driver
watches a heartbeat per case: a case that runs past ``--case-timeout`` seconds
is a hang, a child that dies is a crash; the driver starts a new child after
the case that killed the old one.

Outcomes per case:

ok        the decoder raised a CobolError (or returned: a mutation may be a no-op)
FAIL      another exception escaped (reported with its traceback), or crash/hang,
          or MemoryError (an allocation not bounded by the case's sizes)
net       a FormatError that wraps another exception (a transform's own
          ``except IndexError`` net, seen through ``__context__``): the input
          was not validated before use; lower priority, reported apart
slow      decoded, but took more than ``--slow`` seconds

``--boundscheck`` runs the children with ``NUMBA_BOUNDSCHECK=1`` (and their
own Numba cache): an out-of-bounds access inside a kernel, silent memory
corruption otherwise, becomes an IndexError naming the call.

Usage::

    PYTHONPATH=src .venv/bin/python bench/fuzz_decoders.py --seconds 600
    PYTHONPATH=src .venv/bin/python bench/fuzz_decoders.py --targets csv,json --cases 500
    PYTHONPATH=src .venv/bin/python bench/fuzz_decoders.py --boundscheck --seconds 300
    PYTHONPATH=src .venv/bin/python bench/fuzz_decoders.py --repro 'csv|syn-quoted|1|17'
    PYTHONPATH=src .venv/bin/python bench/fuzz_decoders.py --list

tests/test_hostile_decoders.py runs a small seeded share of this in CI.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import os
import random
import re
import select
import struct
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
MiB = 1 << 20

#: exceptions that the engine's decode_block turns into FormatError (its safety net)
ENGINE_NET = ("IndexError", "ValueError", "KeyError", "TypeError", "OverflowError", "MemoryError",
              "ArithmeticError", "ZeroDivisionError", "FloatingPointError")


# ====================================================================== inputs
#
# An input is (label, streams, params, raw_len, payload): what the target's
# decoder takes. Built deterministically (fixed seeds) inside the child.


def _rng_np(seed):
    import numpy as np
    return np.random.default_rng(seed)


def _syn_csv():
    rng = random.Random(7)
    out = []
    rows = ["id,name,price,date,flag"]
    for i in range(120):
        rows.append(f"{i},{rng.choice(['ab', 'cd', 'e f', 'g'])},{rng.randint(0, 9999) / 100:.2f},"
                    f"2024-0{rng.randint(1, 9)}-{rng.randint(10, 28)},{rng.choice('YN')}")
    out.append(("syn-plain", ("\n".join(rows) + "\n").encode()))
    rows = ['a,"b, with comma","c ""quoted"""']
    cells = ["x", "y,z", "multi\nline", ""]
    for i in range(80):
        rows.append(f'{i},"{rng.choice(cells)}",{rng.random():.6f}')
    out.append(("syn-quoted", ("\r\n".join(rows) + "\r\n").encode()))
    rows = []
    for i in range(100):
        rows.append(",".join(str(rng.randint(0, 50)) for _ in range(rng.choice([3, 3, 3, 5, 1]))))
    out.append(("syn-ragged", ("\n".join(rows)).encode()))  # no final newline
    rows = []
    base = [str(rng.randint(0, 10**6)) for _ in range(12)]
    for i in range(150):
        if rng.random() < 0.6:
            base[rng.randrange(12)] = str(rng.randint(0, 10**6))
        rows.append("\t".join(base))
    out.append(("syn-tsv-rowmatch", ("\n".join(rows) + "\n").encode()))
    rows = []
    for i in range(60):
        a, b = rng.randint(0, 1000), rng.randint(0, 1000)
        rows.append(f"{a},{b},{a + b},{a * b},{a - b},{i * 60}")
    out.append(("syn-numeric-refs", ("\n".join(rows) + "\n").encode()))
    rows = [",".join(f"c{j}" for j in range(300))]
    for i in range(6):
        rows.append(",".join(str(rng.randint(0, 9)) for _ in range(300)))
    out.append(("syn-wide", ("\n".join(rows) + "\n").encode()))
    return out


def _syn_json():
    rng = random.Random(11)
    objs = []
    for i in range(60):
        objs.append({"id": i, "name": rng.choice(["alpha", "beta", "gam\"ma", "δ"]), "v": rng.randint(-5, 10**9),
                     "f": round(rng.random() * 100, rng.randint(0, 4)), "ok": rng.random() < 0.5, "n": None,
                     "tags": [rng.choice("abc") for _ in range(rng.randint(0, 3))],
                     "sub": {"x": rng.random(), "y": [1, 2, {"z": "w"}]}})
    out = [("syn-array", json.dumps(objs).encode()),
           ("syn-pretty", json.dumps(objs[:25], indent=2).encode()),
           ("syn-lines", "".join(json.dumps(o) + "\n" for o in objs).encode()),
           ("syn-crlf-tabs", json.dumps(objs[:15], indent="\t").replace("\n", "\r\n").encode()),
           ("syn-malformed", json.dumps(objs[:20]).encode()[:-37] + b"\x00\xff{]"),
           ("syn-numbers", json.dumps([[rng.randint(-10**15, 10**15), rng.random() * 1e300, 1e-7, -0.0, 12.50]
                                       for _ in range(80)]).encode())]
    # webhook-style lines: whole sub-objects repeat (under one path and under two),
    # so the block carries subtree references (json params version 2)
    repo = {"id": 99, "full_name": "o/r", "owner": objs[0], "urls": [f"https://x.example/{i}" for i in range(4)]}
    events = [{"action": rng.choice(["opened", "closed"]), "n": i, "repository": repo,
               "sender": objs[i % 3], "issue": {"user": objs[i % 3], "title": f"t{i}"}} for i in range(40)]
    out.append(("syn-webhook-lines", "".join(json.dumps(e) + "\n" for e in events).encode()))
    return out


def _syn_markup(html: bool):
    rng = random.Random(13 if html else 17)
    words = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod".split()
    if html:
        parts = ["<!DOCTYPE html>\n<html><head><meta charset=utf-8><title>T</title></head><body>\n"]
        for i in range(60):
            parts.append(f'<div class="c{i % 4}" id=d{i}><p>{" ".join(rng.choice(words) for _ in range(8))}'
                         f'<br><a href="/x/{i}?a=1&amp;b=2">link</a></p><img src=i{i}.png alt="">\n</div>\n')
        parts.append("<!-- comment --><script>if (a < b && c) { x(); }</script></body></html>\n")
        doc = "".join(parts)
        prose = "<html><body>" + "".join(
            f"<p>{' '.join(rng.choice(words) for _ in range(30))}.</p>\n" for _ in range(80)) + "</body></html>"
        return [("syn-html", doc.encode()), ("syn-html-prose", prose.encode()),
                ("syn-html-broken", doc.encode()[:900] + b"<div <<>> </p></b>&&;")]
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<root xmlns:x="urn:x">\n']
    for i in range(70):
        parts.append(f'  <item id="{i}" x:type="{rng.choice(["a", "b"])}" price="{rng.randint(1, 999)}.{rng.randint(0, 99)}">'
                     f'<name>{" ".join(rng.choice(words) for _ in range(3))}</name><empty/>'
                     f'<![CDATA[raw <stuff> & more]]></item>\n')
    parts.append("  <?pi target?><!-- end -->\n</root>\n")
    doc = "".join(parts)
    prose = "<doc>" + "".join(f"<para>{' '.join(rng.choice(words) for _ in range(40))}.</para>\n"
                              for _ in range(80)) + "</doc>"
    return [("syn-xml", doc.encode()), ("syn-xml-prose", prose.encode()),
            ("syn-xml-broken", doc.encode()[:1200] + b"</item></root><x a='1' b=2>")]


def _syn_text():
    rng = random.Random(19)
    words = ("the of and to in is that for it as was with be by on not he this are or his from at which "
             "But The COBOL engine compresses Data WORDS words, word. Sentence! question? x y z").split()
    text = " ".join(rng.choice(words) for _ in range(900))
    lines = "\n".join(f"2024-05-{rng.randint(10, 28)} 12:{rng.randint(10, 59)}:00 INFO worker[{rng.randint(1, 9)}]: "
                      f"{rng.choice(['started', 'stopped', 'request GET /api/v1/items', 'error: timeout'])}"
                      for _ in range(150))
    caps = " ".join(rng.choice(words).upper() if rng.random() < 0.2 else rng.choice(words).capitalize()
                    for _ in range(500))
    return [("syn-prose", text.encode()), ("syn-log", (lines + "\n").encode()),
            ("syn-caps", caps.encode() + b"\n\t\x00\xff trailing bytes\n")]


def _syn_numeric():
    np = __import__("numpy")
    g = _rng_np(23)
    out = []
    out.append(("syn-i8", g.integers(-5, 5, 3000).astype("<i1").tobytes(), "int8"))
    out.append(("syn-i16-sine", (np.sin(np.arange(3000) / 30) * 3000).astype("<i2").tobytes(), "int16"))
    out.append(("syn-i32-counter", np.cumsum(g.integers(0, 100, 3000)).astype("<i4").tobytes(), "int32"))
    out.append(("syn-u32-wrap", (np.arange(3000, dtype=np.uint64) * 3_000_000 + 2**32 - 10**8).astype("<u4").tobytes(),
                "uint32"))
    out.append(("syn-i64-ts", (1_700_000_000 + np.arange(2000) * 60 + g.integers(0, 3, 2000)).astype("<i8").tobytes(),
                "int64"))
    dec = np.round(g.normal(50, 10, 3000), 2)
    dec[::97] = np.nan
    dec[5] = -0.0
    dec[7] = 1e300
    out.append(("syn-f64-decimal", dec.astype("<f8").tobytes(), "float64"))
    out.append(("syn-f32-noise", g.normal(0, 1, 3000).astype("<f4").tobytes(), "float32"))
    out.append(("syn-f64-smooth", np.cumsum(g.normal(0, 1e-3, 3000)).astype("<f8").tobytes(), "float64"))
    out.append(("syn-u16-sparse", np.where(g.random(4000) < 0.05, g.integers(1, 60000, 4000), 0).astype("<u2").tobytes(),
                "uint16"))
    out.append(("syn-nohint-odd", np.arange(1000, dtype="<i4").tobytes()[3:-1], None))
    out.append(("syn-u64-dict", g.choice(np.array([7, 2**40, 2**63 + 5, 99], np.uint64), 3000).astype("<u8").tobytes(),
                "uint64"))
    return out


def _syn_ints():
    """(label, int64 values, mode) for the int codec, one per layout at least."""
    np = __import__("numpy")
    g = _rng_np(29)
    from cobol.layers import intcodec as ic
    vals = {
        "small": g.integers(0, 16, 2000),
        "walk": np.cumsum(g.integers(-3, 4, 3000)),
        "skew": np.where(g.random(3000) < 0.9, g.integers(0, 40, 3000), g.integers(0, 10**9, 3000)),
        "sparse": np.where(g.random(3000) < 0.03, g.integers(1, 1000, 3000), 0),
        "dict": g.choice(np.array([5, -7, 10**12, 3, 2**62]), 3000),
        "wide": g.integers(-2**62, 2**62, 600),
        "linear": 1_000_000 + np.arange(2500) * 7,
        "extreme": np.array([-2**63, 2**63 - 1, 0, -1, 1] * 40),
    }
    combos = [("small", ic.PACKED), ("walk", ic.PACKED), ("wide", ic.PACKED), ("extreme", ic.PACKED),
              ("walk", ic.PLANES), ("skew", ic.PLANES), ("linear", ic.PLANES), ("extreme", ic.PLANES),
              ("skew", ic.ESCAPE), ("wide", ic.ESCAPE), ("skew", ic.BUCKET), ("walk", ic.BUCKET),
              ("sparse", ic.SPARSE), ("dict", ic.DICT), ("small", ic.DICT), ("skew", None), ("sparse", None)]
    out = []
    for name, mode in combos:
        out.append((f"{name}-{ic.MODE_NAMES.get(mode, 'auto')}", np.asarray(vals[name], np.int64), mode))
    return out


def _sample_files(*folders, limit=None):
    out = []
    for folder in folders:
        d = SAMPLES / folder
        if not d.is_dir():
            continue
        for p in sorted(d.iterdir()):
            if p.is_file():
                data = p.read_bytes()
                if limit:
                    cut = data.rfind(b"\n", 0, limit)
                    data = data[:cut + 1] if cut > limit // 2 else data[:limit]
                out.append((f"sample-{folder}-{p.name}", data))
    return out


@dataclass
class Input:
    label: str
    streams: list
    params: bytes
    raw_len: int
    data: bytes = b""
    extra: dict = field(default_factory=dict)


@dataclass
class Target:
    name: str
    decode: object  # (streams, params, raw_len) -> object
    make_inputs: object  # (sample_limit) -> list[Input]
    frame: bool = False  # mutations act on one frame (streams[0]) with frame-aware moves
    note: str = ""
    #: (split, join): a second view of the input that mutations may act on, e.g.
    #: the CSV meta stream opened into its params and logical streams, so that
    #: a mutation is not just a broken length prefix
    view: tuple | None = None


def _transform_target(name: str, fmt_inputs):
    def make(sample_limit):
        from cobol.registry import EncodeContext, transform_by_name
        t = transform_by_name(name)
        out = []
        for label, data, ctx_kw in fmt_inputs(sample_limit):
            for level in ctx_kw.pop("levels", (3,)):
                enc = t.encode(data, EncodeContext(level=level, **ctx_kw))
                if enc is None:
                    continue
                out.append(Input(f"{label}@{level}", [bytes(s) for s in enc.streams], bytes(enc.params), len(data), data))
        return out

    def decode(streams, params, raw_len):
        from cobol.registry import DecodeContext, transform_by_name
        return transform_by_name(name).decode(streams, params, raw_len, DecodeContext())

    return Target(name, decode, make)


def _csv_split(streams, params):
    """The csv meta stream -> (logical streams, column params); None if it does not parse."""
    from cobol.format.wire import Reader
    r = Reader(streams[0])
    plen = r.varint()
    cparams = r.take(plen)
    lens = [r.varint() for _ in range(r.varint())]
    logical, big = [], list(streams[1:])
    for ln in lens:
        logical.append(r.take(ln) if ln < 2048 else big.pop(0))
    return logical, cparams


def _csv_join(logical, cparams):
    from cobol.format.wire import put_varint
    meta = bytearray()
    put_varint(meta, len(cparams))
    meta += cparams
    put_varint(meta, len(logical))
    for s in logical:
        put_varint(meta, len(s))
    big = []
    for s in logical:
        if len(s) < 2048:
            meta += s
        else:
            big.append(bytes(s))
    return [bytes(meta)] + big, bytes([1])


def _numeric_split(streams, params):
    """The numeric values stream unwrapped from its own zstd frame (params flag bit 0)."""
    import zstandard
    if len(params) > 4 and params[4] & 1 and streams:
        values = zstandard.ZstdDecompressor().decompress(streams[0], max_output_size=64 * MiB)
        return [values] + list(streams[1:]), params
    return list(streams), params


def _numeric_join(streams, params):
    import zstandard
    if len(params) > 4 and params[4] & 1 and streams:
        return [zstandard.ZstdCompressor(level=1).compress(streams[0])] + list(streams[1:]), params
    return list(streams), params


def _csv_inputs(limit):
    items = [(l, d, {"fmt": "tsv" if "tsv" in l else "csv", "levels": (3, 19) if l == "syn-plain" else (3,)})
             for l, d in _syn_csv()]
    items += [(l, d, {"fmt": "csv", "levels": (3, 12)}) for l, d in _sample_files("csv", limit=limit)]
    return items


def _json_inputs(limit):
    items = [(l, d, {"fmt": "jsonl" if "lines" in l else "json"}) for l, d in _syn_json()]
    items += [(l, d, {"fmt": "json", "levels": (3, 19)}) for l, d in _sample_files("json", "jsonl", limit=limit)]
    return items


def _markup_inputs(html):
    def f(limit):
        items = [(l, d, {"fmt": "html" if html else "xml", "levels": (3, 19)}) for l, d in _syn_markup(html)]
        items += [(l, d, {"fmt": "html" if html else "xml", "levels": (3, 19)})
                  for l, d in _sample_files("html" if html else "xml", limit=limit)]
        return items
    return f


def _text_inputs(limit):
    items = [(l, d, {"fmt": "text"}) for l, d in _syn_text()]
    items += [(l, d, {"fmt": "text"}) for l, d in _sample_files("text", "log", limit=limit)]
    return items


def _numeric_inputs(limit):
    items = []
    for label, data, dt in _syn_numeric():
        items.append((label, data, {"fmt": "numeric", "hints": {"dtype": dt} if dt else {}, "levels": (3, 19)}))
    suffix = {".i32": "int32", ".i64": "int64", ".f64": "float64"}
    for label, data in _sample_files("numeric", limit=limit):
        dt = suffix.get(Path(label).suffix)
        data = data[:len(data) - len(data) % 8]
        items.append((label, data, {"fmt": "numeric", "hints": {"dtype": dt}, "levels": (3, 19)}))
    return items


def _raw_inputs(limit):
    return [("syn-bytes", bytes(range(256)) * 3, {}), ("syn-empty", b"", {})]


def _intcodec_target():
    def make(limit):
        from cobol.layers import intcodec as ic
        out = []
        for label, v, mode in _syn_ints():
            try:
                buf = ic.encode_ints(v, modes=(mode,) if mode is not None else ic.ALL_MODES)
            except ValueError:  # the layout does not apply to these values
                continue
            out.append(Input(label, [buf], b"", v.size, extra={"mode": buf[0]}))
        return out

    def decode(streams, params, raw_len):
        from cobol.layers.intcodec import decode_ints
        if len(streams) != 1 or params:
            return None  # the harness's own shape; nothing to test
        return decode_ints(streams[0], raw_len)

    return Target("intcodec", decode, make, note="decode_ints(buf, max_count=raw_len)")


def _bitpack_inputs():
    np = __import__("numpy")
    g = _rng_np(31)
    codes = {
        "const": g.integers(0, 1000, 3000),
        "for": 10**12 + g.integers(0, 64, 3000),
        "zerorun": np.where(g.random(3000) < 0.1, g.integers(1, 500, 3000), 0),
        "delta": np.cumsum(g.integers(0, 5, 3000)) + 2**40,
        "patched": np.where(g.random(3000) < 0.02, g.integers(0, 2**50, 3000), g.integers(0, 8, 3000)),
        "wide": g.integers(0, 2**63, 700).astype(np.uint64) * 2 + 1,
        "mixed": np.concatenate([g.integers(0, 4, 1024), np.zeros(1024, np.int64), g.integers(0, 2**60, 1024)]),
    }
    return [(k, np.asarray(v).astype(np.uint64)) for k, v in codes.items()]


def _bitpack_target(backend: str | None):
    def make(limit):
        np = __import__("numpy")
        from cobol.layers import l4_bitpack
        out = []
        for label, codes in _bitpack_inputs():
            for chunk in (128, 512):
                tags = np.arange((codes.size + chunk - 1) // chunk, dtype=np.uint8) % 4
                buf = l4_bitpack.pack(codes, chunk, tags=tags)
                out.append(Input(f"{label}-c{chunk}", [buf], b"", codes.size))
        return out

    def decode(streams, params, raw_len):
        if len(streams) != 1 or params:
            return None
        if backend is None:
            from cobol.layers.l4_bitpack import unpack
            return unpack(streams[0], raw_len)
        from cobol.accel.factory import get_backend
        return get_backend(backend).bitunpack(streams[0], raw_len)

    name = "bitpack" if backend is None else f"bitpack@{backend}"
    return Target(name, decode, make, note="l4 unpack(buf, max_count=raw_len)")


def _varint_target(backend: str):
    def make(limit):
        np = __import__("numpy")
        from cobol.accel.factory import get_backend
        g = _rng_np(37)
        b = get_backend(backend)
        out = []
        for label, v in (("small", g.integers(0, 200, 3000)), ("wide", g.integers(0, 2**63, 800))):
            buf = b.varint_encode(np.asarray(v, np.uint64))
            out.append(Input(label, [buf], b"", int(np.size(v))))
        return out

    def decode(streams, params, raw_len):
        if len(streams) != 1 or params:
            return None
        from cobol.accel.factory import get_backend
        return get_backend(backend).varint_decode(streams[0], raw_len)

    return Target(f"varint@{backend}", decode, make)


def _delta_target(backend: str | None):
    """delta_decode takes arrays: the stream is the codes (8 bytes each), params the orders."""
    def make(limit):
        np = __import__("numpy")
        from cobol.layers import l3_delta
        g = _rng_np(41)
        out = []
        for label, v in (("walk", np.cumsum(g.integers(-9, 9, 3000))), ("ts", 10**9 + np.arange(2000) * 60)):
            v = np.asarray(v, np.int64)
            orders = l3_delta.choose_orders(v, 512)
            codes = l3_delta.delta_encode(v, orders, 512, zigzag0=False)
            out.append(Input(label, [codes.tobytes()], orders.tobytes(), v.size))
        return out

    def decode(streams, params, raw_len):
        np = __import__("numpy")
        if len(streams) != 1 or len(streams[0]) % 8:
            return None
        codes = np.frombuffer(streams[0], np.uint64)
        orders = np.frombuffer(params, np.uint8)
        if backend is None:
            from cobol.layers.l3_delta import delta_decode
            return delta_decode(codes, orders, 512, zigzag0=False)
        from cobol.accel.factory import get_backend
        return get_backend(backend).delta_decode(codes, orders, 512, zigzag0=False)

    return Target("delta" if backend is None else f"delta@{backend}", decode, make)


def _frame_target(plan: str, inputs_fn, ctx_of):
    """Whole frames through cobol.decompress, decompress_stream and frame_info.
    The one stream is the frame; params carry the plan name for the structural moves."""
    def make(limit):
        import cobol
        out = []
        for label, data, kw in inputs_fn(limit)[:4]:
            kw = dict(kw)
            kw.pop("levels", None)
            fmt = kw.pop("fmt", None)
            for checksum in ("crc32", "sha256"):
                blob = cobol.compress(data, level=3, plan=plan, threads=1, checksum=checksum,
                                      block_size=max(4096, len(data) // 2 + 1), fmt=fmt, **ctx_of(kw))
                out.append(Input(f"{label}-{checksum}", [blob], b"", len(data), data))
        return out

    def decode(streams, params, raw_len):
        from cobol.engine import CobolEngine
        from cobol.info import frame_info
        blob = streams[0]
        eng = CobolEngine(threads=1)
        frame_info(blob)
        out = eng.decompress(blob, max_output_size=64 * MiB)
        sink = io.BytesIO()
        eng.decompress_stream(io.BytesIO(blob), sink, max_output_size=64 * MiB)
        if sink.getvalue() != out:
            raise AssertionError("decompress and decompress_stream disagree")
        return out

    return Target(f"frame-{plan}", decode, make, frame=True)


def _ppmd_codec_target():
    """Entropy codec 3 (ppmd) called directly: the one stream is the stored bytes
    (u8 order, u8 memory code, range coder bytes), raw_len the table's decoded length."""
    def make(limit):
        from cobol.entropy import PpmdCodec
        items = [(l, d) for l, d in _syn_text()][:2]
        items += [(l, d) for l, d in _sample_files("text", "xml", limit=limit or 20000)][:2]
        out = []
        for label, data in items:
            if not data:
                continue
            for level in (19, 22):
                out.append(Input(f"{label}@{level}", [PpmdCodec().encode(data, level)], b"", len(data), data))
        return out

    def decode(streams, params, raw_len):
        if len(streams) != 1 or params:
            return None
        from cobol.entropy import PpmdCodec
        return PpmdCodec().decode(streams[0], raw_len)

    return Target("codec-ppmd", decode, make, note="PpmdCodec.decode(stored, decoded_len)")


def _frame_ppmd_target():
    """Level-19 frames whose streams are coded with ppmd (text, xml, json samples)."""
    def make(limit):
        import cobol
        from cobol.info import frame_info
        out = []
        items = [(l, d) for l, d in _sample_files("text", "xml", "json", limit=limit or 20000)][:4]
        for label, data in items:
            blob = cobol.compress(data, level=19, threads=1, checksum="crc32")
            if any(s["codec"] == "ppmd" for b in frame_info(blob).block_list for s in b.streams):
                out.append(Input(label, [blob], b"", len(data), data))
        return out

    def decode(streams, params, raw_len):
        from cobol.engine import CobolEngine
        return CobolEngine(threads=1).decompress(streams[0], max_output_size=64 * MiB)

    return Target("frame-ppmd", decode, make, frame=True)


def _stream_block_target():
    """Serialized CompressedBlocks (the streaming protocol's unit, a .cobl data
    record in an envelope) into a fresh StreamDecompressor."""
    def make(limit):
        from cobol.stream import StreamCompressor, StreamingConfig
        out = []
        for label, data, _ in (_csv_inputs(limit)[:2] + _json_inputs(limit)[:2] + _text_inputs(limit)[:2]):
            cfg = StreamingConfig(block_size=4096, checksum="crc32", threads=1)
            c = StreamCompressor(cfg)
            for b in (c.feed(data) + c.flush())[:3]:
                out.append(Input(f"{label}-b{b.seq}", [b.to_bytes()], b"", b.raw_len))
        return out

    def decode(streams, params, raw_len):
        from cobol.stream import StreamingConfig
        from cobol.stream.decompressor import StreamDecompressor
        cfg = StreamingConfig(block_size=4096, checksum="crc32", threads=1)
        d = StreamDecompressor(cfg)
        for s in streams:
            d.feed_block(s)
        return None

    return Target("stream-block", decode, make)


def _stream_message_target():
    """Protocol frames (magic, length, payload, CRC) through FrameDecoder and
    decode_message; the CRC is recomputed after the mutation so that the
    message parser sees the hostile payload."""
    def make(limit):
        from cobol.stream import StreamCompressor, StreamingConfig
        from cobol.stream import frames as F
        cfg = StreamingConfig(block_size=4096, checksum="crc32", threads=1)
        c = StreamCompressor(cfg)
        blk = (c.feed(b"a,b\n1,2\n" * 200) + c.flush())[0]
        msgs = [F.Hello(nonce=bytes(range(32))), F.Challenge(nonce=bytes(32), auth_required=True, window=16,
                                                             max_block_size=1 << 20),
                F.Open(proof=bytes(32), transfer_id=bytes(16), name="dir/file.csv", size=12345, block_size=4096,
                       checksum_kind=3, level=3, fresh=True),
                F.Accept(proof=bytes(32), resume_seq=3, resume_offset=12288, resume_chain=bytes(32), credit=16),
                F.Block(blk), F.Ack(acked=5, credit=16), F.End(n_blocks=2, total_raw=8000, chain=bytes(32)),
                F.Done(n_blocks=2, total_raw=8000, chain=bytes(32), stored_name="dir/file.csv"),
                F.Error(code=5, message="block 3 failed its checksum"), F.Keepalive()]
        return [Input(type(m).__name__, [F.encode_message(m)], b"", 0) for m in msgs]

    def decode(streams, params, raw_len):
        from cobol.stream import frames as F
        fd = F.FrameDecoder(limit=1 << 16)
        for s in streams:
            fd.feed(F.encode_frame(s) if s else b"")
        out = []
        while True:
            p = fd.next_payload()
            if p is None:
                break
            out.append(F.decode_message(p, 4096))
        return None

    return Target("stream-message", decode, make)


def _differential_target(base: Target, backend: str) -> Target:
    """``base`` (a CPU decoder of the accel API) against ``backend``: both must
    reject the same inputs and return the same arrays. A device kernel reading
    out of bounds shows up as a different result, not as a crash."""
    other = {"bitpack": lambda: _bitpack_target(backend), "varint": lambda: _varint_target(backend),
             "delta": lambda: _delta_target(backend)}[base.name.split("@")[0]]()

    def run(t, streams, params, raw_len):
        from cobol.errors import CobolError
        try:
            return "ok", t.decode(streams, params, raw_len)
        except CobolError as e:
            return "error", type(e).__name__

    def decode(streams, params, raw_len):
        np = __import__("numpy")
        a = run(base, streams, params, raw_len)
        b = run(other, streams, params, raw_len)
        if a[0] != b[0]:
            raise AssertionError(f"cpu {a[0]} ({a[1] if a[0] == 'error' else 'decoded'}), "
                                 f"{backend} {b[0]} ({b[1] if b[0] == 'error' else 'decoded'})")
        if a[0] == "ok":
            va = a[1] if isinstance(a[1], tuple) else (a[1],)
            vb = b[1] if isinstance(b[1], tuple) else (b[1],)
            if any(not np.array_equal(x, y) for x, y in zip(va, vb)):
                raise AssertionError(f"cpu and {backend} decode to different values")
        return None

    return Target(f"{base.name.split('@')[0]}-diff@{backend}", decode, base.make_inputs)


_FORMAT_INPUTS = {"csv": "_csv_inputs", "tsv": "_csv_inputs", "json": "_json_inputs", "jsonl": "_json_inputs",
                  "text": "_text_inputs", "log": "_text_inputs", "numeric": "_numeric_inputs",
                  "binary": "_numeric_inputs"}


def _inputs_for_formats(formats):
    """Input makers for a transform's detected formats (for transforms added
    after this harness: every registered transform gets fuzzed)."""
    makers = []
    for f in formats:
        if f == "xml":
            makers.append(_markup_inputs(False))
        elif f == "html":
            makers.append(_markup_inputs(True))
        elif f in _FORMAT_INPUTS and globals()[_FORMAT_INPUTS[f]] not in makers:
            makers.append(globals()[_FORMAT_INPUTS[f]])
    if not makers or "*" in formats:
        makers = [_csv_inputs, _json_inputs, _text_inputs, _numeric_inputs]

    def inputs(limit):
        out = []
        for m in makers:
            out += m(limit)
        return out
    return inputs


def _bundle_target():
    """The bundle transform (id 1): another transform's params and streams packed into one stream."""
    def make(limit):
        from cobol.layers.bundle import pack
        from cobol.registry import EncodeContext, transform_by_name
        out = []
        for tname, maker in (("json", _json_inputs), ("csv", _csv_inputs), ("l1", _text_inputs),
                             ("numeric", _numeric_inputs), ("xml", _markup_inputs(False)), ("raw", _raw_inputs)):
            t = transform_by_name(tname)
            for label, data, kw in maker(limit)[:2]:
                kw = dict(kw)
                kw.pop("levels", None)
                enc = t.encode(data, EncodeContext(level=3, **kw))
                if enc is not None:
                    out.append(Input(f"{tname}-{label}", [pack(enc)], bytes([t.id]), len(data), data))
        return out

    def decode(streams, params, raw_len):
        from cobol.registry import DecodeContext, transform_by_name
        return transform_by_name("bundle").decode(streams, params, raw_len, DecodeContext())

    def split(streams, params):
        from cobol.layers.bundle import unpack
        inner_params, inner = unpack(streams[0])
        return list(inner), bytes(params) + bytes(inner_params)

    def join(streams, params):
        from cobol.layers.bundle import pack
        from cobol.registry import Encoded
        return [pack(Encoded(params=params[1:], streams=streams))], params[:1]

    return Target("bundle", decode, make, view=(split, join))


_DICT_CACHE = {}


def _small_messages():
    rng = random.Random(43)
    msgs = []
    for i in range(40):
        msgs.append(json.dumps({"id": i, "user": rng.choice(["ann", "bob", "cy"]), "event": rng.choice(["login", "buy"]),
                                "amount": round(rng.random() * 100, 2), "tags": ["a", "b"][: rng.randint(0, 2)]}).encode())
    return msgs


def _shared_dictionary():
    if "d" not in _DICT_CACHE:
        from cobol.dictionary import Dictionary
        content = b"".join(_small_messages()[:20])
        _DICT_CACHE["d"] = Dictionary(zstd=content, level=3)
    return _DICT_CACHE["d"]


def _frame_dict_target():
    """Frames made with a shared dictionary (codec zstd-dict, bundles), decoded with it."""
    def make(limit):
        import cobol
        d = _shared_dictionary()
        out = []
        for i, m in enumerate(_small_messages()[20:26]):
            blob = cobol.compress(m, level=3, threads=1, checksum="crc32", dictionary=d)
            out.append(Input(f"msg{i}", [blob], b"", len(m), m))
        return out

    def decode(streams, params, raw_len):
        from cobol.engine import CobolEngine
        return CobolEngine(threads=1, dictionary=_shared_dictionary()).decompress(streams[0], max_output_size=64 * MiB)

    return Target("frame-dict", decode, make, frame=True)


def _dictionary_file_target():
    """Serialized dictionaries (Dictionary.from_bytes), with the content-hash id
    recomputed after the mutation (a hostile file can carry a valid id); a
    dictionary that loads is then used to decode a frame."""
    def make(limit):
        from cobol.dictionary import Dictionary
        d = _shared_dictionary()
        trained_like = Dictionary(zstd=b"", sections={30: b"\x01\x02section", 50: b"words\nmore"}, level=5)
        return [Input("raw-content", [d.to_bytes()], b"", 0), Input("sections", [trained_like.to_bytes()], b"", 0)]

    def decode(streams, params, raw_len):
        import cobol
        from cobol.dictionary import Dictionary, _dict_id
        if len(streams) != 1:
            return None  # the harness's own shape
        data = bytearray(streams[0])
        if len(data) > 9 and data[:4] == b"CBLD":
            data[5:9] = _dict_id(bytes(data[9:])).to_bytes(4, "little")
        d = Dictionary.from_bytes(bytes(data))
        m = _small_messages()[30]
        blob = cobol.compress(m, level=3, threads=1, checksum="crc32", dictionary=d)
        if cobol.decompress(blob, dictionary=d) != m:
            raise AssertionError("a hostile dictionary broke a round trip")
        return None

    return Target("dictionary-file", decode, make)


def _json_dict_dictionary():
    if "jd" not in _DICT_CACHE:
        from cobol.dictionary import train
        _DICT_CACHE["jd"] = train(_small_messages()[:30], size=4096, level=3)
    return _DICT_CACHE["jd"]


def _json_dict_target():
    """The json-dict transform (31): messages coded against a trained dictionary's section."""
    def make(limit):
        from cobol.registry import EncodeContext, transform_by_name
        t = transform_by_name("json-dict")
        d = _json_dict_dictionary()
        msgs = _small_messages()
        out = []
        for i, m in enumerate([b"\n".join(msgs[30:33]) + b"\n", msgs[35], b"not json\n" + msgs[36], msgs[20] + b"\n"]):
            enc = t.encode(m, EncodeContext(level=3, fmt="jsonl", dictionary=d))
            if enc is not None:
                out.append(Input(f"msg{i}", [bytes(x) for x in enc.streams], bytes(enc.params), len(m), m))
        return out

    def decode(streams, params, raw_len):
        from cobol.registry import DecodeContext, transform_by_name
        return transform_by_name("json-dict").decode(streams, params, raw_len,
                                                      DecodeContext(dictionary=_json_dict_dictionary()))

    return Target("json-dict", decode, make)


def _json_dict_section_target():
    """json-dict dictionary sections (the model, before its zstd wrapping), loaded and then used."""
    def make(limit):
        import zstandard
        sec = _json_dict_dictionary().section(31)
        return [Input("section", [zstandard.ZstdDecompressor().decompress(sec)], b"", 0)]

    def decode(streams, params, raw_len):
        import zstandard
        from cobol.errors import CobolError
        from cobol.layers import json_dict as jd
        if len(streams) != 1:
            return None
        model = jd.load_model(zstandard.ZstdCompressor(level=1).compress(bytes(streams[0])))
        for m in _small_messages()[30:33]:
            coded = jd.encode_with(m, model)
            try:
                back = jd.decode_with(coded, len(m), model)
            except CobolError:
                back = None
            if back != m:
                raise AssertionError("a loadable hostile section broke a round trip")
        return None

    return Target("json-dict-section", decode, make)


def _selftest_targets():
    """Targets that misbehave on purpose: the harness must catch each kind."""
    def make(limit):
        return [Input("x", [b"\x01\x02\x03\x04" * 8], b"\x00", 32)]

    def segv(streams, params, raw_len):
        import ctypes
        ctypes.string_at(0)

    def hang(streams, params, raw_len):
        while True:
            pass

    def alloc(streams, params, raw_len):
        np = __import__("numpy")
        return np.ones(1 << 30, np.uint8)  # 1 GiB: over the case's memory limit (256 MiB for it)

    def index(streams, params, raw_len):
        return streams[0][10**6]

    def netted(streams, params, raw_len):
        from cobol.errors import FormatError
        try:
            return streams[0][10**6]
        except IndexError as e:
            raise FormatError(f"corrupt ({type(e).__name__}: {e})") from None

    def fine(streams, params, raw_len):
        from cobol.errors import FormatError
        raise FormatError("always rejected")

    return {f"_selftest-{k}": Target(f"_selftest-{k}", f, make) for k, f in
            (("segv", segv), ("hang", hang), ("alloc", alloc), ("index", index), ("net", netted), ("fine", fine))}


def _with_view(t: Target, split, join) -> Target:
    t.view = (split, join)
    return t


def all_targets() -> dict:
    t = {
        "raw": _transform_target("raw", _raw_inputs),
        "numeric": _with_view(_transform_target("numeric", _numeric_inputs), _numeric_split, _numeric_join),
        "csv": _with_view(_transform_target("csv", _csv_inputs), _csv_split, _csv_join),
        "json": _transform_target("json", _json_inputs),
        "xml": _transform_target("xml", _markup_inputs(False)),
        "html": _transform_target("html", _markup_inputs(True)),
        "l1": _transform_target("l1", _text_inputs),
        "intcodec": _intcodec_target(),
        "bitpack": _bitpack_target(None),
        "delta": _delta_target(None),
        "frame-csv": _frame_target("csv", _csv_inputs, lambda kw: kw),
        "frame-json": _frame_target("json", _json_inputs, lambda kw: kw),
        "frame-xml": _frame_target("xml", _markup_inputs(False), lambda kw: kw),
        "frame-html": _frame_target("html", _markup_inputs(True), lambda kw: kw),
        "frame-l1": _frame_target("l1", _text_inputs, lambda kw: kw),
        "frame-numeric": _frame_target("numeric", _numeric_inputs,
                                       lambda kw: {"hints": kw["hints"]} if kw.get("hints") else {}),
        "frame-zstd": _frame_target("zstd", _text_inputs, lambda kw: {}),
        "codec-ppmd": _ppmd_codec_target(),
        "frame-ppmd": _frame_ppmd_target(),
        "stream-block": _stream_block_target(),
        "stream-message": _stream_message_target(),
        # accelerator backends' decoders, called directly (the layers reach them
        # for batches of 64 Ki values and up, on a device backend)
        "bitpack@cpu": _bitpack_target("cpu"),
        "bitpack@opencl": _bitpack_target("opencl"),
        "varint@cpu": _varint_target("cpu"),
        "varint@opencl": _varint_target("opencl"),
        "delta@cpu": _delta_target("cpu"),
        "delta@opencl": _delta_target("opencl"),
    }
    for b in ("bitpack", "varint", "delta"):
        d = _differential_target(t[f"{b}@cpu"], "opencl")
        t[d.name] = d
    t["bundle"] = _bundle_target()
    t["frame-dict"] = _frame_dict_target()
    t["dictionary-file"] = _dictionary_file_target()
    t["json-dict"] = _json_dict_target()
    t["json-dict-section"] = _json_dict_section_target()
    try:
        from cobol.registry import all_transforms
        import cobol.engine  # noqa: F401  (registers the transforms)
        for tr in all_transforms():
            if tr.name not in t:
                t[tr.name] = _transform_target(tr.name, _inputs_for_formats(tr.formats))
                t[tr.name].note = "added automatically from its formats"
    except ImportError:
        pass
    t.update(_selftest_targets())
    return t


#: what runs when no --targets are given (the selftests and the slow OpenCL ones are asked for by name)
DEFAULT_TARGETS = ("raw", "numeric", "csv", "json", "xml", "html", "l1", "intcodec", "bitpack", "delta",
                   "frame-csv", "frame-json", "frame-xml", "frame-html", "frame-l1", "frame-numeric",
                   "frame-zstd", "frame-dict", "bundle", "dictionary-file", "stream-block", "stream-message",
                   "bitpack@cpu", "varint@cpu", "delta@cpu", "codec-ppmd", "frame-ppmd", "json-dict",
                   "json-dict-section")


def default_targets() -> list:
    """DEFAULT_TARGETS plus any transform registered since (fuzzed from its formats)."""
    extra = [n for n, t in all_targets().items() if t.note == "added automatically from its formats"]
    return list(DEFAULT_TARGETS) + [n for n in extra if n not in DEFAULT_TARGETS]


# ==================================================================== mutations

INTERESTING_VARINTS = (0, 1, 2, 3, 7, 8, 63, 64, 127, 128, 255, 256, 4095, 4096, 65535, 65536,
                       2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**53, 2**62, 2**63 - 1, 2**63, 2**64 - 1)
INTERESTING_BYTES = (0x00, 0x01, 0x02, 0x03, 0x07, 0x08, 0x10, 0x1F, 0x20, 0x3F, 0x40, 0x41, 0x7E, 0x7F,
                     0x80, 0x81, 0xFE, 0xFF)


def _varint(v: int) -> bytes:
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def _read_varint(buf, pos):
    """(value, end) of a minimal varint at pos, or None."""
    v = shift = 0
    for i in range(10):
        if pos + i >= len(buf):
            return None
        b = buf[pos + i]
        v |= (b & 0x7F) << shift
        if not b & 0x80:
            return v, pos + i + 1
        shift += 7
    return None


class Case:
    """One mutable case: streams and params as bytearrays, the raw length, a log."""

    def __init__(self, inp: Input, pool: list):
        self.streams = [bytearray(s) for s in inp.streams]
        self.params = bytearray(inp.params)
        self.raw_len = inp.raw_len
        self.pool = pool  # other inputs of the same target (for splicing)
        self.log: list = []

    # a buffer is ("p", None) for the params or ("s", i)
    def buffers(self):
        out = [("p", None)] if self.params else []
        out += [("s", i) for i in range(len(self.streams))]
        return out

    def get(self, ref):
        return self.params if ref[0] == "p" else self.streams[ref[1]]

    def name(self, ref):
        return "params" if ref[0] == "p" else f"stream{ref[1]}"


def _pos(rng, buf, head_bias=True):
    # the headers (counts, lengths) sit at the front: favour it
    if head_bias and rng.random() < 0.5:
        return rng.randrange(min(len(buf), 24))
    return rng.randrange(len(buf))


def m_flip(rng, c: Case, ref, buf):
    k = rng.choice((1, 1, 2, 3, 8))
    for _ in range(k):
        p = _pos(rng, buf)
        bit = rng.randrange(8)
        buf[p] ^= 1 << bit
    c.log.append(f"flip {k} bit(s) in {c.name(ref)}")


def m_byte(rng, c: Case, ref, buf):
    p = _pos(rng, buf)
    v = rng.choice(INTERESTING_BYTES) if rng.random() < 0.7 else rng.randrange(256)
    c.log.append(f"{c.name(ref)}[{p}] {buf[p]:#x} -> {v:#x}")
    buf[p] = v


def m_truncate(rng, c: Case, ref, buf):
    n = rng.choice((0, rng.randrange(len(buf) + 1), len(buf) - 1, len(buf) // 2, rng.randrange(min(len(buf), 16) + 1)))
    n = max(0, n)
    c.log.append(f"truncate {c.name(ref)} {len(buf)} -> {n}")
    del buf[n:]


def m_extend(rng, c: Case, ref, buf):
    k = rng.choice((1, 2, 7, 64, 1000))
    how = rng.choice(("zeros", "ff", "random", "repeat"))
    ext = {"zeros": bytes(k), "ff": b"\xff" * k, "random": rng.randbytes(k),
           "repeat": (bytes(buf[-8:]) or b"\x01") * (k // 8 + 1)}[how][:k]
    buf += ext
    c.log.append(f"extend {c.name(ref)} by {k} {how} bytes")


def m_delete(rng, c: Case, ref, buf):
    p = _pos(rng, buf)
    k = rng.choice((1, 1, 2, 4, 16, 256))
    c.log.append(f"delete {c.name(ref)}[{p}:{p + k}]")
    del buf[p:p + k]


def m_insert(rng, c: Case, ref, buf):
    p = _pos(rng, buf)
    k = rng.choice((1, 1, 2, 4, 16, 256))
    if buf and rng.random() < 0.5:
        a = rng.randrange(len(buf))
        ins = bytes(buf[a:a + k])
        how = "copy"
    else:
        ins = rng.randbytes(k)
        how = "random"
    buf[p:p] = ins
    c.log.append(f"insert {len(ins)} {how} bytes at {c.name(ref)}[{p}]")


def m_varint(rng, c: Case, ref, buf):
    p = _pos(rng, buf)
    got = _read_varint(buf, p)
    old, end = got if got is not None else (None, p + 1)
    choices = list(INTERESTING_VARINTS) + [c.raw_len, c.raw_len + 1, max(c.raw_len - 1, 0), 2 * c.raw_len + 7,
                                           len(buf), len(buf) + 1]
    if old is not None:
        choices += [old + 1, max(old - 1, 0), old * 2, old * 256, old + 2**32]
    v = rng.choice(choices) % 2**64
    c.log.append(f"varint at {c.name(ref)}[{p}] {old} -> {v}")
    buf[p:end] = _varint(v)


def m_overlong(rng, c: Case, ref, buf):
    p = _pos(rng, buf)
    got = _read_varint(buf, p)
    end = got[1] if got else p + 1
    bad = rng.choice((b"\xff" * 9 + b"\x01", b"\xff" * 10, b"\x80" * 9 + b"\x00", b"\x80\x00", b"\xff" * 9 + b"\x7f",
                      b"\xff" * 12))
    c.log.append(f"bad varint {bad.hex()} at {c.name(ref)}[{p}]")
    buf[p:end] = bad


def m_fill(rng, c: Case, ref, buf):
    p = _pos(rng, buf)
    k = rng.choice((1, 2, 4, 8, 32, 1024))
    v = rng.choice((0, 0xFF, 0x80, 0x7F))
    end = min(len(buf), p + k)
    buf[p:end] = bytes([v]) * (end - p)
    c.log.append(f"fill {c.name(ref)}[{p}:{end}] with {v:#x}")


def m_random_stream(rng, c: Case, ref, buf):
    n = rng.choice((len(buf), 0, 1, 3, rng.randrange(64)))
    buf[:] = rng.randbytes(n)
    c.log.append(f"{c.name(ref)} := {n} random bytes")


BYTE_MUTATIONS = (
    (m_flip, 6), (m_byte, 6), (m_truncate, 3), (m_extend, 2), (m_delete, 2), (m_insert, 2),
    (m_varint, 6), (m_overlong, 1), (m_fill, 2), (m_random_stream, 1),
)


def s_swap(rng, c: Case):
    if len(c.streams) < 2:
        return False
    i, j = rng.sample(range(len(c.streams)), 2)
    c.streams[i], c.streams[j] = c.streams[j], c.streams[i]
    c.log.append(f"swap streams {i} and {j}")
    return True


def s_drop(rng, c: Case):
    if not c.streams:
        return False
    i = rng.randrange(len(c.streams))
    del c.streams[i]
    c.log.append(f"drop stream {i}")
    return True


def s_dup(rng, c: Case):
    if not c.streams:
        return False
    i = rng.randrange(len(c.streams))
    c.streams.insert(rng.randrange(len(c.streams) + 1), bytearray(c.streams[i]))
    c.log.append(f"duplicate stream {i}")
    return True


def s_add(rng, c: Case):
    n = rng.choice((0, 1, 5, 300))
    c.streams.insert(rng.randrange(len(c.streams) + 1), bytearray(rng.randbytes(n)))
    c.log.append(f"insert a stream of {n} random bytes")
    return True


def s_empty(rng, c: Case):
    if not c.streams:
        return False
    i = rng.randrange(len(c.streams))
    c.streams[i] = bytearray()
    c.log.append(f"empty stream {i}")
    return True


def s_splice(rng, c: Case):
    """A stream or the params of another input of the same target: valid on its
    own, inconsistent with the rest (counts that disagree across streams)."""
    others = [o for o in c.pool if o.streams]
    if not others:
        return False
    o = rng.choice(others)
    if rng.random() < 0.25 and o.params:
        c.params = bytearray(o.params)
        c.log.append(f"params from {o.label}")
        return True
    i = rng.randrange(len(o.streams))
    j = min(i, len(c.streams) - 1) if c.streams and rng.random() < 0.8 else rng.randrange(len(c.streams) + 1)
    if j < len(c.streams) and j >= 0 and c.streams:
        c.streams[j] = bytearray(o.streams[i])
    else:
        c.streams.append(bytearray(o.streams[i]))
    c.log.append(f"stream {j} := stream {i} of {o.label}")
    return True


def s_params(rng, c: Case):
    how = rng.choice(("empty", "random", "append"))
    if how == "empty":
        c.params = bytearray()
    elif how == "random":
        c.params = bytearray(rng.randbytes(rng.choice((1, 4, 16, 64))))
    else:
        c.params += rng.randbytes(rng.choice((1, 3)))
    c.log.append(f"params {how}")
    return True


def s_rawlen(rng, c: Case):
    old = c.raw_len
    c.raw_len = rng.choice((0, 1, old - 1, old + 1, old + 7, old * 2, old // 2, old + 4096, 64 * MiB - 1))
    c.raw_len = max(0, c.raw_len)
    c.log.append(f"raw_len {old} -> {c.raw_len}")
    return True


STRUCT_MUTATIONS = ((s_swap, 2), (s_drop, 1), (s_dup, 1), (s_add, 1), (s_empty, 2), (s_splice, 3),
                    (s_params, 1), (s_rawlen, 2))


def _weighted(rng, table):
    total = sum(w for _, w in table)
    x = rng.random() * total
    for f, w in table:
        x -= w
        if x < 0:
            return f
    return table[-1][0]


def mutate_case(rng, c: Case) -> None:
    k = rng.choice((1, 1, 1, 2, 2, 3))
    for _ in range(k):
        if rng.random() < 0.2:
            if _weighted(rng, STRUCT_MUTATIONS)(rng, c):
                continue
        refs = [r for r in c.buffers() if len(c.get(r))]
        if not refs:
            s_add(rng, c)
            continue
        # the params and the first (meta) stream hold most of the structure; but
        # params of one version byte (csv) would take every mutation there
        weights = []
        first_stream = True
        for r in refs:
            if r[0] == "p":
                weights.append(0.3 if len(c.params) > 2 else 0.03)
            elif first_stream:
                weights.append(0.4)
                first_stream = False
            else:
                weights.append(0.6 / max(1, len(refs) - 1))
        ref = rng.choices(refs, weights)[0]
        buf = c.get(ref)
        _weighted(rng, BYTE_MUTATIONS)(rng, c, ref, buf)


def mutate_view(rng, c: Case, view) -> None:
    split, join = view
    try:
        logical, vparams = split([bytes(s) for s in c.streams], bytes(c.params))
    except Exception:  # noqa: BLE001 - an input the view does not apply to
        mutate_case(rng, c)
        return
    sub = Case(Input("view", logical, vparams, c.raw_len), [])
    for o in c.pool:  # splice logical streams of the other inputs
        try:
            ol, op = split([bytes(s) for s in o.streams], bytes(o.params))
        except Exception:  # noqa: BLE001
            continue
        sub.pool.append(Input(o.label, ol, op, o.raw_len))
    mutate_case(rng, sub)
    streams, params = join([bytes(s) for s in sub.streams], bytes(sub.params))
    c.streams = [bytearray(s) for s in streams]
    c.params = bytearray(params)
    c.raw_len = sub.raw_len
    c.log.append("view: " + "; ".join(sub.log))


# ------------------------------------------------------------ frame mutations


def _frame_structural(rng, c: Case) -> bool:
    """Parse the frame, mutate one data block's transform streams (after
    entropy decoding) / params / raw_len as a transform case, and write the
    block back with valid CRCs, codec none: the decoder then gets past every
    header check and the transform sees the hostile streams."""
    from cobol.format.frame import (DataBlock, StreamEntry, encode_data_block, iter_frame_records)
    from cobol.registry import get_codec
    blob = bytes(c.streams[0])
    try:
        recs = list(iter_frame_records(blob))
    except Exception:
        return False
    blocks = [(h, r) for h, r in recs if isinstance(r, DataBlock)]
    if not blocks:
        return False
    h, b = rng.choice(blocks)
    try:
        streams = [get_codec(e.codec).decode(bytes(p), e.decoded_len) for e, p in zip(b.streams, b.payloads)]
    except Exception:
        return False
    sub = Case(Input("sub", streams, b.params, b.raw_len), [])
    mutate_case(rng, sub)
    raw_len = min(sub.raw_len, h.block_size)
    streams = [bytes(s) for s in sub.streams]
    nb = DataBlock(seq=b.seq, raw_len=raw_len, transform=b.transform, params=bytes(sub.params)[: 1 << 20],
                   streams=[StreamEntry(0, len(s), len(s)) for s in streams], checksum=bytes(b.checksum),
                   payloads=streams)
    c.streams[0][b.offset:b.offset + b.size] = encode_data_block(nb)
    c.log.append(f"block {b.seq} rewritten with valid CRCs: " + "; ".join(sub.log))
    if raw_len != b.raw_len:
        # keep the end marker's totals right, so the block is decoded at all
        from cobol.format.frame import EndRecord, encode_end_record
        for hh, r in recs:
            if isinstance(r, EndRecord) and r.offset > b.offset:
                delta = len(c.streams[0]) - len(blob)
                at = r.offset + delta
                end_len = len(encode_end_record(r.n_blocks, r.total_raw))
                c.streams[0][at:at + end_len] = encode_end_record(r.n_blocks, r.total_raw - b.raw_len + raw_len)
                break
    return True


def mutate_frame(rng, c: Case) -> None:
    if rng.random() < 0.5 and _frame_structural(rng, c):
        return
    k = rng.choice((1, 1, 2, 3))
    buf = c.streams[0]
    for _ in range(k):
        if not buf:
            buf += rng.randbytes(8)
        _weighted(rng, BYTE_MUTATIONS)(rng, c, ("s", 0), buf)
    if rng.random() < 0.1:
        c.streams[0] += bytes(c.streams[0])  # a second frame behind the first
        c.log.append("frame doubled")


# ======================================================================= child


def _case_rng(seed: int, target: str, label: str, index: int) -> random.Random:
    h = hashlib.sha256(f"{seed}|{target}|{label}|{index}".encode()).digest()
    return random.Random(int.from_bytes(h[:8], "little"))


def _vm_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def _set_as_limit(nbytes):
    import resource
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if nbytes is None:
        resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
        return
    if hard != resource.RLIM_INFINITY:
        nbytes = min(nbytes, hard)
    resource.setrlimit(resource.RLIMIT_AS, (nbytes, hard))


def _tb_tail(exc, n=4) -> list:
    tb = traceback.extract_tb(exc.__traceback__)
    return [f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in tb[-n:]]


def _masked(exc):
    """The non-CobolError hidden behind a CobolError (``raise ... from None``
    keeps ``__context__``), when a decoder's own net caught it."""
    from cobol.errors import CobolError
    deliberate = ()
    try:
        import zstandard
        deliberate = (zstandard.ZstdError,)  # the codec's own error, converted on purpose
    except ImportError:
        pass
    careless = (IndexError, TypeError, OverflowError, MemoryError, ZeroDivisionError, AttributeError,
                AssertionError, RecursionError, BufferError, struct.error)
    seen = exc.__context__
    while seen is not None:
        if not isinstance(seen, (CobolError,) + deliberate):
            # a lookup miss or a parse error turned into a CobolError on purpose
            # (``except KeyError: raise UnsupportedError``) is validation; a
            # message naming the caught type is a catch-all net
            if isinstance(seen, careless) or f"{type(seen).__name__}:" in str(exc):
                return seen
        seen = seen.__context__
    return None


#: a case may grow the child's address space by MEM_SLACK + MEM_FACTOR x (raw
#: length + stream bytes); ``--tight`` lowers both to find allocations out of
#: proportion with small inputs
MEM_SLACK = int(os.environ.get("COBOL_FUZZ_MEM_SLACK", 256 * MiB))
MEM_FACTOR = int(os.environ.get("COBOL_FUZZ_MEM_FACTOR", 24))


def run_case(target: Target, inp: Input, pool: list, seed: int, index: int, mem_budget: int | None,
             as_limit: bool = True) -> dict:
    """Mutate and decode one case; returns a result dict (kind ok/net/fail/slow)."""
    from cobol.errors import CobolError
    rng = _case_rng(seed, target.name, inp.label, index)
    c = Case(inp, pool)
    if target.frame:
        mutate_frame(rng, c)
    elif target.view is not None and rng.random() < 0.6:
        mutate_view(rng, c, target.view)
    else:
        mutate_case(rng, c)
    streams = [bytes(s) for s in c.streams]
    params = bytes(c.params)
    res = {"case": f"{target.name}|{inp.label}|{seed}|{index}", "mutations": c.log, "kind": "ok"}
    size = sum(len(s) for s in streams) + len(params)
    limit = None
    if mem_budget is not None and as_limit:
        # the case's fair share: a multiple of what it holds and claims, capped
        allowed = min(mem_budget, MEM_SLACK + MEM_FACTOR * (max(inp.raw_len, c.raw_len) + size))
        limit = _vm_bytes() + allowed
    t0 = time.perf_counter()
    try:
        if limit is not None:
            _set_as_limit(limit)
        try:
            out = target.decode(streams, params, c.raw_len)
        finally:
            if limit is not None:
                _set_as_limit(None)
    except CobolError as e:
        inner = _masked(e)
        res["error"] = f"{type(e).__name__}: {str(e)[:200]}"
        if inner is not None:
            res["kind"] = "net"
            res["exc"] = type(inner).__name__
            res["where"] = _tb_tail(inner)
            res["error"] = f"{type(inner).__name__}: {str(inner)[:200]} (as {type(e).__name__})"
    except MemoryError as e:
        res.update(kind="fail", exc="MemoryError", error=f"MemoryError: {str(e)[:200]}", where=_tb_tail(e),
                   limit=limit)
    except Exception as e:  # noqa: BLE001 - the point of the harness
        res.update(kind="fail", exc=type(e).__name__, error=f"{type(e).__name__}: {str(e)[:300]}", where=_tb_tail(e),
                   engine_net=type(e).__name__ in ENGINE_NET or isinstance(e, (ValueError, ArithmeticError)))
    else:
        if out is not None and target.name in _TRANSFORM_NAMES:
            n = len(out) if hasattr(out, "__len__") else -1
            if n != c.raw_len:
                res["note"] = f"returned {n} bytes for raw_len {c.raw_len}"
    res["seconds"] = round(time.perf_counter() - t0, 4)
    return res


_TRANSFORM_NAMES = ("raw", "numeric", "csv", "json", "xml", "html", "l1")


def child_main(spec: dict) -> int:
    """Run cases; stdout lines: ``S <case>`` before each, ``R <json>`` for each
    result worth reporting, ``I <round>`` after each round, ``D <json>`` at the
    end. Flushed per line. Rounds go over every input of every target, so a
    time-bounded run covers all of them evenly."""
    import signal
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    targets = all_targets()
    out = sys.stdout
    stats = {}

    def emit(tag, obj):
        out.write(f"{tag} {json.dumps(obj) if not isinstance(obj, str) else obj}\n")
        out.flush()

    t_end = time.monotonic() + spec.get("seconds", 1e9)
    resume = spec.get("resume")  # the case that killed the previous child: skip up to and past it
    first_round = spec.get("start", 0)
    work = []
    for tname in spec["targets"]:
        target = targets[tname]
        try:
            inputs = target.make_inputs(spec.get("sample_limit"))
        except Exception as e:  # noqa: BLE001
            emit("R", {"case": f"{tname}|*|-|-", "kind": "setup", "error": f"{type(e).__name__}: {e}",
                       "where": _tb_tail(e, 8)})
            continue
        if spec.get("max_inputs"):
            inputs = inputs[: spec["max_inputs"]]
        if resume is None and first_round == 0:
            # the unmutated inputs must decode, and to the data they came from
            for inp in inputs:
                if tname.startswith("_selftest"):
                    break
                try:
                    back = target.decode([bytes(s) for s in inp.streams], bytes(inp.params), inp.raw_len)
                    if inp.data and back is not None and bytes(back) != inp.data:
                        emit("R", {"case": f"{tname}|{inp.label}|-|-", "kind": "fail",
                                   "error": "valid input decodes wrong"})
                except Exception as e:  # noqa: BLE001
                    emit("R", {"case": f"{tname}|{inp.label}|-|-", "kind": "fail",
                               "error": f"valid input does not decode: {type(e).__name__}: {e}",
                               "where": _tb_tail(e)})
        stats[tname] = {"cases": 0, "inputs": len(inputs), "seconds": 0.0, "max_seconds": 0.0, "max_case": ""}
        work.append((target, inputs))
    slow = spec.get("slow", 2.0)
    tally = spec.get("tally", False)
    last_stats = time.monotonic()
    for index in range(first_round, spec["cases"]):
        if time.monotonic() > t_end:
            break
        for target, inputs in work:
            st = stats[target.name]
            for inp in inputs:
                name = f"{target.name}|{inp.label}|{spec['seed']}|{index}"
                if resume is not None:
                    if name == resume:
                        resume = None
                    continue
                emit("S", name)
                res = run_case(target, inp, inputs, spec["seed"], index, spec.get("mem_budget"))
                st["cases"] += 1
                st["seconds"] += res["seconds"]
                if tally:
                    key = "returned" if "error" not in res else re.sub(r"\d+", "N", res["error"])[:90]
                    errs = st.setdefault("errors", {})
                    errs[key] = errs.get(key, 0) + 1
                if res["seconds"] > st["max_seconds"]:
                    st["max_seconds"], st["max_case"] = res["seconds"], name
                if res["kind"] == "ok" and res["seconds"] > slow:
                    res["kind"] = "slow"
                if res["kind"] != "ok" or "note" in res:
                    emit("R", res)
        emit("I", str(index + 1))
        if time.monotonic() - last_stats > 1.0:
            emit("T", stats)  # so that the counts survive a crash of this child
            last_stats = time.monotonic()
    emit("T", stats)
    emit("D", "")
    return 0


# ====================================================================== driver


@dataclass
class Report:
    failures: list = field(default_factory=list)  # crash, hang, fail, setup
    nets: list = field(default_factory=list)
    slow: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    restarts: int = 0

    def add(self, r: dict):
        k = r.get("kind")
        if k == "net":
            self.nets.append(r)
        elif k == "slow":
            self.slow.append(r)
        elif k == "ok":
            self.notes.append(r)
        else:
            self.failures.append(r)

    def merge_stats(self, st: dict):
        for t, s in st.items():
            d = self.stats.setdefault(t, {"cases": 0, "inputs": s["inputs"], "seconds": 0.0, "max_seconds": 0.0,
                                          "max_case": ""})
            d["cases"] += s["cases"]
            d["inputs"] = max(d["inputs"], s["inputs"])
            d["seconds"] += s["seconds"]
            if s["max_seconds"] > d["max_seconds"]:
                d["max_seconds"], d["max_case"] = s["max_seconds"], s["max_case"]
            for k, n in s.get("errors", {}).items():
                d.setdefault("errors", {})[k] = d.setdefault("errors", {}).get(k, 0) + n

    @staticmethod
    def signature(r: dict) -> str:
        where = (r.get("where") or ["?"])[-1]
        return f"{r['case'].split('|')[0]} {r['kind']} {r.get('exc', r.get('error', '')[:40])} @ {where}"

    def grouped(self, items):
        groups = {}
        for r in items:
            groups.setdefault(self.signature(r), []).append(r)
        return groups

    def text(self) -> str:
        lines = []
        total = sum(s["cases"] for s in self.stats.values())
        lines.append(f"{total} cases, {len(self.failures)} failures, {len(self.nets)} caught by a decoder's own net, "
                     f"{len(self.slow)} slow, {self.restarts} child restarts")
        for t, s in sorted(self.stats.items()):
            lines.append(f"  {t:16s} {s['inputs']:3d} inputs {s['cases']:8d} cases {s['seconds']:8.1f} s decoding, "
                         f"slowest {s['max_seconds']:.3f} s ({s['max_case']})")
        for t, s in sorted(self.stats.items()):
            if s.get("errors"):
                lines.append(f"\n{t}: what the decoder said (top 25 of {len(s['errors'])})")
                for k, n in sorted(s["errors"].items(), key=lambda kv: -kv[1])[:25]:
                    lines.append(f"  {n:8d}  {k}")
        for title, items in (("FAILURES", self.failures), ("NET (validate before use)", self.nets),
                             ("SLOW", self.slow), ("NOTES", self.notes)):
            if not items:
                continue
            lines.append(f"\n{title}:")
            for sig, rs in sorted(self.grouped(items).items(), key=lambda kv: -len(kv[1])):
                r = rs[0]
                lines.append(f"  [{len(rs)}x] {sig}")
                lines.append(f"      repro: --repro '{r['case']}'")
                lines.append(f"      {r.get('error', '')[:300]}")
                if r.get("mutations"):
                    lines.append(f"      mutations: {'; '.join(r['mutations'])[:400]}")
                if r.get("where"):
                    lines.append(f"      where: {' <- '.join(reversed(r['where']))}")
                if r.get("note"):
                    lines.append(f"      {r['note']}")
        return "\n".join(lines)


def _child_env(boundscheck: bool) -> dict:
    env = dict(os.environ)
    src = str(ROOT / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["PYTHONFAULTHANDLER"] = "1"
    env.setdefault("COBOL_BACKEND", "cpu")
    if boundscheck:
        env["NUMBA_BOUNDSCHECK"] = "1"
        # a separate cache: compiled-with-checks code must not replace the normal cache
        env["NUMBA_CACHE_DIR"] = str(Path(tempfile.gettempdir()) / "cobol-fuzz-numba-boundscheck")
    return env


def run_campaign(targets, cases: int, seed: int = 1, seconds: float | None = None, case_timeout: float = 20.0,
                 mem_budget: int = 2048 * MiB, sample_limit: int | None = None, boundscheck: bool = False,
                 slow: float = 2.0, max_inputs: int | None = None, startup_timeout: float = 900.0,
                 progress=None, tally: bool = False) -> Report:
    """Run ``cases`` rounds (one mutation of every input of every target each)
    in child processes; after a crash or a hang, a new child resumes after the
    case that caused it."""
    rep = Report()
    deadline = time.monotonic() + seconds if seconds else None
    spec = {"targets": list(targets), "cases": cases, "seed": seed, "start": 0, "mem_budget": mem_budget,
            "sample_limit": sample_limit, "slow": slow, "max_inputs": max_inputs, "tally": tally}
    while True:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            spec["seconds"] = left
        proc = subprocess.Popen([sys.executable, "-u", str(Path(__file__).resolve()), "--child", json.dumps(spec)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_child_env(boundscheck),
                                cwd=str(ROOT))
        current = None
        child_stats = {}
        started = {}
        done = hung = False
        buf = b""
        last = time.monotonic()
        limit = startup_timeout
        err_tail = []
        open_fds = {proc.stdout.fileno(), proc.stderr.fileno()}
        while open_fds:
            ready, _, _ = select.select(list(open_fds), [], [], 1.0)
            now = time.monotonic()
            for fd in ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    open_fds.discard(fd)
                    continue
                if fd == proc.stderr.fileno():
                    err_tail = (err_tail + chunk.decode(errors="replace").splitlines())[-30:]
                    continue
                buf += chunk
                *lines, buf = buf.split(b"\n")
                for ln in lines:
                    tag, _, rest = ln.decode(errors="replace").partition(" ")
                    if tag == "S":
                        current = rest
                        started[rest.split("|", 1)[0]] = started.get(rest.split("|", 1)[0], 0) + 1
                        last = now
                        limit = case_timeout
                    elif tag == "R":
                        rep.add(json.loads(rest))
                    elif tag == "I":
                        spec["start"] = int(rest)
                        spec.pop("resume", None)
                        last = now
                        if progress:
                            progress(int(rest))
                    elif tag == "T":
                        child_stats = json.loads(rest)
                    elif tag == "D":
                        done = True
            if not done and now - last > limit:
                proc.kill()
                hung = True
                break
        rc = proc.wait()
        proc.stdout.close()
        proc.stderr.close()
        for t, n in started.items():  # cases started, counted here: a crash loses the child's own counts
            child_stats.setdefault(t, {"cases": 0, "inputs": 0, "seconds": 0.0, "max_seconds": 0.0, "max_case": ""})
            child_stats[t]["cases"] = n
        rep.merge_stats(child_stats)
        if done:
            break
        rep.restarts += 1
        if hung:
            rep.failures.append({"case": current or "startup", "kind": "hang", "exc": "hang",
                                 "error": f"no progress for {limit:.0f} s"})
        else:
            rep.failures.append({"case": current or "startup", "kind": "crash", "exc": f"exit {rc}",
                                 "error": f"child died with {rc}: " + " | ".join(err_tail[-8:])[:1500]})
        if current is None:
            break  # died before any case: nothing to resume
        spec["resume"] = current
        spec["start"] = int(current.split("|")[3])
    return rep


def repro(name: str, mem_budget: int | None = 2048 * MiB, verbose: bool = True) -> dict:
    tname, label, seed, index = name.split("|")
    target = all_targets()[tname]
    inputs = target.make_inputs(None)
    if not any(i.label == label for i in inputs):
        for lim in (4096, 8192, 16384, 32768):
            inputs = target.make_inputs(lim)
            if any(i.label == label for i in inputs):
                break
    inp = next(i for i in inputs if i.label == label)
    res = run_case(target, inp, inputs, int(seed), int(index), mem_budget)
    if verbose:
        print(json.dumps(res, indent=2))
    return res


def numeric_bomb_frame(raw_len: int) -> bytes:
    """A valid frame of ~150 bytes whose one block decodes to ``raw_len`` zero
    bytes through the numeric transform (int8, int codec PACKED, every 512-value
    chunk CONST of width 0). Not a decoding bug: decoding it is correct, but the
    decoder holds ~24 x raw_len bytes at its peak (uint64 codes, deltas, values),
    and frames may have 1 GiB blocks by default. ``--bomb MIB`` measures it."""
    from cobol.entropy import entropy_code
    from cobol.format import checksum as ck
    from cobol.format.frame import (DataBlock, FrameHeader, StreamEntry, encode_data_block, encode_end_record,
                                    encode_frame_header)
    from cobol.format.wire import put_varint
    from cobol.layers import intcodec
    vals = bytearray([intcodec.PACKED])
    for v in (raw_len, 0, 1):  # count, zigzag(base), gcd
        put_varint(vals, v)
    chunk = intcodec.CHUNK
    nchunks = (raw_len + chunk - 1) // chunk
    for v in (raw_len, chunk, 2 * nchunks):  # bit-pack: count, chunk, header bytes
        put_varint(vals, v)
    vals += bytes(2 * nchunks)  # (strategy CONST, width 0) per chunk
    params = bytearray([1, 0, 0, 0, 0])  # version, int8, method INT, head 0, flags 0
    put_varint(params, raw_len)
    streams = [bytes(vals), b"", b"", b""]
    coded = [entropy_code(x, 19) for x in streams]
    block = DataBlock(seq=0, raw_len=raw_len, transform=10, params=bytes(params),
                      streams=[StreamEntry(c, len(d), len(x)) for (c, d), x in zip(coded, streams)],
                      checksum=ck.compute(ck.CRC32, bytes(raw_len)), payloads=[d for _, d in coded])
    return (encode_frame_header(FrameHeader(ck.CRC32, max(raw_len, 1))) + encode_data_block(block)
            + encode_end_record(1, raw_len))


def _bomb_child(path: str) -> None:
    import resource
    import cobol
    blob = Path(path).read_bytes()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    out = cobol.decompress(blob, threads=1)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{len(blob)}-byte frame -> {len(out) / MiB:.0f} MiB in {time.perf_counter() - t:.2f} s; "
          f"peak RSS {peak >> 10} MiB, {(peak - before) * 1024 / len(out):.1f} x the output above the import")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", default=None, help="comma-separated (default: every target but the "
                    "selftests and the OpenCL ones; --list names them)")
    ap.add_argument("--cases", type=int, default=10**9, help="mutations per input (default: until --seconds)")
    ap.add_argument("--seconds", type=float, default=None)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--case-timeout", type=float, default=20.0)
    ap.add_argument("--mem-budget-mib", type=int, default=2048)
    ap.add_argument("--sample-limit", type=int, default=None, help="cut sample files to this many bytes")
    ap.add_argument("--max-inputs", type=int, default=None)
    ap.add_argument("--slow", type=float, default=2.0)
    ap.add_argument("--boundscheck", action="store_true")
    ap.add_argument("--tight", action="store_true", help="memory budget per case 16 MiB + 8 x its sizes")
    ap.add_argument("--tally", action="store_true", help="count the decoders' error messages (how deep cases get)")
    ap.add_argument("--json", help="write the report as JSON here")
    ap.add_argument("--repro")
    ap.add_argument("--bomb", type=int, metavar="MIB", help="decode numeric_bomb_frame(MIB) in a fresh "
                    "process and print its peak memory")
    ap.add_argument("--bomb-child", help=argparse.SUPPRESS)
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--child")
    a = ap.parse_args(argv)
    if a.child:
        return child_main(json.loads(a.child))
    if a.bomb_child:
        _bomb_child(a.bomb_child)
        return 0
    if a.bomb:
        path = Path(tempfile.gettempdir()) / f"cobol-bomb-{os.getpid()}.cobl"
        path.write_bytes(numeric_bomb_frame(a.bomb * MiB))
        try:
            # its own interpreter: the peak is measured against what it held before decoding
            subprocess.run([sys.executable, str(Path(__file__).resolve()), "--bomb-child", str(path)],
                           env=_child_env(False), check=True)
        finally:
            path.unlink()
        return 0
    if a.repro:
        repro(a.repro, a.mem_budget_mib * MiB)
        return 0
    if a.list:
        for name, t in all_targets().items():
            print(name, t.note)
        return 0
    if a.cases == 10**9 and a.seconds is None:
        a.seconds = 60
    targets = [t for t in a.targets.split(",") if t] if a.targets else default_targets()
    unknown = set(targets) - set(all_targets())
    if unknown:
        ap.error(f"unknown targets {sorted(unknown)}")
    if a.tight:
        os.environ["COBOL_FUZZ_MEM_SLACK"] = str(16 * MiB)
        os.environ["COBOL_FUZZ_MEM_FACTOR"] = "8"
    t0 = time.monotonic()

    def progress(n):
        if n % 10 == 0:
            print(f"[{time.monotonic() - t0:6.0f}s] {n} rounds", file=sys.stderr, flush=True)

    rep = run_campaign(targets, a.cases, a.seed, a.seconds, a.case_timeout, a.mem_budget_mib * MiB,
                       a.sample_limit, a.boundscheck, a.slow, a.max_inputs, progress=progress, tally=a.tally)
    print(rep.text())
    if a.json:
        Path(a.json).write_text(json.dumps({k: v for k, v in rep.__dict__.items() if not k.startswith("_")},
                                           indent=1, default=str))
    return 1 if rep.failures else 0


if __name__ == "__main__":
    sys.exit(main())
