"""The ``cobol`` command on hostile inputs (issue 19): FIFOs, devices and
sockets are refused before they are opened (exit 4, at once, never a hang);
a decompression bomb and an allocation failure are corrupt input (exit 2)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import cobol as cobol_pkg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_hostile_bombs import bomb_frame  # noqa: E402


SRC = str(Path(cobol_pkg.__file__).resolve().parents[1])
#: the child imports this checkout's cobol whatever its working directory
ENV = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))


def run(*args, cwd=None, preexec_fn=None, timeout=60):
    return subprocess.run([sys.executable, "-m", "cobol.cli", *map(str, args)], cwd=cwd, capture_output=True,
                          timeout=timeout, preexec_fn=preexec_fn, stdin=subprocess.DEVNULL, env=ENV)


@pytest.mark.parametrize("name, args", [
    ("p", ["-k"]), ("p", ["-c"]), ("p", ["-f", "-k"]), ("p.cobl", ["-d"]), ("p.cobl", ["-t"]),
    ("p.cobl", ["-d", "-c"]), ("p.cobl", ["--list"]),
])
def test_a_fifo_is_refused_without_opening_it(tmp_path, name, args):
    os.mkfifo(tmp_path / name)
    t0 = time.monotonic()
    p = run(*args, name, cwd=tmp_path, timeout=60)  # a hang would block in open() forever
    took = time.monotonic() - t0
    assert p.returncode == 4, (p.returncode, p.stderr)
    assert b"not a regular file" in p.stderr
    assert b"Traceback" not in p.stderr
    print(f"{args} {name}: exit 4 in {took:.2f} s")


def test_a_device_and_a_socket_are_refused(tmp_path):
    p = run("-c", "/dev/zero", cwd=tmp_path)
    assert p.returncode == 4 and b"not a regular file" in p.stderr
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(tmp_path / "sock.cobl"))
    try:
        p = run("-t", "sock.cobl", cwd=tmp_path)
        assert p.returncode == 4 and b"not a regular file" in p.stderr
    finally:
        s.close()


def test_standard_input_may_be_a_pipe(tmp_path):
    import cobol
    blob = cobol.compress(b"hello " * 100)
    p = subprocess.run([sys.executable, "-m", "cobol.cli", "-d", "-c"], input=blob, capture_output=True, timeout=60,
                       env=ENV)
    assert p.returncode == 0 and p.stdout == b"hello " * 100


def _limit_address_space():
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))


@pytest.mark.parametrize("args", [["-t"], ["-d", "-c"], ["-d", "-k"]])
def test_a_stream_table_bomb_is_corrupt_input(tmp_path, args):
    (tmp_path / "bomb.cobl").write_bytes(bomb_frame(400))
    p = run(*args, "bomb.cobl", cwd=tmp_path, preexec_fn=_limit_address_space)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert b"internal error" not in p.stderr and b"Traceback" not in p.stderr


def test_memory_error_is_exit_2(tmp_path, monkeypatch, capsys):
    import cobol
    from cobol import cli
    from cobol.engine import CobolEngine
    (tmp_path / "x.cobl").write_bytes(cobol.compress(b"abc" * 1000))

    def boom(*a, **k):
        raise MemoryError()
    monkeypatch.setattr(CobolEngine, "_decompress_stream", boom)
    assert cli.main(["-t", str(tmp_path / "x.cobl")]) == 2
    assert "out of memory" in capsys.readouterr().err
