"""Search index records (cobol.searchindex): the gram bitmap, its record, and
cobol grep ruling blocks out with it, exactly as grep on the decompressed text."""

from __future__ import annotations

import random
import shutil
import subprocess
import zlib
from pathlib import Path

import pytest

import cobol
from cobol import logsearch, searchindex
from cobol.errors import CobolError, FormatError
from cobol.format.frame import DataBlock, MetadataBlock, encode_metadata_block, iter_frame_records
from cobol.logsearch import grep

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "log"
GREP = shutil.which("grep")


@pytest.fixture
def small_blocks_indexed(monkeypatch):
    """Index every log/text block, however small (the tests' blocks are a few KiB)."""
    monkeypatch.setattr(searchindex, "MIN_RAW", 1)
    monkeypatch.setattr(searchindex, "MAX_SHARE", 0.2)


def _ruled_out_counter(monkeypatch) -> list:
    seen = []
    real = logsearch._indexed_block

    def counting(rec, header, source, index):
        seen.append(rec.seq)
        return real(rec, header, source, index)
    monkeypatch.setattr(logsearch, "_indexed_block", counting)
    return seen


def _records(blob):
    return [rec for _, rec in iter_frame_records(blob)]


def test_kernel_matches_the_numpy_reference():
    rng = random.Random(1)
    for n in [0, 1, 2, 3, 4, 5, 17, 1000]:
        for _ in range(30):
            data = bytes(rng.choice(b"aAzZ\n\n;0 \xff@[`{") for _ in range(n))
            for n_bytes in (8, 24, 512):
                assert searchindex.build_bitmap(data, n_bytes) == searchindex.build_bitmap_numpy(data, n_bytes), data
    data = (SAMPLES / "local-dpkg.log").read_bytes()
    assert searchindex.build_bitmap(data, 4096) == searchindex.build_bitmap_numpy(data, 4096)


def test_bitmap_never_rules_out_a_present_string():
    rng = random.Random(2)
    data = (SAMPLES / "irclog2html-dircproxy-example.log").read_bytes()
    bitmap = searchindex.sized_bitmap(data, len(data))
    assert bitmap is not None and len(bitmap) < len(data) // 20
    ix = searchindex.parse(searchindex.encode(data, 0, b"\0" * 8, bitmap))
    for _ in range(3000):
        i = rng.randrange(len(data) - 40)
        piece = data[i:i + rng.randrange(1, 40)].split(b"\n")[0]
        assert ix.may_contain(piece) and ix.may_contain(piece.upper()) and ix.may_contain(piece.swapcase())
    assert not ix.may_contain(b"qzxjv_not_here")


def test_index_records_sit_before_big_log_blocks_and_decoders_skip_them(small_blocks_indexed):
    data = (SAMPLES / "local-dpkg.log").read_bytes()
    blob = cobol.compress(data, block_size=1 << 14)
    recs = _records(blob)
    kinds = [type(r).__name__ for r in recs]
    assert kinds.count("MetadataBlock") == kinds.count("DataBlock") > 3
    for a, b in zip(recs, recs[1:]):
        if isinstance(a, MetadataBlock):
            assert a.tag == searchindex.SEARCH_INDEX_TAG and isinstance(b, DataBlock)
            searchindex.parse(a.payload).check_block(b)
    assert cobol.decompress(blob) == data
    plain = cobol.compress(data, block_size=1 << 14, search_index=False)
    assert not any(isinstance(r, MetadataBlock) for r in _records(plain)) and cobol.decompress(plain) == data
    # one block (a compact frame), binary data, small blocks at the real threshold: no index
    assert not any(isinstance(r, MetadataBlock) for r in _records(cobol.compress(data)))
    assert not any(isinstance(r, MetadataBlock) for r in _records(cobol.compress(bytes(range(256)) * 400,
                                                                                     block_size=1 << 14)))


def _patterns(data: bytes, rng: random.Random) -> list:
    lines = [ln for ln in data.split(b"\n") if len(ln) > 12]
    out = [b"qzxjv_not_here", b"ab", b"e", b"", b"QZXJV", b"0", b"2025-06", b":3", b"] ", b"\xff\xfe"]
    for _ in range(60):
        ln = rng.choice(lines)
        i = rng.randrange(len(ln) - 3)
        piece = ln[i:i + rng.randrange(3, 30)]
        out.append(piece)
        out.append(piece + b"q")  # most likely absent: ruled out or searched, never wrong
    return out


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*")), ids=lambda p: p.name)
def test_grep_with_index_equals_grep_without_and_python(path, small_blocks_indexed, monkeypatch):
    data = path.read_bytes()
    rng = random.Random(path.name)
    indexed = cobol.compress(data, block_size=1 << 14)
    plain = cobol.compress(data, block_size=1 << 14, search_index=False)
    seen = _ruled_out_counter(monkeypatch)
    text_lines = data.split(b"\n")
    if data.endswith(b"\n"):
        text_lines.pop()
    for p in _patterns(data, rng):
        for ic in (False, True):
            r = grep(p, indexed, fixed=True, ignore_case=ic)
            q = grep(p, plain, fixed=True, ignore_case=ic)
            want = [(i + 1, ln) for i, ln in enumerate(text_lines) if (p.lower() in ln.lower() if ic else p in ln)]
            assert list(zip(r.numbers, r.lines)) == want == list(zip(q.numbers, q.lines)), (p, ic)
    assert len(seen) > 20  # blocks were ruled out by their index


def _check_against_grep(data: bytes, blob: bytes, kind: str, pattern: bytes, opts: list) -> None:
    args = [GREP, "-a", "-" + kind] + opts + ["-e", pattern.decode("latin-1")]
    want = subprocess.run(args, input=data, capture_output=True, env={"LC_ALL": "C"}).stdout
    r = grep(pattern, blob, fixed=kind == "F", extended=kind == "E", ignore_case="-i" in opts, invert="-v" in opts)
    if "-c" in opts:
        got = b"%d\n" % r.count
    elif "-n" in opts:
        got = b"".join(b"%d:%s\n" % (n, ln) for n, ln in zip(r.numbers, r.lines))
    else:
        got = b"".join(ln + b"\n" for ln in r.lines)
    assert got == want, (kind, pattern, opts)


@pytest.mark.skipif(GREP is None, reason="no grep on this machine")
def test_grep_options_and_lines_cut_between_indexed_blocks(small_blocks_indexed, monkeypatch):
    rng = random.Random(3)
    lines = []
    for i in range(600):
        if i % 70 == 9:  # longer than a block: blocks end inside it, and the next ones start inside it
            lines.append(b"LONG %d " % i + b"word%d, " % rng.randrange(99) * 700 + b"TAIL%d" % i)
        else:
            lines.append(b"2026-12-05 10:%02d:%02d host%d job %d state=%s" % (
                i // 60, i % 60, i % 7, i, rng.choice([b"ok", b"FAIL", b"Retry"])))
    data = b"\n".join(lines)  # no final newline
    seen = _ruled_out_counter(monkeypatch)
    for plan in ("auto", "log", "l1", "zstd"):
        blob = cobol.compress(data, block_size=4096, plan=plan, fmt="log")
        assert any(isinstance(r, MetadataBlock) for r in _records(blob))
        for kind, pattern in [("F", b"FAIL"), ("F", b"word42, word"), ("F", b"LONG 79"), ("F", b"TAIL499"),
                              ("F", b", TAIL149"), ("F", b"qzxjv"), ("F", b"retry"), ("F", b"host3 job 3"),
                              ("F", b"10:04:1"), ("F", b"d4, word"), ("F", b"FAIL\nTAIL429"),
                              ("E", b"job 3[0-9]+ "), ("G", b"^LONG.*word1, TAIL"), ("F", b""),
                              ("G", b"host3 job 3"), ("E", b"TAIL499"), ("G", b"qzxjv"), ("G", b"{2}+?|"),
                              ("E", b"job 3\nqzxjv"), ("G", b"job 3.*FAIL"), ("E", b"host[0-9] job 4[0-9]"),
                              ("G", b"wor\\{0\\}d42"), ("E", b"TAIL4{2}9"), ("G", b"TA*IL499"), ("E", b"q?zxjv"),
                              ("G", b"hostX\\?3 job"), ("G", b"LONG 7.*TAIL79$"), ("E", b"(qzx|TAIL4)99")]:
            for opts in ([], ["-n"], ["-c"], ["-v", "-n"], ["-i"], ["-i", "-n"], ["-i", "-c"]):
                _check_against_grep(data, blob, kind, pattern, opts)
    assert seen


def test_regex_without_special_bytes_is_searched_as_a_fixed_string():
    assert logsearch.Matcher.compile(b"abc def{1}+?|()").fixed == [b"abc def{1}+?|()"]
    assert logsearch.Matcher.compile(b"abc\nx y", extended=True, ignore_case=True).fixed == [b"abc", b"x y"]
    for pattern, extended in ((b"a.c", False), (b"a*", False), (b"^a", False), (b"a$", False), (b"[a]", False),
                              (b"a\\+", False), (b"a+", True), (b"a|b", True), (b"(a)", True), (b"a{2}", True),
                              (b"a?", True)):
        assert logsearch.Matcher.compile(pattern, extended=extended).fixed is None, pattern


def _regex_from(piece: bytes, rng: random.Random, extended: bool) -> bytes:
    out = bytearray()
    for c in piece:
        r = rng.random()
        special = b".[]*^$+?(){}|\\" if extended else b".[]*^$\\"
        ch = b"\\" + bytes([c]) if c in special else bytes([c])
        if r < 0.08:
            out += b"."
        elif r < 0.14:
            out += ch + b"*"
        elif r < 0.18:
            out += b"[" + bytes([c]) + b"x]"
        elif r < 0.22:
            out += ch + (b"{1,2}" if extended else b"\\{1,2\\}")
        elif r < 0.25:
            out += ch + (b"?" if extended else b"\\?")
        else:
            out += ch
    return bytes(out)


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*")), ids=lambda p: p.name)
def test_regex_with_index_equals_regex_without(path, small_blocks_indexed, monkeypatch):
    data = path.read_bytes()
    rng = random.Random(path.name + "re")
    indexed = cobol.compress(data, block_size=1 << 14)
    plain = cobol.compress(data, block_size=1 << 14, search_index=False)
    seen = _ruled_out_counter(monkeypatch)
    for p in _patterns(data, rng)[:70]:
        for extended in (False, True):
            rx = _regex_from(p, rng, extended)
            ic = rng.random() < 0.3
            r = grep(rx, indexed, extended=extended, ignore_case=ic)
            q = grep(rx, plain, extended=extended, ignore_case=ic)
            assert list(zip(r.numbers, r.lines)) == list(zip(q.numbers, q.lines)), (rx, extended, ic)
    assert seen


def _indexed_frame(small) -> bytes:
    data = (SAMPLES / "local-dpkg.log").read_bytes()
    return cobol.compress(data, block_size=1 << 14), data


def test_hostile_index_bytes_raise_or_are_ignored(small_blocks_indexed):
    blob, data = _indexed_frame(True)
    recs = list(iter_frame_records(blob))
    meta = [r for _, r in recs if isinstance(r, MetadataBlock)]
    first = meta[1]
    start = first.offset
    end = blob.index(encode_metadata_block(first.tag, first.payload), start) + len(
        encode_metadata_block(first.tag, first.payload))
    rng = random.Random(4)

    def with_payload(payload: bytes) -> bytes:
        return blob[:start] + encode_metadata_block(searchindex.SEARCH_INDEX_TAG, payload) + blob[end:]

    bad = [first.payload[:k] for k in range(0, len(first.payload), 7)]
    for _ in range(200):
        b = bytearray(first.payload)
        b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
        bad.append(bytes(b))
    for payload in bad:
        frame = with_payload(payload)
        assert cobol.decompress(frame) == data  # decoders skip metadata
        if payload[:1] != bytes([searchindex.VERSION]):
            continue  # a later version: not used, the block is searched
        with pytest.raises(FormatError):
            grep(b"qzxjv", frame, fixed=True)
    # a later version is ignored: the block is searched, the output stays right
    later = with_payload(bytes([2]) + first.payload[1:])
    assert grep(b"status installed", later, fixed=True).lines == grep(b"status installed", blob, fixed=True).lines
    # an index that describes another block, or is not followed by a block
    other = encode_metadata_block(searchindex.SEARCH_INDEX_TAG, meta[2].payload)
    for frame in (blob[:start] + other + blob[end:], blob[:start] + other + blob[start:]):
        with pytest.raises(FormatError):
            grep(b"qzxjv", frame, fixed=True)
    with pytest.raises(CobolError):
        searchindex.parse(b"")


def test_check_block_binds_the_index_to_its_block_checksum():
    data = b"alpha beta\ngamma\n"
    payload = searchindex.encode(data, 5, b"12345678", searchindex.build_bitmap(data, 8))
    ix = searchindex.parse(payload)
    assert (ix.seq, ix.raw_len, ix.n_lines, ix.ends_nl) == (5, len(data), 2, True)

    class Block:
        seq, raw_len, checksum = 5, len(data), b"12345678"
    ix.check_block(Block)
    Block.checksum = b"12345679"
    with pytest.raises(FormatError):
        ix.check_block(Block)
    assert zlib.crc32(b"12345678", zlib.crc32(ix.signed)) == ix.crc


def _fixture_data() -> bytes:
    data = (SAMPLES / "local-dpkg.log").read_bytes()[:1500]
    return data[:data.rfind(b"\n") + 1]


#: _fixture_data() at level 1, block size 512, plan log, crc32, a search index (version 1) before
#: every block (MIN_RAW 1, MAX_SHARE 0.2): written by branch log-grep7
INDEXED_FRAME = bytes.fromhex(
    "434f424c01038004b684f4290230cd82c9ba040100f003070120c618ddb6c81a29435a720c693e1e260fa8340b168742"
    "7258d64cd087d35038b0341598af01a20100f003000001048f01f00313b6098a77a18e2be23d00801878cd2774be0cb3"
    "efd2b7dc093df903bef27d5996b5169506ded616f4a219152804b5cd45c4cd45eab58bc24bb97215b871d0aed8508cc7"
    "9ef29d209ef0ed24b6647dfc4e8215eb54abf256956a6b83c3c3081bb8fedbaed6e6d345912ca47f7bbf0787cc0f3f21"
    "a0476f783ded01a74ccd4a0ec403bfddd3efeeda69a7d3e1582ba583f9cfe96f1bb8030230cd82c9ba040101cd030701"
    "20c618ceb6c80b2843d8738c693e1c3e0b80340a1287c072b8c74dd287d31878f05b24fc6901a10101cd03000001048e"
    "01cd034e2314b9ebcefff1823900801c9df3173a90af5c9077dd70663bd729ff6e9bec2ec8a380025d770329a028e200"
    "739b4210745ca54ddcbee1a63ca9705419902669979485998627b8d2419b23de1d19b18e0eeb5443ffb422555beb0c28"
    "ab980e54fe6d574b8512f23f252b25a11e5e7c00f7dced5ac46928085de87aa921ef481e16ebaa2e96a3c6fd154f5782"
    "eec2b6fb64111790030220cd82c9ba040102d50307011068fb3a965c6a672748518bcdbbbc4dce17cf38d2018d0102d5"
    "03000001047bd503d7a40eb61db6c3d9823a00801cddf4840ee4d7aec8f7bab0a70740a9d45ad2d6566289b616c61e00"
    "9fe0e0262b86ac9731896252ae845b2235081d958dd2c0f3562f3e2055892d6f8a77d7c23ad5d8769f88d5d65a0dd248"
    "aa2c117fdbd542a2c8708ebb95831c92c479feb5803eef174fc0e03518b8548f48476b6140fe6db35f6a070003920b55"
    "50a7f7")


def test_pinned_indexed_frame_decodes_and_greps(monkeypatch):
    data = _fixture_data()
    assert cobol.decompress(INDEXED_FRAME) == data
    assert sum(isinstance(r, MetadataBlock) for r in _records(INDEXED_FRAME)) == 3
    seen = _ruled_out_counter(monkeypatch)
    lines = data.split(b"\n")[:-1]
    for needle in (b"status installed", b"qzxjv", b"2025-06-24 14:3", b"LIBC", b"trigproc"):
        r = grep(needle, INDEXED_FRAME, fixed=True, ignore_case=True)
        want = [(i + 1, ln) for i, ln in enumerate(lines) if needle.lower() in ln.lower()]
        assert list(zip(r.numbers, r.lines)) == want, needle
    assert seen
