"""Which Numba kernels a compress + decompress of one file compiles, and how
long each took (issue 15, first run after an install).

Runs in one process with an empty ``NUMBA_CACHE_DIR`` (a new temporary folder
unless the variable is set) and a listener on Numba's "numba:compile" events:
for each top-level kernel its inclusive compile seconds (nested helpers and
Numba's own overloads included), then, with ``-v``, every function compiled
and its argument types, so a helper compiled once per literal argument shows
up as several signatures.

    PYTHONPATH=src python bench/compile_profile.py FILE [-v]
"""

from __future__ import annotations

import collections
import os
import sys
import tempfile
import time

os.environ.setdefault("NUMBA_CACHE_DIR", tempfile.mkdtemp(prefix="numba-cache-"))

from numba.core import event  # noqa: E402  (after NUMBA_CACHE_DIR is set)


def _name(ev) -> str:
    f = ev.data["dispatcher"].py_func
    return f"{f.__module__.split('.')[-1]}.{f.__name__}"


class CompileRecorder(event.Listener):
    """Inclusive seconds per outermost compilation, signatures per function."""

    def __init__(self):
        self.stack = []
        self.seconds = collections.defaultdict(float)
        self.signatures = collections.defaultdict(list)

    def on_start(self, ev):
        self.stack.append(time.perf_counter())

    def on_end(self, ev):
        started = self.stack.pop()
        if not self.stack:
            self.seconds[_name(ev)] += time.perf_counter() - started
        self.signatures[_name(ev)].append(str(ev.data["args"]))


def main() -> None:
    paths = [a for a in sys.argv[1:] if a != "-v"]
    if len(paths) != 1:
        sys.exit(__doc__.strip().splitlines()[-1].strip())
    rec = CompileRecorder()
    event.register("numba:compile", rec)
    import cobol
    data = open(paths[0], "rb").read()
    t0 = time.process_time()
    blob = cobol.compress(data)
    t1 = time.process_time()
    assert cobol.decompress(blob) == data
    t2 = time.process_time()
    print(f"compress {t1 - t0:.2f} s CPU, decompress {t2 - t1:.2f} s CPU, ratio {len(data) / len(blob):.3f}; "
          f"{len(rec.signatures)} functions compiled {sum(map(len, rec.signatures.values()))} times")
    for name, s in sorted(rec.seconds.items(), key=lambda x: -x[1]):
        print(f"{s:7.2f} s  {name}")
    if "-v" in sys.argv:
        for name in sorted(rec.signatures):
            print(name, len(rec.signatures[name]), rec.signatures[name])


if __name__ == "__main__":
    main()
