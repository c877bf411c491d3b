"""Streaming benchmark: `cobol send` to `cobol serve` over loopback next to `cobol -c`, on the same files.

Usage: PYTHONPATH=src .venv/bin/python bench/bench_stream.py [FILE ...] [--level 3] [--target-mb 100]
                                                              [--interactive] [--json]
Without files: a JSON-lines file, a CSV and a log made of the dev corpus's files of each category
($COBOL_CORPUS, default ../corpus or /work/corpus), each taken once (--target-mb repeats them up to
that size; repeated data flatters whatever sees more of it at once), in a temporary folder.

Per file, in one run (wall clock; the commands are separate processes, as a user runs them):
  file MB/s, ratio     `cobol -c -LEVEL FILE > out.cobl` (all cores, as the CLI defaults)
  send MB/s, ratio     `cobol send -LEVEL FILE 127.0.0.1:PORT` to a `cobol serve` started for this file
                       (ratio: raw bytes / compressed block bytes on the wire)
  send/file            send MB/s as a share of the file path's (and the ratio's share)
  CPU s                CPU seconds (user + system) of `cobol -c`, of `cobol send` and of `cobol serve`
                       (from getrusage of the finished child processes): on a shared machine the wall-clock
                       columns move with the other load, the CPU columns much less
  warm                 (JSON: serve_warm_cpu_s, send_warm_mb_s) the server's CPU seconds for a second transfer of the same file to the same server
                       (/proc/PID/stat before and after; not counted in `serve`): a running server has its
                       decode stack loaded, while `serve` counts the process's start-up and the first load
                       of the decoding kernels too
  p50, p99             block latency: from the moment the sender cut a block to its delivery at the receiver
  send RSS, serve RSS  peak resident memory of each process (MB), next to the bounds of StreamingConfig
  held                 the most blocks the receiver held received but not yet written (at most the window)
  stalls               times the sender ran out of credit (it then waits for the receiver; it does not
                       encode ahead of its credit)
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
import resource
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


def _children_cpu() -> float:
    """CPU seconds of the finished (waited-for) child processes so far."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


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
    def __init__(self, out_dir: str, level: int, extra=()):
        self.port = _free_port()
        self.proc = subprocess.Popen(_cli("serve", "--listen", f"127.0.0.1:{self.port}", "--out", out_dir, "-v",
                                          *extra), stderr=subprocess.PIPE, text=True)
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
        """Block latency p50 and p99 (ms) and the most blocks held undelivered, from the server's log."""
        for line in reversed(self.lines):
            if f"received {name} " in line:
                m = re.search(r"p50 ([\d.]+) ms p99 ([\d.]+) ms", line)
                h = re.search(r"held at most (\d+) blocks", line)
                return (float(m.group(1)) if m else None, float(m.group(2)) if m else None,
                        int(h.group(1)) if h else None)
        return None, None, None

    def cpu(self) -> float:
        """CPU seconds the running server has used so far (Linux /proc; 0 elsewhere)."""
        try:
            with open(f"/proc/{self.proc.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return 0.0

    def stop(self) -> tuple:
        """Stop the server; its peak RSS (MB) and CPU seconds."""
        cpu0 = _children_cpu()
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(60)
        cpu = _children_cpu() - cpu0
        self._reader.join(5)
        return _peak_mb("".join(self.lines)), cpu


def file_path(path: str, level: int, tmp: str) -> tuple:
    out = os.path.join(tmp, "file.cobl")
    with open(out, "wb") as f:
        t, cpu0 = time.perf_counter(), _children_cpu()
        p = subprocess.run(_cli(f"-{level}", "-c", path), stdout=f, stderr=subprocess.PIPE, text=True, check=True)
        dt, cpu = time.perf_counter() - t, _children_cpu() - cpu0
    return (os.path.getsize(path) / dt / 1e6, os.path.getsize(path) / os.path.getsize(out), _peak_mb(p.stderr),
            cpu)


def send(path: str, level: int, server: Server, extra=()) -> tuple:
    t, cpu0 = time.perf_counter(), _children_cpu()
    p = subprocess.run(_cli("send", f"--level={level}", "--json", "--no-resume", *extra, path,
                            f"127.0.0.1:{server.port}"), capture_output=True, text=True)
    dt, cpu = time.perf_counter() - t, _children_cpu() - cpu0
    if p.returncode:
        raise RuntimeError(f"cobol send failed ({p.returncode}): {p.stderr[-2000:]}")
    res = json.loads(p.stdout)[0]
    time.sleep(0.2)  # the server logs the transfer right after its DONE
    return (os.path.getsize(path) / dt / 1e6, res["stats"]["ratio"], _peak_mb(p.stderr), res["stored_name"], cpu,
            res["stats"].get("credit_stalls"))



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
    ap.add_argument("--block-size", help="the sender's block size (cobol send --block-size; default 8M)")
    ap.add_argument("--window", type=int, help="the receiver's window in blocks, at most (cobol serve --window; "
                                               "default 16)")
    ap.add_argument("--window-bytes", help="the receiver's window in bytes (cobol serve --window-bytes; default 32M)")
    ap.add_argument("--max-block-size", help="the receiver's block size limit (cobol serve --max-block-size)")
    ap.add_argument("--serve-threads", type=int, help="the receiver's decode threads (cobol serve -T; default: cores)")
    args = ap.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="cobol-bench-stream-")
    rows = []
    try:
        files = args.files or make_inputs(tmp, args.target_mb)
        out_dir = os.path.join(tmp, "received")
        os.makedirs(out_dir)
        serve_args = ([f"--window={args.window}"] if args.window else []) + (
            [f"--threads={args.serve_threads}"] if args.serve_threads else []) + (
            [f"--window-bytes={args.window_bytes}"] if args.window_bytes else []) + (
            [f"--max-block-size={args.max_block_size}"] if args.max_block_size else [])
        send_args = [f"--block-size={args.block_size}"] if args.block_size else []
        idle_rss, _ = Server(out_dir, args.level, serve_args).stop()  # the process alone: the constant in the bound
        for path in files:
            f_mbs, f_ratio, f_rss, f_cpu = file_path(path, args.level, tmp)
            server = Server(out_dir, args.level, serve_args)  # one per file: its RSS and CPU are this transfer's
            try:
                s_mbs, s_ratio, s_rss, stored, s_cpu, stalls = send(path, args.level, server, send_args)
                p50, p99, held = server.received(os.path.basename(path))
                cpu_before_again = server.cpu()
                again = send(path, args.level, server, send_args)  # the same file to the warm server
                warm_cpu = server.cpu() - cpu_before_again
                os.remove(os.path.join(out_dir, again[3]))
            finally:
                r_rss, r_cpu = server.stop()
            r_cpu -= warm_cpu
            with open(path, "rb") as a, open(os.path.join(out_dir, stored), "rb") as b:
                same = a.read() == b.read()
            rows.append(dict(file=os.path.basename(path), mb=os.path.getsize(path) / 1e6, file_mb_s=f_mbs,
                             file_ratio=f_ratio, file_cpu_s=f_cpu, file_rss_mb=f_rss, send_mb_s=s_mbs,
                             send_ratio=s_ratio, send_share=s_mbs / f_mbs, ratio_share=s_ratio / f_ratio,
                             send_cpu_s=s_cpu, serve_cpu_s=r_cpu, serve_warm_cpu_s=warm_cpu, credit_stalls=stalls,
                             send_warm_mb_s=again[0], send_warm_share=again[0] / f_mbs, send_warm_cpu_s=again[4],
                             p50_ms=p50, p99_ms=p99, held_blocks=held,
                             send_rss_mb=s_rss, serve_rss_mb=r_rss, identical=same))
            os.remove(os.path.join(out_dir, stored))
        inter = None
        if args.interactive:
            server = Server(out_dir, args.level)
            try:
                inter = interactive(server, out_dir)
            finally:
                server.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    from cobol.engine import default_threads
    from cobol.stream import StreamingConfig
    from cobol.cli.common import parse_size
    kw = dict(threads=args.serve_threads or default_threads(), window=args.window or StreamingConfig.window)
    if args.window_bytes:
        kw["window_bytes"] = parse_size(args.window_bytes)
    if args.block_size:
        kw["block_size"] = parse_size(args.block_size)
        kw["max_block_size"] = max(kw["block_size"], StreamingConfig.max_block_size)
    cfg = StreamingConfig(**kw)
    bounds = dict(receiver_per_connection_mib=cfg.receiver_memory_bound() / 2**20,
                  receiver_decoding_mib=cfg.threads * cfg.receiver_decode_bound() / 2**20,
                  sender_mib=cfg.sender_memory_bound() / 2**20)
    if args.json:
        print(json.dumps(dict(level=args.level, window=cfg.window_for(), block_size=cfg.block_size, rows=rows, bounds=bounds, idle_serve_rss_mb=idle_rss,
                              interactive=inter), indent=2))
        return 0 if all(r["identical"] for r in rows) else 5
    print(f"level {args.level}, {os.cpu_count()} cpus; MB = 10^6 bytes, wall clock, separate processes")
    print(f"{'file':<10} {'MB':>6} {'file MB/s':>9} {'ratio':>7} {'send MB/s':>9} {'ratio':>7} {'send/file':>9} "
          f"{'ratio/file':>10} {'CPU s file':>10} {'send':>6} {'serve':>6} {'warm':>5} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'RSS send':>8} {'serve':>6} {'held':>4} {'stalls':>6} {'ok':>3}")
    for r in rows:
        def ms(x):
            return "-" if x is None else f"{x:.0f}"
        print(f"{r['file']:<10} {r['mb']:>6.1f} {r['file_mb_s']:>9.1f} {r['file_ratio']:>7.2f} {r['send_mb_s']:>9.1f} "
              f"{r['send_ratio']:>7.2f} {r['send_share']:>8.0%} {r['ratio_share']:>9.1%} {r['file_cpu_s']:>10.1f} "
              f"{r['send_cpu_s']:>6.1f} {r['serve_cpu_s']:>6.1f} {r['serve_warm_cpu_s']:>5.1f} {ms(r['p50_ms']):>7} "
              f"{ms(r['p99_ms']):>7} {r['send_rss_mb'] or 0:>7.0f}M {r['serve_rss_mb'] or 0:>5.0f}M "
              f"{r['held_blocks'] or 0:>4} {r['credit_stalls'] if r['credit_stalls'] is not None else '-':>6} "
              f"{'yes' if r['identical'] else 'NO':>3}")
    print(f"cobol serve without a transfer: peak RSS {idle_rss or 0:.0f} MB")
    print(f"bounds ({cfg.block_size >> 20} MiB blocks, window {cfg.window_for()} blocks, {cfg.threads} threads): receiver {bounds['receiver_per_connection_mib']:.0f} "
          f"MiB per connection + decoding at most {bounds['receiver_decoding_mib']:.0f} MiB (threads x the largest "
          f"transform's bound); sender {bounds['sender_mib']:.0f} MiB of retained blocks; each + the process")
    if inter is not None:
        p50, p99, worst, n = inter
        print(f"interactive: {n} lines timed, one written every 10 ms into `cobol send -`: line to receiver's output "
              f"p50 {p50 and round(p50)} ms, p99 {p99 and round(p99)} ms, max {worst and round(worst)} ms")
    return 0 if all(r["identical"] for r in rows) else 5


if __name__ == "__main__":
    sys.exit(main())
