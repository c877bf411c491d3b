"""Format sniffing on small synthetic inputs shaped like the dev corpus."""

import json
import os
import struct

import numpy as np
import pytest

from cobol.detect import detect

CASES = {
    "json": json.dumps({"a": [1, 2, {"b": "c"}], "d": None}, indent=2).encode(),
    "jsonl": b"".join(json.dumps({"id": i, "v": "x" * (i % 5)}).encode() + b"\n" for i in range(50)),
    "xml": b'<?xml version="1.0"?>\n<root><item id="1">x</item></root>\n',
    "html": b"<!DOCTYPE html>\n<html><head><title>t</title></head><body><p>hi</p></body></html>",
    "csv": b"date,price,name\n" + b"".join(b"2020-01-%02d,%d.5,n%d\n" % (i % 28 + 1, i, i) for i in range(50)),
    "tsv": b"a\tb\tc\n" + b"1\t2\t3\n" * 20,
    "log": b"".join(b"2024-05-01 10:%02d:00 INFO service started worker %d\n" % (i % 60, i) for i in range(40)),
    "text": b"It was the best of times, it was the worst of times, it was the age of wisdom.\n"
            b"There were a king with a large jaw and a queen with a plain face.\n"
            b"In both countries it was clearer than crystal to the lords of the State.\n"
            b"It was the year of Our Lord one thousand seven hundred and seventy-five.\n",
    "numeric": np.cumsum(np.arange(20000, dtype=np.int64) % 7).tobytes(),
    "binary": os.urandom(20000),
}


@pytest.mark.parametrize("fmt", sorted(CASES))
def test_detect(fmt):
    assert detect(CASES[fmt]) == fmt


def test_detect_edge_cases():
    assert detect(b"") == "binary"
    assert detect(b"\xef\xbb\xbf{\"a\": 1}") == "json"
    assert detect(b"[14 Jan 10:36] --> joined\n" * 10) == "log"
    assert detect(b"   \n\n") == "text"
    assert detect(struct.pack("<1000d", *[i * 0.5 for i in range(1000)])) == "numeric"
    assert detect(b"anything", "csv") == "csv"


def test_log4j_comma_timestamps_are_log_not_csv():
    # "18:01:47,978": the only comma of each line is the timestamp's
    log4j = b"".join(b"2015-10-18 18:01:%02d,%03d INFO [main] org.example.App: step %d done\n" % (i % 60, i * 7 % 1000, i)
                     for i in range(40))
    assert detect(log4j) == "log"
    # a CSV whose first column is such a timestamp keeps its other commas
    rows = b"".join(b"2015-10-18 18:01:%02d,%03d,%d,%d\n" % (i % 60, i, i * 3, i * 5) for i in range(40))
    assert detect(rows) == "csv"


def test_jvm_unified_logging_is_not_csv():
    # "[0.067s][info][gc,init]": the one comma of most lines is between the tags
    tags = (b"gc,init", b"gc", b"gc,heap", b"class,load", b"gc,cpu")
    jvm = b"".join(b"[%d.%03ds][info][%s] GC(%d) Pause Young (Normal) %dM->%dM(48M) %d.%03dms\n"
                   % (i // 100, i % 1000, tags[i % 5], i, 20 + i % 9, 5 + i % 4, i % 7, i * 13 % 1000) for i in range(60))
    assert detect(jvm) != "csv"
    # a CSV whose first column is bracketed keeps its commas
    rows = b"".join(b"[id%d],%d,%d,x%d\n" % (i, i * 3, i * 5, i) for i in range(40))
    assert detect(rows) == "csv"


def test_more_log_layouts():
    pri = b"".join(b"<%d>Oct 11 22:14:%02d mymachine su[%d]: 'su root' failed for lonvick on /dev/pts/8\n" % (
        34 + i % 3, i % 60, 100 + i) for i in range(20))
    assert detect(pri) == "log"
    pri5424 = b"".join(b"<165>1 2003-10-11T22:14:%02d.003Z mymachine.example.com evntslog - ID47 - event %d\n" % (i, i)
                       for i in range(20))
    assert detect(pri5424) == "log"
    access = b"".join(b'host%d.example.com - frank [10/Oct/2000:13:55:%02d -0700] "GET /a%d.gif HTTP/1.0" 200 2326\n'
                      % (i % 4, i, i) for i in range(20))
    assert detect(access) == "log"
    nginx = b"".join(b"2024/01/01 10:00:%02d [error] 123#0: *%d open() failed (2: No such file or directory)\n" % (i, i)
                     for i in range(20))
    assert detect(nginx) == "log"
    assert detect(b"<root>\n<a>1</a>\n<b>2</b>\n</root>\n") == "xml"
    ua = b'"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/32.0 Safari/537.36"'
    combined = b"".join(b'10.0.0.%d - - [17/Jan/2021:10:05:%02d +0000] "GET /p%d HTTP/1.1" 200 %d "-" %s\n'
                        % (i % 9, i, i, 100 + i, ua) for i in range(30))
    assert detect(combined) == "log"


_RUSSIAN = ("Москва - столица России, город федерального значения. "
            "Крупнейший по численности населения город страны и её субъект. ") * 40
_JAPANESE = "東京都は日本の首都であり、関東地方に位置する。人口は約千四百万人である。" * 60


@pytest.mark.parametrize("encoding", ["koi8-r", "windows-1251", "iso-8859-5"])
def test_legacy_encoded_markup_and_prose_are_not_binary(encoding):
    # RSS feeds and pages in legacy encodings were "binary" (high bytes, no UTF-8)
    # and got plain zstd -3: 10-20% larger than brotli -11 of them
    body = _RUSSIAN.encode(encoding)
    feed = (f'<?xml version="1.0" encoding="{encoding}"?>\n<rss><channel>\n'.encode()
            + b"".join(b"<item><title>%s</title><link>http://example.ru/%d</link></item>\n" % (body[i:i + 90], i)
                       for i in range(0, len(body) - 90, 90))
            + b"</channel></rss>\n")
    assert detect(feed) == "xml"
    assert detect(body) == "text"


@pytest.mark.parametrize("encoding", ["shift_jis", "euc-jp"])
def test_legacy_cjk_html_is_html(encoding):
    page = (b"<!DOCTYPE html>\n<html><head><meta charset=\"" + encoding.encode() + b"\"></head><body>\n"
            + b"".join(b"<p class=\"t\">" + _JAPANESE[i:i + 30].encode(encoding) + b"</p>\n"
                       for i in range(0, len(_JAPANESE), 30))
            + b"</body></html>\n")
    assert detect(page) == "html"


def test_utf8_block_starting_inside_a_character_is_text():
    text = _RUSSIAN.encode("utf-8")
    assert text[1:2] >= b"\x80"  # the second byte of "М" is a continuation byte
    assert detect(text[1:]) == "text"


def test_high_bytes_without_text_stay_binary():
    rng = np.random.default_rng(5)
    assert detect(rng.integers(0, 256, 50000, dtype=np.uint8).tobytes()) == "binary"
    assert detect(rng.integers(128, 256, 50000, dtype=np.uint8).tobytes()) == "binary"  # no ASCII at all
    # high bytes with ASCII but one control byte in 100: not legacy text
    noisy = bytearray(_RUSSIAN.encode("koi8-r"))
    noisy[::100] = b"\x01" * len(noisy[::100])
    assert detect(bytes(noisy)) == "binary"


def test_lane_counts_from_one_histogram_match_a_count_per_lane():
    """_looks_numeric derives the lanes of widths 4 and 2 from one 8-lane
    histogram (plus the bytes past the last 8-byte element): the same answer as
    counting every lane of every width on its own, on lengths that leave 0-7
    such bytes and on data that passes and fails the test."""
    from cobol.detect import _looks_numeric, _looks_numeric_reference
    rng = np.random.default_rng(7)
    seen = set()
    for n in (0, 7, 127, 128, 129, 255, 256, 511, 512, 515, 1021, 1024, 4099, 65533, 65536):
        for dtype, top in ((np.uint16, 300), (np.uint32, 1 << 20), (np.uint64, 1 << 40), (np.uint8, 256),
                           (np.float64, None), (np.float32, None)):
            if top is None:
                vals = rng.normal(0, 1000, n // np.dtype(dtype).itemsize + 1).astype(dtype)
            else:
                vals = rng.integers(0, top, n // np.dtype(dtype).itemsize + 1).astype(dtype)
            for cut in (0, 1, 3):
                sample = vals.tobytes()[cut:cut + n]
                got = _looks_numeric(sample)
                assert got == _looks_numeric_reference(sample), (n, dtype, cut)
                seen.add(got)
    assert seen == {True, False}


def test_blocks_with_over_5_percent_zero_bytes_are_never_text():
    """detect skips _textiness for samples with more than 5% zero bytes: such a
    sample always scores under 0.95 there (valid UTF-8 with NULs, legacy-looking
    bytes, binary), so the answer is the same."""
    from cobol.detect import _textiness
    rng = np.random.default_rng(3)
    text = ("Ünïcode prose, plain ASCII words and digits 0123456789. " * 200).encode()
    for share in (0.051, 0.06, 0.2, 0.9):
        for body in (text, bytes(rng.integers(128, 256, 4000, dtype=np.uint8)),
                     bytes(rng.integers(32, 127, 4000, dtype=np.uint8))):
            b = bytearray(body[:4000])
            k = int(share * len(b)) + 1
            for i in rng.choice(len(b), k, replace=False):
                b[i] = 0
            assert bytes(b).count(0) * 20 > len(b)
            assert _textiness(bytes(b)) < 0.95
            assert detect(bytes(b)) in ("numeric", "binary")
