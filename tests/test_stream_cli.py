"""`cobol serve` (a process) and `cobol send` on loopback: exit codes, a token
file, many files, and a receiver killed with SIGKILL and restarted while a
sender streams from a pipe. Every wait is bounded."""

import hashlib
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

import cobol

LOCAL = "127.0.0.1"
ENV = {**os.environ, "PYTHONPATH": os.path.join(os.path.dirname(__file__), "..", "src")}
CLI = [sys.executable, "-m", "cobol.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOCAL, 0))
        return s.getsockname()[1]


def wait_listening(port: int, proc, timeout=30.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stderr.read().decode(errors='replace')}")
        try:
            socket.create_connection((LOCAL, port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("server did not start listening")


def start_server(out, port, *extra, warmup=False, timeout=30.0):
    # without the warm-up by default: on a fresh machine it compiles every decoder
    # before the server listens, which these tests (about the protocol) need not wait for
    proc = subprocess.Popen([*CLI, "serve", "--listen", f"{LOCAL}:{port}", "--out", str(out), *extra,
                             *(() if warmup else ("--no-warmup",))],
                            env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_listening(port, proc, timeout)
    return proc


def stop(proc) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def send(capsys, *args) -> tuple:
    """Run `cobol send` in this process (no interpreter start-up): (exit code, stdout, stderr)."""
    from cobol.cli import main
    capsys.readouterr()
    code = main(["send", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def sample(n, seed) -> bytes:
    rnd = random.Random(seed)
    return b"".join(b"%d\t%s\t%f\n" % (i, bytes(rnd.choices(b"ACGT", k=20)), rnd.random()) for i in range(n // 30))[:n]


@pytest.fixture
def token_file(tmp_path):
    p = tmp_path / "token"
    p.write_bytes(os.urandom(16).hex().encode() + b"\n")
    return p


def test_serve_and_send_files_with_exit_codes(tmp_path, token_file, capsys):
    out = tmp_path / "out"
    files = []
    for i in range(3):
        f = tmp_path / f"f{i}.tsv"
        f.write_bytes(sample(150_000 + i, seed=i))
        files.append(f)
    wrong = tmp_path / "wrong"
    wrong.write_bytes(b"not-the-right-token")
    port = free_port()
    dest = f"{LOCAL}:{port}"
    srv = start_server(out, port, "--token-file", token_file)
    try:
        code, stdout, err = send(capsys, *files, dest, "--token-file", token_file, "-j", "2", "--json")
        assert code == 0, err
        for f in files:
            assert hashlib.sha256((out / f.name).read_bytes()).digest() == hashlib.sha256(f.read_bytes()).digest()
        assert stdout.count('"ok": true') == 3
        code, _, err = send(capsys, files[0], dest, "--token-file", wrong)
        assert code == 4 and "authentication" in err
        code, _, err = send(capsys, files[0], dest)  # no token at all
        assert code == 4 and "requires a token" in err
        code, _, err = send(capsys, tmp_path / "missing", files[1], dest, "--token-file", token_file)
        assert code == 3 and "missing" in err  # and the other file still went:
        assert "had received it already" in err  # the same file again: the receiver has it
        code, _, err = send(capsys, files[0], f"{LOCAL}:{free_port()}", "--retries", "0")
        assert code == 3 and "giving up" in err
        code, _, err = send(capsys, files[0])
        assert code == 1
    finally:
        stop(srv)
    assert srv.returncode == 0
    assert b"closing connection" in srv.stderr.read()  # the wrong token was logged


def test_receiver_killed_and_restarted_while_sending_from_a_pipe(tmp_path):
    out = tmp_path / "out"
    data = sample(1_500_000, seed=3)
    port = free_port()
    srv = start_server(out, port, "--store", "cobl", "-T", "2")
    sender = subprocess.Popen([*CLI, "send", "-", f"{LOCAL}:{port}", "--retries", "60", "--block-size", "16K",
                               "--plan", "zstd"], env=ENV, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    fed = threading.Event()

    def feed():
        try:
            for i in range(0, len(data), 32768):
                sender.stdin.write(data[i:i + 32768])
                sender.stdin.flush()
                if i >= len(data) // 3:
                    fed.set()
                time.sleep(0.003)
            sender.stdin.close()
        except (BrokenPipeError, ValueError):
            pass

    t = threading.Thread(target=feed, daemon=True)
    t.start()
    try:
        assert fed.wait(30)
        partial = out / ".cobol-partial"
        end = time.monotonic() + 120  # a generous bound, not a speed
        while not any(p.suffix == ".ckpt" for p in partial.iterdir()):
            assert time.monotonic() < end, "no checkpoint appeared"
            time.sleep(0.01)
        srv.kill()  # SIGKILL: no goodbye, no final checkpoint
        srv.wait(10)
        srv = start_server(out, port, "--store", "cobl")
        t.join(60)  # all of the input went in (communicate would close stdin early)
        assert not t.is_alive()
        sender.wait(60)
        err = sender.stderr.read()
        assert sender.returncode == 0, err
        # the .cobl file was cut back to the checkpoint and continued: still one valid frame
        got = cobol.decompress((out / "stdin.cobl").read_bytes())
        assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
        assert b"connection(s)" in err and b" 1 connection(s)" not in err
    finally:
        if sender.poll() is None:
            sender.kill()
            sender.wait(5)
        stop(srv)
        t.join(5)


def test_serve_loads_the_decoders_before_it_listens(tmp_path, capsys):
    port = free_port()
    proc = start_server(tmp_path / "in", port, "-v", warmup=True, timeout=600.0)
    try:
        data = sample(300_000, 5)
        src = tmp_path / "a.bin"
        src.write_bytes(data)
        rc, _, err = send(capsys, str(src), f"{LOCAL}:{port}")
        assert rc == 0, err
        assert (tmp_path / "in" / "a.bin").read_bytes() == data
    finally:
        stop(proc)
    log = proc.stderr.read().decode(errors="replace")
    assert "decoders loaded in" in log and log.index("decoders loaded in") < log.index("listening on")
