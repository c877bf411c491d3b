"""The ``cobol`` command, driven through a subprocess like a user would (plus a
few in-process checks of helpers and of the progress-bar path)."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

import cobol
from cobol.cli import common, files, main, subcommands

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
CSV = SAMPLES / "csv" / "vega-seattle-weather-hourly-normals.csv"
LOG = SAMPLES / "log" / "local-dpkg.log"


def run(*args, input=None, cwd=None, env=None, **kw):
    """Run ``cobol ARGS``; returns the CompletedProcess (bytes stdout/stderr)."""
    return subprocess.run([sys.executable, "-m", "cobol.cli", *map(str, args)], input=input, cwd=cwd,
                          capture_output=True, env=env, timeout=120, **kw)


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


def test_compress_then_decompress_restores_file_and_removes_inputs(data_file):
    original = data_file.read_bytes()
    os.utime(data_file, (1_600_000_000, 1_600_000_000))
    p = run(data_file)
    assert p.returncode == 0, p.stderr
    packed = data_file.with_name("weather.csv.cobl")
    assert packed.exists() and not data_file.exists()  # gzip's habit: the input goes
    assert cobol.decompress(packed.read_bytes()) == original
    assert packed.stat().st_mtime == 1_600_000_000  # times carried over, like gzip
    p = run("-d", packed)
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
    assert call("-d", "-f", packed)[0] == 0 and not packed.exists()
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
    # without -k, -o still removes the input once the output is complete
    assert call("-o", tmp_path / "y.cobl", data_file)[0] == 0 and not data_file.exists()


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
    rc, out, err = call("-c", "--checksum", "crc32", "--block-size", "16K", "-l", "1", data_file)
    assert rc == 0, err
    info = cobol.frame_info(out)
    assert info.checksum == "crc32" and info.block_size == 16384 and info.blocks >= len(data) // 16384
    assert cobol.decompress(out) == data
    rc, out, _ = call("-c", "--plan", "zstd", "--format", "text", "--dtype", "i4", "-T", "1", data_file)
    assert rc == 0 and cobol.decompress(out) == data


@pytest.mark.parametrize("args, code", [
    (["-l", "30", "x"], common.EXIT_USAGE),
    (["-23", "x"], common.EXIT_USAGE),
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
    assert p.returncode == common.EXIT_CORRUPT and "truncated" in one_error_line(p)
    junk = tmp_path / "junk.cobl"
    junk.write_bytes(b"not a frame at all")
    p = run("--list", junk)
    assert p.returncode == common.EXIT_CORRUPT and "magic" in one_error_line(p)
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
    assert call("-t", packed) == (0, b"", "")  # quiet on success, like gzip -t
    rc, _, err = call("-t", "-v", packed)
    assert rc == 0 and "OK" in err
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


def test_expand_level_flags():
    assert files.expand_level_flags(["-19", "-k", "-o", "-5", "x", "--", "-3"]) == \
        ["--level=19", "-k", "-o", "-5", "x", "--", "-3"]
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


def test_fast_decode_keeps_ppmd_out_of_level_19_frames(tmp_path, call):
    from cobol.entropy import PPMD
    from cobol.format.frame import DataBlock, iter_frame_records
    text = (SAMPLES / "text").glob("*")
    src = tmp_path / "prose.txt"
    src.write_bytes(b"".join(p.read_bytes() for p in sorted(text))[:200_000])

    def codecs(*flags):
        out = tmp_path / "prose.txt.cobl"
        rc, _, err = call("-19", "-k", "-f", *flags, src)
        assert rc == 0, err
        blob = out.read_bytes()
        assert cobol.decompress(blob) == src.read_bytes()
        return {e.codec for _, r in iter_frame_records(blob) if isinstance(r, DataBlock) for e in r.streams}
    assert PPMD in codecs()
    assert PPMD not in codecs("--fast-decode")
