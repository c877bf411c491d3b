"""The Numba-free readers behind `cobol grep`: intcodec_numpy against
intcodec's decoder (every layout, every predictor, hostile bytes),
log_numpy.NumpyLogBlock against l2_log.LogBlock (renders, variables, lines of
variables), and cobol grep on present strings (rare, in templates, in
variables, all digits, multi-line events, -n, -c, -i, non-log blocks) against
grep on the decompressed text, in a fresh process that must not import Numba."""

import os
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
from cobol.layers import intcodec, l2_log, log_numpy
from cobol.layers.intcodec_numpy import MEAN_PREDICTOR_LOOP_MAX, decode_ints_numpy
from cobol.layers.l2_log import LogTransform
from cobol.logsearch import grep
from cobol.registry import EncodeContext
from support import grep_output, mutated_log_blocks

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "log"


@pytest.fixture(autouse=True, scope="module")
def _lines_not_cut():
    """The line readers compared here (LogBlock, NumpyLogBlock) read params
    versions 1-4; a version-5 block (messages cut off its lines) is decoded
    whole, by cobol grep too (tests/test_log_messages.py). The blocks here
    are encoded without that cut (module scope: hypothesis runs inside)."""
    old = l2_log.SPLIT_MIN_RARE_SHARE
    l2_log.SPLIT_MIN_RARE_SHARE = 2.0
    yield
    l2_log.SPLIT_MIN_RARE_SHARE = old
GREP = shutil.which("grep")


# ------------------------------------------------------------ int streams --

def _arrays(rng, n):
    return [rng.integers(0, 5, n), rng.integers(-2**62, 2**62, n), np.cumsum(rng.integers(0, 3, n)),
            np.cumsum(rng.integers(-1000, 1000, n)), (rng.random(n) < 0.05) * rng.integers(1, 10**6, n),
            rng.integers(0, 300, n) * 7 + 1000, (np.sin(np.arange(n) / 7) * 1000).astype(np.int64) + rng.integers(0, 20, n),
            rng.geometric(0.01, n), np.cumsum(np.cumsum(rng.integers(-3, 4, n))), np.full(n, -5),
            np.array([2**63 - 1, -2**63] * n)[:n], rng.integers(0, 2**40, n) * (rng.random(n) < 0.5)]


def _header(buf: bytes) -> tuple:
    """(mode, predictor) of an int stream (predictor None where the mode has none)."""
    at = 1
    while buf[at] >= 0x80:  # the count varint
        at += 1
    has = buf[0] in (intcodec.PLANES, intcodec.ESCAPE, intcodec.BUCKET, intcodec.NIBBLES)
    return buf[0], buf[at + 1] if has else None


def test_numpy_reader_bounds_match_the_numba_modules():
    """intcodec_numpy may not import the Numba modules, so it repeats l4_bitpack's chunk bound."""
    from cobol.layers import intcodec_numpy, l4_bitpack
    assert intcodec_numpy._L4_MAX_CHUNK == l4_bitpack.MAX_CHUNK


def test_numpy_int_decoder_matches_the_kernels_on_every_layout():
    rng = np.random.default_rng(1)
    seen = set()
    for n in (1, 2, 3, 5, 17, 100, 1000, 5000, 20000):
        for a in _arrays(rng, n):
            a = np.asarray(a, np.int64)
            for modes in (intcodec.ALL_MODES,) + tuple((m,) for m in intcodec.ALL_MODES):
                try:
                    buf = intcodec.encode_ints(a, modes=modes)
                except ValueError:  # the layout does not apply to these values
                    continue
                got = decode_ints_numpy(buf, a.size)
                if got is None:  # only long runs of a mean predictor are left to the kernels
                    mode, pred = _header(buf)
                    assert pred in (3, 4) or mode in (intcodec.DICT, intcodec.SPARSE), (mode, pred)
                    assert n > MEAN_PREDICTOR_LOOP_MAX
                    continue
                seen.add(_header(buf))
                assert got.dtype == np.int64 and np.array_equal(got, a), (modes, n)
    assert {m for m, _ in seen} == set(intcodec.ALL_MODES)
    assert {p for m, p in seen if m == intcodec.PLANES} >= {0, 1, 2, 3}


def test_numpy_int_decoder_on_each_predictor():
    # PLANES with each predictor forced through the encoder's trial: a signal
    # each predictor wins on (constant steps: linear; noisy level: mean)
    rng = np.random.default_rng(5)
    for n in (40, 3000):
        for a in (np.arange(n) * 1000 + 7, np.cumsum(rng.integers(0, 9, n)), 10**6 + rng.integers(-3, 4, n),
                  np.arange(n) ** 2):
            buf = intcodec.encode_ints(a.astype(np.int64), modes=(intcodec.PLANES,))
            assert np.array_equal(decode_ints_numpy(buf, n), a)


def test_numpy_int_decoder_on_hostile_bytes_raises_format_errors_only():
    rng = random.Random(3)
    nrng = np.random.default_rng(3)
    bufs = []
    for a in _arrays(nrng, 300):
        for modes in (intcodec.ALL_MODES, (intcodec.PACKED,), (intcodec.BUCKET,), (intcodec.SPARSE,),
                      (intcodec.DICT,), (intcodec.NIBBLES,)):
            try:
                bufs.append(intcodec.encode_ints(np.asarray(a, np.int64), modes=modes))
            except ValueError:  # the layout does not apply to these values
                pass
    for case in range(3000):
        b = bytearray(rng.choice(bufs))
        for _ in range(rng.randint(1, 3)):
            if b:
                b[rng.randrange(len(b))] = rng.randrange(256)
        if rng.random() < 0.2:
            b = b[:rng.randrange(len(b) + 1)]
        try:
            want = intcodec.decode_ints(bytes(b), 600)
        except CobolError:
            want = None
        try:
            got = decode_ints_numpy(bytes(b), 600)
        except CobolError:
            assert want is None  # both reject
            continue
        if got is not None:
            assert want is not None and np.array_equal(got, want)


# ------------------------------------------------------------- log blocks --

def _blocks(data: bytes):
    enc = LogTransform().encode(data, EncodeContext(fmt="log"))
    streams = [bytes(s) for s in enc.streams]
    return (l2_log.LogBlock(streams, enc.params, len(data)), log_numpy.read_log_block(streams, enc.params, len(data)))


def _same_blocks(kernel, fast, rng) -> None:
    assert fast is not None
    assert np.array_equal(kernel.ids, fast.ids)
    every = kernel.var_lines()
    assert np.array_equal(every, fast.var_lines())
    some = np.array([rng.randrange(every.size) for _ in range(min(every.size, 50))] + [every.size - 1] * bool(every.size),
                    np.int64)
    assert np.array_equal(every[some], fast.var_lines(some))
    assert [np.array_equal(a, b) for a, b in zip(kernel.variables(), fast.variables())] == [True, True]
    n = kernel.n_lines
    for share in (1.0, 0.3, 0.01, 0.0):
        select = np.asarray([rng.random() < share for _ in range(n)], np.bool_)
        for sel in (select, np.eye(1, n, n - 1, dtype=np.bool_)[0] if n else select):
            text, starts = kernel.render(sel)
            text2, starts2 = fast.render(sel)
            assert text.tobytes() == text2.tobytes()
            assert np.array_equal(starts[sel], starts2[sel])


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*")), ids=lambda p: p.name)
def test_numpy_log_block_matches_the_kernels_on_samples(path):
    data = path.read_bytes()
    for piece in (data, data[:50000] + b"\x11 raw line\nno final newline 12"):
        _same_blocks(*_blocks(piece), random.Random(1))


LINE_TOKENS = st.sampled_from([b"2026-12-05T19:36:22.123Z", b"Dec  5 19:36:22", b"sshd[4242]:", b"INFO", b"GET",
                               b"/api/v1/items?id=0042", b"200", b"-1", b"007", b"0", b"3.14", b"0x7f3a", b"10.0.0.1",
                               b"a=1", b"(x)", b"\t", b"", b"\r", b"\xff", b"\x11", b"\x12", b"9" * 25,
                               b"0000000000000000000001", b"at com.example.Foo.bar(Foo.java:42)", b"word", b"|"])


@settings(max_examples=80, deadline=None)
@given(st.lists(st.lists(LINE_TOKENS, max_size=10).map(b" ".join), min_size=1, max_size=80), st.booleans())
def test_numpy_log_block_matches_the_kernels_on_generated_logs(lines, final_newline):
    data = b"\n".join(lines * 3) + (b"\n" if final_newline else b"")
    if len(data) < 64:
        return
    enc = LogTransform().encode(data, EncodeContext(fmt="log"))
    if enc is None:
        return
    streams = [bytes(s) for s in enc.streams]
    _same_blocks(l2_log.LogBlock(streams, enc.params, len(data)),
                 log_numpy.read_log_block(streams, enc.params, len(data)), random.Random(len(data)))


def test_numpy_log_block_on_hostile_streams_raises_cobol_errors_only():
    data = (SAMPLES / "local-dpkg.log").read_bytes()[:20000] + b"\x11 raw line\nlast 1"
    enc = LogTransform().encode(data, EncodeContext(fmt="log"))
    streams, params = [bytes(s) for s in enc.streams], enc.params
    for case, ss, pp, n in mutated_log_blocks(streams, params, len(data), random.Random(9), 600,
                                               drop_streams=False, flip_share=0.6):
        try:
            lb = log_numpy.read_log_block(ss, pp, n)
            if lb is not None:
                lb.var_lines()
                lb.variables()
                lb.render(np.ones(lb.n_lines, np.bool_))
                lb.render(np.arange(lb.n_lines) % 7 == 3)
        except CobolError:
            pass
        except (IndexError, ValueError, TypeError, OverflowError) as exc:  # the search's safety net would hide these
            pytest.fail(f"case {case}: {type(exc).__name__}: {exc}")


# ------------------------------------------------------------------- grep --

def _events_log() -> bytes:
    """Syslog-like lines, stack traces (multi-line events), rare words and numbers."""
    rng = random.Random(4)
    out = []
    for i in range(3000):
        out.append(b"Dec  5 19:%02d:%02d host%d sshd[%d]: %s from 10.0.%d.%d port %d" % (
            i // 60 % 60, i % 60, i % 3, 4000 + i % 50, rng.choice([b"Accepted publickey", b"Failed password"]),
            i % 7, i % 250, 40000 + rng.randrange(20000)))
        if i % 500 == 17:
            out += [b"java.lang.IllegalStateException: queue %d full" % i,
                    b"\tat org.example.Queue.offer(Queue.java:%d)" % (100 + i), b"\tat org.example.Main.run(Main.java:7)"]
        if i == 1234:
            out.append(b"Dec  5 20:00:00 host1 kernel: Out of memory: Killed process 31337 (qzjob)")
    return b"\n".join(out) + b"\n"


RARE = [b"Out of memory", b"qzjob", b"31337", b"Killed process 31337 (qzjob)", b"Queue.java:1617", b"queue 2017 full",
        b"10.0.3.133 port", b"(qzjob)", b"sshd[4017]", b"kernel:", b"IllegalStateException", b"host1 kernel",
        b"20:00:00", b"19:20:34 host", b"Main.java:7)"]


@pytest.mark.skipif(GREP is None, reason="no grep on this machine")
def test_grep_present_strings_match_grep(tmp_path):
    data = _events_log()
    plain = tmp_path / "events.log"
    plain.write_bytes(data)
    for block_size in (1 << 20, 1 << 14):
        blob = cobol.compress(data, block_size=block_size, plan="log")
        assert cobol.frame_info(blob).plans.get("log")
        for needle in RARE + [b"Accepted", b"port 4"]:
            for opts in ([], ["-n"], ["-i"], ["-c"], ["-v"]):
                want = subprocess.run([GREP, "-a", "-F"] + opts + ["-e", needle.decode(), str(plain)],
                                      capture_output=True, env={"LC_ALL": "C"}).stdout
                r = grep(needle, blob, fixed=True, ignore_case="-i" in opts, invert="-v" in opts)
                got = grep_output(r, opts)
                assert got == want, (needle, opts, block_size)


def test_cobol_grep_of_a_present_string_never_imports_numba(tmp_path):
    # the NumPy readers find and render the lines; a regular expression or an
    # inverted search still renders with the kernels
    data = _events_log()
    frame = tmp_path / "events.cobl"
    frame.write_bytes(cobol.compress(data, plan="log"))
    code = ("import sys, cobol.logsearch as s; r = s.grep(sys.argv[2].encode(), sys.argv[1], fixed=True); "
            "print(r.count, r.numbers[:2], 'numba' in sys.modules)")
    env = {**os.environ, "PYTHONPATH": str(Path(cobol.__file__).parents[1])}
    text_lines = data.split(b"\n")
    for needle in (b"qzjob", b"31337", b"Queue.java:", b"Accepted"):
        want = [k + 1 for k, ln in enumerate(text_lines) if needle in ln]
        out = subprocess.run([sys.executable, "-c", code, str(frame), needle.decode()], capture_output=True,
                             check=True, env=env).stdout.decode()
        assert out.split()[0] == str(len(want)) and out.rstrip().endswith("False"), (needle, out)
    # a non-log frame falls back to decoding the block and finds the same lines
    raw = cobol.compress(data, plan="zstd")
    assert grep(b"qzjob", raw, fixed=True).numbers == grep(b"qzjob", frame.read_bytes(), fixed=True).numbers == \
        [k + 1 for k, ln in enumerate(text_lines) if b"qzjob" in ln]


def _timed_jobs_log() -> bytes:
    # times and counters grow line by line (the encoder splits those columns into
    # digit chunks); versions and hosts repeat (kept verbatim)
    return b"".join(b"2026-12-05 10:%02d:%02d job %d took %d.%03d s host=h%d v1.%d\n"
                    % (i // 60 % 60, i % 60, i, i % 7, i * 37 % 1000, i % 5, i % 3) for i in range(3000))


@pytest.mark.skipif(GREP is None, reason="no grep on this machine")
def test_grep_strings_with_digits_select_only_variables_that_can_hold_them(tmp_path):
    from cobol.blocksearch import LogLines, _log_candidates
    from cobol.entropy import decode_streams
    from cobol.format.frame import DataBlock, Limits, iter_frame_records
    from cobol.logsearch import Matcher
    data = _timed_jobs_log()
    plain = tmp_path / "jobs.log"
    plain.write_bytes(data)
    blob = cobol.compress(data, plan="log")
    rec = next(r for _, r in iter_frame_records(blob, Limits()) if isinstance(r, DataBlock))
    streams = decode_streams(rec)
    assert b"\x12:\x12:\x12\n" in bytes(streams[2]) and b"2026-12-05\n" in bytes(streams[2])  # split and verbatim columns
    lb = LogLines(streams, rec)
    for needle, most in ((b"10:13:07", 1), (b"took 3.1", 100), (b"h3", 600), (b"v1.2", 1000), (b"job 1234 t", 3),
                         (b"2.03", 10), (b"0:0", 3000), (b"H3", 600), (b"12-05 10", 3000)):
        for opts in ([], ["-n"], ["-i"]):
            want = subprocess.run([GREP, "-a", "-F"] + opts + ["-e", needle.decode(), str(plain)],
                                  capture_output=True, env={"LC_ALL": "C"}).stdout
            got = grep_output(grep(needle, blob, fixed=True, ignore_case="-i" in opts), opts)
            assert got == want, (needle, opts)
        # the candidate lines: those whose variables hold the string's pieces (the
        # longest non-digit run of a piece alone, ":" or ".", selected every line)
        m = Matcher.compile(needle, fixed=True, ignore_case=needle == b"H3")
        assert int(_log_candidates(lb, m).sum()) <= most, needle
