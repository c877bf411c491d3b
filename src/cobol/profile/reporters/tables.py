"""The report's content as titled tables of strings, shared by the text and HTML reporters."""

from __future__ import annotations

from dataclasses import dataclass

from . import numbers as fmt


@dataclass
class ReportTable:
    key: str  # stable id (HTML anchor)
    title: str
    columns: list  # [(name, "l"|"r")]
    rows: list  # [[str, ...]]


def summary_lines(d: dict) -> list:
    out = []
    for r in d.get("runs", []):
        verb = "->" if r["op"] == "compress" else "<-"
        raw, stored = (r["bytes_in"], r["bytes_out"]) if r["op"] == "compress" else (r["bytes_out"], r["bytes_in"])
        out.append(f"{r['op']}: {fmt.size(raw)} {verb} {fmt.size(stored)}, ratio {fmt.ratio(r['ratio'])}, "
                   f"{fmt.rate(r['throughput_mb_s'])} MB/s (wall {fmt.seconds(r['wall_s'])}, "
                   f"CPU {fmt.seconds(r['cpu_s'])}), {r['blocks']} blocks, "
                   f"RSS peak {fmt.size(r['rss_peak_bytes'])} (+{fmt.size(r['rss_peak_growth_bytes'])} in this run)")
    t = d.get("totals") or {}
    if t.get("vs_zstd_baseline"):
        out.append(f"plain zstd of the same blocks at the same level would be {fmt.ratio(t['vs_zstd_baseline'])}x "
                   f"the size of the encoded blocks")
    if t.get("entropy_in_bits") is not None:
        out.append(f"input order-0 entropy {fmt.bits(t['entropy_in_bits'])} bits/byte; "
                   f"frame: {fmt.count(t.get('stream_stored_bytes'))} B of streams + "
                   f"{fmt.count(t.get('block_overhead_bytes'))} B of block headers + "
                   f"{fmt.count(t.get('frame_overhead_bytes'))} B of frame header/end marker")
    e = d.get("engine")
    if e:
        out.append(f"engine: level {e['level']}, block size {fmt.size(e['block_size'])}, {e['threads']} threads, "
                   f"checksum {e['checksum']}, plan {e['plan']}, verify {'on' if e['verify'] else 'off'}"
                   + (f", backend {e['backend']}" if e.get("backend") else ""))
    g = d.get("gpu")
    if g:
        out.append(f"gpu: {g.get('backend')} {g.get('device') or ''} memory used {fmt.size(g.get('memory_used_bytes_end'))}")
    return out


def layer_table(d: dict, op: str) -> ReportTable | None:
    rows = [r for r in d.get("layers", []) if r["op"] == op]
    if not rows:
        return None
    cols = [("layer", "l"), ("wall", "r"), ("CPU", "r"), ("time", "r"), ("in", "r"), ("out", "r"), ("ratio", "r"),
            ("MB/s", "r"), ("H in", "r"), ("H out", "r"), ("saved", "r"), ("savings", "r"), ("dict", "r")]
    body = []
    for r in rows:
        if r["wall_s"] == 0 and not r["bytes_in"] and r["parent"] is None and r["layer"] in ("verify", "other"):
            continue
        name = r["layer"] if r["parent"] is None else f"  {r['layer']}" + (f" on {r['stream']}" if r["stream"] else "")
        dict_txt = "-"
        if r.get("dict_size") is not None or r.get("dict_hits") is not None:
            dict_txt = f"{fmt.count(r.get('dict_size'))} / {fmt.pct(r.get('dict_hit_rate'))} hits"
        body.append([name, fmt.seconds(r["wall_s"]), fmt.seconds(r["cpu_s"]), fmt.pct(r["time_share"]),
                     fmt.size(r["bytes_in"]), fmt.size(r["bytes_out"]), fmt.ratio(r["ratio"]),
                     fmt.rate(r["throughput_mb_s"]), fmt.bits(r["entropy_in_bits"]), fmt.bits(r["entropy_out_bits"]),
                     fmt.size(r["saved_bytes"]), fmt.pct(r["savings_share"]) if op == "compress" else "-", dict_txt])
    return ReportTable(f"layers-{op}", f"Layers ({op}; time = share of the block time, H = entropy in bits/byte)",
                       cols, body)


def stream_table(d: dict, limit: int = 40) -> ReportTable | None:
    rows = d.get("streams", [])
    if not rows:
        return None
    cols = [("stream", "l"), ("plan", "l"), ("codec", "l"), ("blocks", "r"), ("in", "r"), ("out", "r"),
            ("ratio", "r"), ("out share", "r"), ("time", "r"), ("MB/s", "r"), ("H in", "r"), ("H out", "r")]
    body = []
    for r in rows[:limit]:
        body.append([r["name"], r["transform"], r["codec"] or "-", str(r["blocks"]), fmt.size(r["bytes_in"]),
                     fmt.size(r["bytes_out"]), fmt.ratio(r["ratio"]), fmt.pct(r["output_share"]),
                     fmt.pct(r["time_share"]), fmt.rate(r["throughput_mb_s"]), fmt.bits(r["entropy_in_bits"]),
                     fmt.bits(r["entropy_out_bits"])])
    title = "Streams of the winning plans (by output bytes)"
    if len(rows) > limit:
        title += f"; first {limit} of {len(rows)}"
    return ReportTable("streams", title, cols, body)


def trial_table(d: dict) -> ReportTable | None:
    rows = d.get("trials", [])
    if not rows:
        return None
    cols = [("candidate", "l"), ("tried", "r"), ("won", "r"), ("declined", "r"), ("time", "r"), ("ratio", "r")]
    body = [[r["transform"], str(r["tried"]), str(r["won"]), str(r["declined"]), fmt.seconds(r["wall_s"]),
             fmt.ratio(r["ratio"])] for r in rows]
    return ReportTable("trials", "Plan candidates (ratio over the blocks each did not decline)", cols, body)


def bottleneck_table(d: dict, min_severity: int = 1, limit: int = 12) -> ReportTable:
    rows = [b for b in d.get("bottlenecks", []) if b["severity"] >= min_severity][:limit]
    cols = [("severity", "l"), ("subject", "l"), ("time", "r"), ("savings", "r"), ("recommendation", "l")]
    body = [[b["severity_name"], f"{b['op']}: {b['subject']}", fmt.pct(b["time_share"]),
             fmt.pct(b["savings_share"]), b["recommendation"] or ""] for b in rows]
    return ReportTable("bottlenecks", "Bottlenecks (time share against savings share)", cols, body)


def block_table(d: dict, limit: int = 30) -> ReportTable | None:
    rows = d.get("blocks", [])
    if not rows:
        return None
    cols = [("op", "l"), ("block", "r"), ("format", "l"), ("plan", "l"), ("raw", "r"), ("stored", "r"),
            ("ratio", "r"), ("wall", "r"), ("MB/s", "r"), ("H in", "r"), ("RSS", "r")]
    body = [[b["op"], str(b["seq"]), b["fmt"] or "-", b["plan"], fmt.size(b["raw_bytes"]), fmt.size(b["stored_bytes"]),
             fmt.ratio(b["ratio"]), fmt.seconds(b["wall_s"]), fmt.rate(b["throughput_mb_s"]),
             fmt.bits(b["entropy_in_bits"]), fmt.size(b["rss_bytes"])] for b in rows[:limit]]
    title = "Blocks" + (f" (first {limit} of {len(rows)})" if len(rows) > limit else "")
    return ReportTable("blocks", title, cols, body)


def memory_table(d: dict) -> ReportTable | None:
    m = d.get("memory")
    if not m:
        return None
    body = [["process RSS peak (getrusage)", fmt.size(m.get("rss_peak_bytes"))],
            ["process RSS now", fmt.size(m.get("rss_now_bytes"))]]
    body += [[b["what"], fmt.size(b["bytes"])] for b in m.get("largest_buffers", [])]
    body.append(["blocks in flight (threads x largest block working set), estimate",
                 fmt.size(m.get("blocks_in_flight_estimate_bytes"))])
    return ReportTable("memory", "Memory", [("what", "l"), ("bytes", "r")], body)


def streaming_table(d: dict) -> ReportTable | None:
    s = d.get("streaming")
    if not s:
        return None

    def st(x, key="mean"):
        return fmt.seconds(x[key]) if x else "-"
    body = [
        ["blocks sent / received / acked", f"{s['blocks_sent']} / {s['blocks_received']} / {s['blocks_acked']}"],
        ["bytes sent / received", f"{fmt.size(s['bytes_sent'])} / {fmt.size(s['bytes_received'])}"],
        ["throughput", f"{fmt.rate(s['throughput_mb_s'])} MB/s over {fmt.seconds(s['duration_s'])}"],
        ["latency mean / p95 / max", f"{st(s['latency_s'])} / {st(s['latency_s'], 'p95')} / {st(s['latency_s'], 'max')}"],
        ["rtt mean / p95", f"{st(s['rtt_s'])} / {st(s['rtt_s'], 'p95')}"],
        ["jitter (RFC 3550)", fmt.seconds(s["jitter_s"])],
        ["interarrival stdev", st(s["interarrival_s"], "stdev")],
        ["reorder delay mean / max", f"{st(s['delivery_delay_s'])} / {st(s['delivery_delay_s'], 'max')}"],
        ["out of order / duplicates / retransmitted",
         f"{s['out_of_order']} / {s['duplicates']} / {s['retransmitted']}"],
        ["sequence gaps (events / largest / missing)", f"{s['gap_events']} / {s['max_gap']} / {s['missing_count']}"],
    ]
    return ReportTable("streaming", "Streaming", [("figure", "l"), ("value", "l")], body)


def all_tables(d: dict) -> list:
    tables = [bottleneck_table(d), layer_table(d, "compress"), layer_table(d, "decompress"), stream_table(d),
              trial_table(d), block_table(d), memory_table(d), streaming_table(d)]
    return [t for t in tables if t is not None]
