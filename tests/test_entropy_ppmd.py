"""Entropy codec 3 (ppmd): round trips, the level / size / gain policy, the
off switch, and hostile streams (bad header fields, truncation, bit flips,
garbage) that must raise a CobolError or decode to exactly the table's length
(the block checksum catches wrong bytes). The decoder itself (cobol.entropy_ppmd)
is checked against pyppmd in tests/test_ppmd7.py.

The child-process fuzz of the codec and of level-19 frames is in
tests/fuzz (targets codec-ppmd, frame-ppmd; bench/fuzz_decoders.py), run by
tests/test_hostile_decoders.py.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

import cobol
from cobol import entropy
from cobol.entropy import PPMD, PpmdCodec, entropy_code, ppmd_params
from cobol.errors import CobolError, FormatError
from cobol.info import frame_info
from cobol.registry import get_codec

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
PROSE = (b"The quick brown fox jumps over the lazy dog. THE DOG sleeps; the fox runs!\n"
         b"In 2024 the fox (aged 3) ran 12.5 km -- said the Report, and the dog didn't.\n")


def _text_sample() -> bytes:
    return next(p for p in sorted((SAMPLES / "text").iterdir()) if p.is_file()).read_bytes()


def _codecs(blob: bytes) -> set:
    return {s["codec"] for b in frame_info(blob).block_list for s in b.streams}


# ------------------------------------------------------------------ round trips


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=1, max_size=3000), st.sampled_from([19, 22]))
def test_codec_round_trips_any_bytes(data, level):
    c = PpmdCodec()
    assert c.decode(c.encode(data, level), len(data)) == data


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from([b"the ", b"fox ", b"\n", b"\x00", b"\xff\xfe", b"123", PROSE[:40]]), max_size=300))
def test_entropy_code_output_decodes_with_its_codec(parts):
    data = b"".join(parts)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(entropy, "PPMD_MIN_SIZE", 64)
        codec, stored = entropy_code(data, 19, ppmd=True)
    assert get_codec(codec).decode(stored, len(data)) == data


def test_engine_round_trip_uses_ppmd_on_prose_at_level_19():
    data = _text_sample()
    blob = cobol.compress(data, level=19, threads=1)
    assert cobol.decompress(blob) == data
    assert "ppmd" in _codecs(blob)
    # it is there because it is smaller than the zstd-only frame
    plain = cobol.compress(data, level=19, threads=1, layers={"ppmd": False})
    assert len(blob) < len(plain)


@pytest.mark.parametrize("folder", ["xml", "html", "json", "csv", "log", "numeric"])
def test_engine_round_trips_every_sample_kind_at_level_19(folder):
    for p in sorted((SAMPLES / folder).iterdir())[:1]:
        data = p.read_bytes()
        blob = cobol.compress(data, level=19, threads=1)
        assert cobol.decompress(blob) == data


# ------------------------------------------------------------------ policy


def test_no_ppmd_on_prose_below_level_6_or_when_switched_off():
    data = _text_sample()
    assert "ppmd" not in _codecs(cobol.compress(data, level=5, threads=1))
    for level in (6, 9, 12, 19):
        assert "ppmd" not in _codecs(cobol.compress(data, level=level, threads=1, layers={"ppmd": False}))
    assert entropy_code(data, 18, ppmd=True)[0] != PPMD
    assert entropy_code(data, 19, ppmd=False)[0] != PPMD
    assert entropy_code(data, 19, ppmd=True)[0] == PPMD


@pytest.mark.parametrize("level", [6, 8, 9, 10, 14, 15, 18])
def test_levels_6_to_18_code_prose_with_ppmd_at_their_orders(level):
    """plan.MID_PPMD_FORMATS at levels 6..18: PPMd (entropy.PPMD_MID_ORDERS_BY_LEVEL)
    is kept, smaller than the same level without it, and the frame decodes."""
    data = _text_sample()
    blob = cobol.compress(data, level=level, threads=1)
    assert cobol.decompress(blob) == data
    assert "ppmd" in _codecs(blob)
    assert len(blob) < len(cobol.compress(data, level=level, threads=1, layers={"ppmd": False}))


@pytest.mark.parametrize("name", ["html/" + sorted(p.name for p in (SAMPLES / "html").iterdir())[0],
                                  "jsonl/vega-football.jsonl"])
def test_level_12_codes_html_and_json_lines_with_ppmd(name):
    # (on vega-flights the JSON transform's columns stay with brotli: PPMd is kept only where it wins)
    data = (SAMPLES / name).read_bytes()[:300_000]
    blob = cobol.compress(data, level=12, threads=1)
    assert cobol.decompress(blob) == data
    assert "ppmd" in _codecs(blob)


@pytest.mark.parametrize("folder,level,ppmd", [("html", 6, True), ("html", 5, False), ("text", 6, True),
                                               ("text", 5, False),
                                               ("jsonl", 6, True), ("jsonl", 5, False)])
def test_ppmd_starts_at_level_6_on_html_json_lines_and_prose(folder, level, ppmd):
    data = next(p for p in sorted((SAMPLES / folder).iterdir()) if p.is_file()).read_bytes()[:300_000]
    if folder == "jsonl":
        data = (SAMPLES / "jsonl/vega-football.jsonl").read_bytes()[:300_000]
    blob = cobol.compress(data, level=level, threads=1)
    assert cobol.decompress(blob) == data
    assert ("ppmd" in _codecs(blob)) == ppmd


def test_mid_level_ppmd_orders_and_formats():
    from cobol import plan
    assert entropy.ppmd_mid_orders(5) == () and entropy.ppmd_mid_orders(19) == ()
    assert entropy.ppmd_mid_orders(6) == entropy.ppmd_mid_orders(8) == (8,)
    assert entropy.ppmd_mid_orders(9) == entropy.ppmd_mid_orders(14) == (16,)
    assert plan.MID_PPMD_MIN_LEVEL == {"html": 6, "text": 6, "jsonl": 6}
    assert entropy.ppmd_mid_orders(15) == entropy.ppmd_mid_orders(18) == (16, 32)
    assert plan.MID_PPMD_FORMATS.isdisjoint(plan.PPMD_EXCLUDED_FORMATS)


@pytest.mark.parametrize("folder", ["json", "xml", "csv", "numeric"])
@pytest.mark.parametrize("level", [9, 12, 17])
def test_other_formats_get_no_ppmd_at_levels_9_to_18(folder, level):
    data = next(p for p in sorted((SAMPLES / folder).iterdir()) if p.is_file()).read_bytes()[:200_000]
    blob = cobol.compress(data, level=level, threads=1)
    assert cobol.decompress(blob) == data
    assert "ppmd" not in _codecs(blob)


@pytest.mark.parametrize("folder", ["json", "xml"])
def test_json_and_xml_blocks_never_get_ppmd(folder):
    # brotli -11 is within a few percent there and decodes 5-10x faster (plan.PPMD_EXCLUDED_FORMATS)
    data = next(p for p in sorted((SAMPLES / folder).iterdir()) if p.is_file()).read_bytes()[:200_000]
    blob = cobol.compress(data, level=22, threads=1)
    assert cobol.decompress(blob) == data
    assert "ppmd" not in _codecs(blob)


def test_small_incompressible_and_dictionary_streams_stay_with_zstd():
    assert entropy_code(PROSE[:entropy.PPMD_MIN_SIZE // 2], 22, ppmd=True)[0] != PPMD
    noise = random.Random(3).randbytes(20000)
    assert entropy_code(noise, 22, ppmd=True)[0] != PPMD
    # a frame with a shared dictionary codes with zstd-dict only
    assert entropy_code(PROSE * 100, 22, dictionary=b"", ppmd=True)[0] == entropy.ZSTD_DICT


def test_min_gain_keeps_zstd_when_ppmd_wins_by_less(monkeypatch):
    data = _text_sample()
    z = entropy_code(data, 19)[1]
    p = PpmdCodec().encode(data, 19)
    assert len(p) < len(z)  # ppmd is smaller here ...
    monkeypatch.setattr(entropy, "PPMD_MIN_GAIN", 1 - len(p) / len(z) + 0.01)
    assert entropy_code(data, 19, ppmd=True)[0] == entropy.ZSTD  # ... but not by the required margin


def test_the_smallest_coding_over_the_levels_orders_is_kept():
    data = _text_sample()
    codec, out = entropy_code(data, 21, ppmd=True)
    assert codec == PPMD
    sizes = {o: len(entropy._ppmd_encode(data, *ppmd_params(21, len(data), o))) for o in entropy.ppmd_orders(21)}
    assert len(out) == min(sizes.values()) and sizes[out[0]] == len(out)
    assert PpmdCodec().decode(out, len(data)) == data


def test_provisional_then_final_coding_matches_coding_at_the_level():
    """Levels 19+ compare candidates with zstd -9 and PPMd's first orders
    (entropy.provisional_code); the winner's final coding (final_code) must be
    what entropy_code at the level gives: the same PPMd bytes over all orders."""
    data = _text_sample()
    for level in (19, 22):
        orders = entropy.ppmd_orders(level)
        head, rest = orders[:entropy.PPMD_COMPARE_ORDERS], orders[entropy.PPMD_COMPARE_ORDERS:]
        codec, coded, zsize = entropy.provisional_code(data, entropy.COMPARE_ZSTD_LEVEL, level, head)
        assert codec == PPMD and zsize == len(entropy_code(data, entropy.COMPARE_ZSTD_LEVEL)[1])
        for sure in (False, True):
            assert entropy.final_code(data, codec, coded, zsize, level, rest, sure) == \
                entropy_code(data, level, ppmd=True)


def test_final_code_keeps_zstd_where_it_beats_ppmd_unless_sure(monkeypatch):
    # repetitive numeric rows: zstd -19's long matches beat PPMd, which is
    # still under PPMD_SURE_FRACTION x zstd -9 (the CSV of test_engine's plan="zstd" test)
    data = b"".join(b"%d,%d,name%d\n" % (i, i * i % 977, i % 13) for i in range(30000))
    codec, coded, zsize = entropy.provisional_code(data, entropy.COMPARE_ZSTD_LEVEL, 19, (16,))
    z19 = entropy_code(data, 19)
    assert codec == PPMD and len(coded) <= entropy.PPMD_SURE_FRACTION * zsize and len(z19[1]) < len(coded)
    assert entropy.final_code(data, codec, coded, zsize, 19) == z19
    # on the formats where it was measured (plan.PPMD_SURE_FORMATS) the compare size decides alone
    assert entropy.final_code(data, codec, coded, zsize, 19, sure=True) == (PPMD, coded)


def test_final_code_keeps_ppmd_from_a_sampled_zstd_estimate(monkeypatch):
    """At levels 19+ a large PPMd stream well under zstd -19's size estimated on
    a sample (entropy._zstd_estimate) is kept without zstd -19 of the whole
    stream; the estimate's zstd passes see the sample only."""
    data = _text_sample()
    while len(data) < 2 * entropy.ZSTD_ESTIMATE_MIN:
        data += data[: len(data) // 3] + b"%d\n" % len(data)
    codec, coded, zsize = entropy.provisional_code(data, entropy.COMPARE_ZSTD_LEVEL, 19, (16,))
    assert codec == PPMD and len(coded) <= entropy.ZSTD_ESTIMATE_KEEP * len(entropy_code(data, 19)[1])
    sizes = []
    real = entropy._compressor

    def counted(level, dictionary, magicless=False):
        c = real(level, dictionary, magicless)

        class Counting:
            def compress(self, b):
                sizes.append((level, len(b)))
                return c.compress(b)
        return Counting()
    monkeypatch.setattr(entropy, "_compressor", counted)
    assert entropy.final_code(data, codec, coded, zsize, 19) == (PPMD, coded)
    assert sizes and all(n < len(data) for _, n in sizes)
    # below 19 (PPMd at levels 10-18) the whole stream is still coded at the level
    sizes.clear()
    entropy.final_code(data, codec, coded, zsize, 15)
    assert (15, len(data)) in sizes


def test_prose_at_levels_19_20_codes_ppmd_order_16_only(monkeypatch):
    """plan.TOP_PPMD_ORDERS: prose at 19-20 tries order 16 alone; 21+ every order."""
    data = _text_sample()
    orders = []
    real = entropy._ppmd_encode
    monkeypatch.setattr(entropy, "_ppmd_encode", lambda d, order, code: orders.append(order) or real(d, order, code))
    for level, want in ((19, {16}), (22, set(entropy.ppmd_orders(22)))):
        orders.clear()
        blob = cobol.compress(data, level, threads=1)
        assert cobol.decompress(blob) == data
        assert "ppmd" in _codecs(blob) and set(orders) == want


def test_model_memory_stays_within_the_decoders_bound():
    for n in (1, 4096, 65536, 1 << 20, 1_400_000, 3 << 20, 8 << 20, 64 << 20):
        for level in (19, 20, 21, 22):
            order, code = ppmd_params(level, n)
            assert 2 <= order <= 16 and 0 <= code <= entropy.PPMD_MAX_MEM_CODE
            assert code == 0 or (1 << (20 + code)) <= entropy.PPMD_MEM_PER_BYTE * n


# ------------------------------------------------------------------ hostile


def test_header_fields_are_validated():
    good = PpmdCodec().encode(PROSE * 10, 19)
    n = len(PROSE) * 10
    with pytest.raises(FormatError, match="shorter"):
        PpmdCodec().decode(good[:6], n)
    with pytest.raises(FormatError, match="order"):
        PpmdCodec().decode(bytes([1]) + good[1:], n)
    with pytest.raises(FormatError, match="order"):
        PpmdCodec().decode(bytes([65]) + good[1:], n)
    with pytest.raises(FormatError, match="memory code"):
        PpmdCodec().decode(good[:1] + bytes([9]) + good[2:], n)
    with pytest.raises(FormatError, match="over 64 x"):
        PpmdCodec().decode(good[:1] + bytes([8]) + good[2:], n)  # 256 MiB for a 1.6 KB stream
    with pytest.raises(FormatError, match="decoded length"):
        PpmdCodec().decode(good, 0)


def test_truncated_flipped_and_garbage_streams_fail_cleanly():
    data = _text_sample()[:30000]
    good = PpmdCodec().encode(data, 19)
    rng = random.Random(11)
    cases = []
    for i in range(40):
        cases.append((good[:rng.randrange(0, len(good))], len(data)))
        b = bytearray(good)
        for _ in range(rng.randrange(1, 4)):
            b[rng.randrange(2, len(b))] ^= 1 << rng.randrange(8)
        cases.append((bytes(b), len(data)))
        cases.append((bytes([rng.randrange(2, 17), rng.randrange(0, 5)]) + rng.randbytes(rng.randrange(0, 2000)),
                      rng.choice([1, 100, 30000, 1 << 20])))
    for stored, n in cases:
        try:
            out = PpmdCodec().decode(stored, n)
        except CobolError:
            continue
        assert len(out) == n


def test_a_corrupted_ppmd_stream_in_a_frame_is_an_error():
    data = _text_sample()
    blob = bytearray(cobol.compress(data, level=19, threads=1, checksum="crc32"))
    assert "ppmd" in _codecs(bytes(blob))
    rng = random.Random(5)
    for _ in range(20):
        b = bytearray(blob)
        b[rng.randrange(len(b) // 4, len(b) - 16)] ^= 1 << rng.randrange(8)
        with pytest.raises(CobolError):
            cobol.decompress(bytes(b))


def test_any_number_of_corrupt_streams_is_an_error_each_and_leaves_nothing_behind():
    # pyppmd's threaded decoder had to be leaked on such streams and ppmd decoding
    # was refused after 256 of them; ours is a plain function call
    data = _text_sample()[:5000]
    good = PpmdCodec().encode(data, 19)
    for i in range(300):
        with pytest.raises(FormatError):
            PpmdCodec().decode(good[: 7 + i % (len(good) - 8)], len(data))
    assert PpmdCodec().decode(good, len(data)) == data
