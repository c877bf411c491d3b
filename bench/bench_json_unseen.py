"""JSON on files the layer was not tuned on: cobol -3/-19 against zstd -3/-19
and brotli -11, and the diagnostic of issue 13 ("transform streams vs the raw
block, same coder").

Usage:
  PYTHONPATH=src .venv/bin/python bench/bench_json_unseen.py --build DIR   # assemble the set
  PYTHONPATH=src .venv/bin/python bench/bench_json_unseen.py [FILES or DIRS...]  (default DIR .bench/json_unseen)

``--build`` assembles the set from JSON documents installed on the dev machine
(package data, SBOMs, SDK files; whatever of it exists), outside the dev corpus:

  webhook-style JSON lines (records that repeat whole sub-objects):
    sbom-events.jsonl       one "component published" event per line, per SBOM found: the
                            BOM's metadata object is pasted into every event (the
                            way a webhook pastes the repository and the sender)
    cdx-components.jsonl    the jetty SBOM's components, one per line
    aws-endpoints.jsonl     botocore endpoints.json, one line per (partition, service)
                            with the partition's defaults pasted in
    aws-examples.jsonl      every botocore examples-1.json example, one per line
    sbom-dependency-events.jsonl  one event per dependency edge of the jetty SBOM (first
                            500): metadata, the dependant and the dependency pasted whole
    aws-endpoint-events.jsonl  one event per (service, region) of botocore's first
                            partition (first 800), the partition object pasted whole
  string-heavy JSON: aws-sagemaker-api.json (API descriptions), sam-docs.json
    (property docs), spdx-licenses.json (packaging's SPDX license list)
  OpenAPI / discovery: swagger-petstore.json (jsonschema's Swagger fixture),
    bigquery-discovery.json

Columns (sizes in bytes of whole-file frames / anchors; ``x`` = anchor / ours,
> 1 = ours smaller):
  c3, c19        cobol.compress at level 3 and 19 (the planner: transform or plain)
  z3, z19, b11   zstd -3, zstd -19, brotli -11 of the whole file
  tx/raw z3|z19  the diagnostic: per block, the json transform's streams (plus
                 params) each coded with zstd at that level, summed, over zstd of
                 the raw block at that level (< 1: the transform helps)
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import sys

import zstandard

import cobol
from cobol.engine import DEFAULT_BLOCK_SIZE, split_blocks
from cobol.layers.l2_json import Layer2Encoder

DEFAULT_DIR = os.path.join(os.path.dirname(__file__), "..", ".bench", "json_unseen")
SITE = "/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages"
VENV = os.path.join(os.path.dirname(__file__), "..", ".venv", "lib", "python3.11", "site-packages")
JETTY_SBOM = ("/usr/lib/google-cloud-sdk/platform/google_appengine/google/appengine/tools/java/jetty12/"
              "jetty-home/jetty-home-12.0.20-cyclonedx.json")


def _load(path):
    try:
        with open(path, "rb") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _lines(records) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


def build(out_dir: str) -> list[str]:
    os.makedirs(out_dir, exist_ok=True)
    made = {}
    sboms = sorted(set(glob.glob(f"{SITE}/*/sboms/*.json") + glob.glob("/work/main/.venv/lib/python3.11/"
                                                                          "site-packages/*/sboms/*.json")
                       + [JETTY_SBOM]))
    events = []
    for p in sboms:
        d = _load(p)
        if not isinstance(d, dict) or "components" not in d:
            continue
        for c in d["components"]:
            events.append({"action": "published", "bom": {"serialNumber": d.get("serialNumber"),
                                                          "specVersion": d.get("specVersion"),
                                                          "metadata": d.get("metadata")},
                           "component": c})
    if events:
        made["sbom-events.jsonl"] = _lines(events)
    d = _load(JETTY_SBOM)
    if d:
        made["cdx-components.jsonl"] = _lines(d["components"])
    if d:
        # one event per dependency edge: both components pasted whole (a component is
        # the dependant in one event and the dependency in others: same object, two paths)
        comps = {c.get("bom-ref"): c for c in d["components"]}
        edges = [(dep["ref"], to) for dep in d.get("dependencies", []) for to in dep.get("dependsOn", [])]
        made["sbom-dependency-events.jsonl"] = _lines(
            {"action": "dependency_added", "bom": {"serialNumber": d.get("serialNumber"), "metadata": d.get("metadata")},
             "component": comps.get(a, {"bom-ref": a}), "dependency": comps.get(b, {"bom-ref": b})}
            for a, b in edges[:500])
    d = _load(f"{SITE}/botocore/data/endpoints.json")
    if d:
        # one event per (service, region) endpoint of the first partition, the partition
        # object (regions, defaults) pasted into each, as a webhook pastes the repository
        p = d["partitions"][0]
        part = {k: v for k, v in p.items() if k != "services"}
        made["aws-endpoint-events.jsonl"] = _lines(
            [{"event": "endpoint", "service": name, "region": region, "endpoint": ep, "partition": part}
             for name, body in p["services"].items() for region, ep in body.get("endpoints", {}).items()][:800])
        made["aws-endpoints.jsonl"] = _lines(
            {"partition": p["partition"], "defaults": p.get("defaults"), "service": name, **body}
            for p in d["partitions"] for name, body in p["services"].items())
    ex = []
    for p in sorted(glob.glob(f"{SITE}/botocore/data/*/*/examples-1.json")):
        d = _load(p)
        for op, items in (d or {}).get("examples", {}).items():
            for it in items:
                ex.append({"service": p.split("/")[-3], "operation": op, **it})
    if ex:
        made["aws-examples.jsonl"] = _lines(ex)
    for name, src in (("aws-sagemaker-api.json", "/usr/lib/google-cloud-sdk/lib/third_party/botocore/data/"
                                                 "sagemaker/2017-07-24/service-2.json"),
                      ("sam-docs.json", f"{SITE}/samtranslator/internal/schema_source/sam-docs.json"),
                      ("swagger-petstore.json", f"{SITE}/jsonschema/benchmarks/issue232/issue.json"),
                      ("bigquery-discovery.json", "/usr/lib/google-cloud-sdk/platform/bq/discovery_next/"
                                                  "bigquery.json")):
        if os.path.exists(src):
            made[name] = open(src, "rb").read()
    try:
        from packaging.licenses import _spdx
        made["spdx-licenses.json"] = json.dumps({"licenses": _spdx.LICENSES, "exceptions": _spdx.EXCEPTIONS},
                                                indent=2).encode()
    except ImportError:
        pass
    paths = []
    for name, data in made.items():
        p = os.path.join(out_dir, name)
        with open(p, "wb") as f:
            f.write(data)
        paths.append(p)
    return paths


def diagnostic(data: bytes, level: int) -> float:
    """Sum over blocks of zstd(level) of each json stream (+ params) / zstd(level) of the raw blocks."""
    cctx = zstandard.ZstdCompressor(level=level)
    tx = raw = 0
    for a, b in split_blocks(data, DEFAULT_BLOCK_SIZE):
        block = data[a:b]
        enc = Layer2Encoder(group_text=level >= 6).encode(block)
        tx += len(enc.params) + sum(len(cctx.compress(bytes(s))) for s in enc.streams)
        raw += len(cctx.compress(block))
    return tx / raw


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*")
    ap.add_argument("--build", metavar="DIR", help="assemble the unseen set into DIR and exit")
    a = ap.parse_args(argv)
    if a.build:
        for p in build(a.build):
            print(f"{os.path.getsize(p):10d} {p}")
        return 0
    files = []
    for f in a.files or [DEFAULT_DIR]:
        files += sorted(glob.glob(os.path.join(f, "*"))) if os.path.isdir(f) else [f]
    if not files:
        print("no input files (run with --build DIR first)", file=sys.stderr)
        return 1
    import brotli
    print(f"{'file':26s} {'MB':>5s} {'c3':>8s} {'c19':>8s} {'z3':>8s} {'z19':>8s} {'b11':>8s} "
          f"{'c3/z3':>6s} {'c3/z19':>6s} {'c19/z19':>7s} {'c19/b11':>7s} {'tx/raw z3':>9s} {'tx/raw z19':>10s}")
    cols = {k: [] for k in ("c3z3", "c3z19", "c19z19", "c19b11", "d3", "d19")}
    for path in files:
        data = open(path, "rb").read()
        c3 = cobol.compress(data, level=3, threads=1)
        assert cobol.decompress(c3, threads=1) == data
        c19 = cobol.compress(data, level=19, threads=1)
        assert cobol.decompress(c19, threads=1) == data
        z3 = len(zstandard.ZstdCompressor(level=3).compress(data))
        z19 = len(zstandard.ZstdCompressor(level=19).compress(data))
        b11 = len(brotli.compress(data, quality=11))
        row = {"c3z3": z3 / len(c3), "c3z19": z19 / len(c3), "c19z19": z19 / len(c19), "c19b11": b11 / len(c19),
               "d3": diagnostic(data, 3), "d19": diagnostic(data, 19)}
        for k, v in row.items():
            cols[k].append(v)
        print(f"{os.path.basename(path)[:26]:26s} {len(data) / 1e6:5.2f} {len(c3):8d} {len(c19):8d} {z3:8d} "
              f"{z19:8d} {b11:8d} {row['c3z3']:6.3f} {row['c3z19']:6.3f} {row['c19z19']:7.3f} {row['c19b11']:7.3f} "
              f"{row['d3']:9.3f} {row['d19']:10.3f}", flush=True)

    def gm(v):
        return math.exp(sum(math.log(x) for x in v) / len(v))
    print(f"{'geometric mean':26s} {'':5s} {'':8s} {'':8s} {'':8s} {'':8s} {'':8s} {gm(cols['c3z3']):6.3f} "
          f"{gm(cols['c3z19']):6.3f} {gm(cols['c19z19']):7.3f} {gm(cols['c19b11']):7.3f} {gm(cols['d3']):9.3f} "
          f"{gm(cols['d19']):10.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
