"""Kernel source shared by the CUDA and OpenCL backends.

The ``.cl`` files are written in the common subset of OpenCL C 1.2 and CUDA
C++; ``prelude.h`` maps the few names that differ (address spaces, ids,
barriers, atomics, intrinsics). :func:`source` concatenates them in a fixed
order into one program; each backend compiles it once per process (and both
PyOpenCL and CuPy keep the binary in their on-disk caches).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

_DIR = Path(__file__).resolve().parent
FILES = ("prelude.h", "scan.cl", "varint.cl", "delta.cl", "bitpack.cl", "intframe.cl",
         "dictionary.cl", "histogram.cl", "patterns.cl")


@lru_cache(maxsize=None)
def source() -> str:
    parts = []
    for name in FILES:
        parts.append(f'#line 1 "{name}"\n')
        parts.append((_DIR / name).read_text())
    return "".join(parts)


def _define(name: str) -> int:
    m = re.search(rf"^#define {name} (\d+)", (_DIR / "prelude.h").read_text(), re.M)
    assert m, name
    return int(m.group(1))


#: work-group sizes and scan tile, read from prelude.h (the one place they are set)
WG = _define("WG")
SCAN_ITEMS = _define("SCAN_ITEMS")
SCAN_TILE = WG * SCAN_ITEMS
WG_CHUNK = _define("WG_CHUNK")


@lru_cache(maxsize=None)
def kernel_names() -> tuple:
    return tuple(re.findall(r"^KERNEL void (\w+)\(", source(), re.M))
