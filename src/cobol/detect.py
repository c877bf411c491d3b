"""Sniff what a block holds from its first bytes. Never from a file name.

The answer only steers which transforms the planner tries; a wrong guess costs
ratio, never correctness, because every transform must round-trip any input
and the planner keeps plain zstd when it is smaller.
"""

from __future__ import annotations

import re

FORMATS = ("json", "jsonl", "xml", "html", "csv", "tsv", "log", "text", "numeric", "binary")

SAMPLE = 64 * 1024
_BOM = b"\xef\xbb\xbf"
_TEXT_BYTES = bytes(range(32, 127)) + b"\t\n\r\f\b"
_HTML_HINT = re.compile(rb"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]|<div[\s>]|<p[\s>]|<br\s*/?>|<meta\s", re.I)
_LOG_LINE = re.compile(
    rb"^(?:\[?\d{4}-\d\d-\d\d[T ]\d\d:\d\d"           # ISO timestamps
    rb"|\[?\d\d/[A-Z][a-z]{2}/\d{4}"                    # common log format dates
    rb"|[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d"           # syslog
    rb"|\d{1,3}(?:\.\d{1,3}){3} "                       # access logs starting with an IP
    rb"|\[?\d{10}(?:\.\d+)?\]? "                        # unix epoch
    rb"|(?:DEBUG|INFO|WARN|WARNING|ERROR|TRACE|FATAL)\b)"
)


def _textiness(sample: bytes) -> float:
    if not sample:
        return 1.0
    stripped = sample.translate(None, _TEXT_BYTES)
    # UTF-8 multibyte sequences count as text when the sample decodes
    if stripped:
        try:
            sample.decode("utf-8")
            return 1.0 - sample.count(0) / len(sample)
        except UnicodeDecodeError as e:
            if e.start >= len(sample) - 4:  # cut in the middle of a character
                return 1.0 - sample.count(0) / len(sample)
    return 1.0 - len(stripped) / len(sample)


def _delimited(lines: list[bytes]) -> str | None:
    if len(lines) < 3:
        return None
    for delim, name in ((b"\t", "tsv"), (b",", "csv"), (b";", "csv"), (b"|", "csv")):
        counts = [ln.count(delim) for ln in lines]
        first = counts[0]
        if first == 0:
            continue
        same = sum(1 for c in counts if c == first)
        if same >= 0.8 * len(counts):
            return name
    return None


def detect(data, hint: str | None = None) -> str:
    """Return one of FORMATS for a block (only its first SAMPLE bytes are read)."""
    if hint:
        return hint
    sample = bytes(data[:SAMPLE])
    if not sample:
        return "binary"
    if sample.startswith(_BOM):
        sample = sample[3:]
    if _textiness(sample) < 0.95:
        return "binary"
    head = sample.lstrip()
    if not head:
        return "text"
    first = head[:1]
    lines = head.split(b"\n")
    if len(lines) > 1 and len(sample) == SAMPLE:
        lines = lines[:-1]  # the last line of a cut sample is partial
    lines = [ln.rstrip(b"\r") for ln in lines[:200] if ln.strip()]
    if first in b"{[":
        if len(lines) >= 2:
            records = sum(1 for ln in lines if ln.lstrip()[:1] in (b"{", b"[") and ln.rstrip()[-1:] in (b"}", b"]"))
            if records >= 0.9 * len(lines):
                return "jsonl"
        return "json"
    if first == b"<":
        if _HTML_HINT.search(head[:4096]):
            return "html"
        return "xml"
    if first == b'"' and len(lines) >= 2 and all(ln.lstrip()[:1] in (b'"', b"{", b"[") for ln in lines[:20]):
        if _delimited(lines) is None:
            return "json"
    if lines:
        log_hits = sum(1 for ln in lines if _LOG_LINE.match(ln))
        if log_hits >= 0.6 * len(lines) and len(lines) >= 3:
            return "log"
        delimited = _delimited(lines)
        if delimited:
            return delimited
    return "text"
