"""Small SVG charts as strings: horizontal bars, grouped bars, lines.

Made for a self-contained HTML page: no scripts, no external fonts or styles,
every label escaped. Colours are CSS classes that the page's inline style sheet
defines; :func:`colour_class` gives every *name* (a layer, a transform, a
series) one colour, the same in every chart of the page, so a colour means
something. Charts scale to the width of their container (``width="100%"`` and
a viewBox), so a narrow window shrinks them instead of scrolling.
"""

from __future__ import annotations

import math
import zlib
from html import escape

ROW_H = 22
LABEL_W = 190
VALUE_W = 120
BAR_W = 420
#: about the width of one character of the 12 px label font: labels longer than
#: the label column are cut with an ellipsis (the whole label stays in the tooltip)
_CHAR_W = 6.6
#: values spanning more than this factor get a log scale (bars otherwise shrink to slivers)
LOG_SCALE_SPAN = 50.0

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1",
           "#edc948", "#9c755f", "#ff9da7", "#bab0ac", "#5f9e6e", "#8c564b")
#: fixed colours for the names every profile has, so they never trade places
_FIXED = {"detect": 9, "plan": 7, "transform": 0, "verify": 3, "entropy": 1, "checksum": 5,
          "frame": 8, "other": 9, "l1": 2, "l2": 4, "l3": 6, "l4": 10,
          "bytes in": 0, "bytes out": 1, "compress": 0, "decompress": 1}


def colour_class(name: str) -> int:
    """The palette index of ``name`` (a layer, transform or series): fixed for the
    engine's own layers, stable across runs and pages for any other name."""
    key = str(name).rsplit("/", 1)[-1].lower()
    if key in _FIXED:
        return _FIXED[key]
    return zlib.crc32(key.encode()) % len(PALETTE)


def style_sheet() -> str:
    """The CSS rules the charts' classes need."""
    return "".join(f"svg .s{i} {{ fill: {c}; }} svg .l{i} {{ stroke: {c}; }}\n" for i, c in enumerate(PALETTE))


def _svg(width: int, height: int, body: list, title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="100%" style="max-width: {width}px" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
            f"<title>{escape(title)}</title>" + "".join(body) + "</svg>")


def _num(x: float) -> str:
    return f"{x:.1f}"


def _fit(label: str, width: float) -> str:
    n = max(4, int(width / _CHAR_W))
    return label if len(label) <= n else label[: n - 1] + "\u2026"


def _scale(values: list):
    """Bar length in [0, 1] per value: linear, or log10 when the values span
    more than LOG_SCALE_SPAN. Returns (function, is_log)."""
    pos = [v for v in values if v > 0]
    top = max(pos, default=1.0)
    lo = min(pos, default=1.0)
    if top / lo <= LOG_SCALE_SPAN:
        return (lambda v: v / top), False
    floor = math.log10(lo) - 0.3  # the smallest bar still shows
    span = math.log10(top) - floor
    return (lambda v: 0.0 if v <= 0 else (math.log10(v) - floor) / span), True


def bar_chart(items: list, title: str, value_format=str, colour_of=None) -> str:
    """Horizontal bars: ``items`` are (label, value) with value >= 0. ``colour_of``
    maps a label to the name that picks its colour (default: the label itself)."""
    items = [(str(lab), max(0.0, float(v or 0.0))) for lab, v in items]
    if not items:
        return ""
    scale, is_log = _scale([v for _, v in items])
    width = LABEL_W + BAR_W + VALUE_W
    body = []
    for i, (label, v) in enumerate(items):
        y = 6 + i * ROW_H
        w = BAR_W * scale(v)
        c = colour_class(colour_of(label) if colour_of else label)
        body.append(f'<text x="{LABEL_W - 6}" y="{y + 15}" text-anchor="end">{escape(_fit(label, LABEL_W - 8))}'
                    f"<title>{escape(label)}</title></text>")
        body.append(f'<rect x="{LABEL_W}" y="{y + 3}" width="{_num(w)}" height="{ROW_H - 6}" class="s{c}">'
                    f"<title>{escape(label)}: {escape(value_format(v))}</title></rect>")
        body.append(f'<text x="{_num(LABEL_W + w + 6)}" y="{y + 15}">{escape(value_format(v))}</text>')
    height = 12 + len(items) * ROW_H
    if is_log:
        body.append(f'<text x="{LABEL_W + BAR_W + VALUE_W - 4}" y="{height + 10}" text-anchor="end" '
                    f'class="small muted">log scale</text>')
        height += 16
    return _svg(width, height, body, title + (" (log scale)" if is_log else ""))


def grouped_bar_chart(items: list, series: list, title: str, value_format=str) -> str:
    """Horizontal bars in groups: ``items`` are (label, [value per series]); ``series`` names the values."""
    if not items:
        return ""
    scale, is_log = _scale([float(v) for _, vs in items for v in vs if v is not None])
    k = len(series)
    group_h = k * (ROW_H - 6) + 10
    width = LABEL_W + BAR_W + VALUE_W
    body = []
    for j, name in enumerate(series):  # legend
        x = LABEL_W + j * 140
        body.append(f'<rect x="{x}" y="6" width="12" height="12" class="s{colour_class(name)}"/>')
        body.append(f'<text x="{x + 18}" y="17">{escape(name)}</text>')
    if is_log:
        body.append(f'<text x="{width - 4}" y="17" text-anchor="end" class="small muted">log scale</text>')
    for i, (label, values) in enumerate(items):
        y0 = 28 + i * group_h
        label = str(label)
        body.append(f'<text x="{LABEL_W - 6}" y="{y0 + group_h / 2 + 2:.1f}" text-anchor="end">'
                    f"{escape(_fit(label, LABEL_W - 8))}<title>{escape(label)}</title></text>")
        for j, v in enumerate(values):
            if v is None:  # not applicable (e.g. a layer that only reads)
                continue
            v = max(0.0, float(v))
            w = BAR_W * scale(v)
            y = y0 + j * (ROW_H - 6)
            body.append(f'<rect x="{LABEL_W}" y="{y}" width="{_num(w)}" height="{ROW_H - 8}" '
                        f'class="s{colour_class(series[j])}">'
                        f"<title>{escape(label)} {escape(series[j])}: {escape(value_format(v))}</title></rect>")
            body.append(f'<text x="{_num(LABEL_W + w + 6)}" y="{y + 11}" class="small">{escape(value_format(v))}</text>')
    return _svg(width, 34 + len(items) * group_h, body, title + (" (log scale)" if is_log else ""))


def _ticks(lo: float, hi: float, n: int = 5) -> list:
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    out = []
    t = start
    while t <= hi + step * 1e-9:
        if t >= lo - step * 1e-9:
            out.append(round(t, 12))
        t += step
    return out


def line_chart(series: dict, title: str, x_label: str, y_label: str, width: int = 720, height: int = 260) -> str:
    """Lines with points: ``series`` maps a name to [(x, y)]. Returns "" with
    fewer than two points: a line needs two (the page says it in words)."""
    pts = [(x, y) for s in series.values() for x, y in s if x is not None and y is not None]
    if len(pts) < 2:
        return ""
    left, right, top_m, bottom = 64, 16, 30, 42
    x_lo, x_hi = min(p[0] for p in pts), max(p[0] for p in pts)
    y_hi = max(p[1] for p in pts) or 1.0
    if x_hi == x_lo:
        x_hi = x_lo + 1
    pw, ph = width - left - right, height - top_m - bottom

    def sx(x):
        return left + pw * (x - x_lo) / (x_hi - x_lo)

    def sy(y):
        return top_m + ph * (1 - y / y_hi)
    body = [f'<rect x="{left}" y="{top_m}" width="{pw}" height="{ph}" class="frame"/>']
    for t in _ticks(0.0, y_hi):
        y = sy(t)
        body.append(f'<line x1="{left}" y1="{_num(y)}" x2="{left + pw}" y2="{_num(y)}" class="grid"/>')
        body.append(f'<text x="{left - 4}" y="{_num(y + 4)}" text-anchor="end" class="small">{t:g}</text>')
    for t in _ticks(x_lo, x_hi):
        x = sx(t)
        body.append(f'<text x="{_num(x)}" y="{top_m + ph + 14}" text-anchor="middle" class="small">{t:g}</text>')
    body.append(f'<text x="{left + pw / 2:.0f}" y="{height - 6}" text-anchor="middle" class="small">{escape(x_label)}</text>')
    body.append(f'<text x="12" y="{top_m + ph / 2:.0f}" transform="rotate(-90 12 {top_m + ph / 2:.0f})" '
                f'text-anchor="middle" class="small">{escape(y_label)}</text>')
    for j, (name, s) in enumerate(series.items()):
        s = [(x, y) for x, y in s if x is not None and y is not None]
        if not s:
            continue
        c = colour_class(name)
        path = " ".join(f"{_num(sx(x))},{_num(sy(y))}" for x, y in s)
        body.append(f'<polyline points="{path}" class="line l{c}"/>')
        if len(s) <= 200:
            for x, y in s:
                body.append(f'<circle cx="{_num(sx(x))}" cy="{_num(sy(y))}" r="2.5" class="s{c}">'
                            f"<title>{escape(name)}: {x:g}, {y:.3g}</title></circle>")
        lx = left + 8 + j * 150
        body.append(f'<rect x="{lx}" y="8" width="12" height="12" class="s{c}"/>')
        body.append(f'<text x="{lx + 18}" y="19">{escape(name)}</text>')
    return _svg(width, height, body, title)
