"""L2 JSON transform: byte-exact round trips of valid, invalid and odd JSON, and
hostile streams/params that must raise CobolError."""

import json
import random

import numpy as np
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
    # (at least 1000 records: on 60 of them the ids and dictionary streams cost
    # more than the 5 names do as text, and the trial rightly keeps them text)
    rng = random.Random(ndistinct)
    names = [f'team "{i}" \u00e9' if i % 7 == 0 else f"team {i}" for i in range(ndistinct)]
    data = "".join(json.dumps({"home": rng.choice(names), "score": rng.randrange(5), "n": i}) + "\n"
                   for i in range(max(ndistinct * 12, 1000))).encode()
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


# ---------------------------------------------------------------- repeated subtrees (params version 2)
def _webhook_events(n=6):
    """Webhook-style JSON lines: the repository object pasted into every event, the
    user both as sender and inside an issue (the same object under two paths)."""
    repo = {"id": 1296269, "full_name": "octocat/Hello-World", "owner": {"login": "octocat", "id": 1, "type": "User"},
            "html_url": "https://github.com/octocat/Hello-World", "description": "This your first repo!", "fork": False}
    user = {"login": "hubot", "id": 2, "avatar_url": "https://avatars.example/u/2", "type": "Bot", "site_admin": False}
    lines = []
    for i in range(n):
        ev = {"action": ["opened", "closed"][i % 2], "number": i, "repository": repo, "sender": user}
        if i % 3 == 2:
            ev["issue"] = {"id": 100 + i, "user": user, "title": f"bug {i}"}
        lines.append(json.dumps(ev, separators=(",", ":")))
    return ("\n".join(lines) + "\n").encode()


#: cobol.compress(_webhook_events(), level=3, plan="json") when params version 2
#: (subtree references) was introduced: frames written then must keep decoding
WEBHOOK_V2_FRAME = bytes.fromhex(
    "434f424c01018080800462c981b901e80200e81200000101b902e812bf2aca026b0df1d6ccc9af922851ea284c0175145ff7d160b69f4c5c98fa6b9d86489c0728b52ffd001085090056d03322506b9b03488423117b4cd6e3b77f4bdb7d97585d33e33794991089a0837c6722626a29002a002a000f7b0ce762f32458a8058152ac33ed8f7507dc6ebc90c267621daaf2c4f73ca34fa1fdfadbd60bfb234eb7464a8ba16ee7eb0e46867bda794687ca0890a39ff9d71aebfe780cebe02604ac736a909a2ddb8b060c59b305f654ab448779cacf48d9b1665d016ef33c00d20c5b83c0b80e849b730035b8b032e9d905a1c487287a922403025748232aae5b3fe353253432b7a752f0bae5103d0c6368372eb84a31a9831ed6a088222070429983ba0316a9dca2198050ef586200513daf5456351aa6500046d473bd63d676045d4085015dbd63ccd134f58243ca641076429c60a197358ea2e8001cf4b30941749666385b475c63b4fa04836e7e60d51a651b17b21dbc85cd0001e81287bd9845")


def test_version2_frame_fixture_decodes():
    assert cobol.decompress(WEBHOOK_V2_FRAME) == _webhook_events()


def _dependency_events(n=300):
    """Events that paste two of 40 components each (the dependant and the
    dependency: one object under two paths), as an SBOM's dependency feed does."""
    rng = random.Random(7)
    comps = [{"name": f"lib{i}", "version": f"{i % 7}.{i % 5}.{i}", "purl": f"pkg:maven/org.example/lib{i}@{i}",
              "hashes": [{"alg": "SHA-256", "content": "%064x" % rng.getrandbits(256)}],
              "licenses": [{"license": {"id": rng.choice(["MIT", "Apache-2.0", "EPL-2.0"])}}]} for i in range(40)]
    lines = [json.dumps({"action": "dependency_added", "seq": i, "component": rng.choice(comps),
                         "dependency": rng.choice(comps)}, separators=(",", ":")) for i in range(n)]
    return ("\n".join(lines) + "\n").encode()


def test_repeated_subtrees_become_references():
    data = _dependency_events()
    enc = roundtrip(data)
    assert enc.params[0] == 2 and "refs" in enc.stream_names and "subtrees" in enc.stream_names
    plain = Layer2Encoder(min_subtree=0).encode(data)
    assert plain.params[0] == 1 and "refs" not in plain.stream_names
    assert Layer2Decoder().decode([bytes(s) for s in plain.streams], bytes(plain.params), len(data)) == data
    # each component is written once: every later copy is a reference
    refs = l2_json.find_repeated_subtrees(jt_u8(data), *_tok(data))
    assert refs.count >= 2 * 300 - 40 and refs.def_len.max() >= 200
    import zstandard
    z = zstandard.ZstdCompressor(level=19)
    size = lambda e: sum(len(z.compress(bytes(s))) for s in e.streams)  # noqa: E731
    assert size(enc) < size(plain) and size(enc) < len(z.compress(data))


def jt_u8(data):
    from cobol.layers import json_tokenizer
    return json_tokenizer.as_u8(data)


def _tok(data):
    from cobol.layers import json_tokenizer
    tok = json_tokenizer.tokenize(data)
    return tok.kinds, tok.starts


def test_no_repeats_keeps_version_1():
    data = b'{"a": [1, 2, 3], "b": {"c": "d"}}\n' * 3  # repeats, but all under 128 bytes
    assert roundtrip(data).params[0] == 1


@SETTINGS
@given(st.lists(json_values, min_size=1, max_size=8), st.integers(1, 40))
def test_hypothesis_references_of_any_size(values, min_subtree):
    """Every repeated object/array, however small, as a reference: lines repeat
    some values (so references happen) at several depths and in pretty print."""
    docs = values + values[::2] + [[v, {"again": v}] for v in values[:3]]
    for data in ("\n".join(json.dumps(v) for v in docs).encode() + b"\n",
                 json.dumps(docs, indent=1).encode()):
        enc = Layer2Encoder(min_subtree=min_subtree).encode(data)
        assert Layer2Decoder().decode([bytes(s) for s in enc.streams], bytes(enc.params), len(data)) == data


def _v2_parts():
    data = _webhook_events(12)
    enc = Layer2Encoder().encode(data)
    names = list(enc.stream_names)
    return data, [bytes(s) for s in enc.streams], bytes(enc.params), names.index("subtrees"), names.index("refs")


def test_hostile_references_raise_format_errors():
    from cobol.layers.intcodec import encode_ints
    import numpy as np
    data, streams, params, si, ri = _v2_parts()
    refs = l2_json.find_repeated_subtrees(jt_u8(data), *_tok(data))
    n = refs.def_start.size
    gaps = np.diff(refs.def_start, prepend=0)

    def bad(subtrees=None, ref_ids=None, match="json"):
        s2 = list(streams)
        if subtrees is not None:
            s2[si] = encode_ints(np.asarray(subtrees, np.int64))
        if ref_ids is not None:
            s2[ri] = encode_ints(np.asarray(ref_ids, np.int64))
        with pytest.raises(CobolError, match=match):
            Layer2Decoder().decode(s2, params, len(data))

    bad(ref_ids=np.append(refs.ref_ids, 0), match="streams not fully consumed|refs")
    bad(ref_ids=refs.ref_ids[:-1], match="refs stream exhausted")
    bad(ref_ids=np.where(np.arange(refs.count) == 0, n, refs.ref_ids), match="subtree id out of range")
    bad(ref_ids=np.where(np.arange(refs.count) == 0, -1, refs.ref_ids), match="subtree id out of range")
    # a def that starts where its first reference is being written: not yet written
    later = np.concatenate((gaps, refs.def_len))
    later[0] = len(data) - refs.def_len[0]
    bad(subtrees=later, match="not yet written|out of range|decoded")
    bad(subtrees=np.concatenate((gaps, refs.def_len * 0)), match="out of range")
    bad(subtrees=np.concatenate((gaps, [len(data) + 1] * n)), match="out of range")
    bad(subtrees=np.append(np.concatenate((gaps, refs.def_len)), 5), match="odd")
    bad(subtrees=np.concatenate((gaps, refs.def_len))[:-1], match="odd")
    # a reference symbol in a version-1 block
    plain = Layer2Encoder(min_subtree=0).encode(data)
    s1 = [bytes(s) for s in plain.streams]
    from cobol.layers.l2_json.symbols import S_REF_OBJ
    s1[0] = bytes([S_REF_OBJ]) + s1[0]
    with pytest.raises(CobolError, match="refs stream exhausted"):
        Layer2Decoder().decode(s1, bytes(plain.params), len(data))
    # the two extra streams missing, or trailing bytes after either
    with pytest.raises(CobolError):
        Layer2Decoder().decode(streams[:si] + streams[ri + 1:], params, len(data))
    for i in (si, ri):
        s2 = list(streams)
        s2[i] = s2[i] + b"\x00"
        with pytest.raises(CobolError):
            Layer2Decoder().decode(s2, params, len(data))


def _corrupt_streams_and_decode(streams, params, n, favoured, rng, rounds=300):
    """Decode ``rounds`` copies of a block with one stream (often one of the
    ``favoured`` ones) flipped or cut: each must decode or raise a CobolError."""
    for _ in range(rounds):
        s2 = list(streams)
        i = rng.choice([*favoured, rng.randrange(len(s2))])
        b = bytearray(s2[i])
        if b and rng.random() < 0.7:
            for _ in range(rng.randrange(1, 3)):
                b[rng.randrange(len(b))] = rng.randrange(256)
        else:
            b = b[:rng.randrange(len(b) + 1)]
        s2[i] = bytes(b)
        decode_or_cobol_error(s2, params, n)


def test_corrupted_version2_streams_raise_cobol_errors():
    data, streams, params, si, ri = _v2_parts()
    _corrupt_streams_and_decode(streams, params, len(data), (0, si, ri), random.Random(5))


def test_subtree_lookup_survives_hash_collisions():
    """Thue-Morse strings collide under any polynomial hash mod 2**64: spans made
    of them have equal hashes and lengths but different bytes. They must neither
    be taken as references nor make the lookup slow (one bounded compare each)."""
    def thue_morse(n):
        return [bin(i).count("1") % 2 for i in range(n)]
    tm = thue_morse(2048)
    a = "".join("ab"[x] for x in tm)
    b = "".join("ba"[x] for x in tm)
    docs = [[a], [b]] * 200
    data = ("\n".join(json.dumps(d) for d in docs) + "\n").encode()
    enc = roundtrip(data)
    refs = l2_json.find_repeated_subtrees(jt_u8(data), *_tok(data))
    # the [a] lines become references to the first one; every [b] line collides with
    # it (same hash and length, other bytes) and stays in the columns
    assert refs is not None and refs.count == 199 and refs.def_start.size == 1
    assert enc.params[0] == 2


def test_small_block_keeps_a_low_cardinality_column_as_text_below_level_6():
    # 60 records: two more streams (ids, dictionary) cost more than the 5 names
    # add to the string values as text, which the level-3 trial measures in context
    rng = random.Random(5)
    names = [f"team {i}" for i in range(5)]
    data = "".join(json.dumps({"home": rng.choice(names), "score": rng.randrange(5), "n": i}) + "\n"
                   for i in range(60)).encode()
    enc = Layer2Encoder(group_text=False).encode(data)
    assert not any(n.endswith("home.dict") for n in enc.stream_names)
    assert Layer2Decoder().decode([bytes(s) for s in enc.streams], bytes(enc.params), len(data)) == data


def _text_spans(values):
    """(buffer, starts, ends, cumulative sizes) of string values laid out as the
    text trial sees them: each value then a quote."""
    import numpy as np
    buf = "".join(v + '"' for v in values).encode()
    lens = np.array([len(v.encode()) for v in values], np.int64)
    ends = np.cumsum(lens + 1) - 1
    starts = ends - lens
    return np.frombuffer(buf, np.uint8), starts, ends, np.cumsum(lens + 1)


def test_brotli_confirms_one_text_stream_only_where_it_pays():
    import numpy as np
    from cobol.layers.l2_json.transform import _together_smaller_with_brotli
    rng = random.Random(7)
    # an id echoed in the next value (a url that repeats it): together wins
    ids = ["".join(rng.choice("abcdefghijklmnop0123456789") for _ in range(12)) for _ in range(400)]
    values = [v for i in ids for v in (i, "https://example.org/items/" + i)]
    buf, a, b, cum = _text_spans(values)
    groups = np.tile(np.array([0, 1]), len(ids))
    assert _together_smaller_with_brotli(buf, a, b, groups, cum)
    # short codes beside unrelated numbers-as-text: each column is homogeneous,
    # interleaving them only mixes two statistics
    values = [v for _ in range(2000) for v in (rng.choice(["I", "L", "S", "M"]), str(rng.randrange(10**9)))]
    buf, a, b, cum = _text_spans(values)
    groups = np.tile(np.array([0, 1]), 2000)
    assert not _together_smaller_with_brotli(buf, a, b, groups, cum)


def test_trial_frames_handed_to_the_planner_are_frames_of_their_streams():
    import zstandard
    rng = random.Random(11)
    data = "".join(json.dumps({"kind": rng.choice(["a", "b", "c"]), "name": f"item {rng.randrange(10**6)}",
                               "url": f"https://example.org/{i}", "note": rng.choice(["x", "yy", "zzz"]) * 3})
                   + "\n" for i in range(400)).encode()
    enc = Layer2Encoder(group_text=False).encode(data)
    assert enc.zstd_frames  # the text (and any dictionary) streams were compressed by the trials
    for i, (level, frame) in enc.zstd_frames.items():
        assert level == 3
        assert zstandard.ZstdDecompressor().decompress(frame, max_output_size=len(enc.streams[i]) + 1) \
            == bytes(enc.streams[i])
    blob = cobol.compress(data, level=3)
    assert cobol.decompress(blob) == data


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(["a", "bb", "c\\\"d", "\u00e9t\u00e9", ""]),
                          st.sampled_from(["x", "y"]), st.text(max_size=12), st.integers(-5, 5)),
                min_size=40, max_size=200),
       st.booleans())
def test_hypothesis_low_cardinality_records_below_level_6(rows, pretty):
    # the level-3 path: dictionary trial in context, one-text-stream trial, trial frames
    import zstandard
    data = "".join(json.dumps({"k": k, "t": t, "s": s, "n": n}, indent=1 if pretty else None) + "\n"
                   for k, t, s, n in rows).encode("utf-8", "surrogatepass")
    enc = Layer2Encoder(group_text=False).encode(data)
    streams = [bytes(s) for s in enc.streams]
    assert Layer2Decoder().decode(streams, bytes(enc.params), len(data)) == data
    for i, (_, frame) in (enc.zstd_frames or {}).items():
        assert zstandard.ZstdDecompressor().decompress(frame, max_output_size=len(streams[i]) + 1) == streams[i]
    assert cobol.decompress(cobol.compress(data, level=3)) == data


# ---------------------------------------------------------------- repeated string values (params version 3)
def _sbom_lines(n=40):
    """An SBOM's components, then its dependency graph: every edge repeats two
    components' purls (70+ bytes each) far from where they were defined."""
    rng = random.Random(11)
    purls = [f"registry+https://github.com/rust-lang/crates.io-index#crate-number-{i}@{i % 3}.{i % 7}.{i}"
             for i in range(n)]
    lines = [json.dumps({"type": "library", "bom-ref": p, "size": rng.randrange(10 ** 6), "pos": [i, i * 3 + 1],
                         "score": round(rng.random(), 3)}, separators=(",", ":")) for i, p in enumerate(purls)]
    lines += [json.dumps({"ref": rng.choice(purls), "dependsOn": rng.sample(purls, 2)}, separators=(",", ":"))
              for _ in range(n)]
    return ("\n".join(lines) + "\n").encode()


#: Layer2Encoder().encode(_sbom_lines(6)) (params, streams) when params version 3
#: (string value references) was introduced: blocks written then must keep
#: decoding (a block this small is stored raw by the planner, so the fixture is
#: the transform's layout rather than a frame)
SBOM_V3_BLOCK = (
    '0300002000000000000000060101070318000040',
    ['04100a09100a09100b0910060b090b0709100b0504100a09100a09100b0910060b090b0709100b0504100a09100a09100b0910060b090b0709100b0504100a09100a09100b0910060b090b0709100b0504100a09100a09100b0910060b090b0709100b0504100a09100a09100b0910060b090b0709100b0504101309100613091307050410130910061309130705041013091006130913070504101309100613091307050410130910061309130705041013091006130913070503',
     '',
     '',
     '00',
     '030303000303030003030300030303000303030003030301',
     '0100',
     '0100',
     '0112000112800402000464643377223700142b',
     '74797065226c69627261727922626f6d2d7265662272656769737472792b68747470733a2f2f6769746875622e636f6d2f727573742d6c616e672f6372617465732e696f2d696e6465782363726174652d6e756d6265722d3040302e302e302273697a6522706f732273636f72652274797065226c69627261727922626f6d2d7265662272656769737472792b68747470733a2f2f6769746875622e636f6d2f727573742d6c616e672f6372617465732e696f2d696e6465782363726174652d6e756d6265722d3140312e312e312273697a6522706f732273636f72652274797065226c69627261727922626f6d2d7265662272656769737472792b68747470733a2f2f6769746875622e636f6d2f727573742d6c616e672f6372617465732e696f2d696e6465782363726174652d6e756d6265722d3240322e322e322273697a6522706f732273636f72652274797065226c69627261727922626f6d2d7265662272656769737472792b68747470733a2f2f6769746875622e636f6d2f727573742d6c616e672f6372617465732e696f2d696e6465782363726174652d6e756d6265722d3340302e332e332273697a6522706f732273636f72652274797065226c69627261727922626f6d2d7265662272656769737472792b68747470733a2f2f6769746875622e636f6d2f727573742d6c616e672f6372617465732e696f2d696e6465782363726174652d6e756d6265722d3440312e342e342273697a6522706f732273636f72652274797065226c69627261727922626f6d2d7265662272656769737472792b68747470733a2f2f6769746875622e636f6d2f727573742d6c616e672f6372617465732e696f2d696e6465782363726174652d6e756d6265722d3540322e352e352273697a6522706f732273636f72652272656622646570656e64734f6e2272656622646570656e64734f6e2272656622646570656e64734f6e2272656622646570656e64734f6e2272656622646570656e64734f6e2272656622646570656e64734f6e22',
     '0118000118800404041e0e06501100803e880d080bfa00fa700ec824f481b51107a039ee02712e09300fe8832c930ca832e204e8db098020062946dc8d751a9d70b58a0bbc1d',
     '000000000000'])


def test_version3_block_fixture_decodes():
    params, streams = SBOM_V3_BLOCK
    params, streams = bytes.fromhex(params), [bytes.fromhex(s) for s in streams]
    data = _sbom_lines(6)
    assert params[0] == 3
    from cobol.layers.l2_json.symbols import S_REF_STR
    assert streams[0].count(bytes([S_REF_STR])) >= 3 * 6
    assert Layer2Decoder().decode(streams, params, len(data)) == data
    assert JsonTransform().decode(streams, params, len(data), DecodeContext()) == data


def test_repeated_long_strings_become_references():
    data = _sbom_lines()
    enc = roundtrip(data)
    assert enc.params[0] == 3 and enc.stream_names[5:8] == ["subtrees", "refs", "strrefs"]
    refs = l2_json.find_repeated_subtrees(jt_u8(data), *_tok(data), min_str=l2_json.MIN_STRING_REF_BYTES)
    # every purl after its bom-ref is a reference (3 per dependency line), by
    # ordinal distance to its latest occurrence; no subtree repeats
    assert refs.string_refs == 3 * 40 and refs.count == 0 and refs.def_start.size == 0
    assert refs.str_dists.min() >= 0 and refs.str_dists.max() < 40 + 3 * 40
    from cobol.layers.l2_json.symbols import S_REF_STR
    assert bytes(enc.streams[0]).count(bytes([S_REF_STR])) >= 3 * 40
    # without string references: version 1, the purls stay in the text (the word
    # layer off: with the purls back in the text, its trial may take them)
    plain = Layer2Encoder(min_string=0, word_code=False).encode(data)
    assert plain.params[0] == 1
    text = lambda e: sum(len(s) for s, nm in zip(e.streams, e.stream_names) if nm.startswith("text"))  # noqa: E731
    assert text(enc) < text(plain) - 3 * 40 * 70
    # short repeated strings stay values; a few long ones (under 2% of the block) too
    assert roundtrip(b'{"a": "short", "b": "short"}\n' * 20).params[0] == 1
    few = b'{"u": "%s"}\n' % (b"x" * 80) * 2 + b'{"n": 12345678}\n' * 800
    assert roundtrip(few).params[0] == 1
    with pytest.raises(ValueError):
        Layer2Encoder(min_string=l2_json.MIN_STRING_REF_FLOOR - 1)


def _repeats_by_bytes(data, min_bytes, min_str):
    """The references :func:`l2_json.find_repeated_subtrees` must find, from a
    dictionary of span bytes (no hashes): candidates outermost first in token
    order, the inside of a referenced subtree skipped, each string referring to
    its latest occurrence by ordinal distance. Returns (def starts, def lengths,
    ref ids, string distances)."""
    from cobol.layers import json_tokenizer as jt
    tok = jt.tokenize(data)
    kinds, starts = tok.kinds.tolist(), tok.starts.tolist()
    close, stack = {}, []
    for t, k in enumerate(kinds):
        if k in (jt.OBJ_OPEN, jt.ARR_OPEN):
            stack.append(t)
        elif k in (jt.OBJ_CLOSE, jt.ARR_CLOSE) and stack:
            close[stack.pop()] = t
    entries, ref_entry, dists = {}, [], []
    skip_to, nord, str_bytes = 0, 0, 0
    for t, k in enumerate(kinds):
        if t < skip_to:
            continue
        if t in close and starts[close[t] + 1] - starts[t] >= min_bytes:
            span = data[starts[t]:starts[close[t] + 1]]
            if span in entries:
                ref_entry.append(entries[span][0])
                skip_to = close[t] + 1
            else:
                entries[span] = [len(entries), starts[t], len(span)]
        elif k == jt.STRING and min_str and starts[t + 1] - starts[t] >= min_str:
            nord += 1
            span = data[starts[t]:starts[t + 1]]
            if span in entries:
                dists.append(nord - 2 - entries[span][1])
                str_bytes += len(span)
                entries[span][1] = nord - 1
            else:
                entries[span] = [len(entries), nord - 1, None]
    by_id = sorted((e for e in entries.values() if e[2] is not None), key=lambda e: e[0])
    used = sorted(set(ref_entry))
    number = {e: i for i, e in enumerate(used)}
    start_of = {e[0]: (e[1], e[2]) for e in by_id}
    if str_bytes < l2_json.subtrees.MIN_STRING_REF_SHARE * len(data):
        dists = []  # too few to pay
    return ([start_of[e][0] for e in used], [start_of[e][1] for e in used], [number[e] for e in ref_entry], dists)


@SETTINGS
@given(st.lists(json_values, min_size=1, max_size=8), st.integers(1, 40), st.integers(8, 24), st.booleans())
def test_hypothesis_repeats_match_a_byte_dictionary(values, min_subtree, min_string, pretty):
    """The hashed lookup finds exactly what a dictionary of span bytes finds
    (repeats at every byte alignment, near the block's end, nested)."""
    docs = values + values[::2] + [[v, {"again": v}] for v in values[:3]] + values[-1:]
    data = (json.dumps(docs, indent=1) if pretty else "\n".join(json.dumps(v) for v in docs)).encode()
    want_start, want_len, want_ids, want_dists = _repeats_by_bytes(data, min_subtree, min_string)
    refs = l2_json.find_repeated_subtrees(jt_u8(data), *_tok(data), min_bytes=min_subtree, min_str=min_string)
    if refs is None:
        assert not want_ids and not want_dists
        return
    assert refs.def_start.tolist() == want_start and refs.def_len.tolist() == want_len
    assert refs.ref_ids.tolist() == want_ids and refs.str_dists.tolist() == want_dists


@SETTINGS
@given(st.lists(json_values, min_size=1, max_size=8), st.integers(1, 40), st.integers(8, 24))
def test_hypothesis_string_references_of_any_size(values, min_subtree, min_string):
    """String references alongside subtree references, at any floors: values
    repeat as whole lines, inside arrays and objects (string values at array
    positions and under keys, inside repeated subtrees), compact and pretty printed."""
    strings = [v for v in values if isinstance(v, str)] + ["x" * 30, 'q"\u00e9\"' * 3]
    docs = values + [strings, {"s": strings[-1], "t": strings}] + values[::2] + [[v, {"again": v}] for v in values[:3]]
    docs += [strings[::-1], {"t": strings}]
    for data in ("\n".join(json.dumps(v) for v in docs).encode() + b"\n",
                 json.dumps(docs, indent=1).encode()):
        enc = Layer2Encoder(min_subtree=min_subtree, min_string=min_string).encode(data)
        assert Layer2Decoder().decode([bytes(s) for s in enc.streams], bytes(enc.params), len(data)) == data


def _v3_parts():
    data = _sbom_lines(12)
    enc = Layer2Encoder().encode(data)
    assert enc.params[0] == 3
    return data, [bytes(s) for s in enc.streams], bytes(enc.params), list(enc.stream_names).index("strrefs")


def test_hostile_string_references_raise_format_errors():
    from cobol.layers.intcodec import encode_ints
    import numpy as np
    data, streams, params, di = _v3_parts()
    refs = l2_json.find_repeated_subtrees(jt_u8(data), *_tok(data), min_str=l2_json.MIN_STRING_REF_BYTES)
    dists = refs.str_dists

    def bad(str_dists=None, match="json", p=params):
        s2 = list(streams)
        if str_dists is not None:
            s2[di] = encode_ints(np.asarray(str_dists, np.int64))
        with pytest.raises(CobolError, match=match):
            Layer2Decoder().decode(s2, p, len(data))

    bad(str_dists=dists[:-1], match="string refs stream exhausted")
    bad(str_dists=np.append(dists, 0), match="streams not fully consumed")
    bad(str_dists=np.where(np.arange(dists.size) == 0, -1, dists), match="string reference out of range")
    bad(str_dists=np.where(np.arange(dists.size) == 0, 12 + 1, dists), match="string reference out of range")
    bad(str_dists=np.full(dists.size, 2 ** 40), match="string reference out of range")
    # a floor the encoder did not use: other strings are numbered, or a length mismatch
    bad(p=params[:-1] + bytes([200]), match="json")
    for floor in (0, 7):
        bad(p=params[:-1] + bytes([floor]), match="floor")
    bad(p=params + b"\x00", match="json params")
    # a string reference in a version-2 block (same streams but strrefs) and a version-1 block
    bad(p=bytes([2]) + params[1:], match=".")
    plain = Layer2Encoder(min_string=0).encode(data)
    s1 = [bytes(s) for s in plain.streams]
    from cobol.layers.l2_json.symbols import S_REF_STR
    s1[0] = bytes([S_REF_STR]) + s1[0]
    with pytest.raises(CobolError, match="string reference"):
        Layer2Decoder().decode(s1, bytes(plain.params), len(data))
    with pytest.raises(CobolError, match="unknown version"):
        Layer2Decoder().decode(streams, bytes([4]) + params[1:], len(data))
    # the strrefs stream missing
    with pytest.raises(CobolError):
        Layer2Decoder().decode(streams[:di] + streams[di + 1:], params, len(data))


def test_corrupted_version3_streams_raise_cobol_errors():
    data, streams, params, di = _v3_parts()
    _corrupt_streams_and_decode(streams, params, len(data), (0, di), random.Random(9))


record_values = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12), st.sampled_from([0.0, 1.5, -2.25, 3.125, 1e-7, 10.0]),
    st.sampled_from(["", "a", "ab", 'q"\\u00e9', "x" * 40, "same", "same"]),
    st.lists(st.integers(0, 99), max_size=3), st.dictionaries(st.sampled_from(["u", "v"]), st.integers(0, 9)))


@SETTINGS
@given(st.lists(st.lists(st.sampled_from(["id", "name", "t", "deep", "k\\u00e9y", "n"]), min_size=0, max_size=5,
                         unique=True), min_size=1, max_size=3),
       st.lists(st.tuples(st.integers(0, 2), st.lists(record_values, min_size=5, max_size=5)), min_size=1, max_size=60),
       st.sampled_from([None, (", ", ": ")]), st.sampled_from(["plain", "odd gaps", "arrays", "pretty"]))
def test_hypothesis_repeated_record_shapes(shapes, rows, separators, layout):
    """JSON lines whose records repeat a few shapes (the decoder writes a shape
    it has seen twice from a template): values of every kind under the same
    keys, records that break a shape (stored whitespace, rare literal keys,
    arrays as records), string references, and pretty-printed records."""
    lines = []
    for i, (which, vals) in enumerate(rows):
        keys = shapes[which % len(shapes)]
        record = {k: v for k, v in zip(keys, vals)}
        if layout == "arrays":
            text = json.dumps(list(record.values()), separators=separators)
        elif layout == "pretty":
            text = json.dumps(record, indent=2)
        else:
            text = json.dumps(record, separators=separators)
        if layout == "odd gaps" and i % 7 == 3:
            text = text.replace(":", " :", 1).replace(",", ",  ", 1)
        if i % 11 == 5 and text.endswith("}"):  # a key too rare for the key dictionary
            text = text[:-1].rstrip() + (", " if record else "") + f'"rare{i}": {i}' + "}"
        lines.append(text)
    data = ("\n".join(lines) + "\n").encode()
    for min_string in (0, l2_json.MIN_STRING_REF_FLOOR):
        enc = Layer2Encoder(min_string=min_string).encode(data)
        assert Layer2Decoder().decode([bytes(s) for s in enc.streams], bytes(enc.params), len(data)) == data


#: the vocabulary of the synthetic API descriptions below (botocore-like prose, operation names)
API_WORDS = ("the instance request returns a value for this parameter and of to is in when you specify "
             "an account that must be with name not by on default if or are can be used be set").split()
API_VERBS = ["Describe", "Create", "Delete", "Modify", "Accept"]
API_NOUNS = ["Instance", "Volume", "Image", "Snapshot", "Address", "Route"]


# ---------------------------------------------------------------- word-coded text groups (params flag 0x80)
def _doc_lines(n=300, seed=5):
    """API-description records: a name and a sentence or two of prose each (the
    strings are mostly words), as botocore's shapes and operations are."""
    rng = random.Random(seed)
    lines = []
    for i in range(n):
        doc = " ".join(rng.choice(API_WORDS) for _ in range(rng.randint(8, 40)))
        lines.append(json.dumps({"shape": f"Describe{rng.choice(['Instances', 'Volumes', 'Images'])}{i}",
                                 "documentation": f"<p>The {doc}. See <code>{rng.choice(API_WORDS)}</code>.</p>"},
                                separators=(",", ":")))
    return ("\n".join(lines) + "\n").encode()


#: Layer2Encoder().encode(_fixture_doc_lines()) with the word trial forced
#: (WORDS_MIN_TEXT 0, WORDS_MAX_RATIO 10) when the word-coded layout (params
#: flag 0x80, a ``words`` stream before the text groups) was introduced: blocks
#: written then must keep decoding (the planner stores a block this small raw,
#: so the fixture is the transform's layout rather than a frame)
DOCS_WORDS_BLOCK = (
    '81000020000000000000000201010d0001ba05',
    ['04400a09410a0504400a09410a0504400a09410a0504400a09410a0504400a09410a0504400a09410a0504400a09410a0504400a09410a0503',
     '', '', '02050d7368617065646f63756d656e746174696f6e', '',
     '01607468650a700a666f720a696e7374616e63650a726571756573740a616e640a76616c75650a746f0a73686170650a6f660a72657475726e730a746869730a6973',
     '028830223c813e0402808020618586802061858680206185862e3c2f813e22028831223c813e040280828783848287838482878384822e3c2f'
     '813e22028832223c813e040280898a8b8c898a8b8c898a8b8c898a2e3c2f813e22028833223c813e04028086802061858680206185868020'
     '6185868020612e3c2f813e22028834223c813e040280848287838482878384828783848287832e3c2f813e22028835223c813e0402808c89'
     '8a8b8c898a8b8c898a8b2e3c2f813e22028836223c813e040280858680206185868020618586802061852e3c2f813e22028837223c813e04'
     '028083848287838482878384828783842e3c2f813e22',
     '0000'])


def _fixture_doc_lines():
    words = ("the", "instance", "of", "a", "request", "returns", "and", "for", "this", "value", "to", "is")
    out = []
    for i in range(8):
        doc = " ".join(words[(i * 7 + k * 3) % len(words)] for k in range(12 + i % 5))
        out.append(json.dumps({"shape": f"Shape{i}", "documentation": "<p>The " + doc + ".</p>"}, separators=(",", ":")))
    return ("\n".join(out) + "\n").encode()


def _words_parts():
    params, streams = DOCS_WORDS_BLOCK
    return bytes.fromhex(params), [bytes.fromhex(s) for s in streams], _fixture_doc_lines()


def test_words_block_fixture_decodes():
    params, streams, data = _words_parts()
    assert params[0] == 0x80 | 1
    assert Layer2Decoder().decode(streams, params, len(data)) == data
    assert JsonTransform().decode(streams, params, len(data), DecodeContext()) == data


def test_prose_strings_are_word_coded_and_names_are_not():
    data = _doc_lines(700)  # over 64 KiB of text: the quick 32 KiB trial runs first
    enc = roundtrip(data)
    assert enc.params[0] & 0x80 and "words" in enc.stream_names
    plain = Layer2Encoder(word_code=False).encode(data)
    assert plain.params[0] == enc.params[0] & 0x7F and "words" not in plain.stream_names
    import brotli
    size = lambda e: sum(len(brotli.compress(bytes(s), quality=5)) for s in e.streams)  # noqa: E731
    assert size(enc) < 0.95 * size(plain)
    # hex ids and hashes: the word layer would not pay, the trial says so
    rng = random.Random(3)
    ids = "".join(json.dumps({"id": "%032x" % rng.getrandbits(128), "ref": "pkg:x/%x@%d" % (rng.getrandbits(40), i)})
                  + "\n" for i in range(400)).encode()
    assert not roundtrip(ids).params[0] & 0x80
    # over 64 KiB of text: rejected by the quick trial on its first 32 KiB
    more_ids = "".join(json.dumps({"id": "%032x" % rng.getrandbits(128)}) + "\n" for i in range(2400)).encode()
    from cobol.layers.l2_json import transform
    assert 33 * 2400 > 2 * transform.WORDS_PRECHECK_BYTES  # each id and its terminator
    assert not roundtrip(more_ids).params[0] & 0x80
    # little text: never tried
    assert not roundtrip(_doc_lines(5)).params[0] & 0x80


def test_word_trial_samples_every_group():
    """Grouped text (levels >= GROUP_MIN_LEVEL) may put names and ids in its
    first group: the word trials sample every group's head in proportion, so a
    prose group after 126 KB of ids is still word-coded (when the first group
    alone was the sample, the quick trial on its first 32 KiB said no)."""
    rng = random.Random(11)
    ids = b"".join(b"%08x\"" % rng.getrandbits(32) for _ in range(14000))
    prose = b"".join((" ".join(rng.choice(API_WORDS) for _ in range(rng.randint(8, 40))) + ".").encode() + b"\""
                     for _ in range(1400))
    texts = np.frombuffer(ids + prose, np.uint8)
    toff = np.array([0, len(ids), len(ids) + len(prose)], np.int64)
    made = Layer2Encoder()._word_code(texts, toff, 2)
    assert made is not None
    coder, groups = made
    assert len(groups) == 2 and len(groups[1]) < 0.8 * len(prose)
    # the ids alone still fail
    only_ids = np.frombuffer(ids, np.uint8)
    assert Layer2Encoder()._word_code(only_ids, np.array([0, len(ids)], np.int64), 1) is None


def test_word_coding_follows_the_l1_switch_and_ppmd_levels():
    data = _doc_lines()
    ctx = EncodeContext(level=3, fmt="jsonl")
    assert JsonTransform().encode(data, ctx).params[0] & 0x80
    off = EncodeContext(level=3, fmt="jsonl", layers=frozenset({"l2", "ppmd"}))
    assert not JsonTransform().encode(data, off).params[0] & 0x80
    for level in (3, 9):
        assert cobol.decompress(cobol.compress(data, level=level)) == data


def _force_words(mp):
    """The word trial always says yes, on any amount of text, with a 64-byte sample."""
    from cobol.layers.l2_json import transform
    mp.setattr(transform, "WORDS_MIN_TEXT", 1)
    mp.setattr(transform, "WORDS_MAX_RATIO", 1e9)
    mp.setattr(transform, "WORDS_SAMPLE_BYTES", 64)


@SETTINGS
@given(st.lists(json_values, min_size=1, max_size=8), st.booleans())
def test_hypothesis_word_coded_groups_round_trip(values, group_text):
    """Any text, any number of text groups (level 6's grouping), coded by the word layer."""
    with pytest.MonkeyPatch.context() as mp:
        _force_words(mp)
        for data in ("\n".join(json.dumps(v) for v in values * 3).encode() + b"\n",
                     json.dumps(values, indent=1).encode()):
            enc = Layer2Encoder(group_text=group_text).encode(data)
            assert Layer2Decoder().decode([bytes(s) for s in enc.streams], bytes(enc.params), len(data)) == data


@pytest.fixture
def monkeypatch_words(monkeypatch):
    _force_words(monkeypatch)


def test_word_coding_with_the_sample_cut_inside_a_group(monkeypatch_words):
    data = _doc_lines(60)
    for group_text in (False, True):
        enc = Layer2Encoder(group_text=group_text).encode(data)
        assert enc.params[0] & 0x80
        assert Layer2Decoder().decode([bytes(s) for s in enc.streams], bytes(enc.params), len(data)) == data


def _with_sizes(params: bytes, sizes) -> bytes:
    """The fixture's params with other decoded text sizes (one group: its last varint)."""
    from cobol.format.wire import put_varint
    out = bytearray(params[:-2])  # the fixture's one size is a two-byte varint (698)
    for s in sizes:
        put_varint(out, s)
    return bytes(out)


@pytest.mark.parametrize("case", ["no-words-flag", "size-too-big", "size-short", "size-long", "bad-dict",
                                  "bad-code", "missing-stream", "missing-size", "extra-size"])
def test_hostile_word_coded_blocks_raise(case):
    params, streams, data = _words_parts()
    n = len(data)
    size = 698
    assert params[-2:] == bytes([size & 0x7F | 0x80, size >> 7])
    if case == "no-words-flag":
        params = bytes([params[0] & 0x7F]) + params[1:-2]  # the words stream read as a text group
    elif case == "size-too-big":
        params = _with_sizes(params, [2 * n + 1])
    elif case == "size-short":
        params = _with_sizes(params, [size - 1])
    elif case == "size-long":
        params = _with_sizes(params, [size + 1])
    elif case == "bad-dict":
        streams[5] = b"\x07" + streams[5][1:]
    elif case == "bad-code":
        streams[6] = streams[6][:40] + b"\xff\xff\x01" + streams[6][43:]
    elif case == "missing-stream":
        del streams[5]
    elif case == "missing-size":
        params = params[:-2]
    elif case == "extra-size":
        params = params + b"\x05"
    with pytest.raises(CobolError):
        Layer2Decoder().decode(streams, params, n)


@SETTINGS
@given(st.binary(min_size=1, max_size=120), st.lists(st.tuples(st.integers(0, 119), st.integers(0, 20), st.integers(0, 2)),
                                                     max_size=60))
def test_interning_matches_a_dictionary(data, spans):
    """Spans (empty, up to 8 bytes and longer, ending at the block's last byte)
    get the ids a dictionary of (group, bytes) gives, numbered by first
    appearance, with counts, first items and the layer's FNV hash."""
    from cobol.layers.l2_json.keys import _fnv, _intern_spans
    buf = np.frombuffer(data, np.uint8)
    n = len(data)
    a = np.array([min(s, n) for s, _, _ in spans] + [max(n - 3, 0), max(n - 12, 0)], np.int64)
    b = np.array([min(s + ln, n) for s, ln, _ in spans] + [n, n], np.int64)
    grp = np.array([g for _, _, g in spans] + [0, 0], np.int64)
    ids, count, first, hashes, groups = _intern_spans(buf, a, b, grp)
    seen = {}
    for i in range(a.size):
        seen.setdefault((int(grp[i]), data[a[i]:b[i]]), (len(seen), i))
    want_ids = [seen[int(grp[i]), data[a[i]:b[i]]][0] for i in range(a.size)]
    assert ids.tolist() == want_ids
    assert first.tolist() == [i for _, i in sorted(seen.values())]
    assert count.tolist() == [want_ids.count(k) for k in range(len(seen))]
    assert groups.tolist() == [g for (g, _), _ in sorted(seen.items(), key=lambda kv: kv[1][0])]
    assert hashes.tolist() == [int(_fnv(buf, a[i], b[i])) for _, i in sorted(seen.values())]


def _op_lines(n=600, seed=9):
    """API operations: a name echoed in three more columns (the op, its input
    and output shapes) beside a documentation string, as botocore's are."""
    rng = random.Random(seed)
    lines = []
    for i in range(n):
        name = f"{rng.choice(API_VERBS)}{rng.choice(API_NOUNS)}{rng.choice(API_NOUNS)}{i % 7 or ''}"
        doc = " ".join(rng.choice(API_WORDS) for _ in range(rng.randint(8, 40)))
        lines.append(json.dumps({"op": name, "name": name, "input": {"shape": name + "Request"},
                                 "output": {"shape": name + "Result"},
                                 "documentation": f"<p>{doc.capitalize()}.</p>"}, separators=(",", ":")))
    return ("\n".join(lines) + "\n").encode()


def test_prose_split_below_level_6(monkeypatch):
    """Below level 6 the names (which repeat each other across columns) go to
    one text group and the documentation to another, where per column they
    were five streams; the split is smaller at the coder the streams end in."""
    import brotli
    data = _op_lines()
    enc = Layer2Encoder(group_text=False).encode(data)
    texts = [n for n in enc.stream_names if n.startswith("text:")]
    assert texts == ["text:op+name+shape+shape", "text:documentation"]
    streams = [bytes(s) for s in enc.streams]
    assert Layer2Decoder().decode(streams, bytes(enc.params), len(data)) == data
    monkeypatch.setattr(Layer2Encoder, "_prose_groups", staticmethod(lambda *args: None))
    apart = Layer2Encoder(group_text=False).encode(data)
    assert len([n for n in apart.stream_names if n.startswith("text:")]) == 5
    size = lambda e: sum(len(brotli.compress(bytes(s), quality=8)) for s in e.streams)  # noqa: E731
    assert size(enc) < 0.97 * size(apart)


def test_prose_groups_need_both_kinds():
    names = [f"Name{i}" for i in range(50)]
    prose = [f"this is a sentence about item {i} and more" for i in range(50)]
    buf, a, b, _ = _text_spans(names + prose)
    cols = np.array([0] * 50 + [1] * 50, np.int64)
    assert Layer2Encoder._prose_groups(buf, a, b, cols, 3).tolist() == [0, 1, 0]
    assert Layer2Encoder._prose_groups(buf, a[:50], b[:50], cols[:50], 3) is None
    assert Layer2Encoder._prose_groups(buf, a[50:], b[50:], cols[50:], 3) is None


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(["Alpha", "Beta\\\"x", "\u00e9t\u00e9", ""]),
                          st.sampled_from(["a b c d", "the word and the other", "x", ""])), min_size=1, max_size=300))
def test_hypothesis_prose_split_round_trips(rows):
    from cobol.registry import BrotliCoding
    data = "".join(json.dumps({"name": n, "doc": d, "ref": n + "Ref"}) + "\n" for n, d in rows).encode()
    for group_text in (False, True):
        # (a budget under the text's size: the layouts are priced, word ratios estimated)
        for coding in (None, BrotliCoding(8, 10, len(data) // 8)):
            enc = Layer2Encoder(group_text=group_text, brotli=coding).encode(data)
            assert Layer2Decoder().decode([bytes(s) for s in enc.streams], bytes(enc.params), len(data)) == data


# ---------------------------------------------------------------- text layouts priced with the planner's brotli coding
def _named_doc_lines(n=600, seed=9):
    """Records whose documentation names the record (one text stream is ~6%
    smaller than the prose split at zstd -3: 11,291 against 3,108 + 8,951)."""
    rng = random.Random(seed)
    lines = []
    for i in range(n):
        name = f"{rng.choice(API_VERBS)}{rng.choice(API_NOUNS)}{rng.choice(API_NOUNS)}{i}"
        doc = " ".join(rng.choice(API_WORDS) for _ in range(rng.randint(3, 10)))
        lines.append(json.dumps({"name": name, "documentation": f"{doc} {name}."}, separators=(",", ":")))
    return ("\n".join(lines) + "\n").encode()


def test_text_layout_priced_with_the_strong_quality_budget(monkeypatch):
    """The one-stream trial prices each layout with the coding its streams will
    get (EncodeContext.brotli): with a budget that the documentation stream
    (32,169 bytes) fits and all the text (46,058) does not, a large enough
    gain of the strong quality makes the split win; without a budget, with
    one the whole text fits (every layout priced alike) or with no stronger
    quality, one stream stays."""
    from cobol.layers.l2_json import transform
    from cobol.registry import BrotliCoding
    data = _named_doc_lines()
    monkeypatch.setattr(transform, "STRONG_QUALITY_GAIN", 0.2)

    def text_streams(coding):
        enc = Layer2Encoder(group_text=False, word_code=False, brotli=coding).encode(data)
        assert Layer2Decoder().decode([bytes(s) for s in enc.streams], bytes(enc.params), len(data)) == data
        return [n for n in enc.stream_names if n.startswith("text:")]

    assert text_streams(None) == ["text:name+documentation"]
    assert text_streams(BrotliCoding(8, 10, 40000)) == ["text:name", "text:documentation"]
    assert text_streams(BrotliCoding(8, 10, 50000)) == ["text:name+documentation"]
    assert text_streams(BrotliCoding(8, 0, 0)) == ["text:name+documentation"]
    # with the word layer on, the stream bytes come from its estimate on the sample
    calls = []
    ratios = Layer2Encoder._word_ratios
    monkeypatch.setattr(Layer2Encoder, "_word_ratios", lambda self, *args: calls.append(1) or ratios(self, *args))
    enc = Layer2Encoder(group_text=False, brotli=BrotliCoding(8, 10, 20000)).encode(data)
    assert calls and Layer2Decoder().decode([bytes(s) for s in enc.streams], bytes(enc.params), len(data)) == data


def test_layout_pricer_fills_the_budget_largest_coded_first():
    """The planner's order (plan.recode_brotli): groups by coded size, largest
    first, each taken while its stream bytes fit what is left of the budget."""
    from cobol.layers.l2_json.symbols import STRONG_QUALITY_GAIN
    from cobol.registry import BrotliCoding
    buf, a, b, _ = _text_spans(["x" * 999] * 2 + ["y" * 2999] * 2 + ["z" * 499] * 2)
    tcol = np.array([0, 0, 1, 1, 2, 2], np.int64)  # column text: 2,000 / 6,000 / 1,000 bytes
    apart, together = np.arange(3), np.zeros(3, np.int64)
    off = 1 - STRONG_QUALITY_GAIN

    def pricer(budget, quality=8, strong=10):
        enc = Layer2Encoder(group_text=False, word_code=False, brotli=BrotliCoding(quality, strong, budget))
        return enc._layout_pricer(buf, a, b, tcol, a.size, 3)

    price = pricer(6500)
    # group 1 (coded 300) fits (500 left), group 0 (200) does not, group 2 (100) still does not
    assert price(apart, [0, 1, 2], [200, 300, 100]) == pytest.approx(200 + 300 * off + 100)
    # groups 2 then 0 fit (3,500 left), group 1 (6,000 bytes) does not
    assert price(apart, [0, 1, 2], [200, 100, 300]) == pytest.approx(300 * off + 200 * off + 100)
    assert price(together, [0], [550]) == 550  # 9,000 bytes: over the budget
    # all the text within the budget, or no stronger quality: the plain sum
    for p in (pricer(9000), pricer(6500, strong=8), pricer(0)):
        assert p(apart, [0, 1, 2], [200, 300, 100]) == 600


def test_word_ratios_of_prose_and_ids():
    """The pricer's word-layer estimate: prose columns shrink, ids do not."""
    rng = random.Random(3)
    words = "the value of this parameter is returned when you specify an account".split()
    prose = [" ".join(rng.choice(words) for _ in range(12)) for _ in range(400)]
    ids = [f"{rng.getrandbits(48):012x}" for _ in range(400)]
    buf, a, b, cum = _text_spans(prose + ids)
    tcol = np.array([0] * 400 + [1] * 400, np.int64)
    ratios = Layer2Encoder()._word_ratios(buf, a, b, tcol, 3, float(cum[-1]))
    assert ratios[0] < 0.5 and ratios[1] > 0.95 and ratios[2] == 1.0


def test_planner_hands_its_brotli_coding_to_the_transforms():
    from cobol import plan
    from cobol.registry import BrotliCoding
    small, large = b"x" * (300 << 10), b"x" * (600 << 10)
    ctx = EncodeContext(fmt="jsonl", level=3)
    assert plan.with_brotli_coding(small, ctx).brotli == BrotliCoding(
        8, plan.SMALL_BROTLI_QUALITY, plan.small_brotli_budget(ctx, len(small)))
    assert plan.with_brotli_coding(small, ctx).brotli.budget == plan.SMALL_BROTLI_JSONL_BUDGET
    assert plan.with_brotli_coding(large, ctx).brotli == BrotliCoding(8, 0, 0)
    # streams PPMd may code (JSON lines at level 9), no brotli (CSV): not said
    assert plan.with_brotli_coding(small, EncodeContext(fmt="jsonl", level=9)).brotli is None
    assert plan.with_brotli_coding(small, EncodeContext(fmt="csv", level=3)).brotli is None
    seen = []
    original = Layer2Encoder.__init__

    def spy(self, *args, **kwargs):
        seen.append(kwargs.get("brotli"))
        original(self, *args, **kwargs)
    import unittest.mock
    data = _named_doc_lines(200)
    with unittest.mock.patch.object(Layer2Encoder, "__init__", spy):
        plan.choose_plan(data, EncodeContext(fmt="jsonl", level=3))
    assert seen and seen[0] == BrotliCoding(8, plan.SMALL_BROTLI_QUALITY, len(data) // 2)


def test_brotli_confirms_one_text_stream_over_the_prose_split(monkeypatch):
    """A one-stream win over the prose split within GROUP_CONFIRM_BAND (no
    margin) is asked of brotli too; where brotli says no, the split stays."""
    from cobol.layers.l2_json import transform
    # a third text column, so that the split (names apart from the prose) is not the per-column layout
    data = b"".join(line[:-1] + b',"shape":"' + json.loads(line)["name"].encode() + b'Shape"}\n'
                    for line in _named_doc_lines().splitlines(keepends=True))
    texts = [n for n in Layer2Encoder(group_text=False, word_code=False).encode(data).stream_names if "text:" in n]
    assert texts == ["text:name+documentation+shape"]
    margins = []
    monkeypatch.setattr(transform, "GROUP_CONFIRM_BAND", 0.2)  # one stream wins by ~6.4% at zstd -3
    monkeypatch.setattr(transform, "_together_smaller_with_brotli",
                        lambda *args, **kwargs: margins.append(kwargs.get("margin", args[5] if len(args) > 5 else None)))
    enc = Layer2Encoder(group_text=False, word_code=False).encode(data)
    assert margins == [0.0]
    assert [n for n in enc.stream_names if n.startswith("text:")] == ["text:name+shape", "text:documentation"]
    assert Layer2Decoder().decode([bytes(s) for s in enc.streams], bytes(enc.params), len(data)) == data


@given(st.binary(max_size=300), st.integers(0, 7))
@SETTINGS
def test_count_openers_matches_a_byte_loop(raw, start):
    """The eight-bytes-a-step opener count equals a plain count of the two
    symbols at every length and alignment (skeleton-like bytes: mostly the
    small symbol values, where the opener bits sit)."""
    from cobol.layers.l2_json.symbols import S_ARR_OPEN, S_OBJ_OPEN
    from cobol.layers.l2_json.transform import _count_openers
    skel = np.frombuffer(bytes(b % 9 if b < 200 else b for b in raw), np.uint8)[start:]
    expect = int(np.count_nonzero((skel == S_OBJ_OPEN) | (skel == S_ARR_OPEN)))
    assert _count_openers(skel) == expect
    assert _count_openers(skel.copy()) == expect


@given(st.integers(0, 2**32 - 1), st.integers(0, 400), st.integers(1, 6))
@SETTINGS
def test_encoder_glue_kernels_match_numpy(seed, n, ncols):
    """The encoder's fused per-value kernels give what the NumPy expressions
    they replaced gave (transform.py's column and key bookkeeping)."""
    from cobol.layers import json_tokenizer as jt
    from cobol.layers.l2_json import transform as T
    from cobol.layers.l2_json.columns import _group_order
    rng = np.random.default_rng(seed)
    kinds = rng.choice(np.array([jt.NUMBER, jt.STRING, jt.KEY, jt.COMMA, jt.RESIDUE], np.uint8), size=n)
    vtok = np.flatnonzero((kinds == jt.NUMBER) | (kinds == jt.STRING))
    npaths = int(rng.integers(1, 8))
    ids = rng.integers(0, npaths, vtok.size)
    colmap = rng.integers(0, ncols, npaths)
    col, is_num = np.empty(vtok.size, np.int64), np.empty(vtok.size, bool)
    nnum = T._value_columns(kinds, vtok, colmap, ids, col, is_num)
    ntok, ncol = np.empty(nnum, np.int64), np.empty(nnum, np.int64)
    has_num = T._number_columns_of(vtok, col, is_num, ntok, ncol, ncols)
    assert np.array_equal(T._value_tokens(kinds, np.zeros(n, np.uint8), np.empty(vtok.size, np.int64)), vtok)
    assert T._count_value_tokens(kinds, np.zeros(n, np.uint8)) == vtok.size
    assert np.array_equal(col, colmap[ids])
    assert np.array_equal(is_num, kinds[vtok] == jt.NUMBER)
    assert np.array_equal(ntok, vtok[is_num]) and np.array_equal(ncol, col[is_num])
    assert np.array_equal(has_num, np.bincount(ncol, minlength=ncols) > 0)
    assert np.array_equal(T._kind_tokens(kinds, jt.RESIDUE), np.flatnonzero(kinds == jt.RESIDUE))
    first = np.full(ncols, -1, np.int64)
    first[col[::-1]] = np.arange(col.size)[::-1]
    assert np.array_equal(T._first_index(col, ncols), first)

    keepv = rng.random(ncol.size) < 0.8
    nvals = rng.integers(-1000, 1000, ncol.size)
    nflags = rng.integers(0, 5, ncol.size).astype(np.uint8)
    in_dict_col = (rng.random(vtok.size) < 0.3) & ~is_num
    raw_num = np.zeros(vtok.size, bool)
    raw_num[np.flatnonzero(is_num)[~keepv]] = True
    assert np.array_equal(T._text_values(is_num, keepv, in_dict_col), (~is_num & ~in_dict_col) | raw_num)
    flag_cols = has_num & (rng.random(ncols) < 0.5)
    fcounts, icounts, ints, flags = T._column_values(ncol, ncols, keepv, nvals, nflags, flag_cols,
                                                     np.empty(ncol.size, np.int64))
    forder, fc = _group_order(ncol, ncols)
    iorder, ic = _group_order(ncol[keepv], ncols)
    assert np.array_equal(fcounts, fc) and np.array_equal(icounts, ic)
    assert np.array_equal(ints, nvals[keepv][iorder])
    assert np.array_equal(flags, nflags[forder][flag_cols[ncol[forder]]])

    kid = rng.integers(0, npaths, n)
    new_id = np.where(rng.random(npaths) < 0.6, np.arange(npaths), -1)
    khash = rng.integers(-2**62, 2**62, npaths)
    ktok = np.sort(rng.integers(0, 10 * n + 1, n))
    code, comp, lit = T._key_codes(kid, new_id, khash, ktok)
    assert np.array_equal(code, new_id[kid]) and np.array_equal(comp, khash[kid])
    assert np.array_equal(lit, ktok[new_id[kid] < 0])
