"""Sniff what a block holds from its first bytes. Never from a file name.

The answer only steers which transforms the planner tries; a wrong guess costs
ratio, never correctness, because every transform must round-trip any input
and the planner keeps plain zstd when it is smaller.
"""

from __future__ import annotations

import re
from collections import Counter

FORMATS = ("json", "jsonl", "xml", "html", "csv", "tsv", "log", "text", "numeric", "binary")

SAMPLE = 64 * 1024
#: lines of the sample that the line tests read
_MAX_LINES = 200
_BOM = b"\xef\xbb\xbf"
_TEXT_BYTES = bytes(range(32, 127)) + b"\t\n\r\f\b"
_HTML_HINT = re.compile(rb"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]|<div[\s>]|<p[\s>]|<br\s*/?>|<meta\s", re.I)
_LOG_LINE = re.compile(
    rb"^(?:\[?\d{4}-\d\d-\d\d[T ]\d\d:\d\d"           # ISO timestamps
    rb"|\[?\d\d/[A-Z][a-z]{2}/\d{4}"                    # common log format dates
    rb"|\S+ \S+ \S+ \[\d\d/[A-Z][a-z]{2}/\d{4}:"          # access logs (common/combined) from any client
    rb"|<\d{1,3}>"                                     # syslog with its priority (RFC 3164 / 5424)
    rb"|\d{4}/\d\d/\d\d \d\d:\d\d:\d\d"                # nginx error logs
    rb"|[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d"           # syslog
    rb"|\d{1,3}(?:\.\d{1,3}){3} "                       # access logs starting with an IP
    rb"|\[?\d{10}(?:\.\d+)?\]? "                        # unix epoch
    rb"|\[[^\]\n]{0,40}\d\d:\d\d[^\]\n]{0,20}\]"      # [14 Jan 10:36], [2024-01-01 10:00:00,123]
    rb"|(?:DEBUG|INFO|WARN|WARNING|ERROR|TRACE|FATAL)\b)"
)
# a line that continues the log event above it (stack frames, "Caused by:", tracebacks)
_CONTINUATION = re.compile(rb"^(?:[ \t]|Caused by:|Traceback \(most recent|\.\.\. \d+ more|[A-Za-z_$][\w$.]*(?:Error|Exception)\b)")
# a syslog line that starts with its priority: "<34>Oct 11 22:14:15 host su: ..." (RFC 3164),
# "<165>1 2003-10-11T22:14:15.003Z host app - ID47 - ..." (RFC 5424)
_SYSLOG_PRI = re.compile(rb"^<\d{1,3}>(?:1 \d{4}-\d\d-\d\dT|[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d )")
# an access log line (common / combined log format): host ident user [date] "request"
_ACCESS_LOG = re.compile(rb'^\S+ \S+ \S+ \[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "')
# a timestamp with a comma before its milliseconds at the start of a line (log4j, Python logging)
_COMMA_MS_TIMESTAMP = re.compile(rb"^\[?\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d,\d{3}\b")
# the bracketed fields that start a line of JVM unified logging ("[0.024s][info][class,load] ..."),
# and of logs like it: a comma or pipe inside them separates tags, not columns
_BRACKET_PREFIX = re.compile(rb"^(?:\[[^\]\n]{0,80}\])+")
# the start of a JSON value inside an array or object: rules out "[14 Jan ..." log lines
_JSON_START = re.compile(rb'^[\[{]\s*(?:["{\[\]}]|true|false|null|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?\s*[,\]}]|$)')


#: C0 controls that text almost never holds (tab, LF, CR, FF, BS and ESC excluded) and DEL
_CONTROL_BYTES = bytes(range(0, 8)) + b"\x0b" + bytes(range(14, 27)) + bytes(range(28, 32)) + b"\x7f"
_NOT_CONTROL = bytes(b for b in range(256) if b not in _CONTROL_BYTES)
#: 256 x the lane of each byte of an 8-byte element, for SAMPLE bytes (_looks_numeric), made on first use
_LANE_OFFSETS = None
#: text in a legacy 8-bit or multibyte encoding (KOI8-R, windows-1251, Shift-JIS,
#: EUC-KR, Big5, Latin-1, ...): at most this share of control bytes (random or
#: compressed bytes hold ~12%, numbers far more) ...
_LEGACY_MAX_CONTROL = 0.002
#: ... and at least this share of printable ASCII (spaces and punctuation: ~15-18% of Russian prose)
_LEGACY_MIN_ASCII = 0.1


def _textiness(sample: bytes) -> float:
    if not sample:
        return 1.0
    stripped = sample.translate(None, _TEXT_BYTES)
    # UTF-8 multibyte sequences count as text when the sample decodes
    if stripped:
        # a block after the first may start inside a character: up to 3
        # continuation bytes before the first character start
        lead = 0
        while lead < 3 and lead < len(sample) and 0x80 <= sample[lead] < 0xC0:
            lead += 1
        try:
            sample[lead:].decode("utf-8")
            return 1.0 - sample.count(0) / len(sample)
        except UnicodeDecodeError as e:
            if lead + e.start >= len(sample) - 4:  # cut in the middle of a character
                return 1.0 - sample.count(0) / len(sample)
        # not UTF-8: text in a legacy encoding still has almost no control bytes
        # (RSS feeds and pages in KOI8-R or Shift-JIS were "binary" and got plain
        # zstd -3: 10-20% larger than brotli -11 of them)
        controls = len(stripped.translate(None, _NOT_CONTROL))
        if (controls <= _LEGACY_MAX_CONTROL * len(sample)
                and len(sample) - len(stripped) >= _LEGACY_MIN_ASCII * len(sample)):
            return 1.0 - controls / len(sample)
    return 1.0 - len(stripped) / len(sample)


def _looks_numeric(sample: bytes) -> bool:
    """Fixed-width numbers show as byte lanes: at some offset modulo the width
    the bytes are far more predictable (high bytes, exponents) than at others.

    The distinct byte values of each lane (widths 8, 4, 2) come from one
    histogram of the 8 lanes (one ``np.bincount`` of the bytes offset by 256 x
    their lane): lane ``i`` of width 4 is lanes ``i`` and ``i + 4`` of width 8,
    plus the few bytes past the last whole 8-byte element (counted alone). The
    same counts as a bincount per lane of each width (14 of them: ~0.3 ms a
    64 KiB block, ~4% of compressing a numeric array; now ~0.09 ms)."""
    global _LANE_OFFSETS
    import numpy as np  # here, so FORMATS can be read (cobol --help) without NumPy
    a = np.frombuffer(sample, dtype=np.uint8)
    n8 = len(a) // 8 * 8
    if _LANE_OFFSETS is None or _LANE_OFFSETS.size < n8:
        _LANE_OFFSETS = np.tile(np.arange(8, dtype=np.uint16) * 256, max(n8, SAMPLE) // 8)
    if n8:
        # (a flat add of a tiled offset array: broadcasting over rows of 8 took longer than the count)
        hist8 = np.bincount(a[:n8] + _LANE_OFFSETS[:n8], minlength=8 * 256).reshape(8, 256)
    else:
        hist8 = np.zeros((8, 256), np.int64)
    for width in (8, 4, 2):
        n = len(a) // width * width
        if n < 64 * width:
            continue
        hist = hist8.reshape(8 // width, width, 256).sum(axis=0)
        for j in range(n8, n):  # (fewer than 8 bytes past the whole 8-byte elements)
            hist[j % width, a[j]] += 1
        distinct = np.count_nonzero(hist, axis=1)
        if int(distinct.min()) * 4 <= int(distinct.max()) and int(distinct.max()) > 32:
            return True
    return False


def _looks_numeric_reference(sample: bytes) -> bool:
    """:func:`_looks_numeric` as a bincount per lane of each width (for the tests)."""
    import numpy as np
    a = np.frombuffer(sample, dtype=np.uint8)
    for width in (8, 4, 2):
        n = len(a) // width * width
        if n < 64 * width:
            continue
        lanes = a[:n].reshape(-1, width)
        distinct = [int(np.count_nonzero(np.bincount(lanes[:, i], minlength=256))) for i in range(width)]
        if min(distinct) * 4 <= max(distinct) and max(distinct) > 32:
            return True
    return False


def _delimited(lines: list[bytes]) -> str | None:
    """CSV/TSV when most lines have the same non-zero count of one delimiter
    (the most common count, so a metadata line on top does not hide it)."""
    if len(lines) < 3:
        return None
    joined = b"\n".join(lines)
    for delim, name in ((b"\t", "tsv"), (b",", "csv"), (b";", "csv"), (b"|", "csv")):
        if joined.count(delim) < 0.8 * len(lines):
            continue  # fewer than one per line in 80% of them: counting per line cannot say yes
        counts = Counter(ln.count(delim) for ln in lines)
        common, same = counts.most_common(1)[0]
        if common and same >= 0.8 * len(lines):
            return name
    return None


def _json_fragment(head: bytes) -> bool:
    """Blocks after the first of a big JSON document start mid-document (no
    leading ``{``/``[``; a pretty-printed one even looks like CSV, one comma per
    line). A key's closing quote and colon, ``":``, at least once per 64
    bytes gives them away (CSV and prose almost never have it)."""
    # every '":' holds a '"', counted faster (one byte): prose has too few of them
    return (len(head) >= 256 and head.count(b'"') * 64 >= len(head)
            and head.count(b'":') * 64 >= len(head))


def detect(data, hint: str | None = None) -> str:
    """Return one of FORMATS for a block (only its first SAMPLE bytes are read)."""
    if hint:
        return hint
    sample = bytes(data[:SAMPLE])
    if not sample:
        return "binary"
    if sample.startswith(_BOM):
        sample = sample[3:]
    # more than 5% zero bytes (binary numbers) already puts the textiness under
    # 0.95 (a zero is no text byte, and a control byte for the legacy test):
    # counting them is ~50x faster than _textiness's pass over the sample
    if sample.count(0) * 20 > len(sample) or _textiness(sample) < 0.95:
        return "numeric" if _looks_numeric(sample) else "binary"
    head = sample.lstrip()
    if not head:
        return "text"
    first = head[:1]
    # the first 200 lines are all that is read: splitting at most 200 times
    # leaves the rest of the sample in one piece (a 64 KiB sample of short
    # lines was cut into ~2,000 lines, 0.05-0.15 ms a block). With 201 pieces
    # the last is that remainder, dropped like a cut sample's partial last line
    lines = head.split(b"\n", _MAX_LINES)
    if len(lines) > 1 and len(sample) == SAMPLE:
        lines = lines[:-1]  # the last line of a cut sample is partial
    lines = [ln.rstrip(b"\r") for ln in lines[:_MAX_LINES] if ln.strip()]
    if first in b"{[" and _JSON_START.match(head[:256]):
        if len(lines) >= 2:
            records = sum(1 for ln in lines if ln.lstrip()[:1] in (b"{", b"[") and ln.rstrip()[-1:] in (b"}", b"]"))
            if records >= 0.9 * len(lines):
                return "jsonl"
        return "json"
    if first == b"<":
        if len(lines) >= 3 and sum(1 for ln in lines if _SYSLOG_PRI.match(ln)) >= 0.6 * len(lines):
            return "log"
        if _HTML_HINT.search(head[:4096]):
            return "html"
        return "xml"
    if first == b'"' and len(lines) >= 2 and all(ln.lstrip()[:1] in (b'"', b"{", b"[") for ln in lines[:20]):
        if _delimited(lines) is None:
            return "json"
    if _json_fragment(head):
        return "json"
    if lines:
        delimited = _delimited(lines)
        if delimited == "csv" and sum(1 for ln in lines if _COMMA_MS_TIMESTAMP.match(ln)) >= 0.6 * len(lines):
            # log4j / Python logging lines ("2015-10-18 18:01:47,978 INFO ..."): the
            # one comma in every line is the timestamp's, not a column separator
            delimited = _delimited([_COMMA_MS_TIMESTAMP.sub(b"", ln, count=1) for ln in lines])
        if delimited == "csv" and sum(1 for ln in lines if _BRACKET_PREFIX.match(ln)) >= 0.6 * len(lines):
            # JVM unified logging ("[0.067s][info][gc,init] CPUs: 2 total"): the one comma
            # in most lines is in the tags; with the bracketed fields cut off the lines
            # are no columns. Coded as CSV such logs were 0.87-1.0x zstd -19 (their
            # columns zstd coded), as text (log transform or raw, brotli) 1.13-1.63x
            delimited = _delimited([_BRACKET_PREFIX.sub(b"", ln, count=1) for ln in lines])
        if delimited == "csv" and sum(1 for ln in lines if _ACCESS_LOG.match(ln)) >= 0.6 * len(lines):
            # access logs whose user agents all hold "(KHTML, like Gecko)"
            delimited = None
        if delimited:
            return delimited
        log_hits = sum(1 for ln in lines if _LOG_LINE.match(ln))
        # stack traces and continuation lines belong to the event above them:
        # they count for neither side (a Java log is mostly "\tat ..." lines)
        events = len(lines) - sum(1 for ln in lines if _CONTINUATION.match(ln))
        if log_hits >= 0.6 * events and log_hits >= 3:
            return "log"
    return "text"
