"""CSV report: one row per run, layer, stream, block or bottleneck, told apart by ``kind``.

All rows share one header (:data:`COLUMNS`); a field that does not apply to a
kind is empty. Nested figures (nesting statistics, per-layer times of a block)
are JSON text in the ``details`` column.
"""

from __future__ import annotations

import csv
import io
import json

from ..model import Profile

COLUMNS = (
    "kind", "op", "name", "parent", "stream", "transform", "seq", "fmt", "codec", "calls", "wall_s", "cpu_s",
    "bytes_in", "bytes_out", "ratio", "throughput_mb_s", "entropy_in_bits", "entropy_out_bits", "saved_bytes",
    "time_share", "savings_share", "output_share", "dict_size", "dict_hits", "dict_misses", "dict_hit_rate",
    "severity", "severity_name", "recommendation", "details",
)


def _rows(d: dict):
    for r in d.get("runs", []):
        yield {"kind": "run", "op": r["op"], "name": r["op"], "calls": r["blocks"], **_pick(r),
               "details": json.dumps({k: r[k] for k in ("rss_start_bytes", "rss_end_bytes", "rss_peak_bytes",
                                                       "rss_peak_growth_bytes")})}
    for r in d.get("layers", []):
        yield {"kind": "layer", "name": r["layer"], **_pick(r),
               "details": json.dumps({"nesting": r["nesting"], "extra": r["extra"]}) if r["nesting"] or r["extra"] else ""}
    for r in d.get("streams", []):
        yield {"kind": "stream", "op": "compress", "name": r["name"], "calls": r["blocks"], **_pick(r),
               "details": json.dumps({"layers_wall_s": r["layers_wall_s"], "codecs": r["codecs"]})}
    for b in d.get("blocks", []):
        yield {"kind": "block", "name": f"block {b['seq']}", "transform": b["plan"],
               "bytes_in": b["raw_bytes"] if b["op"] == "compress" else b["stored_bytes"],
               "bytes_out": b["stored_bytes"] if b["op"] == "compress" else b["raw_bytes"], **_pick(b),
               "details": json.dumps({"layers_wall_s": b["layers_wall_s"], "rss_bytes": b["rss_bytes"]})}
    for b in d.get("bottlenecks", []):
        yield {"kind": "bottleneck", "name": b["subject"], **_pick(b)}


def _pick(r: dict) -> dict:
    out = {k: r[k] for k in COLUMNS if k in r and k not in ("kind", "name", "details")}
    for k, v in out.items():
        if isinstance(v, (dict, list)):
            out[k] = json.dumps(v)
    return out


def to_csv(profile: Profile) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for row in _rows(profile.to_dict()):
        w.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return buf.getvalue()
