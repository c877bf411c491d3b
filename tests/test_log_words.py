"""Log params version 6: version 5's messages stream stored as the L1 word
transform's streams (``messages_dict``, ``messages_words``): chosen per block
where it codes smaller, round trips, the decoder's checks on hostile streams
and params, ``cobol grep`` (the candidate messages decoded with NumPy, then searched as
version 5's) and a pinned version-6 frame."""

import random

import pytest

import cobol
from cobol.errors import CobolError, FormatError
from cobol.layers import l2_log, log_format
from cobol.layers.l2_log import LogTransform, decode_block
from cobol.logsearch import grep
from cobol.registry import EncodeContext
from support import count_candidate_line_searches, decoded_or_none, mutated_log_blocks
from test_log_messages import PATTERNS, _chat, _expected

LEVEL = max(l2_log.MESSAGES_MIN_LEVEL, l2_log.MESSAGE_WORDS_MIN_LEVEL)


def _encode(data: bytes, level: int = LEVEL):
    enc = LogTransform().encode(data, EncodeContext(fmt="log", level=level))
    return [bytes(s) for s in enc.streams], enc.params


def _version5(data: bytes):
    """(streams, params) of ``data`` as version 5 writes them (no word coding)."""
    scan = l2_log.LogScan(data)
    headers, messages, n_messages = l2_log._cut_messages(data, scan)
    m = l2_log._better_layout(headers, l2_log.LogScan(headers, extra=scan.extra, tail=True))
    m.messages, m.n_messages = messages, n_messages
    return [bytes(s) for s in m.streams()], m.params()


def test_chat_messages_are_word_coded():
    data = _chat(1, 400)
    streams, params = _encode(data)
    p = log_format.parse_params(params, len(data))
    assert params[0] == log_format.VERSION_WORDS and p["messages"] and p["words"]
    assert len(streams) == len(log_format.STREAM_NAMES_WORDS) == 9
    assert decode_block(streams, params, len(data)) == data
    # the word streams are the l1 transform's of version 5's messages stream
    v5_streams, v5_params = _version5(data)
    assert v5_params[0] == log_format.VERSION_MESSAGES
    assert p["message_bytes"] == len(v5_streams[log_format.MESSAGES])
    back, back_params = log_format.as_version5(streams, params, len(data), l2_log.decode_message_words)
    assert back == v5_streams and back_params == v5_params
    blob = cobol.compress(data, plan="log", level=LEVEL)
    assert "word coded" in cobol.frame_info(blob).block_list[0].detail
    assert cobol.decompress(blob) == data


def test_messages_without_words_stay_version_5():
    """Messages of punctuation only: no dictionary word, nothing to gain."""
    rng = random.Random(2)
    marks = [b"+", b"-", b"*", b"!!", b"?", b"#", b"%%", b"~", b"^^", b"@", b"&", b"$$"]
    data = b"".join(b"[%02d:%02d] <n%d> %s\n" % (i // 60, i % 60, rng.randrange(5),
                                                 b" ".join(rng.choice(marks) for _ in range(rng.randint(2, 9))))
                    for i in range(600))
    streams, params = _encode(data)
    assert params[0] == log_format.VERSION_MESSAGES, params[0]
    assert decode_block(streams, params, len(data)) == data


def test_levels_under_message_words_min_level_stay_version_5(monkeypatch):
    monkeypatch.setattr(l2_log, "MESSAGE_WORDS_MIN_LEVEL", LEVEL + 1)
    streams, params = _encode(_chat(1, 400))
    assert params[0] == log_format.VERSION_MESSAGES


def test_hostile_version_6_streams_raise_cobol_errors():
    data = _chat(3, 300)
    streams, params = _encode(data)
    assert params[0] == log_format.VERSION_WORDS
    for case, ss, pp, n in mutated_log_blocks(streams, params, len(data), random.Random(5), 600,
                                               drop_streams=True, flip_share=0.5):
        out = decoded_or_none(decode_block, ss, pp, n)  # decodes to n bytes or raises CobolError
        assert out is None or len(out) == n, case


def test_hostile_version_6_params_raise():
    from cobol.format.wire import put_varint
    data = _chat(4, 300)
    streams, params = _encode(data)
    p = log_format.parse_params(params, len(data))

    def varint(v):
        out = bytearray()
        put_varint(out, v)
        return bytes(out)
    size = p["message_bytes"]
    assert params.endswith(varint(size))
    head = params[:-len(varint(size))]
    for bad in (head + varint(size + 1), head + varint(size - 1), head, params + b"\x00",
                bytes([6, 4]) + params[2:], bytes([5]) + params[1:]):
        with pytest.raises(CobolError):
            decode_block(streams, bad, len(data))
    with pytest.raises(FormatError):  # a word stream dropped
        decode_block(streams[:8], params, len(data))
    with pytest.raises(FormatError):  # words left over
        decode_block(streams[:8] + [streams[8] + b"extra\n"], params, len(data))
    with pytest.raises(FormatError):
        log_format.canonical_streams(streams, params, len(data))
    with pytest.raises(FormatError):
        l2_log.LogBlock(streams, params, len(data))


def test_numpy_word_decode_of_version_6_matches_the_kernel():
    """cobol grep's NumPy L1 decode of the messages and the decoder's kernel
    (as_version5 with each): the same on the block, both refuse or agree on
    mutated ones."""
    from cobol.logsearch import _as_version5
    from cobol.format.frame import DataBlock
    data = _chat(9, 400, final_newline=False)
    streams, params = _encode(data)
    assert params[0] == log_format.VERSION_WORDS

    def numpy_way(ss, pp, n):
        rec = DataBlock(seq=0, raw_len=n, transform=log_format.TRANSFORM_ID, params=pp, streams=[], checksum=b"")
        return _as_version5(rec, ss)[1]

    def kernel_way(ss, pp, n):
        return log_format.as_version5(ss, pp, n, l2_log.decode_message_words)[0]
    assert numpy_way(streams, params, len(data)) == kernel_way(streams, params, len(data))
    for case, ss, pp, n in mutated_log_blocks(streams, params, len(data), random.Random(13), 400,
                                               drop_streams=False, flip_share=0.6):
        if pp[:1] != bytes([log_format.VERSION_WORDS]):
            continue
        assert decoded_or_none(numpy_way, ss, pp, n) == decoded_or_none(kernel_way, ss, pp, n), case


@pytest.mark.parametrize("final_newline", [True, False])
def test_grep_on_version_6_frames_matches_the_decompressed_lines(final_newline):
    data = _chat(6, 500, final_newline=final_newline)
    blob = cobol.compress(data, plan="log", level=LEVEL)
    assert "word coded" in cobol.frame_info(blob).block_list[0].detail
    for pattern, opts in PATTERNS:
        r = grep(pattern, blob, **opts)
        want = _expected(data, pattern, opts)
        assert r.lines == want, (pattern, opts)
        assert r.count == len(want)


def test_grep_of_multi_block_version_6_frames_matches_grep(monkeypatch):
    """Fixed strings drawn from the lines (across a header and its message
    too, -i or not), the PATTERNS, on a multi-block version-6 frame: the lines
    and numbers grep gives on the decompressed text; the candidate-line
    search answers most blocks."""
    used = count_candidate_line_searches(monkeypatch)
    data = _chat(7, 3000)
    blob = cobol.compress(data, plan="log", level=LEVEL, block_size=32 << 10)
    info = cobol.frame_info(blob)
    assert len(info.block_list) > 2 and all("word coded" in b.detail for b in info.block_list)
    lines = data.split(b"\n")[:-1]
    for pattern, opts in PATTERNS:
        assert grep(pattern, blob, **opts).lines == _expected(data, pattern, opts), (pattern, opts)
    rng = random.Random(3)
    patterns = [b" <eve> (", b"] <dave> [", b"> \t", b"\xff\xfe is", b"y=1 ", b"AGAIN", b"bob> rebasing"]
    for _ in range(40):
        ln = rng.choice(lines)
        a = rng.randrange(len(ln) - 1)
        patterns.append(ln[a:rng.randrange(a + 1, min(len(ln), a + 20) + 1)])
    for pattern in patterns:
        for opts in ({"fixed": True}, {"fixed": True, "ignore_case": True}):
            r = grep(pattern, blob, **opts)
            assert r.lines == _expected(data, pattern, opts), (pattern, opts)
            fold = (lambda x: x.lower()) if opts.get("ignore_case") else (lambda x: x)
            assert r.numbers == [i + 1 for i, ln in enumerate(lines) if fold(pattern) in fold(ln)], (pattern, opts)
    assert used["lines"] > used["whole"], used


#: level 3, plan "log", by branch log-ratio10: params version 6 (messages word coded), _chat(8, 100)
LOG_V6_FRAME = bytes.fromhex(
    "434f424c01239b273c0f0601022e2f64050064c8010064ba1b09013441003030040d90030023230111c8010000000000"
    "00016a7704ac04a20ad824d1a928b52ffd00005d0100f05b115d203c646176653e20130a65616c69636361726f6c626f"
    "623e20130a0400a0e8989b5eec826b7e01016402016480040200030a2692410601198308101821120009d21886449825"
    "43940d5b048919b62c58a67100042e1304e23100bfa484824e901600185904c8010175010e0207000001000100003a00"
    "273a000207000001770181323d3b3d007828b52ffd0000450000080201004428270428b52ffd00000d03007247171db0"
    "25e91c86611806e76cc38ddca311d208269b58692d69c330ecc8ad0e03e21ce5de1a11ec62ef44a890d7b94861591d72"
    "6ad19ce744c96e8d5d69c5674e9e8e19bb70b2417509a3b0a41b6bdd486d386cd2492bc5dbfc04e92002800022a400c0"
    "f896faed20ef6b2a9584e87145ac0a86aa5722e9b4c9feacffef6abc6839ce75d10c75d171da8cb5f6b3c1b2c9361bcd"
    "c2b25e16e05a8201a6810cd96e3731d15f62fdf5e9fdfbdfef1eff79fff7fbe37f5f3f264e7eec386fd075d18fff3fa9"
    "a0506a50a1e3bcad0b2fee5f522115da37095554143244eb54f00cce8ddf0889bd694ca98cf44b2d36b730b0fcd8b16f"
    "ad93163410394fc754191363baac0b635e2e1de72d235788ea6f21c2a5f510f05d5d4685a6aec8759dfe038873e57551"
    "41eb18b3d28bfb9788441161d45f7088820a299bd3c371de5acfd621094658da71deaaa9c111558ff3c6a917aee6ec92"
    "504f5705d38bfb974985cc306650a17d3344fb81b62d2e292f9c7943b34d86a8b8a3ad5b34dfb7103420f762549c9ea1"
    "f56ad92e4c98f09f82b21e0c41f898158c53d55148b41c08a950d317e8223171d83a0672c78ea910bb4b03ef8299a71d"
    "69a142e26a42d9595fe4765d31a66c52c7c26054a145e55b5605e332f5a606b8288de93379db649bba2b159422082f55"
    "4d1b33de6aad07b2795b69df12ada3d675ad0beeeb42ad01662b482ab9919d9c8d20df295a8f8c56aecb0363069c5176"
    "0add35ebd2cc94a8b550e8d9dcc9f307baa4421258b8a3b6652bff73fb167f0b5c465521a258e8c3a382f47464954587"
    "3129fa7541482a2a15d249bff7bd82d6cd14e7bd584cbd56c1983e26b3b5aeb46fd8ef7922c2634c15a924604d2a6546"
    "3c308819156addc52944b03a529fe3698c6ad09dc2077101")


def test_pinned_version_6_frame_decodes_and_greps():
    data = _chat(8, 100)
    info = cobol.frame_info(LOG_V6_FRAME)
    assert info.plans == {"log": 1} and "100 messages cut off their lines and word coded" in info.block_list[0].detail
    assert cobol.decompress(LOG_V6_FRAME) == data
    for pattern, opts in PATTERNS:
        assert grep(pattern, LOG_V6_FRAME, **opts).lines == _expected(data, pattern, opts), (pattern, opts)


def test_absent_strings_rule_version_6_blocks_out_without_decoding_the_messages(monkeypatch):
    """A string no line holds: every block ruled out on its streams, the
    messages' word streams searched undecoded (logsearch._as_version5, which
    decodes them, never called); a string only in messages is still found."""
    from cobol import logsearch
    calls = []
    real = logsearch._as_version5

    def spy(*args):
        calls.append(1)
        return real(*args)
    monkeypatch.setattr(logsearch, "_as_version5", spy)
    data = _chat(7, 3000)
    blob = cobol.compress(data, plan="log", level=LEVEL, block_size=32 << 10)
    for pattern in (b"zz_absent", b"bob> zebra", b"the build quux"):
        for opts in ({"fixed": True}, {"fixed": True, "ignore_case": True}):
            assert grep(pattern, blob, **opts).lines == _expected(data, pattern, opts) == [], pattern
    assert not calls
    assert grep(b"it works here", blob, fixed=True).lines == _expected(data, b"it works here", {"fixed": True}) != []
    assert calls


def test_grep_of_a_rare_string_decodes_only_candidate_messages(monkeypatch):
    """A string in a few messages of a version-6 block: cobol grep finds its
    lines with the candidate messages decoded from their words
    (l1_numpy.L1Block.render_lines), not every message (render_all, as
    before), and gives grep's lines; a string across a header and its
    message too."""
    from cobol.layers import l1_numpy
    data = _chat(9, 2000) + b"[50:01] <eve> a zanzibar quokka sighting\n" + _chat(10, 300)
    blob = cobol.compress(data, plan="log", level=LEVEL)
    assert "word coded" in cobol.frame_info(blob).block_list[0].detail
    used = count_candidate_line_searches(monkeypatch)
    whole = []
    real = l1_numpy.L1Block.render_all
    monkeypatch.setattr(l1_numpy.L1Block, "render_all", lambda self: whole.append(1) or real(self))
    for pattern, opts in ((b"zanzibar quokka", {"fixed": True}), (b"<EVE> A ZANZIBAR", {"fixed": True, "ignore_case": True}),
                          (b"quokka sighting", {"fixed": True}), (b"> a zanz", {"fixed": True})):
        r = grep(pattern, blob, **opts)
        assert r.lines == _expected(data, pattern, opts) and len(r.lines) == 1, (pattern, opts)
    assert not whole and used == {"lines": 4, "whole": 0}, (whole, used)
