"""L2 JSON transform: byte-exact round trips of valid, invalid and odd JSON, and
hostile streams/params that must raise CobolError."""

import json
import random

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import cobol
from cobol.errors import CobolError
from cobol.layers import l2_json
from cobol.layers.l2_json import JsonTransform, Layer2Decoder, Layer2Encoder
from cobol.registry import DecodeContext, EncodeContext
from support import corpus_files, require_shared

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def roundtrip(data: bytes):
    enc = Layer2Encoder().encode(data)
    streams = [bytes(s) for s in enc.streams]
    assert Layer2Decoder().decode(streams, bytes(enc.params), len(data)) == data
    return enc


ODD = [
    b"",
    b" ",
    b"\n",
    b"{}",
    b"[]",
    b"0",
    b'""',
    b"\xef\xbb\xbf{\"a\": 1}\n",
    b'{"a": NaN, "b": Infinity, "c": -Infinity}',
    b'[1, 2, 3,]',
    b'{"a": 1,}',
    b'{"a": 1, "a": 2}',
    b'// comment\n{"a": /* inline */ 1}\n',
    b'{"a": 123456789012345678901234567890, "b": -0, "c": 1.50, "d": 1e3, "e": -0.0, "f": 0.1}',
    b'{"a": 9223372036854775807, "b": -9223372036854775808, "c": 999999999999999999, "d": 1000000000000000000}',
    b'{"a": 0.000000000000000001, "b": 1.0000000000000000001, "c": 00, "d": 01.5, "e": 1., "f": .5, "g": -}',
    '{"s": "\\ud800", "t": "\\udc00\\ud800", "u": "é\\u00e9"}'.encode(),
    '{"s": "\ud800"}'.encode("utf-8", "surrogatepass"),
    b'{"s": "\xff\xfe invalid utf-8 \xc3"}',
    b'{"a": [1, 2',
    b'"a": 1}, {"b": 2}]',
    b'}}}]]]',
    b'[[[[',
    b'"unterminated',
    b'"line\nbreak"',
    b'{"a"  :  1 , "b"\t:\t2}',
    b'{"a":1}\r\n{"a":2}\r\n',
    b'\x00\x01\x02binary\xff',
    b'{"k\\"ey": "v\\\\", "k2\\\\": "\\""}',
    b"[true,false,null,truefalse,nulll]",
    b'{"a":{"b":{"c":{"d":{"e":{"f":1}}}}}}',
    b"   \n\n  [1]  \n\n  ",
]


@pytest.mark.parametrize("data", ODD)
def test_odd_inputs_round_trip(data):
    roundtrip(data)
    assert cobol.decompress(cobol.compress(data, plan="json")) == data


def test_deep_nesting_million():
    n = 1_000_000
    for data in (b"[" * n + b"]" * n, b'{"a":' * 10000 + b"1" + b"}" * 10000, b"[" * n):
        roundtrip(data)


def test_pretty_printed_costs_almost_nothing():
    rng = random.Random(1)
    docs = [{"id": i, "name": f"item{i}", "tags": ["a", "b"][: i % 3], "v": rng.random(), "ok": True, "n": None}
            for i in range(300)]
    for indent in (2, 4, "\t"):
        data = json.dumps(docs, indent=indent).encode()
        enc = roundtrip(data)
        names = enc.stream_names
        assert len(enc.streams[names.index("ws")]) <= 1, indent  # only the missing final newline


def test_fragments_of_a_pretty_document():
    data = json.dumps({"records": [{"a": i, "b": [i, i + 1]} for i in range(200)]}, indent=2).encode()
    lines = data.split(b"\n")
    for a, b in ((5, 60), (17, len(lines)), (0, 33), (101, 102)):
        frag = b"\n".join(lines[a:b]) + b"\n"
        enc = roundtrip(frag)
        assert len(enc.streams[enc.stream_names.index("ws")]) < 20


def test_jsonl_schema_change_mid_file():
    a = b"".join(b'{"id": %d, "name": "n%d", "x": %d.5}\n' % (i, i, i) for i in range(500))
    b = b"".join(b'{"ts": %d, "event": "e%d", "tags": ["t%d"], "nested": {"k": %d}}\n' % (i, i % 7, i % 3, i)
                 for i in range(500))
    roundtrip(a + b + a)


def test_keys_as_data_does_not_explode_streams():
    rng = random.Random(2)
    doc = {f"feature_{i}_{rng.randrange(1 << 30)}": {"__compat": {"support": {
        b: {"version_added": str(rng.randrange(100))} for b in ("chrome", "firefox", "safari")},
        "status": {"experimental": rng.random() < 0.5}}} for i in range(3000)}
    enc = roundtrip(json.dumps(doc, separators=(",", ":")).encode())
    assert len(enc.streams) < 40


def test_numbers_print_back_exactly():
    vals = [0, -1, 7, 10, 1.5, -2.25, 0.001, 123.456, 1e-7, 1.5e300, 2 ** 70, -(2 ** 63), 0.30000000000000004]
    data = "\n".join(json.dumps({"x": v, "y": [v, -v if v else 0]}) for v in vals * 10).encode()
    roundtrip(data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=6), children, max_size=5),
    max_leaves=30,
)


@SETTINGS
@given(json_values, st.sampled_from([None, 0, 1, 2, 4, "\t"]),
       st.sampled_from([None, (",", ":"), (", ", ": "), (",", ": ")]), st.booleans())
def test_hypothesis_json_documents(value, indent, separators, ensure_ascii):
    data = json.dumps(value, indent=indent, separators=separators, ensure_ascii=ensure_ascii).encode(
        "utf-8", "surrogatepass")
    roundtrip(data)


@SETTINGS
@given(st.lists(json_values, min_size=1, max_size=8), st.booleans())
def test_hypothesis_json_lines(values, crlf):
    nl = b"\r\n" if crlf else b"\n"
    data = nl.join(json.dumps(v).encode() for v in values) + nl
    roundtrip(data)


@SETTINGS
@given(st.binary(max_size=2000))
def test_hypothesis_bytes(data):
    roundtrip(data)


@SETTINGS
@given(st.lists(st.sampled_from([b"{", b"}", b"[", b"]", b'"k"', b'"v"', b":", b",", b"\n", b"  ", b"\t", b"1",
                                 b"-0.50", b"true", b"null", b"NaN", b"\\", b'"', b"\xff", b"\r\n"]), max_size=300))
def test_hypothesis_token_soup(parts):
    roundtrip(b"".join(parts))


def test_conformance_suite_round_trips():
    files = sorted(p for p in require_shared("conformance/json-test-suite").rglob("*") if p.is_file())
    assert len(files) > 300
    for p in files:
        data = p.read_bytes()
        roundtrip(data)
        assert cobol.decompress(cobol.compress(data, plan="json", block_size=64)) == data, p


def test_engine_auto_plan_round_trip():
    data = b"".join(b'{"id":%d,"name":"user%d","score":%d.%02d,"active":%s}\n'
                    % (i, i % 97, i % 1000, i % 100, b"true" if i % 3 else b"false") for i in range(20000))
    blob = cobol.compress(data, level=19)
    assert cobol.decompress(blob) == data
    assert len(blob) < len(cobol.compress(data, plan="zstd", level=19))


def test_transform_declines_empty_and_is_registered():
    t = cobol.registry.get_transform(30)
    assert isinstance(t, JsonTransform) and t.name == "json"
    assert set(t.formats) == {"json", "jsonl"}
    assert t.encode(b"", EncodeContext()) is None


# ---------------------------------------------------------------- hostile input
SAMPLE = (b'{"id": 1, "name": "a\\"b", "v": [1.5, 2, -3e4, NaN], "k": {"x": null}}\n' * 40
          + b'{"id": 2, "other": true}\n')


def decode_or_cobol_error(streams, params, raw_len):
    """The hostile-input contract at the transform level: a CobolError, or
    exactly ``raw_len`` bytes (a transform must return the block's length; the
    frame's checksum then tells a wrong block from the right one)."""
    try:
        out = JsonTransform().decode(streams, params, raw_len, DecodeContext())
    except CobolError:
        return
    assert isinstance(out, bytes) and len(out) == raw_len


def test_corrupted_streams_and_params_raise_cobol_errors():
    enc = Layer2Encoder().encode(SAMPLE)
    streams = [bytes(s) for s in enc.streams]
    params = bytes(enc.params)
    rng = random.Random(3)
    for _ in range(400):
        s2 = list(streams)
        p2 = params
        what = rng.randrange(4)
        if what == 0:
            i = rng.randrange(len(s2))
            b = bytearray(s2[i])
            if b:
                for _ in range(rng.randrange(1, 4)):
                    b[rng.randrange(len(b))] = rng.randrange(256)
            s2[i] = bytes(b)
        elif what == 1:
            i = rng.randrange(len(s2))
            s2[i] = s2[i][:rng.randrange(len(s2[i]) + 1)]
        elif what == 2:
            b = bytearray(p2)
            b[rng.randrange(len(b))] = rng.randrange(256)
            p2 = bytes(b)
        else:
            if rng.random() < 0.5:
                s2.pop(rng.randrange(len(s2)))
            else:
                s2.insert(rng.randrange(len(s2) + 1), bytes(rng.randrange(256) for _ in range(rng.randrange(9))))
        decode_or_cobol_error(s2, p2, rng.choice([len(SAMPLE), len(SAMPLE) - 1, len(SAMPLE) + 5, 0]))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64), st.lists(st.binary(max_size=64), max_size=12), st.integers(0, 5000))
def test_random_params_and_streams(params, streams, raw_len):
    decode_or_cobol_error(streams, b"\x01" + params, raw_len)
    decode_or_cobol_error(streams, params, raw_len)


def test_error_messages_name_the_problem():
    enc = Layer2Encoder().encode(SAMPLE)
    streams = [bytes(s) for s in enc.streams]
    with pytest.raises(CobolError, match="json"):
        Layer2Decoder().decode(streams, bytes(enc.params), len(SAMPLE) - 1)
    skel = streams[0]
    with pytest.raises(CobolError, match="skeleton|streams"):
        Layer2Decoder().decode([skel[:-1]] + streams[1:], bytes(enc.params), len(SAMPLE))


def test_nesting_tracker():
    from cobol.layers import json_tokenizer as jt
    tr = l2_json.NestingLevelTracker(jt.tokenize(b'{"a": [1, {"b": 2}]}'))
    assert tr.max_depth == 3
    assert tr.containers.tolist() == [1, 1, 1, 0]
    assert tr.as_dict()["depth_histogram"] == tr.tokens.tolist()
    assert tr.values.tolist() == [0, 0, 1, 1]


def test_block_cut_inside_a_string_resyncs():
    from cobol.layers.l2_json import string_tail_length
    import numpy as np
    doc = json.dumps({f"key{i}": {"name": f"value number {i}", "n": i} for i in range(400)},
                     separators=(",", ":")).encode()
    cut = doc.index(b"value number 17") + 6
    frag = doc[cut:]
    assert string_tail_length(np.frombuffer(frag, np.uint8)) == len(b'number 17"')
    enc = roundtrip(frag)
    assert len(enc.streams[enc.stream_names.index("residue")]) == 0
    for cut in range(0, 200, 7):
        roundtrip(doc[cut:cut + 3000])


CORPUS = corpus_files("json", "jsonl")  # $COBOL_CORPUS/json*, else the samples


@pytest.mark.slow
@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_corpus_files_round_trip_and_beat_zstd(path):
    import zstandard
    data = path.read_bytes()[:2 << 20]
    roundtrip(data)
    blob = cobol.compress(data, level=9, plan="json", block_size=1 << 20)
    assert cobol.decompress(blob) == data
    plain = len(zstandard.ZstdCompressor(level=9).compress(data))
    assert len(blob) < plain


def test_detect_json_fragments():
    from cobol.detect import detect
    doc = json.dumps([{"name": f"item {i}", "unified": f"{i:04X}-FE0F", "n": i} for i in range(300)], indent=4).encode()
    lines = doc.split(b"\n")
    assert detect(b"\n".join(lines[7:]) + b"\n") == "json"  # pretty: one comma per line, not CSV
    mini = json.dumps({f"k{i}": {"version_added": str(i), "notes": "x y"} for i in range(300)},
                      separators=(",", ":")).encode()
    assert detect(mini[1234:]) == "json"
    assert detect(b"a,b,c\n" + b"1,2,3\n" * 100) == "csv"


@pytest.mark.parametrize("ndistinct", [5, 300, 3000])
def test_low_cardinality_columns_use_a_dictionary(ndistinct):
    rng = random.Random(ndistinct)
    names = [f'team "{i}" \u00e9' if i % 7 == 0 else f"team {i}" for i in range(ndistinct)]
    data = "".join(json.dumps({"home": rng.choice(names), "score": rng.randrange(5), "n": i}) + "\n"
                   for i in range(ndistinct * 12)).encode()
    data += b'{"home": 17, "score": "x"}\n'  # a number in the string column, a string in the number one
    for group_text in (False, True):
        enc = Layer2Encoder(group_text=group_text).encode(data)
        assert any(n.endswith("home.dict") for n in enc.stream_names)
        streams = [bytes(s) for s in enc.streams]
        assert Layer2Decoder().decode(streams, bytes(enc.params), len(data)) == data


def test_profiler_gets_nesting_and_key_dictionary_figures():
    calls = []

    class Prof:
        def start(self):
            return 0.0

        def record(self, layer, stream=None, **kw):
            calls.append((layer, kw))

    data = b'{"a": {"b": [1, 2]}, "c": "x"}\n' * 20
    enc = JsonTransform().encode(data, EncodeContext(level=3, profiler=Prof()))
    assert enc is not None
    (layer, kw), = calls
    assert layer == "l2" and kw["nesting"]["max_depth"] == 3
    assert kw["dict_size"] == 3 and kw["dict_hits"] == 60 and kw["dict_misses"] == 0
