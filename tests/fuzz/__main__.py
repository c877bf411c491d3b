"""Command line: ``python -m fuzz`` with tests/ and src/ on the path, or ``bench/fuzz_decoders.py``."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import MiB
from .child import child_main
from .driver import _bomb_child, _child_env, numeric_bomb_frame, repro, run_campaign
from .targets import all_targets, default_targets


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="fuzz", description="Fuzz the decoders with corrupt, truncated and hostile input.")
    ap.add_argument("--targets", default=None, help="comma-separated (default: every target but the "
                    "selftests and the OpenCL ones; --list names them)")
    ap.add_argument("--cases", type=int, default=10**9, help="mutations per input (default: until --seconds)")
    ap.add_argument("--seconds", type=float, default=None)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--case-timeout", type=float, default=20.0)
    ap.add_argument("--mem-budget-mib", type=int, default=2048)
    ap.add_argument("--sample-limit", type=int, default=None, help="cut sample files to this many bytes")
    ap.add_argument("--max-inputs", type=int, default=None)
    ap.add_argument("--slow", type=float, default=2.0)
    ap.add_argument("--boundscheck", action="store_true")
    ap.add_argument("--tight", action="store_true", help="memory budget per case 16 MiB + 8 x its sizes")
    ap.add_argument("--tally", action="store_true", help="count the decoders' error messages (how deep cases get)")
    ap.add_argument("--json", help="write the report as JSON here")
    ap.add_argument("--repro")
    ap.add_argument("--bomb", type=int, metavar="MIB", help="decode numeric_bomb_frame(MIB) in a fresh "
                    "process and print its peak memory")
    ap.add_argument("--bomb-child", help=argparse.SUPPRESS)
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--child")
    a = ap.parse_args(argv)
    if a.child:
        return child_main(json.loads(a.child))
    if a.bomb_child:
        _bomb_child(a.bomb_child)
        return 0
    if a.bomb:
        path = Path(tempfile.gettempdir()) / f"cobol-bomb-{os.getpid()}.cobl"
        path.write_bytes(numeric_bomb_frame(a.bomb * MiB))
        try:
            # its own interpreter: the peak is measured against what it held before decoding
            subprocess.run([sys.executable, "-m", "fuzz", "--bomb-child", str(path)],
                           env=_child_env(False), check=True)
        finally:
            path.unlink()
        return 0
    if a.repro:
        repro(a.repro, a.mem_budget_mib * MiB)
        return 0
    if a.list:
        for name, t in all_targets().items():
            print(name, t.note)
        return 0
    if a.cases == 10**9 and a.seconds is None:
        a.seconds = 60
    targets = [t for t in a.targets.split(",") if t] if a.targets else default_targets()
    unknown = set(targets) - set(all_targets())
    if unknown:
        ap.error(f"unknown targets {sorted(unknown)}")
    if a.tight:
        os.environ["COBOL_FUZZ_MEM_SLACK"] = str(16 * MiB)
        os.environ["COBOL_FUZZ_MEM_FACTOR"] = "8"
    t0 = time.monotonic()

    def progress(n):
        if n % 10 == 0:
            print(f"[{time.monotonic() - t0:6.0f}s] {n} rounds", file=sys.stderr, flush=True)

    rep = run_campaign(targets, a.cases, a.seed, a.seconds, a.case_timeout, a.mem_budget_mib * MiB,
                       a.sample_limit, a.boundscheck, a.slow, a.max_inputs, progress=progress, tally=a.tally)
    print(rep.text())
    if a.json:
        Path(a.json).write_text(json.dumps({k: v for k, v in rep.__dict__.items() if not k.startswith("_")},
                                           indent=1, default=str))
    return 1 if rep.failures else 0


if __name__ == "__main__":
    sys.exit(main())
