"""The Numba-free l1 reader behind `cobol grep` (cobol.layers.l1_numpy):
whole-block and line decoding against l1_semantic's kernel (valid and hostile
streams), line cutting, candidate lines as a superset of the matching lines,
and cobol grep on l1 frames against grep on the decompressed text, in a fresh
process that must not import Numba."""

import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import cobol
from cobol.errors import CobolError
from cobol.layers import l1_numpy, l1_semantic, l1_stream
from cobol.layers.l1_numpy import L1Block
from cobol.layers.l1_semantic import WordCoder, WordTransform
from cobol.logsearch import grep
from cobol.registry import EncodeContext
from support import grep_output

GREP = shutil.which("grep")
CORPUS = Path(__file__).resolve().parents[1] / "samples"

VOCAB = [b"the", b"The", b"THE", b"job", b"Job", b"failed", b"FAILED", b"retry", b"disk", b"quota", b"a", b"I",
         b"caf\xc3\xa9", b"na\xefve", b"MiXed", b"x" * 70, b"error", b"Error", b"connection", b"reset"]
SEPS = [b" ", b"  ", b". ", b"! ", b"? ", b", ", b"\n", b"\r\n", b"\t", b"(", b")", b"[", b"/", b"-", b"_", b"=",
        b"\x00", b"\x01", b"\x02", b"\x03", b"\x04", b"\xff", b"\x80", b"42", b"3.14", b":", b"\"", b"'", b"\n\n"]


def _text(rng: random.Random, n: int) -> bytes:
    out = []
    for _ in range(n):
        out.append(rng.choice(VOCAB) if rng.random() < 0.6 else rng.choice(SEPS))
    return b"".join(out)


def _encode(text: bytes):
    enc = WordTransform().encode(text, EncodeContext(fmt="text"))
    assert enc is not None
    return enc.streams


def _lines(text: bytes) -> list:
    """The output lines, each with its newline (the last maybe without)."""
    parts = text.split(b"\n")
    out = [p + b"\n" for p in parts[:-1]]
    if parts[-1]:
        out.append(parts[-1])
    return out


def test_tables_are_l1_semantics():
    assert (l1_numpy.WORD_BYTE == l1_semantic.WORD_BYTE.astype(bool)).all()
    assert (l1_numpy.SPACE_IMPLIED == l1_semantic.SPACE_IMPLIED).all()
    assert (l1_numpy.SENTENCE_END == l1_semantic.SENTENCE_END).all()
    assert l1_numpy.STREAM_BOUND.expansion == WordTransform.expansion
    assert l1_numpy.STREAM_BOUND.max_streams == WordTransform.max_streams


def _check_block(text: bytes, needles=()) -> None:
    streams = _encode(text)
    b = L1Block(streams, len(text))
    assert b.render_all().tobytes() == text
    lines = _lines(text)
    assert b.n_lines == len(lines)
    assert b.final_newline == text.endswith(b"\n")
    assert b.has_newline() == (b"\n" in text)
    rng = np.random.default_rng(len(text))
    for k in (1, 3, len(lines)):
        sel = np.unique(rng.integers(0, len(lines), k))
        assert b.render_lines(sel).tobytes() == b"".join(lines[i] for i in sel)
    for needle in needles:
        for ic in (False, True):
            cand = b.candidate_lines([needle], ic)
            have = [i for i, ln in enumerate(lines) if (needle.lower() in ln.lower() if ic else needle in ln)]
            if cand is None:
                continue
            assert set(have) <= set(cand.tolist()), (needle, ic)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**32), st.integers(60, 600))
def test_decode_lines_and_candidates_on_generated_text(seed, n):
    rng = random.Random(seed)
    text = _text(rng, n)
    if len(text) < 256:
        text = text * (256 // max(len(text), 1) + 1)
    try:
        streams = _encode(text)
    except AssertionError:
        return  # the transform declines (no word worth a dictionary entry)
    del streams
    # needles: pieces of the text (across words, spaces, escapes, case) and absent strings
    needles = [b"qzx", b"the job", b"Failed", b"\xc3\xa9", b"4", b"\x02", b"  ", b"e", b"rror", b"x" * 66]
    for _ in range(8):
        a = rng.randrange(len(text))
        needles.append(text[a:a + rng.randrange(1, 12)].split(b"\n")[0] or b"x")
    _check_block(text, needles)


def test_decode_matches_the_kernel_on_sample_texts():
    for path in sorted(CORPUS.glob("*/*")):
        data = path.read_bytes()[:300_000]
        if len(data) < 256:
            continue
        enc = WordTransform().encode(data, EncodeContext(fmt="text"))
        if enc is None:
            continue
        _check_block(data, [b"the", b"Error", b"0", b"qzx"])


def _mutations(streams, rng):
    d, w = bytearray(streams[0]), bytearray(streams[1])
    for _ in range(40):
        d2, w2 = bytearray(d), bytearray(w)
        kind = rng.randrange(6)
        if kind == 0 and w2:
            w2[rng.randrange(len(w2))] = rng.randrange(256)
        elif kind == 1 and w2:
            w2[rng.randrange(len(w2))] = rng.choice([1, 2, 3, 4, 0x80, 0xE0, 0xFF, 10])
        elif kind == 2:
            w2 = w2[:rng.randrange(len(w2) + 1)]
        elif kind == 3 and len(d2) > 2:
            d2[rng.randrange(2, len(d2))] = rng.choice([10, 65, 0x20, 0x61])
        elif kind == 4:
            d2[1] = rng.choice([0, 1, 127, 128, 255])
        else:
            w2 += bytes([rng.choice([1, 2, 4, 0xF0])])
        yield bytes(d2), bytes(w2)


def test_hostile_streams_decode_as_the_kernel_or_raise_format_errors():
    rng = random.Random(5)
    text = _text(rng, 3000)
    streams = _encode(text)
    for d, w in _mutations(streams, rng):
        for raw_len in (len(text), len(text) + 3):
            try:
                want = WordCoder.from_bytes(d).decode(w, raw_len)
            except CobolError:
                want = None
            try:
                b = L1Block([d, w], raw_len)
                got = b.render_all().tobytes()
            except CobolError:
                got = None
            assert got == want
            try:  # the search side: a CobolError or an answer, nothing else
                b = L1Block([d, w], raw_len)
                ends = b.line_ends()  # the local newline checks agree with the whole-stream cut
                assert b.final_newline == bool(ends.size and ends[-1] == len(w) - 1)
                assert b.has_newline() == bool(ends.size)
                if got is not None:
                    assert b.n_lines == len(_lines(got))
                cand = b.candidate_lines([b"job", b"\xff"], False)
                if cand is not None and cand.size:
                    b.render_lines(cand)
            except CobolError:
                pass


PATTERNS = [("F", b"quota"), ("F", b"QUOTA"), ("F", b"Job failed"), ("F", b"qzxjv"), ("F", b"caf\xc3\xa9"),
            ("F", b"the job"), ("F", b". The"), ("F", b" "), ("F", b"42\nretry"), ("F", b"e"), ("E", b"re(try|set)"),
            ("G", b"^The"), ("E", b"[0-9]+$"), ("F", b"x" * 65), ("F", b"failed!")]


def _texts():
    rng = random.Random(11)
    prose = b"".join(p.read_bytes() for p in sorted((CORPUS / "text").glob("*")))[:200_000]
    log = b"".join(b"Dec  5 10:%02d:%02d host job %d %s\n" % (i // 60 % 60, i % 60, i, rng.choice(
        [b"failed: Disk quota exceeded", b"The connection was reset. Retry later", b"ok", b"OK caf\xc3\xa9"]))
        for i in range(3000))
    return [prose, log, log[:-1]]


@pytest.mark.skipif(GREP is None, reason="no grep on this machine")
def test_grep_on_l1_frames_matches_grep(tmp_path):
    for data in _texts():
        for block_size in (1 << 20, 1 << 13):
            blob = cobol.compress(data, block_size=block_size, plan="l1")
            assert cobol.frame_info(blob).plans.get("l1"), block_size
            for kind, pattern in PATTERNS:
                for opts in ([], ["-n"], ["-i"], ["-v"], ["-c"]):
                    args = [GREP, "-a", "-" + kind] + opts + ["-e", pattern]
                    want = subprocess.run(args, input=data, capture_output=True, env={"LC_ALL": "C"}).stdout
                    r = grep(pattern, blob, fixed=kind == "F", extended=kind == "E", ignore_case="-i" in opts,
                             invert="-v" in opts)
                    got = grep_output(r, opts)
                    assert got == want, (kind, pattern, opts, block_size)


def test_cobol_grep_on_l1_frames_never_imports_numba(tmp_path):
    # nor NumPy for a string that no block can hold (the first search of the process)
    data = _texts()[1]
    frame = tmp_path / "t.cobl"
    frame.write_bytes(cobol.compress(data, plan="l1"))
    code = ("import sys, cobol.logsearch as s; "
            "r2 = s.grep(b'qzxjv', sys.argv[1], fixed=True); r2.numbers; np = 'numpy' in sys.modules; "
            "r = s.grep(b'Disk quota', sys.argv[1], fixed=True); "
            "r3 = s.grep(b'R.try', sys.argv[1]); "
            "print(r.count, r2.count, r3.count, 'numba' in sys.modules, np)")
    out = subprocess.run([sys.executable, "-c", code, str(frame)], capture_output=True, text=True, check=True).stdout
    lines = data.split(b"\n")
    assert out.split() == [str(sum(b"Disk quota" in ln for ln in lines)), "0",
                           str(sum(b"Retry" in ln for ln in lines)), "False", "False"]


def test_cobol_grep_on_raw_frames_imports_neither_numpy_nor_the_engine(tmp_path):
    data = b"".join(b"line %d %s\n" % (i, b"needle" if i % 97 == 5 else b"hay") for i in range(2000))
    frame = tmp_path / "r.cobl"
    frame.write_bytes(cobol.compress(data, plan="zstd"))
    code = ("import sys; from cobol.cli import main; rc = main(['grep', '-n', '-F', 'needle', sys.argv[1]]); "
            "print(rc, sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'numba')), "
            "'cobol.engine' in sys.modules, file=sys.stderr)")
    p = subprocess.run([sys.executable, "-c", code, str(frame)], capture_output=True, check=True)
    want = b"".join(b"%d:%s\n" % (i + 1, ln) for i, ln in enumerate(data.split(b"\n")) if b"needle" in ln)
    assert p.stdout == want
    assert p.stderr.decode().split() == ["0", "[]", "False"]


def test_lines_after_long_consumer_runs():
    # runs of ESC / two-byte lead bytes longer than line_ends' 64-step walk: the whole-stream cut decides
    words = [b"the", b"job"] + [b"w%s" % bytes([97 + i % 26, 97 + i // 26]) for i in range(400)]
    d = bytes([1, 96]) + b"\n".join(sorted(set(words)))
    for w, text in [(b"\x01\x01" * 70 + b"\n" + b"ab\n", b"\x01" * 70 + b"\nab\n"),
                    (b"\x01\x01" * 69 + b"\x01\n" + b"x\n", b"\x01" * 69 + b"\nx\n"),
                    (b"\xe0\x0a" * 80 + b"\n", None)]:
        want = WordCoder.from_bytes(d).decode(w, len(text)) if text is not None else None
        if want is None:
            words = WordCoder.from_bytes(d).words
            want = b" ".join([words[96 + 10]] * 80) + b"\n"  # code n1 + 0x0A
            assert WordCoder.from_bytes(d).decode(w, len(want)) == want
        b = L1Block([d, w], len(want))
        assert b.render_all().tobytes() == want
        assert b.n_lines == len(_lines(want)) and b.final_newline and b.has_newline()
        assert b.render_lines(np.arange(b.n_lines)).tobytes() == want
        if w.startswith(b"\x01" * 70):  # the NumPy-free checks hand such a stream over
            with pytest.raises(l1_stream.NeedsLineCut):
                l1_stream.L1Streams([d, w], len(want)).has_newline()
