"""Peak memory of cobol.decompress() against its output size (issue 19).

Builds (once, cached in /tmp) a frame of ~SIZE MiB from the dev corpus, then in a
fresh child process measures the peak RSS growth of ``cobol.decompress(blob)``
over the RSS after the blob was read (ru_maxrss is the child's high-water mark).
The target: peak <= output + one block's working set.

    PYTHONPATH=src python bench/decompress_peak.py [SIZE_MIB] [THREADS]
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys

CHILD = r"""
import resource, sys, time
import cobol
blob = open(sys.argv[1], "rb").read()
threads = int(sys.argv[2])
cobol.decompress(blob[:0] + cobol.compress(b"warm up" * 100), threads=1)  # imports, Numba caches
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
import psutil
cur = psutil.Process().memory_info().rss >> 10
t = time.process_time()
out = cobol.decompress(blob, threads=threads)
cpu = time.process_time() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(len(out), max(peak, base) - cur, cpu)
"""


def build(size_mib: int) -> str:
    path = f"/tmp/cobol_decompress_peak_{size_mib}.cobl"
    if not os.path.exists(path):
        import cobol
        parts, n = [], 0
        files = sorted(glob.glob("/work/corpus/json*/*")) + sorted(glob.glob("/work/corpus/csv/*"))
        while n < size_mib << 20:
            for f in files:
                b = open(f, "rb").read()
                parts.append(b)
                n += len(b)
                if n >= size_mib << 20:
                    break
        data = b"".join(parts)[: size_mib << 20]
        with open(path, "wb") as fh:
            fh.write(cobol.compress(data, level=1, threads=2))
    return path


def main() -> None:
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    path = build(size)
    r = subprocess.run([sys.executable, "-c", CHILD, path, str(threads)], capture_output=True, text=True, check=True)
    out_len, peak_kib, cpu = r.stdout.split()
    out_mib = int(out_len) / 2**20
    print(f"output {out_mib:.1f} MiB, frame {os.path.getsize(path) / 2**20:.1f} MiB, threads {threads}: "
          f"decompress peak RSS growth {int(peak_kib) / 1024:.0f} MiB = {int(peak_kib) / 1024 / out_mib:.2f} x output, "
          f"CPU {float(cpu):.1f} s")


if __name__ == "__main__":
    main()
