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


#: C types of kernel parameters and the NumPy dtype a host argument must have
PARAM_DTYPES = {"u8": "uint8", "u32": "uint32", "i32": "int32", "u64": "uint64", "i64": "int64"}


@lru_cache(maxsize=None)
def kernel_signatures() -> dict:
    """{kernel: ((C type, is_pointer), ...)} parsed from the source: what the
    host must pass (a device array of that dtype, or a NumPy scalar of it).
    Launches check against it in the tests; the CUDA compile test checks it
    against the parameters NVRTC compiled."""
    out = {}
    for name, params in re.findall(r"^KERNEL void (\w+)\(([^)]*)\)", source(), re.M):
        sig = []
        for p in params.split(","):
            m = re.fullmatch(r"\s*(?:GLOBAL\s+)?(?:const\s+)?(\w+)\s*(\*?)\s*\w+\s*", p)
            if not m or m.group(1) not in PARAM_DTYPES:
                raise ValueError(f"kernel {name}: cannot parse parameter {p.strip()!r}")
            sig.append((m.group(1), bool(m.group(2))))
        out[name] = tuple(sig)
    return out


@lru_cache(maxsize=None)
def launch_sizes() -> dict:
    """{kernel: work-group size}: WG_CHUNK for the kernels written for one
    work-group per chunk (their body uses WG_CHUNK), WG for the others."""
    src = source()
    out = {}
    for m in re.finditer(r"^KERNEL void (\w+)\(", src, re.M):
        body = src[m.start(): src.index("\n}", m.start())]  # kernels end with a "}" line
        out[m.group(1)] = WG_CHUNK if "WG_CHUNK" in body else WG
    return out
