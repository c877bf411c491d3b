"""Strict stream ends (issue 19): every transform and every entropy codec
consumes its streams exactly; a byte appended to any stream is a FormatError,
never silently ignored (docs/FORMAT.md: a stream ends at its last byte)."""

from __future__ import annotations

from pathlib import Path

import pytest

import cobol
from cobol.dictionary import train
from cobol.engine import CobolEngine
from cobol.errors import CobolError
from cobol.format.frame import DataBlock, iter_frame_records
from cobol.registry import DecodeContext, all_transforms, get_codec, get_transform

ROOT = Path(__file__).resolve().parents[1]
TAILS = (b"\x00", b"\x01\x02\x03\xff", b"\x80" * 9)


def _sample(rel: str, n: int = 60_000) -> bytes:
    return (ROOT / "samples" / rel).read_bytes()[:n]


def _jsonl_messages() -> list:
    return [m + b"\n" for m in _sample("jsonl/vega-football.jsonl", 200_000).split(b"\n")[1:-1]]


def _cases():
    """(transform name, engine, data): the engine writes a block with that transform."""
    msgs = _jsonl_messages()
    d = train(msgs[::2][:300], size=8192, level=3)
    yield "raw", CobolEngine(3, plan="zstd", threads=1), _sample("text/debian-policy.txt")
    yield "json", CobolEngine(3, plan="json", threads=1), _sample("json/iso-codes-639-3.json")
    # without PPMd: at level 9 the raw block of these JSON lines coded with PPMd wins
    # (plan.MID_PPMD_MIN_LEVEL)
    yield "json", CobolEngine(9, plan="json", threads=1, layers={"ppmd": False}), _sample("jsonl/vega-football.jsonl")
    yield "csv", CobolEngine(3, plan="csv", threads=1), _sample("csv/vega-birdstrikes.csv")
    yield "xml", CobolEngine(3, plan="xml", threads=1), _sample("xml/freedesktop-shared-mime-info.xml")
    # level 17 without PPMd: at 3-16 the raw block of this 60 KB sample, coded with brotli 10,
    # wins (plan.SMALL_BROTLI_RAW_MAX), at 10+ coded with PPMd (plan.MID_PPMD_FORMATS)
    yield "html", CobolEngine(17, plan="html", threads=1, layers={"ppmd": False}), \
        _sample("html/debian-reference-ch04.en.html")
    yield "l1", CobolEngine(3, plan="l1", threads=1), _sample("text/debian-policy.txt")
    yield "log", CobolEngine(3, plan="log", threads=1), _sample("log/local-dpkg.log")
    for name, dtype in (("vega-flights-200k-delay.i32", "int32"), ("vega-flights-20k-date-unix.i64", "int64"),
                        ("vega-zipcodes-latitude.f64", "float64")):
        yield "numeric", CobolEngine(3, plan="numeric", threads=1, hints={"dtype": dtype}), \
            _sample("numeric/" + name, 80_000)
    # a tiny array without a dtype hint (plan.tiny_candidates)
    yield "numeric-small", CobolEngine(3, threads=1), _sample("numeric/vega-flights-200k-delay.i32", 1000)
    yield "json-dict", CobolEngine(3, threads=1, dictionary=d), msgs[1]


CASES = list(_cases())


def _blocks(engine, data):
    blob = engine.compress(data)
    assert cobol.CobolEngine(threads=1, dictionary=engine.dictionary).decompress(blob) == data
    return [rec for _, rec in iter_frame_records(blob) if isinstance(rec, DataBlock)]


def _zdict(engine):
    return None if engine.dictionary is None else bytes(engine.dictionary.zstd or b"")


def test_every_transform_is_covered():
    names = {get_transform(rec.transform).name for _, eng, data in CASES for rec in _blocks(eng, data)}
    assert names | {"bundle"} == {t.name for t in all_transforms()}, names


def test_a_byte_after_a_bundles_inner_streams_is_a_format_error():
    """The bundle (written only next to a dictionary, when it is smaller) is
    built by hand here: json's streams packed into one."""
    from cobol.layers import bundle
    from cobol.registry import EncodeContext, transform_by_name
    data = _sample("json/iso-codes-639-3.json", 5000)
    enc = transform_by_name("json").encode(data, EncodeContext(fmt="json"))
    packed = bundle.pack(enc)
    t = transform_by_name("bundle")
    params = bytes([transform_by_name("json").id])
    assert t.decode([packed], params, len(data), DecodeContext()) == data
    for tail in TAILS:
        with pytest.raises(CobolError):
            t.decode([packed + tail], params, len(data), DecodeContext())


@pytest.mark.parametrize("i", range(len(CASES)), ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_a_byte_after_any_stream_is_a_format_error(i):
    want, engine, data = CASES[i]
    blocks = _blocks(engine, data)
    assert want in {get_transform(b.transform).name for b in blocks}
    ctx = DecodeContext(dictionary=engine.dictionary)
    for b in blocks:
        t = get_transform(b.transform)
        streams = [get_codec(e.codec).decode(p, e.decoded_len, _zdict(engine)) for e, p in zip(b.streams, b.payloads)]
        assert t.decode(list(streams), bytes(b.params), b.raw_len, ctx) == data[:b.raw_len] or b.seq > 0
        for s in range(len(streams)):
            for tail in TAILS:
                hostile = list(streams)
                hostile[s] = bytes(streams[s]) + tail
                with pytest.raises(CobolError):
                    out = t.decode(hostile, bytes(b.params), b.raw_len, ctx)
                    pytest.fail(f"{t.name}: stream {s} + {tail!r} accepted (decoded {len(out)} bytes, "
                                f"{'equal' if out == data[:b.raw_len] else 'different'})")


@pytest.mark.parametrize("i", range(len(CASES)), ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_a_byte_after_any_stored_payload_is_a_format_error(i):
    _, engine, data = CASES[i]
    for b in _blocks(engine, data):
        for e, p in zip(b.streams, b.payloads):
            codec = get_codec(e.codec)
            for tail in TAILS:
                with pytest.raises(CobolError):
                    codec.decode(bytes(p) + tail, e.decoded_len, _zdict(engine))
                    pytest.fail(f"codec {codec.name}: payload + {tail!r} accepted")
