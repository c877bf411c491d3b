"""Entropy codec 5 (hex): runs of hex digits packed two to a byte. The kernels
against plain references, round trips of any layout of runs, the planner's use
of it, a pinned frame that must keep decoding, and hostile streams that must
raise a FormatError.

The child-process fuzz of the codec is in bench/fuzz_decoders.py (target codec-hex).
"""

from __future__ import annotations

import json
import random
import re

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import cobol
from cobol import entropy, hexcodec, plan
from cobol.entropy import BROTLI, HEX, NONE, ZSTD, HexCodec, hex_encode
from cobol.errors import CobolError, FormatError
from cobol.info import frame_info

_RUN = re.compile(rb"[0-9a-fA-F]+")


def _reference_runs(data: bytes, min_run: int):
    out = []
    for m in _RUN.finditer(data):
        run = m.group()
        has_digit = any(48 <= c <= 57 for c in run)
        lower = any(97 <= c <= 102 for c in run)
        upper = any(65 <= c <= 70 for c in run)
        if len(run) >= min_run and has_digit and lower != upper:
            out.append((m.start(), len(run), int(upper)))
    return out


def _sbom(n: int, seed: int = 1, upper: bool = False) -> bytes:
    rng = random.Random(seed)
    fmt = "{:064X}" if upper else "{:064x}"
    comps = [{"name": f"lib{i}", "version": f"1.{i}.0",
              "hashes": [{"alg": "SHA-256", "content": fmt.format(rng.getrandbits(256))},
                         {"alg": "SHA-1", "content": f"{rng.getrandbits(160):040x}"}]} for i in range(n)]
    return json.dumps({"components": comps}, indent=2).encode()


_pieces = st.one_of(
    st.binary(max_size=30),
    st.integers(1, 90).flatmap(lambda n: st.text("0123456789abcdef", min_size=n, max_size=n)).map(str.encode),
    st.integers(1, 90).flatmap(lambda n: st.text("0123456789ABCDEF", min_size=n, max_size=n)).map(str.encode),
    st.sampled_from([b" ", b"\n", b"\x00", b"g", b"G", b"x", b"-", b"\xff"]),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_pieces, max_size=60), st.integers(1, 40))
def test_find_runs_matches_the_reference(pieces, min_run):
    data = b"".join(pieces)
    starts, lens, upper = hexcodec.find_runs(np.frombuffer(data, np.uint8), hexcodec._CLASS, min_run)
    assert list(zip(starts.tolist(), lens.tolist(), upper.tolist())) == _reference_runs(data, min_run)


@settings(max_examples=150, deadline=None)
@given(st.lists(_pieces, max_size=60), st.integers(1, 40))
def test_split_and_join_give_the_stream_back(pieces, min_run):
    data = b"".join(pieces)
    runs = hexcodec.find_runs(np.frombuffer(data, np.uint8), hexcodec._CLASS, min_run)
    rest, table, nib = hexcodec.split(data, runs)
    assert len(rest) == len(data) - int(runs[1].sum())
    assert len(nib) == int(((runs[1] + 1) // 2).sum())
    assert hexcodec.join(rest, table, nib, len(data)) == data


@settings(max_examples=40, deadline=None)
@given(st.lists(_pieces, min_size=20, max_size=120), st.sampled_from([ZSTD, BROTLI, NONE]),
       st.sampled_from([1, 3, 19]))
def test_codec_round_trips(pieces, rest_codec, level):
    data = b"".join(pieces) * 8
    coded = hex_encode(data, rest_codec, level, 5)
    if coded is None:
        assert hexcodec.packable(data) is None
        return
    assert HexCodec().decode(coded, len(data)) == data


@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("level", [1, 3, 9, 19])
def test_planner_packs_hashes_and_round_trips(upper, level):
    data = _sbom(60, upper=upper)
    blob = cobol.compress(data, level, threads=1)
    assert cobol.decompress(blob) == data
    codecs = {s["codec"] for b in frame_info(blob).block_list for s in b.streams}
    assert "hex" in codecs


def test_hex_codec_makes_hash_heavy_streams_smaller(monkeypatch):
    data = _sbom(1500)  # 500 KB: past the small-block brotli 10 rules
    with_hex = cobol.compress(data, 3, threads=1)
    monkeypatch.setattr(plan, "recode_hex", lambda p, ctx: None)
    without = cobol.compress(data, 3, threads=1)
    # 104 random digits per component: 78 KB at 4 bits a digit; brotli 6 spends
    # ~4.5 bits a digit on them (79,952 against 89,717 bytes when written)
    assert len(with_hex) < 0.92 * len(without)


def test_streams_without_hex_runs_are_left_alone():
    prose = b"The deadbeef cafe faced a decade of added fees; 2024 was bad. " * 200
    assert hexcodec.packable(prose) is None
    blob = cobol.compress(prose, 3, threads=1)
    assert "hex" not in {s["codec"] for b in frame_info(blob).block_list for s in b.streams}


# A level-3 frame of _sbom(8, seed=7), written when codec 5 was added: must keep decoding.
PINNED_INPUT_SEED = 7


def _pinned_input() -> bytes:
    return _sbom(8, seed=PINNED_INPUT_SEED)


HEX_FRAME = bytes.fromhex(
    "434f424c0122881500000105d30488155abfcb5b666ef3be04c80e9501013016e2e80080f3c08e69e094a743dd25c3528eb4"
    "39f5117de6e78d4ffd75b7fbcb9a2e4a6c6636a900c2123af09f3b81234df02985c709a76d595b9084810798705ba0d207d9"
    "e1aee84e2c51db90e5024d3040231e10fedb8c010d3922083175e3510cc7d5f82a68fd9be5e8ad686466e807c200acfdb269"
    "09231d71dfa644741088eaa010d3c120ae8343428780a40e09a9bfadb8ca1f28b52ffd00006d0000389801800147509f0100"
    "021523d23f0824128b2f330c5c7fd0a6a3a4506513270e269e0d37f2a74de452e6b4380ed904759531985d5d9dc9f81818e8"
    "11892f902b11e20b8f6b0d549b6f03675a1600a35a099950d836f675cc81e74ef5e8e25d940f21ddb66cad4a268d116ece17"
    "38f7d93d9c1724953f48f1a09f76b5a170b33839263059f28c105d1fb17c2390c192cfd3ac94af658cda1495e60af593bd04"
    "cf0fd630f1f29d0da94a23d5962217beaddbc496cb8e81973e0becd7b03898d190f9ebdacc0cb1e29c922766581e27a1c08a"
    "6a63ec24ede6a46b4cb242923a736994e3bf911a61dbe22e44158bae97ba94d0eda82f8f6d05584ef8aa388c38fb2918f135"
    "d25f557203301850c5a38fd547ae2eb1547f15052434b9b5df9e7769b10f4205b4907a70c31012f037b64ce4227731af1050"
    "6bf2efc6f877186d76b07e881ed1622e05319acb5c74273f98e2774cbd87ad5c90a9587403e430ec66a78795e761d1930d6e"
    "af14f4733f3e7d1bfbc7a2ea20b2f14c9449b64a0872e6cc3ababced2057ee05cde00902c77ebff206867347214cdd205583"
    "0e07bc1e398f1012bd4acefaecbd389be4bcfc"
)


def test_pinned_hex_frame_decodes():
    assert cobol.decompress(HEX_FRAME) == _pinned_input()
    codecs = {s["codec"] for b in frame_info(HEX_FRAME).block_list for s in b.streams}
    assert "hex" in codecs


def _coded() -> tuple[bytes, bytes]:
    data = b"\n".join(b"sha256:%064x  file%d" % (random.Random(i).getrandbits(256), i) for i in range(40))
    coded = hex_encode(data, ZSTD, 3)
    assert coded is not None
    return data, coded


def test_hostile_streams_raise_format_errors():
    data, coded = _coded()
    codec = HexCodec()
    assert codec.decode(coded, len(data)) == data
    for n in (0, 1, 3, 10, len(coded) // 2, len(coded) - 1):
        with pytest.raises(CobolError):
            codec.decode(coded[:n], len(data))
    with pytest.raises(CobolError):
        codec.decode(coded + b"\x00", len(data))
    for wrong in (len(data) - 1, len(data) + 1, 0):
        with pytest.raises(CobolError):
            codec.decode(coded, wrong)
    for bad_codec in (2, 3, 5, 255):
        with pytest.raises(FormatError):
            codec.decode(bytes([bad_codec]) + coded[1:], len(data))
    rng = random.Random(3)
    for _ in range(300):
        b = bytearray(coded)
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        try:
            out = codec.decode(bytes(b), len(data))
        except CobolError:
            continue
        assert len(out) == len(data)  # a change in the digits decodes to other digits


def test_odd_run_padding_must_be_zero():
    data = b"x" + b"a1" * 300 + b"b"  # one run of 601 digits: odd
    rest, table, nib = hexcodec.split(data, hexcodec.packable(data))
    assert nib[-1] & 15 == 0
    bad = nib[:-1] + bytes([nib[-1] | 1])
    with pytest.raises(ValueError, match="padding"):
        hexcodec.join(rest, table, bad, len(data))


def test_codec_id_and_name():
    assert HEX == 5 and entropy.get_codec(5).name == "hex"
