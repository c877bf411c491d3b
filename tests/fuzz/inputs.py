"""Valid data to build inputs from: small synthetic data of each format, and the samples.

Built deterministically (fixed seeds) inside the child.
"""

from __future__ import annotations

import json
import random

from .common import SAMPLES


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
    # an SBOM's dependency graph: purls of 64+ bytes repeat as string values, so
    # the block carries string references (json params version 3)
    purls = [f"pkg:cargo/registry+https://github.com/rust-lang/crates.io-index/crate-{i}@{i}.{i % 4}.0"
             for i in range(12)]
    deps = [{"bom-ref": p, "n": i} for i, p in enumerate(purls)]
    deps += [{"ref": rng.choice(purls), "dependsOn": rng.sample(purls, 2)} for _ in range(20)]
    out.append(("syn-sbom-lines", "".join(json.dumps(e) + "\n" for e in deps).encode()))
    # API descriptions: the strings are prose, so the text groups are coded by
    # the L1 word layer (json params flag 0x80, a words stream)
    words = ("the instance request returns a value for this parameter and of to is in when you specify "
             "an account that must be with name not by on default if or are").split()
    docs = [{"shape": f"Describe{rng.choice(['Instances', 'Volumes'])}{i}",
             "documentation": "<p>The " + " ".join(rng.choice(words) for _ in range(rng.randint(8, 30))) + ".</p>"}
            for i in range(120)]
    out.append(("syn-docs-lines", "".join(json.dumps(e) + "\n" for e in docs).encode()))
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
