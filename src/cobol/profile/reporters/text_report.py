"""Text report for a terminal: rich tables when the output is a terminal, plain aligned text otherwise."""

from __future__ import annotations

import sys

from ..model import Profile
from .tables import ReportTable, all_tables, summary_lines


def _plain_table(t: ReportTable) -> list:
    widths = [len(c[0]) for c in t.columns]
    for row in t.rows:
        widths = [max(w, len(v)) for w, v in zip(widths, row)]
    # the last column of a wide table (recommendations) is not padded
    def line(vals):
        cells = [v.rjust(w) if a == "r" else v.ljust(w) for v, w, (_, a) in zip(vals, widths, t.columns)]
        return "  ".join(cells).rstrip()
    out = [t.title, line([c[0] for c in t.columns]), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in t.rows]
    if not t.rows:
        out.append("(none)")
    return out + [""]


def to_text(profile: Profile, title: str | None = None) -> str:
    """The whole report as plain text."""
    d = profile.to_dict()
    lines = [title] if title else []
    lines += summary_lines(d) + [""]
    for t in all_tables(d):
        lines += _plain_table(t)
    for n in d.get("notes", []):
        lines.append(f"note: {n}")
    return "\n".join(lines).rstrip() + "\n"


def print_text(profile: Profile, file=None, title: str | None = None, color: bool | None = None) -> None:
    """Print the report: rich tables when ``file`` is a terminal (or color=True), plain text otherwise."""
    file = sys.stdout if file is None else file
    if color is None:
        try:
            color = file.isatty()
        except (AttributeError, ValueError):
            color = False
    if not color:
        file.write(to_text(profile, title))
        return
    from rich import box
    from rich.console import Console
    from rich.table import Table
    d = profile.to_dict()
    console = Console(file=file, soft_wrap=False)
    if title:
        console.print(title, style="bold")
    for line in summary_lines(d):
        console.print(line, highlight=False)
    severity_style = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "ok": "green"}
    for t in all_tables(d):
        table = Table(title=t.title, box=box.SIMPLE_HEAD, title_justify="left", title_style="bold")
        for name, align in t.columns:
            table.add_column(name, justify="right" if align == "r" else "left",
                             overflow="fold", no_wrap=name != "recommendation")
        for row in t.rows:
            style = severity_style.get(row[0]) if t.key == "bottlenecks" else None
            table.add_row(*row, style=style)
        console.print(table)
    for n in d.get("notes", []):
        console.print(f"note: {n}", style="dim", highlight=False)
