"""The driver: runs cases in child processes, watches them, gathers a report."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .common import MiB, ROOT
from .child import run_case
from .targets import all_targets


@dataclass
class Report:
    failures: list = field(default_factory=list)  # crash, hang, fail, setup
    nets: list = field(default_factory=list)
    slow: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    restarts: int = 0

    def add(self, r: dict):
        k = r.get("kind")
        if k == "net":
            self.nets.append(r)
        elif k == "slow":
            self.slow.append(r)
        elif k == "ok":
            self.notes.append(r)
        else:
            self.failures.append(r)

    def merge_stats(self, st: dict):
        for t, s in st.items():
            d = self.stats.setdefault(t, {"cases": 0, "inputs": s["inputs"], "seconds": 0.0, "max_seconds": 0.0,
                                          "max_case": ""})
            d["cases"] += s["cases"]
            d["inputs"] = max(d["inputs"], s["inputs"])
            d["seconds"] += s["seconds"]
            if s["max_seconds"] > d["max_seconds"]:
                d["max_seconds"], d["max_case"] = s["max_seconds"], s["max_case"]
            for k, n in s.get("errors", {}).items():
                d.setdefault("errors", {})[k] = d.setdefault("errors", {}).get(k, 0) + n

    @staticmethod
    def signature(r: dict) -> str:
        where = (r.get("where") or ["?"])[-1]
        return f"{r['case'].split('|')[0]} {r['kind']} {r.get('exc', r.get('error', '')[:40])} @ {where}"

    def grouped(self, items):
        groups = {}
        for r in items:
            groups.setdefault(self.signature(r), []).append(r)
        return groups

    def text(self) -> str:
        lines = []
        total = sum(s["cases"] for s in self.stats.values())
        lines.append(f"{total} cases, {len(self.failures)} failures, {len(self.nets)} caught by a decoder's own net, "
                     f"{len(self.slow)} slow, {self.restarts} child restarts")
        for t, s in sorted(self.stats.items()):
            lines.append(f"  {t:16s} {s['inputs']:3d} inputs {s['cases']:8d} cases {s['seconds']:8.1f} s decoding, "
                         f"slowest {s['max_seconds']:.3f} s ({s['max_case']})")
        for t, s in sorted(self.stats.items()):
            if s.get("errors"):
                lines.append(f"\n{t}: what the decoder said (top 25 of {len(s['errors'])})")
                for k, n in sorted(s["errors"].items(), key=lambda kv: -kv[1])[:25]:
                    lines.append(f"  {n:8d}  {k}")
        for title, items in (("FAILURES", self.failures), ("NET (validate before use)", self.nets),
                             ("SLOW", self.slow), ("NOTES", self.notes)):
            if not items:
                continue
            lines.append(f"\n{title}:")
            for sig, rs in sorted(self.grouped(items).items(), key=lambda kv: -len(kv[1])):
                r = rs[0]
                lines.append(f"  [{len(rs)}x] {sig}")
                lines.append(f"      repro: --repro '{r['case']}'")
                lines.append(f"      {r.get('error', '')[:300]}")
                if r.get("mutations"):
                    lines.append(f"      mutations: {'; '.join(r['mutations'])[:400]}")
                if r.get("where"):
                    lines.append(f"      where: {' <- '.join(reversed(r['where']))}")
                if r.get("note"):
                    lines.append(f"      {r['note']}")
        return "\n".join(lines)


def _child_env(boundscheck: bool) -> dict:
    env = dict(os.environ)
    # src/ for cobol, tests/ for this package (children run ``python -m fuzz``)
    paths = os.pathsep.join([str(ROOT / "src"), str(ROOT / "tests")])
    env["PYTHONPATH"] = paths + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["PYTHONFAULTHANDLER"] = "1"
    env.setdefault("COBOL_BACKEND", "cpu")
    if boundscheck:
        env["NUMBA_BOUNDSCHECK"] = "1"
        # a separate cache: compiled-with-checks code must not replace the normal cache
        env["NUMBA_CACHE_DIR"] = str(Path(tempfile.gettempdir()) / "cobol-fuzz-numba-boundscheck")
    return env


def run_campaign(targets, cases: int, seed: int = 1, seconds: float | None = None, case_timeout: float = 20.0,
                 mem_budget: int = 2048 * MiB, sample_limit: int | None = None, boundscheck: bool = False,
                 slow: float = 2.0, max_inputs: int | None = None, startup_timeout: float = 900.0,
                 progress=None, tally: bool = False) -> Report:
    """Run ``cases`` rounds (one mutation of every input of every target each)
    in child processes; after a crash or a hang, a new child resumes after the
    case that caused it."""
    rep = Report()
    deadline = time.monotonic() + seconds if seconds else None
    spec = {"targets": list(targets), "cases": cases, "seed": seed, "start": 0, "mem_budget": mem_budget,
            "sample_limit": sample_limit, "slow": slow, "max_inputs": max_inputs, "tally": tally}
    while True:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            spec["seconds"] = left
        proc = subprocess.Popen([sys.executable, "-u", "-m", "fuzz", "--child", json.dumps(spec)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_child_env(boundscheck),
                                cwd=str(ROOT))
        current = None
        child_stats = {}
        started = {}
        done = hung = False
        buf = b""
        last = time.monotonic()
        limit = startup_timeout
        err_tail = []
        open_fds = {proc.stdout.fileno(), proc.stderr.fileno()}
        while open_fds:
            ready, _, _ = select.select(list(open_fds), [], [], 1.0)
            now = time.monotonic()
            for fd in ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    open_fds.discard(fd)
                    continue
                if fd == proc.stderr.fileno():
                    err_tail = (err_tail + chunk.decode(errors="replace").splitlines())[-30:]
                    continue
                buf += chunk
                *lines, buf = buf.split(b"\n")
                for ln in lines:
                    tag, _, rest = ln.decode(errors="replace").partition(" ")
                    if tag == "S":
                        current = rest
                        started[rest.split("|", 1)[0]] = started.get(rest.split("|", 1)[0], 0) + 1
                        last = now
                        limit = case_timeout
                    elif tag == "R":
                        rep.add(json.loads(rest))
                    elif tag == "I":
                        spec["start"] = int(rest)
                        spec.pop("resume", None)
                        last = now
                        if progress:
                            progress(int(rest))
                    elif tag == "T":
                        child_stats = json.loads(rest)
                    elif tag == "D":
                        done = True
            if not done and now - last > limit:
                proc.kill()
                hung = True
                break
        rc = proc.wait()
        proc.stdout.close()
        proc.stderr.close()
        for t, n in started.items():  # cases started, counted here: a crash loses the child's own counts
            child_stats.setdefault(t, {"cases": 0, "inputs": 0, "seconds": 0.0, "max_seconds": 0.0, "max_case": ""})
            child_stats[t]["cases"] = n
        rep.merge_stats(child_stats)
        if done:
            break
        rep.restarts += 1
        if hung:
            rep.failures.append({"case": current or "startup", "kind": "hang", "exc": "hang",
                                 "error": f"no progress for {limit:.0f} s"})
        else:
            rep.failures.append({"case": current or "startup", "kind": "crash", "exc": f"exit {rc}",
                                 "error": f"child died with {rc}: " + " | ".join(err_tail[-8:])[:1500]})
        if current is None:
            break  # died before any case: nothing to resume
        spec["resume"] = current
        spec["start"] = int(current.split("|")[3])
    return rep


def repro(name: str, mem_budget: int | None = 2048 * MiB, verbose: bool = True) -> dict:
    tname, label, seed, index = name.split("|")
    target = all_targets()[tname]
    inputs = target.make_inputs(None)
    if not any(i.label == label for i in inputs):
        for lim in (4096, 8192, 16384, 32768):
            inputs = target.make_inputs(lim)
            if any(i.label == label for i in inputs):
                break
    inp = next(i for i in inputs if i.label == label)
    res = run_case(target, inp, inputs, int(seed), int(index), mem_budget)
    if verbose:
        print(json.dumps(res, indent=2))
    return res


def numeric_bomb_frame(raw_len: int) -> bytes:
    """A valid frame of ~150 bytes whose one block decodes to ``raw_len`` zero
    bytes through the numeric transform (int8, int codec PACKED, every 512-value
    chunk CONST of width 0). Not a decoding bug: decoding it is correct, but the
    decoder holds ~24 x raw_len bytes at its peak (uint64 codes, deltas, values),
    and frames may have 1 GiB blocks by default. ``--bomb MIB`` measures it."""
    from cobol.entropy import entropy_code
    from cobol.format import checksum as ck
    from cobol.format.frame import (DataBlock, FrameHeader, StreamEntry, encode_data_block, encode_end_record,
                                    encode_frame_header)
    from cobol.format.wire import put_varint
    from cobol.layers import intcodec
    vals = bytearray([intcodec.PACKED])
    for v in (raw_len, 0, 1):  # count, zigzag(base), gcd
        put_varint(vals, v)
    chunk = intcodec.CHUNK
    nchunks = (raw_len + chunk - 1) // chunk
    for v in (raw_len, chunk, 2 * nchunks):  # bit-pack: count, chunk, header bytes
        put_varint(vals, v)
    vals += bytes(2 * nchunks)  # (strategy CONST, width 0) per chunk
    params = bytearray([1, 0, 0, 0, 0])  # version, int8, method INT, head 0, flags 0
    put_varint(params, raw_len)
    streams = [bytes(vals), b"", b"", b""]
    coded = [entropy_code(x, 19) for x in streams]
    block = DataBlock(seq=0, raw_len=raw_len, transform=10, params=bytes(params),
                      streams=[StreamEntry(c, len(d), len(x)) for (c, d), x in zip(coded, streams)],
                      checksum=ck.compute(ck.CRC32, bytes(raw_len)), payloads=[d for _, d in coded])
    return (encode_frame_header(FrameHeader(ck.CRC32, max(raw_len, 1))) + encode_data_block(block)
            + encode_end_record(1, raw_len))


def _bomb_child(path: str) -> None:
    import resource
    import cobol
    blob = Path(path).read_bytes()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    out = cobol.decompress(blob, threads=1)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{len(blob)}-byte frame -> {len(out) / MiB:.0f} MiB in {time.perf_counter() - t:.2f} s; "
          f"peak RSS {peak >> 10} MiB, {(peak - before) * 1024 / len(out):.1f} x the output above the import")
