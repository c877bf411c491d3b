"""`cobol grep -F` against `cobol -dc FILE | grep -F`, fresh processes, wall and CPU time.

Usage: PYTHONPATH=src .venv/bin/python bench/bench_grep.py FILE.log... [--repeat 5] [--cobol CMD]

Each FILE.log is compressed with ``cobol -3`` (to FILE.cobl beside it, or in
``--out-dir``, unless that exists and is newer; ``--compress-args`` adds
options, e.g. ``"--block-size 1M --no-search-index"``), then searched for: up to three *rare* strings (a
token found in 1..5 lines of the file, chosen deterministically), one
*common* string (a token in about a fifth of the lines or more) and one
*absent* string. Each search runs as a fresh process (start-up included, as a
user pays it): ``cobol grep -F PAT FILE.cobl`` and ``sh -c 'cobol -dc
FILE.cobl | LC_ALL=C grep -F PAT'``, best of ``--repeat`` runs, both in the
same loop so load on the machine hits both. The outputs must be identical
(else the row says MISMATCH). ``--cobol`` is the command that runs the CLI
(default: this interpreter with ``-m cobol.cli``, so PYTHONPATH picks the
sources). Columns: plan of the frame, kind, lines found, wall ms of both, the
wall ratio, CPU ms (user+sys of the children) of both and the CPU ratio.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shlex
import subprocess
import sys
import time
from collections import Counter

ABSENT = b"qzxjv_not_here"


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(cmd: list, repeat: int) -> tuple[float, float, bytes]:
    """(best wall s, best CPU s, stdout) of a fresh process."""
    best_wall = best_cpu = float("inf")
    out = b""
    for _ in range(repeat):
        c0, t0 = _children_cpu(), time.perf_counter()
        out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=dict(os.environ, LC_ALL="C")).stdout
        best_wall = min(best_wall, time.perf_counter() - t0)
        best_cpu = min(best_cpu, _children_cpu() - c0)
    return best_wall, best_cpu, out


def patterns(data: bytes) -> list:
    """(kind, pattern): rare present strings, one common string, one absent string."""
    lines = data.split(b"\n")
    per_line = Counter()
    for line in lines:
        per_line.update(set(t for t in re.split(rb"[\s\"'\[\](){}<>,;=|]+", line) if 5 <= len(t) <= 40))
    rare = sorted((t for t, n in per_line.items() if n <= 5 and t.isascii() and not t.startswith(b"-")),
                  key=lambda t: (len(t) % 7, t))
    picks = [t for t in rare if not re.search(rb"[0-9]", t)][:2] + [t for t in rare if re.search(rb"[0-9]", t)][:1]
    out = [("rare", t) for t in picks]
    common = [t for t, n in per_line.most_common(40) if n >= len(lines) // 5 and not t.startswith(b"-")]
    if common:
        out.append(("common", common[len(common) // 2]))
    out.append(("absent", ABSENT))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--cobol", default=f"{sys.executable} -m cobol.cli")
    ap.add_argument("--out-dir", help="write the frames here (FILE's basename + .cobl) instead of beside the inputs")
    ap.add_argument("--compress-args", default="", help="more options for the compressing cobol -3 run")
    a = ap.parse_args()
    cobol = shlex.split(a.cobol)
    print(f"{'file':34s} {'plan':8s} {'kind':6s} {'lines':>5s} {'grep ms':>8s} {'-dc|grep':>8s} {'x wall':>6s}"
          f" {'cpu ms':>7s} {'cpu|grep':>8s} {'x cpu':>6s}  pattern")
    for path in a.files:
        data = open(path, "rb").read()
        cobl = os.path.splitext(path)[0] + ".cobl"
        if a.out_dir:
            os.makedirs(a.out_dir, exist_ok=True)
            cobl = os.path.join(a.out_dir, os.path.basename(cobl))
        if not os.path.exists(cobl) or os.path.getmtime(cobl) < os.path.getmtime(path):
            with open(cobl, "wb") as f:
                subprocess.run(cobol + ["-3", "-c"] + shlex.split(a.compress_args) + [path], stdout=f, check=True)
        listing = subprocess.run(cobol + ["--list", cobl], capture_output=True, text=True).stdout.splitlines()
        plan = listing[2].split()[-2] if len(listing) > 2 else "?"
        for kind, pat in patterns(data):
            p = pat.decode("latin-1")
            tw, tc, got = timed(cobol + ["grep", "-F", p, cobl], a.repeat)
            pipe = f"{shlex.join(cobol)} -dc {shlex.quote(cobl)} | grep -a -F {shlex.quote(p)}"
            bw, bc, want = timed(["sh", "-c", pipe], a.repeat)
            n = want.count(b"\n")
            flag = "" if got == want else "  MISMATCH"
            print(f"{os.path.basename(path)[:34]:34s} {plan[:8]:8s} {kind:6s} {n:5d} {tw * 1e3:8.0f} {bw * 1e3:8.0f}"
                  f" {bw / tw:6.2f} {tc * 1e3:7.0f} {bc * 1e3:8.0f} {bc / tc:6.2f}  {p[:40]}{flag}", flush=True)


if __name__ == "__main__":
    main()
