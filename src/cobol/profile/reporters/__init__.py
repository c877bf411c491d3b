"""Reporters of a Profile: JSON (the documented schema), CSV, text and self-contained HTML."""

from __future__ import annotations

from .csv_report import COLUMNS as CSV_COLUMNS, to_csv
from .html_report import to_html
from .json_report import to_json
from .text_report import print_text, to_text

FORMATS = {"json": to_json, "csv": to_csv, "text": to_text, "html": to_html}

__all__ = ["to_json", "to_csv", "to_text", "print_text", "to_html", "write_report", "FORMATS", "CSV_COLUMNS"]


def write_report(profile, path: str, fmt: str | None = None, title: str | None = None) -> None:
    """Write ``profile`` to ``path`` as json, csv, text or html (default: from the suffix)."""
    if fmt is None:
        ext = path.rsplit(".", 1)[-1].lower() if "." in path else "text"
        fmt = {"htm": "html", "txt": "text"}.get(ext, ext)
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r}; known: {', '.join(FORMATS)}")
    text = FORMATS[fmt](profile, title) if fmt in ("text", "html") else FORMATS[fmt](profile)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)
