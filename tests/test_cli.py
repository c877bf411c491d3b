"""The ``cobol`` command, driven through a subprocess like a user would (plus a
few in-process checks of helpers and of the progress-bar path)."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path

import pytest

import cobol
from cobol.cli import common, files, main, subcommands
from support import structured_samples

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
CSV = SAMPLES / "csv" / "vega-seattle-weather-hourly-normals.csv"
LOG = SAMPLES / "log" / "local-dpkg.log"


def run(*args, input=None, cwd=None, env=None, **kw):
    """Run ``cobol ARGS``; returns the CompletedProcess (bytes stdout/stderr)."""
    return subprocess.run([sys.executable, "-m", "cobol.cli", *map(str, args)], input=input, cwd=cwd,
                          capture_output=True, env=env, timeout=600, **kw)  # a hang guard, not a speed


@pytest.fixture
def call(capsysbinary):
    """Run ``cobol ARGS`` in this process (fast); returns (exit code, stdout bytes, stderr text)."""
    def _call(*args):
        try:
            rc = main([str(a) for a in args])
        except SystemExit as e:  # argparse's --help / usage errors
            rc = e.code
        cap = capsysbinary.readouterr()
        return rc, cap.out, cap.err.decode()
    return _call


def one_error_line(p) -> str:
    err = p.stderr.decode()
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("cobol: ")
    return lines[0]


@pytest.fixture
def data_file(tmp_path):
    f = tmp_path / "weather.csv"
    f.write_bytes(CSV.read_bytes())
    return f


def test_input_kept_by_default_and_rm_removes_it(data_file):
    original = data_file.read_bytes()
    os.utime(data_file, (1_600_000_000, 1_600_000_000))
    p = run(data_file)
    assert p.returncode == 0, p.stderr
    packed = data_file.with_name("weather.csv.cobl")
    assert packed.exists() and data_file.read_bytes() == original  # zstd's habit: the input stays
    packed.unlink()
    p = run("--rm", data_file)
    assert p.returncode == 0, p.stderr
    assert packed.exists() and not data_file.exists()  # --rm: gzip's habit, asked for
    assert cobol.decompress(packed.read_bytes()) == original
    assert packed.stat().st_mtime == 1_600_000_000  # times carried over, like gzip
    p = run("-d", "--rm", packed)
    assert p.returncode == 0, p.stderr
    assert data_file.read_bytes() == original and not packed.exists()
    assert data_file.stat().st_mtime == 1_600_000_000
    assert sorted(x.name for x in data_file.parent.iterdir()) == ["weather.csv"]  # no temp files left


def test_keep_refuse_overwrite_and_force(data_file, call):
    packed = data_file.with_name("weather.csv.cobl")
    assert call("-k", data_file)[0] == 0
    assert data_file.exists() and packed.exists()
    packed.write_bytes(b"precious")
    rc, _, err = call("-k", data_file)
    assert rc == common.EXIT_REFUSED and err == f"cobol: {packed}: already exists (use -f to overwrite)\n"
    assert packed.read_bytes() == b"precious"  # untouched
    assert call("-k", "-f", data_file)[0] == 0
    assert cobol.decompress(packed.read_bytes()) == data_file.read_bytes()
    # decompressing over the existing input is refused too, and -f allows it
    assert call("-d", "-k", packed)[0] == common.EXIT_REFUSED and packed.exists()
    assert call("-d", "-f", packed)[0] == 0 and packed.exists()  # kept by default
    assert call("-d", "-f", "--rm", packed)[0] == 0 and not packed.exists()
    # the last of -k / --rm wins, as in zstd; -k alone is accepted and changes nothing
    assert call("--rm", "-k", "-f", data_file)[0] == 0 and data_file.exists()
    # an input that already has the suffix is left alone unless forced
    rc, _, err = call("-k", _compress(data_file))
    assert rc == common.EXIT_REFUSED and "suffix" in err


def _compress(f: Path) -> Path:
    out = f.with_name(f.name + ".cobl")
    out.write_bytes(cobol.compress(f.read_bytes()))
    return out


def test_output_option_and_stdout(data_file, tmp_path, call):
    original = data_file.read_bytes()
    out = tmp_path / "sub" / "x.bin"
    out.parent.mkdir()
    assert call("-o", out, "-k", data_file)[0] == 0
    assert cobol.decompress(out.read_bytes()) == original
    # -d with an unknown suffix is refused unless -o or -c names the output
    rc, _, err = call("-d", out)
    assert rc == common.EXIT_REFUSED and "unknown suffix" in err
    assert call("-d", "-k", "-o", tmp_path / "back.csv", out)[0] == 0
    assert (tmp_path / "back.csv").read_bytes() == original and out.exists()
    rc, stdout, _ = call("-dc", out)
    assert rc == 0 and stdout == original and out.exists()  # -c keeps the input
    rc, stdout, _ = call("-c", data_file)
    assert rc == 0 and data_file.exists() and cobol.decompress(stdout) == original
    # -o keeps the input; --rm -o removes it once the output is complete
    assert call("-o", tmp_path / "y.cobl", data_file)[0] == 0 and data_file.exists()
    assert call("--rm", "-o", tmp_path / "z.cobl", data_file)[0] == 0 and not data_file.exists()


def test_several_files_to_stdout_concatenate(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.log"
    a.write_bytes(CSV.read_bytes()[:5000])
    b.write_bytes(LOG.read_bytes())
    p = run("-c", a, b)
    assert p.returncode == 0
    back = run("-d", "-c", input=p.stdout)
    assert back.returncode == 0 and back.stdout == a.read_bytes() + b.read_bytes()


def test_pipes_stdin_to_stdout():
    data = LOG.read_bytes()
    p = run("-19", "-T", "1", input=data)
    assert p.returncode == 0, p.stderr
    assert cobol.decompress(p.stdout) == data
    q = run("-d", "-", input=p.stdout)
    assert q.returncode == 0 and q.stdout == data
    assert run("-dc", input=b"").returncode == common.EXIT_CORRUPT  # empty is not a frame
    empty = run(input=b"")
    assert empty.returncode == 0 and cobol.decompress(empty.stdout) == b""


def test_level_flags_and_options_reach_the_frame(data_file, call):
    data = data_file.read_bytes()
    rc, out, _ = call("-c", "-0", data_file)
    assert rc == 0 and cobol.frame_info(out).plans == {"store": 1}
    rc, out, err = call("-c", "--checksum", "crc32", "--block-size", "16K", "--level", "1", data_file)
    assert rc == 0, err
    info = cobol.frame_info(out)
    assert info.checksum == "crc32" and info.block_size == 16384 and info.blocks >= len(data) // 16384
    assert cobol.decompress(out) == data
    rc, out, _ = call("-c", "--plan", "zstd", "--format", "text", "--dtype", "i4", "-T", "1", data_file)
    assert rc == 0 and cobol.decompress(out) == data


@pytest.mark.parametrize("args, code", [
    (["--level", "abc", "x"], common.EXIT_USAGE),
    (["--level", "-1", "x"], common.EXIT_USAGE),
    (["--fast-dec", "x"], common.EXIT_USAGE),  # no prefix matching of long options
    (["--long=40", "x"], common.EXIT_USAGE),
    (["--fast", "-5", "x"], common.EXIT_USAGE),
    (["-l", "-o", "x", "{data}"], common.EXIT_USAGE),
    (["--plan", "no-such-plan", "-c", "{data}"], common.EXIT_USAGE),
    (["--dtype", "str", "x"], common.EXIT_USAGE),
    (["-o", "out", "{data}", "{data}"], common.EXIT_USAGE),
    (["-t", "-c", "{data}"], common.EXIT_USAGE),
    (["--no-such-option"], common.EXIT_USAGE),
    (["no-such-file"], common.EXIT_IO),
    (["{dir}"], common.EXIT_REFUSED),
])
def test_exit_codes(args, code, data_file, call, monkeypatch):
    monkeypatch.chdir(data_file.parent)
    rc, _, err = call(*[a.format(data=data_file, dir=data_file.parent) for a in args])
    assert rc == code, err
    assert "cobol" in err and "Traceback" not in err


def test_corrupt_and_truncated_input_exit_2_with_one_line(data_file, tmp_path):
    blob = bytearray(cobol.compress(data_file.read_bytes()))
    flipped = tmp_path / "flipped.cobl"
    blob[-200] ^= 0x10
    flipped.write_bytes(bytes(blob))
    p = run("-d", flipped)
    assert p.returncode == common.EXIT_CORRUPT
    line = one_error_line(p)
    assert line.startswith(f"cobol: {flipped}: block 0 at offset ")
    assert not (tmp_path / "flipped").exists()  # no partial output
    assert not [x for x in os.listdir(tmp_path) if x.endswith(".tmp")]
    short = tmp_path / "short.cobl"
    short.write_bytes(bytes(blob[:100]))
    p = run("-t", short)
    assert p.returncode == common.EXIT_CORRUPT
    assert one_error_line(p).startswith(f"cobol: {short}: truncated: ") and "no end marker" in one_error_line(p)
    junk = tmp_path / "junk.cobl"
    junk.write_bytes(b"not a frame at all")
    p = run("--list", junk)
    assert p.returncode == common.EXIT_CORRUPT
    assert one_error_line(p) == f"cobol: {junk}: not a .cobl file (looks like text)"
    # several files: each failure gets its line, the exit code is the highest
    missing = tmp_path / "missing.cobl"
    p = run("-t", junk, missing)
    err = p.stderr.decode().splitlines()
    assert p.returncode == common.EXIT_IO and len(err) == 2 and str(missing) in err[1]


def test_list_plain_and_json(data_file, call):
    assert call("-k", "-19", data_file)[0] == 0
    packed = data_file.with_name("weather.csv.cobl")
    rc, out, _ = call("--list", packed)
    assert rc == 0
    header, rule, row = out.decode().splitlines()[:3]
    assert header.split()[:5] == ["Frames", "Blocks", "Compressed", "Uncompressed", "Ratio"]
    assert row.split()[0] == "1" and row.endswith(str(packed))
    rc, out, _ = call("--list", "--json", "-v", packed)
    [info] = json.loads(out)
    assert info["file"] == str(packed) and info["raw_size"] == data_file.stat().st_size
    assert info["compressed_size"] == packed.stat().st_size and info["checksum"] == "xxh3-64"
    assert info["block_list"][0]["streams"] and info["ratio"] > 2
    rc, out, _ = call("--list", "-v", packed, packed)
    assert rc == 0 and "block size" in out.decode() and "2 files" in out.decode()
    p = run("--list", "--json", input=packed.read_bytes())
    assert json.loads(p.stdout)[0]["file"] == "stdin"


def test_test_mode_and_json_summaries(data_file, call):
    rc, out, _ = call("--json", "-k", data_file)
    [s] = json.loads(out)
    assert s["ok"] and s["mode"] == "compress" and s["raw_size"] == data_file.stat().st_size
    packed = data_file.with_name("weather.csv.cobl")
    assert s["compressed_size"] == packed.stat().st_size and s["output"] == str(packed)
    rc, out, err = call("-t", packed)  # zstd -t: one line per file
    sizes = f"{common.short_size(packed.stat().st_size)} => {common.short_size(data_file.stat().st_size)}"
    assert (rc, out) == (0, b"") and err == f"{str(packed):<20} : OK ({sizes})\n"
    assert sizes.endswith(" KiB => 97.6 KiB")
    assert call("-t", "-q", packed) == (0, b"", "")
    rc, _, err = call("-t", "-v", packed, packed)
    assert rc == 0 and err.count(" : OK (") == 2 and " s, " in err and "MiB/s" in err
    assert err.splitlines()[-1] == f"2 files tested OK : {2 * data_file.stat().st_size} bytes total"
    rc, out, _ = call("-t", "--json", packed, packed.with_name("nothing.cobl"))
    good, bad = json.loads(out)
    assert rc == common.EXIT_IO and good["ok"] and good["raw_size"] == data_file.stat().st_size
    assert not bad["ok"] and bad["exit_code"] == common.EXIT_IO
    # with data on stdout the JSON summary goes to stderr
    rc, out, err = call("-c", "--json", data_file)
    assert cobol.decompress(out) == data_file.read_bytes()
    assert json.loads(err)[0]["output"] == "stdout"


def test_subcommand_names_and_dot_slash(tmp_path, call, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bench").write_bytes(b"a file named like a subcommand\n")
    assert call("./bench")[0] == 0
    assert (tmp_path / "bench.cobl").exists()
    rc, out, _ = call("info", "--json")
    info = json.loads(out)
    assert info["version"] == cobol.__version__
    assert (info["transforms"][0]["id"], info["transforms"][0]["name"]) == (0, "raw")
    assert call("info")[0] == 0
    rc, out, _ = call("--version")
    assert rc == 0 and out.decode().strip() == f"cobol {cobol.__version__}"
    rc, out, _ = call("--help")
    assert rc == 0 and "exit codes:" in out.decode() and "bench" in out.decode()


def test_refuses_to_write_compressed_data_to_a_terminal(data_file):
    try:
        master, slave = pty.openpty()
    except OSError as e:  # no pseudo-terminals in this sandbox
        pytest.skip(f"no pty: {e}")
    try:
        p = subprocess.run([sys.executable, "-m", "cobol.cli", "-c", str(data_file)], stdout=slave,
                           stderr=subprocess.PIPE, timeout=120)
        assert p.returncode == common.EXIT_REFUSED
        assert "terminal" in one_error_line(p)
        p = subprocess.run([sys.executable, "-m", "cobol.cli", "-d"], stdin=slave, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
        assert p.returncode == common.EXIT_REFUSED and p.stdout == b""
        # decompressed data may go to a terminal
        blob = cobol.compress(b"hello terminal\n")
        p = subprocess.run([sys.executable, "-m", "cobol.cli", "-dc"], input=blob, stdout=slave,
                           stderr=subprocess.PIPE, timeout=120)
        assert p.returncode == 0, p.stderr
    finally:
        os.close(master)
        os.close(slave)
    assert data_file.exists()


def test_broken_pipe_is_quiet(tmp_path):
    blob = cobol.compress(os.urandom(1 << 16) * 16, level=1)
    p = subprocess.Popen([sys.executable, "-m", "cobol.cli", "-dc"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdin.write(blob)
    p.stdin.close()
    assert len(p.stdout.read(10)) == 10
    p.stdout.close()
    assert p.wait(timeout=120) == common.EXIT_BROKEN_PIPE
    assert p.stderr.read() == b""


def test_progress_bar_path_in_process(tmp_path, monkeypatch, call):
    # rich's bar is drawn on stderr when it is a terminal and the input is big; force both
    monkeypatch.setattr(files, "PROGRESS_MIN_BYTES", 0)
    monkeypatch.setattr(files, "is_tty", lambda stream: stream is sys.stderr)
    f = tmp_path / "d.log"
    f.write_bytes(LOG.read_bytes())
    rc, _, err = call("-k", "--block-size", "8K", "-T", "2", f)
    assert rc == 0 and "=>" in err  # the summary line of a terminal session
    assert call("-d", "-f", "-k", str(f) + ".cobl")[0] == 0
    assert f.read_bytes() == LOG.read_bytes()


def test_expand_short_flags():
    assert files.expand_short_flags(["-19", "-k", "-o", "-5", "x", "--", "-3"]) == \
        ["--level=19", "-k", "-o", "-5", "x", "--", "-3"]
    assert files.expand_short_flags(["-19kf", "-kT2f", "-dcf", "-oOUT", "-T", "3", "-D", "-d", "--level", "-4"]) == \
        ["--level=19", "-k", "-f", "-k", "--threads=2", "-f", "-d", "-c", "-f", "-o", "OUT", "-T", "3",
         "-D", "-d", "--level", "-4"]
    assert files.expand_short_flags(["-", "--fast=2", "x-1", "--long", "f", "--fast", "g"]) == \
        ["-", "--fast=2", "x-1", "--long=26", "f", "--fast=1", "g"]
    assert common.parse_size("64K") == 65536 and common.parse_size("4MiB") == 4 << 20 and common.parse_size("10") == 10


def test_subcommand_registration_table(call):
    @subcommands.subcommand("zz-test", "a test subcommand")
    def _zz(p):
        p.add_argument("n", type=int)
        return lambda args: args.n

    try:
        assert call("zz-test", "7")[0] == 7
        assert "zz-test" in files.build_parser().epilog
    finally:
        del subcommands.SUBCOMMANDS["zz-test"]


def test_symlink_input_is_refused_unless_forced(data_file, call):
    link = data_file.with_name("link.csv")
    link.symlink_to(data_file.name)
    rc, _, err = call(link)
    assert rc == common.EXIT_REFUSED and "symbolic link" in err and link.is_symlink()
    rc, out, _ = call("-c", link)  # to stdout nothing is removed, so it is fine
    assert rc == 0 and cobol.decompress(out) == data_file.read_bytes()


def test_fast_decode_keeps_ppmd_out_of_level_22_frames(tmp_path, call):
    from cobol.entropy import PPMD
    from cobol.format.frame import DataBlock, iter_frame_records
    text = (SAMPLES / "text").glob("*")
    src = tmp_path / "prose.txt"
    src.write_bytes(b"".join(p.read_bytes() for p in sorted(text))[:200_000])

    def codecs(*flags):
        out = tmp_path / "prose.txt.cobl"
        rc, _, err = call("-22", "-k", "-f", *flags, src)
        assert rc == 0, err
        blob = out.read_bytes()
        assert cobol.decompress(blob) == src.read_bytes()
        return {e.codec for _, r in iter_frame_records(blob) if isinstance(r, DataBlock) for e in r.streams}
    assert PPMD in codecs()
    assert PPMD not in codecs("--fast-decode")



# ------------------------------------------------------------------ zstd's habits, flag by flag

SMALL = LOG.read_bytes()[:20_000]


@pytest.fixture
def small(tmp_path):
    f = tmp_path / "a.log"
    f.write_bytes(SMALL)
    return f


def _summary_re(name, out) -> str:
    return rf"{re.escape(str(name))} *: \d+\.\d\d%   \( *[\d.]+ (B|KiB|MiB) => +[\d.]+ (B|KiB|MiB), {re.escape(str(out))}\)"


def test_summary_lines_on_a_pipe_quiet_levels_and_total(small, tmp_path):
    b = tmp_path / "b.log"
    b.write_bytes(SMALL[:5000])
    p = run(small)  # stderr is a pipe here: the summary is still printed, as zstd does
    assert p.returncode == 0 and re.fullmatch(_summary_re(small, f"{small}.cobl") + "\n", p.stderr.decode())
    p = run("-v", "-f", small, b)
    lines = p.stderr.decode().splitlines()
    assert p.returncode == 0 and len(lines) == 3, lines
    assert re.match(_summary_re(small, f"{small}.cobl")[:-2], lines[0]) and "MiB/s" in lines[0]
    assert re.fullmatch(r"  2 files compressed : \d+\.\d\d% \( *[\d.]+ KiB => +[\d.]+ KiB\)", lines[2])
    assert run("-q", "-f", small).stderr == b""
    p = run("-c", small)  # data on stdout: only errors, unless -v
    assert p.returncode == 0 and p.stderr == b""
    p = run("-cv", small)
    assert re.fullmatch(_summary_re(small, "stdout")[:-2] + r", .* MiB/s\)\n", p.stderr.decode())
    p = run("-d", "-f", f"{small}.cobl")
    assert p.stderr.decode() == f"{str(small) + '.cobl':<20} : {len(SMALL)} bytes\n"
    # -q keeps errors, -qq silences them too; the exit code still tells
    missing = tmp_path / "missing.log"
    p = run("-q", missing)
    assert p.returncode == common.EXIT_IO and one_error_line(p) == f"cobol: {missing}: No such file or directory"
    p = run("-qq", missing)
    assert p.returncode == common.EXIT_IO and p.stderr == b""


@pytest.fixture
def levels_seen(monkeypatch):
    """The (level, fast_decode) each run's engine was made with."""
    seen = []
    real = files._make_engine

    def spy(args):
        seen.append((args.level, args.fast_decode))
        return real(args)
    monkeypatch.setattr(files, "_make_engine", spy)
    return seen


@pytest.mark.parametrize("flags, level, warning", [
    (["-19"], 19, None),
    (["-20"], 19, "compression level 20 higher than max, reduced to 19 (levels above 19 need --ultra)"),
    (["-23"], 19, "compression level 23 higher than max, reduced to 19 (levels above 19 need --ultra)"),
    (["--ultra", "-20"], 20, None),
    (["--ultra", "-23"], 22, "compression level 23 higher than max, reduced to 22"),
    (["--level", "25"], 19, "compression level 25 higher than max, reduced to 19 (levels above 19 need --ultra)"),
    (["--fast"], 1, None),      # not --fast-decode: prefix matching is off
    (["--fast=4"], 1, None),    # no negative levels: any --fast is level 1
    (["-7kf"], 7, None),
])
def test_levels_ultra_clamp_and_fast(flags, level, warning, small, call, levels_seen):
    rc, _, err = call(*flags, "-k", "-f", "--plan", "store", small)
    assert rc == 0, err
    assert levels_seen == [(level, False)]
    warnings = [ln for ln in err.splitlines() if "warning" in ln]
    assert warnings == ([f"cobol: warning: {warning}"] if warning else [])
    assert small.exists()


def test_combined_short_flags(small, call):
    rc, _, err = call("-kT2f", small)
    assert rc == 0 and small.exists(), err
    rc, _, err = call("-19kf", small)
    assert rc == 0 and small.exists()
    rc, out, _ = call("-dcf", f"{small}.cobl")
    assert rc == 0 and out == SMALL
    rc, out, _ = call("-cT1", small)
    assert rc == 0 and cobol.decompress(out) == SMALL


def test_dcf_passes_non_cobl_input_through(small, tmp_path):
    p = run("-dcf", small)  # zstd -dcf: what is not compressed goes through unchanged
    assert p.returncode == 0 and p.stdout == SMALL
    p = run("-dcf", input=SMALL)
    assert p.returncode == 0 and p.stdout == SMALL
    p = run("-dcf", input=cobol.compress(SMALL))
    assert p.returncode == 0 and p.stdout == SMALL
    p = run("-dc", small)  # without -f it is an error that says what the file is
    assert p.returncode == common.EXIT_CORRUPT and p.stdout == b""
    assert one_error_line(p) == f"cobol: {small}: not a .cobl file (looks like text)"


@pytest.mark.parametrize("kind", ["zstd", "gzip", "xz", "bzip2"])
def test_not_a_cobl_file_says_what_it_looks_like(kind, tmp_path):
    import bz2
    import gzip
    import lzma

    import zstandard
    packed = {"zstd": zstandard.ZstdCompressor().compress, "gzip": gzip.compress, "xz": lzma.compress,
              "bzip2": bz2.compress}[kind](SMALL)
    f = tmp_path / "renamed.cobl"
    f.write_bytes(packed)
    for mode in ("-d", "-t", "--list"):
        p = run(mode, f)
        assert p.returncode == common.EXIT_CORRUPT
        assert one_error_line(p) == f"cobol: {f}: not a .cobl file (looks like {kind})"
    assert not (tmp_path / "renamed").exists()


def test_a_damaged_length_is_corruption_not_truncation(data_file, tmp_path):
    from cobol.format.frame import read_frame_header
    from cobol.format.wire import Reader
    blob = bytearray(cobol.compress(data_file.read_bytes(), block_size=16384))
    header_size = read_frame_header(Reader(bytes(blob))).size
    assert blob[header_size] == 1  # the first record is a data block; its length varint follows
    blob[header_size + 1] |= 0x7F  # a longer body than the file holds
    blob[header_size + 2] |= 0x7F
    f = tmp_path / "damaged.cobl"
    f.write_bytes(bytes(blob))
    p = run("-t", f)
    assert p.returncode == common.EXIT_CORRUPT
    line = one_error_line(p)
    assert line.startswith(f"cobol: {f}: corrupt, not truncated: ") and "intact end marker" in line
    cut = tmp_path / "cut.cobl"
    cut.write_bytes(cobol.compress(data_file.read_bytes(), block_size=16384)[:-30])
    p = run("-d", cut)
    assert p.returncode == common.EXIT_CORRUPT and one_error_line(p).startswith(f"cobol: {cut}: truncated: ")


def test_errors_name_the_path_given_not_the_temp_file(small, tmp_path):
    out = tmp_path / "missing" / "dir" / "x.cobl"
    p = run("-o", out, small)
    assert p.returncode == common.EXIT_IO
    line = one_error_line(p)
    assert line == f"cobol: {out}: cannot write here: folder {out.parent} does not exist" and ".tmp" not in line


def test_recursive_compresses_in_place_and_decompresses_back(tmp_path, call):
    root = tmp_path / "tree"
    (root / "sub").mkdir(parents=True)
    (root / "a.log").write_bytes(SMALL)
    (root / "sub" / "b.csv").write_bytes(CSV.read_bytes()[:3000])
    (root / "sub" / "empty").write_bytes(b"")
    (root / "sub" / "old.cobl").write_bytes(cobol.compress(b"already\n"))
    rc, _, err = call(root)
    assert rc == common.EXIT_REFUSED and "is a directory" in err and "-r" in err and "compress-dir" in err
    rc, _, err = call("-r", "--rm", root)
    assert rc == 0, err
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) == \
        ["a.log.cobl", "sub/b.csv.cobl", "sub/empty.cobl", "sub/old.cobl"]
    assert err.count("%   (") == 3 and "  3 files compressed : " in err
    rc, _, err = call("-d", "-r", "--rm", root)
    assert rc == 0, err
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) == \
        ["a.log", "sub/b.csv", "sub/empty", "sub/old"]
    assert (root / "a.log").read_bytes() == SMALL and (root / "sub" / "empty").read_bytes() == b""


def test_output_dir_flat_and_exclude_compressed(tmp_path, call):
    (tmp_path / "in" / "deep").mkdir(parents=True)
    a, b = tmp_path / "in" / "a.log", tmp_path / "in" / "deep" / "b.log"
    z = tmp_path / "in" / "c.gz"
    a.write_bytes(SMALL)
    b.write_bytes(SMALL[:999])
    z.write_bytes(b"\x1f\x8b pretend gzip")
    flat = tmp_path / "flat"
    rc, _, err = call("--output-dir-flat", flat, "--exclude-compressed", a, b, z)
    assert rc == 0, err
    assert sorted(p.name for p in flat.iterdir()) == ["a.log.cobl", "b.log.cobl"]
    assert cobol.decompress((flat / "b.log.cobl").read_bytes()) == SMALL[:999] and b.exists()
    rc, _, _ = call("--output-dir-flat", flat, z)
    assert rc == 0 and (flat / "c.gz.cobl").exists()  # without the flag it is compressed like any file
    rc, _, _ = call("-d", "--output-dir-flat", tmp_path / "back", flat / "a.log.cobl")
    assert rc == 0 and (tmp_path / "back" / "a.log").read_bytes() == SMALL


def test_long_and_no_check_reach_the_frame(small, call, tmp_path):
    # 9 MiB: two blocks at the default 8 MiB, one (a compact frame) with --long's 64 MiB
    big = tmp_path / "big.bin"
    data = bytes(range(256)) * (9 << 12)
    big.write_bytes(data)
    rc, out, err = call("-c", "--plan", "zstd", big)
    assert rc == 0, err
    assert cobol.frame_info(out).blocks == 2
    rc, out, err = call("-c", "--plan", "zstd", "--long", big)
    assert rc == 0, err
    info = cobol.frame_info(out)
    assert (info.blocks, info.block_size) == (1, len(data)) and cobol.decompress(out) == data
    rc, out, _ = call("-c", "--long=14", small)  # 16 KiB blocks: SMALL (20 KB) takes two
    info = cobol.frame_info(out)
    assert (info.blocks, info.block_size) == (2, 1 << 14) and cobol.decompress(out) == SMALL
    for flag in ("-C", "--no-check"):
        rc, out, _ = call("-c", flag, small)
        assert rc == 0 and cobol.frame_info(out).checksum == "crc32" and cobol.decompress(out) == SMALL
    rc, _, err = call("-c", "--long", "--block-size", "1M", small)
    assert rc == common.EXIT_USAGE and "exclude" in err


def test_progress_line_moves_block_by_block(small, call, monkeypatch):
    monkeypatch.setattr(files, "PROGRESS_INTERVAL", 0.0)
    rc, _, err = call("--progress", "-k", "-f", "--block-size", "2K", "-T", "1", small)
    assert rc == 0, err
    frames = [f for f in err.split("\r") if f.startswith("a.log: read ")]
    reads = [int(m.group(1)) for f in frames for m in [re.search(r"\((\d+)%\)", f)]]
    assert len(frames) >= 9 and reads == sorted(reads) and reads[0] < 20 and reads[-1] == 100, frames
    assert "block 0 of ~10 done" in frames[0] and "block 10 of ~10 done" in frames[-1]
    assert all(re.search(r"written [\d.]+ (B|KiB), ratio [\d.]+, [\d.]+ MiB/s, ETA \d+:\d\d, \d+:\d\d elapsed", f)
               for f in frames if "ratio" in f)
    assert re.search(_summary_re(small, f"{small}.cobl"), err)  # then the summary, the line erased before it
    rc, _, err = call("--progress", "-d", "-f", "-k", f"{small}.cobl")
    frames = [f for f in err.split("\r") if f.startswith("a.log.cobl: read ")]
    assert rc == 0 and len(frames) >= 9 and "(100%)" in frames[-1]
    assert call("--no-progress", "-k", "-f", small)[2].count("\r") == 0


def _pty_run(args, answer: bytes = b"", stdout=subprocess.PIPE):
    """Run cobol with stdin and stderr on a pseudo-terminal; returns (process, what the terminal showed)."""
    try:
        master, slave = pty.openpty()
    except OSError as e:  # no pseudo-terminals in this sandbox
        pytest.skip(f"no pty: {e}")
    try:
        if answer:
            os.write(master, answer)
        p = subprocess.run([sys.executable, "-m", "cobol.cli", *map(str, args)], stdin=slave, stdout=stdout,
                           stderr=slave, timeout=120)
        os.close(slave)
        slave = None
        shown = b""
        while select.select([master], [], [], 0.5)[0]:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
        return p, shown.decode(errors="replace")
    finally:
        if slave is not None:
            os.close(slave)
        os.close(master)


def test_console_refusal_and_overwrite_prompt(small, tmp_path):
    p, shown = _pty_run([])  # no FILE, stdin a terminal
    assert p.returncode == common.EXIT_REFUSED and "cobol: stdin is a console, aborting" in shown
    packed = tmp_path / "a.log.cobl"
    packed.write_bytes(b"precious")
    p, shown = _pty_run([small], b"n\n")
    assert p.returncode == common.EXIT_USAGE and packed.read_bytes() == b"precious"  # zstd: rc 1 when declined
    assert f"cobol: {packed} already exists; overwrite (y/n) ? " in shown and "not overwritten" in shown
    p, shown = _pty_run([small], b"y\n")
    assert p.returncode == 0 and cobol.decompress(packed.read_bytes()) == SMALL
    assert "overwrite (y/n)" in shown and small.exists()
    # -q: no question; refused as when stdin is not a terminal
    packed.write_bytes(b"precious")
    p, shown = _pty_run(["-q", small])
    assert p.returncode == common.EXIT_REFUSED and packed.read_bytes() == b"precious"


def test_train_warns_on_too_few_samples_and_list_shows_the_dictionary(tmp_path, call):
    samples = tmp_path / "samples"
    samples.mkdir()
    lines = LOG.read_bytes().splitlines(keepends=True)
    for i in range(20):
        (samples / f"s{i}.log").write_bytes(b"".join(lines[i * 5:i * 5 + 5]))
    d = tmp_path / "d.dict"
    rc, _, err = call("train", samples, "-o", d)
    assert rc == 0, err
    assert "warning: only 20 samples" in err and "at least 100" in err
    from cobol.dictionary import load
    dict_id = load(str(d)).dict_id
    msg = tmp_path / "m.log"
    msg.write_bytes(b"".join(lines[200:210]))
    assert call("-D", d, msg)[0] == 0
    rc, out, _ = call("--list", f"{msg}.cobl")
    header, _, row = out.decode().splitlines()[:3]
    assert "Dictionary" in header.split() and f"{dict_id:#010x}" in row.split()
    rc, out, _ = call("-l", "--json", f"{msg}.cobl")
    assert json.loads(out)[0]["dictionary_id"] == dict_id


def test_compress_dir_relative_paths_empty_files_metadata_and_mtimes(tmp_path):
    src = tmp_path / "src"
    (src / "logs").mkdir(parents=True)
    (src / "logs" / "a.log").write_bytes(SMALL)
    (src / "logs" / "b.log").write_bytes(SMALL[:4000])
    (src / "logs" / "empty.log").write_bytes(b"")
    for i, f in enumerate(sorted((src / "logs").iterdir())):
        os.utime(f, (1_500_000_000 + i, 1_500_000_000 + i))
    p = run("compress-dir", src, "-o", tmp_path / "out", "-j", "1")
    assert p.returncode == 0, p.stderr
    text = p.stdout.decode()
    assert str(tmp_path) not in text  # paths relative to the folder given
    rows = [ln.split() for ln in text.splitlines()]
    assert ["logs/a.log", "done"] in [r[:2] for r in rows] and ["logs/empty.log", "done"] in [r[:2] for r in rows]
    [cat] = [r for r in rows if r and r[0] == "logs"]
    assert cat[1] == "3"  # the empty file counts
    assert "MiB/s" in text and "metadata record" in text
    packed = tmp_path / "out" / "logs" / "a.log.cobl"
    p = run("--list", "-v", packed)
    assert p.returncode == 0
    [meta] = [ln for ln in p.stdout.decode().splitlines() if "metadata record" in ln]
    info = cobol.frame_info(packed)
    assert info.metadata_blocks == 1 and f"{info.metadata_bytes} bytes, tag SORC" in meta and "source" in meta
    p = run("decompress-dir", tmp_path / "out", "-o", tmp_path / "back", "-j", "1")
    assert p.returncode == 0, p.stderr
    for i, name in enumerate(["a.log", "b.log", "empty.log"]):
        back = tmp_path / "back" / "logs" / name
        assert back.read_bytes() == (src / "logs" / name).read_bytes()
        assert back.stat().st_mtime == 1_500_000_000 + i


def test_help_documents_units_and_differences(call):
    rc, out, _ = call("--help")
    text = out.decode()
    assert rc == 0 and "MiB" in text and "--rm" in text and "--ultra" in text and "-l, --list" in text
    for sub in ("compress-dir",):
        rc, out, _ = call(sub, "--help")
        assert "-l N, --level N" in out.decode() and "checksum of every block" in out.decode()


def test_progress_line_ticks_between_blocks(monkeypatch):
    import io
    import time
    monkeypatch.setattr(common.ProgressLine, "TICK", 0.01)
    buf = io.StringIO()
    line = common.ProgressLine(True, 10 << 20, "big.log", True, file=buf, interval=0.0)
    time.sleep(0.3)  # no block done yet: the clock still moves
    line.done_raw(1 << 20)
    line.done_stored(100 << 10)
    line.close()
    frames = [f for f in buf.getvalue().split("\r") if f.strip()]
    assert len(frames) >= 3 and frames[0].startswith("big.log: read 0 B / 10.0 MiB (0%), written 0 B")
    assert "ETA --" in frames[0] and frames[-1].startswith("big.log: read 1.00 MiB / 10.0 MiB (10%), written 100 KiB")
    assert "ratio 10.24" in frames[-1] and buf.getvalue().endswith("\r")  # erased at the end
    assert not common.ProgressLine(False, 1, "x", True, file=buf)._ticker  # disabled: no thread


def test_speeds_leave_out_the_one_time_warm_up(small, call, monkeypatch):
    warmed = []
    real = files._warm_up
    monkeypatch.setattr(files, "_warm_up", lambda engine, names: (warmed.append(list(names)), real(engine, names)))
    rc, _, err = call("-vv", "-k", "-f", small)
    assert rc == 0 and warmed == [[str(small)]]
    assert err.startswith("cobol: warm-up (modules, compiled kernels): ") and "not counted" in err
    rc, _, err = call("-v", "-k", "-f", small)
    assert rc == 0 and "warm-up" not in err and len(warmed) == 2
    assert call("-k", "-f", small)[0] == 0 and len(warmed) == 2  # no speeds shown: no warm-up

@pytest.mark.parametrize("data,hints", structured_samples(32 << 10))
def test_structured_samples_through_the_command(tmp_path, call, data, hints):
    src = tmp_path / "sample"
    src.write_bytes(data)
    dtype = ["--dtype", hints["dtype"]] if hints else []
    for level in ("-3", "-19"):
        rc, out, err = call("-c", level, *dtype, src)
        assert rc == 0, err
        assert cobol.decompress(out) == data
    rc, _, err = call("-k", *dtype, src)
    assert rc == 0, err
    rc, _, err = call("-t", tmp_path / "sample.cobl")
    assert rc == 0, err
    rc, out, err = call("-d", "-c", tmp_path / "sample.cobl")
    assert rc == 0 and out == data, err


def test_list_verbose_names_every_codec_in_a_fresh_process(tmp_path):
    # the listing does not load the engine; the codecs' names must come all the same
    from cobol.format.frame import DataBlock, iter_frame_records
    from cobol.registry import get_codec
    packed = tmp_path / "small.cobl"
    packed.write_bytes(cobol.compress((SAMPLES / "text" / "debian-policy.txt").read_bytes()[:20_000]))
    names = {get_codec(e.codec).name for _, rec in iter_frame_records(packed.read_bytes())
             if isinstance(rec, DataBlock) for e in rec.streams}
    assert "brotli" in names  # a codec only cobol.entropy registers
    p = run("--list", "-v", packed)
    assert p.returncode == 0, p.stderr
    text = p.stdout.decode()
    assert "codec#" not in text and all(n in text for n in names), (names, text)
