"""Hostile input: corrupt, truncated or crafted .cobl data raises a CobolError,
never another exception, a crash, a hang or an unbounded allocation.

The fuzzing runs in child processes (tests/fuzz, also bench/fuzz_decoders.py: a segfault in a
Numba kernel must not take pytest with it), a small seeded share of what
``bench/fuzz_decoders.py --seconds 600`` runs. The regression tests below are
the cases the fuzzer found, each made by hand.
"""

from __future__ import annotations

import struct

import numpy as np
import pytest
import zstandard

import cobol
from cobol.entropy import ZstdCodec
from cobol.errors import CobolError, FormatError
from cobol.format import checksum as ck
from cobol.format.frame import (DataBlock, FrameHeader, StreamEntry, encode_data_block, encode_end_record,
                                encode_frame_header)
from cobol.registry import DecodeContext, EncodeContext, transform_by_name

import fuzz as fz  # tests/fuzz, the harness


#: rounds of the CI fuzz (one mutation of every input of every target per round)
CI_ROUNDS = 80
CI_SEED = 20240601


def _describe(rep) -> str:
    return "\n" + rep.text()


# ------------------------------------------------------------------ the harness


def test_harness_catches_each_kind_of_failure():
    """The harness itself can fail: a segfault, a hang, an allocation over the
    case's budget, an IndexError and a catch-all net are each reported as such."""
    targets = ["_selftest-segv", "_selftest-hang", "_selftest-alloc", "_selftest-index", "_selftest-net",
               "_selftest-fine"]
    rep = fz.run_campaign(targets, cases=1, seed=1, case_timeout=4, startup_timeout=120)
    kinds = {(r["case"].split("|")[0], r["kind"], r.get("exc")) for r in rep.failures}
    assert ("_selftest-segv", "crash", "exit -11") in kinds
    assert ("_selftest-hang", "hang", "hang") in kinds
    assert ("_selftest-alloc", "fail", "MemoryError") in kinds
    assert ("_selftest-index", "fail", "IndexError") in kinds
    assert not any(r["case"].startswith("_selftest-fine") for r in rep.failures + rep.nets)
    assert [r["case"].split("|")[0] for r in rep.nets] == ["_selftest-net"]
    # resumed after the crash and the hang: every target got its case
    assert rep.stats["_selftest-fine"]["cases"] == 1


def test_cases_are_reproducible():
    a = fz.repro("bitpack|delta-c128|3|7", verbose=False)
    b = fz.repro("bitpack|delta-c128|3|7", verbose=False)
    assert a["mutations"] and a["mutations"] == b["mutations"]
    assert a["kind"] == b["kind"] == "ok"


# ------------------------------------------------------------------ the fuzz


def test_fuzz_every_decoder_in_a_child():
    """Every registered transform, the int codec, the bit packer, the delta
    decoder, the CPU backend's decoders, whole frames through
    cobol.decompress / decompress_stream / frame_info (with and without a
    shared dictionary), dictionary files and the streaming protocol's blocks
    and messages: mutated inputs raise CobolError only, within time and memory."""
    targets = fz.default_targets()
    rep = fz.run_campaign(targets, cases=CI_ROUNDS, seed=CI_SEED, sample_limit=8192,
                          case_timeout=60, mem_budget=1536 << 20, slow=5.0)
    assert set(rep.stats) == set(targets), _describe(rep)
    for name, st in rep.stats.items():
        assert st["inputs"] >= 1 and st["cases"] == CI_ROUNDS * st["inputs"], (name, st)
    # the contract: a CobolError raised on purpose (not a catch-all net around an
    # IndexError and the like) or a result; a transform's result of exactly raw_len bytes
    assert not rep.failures, _describe(rep)
    assert not rep.nets, _describe(rep)
    # every transform id the registry knows is covered
    from cobol.registry import all_transforms
    assert {t.name for t in all_transforms()} <= set(rep.stats)


# ------------------------------------------------------------------ regressions


def _zstd_frame_declaring(size: int, payload: bytes = b"a") -> bytes:
    """A zstd frame whose header claims ``size`` content bytes (8-byte field,
    single segment) followed by one raw last block of ``payload``."""
    magic = struct.pack("<I", 0xFD2FB528)
    fhd = 0b11100000
    block_header = (1 | (0 << 1) | (len(payload) << 3)).to_bytes(3, "little")
    return magic + bytes([fhd]) + struct.pack("<Q", size) + block_header + payload


def test_zstd_codec_rejects_a_declared_content_size_beyond_the_table():
    # python-zstandard allocates a declared content size whatever max_output_size
    # says: a 16-byte stream asked for 1 TiB (MemoryError, or the memory) before the fix
    with pytest.raises(FormatError, match="declares"):
        ZstdCodec().decode(_zstd_frame_declaring(1 << 40), 1)
    with pytest.raises(FormatError, match="declares"):
        ZstdCodec().decode(_zstd_frame_declaring(2), 1)
    # a frame that declares exactly the table's length is a valid zstd frame
    assert ZstdCodec().decode(_zstd_frame_declaring(1), 1) == b"a"
    assert ZstdCodec().decode(zstandard.ZstdCompressor().compress(b"xyz" * 50), 150) == b"xyz" * 50


def _frame(raw_len: int, transform: int, params: bytes, streams: list, raw: bytes) -> bytes:
    header = FrameHeader(ck.CRC32, 1 << 20)
    block = DataBlock(seq=0, raw_len=raw_len, transform=transform, params=params,
                      streams=[StreamEntry(c, len(p), d) for c, p, d in streams],
                      checksum=ck.compute(ck.CRC32, raw), payloads=[p for _, p, _ in streams])
    return encode_frame_header(header) + encode_data_block(block) + encode_end_record(1, raw_len)


def test_frame_with_a_zstd_stream_declaring_a_huge_size_is_a_format_error():
    blob = _frame(1, 0, b"", [(1, _zstd_frame_declaring(1 << 40), 1)], b"a")
    with pytest.raises(FormatError, match="declares"):
        cobol.decompress(blob)
    assert cobol.decompress(_frame(1, 0, b"", [(1, _zstd_frame_declaring(1), 1)], b"a")) == b"a"


def test_numeric_values_frame_declaring_a_huge_size_is_a_format_error():
    data = np.arange(4000, dtype="<i8").tobytes()
    t = transform_by_name("numeric")
    enc = t.encode(data, EncodeContext(level=3, fmt="numeric", hints={"dtype": "int64"}))
    assert t.decode(enc.streams, enc.params, len(data), DecodeContext()) == data
    params = bytearray(enc.params)
    params[4] |= 1  # flag: the values stream is a zstd frame of its own
    streams = list(enc.streams)
    streams[0] = zstandard.ZstdCompressor().compress(enc.streams[0])
    assert t.decode(streams, bytes(params), len(data), DecodeContext()) == data
    streams[0] = _zstd_frame_declaring(1 << 40)
    with pytest.raises(FormatError, match="declares"):
        t.decode(streams, bytes(params), len(data), DecodeContext())


def test_markup_text_groups_claiming_more_than_the_block_fail_before_decoding(monkeypatch):
    """Each of up to 33 l1-coded text groups may claim raw_len + 1 MiB bytes and
    a few bytes of word codes decode to it: the groups were all decoded and held
    (34 x raw_len at the peak, measured on a 16 MiB block) before the total was
    checked. The sizes are in the params: checked first now."""
    from cobol.format.wire import Reader, put_bytes, put_varint
    from cobol.layers import l1_semantic
    from cobol.layers.l2_markup import N_MISC, MarkupDecoder, MarkupEncoder

    words = ["lorem", "ipsum", "dolor", "sit", "amet", "x" * 60]
    rng = np.random.default_rng(1)
    doc = "<doc>" + "".join(f"<p>{' '.join(words[i] for i in rng.integers(0, 6, 40))}.</p>\n"
                            for _ in range(200)) + "</doc>"
    enc = MarkupEncoder(False, 19, use_l1=True, text_by_parent=True).encode(doc.encode())
    r = Reader(enc.params)
    flags, nl, unit = r.u8(), r.varint(), r.bytes_field("unit", 16)
    misc = [r.varint() for _ in range(N_MISC)]
    tnames = [r.varint() for _ in range(r.varint())]
    vnames = [r.varint() for _ in range(r.varint())]
    coder = l1_semantic.WordCoder.from_bytes(enc.streams[3])
    code = 0x80 + coder.words.index(b"x" * 60)
    raw_len = 1 << 16
    m = raw_len // 61
    size = 60 + 61 * (m - 1)  # m words of 60 bytes, an implied space between them
    n_text = 32
    p = bytearray([flags])
    put_varint(p, nl)
    put_bytes(p, unit)
    for x in misc:
        put_varint(p, x)
    put_varint(p, n_text)
    for _ in range(n_text):
        put_varint(p, tnames[0])
    put_varint(p, len(vnames))
    for x in vnames:
        put_varint(p, x)
    for _ in range(n_text + 1):
        put_varint(p, size)
    streams = enc.streams[:4] + [bytes([code]) * m] * (n_text + 1) + enc.streams[4 + len(tnames) + 1:]

    def no_decoding(self, coded, raw_len):
        raise AssertionError("text groups decoded before their sizes were checked")

    monkeypatch.setattr(l1_semantic.WordCoder, "decode", no_decoding)
    with pytest.raises(cobol.LimitError, match="text groups claim"):
        MarkupDecoder().decode(streams, bytes(p), raw_len)


def _csv_column_source(params: bytes, streams: list):
    from cobol.format.wire import Reader
    from cobol.layers import csv_columns as cc
    return cc.StreamSource(Reader(params, what="csv params"), streams)


@pytest.mark.parametrize("kind", ["template", "numeric"])
def test_csv_column_printing_more_than_the_block_fails_before_allocating(kind):
    """A few bytes of int stream give n values of 18 digits each: the column's
    text (up to 40 bytes a value for numbers, 8 x 18 + literals for templates)
    was allocated and printed before its length was compared with the block.
    The kernels now stop at the block's length."""
    from cobol.layers import csv_columns as cc
    n, limit = 20000, 40000  # two bytes a value allowed; each prints 18
    big = cc.encode_ints(np.full(n, 10**17, np.int64))
    assert len(big) < 64
    if kind == "template":
        params = bytes([cc.TPL, 1, 0, 0, 1, 0])  # 1 run, two empty literals, width 1, no exceptions
    else:
        params = bytes([cc.NUM, 1, cc.REP_DECIMAL, 0, cc.SCALE_CONST, 0, cc.REF_NONE])  # width 1, scale 0
    with pytest.raises(FormatError, match=f"{kind} column prints more than the block"):
        cc.decode_column(_csv_column_source(params, [big]), n, limit)
    # within the limit the same column decodes
    buf, offs = cc.decode_column(_csv_column_source(params, [big]), n, 18 * n)
    assert offs[-1] == 18 * n and bytes(buf[:18]) == b"1" + b"0" * 17
