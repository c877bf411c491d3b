"""Shared dictionaries: training, the file format, frames that need one, the CLI."""

from __future__ import annotations

import os
import pathlib

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import cobol
from cobol import CobolEngine, frame_info
from cobol.dictionary import MAGIC, Dictionary, load, train
from cobol.entropy import ZSTD_DICT
from cobol.errors import CobolError, DictionaryError, EncodeError, FormatError
from cobol.format.frame import FrameHeader, encode_end_record, encode_frame_header
from cobol.format.wire import put_bytes, put_varint
from cobol.layers import bundle
from cobol.registry import DecodeContext, Encoded
from support import structured_samples

ROOT = pathlib.Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "jsonl" / "vega-football.jsonl"


def records(data: bytes, target: int = 1024) -> list:
    """JSON lines grouped into messages of about ``target`` bytes."""
    out, cur = [], b""
    for line in data.splitlines(keepends=True):
        if cur and len(cur) + len(line) > target:
            out.append(cur)
            cur = b""
        cur += line
    return out + ([cur] if cur else [])


@pytest.fixture(scope="module")
def messages():
    return records(SAMPLE.read_bytes())


@pytest.fixture(scope="module")
def trained(messages):
    return train(messages[:60], size=8192, level=3)


def test_train_respects_size_and_is_deterministic(messages, trained):
    assert len(trained) <= 8192
    assert len(trained.zstd) > 0
    assert train(messages[:60], size=8192, level=3).dict_id == trained.dict_id
    assert train(messages[:50], size=8192, level=3).dict_id != trained.dict_id


def test_training_measures_held_out_samples_as_the_engine_writes_them(messages, trained):
    # training sits below the engine and measures block records with the planner directly;
    # the sizes must stay those of the engine's own records, or the choice of view drifts
    from cobol.dictionary.training import _coded_size
    held = messages[60:72] + [b"", b"x", bytes(range(256)) * 40]
    for checksum, fmt in (("crc32", None), ("sha256", None), ("xxh3", "json")):
        eng = CobolEngine(3, threads=1, checksum=checksum, dictionary=trained, fmt=fmt, verify=False)
        want = sum(len(eng.encode_block(m, 0)[0]) for m in held)
        assert _coded_size(held, trained, 3, checksum, fmt) == want


def test_round_trip_and_frame_names_the_dictionary(messages, trained):
    eng = CobolEngine(3, threads=1, checksum="crc32", dictionary=trained)
    for m in messages[60:80]:
        blob = eng.compress(m)
        assert frame_info(blob).dictionary_id == trained.dict_id
        assert eng.decompress(blob) == m
        assert cobol.decompress(blob, dictionary=trained) == m


def test_dictionary_makes_small_messages_smaller(messages, trained):
    with_d = CobolEngine(3, threads=1, checksum="crc32", dictionary=trained)
    without = CobolEngine(3, threads=1, checksum="crc32")
    test = messages[60:90]
    assert sum(len(with_d.compress(m)) for m in test) < 0.8 * sum(len(without.compress(m)) for m in test)


@pytest.mark.parametrize("data", [b"", b"x", b"\x00\xff" * 100, b"plain text, not json " * 50,
                                  b'{"date": "2020-01-01", "home_score": 1}\n' * 400])
def test_round_trip_any_bytes(trained, data):
    for blob in (cobol.compress(data, dictionary=trained, threads=1),
                 cobol.compress(data, dictionary=trained, threads=1, block_size=1000, level=9)):
        assert cobol.decompress(blob, dictionary=trained) == data


def test_serialized_dictionary_accepted(messages, trained):
    blob = cobol.compress(messages[70], dictionary=trained.to_bytes())
    assert cobol.decompress(blob, dictionary=trained.to_bytes()) == messages[70]


def test_missing_or_wrong_dictionary(messages, trained):
    blob = cobol.compress(messages[61], dictionary=trained)
    with pytest.raises(DictionaryError, match="none was given"):
        cobol.decompress(blob)
    other = Dictionary(zstd=b"some other raw content dictionary", level=3)
    with pytest.raises(DictionaryError, match=f"{trained.dict_id:#010x}"):
        cobol.decompress(blob, dictionary=other)


def test_codec_zstd_dict_needs_a_frame_dictionary(messages, trained):
    # a block coded with the dictionary, framed by a header that names none
    eng = CobolEngine(3, threads=1, checksum="crc32", dictionary=trained, plan="zstd")
    record, report = eng.encode_block(messages[62], 0)
    assert any(codec == "zstd-dict" for _, codec, _, _ in report.streams)
    blob = encode_frame_header(FrameHeader(eng.checksum, eng.block_size, None)) + record \
        + encode_end_record(1, len(messages[62]))
    with pytest.raises(DictionaryError, match="names none"):
        cobol.decompress(blob, dictionary=trained)


def test_frames_without_dictionary_unchanged(messages):
    blob = cobol.compress(b"".join(messages[:20]), threads=1)
    info = frame_info(blob)
    assert info.dictionary_id is None
    assert "bundle" not in info.plans
    assert all(s["codec"] != "zstd-dict" for b in info.block_list for s in b.streams)


def test_small_messages_use_json_dict_or_bundles(messages, trained):
    eng = CobolEngine(3, threads=1, checksum="crc32", dictionary=trained)
    plans = {eng.encode_block(m, 0)[1].plan for m in messages[60:80]}
    assert "json-dict" in plans
    # a dictionary without a json-dict section, whose zstd part has seen the json
    # transform's bundles: the json transform's streams are bundled
    from cobol.registry import EncodeContext, transform_by_name
    j = transform_by_name("json")
    content = b"".join(bundle.pack(j.encode(m, EncodeContext(fmt="jsonl"))) for m in messages[:60])[-8000:]
    eng = CobolEngine(3, threads=1, checksum="crc32", dictionary=Dictionary(zstd=content, level=3))
    plans = {eng.encode_block(m, 0)[1].plan for m in messages[60:80]}
    assert "bundle" in plans


# ------------------------------------------------------------ the file format

def test_file_round_trip(tmp_path, trained):
    p = tmp_path / "d.dict"
    trained.save(p)
    assert p.read_bytes()[:4] == MAGIC
    assert load(p) == trained
    d = Dictionary(b"raw", {30: b"json section", 7: b""}, level=9)
    back = Dictionary.from_bytes(d.to_bytes())
    assert back == d and back.section(30) == b"json section" and back.section(31) is None
    assert back.level == 9 and back.dict_id == d.dict_id


def _with_id(body: bytes) -> bytes:
    import hashlib
    return MAGIC + b"\x01" + hashlib.sha256(body).digest()[:4] + body


def _body(level=3, zstd=b"", sections=()) -> bytes:
    out = bytearray()
    put_varint(out, level)
    put_bytes(out, zstd)
    put_varint(out, len(sections))
    for tid, data in sections:
        out.append(tid)
        put_bytes(out, data)
    return bytes(out)


@pytest.mark.parametrize("blob, what", [
    (b"", "magic"), (b"CBL", "magic"), (b"XXXX\x01\x00\x00\x00\x00", "magic"),
    (MAGIC + b"\x02" + b"\x00" * 8, "version"),
    (MAGIC + b"\x01\x00\x00", "truncated"),
    (MAGIC + b"\x01" + b"\x00\x00\x00\x00" + _body(), "corrupt"),
    (_with_id(_body(level=0)), "level"),
    (_with_id(_body(level=23)), "limit"),
    (_with_id(_body() + b"x"), "unexpected"),
    (_with_id(_body(sections=[(30, b"a"), (30, b"b")])), "increasing"),
    (_with_id(_body(sections=[(31, b"a"), (30, b"b")])), "increasing"),
    (_with_id(_body(zstd=b"\x37\xa4\x30\xec" + b"\x00" * 64)), "zstd dictionary is corrupt"),
    (_with_id(b"\x03\x05ab"), "truncated"),
    (_with_id(b"\x03\x80\x00"), "non-minimal"),
])
def test_hostile_dictionary_files(blob, what):
    with pytest.raises(CobolError, match=what):
        Dictionary.from_bytes(blob)


def test_every_truncation_and_bit_flip_is_an_error(trained):
    small = Dictionary(b"raw content", {30: b"keys"}, level=3).to_bytes()
    for n in range(len(small)):
        with pytest.raises(CobolError):
            Dictionary.from_bytes(small[:n])
    for i in range(len(small)):
        for bit in (0x01, 0x80):
            bad = bytearray(small)
            bad[i] ^= bit
            with pytest.raises(CobolError):
                Dictionary.from_bytes(bytes(bad))
    big = bytearray(trained.to_bytes())
    big[len(big) // 2] ^= 0x10
    with pytest.raises(FormatError, match="corrupt"):
        Dictionary.from_bytes(bytes(big))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=64))
def test_random_bytes_never_crash(tail):
    for blob in (tail, MAGIC + b"\x01" + tail, _with_id(tail)):
        try:
            d = Dictionary.from_bytes(blob)
        except CobolError:
            continue
        # accepted: then it is a dictionary that stores back to what was read
        assert Dictionary.from_bytes(d.to_bytes()) == d


# ------------------------------------------------------------ training edge cases

def test_train_edge_cases(messages):
    d = train([messages[0]], size=4096)  # too little for zstd's trainer: raw content
    assert len(d) <= 4096 and d.zstd
    assert cobol.decompress(cobol.compress(messages[1], dictionary=d), dictionary=d) == messages[1]
    with pytest.raises(EncodeError):
        train([])
    with pytest.raises(EncodeError):
        train([b""])
    with pytest.raises(EncodeError):
        train(messages[:10], size=10)
    with pytest.raises(EncodeError):
        train(messages[:10], level=0)


# ------------------------------------------------------------ the bundle transform

def test_bundle_hostile_streams():
    t = bundle.BundleTransform()
    ctx = DecodeContext()
    good = bundle.pack(Encoded(params=b"", streams=[b"abc"]))
    assert t.decode([good], bytes([0]), 3, ctx) == b"abc"
    with pytest.raises(FormatError, match="nests"):
        t.decode([good], bytes([bundle.BUNDLE_ID]), 3, ctx)
    with pytest.raises(CobolError):
        t.decode([good], bytes([250]), 3, ctx)  # no such transform
    with pytest.raises(FormatError):
        t.decode([good, good], bytes([0]), 3, ctx)
    for n in range(len(good)):
        with pytest.raises(CobolError):
            t.decode([good[:n]], bytes([0]), 3, ctx)
    with pytest.raises(FormatError, match="need"):
        t.decode([good + b"x"], bytes([0]), 3, ctx)
    with pytest.raises(FormatError, match="cannot fit"):
        t.decode([b"\x00\x90\x01"], bytes([0]), 3, ctx)


# ------------------------------------------------------------ command line

def test_cli_train_and_use(tmp_path, messages, capsys):
    from cobol.cli import main
    sample = tmp_path / "samples.jsonl"
    sample.write_bytes(b"".join(messages[:60]))
    d = tmp_path / "d.dict"
    assert main(["train", str(sample), "--split", "1K", "--size", "8K", "-o", str(d), "-q"]) == 0
    assert len(load(d)) <= 8192
    assert main(["train", str(sample), "-o", str(d), "-q"]) == 4  # exists
    msg = tmp_path / "m.json"
    msg.write_bytes(messages[70])
    assert main(["-k", "-q", "-D", str(d), "--checksum", "crc32", str(msg)]) == 0
    packed = tmp_path / "m.json.cobl"
    assert frame_info(packed.read_bytes()).dictionary_id == load(d).dict_id
    os.unlink(msg)
    assert main(["-d", "-q", str(packed), "-k"]) == 2  # no dictionary
    assert main(["-d", "-q", "-D", str(d), str(packed)]) == 0
    assert msg.read_bytes() == messages[70]
    bad = tmp_path / "bad.dict"
    bad.write_bytes(b"nonsense")
    assert main(["-d", "-q", "-D", str(bad), str(packed)]) == 2
    capsys.readouterr()


def test_engine_context_carries_dictionary(trained):
    eng = CobolEngine(3, dictionary=trained)
    assert eng._context("json").dictionary is trained
    assert ZSTD_DICT == 2


# ------------------------------------------------------------ structured samples

@pytest.mark.parametrize("data,hints", structured_samples(64 << 10))
def test_structured_messages_with_a_dictionary_trained_on_their_kind(data, hints):
    """Each format's sample cut into messages, a dictionary trained on the first
    ones: the others round-trip through the engine with it (json-dict, bundles
    of each format transform, zstd-dict streams)."""
    step = 8 if hints else 1  # numeric: whole values
    cuts = [i - i % step for i in range(0, len(data), 1536)] + [len(data)]
    msgs = [data[a:b] for a, b in zip(cuts, cuts[1:]) if b > a]
    d = train(msgs[: len(msgs) // 2], size=8192, level=3)
    eng = CobolEngine(3, threads=1, checksum="crc32", dictionary=d, hints=hints)
    for m in msgs[len(msgs) // 2:]:
        blob = eng.compress(m)
        assert frame_info(blob).dictionary_id == d.dict_id
        assert cobol.decompress(blob, dictionary=d) == m
