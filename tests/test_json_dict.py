"""json-dict (transform 31): JSON lines coded against a trained dictionary section."""

from __future__ import annotations

import pathlib
import random

import numpy as np
import pytest
import zstandard
from hypothesis import given, settings, strategies as st

import cobol
from cobol import CobolEngine, frame_info
from cobol.dictionary import Dictionary, train
from cobol.errors import CobolError, FormatError, LimitError
from cobol.format.wire import put_bytes, put_varint
from cobol.layers import json_dict as jd
from cobol.registry import DecodeContext, EncodeContext, transform_by_name

ROOT = pathlib.Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "jsonl" / "vega-football.jsonl"


from test_dictionary import records  # noqa: E402  (tests/ is on sys.path under pytest)


@pytest.fixture(scope="module")
def messages():
    """~100 messages; the file is in league order, so tests train on the even ones."""
    return records(SAMPLE.read_bytes())


@pytest.fixture(scope="module")
def model(messages):
    return jd.load_model(jd.train_section(messages[::2], 1 << 16))


def test_split_lines_tiles_the_input():
    data = b'{"a": 1, "b": "x\\"y"}\n  [true, null, -2.5e3]\r\nnot json "open\n"tail'
    lines = jd.split_lines(data)
    assert b"".join(x for lits, vals in lines for pair in zip(lits, vals + [b""]) for x in pair) == data
    assert lines[0] == ((b'{"a": ', b', "b": ', b'}\n'), [b"1", b'"x\\"y"'])
    assert lines[1][1] == [b"true", b"null", b"-2.5e3"]
    assert lines[2:] == [((b'not json "open\n',), []), ((b'"tail',), [])]  # unterminated: residue


def test_quantize():
    cum = jd.quantize([0, 5, 1000, 0])
    f = np.diff(cum)
    assert cum[0] == 0 and cum[-1] == jd.TOTAL and f.min() >= 1 and f.argmax() == 2
    assert np.diff(jd.quantize([0, 0, 0])).min() >= 1
    with pytest.raises(FormatError):
        jd.quantize([])


def test_round_trip_and_size(messages, model):
    test = messages[1::2]
    coded = [jd.encode_with(m, model) for m in test]
    assert all(jd.decode_with(c, len(m), model) == m for c, m in zip(coded, test))
    # a 1 KB football message costs a few bytes per record, far below zstd on its own
    z = zstandard.ZstdCompressor(level=19)
    assert sum(map(len, coded)) < 0.35 * sum(len(z.compress(m)) for m in test)


@pytest.mark.parametrize("data", [
    b"x", b"\n", b"\n\n\n", b"\x00\xff\x80" * 50, b"plain text\nwith lines\n",
    b'{"date":"2013-07-20","division":"Serie A"}',  # no newline at the end: another template
    b'{"date":"2099-01-01","division":"Nowhere","home_team":"A","away_team":"B","home_score":99,"away_score":-1}\n',
    b'{"date": "2013-07-20"}\n' * 3,
])
def test_anything_round_trips(model, data):
    assert jd.decode_with(jd.encode_with(data, model), len(data), model) == data


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(
    st.binary(max_size=30),
    st.builds(lambda d, h, a: b'{"date":"%s","division":"Serie A","home_team":"%s","away_team":"Inter",'
              b'"home_score":%d,"away_score":0}\n' % (d, h, a),
              st.sampled_from([b"2013-07-20", b"2016-05-15", b"x\\\"y"]),
              st.sampled_from([b"Juventus", b"Roma", b""]), st.integers(-5, 1000)),
), max_size=8))
def test_hypothesis_round_trip(model, parts):
    data = b"".join(parts)
    if data:
        assert jd.decode_with(jd.encode_with(data, model), len(data), model) == data


def test_hostile_streams_raise_cleanly(messages, model):
    rng = random.Random(5)
    m = messages[71]
    coded = jd.encode_with(m, model)
    for n in range(len(coded)):  # truncations: read back as zeros
        try:
            assert jd.decode_with(coded[:n], len(m), model) != m or n == len(coded)
        except FormatError:
            pass
    for _ in range(400):
        bad = bytearray(coded)
        for _ in range(rng.randint(1, 4)):
            bad[rng.randrange(len(bad))] = rng.randrange(256)
        raw_len = rng.choice([len(m), len(m) - 1, len(m) + 7, 1, 3000])
        try:
            out = jd.decode_with(bytes(bad), raw_len, model)
            assert len(out) == raw_len
        except FormatError:
            pass
    for n in (1, 10, 1000):
        for _ in range(50):
            try:
                jd.decode_with(bytes(rng.randrange(256) for _ in range(rng.randrange(64))), n, model)
            except FormatError:
                pass


def _section(body: bytes) -> bytes:
    return zstandard.ZstdCompressor().compress(body)


def _model_body(templates=((("{\"a\":", "}\n"), [0]),), columns=(([b"1"], [1, 1, 5], {49: 3, 256: 3}),),
                tcounts=(1, 9), line=None):
    out = bytearray([1])
    put_varint(out, len(templates))
    for lits, cols in templates:
        put_varint(out, len(cols))
        for lit in lits:
            put_bytes(out, lit.encode() if isinstance(lit, str) else lit)
        for c in cols:
            put_varint(out, c)
    put_varint(out, len(columns))
    for ents, counts, bm in columns:
        put_varint(out, len(ents))
        for e in ents:
            put_bytes(out, e)
        for c in counts:
            put_varint(out, c)
        _byte_model(out, bm)
        _byte_model(out, {0: 1})  # shared-prefix lengths
    for c in tcounts:
        put_varint(out, c)
    _byte_model(out, line or {10: 1, 256: 1})
    return bytes(out)


def _byte_model(out, bm):
    put_varint(out, len(bm))
    last = -1
    for s, c in sorted(bm.items()):
        put_varint(out, s - last - 1)
        put_varint(out, c)
        last = s


def test_hand_made_section_works():
    m = jd.load_model(_section(_model_body()))
    for data in (b'{"a":1}\n{"a":1}\n{"a":11}\n', b"junk"):
        assert jd.decode_with(jd.encode_with(data, m), len(data), m) == data


@pytest.mark.parametrize("body,match", [
    (b"", "version"),
    (b"\x02", "version"),
    (_model_body()[:-1], "."),
    (_model_body() + b"\x00", "after"),
    (_model_body(templates=((("{\"a\":", "}\n"), [1]),)), "column"),
    (_model_body(templates=((("", ""), [0]),)), "literal"),
    (_model_body(templates=((("{\"a\":", "}\n"), [0]), (("{\"a\":", "}\n"), [0])), tcounts=(1, 2, 3)), "twice"),
    (_model_body(columns=(([b"1", b"1"], [1, 1, 5, 5], {}),)), "distinct"),
    (_model_body(columns=(([b""], [1, 1, 5], {}),)), "distinct"),
    (_model_body(columns=(([b"1"], [1, 1, 5], {257: 1}),)), "256"),
])
def test_hostile_sections(body, match):
    with pytest.raises((FormatError, LimitError), match=match):
        jd.load_model(_section(body))


def test_hostile_section_wrapping():
    with pytest.raises(FormatError, match="zstd"):
        jd.load_model(b"not zstd at all")
    bomb = zstandard.ZstdCompressor().compress(b"\0" * (jd.MAX_MODEL + 1))
    with pytest.raises(FormatError):
        jd.load_model(bomb)
    with pytest.raises((FormatError, LimitError)):
        jd.load_model(_section(b"\x01" + b"\xff" * 10))


def test_transform_contract(messages):
    t = transform_by_name("json-dict")
    assert t.encode(messages[0], EncodeContext(fmt="jsonl")) is None  # no dictionary
    assert t.encode(messages[0], EncodeContext(fmt="jsonl", dictionary=Dictionary(b"raw", level=3))) is None
    d = Dictionary(b"", {31: jd.train_section(messages[::2], 1 << 16)}, level=3)
    enc = t.encode(messages[80], EncodeContext(fmt="jsonl", dictionary=d))
    assert enc.params == b"" and len(enc.streams) == 1
    assert t.encode(b"[1]\n" * (jd.MAX_BLOCK // 4 + 1), EncodeContext(fmt="jsonl", dictionary=d)) is None
    ctx = DecodeContext(dictionary=d)
    assert t.decode(enc.streams, b"", len(messages[80]), ctx) == messages[80]
    with pytest.raises(FormatError, match="no json-dict section"):
        t.decode(enc.streams, b"", len(messages[80]), DecodeContext())
    with pytest.raises(FormatError, match="params"):
        t.decode(enc.streams, b"\x01", len(messages[80]), ctx)
    with pytest.raises(LimitError):
        t.decode(enc.streams, b"", jd.MAX_BLOCK + 1, ctx)


def test_trained_dictionary_end_to_end(messages):
    d = train(messages[::2], size=8192, level=3)
    assert d.section(31) is not None and len(d) <= 16384
    eng = CobolEngine(3, threads=1, checksum="crc32", dictionary=d)
    zd = zstandard.train_dictionary(8192, messages[::2], level=3)
    z = zstandard.ZstdCompressor(level=3, dict_data=zd)
    test = messages[1::2]
    ours = theirs = 0
    for m in test:
        blob = eng.compress(m)
        assert blob[5] & 0x20  # a compact frame
        assert eng.decompress(blob) == m
        ours += len(blob)
        theirs += len(z.compress(m))
    assert frame_info(eng.compress(test[0])).plans == {"json-dict": 1}
    assert theirs > 1.3 * ours, (ours, theirs)
    # a message unlike the samples still round-trips (via another plan or escape lines)
    odd = b'{"completely": ["different", 1, {"x": null}]}\n' * 5 + b"\xff\xfe"
    assert cobol.decompress(cobol.compress(odd, dictionary=d), dictionary=d) == odd
    # and the frame needs exactly that dictionary
    with pytest.raises(CobolError):
        cobol.decompress(eng.compress(test[0]), dictionary=train(messages[:50], size=8192, level=3))
