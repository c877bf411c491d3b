"""Streaming benchmark: `cobol send` to `cobol serve` over loopback next to `cobol -c`, on the same files.

Usage: PYTHONPATH=src .venv/bin/python bench/bench_stream.py [FILE ...] [--level 3] [--target-mb 100]
                                                              [--interactive] [--json]
Without files: a JSON-lines file, a CSV and a log made of the dev corpus's files of each category
($COBOL_CORPUS, default ../corpus or /work/corpus), each taken once (--target-mb repeats them up to
that size; repeated data flatters whatever sees more of it at once), in a temporary folder.

Per file, in one run (wall clock; the commands are separate processes, as a user runs them):
  file MB/s, ratio     `cobol -c -LEVEL FILE > out.cobl` (all cores, as the CLI defaults)
  send MB/s, ratio     `cobol send -LEVEL FILE 127.0.0.1:PORT` to a `cobol serve` started before
                       (ratio: raw bytes / compressed block bytes on the wire)
  send/file            send MB/s as a share of the file path's
  p50, p99             block latency: from the moment the sender cut a block to its delivery at the receiver
  send RSS, serve RSS  peak resident memory of each process (MB), and the receiver's bound per connection
--interactive also runs a writer that prints one line every 10 ms into `cobol send -` for 3 s and reports
the delay from a line's write to its appearance in the receiver's output file (p50 / p99 / max).
The machine may be shared: compare the columns of one run only.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

#: runs the CLI and prints the process's peak RSS on exit (ru_maxrss is KiB on Linux)
_WRAPPER = ("import atexit, resource, sys; "
            "atexit.register(lambda: print('PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
            "file=sys.stderr, flush=True)); "
            "from cobol.cli import main; sys.exit(main(sys.argv[1:]))")


def _cli(*args) -> list:
    return [sys.executable, "-c", _WRAPPER, *map(str, args)]


def _peak_mb(stderr: str) -> float | None:
    m = re.findall(r"PEAK_RSS_KB (\d+)", stderr)
    return int(m[-1]) / 1024 if m else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _corpus() -> str:
    for d in (os.environ.get("COBOL_CORPUS"), os.path.join(os.path.dirname(__file__), "..", "..", "corpus"),
              "/work/corpus"):
        if d and os.path.isdir(d):
            return d
    raise SystemExit("no dev corpus: set COBOL_CORPUS or give files")


def make_inputs(folder: str, target_mb: float) -> list:
    corpus = _corpus()
    picks = {"jsonl": sorted(glob.glob(os.path.join(corpus, "jsonl", "*"))),
             "csv": sorted(glob.glob(os.path.join(corpus, "csv", "*"))),
             "log": sorted(glob.glob(os.path.join(corpus, "log", "*")))}
    out = []
    for kind, files in picks.items():
        src = b"".join(open(p, "rb").read() for p in files)
        if not src:
            continue
        path = os.path.join(folder, f"corpus.{kind}")
        with open(path, "wb") as f:  # repeated only up to --target-mb (repeats flatter long-range matching)
            n = 0
            while n < max(target_mb * 1e6, 1):
                f.write(src)
                n += len(src)
        out.append(path)
    return out


class Server:
    def __init__(self, out_dir: str, level: int):
        self.port = _free_port()
        self.proc = subprocess.Popen(_cli("serve", "--listen", f"127.0.0.1:{self.port}", "--out", out_dir, "-v"),
                                     stderr=subprocess.PIPE, text=True)
        self.lines = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("cobol serve did not start: " + "".join(self.lines))

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append(line)

    def received(self, name: str):
        for line in reversed(self.lines):
            if f"received {name} " in line:
                m = re.search(r"p50 ([\d.]+) ms p99 ([\d.]+) ms", line)
                return (float(m.group(1)), float(m.group(2))) if m else (None, None)
        return None, None

    def stop(self) -> float | None:
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(60)
        self._reader.join(5)
        return _peak_mb("".join(self.lines))


def file_path(path: str, level: int, tmp: str) -> tuple:
    out = os.path.join(tmp, "file.cobl")
    with open(out, "wb") as f:
        t = time.perf_counter()
        p = subprocess.run(_cli(f"-{level}", "-c", path), stdout=f, stderr=subprocess.PIPE, text=True, check=True)
        dt = time.perf_counter() - t
    return os.path.getsize(path) / dt / 1e6, os.path.getsize(path) / os.path.getsize(out), _peak_mb(p.stderr)


def send(path: str, level: int, server: Server) -> tuple:
    t = time.perf_counter()
    p = subprocess.run(_cli("send", f"--level={level}", "--json", "--no-resume", path, f"127.0.0.1:{server.port}"),
                       capture_output=True, text=True)
    dt = time.perf_counter() - t
    if p.returncode:
        raise RuntimeError(f"cobol send failed ({p.returncode}): {p.stderr[-2000:]}")
    res = json.loads(p.stdout)[0]
    time.sleep(0.2)  # the server logs the transfer right after its DONE
    return (os.path.getsize(path) / dt / 1e6, res["stats"]["ratio"], _peak_mb(p.stderr), res["stored_name"])


def interactive(server: Server, out_dir: str, seconds: float = 3.0, every: float = 0.01) -> tuple:
    """A writer prints a line every 10 ms into `cobol send -`; how long until each line is in the
    receiver's output? Counted for the lines written once the transfer is running (the sender's
    start-up, ~1 s, is not what this measures)."""
    proc = subprocess.Popen(_cli("send", "-", f"127.0.0.1:{server.port}", "-q"), stdin=subprocess.PIPE)
    written = {}
    delays = []
    part = None
    started = None
    seen = 0
    i = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (started is None or time.monotonic() < started + seconds):
        proc.stdin.write(b"%08d %s\n" % (i, b"x" * 60))
        proc.stdin.flush()
        written[i] = time.monotonic()
        i += 1
        time.sleep(every)
        if part is None:
            parts = glob.glob(os.path.join(out_dir, ".*", "*.part"))  # TransferStore's partial outputs
            part = parts[0] if parts else None
            continue
        with open(part, "rb") as f:
            f.seek(seen)
            data = f.read()
        now = time.monotonic()
        if started is None and data:
            started = now
        end = data.rfind(b"\n") + 1
        for ln in data[:end].splitlines():
            k = int(ln.split()[0])
            if started is not None and written[k] >= started:
                delays.append(now - written[k])
        seen += end
    proc.stdin.close()
    proc.wait(60)
    if not delays:
        return None, None, None, len(delays)
    delays.sort()
    return (delays[len(delays) // 2] * 1e3, delays[int(len(delays) * 0.99)] * 1e3, delays[-1] * 1e3, len(delays))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*")
    ap.add_argument("--level", type=int, default=3)
    ap.add_argument("--target-mb", type=float, default=0,
                    help="repeat each category's corpus files up to this size (default: each once)")
    ap.add_argument("--interactive", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="cobol-bench-stream-")
    rows = []
    try:
        files = args.files or make_inputs(tmp, args.target_mb)
        out_dir = os.path.join(tmp, "received")
        os.makedirs(out_dir)
        server = Server(out_dir, args.level)
        try:
            for path in files:
                f_mbs, f_ratio, f_rss = file_path(path, args.level, tmp)
                s_mbs, s_ratio, s_rss, stored = send(path, args.level, server)
                with open(path, "rb") as a, open(os.path.join(out_dir, stored), "rb") as b:
                    same = a.read() == b.read()
                p50, p99 = server.received(os.path.basename(path))
                rows.append(dict(file=os.path.basename(path), mb=os.path.getsize(path) / 1e6, file_mb_s=f_mbs,
                                 file_ratio=f_ratio, send_mb_s=s_mbs, send_ratio=s_ratio, send_share=s_mbs / f_mbs,
                                 ratio_share=s_ratio / f_ratio, p50_ms=p50, p99_ms=p99, send_rss_mb=s_rss,
                                 identical=same))
                os.remove(os.path.join(out_dir, stored))
            inter = interactive(server, out_dir) if args.interactive else None
        finally:
            serve_rss = server.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    from cobol.stream import StreamingConfig
    bound = StreamingConfig().receiver_memory_bound() / 2**20
    if args.json:
        print(json.dumps(dict(level=args.level, rows=rows, serve_rss_mb=serve_rss, receiver_bound_mib=bound,
                              interactive=inter), indent=2))
        return 0 if all(r["identical"] for r in rows) else 5
    print(f"level {args.level}, {os.cpu_count()} cpus; MB = 10^6 bytes, wall clock, separate processes")
    print(f"{'file':<10} {'MB':>6} {'file MB/s':>9} {'ratio':>7} {'send MB/s':>9} {'ratio':>7} {'send/file':>9} "
          f"{'ratio/file':>10} {'p50 ms':>7} {'p99 ms':>7} {'send RSS':>8} {'ok':>3}")
    for r in rows:
        def ms(x):
            return "-" if x is None else f"{x:.0f}"
        print(f"{r['file']:<10} {r['mb']:>6.1f} {r['file_mb_s']:>9.1f} {r['file_ratio']:>7.2f} {r['send_mb_s']:>9.1f} "
              f"{r['send_ratio']:>7.2f} {r['send_share']:>8.0%} {r['ratio_share']:>9.1%} {ms(r['p50_ms']):>7} "
              f"{ms(r['p99_ms']):>7} {r['send_rss_mb'] or 0:>7.0f}M {'yes' if r['identical'] else 'NO':>3}")
    print(f"cobol serve peak RSS {serve_rss or 0:.0f} MB (receiver bound per connection: {bound:.0f} MiB + the process)")
    if inter is not None:
        p50, p99, worst, n = inter
        print(f"interactive: {n} lines timed, one written every 10 ms into `cobol send -`: line to receiver's output "
              f"p50 {p50 and round(p50)} ms, p99 {p99 and round(p99)} ms, max {worst and round(worst)} ms")
    return 0 if all(r["identical"] for r in rows) else 5


if __name__ == "__main__":
    sys.exit(main())
