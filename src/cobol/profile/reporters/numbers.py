"""Number formatting shared by the text and HTML reports (MB = 10**6 bytes, sizes in binary units)."""

from __future__ import annotations


def size(n) -> str:
    if n is None:
        return "-"
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024
    return f"{n} B"


def seconds(s) -> str:
    if s is None:
        return "-"
    if s >= 10:
        return f"{s:.1f} s"
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.1f} ms"
    return f"{s * 1e6:.0f} us"


def pct(x) -> str:
    if x is None:
        return "-"
    return f"{100 * x:.1f}%"


def ratio(x) -> str:
    return "-" if x is None else f"{x:.3f}"


def rate(x) -> str:
    return "-" if x is None else f"{x:.1f}"


def bits(x) -> str:
    return "-" if x is None else f"{x:.2f}"


def count(x) -> str:
    return "-" if x is None else f"{x:,}"
