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
