"""Start-up times (issue 15): ``cobol --help``, ``import cobol``, and compressing
one file with the command line on its first run (empty Numba cache, as after
a fresh install) and on later runs (cache filled by the first).

Every figure is the child process's CPU seconds (user + system, from
``resource.getrusage(RUSAGE_CHILDREN)``), best of ``--repeat`` runs, plus its
wall seconds: the machine may be shared, and CPU time does not count the
neighbours. The first run gets a new empty ``NUMBA_CACHE_DIR`` each time (a
fresh install has no cache); later runs reuse the one the first run filled.
Pass ``--python`` to time another interpreter, e.g. a fresh virtual
environment with cobol installed (docs/SPEED.md, Start-up, has the steps);
with ``--real-cache`` the first run is not redirected: it compiles into
wherever Numba caches for that install, and the Numba cache files
(``*.nbi``, ``*.nbc``) under that install's ``cobol`` package are deleted
before each first run (so each is a fresh install's first run again).

Each file is also decompressed (``cobol -d -c`` of its frame), first run and
later runs the same way, in columns of its own.

    python bench/bench_startup.py [--python PY] [--repeat 3] [--corpus DIR] [--sizes 1000,1000000] [FILE ...]

Default files: a 1 KB slice and a 50 KB slice of each samples/ category; with
``--corpus DIR`` (one folder per category, e.g. /work/corpus), slices of
``--sizes`` bytes of each category's largest file (of its largest int32 file
too for numeric, whose largest is float64).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _child(cmd: list, env: dict, stdin_path: str | None = None) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one child process; raises if it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with open(stdin_path or os.devnull, "rb") as fin:
        p = subprocess.run(cmd, stdin=fin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise RuntimeError(f"{cmd} failed: {p.stderr.decode(errors='replace')}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def _best(runs: list) -> str:
    cpu = min(r[0] for r in runs)
    wall = min(r[1] for r in runs)
    return f"{cpu:7.3f} {wall:7.3f}"


def _sample_files(tmp: Path) -> list:
    out = []
    for cat in sorted(p for p in (ROOT / "samples").iterdir() if p.is_dir()):
        src = sorted(cat.iterdir())[0]
        data = src.read_bytes()
        for n in (1000, 50_000):
            if len(data) >= n or n == 1000:
                f = tmp / f"{cat.name}-{n // 1000}k{src.suffix}"
                f.write_bytes(data[:n])
                out.append(f)
    return out


def _corpus_files(tmp: Path, corpus: Path, sizes: list) -> list:
    out = []
    for cat in sorted(p for p in corpus.iterdir() if p.is_dir()):
        files = sorted(cat.iterdir(), key=lambda f: (-f.stat().st_size, f.name))
        picks = files[:1] + [f for f in files if f.suffix == ".i32"][:1] if cat.name == "numeric" else files[:1]
        for src in picks:
            data = src.read_bytes()
            for n in sizes:
                kind = f"-{src.suffix[1:]}" if cat.name == "numeric" else ""
                f = tmp / f"{cat.name}{kind}-{n}{src.suffix}"
                f.write_bytes(data[:n])
                out.append(f)
    return out


def _installed_package(py: str, env: dict) -> Path:
    out = subprocess.run([py, "-c", "import cobol, os; print(os.path.dirname(cobol.__file__))"],
                         capture_output=True, text=True, env=env, check=True)
    return Path(out.stdout.strip())


def _clear_numba_cache(package: Path) -> int:
    """Delete the Numba cache files under an installed package; how many."""
    n = 0
    for f in list(package.rglob("*.nbi")) + list(package.rglob("*.nbc")):
        f.unlink()
        n += 1
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*")
    ap.add_argument("--python", help="interpreter to time, with its own installed cobol "
                                     "(default: this one, on this checkout's src/)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--real-cache", action="store_true",
                    help="first run: do not redirect NUMBA_CACHE_DIR (time a real fresh install once)")
    ap.add_argument("--corpus", help="slice each category folder's largest file (default: samples/, 1 KB and 50 KB)")
    ap.add_argument("--sizes", default="1000,1000000", help="slice sizes in bytes for --corpus")
    args = ap.parse_args()
    env = dict(os.environ)
    if args.python is None:  # this checkout; an explicit --python runs what it has installed
        env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    py = args.python or sys.executable
    print(f"interpreter {py}; CPU s and wall s, best of {args.repeat}")
    print(f"{'what':38s} {'cpu':>7s} {'wall':>7s}")
    rows = [
        ("python -c pass", [py, "-c", "pass"]),
        ("python -c 'import cobol'", [py, "-c", "import cobol"]),
        ("cobol --help", [py, "-m", "cobol.cli", "--help"]),
        ("cobol -V", [py, "-m", "cobol.cli", "-V"]),
        ("import cobol.engine (no NumPy, no kernels)", [py, "-c", "import cobol.engine"]),
    ]
    for label, cmd in rows:
        print(f"{label:38s} {_best([_child(cmd, env) for _ in range(args.repeat)])}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.files:
            files = [Path(f) for f in args.files]
        elif args.corpus:
            files = _corpus_files(tmp, Path(args.corpus), [int(n) for n in args.sizes.split(",")])
        else:
            files = _sample_files(tmp)
        package = _installed_package(py, env) if args.real_cache else None
        print(f"\n{'cobol -c FILE / cobol -d -c FILE.cobl':38s} {'-c first run':>15s}   {'-c later runs':>15s}"
              f"   {'-d first run':>15s}   {'-d later runs':>15s}")
        for f in files:
            frame = tmp / (f.name + ".cobl")
            with open(frame, "wb") as out:
                subprocess.run([py, "-m", "cobol.cli", "-c", "-f", str(f)], stdout=out, env=env, check=True)
            cols = []
            for cmd in ([py, "-m", "cobol.cli", "-c", "-f", str(f)],
                        [py, "-m", "cobol.cli", "-d", "-c", "-f", str(frame)]):
                first, later = [], []
                for i in range(args.repeat):
                    run_env = dict(env)
                    if args.real_cache:
                        _clear_numba_cache(package)
                    else:
                        run_env["NUMBA_CACHE_DIR"] = str(tmp / f"numba-cache-{f.name}-{cmd[3]}-{i}")
                    first.append(_child(cmd, run_env))
                for _ in range(args.repeat):
                    later.append(_child(cmd, run_env))
                cols += [_best(first), _best(later)]
            label = f"{f.name} ({f.stat().st_size} B)"
            print(f"{label[:38]:38s} " + "   ".join(cols), flush=True)


if __name__ == "__main__":
    main()
