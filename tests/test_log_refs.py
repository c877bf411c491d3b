"""Log params version 4: the skeletons move-to-front coded (``refs`` stream,
:mod:`cobol.layers.log_refs`): the encoder's ranks against a plain recency
list, the two decoders (the kernel, and the Python one ``cobol grep`` uses)
against each other, round trips of generated logs forced through version 4,
hostile refs and params, and a pinned version-4 frame."""

import random

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import cobol
from cobol.errors import CobolError, FormatError
from cobol.layers import l2_log, log_format, log_refs
from cobol.layers.l2_log import LogModel, LogTransform, decode_block
from cobol.layers.log_numpy import read_log_block
from cobol.logsearch import grep
from cobol.registry import DecodeContext, EncodeContext
from support import mutated_log_blocks
from test_log import LINES


def _mtf_reference(items: list, max_ref: int) -> list:
    """The refs of ``items`` by a plain list (what log_refs.refs_of computes in one pass)."""
    recent, refs = [], []
    for v in items:
        r = recent.index(v) + 1 if v in recent else 0
        if r > max_ref:
            r = 0
        refs.append(r)
        if v in recent:
            recent.remove(v)
        recent.insert(0, v)
    return refs


def _refs_of(items: list) -> np.ndarray:
    joined = b"".join(v + b"\n" for v in items)
    buf = np.frombuffer(joined, np.uint8)
    ends = np.flatnonzero(buf == 10)
    starts = np.concatenate(([0], ends[:-1] + 1)).astype(np.int64)[:ends.size]
    return log_refs.refs_of(buf, starts, ends, log_format.MAX_REF)


def _stored(items: list, refs) -> bytes:
    return b"".join(v + b"\n" for v, r in zip(items, refs) if r == 0)


def _kernel_expand(stored: bytes, refs: bytes, cap: int):
    buf = np.frombuffer(stored, np.uint8)
    padded = np.zeros(buf.size + 64, np.uint8)
    padded[:buf.size] = buf
    out = np.empty(cap + 64, np.uint8)
    if buf.size and buf[-1] != 10:
        return None  # (checked by the caller, l2_log._expanded)
    n = log_refs.expand_refs(padded, np.flatnonzero(buf == 10), np.frombuffer(refs, np.uint8), cap, out)
    return None if n < 0 else out[:n].tobytes()


ITEMS = st.lists(st.sampled_from([b"", b"a", b"b", b"libc-bin", b"\x12:\x12", b"x" * 40, b"\xff\x00", b"c"]), max_size=300)


@settings(max_examples=200, deadline=None)
@given(ITEMS)
def test_refs_match_a_plain_recency_list_and_both_decoders_invert_them(items):
    refs = _refs_of(items)
    assert refs.tolist() == _mtf_reference(items, log_format.MAX_REF)
    stored = _stored(items, refs)
    whole = b"".join(v + b"\n" for v in items)
    cap = len(whole)
    assert log_format.expand_skeletons(stored, refs.tobytes(), len(items), cap) == whole
    assert _kernel_expand(stored, refs.tobytes(), cap) == whole


def test_ranks_stop_at_max_ref():
    rng = random.Random(3)
    items = [b"v%d" % rng.randrange(400) for _ in range(5000)]
    refs = _refs_of(items)
    assert refs.tolist() == _mtf_reference(items, log_format.MAX_REF)
    assert refs.max() == log_format.MAX_REF and (refs == 0).sum() > 400  # far ones are sent again
    stored, whole = _stored(items, refs), b"".join(v + b"\n" for v in items)
    assert log_format.expand_skeletons(stored, refs.tobytes(), len(items), len(whole)) == whole
    assert _kernel_expand(stored, refs.tobytes(), len(whole)) == whole


def test_hostile_refs_raise_in_both_decoders():
    items = [b"alpha", b"beta", b"alpha", b"gamma" * 20, b"beta"]
    refs = _refs_of(items).tobytes()
    stored = _stored(items, refs)
    cap = 200
    cases = [
        (stored, refs[:-1] + b"\x09"),          # a rank beyond the list
        (stored, b"\x01" + refs[1:]),           # a rank into an empty list
        (stored + b"extra\n", refs),            # a stored item left over
        (stored.split(b"\n", 1)[1], refs),      # one missing
        (stored[:-1], refs),                    # not ended by a newline
        (stored, refs + b"\x02\x01\x01"),        # the long one repeated past the cap
    ]
    for s, r in cases:
        with pytest.raises(FormatError):
            log_format.expand_skeletons(s, r, len(r), cap)
        assert _kernel_expand(s, r, cap) is None
    with pytest.raises(FormatError):
        log_format.expand_skeletons(stored, refs, len(refs) + 1, cap)


def _forced_v4(data: bytes):
    """(streams, params) of ``data`` with the skeletons move-to-front coded, whatever the trial says."""
    model = LogModel(data).with_refs()
    return [bytes(s) for s in model.streams()], model.params()


@settings(max_examples=120, deadline=None)
@given(LINES, st.booleans(), st.booleans())
def test_generated_lines_forced_through_version_4_round_trip(lines, final, columns):
    data = b"\n".join(lines) + (b"\n" if final and lines else b"")
    data = data * 3
    if len(data) < 64:
        return
    scan = l2_log.LogScan(data)
    if scan.n_raw == scan.n_lines:
        return
    model = LogModel(data, columns=columns, scan=scan).with_refs()
    streams, params = [bytes(s) for s in model.streams()], model.params()
    assert params[0] == log_format.VERSION_REFS and len(streams) == 7
    assert decode_block(streams, params, len(data)) == data
    assert LogTransform().decode(streams, params, len(data), DecodeContext()) == data
    # grep's readers: the Python expansion, then the NumPy block and the kernels' LogBlock
    canon = log_format.canonical_streams(streams, params, len(data))
    assert canon[2] == model.skeletons
    lb = read_log_block(streams, params, len(data))
    if lb is not None:
        got = lb.render(np.ones(lb.n_lines, np.bool_))
        assert got is None or got[0].tobytes() == data
    text, _ = l2_log.LogBlock(streams, params, len(data)).render()
    assert text.tobytes() == data


def _fixture_log(n: int = 10) -> bytes:
    """dpkg-like lines: each package's name and version on five lines in a row
    (what the refs code as small ranks), the packages in a shuffled order."""
    pkgs = [(b"libc-bin", b"2.36-9+deb12u10"), (b"zlib1g", b"1:1.2.13.dfsg-1"), (b"openssl", b"3.0.17-1~deb12u2"),
            (b"curl", b"7.88.1-10+deb12u12"), (b"tzdata", b"2025b-0+deb12u1"), (b"gnupg", b"2.2.40-1.1"),
            (b"bash", b"5.2.15-2+b8"), (b"perl-base", b"5.36.0-7+deb12u2")]
    out = []
    for i in range(n):
        p, v = pkgs[(i * 5 + i // 8) % 8]
        out.append(b"2026-12-06 10:%02d:%02d startup packages configure\n" % (i // 6, (i * 7) % 60))
        for s in (b"unpacked", b"half-configured", b"installed"):
            out.append(b"2026-12-06 10:%02d:%02d status %s %s:amd64 %s\n" % (i // 6, (i * 7) % 60, s, p, v))
        out.append(b"2026-12-06 10:%02d:%02d configure %s:amd64 %s <none>\n" % (i // 6, (i * 7) % 60, p, v))
    return b"".join(out)


#: level 1, plan "log", by branch log-ratio7: params version 4 (refs stream), no extra delimiters
LOG_V4_FRAME = bytes.fromhex(
    "434f424c0122b4183c0a040100320500b40100000701598801001b1b04b301ca02000202000000000000011db40164cf"
    "857ee7b499be28b52ffd000085020072c40e14a0a53a82689274fd4d24a1aab73d70d145d5c00362384c28dcf711324d"
    "34014116f07dc09d610af7b92a6e6d3104d3785eb1334c5dad2ed3bcef06004f15c0d330a126a84ad376f2b5c8941301"
    "32020132800404020228011111111111e4e4e4e4e4e4e4e4e4e422290080accef92afbb4819d9d03e275877ae7e3b7ff"
    "f263f22dcaa356d4638f030eea8629c5ae2e6f310aadca0d45915d100ed97fa1ade204e3aa0fa32e756d50322e06569a"
    "c5a29b30bb7a50f4db58e4a664330a09136283565d9636802126f1ec6fe6ca8e2a306673fb7c8103e7907189d1b39a0f"
    "eb7d7823b213ab13230fc764320edc6d158b3d241452124369be1468a784b6421c2da568561207d58a7da607906cf3f8"
    "c023df27513d57b4386e116c00010028b52ffd0000a5000048000002020000040a0a030040445f330d1c3002")


def test_pinned_version_4_frame_decodes_and_greps():
    data = _fixture_log()
    enc = LogTransform().encode(data, EncodeContext(fmt="log", level=1))
    assert enc.params[0] == log_format.VERSION_REFS and len(enc.streams) == 7
    assert cobol.frame_info(LOG_V4_FRAME).plans == {"log": 1}
    assert cobol.decompress(LOG_V4_FRAME) == data
    lines = data.split(b"\n")[:-1]
    for needle in (b"zlib1g", b"openssl:amd64 3.0.17", b"half-configured curl", b"10:00:07", b"absent", b"+deb12u"):
        r = grep(needle, LOG_V4_FRAME, fixed=True)
        assert r.lines == [ln for ln in lines if needle in ln], needle
    r = grep(b"^2026.*tzdata", LOG_V4_FRAME)
    assert r.lines == [ln for ln in lines if ln.startswith(b"2026") and b"tzdata" in ln]


def test_hostile_version_4_params_raise():
    data = _fixture_log()
    streams, params = _forced_v4(data)
    assert decode_block(streams, params, len(data)) == data
    rest = params[3:]
    for bad in (bytes([4, 1, 4]) + b"./:/" + rest, bytes([4, 1, 2]) + b"/." + rest, bytes([4, 1, 1]) + b"-" + rest,
                bytes([4, 2, 0]) + rest, bytes([4, 1]), bytes([4, 1, 0]) + rest + b"\x00"):
        with pytest.raises(FormatError):
            decode_block(streams, bad, len(data))
        with pytest.raises(FormatError):
            log_format.canonical_streams(streams, bad, len(data))
    with pytest.raises(FormatError):  # version 4 params need the refs stream, earlier ones must not have it
        decode_block(streams[:6], params, len(data))
    with pytest.raises(FormatError):
        decode_block(streams, bytes([1, 1]) + rest, len(data))


def test_mutated_version_4_blocks_raise_or_agree():
    data = _fixture_log(40)
    streams, params = _forced_v4(data)
    rng = random.Random(11)
    for case, ss, pp, m in mutated_log_blocks(streams, params, len(data), rng, 400, drop_streams=True, flip_share=0.7):
        try:
            want = decode_block(ss, pp, m)
        except CobolError:
            want = None
        try:
            canon = log_format.canonical_streams(ss, pp, m)
        except CobolError:
            canon = None
        if want is not None:
            assert canon is not None, case
            assert decode_block(canon, (bytes([1]) + pp[1:2] + pp[3:]) if pp[2] == 0 else bytes([2]) + pp[1:], m) == want
