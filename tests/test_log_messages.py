"""Log params version 5: lines of one-of-a-kind templates cut into a header
(templated, ended by TAIL) and a message (the ``messages`` stream): round
trips, the decoder's checks on hostile streams and params, ``cobol grep``
(which decodes such a block whole) and a pinned version-5 frame."""

import random

import pytest
from hypothesis import given, settings, strategies as st

import cobol
from cobol.errors import CobolError, FormatError
from cobol.format.wire import put_varint
from cobol.layers import l2_log, log_format
from cobol.layers.l2_log import LogTransform, decode_block
from cobol.logsearch import grep
from cobol.registry import EncodeContext
from support import count_candidate_line_searches, decoded_or_none, mutated_log_blocks

WORDS = (b"the build", b"is green", b"again", b"see", b"http://example.org/x?y=1", b"who broke", b"master",
         b"it works here", b"42", b"ok", b"thanks", b"lunch", b"rebasing", b"(sigh)", b"[afk]", b"\t", b"\xff\xfe")


def _chat(seed: int, n: int, *, final_newline: bool = True, extra: bytes = b"") -> bytes:
    """IRC-style lines: a regular header (time, nick), then free text."""
    rng = random.Random(seed)
    nicks = [b"alice", b"bob", b"carol", b"dave", b"eve"]
    lines = []
    for i in range(n):
        words = b" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 9)))
        lines.append(b"[%02d:%02d] <%s> %s" % (10 + i // 60, i % 60, rng.choice(nicks), words + extra))
    return b"\n".join(lines) + (b"\n" if final_newline else b"")


@pytest.fixture(autouse=True)
def _version5_only(monkeypatch):
    """These tests are version 5's: the word coding of the messages
    (version 6, tests/test_log_words.py) is not tried."""
    monkeypatch.setattr(l2_log, "MESSAGE_WORDS_MIN_LEVEL", 99)


def _encode(data: bytes):
    enc = LogTransform().encode(data, EncodeContext(fmt="log", level=l2_log.MESSAGES_MIN_LEVEL))
    if enc is None:  # (every line raw)
        return None, None
    return [bytes(s) for s in enc.streams], enc.params


def test_chat_lines_are_cut_into_headers_and_messages():
    data = _chat(1, 400)
    streams, params = _encode(data)
    p = log_format.parse_params(params, len(data))
    assert params[0] == log_format.VERSION_MESSAGES and p["messages"]
    assert len(streams) == len(log_format.STREAM_NAMES_MESSAGES)
    assert p["n_messages"] == streams[log_format.MESSAGES].count(b"\n") > 300
    # every template of a cut line ends in TAIL, and only there
    templates = streams[log_format.TEMPLATES].split(b"\n")[:-1]
    assert any(t.endswith(bytes([log_format.TAIL])) for t in templates)
    assert all(bytes([log_format.TAIL]) not in t[:-1] for t in templates)
    assert decode_block(streams, params, len(data)) == data
    assert cobol.decompress(cobol.compress(data, plan="log", level=l2_log.MESSAGES_MIN_LEVEL)) == data


def test_levels_under_messages_min_level_do_not_cut():
    data = _chat(1, 400)
    assert l2_log.MESSAGES_MIN_LEVEL > 1
    for level in range(1, l2_log.MESSAGES_MIN_LEVEL):
        enc = LogTransform().encode(data, EncodeContext(fmt="log", level=level))
        assert enc.params[0] != log_format.VERSION_MESSAGES
    enc = LogTransform().encode(data, EncodeContext(fmt="log", level=l2_log.MESSAGES_MIN_LEVEL))
    assert enc.params[0] == log_format.VERSION_MESSAGES


def test_the_default_level_cuts_chat_lines():
    data = _chat(1, 400)
    blob = cobol.compress(data, plan="log")  # the default level (3)
    assert "messages cut off their lines" in cobol.frame_info(blob).block_list[0].detail
    assert cobol.decompress(blob) == data


def test_blocks_that_hold_tail_or_few_rare_lines_are_not_cut():
    data = _chat(2, 400, extra=b" \x13")
    streams, params = _encode(data)
    assert params[0] != log_format.VERSION_MESSAGES
    assert decode_block(streams, params, len(data)) == data
    regular = b"".join(b"2026-12-06 10:00:%02d job %d done\n" % (i % 60, i) for i in range(400))
    streams, params = _encode(regular)
    assert params[0] != log_format.VERSION_MESSAGES


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10 ** 6), st.integers(33, 300), st.booleans(),
       st.sampled_from([b"", b"\r", b" ", b"  x", b"\x00", b"\x11", b"\x12", b"\xff"]))
def test_round_trip_of_generated_chat_logs(seed, n, final_newline, extra):
    data = _chat(seed, n, final_newline=final_newline, extra=extra)
    streams, params = _encode(data)
    if streams is not None:
        assert decode_block(streams, params, len(data)) == data
    assert cobol.decompress(cobol.compress(data, level=3)) == data


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=40), min_size=40, max_size=120), st.integers(1, 6))
def test_round_trip_of_hostile_messages(messages, k):
    """Headers of k fields, then any bytes but newlines (TAIL, 0x11 and 0x12 included)."""
    head = b" ".join(b"f%d" % i for i in range(k))
    data = b"\n".join(b"%s %d %s" % (head, i, m.replace(b"\n", b"")) for i, m in enumerate(messages))
    streams, params = _encode(data)
    if streams is not None:
        assert decode_block(streams, params, len(data)) == data
    assert cobol.decompress(cobol.compress(data, plan="log", level=l2_log.MESSAGES_MIN_LEVEL)) == data


def test_hostile_version_5_streams_raise_cobol_errors():
    data = _chat(3, 300)
    streams, params = _encode(data)
    assert params[0] == log_format.VERSION_MESSAGES
    for case, ss, pp, n in mutated_log_blocks(streams, params, len(data), random.Random(5), 600,
                                               drop_streams=True, flip_share=0.5):
        out = decoded_or_none(decode_block, ss, pp, n)  # decodes to n bytes or raises CobolError
        assert out is None or len(out) == n, case


def test_hostile_version_5_params_raise():
    data = _chat(4, 300)
    streams, params = _encode(data)
    p = log_format.parse_params(params, len(data))
    count = p["n_messages"]

    def varint(v):
        out = bytearray()
        put_varint(out, v)
        return bytes(out)
    assert params.endswith(varint(count))
    head = params[:-len(varint(count))]
    for bad in (head + varint(count + 1), head + varint(count - 1), head, params + b"\x00",
                bytes([5, 4]) + params[2:], bytes([5, 3]) + params[2:]):
        with pytest.raises(CobolError):  # (FormatError, LimitError for a count above the lines)
            decode_block(streams, bad, len(data))
    with pytest.raises(FormatError):  # a refs stream without flag bit 1
        decode_block(streams[:6] + [b"\x00"] + streams[7:], params, len(data))
    with pytest.raises(FormatError):  # the messages stream dropped
        decode_block(streams[:7], params, len(data))
    with pytest.raises(FormatError):  # a message left over
        decode_block(streams[:7] + [streams[7] + b"extra\n"], params, len(data))
    with pytest.raises(FormatError):  # the line readers of versions 1-4 do not read version 5
        log_format.canonical_streams(streams, params, len(data))
    with pytest.raises(FormatError):
        l2_log.LogBlock(streams, params, len(data))


PATTERNS = [(b"the build", {"fixed": True}), (b"alice", {"fixed": True}), (b"ALICE", {"fixed": True, "ignore_case": True}),
            (b"[10:0", {"fixed": True}), (b"absent string", {"fixed": True}), (b"green", {"fixed": True, "invert": True}),
            (rb"^\[11:.*bob> .*again", {}), (rb"(sigh)|lunch$", {"extended": True}),
            # across a header's static text and its message; absent (ruled out from the streams)
            (b"alice> the build", {"fixed": True}), (b"] <bob> see", {"fixed": True}), (b"> ", {"fixed": True}),
            (b"zz_absent", {"fixed": True}), (b"GREEN AGAIN", {"fixed": True, "ignore_case": True})]


def _expected(data: bytes, pattern: bytes, opts: dict) -> list:
    import re
    lines = data.split(b"\n")
    if data.endswith(b"\n"):
        lines = lines[:-1]
    if opts.get("fixed"):
        rx = re.compile(re.escape(pattern), re.I if opts.get("ignore_case") else 0)
    elif opts.get("extended"):
        rx = re.compile(pattern)
    else:
        rx = re.compile(pattern.replace(b"(", rb"\(").replace(b")", rb"\)"))
    return [ln for ln in lines if bool(rx.search(ln)) != bool(opts.get("invert"))]


@pytest.mark.parametrize("final_newline", [True, False])
def test_grep_on_version_5_frames_matches_the_decompressed_lines(final_newline):
    data = _chat(6, 500, final_newline=final_newline)
    blob = cobol.compress(data, plan="log", level=l2_log.MESSAGES_MIN_LEVEL)
    assert "messages cut off their lines" in cobol.frame_info(blob).block_list[0].detail
    for pattern, opts in PATTERNS:
        r = grep(pattern, blob, **opts)
        want = _expected(data, pattern, opts)
        assert r.lines == want, (pattern, opts)
        assert r.count == len(want)


def test_grep_on_multi_block_version_5_frames():
    data = _chat(7, 3000)
    blob = cobol.compress(data, plan="log", level=l2_log.MESSAGES_MIN_LEVEL, block_size=32 << 10)
    info = cobol.frame_info(blob)
    assert len(info.block_list) > 2 and all("messages cut off" in b.detail for b in info.block_list)
    for pattern, opts in PATTERNS:
        r = grep(pattern, blob, **opts)
        assert r.lines == _expected(data, pattern, opts), (pattern, opts)
    lines = data.split(b"\n")[:-1]
    r = grep(b"bob> rebasing", blob, fixed=True)
    assert r.numbers == [i + 1 for i, ln in enumerate(lines) if b"bob> rebasing" in ln] and r.numbers


#: level 1, plan "log", by branch log-ratio8: params version 5 (messages), _chat(8, 100)
LOG_V5_FRAME = bytes.fromhex(
    "434f424c01229b273c0d0501022e2f64050064c801006408013741003030040d90030023230112c80100000000000004"
    "fb05ba1b39b79412f5784eea28b52ffd000075010034025b115d203c646176653e20130a5b115d203c65616c69636361"
    "726f6c626f623e20130a0300a0e8989bbc51c2016402016480040200030a2692410601198308101821120009d2188644"
    "982543940d5b048919b62c58a67100042e1304e2310080a484824e901680910504c8010175010e020700000100010000"
    "3a00273a000207000001770181323d3b3d007828b52ffd00004d00001002020100430a600122b7018098319dfe37ea25"
    "c80ecba1c4d89de19a3296f0263169d984f6bb9984d6eee80a2c8a77b44936476faa1a813068745ab0183ffa32d9ed36"
    "565a80f930eeb9bda74baf47f3e7079b53a7e20ca92bc523bff57f5568c7e5b8e69fe1a5af3feca9be7934b4b9f5ea1b"
    "b9fa8736a7d67602618eceadf0ef11ccd0eedfb8780e5dbf1476ed7a368dea722806ecad3e4c31a046086570ddfaf014"
    "611b02f1c8a8773b24e7dff6b777fd5b887aaa589f1479d3f4e7916e1684e5858c855d06e88d0cbecb385ea0ddaa4bdc"
    "80d9d72560c2e599b157a7b8a873c3aea4d26b180c80e4bcc147e50ec4ca08a7186279b3f96c1a4773567f9821ac1053"
    "a099e849ed99208ece8d7427151be841a44c05d68b8f6778f4a309901671124e39701ae5269720939d8100c6235c37c4"
    "c541e092f0d360d2d5f7670454f5ec56c6d93b1974db8d25f61518a0d4f0944a28cb34940730b3d5b97d96a74672ca7e"
    "d8c7e292a9051fa9a2acf575a9cc82dbc442c6e8e1bacca060e6dd0c7eeb99426271c0a06936a804393d6fd56588fb74"
    "1852041cf157e07a0b53653e96c7f42f403cab540406d6756ca38cb58c0ed383502533e8a31b519673271f431b51cb50"
    "0d8190db8f745280f0ce47f114c608a6d28c6ae051cc0e65ad5404541aca9d981ecb92562bcc99a765c221712c81067f"
    "4c7454025055140c383c83a5011bc302dd94f78d7d1664fafe92cb16c1ae9dd6f35614902514c43267cba8b2d189e95e"
    "1234206dcec3ca778907848069085e6da8e2d8cf145da2b960978888b02dea58a96321f1f8a48c1e98e3d8bcb642d9e8"
    "979d1b274464a6e7b81abe5097a58e2c85c204c3e2d195d0007d107619a131e48a40c025f58614f960061a4097dc395a"
    "d38fe37adbcceba89bd6b8760d06150aa0ee0795a2a77b322e2fe7e1662789427ba2f0d5e4c587cbd6da4ff91e6c8f52"
    "09cd81f370e5f54968e5dedf3c83fb264d881b76076e845b5f97b5802b7174b90c2ba23b3c22a8dd314178f3bed59273"
    "33838ed7eba995050e599338ccec509f0101ae88ef645406aa9257d16f261304")


def test_pinned_version_5_frame_decodes_and_greps():
    data = _chat(8, 100)
    info = cobol.frame_info(LOG_V5_FRAME)
    assert info.plans == {"log": 1} and "100 messages cut off their lines" in info.block_list[0].detail
    assert cobol.decompress(LOG_V5_FRAME) == data
    for pattern, opts in PATTERNS:
        assert grep(pattern, LOG_V5_FRAME, **opts).lines == _expected(data, pattern, opts), (pattern, opts)


def _forced(data: bytes, refs: bool):
    """(streams, params) of ``data`` cut into headers and messages, the skeletons move-to-front coded or not."""
    scan = l2_log.LogScan(data)
    headers, messages, n_messages = l2_log._cut_messages(data, scan)
    m = l2_log.LogModel(headers, scan=l2_log.LogScan(headers, extra=scan.extra, tail=True))
    if refs:
        m.with_refs()
    m.messages, m.n_messages = messages, n_messages
    return [bytes(s) for s in m.streams()], m.params()


@pytest.mark.parametrize("refs", [False, True])
def test_numpy_render_of_version_5_matches_the_kernel(refs):
    """cobol grep's NumPy render (log_numpy.render_messages_block) and the
    decoder's kernel: the same bytes, and on mutated blocks both refuse or
    both give the same bytes."""
    from cobol.layers.log_numpy import render_messages_block
    data = _chat(9, 400, final_newline=False)
    streams, params = _forced(data, refs)
    assert bool(params[1] & 2) == refs
    assert render_messages_block(streams, params, len(data)) == decode_block(streams, params, len(data)) == data
    for case, ss, pp, n in mutated_log_blocks(streams, params, len(data), random.Random(13), 400,
                                               drop_streams=False, flip_share=0.6):
        assert decoded_or_none(render_messages_block, ss, pp, n) == decoded_or_none(decode_block, ss, pp, n), case


def test_grep_of_version_5_renders_only_candidate_lines_and_matches_grep(monkeypatch):
    """Fixed strings drawn from the lines (across a header and its message
    too, with and without -i) on a multi-block version-5 frame: the lines and
    numbers grep gives on the decompressed text, and the candidate-line
    search (blocksearch.search_message_block) answers most blocks."""
    used = count_candidate_line_searches(monkeypatch)
    for final_newline in (True, False):
        data = _chat(6, 1500, final_newline=final_newline)
        blob = cobol.compress(data, plan="log", level=l2_log.MESSAGES_MIN_LEVEL, block_size=32 << 10)
        lines = data.split(b"\n")
        if final_newline:
            lines.pop()
        rng = random.Random(3)
        patterns = [b" <eve> (", b"] <dave> [", b"> \t", b"<bob> 42 42", b"\xff\xfe is", b"y=1 ", b"AGAIN"]
        for _ in range(60):
            ln = rng.choice(lines)
            a = rng.randrange(len(ln) - 1)
            patterns.append(ln[a:rng.randrange(a + 1, min(len(ln), a + 20) + 1)])
        for pattern in patterns:
            for opts in ({"fixed": True}, {"fixed": True, "ignore_case": True}):
                want = _expected(data, pattern, opts)
                r = grep(pattern, blob, **opts)
                assert r.lines == want, (pattern, opts)
                fold = (lambda x: x.lower()) if opts.get("ignore_case") else (lambda x: x)
                assert r.numbers == [i + 1 for i, ln in enumerate(lines) if fold(pattern) in fold(ln)], (pattern, opts)
    assert used["lines"] > used["whole"], used  # (short strings drawn from the lines select most of a block)


def test_grep_of_version_5_finds_a_string_whose_message_part_is_delimiters():
    """An occurrence whose part in the message holds no piece between
    delimiters (``<eve> (`` before ``(sigh)``): the rule-out from the streams
    looks for the string's part after a space at a message's start."""
    data = _chat(6, 3000)
    blob = cobol.compress(data, plan="log", level=l2_log.MESSAGES_MIN_LEVEL, block_size=32 << 10)
    for pattern in (b" <eve> (", b"] <dave> [", b"] <dave> \t", b"> (sigh"):
        assert grep(pattern, blob, fixed=True).lines == _expected(data, pattern, {"fixed": True}), pattern
