"""Bottleneck detection: rate each layer and stream by its share of the time
against its share of the savings, and say what to do about it.

Rating (docs/PROFILE.md "Bottlenecks"): with ``t`` the share of the compress
time and ``s`` the share of the bytes saved (raw bytes - frame bytes),

- anything under 5 % of the time is ``ok`` (0): not worth a user's attention;
- otherwise ``excess = t / max(s, 0.001)`` picks the level:
  < 1.5 ok (0), < 3 low (1), < 8 medium (2), < 25 high (3), else critical (4);
- a subject under 10 % of the time is at most ``medium``, under 20 % at most ``high``.

So "L1 on strings takes 40 % of the time for 1 % of the savings" is critical
(excess 40), and zstd taking 60 % of the time for 90 % of the savings is ok.

Every rated subject is listed (severity 0 included, recommendation None), most
severe first, so a report can show the top few and a test can find any row.
"""

from __future__ import annotations

from .model import SEVERITY_NAMES

MIN_TIME_SHARE = 0.05
EXCESS_STEPS = (1.5, 3.0, 8.0, 25.0)  # upper bounds of levels 0..3; above the last: 4
SAVINGS_FLOOR = 0.001


def severity(time_share: float | None, savings_share: float | None) -> int:
    """Severity level 0..4 of a subject taking ``time_share`` of the time for ``savings_share`` of the savings."""
    if time_share is None or time_share < MIN_TIME_SHARE:
        return 0
    excess = time_share / max(savings_share or 0.0, SAVINGS_FLOOR)
    level = next((i for i, bound in enumerate(EXCESS_STEPS) if excess < bound), len(EXCESS_STEPS))
    cap = 2 if time_share < 0.10 else 3 if time_share < 0.20 else 4
    return min(level, cap)


def _pct(x: float | None) -> str:
    return "?" if x is None else f"{100 * x:.0f}%" if x >= 0.01 or x == 0 else f"{100 * x:.1f}%"


def _transform_info(name: str | None) -> dict:
    """min_level and needed layer switches of a registered transform ({} when unknown here)."""
    if not name:
        return {}
    try:
        from ..registry import transform_by_name
        t = transform_by_name(name)
    except Exception:  # a profile read back on a build without that transform
        return {}
    return {"min_level": t.min_level, "needs_layers": sorted(t.needs_layers)}


def _level_hint(transform: str | None, level: int | None) -> str:
    info = _transform_info(transform)
    m = info.get("min_level")
    if m is not None and m > 1 and (level is None or level >= m):
        return f"use level {m - 1} or lower (-l {m - 1}), where {transform} is not tried, or "
    return ""


def _recommend_layer(row: dict, ctx: dict) -> str:
    layer = row["layer"]
    t, s = _pct(row.get("time_share")), _pct(row.get("savings_share"))
    eng = ctx["engine"]
    level = eng.get("level")
    if layer == "detect":
        return f"format detection takes {t} of the time: if the format is known, pass it (fmt=..., --format FMT)"
    if layer == "plan":
        losers = [x["transform"] for x in ctx["trials"] if x["won"] == 0 and x["tried"] > 0]
        winners = sorted((x for x in ctx["trials"] if x["won"] > 0), key=lambda x: -x["won"])
        best = winners[0]["transform"] if winners else None
        forced = "zstd" if best == "raw" else best
        msg = f"candidate trials take {t} of the time"
        if losers:
            msg += f"; {', '.join(losers)} never won a block"
        if forced:
            msg += f": force the plan that wins (plan='{forced}', --plan {forced})"
        if losers:
            hint = _level_hint(losers[0], level)
            if hint:
                msg += f", or {hint.removesuffix(', or ')}"
        return msg
    if layer == "transform":
        winners = [x["transform"] for x in ctx["trials"] if x["won"] > 0 and x["transform"] != "raw"]
        who = ", ".join(winners) or "the transform"
        hint = _level_hint(winners[0] if winners else None, level)
        return (f"{who} takes {t} of the time for {s} of the savings over plain zstd: "
                f"{hint}use plan='zstd' (--plan zstd) when speed matters more than ratio")
    if layer == "verify":
        winners = [x["transform"] for x in sorted(ctx["trials"], key=lambda x: -x["won"])
                   if x["won"] > 0 and x["transform"] != "raw"]
        force = f"plan='{winners[0]}' (--plan {winners[0]})" if winners else "a fixed plan (--plan NAME)"
        return (f"the round-trip check of each candidate takes {t} of the time; it is what makes a transform "
                f"bug cost ratio instead of data, so rather than turning it off, force the plan that wins, "
                f"{force}, so that only that candidate is encoded and checked")
    if layer == "entropy":
        lower = max(1, (level or 3) - 2)
        return (f"zstd takes {t} of the time for {s} of the savings at level {level}: "
                f"a lower level (-l {lower}) is faster for a little ratio")
    if layer == "checksum":
        if eng.get("checksum") == "sha256":
            return f"SHA-256 block checksums take {t} of the time: checksum='xxh3' (--checksum xxh3) is far faster"
        return f"block checksums take {t} of the time"
    if layer == "frame":
        return f"framing takes {t} of the time: fewer, larger blocks (--block-size) amortise it"
    if layer == "other":
        return f"engine overhead outside the layers takes {t} of the time: larger blocks (--block-size) amortise it"
    # an inner layer of a transform (l1..l4, ...)
    stream = row.get("stream")
    what = f"{layer.upper()} on {stream}" if stream else layer.upper()
    switch = layer.lower()
    off = (f"layers={{'{switch}': False}} (--no-{switch})" if switch in ("l1", "l2", "l3", "l4")
           else f"turning {layer} off")
    winners = [x["transform"] for x in sorted(ctx["trials"], key=lambda x: -x["won"])
               if x["won"] > 0 and x["transform"] != "raw"]
    hint = _level_hint(winners[0] if winners else None, level)
    return f"{what} takes {t} of the time for {s} of the savings: {hint or 'use a lower level or '}{off}"


def _recommend_stream(row: dict, ctx: dict) -> str:
    name, t, s = row["name"], _pct(row.get("time_share")), _pct(row.get("savings_share"))
    ratio = row.get("ratio")
    if ratio is not None and ratio < 1.05:
        return (f"stream {name} ({row['transform']}) barely compresses (ratio {ratio:.2f}) yet takes {t} of the "
                f"time: the transform could store it (codec none) or the layer that makes it could be turned off")
    slow = max((row.get("layers_wall_s") or {}).items(), key=lambda kv: kv[1], default=(None, 0))[0]
    return (f"stream {name} ({row['transform']}) takes {t} of the time for {s} of the savings"
            + (f", most of it in {slow}" if slow else "")
            + ": a cheaper encoding for it (or a lower level) would cost little ratio")


def find_bottlenecks(data: dict) -> list:
    """Rate every compress layer, inner layer, layer-on-stream and stream of a
    profile dict (the JSON schema); returns the rows, most severe first."""
    ctx = {"engine": data.get("engine") or {}, "trials": data.get("trials") or []}
    out = []
    for row in data.get("layers", []):
        if row["op"] != "compress":
            continue
        ts, ss = row.get("time_share"), row.get("savings_share")
        sev = severity(ts, ss)
        kind = "layer" if row["parent"] is None else ("layer_stream" if row.get("stream") else "inner_layer")
        subject = row["layer"] if not row.get("stream") else f"{row['layer']} on {row['stream']}"
        out.append({
            "op": "compress", "kind": kind, "subject": subject, "layer": row["layer"], "stream": row.get("stream"),
            "transform": None, "severity": sev, "severity_name": SEVERITY_NAMES[sev],
            "time_share": ts, "savings_share": ss, "wall_s": row.get("wall_s"), "saved_bytes": row.get("saved_bytes"),
            "recommendation": _recommend_layer(row, ctx) if sev > 0 else None,
        })
    for row in data.get("streams", []):
        ts, ss = row.get("time_share"), row.get("savings_share")
        sev = severity(ts, ss)
        out.append({
            "op": "compress", "kind": "stream", "subject": f"stream {row['name']}", "layer": None,
            "stream": row["name"], "transform": row.get("transform"), "severity": sev,
            "severity_name": SEVERITY_NAMES[sev], "time_share": ts, "savings_share": ss,
            "wall_s": row.get("total_wall_s"), "saved_bytes": row.get("saved_bytes"),
            "recommendation": _recommend_stream(row, ctx) if sev > 0 else None,
        })
    # decompression has no savings to weigh; only a checksum that dominates is worth a word
    for row in data.get("layers", []):
        if row["op"] == "decompress" and row["layer"] == "checksum" and row["parent"] is None:
            ts = row.get("time_share")
            sev = severity(ts, 0.0) if ts is not None and ts >= 0.2 else 0
            out.append({
                "op": "decompress", "kind": "layer", "subject": "checksum", "layer": "checksum", "stream": None,
                "transform": None, "severity": sev, "severity_name": SEVERITY_NAMES[sev], "time_share": ts,
                "savings_share": None, "wall_s": row.get("wall_s"), "saved_bytes": None,
                "recommendation": (f"checksum verification takes {_pct(ts)} of decompression: compress with "
                                   f"checksum='xxh3' (--checksum xxh3)") if sev > 0 else None,
            })
    out.sort(key=lambda b: (-b["severity"], -(b["time_share"] or 0.0)))
    return out
