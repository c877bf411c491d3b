"""Self-contained HTML report: inline CSS and SVG charts, no scripts, no network.

Charts: time per layer (compress and decompress), bytes in and out per layer,
ratio per stream, throughput over blocks, and, when a streaming profile is
attached, throughput over time and latency per block. Below them the same
tables as the text report. The page opens in any browser offline; the whole
profile is also embedded as JSON (``<script type="application/json">``, data
only, never executed) so the page alone is enough to recover the figures.
"""

from __future__ import annotations

import json
from html import escape

from ..model import Profile
from . import numbers as fmt
from . import svg
from .tables import all_tables, summary_lines

_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 22px; margin: 0 0 8px; } h2 { font-size: 17px; margin: 28px 0 8px; }
p.summary { overflow-wrap: anywhere; margin: 2px 0; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 13px; }
table { border-collapse: collapse; margin: 6px 0 18px; font-size: 13px; }
th, td { padding: 3px 10px; border-bottom: 1px solid #e3e3e3; vertical-align: top; }
th { text-align: left; background: #f5f5f5; } td.r, th.r { text-align: right; font-variant-numeric: tabular-nums; }
tr.sev-critical td:first-child { color: #fff; background: #c62828; } tr.sev-high td:first-child { background: #ef9a9a; }
tr.sev-medium td:first-child { background: #ffe082; } tr.sev-low td:first-child { background: #b3e5fc; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 560px), 1fr)); gap: 18px 36px; }
figure { margin: 0; min-width: 0; } figcaption { font-weight: 600; margin-bottom: 4px; } figure p { margin: 4px 0; color: #555; }
svg { display: block; height: auto; } .scroll { max-width: 100%; overflow-x: auto; }
svg text { font: 12px system-ui, sans-serif; fill: #333; } svg text.small { font-size: 11px; } svg text.muted { fill: #888; }
svg .frame { fill: none; stroke: #bbb; } svg .grid { stroke: #eee; } svg .line { fill: none; stroke-width: 2; }
.notes { color: #666; }
""" + svg.style_sheet()


def _layer_items(d: dict, op: str, key: str) -> list:
    return [(r["layer"] if r["parent"] is None else f"{r['parent']}/{r['layer']}", r.get(key))
            for r in d.get("layers", []) if r["op"] == op and r.get("stream") is None
            and not (r["parent"] is None and r["layer"] in ("verify", "other") and not r["wall_s"])]


def _line_or_sentence(series: dict, title: str, x_label: str, y_label: str, unit: str) -> str:
    """A line chart, or one sentence when there are too few points for a line."""
    chart = svg.line_chart(series, title, x_label, y_label)
    if chart:
        return chart
    pts = [(name, y) for name, s in series.items() for _, y in s if y is not None]
    if not pts:
        return "<p>No data was recorded for this chart.</p>"
    return "<p>" + escape("; ".join(f"one point only ({name}): {y:.3g} {unit}" for name, y in pts)) + "</p>"


def charts(d: dict) -> list:
    """(caption, html) pairs for the page: an SVG chart, or a sentence where a chart would be empty."""
    out = []
    for op in ("compress", "decompress"):
        items = _layer_items(d, op, "wall_s")
        if items:
            out.append((f"Time per layer ({op})", svg.bar_chart(items, f"time per layer, {op}", fmt.seconds)))
    rows = [r for r in d.get("layers", []) if r["op"] == "compress" and r.get("stream") is None
            and (r.get("bytes_in") or r.get("bytes_out"))]
    if rows:
        items = [(r["layer"] if r["parent"] is None else f"{r['parent']}/{r['layer']}",
                  [r.get("bytes_in"), r.get("bytes_out")]) for r in rows]
        out.append(("Bytes in and out per layer (compress)",
                    svg.grouped_bar_chart(items, ["bytes in", "bytes out"], "bytes per layer", fmt.size)))
    streams = d.get("streams", [])[:30]
    if streams:
        labels = {f"{s['name']} ({s['transform']})": s["transform"] for s in streams}
        out.append(("Ratio per stream (decoded / stored bytes; colour: transform)",
                    svg.bar_chart([(f"{s['name']} ({s['transform']})", s.get("ratio")) for s in streams],
                                  "ratio per stream", fmt.ratio, colour_of=labels.get)))
    for op in ("compress", "decompress"):  # one chart each: decompression is often 10x faster
        pts = [(b["seq"], b["throughput_mb_s"]) for b in d.get("blocks", []) if b["op"] == op]
        if pts:
            out.append((f"Throughput over blocks, {op} (MB/s per block, MB = 10^6 bytes)",
                        _line_or_sentence({op: pts}, f"{op} throughput over blocks", "block sequence number",
                                          "MB/s", "MB/s")))
    s = d.get("streaming")
    if s:
        pts = [(p["t_s"], p["mb_s"]) for p in s.get("throughput_over_time", [])]
        out.append(("Streaming throughput over time",
                    _line_or_sentence({"MB/s": pts}, "streaming throughput", "seconds", "MB/s", "MB/s")))
        lat = [(b["seq"], b["latency_s"] * 1e3) for b in s.get("blocks", []) if b.get("latency_s") is not None]
        if lat:
            out.append(("Streaming latency per block",
                        _line_or_sentence({"latency ms": lat}, "latency per block", "block sequence number",
                                          "ms", "ms")))
    return out


def _table_html(t) -> str:
    head = "".join(f'<th class="{a}">{escape(n)}</th>' for n, a in t.columns)
    body = []
    for row in t.rows:
        cls = f' class="sev-{escape(row[0])}"' if t.key == "bottlenecks" else ""
        cells = "".join(f'<td class="{a}">{escape(v)}</td>' for v, (_, a) in zip(row, t.columns))
        body.append(f"<tr{cls}>{cells}</tr>")
    if not t.rows:
        body.append(f'<tr><td colspan="{len(t.columns)}">none</td></tr>')
    return (f'<h2 id="{escape(t.key)}">{escape(t.title)}</h2>'
            f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>')


def to_html(profile: Profile, title: str | None = None) -> str:
    d = profile.to_dict()
    title = title or "cobol profile"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
    ]
    parts += [f'<p class="summary">{escape(line)}</p>' for line in summary_lines(d)]
    ch = charts(d)
    if ch:
        parts.append('<h2 id="charts">Charts</h2><div class="charts">')
        parts += [f"<figure><figcaption>{escape(cap)}</figcaption>{s}</figure>" for cap, s in ch if s]
        parts.append("</div>")
    parts += [_table_html(t) for t in all_tables(d)]
    if d.get("notes"):
        parts.append('<ul class="notes">' + "".join(f"<li>{escape(n)}</li>" for n in d["notes"]) + "</ul>")
    # the data itself, inert: a JSON data block is never executed; "</" is escaped so it cannot close the element
    blob = json.dumps(d, allow_nan=False).replace("</", "<\\/")
    parts.append(f'<script type="application/json" id="profile-data">{blob}</script>')
    parts.append(f'<p class="notes">schema {escape(d["schema"])}, created {escape(str(d.get("created")))}</p>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
