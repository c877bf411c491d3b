"""Streaming benchmark: the sans-IO core in memory, and the TCP protocol over loopback.

Usage: PYTHONPATH=src .venv/bin/python bench/bench_stream.py [FILE] [--plans store:0,zstd:1,auto:3] [--repeat 2]
(default file: the dev corpus files concatenated, capped at --max-mb MB).

Columns:
  plan      engine plan:level for every 64 KiB block
  ratio     raw / compressed record bytes
  core      StreamCompressor -> StreamDecompressor in memory, one thread, MB/s of input
  proto     SenderEndpoint -> ReceiverEndpoint in memory (framing, credit, acks, checkpoints
            into a TransferStore on disk, fsync off), MB/s
  tcp       send_stream -> StreamServer over 127.0.0.1 in one process (both ends share the
            GIL and the cores), fsync on, MB/s, wall clock
Best of --repeat runs. The machine may be shared: compare rows of one run only.
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import io
import os
import sys
import tempfile
import time

from cobol.stream import StreamCompressor, StreamDecompressor, StreamingConfig
from cobol.stream.checkpoint import TransferStore
from cobol.stream.receiver import ReceiverEndpoint
from cobol.stream.sender import OutgoingTransfer, SenderEndpoint
from cobol.stream.tcp import StreamServer, send_stream


def core(data: bytes, cfg: StreamingConfig) -> tuple[float, float]:
    t = time.perf_counter()
    c = StreamCompressor(cfg)
    d = StreamDecompressor(cfg)
    out = []
    comp = 0
    for i in range(0, len(data), 1 << 20):
        for b in c.feed(data[i:i + (1 << 20)]):
            comp += len(b.record)
            out.append(d.feed_block(b))
    for b in c.flush():
        comp += len(b.record)
        out.append(d.feed_block(b))
    dt = time.perf_counter() - t
    assert b"".join(out) == data
    return len(data) / dt / 1e6, len(data) / max(comp, 1)


def proto(data: bytes, cfg: StreamingConfig) -> float:
    with tempfile.TemporaryDirectory() as d:
        store = TransferStore(d, fsync=False)
        s = SenderEndpoint(OutgoingTransfer(io.BytesIO(data), cfg, name="x", size=len(data)))
        r = ReceiverEndpoint(store, cfg)
        t = time.perf_counter()
        s.connection_made()
        while not s.done:
            out = s.data_to_send()
            if out and r.receive_data(out) is not None:
                r.open_transfer()
            back = r.data_to_send()
            if back:
                s.receive_data(back)
            if s.wants_pump:
                s.pump()
        dt = time.perf_counter() - t
        with open(os.path.join(d, s.result.stored_name), "rb") as f:
            assert f.read() == data
    return len(data) / dt / 1e6


def tcp(data: bytes, cfg: StreamingConfig) -> float:
    async def main():
        with tempfile.TemporaryDirectory() as d:
            srv = StreamServer(d, cfg, port=0)
            await srv.start()
            try:
                t = time.perf_counter()
                res = await send_stream(io.BytesIO(data), "127.0.0.1", srv.port, cfg, name="x")
                dt = time.perf_counter() - t
            finally:
                await srv.close()
            with open(os.path.join(d, res.stored_name), "rb") as f:
                assert f.read() == data
            return len(data) / dt / 1e6
    return asyncio.run(main())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", nargs="?")
    ap.add_argument("--plans", default="store:0,zstd:1,zstd:3,auto:3")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--max-mb", type=float, default=32)
    args = ap.parse_args(argv)
    if args.file:
        with open(args.file, "rb") as f:
            data = f.read()
    else:
        data = b"".join(open(p, "rb").read() for p in sorted(glob.glob("/work/corpus/*/*")) if os.path.isfile(p))
    data = data[:int(args.max_mb * 1e6)]
    print(f"{len(data) / 1e6:.1f} MB, {os.cpu_count()} cpus, python {sys.version.split()[0]}")
    print(f"{'plan':<10} {'ratio':>7} {'core':>8} {'proto':>8} {'tcp':>8}   (MB/s)")
    for spec in args.plans.split(","):
        plan, level = spec.split(":")
        cfg = StreamingConfig(plan=plan, level=int(level), fsync=False)
        best = [0.0, 0.0, 0.0]
        ratio = 0.0
        for _ in range(args.repeat):
            c, ratio = core(data, cfg)
            best[0] = max(best[0], c)
            best[1] = max(best[1], proto(data, cfg))
            best[2] = max(best[2], tcp(data, cfg.replace(fsync=True)))
        print(f"{spec:<10} {ratio:>7.2f} {best[0]:>8.1f} {best[1]:>8.1f} {best[2]:>8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
