"""Entropy codec 4 (brotli): round trips, the level / format policy, a pinned
frame that must keep decoding, and hostile streams (truncated, extended,
wrong decoded length, garbage) that must raise a FormatError.

The child-process fuzz of the codec is in bench/fuzz_decoders.py (target
codec-brotli).
"""

from __future__ import annotations

import random
from pathlib import Path

import brotli
import pytest
from hypothesis import given, settings, strategies as st

import cobol
from cobol import entropy, plan
from cobol.entropy import BROTLI, BrotliCodec
from cobol.errors import CobolError, FormatError
from cobol.info import frame_info

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
PROSE = (b"The quick brown fox jumps over the lazy dog. THE DOG sleeps; the fox runs!\n"
         b"In 2024 the fox (aged 3) ran 12.5 km -- said the Report, and the dog didn't.\n")


def _codecs(blob: bytes) -> set:
    return {s["codec"] for b in frame_info(blob).block_list for s in b.streams}


def _sample(folder: str) -> bytes:
    return next(p for p in sorted((SAMPLES / folder).iterdir()) if p.is_file()).read_bytes()


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=0, max_size=3000), st.sampled_from([3, 19]))
def test_codec_round_trips_any_bytes(data, level):
    c = BrotliCodec()
    assert c.decode(c.encode(data, level), len(data)) == data


@pytest.mark.parametrize("folder", ["text", "xml", "html", "json", "jsonl"])
def test_default_level_codes_text_like_streams_with_brotli(folder):
    data = _sample(folder)
    blob = cobol.compress(data, threads=1)
    assert cobol.decompress(blob) == data
    assert "brotli" in _codecs(blob)
    # and the frame is smaller than plain zstd of the file at the same level
    assert len(blob) < len(cobol.compress(data, threads=1, plan="zstd"))


@pytest.mark.parametrize("folder", ["csv", "numeric"])
def test_csv_and_numeric_blocks_keep_zstd(folder):
    data = _sample(folder)
    blob = cobol.compress(data, threads=1)
    assert cobol.decompress(blob) == data
    assert "brotli" not in _codecs(blob)


def test_shared_dictionaries_never_write_brotli():
    data = _sample("json")
    from cobol.dictionary import train
    d = train([data[i:i + 2000] for i in range(0, 60000, 2000)])
    blob = cobol.compress(data[:3000], dictionary=d, threads=1)
    assert cobol.decompress(blob, dictionary=d) == data[:3000]
    assert "brotli" not in _codecs(blob)


def test_brotli_is_kept_only_when_clearly_smaller(monkeypatch):
    data = _sample("xml")
    assert "brotli" in _codecs(cobol.compress(data, threads=1))
    monkeypatch.setattr(entropy, "BROTLI_MIN_GAIN", 0.99)
    assert "brotli" not in _codecs(cobol.compress(data, threads=1))


def test_level_table_is_monotone():
    last = entropy.stream_coding(1)
    for level in range(1, 23):
        c = entropy.stream_coding(level)
        assert c.zstd == level and c.brotli >= last.brotli and c.ppmd >= last.ppmd
        last = c
    assert entropy.stream_coding(entropy.PPMD_MIN_LEVEL).ppmd
    assert not entropy.stream_coding(entropy.PPMD_MIN_LEVEL - 1).ppmd
    assert plan.BROTLI_FORMATS.isdisjoint({"csv", "tsv", "numeric", "binary"})


def test_json_lines_get_a_higher_brotli_quality_at_low_levels(monkeypatch):
    from cobol.registry import EncodeContext
    for level in (1, 2, 3, 4, 5):
        assert plan.brotli_quality(EncodeContext(fmt="jsonl", level=level)) == plan.JSONL_BROTLI_QUALITY == 8
        assert plan.brotli_quality(EncodeContext(fmt="json", level=level)) == 6
    assert plan.brotli_quality(EncodeContext(fmt="jsonl", level=9)) == 9
    # JSON lines whose bytes are strings (prose), where brotli's quality shows
    import json
    lines = (SAMPLES / "text/debian-policy.txt").read_text().splitlines()
    data = "".join(json.dumps({"id": i, "kind": ("note", "rule", "text")[i % 3], "text": line}) + "\n"
                   for i, line in enumerate(lines) if line.strip()).encode()
    blob = cobol.compress(data, level=1, threads=1)
    assert cobol.decompress(blob) == data
    monkeypatch.setattr(plan, "JSONL_BROTLI_LEVELS", frozenset())
    # (this block is small enough for levels 1-2's own quality 8 too: LOW_LEVEL_SMALL_MAX)
    monkeypatch.setattr(plan, "LOW_LEVEL_SMALL_MAX", 0)
    assert len(blob) < len(cobol.compress(data, level=1, threads=1))


def test_lgwin_follows_the_stream():
    assert entropy.brotli_lgwin(1) == 16 and entropy.brotli_lgwin(1 << 16) == 16
    assert entropy.brotli_lgwin((1 << 20) + 1) == 21 and entropy.brotli_lgwin(1 << 30) == entropy.BROTLI_MAX_LGWIN


#: a level-3 frame (crc32) of PROSE * 4 with its one stream in codec 4, written by
#: the build that introduced the codec: it must keep decoding
BROTLI_FRAME = bytes.fromhex(
    "434f424c010380808004029a41c301910100e004000001047fe004daa7d6eeb8f17d0ce24b00804000d7f417baa7aa6d"
    "346d6a908f489d1cb05fbe9d0f76b128000f524d14721b3b4b4509db51fe6984e72d7edf2c3571b3924f553bd0cc51ff"
    "03e3bcf4f68db0494cfe8f2b97d79da18ca276383320aafd540fa2f0ac593b22920bb0e1a0d07b358e6b9e282a0c830b"
    "6a8e184a6be62b1836096116d6d2680ad9000001e004de829579")


def test_pinned_brotli_frame_decodes():
    from cobol.format.frame import DataBlock, iter_frame_records
    codecs = {e.codec for _, r in iter_frame_records(BROTLI_FRAME) if isinstance(r, DataBlock) for e in r.streams}
    assert codecs == {BROTLI}
    assert cobol.decompress(BROTLI_FRAME) == PROSE * 4


# ------------------------------------------------------------------ hostile


def test_wrong_length_trailing_and_truncated_streams_are_errors():
    data = PROSE * 50
    good = BrotliCodec().encode(data, 3)
    assert BrotliCodec().decode(good, len(data)) == data
    for stored, n, what in [(good, len(data) - 1, "more"), (good, len(data) + 1, "fewer"),
                            (good + b"\x00", len(data), "does not decode"),
                            (good[:-1], len(data), None), (good[:1], len(data), None), (b"", len(data), None)]:
        with pytest.raises(FormatError, match=what):
            BrotliCodec().decode(stored, n)


def test_a_huge_stream_against_a_small_table_length_stops_early():
    # 64 MiB of zeros in a few bytes: the decoder must stop near the table's
    # length, not inflate it all
    bomb = brotli.compress(bytes(64 << 20), quality=11)
    assert len(bomb) < 1000
    with pytest.raises(FormatError, match="more"):
        BrotliCodec().decode(bomb, 1000)


def test_flipped_and_garbage_streams_fail_cleanly():
    data = _sample("text")[:30000]
    good = BrotliCodec().encode(data, 3)
    rng = random.Random(13)
    for _ in range(120):
        b = bytearray(good)
        for _ in range(rng.randrange(1, 4)):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
        for stored, n in ((bytes(b), len(data)), (rng.randbytes(rng.randrange(0, 400)), rng.choice([0, 1, 30000]))):
            try:
                out = BrotliCodec().decode(stored, n)
            except CobolError:
                continue
            assert len(out) == n
