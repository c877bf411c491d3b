"""Small SVG charts as strings: horizontal bars, grouped bars, lines.

Made for a self-contained HTML page: no scripts, no external fonts or styles,
every label escaped. Colours are CSS classes (``s0`` .. ``s5``) that the page's
inline style sheet defines, so one palette serves every chart.
"""

from __future__ import annotations

import math
from html import escape

ROW_H = 22
LABEL_W = 190
VALUE_W = 120
BAR_W = 420


def _svg(width: int, height: int, body: list, title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
            f"<title>{escape(title)}</title>" + "".join(body) + "</svg>")


def _num(x: float) -> str:
    return f"{x:.1f}"


def empty_chart(title: str, text: str = "no data") -> str:
    return _svg(LABEL_W + BAR_W, 40, [f'<text x="8" y="24" class="muted">{escape(text)}</text>'], title)


def bar_chart(items: list, title: str, value_format=str) -> str:
    """Horizontal bars: ``items`` are (label, value) with value >= 0."""
    items = [(lab, max(0.0, float(v or 0.0))) for lab, v in items]
    if not items:
        return empty_chart(title)
    top = max(v for _, v in items) or 1.0
    width = LABEL_W + BAR_W + VALUE_W
    body = []
    for i, (label, v) in enumerate(items):
        y = 6 + i * ROW_H
        w = BAR_W * v / top
        body.append(f'<text x="{LABEL_W - 6}" y="{y + 15}" text-anchor="end">{escape(str(label))}</text>')
        body.append(f'<rect x="{LABEL_W}" y="{y + 3}" width="{_num(w)}" height="{ROW_H - 6}" class="s{i % 6}">'
                    f"<title>{escape(str(label))}: {escape(value_format(v))}</title></rect>")
        body.append(f'<text x="{_num(LABEL_W + w + 6)}" y="{y + 15}">{escape(value_format(v))}</text>')
    return _svg(width, 12 + len(items) * ROW_H, body, title)


def grouped_bar_chart(items: list, series: list, title: str, value_format=str) -> str:
    """Horizontal bars in groups: ``items`` are (label, [value per series]); ``series`` names the values."""
    if not items:
        return empty_chart(title)
    top = max((float(v or 0.0) for _, vs in items for v in vs), default=0.0) or 1.0
    k = len(series)
    group_h = k * (ROW_H - 6) + 10
    width = LABEL_W + BAR_W + VALUE_W
    body = []
    for j, name in enumerate(series):  # legend
        x = LABEL_W + j * 140
        body.append(f'<rect x="{x}" y="6" width="12" height="12" class="s{j % 6}"/>')
        body.append(f'<text x="{x + 18}" y="17">{escape(name)}</text>')
    for i, (label, values) in enumerate(items):
        y0 = 28 + i * group_h
        body.append(f'<text x="{LABEL_W - 6}" y="{y0 + group_h / 2 + 2:.1f}" text-anchor="end">{escape(str(label))}</text>')
        for j, v in enumerate(values):
            if v is None:  # not applicable (e.g. a layer that only reads)
                continue
            v = max(0.0, float(v))
            w = BAR_W * v / top
            y = y0 + j * (ROW_H - 6)
            body.append(f'<rect x="{LABEL_W}" y="{y}" width="{_num(w)}" height="{ROW_H - 8}" class="s{j % 6}">'
                        f"<title>{escape(str(label))} {escape(series[j])}: {escape(value_format(v))}</title></rect>")
            body.append(f'<text x="{_num(LABEL_W + w + 6)}" y="{y + 11}" class="small">{escape(value_format(v))}</text>')
    return _svg(width, 34 + len(items) * group_h, body, title)


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
    """Lines with points: ``series`` maps a name to [(x, y)]."""
    pts = [(x, y) for s in series.values() for x, y in s if x is not None and y is not None]
    if not pts:
        return empty_chart(title)
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
        path = " ".join(f"{_num(sx(x))},{_num(sy(y))}" for x, y in s)
        body.append(f'<polyline points="{path}" class="line l{j % 6}"/>')
        if len(s) <= 200:
            for x, y in s:
                body.append(f'<circle cx="{_num(sx(x))}" cy="{_num(sy(y))}" r="2.5" class="s{j % 6}">'
                            f"<title>{escape(name)}: {x:g}, {y:.3g}</title></circle>")
        lx = left + 8 + j * 150
        body.append(f'<rect x="{lx}" y="8" width="12" height="12" class="s{j % 6}"/>')
        body.append(f'<text x="{lx + 18}" y="19">{escape(name)}</text>')
    return _svg(width, height, body, title)
