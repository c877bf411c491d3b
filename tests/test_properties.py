"""Property round trips for every registered transform and entropy codec, as the
engine runs them: each transform through its registered instance (its default
settings: the JSON transform's level-3 path, the XML and HTML transforms' own
markup settings), at each level family, alone, packed in the bundle transform,
and through the engine; each codec at each level family, zstd-dict with and
without dictionary bytes.

Each strategy makes data of the transform's format. A transform may decline a
block (``encode`` returns None): the bundled sample given with ``@example`` must
be taken, so a transform that declines everything fails here.
"""

from __future__ import annotations

import csv
import io
import json

import numpy as np
from hypothesis import HealthCheck, example, given, settings, strategies as st

import cobol
from cobol import entropy
from cobol.errors import UnsupportedError
from cobol.layers import bundle
from cobol.registry import (
    DecodeContext, EncodeContext, all_transforms, get_codec, get_transform, transform_by_name,
)
from support import SAMPLES

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.data_too_large])
#: one level of each family: fast (trial sampling), default, high, PPMd (>= 19), PPMd with more orders (>= 21)
LEVELS = st.sampled_from([1, 3, 9, 19, 22])

# ------------------------------------------------------------------ data of each format

_words = st.sampled_from(["alpha", "Beta", "GAMMA", "delta", "x", "naïve", "a,b", 'say "hi"', "", " ", "1.50",
                          "-7", "2024-01-02", "true", "null", "<b>", "&amp;", "tab\there", "line\nbreak"])
_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                     st.floats(allow_nan=False, allow_infinity=False, width=32), _words)
_json_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.dictionaries(st.sampled_from(["id", "name", "v", "tags", "k"]), inner, max_size=5)),
    max_leaves=20)


@st.composite
def json_docs(draw):
    records = draw(st.lists(_json_values, min_size=1, max_size=40))
    if draw(st.booleans()):  # JSON lines
        return "".join(json.dumps(r) + "\n" for r in records).encode()
    return json.dumps(records, indent=draw(st.sampled_from([None, 1, 2, 4]))).encode()


@st.composite
def csv_docs(draw):
    ncols = draw(st.integers(1, 6))
    row = st.lists(st.one_of(st.integers(-10**6, 10**6).map(str), _words,
                             st.decimals(-1000, 1000, places=2, allow_nan=False).map(str)),
                   min_size=ncols, max_size=ncols)
    rows = draw(st.lists(row, min_size=2, max_size=80))
    out = io.StringIO()
    csv.writer(out, delimiter=draw(st.sampled_from([",", "\t", ";"])),
               lineterminator=draw(st.sampled_from(["\n", "\r\n"]))).writerows(rows)
    return out.getvalue().encode()


@st.composite
def markup_docs(draw, html: bool):
    tags = ["p", "div", "span", "a", "li", "br", "img", "td"] if html else ["item", "name", "svg:g", "value", "x"]

    def element(depth):
        tag = draw(st.sampled_from(tags))
        attrs = "".join(f' {k}="{draw(_words).replace(chr(34), "&quot;").replace("<", "&lt;")}"'
                        for k in draw(st.lists(st.sampled_from(["id", "class", "href", "k"]), max_size=2, unique=True)))
        if html and tag in ("br", "img"):
            return f"<{tag}{attrs}>"
        text = draw(_words).replace("&", "&amp;").replace("<", "&lt;")
        inner = "".join(element(depth + 1) for _ in range(draw(st.integers(0, 3 if depth < 3 else 0))))
        return f"<{tag}{attrs}>{text}{inner}</{tag}>"

    body = "\n".join(element(0) for _ in range(draw(st.integers(1, 12))))
    head = "<!DOCTYPE html>\n<html><body>\n" if html else '<?xml version="1.0" encoding="UTF-8"?>\n<root>\n'
    tail = "\n</body></html>\n" if html else "\n</root>\n"
    return (head + body + tail).encode()


@st.composite
def text_docs(draw):
    words = draw(st.lists(st.sampled_from(["the", "The", "fox", "dog", "runs", "over", "lazy", "a", "I", "café",
                                           "2024", "-", "(x)", "don't", "RUNS"]), min_size=1, max_size=400))
    seps = draw(st.lists(st.sampled_from([" ", " ", " ", ", ", ". ", "\n", "  "]), min_size=len(words),
                         max_size=len(words)))
    return "".join(w + s for w, s in zip(words, seps)).encode()


@st.composite
def log_docs(draw):
    stamp = st.sampled_from(["2026-12-05 19:36:%02d", "Dec  5 19:36:%02d", "[05/Dec/2026:19:36:%02d +0000]",
                             "17649%05d"])
    msg = st.sampled_from(["status installed libc6:amd64 2.36-9", "GET /index.html 200 5123",
                           "worker-%d took %d.%03dms", "user u%d logged in from 10.0.%d.%d", "Traceback:",
                           "  at x.y(Z.java:%d)", "\x00\xff odd bytes %d"])
    lines = []
    for _ in range(draw(st.integers(1, 60))):
        m = draw(msg)
        m = m % tuple(draw(st.integers(0, 999)) for _ in range(m.count("%")))
        lines.append(draw(stamp) % draw(st.integers(0, 59)) + " " + m)
    end = draw(st.sampled_from(["\n", "\r\n", ""]))
    return ("\n".join(lines) + end).encode("latin-1")


@st.composite
def numeric_docs(draw):
    dtype = draw(st.sampled_from(["<i2", "<i4", "<i8", "<u4", "<f4", "<f8"]))
    n = draw(st.integers(2, 3000))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    walk = np.cumsum(rng.integers(-50, 51, n))
    if dtype[1] == "f":
        arr = np.round(1000 + walk / 100, 2).astype(dtype)
    else:
        arr = (walk + (0 if dtype[1] == "i" else 10**5)).astype(dtype)
    return arr.tobytes(), {"dtype": dtype}


@st.composite
def small_numeric_docs(draw):
    """Blocks the planner gives the small numeric transform: under 2 KiB, no
    dtype hint; walks, scaled decimals, multiples, float specials, a ragged tail."""
    dtype = draw(st.sampled_from(["<i2", "<i4", "<i8", "<u8", "<f4", "<f8"]))
    size = np.dtype(dtype).itemsize
    n = draw(st.integers(0, 2040 // size))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    walk = np.cumsum(rng.integers(-50, 51, n)) * draw(st.sampled_from([1, 60, 1000]))
    if dtype[1] == "f":
        arr = np.round(draw(st.floats(-1e6, 1e6)) + walk / 100, draw(st.integers(0, 6))).astype(dtype)
        if n and draw(st.booleans()):
            arr[rng.integers(0, n, 3)] = draw(st.sampled_from([np.nan, -0.0, np.inf, 1e300, 5e-324]))
    else:
        arr = (walk + draw(st.sampled_from([0, -2**15, 2**31, 2**62]))).astype(dtype)
    return arr.tobytes() + draw(st.binary(max_size=size - 1)), {}


def _first(folder: str, limit: int = 16 << 10) -> bytes:
    data = sorted((SAMPLES / folder).iterdir())[0].read_bytes()[:limit]
    return data[:data.rfind(b"\n") + 1]


#: (transform name, detected format, strategy of (data, hints), a sample it must take)
CASES = {
    "json": ("json", json_docs().map(lambda d: (d, {})), (_first("jsonl"), {})),
    "csv": ("csv", csv_docs().map(lambda d: (d, {})), (_first("csv"), {})),
    "xml": ("xml", markup_docs(False).map(lambda d: (d, {})), (_first("xml"), {})),
    "html": ("html", markup_docs(True).map(lambda d: (d, {})), (_first("html"), {})),
    "log": ("log", log_docs().map(lambda d: (d, {})), ((SAMPLES / "log" / "local-dpkg.log").read_bytes(), {})),
    "l1": ("text", text_docs().map(lambda d: (d, {})), ((SAMPLES / "text" / "debian-policy.txt").read_bytes(), {})),
    "numeric": ("numeric", numeric_docs(), ((SAMPLES / "numeric" / "vega-flights-200k-delay.i32").read_bytes()[:40000],
                                            {"dtype": "int32"})),
    "numeric-small": ("numeric", small_numeric_docs(),
                      ((SAMPLES / "numeric" / "vega-flights-200k-delay.i32").read_bytes()[:1000], {})),
}


def test_every_registered_transform_has_a_property_test():
    # json-dict needs a shared dictionary: test_json_dict.py and the dictionary tests
    covered = set(CASES) | {"raw", "bundle", "json-dict"}
    assert {t.name for t in all_transforms()} <= covered


def _check_transform(name: str, fmt: str, data: bytes, hints: dict, level: int, must_take: bool):
    t = transform_by_name(name)
    enc = t.encode(data, EncodeContext(level=level, fmt=fmt, hints=hints))
    if must_take:
        assert enc is not None, f"{name} declined its own sample"
    if enc is not None:
        streams = [bytes(s) for s in enc.streams]
        assert t.decode(streams, bytes(enc.params), len(data), DecodeContext()) == data
        # the same streams packed into one (the bundle transform, as the planner makes it)
        packed = bundle.pack(enc)
        assert get_transform(bundle.BUNDLE_ID).decode([packed], bytes([t.id]), len(data), DecodeContext()) == data
    # and the engine, which may choose another candidate (strict: none may fail its check)
    blob = cobol.compress(data, level=level, hints=hints, fmt=fmt)
    assert cobol.decompress(blob) == data


def _property(name):
    fmt, strategy, sample = CASES[name]

    @SETTINGS
    @given(case=strategy, level=LEVELS)
    @example(case=sample, level=3)
    @example(case=sample, level=19)
    def test(case, level):
        data, hints = case
        _check_transform(name, fmt, data, hints, level, must_take=case is sample)

    test.__name__ = f"test_{name.replace('-', '_')}_transform_round_trips"
    return test


test_json_transform_round_trips = _property("json")
test_csv_transform_round_trips = _property("csv")
test_xml_transform_round_trips = _property("xml")
test_html_transform_round_trips = _property("html")
test_l1_transform_round_trips = _property("l1")
test_numeric_transform_round_trips = _property("numeric")
test_numeric_small_transform_round_trips = _property("numeric-small")


@SETTINGS
@given(data=st.binary(max_size=3000), level=LEVELS)
def test_raw_transform_and_any_bytes_round_trip(data, level):
    t = get_transform(0)
    enc = t.encode(data, EncodeContext(level=level))
    assert t.decode([bytes(s) for s in enc.streams], bytes(enc.params), len(data), DecodeContext()) == data
    assert cobol.decompress(cobol.compress(data, level=level)) == data


# ------------------------------------------------------------------ entropy codecs

_stream_data = st.one_of(st.binary(min_size=1, max_size=6000), text_docs(), json_docs())


@SETTINGS
@given(data=_stream_data, level=LEVELS)
def test_zstd_and_none_codecs_round_trip(data, level):
    for name in ("none", "zstd"):
        codec = get_codec({"none": entropy.NONE, "zstd": entropy.ZSTD}[name])
        assert codec.decode(codec.encode(data, level), len(data)) == data, name
    codec_id, coded = entropy.entropy_code(data, level)
    assert get_codec(codec_id).decode(coded, len(data)) == data


@SETTINGS
@given(data=_stream_data, level=LEVELS, zdict=st.sampled_from([b"", _first("jsonl", 4096), _first("text", 4096)]))
def test_zstd_dict_codec_round_trips(data, level, zdict):
    codec = get_codec(entropy.ZSTD_DICT)
    assert codec.decode(codec.encode(data, level, zdict), len(data), zdict) == data
    codec_id, coded = entropy.entropy_code(data, level, zdict)
    assert codec_id in (entropy.NONE, entropy.ZSTD_DICT)
    assert get_codec(codec_id).decode(coded, len(data), zdict) == data


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.one_of(text_docs(), json_docs(), st.binary(min_size=1, max_size=3000)),
       level=st.sampled_from([19, 21, 22]))
def test_ppmd_codec_round_trips_at_each_order_of_the_level(data, level):
    codec = get_codec(entropy.PPMD)
    assert codec.decode(codec.encode(data, level), len(data)) == data
    for order in entropy.ppmd_orders(level):
        coded = entropy._ppmd_encode(data, *entropy.ppmd_params(level, len(data), order))
        assert codec.decode(coded, len(data)) == data, order
    codec_id, coded = entropy.entropy_code(data, level, ppmd=True)
    assert get_codec(codec_id).decode(coded, len(data)) == data


@SETTINGS
@given(data=_stream_data, quality=st.sampled_from([0, 4, 5, 8, 11]))
def test_brotli_codec_round_trips_at_each_quality(data, quality):
    codec = get_codec(entropy.BROTLI)
    assert codec.decode(entropy.brotli_encode(data, quality), len(data)) == data


_hex_piece = st.one_of(
    st.binary(max_size=24),
    st.integers(15, 80).flatmap(lambda n: st.text("0123456789abcdef", min_size=n, max_size=n)).map(str.encode),
    st.integers(15, 80).flatmap(lambda n: st.text("0123456789ABCDEF", min_size=n, max_size=n)).map(str.encode),
)


@SETTINGS
@given(pieces=st.lists(_hex_piece, min_size=1, max_size=80), rest_codec=st.sampled_from([0, 1, 4]),
       level=st.sampled_from([1, 3, 19]))
def test_hex_codec_round_trips(pieces, rest_codec, level):
    # streams of hex runs among other bytes: packed where there are enough
    # digits (hexcodec.packable), else the codec declines (None)
    data = b"".join(pieces) * 6
    coded = entropy.hex_encode(data, rest_codec, level, 5)
    if coded is not None:
        assert get_codec(entropy.HEX).decode(coded, len(data)) == data


def test_every_registered_codec_has_a_property_test():
    tested = {entropy.NONE, entropy.ZSTD, entropy.ZSTD_DICT, entropy.PPMD, entropy.BROTLI, entropy.HEX}
    for cid in range(256):
        try:
            get_codec(cid)
        except UnsupportedError:
            continue
        assert cid in tested, f"codec {cid} has no property test here"
